//! Lesson 04: full-duplex chat between two people, one at each end of a
//! connection.
//!
//! In lessons 02 and 03 the client speaks, then the server answers: turn
//! taking. A conversation has no turns. Either side may type at any moment,
//! and what the other side sends must appear even while we are typing. So
//! each program runs two threads, one per direction:
//!
//! - the *keyboard* thread copies what is typed on stdin to the socket;
//! - the *screen* thread copies whatever arrives on the socket to stdout.
//!
//! Both need the same connection. [`TcpStream::try_clone`] gives a second
//! handle to it, so each thread owns one handle, and neither has to wait for
//! the other.
//!
//! **Ending.** Each direction ends on its own, and the other one stays open:
//! - When we type `exit` (or press Ctrl-D), the keyboard thread ends and
//!   reports it, and the main thread calls `shutdown(Shutdown::Write)`: the
//!   peer reads end of stream, and we keep showing what it sends until it
//!   closes its side too. (Only the main thread closes and prints notices,
//!   so what it says matches the order things happened in.)
//! - When the peer closes its side, our screen thread's `read` returns 0. We
//!   say so, and keep sending what is typed until `exit` or Ctrl-D.
//!
//! The conversation is over when both directions are. The two threads tell
//! the main thread that they are done over a channel; the main thread
//! decides when the program ends.
//!
//! **Output.** stdout carries the bytes the peer sent, with or without
//! newlines (the original Python client sends none), unchanged but for
//! control characters, shown escaped ([`Escape`]). What
//! the program says itself (connected, closed) goes to stderr, so
//! `04_chat_client > received.txt` saves only the conversation. Neither a
//! closed stdout nor a closed stderr makes the program panic: the first ends
//! the conversation with one line of error, the second only silences the
//! notices.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::cli;

/// The line that ends our side of the conversation (Ctrl-D does too).
pub const EXIT: &str = "exit";

/// The most the keyboard thread holds at once. A longer line (a pasted
/// file without newlines) goes out in pieces of this size, so memory stays
/// bounded whatever arrives on stdin.
pub const KEYBOARD_CHUNK: u64 = 64 * 1024;

// ANCHOR: keyboard
/// Copies typed lines to the peer until `exit` or the end of the input.
///
/// Lines go out as bytes, exactly as typed (newline included), so nothing is
/// lost or re-encoded. The `exit` line itself is not sent.
pub fn send_typed(mut keyboard: impl BufRead, mut peer: impl Write) -> io::Result<()> {
    let mut line = Vec::new();
    // Only a whole line can be `exit`, not the tail of a long one.
    let mut at_line_start = true;
    loop {
        line.clear();
        // `take` bounds what one call may collect: a line longer than
        // KEYBOARD_CHUNK comes in several pieces.
        let n = keyboard
            .by_ref()
            .take(KEYBOARD_CHUNK)
            .read_until(b'\n', &mut line)
            .map_err(|e| cli::context(e, "cannot read the keyboard"))?;
        // 0 bytes: the input has ended (Ctrl-D, or the end of a piped file).
        if n == 0 || (at_line_start && line.trim_ascii() == EXIT.as_bytes()) {
            return Ok(());
        }
        // `write_all`, not `write`: a `write` may take only part of the line.
        peer.write_all(&line)
            .map_err(|e| cli::context(e, "cannot send"))?;
        at_line_start = line.ends_with(b"\n");
    }
}
// ANCHOR_END: keyboard

// ANCHOR: screen
/// Copies what the peer sends to `screen` until the peer closes its side,
/// and returns the number of bytes received.
///
/// This is `io::copy` with two differences. It flushes after every read:
/// Rust's stdout is line-buffered (whether or not it is a terminal), so a
/// message without a newline would wait in the buffer until the next
/// newline, maybe forever. And it shows control characters escaped
/// ([`Escape`]), as lesson 05 does: a peer must not clear our screen or
/// retitle our terminal.
pub fn show_received(mut peer: impl Read, mut screen: impl Write) -> io::Result<u64> {
    let mut buf = [0u8; 8192];
    let (mut escape, mut shown) = (Escape::default(), Vec::new());
    let mut total = 0;
    loop {
        let n = match peer.read(&mut buf) {
            // 0 means end of stream: the peer has closed its side, and every
            // later read would return 0 at once. The original printed an
            // empty message and read again, forever, spinning on one core.
            // Here 0 ends the loop.
            Ok(0) => return Ok(total),
            Ok(n) => n,
            // A signal interrupted the read before any data came: retry.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(cli::context(e, "cannot receive")),
        };
        shown.clear();
        escape.push(&buf[..n], &mut shown);
        screen
            .write_all(&shown)
            .and_then(|()| screen.flush())
            .map_err(cli::stdout_error)?;
        total += n as u64;
    }
}
// ANCHOR_END: screen

// ANCHOR: escape
/// Received bytes as they are shown: control characters other than tab and
/// newline are written as Rust escapes (`\u{1b}`, `\r`), like lesson 05's
/// `shown`, so `printf 'x \033[2J'` cannot clear the screen. The C1
/// controls (U+0080 to U+009F, two bytes in UTF-8) too: some terminals obey
/// them. Everything else passes unchanged, invalid UTF-8 included. A read
/// may end between the two bytes of a C1 control, so the first one waits
/// for the next read.
#[derive(Default)]
pub struct Escape {
    /// A 0xC2 byte, the first of a C1 control maybe, from the last read.
    pending: bool,
}

impl Escape {
    /// Appends `bytes`, escaped, to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        for &b in bytes {
            if std::mem::take(&mut self.pending) {
                if (0x80..0xa0).contains(&b) {
                    let c = char::from(b); // U+0080..U+009F
                    out.extend_from_slice(c.escape_default().to_string().as_bytes());
                    continue;
                }
                out.push(0xc2);
            }
            match b {
                0xc2 => self.pending = true,
                b'\t' | b'\n' => out.push(b),
                0..0x20 | 0x7f => {
                    let c = char::from(b);
                    out.extend_from_slice(c.escape_default().to_string().as_bytes());
                }
                _ => out.push(b),
            }
        }
    }
}
// ANCHOR_END: escape

/// What a copying thread reports to the main thread when it is done.
enum Done {
    Keyboard(io::Result<()>),
    Screen(io::Result<u64>),
}

// ANCHOR: talk
/// Runs a conversation with `peer` (a name for the notices) over `stream`:
/// `keyboard` goes to the peer, what the peer sends goes to `screen`.
/// Returns once both directions are closed, or at the first error.
pub fn talk<K, S>(stream: TcpStream, peer: &str, keyboard: K, screen: S) -> io::Result<()>
where
    K: BufRead + Send + 'static,
    S: Write + Send + 'static,
{
    // One handle to the connection for each thread, and `stream` stays
    // here to close our side. `try_clone` asks the system for another
    // descriptor of the same socket: bytes are not copied, and every handle
    // sees the same connection.
    let to_peer = stream.try_clone()?;
    let from_peer = stream.try_clone()?;

    // The threads tell the main thread they are done over a channel. That is
    // how one thread lets another know it is time to stop: a message, not a
    // shared flag that someone has to keep checking.
    let (done, finished) = mpsc::channel();
    let keyboard_done = done.clone();
    let keyboard = thread::Builder::new()
        .name("keyboard".into())
        .spawn(move || {
            let result = send_typed(keyboard, &to_peer);
            let _ = keyboard_done.send(Done::Keyboard(result));
        })?;
    let screen = thread::Builder::new()
        .name("screen".into())
        .spawn(move || {
            let result = show_received(&from_peer, screen);
            let _ = done.send(Done::Screen(result));
        })
        .inspect_err(|_| {
            let _ = stream.shutdown(Shutdown::Both);
        })?;

    // Each direction ends on its own; the conversation is over when both
    // have. Only this thread prints notices and closes, one report at a
    // time, so what it says always matches the order things happened in.
    let (mut we_are_done, mut they_are_done) = (false, false);
    for report in finished {
        let broken = match report {
            Done::Keyboard(Ok(())) => {
                we_are_done = true;
                // Half-close: "I have nothing more to say". The peer reads
                // end of stream; we keep receiving until it closes too.
                // `shutdown` acts on the connection, whichever handle it
                // is called on.
                match stream.shutdown(Shutdown::Write) {
                    Ok(()) if !they_are_done => {
                        crate::log_error!(
                            "you closed your side; what {peer} sends still shows until it closes"
                        );
                        None
                    }
                    Ok(()) => None,
                    Err(e) => Some(cli::context(e, "cannot send the end of the stream")),
                }
            }
            Done::Screen(Ok(_)) => {
                they_are_done = true;
                if we_are_done {
                    crate::log_error!("{peer} closed the connection");
                } else {
                    crate::log_error!(
                        "{peer} closed its side; what you type still goes to it until `{EXIT}` or Ctrl-D"
                    );
                }
                None
            }
            // The connection is broken (reset), or so is our terminal.
            Done::Keyboard(Err(e)) | Done::Screen(Err(e)) => Some(e),
        };
        if let Some(e) = broken {
            // Nothing more can be said. `shutdown(Both)` ends the
            // connection now, although the keyboard thread, maybe blocked
            // reading stdin, still holds its handle: closing a handle
            // (`drop`) would not, as a connection ends when its last
            // handle is closed. We do not wait for that thread: nothing can
            // interrupt its read, and it ends when the process does.
            let _ = stream.shutdown(Shutdown::Both);
            return Err(e);
        }
        if we_are_done && they_are_done {
            // Both threads have sent their last report, so they are ending:
            // wait for them, so that every handle is closed when we return.
            let _ = keyboard.join();
            let _ = screen.join();
            return Ok(());
        }
    }
    // Only reached if a thread vanished without reporting (a panic).
    Err(io::Error::other("a chat thread stopped unexpectedly"))
}
// ANCHOR_END: talk

// ANCHOR: serve_one
/// Waits for one peer, talks with it until both sides are done, and returns.
pub fn serve_one(listener: TcpListener) -> io::Result<()> {
    let (stream, peer) = listener
        .accept()
        .map_err(|e| cli::context(e, "cannot accept a connection"))?;
    // One conversation at a time: stop listening, so that a second peer is
    // refused at once instead of waiting, unanswered, in the system's queue.
    drop(listener);
    crate::log_error!("client {peer} connected; type to talk, `{EXIT}` or Ctrl-D to leave");
    let keyboard = BufReader::new(io::stdin());
    talk(stream, &format!("client {peer}"), keyboard, io::stdout())
}
// ANCHOR_END: serve_one

/// Connects to a chat server and talks until both sides are done.
pub fn connect_and_talk(addr: &str, connect_timeout: Duration) -> io::Result<()> {
    let stream = cli::connect(addr, connect_timeout)?;
    // `cli::connect` set read and write timeouts. A conversation may be
    // silent for an hour, and that is not an error: remove them.
    stream.set_read_timeout(None)?;
    stream.set_write_timeout(None)?;
    crate::log_error!("connected to {addr}; type to talk, `{EXIT}` or Ctrl-D to leave");
    talk(stream, addr, BufReader::new(io::stdin()), io::stdout())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    #[rstest]
    #[case::lines_pass_unchanged(b"hello\nh\xc3\xa9llo\n", b"hello\nh\xc3\xa9llo\n")]
    #[case::exit_stops_before_the_rest(b"a\nexit\nb\n", b"a\n")]
    #[case::exit_with_crlf(b"a\r\nexit\r\nb\n", b"a\r\n")]
    #[case::exit_inside_a_line_is_just_text(b"no exit here\n", b"no exit here\n")]
    #[case::last_line_without_newline(b"a\nno newline", b"a\nno newline")]
    #[case::not_utf8_passes_unchanged(b"\xff\xfe\n", b"\xff\xfe\n")]
    #[case::empty_input(b"", b"")]
    fn typed_lines_are_sent_until_exit(#[case] typed: &[u8], #[case] sent: &[u8]) {
        let mut out = Vec::new();
        send_typed(typed, &mut out).expect("writing to a Vec cannot fail");
        assert_eq!(out, sent);
    }

    #[test]
    fn a_line_longer_than_a_chunk_goes_out_whole_and_its_tail_is_not_exit() {
        // A line of KEYBOARD_CHUNK bytes, then `exit` glued to its end: the
        // keyboard thread reads it in two pieces, and the second piece is
        // the end of a line, not a line of its own.
        let mut typed = vec![b'x'; KEYBOARD_CHUNK as usize];
        typed.extend_from_slice(b"exit\nexit\nnot sent\n");
        let mut out = Vec::new();
        send_typed(&typed[..], &mut out).expect("writing to a Vec cannot fail");
        assert_eq!(out.len(), KEYBOARD_CHUNK as usize + 5);
        assert!(out.ends_with(b"xexit\n"));
    }

    #[rstest::rstest]
    #[case::clear_screen_and_title(
        b"x \x1b[2J\x1b]0;owned\x07\n",
        r"x \u{1b}[2J\u{1b}]0;owned\u{7}
"
    )]
    #[case::carriage_return_and_delete(b"a\rb\x7f\tc", r"a\rb\u{7f}	c")]
    #[case::c1_control_split_between_reads(b"\xc2|\x9b2J", r"\u{9b}2J")]
    #[case::utf8_and_invalid_bytes_unchanged(b"\xc3\xa9\xe2\x82\xac \xff", "é€ \u{fffd}")]
    fn control_characters_received_are_shown_escaped(#[case] sent: &[u8], #[case] shown: &str) {
        // `|` marks where a read ends.
        let chunks: Vec<&[u8]> = sent.split(|&b| b == b'|').collect();
        let mut screen = Vec::new();
        show_received(Chunks(chunks), &mut screen).expect("copy");
        assert_eq!(String::from_utf8_lossy(&screen), shown);
    }

    #[test]
    fn received_bytes_are_shown_unchanged_and_end_at_end_of_stream() {
        let mut screen = Vec::new();
        let n = show_received(&b"no newline \xff"[..], &mut screen).expect("copy");
        assert_eq!(screen, b"no newline \xff");
        assert_eq!(n, 12);
    }

    /// A reader that hands out its chunks one per `read`, like a socket does.
    struct Chunks<'a>(Vec<&'a [u8]>);

    impl Read for Chunks<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Ok(0);
            }
            let chunk = self.0.remove(0);
            buf[..chunk.len()].copy_from_slice(chunk);
            Ok(chunk.len())
        }
    }

    /// Records each flush, to check that nothing waits in a buffer.
    #[derive(Default)]
    struct FlushLog {
        pending: Vec<u8>,
        flushed: Vec<Vec<u8>>,
    }

    impl Write for &mut FlushLog {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.pending.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            let chunk = std::mem::take(&mut self.pending);
            self.flushed.push(chunk);
            Ok(())
        }
    }

    #[test]
    fn each_received_chunk_is_flushed_even_without_a_newline() {
        let mut log = FlushLog::default();
        show_received(Chunks(vec![b"Hello", b"World"]), &mut log).expect("copy");
        assert_eq!(log.flushed, vec![b"Hello".to_vec(), b"World".to_vec()]);
    }
}
