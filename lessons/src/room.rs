//! Lesson 05: a multi-client server with one console that can address each
//! client.
//!
//! The original gave every client two threads, and every client's sending
//! thread called `input()` on the one console: with two clients, nobody
//! could tell which client a typed line would go to. Here each resource has
//! exactly one owner, and the others send it messages:
//!
//! - the **console thread** owns stdin. It turns each typed line into a
//!   [`Command`] and sends it on;
//! - the **accept thread** owns the listener and sends each new connection;
//! - each client's **reader thread** owns the reading side of its socket and
//!   sends each line it frames;
//! - each client's **writer thread** owns the writing side and sends what
//!   arrives in its queue, a *bounded* channel;
//! - the **hub**, on the main thread, owns the table of clients. Everything
//!   above arrives on its one channel as an `Event`, one at a time, and the
//!   hub decides: log, relay, reply, kick, quit.
//!
//! Why no `Mutex` around the table of clients? Because only the hub ever
//! touches it. A shared, locked table would work too, but then every thread
//! must take the lock, a lock held while writing to a slow client stalls
//! everybody, and the order in which lines reach the clients depends on who
//! wins the lock. With one owner and a channel, the order is the order of
//! the events, and nothing can deadlock.
//!
//! Why can a slow client not stall the others? The hub never writes to a
//! socket. It puts the line in each client's queue with `try_send`, which
//! never blocks; if a queue is full, that client has stopped reading
//! (thousands of lines behind), and it is dropped.
//!
//! What the clients receive: `[#N] text` (a line of client N), `[server]
//! text` (typed on the console), `* ...` (notices: joins, leaves), and
//! `error: ...`. On stdout the server logs every client line as
//! `[#N ip:port] text`; console errors go to stderr.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TrySendError};
use std::thread;
use std::time::Duration;

use crate::cli;
use crate::framing::{self, LineError};

/// The default for `--max-clients`.
pub const DEFAULT_MAX_CLIENTS: usize = 64;

/// How many lines may wait for one client. A client this far behind has
/// stopped reading, and is dropped.
pub const QUEUE_LINES: usize = 1024;

/// How many events may wait for the hub. When the hub is busy, readers wait
/// here, which in turn makes TCP slow down a client that floods us.
const EVENT_QUEUE: usize = 1024;

/// A write that makes no progress for this long means the client is gone.
/// (On Linux the hub's `shutdown` wakes such a write at once; the timeout is
/// what frees the writer on every system.)
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long `/quit` waits for the writers to send their last lines.
const QUIT_GRACE: Duration = Duration::from_secs(2);

/// The limits of the server.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// More clients than this are refused with `error: server full`.
    pub max_clients: usize,
    /// The longest line accepted, in bytes.
    pub max_line: usize,
    /// Drop a client that sends nothing for this long (`None`: never). A
    /// client that only listens counts as idle too.
    pub idle_timeout: Option<Duration>,
}

// ANCHOR: command
/// What can be typed on the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Plain text: to every client, as `[server] text`.
    Say(String),
    /// `/to N text`: to client N only.
    To(usize, String),
    /// `/list`: the connected clients.
    List,
    /// `/kick N`: disconnect client N.
    Kick(usize),
    /// `/quit`: tell the clients, close them, exit.
    Quit,
}

/// Why a console line is not a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    Unknown(String),
    Usage(&'static str),
    BadId(String),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unknown(name) => write!(
                f,
                "unknown command {name} (commands: /to N text, /list, /kick N, /quit; \
                 start with // to send a line that starts with /)"
            ),
            CommandError::Usage(usage) => write!(f, "usage: {usage}"),
            CommandError::BadId(id) => write!(f, "{id:?} is not a client number (see /list)"),
        }
    }
}

impl std::error::Error for CommandError {}

impl Command {
    /// Parses one console line. A line that does not start with `/` is text
    /// for everyone; `//` sends a line that starts with `/`.
    pub fn parse(line: &str) -> Result<Command, CommandError> {
        let Some(command) = line.strip_prefix('/') else {
            return Ok(Command::Say(line.to_string()));
        };
        if command.starts_with('/') {
            return Ok(Command::Say(command.to_string()));
        }
        let (name, args) = command.split_once(' ').unwrap_or((command, ""));
        let args = args.trim();
        match name {
            "to" => {
                let (id, text) = args
                    .split_once(' ')
                    .ok_or(CommandError::Usage("/to N text"))?;
                Ok(Command::To(parse_id(id)?, text.trim_start().to_string()))
            }
            "kick" if args.is_empty() => Err(CommandError::Usage("/kick N")),
            "kick" => Ok(Command::Kick(parse_id(args)?)),
            "list" if args.is_empty() => Ok(Command::List),
            "list" => Err(CommandError::Usage("/list")),
            "quit" if args.is_empty() => Ok(Command::Quit),
            "quit" => Err(CommandError::Usage("/quit")),
            _ => Err(CommandError::Unknown(format!("/{name}"))),
        }
    }
}

/// A client number, written `2` or `#2`.
fn parse_id(id: &str) -> Result<usize, CommandError> {
    id.strip_prefix('#')
        .unwrap_or(id)
        .parse()
        .map_err(|_| CommandError::BadId(id.to_string()))
}
// ANCHOR_END: command

/// Everything the hub hears about, on its one channel.
enum Event {
    /// The accept thread has a new connection.
    Arrived(TcpStream, SocketAddr),
    /// Client `id` sent a line.
    Line { id: usize, text: String },
    /// Client `id` sent a line that is not UTF-8 (it has been skipped).
    NotUtf8 { id: usize },
    /// Client `id`'s reader has stopped.
    Gone { id: usize, why: Why },
    /// The console thread has a command.
    Console(Command),
}

/// Why a client leaves.
enum Why {
    Left,
    Failed(io::Error),
    TooLong(usize),
    Idle(Duration),
    Kicked,
    TooSlow,
}

/// What the hub keeps about one client.
struct Client {
    addr: SocketAddr,
    /// Shared with the client's reader and writer threads; the hub keeps it
    /// to shut the connection down when it drops a client.
    stream: Arc<TcpStream>,
    /// The client's bounded queue; its writer thread holds the other end.
    queue: SyncSender<Arc<str>>,
}

/// The owner of the table of clients.
struct Hub {
    config: Config,
    clients: BTreeMap<usize, Client>,
    next_id: usize,
    /// Cloned into every reader thread.
    events: SyncSender<Event>,
    /// Cloned into every writer thread, which drops it when it ends; see
    /// [`Hub::quit`].
    writers_alive: Sender<()>,
}

// ANCHOR: serve
/// Runs the server until `/quit` is typed on `console`.
///
/// When this returns, the accept thread is still blocked in `accept` and
/// the console thread may be blocked reading stdin; neither can be
/// interrupted with std alone. They do not need to be: returning from
/// `main` ends the process and all its threads. What must not be cut short
/// is the clients' last lines, so the hub waits for the writer threads (and
/// only for them) before it returns.
pub fn serve(
    listener: TcpListener,
    config: Config,
    console: impl BufRead + Send + 'static,
) -> io::Result<()> {
    let (events_tx, events) = mpsc::sync_channel(EVENT_QUEUE);
    let (writers_alive, all_writers_done) = mpsc::channel();
    let accept_events = events_tx.clone();
    thread::Builder::new()
        .name("accept".into())
        .spawn(move || accept_clients(listener, accept_events))?;
    let console_events = events_tx.clone();
    thread::Builder::new()
        .name("console".into())
        .spawn(move || read_console(console, config.max_line, console_events))?;
    let mut hub = Hub {
        config,
        clients: BTreeMap::new(),
        next_id: 1,
        events: events_tx,
        writers_alive,
    };
    hub.run(events);
    hub.quit(all_writers_done);
    Ok(())
}
// ANCHOR_END: serve

/// Hands every new connection to the hub.
fn accept_clients(listener: TcpListener, events: SyncSender<Event>) {
    for (stream, addr) in crate::cli::clients(&listener) {
        if events.send(Event::Arrived(stream, addr)).is_err() {
            return; // the hub has stopped
        }
    }
}

// ANCHOR: console
/// The one thread that reads the console: each line becomes a command for
/// the hub. A mistyped command is answered here, at once.
fn read_console(mut console: impl BufRead, max_line: usize, events: SyncSender<Event>) {
    loop {
        let line = match framing::read_line(&mut console, max_line) {
            Ok(Some(line)) => line,
            Ok(None) => {
                crate::log_error!("console closed; the server goes on (stop it with Ctrl-C)");
                return;
            }
            Err(LineError::NotUtf8) => {
                crate::log_error!("error: the line typed is not valid UTF-8");
                continue;
            }
            Err(e @ LineError::TooLong { .. }) => {
                crate::log_error!("error: {e}; ignored");
                // Skip the rest of it, or it would be read as a new line.
                match console.skip_until(b'\n') {
                    Ok(_) => continue,
                    Err(_) => return,
                }
            }
            Err(LineError::Io(e)) => {
                crate::log_error!("error: cannot read the console: {e}");
                return;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        match Command::parse(&line) {
            Ok(command) => {
                if events.send(Event::Console(command)).is_err() {
                    return;
                }
            }
            Err(e) => crate::log_error!("error: {e}"),
        }
    }
}
// ANCHOR_END: console

// ANCHOR: reader
/// Frames one client's lines and hands them to the hub, until the client
/// leaves.
fn read_lines(stream: &TcpStream, id: usize, max_line: usize, events: SyncSender<Event>) {
    let mut reader = BufReader::new(stream);
    let why = loop {
        let event = match framing::read_line(&mut reader, max_line) {
            Ok(Some(text)) => Event::Line { id, text },
            Ok(None) => break Why::Left,
            // The bad line has been consumed; the connection can go on.
            Err(LineError::NotUtf8) => Event::NotUtf8 { id },
            Err(LineError::TooLong { max }) => break Why::TooLong(max),
            // Only with `--idle-timeout`: the client sent nothing for that long.
            Err(LineError::Io(e)) if cli::is_timeout(&e) => {
                break Why::Idle(stream.read_timeout().ok().flatten().unwrap_or_default());
            }
            Err(LineError::Io(e)) => break Why::Failed(e),
        };
        if events.send(event).is_err() {
            return;
        }
    };
    let too_long = matches!(why, Why::TooLong(_));
    let _ = events.send(Event::Gone { id, why });
    if too_long {
        // The hub sends the error and closes. Meanwhile keep reading what
        // the client still sends, and throw it away: closing a socket with
        // unread bytes makes the system send a reset, which can destroy the
        // error line before the client reads it (see `framing::say_and_close`).
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let _ = io::copy(&mut stream.take(4 * 1024 * 1024), &mut io::sink());
    }
}
// ANCHOR_END: reader

// ANCHOR: writer
/// Sends what arrives in one client's queue, until the hub drops the
/// queue's sender: then sends what is left, and half-closes.
fn write_queued(stream: &TcpStream, queue: Receiver<Arc<str>>) {
    let mut out = BufWriter::new(stream);
    // `recv` waits for the next line; it fails once the hub has dropped the
    // sender and the queue is empty.
    while let Ok(line) = queue.recv() {
        // Take every line already waiting, then flush once: one system call
        // for many lines when the client is busy, one per line when not.
        let sent = write_line(&mut out, &line)
            .and_then(|()| {
                queue
                    .try_iter()
                    .try_for_each(|line| write_line(&mut out, &line))
            })
            .and_then(|()| out.flush());
        if sent.is_err() {
            // The client is gone. Returning drops the receiver, so the
            // hub's next `try_send` reports it; the reader sees it too.
            return;
        }
    }
    let _ = out.flush();
    let _ = stream.shutdown(Shutdown::Write);
}

fn write_line(out: &mut impl Write, line: &str) -> io::Result<()> {
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")
}
// ANCHOR_END: writer

impl Hub {
    // ANCHOR: hub_loop
    /// Handles events, one at a time, until the console says `/quit`.
    fn run(&mut self, events: Receiver<Event>) {
        // The hub holds a sender itself (to give to new readers), so the
        // channel never runs dry: only `/quit` ends this loop.
        for event in events {
            match event {
                Event::Arrived(stream, addr) => self.join(stream, addr),
                Event::Line { id, text } => self.relay(id, &text),
                Event::NotUtf8 { id } => self.send(&[id], "error: line is not valid UTF-8"),
                Event::Gone { id, why } => self.remove(id, why),
                Event::Console(Command::Quit) => return,
                Event::Console(command) => self.obey(command),
            }
        }
    }
    // ANCHOR_END: hub_loop

    /// Registers a new client and starts its reader and writer threads.
    fn join(&mut self, stream: TcpStream, addr: SocketAddr) {
        if self.clients.len() >= self.config.max_clients {
            crate::log_line!("client {addr} refused: server full");
            // `say_and_close` may wait up to a second for the client to
            // stop sending; the hub must never wait, so it runs on a thread.
            let refused = thread::Builder::new()
                .name("refuse".into())
                .spawn(move || framing::say_and_close(&stream, "error: server full"));
            if let Err(e) = refused {
                crate::log_error!("client {addr} dropped: cannot start a thread: {e}");
            }
            return;
        }
        let id = self.next_id;
        let (queue, lines) = mpsc::sync_channel(QUEUE_LINES);
        let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
        let _ = stream.set_read_timeout(self.config.idle_timeout);
        // One socket, three users (reader, writer, hub): `Read` and `Write`
        // are implemented for `&TcpStream`, so an `Arc` can share it.
        // `try_clone` would work too, but costs a descriptor per handle.
        let stream = Arc::new(stream);
        let writer = thread::Builder::new().name(format!("#{id} writer")).spawn({
            let stream = Arc::clone(&stream);
            let alive = self.writers_alive.clone();
            move || {
                write_queued(&stream, lines);
                drop(alive);
            }
        });
        let reader = writer.and_then(|_| {
            let stream = Arc::clone(&stream);
            let events = self.events.clone();
            let max_line = self.config.max_line;
            thread::Builder::new()
                .name(format!("#{id} reader"))
                .spawn(move || read_lines(&stream, id, max_line, events))
        });
        if let Err(e) = reader {
            // Dropping `queue` ends the writer, if it started.
            crate::log_error!("client {addr} dropped: cannot start a thread: {e}");
            return;
        }
        self.next_id += 1;
        crate::log_line!("client {addr} connected as #{id}");
        let others: Vec<usize> = self.clients.keys().copied().collect();
        self.clients.insert(
            id,
            Client {
                addr,
                stream,
                queue,
            },
        );
        let online = others.len();
        self.send(
            &[id],
            &format!("* welcome, you are #{id} ({online} others online)"),
        );
        self.send(&others, &format!("* #{id} joined"));
    }

    /// Logs a client's line and passes it to everyone else.
    fn relay(&mut self, id: usize, text: &str) {
        // Lines from a client that was just kicked may still be on the way.
        let Some(client) = self.clients.get(&id) else {
            return;
        };
        crate::log_line!("[#{id} {}] {text}", client.addr);
        let others: Vec<usize> = self.clients.keys().copied().filter(|&o| o != id).collect();
        self.send(&others, &format!("[#{id}] {text}"));
    }

    // ANCHOR: send
    /// Puts `line` in the queue of each client in `ids`, without ever
    /// waiting: a client whose queue is full is dropped.
    fn send(&mut self, ids: &[usize], line: &str) {
        // One allocation, shared by every queue.
        let line: Arc<str> = Arc::from(line);
        let mut failed = Vec::new();
        for id in ids {
            let Some(client) = self.clients.get(id) else {
                continue;
            };
            match client.queue.try_send(Arc::clone(&line)) {
                Ok(()) => {}
                // QUEUE_LINES lines behind: this client does not read.
                // Waiting for it would stall everybody else.
                Err(TrySendError::Full(_)) => failed.push((*id, Why::TooSlow)),
                // Its writer has stopped: the connection failed.
                Err(TrySendError::Disconnected(_)) => failed.push((*id, Why::Left)),
            }
        }
        for (id, why) in failed {
            self.remove(id, why);
        }
    }
    // ANCHOR_END: send

    /// Removes a client, logs why, and tells the others.
    fn remove(&mut self, id: usize, why: Why) {
        // Already removed (kicked, dropped): its reader reports it later.
        let Some(client) = self.clients.remove(&id) else {
            return;
        };
        let addr = client.addr;
        let notice = match why {
            Why::Left => {
                crate::log_line!("client {addr} disconnected (#{id})");
                format!("* #{id} left")
            }
            Why::Failed(e) => {
                crate::log_line!("client {addr} disconnected (#{id}): {e}");
                format!("* #{id} left")
            }
            Why::TooLong(max) => {
                crate::log_line!(
                    "client {addr} disconnected (#{id}): sent a line longer than {max} bytes"
                );
                let error = format!("error: line longer than {max} bytes; closing the connection");
                let _ = client.queue.try_send(error.into());
                format!("* #{id} left")
            }
            Why::Idle(idle) => {
                let why = format!("idle for {} s", idle.as_secs_f64());
                crate::log_line!("client {addr} disconnected (#{id}): {why}");
                let error = format!("error: {why}; closing the connection");
                let _ = client.queue.try_send(error.into());
                format!("* #{id} left")
            }
            Why::Kicked => {
                crate::log_line!("client {addr} kicked (#{id})");
                let _ = client.queue.try_send("* you have been kicked".into());
                format!("* #{id} was kicked")
            }
            Why::TooSlow => {
                crate::log_line!(
                    "client {addr} dropped (#{id}): it is not reading, {QUEUE_LINES} lines are waiting"
                );
                // No goodbye: it would not read it. Shut the socket down
                // now; on Linux that also wakes its writer, blocked in a
                // write (elsewhere the write timeout does).
                let _ = client.stream.shutdown(Shutdown::Both);
                format!("* #{id} was dropped (not reading)")
            }
        };
        // Dropping `client` drops the only sender of its queue: the writer
        // sends what is still queued, then half-closes.
        drop(client);
        let others: Vec<usize> = self.clients.keys().copied().collect();
        self.send(&others, &notice);
    }

    /// Carries out a console command (all but `/quit`).
    fn obey(&mut self, command: Command) {
        match command {
            Command::Say(text) => {
                let all: Vec<usize> = self.clients.keys().copied().collect();
                if all.is_empty() {
                    crate::log_error!("error: nobody is connected");
                }
                self.send(&all, &format!("[server] {text}"));
            }
            Command::To(id, text) => {
                if self.exists(id) {
                    self.send(&[id], &format!("[server] {text}"));
                }
            }
            Command::List => {
                crate::log_line!("clients: {}", self.clients.len());
                for (id, client) in &self.clients {
                    crate::log_line!("  #{id} {}", client.addr);
                }
            }
            Command::Kick(id) => {
                if self.exists(id) {
                    self.remove(id, Why::Kicked);
                }
            }
            // `run` handles it: quitting ends the loop, not just a command.
            Command::Quit => {}
        }
    }

    fn exists(&self, id: usize) -> bool {
        let found = self.clients.contains_key(&id);
        if !found {
            crate::log_error!("error: no client #{id} (see /list)");
        }
        found
    }

    // ANCHOR: quit
    /// Says goodbye to every client, closes them, and waits (a little) for
    /// the writers to deliver it.
    fn quit(self, all_writers_done: Receiver<()>) {
        crate::log_line!("shutting down: closing {} clients", self.clients.len());
        let goodbye: Arc<str> = Arc::from("* the server is shutting down");
        for client in self.clients.values() {
            let _ = client.queue.try_send(Arc::clone(&goodbye));
        }
        // Dropping the hub drops every queue's sender, so each writer sends
        // what is queued and half-closes; and it drops the hub's own
        // `writers_alive` sender. Each writer drops its clone when it ends,
        // so once the last one has ended, `recv` reports "disconnected":
        // the channel works as a countdown of running writers. Nobody ever
        // sends on it. A writer stuck on a client that does not read could
        // keep us waiting, hence the limit.
        drop(self);
        let _ = all_writers_done.recv_timeout(QUIT_GRACE);
    }
    // ANCHOR_END: quit
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    #[rstest]
    #[case::plain_text("hello all", Command::Say("hello all".into()))]
    #[case::text_with_a_slash_inside("a/b", Command::Say("a/b".into()))]
    #[case::double_slash_sends_a_slash("//to 1 x", Command::Say("/to 1 x".into()))]
    #[case::to("/to 2 psst", Command::To(2, "psst".into()))]
    #[case::to_with_hash("/to #2 psst", Command::To(2, "psst".into()))]
    #[case::to_keeps_inner_spaces("/to 3 a  b", Command::To(3, "a  b".into()))]
    #[case::list("/list", Command::List)]
    #[case::list_trailing_space("/list ", Command::List)]
    #[case::kick("/kick 7", Command::Kick(7))]
    #[case::kick_with_hash("/kick #7", Command::Kick(7))]
    #[case::quit("/quit", Command::Quit)]
    fn console_lines_parse_into_commands(#[case] line: &str, #[case] expected: Command) {
        assert_eq!(Command::parse(line), Ok(expected));
    }

    #[rstest]
    #[case::unknown("/frobnicate", CommandError::Unknown("/frobnicate".into()))]
    #[case::unknown_is_case_sensitive("/QUIT", CommandError::Unknown("/QUIT".into()))]
    #[case::to_without_text("/to 2", CommandError::Usage("/to N text"))]
    #[case::to_without_anything("/to", CommandError::Usage("/to N text"))]
    #[case::to_bad_id("/to bob hi", CommandError::BadId("bob".into()))]
    #[case::kick_without_id("/kick", CommandError::Usage("/kick N"))]
    #[case::kick_bad_id("/kick -1", CommandError::BadId("-1".into()))]
    #[case::kick_two_ids("/kick 1 2", CommandError::BadId("1 2".into()))]
    #[case::list_with_arguments("/list all", CommandError::Usage("/list"))]
    #[case::quit_with_arguments("/quit now", CommandError::Usage("/quit"))]
    fn bad_console_lines_are_errors(#[case] line: &str, #[case] expected: CommandError) {
        assert_eq!(Command::parse(line), Err(expected));
    }

    #[test]
    fn errors_read_as_one_helpful_line() {
        assert_eq!(
            CommandError::Unknown("/x".into()).to_string(),
            "unknown command /x (commands: /to N text, /list, /kick N, /quit; \
             start with // to send a line that starts with /)"
        );
        assert_eq!(
            CommandError::BadId("bob".into()).to_string(),
            "\"bob\" is not a client number (see /list)"
        );
        assert_eq!(CommandError::Usage("/kick N").to_string(), "usage: /kick N");
    }
}
