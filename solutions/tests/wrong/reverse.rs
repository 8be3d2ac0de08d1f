//! Wrong answers to exercise 03, `reverse_lines`.

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::TcpStream;

use lessons::framing::{self, LineError};
use solutions::checks::reverse::checks;
use solutions::reverse::MAX_LINE;

use crate::{Case, case};

/// The first words of a check that passes directly and fails over the wire.
const ONLY_DIRECT: &str =
    "works when each message arrives in one piece; fails when it arrives one byte at a time";
const BYTE_AT_A_TIME: &str = "works_when_every_byte_arrives_on_its_own";
const FIRST: &str = "answers_a_line_with_its_characters_reversed";
const CHARS: &str = "reverses_characters_not_bytes";
const SEVERAL: &str = "several_lines_in_one_write_get_one_reply_each";
const PIECES: &str = "a_line_sent_in_two_pieces_gets_one_reply";
const CUT: &str = "a_character_cut_between_two_writes_is_put_back_together";
const CRLF: &str = "a_line_ending_in_crlf_is_reversed_without_the_cr";
const SPACES: &str = "spaces_at_the_start_and_end_of_a_line_are_reversed_too";
const NOT_UTF8: &str = "a_line_that_is_not_utf8_gets_an_error_and_the_next_line_is_served";
const AT_LIMIT: &str = "a_line_of_exactly_the_limit_is_answered";
const TOO_LONG: &str = "a_line_that_is_too_long_gets_an_error_and_the_connection_closes";
const NO_NEWLINE: &str = "a_line_over_the_limit_gets_an_error_even_before_its_newline";
const BYTES: &str = "the_limit_counts_bytes_not_characters";
const CLOSES: &str = "returns_when_the_client_closes";
const THROWN_AWAY: &str = "the bytes your server had read past the end of a line were thrown away";

/// These checks, with the same words.
fn all(checks: &[&'static str], words: &'static str) -> &'static [(&'static str, &'static str)] {
    Vec::leak(checks.iter().map(|c| (*c, words)).collect())
}

/// Every check that sends an ordinary line.
const ORDINARY: &[&str] = &[
    FIRST, CHARS, SEVERAL, PIECES, CUT, CRLF, SPACES, NOT_UTF8, AT_LIMIT, CLOSES,
];

pub fn cases() -> Vec<Case> {
    const NO_LIMIT: &str = "your server answered a line of MAX_LINE + 1";
    const WAITS: &str = "your server is still waiting for the end of the line";
    vec![
        case(
            "reverses_the_bytes_of_each_read",
            checks(reverses_the_bytes_of_each_read),
            &[
                (FIRST, "the \\n was reversed with the line"),
                (CHARS, "your server reversed the bytes of the line"),
                (SEVERAL, "were answered as one piece"),
                (PIECES, "answered the first piece on its own"),
                (CUT, "your server answered the first piece"),
                (CRLF, "the \\n was reversed with the line"),
                (SPACES, "the \\n was reversed with the line"),
                (
                    NOT_UTF8,
                    "the reply to a line that is not UTF-8 should start with \"error:\"",
                ),
                (
                    AT_LIMIT,
                    "that had no \\n yet: a line is answered only once",
                ),
                (TOO_LONG, "the reply to a line of MAX_LINE + 1"),
                (NO_NEWLINE, "should start with \"error:\""),
                (BYTES, "should start with \"error:\""),
                (CLOSES, "the \\n was reversed with the line"),
            ],
        ),
        case(
            "spins_at_the_end_of_the_stream",
            checks(spins_at_the_end_of_the_stream),
            &[
                (CLOSES, "spins for ever"),
                (NOT_UTF8, "it replaced the bytes that are not UTF-8"),
                (TOO_LONG, NO_LIMIT),
                (NO_NEWLINE, WAITS),
                (BYTES, "counts bytes, not characters"),
                (
                    SPACES,
                    "the spaces at the start and end of the line were removed",
                ),
            ],
        ),
        case(
            "reverses_the_line_end_too",
            checks(reverses_the_line_end_too),
            all(ORDINARY, "the \\n was reversed with the line"),
        ),
        case(
            "answers_without_a_newline",
            checks(answers_without_a_newline),
            all(ORDINARY, "has no \\n at its end"),
        ),
        case(
            "trims_the_line",
            checks(trims_the_line),
            &[(
                SPACES,
                "the spaces at the start and end of the line were removed",
            )],
        ),
        case(
            "answers_bad_bytes_with_replacement_characters",
            checks(answers_bad_bytes_with_replacement_characters),
            &[(NOT_UTF8, "it replaced the bytes that are not UTF-8")],
        ),
        case(
            "returns_the_error_of_lines",
            checks(returns_the_error_of_lines),
            &[
                (
                    NOT_UTF8,
                    "reverse_lines returned Err(stream did not contain valid UTF-8)",
                ),
                (TOO_LONG, NO_LIMIT),
                (NO_NEWLINE, WAITS),
                (BYTES, "counts bytes, not characters"),
            ],
        ),
        case(
            "has_no_limit",
            checks(has_no_limit),
            &[
                (TOO_LONG, NO_LIMIT),
                (NO_NEWLINE, WAITS),
                (BYTES, "counts bytes, not characters"),
            ],
        ),
        case(
            "finds_a_line_of_the_limit_too_long",
            checks(finds_a_line_of_the_limit_too_long),
            &[(
                AT_LIMIT,
                "to 1024 bytes that had no \\n yet: MAX_LINE bytes are allowed",
            )],
        ),
        case(
            "checks_the_length_once_the_whole_line_is_in",
            checks(checks_the_length_once_the_whole_line_is_in),
            &[(NO_NEWLINE, WAITS)],
        ),
        case(
            "counts_characters_against_the_limit",
            checks(counts_characters_against_the_limit),
            &[(BYTES, "counts bytes, not characters"), (NO_NEWLINE, WAITS)],
        ),
        case(
            "says_the_line_is_too_long_and_goes_on",
            checks(says_the_line_is_too_long_and_goes_on),
            &[
                (TOO_LONG, "the connection should close, but"),
                (NO_NEWLINE, "the connection was still open"),
            ],
        ),
        case(
            "closes_a_long_line_without_a_word",
            checks(closes_a_long_line_without_a_word),
            &[
                (TOO_LONG, "the connection closed without a reply"),
                (NO_NEWLINE, "the connection closed without a reply"),
                (BYTES, "the connection closed without a reply"),
            ],
        ),
        case(
            "answers_once_the_client_has_closed",
            checks(answers_once_the_client_has_closed),
            &[
                (
                    FIRST,
                    "the replies came only once the client closed its side",
                ),
                (
                    CHARS,
                    "the replies came only once the client closed its side",
                ),
                (
                    SEVERAL,
                    "the replies came only once the client closed its side",
                ),
                (
                    PIECES,
                    "the replies came only once the client closed its side",
                ),
                (CUT, "the replies came only once the client closed its side"),
                (
                    CRLF,
                    "the replies came only once the client closed its side",
                ),
                (
                    SPACES,
                    "the replies came only once the client closed its side",
                ),
                (NOT_UTF8, "no reply to a line that is not UTF-8"),
                (
                    AT_LIMIT,
                    "the replies came only once the client closed its side",
                ),
                (TOO_LONG, "no reply to a line of MAX_LINE + 1"),
                (NO_NEWLINE, WAITS),
                (BYTES, "should get a reply starting with \"error:\""),
                (
                    CLOSES,
                    "the replies came only once the client closed its side",
                ),
            ],
        ),
        case(
            "writes_into_a_bufwriter_it_never_flushes",
            checks(writes_into_a_bufwriter_it_never_flushes),
            &[
                (FIRST, "they wait in a buffer"),
                (CHARS, "they wait in a buffer"),
                (SEVERAL, "they wait in a buffer"),
                (PIECES, "they wait in a buffer"),
                (CUT, "they wait in a buffer"),
                (CRLF, "they wait in a buffer"),
                (SPACES, "they wait in a buffer"),
                (NOT_UTF8, "no reply to a line that is not UTF-8"),
                (AT_LIMIT, "they wait in a buffer"),
                (CLOSES, "they wait in a buffer"),
            ],
        ),
        case(
            "makes_a_new_bufreader_for_each_line",
            checks(makes_a_new_bufreader_for_each_line),
            &[
                (SEVERAL, THROWN_AWAY),
                (NOT_UTF8, "fails on bytes that are not UTF-8"),
                (TOO_LONG, "as an ordinary line"),
                (NO_NEWLINE, "still waiting for the end of the line"),
                (BYTES, "counts bytes, not characters"),
            ],
        ),
        case(
            "takes_one_line_from_a_fresh_lines_iterator",
            checks(takes_one_line_from_a_fresh_lines_iterator),
            &[
                (SEVERAL, THROWN_AWAY),
                (NOT_UTF8, "fails on bytes that are not UTF-8"),
                (TOO_LONG, "as an ordinary line"),
                (NO_NEWLINE, "still waiting for the end of the line"),
                (BYTES, "counts bytes, not characters"),
            ],
        ),
        case(
            "keeps_the_cr",
            checks(keeps_the_cr),
            &[(
                CRLF,
                "the \\r of the \\r\\n line end was reversed with the line",
            )],
        ),
        case(
            "decodes_each_read_on_its_own",
            checks(decodes_each_read_on_its_own),
            &[
                (CUT, "a character was decoded in two halves"),
                (NOT_UTF8, "it replaced the bytes that are not UTF-8"),
                (TOO_LONG, NO_LIMIT),
                (NO_NEWLINE, WAITS),
                (BYTES, "counts bytes, not characters"),
                (BYTE_AT_A_TIME, ONLY_DIRECT),
            ],
        ),
        case(
            "answers_each_read_as_one_line",
            checks(answers_each_read_as_one_line),
            &[
                (SEVERAL, "were answered as one piece"),
                (PIECES, "answered the first piece on its own"),
                (CUT, "your server answered the first piece"),
                (
                    AT_LIMIT,
                    "that had no \\n yet: a line is answered only once",
                ),
                (BYTE_AT_A_TIME, ONLY_DIRECT),
            ],
        )
        .or_maybe(&[(TOO_LONG, "")]),
        case(
            "returns_an_error_at_the_end_of_the_stream",
            checks(returns_an_error_at_the_end_of_the_stream),
            &[(CLOSES, "reverse_lines returned Err(")],
        ),
    ]
}

fn reversed(line: &str) -> String {
    line.chars().rev().collect()
}

/// The original's way: every read is a message, its bytes reversed.
fn reverses_the_bytes_of_each_read(mut client: TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 1024];
    loop {
        let n = client.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        buf[..n].reverse();
        client.write_all(&buf[..n])?;
    }
}

/// Lines and characters right, but no limit, and the end of the stream
/// (`Ok(0)`) taken for an empty line: it spins for ever (or until a write
/// fails).
fn spins_at_the_end_of_the_stream(client: TcpStream) -> io::Result<()> {
    let mut lines = BufReader::new(client.try_clone()?);
    loop {
        let mut line = Vec::new();
        let _ = lines.read_until(b'\n', &mut line);
        let line = String::from_utf8_lossy(&line);
        let reversed = reversed(line.trim_end());
        (&client).write_all(format!("{reversed}\n").as_bytes())?;
    }
}

/// A new BufReader for each line: what it read past the line's end is
/// dropped with it.
fn makes_a_new_bufreader_for_each_line(client: TcpStream) -> io::Result<()> {
    loop {
        let mut line = String::new();
        if BufReader::new(&client).read_line(&mut line)? == 0 {
            return Ok(());
        }
        let reversed = reversed(line.trim_end_matches(['\r', '\n']));
        (&client).write_all(format!("{reversed}\n").as_bytes())?;
    }
}

/// `BufReader::new(&client).lines().next()` in a loop: the same loss, in
/// iterator form.
fn takes_one_line_from_a_fresh_lines_iterator(client: TcpStream) -> io::Result<()> {
    while let Some(line) = BufReader::new(&client).lines().next() {
        let line = line?;
        (&client).write_all(format!("{}\n", reversed(line.trim_end_matches('\r'))).as_bytes())?;
    }
    Ok(())
}

/// The framing is right, except that each line is answered by `answer`.
fn serve(client: TcpStream, answer: impl Fn(&str) -> String) -> io::Result<()> {
    let mut lines = BufReader::new(client.try_clone()?);
    let mut replies = &client;
    loop {
        match framing::read_line(&mut lines, MAX_LINE) {
            Ok(Some(line)) => replies.write_all(answer(&line).as_bytes())?,
            Ok(None) => return Ok(()),
            Err(LineError::NotUtf8) => replies.write_all(b"error: not UTF-8\n")?,
            Err(LineError::TooLong { .. }) => {
                framing::say_and_close(&client, "error: line too long");
                return Ok(());
            }
            Err(LineError::Io(e)) => return Err(e),
        }
    }
}

/// Reverses the line with its `\n` (read_line keeps it).
fn reverses_the_line_end_too(client: TcpStream) -> io::Result<()> {
    serve(client, |line| reversed(&format!("{line}\n")))
}

/// Forgets the `\n` after the reply.
fn answers_without_a_newline(client: TcpStream) -> io::Result<()> {
    serve(client, reversed)
}

/// Trims the line "to clean it up".
fn trims_the_line(client: TcpStream) -> io::Result<()> {
    serve(client, |line| format!("{}\n", reversed(line.trim())))
}

/// Reads bytes up to `\n` (with the limit), and decodes them lossily.
fn answers_bad_bytes_with_replacement_characters(client: TcpStream) -> io::Result<()> {
    let mut lines = BufReader::new(client.try_clone()?);
    loop {
        let mut line = Vec::new();
        let n = (&mut lines)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        if line.pop() != Some(b'\n') {
            framing::say_and_close(&client, "error: line too long");
            return Ok(());
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let text = String::from_utf8_lossy(&line);
        (&client).write_all(format!("{}\n", reversed(&text)).as_bytes())?;
    }
}

/// `for line in reader.lines()` with `?`: a line that is not UTF-8 ends the
/// connection with an error (and there is no limit).
fn returns_the_error_of_lines(client: TcpStream) -> io::Result<()> {
    for line in BufReader::new(client.try_clone()?).lines() {
        let line = line?;
        (&client).write_all(format!("{}\n", reversed(&line)).as_bytes())?;
    }
    Ok(())
}

/// Everything right, but no limit.
fn has_no_limit(client: TcpStream) -> io::Result<()> {
    let mut lines = BufReader::new(client.try_clone()?);
    loop {
        match framing::read_line(&mut lines, usize::MAX - 1) {
            Ok(Some(line)) => (&client).write_all(format!("{}\n", reversed(&line)).as_bytes())?,
            Ok(None) => return Ok(()),
            Err(LineError::NotUtf8) => (&client).write_all(b"error: not UTF-8\n")?,
            Err(LineError::TooLong { .. }) => return Ok(()),
            Err(LineError::Io(e)) => return Err(e),
        }
    }
}

/// Reads at most MAX_LINE bytes: a line of exactly MAX_LINE bytes has no
/// room left for its `\n`, and is taken for too long.
fn finds_a_line_of_the_limit_too_long(client: TcpStream) -> io::Result<()> {
    let mut lines = BufReader::new(client.try_clone()?);
    loop {
        match framing::read_line(&mut lines, MAX_LINE - 1) {
            Ok(Some(line)) => (&client).write_all(format!("{}\n", reversed(&line)).as_bytes())?,
            Ok(None) => return Ok(()),
            Err(LineError::NotUtf8) => (&client).write_all(b"error: not UTF-8\n")?,
            Err(LineError::TooLong { .. }) => {
                framing::say_and_close(&client, "error: line too long");
                return Ok(());
            }
            Err(LineError::Io(e)) => return Err(e),
        }
    }
}

/// Reads the whole line, however long, and only then checks its length.
fn checks_the_length_once_the_whole_line_is_in(client: TcpStream) -> io::Result<()> {
    let mut lines = BufReader::new(client.try_clone()?);
    loop {
        let mut line = Vec::new();
        if lines.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.len() > MAX_LINE {
            framing::say_and_close(&client, "error: line too long");
            return Ok(());
        }
        match String::from_utf8(line) {
            Ok(text) => (&client).write_all(format!("{}\n", reversed(&text)).as_bytes())?,
            Err(_) => (&client).write_all(b"error: not UTF-8\n")?,
        }
    }
}

/// Reads the whole line, and counts its characters against the limit.
fn counts_characters_against_the_limit(client: TcpStream) -> io::Result<()> {
    let mut lines = BufReader::new(client.try_clone()?);
    loop {
        let mut line = Vec::new();
        if lines.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        match String::from_utf8(line) {
            Ok(text) if text.chars().count() > MAX_LINE => {
                framing::say_and_close(&client, "error: line too long");
                return Ok(());
            }
            Ok(text) => (&client).write_all(format!("{}\n", reversed(&text)).as_bytes())?,
            Err(_) => (&client).write_all(b"error: not UTF-8\n")?,
        }
    }
}

/// Says "error: line too long" and carries on with the rest of the line.
fn says_the_line_is_too_long_and_goes_on(client: TcpStream) -> io::Result<()> {
    let mut lines = BufReader::new(client.try_clone()?);
    loop {
        match framing::read_line(&mut lines, MAX_LINE) {
            Ok(Some(line)) => (&client).write_all(format!("{}\n", reversed(&line)).as_bytes())?,
            Ok(None) => return Ok(()),
            Err(LineError::NotUtf8) => (&client).write_all(b"error: not UTF-8\n")?,
            Err(LineError::TooLong { .. }) => (&client).write_all(b"error: line too long\n")?,
            Err(LineError::Io(e)) => return Err(e),
        }
    }
}

/// Closes on a line that is too long, without saying why.
fn closes_a_long_line_without_a_word(client: TcpStream) -> io::Result<()> {
    let mut lines = BufReader::new(client.try_clone()?);
    loop {
        match framing::read_line(&mut lines, MAX_LINE) {
            Ok(Some(line)) => (&client).write_all(format!("{}\n", reversed(&line)).as_bytes())?,
            Ok(None) => return Ok(()),
            Err(LineError::NotUtf8) => (&client).write_all(b"error: not UTF-8\n")?,
            Err(LineError::TooLong { .. }) => return Ok(()),
            Err(LineError::Io(e)) => return Err(e),
        }
    }
}

/// Reads everything the client sends, then answers every line.
fn answers_once_the_client_has_closed(mut client: TcpStream) -> io::Result<()> {
    let mut all = Vec::new();
    client.read_to_end(&mut all)?;
    for line in all.split(|&b| b == b'\n') {
        if let Ok(text) = std::str::from_utf8(line) {
            client.write_all(format!("{}\n", reversed(text.trim_end_matches('\r'))).as_bytes())?;
        }
    }
    Ok(())
}

/// Writes the replies into a BufWriter, which sends only when it is full.
fn writes_into_a_bufwriter_it_never_flushes(client: TcpStream) -> io::Result<()> {
    let mut lines = BufReader::new(client.try_clone()?);
    let mut replies = BufWriter::new(&client);
    loop {
        match framing::read_line(&mut lines, MAX_LINE) {
            Ok(Some(line)) => replies.write_all(format!("{}\n", reversed(&line)).as_bytes())?,
            Ok(None) => return Ok(()),
            Err(LineError::NotUtf8) => replies.write_all(b"error: not UTF-8\n")?,
            Err(LineError::TooLong { .. }) => {
                replies.flush()?;
                framing::say_and_close(&client, "error: line too long");
                return Ok(());
            }
            Err(LineError::Io(e)) => return Err(e),
        }
    }
}

/// Removes the `\n`, but not the `\r` of a `\r\n`.
fn keeps_the_cr(client: TcpStream) -> io::Result<()> {
    let mut lines = BufReader::new(client.try_clone()?);
    loop {
        let mut line = Vec::new();
        let n = (&mut lines)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        if line.pop() != Some(b'\n') {
            framing::say_and_close(&client, "error: line too long");
            return Ok(());
        }
        match String::from_utf8(line) {
            Ok(text) => (&client).write_all(format!("{}\n", reversed(&text)).as_bytes())?,
            Err(_) => (&client).write_all(b"error: not UTF-8\n")?,
        }
    }
}

/// Collects lines in a String, decoding each read as it comes.
fn decodes_each_read_on_its_own(mut client: TcpStream) -> io::Result<()> {
    let mut pending = String::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = client.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        pending.push_str(&String::from_utf8_lossy(&buf[..n]));
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            client.write_all(format!("{}\n", reversed(line)).as_bytes())?;
        }
    }
}

/// Takes each read for one line: reverses its characters, as a whole.
fn answers_each_read_as_one_line(mut client: TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 2048];
    loop {
        let n = client.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        let Ok(text) = std::str::from_utf8(&buf[..n]) else {
            client.write_all(b"error: not UTF-8\n")?;
            continue;
        };
        let line = text.strip_suffix('\n').unwrap_or(text);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.len() > MAX_LINE {
            framing::say_and_close(&client, "error: line too long");
            return Ok(());
        }
        client.write_all(format!("{}\n", reversed(line)).as_bytes())?;
    }
}

/// Takes the end of the stream for an error.
fn returns_an_error_at_the_end_of_the_stream(client: TcpStream) -> io::Result<()> {
    let mut lines = BufReader::new(client.try_clone()?);
    loop {
        match framing::read_line(&mut lines, MAX_LINE) {
            Ok(Some(line)) => (&client).write_all(format!("{}\n", reversed(&line)).as_bytes())?,
            Ok(None) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client went away",
                ));
            }
            Err(LineError::NotUtf8) => (&client).write_all(b"error: not UTF-8\n")?,
            Err(LineError::TooLong { .. }) => {
                framing::say_and_close(&client, "error: line too long");
                return Ok(());
            }
            Err(LineError::Io(e)) => return Err(e),
        }
    }
}

/// The reference answer on a machine so busy that its thread first runs 3 s
/// after the connection came: right, only slow. It must pass.
pub fn slow_to_start(client: TcpStream) -> io::Result<()> {
    std::thread::sleep(std::time::Duration::from_secs(3));
    solutions::reverse::reverse_lines(client)
}
