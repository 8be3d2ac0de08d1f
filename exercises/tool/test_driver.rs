//! `cargo test -p exercises [NAME]`: builds the exercises chosen, runs each
//! one's checks in a process of its own, and reports every check as Rust's
//! test harness would, exercise by exercise in the order of the lessons.
//! An exercise that does not compile fails its checks with the compiler's
//! errors; the others are checked as usual.

use std::process::ExitCode;

use checks::runner::{Options, Outcome, Reporter, student_advice};

use crate::cargo::Cargo;
use crate::course::Course;
use crate::status::{self, Settings, State, Status, Ticker};

// ANCHOR: main
pub fn main() -> ExitCode {
    let options = match Options::from_args() {
        Ok(options) => options,
        Err(usage) => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    let course = Course::find();
    let all = checks::exercises();
    let total: usize = all.iter().map(|e| e.checks.len()).sum();
    let names: Vec<&str> = all.iter().map(|e| e.name).collect();
    // The checks the filters chose, exercise by exercise.
    let selected: Vec<_> = all
        .into_iter()
        .map(|e| {
            let names: Vec<&'static str> = e
                .checks
                .iter()
                .copied()
                .filter(|c| options.selects(&names, e.name, c))
                .collect();
            (e, names)
        })
        .filter(|(_, names)| !names.is_empty())
        .collect();
    let count: usize = selected.iter().map(|(_, names)| names.len()).sum();
    if options.list {
        for (exercise, names) in &selected {
            for name in names {
                println!("{}::{name}: test", exercise.name);
            }
        }
        return ExitCode::SUCCESS;
    }
    let settings = Settings {
        skip_untouched: false,
        nocapture: options.nocapture,
        parallel: options.parallelism(),
        // Every check asked for runs, failing or not.
        stop_at_first_failure: false,
    };
    let names_of: Vec<(String, Vec<&'static str>)> = selected
        .iter()
        .map(|(e, names)| (e.name.to_string(), names.clone()))
        .collect();
    // On a terminal, the check that runs and its deadline, on a line of
    // its own that the results never mix with (not with `-q`'s dots, nor
    // with what `--nocapture` shows).
    let ticker = if options.quiet || options.nocapture {
        Ticker::Silent
    } else {
        Ticker::on_terminal()
    };
    // Started once the build is over: cargo's lines come first, and the
    // time is the checks' own.
    let reporter = std::cell::RefCell::new(None);
    status::check(
        &course,
        &Cargo::new(&course),
        selected,
        settings,
        || *reporter.borrow_mut() = Some(Reporter::start(count, total - count, options.quiet)),
        &|started| ticker.show(started),
        |status| {
            let names = names_of
                .iter()
                .find(|(name, _)| name == status.exercise.name)
                .map(|(_, names)| names.as_slice())
                .unwrap_or_default();
            if let Some(reporter) = reporter.borrow_mut().as_mut() {
                ticker.while_cleared(|| report(reporter, status, names));
            }
        },
    );
    ticker.clear();
    let reporter = reporter.into_inner();
    reporter
        .unwrap_or_else(|| Reporter::start(count, total - count, options.quiet))
        .finish()
}
// ANCHOR_END: main

/// Reports every check of `status` that was asked for (`names`).
fn report(reporter: &mut Reporter, status: &Status, names: &[&'static str]) {
    let exercise = status.exercise.name;
    let advice = student_advice(exercise);
    match &status.state {
        State::Checked(results) => {
            for result in results {
                let name = format!("{exercise}::{}", result.name);
                reporter.result(&name, result.outcome.passed(), || {
                    let mut details = match &result.outcome {
                        Outcome::Failed(message) => message.clone(),
                        Outcome::Passed => String::new(),
                    };
                    if !result.printed.is_empty() {
                        details.push_str("\n\nyour code printed, while this check ran:\n");
                        for line in &result.printed {
                            details.push_str("  ");
                            details.push_str(line);
                            details.push('\n');
                        }
                    }
                    format!("{}\n\n{advice}", details.trim_end())
                });
            }
        }
        State::DoesNotCompile(error) => {
            for (i, check) in names.iter().enumerate() {
                let name = format!("{exercise}::{check}");
                reporter.result(&name, false, || {
                    if i == 0 {
                        format!(
                            "{}.rs does not compile, so none of its checks ran. The compiler's \
                             first error:\n{}\n\n{}\n{advice}",
                            exercise,
                            error.headline(),
                            error.rendered.trim_end()
                        )
                    } else {
                        format!(
                            "does not compile: {} (see {exercise}::{} above)",
                            error.headline(),
                            names[0]
                        )
                    }
                });
            }
        }
        State::NotBuilt(why) => {
            for check in names {
                let name = format!("{exercise}::{check}");
                reporter.result(&name, false, || {
                    format!("the exercise could not be built: {why}")
                });
            }
        }
        State::NotStarted => {}
    }
}
