//! Reference answer to exercise 10: one client's state machine in an event
//! loop. The task is described in `exercises/src/event_loop.rs`.
//!
//! Lesson 10's `Connection` (lesson10/src/event_loop.rs) is the same
//! machine with more to do (deadlines, back-pressure, the closing drain,
//! `--raw` and `--block-ms`), and one step for every event; this is its
//! core, with the readable and writable steps apart.

use std::io::{self, Read, Write};

use lessons::framing::{LineBuffer, LineError};
use lessons::reverse::reverse_chars;

/// What the connection waits for next (mio's `Interest`, defined in
/// `exercises/crates/checks/src/shared/event_loop.rs`).
pub use checks::shared::event_loop::Interest;

// ANCHOR: solution
/// One client between two events: what a thread of lesson 03 keeps on its
/// stack, kept here, because the loop's thread serves others meanwhile.
#[derive(Debug)]
pub struct Connection {
    max_line: usize,
    /// Bytes read but not yet a whole line.
    unread: LineBuffer,
    /// Replies queued but not yet written: `unsent[written..]`.
    unsent: Vec<u8>,
    written: usize,
    /// The client has sent everything (end of stream), or a line was too
    /// long: read no more; close once the replies are written.
    finishing: bool,
}

impl Connection {
    /// A client that has just connected: nothing read, nothing queued.
    pub fn new(max_line: usize) -> Connection {
        Connection {
            max_line,
            unread: LineBuffer::default(),
            unsent: Vec::new(),
            written: 0,
            finishing: false,
        }
    }

    /// The socket is readable: reads until `WouldBlock` (edge-triggered: the
    /// bytes left unread would get no event of their own), queues a reply
    /// for each whole line.
    pub fn on_readable(&mut self, socket: &mut impl Read) -> io::Result<Option<Interest>> {
        let mut buf = [0u8; 4096];
        while !self.finishing {
            match socket.read(&mut buf) {
                Ok(0) => {
                    // A last line without its `\n` is still answered.
                    if let Some(line) = self.unread.last_line(self.max_line) {
                        self.answer(line);
                    }
                    self.finishing = true;
                }
                Ok(n) => {
                    self.unread.extend(&buf[..n]);
                    while !self.finishing {
                        let Some(line) = self.unread.next_line(self.max_line) else {
                            break;
                        };
                        self.answer(line);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.interest())
    }

    /// The socket is writable: writes what is queued until all of it is
    /// gone or the socket takes no more (`WouldBlock`). A write may take
    /// part of what it is given: `written` says where to go on.
    pub fn on_writable(&mut self, socket: &mut impl Write) -> io::Result<Option<Interest>> {
        while self.written < self.unsent.len() {
            match socket.write(&self.unsent[self.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.written == self.unsent.len() {
            self.unsent.clear();
            self.written = 0;
        }
        Ok(self.interest())
    }

    /// Readable while reading goes on, writable only while replies wait
    /// (writable with nothing to write would wake the loop for nothing);
    /// `None`: nothing left to do, close.
    fn interest(&self) -> Option<Interest> {
        let read = (!self.finishing).then_some(Interest::READABLE);
        let write = (self.written < self.unsent.len()).then_some(Interest::WRITABLE);
        match (read, write) {
            (Some(r), Some(w)) => Some(r | w),
            (one, other) => one.or(other),
        }
    }

    /// Queues the reply to one line, as lesson 03's server writes it.
    fn answer(&mut self, line: Result<String, LineError>) {
        match line {
            Ok(line) => {
                self.unsent
                    .extend_from_slice(reverse_chars(&line).as_bytes());
                self.unsent.push(b'\n');
            }
            Err(LineError::NotUtf8) => self
                .unsent
                .extend_from_slice(b"error: line is not valid UTF-8\n"),
            Err(e) => {
                // The rest of a line that is too long cannot be told from
                // the next one: say why, then close once it is written.
                self.unsent
                    .extend_from_slice(format!("error: {e}; closing the connection\n").as_bytes());
                self.finishing = true;
            }
        }
    }
}
// ANCHOR_END: solution
