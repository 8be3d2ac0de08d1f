//! Lesson 03's server on one thread: an event loop over non-blocking
//! sockets, with `mio` (epoll on Linux, kqueue on macOS and the BSDs, IOCP
//! on Windows).
//!
//! A thread of lesson 03 keeps its client's state on its own stack, and
//! waits in `read` or `write_all` until that one socket is ready. Here one
//! thread serves everyone, so it may never wait for any one socket: every
//! socket is non-blocking (a `read` with nothing to read returns the error
//! `WouldBlock` at once), and the thread waits in one place only,
//! [`Poll::poll`], which says which sockets have become ready. What a
//! client's thread kept on its stack between two calls is kept in a
//! [`Connection`]: an explicit state machine, advanced one event at a time.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

use lessons::framing::{self, LineBuffer, LineError};
use lessons::stop::{self, Signals};
use lessons::{cli, reverse};

use crate::{Config, REPLY_QUEUE_LIMIT};

// ANCHOR: state
/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading lines and answering them.
    Serving,
    /// The client has sent everything (end of stream): write what is
    /// queued, then close.
    Finishing,
    /// Our last line (an error) is queued: write it, shut our side down, and
    /// read and discard what the client still sends until it closes, or
    /// [`framing::CLOSE_DRAIN_BYTES`] came, or the deadline passed (what
    /// [`framing::say_and_close`] does in lesson 03, without waiting).
    Closing { shut_down: bool, budget: usize },
    /// Nothing left to do: close the socket.
    Done,
}

/// One client between two events: what a thread of lesson 03 keeps on its
/// stack (its `BufReader`, the line it is reading, where it is in
/// `write_all`) kept here instead, because the thread moves on to the next
/// socket after each step.
#[derive(Debug)]
pub struct Connection {
    /// Bytes read but not yet a whole line.
    unread: LineBuffer,
    /// Replies queued but not yet written: `unsent[written..]`.
    unsent: Vec<u8>,
    written: usize,
    phase: Phase,
    /// When the current round (a whole line, then its reply) or the
    /// closing runs out of time; `None`: never.
    deadline: Option<Instant>,
    /// Why the connection ended, for the log (`None`: nothing went wrong).
    why: Option<String>,
    config: Config,
}
// ANCHOR_END: state

impl Connection {
    /// A client that has just connected.
    pub fn new(config: Config, now: Instant) -> Connection {
        Connection {
            unread: LineBuffer::default(),
            unsent: Vec::new(),
            written: 0,
            phase: Phase::Serving,
            deadline: config.idle_timeout.map(|t| now + t),
            why: None,
            config,
        }
    }

    /// When [`Connection::on_deadline`] must be called, if ever.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Why the connection ended, once [`Connection::on_ready`] returned `None`.
    pub fn why(&self) -> Option<&str> {
        self.why.as_deref()
    }

    // ANCHOR: on_ready
    /// Does all the socket allows now, and returns what to wait for next
    /// (`None`: close it).
    ///
    /// Called for every event, readable or writable alike: mio's readiness
    /// is edge-triggered, so an event means "something changed", and only
    /// `WouldBlock` means "that is all for now". Stop before it and no new
    /// event will come for the bytes already waiting.
    pub fn on_ready(&mut self, stream: &mut TcpStream, scratch: &mut [u8]) -> Option<Interest> {
        if let Err(e) = self.advance(stream, scratch) {
            if self.phase != Phase::Done && !matches!(self.phase, Phase::Closing { .. }) {
                self.why = Some(cli::describe(&e));
            }
            self.phase = Phase::Done;
        }
        self.interest()
    }

    fn advance(&mut self, stream: &mut TcpStream, scratch: &mut [u8]) -> io::Result<()> {
        loop {
            // Replies first: what is written makes room to read more.
            self.write_queued(stream)?;
            if self.unsent.is_empty() {
                match self.phase {
                    Phase::Finishing => self.phase = Phase::Done,
                    Phase::Closing {
                        shut_down: false,
                        budget,
                    } => {
                        // The client may be gone already: nobody to tell.
                        let _ = stream.shutdown(Shutdown::Write);
                        self.phase = Phase::Closing {
                            shut_down: true,
                            budget,
                        };
                    }
                    _ => {}
                }
            }
            if !self.wants_to_read() {
                return Ok(());
            }
            match stream.read(scratch) {
                Ok(0) => self.end_of_stream(),
                Ok(n) => self.received(&scratch[..n]),
                // Nothing more to read for now: the next event will say.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
    // ANCHOR_END: on_ready

    // ANCHOR: back_pressure
    /// Reading goes on only while the client takes its replies: past
    /// [`REPLY_QUEUE_LIMIT`] bytes queued, the connection waits for
    /// writable alone. The client's bytes then stay in the kernel's buffers,
    /// which fill up, and TCP's flow control stops the client's sends.
    fn wants_to_read(&self) -> bool {
        match self.phase {
            Phase::Serving => self.unsent.len() - self.written < REPLY_QUEUE_LIMIT,
            Phase::Closing { .. } => true,
            Phase::Finishing | Phase::Done => false,
        }
    }

    /// The events worth waiting for: readable while we want to read,
    /// writable only while replies are queued. Asking for writable with
    /// nothing to write would wake the loop for nothing.
    fn interest(&mut self) -> Option<Interest> {
        let read = self.wants_to_read().then_some(Interest::READABLE);
        let write = (self.phase != Phase::Done && self.written < self.unsent.len())
            .then_some(Interest::WRITABLE);
        let interest = match (read, write) {
            (Some(r), Some(w)) => Some(r | w),
            (one, other) => one.or(other),
        };
        if interest.is_none() {
            self.phase = Phase::Done;
        }
        interest
    }
    // ANCHOR_END: back_pressure

    // ANCHOR: write_queued
    /// Writes queued replies until they are all gone or the socket takes no
    /// more (`WouldBlock`: its send buffer is full). A partial write is
    /// normal: `written` remembers where to go on.
    fn write_queued(&mut self, stream: &mut TcpStream) -> io::Result<()> {
        if self.unsent.is_empty() {
            return Ok(());
        }
        while self.written < self.unsent.len() {
            match stream.write(&self.unsent[self.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        // Everything is written: the round is over, its clock starts again
        // (as lesson 03's loop starts a new deadline for the next line).
        self.unsent = if self.unsent.capacity() > REPLY_QUEUE_LIMIT {
            Vec::new() // an idle client keeps no big buffer
        } else {
            std::mem::take(&mut self.unsent)
        };
        self.unsent.clear();
        self.written = 0;
        if self.phase == Phase::Serving {
            self.deadline = self.config.idle_timeout.map(|t| Instant::now() + t);
        }
        Ok(())
    }
    // ANCHOR_END: write_queued

    // ANCHOR: received
    /// What one `read` returned: frame the lines it completes, queue a
    /// reply for each.
    fn received(&mut self, bytes: &[u8]) {
        match self.phase {
            Phase::Closing { shut_down, budget } => {
                let budget = budget.saturating_sub(bytes.len());
                self.phase = if budget == 0 {
                    Phase::Done
                } else {
                    Phase::Closing { shut_down, budget }
                };
            }
            Phase::Serving if self.config.raw => {
                // The original's mistake, kept for the lesson: one read
                // taken as one message, its bytes reversed.
                self.unsent.extend(bytes.iter().rev());
            }
            Phase::Serving => {
                self.unread.extend(bytes);
                while self.phase == Phase::Serving {
                    let Some(line) = self.unread.next_line(self.config.max_line) else {
                        break;
                    };
                    self.answer(line);
                }
            }
            Phase::Finishing | Phase::Done => {}
        }
    }

    /// Queues the reply to one line, as lesson 03's `serve_lines` writes it.
    fn answer(&mut self, line: Result<String, LineError>) {
        match line {
            Ok(line) => {
                self.unsent
                    .extend_from_slice(reverse::reverse_chars(&line).as_bytes());
                self.unsent.push(b'\n');
            }
            Err(LineError::NotUtf8) => self
                .unsent
                .extend_from_slice(b"error: line is not valid UTF-8\n"),
            Err(e) => self.say_and_close(&format!("error: {e}; closing the connection"), None),
        }
        if !self.config.block.is_zero() {
            // The mistake this flag is for: a blocking call in the loop's
            // only thread. Every other client waits while it sleeps.
            std::thread::sleep(self.config.block);
        }
    }
    // ANCHOR_END: received

    /// The client has closed its side: its last line without a newline is
    /// still answered, as `read_line` hands it over.
    fn end_of_stream(&mut self) {
        match self.phase {
            Phase::Serving => {
                if let Some(line) = self.unread.last_line(self.config.max_line) {
                    self.answer(line);
                }
                if self.phase == Phase::Serving {
                    self.phase = Phase::Finishing;
                }
            }
            _ => self.phase = Phase::Done,
        }
    }

    /// Queues a last line and starts closing: lesson 03's
    /// [`framing::say_and_close`], a step at a time.
    fn say_and_close(&mut self, line: &str, why: Option<String>) {
        self.unsent.extend_from_slice(line.as_bytes());
        self.unsent.push(b'\n');
        self.phase = Phase::Closing {
            shut_down: false,
            budget: framing::CLOSE_DRAIN_BYTES,
        };
        self.deadline = Some(Instant::now() + framing::CLOSE_DRAIN_TIME);
        self.why = why;
    }

    // ANCHOR: on_deadline
    /// The deadline has passed: the client has had its time for the round
    /// (or for the closing).
    pub fn on_deadline(&mut self, stream: &mut TcpStream, scratch: &mut [u8]) -> Option<Interest> {
        let stalled = self.written < self.unsent.len();
        match (self.phase, self.config.idle_timeout) {
            (Phase::Serving | Phase::Finishing, _) if stalled => {
                self.why = Some("the client stopped reading its replies".into());
                self.phase = Phase::Done;
            }
            (Phase::Serving, Some(idle)) => {
                let why = format!("idle for {}", cli::seconds(idle));
                self.say_and_close(&format!("error: {why}; closing the connection"), Some(why));
                return self.on_ready(stream, scratch);
            }
            _ => self.phase = Phase::Done,
        }
        self.interest()
    }
    // ANCHOR_END: on_deadline
}

/// A client of the loop: its socket, its address and its state.
struct Client {
    stream: TcpStream,
    peer: SocketAddr,
    conn: Connection,
    /// What the poller was last told to wait for on this socket.
    interest: Interest,
}

/// The listener's token; clients get 2, 3, 4, ... (never reused, so an
/// event for a client that has gone cannot reach a newer one).
const LISTENER: Token = Token(0);

/// The token of the waker that a signal wakes: stop. (Not `usize::MAX`:
/// mio keeps that one for itself.)
const STOP: Token = Token(1);

// ANCHOR: serve
/// Serves every client on this one thread, until SIGINT or SIGTERM
/// (Ctrl-C on Windows) or an error of the poller.
pub fn serve(listener: std::net::TcpListener, config: Config, signals: Signals) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut listener = TcpListener::from_std(listener);
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    // A signal is seen by `lessons::stop`'s thread, while this one sleeps in
    // `poll`. A waker is an event source of the poller's own (an eventfd on
    // Linux, a kqueue user event on macOS, a completion on Windows): the
    // signal's thread wakes `poll` with it, and nobody looks at a flag in a
    // loop. The loop keeps the waker too: closed by the other thread right
    // after waking, it would leave the poller with its event unseen.
    let waker = Arc::new(Waker::new(poll.registry(), STOP)?);
    let wake = Arc::clone(&waker);
    signals.on_signal(move |_| {
        if let Err(e) = wake.wake() {
            // The loop goes on; a second signal still ends the process.
            lessons::log_error!("cannot stop the event loop: {}", cli::describe(&e));
        }
    })?;
    let mut events = Events::with_capacity(1024);
    let mut clients: HashMap<Token, Client> = HashMap::new();
    let mut accepts = Accepts {
        next: 2,
        backoff: cli::Backoff::new(),
        paused_until: None,
    };
    // One read buffer for all: an idle client costs no buffer at all.
    let mut scratch = vec![0u8; 64 * 1024];
    loop {
        // Sleep until an event, or the nearest deadline. A scan of every
        // client: fine for a lesson; a big server keeps its timers in order
        // (a heap, or a timer wheel as Tokio does).
        let wake = clients
            .values()
            .filter_map(|c| c.conn.deadline())
            .chain(accepts.paused_until)
            .min();
        let timeout = wake.map(|t| t.saturating_duration_since(Instant::now()));
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in &events {
            let token = event.token();
            if token == STOP {
                return stop(&listener, clients);
            } else if token == LISTENER {
                if accepts.paused_until.is_none() {
                    accepts.take_all(&listener, &poll, &mut clients, config);
                }
            } else if let Some(client) = clients.get_mut(&token) {
                let next = client.conn.on_ready(&mut client.stream, &mut scratch);
                settle(&poll, &mut clients, token, next);
            }
        }
        let now = Instant::now();
        let due: Vec<Token> = clients
            .iter()
            .filter(|(_, c)| c.conn.deadline().is_some_and(|d| d <= now))
            .map(|(token, _)| *token)
            .collect();
        for token in due {
            if let Some(client) = clients.get_mut(&token) {
                let next = client.conn.on_deadline(&mut client.stream, &mut scratch);
                settle(&poll, &mut clients, token, next);
            }
        }
        if accepts.paused_until.is_some_and(|t| t <= now) {
            // No event will say that accepting may work again: try.
            accepts.paused_until = None;
            accepts.take_all(&listener, &poll, &mut clients, config);
        }
    }
}
// ANCHOR_END: serve

// ANCHOR: stop
/// After a signal: what `lessons::stop` does for lesson 03's server, done by
/// the loop itself. The connections still waiting in the listener's queue
/// are taken and closed, and dropping the clients closes their sockets: a
/// clean end of stream for each, as when lesson 03's process exits.
fn stop(listener: &TcpListener, clients: HashMap<Token, Client>) -> io::Result<()> {
    stop::close_waiting(|| listener.accept());
    drop(clients);
    lessons::log_line!("server stopped");
    Ok(())
}
// ANCHOR_END: stop

/// Tells the poller what a client waits for now, or closes it.
fn settle(poll: &Poll, clients: &mut HashMap<Token, Client>, token: Token, next: Option<Interest>) {
    let Some(client) = clients.get_mut(&token) else {
        return;
    };
    let failed = match next {
        Some(interest) if interest == client.interest => return,
        Some(interest) => {
            client.interest = interest;
            match poll
                .registry()
                .reregister(&mut client.stream, token, interest)
            {
                Ok(()) => return,
                Err(e) => Some(cli::describe(&e)),
            }
        }
        None => None,
    };
    let Some(mut client) = clients.remove(&token) else {
        return;
    };
    // Dropping the stream closes it, and a closed socket leaves the poller
    // by itself; deregistering first says so plainly.
    let _ = poll.registry().deregister(&mut client.stream);
    let peer = client.peer;
    match failed.as_deref().or(client.conn.why()) {
        Some(why) => lessons::log_line!("client {peer} disconnected: {why}"),
        None => lessons::log_line!("client {peer} disconnected"),
    }
}

/// The accept side of the loop.
struct Accepts {
    /// The next client's token.
    next: usize,
    backoff: cli::Backoff,
    /// Out of descriptors or memory: no accepts until then.
    paused_until: Option<Instant>,
}

impl Accepts {
    /// Accepts every client waiting, until `WouldBlock` (edge-triggered: a
    /// connection left in the queue would get no event of its own).
    fn take_all(
        &mut self,
        listener: &TcpListener,
        poll: &Poll,
        clients: &mut HashMap<Token, Client>,
        config: Config,
    ) {
        loop {
            match listener.accept() {
                Ok((mut stream, peer)) => {
                    self.backoff.recovered();
                    lessons::log_line!("client {peer} connected");
                    let token = Token(self.next);
                    self.next += 1;
                    if let Err(e) = poll
                        .registry()
                        .register(&mut stream, token, Interest::READABLE)
                    {
                        lessons::log_line!("client {peer} disconnected: {}", cli::describe(&e));
                        continue;
                    }
                    let conn = Connection::new(config, Instant::now());
                    let interest = Interest::READABLE;
                    clients.insert(
                        token,
                        Client {
                            stream,
                            peer,
                            conn,
                            interest,
                        },
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if cli::one_clients_trouble(&e) => {
                    lessons::log_error!(
                        "a client was lost while connecting: {}",
                        cli::describe(&e)
                    );
                }
                Err(e) => {
                    // Sleeping here would stop every client: pause accepts
                    // only, and let the loop serve the others meanwhile.
                    self.paused_until = Some(Instant::now() + self.backoff.pause(&e));
                    return;
                }
            }
        }
    }
}
