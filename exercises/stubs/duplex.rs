//! Exercise 04 (lesson 04): full duplex, both directions at once.
//!
//! The original chat client waits for the keyboard, then for the network,
//! then for the keyboard again: while you think, the other side cannot be
//! heard. Write [`chat`]: copy everything from `input` to `peer` *and*
//! everything from `peer` to `output`, at the same time.
//!
//! What the checks hold you to:
//! - bytes pass through unchanged, both ways: no framing, no prefix, no line
//!   end added or removed (a `\r`, or a last line without `\n`, stays as it
//!   is), no decoding (a character cut between two reads, or bytes that are
//!   not UTF-8, pass as they came);
//! - what the peer sends appears on `output` at once, even while the user
//!   types nothing, and even half a line: the checks' output shows what a
//!   terminal shows (a line once its `\n` is written, the rest once it is
//!   flushed), so flush `output` after each write;
//! - what the user types reaches the peer at once, even while the peer says
//!   nothing;
//! - each direction ends on its own, as in lesson 04. When `input` ends,
//!   tell the peer with `shutdown(Shutdown::Write)`, and keep showing what
//!   the peer sends: it may still have things to say (the checks' peer
//!   answers a few hundred milliseconds later). When the peer's stream ends
//!   (a read returns 0), that says only that it will send nothing more: it
//!   may still read, so keep sending what is typed until `input` ends;
//! - `chat` returns `Ok(())` once both directions are done;
//! - on an error (the connection breaks, `output` fails), call
//!   `shutdown(Shutdown::Both)`, so that the peer is told at once even while
//!   the keyboard thread is still waiting for a key, and return the error
//!   without waiting for that thread;
//! - the checks also run again through lesson 09's proxy, once with every
//!   byte arriving on its own (`--slice 1`) and once with separate messages
//!   merged into one write (`--merge`). Code that takes one `read`
//!   for one message passes on loopback and fails there, with a message
//!   that says so.
//!
//! Run it with `cargo run -p exercises --bin chat -- --addr 127.0.0.1:PORT`
//! against any line server, e.g. `nc -l 127.0.0.1 12345` in another terminal.
//! Check it with `cargo test -p exercises duplex`. Hints:
//! `exercises/src/duplex.hints.md`. Time: about 30 minutes.

use std::io::{self, Read, Write};
use std::net::TcpStream;

// ANCHOR: task
/// Copies `input` to `peer` and `peer` to `output` at the same time. Each
/// direction ends on its own; returns once both have, or at the first error.
///
/// `input` is `Send + 'static` so it can be moved to a thread of its own: a
/// read from a keyboard cannot be interrupted, so after an error that thread
/// may still be waiting for a key when `chat` returns (the program then
/// simply exits).
pub fn chat<R, W>(input: R, output: W, peer: TcpStream) -> io::Result<()>
where
    R: Read + Send + 'static,
    W: Write,
{
    todo!("exercise 04: write chat in exercises/src/duplex.rs")
}
// ANCHOR_END: task
