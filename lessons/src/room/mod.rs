//! Lesson 05: a chat room for many clients, with one console that can
//! address each client.
//!
//! The original gave every client two threads, and every client's sending
//! thread called `input()` on the one console: with two clients, nobody
//! could tell which client a typed line would go to. Here each resource has
//! exactly one owner, and the others send it messages:
//!
//! - the **console thread** owns stdin. It turns each typed line into a
//!   [`Command`] and sends it on;
//! - the **accept thread** owns the listener. It numbers each new client,
//!   starts its two threads, and hands it to the hub: starting a thread
//!   takes about 0.1 ms, time the hub would take from everybody else;
//! - each client's **reader thread** owns the reading side of its socket and
//!   sends each line it frames;
//! - each client's **writer thread** owns the writing side and sends what
//!   arrives in its queue;
//! - the **hub**, on the main thread, owns the table of clients. Everything
//!   above arrives on its one channel as an `Event`, one at a time, and the
//!   hub decides: log, relay, reply, kick, quit.
//!
//! Why no `Mutex` around the table of clients? Because only the hub ever
//! touches it. A shared, locked table would work too, but then every thread
//! must take the lock, a lock held while writing to a slow client stalls
//! everybody, and the order in which lines reach the clients depends on who
//! wins the lock. With one owner, the order is the order of the events.
//!
//! **The hub never waits** for anything but its next event. It never writes
//! to a socket, never prints (the logger queues with `try_send`), and puts
//! lines in unbounded queues. That rule is why the
//! room cannot deadlock: a deadlock is a cycle of threads each waiting for
//! the next, and every path between two clients goes through the hub.
//! Readers wait (for the hub's channel, for room in their window), writers
//! wait (for their queue, for their socket), but what they wait for never
//! waits for them.
//!
//! **Flow control** ([`flow`]) keeps the queues bounded without dropping
//! readers that read: a client's window holds at most `--soft-limit` bytes
//! of its lines on the way, and while it is full the server stops reading
//! that client, so a flooding client is slowed to the pace of the room. A
//! client that stops reading is dropped by a stated rule ([`Limits`]), with
//! a last line that says why.
//!
//! What the clients receive: `[#N] text` (a line of client N), `[server]
//! text` (typed on the console), `* ...` (notices: joins, leaves), and
//! `error: ...`. A client's control characters are shown escaped. On
//! stdout the server logs every client line as `[#N ip:port] text` (up to
//! 100 a second per client; past that it counts them); console errors go
//! to stderr.

mod client;
mod command;
pub mod flow;

pub use command::{Command, CommandError, HELP};
pub use flow::Limits;

use std::collections::BTreeMap;
use std::io::{self, BufRead};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::cli;
use crate::framing::{self, LineError};
use client::{DROP, FINISH, Link, Out};
use flow::{Line, TooSlow, Watch};

/// The default for `--max-clients`.
pub const DEFAULT_MAX_CLIENTS: usize = 64;

/// How many events may wait for the hub. When the hub is busy, readers wait
/// here, which in turn makes TCP slow down a client that floods us.
const EVENT_QUEUE: usize = 1024;

/// How often the hub looks at the clocks: the soft limit, the joins and
/// leaves to announce, the console's counts.
const TICK: Duration = Duration::from_millis(100);

/// News of joins and leaves goes out once nobody has joined or left for
/// this long (a burst is over), or once the oldest is [`NEWS_MOST`] old.
const NEWS_QUIET: Duration = Duration::from_millis(100);
const NEWS_MOST: Duration = Duration::from_secs(1);

/// The console shows at most this many lines a second of each client, and
/// counts the rest: a flood must not turn into a flood of the terminal.
const LOG_LINES_PER_SEC: u32 = 100;

/// How long `/quit` waits for the writers to send their last lines.
const QUIT_GRACE: Duration = Duration::from_secs(2);

/// The longest line the console accepts. It is not `--max-line`: that limit
/// is for the clients, and must not stop the operator typing `/quit`.
const CONSOLE_MAX_LINE: usize = framing::DEFAULT_MAX_LINE;

/// The limits of the server.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// More clients than this are refused with `error: server full`.
    pub max_clients: usize,
    /// The longest line accepted from a client, in bytes.
    pub max_line: usize,
    /// Drop a client that sends nothing for this long (`None`: never). A
    /// client that only listens counts as idle too.
    pub idle_timeout: Option<Duration>,
    /// When a client that does not keep up is dropped.
    pub limits: Limits,
}

/// Everything the hub hears about, on its one channel.
enum Event {
    /// The accept thread has a new client, numbered `id`, whose writer
    /// thread is running (its reader starts right after this event).
    Arrived {
        id: usize,
        addr: SocketAddr,
        link: Arc<Link>,
        queue: Sender<Out>,
        writer: JoinHandle<()>,
    },
    /// Client `id` sent a line; `line` is ready to relay, and `label` bytes
    /// long at the front is its `[#N] ` label.
    Line {
        id: usize,
        line: Arc<Line>,
        label: usize,
    },
    /// Client `id` sent a line that is not UTF-8 (it has been skipped).
    NotUtf8 { id: usize },
    /// Client `id` sent `/name NAME`: its reader labels its lines with the
    /// name from now on (or the error says why the name was refused).
    Named {
        id: usize,
        name: Result<String, String>,
    },
    /// Client `id`'s reader has stopped.
    Gone { id: usize, why: Why },
    /// The console thread has a command.
    Console(Command),
}

/// Why a client leaves.
enum Why {
    Left,
    /// The connection ended in the middle of a line.
    Cut,
    Failed(io::Error),
    TooLong(usize),
    Idle(Duration),
    Kicked,
    TooSlow(TooSlow),
    /// Its reader thread could not be started.
    NoThread(io::Error),
}

/// What the hub keeps about one client.
struct Client {
    addr: SocketAddr,
    /// What the client called itself with `/name`, if it did.
    name: Option<String>,
    /// Shared with the client's reader and writer threads.
    link: Arc<Link>,
    /// The client's queue; its writer thread holds the other end.
    queue: Sender<Out>,
    writer: JoinHandle<()>,
    /// The soft limit's clock.
    watch: Watch,
    log: LogBudget,
}

impl Client {
    /// How the console shows client `id`: `#3 Alice 127.0.0.1:50412`.
    fn who(&self, id: usize) -> String {
        match &self.name {
            Some(name) => format!("#{id} {name} {}", self.addr),
            None => format!("#{id} {}", self.addr),
        }
    }
}

/// A join or leave the others have not been told about yet.
struct News {
    id: usize,
    joined: bool,
    /// Clients numbered below this were there when it happened.
    before: usize,
}

/// The owner of the table of clients.
struct Hub {
    config: Config,
    clients: BTreeMap<usize, Client>,
    /// Above the number of every client that has arrived so far.
    next_id: usize,
    /// The writers of clients removed from the table, which may still be
    /// sending their last lines; see [`Hub::quit`].
    closing: Vec<JoinHandle<()>>,
    /// Joins and leaves to announce, in the order they happened, and when
    /// the first and the last of them happened.
    news: Vec<News>,
    news_times: Option<(Instant, Instant)>,
    next_tick: Instant,
}

// ANCHOR: serve
/// Runs the server until `/quit` is typed on `console`, Ctrl-D ends it at
/// a terminal (`at_terminal`), or SIGINT or SIGTERM arrives: all three take
/// the same path. A console that is not a terminal and ends (`< /dev/null`)
/// stops nothing: see [`stop::console_ended`](crate::stop::console_ended).
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
    at_terminal: bool,
    signals: crate::stop::Signals,
) -> io::Result<()> {
    config
        .limits
        .check()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let (events_tx, events) = mpsc::sync_channel(EVENT_QUEUE);
    let console_events = events_tx.clone();
    let signal_events = events_tx.clone();
    signals.on_signal(move |_| {
        let _ = signal_events.send(Event::Console(Command::Quit));
    })?;
    thread::Builder::new()
        .name("accept".into())
        .spawn(move || accept_clients(listener, config, events_tx))?;
    thread::Builder::new()
        .name("console".into())
        .spawn(move || read_console(console, at_terminal, console_events))?;
    let mut hub = Hub {
        config,
        clients: BTreeMap::new(),
        next_id: 1,
        closing: Vec::new(),
        news: Vec::new(),
        news_times: None,
        next_tick: Instant::now() + TICK,
    };
    hub.run(events);
    hub.quit();
    Ok(())
}
// ANCHOR_END: serve

// ANCHOR: accept
/// Numbers every new client, starts its threads, and hands it to the hub.
fn accept_clients(listener: TcpListener, config: Config, events: SyncSender<Event>) {
    for (id, (stream, addr)) in (1..).zip(cli::clients(&listener)) {
        if !client::start(id, stream, addr, &config, &events) {
            return; // the hub has stopped
        }
    }
}
// ANCHOR_END: accept

// ANCHOR: console
/// The one thread that reads the console: each line becomes a command for
/// the hub. A mistyped command is answered here, at once.
fn read_console(mut console: impl BufRead, at_terminal: bool, events: SyncSender<Event>) {
    loop {
        let line = match framing::read_line(&mut console, CONSOLE_MAX_LINE) {
            Ok(Some(line)) => line,
            Ok(None) => {
                // Ctrl-D at a terminal is `/quit`; a closed or absent
                // console is not (see `stop::console_ended`).
                if crate::stop::console_ended(at_terminal) {
                    let _ = events.send(Event::Console(Command::Quit));
                }
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
                crate::log_error!("error: cannot read the console: {}", cli::describe(&e));
                crate::stop::console_ended(false);
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

impl Hub {
    // ANCHOR: hub_loop
    /// Handles events, one at a time, until the console says `/quit`.
    /// Between events, and at least every [`TICK`], it looks at the clocks.
    fn run(&mut self, events: Receiver<Event>) {
        loop {
            // The one place the hub waits: for its next event.
            let wait = self.next_tick.saturating_duration_since(Instant::now());
            match events.recv_timeout(wait) {
                Ok(Event::Arrived {
                    id,
                    addr,
                    link,
                    queue,
                    writer,
                }) => self.join(id, addr, link, queue, writer),
                Ok(Event::Line { id, line, label }) => self.relay(id, line, label),
                Ok(Event::NotUtf8 { id }) => self.send(&[id], "error: line is not valid UTF-8"),
                Ok(Event::Named { id, name }) => self.name(id, name),
                Ok(Event::Gone { id, why }) => self.remove(id, why),
                Ok(Event::Console(Command::Quit)) => return,
                Ok(Event::Console(command)) => self.obey(command),
                Err(RecvTimeoutError::Timeout) => {}
                // The hub holds a sender itself (to give to new readers), so
                // the channel never runs dry: only `/quit` ends this loop.
                Err(RecvTimeoutError::Disconnected) => return,
            }
            let now = Instant::now();
            if now >= self.next_tick {
                self.tick(now);
                self.next_tick = now + TICK;
            }
        }
    }
    // ANCHOR_END: hub_loop

    /// Registers a new client, or refuses it if the room is full.
    fn join(
        &mut self,
        id: usize,
        addr: SocketAddr,
        link: Arc<Link>,
        queue: Sender<Out>,
        writer: JoinHandle<()>,
    ) {
        self.next_id = id + 1;
        if self.clients.len() >= self.config.max_clients {
            crate::log_line!("client {addr} refused: server full");
            // Its writer sends the line and closes, and its reader reads
            // what the client still sends meanwhile, as for any goodbye.
            link.close.store(FINISH, Ordering::Release);
            let _ = queue.send(Out::Last(Some(Arc::new(Line::new(
                "error: server full",
                None,
            )))));
            self.closing.push(writer);
            return;
        }
        crate::log_line!("client {addr} connected as #{id}");
        let online = self.clients.len();
        self.clients.insert(
            id,
            Client {
                addr,
                name: None,
                link,
                queue,
                writer,
                watch: Watch::default(),
                log: LogBudget::new(),
            },
        );
        let others = if online == 1 { "other" } else { "others" };
        let welcome = format!("* welcome, you are #{id} ({online} {others} online)");
        self.deliver(&[id], &Arc::new(Line::new(&welcome, None)));
        // The others hear of it with the next announcement (see `announce`).
        self.add_news(News {
            id,
            joined: true,
            before: id,
        });
    }

    fn add_news(&mut self, news: News) {
        let now = Instant::now();
        let first = self.news_times.map_or(now, |(first, _)| first);
        self.news_times = Some((first, now));
        self.news.push(news);
    }

    // ANCHOR: relay
    /// Logs a client's line and passes it to everyone else.
    fn relay(&mut self, id: usize, line: Arc<Line>, label: usize) {
        // Lines from a client that was just kicked may still be on the way.
        // Dropping them gives their credit back.
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        if client.log.shows_one_more(Instant::now()) {
            crate::log_line!("[{}] {}", client.who(id), line.text_from(label));
        }
        let others: Vec<usize> = self.clients.keys().copied().filter(|&o| o != id).collect();
        self.announce();
        self.deliver(&others, &line);
    }
    // ANCHOR_END: relay

    /// A client's `/name`: tell it and the console, or say why not.
    fn name(&mut self, id: usize, name: Result<String, String>) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        match name {
            Ok(name) => {
                client.name = Some(name);
                let who = client.who(id);
                crate::log_line!("{who} named itself");
                let told = format!("* you are #{id} {}", client.name.as_deref().unwrap_or(""));
                self.send(&[id], &told);
            }
            Err(usage) => self.send(&[id], &format!("error: {usage}")),
        }
    }

    /// Sends one line of the server's to each client in `ids`, after the
    /// joins and leaves the clients have not been told about yet.
    fn send(&mut self, ids: &[usize], text: &str) {
        self.announce();
        self.deliver(ids, &Arc::new(Line::new(text, None)));
    }

    // ANCHOR: deliver
    /// Puts `line` in the queue of each client in `ids`, without ever
    /// waiting: the queues are unbounded, and what bounds them is the
    /// senders' windows and the limits. A client whose backlog the line
    /// would take over the hard limit is dropped instead.
    fn deliver(&mut self, ids: &[usize], line: &Arc<Line>) {
        let mut failed = Vec::new();
        for &id in ids {
            let Some(client) = self.clients.get(&id) else {
                continue;
            };
            let backlog = &client.link.backlog;
            if let Some(too_slow) = flow::over_hard(&self.config.limits, backlog, line.len()) {
                failed.push((id, Why::TooSlow(too_slow)));
                continue;
            }
            backlog.waiting.fetch_add(line.len(), Ordering::AcqRel);
            if client.queue.send(Out::Line(Arc::clone(line))).is_err() {
                // Its writer has stopped: the connection failed.
                failed.push((id, Why::Left));
            }
        }
        for (id, why) in failed {
            self.remove(id, why);
        }
    }
    // ANCHOR_END: deliver

    // ANCHOR: tick
    /// What the hub does every [`TICK`]: tell the clients who joined and
    /// left (once a burst of them is over), apply the soft limit, and show
    /// the console's counts.
    fn tick(&mut self, now: Instant) {
        self.closing.retain(|writer| !writer.is_finished());
        if let Some((first, last)) = self.news_times
            && (now - last >= NEWS_QUIET || now - first >= NEWS_MOST)
        {
            self.announce();
        }
        let mut too_slow = Vec::new();
        for (&id, client) in &mut self.clients {
            if let Some(why) = client
                .watch
                .soft(&self.config.limits, &client.link.backlog, now)
            {
                too_slow.push((id, why));
            }
            client.log.show_count(id, client.addr, now);
        }
        for (id, why) in too_slow {
            self.remove(id, Why::TooSlow(why));
        }
    }
    // ANCHOR_END: tick

    // ANCHOR: announce
    /// Tells the clients who joined and left since the last time, in one
    /// line: `* #7 joined`, `* #3 to #9 joined; #2 left`.
    ///
    /// Announcing every join to everybody at once costs a line per client
    /// per join: 1000 clients joining in a burst would be half a million
    /// lines, and as many writer threads woken, and the 1001st client would
    /// wait seconds for its welcome. So the news waits until the burst is
    /// over (see [`Hub::tick`]), or for the next line the clients get (so
    /// that nobody hears from a client before hearing that it joined).
    fn announce(&mut self) {
        self.news_times = None;
        if self.news.is_empty() {
            return;
        }
        let news = std::mem::take(&mut self.news);
        // Client `r` is told what happened while it was there: the news
        // whose `before` is above `r`. `before` never decreases, so that is
        // a tail of the list, and clients with the same tail share a line.
        let mut shared: Option<(usize, Arc<Line>)> = None;
        let mut lines = Vec::new();
        for &r in self.clients.keys() {
            let start = news.partition_point(|n| n.before <= r);
            if start == news.len() {
                continue;
            }
            let line = match &shared {
                Some((s, line)) if *s == start => Arc::clone(line),
                _ => {
                    let line = Arc::new(Line::new(&in_words(&news[start..]), None));
                    shared = Some((start, Arc::clone(&line)));
                    line
                }
            };
            lines.push((r, line));
        }
        for (r, line) in lines {
            self.deliver(&[r], &line);
        }
    }
    // ANCHOR_END: announce

    /// Removes a client, logs why, says goodbye, and tells the others.
    fn remove(&mut self, id: usize, why: Why) {
        if !self.clients.contains_key(&id) {
            // Already removed (kicked, dropped): its reader reports it later.
            return;
        }
        if !matches!(why, Why::TooSlow(_)) {
            // Its last line comes after any news it has not heard yet.
            self.announce();
        }
        // (Announcing can drop it for not reading, hence `else return`.)
        let Some(mut client) = self.clients.remove(&id) else {
            return;
        };
        let addr = client.addr;
        client.log.show_count_now(id, addr);
        // The last line for the client, how to close, and what the others see.
        let (last, close, notice) = match why {
            Why::Left => {
                crate::log_line!("client {addr} disconnected (#{id})");
                (None, FINISH, None)
            }
            Why::Cut => {
                crate::log_line!(
                    "client {addr} disconnected (#{id}): the connection ended in the middle \
                     of a line, which was not relayed"
                );
                (None, FINISH, None)
            }
            Why::Failed(e) => {
                crate::log_line!("client {addr} disconnected (#{id}): {}", cli::describe(&e));
                (None, FINISH, None)
            }
            Why::TooLong(max) => {
                crate::log_line!(
                    "client {addr} disconnected (#{id}): sent a line longer than {max} bytes"
                );
                let error = format!("error: line longer than {max} bytes; closing the connection");
                (Some(error), FINISH, None)
            }
            Why::Idle(idle) => {
                let why = format!("idle for {}", cli::seconds(idle));
                crate::log_line!("client {addr} disconnected (#{id}): {why}");
                (
                    Some(format!("error: {why}; closing the connection")),
                    FINISH,
                    None,
                )
            }
            Why::Kicked => {
                crate::log_line!("client {addr} kicked (#{id})");
                let notice = format!("* #{id} was kicked");
                (Some("* you have been kicked".into()), FINISH, Some(notice))
            }
            Why::NoThread(e) => {
                crate::log_error!("client {addr} dropped (#{id}): cannot start a thread: {e}");
                let error = "error: the server cannot start a thread for you; try again later";
                (Some(error.into()), FINISH, None)
            }
            Why::TooSlow(too_slow) => {
                crate::log_line!(
                    "client {addr} dropped (#{id}): it is not reading: {} ({})",
                    too_slow.explain("it"),
                    too_slow.flags()
                );
                let goodbye = format!(
                    "error: you are not reading: {}; closing the connection",
                    too_slow.explain("you")
                );
                let notice = format!("* #{id} was dropped (not reading)");
                (Some(goodbye), DROP, Some(notice))
            }
        };
        // The writer sends the last line and closes: after what waits
        // (FINISH), or right after the line it is writing (DROP).
        client.link.close.store(close, Ordering::Release);
        let last = last.map(|text| Arc::new(Line::new(&text, None)));
        let _ = client.queue.send(Out::Last(last));
        self.closing.push(client.writer);
        match notice {
            Some(notice) => {
                let all: Vec<usize> = self.clients.keys().copied().collect();
                self.send(&all, &notice);
            }
            None => self.left(id),
        }
    }

    /// Notes that `id` left, for the next announcement. A client whose join
    /// was not announced yet leaves without a word: nobody heard of it.
    fn left(&mut self, id: usize) {
        if let Some(i) = self.news.iter().position(|n| n.joined && n.id == id) {
            self.news.remove(i);
            return;
        }
        self.add_news(News {
            id,
            joined: false,
            before: self.next_id,
        });
    }

    /// Carries out a console command (all but `/quit`).
    fn obey(&mut self, command: Command) {
        match command {
            Command::Say(text) => {
                let all: Vec<usize> = self.clients.keys().copied().collect();
                if all.is_empty() {
                    crate::log_error!("error: nobody is connected");
                }
                self.send(&all, &format!("[server] {}", client::shown(&text)));
            }
            Command::To(id, text) => {
                if self.exists(id) {
                    self.send(&[id], &format!("[server] {}", client::shown(&text)));
                }
            }
            Command::List => {
                crate::log_line!("clients: {}", self.clients.len());
                for (id, client) in &self.clients {
                    crate::log_line!("  {}", client.who(*id));
                }
            }
            Command::Kick(id) => {
                if self.exists(id) {
                    self.remove(id, Why::Kicked);
                }
            }
            Command::Help => {
                for line in HELP {
                    crate::log_line!("{line}");
                }
                let Limits {
                    soft,
                    hard,
                    soft_secs,
                } = self.config.limits;
                crate::log_line!(
                    "a client that stops reading is dropped when {soft} bytes or more wait for \
                     it for {} and it takes less than that, or at once when more than {hard} \
                     bytes would wait",
                    cli::seconds(soft_secs)
                );
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
    fn quit(mut self) {
        let n = self.clients.len();
        let clients = if n == 1 { "client" } else { "clients" };
        crate::log_line!("shutting down: closing {n} {clients}");
        let goodbye = Arc::new(Line::new("* the server is shutting down", None));
        for client in std::mem::take(&mut self.clients).into_values() {
            client.link.close.store(FINISH, Ordering::Release);
            let _ = client.queue.send(Out::Last(Some(Arc::clone(&goodbye))));
            self.closing.push(client.writer);
        }
        // Every writer sends what waits and its last line, then ends. One
        // stuck on a client that does not read could keep us waiting, hence
        // the limit: returning from `main` ends them all.
        let deadline = Instant::now() + QUIT_GRACE;
        while self.closing.iter().any(|w| !w.is_finished()) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
    }
    // ANCHOR_END: quit
}

/// Joins and leaves in words: `#7 joined`, `#3 to #9 and #12 joined; #2 left`.
fn in_words(news: &[News]) -> String {
    let joined: Vec<usize> = news.iter().filter(|n| n.joined).map(|n| n.id).collect();
    let mut left: Vec<usize> = news.iter().filter(|n| !n.joined).map(|n| n.id).collect();
    left.sort_unstable();
    let mut parts = Vec::new();
    if !joined.is_empty() {
        parts.push(format!("{} joined", numbers(&joined)));
    }
    if !left.is_empty() {
        parts.push(format!("{} left", numbers(&left)));
    }
    format!("* {}", parts.join("; "))
}

/// Client numbers in words: `#2`, `#2 and #5`, `#2, #3 and #5`, `#2 to #9`.
fn numbers(ids: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let mut j = i;
        while j + 1 < ids.len() && ids[j + 1] == ids[j] + 1 {
            j += 1;
        }
        if j - i >= 2 {
            parts.push(format!("#{} to #{}", ids[i], ids[j]));
        } else {
            parts.extend(ids[i..=j].iter().map(|id| format!("#{id}")));
        }
        i = j + 1;
    }
    match parts.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// How many of a client's lines the console has shown this second, and
/// how many it did not show.
struct LogBudget {
    since: Instant,
    shown: u32,
    hidden: u64,
}

impl LogBudget {
    fn new() -> LogBudget {
        LogBudget {
            since: Instant::now(),
            shown: 0,
            hidden: 0,
        }
    }

    /// True if the console may show one more line of this client now.
    fn shows_one_more(&mut self, now: Instant) -> bool {
        if now.saturating_duration_since(self.since) >= Duration::from_secs(1) && self.hidden == 0 {
            self.since = now;
            self.shown = 0;
        }
        if self.shown < LOG_LINES_PER_SEC {
            self.shown += 1;
            true
        } else {
            self.hidden += 1;
            false
        }
    }

    /// Once a second, says how many lines were not shown.
    fn show_count(&mut self, id: usize, addr: SocketAddr, now: Instant) {
        if now.saturating_duration_since(self.since) >= Duration::from_secs(1) {
            self.show_count_now(id, addr);
        }
    }

    fn show_count_now(&mut self, id: usize, addr: SocketAddr) {
        if self.hidden > 0 {
            crate::log_line!(
                "[#{id} {addr}] ... and {} more lines (the console shows {LOG_LINES_PER_SEC} \
                 a second per client)",
                self.hidden
            );
            *self = LogBudget::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    #[rstest]
    #[case::one(&[7], "#7")]
    #[case::two(&[2, 5], "#2 and #5")]
    #[case::three_apart(&[2, 4, 9], "#2, #4 and #9")]
    #[case::two_in_a_row(&[2, 3], "#2 and #3")]
    #[case::a_run(&[3, 4, 5, 6], "#3 to #6")]
    #[case::runs_and_singles(&[1, 3, 4, 5, 9, 11, 12, 13], "#1, #3 to #5, #9 and #11 to #13")]
    fn client_numbers_read_as_words(#[case] ids: &[usize], #[case] expected: &str) {
        assert_eq!(numbers(ids), expected);
    }

    #[test]
    fn joins_and_leaves_share_one_line() {
        let news = |id, joined| News {
            id,
            joined,
            before: 0,
        };
        assert_eq!(in_words(&[news(4, true)]), "* #4 joined");
        assert_eq!(in_words(&[news(4, false)]), "* #4 left");
        assert_eq!(
            in_words(&[news(4, true), news(2, false), news(5, true), news(1, false)]),
            "* #4 and #5 joined; #1 and #2 left"
        );
    }

    #[test]
    fn the_console_shows_a_hundred_lines_a_second_per_client_and_counts_the_rest() {
        let mut budget = LogBudget::new();
        let t0 = budget.since;
        let shown = (0..250).filter(|_| budget.shows_one_more(t0)).count();
        assert_eq!((shown, budget.hidden), (100, 150));
        // The next second starts only once the count has been shown.
        assert!(!budget.shows_one_more(t0 + Duration::from_secs(2)));
        budget.show_count(
            1,
            "127.0.0.1:1".parse().expect("an address"),
            t0 + Duration::from_secs(2),
        );
        assert_eq!(budget.hidden, 0);
        assert!(budget.shows_one_more(Instant::now()));
    }
}
