//! Lesson 06: one client talking to several servers at once.
//!
//! Asking three servers one after the other takes as long as the three
//! answers added up, and a server that is down or silent makes everybody
//! after it wait. Here every server gets its own thread, all started at
//! once, so the whole takes as long as the slowest answer, and never longer
//! than the timeout: one deadline, fixed at the start, bounds the connect,
//! the send and the reply of every server.
//!
//! The threads are *scoped* (`thread::scope`): they may borrow the list of
//! addresses and the message, and the scope joins all of them before it
//! returns, so no thread is ever forgotten.
//!
//! Each server gets the message as one line and is expected to answer with
//! one line. That works with the reverse server of lesson 03 (the reply is
//! the line reversed) and with the echo server of lesson 02 (the reply is
//! the line itself). We read one line, not "until the server closes",
//! because the echo server keeps the connection open until the client
//! closes: reading to the end would wait for the timeout every time.

use std::io::{self, BufReader, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use crate::cli;
use crate::framing::{self, LineError};

// ANCHOR: fan_out
/// Sends `message` to every address at once and returns each reply (or
/// error) in the order of `addrs`. Takes at most about `timeout`.
pub fn ask_all(addrs: &[String], message: &str, timeout: Duration) -> Vec<io::Result<String>> {
    let deadline = Instant::now() + timeout;
    thread::scope(|s| {
        // Start every thread first, then join: joining inside the same loop
        // would wait for each server before starting the next one.
        let threads: Vec<_> = addrs
            .iter()
            .map(|addr| {
                thread::Builder::new()
                    .name(addr.clone())
                    .spawn_scoped(s, move || ask_one(addr, message, deadline, timeout))
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| match thread {
                Ok(thread) => thread
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
                Err(e) => Err(cli::context(e, "cannot start a thread")),
            })
            .collect()
    })
}
// ANCHOR_END: fan_out

// ANCHOR: ask_one
/// Connects, sends `message` as a line, and reads one line back, all before
/// `deadline`.
pub fn ask_one(
    addr: &str,
    message: &str,
    deadline: Instant,
    timeout: Duration,
) -> io::Result<String> {
    let stream = connect_before(addr, deadline, timeout)?;
    stream.set_write_timeout(Some(time_left(deadline, timeout)?))?;
    (&stream).write_all(format!("{message}\n").as_bytes())?;
    let mut replies = BufReader::new(UntilDeadline {
        stream: &stream,
        deadline,
        timeout,
    });
    match framing::read_line(&mut replies, framing::DEFAULT_MAX_LINE) {
        Ok(Some(reply)) => Ok(reply),
        Ok(None) => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "closed the connection without replying",
        )),
        Err(LineError::Io(e)) if cli::is_timeout(&e) => Err(no_reply(timeout)),
        Err(LineError::Io(e)) => Err(e),
        Err(e) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad reply: {e}"),
        )),
    }
}
// ANCHOR_END: ask_one

/// Connects to the first address `addr` resolves to that answers in time.
fn connect_before(addr: &str, deadline: Instant, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to");
    for candidate in cli::resolve(addr)? {
        match TcpStream::connect_timeout(&candidate, time_left(deadline, timeout)?) {
            Ok(stream) => return Ok(stream),
            Err(e) if cli::is_timeout(&e) => {
                return Err(cli::timed_out("connection", timeout));
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The time left before `deadline`, or a timeout error if there is none:
/// std refuses a zero socket timeout (`set_read_timeout(Some(ZERO))` and
/// `connect_timeout` with zero are errors), so none left must be said here.
fn time_left(deadline: Instant, timeout: Duration) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(no_reply(timeout))
    } else {
        Ok(left)
    }
}

fn no_reply(timeout: Duration) -> io::Error {
    cli::timed_out("reply", timeout)
}

// ANCHOR: deadline
/// Reads from a socket, but never past `deadline`.
///
/// A read timeout alone is not enough: it restarts with every `read`, so a
/// server that sends one byte a second would keep us forever. So before
/// each read, the timeout is set to what is left of the deadline.
struct UntilDeadline<'a> {
    stream: &'a TcpStream,
    deadline: Instant,
    timeout: Duration,
}

impl Read for UntilDeadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream
            .set_read_timeout(Some(time_left(self.deadline, self.timeout)?))?;
        let mut stream = self.stream;
        stream.read(buf)
    }
}
// ANCHOR_END: deadline

/// One line per server, in the given order: `ADDR: reply` or
/// `ADDR: failed: why`.
pub fn report(addr: &str, result: &io::Result<String>) -> String {
    match result {
        Ok(reply) => format!("{addr}: {reply}"),
        Err(e) => format!("{addr}: failed: {}", cli::describe(e)),
    }
}

/// The whole program: ask every server, print one line each, and fail if
/// any server failed.
pub fn run(
    addrs: &[String],
    message: &str,
    timeout: Duration,
    mut out: impl Write,
) -> io::Result<()> {
    framing::one_line(message)?;
    let results = ask_all(addrs, message, timeout);
    for (addr, result) in addrs.iter().zip(&results) {
        writeln!(out, "{}", report(addr, result))?;
    }
    let failed = results.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        return Err(io::Error::other(format!(
            "{failed} of {} servers failed",
            results.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn a_reply_is_labelled_with_its_address() {
        assert_eq!(
            report("127.0.0.1:2002", &Ok("olleh".into())),
            "127.0.0.1:2002: olleh"
        );
    }

    #[test]
    fn a_refused_connection_says_so_in_words() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(
            report("127.0.0.1:1", &Err(refused)),
            "127.0.0.1:1: failed: connection refused: nothing is listening there"
        );
    }

    #[test]
    fn no_time_left_is_a_timeout_not_an_endless_wait() {
        let past = Instant::now();
        let e = time_left(past, Duration::from_secs(3)).expect_err("the deadline has passed");
        assert_eq!(e.to_string(), "no reply within 3 s");
        assert!(cli::is_timeout(&e));
    }
}
