//! Reference answer to exercise 01: run a function on many threads at once.
//! The task is described in `exercises/src/threads.rs`.

use std::panic;
use std::thread;

// ANCHOR: solution
/// Calls `f(n)` for every `n` in `numbers`, each on its own thread, all at
/// the same time, and returns the results in the order of `numbers`.
pub fn map_on_threads<F>(numbers: &[i64], f: F) -> Vec<i64>
where
    F: Fn(i64) -> i64 + Sync,
{
    let f = &f;
    // Scoped threads may borrow `f`: the scope joins them all before it ends.
    thread::scope(|s| {
        // Start every thread first, and only then join. A `join` inside the
        // loop that spawns would wait for each thread before starting the
        // next, and the threads would run one after the other.
        let handles: Vec<_> = numbers.iter().map(|&n| s.spawn(move || f(n))).collect();
        // Joining the handles in the order they were made puts each result
        // in its number's place, whichever thread finished first.
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| panic::resume_unwind(p)))
            .collect()
    })
}
// ANCHOR_END: solution
