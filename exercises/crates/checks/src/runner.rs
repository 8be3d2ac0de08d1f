//! How checks are run and reported.
//!
//! The checks' programs have no `#[test]` functions (their list of checks
//! is data, see [`crate::exercises`]), so they are test targets with
//! `harness = false` that run the checks themselves and print what Rust's
//! own test harness (libtest) prints: `test NAME ... ok`, the failures, and
//! `test result: ...`. They understand libtest's usual options too (a name
//! filter, `--exact`, `--skip`, `--list`, `--nocapture`, `--test-threads`).
//!
//! Three programs use this:
//! - each exercise's checks program (`exercises/crates/NAME/checks.rs`),
//!   through [`main`]. The `exercises` package runs it with `--protocol`:
//!   then it runs the checks it is given, one after the other, and reports
//!   each on stdout as a [`Record`] line, which [`Record::find`] reads back
//!   even from a line your code's output was printed into;
//! - `cargo test -p exercises`, which builds and runs the exercises' checks
//!   programs and prints their results with a [`Reporter`];
//! - `solutions/tests/checks.rs`, which runs every check against the
//!   reference answers in one process, through [`suite`].

use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::Check;

/// How one check turned out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// The message that says what went wrong.
    Failed(String),
}

impl Outcome {
    pub fn from_result(result: Result<(), String>) -> Outcome {
        match result {
            Ok(()) => Outcome::Passed,
            Err(message) => Outcome::Failed(message),
        }
    }

    pub fn passed(&self) -> bool {
        *self == Outcome::Passed
    }
}

/// The options of a checks program: the ones of libtest that make sense
/// here. Unknown options are an error, never silently ignored.
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// Run only tests whose name contains one of these (or, with `exact`,
    /// equals it). A filter that is an exercise's name selects exactly
    /// that exercise's checks: `cargo test -p exercises threads` checks
    /// `threads` only, not `pool::uses_the_same_threads_for_every_job`.
    pub filters: Vec<String>,
    pub skip: Vec<String>,
    pub exact: bool,
    /// Print the tests' names instead of running them.
    pub list: bool,
    /// Show what the code under test prints as it runs, instead of keeping
    /// it for the report of a failing check.
    pub nocapture: bool,
    /// One character per test instead of one line.
    pub quiet: bool,
    /// How many checks (or exercises) run at the same time.
    pub threads: Option<usize>,
    /// `--ignored`: run only ignored tests. None is ignored, so none runs.
    pub only_ignored: bool,
    /// For the `exercises` package: report each check as a [`Record`].
    pub protocol: bool,
}

pub const USAGE: &str = "\
usage: cargo test -p exercises [NAME ...] [-- OPTIONS]

NAME: an exercise (e.g. `echo_server`: its checks only), or any part of a
test's name `EXERCISE::CHECK` (every test whose name contains it).

options (those of Rust's test harness that apply):
  --exact              a NAME must be a whole test name
  --skip TEXT          leave out every test whose name contains TEXT
  --list               list the tests instead of running them
  --nocapture          show what your code prints while it is checked
  --show-output        the same
  --test-threads N     how many exercises are checked at the same time
  -q, --quiet          one character per test
  --include-ignored    accepted (no check is ignored)
  --ignored            runs nothing (no check is ignored)
  --color WHEN, --format pretty|terse, -Z unstable-options: accepted";

impl Options {
    /// Reads the options from the program's command line.
    pub fn from_args() -> Result<Options, String> {
        Options::parse(std::env::args().skip(1))
    }

    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut options = Options::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag.to_string(), Some(value)),
                _ => (arg.clone(), None),
            };
            let mut value = |what: &str| -> Result<String, String> {
                match inline {
                    Some(v) => Ok(v.to_string()),
                    None => args.next().ok_or(format!("{flag} needs {what}")),
                }
            };
            match flag.as_str() {
                "--exact" => options.exact = true,
                "--list" => options.list = true,
                "--nocapture" | "--show-output" => options.nocapture = true,
                "-q" | "--quiet" => options.quiet = true,
                "--ignored" => options.only_ignored = true,
                "--include-ignored" => {}
                "--protocol" => options.protocol = true,
                "--skip" => options.skip.push(value("a text")?),
                "--test-threads" => {
                    let n = value("a number")?;
                    match n.parse::<usize>() {
                        Ok(n) if n >= 1 => options.threads = Some(n),
                        _ => return Err(format!("--test-threads must be at least 1, not {n:?}")),
                    }
                }
                "--color" => {
                    value("auto, always or never")?;
                }
                "--format" => match value("pretty or terse")?.as_str() {
                    "pretty" => {}
                    "terse" => options.quiet = true,
                    other => {
                        return Err(format!(
                            "--format {other} is not supported here: use pretty or terse"
                        ));
                    }
                },
                "-Z" => {
                    value("an option")?;
                }
                "--bench" | "--test" => {}
                "-h" | "--help" => return Err(USAGE.to_string()),
                other if other.starts_with('-') => {
                    return Err(format!("unknown option {other}\n\n{USAGE}"));
                }
                _ => options.filters.push(arg),
            }
        }
        Ok(options)
    }

    /// True if the test `exercise::check` is to run. `exercises` are the
    /// names of all exercises: a filter that is one of them selects that
    /// exercise only (`threads` is not `pool::uses_the_same_threads...`).
    pub fn selects(&self, exercises: &[&str], exercise: &str, check: &str) -> bool {
        let name = format!("{exercise}::{check}");
        if self.only_ignored || self.skip.iter().any(|s| name.contains(s.as_str())) {
            return false;
        }
        self.filters.is_empty()
            || self.filters.iter().any(|f| {
                if exercises.contains(&f.as_str()) {
                    f == exercise
                } else if self.exact {
                    *f == name
                } else {
                    name.contains(f.as_str())
                }
            })
    }

    /// How many things run at once: `--test-threads`, else
    /// `RUST_TEST_THREADS`, else the number of CPUs.
    pub fn parallelism(&self) -> usize {
        self.threads
            .or_else(|| std::env::var("RUST_TEST_THREADS").ok()?.parse().ok())
            .or_else(|| thread::available_parallelism().ok().map(|n| n.get()))
            .unwrap_or(2)
            .max(1)
    }
}

/// Prints results as libtest does, and sums them up.
pub struct Reporter {
    quiet: bool,
    started: Instant,
    passed: usize,
    failed: Vec<(String, String)>,
    filtered_out: usize,
    column: usize,
}

impl Reporter {
    /// Starts the report of `count` tests (`filtered_out` were left out).
    pub fn start(count: usize, filtered_out: usize, quiet: bool) -> Reporter {
        let plural = if count == 1 { "" } else { "s" };
        println!("\nrunning {count} test{plural}");
        Reporter {
            quiet,
            started: Instant::now(),
            passed: 0,
            failed: Vec::new(),
            filtered_out,
            column: 0,
        }
    }

    /// One test's result. `details` is what the failures section shows.
    pub fn result(&mut self, name: &str, passed: bool, details: impl FnOnce() -> String) {
        if self.quiet {
            print!("{}", if passed { '.' } else { 'F' });
            self.column += 1;
            if self.column == 88 {
                println!();
                self.column = 0;
            }
            let _ = io::stdout().flush();
        } else {
            println!("test {name} ... {}", if passed { "ok" } else { "FAILED" });
        }
        if passed {
            self.passed += 1;
        } else {
            self.failed.push((name.to_string(), details()));
        }
    }

    pub fn all_passed(&self) -> bool {
        self.failed.is_empty()
    }

    /// Prints the failures and the summary line; the exit code libtest
    /// would give (101 if anything failed).
    pub fn finish(self) -> ExitCode {
        if self.quiet && self.column > 0 {
            println!();
        }
        if !self.failed.is_empty() {
            println!("\nfailures:\n");
            for (name, details) in &self.failed {
                println!("---- {name} ----\n{}\n", details.trim_end());
            }
            println!("failures:");
            for (name, _) in &self.failed {
                println!("    {name}");
            }
        }
        let verdict = if self.failed.is_empty() {
            "ok"
        } else {
            "FAILED"
        };
        println!(
            "\ntest result: {verdict}. {} passed; {} failed; 0 ignored; 0 measured; {} filtered \
             out; finished in {:.2}s\n",
            self.passed,
            self.failed.len(),
            self.filtered_out,
            self.started.elapsed().as_secs_f64()
        );
        if self.failed.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(101)
        }
    }
}

/// What to tell the reader of a failing check, after its message: where
/// to look. Given the exercise's name.
pub type Advice = fn(&str) -> String;

/// The advice for a student's exercise.
pub fn student_advice(exercise: &str) -> String {
    format!(
        "(exercise {exercise}: edit exercises/src/{exercise}.rs; a hint: cargo run -p \
         exercises -- hint {exercise})"
    )
}

/// The entry point of an exercise's checks program
/// (`exercises/crates/NAME/checks.rs`): runs `checks`, the checks of
/// `exercise` bound to the student's code.
pub fn main(exercise: &'static str, checks: Vec<Check>) -> ExitCode {
    let options = match Options::from_args() {
        Ok(options) => options,
        Err(usage) => return usage_error(&usage),
    };
    if options.protocol {
        // The checks to run are the filters, as whole names; none: all.
        let selected = checks
            .iter()
            .filter(|c| options.filters.is_empty() || options.filters.iter().any(|f| f == c.name));
        for check in selected {
            Record::Start(check.name.to_string()).send();
            let outcome = Outcome::from_result(crate::run(check));
            Record::Done(check.name.to_string(), outcome).send();
        }
        return ExitCode::SUCCESS;
    }
    suite_with(options, vec![(exercise, checks)], student_advice)
}

/// Runs the checks of several exercises in this process, several at once,
/// and reports them as libtest does. For `solutions/tests/checks.rs`.
pub fn suite(exercises: Vec<(&'static str, Vec<Check>)>, advice: Advice) -> ExitCode {
    match Options::from_args() {
        Ok(options) => suite_with(options, exercises, advice),
        Err(usage) => usage_error(&usage),
    }
}

fn usage_error(usage: &str) -> ExitCode {
    eprintln!("{usage}");
    ExitCode::from(2)
}

fn suite_with(
    options: Options,
    exercises: Vec<(&'static str, Vec<Check>)>,
    advice: Advice,
) -> ExitCode {
    let total: usize = exercises.iter().map(|(_, c)| c.len()).sum();
    let names: Vec<&str> = exercises.iter().map(|(e, _)| *e).collect();
    let selected: Vec<(&'static str, Check)> = exercises
        .into_iter()
        .flat_map(|(e, checks)| checks.into_iter().map(move |c| (e, c)))
        .filter(|(e, c)| options.selects(&names, e, c.name))
        .collect();
    if options.list {
        for (exercise, check) in &selected {
            println!("{exercise}::{}: test", check.name);
        }
        return ExitCode::SUCCESS;
    }
    let mut reporter = Reporter::start(selected.len(), total - selected.len(), options.quiet);
    let queue = Mutex::new(selected.iter());
    let (done, results) = mpsc::channel();
    thread::scope(|s| {
        for _ in 0..options.parallelism().min(selected.len()) {
            let (queue, done) = (&queue, done.clone());
            s.spawn(move || {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                    let Some((exercise, check)) = next else { break };
                    let _ = done.send((*exercise, check.name, crate::run(check)));
                }
            });
        }
        drop(done);
        for (exercise, check, result) in results {
            let name = format!("{exercise}::{check}");
            reporter.result(&name, result.is_ok(), || {
                format!(
                    "{}\n\n{}",
                    result.err().unwrap_or_default(),
                    advice(exercise)
                )
            });
        }
    });
    reporter.finish()
}

/// One line of the protocol between an exercise's checks program and the
/// `exercises` package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// The check is about to run.
    Start(String),
    /// The check ran.
    Done(String, Outcome),
}

/// Starts every record, so that it is found even in a line the code under
/// test printed into (a `print!` without a newline, say).
const MARKER: &str = "\u{1}check-record\u{1}";

impl Record {
    /// Prints the record on stdout, as one line, at once.
    pub fn send(&self) {
        let line = match self {
            Record::Start(name) => format!("{MARKER}start {name}\n"),
            Record::Done(name, Outcome::Passed) => format!("{MARKER}pass {name}\n"),
            Record::Done(name, Outcome::Failed(message)) => {
                format!("{MARKER}fail {name} {}\n", escape(message))
            }
        };
        // One locked write: never split by what other threads print. If
        // stdout is gone, so is whoever wanted the record.
        let mut out = io::stdout().lock();
        let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
    }

    /// The record in `line`, if it has one; and what came before it.
    pub fn find(line: &str) -> Option<(&str, Record)> {
        let (before, record) = line.split_once(MARKER)?;
        let (kind, rest) = record.split_once(' ')?;
        let record = match kind {
            "start" => Record::Start(rest.to_string()),
            "pass" => Record::Done(rest.to_string(), Outcome::Passed),
            "fail" => {
                let (name, message) = rest.split_once(' ').unwrap_or((rest, ""));
                Record::Done(name.to_string(), Outcome::Failed(unescape(message)))
            }
            _ => return None,
        };
        Some((before, record))
    }
}

/// A message on one line: `\` and line ends escaped.
fn escape(message: &str) -> String {
    message
        .replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

fn unescape(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Runs every check at once (each binds its own port, so they cannot
/// collide, and most of their time is spent waiting for a deadline), and
/// returns `(check, message)` for each that failed, in the checks' order.
pub fn failures(all: Vec<Check>) -> Vec<(&'static str, String)> {
    thread::scope(|s| {
        let running: Vec<_> = all
            .iter()
            .map(|check| {
                let run = crate::child::carried(move || crate::run(check));
                (check.name, s.spawn(run))
            })
            .collect();
        running
            .into_iter()
            .filter_map(|(name, h)| match h.join() {
                Ok(result) => result.err().map(|m| (name, m)),
                Err(_) => Some((name, "the check itself panicked".to_string())),
            })
            .collect()
    })
}

/// For the wrong-solution fixtures: asserts that each `(check, teaches)`
/// rejected the wrong answer `wrong` with a message that contains
/// `teaches`, and prints every message for the record (see them with
/// `-- --nocapture`).
pub fn assert_rejected(wrong: &str, all: Vec<Check>, expected: &[(&str, &str)]) {
    let names: Vec<&str> = all.iter().map(|c| c.name).collect();
    let exercise = crate::advice::exercise_of(&names);
    let failed = failures(all);
    for (name, message) in &failed {
        let said = exercise.map(|e| crate::advice::contradictions(e, message));
        assert!(
            said.as_ref().is_none_or(|said| said.is_empty()),
            "{wrong}: the message of {name} says {said:?}, which contradicts the task's \
             rules:\n{message}"
        );
    }
    println!("== {wrong}: rejected by {} check(s)", failed.len());
    for (name, message) in &failed {
        println!("-- {name}:\n{message}\n");
    }
    for (check, teaches) in expected {
        let Some((_, message)) = failed.iter().find(|(name, _)| name == check) else {
            panic!(
                "{wrong} should fail the check {check}, but it passed (it failed only {:?})",
                failed.iter().map(|(n, _)| n).collect::<Vec<_>>()
            );
        };
        assert!(
            message.contains(teaches),
            "{wrong} failed {check}, but its message does not say {teaches:?}:\n{message}"
        );
    }
    // The fixtures' table, as `wrong_solutions.rs` prints it: wrong answer,
    // the check meant for it, and the first line of its message.
    if let Some((check, _)) = expected.first()
        && let Some((_, message)) = failed.iter().find(|(name, _)| name == check)
    {
        let first = message.lines().next().unwrap_or_default();
        println!("ROW | {wrong} | {check} | {first}");
    }
}

/// How long [`Record`]s may stop coming before the `exercises` package
/// gives up on a checks program: a check's own deadline, and a margin.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(3 * crate::CHECK_DEADLINE.as_secs() + 10);
