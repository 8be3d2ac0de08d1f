//! Wrong answers to exercise 04, `chat`.

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use solutions::checks::duplex::checks;

use crate::{Case, case};

const PEER: &str = "what_the_peer_sends_appears_while_the_user_types_nothing";
const USER: &str = "what_the_user_types_reaches_a_peer_that_says_nothing";
const END: &str = "the_end_of_the_input_is_passed_on_and_the_peer_still_heard";
const KEEPS: &str = "keeps_sending_after_the_peers_end_of_stream_until_the_input_ends";
const ERROR: &str = "an_error_shuts_both_directions_down_and_is_returned";
const BYTES: &str = "bytes_pass_through_unchanged_in_both_directions";
const CUT: &str = "a_character_cut_between_two_reads_passes_unchanged";

pub fn cases() -> Vec<Case> {
    const NOT_FLUSHED: &str = "was written to the output but not flushed";
    const LINES: &str = "appeared only once a \\n followed: your code reads lines from the peer";
    const RETURNED: &str = "once the input had ended, before the peer's stream ended";
    const EARLY: &str = "when the peer's stream ended, while the input was still open";
    const DECODED: &str = "decoded as text piece by piece";
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
                (KEEPS, "appeared only after the user typed a line"),
                (ERROR, "appeared only after the user typed a line"),
                (BYTES, "appeared only after the user typed a line"),
                (CUT, "in 4 pieces"),
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
            &[(PEER, LINES), (BYTES, LINES), (CUT, "in 4 pieces")],
        ),
        case(
            "returns_when_the_input_ends",
            checks(returns_when_the_input_ends),
            &[(END, RETURNED), (ERROR, "2s later chat was still running")],
        ),
        case(
            "shuts_down_both_directions_when_the_input_ends",
            checks(shuts_down_both_directions_when_the_input_ends),
            &[(END, RETURNED)],
        ),
        case(
            "shuts_down_reading_when_the_input_ends",
            checks(shuts_down_reading_when_the_input_ends),
            &[(END, RETURNED)],
        ),
        case(
            "drops_its_clone_instead_of_shutting_down",
            checks(drops_its_clone_instead_of_shutting_down),
            &[(END, "the peer had not seen the end of the stream")],
        ),
        case(
            "returns_at_the_peers_end_of_stream",
            checks(returns_at_the_peers_end_of_stream),
            &[(KEEPS, EARLY)],
        ),
        case(
            "hangs_up_at_the_peers_end_of_stream",
            checks(hangs_up_at_the_peers_end_of_stream),
            &[(KEEPS, EARLY)],
        ),
        case(
            "returns_an_error_without_shutting_down",
            checks(returns_an_error_without_shutting_down),
            &[(ERROR, "the peer still had not seen the end of the stream")],
        ),
        case(
            "waits_for_the_keyboard_after_an_error",
            checks(waits_for_the_keyboard_after_an_error),
            &[(ERROR, "2s later chat was still running")],
        ),
        case(
            "swallows_the_error",
            checks(swallows_the_error),
            &[(ERROR, "and chat returned Ok(()): return the error")],
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
                (CUT, "in 4 pieces"),
            ],
        ),
        case(
            "buffers_what_the_user_types",
            checks(buffers_what_the_user_types),
            &[
                (USER, "reached the peer only once the input ended"),
                (KEEPS, "reached the peer only once the input ended"),
                (CUT, "in 4 pieces"),
            ],
        ),
        case(
            "reads_the_peer_again_after_it_closed",
            checks(reads_the_peer_again_after_it_closed),
            &[
                (END, "after both directions were done"),
                (KEEPS, "after both directions were done"),
            ],
        ),
        case(
            "takes_the_peer_closing_for_an_error",
            checks(takes_the_peer_closing_for_an_error),
            &[(KEEPS, EARLY), (END, "chat returned Err(the peer hung up)")],
        ),
        case(
            "labels_what_the_peer_says",
            checks(labels_what_the_peer_says),
            &[
                (PEER, "your code changed it (text was put before it)"),
                (END, "your code changed it (text was put before it)"),
                (KEEPS, "your code changed it (text was put before it)"),
                (ERROR, "your code changed it (text was put before it)"),
                (BYTES, "your code changed it (text was put before it)"),
                (CUT, "in 4 pieces"),
            ],
        ),
        case(
            "decodes_each_piece_from_the_peer",
            checks(decodes_each_piece_from_the_peer),
            &[(CUT, DECODED)],
        ),
        case(
            "decodes_each_piece_typed",
            checks(decodes_each_piece_typed),
            &[(CUT, DECODED)],
        ),
    ]
}

/// The keyboard direction on a thread of its own, as in the reference: it
/// reports on the returned channel once the input has ended and the peer
/// was told. The peer direction is left to the caller, which ends with
/// [`finish`].
fn keyboard_to_peer<R: Read + Send + 'static>(
    mut input: R,
    peer: &TcpStream,
) -> io::Result<Receiver<io::Result<()>>> {
    let to_peer = peer.try_clone()?;
    let (done, report) = mpsc::channel();
    thread::spawn(move || {
        let copied =
            io::copy(&mut input, &mut &to_peer).and_then(|_| to_peer.shutdown(Shutdown::Write));
        let _ = done.send(copied);
    });
    Ok(report)
}

/// How the reference ends once the peer direction has: on an error, both
/// directions shut down at once; else it waits for the keyboard direction.
fn finish(
    peer: &TcpStream,
    shown: io::Result<()>,
    keyboard: Receiver<io::Result<()>>,
) -> io::Result<()> {
    let result = shown.and_then(|()| keyboard.recv().unwrap_or(Ok(())));
    if result.is_err() {
        let _ = peer.shutdown(Shutdown::Both);
    }
    result
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
    let keyboard = keyboard_to_peer(input, &peer)?;
    let mut buf = [0u8; 4096];
    let shown = loop {
        match peer.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                if let Err(e) = output.write_all(&buf[..n]) {
                    break Err(e);
                }
            }
            Err(e) => break Err(e),
        }
    };
    finish(&peer, shown, keyboard)
}

/// Reads the peer with lines(): a half line never shows.
fn reads_the_peer_line_by_line<R: Read + Send + 'static, W: Write>(
    input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    let keyboard = keyboard_to_peer(input, &peer)?;
    let shown = (|| {
        for line in BufReader::new(&peer).lines() {
            writeln!(output, "{}", line?)?;
            output.flush()?;
        }
        Ok(())
    })();
    finish(&peer, shown, keyboard)
}

/// Copies the peer to the output, flushing each piece, as the reference.
fn copy_flushing(mut from: &TcpStream, to: &mut impl Write) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        to.write_all(&buf[..n])?;
        to.flush()?;
    }
}

/// Both directions in a scope, and the chat ends when the keyboard does:
/// the peer's last words are lost.
fn returns_when_the_input_ends<R: Read + Send + 'static, W: Write + Send>(
    mut input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    let from_peer = peer.try_clone()?;
    let mut to_peer = peer.try_clone()?;
    thread::scope(|s| {
        s.spawn(move || copy_flushing(&from_peer, &mut output));
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
    let to_peer = peer.try_clone()?;
    let (done, keyboard) = mpsc::channel();
    thread::spawn(move || {
        let copied =
            io::copy(&mut input, &mut &to_peer).and_then(|_| to_peer.shutdown(Shutdown::Both));
        let _ = done.send(copied);
    });
    let shown = copy_flushing(&peer, &mut output);
    finish(&peer, shown, keyboard)
}

/// Ends the input with `Shutdown::Read`, "nothing more to read".
fn shuts_down_reading_when_the_input_ends<R: Read + Send + 'static, W: Write>(
    mut input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    let to_peer = peer.try_clone()?;
    let (done, keyboard) = mpsc::channel();
    thread::spawn(move || {
        let copied =
            io::copy(&mut input, &mut &to_peer).and_then(|_| to_peer.shutdown(Shutdown::Read));
        let _ = done.send(copied);
    });
    let shown = copy_flushing(&peer, &mut output);
    finish(&peer, shown, keyboard)
}

/// Drops its clone at the end of the input, hoping the peer notices.
fn drops_its_clone_instead_of_shutting_down<R: Read + Send + 'static, W: Write>(
    mut input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    let mut to_peer = peer.try_clone()?;
    let (done, keyboard) = mpsc::channel();
    thread::spawn(move || {
        let copied = io::copy(&mut input, &mut to_peer).map(|_| ());
        drop(to_peer);
        let _ = done.send(copied);
    });
    let shown = copy_flushing(&peer, &mut output);
    finish(&peer, shown, keyboard)
}

/// The old rule: the chat is over when the peer's stream ends. The
/// keyboard thread, which still holds a clone, is left running, so the peer
/// is never told our end until the input ends, and what is typed after that
/// is lost when the program exits.
fn returns_at_the_peers_end_of_stream<R: Read + Send + 'static, W: Write>(
    input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    let _keyboard = keyboard_to_peer(input, &peer)?;
    let shown = copy_flushing(&peer, &mut output);
    if shown.is_err() {
        let _ = peer.shutdown(Shutdown::Both);
    }
    shown
}

/// Hangs up at the peer's end of stream: "they left, so do we".
fn hangs_up_at_the_peers_end_of_stream<R: Read + Send + 'static, W: Write>(
    input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    let _keyboard = keyboard_to_peer(input, &peer)?;
    let shown = copy_flushing(&peer, &mut output);
    let _ = peer.shutdown(Shutdown::Both);
    shown
}

/// On an error, returns it at once, but the keyboard thread's clone keeps
/// the connection open: the peer is never told.
fn returns_an_error_without_shutting_down<R: Read + Send + 'static, W: Write>(
    input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    let keyboard = keyboard_to_peer(input, &peer)?;
    copy_flushing(&peer, &mut output)?;
    keyboard.recv().unwrap_or(Ok(()))
}

/// Both directions in a scope: tidy, but on an error the scope waits for
/// the keyboard thread, which waits for a key.
fn waits_for_the_keyboard_after_an_error<R: Read + Send + 'static, W: Write + Send>(
    mut input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    thread::scope(|s| {
        let keyboard = s.spawn(|| {
            io::copy(&mut input, &mut &peer).and_then(|_| peer.shutdown(Shutdown::Write))
        });
        let shown = copy_flushing(&peer, &mut output);
        let typed = keyboard.join().unwrap_or(Ok(()));
        let result = shown.and(typed);
        if result.is_err() {
            let _ = peer.shutdown(Shutdown::Both);
        }
        result
    })
}

/// Takes a failing output for the end of the chat: shuts down, but
/// returns Ok(()).
fn swallows_the_error<R: Read + Send + 'static, W: Write>(
    input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    let keyboard = keyboard_to_peer(input, &peer)?;
    if copy_flushing(&peer, &mut output).is_err() {
        let _ = peer.shutdown(Shutdown::Both);
        return Ok(());
    }
    keyboard.recv().unwrap_or(Ok(()))
}

/// Copies the keyboard line by line, with `writeln!`: a last line without a
/// line end gets one, and `\r\n` becomes `\n`.
fn adds_a_newline_to_every_line_typed<R: Read + Send + 'static, W: Write>(
    input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    let mut to_peer = peer.try_clone()?;
    let (done, keyboard) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(input).lines() {
            let Ok(line) = line else { break };
            if writeln!(to_peer, "{line}").is_err() {
                break;
            }
        }
        let _ = done.send(to_peer.shutdown(Shutdown::Write));
    });
    let shown = copy_flushing(&peer, &mut output);
    finish(&peer, shown, keyboard)
}

/// Sends the keyboard through a BufWriter, flushed only at the end.
fn buffers_what_the_user_types<R: Read + Send + 'static, W: Write>(
    mut input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    let to_peer = peer.try_clone()?;
    let (done, keyboard) = mpsc::channel();
    thread::spawn(move || {
        let mut to_peer = BufWriter::new(to_peer);
        let mut buf = [0u8; 1024];
        while let Ok(n) = input.read(&mut buf) {
            if n == 0 || to_peer.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to_peer.flush();
        let _ = done.send(to_peer.get_ref().shutdown(Shutdown::Write));
    });
    let shown = copy_flushing(&peer, &mut output);
    finish(&peer, shown, keyboard)
}

/// Takes a read of 0 bytes for "nothing yet" and reads again. (It gives up
/// after 8 s, so that the test run does not spin a core for ever.)
fn reads_the_peer_again_after_it_closed<R: Read + Send + 'static, W: Write>(
    input: R,
    mut output: W,
    mut peer: TcpStream,
) -> io::Result<()> {
    let keyboard = keyboard_to_peer(input, &peer)?;
    let mut buf = [0u8; 4096];
    let mut closed_at = None;
    let shown = loop {
        let n = match peer.read(&mut buf) {
            Ok(n) => n,
            Err(e) => break Err(e),
        };
        if n == 0 {
            let since = *closed_at.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(8) {
                break Ok(());
            }
            thread::sleep(Duration::from_millis(1));
            continue;
        }
        if let Err(e) = output.write_all(&buf[..n]).and_then(|()| output.flush()) {
            break Err(e);
        }
    };
    finish(&peer, shown, keyboard)
}

/// Returns an error when the peer's stream ends.
fn takes_the_peer_closing_for_an_error<R: Read + Send + 'static, W: Write>(
    input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    let keyboard = keyboard_to_peer(input, &peer)?;
    let shown = copy_flushing(&peer, &mut output).and_then(|()| {
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the peer hung up",
        ))
    });
    finish(&peer, shown, keyboard)
}

/// Puts "peer: " before everything the peer says.
fn labels_what_the_peer_says<R: Read + Send + 'static, W: Write>(
    input: R,
    mut output: W,
    mut peer: TcpStream,
) -> io::Result<()> {
    let keyboard = keyboard_to_peer(input, &peer)?;
    let mut buf = [0u8; 4096];
    let shown = (|| loop {
        let n = peer.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        output.write_all(b"peer: ")?;
        output.write_all(&buf[..n])?;
        output.flush()?;
    })();
    finish(&peer, shown, keyboard)
}

/// Decodes each piece from the peer with `from_utf8_lossy` "to print text".
fn decodes_each_piece_from_the_peer<R: Read + Send + 'static, W: Write>(
    input: R,
    mut output: W,
    mut peer: TcpStream,
) -> io::Result<()> {
    let keyboard = keyboard_to_peer(input, &peer)?;
    let mut buf = [0u8; 4096];
    let shown = (|| loop {
        let n = peer.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        write!(output, "{}", String::from_utf8_lossy(&buf[..n]))?;
        output.flush()?;
    })();
    finish(&peer, shown, keyboard)
}

/// Sends what is typed as text, each read decoded with `from_utf8_lossy`.
fn decodes_each_piece_typed<R: Read + Send + 'static, W: Write>(
    mut input: R,
    mut output: W,
    peer: TcpStream,
) -> io::Result<()> {
    let to_peer = peer.try_clone()?;
    let (done, keyboard) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = [0u8; 1024];
        let copied = (|| loop {
            let n = input.read(&mut buf)?;
            if n == 0 {
                return to_peer.shutdown(Shutdown::Write);
            }
            (&to_peer).write_all(String::from_utf8_lossy(&buf[..n]).as_bytes())?;
        })();
        let _ = done.send(copied);
    });
    let shown = copy_flushing(&peer, &mut output);
    finish(&peer, shown, keyboard)
}
