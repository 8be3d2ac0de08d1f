//! Reference answer to exercise 02b: an echo server that serves many clients
//! at once. The task is described in `exercises/src/echo_server.rs`.

use std::io::{self, BufReader};
use std::net::{TcpListener, TcpStream};
use std::thread;

/// Echoes everything one client sends until it closes its side.
fn echo(stream: TcpStream) -> io::Result<u64> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    // `io::copy` loops until the end of the stream and writes with
    // `write_all`, so no byte is lost to a partial write.
    io::copy(&mut reader, &mut writer)
}

// ANCHOR: solution
/// Serves every client of `listener` concurrently, echoing its bytes back.
pub fn serve_all(listener: TcpListener) -> io::Result<()> {
    for stream in listener.incoming() {
        // A failed accept concerns one client that is already gone: go on.
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let peer = match stream.peer_addr() {
            Ok(peer) => peer.to_string(),
            Err(_) => continue, // reset before we could even look at it
        };
        println!("client {peer} connected");
        // One thread per client: an idle client blocks only its own thread.
        // `Builder::spawn` returns an error instead of panicking when no
        // thread can be started: then only this client is turned away.
        let spawned = thread::Builder::new().spawn(move || match echo(stream) {
            Ok(bytes) => println!("client {peer} disconnected after {bytes} bytes"),
            // A reset ends this client's thread, never the server.
            Err(e) => println!("client {peer} disconnected: {e}"),
        });
        if let Err(e) = spawned {
            eprintln!("cannot start a thread for a client: {e}");
        }
    }
    Ok(())
}
// ANCHOR_END: solution
