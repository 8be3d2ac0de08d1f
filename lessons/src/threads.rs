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
//!
//! What may go to another thread is decided by two marker traits, checked
//! by the compiler (the book's lesson 01 explains them; lessons 05 and 07
//! use them). `Rc` counts its owners without atomic operations, so it is
//! not `Send`, and `thread::spawn` refuses it (error E0277):
//!
//! ```compile_fail,E0277
//! let shared = std::rc::Rc::new(4_i64);
//! std::thread::spawn(move || *shared * 2);
//! ```
//!
//! `Arc` counts them atomically, and is `Send` when what it holds is `Send`
//! and `Sync`:
//!
//! ```
//! let shared = std::sync::Arc::new(4_i64);
//! let copy = std::sync::Arc::clone(&shared);
//! assert_eq!(std::thread::spawn(move || *copy * 2).join().unwrap(), 8);
//! ```
//!
//! An `mpsc::Receiver` is `Send` (it may move to another thread) but not
//! `Sync` (two threads may not use it at once), so two threads cannot share
//! one, even scoped ones:
//!
//! ```compile_fail,E0277
//! let (_tx, rx) = std::sync::mpsc::channel::<i64>();
//! std::thread::scope(|s| {
//!     s.spawn(|| rx.recv());
//!     s.spawn(|| rx.recv());
//! });
//! ```
//!
//! and a `Mutex` makes it shareable, one thread at a time: `Mutex<T>` is
//! `Sync` whenever `T` is `Send`. Lesson 07's workers share their queue so.
//!
//! ```
//! let (tx, rx) = std::sync::mpsc::channel::<i64>();
//! let rx = std::sync::Mutex::new(rx);
//! tx.send(1).unwrap();
//! tx.send(2).unwrap();
//! std::thread::scope(|s| {
//!     s.spawn(|| rx.lock().unwrap().recv());
//!     s.spawn(|| rx.lock().unwrap().recv());
//! });
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
