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
use std::process::ExitCode;

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

    /// Give up if connecting or any read or write takes longer (seconds).
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    let result = cli::timeout_secs(args.timeout).and_then(|timeout| {
        let reply = echo::send_and_receive(&args.addr, args.message.as_bytes(), timeout)?;
        println!("received: {}", String::from_utf8_lossy(&reply));
        Ok(())
    });
    cli::exit_code(result)
}
