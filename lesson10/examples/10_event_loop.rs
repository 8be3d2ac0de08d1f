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
use lessons::cli;
use std::process::ExitCode;

/// Reverse server, one thread for all clients: answers each line with the
/// line reversed by characters.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: lesson10::ServerArgs,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    let config = args.server.config();
    cli::exit_code(
        cli::listen(&args.server.addr)
            .and_then(|listener| lesson10::event_loop::serve(listener, config)),
    )
}
