//! What the operator can type on the room's console: a small language,
//! parsed into an enum so the hub never looks at raw text.

use std::fmt;

// ANCHOR: command
/// What can be typed on the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Plain text: to every client, as `[server] text`.
    Say(String),
    /// `/to N text`: to client N only.
    To(usize, String),
    /// `/list`: the connected clients.
    List,
    /// `/kick N`: disconnect client N.
    Kick(usize),
    /// `/help`: the commands, and the rule for clients that stop reading.
    Help,
    /// `/quit`: tell the clients, close them, exit.
    Quit,
}

/// Why a console line is not a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    Unknown(String),
    Usage(&'static str),
    BadId(String),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unknown(name) => write!(
                f,
                "unknown command {name} (commands: /to N text, /list, /kick N, /help, /quit; \
                 start with // to send a line that starts with /)"
            ),
            CommandError::Usage(usage) => write!(f, "usage: {usage}"),
            CommandError::BadId(id) => write!(f, "{id:?} is not a client number (see /list)"),
        }
    }
}

impl std::error::Error for CommandError {}

impl Command {
    /// Parses one console line. A line that does not start with `/` is text
    /// for everyone; `//` sends a line that starts with `/`.
    pub fn parse(line: &str) -> Result<Command, CommandError> {
        let Some(command) = line.strip_prefix('/') else {
            return Ok(Command::Say(line.to_string()));
        };
        if command.starts_with('/') {
            return Ok(Command::Say(command.to_string()));
        }
        let (name, args) = command.split_once(' ').unwrap_or((command, ""));
        let args = args.trim();
        match name {
            "to" => {
                let (id, text) = args
                    .split_once(' ')
                    .ok_or(CommandError::Usage("/to N text"))?;
                Ok(Command::To(parse_id(id)?, text.trim_start().to_string()))
            }
            "kick" if args.is_empty() => Err(CommandError::Usage("/kick N")),
            "kick" => Ok(Command::Kick(parse_id(args)?)),
            "list" if args.is_empty() => Ok(Command::List),
            "list" => Err(CommandError::Usage("/list")),
            "help" if args.is_empty() => Ok(Command::Help),
            "help" => Err(CommandError::Usage("/help")),
            "quit" if args.is_empty() => Ok(Command::Quit),
            "quit" => Err(CommandError::Usage("/quit")),
            _ => Err(CommandError::Unknown(format!("/{name}"))),
        }
    }
}

/// A client number, written `2` or `#2`.
fn parse_id(id: &str) -> Result<usize, CommandError> {
    id.strip_prefix('#')
        .unwrap_or(id)
        .parse()
        .map_err(|_| CommandError::BadId(id.to_string()))
}
// ANCHOR_END: command

/// What `/help` prints, one line each.
pub const HELP: &[&str] = &[
    "commands:",
    "  text          send text to every client, as [server] text",
    "  /to N text    send text to client N only",
    "  /list         show who is connected",
    "  /kick N       disconnect client N",
    "  /help         show this",
    "  /quit         tell everyone, close every connection, exit",
    "  //text        send a line that starts with /",
    "a client names itself with /name NAME: its lines then show as [#N NAME]",
];

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    #[rstest]
    #[case::plain_text("hello all", Command::Say("hello all".into()))]
    #[case::text_with_a_slash_inside("a/b", Command::Say("a/b".into()))]
    #[case::double_slash_sends_a_slash("//to 1 x", Command::Say("/to 1 x".into()))]
    #[case::to("/to 2 psst", Command::To(2, "psst".into()))]
    #[case::to_with_hash("/to #2 psst", Command::To(2, "psst".into()))]
    #[case::to_keeps_inner_spaces("/to 3 a  b", Command::To(3, "a  b".into()))]
    #[case::list("/list", Command::List)]
    #[case::list_trailing_space("/list ", Command::List)]
    #[case::kick("/kick 7", Command::Kick(7))]
    #[case::kick_with_hash("/kick #7", Command::Kick(7))]
    #[case::help("/help", Command::Help)]
    #[case::quit("/quit", Command::Quit)]
    fn console_lines_parse_into_commands(#[case] line: &str, #[case] expected: Command) {
        assert_eq!(Command::parse(line), Ok(expected));
    }

    #[rstest]
    #[case::unknown("/frobnicate", CommandError::Unknown("/frobnicate".into()))]
    #[case::unknown_is_case_sensitive("/QUIT", CommandError::Unknown("/QUIT".into()))]
    #[case::to_without_text("/to 2", CommandError::Usage("/to N text"))]
    #[case::to_without_anything("/to", CommandError::Usage("/to N text"))]
    #[case::to_bad_id("/to bob hi", CommandError::BadId("bob".into()))]
    #[case::kick_without_id("/kick", CommandError::Usage("/kick N"))]
    #[case::kick_bad_id("/kick -1", CommandError::BadId("-1".into()))]
    #[case::kick_two_ids("/kick 1 2", CommandError::BadId("1 2".into()))]
    #[case::list_with_arguments("/list all", CommandError::Usage("/list"))]
    #[case::help_with_arguments("/help me", CommandError::Usage("/help"))]
    #[case::quit_with_arguments("/quit now", CommandError::Usage("/quit"))]
    fn bad_console_lines_are_errors(#[case] line: &str, #[case] expected: CommandError) {
        assert_eq!(Command::parse(line), Err(expected));
    }

    #[test]
    fn errors_read_as_one_helpful_line() {
        assert_eq!(
            CommandError::Unknown("/x".into()).to_string(),
            "unknown command /x (commands: /to N text, /list, /kick N, /help, /quit; \
             start with // to send a line that starts with /)"
        );
        assert_eq!(
            CommandError::BadId("bob".into()).to_string(),
            "\"bob\" is not a client number (see /list)"
        );
        assert_eq!(CommandError::Usage("/kick N").to_string(), "usage: /kick N");
    }
}
