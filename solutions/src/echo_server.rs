//! Reference answer to exercise 02b: an echo server that serves many clients
//! at once. The task is described in `exercises/src/echo_server.rs`.

use std::io::{self, BufReader};
use std::net::{TcpListener, TcpStream};
use std::thread;

use lessons::{cli, log_error, log_line};

/// Echoes everything one client sends until it closes its side.
fn echo(stream: TcpStream) -> io::Result<u64> {
    // `&TcpStream` is `Read` and `Write`, so one handle reads and writes:
    // no `try_clone`, which would cost a second file descriptor per client
    // and halve how many clients `ulimit -n` allows (lesson 02).
    let mut reader = BufReader::new(&stream);
    let mut writer = &stream;
    // `io::copy` loops until the end of the stream and writes with
    // `write_all`, so no byte is lost to a partial write. When this function
    // returns, `stream` is dropped, and the connection closes.
    io::copy(&mut reader, &mut writer)
}

// ANCHOR: solution
/// Serves every client of `listener` concurrently, echoing its bytes back.
pub fn serve_all(listener: TcpListener) -> io::Result<()> {
    // `cli::clients` tells the two kinds of failed accept apart: one
    // client's trouble (it gave up before we took it) is skipped; the
    // server's own (out of descriptors or memory: EMFILE, ENFILE, ENOBUFS,
    // ENOMEM) makes it pause and retry, instead of spinning on an accept
    // that fails again at once.
    for (stream, peer) in cli::clients(&listener) {
        log_line!("client {peer} connected");
        // One thread per client: an idle client blocks only its own thread.
        // `Builder::spawn` returns an error instead of panicking when no
        // thread can be started: then only this client is turned away.
        let spawned = thread::Builder::new().spawn(move || match echo(stream) {
            Ok(bytes) => log_line!("client {peer} disconnected after {bytes} bytes"),
            // A reset ends this client's thread, never the server.
            Err(e) => log_line!("client {peer} disconnected: {}", cli::describe(&e)),
        });
        if let Err(e) = spawned {
            log_error!(
                "cannot start a thread for client {peer}: {}",
                cli::describe(&e)
            );
        }
    }
    Ok(())
}
// ANCHOR_END: solution
