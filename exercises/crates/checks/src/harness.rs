//! The tools every check uses so that it cannot hang and always says what
//! it saw: the code under test runs on a thread of its own and is waited for
//! with a deadline; a `todo!()` or any other panic becomes a message; sockets
//! get read timeouts; and the fakes behave like the real things they stand
//! for, and a check can be replayed over lesson 09's proxy ([`Wire`]). An
//! [`Output`] shows only what a terminal would show (a line once its
//! `\n` is written, the rest once it is flushed); a [`Keyboard`] hands over
//! only what was typed so far, and a read waits, as a person types.
//!
//! Every check first decides what it saw, then chooses its words: one
//! message per diagnosis, and where nothing explains a symptom, the plain
//! observation ("expected X, got Y"), never a guess.

use std::any::Any;
use std::cell::RefCell;
use std::io::{self, BufRead, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once};
use std::thread;
use std::time::{Duration, Instant};

use lessons::proxy::{self, Running, Toxics};
pub use socket_harness::{Ended, Subject, is_timeout, read_line, show, show_str, with_timeouts};

/// How long a check waits for any one thing (a reply, a thread to finish)
/// before it fails. Long for loopback, short enough to keep `cargo test` quick.
pub const WAIT: Duration = Duration::from_secs(2);

/// How long a check waits for a reply, or for a line to reach another
/// client, before it looks for why none came. A reply is an event, and
/// this bounds only code that never sends one: on a loaded two-core
/// machine (load average 12 to 14) the reference reverse answer once took
/// more than [`WAIT`] to answer a connection's first line, and the course's
/// room, through grade's relay, to pass a line on.
pub const REPLY: Duration = Duration::from_secs(5);

/// How long a check listens to be sure that nothing (more) arrives.
/// "Nothing happens" cannot be signalled, so this is the one kind of wait
/// that always runs to its end; checks keep it short and rare.
pub const QUIET: Duration = Duration::from_millis(150);

/// How long a check listens for bytes beyond what it expected, once those
/// have arrived: extra bytes (a whole buffer written instead of the bytes
/// read, a line end added) come with the rest, in the same write or right
/// after it.
pub const EXTRA: Duration = Duration::from_millis(30);

/// Locks a mutex, whether or not another thread panicked holding it: the
/// checks' own state stays readable after the code under test panicked.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The text of a panic, whatever type its payload has.
pub fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

/// Turns a panic of the code under test into a message. An untouched
/// exercise panics in its `todo!()`, whose message names the file to edit.
/// Other panics are reported as they are, where they happened; only what
/// the panic message itself proves is added.
pub fn explain_panic(what: &str, message: &str, at: Option<&str>) -> String {
    if let Some(task) = message.strip_prefix("not yet implemented: ") {
        return format!(
            "not done yet: {task}\n(`{what}` still runs its todo!(): replace it with your code)"
        );
    }
    let at = at.map(|at| format!(" at {at}")).unwrap_or_default();
    let why = if message.starts_with("called `Result::unwrap()` on an `Err` value: Any") {
        "\nA thread of yours panicked, and join().unwrap() passed its panic on: its own \
         message is printed above this one."
    } else if message.starts_with("called `Result::unwrap()` on an `Err` value") {
        "\nAn unwrap() met an error. An error is a normal outcome here: handle it (or return \
         it) instead of panicking."
    } else if message.starts_with("called `Option::unwrap()` on a `None` value") {
        "\nAn unwrap() met a None: that case happens here, so handle it."
    } else {
        ""
    };
    format!("`{what}` panicked{at}: {message}{why}")
}

thread_local! {
    /// Where the last panic on this thread happened, for [`explain_panic`].
    static PANICKED_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The threads that run code under test are named `checking ...`. A panic
/// there is caught and explained by the check, so the usual report (and its
/// backtrace) would only repeat it: keep its location and stay quiet.
/// Panics anywhere else are reported as usual.
fn quiet_panics_of_checked_code() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let usual = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let checked = thread::current()
                .name()
                .is_some_and(|n| n.starts_with("checking "));
            if checked {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                PANICKED_AT.with(|p| *p.borrow_mut() = at);
                return;
            }
            usual(info);
        }));
    });
}

/// How a task that was waited for turned out, if it did not simply finish.
pub enum Waited {
    /// It panicked; the message is already explained for the student.
    Panicked(String),
    /// It was still running when the wait ended.
    Running,
}

/// Code under test running on a thread of its own. Its outcome arrives on a
/// channel, so the check can wait for it with a deadline instead of joining.
pub struct Task<T> {
    what: &'static str,
    outcome: Receiver<Result<T, String>>,
    /// A copy of the panic message, if it panics: see [`Task::fail_fast`].
    panicked: Receiver<String>,
    /// When the task ended (returned or panicked), once it has.
    ended: Arc<Mutex<Option<Instant>>>,
}

/// Runs `f` on a new thread. `what` names the student's function in messages.
pub fn spawn<T, F>(what: &'static str, f: F) -> Task<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    spawn_ringing(what, &Bell::default(), f)
}

/// Like [`spawn`], and rings `bell` when the task ends, however it ends.
pub fn spawn_ringing<T, F>(what: &'static str, bell: &Bell, f: F) -> Task<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    quiet_panics_of_checked_code();
    let (tx, rx) = mpsc::channel();
    let (panic_tx, panic_rx) = mpsc::channel();
    let ended = Arc::new(Mutex::new(None));
    // The new thread's connections go over the same wire as this one's.
    let wire = this_wire();
    let spawned = thread::Builder::new()
        .name(format!("checking {what}"))
        .spawn({
            let tx = tx.clone();
            let ended = Arc::clone(&ended);
            let bell = bell.clone();
            move || {
                WIRE.with(|w| *w.borrow_mut() = wire);
                let outcome = panic::catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
                    let at = PANICKED_AT.with(|at| at.borrow_mut().take());
                    explain_panic(what, &panic_text(p.as_ref()), at.as_deref())
                });
                // Nobody may be listening any more (the check gave up): fine.
                if let Err(why) = &outcome {
                    let _ = panic_tx.send(why.clone());
                }
                let _ = tx.send(outcome);
                // Only now: once a check sees that the task ended, its
                // outcome is there to take.
                *lock(&ended) = Some(Instant::now());
                bell.ring();
            }
        });
    if let Err(e) = spawned {
        let _ = tx.send(Err(format!("the check could not start a thread: {e}")));
    }
    Task {
        what,
        outcome: rx,
        panicked: panic_rx,
        ended,
    }
}

impl<T> Task<T> {
    /// Waits up to `within` for the task to finish. The outcome is handed
    /// over once: after that, [`Task::ended_at`] still says when it ended.
    pub fn wait(&self, within: Duration) -> Result<T, Waited> {
        match self.outcome.recv_timeout(within) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(panicked)) => Err(Waited::Panicked(panicked)),
            Err(RecvTimeoutError::Timeout) => Err(Waited::Running),
            Err(RecvTimeoutError::Disconnected) => Err(Waited::Panicked(format!(
                "`{}` ended without a result",
                self.what
            ))),
        }
    }

    /// Fails at once if the task panics right away, as an untouched stub
    /// does in its `todo!()`, instead of letting the check wait for a reply
    /// that cannot come. (If the thread is slow to start, the check goes on
    /// and reports the panic later: only slower, never wrong.)
    pub fn fail_fast(&self) -> Result<(), String> {
        match self.panicked.recv_timeout(Duration::from_millis(30)) {
            Ok(why) => Err(why),
            Err(_) => Ok(()),
        }
    }

    /// When the task ended, if it has.
    pub fn ended_at(&self) -> Option<Instant> {
        *lock(&self.ended)
    }

    pub fn has_ended(&self) -> bool {
        self.ended_at().is_some()
    }

    pub fn what(&self) -> &'static str {
        self.what
    }
}

/// A doorbell that every part of a check rings when something changes (a
/// line was printed, the code under test read the keyboard, a fake server
/// heard a line, the code under test returned), so that the check can wait
/// for any condition over all of them at once, with a deadline, instead of
/// polling or sleeping.
#[derive(Clone, Default)]
pub struct Bell {
    shared: Arc<(Mutex<u64>, Condvar)>,
}

impl Bell {
    pub fn ring(&self) {
        let (rings, changed) = &*self.shared;
        *lock(rings) += 1;
        changed.notify_all();
    }

    /// Waits until `done()` holds, at most `within`; true if it held.
    /// `done` is evaluated again after every ring.
    pub fn wait_until(&self, within: Duration, mut done: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + on_a_wire_longer(within);
        let (rings, changed) = &*self.shared;
        loop {
            let seen = *lock(rings);
            if done() {
                return true;
            }
            let mut now = lock(rings);
            while *now == seen {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    drop(now);
                    return done();
                }
                now = changed
                    .wait_timeout(now, left)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        }
    }
}

/// A server under test: the student's function serving a listener the check
/// bound on 127.0.0.1 port 0, so checks never collide.
pub struct Server {
    pub addr: SocketAddr,
    task: Task<io::Result<()>>,
    /// How it ended, once the check has seen it: the first line of the
    /// message that says so.
    ended: Mutex<Option<String>>,
    /// The check's own handle on the listener it handed over, to see
    /// which connections are still waiting to be accepted.
    listener: Option<TcpListener>,
}

impl Server {
    pub fn start<F>(what: &'static str, serve: F) -> Result<Server, String>
    where
        F: FnOnce(TcpListener) -> io::Result<()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| format!("the check could not bind 127.0.0.1:0: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("the check could not read its port: {e}"))?;
        let ours = listener.try_clone().ok();
        let task = spawn(what, move || serve(listener));
        task.fail_fast()?;
        Ok(Server {
            addr,
            task,
            ended: Mutex::new(None),
            listener: ours,
        })
    }

    /// Whether the server has accepted `client`'s connection: `Some(false)`
    /// if it is still waiting in the listener's queue. A connection is
    /// complete (and can be written to) before the server accepts it, so
    /// only the queue can tell: the check accepts the oldest waiting
    /// connection itself (the queue hands them out in order), with probes
    /// of its own behind it so that there is one to take. Getting `client`
    /// back proves it was never accepted; getting a probe proves it was.
    /// (A server that accepts may take a probe first: then the next probe
    /// is the check's, since a waiting `accept` is served in turn. The pause
    /// between probes only decides how soon the answer comes, never what it
    /// is.) Over a [`Wire`] the server's peer is the proxy, whose address
    /// the check does not know: there, any connection that is not a probe
    /// counts as `client`'s (a replay's message is shown only when the same
    /// check passes on a direct connection, so this cannot mislead).
    pub fn accepted(&self, client: &TcpStream) -> Option<bool> {
        let listener = self.listener.as_ref()?.try_clone().ok()?;
        let client = client.local_addr().ok()?;
        let taking = spawn("the check's accept", move || {
            listener.accept().map(|(_, peer)| peer)
        });
        let deadline = Instant::now() + WAIT;
        let mut probes = Vec::new();
        while Instant::now() < deadline {
            let probe = TcpStream::connect_timeout(&self.addr, WAIT).ok()?;
            probes.push(probe.local_addr().ok()?);
            let _open_until_taken = probe;
            match taking.wait(Duration::from_millis(100)) {
                Ok(Ok(first)) if on_a_wire() => return Some(probes.contains(&first)),
                Ok(Ok(first)) => return Some(first != client),
                Ok(Err(_)) | Err(Waited::Panicked(_)) => return None,
                Err(Waited::Running) => {}
            }
        }
        // The server took every probe: it does accept. (The check's own
        // accept takes the next connection made, and then ends.)
        Some(true)
    }

    /// Connects a client with read and write timeouts of [`WAIT`].
    pub fn connect(&self) -> Result<TcpStream, String> {
        let stream = TcpStream::connect_timeout(&route(self.addr)?, WAIT)
            .map_err(|e| self.fail(format!("could not connect to your server: {e}")))?;
        with_timeouts(stream, WAIT)
    }

    /// If the server has stopped (returned or panicked), that is the real
    /// problem, whatever the check saw: say so. Otherwise report `saw`.
    pub fn fail(&self, saw: impl Into<String>) -> String {
        Subject::fail(self, saw)
    }

    /// `Ok` if the server is still running, after a short grace period.
    pub fn still_running(&self, after: &str) -> Result<(), String> {
        Subject::still_running(self, after)
    }
}

impl Subject for Server {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How the server ended, if it has within `within`, in words: the
    /// student's function returned or panicked.
    fn ended(&self, within: Duration) -> Option<String> {
        let mut ended = lock(&self.ended);
        if ended.is_none() {
            let what = self.task.what();
            *ended = match self.task.wait(within) {
                Err(Waited::Running) => None,
                Err(Waited::Panicked(why)) => Some(why),
                Ok(Ok(())) => Some(format!(
                    "`{what}` returned Ok(()) while clients were still coming: a server keeps \
                     serving, and returns only if accepting itself fails for good."
                )),
                Ok(Err(e)) => Some(format!(
                    "`{what}` returned Err({e}): an error of one client must end only that \
                     client, never the server.\nHandle it in that client's thread (log it), \
                     without unwrap() and without returning it from {what}."
                )),
            };
        }
        ended.clone()
    }
}

/// A connected pair of sockets on 127.0.0.1: (the check's end, the end given
/// to the student's code). Only the check's end has timeouts: the student's
/// code decides about its own, as a real program does (a chat may be quiet
/// for hours). It cannot block for good either way: when the check ends,
/// its end closes, and a read on the other end returns 0.
pub fn socket_pair() -> Result<(TcpStream, TcpStream), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("the check could not bind 127.0.0.1:0: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("the check could not read its port: {e}"))?;
    let via = route(addr)?;
    let ours = TcpStream::connect_timeout(&via, WAIT)
        .map_err(|e| format!("the check could not connect to itself: {e}"))?;
    let accepted = if via == addr {
        // The connection is already queued, so this accept returns at once.
        listener.accept()
    } else {
        // The proxy connects once it has accepted ours: wait for that with
        // a deadline, on a thread, since `accept` itself has no timeout.
        // The proxy is the course's own code, never the student's, so the
        // bound is long: on a loaded machine its threads may wait seconds
        // for a core (a 2 s bound failed a right answer once in 30 loaded
        // runs).
        let within = 5 * WAIT;
        let accepting = spawn("the check's accept", move || listener.accept());
        match accepting.wait(within) {
            Ok(accepted) => accepted,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("its proxy did not connect within {within:?}"),
            )),
        }
    };
    let (theirs, _) = accepted.map_err(|e| format!("the check could not accept: {e}"))?;
    Ok((with_timeouts(ours, WAIT)?, theirs))
}

// ANCHOR: wire
/// How the bytes travel between a check and the code under test.
///
/// On loopback every small write arrives whole, so code that takes one
/// `read` for one message seems to work there. Run over lesson 09's proxy,
/// the same check proves the framing instead of the luck: every byte
/// arrives on its own, or separate messages arrive as one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    /// Through the proxy, both ways, each byte its own write, 1 ms apart
    /// (longer than a waiting thread needs to wake up and read it), and
    /// 50 ms apart where a cut matters most: after the first byte of each
    /// message and inside a UTF-8 character. A busy machine may leave a
    /// reader waiting to run for longer than 1 ms, and it then reads several
    /// bytes at once; there, the reader surely reads before the next byte.
    OneByteAtATime,
    /// Through the proxy, both ways: what it reads it holds for 50 ms and
    /// then writes at once, so separate messages arrive as one.
    Merged,
}

impl Wire {
    /// What the proxy does in each direction.
    pub fn toxics(self) -> Toxics {
        match self {
            Wire::OneByteAtATime => Toxics {
                slice: Some(1),
                gap: Duration::from_millis(1),
                gap_at_cuts: Duration::from_millis(50),
                ..Toxics::default()
            },
            Wire::Merged => Toxics {
                merge: Some(Duration::from_millis(50)),
                ..Toxics::default()
            },
        }
    }

    /// What a replay over this wire does to the bytes, for messages.
    pub fn does(self) -> &'static str {
        match self {
            Wire::OneByteAtATime => "every byte arriving on its own",
            Wire::Merged => "separate messages merged into one",
        }
    }

    /// The first words of the message of a check that passes on a direct
    /// connection and fails over this wire.
    pub fn only_direct(self) -> &'static str {
        match self {
            Wire::OneByteAtATime => {
                "works when each message arrives in one piece; fails when it arrives one byte \
                 at a time"
            }
            Wire::Merged => {
                "works when each message arrives on its own; fails when separate messages \
                 arrive merged into one"
            }
        }
    }
}
// ANCHOR_END: wire

/// A wait for something that must happen ([`WAIT`] or longer), made twice
/// as long over a [`Wire`]: there every byte also passes a proxy, which on
/// a busy machine takes its own time. Only code that passed the same check
/// on a direct connection is replayed there ([`replayed_over_as`]), so the
/// longer wait is an upper bound that right answers never reach. Short
/// waits (for a silence) stay as they are.
fn on_a_wire_longer(within: Duration) -> Duration {
    if within >= WAIT && on_a_wire() {
        within * 2
    } else {
        within
    }
}

/// True while this thread's check runs over a [`Wire`].
pub fn on_a_wire() -> bool {
    this_wire().is_some()
}

/// How long a check replayed over a [`Wire`] gives the bytes already sent
/// to arrive before it judges what was received. Sliced, with its pauses at
/// the cuts, a check's line takes a few hundred milliseconds; this is the
/// most it waits (it stops as soon as they are there), as long as any
/// other wait for something that must happen.
pub const IN_FLIGHT: Duration = WAIT;

/// The wire of one check, and the proxies it has started.
struct Detour {
    wire: Wire,
    proxies: Mutex<Vec<Running>>,
}

thread_local! {
    /// The wire this thread's connections go over; `None`: direct.
    /// Threads started with [`spawn`] inherit it.
    static WIRE: RefCell<Option<Arc<Detour>>> = const { RefCell::new(None) };
}

fn this_wire() -> Option<Arc<Detour>> {
    WIRE.with(|w| w.borrow().clone())
}

/// Runs `f` with every connection it makes ([`socket_pair`],
/// [`Server::connect`], [`route`]) going over `wire`, then stops the proxies
/// it took.
pub fn over<T>(wire: Wire, f: impl FnOnce() -> T) -> T {
    let detour = Arc::new(Detour {
        wire,
        proxies: Mutex::new(Vec::new()),
    });
    let before = WIRE.with(|w| w.replace(Some(Arc::clone(&detour))));
    let result = f();
    WIRE.with(|w| *w.borrow_mut() = before);
    let proxies: Vec<Running> = lock(&detour.proxies).drain(..).collect();
    for proxy in proxies {
        proxy.stop();
    }
    result
}

/// The address to use for the check's own server (or the student's) at
/// `addr`: `addr` itself on a direct connection, else that of a proxy in
/// front of it, which misbehaves as this check's [`Wire`] says.
pub fn route(addr: SocketAddr) -> Result<SocketAddr, String> {
    let Some(detour) = this_wire() else {
        return Ok(addr);
    };
    let toxics = detour.wire.toxics();
    let proxy = proxy::start("127.0.0.1:0", &addr.to_string(), toxics.clone(), toxics)
        .map_err(|e| format!("the check could not start its proxy: {e}"))?;
    let via = proxy.addr();
    lock(&detour.proxies).push(proxy);
    Ok(via)
}

/// One check replayed over a [`Wire`]: its name, and its function.
pub type Replay<S> = (&'static str, fn(S) -> Result<(), String>);

/// Replays each check of `replays` over `wire`. Where one fails, it runs
/// again on a direct connection to tell the two cases apart: failing only
/// over the wire is a framing mistake and says so; failing both ways is the
/// check's own failure, and its message is repeated as it is (its first
/// line unchanged, so the first message a student reads names the cause).
pub fn replayed_over<S: Copy>(wire: Wire, subject: S, replays: &[Replay<S>]) -> Result<(), String> {
    replayed_over_as(Unit::Lines, wire, subject, replays)
}

/// What an exercise passes on: whole lines, or bytes as they come. It
/// decides what a replay's message may advise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Lines,
    Bytes,
    /// Lines, read by a state machine that is handed events (exercise 10):
    /// it may never wait for the rest of a line.
    Events,
}

/// [`replayed_over`] for an exercise whose unit is `unit`. Only framing
/// advice that fits the unit is given, and none where the check's own
/// message already names the cause as a missing flush (then the wire only
/// changed when the bytes came, and framing is not the fault).
pub fn replayed_over_as<S: Copy>(
    unit: Unit,
    wire: Wire,
    subject: S,
    replays: &[Replay<S>],
) -> Result<(), String> {
    for &(name, check) in replays {
        // Directly first: a check that fails there is that check's failure,
        // said once, at direct speed; only code that passes it is replayed
        // over the wire, where waits are longer ([`on_a_wire_longer`]).
        if let Err(direct) = check(subject) {
            return Err(format!(
                "{direct}\n\n(This check replays `{name}` with {}; it fails on a direct \
                 connection too, so fix that first.)",
                wire.does()
            ));
        }
        let Err(over_the_wire) = over(wire, || check(subject)) else {
            continue;
        };
        let flush = over_the_wire.contains("flush");
        let advice = if flush {
            // The check's own message names the cause (a missing flush):
            // the wire only changed when the bytes came.
            ""
        } else if unit == Unit::Events {
            " TCP keeps no message boundaries, so one readable event is not one message: \
             keep the bytes of an unfinished line in your Connection from one event to the \
             next (lessons::framing::LineBuffer), and decode whole lines, not pieces."
        } else if unit == Unit::Bytes {
            " TCP keeps no message boundaries, so one read is not one message: pass on \
             exactly the bytes each read returned, without decoding them as text or waiting \
             for more."
        } else {
            " TCP keeps no message boundaries, so one read is not one message: frame the \
             stream yourself (read up to the line end, with BufRead::read_line or \
             lessons::framing, and decode whole lines, not pieces)."
        };
        return Err(format!(
            "{}: `{name}` failed with this message:\n{over_the_wire}\n\nOn a direct \
             connection the same check passes. Over the wire the stream was cut into reads \
             differently (and its bytes came a few milliseconds later).{advice}",
            wire.only_direct()
        ));
    }
    Ok(())
}

/// [`socket_harness::collect`], with the longer waits of a [`Wire`]: reads
/// from `stream` into `into` until `enough(&bytes so far)` holds, the peer
/// closes, or `within` has passed.
pub fn collect(
    stream: &TcpStream,
    into: &mut Vec<u8>,
    within: Duration,
    enough: impl Fn(&[u8]) -> bool,
) -> Ended {
    socket_harness::collect(stream, into, on_a_wire_longer(within), enough)
}

/// [`socket_harness::nothing_arrives`], with the longer waits of a [`Wire`].
pub fn nothing_arrives(stream: &TcpStream, quiet: Duration) -> Result<(), String> {
    socket_harness::nothing_arrives(stream, on_a_wire_longer(quiet))
}

/// A text comparison for a failure message: a pretty_assertions diff.
pub fn diff<T: std::fmt::Debug + PartialEq>(expected: &T, actual: &T) -> String {
    // Comparison::new(left, right) shows left as `<` and right as `>`.
    format!("{}", pretty_assertions::Comparison::new(expected, actual))
}

/// Compares `actual` with `expected`; on a difference, explains with `why`
/// and a diff (`<` expected, `>` what your code did).
pub fn same<T: std::fmt::Debug + PartialEq>(
    expected: &T,
    actual: &T,
    why: impl FnOnce() -> String,
) -> Result<(), String> {
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "{}\n(< expected, > yours)\n{}",
            why(),
            diff(expected, actual)
        ))
    }
}

/// The number std gave a thread when it was spawned. Numbers are handed out
/// in order, by the thread that calls `spawn`, at the moment it calls it, so
/// comparing them tells which thread was spawned first. `None` if std ever
/// prints `ThreadId` differently (the checks then say less, never wrong).
pub fn thread_number(id: thread::ThreadId) -> Option<u64> {
    let debug = format!("{id:?}");
    debug
        .strip_prefix("ThreadId(")?
        .strip_suffix(')')?
        .parse()
        .ok()
}

/// The number of a thread spawned right now (see [`thread_number`]).
pub fn thread_number_now() -> Option<u64> {
    thread::spawn(|| thread_number(thread::current().id()))
        .join()
        .ok()
        .flatten()
}

/// What has been written to an [`Output`], and how much of it shows.
#[derive(Default)]
struct Screen {
    written: Vec<u8>,
    /// How many bytes of `written` a person would see: up to the last `\n`,
    /// or everything before the last flush.
    shown: usize,
}

/// An output the check can watch while the student's code writes to it,
/// which shows what a terminal shows with Rust's `Stdout` (line-buffered,
/// whether or not it is a terminal): a line once its `\n` is written, and
/// anything else only once it is flushed. Every change rings the bell.
#[derive(Clone, Default)]
pub struct Output {
    screen: Arc<Mutex<Screen>>,
    bell: Bell,
    /// Set by [`Output::break_down`]: every write fails from then on.
    broken: Arc<AtomicBool>,
}

impl Output {
    /// An output that rings `bell` whenever what it shows changes.
    pub fn ringing(bell: &Bell) -> Output {
        Output {
            screen: Arc::default(),
            bell: bell.clone(),
            broken: Arc::default(),
        }
    }

    /// Makes every later write and flush fail, as a closed terminal's or
    /// pipe's do (`BrokenPipe`).
    pub fn break_down(&self) {
        self.broken.store(true, Ordering::SeqCst);
    }

    /// Everything written so far, as bytes.
    pub fn bytes(&self) -> Vec<u8> {
        lock(&self.screen).written.clone()
    }

    /// What a person would see so far.
    pub fn text(&self) -> String {
        let screen = lock(&self.screen);
        String::from_utf8_lossy(&screen.written[..screen.shown]).into_owned()
    }

    /// Everything written so far, shown or not.
    pub fn written(&self) -> String {
        String::from_utf8_lossy(&lock(&self.screen).written).into_owned()
    }

    /// Waits until the text shown so far satisfies `done`, at most `within`.
    pub fn wait_for(&self, within: Duration, done: impl Fn(&str) -> bool) -> bool {
        self.bell.wait_until(within, || done(&self.text()))
    }
}

impl Output {
    fn check_broken(&self) -> io::Result<()> {
        if self.broken.load(Ordering::SeqCst) {
            self.bell.ring();
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the terminal was closed",
            ));
        }
        Ok(())
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check_broken()?;
        {
            let mut screen = lock(&self.screen);
            screen.written.extend_from_slice(buf);
            if let Some(last) = buf.iter().rposition(|&b| b == b'\n') {
                screen.shown = screen.written.len() - buf.len() + last + 1;
            }
        }
        self.bell.ring();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.check_broken()?;
        {
            let mut screen = lock(&self.screen);
            screen.shown = screen.written.len();
        }
        self.bell.ring();
        Ok(())
    }
}

/// A keyboard the check types on: the student's code reads it as a
/// `BufRead`. What was typed is handed over in order; when nothing is left,
/// a read *waits*, like a terminal, until more is typed or the keyboard is
/// closed (then it is the end of input).
pub struct Keyboard {
    typed: Receiver<Vec<u8>>,
    current: io::Cursor<Vec<u8>>,
    state: Arc<KeyboardState>,
}

#[derive(Default)]
struct KeyboardState {
    /// True while the code under test is blocked waiting for more input.
    waiting: AtomicBool,
    /// How many bytes the code under test has taken from the keyboard.
    taken: AtomicUsize,
    /// True once the code under test has read the end of input.
    saw_end: AtomicBool,
    bell: Bell,
}

/// The check's side of a [`Keyboard`].
pub struct Typist {
    keys: Option<Sender<Vec<u8>>>,
    typed: usize,
    state: Arc<KeyboardState>,
}

/// A keyboard whose every read, wait and hand-over rings `bell`.
pub fn keyboard_ringing(bell: &Bell) -> (Typist, Keyboard) {
    let (tx, rx) = mpsc::channel();
    let state = Arc::new(KeyboardState {
        bell: bell.clone(),
        ..KeyboardState::default()
    });
    (
        Typist {
            keys: Some(tx),
            typed: 0,
            state: Arc::clone(&state),
        },
        Keyboard {
            typed: rx,
            current: io::Cursor::new(Vec::new()),
            state,
        },
    )
}

pub fn keyboard() -> (Typist, Keyboard) {
    keyboard_ringing(&Bell::default())
}

impl Typist {
    pub fn type_text(&mut self, text: &str) {
        if let Some(keys) = &self.keys {
            self.typed += text.len();
            // The reader may be gone already (the code under test returned).
            let _ = keys.send(text.as_bytes().to_vec());
        }
    }

    /// Types raw bytes: half a character, or bytes that are not UTF-8.
    pub fn type_bytes(&mut self, bytes: &[u8]) {
        if let Some(keys) = &self.keys {
            self.typed += bytes.len();
            let _ = keys.send(bytes.to_vec());
        }
    }

    /// Ends the input, like Ctrl-D in a terminal or the end of a piped file.
    pub fn close(&mut self) {
        self.keys = None;
    }

    pub fn is_closed(&self) -> bool {
        self.keys.is_none()
    }

    /// True while the code under test is blocked waiting for more input.
    pub fn is_waited_on(&self) -> bool {
        self.state.waiting.load(Ordering::SeqCst)
    }

    /// True once the code under test has taken everything typed so far.
    pub fn all_taken(&self) -> bool {
        self.state.taken.load(Ordering::SeqCst) >= self.typed
    }

    /// True once the code under test has read the end of input.
    pub fn saw_end(&self) -> bool {
        self.state.saw_end.load(Ordering::SeqCst)
    }

    /// How many bytes the code under test has taken from the keyboard.
    pub fn taken(&self) -> usize {
        self.state.taken.load(Ordering::SeqCst)
    }
}

impl Read for Keyboard {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Keyboard {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.current.position() as usize >= self.current.get_ref().len() {
            self.state.waiting.store(true, Ordering::SeqCst);
            self.state.bell.ring();
            let next = self.typed.recv();
            self.state.waiting.store(false, Ordering::SeqCst);
            self.state.bell.ring();
            match next {
                Ok(bytes) => self.current = io::Cursor::new(bytes),
                Err(_) => {
                    // The typist closed the keyboard: the end of input.
                    self.state.saw_end.store(true, Ordering::SeqCst);
                    self.state.bell.ring();
                    return Ok(&[]);
                }
            }
        }
        let start = self.current.position() as usize;
        Ok(&self.current.get_ref()[start..])
    }

    fn consume(&mut self, amount: usize) {
        let position = self.current.position() + amount as u64;
        self.current.set_position(position);
        self.state.taken.fetch_add(amount, Ordering::SeqCst);
        self.state.bell.ring();
    }
}

/// "1 line" or "3 lines".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}
