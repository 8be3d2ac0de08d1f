//! Checks of exercise 03, `reverse_lines`: the check is the client, on a
//! real connection whose other end is given to the student's function.

use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::Duration;

use super::harness::{
    Task, WAIT, Waited, is_timeout, nothing_arrives, read_line, same, socket_pair, spawn,
};

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
        a_line_that_is_not_utf8_gets_an_error_and_the_next_line_is_served,
        a_line_that_is_too_long_gets_an_error_and_the_connection_closes,
        returns_when_the_client_closes,
    )
}

/// The check's end of a connection served by the student's function.
struct Client {
    stream: TcpStream,
    replies: BufReader<TcpStream>,
    task: Task<io::Result<()>>,
}

impl Client {
    fn start(subject: ReverseLines) -> Result<Client, String> {
        let (ours, theirs) = socket_pair()?;
        let task = spawn("reverse_lines", move || subject(theirs));
        task.fail_fast()?;
        let replies = BufReader::new(
            ours.try_clone()
                .map_err(|e| format!("the check could not clone its socket: {e}"))?,
        );
        Ok(Client {
            stream: ours,
            replies,
            task,
        })
    }

    /// A problem the check saw, unless the function panicked or returned,
    /// which explains it better.
    fn fail(&self, saw: String) -> String {
        match self.task.wait(Duration::from_millis(300)) {
            Err(Waited::Running) => saw,
            Err(Waited::Panicked(why)) => why,
            Ok(returned) => format!(
                "reverse_lines returned {returned:?} too early: {saw}. It should serve line \
                 after line until the client closes the connection"
            ),
        }
    }

    fn send(&self, bytes: &[u8]) -> Result<(), String> {
        (&self.stream)
            .write_all(bytes)
            .map_err(|e| self.fail(format!("the check could not send: {e}")))
    }

    /// Sends in two pieces, with a pause so that they arrive as two reads.
    /// (The pause synchronises nothing: a correct answer passes anyway.)
    fn send_in_two(&self, first: &[u8], second: &[u8]) -> Result<(), String> {
        self.send(first)?;
        thread::sleep(Duration::from_millis(100));
        self.send(second)
    }

    fn reply(&mut self, to: &str) -> Result<String, String> {
        match read_line(&mut self.replies) {
            Ok(Some(line)) => Ok(line),
            Ok(None) => Err(self.fail(format!("the connection closed instead of a reply to {to}"))),
            Err(e) if is_timeout(&e) => Err(self.fail(format!(
                "no reply (no whole line ending in \\n) to {to} within {WAIT:?}"
            ))),
            Err(e) => Err(self.fail(format!("reading the reply to {to} failed: {e}"))),
        }
    }

    fn expect_reply(&mut self, to: &str, expected: &str) -> Result<(), String> {
        let reply = self.reply(to)?;
        same(&expected.to_string(), &reply, || {
            format!("the reply to {to}{}", empty_reply_hint(&reply, expected))
        })
    }
}

/// An empty reply to a non-empty line usually means the `\n` was reversed
/// too, and so sent first.
fn empty_reply_hint(reply: &str, expected: &str) -> &'static str {
    if reply.is_empty() && !expected.is_empty() {
        ". The reply was an empty line: was the \\n reversed with the rest of the line, and \
         so sent first? Take the line end off before reversing, and add it back after."
    } else {
        ""
    }
}

pub fn answers_a_line_with_its_characters_reversed(subject: ReverseLines) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    client.send(b"Go Coding Ninjas.\n")?;
    client.expect_reply("\"Go Coding Ninjas.\"", ".sajniN gnidoC oG")?;
    client.send(b"\n")?;
    client.expect_reply("an empty line", "")
}

pub fn reverses_characters_not_bytes(subject: ReverseLines) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    client.send("héllo wörld 🦀\n".as_bytes())?;
    let reply = client.reply("\"héllo wörld 🦀\"")?;
    same(&"🦀 dlröw olléh".to_string(), &reply, || {
        format!(
            "the reply to \"héllo wörld 🦀\" should be its characters reversed. In UTF-8, é is \
         2 bytes and 🦀 is 4: reversing the bytes scrambles them (a \u{fffd} in your reply \
         is what is left of one). Reverse line.chars(), not the bytes{}",
            empty_reply_hint(&reply, "x")
        )
    })
}

pub fn several_lines_in_one_write_get_one_reply_each(subject: ReverseLines) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    client.send(b"one\ntwo\nthree\n")?;
    let mut replies = Vec::new();
    for _ in 0..3 {
        match client.reply("three lines sent in one write") {
            Ok(reply) => replies.push(reply),
            Err(e) => {
                return Err(format!(
                    "{e}\nThe replies so far: {replies:?}. One read can return several \
                     lines: treat each line on its own (read line by line, not read by read)."
                ));
            }
        }
    }
    same(
        &vec!["eno".to_string(), "owt".into(), "eerht".into()],
        &replies,
        || {
            "three lines in one write should get three replies, in order. One read can return \
         several lines: treat each line on its own, not each read as one message."
                .to_string()
        },
    )
}

pub fn a_line_sent_in_two_pieces_gets_one_reply(subject: ReverseLines) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    client.send_in_two(b"Hello, ", b"world\n")?;
    let reply = client.reply("\"Hello, \" + \"world\\n\"")?;
    same(&"dlrow ,olleH".to_string(), &reply, || {
        "the line \"Hello, world\" arrived in two pieces and should be answered once, as a \
         whole. A read returns whatever has arrived, maybe half a line: collect bytes up to \
         the \\n before you answer (BufRead::read_until, lessons::framing::read_line)."
            .to_string()
    })?;
    nothing_arrives(&client.stream, Duration::from_millis(200))
        .map_err(|got| format!("after the one reply to \"Hello, world\" the check {got}"))
}

pub fn a_character_cut_between_two_writes_is_put_back_together(
    subject: ReverseLines,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    // "é" is the two bytes C3 A9: they are sent in two separate pieces.
    client.send_in_two(b"caf\xc3", b"\xa9 cr\xc3\xa8me\n")?;
    let reply = client.reply("\"café crème\" cut inside the é")?;
    same(&"emèrc éfac".to_string(), &reply, || {
        "\"café crème\" arrived cut in the middle of the é (2 bytes in UTF-8). Decode a line \
         only once all of it has arrived, not each read on its own."
            .to_string()
    })
}

pub fn a_line_ending_in_crlf_is_reversed_without_the_cr(
    subject: ReverseLines,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    client.send(b"telnet\r\n")?;
    let reply = client.reply("\"telnet\\r\\n\"")?;
    same(&"tenlet".to_string(), &reply, || {
        "telnet and Windows end lines with \\r\\n: the \\r is part of the line end, not of \
         the line, so remove it before reversing"
            .to_string()
    })
}

pub fn a_line_that_is_not_utf8_gets_an_error_and_the_next_line_is_served(
    subject: ReverseLines,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    client.send(b"\xff\xfe not text\n")?;
    let reply = client.reply("a line that is not UTF-8")?;
    if !reply.starts_with("error:") {
        return Err(format!(
            "a line that is not UTF-8 should get a reply starting with \"error:\", got \
             {reply:?}. String::from_utf8 (or lessons::framing::read_line) tells you."
        ));
    }
    client.send(b"next\n")?;
    client
        .expect_reply("the line after the bad one", "txen")
        .map_err(|e| {
            format!("{e}\nAfter a line that is not UTF-8, the next line must be served as usual.")
        })
}

pub fn a_line_that_is_too_long_gets_an_error_and_the_connection_closes(
    subject: ReverseLines,
) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    let mut long = vec![b'x'; 8 * 1024];
    long.push(b'\n');
    client.send(&long)?;
    let reply = client.reply("an 8 KiB line (the limit is 1024 bytes)")?;
    if !reply.starts_with("error:") {
        return Err(format!(
            "an 8 KiB line (the limit, MAX_LINE, is 1024 bytes) should get a reply starting \
             with \"error:\", got a reply of {} bytes starting {:?}. Without a limit, a client \
             that never sends \\n makes the server buffer without end: read at most \
             MAX_LINE + 1 bytes (Read::take, or lessons::framing::read_line).",
            reply.len(),
            reply.chars().take(20).collect::<String>()
        ));
    }
    let mut rest = Vec::new();
    match client.replies.read_to_end(&mut rest) {
        Ok(_) if rest.is_empty() => Ok(()),
        Ok(_) => Err(format!(
            "after the error for the too-long line, the connection should close, but {} more \
             bytes came: {:?}...",
            rest.len(),
            String::from_utf8_lossy(&rest[..rest.len().min(20)])
        )),
        Err(e) if is_timeout(&e) => Err(client.fail(format!(
            "after the error for the too-long line, the connection was still open {WAIT:?} \
             later. The rest of that line is still unread, so the start of the next line \
             cannot be found: close the connection (return from the function)."
        ))),
        // A reset after the error line is a close too, if a rude one.
        Err(_) => Ok(()),
    }
}

pub fn returns_when_the_client_closes(subject: ReverseLines) -> Result<(), String> {
    let mut client = Client::start(subject)?;
    client.send(b"ab\n")?;
    client.expect_reply("\"ab\"", "ba")?;
    client
        .stream
        .shutdown(Shutdown::Write)
        .map_err(|e| format!("the check could not close its side: {e}"))?;
    match client.task.wait(WAIT) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!(
            "when the client closed the connection, reverse_lines returned Err({e}); the end \
             of the stream is the normal end: return Ok(())"
        )),
        Err(Waited::Panicked(why)) => Err(why),
        Err(Waited::Running) => Err(format!(
            "{WAIT:?} after the client closed the connection, reverse_lines was still running. \
             At the end of the stream, read returns 0 bytes (read_line: Ok(0), \
             lessons::framing::read_line: Ok(None)) again and again: return then, or the loop \
             spins for ever."
        )),
    }
}
