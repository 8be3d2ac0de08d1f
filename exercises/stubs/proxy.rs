//! Exercise 09 (lesson 09): the forwarding core of a proxy.
//!
//! Lesson 09's proxy accepts a client, connects to the server, and then
//! forwards every byte both ways until the connection is over. Write that
//! last part: [`forward`] gets the proxy's two sockets, `client` (the
//! accepted connection) and `server` (the one the proxy opened). The checks
//! play the client and the server, and hold you to these rules:
//! - both directions at once: what the client sends reaches the server and
//!   what the server sends reaches the client, as it comes, unchanged, even
//!   while the other side is silent, and even when both sides send a lot at
//!   the same time. One thread per direction: `thread::scope` lets both
//!   borrow the two sockets (`&TcpStream` is `Read` and `Write`).
//! - every byte, and only those: write all of what each read returned
//!   (`write_all`, not `write`; `&buf[..n]`, not the whole buffer), up to
//!   the last bytes before the end of the stream. They are bytes, not text:
//!   a read may end inside a UTF-8 character, and a stream may carry bytes
//!   that are no UTF-8 at all. A connection may also carry no byte at all.
//! - when a read returns 0, its sender has finished (a half-close or a
//!   close): pass it on with `shutdown(Shutdown::Write)` on the socket that
//!   direction writes to, and nothing more. The other direction goes on:
//!   its sender may still answer, late and in pieces.
//! - once both directions have ended that way, return `Ok(())`.
//! - an error on either side (a reset, a failed write) closes both:
//!   `shutdown(Shutdown::Both)` on both sockets, so that each peer sees the
//!   end and the other direction ends too (on Linux its blocked read
//!   returns at once; elsewhere when its peer closes in turn). Then return
//!   that error.
//! - never panic.
//!
//! Run it with `cargo run -p exercises --bin proxy -- --to 127.0.0.1:2002`
//! in front of lesson 03's server (`cargo run --example 03_reverse_server`),
//! and connect to it with `nc 127.0.0.1 9000`. Check it with `cargo test -p
//! exercises proxy`. Hints: `exercises/src/proxy.hints.md`, or one at a time
//! with `cargo run -p exercises -- hint proxy`. Time: about 30 minutes.

use std::io;
use std::net::TcpStream;

// ANCHOR: task
/// Forwards everything between `client` and `server`, both ways at once,
/// until both directions have ended (`Ok(())`) or an error on one side has
/// closed both (that error).
pub fn forward(client: TcpStream, server: TcpStream) -> io::Result<()> {
    todo!("exercise 09: write forward in exercises/src/proxy.rs")
}
// ANCHOR_END: task
