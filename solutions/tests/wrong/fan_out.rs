//! Wrong answers to exercise 06, `ask_all`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use lessons::deadline::{Deadline, Within};
use lessons::framing;
use solutions::checks::fan_out::checks;

use crate::{Case, case};

const SLOT: &str = "each_answer_lands_in_its_servers_slot";
const AT_ONCE: &str = "asks_every_server_at_the_same_time";
const SILENT: &str = "a_silent_server_is_an_error_within_the_timeout";
const TRICKLE: &str = "a_trickling_server_is_an_error_within_the_timeout";
const LATE: &str = "a_late_answer_in_two_pieces_is_an_answer";
const DOWN: &str = "a_server_that_is_down_is_an_error_and_the_others_answer";
const CLOSES: &str = "a_server_that_closes_without_answering_is_an_error";
const LINE_END: &str = "an_answer_loses_its_line_end_and_keeps_its_spaces";
const MANY_SILENT: &str = "many_silent_servers_cost_one_timeout_not_one_each";
const NEVER_CONNECTS: &str =
    "a_server_that_never_completes_the_connection_is_an_error_within_the_timeout";

/// These checks, with the same words.
fn all(checks: &[&'static str], words: &'static str) -> &'static [(&'static str, &'static str)] {
    Vec::leak(checks.iter().map(|c| (*c, words)).collect())
}

pub fn cases() -> Vec<Case> {
    const RESTARTS: &str = "a read timeout starts again with every byte that arrives";
    const EVERY: &[&str] = &[
        SLOT,
        AT_ONCE,
        SILENT,
        TRICKLE,
        LATE,
        DOWN,
        CLOSES,
        LINE_END,
        MANY_SILENT,
        NEVER_CONNECTS,
    ];
    const IN_TURN: &str = "their timeouts ran one after the other";
    const NO_CONNECT_LIMIT: &str = "a connect with no time limit waits for minutes";
    vec![
        case(
            "reads_each_answer_in_turn_with_a_fresh_timeout",
            checks(reads_each_answer_in_turn_with_a_fresh_timeout),
            &[(MANY_SILENT, IN_TURN), (TRICKLE, RESTARTS)],
        ),
        case(
            "waits_for_each_slot_in_turn_with_a_fresh_timeout",
            checks(waits_for_each_slot_in_turn_with_a_fresh_timeout),
            &[(MANY_SILENT, IN_TURN)],
        ),
        case(
            "connects_with_no_timeout",
            checks(connects_with_no_timeout),
            &[(NEVER_CONNECTS, NO_CONNECT_LIMIT)],
        ),
        case(
            "sets_read_and_write_timeouts_after_a_plain_connect",
            checks(sets_read_and_write_timeouts_after_a_plain_connect),
            &[(NEVER_CONNECTS, NO_CONNECT_LIMIT), (TRICKLE, RESTARTS)],
        ),
        case(
            "one_server_after_the_other",
            checks(one_server_after_the_other),
            &[
                (AT_ONCE, "asks one server after the other"),
                (TRICKLE, RESTARTS),
                (
                    MANY_SILENT,
                    "the questions reached the servers one after the other",
                ),
            ],
        ),
        case(
            "sets_a_read_timeout_after_connect_timeout",
            checks(sets_a_read_timeout_after_connect_timeout),
            &[(TRICKLE, RESTARTS)],
        ),
        case(
            "gives_only_the_connection_a_timeout",
            checks(gives_only_the_connection_a_timeout),
            &[
                (SILENT, "ask_all did not return within"),
                (TRICKLE, "ask_all did not return within"),
                (MANY_SILENT, IN_TURN),
            ],
        ),
        case(
            "keeps_the_line_end",
            checks(keeps_the_line_end),
            all(EVERY, "the answer still has its line end"),
        ),
        case(
            "reads_until_the_server_closes",
            checks(reads_until_the_server_closes),
            all(
                EVERY,
                "your code kept reading after the \\n until the timeout",
            ),
        ),
        case(
            "takes_one_read_for_the_answer",
            checks(takes_one_read_for_the_answer),
            &[
                (LATE, "the first piece of server 1's answer"),
                (TRICKLE, "what server 2 had sent so far, without a \\n"),
                (
                    "works_when_every_byte_arrives_on_its_own",
                    "works when each message arrives in one piece; fails when it arrives one byte at a time",
                ),
            ],
        ),
        case(
            "collects_the_answers_as_they_arrive",
            checks(collects_the_answers_as_they_arrive),
            all(
                &[
                    SLOT,
                    AT_ONCE,
                    SILENT,
                    LATE,
                    DOWN,
                    CLOSES,
                    LINE_END,
                    MANY_SILENT,
                ],
                "the answers are in the order they arrived",
            ),
        ),
        case(
            "takes_no_answer_for_an_empty_one",
            checks(takes_no_answer_for_an_empty_one),
            &[(CLOSES, "its slot is Ok(\"\")")],
        ),
        case(
            "sends_the_question_without_its_newline",
            checks(sends_the_question_without_its_newline),
            all(EVERY, "with no \\n after it"),
        ),
        case(
            "unwraps_the_connection",
            checks(unwraps_the_connection),
            &[
                (DOWN, "`ask_all` panicked at"),
                (NEVER_CONNECTS, "`ask_all` panicked at"),
            ],
        ),
        case(
            "joins_each_thread_as_soon_as_it_is_spawned",
            checks(joins_each_thread_as_soon_as_it_is_spawned),
            &[
                (AT_ONCE, "asks one server after the other"),
                (
                    MANY_SILENT,
                    "the questions reached the servers one after the other",
                ),
            ],
        ),
        case(
            "ignores_the_timeout_it_is_given",
            checks(ignores_the_timeout_it_is_given),
            &[
                (LATE, "ask_all gave up on it after"),
                (SLOT, "ask_all gave up on server 1 after"),
                (AT_ONCE, "ask_all gave up on server 1 after"),
                (SILENT, "ask_all gave up on server 1 after"),
                (TRICKLE, "ask_all gave up on server 1 after"),
                (DOWN, "ask_all gave up on server 1 after"),
                (CLOSES, "ask_all gave up on server 1 after"),
                (LINE_END, "ask_all gave up on server 1 after"),
                (MANY_SILENT, "ask_all gave up on server 5 after"),
                (NEVER_CONNECTS, "ask_all gave up on server 1 after"),
            ],
        ),
        case(
            "keeps_the_carriage_return",
            checks(keeps_the_carriage_return),
            &[(LINE_END, "the \\r is part of the line end")],
        ),
        case(
            "trims_the_spaces_too",
            checks(trims_the_spaces_too),
            &[(
                LINE_END,
                "the spaces the server sent are part of its answer",
            )],
        ),
        case(
            "answers_every_failure_with_an_empty_answer",
            checks(answers_every_failure_with_an_empty_answer),
            &[
                (SILENT, "for a server that did not answer"),
                (TRICKLE, "for a server that did not answer"),
                (DOWN, "for a server that did not answer"),
                (CLOSES, "its slot is Ok(\"\")"),
                (MANY_SILENT, "for a server that did not answer"),
                (NEVER_CONNECTS, "for a server that did not answer"),
            ],
        ),
    ]
}

/// Every server at once, each with `one`, in the order of the servers:
/// right, unless `one` is wrong.
fn fan(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
    one: fn(&SocketAddr, &str, Duration) -> io::Result<String>,
) -> Vec<io::Result<String>> {
    thread::scope(|s| {
        let handles: Vec<_> = servers
            .iter()
            .map(|addr| s.spawn(move || one(addr, question, timeout)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// The line without its `\n` or `\r\n`, as the task asks: each wrong
/// answer below carries its own mistake, not this one too.
fn without_line_end(line: &str) -> String {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line).to_string()
}

/// One exchange done right: one deadline for all of it.
fn right(addr: &SocketAddr, question: &str, timeout: Duration) -> io::Result<String> {
    let deadline = Deadline::after(timeout, "answer");
    let stream = TcpStream::connect_timeout(addr, timeout)?;
    let mut within = Within {
        stream: &stream,
        deadline: &deadline,
    };
    within.write_all(format!("{question}\n").as_bytes())?;
    match framing::read_line(&mut BufReader::new(within), framing::DEFAULT_MAX_LINE) {
        Ok(Some(answer)) => Ok(answer),
        Ok(None) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no answer")),
        Err(e) => Err(io::Error::other(e.to_string())),
    }
}

/// The exercise's old reference answer: a timeout for connecting, then the
/// same timeout for each read, which starts again with every byte.
fn with_read_timeout(addr: &SocketAddr, question: &str, timeout: Duration) -> io::Result<String> {
    let stream = TcpStream::connect_timeout(addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    (&stream).write_all(format!("{question}\n").as_bytes())?;
    let mut answer = String::new();
    if BufReader::new(&stream).read_line(&mut answer)? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no answer"));
    }
    Ok(without_line_end(&answer))
}

/// One server after the other (and still with timeouts).
fn one_server_after_the_other(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    servers
        .iter()
        .map(|addr| with_read_timeout(addr, question, timeout))
        .collect()
}

fn sets_a_read_timeout_after_connect_timeout(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    fan(servers, question, timeout, with_read_timeout)
}

/// A timeout to connect, and none for the answer.
fn gives_only_the_connection_a_timeout(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    fan(servers, question, timeout, |addr, question, timeout| {
        let stream = TcpStream::connect_timeout(addr, timeout)?;
        (&stream).write_all(format!("{question}\n").as_bytes())?;
        let mut answer = String::new();
        if BufReader::new(&stream).read_line(&mut answer)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no answer"));
        }
        Ok(without_line_end(&answer))
    })
}

/// One exchange within one deadline, the answer as `read_line` gave it,
/// line end and all.
fn line_as_read(addr: &SocketAddr, question: &str, timeout: Duration) -> io::Result<String> {
    let deadline = Deadline::after(timeout, "answer");
    let stream = TcpStream::connect_timeout(addr, timeout)?;
    let mut within = Within {
        stream: &stream,
        deadline: &deadline,
    };
    within.write_all(format!("{question}\n").as_bytes())?;
    let mut answer = String::new();
    if BufReader::new(within).read_line(&mut answer)? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no answer"));
    }
    Ok(answer)
}

/// `read_line` keeps the `\n`, and the answer keeps it too.
fn keeps_the_line_end(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    fan(servers, question, timeout, line_as_read)
}

/// Reads "the answer" until the server closes.
fn reads_until_the_server_closes(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    fan(servers, question, timeout, |addr, question, timeout| {
        let deadline = Deadline::after(timeout, "answer");
        let stream = TcpStream::connect_timeout(addr, timeout)?;
        let mut within = Within {
            stream: &stream,
            deadline: &deadline,
        };
        within.write_all(format!("{question}\n").as_bytes())?;
        let mut answer = String::new();
        within.read_to_string(&mut answer)?;
        if answer.is_empty() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no answer"));
        }
        Ok(without_line_end(&answer))
    })
}

/// One `read` for the whole answer.
fn takes_one_read_for_the_answer(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    fan(servers, question, timeout, |addr, question, timeout| {
        let deadline = Deadline::after(timeout, "answer");
        let stream = TcpStream::connect_timeout(addr, timeout)?;
        let mut within = Within {
            stream: &stream,
            deadline: &deadline,
        };
        within.write_all(format!("{question}\n").as_bytes())?;
        let mut buf = [0u8; 1024];
        let n = within.read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no answer"));
        }
        Ok(without_line_end(&String::from_utf8_lossy(&buf[..n])))
    })
}

/// One thread per server, the answers from a channel as they arrive.
fn collects_the_answers_as_they_arrive(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        for addr in servers {
            let tx = tx.clone();
            s.spawn(move || tx.send(right(addr, question, timeout)));
        }
    });
    drop(tx);
    rx.iter().collect()
}

/// A server that closes gives `Ok(0)`, taken for an empty answer.
fn takes_no_answer_for_an_empty_one(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    fan(servers, question, timeout, |addr, question, timeout| {
        let deadline = Deadline::after(timeout, "answer");
        let stream = TcpStream::connect_timeout(addr, timeout)?;
        let mut within = Within {
            stream: &stream,
            deadline: &deadline,
        };
        within.write_all(format!("{question}\n").as_bytes())?;
        let mut answer = String::new();
        BufReader::new(within).read_line(&mut answer)?;
        Ok(without_line_end(&answer))
    })
}

/// Sends the question without its `\n`.
fn sends_the_question_without_its_newline(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    fan(servers, question, timeout, |addr, question, timeout| {
        let deadline = Deadline::after(timeout, "answer");
        let stream = TcpStream::connect_timeout(addr, timeout)?;
        let mut within = Within {
            stream: &stream,
            deadline: &deadline,
        };
        within.write_all(question.as_bytes())?;
        match framing::read_line(&mut BufReader::new(within), framing::DEFAULT_MAX_LINE) {
            Ok(Some(answer)) => Ok(answer),
            Ok(None) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no answer")),
            Err(e) => Err(io::Error::other(e.to_string())),
        }
    })
}

/// `connect(...).unwrap()` in each thread, and `join().unwrap()`.
fn unwraps_the_connection(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    thread::scope(|s| {
        let handles: Vec<_> = servers
            .iter()
            .map(|addr| {
                s.spawn(move || {
                    let deadline = Deadline::after(timeout, "answer");
                    let stream = TcpStream::connect_timeout(addr, timeout).unwrap();
                    let mut within = Within {
                        stream: &stream,
                        deadline: &deadline,
                    };
                    within.write_all(format!("{question}\n").as_bytes())?;
                    match framing::read_line(&mut BufReader::new(within), 1024) {
                        Ok(Some(answer)) => Ok(answer),
                        Ok(None) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no answer")),
                        Err(e) => Err(io::Error::other(e.to_string())),
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// A thread per server, but each joined before the next is spawned.
fn joins_each_thread_as_soon_as_it_is_spawned(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    thread::scope(|s| {
        servers
            .iter()
            .map(|addr| {
                s.spawn(move || right(addr, question, timeout))
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
            })
            .collect()
    })
}

/// Uses a timeout of its own, 100 ms, "to be quick".
fn ignores_the_timeout_it_is_given(
    servers: &[SocketAddr],
    question: &str,
    _timeout: Duration,
) -> Vec<io::Result<String>> {
    fan(servers, question, Duration::from_millis(100), right)
}

/// `unwrap_or_default()`: every failure becomes an empty answer.
fn answers_every_failure_with_an_empty_answer(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    fan(servers, question, timeout, |addr, question, timeout| {
        Ok(right(addr, question, timeout).unwrap_or_default())
    })
}

/// `read_line`, then only the `\n` taken off: a `\r\n` leaves its `\r`.
fn keeps_the_carriage_return(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    fan(servers, question, timeout, |addr, question, timeout| {
        line_as_read(addr, question, timeout).map(|a| a.trim_end_matches('\n').to_string())
    })
}

/// The line end taken off with `trim()`, and the server's spaces with it.
fn trims_the_spaces_too(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    fan(servers, question, timeout, |addr, question, timeout| {
        right(addr, question, timeout).map(|answer| answer.trim().to_string())
    })
}

/// All servers asked at once (a thread each connects and sends), then the
/// answers read in the order of the servers, each with a read timeout of
/// its own: with N silent servers, N timeouts one after the other.
fn reads_each_answer_in_turn_with_a_fresh_timeout(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    let connected: Vec<io::Result<TcpStream>> = thread::scope(|s| {
        let handles: Vec<_> = servers
            .iter()
            .map(|addr| {
                s.spawn(move || {
                    let stream = TcpStream::connect_timeout(addr, timeout)?;
                    (&stream).write_all(format!("{question}\n").as_bytes())?;
                    Ok(stream)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    connected
        .into_iter()
        .map(|stream| {
            let stream = stream?;
            stream.set_read_timeout(Some(timeout))?;
            let mut answer = String::new();
            if BufReader::new(&stream).read_line(&mut answer)? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no answer"));
            }
            Ok(without_line_end(&answer))
        })
        .collect()
}

/// A thread per server, each exchange with no deadline of its own, and
/// each slot waited for in turn with `recv_timeout(timeout)`: N silent
/// servers cost N timeouts.
fn waits_for_each_slot_in_turn_with_a_fresh_timeout(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    let waiting: Vec<mpsc::Receiver<io::Result<String>>> = servers
        .iter()
        .map(|addr| {
            let (tx, rx) = mpsc::channel();
            let (addr, question) = (*addr, question.to_string());
            thread::spawn(move || {
                let answer = (|| {
                    let stream = TcpStream::connect_timeout(&addr, timeout)?;
                    (&stream).write_all(format!("{question}\n").as_bytes())?;
                    let mut answer = String::new();
                    if BufReader::new(&stream).read_line(&mut answer)? == 0 {
                        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no answer"));
                    }
                    Ok(without_line_end(&answer))
                })();
                let _ = tx.send(answer);
            });
            rx
        })
        .collect();
    waiting
        .into_iter()
        .map(|rx| {
            rx.recv_timeout(timeout)
                .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "no answer")))
        })
        .collect()
}

/// `TcpStream::connect` with no time limit, then one deadline for the
/// rest of the exchange.
fn connects_with_no_timeout(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    fan(servers, question, timeout, |addr, question, timeout| {
        let stream = TcpStream::connect(addr)?;
        let deadline = Deadline::after(timeout, "answer");
        let mut within = Within {
            stream: &stream,
            deadline: &deadline,
        };
        within.write_all(format!("{question}\n").as_bytes())?;
        match framing::read_line(&mut BufReader::new(within), framing::DEFAULT_MAX_LINE) {
            Ok(Some(answer)) => Ok(answer),
            Ok(None) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no answer")),
            Err(e) => Err(io::Error::other(e.to_string())),
        }
    })
}

/// A plain `connect`, then read and write timeouts on the stream.
fn sets_read_and_write_timeouts_after_a_plain_connect(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    fan(servers, question, timeout, |addr, question, timeout| {
        let stream = TcpStream::connect((addr.ip(), addr.port()))?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        (&stream).write_all(format!("{question}\n").as_bytes())?;
        let mut answer = String::new();
        if BufReader::new(&stream).read_line(&mut answer)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no answer"));
        }
        Ok(without_line_end(&answer))
    })
}
