//! Lesson 01 end to end: the example prints both results, then the final
//! line, in the same order on every run.

mod common;

use common::run;
use pretty_assertions::assert_eq;
use rstest::rstest;

#[rstest]
#[case::default_number(&[], &["square of 4: 16", "cube of 4: 64", "both threads have finished"])]
#[case::chosen_number(&["--number", "7"], &["square of 7: 49", "cube of 7: 343", "both threads have finished"])]
#[case::scoped_threads(&["--scoped"], &["square of 4: 16", "cube of 4: 64", "both threads have finished"])]
#[case::negative_number(&["--number", "-2"], &["square of -2: 4", "cube of -2: -8", "both threads have finished"])]
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
