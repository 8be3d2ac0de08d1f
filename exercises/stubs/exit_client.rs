//! Exercise 02a (lesson 02, the original's first hands-on exercise): a client
//! that sends what the user types until the user types `exit`.
//!
//! Write [`run_client`]: read `input` line by line. For each line, send it
//! to the server followed by `\n`, read the server's one-line reply, and
//! write that reply to `output` followed by `\n`. Stop when:
//! - the user types `exit`: return `Ok(())` *without* sending it;
//! - the input ends (Ctrl-D, or the end of a piped file): return `Ok(())`.
//!
//! What counts as `exit` (the course's decision, and the checks hold you to
//! it): the line with the spaces around it removed (`line.trim()`) is exactly
//! `exit`. So `  exit ` stops the client (a stray space is still a clear
//! wish to leave, and a Windows `\r\n` line end leaves a `\r` behind), but
//! `exiting`, `exit now` and `the exit` are ordinary messages and are sent.
//! Other lines are sent as typed, without their line end.
//!
//! The input and output are generic, so the checks can type lines and read
//! what you print without a terminal; `cargo run -p exercises --bin
//! exit_client -- --addr 127.0.0.1:PORT` runs it with your keyboard and
//! screen. Check it with `cargo test -p exercises exit_client`. Hints:
//! `exercises/src/exit_client.hints.md`. Time: about 20 minutes.

use std::io::{self, BufRead, Write};
use std::net::TcpStream;

// ANCHOR: task
/// Sends each line of `input` to `server` and writes each reply to `output`,
/// until a line is `exit` (never sent) or the input ends.
pub fn run_client<R: BufRead, W: Write>(input: R, output: W, server: TcpStream) -> io::Result<()> {
    todo!("exercise 02a: write run_client in exercises/src/exit_client.rs")
}
// ANCHOR_END: task
