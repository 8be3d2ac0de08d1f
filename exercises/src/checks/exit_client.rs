//! Checks of exercise 02a, `run_client`: a fake user types on a keyboard,
//! a fake server answers each line with `you said: LINE`, and the check
//! compares what the server heard and what the client printed.

use std::io::{self, BufReader, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use super::harness::{
    Keyboard, Output, WAIT, Waited, is_timeout, keyboard, read_line, same, socket_pair, spawn,
};

/// The function under test, with the checks' keyboard and output.
pub type RunClient = fn(Keyboard, Output, TcpStream) -> io::Result<()>;

pub fn checks(subject: RunClient) -> Vec<super::Check> {
    checks!(subject =>
        sends_each_line_and_prints_each_reply,
        stops_at_exit_without_sending_it,
        the_end_of_the_input_ends_the_client_cleanly,
        a_line_with_exit_inside_a_word_is_sent_like_any_other,
        exit_with_spaces_around_it_still_stops,
        a_reply_that_arrives_in_two_pieces_is_printed_as_one_line,
    )
}

/// What happened in one conversation.
struct Conversation {
    /// How `run_client` ended, if it did within the wait.
    outcome: Result<io::Result<()>, Waited>,
    /// Every line the server received, in order.
    heard: Vec<String>,
    /// Everything the client printed.
    printed: String,
    /// Whether the client was blocked reading the keyboard at the end.
    waiting_for_input: bool,
}

/// The fake server: answers every line with `you said: LINE`, in one piece
/// or in two (to show that a reply may arrive split), until the client
/// closes the connection, stays silent for [`WAIT`], or has talked for
/// longer than that (a client that never stops).
fn fake_server(stream: TcpStream, split_replies: bool) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    let mut heard = Vec::new();
    let mut reader = match stream.try_clone() {
        Ok(s) => BufReader::new(s),
        Err(_) => return heard,
    };
    let mut writer = &stream;
    while let Ok(Some(line)) = read_line(&mut reader) {
        if Instant::now() > deadline {
            heard.push("...".to_string());
            break;
        }
        let reply = format!("you said: {line}\n");
        let sent = if split_replies {
            // The pause makes the two halves arrive as two reads; it does
            // not synchronise anything, so a correct client passes anyway.
            let (first, second) = reply.split_at(6);
            writer
                .write_all(first.as_bytes())
                .and_then(|()| writer.flush())
                .map(|()| thread::sleep(Duration::from_millis(100)))
                .and_then(|()| writer.write_all(second.as_bytes()))
        } else {
            writer.write_all(reply.as_bytes())
        };
        heard.push(line);
        if sent.is_err() {
            break;
        }
        if heard.len() >= 10 {
            heard.push("...".to_string());
            break;
        }
    }
    heard
}

/// Types `typed`, closes the keyboard if `then_close`, and watches.
fn converse(
    subject: RunClient,
    typed: &str,
    then_close: bool,
    split_replies: bool,
) -> Result<Conversation, String> {
    let (ours, theirs) = socket_pair()?;
    let server = spawn("the check's server", move || {
        fake_server(ours, split_replies)
    });
    let (mut typist, keyboard) = keyboard();
    let output = Output::default();
    let client = spawn("run_client", {
        let output = output.clone();
        move || subject(keyboard, output, theirs)
    });
    typist.type_text(typed);
    if then_close {
        typist.close();
    }
    let outcome = client.wait(WAIT);
    // A panic (a todo!() at first) explains everything else: report it first.
    if let Err(Waited::Panicked(why)) = outcome {
        return Err(why);
    }
    let waiting_for_input = typist.is_waited_on();
    // When the client returns, its socket closes and the server ends; if it
    // is still running, the server ends after WAIT of silence.
    let heard = match server.wait(WAIT + WAIT) {
        Ok(heard) => heard,
        Err(_) => return Err("the check's own server did not finish (a bug in the check)".into()),
    };
    Ok(Conversation {
        outcome,
        heard,
        printed: output.text(),
        waiting_for_input,
    })
}

/// Fails unless the client returned `Ok(())` after typing `after`.
fn ended_well(c: &Conversation, after: &str, hint: &str) -> Result<(), String> {
    match &c.outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) if is_timeout(e) => Err(format!(
            "after {after}, run_client returned Err({e}): it timed out waiting for a reply. \
             The server heard {:?}. Is your client waiting for a reply to a line it never sent?",
            c.heard
        )),
        Ok(Err(e)) => Err(format!(
            "after {after}, run_client returned Err({e}), but that is a normal way to \
             finish: return Ok(()). The server heard {:?}",
            c.heard
        )),
        Err(Waited::Panicked(why)) => Err(why.clone()),
        Err(Waited::Running) if c.waiting_for_input => Err(format!(
            "{WAIT:?} after {after}, your client was still running, waiting for another \
             line of input. {hint} (The server heard {:?}.)",
            c.heard
        )),
        Err(Waited::Running) => Err(format!(
            "{WAIT:?} after {after}, your client was still running, and not reading the \
             input. Is it waiting for a reply that will not come, or looping? (The server \
             heard {:?}.)",
            c.heard
        )),
    }
}

fn heard_exactly(c: &Conversation, expected: &[&str], typed: &str) -> Result<(), String> {
    let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    same(&expected, &c.heard, || {
        format!("the user typed {typed:?}; the server should have received these lines")
    })
}

fn printed_exactly(c: &Conversation, expected: &str) -> Result<(), String> {
    same(&expected.to_string(), &c.printed, || {
        "the client should print each reply of the server on a line of its own, and nothing \
         else"
            .to_string()
    })
}

pub fn sends_each_line_and_prints_each_reply(subject: RunClient) -> Result<(), String> {
    let typed = "hello\nhow are you?\nbye\n";
    let c = converse(subject, typed, true, false)?;
    if let [first] = c.heard.as_slice() {
        return Err(format!(
            "the user typed 3 lines, but only the first ({first:?}) reached the server. Does \
             your loop go round again after the first reply? Run until the input ends or the \
             line is exit."
        ));
    }
    heard_exactly(&c, &["hello", "how are you?", "bye"], typed)?;
    printed_exactly(
        &c,
        "you said: hello\nyou said: how are you?\nyou said: bye\n",
    )?;
    ended_well(
        &c,
        "the input ended",
        "At the end of the input, read_line returns Ok(0) and lines() returns None: stop then.",
    )
}

pub fn stops_at_exit_without_sending_it(subject: RunClient) -> Result<(), String> {
    // The keyboard stays open after `exit`: the user is still there.
    let typed = "hello\nexit\nnot for the server\n";
    let c = converse(subject, typed, false, false)?;
    let sent_exit = c.heard.iter().any(|l| l == "exit");
    if sent_exit && matches!(c.outcome, Err(Waited::Running)) {
        return Err(format!(
            "your client does not stop at exit: it sent \"exit\" to the server like any \
             other line and went on (the server heard {:?}). Check each line before you send \
             it: if it is exit, leave the loop without sending it.",
            c.heard
        ));
    }
    if sent_exit {
        return Err(format!(
            "the server received \"exit\" (it heard {:?}). The word that ends the client is \
             for the client, not the server: check for exit before you send the line.",
            c.heard
        ));
    }
    ended_well(
        &c,
        "the user typed exit",
        "Leave the loop when the line is exit.",
    )?;
    heard_exactly(&c, &["hello"], typed)?;
    printed_exactly(&c, "you said: hello\n")
}

pub fn the_end_of_the_input_ends_the_client_cleanly(subject: RunClient) -> Result<(), String> {
    let typed = "one line, then Ctrl-D\n";
    let c = converse(subject, typed, true, false)?;
    if c.heard.len() > 1 {
        return Err(format!(
            "after the input ended, your client kept sending: the server heard {:?}. \
             read_line returns Ok(0) at the end of the input (and lines() returns None): \
             that is not an empty line, it means stop.",
            c.heard
        ));
    }
    ended_well(
        &c,
        "the input ended",
        "At the end of the input, read_line returns Ok(0) and lines() returns None: stop \
         then, as if the user had typed exit.",
    )?;
    heard_exactly(&c, &["one line, then Ctrl-D"], typed)?;
    printed_exactly(&c, "you said: one line, then Ctrl-D\n")
}

pub fn a_line_with_exit_inside_a_word_is_sent_like_any_other(
    subject: RunClient,
) -> Result<(), String> {
    let typed = "exiting\nthe exit is on the left\nexit\n";
    let c = converse(subject, typed, false, false)?;
    let words = ["exiting", "the exit is on the left"];
    if c.heard.len() < words.len() && matches!(c.outcome, Ok(Ok(()))) {
        let stopped_at = words[c.heard.len()];
        return Err(format!(
            "your client stopped at {stopped_at:?}, which only contains exit. Only a line \
             that is exit (give or take spaces around it) ends the client: compare the whole \
             trimmed line with ==, not contains() or starts_with()."
        ));
    }
    ended_well(
        &c,
        "the user typed exit",
        "Leave the loop when the line is exit.",
    )?;
    heard_exactly(&c, &words, typed)?;
    printed_exactly(&c, "you said: exiting\nyou said: the exit is on the left\n")
}

pub fn exit_with_spaces_around_it_still_stops(subject: RunClient) -> Result<(), String> {
    let typed = "hello\n  exit \t\nnot for the server\n";
    let c = converse(subject, typed, false, false)?;
    if c.heard.iter().any(|l| l.trim() == "exit") {
        return Err(format!(
            "the user typed \"  exit \\t\" and the server received it (it heard {:?}). This \
             course decided that spaces around exit do not count (see the top of \
             exercises/src/exit_client.rs): compare line.trim() with \"exit\".",
            c.heard
        ));
    }
    ended_well(
        &c,
        "the user typed \"  exit \\t\"",
        "Spaces around exit do not count: compare line.trim() with \"exit\".",
    )?;
    heard_exactly(&c, &["hello"], typed)?;
    printed_exactly(&c, "you said: hello\n")
}

pub fn a_reply_that_arrives_in_two_pieces_is_printed_as_one_line(
    subject: RunClient,
) -> Result<(), String> {
    let typed = "split me\nexit\n";
    let c = converse(subject, typed, false, true)?;
    if c.printed.starts_with("you sa") && !c.printed.starts_with("you said: split me\n") {
        return Err(format!(
            "the server sent its reply in two pieces, \"you sa\" and \"id: split me\\n\", and \
             your client printed {:?}. TCP is a byte stream: one read may return part of a \
             reply. Read up to the \\n (BufRead::read_line, or lessons::framing::read_line).",
            c.printed
        ));
    }
    ended_well(
        &c,
        "the user typed exit",
        "Leave the loop when the line is exit.",
    )?;
    heard_exactly(&c, &["split me"], typed)?;
    printed_exactly(&c, "you said: split me\n")
}
