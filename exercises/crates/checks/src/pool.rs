//! Checks of exercise 07, `Pool`: the checks submit jobs that report what
//! happens to them (when they start, on which thread, when they end), hold
//! some of them at a gate, and call `shutdown` from a thread of their own,
//! while they watch what the pool does.

use std::cell::RefCell;
use std::io;
use std::panic;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use super::harness::{WAIT, Waited, spawn};
use crate::shared::pool::{Job, Refused};

/// The pool under test: its three functions, for any type `P`.
pub struct Api<P> {
    pub new: fn(usize, usize) -> io::Result<P>,
    pub submit: fn(&P, Job) -> Result<(), Refused>,
    pub shutdown: fn(&P) -> usize,
}

// Not derived: a derive would require `P: Copy`; only the functions are copied.
impl<P> Clone for Api<P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P> Copy for Api<P> {}

pub fn checks<P: Send + Sync + 'static>(subject: Api<P>) -> Vec<super::Check> {
    checks!(subject =>
        refuses_a_pool_without_workers,
        runs_every_job_it_accepts,
        runs_as_many_jobs_at_once_as_it_has_workers,
        uses_the_same_threads_for_every_job,
        a_full_queue_is_busy_at_once,
        jobs_start_in_the_order_they_were_submitted,
        a_panicking_job_does_not_kill_its_worker,
        shutdown_waits_for_the_running_job,
        jobs_still_queued_at_shutdown_run_too,
        no_job_is_taken_after_shutdown,
        every_worker_has_ended_when_shutdown_returns,
        shutdown_counts_the_jobs_that_panicked,
        a_queue_of_0_holds_no_job,
        shutdown_ends_every_idle_worker,
        jobs_that_panic_while_shutdown_waits_are_counted,
    )
}

/// How long the check waits for `submit` (or a second `shutdown`) to
/// return. They must not block at all, and when the check calls them every
/// job in the pool is held by the check itself, so a call that blocks can
/// never return: this bounds that wait, and is no speed test. (It was
/// 500 ms, and a right answer on a loaded machine sometimes took longer to
/// be scheduled.)
const AT_ONCE: Duration = Duration::from_secs(3);

/// A value the jobs change and the check waits on.
struct Watch<T> {
    value: Mutex<T>,
    changed: Condvar,
}

impl<T> Watch<T> {
    fn update(&self, change: impl FnOnce(&mut T)) {
        change(&mut self.value.lock().unwrap_or_else(|p| p.into_inner()));
        self.changed.notify_all();
    }

    fn read<R>(&self, look: impl FnOnce(&T) -> R) -> R {
        look(&self.value.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Waits until `done` holds, at most `within`; whether it does.
    fn wait_until(&self, within: Duration, done: impl Fn(&T) -> bool) -> bool {
        let deadline = Instant::now() + within;
        let mut value = self.value.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if done(&value) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            value = self
                .changed
                .wait_timeout(value, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// What the check's jobs report.
#[derive(Default)]
struct Seen {
    running: usize,
    /// The most jobs that ran at the same time.
    most: usize,
    /// Job ids, in the order they started / ended.
    started: Vec<usize>,
    finished: Vec<usize>,
    /// The thread each job ran on.
    threads: Vec<ThreadId>,
    /// Worker threads that have ended (see `every_worker_has_ended...`).
    ended: usize,
    /// The gate: held jobs wait until it opens.
    open: bool,
}

type Shared = Arc<Watch<Seen>>;

fn shared() -> Shared {
    Arc::new(Watch {
        value: Mutex::new(Seen::default()),
        changed: Condvar::new(),
    })
}

/// Opens the gate when dropped, so that held jobs never outlive a check
/// that gave up early.
struct Opener(Shared);

impl Drop for Opener {
    fn drop(&mut self) {
        self.0.update(|s| s.open = true);
    }
}

/// What a job does besides reporting.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Quick,
    /// Waits at the gate (at most a few seconds).
    Held,
    Panics,
    /// Waits at the gate, and leaves something on its thread that reports
    /// when the thread ends.
    HeldUntilItsThreadEnds,
    /// Waits at the gate, then panics.
    HeldThenPanics,
}

fn job(seen: &Shared, id: usize, kind: Kind) -> Job {
    let seen = Arc::clone(seen);
    Box::new(move || {
        seen.update(|s| {
            s.running += 1;
            s.most = s.most.max(s.running);
            s.started.push(id);
            s.threads.push(thread::current().id());
        });
        if kind == Kind::HeldUntilItsThreadEnds {
            ENDS_WITH_THREAD
                .with(|slot| *slot.borrow_mut() = Some(EndsWithThread(Arc::clone(&seen))));
        }
        if matches!(
            kind,
            Kind::Held | Kind::HeldUntilItsThreadEnds | Kind::HeldThenPanics
        ) {
            seen.wait_until(4 * WAIT, |s| s.open);
        }
        seen.update(|s| {
            s.running -= 1;
            s.finished.push(id);
        });
        if matches!(kind, Kind::Panics | Kind::HeldThenPanics) {
            // `resume_unwind` panics without the panic message on stderr:
            // the panic is on purpose.
            panic::resume_unwind(Box::new("a job that panics on purpose"));
        }
    })
}

thread_local! {
    static ENDS_WITH_THREAD: RefCell<Option<EndsWithThread>> = const { RefCell::new(None) };
}

/// Dropped when its thread ends (thread-locals are dropped then, before
/// `join` returns); slowly, so that a `shutdown` that does not join
/// returns before it.
struct EndsWithThread(Shared);

impl Drop for EndsWithThread {
    fn drop(&mut self) {
        thread::sleep(Duration::from_millis(100));
        self.0.update(|s| s.ended += 1);
    }
}

/// Calls code under test on a thread of its own, waiting at most `within`.
/// `Ok(None)`: still running.
fn call<T: Send + 'static>(
    what: &'static str,
    within: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<Option<T>, String> {
    let task = spawn(what, f);
    match task.wait(within) {
        Ok(value) => Ok(Some(value)),
        Err(Waited::Running) => Ok(None),
        Err(Waited::Panicked(why)) => Err(why),
    }
}

/// Starts a pool.
fn start<P: Send + Sync + 'static>(
    api: Api<P>,
    workers: usize,
    queue: usize,
) -> Result<Arc<P>, String> {
    match call("Pool::new", WAIT, move || (api.new)(workers, queue))? {
        Some(Ok(pool)) => Ok(Arc::new(pool)),
        Some(Err(e)) => Err(format!("Pool::new({workers}, {queue}) failed: {e}")),
        None => Err(format!(
            "Pool::new({workers}, {queue}) did not return within {WAIT:?}: start the workers \
             and return; do not wait for them"
        )),
    }
}

/// Submits a job; `Err` if `submit` panicked or did not return at once
/// (`blocked` says why that would be).
fn submit<P: Send + Sync + 'static>(
    api: Api<P>,
    pool: &Arc<P>,
    job: Job,
    blocked: &str,
) -> Result<Result<(), Refused>, String> {
    let pool = Arc::clone(pool);
    match call("Pool::submit", AT_ONCE, move || (api.submit)(&pool, job))? {
        Some(result) => Ok(result),
        None => Err(format!(
            "`submit` did not return within {AT_ONCE:?}: it must never block. {blocked}"
        )),
    }
}

/// Submits a job that must be accepted.
fn accepted<P: Send + Sync + 'static>(
    api: Api<P>,
    pool: &Arc<P>,
    job: Job,
    situation: &str,
) -> Result<(), String> {
    let blocked = "Hand the job over with `try_send`, which never waits.";
    match submit(api, pool, job, blocked)? {
        Ok(()) => Ok(()),
        Err(Refused::Busy) => Err(format!(
            "`submit` said Busy {situation}: there was room for the job"
        )),
        Err(Refused::ShutDown) => Err(format!(
            "`submit` said ShutDown {situation}, but nobody shut the pool down. Are its workers \
             gone? A job that panics ends its worker's thread, unless the worker runs it inside \
             `std::panic::catch_unwind`"
        )),
    }
}

/// Calls `shutdown` on a thread of its own: its task.
fn shutdown_in_background<P: Send + Sync + 'static>(
    api: Api<P>,
    pool: &Arc<P>,
) -> super::harness::Task<usize> {
    let pool = Arc::clone(pool);
    spawn("Pool::shutdown", move || (api.shutdown)(&pool))
}

/// Calls `shutdown` and waits for it.
fn shut_down<P: Send + Sync + 'static>(api: Api<P>, pool: &Arc<P>) -> Result<usize, String> {
    match shutdown_in_background(api, pool).wait(WAIT) {
        Ok(panicked) => Ok(panicked),
        Err(Waited::Panicked(why)) => Err(why),
        Err(Waited::Running) => Err(shutdown_hangs(api, pool, "though no job was running")),
    }
}

/// What to say when `shutdown` does not return though every job has
/// ended (`situation`): a job submitted meanwhile tells whether the pool
/// was closed yet, so the message says what was observed, whatever the
/// pool is built from (a channel, or a queue with a Condvar).
fn shutdown_hangs<P: Send + Sync + 'static>(api: Api<P>, pool: &Arc<P>, situation: &str) -> String {
    let hangs = format!("`shutdown` did not return within {WAIT:?}, {situation}");
    let probe: Job = Box::new(|| {});
    let blocked = "(It waited for `shutdown`.)";
    match submit(api, pool, probe, blocked) {
        Ok(Ok(())) => format!(
            "{hangs}, and meanwhile `submit` still accepted a job: the pool was not closed \
             yet, so its workers went on waiting for jobs while `shutdown` waited for them to \
             end. Close the pool (so `submit` says ShutDown and the workers learn that no more \
             jobs will come) *before* you join them. (Joining first waits for ever.)"
        ),
        Ok(Err(Refused::ShutDown)) => format!(
            "{hangs}, though `submit` already said ShutDown: the pool was closed, but not every \
             worker ended. Each worker that waits for a job must learn that the pool has \
             closed, every one of them, not only one: a closed channel (every Sender dropped) \
             ends every `recv`; a Condvar's `notify_one` wakes a single waiting worker, and \
             the others wait for ever."
        ),
        Ok(Err(Refused::Busy)) => format!(
            "{hangs}, and `submit` said Busy: the workers never ended. Do they learn that no \
             more jobs will come?"
        ),
        Err(e) => format!("{hangs}. And {e}"),
    }
}

/// Waits until `n` jobs run at once; `Err` says how many did.
fn wait_running(seen: &Shared, n: usize, workers: usize) -> Result<(), String> {
    if seen.wait_until(WAIT, |s| s.running >= n) {
        return Ok(());
    }
    let (running, started) = seen.read(|s| (s.running, s.started.len()));
    Err(if started == 0 {
        format!(
            "no job started within {WAIT:?} of being submitted: do the workers take jobs from the channel?"
        )
    } else {
        format!(
            "only {running} job(s) ran at the same time, with {workers} workers and more jobs \
             waiting. Do the workers hold the receiver's lock while they run a job? `while let \
             Ok(job) = receiver.lock().unwrap().recv() {{ job() }}` keeps the lock until the end \
             of the loop's body. Take the job in a `let` of its own: the lock is then released \
             at its `;`, before the job runs"
        )
    })
}

/// Waits until every job of `ids` has finished.
fn wait_finished(seen: &Shared, ids: &[usize], what: &str) -> Result<(), String> {
    if seen.wait_until(WAIT, |s| ids.iter().all(|id| s.finished.contains(id))) {
        return Ok(());
    }
    let missing: Vec<usize> = seen.read(|s| {
        ids.iter()
            .copied()
            .filter(|id| !s.finished.contains(id))
            .collect()
    });
    Err(format!(
        "{} of the {what} never ran to its end within {WAIT:?} (jobs {missing:?} of {ids:?})",
        missing.len()
    ))
}

pub fn refuses_a_pool_without_workers<P: Send + Sync + 'static>(api: Api<P>) -> Result<(), String> {
    let made = call("Pool::new", WAIT, move || (api.new)(0, 4).map(drop))?;
    match made {
        Some(Err(e)) if e.kind() == io::ErrorKind::InvalidInput => Ok(()),
        Some(Err(e)) => Err(format!(
            "Pool::new(0, 4) returned the error {e:?}; right to refuse, but its kind should be \
             io::ErrorKind::InvalidInput: the caller asked for something that cannot work"
        )),
        Some(Ok(())) => Err(
            "Pool::new(0, 4) returned a pool, but a pool without workers can never run a job: \
             return an error of kind io::ErrorKind::InvalidInput"
                .to_string(),
        ),
        None => Err(format!(
            "Pool::new(0, 4) did not return within {WAIT:?}: check `workers` first and return \
             an error"
        )),
    }
}

pub fn runs_every_job_it_accepts<P: Send + Sync + 'static>(api: Api<P>) -> Result<(), String> {
    let seen = shared();
    let pool = start(api, 2, 8)?;
    let ids: Vec<usize> = (1..=6).collect();
    for &id in &ids {
        accepted(
            api,
            &pool,
            job(&seen, id, Kind::Quick),
            "by a pool of 2 workers and a queue of 8",
        )?;
    }
    wait_finished(&seen, &ids, "6 jobs submitted").map_err(|e| {
        format!(
            "{e}. Does each worker loop, taking one job after the other until there are no more?"
        )
    })?;
    match shut_down(api, &pool)? {
        0 => Ok(()),
        n => Err(format!(
            "`shutdown` returned {n}, but no job panicked: it should return 0"
        )),
    }
}

pub fn runs_as_many_jobs_at_once_as_it_has_workers<P: Send + Sync + 'static>(
    api: Api<P>,
) -> Result<(), String> {
    let seen = shared();
    let _open = Opener(Arc::clone(&seen));
    let pool = start(api, 3, 8)?;
    let ids: Vec<usize> = (1..=6).collect();
    for &id in &ids {
        accepted(
            api,
            &pool,
            job(&seen, id, Kind::Held),
            "by a pool of 3 workers and a queue of 8",
        )?;
    }
    wait_running(&seen, 3, 3)?;
    // Nothing more may start while the 3 run: that cannot be signalled, so
    // this is a short wait on purpose.
    if seen.wait_until(Duration::from_millis(200), |s| s.most > 3) {
        let most = seen.read(|s| s.most);
        return Err(format!(
            "{most} jobs ran at the same time, but the pool has only 3 workers: is each job run \
             on a thread of its own? The workers are started once, in `new`, and each runs one \
             job at a time"
        ));
    }
    seen.update(|s| s.open = true);
    wait_finished(&seen, &ids, "6 jobs submitted")?;
    shut_down(api, &pool).map(drop)
}

pub fn uses_the_same_threads_for_every_job<P: Send + Sync + 'static>(
    api: Api<P>,
) -> Result<(), String> {
    let seen = shared();
    let pool = start(api, 2, 16)?;
    for id in 1..=10 {
        accepted(
            api,
            &pool,
            job(&seen, id, Kind::Quick),
            "by a pool of 2 idle workers",
        )?;
        wait_finished(&seen, &[id], "jobs submitted one after the other")?;
    }
    let mut threads = seen.read(|s| s.threads.clone());
    threads.sort_by_key(|t| format!("{t:?}"));
    threads.dedup();
    if threads.contains(&thread::current().id()) {
        return Err("a job ran on the thread that called `submit`: hand it to a worker".into());
    }
    if threads.len() > 2 {
        return Err(format!(
            "10 jobs ran on {} different threads, but the pool has 2 workers: start the workers \
             once, in `new`, and let each take job after job from the channel in a loop. (A \
             thread per job is what a pool is there to avoid.)",
            threads.len()
        ));
    }
    shut_down(api, &pool).map(drop)
}

pub fn a_full_queue_is_busy_at_once<P: Send + Sync + 'static>(api: Api<P>) -> Result<(), String> {
    let seen = shared();
    let _open = Opener(Arc::clone(&seen));
    let pool = start(api, 1, 2)?;
    accepted(api, &pool, job(&seen, 1, Kind::Held), "by an idle pool")?;
    wait_running(&seen, 1, 1)?;
    for id in [2, 3] {
        accepted(
            api,
            &pool,
            job(&seen, id, Kind::Quick),
            "with a queue of 2 places",
        )?;
    }
    let blocked = "When every worker is busy and the queue is full, return \
                   Err(Refused::Busy) at once: `try_send` on a `sync_channel(queue)` says \
                   `Full`, where `send` waits for room.";
    match submit(api, &pool, job(&seen, 4, Kind::Quick), blocked)? {
        Err(Refused::Busy) => {}
        Ok(()) => {
            return Err(
                "`submit` accepted a 4th job while the only worker was busy and 2 jobs already \
                 waited in a queue of 2: the queue must be bounded, at most `queue` jobs \
                 waiting, and a full queue is `Err(Refused::Busy)`. (A channel made with \
                 `mpsc::channel()` has no bound; `mpsc::sync_channel(queue)` has.)"
                    .to_string(),
            );
        }
        Err(Refused::ShutDown) => {
            return Err(
                "`submit` said ShutDown, but nobody shut the pool down: a full queue is \
                 `Err(Refused::Busy)`"
                    .to_string(),
            );
        }
    }
    seen.update(|s| s.open = true);
    wait_finished(&seen, &[1, 2, 3], "3 jobs accepted")?;
    shut_down(api, &pool)?;
    if seen.read(|s| s.started.contains(&4)) {
        return Err("the job refused with Busy ran anyway: a refused job is dropped".into());
    }
    Ok(())
}

pub fn jobs_start_in_the_order_they_were_submitted<P: Send + Sync + 'static>(
    api: Api<P>,
) -> Result<(), String> {
    let seen = shared();
    let _open = Opener(Arc::clone(&seen));
    let pool = start(api, 1, 8)?;
    accepted(api, &pool, job(&seen, 0, Kind::Held), "by an idle pool")?;
    wait_running(&seen, 1, 1)?;
    let queued: Vec<usize> = (1..=5).collect();
    for &id in &queued {
        accepted(
            api,
            &pool,
            job(&seen, id, Kind::Quick),
            "with a queue of 8 places",
        )?;
    }
    seen.update(|s| s.open = true);
    wait_finished(&seen, &queued, "5 queued jobs")?;
    let order: Vec<usize> =
        seen.read(|s| s.started.iter().copied().filter(|id| *id != 0).collect());
    if order != queued {
        return Err(format!(
            "the jobs that waited in the queue started in the order {order:?}, not in the order \
             they were submitted ({queued:?}): take them first in, first out (as a channel \
             does; `Vec::pop` takes the last one)"
        ));
    }
    shut_down(api, &pool).map(drop)
}

pub fn a_panicking_job_does_not_kill_its_worker<P: Send + Sync + 'static>(
    api: Api<P>,
) -> Result<(), String> {
    let seen = shared();
    let pool = start(api, 1, 4)?;
    accepted(api, &pool, job(&seen, 1, Kind::Panics), "by an idle pool")?;
    wait_finished(&seen, &[1], "jobs submitted")?;
    let dead = "The panic ended the only worker's thread. Run each job inside \
                `std::panic::catch_unwind(AssertUnwindSafe(job))`: a panic then ends only \
                that job, and the worker goes on with the next one.";
    // Whether the worker is gone may take a moment to show.
    let blocked = "(Is it waiting for a worker that died?)";
    match submit(api, &pool, job(&seen, 2, Kind::Quick), blocked)? {
        Ok(()) => {}
        Err(refused) => {
            return Err(format!(
                "after a job panicked, `submit` refused the next job with {refused:?}. {dead}"
            ));
        }
    }
    if !seen.wait_until(WAIT, |s| s.finished.contains(&2)) {
        return Err(format!(
            "after a job panicked, the next job never ran (1 worker, within {WAIT:?}). {dead}"
        ));
    }
    shut_down(api, &pool).map(drop)
}

pub fn shutdown_waits_for_the_running_job<P: Send + Sync + 'static>(
    api: Api<P>,
) -> Result<(), String> {
    let seen = shared();
    let _open = Opener(Arc::clone(&seen));
    let pool = start(api, 2, 4)?;
    accepted(api, &pool, job(&seen, 1, Kind::Held), "by an idle pool")?;
    wait_running(&seen, 1, 2)?;
    let shutting = shutdown_in_background(api, &pool);
    // While the job runs, `shutdown` must not return. That cannot be
    // signalled, so this is a short wait on purpose.
    match shutting.wait(Duration::from_millis(300)) {
        Err(Waited::Running) => {}
        Err(Waited::Panicked(why)) => return Err(why),
        Ok(_) => {
            return Err(
                "`shutdown` returned while a job was still running: it must let every accepted \
                 job finish, then join every worker (`JoinHandle::join`) before it returns"
                    .to_string(),
            );
        }
    }
    seen.update(|s| s.open = true);
    match shutting.wait(WAIT) {
        Ok(_) => {}
        Err(Waited::Panicked(why)) => return Err(why),
        Err(Waited::Running) => {
            return Err(shutdown_hangs(api, &pool, "after the last job ended"));
        }
    }
    if !seen.read(|s| s.finished.contains(&1)) {
        return Err("`shutdown` returned before the running job had finished".into());
    }
    Ok(())
}

/// Submits no-op jobs until `submit` says ShutDown (so `shutdown` has
/// begun), at most for `within`; returns the ids of those it accepted, and
/// whether it said ShutDown.
fn probe_until_shut_down<P: Send + Sync + 'static>(
    api: Api<P>,
    pool: &Arc<P>,
    seen: &Shared,
    first_id: usize,
    within: Duration,
) -> Result<(Vec<usize>, bool), String> {
    let deadline = Instant::now() + within;
    let mut accepted_ids = Vec::new();
    let blocked = "While `shutdown` waits for the jobs, `submit` must still return at once: \
                   does `shutdown` hold a lock that `submit` needs (the Sender's Mutex) while \
                   it joins the workers? Take the Sender out, and let the lock go first.";
    for id in first_id.. {
        match submit(api, pool, job(seen, id, Kind::Quick), blocked)? {
            Ok(()) => accepted_ids.push(id),
            Err(Refused::ShutDown) => return Ok((accepted_ids, true)),
            Err(Refused::Busy) if accepted_ids.len() > 1 => {
                return Err(format!(
                    "after `shutdown` was called, `submit` still accepted jobs ({} of them, \
                     until the queue was full and it said Busy): from the moment `shutdown` is \
                     called, `submit` must return `Err(Refused::ShutDown)`. Take the Sender \
                     out of its `Mutex<Option<..>>` first thing in `shutdown`, and let `submit` \
                     say ShutDown when it finds `None`",
                    accepted_ids.len()
                ));
            }
            Err(Refused::Busy) => {
                return Err(
                    "after `shutdown` was called, `submit` said Busy: once the pool is shutting \
                     down, it should say `Err(Refused::ShutDown)`"
                        .to_string(),
                );
            }
        }
        if Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    Ok((accepted_ids, false))
}

pub fn jobs_still_queued_at_shutdown_run_too<P: Send + Sync + 'static>(
    api: Api<P>,
) -> Result<(), String> {
    let seen = shared();
    let _open = Opener(Arc::clone(&seen));
    let pool = start(api, 1, 64)?;
    accepted(api, &pool, job(&seen, 0, Kind::Held), "by an idle pool")?;
    wait_running(&seen, 1, 1)?;
    let mut queued: Vec<usize> = (1..=3).collect();
    for &id in &queued {
        accepted(
            api,
            &pool,
            job(&seen, id, Kind::Quick),
            "with a queue of 64 places",
        )?;
    }
    let shutting = shutdown_in_background(api, &pool);
    // Jobs accepted until `shutdown` takes hold must run too.
    let (probes, _) = probe_until_shut_down(api, &pool, &seen, 100, Duration::from_secs(1))?;
    queued.extend(probes);
    seen.update(|s| s.open = true);
    match shutting.wait(WAIT) {
        Ok(_) => {}
        Err(Waited::Panicked(why)) => return Err(why),
        Err(Waited::Running) => return Err(format!("`shutdown` did not return within {WAIT:?}")),
    }
    let missing: Vec<usize> = seen.read(|s| {
        queued
            .iter()
            .copied()
            .filter(|id| !s.finished.contains(id))
            .collect()
    });
    if !missing.is_empty() {
        return Err(format!(
            "`shutdown` returned, but {} of the {} jobs that waited in the queue never ran: \
             every job `submit` accepted must run. Let the workers go on taking jobs until the \
             channel is closed *and* empty (`recv` fails only then), rather than stopping at a \
             flag",
            missing.len(),
            queued.len()
        ));
    }
    Ok(())
}

pub fn no_job_is_taken_after_shutdown<P: Send + Sync + 'static>(api: Api<P>) -> Result<(), String> {
    let seen = shared();
    let _open = Opener(Arc::clone(&seen));
    let pool = start(api, 1, 64)?;
    accepted(api, &pool, job(&seen, 0, Kind::Held), "by an idle pool")?;
    wait_running(&seen, 1, 1)?;
    let shutting = shutdown_in_background(api, &pool);
    let (_, refused) = probe_until_shut_down(api, &pool, &seen, 100, WAIT)?;
    if !refused {
        return Err(format!(
            "{WAIT:?} after `shutdown` was called (and while it waited for a running job), \
             `submit` still accepted jobs. From the moment `shutdown` is called, `submit` must \
             return `Err(Refused::ShutDown)`: take the Sender out of its `Mutex<Option<..>>` \
             first thing in `shutdown`, and let `submit` say ShutDown when it finds `None`"
        ));
    }
    let late = 1000;
    let blocked = "Once shut down, `submit` should say ShutDown at once.";
    if submit(api, &pool, job(&seen, late, Kind::Quick), blocked)? != Err(Refused::ShutDown) {
        return Err("`submit` accepted a job while the pool was shutting down".into());
    }
    seen.update(|s| s.open = true);
    match shutting.wait(WAIT) {
        Ok(_) => {}
        Err(Waited::Panicked(why)) => return Err(why),
        Err(Waited::Running) => return Err(format!("`shutdown` did not return within {WAIT:?}")),
    }
    let after = submit(api, &pool, job(&seen, late + 1, Kind::Quick), blocked)?;
    if after != Err(Refused::ShutDown) {
        return Err(format!(
            "after `shutdown` returned, `submit` gave {after:?}: it should say \
             `Err(Refused::ShutDown)`"
        ));
    }
    if seen.read(|s| s.started.iter().any(|id| *id >= late)) {
        return Err("a job submitted after `shutdown` was called ran anyway".into());
    }
    Ok(())
}

pub fn every_worker_has_ended_when_shutdown_returns<P: Send + Sync + 'static>(
    api: Api<P>,
) -> Result<(), String> {
    let seen = shared();
    let _open = Opener(Arc::clone(&seen));
    let pool = start(api, 3, 3)?;
    let ids = [1, 2, 3];
    for id in ids {
        accepted(
            api,
            &pool,
            job(&seen, id, Kind::HeldUntilItsThreadEnds),
            "by an idle pool of 3",
        )?;
    }
    // All three at once: so each runs on a worker of its own.
    wait_running(&seen, 3, 3)?;
    seen.update(|s| s.open = true);
    wait_finished(&seen, &ids, "3 jobs")?;
    shut_down(api, &pool)?;
    let ended = seen.read(|s| s.ended);
    if ended < 3 {
        return Err(format!(
            "`shutdown` returned while worker threads were still running (only {ended} of the 3 \
             had ended): keep every worker's JoinHandle, and `join` each one before returning"
        ));
    }
    Ok(())
}

pub fn shutdown_counts_the_jobs_that_panicked<P: Send + Sync + 'static>(
    api: Api<P>,
) -> Result<(), String> {
    let seen = shared();
    let pool = start(api, 2, 8)?;
    let kinds = [
        Kind::Panics,
        Kind::Quick,
        Kind::Panics,
        Kind::Panics,
        Kind::Quick,
    ];
    for (id, kind) in kinds.into_iter().enumerate() {
        accepted(
            api,
            &pool,
            job(&seen, id, kind),
            "by a pool of 2 workers and 8 places",
        )?;
    }
    wait_finished(&seen, &[0, 1, 2, 3, 4], "5 jobs (3 of them panic)").map_err(|e| {
        format!("{e}. Does a panicking job end its worker? Run each job inside catch_unwind")
    })?;
    let panicked = shut_down(api, &pool)?;
    if panicked != 3 {
        return Err(format!(
            "`shutdown` returned {panicked}, but 3 jobs panicked: count them where you catch \
             the panics (an AtomicUsize shared by the workers), and return the count"
        ));
    }
    let again = {
        let pool = Arc::clone(&pool);
        call("Pool::shutdown", AT_ONCE, move || (api.shutdown)(&pool))
    };
    match again {
        Ok(Some(0)) => Ok(()),
        Ok(Some(n)) => Err(format!(
            "a second `shutdown` returned {n}: the pool was shut down already, so it should \
             return 0 at once"
        )),
        Ok(None) => Err(format!(
            "a second `shutdown` did not return within {AT_ONCE:?}: the pool was shut down \
             already, so it should return 0 at once"
        )),
        Err(why) => Err(format!("a second `shutdown` panicked: {why}")),
    }
}

/// Submits `job` until it is accepted (Busy is allowed while no worker
/// waits yet), at most [`WAIT`]; whether it was.
fn accepted_once_a_worker_waits<P: Send + Sync + 'static>(
    api: Api<P>,
    pool: &Arc<P>,
    make: impl Fn() -> Job,
) -> Result<bool, String> {
    let deadline = Instant::now() + WAIT;
    let blocked = "With a queue of 0 and no worker waiting, return Busy at once.";
    loop {
        match submit(api, pool, make(), blocked)? {
            Ok(()) => return Ok(true),
            Err(Refused::ShutDown) => {
                return Err("`submit` said ShutDown, but nobody shut the pool down".into());
            }
            Err(Refused::Busy) if Instant::now() >= deadline => return Ok(false),
            Err(Refused::Busy) => thread::sleep(Duration::from_millis(10)),
        }
    }
}

pub fn a_queue_of_0_holds_no_job<P: Send + Sync + 'static>(api: Api<P>) -> Result<(), String> {
    let seen = shared();
    let _open = Opener(Arc::clone(&seen));
    let pool = start(api, 1, 0)?;
    let never_taken = format!(
        "Pool::new(1, 0): `submit` said Busy for {WAIT:?} to a pool whose only worker was idle. \
         With a queue of 0, a job is taken when a worker is waiting for one, and an idle \
         worker is."
    );
    if !accepted_once_a_worker_waits(api, &pool, || job(&seen, 1, Kind::Held))? {
        return Err(never_taken);
    }
    wait_running(&seen, 1, 1)?;
    let blocked = "When every worker is busy and there is no room, return Busy at once.";
    let busy = |id| submit(api, &pool, job(&seen, id, Kind::Quick), blocked);
    if busy(2)? == Ok(()) {
        let held = if busy(3)? == Ok(()) {
            "2 or more".to_string()
        } else {
            "1".to_string()
        };
        return Err(format!(
            "Pool::new(1, 0): while the only worker ran a job, `submit` accepted another: the \
             pool behaves as if its queue held {held}. A queue of 0 holds no job: with every \
             worker busy, `submit` returns Err(Refused::Busy) (the task: a job is then taken \
             only if a worker is waiting for one)."
        ));
    }
    seen.update(|s| s.open = true);
    wait_finished(&seen, &[1], "job")?;
    // The worker waits again: the next job is taken.
    if !accepted_once_a_worker_waits(api, &pool, || job(&seen, 4, Kind::Quick))? {
        return Err(format!(
            "Pool::new(1, 0): after its first job, `submit` said Busy for {WAIT:?} while the \
             only worker was idle again: with a queue of 0, a job is taken whenever a worker \
             is waiting for one"
        ));
    }
    wait_finished(&seen, &[4], "job")?;
    shut_down(api, &pool)?;
    if seen.read(|s| s.started.iter().any(|id| (2..=3).contains(id))) {
        return Err("a job refused with Busy ran anyway: a refused job is dropped".into());
    }
    Ok(())
}

pub fn jobs_that_panic_while_shutdown_waits_are_counted<P: Send + Sync + 'static>(
    api: Api<P>,
) -> Result<(), String> {
    let seen = shared();
    let _open = Opener(Arc::clone(&seen));
    let pool = start(api, 1, 4)?;
    accepted(
        api,
        &pool,
        job(&seen, 0, Kind::HeldThenPanics),
        "by an idle pool",
    )?;
    wait_running(&seen, 1, 1)?;
    accepted(
        api,
        &pool,
        job(&seen, 1, Kind::Panics),
        "with a queue of 4 places",
    )?;
    let shutting = shutdown_in_background(api, &pool);
    // `shutdown` has begun once `submit` says ShutDown (or has at least
    // been called, if it never does: another check reports that).
    probe_until_shut_down(api, &pool, &seen, 100, WAIT)?;
    // Both jobs end only now, while `shutdown` waits: both panic.
    seen.update(|s| s.open = true);
    let panicked = match shutting.wait(WAIT) {
        Ok(n) => n,
        Err(Waited::Panicked(why)) => return Err(why),
        Err(Waited::Running) => {
            return Err(shutdown_hangs(api, &pool, "after the last job ended"));
        }
    };
    if panicked != 2 {
        return Err(format!(
            "`shutdown` returned {panicked}, but 2 jobs panicked while it waited for them: one \
             that was running when `shutdown` was called, and one still waiting in the queue. \
             Every job accepted before `shutdown` counts, also one that ends after it was \
             called: read the count only once every worker has ended."
        ));
    }
    Ok(())
}

pub fn shutdown_ends_every_idle_worker<P: Send + Sync + 'static>(
    api: Api<P>,
) -> Result<(), String> {
    let seen = shared();
    let _open = Opener(Arc::clone(&seen));
    let pool = start(api, 4, 4)?;
    let ids = [1, 2, 3, 4];
    for id in ids {
        accepted(
            api,
            &pool,
            job(&seen, id, Kind::Held),
            "by an idle pool of 4",
        )?;
    }
    // Each of the 4 workers has taken a job: they all run their loop.
    wait_running(&seen, 4, 4)?;
    seen.update(|s| s.open = true);
    wait_finished(&seen, &ids, "4 jobs")?;
    // A moment for the workers to go back to waiting for a job, so that
    // `shutdown` meets several idle workers, each of which must learn that
    // the pool has closed. Not a judgement: a right pool passes either way.
    thread::sleep(Duration::from_millis(100));
    shut_down(api, &pool).map(drop)
}
