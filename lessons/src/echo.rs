//! Lesson 02: an echo server that serves one client at a time, and a client
//! that sends one message.
//!
//! The server sends back every byte exactly as it arrived: no framing, so it
//! works for any data. It handles one connection after the other on the main
//! thread, so a second client waits until the first has left. That is the
//! limit lesson 03 removes.

use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

use crate::cli;

/// The buffer the server copies through. Bigger buffers mean fewer system
/// calls per byte, up to the point where they stop fitting in the CPU cache.
/// Measured with 1 GiB through one connection (docs/measurements.md): 4 and
/// 8 KiB (std's default) copy 8–10 % slower than 32 KiB, and from 32 KiB to
/// 1 MiB the differences are within the noise. 64 KiB is at the start of
/// that plateau.
pub const COPY_BUFFER: usize = 64 * 1024;

// ANCHOR: serve
/// Echoes everything one client sends until it closes its side, and returns
/// the number of bytes echoed.
pub fn echo_client(stream: TcpStream) -> io::Result<u64> {
    // One socket, two roles: `try_clone` gives a second handle to the same
    // connection, so one can be the reader and the other the writer.
    let mut reader = BufReader::with_capacity(COPY_BUFFER, stream.try_clone()?);
    let mut writer = stream;
    // `io::copy` loops until end of stream and uses `write_all` inside: a
    // `write` may accept only part of a buffer, and the rest must not be lost.
    io::copy(&mut reader, &mut writer)
}
// ANCHOR_END: serve

// ANCHOR: accept_loop
/// Serves clients one after the other. With `once`, returns after the first.
pub fn serve(listener: &TcpListener, once: bool) -> io::Result<()> {
    for (stream, peer) in cli::clients(listener) {
        crate::log_line!("client {peer} connected");
        match echo_client(stream) {
            Ok(bytes) => crate::log_line!("client {peer} disconnected after {bytes} bytes"),
            // A reset or a broken pipe ends this client, never the server.
            Err(e) => crate::log_line!("client {peer} disconnected: {e}"),
        }
        if once {
            break;
        }
    }
    Ok(())
}
// ANCHOR_END: accept_loop

// ANCHOR: client
/// Sends `message`, closes the sending direction, and returns everything the
/// server sends back before it closes.
pub fn send_and_receive(addr: &str, message: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
    let stream = cli::connect(addr, timeout)?;
    let mut writer = stream.try_clone()?;
    let mut reader = stream;
    // Send on one thread while reading on this one. Sending everything first
    // and reading afterwards deadlocks on a big message: the server stops
    // reading when its replies pile up unread, and then our writes block.
    std::thread::scope(|s| {
        let sender = s.spawn(move || -> io::Result<()> {
            writer.write_all(message)?;
            // Half-close: "I have nothing more to send". The server's read
            // then returns 0, it finishes echoing and closes, and our
            // `read_to_end` ends. Without it both sides would wait forever.
            writer.shutdown(Shutdown::Write)
        });
        let mut reply = Vec::new();
        let received = reader.read_to_end(&mut reply);
        let sent = sender
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        sent?;
        received?;
        Ok(reply)
    })
}
// ANCHOR_END: client
