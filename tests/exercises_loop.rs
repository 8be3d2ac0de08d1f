//! The student's loop, end to end: the real progress program (`cargo run -p
//! exercises`) and the real checker (`cargo test -p exercises`), run in a
//! copy of the course whose exercise files the tests edit and break (never
//! the real stubs). Every run is under a deadline.

mod common;

use std::process::Command;
use std::time::Duration;

use common::Program;
use common::exercises::{BUILD_DEADLINE, CourseCopy, Ran, course_root, progress_path, run};

/// Lesson 02's echo server, one client after the other: right for one
/// client, wrong for two at once. Some of exercise 02b's checks pass.
const ONE_CLIENT_AT_A_TIME: &str = r#"//! Exercise 02b, half done.
use std::io;
use std::net::TcpListener;

pub fn serve_all(listener: TcpListener) -> io::Result<()> {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let Ok(mut reader) = stream.try_clone() else { continue };
        let _ = io::copy(&mut reader, &mut &stream);
    }
    Ok(())
}
"#;

/// Exercise 02a reading "the reply" to the end of the stream: the checks'
/// server never closes, so it hangs in its first check.
const READS_TO_THE_END: &str = r#"//! Exercise 02a, hanging in read_to_string.
use std::io::{self, BufRead, Read, Write};
use std::net::TcpStream;

pub fn run_client<R: BufRead, W: Write>(input: R, mut output: W, server: TcpStream) -> io::Result<()> {
    for line in input.lines() {
        (&server).write_all(format!("{}\n", line?).as_bytes())?;
        let mut reply = String::new();
        (&server).read_to_string(&mut reply)?;
        output.write_all(reply.as_bytes())?;
    }
    Ok(())
}
"#;

/// An exercise 04 that takes its whole process down.
const EXITS: &str = r#"//! Exercise 04, ending the program instead of the chat.
use std::io::{self, Read, Write};
use std::net::TcpStream;

pub fn chat<R: Read + Send + 'static, W: Write>(input: R, output: W, peer: TcpStream) -> io::Result<()> {
    std::process::exit(0)
}
"#;

/// The block of a `list --json` line about `exercise`.
fn json_of<'a>(json: &'a str, exercise: &str) -> &'a str {
    let start = json
        .find(&format!("\"name\":\"{exercise}\""))
        .unwrap_or_else(|| panic!("no exercise {exercise} in {json}"));
    let end = json[start..]
        .find("{\"id\"")
        .map_or(json.len(), |e| start + e);
    &json[start..end]
}

#[test]
fn a_type_error_in_one_exercise_hides_no_other_exercise() {
    let copy = CourseCopy::new("type-error");
    copy.solve("threads");
    copy.solve("echo_server");
    copy.break_types("reverse");
    copy.write("exercises/src/duplex.rs", EXITS);

    // `cargo test -p exercises`, as the student types it.
    let test = copy.cargo(&["test", "-p", "exercises"]);
    let ran = run(test, "cargo test -p exercises");
    let out = format!("{}\n{}", ran.stdout, ran.stderr);
    assert!(
        !ran.status.success(),
        "a broken exercise must fail:\n{}",
        ran.all()
    );
    for check in [
        "returns_each_result_in_the_order_of_the_numbers",
        "runs_every_call_at_the_same_time",
    ] {
        assert!(
            out.contains(&format!("test threads::{check} ... ok")),
            "threads was not checked:\n{out}"
        );
    }
    assert!(
        out.contains("test echo_server::a_1_mib_payload_comes_back_whole ... ok"),
        "{out}"
    );
    assert!(
        out.contains("test reverse::reverses_characters_not_bytes ... FAILED"),
        "reverse should fail:\n{out}"
    );
    assert!(
        out.contains("reverse.rs does not compile")
            && out.contains("exercises/src/reverse.rs:")
            && out.contains("mismatched types"),
        "the broken exercise is named with the compiler's first error:\n{out}"
    );
    // A check whose process ends fails, and the others still run.
    assert!(
        out.contains(
            "test duplex::keeps_sending_after_the_peers_end_of_stream_until_the_input_ends ... FAILED"
        ) && out.contains("the process that ran the checks ended (exit code 0) while the check"),
        "duplex's checks each fail with what happened:\n{out}"
    );
    // The stubs after it were checked too: their todo!() said so.
    assert!(
        out.contains("not done yet: exercise 06"),
        "fan_out was not checked:\n{out}"
    );
    // threads (4 checks) and echo_server (11) are done.
    assert!(out.contains("test result: FAILED. 15 passed;"), "{out}");

    // One exercise, by name, as the README says.
    let one = copy.cargo(&["test", "-p", "exercises", "threads"]);
    let ran = run(one, "cargo test -p exercises threads");
    assert!(ran.status.success(), "{}", ran.all());
    assert!(
        ran.stdout.contains("test result: ok. 4 passed; 0 failed;"),
        "{}",
        ran.all()
    );

    // The progress view.
    let view = copy.run(&[]);
    assert!(view.status.success(), "{}", view.all());
    let table = &view.stdout;
    for (exercise, state) in [
        ("threads", "done"),
        ("echo_server", "done"),
        ("reverse", "does not compile"),
        // Its first check takes the process down: the others wait.
        ("duplex", "fails check 1 of 9"),
        ("fan_out", "not started"),
    ] {
        assert!(
            table
                .lines()
                .any(|l| l.contains(&format!(" {exercise} ")) && l.contains(state)),
            "{exercise} should show as {state}:\n{}",
            view.all()
        );
    }
    assert!(
        table.contains("reverse does not compile") && table.contains("exercises/src/reverse.rs:"),
        "the next exercise is the broken one, with its error:\n{}",
        view.all()
    );
}

#[test]
fn watch_rechecks_a_saved_file_and_shows_each_check_up_to_the_first_failing_one() {
    let copy = CourseCopy::new("watch");
    let mut watch = Program::spawn(copy.progress(&["watch"]), "progress watch");
    watch.expect_stdout_within("(watching:", BUILD_DEADLINE);
    copy.solve("threads");
    // Watch looks four times a second; the deadline only bounds a watch
    // that never notices (a busy machine may take a while to run it).
    watch.expect_stdout_within("saved exercises/src/threads.rs", Duration::from_secs(20));
    let line = watch.expect_stdout_within(" threads ", BUILD_DEADLINE);
    assert!(line.contains("done"), "threads should be done now: {line}");
    watch.expect_stdout("(watching:");

    // Each check is named as it starts, with its deadline; the first one
    // that fails ends the run, and its message is shown.
    copy.write("exercises/src/echo_server.rs", ONE_CLIENT_AT_A_TIME);
    watch.expect_stdout_within("saved exercises/src/echo_server.rs", BUILD_DEADLINE);
    let first = watch.expect_stdout_within("echo_server: check 1 of 11,", BUILD_DEADLINE);
    assert!(
        first.contains("check 1 of 11, echoes_what_one_client_sends (at most 10s) ..."),
        "{first}"
    );
    let mut shown = vec![first];
    while !shown.last().is_some_and(|l| l.starts_with("(watching:")) {
        match watch.next_stdout_line() {
            Some(line) => shown.push(line),
            None => panic!("watch ended:\n{}", shown.join("\n")),
        }
    }
    let shown = shown.join("\n");
    assert!(
        shown.contains(
            "echo_server: check 2 of 11, a_second_client_is_served_while_the_first_stays_connected \
             (at most 10s) ..."
        ),
        "{shown}"
    );
    assert!(
        !shown.contains("check 3 of 11"),
        "the checks after the failing one do not run:\n{shown}"
    );
    assert!(
        shown
            .lines()
            .any(|l| l.contains(" echo_server ") && l.contains("fails check 2 of 11")),
        "{shown}"
    );
    assert!(
        shown.contains(
            "echo_server: check 2 of 11 fails, \
             a_second_client_is_served_while_the_first_stays_connected:"
        ) && shown.contains("The check before it passes. The 9 after it run once it passes;"),
        "{shown}"
    );
    watch.type_in("q\n");
    watch.expect_stdout("stopped watching");
    assert!(watch.wait_for_exit().success());
}

#[test]
fn hint_shows_the_next_hint_each_time_and_remembers_it() {
    let copy = CourseCopy::new("hint");
    let hints = copy.read("exercises/src/threads.hints.md");
    for n in 1..=3 {
        let ran = copy.run(&["hint", "threads"]);
        assert!(ran.status.success(), "{}", ran.all());
        assert!(
            ran.stdout.contains(&format!("Hint {n} of 3 for threads:")),
            "{}",
            ran.all()
        );
        let first_line = hints
            .lines()
            .find(|l| l.starts_with(&format!("{n}. ")))
            .expect("a numbered hint")
            .trim_start_matches(&format!("{n}. "));
        assert!(
            ran.stdout.contains(first_line),
            "hint {n} is shown:\n{}",
            ran.all()
        );
    }
    let again = copy.run(&["hint", "threads"]);
    assert!(
        again
            .stdout
            .contains("You have seen all 3 hints of threads"),
        "{}",
        again.all()
    );
    assert!(
        copy.read("exercises/.progress")
            .contains("hints-shown threads 3")
    );
    // The state file is the student's, not the course's.
    let ignored = std::fs::read_to_string(course_root().join(".gitignore")).expect(".gitignore");
    assert!(
        ignored.lines().any(|l| l == "/exercises/.progress"),
        "{ignored}"
    );
    // Another exercise starts at its first hint.
    let other = copy.run(&["hint", "fan_out"]);
    assert!(
        other.stdout.contains("Hint 1 of 3 for fan_out:"),
        "{}",
        other.all()
    );
}

#[test]
fn reset_puts_the_stub_back_and_keeps_the_students_version() {
    let copy = CourseCopy::new("reset");
    copy.write("exercises/src/echo_server.rs", "// my half-done answer\n");
    let ran = copy.run(&["reset", "echo_server"]);
    assert!(ran.status.success(), "{}", ran.all());
    assert!(
        ran.stdout.contains(
            "Kept your version of exercises/src/echo_server.rs as exercises/src/echo_server.rs.bak"
        ),
        "it says where your version went:\n{}",
        ran.all()
    );
    assert_eq!(
        copy.read("exercises/src/echo_server.rs"),
        copy.read("exercises/stubs/echo_server.rs")
    );
    assert_eq!(
        copy.read("exercises/src/echo_server.rs.bak"),
        "// my half-done answer\n"
    );
    let again = copy.run(&["reset", "echo_server"]);
    assert!(
        again.stdout.contains("already the stub as shipped"),
        "{}",
        again.all()
    );
    assert_eq!(
        copy.read("exercises/src/echo_server.rs.bak"),
        "// my half-done answer\n"
    );
}

#[test]
fn list_json_and_check_show_every_state() {
    let copy = CourseCopy::new("list");
    copy.solve("threads");
    copy.write("exercises/src/echo_server.rs", ONE_CLIENT_AT_A_TIME);
    copy.write("exercises/src/exit_client.rs", READS_TO_THE_END);
    copy.break_types("reverse");

    let list = copy.run(&["list"]);
    assert!(list.status.success(), "{}", list.all());
    let row = |name: &str| -> String {
        list.stdout
            .lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{}", list.all()))
            .to_string()
    };
    assert!(row("threads").contains("done"), "{}", list.all());
    // Its first check passes, its second fails, and the rest wait for it.
    assert!(
        row("echo_server").contains("fails check 2 of 11"),
        "{}",
        list.all()
    );
    // Code that hangs fails its first check at that check's deadline; the
    // others do not run, each to its own deadline.
    assert!(
        row("exit_client").contains("fails check 1 of 12"),
        "{}",
        list.all()
    );
    assert!(
        row("reverse").contains("does not compile"),
        "{}",
        list.all()
    );
    assert!(row("load").contains("not started"), "{}", list.all());

    let json = copy.run(&["list", "--json"]);
    assert!(json.status.success(), "{}", json.all());
    let json = json.stdout.trim();
    assert!(
        json.starts_with("{\"format\":\"tcp-lessons-progress\",\"version\":1,"),
        "{json}"
    );
    assert!(json.contains("\"done\":1,\"total\":11"), "{json}");
    assert!(
        json_of(json, "threads")
            .contains("\"state\":\"done\",\"label\":\"done\",\"passed\":4,\"ran\":4,\"checks\":4")
    );
    let echo = json_of(json, "echo_server");
    assert!(
        echo.contains(
            "\"state\":\"in_progress\",\"label\":\"fails check 2 of 11\",\"passed\":1,\"ran\":2,\
             \"checks\":11"
        ),
        "{echo}"
    );
    let hung = json_of(json, "exit_client");
    assert!(
        hung.contains("\"passed\":0,\"ran\":1,\"checks\":12"),
        "{hung}"
    );
    assert!(
        echo.contains("\"first_failure\":{\"check\":\"a_second_client_is_served_while_the_first_stays_connected\""),
        "{echo}"
    );
    let reverse = json_of(json, "reverse");
    assert!(
        reverse.contains("\"state\":\"does_not_compile\""),
        "{reverse}"
    );
    assert!(
        reverse.contains("\"compile_error\":{\"file\":\"exercises/src/reverse.rs\",\"line\":"),
        "{reverse}"
    );
    assert!(
        reverse.contains("\"message\":\"mismatched types\""),
        "{reverse}"
    );
    assert!(
        json_of(json, "pool").contains("\"state\":\"not_started\""),
        "{json}"
    );

    let check = copy.run(&["check", "echo_server"]);
    assert_eq!(check.status.code(), Some(1), "{}", check.all());
    assert!(
        check
            .stdout
            .contains("ok      echoes_what_one_client_sends"),
        "{}",
        check.all()
    );
    assert!(
        check
            .stdout
            .contains("FAILED  a_second_client_is_served_while_the_first_stays_connected"),
        "{}",
        check.all()
    );
    let broken = copy.run(&["check", "reverse"]);
    assert_eq!(broken.status.code(), Some(1), "{}", broken.all());
    assert!(
        broken.stdout.contains("error[E0308]: mismatched types"),
        "the whole error:\n{}",
        broken.all()
    );
    let done = copy.run(&["check", "threads"]);
    assert!(done.status.success(), "{}", done.all());
}

#[test]
fn unknown_arguments_are_an_error_with_usage() {
    for args in [
        &["bogus"][..],
        &["hint"],
        &["hint", "no_such_exercise"],
        &["list", "--yaml"],
    ] {
        let ran = run(
            {
                let mut c = Command::new(progress_path());
                c.args(args);
                c
            },
            "progress",
        );
        assert_eq!(ran.status.code(), Some(2), "{args:?}: {}", ran.all());
        assert!(
            ran.stderr.contains("Usage: cargo run -p exercises --"),
            "{args:?}: {}",
            ran.all()
        );
        assert!(
            ran.stdout.is_empty(),
            "{args:?}: nothing else is done: {}",
            ran.all()
        );
    }
    let help: Ran = run(
        {
            let mut c = Command::new(progress_path());
            c.arg("--help");
            c
        },
        "progress --help",
    );
    assert!(help.status.success());
    for command in ["watch", "hint", "reset", "list", "check"] {
        assert!(
            help.stdout.contains(&format!("  {command}")),
            "--help lists {command}:\n{}",
            help.stdout
        );
    }
}
