//! Checks of exercise 02a, `run_client`. A fake user types one line, waits
//! for its reply to show on a fake terminal, and only then types the next,
//! as a person does. A fake server answers every line with `you said:
//! LINE`, a little late and sometimes in two pieces, and stays connected
//! after answering, as real servers do. When a conversation goes wrong, the
//! check looks at everything it recorded (the bytes the server received,
//! what was written and what shows on the terminal, whether the client is
//! waiting for input) and, where that is not enough, tries one more thing
//! (ends the input, or hangs up the server) to see what the client does.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use super::harness::{
    Bell, IN_FLIGHT, Keyboard, Output, Task, Typist, WAIT, Waited, is_timeout, keyboard_ringing,
    lock, on_a_wire, plural, show_str, socket_pair, spawn, spawn_ringing,
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
        exit_in_another_case_is_sent_like_any_other,
        spaces_and_empty_lines_are_sent_as_typed,
        a_windows_line_end_is_not_sent,
        a_reply_that_arrives_in_two_pieces_is_printed_as_one_line,
        a_server_that_closes_instead_of_replying_is_an_error,
        works_when_every_byte_arrives_on_its_own,
        works_when_separate_messages_arrive_merged,
    )
}

/// Where the rules are written.
const TASK: &str = "exercises/src/exit_client.rs";

/// How late the fake server answers each line.
const LATE: Duration = Duration::from_millis(40);

/// What happens after the user types a line, by the task's rules.
#[derive(Clone, Copy, PartialEq)]
enum Then {
    /// The line is sent as this, and its reply printed.
    Sent(&'static str),
    /// The line is exit: the client returns `Ok(())` without sending it.
    Stops,
    /// The line is sent as this; the server closes instead of replying,
    /// and the client returns an error.
    HangsUp(&'static str),
}

/// One thing the user types (with its line end, except a last line typed
/// just before the end of input).
#[derive(Clone, Copy)]
struct Typed {
    keys: &'static str,
    then: Then,
}

const fn sent(keys: &'static str, line: &'static str) -> Typed {
    Typed {
        keys,
        then: Then::Sent(line),
    }
}

const fn stops(keys: &'static str) -> Typed {
    Typed {
        keys,
        then: Then::Stops,
    }
}

/// What the fake server hears and says.
#[derive(Default)]
struct ServerLog {
    /// Every byte received.
    raw: Vec<u8>,
    /// The complete lines received (without `\n`).
    lines: Vec<String>,
    /// The replies sent in full.
    replies: Vec<String>,
    /// The server hung up (a check that wants it to).
    hung_up: bool,
}

impl ServerLog {
    /// Received bytes after the last `\n`.
    fn pending(&self) -> &[u8] {
        let start = self
            .raw
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        &self.raw[start..]
    }
}

/// How the fake server replies.
#[derive(Clone, Copy, Default)]
struct Replies {
    /// Each reply in two pieces, 100 ms apart.
    split: bool,
    /// Hang up instead of replying to this line.
    hang_up_at: Option<&'static str>,
}

/// The fake server: answers each line with `you said: LINE`, after [`LATE`],
/// and stays connected until the client closes or the check ends. It
/// listens on one thread and replies on another, so that what it has
/// received is recorded the moment it arrives, even while it is replying.
fn serve(
    stream: TcpStream,
    log: Arc<Mutex<ServerLog>>,
    bell: Bell,
    stop: Arc<AtomicBool>,
    how: Replies,
) {
    let deadline = Instant::now() + super::CHECK_DEADLINE;
    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    thread::scope(|s| {
        s.spawn(|| {
            let mut writer = &stream;
            for line in lines_rx {
                if how.hang_up_at == Some(line.as_str()) {
                    lock(&log).hung_up = true;
                    let _ = stream.shutdown(Shutdown::Both);
                    bell.ring();
                    return;
                }
                thread::sleep(LATE); // a real server takes its time
                let reply = format!("you said: {line}\n");
                let sent = if how.split {
                    let (first, second) = reply.split_at(6);
                    writer
                        .write_all(first.as_bytes())
                        .map(|()| thread::sleep(Duration::from_millis(100)))
                        .and_then(|()| writer.write_all(second.as_bytes()))
                } else {
                    writer.write_all(reply.as_bytes())
                };
                if sent.is_err() {
                    return;
                }
                lock(&log).replies.push(reply);
                bell.ring();
            }
        });
        let mut buf = [0u8; 4096];
        while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
            let n = match (&stream).read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if is_timeout(&e) => continue,
                Err(_) => break,
            };
            let mut log = lock(&log);
            log.raw.extend_from_slice(&buf[..n]);
            let complete: Vec<String> = log
                .raw
                .split(|&b| b == b'\n')
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect();
            // The last piece has no `\n` (yet): it is not a line.
            let complete = &complete[..complete.len() - 1];
            for line in complete.iter().skip(log.lines.len()) {
                log.lines.push(line.clone());
                let _ = lines_tx.send(line.clone());
            }
            drop(log);
            bell.ring();
        }
        drop(lines_tx);
    });
}

/// One conversation between the check and `run_client`, and everything
/// the check needs to judge it.
struct Conversation {
    script: &'static [Typed],
    /// How many items of the script were typed.
    typed: usize,
    /// The item whose expected outcome did not come in time, if any.
    stuck: Option<usize>,
    bell: Bell,
    typist: Typist,
    output: Output,
    log: Arc<Mutex<ServerLog>>,
    /// The check's handle on the server's socket, to hang up.
    server_end: TcpStream,
    stop: Arc<AtomicBool>,
    client: Task<io::Result<()>>,
    /// How `run_client` ended, once it has and the check looked.
    outcome: Option<Result<io::Result<()>, String>>,
}

impl Drop for Conversation {
    fn drop(&mut self) {
        // Lets the fake server go, and wakes a client still reading it.
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.server_end.shutdown(Shutdown::Both);
    }
}

/// Types `script` one item at a time, each once the previous one's outcome
/// showed; then, if `then_close`, ends the input and waits for the client.
fn converse(
    subject: RunClient,
    script: &'static [Typed],
    then_close: bool,
    how: Replies,
) -> Result<Conversation, String> {
    let bell = Bell::default();
    let (ours, theirs) = socket_pair()?;
    let server_end = ours
        .try_clone()
        .map_err(|e| format!("the check could not clone its socket: {e}"))?;
    let log = Arc::new(Mutex::new(ServerLog::default()));
    let stop = Arc::new(AtomicBool::new(false));
    spawn("the check's server", {
        let (log, bell, stop) = (Arc::clone(&log), bell.clone(), Arc::clone(&stop));
        move || serve(ours, log, bell, stop, how)
    });
    let (typist, keyboard) = keyboard_ringing(&bell);
    let output = Output::ringing(&bell);
    let client = spawn_ringing("run_client", &bell, {
        let output = output.clone();
        move || subject(keyboard, output, theirs)
    });
    client.fail_fast()?;
    let mut c = Conversation {
        script,
        typed: 0,
        stuck: None,
        bell,
        typist,
        output,
        log,
        server_end,
        stop,
        client,
        outcome: None,
    };
    for (i, item) in script.iter().enumerate() {
        if c.client.has_ended() {
            break;
        }
        c.typist.type_text(item.keys);
        c.typed = i + 1;
        if !item.keys.ends_with('\n') {
            c.typist.close(); // a last line without a line end
        }
        let replies = c.expected_replies(c.typed);
        let heard = c.expected_heard(c.typed).len();
        let came = match item.then {
            Then::Sent(_) => {
                let printed = |c: &Conversation| {
                    c.client.has_ended() || c.output.text().matches('\n').count() >= replies
                };
                c.bell.wait_until(WAIT, || printed(&c)) || {
                    // On a busy machine the check's own server (it answers
                    // late, and in pieces) or the wire may be the slow
                    // part: wait until the server has replied (unless the
                    // client went back to the keyboard without sending),
                    // and only then give the client its own time to print.
                    let replied = |c: &Conversation| lock(&c.log).replies.len() >= replies;
                    c.bell.wait_until(2 * WAIT, || {
                        c.client.has_ended()
                            || replied(&c)
                            || (c.typist.is_waited_on()
                                && c.typist.all_taken()
                                && lock(&c.log).lines.len() < heard)
                    });
                    replied(&c) && c.bell.wait_until(WAIT, || printed(&c))
                }
            }
            Then::Stops | Then::HangsUp(_) => c.bell.wait_until(WAIT, || {
                c.client.has_ended() || lock(&c.log).lines.len() > heard
            }),
        };
        if !came {
            c.stuck = Some(i);
            break;
        }
    }
    if then_close && c.stuck.is_none() && !c.client.has_ended() {
        c.typist.close();
        if !c.bell.wait_until(WAIT, || c.client.has_ended()) {
            c.stuck = Some(script.len());
        }
    }
    if on_a_wire() {
        // Over a misbehaving wire, what the client sent may still be on its
        // way: let it arrive before judging what the server heard.
        let heard = c.expected_heard(c.typed).len();
        c.bell
            .wait_until(IN_FLIGHT, || lock(&c.log).lines.len() >= heard);
    }
    c.look_at_outcome(Duration::ZERO);
    Ok(c)
}

impl Conversation {
    /// The lines the server should have heard after the first `typed` items.
    fn expected_heard(&self, typed: usize) -> Vec<&'static str> {
        self.script[..typed]
            .iter()
            .filter_map(|t| match t.then {
                Then::Sent(line) | Then::HangsUp(line) => Some(line),
                Then::Stops => None,
            })
            .collect()
    }

    fn expected_replies(&self, typed: usize) -> usize {
        self.script[..typed]
            .iter()
            .filter(|t| matches!(t.then, Then::Sent(_)))
            .count()
    }

    fn expected_output(&self, typed: usize) -> String {
        self.script[..typed]
            .iter()
            .filter_map(|t| match t.then {
                Then::Sent(line) => Some(format!("you said: {line}\n")),
                _ => None,
            })
            .collect()
    }

    /// Everything typed so far, for messages.
    fn typed_text(&self) -> String {
        let keys: String = self.script[..self.typed].iter().map(|t| t.keys).collect();
        show_str(&keys)
    }

    /// Takes the client's outcome if it has ended, waiting at most `within`.
    fn look_at_outcome(&mut self, within: Duration) {
        if self.outcome.is_some() {
            return;
        }
        match self.client.wait(within) {
            Ok(result) => self.outcome = Some(Ok(result)),
            Err(Waited::Panicked(why)) => self.outcome = Some(Err(why)),
            Err(Waited::Running) => {}
        }
    }

    fn heard(&self) -> Vec<String> {
        lock(&self.log).lines.clone()
    }

    /// A short account of the conversation, for the end of a message.
    fn account(&self) -> String {
        let log = lock(&self.log);
        format!(
            "The user typed {}.\nThe server received {}.\nYour terminal showed {}.",
            self.typed_text(),
            show_str(&String::from_utf8_lossy(&log.raw)),
            show_str(&self.output.text()),
        )
    }

    /// Judges the conversation: the first diagnosis that fits, in order.
    fn judge(&mut self) -> Result<(), String> {
        if let Some(Err(panicked)) = &self.outcome {
            return Err(panicked.clone());
        }
        self.sent_exit()?;
        self.no_line_end_sent()?;
        self.did_not_return_too_soon()?;
        self.heard_what_was_typed()?;
        if let Some(at) = self.stuck {
            return Err(self.why_stuck(at));
        }
        self.printed_the_replies()?;
        self.ended_as_it_should()
    }

    /// A line that is exit reached the server.
    fn sent_exit(&self) -> Result<(), String> {
        let heard = self.heard();
        for item in &self.script[..self.typed] {
            if item.then != Then::Stops {
                continue;
            }
            let exit = item.keys.trim();
            if let Some(line) = heard.iter().find(|l| l.trim() == exit) {
                let went_on = if self.outcome.is_none() {
                    " and went on, waiting for more input"
                } else {
                    ""
                };
                return Err(format!(
                    "your client sent the exit line to the server ({}){went_on}: exit stops the \
                     client and is never sent.\nCheck each line before you send it: if \
                     line.trim() == \"exit\", leave the loop (break) without sending it.\n{}",
                    show_str(line),
                    self.account()
                ));
            }
        }
        Ok(())
    }

    /// The server got bytes after its last line, and no `\n` to end them.
    fn no_line_end_sent(&self) -> Result<(), String> {
        let log = lock(&self.log);
        let pending = log.pending();
        if pending.is_empty() || log.lines.len() >= self.expected_heard(self.typed).len() {
            return Ok(());
        }
        Err(format!(
            "the server received {} with no \\n after it, so it is still waiting for the end \
             of that line and has not replied.\nSend each line followed by \\n: the server \
             reads lines.\n{}",
            show_str(&String::from_utf8_lossy(pending)),
            {
                drop(log);
                self.account()
            }
        ))
    }

    /// Compares the lines the server heard with the lines typed.
    fn heard_what_was_typed(&self) -> Result<(), String> {
        let heard = self.heard();
        let expected = self.expected_heard(self.typed);
        if heard == expected {
            return Ok(());
        }
        let account = self.account();
        let non_empty =
            |v: &[String]| -> Vec<String> { v.iter().filter(|l| !l.is_empty()).cloned().collect() };
        let expected_owned: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        let empties = |v: &[String]| v.iter().filter(|l| l.is_empty()).count();
        // Extra empty lines after the input ended: Ok(0) taken for a line.
        let closed = self.typist.is_closed();
        if closed
            && heard.len() > expected.len()
            && heard[..expected.len()] == expected_owned[..]
            && heard[expected.len()..].iter().all(|l| l.is_empty())
        {
            return Err(format!(
                "after the input ended, your client kept sending empty lines: the server \
                 received {} more.\nAt the end of the input, read_line returns Ok(0) and \
                 lines() returns None: that is not an empty line, it means stop. Return \
                 Ok(()) then.\n{account}",
                heard.len() - expected.len()
            ));
        }
        let with_empty_lines: Vec<String> = expected_owned
            .iter()
            .flat_map(|l| [l.clone(), String::new()])
            .collect();
        if heard.len() >= 2 && with_empty_lines.starts_with(&heard) {
            return Err(format!(
                "each line reached the server followed by an empty line: the line you send \
                 still ends with its \\n, and you add another.\nread_line keeps the \\n at the \
                 end of the line; remove it before sending (or use lines(), which removes \
                 it).\n{account}"
            ));
        }
        if non_empty(&heard) == non_empty(&expected_owned)
            && empties(&heard) < empties(&expected_owned)
        {
            return Err(format!(
                "the user typed an empty line, and the server did not receive it: every line \
                 that is not exit is sent, even an empty one (as just \\n), and gets a reply \
                 (see the task in {TASK}).\n{account}"
            ));
        }
        for (h, e) in heard.iter().zip(&expected) {
            if h == e {
                continue;
            }
            if h.strip_suffix('\r') == Some(e) {
                return Err(format!(
                    "the server received {} for the line {}: the \\r of a \\r\\n line end was \
                     sent with it.\nRemove the whole line end, \\n or \\r\\n, before sending \
                     (lines() does; trim_end_matches('\\n') leaves the \\r).\n{account}",
                    show_str(h),
                    show_str(e)
                ));
            }
            if h == e.trim() {
                return Err(format!(
                    "the server received {} for the line typed {}: the spaces at its start or \
                     end were removed.\nSend every line as it was typed; trim only to compare \
                     with exit.\n{account}",
                    show_str(h),
                    show_str(e)
                ));
            }
            let mut cut = e.to_string();
            cut.pop();
            if *h == cut {
                let had_no_end = self.script[..self.typed]
                    .iter()
                    .any(|t| t.then == Then::Sent(e) && !t.keys.ends_with('\n'));
                let why = if had_no_end {
                    " That line was the last one and had no line end: remove a line end only \
                     where there is one (lines() does)."
                } else {
                    ""
                };
                return Err(format!(
                    "the server received {} for the line {}: its last character was cut \
                     off.{why}\n{account}",
                    show_str(h),
                    show_str(e)
                ));
            }
        }
        // The client stopped before a line it should have sent.
        if heard.len() < expected.len() && heard[..] == expected_owned[..heard.len()] {
            let line = expected[heard.len()];
            let mut end = 0;
            let read = self.script.iter().any(|t| {
                end += t.keys.len();
                t.then == Then::Sent(line) && end <= self.typist.taken()
            });
            if read && matches!(self.outcome, Some(Ok(Ok(())))) {
                let trimmed = line.trim();
                let why = if trimmed.eq_ignore_ascii_case("exit") {
                    format!(
                        "only exit in lower case stops the client: {} is an ordinary message \
                         (see the task in {TASK}). Compare with ==, which tells upper and \
                         lower case apart.",
                        show_str(line)
                    )
                } else if trimmed.starts_with("exit") {
                    format!(
                        "{} only starts with exit. Only a line that is exit (give or take \
                         spaces around it) stops the client: compare the whole trimmed line \
                         with ==, not starts_with().",
                        show_str(line)
                    )
                } else if line.contains("exit") {
                    format!(
                        "{} only contains exit. Only a line that is exit (give or take spaces \
                         around it) stops the client: compare the whole trimmed line with ==, \
                         not contains().",
                        show_str(line)
                    )
                } else if heard.len() == 1 {
                    "your client returned after the first line: it should go round again, \
                     until the input ends or the line is exit."
                        .to_string()
                } else {
                    "it should send every line until the input ends or the line is exit."
                        .to_string()
                };
                return Err(format!(
                    "your client stopped at the line {} and returned without sending it: \
                     {why}\n{account}",
                    show_str(line)
                ));
            }
            return Ok(()); // still running, or an error: judged when stuck
        }
        let expected_owned: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        Err(format!(
            "the server did not receive the lines that were typed.\nExpected {:?}, received \
             {:?}.\n{account}",
            expected_owned, heard
        ))
    }

    /// The client returned before the user had typed everything, or
    /// without reading a line that was typed.
    fn did_not_return_too_soon(&self) -> Result<(), String> {
        if self.outcome.is_none() {
            return Ok(());
        }
        // The first item the client never read: not typed yet, or typed
        // and left on the keyboard. (If it read a line and did not send it,
        // it stopped at that line: judged with what the server heard.)
        let taken = self.typist.taken();
        let mut end = 0;
        let mut read_lines = 0;
        let mut unread = None;
        for item in self.script {
            end += item.keys.len();
            if end <= taken {
                read_lines += usize::from(item.then != Then::Stops);
            } else if item.then != Then::Stops {
                unread = Some(item);
                break;
            }
        }
        let Some(next) = unread else {
            return Ok(());
        };
        if lock(&self.log).lines.len() < read_lines {
            return Ok(());
        }
        let sent = lock(&self.log).lines.len();
        let after = if sent == 1 {
            "after the first line".to_string()
        } else {
            format!("after {}", plural(sent, "line", "lines"))
        };
        let how = match &self.outcome {
            Some(Ok(Err(e))) => format!(" with Err({e})"),
            _ => String::new(),
        };
        Err(format!(
            "your client returned{how} {after}, without reading the next one ({}): it should \
             go round again, until the input ends or the line is exit.\n{}",
            show_str(next.keys),
            self.account()
        ))
    }

    /// Explains why the outcome of item `at` did not come in time.
    fn why_stuck(&mut self, at: usize) -> String {
        self.look_at_outcome(Duration::ZERO);
        if let Some(Err(panicked)) = &self.outcome {
            return panicked.clone();
        }
        if at == self.script.len() {
            // The input ended and the client did not return.
            return format!(
                "{WAIT:?} after the input ended, your client was still running.\nAt the end of \
                 the input, lines() returns None and read_line returns Ok(0): return Ok(()) \
                 then.\n{}",
                self.account()
            );
        }
        let item = self.script[at];
        let keys = show_str(item.keys);
        let account = self.account();
        if let Some(Ok(result)) = &self.outcome {
            return match result {
                Ok(()) => format!(
                    "your client returned Ok(()) after the user typed {keys}, before its reply \
                     was printed: it should print the reply to each line it sends.\n{account}"
                ),
                Err(e) => {
                    format!("your client returned Err({e}) after the user typed {keys}.\n{account}")
                }
            };
        }
        let waiting = self.typist.is_waited_on();
        let (heard, replies) = {
            let log = lock(&self.log);
            (log.lines.len(), log.replies.len())
        };
        let expected_heard = self.expected_heard(at + 1).len();
        match item.then {
            Then::Stops => {
                let how = if waiting {
                    "it did not send it either, and waits for more input. Leave the loop \
                     (break) when the line is exit, instead of only skipping it."
                } else {
                    "it did not send it, and is not reading the input."
                };
                format!(
                    "your client does not stop at exit: {WAIT:?} after the user typed {keys}, it \
                     was still running; {how}\n{account}"
                )
            }
            Then::HangsUp(line) => format!(
                "the server closed the connection instead of replying to {}, and {WAIT:?} \
                 later your client was still running.\nWhen the server closes, reading its \
                 reply gives 0 bytes (read_line returns Ok(0)): return an error then; no \
                 reply is not a normal end, and reading again gives 0 bytes again, for \
                 ever.\n{account}",
                show_str(line)
            ),
            Then::Sent(_) if heard < expected_heard && waiting && self.typist.all_taken() => {
                format!(
                    "your client read {keys} from the input and then waited for more input, \
                     without sending it to the server.\nA person types the next line only after \
                     seeing the reply to this one: send each line as soon as it is read, and \
                     print its reply before reading the next line.\n{account}"
                )
            }
            Then::Sent(_) if heard < expected_heard => format!(
                "{WAIT:?} after the user typed {keys}, the server had not received it, and your \
                 client {}.\n{account}",
                if waiting {
                    "was waiting for more input"
                } else {
                    "was not reading the input"
                }
            ),
            Then::Sent(line) if replies < self.expected_replies(at + 1) => format!(
                "the check's own server had not replied to {} within {WAIT:?}: the machine is too \
                 busy for this check to judge your client. Run it again.\n{account}",
                show_str(line)
            ),
            Then::Sent(line) => self.reply_not_shown(line, waiting),
        }
    }

    /// The server replied to the line, and the reply does not show.
    fn reply_not_shown(&mut self, line: &str, waiting: bool) -> String {
        let reply = format!("you said: {line}");
        let written = self.output.written();
        let shown = self.output.text();
        let account = self.account();
        if let Some(pos) = written.rfind(&reply) {
            let after = &written[pos + reply.len()..];
            if !after.starts_with('\n') {
                let shows = if shown.len() > pos {
                    "It shows only because you flushed, and the next reply will join it on \
                     the same line."
                } else {
                    "Without a \\n (or a flush), a terminal does not even show it yet."
                };
                return format!(
                    "your client printed the reply without a line end: print each reply \
                     followed by \\n.\n{shows}\n{account}"
                );
            }
        }
        // Only the start of the reply, and nothing after it: the client
        // took what one read gave for the whole reply.
        let tail = written.rsplit('\n').next().unwrap_or_default();
        if !tail.is_empty() && reply.starts_with(tail) && tail.len() < reply.len() {
            return format!(
                "your client printed {}, only the first part of the reply {}, and went on \
                 without the rest: one read is not one message.\nThe reply came in more than \
                 one piece, and TCP keeps no message boundaries: read up to the reply's \\n \
                 (BufRead::read_line, or lessons::framing::read_line), then print the whole \
                 line.\n{account}",
                show_str(tail),
                show_str(&format!("{reply}\n"))
            );
        }
        if !waiting {
            // Still reading from the server? Hang up and see.
            let before = self.output.text();
            self.hang_up();
            // Ended by an event: the reply shows, or the client ends. The
            // bound is only for a client that does neither.
            let appeared = self.bell.wait_until(3 * WAIT, || {
                self.output.text().contains(&reply) || self.client.has_ended()
            });
            let now = self.output.text();
            if appeared && now.contains(&reply) && !before.contains(&reply) {
                return format!(
                    "your client printed the reply only when the server closed the connection: it \
                     reads until the end of the stream (read_to_string, read_to_end), but a \
                     server stays connected after replying.\nRead one line, up to its \\n \
                     (BufRead::read_line, or lessons::framing::read_line).\n{account}"
                );
            }
            return format!(
                "the server replied {} {WAIT:?} before the end of this check, and your client \
                 had not printed it, and was not reading the input either.\n{account}",
                show_str(&format!("{reply}\n"))
            );
        }
        // Back at the keyboard without printing. More lines first, long ones:
        // their replies are more than a BufWriter holds (8 KiB), so a buffer
        // shows itself by writing before the input ends.
        let long = format!("{}\n", "0123456789".repeat(100));
        for _ in 0..9 {
            self.typist.type_text(&long);
        }
        // Decided by an event, not by how long the client takes: either
        // something was written, or the client has taken every line and is
        // back at the keyboard, so every reply it was going to write before
        // the input ends has been written. (On a busy machine, nine lines
        // can take longer than a short wait, and a BufWriter then looked
        // like a client that prints only at the end of the input.)
        self.bell.wait_until(3 * WAIT, || {
            self.output.written().len() >= 4096
                || (self.typist.all_taken() && self.typist.is_waited_on())
                || self.client.has_ended()
        });
        if self.output.written().len() >= 4096 {
            return format!(
                "your client's replies waited in a buffer: nothing showed until about 8 KiB of \
                 them had piled up (a BufWriter, say), so a person at the terminal saw \
                 nothing.\nFlush the output after each reply (output.flush()), or write to it \
                 directly.\n{account}"
            );
        }
        // Does it print when the input ends?
        self.typist.close();
        let appeared = self.bell.wait_until(3 * WAIT, || {
            self.output.text().contains(&reply) || self.client.has_ended()
        });
        let appeared = appeared && self.output.text().contains(&reply);
        if appeared {
            return format!(
                "your client printed the replies only after the input ended: it sent each \
                 line, but went back to the keyboard before reading the reply.\nA person waits \
                 for the reply before typing again: read each reply right after sending its \
                 line, and print it.\n{account}"
            );
        }
        format!(
            "your client sent the line, the server replied {}, and your client went back to \
             reading the input without printing the reply; it printed nothing even when the \
             input ended.\n{account}",
            show_str(&format!("{reply}\n"))
        )
    }

    fn hang_up(&self) {
        let _ = self.server_end.shutdown(Shutdown::Both);
    }

    /// Compares what the terminal shows with the replies.
    fn printed_the_replies(&self) -> Result<(), String> {
        let expected = self.expected_output(self.typed);
        let shown = self.output.text();
        if shown == expected {
            return Ok(());
        }
        let account = self.account();
        if shown == expected.replace('\n', "\n\n") {
            return Err(format!(
                "each reply was followed by an empty line on the terminal: the reply you print \
                 still ends with its \\n, and you add another.\nread_line keeps the \\n: print \
                 the reply as it is, or remove the \\n before printing it with one.\n{account}"
            ));
        }
        let first_piece = "you sa\n";
        if shown.starts_with(first_piece) {
            return Err(format!(
                "your client printed {} as the first reply: that is only the first piece of \
                 it.\nThe server sent its reply in two pieces, \"you sa\" and \"id: ...\\n\", 100 \
                 ms apart. TCP is a byte stream: one read may return part of a reply. Read up to \
                 the \\n (BufRead::read_line, or lessons::framing::read_line).\n{account}",
                show_str(first_piece)
            ));
        }
        Err(format!(
            "the terminal should show each reply of the server on a line of its own, and \
             nothing else.\nExpected {}, shown {}.\n{account}",
            show_str(&expected),
            show_str(&shown)
        ))
    }

    /// The client ended as the script says it should.
    fn ended_as_it_should(&mut self) -> Result<(), String> {
        self.look_at_outcome(WAIT);
        let account = self.account();
        let hung_up = lock(&self.log).hung_up;
        match &self.outcome {
            None => Err(format!(
                "your client was still running {WAIT:?} after the end of the conversation.\n{account}"
            )),
            Some(Err(panicked)) => Err(panicked.clone()),
            Some(Ok(Ok(()))) if hung_up => Err(format!(
                "the server closed the connection instead of replying, and your client \
                 returned Ok(()): no reply is an error here. Return an Err (for example \
                 io::ErrorKind::UnexpectedEof, \"the server closed the connection\").\n{account}"
            )),
            Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(_))) if hung_up => Ok(()),
            Some(Ok(Err(e))) => Err(format!(
                "your client returned Err({e}), but the conversation ended normally (the user \
                 typed exit, or the input ended): return Ok(()) then.\n{account}"
            )),
        }
    }
}

fn check(
    subject: RunClient,
    script: &'static [Typed],
    then_close: bool,
    how: Replies,
) -> Result<(), String> {
    converse(subject, script, then_close, how)?.judge()
}

pub fn sends_each_line_and_prints_each_reply(subject: RunClient) -> Result<(), String> {
    const SCRIPT: &[Typed] = &[
        sent("hello\n", "hello"),
        sent("how are you?\n", "how are you?"),
        sent("bye\n", "bye"),
    ];
    check(subject, SCRIPT, true, Replies::default())
}

/// Replayed over the wire only: a character of two bytes, cut between its
/// bytes, must still be printed whole (decode whole lines, not pieces).
fn accents_are_sent_and_printed_unchanged(subject: RunClient) -> Result<(), String> {
    const SCRIPT: &[Typed] = &[sent("café crème\n", "café crème"), sent("bye\n", "bye")];
    check(subject, SCRIPT, true, Replies::default())
}

pub fn stops_at_exit_without_sending_it(subject: RunClient) -> Result<(), String> {
    // The keyboard stays open after `exit`: the user is still there.
    const SCRIPT: &[Typed] = &[sent("hello\n", "hello"), stops("exit\n")];
    check(subject, SCRIPT, false, Replies::default())
}

pub fn the_end_of_the_input_ends_the_client_cleanly(subject: RunClient) -> Result<(), String> {
    // The last line has no line end, as at the end of a file.
    const SCRIPT: &[Typed] = &[
        sent("one line\n", "one line"),
        sent(
            "the last line, with no line end",
            "the last line, with no line end",
        ),
    ];
    check(subject, SCRIPT, true, Replies::default())
}

pub fn a_line_with_exit_inside_a_word_is_sent_like_any_other(
    subject: RunClient,
) -> Result<(), String> {
    const SCRIPT: &[Typed] = &[
        sent("the exit is on the left\n", "the exit is on the left"),
        sent("exiting\n", "exiting"),
        sent("exit now\n", "exit now"),
        stops("exit\n"),
    ];
    check(subject, SCRIPT, false, Replies::default())
}

pub fn exit_with_spaces_around_it_still_stops(subject: RunClient) -> Result<(), String> {
    const SCRIPT: &[Typed] = &[sent("hello\n", "hello"), stops("  exit \t\n")];
    check(subject, SCRIPT, false, Replies::default())
}

pub fn exit_in_another_case_is_sent_like_any_other(subject: RunClient) -> Result<(), String> {
    const SCRIPT: &[Typed] = &[
        sent("Exit\n", "Exit"),
        sent("EXIT\n", "EXIT"),
        stops("exit\n"),
    ];
    check(subject, SCRIPT, false, Replies::default())
}

pub fn spaces_and_empty_lines_are_sent_as_typed(subject: RunClient) -> Result<(), String> {
    const SCRIPT: &[Typed] = &[
        sent("  two spaces first\n", "  two spaces first"),
        sent("\n", ""),
        sent("two spaces last  \n", "two spaces last  "),
    ];
    check(subject, SCRIPT, true, Replies::default())
}

pub fn a_windows_line_end_is_not_sent(subject: RunClient) -> Result<(), String> {
    const SCRIPT: &[Typed] = &[sent("hello\r\n", "hello"), stops("exit\r\n")];
    check(subject, SCRIPT, false, Replies::default())
}

pub fn a_reply_that_arrives_in_two_pieces_is_printed_as_one_line(
    subject: RunClient,
) -> Result<(), String> {
    const SCRIPT: &[Typed] = &[
        sent("split me\n", "split me"),
        sent("and me\n", "and me"),
        stops("exit\n"),
    ];
    let how = Replies {
        split: true,
        ..Replies::default()
    };
    check(subject, SCRIPT, false, how)
}

pub fn a_server_that_closes_instead_of_replying_is_an_error(
    subject: RunClient,
) -> Result<(), String> {
    const SCRIPT: &[Typed] = &[
        sent("hello\n", "hello"),
        Typed {
            keys: "anyone there?\n",
            then: Then::HangsUp("anyone there?"),
        },
    ];
    let how = Replies {
        hang_up_at: Some("anyone there?"),
        ..Replies::default()
    };
    let mut c = converse(subject, SCRIPT, false, how)?;
    // The client should end by itself, with an error, having printed nothing
    // for the reply that never came.
    if c.stuck.is_none() {
        let _ = c.bell.wait_until(WAIT, || c.client.has_ended());
        if !c.client.has_ended() {
            c.stuck = Some(1);
        }
    }
    if c.output.text() == "you said: hello\n\n" {
        return Err(format!(
            "the server closed the connection instead of replying, and your client printed an \
             empty line for the reply that never came.\nWhen the server closes, reading gives 0 \
             bytes (read_line returns Ok(0)): that is no reply at all; return an error \
             instead.\n{}",
            c.account()
        ));
    }
    c.judge()
}

// The checks above that are about lines and replies, replayed over lesson 09's
// proxy: `works_when_every_byte_arrives_on_its_own` and
// `works_when_separate_messages_arrive_merged`.
over_the_wire!(RunClient =>
    sends_each_line_and_prints_each_reply,
    stops_at_exit_without_sending_it,
    the_end_of_the_input_ends_the_client_cleanly,
    a_windows_line_end_is_not_sent,
    accents_are_sent_and_printed_unchanged,
);
