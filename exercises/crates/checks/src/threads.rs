//! Checks of exercise 01, `map_on_threads`. The check's `f` records every
//! call (its number, its thread, when it started and ended) and can make the
//! calls wait for each other, so that the check sees whether the calls
//! overlapped, on how many threads they ran, and in what order they ended.
//! The numbers are not sorted, and one appears twice, so that sorting the
//! results, or collecting them by value, shows.

use std::cell::RefCell;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use super::harness::{WAIT, Waited, diff, lock, plural, spawn, thread_number, thread_number_now};

/// The function under test, with `f` boxed so the checks can pass closures.
pub type MapOnThreads = fn(&[i64], Box<dyn Fn(i64) -> i64 + Send + Sync>) -> Vec<i64>;

pub fn checks(subject: MapOnThreads) -> Vec<super::Check> {
    checks!(subject =>
        returns_each_result_in_the_order_of_the_numbers,
        runs_every_call_at_the_same_time,
        keeps_the_order_when_the_threads_finish_last_to_first,
        calls_f_once_for_every_number_even_a_repeated_one,
    )
}

/// How long one call of `f` waits for the others before it gives up. A
/// correct answer never waits this long; a wrong one fails after it.
const PATIENCE: Duration = Duration::from_millis(1500);

/// One call of `f`, as the check saw it.
struct Call {
    n: i64,
    thread: ThreadId,
    started: Instant,
    ended: Option<Instant>,
}

/// What the calls wait for before they return. Whatever the stage, a call
/// returns only once the calls it waits for have *handed over* their
/// results (see [`Recorder::handed_over`]), so that the order in which the
/// results reach the code under test is the order the check recorded, on
/// an idle machine or a busy one.
#[derive(Clone, Copy)]
enum Stage {
    /// Each call returns after every call that started before it.
    InTurn,
    /// The calls end in this order of their numbers (a number given twice
    /// is there twice): the call in place `k` returns only after those in
    /// places `..k` have. With `all_in`, not before every call has been
    /// running at the same time.
    FinishOrder { order: &'static [i64], all_in: bool },
}

#[derive(Default)]
struct Record {
    calls: Vec<Call>,
    /// For each call, its place in a `FinishOrder`.
    places: Vec<usize>,
    running: usize,
    most_at_once: usize,
    /// The thread that called `map_on_threads`.
    caller: Option<ThreadId>,
    /// The threads that called `f` and have ended since.
    exited: Vec<ThreadId>,
    /// Set when a call ran out of patience: the calls after it do not wait.
    gave_up: bool,
    /// The number of a thread spawned when the first call gave up waiting:
    /// every thread spawned before that moment has a smaller number.
    spawned_before_giving_up: Option<u64>,
}

/// The check's `f`, shared by every thread: it records each call and
/// makes it wait as the stage says.
#[derive(Default)]
struct Recorder {
    record: Mutex<Record>,
    changed: Condvar,
}

thread_local! {
    /// Tells the recorders a thread called `f` for when it ends.
    static ON_EXIT: RefCell<ExitNotice> = RefCell::new(ExitNotice {
        thread: thread::current().id(),
        recorders: Vec::new(),
    });
}

struct ExitNotice {
    thread: ThreadId,
    recorders: Vec<Arc<Recorder>>,
}

impl Drop for ExitNotice {
    /// Runs when the thread ends, after the closure it ran has returned:
    /// whatever the thread did with `f`'s result (returned it to `join`,
    /// sent it on a channel, pushed it into a Vec), it has been done.
    fn drop(&mut self) {
        for recorder in self.recorders.drain(..) {
            lock(&recorder.record).exited.push(self.thread);
            recorder.changed.notify_all();
        }
    }
}

impl Record {
    /// Whether what the code under test did with the result of `call`
    /// is done: the call has ended and its thread has moved on, to
    /// another call of `f` or to its end. On the thread `me` itself, a
    /// call that ended has been dealt with before this one started.
    fn handed_over(&self, call: usize, me: ThreadId) -> bool {
        let c = &self.calls[call];
        c.ended.is_some()
            && (c.thread == me
                || self.exited.contains(&c.thread)
                || self.calls[call + 1..].iter().any(|l| l.thread == c.thread))
    }

    /// Whether call `me` may return now.
    fn ready(&self, me: usize, stage: Stage) -> bool {
        let thread = self.calls[me].thread;
        match stage {
            Stage::InTurn => (0..me).all(|k| self.handed_over(k, thread)),
            Stage::FinishOrder { order, all_in } => {
                if all_in && self.most_at_once < order.len() {
                    return false;
                }
                let place = self.places[me];
                // A call of a number the order does not have (the index,
                // say), or one call too many, waits for no other.
                place >= order.len()
                    || (0..place).all(|p| {
                        self.places
                            .iter()
                            .position(|&q| q == p)
                            .is_some_and(|k| self.handed_over(k, thread))
                    })
            }
        }
    }

    /// The place in `order` of a new call of `n`: the first place of `n`
    /// not yet taken.
    fn place(&self, n: i64, stage: Stage) -> usize {
        let Stage::FinishOrder { order, .. } = stage else {
            return self.calls.len();
        };
        (0..order.len())
            .find(|p| order[*p] == n && !self.places.contains(p))
            .unwrap_or(order.len())
    }
}

impl Recorder {
    fn call(self: &Arc<Self>, n: i64, stage: Stage) -> i64 {
        ON_EXIT.with(|notice| {
            let mut notice = notice.borrow_mut();
            if !notice.recorders.iter().any(|r| Arc::ptr_eq(r, self)) {
                notice.recorders.push(Arc::clone(self));
            }
        });
        let deadline = Instant::now() + PATIENCE;
        let mut record = lock(&self.record);
        let me = record.calls.len();
        let place = record.place(n, stage);
        record.places.push(place);
        record.calls.push(Call {
            n,
            thread: thread::current().id(),
            started: Instant::now(),
            ended: None,
        });
        record.running += 1;
        record.most_at_once = record.most_at_once.max(record.running);
        self.changed.notify_all();
        loop {
            if record.gave_up || record.ready(me, stage) {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                record.gave_up = true;
                record.spawned_before_giving_up = thread_number_now();
                break;
            }
            record = self
                .changed
                .wait_timeout(record, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        record.running -= 1;
        record.calls[me].ended = Some(Instant::now());
        self.changed.notify_all();
        f(n)
    }
}

/// The function every check passes: easy to recognise in any order.
fn f(n: i64) -> i64 {
    10 * n + 1
}

/// What one run of `map_on_threads` gave, and what its calls of `f` did.
struct Run {
    numbers: Vec<i64>,
    results: Vec<i64>,
    recorder: Arc<Recorder>,
}

/// Runs the subject on a thread and waits for its result.
fn run(subject: MapOnThreads, numbers: &[i64], stage: Stage) -> Result<Run, String> {
    let recorder = Arc::new(Recorder::default());
    let task = spawn("map_on_threads", {
        let numbers = numbers.to_vec();
        let recorder = Arc::clone(&recorder);
        move || {
            lock(&recorder.record).caller = Some(thread::current().id());
            let shared = Arc::clone(&recorder);
            subject(&numbers, Box::new(move |n| shared.call(n, stage)))
        }
    });
    let within = PATIENCE + WAIT;
    match task.wait(within) {
        Ok(results) => Ok(Run {
            numbers: numbers.to_vec(),
            results,
            recorder,
        }),
        Err(Waited::Panicked(why)) => Err(why),
        Err(Waited::Running) => {
            let record = lock(&recorder.record);
            let unfinished = record.calls.iter().filter(|c| c.ended.is_none()).count();
            Err(format!(
                "map_on_threads did not return within {within:?}.\n{} of {} calls of f had \
                 started, and {unfinished} of those had not returned: map_on_threads returns \
                 once every call of f has returned and its result is in place.",
                record.calls.len(),
                numbers.len()
            ))
        }
    }
}

impl Run {
    fn expected(&self) -> Vec<i64> {
        self.numbers.iter().map(|&n| f(n)).collect()
    }

    /// Whether the calls ran on threads of their own (judged from the
    /// threads the calls ran on, whatever the timing), all at once (judged
    /// where the calls had to wait for all `everyone` to be running).
    fn overlapped(&self, everyone: usize) -> Result<(), String> {
        let record = lock(&self.recorder.record);
        let calls = &record.calls;
        if calls.is_empty() {
            // If not all were called, the results say so.
            return Ok(());
        }
        if calls.iter().all(|c| Some(c.thread) == record.caller) {
            return Err(format!(
                "f ran on the thread that called map_on_threads: no thread was started.\n\
                 The {} calls ran one after the other. Start one thread per number (inside \
                 thread::scope, s.spawn(...)) and call f on it.",
                calls.len()
            ));
        }
        let mut threads: Vec<ThreadId> = calls.iter().map(|c| c.thread).collect();
        threads.sort_by_key(|t| format!("{t:?}"));
        threads.dedup();
        // (With more calls than numbers, the other checks say so; the
        // threads are not to blame.)
        if calls.len() == everyone && threads.len() < calls.len() {
            return Err(format!(
                "the {} calls of f ran on only {}: some threads called f for several \
                 numbers, one after the other.\nStart one thread per number.",
                calls.len(),
                plural(threads.len(), "thread", "threads")
            ));
        }
        if !record.gave_up || record.most_at_once >= everyone {
            // No call had to give up waiting: they met as they should.
            return Ok(());
        }
        let most = record.most_at_once;
        if most == 1 {
            // Which threads existed while the first call ran? Those spawned
            // before it gave up waiting have smaller numbers.
            let first_end = calls.iter().filter_map(|c| c.ended).min();
            let later: Vec<Option<u64>> = calls
                .iter()
                .filter(|c| first_end.is_some_and(|end| c.started >= end))
                .map(|c| thread_number(c.thread))
                .collect();
            if let Some(probe) = record.spawned_before_giving_up {
                let known = !later.is_empty() && later.iter().all(Option::is_some);
                if known && later.iter().all(|t| t.is_some_and(|t| t < probe)) {
                    return Err(format!(
                        "every thread was started at once, but they ran f one at a time: each \
                         call waited {PATIENCE:?} for the others and none came.\nThe threads \
                         existed, so they waited for each other: something they share, such as \
                         a Mutex locked around the call of f, makes them take turns. Call f \
                         without holding a lock; store its result after."
                    ));
                }
                if known && later.iter().all(|t| t.is_some_and(|t| t > probe)) {
                    return Err(format!(
                        "each thread was started only after the one before it had finished: \
                         the threads were joined one by one.\nEach call waited {PATIENCE:?} \
                         for the others, and the next thread did not exist yet. Start every \
                         thread first, keeping its handle in a Vec, and join them only after \
                         the last one has started."
                    ));
                }
            }
        }
        Err(format!(
            "at most {most} of the {everyone} calls of f ran at the same time: each call \
             waited {PATIENCE:?} for all of them to be running, and they never were.\nStart \
             every thread before you join any of them."
        ))
    }

    /// Whether the results are f(n) for every n, in the order of the numbers.
    fn in_order(&self) -> Result<(), String> {
        let expected = self.expected();
        let results = &self.results;
        if *results == expected {
            return Ok(());
        }
        let numbers = &self.numbers;
        let record = lock(&self.recorder.record);
        let mut called: Vec<i64> = record.calls.iter().map(|c| c.n).collect();
        let mut wanted = numbers.clone();
        called.sort_unstable();
        wanted.sort_unstable();
        let shown = format!(
            "\nThe numbers: {numbers:?}\nExpected:    {expected:?} (f(n) = 10 * n + 1, in \
             the order of the numbers)\nYours:       {results:?}"
        );
        if called != wanted {
            let positions: Vec<i64> = (0..numbers.len() as i64).collect();
            if called == positions {
                return Err(format!(
                    "f was called with the positions 0, 1, 2, ... instead of the numbers: \
                     call f(n) with each number n of `numbers`.{shown}"
                ));
            }
            let called: Vec<i64> = record.calls.iter().map(|c| c.n).collect();
            return Err(format!(
                "f should be called once with each number; it was called {}, with {called:?}.{shown}",
                plural(called.len(), "time", "times")
            ));
        }
        if results.len() != expected.len() {
            return Err(format!(
                "map_on_threads should return one result per number: {} numbers, {}.{shown}",
                numbers.len(),
                plural(results.len(), "result", "results")
            ));
        }
        let mut finished: Vec<&Call> = record.calls.iter().collect();
        finished.sort_by_key(|c| c.ended);
        let by_finish: Vec<i64> = finished.iter().map(|c| f(c.n)).collect();
        let mut sorted = expected.clone();
        sorted.sort_unstable();
        let mut reversed = expected.clone();
        reversed.reverse();
        let mut seen = Vec::new();
        if *results == sorted {
            seen.push("sorted from smallest to largest");
        }
        if *results == reversed {
            seen.push("in the reverse order of the numbers");
        }
        if *results == by_finish {
            seen.push("in the order the calls of f finished");
        }
        let mut same_values = results.clone();
        same_values.sort_unstable();
        match seen.as_slice() {
            [] if same_values == sorted => Err(format!(
                "map_on_threads returned the right results in the wrong order: result i must \
                 be f(numbers[i]).{shown}"
            )),
            [] => Err(format!(
                "map_on_threads returned other results than f(n) for each number n:{shown}\n{}",
                diff(&expected, results)
            )),
            seen => Err(format!(
                "map_on_threads returned the right results, but {}: result i must be \
                 f(numbers[i]).{shown}\nKeep the order of the numbers: join the handles in the \
                 order you spawned them, or put each result at its number's index.",
                seen.join(", which is also ")
            )),
        }
    }
}

pub fn returns_each_result_in_the_order_of_the_numbers(
    subject: MapOnThreads,
) -> Result<(), String> {
    // Not sorted, with a negative number, a zero and a number given twice;
    // the calls end in an order that is none of the orders the wrong
    // answers produce (the numbers', sorted, reversed), so that results
    // kept in the order they arrive show, whatever the machine's load.
    const FINISH: &[i64] = &[12, 3, 0, 5, 3, 7, -3];
    let order = Stage::FinishOrder {
        order: FINISH,
        all_in: false,
    };
    let run = run(subject, &[5, -3, 12, 0, 7, 3, 3], order)?;
    run.in_order()?;
    let empty = self::run(subject, &[], Stage::InTurn)?;
    if !empty.results.is_empty() {
        return Err(format!(
            "map_on_threads(&[], f) should return no results; it returned {:?}",
            empty.results
        ));
    }
    Ok(())
}

pub fn runs_every_call_at_the_same_time(subject: MapOnThreads) -> Result<(), String> {
    // Once all are running, the calls end in the order of the numbers:
    // this check is about the calls meeting, not about the order.
    const NUMBERS: &[i64] = &[40, 10, 30, 20];
    let all_in = Stage::FinishOrder {
        order: NUMBERS,
        all_in: true,
    };
    let run = run(subject, NUMBERS, all_in)?;
    run.overlapped(NUMBERS.len())?;
    run.in_order()
}

pub fn keeps_the_order_when_the_threads_finish_last_to_first(
    subject: MapOnThreads,
) -> Result<(), String> {
    // The calls end in this order, which is neither the order of the
    // numbers, nor its reverse, nor sorted.
    const FINISH: &[i64] = &[30, 40, 20, 10];
    let numbers = [40, 10, 30, 20];
    // Every call waits for all to be running first, so that threads that
    // take turns fail here whatever order they happen to take turns in.
    let order = Stage::FinishOrder {
        order: FINISH,
        all_in: true,
    };
    let run = run(subject, &numbers, order)?;
    run.overlapped(numbers.len())?;
    run.in_order()
}

/// The edge values the task names: a number given several times (each
/// time is a call of its own, even though the result is the same: `f` may
/// count, log or take time), a single number, and the extremes of `i64`'s
/// range that `f` can take. Judged by the calls of `f`, not the results:
/// an answer that computes each distinct number once and copies its result
/// returns the right results. (The order of the results is the other
/// checks' business.)
pub fn calls_f_once_for_every_number_even_a_repeated_one(
    subject: MapOnThreads,
) -> Result<(), String> {
    let edges: [&[i64]; 4] = [&[4, 4, -1, 4, -1], &[9], &[0, 0], &[-1, 1, -1, 1]];
    for numbers in edges {
        let run = run(subject, numbers, Stage::InTurn)?;
        let record = lock(&run.recorder.record);
        let mut called: Vec<i64> = record.calls.iter().map(|c| c.n).collect();
        let mut wanted = numbers.to_vec();
        called.sort_unstable();
        wanted.sort_unstable();
        if called != wanted {
            // Wrong results too (f called with the positions, say): that
            // is the plainer fault, and the order check explains it.
            drop(record);
            run.in_order()?;
            let record = lock(&run.recorder.record);
            let in_call_order: Vec<i64> = record.calls.iter().map(|c| c.n).collect();
            let mut distinct = wanted.clone();
            distinct.dedup();
            let why = if called == distinct {
                "f ran once per distinct number: a number given twice needs two calls of f \
                 (f may count, log or take time), even though both give the same result."
            } else if called.len() > wanted.len() {
                "f ran more often than there are numbers: call it once per number, and use \
                 the value it returned."
            } else {
                "f should run exactly once for each number of `numbers`."
            };
            return Err(format!(
                "{why}\nThe numbers: {numbers:?} ({})\nf was called {}, with {in_call_order:?}.",
                plural(numbers.len(), "number", "numbers"),
                plural(in_call_order.len(), "time", "times")
            ));
        }
    }
    Ok(())
}
