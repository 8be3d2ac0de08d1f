//! The socket test harness: what the end-to-end tests (`tests/common/`)
//! and the exercises' checks (`exercises/crates/checks/`) both need to talk
//! to a server under test without ever hanging, and to say what they saw.
//!
//! - [`Subject`]: the server under test, whatever runs it. The tests start
//!   a real program; the checks run a student's function on a thread; a
//!   grader may be handed an address. Each answers the same question,
//!   "has it stopped, and why?", and every failure message asks it first:
//!   a server that died is the real problem, whatever the client saw.
//! - [`read_line`], [`collect`]: reading within a deadline, ended by an
//!   event (a line, enough bytes, the end of the stream, an error).
//! - [`nothing_arrives`]: the one judgement made from silence. "Nothing
//!   happens" cannot be signalled, so it is made in one place, with the
//!   window given by the caller and long enough to be sure.
//! - [`show`]: bytes as a person reads them in a message.
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::io::{self, BufRead, Read};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// True for the error a read returns when its timeout expires
/// (`WouldBlock` on Unix, `TimedOut` on Windows). The course's own
/// programs use the same function.
pub use lessons::cli::is_timeout;

/// The server a test or a check talks to.
pub trait Subject {
    /// Where it listens.
    fn addr(&self) -> SocketAddr;

    /// How it stopped, in words, if it has within `within`; `None` while it
    /// runs.
    fn ended(&self, within: Duration) -> Option<String>;

    /// The message for a failure: if the server has stopped, that is the
    /// real problem, whatever the client saw; otherwise what was seen.
    fn fail(&self, saw: impl Into<String>) -> String
    where
        Self: Sized,
    {
        let saw = saw.into();
        match self.ended(Duration::from_millis(300)) {
            None => saw,
            Some(why) => format!("{why}\n(What was seen: {saw})"),
        }
    }

    /// `Ok` if the server is still running after `after`.
    fn still_running(&self, after: &str) -> Result<(), String> {
        match self.ended(Duration::from_millis(300)) {
            None => Ok(()),
            Some(why) => Err(format!("{why}\n(It ended after {after}.)")),
        }
    }
}

/// Sets read and write timeouts, so a client never blocks for good.
pub fn with_timeouts(stream: TcpStream, timeout: Duration) -> Result<TcpStream, String> {
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("could not set the socket's timeouts: {e}"))?;
    Ok(stream)
}

/// Connects to `addr` within `timeout`, with read and write timeouts of
/// `timeout` on the new connection.
pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, String> {
    let stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("could not connect to {addr}: {e}"))?;
    with_timeouts(stream, timeout)
}

/// Reads one line (without its `\n`) within the reader's own read timeout.
/// `Ok(None)` means the peer closed the connection. Bytes that are not
/// UTF-8 are shown as `�`, so a message can still quote the line.
pub fn read_line(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut bytes = Vec::new();
    if reader.read_until(b'\n', &mut bytes)? == 0 {
        return Ok(None);
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// How reading with [`collect`] ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ended {
    /// What was wanted arrived.
    Enough,
    /// The peer closed the connection.
    Closed,
    /// Nothing more came before the deadline.
    TimedOut,
    /// The connection failed (reset, ...).
    Failed(String),
}

/// Reads from `stream` into `into` until `enough(&bytes so far)` holds, the
/// peer closes, or `within` has passed, whichever comes first. The
/// stream's read timeout is put back as it was.
pub fn collect(
    stream: &TcpStream,
    into: &mut Vec<u8>,
    within: Duration,
    enough: impl Fn(&[u8]) -> bool,
) -> Ended {
    let before = stream.read_timeout().ok().flatten();
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 64 * 1024];
    let ended = loop {
        if enough(into) {
            break Ended::Enough;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break Ended::TimedOut;
        }
        if let Err(e) = stream.set_read_timeout(Some(left)) {
            break Ended::Failed(e.to_string());
        }
        match (&*stream).read(&mut buf) {
            Ok(0) => break Ended::Closed,
            Ok(n) => into.extend_from_slice(&buf[..n]),
            Err(e) if is_timeout(&e) => break Ended::TimedOut,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Ended::Failed(e.to_string()),
        }
    };
    let _ = stream.set_read_timeout(before);
    ended
}

/// Checks that nothing arrives on `stream` for `quiet`: `Err` says what
/// came instead. This is the one judgement made from silence; give it a
/// window long enough to be sure on a busy machine, and ask first whether
/// the server is still running ([`Subject::still_running`]).
pub fn nothing_arrives(stream: &TcpStream, quiet: Duration) -> Result<(), String> {
    let mut got = Vec::new();
    match collect(stream, &mut got, quiet, |b| !b.is_empty()) {
        Ended::TimedOut => Ok(()),
        Ended::Closed => Err("saw the connection closed".to_string()),
        Ended::Enough => Err(format!("received {}", show(&got))),
        Ended::Failed(e) => Err(format!("saw the connection fail: {e}")),
    }
}

/// Bytes as a person reads them in a message: text in quotes with `\n`,
/// `\r`, `\t` and `\0` visible, long runs of one byte told in words
/// (`"hello" + 4090 × "\0"`), bytes that are not UTF-8 in hex, and the
/// end left out when it is long.
pub fn show(bytes: &[u8]) -> String {
    const MOST: usize = 160;
    let mut parts: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    let mut shown = 0;
    while i < bytes.len() && shown < MOST {
        let run = bytes[i..].iter().take_while(|&&b| b == bytes[i]).count();
        if run >= 16 {
            if !text.is_empty() {
                parts.push(format!("\"{}\"", std::mem::take(&mut text)));
            }
            parts.push(format!("{run} × \"{}\"", show_char(bytes[i] as char)));
            i += run;
            shown += 16;
            continue;
        }
        let rest = &bytes[i..bytes.len().min(i + 4)];
        let valid = match std::str::from_utf8(rest) {
            Ok(s) => s,
            Err(e) => std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default(),
        };
        match valid.chars().next() {
            Some(c) => {
                text.push_str(&show_char(c));
                i += c.len_utf8();
            }
            None => {
                let _ = write!(text, "\\x{:02x}", bytes[i]);
                i += 1;
            }
        }
        shown += 1;
    }
    if !text.is_empty() || parts.is_empty() {
        parts.push(format!("\"{text}\""));
    }
    let mut out = parts.join(" + ");
    if i < bytes.len() {
        let _ = write!(out, "... ({} more bytes)", bytes.len() - i);
    }
    out
}

fn show_char(c: char) -> String {
    match c {
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        '\t' => "\\t".into(),
        '\0' => "\\0".into(),
        '"' => "\\\"".into(),
        c if c.is_control() => format!("\\u{{{:x}}}", c as u32),
        c => c.to_string(),
    }
}

/// [`show`] for text.
pub fn show_str(text: &str) -> String {
    show(text.as_bytes())
}
