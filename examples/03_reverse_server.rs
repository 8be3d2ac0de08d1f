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
use lessons::{cli, framing, reverse, stop};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

// ANCHOR: args
/// Reverse server: answers each line with the line reversed by characters.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:2002", help = cli::LISTEN_HELP)]
    addr: String,

    /// The longest line accepted, in bytes (1 to 16 MiB). A longer one gets an
    /// error and the connection is closed.
    #[arg(long, default_value_t = framing::DEFAULT_MAX_LINE, value_name = "BYTES",
          value_parser = cli::count(1..=framing::MAX_LINE_LIMIT as u64),
          allow_negative_numbers = true)]
    max_line: usize,

    /// Behave like the original: reverse the bytes of each `read` as if it
    /// were one whole message (wrong, on purpose, for the lesson).
    #[arg(long)]
    raw: bool,

    /// Drop a client that takes longer than this many seconds to send a
    /// whole line, or to read its reply (at most one day). Off by default:
    /// an idle client may stay forever.
    #[arg(long, value_name = "SECS", value_parser = cli::parse_secs,
          allow_negative_numbers = true)]
    idle_timeout: Option<Duration>,
}
// ANCHOR_END: args

fn main() -> ExitCode {
    let args: Args = cli::parse();
    let config = reverse::Config {
        max_line: args.max_line,
        raw: args.raw,
        idle_timeout: args.idle_timeout,
    };
    cli::exit_code(stop::Signals::new().and_then(|signals| {
        let listener = Arc::new(cli::listen(&args.addr)?);
        // Ctrl-C or SIGTERM: a clean end for every client, and exit 0.
        signals.exit_on_signal(Some(Arc::clone(&listener)))?;
        reverse::serve(&listener, config)
    }))
}
