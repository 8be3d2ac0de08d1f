//! The harness the end-to-end tests share: start a real example binary the
//! way a user would, wait for what it prints with a deadline, talk to it over
//! TCP with timeouts, and kill it when the test ends, pass or fail.
#![allow(dead_code)] // each test file uses a different part of it

pub mod closed_output;
pub mod exercises;
pub mod peers;
pub mod pool;
pub mod room;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// How long a test waits for anything before it fails. Generous, because
/// CI machines are slow, but finite: no test can hang.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Says that the running test is skipped, and why, where a person running
/// `cargo test` sees it.
///
/// libtest captures what `println!` and `eprintln!` print inside a test and
/// shows it only if the test fails, so a skip printed that way looks like a
/// silent pass. Writing to the process's stderr handle directly bypasses the
/// capture: the line appears in the normal output, next to the test's `ok`.
pub fn skip(why: &str) {
    let current = thread::current();
    let test = current.name().unwrap_or("a test");
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// How to install an outside tool the tests use, for the skip line.
fn how_to_install(tool: &str) -> &'static str {
    match tool {
        "nc" => "Debian/Ubuntu: apt-get install netcat-openbsd; macOS has it",
        "socat" => "Debian/Ubuntu: apt-get install socat; macOS: brew install socat",
        "python3" => "Debian/Ubuntu: apt-get install python3; macOS: brew install python",
        "chromium" => "Debian/Ubuntu: apt-get install chromium",
        "od" => "part of coreutils on Linux and macOS",
        "tcpdump" => "Debian/Ubuntu: apt-get install tcpdump; macOS has it",
        _ => "see its project's page",
    }
}

/// True if `tool` is a program on the PATH. Looked up directly, without a
/// shell, so it works the same on every platform.
pub fn has_tool(tool: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        let file = dir.join(format!("{tool}{}", std::env::consts::EXE_SUFFIX));
        is_executable(&file)
    })
}

#[cfg(unix)]
fn is_executable(file: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    file.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(file: &Path) -> bool {
    file.is_file()
}

/// Checks that every outside tool a test needs is installed, before the
/// test starts anything. If one is missing, prints one [`skip`] line naming
/// each missing tool and how to install it, and returns false: the test
/// should return at once.
pub fn tools_installed(tools: &[&str]) -> bool {
    let missing: Vec<String> = tools
        .iter()
        .filter(|tool| !has_tool(tool))
        .map(|tool| format!("{tool} is not installed ({})", how_to_install(tool)))
        .collect();
    if !missing.is_empty() {
        skip(&missing.join("; "));
    }
    missing.is_empty()
}

/// The path of a compiled example, built if need be.
///
/// A plain `cargo test` builds the examples before it runs the tests, but
/// `cargo test --test lesson_03_reverse` does not, and would then run a
/// stale binary, or none. So the first test to ask builds them, with the same
/// cargo and profile that built this test; when they are already up to date
/// this takes a moment only.
///
/// `COURSE_EXAMPLES_DIR=/some/target/debug/examples` runs the binaries there
/// instead, without building: how to check that a new test fails on the old
/// behaviour (build the old commit's examples into another target dir, and
/// point the new tests at them).
pub fn example_path(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("COURSE_EXAMPLES_DIR") {
        let path = Path::new(&dir).join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        assert!(path.exists(), "{} does not exist", path.display());
        return path;
    }
    static BUILT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let test_exe = std::env::current_exe().expect("the test binary knows its own path");
    // target/<profile>/deps/lesson_03-1234 -> target/<profile>/examples/NAME
    let dir = test_exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let built = BUILT.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        // Lesson 10's examples are in a package of their own (its
        // dependencies stay out of the first lessons' build).
        build.args(["build", "--quiet", "--examples", "--package", "tcp-lessons"]);
        build.args(["--package", "lesson10"]);
        if dir.file_name().is_some_and(|profile| profile == "release") {
            build.arg("--release");
        }
        match build.status() {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(format!("`cargo build --examples` failed ({status})")),
            Err(e) => Err(format!("cannot run cargo to build the examples: {e}")),
        }
    });
    if let Err(e) = built {
        panic!("{e}");
    }
    let path = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} does not exist", path.display());
    path
}

/// A running example program with its stdout and stderr collected line by line.
pub struct Program {
    /// In a mutex so that a shared handle can ask whether it has exited
    /// ([`socket_harness::Subject::ended`]).
    child: Mutex<Child>,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    name: String,
    /// Dropped with the program: lets go of a stdout nobody reads.
    _hold: mpsc::Sender<()>,
}

/// Reads `pipe` line by line onto a channel. `after_first` says what to do
/// once the first line has been sent: go on, close the pipe, or stop
/// reading but keep it open (until `hold` is dropped).
fn collect_lines(
    pipe: impl Read + Send + 'static,
    after_first: Stdout,
    hold: Option<Receiver<()>>,
) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut lines = BufReader::new(pipe).lines();
        let mut first = true;
        while let Some(Ok(line)) = lines.next() {
            if tx.send(line).is_err() {
                break;
            }
            if std::mem::take(&mut first) {
                match after_first {
                    Stdout::ClosedAfterFirstLine => return, // drops the pipe
                    Stdout::UnreadAfterFirstLine => {
                        if let Some(hold) = &hold {
                            let _ = hold.recv(); // until the Program is dropped
                        }
                        return;
                    }
                    Stdout::Collected | Stdout::Null => {}
                }
            }
        }
    });
    rx
}

/// What a program's stdout is connected to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Stdout {
    /// A pipe the test reads line by line (see `expect_stdout`).
    #[default]
    Collected,
    /// Nowhere: for a program whose output would only fill the test's memory.
    Null,
    /// A pipe whose reader goes away after the first line (`| head -n 1`).
    ClosedAfterFirstLine,
    /// A pipe that nobody reads after the first line: it fills up, and then
    /// every write to it blocks.
    UnreadAfterFirstLine,
}

/// How to start a program, beyond its arguments.
#[derive(Debug, Clone, Copy, Default)]
pub struct Launch<'a> {
    pub stdout: Stdout,
    /// Unix: run it under `ulimit -n N` (the most file descriptors it may
    /// have open), through `sh`.
    pub open_files: Option<u32>,
    /// Extra environment variables.
    pub env: &'a [(&'a str, &'a str)],
}

impl Program {
    /// Starts `name` with `args`; its stdin is a pipe the test can write to.
    pub fn start(name: &str, args: &[&str]) -> Program {
        Program::launch(name, args, &Launch::default())
    }

    /// Starts `name` with `args`, set up as `how` says.
    pub fn launch(name: &str, args: &[&str], how: &Launch) -> Program {
        let exe = example_path(name);
        let mut command = match how.open_files {
            None => Command::new(&exe),
            Some(n) => {
                if !cfg!(unix) {
                    panic!("ulimit needs a Unix shell: skip this test elsewhere");
                }
                let mut sh = Command::new("sh");
                // `exec`: the shell becomes the program, with the same pid.
                sh.arg("-c")
                    .arg(format!("ulimit -n {n} || exit 125; exec \"$0\" \"$@\""))
                    .arg(&exe);
                sh
            }
        };
        command.args(args).envs(how.env.iter().copied());
        Program::spawn_as(command, name, how)
    }

    /// Starts any program (`name` is for messages), with piped stdio.
    pub fn spawn(command: Command, name: &str) -> Program {
        Program::spawn_as(command, name, &Launch::default())
    }

    fn spawn_as(mut command: Command, name: &str, how: &Launch) -> Program {
        let stdout = match how.stdout {
            Stdout::Null => Stdio::null(),
            _ => Stdio::piped(),
        };
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdin = child.stdin.take();
        let (hold, held) = mpsc::channel();
        let stdout = match child.stdout.take() {
            Some(pipe) => collect_lines(pipe, how.stdout, Some(held)),
            None => mpsc::channel().1, // Null: nothing ever comes
        };
        let stderr = collect_lines(
            child.stderr.take().expect("stderr is piped"),
            Stdout::Collected,
            None,
        );
        Program {
            child: Mutex::new(child),
            stdin,
            stdout,
            stderr,
            name: name.to_string(),
            _hold: hold,
        }
    }

    /// The CPU time the program has used so far (user and system), from
    /// `/proc/PID/stat` (Linux; `None` elsewhere or once it has exited).
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        // Fields after the command name, which is in brackets and may hold
        // spaces: state is the first, utime the 12th, stime the 13th.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        // Clock ticks of USER_HZ, which Linux fixes at 100 for user space.
        Some(Duration::from_millis(ticks * 10))
    }

    /// True while the program is running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child().try_wait(), Ok(None))
    }

    /// Every stderr line printed so far, without waiting.
    pub fn stderr_so_far(&self) -> Vec<String> {
        self.stderr.try_iter().collect()
    }

    /// Waits for a stdout line that contains `needle` and returns it. Lines
    /// before it are skipped.
    pub fn expect_stdout(&self, needle: &str) -> String {
        self.expect_stdout_within(needle, DEADLINE)
    }

    /// [`Program::expect_stdout`] with a deadline of `within`.
    pub fn expect_stdout_within(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "{} printed no line containing {needle:?} within {within:?}",
                        self.name
                    )
                }
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "{} closed its stdout before printing a line containing {needle:?}; stderr: {:?}",
                    self.name,
                    self.stderr.try_iter().collect::<Vec<_>>()
                ),
            }
        }
    }

    /// The next stdout line, or `None` if the program closed its stdout
    /// (exited) without printing one.
    pub fn next_stdout_line(&self) -> Option<String> {
        self.next_line(&self.stdout, "stdout")
    }

    /// The next stderr line, or `None` if the program closed its stderr.
    pub fn next_stderr_line(&self) -> Option<String> {
        self.next_line(&self.stderr, "stderr")
    }

    fn next_line(&self, lines: &Receiver<String>, pipe: &str) -> Option<String> {
        match lines.recv_timeout(DEADLINE) {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => {
                panic!(
                    "{} printed nothing on {pipe} within {DEADLINE:?}",
                    self.name
                )
            }
        }
    }

    fn child(&self) -> MutexGuard<'_, Child> {
        self.child.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The program's process id.
    pub fn pid(&self) -> u32 {
        self.child().id()
    }

    /// Writes to the program's stdin, as if a user typed it.
    pub fn type_in(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is still open");
        stdin
            .write_all(text.as_bytes())
            .expect("the program reads its stdin");
        stdin.flush().expect("the program reads its stdin");
    }

    /// Closes the program's stdin, like Ctrl-D in a terminal.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for the program to exit; fails the test if it does not in time.
    pub fn wait_for_exit(&mut self) -> ExitStatus {
        self.wait_for_exit_within(DEADLINE)
    }

    /// [`Program::wait_for_exit`] with a deadline of `within`.
    pub fn wait_for_exit_within(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child().try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit within {within:?}",
                self.name
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything the program printed on stdout since the last look
    /// (waits for the pipe to close, so call it after `wait_for_exit`).
    pub fn rest_of_stdout(&self) -> Vec<String> {
        collect_until_closed(&self.stdout, &self.name)
    }

    /// Everything the program printed on stderr (after it exited).
    pub fn stderr(&self) -> Vec<String> {
        collect_until_closed(&self.stderr, &self.name)
    }
}

fn collect_until_closed(rx: &Receiver<String>, name: &str) -> Vec<String> {
    let deadline = Instant::now() + DEADLINE;
    let mut lines = Vec::new();
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => lines.push(line),
            Err(RecvTimeoutError::Disconnected) => return lines,
            Err(RecvTimeoutError::Timeout) => {
                panic!("{name} kept its output open for {DEADLINE:?}")
            }
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        // Never leave a server running after its test, whatever happened.
        let mut child = self.child();
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Subject for Server {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The program has exited: with what status, and its last stderr lines.
    fn ended(&self, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            // std has no wait with a timeout: look again until the deadline.
            match self.program.child().try_wait() {
                Ok(Some(status)) => {
                    let said = self.program.stderr_so_far();
                    let last = said.len().saturating_sub(5);
                    return Some(format!(
                        "{} exited ({status}); its last words on stderr: {:?}",
                        self.program.name,
                        &said[last..]
                    ));
                }
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                Ok(None) => return None,
                Err(e) => {
                    return Some(format!(
                        "cannot tell whether {} runs: {e}",
                        self.program.name
                    ));
                }
            }
        }
    }
}

/// A server example started on port 0, with the address it announced.
pub struct Server {
    pub program: Program,
    pub addr: SocketAddr,
}

impl Server {
    /// Starts a server example on `127.0.0.1:0` and reads the real port from
    /// its first line, `listening on IP:PORT`.
    pub fn start(name: &str, extra_args: &[&str]) -> Server {
        Server::launch(name, extra_args, &Launch::default())
    }

    /// [`Server::start`], set up as `how` says (its stdout must be a pipe at
    /// least until the `listening on` line).
    pub fn launch(name: &str, extra_args: &[&str], how: &Launch) -> Server {
        let mut args = vec!["--addr", "127.0.0.1:0"];
        args.extend_from_slice(extra_args);
        let program = Program::launch(name, &args, how);
        let line = program.expect_stdout("listening on ");
        let addr = line
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| {
                panic!("{name}'s first line should be `listening on IP:PORT`, got {line:?}")
            });
        Server { program, addr }
    }

    /// Connects to the server; if that fails, says first whether the
    /// server has exited, and what it printed on stderr.
    pub fn connect(&self) -> TcpStream {
        socket_harness::connect(self.addr, DEADLINE).unwrap_or_else(|e| panic!("{}", self.fail(e)))
    }

    pub fn addr_arg(&self) -> String {
        self.addr.to_string()
    }
}

/// Connects with read and write timeouts, so a silent server fails the test
/// instead of hanging it.
pub fn connect(addr: SocketAddr) -> TcpStream {
    socket_harness::connect(addr, DEADLINE).unwrap_or_else(|e| panic!("{e}"))
}

/// Reads one `\n`-terminated line (without the `\n`), failing the test with
/// `what` if it does not arrive in time.
pub fn read_line(reader: &mut impl BufRead, what: &str) -> String {
    match socket_harness::read_line(reader) {
        Ok(None) => panic!("connection closed while waiting for {what}"),
        Ok(Some(line)) => line,
        Err(e) if is_timeout(&e) => panic!("{what} did not come within {DEADLINE:?}"),
        Err(e) => panic!("the connection failed while waiting for {what}: {e}"),
    }
}

pub use socket_harness::{Subject, is_timeout};

/// Reads exactly `n` bytes, failing the test with `what` if they do not come.
pub fn read_exact(stream: &mut impl Read, n: usize, what: &str) -> Vec<u8> {
    let mut buf = vec![0; n];
    stream
        .read_exact(&mut buf)
        .unwrap_or_else(|e| panic!("did not receive {what}: {e}"));
    buf
}

/// Asserts that nothing arrives on `stream` for `quiet`. This is the one
/// place the tests wait on purpose: "nothing happens" cannot be signalled.
pub fn assert_silent(stream: &TcpStream, quiet: Duration, why: &str) {
    if let Err(saw) = socket_harness::nothing_arrives(stream, quiet) {
        panic!("{why}: {saw}");
    }
}

/// Runs a program to completion with `stdin` as its input, under a deadline.
pub fn run(name: &str, args: &[&str], stdin: &str) -> (ExitStatus, Vec<String>, Vec<String>) {
    let mut program = Program::start(name, args);
    finish(&mut program, stdin)
}

/// Types `stdin` into a running program, closes its input, and waits for it
/// to exit: its status and everything it printed.
pub fn finish(program: &mut Program, stdin: &str) -> (ExitStatus, Vec<String>, Vec<String>) {
    if !stdin.is_empty() {
        program.type_in(stdin);
    }
    program.close_stdin();
    let status = program.wait_for_exit();
    (status, program.rest_of_stdout(), program.stderr())
}

// Added for lessons 04-06, whose programs print their notices on stderr.

impl Program {
    /// Waits for a stderr line that contains `needle` and returns it. Lines
    /// before it are skipped.
    pub fn expect_stderr(&self, needle: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{} printed no line containing {needle:?} on stderr within {DEADLINE:?}",
                    self.name
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "{} closed its stderr before printing a line containing {needle:?}",
                    self.name
                ),
            }
        }
    }
}

/// Reads `\n`-terminated lines until one satisfies `wanted`, and returns it;
/// the lines skipped are returned too, in order. Fails the test with `what`
/// if the connection closes or goes quiet first.
pub fn read_line_until(
    reader: &mut impl BufRead,
    what: &str,
    wanted: impl Fn(&str) -> bool,
) -> (String, Vec<String>) {
    let mut skipped = Vec::new();
    loop {
        let line = read_line(reader, what);
        if wanted(&line) {
            return (line, skipped);
        }
        skipped.push(line);
    }
}

/// Reads to the end of the stream and returns what came, failing the test
/// if the other side does not close within the read timeout.
pub fn read_to_eof(reader: &mut impl Read, what: &str) -> Vec<u8> {
    let mut rest = Vec::new();
    reader
        .read_to_end(&mut rest)
        .unwrap_or_else(|e| panic!("{what}: expected the connection to close: {e}"));
    rest
}

/// A process's memory from `/proc/PID/status`, in KiB: `field` is `VmRSS`
/// (resident now) or `VmHWM` (the peak). `None` where there is no `/proc`
/// (macOS, Windows): the memory tests print a note and skip there.
pub fn memory_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The highest peak memory (`VmHWM`, KiB) seen for a running program,
/// polled every 10 ms until `done()` says so or the program exits, for at
/// most three [`DEADLINE`]s. `None` if `/proc` could never be read (not
/// Linux): the caller skips the memory check there.
pub fn peak_memory_kib(program: &mut Program, mut done: impl FnMut() -> bool) -> Option<u64> {
    let end = Instant::now() + DEADLINE * 3;
    let mut peak = None;
    while program.is_running() && !done() {
        assert!(
            Instant::now() < end,
            "{} neither exited nor finished in time",
            program.name
        );
        if let Some(kib) = memory_kib(program.pid(), "VmHWM") {
            peak = peak.max(Some(kib));
        }
        thread::sleep(Duration::from_millis(10));
    }
    // One last look, in case it is still running.
    peak.max(memory_kib(program.pid(), "VmHWM"))
}

/// Joins lesson 05's room: connects and reads the welcome line, which gives
/// the client's number. Once it has arrived, the server has registered the
/// client, and the lines of others will reach it.
pub fn join_room(server: &Server) -> (usize, BufReader<TcpStream>) {
    let mut reader = BufReader::new(server.connect());
    let welcome = read_line(&mut reader, "the welcome line");
    let id = welcome
        .strip_prefix("* welcome, you are #")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("expected `* welcome, you are #N ...`, got {welcome:?}"));
    (id, reader)
}

/// Sends 10 MiB without a newline on a thread of its own (160 × 64 KiB).
/// A line server closes the connection long before the end, so the later
/// writes fail: that is expected, and ends the thread.
pub fn flood_without_newline(stream: &TcpStream) -> thread::JoinHandle<()> {
    let writer = stream.try_clone().expect("try_clone");
    thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..160 {
            if (&writer).write_all(&chunk).is_err() {
                return;
            }
        }
    })
}
