//! Exercise 04 (lesson 04): full duplex, both directions at once.
//!
//! The original chat client waits for the keyboard, then for the network,
//! then for the keyboard again: while you think, the other side cannot be
//! heard. Write [`chat`]: copy everything from `input` to `peer` *and*
//! everything from `peer` to `output`, at the same time:
//! - bytes pass through unchanged (no framing, no prefix);
//! - what the peer sends appears on `output` at once, even while the user
//!   types nothing: flush `output` after each write;
//! - when `input` ends, tell the peer with `shutdown(Shutdown::Write)`, but
//!   keep copying from the peer: it may still have things to say;
//! - when the peer closes the connection, return `Ok(())`, even if the user
//!   is still in the middle of typing.
//!
//! Run it with `cargo run -p exercises --bin chat -- --addr 127.0.0.1:PORT`
//! against any line server, e.g. `nc -l 127.0.0.1 12345` in another terminal.
//! Check it with `cargo test -p exercises duplex`. Hints:
//! `exercises/src/duplex.hints.md`. Time: about 30 minutes.

use std::io::{self, Read, Write};
use std::net::TcpStream;

// ANCHOR: task
/// Copies `input` to `peer` and `peer` to `output` at the same time, and
/// returns when the peer closes the connection.
///
/// `input` is `Send + 'static` so it can be moved to a thread of its own: a
/// read from a keyboard cannot be interrupted, so that thread may still be
/// waiting for a key when `chat` returns (the program then simply exits).
pub fn chat<R, W>(input: R, output: W, peer: TcpStream) -> io::Result<()>
where
    R: Read + Send + 'static,
    W: Write,
{
    todo!("exercise 04: write chat in exercises/src/duplex.rs")
}
// ANCHOR_END: task
