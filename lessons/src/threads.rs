//! Lesson 01: two threads, one computing a square and one a cube.
//!
//! The original prints from inside each thread, so which line comes first is
//! up to the scheduler. Here each thread *returns* its result through its
//! `JoinHandle`, and the main thread prints them in a fixed order after
//! joining both: the work runs in parallel, the output is deterministic.
//!
//! Without `move`, a spawned closure would borrow the caller's `n`, and the
//! compiler refuses (error E0373: the closure may outlive the function
//! that owns `n`). This doc test checks that it still does:
//!
//! ```compile_fail,E0373
//! fn square_on_a_thread() -> i64 {
//!     let n = 4_i64;
//!     let thread = std::thread::spawn(|| n * n); // no `move`: borrows `n`
//!     thread.join().unwrap()
//! }
//! ```

use std::thread;

/// `n * n`, or `None` if it does not fit in an `i64`.
pub fn square(n: i64) -> Option<i64> {
    n.checked_mul(n)
}

/// `n * n * n`, or `None` if it does not fit in an `i64`.
pub fn cube(n: i64) -> Option<i64> {
    n.checked_mul(n)?.checked_mul(n)
}

// ANCHOR: spawn
/// Computes both results on two spawned threads and joins them.
pub fn with_spawn(n: i64) -> (Option<i64>, Option<i64>) {
    // `move` copies `n` into each closure: a spawned thread may outlive the
    // function that started it, so it cannot borrow the caller's variables.
    let square_thread = thread::spawn(move || square(n));
    let cube_thread = thread::spawn(move || cube(n));

    // `join` waits for the thread and hands back what its closure returned.
    // It is an `Err` only if the thread panicked; re-raising that panic here
    // is the honest thing to do, since `square` and `cube` cannot panic.
    let square = square_thread
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p));
    let cube = cube_thread
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p));
    (square, cube)
}
// ANCHOR_END: spawn

// ANCHOR: scope
/// The same with scoped threads: `thread::scope` joins every thread started
/// in it before it returns, so the threads may borrow local variables and
/// forgetting to join is impossible.
pub fn with_scope(n: &i64) -> (Option<i64>, Option<i64>) {
    thread::scope(|s| {
        let square_thread = s.spawn(|| square(*n));
        let cube_thread = s.spawn(|| cube(*n));
        let square = square_thread
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        let cube = cube_thread
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (square, cube)
    })
}
// ANCHOR_END: scope

/// The lines the example prints, in order.
pub fn report(n: i64, (square, cube): (Option<i64>, Option<i64>)) -> Vec<String> {
    let show =
        |v: Option<i64>| v.map_or_else(|| "too large for i64".to_string(), |v| v.to_string());
    vec![
        format!("square of {n}: {}", show(square)),
        format!("cube of {n}: {}", show(cube)),
        "both threads have finished".to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    #[rstest]
    #[case(4, Some(16), Some(64))]
    #[case(-3, Some(9), Some(-27))]
    #[case(0, Some(0), Some(0))]
    #[case(3_000_000, Some(9_000_000_000_000), None)]
    #[case(i64::MAX, None, None)]
    fn both_ways_compute_the_same_results(
        #[case] n: i64,
        #[case] square: Option<i64>,
        #[case] cube: Option<i64>,
    ) {
        assert_eq!(with_spawn(n), (square, cube));
        assert_eq!(with_scope(&n), (square, cube));
    }

    #[test]
    fn a_plain_multiplication_panics_or_wraps_as_the_profile_says() {
        // What a plain `*` does on overflow is decided by the profile's
        // `overflow-checks` setting (on by default in `dev`, off in
        // `release`), not by debug versus release as such: it panics when
        // the checks are on and wraps when they are off. `checked_mul`
        // says `None` either way, which is why `cube` uses it.
        let n = std::hint::black_box(3_000_000_i64);
        match std::panic::catch_unwind(|| n * n * n) {
            Err(_) => {} // overflow-checks on: "attempt to multiply with overflow"
            Ok(wrapped) => assert_eq!(wrapped, n.wrapping_mul(n).wrapping_mul(n)),
        }
        assert_eq!(cube(n), None);
    }

    #[test]
    fn a_panic_in_a_thread_comes_back_from_join_as_an_err() {
        let thread = thread::spawn(|| -> i64 { panic!("square failed") });
        let panic = thread.join().expect_err("the thread panicked");
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"square failed"));
    }

    #[test]
    fn the_report_prints_square_then_cube_then_the_joined_line() {
        assert_eq!(
            report(4, with_spawn(4)),
            vec![
                "square of 4: 16",
                "cube of 4: 64",
                "both threads have finished"
            ]
        );
    }
}
