//! The servers' console output: one small logger that can never stop a
//! server from serving.
//!
//! `println!` looks harmless, but it blocks while the terminal or pipe on
//! the other end is full, and it panics when that end is closed
//! (`02_echo_server | head -n 2`: "failed printing to stdout"). A server that
//! prints from the thread serving a client hands control of its clients to
//! whoever reads its output.
//!
//! So the servers never print on a serving path. They hand each line to
//! [`log_line!`](crate::log_line) (or [`log_error!`](crate::log_error) for stderr),
//! which puts it on a bounded queue with `try_send` and returns at once.
//! One logger thread owns stdout and stderr and writes what the queue holds.
//! - A full queue (nobody reads the output, or not fast enough) drops the
//!   line and counts it; the logger reports the count once it can write
//!   again: `... 1234 log lines dropped`.
//! - A closed stdout or stderr (a write fails) ends logging there, not the
//!   server: later lines for it are dropped without a word, as there is
//!   nobody to tell. The other stream goes on (`02_echo_server | head -n 2`
//!   still shows its errors on stderr).
//!
//! This is the rule lesson 05's hub follows too: the thread that serves
//! must never wait for a slow reader.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// Lines that may wait for the terminal before new ones are dropped.
pub const QUEUE: usize = 4096;

/// How long [`flush`] waits for the queue to be written out.
pub const FLUSH_WAIT: Duration = Duration::from_secs(1);

/// Where a line goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

struct Logger {
    queue: SyncSender<(Stream, String)>,
    /// Lines queued so far (not dropped).
    queued: AtomicU64,
    counts: Arc<Counts>,
}

/// What the logger thread tells the others.
#[derive(Default)]
struct Counts {
    dropped: AtomicU64,
    /// Lines taken off the queue so far (written, or lost with the output).
    done: Mutex<u64>,
    progress: Condvar,
}

/// The one logger of the process, started by the first line logged.
///
/// A global, like stdout itself: every thread of a server may log, and
/// passing a handle to each would add a parameter to every function of the
/// lessons for no lesson.
fn logger() -> &'static Logger {
    static LOGGER: OnceLock<Logger> = OnceLock::new();
    LOGGER.get_or_init(|| {
        let (queue, lines) = mpsc::sync_channel(QUEUE);
        let counts = Arc::new(Counts::default());
        let shared = Arc::clone(&counts);
        // If the thread cannot start, the queue's receiver is dropped and
        // every line is dropped with it: still no panic, and still serving.
        // A small stack of its own: the logger needs little, and a stack
        // size given here does not depend on `RUST_MIN_STACK`.
        let _ = thread::Builder::new()
            .name("logger".into())
            .stack_size(64 * 1024)
            .spawn(move || write_lines(lines, &shared));
        Logger {
            queue,
            queued: AtomicU64::new(0),
            counts,
        }
    })
}

/// The logger thread: writes every line, and the count of lines dropped
/// since the last write, until a write to its stream fails.
fn write_lines(lines: Receiver<(Stream, String)>, counts: &Counts) {
    let mut out = io::stdout();
    let mut err = io::stderr();
    let (mut out_open, mut err_open) = (true, true);
    for (stream, text) in lines {
        let (target, open): (&mut dyn Write, &mut bool) = match stream {
            Stream::Stdout => (&mut out, &mut out_open),
            Stream::Stderr => (&mut err, &mut err_open),
        };
        if *open {
            let dropped = counts.dropped.swap(0, Ordering::Relaxed);
            let written = (|| -> io::Result<()> {
                if dropped > 0 {
                    writeln!(target, "... {dropped} log lines dropped")?;
                }
                writeln!(target, "{text}")?;
                target.flush()
            })();
            // A failed write means this output is closed: nobody can read
            // it any more. Keep taking lines off the queue (so nobody ever
            // waits for it) but write nothing more there.
            *open = written.is_ok();
        }
        let mut done = counts.done.lock().unwrap_or_else(PoisonError::into_inner);
        *done += 1;
        counts.progress.notify_all();
    }
}

/// Queues one line for `stream`, without ever waiting.
pub fn log(stream: Stream, text: String) {
    let logger = logger();
    match logger.queue.try_send((stream, text)) {
        Ok(()) => {
            logger.queued.fetch_add(1, Ordering::Relaxed);
        }
        Err(TrySendError::Full(_)) => {
            logger.counts.dropped.fetch_add(1, Ordering::Relaxed);
        }
        // The logger thread could not start: there is no output.
        Err(TrySendError::Disconnected(_)) => {}
    }
}

/// Waits, at most [`FLUSH_WAIT`], until every line queued so far has been
/// written. A program calls it before it exits, so its last words are not
/// lost; a terminal that nobody reads cannot keep it waiting longer.
pub fn flush() {
    let logger = logger();
    let target = logger.queued.load(Ordering::Relaxed);
    let deadline = Instant::now() + FLUSH_WAIT;
    let mut done = logger
        .counts
        .done
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    while *done < target {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        done = logger
            .counts
            .progress
            .wait_timeout(done, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

/// Logs a line on stdout through the logger: `log_line!("client {peer} connected")`.
#[macro_export]
macro_rules! log_line {
    ($($arg:tt)*) => {
        $crate::log::log($crate::log::Stream::Stdout, format!($($arg)*))
    };
}

/// Logs a line on stderr through the logger: `log_error!("accept failed: {e}")`.
#[macro_export]
macro_rules! log_error {
    ($($arg:tt)*) => {
        $crate::log::log($crate::log::Stream::Stderr, format!($($arg)*))
    };
}
