//! Wrong answers to exercise 05, `run_room`. Each is the reference answer
//! with one learner's mistake in it, so that its checks fail only for that.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::net::TcpStream;
use std::sync::mpsc::Receiver;

use solutions::checks::console_router::checks;
use solutions::console_router::Event;

use crate::{Case, case};

const PLAIN: &str = "plain_text_goes_to_every_client";
const TO_N: &str = "to_n_reaches_client_n_and_nobody_else";
const UNKNOWN: &str = "an_unknown_client_is_an_error_on_the_console_and_the_room_goes_on";
const USAGE: &str = "a_to_without_a_number_or_a_text_is_a_usage_error";
const COMMAND: &str = "an_unknown_command_is_an_error_on_the_console";
const LEFT: &str = "a_client_that_left_gets_nothing_more";
const VANISHED: &str = "a_client_that_vanished_does_not_stop_the_room";
const RETURNS: &str = "returns_when_every_sender_is_gone";

/// These checks, with the same words.
fn all(checks: &[&'static str], words: &'static str) -> &'static [(&'static str, &'static str)] {
    Vec::leak(checks.iter().map(|c| (*c, words)).collect())
}

pub fn cases() -> Vec<Case> {
    const EVERY: &[&str] = &[PLAIN, TO_N, UNKNOWN, USAGE, LEFT, VANISHED, RETURNS];
    vec![
        case(
            "stops_on_a_failed_write",
            checks(room::<{ Mistake::StopsOnAFailedWrite as usize }, _>),
            &[(VANISHED, "forget that client")],
        ),
        case(
            "forgets_the_prefix",
            checks(room::<{ Mistake::NoPrefix as usize }, _>),
            all(EVERY, "the message has no \"[server] \" prefix"),
        ),
        case(
            "forgets_the_newline",
            checks(room::<{ Mistake::NoNewline as usize }, _>),
            all(EVERY, "with no \\n at the end"),
        ),
        case(
            "sends_to_n_to_everyone",
            checks(room::<{ Mistake::ToEveryone as usize }, _>),
            &[
                (TO_N, "which was for client #2 only"),
                (
                    UNKNOWN,
                    "client #1 received \"[server] anyone there?\\n\", and the console",
                ),
                (
                    LEFT,
                    "client #2 received \"[server] are you there?\\n\", and the console",
                ),
            ],
        ),
        case(
            "reads_one_digit_of_n",
            checks(room::<{ Mistake::OneDigit as usize }, _>),
            &[(TO_N, "read the whole number, every digit up to the space")],
        ),
        case(
            "sends_n_with_the_text",
            checks(room::<{ Mistake::NumberInText as usize }, _>),
            &[(TO_N, "the number N of /to N was sent with the text")],
        ),
        case(
            "broadcasts_unknown_commands",
            checks(room::<{ Mistake::CommandsAreMessages as usize }, _>),
            &[
                (COMMAND, "the command was sent to the clients as a message"),
                (USAGE, "the command was sent to the clients as a message"),
            ],
        ),
        case(
            "unwraps_a_leaving_client",
            checks(room::<{ Mistake::UnwrapsLeft as usize }, _>),
            &[
                (
                    LEFT,
                    "`run_room` panicked at solutions/tests/wrong/console_router.rs",
                ),
                (
                    VANISHED,
                    "`run_room` panicked at solutions/tests/wrong/console_router.rs",
                ),
            ],
        ),
        case(
            "ignores_left",
            checks(room::<{ Mistake::IgnoresLeft as usize }, _>),
            &[(LEFT, "client #1 left, and then it received")],
        ),
        case(
            "tells_the_client_about_errors",
            checks(room::<{ Mistake::ErrorsToTheClient as usize }, _>),
            &[
                (UNKNOWN, "the error for \"/to 7 anyone there?\" went to"),
                (USAGE, "the error for \"/to x oops\" went to client #1"),
                (COMMAND, "the error for \"/kick 1\" went to client #1"),
                (
                    LEFT,
                    "the error for \"/to 1 are you there?\" went to client #2",
                ),
            ],
        ),
        case(
            "buffers_the_console",
            checks(room::<{ Mistake::BufferedConsole as usize }, _>),
            &[
                (
                    UNKNOWN,
                    "appeared on the console only when run_room returned",
                ),
                (USAGE, "appeared on the console only when run_room returned"),
                (
                    COMMAND,
                    "appeared on the console only when run_room returned",
                ),
                (LEFT, "appeared on the console only when run_room returned"),
            ],
        ),
        case(
            "trims_the_console_line",
            checks(room::<{ Mistake::Trims as usize }, _>),
            &[(PLAIN, "spaces at its start or end were removed")],
        ),
        case(
            "skips_empty_lines",
            checks(room::<{ Mistake::SkipsEmptyLines as usize }, _>),
            &[(PLAIN, "the empty line was not sent")],
        ),
        case(
            "commands_in_any_case",
            checks(room::<{ Mistake::AnyCase as usize }, _>),
            &[(COMMAND, "commands are case-sensitive")],
        ),
        case(
            "unwraps_the_split",
            checks(room::<{ Mistake::UnwrapsSplit as usize }, _>),
            &[(
                USAGE,
                "`run_room` panicked at solutions/tests/wrong/console_router.rs",
            )],
        ),
        case(
            "errors_without_the_error_prefix",
            checks(room::<{ Mistake::NoErrorPrefix as usize }, _>),
            &[
                (UNKNOWN, "an error line starts with \"error:\""),
                (USAGE, "an error line starts with \"error:\""),
                (COMMAND, "an error line starts with \"error:\""),
                (LEFT, "an error line starts with \"error:\""),
            ],
        ),
        case(
            "sends_an_empty_message_for_a_to_without_text",
            checks(room::<{ Mistake::EmptyTextForToN as usize }, _>),
            &[(USAGE, "a /to with a number but no text")],
        ),
        case(
            "splits_at_the_first_space_if_there_is_one",
            checks(room::<{ Mistake::SplitsAtTheSpaceIfAny as usize }, _>),
            &[(USAGE, "a /to with a number but no text")],
        ),
    ]
}

/// The one mistake a wrong room makes.
#[derive(Clone, Copy, PartialEq)]
#[repr(usize)]
enum Mistake {
    /// A failed write ends the room (`?`).
    StopsOnAFailedWrite,
    /// Messages go out without `[server] `.
    NoPrefix,
    /// Messages go out without `\n`.
    NoNewline,
    /// `/to N text` sends text to everyone.
    ToEveryone,
    /// Only the first digit of N is read.
    OneDigit,
    /// `/to 2 hi` sends `2 hi`.
    NumberInText,
    /// Unknown commands are sent as messages.
    CommandsAreMessages,
    /// `Left` unwraps the removal of a client it may not know.
    UnwrapsLeft,
    /// `Left` is ignored.
    IgnoresLeft,
    /// Errors are written to a client, not to the console.
    ErrorsToTheClient,
    /// The console is a BufWriter, flushed only when the room ends.
    BufferedConsole,
    /// Console lines are trimmed.
    Trims,
    /// Empty console lines are skipped.
    SkipsEmptyLines,
    /// `/To` works like `/to`.
    AnyCase,
    /// `split_once(' ').unwrap()` on `/to 2`.
    UnwrapsSplit,
    /// Errors say what is wrong, without `error:` first.
    NoErrorPrefix,
    /// `/to 2` (no text) sends client #2 an empty message.
    EmptyTextForToN,
    /// N ends at the first space, or at the end of the line if there is
    /// none (`split_at(find(' ').unwrap_or(len))`): `/to 2` is N = 2 with
    /// an empty text, the same class of mistake in another shape.
    SplitsAtTheSpaceIfAny,
}

/// Every mistake, in the order of their declaration (so that `ALL[m as
/// usize]` is `m`).
const ALL: [Mistake; 18] = {
    use Mistake::*;
    [
        StopsOnAFailedWrite,
        NoPrefix,
        NoNewline,
        ToEveryone,
        OneDigit,
        NumberInText,
        CommandsAreMessages,
        UnwrapsLeft,
        IgnoresLeft,
        ErrorsToTheClient,
        BufferedConsole,
        Trims,
        SkipsEmptyLines,
        AnyCase,
        UnwrapsSplit,
        NoErrorPrefix,
        EmptyTextForToN,
        SplitsAtTheSpaceIfAny,
    ]
};

/// The room with mistake number `M`, as a plain function for the checks.
fn room<const M: usize, W: Write>(events: Receiver<Event>, console: W) -> io::Result<()> {
    run_room(events, console, ALL[M])
}

/// The reference answer, but for `mistake`.
fn run_room<W: Write>(events: Receiver<Event>, console: W, mistake: Mistake) -> io::Result<()> {
    use Mistake::*;
    let mut console: Box<dyn Write> = if mistake == BufferedConsole {
        Box::new(BufWriter::new(console))
    } else {
        Box::new(console)
    };
    let error = if mistake == NoErrorPrefix {
        ""
    } else {
        "error: "
    };
    let mut clients: BTreeMap<u64, TcpStream> = BTreeMap::new();
    let send = |mut stream: &TcpStream, text: &str| -> io::Result<()> {
        let prefix = if mistake == NoPrefix { "" } else { "[server] " };
        let end = if mistake == NoNewline { "" } else { "\n" };
        stream.write_all(format!("{prefix}{text}{end}").as_bytes())
    };
    for event in events {
        match event {
            Event::Joined { id, stream } => {
                clients.insert(id, stream);
            }
            Event::Left { id } => match mistake {
                IgnoresLeft => {}
                UnwrapsLeft => {
                    clients.remove(&id).unwrap();
                }
                _ => {
                    clients.remove(&id);
                }
            },
            Event::Console(line) => {
                let line = if mistake == Trims {
                    line.trim().to_string()
                } else {
                    line
                };
                if mistake == SkipsEmptyLines && line.is_empty() {
                    continue;
                }
                let to = if mistake == AnyCase && line.to_lowercase().starts_with("/to ") {
                    Some(&line[4..])
                } else {
                    line.strip_prefix("/to ")
                };
                if let Some(rest) = to {
                    let parsed = if mistake == UnwrapsSplit {
                        let (id, text) = rest.split_once(' ').unwrap();
                        id.parse::<u64>().ok().map(|id| (id, text))
                    } else if mistake == EmptyTextForToN {
                        let (id, text) = rest.split_once(' ').unwrap_or((rest, ""));
                        id.parse::<u64>().ok().map(|id| (id, text))
                    } else if mistake == SplitsAtTheSpaceIfAny {
                        let (id, text) = rest.split_at(rest.find(' ').unwrap_or(rest.len()));
                        let text = text.strip_prefix(' ').unwrap_or(text);
                        id.parse::<u64>().ok().map(|id| (id, text))
                    } else if mistake == OneDigit {
                        let id = rest.get(..1).and_then(|d| d.parse::<u64>().ok());
                        let text = rest.split_once(' ').map(|(_, t)| t);
                        id.zip(text)
                    } else {
                        rest.split_once(' ')
                            .and_then(|(id, text)| Some((id.parse::<u64>().ok()?, text)))
                    };
                    let Some((id, text)) = parsed else {
                        if mistake == ErrorsToTheClient {
                            for stream in clients.values() {
                                let _ = send(stream, "error: usage: /to N text");
                            }
                        } else {
                            writeln!(console, "{error}usage: /to N text")?;
                        }
                        continue;
                    };
                    if mistake == ToEveryone {
                        clients.retain(|_, stream| send(stream, text).is_ok());
                        continue;
                    }
                    let Some(stream) = clients.get(&id) else {
                        if mistake == ErrorsToTheClient {
                            for stream in clients.values() {
                                let _ = send(stream, &format!("error: no client #{id}"));
                            }
                        } else {
                            writeln!(console, "{error}no client #{id}")?;
                        }
                        continue;
                    };
                    let text = if mistake == NumberInText { rest } else { text };
                    if let Err(e) = send(stream, text) {
                        writeln!(console, "client #{id} dropped: {e}")?;
                        clients.remove(&id);
                    }
                } else if line.starts_with('/') && mistake != CommandsAreMessages {
                    let command = line.split_whitespace().next().unwrap_or("/");
                    if mistake == ErrorsToTheClient {
                        for stream in clients.values() {
                            let _ = send(stream, &format!("error: unknown command {command}"));
                        }
                    } else {
                        writeln!(console, "{error}unknown command {command}")?;
                    }
                } else if mistake == StopsOnAFailedWrite {
                    for stream in clients.values() {
                        send(stream, &line)?;
                    }
                } else {
                    clients.retain(|_, stream| send(stream, &line).is_ok());
                }
            }
        }
    }
    Ok(())
}
