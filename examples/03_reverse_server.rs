//! Lesson 03: a server that answers every line with the line reversed, with
//! one thread per client, so any number of clients are served at once.
//!
//! ```text
//! cargo run --example 03_reverse_server
//! cargo run --example 03_reverse_client              # in another terminal
//! nc 127.0.0.1 2002                                  # or type lines yourself
//! ```
//!
//! The protocol is lines of UTF-8 text ending in `\n` (`\r\n` works too, so
//! `telnet 127.0.0.1 2002` works). Try `--raw` to get the original's
//! behaviour back, then send `héllo` and watch it come back scrambled, and
//! `--idle-timeout 10` to drop clients that stay silent for 10 seconds.

use clap::Parser;
use lessons::{cli, reverse, stop};
use std::process::ExitCode;
use std::sync::Arc;

/// Reverse server: answers each line with the line reversed by characters.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: reverse::ServerArgs,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    let config = args.server.config();
    cli::exit_code(stop::Signals::new().and_then(|signals| {
        let listener = Arc::new(cli::listen(&args.server.addr)?);
        // Ctrl-C or SIGTERM: a clean end for every client, and exit 0.
        signals.exit_on_signal(Some(Arc::clone(&listener)))?;
        reverse::serve(&listener, config)
    }))
}
