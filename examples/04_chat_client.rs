//! Lesson 04: the client side of a full-duplex chat.
//!
//! Connects, then copies what you type to the server and what the server
//! sends to your screen, at the same time, on two threads. Each direction
//! ends on its own: type `exit` or press Ctrl-D (Ctrl-Z then Enter on
//! Windows) and the server sees the end of your stream, but its answers
//! still show until it closes its side; if the server closes its side
//! first, what you type still goes to it until you type `exit` or press
//! Ctrl-D. The program ends when both directions are closed.
//!
//! ```text
//! cargo run --example 04_chat_server        # terminal 1
//! cargo run --example 04_chat_client        # terminal 2: now type in either one
//! nc -N -l 127.0.0.1 12345                  # or let nc be the server
//! ```
//!
//! It is also a client for the multi-client server of lesson 05:
//! `cargo run --example 04_chat_client -- --addr 127.0.0.1:6666`.

use clap::Parser;
use lessons::{chat, cli};
use std::process::ExitCode;
use std::time::Duration;

/// Chat client: what you type goes to the server while its messages appear.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The server to connect to.
    #[arg(long, default_value = "127.0.0.1:12345")]
    addr: String,

    /// Give up if connecting takes longer (seconds, above 0 and at most one
    /// day). Once connected, silence is fine: there is no timeout in a
    /// conversation.
    #[arg(long, default_value = "5", value_name = "SECS", value_parser = cli::parse_secs,
          allow_negative_numbers = true)]
    timeout: Duration,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    cli::exit_code(chat::connect_and_talk(&args.addr, args.timeout))
}
