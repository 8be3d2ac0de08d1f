//! Exercise 02a (lesson 02, the original's first hands-on exercise): a client
//! that sends what the user types until the user types `exit`.
//!
//! Write [`run_client`]: read `input` line by line. For each line, send it to
//! the server followed by `\n`, read the server's one-line reply, and write
//! that reply to `output` followed by `\n`. Stop when:
//! - the user types `exit`: return `Ok(())` *without* sending it;
//! - the input ends (Ctrl-D, or the end of a piped file): return `Ok(())`;
//! - the server closes the connection instead of replying: return an `Err`
//!   (say `io::ErrorKind::UnexpectedEof`), and print nothing for that reply.
//!
//! What the checks hold you to (the course's decisions):
//! - `exit` is the line with the spaces around it removed (`line.trim()`)
//!   being exactly `exit`, in lower case. So `  exit ` stops the client (a
//!   stray space is still a clear wish to leave), but `Exit`, `EXIT`,
//!   `exiting`, `exit now` and `the exit` are ordinary messages, and are sent;
//! - every other line is sent as it was typed, without its line end (`\n`, or
//!   `\r\n` from Windows): spaces at its start or end stay, an empty line is
//!   sent too (as just `\n`) and gets a reply, and a last line with no line end
//!   is still a line;
//! - a person waits for each reply before typing the next line, and the
//!   checks do too: print the reply (and flush, if your output is buffered)
//!   before reading the next line. The output shows what a terminal shows: a
//!   line once its `\n` is written. Print only the replies, no prompt;
//! - the server answers a little late, sometimes in two pieces, and stays
//!   connected after answering: read one line, up to its `\n`;
//! - the checks also run again through lesson 09's proxy, once with every
//!   byte arriving on its own (`--slice 1`) and once with separate messages
//!   merged into one write (`--merge`). Code that takes one `read` for one
//!   message passes on loopback and fails there, with a message that says
//!   so. A reply with an accent (`café`), whose two bytes then arrive
//!   apart, must still be printed whole: decode whole lines, not pieces.
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
