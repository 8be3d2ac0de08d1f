//! Reference answer to exercise 02a: a client that sends what the user types
//! until the user types `exit`. The task is described in
//! `exercises/src/exit_client.rs`.

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;

use lessons::framing::{self, LineError};

// ANCHOR: solution
/// Sends each line of `input` to `server` and writes each reply to `output`,
/// until a line is `exit` (never sent) or the input ends.
pub fn run_client<R: BufRead, W: Write>(
    input: R,
    mut output: W,
    server: TcpStream,
) -> io::Result<()> {
    let mut replies = BufReader::new(server.try_clone()?);
    let mut requests = &server;
    // `lines()` ends at the end of input, and strips `\n` or `\r\n`.
    for line in input.lines() {
        let line = line?;
        // Decide *before* sending: `exit` is for this program, not the server.
        // The whole trimmed line must be `exit`: `contains` would also stop
        // at "exiting".
        if line.trim() == "exit" {
            break;
        }
        // One `write_all` for the line and its `\n`: a `write` may send only
        // part of a buffer.
        requests.write_all(format!("{line}\n").as_bytes())?;
        // A reply may arrive in pieces: read up to its `\n`, not one `read`.
        match framing::read_line(&mut replies, framing::DEFAULT_MAX_LINE) {
            Ok(Some(reply)) => {
                writeln!(output, "{reply}")?;
                output.flush()?;
            }
            Ok(None) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                ));
            }
            Err(LineError::Io(e)) => return Err(e),
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
        }
    }
    Ok(())
}
// ANCHOR_END: solution
