//! One connection through the proxy: two sockets, two threads, one per
//! direction, and the rules for how a direction ends.
//!
//! The client's connection and the proxy's own connection to the server are
//! two separate TCP connections. Nothing passes from one to the other unless
//! the proxy copies it, and that includes the end: when the client says "I
//! have nothing more to send" (a FIN: `read` returns 0), the proxy must say
//! the same to the server, with `shutdown(Write)`, and keep the other
//! direction running, because the server may still be answering. Closing
//! both at the first end of stream would cut that answer off.

use std::io;
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use super::misbehave::{Limit, Sink, Source, Toxics};
use super::{Admitted, Direction, Heard, Log, Tap, wire};
use crate::cli;

/// The stack of each connection thread. A pump needs little: `io::copy`'s
/// 8 KiB buffer and a line of log. std's default is 2 MiB.
pub(super) const STACK: usize = 128 * 1024;

/// Where a connection is in its life. It only ever moves down this list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum State {
    /// Both directions forward.
    Open,
    /// An error in one direction: its receiver was shut down, and the other
    /// direction forwards what it still holds until its own end.
    Failed,
    /// `--close-after`: both sides were sent a FIN; what still arrives is
    /// read and dropped until each side closes too.
    Closing,
    /// `--reset-after`: the sender's connection is about to be closed with
    /// its bytes unread, which makes the system send an RST.
    Resetting,
    /// A second error, or the proxy stopping: both sides are shut down.
    Closed,
}

impl State {
    /// Whether the directions still forward what they read: after a failure
    /// in one direction, the other still delivers what it holds.
    fn forwards(self) -> bool {
        matches!(self, State::Open | State::Failed)
    }
}

/// The two sockets of one connection, shared by its two threads.
///
/// `Read` and `Write` are implemented for `&TcpStream`, so both threads use
/// the same two sockets through a shared reference: one reads the client
/// and writes the server, the other reads the server and writes the client.
/// No `try_clone` is needed, and when the `Link` is dropped each socket is
/// closed exactly once.
pub(super) struct Link {
    pub(super) id: u64,
    pub(super) client: TcpStream,
    pub(super) server: TcpStream,
    pub(super) started: Instant,
    state: Mutex<State>,
    /// The peer whose error came first, named by the direction it sends
    /// (`Up`: the client; `Down`: the server). See [`Link::first_error`].
    first_error: Mutex<Option<Direction>>,
    /// Wakes the pauses of `--delay`, `--gap` and `--rate` when the state
    /// changes, so that closing a connection never waits for them.
    changed: Condvar,
}

impl Link {
    pub(super) fn new(id: u64, client: TcpStream, server: TcpStream, started: Instant) -> Link {
        Link {
            id,
            client,
            server,
            started,
            state: Mutex::new(State::Open),
            first_error: Mutex::new(None),
            changed: Condvar::new(),
        }
    }

    /// The socket a direction reads from and the one it writes to.
    fn sockets(&self, dir: Direction) -> (&TcpStream, &TcpStream) {
        match dir {
            Direction::Up => (&self.client, &self.server),
            Direction::Down => (&self.server, &self.client),
        }
    }

    pub(super) fn state(&self) -> State {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves to `new` if that is further down the list; true if it did.
    fn enter(&self, new: State) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if *state >= new {
            return false;
        }
        *state = new;
        self.changed.notify_all();
        true
    }

    /// Notes that the peer sending `dir` failed, and returns the peer whose
    /// error came first: this one, or the other if its error came before.
    ///
    /// A reset read from one side is that peer's own only if the link had
    /// not already failed because of the other. Once the other side fails,
    /// [`Link::fail`] shuts this side's socket for reading, and both ways if
    /// it is the failed direction's receiver. A byte that this peer sends
    /// after that makes the proxy's own system reset the connection (RFC
    /// 1122: data after a shutdown for reading, once the FIN is out, is
    /// answered with an RST). The read then fails with "connection reset",
    /// though the peer did nothing wrong: the client vanished while an echo
    /// server was still echoing.
    fn first_error(&self, peer: Direction) -> Direction {
        *self
            .first_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(peer)
    }

    /// Waits until `until`, or less if the connection stops forwarding.
    /// True if it still forwards.
    pub(super) fn pause_until(&self, until: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if !state.forwards() || left.is_zero() {
                return state.forwards();
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// [`Link::pause_until`] for a length of time.
    pub(super) fn pause(&self, wait: Duration) -> bool {
        self.pause_until(Instant::now() + wait)
    }

    // ANCHOR: close
    /// An error in one direction (a reset, a write to a peer that has gone)
    /// ends the connection, but not before the other direction has passed
    /// on what it already holds. A server that says "error: ..." and then
    /// resets us has its last words in our receive buffer, in order, before
    /// the reset: they must still reach the client.
    ///
    /// So the receiver of the failed direction is shut down both ways: a
    /// FIN tells that peer the connection is over, and on Linux the other
    /// thread's blocked `read` of it returns at once (it gets what is
    /// queued, then the end). Elsewhere (Windows) that read returns when
    /// the peer answers the FIN by closing, as peers do, so nothing relies
    /// on the wake-up. The sender is only shut for reading: the other
    /// direction may still have to write to it.
    pub(super) fn fail(&self, dir: Direction) {
        if self.enter(State::Failed) {
            let (sender, receiver) = self.sockets(dir);
            let _ = receiver.shutdown(Shutdown::Both);
            let _ = sender.shutdown(Shutdown::Read);
        } else {
            // A second failure, or one while closing on purpose: nothing
            // is left to deliver.
            self.close();
        }
    }
    // ANCHOR_END: close

    /// The proxy is stopping: both sides are shut down at once, and each
    /// peer is sent a FIN.
    pub(super) fn close(&self) {
        if self.enter(State::Closed) {
            let _ = self.client.shutdown(Shutdown::Both);
            let _ = self.server.shutdown(Shutdown::Both);
        }
    }

    /// `--close-after`: a FIN to both sides, as a program that hangs up does.
    fn close_early(&self) {
        if self.enter(State::Closing) {
            let _ = self.client.shutdown(Shutdown::Write);
            let _ = self.server.shutdown(Shutdown::Write);
        }
    }

    /// `--reset-after`: the receiver of `dir` gets a clean close now (which
    /// also wakes the other thread, blocked reading it); the sender's socket
    /// is left alone, with bytes unread, until the `Link` is dropped.
    fn reset(&self, dir: Direction) {
        if self.enter(State::Resetting) {
            let (_, receiver) = self.sockets(dir);
            let _ = receiver.shutdown(Shutdown::Both);
        }
    }
}

/// What one direction did, for the connection's last log line.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Pumped {
    pub(super) forwarded: u64,
    pub(super) dropped: u64,
}

// ANCHOR: pump
/// Copies one direction of a connection until it ends, then passes the end
/// on. Returns what was forwarded and dropped.
fn pump(
    link: &Link,
    dir: Direction,
    toxics: &Toxics,
    log: Log,
    plain: bool,
    tap: Option<&Tap>,
) -> Pumped {
    let (mut from, mut to) = link.sockets(dir);
    // Whether a failure came from writing: else the sender's side failed.
    let mut write_failed = false;
    let (copied, limit, dropped) = if plain {
        // The whole proxy, when it only forwards: std's `io::copy` reads
        // and writes until the end of the stream.
        let copied = match tap {
            None => io::copy(&mut from, &mut to),
            Some(tap) => {
                let mut tapped = Tapped {
                    to,
                    tap,
                    link,
                    dir,
                    failed: false,
                };
                let copied = io::copy(&mut from, &mut tapped);
                write_failed = tapped.failed;
                copied
            }
        };
        (copied, None, 0)
    } else {
        // Misbehaving: the same `io::copy`, between two wrappers.
        let mut source = Source::new(from, link, toxics);
        let mut sink = Sink::new(to, link, dir, toxics, log == Log::Wire);
        let copied = io::copy(&mut source, &mut sink).map(|_| sink.written);
        (copied, source.limit, sink.dropped)
    };
    let mut done = Pumped {
        forwarded: 0,
        dropped,
    };
    if let (true, Some(tap)) = (plain, tap) {
        match &copied {
            Ok(_) => tap(link.id, dir, Heard::End),
            Err(e) => {
                // The sender's error, or the receiver's (a write failed).
                let peer = if write_failed { dir.other() } else { dir };
                let first = link.first_error(peer);
                if !write_failed && e.kind() == io::ErrorKind::ConnectionReset && first == dir {
                    tap(link.id, dir, Heard::Reset(e))
                } else {
                    tap(link.id, dir, Heard::Failed(e))
                }
            }
        }
    }
    done.forwarded = match copied {
        Ok(n) => n,
        Err(e) => {
            // A failure after the link stopped being open is the echo of
            // that (a shut-down socket, a cut pause): nothing to report.
            if link.state() == State::Open {
                if log != Log::Quiet {
                    crate::log_line!(
                        "#{} {}: {}; closing both sides",
                        link.id,
                        dir.name(),
                        cli::describe(&e)
                    );
                }
                link.fail(dir);
            }
            return done;
        }
    };
    let event = |what: &str| {
        if log != Log::Quiet {
            let at = link.started.elapsed();
            let line = wire::event(at, link.id, dir, done.forwarded, what);
            crate::log_line!("{line}");
        }
    };
    match limit {
        None => end_of_stream(link, dir, to, log, done.forwarded),
        Some(Limit::Stall) => {
            event("stalled (--stall-after): dropping what follows, keeping the connection open");
            done.dropped += discard(from);
            // The sender has finished. That may be only a half-close (the
            // client said all it will say and waits for the last words), so
            // pass the end on as any end of stream is: the receiver learns
            // that nothing more comes, and ends the connection itself (which
            // frees its slot of --max-connections), while the other
            // direction carries its answer to the end.
            end_of_stream(link, dir, to, log, done.forwarded);
        }
        // Wait for one more byte from the sender without taking it.
        Some(Limit::Reset) => match from.peek(&mut [0u8]) {
            Ok(0) => end_of_stream(link, dir, to, log, done.forwarded),
            Ok(_) => {
                event(&format!(
                    "reset (--reset-after): RST to the {}, clean close to the {}",
                    dir.sender(),
                    dir.receiver()
                ));
                link.reset(dir);
            }
            Err(_) => link.fail(dir),
        },
        Some(Limit::Close) => {
            event("closing both sides (--close-after)");
            link.close_early();
            done.dropped += discard(from);
        }
    }
    done
}
// ANCHOR_END: pump

/// The writing end of a direction, telling a [`Tap`] what it writes.
struct Tapped<'a> {
    to: &'a TcpStream,
    tap: &'a Tap,
    link: &'a Link,
    dir: Direction,
    /// A write failed: the failure of the copy is the receiver's.
    failed: bool,
}

impl io::Write for Tapped<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self
            .to
            .write(buf)
            .inspect_err(|e| self.failed |= e.kind() != io::ErrorKind::Interrupted)?;
        (self.tap)(self.link.id, self.dir, Heard::Bytes(&buf[..n]));
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.to.flush()
    }
}

// ANCHOR: end_of_stream
/// The sender has finished (its `read` returned 0): tell the receiver with a
/// half-close, `shutdown(Write)`. The other direction goes on: the receiver
/// may still be sending, and its bytes must still arrive.
fn end_of_stream(link: &Link, dir: Direction, to: &TcpStream, log: Log, offset: u64) {
    if !link.state().forwards() {
        return; // the end came from the proxy itself; nothing to pass on
    }
    // Say it before doing it. Once the half-close is out, the receiver may
    // answer it at once (by closing too), and the other direction's thread
    // would print that answer first if this line were still to be queued.
    if log == Log::Wire {
        let at = link.started.elapsed();
        let what = "end of stream: passed on as a half-close";
        crate::log_line!("{}", wire::event(at, link.id, dir, offset, what));
    }
    if to.shutdown(Shutdown::Write).is_err() {
        // The receiver is gone: nobody is left to talk to.
        if log != Log::Quiet {
            crate::log_line!(
                "#{} {}: the {} is gone; closing both sides",
                link.id,
                dir.name(),
                dir.receiver()
            );
        }
        link.fail(dir);
    }
}
// ANCHOR_END: end_of_stream

/// Reads and drops everything until the end of the stream (or until the
/// connection is closed), and returns how many bytes that was.
fn discard(mut from: &TcpStream) -> u64 {
    io::copy(&mut from, &mut io::sink()).unwrap_or(0)
}

// ANCHOR: connection
/// Serves one client: connects to the server, then runs the two directions
/// at once, `up` on this thread and `down` on a second one.
pub(super) fn connection(admitted: Admitted, id: u64, client: TcpStream, started: Instant) {
    let shared = Arc::clone(&admitted.0);
    let proxy = &shared.proxy;
    let log = proxy.log;
    let server = match cli::connect(&proxy.to, proxy.connect_timeout) {
        Ok(server) => server,
        Err(e) => {
            if log != Log::Quiet {
                crate::log_line!(
                    "#{id} {}; closing the client's connection",
                    cli::describe(&e)
                );
            }
            return;
        }
    };
    link(admitted, id, client, server, started);
}

/// Forwards between a client and a server already connected, both
/// directions at once, until both have ended.
pub(super) fn link(
    admitted: Admitted,
    id: u64,
    client: TcpStream,
    server: TcpStream,
    started: Instant,
) {
    let shared = Arc::clone(&admitted.0);
    let proxy = &shared.proxy;
    let log = proxy.log;
    if let Err(e) = prepare(&client, &server) {
        if log != Log::Quiet {
            crate::log_line!("#{id} {}; closing both sides", cli::describe(&e));
        }
        return;
    }
    let link = Arc::new(Link::new(id, client, server, started));
    if !shared.registry.add(&link) {
        return; // the proxy is stopping
    }
    // Both directions forward untouched: plain `io::copy` on the sockets.
    let plain = proxy.up.is_none() && proxy.down.is_none() && log != Log::Wire;
    // A tap hears only a proxy that forwards plainly.
    let tap = shared.tap.as_ref();
    let (up, down) = thread::scope(|s| {
        let down = thread::Builder::new()
            .name(format!("#{id} down"))
            .stack_size(STACK)
            .spawn_scoped(s, || {
                pump(&link, Direction::Down, &proxy.down, log, plain, tap)
            });
        let down = match down {
            Ok(down) => down,
            Err(e) => {
                crate::log_error!("#{id} cannot start a thread: {e}; closing both sides");
                link.close();
                return (Pumped::default(), Pumped::default());
            }
        };
        let up = pump(&link, Direction::Up, &proxy.up, log, plain, tap);
        (up, down.join().unwrap_or_default())
    });
    shared.registry.remove(id);
    // The place goes back before the word "closed" is out: whoever reads
    // that line and connects again must find it free.
    drop(admitted);
    if log != Log::Quiet {
        crate::log_line!("#{id} closed: {}", summary(up, down));
    }
    // Dropping the last `Arc<Link>` closes both sockets. After a reset,
    // the sender's socket still holds bytes nobody read: the system
    // answers this close with an RST instead of a FIN.
}
// ANCHOR_END: connection

/// The proxy's two sockets of a connection: no timeouts (a connection may be
/// quiet for an hour; `cli::connect` set some) and no Nagle delay.
fn prepare(client: &TcpStream, server: &TcpStream) -> io::Result<()> {
    server.set_read_timeout(None)?;
    server.set_write_timeout(None)?;
    // Without this, the system may hold a small write back while an earlier
    // one is unacknowledged (Nagle's algorithm) and glue the pieces of
    // `--slice` together again; with it, each write leaves at once.
    client.set_nodelay(true)?;
    server.set_nodelay(true)
}

/// `7 bytes up, 7 bytes down`, and what was dropped, if anything.
fn summary(up: Pumped, down: Pumped) -> String {
    let mut text = format!("{} bytes up, {} bytes down", up.forwarded, down.forwarded);
    for (dir, pumped) in [(Direction::Up, up), (Direction::Down, down)] {
        if pumped.dropped > 0 {
            text += &format!("; {} bytes {} dropped", pumped.dropped, dir.name());
        }
    }
    text
}
