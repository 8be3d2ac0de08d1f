//! Exercise 03 (lesson 03): answer each line reversed, the right way.
//!
//! Write [`reverse_lines`], the part of lesson 03's server that talks to one
//! client. For every line the client sends, reply with the line's
//! *characters* in reverse order, followed by `\n`:
//! - a line is everything up to `\n`; a `\r` just before it is not part of
//!   the line (telnet and Windows send `\r\n`). Spaces at the start or end
//!   of a line are characters like any other, and an empty line gets an empty
//!   reply (just `\n`);
//! - TCP is a byte stream: one line may arrive in several pieces, several
//!   lines may arrive in one piece, and a piece may even end in the middle
//!   of a multi-byte character. Each complete line gets exactly one reply,
//!   and only once its `\n` has arrived;
//! - reverse characters, not bytes: `héllo` becomes `olléh`;
//! - a line that is not UTF-8 gets a reply starting with `error:`, and the
//!   next line is served as usual;
//! - the limit, [`MAX_LINE`], counts bytes (not characters), before the `\n`
//!   (a `\r` of a `\r\n` counts among them, as in `lessons::framing`): a
//!   line of exactly `MAX_LINE` bytes is answered; once `MAX_LINE + 1` bytes
//!   have come without a `\n`, the line is too long. Do not wait for its
//!   `\n` (a client may never send one): reply with a line starting with
//!   `error:`, then close the connection. Never read more than `MAX_LINE + 1`
//!   bytes looking for the end of a line;
//! - when the client closes the connection, return `Ok(())`;
//! - the checks also run again through lesson 09's proxy, once with every
//!   byte arriving on its own (`--slice 1`) and once with separate messages
//!   merged into one write (`--merge`). Code that takes one `read`
//!   for one message passes on loopback and fails there, with a message
//!   that says so.
//!
//! You may use `lessons::framing` from lesson 03. Run it with `cargo run -p
//! exercises --bin reverse_server` (the accept loop is written for you) and
//! `nc 127.0.0.1 2002`. Check it with `cargo test -p exercises reverse`.
//! Hints: `exercises/src/reverse.hints.md`. Time: about 30 minutes.

use std::io;
use std::net::TcpStream;

// ANCHOR: task
/// The longest line accepted: 1024 bytes before the `\n` (defined in
/// `exercises/crates/checks/src/shared/reverse.rs`, because the checks probe it).
pub use checks::shared::reverse::MAX_LINE;

/// Answers every line `client` sends with the line reversed by characters,
/// until the client closes the connection.
pub fn reverse_lines(client: TcpStream) -> io::Result<()> {
    todo!("exercise 03: write reverse_lines in exercises/src/reverse.rs")
}
// ANCHOR_END: task
