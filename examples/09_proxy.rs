//! Lesson 09: a TCP proxy that shows the byte stream and misbehaves on
//! purpose. Put it between any client and server of the course and watch
//! how the bytes really travel, or make them travel badly.
//!
//! ```text
//! cargo run --example 03_reverse_server                           # terminal 1
//! cargo run --example 09_proxy -- --to 127.0.0.1:2002 --slice 1 --show   # terminal 2
//! cargo run --example 03_reverse_client -- --addr 127.0.0.1:9000  # terminal 3
//! nc 127.0.0.1 9000                                # or type lines through it
//! ```
//!
//! `--show` prints one line per chunk forwarded: the time since the
//! connection started, its number, the direction (`up`: client to server,
//! `down`: server to client), the offset, the size, and the bytes. The
//! misbehaviours apply to both directions, or to the one named by the last
//! `--up` or `--down` before them: `--up --stall-after 10` stops what the
//! client sends after 10 bytes, and lets the server's answers through.
//! Try `03_reverse_server --raw` behind `--slice 1`, and lesson 04's chat
//! behind `--up --reset-after 10`.

use clap::Parser;
use lessons::proxy::{Log, Proxy, flags::Misbehaviours};
use lessons::{cli, stop};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

// ANCHOR: args
/// TCP proxy: forwards every connection to a server, shows the bytes and
/// misbehaves on request.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[arg(long, visible_alias = "listen", default_value = "127.0.0.1:9000", help = cli::LISTEN_HELP)]
    addr: String,

    /// The server every connection is forwarded to (the default is lesson
    /// 03's reverse server). The proxy connects to it once for each client.
    #[arg(long, default_value = "127.0.0.1:2002", value_name = "ADDR")]
    to: String,

    /// Print every chunk forwarded: time, connection, direction (up: client
    /// to server, down: server to client), offset, size and bytes. If the
    /// terminal cannot keep up, lines are dropped and counted, never waited for.
    #[arg(long)]
    show: bool,

    /// Serve at most this many connections at once (1 to 10000; each takes
    /// two threads); a client beyond it is disconnected at once.
    #[arg(long, default_value_t = Proxy::MAX_CONNECTIONS, value_name = "N",
          value_parser = cli::count(1..=10_000), allow_negative_numbers = true)]
    max_connections: usize,

    /// Give up connecting to the server after this many seconds (the
    /// client is then disconnected): 0.001 to 86400.
    #[arg(long, default_value = "5", value_name = "SECS", value_parser = cli::parse_connect_secs,
          allow_negative_numbers = true)]
    connect_timeout: Duration,

    #[command(flatten)]
    misbehaviours: Misbehaviours,
}
// ANCHOR_END: args

fn main() -> ExitCode {
    let args: Args = cli::parse();
    let proxy = Proxy {
        to: args.to,
        up: args.misbehaviours.up,
        down: args.misbehaviours.down,
        log: if args.show {
            Log::Wire
        } else {
            Log::Connections
        },
        max_connections: args.max_connections,
        connect_timeout: args.connect_timeout,
    };
    // A bad --to is one line of error before anything listens.
    let listening = proxy.check().and_then(|()| {
        let signals = stop::Signals::new()?;
        let listener = Arc::new(cli::listen(&args.addr)?);
        // Ctrl-C or SIGTERM: a clean end for every connection, and exit 0.
        signals.exit_on_signal(Some(Arc::clone(&listener)))?;
        Ok(listener)
    });
    cli::exit_code(listening.and_then(|listener| proxy.serve(&listener)))
}
