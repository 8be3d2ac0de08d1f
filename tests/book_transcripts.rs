//! The book's terminal sessions are real runs, and this file keeps them so.
//!
//! Each session shown in the book is a file in `book/src/transcripts/`, and
//! each test here runs that session again against the real programs: it types
//! the same commands (the `$ ...` lines are parsed, not just compared), feeds
//! the same input, and compares what the programs print with the file. Only
//! ports are normalised: every `127.0.0.1:NUMBER` becomes `127.0.0.1:<port>`
//! on both sides, because the tests listen on port 0 and the system picks
//! both the servers' ports and the clients' ephemeral ports. (And the clock
//! that starts each line of lesson 09's wire view, `    12.3 ms  #1 up ...`,
//! becomes `<time> ms`: the rest of such a line is compared as it is.)
//!
//! How a session is run:
//! - `cargo run -q --example NAME [-- ARGS]` runs the example binary that
//!   `cargo test` built. A server gets `--addr 127.0.0.1:0` and its real port
//!   replaces the default one (read from its `--help`) in later commands; a
//!   client without `--addr` is pointed at the server whose address is its
//!   default. `printf 'TEXT' | cargo run ...` feeds TEXT to its stdin.
//! - Any other command (`nc`, `socat`, `python3`, `od`) runs with `sh -c`,
//!   after the same port replacement. Those tools differ between systems, so
//!   such sessions are checked on Linux (where they were recorded, and where
//!   CI runs). A session that uses them starts with `Session::needing(&[...])`,
//!   which checks for every tool before anything starts and, if one is
//!   missing or this is not Linux, prints a `SKIPPED` line naming it.
//! - What a command prints is its stdout, then its stderr, line by line.
//!
//! After a deliberate change, record the sessions again and read the diff:
//! `BLESS_TRANSCRIPTS=1 cargo test -p end-to-end --test book_transcripts`.

mod common;

use common::{DEADLINE, Program, Server};
use pretty_assertions::assert_eq;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// One recorded session: one or more terminals, each a list of lines.
struct Session {
    terminals: Vec<Vec<String>>,
    /// (shown address, real address) for every server started, and for the
    /// addresses the session declares down.
    addrs: Vec<(String, String)>,
    /// The outside tools this session declared it needs (`Session::needing`).
    tools: Vec<String>,
}

/// A parsed `[printf 'TEXT' |] cargo run -q --example NAME [-- ARGS]`.
struct CargoRun {
    stdin: String,
    example: String,
    args: Vec<String>,
}

impl Session {
    fn new() -> Session {
        Session {
            terminals: Vec::new(),
            addrs: Vec::new(),
            tools: Vec::new(),
        }
    }

    /// A session that runs outside tools (`nc`, `socat`, `python3`, `od`):
    /// `None`, after one printed skip line, if one is not installed or this
    /// is not Linux (the sessions were recorded there, and those tools'
    /// flags and output differ between systems). Checked before anything
    /// starts, so a missing tool can never look like a silent server.
    fn needing(tools: &[&str]) -> Option<Session> {
        if !cfg!(target_os = "linux") {
            common::skip(&format!(
                "this session runs {} as recorded on Linux; it is checked on Linux only",
                tools.join(", ")
            ));
            return None;
        }
        if !common::tools_installed(tools) {
            return None;
        }
        let mut session = Session::new();
        session.tools = tools.iter().map(|t| t.to_string()).collect();
        Some(session)
    }

    /// Opens a new terminal and returns its number (0-based).
    fn terminal(&mut self) -> usize {
        self.terminals.push(Vec::new());
        self.terminals.len() - 1
    }

    fn print(&mut self, t: usize, lines: impl IntoIterator<Item = String>) {
        self.terminals[t].extend(lines);
    }

    /// Starts a server command in terminal `t` and shows its `listening on`.
    fn server(&mut self, t: usize, command: &str) -> Server {
        self.terminals[t].push(format!("$ {command}"));
        let run = parse_cargo_run(command);
        assert!(
            run.stdin.is_empty() && !run.args.iter().any(|a| a == "--addr"),
            "a server command must not pipe input or choose --addr: {command}"
        );
        let shown = default_addrs(&run.example).swap_remove(0);
        let args: Vec<&str> = run.args.iter().map(String::as_str).collect();
        let server = Server::start(&run.example, &args);
        self.terminals[t].push(format!("listening on {}", server.addr));
        self.addrs.push((shown, server.addr.to_string()));
        server
    }

    /// Declares an address that nothing listens on: it is replaced by a
    /// port that was free a moment ago.
    fn down(&mut self, shown: &str) {
        let free = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port");
        self.addrs.push((shown.to_string(), free.to_string()));
    }

    /// Runs a command to its end in terminal `t`, shows its output, and
    /// returns its exit status.
    fn run(&mut self, t: usize, command: &str) -> ExitStatus {
        self.terminals[t].push(format!("$ {command}"));
        let (status, stdout, stderr) = if command.contains("cargo run") {
            let run = parse_cargo_run(command);
            let args = self.real_args(&run);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            common::run(&run.example, &args, &run.stdin)
        } else {
            for tool in tools_of(command) {
                assert!(
                    self.tools.contains(&tool),
                    "`{command}` runs {tool}: start the session with Session::needing(&[\"{tool}\", ...])"
                );
            }
            shell(&self.real_text(command))
        };
        self.print(t, stdout);
        self.print(t, stderr);
        status
    }

    /// Shows `$ echo $?` and the exit code, as a shell would.
    fn echo_status(&mut self, t: usize, status: ExitStatus) {
        let code = status.code().map_or("?".to_string(), |c| c.to_string());
        self.print(t, ["$ echo $?".to_string(), code]);
    }

    /// Adds the lines a running program prints from now on, up to and
    /// including the `count`-th one that contains `needle`.
    fn log_until(&mut self, t: usize, program: &Program, needle: &str, count: usize) {
        let mut seen = 0;
        while seen < count {
            let line = program.next_stdout_line().unwrap_or_else(|| {
                panic!("the program ended before printing {count} lines containing {needle:?}")
            });
            seen += usize::from(line.contains(needle));
            self.terminals[t].push(line);
        }
    }

    /// Starts an example in terminal `t`, to be driven line by line with
    /// `shows`, `types` and `ends`. A server gets `--addr 127.0.0.1:0`, and
    /// its `listening on` line is shown and remembered.
    fn open(&mut self, t: usize, command: &str) -> Terminal {
        self.terminals[t].push(format!("$ {command}"));
        let run = parse_cargo_run(command);
        assert!(run.stdin.is_empty(), "type the input with `types`");
        let is_server = run.example.contains("server");
        let args = if is_server {
            let mut args: Vec<String> = run.args.iter().map(|a| self.real_text(a)).collect();
            args.extend(["--addr".to_string(), "127.0.0.1:0".to_string()]);
            args
        } else {
            self.real_args(&run)
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let terminal = Terminal::start(&run.example, &args);
        if is_server {
            let line = next_line(&terminal, false);
            let real = line
                .strip_prefix("listening on ")
                .unwrap_or_else(|| panic!("expected `listening on IP:PORT`, got {line:?}"))
                .to_string();
            let shown = default_addrs(&run.example).swap_remove(0);
            self.terminals[t].push(line);
            self.addrs.push((shown, real));
        }
        terminal
    }

    /// Shows the next `count` lines `program` prints on stdout.
    fn out(&mut self, t: usize, program: &Terminal, count: usize) {
        for _ in 0..count {
            let line = next_line(program, false);
            self.terminals[t].push(line);
        }
    }

    /// Shows the next `count` lines `program` prints on stderr.
    fn err(&mut self, t: usize, program: &Terminal, count: usize) {
        for _ in 0..count {
            let line = next_line(program, true);
            self.terminals[t].push(line);
        }
    }

    /// Types a line into `program`, which terminal `t` echoes.
    fn types(&mut self, t: usize, program: &mut Terminal, line: &str) {
        self.terminals[t].push(line.to_string());
        program.type_in(&format!("{line}\n"));
    }

    /// Waits for `program` to end and shows what it printed last.
    fn ends(&mut self, t: usize, program: &mut Terminal) -> ExitStatus {
        let status = program.wait_for_exit();
        self.terminals[t].extend(program.rest_of_stdout());
        self.terminals[t].extend(program.stderr());
        status
    }

    fn real_args(&self, run: &CargoRun) -> Vec<String> {
        let mut args: Vec<String> = run.args.iter().map(|a| self.real_text(a)).collect();
        if !run.args.iter().any(|a| a == "--addr") {
            // The program's default addresses are the shown addresses of
            // servers in this session: point it at their real ones.
            for default in default_addrs(&run.example) {
                let (_, real) = self
                    .addrs
                    .iter()
                    .find(|(shown, _)| *shown == default)
                    .unwrap_or_else(|| {
                        panic!(
                            "{} would connect to {default}, which this session did not start",
                            run.example
                        )
                    });
                args.extend(["--addr".to_string(), real.clone()]);
            }
        }
        args
    }

    /// `text` with every shown address (and `HOST PORT` pair, as nc takes
    /// them) replaced by the real one.
    fn real_text(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (shown, real) in &self.addrs {
            text = text.replace(shown, real);
            text = text.replace(&shown.replacen(':', " ", 1), &real.replacen(':', " ", 1));
        }
        text
    }

    fn render(&self, shown_ports: bool) -> String {
        let mut out = String::new();
        for (i, lines) in self.terminals.iter().enumerate() {
            if self.terminals.len() > 1 {
                if i > 0 {
                    out.push('\n');
                }
                out.push_str(&format!("# terminal {}\n", i + 1));
            }
            for line in lines {
                let mut line = line.clone();
                if shown_ports {
                    for (shown, real) in &self.addrs {
                        line = line.replace(real, shown);
                    }
                }
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }

    /// Compares the session with `book/src/transcripts/NAME.txt` (or writes
    /// it, with `BLESS_TRANSCRIPTS=1`).
    fn check(self, name: &str) {
        let path = transcripts_dir().join(format!("{name}.txt"));
        if std::env::var_os("BLESS_TRANSCRIPTS").is_some() {
            std::fs::write(&path, self.render(true)).expect("write the transcript");
            return;
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
            .replace("\r\n", "\n");
        assert_eq!(
            normalise_wire_times(&normalise_ports(&expected)),
            normalise_wire_times(&normalise_ports(&self.render(false))),
            "{} no longer matches what the programs print (left: the book, right: now). \
             If the change is deliberate, run `BLESS_TRANSCRIPTS=1 cargo test --test \
             book_transcripts` and review the diff.",
            path.display()
        );
    }
}

/// An example run interactively, as in a terminal. Its stdout and stderr
/// are two pipes, and the order of lines across two pipes is lost; so the
/// test says which one it expects next (`out` or `err`), in the order a
/// terminal shows them, which is the order their causes happen.
type Terminal = Program;

/// The next line on stdout (`stderr` false) or stderr; fails if none comes.
fn next_line(program: &Terminal, stderr: bool) -> String {
    let line = if stderr {
        program.next_stderr_line()
    } else {
        program.next_stdout_line()
    };
    line.unwrap_or_else(|| panic!("the program ended while a line was expected"))
}

fn root() -> PathBuf {
    // This package is tests/, one level below the course's root.
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn transcripts_dir() -> PathBuf {
    root().join("book").join("src").join("transcripts")
}

/// Every `127.0.0.1:DIGITS` becomes `127.0.0.1:<port>`; nothing else changes.
fn normalise_ports(text: &str) -> String {
    const HOST: &str = "127.0.0.1:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(HOST) {
        out.push_str(&rest[..at + HOST.len()]);
        rest = &rest[at + HOST.len()..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push_str("<port>");
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// The addresses an example uses by default, from the `[default: ...]` of
/// its `--addr` in `--help` (none for a program without `--addr`).
fn default_addrs(example: &str) -> Vec<String> {
    let (_, stdout, _) = common::run(example, &["--help"], "");
    let help = stdout.join(" ");
    help.split("[default: ")
        .filter_map(|s| s.split(']').next())
        .find(|s| s.starts_with("127.0.0.1:"))
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Splits a command line into words; '...' and "..." group words.
fn words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in command.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    assert!(quote.is_none(), "unclosed quote in {command:?}");
    words.extend(word);
    words
}

/// The escapes of `printf`'s format that the transcripts use.
fn printf_text(format: &str) -> String {
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('\\') => out.push('\\'),
                other => panic!("unsupported printf escape \\{other:?} in {format:?}"),
            },
            '%' => panic!("no printf conversions in transcripts: {format:?}"),
            c => out.push(c),
        }
    }
    out
}

fn parse_cargo_run(command: &str) -> CargoRun {
    let words = words(command);
    let (stdin, rest) = match words.iter().position(|w| w == "|") {
        Some(bar) => {
            assert!(
                bar == 2 && words[0] == "printf",
                "only `printf 'TEXT' | cargo run ...` may pipe into an example: {command}"
            );
            (printf_text(&words[1]), &words[bar + 1..])
        }
        None => (String::new(), &words[..]),
    };
    let prefix = ["cargo", "run", "-q", "--example"];
    assert!(
        rest.len() > prefix.len() && rest[..prefix.len()] == prefix,
        "expected `cargo run -q --example NAME`: {command}"
    );
    let example = rest[prefix.len()].clone();
    let args = match rest.get(prefix.len() + 1).map(String::as_str) {
        None => Vec::new(),
        Some("--") => rest[prefix.len() + 2..].to_vec(),
        Some(other) => panic!("arguments go after `--`, found {other:?} in {command}"),
    };
    CargoRun {
        stdin,
        example,
        args,
    }
}

/// The programs a shell command runs: the first word of each stage of a
/// pipeline, but for `printf`, which every shell has built in.
fn tools_of(command: &str) -> Vec<String> {
    command
        .split('|')
        .filter_map(|stage| stage.split_whitespace().next())
        .filter(|tool| *tool != "printf")
        .map(str::to_string)
        .collect()
}

/// Runs a shell command to its end, from the workspace root, under a deadline.
fn shell(command: &str) -> (ExitStatus, Vec<String>, Vec<String>) {
    let mut child = Command::new("sh")
        .args(["-c", command])
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run sh -c {command:?}: {e}"));
    let collect = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes)
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
    };
    let stdout = collect(Box::new(child.stdout.take().expect("piped")));
    let stderr = collect(Box::new(child.stderr.take().expect("piped")));
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("`{command}` did not finish within {DEADLINE:?}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    let join = |h: thread::JoinHandle<Vec<String>>| h.join().expect("output reader");
    (status, join(stdout), join(stderr))
}

// ---------------------------------------------------------------------------
// The sessions, in the book's order.

#[test]
fn lesson_01_prints_the_same_lines_as_in_the_book() {
    let mut s = Session::new();
    let t = s.terminal();
    s.run(t, "cargo run -q --example 01_threads");
    s.run(
        t,
        "cargo run -q --example 01_threads -- --number 3000000 --scoped",
    );
    s.check("lesson-01");
}

#[test]
fn lesson_02_session_matches_the_book() {
    let mut s = Session::new();
    let server_terminal = s.terminal();
    let client_terminal = s.terminal();
    let server = s.server(server_terminal, "cargo run -q --example 02_echo_server");
    s.run(client_terminal, "cargo run -q --example 02_echo_client");
    s.log_until(server_terminal, &server.program, "disconnected", 1);
    s.run(
        client_terminal,
        "cargo run -q --example 02_echo_client -- --message 'héllo, wörld'",
    );
    s.log_until(server_terminal, &server.program, "disconnected", 1);
    s.check("lesson-02");
}

#[test]
fn lesson_03_session_matches_the_book() {
    let mut s = Session::new();
    let server_terminal = s.terminal();
    let client_terminal = s.terminal();
    let server = s.server(server_terminal, "cargo run -q --example 03_reverse_server");
    s.run(
        client_terminal,
        r"printf 'y\nn\n' | cargo run -q --example 03_reverse_client",
    );
    s.log_until(server_terminal, &server.program, "disconnected", 1);
    s.run(
        client_terminal,
        r"printf 'n\n' | cargo run -q --example 03_reverse_client -- --message 'héllo 🦀'",
    );
    s.log_until(server_terminal, &server.program, "disconnected", 1);
    s.check("lesson-03");
}

#[test]
fn lesson_03_binary_framing_session_matches_the_book() {
    let mut s = Session::new();
    let t = s.terminal();
    // 03_frames listens on port 0 by default and connects to itself: its
    // default address is its own, not a server of the session's.
    s.addrs.push(("127.0.0.1:0".into(), "127.0.0.1:0".into()));
    let status = s.run(t, "cargo run -q --example 03_frames");
    assert!(status.success(), "03_frames should exit with 0");
    s.check("lesson-03-frames");
}

#[test]
fn lesson_04_session_matches_the_book() {
    let mut s = Session::new();
    let (t1, t2) = (s.terminal(), s.terminal());
    let mut server = s.open(t1, "cargo run -q --example 04_chat_server");
    let mut client = s.open(t2, "cargo run -q --example 04_chat_client");
    s.err(t2, &client, 1); // connected to ...
    s.err(t1, &server, 1); // client ... connected
    s.types(t2, &mut client, "hello from the client");
    s.out(t1, &server, 1);
    s.types(t1, &mut server, "hi, the server here");
    s.out(t2, &client, 1);
    s.types(t2, &mut client, "héllo wörld, bye");
    s.out(t1, &server, 1);
    // The server's operator is done: a half-close. The client's user is
    // told, and can still answer; then the client leaves too.
    s.types(t1, &mut server, "exit");
    s.err(t1, &server, 1); // you closed your side ...
    s.err(t2, &client, 1); // ... closed its side; what you type still goes to it
    s.types(t2, &mut client, "one more thing, after your exit");
    s.out(t1, &server, 1);
    s.types(t2, &mut client, "exit");
    let client_status = s.ends(t2, &mut client);
    let server_status = s.ends(t1, &mut server);
    assert!(client_status.success() && server_status.success());
    s.check("lesson-04");
}

#[test]
fn lesson_05_session_matches_the_book() {
    let mut s = Session::new();
    let (t1, t2, t3) = (s.terminal(), s.terminal(), s.terminal());
    let client = "cargo run -q --example 04_chat_client -- --addr 127.0.0.1:6666";
    let mut server = s.open(t1, "cargo run -q --example 05_multi_server");
    let mut one = s.open(t2, client);
    s.err(t2, &one, 1); // connected to ...
    s.out(t2, &one, 1); // welcome, you are #1
    s.out(t1, &server, 1); // connected as #1
    let mut two = s.open(t3, client);
    s.err(t3, &two, 1);
    s.out(t3, &two, 1); // welcome, you are #2
    s.out(t1, &server, 1); // connected as #2
    s.out(t2, &one, 1); // #2 joined
    s.types(t2, &mut one, "hello from one");
    s.out(t1, &server, 1);
    s.out(t3, &two, 1);
    s.types(t3, &mut two, "hi one, two here");
    s.out(t1, &server, 1);
    s.out(t2, &one, 1);
    s.types(t1, &mut server, "/list");
    s.out(t1, &server, 3);
    s.types(t1, &mut server, "/help");
    s.out(t1, &server, 10); // the commands, /name, then the rule for slow clients
    s.types(t1, &mut server, "/to 2 only #2 reads this");
    s.out(t3, &two, 1);
    s.types(t1, &mut server, "/to 3 anyone?");
    s.err(t1, &server, 1); // no client #3
    s.types(t1, &mut server, "everyone reads this");
    s.out(t2, &one, 1);
    s.out(t3, &two, 1);
    s.types(t1, &mut server, "/kick 1");
    s.out(t1, &server, 1); // kicked
    s.out(t3, &two, 1); // #1 was kicked
    // The chat client keeps its own direction open after the server's end
    // of stream (lesson 04): its user leaves with `exit`.
    s.out(t2, &one, 1); // you have been kicked
    s.err(t2, &one, 1); // ... closed its side
    s.types(t2, &mut one, "exit");
    s.ends(t2, &mut one);
    s.types(t1, &mut server, "/quit");
    s.out(t3, &two, 1); // the server is shutting down
    s.err(t3, &two, 1); // ... closed its side
    s.types(t3, &mut two, "exit");
    s.ends(t3, &mut two);
    let status = s.ends(t1, &mut server);
    assert!(status.success(), "/quit should end the server with 0");
    s.check("lesson-05");
}

#[test]
fn lesson_06_session_matches_the_book() {
    let mut s = Session::new();
    let (t1, t2, t3) = (s.terminal(), s.terminal(), s.terminal());
    let echo = s.server(t1, "cargo run -q --example 02_echo_server");
    let reverse = s.server(t2, "cargo run -q --example 03_reverse_server");
    s.run(t3, "cargo run -q --example 06_multi_connect");
    s.log_until(t1, &echo.program, "disconnected", 1);
    s.log_until(t2, &reverse.program, "disconnected", 1);
    s.down("127.0.0.1:2003");
    let status = s.run(
        t3,
        "cargo run -q --example 06_multi_connect -- --addr 127.0.0.1:2002 --addr 127.0.0.1:2003 --message 'héllo 🦀'",
    );
    s.echo_status(t3, status);
    s.log_until(t2, &reverse.program, "disconnected", 1);
    s.check("lesson-06");
}

#[test]
fn lesson_07_session_matches_the_book() {
    let mut s = Session::new();
    let (t1, t2, t3) = (s.terminal(), s.terminal(), s.terminal());
    let client = "cargo run -q --example 04_chat_client -- --addr 127.0.0.1:2007";
    let mut server = s.open(t1, "cargo run -q --example 07_pool_server -- --workers 1");
    s.out(t1, &server, 1); // workers ready
    let mut first = s.open(t2, client);
    s.err(t2, &first, 1); // connected to ...
    s.out(t1, &server, 2); // connected; worker 0 serves it
    s.types(t2, &mut first, "first");
    s.out(t2, &first, 1);
    let mut second = s.open(t3, client);
    s.err(t3, &second, 1);
    s.out(t1, &server, 1); // connected, and waits for the only worker
    s.types(t3, &mut second, "second");
    s.types(t2, &mut first, "exit");
    s.ends(t2, &mut first);
    s.out(t1, &server, 2); // first disconnected; worker 0 serves the second
    s.out(t3, &second, 1); // the answer that waited
    s.types(t1, &mut server, "/help");
    s.out(t1, &server, 6); // the six lines of /help
    s.types(t1, &mut server, "/quit");
    s.err(t3, &second, 1); // ... closed its side
    s.types(t3, &mut second, "exit");
    s.ends(t3, &mut second);
    let status = s.ends(t1, &mut server);
    assert!(status.success(), "/quit should end the server with 0");
    s.check("lesson-07");
}

#[test]
fn outside_clients_session_matches_the_book() {
    let Some(mut s) = Session::needing(&["nc", "socat", "python3"]) else {
        return;
    };
    let server_terminal = s.terminal();
    let client_terminal = s.terminal();
    let server = s.server(server_terminal, "cargo run -q --example 03_reverse_server");
    s.run(
        client_terminal,
        r"printf 'héllo\nGo Coding Ninjas.\n' | nc -N 127.0.0.1 2002",
    );
    s.log_until(server_terminal, &server.program, "disconnected", 1);
    s.run(
        client_terminal,
        r"printf 'one\r\ntwo\r\n' | socat - TCP:127.0.0.1:2002",
    );
    s.log_until(server_terminal, &server.program, "disconnected", 1);
    s.run(
        client_terminal,
        r"printf 'héllo\nGo Coding Ninjas.\n' | python3 book/src/outside/line_client.py 127.0.0.1 2002",
    );
    s.log_until(server_terminal, &server.program, "disconnected", 1);
    s.check("outside-reverse");
}

#[test]
fn outside_echo_session_matches_the_book() {
    let Some(mut s) = Session::needing(&["nc", "od"]) else {
        return;
    };
    let server_terminal = s.terminal();
    let client_terminal = s.terminal();
    let server = s.server(server_terminal, "cargo run -q --example 02_echo_server");
    s.run(
        client_terminal,
        r"printf 'Hello, server' | nc -N 127.0.0.1 65432 | od -c",
    );
    s.log_until(server_terminal, &server.program, "disconnected", 1);
    s.check("outside-echo");
}

#[test]
fn pitfall_byte_reversal_session_matches_the_book() {
    let Some(mut s) = Session::needing(&["nc", "od"]) else {
        return;
    };
    let server_terminal = s.terminal();
    let client_terminal = s.terminal();
    let server = s.server(
        server_terminal,
        "cargo run -q --example 03_reverse_server -- --raw",
    );
    s.run(
        client_terminal,
        r"printf 'héllo\n' | nc -N 127.0.0.1 2002 | od -c",
    );
    s.log_until(server_terminal, &server.program, "disconnected", 1);
    s.check("pitfall-raw");
}

#[test]
fn pitfall_fixed_reversal_session_matches_the_book() {
    let Some(mut s) = Session::needing(&["nc", "od"]) else {
        return;
    };
    let server_terminal = s.terminal();
    let client_terminal = s.terminal();
    let server = s.server(server_terminal, "cargo run -q --example 03_reverse_server");
    s.run(
        client_terminal,
        r"printf 'héllo\n' | nc -N 127.0.0.1 2002 | od -c",
    );
    s.log_until(server_terminal, &server.program, "disconnected", 1);
    s.check("pitfall-fixed");
}

// The system's wording of these errors differs between platforms (and its
// error numbers too), so this session is only checked where it was recorded.
#[cfg(target_os = "linux")]
#[test]
fn pitfall_errors_session_matches_the_book() {
    let mut s = Session::new();
    let server_terminal = s.terminal();
    let other_terminal = s.terminal();
    let _server = s.server(server_terminal, "cargo run -q --example 03_reverse_server");
    let status = s.run(other_terminal, "cargo run -q --example 03_reverse_server");
    s.echo_status(other_terminal, status);
    s.down("127.0.0.1:2003");
    let status = s.run(
        other_terminal,
        "cargo run -q --example 03_reverse_client -- --addr 127.0.0.1:2003",
    );
    s.echo_status(other_terminal, status);
    s.check("pitfall-errors");
}

#[test]
fn the_transcript_files_are_all_checked() {
    // A transcript nobody reruns could drift unseen: every file in the
    // folder must be named by a session in this file.
    let source = include_str!("book_transcripts.rs");
    let dir = transcripts_dir();
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a UTF-8 file name");
        assert!(
            source.contains(&format!("s.check(\"{name}\")")),
            "{} is not checked by any test in tests/book_transcripts.rs",
            path.display()
        );
    }
}

// ---------------------------------------------------------------------------
// Lesson 09: the proxy.

/// The clock at the start of a line of `09_proxy`'s wire view (`    12.3 ms
/// #1 up ...`) becomes `<time> ms`; every other line stays as it is.
fn normalise_wire_times(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start_matches(' ');
        let number = trimmed.len()
            - trimmed
                .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.')
                .len();
        let rest = &trimmed[number..];
        if number > 0 && rest.starts_with(" ms  #") {
            out.push_str("<time>");
            out.push_str(rest);
        } else {
            out.push_str(line);
        }
    }
    out
}

impl Session {
    /// Starts `09_proxy` in terminal `t`, like `server`, but with the
    /// addresses in its flags (`--to`, and `--addr` if the command gives
    /// one) replaced by the real ones of this session. Its shown address
    /// is its `--addr`, or its default, 127.0.0.1:9000.
    fn proxy(&mut self, t: usize, command: &str) -> Server {
        self.terminals[t].push(format!("$ {command}"));
        let run = parse_cargo_run(command);
        assert!(run.stdin.is_empty(), "a proxy reads no input: {command}");
        let mut shown = default_addrs(&run.example).swap_remove(0);
        let mut args = Vec::new();
        let mut words = run.args.iter();
        while let Some(word) = words.next() {
            if word == "--addr" {
                shown = words.next().expect("an address after --addr").clone();
            } else {
                args.push(self.real_text(word));
            }
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let proxy = Server::start(&run.example, &args);
        self.terminals[t].push(format!("listening on {}", proxy.addr));
        self.addrs.push((shown, proxy.addr.to_string()));
        proxy
    }
}

#[test]
fn wire_view_clocks_are_normalised_and_nothing_else() {
    assert_eq!(
        normalise_wire_times("     0.4 ms  #1 up    @0  1 B  \"h\"\n  12.5 ms  no\n7 ms  #1\n"),
        "<time> ms  #1 up    @0  1 B  \"h\"\n  12.5 ms  no\n<time> ms  #1\n"
    );
}

#[test]
fn lesson_09_session_matches_the_book() {
    let mut s = Session::new();
    let (t1, t2, t3) = (s.terminal(), s.terminal(), s.terminal());
    let server = s.server(t1, "cargo run -q --example 03_reverse_server");
    let proxy = s.proxy(
        t2,
        "cargo run -q --example 09_proxy -- --to 127.0.0.1:2002 --slice 1 --show",
    );
    s.run(
        t3,
        r"printf 'n\n' | cargo run -q --example 03_reverse_client -- --addr 127.0.0.1:9000 --message 'héllo'",
    );
    s.log_until(t2, &proxy.program, "closed", 1);
    s.log_until(t1, &server.program, "disconnected", 1);
    s.check("lesson-09");
}

#[test]
fn lesson_09_stall_session_matches_the_book() {
    let mut s = Session::new();
    let (t1, t2, t3) = (s.terminal(), s.terminal(), s.terminal());
    let server = s.server(t1, "cargo run -q --example 03_reverse_server");
    let proxy = s.proxy(
        t2,
        "cargo run -q --example 09_proxy -- --to 127.0.0.1:2002 --up --stall-after 3",
    );
    let status = s.run(
        t3,
        r"printf 'y\n' | cargo run -q --example 03_reverse_client -- --addr 127.0.0.1:9000 --timeout 1",
    );
    s.echo_status(t3, status);
    // The proxy said what it did; the server only saw a client arrive.
    s.log_until(t2, &proxy.program, "stalled", 1);
    s.log_until(t1, &server.program, "connected", 1);
    s.check("lesson-09-stall");
}

// The system's wording of a reset differs between platforms.
#[cfg(target_os = "linux")]
#[test]
fn lesson_09_reset_session_matches_the_book() {
    let mut s = Session::new();
    let (t1, t2, t3) = (s.terminal(), s.terminal(), s.terminal());
    let mut server = s.open(t1, "cargo run -q --example 04_chat_server");
    let proxy = s.proxy(
        t2,
        "cargo run -q --example 09_proxy -- --to 127.0.0.1:12345 --up --reset-after 6",
    );
    let mut client = s.open(
        t3,
        "cargo run -q --example 04_chat_client -- --addr 127.0.0.1:9000",
    );
    s.err(t3, &client, 1); // connected to ...
    s.log_until(t2, &proxy.program, "connected", 1);
    s.err(t1, &server, 1); // client ... connected
    s.types(t3, &mut client, "hello");
    s.out(t1, &server, 1);
    s.types(t3, &mut client, "still there?");
    let client_status = s.ends(t3, &mut client);
    s.echo_status(t3, client_status);
    s.log_until(t2, &proxy.program, "closed", 1);
    s.err(t1, &server, 1); // client ... closed its side
    s.types(t1, &mut server, "exit");
    let server_status = s.ends(t1, &mut server);
    assert!(!client_status.success() && server_status.success());
    s.check("lesson-09-reset");
}

/// The book's Python client (outside.md) is offered as a base for the
/// reader's own tests, which go on running after it: its `with` must end the
/// connection there, not when Python exits. (Python's `close()` releases the
/// descriptor only once every `makefile()` view of the socket is closed too.)
#[test]
fn the_python_client_ends_the_connection_when_its_with_block_ends() {
    if !common::tools_installed(&["python3"]) {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local_addr").port();
    // Runs the script as it is, keeps its globals (as code after it would),
    // then waits for its own stdin to end.
    let code = format!(
        "import io, runpy, sys\n\
         sys.argv = ['line_client.py', '127.0.0.1', '{port}']\n\
         sys.stdin = io.StringIO('abc\\n')\n\
         kept = runpy.run_path('book/src/outside/line_client.py')\n\
         print('script done', flush=True)\n\
         sys.__stdin__.read()\n"
    );
    let mut python = Command::new("python3");
    python.current_dir(root()).args(["-c", &code]);
    let mut python = Program::spawn(python, "python3 line_client.py");
    let (stream, _) = listener.accept().expect("accept the script's connection");
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    let mut reader = std::io::BufReader::new(&stream);
    assert_eq!(common::read_line(&mut reader, "the script's line"), "abc");
    (&stream).write_all(b"cba\n").expect("reply");
    python.expect_stdout("cba");
    python.expect_stdout("script done");
    // The script is still running; its connection must have ended.
    let mut rest = Vec::new();
    match reader.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "unexpected bytes {rest:?}"),
        Err(e) => panic!(
            "expected the end of the stream once the script's `with` ended, \
             while Python still runs: {e}"
        ),
    }
    python.close_stdin();
    assert!(
        python.wait_for_exit().success(),
        "python3 should exit with 0"
    );
}

// ---------------------------------------------------------------------------
// Seeing the wire: tcpdump on loopback (book: outside.md).

/// A tcpdump line with what changes on every run taken out: the ports
/// become `<client>`, `<server>` and `<closed>`, and the sequence and
/// acknowledgement numbers, window and options go. `None` for a line that
/// is not a TCP packet, or is a pure acknowledgement (`Flags [.]`, no
/// data): how many of those a run sends depends on timing (delayed ACKs).
fn wire_line(line: &str, ports: &[(u16, &str)]) -> Option<String> {
    let rest = line.strip_prefix("IP ")?;
    let (addrs, rest) = rest.split_once(": Flags [")?;
    let (flags, rest) = rest.split_once(']')?;
    let length = rest.rsplit_once("length ")?.1.trim();
    if flags == "." && length == "0" {
        return None;
    }
    // `127.0.0.1.PORT > 127.0.0.1.PORT`; a port not named is the client's.
    let name = |end: &str| -> Option<String> {
        let (host, port) = end.rsplit_once('.')?;
        let port: u16 = port.parse().ok()?;
        let named = ports.iter().find(|(p, _)| *p == port).map(|(_, n)| *n);
        Some(format!("{host}.{}", named.unwrap_or("<client>")))
    };
    let (from, to) = addrs.split_once(" > ")?;
    let addrs = format!("{} > {}", name(from)?, name(to)?);
    Some(format!("IP {addrs}: Flags [{flags}], length {length}"))
}

#[test]
fn tcpdump_on_loopback_shows_the_packets_the_book_shows() {
    if !cfg!(target_os = "linux") {
        common::skip("the capture is recorded on Linux's loopback interface, lo");
        return;
    }
    if !common::tools_installed(&["tcpdump"]) {
        return;
    }
    let server = Server::start("02_echo_server", &[]);
    let port = server.addr.port();
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("local_addr").port()
    }; // dropped: a closed local port
    // Only this test's ports, on loopback, and at most 200 packets.
    let filter = format!("tcp and (port {port} or port {closed})");
    let mut command = Command::new("tcpdump");
    command.args(["-i", "lo", "-n", "-t", "-l", "-c", "200", &filter]);
    let dump = Program::spawn(command, "tcpdump");
    let mut said = Vec::new();
    loop {
        match dump.next_stderr_line() {
            Some(line) if line.starts_with("listening on") => break,
            Some(line) => said.push(line),
            None => {
                common::skip(&format!(
                    "tcpdump cannot capture on lo here (it needs root or CAP_NET_RAW): {}",
                    said.join(" / ")
                ));
                return;
            }
        }
    }
    // Lesson 02's session, one step at a time so that the packets come in
    // one order: a line, its echo, the client's half-close, the server's
    // close. Then a connection to a closed port.
    let mut client = common::connect(server.addr);
    client.write_all(b"hello\n").expect("send");
    assert_eq!(common::read_exact(&mut client, 6, "the echo"), b"hello\n");
    client
        .shutdown(std::net::Shutdown::Write)
        .expect("half-close");
    assert!(common::read_to_eof(&mut client, "the server's close").is_empty());
    drop(client);
    let refused = std::net::TcpStream::connect(("127.0.0.1", closed));
    assert!(refused.is_err(), "port {closed} should be closed");

    let ports = [(port, "<server>"), (closed, "<closed>")];
    let mut seen = Vec::new();
    while !seen
        .last()
        .is_some_and(|l: &String| l.contains("Flags [R.]"))
    {
        let line = dump
            .next_stdout_line()
            .unwrap_or_else(|| panic!("tcpdump ended before the reset; it printed {seen:?}"));
        if let Some(line) = wire_line(&line, &ports) {
            seen.push(line);
        }
    }
    drop(dump);
    let got = seen.join("\n") + "\n";
    let path = root().join("book/src/wire/tcpdump-lo.txt");
    if std::env::var_os("BLESS_TRANSCRIPTS").is_some() {
        std::fs::write(&path, &got).expect("write the transcript");
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(got, want, "the packets differ from {}", path.display());
}
