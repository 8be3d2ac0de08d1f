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

    /// Give up if connecting or waiting for a reply takes longer (seconds).
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    let result = cli::timeout_secs(args.timeout).and_then(|timeout| {
        reverse::ask_repeatedly(
            &args.addr,
            &args.message,
            timeout,
            io::stdin().lock(),
            io::stdout(),
        )
    });
    cli::exit_code(result)
}
