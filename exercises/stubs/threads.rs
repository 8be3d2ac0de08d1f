//! Exercise 01 (lesson 01, threads): run a function on many threads at once.
//!
//! Write [`map_on_threads`]: call `f` on every number of `numbers`, each call
//! on a thread of its own, all of them running at the same time, and return
//! the results in the order of `numbers` (not in the order the threads
//! happen to finish).
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
