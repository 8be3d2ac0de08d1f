//! Lesson 02: an echo server that serves one client at a time.
//!
//! Every byte a client sends comes back unchanged, whatever it is. Clients
//! are served one after the other: while one is connected, the next one's
//! connection is accepted by the system but nobody reads it until the first
//! leaves. Try it with two terminals and watch the second wait.
//!
//! ```text
//! cargo run --example 02_echo_server
//! cargo run --example 02_echo_client -- --message "Hello, server"
//! nc -N 127.0.0.1 65432       # type lines; Ctrl-D to leave (-N: netcat-openbsd)
//!                              # or Ctrl-C, with any nc
//! ```

use clap::Parser;
use lessons::{cli, echo, stop};
use std::process::ExitCode;
use std::sync::Arc;

/// Echo server: sends every byte back, one client at a time.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:65432", help = cli::LISTEN_HELP)]
    addr: String,

    /// Exit after the first client has left, as the original does.
    #[arg(long)]
    once: bool,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    cli::exit_code(stop::Signals::new().and_then(|signals| {
        let listener = Arc::new(cli::listen(&args.addr)?);
        // Ctrl-C or SIGTERM: a clean end for every client, and exit 0.
        signals.exit_on_signal(Some(Arc::clone(&listener)))?;
        echo::serve(&listener, args.once)
    }))
}
