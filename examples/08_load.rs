//! Example 08: a load generator for the course's servers. It checks every
//! reply, so a fast wrong server never looks good.
//!
//! ```text
//! cargo run --release --example 03_reverse_server                    # terminal 1
//! cargo run --release --example 08_load -- pingpong --clients 50 --messages 2000
//! cargo run --release --example 08_load -- idle --clients 1000 --pid PID   # PID of the server
//! cargo run --release --example 05_multi_server -- --max-clients 2000   # lesson 05
//! cargo run --release --example 08_load -- room --clients 50 --messages 100
//! cargo run --release --example 08_load -- room --flood 1000000 --readers 5 --slow-readers 1
//! cargo run --release --example 08_load -- idle --addr 127.0.0.1:6666 --probe greeting
//! ```
//!
//! `--timeout` bounds each exchange (a connect, or a line and its whole
//! reply) and `--max-secs` the whole run, whatever it is waiting for, so a
//! server that drips one byte at a time cannot stretch either. Replies are
//! read through the line framing's limit, so a server that floods cannot
//! make the load generator grow.
//!
//! Build both sides with `--release` when you measure: a debug build is
//! several times slower and measures the compiler's checks, not the design.
//! It prints one line per run (`--json` for a script), and exits 1 if any
//! reply was wrong or missing. It only connects to this machine (127.0.0.1).
//!
//! Modes:
//! - `pingpong`: N clients at once send M lines of S bytes each, one at a
//!   time, and check every reply. Messages per second and round-trip times.
//! - `idle`: N connections that send nothing, then a fresh client that must
//!   still be answered. With `--pid` (Linux), the server's memory as well.
//! - `room`: for lesson 05: every client's lines must reach every other
//!   client, complete, in order, and never mixed with another line. With
//!   `--flood N`, one client sends N lines as fast as it can: the readers
//!   must get every one in order, and slow readers (one line a second) must
//!   be dropped by the server's rule, with a goodbye and no half line.

use clap::{Args, Parser, Subcommand};
use lessons::cli;
use lessons::load::{self, Expect, Probe, Target};
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

/// Load generator: drives a course server and checks every reply.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Many clients, each sending lines one at a time and checking each reply.
    Pingpong {
        #[command(flatten)]
        common: Common,
        /// How many clients run at once (1 to 10000).
        #[arg(long, default_value_t = 50, value_parser = cli::count(1..=10_000),
              allow_negative_numbers = true)]
        clients: usize,
        /// How many lines each client sends (1 to 1000000; and at most
        /// 10000000 for all clients together: each round trip's time is kept).
        #[arg(long, default_value_t = 2000, value_parser = cli::count(1..=1_000_000),
              allow_negative_numbers = true)]
        messages: usize,
        /// The length of each line in bytes, without the newline (0 to 1 MiB).
        #[arg(long, default_value_t = 32, value_parser = cli::count(0..=MAX_SIZE),
              allow_negative_numbers = true)]
        size: usize,
        /// What the server answers: the line itself, or the line reversed.
        #[arg(long, value_enum, default_value_t = Expect::Reverse)]
        expect: Expect,
    },
    /// Hold many idle connections and check that a new client is still answered.
    Idle {
        #[command(flatten)]
        common: Common,
        /// How many idle connections to open and hold (1 to 20000).
        #[arg(long, default_value_t = 1000, value_parser = cli::count(1..=20_000),
              allow_negative_numbers = true)]
        clients: usize,
        /// Keep them open this many seconds after the probe (at most one day).
        #[arg(long, default_value = "0.1", value_name = "SECS", value_parser = cli::parse_secs,
              allow_negative_numbers = true)]
        hold: Duration,
        /// Wait this many seconds after opening them before the probe, for
        /// the server to catch up with the burst of connections (0 to one day).
        #[arg(long, default_value = "0", value_name = "SECS", value_parser = parse_secs_or_zero,
              allow_negative_numbers = true)]
        settle: Duration,
        /// How many lines the probe client sends (1 to 1000000).
        #[arg(long, default_value_t = 100, value_parser = cli::count(1..=1_000_000),
              allow_negative_numbers = true)]
        probe_messages: usize,
        /// How the probe checks the answer: each line echoed, reversed, or
        /// only a first line from the server (lesson 05's welcome).
        #[arg(long, value_enum, default_value_t = Probe::Reverse)]
        probe: Probe,
        /// Linux: the server's process id, to report its resident memory
        /// (VmRSS) before and while the connections are held.
        #[arg(long, value_parser = cli::count(1..=u32::MAX as u64), allow_negative_numbers = true)]
        pid: Option<usize>,
    },
    /// Lesson 05's chat room: every line must reach every other client, in order.
    /// With --flood: one client floods, the readers must get every line, and
    /// slow readers must be dropped by the server's rule.
    Room {
        #[command(flatten)]
        common: Common,
        /// How many clients join the room.
        #[arg(long, default_value_t = 50, value_parser = cli::count(2..=10_000),
              allow_negative_numbers = true)]
        clients: usize,
        /// How many lines each client sends.
        #[arg(long, default_value_t = 100, value_parser = cli::count(1..=1_000_000),
              allow_negative_numbers = true)]
        messages: usize,
        /// Flood instead: one client sends this many lines as fast as the
        /// server takes them, to --readers and --slow-readers (--clients and
        /// --messages are then not used).
        #[arg(long, value_name = "LINES", value_parser = cli::count(1..=100_000_000),
              allow_negative_numbers = true)]
        flood: Option<usize>,
        /// With --flood: clients that read as fast as they can; each must
        /// get every line, in order.
        #[arg(long, default_value_t = 5, value_parser = cli::count(1..=1000),
              allow_negative_numbers = true)]
        readers: usize,
        /// With --flood: clients that read one line per --slow-interval;
        /// each must be dropped with a goodbye line and no half line.
        #[arg(long, default_value_t = 0, value_parser = cli::count(0..=100),
              allow_negative_numbers = true)]
        slow_readers: usize,
        /// With --flood: how long a slow reader waits between two lines.
        #[arg(long, default_value = "1", value_name = "SECS", value_parser = cli::parse_secs,
              allow_negative_numbers = true)]
        slow_interval: Duration,
        /// With --flood, on Linux: the server's process id, to report its
        /// peak resident memory (VmHWM).
        #[arg(long, value_parser = cli::count(1..=u32::MAX as u64), allow_negative_numbers = true)]
        pid: Option<usize>,
    },
}

#[derive(Args)]
struct Common {
    /// The server to load (this machine only). Default: lesson 03's
    /// 127.0.0.1:2002, or lesson 05's 127.0.0.1:6666 for `room`. Lesson 07
    /// listens on 2007, lesson 02 on 65432.
    #[arg(long)]
    addr: Option<String>,
    /// The longest one exchange may take, in seconds: a connect, or a line
    /// and its whole reply, however slowly it trickles in (at most one day).
    #[arg(long, default_value = "10", value_name = "SECS", value_parser = cli::parse_secs,
          allow_negative_numbers = true)]
    timeout: Duration,
    /// Stop the whole run after this many seconds, finished or not, whatever
    /// it is waiting for (at most one day).
    #[arg(long, default_value = "300", value_name = "SECS", value_parser = cli::parse_secs,
          allow_negative_numbers = true)]
    max_secs: Duration,
    /// Print the result as one line of JSON instead of a sentence.
    #[arg(long)]
    json: bool,
}

impl Common {
    fn target(&self, default_addr: &str) -> io::Result<Target> {
        let addr = self.addr.as_deref().unwrap_or(default_addr);
        let target = Target::new(addr, self.timeout, self.max_secs)?;
        target.check()?;
        Ok(target)
    }
}

/// The longest line `pingpong --size` sends: 1 MiB.
const MAX_SIZE: u64 = 1024 * 1024;

/// The most round trips one run keeps the times of (16 bytes each).
const MAX_ROUND_TRIPS: usize = 10_000_000;

/// Prints the report and turns "some check failed" into an error that
/// says what failed first.
fn print(
    json: bool,
    summary: String,
    as_json: String,
    passed: bool,
    first_error: Option<&str>,
) -> io::Result<()> {
    // Not println!: it panics when stdout is closed (`08_load ... | head -c 1`).
    writeln!(io::stdout(), "{}", if json { as_json } else { summary })
        .map_err(|e| cli::context(e, "cannot print the report"))?;
    match (passed, first_error) {
        (true, _) => Ok(()),
        (false, Some(e)) => Err(io::Error::other(format!(
            "some replies were wrong or missing; the first: {e}"
        ))),
        (false, None) => Err(io::Error::other("some replies were wrong or missing")),
    }
}

/// Like `cli::parse_secs`, but 0 is allowed: "do not wait".
fn parse_secs_or_zero(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(0.0) => Ok(Duration::ZERO),
        _ => cli::parse_secs(text).map_err(|_| {
            format!(
                "{text} is not a number of seconds from 0 to {}",
                cli::MAX_SECS
            )
        }),
    }
}

fn run(mode: Mode) -> io::Result<()> {
    match mode {
        Mode::Pingpong {
            common,
            clients,
            messages,
            size,
            expect,
        } => {
            if clients * messages > MAX_ROUND_TRIPS {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "--clients x --messages must be at most {MAX_ROUND_TRIPS} \
                         (the time of each round trip is kept), not {}",
                        clients * messages
                    ),
                ));
            }
            let scenario = load::PingPong {
                clients,
                messages,
                size,
                expect,
            };
            let r = load::pingpong(&common.target("127.0.0.1:2002")?, &scenario)?;
            let first = r.first_error.as_deref();
            print(common.json, r.summary(), r.json(), r.passed(), first)
        }
        Mode::Idle {
            common,
            clients,
            hold,
            settle,
            probe_messages,
            probe,
            pid,
        } => {
            let scenario = load::Idle {
                clients,
                hold,
                settle,
                probe_messages,
                probe,
                // In range: the parser took 1 to u32::MAX.
                pid: pid.and_then(|p| u32::try_from(p).ok()),
            };
            let r = load::idle(&common.target("127.0.0.1:2002")?, &scenario)?;
            let first = r.first_error.as_deref();
            print(common.json, r.summary(), r.json(), r.passed(), first)
        }
        Mode::Room {
            common,
            clients,
            messages,
            flood: Some(lines),
            readers,
            slow_readers,
            slow_interval,
            pid,
        } => {
            let _ = (clients, messages);
            let scenario = load::Flood {
                lines,
                readers,
                slow_readers,
                slow_interval,
                pid: pid.and_then(|p| u32::try_from(p).ok()),
            };
            let r = load::flood(&common.target("127.0.0.1:6666")?, &scenario)?;
            let first = r.first_error.as_deref();
            print(common.json, r.summary(), r.json(), r.passed(), first)
        }
        Mode::Room {
            common,
            clients,
            messages,
            flood: None,
            ..
        } => {
            let r = load::room(
                &common.target("127.0.0.1:6666")?,
                &load::Room { clients, messages },
            )?;
            let first = r.first_error.as_deref();
            print(common.json, r.summary(), r.json(), r.passed(), first)
        }
    }
}

fn main() -> ExitCode {
    let args: Cli = cli::parse();
    cli::exit_code(run(args.mode))
}
