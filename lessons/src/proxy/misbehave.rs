//! The misbehaviours ("toxics", as toxiproxy calls them), each one a small
//! change to how bytes are read or written.
//!
//! A direction of the proxy is `io::copy` from one socket to the other. To
//! misbehave, the proxy wraps the two sockets before it hands them to
//! `io::copy`: a [`Source`] (a `Read`) that decides how much to read and
//! when to hand it on, and a [`Sink`] (a `Write`) that decides how to write
//! it. `io::copy` itself never changes:
//!
//! - reading: `--stall-after`, `--reset-after`, `--close-after` (stop
//!   reading at a byte count), `--merge` (keep reading for a while and hand
//!   everything on at once), `--delay` and `--jitter` (hold what was read);
//! - writing: `--slice` (write at most N bytes per call: `io::copy`'s
//!   `write_all` calls again for the rest, so each piece is its own write),
//!   `--rate` (wait before each piece) and `--gap` (wait after it).

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::forward::{Link, State};
use super::{Direction, wire};
use crate::cli;

/// How one direction misbehaves. The default is not at all.
///
/// ```
/// use lessons::proxy::Toxics;
/// use std::time::Duration;
/// let cruel = Toxics { slice: Some(1), ..Toxics::default() };
/// let slow = Toxics { delay: Duration::from_millis(100), ..Toxics::default() };
/// assert!(Toxics::default().is_none() && !cruel.is_none() && !slow.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Toxics {
    /// Write in pieces of at most this many bytes, each its own `write`.
    pub slice: Option<usize>,
    /// Wait this long after each write (between the pieces of `slice`).
    pub gap: Duration,
    /// Wait this long instead of `gap` where a cut matters most: after the
    /// first piece of each chunk read (one message, most often) and after a
    /// piece that ends with the first byte of a UTF-8 character of several
    /// (one cut splits it). `gap` is enough for a
    /// reader that is waiting; this is long enough for one that a busy
    /// machine left waiting to run, so that it surely reads there. (Only
    /// the exercises' checks use it; it has no flag.)
    pub gap_at_cuts: Duration,
    /// After a read, keep reading for up to this long, and write all of it
    /// at once: separate messages arrive as one.
    pub merge: Option<Duration>,
    /// Hold each chunk this long before writing it.
    pub delay: Duration,
    /// Vary each `delay` by up to this much, either way.
    pub jitter: Duration,
    /// Write at most this many bytes per second.
    pub rate: Option<u64>,
    /// Forward this many bytes, then none: what follows is read and dropped,
    /// and the connection stays open.
    pub stall_after: Option<u64>,
    /// Forward this many bytes; when the sender sends more, reset its
    /// connection (RST) and close the other one.
    pub reset_after: Option<u64>,
    /// Forward this many bytes, then close both connections cleanly (FIN).
    pub close_after: Option<u64>,
}

/// Which byte limit of [`Toxics`] stopped a [`Source`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Limit {
    Stall,
    Reset,
    Close,
}

impl Toxics {
    /// True if this direction forwards bytes as they come.
    pub fn is_none(&self) -> bool {
        *self == Toxics::default()
    }

    /// Refuses settings that cannot work: a slice or a rate of 0 would
    /// never move a byte, and a wait longer than [`cli::MAX_SECS`] could
    /// overflow the clock (`Instant + Duration` panics past its range).
    pub fn check(&self) -> io::Result<()> {
        let bad = |what: String| Err(io::Error::new(io::ErrorKind::InvalidInput, what));
        if self.slice == Some(0) {
            return bad("slice must be at least 1 byte".into());
        }
        if self.rate == Some(0) {
            return bad("rate must be at least 1 byte per second".into());
        }
        let longest = Duration::from_secs_f64(cli::MAX_SECS);
        for (name, wait) in [
            ("gap", self.gap),
            ("gap at cuts", self.gap_at_cuts),
            ("merge", self.merge.unwrap_or_default()),
            ("delay", self.delay),
            ("jitter", self.jitter),
        ] {
            if wait > longest {
                return bad(format!("{name} must be at most {}", cli::seconds(longest)));
            }
        }
        Ok(())
    }

    /// The first byte limit that applies, and at which count.
    fn first_limit(&self) -> Option<(u64, Limit)> {
        [
            (self.stall_after, Limit::Stall),
            (self.reset_after, Limit::Reset),
            (self.close_after, Limit::Close),
        ]
        .into_iter()
        .filter_map(|(at, limit)| Some((at?, limit)))
        .min_by_key(|(at, _)| *at)
    }
}

impl fmt::Display for Toxics {
    /// `slice 1 B, gap 10 ms`, or `as is` when there is nothing to do.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| format!("{} ms", d.as_millis());
        let mut parts = Vec::new();
        if let Some(n) = self.slice {
            parts.push(format!("slice {n} B"));
        }
        if !self.gap.is_zero() {
            parts.push(format!("gap {}", ms(self.gap)));
        }
        if !self.gap_at_cuts.is_zero() {
            parts.push(format!("gap at cuts {}", ms(self.gap_at_cuts)));
        }
        if let Some(window) = self.merge {
            parts.push(format!("merge {}", ms(window)));
        }
        if !self.delay.is_zero() {
            parts.push(format!("delay {}", ms(self.delay)));
        }
        if !self.jitter.is_zero() {
            parts.push(format!("jitter {}", ms(self.jitter)));
        }
        if let Some(rate) = self.rate {
            parts.push(format!("rate {rate} B/s"));
        }
        for (what, at) in [
            ("stall", self.stall_after),
            ("reset", self.reset_after),
            ("close", self.close_after),
        ] {
            if let Some(at) = at {
                parts.push(format!("{what} after {at} B"));
            }
        }
        if parts.is_empty() {
            f.write_str("as is")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// The error a misbehaving read or write returns once the connection is
/// being closed by someone else (the other direction, or `stop`): the pump
/// sees that the link is no longer open and ends without a word.
fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "the connection is closing",
    )
}

// ANCHOR: source
/// The reading half of a misbehaving direction: a `Read` over the sender's
/// socket that stops at a byte limit, merges, and delays.
pub(super) struct Source<'a> {
    from: &'a TcpStream,
    link: &'a Link,
    toxics: &'a Toxics,
    /// Bytes handed on to `io::copy` so far.
    read: u64,
    /// Set when a byte limit ended the reading (`read` then returns 0).
    pub(super) limit: Option<Limit>,
    /// An error met while merging, after some bytes had been read: those
    /// bytes go on first, the error with the next call.
    pending: Option<io::Error>,
    dice: Dice,
}

impl Read for Source<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        // Never read past a limit: the bytes after it must stay unread in
        // the system's buffer (that is what makes a close send an RST).
        let mut want = buf.len();
        if let Some((at, limit)) = self.toxics.first_limit() {
            let room = at.saturating_sub(self.read);
            if room == 0 {
                self.limit = Some(limit);
                return Ok(0);
            }
            want = want.min(usize::try_from(room).unwrap_or(usize::MAX));
        }
        let buf = &mut buf[..want];
        let mut n = (&mut &*self.from).read(buf)?;
        if n == 0 {
            return Ok(0); // end of stream
        }
        let arrived = Instant::now();
        if let Some(window) = self.toxics.merge {
            n += self.merge(&mut buf[n..], arrived + window)?;
        }
        self.read += n as u64;
        let hold = self.dice.vary(self.toxics.delay, self.toxics.jitter);
        if !hold.is_zero() && !self.link.pause_until(arrived + hold) {
            return Err(closed());
        }
        Ok(n)
    }
}

impl<'a> Source<'a> {
    pub(super) fn new(from: &'a TcpStream, link: &'a Link, toxics: &'a Toxics) -> Source<'a> {
        Source {
            from,
            link,
            toxics,
            read: 0,
            limit: None,
            pending: None,
            dice: Dice::new(),
        }
    }

    /// `--merge`: keeps reading into `buf` until `until`, using the socket's
    /// read timeout as the clock, and returns how many more bytes came.
    fn merge(&mut self, buf: &mut [u8], until: Instant) -> io::Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            self.from.set_read_timeout(Some(left))?;
            match (&mut &*self.from).read(&mut buf[got..]) {
                // The end of the stream: the next `read` sees it again.
                Ok(0) => break,
                Ok(more) => got += more,
                Err(e) if cli::is_timeout(&e) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.pending = Some(e);
                    break;
                }
            }
        }
        self.from.set_read_timeout(None)?;
        Ok(got)
    }
}
// ANCHOR_END: source

// ANCHOR: sink
/// The writing half of a misbehaving direction: a `Write` over the
/// receiver's socket that slices, paces and shows what it writes.
pub(super) struct Sink<'a> {
    to: &'a TcpStream,
    link: &'a Link,
    dir: Direction,
    toxics: &'a Toxics,
    /// Print each write in the wire view (`--show`).
    show: bool,
    /// Bytes written to the receiver so far.
    pub(super) written: u64,
    /// Bytes dropped because the connection was closing (`--close-after`).
    pub(super) dropped: u64,
    /// `--rate`: when the next piece may leave.
    next: Option<Instant>,
    /// Bytes of the chunk being written that have not left yet: 0 when the
    /// next `write` starts a new chunk.
    chunk_left: usize,
}

impl Write for Sink<'_> {
    /// Writes one piece: at most `--slice` bytes (and at most a tenth of a
    /// second's worth at `--rate`). `io::copy` calls `write_all`, which calls
    /// this again for the rest, so each piece is a `write` of its own.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.link.state() {
            // After a failure in the other direction, what this one holds
            // is still delivered: it left its sender before the failure.
            State::Open | State::Failed => {}
            // `--close-after`: both sides have been told the end; what
            // still comes is read (so the close stays clean) and dropped.
            State::Closing => {
                self.dropped += buf.len() as u64;
                return Ok(buf.len());
            }
            State::Resetting | State::Closed => return Err(closed()),
        }
        let mut len = buf.len();
        if let Some(slice) = self.toxics.slice {
            len = len.min(slice);
        }
        if let Some(rate) = self.toxics.rate {
            len = len.min(
                usize::try_from(rate / 10)
                    .unwrap_or(usize::MAX)
                    .clamp(1, 16 * 1024),
            );
            self.wait_for_rate(len, rate)?;
        }
        let piece = &buf[..len];
        if self.show {
            let at = self.link.started.elapsed();
            let line = wire::chunk(at, self.link.id, self.dir, self.written, piece);
            crate::log_line!("{line}");
        }
        // `write_all`, not `write`: the piece must leave whole, as one write.
        (&mut &*self.to).write_all(piece)?;
        self.written += len as u64;
        // `io::copy`'s `write_all` hands over a chunk, then what is left of
        // it: a new chunk starts when nothing is left of the last one.
        let first_piece = self.chunk_left == 0;
        if first_piece {
            self.chunk_left = buf.len();
        }
        self.chunk_left -= len;
        // A byte 0b11xx_xxxx starts a UTF-8 character of several bytes:
        // one cut after it splits the character.
        let at_a_cut =
            len < buf.len() && (first_piece || piece.last().is_some_and(|&b| b & 0xC0 == 0xC0));
        let gap = if at_a_cut && !self.toxics.gap_at_cuts.is_zero() {
            self.toxics.gap_at_cuts
        } else {
            self.toxics.gap
        };
        if !gap.is_zero() && !self.link.pause(gap) {
            return Err(closed());
        }
        Ok(len)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> Sink<'a> {
    pub(super) fn new(
        to: &'a TcpStream,
        link: &'a Link,
        dir: Direction,
        toxics: &'a Toxics,
        show: bool,
    ) -> Sink<'a> {
        Sink {
            to,
            link,
            dir,
            toxics,
            show,
            written: 0,
            dropped: 0,
            next: None,
            chunk_left: 0,
        }
    }

    /// `--rate`: waits until the next piece may leave, then books the time
    /// its `len` bytes take at `rate` bytes per second. A quiet spell earns
    /// no credit: after it, pieces leave at the rate again, not in a burst.
    fn wait_for_rate(&mut self, len: usize, rate: u64) -> io::Result<()> {
        let now = Instant::now();
        let start = match self.next {
            Some(next) if next > now => {
                if !self.link.pause_until(next) {
                    return Err(closed());
                }
                next
            }
            _ => now,
        };
        self.next = Some(start + Duration::from_secs_f64(len as f64 / rate as f64));
        Ok(())
    }
}
// ANCHOR_END: sink

/// A small random number generator for `--jitter`: xorshift, seeded by
/// std's own source of randomness (the keys of `HashMap`), since std has
/// no random numbers of its own and the course adds no crates.
struct Dice(u64);

impl Dice {
    fn new() -> Dice {
        Dice(RandomState::new().hash_one(0u8) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// `base`, moved by a random amount of at most `jitter` either way, and
    /// never below zero.
    fn vary(&mut self, base: Duration, jitter: Duration) -> Duration {
        let jitter = u64::try_from(jitter.as_micros()).unwrap_or(u64::MAX / 4);
        if jitter == 0 {
            return base;
        }
        let offset = self.next() % (2 * jitter + 1);
        let micros = u64::try_from(base.as_micros()).unwrap_or(u64::MAX / 4);
        Duration::from_micros((micros + offset).saturating_sub(jitter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn no_misbehaviour_reads_as_is() {
        assert_eq!(Toxics::default().to_string(), "as is");
        assert!(Toxics::default().is_none());
    }

    #[test]
    fn misbehaviours_read_as_their_flags() {
        let toxics = Toxics {
            slice: Some(1),
            gap: Duration::from_millis(10),
            delay: Duration::from_millis(100),
            jitter: Duration::from_millis(20),
            reset_after: Some(5),
            ..Toxics::default()
        };
        assert_eq!(
            toxics.to_string(),
            "slice 1 B, gap 10 ms, delay 100 ms, jitter 20 ms, reset after 5 B"
        );
    }

    #[test]
    fn the_first_byte_limit_wins() {
        let toxics = Toxics {
            stall_after: Some(10),
            reset_after: Some(3),
            close_after: Some(7),
            ..Toxics::default()
        };
        assert_eq!(toxics.first_limit(), Some((3, Limit::Reset)));
        assert_eq!(Toxics::default().first_limit(), None);
    }

    #[test]
    fn settings_that_cannot_work_are_refused() {
        let zero_slice = Toxics {
            slice: Some(0),
            ..Toxics::default()
        };
        let zero_rate = Toxics {
            rate: Some(0),
            ..Toxics::default()
        };
        let huge_delay = Toxics {
            delay: Duration::MAX,
            ..Toxics::default()
        };
        for bad in [zero_slice, zero_rate, huge_delay] {
            assert!(bad.check().is_err(), "{bad:?} should be refused");
        }
        assert!(Toxics::default().check().is_ok());
    }

    #[test]
    fn jitter_stays_within_its_bounds_and_never_below_zero() {
        let mut dice = Dice::new();
        let (base, jitter) = (Duration::from_millis(10), Duration::from_millis(30));
        let mut seen = Vec::new();
        for _ in 0..1000 {
            let d = dice.vary(base, jitter);
            assert!(d <= base + jitter, "{d:?}");
            seen.push(d);
        }
        assert!(seen.contains(&Duration::ZERO), "clamped at zero");
        assert!(seen.iter().any(|d| *d > base), "and sometimes longer");
        assert_eq!(dice.vary(base, Duration::ZERO), base);
    }
}
