//! Programs whose output nobody can read: `PROGRAM | head -n 1` once `head`
//! has gone. Their stdout (and, if asked, their stderr) is a pipe whose
//! reading end is already closed, so their first write there fails with
//! `BrokenPipe` (EPIPE), deterministically: no race with a reader that
//! leaves.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStderr, ChildStdin, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::DEADLINE;

/// A running example whose stdout is closed; killed when dropped.
pub struct ClosedOutput {
    child: Child,
    /// Kept open, so a program that reads stdin waits for input.
    _stdin: Option<ChildStdin>,
    stderr: Option<ChildStderr>,
    name: String,
}

/// A pipe's writing end whose reading end is closed.
fn closed_pipe() -> std::io::PipeWriter {
    let (reader, writer) = std::io::pipe().expect("create a pipe");
    drop(reader);
    writer
}

impl ClosedOutput {
    /// Starts `name` with a closed stdout, and a closed stderr too if
    /// `stderr_closed` (otherwise stderr is collected).
    pub fn start(name: &str, args: &[&str], stderr_closed: bool) -> ClosedOutput {
        let stderr: Stdio = if stderr_closed {
            closed_pipe().into()
        } else {
            Stdio::piped()
        };
        let mut child = Command::new(super::example_path(name))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(closed_pipe())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        ClosedOutput {
            _stdin: child.stdin.take(),
            stderr: child.stderr.take(),
            child,
            name: name.to_string(),
        }
    }

    /// Waits for the program to exit; fails the test if it does not in time.
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit within {DEADLINE:?}",
                self.name
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything the program printed on stderr (call after `wait`); empty
    /// if its stderr was closed.
    pub fn stderr(&mut self) -> Vec<String> {
        let Some(stderr) = self.stderr.take() else {
            return Vec::new();
        };
        BufReader::new(stderr)
            .lines()
            .map(|line| line.expect("stderr is text"))
            .collect()
    }
}

impl Drop for ClosedOutput {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts that a program ended by itself with exit code 1: not killed by
/// a signal (SIGPIPE would have been one), and not by a panic (101).
pub fn assert_failed_cleanly(status: ExitStatus) {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), None, "killed by a signal: {status}");
    }
    assert_eq!(status.code(), Some(1), "expected exit code 1, got {status}");
}

/// The error line a program prints when its stdout is closed.
pub fn assert_says_stdout_is_closed(stderr: &[String]) {
    let last = stderr.last().map(String::as_str).unwrap_or_default();
    if cfg!(unix) {
        assert_eq!(
            last,
            "error: cannot write to the terminal: broken pipe: the other end was closed (os error 32)",
            "stderr: {stderr:?}"
        );
    } else {
        assert!(
            last.starts_with("error: cannot write to the terminal: "),
            "stderr: {stderr:?}"
        );
    }
}
