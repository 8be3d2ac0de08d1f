//! Lesson 02: a client that sends one message to the echo server, says it has
//! nothing more to send (a half-close), and prints everything that comes back.
//!
//! ```text
//! cargo run --example 02_echo_server          # in one terminal
//! cargo run --example 02_echo_client          # in another
//! cargo run --example 02_echo_client -- --message "anything at all"
//! printf 'Hello, server' | nc -N 127.0.0.1 65432   # the same with nc
//! ```

use clap::Parser;
use lessons::{cli, echo};
use std::io;
use std::process::ExitCode;
use std::time::Duration;

/// Send a message to an echo server and print the reply.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The server to connect to.
    #[arg(long, default_value = "127.0.0.1:65432")]
    addr: String,

    /// What to send.
    #[arg(long, default_value = "Hello, server")]
    message: String,

    /// The longest the whole exchange may take, in seconds: connecting,
    /// sending, and the echo up to its end. At most one day.
    #[arg(long, default_value = "5", value_name = "SECS",
          value_parser = cli::parse_secs, allow_negative_numbers = true)]
    timeout: Duration,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    // The echo goes to stdout as it arrives, not into memory first: a
    // server that sends 50 MiB cannot make this client 50 MiB big.
    let result = echo::send_and_print(
        &args.addr,
        args.message.as_bytes(),
        args.timeout,
        io::stdout().lock(),
    );
    cli::exit_code(result.map(drop))
}
