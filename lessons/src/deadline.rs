//! Deadlines, not just timeouts.
//!
//! A socket's read timeout bounds one `read` call, and restarts with every
//! call that makes progress: a server that sends one byte every half second,
//! and never a newline, keeps a client with a 2 s read timeout waiting
//! forever. Write timeouts restart the same way, with every partial write.
//! What a person means by `--timeout 2` is "give up after 2 s", however the
//! bytes trickle in. So the clients of the course keep one [`Deadline`] for
//! the whole exchange, and before each read or write they set the socket's
//! timeout to what is left of it ([`Within`]).
//!
//! A name lookup (`to_socket_addrs`) cannot be bounded with std: the course
//! only ever looks up `localhost`, which the system answers from a file.

use std::borrow::Borrow;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::cli;

/// An instant after which a wait must give up, and the error that says what
/// did not come in time.
#[derive(Debug, Clone)]
pub struct Deadline {
    /// `None`: no deadline at all (see [`Deadline::none`]).
    at: Option<Instant>,
    timeout: Duration,
    error: String,
}

impl Deadline {
    /// A deadline `timeout` from now for `what` (`"reply"`, `"connection"`):
    /// once it has passed, the error says `no reply within 2 s`.
    ///
    /// `timeout` should be one that [`cli::secs`] accepts; a larger one is
    /// clamped to [`cli::MAX_SECS`], so the sum cannot overflow the clock
    /// (`Instant + Duration` panics past what the clock can hold).
    pub fn after(timeout: Duration, what: impl std::fmt::Display) -> Deadline {
        let timeout = timeout.min(Duration::from_secs_f64(cli::MAX_SECS));
        Deadline::saying(timeout, cli::timed_out(what, timeout).to_string())
    }

    /// A deadline `timeout` from now whose error is `error`, for a limit that
    /// is not "no X within T" (`"the run's time limit (--max-secs 5 s) was
    /// reached"`).
    pub fn saying(timeout: Duration, error: impl Into<String>) -> Deadline {
        let timeout = timeout.min(Duration::from_secs_f64(cli::MAX_SECS));
        Deadline {
            at: Some(Instant::now() + timeout),
            timeout,
            error: error.into(),
        }
    }

    /// No deadline: every wait may last forever. For a server whose idle
    /// timeout is off, so that one code path serves both cases.
    pub fn none() -> Deadline {
        Deadline {
            at: None,
            timeout: Duration::MAX,
            error: String::new(),
        }
    }

    /// The timeout this deadline was made with.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The time left, or the error that says the deadline has passed
    /// ("no reply within 2 s"). Never zero: a zero socket timeout is an
    /// error in std (`set_read_timeout(Some(Duration::ZERO))`), not "no time
    /// left". Without a deadline, `Duration::MAX`.
    pub fn left(&self) -> io::Result<Duration> {
        let Some(at) = self.at else {
            return Ok(Duration::MAX);
        };
        let left = at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(self.expired())
        } else {
            Ok(left)
        }
    }

    /// What to give `set_read_timeout` and `set_write_timeout`: the time
    /// left, or `None` (wait forever) if there is no deadline.
    pub fn socket_timeout(&self) -> io::Result<Option<Duration>> {
        match self.at {
            None => Ok(None),
            Some(_) => self.left().map(Some),
        }
    }

    /// The error of this deadline: `no reply within 2 s`.
    pub fn expired(&self) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, self.error.clone())
    }

    /// True once the deadline has passed.
    pub fn passed(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() >= at)
    }

    /// Whichever of the two deadlines comes first.
    pub fn sooner(&self, other: &Deadline) -> Deadline {
        match (self.at, other.at) {
            (Some(a), Some(b)) if b < a => other.clone(),
            (None, Some(_)) => other.clone(),
            _ => self.clone(),
        }
    }

    /// Turns a socket timeout that happened under this deadline into the
    /// deadline's own error; any other error is left as it is.
    pub fn explain(&self, e: io::Error) -> io::Error {
        if cli::is_timeout(&e) && self.at.is_some() {
            self.expired()
        } else {
            e
        }
    }
}

// ANCHOR: within
/// A socket whose every read and write ends by one deadline: before each
/// call, the socket's timeout is set to the time that is left.
///
/// `deadline` is a `&Deadline` (one deadline shared by several readers and
/// writers) or a `Deadline` of its own (one that the owner replaces, as a
/// server does for each new line: `reader.get_mut().deadline = ...`).
pub struct Within<'a, D: Borrow<Deadline> = &'a Deadline> {
    pub stream: &'a TcpStream,
    pub deadline: D,
}

impl<D: Borrow<Deadline>> Read for Within<'_, D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let deadline = self.deadline.borrow();
        self.stream.set_read_timeout(deadline.socket_timeout()?)?;
        let mut stream = self.stream;
        stream.read(buf).map_err(|e| deadline.explain(e))
    }
}

impl<D: Borrow<Deadline>> Write for Within<'_, D> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let deadline = self.deadline.borrow();
        self.stream.set_write_timeout(deadline.socket_timeout()?)?;
        let mut stream = self.stream;
        stream.write(buf).map_err(|e| deadline.explain(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
// ANCHOR_END: within

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn a_passed_deadline_says_what_was_awaited_and_how_long() {
        let d = Deadline::after(Duration::from_millis(1), "reply");
        std::thread::sleep(Duration::from_millis(5));
        let e = d.left().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(e.to_string(), "no reply within 0.001 s");
        assert!(d.passed());
    }

    #[test]
    fn a_huge_timeout_is_clamped_instead_of_overflowing_the_clock() {
        let d = Deadline::after(Duration::MAX, "reply");
        assert!(d.left().is_ok());
        assert_eq!(d.timeout(), Duration::from_secs(86_400));
    }

    #[test]
    fn no_deadline_never_passes_and_sets_no_socket_timeout() {
        let d = Deadline::none();
        assert!(!d.passed());
        assert_eq!(d.socket_timeout().unwrap(), None);
        let soon = Deadline::after(Duration::from_secs(1), "reply");
        assert_eq!(d.sooner(&soon).timeout(), Duration::from_secs(1));
        assert_eq!(soon.sooner(&d).timeout(), Duration::from_secs(1));
    }

    #[test]
    fn the_sooner_of_two_deadlines_keeps_its_own_error() {
        let run = Deadline::saying(Duration::from_millis(1), "the run is over");
        let reply = Deadline::after(Duration::from_secs(60), "reply");
        std::thread::sleep(Duration::from_millis(5));
        let e = reply.sooner(&run).left().unwrap_err();
        assert_eq!(e.to_string(), "the run is over");
    }

    #[test]
    fn a_read_within_a_deadline_ends_by_it_however_the_bytes_trickle() {
        // A peer that sends one byte every 50 ms: a 100 ms read timeout
        // would restart with each, the deadline does not.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let dripper = std::thread::spawn(move || {
            let (mut peer, _) = listener.accept().unwrap();
            for _ in 0..40 {
                if peer.write_all(b"x").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let stream = TcpStream::connect(addr).unwrap();
        // The trickle has started before the clock does: on a busy machine
        // the peer's thread may take longer than 0.3 s to send its first
        // byte, and a read that got none would prove nothing.
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.peek(&mut [0u8; 1]).unwrap();
        let deadline = Deadline::after(Duration::from_millis(300), "line");
        let start = Instant::now();
        let mut all = Vec::new();
        let e = Within {
            stream: &stream,
            deadline: &deadline,
        }
        .read_to_end(&mut all)
        .unwrap_err();
        assert_eq!(e.to_string(), "no line within 0.3 s");
        assert!(start.elapsed() < Duration::from_millis(1500));
        assert!(!all.is_empty() && all.len() < 40, "{} bytes", all.len());
        drop(stream);
        dripper.join().unwrap();
    }
}
