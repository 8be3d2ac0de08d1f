//! Exercise 05 (lesson 05): one console, many clients.
//!
//! In the original multi-client server every client's thread read the one
//! console, so nobody could choose which client they were talking to. The
//! fix: one thread, the *room*, owns the writing half of every client's
//! connection. Everything that happens reaches it as an [`Event`] on a
//! channel, in order: a client joins, a client leaves, the console typed a
//! line. Nobody else writes to a client, so nobody needs a lock.
//!
//! Write [`run_room`]. For every event, in order:
//! - `Joined`: remember the client's stream under its id;
//! - `Left`: forget that client (an id the room does not know, or has
//!   forgotten already, is no error);
//! - `Console(line)`:
//!   - `/to N text` sends `[server] text` followed by `\n` to client N only.
//!     N is the whole number (`/to 12 hi` is for client 12), and the text is
//!     everything after the one space that follows N, exactly as typed;
//!   - `/to` without a number, or without a text (`/to x hi`, `/to 2`,
//!     `/to`), is a usage error;
//!   - any other line starting with `/` is an unknown command. Commands are
//!     case-sensitive: `/To 1 hi` is an unknown command, not a message;
//!   - any other line is sent as `[server] line` followed by `\n` to every
//!     client, exactly as typed: spaces at its start or end stay, and an
//!     empty line is sent too (as `[server] `);
//!   - problems are reported as one line on `console` (ending with `\n`)
//!     starting with `error:`, which names what is wrong: `error: no client
//!     #7`, `error: unknown command /kick`, `error: usage: /to N text`.
//!     Nothing goes to the clients then.
//!
//! A write to a client can fail (it vanished without a `Left`; its `Left`
//! may come later): forget that client, maybe say so on `console`, and carry
//! on with the others. Return `Ok(())` when the channel closes (every
//! `Sender` is gone).
//!
//! Run it with `cargo run -p exercises --bin console_router` (the accept
//! loop and the console thread are written for you), connect with `nc
//! 127.0.0.1 6666` from two terminals, and type `/to 1 hi` in the server's.
//! Check it with `cargo test -p exercises console_router`. Hints:
//! `exercises/src/console_router.hints.md`. Time: about 40 minutes.

use std::io::{self, Write};
use std::sync::mpsc::Receiver;

// ANCHOR: task
/// What the room hears about, in the order it happened (defined in
/// `exercises/crates/checks/src/shared/console_router.rs`, because the checks send
/// you these).
pub use checks::shared::console_router::Event;

/// Routes console lines to the clients, until every sender is gone.
pub fn run_room<W: Write>(events: Receiver<Event>, console: W) -> io::Result<()> {
    todo!("exercise 05: write run_room in exercises/src/console_router.rs")
}
// ANCHOR_END: task
