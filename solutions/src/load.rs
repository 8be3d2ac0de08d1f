//! Reference answer to exercise 08: a load client that checks every reply.
//! The task is described in `exercises/src/load.rs`.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::Duration;

use lessons::cli::is_timeout;

/// What the run saw (shared with the checks).
pub use checks::shared::load::Report;

// ANCHOR: solution
/// Sends every line to the echo server and reports what came back wrong.
pub fn run_load(server: TcpStream, lines: &[String], timeout: Duration) -> io::Result<Report> {
    // Both timeouts apply to the connection, so to both handles: a server
    // that stops reading cannot block the sender for ever either.
    server.set_read_timeout(Some(timeout))?;
    server.set_write_timeout(Some(timeout))?;
    let sender = server.try_clone()?;
    thread::scope(|s| {
        // Send on a thread of its own while this one reads the replies: the
        // server echoes as it reads, so if nobody read its replies, the
        // buffers would fill up and both sides would wait for ever.
        let sending = s.spawn(move || -> io::Result<()> {
            let mut out = BufWriter::new(&sender);
            for line in lines {
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
            // Nothing more is coming: the server may close once it is done.
            sender.shutdown(Shutdown::Write)
        });
        let report = read_replies(&server, lines);
        let sent = sending
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the sending thread panicked")));
        sent.and(report)
    })
}

/// Reads replies until every line is back whole, the server closes, or
/// nothing arrives for the read timeout; sorts each reply into the report.
fn read_replies(server: &TcpStream, lines: &[String]) -> io::Result<Report> {
    // Each line's index, to find a reply's line at once.
    let index: HashMap<&[u8], usize> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| (line.as_bytes(), i))
        .collect();
    let mut back = vec![false; lines.len()];
    let mut whole = 0;
    // The latest (highest) index that came back so far.
    let mut latest = None;
    let mut report = Report::default();
    let mut replies = BufReader::new(server);
    let mut reply = Vec::new();
    while whole < lines.len() {
        reply.clear();
        // A reply is everything up to a `\n`, however many reads it takes:
        // `read_until` collects them.
        let ended = match replies.read_until(b'\n', &mut reply) {
            Ok(0) => true, // the server closed
            Ok(_) => reply.last() != Some(&b'\n'),
            Err(e) if is_timeout(&e) => true, // nothing for `timeout`
            Err(e) => return Err(e),
        };
        if reply.last() == Some(&b'\n') {
            reply.pop();
        }
        if !reply.is_empty() || !ended {
            match index.get(reply.as_slice()) {
                Some(&i) if !back[i] => {
                    back[i] = true;
                    whole += 1;
                    if latest.is_some_and(|latest| latest > i) {
                        report.reordered.push(i);
                    } else {
                        report.in_order += 1;
                        latest = Some(i);
                    }
                }
                _ => report
                    .torn
                    .push(String::from_utf8_lossy(&reply).into_owned()),
            }
        }
        if ended {
            break;
        }
    }
    report.lost = (0..lines.len()).filter(|&i| !back[i]).collect();
    Ok(report)
}
// ANCHOR_END: solution
