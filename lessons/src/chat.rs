//! Lesson 04: full-duplex chat between two people, one at each end of a
//! connection.
//!
//! In lessons 02 and 03 the client speaks, then the server answers: turn
//! taking. A conversation has no turns. Either side may type at any moment,
//! and what the other side sends must appear even while we are typing. So
//! each program runs two threads, one per direction:
//!
//! - the *keyboard* thread copies the lines typed on stdin to the socket;
//! - the *screen* thread copies whatever arrives on the socket to stdout.
//!
//! Both need the same connection. [`TcpStream::try_clone`] gives a second
//! handle to it, so each thread owns one handle, and neither has to wait for
//! the other.
//!
//! **Ending.** Each direction ends on its own. When we type `exit` (or press
//! Ctrl-D), the keyboard thread calls `shutdown(Shutdown::Write)`: the peer
//! reads end of stream, we can still receive its last words. When the peer
//! closes, our screen thread's `read` returns 0 and the conversation is over.
//! The two threads tell the main thread that they are done over a channel;
//! the main thread decides when the program ends.
//!
//! **Output.** stdout carries exactly the bytes the peer sent, unchanged,
//! with or without newlines (the original Python client sends none). What
//! the program says itself (connected, closed) goes to stderr, so
//! `04_chat_client > received.txt` saves only the conversation.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::cli;

/// The line that ends our side of the conversation (Ctrl-D does too).
pub const EXIT: &str = "exit";

// ANCHOR: keyboard
/// Copies typed lines to the peer until `exit` or the end of the input.
///
/// Lines go out as bytes, exactly as typed (newline included), so nothing is
/// lost or re-encoded. The `exit` line itself is not sent.
pub fn send_typed(mut keyboard: impl BufRead, mut peer: impl Write) -> io::Result<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        // 0 bytes: the input has ended (Ctrl-D, or the end of a piped file).
        if keyboard.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        if line.trim_ascii() == EXIT.as_bytes() {
            return Ok(());
        }
        // `write_all`, not `write`: a `write` may take only part of the line.
        peer.write_all(&line)?;
    }
}
// ANCHOR_END: keyboard

// ANCHOR: screen
/// Copies what the peer sends to `screen` until the peer closes, and returns
/// the number of bytes received.
///
/// This is `io::copy` with one difference: it flushes after every read.
/// stdout is line-buffered, so a message without a newline would wait in
/// the buffer until the next newline, maybe forever.
pub fn show_received(mut peer: impl Read, mut screen: impl Write) -> io::Result<u64> {
    let mut buf = [0u8; 8192];
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
            Err(e) => return Err(e),
        };
        screen.write_all(&buf[..n])?;
        screen.flush()?;
        total += n as u64;
    }
}
// ANCHOR_END: screen

/// What a copying thread reports to the main thread when it is done.
enum Done {
    Keyboard(io::Result<()>),
    Screen(io::Result<u64>),
}

// ANCHOR: talk
/// Runs a conversation over `stream`: `keyboard` goes to the peer, what the
/// peer sends goes to `screen`. Returns once the peer has closed its side.
pub fn talk<K, S>(stream: TcpStream, keyboard: K, screen: S) -> io::Result<()>
where
    K: BufRead + Send + 'static,
    S: Write + Send + 'static,
{
    // Two handles to one connection: one for each thread. `try_clone` asks
    // the system for a second descriptor of the same socket; bytes are not
    // copied and both handles see the same connection.
    let to_peer = stream.try_clone()?;
    let from_peer = stream;

    // The threads tell the main thread they are done over a channel. That is
    // how one thread lets another know it is time to stop: a message, not a
    // shared flag that someone has to keep checking.
    let (done, finished) = mpsc::channel();
    let keyboard_done = done.clone();
    thread::Builder::new()
        .name("keyboard".into())
        .spawn(move || {
            let result = send_typed(keyboard, &to_peer)
                // Half-close: "I have nothing more to say". The peer reads
                // end of stream; we keep receiving until it closes too.
                .and_then(|()| to_peer.shutdown(Shutdown::Write));
            let _ = keyboard_done.send(Done::Keyboard(result));
        })?;
    thread::Builder::new()
        .name("screen".into())
        .spawn(move || {
            let result = show_received(&from_peer, screen);
            let _ = done.send(Done::Screen(result));
        })?;

    // Neither thread is joined. When the peer closes, the keyboard thread
    // is most likely blocked reading stdin, and nothing in std can interrupt
    // that read. It does not need to be: when `main` returns, the process
    // exits, every thread in it stops, and the system closes the socket.
    // (A thread blocked on a *socket* read is different: another thread can
    // wake it with `shutdown(Shutdown::Read)` on a clone. That works on
    // Linux but not on Windows, so portable code does not rely on it.)
    for report in finished {
        match report {
            // We have said goodbye; wait for the peer's last bytes.
            Done::Keyboard(Ok(())) => continue,
            // Sending failed: the connection is broken, the peer cannot
            // hear us any more. Stop here.
            Done::Keyboard(Err(e)) => return Err(cli::context(e, "cannot send")),
            Done::Screen(result) => return result.map(|_| ()),
        }
    }
    // Only reached if both threads vanished without reporting (a panic).
    Err(io::Error::other("a chat thread stopped unexpectedly"))
}
// ANCHOR_END: talk

// ANCHOR: serve_one
/// Waits for one peer, talks with it until it leaves, and returns.
pub fn serve_one(listener: TcpListener) -> io::Result<()> {
    let (stream, peer) = listener
        .accept()
        .map_err(|e| cli::context(e, "cannot accept a connection"))?;
    // One conversation at a time: stop listening, so that a second peer is
    // refused at once instead of waiting, unanswered, in the system's queue.
    drop(listener);
    eprintln!("client {peer} connected; type to talk, `{EXIT}` or Ctrl-D to leave");
    talk(stream, BufReader::new(io::stdin()), io::stdout())?;
    eprintln!("client {peer} closed the connection");
    Ok(())
}
// ANCHOR_END: serve_one

/// Connects to a chat server and talks until the server closes.
pub fn connect_and_talk(addr: &str, connect_timeout: Duration) -> io::Result<()> {
    let stream = cli::connect(addr, connect_timeout)?;
    // `cli::connect` set read and write timeouts. A conversation may be
    // silent for an hour, and that is not an error: remove them.
    stream.set_read_timeout(None)?;
    stream.set_write_timeout(None)?;
    eprintln!("connected to {addr}; type to talk, `{EXIT}` or Ctrl-D to leave");
    talk(stream, BufReader::new(io::stdin()), io::stdout())?;
    eprintln!("{addr} closed the connection");
    Ok(())
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
    fn received_bytes_are_shown_unchanged_and_end_at_end_of_stream() {
        let mut screen = Vec::new();
        let n = show_received(&b"no newline \xff"[..], &mut screen).expect("copy");
        assert_eq!(screen, b"no newline \xff");
        assert_eq!(n, 12);
    }

    /// A reader that hands out its chunks one per `read`, like a socket does.
    struct Chunks(Vec<&'static [u8]>);

    impl Read for Chunks {
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
