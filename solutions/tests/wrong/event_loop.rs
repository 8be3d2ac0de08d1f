//! Wrong answers to exercise 10, the `Connection` of an event loop: the
//! reference answer with one mistake each, the ones learners really make
//! with non-blocking sockets.

use std::io::{self, Read, Write};

use lessons::framing::{LineBuffer, LineError};
use lessons::reverse::reverse_chars;
use solutions::checks::event_loop::{Api, Interest, Socket, checks};

use crate::{Case, case};

const FIRST: &str = "answers_a_line_with_its_characters_reversed";
const SPLIT: &str = "a_line_split_across_two_readable_events_gets_one_reply";
const READS_ON: &str = "reads_until_wouldblock_at_every_readable_event";
const BIG_REPLY: &str = "a_reply_bigger_than_one_write_arrives_whole";
const WRITABLE: &str = "asks_for_writable_only_while_replies_wait";
const NOT_UTF8: &str = "a_line_that_is_not_utf8_gets_an_error_and_the_next_line_is_served";
const TOO_LONG: &str = "a_line_over_the_limit_gets_an_error_and_the_connection_closes";
const LAST_LINE: &str = "the_last_line_without_a_newline_is_answered_when_the_client_closes";
const CLOSES: &str = "closes_once_the_client_has_closed_and_every_reply_is_written";
const BYTE_AT_A_TIME: &str = "works_when_every_byte_arrives_on_its_own";
const MERGED: &str = "works_when_separate_messages_arrive_merged";

/// These checks, with the same words.
fn all(checks: &[&'static str], words: &'static str) -> &'static [(&'static str, &'static str)] {
    Vec::leak(checks.iter().map(|c| (*c, words)).collect())
}

/// The checks a busy loop fails: every one that waits for the loop to
/// settle between two moves of its client.
const SPINS: &[&str] = &[
    FIRST,
    SPLIT,
    BIG_REPLY,
    WRITABLE,
    NOT_UTF8,
    LAST_LINE,
    CLOSES,
    BYTE_AT_A_TIME,
    MERGED,
];

pub fn cases() -> Vec<Case> {
    const BUSY: &str = "a busy loop";
    const EDGE: &str = "before a read had said WouldBlock";
    const PARTIAL: &str = "a write took only part of the queued bytes";
    const WOULD_BLOCK: &str = "WouldBlock is no failure";
    const FORGETS: &str = "on_writable returned without asking for WRITABLE";
    vec![
        case(
            "reads_once_per_event",
            checks(api(Mistake::ReadsOncePerEvent)),
            // Every check that sends more than one read hands out at once.
            all(&[READS_ON, BIG_REPLY, TOO_LONG, CLOSES], EDGE),
        ),
        // The busy loop spins until BUSY ends the check's loop. The
        // client moves only once the loop has settled (Client::settle),
        // which a busy loop never does, so the same checks fail every time.
        case(
            "keeps_asking_for_writable",
            checks(api(Mistake::KeepsAskingForWritable)),
            all(SPINS, BUSY),
        ),
        // The same on a machine so busy that the thousand calls take
        // longer than one WAIT: the client waits for as long as the loop
        // keeps calling, so the same checks fail (with a wait of 2 s, once
        // this fixture passed most of them).
        case(
            "keeps_asking_for_writable_on_a_slow_machine",
            checks(api(Mistake::KeepsAskingForWritableOnASlowMachine)),
            all(SPINS, BUSY),
        ),
        case(
            "drops_the_rest_of_a_partial_write",
            checks(api(Mistake::DropsTheRestOfAPartialWrite)),
            all(&[BIG_REPLY, READS_ON, CLOSES], PARTIAL),
        ),
        case(
            "loses_a_line_split_across_two_events",
            checks(api(Mistake::LosesALineSplitAcrossEvents)),
            &[
                (
                    SPLIT,
                    "The first piece, read at an earlier readable event, was lost",
                ),
                (BYTE_AT_A_TIME, "fails when it arrives one byte at a time"),
                (LAST_LINE, "the connection closed without a reply"),
            ],
        ),
        case(
            "writes_with_write_all",
            checks(api(Mistake::WritesWithWriteAll)),
            // Every check whose connection writes three times.
            all(&[BIG_REPLY, FIRST, READS_ON, WRITABLE, CLOSES], WOULD_BLOCK),
        ),
        case(
            "forgets_writable_after_wouldblock",
            checks(api(Mistake::ForgetsWritableAfterWouldBlock)),
            // Every check whose connection writes three times and then
            // waits for a writable event. (In CLOSES, the client's end of
            // stream wakes the connection, which then writes the rest.)
            all(&[BIG_REPLY, FIRST, READS_ON, WRITABLE], FORGETS),
        ),
        case(
            "reads_on_after_the_end_of_the_stream",
            checks(api(Mistake::ReadsOnAfterTheEnd)),
            all(&[CLOSES, LAST_LINE], "on_readable still asked for READABLE"),
        ),
    ]
}

/// The one mistake of a wrong answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mistake {
    /// One read per readable event: "the event said there are bytes; here
    /// they are".
    ReadsOncePerEvent,
    /// Always READABLE | WRITABLE: "the loop will tell me when I can write".
    KeepsAskingForWritable,
    /// The same, each call taking 3 ms: a busy machine, where a thousand
    /// calls take longer than the checks' WAIT.
    KeepsAskingForWritableOnASlowMachine,
    /// One write per writable event, and the queue cleared: a write taken
    /// for a whole one.
    DropsTheRestOfAPartialWrite,
    /// The line buffer is a variable of `on_readable`: the bytes of an
    /// unfinished line are gone after the event.
    LosesALineSplitAcrossEvents,
    /// `write_all`, as with a blocking socket: it gives up with WouldBlock.
    WritesWithWriteAll,
    /// `read` returned 0, and the connection goes on asking for READABLE.
    ReadsOnAfterTheEnd,
    /// The rest is kept after WouldBlock, but the next event is not asked
    /// for: READABLE alone, "the poller will say when I can write".
    ForgetsWritableAfterWouldBlock,
}

/// The reference connection, with one mistake.
struct Wrong {
    mistake: Mistake,
    max_line: usize,
    unread: LineBuffer,
    unsent: Vec<u8>,
    written: usize,
    finishing: bool,
}

fn api(mistake: Mistake) -> Api<Wrong> {
    // `new` is a plain function: each mistake has its own.
    let new: fn(usize) -> Wrong = match mistake {
        Mistake::ReadsOncePerEvent => |m| Wrong::new(m, Mistake::ReadsOncePerEvent),
        Mistake::KeepsAskingForWritable => |m| Wrong::new(m, Mistake::KeepsAskingForWritable),
        Mistake::KeepsAskingForWritableOnASlowMachine => {
            |m| Wrong::new(m, Mistake::KeepsAskingForWritableOnASlowMachine)
        }
        Mistake::DropsTheRestOfAPartialWrite => {
            |m| Wrong::new(m, Mistake::DropsTheRestOfAPartialWrite)
        }
        Mistake::LosesALineSplitAcrossEvents => {
            |m| Wrong::new(m, Mistake::LosesALineSplitAcrossEvents)
        }
        Mistake::WritesWithWriteAll => |m| Wrong::new(m, Mistake::WritesWithWriteAll),
        Mistake::ReadsOnAfterTheEnd => |m| Wrong::new(m, Mistake::ReadsOnAfterTheEnd),
        Mistake::ForgetsWritableAfterWouldBlock => {
            |m| Wrong::new(m, Mistake::ForgetsWritableAfterWouldBlock)
        }
    };
    Api {
        new,
        on_readable: |c: &mut Wrong, s: &mut Socket| c.on_readable(s),
        on_writable: |c: &mut Wrong, s: &mut Socket| c.on_writable(s),
    }
}

impl Wrong {
    fn new(max_line: usize, mistake: Mistake) -> Wrong {
        Wrong {
            mistake,
            max_line,
            unread: LineBuffer::default(),
            unsent: Vec::new(),
            written: 0,
            finishing: false,
        }
    }

    fn on_readable(&mut self, socket: &mut impl Read) -> io::Result<Option<Interest>> {
        if self.mistake == Mistake::LosesALineSplitAcrossEvents {
            self.unread = LineBuffer::default();
        }
        let mut buf = [0u8; 4096];
        while !self.finishing {
            match socket.read(&mut buf) {
                Ok(0) if self.mistake == Mistake::ReadsOnAfterTheEnd => break,
                Ok(0) => {
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
                    if self.mistake == Mistake::ReadsOncePerEvent {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.interest())
    }

    fn on_writable(&mut self, socket: &mut impl Write) -> io::Result<Option<Interest>> {
        if self.mistake == Mistake::KeepsAskingForWritableOnASlowMachine
            && self.written == self.unsent.len()
        {
            std::thread::sleep(std::time::Duration::from_millis(3));
        }
        match self.mistake {
            Mistake::DropsTheRestOfAPartialWrite => {
                match socket.write(&self.unsent) {
                    Ok(_) => self.unsent.clear(),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
                return Ok(self.interest());
            }
            Mistake::WritesWithWriteAll => {
                socket.write_all(&self.unsent)?;
                self.unsent.clear();
                return Ok(self.interest());
            }
            _ => {}
        }
        while self.written < self.unsent.len() {
            match socket.write(&self.unsent[self.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.mistake == Mistake::ForgetsWritableAfterWouldBlock {
                        return Ok(Some(Interest::READABLE));
                    }
                    break;
                }
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

    fn interest(&self) -> Option<Interest> {
        let busy = matches!(
            self.mistake,
            Mistake::KeepsAskingForWritable | Mistake::KeepsAskingForWritableOnASlowMachine
        );
        if busy && !self.finishing {
            return Some(Interest::READABLE | Interest::WRITABLE);
        }
        let read = (!self.finishing).then_some(Interest::READABLE);
        let write = (self.written < self.unsent.len()).then_some(Interest::WRITABLE);
        match (read, write) {
            (Some(r), Some(w)) => Some(r | w),
            (one, other) => one.or(other),
        }
    }

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
                self.unsent
                    .extend_from_slice(format!("error: {e}; closing the connection\n").as_bytes());
                self.finishing = true;
            }
        }
    }
}
