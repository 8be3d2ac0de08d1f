//! Test fixtures: wrong answers learners really write to exercises 07
//! (the pool) and 08 (the load client), and proof that the checks reject
//! each one with the message meant for it. Like `wrong_solutions.rs`, these
//! exist only here, so that CI notices if a check stops catching them.
//!
//! Run with `cargo test -p solutions --test wrong_solutions_07_08 --
//! --nocapture` to see every message each wrong answer gets.

use solutions::checks::runner::assert_rejected;
use solutions::checks::{load, pool};

/// Wrong pools: one implementation, with one learner's mistake switched on
/// by `MISTAKE` each (so each fixture differs from a right answer by only
/// the lines of its mistake), and a queue taken last in, first out.
mod pools {
    use std::io;
    use std::panic::{self, AssertUnwindSafe};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
    use std::sync::{Arc, Condvar, Mutex};
    use std::thread::{self, JoinHandle};
    use std::time::Duration;

    use solutions::checks::pool::Api;
    use solutions::checks::shared::pool::{Job, Refused};

    /// `submit` starts a thread for every job.
    pub const THREAD_PER_JOB: u8 = 1;
    /// `while let Ok(job) = receiver.lock().unwrap().recv() { job() }`.
    pub const LOCK_HELD_WHILE_RUNNING: u8 = 2;
    /// `mpsc::channel()`: the queue has no bound.
    pub const UNBOUNDED: u8 = 3;
    /// `send` instead of `try_send`: `submit` waits for room.
    pub const BLOCKING_SUBMIT: u8 = 4;
    /// Jobs run without `catch_unwind`.
    pub const NO_CATCH_UNWIND: u8 = 5;
    /// `shutdown` drops the sender and returns, joining nobody.
    pub const NO_JOIN: u8 = 6;
    /// `shutdown` joins the workers before it drops the sender.
    pub const JOIN_BEFORE_DROP: u8 = 7;
    /// Workers stop at a flag, leaving the queued jobs.
    pub const STOP_FLAG: u8 = 8;
    /// `shutdown` stops the workers with a flag and keeps the sender.
    pub const KEEPS_SENDER: u8 = 9;
    /// `shutdown` always returns 0.
    pub const COUNTS_NOTHING: u8 = 10;
    /// `new(0, _)` is accepted.
    pub const ZERO_WORKERS: u8 = 11;
    /// `shutdown` holds the sender's lock while it joins.
    pub const LOCK_WHILE_JOINING: u8 = 12;
    /// `sync_channel(queue.max(1))`: "a channel of 0 is a rendezvous".
    pub const QUEUE_AT_LEAST_ONE: u8 = 13;
    /// `shutdown` reads the count of panics first thing, before joining.
    pub const COUNT_BEFORE_JOIN: u8 = 14;

    pub struct Pool<const MISTAKE: u8> {
        sender: Mutex<Option<SyncSender<Job>>>,
        unbounded: Mutex<Option<mpsc::Sender<Job>>>,
        workers: Mutex<Vec<JoinHandle<()>>>,
        stopping: Arc<AtomicBool>,
        panicked: Arc<AtomicUsize>,
    }

    pub fn api<const MISTAKE: u8>() -> Api<Pool<MISTAKE>> {
        Api {
            new: Pool::<MISTAKE>::new,
            submit: Pool::<MISTAKE>::submit,
            shutdown: Pool::<MISTAKE>::shutdown,
        }
    }

    impl<const MISTAKE: u8> Pool<MISTAKE> {
        pub fn new(workers: usize, queue: usize) -> io::Result<Self> {
            if workers == 0 && MISTAKE != ZERO_WORKERS {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "no workers"));
            }
            let room = if MISTAKE == QUEUE_AT_LEAST_ONE {
                queue.max(1)
            } else {
                queue
            };
            let (sender, receiver) = mpsc::sync_channel::<Job>(room);
            let (unbounded, unbounded_receiver) = mpsc::channel::<Job>();
            let receiver: Receiver<Job> = if MISTAKE == UNBOUNDED {
                drop(receiver);
                unbounded_receiver
            } else {
                receiver
            };
            let receiver = Arc::new(Mutex::new(receiver));
            let stopping = Arc::new(AtomicBool::new(false));
            let panicked = Arc::new(AtomicUsize::new(0));
            let mut handles = Vec::new();
            if MISTAKE != THREAD_PER_JOB {
                for _ in 0..workers {
                    let (receiver, stopping, panicked) = (
                        Arc::clone(&receiver),
                        Arc::clone(&stopping),
                        Arc::clone(&panicked),
                    );
                    handles.push(thread::spawn(move || {
                        Self::work(&receiver, &stopping, &panicked)
                    }));
                }
            }
            Ok(Pool {
                sender: Mutex::new(Some(sender)),
                unbounded: Mutex::new(Some(unbounded)),
                workers: Mutex::new(handles),
                stopping,
                panicked,
            })
        }

        fn run(job: Job, panicked: &AtomicUsize) {
            if MISTAKE == NO_CATCH_UNWIND {
                job();
            } else if panic::catch_unwind(AssertUnwindSafe(job)).is_err() {
                panicked.fetch_add(1, Ordering::SeqCst);
            }
        }

        fn work(jobs: &Mutex<Receiver<Job>>, stopping: &AtomicBool, panicked: &AtomicUsize) {
            if MISTAKE == LOCK_HELD_WHILE_RUNNING {
                while let Ok(job) = jobs.lock().unwrap().recv() {
                    Self::run(job, panicked);
                }
                return;
            }
            if matches!(MISTAKE, STOP_FLAG | KEEPS_SENDER) {
                while !stopping.load(Ordering::SeqCst) {
                    let next = jobs.lock().unwrap().recv_timeout(Duration::from_millis(20));
                    match next {
                        Ok(job) => Self::run(job, panicked),
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
                return;
            }
            loop {
                let next = jobs.lock().unwrap().recv();
                let Ok(job) = next else { return };
                Self::run(job, panicked);
            }
        }

        pub fn submit(&self, job: Job) -> Result<(), Refused> {
            if MISTAKE == THREAD_PER_JOB {
                if self.stopping.load(Ordering::SeqCst) {
                    return Err(Refused::ShutDown);
                }
                let panicked = Arc::clone(&self.panicked);
                let handle = thread::spawn(move || Self::run(job, &panicked));
                self.workers.lock().unwrap().push(handle);
                return Ok(());
            }
            if MISTAKE == UNBOUNDED {
                let sender = self.unbounded.lock().unwrap();
                let sender = sender.as_ref().ok_or(Refused::ShutDown)?;
                return sender.send(job).map_err(|_| Refused::ShutDown);
            }
            let sender = self.sender.lock().unwrap();
            let sender = sender.as_ref().ok_or(Refused::ShutDown)?;
            if MISTAKE == BLOCKING_SUBMIT {
                return sender.send(job).map_err(|_| Refused::ShutDown);
            }
            sender.try_send(job).map_err(|e| match e {
                TrySendError::Full(_) => Refused::Busy,
                TrySendError::Disconnected(_) => Refused::ShutDown,
            })
        }

        pub fn shutdown(&self) -> usize {
            let counted_first = self.panicked.swap(0, Ordering::SeqCst);
            let workers = std::mem::take(&mut *self.workers.lock().unwrap());
            if MISTAKE == LOCK_WHILE_JOINING {
                let mut sender = self.sender.lock().unwrap();
                *sender = None;
                for worker in workers {
                    let _ = worker.join();
                }
                return self.panicked.swap(0, Ordering::SeqCst);
            }
            if MISTAKE == JOIN_BEFORE_DROP {
                for worker in workers {
                    let _ = worker.join();
                }
                self.sender.lock().unwrap().take();
                return self.panicked.swap(0, Ordering::SeqCst);
            }
            self.stopping.store(true, Ordering::SeqCst);
            if MISTAKE != KEEPS_SENDER {
                self.sender.lock().unwrap().take();
                self.unbounded.lock().unwrap().take();
            }
            if MISTAKE != NO_JOIN {
                for worker in workers {
                    let _ = worker.join();
                }
            }
            if MISTAKE == COUNTS_NOTHING {
                return 0;
            }
            if MISTAKE == COUNT_BEFORE_JOIN {
                return counted_first;
            }
            counted_first + self.panicked.swap(0, Ordering::SeqCst)
        }
    }

    /// `shutdown` wakes one waiting worker (`notify_one`), not all.
    pub const NOTIFY_ONE: u8 = 1;
    /// `submit` accepts while `jobs.len() <= queue`, not counting the
    /// idle workers: a queue of N holds N + 1 while the workers are busy.
    pub const QUEUE_PLUS_ONE: u8 = 2;
    /// `shutdown` reads the count when it closes the pool, before joining.
    pub const COUNT_AT_CLOSE: u8 = 3;

    /// The jobs waiting, whether the pool is closed, and how many workers
    /// wait for a job.
    #[derive(Default)]
    struct Queue {
        jobs: std::collections::VecDeque<Job>,
        closed: bool,
        idle: usize,
    }

    /// A pool built from a queue behind a Mutex and a Condvar, with one
    /// learner's mistake switched on by `MISTAKE`.
    pub struct Condvars<const MISTAKE: u8> {
        shared: Arc<(Mutex<Queue>, Condvar)>,
        workers: Mutex<Vec<JoinHandle<()>>>,
        panicked: Arc<AtomicUsize>,
        queue: usize,
    }

    pub fn condvars<const MISTAKE: u8>() -> Api<Condvars<MISTAKE>> {
        Api {
            new: Condvars::<MISTAKE>::new,
            submit: Condvars::<MISTAKE>::submit,
            shutdown: Condvars::<MISTAKE>::shutdown,
        }
    }

    impl<const MISTAKE: u8> Condvars<MISTAKE> {
        pub fn new(workers: usize, queue: usize) -> io::Result<Self> {
            if workers == 0 {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "no workers"));
            }
            let shared = Arc::new((Mutex::new(Queue::default()), Condvar::new()));
            let panicked = Arc::new(AtomicUsize::new(0));
            let handles = (0..workers)
                .map(|_| {
                    let (shared, panicked) = (Arc::clone(&shared), Arc::clone(&panicked));
                    thread::spawn(move || {
                        loop {
                            let (lock, ready) = &*shared;
                            let mut queue = lock.lock().unwrap();
                            queue.idle += 1;
                            while queue.jobs.is_empty() && !queue.closed {
                                queue = ready.wait(queue).unwrap();
                            }
                            queue.idle -= 1;
                            let Some(job) = queue.jobs.pop_front() else {
                                return;
                            };
                            drop(queue);
                            if panic::catch_unwind(AssertUnwindSafe(job)).is_err() {
                                panicked.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    })
                })
                .collect();
            Ok(Condvars {
                shared,
                workers: Mutex::new(handles),
                panicked,
                queue,
            })
        }

        pub fn submit(&self, job: Job) -> Result<(), Refused> {
            let (lock, ready) = &*self.shared;
            let mut queue = lock.lock().unwrap();
            if queue.closed {
                return Err(Refused::ShutDown);
            }
            let room = if MISTAKE == QUEUE_PLUS_ONE {
                queue.jobs.len() <= self.queue
            } else {
                queue.jobs.len() < queue.idle + self.queue
            };
            if !room {
                return Err(Refused::Busy);
            }
            queue.jobs.push_back(job);
            ready.notify_one();
            Ok(())
        }

        pub fn shutdown(&self) -> usize {
            let (lock, ready) = &*self.shared;
            lock.lock().unwrap().closed = true;
            let counted_at_close = self.panicked.swap(0, Ordering::SeqCst);
            if MISTAKE == NOTIFY_ONE {
                ready.notify_one();
            } else {
                ready.notify_all();
            }
            for worker in std::mem::take(&mut *self.workers.lock().unwrap()) {
                let _ = worker.join();
            }
            if MISTAKE == COUNT_AT_CLOSE {
                return counted_at_close;
            }
            counted_at_close + self.panicked.swap(0, Ordering::SeqCst)
        }
    }

    /// Its own queue, a `Vec` behind a lock, taken with `pop`: last in,
    /// first out.
    /// The jobs waiting, and whether the pool is shutting down.
    type Waiting = Mutex<(Vec<Job>, bool)>;

    pub struct Stack {
        shared: Arc<(Waiting, Condvar)>,
        workers: Mutex<Vec<JoinHandle<()>>>,
        queue: usize,
    }

    pub fn stack() -> Api<Stack> {
        Api {
            new: Stack::new,
            submit: Stack::submit,
            shutdown: Stack::shutdown,
        }
    }

    impl Stack {
        pub fn new(workers: usize, queue: usize) -> io::Result<Stack> {
            if workers == 0 {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "no workers"));
            }
            let shared = Arc::new((Mutex::new((Vec::<Job>::new(), false)), Condvar::new()));
            let handles = (0..workers)
                .map(|_| {
                    let shared = Arc::clone(&shared);
                    thread::spawn(move || {
                        loop {
                            let (lock, ready) = &*shared;
                            let mut state = lock.lock().unwrap();
                            while state.0.is_empty() && !state.1 {
                                state = ready.wait(state).unwrap();
                            }
                            let Some(job) = state.0.pop() else { return };
                            drop(state);
                            let _ = panic::catch_unwind(AssertUnwindSafe(job));
                        }
                    })
                })
                .collect();
            Ok(Stack {
                shared,
                workers: Mutex::new(handles),
                queue,
            })
        }

        pub fn submit(&self, job: Job) -> Result<(), Refused> {
            let (lock, ready) = &*self.shared;
            let mut state = lock.lock().unwrap();
            if state.1 {
                return Err(Refused::ShutDown);
            }
            if state.0.len() >= self.queue {
                return Err(Refused::Busy);
            }
            state.0.push(job);
            ready.notify_one();
            Ok(())
        }

        pub fn shutdown(&self) -> usize {
            let (lock, ready) = &*self.shared;
            lock.lock().unwrap().1 = true;
            ready.notify_all();
            for worker in std::mem::take(&mut *self.workers.lock().unwrap()) {
                let _ = worker.join();
            }
            0
        }
    }
}

mod pool_is_rejected_when_it {
    use super::pools::{self, api};
    use super::*;

    #[test]
    fn starts_a_thread_per_job() {
        assert_rejected(
            "thread per job",
            pool::checks(api::<{ pools::THREAD_PER_JOB }>()),
            &[
                ("uses_the_same_threads_for_every_job", "A thread per job"),
                (
                    "runs_as_many_jobs_at_once_as_it_has_workers",
                    "is each job run on a thread of its own",
                ),
            ],
        );
    }

    #[test]
    fn holds_the_receivers_lock_while_a_job_runs() {
        assert_rejected(
            "lock held while running",
            pool::checks(api::<{ pools::LOCK_HELD_WHILE_RUNNING }>()),
            &[(
                "runs_as_many_jobs_at_once_as_it_has_workers",
                "keeps the lock until the end of the loop's body",
            )],
        );
    }

    #[test]
    fn has_an_unbounded_queue() {
        assert_rejected(
            "unbounded queue",
            pool::checks(api::<{ pools::UNBOUNDED }>()),
            &[("a_full_queue_is_busy_at_once", "the queue must be bounded")],
        );
    }

    #[test]
    fn waits_for_room_in_submit() {
        assert_rejected(
            "blocking submit",
            pool::checks(api::<{ pools::BLOCKING_SUBMIT }>()),
            &[("a_full_queue_is_busy_at_once", "it must never block")],
        );
    }

    #[test]
    fn lets_a_panic_end_its_worker() {
        assert_rejected(
            "no catch_unwind",
            pool::checks(api::<{ pools::NO_CATCH_UNWIND }>()),
            &[
                ("a_panicking_job_does_not_kill_its_worker", "catch_unwind"),
                ("shutdown_counts_the_jobs_that_panicked", "catch_unwind"),
            ],
        );
    }

    #[test]
    fn returns_from_shutdown_without_joining() {
        assert_rejected(
            "no join",
            pool::checks(api::<{ pools::NO_JOIN }>()),
            &[
                (
                    "shutdown_waits_for_the_running_job",
                    "returned while a job was still running",
                ),
                (
                    "every_worker_has_ended_when_shutdown_returns",
                    "`join` each one",
                ),
            ],
        );
    }

    #[test]
    fn joins_the_workers_before_closing_the_channel() {
        assert_rejected(
            "join before drop",
            pool::checks(api::<{ pools::JOIN_BEFORE_DROP }>()),
            &[
                ("runs_every_job_it_accepts", "*before* you join them"),
                (
                    "shutdown_waits_for_the_running_job",
                    "*before* you join them",
                ),
            ],
        );
    }

    #[test]
    fn stops_its_workers_at_a_flag() {
        assert_rejected(
            "stop flag",
            pool::checks(api::<{ pools::STOP_FLAG }>()),
            &[(
                "jobs_still_queued_at_shutdown_run_too",
                "rather than stopping at a flag",
            )],
        );
    }

    #[test]
    fn keeps_taking_jobs_after_shutdown() {
        assert_rejected(
            "keeps the sender",
            pool::checks(api::<{ pools::KEEPS_SENDER }>()),
            &[("no_job_is_taken_after_shutdown", "still accepted jobs")],
        );
    }

    #[test]
    fn does_not_count_the_panics() {
        assert_rejected(
            "counts nothing",
            pool::checks(api::<{ pools::COUNTS_NOTHING }>()),
            &[("shutdown_counts_the_jobs_that_panicked", "count them")],
        );
    }

    #[test]
    fn accepts_zero_workers() {
        assert_rejected(
            "zero workers",
            pool::checks(api::<{ pools::ZERO_WORKERS }>()),
            &[("refuses_a_pool_without_workers", "InvalidInput")],
        );
    }

    #[test]
    fn holds_the_senders_lock_while_it_joins() {
        assert_rejected(
            "lock while joining",
            pool::checks(api::<{ pools::LOCK_WHILE_JOINING }>()),
            &[(
                "no_job_is_taken_after_shutdown",
                "does `shutdown` hold a lock that `submit` needs",
            )],
        );
    }

    #[test]
    fn wakes_only_one_waiting_worker_at_shutdown() {
        assert_rejected(
            "Condvar, notify_one at shutdown",
            pool::checks(pools::condvars::<{ pools::NOTIFY_ONE }>()),
            &[(
                "shutdown_ends_every_idle_worker",
                "the pool was closed, but not every worker ended",
            )],
        );
    }

    #[test]
    fn makes_a_queue_of_0_hold_one_job() {
        assert_rejected(
            "sync_channel(queue.max(1))",
            pool::checks(api::<{ pools::QUEUE_AT_LEAST_ONE }>()),
            &[("a_queue_of_0_holds_no_job", "as if its queue held 1")],
        );
    }

    #[test]
    fn counts_its_queue_without_the_idle_workers() {
        assert_rejected(
            "Condvar, jobs.len() <= queue",
            pool::checks(pools::condvars::<{ pools::QUEUE_PLUS_ONE }>()),
            &[
                ("a_queue_of_0_holds_no_job", "as if its queue held 1"),
                ("a_full_queue_is_busy_at_once", "the queue must be bounded"),
            ],
        );
    }

    #[test]
    fn reads_the_count_of_panics_before_joining() {
        assert_rejected(
            "count read before join",
            pool::checks(api::<{ pools::COUNT_BEFORE_JOIN }>()),
            &[(
                "jobs_that_panic_while_shutdown_waits_are_counted",
                "read the count only once every worker has ended",
            )],
        );
    }

    #[test]
    fn reads_the_count_of_panics_when_it_closes_the_pool() {
        assert_rejected(
            "Condvar, count read at close",
            pool::checks(pools::condvars::<{ pools::COUNT_AT_CLOSE }>()),
            &[(
                "jobs_that_panic_while_shutdown_waits_are_counted",
                "read the count only once every worker has ended",
            )],
        );
    }

    #[test]
    fn takes_the_last_job_queued_first() {
        assert_rejected(
            "a stack for a queue",
            pool::checks(pools::stack()),
            &[(
                "jobs_start_in_the_order_they_were_submitted",
                "`Vec::pop` takes the last one",
            )],
        );
    }
}

/// Wrong load clients. Each is the reference's shape with one mistake.
mod clients {
    use std::collections::HashMap;
    use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
    use std::net::{Shutdown, TcpStream};
    use std::thread;
    use std::time::Duration;

    use solutions::checks::shared::load::Report;

    fn send_all(server: &TcpStream, lines: &[String]) -> io::Result<()> {
        let mut out = BufWriter::new(server);
        for line in lines {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
        }
        out.flush()
    }

    /// How a wrong client sorts its replies.
    #[derive(Clone, Copy, PartialEq)]
    enum Sorting {
        Right,
        /// Every reply counts as a line back: no comparison.
        CountOnly,
        /// A whole line always counts as in order.
        IgnoreOrder,
        /// Reports only what came back.
        NothingLost,
        /// Counts every copy of a line as one back (no `!back[i]`).
        CountsCopies,
        /// A line is reordered if the reply just before it had a higher
        /// index (not the highest index back so far).
        ComparesWithThePrevious,
        /// A line is in order only if it is the next index expected: one
        /// more than the last line counted in order.
        ExpectsTheNextIndex,
    }

    /// Which timeouts a wrong client sets on the connection.
    #[derive(Clone, Copy, PartialEq)]
    enum Timeouts {
        Both,
        /// No read timeout: a silent server holds the reader for ever.
        WriteOnly,
        /// No write timeout: a server that stops reading holds the sender.
        ReadOnly,
        /// Both, but the sending thread's error is dropped.
        BothSendErrorDropped,
    }

    fn sort(replies: &[Vec<u8>], lines: &[String], sorting: Sorting) -> Report {
        let index: HashMap<&[u8], usize> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_bytes(), i))
            .collect();
        let mut back = vec![false; lines.len()];
        let mut latest = None;
        let mut previous = None;
        let mut report = Report::default();
        for reply in replies {
            if sorting == Sorting::CountOnly {
                if report.in_order < lines.len() {
                    back[report.in_order] = true;
                    report.in_order += 1;
                }
                continue;
            }
            match index.get(reply.as_slice()) {
                Some(&i) if !back[i] || sorting == Sorting::CountsCopies => {
                    back[i] = true;
                    let late = match sorting {
                        Sorting::IgnoreOrder => false,
                        Sorting::ComparesWithThePrevious => previous.is_some_and(|p| p > i),
                        Sorting::ExpectsTheNextIndex => i != latest.map_or(0, |l: usize| l + 1),
                        _ => latest.is_some_and(|l| l > i),
                    };
                    previous = Some(i);
                    if late {
                        report.reordered.push(i);
                    } else {
                        report.in_order += 1;
                        latest = Some(i);
                    }
                }
                _ => report
                    .torn
                    .push(String::from_utf8_lossy(reply).into_owned()),
            }
        }
        if sorting != Sorting::NothingLost {
            report.lost = (0..lines.len()).filter(|&i| !back[i]).collect();
        }
        report
    }

    /// How a wrong client reads.
    #[derive(Clone, Copy, PartialEq)]
    enum Reading {
        Right,
        /// Goes on until the server closes or the timeout passes.
        UntilClose,
        /// Takes each `read` for one or more whole replies.
        ReadIsReply,
        /// Takes any failed read, not only the timeout, for the end.
        AnyErrorEnds,
        /// Drops bytes left without a `\n` when the reading stops.
        DropsTheCutEnd,
        /// Asks whether every line is back only after each reply.
        ChecksAfterEachReply,
        /// `BufRead::split(b'\n')`, stopping after the reply that makes
        /// the count.
        SplitsTheStream,
    }

    fn read_replies(
        server: &TcpStream,
        lines: &[String],
        reading: Reading,
    ) -> io::Result<Vec<Vec<u8>>> {
        let mut replies = Vec::new();
        if reading == Reading::ReadIsReply {
            let mut buf = [0u8; 4096];
            while replies.len() < lines.len() {
                let n = match (&*server).read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        break;
                    }
                    Err(e) => return Err(e),
                };
                let chunk = buf[..n].strip_suffix(b"\n").unwrap_or(&buf[..n]);
                replies.extend(chunk.split(|b| *b == b'\n').map(<[u8]>::to_vec));
            }
            return Ok(replies);
        }
        if reading == Reading::SplitsTheStream {
            for reply in BufReader::new(server).split(b'\n') {
                match reply {
                    Ok(reply) => replies.push(reply),
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                    {
                        break;
                    }
                    Err(e) => return Err(e),
                }
                if replies.len() >= lines.len() {
                    break;
                }
            }
            return Ok(replies);
        }
        let mut reader = BufReader::new(server);
        loop {
            if !matches!(reading, Reading::UntilClose | Reading::ChecksAfterEachReply)
                && replies.len() >= lines.len()
            {
                break;
            }
            let mut reply = Vec::new();
            match reader.read_until(b'\n', &mut reply) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e)
                    if reading == Reading::AnyErrorEnds
                        || matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                {
                    break;
                }
                Err(e) => return Err(e),
            }
            if reply.last() == Some(&b'\n') {
                reply.pop();
            } else if reading == Reading::DropsTheCutEnd {
                break;
            }
            replies.push(reply);
            if reading == Reading::ChecksAfterEachReply && replies.len() >= lines.len() {
                break;
            }
        }
        Ok(replies)
    }

    /// The reference's shape (send on a thread, read here), with switches.
    fn client(
        server: TcpStream,
        lines: &[String],
        timeout: Duration,
        timeouts: Timeouts,
        shut_down_writing: bool,
        reading: Reading,
        sorting: Sorting,
    ) -> io::Result<Report> {
        if timeouts != Timeouts::WriteOnly {
            server.set_read_timeout(Some(timeout))?;
        }
        if timeouts != Timeouts::ReadOnly {
            server.set_write_timeout(Some(timeout))?;
        }
        let sender = server.try_clone()?;
        thread::scope(|s| {
            let sending = s.spawn(move || -> io::Result<()> {
                send_all(&sender, lines)?;
                if shut_down_writing {
                    sender.shutdown(Shutdown::Write)?;
                }
                Ok(())
            });
            let replies = read_replies(&server, lines, reading);
            let sent = sending.join().unwrap();
            if timeouts != Timeouts::BothSendErrorDropped {
                sent?;
            }
            Ok(sort(&replies?, lines, sorting))
        })
    }

    /// Sends everything first, then reads.
    pub fn sends_everything_first(
        server: TcpStream,
        lines: &[String],
        timeout: Duration,
    ) -> io::Result<Report> {
        server.set_read_timeout(Some(timeout))?;
        send_all(&server, lines)?;
        server.shutdown(Shutdown::Write)?;
        let replies = read_replies(&server, lines, Reading::Right)?;
        Ok(sort(&replies, lines, Sorting::Right))
    }

    pub fn counts_replies(
        server: TcpStream,
        lines: &[String],
        timeout: Duration,
    ) -> io::Result<Report> {
        client(
            server,
            lines,
            timeout,
            Timeouts::Both,
            true,
            Reading::Right,
            Sorting::CountOnly,
        )
    }

    pub fn ignores_the_order(
        server: TcpStream,
        lines: &[String],
        timeout: Duration,
    ) -> io::Result<Report> {
        client(
            server,
            lines,
            timeout,
            Timeouts::Both,
            true,
            Reading::Right,
            Sorting::IgnoreOrder,
        )
    }

    pub fn reports_nothing_lost(
        server: TcpStream,
        lines: &[String],
        timeout: Duration,
    ) -> io::Result<Report> {
        client(
            server,
            lines,
            timeout,
            Timeouts::Both,
            true,
            Reading::Right,
            Sorting::NothingLost,
        )
    }

    pub fn takes_a_read_for_a_reply(
        server: TcpStream,
        lines: &[String],
        timeout: Duration,
    ) -> io::Result<Report> {
        client(
            server,
            lines,
            timeout,
            Timeouts::Both,
            true,
            Reading::ReadIsReply,
            Sorting::Right,
        )
    }

    pub fn reads_until_the_server_closes(
        server: TcpStream,
        lines: &[String],
        timeout: Duration,
    ) -> io::Result<Report> {
        client(
            server,
            lines,
            timeout,
            Timeouts::Both,
            true,
            Reading::UntilClose,
            Sorting::Right,
        )
    }

    pub fn has_no_read_timeout(
        server: TcpStream,
        lines: &[String],
        timeout: Duration,
    ) -> io::Result<Report> {
        client(
            server,
            lines,
            timeout,
            Timeouts::WriteOnly,
            true,
            Reading::Right,
            Sorting::Right,
        )
    }

    /// cargo-mutants' survivor: `Err(e) if is_timeout(&e)` made `Err(_)`.
    pub fn ends_quietly_at_any_read_error(
        server: TcpStream,
        lines: &[String],
        timeout: Duration,
    ) -> io::Result<Report> {
        client(
            server,
            lines,
            timeout,
            Timeouts::Both,
            true,
            Reading::AnyErrorEnds,
            Sorting::Right,
        )
    }

    pub fn counts_every_copy_of_a_line(
        server: TcpStream,
        lines: &[String],
        timeout: Duration,
    ) -> io::Result<Report> {
        client(
            server,
            lines,
            timeout,
            Timeouts::Both,
            true,
            Reading::Right,
            Sorting::CountsCopies,
        )
    }

    pub fn drops_a_cut_last_reply(
        server: TcpStream,
        lines: &[String],
        timeout: Duration,
    ) -> io::Result<Report> {
        client(
            server,
            lines,
            timeout,
            Timeouts::Both,
            true,
            Reading::DropsTheCutEnd,
            Sorting::Right,
        )
    }

    pub fn compares_with_the_previous_reply(
        server: TcpStream,
        lines: &[String],
        timeout: Duration,
    ) -> io::Result<Report> {
        client(
            server,
            lines,
            timeout,
            Timeouts::Both,
            true,
            Reading::Right,
            Sorting::ComparesWithThePrevious,
        )
    }

    pub fn expects_the_next_index(
        server: TcpStream,
        lines: &[String],
        timeout: Duration,
    ) -> io::Result<Report> {
        client(
            server,
            lines,
            timeout,
            Timeouts::Both,
            true,
            Reading::Right,
            Sorting::ExpectsTheNextIndex,
        )
    }

    pub fn has_no_write_timeout(
        server: TcpStream,
        lines: &[String],
        timeout: Duration,
    ) -> io::Result<Report> {
        client(
            server,
            lines,
            timeout,
            Timeouts::ReadOnly,
            true,
            Reading::Right,
            Sorting::Right,
        )
    }

    pub fn drops_the_senders_error(
        server: TcpStream,
        lines: &[String],
        timeout: Duration,
    ) -> io::Result<Report> {
        client(
            server,
            lines,
            timeout,
            Timeouts::BothSendErrorDropped,
            true,
            Reading::Right,
            Sorting::Right,
        )
    }

    pub fn checks_for_the_last_line_after_each_reply(
        server: TcpStream,
        lines: &[String],
        timeout: Duration,
    ) -> io::Result<Report> {
        client(
            server,
            lines,
            timeout,
            Timeouts::Both,
            true,
            Reading::ChecksAfterEachReply,
            Sorting::Right,
        )
    }

    pub fn splits_the_stream_into_replies(
        server: TcpStream,
        lines: &[String],
        timeout: Duration,
    ) -> io::Result<Report> {
        client(
            server,
            lines,
            timeout,
            Timeouts::Both,
            true,
            Reading::SplitsTheStream,
            Sorting::Right,
        )
    }

    pub fn never_shuts_down_writing(
        server: TcpStream,
        lines: &[String],
        timeout: Duration,
    ) -> io::Result<Report> {
        client(
            server,
            lines,
            timeout,
            Timeouts::Both,
            false,
            Reading::Right,
            Sorting::Right,
        )
    }
}

mod load_client_is_rejected_when_it {
    use super::*;

    #[test]
    fn sends_every_line_before_reading_any_reply() {
        assert_rejected(
            "sends everything first",
            load::checks(clients::sends_everything_first),
            &[(
                "thousands_of_lines_do_not_deadlock",
                "Do you send every line before you read any reply?",
            )],
        );
    }

    #[test]
    fn counts_the_replies_without_comparing_them() {
        assert_rejected(
            "counts replies",
            load::checks(clients::counts_replies),
            &[
                (
                    "a_reply_with_the_wrong_bytes_is_torn_even_when_the_count_is_right",
                    "Counting replies is not checking them",
                ),
                ("a_line_the_server_drops_is_reported_lost", "is lost"),
            ],
        );
    }

    #[test]
    fn ignores_the_order_of_the_replies() {
        assert_rejected(
            "ignores the order",
            load::checks(clients::ignores_the_order),
            &[(
                "two_lines_swapped_are_reported_reordered",
                "it is reordered",
            )],
        );
    }

    #[test]
    fn reports_only_what_came_back() {
        assert_rejected(
            "reports nothing lost",
            load::checks(clients::reports_nothing_lost),
            &[
                ("a_line_the_server_drops_is_reported_lost", "is lost"),
                ("a_line_cut_in_two_is_reported_torn_and_lost", "is lost"),
            ],
        );
    }

    #[test]
    fn takes_each_read_for_a_reply() {
        assert_rejected(
            "a read is a reply",
            load::checks(clients::takes_a_read_for_a_reply),
            &[(
                "a_reply_that_arrives_in_pieces_is_still_whole",
                "TCP is a byte stream",
            )],
        );
    }

    #[test]
    fn reads_until_the_server_closes() {
        assert_rejected(
            "reads until close",
            load::checks(clients::reads_until_the_server_closes),
            &[(
                "stops_reading_once_every_line_is_back",
                "without waiting for the server to close",
            )],
        );
    }

    #[test]
    fn has_no_read_timeout() {
        assert_rejected(
            "no read timeout",
            load::checks(clients::has_no_read_timeout),
            &[(
                "a_silent_server_ends_the_run_within_the_timeout",
                "Set a read timeout",
            )],
        );
    }

    #[test]
    fn ends_quietly_when_a_read_fails() {
        assert_rejected(
            "any read error ends the reading",
            load::checks(clients::ends_quietly_at_any_read_error),
            &[(
                "a_reset_connection_is_returned_as_the_error",
                "it is the error to return",
            )],
        );
    }

    #[test]
    fn counts_a_line_that_came_back_twice_twice() {
        assert_rejected(
            "every copy counts",
            load::checks(clients::counts_every_copy_of_a_line),
            &[(
                "a_line_that_comes_back_twice_is_torn_the_second_time",
                "a second copy of a line already back is no line of its own",
            )],
        );
    }

    #[test]
    fn drops_bytes_left_without_a_newline() {
        assert_rejected(
            "drops a cut last reply",
            load::checks(clients::drops_a_cut_last_reply),
            &[(
                "a_last_reply_cut_short_by_the_close_is_torn",
                "are a reply too",
            )],
        );
    }

    #[test]
    fn compares_each_line_with_the_previous_reply_only() {
        assert_rejected(
            "compares with the previous reply",
            load::checks(clients::compares_with_the_previous_reply),
            &[(
                "lines_that_overtake_several_others_are_each_reordered",
                "not only the reply just before it",
            )],
        );
    }

    #[test]
    fn expects_each_line_to_be_the_next_index() {
        assert_rejected(
            "expects the next index",
            load::checks(clients::expects_the_next_index),
            &[
                (
                    "lines_that_overtake_several_others_are_each_reordered",
                    "not only the reply just before it",
                ),
                (
                    "two_lines_swapped_are_reported_reordered",
                    "it is reordered",
                ),
            ],
        );
    }

    #[test]
    fn has_a_read_timeout_but_no_write_timeout() {
        assert_rejected(
            "no write timeout",
            load::checks(clients::has_no_write_timeout),
            &[(
                "a_server_that_stops_reading_makes_the_write_fail_within_the_timeout",
                "a write with no time limit waits for ever",
            )],
        );
    }

    #[test]
    fn drops_the_error_of_its_sending_thread() {
        assert_rejected(
            "drops the sender's error",
            load::checks(clients::drops_the_senders_error),
            &[(
                "a_server_that_stops_reading_makes_the_write_fail_within_the_timeout",
                // Then "Is the sending side's error dropped?"; on a loaded
                // machine the stall may outlast the check's wait instead.
                "the writes made no progress",
            )],
        );
    }

    #[test]
    fn asks_whether_every_line_is_back_only_after_a_reply() {
        assert_rejected(
            "checks after each reply",
            load::checks(clients::checks_for_the_last_line_after_each_reply),
            &[(
                "no_lines_end_the_run_at_once",
                "made only after a read, rather than before each one",
            )],
        );
    }

    #[test]
    fn takes_replies_from_split_until_the_count_is_reached() {
        assert_rejected(
            "split until the count",
            load::checks(clients::splits_the_stream_into_replies),
            &[(
                "no_lines_end_the_run_at_once",
                "made only after a read, rather than before each one",
            )],
        );
    }

    #[test]
    fn never_shuts_down_its_writing() {
        assert_rejected(
            "never shuts down writing",
            load::checks(clients::never_shuts_down_writing),
            &[(
                "sends_each_line_once_and_then_shuts_down_writing",
                "shutdown(Shutdown::Write)",
            )],
        );
    }
}

/// A pool of another design than the reference's, without mistakes: the
/// checks judge what a pool does, not how it is built.
mod other_designs {
    use super::pools;
    use super::*;

    #[test]
    fn a_pool_built_from_a_condvar_passes_every_check() {
        let failed = solutions::checks::runner::failures(pool::checks(pools::condvars::<0>()));
        assert!(
            failed.is_empty(),
            "a right Condvar pool failed: {failed:#?}"
        );
    }
}
