//! Exercise 10, `event_loop`: what the connection tells the loop.

// ANCHOR: interest
/// What a connection waits for next: `READABLE`, `WRITABLE`, or both
/// (`Interest::READABLE | Interest::WRITABLE`). mio's own type: the loop
/// hands it to `Registry::reregister` as it is.
pub use mio::Interest;
// ANCHOR_END: interest
