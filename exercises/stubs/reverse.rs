//! Exercise 03 (lesson 03): answer each line reversed, the right way.
//!
//! Write [`reverse_lines`], the part of lesson 03's server that talks to one
//! client. For every line the client sends, reply with the line's
//! *characters* in reverse order, followed by `\n`:
//! - a line is everything up to `\n`; a `\r` just before it is not part of
//!   the line (telnet and Windows send `\r\n`);
//! - TCP is a byte stream: one line may arrive in several pieces, several
//!   lines may arrive in one piece, and a piece may even end in the middle
//!   of a multi-byte character. Each complete line gets exactly one reply;
//! - reverse characters, not bytes: `héllo` becomes `olléh`;
//! - a line that is not UTF-8 gets a reply starting with `error:`, and the
//!   next line is served as usual;
//! - a line longer than [`MAX_LINE`] bytes gets a reply starting with
//!   `error:`, then the connection is closed (never read more than
//!   `MAX_LINE + 1` bytes looking for the end of a line);
//! - when the client closes the connection, return `Ok(())`.
//!
//! You may use `lessons::framing` from lesson 03. Run it with `cargo run -p
//! exercises --bin reverse_server` (the accept loop is written for you) and
//! `nc 127.0.0.1 2002`. Check it with `cargo test -p exercises reverse`.
//! Hints: `exercises/src/reverse.hints.md`. Time: about 30 minutes.

use std::io;
use std::net::TcpStream;

// ANCHOR: task
/// The longest line accepted, in bytes (without its line end).
pub const MAX_LINE: usize = 1024;

/// Answers every line `client` sends with the line reversed by characters,
/// until the client closes the connection.
pub fn reverse_lines(client: TcpStream) -> io::Result<()> {
    todo!("exercise 03: write reverse_lines in exercises/src/reverse.rs")
}
// ANCHOR_END: task
