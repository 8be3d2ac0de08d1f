//! `08_load room --flood LINES`: one client pipelines LINES lines as fast
//! as the server takes them; `--readers` clients read as fast as they can
//! and must get every line, in order; `--slow-readers` clients read one
//! line a second and must be dropped by the server's rule, with a last
//! line that says why and no half line before it.
//!
//! A slow reader cannot know when the server dropped it: its goodbye
//! waits behind megabytes in the system's buffers. The others hear of it,
//! though (`* #7 was dropped (not reading)`). So a slow reader reads
//! slowly until the first reader has heard that it was dropped (or the
//! flood is over), then reads the rest of its stream at full speed and
//! checks it: whole lines in order, then the goodbye, then the end.

use super::super::*;
use super::{Heard, MAX_LINE, hear, run_token};
use std::sync::atomic::{AtomicBool, Ordering};

/// The flood scenario.
#[derive(Debug, Clone, Copy)]
pub struct Flood {
    pub lines: usize,
    pub readers: usize,
    pub slow_readers: usize,
    /// How long a slow reader waits between two lines.
    pub slow_interval: Duration,
    /// Linux: the server's process id, to report its peak memory.
    pub pid: Option<u32>,
}

/// What a flood run saw.
#[derive(Debug, Default)]
pub struct FloodReport {
    pub lines: usize,
    pub readers: usize,
    pub slow_readers: usize,
    /// Readers that got every line, in order.
    pub complete: usize,
    pub lost: u64,
    pub reordered: u64,
    pub torn: u64,
    /// From the first line written to the last line read by a fast reader.
    pub secs: f64,
    pub delivered: u64,
    /// When the flooder's last write returned, and its longest write.
    pub write_secs: f64,
    pub longest_write: f64,
    /// Slow readers whose stream ended with a goodbye (`error: ...`).
    pub dropped: usize,
    pub half_lines: u64,
    pub read_slowly: usize,
    pub read_after: u64,
    pub goodbye: Option<String>,
    /// The server's peak resident memory (VmHWM), KiB.
    pub peak_kib: Option<u64>,
    pub first_error: Option<String>,
}

impl FloodReport {
    pub fn passed(&self) -> bool {
        self.complete == self.readers
            && self.lost == 0
            && self.reordered == 0
            && self.torn == 0
            && self.dropped == self.slow_readers
            && self.half_lines == 0
            && self.first_error.is_none()
    }

    pub fn summary(&self) -> String {
        let mut s = format!(
            "room flood: {} lines from one client: {}/{} readers got all {} lines in order \
             ({} lost, {} reordered, {} torn) in {:.2} s = {:.0} lines/s delivered; \
             the flooder was done writing after {:.2} s, its longest write took {:.2} s",
            self.lines,
            self.complete,
            self.readers,
            self.lines,
            self.lost,
            self.reordered,
            self.torn,
            self.secs,
            self.delivered as f64 / self.secs.max(1e-9),
            self.write_secs,
            self.longest_write,
        );
        if self.slow_readers > 0 {
            let _ = write!(
                s,
                "; {}/{} slow readers dropped with a goodbye, {} half lines (read {} lines \
                 slowly, then {} whole lines, then {:?})",
                self.dropped,
                self.slow_readers,
                self.half_lines,
                self.read_slowly,
                self.read_after,
                self.goodbye.as_deref().unwrap_or("no goodbye"),
            );
        }
        if let Some(peak) = self.peak_kib {
            let _ = write!(s, "; server peak VmHWM {peak} KiB");
        }
        if let Some(e) = &self.first_error {
            let _ = write!(s, "; first error: {e}");
        }
        s
    }

    pub fn json(&self) -> String {
        format!(
            "{{\"mode\":\"flood\",\"lines\":{},\"readers\":{},\"slow_readers\":{},\
             \"complete\":{},\"lost\":{},\"reordered\":{},\"torn\":{},\"secs\":{:.3},\
             \"lines_per_sec\":{:.1},\"write_secs\":{:.3},\"longest_write_secs\":{:.3},\
             \"dropped\":{},\"half_lines\":{},\"read_slowly\":{},\"read_after\":{},\
             \"goodbye\":{},\"peak_kib\":{},\"passed\":{},\"first_error\":{}}}",
            self.lines,
            self.readers,
            self.slow_readers,
            self.complete,
            self.lost,
            self.reordered,
            self.torn,
            self.secs,
            self.delivered as f64 / self.secs.max(1e-9),
            self.write_secs,
            self.longest_write,
            self.dropped,
            self.half_lines,
            self.read_slowly,
            self.read_after,
            json_error(&self.goodbye),
            self.peak_kib.map_or("null".to_string(), |k| k.to_string()),
            self.passed(),
            json_error(&self.first_error),
        )
    }
}

/// What one reader saw.
#[derive(Default)]
struct Seen {
    delivered: u64,
    reordered: u64,
    torn: u64,
    half_lines: u64,
    read_slowly: usize,
    /// Lines of the flood read at full speed, after the slow ones.
    read_after: u64,
    goodbye: Option<String>,
    /// The stream ended (after the goodbye, for a slow reader).
    ended: bool,
    done_at: Option<Instant>,
    error: Option<String>,
}

/// A slow reader's number in the room, and whether the others have heard
/// that the server dropped it.
struct SlowReader {
    id: usize,
    dropped: AtomicBool,
}

/// A connection read through a buffer, each read bounded by a deadline
/// that the reader renews for every line.
type Lines<'s> = BufReader<Within<'s, Deadline>>;

fn lines(stream: &TcpStream) -> Lines<'_> {
    BufReader::new(Within {
        stream,
        deadline: Deadline::none(),
    })
}

/// Reads one whole line into `raw`, within `--timeout` and the run's
/// deadline however slowly it comes. `Ok(false)` at the end of the stream;
/// half a line before the end is counted in `seen`.
fn next_line(
    reader: &mut Lines<'_>,
    target: &Target,
    raw: &mut Vec<u8>,
    seen: &mut Seen,
) -> io::Result<bool> {
    raw.clear();
    reader.get_mut().deadline = target.exchange("line");
    let n = reader.take(MAX_LINE).read_until(b'\n', raw)?;
    if n > 0 && raw.last() != Some(&b'\n') {
        seen.half_lines += 1;
        return Ok(false);
    }
    Ok(n > 0)
}

/// Counts one received line: the flood's lines must come in order. News
/// that a slow reader was dropped is passed on to it through `slow`.
fn count(raw: &[u8], token: &str, next: &mut usize, seen: &mut Seen, slow: &[SlowReader]) {
    let text = String::from_utf8_lossy(raw);
    let line = text.trim_end_matches(['\n', '\r']);
    if let Some(id) = line
        .strip_prefix("* #")
        .and_then(|rest| rest.strip_suffix(" was dropped (not reading)"))
        .and_then(|id| id.parse::<usize>().ok())
    {
        for reader in slow.iter().filter(|r| r.id == id) {
            reader.dropped.store(true, Ordering::SeqCst);
        }
    }
    match hear(line, token) {
        Heard::Data {
            client: 0, index, ..
        } => {
            seen.delivered += 1;
            if index != *next {
                seen.reordered += 1;
            }
            *next = index + 1;
        }
        Heard::Other => {}
        _ => seen.torn += 1,
    }
}

/// A reader at full speed: every line, until it has them all.
fn fast_reader(
    stream: &TcpStream,
    lines: usize,
    token: &str,
    target: &Target,
    slow: &[SlowReader],
) -> Seen {
    let mut seen = Seen::default();
    let (mut raw, mut next) = (Vec::new(), 0);
    let mut reader = self::lines(stream);
    while seen.delivered < lines as u64 {
        if let Err(e) = target.check_deadline() {
            seen.error = Some(e.to_string());
            break;
        }
        match next_line(&mut reader, target, &mut raw, &mut seen) {
            Ok(true) => count(&raw, token, &mut next, &mut seen, slow),
            Ok(false) => {
                seen.error = Some("a reader: the server closed the connection".into());
                break;
            }
            Err(e) => {
                seen.error = Some(format!("a reader: {e}"));
                break;
            }
        }
    }
    seen.done_at = Some(Instant::now());
    seen
}

/// A reader of one line per `interval`, until it is dropped or the flood
/// is over (`over`); then the rest at full speed, to the end of the stream.
fn slow_reader(
    stream: &TcpStream,
    interval: Duration,
    me: &SlowReader,
    over: &AtomicBool,
    token: &str,
    target: &Target,
) -> Seen {
    let mut seen = Seen::default();
    let (mut raw, mut next) = (Vec::new(), 0);
    let mut reader = lines(stream);
    loop {
        if let Err(e) = target.check_deadline() {
            seen.error = Some(e.to_string());
            return seen;
        }
        let slowly = !me.dropped.load(Ordering::SeqCst) && !over.load(Ordering::SeqCst);
        match next_line(&mut reader, target, &mut raw, &mut seen) {
            Ok(true) => {}
            Ok(false) => {
                seen.ended = true;
                return seen;
            }
            Err(e) => {
                seen.error = Some(format!("a slow reader: {e}"));
                return seen;
            }
        }
        if raw.starts_with(b"error: ") {
            seen.goodbye = Some(String::from_utf8_lossy(&raw).trim_end().to_string());
        } else if seen.goodbye.is_some() {
            seen.error = Some("a slow reader: a line after the goodbye".into());
            return seen;
        } else {
            let before = seen.delivered;
            count(&raw, token, &mut next, &mut seen, &[]);
            if !slowly {
                seen.read_after += seen.delivered - before;
            }
        }
        if slowly {
            seen.read_slowly += 1;
            // Wait `interval`, but read on at once once dropped: the server
            // gives a dropped client --soft-secs to take the rest.
            let until = Instant::now() + interval;
            while Instant::now() < until && !me.dropped.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(20).min(interval));
            }
        }
    }
}

/// Connects and reads the welcome (`* welcome, you are #7 ...`): once it
/// has come, the server relays to this client. Returns its number too.
///
/// The welcome is read like any other line: within one exchange's deadline
/// (a socket timeout alone restarts with every byte) and through the
/// framing limit, so a server whose first line never ends (the wrong port,
/// a prompt without a newline) is an error, not gigabytes of memory. The
/// buffer holds one byte, so nothing after the welcome is read here.
fn join(target: &Target) -> io::Result<(usize, TcpStream)> {
    target.check_deadline()?;
    let stream = target.connect()?;
    let deadline = target.exchange("welcome");
    let mut one = BufReader::with_capacity(
        1,
        Within {
            stream: &stream,
            deadline: &deadline,
        },
    );
    let welcome = match framing::read_line(&mut one, MAX_LINE as usize) {
        Ok(Some(line)) => line,
        Ok(None) => String::new(),
        Err(LineError::Io(e)) => return Err(crate::cli::context(e, "waiting for the welcome")),
        Err(e) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("expected lesson 05's welcome, got a {e}"),
            ));
        }
    };
    let id = welcome
        .strip_prefix("* welcome, you are #")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("expected lesson 05's welcome, got {:?}", welcome.trim_end()),
            )
        })?;
    Ok((id, stream))
}

// ANCHOR: flood
/// One client floods the room with `lines` lines; every reader must get
/// them all, in order, and every slow reader must be dropped with a
/// goodbye and no half line.
pub fn flood(target: &Target, scenario: &Flood) -> io::Result<FloodReport> {
    let token = run_token();
    let token = token.as_str();
    let readers: Vec<_> = (0..scenario.readers)
        .map(|_| join(target).map(|(_, reader)| reader))
        .collect::<io::Result<_>>()?;
    let mut slow_ids = Vec::new();
    let mut slow = Vec::new();
    for _ in 0..scenario.slow_readers {
        let (id, reader) = join(target)?;
        slow_ids.push(SlowReader {
            id,
            dropped: AtomicBool::new(false),
        });
        slow.push(reader);
    }
    let flooder = join(target)?.1;
    let mut report = FloodReport {
        lines: scenario.lines,
        readers: scenario.readers,
        slow_readers: scenario.slow_readers,
        ..FloodReport::default()
    };
    // Set once the flood has been written, and once the readers are done.
    let over = AtomicBool::new(false);
    let done = AtomicBool::new(false);
    let start = Instant::now();
    let (seen, slow_seen, written) = thread::scope(|s| -> io::Result<_> {
        let spawn = |name: &str| {
            thread::Builder::new()
                .name(name.into())
                .stack_size(CLIENT_STACK)
        };
        let slow_ids = &slow_ids;
        let fast_threads = readers
            .iter()
            .map(|r| {
                spawn("reader").spawn_scoped(s, move || {
                    fast_reader(r, scenario.lines, token, target, slow_ids)
                })
            })
            .collect::<io::Result<Vec<_>>>()?;
        let over = &over;
        let slow_threads = slow
            .iter()
            .zip(slow_ids)
            .map(|(r, me)| {
                spawn("slow reader").spawn_scoped(s, move || {
                    slow_reader(r, scenario.slow_interval, me, over, token, target)
                })
            })
            .collect::<io::Result<Vec<_>>>()?;
        // The flooder reads nothing of interest, but a client that never
        // reads would itself be dropped: throw away what comes.
        let done = &done;
        let flooder = &flooder;
        spawn("flooder drain").spawn_scoped(s, move || {
            let mut scratch = [0u8; 4096];
            while !done.load(Ordering::SeqCst) && target.check_deadline().is_ok() {
                let deadline = target.exchange("line");
                let mut within = Within {
                    stream: flooder,
                    deadline: &deadline,
                };
                if let Ok(0) = within.read(&mut scratch) {
                    return;
                }
            }
        })?;
        let written = write_flood(flooder, scenario.lines, token, target);
        over.store(true, Ordering::SeqCst);
        let seen: Vec<Seen> = fast_threads
            .into_iter()
            .map(|t| t.join().unwrap_or_default())
            .collect();
        let slow_seen: Vec<Seen> = slow_threads
            .into_iter()
            .map(|t| t.join().unwrap_or_default())
            .collect();
        done.store(true, Ordering::SeqCst);
        let _ = flooder.shutdown(std::net::Shutdown::Both);
        Ok((seen, slow_seen, written))
    })?;
    match written {
        Ok((secs, longest)) => (report.write_secs, report.longest_write) = (secs, longest),
        Err(e) => report.first_error = Some(format!("the flooder: {e}")),
    }
    for r in &seen {
        report.delivered += r.delivered;
        report.lost += (scenario.lines as u64).saturating_sub(r.delivered);
        report.reordered += r.reordered;
        report.torn += r.torn + r.half_lines;
        if r.delivered == scenario.lines as u64 && r.reordered == 0 {
            report.complete += 1;
        }
        if let Some(at) = r.done_at {
            report.secs = report.secs.max((at - start).as_secs_f64());
        }
        if let Some(e) = &r.error {
            report.first_error.get_or_insert(e.clone());
        }
    }
    for r in &slow_seen {
        report.half_lines += r.half_lines;
        report.reordered += r.reordered;
        report.torn += r.torn;
        report.read_slowly += r.read_slowly;
        report.read_after += r.read_after;
        if r.goodbye.is_some() && r.ended {
            report.dropped += 1;
        }
        if report.goodbye.is_none() {
            report.goodbye.clone_from(&r.goodbye);
        }
        if let Some(e) = &r.error {
            report.first_error.get_or_insert(e.clone());
        }
    }
    report.peak_kib = scenario
        .pid
        .and_then(|pid| super::super::proc_status(pid, "VmHWM"));
    Ok(report)
}
// ANCHOR_END: flood

/// Writes the flood in 64 KiB writes, as fast as the server takes them.
/// Returns when the last write returned and how long the longest took: how
/// long the server held the flooder back.
fn write_flood(
    stream: &TcpStream,
    lines: usize,
    token: &str,
    target: &Target,
) -> io::Result<(f64, f64)> {
    let start = Instant::now();
    let mut longest = Duration::ZERO;
    let mut chunk = Vec::with_capacity(64 * 1024 + 128);
    for index in 0..lines {
        let _ = writeln!(chunk, "c0-m{index}-{token}");
        if chunk.len() >= 64 * 1024 || index + 1 == lines {
            target.check_deadline()?;
            let took = Instant::now();
            // Bounded like every read: a server that stops reading cannot
            // hold the flooder past `--timeout` or the run's end.
            let deadline = target.exchange("write");
            Within {
                stream,
                deadline: &deadline,
            }
            .write_all(&chunk)?;
            longest = longest.max(took.elapsed());
            chunk.clear();
        }
    }
    Ok((start.elapsed().as_secs_f64(), longest.as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_passes_only_if_every_reader_and_every_slow_reader_did() {
        let mut r = FloodReport {
            lines: 10,
            readers: 2,
            slow_readers: 1,
            complete: 2,
            dropped: 1,
            ..FloodReport::default()
        };
        assert!(r.passed());
        r.half_lines = 1;
        assert!(!r.passed(), "a half line fails the run");
        r.half_lines = 0;
        r.dropped = 0;
        assert!(
            !r.passed(),
            "a slow reader that was not dropped fails the run"
        );
        assert!(
            r.summary().contains("0/1 slow readers dropped"),
            "{}",
            r.summary()
        );
    }
}
