//! The checks of every exercise, written once and run three ways:
//! by `cargo test -p exercises` (one `#[test]` per check, in
//! `exercises/tests/checks.rs`), by `cargo run -p exercises` (the progress
//! view), and against the reference answers by `cargo test -p solutions`.
//!
//! How one source serves two crates: the `solutions` crate compiles this
//! very folder as its own `checks` module (`#[path = ...]` in
//! `solutions/src/lib.rs`). Inside it, `crate::echo_server::serve_all` is
//! therefore the student's function in `exercises` and the reference answer
//! in `solutions`. Each check is a plain function that takes the code under
//! test as a parameter and returns `Err(message)` when it fails, so the
//! wrong-solution fixtures (`solutions/tests/wrong_solutions.rs`) can run
//! the same checks against code that is wrong on purpose.
//!
//! Why plain functions, rather than a progress view that runs `cargo test`
//! and reads its output: there is no cargo inside cargo, no parsing of
//! libtest's text (its JSON output is not stable), and the deadline that
//! keeps a stuck exercise from hanging is the same code ([`run`]) in the
//! tests and in the progress view.
//!
//! You do not need to read or change anything here to do the exercises;
//! reading a check is a fine way to see exactly what is expected, though.
#![allow(dead_code)] // each crate uses a different part of the harness

use std::sync::Arc;
use std::time::Duration;

/// One check: a name that reads as a sentence, and the code to run.
pub struct Check {
    pub name: &'static str,
    run: Arc<dyn Fn() -> Result<(), String> + Send + Sync>,
}

impl Check {
    pub fn new(
        name: &'static str,
        run: impl Fn() -> Result<(), String> + Send + Sync + 'static,
    ) -> Check {
        Check {
            name,
            run: Arc::new(run),
        }
    }
}

/// Turns `subject => check_a, check_b` into a list of [`Check`]s named after
/// their functions, each given the code under test.
macro_rules! checks {
    ($subject:expr => $($check:ident),+ $(,)?) => {{
        let subject = $subject;
        vec![$(super::Check::new(stringify!($check), move || $check(subject))),+]
    }};
}

pub mod console_router;
pub mod duplex;
pub mod echo_server;
pub mod exit_client;
pub mod fan_out;
pub mod harness;
pub mod reverse;
pub mod threads;

/// One exercise: where it is and how it is checked.
pub struct Exercise {
    /// "02b": lesson number and letter; the order of the course.
    pub id: &'static str,
    /// The module and file name, and the filter for `cargo test -p exercises`.
    pub name: &'static str,
    /// What the exercise builds, in a few words.
    pub title: &'static str,
    pub checks: Vec<Check>,
}

impl Exercise {
    pub fn file(&self) -> String {
        format!("exercises/src/{}.rs", self.name)
    }

    pub fn hints(&self) -> String {
        format!("exercises/src/{}.hints.md", self.name)
    }
}

// ANCHOR: exercises
/// Every exercise in the order of the lessons, bound to this crate's code.
pub fn exercises() -> Vec<Exercise> {
    vec![
        Exercise {
            id: "01",
            name: "threads",
            title: "run a function on many threads at once",
            checks: threads::checks(crate::threads::map_on_threads),
        },
        Exercise {
            id: "02a",
            name: "exit_client",
            title: "a client that sends lines until `exit`",
            checks: exit_client::checks(crate::exit_client::run_client),
        },
        Exercise {
            id: "02b",
            name: "echo_server",
            title: "an echo server for many clients at once",
            checks: echo_server::checks(crate::echo_server::serve_all),
        },
        Exercise {
            id: "03",
            name: "reverse",
            title: "reverse each line: framing and UTF-8",
            checks: reverse::checks(crate::reverse::reverse_lines),
        },
        Exercise {
            id: "04",
            name: "duplex",
            title: "full duplex: both directions at once",
            checks: duplex::checks(crate::duplex::chat),
        },
        Exercise {
            id: "05",
            name: "console_router",
            title: "one console, many clients: route and broadcast",
            checks: console_router::checks(crate::console_router::run_room),
        },
        Exercise {
            id: "06",
            name: "fan_out",
            title: "ask several servers at once, with timeouts",
            checks: fan_out::checks(crate::fan_out::ask_all),
        },
    ]
}
// ANCHOR_END: exercises

/// The most one check may take, whatever the code under test does. Each
/// check also waits at most [`harness::WAIT`] for any one thing, so this is
/// only the net under the net.
pub const CHECK_DEADLINE: Duration = Duration::from_secs(10);

/// Runs one check on a thread of its own, under [`CHECK_DEADLINE`].
pub fn run(check: &Check) -> Result<(), String> {
    let run = Arc::clone(&check.run);
    let task = harness::spawn("the check", move || run());
    match task.wait(CHECK_DEADLINE) {
        Ok(result) => result,
        Err(harness::Waited::Panicked(why)) => Err(why),
        Err(harness::Waited::Running) => Err(format!(
            "the check did not finish within {CHECK_DEADLINE:?}: your code blocked something \
             the check was waiting for"
        )),
    }
}

/// Runs the check `check` of exercise `exercise` (both by name).
pub fn run_named(exercise: &str, check: &str) -> Result<(), String> {
    let exercises = exercises();
    let found = exercises
        .iter()
        .find(|e| e.name == exercise)
        .and_then(|e| e.checks.iter().find(|c| c.name == check));
    match found {
        Some(check) => run(check),
        None => Err(format!("there is no check {exercise}::{check}")),
    }
}
