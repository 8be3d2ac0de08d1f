//! Exercise 08 (lesson 08): a load client that checks every reply.
//!
//! Lesson 08's load generator does not trust a server: it checks that every
//! line came back, whole and in order. Write [`run_load`]: send every line
//! of `lines` to an echo server over `server`, read what comes back, and
//! report in a [`Report`] what was wrong. The checks hold you to these
//! rules:
//! - Send each line followed by `\n`, in order. The lines contain no `\n`
//!   and no two are the same.
//! - Keep reading while you send: a server echoes as it reads, and once its
//!   replies fill the connection's buffers it stops reading until you read
//!   them. A client that sends everything before it reads anything then
//!   waits for ever: the checks send 20 000 lines of 1 KiB, more than a
//!   connection holds.
//! - A reply is everything up to a `\n`, however it was cut into pieces on
//!   the way. (Bytes left without a `\n` when reading stops are a reply
//!   too.) Compare each reply with the lines, byte for byte:
//!   - a reply that is a line still awaited came back *whole*: it counts in
//!     `in_order` if no line sent after it has come back yet, else its
//!     index goes into `reordered`;
//!   - any other reply (a piece of a line, two lines run together, mixed
//!     bytes, a line that came back twice) goes into `torn`, as received.
//! - Stop reading when every line has come back whole, or the server closes
//!   the connection, or nothing arrives for `timeout`. Every line that has
//!   not come back whole by then is `lost` (by index, in the order sent), so
//!   `in_order + reordered.len() + lost.len()` is the number of lines.
//! - After the last line, shut down your side's writing
//!   (`shutdown(Shutdown::Write)`), so the server knows that nothing more is
//!   coming, but keep reading: a server may hold its last reply until it
//!   has read the end of your stream.
//! - `timeout` bounds both directions. A read that waits `timeout` for
//!   nothing ends the run normally (the lines still missing are `lost`). A
//!   write that makes no progress for `timeout` means the server has stopped
//!   reading: that write has failed, and a failed write or read is returned
//!   as the error (a timed-out one has the kind `WouldBlock` on Unix and
//!   `TimedOut` on Windows: `lessons::cli::is_timeout` knows both). Without
//!   a write timeout, a server that never reads blocks your sender for ever
//!   once the connection's buffers are full. Never panic.
//!
//! Run it with `cargo run -p exercises --bin load -- --addr 127.0.0.1:PORT
//! --lines 10000` against an echo server (`cargo run -p solutions --bin
//! echo_server` listens on 127.0.0.1:65432, the default). Check it with
//! `cargo test -p exercises load`. Hints: `exercises/src/load.hints.md`, or
//! one at a time with `cargo run -p exercises -- hint load`. Time: about 40
//! minutes.

use std::io;
use std::net::TcpStream;
use std::time::Duration;

// ANCHOR: task
/// What the run saw (defined in `exercises/crates/checks/src/shared/load.rs`, because
/// the checks compare it with what they expect).
pub use checks::shared::load::Report;

/// Sends every line to the echo server and reports what came back wrong.
pub fn run_load(server: TcpStream, lines: &[String], timeout: Duration) -> io::Result<Report> {
    todo!("exercise 08: write run_load in exercises/src/load.rs")
}
// ANCHOR_END: task
