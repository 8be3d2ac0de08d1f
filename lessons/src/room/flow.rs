//! Flow control: what happens when lines arrive faster than a client reads.
//!
//! Two rules, one for each side of the room.
//!
//! **A client that talks faster than the others read is slowed down.** Each
//! client has a *window*: at most [`Limits::soft`] bytes of its lines may be
//! on the way to the others (queued, or being written, but not yet taken
//! by every other client's socket). Once its window is full, its reader
//! thread stops reading its socket. The bytes it keeps sending pile up in
//! the system's buffers, TCP's own flow control closes its window, and the
//! flooding client's writes block: it is slowed to the pace of the room.
//! Each line carries a [`Credit`] for its bytes, and the window opens
//! again when the last copy of the line has been written (Rust's `Drop`
//! does the bookkeeping).
//!
//! **A client that does not keep up is dropped, by a rule stated in bytes
//! and seconds** (in the spirit of Redis's client output buffer limits):
//! - *soft limit*: a client is *behind* while [`Limits::soft`] bytes or more
//!   wait for it. A client that stays behind for [`Limits::soft_secs`] and
//!   takes less than `soft` bytes in that time is dropped;
//! - *hard limit*: a line that would take what waits for a client over
//!   [`Limits::hard`] bytes drops that client at once.
//!
//! A client that reads at any reasonable speed is never dropped: it takes
//! `soft` bytes in far less than `soft_secs`. A client that has stopped,
//! or reads a line a second, holds its senders back for `soft_secs` at
//! most: that is the price the room pays for not dropping readers too
//! soon.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// The default `--soft-limit`: 64 KiB behind, and each client's window.
pub const DEFAULT_SOFT: usize = 64 * 1024;
/// The default `--hard-limit`: 1 MiB waiting.
pub const DEFAULT_HARD: usize = 1024 * 1024;
/// The default `--soft-secs`.
pub const DEFAULT_SOFT_SECS: Duration = Duration::from_secs(5);

// ANCHOR: limits
/// When a client that does not keep up is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A client with this many bytes waiting for it is *behind*. It is
    /// also each client's window: how much of its lines may be on the way.
    pub soft: usize,
    /// A client is dropped at once rather than have more than this waiting.
    pub hard: usize,
    /// A client that stays behind this long, taking less than `soft`
    /// bytes meanwhile, is dropped. A dropped client also gets this long
    /// to take its last line.
    pub soft_secs: Duration,
}
// ANCHOR_END: limits

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            soft: DEFAULT_SOFT,
            hard: DEFAULT_HARD,
            soft_secs: DEFAULT_SOFT_SECS,
        }
    }
}

impl Limits {
    /// Checks that the limits work together: the soft limit cannot be above
    /// the hard one, or the soft rule could never apply.
    pub fn check(&self) -> Result<(), String> {
        if self.soft > self.hard {
            return Err(format!(
                "--soft-limit ({}) must not be above --hard-limit ({})",
                self.soft, self.hard
            ));
        }
        Ok(())
    }
}

// ANCHOR: window
/// One client's window: the bytes of its lines that are on the way to the
/// others. Its reader thread waits for room in it before it reads on; the
/// [`Credit`]s of its lines give the room back as they are delivered.
pub struct Window {
    on_the_way: AtomicUsize,
    limit: usize,
    /// The reader thread that waits for room, to wake it up.
    reader: Thread,
}

impl Window {
    /// A window for the calling thread, which is the one that will wait.
    pub fn for_this_thread(limit: usize) -> Arc<Window> {
        Arc::new(Window {
            on_the_way: AtomicUsize::new(0),
            limit,
            reader: thread::current(),
        })
    }

    /// Waits until there is room for another line, or until `give_up`
    /// says to stop waiting (checked at least every `poll`). Returns
    /// false if it gave up.
    ///
    /// `park` is the lightest wait std has: the thread sleeps until a
    /// [`Credit`] that opens the window calls `unpark`, or `poll` passes.
    /// An `unpark` that comes before the `park` is not lost: the `park`
    /// then returns at once.
    pub fn wait_for_room(&self, poll: Duration, give_up: impl Fn() -> bool) -> bool {
        while self.on_the_way.load(Ordering::Acquire) >= self.limit {
            if give_up() {
                return false;
            }
            thread::park_timeout(poll);
        }
        true
    }

    /// Takes `bytes` of the window for a line, and returns the credit that
    /// gives them back when it is dropped. A line is always let through when
    /// there is room at all, so one line may take the window past its limit.
    pub fn take(self: &Arc<Window>, bytes: usize) -> Credit {
        self.on_the_way.fetch_add(bytes, Ordering::AcqRel);
        Credit {
            window: Arc::clone(self),
            bytes,
        }
    }

    /// Bytes of this client's lines on the way now.
    pub fn on_the_way(&self) -> usize {
        self.on_the_way.load(Ordering::Acquire)
    }
}

/// Gives a line's bytes back to its sender's window when the line is gone:
/// written to every client it was for, or thrown away with a client that
/// was dropped.
pub struct Credit {
    window: Arc<Window>,
    bytes: usize,
}

impl Drop for Credit {
    fn drop(&mut self) {
        let before = self
            .window
            .on_the_way
            .fetch_sub(self.bytes, Ordering::AcqRel);
        // Wake the reader only when this opened a full window.
        if before >= self.window.limit && before - self.bytes < self.window.limit {
            self.window.reader.unpark();
        }
    }
}
// ANCHOR_END: window

/// One line as clients receive it, `\n` included, shared by every queue it
/// is in. A client's line carries its sender's credit; the server's own
/// lines (notices, the console) carry none.
pub struct Line {
    text: Box<str>,
    _credit: Option<Credit>,
}

impl Line {
    /// A line with its `\n` added.
    pub fn new(text: &str, credit: Option<Credit>) -> Line {
        let mut line = String::with_capacity(text.len() + 1);
        line.push_str(text);
        line.push('\n');
        Line {
            text: line.into_boxed_str(),
            _credit: credit,
        }
    }

    pub fn bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// The text from byte `start` on, without the `\n`.
    pub fn text_from(&self, start: usize) -> &str {
        let text = &self.text[..self.text.len() - 1];
        text.get(start..).unwrap_or(text)
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

// ANCHOR: backlog
/// What waits for one client: shared by the hub, which adds the lines it
/// queues, and the client's writer thread, which subtracts what the socket
/// takes. Plain counters, so that the hub can look without ever waiting.
#[derive(Default)]
pub struct Backlog {
    /// Bytes queued or being written, not yet taken by the socket.
    pub waiting: AtomicUsize,
    /// Bytes the socket has taken since the client joined.
    pub taken: AtomicU64,
}

/// Why a client is dropped for not reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooSlow {
    /// A line would have taken what waits for it over the hard limit.
    Hard(usize),
    /// It stayed behind for `soft_secs`, taking less than `soft` bytes.
    Soft(usize, Duration),
}

/// The hub's watch on one client for the soft limit: since when it has
/// been behind, and how much it had taken then.
#[derive(Debug, Default)]
pub struct Watch {
    behind: Option<(Instant, u64)>,
}

impl Watch {
    /// Applies the soft rule at `now`. Called by the hub on every tick.
    pub fn soft(&mut self, limits: &Limits, backlog: &Backlog, now: Instant) -> Option<TooSlow> {
        if backlog.waiting.load(Ordering::Acquire) < limits.soft {
            self.behind = None;
            return None;
        }
        let taken = backlog.taken.load(Ordering::Acquire);
        match self.behind {
            // It has just fallen behind: start the clock.
            None => self.behind = Some((now, taken)),
            // It took `soft` bytes: still behind, but reading. Restart it.
            Some((_, then)) if taken - then >= limits.soft as u64 => {
                self.behind = Some((now, taken));
            }
            Some((since, _)) if now - since >= limits.soft_secs => {
                return Some(TooSlow::Soft(limits.soft, limits.soft_secs));
            }
            Some(_) => {}
        }
        None
    }
}

/// Applies the hard rule before a line of `len` bytes is queued for a client.
/// One line alone is always let through, however long.
pub fn over_hard(limits: &Limits, backlog: &Backlog, len: usize) -> Option<TooSlow> {
    let waiting = backlog.waiting.load(Ordering::Acquire);
    (waiting > 0 && waiting + len > limits.hard).then_some(TooSlow::Hard(limits.hard))
}
// ANCHOR_END: backlog

impl TooSlow {
    /// Why, for the server's log (`whom` is "it") and the client's goodbye
    /// ("you").
    pub fn explain(&self, whom: &str) -> String {
        match self {
            TooSlow::Hard(hard) => {
                format!("more than {hard} bytes would have been waiting for {whom}")
            }
            TooSlow::Soft(soft, secs) => format!(
                "{soft} bytes or more waited for {whom} for {} s, and {whom} took less than that",
                secs.as_secs_f64()
            ),
        }
    }

    /// The flags that set the limit.
    pub fn flags(&self) -> &'static str {
        match self {
            TooSlow::Hard(_) => "--hard-limit",
            TooSlow::Soft(..) => "--soft-limit, --soft-secs",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn limits() -> Limits {
        Limits {
            soft: 100,
            hard: 1000,
            soft_secs: Duration::from_secs(5),
        }
    }

    #[test]
    fn a_credit_gives_its_bytes_back_when_the_last_copy_of_its_line_is_dropped() {
        let window = Window::for_this_thread(100);
        let line = Arc::new(Line::new("hello", Some(window.take(6))));
        let copy = Arc::clone(&line);
        assert_eq!(window.on_the_way(), 6);
        drop(line);
        assert_eq!(window.on_the_way(), 6, "one copy is still queued");
        drop(copy);
        assert_eq!(window.on_the_way(), 0);
    }

    #[test]
    fn a_full_window_waits_and_a_dropped_credit_opens_it() {
        let window = Window::for_this_thread(10);
        let credit = window.take(10);
        // Full: the wait gives up when asked to.
        assert!(!window.wait_for_room(Duration::from_millis(1), || true));
        let giver = thread::spawn(move || drop(credit));
        // Opened by the other thread: the wait ends (the poll is a backstop).
        assert!(window.wait_for_room(Duration::from_secs(10), || false));
        giver.join().expect("the thread that drops the credit");
    }

    #[test]
    fn a_client_behind_for_soft_secs_without_taking_soft_bytes_is_dropped() {
        let (limits, backlog, mut watch) = (limits(), Backlog::default(), Watch::default());
        let t0 = Instant::now();
        backlog.waiting.store(100, Ordering::Release);
        assert_eq!(watch.soft(&limits, &backlog, t0), None, "the clock starts");
        // 99 bytes taken in 4.9 s: not enough, and not long enough yet.
        backlog.taken.store(99, Ordering::Release);
        assert_eq!(
            watch.soft(&limits, &backlog, t0 + Duration::from_millis(4900)),
            None
        );
        assert_eq!(
            watch.soft(&limits, &backlog, t0 + Duration::from_secs(5)),
            Some(TooSlow::Soft(100, Duration::from_secs(5)))
        );
    }

    #[test]
    fn a_client_behind_that_takes_soft_bytes_in_time_is_kept() {
        let (limits, backlog, mut watch) = (limits(), Backlog::default(), Watch::default());
        let t0 = Instant::now();
        backlog.waiting.store(500, Ordering::Release);
        assert_eq!(watch.soft(&limits, &backlog, t0), None);
        for second in 1..=20 {
            // Always behind, but it takes 100 bytes every 4 s.
            if second % 4 == 0 {
                backlog.taken.fetch_add(100, Ordering::AcqRel);
            }
            let now = t0 + Duration::from_secs(second);
            assert_eq!(watch.soft(&limits, &backlog, now), None, "at {second} s");
        }
    }

    #[test]
    fn catching_up_stops_the_clock() {
        let (limits, backlog, mut watch) = (limits(), Backlog::default(), Watch::default());
        let t0 = Instant::now();
        backlog.waiting.store(100, Ordering::Release);
        watch.soft(&limits, &backlog, t0);
        backlog.waiting.store(99, Ordering::Release);
        assert_eq!(
            watch.soft(&limits, &backlog, t0 + Duration::from_secs(4)),
            None
        );
        backlog.waiting.store(100, Ordering::Release);
        // The clock starts again from here, not from t0.
        assert_eq!(
            watch.soft(&limits, &backlog, t0 + Duration::from_secs(6)),
            None
        );
        assert_eq!(
            watch.soft(&limits, &backlog, t0 + Duration::from_secs(10)),
            None
        );
        assert!(
            watch
                .soft(&limits, &backlog, t0 + Duration::from_secs(11))
                .is_some()
        );
    }

    #[test]
    fn the_hard_limit_lets_one_line_through_but_not_a_pile() {
        let (limits, backlog) = (limits(), Backlog::default());
        assert_eq!(over_hard(&limits, &backlog, 5000), None, "one line alone");
        backlog.waiting.store(900, Ordering::Release);
        assert_eq!(over_hard(&limits, &backlog, 100), None, "exactly the limit");
        assert_eq!(over_hard(&limits, &backlog, 101), Some(TooSlow::Hard(1000)));
    }

    #[test]
    fn the_soft_limit_cannot_be_above_the_hard_one() {
        let mut l = limits();
        assert_eq!(l.check(), Ok(()));
        l.soft = 1001;
        assert_eq!(
            l.check(),
            Err("--soft-limit (1001) must not be above --hard-limit (1000)".to_string())
        );
    }
}
