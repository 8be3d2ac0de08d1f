//! Where each exercise stands: builds the exercises' crates, runs each
//! one's checks program in a process of its own, and collects the results.
//!
//! A process per exercise is what keeps one exercise from hiding the
//! others: a compile error stops only that crate (cargo goes on with the
//! rest), and a crash (a stack overflow, `process::exit`) or a hang stops
//! only that process. Within it the checks run one after the other, each
//! announced before it starts, so if the process dies, the check that
//! killed it is known: it is reported as failed, and a new process runs
//! the checks that had not run yet.
//!
//! Where the student waits for an answer (the progress view, `watch`,
//! `list`), an exercise's checks stop at the first failing one: the
//! message shown is that check's, so the student waits for one failure,
//! and code that hangs costs one check's deadline, not one per check. The
//! others run when asked for (`check NAME`, `cargo test -p exercises`).

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

pub use checks::CHECK_DEADLINE;

use checks::Exercise;
use checks::runner::{Outcome, Record, SILENCE_LIMIT};

use crate::cargo::{Build, Cargo, CompileError};
use crate::course::Course;

/// How one check of an exercise turned out.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub name: &'static str,
    pub outcome: Outcome,
    /// What the code under test printed on stdout while this check ran.
    pub printed: Vec<String>,
}

/// Where an exercise stands.
#[derive(Debug, Clone)]
pub enum State {
    /// The file is still the stub as shipped (its checks were not run).
    NotStarted,
    DoesNotCompile(CompileError),
    /// The exercise could not be built for a reason that is not its own.
    NotBuilt(String),
    /// The checks ran: every result, in the checks' order. If they
    /// stopped at the first failing one, the checks after it are missing.
    Checked(Vec<CheckResult>),
}

#[derive(Debug, Clone)]
pub struct Status {
    pub exercise: Exercise,
    pub state: State,
}

impl Status {
    pub fn passed(&self) -> usize {
        match &self.state {
            State::Checked(results) => results.iter().filter(|r| r.outcome.passed()).count(),
            _ => 0,
        }
    }

    /// How many checks ran: all of them, or those up to the first failing
    /// one.
    pub fn ran(&self) -> usize {
        match &self.state {
            State::Checked(results) => results.len(),
            _ => 0,
        }
    }

    /// The number (from 1) of the first failing check, if it is the last
    /// check that ran: every check before it passed, and none after it ran
    /// (they stopped there, or it is the last check).
    pub fn stopped_at(&self) -> Option<usize> {
        match &self.state {
            State::Checked(results) => match results.last() {
                Some(last) if !last.outcome.passed() && self.passed() + 1 == results.len() => {
                    Some(results.len())
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// Every check of the exercise ran, and passed.
    pub fn done(&self) -> bool {
        matches!(&self.state, State::Checked(r) if r.len() == self.exercise.checks.len())
            && self.passed() == self.exercise.checks.len()
    }

    /// The first check that failed, with its message.
    pub fn first_failure(&self) -> Option<(&'static str, &str)> {
        match &self.state {
            State::Checked(results) => results.iter().find_map(|r| match &r.outcome {
                Outcome::Failed(message) => Some((r.name, message.as_str())),
                Outcome::Passed => None,
            }),
            _ => None,
        }
    }

    /// `done`, `fails check 3 of 5` (the two before it pass; the checks
    /// stopped there), `2 of 5 checks` (every check ran, several failed),
    /// `does not compile`, `not started`.
    pub fn label(&self) -> String {
        match &self.state {
            State::NotStarted => "not started".to_string(),
            State::DoesNotCompile(_) => "does not compile".to_string(),
            State::NotBuilt(_) => "not built".to_string(),
            State::Checked(_) if self.done() => "done".to_string(),
            State::Checked(_) if self.stopped_at().is_some() => {
                format!(
                    "fails check {} of {}",
                    self.ran(),
                    self.exercise.checks.len()
                )
            }
            State::Checked(_) => {
                format!("{} of {} checks", self.passed(), self.exercise.checks.len())
            }
        }
    }
}

/// How to check.
#[derive(Debug, Clone, Copy, Default)]
pub struct Settings {
    /// Report an exercise whose file is still the stub as not started,
    /// without building or running it.
    pub skip_untouched: bool,
    /// Show what the code under test prints, as it prints it.
    pub nocapture: bool,
    /// How many exercises are checked at the same time.
    pub parallel: usize,
    /// Stop each exercise's checks at its first failing one.
    pub stop_at_first_failure: bool,
}

/// A check that has just started, for a progress line.
#[derive(Debug, Clone, Copy)]
pub struct Started<'a> {
    pub exercise: &'a Exercise,
    pub check: &'static str,
    /// Its place among the checks that run (1 for the first), and their count.
    pub number: usize,
    pub of: usize,
    /// The longest it may take: code that hangs fails it then.
    pub deadline: Duration,
}

/// Checks `selected`: each exercise with the names of the checks to run
/// (all of them, or those a filter chose). Calls `built` once the build is
/// over, then `done` with each status as soon as it is known, in the order
/// of `selected`; returns them all. `started` is called (from any thread)
/// as each check starts.
pub fn check(
    course: &Course,
    cargo: &Cargo,
    selected: Vec<(Exercise, Vec<&'static str>)>,
    settings: Settings,
    built: impl FnOnce(),
    started: &(dyn Fn(Started) + Sync),
    mut done: impl FnMut(&Status),
) -> Vec<Status> {
    let untouched: Vec<bool> = selected
        .iter()
        .map(|(e, _)| settings.skip_untouched && course.is_untouched(e))
        .collect();
    let to_build: Vec<&str> = selected
        .iter()
        .zip(&untouched)
        .filter(|(_, untouched)| !**untouched)
        .map(|((e, _), _)| e.name)
        .collect();
    let build = cargo.build(course, &to_build);
    built();
    // Every exercise's first state: not started, not compiled, or its
    // checks program, to be run.
    let mut work = VecDeque::new();
    let mut statuses: Vec<Option<Status>> = Vec::new();
    for (index, ((exercise, names), untouched)) in selected.into_iter().zip(untouched).enumerate() {
        let state = if untouched {
            Some(State::NotStarted)
        } else {
            not_runnable(&build, exercise.name)
        };
        match state {
            Some(state) => statuses.push(Some(Status { exercise, state })),
            None => {
                let program = build.programs[exercise.name].clone();
                work.push_back((index, exercise, names, program));
                statuses.push(None);
            }
        }
    }
    // Run the checks programs, `parallel` at a time.
    let work = Mutex::new(work);
    let (finished, results) = mpsc::channel();
    let mut next = 0;
    thread::scope(|s| {
        for _ in 0..settings.parallel.max(1) {
            let (work, finished, root) = (&work, finished.clone(), &course.root);
            s.spawn(move || {
                loop {
                    let job = work.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                    let Some((index, exercise, names, program)) = job else {
                        break;
                    };
                    let started = |check: &'static str, number: usize| {
                        started(Started {
                            exercise: &exercise,
                            check,
                            number,
                            of: names.len(),
                            deadline: checks::deadline_of(check),
                        })
                    };
                    let results = run_checks(&program, root, &names, settings, &started);
                    let state = State::Checked(results);
                    if finished.send((index, Status { exercise, state })).is_err() {
                        break;
                    }
                }
            });
        }
        drop(finished);
        let mut report_ready = |statuses: &mut Vec<Option<Status>>| {
            while let Some(Some(status)) = statuses.get(next) {
                done(status);
                next += 1;
            }
        };
        report_ready(&mut statuses);
        for (index, status) in results {
            statuses[index] = Some(status);
            report_ready(&mut statuses);
        }
    });
    statuses.into_iter().flatten().collect()
}

/// Shows which check runs, and the longest it may take.
pub enum Ticker {
    /// One line on stdout per check.
    Lines,
    /// One line on stderr, rewritten for each check and wiped at the end,
    /// as cargo shows its progress; only on a terminal.
    StatusLine(Mutex<usize>),
    Silent,
}

impl Ticker {
    /// A status line if stderr is a terminal, else nothing.
    pub fn on_terminal() -> Ticker {
        if io::stderr().is_terminal() {
            Ticker::StatusLine(Mutex::new(0))
        } else {
            Ticker::Silent
        }
    }

    pub fn show(&self, started: Started) {
        let Started {
            exercise,
            check,
            number,
            of,
            deadline,
        } = started;
        let (name, secs) = (exercise.name, deadline.as_secs());
        match self {
            Ticker::Lines => {
                println!("  {name}: check {number} of {of}, {check} (at most {secs}s) ...");
            }
            Ticker::StatusLine(width) => {
                // Within 79 columns, or a wrapped line could not be
                // rewritten: the check's name is what gets cut.
                let mut line = format!("{name}: check {number} of {of} (at most {secs}s), {check}");
                if let Some((cut, _)) = line.char_indices().nth(78) {
                    line.truncate(cut);
                    line.push('~');
                }
                let mut width = width.lock().unwrap_or_else(|p| p.into_inner());
                // `\r` and spaces over the last line: no terminal codes
                // needed, so it works in any console.
                let _ = write!(io::stderr(), "\r{line:<w$}", w = *width);
                let _ = io::stderr().flush();
                *width = line.chars().count();
            }
            Ticker::Silent => {}
        }
    }

    /// Wipes the status line.
    pub fn clear(&self) {
        self.while_cleared(|| {});
    }

    /// Runs `print` with the status line wiped, and no new one drawn
    /// before it ends: what `print` writes is never mixed with it.
    pub fn while_cleared(&self, print: impl FnOnce()) {
        let Ticker::StatusLine(width) = self else {
            return print();
        };
        let mut width = width.lock().unwrap_or_else(|p| p.into_inner());
        if *width > 0 {
            let _ = write!(io::stderr(), "\r{:w$}\r", "", w = *width);
            let _ = io::stderr().flush();
            *width = 0;
        }
        print();
    }
}

/// Why the exercise `name` cannot be run, if it cannot.
fn not_runnable(build: &Build, name: &str) -> Option<State> {
    if let Some(error) = build.errors.get(name) {
        return Some(State::DoesNotCompile(error.clone()));
    }
    if build.programs.contains_key(name) {
        return None;
    }
    Some(State::NotBuilt(
        build
            .failure
            .clone()
            .unwrap_or_else(|| "cargo built nothing for it".to_string()),
    ))
}

/// What the checks program said, line by line.
enum Heard {
    Line(String),
    Ended,
}

/// Runs the checks `names` with the checks program `program`, in that
/// order, and returns their results in that order; calls `started` with
/// each check's name and number (from 1) as it starts. With
/// `settings.stop_at_first_failure`, stops at the first failing check.
pub fn run_checks(
    program: &Path,
    root: &Path,
    names: &[&'static str],
    settings: Settings,
    started: &dyn Fn(&'static str, usize),
) -> Vec<CheckResult> {
    let nocapture = settings.nocapture;
    let mut results: Vec<CheckResult> = Vec::new();
    let mut remaining: VecDeque<&'static str> = names.iter().copied().collect();
    while !remaining.is_empty() {
        let mut command = Command::new(program);
        command
            .arg("--protocol")
            .args(remaining.iter())
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if nocapture {
                Stdio::inherit()
            } else {
                Stdio::piped()
            });
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                let why = format!("cannot start the checks program {}: {e}", program.display());
                results.extend(remaining.drain(..).map(|name| failed(name, &why)));
                break;
            }
        };
        let heard = listen(child.stdout.take());
        let stderr = collect(child.stderr.take());
        let mut running: Option<CheckResult> = None;
        let mut progressed = false;
        let ended_why = loop {
            match heard.recv_timeout(SILENCE_LIMIT) {
                Ok(Heard::Line(line)) => {
                    let (printed, record) = match Record::find(&line) {
                        Some((before, record)) => (before, Some(record)),
                        None => (line.as_str(), None),
                    };
                    if !printed.is_empty() {
                        if nocapture {
                            println!("{printed}");
                        }
                        if let Some(check) = running.as_mut().filter(|c| c.printed.len() < 40) {
                            check.printed.push(printed.to_string());
                        }
                    }
                    match record {
                        Some(Record::Start(name)) => {
                            let name = remaining.iter().copied().find(|n| *n == name);
                            if let Some(name) = name {
                                started(name, results.len() + 1);
                            }
                            running = name.map(|name| CheckResult {
                                name,
                                outcome: Outcome::Passed,
                                printed: Vec::new(),
                            });
                        }
                        Some(Record::Done(name, outcome)) => {
                            if let Some(mut check) = running.take().filter(|c| c.name == name) {
                                let failed = !outcome.passed();
                                check.outcome = outcome;
                                remaining.retain(|n| *n != check.name);
                                results.push(check);
                                progressed = true;
                                if failed {
                                    // Whatever the failing code left running
                                    // (a thread spinning in `loop {}`, a
                                    // socket held open) ends with its
                                    // process: the next check, if one is to
                                    // run, starts in a fresh one.
                                    let _ = child.kill();
                                    let _ = child.wait();
                                    break String::new();
                                }
                            }
                        }
                        None => {}
                    }
                }
                Ok(Heard::Ended) | Err(RecvTimeoutError::Disconnected) => {
                    break wait(&mut child)
                        .map_or_else(|e| format!("could not be waited for: {e}"), describe);
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break format!(
                        "was stopped: nothing came from it for {}s",
                        SILENCE_LIMIT.as_secs()
                    );
                }
            }
            if crate::CANCEL.load(Ordering::SeqCst) {
                let _ = child.kill();
                let _ = child.wait();
                break "was stopped".to_string();
            }
        };
        if crate::CANCEL.load(Ordering::SeqCst) {
            break;
        }
        let stop = settings.stop_at_first_failure;
        if ended_why.is_empty() {
            // Killed after a failing check: nothing else went wrong.
            if stop {
                break;
            }
            continue;
        }
        let last_words = stderr.lock().map(|s| s.clone()).unwrap_or_default();
        let why = |name: &str| {
            let mut why = format!(
                "the process that ran the checks {ended_why} while the check {name} ran. \
                 Your code may have overflowed its stack, called std::process::exit, or \
                 blocked every thread."
            );
            if !last_words.trim().is_empty() {
                why.push_str("\nIts last words on stderr:\n");
                why.push_str(last_words.trim_end());
            }
            why
        };
        match running.take() {
            // That check took the process down; the others get a new one.
            Some(mut check) => {
                check.outcome = Outcome::Failed(why(check.name));
                remaining.retain(|n| *n != check.name);
                results.push(check);
                if stop {
                    break;
                }
            }
            // It ended without a word on a check: none will come. Stopping
            // at the first failure, the first of them says so.
            None if !progressed => {
                let why = why("(none yet)");
                let count = if stop { 1 } else { remaining.len() };
                results.extend(remaining.drain(..count).map(|name| failed(name, &why)));
            }
            None => {}
        }
    }
    // In the order they were asked for.
    results.sort_by_key(|r| names.iter().position(|n| *n == r.name));
    results
}

fn failed(name: &'static str, why: &str) -> CheckResult {
    CheckResult {
        name,
        outcome: Outcome::Failed(why.to_string()),
        printed: Vec::new(),
    }
}

/// The lines of `pipe`, as they come, then `Ended`.
fn listen(pipe: Option<impl Read + Send + 'static>) -> Receiver<Heard> {
    let (tx, rx) = mpsc::channel();
    if let Some(pipe) = pipe {
        thread::spawn(move || {
            let mut lines = BufReader::new(pipe);
            let mut line = Vec::new();
            loop {
                line.clear();
                match lines.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&line);
                        let text = text.trim_end_matches(['\n', '\r']).to_string();
                        if tx.send(Heard::Line(text)).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = tx.send(Heard::Ended);
        });
    }
    rx
}

/// The last few KiB of `pipe`, collected on a thread of its own so the
/// child never blocks on a full pipe.
fn collect(pipe: Option<impl Read + Send + 'static>) -> Arc<Mutex<String>> {
    let kept = Arc::new(Mutex::new(String::new()));
    if let Some(pipe) = pipe {
        let kept = Arc::clone(&kept);
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
                kept.push_str(&line);
                kept.push('\n');
                if kept.len() > 8192 {
                    let cut = kept.len() - 4096;
                    let cut = (cut..kept.len())
                        .find(|&i| kept.is_char_boundary(i))
                        .unwrap_or(0);
                    kept.drain(..cut);
                }
            }
        });
    }
    kept
}

/// Waits for the child, at most a moment: its stdout is closed already.
fn wait(child: &mut Child) -> std::io::Result<ExitStatus> {
    for _ in 0..200 {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    child.wait()
}

/// How a process ended, in words.
fn describe(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("ended (exit code {code})"),
        None => format!("was killed ({status})"),
    }
}
