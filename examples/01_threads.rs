//! Lesson 01: two threads compute the square and the cube of a number, and the
//! main thread joins both before it prints its last line.
//!
//! Try it:
//!
//! ```text
//! cargo run --example 01_threads
//! cargo run --example 01_threads -- --number 7
//! ```
//!
//! The output is the same on every run: each thread *returns* its result
//! through its `JoinHandle` and only the main thread prints.

use clap::Parser;
use lessons::{cli, threads};
use std::io::{self, Write};
use std::process::ExitCode;

/// Compute a square and a cube on two threads.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The number to square and cube: any 64-bit integer, from
    /// -9223372036854775808 to 9223372036854775807.
    #[arg(long, default_value_t = 4, allow_negative_numbers = true)]
    number: i64,

    /// Use `thread::scope` instead of `thread::spawn` (same output).
    #[arg(long)]
    scoped: bool,
}

// ANCHOR: main
fn main() -> ExitCode {
    let args: Args = cli::parse();
    let results = if args.scoped {
        threads::with_scope(&args.number)
    } else {
        threads::with_spawn(args.number)
    };
    // `writeln!`, not `println!`: `println!` panics when stdout is closed;
    // `writeln!` returns the error, which `exit_code` prints as one line.
    let mut out = io::stdout().lock();
    let printed = threads::report(args.number, results)
        .iter()
        .try_for_each(|line| writeln!(out, "{line}"))
        .map_err(cli::stdout_error);
    cli::exit_code(printed)
}
// ANCHOR_END: main
