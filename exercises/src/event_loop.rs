//! Exercise 10 (lesson 10): one client's state machine in an event loop.
//!
//! Lesson 10's server serves every client on one thread. The loop waits in
//! one place, mio's `Poll::poll`, and for each event calls the client's
//! `Connection`, which must never wait: its socket is non-blocking, so a
//! `read` with nothing to read, or a `write` into a full send buffer,
//! returns the error `WouldBlock` at once. The loop is written for you
//! (`exercises/crates/programs/src/lib.rs`); write [`Connection`], which
//! serves lesson 03's protocol one event at a time:
//! - [`Connection::on_readable`] is called when the socket is readable.
//!   Read until `read` says `WouldBlock`: mio's readiness is
//!   edge-triggered, an event says once that bytes came, and bytes left
//!   unread get no event of their own. A read may bring half a line, or
//!   three lines and the start of a fourth: keep the unfinished line in the
//!   `Connection` for the next event, and queue a reply for each whole line
//!   (the line's characters reversed, then `\n`; a `\r` before the `\n` is
//!   not part of the line). A line that is not UTF-8 gets a reply starting
//!   with `error:`, and the next line is served as usual. Once more than
//!   `max_line` bytes have come without a `\n`, the line is too long: queue
//!   a reply starting with `error:`, read no more, and close once it is
//!   written. `read` returning 0 is the end of the stream: the client has
//!   sent everything. Its last line without a `\n` is still answered; then
//!   close once every reply is written;
//! - [`Connection::on_writable`] is called when the socket is writable and
//!   the connection asked for it. Write what is queued until it is all gone
//!   or `write` says `WouldBlock`. A write may take only part of what it is
//!   given (it returns how many bytes it took): the rest waits for the next
//!   writable event;
//! - both return what to wait for next: `Some(Interest::READABLE)` while
//!   reading goes on, `| Interest::WRITABLE` only while replies wait to be
//!   written (a socket with room in its send buffer is always writable:
//!   asking with nothing to write wakes the loop for nothing), and `None`
//!   when there is nothing left to do: the loop closes the socket. An
//!   `Err` closes it too.
//!
//! The checks run a mio loop over a real connection and call your
//! `Connection` as lesson 10's loop does. Their socket behaves as a real
//! one may on a busy network, every time: a read hands out at most 256
//! bytes, a write takes at most 256, and every third write says
//! `WouldBlock`. They also run through lesson 09's proxy, once with every
//! byte arriving on its own and once with separate messages merged.
//!
//! You may use `lessons::framing` (its `LineBuffer` frames lines the way
//! lesson 03 does, from whatever one read returned). Run it with `cargo run
//! -p exercises --bin event_loop` and `nc 127.0.0.1 2002` (several at
//! once: one thread serves them all). Check it with `cargo test -p
//! exercises event_loop`. Hints: `exercises/src/event_loop.hints.md`.
//! Time: about 45 minutes.

use std::io::{self, Read, Write};

// ANCHOR: task
/// What the connection waits for next: mio's `Interest` (defined in
/// `exercises/crates/checks/src/shared/event_loop.rs`, because the checks'
/// loop hands it to the poller).
pub use checks::shared::event_loop::Interest;

/// One client between two events.
pub struct Connection {
    // Your fields: the bytes read but not yet a whole line, the replies
    // queued but not yet written (and how much of them is), whether the
    // client has finished, and the line limit.
}

impl Connection {
    /// A client that has just connected; lines may be `max_line` bytes
    /// long (before the `\n`).
    pub fn new(max_line: usize) -> Connection {
        todo!("exercise 10: write Connection::new in exercises/src/event_loop.rs")
    }

    /// The socket is readable: read until `WouldBlock`, queue a reply for
    /// each whole line, and say what to wait for next (`None`: close).
    pub fn on_readable(&mut self, socket: &mut impl Read) -> io::Result<Option<Interest>> {
        todo!("exercise 10: write Connection::on_readable in exercises/src/event_loop.rs")
    }

    /// The socket is writable: write what is queued until it is all gone or
    /// `WouldBlock`, and say what to wait for next (`None`: close).
    pub fn on_writable(&mut self, socket: &mut impl Write) -> io::Result<Option<Interest>> {
        todo!("exercise 10: write Connection::on_writable in exercises/src/event_loop.rs")
    }
}
// ANCHOR_END: task
