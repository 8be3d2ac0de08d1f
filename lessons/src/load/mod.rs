//! Example 08: a load generator that drives the course's servers and checks
//! every reply.
//!
//! Three modes, each a module with a function returning a report:
//! - [`pingpong`]: many clients, each sending lines one at a time and
//!   checking each reply (echo or reversed). Messages per second and the
//!   round-trip latency (p50, p99, max).
//! - [`idle`]: many connections that send nothing, and a fresh client that
//!   checks the server still answers, and how fast, while they are held.
//! - [`room`]: for lesson 05. Every client's lines must reach every other
//!   client, complete, in order, and never mixed with another line. Its
//!   [`flood`] variant: one client floods, readers must get every line,
//!   and slow readers must be dropped by the server's stated rule.
//!
//! It only talks to this machine: a load generator pointed at someone
//! else's server is an attack. Every wait has a timeout and every loop a
//! count, so a run always ends.

mod idle;
mod pingpong;
mod room;

use crate::deadline::{Deadline, Within};
use crate::framing::{self, LineError};

pub use idle::{Idle, IdleReport, Probe, idle, proc_status};
pub use pingpong::{PingPong, PingPongReport, pingpong};
pub use room::{Flood, FloodReport, Room, RoomReport, flood, room};

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{PoisonError, RwLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Each client thread of the load generator needs little stack: 128 KiB
/// (std's default is 2 MiB) keeps a run with 2 000 clients light.
const CLIENT_STACK: usize = 128 * 1024;

/// Where to send the load, and how long each exchange and the whole run
/// may take.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    /// The longest one exchange may take: a connect, or a line and its
    /// whole reply, however slowly the bytes trickle in.
    pub timeout: Duration,
    /// The whole run stops at this instant, finished or not.
    pub deadline: Instant,
    /// The same instant, as a [`Deadline`] with its own error.
    run: Deadline,
}

impl Target {
    /// Resolves `addr`, refusing anything that is not this machine.
    pub fn new(addr: &str, timeout: Duration, max: Duration) -> io::Result<Target> {
        let resolved = crate::cli::resolve(addr)
            .map_err(|e| crate::cli::context(e, format!("cannot connect to {addr}")))?;
        match resolved.first() {
            Some(a) if resolved.iter().all(|a| a.ip().is_loopback()) => {
                let run = Deadline::saying(
                    max,
                    format!(
                        "the run's time limit (--max-secs {}) was reached",
                        crate::cli::seconds(max)
                    ),
                );
                Ok(Target {
                    addr: *a,
                    timeout,
                    deadline: Instant::now() + run.timeout(),
                    run,
                })
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "cannot load {addr}: {addr} is not a loopback address: 08_load only loads \
                     this machine"
                ),
            )),
        }
    }

    /// Connects once and hangs up, so that a server that is not there is
    /// one clear error instead of thousands of failed clients.
    pub fn check(&self) -> io::Result<()> {
        crate::cli::connect_to(self.addr, &self.exchange("connection"))
            .map(drop)
            .map_err(|e| crate::cli::context(e, format!("cannot connect to {}", self.addr)))
    }

    /// The deadline of one exchange: `--timeout` from now, or the end of
    /// the run if that comes first.
    pub fn exchange(&self, what: &str) -> Deadline {
        Deadline::after(self.timeout, what).sooner(&self.run)
    }

    /// Connects within one exchange's deadline. The socket's read and write
    /// timeouts are what is left of it, so even a reader that does not use
    /// [`Within`](crate::deadline::Within) cannot wait past the run's end
    /// for one call.
    fn connect(&self) -> io::Result<TcpStream> {
        let stream = crate::cli::connect_to(self.addr, &self.exchange("connection"))?;
        // Each message is one small write that must leave at once: without
        // this, Nagle's algorithm may hold it back waiting for an ACK.
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    /// The error that ends the run once `--max-secs` has passed.
    fn check_deadline(&self) -> io::Result<()> {
        if self.run.passed() {
            Err(self.run.expired())
        } else {
            Ok(())
        }
    }

    /// How long is left of the run, at most `most`.
    fn left_at_most(&self, most: Duration) -> Duration {
        self.run.left().unwrap_or(Duration::ZERO).min(most)
    }
}

/// What the server should answer to a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Expect {
    /// The same line (lesson 02's echo server).
    Echo,
    /// The line reversed by characters (lessons 03 and 07).
    Reverse,
}

impl Expect {
    /// The reply expected to `line`, without its newline.
    fn reply(self, line: &[u8]) -> Vec<u8> {
        let mut reply = line.to_vec();
        if self == Expect::Reverse {
            reply.reverse(); // the payload is ASCII, so bytes are characters
        }
        reply
    }
}

// ANCHOR: payload
/// A deterministic line of `size` ASCII letters and digits for (client,
/// index), so a reply that belongs to another message is caught.
fn payload(client: usize, index: usize, size: usize) -> Vec<u8> {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut state = (client as u64)
        .wrapping_add(1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (index as u64)
            .wrapping_add(1)
            .wrapping_mul(0xD1B5_4A32_D192_ED03)
        | 1;
    (0..size)
        .map(|_| {
            // xorshift: cheap, and good enough to make lines differ
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            CHARS[(state % CHARS.len() as u64) as usize]
        })
        .collect()
}
// ANCHOR_END: payload

// ANCHOR: percentile
/// The `p`th percentile (nearest rank) of sorted durations.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
// ANCHOR_END: percentile

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// A string as a JSON string literal (also used by the exercises'
/// `list --json`).
pub fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_error(e: &Option<String>) -> String {
    e.as_deref().map_or("null".to_string(), json_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn payloads_differ_by_client_and_index_and_have_the_size_asked() {
        assert_eq!(payload(0, 0, 32).len(), 32);
        assert_ne!(payload(0, 0, 32), payload(1, 0, 32));
        assert_ne!(payload(0, 0, 32), payload(0, 1, 32));
        assert!(payload(3, 4, 100).iter().all(u8::is_ascii_alphanumeric));
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&ms, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&ms, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&[], 99.0), Duration::ZERO);
    }

    #[test]
    fn only_loopback_addresses_are_loaded() {
        let t = Duration::from_secs(1);
        assert!(Target::new("127.0.0.1:1", t, t).is_ok());
        // 0.0.0.0 stands for every address of this machine, and is not
        // loopback: no other machine's address is needed to test this.
        let e = Target::new("0.0.0.0:1", t, t).unwrap_err();
        assert!(e.to_string().contains("not a loopback address"), "{e}");
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a \"b\"\n"), r#""a \"b\"\u000a""#);
    }
}
