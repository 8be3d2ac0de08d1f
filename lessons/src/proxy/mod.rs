//! Lesson 09: a TCP proxy that makes the byte stream visible and misbehaves
//! on purpose.
//!
//! The course keeps saying that TCP is a byte stream: messages split and
//! merge, peers vanish, networks stall. On loopback you never see it: every
//! small write arrives whole, so a program that takes one `read` for one
//! message seems to work. This proxy sits between a client and a server and
//! forwards every byte, and on request it cuts them up (`--slice`), glues
//! them together (`--merge`), slows them down (`--delay`, `--rate`), stops
//! them (`--stall-after`), or ends the connection early (`--reset-after`,
//! `--close-after`). `--show` prints each chunk as it passes.
//!
//! - [`forward`]: one connection, two threads, one per direction, and the
//!   half-close passed on;
//! - [`misbehave`]: the misbehaviours, as `Read` and `Write` wrappers that
//!   `io::copy` pumps through;
//! - [`wire`]: the `--show` lines;
//! - [`flags`]: the command line of `09_proxy`, where each misbehaviour
//!   applies to the direction named before it.
//!
//! A test (or an exercise's check) can start a proxy in its own process,
//! on port 0, and stop it:
//!
//! ```
//! use lessons::proxy::{self, Toxics};
//! # use std::net::TcpListener;
//! # let server = TcpListener::bind("127.0.0.1:0")?;
//! # let server_addr = server.local_addr()?.to_string();
//! let cruel = Toxics { slice: Some(1), ..Toxics::default() };
//! let running = proxy::start("127.0.0.1:0", &server_addr, cruel.clone(), cruel)?;
//! let addr = running.addr(); // connect here instead of to the server
//! running.stop();
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod flags;
mod forward;
mod misbehave;
pub mod wire;

pub use misbehave::Toxics;

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use forward::Link;

use crate::cli;

/// The two directions of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// What the client sends, on its way to the server.
    Up,
    /// What the server sends, on its way to the client.
    Down,
}

impl Direction {
    /// `up` or `down`, as in the flags and the wire view.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }

    /// The other direction.
    pub fn other(self) -> Direction {
        match self {
            Direction::Up => Direction::Down,
            Direction::Down => Direction::Up,
        }
    }

    /// Who sends the bytes of this direction.
    pub fn sender(self) -> &'static str {
        match self {
            Direction::Up => "client",
            Direction::Down => "server",
        }
    }

    /// Who receives them.
    pub fn receiver(self) -> &'static str {
        match self {
            Direction::Up => "server",
            Direction::Down => "client",
        }
    }
}

/// What the proxy prints, through the course's logger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Log {
    /// Nothing: for tests and checks that run a proxy in their own process.
    #[default]
    Quiet,
    /// Connections, misbehaviours and errors (`09_proxy` without `--show`).
    Connections,
    /// All that, and every chunk forwarded (`--show`).
    Wire,
}

/// A proxy's settings.
#[derive(Debug, Clone)]
pub struct Proxy {
    /// The server every connection is forwarded to.
    pub to: String,
    /// How the bytes from the client to the server misbehave.
    pub up: Toxics,
    /// How the bytes from the server to the client misbehave.
    pub down: Toxics,
    pub log: Log,
    /// Connections served at once; more are closed at once.
    pub max_connections: usize,
    /// How long connecting to the server may take.
    pub connect_timeout: Duration,
}

impl Proxy {
    /// The default for [`Proxy::max_connections`]: each connection costs two
    /// threads.
    pub const MAX_CONNECTIONS: usize = 256;

    /// A proxy to `to` that forwards everything as it comes, quietly.
    pub fn new(to: &str) -> Proxy {
        Proxy {
            to: to.to_string(),
            up: Toxics::default(),
            down: Toxics::default(),
            log: Log::Quiet,
            max_connections: Proxy::MAX_CONNECTIONS,
            connect_timeout: Duration::from_secs(5),
        }
    }

    /// Refuses what cannot work before any client comes: a server address
    /// that does not parse or resolve, a misbehaviour that cannot be done,
    /// a limit of 0 connections. [`Proxy::serve`] and [`Proxy::start`]
    /// check too; a program checks first, before it starts listening.
    pub fn check(&self) -> io::Result<()> {
        let to = cli::resolve(&self.to)
            .map_err(|e| cli::context(e, format!("cannot forward to {}", self.to)))?;
        if to.iter().any(|a| a.port() == 0) {
            // Port 0 means "any free port" to `bind`; no server listens on it.
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot forward to {}: port 0 is no server's port", self.to),
            ));
        }
        if self.connect_timeout < Duration::from_millis(1) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the connect timeout must be at least 0.001 s: every connect would fail",
            ));
        }
        self.up.check()?;
        self.down.check()?;
        if self.max_connections == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the proxy needs room for at least 1 connection",
            ));
        }
        Ok(())
    }

    /// Refuses a `--to` that is the proxy's own address `me`: each
    /// connection would open another to the proxy, and so on until
    /// `--max-connections`. A proxy listening on every address (`0.0.0.0`,
    /// `[::]`) is reached on loopback too.
    fn check_not_itself(&self, me: SocketAddr) -> io::Result<()> {
        let to = cli::resolve(&self.to)?;
        let loops = to.iter().any(|a| {
            *a == me || (a.port() == me.port() && me.ip().is_unspecified() && a.ip().is_loopback())
        });
        if loops {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "cannot forward to {}: that is this proxy's own address ({me}); every \
                     connection would come back to it",
                    self.to
                ),
            ));
        }
        Ok(())
    }

    /// Serves every client of `listener` on this thread, forever.
    pub fn serve(self, listener: &TcpListener) -> io::Result<()> {
        self.check()?;
        self.check_not_itself(listener.local_addr()?)?;
        let shared = Arc::new(Shared::new(self));
        shared.announce();
        accept_loop(listener, &shared);
        Ok(())
    }

    /// Serves every client of `listener` on a thread of its own, until
    /// [`Running::stop`] (or until the `Running` is dropped).
    pub fn start(self, listener: TcpListener) -> io::Result<Running> {
        self.check()?;
        let addr = listener.local_addr()?;
        self.check_not_itself(addr)?;
        let shared = Arc::new(Shared::new(self));
        shared.announce();
        let accepting = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name("proxy accept".into())
            .spawn(move || accept_loop(&listener, &accepting))?;
        Ok(Running {
            addr,
            shared,
            accept: Some(accept),
        })
    }
}

impl Proxy {
    /// [`Proxy::serve`], telling `tap` everything it forwards.
    pub fn serve_tapped(self, listener: &TcpListener, tap: Tap) -> io::Result<()> {
        self.check()?;
        self.check_not_itself(listener.local_addr()?)?;
        let shared = Arc::new(Shared::tapped(self, Some(tap)));
        shared.announce();
        accept_loop(listener, &shared);
        Ok(())
    }

    /// Serves one client that was accepted elsewhere, on this thread: the
    /// same forwarding as [`Proxy::serve`] (both directions, the half-close
    /// passed on), returning once both directions have ended. A grader
    /// relays a check's connection to the server under grade with it.
    pub fn forward_one(self, client: TcpStream, tap: Option<Tap>) -> io::Result<()> {
        self.check()?;
        let shared = Arc::new(Shared::tapped(self, tap));
        if !shared.registry.admit(1) {
            return Err(io::Error::other("the proxy could not admit the connection"));
        }
        forward::connection(Admitted(Arc::clone(&shared)), 1, client, Instant::now());
        Ok(())
    }

    /// Forwards between two sockets already connected, on this thread,
    /// returning once both directions have ended: [`Proxy::forward_one`]
    /// where the server's connection was made elsewhere (a grader accepts
    /// the upstream connection of a proxy under grade, and relays it to a
    /// check's server). [`Proxy::to`] is not used.
    pub fn forward_between(
        self,
        client: TcpStream,
        server: TcpStream,
        tap: Option<Tap>,
    ) -> io::Result<()> {
        self.up.check()?;
        self.down.check()?;
        let shared = Arc::new(Shared::tapped(self, tap));
        if !shared.registry.admit(1) {
            return Err(io::Error::other("the proxy could not admit the connection"));
        }
        forward::link(
            Admitted(Arc::clone(&shared)),
            1,
            client,
            server,
            Instant::now(),
        );
        Ok(())
    }
}

/// What a [`Tap`] hears of one direction of a connection.
#[derive(Debug)]
pub enum Heard<'a> {
    /// Bytes forwarded, as one write.
    Bytes(&'a [u8]),
    /// The sender finished; passed on as a half-close.
    End,
    /// The sender reset the connection (a read failed with a reset: its
    /// program closed the socket with bytes unread, or crashed); the
    /// direction ends as for [`Heard::Failed`]. Not said of a reset that
    /// came after the other side had failed: the proxy's own ending of
    /// the connection may have caused it.
    Reset(&'a io::Error),
    /// The direction failed otherwise (a write to a receiver that reset,
    /// say). Its receiver is shut down; the other direction passes on what
    /// it already holds, then ends too.
    Failed(&'a io::Error),
}

/// Told everything a proxy that only forwards (no misbehaviour, no
/// `--show`) forwards: the connection's number, the direction, and what
/// passed. A grader keeps a transcript with it.
pub type Tap = Arc<dyn Fn(u64, Direction, Heard<'_>) + Send + Sync>;

/// Starts a quiet proxy on `listen` (`127.0.0.1:0` for any free port) that
/// forwards to `to`, misbehaving `up` and `down` as told. The address it
/// really listens on is [`Running::addr`].
pub fn start(listen: &str, to: &str, up: Toxics, down: Toxics) -> io::Result<Running> {
    let listener = TcpListener::bind(listen)
        .map_err(|e| cli::context(e, format!("cannot listen on {listen}")))?;
    Proxy {
        up,
        down,
        ..Proxy::new(to)
    }
    .start(listener)
}

/// A proxy serving on a thread of its own.
pub struct Running {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl Running {
    /// How long [`Running::stop`] waits for the connections to end.
    pub const GRACE: Duration = Duration::from_secs(5);

    /// The address the proxy listens on, with the real port.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections are being served right now.
    pub fn connections(&self) -> usize {
        self.shared.registry.lock().active
    }

    /// Stops accepting, closes every connection and waits (at most
    /// [`Running::GRACE`]) for their threads to end.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        let Some(accept) = self.accept.take() else {
            return;
        };
        self.shared.registry.stop();
        // `accept` has no timeout: wake it with a connection of our own,
        // after telling it to stop (as lesson 07's pool does).
        let wake = cli::reachable(self.addr);
        match TcpStream::connect_timeout(&wake, Duration::from_secs(2)) {
            Ok(_) => {
                let _ = accept.join();
            }
            Err(e) => crate::log_error!("cannot wake the proxy's accept loop at {wake}: {e}"),
        }
        if !self.shared.registry.wait_until_empty(Running::GRACE) {
            crate::log_error!(
                "proxy stopped with connections still closing after {}",
                cli::seconds(Running::GRACE)
            );
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.halt();
    }
}

/// What the accept loop and every connection share.
struct Shared {
    proxy: Proxy,
    registry: Registry,
    tap: Option<Tap>,
}

impl Shared {
    fn new(proxy: Proxy) -> Shared {
        Shared::tapped(proxy, None)
    }

    fn tapped(proxy: Proxy, tap: Option<Tap>) -> Shared {
        Shared {
            proxy,
            registry: Registry::default(),
            tap,
        }
    }

    fn announce(&self) {
        let proxy = &self.proxy;
        if proxy.log != Log::Quiet {
            crate::log_line!(
                "forwarding to {}; up: {}; down: {}",
                proxy.to,
                proxy.up,
                proxy.down
            );
        }
    }
}

/// The connections being served, so that there are never more than
/// `--max-connections`, and so that `stop` can close them.
#[derive(Default)]
struct Registry {
    inner: Mutex<Connections>,
    emptied: Condvar,
    stopping: AtomicBool,
}

#[derive(Default)]
struct Connections {
    /// Admitted and not yet ended, connected to the server or not.
    active: usize,
    /// Those connected to the server.
    links: HashMap<u64, Arc<Link>>,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Connections> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a place for a new connection, if there is one.
    fn admit(&self, max: usize) -> bool {
        let mut connections = self.lock();
        if connections.active >= max || self.stopping.load(Ordering::SeqCst) {
            return false;
        }
        connections.active += 1;
        true
    }

    /// Gives the place back (see [`Admitted`]).
    fn leave(&self) {
        let mut connections = self.lock();
        connections.active -= 1;
        self.emptied.notify_all();
    }

    /// Registers a connected link; false if the proxy is stopping (checked
    /// under the same lock `stop` takes, so no link is ever missed).
    fn add(&self, link: &Arc<Link>) -> bool {
        let mut connections = self.lock();
        if self.stopping.load(Ordering::SeqCst) {
            return false;
        }
        connections.links.insert(link.id, Arc::clone(link));
        true
    }

    fn remove(&self, id: u64) {
        self.lock().links.remove(&id);
    }

    fn stop(&self) {
        let connections = self.lock();
        self.stopping.store(true, Ordering::SeqCst);
        for link in connections.links.values() {
            link.close();
        }
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Waits until no connection is left; false if `grace` ran out first.
    fn wait_until_empty(&self, grace: Duration) -> bool {
        let deadline = Instant::now() + grace;
        let mut connections = self.lock();
        while connections.active > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            connections = self
                .emptied
                .wait_timeout(connections, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

/// A connection's place in the registry. Dropping it gives the place back,
/// whatever ends the connection, even a thread that never started.
struct Admitted(Arc<Shared>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.registry.leave();
    }
}

// ANCHOR: accept_loop
/// Accepts clients until the proxy stops, and serves each connection on
/// threads of its own.
fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let log = shared.proxy.log;
    let max = shared.proxy.max_connections;
    // Connections are numbered from 1, in the order they are accepted.
    for (id, (client, peer)) in (1u64..).zip(cli::clients(listener)) {
        if shared.registry.stopping() {
            return;
        }
        let started = Instant::now();
        if !shared.registry.admit(max) {
            // A proxy cannot say "full" in its clients' protocol, whatever
            // it is: it closes the connection, and says so here.
            if log != Log::Quiet {
                crate::log_line!(
                    "#{id} {peer} refused: {max} connections already (--max-connections)"
                );
            }
            continue;
        }
        if log != Log::Quiet {
            crate::log_line!("#{id} client {peer} connected");
        }
        let admitted = Admitted(Arc::clone(shared));
        let spawned = thread::Builder::new()
            .name(format!("#{id} up"))
            .stack_size(forward::STACK)
            .spawn(move || {
                forward::connection(admitted, id, client, started);
            });
        if let Err(e) = spawned {
            // The closure, and the place it held, are dropped with the error.
            crate::log_error!("#{id} {peer} refused: cannot start a thread: {e}");
        }
    }
}
// ANCHOR_END: accept_loop

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn timeouts(stream: &TcpStream) {
        let limit = Some(Duration::from_secs(10));
        stream.set_read_timeout(limit).unwrap();
        stream.set_write_timeout(limit).unwrap();
    }

    #[test]
    fn a_proxy_started_in_process_forwards_until_stopped() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let to = server.local_addr().unwrap().to_string();
        let sliced = Toxics {
            slice: Some(1),
            ..Toxics::default()
        };
        let running = start("127.0.0.1:0", &to, sliced, Toxics::default()).unwrap();
        assert_ne!(running.addr().port(), 0, "the real port");
        let client = TcpStream::connect(running.addr()).unwrap();
        timeouts(&client);
        let (upstream, _) = server.accept().unwrap();
        timeouts(&upstream);
        (&client).write_all(b"hi").unwrap();
        let mut got = [0u8; 2];
        (&upstream).read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hi");
        assert_eq!(running.connections(), 1);
        let stopping = Instant::now();
        running.stop();
        assert!(
            stopping.elapsed() < Running::GRACE,
            "stopped without waiting out the grace"
        );
        // Both sides see the end of their connection.
        assert_eq!((&client).read(&mut got).unwrap_or(0), 0);
        assert_eq!((&upstream).read(&mut got).unwrap_or(0), 0);
    }

    #[test]
    fn sliced_bytes_wait_longer_after_a_message_starts_and_inside_a_character() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let to = server.local_addr().unwrap().to_string();
        let cut = Duration::from_millis(200);
        let sliced = Toxics {
            slice: Some(1),
            gap_at_cuts: cut,
            ..Toxics::default()
        };
        let running = start("127.0.0.1:0", &to, sliced, Toxics::default()).unwrap();
        let client = TcpStream::connect(running.addr()).unwrap();
        let (upstream, _) = server.accept().unwrap();
        timeouts(&upstream);
        let sent = Instant::now();
        (&client).write_all("abé".as_bytes()).unwrap();
        let mut got = [0u8; 4];
        (&upstream).read_exact(&mut got).unwrap();
        assert_eq!(&got, "abé".as_bytes());
        // Two cuts: after `a` (the first byte of the message) and between
        // the two bytes of `é`; none between `b` and `é`. Checked from below
        // only: a busy machine makes everything later, never sooner.
        assert!(sent.elapsed() >= 2 * cut, "{:?}", sent.elapsed());
    }

    #[test]
    fn a_server_address_that_cannot_work_is_refused_at_start() {
        let e = start(
            "127.0.0.1:0",
            "127.0.0.1:notaport",
            Toxics::default(),
            Toxics::default(),
        )
        .err()
        .expect("a bad address");
        assert!(
            e.to_string()
                .starts_with("cannot forward to 127.0.0.1:notaport"),
            "{e}"
        );
    }

    /// Two ends of one loopback connection: the outer one for the test, the
    /// inner one for the proxy.
    fn pair() -> io::Result<(TcpStream, TcpStream)> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let outer = TcpStream::connect(listener.local_addr()?)?;
        let (inner, _) = listener.accept()?;
        timeouts(&outer);
        Ok((outer, inner))
    }

    /// A client vanishes while the server is still sending. The proxy shuts
    /// the server's socket, and the server's next bytes make the proxy's own
    /// system reset that connection: the server did nothing wrong, and its
    /// side must not be heard as a reset (a grader would blame the server).
    #[test]
    fn a_reset_the_proxy_caused_is_not_heard_as_the_server_s() -> io::Result<()> {
        use std::sync::mpsc;
        let (client, client_inner) = pair()?;
        let (server, server_inner) = pair()?;
        let (heard_tx, heard) = mpsc::channel::<(Direction, &'static str)>();
        let (go_tx, go) = mpsc::channel::<()>();
        let go = Mutex::new(go);
        let tap: Tap = Arc::new(move |_, dir, what| {
            let kind = match what {
                Heard::Bytes(_) => "bytes",
                Heard::End => "end",
                Heard::Reset(_) => "reset",
                Heard::Failed(_) => "failed",
            };
            let _ = heard_tx.send((dir, kind));
            // The down direction pauses after its first write, as a busy
            // machine may pause it, until the test has set the scene.
            if (dir, kind) == (Direction::Down, "bytes") {
                let lock = go.lock().unwrap_or_else(PoisonError::into_inner);
                let _ = lock.recv_timeout(Duration::from_secs(10));
            }
        });
        let relay = thread::spawn(move || {
            Proxy::new("127.0.0.1:1").forward_between(client_inner, server_inner, Some(tap))
        });
        let next = |what: &str| {
            heard
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("the tap heard nothing within 10s; expected {what}"))
        };
        (&server).write_all(b"yy")?;
        assert_eq!(next("the server's bytes"), (Direction::Down, "bytes"));
        // The client reads one byte and vanishes with the other unread:
        // its system resets the connection.
        (&client).read_exact(&mut [0u8])?;
        drop(client);
        assert_eq!(next("the client's reset"), (Direction::Up, "reset"));
        // The proxy shut the server's socket (its FIN arrives), and the
        // server goes on sending, which the proxy's system answers with an
        // RST: a write fails once it is back.
        assert_eq!((&server).read(&mut [0u8; 8])?, 0, "the proxy's FIN");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut reset = false;
        while !reset && Instant::now() < deadline {
            reset = (&server).write_all(b"z").is_err();
            thread::yield_now();
        }
        // Linux resets for certain; other systems may drop the bytes
        // instead, and the proxy then reads an end of stream.
        assert!(
            reset || !cfg!(target_os = "linux"),
            "the proxy's system did not reset the connection within 10s"
        );
        let _ = go_tx.send(());
        let (dir, kind) = next("the end of the server's side");
        assert_eq!(dir, Direction::Down);
        assert_ne!(
            kind, "reset",
            "the proxy's own reset was heard as the server's"
        );
        match relay.join() {
            Ok(forwarded) => forwarded,
            Err(_) => panic!("the relay's thread panicked"),
        }
    }

    #[test]
    fn dropping_a_running_proxy_stops_it() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let to = server.local_addr().unwrap().to_string();
        let running = start("127.0.0.1:0", &to, Toxics::default(), Toxics::default()).unwrap();
        let addr = running.addr();
        drop(running);
        assert!(
            TcpStream::connect(addr).is_err(),
            "nothing listens after the drop"
        );
    }
}
