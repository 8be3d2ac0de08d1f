//! Lesson 02 end to end: the echo server returns bytes unchanged, serves one
//! client at a time, and the client prints what came back.

mod common;

use common::{Server, assert_silent, read_exact, run};
use pretty_assertions::assert_eq;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::thread;
use std::time::Duration;

#[test]
fn the_client_prints_what_the_server_echoed() {
    let server = Server::start("02_echo_server", &[]);
    let (status, stdout, stderr) = run("02_echo_client", &["--addr", &server.addr_arg()], "");
    assert!(status.success(), "client failed: {stderr:?}");
    assert_eq!(stdout, vec!["received: Hello, server"]);
}

#[test]
fn one_mebibyte_round_trips_intact() {
    // Catches lost bytes from a `write` that sent only part of the buffer
    // (the original's `send` problem) and from a single-`read` client.
    let server = Server::start("02_echo_server", &[]);
    let payload: Vec<u8> = (0..1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    let stream = server.connect();
    let mut writer = stream.try_clone().expect("try_clone");
    let sender = thread::spawn({
        let payload = payload.clone();
        move || {
            writer.write_all(&payload).expect("send 1 MiB");
            writer.shutdown(Shutdown::Write).expect("half-close");
        }
    });
    let mut echoed = Vec::new();
    (&stream)
        .read_to_end(&mut echoed)
        .expect("read the echo until the server closes");
    sender.join().expect("sender thread");
    assert_eq!(echoed.len(), payload.len(), "every byte should come back");
    assert!(
        echoed == payload,
        "the bytes came back changed or out of order"
    );
}

#[test]
fn any_bytes_come_back_unchanged() {
    let server = Server::start("02_echo_server", &[]);
    let mut stream = server.connect();
    let bytes = b"\x00\xff\xfe not UTF-8, no newline";
    stream.write_all(bytes).expect("send");
    assert_eq!(
        read_exact(&mut stream, bytes.len(), "the echo"),
        bytes.to_vec()
    );
}

#[test]
fn a_second_client_waits_until_the_first_leaves() {
    let server = Server::start("02_echo_server", &[]);
    let mut first = server.connect();
    first.write_all(b"one").expect("send");
    assert_eq!(read_exact(&mut first, 3, "the first client's echo"), b"one");

    let mut second = server.connect(); // the system accepts it into the backlog...
    second.write_all(b"two").expect("send");
    // ...but the server is busy with the first client, so nobody answers.
    assert_silent(
        &second,
        Duration::from_millis(300),
        "the second client should wait",
    );

    drop(first);
    assert_eq!(
        read_exact(
            &mut second,
            3,
            "the second client's echo once the first left"
        ),
        b"two"
    );
}

#[test]
fn once_exits_after_the_first_client() {
    let mut server = Server::start("02_echo_server", &["--once"]);
    let stream = server.connect();
    drop(stream);
    let status = server.program.wait_for_exit();
    assert!(status.success());
}

#[test]
fn the_server_logs_connects_and_disconnects() {
    let server = Server::start("02_echo_server", &[]);
    let stream = server.connect();
    let me = stream.local_addr().expect("local_addr").to_string();
    server
        .program
        .expect_stdout(&format!("client {me} connected"));
    drop(stream);
    server
        .program
        .expect_stdout(&format!("client {me} disconnected"));
}

#[test]
fn the_server_survives_a_client_that_resets_mid_echo() {
    let server = Server::start("02_echo_server", &[]);
    {
        let mut rude = server.connect();
        rude.write_all(&vec![b'x'; 256 * 1024]).expect("send");
        // Dropped without reading: the echo is unread, so closing sends RST.
    }
    let mut polite = server.connect();
    polite.write_all(b"still there?").expect("send");
    assert_eq!(
        read_exact(&mut polite, 12, "an echo after a reset"),
        b"still there?"
    );
}
