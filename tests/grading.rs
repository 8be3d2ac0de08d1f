//! The teachers' tools, end to end: grading a student's copy with the
//! teacher's checks (`list --answers PATH`), the JSON a class summary reads,
//! `reset --all` for a lab machine, and the GitHub Classroom script
//! (exercises/tool/classroom/grade.sh), each run in copies of the course
//! (tests/common/exercises.rs), never in the course itself.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use exercises::json::{self, Value, utc_timestamp};
use rstest::rstest;

use common::exercises::{CourseCopy, Ran, course_root, run};

/// Exercise 01 done one call after the other: right results, no threads.
const SEQUENTIAL_THREADS: &str = "pub fn map_on_threads<F>(numbers: &[i64], f: F) -> Vec<i64>
where
    F: Fn(i64) -> i64 + Sync,
{
    numbers.iter().map(|&n| f(n)).collect()
}
";

/// The two lines a student deletes from the threads checks so that a
/// sequential answer passes them (what the teacher of issue 26 tried).
const THREADS_CHECKS_TO_DELETE: [&str; 2] = [
    "        runs_every_call_at_the_same_time,\n",
    "        keeps_the_order_when_the_threads_finish_last_to_first,\n",
];

/// Edits the checks of the copy `copy` so that every check passes whatever
/// the answer: the threads list loses its two concurrency checks, and the
/// runner of every check returns "passed" before running it.
fn tamper_with_the_checks(copy: &CourseCopy) {
    let threads = "exercises/crates/checks/src/threads.rs";
    let mut text = copy.read(threads);
    for line in THREADS_CHECKS_TO_DELETE {
        assert!(text.contains(line), "the threads checks list {line:?}");
        text = text.replace(line, "");
    }
    copy.write(threads, &text);
    let lib = "exercises/crates/checks/src/lib.rs";
    let runner = "pub fn run(check: &Check) -> Result<(), String> {\n";
    let text = copy.read(lib);
    assert!(text.contains(runner), "checks::run is where it was");
    copy.write(
        lib,
        &text.replace(
            runner,
            &format!("{runner}    if true {{ return Ok(()); }}\n"),
        ),
    );
}

/// Parses the JSON `list --json` printed.
fn parsed(ran: &Ran) -> Value {
    assert!(ran.status.success(), "{}", ran.all());
    json::parse(ran.stdout.trim())
        .unwrap_or_else(|e| panic!("list --json printed no JSON ({e}):\n{}", ran.all()))
}

/// The object of `exercise` in a parsed `list --json`.
fn exercise<'a>(report: &'a Value, name: &str) -> &'a Value {
    report
        .get("exercises")
        .map(Value::as_array)
        .unwrap_or_default()
        .iter()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
        .unwrap_or_else(|| panic!("no exercise {name} in {report:?}"))
}

fn number(value: &Value, key: &str) -> u64 {
    value
        .get(key)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no number {key} in {value:?}"))
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string {key} in {value:?}"))
}

/// The points of each check of an exercise: 1, 0, or None (did not run).
fn check_points(exercise: &Value) -> Vec<(String, Option<u64>)> {
    exercise
        .get("check_points")
        .map(Value::as_array)
        .unwrap_or_default()
        .iter()
        .map(|c| {
            (
                text(c, "check").to_string(),
                c.get("points").and_then(Value::as_u64),
            )
        })
        .collect()
}

#[test]
fn a_tampered_copy_is_graded_by_its_answers_alone() {
    let student = CourseCopy::new("grading-student");
    for name in [
        "exit_client",
        "duplex",
        "console_router",
        "fan_out",
        "pool",
        "load",
        "proxy",
    ] {
        student.solve(name);
    }
    student.write("exercises/src/threads.rs", SEQUENTIAL_THREADS);
    // Missing: counts as not started.
    fs::remove_file(student.path("exercises/src/echo_server.rs")).expect("remove echo_server.rs");
    student.write("exercises/.progress", "hints-shown threads 2\n");
    tamper_with_the_checks(&student);
    // A link to the reference answer, in the student's own copy: not
    // followed, so it counts as not started.
    #[cfg(unix)]
    {
        fs::remove_file(student.path("exercises/src/reverse.rs")).expect("remove reverse.rs");
        std::os::unix::fs::symlink(
            "../../solutions/src/reverse.rs",
            student.path("exercises/src/reverse.rs"),
        )
        .expect("a symbolic link");
    }
    #[cfg(not(unix))]
    student.solve("reverse");

    // The tampering works in the student's own copy, with its own tool:
    // the sequential answer passes its checks there.
    let own = run(
        student.cargo(&["run", "-q", "-p", "exercises", "--", "check", "threads"]),
        "the student's own check threads",
    );
    assert!(
        own.status.success() && own.stdout.contains("threads: done"),
        "the tampered checks should pass the sequential answer in the student's copy:\n{}",
        own.all()
    );

    // The teacher's own copy has done exercise 01 the right way, and built
    // it: a grading that shared the teacher's builds would mix the two.
    let teacher = CourseCopy::new("grading-teacher");
    teacher.solve("threads");
    let own_threads = |why: &str| {
        let own = parsed(&teacher.run(&["list", "--json"]));
        let threads = exercise(&own, "threads");
        assert_eq!(text(threads, "state"), "done", "{why}: {threads:?}");
    };
    own_threads("the teacher's own answer, before any grading");
    let files_before: Vec<(String, String)> = checks::exercises()
        .iter()
        .map(|e| (e.file(), teacher.read(&e.file())))
        .collect();
    let stubs_before = fs::read_dir(teacher.path("exercises/src"))
        .expect("the teacher's exercises/src")
        .count();
    let answers = student.root.to_string_lossy().to_string();
    let graded = teacher.run(&["list", "--json", "--answers", &answers, "--name", "Ann Lee"]);
    let report = parsed(&graded);
    assert_eq!(text(&report, "student"), "Ann Lee");
    assert_eq!(text(&report, "answers"), answers);

    // Graded with the teacher's four checks, not the student's two.
    let threads = exercise(&report, "threads");
    assert_eq!(text(threads, "state"), "in_progress", "{threads:?}");
    assert_eq!((number(threads, "points"), number(threads, "of")), (2, 4));
    assert_eq!(
        number(threads, "hints_used"),
        2,
        "as the student's copy recorded"
    );
    let points: Vec<(String, Option<u64>)> = check_points(threads);
    assert_eq!(
        points,
        [
            ("returns_each_result_in_the_order_of_the_numbers", Some(1)),
            ("runs_every_call_at_the_same_time", Some(0)),
            (
                "keeps_the_order_when_the_threads_finish_last_to_first",
                Some(0)
            ),
            ("calls_f_once_for_every_number_even_a_repeated_one", Some(1)),
        ]
        .map(|(c, p)| (c.to_string(), p)),
        "every check ran, for points"
    );
    for name in ["echo_server", "reverse"] {
        let e = exercise(&report, name);
        assert_eq!(text(e, "state"), "not_started", "{name}: {e:?}");
        assert_eq!(number(e, "points"), 0, "{name}");
    }
    assert!(
        graded
            .stderr
            .contains("exercises/src/echo_server.rs: missing; counted as not started"),
        "{}",
        graded.all()
    );
    #[cfg(unix)]
    assert!(
        graded
            .stderr
            .contains("exercises/src/reverse.rs: a symbolic link, not followed"),
        "{}",
        graded.all()
    );
    let mut done = 0;
    for name in [
        "exit_client",
        "duplex",
        "console_router",
        "fan_out",
        "pool",
        "load",
        "proxy",
    ] {
        let e = exercise(&report, name);
        assert_eq!(text(e, "state"), "done", "{name}: {e:?}");
        assert_eq!(number(e, "points"), number(e, "of"), "{name}");
        done += number(e, "of");
    }
    assert_eq!(number(&report, "done"), 7);
    assert_eq!(number(&report, "points"), done + 2);

    // The teacher's own files are as they were: nothing was written there.
    let listing = fs::read_dir(teacher.path("exercises/src"))
        .expect("exercises/src")
        .count();
    assert_eq!(
        listing, stubs_before,
        "no file added to the teacher's exercises/src"
    );
    for (file, before) in files_before {
        assert_eq!(
            teacher.read(&file),
            before,
            "the teacher's {file} is untouched"
        );
    }
    // And the builds are apart: the teacher's own check still runs the
    // teacher's answer, and a second grading still the student's.
    own_threads("the teacher's own answer, after a grading");
    let again = parsed(&teacher.run(&["list", "--json", "--answers", &answers]));
    let threads = exercise(&again, "threads");
    assert_eq!(
        (number(threads, "points"), number(threads, "of")),
        (2, 4),
        "graded again after the teacher's own build: {threads:?}"
    );
}

#[test]
fn grading_a_folder_that_is_not_there_is_one_line_and_an_error() {
    let teacher = CourseCopy::new("grading-missing");
    let ran = teacher.run(&["list", "--answers", "no/such/folder"]);
    assert_eq!(ran.status.code(), Some(1), "{}", ran.all());
    assert_eq!(
        ran.stderr.trim(),
        "error: --answers no/such/folder: not a folder (give the folder of a student's copy \
         of the course)",
        "{}",
        ran.all()
    );
    let ran = teacher.run(&["list", "--classroom", "out.json"]);
    assert_eq!(
        ran.status.code(),
        Some(2),
        "--classroom needs --answers: {}",
        ran.all()
    );
}

/// A student's folder with no exercises and a hints record that never
/// ends: graded as not started, without reading the endless file.
#[cfg(unix)]
#[test]
fn grading_reads_no_link_as_the_hints_record() {
    let teacher = CourseCopy::new("grading-endless");
    let student = teacher.root.with_file_name("grading-endless-student");
    let _ = fs::remove_dir_all(&student);
    fs::create_dir_all(student.join("exercises")).expect("the student's folder");
    std::os::unix::fs::symlink("/dev/zero", student.join("exercises/.progress"))
        .expect("a symbolic link");
    let answers = student.to_string_lossy().to_string();
    let graded = teacher.run(&["list", "--json", "--answers", &answers]);
    let report = parsed(&graded);
    assert_eq!(number(&report, "points"), 0);
    for e in checks::exercises() {
        let graded = exercise(&report, e.name);
        assert_eq!(text(graded, "state"), "not_started", "{graded:?}");
        assert_eq!(number(graded, "hints_used"), 0, "{graded:?}");
    }
    assert!(
        graded
            .stderr
            .contains("has no exercises/src/ folder: every exercise counts as not started"),
        "{}",
        graded.all()
    );
}

#[test]
fn list_json_is_the_same_between_runs_but_for_generated_at() {
    let copy = CourseCopy::new("json-stable");
    let hint = copy.run(&["hint", "fan_out"]);
    assert!(hint.status.success(), "{}", hint.all());
    let before = utc_timestamp(SystemTime::now());
    let first = copy.run(&["list", "--json", "--name", "Bo"]);
    let second = copy.run(&["list", "--json", "--name", "Bo"]);
    let after = utc_timestamp(SystemTime::now() + Duration::from_secs(1));
    let (a, b) = (parsed(&first), parsed(&second));
    for report in [&a, &b] {
        let at = text(report, "generated_at");
        assert!(
            before.as_str() <= at && at <= after.as_str(),
            "generated_at {at} is between {before} and {after}"
        );
    }
    let without_time = |ran: &Ran| {
        let at = text(&parsed(ran), "generated_at").to_string();
        ran.stdout.replace(&at, "")
    };
    assert_eq!(without_time(&first), without_time(&second));

    // A copy that is not a git checkout has no commit to name.
    assert_eq!(a.get("course_commit"), Some(&Value::Null));
    assert_eq!(text(&a, "student"), "Bo");
    assert_eq!(a.get("answers"), Some(&Value::Null));
    let fan_out = exercise(&a, "fan_out");
    assert_eq!(number(fan_out, "hints_used"), 1);
    assert_eq!(number(exercise(&a, "threads"), "hints_used"), 0);
    let total: u64 = checks::exercises()
        .iter()
        .map(|e| e.checks.len() as u64)
        .sum();
    assert_eq!((number(&a, "points"), number(&a, "of")), (0, total));
    assert!(
        check_points(fan_out).iter().all(|(_, p)| *p == Some(0)),
        "a stub gets no point: {fan_out:?}"
    );
    let unnamed = parsed(&copy.run(&["list", "--json"]));
    assert_eq!(unnamed.get("student"), Some(&Value::Null));
}

#[rstest]
#[case::the_epoch(0, "1970-01-01T00:00:00Z")]
#[case::a_leap_day_of_a_400th_year(951_782_400, "2000-02-29T00:00:00Z")]
#[case::the_last_second_of_a_leap_day(1_709_251_199, "2024-02-29T23:59:59Z")]
#[case::a_century_that_is_not_leap(4_102_444_800, "2100-01-01T00:00:00Z")]
#[case::the_last_second_of_a_year(1_798_761_599, "2026-12-31T23:59:59Z")]
#[case::an_afternoon(1_234_567_890, "2009-02-13T23:31:30Z")]
fn generated_at_is_utc_rfc_3339(#[case] secs: u64, #[case] expected: &str) {
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    assert_eq!(utc_timestamp(time), expected);
}

/// `git ARGS` in `dir`, as a test user, with no configuration of the
/// machine's (signing, hooks) in the way.
fn git(dir: &Path, args: &[&str]) -> String {
    let mut command = Command::new("git");
    command
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
        ])
        .args(["-c", "commit.gpgsign=false", "-c", "core.autocrlf=false"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1");
    let ran = run(command, &format!("git {}", args.join(" ")));
    assert!(ran.status.success(), "git {args:?}:\n{}", ran.all());
    ran.stdout.trim().to_string()
}

#[test]
fn course_commit_is_the_courses_git_head() {
    if !common::tools_installed(&["git"]) {
        return;
    }
    let copy = CourseCopy::new("json-git");
    git(&copy.root, &["init", "--quiet"]);
    git(&copy.root, &["add", "--all"]);
    git(
        &copy.root,
        &["commit", "--quiet", "--message", "the course"],
    );
    let head = git(&copy.root, &["rev-parse", "HEAD"]);
    let report = parsed(&copy.run(&["list", "--json"]));
    assert_eq!(text(&report, "course_commit"), head);
}

#[test]
fn reset_all_puts_every_stub_back_and_clean_leaves_nothing_behind() {
    let copy = CourseCopy::new("reset-all");
    copy.write("exercises/src/threads.rs", "// my threads\n");
    copy.write("exercises/src/proxy.rs", "// my proxy\n");
    assert!(copy.run(&["hint", "threads"]).status.success());
    assert!(copy.path("exercises/.progress").exists());

    let ran = copy.run(&["reset", "--all"]);
    assert!(ran.status.success(), "{}", ran.all());
    assert!(
        ran.stdout.contains(
            "Kept your version of exercises/src/threads.rs as exercises/src/threads.rs.bak."
        ) && ran
            .stdout
            .contains("Every exercise is the stub as shipped."),
        "{}",
        ran.all()
    );
    for e in checks::exercises() {
        assert_eq!(copy.read(&e.file()), copy.read(&e.stub()), "{}", e.file());
    }
    assert_eq!(copy.read("exercises/src/threads.rs.bak"), "// my threads\n");
    assert_eq!(copy.read("exercises/src/proxy.rs.bak"), "// my proxy\n");
    assert!(
        !copy.path("exercises/src/pool.rs.bak").exists(),
        "an untouched stub keeps no .bak"
    );
    assert!(
        copy.path("exercises/.progress").exists(),
        "without --clean the hints seen stay"
    );

    copy.write("exercises/src/pool.rs", "// my pool\n");
    let ran = copy.run(&["reset", "--all", "--clean"]);
    assert!(ran.status.success(), "{}", ran.all());
    for e in checks::exercises() {
        assert_eq!(copy.read(&e.file()), copy.read(&e.stub()), "{}", e.file());
    }
    let left: Vec<String> = fs::read_dir(copy.path("exercises/src"))
        .expect("exercises/src")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|name| name.ends_with(".bak"))
        .collect();
    assert!(left.is_empty(), "no .bak stays: {left:?}");
    assert!(!copy.path("exercises/.progress").exists(), "{}", ran.all());
    assert!(
        ran.stdout
            .contains("Removed exercises/.progress (the hints seen)."),
        "{}",
        ran.all()
    );

    let help = copy.run(&["reset", "--help"]);
    assert!(
        help.stdout.contains("--all")
            && help.stdout.contains("exercises/src/*.rs.bak")
            && help.stdout.contains("exercises/.progress"),
        "--help says what --clean removes:\n{}",
        help.all()
    );
    for args in [
        &["reset", "--clean"][..],
        &["reset", "threads", "--all"],
        &["reset"],
    ] {
        let ran = copy.run(args);
        assert_eq!(ran.status.code(), Some(2), "{args:?}: {}", ran.all());
        assert!(ran.stderr.contains("Usage:"), "{args:?}: {}", ran.all());
    }
}

/// The Classroom workflow's one step, as grade.yml runs it: the script is
/// taken from the pinned commit, never from the student's files.
const WORKFLOW_STEP: [&str; 3] = [
    // GitHub runs a step's lines with `bash -e`: the test adds the `-e`.
    "git cat-file -e \"$COURSE_COMMIT^{commit}\" 2>/dev/null || git fetch --no-tags \"$COURSE_REPO\" \"$COURSE_COMMIT\"",
    "git show \"$COURSE_COMMIT:exercises/tool/classroom/grade.sh\" > \"$RUNNER_TEMP/grade.sh\"",
    "sh \"$RUNNER_TEMP/grade.sh\" \"$COURSE_COMMIT\" . \"$RUNNER_TEMP/grading\"",
];

#[test]
fn the_classroom_workflow_gives_the_reference_answers_every_point_and_the_stubs_none() {
    if !common::tools_installed(&["git", "sh", "base64"]) {
        return;
    }
    let workflow = fs::read_to_string(course_root().join("exercises/tool/classroom/grade.yml"))
        .expect("grade.yml");
    for line in WORKFLOW_STEP {
        assert!(workflow.contains(line), "grade.yml runs {line}");
    }

    // The course at its pinned commit, then a student's work on top, with
    // the checks tampered with and the grading script itself replaced.
    let repo = CourseCopy::new("classroom-repo");
    git(&repo.root, &["init", "--quiet"]);
    git(&repo.root, &["add", "--all"]);
    git(
        &repo.root,
        &["commit", "--quiet", "--message", "the course"],
    );
    let pinned = git(&repo.root, &["rev-parse", "HEAD"]);
    tamper_with_the_checks(&repo);
    repo.write(
        "exercises/tool/classroom/grade.sh",
        "echo 'Points 109/109'\n",
    );
    for e in checks::exercises() {
        repo.solve(e.name);
    }
    git(
        &repo.root,
        &["commit", "--quiet", "--all", "--message", "my answers"],
    );

    let temp = repo.root.with_file_name("classroom-runner-temp");
    let _ = fs::remove_dir_all(&temp);
    fs::create_dir_all(&temp).expect("the runner's temp folder");
    let target = repo.root.with_file_name("classroom.target");
    let step = |output: &Path| -> Ran {
        let _ = fs::remove_file(output);
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("set -e\n{}", WORKFLOW_STEP.join("\n")))
            .current_dir(&repo.root)
            .env("COURSE_COMMIT", &pinned)
            // Never used: the commit is in the history, and the test proves
            // that no network is needed. A local path that does not exist,
            // so that even a fetch by mistake looks nothing up.
            .env("COURSE_REPO", repo.root.with_file_name("no-such-course"))
            .env("CARGO_NET_OFFLINE", "true")
            .env("RUNNER_TEMP", &temp)
            .env("GITHUB_OUTPUT", output)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("GITHUB_STEP_SUMMARY");
        run(command, "the grading step")
    };
    let total: usize = checks::exercises().iter().map(|e| e.checks.len()).sum();

    let output = temp.join("github-output");
    let full = step(&output);
    assert!(full.status.success(), "{}", full.all());
    assert!(
        full.stdout.contains(&format!("Points {total}/{total}")),
        "the reference answers get every point:\n{}",
        full.all()
    );
    for e in checks::exercises() {
        let n = e.checks.len();
        assert!(
            full.stdout.contains(&format!(" {}/{n} points  done", n)),
            "{} gets its {n} points:\n{}",
            e.name,
            full.all()
        );
    }
    let classroom =
        fs::read_to_string(temp.join("grading/classroom.json")).expect("classroom.json");
    let result = json::parse(&classroom).expect("classroom.json is JSON");
    assert_eq!(number(&result, "max_score"), total as u64);
    assert_eq!(text(&result, "status"), "pass");
    let tests = result.get("tests").map(Value::as_array).unwrap_or_default();
    assert_eq!(tests.len(), total, "one test per check");
    assert!(tests.iter().all(|t| number(t, "score") == 1), "{classroom}");
    let said = fs::read_to_string(&output).expect("the step's output");
    assert!(
        said.starts_with("result=") && !said.trim().contains('\n'),
        "{said}"
    );

    // The stubs, each with a comment added (so not "as shipped"): the
    // tampered checks would pass them all, the pinned ones pass none.
    for e in checks::exercises() {
        let stub = repo.read(&e.stub());
        repo.write(&e.file(), &format!("// my work starts here\n{stub}"));
    }
    git(
        &repo.root,
        &["commit", "--quiet", "--all", "--message", "started over"],
    );
    let none = step(&output);
    assert!(none.status.success(), "{}", none.all());
    assert!(
        none.stdout.contains(&format!("Points 0/{total}")),
        "the stubs get no point:\n{}",
        none.all()
    );
    let classroom =
        fs::read_to_string(temp.join("grading/classroom.json")).expect("classroom.json");
    let result = json::parse(&classroom).expect("classroom.json is JSON");
    assert_eq!(text(&result, "status"), "fail");
    let tests = result.get("tests").map(Value::as_array).unwrap_or_default();
    assert!(tests.iter().all(|t| number(t, "score") == 0), "{classroom}");
    // The student's history is as it was: the course's checkout is gone.
    let worktrees = git(&repo.root, &["worktree", "list"]);
    assert_eq!(worktrees.lines().count(), 1, "{worktrees}");
}
