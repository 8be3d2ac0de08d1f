//! Lesson 04 end to end: the full-duplex chat server and client.
//!
//! Most tests run against either program (`Side`): the test plays the other
//! end of the connection with a plain socket, so it controls exactly what is
//! sent and when, and sees exactly what arrives.

mod common;

use common::{DEADLINE, Program, Server, read_to_eof};
use pretty_assertions::assert_eq;
use rstest::rstest;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Which program is under test.
#[derive(Debug, Clone, Copy)]
enum Side {
    Server,
    Client,
}

/// Starts the program of `side` and connects the test to it as its peer.
fn connected(side: Side) -> (Program, TcpStream) {
    match side {
        Side::Server => {
            let server = Server::start("04_chat_server", &[]);
            let peer = server.connect();
            server.program.expect_stderr("connected");
            (server.program, peer)
        }
        Side::Client => {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
            let addr = listener.local_addr().expect("local_addr").to_string();
            let client = Program::start("04_chat_client", &["--addr", &addr]);
            let peer = accept(&listener);
            client.expect_stderr("connected to");
            (client, peer)
        }
    }
}

/// Accepts one connection, failing the test if none comes in time.
fn accept(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(true).expect("set_nonblocking");
    let deadline = Instant::now() + DEADLINE;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).expect("set_nonblocking");
                stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
                stream.set_write_timeout(Some(DEADLINE)).expect("timeout");
                return stream;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                assert!(
                    Instant::now() < deadline,
                    "the chat client did not connect within {DEADLINE:?}"
                );
                thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("accept failed: {e}"),
        }
    }
}

#[test]
fn both_directions_flow_at_once_between_server_and_client() {
    let mut server = Server::start("04_chat_server", &[]);
    let mut client = Program::start("04_chat_client", &["--addr", &server.addr_arg()]);
    server.program.expect_stderr("connected");
    client.expect_stderr("connected to");

    // No turn taking: the server says two things before the client has said
    // anything, and the client says something before it answers those.
    server
        .program
        .type_in("first from the server\nsecond, without waiting\n");
    client.type_in("the client speaks meanwhile\n");
    assert_eq!(
        client.next_stdout_line().as_deref(),
        Some("first from the server")
    );
    assert_eq!(
        client.next_stdout_line().as_deref(),
        Some("second, without waiting")
    );
    assert_eq!(
        server.program.next_stdout_line().as_deref(),
        Some("the client speaks meanwhile")
    );

    // The client leaves; the server sees it and ends; then so does the client.
    client.type_in("exit\n");
    server.program.expect_stderr("closed the connection");
    assert!(server.program.wait_for_exit().success());
    client.expect_stderr("closed the connection");
    assert!(client.wait_for_exit().success());
}

#[rstest]
fn the_peer_closing_ends_the_program_even_while_its_input_is_open(
    #[values(Side::Server, Side::Client)] side: Side,
) {
    // Guards "after the peer closes, recv() returns b'' forever and the
    // receive loop spins": the original never ended here.
    let (mut program, mut peer) = connected(side);
    peer.write_all(b"last words\n").expect("send");
    drop(peer);
    assert_eq!(program.next_stdout_line().as_deref(), Some("last words"));
    program.expect_stderr("closed the connection");
    // stdin is still open, and its thread blocked reading it: the program
    // must end anyway.
    let status = program.wait_for_exit();
    assert!(status.success(), "{side:?} exited with {status}");
    assert_eq!(program.rest_of_stdout(), Vec::<String>::new());
}

#[rstest]
fn the_end_of_input_half_closes_and_the_peers_last_bytes_still_arrive(
    #[values(Side::Server, Side::Client)] side: Side,
    #[values("exit\n", "")] last_typed: &str,
) {
    let (mut program, mut peer) = connected(side);
    program.type_in("goodbye\n");
    if last_typed.is_empty() {
        program.close_stdin(); // Ctrl-D
    } else {
        program.type_in(last_typed);
    }
    // The peer sees the end of the stream (the half-close), and `exit`
    // itself is not sent.
    assert_eq!(
        read_to_eof(&mut peer, "after the user's exit"),
        b"goodbye\n"
    );
    // Our direction is closed, the peer's is not: its last words arrive.
    peer.write_all(b"goodbye to you too\n").expect("send");
    peer.shutdown(Shutdown::Write).expect("shutdown");
    assert_eq!(
        program.next_stdout_line().as_deref(),
        Some("goodbye to you too")
    );
    assert!(program.wait_for_exit().success());
}

#[rstest]
fn bytes_pass_unchanged_even_without_newlines(#[values(Side::Server, Side::Client)] side: Side) {
    // The original Python client sends what was typed without a newline.
    // Nothing may wait for a newline, and nothing may be added or changed.
    let (mut program, mut peer) = connected(side);
    peer.write_all(b"Hello").expect("send");
    peer.flush().expect("flush");
    peer.write_all(" world, héllo".as_bytes()).expect("send");
    program.type_in("typed, no newline at the end");
    program.close_stdin();
    assert_eq!(
        read_to_eof(&mut peer, "what was typed"),
        b"typed, no newline at the end"
    );
    drop(peer);
    assert!(program.wait_for_exit().success());
    assert_eq!(program.rest_of_stdout(), vec!["Hello world, héllo"]);
}

#[test]
fn a_message_without_newline_is_shown_at_once() {
    // stdout is line-buffered: without a flush after each read, "Hello"
    // would sit in the buffer until a newline came, and the Python client
    // never sends one. The harness reads whole lines, so read the raw bytes
    // of the client's stdout here.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let addr = listener.local_addr().expect("local_addr").to_string();
    let mut child = KillOnDrop(
        Command::new(common::example_path("04_chat_client"))
            .args(["--addr", &addr])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start 04_chat_client"),
    );
    let mut stdout = child.0.stdout.take().expect("piped");
    let (chunks, received) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = [0u8; 64];
        while let Ok(n @ 1..) = stdout.read(&mut buf) {
            if chunks.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut peer = accept(&listener);
    peer.write_all(b"Hello").expect("send");
    let shown = received
        .recv_timeout(DEADLINE)
        .expect("\"Hello\" should appear on stdout without waiting for a newline");
    assert_eq!(shown, b"Hello");
}

/// Kills the child process when the test ends, pass or fail.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_second_peer_is_refused_while_the_first_one_talks() {
    let server = Server::start("04_chat_server", &[]);
    let _first = server.connect();
    server.program.expect_stderr("connected");
    let second = TcpStream::connect_timeout(&server.addr, DEADLINE);
    assert!(
        matches!(&second, Err(e) if e.kind() == ErrorKind::ConnectionRefused),
        "a second peer should be refused at once, got {second:?}"
    );
}
