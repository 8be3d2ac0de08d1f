//! Lesson 07: a bounded pool of worker threads.
//!
//! Lesson 03 starts a thread for every client. That is simple and fast, but
//! every thread costs memory (its stack in the process, and a kernel stack
//! and bookkeeping in the system), so a thousand idle clients mean a
//! thousand sleeping threads. A pool starts a fixed number of workers once,
//! and the accept loop hands them connections through a channel, as in the
//! Rust Book's final chapter. The server's user space then stays flat
//! however many clients come; the kernel still holds a socket and buffers
//! per queued connection. The price: when every worker is busy, the next
//! client waits, and an idle client holds a worker as surely as a busy one
//! does. `--idle-timeout` is the usual remedy.
//!
//! The pool serves the lesson 03 protocol with the lesson 03 code
//! ([`reverse::serve_lines`]): only *who runs it* changes.

use std::io::{self, BufRead, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::deadline::Deadline;
use crate::framing::{self, LineError};
use crate::{cli, reverse};

/// The default number of workers: as many clients as are served at once.
pub const DEFAULT_WORKERS: usize = 4;

/// The most workers the server accepts. Each worker is a thread: a task in
/// the kernel and four memory mappings (its stack and the stack's guard
/// page, and the small stack std gives every thread for signal handlers,
/// with its own guard page).
/// `--workers 65535` ran into Linux's limit of 65 530 mappings per process
/// (`vm.max_map_count`), and the process aborted when it could no longer
/// allocate memory. A pool of more than a thousand workers is a thread per
/// client in disguise: lesson 03 does that job.
pub const MAX_WORKERS: usize = 1024;

/// The default number of accepted connections that may wait for a worker:
/// as many as lesson 05 lets in at once. More are told `server busy` at
/// once, rather than left waiting with no answer and no end in sight.
pub const DEFAULT_QUEUE: usize = 64;

/// The longest queue the server accepts. A bounded channel allocates room
/// for all of its places when it is made (`--queue 1000000000000` asked for
/// 16 TB and aborted), and each connection waiting in it holds a file
/// descriptor, of which a process may open 1 024 to 65 536 on most systems
/// (`ulimit -n`).
pub const MAX_QUEUE: usize = 65_536;

// ANCHOR: stack_size
/// The stack each worker asks for: 256 KiB instead of std's default of 2 MiB.
///
/// A worker's deepest call chain is short: read a line into a heap buffer,
/// reverse it into another, write it, log a line. Every path of it (64 KiB
/// lines, invalid UTF-8, a line over the limit, the idle timeout) works on
/// a 32 KiB stack, in debug and release builds (`--stack-kib 32`, the
/// smallest the server accepts; a test checks it, and on Linux reads from
/// `/proc` the stack the worker really got). 256 KiB leaves a margin of 8
/// for changes to this code and for other systems.
///
/// What a thread asks for is not always what it gets. std never asks the
/// system for less than its minimum, and on Linux with glibc that minimum is
/// `PTHREAD_STACK_MIN` (16 KiB on x86-64, 128 KiB on 64-bit Arm) *plus* the
/// thread-local storage and a page, because glibc keeps a thread's
/// thread-local storage and its own bookkeeping at the top of the stack.
/// Asked for 16 KiB, a worker of this server got 28 KiB on x86-64 Linux.
/// A request below the minimum is raised without a word.
///
/// What a smaller stack does *not* save is memory in use: a stack is
/// reserved address space, and only the pages a thread touches become
/// resident. Lesson 03 with 1 000 clients measured the same 16 MiB
/// resident with 2 MiB, 256 KiB and 64 KiB stacks; only its address space
/// shrank (from 2.9 GiB to 1.2 GiB). That matters on 32-bit systems and
/// where the system refuses to overcommit memory. A thread that outgrows
/// its stack hits a guard page, and the whole process stops with "thread
/// 'worker 3' has overflowed its stack": loudly, never silently.
pub const WORKER_STACK: usize = 256 * 1024;
// ANCHOR_END: stack_size

/// The smallest `--stack-kib`: every path of a worker runs on it (see
/// [`WORKER_STACK`]), and on x86-64 Linux it is above std's minimum, so it
/// is what a worker really gets.
pub const MIN_STACK_KIB: usize = 32;

/// The largest `--stack-kib`: 64 MiB, 256 times the default. Larger stacks
/// only reserve more address space for no use, and a thread whose stack
/// cannot be reserved does not start.
pub const MAX_STACK_KIB: usize = 64 * 1024;

// ANCHOR: console_help
/// The console's commands, shown by `/help` and at the end of `--help`.
pub const CONSOLE_HELP: &str = "\
Console commands (type them in the server's terminal):
  /help   list these commands
  /quit   stop gracefully: clients still waiting are told, the clients
          being served are disconnected, and every worker is joined.
          Ctrl-D at a terminal, Ctrl-C and SIGTERM do the same. A stdin
          that is not a terminal and ends (< /dev/null, nohup) does not.";
// ANCHOR_END: console_help

/// The longest console line read as a command. A longer one is skipped.
const CONSOLE_MAX_LINE: usize = 1024;

/// How many turned-away clients may wait for the doorman (see
/// [`Pool::turn_away`]) before the next one is closed at once.
const DOORMAN_QUEUE: usize = 64;

/// How the pool serves its clients.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// The number of worker threads: how many clients are served at once.
    pub workers: usize,
    /// How many accepted connections may wait for a free worker. The next
    /// one is told `error: server busy` and closed.
    pub queue: usize,
    /// The longest line accepted, in bytes.
    pub max_line: usize,
    /// Drop a client that sends nothing (or reads nothing) for this long.
    pub idle_timeout: Option<Duration>,
    /// The stack size each worker asks for, in bytes.
    pub stack_size: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            workers: DEFAULT_WORKERS,
            queue: DEFAULT_QUEUE,
            max_line: framing::DEFAULT_MAX_LINE,
            idle_timeout: None,
            stack_size: WORKER_STACK,
        }
    }
}

/// What a worker does with each connection it takes: in the server,
/// lesson 03's `serve_lines`. A job that fails returns its error; a job
/// that panics is a bug, caught by its worker (see [`worker_loop`]).
type Job = dyn Fn(TcpStream) -> io::Result<()> + Send + Sync;

/// What the workers share.
struct Shared {
    // ANCHOR: receiver
    /// The receiving end of the channel of connections. `mpsc` has a single
    /// receiver, so the workers take turns with it behind a mutex.
    queue: Mutex<Receiver<TcpStream>>,
    // ANCHOR_END: receiver
    /// Set when the pool shuts down: connections still queued are turned away.
    stopping: AtomicBool,
    /// The connection each worker is serving (by worker index), so that
    /// shutting down can close them and wake the workers blocked on them.
    serving: Mutex<Vec<Option<TcpStream>>>,
    job: Box<Job>,
}

/// A fixed set of worker threads fed with connections through a channel.
pub struct Pool {
    /// `Some` while the pool accepts connections. Dropping it is how the
    /// workers learn there will be no more.
    sender: Option<SyncSender<TcpStream>>,
    workers: Vec<Worker>,
    /// Clients to turn away, for the doorman thread; `None` once stopped.
    refusals: Option<SyncSender<(TcpStream, Refused)>>,
    doorman: Option<Worker>,
    shared: Arc<Shared>,
    /// Every thread of the pool sends its index here when it ends (see
    /// [`Exit`]). In a mutex only so that `&Pool` can be shared with the
    /// accept loop's thread.
    exited: Mutex<Receiver<usize>>,
}

struct Worker {
    id: usize,
    name: String,
    handle: JoinHandle<()>,
}

/// Why a client is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Every worker is busy and the queue is full.
    Busy,
    /// The pool is shutting down.
    Closed,
}

impl Refused {
    /// The last line the client gets.
    pub fn line(self) -> &'static str {
        match self {
            Refused::Busy => "error: server busy, try again later",
            Refused::Closed => "error: server shutting down",
        }
    }
}

impl Pool {
    /// Starts the workers, each running `job` for one connection after
    /// another, and the doorman. A worker that cannot be started is
    /// reported and skipped; only if none starts is it an error.
    pub fn start(
        config: &Config,
        job: impl Fn(TcpStream) -> io::Result<()> + Send + Sync + 'static,
    ) -> io::Result<Pool> {
        // ANCHOR: channel
        // A *bounded* channel: at most `queue` connections wait for a
        // worker. The accept loop uses `try_send`, so it never blocks here.
        let (sender, receiver) = mpsc::sync_channel::<TcpStream>(config.queue);
        // ANCHOR_END: channel
        let shared = Arc::new(Shared {
            queue: Mutex::new(receiver),
            stopping: AtomicBool::new(false),
            serving: Mutex::new((0..config.workers).map(|_| None).collect()),
            job: Box::new(job),
        });
        let (exit_tx, exited) = mpsc::channel();
        let mut workers = Vec::with_capacity(config.workers);
        for id in 0..config.workers {
            // ANCHOR: builder
            // `thread::Builder` rather than `thread::spawn`: it names the
            // thread (panic messages and debuggers show "worker 3"), sets the
            // stack size, and returns an error instead of panicking when the
            // system cannot start another thread.
            let name = format!("worker {id}");
            let spawned = thread::Builder::new()
                .name(name.clone())
                .stack_size(config.stack_size)
                .spawn({
                    let shared = Arc::clone(&shared);
                    let exit = Exit {
                        id,
                        tx: exit_tx.clone(),
                    };
                    move || {
                        let _exit = exit; // reports this worker's end, even on a panic
                        worker_loop(id, &shared);
                    }
                });
            match spawned {
                Ok(handle) => workers.push(Worker { id, name, handle }),
                Err(e) => crate::log_error!("worker {id} could not start: {e}"),
            }
            // ANCHOR_END: builder
        }
        if workers.is_empty() {
            return Err(io::Error::other(format!(
                "could not start any of the {} workers",
                config.workers
            )));
        }
        if workers.len() < config.workers {
            crate::log_error!(
                "running with {} of {} workers",
                workers.len(),
                config.workers
            );
        }
        let (refusals, doorman) = start_doorman(config.workers, config.stack_size, exit_tx)?;
        Ok(Pool {
            sender: Some(sender),
            workers,
            refusals: Some(refusals),
            doorman: Some(doorman),
            shared,
            exited: Mutex::new(exited),
        })
    }

    /// How many workers are running.
    pub fn size(&self) -> usize {
        self.workers.len()
    }

    /// Hands a connection to the workers, or gives it back if the queue is
    /// full or the pool is closed. Never blocks.
    pub fn submit(&self, stream: TcpStream) -> Result<(), (Refused, TcpStream)> {
        let Some(sender) = &self.sender else {
            return Err((Refused::Closed, stream));
        };
        match sender.try_send(stream) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(stream)) => Err((Refused::Busy, stream)),
            Err(TrySendError::Disconnected(stream)) => Err((Refused::Closed, stream)),
        }
    }

    // ANCHOR: turn_away
    /// Tells a client why it is not served and closes its connection,
    /// without making the caller wait.
    ///
    /// Writing the line and closing at once is not enough: a client that
    /// has already sent its request has bytes in our receive buffer, and
    /// closing a socket with unread bytes makes the system send a reset
    /// (RST), which can destroy the line before the client reads it, and
    /// makes the client's own writes fail. [`framing::say_and_close`]
    /// lingers to read what the client sends, for up to a second; the
    /// accept loop must not wait that long, so the doorman thread does it.
    /// If even the doorman is behind (a crowd of clients that never close),
    /// the line is written and the connection closed at once.
    pub fn turn_away(&self, stream: TcpStream, why: Refused) {
        let handed = match &self.refusals {
            Some(doorman) => doorman.try_send((stream, why)),
            None => Err(TrySendError::Disconnected((stream, why))),
        };
        if let Err(TrySendError::Full((stream, why)) | TrySendError::Disconnected((stream, why))) =
            handed
        {
            let _ = (&stream).write_all(format!("{}\n", why.line()).as_bytes());
            let _ = stream.shutdown(Shutdown::Write);
        }
    }
    // ANCHOR_END: turn_away

    /// Stops the pool: no more connections, the clients being served are
    /// disconnected, and the workers are joined. Waits at most `grace` for
    /// them; a worker still running after that is left behind (and ends
    /// with the process) rather than hanging the shutdown.
    pub fn shutdown(mut self, grace: Duration) {
        self.stop(grace);
    }

    // ANCHOR: shutdown
    fn stop(&mut self, grace: Duration) {
        // 1. Connections still in the queue are turned away from now on.
        self.shared.stopping.store(true, Ordering::SeqCst);
        // 2. Drop the only sender. Once the queue is empty, every worker's
        //    `recv` returns an error, and that ends its loop.
        drop(self.sender.take());
        // 3. Workers serving a client are blocked reading from it. Shutting
        //    the connection down makes that read return at once on Linux; on
        //    other systems (Windows) the read may only return when the
        //    client sends or leaves, which is why step 5 has a time limit.
        for stream in lock(&self.shared.serving).iter().flatten() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        // 4. The doorman ends once it has told the clients it holds.
        drop(self.refusals.take());
        // 5. Join the threads. Each one reports its end on `exited` first,
        //    so we can wait with a deadline (`JoinHandle::join` has none).
        let threads: Vec<Worker> = self.workers.drain(..).chain(self.doorman.take()).collect();
        let deadline = Deadline::after(grace, "end of the workers");
        let mut ended = Vec::new();
        let exited = lock(&self.exited);
        while ended.len() < threads.len() {
            let Ok(left) = deadline.left() else { break };
            match exited.recv_timeout(left) {
                // (A worker that never started reports too, when its
                // closure is dropped: only count the ones that run.)
                Ok(id) if threads.iter().any(|w| w.id == id) => ended.push(id),
                Ok(_) => {}
                Err(_) => break, // deadline passed
            }
        }
        for thread in threads {
            if !ended.contains(&thread.id) {
                crate::log_error!("{} is still busy; not waiting for it", thread.name);
            } else if thread.handle.join().is_err() {
                crate::log_error!("{} had panicked", thread.name);
            }
        }
    }
    // ANCHOR_END: shutdown
}

impl Drop for Pool {
    /// A pool that goes out of scope shuts down too, as in the Rust Book.
    fn drop(&mut self) {
        if !self.workers.is_empty() {
            self.stop(Duration::from_secs(5));
        }
    }
}

/// Starts the doorman: a thread that tells each client it is handed why it
/// is not served, and closes its connection ([`framing::say_and_close`]).
fn start_doorman(
    id: usize,
    stack_size: usize,
    exit_tx: mpsc::Sender<usize>,
) -> io::Result<(SyncSender<(TcpStream, Refused)>, Worker)> {
    let (refusals, turned_away) = mpsc::sync_channel::<(TcpStream, Refused)>(DOORMAN_QUEUE);
    let exit = Exit { id, tx: exit_tx };
    let name = "doorman".to_string();
    let handle = thread::Builder::new()
        .name(name.clone())
        .stack_size(stack_size)
        .spawn(move || {
            let _exit = exit;
            for (stream, why) in turned_away {
                framing::say_and_close(&stream, why.line());
            }
        })?;
    Ok((refusals, Worker { id, name, handle }))
}

/// Sends a thread's index on `tx` when dropped: when the thread's closure
/// returns, and also when it panics, because unwinding drops it too.
struct Exit {
    id: usize,
    tx: mpsc::Sender<usize>,
}

impl Drop for Exit {
    fn drop(&mut self) {
        let _ = self.tx.send(self.id);
    }
}

// ANCHOR: lock
/// Locks one of the pool's mutexes, even if it is poisoned.
///
/// A mutex is *poisoned* when a thread panics while holding its guard:
/// std cannot know whether the panic struck in the middle of an update, so
/// every later `lock` returns `Err(PoisonError)` to make the next user
/// decide. Here the answer is easy: the data is a channel's receiver and a
/// list of connections, and no update of them can be left half done (each
/// is one assignment), so every state is a valid one and
/// `PoisonError::into_inner` takes the guard anyway. Where a panic could
/// leave data half changed (two fields that must agree), recovering that
/// way would spread the damage: let the panic spread instead (`unwrap`), or
/// repair the data before using it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
// ANCHOR_END: lock

// ANCHOR: worker_loop
/// What each worker does: take the next connection from the channel, serve
/// it to the end, repeat. Ends when the channel is closed and empty.
fn worker_loop(id: usize, shared: &Shared) {
    loop {
        // The lock is held only while waiting for the next connection: the
        // guard is a temporary, dropped at the end of this statement, so the
        // other workers can wait for theirs while this one serves.
        let next = lock(&shared.queue).recv();
        let Ok(stream) = next else {
            return; // the sender is gone: the pool is shutting down
        };
        // A panic in a job is a bug in that job. Left alone it would end
        // this thread and the pool would have one worker less, for good.
        // `catch_unwind` stops the unwinding here: the job's connection has
        // been dropped (closed) on the way, and the worker takes the next.
        // `AssertUnwindSafe` is our promise that nothing the job shares is
        // left half changed by a panic: it holds none of the pool's locks.
        let served = panic::catch_unwind(AssertUnwindSafe(|| serve_one(id, stream, shared)));
        if let Err(panic) = served {
            let what = panic
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("a panic");
            crate::log_error!("worker {id}: a job panicked ({what}); taking the next client");
        }
    }
}
// ANCHOR_END: worker_loop

/// Serves one client on worker `id` with the pool's job.
fn serve_one(id: usize, stream: TcpStream, shared: &Shared) {
    let peer = match stream.peer_addr() {
        Ok(peer) => peer.to_string(),
        Err(_) => return, // the client left while it waited in the queue
    };
    let Some(_serving) = Serving::register(id, &stream, shared) else {
        framing::say_and_close(&stream, Refused::Closed.line());
        crate::log_line!("client {peer} disconnected: server shutting down");
        return;
    };
    crate::log_line!("worker {id} serves client {peer}");
    match (shared.job)(stream) {
        Ok(()) => crate::log_line!("client {peer} disconnected"),
        Err(e) => crate::log_line!("client {peer} disconnected: {e}"),
    }
}

/// A worker's entry in [`Shared::serving`], removed when dropped: when the
/// job returns, and also when it panics. The entry is a clone of the
/// client's socket, so a forgotten one would keep the connection open.
struct Serving<'a> {
    id: usize,
    shared: &'a Shared,
}

impl<'a> Serving<'a> {
    /// Registers the connection, unless the pool is stopping. Both under
    /// one lock: either `stop` sees the connection in `serving` and closes
    /// it, or we see `stopping` here. No connection slips between the two.
    fn register(id: usize, stream: &TcpStream, shared: &'a Shared) -> Option<Serving<'a>> {
        let mut serving = lock(&shared.serving);
        if shared.stopping.load(Ordering::SeqCst) {
            return None;
        }
        serving[id] = stream.try_clone().ok();
        Some(Serving { id, shared })
    }
}

impl Drop for Serving<'_> {
    fn drop(&mut self) {
        lock(&self.shared.serving)[self.id] = None;
    }
}

// ANCHOR: accept_loop
/// Accepts clients and hands them to the pool until `serve`'s wake-up
/// connection arrives; `wake_up` gives that connection's address.
fn accept_loop(
    listener: &TcpListener,
    pool: &Pool,
    stopping: &AtomicBool,
    wake_up: Receiver<SocketAddr>,
) {
    // The wake-up connection's address, once we are stopping.
    let mut wake_up_from = None;
    for (stream, peer) in cli::clients(listener) {
        if stopping.load(Ordering::SeqCst) {
            // `serve` connects to wake us up, but real clients may be queued
            // ahead of its connection: only the one from its address is ours.
            // (If `serve` could not tell us, the first one has to do.)
            let ours = *wake_up_from.get_or_insert_with(|| wake_up.recv().ok());
            if ours.is_none_or(|ours| ours == peer) {
                break;
            }
            crate::log_line!("client {peer} refused: {}", Refused::Closed.line());
            pool.turn_away(stream, Refused::Closed);
            continue;
        }
        crate::log_line!("client {peer} connected");
        if let Err((why, stream)) = pool.submit(stream) {
            // Tell the client rather than leave it waiting in silence.
            crate::log_line!("client {peer} refused: {}", why.line());
            pool.turn_away(stream, why);
        }
    }
    turn_away_latecomers(listener, pool);
}
// ANCHOR_END: accept_loop

// ANCHOR: turn_away_latecomers
/// After the wake-up connection, every connection still in the listener's
/// queue is a client that came too late: tell each one, rather than leave
/// them to be reset when the listener closes. Takes only what is already
/// there (non-blocking: `WouldBlock` means nobody is left), and gives up
/// after a few seconds if accepting keeps failing (out of descriptors).
fn turn_away_latecomers(listener: &TcpListener, pool: &Pool) {
    if listener.set_nonblocking(true).is_err() {
        return;
    }
    let deadline = Deadline::after(Duration::from_secs(5), "accept");
    while !deadline.passed() {
        match listener.accept() {
            Ok((stream, peer)) => {
                // An accepted socket inherits non-blocking mode on some
                // systems (macOS, the BSDs), not on Linux: set it back.
                let _ = stream.set_nonblocking(false);
                crate::log_line!("client {peer} refused: {}", Refused::Closed.line());
                pool.turn_away(stream, Refused::Closed);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break, // nobody left
            // Out of descriptors, say: the doorman frees one with every
            // client it has told.
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
    let _ = listener.set_nonblocking(false);
}
// ANCHOR_END: turn_away_latecomers

// ANCHOR: console
/// Runs the console's commands until `/quit` (`true`), or the end of its
/// input: Ctrl-D at a terminal is `/quit` too, but a console that is closed
/// or absent is not (`false`, see `stop::console_ended`).
fn run_console(mut console: impl BufRead, at_terminal: bool) -> bool {
    loop {
        // `framing::read_line`, not `lines()`: a line that is not UTF-8 (a
        // stray key, a file piped in by mistake) is one bad command, not the
        // end of the console, and a line with no end cannot fill memory.
        match framing::read_line(&mut console, CONSOLE_MAX_LINE) {
            Ok(None) => return crate::stop::console_ended(at_terminal),
            Ok(Some(line)) => match line.trim() {
                "/quit" => return true,
                "/help" => CONSOLE_HELP.lines().for_each(|l| crate::log_line!("{l}")),
                "" => {}
                other => crate::log_line!("unknown command {other:?}: type /help for the commands"),
            },
            Err(LineError::NotUtf8) => {
                crate::log_line!("that line is not UTF-8 text: type /help for the commands")
            }
            Err(LineError::TooLong { max }) => {
                // The rest of the line is still unread: skip it.
                let _ = console.skip_until(b'\n');
                crate::log_line!(
                    "that line is longer than {max} bytes: type /help for the commands"
                );
            }
            Err(LineError::Io(e)) => {
                crate::log_error!("cannot read the console: {}", cli::describe(&e));
                return crate::stop::console_ended(false);
            }
        }
    }
}
// ANCHOR_END: console

// ANCHOR: serve
/// Serves clients with a pool of workers until `/quit` is typed on
/// `console`, Ctrl-D ends it at a terminal (`at_terminal`), or SIGINT or
/// SIGTERM arrives; then shuts down gracefully, the same way for all three.
pub fn serve(
    listener: &TcpListener,
    config: &Config,
    console: impl BufRead + Send + 'static,
    at_terminal: bool,
    signals: crate::stop::Signals,
) -> io::Result<()> {
    let (max_line, idle_timeout) = (config.max_line, config.idle_timeout);
    let pool = Pool::start(config, move |stream| {
        reverse::set_idle_timeout(&stream, idle_timeout)?;
        reverse::serve_lines(stream, max_line)
    })?;
    crate::log_line!(
        "workers ready: {} (stack {} KiB each); type /quit to stop, /help for the commands",
        pool.size(),
        config.stack_size / 1024
    );
    let wake_addr = cli::reachable(listener.local_addr()?);
    // Two spare descriptors, for the wake-up connection's two ends. A server
    // that has run out of descriptors (more clients than `ulimit -n`
    // allows) could not connect to itself otherwise, and `/quit` would fail.
    let spares = [listener.try_clone()?, listener.try_clone()?];
    let stopping = AtomicBool::new(false);
    let (tell_acceptor, wake_up) = mpsc::channel();
    // The console and the signals both say "stop" on one channel. The
    // console has a thread of its own, never joined: no portable API can
    // interrupt its read of stdin, and returning from `main` ends it.
    let (stop_tx, stop) = mpsc::channel::<()>();
    let console_stop = stop_tx.clone();
    thread::Builder::new()
        .name("console".into())
        .spawn(move || {
            if run_console(console, at_terminal) {
                let _ = console_stop.send(());
            }
        })?;
    signals.on_signal(move |_| {
        let _ = stop_tx.send(());
    })?;
    thread::scope(|s| -> io::Result<()> {
        let (pool, stopping) = (&pool, &stopping);
        let acceptor = thread::Builder::new()
            .name("acceptor".into())
            .spawn_scoped(s, move || accept_loop(listener, pool, stopping, wake_up))?;
        // Every sender gone cannot happen (the signal thread keeps one), but
        // would mean "stop" too.
        let _ = stop.recv();
        // `accept` has no timeout: wake it with a connection of our own,
        // after setting the flag that tells it to stop, and tell it which
        // connection is ours.
        stopping.store(true, Ordering::SeqCst);
        drop(spares);
        let wake = match connect_to_self(wake_addr) {
            Ok(wake) => wake,
            Err(e) => {
                // std has no other portable way to interrupt `accept`, and
                // the scope would wait for the acceptor forever: end the
                // process, after the logger has written the reason.
                crate::log_error!(
                    "error: cannot wake the accept loop at {wake_addr}: {}",
                    cli::describe(&e)
                );
                crate::log::flush();
                std::process::exit(1);
            }
        };
        crate::log_line!("shutting down");
        if let Ok(ours) = wake.local_addr() {
            let _ = tell_acceptor.send(ours);
        }
        drop(tell_acceptor);
        let joined = acceptor.join();
        // Only now: until the acceptor has taken it, no client may get the
        // wake-up connection's address.
        drop(wake);
        joined.map_err(|_| io::Error::other("the accept loop panicked"))
    })?;
    pool.shutdown(Duration::from_secs(5));
    crate::log_line!("all workers stopped");
    Ok(())
}
// ANCHOR_END: serve

/// Connects to our own listener, to wake the accept loop. Tries again for
/// a few seconds: out of descriptors, the acceptor may take the one just
/// freed for a client that was waiting, and frees it again once it has
/// turned that client away.
fn connect_to_self(addr: SocketAddr) -> io::Result<TcpStream> {
    let deadline = Deadline::after(Duration::from_secs(5), "connection to our own listener");
    let mut last = None;
    while let Ok(left) = deadline.left() {
        match TcpStream::connect_timeout(&addr, left) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
        thread::sleep(Duration::from_millis(10));
    }
    Err(last.unwrap_or_else(|| deadline.expired()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Read};

    fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    /// The pool's job in the server: lesson 03's protocol.
    fn reverse_job(stream: TcpStream) -> io::Result<()> {
        reverse::serve_lines(stream, framing::DEFAULT_MAX_LINE)
    }

    #[test]
    fn a_submitted_connection_is_served_by_a_worker() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let pool = Pool::start(
            &Config {
                workers: 2,
                ..Config::default()
            },
            reverse_job,
        )
        .unwrap();
        let (client, server) = pair(&listener);
        pool.submit(server).unwrap();
        (&client).write_all(b"abc\n").unwrap();
        let mut reply = String::new();
        BufReader::new(&client).read_line(&mut reply).unwrap();
        assert_eq!(reply, "cba\n");
        pool.shutdown(Duration::from_secs(5));
        // The worker serving us was stopped: our connection is closed.
        let mut rest = Vec::new();
        let _ = (&client).read_to_end(&mut rest);
    }

    #[test]
    fn a_full_queue_gives_the_connection_back_as_busy() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let pool = Pool::start(
            &Config {
                workers: 1,
                queue: 1,
                ..Config::default()
            },
            reverse_job,
        )
        .unwrap();
        let (c1, s1) = pair(&listener);
        let (_c2, s2) = pair(&listener);
        let (_c3, s3) = pair(&listener);
        pool.submit(s1).unwrap();
        // A reply proves the only worker has taken the first connection.
        (&c1).write_all(b"ab\n").unwrap();
        let mut reply = String::new();
        BufReader::new(&c1).read_line(&mut reply).unwrap();
        assert_eq!(reply, "ba\n");
        pool.submit(s2).map_err(|(why, _)| why).unwrap(); // waits in the queue
        let refused = pool.submit(s3).map_err(|(why, _)| why);
        assert_eq!(refused, Err(Refused::Busy));
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_pool_whose_workers_cannot_start_is_an_error_not_a_panic() {
        // No system can give a thread a stack of an exbibyte.
        let result = Pool::start(
            &Config {
                workers: 2,
                stack_size: 1 << 60,
                ..Config::default()
            },
            reverse_job,
        );
        let e = result.err().expect("starting should fail");
        assert_eq!(e.to_string(), "could not start any of the 2 workers");
    }

    // ANCHOR: poisoning
    #[test]
    fn a_mutex_held_by_a_panicking_thread_is_poisoned_and_into_inner_recovers_it() {
        let count = Mutex::new(0);
        let outcome = thread::scope(|s| {
            s.spawn(|| {
                let mut n = count.lock().unwrap();
                *n += 1;
                panic!("a bug, while the lock is held");
            })
            .join()
        });
        assert!(outcome.is_err(), "the thread panicked");
        assert!(count.is_poisoned());
        assert!(count.lock().is_err(), "every later lock says so");
        // The data is still there, as the panicking thread left it.
        let n = count.lock().unwrap_or_else(PoisonError::into_inner);
        assert_eq!(*n, 1);
    }

    #[test]
    fn a_panicking_job_neither_kills_its_worker_nor_poisons_the_pool() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        // One worker, and a job with a bug: it panics on "panic". Before
        // that, it says which thread runs it.
        let pool = Pool::start(
            &Config {
                workers: 1,
                ..Config::default()
            },
            |stream| {
                let mut request = String::new();
                BufReader::new(&stream).read_line(&mut request)?;
                let me = thread::current();
                writeln!(&stream, "{:?} {:?}", me.name(), me.id())?;
                if request == "panic\n" {
                    panic!("a bug in a job");
                }
                Ok(())
            },
        )
        .unwrap();
        let ask = |request: &str| {
            let (client, server) = pair(&listener);
            pool.submit(server).map_err(|(why, _)| why).unwrap();
            (&client).write_all(request.as_bytes()).unwrap();
            let mut reply = String::new();
            let mut client = BufReader::new(client);
            client.read_line(&mut reply).unwrap();
            // The connection is closed at the end of the job, even of one
            // that panicked: `read_to_end` ends instead of timing out.
            client.read_to_end(&mut Vec::new()).unwrap();
            reply
        };
        let crashed = ask("panic\n");
        let next = ask("hello\n");
        assert!(crashed.starts_with("Some(\"worker 0\") "), "{crashed}");
        assert_eq!(next, crashed, "the same worker thread serves the next job");
        assert_eq!(pool.size(), 1);
        assert!(!pool.shared.queue.is_poisoned());
        assert!(!pool.shared.serving.is_poisoned());
        assert!(lock(&pool.shared.serving).iter().all(Option::is_none));
    }
    // ANCHOR_END: poisoning

    /// The size in KiB of the memory mapping that holds `address`, from
    /// `/proc/self/maps` (Linux).
    #[cfg(target_os = "linux")]
    fn mapping_kib(address: usize) -> Option<usize> {
        let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
        maps.lines().find_map(|line| {
            let (from, to) = line.split_whitespace().next()?.split_once('-')?;
            let from = usize::from_str_radix(from, 16).ok()?;
            let to = usize::from_str_radix(to, 16).ok()?;
            (from <= address && address < to).then_some((to - from) / 1024)
        })
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_stack_below_the_systems_minimum_is_raised_without_a_word() {
        // The stack a thread really got: the mapping that holds one of its
        // local variables.
        let stack_kib = |asked: usize| {
            thread::Builder::new()
                .stack_size(asked * 1024)
                .spawn(|| {
                    let local = 0u8;
                    mapping_kib(std::ptr::addr_of!(local) as usize)
                })
                .unwrap()
                .join()
                .unwrap()
                .expect("the stack is in /proc/self/maps")
        };
        let (small, honoured) = (stack_kib(16), stack_kib(MIN_STACK_KIB));
        println!(
            "asked for 16 KiB: got {small} KiB; asked for {MIN_STACK_KIB} KiB: got {honoured} KiB"
        );
        assert!(small > 16, "std raised the request to the system's minimum");
        if cfg!(all(target_arch = "x86_64", target_env = "gnu")) {
            assert_eq!(
                honoured, MIN_STACK_KIB,
                "the smallest --stack-kib is honoured"
            );
        }
    }
}
