//! Reference answer to exercise 07: a bounded pool of workers that shuts
//! down gracefully. The task is described in `exercises/src/pool.rs`.

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

/// What a job is, and why `submit` may give one back (shared with the checks).
pub use checks::shared::pool::{Job, Refused};

// ANCHOR: solution
/// A fixed set of worker threads that run jobs.
pub struct Pool {
    /// The sending end of the bounded channel of jobs; `None` once the pool
    /// shuts down. Dropping it is how the workers learn there will be no
    /// more jobs: their `recv` fails once the queue is empty.
    sender: Mutex<Option<SyncSender<Job>>>,
    /// Taken (and joined) by the first `shutdown`.
    workers: Mutex<Vec<JoinHandle<()>>>,
    panicked: Arc<AtomicUsize>,
}

impl Pool {
    /// Starts `workers` threads; at most `queue` jobs may wait for one.
    pub fn new(workers: usize, queue: usize) -> io::Result<Pool> {
        if workers == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a pool needs at least one worker",
            ));
        }
        // A *bounded* channel: at most `queue` jobs wait. `try_send` on it
        // never blocks, so neither does `submit`.
        let (sender, receiver) = mpsc::sync_channel::<Job>(queue);
        // `mpsc` has one receiver: the workers take turns with it.
        let receiver = Arc::new(Mutex::new(receiver));
        let panicked = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::with_capacity(workers);
        for id in 0..workers {
            let (receiver, panicked) = (Arc::clone(&receiver), Arc::clone(&panicked));
            let spawned = thread::Builder::new()
                .name(format!("worker {id}"))
                .spawn(move || work(&receiver, &panicked));
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    // Stop the workers already started before giving up.
                    drop(sender);
                    for handle in handles {
                        let _ = handle.join();
                    }
                    return Err(e);
                }
            }
        }
        Ok(Pool {
            sender: Mutex::new(Some(sender)),
            workers: Mutex::new(handles),
            panicked,
        })
    }

    /// Hands `job` to a worker, or gives it back at once if the pool is busy
    /// or shutting down.
    pub fn submit(&self, job: Job) -> Result<(), Refused> {
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(sender) = sender.as_ref() else {
            return Err(Refused::ShutDown);
        };
        sender.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => Refused::Busy,
            TrySendError::Disconnected(_) => Refused::ShutDown,
        })
    }

    /// Takes no more jobs, lets every accepted job finish, joins every
    /// worker; returns how many jobs panicked.
    pub fn shutdown(&self) -> usize {
        // From here on `submit` finds no sender. The lock is released at the
        // end of this statement: `submit` must never wait for the joins.
        drop(
            self.sender
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let workers =
            std::mem::take(&mut *self.workers.lock().unwrap_or_else(PoisonError::into_inner));
        if workers.is_empty() {
            return 0; // shut down already
        }
        for worker in workers {
            // A worker's own code never panics (jobs are caught), so join
            // only fails if the thread was killed some other way.
            let _ = worker.join();
        }
        self.panicked.swap(0, Ordering::SeqCst)
    }
}

/// A worker: takes the next job, runs it, and again, until the channel is
/// closed and empty.
fn work(jobs: &Mutex<Receiver<Job>>, panicked: &AtomicUsize) {
    loop {
        // The lock is held while waiting for a job, never while one runs:
        // the guard is a temporary of this `let`, dropped at its `;`.
        // (In `while let Ok(job) = jobs.lock().unwrap().recv()` it would
        // live until the end of the loop's body, and the jobs would take
        // turns.)
        let next = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = next else {
            return; // every sender is gone and the queue is empty
        };
        // A panicking job ends here, not the worker.
        if panic::catch_unwind(AssertUnwindSafe(job)).is_err() {
            panicked.fetch_add(1, Ordering::SeqCst);
        }
    }
}
// ANCHOR_END: solution
