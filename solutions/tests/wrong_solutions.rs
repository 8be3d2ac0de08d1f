//! The wrong answers learners really write, one file per exercise in
//! `wrong/`, and proof that the checks reject each one with the message meant
//! for it. These are not part of the course's code: they exist only here, so
//! that CI notices if a check stops catching a mistake, or starts to explain
//! it with the wrong words.
//!
//! For every wrong answer, *every* check of its exercise runs, and every
//! check that fails must be one this file expects, with the expected words
//! in the first line of its message: whichever failure a student reads
//! first, it names the cause. (A few checks may or may not fail, depending
//! on how the threads happen to run; where they fail, their words are
//! checked too.)
//!
//! `cargo test -p solutions --test wrong_solutions -- --nocapture` prints
//! every message, and a table of wrong answer, check and first line (the
//! lines that start with `ROW |`).
//!
//! The other way round, mutation testing asks whether the checks notice
//! when the reference answers are broken at random. It rebuilds the crate
//! for every mutant, so it is not part of CI: with `cargo install
//! cargo-mutants --locked`, run from the root of the course
//! `cargo mutants -p solutions -f 'solutions/src/*.rs' -e 'solutions/src/bin/*'
//! -e solutions/src/lib.rs -- --test checks`.

use std::sync::{Condvar, Mutex};
use std::thread;

use solutions::checks::{self, Check};

#[path = "wrong/console_router.rs"]
mod console_router;
#[path = "wrong/duplex.rs"]
mod duplex;
#[path = "wrong/echo_server.rs"]
mod echo_server;
#[path = "wrong/event_loop.rs"]
mod event_loop;
#[path = "wrong/exit_client.rs"]
mod exit_client;
#[path = "wrong/fan_out.rs"]
mod fan_out;
#[path = "wrong/reverse.rs"]
mod reverse;
#[path = "wrong/threads.rs"]
mod threads;

/// One wrong answer, and how the checks must reject it.
pub struct Case {
    /// The wrong answer's function name in `wrong/EXERCISE.rs`.
    pub name: &'static str,
    /// Every check of the exercise, given the wrong answer.
    pub checks: Vec<Check>,
    /// The checks that must fail, each with words its message's first line
    /// must contain (or one of several, separated by " OR ", where timing
    /// decides which of two true observations is made). The first one is
    /// the check meant for this mistake.
    pub rejected_by: &'static [(&'static str, &'static str)],
    /// Checks that may fail or pass, depending on timing; if they fail,
    /// their first line must contain these words.
    pub may_fail: &'static [(&'static str, &'static str)],
}

pub fn case(
    name: &'static str,
    checks: Vec<Check>,
    rejected_by: &'static [(&'static str, &'static str)],
) -> Case {
    Case {
        name,
        checks,
        rejected_by,
        may_fail: &[],
    }
}

impl Case {
    pub fn or_maybe(mut self, may_fail: &'static [(&'static str, &'static str)]) -> Case {
        self.may_fail = may_fail;
        self
    }
}

/// Runs every check, all at once (each on its own port, so they cannot
/// collide; most of their time is spent waiting), and returns (check,
/// message) for each that failed, in the checks' order.
fn failures(all: &[Check]) -> Vec<(&'static str, String)> {
    thread::scope(|s| {
        let running: Vec<_> = all
            .iter()
            .map(|check| {
                // A check that starts this program again (checks::child)
                // reruns only the test it runs in.
                let run = checks::child::carried(move || checks::run(check));
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

/// True for the message of a check replayed over a wire
/// (`harness::replayed_over`) that failed on a direct connection too.
fn repeats_a_direct_failure(message: &str) -> bool {
    message.contains("it fails on a direct connection too, so fix that first")
}

/// What is wrong with how the checks treated one wrong answer (empty if
/// nothing), and the report of every message.
fn judge(exercise: &str, case: &Case) -> (Vec<String>, String) {
    let failed = failures(&case.checks);
    let mut problems = advice_problems(exercise, case.name, &failed);
    let mut report = format!("== {}: rejected by {} check(s)\n", case.name, failed.len());
    for (check, message) in &failed {
        report.push_str(&format!("-- {check}:\n{message}\n\n"));
        let first = message.lines().next().unwrap_or_default();
        let expected = case
            .rejected_by
            .iter()
            .chain(case.may_fail)
            .find(|(name, _)| name == check);
        match expected {
            // A check replayed over a misbehaving wire that fails on a
            // direct connection too repeats that check's message, first
            // line unchanged: the cause is already named by the other.
            None if repeats_a_direct_failure(message) => {}
            None => problems.push(format!(
                "{}: the check {check} failed too, which this file does not expect; its \
                 message:\n{message}",
                case.name
            )),
            Some((_, words)) if !words.split(" OR ").any(|w| first.contains(w)) => {
                problems.push(format!(
                    "{}: {check} failed, but the first line of its message does not say \
                 {words:?}:\n{message}",
                    case.name
                ))
            }
            Some(_) => {}
        }
    }
    for (check, _) in case.rejected_by {
        if !failed.iter().any(|(name, _)| name == check) {
            problems.push(format!(
                "{}: should fail the check {check}, but it passed (it failed only {:?})",
                case.name,
                failed.iter().map(|(n, _)| *n).collect::<Vec<_>>()
            ));
        }
    }
    if let Some((check, _)) = case.rejected_by.first()
        && let Some((_, message)) = failed.iter().find(|(name, _)| name == check)
    {
        let first = message.lines().next().unwrap_or_default();
        report.push_str(&format!("ROW | {} | {check} | {first}\n", case.name));
    }
    (problems, report)
}

/// A message that gives advice contradicting the exercise's own rules
/// (`checks::advice`), for each failing check: whichever one a student
/// reads, it must not send them against the task.
fn advice_problems(exercise: &str, wrong: &str, failed: &[(&str, String)]) -> Vec<String> {
    failed
        .iter()
        .filter_map(|(check, message)| {
            let said = checks::advice::contradictions(exercise, message);
            (!said.is_empty()).then(|| {
                format!(
                    "{wrong}: the message of {check} says {said:?}, which contradicts the rules \
                     of {exercise}:\n{message}"
                )
            })
        })
        .collect()
}

#[test]
fn advice_that_contradicts_the_task_is_caught() {
    // Old first lines, from before issue 25: duplex told to read lines and
    // to return at the peer's end of stream.
    let old = [
        (
            "works_when_every_byte_arrives_on_its_own",
            "works when each message arrives in one piece; fails when it arrives one byte at a \
             time: ... TCP keeps no message boundaries, so one read is not one message: frame \
             the stream yourself (read up to the line end, with BufRead::read_line or \
             lessons::framing, and decode whole lines, not pieces)."
                .to_string(),
        ),
        (
            "the_end_of_the_input_is_passed_on_and_the_peer_still_heard",
            "2s after the peer closed the connection (and the input had ended), chat was still \
             running: a read that returns 0 bytes means the peer closed; return then."
                .to_string(),
        ),
    ];
    for (check, message) in &old {
        let problems = advice_problems("duplex", "an old answer", &[(check, message.clone())]);
        assert_eq!(problems.len(), 1, "not caught: {message}");
    }
    // And the same words are fine where lines are the rule.
    assert!(advice_problems("exit_client", "an old answer", &old[..1]).is_empty());
}

/// How many wrong answers are checked at the same time. Their checks mostly
/// wait for deadlines, so this keeps CI quick without loading two cores.
const AT_ONCE: usize = 3;

/// Judges every case, [`AT_ONCE`] at a time, and fails with every problem.
fn reject_all(exercise: &str, cases: Vec<Case>) {
    let slots = (Mutex::new(AT_ONCE), Condvar::new());
    let outcomes: Vec<(Vec<String>, String)> = thread::scope(|s| {
        let running: Vec<_> = cases
            .iter()
            .map(|case| {
                let slots = &slots;
                s.spawn(checks::child::carried(move || {
                    let mut free = slots.0.lock().unwrap();
                    while *free == 0 {
                        free = slots.1.wait(free).unwrap();
                    }
                    *free -= 1;
                    drop(free);
                    let outcome = judge(exercise, case);
                    *slots.0.lock().unwrap() += 1;
                    slots.1.notify_one();
                    outcome
                }))
            })
            .collect();
        running
            .into_iter()
            .map(|h| h.join().expect("judging a case does not panic"))
            .collect()
    });
    let mut problems = Vec::new();
    for (mut found, report) in outcomes {
        println!("{report}");
        problems.append(&mut found);
    }
    assert!(
        problems.is_empty(),
        "{} of the {} wrong answers to {exercise} were not rejected as they should be:\n\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n\n")
    );
}

#[test]
fn wrong_answers_to_threads_are_rejected() {
    reject_all("threads", threads::cases());
}

#[test]
fn wrong_answers_to_exit_client_are_rejected() {
    reject_all("exit_client", exit_client::cases());
}

#[test]
fn wrong_answers_to_echo_server_are_rejected() {
    reject_all("echo_server", echo_server::cases());
}

#[test]
fn wrong_answers_to_reverse_are_rejected() {
    reject_all("reverse", reverse::cases());
}

#[test]
fn wrong_answers_to_duplex_are_rejected() {
    reject_all("duplex", duplex::cases());
}

#[test]
fn wrong_answers_to_console_router_are_rejected() {
    reject_all("console_router", console_router::cases());
}

#[test]
fn wrong_answers_to_fan_out_are_rejected() {
    reject_all("fan_out", fan_out::cases());
}

#[test]
fn wrong_answers_to_event_loop_are_rejected() {
    reject_all("event_loop", event_loop::cases());
}

/// A deadline bounds hung code; it is not a speed test. With a wait of 2 s
/// for a reply, this right answer was told that it buffered its replies.
#[test]
fn a_right_answer_to_reverse_that_is_slow_to_start_passes() {
    let first = solutions::checks::reverse::checks(reverse::slow_to_start)
        .into_iter()
        .filter(|c| c.name == "answers_a_line_with_its_characters_reversed")
        .collect::<Vec<_>>();
    assert_eq!(first.len(), 1, "the check is still there");
    assert_eq!(failures(&first), vec![], "a right answer, 3 s late, failed");
}
