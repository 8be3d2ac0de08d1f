//! Reference answer to exercise 03: answer each line reversed, the right
//! way. The task is described in `exercises/src/reverse.rs`.

use std::io::{self, BufReader, Write};
use std::net::TcpStream;

use lessons::framing::{self, LineError};

/// The longest line accepted: 1024 bytes before the `\n` (defined in
/// `exercises/crates/checks/src/shared/reverse.rs`, because the checks probe it).
pub use checks::shared::reverse::MAX_LINE;

// ANCHOR: solution
/// Answers every line `client` sends with the line reversed by characters,
/// until the client closes the connection.
pub fn reverse_lines(client: TcpStream) -> io::Result<()> {
    // One descriptor per client: `&TcpStream` is `Read` and `Write`, so the
    // reader and the writer can share it (no `try_clone`, lesson 02).
    let mut lines = BufReader::new(&client);
    let mut replies = &client;
    loop {
        // The framing collects bytes up to the `\n` however they arrive,
        // checks UTF-8 only for the whole line, and reads at most
        // MAX_LINE + 1 bytes looking for the end.
        match framing::read_line(&mut lines, MAX_LINE) {
            Ok(Some(line)) => {
                let reversed: String = line.chars().rev().collect();
                replies.write_all(format!("{reversed}\n").as_bytes())?;
            }
            // End of stream: the client is done. (Looping on it would spin.)
            Ok(None) => return Ok(()),
            Err(LineError::NotUtf8) => replies.write_all(b"error: not UTF-8\n")?,
            Err(LineError::TooLong { .. }) => {
                // The rest of the line is still unread: we cannot find the
                // start of the next one. Say why, then close.
                framing::say_and_close(&client, "error: line too long");
                return Ok(());
            }
            Err(LineError::Io(e)) => return Err(e),
        }
    }
}
// ANCHOR_END: solution
