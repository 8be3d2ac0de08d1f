//! Helpers for lesson 07's tests: a `07_pool_server` whose limits and
//! stdout the test decides, and what Linux's `/proc` says about a process.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;

use super::{Program, Server, collect_lines, example_path, read_line};

/// What happens to the server's stdout once it has announced its port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdout {
    /// Every line is read, as a terminal would.
    Read,
    /// Closed after this many lines, as `07_pool_server | head -n 2` does.
    CloseAfter(usize),
    /// Kept open but never read again after this many lines: the pipe
    /// fills up, as with a terminal nobody scrolls or a stopped pager.
    IgnoreAfter(usize),
}

/// A `07_pool_server` with one worker and a queue of one, both taken: the
/// next client is turned away. Returns the server, the client being served
/// and the one waiting in the queue.
pub fn full_pool() -> (Server, TcpStream, TcpStream) {
    let server = Server::start("07_pool_server", &["--workers", "1", "--queue", "1"]);
    let served = server.connect();
    (&served).write_all(b"abc\n").expect("send");
    let reply = read_line(&mut BufReader::new(&served), "a reply from the only worker");
    assert_eq!(reply, "cba");
    let queued = server.connect();
    let me = queued.local_addr().expect("local_addr");
    server
        .program
        .expect_stdout(&format!("client {me} connected"));
    (server, served, queued)
}

/// A `07_pool_server` on `127.0.0.1:0`, started through `sh -c` so that a
/// test can set the shell's limits first (`ulimit -n 64`). Unix only: on
/// other systems use [`super::Server`].
pub struct Pool07 {
    pub program: Program,
    pub addr: SocketAddr,
    /// Keeps a reader of [`Stdout::IgnoreAfter`] holding the pipe open.
    _holding: Sender<()>,
}

impl Pool07 {
    /// Runs `shell` (say `ulimit -n 64`, or nothing), then the server with
    /// `args`, and waits for its `listening on IP:PORT` line.
    pub fn start(shell: &str, args: &[&str], stdout: Stdout) -> Pool07 {
        let name = "07_pool_server";
        let script = format!("{shell}\nexec \"$0\" --addr 127.0.0.1:0 \"$@\"");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(example_path(name))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} through sh: {e}"));
        let (holding, held) = mpsc::channel();
        // A child module may build its parent's `Program` field by field.
        let program = Program {
            stdin: child.stdin.take(),
            stdout: read_stdout(child.stdout.take().expect("stdout is piped"), stdout, held),
            stderr: collect_lines(child.stderr.take().expect("stderr is piped")),
            child,
            name: name.to_string(),
        };
        let line = program.expect_stdout("listening on ");
        let addr = line
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("expected `listening on IP:PORT`, got {line:?}"));
        Pool07 {
            program,
            addr,
            _holding: holding,
        }
    }
}

impl Program {
    /// Writes bytes to the program's stdin, as if typed: unlike
    /// [`Program::type_in`], they need not be UTF-8.
    pub fn type_bytes(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is still open");
        stdin
            .write_all(bytes)
            .and_then(|()| stdin.flush())
            .expect("the program reads its stdin");
    }
}

fn read_stdout(pipe: ChildStdout, mode: Stdout, held: Receiver<()>) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut lines = BufReader::new(pipe);
        for count in 0.. {
            match mode {
                Stdout::CloseAfter(n) if count == n => return, // drops the pipe
                Stdout::IgnoreAfter(n) if count == n => {
                    let _ = held.recv(); // until the test ends: never read again
                    return;
                }
                _ => {}
            }
            let mut line = String::new();
            match lines.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    if tx.send(line.trim_end().to_string()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// The processor time a process has used so far (user and system), from
/// `/proc/PID/stat`; `None` where there is no `/proc`.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name in brackets may hold spaces: count fields after the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // In USER_HZ, which Linux fixes at 100 a second for every program.
    Some(ticks as f64 / 100.0)
}

/// How many descriptors a process has open, from `/proc/PID/fd`.
pub fn open_descriptors(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// A field of `/proc/meminfo` in KiB (`KernelStack`, `Slab`): the whole
/// system's, kernel memory that no process's VmRSS counts.
pub fn meminfo_kib(field: &str) -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with(&format!("{field}:")))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The size in KiB of the stack each thread of `pid` whose name starts
/// with `prefix` really has: the memory mapping (`/proc/PID/maps`) that
/// holds the thread's stack pointer, which `/proc/PID/task/TID/syscall`
/// shows while it waits in a system call. `None` where `/proc` does not
/// say (not Linux, or not allowed).
pub fn thread_stacks_kib(pid: u32, prefix: &str) -> Option<Vec<u64>> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    let ranges: Vec<(u64, u64)> = maps
        .lines()
        .filter_map(|l| {
            let (from, to) = l.split_whitespace().next()?.split_once('-')?;
            Some((
                u64::from_str_radix(from, 16).ok()?,
                u64::from_str_radix(to, 16).ok()?,
            ))
        })
        .collect();
    let mut sizes = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let task = task.ok()?.path();
        let name = std::fs::read_to_string(task.join("comm")).ok()?;
        if !name.starts_with(prefix) {
            continue;
        }
        // "NR ARG1 ... ARG6 SP PC" for a thread waiting in a system call.
        let syscall = std::fs::read_to_string(task.join("syscall")).ok()?;
        let fields: Vec<&str> = syscall.split_whitespace().collect();
        let sp = u64::from_str_radix(fields.get(7)?.trim_start_matches("0x"), 16).ok()?;
        let (from, to) = ranges.iter().find(|(from, to)| *from <= sp && sp < *to)?;
        sizes.push((to - from) / 1024);
    }
    Some(sizes)
}
