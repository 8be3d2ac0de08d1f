//! Lesson 04: the client side of a full-duplex chat.
//!
//! Connects, then copies what you type to the server and what the server
//! sends to your screen, at the same time, on two threads. Type `exit` or
//! press Ctrl-D to stop sending: the server sees the end of your stream,
//! and the program ends once the server has closed its side too.
//!
//! ```text
//! cargo run --example 04_chat_server        # terminal 1
//! cargo run --example 04_chat_client        # terminal 2: now type in either one
//! nc -l 127.0.0.1 12345                     # or let nc be the server
//! ```
//!
//! It is also a client for the multi-client server of lesson 05:
//! `cargo run --example 04_chat_client -- --addr 127.0.0.1:6666`.

use clap::Parser;
use lessons::{chat, cli};
use std::process::ExitCode;

/// Chat client: what you type goes to the server while its messages appear.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The server to connect to.
    #[arg(long, default_value = "127.0.0.1:12345")]
    addr: String,

    /// Give up if connecting takes longer (seconds). Once connected, silence
    /// is fine: there is no timeout in a conversation.
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    let result = cli::timeout_secs(args.timeout)
        .and_then(|timeout| chat::connect_and_talk(&args.addr, timeout));
    cli::exit_code(result)
}
