//! Checks of a chat room over the network (lesson 05): a line from one
//! client reaches every other client, possibly behind a prefix, never back
//! to its sender. The subject is the room's address: these checks are
//! clients, and judge only what a client sees, so a room in any language,
//! with its own greeting and prefixes, can pass (`grade room`).
//!
//! The rules are loose on purpose. A client may receive any lines before
//! and between (a greeting, a notice that someone joined): a relayed line
//! is one that *contains* the text sent. And a room registers a new client
//! whenever it likes: so clients join one at a time, each sending a line
//! of its own that every client already in the room must receive before
//! the next one connects. Every wait ends on an event (a line, the end of
//! a connection) or at a deadline that says what was expected.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::harness::{REPLY, lock, plural, show};

pub fn checks(room: SocketAddr) -> Vec<super::Check> {
    checks!(room =>
        a_line_from_one_client_reaches_every_other_and_never_its_sender,
        twenty_clients_each_hear_every_other,
        a_line_cut_into_pieces_arrives_whole,
        a_client_that_never_reads_does_not_stop_the_others,
        a_line_that_is_not_utf8_does_not_stop_the_room,
    )
}

/// The check with the longest wait: [`HELD_BACK`].
pub const SLOWEST: &str = "a_client_that_never_reads_does_not_stop_the_others";

/// How long a room may hold the others back for a client that never
/// reads, before it drops that client (or queues for it) and lets the
/// others' lines flow again: lesson 05's server waits 5 s (its
/// `--soft-secs`), and a busy machine adds its own delays.
pub const HELD_BACK: Duration = Duration::from_secs(12);

/// How often the check looks whether the lines still come, while it waits
/// for the last of them.
const PROGRESS: Duration = Duration::from_millis(500);

/// Between the pieces of a line sent in pieces: long enough for them to
/// travel as separate pieces, and be read by separate reads.
const PIECES: Duration = Duration::from_millis(50);

/// What the sender sends in bulk while a client never reads: more than
/// the system's buffers on the way to that client hold (a few MiB on
/// Linux), so that a room that waits for it is stuck.
const BULK: usize = 12 << 20;

/// One line of the bulk (its `\n` included).
const BULK_LINE: usize = 1024;

/// How long one write of the sender may wait: a room may slow a fast
/// sender down while it holds the others back.
const SENDER_WRITES: Duration = HELD_BACK;

/// Numbers the checks' runs, so that every line sent is unique in a run
/// and two checks' lines are never taken for each other's.
static RUNS: AtomicU64 = AtomicU64::new(1);

/// What a client received: its lines (without `\n`), the bytes of an
/// unfinished one, and how its connection ended.
#[derive(Default)]
struct Heard {
    lines: Vec<Vec<u8>>,
    partial: Vec<u8>,
    ended: Option<String>,
}

/// A client of the room, with a thread that reads every line it receives.
struct Client {
    number: usize,
    stream: TcpStream,
    heard: Arc<(Mutex<Heard>, Condvar)>,
}

fn contains(line: &[u8], text: &str) -> bool {
    let text = text.as_bytes();
    line.windows(text.len().max(1)).any(|w| w == text)
}

impl Client {
    /// Connects client `number`, reading what it receives from now on.
    fn connect(room: SocketAddr, number: usize) -> Result<Client, String> {
        let stream = connect(room, number)?;
        let heard: Arc<(Mutex<Heard>, Condvar)> = Arc::default();
        let reader = stream
            .try_clone()
            .map_err(|e| format!("the check could not set up client {number}: {e}"))?;
        let into = Arc::clone(&heard);
        thread::Builder::new()
            .name(format!("room client {number}"))
            .spawn(move || read_lines(reader, &into))
            .map_err(|e| format!("the check could not start a thread: {e}"))?;
        Ok(Client {
            number,
            stream,
            heard,
        })
    }

    fn name(&self) -> String {
        format!("client {}", self.number)
    }

    fn send(&self, bytes: &[u8]) -> Result<(), String> {
        (&self.stream)
            .write_all(bytes)
            .map_err(|e| format!("{} could not send {}: {e}", self.name(), show(bytes)))
    }

    fn has(&self, text: &str) -> bool {
        lock(&self.heard.0).lines.iter().any(|l| contains(l, text))
    }

    /// Waits until this client has received a line containing each of
    /// `texts`, at most `within`; `Err` says what it received instead.
    fn wait_for(&self, texts: &[String], within: Duration) -> Result<(), Missing> {
        let deadline = Instant::now() + within;
        let (heard, changed) = &*self.heard;
        let mut h = lock(heard);
        loop {
            let missing: Vec<String> = texts
                .iter()
                .filter(|t| !h.lines.iter().any(|l| contains(l, t)))
                .cloned()
                .collect();
            if missing.is_empty() {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || h.ended.is_some() {
                return Err(Missing {
                    missing,
                    received: received(&h),
                    ended: h.ended.clone(),
                });
            }
            h = changed
                .wait_timeout(h, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// The first line this client received that contains `text`.
    fn line_with(&self, text: &str) -> Option<Vec<u8>> {
        lock(&self.heard.0)
            .lines
            .iter()
            .find(|l| contains(l, text))
            .cloned()
    }

    fn count(&self, text: &str) -> usize {
        lock(&self.heard.0)
            .lines
            .iter()
            .filter(|l| contains(l, text))
            .count()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // Ends the reading thread too: its read returns.
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// What a client was still waiting for.
struct Missing {
    missing: Vec<String>,
    received: String,
    ended: Option<String>,
}

impl Missing {
    /// In words: `who` waited `within` for the lines, and what it got.
    fn say(&self, who: &str, within: Duration) -> String {
        let wanted = self
            .missing
            .iter()
            .map(|t| show(t.as_bytes()))
            .collect::<Vec<_>>()
            .join(", ");
        let end = match &self.ended {
            Some(how) => format!("; then its connection {how}"),
            None => format!(", and nothing more within {within:?}"),
        };
        format!(
            "{who} waited for a line containing {wanted}, and received {}{end}",
            self.received
        )
    }
}

fn received(h: &Heard) -> String {
    if h.lines.is_empty() && h.partial.is_empty() {
        return "nothing".to_string();
    }
    let mut shown: Vec<String> = h
        .lines
        .iter()
        .rev()
        .take(5)
        .rev()
        .map(|l| show(l))
        .collect();
    if h.lines.len() > 5 {
        shown.insert(0, format!("{} lines, the last five:", h.lines.len()));
    }
    if !h.partial.is_empty() {
        shown.push(format!("(and without its \\n yet) {}", show(&h.partial)));
    }
    shown.join(" ")
}

/// Connects to the room within [`REPLY`], with a write timeout.
fn connect(room: SocketAddr, number: usize) -> Result<TcpStream, String> {
    let stream = TcpStream::connect_timeout(&room, REPLY)
        .map_err(|e| format!("client {number} could not connect to the room at {room}: {e}"))?;
    stream
        .set_write_timeout(Some(REPLY))
        .map_err(|e| format!("the check could not set a timeout: {e}"))?;
    Ok(stream)
}

/// Reads lines into `heard` until the connection ends.
fn read_lines(mut stream: TcpStream, heard: &(Mutex<Heard>, Condvar)) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let read = stream.read(&mut buf);
        let mut h = lock(&heard.0);
        match read {
            Ok(0) => h.ended = Some("ended (the room closed it)".to_string()),
            Ok(n) => {
                for &b in &buf[..n] {
                    if b == b'\n' {
                        let line = std::mem::take(&mut h.partial);
                        h.lines.push(line);
                    } else {
                        h.partial.push(b);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => h.ended = Some(format!("failed ({e})")),
        }
        let ended = h.ended.is_some();
        drop(h);
        heard.1.notify_all();
        if ended {
            return;
        }
    }
}

/// A run of a check: its number, for lines no other run sends.
fn run_number() -> u64 {
    RUNS.fetch_add(1, Ordering::SeqCst)
}

/// The line client `number` sends when it joins.
fn joined(run: u64, number: usize) -> String {
    format!("client {number} is here (room check {run})")
}

// ANCHOR: announce
/// How often a newcomer says its line again while the clients already in
/// the room have not all received it. No event says "you are in the
/// room now": a room registers a client when it likes, so a line sent
/// before every other client was registered may reach only some of them.
/// Saying it again is no judgement; only [`REPLY`] in all is.
const AGAIN: Duration = Duration::from_millis(200);

/// The newcomer `send`s `line` until each of `members` has received it,
/// every [`AGAIN`], for [`REPLY`] in all; if one had not, the message is
/// `say(that member, what it was missing)`.
fn announce(
    send: impl Fn(&[u8]) -> Result<(), String>,
    line: &str,
    members: &[&Client],
    say: impl Fn(&str, &Missing) -> String,
) -> Result<(), String> {
    let deadline = Instant::now() + REPLY;
    let wanted = [line.to_string()];
    loop {
        send(format!("{line}\n").as_bytes())?;
        let round = Instant::now() + AGAIN;
        let mut late = None;
        for member in members {
            let left = round
                .min(deadline)
                .saturating_duration_since(Instant::now());
            if let Err(missing) = member.wait_for(&wanted, left) {
                late = Some((member, missing));
                break;
            }
        }
        match late {
            None => return Ok(()),
            Some((member, missing)) if Instant::now() >= deadline || missing.ended.is_some() => {
                return Err(say(&member.name(), &missing));
            }
            Some(_) => {}
        }
    }
}

// ANCHOR_END: announce

/// Lets `n` clients join one at a time: each says [`joined`] (again, see
/// [`announce`]) until every client already in the room has received it,
/// and only then does the next connect.
fn join(room: SocketAddr, run: u64, n: usize) -> Result<Vec<Client>, String> {
    let mut clients: Vec<Client> = Vec::new();
    for number in 1..=n {
        let client = Client::connect(room, number)?;
        let line = joined(run, number);
        let members: Vec<&Client> = clients.iter().collect();
        announce(
            |b| client.send(b),
            &line,
            &members,
            |who, m| {
                format!(
                    "{number} of {n} clients are connected, one at a time, each saying a line \
                     when it joins (again every {AGAIN:?} until the others have it). {who}, \
                     already in the room, never received the line of {}: {}. Every line a client \
                     sends goes to every other client. (If your server serves one client at a \
                     time, until it leaves, this is what the next client sees: serve each client \
                     on a thread of its own.)",
                    client.name(),
                    m.say(who, REPLY)
                )
            },
        )?;
        clients.push(client);
    }
    Ok(clients)
}

/// Fails if a client received a line that contains what it sent itself.
fn never_back_to_the_sender(client: &Client, sent: &[String]) -> Result<(), String> {
    for text in sent {
        if let Some(line) = client.line_with(text) {
            return Err(format!(
                "{} sent {}, and received it back: {}. A line goes to every client except \
                 its sender, who already knows what it said.",
                client.name(),
                show(text.as_bytes()),
                show(&line)
            ));
        }
    }
    Ok(())
}

pub fn a_line_from_one_client_reaches_every_other_and_never_its_sender(
    room: SocketAddr,
) -> Result<(), String> {
    let run = run_number();
    let clients = join(room, run, 3)?;
    let mut sent: Vec<Vec<String>> = vec![Vec::new(); clients.len()];
    // Each speaks in turn, and then the first once more: by then every
    // line's echo, if the room sends one, has had a later line overtake it.
    for (turn, from) in [0, 1, 2, 0].into_iter().enumerate() {
        let text = format!(
            "hello number {turn} from {} (room check {run})",
            clients[from].name()
        );
        clients[from].send(format!("{text}\n").as_bytes())?;
        for (i, to) in clients.iter().enumerate() {
            if i == from {
                continue;
            }
            to.wait_for(std::slice::from_ref(&text), REPLY)
                .map_err(|m| {
                    format!(
                        "three clients are in the room; {} sent {}. {}",
                        clients[from].name(),
                        show(text.as_bytes()),
                        m.say(&to.name(), REPLY)
                    )
                })?;
        }
        sent[from].push(text);
    }
    for (client, sent) in clients.iter().zip(&sent) {
        never_back_to_the_sender(client, sent)?;
    }
    Ok(())
}

pub fn twenty_clients_each_hear_every_other(room: SocketAddr) -> Result<(), String> {
    let run = run_number();
    let clients = join(room, run, 20)?;
    // All at once now: every client sends, then every client listens.
    let texts: Vec<String> = clients
        .iter()
        .map(|c| format!("{} says hi to all (room check {run})", c.name()))
        .collect();
    for (client, text) in clients.iter().zip(&texts) {
        client.send(format!("{text}\n").as_bytes())?;
    }
    for (i, client) in clients.iter().enumerate() {
        let others: Vec<String> = (0..texts.len())
            .filter(|&j| j != i)
            .map(|j| texts[j].clone())
            .collect();
        client.wait_for(&others, REPLY).map_err(|m| {
            format!(
                "twenty clients are in the room, and each sent one line at the same time. {}",
                m.say(&client.name(), REPLY)
            )
        })?;
    }
    for (client, text) in clients.iter().zip(&texts) {
        never_back_to_the_sender(client, std::slice::from_ref(text))?;
    }
    Ok(())
}

pub fn a_line_cut_into_pieces_arrives_whole(room: SocketAddr) -> Result<(), String> {
    let run = run_number();
    let clients = join(room, run, 2)?;
    let (from, to) = (&clients[0], &clients[1]);
    // Cut inside the é, too: a room that decodes each read as text
    // breaks the character.
    let pieces: [&[u8]; 3] = [
        b"one line sent caf\xC3",
        b"\xA9 by caf\xC3\xA9, ",
        b"in three pieces",
    ];
    let text = format!("one line sent café by café, in three pieces (room check {run})");
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 {
            thread::sleep(PIECES);
        }
        from.send(piece)?;
    }
    thread::sleep(PIECES);
    from.send(format!(" (room check {run})\n").as_bytes())?;
    // Then a whole line: once it is there, the line before it had every
    // chance to arrive.
    let after = format!("and one more line (room check {run})");
    from.send(format!("{after}\n").as_bytes())?;
    let waited = to.wait_for(&[text.clone(), after.clone()], REPLY);
    if let Err(m) = waited {
        let piece = pieces
            .iter()
            .any(|p| to.count(&String::from_utf8_lossy(p)) > 0 && !to.has(&text));
        let why = if piece {
            " It received a piece as a line of its own: one read is not one line. Keep the \
             bytes of an unfinished line until its \\n comes (BufRead::read_line, or \
             lessons::framing), and relay whole lines."
        } else if to.has(&after) {
            " The line sent in pieces never arrived whole, but the line after it did: the \
             pieces were lost. One read is not one line: keep the bytes of an unfinished line \
             until its \\n comes, and relay whole lines."
        } else {
            ""
        };
        return Err(format!(
            "{} sent {} in four writes, {PIECES:?} apart (cut inside an é too), then {}. {}.{why}",
            from.name(),
            show(text.as_bytes()),
            show(after.as_bytes()),
            m.say(&to.name(), REPLY)
        ));
    }
    never_back_to_the_sender(from, &[text, after])
}

pub fn a_client_that_never_reads_does_not_stop_the_others(room: SocketAddr) -> Result<(), String> {
    let run = run_number();
    // The listener joins first; then the deaf client, by saying its line,
    // which the listener must receive; it never reads. Then the sender.
    let listener = Client::connect(room, 1)?;
    listener.send(format!("{}\n", joined(run, 1)).as_bytes())?;
    let deaf = connect(room, 2)?;
    let deaf_send = |b: &[u8]| {
        (&deaf)
            .write_all(b)
            .map_err(|e| format!("client 2 could not send: {e}"))
    };
    announce(deaf_send, &joined(run, 2), &[&listener], |who, m| {
        format!(
            "client 2 joined the room and said its line. {}",
            m.say(who, REPLY)
        )
    })?;
    let sender = Client::connect(room, 3)?;
    announce(
        |b| sender.send(b),
        &joined(run, 3),
        &[&listener],
        |who, m| {
            format!(
                "client 3 joined the room and said its line. {}",
                m.say(who, REPLY)
            )
        },
    )?;
    // The sender floods the room from a thread of its own, while the
    // listener reads; the deaf client's buffers fill up.
    let lines = BULK / BULK_LINE;
    let last = format!("the last of {lines} lines (room check {run})");
    let writer = sender
        .stream
        .try_clone()
        .and_then(|w| w.set_write_timeout(Some(SENDER_WRITES)).map(|()| w))
        .map_err(|e| format!("the check could not set up client 3: {e}"))?;
    let bulk_last = last.clone();
    let flood = thread::Builder::new()
        .name("room flood".into())
        .spawn(move || -> io::Result<()> {
            let mut writer = io::BufWriter::with_capacity(64 * 1024, writer);
            for i in 0..lines - 1 {
                let head = format!("bulk line {i} (room check {run}) ");
                let fill = BULK_LINE - head.len() - 1;
                writer.write_all(head.as_bytes())?;
                writer.write_all(&b"x".repeat(fill))?;
                writer.write_all(b"\n")?;
            }
            writer.write_all(format!("{bulk_last}\n").as_bytes())?;
            writer.flush()
        })
        .map_err(|e| format!("the check could not start a thread: {e}"))?;
    // The lines take a while to pass on a busy machine, and the room may
    // hold them back for the deaf client for a while: the wait ends when
    // the last line comes, or when nothing new has come for HELD_BACK.
    let bulk = format!("(room check {run}) x");
    let (mut got_before, mut progress_at) = (0, Instant::now());
    let waited = loop {
        match listener.wait_for(std::slice::from_ref(&last), PROGRESS) {
            Ok(()) => break Ok(()),
            Err(m) if m.ended.is_some() => break Err(m),
            Err(m) => {
                let got = listener.count(&bulk);
                if got > got_before {
                    (got_before, progress_at) = (got, Instant::now());
                } else if progress_at.elapsed() >= HELD_BACK {
                    break Err(m);
                }
            }
        }
    };
    if let Err(m) = waited {
        let got = listener.count(&bulk);
        drop(deaf);
        return Err(format!(
            "client 2 is in the room and never reads; client 3 sent {lines} lines of \
             {BULK_LINE} bytes ({}), more than the system's buffers on the way to client 2 \
             hold, while client 1 read everything. Client 1 received {got} of them, and \
             then nothing for {HELD_BACK:?}: a client that never reads stopped the room. \
             Your server waits to write to it, and everybody waits with it. A room must \
             not wait on one client for long: give each client a queue and a writer \
             thread of its own, and drop a client that falls too far behind. ({})",
            plural(lines, "line", "lines"),
            m.say("client 1", HELD_BACK)
        ));
    }
    let got = listener.count(&bulk) + 1;
    if got < lines {
        return Err(format!(
            "client 2 is in the room and never reads; client 3 sent {lines} lines, and client \
             1, which read everything, received its last line but only {got} of the {lines} \
             lines: the others were lost on the way. Only the client that does not read may \
             lose its lines (or be dropped)."
        ));
    }
    drop(deaf);
    match flood.join() {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!(
            "client 1 received all of client 3's lines, but client 3's writing failed: {e}"
        )),
        Err(_) => Err("the check's sender panicked".to_string()),
    }
}

pub fn a_line_that_is_not_utf8_does_not_stop_the_room(room: SocketAddr) -> Result<(), String> {
    let run = run_number();
    let clients = join(room, run, 2)?;
    let bad: &[u8] = b"\xFF\xFE not UTF-8 \xC3(\n";
    clients[0].send(bad)?;
    // Whatever the room does with that line, and with its sender, a new
    // client is served and heard.
    let newcomer = Client::connect(room, 3)?;
    let line = joined(run, 3);
    announce(
        |b| newcomer.send(b),
        &line,
        &[&clients[1]],
        |who, m| {
            format!(
                "client 1 sent {}, bytes that are not UTF-8; then client 3 connected and said {}. \
                 {} A line that is not text may end its sender's connection (with an error line, \
                 say), never the server or anyone else's.",
                show(bad),
                show(line.as_bytes()),
                m.say(who, REPLY)
            )
        },
    )?;
    Ok(())
}
