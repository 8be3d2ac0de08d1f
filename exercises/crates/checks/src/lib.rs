//! The checks of every exercise: the library `checks` (package
//! `exercise-checks`, manifest in `exercises/crates/checks/`).
//!
//! Each check is a plain function that takes the code under test as a
//! parameter and returns `Err(message)` when it fails. Nothing here depends
//! on a student's code, so one exercise that does not compile cannot stop
//! the others from being checked:
//! - every exercise is a crate of its own (`exercises/crates/NAME/`), whose
//!   library is the student's file `exercises/src/NAME.rs` and whose test
//!   program `checks` hands that file's function to this exercise's checks
//!   ([`runner::main`]);
//! - the `exercises` package (`cargo test -p exercises`, `cargo run -p
//!   exercises`) builds those crates with cargo and runs each one's checks
//!   in a process of its own, under a deadline;
//! - `solutions` hands the reference answers to the same checks, and
//!   `solutions/tests/wrong_solutions*.rs` hands them answers that are wrong
//!   on purpose.
//!
//! **The list of checks is written once**, in each module's `checks`
//! function (the `checks!` list below): to add a check, write its function
//! in `exercises/crates/checks/src/NAME.rs` and add its name to that list. Nothing
//! else needs an edit: [`exercises`] reads the names from there, and so do
//! `cargo test -p exercises`, the progress program and CI.
//!
//! You do not need to read or change anything here to do the exercises;
//! reading a check is a fine way to see exactly what is expected, though.
#![allow(dead_code)] // not every helper of the harness is used by every check

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

/// `over_the_wire!(Subject => check_a, check_b)` writes the two checks that
/// replay `check_a` and `check_b` over lesson 09's proxy
/// ([`harness::replayed_over`]): `works_when_every_byte_arrives_on_its_own`
/// and `works_when_separate_messages_arrive_merged`.
macro_rules! over_the_wire {
    // A state machine handed events (exercise 10), for any type `C` of
    // connection: its messages never advise a blocking read of a line.
    (events<$c:ident> $subject:ty => $($check:ident),+ $(,)?) => {
        fn over_the_wire<$c: 'static>() -> Vec<super::harness::Replay<$subject>> {
            vec![$((stringify!($check), $check::<$c> as fn($subject) -> Result<(), String>)),+]
        }

        fn works_when_every_byte_arrives_on_its_own<$c: 'static>(
            subject: $subject,
        ) -> Result<(), String> {
            super::harness::replayed_over_as(
                super::harness::Unit::Events,
                super::harness::Wire::OneByteAtATime,
                subject,
                &over_the_wire::<$c>(),
            )
        }

        fn works_when_separate_messages_arrive_merged<$c: 'static>(
            subject: $subject,
        ) -> Result<(), String> {
            super::harness::replayed_over_as(
                super::harness::Unit::Events,
                super::harness::Wire::Merged,
                subject,
                &over_the_wire::<$c>(),
            )
        }
    };
    // An exercise that passes bytes on as they come: its messages never
    // advise reading lines.
    (bytes $subject:ty => $($check:ident),+ $(,)?) => {
        const OVER_THE_WIRE: &[super::harness::Replay<$subject>] =
            &[$((stringify!($check), $check as fn($subject) -> Result<(), String>)),+];

        fn works_when_every_byte_arrives_on_its_own(subject: $subject) -> Result<(), String> {
            super::harness::replayed_over_as(
                super::harness::Unit::Bytes,
                super::harness::Wire::OneByteAtATime,
                subject,
                OVER_THE_WIRE,
            )
        }

        fn works_when_separate_messages_arrive_merged(subject: $subject) -> Result<(), String> {
            super::harness::replayed_over_as(
                super::harness::Unit::Bytes,
                super::harness::Wire::Merged,
                subject,
                OVER_THE_WIRE,
            )
        }
    };
    ($subject:ty => $($check:ident),+ $(,)?) => {
        const OVER_THE_WIRE: &[super::harness::Replay<$subject>] =
            &[$((stringify!($check), $check as fn($subject) -> Result<(), String>)),+];

        fn works_when_every_byte_arrives_on_its_own(subject: $subject) -> Result<(), String> {
            super::harness::replayed_over(
                super::harness::Wire::OneByteAtATime,
                subject,
                OVER_THE_WIRE,
            )
        }

        fn works_when_separate_messages_arrive_merged(subject: $subject) -> Result<(), String> {
            super::harness::replayed_over(super::harness::Wire::Merged, subject, OVER_THE_WIRE)
        }
    };
}

pub mod advice;
pub mod child;
pub mod console_router;
pub mod duplex;
pub mod echo_server;
pub mod event_loop;
pub mod exit_client;
pub mod fan_out;
pub mod harness;
pub mod load;
pub mod pool;
pub mod proxy;
pub mod reverse;
pub mod room;
pub mod runner;
pub mod shared;
pub mod threads;

/// One exercise: where it is, and the names of its checks.
#[derive(Debug, Clone)]
pub struct Exercise {
    /// "02b": lesson number and letter; the order of the course.
    pub id: &'static str,
    /// The file name (`exercises/src/NAME.rs`), the check module's name,
    /// the filter of `cargo test -p exercises NAME`, and the crate
    /// `exercise-NAME` (`exercises/crates/NAME/`).
    pub name: &'static str,
    /// What the exercise builds, in a few words.
    pub title: &'static str,
    /// The function (or type) the student writes.
    pub writes: &'static str,
    /// The program that runs it by hand: `cargo run -p exercises --bin
    /// PROGRAM` (the student's code), `-p solutions` (the reference).
    pub program: &'static str,
    /// The names of its checks, in the order they run.
    pub checks: Vec<&'static str>,
}

impl Exercise {
    /// The file the student edits, relative to the course's folder.
    pub fn file(&self) -> String {
        format!("exercises/src/{}.rs", self.name)
    }

    /// The stub as shipped, which `reset` puts back.
    pub fn stub(&self) -> String {
        format!("exercises/stubs/{}.rs", self.name)
    }

    pub fn hints(&self) -> String {
        format!("exercises/src/{}.hints.md", self.name)
    }

    /// The reference answer.
    pub fn solution(&self) -> String {
        format!("solutions/src/{}.rs", self.name)
    }

    /// The cargo package that compiles the student's file.
    pub fn package(&self) -> String {
        format!("exercise-{}", self.name)
    }
}

/// The names of a list of checks.
fn names(checks: Vec<Check>) -> Vec<&'static str> {
    checks.into_iter().map(|c| c.name).collect()
}

// ANCHOR: exercises
/// What a subject given only to read the names of the checks would say.
const NEVER: &str = "only the names of the checks are read here";

/// Every exercise in the order of the lessons.
///
/// The names of the checks come from each module's own list: the subject
/// given here is never called (`unreachable!`), only the names are read.
/// The real bindings, check by check to the student's function, are in
/// `exercises/crates/NAME/checks.rs` and in `solutions/src/lib.rs`.
pub fn exercises() -> Vec<Exercise> {
    vec![
        Exercise {
            id: "01",
            name: "threads",
            title: "run a function on many threads at once",
            writes: "map_on_threads",
            program: "threads",
            checks: names(threads::checks(|_, _| unreachable!("{NEVER}"))),
        },
        Exercise {
            id: "02a",
            name: "exit_client",
            title: "a client that sends lines until `exit`",
            writes: "run_client",
            program: "exit_client",
            checks: names(exit_client::checks(|_, _, _| unreachable!("{NEVER}"))),
        },
        Exercise {
            id: "02b",
            name: "echo_server",
            title: "an echo server for many clients at once",
            writes: "serve_all",
            program: "echo_server",
            checks: names(echo_server::checks(|_| unreachable!("{NEVER}"))),
        },
        Exercise {
            id: "03",
            name: "reverse",
            title: "reverse each line: framing and UTF-8",
            writes: "reverse_lines",
            program: "reverse_server",
            checks: names(reverse::checks(|_| unreachable!("{NEVER}"))),
        },
        Exercise {
            id: "04",
            name: "duplex",
            title: "full duplex: both directions at once",
            writes: "chat",
            program: "chat",
            checks: names(duplex::checks(|_, _, _| unreachable!("{NEVER}"))),
        },
        Exercise {
            id: "05",
            name: "console_router",
            title: "one console, many clients: route and broadcast",
            writes: "run_room",
            program: "console_router",
            checks: names(console_router::checks(|_, _| unreachable!("{NEVER}"))),
        },
        Exercise {
            id: "06",
            name: "fan_out",
            title: "ask several servers at once, with timeouts",
            writes: "ask_all",
            program: "fan_out",
            checks: names(fan_out::checks(|_, _, _| unreachable!("{NEVER}"))),
        },
        Exercise {
            id: "07",
            name: "pool",
            title: "a bounded worker pool that shuts down gracefully",
            writes: "Pool",
            program: "pool_server",
            checks: names(pool::checks::<()>(pool::Api {
                new: |_, _| unreachable!("{NEVER}"),
                submit: |_, _| unreachable!("{NEVER}"),
                shutdown: |_| unreachable!("{NEVER}"),
            })),
        },
        Exercise {
            id: "08",
            name: "load",
            title: "a load client that checks every reply",
            writes: "run_load",
            program: "load",
            checks: names(load::checks(|_, _, _| unreachable!("{NEVER}"))),
        },
        Exercise {
            id: "09",
            name: "proxy",
            title: "a proxy's core: both directions, the half-close passed on",
            writes: "forward",
            program: "proxy",
            checks: names(proxy::checks(|_, _| unreachable!("{NEVER}"))),
        },
        Exercise {
            id: "10",
            name: "event_loop",
            title: "an event loop's connection: read, frame, queue, write",
            writes: "Connection",
            program: "event_loop",
            checks: names(event_loop::checks::<()>(event_loop::Api {
                new: |_| unreachable!("{NEVER}"),
                on_readable: |_, _| unreachable!("{NEVER}"),
                on_writable: |_, _| unreachable!("{NEVER}"),
            })),
        },
    ]
}
// ANCHOR_END: exercises

/// The exercise called `name`, if there is one.
pub fn exercise(name: &str) -> Option<Exercise> {
    exercises().into_iter().find(|e| e.name == name)
}

/// The most one check may take, whatever the code under test does. Each
/// check also waits at most [`harness::WAIT`] for any one thing, so this is
/// only the net under the net.
pub const CHECK_DEADLINE: Duration = Duration::from_secs(10);

/// The most the check called `name` may take: [`CHECK_DEADLINE`], or three
/// times that for a replay over a wire (`over_the_wire!`), which runs
/// several checks in turn, each directly and then through a proxy that
/// relays every byte (slow on a busy machine), or for the room's check
/// that a client that never reads holds the others back for a few seconds
/// at most ([`room::HELD_BACK`]). An upper bound for hung code; right
/// answers end long before.
pub fn deadline_of(name: &str) -> Duration {
    if name.starts_with("works_when_")
        || name == room::SLOWEST
        || name == echo_server::OUT_OF_DESCRIPTORS
    {
        3 * CHECK_DEADLINE
    } else {
        CHECK_DEADLINE
    }
}

/// Runs one check on a thread of its own, under [`deadline_of`] it.
pub fn run(check: &Check) -> Result<(), String> {
    // A child started by a check (see `child`) runs that check alone, with
    // no deadline of its own: its parent holds the deadline, and kills it.
    if let Some(role) = child::role() {
        return if role.check == check.name {
            (check.run)()
        } else {
            Ok(())
        };
    }
    let run = Arc::clone(&check.run);
    let task = harness::spawn("the check", child::carried(move || run()));
    let deadline = deadline_of(check.name);
    match task.wait(deadline) {
        Ok(result) => result,
        Err(harness::Waited::Panicked(why)) => Err(why),
        Err(harness::Waited::Running) => Err(format!(
            "the check did not finish within {deadline:?}: your code blocked something the \
             check was waiting for"
        )),
    }
}
