//! Lesson 03, binary framing: messages preceded by their length.
//!
//! Listens on loopback, connects to itself, and sends three messages as
//! length-prefixed frames (the last with a newline inside, which no line
//! framing could carry whole); prints the first frame's bytes as they go on
//! the wire, then every frame the reader gets back. Then two connections
//! that break the rules: a length over the limit, and a stream that ends
//! inside a frame.
//!
//! ```text
//! cargo run --example 03_frames
//! ```

use clap::Parser;
use lessons::length_prefix::{read_frame, write_frame};
use lessons::{cli, log_line};
use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;

/// The largest frame this demo accepts.
const MAX_FRAME: u32 = 1024;

/// Binary framing demo: length-prefixed messages over a connection to itself.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:0", help = cli::LISTEN_HELP)]
    addr: String,
}

fn main() -> ExitCode {
    let args: Args = cli::parse();
    cli::exit_code(cli::listen(&args.addr).and_then(|listener| demo(&listener)))
}

// ANCHOR: demo
fn demo(listener: &TcpListener) -> io::Result<()> {
    let messages: [&[u8]; 3] = [b"hello", b"", b"two\nlines"];
    let mut wire = Vec::new();
    write_frame(&mut wire, messages[0])?;
    log_line!("\"hello\" on the wire: {}", hex(&wire));

    // The frames fit in the socket's buffers, so one thread can write them
    // all and then read them back.
    let (sender, receiver) = connected(listener)?;
    for message in messages {
        write_frame(&sender, message)?;
    }
    drop(sender); // the end of the stream, between two frames
    while let Some(frame) = read_frame(&receiver, MAX_FRAME)? {
        let text = String::from_utf8_lossy(&frame);
        log_line!("frame of {} bytes: {text:?}", frame.len());
    }
    log_line!("end of stream between two frames: the sender is done");

    // A peer that breaks the rules: each is one error, and the connection
    // is out of step, so the reader closes it.
    for raw in [&b"\xff\xff\xff\xffhello"[..], b"\x00\x00\x00\x0ahel"] {
        let (mut sender, receiver) = connected(listener)?;
        sender.write_all(raw)?;
        drop(sender);
        match read_frame(&receiver, MAX_FRAME) {
            Err(e) => log_line!("after {}: {:?}: {e}", hex(raw), e.kind()),
            Ok(frame) => log_line!("after {}: unexpectedly {frame:?}", hex(raw)),
        }
    }
    Ok(())
}
// ANCHOR_END: demo

/// A connection to `listener`: (the connecting end, the accepted end). The
/// connect completes in the listener's queue, so the accept cannot wait.
fn connected(listener: &TcpListener) -> io::Result<(TcpStream, TcpStream)> {
    let sender = TcpStream::connect(listener.local_addr()?)?;
    let (receiver, _) = listener.accept()?;
    // A reader that waits longer than this has met a bug, not a slow peer.
    receiver.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    Ok((sender, receiver))
}

/// Bytes as `00 00 00 05 68 ...`.
fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}
