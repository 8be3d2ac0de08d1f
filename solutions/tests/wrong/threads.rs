//! Wrong answers to exercise 01, `map_on_threads`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, mpsc};
use std::thread;

use solutions::checks::threads::checks;

use crate::{Case, case};

const ORDER: &str = "returns_each_result_in_the_order_of_the_numbers";
const AT_ONCE: &str = "runs_every_call_at_the_same_time";
const LAST_TO_FIRST: &str = "keeps_the_order_when_the_threads_finish_last_to_first";
const ONCE_EACH: &str = "calls_f_once_for_every_number_even_a_repeated_one";

pub fn cases() -> Vec<Case> {
    vec![
        case(
            "joins_inside_the_spawn_loop",
            checks(joins_inside_the_spawn_loop),
            &[
                (AT_ONCE, "the threads were joined one by one"),
                (LAST_TO_FIRST, "the threads were joined one by one"),
            ],
        ),
        case(
            "collects_in_arrival_order",
            checks(collects_in_arrival_order),
            &[
                (LAST_TO_FIRST, "in the order the calls of f finished"),
                (ORDER, "in the order the calls of f finished"),
            ],
        ),
        case(
            "pushes_into_a_shared_vec",
            checks(pushes_into_a_shared_vec),
            &[
                (LAST_TO_FIRST, "in the order the calls of f finished"),
                (ORDER, "in the order the calls of f finished"),
            ],
        ),
        case(
            "sorts_the_results",
            checks(sorts_the_results),
            &[
                (ORDER, "sorted from smallest to largest"),
                (AT_ONCE, "sorted from smallest to largest"),
                (LAST_TO_FIRST, "sorted from smallest to largest"),
            ],
        ),
        case(
            "no_threads_at_all",
            checks(no_threads_at_all),
            &[
                (AT_ONCE, "no thread was started"),
                (LAST_TO_FIRST, "no thread was started"),
            ],
        ),
        case(
            "holds_a_lock_while_calling_f",
            checks(holds_a_lock_while_calling_f),
            &[
                (
                    AT_ONCE,
                    "every thread was started at once, but they ran f one at a time",
                ),
                (
                    LAST_TO_FIRST,
                    "every thread was started at once, but they ran f one at a time",
                ),
            ],
        ),
        case(
            "joins_the_handles_from_the_back",
            checks(joins_the_handles_from_the_back),
            &[
                (ORDER, "in the reverse order of the numbers"),
                (AT_ONCE, "in the reverse order of the numbers"),
                (LAST_TO_FIRST, "in the reverse order of the numbers"),
            ],
        ),
        case(
            "two_threads_share_the_numbers",
            checks(two_threads_share_the_numbers),
            &[
                (AT_ONCE, "ran on only 2 threads"),
                (LAST_TO_FIRST, "ran on only 2 threads"),
            ],
        ),
        case(
            "calls_f_with_the_index",
            checks(calls_f_with_the_index),
            &[
                (ORDER, "f was called with the positions 0, 1, 2"),
                (AT_ONCE, "f was called with the positions 0, 1, 2"),
                (LAST_TO_FIRST, "f was called with the positions 0, 1, 2"),
                (ONCE_EACH, "f was called with the positions 0, 1, 2"),
            ],
        ),
        case(
            "indexes_an_empty_vec",
            checks(indexes_an_empty_vec),
            &[
                (ORDER, "panicked at solutions/tests/wrong/threads.rs"),
                (AT_ONCE, "panicked at solutions/tests/wrong/threads.rs"),
                (
                    LAST_TO_FIRST,
                    "panicked at solutions/tests/wrong/threads.rs",
                ),
                (ONCE_EACH, "panicked at solutions/tests/wrong/threads.rs"),
            ],
        ),
        case(
            "keys_the_results_by_value",
            checks(keys_the_results_by_value),
            &[(ORDER, "one result per number")],
        ),
        case(
            "calls_f_once_per_distinct_number",
            checks(calls_f_once_per_distinct_number),
            &[(ONCE_EACH, "f ran once per distinct number")],
        ),
        case(
            "reuses_the_result_of_an_equal_neighbour",
            checks(reuses_the_result_of_an_equal_neighbour),
            &[(ONCE_EACH, "f ran once per distinct number")],
        ),
        case(
            "calls_f_again_to_store_the_result",
            checks(calls_f_again_to_store_the_result),
            &[(ONCE_EACH, "f ran more often than there are numbers")],
        ),
    ]
}

/// Spawns and joins in the same loop, so one thread at a time.
fn joins_inside_the_spawn_loop<F: Fn(i64) -> i64 + Sync>(numbers: &[i64], f: F) -> Vec<i64> {
    let f = &f;
    thread::scope(|s| {
        let mut results = Vec::new();
        for &n in numbers {
            results.push(s.spawn(move || f(n)).join().unwrap());
        }
        results
    })
}

/// Collects the results from a channel, in the order they arrive.
fn collects_in_arrival_order<F: Fn(i64) -> i64 + Sync>(numbers: &[i64], f: F) -> Vec<i64> {
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        for &n in numbers {
            let tx = tx.clone();
            let f = &f;
            s.spawn(move || tx.send(f(n)).unwrap());
        }
    });
    drop(tx);
    rx.iter().collect()
}

/// Each thread pushes its result into one shared Vec: arrival order again.
fn pushes_into_a_shared_vec<F: Fn(i64) -> i64 + Sync>(numbers: &[i64], f: F) -> Vec<i64> {
    let results = Arc::new(Mutex::new(Vec::new()));
    let f = &f;
    thread::scope(|s| {
        for &n in numbers {
            let results = Arc::clone(&results);
            s.spawn(move || {
                let r = f(n);
                results.lock().unwrap().push(r);
            });
        }
    });
    Arc::try_unwrap(results).unwrap().into_inner().unwrap()
}

/// Collects in arrival order, then sorts "to make the order deterministic".
fn sorts_the_results<F: Fn(i64) -> i64 + Sync>(numbers: &[i64], f: F) -> Vec<i64> {
    let mut results = collects_in_arrival_order(numbers, f);
    results.sort();
    results
}

/// The plain loop, without any thread.
fn no_threads_at_all<F: Fn(i64) -> i64 + Sync>(numbers: &[i64], f: F) -> Vec<i64> {
    numbers.iter().map(|&n| f(n)).collect()
}

/// One thread per number, but each holds the results' lock while f runs.
fn holds_a_lock_while_calling_f<F: Fn(i64) -> i64 + Sync>(numbers: &[i64], f: F) -> Vec<i64> {
    let results = Mutex::new(vec![0; numbers.len()]);
    let f = &f;
    thread::scope(|s| {
        for (i, &n) in numbers.iter().enumerate() {
            let results = &results;
            s.spawn(move || {
                let mut results = results.lock().unwrap();
                results[i] = f(n);
            });
        }
    });
    results.into_inner().unwrap()
}

/// Joins with `pop()`, which takes the last handle first.
fn joins_the_handles_from_the_back<F: Fn(i64) -> i64 + Sync>(numbers: &[i64], f: F) -> Vec<i64> {
    let f = &f;
    thread::scope(|s| {
        let mut handles: Vec<_> = numbers.iter().map(|&n| s.spawn(move || f(n))).collect();
        let mut results = Vec::new();
        while let Some(h) = handles.pop() {
            results.push(h.join().unwrap());
        }
        results
    })
}

/// "Two threads are enough": each takes half of the numbers.
fn two_threads_share_the_numbers<F: Fn(i64) -> i64 + Sync>(numbers: &[i64], f: F) -> Vec<i64> {
    let f = &f;
    let half = numbers.len().div_ceil(2).max(1);
    thread::scope(|s| {
        let handles: Vec<_> = numbers
            .chunks(half)
            .map(|chunk| s.spawn(move || chunk.iter().map(|&n| f(n)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// Passes the loop's index to f instead of the number.
fn calls_f_with_the_index<F: Fn(i64) -> i64 + Sync>(numbers: &[i64], f: F) -> Vec<i64> {
    let f = &f;
    thread::scope(|s| {
        let handles: Vec<_> = (0..numbers.len())
            .map(|i| s.spawn(move || f(i as i64)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// `Vec::with_capacity` makes room, not elements: `results[i] = ...` panics.
fn indexes_an_empty_vec<F: Fn(i64) -> i64 + Sync>(numbers: &[i64], f: F) -> Vec<i64> {
    let f = &f;
    let mut results = Vec::with_capacity(numbers.len());
    thread::scope(|s| {
        let handles: Vec<_> = numbers.iter().map(|&n| s.spawn(move || f(n))).collect();
        for (i, h) in handles.into_iter().enumerate() {
            results[i] = h.join().unwrap();
        }
    });
    results
}

/// Keeps each number's result in a map keyed by the number, so a number
/// given twice gets one result, and the map's order is the numbers' sorted.
fn keys_the_results_by_value<F: Fn(i64) -> i64 + Sync>(numbers: &[i64], f: F) -> Vec<i64> {
    let f = &f;
    let mut by_number = BTreeMap::new();
    thread::scope(|s| {
        let handles: Vec<_> = numbers
            .iter()
            .map(|&n| (n, s.spawn(move || f(n))))
            .collect();
        for (n, h) in handles {
            by_number.insert(n, h.join().unwrap());
        }
    });
    numbers.iter().filter_map(|n| by_number.remove(n)).collect()
}

/// "Why compute the same thing twice?": one thread per distinct number, and
/// the results copied to every place the number appears.
fn calls_f_once_per_distinct_number<F: Fn(i64) -> i64 + Sync>(numbers: &[i64], f: F) -> Vec<i64> {
    let f = &f;
    let mut distinct = numbers.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let by_number: BTreeMap<i64, i64> = thread::scope(|s| {
        let handles: Vec<_> = distinct
            .iter()
            .map(|&n| (n, s.spawn(move || f(n))))
            .collect();
        handles
            .into_iter()
            .map(|(n, h)| (n, h.join().unwrap()))
            .collect()
    });
    numbers.iter().map(|n| by_number[n]).collect()
}

/// Spawns a thread per number, except where a number repeats the one before
/// it anywhere earlier: then it reuses that thread's result.
fn reuses_the_result_of_an_equal_neighbour<F: Fn(i64) -> i64 + Sync>(
    numbers: &[i64],
    f: F,
) -> Vec<i64> {
    let f = &f;
    thread::scope(|s| {
        let handles: Vec<_> = numbers
            .iter()
            .enumerate()
            .map(|(i, &n)| match numbers[..i].iter().position(|&m| m == n) {
                Some(first) => Err(first),
                None => Ok(s.spawn(move || f(n))),
            })
            .collect();
        let mut results: Vec<i64> = Vec::new();
        for h in handles {
            let r = match h {
                Ok(h) => h.join().unwrap(),
                Err(first) => results[first],
            };
            results.push(r);
        }
        results
    })
}

/// Runs f on threads, then calls f again on the calling thread to store
/// each result "to be sure".
fn calls_f_again_to_store_the_result<F: Fn(i64) -> i64 + Sync>(numbers: &[i64], f: F) -> Vec<i64> {
    let f = &f;
    thread::scope(|s| {
        let handles: Vec<_> = numbers.iter().map(|&n| s.spawn(move || f(n))).collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    numbers.iter().map(|&n| f(n)).collect()
}
