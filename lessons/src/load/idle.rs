//! `08_load idle`: many connections that send nothing, and a fresh client
//! that checks the server still answers, and how fast, while they are held.

use super::pingpong::{Tally, pingpong_client};
use super::*;

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
                report.first_error.get_or_insert(crate::cli::describe(&e));
            }
        }
    }
    report.connected = held.len();
    report.connect_secs = start.elapsed().as_secs_f64();

    thread::sleep(target.left_at_most(scenario.settle));

    // The probe: how long until a new client gets its first answer?
    let connect_start = Instant::now();
    let stream = target.connect();
    let connect_time = connect_start.elapsed();
    let expect = match scenario.probe {
        Probe::Echo => Expect::Echo,
        Probe::Reverse => Expect::Reverse,
        Probe::Greeting => {
            let mut tally = Tally::default();
            let greeting = stream.and_then(|stream| {
                let deadline = target.exchange("greeting");
                let mut server = BufReader::new(Within {
                    stream: &stream,
                    deadline: &deadline,
                });
                match framing::read_line(&mut server, framing::DEFAULT_MAX_LINE) {
                    Ok(Some(_)) => Ok(()),
                    Ok(None) => Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    )),
                    Err(LineError::Io(e)) => Err(e),
                    Err(e) => Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("bad greeting: {e}"),
                    )),
                }
            });
            match greeting {
                Ok(()) => {
                    tally.ok = 1;
                    tally.latencies.push(connect_start.elapsed() - connect_time);
                }
                Err(e) => tally.error = Some(crate::cli::describe(&e)),
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

    thread::sleep(target.left_at_most(scenario.hold));
    report.alive_after_hold = held.iter().filter(|s| still_open(s)).count();
    Ok(report)
}
