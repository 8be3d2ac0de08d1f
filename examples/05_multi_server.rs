//! Lesson 05: a server for many clients at once, with a console that can
//! talk to all of them or to one.
//!
//! Every client gets a number (#1, #2, ...). A line a client sends goes to
//! every other client as `[#N] text`, and the server prints it as
//! `[#N ip:port] text`. Whatever you type on the server's console goes to
//! every client as `[server] text`, and these commands work too:
//!
//! ```text
//! /to N text     send text to client N only
//! /list          show who is connected
//! /kick N        disconnect client N
//! /help          show the commands and the limits
//! /quit          tell everyone, close every connection, exit
//! //text         send a line that starts with /
//! ```
//!
//! Try it with three terminals (or more). The chat client of lesson 04 and
//! `nc` both work as clients:
//!
//! ```text
//! cargo run --example 05_multi_server                               # terminal 1
//! cargo run --example 04_chat_client -- --addr 127.0.0.1:6666       # terminal 2
//! nc 127.0.0.1 6666                                                 # terminal 3
//! ```
//!
//! When the server closes a connection (`/kick`, `/quit`), the chat client
//! ends at once; `nc` only notices when you press Enter or Ctrl-D, which is
//! how `nc` behaves with any server.
//!
//! Flow control: a client that sends faster than the others read is slowed
//! down (the server stops reading it while `--soft-limit` bytes of its lines
//! are on the way), and a client that stops reading is dropped by the rule
//! `--help` states. Try it: suspend an `nc` client with Ctrl-Z and flood the
//! room with `yes flood | head -n 2000000 | nc -N 127.0.0.1 6666 > /dev/null`.

use clap::Parser;
use lessons::room::{self, Limits, flow};
use lessons::{cli, framing, stop};
use std::io::{self, BufReader, IsTerminal};
use std::process::ExitCode;
use std::time::Duration;

/// Multi-client server: relays every line to the other clients; the console
/// talks to all of them, or to one with /to N.
#[derive(Parser)]
#[command(version, after_help = RULE)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:6666", help = cli::LISTEN_HELP)]
    addr: String,

    /// How many clients may be connected at once; the next one is refused
    /// with `error: server full`.
    #[arg(long, default_value_t = room::DEFAULT_MAX_CLIENTS, value_name = "N",
          value_parser = cli::count(1..=10_000),
          allow_negative_numbers = true)]
    max_clients: usize,

    /// The longest line accepted from a client, in bytes. A longer one gets
    /// an error and the connection is closed. (The console has its own
    /// limit of 64 KiB.)
    #[arg(long, default_value_t = framing::DEFAULT_MAX_LINE, value_name = "BYTES",
          value_parser = cli::count(1..=framing::MAX_LINE_LIMIT as u64),
          allow_negative_numbers = true)]
    max_line: usize,

    /// Drop a client that sends nothing for this many seconds (one that
    /// only listens, too). Off by default.
    #[arg(long, value_name = "SECS", value_parser = cli::parse_secs,
          allow_negative_numbers = true)]
    idle_timeout: Option<Duration>,

    /// A client with this many bytes waiting for it is behind (see below).
    /// It is also how much of a client's lines may be on the way to the
    /// others before the server stops reading that client.
    #[arg(long, default_value_t = flow::DEFAULT_SOFT, value_name = "BYTES",
          value_parser = cli::count(1024..=16 * 1024 * 1024),
          allow_negative_numbers = true)]
    soft_limit: usize,

    /// A client is dropped at once rather than have more than this many
    /// bytes waiting for it. At least --soft-limit.
    #[arg(long, default_value_t = flow::DEFAULT_HARD, value_name = "BYTES",
          value_parser = cli::count(1024..=256 * 1024 * 1024),
          allow_negative_numbers = true)]
    hard_limit: usize,

    /// A client that stays behind this many seconds, taking less than
    /// --soft-limit bytes meanwhile, is dropped. A dropped client gets as
    /// long again to take its last line.
    #[arg(long, default_value = "5", value_name = "SECS", value_parser = cli::parse_secs,
          allow_negative_numbers = true)]
    soft_secs: Duration,
}

/// The rule, at the end of `--help`.
const RULE: &str = "\
Flow control: each client may have --soft-limit bytes of its lines on the way to the others \
(queued, not yet taken by their sockets); then the server stops reading it until they are \
delivered, and TCP slows it down. A client that does not read is dropped when --soft-limit \
bytes or more have waited for it for --soft-secs seconds and it took less than that meanwhile, \
or at once when a line would make more than --hard-limit bytes wait for it (with the defaults: \
65536 bytes for 5 s, or 1048576). It gets a last line saying why, after whole lines only, \
and --soft-secs more to take them before the connection is closed.";

fn main() -> ExitCode {
    let args: Args = cli::parse();
    let config = room::Config {
        max_clients: args.max_clients,
        max_line: args.max_line,
        idle_timeout: args.idle_timeout,
        limits: Limits {
            soft: args.soft_limit,
            hard: args.hard_limit,
            soft_secs: args.soft_secs,
        },
    };
    // Ctrl-D at a terminal means /quit; the end of a stdin that is not a
    // terminal (`< /dev/null`, nohup) does not stop the server.
    let at_terminal = io::stdin().is_terminal();
    let console = BufReader::new(io::stdin());
    cli::exit_code(
        config
            .limits
            .check()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
            .and_then(|()| {
                // Caught from before `listening on`: Ctrl-C or SIGTERM is /quit.
                let signals = stop::Signals::new()?;
                let listener = cli::listen(&args.addr)?;
                room::serve(listener, config, console, at_terminal, signals)
            }),
    )
}
