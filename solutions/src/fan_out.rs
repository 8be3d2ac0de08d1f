//! Reference answer to exercise 06: one client, several servers, with
//! timeouts. The task is described in `exercises/src/fan_out.rs`.

use std::io::{self, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::panic;
use std::thread;
use std::time::Duration;

use lessons::deadline::{Deadline, Within};
use lessons::framing::{self, LineError};

// ANCHOR: solution
/// Asks every server `question` at once; returns their answers in order.
pub fn ask_all(
    servers: &[SocketAddr],
    question: &str,
    timeout: Duration,
) -> Vec<io::Result<String>> {
    thread::scope(|s| {
        // Start every conversation first, then collect: one thread each.
        let handles: Vec<_> = servers
            .iter()
            .map(|addr| s.spawn(move || ask(addr, question, timeout)))
            .collect();
        // Joining in the order of `servers` puts each answer in its slot.
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| panic::resume_unwind(p)))
            .collect()
    })
}

/// One conversation, which ends by one deadline, `timeout` from its start.
fn ask(addr: &SocketAddr, question: &str, timeout: Duration) -> io::Result<String> {
    // A read timeout alone would not do: it starts again with every read
    // that brings a byte, so a server that trickles one byte at a time,
    // never a `\n`, would hold us for ever. The deadline is for the whole
    // exchange: before each step, the socket waits at most what is left.
    let deadline = Deadline::after(timeout, "answer");
    // `connect` alone could wait for minutes on an unreachable address.
    let stream =
        TcpStream::connect_timeout(addr, deadline.left()?).map_err(|e| deadline.explain(e))?;
    let mut within = Within {
        stream: &stream,
        deadline: &deadline,
    };
    within.write_all(format!("{question}\n").as_bytes())?;
    match framing::read_line(&mut BufReader::new(within), framing::DEFAULT_MAX_LINE) {
        Ok(Some(answer)) => Ok(answer),
        // Zero bytes means the server closed: no answer is not an answer.
        Ok(None) => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "closed without answering",
        )),
        Err(LineError::Io(e)) => Err(e),
        Err(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
    }
}
// ANCHOR_END: solution
