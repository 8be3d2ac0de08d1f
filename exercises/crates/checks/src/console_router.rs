//! Checks of exercise 05, `run_room`: the check sends the events a real
//! server would (clients joining with real connections, console lines,
//! clients leaving) and watches what each client receives, byte for byte,
//! and what the console shows (a terminal: a line once its `\n` is written).

use std::io;
use std::net::TcpStream;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

use super::harness::{
    Ended, Output, QUIET, Task, WAIT, Waited, collect, show, show_str, socket_pair, spawn,
};
use super::shared::console_router::Event;

/// The function under test, with the checks' console.
pub type RunRoom = fn(Receiver<Event>, Output) -> io::Result<()>;

pub fn checks(subject: RunRoom) -> Vec<super::Check> {
    checks!(subject =>
        plain_text_goes_to_every_client,
        to_n_reaches_client_n_and_nobody_else,
        an_unknown_client_is_an_error_on_the_console_and_the_room_goes_on,
        a_to_without_a_number_or_a_text_is_a_usage_error,
        an_unknown_command_is_an_error_on_the_console,
        a_client_that_left_gets_nothing_more,
        a_client_that_vanished_does_not_stop_the_room,
        returns_when_every_sender_is_gone,
    )
}

/// Where the rules are written.
const TASK: &str = "exercises/src/console_router.rs";

/// One client as the check sees it: its end of the connection.
struct Client {
    id: u64,
    stream: TcpStream,
    /// Bytes received and not yet read as a message.
    pending: Vec<u8>,
}

struct Room {
    events: Option<Sender<Event>>,
    console: Output,
    task: Task<io::Result<()>>,
    /// How `run_room` ended, once the check has seen it, in words.
    ended: Option<String>,
    /// Every console line typed so far, for messages.
    typed: Vec<String>,
    /// How many error lines the console had shown when the last one the
    /// check waited for came: a later error must be a new line, not one
    /// already there.
    errors_seen: usize,
}

/// Starts the room with clients of these ids.
fn start(subject: RunRoom, ids: &[u64]) -> Result<(Room, Vec<Client>), String> {
    let (tx, rx) = mpsc::channel();
    let console = Output::default();
    let task = spawn("run_room", {
        let console = console.clone();
        move || subject(rx, console)
    });
    task.fail_fast()?;
    let mut room = Room {
        errors_seen: 0,
        events: Some(tx),
        console,
        task,
        ended: None,
        typed: Vec::new(),
    };
    let mut joined = Vec::new();
    for &id in ids {
        let (ours, theirs) = socket_pair()?;
        room.send(Event::Joined { id, stream: theirs })?;
        joined.push(Client {
            id,
            stream: ours,
            pending: Vec::new(),
        });
    }
    Ok((room, joined))
}

impl Room {
    /// How `run_room` ended, if it has within `within`, in words.
    fn ended(&mut self, within: Duration) -> Option<String> {
        if self.ended.is_none() {
            self.ended = match self.task.wait(within) {
                Err(Waited::Running) => None,
                Err(Waited::Panicked(why)) => Some(why),
                Ok(Ok(())) => Some(
                    "run_room returned Ok(()) while events were still coming: it should return \
                     only when the channel closes."
                        .to_string(),
                ),
                Ok(Err(e))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::BrokenPipe
                            | io::ErrorKind::ConnectionReset
                            | io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    Some(format!(
                        "run_room returned Err({e}): a client vanished and writing to it failed; \
                         forget that client and carry on with the others.\nReturning the error \
                         (with ?) stops the room for everyone."
                    ))
                }
                Ok(Err(e)) => Some(format!(
                    "run_room returned Err({e}) while events were still coming: it should return \
                     only when the channel closes."
                )),
            };
        }
        self.ended.clone()
    }

    fn fail(&mut self, saw: String) -> String {
        match self.ended(Duration::from_millis(300)) {
            None => saw,
            Some(why) => format!("{why}\n(What the check saw: {saw})"),
        }
    }

    fn send(&mut self, event: Event) -> Result<(), String> {
        let Some(events) = &self.events else {
            return Err("the check closed the channel already (a bug in the check)".into());
        };
        if events.send(event).is_err() {
            return Err(self.fail("run_room is no longer receiving events".into()));
        }
        Ok(())
    }

    fn type_line(&mut self, line: &str) -> Result<(), String> {
        self.typed.push(line.to_string());
        self.send(Event::Console(line.to_string()))
    }

    /// Waits for a console line starting with `error:` that contains
    /// `about`, after the console typed `typed`.
    fn console_error(
        &mut self,
        typed: &str,
        about: &str,
        clients: &mut [Client],
    ) -> Result<(), String> {
        let seen = self.errors_seen;
        let has_error = |text: &str| {
            let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("error:")).collect();
            errors.len() > seen && errors[seen..].iter().any(|l| l.contains(about))
        };
        if self.console.wait_for(WAIT, has_error) {
            self.errors_seen = (self.console.text().lines())
                .filter(|l| l.starts_with("error:"))
                .count();
            return Ok(());
        }
        // A room that has stopped (a panic, say) explains the silence.
        if let Some(why) = self.ended(Duration::from_millis(100)) {
            return Err(format!(
                "{why}\n(What the check saw: no error on the console after {}.)",
                show_str(typed)
            ));
        }
        let shown = self.console.text();
        let written = self.console.written();
        if has_error(&written) {
            return Err(format!(
                "the error for {} was written to the console without a \\n, so a terminal does \
                 not show it yet: end each console line with \\n (writeln!).",
                show_str(typed)
            ));
        }
        // Did the error go to a client instead?
        for client in clients.iter_mut() {
            let mut got = std::mem::take(&mut client.pending);
            let _ = collect(&client.stream, &mut got, Duration::ZERO, |_| false);
            let _ = collect(&client.stream, &mut got, QUIET, |b| !b.is_empty());
            if String::from_utf8_lossy(&got).contains(typed) {
                return Err(format!(
                    "client #{} received {}: the command was sent to the clients as a message, \
                     and the console showed no error. A line starting with / is a command; an \
                     unknown or wrong one gets a line starting with \"error:\" on the console.",
                    client.id,
                    show(&got)
                ));
            }
            if String::from_utf8_lossy(&got).contains("error") {
                return Err(format!(
                    "the error for {} went to client #{} ({}), not to the console: problems are \
                     for the server's user, on `console`.",
                    show_str(typed),
                    client.id,
                    show(&got)
                ));
            }
            let lower = typed.to_lowercase();
            if !got.is_empty() && lower != typed && lower.starts_with("/to ") {
                return Err(format!(
                    "after the console typed {}, client #{} received {}: {} is not /to, because \
                     commands are case-sensitive, and an unknown command gets a line starting \
                     with \"error:\" on the console (see the task in {TASK}).",
                    show_str(typed),
                    client.id,
                    show(&got),
                    typed.split(' ').next().unwrap_or(typed)
                ));
            }
            let no_text = typed
                .strip_prefix("/to ")
                .is_some_and(|n| n.parse::<u64>().is_ok());
            if no_text
                && got
                    .strip_suffix(b"\n")
                    .is_some_and(|g| g.trim_ascii().is_empty() || g == b"[server] ")
            {
                return Err(format!(
                    "after the console typed {}, a /to with a number but no text, client #{} \
                     received an empty message, {}, and the console showed no new error: /to N \
                     without a text is a usage error, a line starting with \"error:\" on the \
                     console, and nothing goes to the client.",
                    show_str(typed),
                    client.id,
                    show(&got)
                ));
            }
            if !got.is_empty() {
                return Err(format!(
                    "after the console typed {}, client #{} received {}, and the console showed \
                     no error: that line is a mistake of the console's user, and gets a line \
                     starting with \"error:\" on the console, not a message to anyone.",
                    show_str(typed),
                    client.id,
                    show(&got)
                ));
            }
            client.pending = got;
        }
        if let Some(line) = shown.lines().find(|l| l.contains(about)) {
            return Err(format!(
                "after the console typed {}, the console showed {}: an error line starts with \
                 \"error:\" (see the task in {TASK}).",
                show_str(typed),
                show_str(line)
            ));
        }
        if shown.is_empty() {
            // Does it come when the room ends?
            self.events = None;
            let _ = self.ended(WAIT);
            if has_error(&self.console.text()) {
                return Err(format!(
                    "the error for {} appeared on the console only when run_room returned: \
                     until then it waited in a buffer (a BufWriter, say), and the user saw \
                     nothing.\nWrite to the console directly, or flush after each line.",
                    show_str(typed)
                ));
            }
            return Err(format!(
                "after the console typed {}, the console should show a line starting with \
                 \"error:\" that mentions {about:?}; it showed nothing, even when run_room \
                 returned.",
                show_str(typed)
            ));
        }
        Err(self.fail(format!(
            "after the console typed {}, the console should show a line starting with \
             \"error:\" that mentions {about:?}; after {WAIT:?} it showed {}.",
            show_str(typed),
            show_str(&shown)
        )))
    }
}

impl Client {
    /// Reads one message (up to its `\n`) and expects `[server] text`.
    fn receives(&mut self, room: &mut Room, text: &str, after: &str) -> Result<(), String> {
        let expected = format!("[server] {text}\n");
        let ended = collect(&self.stream, &mut self.pending, WAIT, |b| {
            b.contains(&b'\n')
        });
        let end = self
            .pending
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.pending.len(), |i| i + 1);
        let got: Vec<u8> = self.pending.drain(..end).collect();
        if got == expected.as_bytes() {
            return Ok(());
        }
        let id = self.id;
        let shown = show(&got);
        let want = show_str(&expected);
        let line = String::from_utf8_lossy(&got);
        let line = line.trim_end_matches('\n');
        if got.is_empty() {
            return Err(match ended {
                Ended::Closed => room.fail(format!(
                    "client #{id} expected {want} after {after}, but its connection was closed."
                )),
                _ => room.fail(format!(
                    "client #{id} expected {want} after {after}, and received nothing within \
                     {WAIT:?}."
                )),
            });
        }
        if !got.ends_with(b"\n") && expected.starts_with(line) {
            return Err(format!(
                "client #{id} received {shown} after {after}, with no \\n at the end: end each \
                 message with \\n (the clients read lines)."
            ));
        }
        if line == text {
            return Err(format!(
                "client #{id} received {shown} after {after}: the message has no \"[server] \" \
                 prefix. Send \"[server] \" + the text + \"\\n\"."
            ));
        }
        if let Some(body) = line.strip_prefix("[server] ") {
            if body.starts_with("/to ") {
                return Err(format!(
                    "client #{id} received {shown}: the command itself was sent to the clients as \
                     a message. A line that starts with /to is a command: send only its text, to \
                     client N only."
                ));
            }
            if body.starts_with('/') && room.typed.iter().any(|t| t == body) {
                return Err(format!(
                    "client #{id} received {shown}: the command was sent to the clients as a \
                     message. A line starting with / is a command, never a message; an unknown \
                     or wrong one gets a line starting with \"error:\" on the console."
                ));
            }
            if body.trim() == text.trim() && body != text {
                return Err(format!(
                    "client #{id} received {shown} after {after}, but the text was {}: spaces at \
                     its start or end were removed. Send the text exactly as typed (see the task \
                     in {TASK}).",
                    show_str(text)
                ));
            }
            if let Some((n, rest)) = body.split_once(' ')
                && rest == text
                && n.parse::<u64>().is_ok()
            {
                return Err(format!(
                    "client #{id} received {shown}: the number N of /to N was sent with the text. \
                     Send only the text after it."
                ));
            }
            if text.is_empty() && room.typed.iter().any(|t| t == body) {
                return Err(format!(
                    "client #{id} received {shown} where {want} was due: the empty console line \
                     was not sent. Every line that is not a command goes to every client, even \
                     an empty one (see the task in {TASK})."
                ));
            }
        }
        Err(room.fail(format!(
            "client #{id} should have received {want} after {after}; it received {shown}."
        )))
    }

    /// Expects nothing to arrive for a moment.
    fn receives_nothing(&mut self, after: &str, why: &str) -> Result<(), String> {
        let mut got = std::mem::take(&mut self.pending);
        let ended = collect(&self.stream, &mut got, QUIET, |b| !b.is_empty());
        if got.is_empty() {
            return Ok(());
        }
        let _ = ended;
        let line = String::from_utf8_lossy(&got);
        if line.starts_with("[server] /") {
            return Err(format!(
                "client #{} received {} after {after}: a line starting with / is a command, \
                 never a message to the clients.",
                self.id,
                show(&got)
            ));
        }
        Err(format!(
            "client #{} received {} after {after}. {why}",
            self.id,
            show(&got)
        ))
    }
}

pub fn plain_text_goes_to_every_client(subject: RunRoom) -> Result<(), String> {
    let (mut room, mut clients) = start(subject, &[1, 2, 3])?;
    for text in ["hello, everyone", "  spaced out  ", "", "last one"] {
        room.type_line(text)?;
        let after = format!("the console typed {}", show_str(text));
        for client in &mut clients {
            let received = client.receives(&mut room, text, &after);
            if received.is_err() && text.is_empty() {
                // Was the empty line skipped? The next one tells.
                room.type_line("after the empty line")?;
                if client
                    .receives(&mut room, "after the empty line", &after)
                    .is_ok()
                {
                    return Err(format!(
                        "the console typed an empty line, and client #{} received nothing; the \
                         next line came through: the empty line was not sent. Every line that \
                         is not a command goes to every client, even an empty one (see the task \
                         in {TASK}).",
                        client.id
                    ));
                }
            }
            received?;
        }
    }
    Ok(())
}

/// What the `/to` lines of a check were: (typed, the id it is for, text).
type Sent = [(&'static str, u64, &'static str)];

/// Whether any client other than the addressee received a `/to` message,
/// and what arrived where. With `until`, a line the console typed after the
/// `/to` lines, which every client receives: the room handles the console's
/// lines in order, so whatever it sent a client before comes before that
/// line, and the check reads up to it, however late it comes. Without (the
/// room may be broken), it listens a moment on each.
fn misrouted(clients: &mut [Client], sent: &Sent, until: Option<&str>) -> Option<String> {
    for (i, client) in clients.iter_mut().enumerate() {
        if let Some(marker) = until {
            let line = format!("[server] {marker}\n");
            let _ = collect(&client.stream, &mut client.pending, WAIT, |b| {
                String::from_utf8_lossy(b).contains(&line)
            });
            if client.pending.starts_with(line.as_bytes()) {
                client.pending.drain(..line.len());
                continue;
            }
        } else {
            // The first listens a while; by then, anything sent to the
            // others has arrived too.
            let quiet = if i == 0 {
                QUIET
            } else {
                Duration::from_millis(20)
            };
            let _ = collect(&client.stream, &mut client.pending, quiet, |b| {
                b.contains(&b'\n')
            });
        }
        let end = client
            .pending
            .iter()
            .position(|&b| b == b'\n')
            .map_or(client.pending.len(), |i| i + 1);
        let got: Vec<u8> = client.pending.drain(..end).collect();
        if got.is_empty() {
            continue;
        }
        let line = String::from_utf8_lossy(&got).into_owned();
        let body = line.trim_end_matches('\n');
        let body = body.strip_prefix("[server] ").unwrap_or(body);
        if body.starts_with("/to ") {
            return Some(format!(
                "client #{} received {}: the command itself was sent to the clients as a \
                 message. A line that starts with /to is a command: send only its text, to \
                 client N only.",
                client.id,
                show(&got)
            ));
        }
        let meant = sent
            .iter()
            .find(|(_, id, text)| *id != client.id && body.ends_with(text.trim()));
        if let Some((typed, id, _)) = meant {
            let (mine, theirs) = (client.id.to_string(), id.to_string());
            let digits = if mine.len() < theirs.len() && theirs.starts_with(&mine) {
                format!(
                    " Client #{mine} got the message for #{theirs}: read the whole number, \
                     every digit up to the space."
                )
            } else {
                String::new()
            };
            return Some(format!(
                "client #{} received {} after {}, which was for client #{id} only.{digits}",
                client.id,
                show(&got),
                show_str(typed)
            ));
        }
        return Some(format!(
            "client #{} received {}, which nobody sent it.",
            client.id,
            show(&got)
        ));
    }
    None
}

pub fn to_n_reaches_client_n_and_nobody_else(subject: RunRoom) -> Result<(), String> {
    let (mut room, mut clients) = start(subject, &[1, 2, 12])?;
    const SENT: &Sent = &[
        ("/to 2 just for you", 2, "just for you"),
        ("/to 12 and for you", 12, "and for you"),
        ("/to 1  two spaces first", 1, " two spaces first"),
    ];
    for &(typed, id, text) in SENT {
        room.type_line(typed)?;
        let to = clients.iter().position(|c| c.id == id).unwrap_or(0);
        let received = clients[to].receives(&mut room, text, &show_str(typed));
        if let Err(e) = received {
            // Did it go to someone else instead?
            let mut others: Vec<Client> = clients
                .drain(..)
                .enumerate()
                .filter_map(|(i, c)| (i != to).then_some(c))
                .collect();
            return Err(misrouted(&mut others, SENT, None).unwrap_or(e));
        }
    }
    // A line for everyone ends what the check reads on each client.
    const THE_END: &str = "that was all";
    room.type_line(THE_END)?;
    match misrouted(&mut clients, SENT, Some(THE_END)) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

pub fn an_unknown_client_is_an_error_on_the_console_and_the_room_goes_on(
    subject: RunRoom,
) -> Result<(), String> {
    let (mut room, mut clients) = start(subject, &[1])?;
    room.type_line("/to 7 anyone there?")?;
    room.console_error("/to 7 anyone there?", "7", &mut clients)?;
    room.type_line("still here")?;
    clients[0].receives(&mut room, "still here", "an error, and then \"still here\"")?;
    clients[0].receives_nothing("\"still here\"", "Only the line typed goes to the clients.")
}

pub fn a_to_without_a_number_or_a_text_is_a_usage_error(subject: RunRoom) -> Result<(), String> {
    let (mut room, mut clients) = start(subject, &[1, 2])?;
    for typed in ["/to x oops", "/to 2", "/to"] {
        room.type_line(typed)?;
        room.console_error(typed, "/to", &mut clients)?;
    }
    room.type_line("still here")?;
    for client in &mut clients {
        client.receives(
            &mut room,
            "still here",
            "three usage errors, and then \"still here\"",
        )?;
    }
    Ok(())
}

pub fn an_unknown_command_is_an_error_on_the_console(subject: RunRoom) -> Result<(), String> {
    let (mut room, mut clients) = start(subject, &[1])?;
    let unknown = [
        ("/kick 1", "/kick"),
        ("/To 1 hi", "/To"),
        ("/top 1 hi", "/top"),
        ("/", "/"),
    ];
    for (typed, about) in unknown {
        room.type_line(typed)?;
        room.console_error(typed, about, &mut clients)?;
    }
    clients[0].receives_nothing(
        "the unknown commands \"/kick 1\", \"/To 1 hi\", \"/top 1 hi\" and \"/\"",
        "A line starting with / is a command, never a message to the clients.",
    )
}

pub fn a_client_that_left_gets_nothing_more(subject: RunRoom) -> Result<(), String> {
    let (mut room, mut clients) = start(subject, &[1, 2])?;
    room.send(Event::Left { id: 1 })?;
    room.type_line("after #1 left")?;
    clients[1].receives(&mut room, "after #1 left", "client #1 left")?;
    // Closing client #1's connection is fine (the room dropped its
    // stream); sending it the message is not.
    let mut got = Vec::new();
    let _ = collect(&clients[0].stream, &mut got, QUIET, |b| !b.is_empty());
    if !got.is_empty() {
        return Err(format!(
            "client #1 left, and then it received {}: when a client leaves, forget it (remove \
             it from your map).",
            show(&got)
        ));
    }
    room.type_line("/to 1 are you there?")?;
    room.console_error("/to 1 are you there?", "1", &mut clients[1..])?;
    // A client the room never knew, or forgot already, may leave too.
    room.send(Event::Left { id: 9 })?;
    room.type_line("after #9 left")?;
    clients[1].receives(
        &mut room,
        "after #9 left",
        "a client the room did not know left",
    )
}

pub fn a_client_that_vanished_does_not_stop_the_room(subject: RunRoom) -> Result<(), String> {
    let (mut room, mut clients) = start(subject, &[1, 2])?;
    // Client #1 disconnects without the room hearing of it: writing to it
    // fails sooner or later (usually on the second write: "broken pipe").
    let vanished = clients.remove(0);
    drop(vanished);
    for round in 1..=4 {
        let line = format!("round {round}");
        room.type_line(&line)?;
        clients[0]
            .receives(&mut room, &line, "client #1 vanished")
            .map_err(|e| {
                format!(
                    "{e}\nA write to a client that vanished fails: forget that client and \
                     carry on with the others. Returning the error (with ?) stops the room \
                     for everyone."
                )
            })?;
    }
    // Then the server notices, and says so, as it does for every client.
    room.send(Event::Left { id: 1 })?;
    room.type_line("after #1 left")?;
    clients[0].receives(&mut room, "after #1 left", "client #1 vanished, then left")
}

pub fn returns_when_every_sender_is_gone(subject: RunRoom) -> Result<(), String> {
    let (mut room, mut clients) = start(subject, &[1])?;
    room.type_line("last message")?;
    clients[0].receives(&mut room, "last message", "\"last message\"")?;
    room.events = None; // the last Sender is dropped: the channel closes
    if room.ended.is_some() {
        return Err(room.fail("run_room had ended before the channel closed".into()));
    }
    match room.task.wait(WAIT) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!(
            "when the channel closed, run_room returned Err({e}): that is its normal end, so \
             return Ok(())."
        )),
        Err(Waited::Panicked(why)) => Err(why),
        Err(Waited::Running) => Err(format!(
            "{WAIT:?} after every Sender was dropped, run_room was still running: `for event in \
             events` ends when the channel closes (recv() returns Err), so return Ok(()) then."
        )),
    }
}
