//! Line framing: turning a TCP byte stream into lines, with a length limit.
//!
//! TCP delivers a stream of bytes, not messages. One `read` may return half a
//! line, or three lines and the start of a fourth, and a multi-byte UTF-8
//! character may be cut between two reads. So a line protocol needs a
//! *framer*: something that collects bytes until the `\n` and only then hands
//! the line over. `BufRead::read_until` does exactly that, but on its own it
//! would keep growing its buffer for a client that never sends a newline.
//! [`read_line`] adds the missing limit with `Read::take`.

use std::fmt;
use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// The default longest line the servers accept: 64 KiB.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

/// The largest `--max-line` a server accepts: 16 MiB. Each client may make
/// the server hold one line this long, so a limit of many gigabytes would
/// let a few clients take all the memory; the servers check the flag with
/// `cli::count(1..=framing::MAX_LINE_LIMIT as u64)`.
pub const MAX_LINE_LIMIT: usize = 16 * 1024 * 1024;

/// Why [`read_line`] could not hand over a line.
#[derive(Debug)]
pub enum LineError {
    /// The line was longer than the limit. Its start has been consumed and the
    /// rest is still unread, so the stream is out of step: close it.
    TooLong { max: usize },
    /// The whole line arrived but is not UTF-8. It has been consumed, so the
    /// next call reads the next line.
    NotUtf8,
    /// The connection failed (reset, timed out, ...).
    Io(io::Error),
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::TooLong { max } => write!(f, "line longer than {max} bytes"),
            LineError::NotUtf8 => write!(f, "line is not valid UTF-8"),
            LineError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for LineError {}

impl From<io::Error> for LineError {
    fn from(e: io::Error) -> Self {
        LineError::Io(e)
    }
}

// ANCHOR: read_line
/// Reads one line of at most `max` bytes, not counting its line ending:
/// `\n`, or telnet's `\r\n`, is removed and never counts, so a line of
/// `max` bytes is served whichever ending it has.
///
/// Returns `Ok(None)` at end of stream. A last line without a newline is
/// still returned, as `BufRead::lines` does.
pub fn read_line<R: BufRead>(reader: &mut R, max: usize) -> Result<Option<String>, LineError> {
    let mut line = Vec::new();
    // `take` stops `read_until` after max + 1 bytes (the line and its `\n`),
    // so memory stays bounded however much a client sends without a
    // newline. `saturating_add`: a plain `+ 1` on `usize::MAX` would panic
    // where `overflow-checks` is on (the dev profile's default) and wrap to
    // 0 where it is off (release), and a limit of 0 would end every
    // connection at once.
    let limit = (max as u64).saturating_add(1);
    let n = reader.by_ref().take(limit).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if n as u64 == limit && line.last() == Some(&b'\r') {
        // `max` bytes and a `\r`: the `\n` of a `\r\n` may come next, and
        // the ending does not count. One byte more, no more.
        reader.by_ref().take(1).read_until(b'\n', &mut line)?;
    }
    finish_line(line, max).map(Some)
}
// ANCHOR_END: read_line

// ANCHOR: finish_line
/// Turns the bytes of one line, as a framer collected them (with its ending,
/// or without one at the end of the stream or when the limit was reached),
/// into the line: the rules every framer of the course shares. The ending
/// (`\n` or `\r\n`) is removed and never counts toward `max`.
pub fn finish_line(mut line: Vec<u8>, max: usize) -> Result<String, LineError> {
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    if line.len() > max {
        return Err(LineError::TooLong { max });
    }
    String::from_utf8(line).map_err(|_| LineError::NotUtf8)
}
// ANCHOR_END: finish_line

// ANCHOR: line_buffer
/// The framer of a server that never waits (lesson 10): the bytes a client
/// has sent so far, handed out as lines once they are whole. Where
/// [`read_line`] asks the socket for more until the line is complete, a
/// `LineBuffer` is given whatever one non-blocking `read` returned, and
/// says "not yet" until a `\n` is in.
#[derive(Debug, Default)]
pub struct LineBuffer {
    bytes: Vec<u8>,
    /// Where the next line starts in `bytes`.
    start: usize,
    /// How far past `start` there is surely no `\n`: a long line that comes
    /// in many pieces is searched once, not once per piece.
    searched: usize,
}

impl LineBuffer {
    /// Appends what a `read` returned.
    pub fn extend(&mut self, bytes: &[u8]) {
        // Move the unfinished line to the front first, so the buffer holds
        // at most one line and the bytes of one read.
        self.bytes.drain(..self.start);
        self.start = 0;
        self.bytes.extend_from_slice(bytes);
    }

    /// The next whole line, if there is one; `None`: wait for more bytes.
    /// The rules are [`read_line`]'s: at most `max` bytes before the `\n`,
    /// which a longer line never reaches ([`LineError::TooLong`]: close).
    pub fn next_line(&mut self, max: usize) -> Option<Result<String, LineError>> {
        let unread = &self.bytes[self.start..];
        let end = match unread[self.searched..].iter().position(|&b| b == b'\n') {
            Some(i) => self.searched + i + 1,
            // `max` bytes and a `\r` may still be a line whose `\n` is on
            // its way (the ending does not count); anything longer is not.
            None if unread.len() > max && !ends_in_cr_at_the_limit(unread, max) => {
                max.saturating_add(1)
            }
            None => {
                self.searched = unread.len();
                return None;
            }
        };
        // At most the line, a `\r` and the `\n`: a longer one is cut here,
        // without its `\n`, and `finish_line` calls it too long.
        let line = unread[..end.min(max.saturating_add(2))].to_vec();
        self.start += end;
        self.searched = 0;
        if self.start == self.bytes.len() && self.bytes.capacity() > 4096 {
            // Nothing left: an idle client keeps no big buffer.
            *self = LineBuffer::default();
        }
        Some(finish_line(line, max))
    }

    /// The bytes of an unfinished line, handed out as the last line at the
    /// end of the stream (as `read_line` does); `None` if there are none.
    pub fn last_line(&mut self, max: usize) -> Option<Result<String, LineError>> {
        let rest = std::mem::take(self);
        let line = rest.bytes[rest.start..].to_vec();
        (!line.is_empty()).then(|| finish_line(line, max))
    }
}
// ANCHOR_END: line_buffer

/// `max` bytes and then a `\r`, and nothing more yet: the `\n` of a `\r\n`
/// may be next.
fn ends_in_cr_at_the_limit(unread: &[u8], max: usize) -> bool {
    unread.len() == max.saturating_add(1) && unread.last() == Some(&b'\r')
}

/// Checks that a client's message is one line: a `\n` inside it would reach
/// the server as two lines, and the replies would be out of step.
pub fn one_line(message: &str) -> io::Result<()> {
    if message.contains('\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the message must be a single line",
        ));
    }
    Ok(())
}

/// How long [`say_and_close`] goes on reading what a client still sends
/// after its last line, so that the close is not a reset...
pub const CLOSE_DRAIN_TIME: Duration = Duration::from_secs(1);
/// ... and how many bytes at most.
pub const CLOSE_DRAIN_BYTES: usize = 4 * 1024 * 1024;

// ANCHOR: say_and_close
/// Sends a last line (an error, usually) and closes the connection so that
/// the client really gets to read it.
///
/// Closing a socket while the client's unread bytes are still in our receive
/// buffer makes the system send a reset (RST), and a reset can destroy our
/// last line before the client reads it. So: half-close our side, then read
/// and discard what the client is still sending, for at most a second and
/// a few megabytes, before closing for good.
pub fn say_and_close(mut stream: &TcpStream, line: &str) {
    // The client may be gone already; there is nobody left to tell then.
    let _ = stream.write_all(format!("{line}\n").as_bytes());
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + CLOSE_DRAIN_TIME;
    let mut budget: usize = CLOSE_DRAIN_BYTES;
    let mut scratch = [0u8; 8192];
    while budget > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match stream.read(&mut scratch) {
            Ok(0) | Err(_) => break,
            Ok(n) => budget = budget.saturating_sub(n),
        }
    }
}
// ANCHOR_END: say_and_close

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    fn all_lines(input: &[u8], max: usize) -> Vec<Result<String, String>> {
        let mut reader = input;
        let mut out = Vec::new();
        loop {
            match read_line(&mut reader, max) {
                Ok(None) => return out,
                Ok(Some(line)) => out.push(Ok(line)),
                Err(e @ LineError::TooLong { .. }) => {
                    out.push(Err(e.to_string()));
                    return out;
                }
                Err(e) => out.push(Err(e.to_string())),
            }
        }
    }

    #[rstest]
    #[case::one_line(b"hello\n", &["hello"])]
    #[case::two_lines_in_one_read(b"a\nb\n", &["a", "b"])]
    #[case::crlf_from_telnet(b"hello\r\n", &["hello"])]
    #[case::empty_line(b"\n", &[""])]
    #[case::last_line_without_newline(b"a\nb", &["a", "b"])]
    #[case::accents(b"h\xc3\xa9llo\n", &["h\u{e9}llo"])]
    fn splits_a_stream_into_lines(#[case] input: &[u8], #[case] expected: &[&str]) {
        let expected: Vec<Result<String, String>> =
            expected.iter().map(|s| Ok(s.to_string())).collect();
        assert_eq!(all_lines(input, 100), expected);
    }

    /// What a [`LineBuffer`] makes of `input` when it arrives in pieces of
    /// `piece` bytes, in the same form as [`all_lines`].
    fn buffered_lines(input: &[u8], max: usize, piece: usize) -> Vec<Result<String, String>> {
        let mut buffer = LineBuffer::default();
        let mut out = Vec::new();
        for bytes in input.chunks(piece) {
            buffer.extend(bytes);
            while let Some(line) = buffer.next_line(max) {
                let too_long = matches!(line, Err(LineError::TooLong { .. }));
                out.push(line.map_err(|e| e.to_string()));
                if too_long {
                    return out;
                }
            }
        }
        out.extend(buffer.last_line(max).map(|l| l.map_err(|e| e.to_string())));
        out
    }

    #[rstest]
    #[case::one_line(b"hello\n")]
    #[case::two_lines(b"a\nb\n")]
    #[case::crlf_from_telnet(b"hello\r\n")]
    #[case::empty_lines(b"\n\n")]
    #[case::last_line_without_newline(b"a\nb")]
    #[case::accents(b"h\xc3\xa9llo\n")]
    #[case::not_utf8_then_a_line(b"\xff\xfe\nok\n")]
    #[case::exactly_the_limit(b"12345\nabc\n")]
    #[case::over_the_limit(b"123456\nnext\n")]
    #[case::crlf_does_not_count_toward_the_limit(b"12345\r\nnext\n")]
    #[case::crlf_one_byte_over_the_limit(b"123456\r\nnext\n")]
    #[case::cr_at_the_limit_then_no_newline(b"12345\rx\n")]
    #[case::cr_at_the_limit_then_the_end(b"12345\r")]
    #[case::over_the_limit_without_newline(b"1234567890")]
    fn a_line_buffer_frames_like_read_line_whatever_the_pieces(
        #[case] input: &[u8],
        #[values(1, 2, 3, 100)] piece: usize,
    ) {
        assert_eq!(buffered_lines(input, 5, piece), all_lines(input, 5));
    }

    #[test]
    fn a_line_buffer_with_the_largest_limit_frames_instead_of_overflowing() {
        assert_eq!(
            buffered_lines(b"a\nb\n", usize::MAX, 1),
            vec![Ok("a".to_string()), Ok("b".to_string())]
        );
    }

    #[test]
    fn a_line_buffer_holds_at_most_one_unfinished_line_and_one_read() {
        let mut buffer = LineBuffer::default();
        for _ in 0..1000 {
            buffer.extend(b"x\ny");
            while buffer.next_line(100).is_some() {}
        }
        assert!(buffer.bytes.len() <= 4, "{} bytes kept", buffer.bytes.len());
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_accepted() {
        assert_eq!(all_lines(b"12345\n", 5), vec![Ok("12345".to_string())]);
    }

    #[test]
    fn a_line_over_the_limit_is_an_error_and_ends_reading() {
        assert_eq!(
            all_lines(b"123456\nnext\n", 5),
            vec![Err("line longer than 5 bytes".to_string())]
        );
    }

    #[test]
    fn a_huge_line_without_newline_reads_only_the_limit() {
        let input = vec![b'x'; 10 * 1024 * 1024];
        let mut reader = &input[..];
        assert!(matches!(
            read_line(&mut reader, 1024),
            Err(LineError::TooLong { max: 1024 })
        ));
        // Only max + 1 bytes were taken from the stream.
        assert_eq!(reader.len(), input.len() - 1025);
    }

    #[rstest]
    #[case::newline(b"12345\nnext\n")]
    #[case::telnet_crlf(b"12345\r\nnext\r\n")]
    fn a_line_of_exactly_the_limit_is_accepted_with_either_ending(#[case] input: &[u8]) {
        // Guards issue 20's "a 65 536-byte line ending in \r\n is refused
        // where the same line ending in \n is served".
        assert_eq!(
            all_lines(input, 5),
            vec![Ok("12345".to_string()), Ok("next".to_string())]
        );
    }

    #[rstest]
    #[case::newline(b"123456\n")]
    #[case::telnet_crlf(b"123456\r\n")]
    #[case::a_lone_cr_counts(b"12345\r\r\n")]
    #[case::no_ending_at_the_end(b"123456")]
    fn a_line_one_byte_over_the_limit_is_refused_with_either_ending(#[case] input: &[u8]) {
        assert_eq!(
            all_lines(input, 5),
            vec![Err("line longer than 5 bytes".to_string())]
        );
    }

    #[test]
    fn the_largest_possible_limit_reads_lines_instead_of_overflowing() {
        assert_eq!(
            all_lines(b"a\nb\n", usize::MAX),
            vec![Ok("a".to_string()), Ok("b".to_string())]
        );
    }

    #[test]
    fn invalid_utf8_is_reported_and_the_next_line_still_reads() {
        assert_eq!(
            all_lines(b"\xff\xfe\nok\n", 100),
            vec![
                Err("line is not valid UTF-8".to_string()),
                Ok("ok".to_string())
            ]
        );
    }
}
