//! Deadlines, not just timeouts.
//!
//! A socket's read timeout bounds one `read` call, and restarts with every
//! call: a server that sends one byte every half second, and never a
//! newline, keeps a client with a 2 s read timeout waiting forever. What a
//! person means by `--timeout 2` is "give up after 2 s", however the bytes
//! trickle in. So the clients of the course keep one [`Deadline`] for the
//! whole exchange, and before each read or write they set the socket's
//! timeout to what is left of it ([`Within`]).
//!
//! Write timeouts restart the same way, and the same wrapper bounds them.
//! A name lookup (`to_socket_addrs`) cannot be bounded with std: the course
//! only ever looks up `localhost`, which the system answers from a file.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::cli;

/// An instant after which a wait must give up, and what was awaited, so
/// the error can say what did not come in time.
#[derive(Debug, Clone)]
pub struct Deadline {
    at: Instant,
    timeout: Duration,
    what: String,
}

impl Deadline {
    /// A deadline `timeout` from now for `what` (`"reply"`, `"connection"`).
    /// `timeout` must be one that [`cli::secs`] accepts, so the sum cannot
    /// overflow the clock; a larger one is clamped to [`cli::MAX_SECS`].
    pub fn after(timeout: Duration, what: impl Into<String>) -> Deadline {
        let timeout = timeout.min(Duration::from_secs_f64(cli::MAX_SECS));
        Deadline {
            at: Instant::now() + timeout,
            timeout,
            what: what.into(),
        }
    }

    /// The time left, or the error that says the deadline has passed
    /// ("no reply within 2 s"). Never zero: a zero socket timeout is an
    /// error in std, not "no time left".
    pub fn left(&self) -> io::Result<Duration> {
        let left = self.at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(self.expired())
        } else {
            Ok(left)
        }
    }

    /// The error of this deadline: `no reply within 2 s`.
    pub fn expired(&self) -> io::Error {
        cli::timed_out(&self.what, self.timeout)
    }

    /// True once the deadline has passed.
    pub fn passed(&self) -> bool {
        Instant::now() >= self.at
    }

    /// Turns a socket timeout that happened under this deadline into the
    /// deadline's own error; any other error is left as it is.
    pub fn explain(&self, e: io::Error) -> io::Error {
        if cli::is_timeout(&e) {
            self.expired()
        } else {
            e
        }
    }
}

// ANCHOR: within
/// A socket whose every read and write ends by one deadline: before each
/// call, the socket's timeout is set to the time that is left.
pub struct Within<'a> {
    pub stream: &'a TcpStream,
    pub deadline: &'a Deadline,
}

impl Read for Within<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(self.deadline.left()?))?;
        let mut stream = self.stream;
        stream.read(buf).map_err(|e| self.deadline.explain(e))
    }
}

impl Write for Within<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(self.deadline.left()?))?;
        let mut stream = self.stream;
        stream.write(buf).map_err(|e| self.deadline.explain(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
// ANCHOR_END: within

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passed_deadline_says_what_was_awaited_and_how_long() {
        let d = Deadline::after(Duration::from_millis(1), "reply");
        std::thread::sleep(Duration::from_millis(5));
        let e = d.left().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(e.to_string(), "no reply within 0.001 s");
    }

    #[test]
    fn a_huge_timeout_is_clamped_instead_of_overflowing_the_clock() {
        let d = Deadline::after(Duration::MAX, "reply");
        assert!(d.left().is_ok());
    }
}
