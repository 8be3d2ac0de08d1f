//! Checks of exercise 04, `chat`: the check plays both the user (a keyboard
//! it types on, a terminal it watches, which shows a line once its `\n` is
//! written and the rest once it is flushed) and the peer (the other end of
//! a real connection, which says its last words a while after the user's
//! end of input). When something does not arrive, the check tries what
//! would make it arrive (typing, a `\n`, ending the input) and says which.

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::Duration;

use super::harness::{
    Bell, EXTRA, Ended, Keyboard, Output, QUIET, Task, Typist, WAIT, Waited, collect,
    keyboard_ringing, show, show_str, socket_pair, spawn_ringing,
};

/// The function under test, with the checks' keyboard and output.
pub type Chat = fn(Keyboard, Output, TcpStream) -> io::Result<()>;

pub fn checks(subject: Chat) -> Vec<super::Check> {
    checks!(subject =>
        what_the_peer_sends_appears_while_the_user_types_nothing,
        what_the_user_types_reaches_a_peer_that_says_nothing,
        the_end_of_the_input_is_passed_on_and_the_peer_still_heard,
        keeps_sending_after_the_peers_end_of_stream_until_the_input_ends,
        an_error_shuts_both_directions_down_and_is_returned,
        bytes_pass_through_unchanged_in_both_directions,
        a_character_cut_between_two_reads_passes_unchanged,
        works_when_every_byte_arrives_on_its_own,
        works_when_separate_messages_arrive_merged,
    )
}

/// How long after the user's end of input the peer says its last words.
const LAST_WORDS_AFTER: Duration = Duration::from_millis(300);

struct Session {
    bell: Bell,
    typist: Typist,
    output: Output,
    peer: TcpStream,
    task: Task<io::Result<()>>,
    /// How `chat` ended, once the check has looked.
    ended: Option<Result<Result<(), String>, String>>,
}

fn start(subject: Chat) -> Result<Session, String> {
    let bell = Bell::default();
    let (peer, theirs) = socket_pair()?;
    let (typist, keyboard) = keyboard_ringing(&bell);
    let output = Output::ringing(&bell);
    let task = spawn_ringing("chat", &bell, {
        let output = output.clone();
        move || subject(keyboard, output, theirs)
    });
    task.fail_fast()?;
    Ok(Session {
        bell,
        typist,
        output,
        peer,
        task,
        ended: None,
    })
}

impl Session {
    /// How `chat` ended, if it has within `within`: `Ok(result)` if it
    /// returned, `Err(message)` if it panicked.
    fn outcome(&mut self, within: Duration) -> Option<Result<Result<(), String>, String>> {
        if self.ended.is_none() {
            self.ended = match self.task.wait(within) {
                Err(Waited::Running) => None,
                Err(Waited::Panicked(why)) => Some(Err(why)),
                Ok(result) => Some(Ok(result.map_err(|e| e.to_string()))),
            };
        }
        self.ended.clone()
    }

    /// Prefers "your function panicked/returned" over what the check saw.
    fn fail(&mut self, saw: String) -> String {
        match self.outcome(Duration::from_millis(300)) {
            None => saw,
            Some(Err(why)) => why,
            Some(Ok(returned)) => format!(
                "chat returned {} too early, while the peer was still connected: {saw}",
                match returned {
                    Ok(()) => "Ok(())".to_string(),
                    Err(e) => format!("Err({e})"),
                }
            ),
        }
    }

    fn peer_says(&mut self, bytes: &[u8]) -> Result<(), String> {
        match (&self.peer).write_all(bytes) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(format!("the peer could not send: {e}"))),
        }
    }

    /// What the peer receives until `len` bytes came, or [`WAIT`] passed.
    fn peer_hears(&self, len: usize, into: &mut Vec<u8>) -> Ended {
        collect(&self.peer, into, WAIT, |b| b.len() >= len)
    }

    fn shows(&self, expected: &str) -> bool {
        self.output
            .wait_for(WAIT, |text| text.len() >= expected.len())
    }

    /// The peer sent `sent`: expects the terminal to show exactly that.
    fn output_shows(&mut self, sent: &str) -> Result<(), String> {
        if self.shows(sent) {
            return self.shown_as_sent(sent);
        }
        if let Some(Err(why)) = self.outcome(Duration::ZERO) {
            return Err(why);
        }
        let shown = self.output.text();
        let written = self.output.written();
        if written.starts_with(sent) {
            return Err(format!(
                "what the peer sent was written to the output but not flushed, so a terminal \
                 does not show {} yet (it shows a line once its \\n is written, the rest once \
                 it is flushed).\nFlush the output after each write: output.flush().",
                show_str(&written[shown.len()..])
            ));
        }
        let waiting = self.typist.is_waited_on();
        if written.is_empty() && waiting {
            // Does it come once the user types?
            self.typist.type_text("hi\n");
            if self.output.wait_for(WAIT, |t| !t.is_empty()) {
                return Err(
                    "what the peer sent appeared only after the user typed a line: your code \
                     waits for the keyboard before it reads the peer.\nOne thread cannot wait \
                     for both: read the peer on one thread and the keyboard on another."
                        .to_string(),
                );
            }
        }
        if !sent.ends_with('\n') && sent[..sent.len() - 1].contains('\n') {
            // Does the part without a \n come once a \n follows?
            let _ = (&self.peer).write_all(b"\n");
            let tail = &sent[sent.rfind('\n').map_or(0, |i| i + 1)..];
            if self.output.wait_for(WAIT, |t| t.contains(tail)) {
                return Err(format!(
                    "the end of what the peer sent, {}, has no \\n, and appeared only once a \\n \
                     followed: your code reads lines from the peer.\nA prompt or half a line \
                     must show at once: copy bytes, not lines, and flush after each write.",
                    show_str(tail)
                ));
            }
        }
        Err(self.fail(format!(
            "the peer sent {}, and after {WAIT:?} the terminal showed {}.",
            show_str(sent),
            show_str(&shown)
        )))
    }

    /// Compares what the terminal shows with what the peer sent.
    fn shown_as_sent(&self, sent: &str) -> Result<(), String> {
        let shown = self.output.text();
        if shown == sent {
            return Ok(());
        }
        let changes = changes(sent, &shown);
        if !changes.is_empty() {
            return Err(format!(
                "the peer sent {}, and the terminal showed {}: your code changed it ({}).\nBytes \
                 pass through unchanged: copy them as they are.",
                show_str(sent),
                show_str(&shown),
                changes.join(", ")
            ));
        }
        Err(format!(
            "the terminal should show exactly what the peer sent, unchanged.\nThe peer sent {}, \
             the terminal showed {}.",
            show_str(sent),
            show_str(&shown)
        ))
    }

    /// The user typed `typed`: expects the peer to receive exactly that.
    fn peer_hears_typed(&mut self, typed: &str) -> Result<(), String> {
        let mut heard = Vec::new();
        let mut ended = self.peer_hears(typed.len(), &mut heard);
        if ended == Ended::Enough {
            // Anything more, at once? (A line end added, say.)
            ended = collect(&self.peer, &mut heard, EXTRA, |b| b.len() > typed.len());
            if ended == Ended::TimedOut {
                ended = Ended::Enough;
            }
        }
        if heard == typed.as_bytes() {
            return Ok(());
        }
        let got = show(&heard);
        // A chat that has stopped (a panic, say) explains the silence.
        if let Some(Err(why)) = self.outcome(Duration::ZERO) {
            return Err(why);
        }
        if heard.is_empty() && ended == Ended::TimedOut {
            if self.typist.taken() == 0 {
                return Err(format!(
                    "your code did not read the keyboard while the peer said nothing: the user \
                     typed {}, and {WAIT:?} later none of it had been read. It waits for the \
                     peer before it reads the keyboard.\nOne thread cannot wait for both: copy \
                     the keyboard to the peer on a thread of its own.",
                    show_str(typed)
                ));
            }
            if !self.typist.is_closed() {
                // Read but not sent: does it leave once the input ends?
                self.typist.close();
                if collect(&self.peer, &mut heard, WAIT, |b| b.len() >= typed.len())
                    == Ended::Enough
                {
                    return Err(format!(
                        "what the user typed, {}, reached the peer only once the input ended: \
                         until then it waited in a buffer (a BufWriter, say).\nWrite to the \
                         socket directly, or flush after each write.",
                        show_str(typed)
                    ));
                }
            }
        }
        if !heard.is_empty() && typed.as_bytes().starts_with(&heard) && !self.typist.all_taken() {
            return Err(format!(
                "the peer received {got} and then nothing, and the rest of what the user typed \
                 was left unread: your code waits for the peer to answer before it reads the \
                 keyboard again.\nCopy the keyboard to the peer on a thread of its own, whatever \
                 the peer does."
            ));
        }
        let heard_text = String::from_utf8_lossy(&heard);
        let changes = changes(typed, &heard_text);
        if !changes.is_empty() {
            return Err(format!(
                "the peer received {got}, but the user typed {}: your code changed it ({}).\n\
                 Bytes pass through unchanged: copy them as they are (io::copy).",
                show_str(typed),
                changes.join(", ")
            ));
        }
        let then = match ended {
            Ended::Closed => ", and then the connection closed".to_string(),
            Ended::TimedOut => format!(", and nothing more for {WAIT:?}"),
            _ => String::new(),
        };
        Err(self.fail(format!(
            "the user typed {}, and the peer received {got}{then}: it should receive exactly \
             what was typed.",
            show_str(typed)
        )))
    }
}

/// How `got` differs from `sent`, where a known change explains it.
fn changes(sent: &str, got: &str) -> Vec<&'static str> {
    let mut seen = Vec::new();
    if got.ends_with('\n') && !sent.ends_with('\n') && got.starts_with(sent.trim_end()) {
        seen.push("a \\n was added after the last line");
    }
    if sent.contains('\r') && !got.contains('\r') {
        seen.push("the \\r of \\r\\n were removed");
    }
    if got.len() > sent.len() && got.ends_with(sent) {
        seen.push("text was put before it");
    }
    seen
}

pub fn what_the_peer_sends_appears_while_the_user_types_nothing(
    subject: Chat,
) -> Result<(), String> {
    let mut session = start(subject)?;
    session.peer_says(b"hello\nare you there? ")?;
    session.output_shows("hello\nare you there? ")
}

pub fn what_the_user_types_reaches_a_peer_that_says_nothing(subject: Chat) -> Result<(), String> {
    let mut session = start(subject)?;
    session.typist.type_text("one\n");
    // A person types the next line a moment later.
    let _ = session
        .bell
        .wait_until(QUIET, || session.typist.all_taken());
    session.typist.type_text("two\n");
    session.peer_hears_typed("one\ntwo\n")
}

pub fn the_end_of_the_input_is_passed_on_and_the_peer_still_heard(
    subject: Chat,
) -> Result<(), String> {
    let mut session = start(subject)?;
    // A last line without a line end, then the end of input.
    session.typist.type_text("bye");
    session.typist.close();
    session.peer_hears_typed("bye")?;
    let mut more = Vec::new();
    match collect(&session.peer, &mut more, WAIT, |b| !b.is_empty()) {
        Ended::Closed => {}
        Ended::TimedOut if !session.typist.saw_end() => {
            return Err(session.fail(format!(
                "the input ended, and {WAIT:?} later your code still had not read the end of it, \
                 so the peer could not be told: it does not read the keyboard while it waits \
                 for the peer.\nCopy the keyboard to the peer on a thread of its own."
            )));
        }
        Ended::TimedOut
            if {
                // Does the end come once the peer says something?
                let _ = (&session.peer).write_all(b"?\n");
                collect(&session.peer, &mut more, WAIT, |b| !b.is_empty()) == Ended::Closed
            } =>
        {
            return Err(
                "the input ended, and the peer saw the end of the stream only after it had said \
                 something itself: your code waits for the peer before it goes back to the \
                 keyboard.\nCopy the keyboard to the peer on a thread of its own."
                    .to_string(),
            );
        }
        Ended::TimedOut => {
            return Err(session.fail(format!(
                "the input ended, but {WAIT:?} later the peer had not seen the end of the \
                 stream: call shutdown(Shutdown::Write) on the socket when the input ends.\nIt \
                 tells the peer \"nothing more from me\". Dropping a try_clone()d handle does \
                 not, while another handle to the connection is open."
            )));
        }
        Ended::Enough => {
            return Err(format!(
                "after the input ended, the peer received more: {}.",
                show(&more)
            ));
        }
        Ended::Failed(e) => {
            return Err(session.fail(format!(
                "after the input ended, the connection failed at the peer: {e}"
            )));
        }
    }
    // The peer takes its time, then has the last word, and closes. Then
    // either the words show or chat ends without them: both are events,
    // so the check waits for whichever comes, not for a moment of quiet.
    thread::sleep(LAST_WORDS_AFTER);
    let _ = (&session.peer).write_all(b"see you\n");
    let task = &session.task;
    session.bell.wait_until(WAIT, || {
        task.has_ended() || session.output.text().len() >= "see you\n".len()
    });
    let shown = session.output.text();
    if !shown.contains("see you")
        && let Some(Ok(returned)) = session.outcome(Duration::ZERO)
    {
        let returned = match returned {
            Ok(()) => "Ok(())".to_string(),
            Err(e) => format!("Err({e})"),
        };
        return Err(format!(
            "chat returned {returned} once the input had ended, before the peer's stream \
             ended: the peer said {} {LAST_WORDS_AFTER:?} later, and it was never shown.\nThe \
             end of the input ends only the direction from the keyboard to the peer: what the \
             peer sends must still be shown, until the peer's stream ends.",
            show_str("see you\n")
        ));
    }
    if !session.shows("see you\n") {
        return Err(session.fail(format!(
            "after the input ended, the peer said {} ({LAST_WORDS_AFTER:?} later), and {WAIT:?} \
             after that the terminal showed {}.\nAfter the input ends, keep copying from the \
             peer: it may still have things to say.",
            show_str("see you\n"),
            show_str(&session.output.text())
        )));
    }
    session.shown_as_sent("see you\n")?;
    let _ = session.peer.shutdown(Shutdown::Both);
    match session.outcome(WAIT) {
        Some(Ok(Ok(()))) => Ok(()),
        Some(Ok(Err(e))) => Err(format!(
            "when the peer's stream ended (after the input had ended), chat returned Err({e}): \
             both directions ending is the normal end of a chat, so return Ok(())."
        )),
        Some(Err(why)) => Err(why),
        None => Err(format!(
            "{WAIT:?} after both directions were done (the input had ended, and then the peer's \
             stream), chat was still running: return once both are done (a read that returns 0 \
             bytes is the peer's end of stream; reading again gets 0 again, for ever)."
        )),
    }
}

/// "Ok(())" or "Err(...)", for messages.
fn returned(result: &Result<(), String>) -> String {
    match result {
        Ok(()) => "Ok(())".to_string(),
        Err(e) => format!("Err({e})"),
    }
}

pub fn keeps_sending_after_the_peers_end_of_stream_until_the_input_ends(
    subject: Chat,
) -> Result<(), String> {
    let mut session = start(subject)?;
    session.peer_says(b"last words\n")?;
    session.output_shows("last words\n")?;
    // The peer half-closes: it will send nothing more, and still reads.
    let _ = session.peer.shutdown(Shutdown::Write);
    let returned_early = |returned: &Result<(), String>, after: &str| {
        format!(
            "chat returned {} when the peer's stream ended, while the input was still open{after}.\n\
             A read of 0 says only that the peer will send nothing more: it may still read. \
             Returning ends the conversation (the program exits), so what the user types next \
             is never sent. Keep sending what is typed until the input ends; return once both \
             directions are done.",
            self::returned(returned)
        )
    };
    session.typist.type_text("still here\n");
    if let Err(saw) = session.peer_hears_typed("still here\n") {
        // (If the check ended the input to see whether that helps, chat
        // may have returned because of that: then `saw` says it all.)
        return Err(match session.outcome(Duration::ZERO) {
            Some(Ok(r)) if !session.typist.is_closed() => {
                let saw = saw
                    .split_once("while the peer was still connected: ")
                    .map_or(saw.as_str(), |(_, saw)| saw);
                returned_early(&r, &format!(", and then {saw}"))
            }
            _ => saw,
        });
    }
    // An answer that takes the peer's end of stream for the end of the
    // chat returns once it has read it, which happens before or soon after
    // the line above arrived: give it that time, then look.
    let task = &session.task;
    session.bell.wait_until(WAIT, || task.has_ended());
    match session.outcome(Duration::ZERO) {
        Some(Err(why)) => return Err(why),
        Some(Ok(r)) => return Err(returned_early(&r, "")),
        None => {}
    }
    session.typist.type_text("bye\n");
    let closed_at = std::time::Instant::now();
    session.typist.close();
    session.peer_hears_typed("bye\n")?;
    let mut more = Vec::new();
    match collect(&session.peer, &mut more, WAIT, |b| !b.is_empty()) {
        Ended::Closed => {}
        Ended::Enough => {
            return Err(format!(
                "after the input ended, the peer received more: {}.",
                show(&more)
            ));
        }
        Ended::TimedOut => {
            return Err(session.fail(format!(
                "the peer's stream had ended, then the input ended, and {WAIT:?} later the peer \
                 had not seen the end of our stream: call shutdown(Shutdown::Write) when the \
                 input ends."
            )));
        }
        Ended::Failed(e) => {
            return Err(session.fail(format!(
                "after the input ended, the connection failed at the peer: {e}"
            )));
        }
    }
    let outcome = session.outcome(WAIT);
    // Returned late on a busy machine, but still before the input ended?
    if let Some(Ok(r)) = &outcome
        && session.task.ended_at().is_some_and(|at| at < closed_at)
    {
        return Err(returned_early(r, ""));
    }
    match outcome {
        Some(Ok(Ok(()))) => Ok(()),
        Some(Ok(Err(e))) => Err(format!(
            "both directions ended normally (the peer's stream, then the input), and chat \
             returned Err({e}): that is the normal end of a chat, so return Ok(())."
        )),
        Some(Err(why)) => Err(why),
        None => Err(format!(
            "{WAIT:?} after both directions were done (the peer's stream had ended, then the \
             input), chat was still running: return once both are done."
        )),
    }
}

pub fn an_error_shuts_both_directions_down_and_is_returned(subject: Chat) -> Result<(), String> {
    let mut session = start(subject)?;
    session.peer_says(b"one\n")?;
    session.output_shows("one\n")?;
    // The terminal goes away; the user's input stays open (a keyboard
    // thread blocked on it cannot be interrupted).
    session.output.break_down();
    session.peer_says(b"two\n")?;
    let mut more = Vec::new();
    let at_the_peer = collect(&session.peer, &mut more, WAIT, |_| false);
    let told = matches!(at_the_peer, Ended::Closed | Ended::Failed(_));
    let outcome = session.outcome(WAIT);
    let failed = format!(
        "writing to the output failed (BrokenPipe, \"the terminal was closed\") when the peer \
         sent {}",
        show_str("two\n")
    );
    match outcome {
        Some(Err(why)) => Err(why),
        Some(Ok(Ok(()))) => Err(format!(
            "{failed}, and chat returned Ok(()): return the error, so that the caller knows \
             the chat broke."
        )),
        Some(Ok(Err(_))) if told => Ok(()),
        Some(Ok(Err(e))) => Err(format!(
            "{failed}; chat returned Err({e}), but {WAIT:?} later the peer still had not seen \
             the end of the stream, with the user's input still open: the handle the keyboard \
             direction holds keeps the connection open, so the peer waits for ever.\nOn an \
             error, shutdown(Shutdown::Both) ends the connection whatever handles are open."
        )),
        None if told => Err(format!(
            "{failed}; the peer saw the connection end, but {WAIT:?} later chat was still \
             running: return the error at once (the keyboard thread may wait for a key for ever, \
             so do not wait for it)."
        )),
        None => Err(format!(
            "{failed}, and {WAIT:?} later chat was still running and the peer had not seen the \
             end of the stream: on an error, end the connection (shutdown(Shutdown::Both)) and \
             return the error at once, without waiting for the keyboard thread (it may wait for \
             a key for ever)."
        )),
    }
}

pub fn bytes_pass_through_unchanged_in_both_directions(subject: Chat) -> Result<(), String> {
    let mut session = start(subject)?;
    let from_peer = "  spaced  \r\n\n\tno line end";
    session.peer_says(from_peer.as_bytes())?;
    session.output_shows(from_peer)?;
    let typed = "a\r\n\n  b  ";
    session.typist.type_text(typed);
    session.typist.close();
    session.peer_hears_typed(typed)
}

/// A message cut inside characters (é, €) and with bytes that are not
/// UTF-8, each piece its own read: the bytes must pass as they came.
const CUT: &[&[u8]] = &[b"caf\xc3", b"\xa9 \xe2\x82", b"\xac \xff", b"\xfe ok\n"];

/// What a per-piece decoding puts where a piece ends inside a character.
fn replaced(got: &[u8], sent: &[u8]) -> bool {
    let marks = |b: &[u8]| b.windows(3).filter(|w| *w == "\u{fffd}".as_bytes()).count();
    marks(got) > marks(sent)
}

fn cut_message(direction: &str, sent: &[u8], got: &[u8]) -> String {
    let why = if replaced(got, sent) {
        "decoded as text piece by piece (String::from_utf8_lossy, say): a piece that ends \
         inside a character, and bytes that are not UTF-8, became U+FFFD (\u{fffd}).\nCopy \
         the bytes as they came, without decoding them."
    } else {
        "it should pass exactly the bytes that came, however they are cut."
    };
    format!(
        "{direction} {} in {} pieces, cut inside é and €, with two bytes that are not UTF-8, \
         and {} came out: {why}",
        show(sent),
        CUT.len(),
        show(got)
    )
}

pub fn a_character_cut_between_two_reads_passes_unchanged(subject: Chat) -> Result<(), String> {
    let mut session = start(subject)?;
    let sent: Vec<u8> = CUT.concat();
    // From the peer: each piece once the one before it has been written
    // out, so that each is a read of its own.
    for piece in CUT {
        let before = session.output.bytes().len();
        session.peer_says(piece)?;
        let output = &session.output;
        if !session
            .bell
            .wait_until(WAIT, || output.bytes().len() > before)
        {
            break;
        }
    }
    let output = &session.output;
    session
        .bell
        .wait_until(WAIT, || output.bytes().len() >= sent.len());
    let got = session.output.bytes();
    if got != sent {
        if let Some(Err(why)) = session.outcome(Duration::ZERO) {
            return Err(why);
        }
        return Err(cut_message("the peer sent", &sent, &got));
    }
    // From the keyboard: each piece typed on its own is a read of its own.
    for piece in CUT {
        session.typist.type_bytes(piece);
    }
    let mut heard = Vec::new();
    if collect(&session.peer, &mut heard, WAIT, |b| b.len() >= sent.len()) == Ended::Enough {
        let _ = collect(&session.peer, &mut heard, EXTRA, |b| b.len() > sent.len());
    }
    if heard != sent {
        if let Some(Err(why)) = session.outcome(Duration::ZERO) {
            return Err(why);
        }
        return Err(cut_message("the user typed", &sent, &heard));
    }
    Ok(())
}

// The checks above that are about bytes in both directions, replayed over lesson 09's
// proxy: `works_when_every_byte_arrives_on_its_own` and
// `works_when_separate_messages_arrive_merged`.
over_the_wire!(bytes Chat =>
    what_the_peer_sends_appears_while_the_user_types_nothing,
    what_the_user_types_reaches_a_peer_that_says_nothing,
    the_end_of_the_input_is_passed_on_and_the_peer_still_heard,
    bytes_pass_through_unchanged_in_both_directions,
);
