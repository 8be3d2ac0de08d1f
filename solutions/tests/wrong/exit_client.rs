//! Wrong answers to exercise 02a, `run_client`.

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::TcpStream;

use solutions::checks::exit_client::checks;

use crate::{Case, case};

const EACH: &str = "sends_each_line_and_prints_each_reply";
const EXIT: &str = "stops_at_exit_without_sending_it";
const END: &str = "the_end_of_the_input_ends_the_client_cleanly";
const INSIDE: &str = "a_line_with_exit_inside_a_word_is_sent_like_any_other";
const SPACES_EXIT: &str = "exit_with_spaces_around_it_still_stops";
const CASE: &str = "exit_in_another_case_is_sent_like_any_other";
const AS_TYPED: &str = "spaces_and_empty_lines_are_sent_as_typed";
const WINDOWS: &str = "a_windows_line_end_is_not_sent";
const SPLIT: &str = "a_reply_that_arrives_in_two_pieces_is_printed_as_one_line";
const HANG_UP: &str = "a_server_that_closes_instead_of_replying_is_an_error";
const BYTE_AT_A_TIME: &str = "works_when_every_byte_arrives_on_its_own";
/// The first words of a check that passes directly and fails over the wire.
const ONLY_DIRECT: &str =
    "works when each message arrives in one piece; fails when it arrives one byte at a time";

/// Every check, with the same words: a mistake that shows everywhere.
fn everywhere(words: &'static str) -> &'static [(&'static str, &'static str)] {
    let all = [
        EACH,
        EXIT,
        END,
        INSIDE,
        SPACES_EXIT,
        CASE,
        AS_TYPED,
        WINDOWS,
        SPLIT,
        HANG_UP,
    ];
    Vec::leak(all.iter().map(|c| (*c, words)).collect())
}

pub fn cases() -> Vec<Case> {
    const SENT_EXIT: &str = "your client sent the exit line to the server";
    vec![
        case(
            "sends_exit",
            checks(sends_exit),
            &[
                (EXIT, SENT_EXIT),
                (INSIDE, SENT_EXIT),
                (SPACES_EXIT, SENT_EXIT),
                (CASE, SENT_EXIT),
                (WINDOWS, SENT_EXIT),
                (SPLIT, SENT_EXIT),
            ],
        ),
        case(
            "stops_after_the_first_line",
            checks(stops_after_the_first_line),
            &[
                (EACH, "your client returned after the first line"),
                (END, "your client returned after the first line"),
                (INSIDE, "your client returned after the first line"),
                (CASE, "your client returned after the first line"),
                (AS_TYPED, "your client returned after the first line"),
                (SPLIT, "your client returned after the first line"),
                (HANG_UP, "your client returned after the first line"),
            ],
        ),
        case(
            "never_stops",
            checks(never_stops),
            &[
                (EXIT, SENT_EXIT),
                (
                    EACH,
                    "after the input ended, your client kept sending empty lines",
                ),
                (
                    END,
                    "after the input ended, your client kept sending empty lines",
                ),
                (INSIDE, SENT_EXIT),
                (SPACES_EXIT, SENT_EXIT),
                (CASE, SENT_EXIT),
                (AS_TYPED, "the spaces at its start or end were removed"),
                (WINDOWS, SENT_EXIT),
                (SPLIT, SENT_EXIT),
            ],
        ),
        case(
            "reads_one_piece_per_reply",
            checks(reads_one_piece_per_reply),
            &[
                (
                    SPLIT,
                    "as the first reply: that is only the first piece of it",
                ),
                (BYTE_AT_A_TIME, ONLY_DIRECT),
            ],
        ),
        case(
            "prints_the_bytes_of_one_read_unchanged",
            checks(prints_the_bytes_of_one_read_unchanged),
            &[
                (SPLIT, "one read is not one message"),
                (BYTE_AT_A_TIME, ONLY_DIRECT),
            ],
        ),
        case(
            "stops_at_exit_inside_a_word",
            checks(stops_at_exit_inside_a_word),
            &[(INSIDE, "only contains exit")],
        ),
        case(
            "stops_at_a_line_that_starts_with_exit",
            checks(stops_at_a_line_that_starts_with_exit),
            &[(INSIDE, "only starts with exit")],
        ),
        case(
            "exit_in_any_case",
            checks(exit_in_any_case),
            &[(CASE, "only exit in lower case stops the client")],
        ),
        case(
            "buffers_its_output_in_a_bufwriter",
            checks(buffers_its_output_in_a_bufwriter),
            everywhere("your client's replies waited in a buffer"),
        ),
        case(
            "prints_the_reply_without_a_line_end",
            checks(prints_the_reply_without_a_line_end),
            everywhere("your client printed the reply without a line end"),
        ),
        case(
            "reads_all_the_input_first",
            checks(reads_all_the_input_first),
            everywhere("and then waited for more input, without sending it to the server"),
        ),
        case(
            "sends_every_line_then_reads_the_replies",
            checks(sends_every_line_then_reads_the_replies),
            everywhere("your client printed the replies only after the input ended"),
        ),
        case(
            "trims_the_line_before_sending_it",
            checks(trims_the_line_before_sending_it),
            &[(AS_TYPED, "the spaces at its start or end were removed")],
        ),
        case(
            "sends_the_line_with_its_line_end_and_another",
            checks(sends_the_line_with_its_line_end_and_another),
            &[
                (
                    EACH,
                    "each line reached the server followed by an empty line",
                ),
                (
                    EXIT,
                    "each line reached the server followed by an empty line",
                ),
                (
                    END,
                    "each line reached the server followed by an empty line",
                ),
                (
                    INSIDE,
                    "each line reached the server followed by an empty line",
                ),
                (
                    SPACES_EXIT,
                    "each line reached the server followed by an empty line",
                ),
                (
                    CASE,
                    "each line reached the server followed by an empty line",
                ),
                (
                    AS_TYPED,
                    "each line reached the server followed by an empty line",
                ),
                (WINDOWS, "the \\r of a \\r\\n line end was sent with it"),
                (
                    SPLIT,
                    "each line reached the server followed by an empty line",
                ),
                (
                    HANG_UP,
                    "each line reached the server followed by an empty line",
                ),
            ],
        ),
        case(
            "sends_the_line_without_its_newline",
            checks(sends_the_line_without_its_newline),
            everywhere("with no \\n after it, so it is still waiting for the end of that line"),
        ),
        case(
            "pops_the_last_character_as_the_line_end",
            checks(pops_the_last_character_as_the_line_end),
            &[
                (END, "its last character was cut off"),
                (WINDOWS, "the \\r of a \\r\\n line end was sent with it"),
            ],
        ),
        case(
            "keeps_the_windows_line_end",
            checks(keeps_the_windows_line_end),
            &[(WINDOWS, "the \\r of a \\r\\n line end was sent with it")],
        ),
        case(
            "skips_empty_lines",
            checks(skips_empty_lines),
            &[(
                AS_TYPED,
                "the user typed an empty line, and the server did not receive it",
            )],
        ),
        case(
            "prints_an_empty_line_when_the_server_closes",
            checks(prints_an_empty_line_when_the_server_closes),
            &[(
                HANG_UP,
                "printed an empty line for the reply that never came",
            )],
        ),
        case(
            "returns_ok_when_the_server_closes",
            checks(returns_ok_when_the_server_closes),
            &[(HANG_UP, "returned Ok(()): no reply is an error here")],
        ),
        case(
            "decodes_each_piece_of_a_reply_on_its_own",
            checks(decodes_each_piece_of_a_reply_on_its_own),
            &[(BYTE_AT_A_TIME, ONLY_DIRECT)],
        ),
        case(
            "reads_the_reply_until_the_server_closes",
            checks(reads_the_reply_until_the_server_closes),
            everywhere("your client printed the reply only when the server closed the connection"),
        ),
    ]
}

/// The line and its `\n`, then one reply line, printed as it came (the
/// part every wrong answer here gets right, unless it is its mistake).
fn ask<W: Write>(line: &str, server: &TcpStream, output: &mut W) -> io::Result<()> {
    (&mut &*server).write_all(format!("{line}\n").as_bytes())?;
    let mut reply = String::new();
    if BufReader::new(server).read_line(&mut reply)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server left",
        ));
    }
    output.write_all(reply.as_bytes())
}

/// Sends the line first and checks for `exit` afterwards.
fn sends_exit<R: BufRead, W: Write>(input: R, mut output: W, server: TcpStream) -> io::Result<()> {
    for line in input.lines() {
        let line = line?;
        ask(&line, &server, &mut output)?;
        if line.trim() == "exit" {
            break;
        }
    }
    Ok(())
}

/// No loop: one line, one reply, done.
fn stops_after_the_first_line<R: BufRead, W: Write>(
    mut input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    let mut line = String::new();
    input.read_line(&mut line)?;
    let line = line.trim_end();
    if line != "exit" {
        ask(line, &server, &mut output)?;
    }
    Ok(())
}

/// Never looks for `exit`, and takes the end of the input (`Ok(0)`) for an
/// empty line: it never stops.
fn never_stops<R: BufRead, W: Write>(
    mut input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    loop {
        let mut line = String::new();
        input.read_line(&mut line)?;
        ask(line.trim_end(), &server, &mut output)?;
    }
}

/// Takes one `read` for one whole reply, as the original does.
fn reads_one_piece_per_reply<R: BufRead, W: Write>(
    input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    for line in input.lines() {
        let line = line?;
        if line.trim() == "exit" {
            break;
        }
        (&server).write_all(format!("{line}\n").as_bytes())?;
        let mut buf = [0u8; 1024];
        let n = (&server).read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server left",
            ));
        }
        let reply = String::from_utf8_lossy(&buf[..n]);
        writeln!(output, "{}", reply.trim_end_matches(['\r', '\n']))?;
    }
    Ok(())
}

/// Reads once into a buffer and prints those bytes unchanged: the reply's
/// own `\n` ends the line, when it came in that one read.
fn prints_the_bytes_of_one_read_unchanged<R: BufRead, W: Write>(
    input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    for line in input.lines() {
        let line = line?;
        if line.trim() == "exit" {
            break;
        }
        (&server).write_all(format!("{line}\n").as_bytes())?;
        let mut buf = [0u8; 1024];
        let n = (&server).read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server left",
            ));
        }
        output.write_all(&buf[..n])?;
        output.flush()?;
    }
    Ok(())
}

/// Stops at any line that contains `exit`, even inside a word.
fn stops_at_exit_inside_a_word<R: BufRead, W: Write>(
    input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    for line in input.lines() {
        let line = line?;
        if line.contains("exit") {
            break;
        }
        ask(&line, &server, &mut output)?;
    }
    Ok(())
}

/// Stops at any line that starts with `exit`: "exit now" too.
fn stops_at_a_line_that_starts_with_exit<R: BufRead, W: Write>(
    input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    for line in input.lines() {
        let line = line?;
        if line.trim().starts_with("exit") {
            break;
        }
        ask(&line, &server, &mut output)?;
    }
    Ok(())
}

/// "Exit" and "EXIT" stop it too, which the task says they must not.
fn exit_in_any_case<R: BufRead, W: Write>(
    input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    for line in input.lines() {
        let line = line?;
        if line.trim().eq_ignore_ascii_case("exit") {
            break;
        }
        ask(&line, &server, &mut output)?;
    }
    Ok(())
}

/// Right, but the output goes through a BufWriter that is only flushed
/// when it is dropped: the user sees nothing until the client returns.
fn buffers_its_output_in_a_bufwriter<R: BufRead, W: Write>(
    input: R,
    output: W,
    server: TcpStream,
) -> io::Result<()> {
    let mut output = BufWriter::new(output);
    for line in input.lines() {
        let line = line?;
        if line.trim() == "exit" {
            break;
        }
        ask(&line, &server, &mut output)?;
    }
    Ok(())
}

/// Trims the reply's `\n` and prints it without one (but flushes).
fn prints_the_reply_without_a_line_end<R: BufRead, W: Write>(
    input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    let mut replies = BufReader::new(server.try_clone()?);
    for line in input.lines() {
        let line = line?;
        if line.trim() == "exit" {
            break;
        }
        (&server).write_all(format!("{line}\n").as_bytes())?;
        let mut reply = String::new();
        replies.read_line(&mut reply)?;
        write!(output, "{}", reply.trim_end())?;
        output.flush()?;
    }
    Ok(())
}

/// Reads every line of the input first, then talks to the server.
fn reads_all_the_input_first<R: BufRead, W: Write>(
    input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    let lines: Vec<String> = input.lines().collect::<io::Result<_>>()?;
    for line in lines {
        if line.trim() == "exit" {
            break;
        }
        ask(&line, &server, &mut output)?;
    }
    Ok(())
}

/// Sends every line as it is typed, and reads the replies only at the end.
fn sends_every_line_then_reads_the_replies<R: BufRead, W: Write>(
    input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    let mut sent = 0;
    for line in input.lines() {
        let line = line?;
        if line.trim() == "exit" {
            break;
        }
        (&server).write_all(format!("{line}\n").as_bytes())?;
        sent += 1;
    }
    let mut replies = BufReader::new(server);
    for _ in 0..sent {
        let mut reply = String::new();
        replies.read_line(&mut reply)?;
        output.write_all(reply.as_bytes())?;
    }
    Ok(())
}

/// Sends `line.trim()` instead of the line.
fn trims_the_line_before_sending_it<R: BufRead, W: Write>(
    input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    for line in input.lines() {
        let line = line?;
        let line = line.trim();
        if line == "exit" {
            break;
        }
        ask(line, &server, &mut output)?;
    }
    Ok(())
}

/// `read_line` keeps the `\n`, and `ask` adds another.
fn sends_the_line_with_its_line_end_and_another<R: BufRead, W: Write>(
    mut input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    let mut replies = BufReader::new(server.try_clone()?);
    loop {
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line.trim() == "exit" {
            return Ok(());
        }
        (&server).write_all(format!("{line}\n").as_bytes())?;
        let mut reply = String::new();
        replies.read_line(&mut reply)?;
        output.write_all(reply.as_bytes())?;
    }
}

/// Sends the line's bytes, but no `\n`: the server waits for the end.
fn sends_the_line_without_its_newline<R: BufRead, W: Write>(
    input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    let mut replies = BufReader::new(server.try_clone()?);
    for line in input.lines() {
        let line = line?;
        if line.trim() == "exit" {
            break;
        }
        (&server).write_all(line.as_bytes())?;
        let mut reply = String::new();
        replies.read_line(&mut reply)?;
        output.write_all(reply.as_bytes())?;
    }
    Ok(())
}

/// Removes "the `\n`" with `pop()`, even from a last line that has none.
fn pops_the_last_character_as_the_line_end<R: BufRead, W: Write>(
    mut input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    loop {
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        line.pop();
        if line.trim() == "exit" {
            return Ok(());
        }
        ask(&line, &server, &mut output)?;
    }
}

/// Removes the `\n` but not the `\r` of a Windows line end.
fn keeps_the_windows_line_end<R: BufRead, W: Write>(
    mut input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    loop {
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end_matches('\n');
        if line.trim() == "exit" {
            return Ok(());
        }
        ask(line, &server, &mut output)?;
    }
}

/// Skips empty lines "because there is nothing to send".
fn skips_empty_lines<R: BufRead, W: Write>(
    input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    for line in input.lines() {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        if line.trim() == "exit" {
            break;
        }
        ask(&line, &server, &mut output)?;
    }
    Ok(())
}

/// Prints whatever read_line gave, even nothing when the server closed.
fn prints_an_empty_line_when_the_server_closes<R: BufRead, W: Write>(
    input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    let mut replies = BufReader::new(server.try_clone()?);
    for line in input.lines() {
        let line = line?;
        if line.trim() == "exit" {
            break;
        }
        (&server).write_all(format!("{line}\n").as_bytes())?;
        let mut reply = String::new();
        replies.read_line(&mut reply)?;
        writeln!(output, "{}", reply.trim_end_matches('\n'))?;
    }
    Ok(())
}

/// Takes the server closing for a normal end.
fn returns_ok_when_the_server_closes<R: BufRead, W: Write>(
    input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    let mut replies = BufReader::new(server.try_clone()?);
    for line in input.lines() {
        let line = line?;
        if line.trim() == "exit" {
            break;
        }
        (&server).write_all(format!("{line}\n").as_bytes())?;
        let mut reply = String::new();
        if replies.read_line(&mut reply)? == 0 {
            return Ok(());
        }
        output.write_all(reply.as_bytes())?;
    }
    Ok(())
}

/// Reads "the reply" until the server closes the connection.
fn reads_the_reply_until_the_server_closes<R: BufRead, W: Write>(
    input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    for line in input.lines() {
        let line = line?;
        if line.trim() == "exit" {
            break;
        }
        (&server).write_all(format!("{line}\n").as_bytes())?;
        let mut reply = String::new();
        (&server).read_to_string(&mut reply)?;
        output.write_all(reply.as_bytes())?;
    }
    Ok(())
}

/// Prints each piece of a reply the moment it comes, each decoded on its own
/// (`from_utf8_lossy` per `read`), up to the piece that ends in `\n`. On
/// loopback each reply comes in one piece and this looks right; when the two
/// bytes of an `é` arrive apart, each is printed as a replacement character.
fn decodes_each_piece_of_a_reply_on_its_own<R: BufRead, W: Write>(
    input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    for line in input.lines() {
        let line = line?;
        if line.trim() == "exit" {
            break;
        }
        (&server).write_all(format!("{line}\n").as_bytes())?;
        let mut buf = [0; 1024];
        loop {
            let n = (&server).read(&mut buf)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server left",
                ));
            }
            write!(output, "{}", String::from_utf8_lossy(&buf[..n]))?;
            output.flush()?;
            if buf[..n].ends_with(b"\n") {
                break;
            }
        }
    }
    Ok(())
}
