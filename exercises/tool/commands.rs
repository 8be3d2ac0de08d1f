//! The progress program, `cargo run -p exercises [-- COMMAND]`: where you
//! are, and the commands of the student's loop (`watch`, `hint`, `reset`,
//! `list`, `check`).

use std::fs;
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, SystemTime};

use checks::Exercise;
use clap::{CommandFactory, Parser, Subcommand};

use crate::cargo::Cargo;
use crate::course::{Course, State as Saved};
use crate::grading;
use crate::json::{quote, utc_timestamp};
use crate::status::{self, Settings, State, Status, Ticker};

/// Your progress through the exercises of tcp-lessons. Without a command:
/// every exercise's state, and the next one to do.
#[derive(Parser)]
#[command(
    name = "cargo run -p exercises --",
    bin_name = "cargo run -p exercises --",
    version,
    after_help = "Each exercise is a file in exercises/src/ (NAME.rs), checked by \
                  `cargo test -p exercises NAME`."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Re-check an exercise every time you save its file, and show the
    /// current exercise's first failing check. Ends on Ctrl-C, or `q` and
    /// Enter.
    Watch,
    /// Show the next hint of an exercise that you have not seen yet, one at
    /// a time (the count is kept in exercises/.progress).
    Hint {
        /// The exercise, e.g. `echo_server`.
        #[arg(value_parser = exercise_names())]
        name: String,
    },
    /// Put an exercise's stub back as it was shipped (every one with
    /// --all); your version is kept beside it as exercises/src/NAME.rs.bak
    /// (removed too with --all --clean).
    Reset {
        /// The exercise, e.g. `echo_server`.
        #[arg(value_parser = exercise_names(), required_unless_present = "all")]
        name: Option<String>,
        /// Every exercise: each stub back, each changed file kept as
        /// exercises/src/NAME.rs.bak.
        #[arg(long, conflicts_with = "name")]
        all: bool,
        /// With --all, for a lab machine: also remove what the last student
        /// left, the kept versions (exercises/src/*.rs.bak) and the hints
        /// seen (exercises/.progress), so nothing of their work stays. The
        /// build folder is not removed: `cargo clean` does that.
        #[arg(long, requires = "all")]
        clean: bool,
    },
    /// Every exercise with its state: done, fails check N of M (the
    /// checks stop at the first failing one), does not compile, not
    /// started.
    List {
        /// Print it as one JSON object (the format is described in the
        /// book's page for teachers).
        #[arg(long)]
        json: bool,
        /// Grade a student's work with this copy's checks: take only the
        /// exercise files (exercises/src/NAME.rs) from PATH, a student's
        /// copy of the course, and check them in a private copy of this
        /// course (TARGET/grading/). Nothing else of PATH is built, run or
        /// read; a missing file counts as not started. Every check runs,
        /// for points.
        #[arg(long, value_name = "PATH")]
        answers: Option<PathBuf>,
        /// The student's name, shown in the JSON as "student".
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// With --answers: also write the result in the format of GitHub
        /// Classroom's grading reporter to FILE (one point per check).
        #[arg(long, value_name = "FILE", requires = "answers")]
        classroom: Option<PathBuf>,
    },
    /// Check one exercise: run every check, and show each one's message.
    Check {
        /// The exercise, e.g. `echo_server`.
        #[arg(value_parser = exercise_names())]
        name: String,
    },
    /// Check any server, in any language, with the exercises' checks over
    /// the network: `grade echo --addr 127.0.0.1:7000`, or `--run 'COMMAND
    /// {port}'`. Protocols: echo, reverse, room, proxy.
    Grade(crate::grade::Args),
}

fn exercise_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(checks::exercises().iter().map(|e| e.name))
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // Every mistake is an error with the usage, never ignored.
            let text = e.render().to_string();
            eprint!("{text}");
            if !text.contains("Usage:") {
                eprintln!("\n{}", Cli::command().render_usage());
            }
            return ExitCode::from(2);
        }
    };
    let course = Course::find();
    match cli.command {
        None => overview(&course),
        Some(Command::Watch) => watch(&course),
        Some(Command::Hint { name }) => hint(&course, &exercise(&name)),
        Some(Command::Reset {
            name: Some(name), ..
        }) => reset(&course, &exercise(&name)),
        Some(Command::Reset {
            name: None, clean, ..
        }) => reset_all(&course, clean),
        Some(Command::List {
            json,
            answers,
            name,
            classroom,
        }) => list(
            &course,
            &Listing {
                json,
                answers,
                student: name,
                classroom,
            },
        ),
        Some(Command::Check { name }) => check_one(&course, exercise(&name)),
        Some(Command::Grade(args)) => crate::grade::main(args),
    }
}

/// The exercise `name` (clap has checked that there is one).
fn exercise(name: &str) -> Exercise {
    checks::exercise(name).unwrap_or_else(|| unreachable!("clap accepts only exercise names"))
}

/// Checks `exercises`, each up to its first failing check (its message is
/// the one shown; the others run with `check NAME`), showing the checks in
/// progress with `ticker`.
fn check_all(course: &Course, exercises: Vec<Exercise>, ticker: &Ticker) -> Vec<Status> {
    let selected = exercises
        .into_iter()
        .map(|e| {
            let names = e.checks.clone();
            (e, names)
        })
        .collect();
    let settings = Settings {
        skip_untouched: true,
        nocapture: false,
        parallel: thread::available_parallelism().map_or(2, |n| n.get()),
        stop_at_first_failure: true,
    };
    let statuses = status::check(
        course,
        &Cargo::new(course),
        selected,
        settings,
        || {},
        &|started| ticker.show(started),
        |_| {},
    );
    ticker.clear();
    statuses
}

// ANCHOR: overview
/// `cargo run -p exercises`: every exercise's state, and what to do next.
fn overview(course: &Course) -> ExitCode {
    println!(
        "checking the exercises in {} ...",
        course.path("exercises").display()
    );
    let statuses = check_all(course, checks::exercises(), &Ticker::on_terminal());
    // Printed after all checks ran, so that whatever cargo printed while
    // building stays above this summary.
    println!();
    println!("Exercises, in the order of the lessons:");
    print_table(&statuses);
    let done = statuses.iter().filter(|s| s.done()).count();
    println!(
        "\n{done} of {} exercises pass all their checks.",
        statuses.len()
    );
    match next_to_do(&statuses) {
        None => println!("All done. Compare your answers with solutions/src/ if you like."),
        Some(next) => {
            let e = &next.exercise;
            println!("\nNext: exercise {} ({})", e.id, e.title);
            println!("  edit   {}", e.file());
            println!("  check  cargo test -p exercises {}", e.name);
            println!("  hint   cargo run -p exercises -- hint {}", e.name);
            println!("  watch  cargo run -p exercises -- watch   (re-checks on every save)");
            println!();
            print_where(next);
        }
    }
    ExitCode::SUCCESS
}
// ANCHOR_END: overview

/// The exercise to work on: the first one started and not done, else the
/// first one not started.
fn next_to_do(statuses: &[Status]) -> Option<&Status> {
    statuses
        .iter()
        .find(|s| !s.done() && !matches!(s.state, State::NotStarted))
        .or_else(|| statuses.iter().find(|s| !s.done()))
}

/// One line per exercise: id, name, state, title.
fn print_table(statuses: &[Status]) {
    for status in statuses {
        let e = &status.exercise;
        println!(
            "  {:<4} {:<15} {:<20} {}",
            e.id,
            e.name,
            status.label(),
            e.title
        );
    }
}

/// Where one exercise stands, in a few lines: its first failing check's
/// message, or its first compile error.
fn print_where(status: &Status) {
    let e = &status.exercise;
    match &status.state {
        State::NotStarted => println!(
            "{} is not started: open {}, read the comment at the top, and replace the todo!().",
            e.name,
            e.file()
        ),
        State::DoesNotCompile(error) => {
            println!("{} does not compile. The compiler's first error:", e.name);
            println!("  {}", error.headline());
            println!(
                "(`cargo run -p exercises -- check {}` shows all of them.)",
                e.name
            );
        }
        State::NotBuilt(why) => println!("{} could not be built: {why}", e.name),
        State::Checked(_) => match status.first_failure() {
            None => println!("{}: every check passes.", e.name),
            Some((check, message)) if status.stopped_at().is_some() => {
                let (number, of) = (status.ran(), e.checks.len());
                println!("{}: check {number} of {of} fails, {check}:", e.name);
                for line in message.lines() {
                    println!("  {line}");
                }
                let before = match number - 1 {
                    0 => "It is the first check.".to_string(),
                    1 => "The check before it passes.".to_string(),
                    n => format!("The {n} checks before it pass."),
                };
                let command = format!("`cargo run -p exercises -- check {}`", e.name);
                let after = match of - number {
                    0 => String::new(),
                    1 => format!(
                        " The one after it runs once it passes; {command} runs every check now."
                    ),
                    n => format!(
                        " The {n} after it run once it passes; {command} runs them all now."
                    ),
                };
                println!("{before}{after}");
            }
            Some((check, message)) => {
                println!(
                    "{}: {} of {} checks pass. Its first failing check, {check}:",
                    e.name,
                    status.passed(),
                    e.checks.len()
                );
                for line in message.lines() {
                    println!("  {line}");
                }
            }
        },
    }
}

/// What `list` was asked for.
struct Listing {
    json: bool,
    answers: Option<PathBuf>,
    student: Option<String>,
    classroom: Option<PathBuf>,
}

/// `list [--json] [--answers PATH [--classroom FILE]] [--name NAME]`.
fn list(course: &Course, listing: &Listing) -> ExitCode {
    let statuses = match &listing.answers {
        None => check_all(course, checks::exercises(), &Ticker::on_terminal()),
        Some(answers) => match grade_answers(course, answers) {
            Ok(statuses) => statuses,
            Err(e) => return fail(&e),
        },
    };
    // The hints a student saw are in their own copy: a record, not a proof.
    let hints = listing
        .answers
        .as_deref()
        .map_or_else(|| Saved::load(course), grading::hints_seen);
    let report = Report {
        generated_at: utc_timestamp(SystemTime::now()),
        course_commit: course.commit(),
        student: listing.student.clone(),
        answers: listing.answers.as_deref().map(Path::to_path_buf),
        hints,
    };
    if let Some(file) = &listing.classroom
        && let Err(e) = fs::write(file, to_classroom(&statuses))
    {
        return fail(&format!("cannot write {}: {e}", file.display()));
    }
    if listing.json {
        println!("{}", to_json(&statuses, &report));
    } else if listing.answers.is_some() {
        print_points(&statuses);
    } else {
        print_table(&statuses);
    }
    ExitCode::SUCCESS
}

/// `list --answers PATH`: every check of every exercise, on the student's
/// files, in a private copy of this course ([`grading`]).
fn grade_answers(course: &Course, answers: &Path) -> Result<Vec<Status>, String> {
    let grading = grading::prepare(course, &Cargo::new(course), answers)?;
    for note in &grading.notes {
        eprintln!("note: {note}");
    }
    let selected = checks::exercises()
        .into_iter()
        .map(|e| {
            let names = e.checks.clone();
            (e, names)
        })
        .collect();
    let settings = Settings {
        skip_untouched: true,
        nocapture: false,
        parallel: thread::available_parallelism().map_or(2, |n| n.get()),
        stop_at_first_failure: false,
    };
    let ticker = Ticker::on_terminal();
    let statuses = status::check(
        &grading.course,
        &grading.cargo,
        selected,
        settings,
        || {},
        &|started| ticker.show(started),
        |_| {},
    );
    ticker.clear();
    Ok(statuses)
}

/// The grading table: points (passed checks) of each exercise, and the sum.
fn print_points(statuses: &[Status]) {
    for status in statuses {
        let e = &status.exercise;
        let points = format!("{}/{}", status.passed(), e.checks.len());
        println!(
            "  {:<4} {:<15} {points:>6} points  {}",
            e.id,
            e.name,
            status.label()
        );
    }
    let (points, of) = points_of(statuses);
    println!("Points {points}/{of}");
}

/// Passed checks, and checks, of all `statuses`.
fn points_of(statuses: &[Status]) -> (usize, usize) {
    statuses.iter().fold((0, 0), |(p, o), s| {
        (p + s.passed(), o + s.exercise.checks.len())
    })
}

/// What the JSON says besides the exercises.
struct Report {
    generated_at: String,
    course_commit: Option<String>,
    student: Option<String>,
    answers: Option<PathBuf>,
    hints: Saved,
}

fn quote_or_null(text: Option<&str>) -> String {
    text.map_or_else(|| "null".to_string(), quote)
}

// ANCHOR: json
/// The `list --json` object, on one line. Its format is documented in the
/// book (book/src/teachers.md); version 1. `ran`, and `generated_at`,
/// `course_commit`, `student`, `answers`, `points`, `of`, `hints_used`,
/// `check_points` came later: a reader of the first version ignores them.
/// Two runs on the same files print the same bytes but for
/// `generated_at`.
fn to_json(statuses: &[Status], report: &Report) -> String {
    let exercises: Vec<String> = statuses
        .iter()
        .map(|s| {
            let e = &s.exercise;
            let state = match &s.state {
                State::NotStarted => "not_started",
                State::DoesNotCompile(_) => "does_not_compile",
                State::NotBuilt(_) => "not_built",
                State::Checked(_) if s.done() => "done",
                State::Checked(_) => "in_progress",
            };
            let failure = s
                .first_failure()
                .map_or("null".to_string(), |(check, message)| {
                    format!(
                        "{{\"check\":{},\"message\":{}}}",
                        quote(check),
                        quote(message)
                    )
                });
            let error = match &s.state {
                State::DoesNotCompile(error) => format!(
                    "{{\"file\":{},\"line\":{},\"column\":{},\"message\":{}}}",
                    quote(&error.file),
                    error.line,
                    error.column,
                    quote(&error.message)
                ),
                State::NotBuilt(why) => format!(
                    "{{\"file\":null,\"line\":null,\"column\":null,\"message\":{}}}",
                    quote(why)
                ),
                _ => "null".to_string(),
            };
            let check_points: Vec<String> = e
                .checks
                .iter()
                .map(|check| {
                    let points = match check_passed(s, check) {
                        Some(true) => "1",
                        Some(false) => "0",
                        None => "null",
                    };
                    format!("{{\"check\":{},\"points\":{points}}}", quote(check))
                })
                .collect();
            format!(
                "{{\"id\":{},\"name\":{},\"file\":{},\"state\":{},\"label\":{},\"passed\":{},\
                 \"ran\":{},\"checks\":{},\"first_failure\":{failure},\"compile_error\":{error},\
                 \"points\":{},\"of\":{},\"hints_used\":{},\"check_points\":[{}]}}",
                quote(e.id),
                quote(e.name),
                quote(&e.file()),
                quote(state),
                quote(&s.label()),
                s.passed(),
                s.ran(),
                e.checks.len(),
                s.passed(),
                e.checks.len(),
                report.hints.hints_shown(e.name),
                check_points.join(","),
            )
        })
        .collect();
    let done = statuses.iter().filter(|s| s.done()).count();
    let (points, of) = points_of(statuses);
    let answers = report.answers.as_ref().map(|p| p.display().to_string());
    format!(
        "{{\"format\":\"tcp-lessons-progress\",\"version\":1,\"generated_at\":{},\
         \"course_commit\":{},\"student\":{},\"answers\":{},\"done\":{done},\"total\":{},\
         \"points\":{points},\"of\":{of},\"exercises\":[{}]}}",
        quote(&report.generated_at),
        quote_or_null(report.course_commit.as_deref()),
        quote_or_null(report.student.as_deref()),
        quote_or_null(answers.as_deref()),
        statuses.len(),
        exercises.join(",")
    )
}

/// Whether `check` of the exercise passed; `None` if it did not run (the
/// checks stopped at the first failing one, or the exercise was not
/// started or does not compile: then it is `Some(false)`).
fn check_passed(status: &Status, check: &str) -> Option<bool> {
    match &status.state {
        State::Checked(results) => results
            .iter()
            .find(|r| r.name == check)
            .map(|r| r.outcome.passed()),
        _ => Some(false),
    }
}

/// The result for GitHub Classroom's grading reporter
/// (classroom-resources/autograding-grading-reporter, format version 1):
/// one test per check, one point each, named `ID NAME: CHECK`.
fn to_classroom(statuses: &[Status]) -> String {
    let mut tests = Vec::new();
    for s in statuses {
        let e = &s.exercise;
        for check in &e.checks {
            let passed = check_passed(s, check) == Some(true);
            let message = match (&s.state, passed) {
                (_, true) => String::new(),
                (State::Checked(results), false) => results
                    .iter()
                    .find(|r| r.name == *check)
                    .and_then(|r| match &r.outcome {
                        checks::runner::Outcome::Failed(m) => Some(m.clone()),
                        checks::runner::Outcome::Passed => None,
                    })
                    .unwrap_or_else(|| "did not run".to_string()),
                (State::DoesNotCompile(error), false) => {
                    format!("does not compile: {}", error.headline())
                }
                (State::NotBuilt(why), false) => format!("not built: {why}"),
                (State::NotStarted, false) => "not started".to_string(),
            };
            tests.push(format!(
                "{{\"name\":{},\"status\":{},\"score\":{},\"message\":{}}}",
                quote(&format!("{} {}: {check}", e.id, e.name)),
                quote(if passed { "pass" } else { "fail" }),
                u8::from(passed),
                quote(&message)
            ));
        }
    }
    let (points, of) = points_of(statuses);
    format!(
        "{{\"version\":1,\"status\":{},\"max_score\":{of},\"tests\":[{}]}}",
        quote(if points == of { "pass" } else { "fail" }),
        tests.join(",")
    )
}
// ANCHOR_END: json

/// `check NAME`: one exercise, every message.
fn check_one(course: &Course, exercise: Exercise) -> ExitCode {
    let names = exercise.checks.clone();
    let settings = Settings {
        skip_untouched: false,
        nocapture: false,
        parallel: 1,
        stop_at_first_failure: false,
    };
    let ticker = Ticker::on_terminal();
    let statuses = status::check(
        course,
        &Cargo::new(course),
        vec![(exercise, names)],
        settings,
        || {},
        &|started| ticker.show(started),
        |_| {},
    );
    ticker.clear();
    let Some(status) = statuses.first() else {
        return ExitCode::FAILURE;
    };
    let e = &status.exercise;
    println!("\nexercise {} ({}): {}", e.id, e.file(), status.label());
    match &status.state {
        State::Checked(results) => {
            for result in results {
                match &result.outcome {
                    checks::runner::Outcome::Passed => println!("\nok      {}", result.name),
                    checks::runner::Outcome::Failed(message) => {
                        println!("\nFAILED  {}", result.name);
                        for line in message.lines() {
                            println!("  {line}");
                        }
                        if !result.printed.is_empty() {
                            println!("  (your code printed, while it ran:)");
                            for line in &result.printed {
                                println!("  | {line}");
                            }
                        }
                    }
                }
            }
        }
        State::DoesNotCompile(error) => {
            println!("\nThe compiler's first error: {}\n", error.headline());
            println!("{}", error.rendered.trim_end());
        }
        State::NotBuilt(why) => println!("\nIt could not be built: {why}"),
        State::NotStarted => {}
    }
    println!("\n{}: {}", e.name, status.label());
    if status.done() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `hint NAME`: the next hint not shown yet.
fn hint(course: &Course, exercise: &Exercise) -> ExitCode {
    let hints = match course.hints(exercise) {
        Ok(hints) if !hints.is_empty() => hints,
        Ok(_) => return fail(&format!("{} has no numbered hints", exercise.hints())),
        Err(e) => return fail(&format!("cannot read {}: {e}", exercise.hints())),
    };
    let mut saved = Saved::load(course);
    let shown = saved.hints_shown(exercise.name);
    let n = hints.len();
    if shown >= n {
        println!(
            "You have seen all {n} hints of {}. The last one again:\n",
            exercise.name
        );
        println!("Hint {n} of {n}: {}", hints[n - 1]);
        println!(
            "\nStill stuck? The reference answer is {} (cargo test -p solutions {} checks it).",
            exercise.solution(),
            exercise.name
        );
        return ExitCode::SUCCESS;
    }
    println!("Hint {} of {n} for {}:\n", shown + 1, exercise.name);
    println!("{}", hints[shown]);
    saved.set_hints_shown(exercise.name, shown + 1);
    if let Err(e) = saved.save(course) {
        eprintln!(
            "note: cannot remember that in {}: {e}",
            course.state_file().display()
        );
    }
    if shown + 1 < n {
        println!(
            "\n(`cargo run -p exercises -- hint {}` again for the next one.)",
            exercise.name
        );
    } else {
        println!("\n(That was the last hint.)");
    }
    ExitCode::SUCCESS
}

/// `reset NAME`: the stub back, the student's version kept.
fn reset(course: &Course, exercise: &Exercise) -> ExitCode {
    let file = course.path(&exercise.file());
    let stub = match fs::read(course.path(&exercise.stub())) {
        Ok(stub) => stub,
        Err(e) => return fail(&format!("cannot read the stub {}: {e}", exercise.stub())),
    };
    let yours = fs::read(&file).ok();
    if yours.as_deref() == Some(stub.as_slice()) {
        println!(
            "{} is already the stub as shipped: nothing to do.",
            exercise.file()
        );
        return ExitCode::SUCCESS;
    }
    let backup = format!("{}.bak", exercise.file());
    if let Some(yours) = &yours {
        let replaced = course.path(&backup).exists();
        if let Err(e) = fs::write(course.path(&backup), yours) {
            return fail(&format!(
                "cannot keep your version as {backup}: {e} (nothing was reset)"
            ));
        }
        let older = if replaced {
            ", replacing an older one"
        } else {
            ""
        };
        println!(
            "Kept your version of {} as {backup}{older}.",
            exercise.file()
        );
    }
    if let Err(e) = fs::write(&file, &stub) {
        return fail(&format!("cannot write {}: {e}", exercise.file()));
    }
    println!("{} is the stub as shipped again.", exercise.file());
    ExitCode::SUCCESS
}

/// `reset --all [--clean]`: every stub back, as `reset NAME` puts each;
/// with `clean`, the kept versions and the hints seen removed too.
fn reset_all(course: &Course, clean: bool) -> ExitCode {
    let mut failed = false;
    for exercise in checks::exercises() {
        failed |= reset(course, &exercise) != ExitCode::SUCCESS;
    }
    if clean && !failed {
        for exercise in checks::exercises() {
            let backup = format!("{}.bak", exercise.file());
            match fs::remove_file(course.path(&backup)) {
                Ok(()) => println!("Removed {backup}."),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    failed |= fail(&format!("cannot remove {backup}: {e}")) != ExitCode::SUCCESS
                }
            }
        }
        match fs::remove_file(course.state_file()) {
            Ok(()) => println!("Removed exercises/.progress (the hints seen)."),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                failed |=
                    fail(&format!("cannot remove exercises/.progress: {e}")) != ExitCode::SUCCESS;
            }
        }
    }
    if failed {
        eprintln!("error: not everything was reset (see above)");
        return ExitCode::FAILURE;
    }
    if clean {
        println!("Every exercise is the stub as shipped, with nothing kept beside it.");
    } else {
        println!("Every exercise is the stub as shipped.");
    }
    ExitCode::SUCCESS
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

// ANCHOR: watch
/// How often `watch` looks at the files: a save is seen within this.
const POLL: Duration = Duration::from_millis(250);

/// `watch`: re-checks each exercise file you save.
fn watch(course: &Course) -> ExitCode {
    let exercises = checks::exercises();
    // `q` and Enter ends it. The end of input does not (a watch started
    // with no terminal would end at once): Ctrl-C does, as for any program.
    let (quit_tx, quit) = mpsc::channel();
    thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            match line {
                Ok(line) if line.trim() == "q" => {
                    crate::CANCEL.store(true, Ordering::SeqCst);
                    let _ = quit_tx.send(());
                    return;
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    println!("watching exercises/src/ (q and Enter, or Ctrl-C, to stop) ...");
    let mut seen: Vec<Option<Stamp>> = exercises.iter().map(|e| stamp(course, e)).collect();
    let mut statuses = check_all(course, exercises.clone(), &Ticker::on_terminal());
    let mut current: Option<&'static str> = None;
    show(&statuses, current);
    loop {
        if quit.recv_timeout(POLL).is_ok() || crate::CANCEL.load(Ordering::SeqCst) {
            println!("stopped watching.");
            return ExitCode::SUCCESS;
        }
        let now: Vec<Option<Stamp>> = exercises.iter().map(|e| stamp(course, e)).collect();
        let changed: Vec<Exercise> = exercises
            .iter()
            .zip(seen.iter().zip(&now))
            .filter(|(_, (before, after))| before != after)
            .map(|(e, _)| e.clone())
            .collect();
        seen = now;
        if changed.is_empty() {
            continue;
        }
        for e in &changed {
            println!("\nsaved {}: checking ...", e.file());
        }
        current = changed.last().map(|e| e.name);
        // One line per check as it starts: a check that takes long (code
        // that hangs) says which it is and how long it may take.
        for status in check_all(course, changed, &Ticker::Lines) {
            if let Some(old) = statuses
                .iter_mut()
                .find(|s| s.exercise.name == status.exercise.name)
            {
                *old = status;
            }
        }
        if crate::CANCEL.load(Ordering::SeqCst) {
            println!("stopped watching.");
            return ExitCode::SUCCESS;
        }
        show(&statuses, current);
    }
}

/// What `watch` compares to notice a save: the modification time, the
/// length, and (for file systems whose clocks are coarse) the contents.
#[derive(Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    contents: Vec<u8>,
}

fn stamp(course: &Course, exercise: &Exercise) -> Option<Stamp> {
    let path: PathBuf = course.path(&exercise.file());
    let modified = fs::metadata(&path).ok()?.modified().ok();
    Some(Stamp {
        modified,
        contents: fs::read(&path).ok()?,
    })
}

/// The table, then the current exercise: the one saved last while it is
/// not done, else the next one to do.
fn show(statuses: &[Status], saved_last: Option<&str>) {
    println!();
    print_table(statuses);
    let current = statuses
        .iter()
        .find(|s| Some(s.exercise.name) == saved_last && !s.done())
        .or_else(|| next_to_do(statuses));
    match current {
        None => println!("\nAll done! Every exercise passes all its checks."),
        Some(status) => {
            println!();
            print_where(status);
        }
    }
    println!("\n(watching: save a file to re-check it; q and Enter to stop)");
}
// ANCHOR_END: watch
