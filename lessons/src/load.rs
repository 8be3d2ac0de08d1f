//! Example 08: a load generator that drives the course's servers and checks
//! every reply.
//!
//! Three modes, each a function returning a report:
//! - [`pingpong`]: many clients, each sending lines one at a time and
//!   checking each reply (echo or reversed). Messages per second and the
//!   round-trip latency (p50, p99, max).
//! - [`idle`]: many connections that send nothing, and a fresh client that
//!   checks the server still answers, and how fast, while they are held.
//! - [`room`]: for lesson 05. Every client's lines must reach every other
//!   client, complete, in order, and never mixed with another line.
//!
//! It only talks to this machine: a load generator pointed at someone
//! else's server is an attack. Every wait has a timeout and every loop a
//! count, so a run always ends.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{PoisonError, RwLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Each client thread of the load generator needs little stack: 128 KiB
/// (std's default is 2 MiB) keeps a run with 2 000 clients light.
const CLIENT_STACK: usize = 128 * 1024;

/// Where to send the load, and how long any one socket operation may take.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub addr: SocketAddr,
    /// Timeout for each connect, read and write.
    pub timeout: Duration,
    /// The whole run stops at this instant, finished or not.
    pub deadline: Instant,
}

impl Target {
    /// Resolves `addr`, refusing anything that is not this machine.
    pub fn new(addr: &str, timeout: Duration, max: Duration) -> io::Result<Target> {
        let resolved: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        match resolved.first() {
            Some(a) if resolved.iter().all(|a| a.ip().is_loopback()) => Ok(Target {
                addr: *a,
                timeout,
                deadline: Instant::now() + max,
            }),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{addr} is not a loopback address: 08_load only loads this machine"),
            )),
        }
    }

    /// Connects once and hangs up, so that a server that is not there is
    /// one clear error instead of thousands of failed clients.
    pub fn check(&self) -> io::Result<()> {
        TcpStream::connect_timeout(&self.addr, self.timeout)
            .map(drop)
            .map_err(|e| crate::cli::context(e, format!("cannot connect to {}", self.addr)))
    }

    fn connect(&self) -> io::Result<TcpStream> {
        let stream = TcpStream::connect_timeout(&self.addr, self.timeout)?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        // Each message is one small write that must leave at once: without
        // this, Nagle's algorithm may hold it back waiting for an ACK.
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn check_deadline(&self) -> io::Result<()> {
        if Instant::now() >= self.deadline {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the run's time limit (--max-secs) was reached",
            ))
        } else {
            Ok(())
        }
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
    fn reply(self, line: &[u8]) -> Vec<u8> {
        let mut reply = line.to_vec();
        if self == Expect::Reverse {
            reply.reverse(); // the payload is ASCII, so bytes are characters
        }
        reply.push(b'\n');
        reply
    }
}

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

/// The `p`th percentile (nearest rank) of sorted durations.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// A string as a JSON string literal.
fn json_str(s: &str) -> String {
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

// ------------------------------------------------------------------ pingpong

/// The pingpong scenario.
#[derive(Debug, Clone, Copy)]
pub struct PingPong {
    pub clients: usize,
    pub messages: usize,
    pub size: usize,
    pub expect: Expect,
}

/// What a pingpong run measured. `ok + wrong + errors` is always
/// `clients * messages`: a line never answered counts as an error.
#[derive(Debug, Default)]
pub struct PingPongReport {
    pub clients: usize,
    pub messages: usize,
    pub size: usize,
    pub ok: u64,
    pub wrong: u64,
    pub errors: u64,
    pub secs: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub first_error: Option<String>,
}

impl PingPongReport {
    pub fn passed(&self) -> bool {
        self.wrong == 0 && self.errors == 0
    }

    pub fn msgs_per_sec(&self) -> f64 {
        self.ok as f64 / self.secs.max(1e-9)
    }

    pub fn summary(&self) -> String {
        let mut s = format!(
            "pingpong: {} clients x {} lines of {} bytes: {} ok, {} wrong, {} errors in {:.2} s \
             = {:.0} msgs/s; round trip p50 {:.0} us, p99 {:.0} us, max {:.0} us",
            self.clients,
            self.messages,
            self.size,
            self.ok,
            self.wrong,
            self.errors,
            self.secs,
            self.msgs_per_sec(),
            micros(self.p50),
            micros(self.p99),
            micros(self.max),
        );
        if let Some(e) = &self.first_error {
            let _ = write!(s, "; first error: {e}");
        }
        s
    }

    pub fn json(&self) -> String {
        format!(
            "{{\"mode\":\"pingpong\",\"clients\":{},\"messages\":{},\"size\":{},\"ok\":{},\
             \"wrong\":{},\"errors\":{},\"secs\":{:.3},\"msgs_per_sec\":{:.1},\"p50_us\":{:.1},\
             \"p99_us\":{:.1},\"max_us\":{:.1},\"passed\":{},\"first_error\":{}}}",
            self.clients,
            self.messages,
            self.size,
            self.ok,
            self.wrong,
            self.errors,
            self.secs,
            self.msgs_per_sec(),
            micros(self.p50),
            micros(self.p99),
            micros(self.max),
            self.passed(),
            json_error(&self.first_error),
        )
    }
}

/// One client's share of a pingpong run.
#[derive(Default)]
struct Tally {
    ok: u64,
    wrong: u64,
    latencies: Vec<Duration>,
    error: Option<String>,
}

/// Sends `messages` lines one at a time, waiting for each reply.
fn pingpong_client(
    target: &Target,
    stream: io::Result<TcpStream>,
    id: usize,
    scenario: &PingPong,
) -> Tally {
    let mut tally = Tally {
        latencies: Vec::with_capacity(scenario.messages),
        ..Tally::default()
    };
    let result = (|| -> io::Result<()> {
        let stream = stream?;
        let mut replies = BufReader::new(stream.try_clone()?);
        let mut reply = Vec::new();
        for index in 0..scenario.messages {
            target.check_deadline()?;
            let line = payload(id, index, scenario.size);
            let expected = scenario.expect.reply(&line);
            let mut request = line;
            request.push(b'\n');
            reply.clear();
            let start = Instant::now();
            (&stream).write_all(&request)?;
            if replies.read_until(b'\n', &mut reply)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                ));
            }
            tally.latencies.push(start.elapsed());
            if reply == expected {
                tally.ok += 1;
            } else {
                tally.wrong += 1;
                if tally.error.is_none() {
                    tally.error = Some(format!(
                        "wrong reply {:?}",
                        String::from_utf8_lossy(&reply).trim_end()
                    ));
                }
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        let why = if crate::cli::is_timeout(&e) {
            format!("no reply within {:?} (--timeout)", target.timeout)
        } else {
            e.to_string()
        };
        tally.error.get_or_insert(why);
    }
    tally
}

// ANCHOR: pingpong
/// Runs `clients` connections at once, each sending its lines one at a
/// time and checking every reply. The clock starts once all are connected.
pub fn pingpong(target: &Target, scenario: &PingPong) -> io::Result<PingPongReport> {
    let n = scenario.clients;
    // Every client connects first and then waits at this gate, held shut
    // (write-locked) until all have connected, so that the clock measures
    // only the exchange, with every client running.
    let gate = RwLock::new(());
    let (connected_tx, connected) = mpsc::channel();
    let (tallies, secs) =
        thread::scope(|s| -> io::Result<(Vec<Tally>, f64)> {
            let shut = gate.write().unwrap_or_else(PoisonError::into_inner);
            let mut handles = Vec::with_capacity(n);
            for id in 0..n {
                let (gate, connected_tx) = (&gate, connected_tx.clone());
                let spawned = thread::Builder::new()
                    .name(format!("client {id}"))
                    .stack_size(CLIENT_STACK)
                    .spawn_scoped(s, move || {
                        let stream = target.connect();
                        let _ = connected_tx.send(());
                        drop(gate.read()); // returns once the gate opens
                        pingpong_client(target, stream, id, scenario)
                    });
                // On error, returning drops `shut` first, so the clients
                // started so far run and end before the scope returns.
                handles.push(spawned.map_err(|e| {
                    io::Error::other(format!("cannot start client thread {id}: {e}"))
                })?);
            }
            for _ in 0..n {
                // Each client signals once its connect has succeeded or failed,
                // which takes at most the connect timeout.
                let _ = connected.recv_timeout(target.timeout + Duration::from_secs(1));
            }
            drop(shut);
            let start = Instant::now();
            let tallies = handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect();
            Ok((tallies, start.elapsed().as_secs_f64()))
        })?;
    let mut report = PingPongReport {
        clients: n,
        messages: scenario.messages,
        size: scenario.size,
        secs,
        ..PingPongReport::default()
    };
    let mut latencies = Vec::with_capacity(n * scenario.messages);
    for tally in tallies {
        report.ok += tally.ok;
        report.wrong += tally.wrong;
        latencies.extend(tally.latencies);
        if report.first_error.is_none() {
            report.first_error = tally.error;
        }
    }
    report.errors = (n * scenario.messages) as u64 - report.ok - report.wrong;
    latencies.sort_unstable();
    report.p50 = percentile(&latencies, 50.0);
    report.p99 = percentile(&latencies, 99.0);
    report.max = latencies.last().copied().unwrap_or_default();
    Ok(report)
}
// ANCHOR_END: pingpong

// ------------------------------------------------------------------ idle

/// The idle scenario.
#[derive(Debug, Clone, Copy)]
pub struct Idle {
    pub clients: usize,
    /// Keep the connections this long after the probe (to look at the
    /// server meanwhile).
    pub hold: Duration,
    /// Wait this long after opening the connections before probing, so the
    /// server can finish what the burst of connections gave it to do.
    pub settle: Duration,
    /// Lines the probe client sends.
    pub probe_messages: usize,
    pub probe: Probe,
    /// Linux: the server's process id, to report its resident memory.
    pub pid: Option<u32>,
}

/// How the idle mode's probe checks that a new client is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Probe {
    /// Send lines; each must come back unchanged (lesson 02).
    Echo,
    /// Send lines; each must come back reversed (lessons 03 and 07).
    Reverse,
    /// Only wait for the server's first line (lesson 05's welcome).
    Greeting,
}

/// What an idle run saw.
#[derive(Debug, Default)]
pub struct IdleReport {
    pub clients: usize,
    pub connected: usize,
    pub failures: usize,
    pub connect_secs: f64,
    /// Connects that took half a second or more. On Linux that means the
    /// server's accept queue was full, the system dropped the connection
    /// request, and the client retried it a second later.
    pub slow_connects: usize,
    /// Time from the probe's connect to its first reply.
    pub probe_first_reply: Duration,
    pub probe_p50: Duration,
    pub probe_answered: usize,
    pub probe_messages: usize,
    /// Held connections the server had not closed after the hold.
    pub alive_after_hold: usize,
    /// The server's resident memory before connecting and while held (KiB).
    pub rss_before_kib: Option<u64>,
    pub rss_held_kib: Option<u64>,
    /// The server's virtual memory (reserved, not necessarily used) and its
    /// number of threads while the connections are held.
    pub vm_size_held_kib: Option<u64>,
    pub threads_held: Option<u64>,
    pub first_error: Option<String>,
}

impl IdleReport {
    pub fn passed(&self) -> bool {
        self.failures == 0
            && self.probe_answered == self.probe_messages
            && self.alive_after_hold == self.connected
    }

    pub fn summary(&self) -> String {
        let mut s = format!(
            "idle: {} of {} connections held (opened in {:.2} s, {} slow), {} still open after \
             the hold; probe answered {}/{}, first reply {:.1} ms after connecting, p50 {:.0} us",
            self.connected,
            self.clients,
            self.connect_secs,
            self.slow_connects,
            self.alive_after_hold,
            self.probe_answered,
            self.probe_messages,
            self.probe_first_reply.as_secs_f64() * 1e3,
            micros(self.probe_p50),
        );
        if let (Some(before), Some(held)) = (self.rss_before_kib, self.rss_held_kib) {
            let _ = write!(
                s,
                "; server memory (VmRSS) {:.1} MiB before, {:.1} MiB held",
                before as f64 / 1024.0,
                held as f64 / 1024.0
            );
        }
        if let (Some(size), Some(threads)) = (self.vm_size_held_kib, self.threads_held) {
            let _ = write!(
                s,
                " ({threads} threads, {:.0} MiB of address space)",
                size as f64 / 1024.0
            );
        }
        if let Some(e) = &self.first_error {
            let _ = write!(s, "; first error: {e}");
        }
        s
    }

    pub fn json(&self) -> String {
        let opt = |v: Option<u64>| v.map_or("null".to_string(), |v| v.to_string());
        format!(
            "{{\"mode\":\"idle\",\"clients\":{},\"connected\":{},\"failures\":{},\
             \"connect_secs\":{:.3},\"slow_connects\":{},\"alive_after_hold\":{},\"probe_answered\":{},\
             \"probe_messages\":{},\"probe_first_reply_ms\":{:.3},\"probe_p50_us\":{:.1},\
             \"rss_before_kib\":{},\"rss_held_kib\":{},\"vm_size_held_kib\":{},\
             \"threads_held\":{},\"passed\":{},\"first_error\":{}}}",
            self.clients,
            self.connected,
            self.failures,
            self.connect_secs,
            self.slow_connects,
            self.alive_after_hold,
            self.probe_answered,
            self.probe_messages,
            self.probe_first_reply.as_secs_f64() * 1e3,
            micros(self.probe_p50),
            opt(self.rss_before_kib),
            opt(self.rss_held_kib),
            opt(self.vm_size_held_kib),
            opt(self.threads_held),
            self.passed(),
            json_error(&self.first_error),
        )
    }
}

/// A number from `/proc/PID/status` (Linux only; `None` elsewhere or if
/// the process is gone): `VmRSS` (resident memory, KiB), `VmSize` (address
/// space, KiB), `Threads`.
pub fn proc_status(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.split(':').next() == Some(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// True if the server has not closed `stream`. Whatever it sent (notices
/// of a chat room) is read and thrown away, up to 16 MiB.
fn still_open(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let mut buf = [0u8; 16 * 1024];
    let mut open = false;
    for _ in 0..1024 {
        match (&*stream).read(&mut buf) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                open = true;
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    let _ = stream.set_nonblocking(false);
    open
}

// ANCHOR: idle
/// Opens `clients` connections that send nothing; while they are held, a
/// fresh client checks that the server still answers, and how fast.
pub fn idle(target: &Target, scenario: &Idle) -> io::Result<IdleReport> {
    let probe_messages = match scenario.probe {
        Probe::Greeting => 1,
        _ => scenario.probe_messages,
    };
    let mut report = IdleReport {
        clients: scenario.clients,
        probe_messages,
        rss_before_kib: scenario.pid.and_then(|pid| proc_status(pid, "VmRSS")),
        ..IdleReport::default()
    };
    let start = Instant::now();
    let mut held = Vec::with_capacity(scenario.clients);
    for _ in 0..scenario.clients {
        let connect_start = Instant::now();
        let connected = target.check_deadline().and_then(|()| target.connect());
        if connect_start.elapsed() >= Duration::from_millis(500) {
            report.slow_connects += 1;
        }
        match connected {
            Ok(stream) => held.push(stream),
            Err(e) => {
                report.failures += 1;
                report.first_error.get_or_insert(e.to_string());
            }
        }
    }
    report.connected = held.len();
    report.connect_secs = start.elapsed().as_secs_f64();

    let settle_until = (Instant::now() + scenario.settle).min(target.deadline);
    thread::sleep(settle_until.saturating_duration_since(Instant::now()));

    // The probe: how long until a new client gets its first answer?
    let connect_start = Instant::now();
    let stream = target.connect();
    let connect_time = connect_start.elapsed();
    let expect = match scenario.probe {
        Probe::Echo => Expect::Echo,
        Probe::Reverse => Expect::Reverse,
        Probe::Greeting => {
            let mut tally = Tally::default();
            let greeting = stream.and_then(|s| {
                let mut line = Vec::new();
                match BufReader::new(s).read_until(b'\n', &mut line)? {
                    0 => Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    )),
                    _ => Ok(()),
                }
            });
            match greeting {
                Ok(()) => {
                    tally.ok = 1;
                    tally.latencies.push(connect_start.elapsed() - connect_time);
                }
                Err(e) => tally.error = Some(e.to_string()),
            }
            return finish_idle(report, tally, connect_time, held, target, scenario);
        }
    };
    let probe = PingPong {
        clients: 1,
        messages: probe_messages,
        size: 32,
        expect,
    };
    let tally = pingpong_client(target, stream, usize::MAX, &probe);
    finish_idle(report, tally, connect_time, held, target, scenario)
}
// ANCHOR_END: idle

/// The rest of an idle run, once the probe is done.
fn finish_idle(
    mut report: IdleReport,
    mut tally: Tally,
    connect_time: Duration,
    held: Vec<TcpStream>,
    target: &Target,
    scenario: &Idle,
) -> io::Result<IdleReport> {
    if let Some(first) = tally.latencies.first() {
        // connect + first round trip: what a user would feel
        report.probe_first_reply = connect_time + *first;
    }
    report.probe_answered = tally.ok as usize;
    tally.latencies.sort_unstable();
    report.probe_p50 = percentile(&tally.latencies, 50.0);
    if let Some(e) = tally.error.take() {
        report.first_error.get_or_insert(e);
    }
    if let Some(pid) = scenario.pid {
        report.rss_held_kib = proc_status(pid, "VmRSS");
        report.vm_size_held_kib = proc_status(pid, "VmSize");
        report.threads_held = proc_status(pid, "Threads");
    }

    let hold_until = (Instant::now() + scenario.hold).min(target.deadline);
    thread::sleep(hold_until.saturating_duration_since(Instant::now()));
    report.alive_after_hold = held.iter().filter(|s| still_open(s)).count();
    Ok(report)
}

// ------------------------------------------------------------------ room

/// The room scenario (lesson 05's multi-client server).
#[derive(Debug, Clone, Copy)]
pub struct Room {
    pub clients: usize,
    pub messages: usize,
}

/// What a room run saw, summed over all clients.
#[derive(Debug, Default)]
pub struct RoomReport {
    pub clients: usize,
    pub messages: usize,
    /// `clients * (clients - 1) * messages`: every line to every other client.
    pub expected: u64,
    pub delivered: u64,
    /// Lines that arrived before a line their sender had sent earlier.
    pub reordered: u64,
    pub duplicates: u64,
    /// A client's own lines sent back to it.
    pub own: u64,
    /// Lines that carry this run's token but are not one whole payload: torn
    /// or glued to another line.
    pub torn: u64,
    /// Lines of one sender that arrived with a different label than its
    /// first line (`[#3]` then `[#4]`).
    pub mislabelled: u64,
    /// Rounds of the start-up handshake (see [`room`]).
    pub sync_rounds: usize,
    pub secs: f64,
    pub clients_with_errors: usize,
    pub first_error: Option<String>,
}

impl RoomReport {
    pub fn passed(&self) -> bool {
        self.delivered == self.expected
            && self.reordered == 0
            && self.duplicates == 0
            && self.own == 0
            && self.torn == 0
            && self.mislabelled == 0
            && self.clients_with_errors == 0
    }

    pub fn summary(&self) -> String {
        let mut s = format!(
            "room: {} clients x {} lines: {}/{} delivered, {} reordered, {} duplicated, \
             {} echoed to their sender, {} torn, {} mislabelled, in {:.2} s = {:.0} lines/s",
            self.clients,
            self.messages,
            self.delivered,
            self.expected,
            self.reordered,
            self.duplicates,
            self.own,
            self.torn,
            self.mislabelled,
            self.secs,
            self.delivered as f64 / self.secs.max(1e-9),
        );
        if let Some(e) = &self.first_error {
            let _ = write!(
                s,
                "; {} clients had errors, first: {e}",
                self.clients_with_errors
            );
        }
        s
    }

    pub fn json(&self) -> String {
        format!(
            "{{\"mode\":\"room\",\"clients\":{},\"messages\":{},\"expected\":{},\"delivered\":{},\
             \"reordered\":{},\"duplicates\":{},\"own\":{},\"torn\":{},\"mislabelled\":{},\
             \"sync_rounds\":{},\"secs\":{:.3},\"lines_per_sec\":{:.1},\
             \"clients_with_errors\":{},\"passed\":{},\"first_error\":{}}}",
            self.clients,
            self.messages,
            self.expected,
            self.delivered,
            self.reordered,
            self.duplicates,
            self.own,
            self.torn,
            self.mislabelled,
            self.sync_rounds,
            self.secs,
            self.delivered as f64 / self.secs.max(1e-9),
            self.clients_with_errors,
            self.passed(),
            json_error(&self.first_error),
        )
    }
}

/// A line this run sent, recognised at the end of a received line.
#[derive(Debug, PartialEq, Eq)]
enum Heard<'a> {
    /// `sync{round}-c{client}-{token}`: the start-up handshake.
    Sync { round: usize, client: usize },
    /// `c{client}-m{index}-{token}`, with the label the server put before it.
    Data {
        label: &'a str,
        client: usize,
        index: usize,
    },
    /// Carries the token but is not one whole payload.
    Torn,
    /// Anything else: the server's own notices (joins, leaves).
    Other,
}

/// Recognises a received line. The payload is the last word; what comes
/// before it is the label the server added (like `[#3] `).
fn hear<'a>(line: &'a str, token: &str) -> Heard<'a> {
    if !line.contains(token) {
        return Heard::Other;
    }
    let (label, word) = line.rsplit_once(' ').unwrap_or(("", line));
    let parsed = (|| {
        let body = word.strip_suffix(token)?.strip_suffix('-')?;
        if let Some(rest) = body.strip_prefix("sync") {
            let (round, client) = rest.split_once("-c")?;
            return Some(Heard::Sync {
                round: round.parse().ok()?,
                client: client.parse().ok()?,
            });
        }
        let (client, index) = body.strip_prefix('c')?.split_once("-m")?;
        Some(Heard::Data {
            label,
            client: client.parse().ok()?,
            index: index.parse().ok()?,
        })
    })();
    // The token may only appear once, at the very end.
    match parsed {
        Some(heard) if line.matches(token).count() == 1 => heard,
        _ => Heard::Torn,
    }
}

/// What one client's reader saw.
#[derive(Default)]
struct RoomTally {
    delivered: u64,
    reordered: u64,
    duplicates: u64,
    own: u64,
    torn: u64,
    mislabelled: u64,
    error: Option<String>,
}

/// Reads one client's lines until it has every other client's, the server
/// goes silent for `target.timeout`, or the run's deadline.
fn room_reader(
    stream: TcpStream,
    me: usize,
    scenario: Room,
    token: &str,
    target: &Target,
    synced: mpsc::Sender<(usize, usize)>,
) -> RoomTally {
    let n = scenario.clients;
    let m = scenario.messages;
    let want = ((n - 1) * m) as u64;
    let mut tally = RoomTally::default();
    let mut next = vec![0usize; n]; // the index expected next from each sender
    let mut seen = vec![false; n * m];
    let mut labels: HashMap<usize, String> = HashMap::new();
    let mut sync_heard: HashMap<usize, usize> = HashMap::new(); // round -> count
    let mut reader = BufReader::new(stream);
    let mut raw = Vec::new();
    while tally.delivered < want {
        if let Err(e) = target.check_deadline() {
            tally.error = Some(e.to_string());
            break;
        }
        raw.clear();
        match reader.by_ref().take(1 << 20).read_until(b'\n', &mut raw) {
            Ok(0) => {
                tally.error = Some(format!("client {me}: the server closed the connection"));
                break;
            }
            Ok(_) => {}
            Err(e) => {
                tally.error = Some(format!("client {me}: {e}"));
                break;
            }
        }
        let text = String::from_utf8_lossy(&raw);
        let line = text.trim_end_matches(['\n', '\r']);
        match hear(line, token) {
            Heard::Sync { round, client } if client != me && client < n => {
                let count = sync_heard.entry(round).or_default();
                *count += 1;
                if *count == n - 1 {
                    let _ = synced.send((me, round));
                }
            }
            Heard::Sync { .. } | Heard::Other => {}
            Heard::Torn => tally.torn += 1,
            Heard::Data { client, .. } if client == me => tally.own += 1,
            Heard::Data { client, index, .. } if client >= n || index >= m => tally.torn += 1,
            Heard::Data {
                label,
                client,
                index,
            } => {
                if std::mem::replace(&mut seen[client * m + index], true) {
                    tally.duplicates += 1;
                    continue;
                }
                tally.delivered += 1;
                if index != next[client] {
                    tally.reordered += 1;
                }
                next[client] = index + 1;
                match labels.get(&client) {
                    Some(first) if first != label => tally.mislabelled += 1,
                    Some(_) => {}
                    None => {
                        labels.insert(client, label.to_string());
                    }
                }
            }
        }
    }
    tally
}

// ANCHOR: room
/// Connects `clients` clients to a chat room; each sends `messages` lines,
/// and each must receive every other client's lines, in order and whole.
///
/// A server only relays a line to the clients it has registered, and a
/// connect returns before that happens. So first a handshake: every client
/// sends a `sync` line, and the lines start only once every client has
/// heard every other's. A round that does not complete (someone was not
/// registered yet) is repeated, up to 5 times.
pub fn room(target: &Target, scenario: &Room) -> io::Result<RoomReport> {
    let n = scenario.clients;
    if n < 2 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "room needs at least 2 clients",
        ));
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let token = format!("t{:x}", nanos ^ (u128::from(std::process::id()) << 64));
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        target.check_deadline()?;
        streams.push(target.connect()?);
    }
    let mut report = RoomReport {
        clients: n,
        messages: scenario.messages,
        expected: (n * (n - 1) * scenario.messages) as u64,
        ..RoomReport::default()
    };
    let (synced_tx, synced) = mpsc::channel();
    let token = token.as_str();
    let tallies = thread::scope(|s| -> io::Result<Vec<RoomTally>> {
        let mut readers = Vec::with_capacity(n);
        for (me, stream) in streams.iter().enumerate() {
            let (stream, synced_tx) = (stream.try_clone()?, synced_tx.clone());
            readers.push(
                thread::Builder::new()
                    .name(format!("reader {me}"))
                    .stack_size(CLIENT_STACK)
                    .spawn_scoped(s, move || {
                        room_reader(stream, me, *scenario, token, target, synced_tx)
                    })?,
            );
        }
        // The handshake.
        let mut ready = false;
        for round in 0..5 {
            report.sync_rounds = round + 1;
            for (me, stream) in streams.iter().enumerate() {
                (&*stream).write_all(format!("sync{round}-c{me}-{token}\n").as_bytes())?;
            }
            let wait_until = Instant::now() + Duration::from_secs(2).min(target.timeout);
            let mut done = 0;
            while done < n {
                match synced.recv_timeout(wait_until.saturating_duration_since(Instant::now())) {
                    Ok((_, r)) if r == round => done += 1,
                    Ok(_) => {}
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                }
            }
            if done == n {
                ready = true;
                break;
            }
        }
        if !ready {
            report.first_error = Some("the start-up handshake never completed".to_string());
        }
        // Every client sends its lines at once, from a thread of its own.
        let start = Instant::now();
        let mut writers = Vec::with_capacity(n);
        for (me, stream) in streams.iter().enumerate() {
            writers.push(
                thread::Builder::new()
                    .name(format!("writer {me}"))
                    .stack_size(CLIENT_STACK)
                    .spawn_scoped(s, move || -> io::Result<()> {
                        for index in 0..scenario.messages {
                            target.check_deadline()?;
                            let line = format!("c{me}-m{index}-{token}\n");
                            (&*stream).write_all(line.as_bytes())?;
                        }
                        Ok(())
                    })?,
            );
        }
        let mut write_errors = Vec::new();
        for writer in writers {
            if let Ok(Err(e)) = writer.join() {
                write_errors.push(e.to_string());
            }
        }
        let tallies: Vec<RoomTally> = readers
            .into_iter()
            .map(|r| r.join().unwrap_or_default())
            .collect();
        report.secs = start.elapsed().as_secs_f64();
        if let Some(e) = write_errors.into_iter().next() {
            report.first_error.get_or_insert(format!("write: {e}"));
        }
        Ok(tallies)
    })?;
    for t in tallies {
        report.delivered += t.delivered;
        report.reordered += t.reordered;
        report.duplicates += t.duplicates;
        report.own += t.own;
        report.torn += t.torn;
        report.mislabelled += t.mislabelled;
        if let Some(e) = t.error {
            report.clients_with_errors += 1;
            report.first_error.get_or_insert(e);
        }
    }
    Ok(report)
}
// ANCHOR_END: room

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    const T: &str = "tabc";

    #[rstest]
    #[case::labelled_data("[#3] c2-m7-tabc", Heard::Data { label: "[#3]", client: 2, index: 7 })]
    #[case::bare_data("c0-m0-tabc", Heard::Data { label: "", client: 0, index: 0 })]
    #[case::sync("[#1] sync2-c4-tabc", Heard::Sync { round: 2, client: 4 })]
    #[case::notice("*** #3 joined", Heard::Other)]
    #[case::cut_short("[#3] c2-m7-ta", Heard::Other)]
    #[case::two_glued("[#3] c2-m7-tabc[#4] c1-m0-tabc", Heard::Torn)]
    #[case::front_missing("m7-tabc", Heard::Torn)]
    fn recognises_what_it_hears(#[case] line: &str, #[case] expected: Heard) {
        assert_eq!(hear(line, T), expected);
    }

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
        let e = Target::new("10.0.0.1:1", t, t).unwrap_err();
        assert!(e.to_string().contains("not a loopback address"), "{e}");
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a \"b\"\n"), r#""a \"b\"\u000a""#);
    }
}
