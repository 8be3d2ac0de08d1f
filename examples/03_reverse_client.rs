//! Lesson 03: a client that sends a line to the reverse server, prints the
//! reply and asks whether to send it again.
//!
//! ```text
//! cargo run --example 03_reverse_server             # in one terminal
//! cargo run --example 03_reverse_client             # answer y or n
//! printf 'y\ny\nn\n' | cargo run --example 03_reverse_client   # scripted
//! echo 'Go Coding Ninjas.' | nc -N 127.0.0.1 2002                 # with nc
//! ```

use clap::Parser;
use lessons::{cli, reverse};
use std::io;
use std::process::ExitCode;
use std::time::Duration;

/// Send a line to the reverse server, print the reply, ask to continue.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The server to connect to.
    #[arg(long, default_value = "127.0.0.1:2002")]
    addr: String,

    /// The line to send.
    #[arg(long, default_value = "Go Coding Ninjas.")]
    message: String,

    /// Give up if connecting, or one line and its whole reply, takes longer
    /// than this many seconds (at most one day). The time you take to
    /// answer y or n does not count.
    #[arg(long, default_value = "5", value_name = "SECS",
          value_parser = cli::parse_secs, allow_negative_numbers = true)]
    timeout: Duration,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    let result = reverse::ask_repeatedly(
        &args.addr,
        &args.message,
        args.timeout,
        io::stdin().lock(),
        io::stdout(),
    );
    cli::exit_code(result)
}
