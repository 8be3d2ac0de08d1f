//! Checks of exercise 06, `ask_all`: the check runs several small servers
//! on 127.0.0.1 (each on port 0) that answer, stay silent, close, or are not
//! there at all, and compares the answers `ask_all` collected.

use std::io::{self, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::harness::{Task, WAIT, Waited, read_line, same, spawn, with_timeouts};

/// The function under test.
pub type AskAll = fn(&[SocketAddr], &str, Duration) -> Vec<io::Result<String>>;

pub fn checks(subject: AskAll) -> Vec<super::Check> {
    checks!(subject =>
        each_answer_lands_in_its_servers_slot,
        asks_every_server_at_the_same_time,
        a_silent_server_is_an_error_within_the_timeout,
        a_server_that_is_down_is_an_error_and_the_others_answer,
        a_server_that_closes_without_answering_is_an_error,
    )
}

/// How the check's servers know about each other: how many have received
/// the question, and how many have answered.
#[derive(Default)]
struct Board {
    state: Mutex<(usize, Vec<usize>)>, // (questions received, servers that answered)
    changed: Condvar,
}

impl Board {
    /// Waits until `done` holds, at most `patience`; true if it held.
    fn wait_until(&self, patience: Duration, done: impl Fn(&(usize, Vec<usize>)) -> bool) -> bool {
        let deadline = Instant::now() + patience;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
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

    fn update(&self, change: impl FnOnce(&mut (usize, Vec<usize>))) {
        change(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()));
        self.changed.notify_all();
    }
}

/// What one of the check's servers does with its one client.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Answers `answer from N` at once.
    Answer,
    /// Answers only after every server with a bigger number has answered
    /// (or after a short wait), so that the answers arrive in reverse order.
    AnswerAfterTheOthers,
    /// Answers only once every server has received the question.
    AnswerWhenAllAsked,
    /// Reads the question and never answers (the connection stays open).
    Silent,
    /// Reads the question and closes without answering.
    Close,
}

/// Accepts one client within [`WAIT`], by polling a non-blocking listener:
/// std has no accept with a timeout, and a check must never block for good.
fn accept_one(listener: &TcpListener) -> Option<TcpStream> {
    let deadline = Instant::now() + WAIT;
    listener.set_nonblocking(true).ok()?;
    while Instant::now() < deadline {
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

/// Starts server `n` (counting from 1) of `count`.
fn server(
    n: usize,
    count: usize,
    behaviour: Behaviour,
    board: &Arc<Board>,
) -> Result<(SocketAddr, Task<()>), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("the check could not bind 127.0.0.1:0: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("the check could not read its port: {e}"))?;
    let board = Arc::clone(board);
    let task = spawn("one of the check's servers", move || {
        let Some(stream) = accept_one(&listener) else {
            return;
        };
        let Ok(clone) = stream.try_clone() else {
            return;
        };
        let Ok(Some(_question)) = read_line(&mut BufReader::new(clone)) else {
            return;
        };
        board.update(|s| s.0 += 1);
        let answer = format!("answer from {n}\n");
        match behaviour {
            Behaviour::Answer => {}
            Behaviour::AnswerAfterTheOthers => {
                board.wait_until(Duration::from_millis(300), |s| {
                    (n + 1..=count).all(|m| s.1.contains(&m))
                });
            }
            Behaviour::AnswerWhenAllAsked => {
                if !board.wait_until(Duration::from_millis(1500), |s| s.0 == count) {
                    return; // close without answering: the check reports why
                }
            }
            Behaviour::Silent => {
                // Hold the connection open, say nothing, until the check
                // is over (the board is told) or WAIT has passed.
                board.wait_until(WAIT, |s| s.1.contains(&usize::MAX));
                return;
            }
            Behaviour::Close => return,
        }
        let _ = (&stream).write_all(answer.as_bytes());
        board.update(|s| s.1.push(n));
    });
    Ok((addr, task))
}

/// What one run of `ask_all` gave: the answers (errors as text), how long
/// it took, and what the servers saw.
struct Asked {
    answers: Vec<Result<String, String>>,
    took: Duration,
    board: Arc<Board>,
}

/// Runs `ask_all` against servers with these behaviours.
fn ask(subject: AskAll, behaviours: &[Behaviour], timeout: Duration) -> Result<Asked, String> {
    let board = Arc::new(Board::default());
    let mut addrs = Vec::new();
    let mut servers = Vec::new();
    for (i, &b) in behaviours.iter().enumerate() {
        let (addr, task) = server(i + 1, behaviours.len(), b, &board)?;
        addrs.push(addr);
        servers.push(task);
    }
    let started = Instant::now();
    let task = spawn("ask_all", move || {
        subject(&addrs, "what is your name?", timeout)
            .into_iter()
            .map(|r| r.map_err(|e| e.to_string()))
            .collect::<Vec<_>>()
    });
    let outcome = task.wait(timeout + WAIT);
    let took = started.elapsed();
    // Let a silent server go.
    board.update(|s| s.1.push(usize::MAX));
    match outcome {
        Ok(answers) => Ok(Asked {
            answers,
            took,
            board,
        }),
        Err(Waited::Panicked(why)) => Err(why),
        Err(Waited::Running) => {
            let asked = board.state.lock().unwrap_or_else(|p| p.into_inner()).0;
            let one_by_one = if asked < behaviours.len() {
                format!(
                    " By then only {asked} of {} servers had received the question: ask them \
                     all at once, one thread per server (thread::scope).",
                    behaviours.len()
                )
            } else {
                String::new()
            };
            Err(format!(
                "ask_all did not return within {:?} (the timeout was {timeout:?}).{one_by_one} \
                 Every connection needs a timeout: TcpStream::connect_timeout, then \
                 set_read_timeout and set_write_timeout on the stream.",
                timeout + WAIT
            ))
        }
    }
}

fn ok(n: usize) -> Result<String, String> {
    Ok(format!("answer from {n}"))
}

pub fn each_answer_lands_in_its_servers_slot(subject: AskAll) -> Result<(), String> {
    use Behaviour::AnswerAfterTheOthers as A;
    let Asked { answers, .. } = ask(subject, &[A, A, A], Duration::from_secs(2))?;
    if answers.len() != 3 {
        return Err(format!(
            "ask_all was given 3 servers and returned {} results: one result per server, \
             please ({answers:?})",
            answers.len()
        ));
    }
    same(&vec![ok(1), ok(2), ok(3)], &answers, || {
        "the servers answered in the order 3, 2, 1; slot i must hold server i's answer. \
         Collecting answers in the order they arrive (from a channel, say) gets this wrong: \
         keep the JoinHandles in a Vec and join them in order"
            .to_string()
    })
}

pub fn asks_every_server_at_the_same_time(subject: AskAll) -> Result<(), String> {
    use Behaviour::AnswerWhenAllAsked as W;
    let Asked { answers, board, .. } = ask(subject, &[W, W, W], Duration::from_secs(2))?;
    let asked = board.state.lock().unwrap_or_else(|p| p.into_inner()).0;
    if answers.iter().any(|a| a.is_err()) && asked < 3 {
        return Err(format!(
            "each server waited up to 1.5 s for the other servers to be asked too, and when \
             the first one gave up only {asked} of 3 had received the question. Ask them all \
             at once: start one thread per server (thread::scope), and only then wait for the \
             answers. (ask_all returned {answers:?})"
        ));
    }
    same(&vec![ok(1), ok(2), ok(3)], &answers, || {
        "three servers asked at the same time should all answer".to_string()
    })
}

pub fn a_silent_server_is_an_error_within_the_timeout(subject: AskAll) -> Result<(), String> {
    use Behaviour::{Answer, Silent};
    let timeout = Duration::from_millis(500);
    let Asked { answers, took, .. } = ask(subject, &[Answer, Silent, Answer], timeout)?;
    if took > timeout + Duration::from_secs(1) {
        return Err(format!(
            "with a timeout of {timeout:?} and one silent server, ask_all took {took:?}. \
             Set a read timeout on every stream (set_read_timeout) so that no server can \
             hold up the answer for longer than the timeout."
        ));
    }
    check_slots(
        &answers,
        &[true, false, true],
        "server 2 accepts the question but never answers",
    )
}

pub fn a_server_that_is_down_is_an_error_and_the_others_answer(
    subject: AskAll,
) -> Result<(), String> {
    // Bind a port, then free it: nobody listens there any more.
    let down = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("the check could not bind 127.0.0.1:0: {e}"))?;
    let board = Arc::new(Board::default());
    let (first, _a) = server(1, 3, Behaviour::Answer, &board)?;
    let (third, _c) = server(3, 3, Behaviour::Answer, &board)?;
    let timeout = Duration::from_secs(2);
    let task = spawn("ask_all", move || {
        subject(&[first, down, third], "what is your name?", timeout)
            .into_iter()
            .map(|r| r.map_err(|e| e.to_string()))
            .collect::<Vec<_>>()
    });
    let answers = match task.wait(timeout + WAIT) {
        Ok(answers) => answers,
        Err(Waited::Panicked(why)) => return Err(why),
        Err(Waited::Running) => {
            return Err(format!(
                "ask_all did not return within {:?} when one server was down",
                timeout + WAIT
            ));
        }
    };
    check_slots(
        &answers,
        &[true, false, true],
        "nobody listens at server 2's address",
    )
}

pub fn a_server_that_closes_without_answering_is_an_error(subject: AskAll) -> Result<(), String> {
    use Behaviour::{Answer, Close};
    let Asked { answers, .. } = ask(subject, &[Answer, Close, Answer], Duration::from_secs(2))?;
    if let Some(Ok(empty)) = answers.get(1) {
        return Err(format!(
            "server 2 closed the connection without answering, and its slot is Ok({empty:?}). \
             A read of 0 bytes (read_line returning Ok(0)) means the connection ended: that \
             is an error here, not an empty answer."
        ));
    }
    check_slots(
        &answers,
        &[true, false, true],
        "server 2 closes without answering",
    )
}

/// Checks which slots are answers and which are errors.
fn check_slots(
    answers: &[Result<String, String>],
    ok_slots: &[bool],
    situation: &str,
) -> Result<(), String> {
    let expected: Vec<String> = ok_slots
        .iter()
        .enumerate()
        .map(|(i, &good)| {
            if good {
                format!("Ok(\"answer from {}\")", i + 1)
            } else {
                "Err(..)".to_string()
            }
        })
        .collect();
    let actual: Vec<String> = answers
        .iter()
        .map(|a| match a {
            Ok(answer) => format!("Ok({answer:?})"),
            Err(_) => "Err(..)".to_string(),
        })
        .collect();
    same(&expected, &actual, || {
        format!(
            "{situation}: its slot should be an Err and the other servers should still \
             answer. (Your errors: {:?})",
            answers
                .iter()
                .filter_map(|a| a.as_ref().err())
                .collect::<Vec<_>>()
        )
    })
}
