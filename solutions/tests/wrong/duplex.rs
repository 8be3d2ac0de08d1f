//! Wrong answers to exercise 04, `chat`.

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use solutions::checks::duplex::checks;

use crate::{Case, case};

const PEER: &str = "what_the_peer_sends_appears_while_the_user_types_nothing";
const USER: &str = "what_the_user_types_reaches_a_peer_that_says_nothing";
const END: &str = "the_end_of_the_input_is_passed_on_and_the_peer_still_heard";
const CLOSES: &str = "returns_when_the_peer_closes_even_while_the_user_types_nothing";
const BYTES: &str = "bytes_pass_through_unchanged_in_both_directions";

pub fn cases() -> Vec<Case> {
    const NOT_FLUSHED: &str = "was written to the output but not flushed";
    const LINES: &str = "appeared only once a \\n followed: your code reads lines from the peer";
    const RETURNED: &str = "chat returned when the input ended, before the peer closed";
    vec![
        case(
            "takes_turns",
            checks(takes_turns),
            &[
                (PEER, "appeared only after the user typed a line"),
                (
                    USER,
                    "your code waits for the peer to answer before it reads the keyboard",
                ),
                (
                    END,
                    "the peer saw the end of the stream only after it had said something",
                ),
                (CLOSES, "appeared only after the user typed a line"),
                (BYTES, "appeared only after the user typed a line"),
            ],
        ),
        case(
            "never_flushes_the_output",
            checks(never_flushes_the_output),
            &[(PEER, NOT_FLUSHED), (BYTES, NOT_FLUSHED)],
        ),
        case(
            "reads_the_peer_line_by_line",
            checks(reads_the_peer_line_by_line),
            &[(PEER, LINES), (BYTES, LINES)],
        ),
        case(
            "returns_when_the_input_ends",
            checks(returns_when_the_input_ends),
            &[
                (END, RETURNED),
                (CLOSES, "chat returned only when the input ended"),
            ],
        )
        .or_maybe(&[(BYTES, "chat returned Ok(()) too early")]),
        case(
            "shuts_down_both_directions_when_the_input_ends",
            checks(shuts_down_both_directions_when_the_input_ends),
            &[(END, RETURNED)],
        )
        .or_maybe(&[(BYTES, "chat returned Ok(()) too early")]),
        case(
            "drops_its_clone_instead_of_shutting_down",
            checks(drops_its_clone_instead_of_shutting_down),
            &[(END, "the peer had not seen the end of the stream")],
        ),
        case(
            "joins_the_keyboard_thread",
            checks(joins_the_keyboard_thread),
            &[(CLOSES, "chat returned only when the input ended")],
        ),
        case(
            "adds_a_newline_to_every_line_typed",
            checks(adds_a_newline_to_every_line_typed),
            &[
                (
                    END,
                    "your code changed it (a \\n was added after the last line)",
                ),
                (BYTES, "your code changed it"),
            ],
        ),
        case(
            "buffers_what_the_user_types",
            checks(buffers_what_the_user_types),
            &[(USER, "reached the peer only once the input ended")],
        ),
        case(
            "reads_the_peer_again_after_it_closed",
            checks(reads_the_peer_again_after_it_closed),
            &[
                (
                    CLOSES,
                    "and even after the input ended, chat was still running",
                ),
                (
                    END,
                    "after the peer closed the connection (and the input had ended)",
                ),
            ],
        ),
        case(
            "takes_the_peer_closing_for_an_error",
            checks(takes_the_peer_closing_for_an_error),
            &[
                (
                    CLOSES,
                    "when the peer closed the connection, chat returned Err(",
                ),
                (
                    END,
                    "when the peer closed the connection, chat returned Err(",
                ),
            ],
        ),
        case(
            "labels_what_the_peer_says",
            checks(labels_what_the_peer_says),
            &[
                (PEER, "your code changed it (text was put before it)"),
                (END, "your code changed it (text was put before it)"),
                (CLOSES, "your code changed it (text was put before it)"),
                (BYTES, "your code changed it (text was put before it)"),
            ],
        ),
    ]
}

/// The keyboard direction on a thread of its own, as in the reference; the
/// peer direction is left to the caller.
fn keyboard_to_peer<R: Read + Send + 'static>(mut input: R, peer: &TcpStream) -> io::Result<()> {
    let mut to_peer = peer.try_clone()?;
    thread::spawn(move || {
        let _ = io::copy(&mut input, &mut to_peer);
        let _ = to_peer.shutdown(Shutdown::Write);
    });
    Ok(())
}

/// The original client's turn-taking: keyboard, then peer, again.
fn takes_turns<R: Read + Send + 'static, W: Write>(
    input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    let mut input = BufReader::new(input);
    let mut from_peer = BufReader::new(peer.try_clone()?);
    loop {
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            peer.shutdown(Shutdown::Write)?;
        } else {
            (&peer).write_all(line.as_bytes())?;
        }
        let mut reply = String::new();
        if from_peer.read_line(&mut reply)? == 0 {
            return Ok(());
        }
        output.write_all(reply.as_bytes())?;
    }
}

/// Right, but never flushes: a half line stays in the terminal's buffer.
fn never_flushes_the_output<R: Read + Send + 'static, W: Write>(
    input: R,
    mut output: W,
    mut peer: TcpStream,
) -> io::Result<()> {
    keyboard_to_peer(input, &peer)?;
    let mut buf = [0u8; 4096];
    loop {
        let n = peer.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        output.write_all(&buf[..n])?;
    }
}

/// Reads the peer with lines(): a half line never shows.
fn reads_the_peer_line_by_line<R: Read + Send + 'static, W: Write>(
    input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    keyboard_to_peer(input, &peer)?;
    for line in BufReader::new(peer).lines() {
        writeln!(output, "{}", line?)?;
        output.flush()?;
    }
    Ok(())
}

/// Both directions in a scope, and the chat ends when the keyboard does:
/// the peer's last words are lost.
fn returns_when_the_input_ends<R: Read + Send + 'static, W: Write + Send>(
    mut input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    let mut from_peer = peer.try_clone()?;
    let mut to_peer = peer.try_clone()?;
    thread::scope(|s| {
        s.spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = from_peer.read(&mut buf) {
                if n == 0
                    || output
                        .write_all(&buf[..n])
                        .and_then(|()| output.flush())
                        .is_err()
                {
                    break;
                }
            }
        });
        let _ = io::copy(&mut input, &mut to_peer);
        // "We are done": close everything, which also ends the reader.
        let _ = peer.shutdown(Shutdown::Both);
    });
    Ok(())
}

/// The keyboard thread closes both directions at the end of the input.
fn shuts_down_both_directions_when_the_input_ends<R: Read + Send + 'static, W: Write>(
    mut input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    let mut to_peer = peer.try_clone()?;
    thread::spawn(move || {
        let _ = io::copy(&mut input, &mut to_peer);
        let _ = to_peer.shutdown(Shutdown::Both);
    });
    let mut from_peer = peer;
    let mut buf = [0u8; 4096];
    loop {
        let n = from_peer.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        output.write_all(&buf[..n])?;
        output.flush()?;
    }
}

/// Drops its clone at the end of the input, hoping the peer notices.
fn drops_its_clone_instead_of_shutting_down<R: Read + Send + 'static, W: Write>(
    mut input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    let mut to_peer = peer.try_clone()?;
    thread::spawn(move || {
        let _ = io::copy(&mut input, &mut to_peer);
        drop(to_peer);
    });
    let mut from_peer = peer;
    let mut buf = [0u8; 4096];
    loop {
        let n = from_peer.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        output.write_all(&buf[..n])?;
        output.flush()?;
    }
}

/// Joins the keyboard thread before returning, "to clean up".
fn joins_the_keyboard_thread<R: Read + Send + 'static, W: Write>(
    mut input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    let mut to_peer = peer.try_clone()?;
    let keyboard = thread::spawn(move || {
        let _ = io::copy(&mut input, &mut to_peer);
        let _ = to_peer.shutdown(Shutdown::Write);
    });
    let mut from_peer = peer;
    let mut buf = [0u8; 4096];
    loop {
        let n = from_peer.read(&mut buf)?;
        if n == 0 {
            let _ = keyboard.join();
            return Ok(());
        }
        output.write_all(&buf[..n])?;
        output.flush()?;
    }
}

/// Copies the keyboard line by line, with `writeln!`: a last line without a
/// line end gets one, and `\r\n` becomes `\n`.
fn adds_a_newline_to_every_line_typed<R: Read + Send + 'static, W: Write>(
    input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    let mut to_peer = peer.try_clone()?;
    thread::spawn(move || {
        for line in BufReader::new(input).lines() {
            let Ok(line) = line else { break };
            if writeln!(to_peer, "{line}").is_err() {
                break;
            }
        }
        let _ = to_peer.shutdown(Shutdown::Write);
    });
    let mut from_peer = peer;
    let mut buf = [0u8; 4096];
    loop {
        let n = from_peer.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        output.write_all(&buf[..n])?;
        output.flush()?;
    }
}

/// Sends the keyboard through a BufWriter, flushed only at the end.
fn buffers_what_the_user_types<R: Read + Send + 'static, W: Write>(
    mut input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    let to_peer = peer.try_clone()?;
    thread::spawn(move || {
        let mut to_peer = BufWriter::new(to_peer);
        let mut buf = [0u8; 1024];
        while let Ok(n) = input.read(&mut buf) {
            if n == 0 || to_peer.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to_peer.flush();
        let _ = to_peer.get_ref().shutdown(Shutdown::Write);
    });
    let mut from_peer = peer;
    let mut buf = [0u8; 4096];
    loop {
        let n = from_peer.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        output.write_all(&buf[..n])?;
        output.flush()?;
    }
}

/// Takes a read of 0 bytes for "nothing yet" and reads again. (It gives up
/// after 8 s, so that the test run does not spin a core for ever.)
fn reads_the_peer_again_after_it_closed<R: Read + Send + 'static, W: Write>(
    input: R,
    mut output: W,
    mut peer: TcpStream,
) -> io::Result<()> {
    keyboard_to_peer(input, &peer)?;
    let mut buf = [0u8; 4096];
    let mut closed_at = None;
    loop {
        let n = peer.read(&mut buf)?;
        if n == 0 {
            let since = *closed_at.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(8) {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(1));
            continue;
        }
        output.write_all(&buf[..n])?;
        output.flush()?;
    }
}

/// Returns an error when the peer closes.
fn takes_the_peer_closing_for_an_error<R: Read + Send + 'static, W: Write>(
    input: R,
    mut output: W,
    mut peer: TcpStream,
) -> io::Result<()> {
    keyboard_to_peer(input, &peer)?;
    let mut buf = [0u8; 4096];
    loop {
        let n = peer.read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer hung up",
            ));
        }
        output.write_all(&buf[..n])?;
        output.flush()?;
    }
}

/// Puts "peer: " before everything the peer says.
fn labels_what_the_peer_says<R: Read + Send + 'static, W: Write>(
    input: R,
    mut output: W,
    mut peer: TcpStream,
) -> io::Result<()> {
    keyboard_to_peer(input, &peer)?;
    let mut buf = [0u8; 4096];
    loop {
        let n = peer.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        output.write_all(b"peer: ")?;
        output.write_all(&buf[..n])?;
        output.flush()?;
    }
}
