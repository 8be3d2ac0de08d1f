//! Checks that run the code under test in a process of its own.
//!
//! Some conditions can only be made for a whole process. Running out of
//! file descriptors is one: `accept` fails with "too many open files" only
//! when the process that calls it has no descriptor left, and making the
//! checks program itself run out would break every check running beside.
//!
//! So such a check starts this very program again (the checks program that
//! holds the code under test, whichever it is), under `sh -c 'ulimit -n
//! 64'`, with [`ROLE`] in its environment. In that child, [`crate::run`]
//! runs that one check and skips every other, and the check, seeing
//! [`role`], serves the code under test instead of judging it. One program
//! may hold several answers (the solutions' wrong answers are all in one):
//! the role names the function to serve, and only the check that was handed
//! that function serves it.
//!
//! The child and its parent talk in lines: the child announces its address
//! and, when the code under test ends, how it ended; the parent asks it, on
//! its stdin, to use up or free its descriptors. The end of its stdin (its
//! parent is gone) ends the child.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// The environment variable that makes a checks program a child: the name
/// of the check, a space, and the identity of the function to serve.
pub const ROLE: &str = "EXERCISE_CHECKS_CHILD";

/// Starts every line the child says for its parent, so that its parent can
/// tell them from what the code under test prints.
const MARK: &str = "check-child: ";

/// The descriptors the child may have: enough for the program and a few
/// clients, few enough to use up in a moment.
const LIMIT: u32 = 64;

/// How many of the last lines the code under test printed are kept.
const PRINTED_KEPT: usize = 100;

/// What a child is to do: the check that runs, and the function it serves.
pub struct Role {
    pub check: String,
    subject: usize,
}

thread_local! {
    /// The test of libtest this check runs in, if it runs in one.
    static CALLER: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// The name of the libtest test that runs the code here: libtest names each
/// test's thread after it, and [`carried`] hands the name on to the
/// threads that run checks. `None` in the course's own runner, whose threads are
/// `main` or unnamed.
pub fn caller() -> Option<String> {
    CALLER.with(|c| c.borrow().clone()).or_else(|| {
        let here = thread::current();
        let name = here.name()?;
        (name != "main" && !name.starts_with("checking ")).then(|| name.to_string())
    })
}

/// `f`, made to run on another thread as part of the same test as the
/// code here: [`caller`] there is what it is here.
pub fn carried<T>(f: impl FnOnce() -> T) -> impl FnOnce() -> T {
    let name = caller();
    move || {
        CALLER.with(|c| *c.borrow_mut() = name);
        f()
    }
}

/// This program's role, if it is a child.
pub fn role() -> Option<Role> {
    let value = std::env::var(ROLE).ok()?;
    let (check, subject) = value.split_once(' ')?;
    Some(Role {
        check: check.to_string(),
        subject: subject.parse().ok()?,
    })
}

/// A function's identity, the same in the parent and in the child. Both are
/// the same executable, loaded wherever the system chose: a function's
/// distance from this one is the same in both.
pub fn identity(function: usize) -> usize {
    let here = identity as fn(usize) -> usize as usize;
    function.wrapping_sub(here)
}

/// In the child: serves `serve` if it is the function this child was
/// started for, and then ends the process; otherwise returns at once (the
/// check is run for another answer held by the same program).
pub fn serve(role: &Role, subject: usize, serve: impl FnOnce(TcpListener) -> String + Send) {
    if role.subject != identity(subject) {
        return;
    }
    let listener = match TcpListener::bind("127.0.0.1:0").and_then(|l| {
        let addr = l.local_addr()?;
        Ok((l, addr))
    }) {
        Ok(bound) => bound,
        Err(e) => {
            say(&format!("cannot listen: {e}"));
            std::process::exit(1);
        }
    };
    let (listener, addr) = listener;
    thread::scope(|s| {
        let serving = s.spawn(move || serve(listener));
        s.spawn(obey_the_parent);
        say(&format!("listening {addr}"));
        // The code under test ran to its end, or panicked: say how, and end.
        let how = match serving.join() {
            Ok(how) => how,
            Err(panic) => format!("panicked: {}", crate::harness::panic_text(&*panic)),
        };
        say(&format!("ended {how}"));
        std::process::exit(0);
    })
}

/// One line for the parent, on stdout, whole. Written to the stream, not
/// with `println!`, so that a test harness that captures `println!` (the
/// solutions' wrong answers run under libtest) cannot hide it.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out
        .write_all(format!("{MARK}{line}\n").as_bytes())
        .and_then(|()| out.flush());
}

/// The child's side of the conversation: `exhaust` opens files until the
/// system refuses (every descriptor in use), `free` closes them again.
fn obey_the_parent() {
    let mut held: Vec<File> = Vec::new();
    for line in std::io::stdin().lock().lines() {
        match line.as_deref() {
            Ok("exhaust") => {
                let error = loop {
                    // A cap, in case `ulimit` did not take: never more than
                    // this, whatever the limit is.
                    if held.len() >= 100_000 {
                        break "still more descriptors after 100000".to_string();
                    }
                    match File::open(std::env::current_exe().unwrap_or_default()) {
                        Ok(file) => held.push(file),
                        Err(e) => break e.to_string(),
                    }
                };
                say(&format!("exhausted {} more: {error}", held.len()));
            }
            Ok("free") => {
                held.clear();
                say("freed");
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    // The parent is gone: so is the reason to serve.
    std::process::exit(0);
}

/// What the child said, line by line, or that it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    /// A line of its own, without the mark.
    Child(String),
    /// A line the code under test printed.
    Other(String),
    /// The child's output ended: it has ended.
    Ended,
}

/// The arguments that make this program run the check again. Under
/// libtest, only the test that runs it: the others would run beside it in
/// the child, short of descriptors, for nothing. Under the course's own
/// runner, the same arguments: in the child, [`crate::run`] skips every
/// check but this one anyway.
fn rerun_args() -> Vec<std::ffi::OsString> {
    match caller() {
        Some(test) => vec![test.into(), "--exact".into()],
        None => std::env::args_os().skip(1).collect(),
    }
}

/// A child serving the code under test, killed when dropped.
pub struct Server {
    child: Child,
    stdin: ChildStdin,
    said: Receiver<Said>,
    pub addr: SocketAddr,
    /// The last lines the code under test printed, for a message.
    pub printed: Vec<String>,
    /// How the code under test ended, once the child has said so.
    ended_how: Option<String>,
}

impl Server {
    /// Starts this program again as the child of `check`, serving
    /// `subject`, and waits up to `wait` for its address. `Err` says why it
    /// could not start: a reason to skip the check, not to fail it.
    pub fn start(check: &str, subject: usize, wait: Duration) -> Result<Server, String> {
        let me = std::env::current_exe().map_err(|e| format!("the checks program: {e}"))?;
        // `sh` lowers the limit, then becomes the checks program: std has
        // no portable way to set a child's limits, and every Unix has sh.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -n {LIMIT} && exec \"$0\" \"$@\""))
            .arg(me)
            .args(rerun_args())
            .env(ROLE, format!("{check} {}", identity(subject)))
            // libtest shows what a test prints only with this.
            .env("RUST_TEST_NOCAPTURE", "1")
            // A backtrace needs files opened, slowly, where none can be:
            // the panic's message is enough, and must come at once.
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run sh: {e}"))?;
        let (stdin, out, err) = match (child.stdin.take(), child.stdout.take(), child.stderr.take())
        {
            (Some(i), Some(o), Some(e)) => (i, o, e),
            _ => return Err("the child's streams are not piped".into()),
        };
        let (tx, said) = mpsc::channel();
        let tx_err = tx.clone();
        let stderr_read = thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx_err.send(Said::Other(line));
            }
        });
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let said = match line.split_once(MARK) {
                    Some((_, own)) => Said::Child(own.to_string()),
                    None => Said::Other(line),
                };
                let _ = tx.send(said);
            }
            // The last words are often on stderr: the end comes after them.
            let _ = stderr_read.join();
            let _ = tx.send(Said::Ended);
        });
        let mut server = Server {
            child,
            stdin,
            said,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            printed: Vec::new(),
            ended_how: None,
        };
        let listening = server
            .wait_for(wait, |line| line.starts_with("listening "))
            .map_err(|e| format!("the child did not start: {e:?}"))?;
        server.addr = listening["listening ".len()..]
            .parse()
            .map_err(|e| format!("the child's address {listening:?}: {e}"))?;
        Ok(server)
    }

    /// Sends the child one of its commands.
    pub fn tell(&mut self, command: &str) -> Result<(), String> {
        writeln!(self.stdin, "{command}").map_err(|e| format!("the child is gone: {e}"))
    }

    /// The child's next line of its own that `wanted` accepts, within
    /// `wait`.
    pub fn wait_for(
        &mut self,
        wait: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<String, Waited> {
        self.wait_until(
            wait,
            |said| matches!(said, Said::Child(line) if wanted(line)),
        )
    }

    /// The next line (the child's own, or one the code under test printed)
    /// that `wanted` accepts, within `wait`. What the code under test
    /// prints is kept in [`Server::printed`] too.
    pub fn wait_until(
        &mut self,
        wait: Duration,
        wanted: impl Fn(&Said) -> bool,
    ) -> Result<String, Waited> {
        let until = Instant::now() + wait;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let said = match self.said.recv_timeout(left) {
                Ok(Said::Ended) | Err(RecvTimeoutError::Disconnected) => {
                    return Err(Waited::Ended(self.ended_how.clone()));
                }
                Err(RecvTimeoutError::Timeout) => return Err(Waited::TimedOut),
                Ok(said) => said,
            };
            match &said {
                Said::Child(line) => {
                    if let Some(how) = line.strip_prefix("ended ") {
                        self.ended_how = Some(how.to_string());
                    }
                }
                Said::Other(line) => {
                    // The last lines are enough for a message, and a server
                    // that logs every failed accept without a pause prints
                    // a great many.
                    if self.printed.len() == PRINTED_KEPT {
                        self.printed.remove(0);
                    }
                    self.printed.push(line.clone());
                }
                Said::Ended => {}
            }
            if wanted(&said) {
                return Ok(match said {
                    Said::Child(line) | Said::Other(line) => line,
                    Said::Ended => String::new(),
                });
            }
        }
    }
}

/// Why [`Server::wait_for`] did not get its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waited {
    /// The child ended; how the code under test ended, if it said.
    Ended(Option<String>),
    /// Nothing wanted within the wait.
    TimedOut,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
