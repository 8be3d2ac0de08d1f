//! Exercise 01 (lesson 01, threads): run a function on many threads at once.
//!
//! Write [`map_on_threads`]: call `f` on every number of `numbers`, each call
//! on a thread of its own, all of them running at the same time, and return
//! the results in the order of `numbers`.
//!
//! What the checks hold you to:
//! - `f` is called exactly once per number, with the number (not its index),
//!   and a number given twice is two calls, though both give the same result;
//! - every call runs on a thread of its own, and all of them at the same time:
//!   the checks' `f` waits, up to 1.5 s, for the other calls to be running
//!   too, so threads that run one after the other (joined one by one, or
//!   taking turns on a lock held while `f` runs) fail;
//! - result `i` is `f(numbers[i])`, whatever order the threads finish in. The
//!   numbers are not sorted and may repeat: do not sort the results, and give
//!   a number that appears twice a result in both places;
//! - no numbers give no results.
//!
//! Check it with `cargo test -p exercises threads`. Hints:
//! `exercises/src/threads.hints.md`. Time: about 15 minutes.

// ANCHOR: task
/// Calls `f(n)` for every `n` in `numbers`, each on its own thread, all at
/// the same time, and returns the results in the order of `numbers`.
///
/// `f` is shared by every thread, which is why it must be `Sync`; it is
/// borrowed, not moved, so scoped threads (`std::thread::scope`) fit well.
pub fn map_on_threads<F>(numbers: &[i64], f: F) -> Vec<i64>
where
    F: Fn(i64) -> i64 + Sync,
{
    todo!("exercise 01: write map_on_threads in exercises/src/threads.rs")
}
// ANCHOR_END: task
