//! Reference answer to exercise 05: one console, many clients. The task is
//! described in `exercises/src/console_router.rs`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::mpsc::Receiver;

/// What the room hears about (shared with the checks, which send these).
pub use checks::shared::console_router::Event;

// ANCHOR: solution
/// Routes console lines to the clients, until every sender is gone.
pub fn run_room<W: Write>(events: Receiver<Event>, mut console: W) -> io::Result<()> {
    // The room owns every client's stream: no other thread writes to them,
    // so no lock is needed.
    let mut clients: BTreeMap<u64, TcpStream> = BTreeMap::new();
    // The loop ends when every Sender has been dropped.
    for event in events {
        match event {
            Event::Joined { id, stream } => {
                clients.insert(id, stream);
            }
            Event::Left { id } => {
                clients.remove(&id);
            }
            Event::Console(line) => {
                if let Some(rest) = line.strip_prefix("/to ") {
                    let Some((id, text)) = rest
                        .split_once(' ')
                        .and_then(|(id, text)| Some((id.parse::<u64>().ok()?, text)))
                    else {
                        writeln!(console, "error: usage: /to N text")?;
                        continue;
                    };
                    let Some(stream) = clients.get(&id) else {
                        writeln!(console, "error: no client #{id}")?;
                        continue;
                    };
                    if let Err(e) = send(stream, text) {
                        writeln!(console, "client #{id} dropped: {e}")?;
                        clients.remove(&id);
                    }
                } else if line.starts_with('/') {
                    let command = line.split_whitespace().next().unwrap_or("/");
                    writeln!(console, "error: unknown command {command}")?;
                } else {
                    // A client whose write fails has vanished: forget it and
                    // go on with the others, never stop the room.
                    clients.retain(|id, stream| match send(stream, &line) {
                        Ok(()) => true,
                        Err(e) => {
                            let _ = writeln!(console, "client #{id} dropped: {e}");
                            false
                        }
                    });
                }
            }
        }
    }
    Ok(())
}

/// One message to one client, in one `write_all`.
fn send(mut stream: &TcpStream, text: &str) -> io::Result<()> {
    stream.write_all(format!("[server] {text}\n").as_bytes())
}
// ANCHOR_END: solution
