//! Lesson 10: lesson 03's reverse server on one thread, an event loop over
//! non-blocking sockets (mio: epoll, kqueue or IOCP underneath).
//!
//! ```text
//! cargo run --example 10_event_loop
//! cargo run --example 03_reverse_client              # in another terminal
//! nc 127.0.0.1 2002                                  # or type lines yourself
//! ```
//!
//! The same protocol, flags and messages as `03_reverse_server`. Try
//! `--block-ms 100` with two clients: every line of one makes the other
//! wait too.

use clap::Parser;
use lessons::{cli, stop};
use std::process::ExitCode;

/// Reverse server, one thread for all clients: answers each line with the
/// line reversed by characters.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: lesson10::Flags,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    let config = args.server.config();
    // The signals are caught from before `listening on` is printed, as by
    // every server of the course.
    cli::exit_code(stop::Signals::new().and_then(|signals| {
        let listener = cli::listen(&args.server.reverse.addr)?;
        lesson10::event_loop::serve(listener, config, signals)
    }))
}
