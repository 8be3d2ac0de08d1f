//! Checks of exercise 06, `ask_all`: the check runs several small servers
//! on 127.0.0.1 (each on port 0) that answer soon (never before
//! `MIN_ANSWER`) or late, in one piece or two, in reverse order, stay
//! silent, close, trickle one byte at a time, or are not there at all. Like
//! real servers, the ones that answer stay connected after answering, until
//! the client closes. Each server records what it received and when its
//! client closed, so that the check can tell what `ask_all` did from events,
//! not from how long things took on the machine.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::harness::{WAIT, Waited, lock, show, spawn, with_timeouts};

/// The function under test.
pub type AskAll = fn(&[SocketAddr], &str, Duration) -> Vec<io::Result<String>>;

pub fn checks(subject: AskAll) -> Vec<super::Check> {
    checks!(subject =>
        each_answer_lands_in_its_servers_slot,
        asks_every_server_at_the_same_time,
        a_silent_server_is_an_error_within_the_timeout,
        a_trickling_server_is_an_error_within_the_timeout,
        a_late_answer_in_two_pieces_is_an_answer,
        a_server_that_is_down_is_an_error_and_the_others_answer,
        a_server_that_closes_without_answering_is_an_error,
        an_answer_loses_its_line_end_and_keeps_its_spaces,
        many_silent_servers_cost_one_timeout_not_one_each,
        a_server_that_never_completes_the_connection_is_an_error_within_the_timeout,
        works_when_every_byte_arrives_on_its_own,
        works_when_separate_messages_arrive_merged,
    )
}

const QUESTION: &str = "what is your name?";

/// What the check's servers know about each other.
#[derive(Default)]
struct State {
    /// How many servers have received the whole question.
    asked: usize,
    /// When each of them received it.
    asked_at: Vec<Instant>,
    /// The servers (by number) that have sent their whole answer.
    answered: Vec<usize>,
    /// The servers (by number) whose client closed the connection after
    /// their answer: the exchange is over on the client's side.
    closed: Vec<usize>,
    /// The servers (by number) that answer, in a check whose answers come
    /// in reverse order ([`ask_in_reverse`]); empty otherwise.
    in_reverse: Vec<usize>,
    /// `ask_all` has returned.
    returned: bool,
    /// The servers that had sent their whole answer when `ask_all`
    /// returned.
    answered_when_returned: Vec<usize>,
    /// The servers whose client closed the connection before they answered.
    abandoned: Vec<usize>,
    /// The late server sent the first piece of its answer before
    /// `ask_all` returned.
    first_piece_sent: bool,
    /// What each server received, by number (index 0 unused).
    received: Vec<Vec<u8>>,
    /// How many servers had received the question when the first one gave
    /// up waiting for the others to be asked.
    asked_when_one_gave_up: Option<usize>,
    /// The check is over: every server lets its client go.
    over: bool,
}

#[derive(Default)]
struct Board {
    state: Mutex<State>,
    changed: Condvar,
}

impl Board {
    /// Waits until `done` holds, at most `patience`; true if it held.
    fn wait_until(&self, patience: Duration, done: impl Fn(&State) -> bool) -> bool {
        let deadline = Instant::now() + patience;
        let mut state = lock(&self.state);
        while !done(&state) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        true
    }

    fn update(&self, change: impl FnOnce(&mut State)) {
        change(&mut lock(&self.state));
        self.changed.notify_all();
    }
}

/// What one of the check's servers does with its one client.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Answers `answer from N` soon: after [`MIN_ANSWER`].
    Answer,
    /// Answers only once every server has received the question.
    AnswerWhenAllAsked,
    /// Answers after 300 ms, in two pieces, followed by a second line. The
    /// second piece comes [`PIECE_GAP`] after the first, unless the client
    /// closed the connection first: a client that takes the first piece
    /// for the answer is told so, however late it read it.
    AnswerLateInTwoPieces,
    /// Reads the question and never answers (the connection stays open).
    Silent,
    /// Reads the question and sends one byte every 100 ms, never a `\n`.
    Trickle,
    /// Reads the question and closes without answering.
    Close,
    /// Answers with exactly these bytes at once.
    Says(&'static str),
    /// A listener whose queue of connections waiting to be accepted is
    /// full: the system drops the connection request (on Linux and macOS;
    /// Windows refuses it, which makes this server one that is down).
    NeverAccepts,
}

/// The timeout of the checks with a server that never answers, where the
/// others answer at once: long enough that an answer sent at once arrives
/// within it on a busy machine (at 500 ms, a loaded two-core machine made
/// a right answer miss one), short enough that waiting it out is quick.
const ANSWERED_WITHIN: Duration = Duration::from_millis(1500);

/// How much longer than its timeout `ask_all` may take: room for a busy
/// machine. A deadline that works ends the exchange by the timeout.
const SLACK: Duration = WAIT;

/// How much longer than its timeout the check waits for `ask_all` to return
/// at all.
const GIVE_UP: Duration = Duration::from_secs(4);

/// How long a server that never answers (or trickles) holds its client,
/// unless the check ends first: longer than the check waits.
const HOLD: Duration = Duration::from_secs(9);

/// When the late server starts answering.
const LATE: Duration = Duration::from_millis(300);

/// The least time a server takes to answer after the question arrived: a
/// client that gives up sooner than the timeout it was given (a timeout of
/// its own, 100 ms "to be quick") misses every answer, whatever the load,
/// instead of only on a busy machine. A client that uses its timeout
/// (1 s or more in every check) never notices it.
const MIN_ANSWER: Duration = Duration::from_millis(300);

/// How long the late server waits between the two pieces of its answer
/// for a client that took the first piece for the whole answer to close
/// the connection: long enough that such a client, however busy the
/// machine, has read the first piece alone.
const PIECE_GAP: Duration = Duration::from_millis(500);

/// How long a server that answers in reverse order ([`ask_in_reverse`])
/// waits for the exchanges of the servers after it to be over. A client
/// that asks all at once ends them within milliseconds; a client that asks
/// one server after the other never asks the later servers, and gets its
/// answer after this: as right, only slower. The checks that answer in
/// reverse order have timeouts that leave room for it.
const REVERSE_PATIENCE: Duration = Duration::from_millis(1500);

/// Accepts one client, by polling a non-blocking listener (std has no
/// accept with a timeout, and a check must never block for good), until
/// the check is over or [`HOLD`] has passed: a client that asks one server
/// after the other comes late.
fn accept_one(listener: &TcpListener, board: &Board) -> Option<TcpStream> {
    let deadline = Instant::now() + HOLD;
    listener.set_nonblocking(true).ok()?;
    while Instant::now() < deadline && !lock(&board.state).over {
        match listener.accept() {
            Ok((stream, _)) => {
                // Some systems hand on the listener's non-blocking mode.
                stream.set_nonblocking(false).ok()?;
                return with_timeouts(stream, WAIT).ok();
            }
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
    None
}

/// Reads the question, recording every byte, until its `\n`; false if the
/// client closed or stopped sending first.
fn read_question(stream: &TcpStream, n: usize, board: &Board) -> bool {
    let mut buf = [0u8; 256];
    loop {
        match (&*stream).read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(got) => {
                let mut line_done = false;
                board.update(|s| {
                    s.received[n].extend_from_slice(&buf[..got]);
                    if s.received[n].contains(&b'\n') {
                        s.asked += 1;
                        s.asked_at.push(Instant::now());
                        line_done = true;
                    }
                });
                if line_done {
                    return true;
                }
            }
        }
    }
}

/// Starts server `n` (counting from 1) of `count`.
fn server(
    n: usize,
    count: usize,
    behaviour: Behaviour,
    board: &Arc<Board>,
) -> Result<SocketAddr, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("the check could not bind 127.0.0.1:0: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("the check could not read its port: {e}"))?;
    let board = Arc::clone(board);
    board.update(|s| {
        if s.received.len() <= n {
            s.received.resize(n + 1, Vec::new());
        }
    });
    spawn("one of the check's servers", move || {
        let Some(stream) = accept_one(&listener, &board) else {
            return;
        };
        if !read_question(&stream, n, &board) {
            return;
        }
        let asked_at = Instant::now();
        let answer = format!("answer from {n}\n");
        let mut writer = &stream;
        let over = |s: &State| s.over;
        match behaviour {
            Behaviour::Answer => {}
            Behaviour::AnswerWhenAllAsked => {
                if !board.wait_until(Duration::from_millis(1500), |s| s.over || s.asked == count) {
                    board.update(|s| {
                        s.asked_when_one_gave_up.get_or_insert(s.asked);
                    });
                    return; // close without answering: the check reports why
                }
            }
            Behaviour::AnswerLateInTwoPieces => {
                if board.wait_until(LATE, over) {
                    return;
                }
                // Sent only while ask_all runs, so the check knows whether
                // it gave up before any answer came.
                let mut sent = false;
                board.update(|s| {
                    if !s.returned {
                        sent = writer.write_all(&answer.as_bytes()[..9]).is_ok();
                        s.first_piece_sent = sent;
                    }
                });
                if !sent || closed_within(&stream, PIECE_GAP, &board) {
                    return;
                }
                let rest = format!("{}second line\n", &answer[9..]);
                let _ = writer.write_all(rest.as_bytes());
                board.update(|s| s.answered.push(n));
                hold_until_closed(&stream, n, &board);
                return;
            }
            Behaviour::Silent => {
                // Hold the connection open, say nothing, until the check
                // is over or long enough has passed.
                board.wait_until(HOLD, over);
                return;
            }
            Behaviour::Trickle => {
                let started = Instant::now();
                while started.elapsed() < HOLD {
                    if writer.write_all(b"x").is_err()
                        || board.wait_until(Duration::from_millis(100), over)
                    {
                        return;
                    }
                }
                return;
            }
            // Never reaches here: `ask` makes a full listener for it.
            Behaviour::Close | Behaviour::NeverAccepts => return,
            Behaviour::Says(_) => {}
        }
        if !after_the_later_servers(n, &board) {
            return;
        }
        let soonest = MIN_ANSWER.saturating_sub(asked_at.elapsed());
        if !soonest.is_zero() && board.wait_until(soonest, over) {
            return;
        }
        if has_closed(&stream) {
            // The client gave up on this server before it could answer.
            board.update(|s| s.abandoned.push(n));
            return;
        }
        let answer = match behaviour {
            Behaviour::Says(line) => line.to_string(),
            _ => answer,
        };
        let _ = writer.write_all(answer.as_bytes());
        board.update(|s| s.answered.push(n));
        // A real server stays connected after answering.
        hold_until_closed(&stream, n, &board);
    });
    // Directly, or through a proxy when the check is replayed over a wire.
    super::harness::route(addr)
}

/// In a check whose answers come in reverse order: waits until the
/// exchange of every answering server after `n` is over on the client's
/// side (its client closed the connection, so whatever the client does with
/// that answer is under way), or [`REVERSE_PATIENCE`]; then a moment more,
/// so that the answers reach the code under test apart. False if the check
/// is over.
fn after_the_later_servers(n: usize, board: &Board) -> bool {
    let later: Vec<usize> = lock(&board.state)
        .in_reverse
        .iter()
        .copied()
        .filter(|&m| m > n)
        .collect();
    if later.is_empty() {
        return !lock(&board.state).over;
    }
    board.wait_until(REVERSE_PATIENCE, |s| {
        s.over || later.iter().all(|m| s.closed.contains(m))
    });
    !board.wait_until(Duration::from_millis(50), |s| s.over)
}

/// Waits at most `within` for the client to close the connection (or the
/// check to be over); true if it did either.
fn closed_within(stream: &TcpStream, within: Duration, board: &Board) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 256];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if lock(&board.state).over {
            return true;
        }
        if left.is_zero() {
            return false;
        }
        // Short reads, so that the end of the check is noticed.
        let _ = stream.set_read_timeout(Some(left.min(Duration::from_millis(200))));
        match (&*stream).read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if super::harness::is_timeout(&e) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}

/// Whether the client has closed the connection (or it failed), without
/// waiting: a read that would block says it is open.
fn has_closed(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let mut buf = [0u8; 256];
    let closed = loop {
        match (&*stream).read(&mut buf) {
            Ok(0) => break true,
            Ok(_) => {} // more than the question: not this check's concern
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break e.kind() != io::ErrorKind::WouldBlock,
        }
    };
    let _ = stream.set_nonblocking(false);
    closed
}

/// Holds the connection open after the answer, as a real server does,
/// until the client closes it (recorded: its exchange is over), the check
/// is over, or [`HOLD`] has passed.
fn hold_until_closed(stream: &TcpStream, n: usize, board: &Board) {
    if closed_within(stream, HOLD, board) {
        board.update(|s| s.closed.push(n));
    }
}

/// A local address nobody listens on, and what keeps it so: the local end
/// of a connection the check makes to itself. While that connection is
/// open, its port is taken (no one else can bind it, so no listener can
/// appear there) and nothing listens on it, so a connection request is
/// refused. Not a fixed port (port 1 was: on a shared machine another
/// program listened there), and not a port that was free a moment ago
/// (checks run at the same time, and the system may hand that port to one
/// of their servers).
fn nobody_listening() -> Result<(SocketAddr, Vec<TcpStream>), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("the check could not bind 127.0.0.1:0: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("the check could not read its port: {e}"))?;
    let ours = TcpStream::connect_timeout(&addr, WAIT)
        .map_err(|e| format!("the check could not connect to itself: {e}"))?;
    let (theirs, _) = listener
        .accept()
        .map_err(|e| format!("the check could not accept its own connection: {e}"))?;
    let down = ours
        .local_addr()
        .map_err(|e| format!("the check could not read its port: {e}"))?;
    Ok((down, vec![ours, theirs]))
}

/// A listener that never accepts, with its queue of connections waiting to
/// be accepted filled by the check's own connections, so that the system
/// drops the next connection request: a `connect` without a timeout then
/// waits for minutes (Linux retries the request after 1 s, 3 s, 7 s...).
/// On loopback a connection the queue has room for completes within the
/// `connect` call, so the first one that times out found the queue full.
/// Where the system refuses instead (Windows), the connections stop at the
/// first refusal, and the listener is simply one that is down.
fn full_listener() -> Result<(TcpListener, Vec<TcpStream>), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("the check could not bind 127.0.0.1:0: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("the check could not read its port: {e}"))?;
    let mut held = Vec::new();
    // std asks `listen` for 128; Linux queues one more. A margin, and a
    // bound for systems that queue more.
    while held.len() < 300 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(stream) => held.push(stream),
            Err(_) => break,
        }
    }
    Ok((listener, held))
}

/// What one run of `ask_all` gave: the answers (errors as text), how long
/// it took, and what the servers saw.
struct Asked {
    answers: Vec<Result<String, String>>,
    took: Duration,
    timeout: Duration,
    board: Arc<Board>,
}

/// `None` stands for a server that is down.
type Servers = [Option<Behaviour>];

/// Runs `ask_all` against servers with these behaviours (and fails if it
/// does not return within the timeout and [`WAIT`] more).
fn ask(subject: AskAll, servers: &Servers, timeout: Duration) -> Result<Asked, String> {
    ask_with(subject, servers, timeout, false)
}

/// [`ask`], with the servers that answer doing so in reverse order of their
/// numbers, each once the exchanges after it are over: answers kept in the
/// order they arrive are then in the wrong slots, whatever the load.
fn ask_in_reverse(subject: AskAll, servers: &Servers, timeout: Duration) -> Result<Asked, String> {
    ask_with(subject, servers, timeout, true)
}

fn ask_with(
    subject: AskAll,
    servers: &Servers,
    timeout: Duration,
    reverse: bool,
) -> Result<Asked, String> {
    let board = Arc::new(Board::default());
    if reverse {
        board.update(|s| {
            s.in_reverse = (1..=servers.len())
                .filter(|n| {
                    matches!(
                        servers[n - 1],
                        Some(
                            Behaviour::Answer | Behaviour::AnswerWhenAllAsked | Behaviour::Says(_)
                        )
                    )
                })
                .collect();
        });
    }
    let mut addrs = Vec::new();
    // Full listeners and their connections, kept until `ask_all` is over.
    let mut full = Vec::new();
    // Connections that keep the addresses of servers that are down so.
    let mut down = Vec::new();
    for (i, b) in servers.iter().enumerate() {
        addrs.push(match b {
            Some(Behaviour::NeverAccepts) => {
                let (listener, held) = full_listener()?;
                let addr = listener.local_addr().map_err(|e| e.to_string())?;
                full.push((listener, held));
                addr
            }
            Some(b) => server(i + 1, servers.len(), *b, &board)?,
            None => {
                let (addr, held) = nobody_listening()?;
                down.push(held);
                addr
            }
        });
    }
    let started = Instant::now();
    let task = spawn("ask_all", {
        let board = Arc::clone(&board);
        move || {
            let answers = subject(&addrs, QUESTION, timeout);
            board.update(|s| {
                s.returned = true;
                s.answered_when_returned = s.answered.clone();
            });
            answers
                .into_iter()
                .map(|r| r.map_err(|e| e.to_string()))
                .collect::<Vec<_>>()
        }
    });
    let outcome = task.wait(timeout + GIVE_UP);
    let took = started.elapsed();
    board.update(|s| s.over = true); // let every server go
    drop(full);
    drop(down);
    match outcome {
        Ok(answers) => Ok(Asked {
            answers,
            took,
            timeout,
            board,
        }),
        Err(Waited::Panicked(why)) => Err(why),
        Err(Waited::Running) => Err(did_not_return(&board, servers, timeout)),
    }
}

/// `ask_all` did not return: says what the servers saw.
fn did_not_return(board: &Board, servers: &Servers, timeout: Duration) -> String {
    let state = lock(&board.state);
    let waited = timeout + GIVE_UP;
    if let Some(no_line_end) = question_without_line_end(&state) {
        return no_line_end;
    }
    let up = servers.iter().filter(|s| s.is_some()).count();
    if state.asked < up && state.answered.is_empty() && state.asked <= 1 {
        return format!(
            "ask_all did not return within {waited:?} (the timeout was {timeout:?}), and only \
             {} of {up} servers had received the question: it asks them one after the other, \
             and waits for ever for one of them.\nAsk them all at once, one thread per server \
             (thread::scope), and give every connection a deadline.",
            state.asked
        );
    }
    let trickling = servers
        .iter()
        .any(|s| matches!(s, Some(Behaviour::Trickle)));
    let what = if trickling {
        "a server that sends one byte every 100 ms and never a \\n"
    } else {
        "a server that never answers"
    };
    format!(
        "ask_all did not return within {waited:?} (the timeout was {timeout:?}): {what} held it \
         up.\nEvery exchange must end by the timeout, however the server behaves: \
         TcpStream::connect_timeout, then a deadline for the whole exchange (see \
         lessons::deadline)."
    )
}

/// The servers received the question without its `\n`.
fn question_without_line_end(state: &State) -> Option<String> {
    let got = state
        .received
        .iter()
        .find(|r| !r.is_empty() && !r.contains(&b'\n'))?;
    Some(format!(
        "the servers received {} with no \\n after it, so they are still waiting for the end \
         of the question and have not answered.\nSend the question followed by \\n: servers \
         read lines.",
        show(got)
    ))
}

fn ok(n: usize) -> Result<String, String> {
    Ok(format!("answer from {n}"))
}

impl Asked {
    /// What every check looks at first: the question as the servers got
    /// it, one result per server, each in its server's slot.
    fn common(&self, servers: usize) -> Result<(), String> {
        let state = lock(&self.board.state);
        if let Some(no_line_end) = question_without_line_end(&state) {
            return Err(no_line_end);
        }
        let answers = &self.answers;
        if answers.len() != servers {
            return Err(format!(
                "ask_all was given {servers} servers and returned {} results: one result per \
                 server, in the order of the servers ({answers:?}).",
                answers.len()
            ));
        }
        for (slot, answer) in answers.iter().enumerate() {
            let Ok(answer) = answer else { continue };
            let Some(n) = answer
                .strip_prefix("answer from ")
                .and_then(|n| n.trim_end().parse::<usize>().ok())
            else {
                continue;
            };
            if n != slot + 1 {
                return Err(format!(
                    "slot {slot} holds server {n}'s answer: the answers are in the order they \
                     arrived, not in the order of the servers.\nSlot i must hold server i's \
                     answer. Collecting answers from a channel gets this wrong: keep the \
                     JoinHandles in a Vec and join them in order. (ask_all returned \
                     {answers:?})"
                ));
            }
        }
        Ok(())
    }

    /// An error for a server that answers, returned before that server had
    /// answered and before the timeout ran out: the events say that
    /// `ask_all` gave up too soon.
    fn gave_up_early(&self, expected: &[Option<usize>], situation: &str) -> Result<(), String> {
        let state = lock(&self.board.state);
        let answers = &self.answers;
        // Either event says it: the server had not answered when ask_all
        // returned, or its client closed the connection before it answered.
        let gave_up = expected.iter().enumerate().find(|(slot, e)| {
            e.is_some()
                && answers[*slot].is_err()
                && (!state.answered_when_returned.contains(&(slot + 1))
                    || state.abandoned.contains(&(slot + 1)))
        });
        if let Some((slot, _)) = gave_up
            && self.took < self.timeout
        {
            return Err(format!(
                "ask_all gave up on server {} after {:?}, before it answered and before the \
                 timeout of {:?} had run out ({situation}): slot {slot} is {:?}.\nUse the \
                 timeout ask_all is given, for connecting and for the answer: a server may take \
                 its time.",
                slot + 1,
                self.took,
                self.timeout,
                answers[slot]
            ));
        }
        Ok(())
    }

    /// The diagnoses every check shares, then the expected slots: `Some(n)`
    /// for `answer from n`, `None` for an error.
    fn judge(&self, expected: &[Option<usize>], situation: &str) -> Result<(), String> {
        self.common(expected.len())?;
        self.gave_up_early(expected, situation)?;
        let state = lock(&self.board.state);
        let answers = &self.answers;
        let wanted: Vec<Result<String, String>> = expected
            .iter()
            .map(|e| e.map_or(Err("..".into()), ok))
            .collect();
        for (slot, answer) in answers.iter().enumerate() {
            let Ok(answer) = answer else { continue };
            let n = slot + 1;
            if expected[slot].is_none() && answer.is_empty() {
                return Err(format!(
                    "slot {slot} is Ok(\"\") for a server that did not answer ({situation}): an \
                     empty answer hides the failure. Put the error in its slot (Err(...)), as it \
                     came."
                ));
            }
            let right = format!("answer from {n}");
            if *answer == format!("{right}\n") || *answer == format!("{right}\r\n") {
                return Err(format!(
                    "slot {slot} is Ok({answer:?}): the answer still has its line end. The answer \
                     is the line without its \\n (read_line keeps it: trim it off, or use \
                     lessons::framing::read_line)."
                ));
            }
            if answer.starts_with("answer fr")
                && right.starts_with(answer.as_str())
                && *answer != right
            {
                return Err(format!(
                    "slot {slot} is Ok({answer:?}), the first piece of server {n}'s answer: it \
                     sent \"answer fr\" and, {PIECE_GAP:?} later, the rest of the line. One read may \
                     return part of a line: read up to the \\n (BufRead::read_line, or \
                     lessons::framing::read_line)."
                ));
            }
            if answer.starts_with(&right) && answer.len() > right.len() {
                return Err(format!(
                    "slot {slot} is Ok({answer:?}): more than the first line. The answer is the \
                     first line the server sends, without its \\n; servers may say more after \
                     it."
                ));
            }
        }
        // Answers that were sent in full, and slots that are errors anyway.
        let sent_but_err: Vec<usize> = expected
            .iter()
            .enumerate()
            .filter(|(i, e)| {
                e.is_some() && answers[*i].is_err() && state.answered.contains(&(i + 1))
            })
            .map(|(i, _)| i)
            .collect();
        if !sent_but_err.is_empty() && self.took + Duration::from_millis(200) >= self.timeout {
            // (Every Ok slot holds its own server's answer: `common` said so.)
            let slot = sent_but_err[0];
            return Err(format!(
                "server {} answered a whole line (\"answer from {}\\n\") and stayed connected, \
                 and slot {slot} is {:?} after {:?}: your code kept reading after the \\n until \
                 the timeout, as if waiting for the server to close.\nThe answer is the first \
                 line: read up to its \\n, not to the end of the stream.",
                slot + 1,
                slot + 1,
                answers[slot],
                self.took
            ));
        }
        let shown = |a: &Result<String, String>| match a {
            Ok(answer) => format!("Ok({answer:?})"),
            Err(_) => "Err(..)".to_string(),
        };
        let wanted_shown: Vec<String> = wanted.iter().map(shown).collect();
        let got_shown: Vec<String> = answers.iter().map(shown).collect();
        if wanted_shown == got_shown {
            return Ok(());
        }
        let errors: Vec<&String> = answers.iter().filter_map(|a| a.as_ref().err()).collect();
        Err(format!(
            "{situation}: the slots should be {}, and ask_all returned {}.\n(Your errors: \
             {errors:?})",
            wanted_shown.join(", "),
            got_shown.join(", ")
        ))
    }
}

pub fn each_answer_lands_in_its_servers_slot(subject: AskAll) -> Result<(), String> {
    use Behaviour::Answer as A;
    // A server waits up to 1.5 s for the exchanges after it to be over;
    // the timeout leaves room for that and for a busy machine, so that
    // every answer comes within it however the client asks. (A client that
    // asks all at once returns as soon as they are in: the timeout costs
    // it nothing.)
    let asked = ask_in_reverse(
        subject,
        &[Some(A), Some(A), Some(A)],
        Duration::from_secs(4),
    )?;
    asked.judge(
        &[Some(1), Some(2), Some(3)],
        "the servers answered in the order 3, 2, 1",
    )
}

pub fn asks_every_server_at_the_same_time(subject: AskAll) -> Result<(), String> {
    use Behaviour::AnswerWhenAllAsked as W;
    // Once all are asked, they answer in reverse order (1.5 s more at
    // most, within the timeout), so that answers kept in the order they
    // arrive show here too, whatever the load.
    let asked = ask_in_reverse(
        subject,
        &[Some(W), Some(W), Some(W)],
        Duration::from_secs(4),
    )?;
    asked.common(3)?;
    let gave_up = lock(&asked.board.state).asked_when_one_gave_up;
    if let Some(n) = gave_up
        && n < 3
    {
        let how = if n <= 1 {
            "ask_all asks one server after the other".to_string()
        } else {
            format!("ask_all asks at most {n} servers at a time")
        };
        return Err(format!(
            "only {n} of 3 servers had received the question when the first one gave up: \
             {how}.\nEach server waited 1.5 s for the others to be asked too. Start one thread \
             per server (thread::scope), and only then wait for the answers. (ask_all returned \
             {:?})",
            asked.answers
        ));
    }
    asked.judge(
        &[Some(1), Some(2), Some(3)],
        "three servers asked at the same time should all answer",
    )
}

pub fn a_silent_server_is_an_error_within_the_timeout(subject: AskAll) -> Result<(), String> {
    use Behaviour::{Answer, Silent};
    let timeout = ANSWERED_WITHIN;
    let asked = ask(
        subject,
        &[Some(Answer), Some(Silent), Some(Answer)],
        timeout,
    )?;
    asked.common(3)?;
    if asked.took > timeout + SLACK {
        return Err(format!(
            "with a timeout of {timeout:?} and one silent server, ask_all took {:?}: no server \
             may hold up the answer for much longer than the timeout.\nGive every exchange a \
             deadline (connect_timeout, then lessons::deadline or set_read_timeout).",
            asked.took
        ));
    }
    asked.judge(
        &[Some(1), None, Some(3)],
        "server 2 accepts the question but never answers",
    )
}

pub fn a_trickling_server_is_an_error_within_the_timeout(subject: AskAll) -> Result<(), String> {
    use Behaviour::{Answer, Silent, Trickle};
    let timeout = ANSWERED_WITHIN;
    // The same timeout against a silent server, at the same time: if that
    // one ends in time and the trickling one does not, a read timeout is
    // there, and restarts with every byte.
    let silent =
        thread::spawn(move || ask(subject, &[Some(Answer), Some(Silent)], timeout).map(|a| a.took));
    let trickled = ask(subject, &[Some(Answer), Some(Trickle)], timeout);
    let silent = silent
        .join()
        .unwrap_or_else(|_| Err("the check panicked".into()));
    let silent_in_time = matches!(silent, Ok(took) if took <= timeout + SLACK);
    let restarts = |took: String| {
        format!(
            "with a timeout of {timeout:?}, a server that sends one byte every 100 ms and never a \
             \\n held ask_all up for {took}, though a silent server did not: a read timeout \
             starts again with every byte that arrives, so it never fires.\nKeep one deadline \
             for the whole exchange, and before each read set the time that is left \
             (lessons::deadline::Within does)."
        )
    };
    match trickled {
        Err(e) if e.starts_with("ask_all did not return") && silent_in_time => {
            Err(restarts(format!("more than {:?}", timeout + GIVE_UP)))
        }
        Err(e) => Err(e),
        Ok(asked) if asked.common(2).is_err() => asked.common(2),
        Ok(asked) if asked.took > timeout + SLACK => {
            if silent_in_time {
                Err(restarts(format!("{:?}", asked.took)))
            } else {
                Err(format!(
                    "with a timeout of {timeout:?} and one server that trickles, ask_all took {:?}: \
                     no server may hold up the answer for much longer than the timeout.",
                    asked.took
                ))
            }
        }
        Ok(asked) => match asked.answers.get(1) {
            Some(Ok(bytes)) if !bytes.is_empty() && bytes.chars().all(|c| c == 'x') => {
                Err(format!(
                    "slot 1 is Ok({bytes:?}): what server 2 had sent so far, without a \\n. A line \
                 is not an answer until its \\n arrives: read up to the \\n \
                 (BufRead::read_line, or lessons::framing::read_line), within the deadline."
                ))
            }
            _ => asked.judge(
                &[Some(1), None],
                "server 2 sends one byte every 100 ms and never a \\n",
            ),
        },
    }
}

pub fn a_late_answer_in_two_pieces_is_an_answer(subject: AskAll) -> Result<(), String> {
    use Behaviour::{Answer, AnswerLateInTwoPieces};
    // Late, yet well within the timeout even on a busy machine: the answer
    // comes about 0.8 s after the question, and a client that uses its
    // timeout returns then, without waiting it out.
    let timeout = Duration::from_secs(3);
    let asked = ask(
        subject,
        &[Some(AnswerLateInTwoPieces), Some(Answer)],
        timeout,
    )?;
    asked.common(2)?;
    // Judged by the event, not the clock: ask_all returned with an error
    // for server 1 before server 1 had sent anything.
    let sent = lock(&asked.board.state).first_piece_sent;
    if let Err(e) = &asked.answers.first().cloned().unwrap_or(Ok(String::new()))
        && !sent
    {
        return Err(format!(
            "server 1 answers after {LATE:?}, within the timeout of {timeout:?}, but ask_all gave \
             up on it after {:?}, before it answered ({e}): use the timeout it was given.",
            asked.took
        ));
    }
    asked.judge(
        &[Some(1), Some(2)],
        &format!(
            "server 1 answers after {LATE:?} in two pieces {PIECE_GAP:?} apart, then says a \
             second line; server 2 answers at once"
        ),
    )
}

pub fn a_server_that_is_down_is_an_error_and_the_others_answer(
    subject: AskAll,
) -> Result<(), String> {
    use Behaviour::Answer;
    // In reverse order: see `ask_in_reverse`.
    let asked = ask_in_reverse(
        subject,
        &[Some(Answer), None, Some(Answer)],
        Duration::from_secs(4),
    )?;
    asked.judge(
        &[Some(1), None, Some(3)],
        "nobody listens at server 2's address",
    )
}

pub fn a_server_that_closes_without_answering_is_an_error(subject: AskAll) -> Result<(), String> {
    use Behaviour::{Answer, Close};
    // In reverse order: see `ask_in_reverse`.
    let asked = ask_in_reverse(
        subject,
        &[Some(Answer), Some(Close), Some(Answer)],
        Duration::from_secs(4),
    )?;
    asked.common(3)?;
    if let Some(Ok(empty)) = asked.answers.get(1)
        && empty.is_empty()
    {
        return Err(format!(
            "server 2 closed the connection without answering, and its slot is Ok({empty:?}): a \
             read of 0 bytes (read_line returning Ok(0)) means the connection ended, which is an \
             error here, not an empty answer."
        ));
    }
    asked.judge(
        &[Some(1), None, Some(3)],
        "server 2 closes without answering",
    )
}

pub fn an_answer_loses_its_line_end_and_keeps_its_spaces(subject: AskAll) -> Result<(), String> {
    use Behaviour::Says;
    const CRLF: &str = "answer from 1\r\n";
    const SPACES: &str = "  answer from 2 \n";
    // In reverse order: see `ask_in_reverse`.
    let asked = ask_in_reverse(
        subject,
        &[Some(Says(CRLF)), Some(Says(SPACES))],
        Duration::from_secs(4),
    )?;
    asked.common(2)?;
    asked.gave_up_early(&[Some(1), Some(2)], "both servers answer")?;
    let wanted = ["answer from 1", "  answer from 2 "];
    let answers = &asked.answers;
    for (slot, (answer, sent)) in answers.iter().zip([CRLF, SPACES]).enumerate() {
        let right = wanted[slot];
        match answer {
            Ok(answer) if answer == right => {}
            Ok(answer) if answer.ends_with('\n') => {
                return Err(format!(
                    "slot {slot} is Ok({answer:?}): the answer still has its line end. The \
                     answer is the line without its \\n or \\r\\n (read_line keeps it: \
                     take it off, or use lessons::framing::read_line)."
                ));
            }
            Ok(answer) if answer.ends_with('\r') => {
                return Err(format!(
                    "server {} sent {sent:?} and slot {slot} is Ok({answer:?}): a line may end \
                     in \\r\\n (Windows programs and many protocols send it), and the \\r \
                     is part of the line end, not of the answer. Take off \"\\n\", then \
                     \"\\r\" if it is there (lessons::framing::read_line does both).",
                    slot + 1
                ));
            }
            Ok(answer) if answer.trim() == right.trim() => {
                return Err(format!(
                    "server {} sent {sent:?} and slot {slot} is Ok({answer:?}): the spaces \
                     the server sent are part of its answer. Take off only the line end \
                     (strip_suffix, or lessons::framing::read_line); trim() and its kin \
                     remove the spaces too.",
                    slot + 1
                ));
            }
            Err(_) if asked.took + Duration::from_millis(200) >= asked.timeout => {
                return Err(format!(
                    "server {} answered a whole line ({sent:?}) and stayed connected, and slot \
                     {slot} is {answer:?} after {:?}: your code kept reading after the \\n \
                     until the timeout, as if waiting for the server to close.\nThe answer is \
                     the first line: read up to its \\n, not to the end of the stream.",
                    slot + 1,
                    asked.took
                ));
            }
            _ => {
                return Err(format!(
                    "server 1 sent {CRLF:?} and server 2 sent {SPACES:?}: the slots should be \
                     Ok({:?}), Ok({:?}), and ask_all returned {answers:?}",
                    wanted[0], wanted[1]
                ));
            }
        }
    }
    Ok(())
}

pub fn many_silent_servers_cost_one_timeout_not_one_each(subject: AskAll) -> Result<(), String> {
    use Behaviour::{Answer, Silent};
    // Four silent servers: a timeout applied to one server after the other
    // takes at least 4 x 1 s = 4 s, whatever the machine does; one
    // deadline per exchange, all running at once, ends them all together,
    // within 1 s + SLACK = 3 s even on a busy machine.
    let timeout = Duration::from_secs(1);
    let silent = 4;
    let mut servers = vec![Some(Silent); silent];
    servers.push(Some(Answer));
    let in_turn = |took: String, board: Option<&Board>| {
        // When the questions arrived says whether the servers were asked
        // at once: their timeouts then ran in turn after the asking.
        let spread = board.and_then(|b| {
            let s = lock(&b.state);
            Some(
                s.asked_at
                    .iter()
                    .max()?
                    .duration_since(*s.asked_at.iter().min()?),
            )
        });
        let how = match spread {
            Some(spread) if spread >= timeout => format!(
                "the questions reached the servers one after the other, over {spread:?}, each \
                 once the previous server's timeout had run out"
            ),
            Some(_) => "all the servers were asked at once, but the answers were waited for \
                        one slot after the other, each with a fresh timeout"
                .to_string(),
            None => "the silent servers were waited for one after the other".to_string(),
        };
        format!(
            "with {silent} silent servers and a timeout of {timeout:?}, ask_all took {took}: \
             their timeouts ran one after the other ({silent} x {timeout:?} = {:?}): {how}. \
             Each server's exchange has its own deadline, and all of them run at the same \
             time, so {silent} silent servers cost one timeout, not {silent}.",
            timeout * silent as u32
        )
    };
    let asked = match ask(subject, &servers, timeout) {
        Err(e) if e.starts_with("ask_all did not return") => {
            return Err(in_turn(format!("more than {:?}", timeout + GIVE_UP), None));
        }
        asked => asked?,
    };
    asked.common(servers.len())?;
    if asked.took > timeout + SLACK {
        return Err(in_turn(format!("{:?}", asked.took), Some(&asked.board)));
    }
    let mut expected = vec![None; silent];
    expected.push(Some(silent + 1));
    asked.judge(
        &expected,
        &format!("servers 1 to {silent} accept the question and never answer"),
    )
}

pub fn a_server_that_never_completes_the_connection_is_an_error_within_the_timeout(
    subject: AskAll,
) -> Result<(), String> {
    use Behaviour::{Answer, NeverAccepts};
    let timeout = ANSWERED_WITHIN;
    let asked = match ask(subject, &[Some(Answer), Some(NeverAccepts)], timeout) {
        Err(e) if e.starts_with("ask_all did not return") => {
            return Err(format!(
                "ask_all did not return within {:?} (the timeout was {timeout:?}): server 2's \
                 queue of connections waiting to be accepted is full, so the system drops the \
                 connection request, and a connect with no time limit waits for minutes (the \
                 request is retried after 1 s, 3 s, 7 s...). `timeout` is for connecting too: \
                 connect within the time left (TcpStream::connect_timeout).",
                timeout + GIVE_UP
            ));
        }
        asked => asked?,
    };
    asked.common(2)?;
    if asked.took > timeout + SLACK {
        return Err(format!(
            "with a timeout of {timeout:?}, ask_all took {:?}: server 2 never completes the \
             connection (its queue of connections waiting to be accepted is full), and \
             connecting must end within the timeout too (TcpStream::connect_timeout, with the \
             time left).",
            asked.took
        ));
    }
    asked.judge(
        &[Some(1), None],
        "server 2's listener never completes the connection (its accept queue is full)",
    )
}

// Questions and answers replayed over lesson 09's proxy:
// `works_when_every_byte_arrives_on_its_own` and
// `works_when_separate_messages_arrive_merged`.
over_the_wire!(AskAll => one_server_answers_at_once);

/// Replayed over the wire only. The other checks time their servers
/// against each other and against the timeout, and over the wire the bytes
/// come a few milliseconds later, in another order; one server that
/// answers at once, with a long timeout, leaves nothing to timing, so a
/// failure over the wire is the framing's.
fn one_server_answers_at_once(subject: AskAll) -> Result<(), String> {
    let asked = ask(subject, &[Some(Behaviour::Answer)], Duration::from_secs(2))?;
    asked.judge(&[Some(1)], "the server answers at once")
}
