//! Lesson 10: lesson 03's reverse server as async tasks on a Tokio runtime.
//!
//! ```text
//! cargo run --example 10_async
//! cargo run --example 10_async -- --threads 2
//! cargo run --example 03_reverse_client              # in another terminal
//! ```
//!
//! The same protocol, flags and messages as `03_reverse_server`. With
//! `--threads 1` (the default) every task runs on one thread; try
//! `--block-ms 100` with two clients to see one blocking call stall both.

use clap::Parser;
use lessons::cli;
use std::process::ExitCode;

/// Reverse server, a task for every client: answers each line with the line
/// reversed by characters.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: lesson10::Flags,

    /// Threads that run the tasks (1 to 256): 1 is Tokio's current-thread
    /// runtime, more its work-stealing runtime.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = cli::count(1..=256), allow_negative_numbers = true)]
    threads: usize,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    let config = args.server.config();
    cli::exit_code(lesson10::tasks::serve(
        &args.server.reverse.addr,
        config,
        args.threads,
    ))
}
