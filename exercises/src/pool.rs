//! Exercise 07 (lesson 07): a bounded pool of workers that shuts down
//! gracefully.
//!
//! Lesson 07's server starts a fixed number of worker threads once and hands
//! them connections through a bounded channel. Write that pool for any
//! [`Job`] (a boxed closure): [`Pool::new`] starts the workers,
//! [`Pool::submit`] hands a job to them, [`Pool::shutdown`] stops them. The
//! checks hold you to these rules:
//! - `new(workers, queue)` starts exactly `workers` threads, once, and every
//!   job runs on one of them: never a thread per job. `workers == 0` is an
//!   error of kind `InvalidInput`; so is (with its own kind) a thread the
//!   system cannot start. Return those errors; never panic.
//! - Up to `workers` jobs run at the same time, each on its own worker.
//! - At most `queue` jobs wait for a free worker, and they start in the
//!   order they were submitted. `submit` never blocks: if every worker is
//!   busy and `queue` jobs already wait, it returns `Err(Refused::Busy)` at
//!   once and the job is dropped. (`queue` may be 0: a job is then taken
//!   only if a worker is waiting for one.)
//! - A job that panics ends only that job: its worker goes on with the
//!   next one.
//! - `shutdown` may be called from any thread, and while other threads
//!   still call `submit`. From the moment it is called, `submit` returns
//!   `Err(Refused::ShutDown)` at once and the job never runs. Every job
//!   accepted before still runs to its end, including those still waiting
//!   in the queue. Then every worker thread ends and is joined, and only
//!   then does `shutdown` return: the number of jobs that panicked. Called
//!   again, it returns 0 at once.
//!
//! Run it with `cargo run -p exercises --bin pool_server -- --workers 2`
//! (lesson 03's reverse server, a job per client: `nc 127.0.0.1 2007` from
//! three terminals; `/panic` from a client panics its job; `/quit` in the
//! server's terminal shuts down). Check it with `cargo test -p exercises
//! pool`. Hints: `exercises/src/pool.hints.md`, or one at a time with
//! `cargo run -p exercises -- hint pool`. Time: about 45 minutes.

use std::io;

// ANCHOR: task
/// What a job is, and why `submit` may give one back (defined in
/// `exercises/crates/checks/src/shared/pool.rs`, because the checks use them too).
pub use checks::shared::pool::{Job, Refused};

/// A fixed set of worker threads that run jobs.
pub struct Pool {
    // Your fields: what the workers share, their JoinHandles, and whatever
    // `submit` needs to reach them.
}

impl Pool {
    /// Starts `workers` threads; at most `queue` jobs may wait for one.
    pub fn new(workers: usize, queue: usize) -> io::Result<Pool> {
        todo!("exercise 07: write Pool::new in exercises/src/pool.rs")
    }

    /// Hands `job` to a worker, or gives it back at once if the pool is busy
    /// or shutting down.
    pub fn submit(&self, job: Job) -> Result<(), Refused> {
        todo!("exercise 07: write Pool::submit in exercises/src/pool.rs")
    }

    /// Takes no more jobs, lets every accepted job finish, joins every
    /// worker; returns how many jobs panicked.
    pub fn shutdown(&self) -> usize {
        todo!("exercise 07: write Pool::shutdown in exercises/src/pool.rs")
    }
}
// ANCHOR_END: task
