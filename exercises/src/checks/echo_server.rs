//! Checks of exercise 02b, `serve_all`: real clients on 127.0.0.1 talk to
//! the student's server, which serves a listener the check bound on port 0.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

use super::harness::{Server, WAIT, is_timeout, nothing_arrives, same, spawn};

/// The function under test.
pub type ServeAll = fn(TcpListener) -> io::Result<()>;

pub fn checks(subject: ServeAll) -> Vec<super::Check> {
    checks!(subject =>
        echoes_what_one_client_sends,
        a_second_client_is_served_while_the_first_stays_connected,
        a_1_mib_payload_comes_back_whole,
        a_client_that_vanishes_does_not_stop_the_server,
        two_clients_each_get_only_their_own_bytes,
    )
}

fn start(subject: ServeAll) -> Result<Server, String> {
    Server::start("serve_all", subject)
}

/// Sends `bytes` and expects exactly them back within [`WAIT`].
fn round_trip(
    server: &Server,
    mut client: &TcpStream,
    bytes: &[u8],
    who: &str,
) -> Result<(), String> {
    client
        .write_all(bytes)
        .map_err(|e| server.fail(format!("{who} could not send: {e}")))?;
    let mut back = vec![0u8; bytes.len()];
    let mut got = 0;
    while got < back.len() {
        match client.read(&mut back[got..]) {
            Ok(0) => {
                return Err(server.fail(format!(
                    "{who} sent {:?} and the server closed the connection after echoing {got} \
                     of {} bytes",
                    String::from_utf8_lossy(bytes),
                    bytes.len()
                )));
            }
            Ok(n) => got += n,
            Err(e) if is_timeout(&e) => {
                let back = if got == 0 {
                    "nothing".to_string()
                } else {
                    format!("only {:?}", String::from_utf8_lossy(&back[..got]))
                };
                return Err(server.fail(format!(
                    "{who} sent {:?} and got {back} back within {WAIT:?}",
                    String::from_utf8_lossy(bytes)
                )));
            }
            Err(e) => return Err(server.fail(format!("{who} could not read the echo: {e}"))),
        }
    }
    same(
        &String::from_utf8_lossy(bytes).into_owned(),
        &String::from_utf8_lossy(&back).into_owned(),
        || format!("{who} should get back exactly the bytes it sent"),
    )
}

pub fn echoes_what_one_client_sends(subject: ServeAll) -> Result<(), String> {
    let server = start(subject)?;
    let client = server.connect()?;
    round_trip(&server, &client, b"hello, echo\n", "the client")?;
    round_trip(&server, &client, b"no newline here", "the client").map_err(|e| {
        format!(
            "{e}\nBytes without a newline must come back too: an echo server sends back \
             whatever read() returns, it does not wait for the end of a line."
        )
    })
}

pub fn a_second_client_is_served_while_the_first_stays_connected(
    subject: ServeAll,
) -> Result<(), String> {
    let server = start(subject)?;
    let first = server.connect()?;
    round_trip(&server, &first, b"first\n", "the first client")?;
    // The first client stays connected and says nothing more.
    let second = server.connect()?;
    round_trip(&server, &second, b"second\n", "the second client").map_err(|e| {
        format!(
            "the second client got no reply within {WAIT:?} while the first stayed connected. \
             Is each client served on its own thread? ({e})"
        )
    })?;
    drop(first);
    Ok(())
}

/// 1 MiB of bytes that are not UTF-8 text and do not repeat every 256.
fn payload() -> Vec<u8> {
    (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(7) ^ (i >> 9)) as u8)
        .collect()
}

pub fn a_1_mib_payload_comes_back_whole(subject: ServeAll) -> Result<(), String> {
    let server = start(subject)?;
    let client = server.connect()?;
    let sent = payload();
    let mut writer = client
        .try_clone()
        .map_err(|e| format!("the check could not clone its socket: {e}"))?;
    // Send on one thread while reading on this one: the echo comes back
    // while we are still sending, and nobody reads it if we only send.
    let sender = spawn("the check's sender", {
        let sent = sent.clone();
        move || {
            writer
                .write_all(&sent)
                .and_then(|()| writer.shutdown(Shutdown::Write))
        }
    });
    let mut back = Vec::with_capacity(sent.len());
    let mut buf = vec![0u8; 64 * 1024];
    let mut reader = &client;
    let read_error = loop {
        if back.len() > sent.len() {
            break None;
        }
        match reader.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => back.extend_from_slice(&buf[..n]),
            Err(e) => break Some(e),
        }
    };
    let _ = sender.wait(WAIT);
    if back.len() < sent.len() {
        let why = match read_error {
            Some(e) if is_timeout(&e) => format!("then nothing for {WAIT:?}"),
            Some(e) => format!("then {e}"),
            None => "then the connection closed".to_string(),
        };
        return Err(server.fail(format!(
            "the client sent 1 MiB ({} bytes) and got {} bytes back, {why}. Bytes were lost: \
             write() may send only part of a buffer and returns how much it sent; \
             write_all() (or io::copy) sends it all. Echo &buf[..n], the n bytes read() \
             returned, not the whole buffer.",
            sent.len(),
            back.len()
        )));
    }
    if let Some(at) = sent.iter().zip(&back).position(|(a, b)| a != b) {
        return Err(format!(
            "the 1 MiB came back with the wrong bytes from byte {at} on. Echo \
             &buf[..n] (the n bytes read() returned), in the order they came, and write \
             them with write_all()"
        ));
    }
    if back.len() > sent.len() {
        return Err(format!(
            "the client sent {} bytes and got more back ({} or more). Echo &buf[..n], the \
             n bytes read() returned, not the whole buffer",
            sent.len(),
            back.len()
        ));
    }
    Ok(())
}

pub fn a_client_that_vanishes_does_not_stop_the_server(subject: ServeAll) -> Result<(), String> {
    let server = start(subject)?;
    {
        // This client sends a lot and reads only a little: when it goes,
        // unread echo is left in its socket, so the system resets the
        // connection instead of closing it politely. The server then gets
        // "connection reset" (or "broken pipe") on its next read or write.
        let mut vanishing = server.connect()?;
        vanishing
            .write_all(&vec![b'x'; 256 * 1024])
            .map_err(|e| server.fail(format!("the first client could not send: {e}")))?;
        let mut some = [0u8; 16];
        vanishing
            .read_exact(&mut some)
            .map_err(|e| server.fail(format!("the first client got no echo: {e}")))?;
    }
    // Give the server a moment to trip over the reset ("nothing happens"
    // cannot be signalled), then check that it is still there.
    server.still_running("a client vanished without closing its connection")?;
    let next = server.connect()?;
    round_trip(&server, &next, b"still there?\n", "a client that came next").map_err(|e| {
        format!(
            "after a client vanished mid-way, the next client was not served: {e}\nAn error \
             on one connection (reset, broken pipe) must end only that client: handle it in \
             that client's thread, without unwrap() and without returning from serve_all."
        )
    })?;
    server.still_running("a client vanished and another came")
}

pub fn two_clients_each_get_only_their_own_bytes(subject: ServeAll) -> Result<(), String> {
    let server = start(subject)?;
    let a = server.connect()?;
    let b = server.connect()?;
    let mixed = |who: &str, other: &str, got: String| {
        format!(
            "client {other} sent something and client {who} {got}. Each client's bytes must \
             go back to that client only: does each thread write to its own stream, rather \
             than to a shared one or to every client?"
        )
    };
    round_trip(&server, &a, b"from A\n", "client A")?;
    nothing_arrives(&b, Duration::from_millis(200)).map_err(|got| mixed("B", "A", got))?;
    round_trip(&server, &b, b"from B\n", "client B").map_err(|e| {
        format!("{e}, while client A stayed connected. Is each client served on its own thread?")
    })?;
    nothing_arrives(&a, Duration::from_millis(200)).map_err(|got| mixed("A", "B", got))?;
    round_trip(&server, &a, b"A again\n", "client A")
}
