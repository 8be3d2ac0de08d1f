//! Lesson 10: one thread, many sockets.
//!
//! Lesson 03's reverse server gives every client a thread of its own, which
//! waits in `read` until the client sends. Here the same protocol (the same
//! framing, line limit, UTF-8 rules, messages and flags) is served twice more
//! without a thread per client:
//!
//! | module | model | waits in |
//! |---|---|---|
//! | [`event_loop`] | one thread, non-blocking sockets, an explicit state machine per connection | `mio::Poll::poll`: "which sockets are ready?" |
//! | [`tasks`] | async tasks on a Tokio runtime; the compiler writes the state machine | `.await` |
//!
//! The end-to-end tests run lesson 03's tests and fault tests against all
//! three servers.
#![forbid(unsafe_code)]

pub mod event_loop;
pub mod tasks;

use std::time::Duration;

use lessons::{cli, reverse};

/// How the servers of this lesson treat what a client sends: lesson 03's
/// settings, and one more to show what a blocking call costs here.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// The longest line accepted, in bytes.
    pub max_line: usize,
    /// Reproduce the original: reverse the bytes of whatever one `read` returned.
    pub raw: bool,
    /// Drop a client that takes longer than this to send a whole line, or
    /// to take its replies. `None` waits forever.
    pub idle_timeout: Option<Duration>,
    /// A blocking call on purpose: sleep this long (`std::thread::sleep`)
    /// after each line. Zero in normal use.
    pub block: Duration,
}

/// Replies queued for one client beyond which the servers stop reading
/// from it until the client has taken some: back-pressure. Without it, a
/// client that sends and never reads would make the server queue replies
/// until memory runs out.
pub const REPLY_QUEUE_LIMIT: usize = 64 * 1024;

// ANCHOR: args
/// The flags of lesson 03's server, which both servers of this lesson take,
/// and one more.
#[derive(clap::Args)]
pub struct Flags {
    #[command(flatten)]
    pub reverse: reverse::ServerArgs,

    /// A mistake, on purpose: after each line, block the serving thread
    /// for this many milliseconds (0 to 10 000) with `std::thread::sleep`,
    /// and watch every other client wait.
    #[arg(long, value_name = "MS", default_value_t = 0,
          value_parser = cli::count(0..=10_000), allow_negative_numbers = true)]
    pub block_ms: usize,
}
// ANCHOR_END: args

impl Flags {
    /// The settings the flags ask for.
    pub fn config(&self) -> Config {
        let reverse = self.reverse.config();
        Config {
            max_line: reverse.max_line,
            raw: reverse.raw,
            idle_timeout: reverse.idle_timeout,
            block: Duration::from_millis(self.block_ms as u64),
        }
    }
}
