//! Lesson 01 end to end: the example prints both results, then the final
//! line, in the same order on every run.

mod common;

use common::closed_output::{ClosedOutput, assert_failed_cleanly, assert_says_stdout_is_closed};
use common::run;
use pretty_assertions::assert_eq;
use rstest::rstest;

#[rstest]
#[case::default_number(&[], &["square of 4: 16", "cube of 4: 64", "both threads have finished"])]
#[case::chosen_number(&["--number", "7"], &["square of 7: 49", "cube of 7: 343", "both threads have finished"])]
#[case::scoped_threads(&["--scoped"], &["square of 4: 16", "cube of 4: 64", "both threads have finished"])]
#[case::negative_number(&["--number", "-2"], &["square of -2: 4", "cube of -2: -8", "both threads have finished"])]
#[case::largest(&["--number", "9223372036854775807"], &["square of 9223372036854775807: too large for i64", "cube of 9223372036854775807: too large for i64", "both threads have finished"])]
#[case::smallest(&["--number", "-9223372036854775808"], &["square of -9223372036854775808: too large for i64", "cube of -9223372036854775808: too large for i64", "both threads have finished"])]
fn prints_both_results_before_the_final_line(#[case] args: &[&str], #[case] expected: &[&str]) {
    let (status, stdout, _) = run("01_threads", args, "");
    assert!(status.success());
    assert_eq!(stdout, expected);
}

#[test]
fn output_is_the_same_on_every_run() {
    // The original prints from inside the threads, so its line order depends
    // on the scheduler. Twenty runs would very likely show a difference.
    let first = run("01_threads", &[], "").1;
    for _ in 0..20 {
        assert_eq!(run("01_threads", &[], "").1, first);
    }
}

#[rstest]
#[case::too_large(&["--number", "9223372036854775808"], "number too large to fit in target type")]
#[case::too_small(&["--number", "-9223372036854775809"], "number too small to fit in target type")]
#[case::not_a_number(&["--number", "four"], "invalid digit found in string")]
#[case::not_an_integer(&["--number", "4.5"], "invalid digit found in string")]
#[case::unknown_flag(&["--numbr", "4"], "unexpected argument '--numbr'")]
fn a_bad_flag_is_one_line(#[case] args: &[&str], #[case] expected: &str) {
    let (status, stdout, stderr) = run("01_threads", args, "");
    assert_eq!(status.code(), Some(2));
    assert_eq!(stdout, Vec::<String>::new());
    assert_eq!(stderr.len(), 1, "one line, got {stderr:?}");
    assert!(
        stderr[0].starts_with("error: ") && stderr[0].contains(expected),
        "expected {expected:?} in {stderr:?}"
    );
}

#[rstest]
fn a_closed_stdout_is_one_error_line_not_a_panic(#[values(false, true)] stderr_closed: bool) {
    // `println!` panics here ("failed printing to stdout", exit code 101).
    let mut program = ClosedOutput::start("01_threads", &[], stderr_closed);
    assert_failed_cleanly(program.wait());
    if !stderr_closed {
        assert_says_stdout_is_closed(&program.stderr());
    }
}
