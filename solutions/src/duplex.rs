//! Reference answer to exercise 04: full duplex, both directions at once.
//! The task is described in `exercises/src/duplex.rs`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc;
use std::thread;

// ANCHOR: solution
/// Copies `input` to `peer` and `peer` to `output` at the same time. Each
/// direction ends on its own; returns once both have, or at the first error.
pub fn chat<R, W>(mut input: R, mut output: W, peer: TcpStream) -> io::Result<()>
where
    R: Read + Send + 'static,
    W: Write,
{
    // Two handles to one connection: one for each direction.
    let to_peer = peer.try_clone()?;
    // The keyboard direction gets a thread of its own, which reports on a
    // channel when it is done. A channel, not `join`: on an error we return
    // at once, and that thread may be blocked reading the keyboard, a read
    // no portable API can interrupt.
    let (done, keyboard_done) = mpsc::channel();
    thread::Builder::new()
        .name("input to peer".into())
        .spawn(move || {
            // The input ended: "I have nothing more to say", and the peer
            // reads end of stream. Only `shutdown` says that while another
            // handle to the connection is open; what the peer sends still
            // arrives.
            let copied =
                io::copy(&mut input, &mut &to_peer).and_then(|_| to_peer.shutdown(Shutdown::Write));
            if copied.is_err() {
                // Broken: end the connection, which also ends the other
                // direction's read, so `chat` returns this error.
                let _ = to_peer.shutdown(Shutdown::Both);
            }
            let _ = done.send(copied);
        })?;
    // This thread carries the other direction. stdout is a LineWriter, so
    // each piece is flushed: a half line (a prompt) shows at once.
    let shown = copy_flushing(&peer, &mut output);
    // A read of 0 says only that the peer will send nothing more: it may
    // still read, so what is typed keeps going to it until the input ends.
    let result = shown.and_then(|()| {
        keyboard_done
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("the keyboard thread stopped")))
    });
    if result.is_err() {
        // Nothing more can be said either way: end the connection now,
        // although the keyboard thread may still hold its handle.
        let _ = peer.shutdown(Shutdown::Both);
    }
    result
}

/// Copies `from` to `to` until `from`'s end of stream, flushing each piece.
fn copy_flushing(mut from: &TcpStream, to: &mut impl Write) -> io::Result<()> {
    let mut buf = [0u8; 8192];
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        to.write_all(&buf[..n])?;
        to.flush()?;
    }
}
// ANCHOR_END: solution
