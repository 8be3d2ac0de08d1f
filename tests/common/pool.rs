//! Helpers for lesson 07's tests: a pool with every place taken, a console
//! that receives bytes that are not text, and what Linux's `/proc` says
//! about a process.

use std::io::{BufReader, Write};
use std::net::TcpStream;

use super::{Program, Server, read_line};

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
