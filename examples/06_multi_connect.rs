//! Lesson 06: one client asking several servers at once, one scoped thread
//! per server.
//!
//! Sends the message as one line to every `--addr`, all at the same time,
//! and prints each server's one-line reply labelled with its address, in the
//! order the addresses were given. A server that is down or silent is
//! reported as failed, and costs no more than `--timeout`: the whole run
//! never takes much longer than that (only a slow name lookup could make it,
//! and `127.0.0.1:PORT` needs none). The exit code is 1 if any server failed.
//!
//! ```text
//! cargo run --example 02_echo_server                    # terminal 1
//! cargo run --example 03_reverse_server                 # terminal 2
//! cargo run --example 06_multi_connect                  # terminal 3: asks both
//! cargo run --example 06_multi_connect -- --addr 127.0.0.1:2002 --addr 127.0.0.1:9 --timeout 1
//! ```
//!
//! Any line server can play along: `nc -l 127.0.0.1 7000` shows you the
//! line, and whatever you type back within the timeout is the reply.

use clap::Parser;
use lessons::{cli, fan_out};
use std::io;
use std::process::ExitCode;
use std::time::Duration;

/// Ask several servers at once: one line out, one line back from each.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// A server to ask; repeat the flag for several (at most 1000). Giving
    /// `--addr` replaces the default list, it does not add to it: the
    /// default asks the echo server of lesson 02 and the reverse server of
    /// lesson 03.
    #[arg(long, default_values_t = ["127.0.0.1:65432".to_string(), "127.0.0.1:2002".to_string()])]
    addr: Vec<String>,

    /// The line to send to every server (at most 65536 bytes).
    #[arg(long, default_value = "Hello, server")]
    message: String,

    /// The longest the whole run may take (seconds, above 0 and at most one
    /// day): connecting, sending and waiting for every reply.
    #[arg(long, default_value = "3", value_name = "SECS", value_parser = cli::parse_secs,
          allow_negative_numbers = true)]
    timeout: Duration,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    cli::exit_code(fan_out::run(
        &args.addr,
        &args.message,
        args.timeout,
        io::stdout(),
    ))
}
