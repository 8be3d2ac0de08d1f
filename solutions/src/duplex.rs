//! Reference answer to exercise 04: full duplex, both directions at once.
//! The task is described in `exercises/src/duplex.rs`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;

// ANCHOR: solution
/// Copies `input` to `peer` and `peer` to `output` at the same time, and
/// returns when the peer closes the connection.
pub fn chat<R, W>(mut input: R, mut output: W, peer: TcpStream) -> io::Result<()>
where
    R: Read + Send + 'static,
    W: Write,
{
    // Two handles to one connection: one for each direction.
    let mut to_peer = peer.try_clone()?;
    // The keyboard direction gets a thread of its own. It is not joined: it
    // may be blocked reading the keyboard when the peer leaves, and no
    // portable API can interrupt that read.
    thread::Builder::new()
        .name("input to peer".into())
        .spawn(move || {
            // If the peer is gone the copy fails; the other direction
            // notices the close and ends the chat, so there is nothing to do.
            let _ = io::copy(&mut input, &mut to_peer);
            // "I have nothing more to say": the peer's read returns 0. Only
            // `shutdown` does that; dropping one clone closes nothing while
            // the other handle is still open.
            let _ = to_peer.shutdown(Shutdown::Write);
        })?;
    // This thread carries the other direction, and flushes each piece so it
    // shows at once (a terminal's stdout waits for a whole line otherwise).
    let mut from_peer = peer;
    let mut buf = [0u8; 8192];
    loop {
        let n = from_peer.read(&mut buf)?;
        if n == 0 {
            return Ok(()); // the peer closed: the chat is over
        }
        output.write_all(&buf[..n])?;
        output.flush()?;
    }
}
// ANCHOR_END: solution
