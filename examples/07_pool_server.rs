//! Lesson 07: the reverse server of lesson 03, served by a fixed pool of
//! worker threads instead of a thread per client.
//!
//! ```text
//! cargo run --example 07_pool_server -- --workers 2
//! nc 127.0.0.1 2007        # in two more terminals: both are answered
//! nc 127.0.0.1 2007        # a third one waits until one of the others leaves
//! ```
//!
//! Every client gets the lesson 03 protocol (each line comes back reversed),
//! but at most `--workers` of them are served at once. The next
//! `--queue` connections wait in a channel for a free worker, and any more
//! are told `error: server busy`. Type `/quit` (or press Ctrl-D) in the
//! server's terminal to shut it down gracefully: the queue is closed, the
//! clients are disconnected and every worker is joined.
//!
//! Compare its memory with lesson 03's while many clients are connected:
//! `cargo run --release --example 08_load -- idle --addr 127.0.0.1:2007
//! --clients 200 --pid PID` (Linux).

use clap::Parser;
use lessons::{cli, framing, pool};
use std::io;
use std::process::ExitCode;
use std::time::Duration;

/// Reverse server with a bounded pool of worker threads.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:2007", help = cli::LISTEN_HELP)]
    addr: String,

    /// How many worker threads serve clients: how many clients are served at once.
    #[arg(long, default_value_t = pool::DEFAULT_WORKERS as u16,
          value_parser = clap::value_parser!(u16).range(1..))]
    workers: u16,

    /// How many connections may wait for a free worker; more are turned away.
    #[arg(long, default_value_t = pool::DEFAULT_QUEUE, value_name = "CONNECTIONS")]
    queue: usize,

    /// The longest line accepted, in bytes.
    #[arg(long, default_value_t = framing::DEFAULT_MAX_LINE, value_name = "BYTES")]
    max_line: usize,

    /// Drop a client that sends nothing (or reads none of its replies) for
    /// this many seconds, freeing its worker. Off by default.
    #[arg(long, value_name = "SECS", value_parser = cli::parse_secs)]
    idle_timeout: Option<Duration>,

    /// The stack size of each worker thread, in KiB (try small values to
    /// see how little a worker needs, and what happens below that).
    #[arg(long, default_value_t = (pool::WORKER_STACK / 1024) as u32, value_name = "KIB",
          value_parser = clap::value_parser!(u32).range(16..))]
    stack_kib: u32,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    let config = pool::Config {
        workers: usize::from(args.workers),
        queue: args.queue,
        max_line: args.max_line,
        idle_timeout: args.idle_timeout,
        stack_size: args.stack_kib as usize * 1024,
    };
    cli::exit_code(
        cli::listen(&args.addr)
            .and_then(|listener| pool::serve(&listener, &config, io::stdin().lock())),
    )
}
