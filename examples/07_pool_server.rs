//! Lesson 07: the reverse server of lesson 03, served by a fixed pool of
//! worker threads instead of a thread per client.
//!
//! ```text
//! cargo run --example 07_pool_server -- --workers 2
//! nc 127.0.0.1 2007        # in two more terminals: both are answered
//! nc 127.0.0.1 2007        # a third one waits until one of the others leaves
//! cargo run --example 04_chat_client -- --addr 127.0.0.1:2007   # the course's own line client
//! ```
//!
//! Every client gets the lesson 03 protocol (each line comes back reversed),
//! but at most `--workers` of them are served at once. The next
//! `--queue` connections wait in a channel for a free worker, and any more
//! are told `error: server busy`. Type `/help` in the server's terminal for
//! its commands, and `/quit` (or press Ctrl-D) to shut it down gracefully:
//! the queue is closed, the clients are disconnected and every worker is
//! joined.
//!
//! Compare its memory with lesson 03's while many clients are connected:
//! `cargo run --release --example 08_load -- idle --addr 127.0.0.1:2007
//! --clients 200 --pid PID` (Linux).

use clap::Parser;
use lessons::{cli, framing, pool, stop};
use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::time::Duration;

// ANCHOR: args
/// Reverse server with a bounded pool of worker threads.
#[derive(Parser)]
#[command(version, after_help = pool::CONSOLE_HELP)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:2007", help = cli::LISTEN_HELP)]
    addr: String,

    /// How many worker threads serve clients: how many clients are served at
    /// once (1 to 1024).
    #[arg(long, default_value_t = pool::DEFAULT_WORKERS, value_name = "THREADS",
          value_parser = cli::count(1..=pool::MAX_WORKERS as u64),
          allow_negative_numbers = true)]
    workers: usize,

    /// How many connections may wait for a free worker (1 to 65536); more are
    /// turned away.
    #[arg(long, default_value_t = pool::DEFAULT_QUEUE, value_name = "CONNECTIONS",
          value_parser = cli::count(1..=pool::MAX_QUEUE as u64),
          allow_negative_numbers = true)]
    queue: usize,

    /// The longest line accepted, in bytes (1 to 16 MiB). A longer one gets an
    /// error and the connection is closed.
    #[arg(long, default_value_t = framing::DEFAULT_MAX_LINE, value_name = "BYTES",
          value_parser = cli::count(1..=framing::MAX_LINE_LIMIT as u64),
          allow_negative_numbers = true)]
    max_line: usize,

    /// Drop a client that sends nothing (or reads none of its replies) for
    /// this many seconds, freeing its worker. Off by default.
    #[arg(long, value_name = "SECS", value_parser = cli::parse_secs,
          allow_negative_numbers = true)]
    idle_timeout: Option<Duration>,

    /// The stack size each worker thread asks for, in KiB (32 to 65536). Try
    /// small values to see how little a worker needs; the system may give
    /// more than asked (std never asks for less than the system's minimum).
    #[arg(long, default_value_t = pool::WORKER_STACK / 1024, value_name = "KIB",
          value_parser = cli::count(pool::MIN_STACK_KIB as u64..=pool::MAX_STACK_KIB as u64),
          allow_negative_numbers = true)]
    stack_kib: usize,
}
// ANCHOR_END: args

fn main() -> ExitCode {
    let args: Args = cli::parse();
    let config = pool::Config {
        workers: args.workers,
        queue: args.queue,
        max_line: args.max_line,
        idle_timeout: args.idle_timeout,
        stack_size: args.stack_kib * 1024,
    };
    // Ctrl-D at a terminal means /quit; the end of a stdin that is not a
    // terminal (`< /dev/null`, nohup) does not stop the server.
    let at_terminal = io::stdin().is_terminal();
    let console = io::BufReader::new(io::stdin());
    cli::exit_code(
        // Caught from before `listening on`: Ctrl-C or SIGTERM is /quit.
        stop::Signals::new().and_then(|signals| {
            let listener = cli::listen(&args.addr)?;
            pool::serve(&listener, &config, console, at_terminal, signals)
        }),
    )
}
