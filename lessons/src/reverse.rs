//! Lesson 03: a server that answers each line with the line reversed, with a
//! thread for every client, and a client that asks again and again.
//!
//! Two defects of the original are fixed here. It treated each `recv()` as
//! one message, but TCP is a byte stream: the server now frames lines with
//! [`framing::read_line`]. And it reversed *bytes*, which scrambles any
//! character that takes more than one byte in UTF-8: the server now reverses
//! characters. `--raw` brings the original behaviour back so you can watch
//! it fail.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::cli;
use crate::deadline::{Deadline, Within};
use crate::framing::{self, LineError};

/// How the server treats what a client sends.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// The longest line accepted, in bytes.
    pub max_line: usize,
    /// Reproduce the original: reverse the bytes of whatever one `read` returned.
    pub raw: bool,
    /// Drop a client that takes longer than this to send a whole line, or
    /// to take its reply. `None` (the default of the example) waits forever.
    pub idle_timeout: Option<Duration>,
}

// ANCHOR: args
/// The server's flags. Lesson 10's servers take them too (with
/// `#[command(flatten)]`), so the three servers cannot drift apart.
#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    #[arg(long, default_value = "127.0.0.1:2002", help = cli::LISTEN_HELP)]
    pub addr: String,

    /// The longest line accepted, in bytes (1 to 16 MiB). A longer one gets an
    /// error and the connection is closed.
    #[arg(long, default_value_t = framing::DEFAULT_MAX_LINE, value_name = "BYTES",
          value_parser = cli::count(1..=framing::MAX_LINE_LIMIT as u64),
          allow_negative_numbers = true)]
    pub max_line: usize,

    /// Behave like the original: reverse the bytes of each `read` as if it
    /// were one whole message (wrong, on purpose, for the lesson).
    #[arg(long)]
    pub raw: bool,

    /// Drop a client that takes longer than this many seconds to send a
    /// whole line, or to read its reply (at most one day). Off by default:
    /// an idle client may stay forever.
    #[arg(long, value_name = "SECS", value_parser = cli::parse_secs,
          allow_negative_numbers = true)]
    pub idle_timeout: Option<Duration>,
}
// ANCHOR_END: args

impl ServerArgs {
    /// The settings the flags ask for.
    pub fn config(&self) -> Config {
        Config {
            max_line: self.max_line,
            raw: self.raw,
            idle_timeout: self.idle_timeout,
        }
    }
}

// ANCHOR: reverse
/// The line reversed by characters: "héllo" becomes "olléh".
pub fn reverse_chars(line: &str) -> String {
    line.chars().rev().collect()
}
// ANCHOR_END: reverse

// ANCHOR: idle_timeout
/// Gives the client on `stream` at most `timeout` (`None`: forever) for each
/// round of the conversation: to send a whole line, and then to take its
/// reply. [`serve_lines`] reads the setting back from the socket.
///
/// The socket's own timeouts would not be enough: they restart with every
/// call that makes progress, so a client that sends (or reads) one byte per
/// period would never trip them. `serve_lines` turns the setting into one
/// [`Deadline`] per round instead.
pub fn set_idle_timeout(stream: &TcpStream, timeout: Option<Duration>) -> io::Result<()> {
    stream.set_read_timeout(timeout)?;
    stream.set_write_timeout(timeout)
}
// ANCHOR_END: idle_timeout

// ANCHOR: serve_lines
/// Answers every line of one client until it disconnects.
pub fn serve_lines(stream: TcpStream, max_line: usize) -> io::Result<()> {
    // The idle timeout that `set_idle_timeout` left on the socket, if any.
    let idle = stream.read_timeout()?;
    let round = || idle.map_or_else(Deadline::none, |t| Deadline::after(t, "complete line"));
    // Reading and writing through one `&TcpStream`: no `try_clone`, so no
    // second descriptor per client.
    let mut client = BufReader::new(Within {
        stream: &stream,
        deadline: round(),
    });
    let stalled = |e: io::Error| {
        if cli::is_timeout(&e) {
            io::Error::new(e.kind(), "the client stopped reading its replies")
        } else {
            e
        }
    };
    loop {
        // Each round starts the clock again: a line, then its reply.
        client.get_mut().deadline = round();
        match framing::read_line(&mut client, max_line) {
            Ok(Some(line)) => {
                // One `write_all` for the reply and its newline. Not so that
                // they "leave in one piece": TCP keeps no message boundaries,
                // and the client may still read them in several parts. But
                // one system call is cheaper than two, and two small writes
                // would meet Nagle's algorithm: the second (the `\n`) waits
                // until the first is acknowledged, while the client, which
                // has no whole line yet, delays its acknowledgement (about
                // 40 ms on Linux). Every reply would wait for that timer.
                // `stream.set_nodelay(true)` (TCP_NODELAY) turns Nagle off;
                // one write per reply makes that unnecessary here.
                let reply = reverse_chars(&line) + "\n";
                client
                    .get_mut()
                    .write_all(reply.as_bytes())
                    .map_err(stalled)?;
            }
            Ok(None) => return Ok(()),
            // The bad line has been consumed, so the connection can go on.
            Err(LineError::NotUtf8) => client
                .get_mut()
                .write_all(b"error: line is not valid UTF-8\n")
                .map_err(stalled)?,
            // The round's deadline passed before a whole line came.
            Err(LineError::Io(e)) if cli::is_timeout(&e) => {
                let why = format!("idle for {}", cli::seconds(idle.unwrap_or_default()));
                framing::say_and_close(&stream, &format!("error: {why}; closing the connection"));
                return Err(io::Error::new(e.kind(), why));
            }
            Err(e @ LineError::TooLong { .. }) => {
                // We cannot find the start of the next line without reading
                // the rest of this one, which may never end: give up.
                framing::say_and_close(&stream, &format!("error: {e}; closing the connection"));
                return Ok(());
            }
            Err(LineError::Io(e)) => return Err(e),
        }
    }
}
// ANCHOR_END: serve_lines

// ANCHOR: serve_raw
/// The original's way, kept to show what goes wrong: every `read` is taken
/// as one whole message and its bytes are reversed.
pub fn serve_raw(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        buf[..n].reverse();
        stream.write_all(&buf[..n])?;
    }
}
// ANCHOR_END: serve_raw

// ANCHOR: accept_loop
/// Accepts clients forever and serves each on a thread of its own, so a
/// slow or idle client never holds up the others.
pub fn serve(listener: &TcpListener, config: Config) -> io::Result<()> {
    for (stream, peer) in cli::clients(listener) {
        crate::log_line!("client {peer} connected");
        if let Err(e) = set_idle_timeout(&stream, config.idle_timeout) {
            crate::log_line!("client {peer} disconnected: {}", cli::describe(&e));
            continue;
        }
        // The stream is handed to the thread through a channel, once the
        // thread exists. Moved into the closure, it would be dropped with
        // the closure if the thread could not start, and the client would
        // see its connection close without a word.
        let (hand_over, handed) = mpsc::sync_channel::<TcpStream>(1);
        // `thread::Builder` instead of `thread::spawn`: spawning can fail
        // (too many threads, no memory for a stack), and `spawn` would panic
        // and take the whole server down. Here only the new client is
        // turned away.
        let spawned = thread::Builder::new()
            .name(format!("client {peer}"))
            .spawn(move || {
                let Ok(stream) = handed.recv() else { return };
                let result = if config.raw {
                    serve_raw(stream)
                } else {
                    serve_lines(stream, config.max_line)
                };
                match result {
                    Ok(()) => crate::log_line!("client {peer} disconnected"),
                    Err(e) => crate::log_line!("client {peer} disconnected: {}", cli::describe(&e)),
                }
            });
        match spawned {
            // A channel of one, empty: this send never waits.
            Ok(_) => drop(hand_over.send(stream)),
            Err(e) => {
                crate::log_error!("client {peer} refused: cannot start a thread: {e}");
                // This holds the accept loop for at most a second: while no
                // thread can start, accepting more clients would not help.
                framing::say_and_close(&stream, "error: server busy, try again later");
            }
        }
    }
    Ok(())
}
// ANCHOR_END: accept_loop

// ANCHOR: client
/// Sends `message`, prints the reply, and asks whether to go on, until the
/// answer is not `y` or the input ends.
///
/// `timeout` bounds the connect, and then each round on its own: sending
/// the line and receiving the whole reply, however slowly it trickles in.
/// The time the user takes to answer does not count.
pub fn ask_repeatedly(
    addr: &str,
    message: &str,
    timeout: Duration,
    mut input: impl BufRead,
    mut out: impl Write,
) -> io::Result<()> {
    framing::one_line(message)?;
    let stream = cli::connect_before(addr, &Deadline::after(timeout, "connection"))?;
    let request = format!("{message}\n");
    let mut server = BufReader::new(Within {
        stream: &stream,
        deadline: Deadline::none(),
    });
    loop {
        server.get_mut().deadline = Deadline::after(timeout, "reply");
        server.get_mut().write_all(request.as_bytes())?;
        match framing::read_line(&mut server, framing::DEFAULT_MAX_LINE) {
            Ok(Some(reply)) => writeln!(out, "reply: {reply}")?,
            Ok(None) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                ));
            }
            // A reset, a timeout (already in words: "no reply within 2 s"):
            // the connection failed, the reply was not bad.
            Err(LineError::Io(e)) => return Err(e),
            Err(e) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad reply: {e}"),
                ));
            }
        }
        write!(out, "continue? (y/n) ")?;
        out.flush()?;
        let mut answer = String::new();
        // End of input (Ctrl-D, or the end of a piped file) means "no".
        if input.read_line(&mut answer)? == 0 {
            writeln!(out)?;
            return Ok(());
        }
        if answer.trim() != "y" {
            return Ok(());
        }
    }
}
// ANCHOR_END: client

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    #[rstest]
    #[case::ascii("Go Coding Ninjas.", ".sajniN gnidoC oG")]
    #[case::accents("héllo", "olléh")]
    #[case::emoji("hi 🦀!", "!🦀 ih")]
    #[case::empty_line("", "")]
    #[case::one_character("a", "a")]
    fn reverses_by_characters(#[case] line: &str, #[case] expected: &str) {
        assert_eq!(reverse_chars(line), expected);
    }

    #[test]
    fn crlf_is_removed_by_the_framing_before_reversing() {
        let mut input = &b"ab\r\n"[..];
        let line = framing::read_line(&mut input, 100).ok().flatten();
        assert_eq!(line.map(|l| reverse_chars(&l)), Some("ba".to_string()));
    }

    #[test]
    fn reversing_bytes_as_the_original_does_breaks_accents() {
        let mut bytes = "héllo".as_bytes().to_vec();
        bytes.reverse();
        assert!(
            String::from_utf8(bytes).is_err(),
            "byte reversal should produce invalid UTF-8"
        );
    }
}
