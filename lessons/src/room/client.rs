//! One client's two threads: the reader, which frames the lines the client
//! sends and hands them to the hub, and the writer, which sends the client
//! what the hub queued for it.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread;
use std::time::{Duration, Instant};

use super::flow::{Backlog, Line, Window};
use super::{Config, Event, Why};
use crate::cli;
use crate::framing::{self, LineError};

/// How often a blocked reader or writer looks up from its socket to see
/// whether the hub has closed its client. On Linux a `shutdown` would wake
/// it at once, but not on Windows: a timeout works everywhere.
const READ_POLL: Duration = Duration::from_secs(1);
const WRITE_POLL: Duration = Duration::from_millis(100);
/// How long a closing connection goes on reading (and throwing away) what
/// the client sends after its last line went out, so that closing does not
/// turn into a reset that destroys that line (see `framing::say_and_close`).
const LINGER: Duration = Duration::from_secs(1);
/// The most a closing connection reads and throws away.
const DRAIN_BUDGET: usize = 4 * 1024 * 1024;

/// The hub has not closed this client.
pub const OPEN: u8 = 0;
/// The hub has closed it: send what waits, then the last line.
pub const FINISH: u8 = 1;
/// The hub has dropped it for not reading: finish the line being written,
/// throw away the rest, send the last line.
pub const DROP: u8 = 2;

// ANCHOR: link
/// What the hub and one client's two threads share.
pub struct Link {
    /// One socket, three users: `Read` and `Write` are implemented for
    /// `&TcpStream`, so one `Arc<Link>` shares it (`try_clone` would work
    /// too, but costs a descriptor per handle).
    pub stream: TcpStream,
    pub backlog: Backlog,
    /// [`OPEN`], [`FINISH`] or [`DROP`]; set by the hub.
    pub close: AtomicU8,
    /// Set by the writer when it is done with the socket.
    pub writer_done: AtomicBool,
}

impl Link {
    pub fn new(stream: TcpStream) -> Link {
        Link {
            stream,
            backlog: Backlog::default(),
            close: AtomicU8::new(OPEN),
            writer_done: AtomicBool::new(false),
        }
    }
    // ANCHOR_END: link

    fn closing(&self) -> bool {
        self.close.load(Ordering::Acquire) != OPEN
    }
}

/// What the hub puts in a client's queue.
pub enum Out {
    Line(Arc<Line>),
    /// The end: `line` (if any) goes last, then the connection is closed.
    Last(Option<Arc<Line>>),
}

// ANCHOR: start
/// Starts client `id`'s two threads, on the accept thread: the writer,
/// then (once the hub has been told) the reader, so that the hub hears of
/// the client before it hears any of its lines. Returns false if the hub
/// has stopped.
pub fn start(
    id: usize,
    stream: TcpStream,
    addr: SocketAddr,
    config: &Config,
    events: &SyncSender<Event>,
) -> bool {
    let link = Arc::new(Link::new(stream));
    let (queue, lines) = mpsc::channel();
    let grace = config.limits.soft_secs;
    let writer = thread::Builder::new().name(format!("#{id} writer")).spawn({
        let link = Arc::clone(&link);
        move || write_queued(&link, lines, grace)
    });
    let writer = match writer {
        Ok(writer) => writer,
        Err(e) => {
            crate::log_error!("client {addr} dropped: cannot start a thread: {e}");
            // A last line without waiting: a new socket's buffer is empty,
            // so a short write in non-blocking mode goes through.
            let _ = link.stream.set_nonblocking(true);
            let _ = (&link.stream).write_all(b"error: the server cannot start a thread for you\n");
            return true;
        }
    };
    let arrived = Event::Arrived {
        id,
        addr,
        link: Arc::clone(&link),
        queue,
        writer,
    };
    if events.send(arrived).is_err() {
        return false;
    }
    let (max_line, idle, window) = (config.max_line, config.idle_timeout, config.limits.soft);
    let reader = thread::Builder::new().name(format!("#{id} reader")).spawn({
        let events = events.clone();
        move || {
            let window = Window::for_this_thread(window);
            read_lines(&link, id, max_line, idle, &window, events);
        }
    });
    if let Err(e) = reader {
        let why = Why::NoThread(e);
        return events.send(Event::Gone { id, why }).is_ok();
    }
    true
}
// ANCHOR_END: start

// ANCHOR: escape
/// A client's text as the others are shown it: control characters other
/// than tab are written as Rust escapes (`\r`, `\u{1b}`), so that nobody
/// can move the cursor of everyone's terminal and paint over a label
/// (`\r[server] spoofed`).
pub fn shown(text: &str) -> Cow<'_, str> {
    let bad = |c: char| c.is_control() && c != '\t';
    if !text.contains(bad) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if bad(c) {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}
// ANCHOR_END: escape

// ANCHOR: wire
/// The client's socket as its reader sees it: bytes, plus three rules that
/// the framing does not know about.
/// - An end of stream in the middle of a line is an error, not a last line:
///   a line cut short by a crash or a reset is not relayed as if whole.
/// - A read timeout is a chance to look up: if the hub has closed this
///   client, reading ends; if `idle` has passed with nothing received,
///   the timeout is reported. Otherwise it reads on, so no byte is lost.
struct Wire<'a> {
    link: &'a Link,
    idle: Option<Duration>,
    heard: Instant,
    at_line_start: bool,
}

impl Read for Wire<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.link.closing() {
                return Err(io::Error::other("closed by the server"));
            }
            match (&self.link.stream).read(buf) {
                Ok(0) if !self.at_line_start => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the connection ended in the middle of a line",
                    ));
                }
                Ok(n) => {
                    if n > 0 {
                        self.at_line_start = buf[n - 1] == b'\n';
                        self.heard = Instant::now();
                    }
                    return Ok(n);
                }
                Err(e) if cli::is_timeout(&e) => {
                    if self.idle.is_some_and(|idle| self.heard.elapsed() >= idle) {
                        return Err(e);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}
// ANCHOR_END: wire

// ANCHOR: reader
/// Frames one client's lines and hands them to the hub, until the client
/// leaves or the hub closes it. Before each line it waits for room in the
/// client's window: while the window is full, nobody reads this socket, and
/// TCP slows the client down.
pub fn read_lines(
    link: &Link,
    id: usize,
    max_line: usize,
    idle: Option<Duration>,
    window: &Arc<Window>,
    events: SyncSender<Event>,
) {
    let poll = idle.map_or(READ_POLL, |idle| idle.min(READ_POLL));
    let _ = link.stream.set_read_timeout(Some(poll));
    let wire = Wire {
        link,
        idle,
        heard: Instant::now(),
        at_line_start: true,
    };
    let mut reader = BufReader::new(wire);
    let mut label = format!("[#{id}] ");
    let why = loop {
        if !window.wait_for_room(READ_POLL, || link.closing()) {
            break None;
        }
        let event = match framing::read_line(&mut reader, max_line) {
            // The one line that is not relayed: `/name Alice` labels this
            // client's lines from now on, so a room of people can tell who
            // is who. The label lives here, with the reader that builds
            // every line, so the hub never rewrites a line.
            Ok(Some(text)) if text == "/name" || text.starts_with("/name ") => {
                let name = name(&text["/name".len()..]);
                if let Ok(name) = &name {
                    label = format!("[#{id} {name}] ");
                }
                Event::Named { id, name }
            }
            Ok(Some(text)) => {
                // The line as the others will see it, built here rather than
                // in the hub: the hub's time is everybody's.
                let line = format!("{label}{}", shown(&text));
                let credit = window.take(line.len() + 1);
                Event::Line {
                    id,
                    line: Arc::new(Line::new(&line, Some(credit))),
                    label: label.len(),
                }
            }
            Ok(None) => break Some(Why::Left),
            // The bad line has been consumed; the connection can go on.
            Err(LineError::NotUtf8) => Event::NotUtf8 { id },
            Err(LineError::TooLong { max }) => break Some(Why::TooLong(max)),
            Err(LineError::Io(_)) if link.closing() => break None,
            // Only with `--idle-timeout`: the client sent nothing for that long.
            Err(LineError::Io(e)) if cli::is_timeout(&e) => {
                break Some(Why::Idle(idle.unwrap_or_default()));
            }
            Err(LineError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                break Some(Why::Cut);
            }
            Err(LineError::Io(e)) => break Some(Why::Failed(e)),
        };
        if events.send(event).is_err() {
            return; // the hub has stopped
        }
    };
    let gone = matches!(why, Some(Why::Left | Why::Cut | Why::Failed(_)));
    if let Some(why) = why {
        let _ = events.send(Event::Gone { id, why });
    }
    if !gone {
        drain(link);
    }
}

/// The longest name `/name` accepts, in characters.
pub const MAX_NAME: usize = 20;

/// Checks a name given with `/name`: one word of letters, digits, `-` and
/// `_`, so that a label `[#3 Alice] ` cannot be mistaken for text.
pub fn name(given: &str) -> Result<String, String> {
    let name = given.trim();
    let usage = format!(
        "usage: /name NAME (one word of letters, digits, - and _, at most {MAX_NAME} characters)"
    );
    let fits = (1..=MAX_NAME).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    if fits {
        Ok(name.to_string())
    } else {
        Err(usage)
    }
}

/// Reads and throws away what the client still sends while its last line
/// goes out, and for [`LINGER`] after: closing a socket with unread bytes
/// makes the system send a reset, which can destroy that last line before
/// the client reads it.
fn drain(link: &Link) {
    let _ = link.stream.set_read_timeout(Some(WRITE_POLL));
    let mut budget = DRAIN_BUDGET;
    let mut scratch = [0u8; 8192];
    let mut done_at = None;
    loop {
        if link.writer_done.load(Ordering::Acquire) {
            let done_at: &mut Instant = done_at.get_or_insert_with(Instant::now);
            if done_at.elapsed() >= LINGER {
                return;
            }
        }
        match (&link.stream).read(&mut scratch) {
            Ok(0) => return,
            Ok(n) => {
                budget = budget.saturating_sub(n);
                if budget == 0 {
                    return;
                }
            }
            Err(e) if cli::is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}
// ANCHOR_END: reader

// ANCHOR: writer
/// What one client's writer is sending: everything that was waiting in its
/// queue when it last looked, as one buffer for one `write`.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    /// The lines in `bytes` not yet sent whole, each with where it ends.
    /// Holding a line holds its sender's credit, and its bytes count as
    /// waiting in the backlog, until the socket has taken all of it.
    lines: VecDeque<(usize, Arc<Line>)>,
    sent: usize,
    /// The last line is in `bytes`: once it is sent, the writer is done.
    last: bool,
}

impl Batch {
    fn push(&mut self, line: Arc<Line>) {
        self.bytes.extend_from_slice(line.bytes());
        self.lines.push_back((self.bytes.len(), line));
    }

    fn finish_with(&mut self, last: Option<Arc<Line>>) {
        if let Some(line) = last {
            self.bytes.extend_from_slice(line.bytes());
        }
        self.last = true;
    }

    fn unsent(&self) -> &[u8] {
        &self.bytes[self.sent..]
    }

    /// Notes that the socket took `n` more bytes, and lets go of the lines
    /// sent whole: returns their bytes, which no longer wait.
    fn sent(&mut self, n: usize) -> usize {
        self.sent += n;
        let mut done = 0;
        while let Some((end, line)) = self.lines.front() {
            if *end > self.sent {
                break;
            }
            done += line.len();
            self.lines.pop_front(); // its sender's credit comes back here
        }
        done
    }

    /// Keeps what was sent and the rest of the line being sent, throws away
    /// the lines after it, and returns the bytes that no longer wait.
    fn cut_after_this_line(&mut self) -> usize {
        let at_line_start = self.sent == 0 || self.bytes[self.sent - 1] == b'\n';
        let end = if at_line_start {
            self.sent
        } else {
            self.bytes[self.sent..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(self.bytes.len(), |i| self.sent + i + 1)
        };
        self.bytes.truncate(end);
        // The bytes are copied: the lines, and their credit, can go now.
        self.lines.drain(..).map(|(_, line)| line.len()).sum()
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.lines.clear();
        self.sent = 0;
    }
}

/// Sends what arrives in one client's queue, until the hub's last line:
/// then half-closes. Each time, it takes *everything* waiting in the queue
/// and sends it with one `write` (more if the socket takes it in parts):
/// a client that is behind costs one system call per batch, not per line.
pub fn write_queued(link: &Link, queue: Receiver<Out>, grace: Duration) {
    write_until_last(link, queue, grace);
    // The reader, which drains the socket meanwhile, may stop now.
    link.writer_done.store(true, Ordering::Release);
}

fn write_until_last(link: &Link, queue: Receiver<Out>, grace: Duration) {
    let _ = link.stream.set_write_timeout(Some(WRITE_POLL));
    let backlog = &link.backlog;
    let mut batch = Batch::default();
    let mut dropping = false;
    let mut closing_since: Option<Instant> = None;
    loop {
        if batch.unsent().is_empty() {
            if batch.last {
                break;
            }
            batch.clear();
            // Wait for the next line; `recv` fails only if the hub is gone.
            let Ok(first) = queue.recv() else { break };
            for out in std::iter::once(first).chain(queue.try_iter()) {
                match out {
                    Out::Line(line) if dropping => {
                        backlog.waiting.fetch_sub(line.len(), Ordering::AcqRel);
                    }
                    Out::Line(line) => batch.push(line),
                    Out::Last(last) => {
                        if link.close.load(Ordering::Acquire) == DROP {
                            let thrown = batch.cut_after_this_line();
                            backlog.waiting.fetch_sub(thrown, Ordering::AcqRel);
                        }
                        batch.finish_with(last);
                        break;
                    }
                }
            }
            continue;
        }
        match (&link.stream).write(batch.unsent()) {
            Ok(0) => return,
            Ok(n) => {
                backlog.taken.fetch_add(n as u64, Ordering::AcqRel);
                let done = batch.sent(n);
                backlog.waiting.fetch_sub(done, Ordering::AcqRel);
            }
            Err(e) if cli::is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            // The client is gone. Returning drops the receiver, so the
            // hub's next send to it fails; the reader sees it too.
            Err(_) => return,
        }
        // Between writes, and every WRITE_POLL while the socket is full:
        // has the hub closed this client?
        match link.close.load(Ordering::Acquire) {
            OPEN => {}
            close => {
                let since = *closing_since.get_or_insert_with(Instant::now);
                if close == DROP && !dropping {
                    dropping = true;
                    let thrown = batch.cut_after_this_line();
                    backlog.waiting.fetch_sub(thrown, Ordering::AcqRel);
                }
                if since.elapsed() >= grace {
                    // It has not taken its last lines in time: close anyway.
                    let _ = link.stream.shutdown(Shutdown::Both);
                    return;
                }
            }
        }
    }
    let _ = link.stream.shutdown(Shutdown::Write);
}
// ANCHOR_END: writer

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    #[rstest]
    #[case::plain("hello", "hello")]
    #[case::tab_is_kept("a\tb", "a\tb")]
    #[case::carriage_return("\r[server] spoofed", "\\r[server] spoofed")]
    #[case::escape_sequence("\x1b[2Kwiped", "\\u{1b}[2Kwiped")]
    #[case::nul_and_delete("a\0b\x7f", "a\\u{0}b\\u{7f}")]
    #[case::c1_control("x\u{85}y", "x\\u{85}y")]
    #[case::accents_are_not_controls("héllo ✓", "héllo ✓")]
    fn control_characters_are_shown_escaped(#[case] text: &str, #[case] expected: &str) {
        assert_eq!(shown(text), expected);
    }

    fn batch_of(lines: &[&str]) -> Batch {
        let mut batch = Batch::default();
        for line in lines {
            batch.push(Arc::new(Line::new(line, None)));
        }
        batch
    }

    #[test]
    fn a_cut_keeps_the_line_being_sent_whole() {
        let mut batch = batch_of(&["one", "two", "three"]);
        assert_eq!(batch.sent(5), 4, "\"one\\n\" was sent whole");
        assert_eq!(
            batch.cut_after_this_line(),
            4 + 6,
            "\"two\" is sent, \"three\" thrown"
        );
        batch.finish_with(Some(Arc::new(Line::new("bye", None))));
        assert_eq!(batch.unsent(), b"wo\nbye\n");
    }

    #[test]
    fn a_cut_between_lines_keeps_nothing_more() {
        let mut batch = batch_of(&["one", "two"]);
        assert_eq!(batch.sent(4), 4);
        assert_eq!(batch.cut_after_this_line(), 4);
        assert_eq!(batch.unsent(), b"");
    }
}
