//! Checks of exercise 03, `reverse_lines`: the check is the client, on a
//! real connection whose other end is given to the student's function. It
//! reads the raw bytes of each reply, so that it can tell a reversed line
//! end, a missing `\n`, reversed bytes or a trimmed line apart, and probes
//! the limit at exactly `MAX_LINE` bytes and one byte past it.

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use super::harness::{
    Ended, QUIET, REPLY, Task, WAIT, Waited, collect, nothing_arrives, on_a_wire, show, show_str,
    socket_pair, spawn,
};
use super::shared::reverse::MAX_LINE;

/// The function under test.
pub type ReverseLines = fn(TcpStream) -> io::Result<()>;

pub fn checks(subject: ReverseLines) -> Vec<super::Check> {
    checks!(subject =>
        answers_a_line_with_its_characters_reversed,
        reverses_characters_not_bytes,
        several_lines_in_one_write_get_one_reply_each,
        a_line_sent_in_two_pieces_gets_one_reply,
        a_character_cut_between_two_writes_is_put_back_together,
        a_line_ending_in_crlf_is_reversed_without_the_cr,
        spaces_at_the_start_and_end_of_a_line_are_reversed_too,
        a_line_that_is_not_utf8_gets_an_error_and_the_next_line_is_served,
        a_line_of_exactly_the_limit_is_answered,
        a_line_that_is_too_long_gets_an_error_and_the_connection_closes,
        a_line_over_the_limit_gets_an_error_even_before_its_newline,
        the_limit_counts_bytes_not_characters,
        returns_when_the_client_closes,
        works_when_every_byte_arrives_on_its_own,
        works_when_separate_messages_arrive_merged,
    )
}

/// The check's end of a connection served by the student's function.
struct Client {
    stream: TcpStream,
    /// Bytes received and not yet taken as a reply.
    pending: Vec<u8>,
    task: Task<io::Result<()>>,
    /// How the function ended, once the check has seen it.
    ended: Option<Outcome>,
}

/// How `reverse_lines` ended.
#[derive(Clone)]
enum Outcome {
    Panicked(String),
    Returned(Result<(), (io::ErrorKind, String)>),
}

fn reversed(line: &str) -> String {
    line.chars().rev().collect()
}

impl Client {
    fn start(subject: ReverseLines) -> Result<Client, String> {
        let (ours, theirs) = socket_pair()?;
        let task = spawn("reverse_lines", move || subject(theirs));
        task.fail_fast()?;
        Ok(Client {
            stream: ours,
            pending: Vec::new(),
            task,
            ended: None,
        })
    }

    /// How the function ended, if it has within `within`.
    fn outcome(&mut self, within: Duration) -> Option<Outcome> {
        if self.ended.is_none() {
            self.ended = match self.task.wait(within) {
                Err(Waited::Running) => None,
                Err(Waited::Panicked(why)) => Some(Outcome::Panicked(why)),
                Ok(result) => Some(Outcome::Returned(
                    result.map_err(|e| (e.kind(), e.to_string())),
                )),
            };
        }
        self.ended.clone()
    }

    /// A problem the check saw, unless the function panicked or returned,
    /// which explains it better.
    fn fail(&mut self, saw: String) -> String {
        match self.outcome(Duration::from_millis(300)) {
            None => saw,
            Some(Outcome::Panicked(why)) => why,
            Some(Outcome::Returned(Err((io::ErrorKind::InvalidData, e)))) => format!(
                "reverse_lines returned Err({e}): reading a line as a String (lines(), \
                 read_line) fails on bytes that are not UTF-8, and ? returned the error, which \
                 ended the connection.\nRead the line as bytes (read_until, or \
                 lessons::framing::read_line), then answer \"error: ...\" and go on.\n(What the \
                 check saw: {saw})"
            ),
            Some(Outcome::Returned(returned)) => format!(
                "reverse_lines returned {} while the client was still connected: it should \
                 serve line after line until the client closes the connection.\n(What the \
                 check saw: {saw})",
                match returned {
                    Ok(()) => "Ok(())".to_string(),
                    Err((_, e)) => format!("Err({e})"),
                }
            ),
        }
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        match (&self.stream).write_all(bytes) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(format!("the check could not send: {e}"))),
        }
    }

    /// Sends in two pieces, with a pause so that they arrive as two reads
    /// (the pause synchronises nothing: a correct answer passes anyway), and
    /// returns whatever came back before the second piece was sent.
    fn send_in_two(&mut self, first: &[u8], second: &[u8]) -> Result<Vec<u8>, String> {
        self.send(first)?;
        let _ = collect(
            &self.stream,
            &mut self.pending,
            Duration::from_millis(100),
            |b| b.contains(&b'\n'),
        );
        let early = std::mem::take(&mut self.pending);
        self.send(second)?;
        Ok(early)
    }

    /// Reads until a whole line has arrived (or the peer closed, or
    /// [`REPLY`] passed); returns the raw bytes, line end included, and how
    /// it ended.
    /// An empty first line is followed by a look at what comes right
    /// after it, which tells a reversed line end apart.
    fn raw_reply(&mut self) -> (Vec<u8>, Ended) {
        let mut ended = collect(&self.stream, &mut self.pending, REPLY, |b| {
            b.contains(&b'\n')
        });
        if self.pending.first() == Some(&b'\n') {
            let _ = collect(&self.stream, &mut self.pending, QUIET, |b| {
                b[1..].contains(&b'\n')
            });
        }
        let line_end = |from: usize| {
            self.pending[from..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(self.pending.len(), |i| from + i + 1)
        };
        // An empty line is taken with what follows it, up to the next \n.
        let take = if self.pending.first() == Some(&b'\n') {
            line_end(1)
        } else {
            line_end(0)
        };
        if ended == Ended::Enough && !self.pending[..take].ends_with(b"\n") {
            ended = Ended::TimedOut;
        }
        let reply: Vec<u8> = self.pending.drain(..take).collect();
        (reply, ended)
    }

    /// Expects the reply to `line` (sent already, described as `to`): the
    /// line's characters reversed, and `\n`.
    fn expect_reversed(&mut self, to: &str, line: &str) -> Result<(), String> {
        let (reply, ended) = self.raw_reply();
        let expected = format!("{}\n", reversed(line));
        if reply == expected.as_bytes() {
            return Ok(());
        }
        Err(self.explain(to, line, &reply, ended))
    }

    /// Says what is wrong with `reply` as the answer to `line`.
    fn explain(&mut self, to: &str, line: &str, reply: &[u8], ended: Ended) -> String {
        let rev = reversed(line);
        let got = show(reply);
        let want = show_str(&format!("{rev}\n"));
        let text = String::from_utf8_lossy(reply);
        if reply.is_empty() {
            return match ended {
                Ended::Closed => {
                    self.fail(format!("the connection closed instead of a reply to {to}."))
                }
                Ended::Failed(e) => self.fail(format!("reading the reply to {to} failed: {e}")),
                _ => self.why_no_reply(to),
            };
        }
        let mut bytes_back: Vec<u8> = format!("{line}\n").into_bytes();
        bytes_back.reverse();
        // The same without the line end: the bytes of the line reversed,
        // sent as they are or decoded with from_utf8_lossy.
        let mut line_back: Vec<u8> = line.as_bytes().iter().rev().copied().collect();
        let lossy = format!("{}\n", String::from_utf8_lossy(&line_back));
        line_back.push(b'\n');
        if !line.is_ascii() && (reply == line_back.as_slice() || reply == lossy.as_bytes()) {
            return format!(
                "your server reversed the bytes of the line, not its characters: the reply to \
                 {to} was {got}, expected {want}.\nIn UTF-8, é is 2 bytes and 🦀 is 4: reversing \
                 the bytes scrambles them (and a decoder shows what is left as \u{fffd}). \
                 Decode the line, reverse line.chars(), then encode."
            );
        }
        if reply.starts_with(&bytes_back) && !line.is_ascii() {
            return format!(
                "your server reversed the bytes of the line (its \\n too), not its characters: \
                 the reply to {to} was {got}.\nIn UTF-8, é is 2 bytes and 🦀 is 4: reversing the \
                 bytes scrambles them. Take off the line end, reverse line.chars(), add \\n."
            );
        }
        let starts = |prefix: &str| {
            reply.starts_with(prefix.as_bytes())
                && matches!(reply.get(prefix.len()), None | Some(b'\n'))
        };
        if !rev.is_empty() && (starts(&format!("\n{rev}")) || starts(&format!("\n\r{rev}"))) {
            return format!(
                "the \\n was reversed with the line, and so sent first: the reply to {to} was \
                 {got}.\nTake the line end off before reversing, and add \\n after."
            );
        }
        if !reply.contains(&b'\n') && reply.starts_with(rev.as_bytes()) {
            return self.fail(format!(
                "the reply to {to} has no \\n at its end: {got}, then nothing for {REPLY:?}.\nEnd \
                 each reply with \\n: the client reads lines."
            ));
        }
        if reply == format!("\r{rev}\n").as_bytes() {
            return format!(
                "the \\r of the \\r\\n line end was reversed with the line: the reply to {to} \
                 was {got}.\nA \\r just before the \\n is part of the line end, not of the \
                 line: remove it too."
            );
        }
        if reply == format!("{line}\n").as_bytes() && rev != line {
            return format!("the reply to {to} is the line itself, not reversed: {got}.");
        }
        let trimmed = [line.trim(), line.trim_start(), line.trim_end()];
        if trimmed
            .iter()
            .any(|t| *t != line && reply == format!("{}\n", reversed(t)).as_bytes())
        {
            return format!(
                "the spaces at the start and end of the line were removed: the reply to {to} was \
                 {got}, expected {want}.\nSpaces are characters like any other: take off only the \
                 line end (\\n, or \\r\\n)."
            );
        }
        if text.contains('\u{fffd}') && !line.contains('\u{fffd}') {
            return format!(
                "the reply to {to} has \u{fffd} in it ({got}): a character was decoded in two \
                 halves. Your server decodes each read on its own, and a read may end in the \
                 middle of a character.\nCollect the bytes up to the \\n, and decode the whole \
                 line once."
            );
        }
        let then = match ended {
            Ended::Closed => ", and then the connection closed",
            Ended::TimedOut => ", and nothing more",
            _ => "",
        };
        self.fail(format!(
            "the reply to {to} should be {want}; it was {got}{then}."
        ))
    }

    /// No reply at all: do the replies come once more has been sent, or
    /// once the client closes its side?
    fn why_no_reply(&mut self, to: &str) -> String {
        if on_a_wire() {
            // A replay's own message is shown only when the check passes on
            // a direct connection, which then gives the diagnosis: 9 KiB at
            // a byte a millisecond would only cost time here.
            return self.fail(format!(
                "no reply (no whole line ending in \\n) to {to} within {REPLY:?}."
            ));
        }
        // 9 lines of 1000 characters: more than a BufWriter holds (8 KiB).
        // Replies that come are an event: each trial waits for them as long
        // as for any reply, not for a short silence.
        let line = format!("{}\n", "0123456789".repeat(100));
        for _ in 0..9 {
            if (&self.stream).write_all(line.as_bytes()).is_err() {
                break;
            }
        }
        if collect(&self.stream, &mut self.pending, WAIT, |b| !b.is_empty()) == Ended::Enough {
            // Which reply comes first? A buffer of replies holds the one to
            // `to` too; a reader that threw away what it had read past a
            // line's end answers only some of the long lines.
            collect(&self.stream, &mut self.pending, WAIT, |b| {
                b.contains(&b'\n')
            });
            let long_reply = format!("{}\n", "9876543210".repeat(100));
            if self.pending.starts_with(long_reply.as_bytes()) {
                return format!(
                    "no reply to {to} ever came, and when 9 long lines followed, only some of \
                     them got replies: the bytes your server had read past the end of a line \
                     were thrown away. A BufReader reads ahead, as much as the stream has, and \
                     what it holds is lost when it is dropped (a new BufReader for each line, \
                     say).\nKeep one reader per connection for as long as the connection lasts."
                );
            }
            return format!(
                "no reply to {to} came until about 8 KiB of replies were due, then they came all \
                 at once: they wait in a buffer (a BufWriter, say) until it is full.\nFlush after \
                 each reply, or write each reply to the stream directly."
            );
        }
        let _ = self.stream.shutdown(Shutdown::Write);
        if collect(&self.stream, &mut self.pending, WAIT, |b| !b.is_empty()) == Ended::Enough {
            return format!(
                "no reply to {to} came while the connection was open; the replies came only once \
                 the client closed its side: your server reads until the end of the stream \
                 before it answers (read_to_string, read_to_end).\nAnswer each line as soon as \
                 its \\n has arrived."
            );
        }
        self.fail(format!(
            "no reply (no whole line ending in \\n) to {to} within {REPLY:?}, nor when more lines \
             came, nor when the client closed its side."
        ))
    }

    /// Expects a reply starting with `error:` to what was sent (`to`).
    fn expect_error(&mut self, to: &str, line: &[u8]) -> Result<String, String> {
        let (reply, ended) = self.raw_reply();
        self.judge_error(to, line, reply, ended)
    }

    /// Judges `reply` where a reply starting with `error:` is due.
    fn judge_error(
        &mut self,
        to: &str,
        line: &[u8],
        reply: Vec<u8>,
        ended: Ended,
    ) -> Result<String, String> {
        if reply.starts_with(b"error:") && reply.ends_with(b"\n") {
            return Ok(String::from_utf8_lossy(&reply).into_owned());
        }
        if let Ok(line) = std::str::from_utf8(line)
            && reply == format!("{}\n", reversed(line)).as_bytes()
        {
            return Err(format!(
                "your server answered {to} as an ordinary line, reversed; it should get a reply \
                 starting with \"error:\" instead."
            ));
        }
        if reply.is_empty() {
            let returned_ok = matches!(
                self.outcome(Duration::from_millis(300)),
                None | Some(Outcome::Returned(Ok(())))
            );
            return Err(match ended {
                Ended::Closed | Ended::Failed(_) if returned_ok => format!(
                    "the connection closed without a reply to {to}: say why first, with a line \
                     starting with \"error:\", then close."
                ),
                Ended::Closed | Ended::Failed(_) => {
                    self.fail(format!("the connection closed without a reply to {to}."))
                }
                _ => self.fail(format!(
                    "no reply to {to} within {REPLY:?}: it should get a reply starting with \
                     \"error:\"."
                )),
            });
        }
        let replacement = "\u{fffd}".as_bytes();
        let has = |b: &[u8]| b.windows(3).any(|w| w == replacement);
        if has(&reply) && !has(line) {
            return Err(format!(
                "your server answered {to} with {}: it replaced the bytes that are not UTF-8 \
                 with \u{fffd} (from_utf8_lossy) and went on.\nA line that is not UTF-8 gets a \
                 reply starting with \"error:\" (String::from_utf8 says when).",
                show(&reply)
            ));
        }
        Err(self.fail(format!(
            "the reply to {to} should start with \"error:\"; it was {}.",
            show(&reply)
        )))
    }

    /// Expects the connection to close now, with nothing more sent.
    fn expect_close(&mut self, after: &str) -> Result<(), String> {
        let mut rest = std::mem::take(&mut self.pending);
        match collect(&self.stream, &mut rest, WAIT, |_| false) {
            Ended::Closed if rest.is_empty() => Ok(()),
            // A reset after the error line is a close too, if a rude one.
            Ended::Failed(_) if rest.is_empty() => Ok(()),
            Ended::TimedOut if rest.is_empty() => Err(self.fail(format!(
                "after {after}, the connection was still open {WAIT:?} later.\nThe rest of \
                 that line is still unread, so the start of the next line cannot be found: \
                 close the connection (return from the function)."
            ))),
            _ => Err(format!(
                "after {after}, the connection should close, but {} more bytes came: {}.\nThe \
                 rest of a line that is too long cannot be told from the next line: close the \
                 connection after the error.",
                rest.len(),
                show(&rest)
            )),
        }
    }
}

pub fn answers_a_line_with_its_characters_reversed(subject: ReverseLines) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    client.send(b"Go Coding Ninjas.\n")?;
    client.expect_reversed("\"Go Coding Ninjas.\\n\"", "Go Coding Ninjas.")?;
    client.send(b"\n")?;
    client.expect_reversed("an empty line", "")?;
    client.send(b"second line\n")?;
    client.expect_reversed("\"second line\\n\"", "second line")
}

pub fn reverses_characters_not_bytes(subject: ReverseLines) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    client.send("héllo wörld 🦀\n".as_bytes())?;
    client.expect_reversed("\"héllo wörld 🦀\\n\"", "héllo wörld 🦀")
}

pub fn several_lines_in_one_write_get_one_reply_each(subject: ReverseLines) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    client.send(b"one\ntwo\nthree\n")?;
    let (first, ended) = client.raw_reply();
    let _ = collect(&client.stream, &mut client.pending, QUIET, |b| {
        first.len() + b.len() >= 15
    });
    let whole = [&first[..], &client.pending[..]].concat();
    if whole.starts_with(b"\neerht\nowt\neno") || whole.starts_with(b"eerht\nowt\neno") {
        return Err(
            "the three lines sent in one write, \"one\\ntwo\\nthree\\n\", were answered as one \
             piece, reversed as a whole (\"\\neerht\\nowt\\neno\").\nOne read can return several \
             lines: split what arrives into lines, and answer each line on its own."
                .to_string(),
        );
    }
    if first != b"eno\n" {
        return Err(client.explain(
            "\"one\\n\", the first of three lines sent in one write",
            "one",
            &first,
            ended,
        ));
    }
    for (i, line) in ["two", "three"].iter().enumerate() {
        let to = format!(
            "{}, the {} of three lines sent in one write",
            show_str(&format!("{line}\n")),
            ["second", "third"][i]
        );
        client.expect_reversed(&to, line).map_err(|e| {
            format!(
                "only the first of three lines sent in one write was answered: {e}\nOne read can \
                 return several lines: answer each of them, not each read."
            )
        })?;
    }
    Ok(())
}

pub fn a_line_sent_in_two_pieces_gets_one_reply(subject: ReverseLines) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    // Twice: a server slow to read may get both pieces in one read once.
    for (first, second, line) in [
        ("Hello, ", "world\n", "Hello, world"),
        ("two ", "halves\n", "two halves"),
    ] {
        let early = client.send_in_two(first.as_bytes(), second.as_bytes())?;
        let (reply, ended) = client.raw_reply();
        let first_reply = reversed(first);
        if !early.is_empty() || reply.starts_with(first_reply.as_bytes()) {
            let answer = if early.is_empty() { &reply } else { &early };
            return Err(format!(
                "the line {} arrived in two pieces, and your server answered the first piece on \
                 its own ({}).\nA read returns whatever has arrived, maybe half a line: collect \
                 bytes up to the \\n before you answer (BufRead::read_until, \
                 lessons::framing::read_line).",
                show_str(&format!("{line}\n")),
                show(answer)
            ));
        }
        if reply != format!("{}\n", reversed(line)).as_bytes() {
            let to = format!("{}, sent in two pieces", show_str(&format!("{line}\n")));
            return Err(client.explain(&to, line, &reply, ended));
        }
    }
    nothing_arrives(&client.stream, QUIET)
        .map_err(|got| format!("after one reply to each line, the check {got}."))
}

pub fn a_character_cut_between_two_writes_is_put_back_together(
    subject: ReverseLines,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    // Each line is cut inside a character (é is C3 A9, ï is C3 AF, 🦀 is
    // F0 9F A6 80). Three lines: a server slow to read may get both pieces
    // of one in a single read.
    let cuts: [(&[u8], &[u8], &str); 3] = [
        (b"caf\xc3", b"\xa9 cr\xc3\xa8me\n", "café crème"),
        (b"na\xc3", b"\xafve\n", "naïve"),
        (b"\xf0\x9f", b"\xa6\x80 crab\n", "🦀 crab"),
    ];
    for (first, second, line) in cuts {
        let to = format!("{}, cut inside a character", show_str(&format!("{line}\n")));
        let early = client.send_in_two(first, second)?;
        let (reply, ended) = client.raw_reply();
        let mut first_back = first.to_vec();
        first_back.reverse();
        let answered_first =
            !early.is_empty() || reply.starts_with(&first_back) || reply.starts_with(b"error:");
        if answered_first {
            let answer = if early.is_empty() { &reply } else { &early };
            return Err(format!(
                "your server answered the first piece of {to}, {}, on its own: the reply was \
                 {}.\nA read returns whatever has arrived, maybe half a line, maybe half a \
                 character: collect bytes up to the \\n, and decode the whole line once.",
                show(first),
                show(answer)
            ));
        }
        if reply != format!("{}\n", reversed(line)).as_bytes() {
            return Err(client.explain(&to, line, &reply, ended));
        }
    }
    Ok(())
}

pub fn a_line_ending_in_crlf_is_reversed_without_the_cr(
    subject: ReverseLines,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    client.send(b"telnet\r\n")?;
    client.expect_reversed("\"telnet\\r\\n\"", "telnet")
}

pub fn spaces_at_the_start_and_end_of_a_line_are_reversed_too(
    subject: ReverseLines,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    client.send(b"  ab c \t\n")?;
    client.expect_reversed("\"  ab c \\t\\n\"", "  ab c \t")
}

pub fn a_line_that_is_not_utf8_gets_an_error_and_the_next_line_is_served(
    subject: ReverseLines,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    let bad = b"\xff\xfe not text";
    client.send(&[&bad[..], b"\n"].concat())?;
    client.expect_error("a line that is not UTF-8", bad)?;
    client.send(b"next\n")?;
    client.expect_reversed("the line after the one that is not UTF-8", "next")
}

/// A line of `n` ASCII bytes that reads differently backwards.
fn line_of(n: usize) -> String {
    "abcdefghij".chars().cycle().take(n).collect()
}

pub fn a_line_of_exactly_the_limit_is_answered(subject: ReverseLines) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    let line = line_of(MAX_LINE);
    let to = format!("a line of exactly MAX_LINE = {MAX_LINE} bytes");
    // All of it but the \n first: that is still a line in the making.
    client.send(line.as_bytes())?;
    let mut early = Vec::new();
    if collect(&client.stream, &mut early, QUIET, |b| !b.is_empty()) == Ended::Enough {
        let _ = collect(&client.stream, &mut early, QUIET, |b| b.contains(&b'\n'));
        let why = if early.starts_with(b"error:") {
            "MAX_LINE bytes are allowed, so a line is too long only once MAX_LINE + 1 bytes \
             have come without a \\n (an off-by-one: take(MAX_LINE + 1), and > MAX_LINE, not \
             >=)."
        } else {
            "a line is answered only once its \\n has arrived."
        };
        return Err(client.fail(format!(
            "your server answered {} to {MAX_LINE} bytes that had no \\n yet: {why}",
            show(&early)
        )));
    }
    client.send(b"\n")?;
    let (reply, ended) = client.raw_reply();
    if reply.starts_with(b"error:") {
        return Err(format!(
            "{to} got an error ({}), but MAX_LINE bytes are allowed: only a longer line is too \
             long. (An off-by-one: > MAX_LINE, not >=.)",
            show(&reply)
        ));
    }
    if reply == format!("{}\n", reversed(&line)).as_bytes() {
        return Ok(());
    }
    Err(client.explain(&to, &line, &reply, ended))
}

pub fn a_line_that_is_too_long_gets_an_error_and_the_connection_closes(
    subject: ReverseLines,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    let line = line_of(MAX_LINE + 1);
    client.send(format!("{line}\n").as_bytes())?;
    let to = format!("a line of MAX_LINE + 1 = {} bytes", MAX_LINE + 1);
    client.expect_error(&to, line.as_bytes()).map_err(|e| {
        if e.starts_with("your server answered") {
            format!(
                "{e}\nWithout a limit, a client that never sends \\n makes the server buffer \
                 without end: read at most MAX_LINE + 1 bytes looking for the end of a line \
                 (Read::take, or lessons::framing::read_line)."
            )
        } else {
            e
        }
    })?;
    client.expect_close("the error for the line that is too long")
}

pub fn a_line_over_the_limit_gets_an_error_even_before_its_newline(
    subject: ReverseLines,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    // MAX_LINE + 1 bytes and no \n, and the connection stays open: the
    // server knows already that the line is too long.
    client.send(line_of(MAX_LINE + 1).as_bytes())?;
    let (reply, ended) = client.raw_reply();
    if reply.is_empty() && ended == Ended::TimedOut {
        return Err(client.fail(format!(
            "no reply {REPLY:?} after MAX_LINE + 1 = {} bytes without a \\n: your server is still \
             waiting for the end of the line, so a client that never sends \\n makes it buffer \
             without end.\nStop reading after MAX_LINE + 1 bytes (Read::take, or \
             lessons::framing::read_line): the line is too long by then.",
            MAX_LINE + 1
        )));
    }
    let to = format!("MAX_LINE + 1 = {} bytes without a \\n", MAX_LINE + 1);
    client.judge_error(&to, line_of(MAX_LINE + 1).as_bytes(), reply, ended)?;
    client.expect_close("the error for the line that is too long")
}

pub fn the_limit_counts_bytes_not_characters(subject: ReverseLines) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    // 513 characters of 2 bytes each: 1026 bytes, over the limit.
    let line = "é".repeat(MAX_LINE / 2 + 1);
    client.send(format!("{line}\n").as_bytes())?;
    let (reply, ended) = client.raw_reply();
    if reply.starts_with(b"error:") {
        return Ok(());
    }
    if reply == format!("{}\n", reversed(&line)).as_bytes() {
        return Err(format!(
            "a line of {} characters but {} bytes (é is 2 bytes in UTF-8) was answered: the \
             limit, MAX_LINE = {MAX_LINE}, counts bytes, not characters. It should get a reply \
             starting with \"error:\".",
            line.chars().count(),
            line.len()
        ));
    }
    let to = format!(
        "a line of {} bytes ({} characters)",
        line.len(),
        line.chars().count()
    );
    client
        .judge_error(&to, line.as_bytes(), reply, ended)
        .map(drop)
}

pub fn returns_when_the_client_closes(subject: ReverseLines) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    client.send(b"ab\n")?;
    client.expect_reversed("\"ab\\n\"", "ab")?;
    client
        .stream
        .shutdown(Shutdown::Write)
        .map_err(|e| format!("the check could not close its side: {e}"))?;
    match client.outcome(WAIT) {
        Some(Outcome::Returned(Ok(()))) => Ok(()),
        Some(Outcome::Returned(Err((_, e)))) => Err(format!(
            "when the client closed the connection, reverse_lines returned Err({e}): the end of \
             the stream is the normal end, so return Ok(())."
        )),
        Some(Outcome::Panicked(why)) => Err(why),
        None => Err(format!(
            "{WAIT:?} after the client closed the connection, reverse_lines was still running: \
             at the end of the stream, read returns 0 bytes again and again, so return then, or \
             the loop spins for ever.\n(read_line returns Ok(0), lessons::framing::read_line \
             Ok(None).)"
        )),
    }
}

/// grade's only: two clients at once, the second answered while the first
/// is still connected. Not one of exercise 03's checks: its function serves
/// one connection, and serving many at once is the accept loop's job
/// (lesson 03's `serve`). A whole server must do both.
pub fn a_second_client_is_served_while_the_first_stays_connected(
    subject: ReverseLines,
) -> Result<(), String> {
    let mut first = Client::start(subject)?;
    first.send(b"first\n")?;
    first.expect_reversed("the first client's \"first\\n\"", "first")?;
    let mut second = Client::start(subject)?;
    let to = "the second client's \"second\\n\"";
    second.send(b"second\n")?;
    let (reply, ended) = second.raw_reply();
    if reply.is_empty() && ended == Ended::TimedOut {
        // No reply while the first client is connected. The first one
        // leaving is an event: if the reply comes then, the server was
        // serving one client at a time.
        first
            .stream
            .shutdown(Shutdown::Write)
            .map_err(|e| format!("the check could not close the first client's side: {e}"))?;
        let (late, _) = second.raw_reply();
        if late == b"dnoces\n" {
            return Err(format!(
                "your server serves one client after the other: no reply to {to} came within \
                 {REPLY:?} while the first client stayed connected, and it came as soon as the \
                 first client left.\nServe each client on a thread of its own, and share \
                 nothing that one client's thread holds while it waits in read(). (The original \
                 tutorial's bug: its accept loop takes a lock that only the client's thread \
                 releases, when its client leaves.)"
            ));
        }
        return Err(format!(
            "no reply to {to} came within {REPLY:?} while the first client was still \
             connected, nor {REPLY:?} after the first client closed its side (got {}).",
            show(&late)
        ));
    }
    if reply == b"dnoces\n" {
        return Ok(());
    }
    Err(second.explain(to, "second", &reply, ended))
}

// The checks above that are about lines and characters, replayed over lesson 09's
// proxy: `works_when_every_byte_arrives_on_its_own` and
// `works_when_separate_messages_arrive_merged`.
over_the_wire!(ReverseLines =>
    answers_a_line_with_its_characters_reversed,
    reverses_characters_not_bytes,
    several_lines_in_one_write_get_one_reply_each,
    a_line_ending_in_crlf_is_reversed_without_the_cr,
    a_line_that_is_not_utf8_gets_an_error_and_the_next_line_is_served,
    returns_when_the_client_closes,
);
