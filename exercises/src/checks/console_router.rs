//! Checks of exercise 05, `run_room`: the check sends the events a real
//! server would (clients joining with real connections, console lines) and
//! watches what each client receives and what the console shows.

use std::io::{self, BufReader};
use std::net::TcpStream;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

use super::harness::{
    Output, Task, WAIT, Waited, is_timeout, nothing_arrives, read_line, same, socket_pair, spawn,
};
use super::shared::console_router::Event;

/// The function under test, with the checks' console.
pub type RunRoom = fn(Receiver<Event>, Output) -> io::Result<()>;

pub fn checks(subject: RunRoom) -> Vec<super::Check> {
    checks!(subject =>
        plain_text_goes_to_every_client,
        to_n_reaches_client_n_and_nobody_else,
        an_unknown_client_is_an_error_on_the_console_and_the_room_goes_on,
        an_unknown_command_is_an_error_on_the_console,
        a_client_that_left_gets_nothing_more,
        a_client_that_vanished_does_not_stop_the_room,
        returns_when_every_sender_is_gone,
    )
}

/// One client as the check sees it: its end of the connection.
struct Client {
    id: u64,
    stream: TcpStream,
    lines: BufReader<TcpStream>,
}

struct Room {
    events: Option<Sender<Event>>,
    console: Output,
    task: Task<io::Result<()>>,
}

fn start(subject: RunRoom, clients: u64) -> Result<(Room, Vec<Client>), String> {
    let (tx, rx) = mpsc::channel();
    let console = Output::default();
    let task = spawn("run_room", {
        let console = console.clone();
        move || subject(rx, console)
    });
    task.fail_fast()?;
    let room = Room {
        events: Some(tx),
        console,
        task,
    };
    let mut joined = Vec::new();
    for id in 1..=clients {
        let (ours, theirs) = socket_pair()?;
        room.send(Event::Joined { id, stream: theirs })?;
        let lines = BufReader::new(
            ours.try_clone()
                .map_err(|e| format!("the check could not clone a socket: {e}"))?,
        );
        joined.push(Client {
            id,
            stream: ours,
            lines,
        });
    }
    Ok((room, joined))
}

impl Room {
    fn fail(&self, saw: String) -> String {
        match self.task.wait(Duration::from_millis(300)) {
            Err(Waited::Running) => saw,
            Err(Waited::Panicked(why)) => why,
            Ok(returned) => format!(
                "run_room returned {returned:?} while events were still coming: {saw}. It \
                 should only return when the channel closes"
            ),
        }
    }

    fn send(&self, event: Event) -> Result<(), String> {
        let Some(events) = &self.events else {
            return Err("the check closed the channel already (a bug in the check)".into());
        };
        events
            .send(event)
            .map_err(|_| self.fail("run_room is no longer receiving events".into()))
    }

    fn type_line(&self, line: &str) -> Result<(), String> {
        self.send(Event::Console(line.to_string()))
    }

    /// Waits for a console line starting with `error:` that contains `about`.
    fn console_error(&self, typed: &str, about: &str) -> Result<(), String> {
        let found = self.console.wait_for(WAIT, |text| {
            text.lines()
                .any(|l| l.starts_with("error:") && l.contains(about))
        });
        if found {
            Ok(())
        } else {
            Err(self.fail(format!(
                "after the console typed {typed:?}, the console should show a line starting \
                 with \"error:\" that mentions {about:?}; after {WAIT:?} it showed {:?}",
                self.console.text()
            )))
        }
    }
}

impl Client {
    fn receives(&mut self, room: &Room, expected: &str, after: &str) -> Result<(), String> {
        match read_line(&mut self.lines) {
            Ok(Some(line)) => same(&expected.to_string(), &line, || {
                format!("what client #{} received after {after}", self.id)
            }),
            Ok(None) => Err(room.fail(format!(
                "client #{} expected {expected:?} after {after}, but its connection was closed",
                self.id
            ))),
            Err(e) if is_timeout(&e) => Err(room.fail(format!(
                "client #{} expected {expected:?} after {after}, and received nothing within \
                 {WAIT:?}",
                self.id
            ))),
            Err(e) => Err(room.fail(format!("client #{} could not read: {e}", self.id))),
        }
    }

    fn receives_nothing(&self, after: &str, why: &str) -> Result<(), String> {
        nothing_arrives(&self.stream, Duration::from_millis(200))
            .map_err(|got| format!("after {after}, client #{} {got}. {why}", self.id))
    }
}

pub fn plain_text_goes_to_every_client(subject: RunRoom) -> Result<(), String> {
    let (room, mut clients) = start(subject, 3)?;
    room.type_line("hello, everyone")?;
    for client in &mut clients {
        client.receives(
            &room,
            "[server] hello, everyone",
            "the console typed \"hello, everyone\"",
        )?;
    }
    Ok(())
}

pub fn to_n_reaches_client_n_and_nobody_else(subject: RunRoom) -> Result<(), String> {
    let (room, mut clients) = start(subject, 3)?;
    room.type_line("/to 2 just for you")?;
    clients[1].receives(&room, "[server] just for you", "\"/to 2 just for you\"")?;
    for client in [&clients[0], &clients[2]] {
        client.receives_nothing("\"/to 2 just for you\"", "/to N sends to client N only.")?;
    }
    Ok(())
}

pub fn an_unknown_client_is_an_error_on_the_console_and_the_room_goes_on(
    subject: RunRoom,
) -> Result<(), String> {
    let (room, mut clients) = start(subject, 1)?;
    room.type_line("/to 7 anyone there?")?;
    room.console_error("/to 7 anyone there?", "7")?;
    room.type_line("/to x oops")?;
    room.console_error("/to x oops", "/to")?;
    room.type_line("still here")?;
    clients[0].receives(
        &room,
        "[server] still here",
        "two bad commands and then \"still here\"",
    )
}

pub fn an_unknown_command_is_an_error_on_the_console(subject: RunRoom) -> Result<(), String> {
    let (room, clients) = start(subject, 1)?;
    room.type_line("/kick 1")?;
    room.console_error("/kick 1", "/kick")?;
    clients[0].receives_nothing(
        "the unknown command \"/kick 1\"",
        "A line starting with / is a command, never a message to the clients.",
    )
}

pub fn a_client_that_left_gets_nothing_more(subject: RunRoom) -> Result<(), String> {
    let (room, mut clients) = start(subject, 2)?;
    room.send(Event::Left { id: 1 })?;
    room.type_line("after #1 left")?;
    clients[1].receives(&room, "[server] after #1 left", "client #1 left")?;
    // Closing client #1's connection is fine (the room dropped its
    // stream); sending it the message is not.
    match nothing_arrives(&clients[0].stream, Duration::from_millis(200)) {
        Err(got) if got.starts_with("received") => {
            return Err(format!(
                "client #1 left, and then it {got}. When a client leaves, forget it (remove \
                 it from your map)."
            ));
        }
        _ => {}
    }
    room.type_line("/to 1 are you there?")?;
    room.console_error("/to 1 are you there?", "1")
}

pub fn a_client_that_vanished_does_not_stop_the_room(subject: RunRoom) -> Result<(), String> {
    let (room, mut clients) = start(subject, 2)?;
    // Client #1 disconnects without the room hearing of it: writing to it
    // fails sooner or later (usually on the second write: "broken pipe").
    let vanished = clients.remove(0);
    drop(vanished);
    for round in 1..=4 {
        let line = format!("round {round}");
        room.type_line(&line)?;
        clients[0]
            .receives(&room, &format!("[server] {line}"), "client #1 vanished")
            .map_err(|e| {
                format!(
                    "{e}\nA write to a client that vanished fails: forget that client and \
                     carry on with the others. Returning the error (with ?) stops the room \
                     for everyone."
                )
            })?;
    }
    Ok(())
}

pub fn returns_when_every_sender_is_gone(subject: RunRoom) -> Result<(), String> {
    let (mut room, mut clients) = start(subject, 1)?;
    room.type_line("last message")?;
    clients[0].receives(&room, "[server] last message", "\"last message\"")?;
    room.events = None; // the last Sender is dropped: the channel closes
    match room.task.wait(WAIT) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!(
            "when the channel closed, run_room returned Err({e}); that is its normal end: \
             return Ok(())"
        )),
        Err(Waited::Panicked(why)) => Err(why),
        Err(Waited::Running) => Err(format!(
            "{WAIT:?} after every Sender was dropped, run_room was still running. `for event \
             in events` ends when the channel closes (recv() returns Err): return Ok(()) then."
        )),
    }
}
