//! Checks of exercise 01, `map_on_threads`.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::harness::{WAIT, Waited, same, spawn};

/// The function under test, with `f` boxed so the checks can pass closures.
pub type MapOnThreads = fn(&[i64], Box<dyn Fn(i64) -> i64 + Send + Sync>) -> Vec<i64>;

pub fn checks(subject: MapOnThreads) -> Vec<super::Check> {
    checks!(subject =>
        returns_each_result_in_the_order_of_the_numbers,
        runs_every_call_at_the_same_time,
        keeps_the_order_when_the_threads_finish_last_to_first,
    )
}

/// Runs the subject on a thread and waits for its result.
fn call(
    subject: MapOnThreads,
    numbers: Vec<i64>,
    f: impl Fn(i64) -> i64 + Send + Sync + 'static,
    within: Duration,
) -> Result<Vec<i64>, String> {
    let task = spawn("map_on_threads", move || subject(&numbers, Box::new(f)));
    match task.wait(within) {
        Ok(results) => Ok(results),
        Err(Waited::Panicked(why)) => Err(why),
        Err(Waited::Running) => Err(format!(
            "map_on_threads did not return within {within:?}. Does every thread end, and do \
             you join each one exactly once?"
        )),
    }
}

pub fn returns_each_result_in_the_order_of_the_numbers(
    subject: MapOnThreads,
) -> Result<(), String> {
    let results = call(subject, vec![1, 2, 3, -4, 5], |n| n * n, WAIT)?;
    same(&vec![1, 4, 9, 16, 25], &results, || {
        "map_on_threads(&[1, 2, 3, -4, 5], |n| n * n) should give the squares, in order".to_string()
    })?;
    let results = call(subject, vec![], |n| n, WAIT)?;
    same(&Vec::<i64>::new(), &results, || {
        "no numbers should give no results".to_string()
    })
}

/// How many calls of `f` are running right now, and the most there were.
#[derive(Default)]
struct Meeting {
    state: Mutex<(usize, usize, bool)>, // (running, most at once, someone gave up)
    changed: Condvar,
}

impl Meeting {
    /// Enters, then waits until `everyone` calls are in at the same time.
    /// A call that waits longer than `patience` gives up, and so do all the
    /// calls after it, so a one-at-a-time solution fails fast, not forever.
    fn wait_for(&self, everyone: usize, patience: Duration) {
        let deadline = Instant::now() + patience;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.0 += 1;
        state.1 = state.1.max(state.0);
        self.changed.notify_all();
        while state.1 < everyone && !state.2 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                state.2 = true;
                break;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        state.0 -= 1;
        self.changed.notify_all();
    }

    fn most_at_once(&self) -> usize {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).1
    }
}

pub fn runs_every_call_at_the_same_time(subject: MapOnThreads) -> Result<(), String> {
    let meeting = Arc::new(Meeting::default());
    let numbers = vec![10, 20, 30, 40];
    let everyone = numbers.len();
    let patience = Duration::from_millis(1500);
    let f = {
        let meeting = Arc::clone(&meeting);
        move |n| {
            meeting.wait_for(everyone, patience);
            n + 1
        }
    };
    let results = call(subject, numbers, f, patience + WAIT)?;
    let most = meeting.most_at_once();
    if most < everyone {
        return Err(format!(
            "with 4 numbers, at most {most} call(s) of f ran at the same time: each call waited \
             {patience:?} for the others to start. Start every thread before you join any of \
             them: a join inside the loop that spawns waits for each thread to finish before \
             the next one starts, and then the threads run one after the other."
        ));
    }
    same(&vec![11, 21, 31, 41], &results, || {
        "the results should be f(n) in the order of the numbers".to_string()
    })
}

/// Which numbers' calls have finished, so a call can wait for others.
#[derive(Default)]
struct Finished {
    /// The numbers whose call has returned, and whether a call gave up
    /// waiting (then the others do not wait either: fail fast).
    done: Mutex<(Vec<i64>, bool)>,
    changed: Condvar,
}

pub fn keeps_the_order_when_the_threads_finish_last_to_first(
    subject: MapOnThreads,
) -> Result<(), String> {
    // f(n) returns only after every bigger number's call has returned, so
    // the threads finish in reverse order: 3, then 2, then 1.
    let finished = Arc::new(Finished::default());
    let patience = Duration::from_millis(1500);
    let f = {
        let finished = Arc::clone(&finished);
        move |n: i64| {
            let deadline = Instant::now() + patience;
            let mut done = finished.done.lock().unwrap_or_else(|p| p.into_inner());
            while !done.1 && !(n + 1..=3).all(|bigger| done.0.contains(&bigger)) {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    done.1 = true;
                    break;
                }
                done = finished
                    .changed
                    .wait_timeout(done, left)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            done.0.push(n);
            finished.changed.notify_all();
            n * 100
        }
    };
    let results = call(subject, vec![1, 2, 3], f, patience + WAIT)?;
    let order = finished
        .done
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .0
        .clone();
    if order != [3, 2, 1] {
        return Err(format!(
            "the calls of f finished in the order {order:?}, which means they did not all run \
             at the same time: start every thread before you join any of them"
        ));
    }
    same(&vec![100, 200, 300], &results, || {
        "the threads finished in the order 3, 2, 1, but the results must follow the numbers \
         1, 2, 3. Collecting results in the order they arrive (from a channel, say) gets this \
         wrong: keep the JoinHandles in a Vec and join them in order"
            .to_string()
    })
}
