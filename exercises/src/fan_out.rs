//! Exercise 06 (lesson 06): one client, several servers, with timeouts.
//!
//! Write [`ask_all`]: ask every server of `servers` the same one-line
//! `question` and collect their one-line answers:
//! - ask them all *at the same time*, one thread per server, so the slowest
//!   server, not the sum of all of them, decides how long it takes;
//! - send `question` followed by `\n`; the answer is the first line the
//!   server sends back, without its `\n` (or `\r\n`). Servers stay connected
//!   after answering, may answer late or in pieces, and may say more after
//!   the first line: read one line, up to its `\n`;
//! - slot `i` of the result is server `i`'s answer: the order of `servers`,
//!   whatever order the answers arrive in;
//! - a server that refuses the connection, does not answer within `timeout`,
//!   or closes without answering gets an `Err` in its slot (never an empty
//!   `Ok`). It must not hold up the others, nor make `ask_all` take much
//!   longer than `timeout`, nor panic;
//! - `timeout` is for the whole exchange with one server: connecting,
//!   sending and reading, together. A read timeout alone does not do it: it
//!   starts again with every read that brings a byte, so a server that sends
//!   one byte every 100 ms, never a `\n`, would hold you for ever (the checks
//!   have such a server). Keep one deadline (`lessons::deadline`).
//! - the checks also run again through lesson 09's proxy, once with every
//!   byte arriving on its own (`--slice 1`) and once with separate messages
//!   merged into one write (`--merge`). Code that takes one `read`
//!   for one message passes on loopback and fails there, with a message
//!   that says so.
//!
//! Run it with `cargo run -p exercises --bin fan_out -- --addr A --addr B`
//! against the course's servers (e.g. two `cargo run -p solutions --bin
//! echo_server -- --addr 127.0.0.1:0`). Check it with `cargo test -p
//! exercises fan_out`. Hints: `exercises/src/fan_out.hints.md`.
//! Time: about 30 minutes.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

// ANCHOR: task
/// Asks every server `question` at once; returns their answers in order.
pub fn ask_all(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    todo!("exercise 06: write ask_all in exercises/src/fan_out.rs")
}
// ANCHOR_END: task
