//! Checks of exercise 10, `event_loop`: the check is both the client and
//! the event loop. It runs a mio loop over one real connection, on a thread
//! of its own, and calls the student's `Connection` as lesson 10's loop
//! does: `on_readable` when the socket is readable, `on_writable` when it is
//! writable and the connection asked for it, and it tells the poller what
//! the connection asks for next. The connection sees a [`Socket`] that
//! behaves as a real one may: a read hands out at most [`READ_CAP`] bytes, a
//! write takes at most [`WRITE_CAP`], and every third write says
//! `WouldBlock`, as a full send buffer does (the loop then reports the
//! socket writable again, as the poller does once there is room). So the
//! mistakes of an event loop show every time, not only on a busy network:
//! a read not repeated until `WouldBlock`, a partial write taken for a
//! whole one, a line cut between two events.
//!
//! The loop counts what it saw (calls, reads that stopped early, writes
//! that found nothing to write), and the messages use those counts to say
//! why a reply did not come.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mio::net::TcpStream as MioStream;
use mio::{Events, Poll, Token, Waker};

use super::harness::{
    Bell, Ended, Task, WAIT, Waited, collect, lock, plural, show, show_str, socket_pair, spawn,
};
pub use crate::shared::event_loop::Interest;

/// The longest line the checks' connections accept (`Connection::new`'s
/// `max_line`), in bytes before the `\n`.
pub const MAX_LINE: usize = 1024;

/// The most bytes one read of the checks' [`Socket`] hands out.
pub const READ_CAP: usize = 256;

/// The most bytes one write of the checks' [`Socket`] takes.
pub const WRITE_CAP: usize = 256;

/// Every this many writes, the checks' [`Socket`] says `WouldBlock`.
pub const REFUSE_EVERY: usize = 3;

/// How many calls of `on_writable` in a row that find nothing to write,
/// with no byte read meanwhile, make a busy loop.
pub const BUSY: usize = 1000;

/// What the loop calls when the socket is readable, or writable.
pub type OnEvent<C> = fn(&mut C, &mut Socket) -> io::Result<Option<Interest>>;

/// The connection under test: its three functions, for any type `C`.
pub struct Api<C> {
    pub new: fn(usize) -> C,
    pub on_readable: OnEvent<C>,
    pub on_writable: OnEvent<C>,
}

// Not derived: a derive would require `C: Copy`; only the functions are copied.
impl<C> Clone for Api<C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C> Copy for Api<C> {}

pub fn checks<C: 'static>(subject: Api<C>) -> Vec<super::Check> {
    checks!(subject =>
        answers_a_line_with_its_characters_reversed,
        several_lines_in_one_write_get_one_reply_each,
        a_line_split_across_two_readable_events_gets_one_reply,
        reads_until_wouldblock_at_every_readable_event,
        a_reply_bigger_than_one_write_arrives_whole,
        asks_for_writable_only_while_replies_wait,
        a_line_that_is_not_utf8_gets_an_error_and_the_next_line_is_served,
        a_line_over_the_limit_gets_an_error_and_the_connection_closes,
        the_last_line_without_a_newline_is_answered_when_the_client_closes,
        closes_once_the_client_has_closed_and_every_reply_is_written,
        works_when_every_byte_arrives_on_its_own,
        works_when_separate_messages_arrive_merged,
    )
}

/// A client's socket as the loop hands it to a connection: a non-blocking
/// mio `TcpStream`, which is `Read` and `Write`. The checks' sockets are
/// narrow (see the module's documentation); the program's are not.
pub struct Socket {
    stream: MioStream,
    narrow: bool,
    /// Writes so far: a narrow socket refuses every [`REFUSE_EVERY`]th.
    writes: usize,
    /// What the current call of the connection did with it.
    call: Call,
}

/// What one call of `on_readable` or `on_writable` did with the socket.
#[derive(Debug, Default, Clone, Copy)]
struct Call {
    bytes_read: usize,
    /// What the last read returned.
    last_read: Option<Got>,
    bytes_written: usize,
    /// Writes that took fewer bytes than they were given.
    short_writes: usize,
    /// A narrow socket said `WouldBlock` (it stands for a full buffer).
    refused: bool,
    /// The socket itself said `WouldBlock`.
    would_block: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Got {
    Bytes,
    End,
    WouldBlock,
    Failed,
}

impl Socket {
    /// A socket that reads and writes as much as the system lets it.
    pub fn new(stream: MioStream) -> Socket {
        Socket {
            stream,
            narrow: false,
            writes: 0,
            call: Call::default(),
        }
    }

    fn narrow(stream: MioStream) -> Socket {
        Socket {
            narrow: true,
            ..Socket::new(stream)
        }
    }

    /// The stream, to register it with a poller.
    pub fn stream(&mut self) -> &mut MioStream {
        &mut self.stream
    }

    /// Starts counting a new call.
    fn begin(&mut self) {
        self.call = Call::default();
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let most = if self.narrow {
            buf.len().min(READ_CAP)
        } else {
            buf.len()
        };
        let result = self.stream.read(&mut buf[..most]);
        self.call.last_read = Some(match &result {
            Ok(0) => Got::End,
            Ok(n) => {
                self.call.bytes_read += n;
                Got::Bytes
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Got::WouldBlock,
            Err(_) => Got::Failed,
        });
        result
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.narrow && !buf.is_empty() {
            self.writes += 1;
            if self.writes.is_multiple_of(REFUSE_EVERY) {
                self.call.refused = true;
                return Err(io::ErrorKind::WouldBlock.into());
            }
        }
        let most = if self.narrow {
            buf.len().min(WRITE_CAP)
        } else {
            buf.len()
        };
        let result = self.stream.write(&buf[..most]);
        match &result {
            Ok(n) => {
                self.call.bytes_written += n;
                if *n < buf.len() {
                    self.call.short_writes += 1;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.call.would_block = true,
            Err(_) => {}
        }
        result
    }

    fn flush(&mut self) -> io::Result<()> {
        // Nothing is buffered here: what `write` took is the kernel's.
        Ok(())
    }
}

/// How the check's loop ended.
#[derive(Debug, Clone)]
enum Ending {
    /// The connection returned `None`: the loop closed the socket.
    Closed,
    /// `on_readable` or `on_writable` returned an error.
    Failed {
        by: &'static str,
        kind: io::ErrorKind,
        text: String,
    },
    /// [`BUSY`] calls of `on_writable` in a row with nothing to write.
    Busy,
    /// The check stopped it.
    Stopped,
    /// The check's own loop failed.
    Broken(String),
}

/// What the check's loop saw, for the check to read while it runs.
#[derive(Debug, Default, Clone)]
struct Seen {
    readable_calls: usize,
    writable_calls: usize,
    bytes_read: usize,
    short_writes: usize,
    /// `on_readable` returned still asking for `READABLE` after a read
    /// that brought bytes (or without reading at all): not at `WouldBlock`.
    stopped_before_would_block: usize,
    /// `on_readable` still asked for `READABLE` after a read returned 0.
    read_on_after_the_end: usize,
    /// After a write said `WouldBlock`, `on_writable` did not ask for
    /// `WRITABLE`.
    dropped_writable: usize,
    /// Calls of `on_writable` in a row that wrote nothing and were not
    /// refused, with nothing read meanwhile.
    idle_writable_in_a_row: usize,
    /// What the poller was last told to wait for.
    interest: Option<Interest>,
    /// The loop is about to wait in `poll` with every event handled and
    /// nothing re-armed: a right answer gets there after each reply; a busy
    /// loop never does. The client acts only then ([`Client::settle`]), so
    /// what a check sees never depends on how fast its client is.
    settled: bool,
    ended: Option<Ending>,
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Seen>,
    bell: Bell,
}

const CLIENT: Token = Token(0);
const STOP: Token = Token(1);

/// Runs the loop over `stream` until it ends, and says how.
fn drive<C>(api: Api<C>, stream: TcpStream, poll: Poll, shared: &Shared) -> Ending {
    let ending = run_loop(api, stream, poll, shared);
    lock(&shared.seen).ended = Some(ending.clone());
    shared.bell.ring();
    ending
}

fn run_loop<C>(api: Api<C>, stream: TcpStream, mut poll: Poll, shared: &Shared) -> Ending {
    if let Err(e) = stream.set_nonblocking(true) {
        return Ending::Broken(format!(
            "the check could not make its socket non-blocking: {e}"
        ));
    }
    let mut socket = Socket::narrow(MioStream::from_std(stream));
    let mut interest = Interest::READABLE;
    if let Err(e) = poll.registry().register(socket.stream(), CLIENT, interest) {
        return Ending::Broken(format!("the check could not register its socket: {e}"));
    }
    lock(&shared.seen).interest = Some(interest);
    let mut conn = (api.new)(MAX_LINE);
    let mut events = Events::with_capacity(8);
    let mut rearmed = false;
    loop {
        lock(&shared.seen).settled = !rearmed;
        shared.bell.ring();
        let polled = poll.poll(&mut events, None);
        lock(&shared.seen).settled = false;
        rearmed = false;
        if let Err(e) = polled {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Ending::Broken(format!("the check's poll failed: {e}"));
        }
        for event in &events {
            if event.token() == STOP {
                return Ending::Stopped;
            }
            let mut next = Some(interest);
            let mut rearm = false;
            let trouble = event.is_error();
            if interest.is_readable() && (event.is_readable() || event.is_read_closed() || trouble)
            {
                socket.begin();
                let result = (api.on_readable)(&mut conn, &mut socket);
                let call = socket.call;
                let mut seen = lock(&shared.seen);
                seen.readable_calls += 1;
                seen.bytes_read += call.bytes_read;
                if call.bytes_read > 0 {
                    seen.idle_writable_in_a_row = 0;
                }
                next = match result {
                    Ok(next) => next,
                    Err(e) => return failed("on_readable", e),
                };
                // Asking for writable anew, on a socket with room: mio
                // reports it at the next poll, so the loop is not done yet
                // (else a busy loop could look settled for one moment,
                // and the client move on before it spins).
                let newly_writable =
                    next.is_some_and(|i| i.is_writable()) && !interest.is_writable();
                if newly_writable && (call.refused || !call.would_block) {
                    rearm = true;
                }
                if next.is_some_and(|i| i.is_readable()) {
                    match call.last_read {
                        Some(Got::Bytes) | None => seen.stopped_before_would_block += 1,
                        Some(Got::End) => seen.read_on_after_the_end += 1,
                        Some(Got::WouldBlock | Got::Failed) => {}
                    }
                }
            }
            let wants_to_write = next.is_some_and(|i| i.is_writable());
            if interest.is_writable()
                && wants_to_write
                && (event.is_writable() || event.is_write_closed() || trouble)
            {
                socket.begin();
                let result = (api.on_writable)(&mut conn, &mut socket);
                let call = socket.call;
                let mut seen = lock(&shared.seen);
                seen.writable_calls += 1;
                seen.short_writes += call.short_writes;
                next = match result {
                    Ok(next) => next,
                    Err(e) => return failed("on_writable", e),
                };
                let blocked = call.refused || call.would_block;
                if call.bytes_written == 0 && !blocked {
                    seen.idle_writable_in_a_row += 1;
                    if seen.idle_writable_in_a_row >= BUSY {
                        return Ending::Busy;
                    }
                } else {
                    seen.idle_writable_in_a_row = 0;
                }
                let still_writable = next.is_some_and(|i| i.is_writable());
                if blocked && !still_writable {
                    seen.dropped_writable += 1;
                }
                // Writable is reported as a level-triggered poller does: the
                // socket took all it was given, so it has room, and a
                // connection that still asks for writable hears so at once.
                // A refusal of the check's own stands for a full buffer that
                // has room again by the next poll.
                rearm = still_writable && (call.refused || !call.would_block);
            }
            let Some(next) = next else {
                // Dropping the socket closes it.
                return Ending::Closed;
            };
            rearmed |= rearm;
            if next != interest || rearm {
                if let Err(e) = poll.registry().reregister(socket.stream(), CLIENT, next) {
                    return Ending::Broken(format!("the check could not reregister: {e}"));
                }
                interest = next;
            }
            lock(&shared.seen).interest = Some(interest);
            shared.bell.ring();
        }
    }
}

fn failed(by: &'static str, e: io::Error) -> Ending {
    Ending::Failed {
        by,
        kind: e.kind(),
        text: e.to_string(),
    }
}

/// The check's end of a connection served by the student's `Connection`,
/// through the check's loop.
struct Client {
    stream: TcpStream,
    /// Bytes received and not yet taken as a reply.
    pending: Vec<u8>,
    shared: Arc<Shared>,
    waker: Waker,
    task: Task<Ending>,
    /// How the loop's thread ended, once the check has seen it.
    outcome: Option<Result<Ending, String>>,
    /// The loop did not settle once: it hangs in a call, or leaves bytes
    /// unread for good; stop waiting.
    unsettled: bool,
    /// Bytes the client has sent.
    sent: usize,
}

impl Drop for Client {
    fn drop(&mut self) {
        // Ends the loop, if it still runs: the check is over.
        let _ = self.waker.wake();
    }
}

fn reversed(line: &str) -> String {
    line.chars().rev().collect()
}

impl Client {
    fn start<C: 'static>(api: Api<C>) -> Result<Client, String> {
        let (ours, theirs) = socket_pair()?;
        let poll = Poll::new().map_err(|e| format!("the check could not create a Poll: {e}"))?;
        let waker = Waker::new(poll.registry(), STOP)
            .map_err(|e| format!("the check could not create a Waker: {e}"))?;
        let shared = Arc::new(Shared::default());
        let task = spawn("Connection", {
            let shared = Arc::clone(&shared);
            move || drive(api, theirs, poll, &shared)
        });
        task.fail_fast()?;
        Ok(Client {
            stream: ours,
            pending: Vec::new(),
            shared,
            waker,
            task,
            outcome: None,
            unsettled: false,
            sent: 0,
        })
    }

    fn seen(&self) -> Seen {
        lock(&self.shared.seen).clone()
    }

    /// How the loop ended, if it has within `within`: `Err` if the
    /// connection panicked (the message says where).
    fn ending(&mut self, within: Duration) -> Option<Result<Ending, String>> {
        if self.outcome.is_none() {
            self.outcome = match self.task.wait(within) {
                Ok(ending) => Some(Ok(ending)),
                Err(Waited::Panicked(why)) => Some(Err(why)),
                Err(Waited::Running) => None,
            };
        }
        self.outcome.clone()
    }

    /// What ended the loop, in words, if something did that explains a
    /// failure better than what the client saw.
    fn what_ended(&mut self) -> Option<String> {
        let ending = match self.ending(Duration::from_millis(300))? {
            Err(panicked) => return Some(panicked),
            Ok(ending) => ending,
        };
        let seen = self.seen();
        Some(match ending {
            Ending::Busy => format!(
                "a busy loop: the check's loop called on_writable {BUSY} times in a row, and it \
                 found nothing to write each time (no byte came or went meanwhile), because \
                 your Connection kept asking for WRITABLE with nothing queued.\nAsk for WRITABLE \
                 only while replies wait to be written; once on_writable has written \
                 everything, return READABLE alone. (The check's loop reports writable as a \
                 level-triggered poller does, poll or select: for as long as the socket has \
                 room, which it always has with nothing queued. mio is edge-triggered: there \
                 the same mistake wakes the loop for nothing at every event.)"
            ),
            Ending::Failed {
                by,
                kind: io::ErrorKind::WouldBlock,
                text,
            } => format!(
                "Connection::{by} returned Err({text}), and the loop closed the connection: \
                 WouldBlock is no failure on a non-blocking socket. It means \"nothing more \
                 for now\": stop there, keep what is left, and return what to wait for. \
                 (write_all and read_exact give up with it, and ? passes it on.)"
            ),
            Ending::Failed { by, text, .. } => format!(
                "Connection::{by} returned Err({text}), and the loop closed the connection."
            ),
            Ending::Closed if seen.dropped_writable > 0 => format!(
                "your Connection returned None (close) while a write had said WouldBlock: the \
                 replies not yet written were lost with the connection. WouldBlock on a write \
                 means \"the send buffer is full for now\": keep the rest, return \
                 Some(READABLE | WRITABLE) (or WRITABLE), and write it at the next writable \
                 event. ({} writes were refused so.)",
                seen.dropped_writable
            ),
            // Closing is the connection's own choice: what the client saw
            // says more, so the fail message puts it first.
            Ending::Closed | Ending::Stopped => return None,
            Ending::Broken(why) => why,
        })
    }

    /// The message for a failure: what ended the loop, if it ended, else
    /// what the check saw.
    fn fail(&mut self, saw: String) -> String {
        match self.what_ended() {
            Some(why) => format!("{why}\n(What the check saw: {saw})"),
            None if self.closed_by_the_connection() => {
                format!(
                    "{saw}\n(Your Connection had returned None: the loop closed the connection.)"
                )
            }
            None => saw,
        }
    }

    /// True if the loop ended because the connection returned `None`.
    fn closed_by_the_connection(&mut self) -> bool {
        matches!(self.ending(Duration::ZERO), Some(Ok(Ending::Closed)))
    }

    /// Waits until the check's loop has handled everything so far and waits
    /// for the next event (or has ended), so that the client's next move
    /// comes after it, on a busy machine as on an idle one. A busy loop never
    /// settles: it spins until [`BUSY`] ends it, and the wait goes on for
    /// as long as the loop keeps calling the Connection (on a busy machine
    /// a thousand calls may take longer than [`WAIT`]). Code that hangs in
    /// a call costs [`WAIT`] once; later moves do not wait for it again.
    fn settle(&mut self) {
        if self.unsettled {
            return;
        }
        let sent = self.sent;
        // Settled after reading every byte sent so far: a flag set before
        // the client's last bytes came would be stale.
        let settled = self.wait_while_called(|seen| {
            (seen.settled && seen.bytes_read >= sent) || seen.ended.is_some()
        });
        self.unsettled = !settled;
    }

    /// Waits until `done` holds, for [`WAIT`] after the check's loop last
    /// called the Connection: a busy loop is called a thousand times before
    /// [`BUSY`] ends it, and on a busy machine that takes longer than one
    /// [`WAIT`]. Only a loop called for ever without `done` nor [`BUSY`]
    /// meets the overall bound.
    fn wait_while_called(&self, done: impl Fn(&Seen) -> bool) -> bool {
        let shared = Arc::clone(&self.shared);
        let calls = || {
            let seen = lock(&shared.seen);
            seen.readable_calls + seen.writable_calls
        };
        let most = std::time::Instant::now() + 10 * WAIT;
        loop {
            let before = calls();
            if shared.bell.wait_until(WAIT, || done(&lock(&shared.seen))) {
                return true;
            }
            if calls() == before || std::time::Instant::now() > most {
                return false;
            }
        }
    }

    /// Closes the check's sending side: the end of the stream.
    fn close_our_side(&mut self) -> Result<(), String> {
        self.settle();
        match self.stream.shutdown(Shutdown::Write) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(format!("the check could not close its side: {e}"))),
        }
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.settle();
        match (&self.stream).write_all(bytes) {
            Ok(()) => {
                self.sent += bytes.len();
                Ok(())
            }
            Err(e) => Err(self.fail(format!("the check could not send: {e}"))),
        }
    }

    /// Waits until the connection has read `n` bytes in all (an event: the
    /// check's loop rings after every call).
    fn wait_until_read(&mut self, n: usize, what: &str) -> Result<(), String> {
        let shared = Arc::clone(&self.shared);
        let read = shared.bell.wait_until(WAIT, || {
            let seen = lock(&shared.seen);
            seen.bytes_read >= n || seen.ended.is_some()
        });
        let seen = self.seen();
        if read && seen.bytes_read >= n {
            return Ok(());
        }
        Err(self.fail(format!(
            "your Connection did not read {what} within {WAIT:?}: it read {} bytes in {} calls \
             of on_readable.",
            seen.bytes_read, seen.readable_calls
        )))
    }

    /// Reads until a whole line has arrived (or the peer closed, or [`WAIT`]
    /// passed with no byte coming); returns the raw bytes, line end
    /// included, and how it ended. The wait is for silence, not for the
    /// whole reply: a long reply that trickles in a byte at a time over a
    /// wire, on a busy machine, takes longer than any fixed bound.
    fn raw_reply(&mut self) -> (Vec<u8>, Ended) {
        // Only code that drips bytes for ever reaches this bound.
        let most = std::time::Instant::now() + 10 * WAIT;
        let ended = loop {
            let before = self.pending.len();
            let ended = collect(&self.stream, &mut self.pending, WAIT, |b| {
                b.contains(&b'\n')
            });
            let progressed = self.pending.len() > before;
            if !(ended == Ended::TimedOut && progressed) || std::time::Instant::now() > most {
                break ended;
            }
        };
        let take = self
            .pending
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.pending.len(), |i| i + 1);
        let reply: Vec<u8> = self.pending.drain(..take).collect();
        (reply, ended)
    }

    /// Expects the reply to `line` (sent already, described as `to`): the
    /// line's characters reversed, and `\n`.
    fn expect_reversed(&mut self, to: &str, line: &str) -> Result<(), String> {
        let want = format!("{}\n", reversed(line));
        let (reply, ended) = self.raw_reply();
        if reply == want.as_bytes() {
            return Ok(());
        }
        Err(self.explain(to, want.as_bytes(), &reply, ended))
    }

    /// Says what is wrong with `reply`, where `want` was due.
    fn explain(&mut self, to: &str, want: &[u8], reply: &[u8], ended: Ended) -> String {
        if reply.is_empty() {
            return match ended {
                Ended::Closed => {
                    self.fail(format!("the connection closed instead of a reply to {to}."))
                }
                Ended::Failed(e) => self.fail(format!("reading the reply to {to} failed: {e}")),
                _ => self.why_no_reply(to),
            };
        }
        let seen = self.seen();
        if want.starts_with(reply) && !reply.ends_with(b"\n") {
            let part = format!(
                "only {} of the {} bytes of the reply to {to} came ({}), and then nothing",
                reply.len(),
                want.len(),
                show(reply)
            );
            if seen.dropped_writable > 0 {
                return self.dropped_writable(&part);
            }
            if seen.short_writes > 0 {
                return self.fail(format!(
                    "{part}: a write took only part of the queued bytes, and the rest was \
                     never written. A write may take fewer bytes than it is given (the check's \
                     socket takes at most {WRITE_CAP} per write, as a real one does when its \
                     send buffer is nearly full): it returns how many it took. Keep the rest, \
                     and go on writing from there."
                ));
            }
            return self.fail(format!("{part}."));
        }
        self.fail(format!(
            "the reply to {to} should be {}; it was {}.",
            show(want),
            show(reply)
        ))
    }

    fn dropped_writable(&mut self, saw: &str) -> String {
        self.fail(format!(
            "{saw}: after a write said WouldBlock, on_writable returned without asking for \
             WRITABLE, so no writable event comes, and the replies still queued wait for ever. \
             WouldBlock on a write means \"the send buffer is full for now\": keep the rest, \
             and return WRITABLE too (the check's socket says WouldBlock at every \
             {REFUSE_EVERY}rd write, as a full one does)."
        ))
    }

    /// No reply at all: why, from what the loop saw.
    fn why_no_reply(&mut self, to: &str) -> String {
        let saw = format!("no reply (no whole line ending in \\n) to {to} within {WAIT:?}");
        if let Some(why) = self.what_ended() {
            return format!("{why}\n(What the check saw: {saw}.)");
        }
        let seen = self.seen();
        if seen.stopped_before_would_block > 0 {
            return format!(
                "{saw}: on_readable returned, still asking for READABLE, before a read had \
                 said WouldBlock ({}). Readiness is edge-triggered: an event says that \
                 bytes came, once. The bytes left unread get no event of their own, and the \
                 client sends nothing more before it has its reply.\nRead in a loop until read \
                 returns WouldBlock (or 0, the end of the stream). (The check's socket hands \
                 out at most {READ_CAP} bytes per read, as a real one may.)",
                plural(seen.stopped_before_would_block, "time", "times")
            );
        }
        if seen.dropped_writable > 0 {
            return self.dropped_writable(&saw);
        }
        if seen.read_on_after_the_end > 0 {
            return format!(
                "{saw}: read returned 0, the end of the stream, and on_readable still asked for \
                 READABLE, and answered nothing. No event comes after the end.\nAt the end of \
                 the stream, the unfinished line is a line too: answer it, write the replies, \
                 then return None."
            );
        }
        format!(
            "{saw}. Your Connection was called {} times for readable and {} times for \
             writable, and read {} bytes; the poller was last told to wait for {}.",
            seen.readable_calls,
            seen.writable_calls,
            seen.bytes_read,
            describe(seen.interest)
        )
    }

    /// Expects a reply starting with `error:` to what was sent (`to`).
    fn expect_error(&mut self, to: &str) -> Result<(), String> {
        let (reply, ended) = self.raw_reply();
        if reply.starts_with(b"error:") && reply.ends_with(b"\n") {
            return Ok(());
        }
        if reply.is_empty() {
            return Err(self.explain(to, b"error: ...\n", &reply, ended));
        }
        Err(self.fail(format!(
            "the reply to {to} should start with \"error:\" and end with \\n; it was {}.",
            show(&reply)
        )))
    }

    /// Expects the connection to close (after what was read so far), the
    /// client having sent `after`.
    fn expect_close(&mut self, after: &str) -> Result<(), String> {
        let ended = collect(&self.stream, &mut self.pending, WAIT, |_| false);
        let rest = std::mem::take(&mut self.pending);
        match ended {
            Ended::Closed if rest.is_empty() => Ok(()),
            Ended::Failed(_) if rest.is_empty() => Ok(()),
            Ended::Closed | Ended::Failed(_) | Ended::Enough => Err(self.fail(format!(
                "after {after}, more came before the connection closed: {}.",
                show(&rest)
            ))),
            Ended::TimedOut => {
                let seen = self.seen();
                let open = format!(
                    "{WAIT:?} after {after}, the connection was still open{}",
                    if rest.is_empty() {
                        String::new()
                    } else {
                        format!(" (and {} came)", show(&rest))
                    }
                );
                if seen.read_on_after_the_end > 0 {
                    return Err(format!(
                        "{open}: read returned 0, the end of the stream, and on_readable still \
                         asked for READABLE. No event comes after the end: the connection \
                         waits for ever.\nAt the end of the stream, answer what is left, \
                         write the replies, and then return None: the loop closes the socket."
                    ));
                }
                Err(self.fail(format!(
                    "{open}: once the client has closed its side and every reply is written \
                     (or after an error that ends the connection), return None, and the loop \
                     closes the socket. The poller was last told to wait for {}.",
                    describe(seen.interest)
                )))
            }
        }
    }
}

/// What the poller was told to wait for, in words.
fn describe(interest: Option<Interest>) -> String {
    match interest {
        None => "nothing".to_string(),
        Some(i) if i.is_readable() && i.is_writable() => "READABLE | WRITABLE".to_string(),
        Some(i) if i.is_writable() => "WRITABLE".to_string(),
        Some(_) => "READABLE".to_string(),
    }
}

pub fn answers_a_line_with_its_characters_reversed<C: 'static>(
    subject: Api<C>,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    client.send(b"Go Coding Ninjas.\n")?;
    client.expect_reversed("\"Go Coding Ninjas.\\n\"", "Go Coding Ninjas.")?;
    client.send("héllo wörld 🦀\r\n".as_bytes())?;
    client.expect_reversed("\"héllo wörld 🦀\\r\\n\"", "héllo wörld 🦀")?;
    client.send(b"\n")?;
    client.expect_reversed("an empty line", "")
}

pub fn several_lines_in_one_write_get_one_reply_each<C: 'static>(
    subject: Api<C>,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    client.send(b"one\ntwo\nthree\n")?;
    for (i, line) in ["one", "two", "three"].iter().enumerate() {
        let to = format!(
            "{}, the {} of three lines sent in one write",
            show_str(&format!("{line}\n")),
            ["first", "second", "third"][i]
        );
        client.expect_reversed(&to, line)?;
    }
    Ok(())
}

pub fn a_line_split_across_two_readable_events_gets_one_reply<C: 'static>(
    subject: Api<C>,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    let mut sent = 0;
    // Twice: the second piece is sent only once the connection has read
    // the first, so the two come in two readable events.
    for (first, second, line) in [
        ("Hello, ", "world\n", "Hello, world"),
        ("two ", "halves\n", "two halves"),
    ] {
        client.send(first.as_bytes())?;
        sent += first.len();
        client.wait_until_read(
            sent,
            &format!("the first piece of a line, {}", show_str(first)),
        )?;
        client.send(second.as_bytes())?;
        sent += second.len();
        let want = format!("{}\n", reversed(line));
        let to = format!(
            "{}, sent in two pieces ({} at one event, {} at the next)",
            show_str(&format!("{line}\n")),
            show_str(first),
            show_str(second)
        );
        let (reply, ended) = client.raw_reply();
        if reply == want.as_bytes() {
            continue;
        }
        if reply == format!("{}\n", reversed(second.trim_end())).as_bytes() {
            return Err(client.fail(format!(
                "the reply to {to} was {}: the reply to the second piece alone. The first \
                 piece, read at an earlier readable event, was lost.\nKeep the bytes of an \
                 unfinished line in your Connection (a field, such as a \
                 lessons::framing::LineBuffer), not in a variable of on_readable: that lives \
                 for one event only.",
                show(&reply)
            )));
        }
        if reply.starts_with(reversed(first).as_bytes()) {
            return Err(client.fail(format!(
                "your Connection answered the first piece of {to} on its own: the reply was \
                 {}.\nOne readable event may bring half a line: answer a line only once its \
                 \\n has come.",
                show(&reply)
            )));
        }
        return Err(client.explain(&to, want.as_bytes(), &reply, ended));
    }
    Ok(())
}

pub fn reads_until_wouldblock_at_every_readable_event<C: 'static>(
    subject: Api<C>,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    // One line of 900 bytes in one write: it comes in one event, and takes
    // four reads of the check's socket.
    let line = line_of(900);
    client.send(format!("{line}\n").as_bytes())?;
    client.expect_reversed("a line of 900 bytes sent in one write", &line)?;
    let seen = client.seen();
    if seen.stopped_before_would_block > 0 {
        return Err(format!(
            "on_readable returned, still asking for READABLE, before a read had said \
             WouldBlock ({}). Readiness is edge-triggered: bytes left unread get no \
             event of their own (this time the reply came anyway).\nRead in a loop until read \
             returns WouldBlock (or 0, the end of the stream).",
            plural(seen.stopped_before_would_block, "time", "times")
        ));
    }
    Ok(())
}

/// A line of `n` ASCII bytes that reads differently backwards.
fn line_of(n: usize) -> String {
    "abcdefghij".chars().cycle().take(n).collect()
}

pub fn a_reply_bigger_than_one_write_arrives_whole<C: 'static>(
    subject: Api<C>,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    let line = line_of(1000);
    client.send(format!("{line}\n").as_bytes())?;
    client.expect_reversed(
        &format!("a line of 1000 bytes (more than the {WRITE_CAP} bytes one write takes)"),
        &line,
    )?;
    // Five replies queued at once, written over several writable events.
    let lines: Vec<String> = (0..5).map(|i| format!("{i}{}", line_of(199))).collect();
    client.send(
        lines
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>()
            .as_bytes(),
    )?;
    for (i, line) in lines.iter().enumerate() {
        let to = format!("line {} of 5 lines of 200 bytes sent in one write", i + 1);
        client.expect_reversed(&to, line)?;
    }
    Ok(())
}

pub fn asks_for_writable_only_while_replies_wait<C: 'static>(
    subject: Api<C>,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    for line in ["ping", "pong", "ping again"] {
        client.send(format!("{line}\n").as_bytes())?;
        let to = show_str(&format!("{line}\n"));
        client.expect_reversed(&to, line)?;
        // Once the reply is out, the connection waits for the client only.
        let settled = client.wait_while_called(|seen| {
            seen.interest == Some(Interest::READABLE) || seen.ended.is_some()
        });
        let seen = client.seen();
        if !settled || seen.interest != Some(Interest::READABLE) {
            return Err(client.fail(format!(
                "after the reply to {to} was written whole, your Connection asked the poller \
                 for {}: with nothing left to write, ask for READABLE alone. Writable \
                 interest with nothing to write wakes the loop for nothing (and, with a \
                 level-triggered poller, never lets it sleep).",
                describe(seen.interest)
            )));
        }
    }
    Ok(())
}

pub fn a_line_that_is_not_utf8_gets_an_error_and_the_next_line_is_served<C: 'static>(
    subject: Api<C>,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    client.send(b"\xff\xfe not text\n")?;
    client.expect_error("a line that is not UTF-8")?;
    client.send(b"next\n")?;
    client.expect_reversed("the line after the one that is not UTF-8", "next")
}

pub fn a_line_over_the_limit_gets_an_error_and_the_connection_closes<C: 'static>(
    subject: Api<C>,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    // MAX_LINE + 1 bytes and no \n: the line is too long already.
    client.send(line_of(MAX_LINE + 1).as_bytes())?;
    let to = format!(
        "MAX_LINE + 1 = {} bytes without a \\n (Connection::new was given max_line = \
         {MAX_LINE})",
        MAX_LINE + 1
    );
    client.expect_error(&to)?;
    client.expect_close("the error for the line that is too long")
}

pub fn the_last_line_without_a_newline_is_answered_when_the_client_closes<C: 'static>(
    subject: Api<C>,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    client.send(b"tail")?;
    client.wait_until_read(4, "\"tail\"")?;
    client.close_our_side()?;
    let to = "\"tail\", the last line, without a \\n, before the client closed its side";
    let (reply, ended) = client.raw_reply();
    if reply.is_empty() && ended == Ended::Closed {
        return Err(client.fail(format!(
            "the connection closed without a reply to {to}: at the end of the stream, the \
             bytes of an unfinished line are a line too (as read_line hands them over): answer \
             them (LineBuffer::last_line), write the reply, then return None."
        )));
    }
    if reply != b"liat\n" {
        return Err(client.explain(to, b"liat\n", &reply, ended));
    }
    client.expect_close("the reply to the last line")
}

pub fn closes_once_the_client_has_closed_and_every_reply_is_written<C: 'static>(
    subject: Api<C>,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    client.send(b"ab\n")?;
    client.expect_reversed("\"ab\\n\"", "ab")?;
    // Two lines and the end of the stream at once: the replies are still
    // to be written when the end is read.
    let two = line_of(600);
    client.send(format!("{two}\nend\n").as_bytes())?;
    client.close_our_side()?;
    client.expect_reversed(
        "a line of 600 bytes sent just before the client closed",
        &two,
    )?;
    client.expect_reversed("\"end\\n\", sent just before the client closed", "end")?;
    client.expect_close("the client closed its side and got every reply")
}

// The checks above that are about lines, replayed over lesson 09's proxy:
// `works_when_every_byte_arrives_on_its_own` and
// `works_when_separate_messages_arrive_merged`.
over_the_wire!(events<C> Api<C> =>
    answers_a_line_with_its_characters_reversed,
    several_lines_in_one_write_get_one_reply_each,
    a_line_that_is_not_utf8_gets_an_error_and_the_next_line_is_served,
    the_last_line_without_a_newline_is_answered_when_the_client_closes,
    closes_once_the_client_has_closed_and_every_reply_is_written,
);
