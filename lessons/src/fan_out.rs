//! Lesson 06: one client talking to several servers at once.
//!
//! Asking three servers one after the other takes as long as the three
//! answers added up, and a server that is down or silent makes everybody
//! after it wait. Here every server gets its own thread, all started at
//! once, so the whole takes as long as the slowest answer, and never much
//! longer than the timeout: one deadline ([`Deadline`]), fixed at the
//! start, bounds the connect, the send and the reply of every server. Only
//! the name lookup is not bounded by it (see `connect_before`).
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

use std::io::{self, BufReader, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use crate::cli;
use crate::deadline::{Deadline, Within};
use crate::framing::{self, LineError};

// ANCHOR: fan_out
/// Sends `message` to every address at once and returns each reply (or
/// error) in the order of `addrs`. Takes at most about `timeout`.
pub fn ask_all(addrs: &[String], message: &str, timeout: Duration) -> Vec<io::Result<String>> {
    // One deadline for the whole run, fixed before the first thread starts.
    let deadline = Deadline::after(timeout, "reply");
    let deadline = &deadline;
    thread::scope(|s| {
        // Start every thread first, then join: joining inside the same loop
        // would wait for each server before starting the next one.
        let threads: Vec<_> = addrs
            .iter()
            .map(|addr| {
                thread::Builder::new()
                    .name(addr.clone())
                    .spawn_scoped(s, move || ask_one(addr, message, deadline))
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
pub fn ask_one(addr: &str, message: &str, deadline: &Deadline) -> io::Result<String> {
    let stream = connect_before(addr, deadline)?;
    // `Within` sets the socket's timeout to what is left of the deadline
    // before every write and every read (see `deadline` below).
    let mut server = Within {
        stream: &stream,
        deadline,
    };
    server.write_all(format!("{message}\n").as_bytes())?;
    match framing::read_line(&mut BufReader::new(server), framing::DEFAULT_MAX_LINE) {
        Ok(Some(reply)) => Ok(reply),
        Ok(None) => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "closed the connection without replying",
        )),
        Err(LineError::Io(e)) => Err(e),
        Err(e) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad reply: {e}"),
        )),
    }
}
// ANCHOR_END: ask_one

// ANCHOR: connect_before
/// Connects to the first address `addr` stands for that answers before
/// `deadline`: `cli::connect_to` gives each attempt only the time that is
/// left. (`cli::connect_before` does the same, but starts its errors with
/// `cannot connect to ADDR`, and every line of the report already starts
/// with the address.)
///
/// The name lookup (`cli::resolve`, which calls `to_socket_addrs`) is the
/// one step the deadline does not bound: it blocks until the system's
/// resolver answers, and std has no lookup with a timeout. For
/// `127.0.0.1:PORT` there is nothing to look up, and `localhost` is
/// answered from a local file.
fn connect_before(addr: &str, deadline: &Deadline) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to");
    for candidate in cli::resolve(addr)? {
        match cli::connect_to(candidate, deadline) {
            Ok(stream) => return Ok(stream),
            // Out of time: the other addresses would have none either.
            Err(e) if cli::is_timeout(&e) => return Err(e),
            Err(e) => last = e,
        }
    }
    Err(last)
}
// ANCHOR_END: connect_before

/// One line per server, in the given order: `ADDR: reply` or
/// `ADDR: failed: why`, the why in words ([`cli::describe`]).
pub fn report(addr: &str, result: &io::Result<String>) -> String {
    match result {
        Ok(reply) => format!("{addr}: {reply}"),
        Err(e) => format!("{addr}: failed: {}", cli::describe(e)),
    }
}

/// The most servers one run may ask: each costs a thread and a socket, and
/// a process may have about 1024 open files by default (`ulimit -n`).
pub const MAX_SERVERS: usize = 1000;

/// Checks the command line's addresses and message before anything starts:
/// at most [`MAX_SERVERS`] addresses, and a message that is one line no
/// longer than the longest reply this client reads
/// ([`framing::DEFAULT_MAX_LINE`]), so that an echo of it fits.
pub fn check_request(addrs: &[String], message: &str) -> io::Result<()> {
    let invalid = |why: String| Err(io::Error::new(io::ErrorKind::InvalidInput, why));
    if addrs.len() > MAX_SERVERS {
        return invalid(format!(
            "at most {MAX_SERVERS} servers (--addr) at once, not {}",
            addrs.len()
        ));
    }
    if message.len() > framing::DEFAULT_MAX_LINE {
        return invalid(format!(
            "--message must be at most {} bytes, not {}",
            framing::DEFAULT_MAX_LINE,
            message.len()
        ));
    }
    framing::one_line(message)
}

/// The whole program: ask every server, print one line each, and fail if
/// any server failed.
pub fn run(
    addrs: &[String],
    message: &str,
    timeout: Duration,
    mut out: impl Write,
) -> io::Result<()> {
    check_request(addrs, message)?;
    let results = ask_all(addrs, message, timeout);
    for (addr, result) in addrs.iter().zip(&results) {
        writeln!(out, "{}", report(addr, result)).map_err(cli::stdout_error)?;
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
    fn too_many_servers_or_too_long_a_message_is_refused_before_anything_starts() {
        let many = vec!["127.0.0.1:1".to_string(); MAX_SERVERS + 1];
        let e = check_request(&many, "hi").expect_err("too many servers");
        assert_eq!(
            e.to_string(),
            "at most 1000 servers (--addr) at once, not 1001"
        );
        let long = "x".repeat(framing::DEFAULT_MAX_LINE + 1);
        let e = check_request(&many[..1], &long).expect_err("too long");
        assert_eq!(
            e.to_string(),
            "--message must be at most 65536 bytes, not 65537"
        );
        assert!(check_request(&many[..MAX_SERVERS], &long[1..]).is_ok());
    }
}
