//! Reference answer to exercise 09: the forwarding core of a proxy.
//! The task is described in `exercises/src/proxy.rs`.

use std::io;
use std::net::{Shutdown, TcpStream};
use std::thread;

// ANCHOR: solution
/// Forwards everything between `client` and `server`, both ways at once,
/// until both directions have ended (`Ok(())`) or an error on one side has
/// closed both (that error).
pub fn forward(client: TcpStream, server: TcpStream) -> io::Result<()> {
    // One thread per direction: a thread blocked reading one side cannot
    // hear the other. `&TcpStream` is `Read` and `Write`, so both threads
    // borrow the same two sockets, and the scope joins them both.
    thread::scope(|s| {
        let down = s.spawn(|| pump(&server, &client));
        let up = pump(&client, &server);
        let down = down
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the server-to-client thread panicked")));
        up.and(down)
    })
}

/// Copies one direction until its sender finishes, then passes that on.
fn pump(from: &TcpStream, to: &TcpStream) -> io::Result<()> {
    // `io::copy` writes every byte each read returned, and only those,
    // until a read returns 0: the sender's end of the stream.
    match io::copy(&mut &*from, &mut &*to) {
        Ok(_) => {
            // Say the same to the receiver, and nothing more: it may still
            // be sending the other way. If it is gone, the other direction,
            // which reads from it, finds out.
            let _ = to.shutdown(Shutdown::Write);
            Ok(())
        }
        Err(e) => {
            // One side broke: close both, so that each peer sees the end,
            // and the other direction's read returns too (at once on
            // Linux; elsewhere when its peer closes in turn).
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
            Err(e)
        }
    }
}
// ANCHOR_END: solution
