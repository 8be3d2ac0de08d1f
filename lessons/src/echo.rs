//! Lesson 02: an echo server that serves one client at a time, and a client
//! that sends one message.
//!
//! The server sends back every byte exactly as it arrived: no framing, so it
//! works for any data. It handles one connection after the other on the main
//! thread, so a second client waits until the first has left. That is the
//! limit lesson 03 removes.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use crate::cli;
use crate::deadline::{Deadline, Within};

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
    // One socket, two roles. `Read` and `Write` are implemented for
    // `&TcpStream`, so two shared borrows of one stream can be the reader
    // and the writer at the same time: the kernel serialises the calls, and
    // reading and writing use the connection's two separate directions.
    // (Two readers would compile too, and split the stream between them.)
    // No `try_clone` (a second descriptor) needed.
    let mut reader = BufReader::with_capacity(COPY_BUFFER, &stream);
    let mut writer = &stream;
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
            Err(e) => crate::log_line!("client {peer} disconnected: {}", cli::describe(&e)),
        }
        if once {
            break;
        }
    }
    Ok(())
}
// ANCHOR_END: accept_loop

// ANCHOR: client
/// Sends `message`, closes the sending direction, and copies everything the
/// server sends back to `out` (after `received: `, with a newline at the
/// end) as it arrives, until the server closes. Returns the bytes received.
///
/// `timeout` bounds the whole exchange: connecting, sending and the whole
/// echo, however slowly its bytes trickle in.
pub fn send_and_print(
    addr: &str,
    message: &[u8],
    timeout: Duration,
    mut out: impl Write,
) -> io::Result<u64> {
    let deadline = Deadline::after(timeout, "complete echo");
    let stream = cli::connect_before(addr, &deadline)?;
    // Send on one thread while reading on this one. Sending everything first
    // and reading afterwards deadlocks on a big message: the server stops
    // reading when its replies pile up unread, and then our writes block.
    // A scoped thread may borrow `stream`: the scope ends before it does.
    thread::scope(|s| {
        let sender = s.spawn(|| -> io::Result<()> {
            let mut to_server = Within {
                stream: &stream,
                deadline: &deadline,
            };
            to_server.write_all(message)?;
            // Half-close: "I have nothing more to send". The server's read
            // then returns 0, it finishes echoing and closes, and our copy
            // below ends. Without it both sides would wait forever.
            stream.shutdown(Shutdown::Write)
        });
        let received = print_echo(&stream, &deadline, &mut out);
        let sent = sender
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        // The reading side's error first: it is what ended the exchange.
        let received = received?;
        sent.map_err(|e| cli::context(e, "cannot send"))?;
        Ok(received)
    })
}

/// Copies the echo to `out` as it comes, so the client's memory stays the
/// size of one buffer however much the server sends.
fn print_echo(stream: &TcpStream, deadline: &Deadline, out: &mut impl Write) -> io::Result<u64> {
    let mut echo = BufReader::with_capacity(COPY_BUFFER, Within { stream, deadline });
    // Wait for the first bytes (or the end) before printing anything, so a
    // failure prints only its error.
    echo.fill_buf()?;
    // Reading a socket never fails with BrokenPipe, writing a closed stdout
    // does (`02_echo_client | head -c 5`): say which end broke.
    let to_out = |e: io::Error| match e.kind() {
        io::ErrorKind::BrokenPipe => cli::context(e, "cannot print the echo"),
        _ => e,
    };
    out.write_all(b"received: ").map_err(to_out)?;
    let n = io::copy(&mut echo, out).map_err(to_out)?;
    writeln!(out).and_then(|()| out.flush()).map_err(to_out)?;
    Ok(n)
}
// ANCHOR_END: client
