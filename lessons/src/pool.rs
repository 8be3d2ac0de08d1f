//! Lesson 07: a bounded pool of worker threads.
//!
//! Lesson 03 starts a thread for every client. That is simple and fast, but
//! every thread costs memory (its stack and the system's bookkeeping), so a
//! thousand idle clients mean a thousand sleeping threads. A pool starts a
//! fixed number of workers once, and the accept loop hands them connections
//! through a channel, as in the Rust Book's final chapter. Memory then stays
//! flat however many clients come. The price: when every worker is busy, the
//! next client waits, and an idle client holds a worker as surely as a busy
//! one does. `--idle-timeout` is the usual remedy.
//!
//! The pool serves the lesson 03 protocol with the lesson 03 code
//! ([`reverse::serve_lines`]): only *who runs it* changes.

use std::io::{self, BufRead, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::framing;
use crate::reverse;

/// The default number of workers: as many clients as are served at once.
pub const DEFAULT_WORKERS: usize = 4;

/// The default number of accepted connections that may wait for a worker:
/// as many as lesson 05 lets in at once. More are told `server busy` at
/// once, rather than left waiting with no answer and no end in sight.
pub const DEFAULT_QUEUE: usize = 64;

// ANCHOR: stack_size
/// The stack each worker gets: 256 KiB instead of std's default of 2 MiB.
///
/// A worker's deepest call chain is short: read a line into a heap buffer,
/// reverse it into another, write it, log a line. Every path of it (64 KiB
/// lines, invalid UTF-8, a line over the limit, the idle timeout) works
/// with 16 KiB stacks, the smallest Linux allows, in debug and release
/// builds (`--stack-kib 16`; see docs/measurements.md). 256 KiB leaves a
/// margin of 16 for changes to this code and for other systems.
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
    /// The stack size of each worker, in bytes.
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
    max_line: usize,
    idle_timeout: Option<Duration>,
}

/// A fixed set of worker threads fed with connections through a channel.
pub struct Pool {
    /// `Some` while the pool accepts connections. Dropping it is how the
    /// workers learn there will be no more.
    sender: Option<SyncSender<TcpStream>>,
    workers: Vec<Worker>,
    shared: Arc<Shared>,
    /// Every worker sends its index here when it ends (see [`Exit`]). In a
    /// mutex only so that `&Pool` can be shared with the accept loop's thread.
    exited: Mutex<Receiver<usize>>,
}

struct Worker {
    id: usize,
    handle: JoinHandle<()>,
}

/// Why [`Pool::submit`] gave a connection back.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Every worker is busy and the queue is full.
    Busy,
    /// The pool is shutting down.
    Closed,
}

impl Pool {
    /// Starts the workers. A worker that cannot be started is reported and
    /// skipped; only if none starts is it an error.
    pub fn start(config: &Config) -> io::Result<Pool> {
        // ANCHOR: channel
        // A *bounded* channel: at most `queue` connections wait for a
        // worker. The accept loop uses `try_send`, so it never blocks here.
        let (sender, receiver) = mpsc::sync_channel::<TcpStream>(config.queue);
        // ANCHOR_END: channel
        let shared = Arc::new(Shared {
            queue: Mutex::new(receiver),
            stopping: AtomicBool::new(false),
            serving: Mutex::new((0..config.workers).map(|_| None).collect()),
            max_line: config.max_line,
            idle_timeout: config.idle_timeout,
        });
        let (exit_tx, exited) = mpsc::channel();
        let mut workers = Vec::with_capacity(config.workers);
        for id in 0..config.workers {
            // ANCHOR: builder
            // `thread::Builder` rather than `thread::spawn`: it names the
            // thread (panic messages and debuggers show "worker 3"), sets the
            // stack size, and returns an error instead of panicking when the
            // system cannot start another thread.
            let spawned = thread::Builder::new()
                .name(format!("worker {id}"))
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
                Ok(handle) => workers.push(Worker { id, handle }),
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
        Ok(Pool {
            sender: Some(sender),
            workers,
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
        //    the connection down makes that read return at once (on Linux
        //    and macOS; on Windows the read only returns when the client
        //    sends or leaves, which is why step 4 has a time limit).
        for stream in lock(&self.shared.serving).iter().flatten() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        // 4. Join the workers. Each one reports its end on `exited` first,
        //    so we can wait with a deadline (`JoinHandle::join` has none).
        let deadline = Instant::now() + grace;
        let mut ended = Vec::new();
        let exited = lock(&self.exited);
        while ended.len() < self.workers.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            match exited.recv_timeout(left) {
                // (A worker that never started reports too, when its
                // closure is dropped: only count the ones that run.)
                Ok(id) if self.workers.iter().any(|w| w.id == id) => ended.push(id),
                Ok(_) => {}
                Err(_) => break, // deadline passed
            }
        }
        for worker in self.workers.drain(..) {
            if !ended.contains(&worker.id) {
                crate::log_error!("worker {} is still busy; not waiting for it", worker.id);
            } else if worker.handle.join().is_err() {
                crate::log_error!("worker {} had panicked", worker.id);
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

/// Sends a worker's index on `tx` when dropped: when the worker's closure
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

/// Locks a mutex even if a thread panicked while holding it: the data here
/// (a receiver, a list of connections) is still consistent after a panic.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

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
        serve_one(id, stream, shared);
    }
}
// ANCHOR_END: worker_loop

/// Serves one client on worker `id`, with the lesson 03 code.
fn serve_one(id: usize, stream: TcpStream, shared: &Shared) {
    let peer = match stream.peer_addr() {
        Ok(peer) => peer.to_string(),
        Err(_) => return, // the client left while it waited in the queue
    };
    {
        // Register the connection and check for shutdown under one lock:
        // either `stop` sees it in `serving` and closes it, or we see
        // `stopping` here. No connection slips between the two.
        let mut serving = lock(&shared.serving);
        if shared.stopping.load(Ordering::SeqCst) {
            drop(serving);
            framing::say_and_close(&stream, "error: server shutting down");
            crate::log_line!("client {peer} disconnected: server shutting down");
            return;
        }
        serving[id] = stream.try_clone().ok();
    }
    crate::log_line!("worker {id} serves client {peer}");
    let result = reverse::set_idle_timeout(&stream, shared.idle_timeout)
        .and_then(|()| reverse::serve_lines(stream, shared.max_line));
    lock(&shared.serving)[id] = None;
    match result {
        Ok(()) => crate::log_line!("client {peer} disconnected"),
        Err(e) => crate::log_line!("client {peer} disconnected: {e}"),
    }
}

// ANCHOR: accept_loop
/// Accepts clients and hands them to the pool until `stopping` is set.
fn accept_loop(listener: &TcpListener, pool: &Pool, stopping: &AtomicBool) {
    for (stream, peer) in crate::cli::clients(listener) {
        if stopping.load(Ordering::SeqCst) {
            return; // this was the wake-up connection from `serve`
        }
        crate::log_line!("client {peer} connected");
        if let Err((why, stream)) = pool.submit(stream) {
            // Tell the client rather than leave it waiting in silence. No
            // `say_and_close` here: its draining could stall the accept loop.
            let line = match why {
                Refused::Busy => "error: server busy, try again later\n",
                Refused::Closed => "error: server shutting down\n",
            };
            let _ = (&stream).write_all(line.as_bytes());
            let _ = stream.shutdown(Shutdown::Write);
            crate::log_line!("client {peer} refused: {}", line.trim_end());
        }
    }
}
// ANCHOR_END: accept_loop

/// An address that reaches `addr` from this machine: a listener on
/// 0.0.0.0 (every interface) is reached through 127.0.0.1.
pub(crate) fn reachable(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

/// Reads console commands until `/quit` or the end of input.
fn wait_for_quit(console: impl BufRead) {
    for line in console.lines() {
        match line.as_deref().map(str::trim) {
            Ok("/quit") | Err(_) => return,
            Ok("") => {}
            Ok(other) => {
                crate::log_line!("unknown command {other:?}: type /quit to stop the server")
            }
        }
    }
    // The input ended (Ctrl-D, or the end of a piped file): stop as well.
}

// ANCHOR: serve
/// Serves clients with a pool of workers until `/quit` is typed on
/// `console` or the console's input ends; then shuts down gracefully.
pub fn serve(listener: &TcpListener, config: &Config, console: impl BufRead) -> io::Result<()> {
    let pool = Pool::start(config)?;
    crate::log_line!(
        "workers ready: {} (stack {} KiB each); type /quit to stop",
        pool.size(),
        config.stack_size / 1024
    );
    let wake_addr = reachable(listener.local_addr()?);
    let stopping = AtomicBool::new(false);
    thread::scope(|s| -> io::Result<()> {
        let acceptor = thread::Builder::new()
            .name("acceptor".into())
            .spawn_scoped(s, || accept_loop(listener, &pool, &stopping))?;
        wait_for_quit(console);
        crate::log_line!("shutting down");
        // `accept` has no timeout: wake it with a connection of our own,
        // after setting the flag that tells it to stop.
        stopping.store(true, Ordering::SeqCst);
        if let Err(e) = TcpStream::connect_timeout(&wake_addr, Duration::from_secs(2)) {
            // std has no other portable way to interrupt `accept`, and the
            // scope would wait for the acceptor forever: end the process.
            crate::log_error!("error: cannot wake the accept loop at {wake_addr}: {e}");
            std::process::exit(1);
        }
        acceptor
            .join()
            .map_err(|_| io::Error::other("the accept loop panicked"))
    })?;
    pool.shutdown(Duration::from_secs(5));
    crate::log_line!("all workers stopped");
    Ok(())
}
// ANCHOR_END: serve

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

    #[test]
    fn a_submitted_connection_is_served_by_a_worker() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let pool = Pool::start(&Config {
            workers: 2,
            ..Config::default()
        })
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
        let pool = Pool::start(&Config {
            workers: 1,
            queue: 1,
            ..Config::default()
        })
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
        let result = Pool::start(&Config {
            workers: 2,
            stack_size: 1 << 60,
            ..Config::default()
        });
        let e = result.err().expect("starting should fail");
        assert_eq!(e.to_string(), "could not start any of the 2 workers");
    }

    #[test]
    fn an_unspecified_address_is_reached_through_loopback() {
        let any: SocketAddr = "0.0.0.0:7".parse().unwrap();
        assert_eq!(reachable(any), "127.0.0.1:7".parse().unwrap());
        let v6: SocketAddr = "[::]:7".parse().unwrap();
        assert_eq!(reachable(v6), "[::1]:7".parse().unwrap());
        let some: SocketAddr = "10.1.2.3:7".parse().unwrap();
        assert_eq!(reachable(some), some);
    }
}
