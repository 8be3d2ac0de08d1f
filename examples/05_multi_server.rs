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
//! Limits: `--max-clients` (the next client gets `error: server full`),
//! `--max-line` (a longer line gets an error and closes that connection),
//! and a client that stops reading is dropped once 1024 lines wait for it,
//! so it can never slow the others down. `--idle-timeout SECS` (off by
//! default) also drops a client that sends nothing for that long.

use clap::Parser;
use lessons::{cli, framing, room};
use std::io::{self, BufReader};
use std::process::ExitCode;
use std::time::Duration;

/// Multi-client server: relays every line to the other clients; the console
/// talks to all of them, or to one with /to N.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:6666", help = cli::LISTEN_HELP)]
    addr: String,

    /// How many clients may be connected at once; the next one is refused
    /// with `error: server full`.
    #[arg(long, default_value_t = room::DEFAULT_MAX_CLIENTS, value_name = "N")]
    max_clients: usize,

    /// The longest line accepted, in bytes. A longer one gets an error and the
    /// connection is closed.
    #[arg(long, default_value_t = framing::DEFAULT_MAX_LINE, value_name = "BYTES")]
    max_line: usize,

    /// Drop a client that sends nothing for this many seconds (one that
    /// only listens, too). Off by default.
    #[arg(long, value_name = "SECS", value_parser = cli::parse_secs)]
    idle_timeout: Option<Duration>,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    let config = room::Config {
        max_clients: args.max_clients,
        max_line: args.max_line,
        idle_timeout: args.idle_timeout,
    };
    let console = BufReader::new(io::stdin());
    cli::exit_code(
        cli::listen(&args.addr).and_then(|listener| room::serve(listener, config, console)),
    )
}
