//! Exercise 07, `pool`: what a job is, and why a pool refuses one.

// ANCHOR: pool
/// A job for the pool: any code that can be sent to another thread and
/// run there once.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// Why `Pool::submit` gave a job back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Every worker is busy and `queue` jobs already wait: try later.
    Busy,
    /// The pool is shutting down, or has shut down.
    ShutDown,
}
// ANCHOR_END: pool
