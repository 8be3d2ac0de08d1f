//! Lesson 04: the server side of a full-duplex chat.
//!
//! It waits for one peer, then both of you can type at any moment: one
//! thread sends what you type, another shows what the peer sends, so there
//! is no "you speak, then I answer". Bytes pass through unchanged, with or
//! without newlines. Each direction ends on its own: type `exit` or press
//! Ctrl-D to stop sending, and what the peer sends still shows until it
//! closes its side; when the peer closes its side first, what you type
//! still goes to it until `exit` or Ctrl-D. The program ends when both
//! directions are closed. Your own notices (connected, closed) go to
//! stderr; stdout carries only what the peer sent.
//!
//! ```text
//! cargo run --example 04_chat_server        # terminal 1
//! cargo run --example 04_chat_client        # terminal 2: now type in either one
//! nc -N 127.0.0.1 12345                     # or be the peer with nc
//! ```
//!
//! It talks with one peer and then ends; while it talks, it stops listening,
//! so a second peer is refused instead of waiting unanswered.

use clap::Parser;
use lessons::{chat, cli, stop};
use std::process::ExitCode;

/// Chat server: waits for one peer, then both sides can type at any moment.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:12345", help = cli::LISTEN_HELP)]
    addr: String,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    cli::exit_code(stop::Signals::new().and_then(|signals| {
        let listener = cli::listen(&args.addr)?;
        // Ctrl-C or SIGTERM: a clean end for the peer, and exit 0.
        signals.exit_on_signal(None)?;
        chat::serve_one(listener)
    }))
}
