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

/// Starts the course's echo client against `server` with a timeout long
/// enough to wait for its turn, and checks that it is still waiting.
fn waiting_echo_client(server: &Server) -> common::Program {
    let mut client = common::Program::start(
        "02_echo_client",
        &["--addr", &server.addr_arg(), "--timeout", "60"],
    );
    // The one wait on purpose: "still waiting" cannot be signalled.
    thread::sleep(Duration::from_millis(300));
    assert!(
        client.is_running(),
        "the second client should wait while the first is served: {:?}",
        client.stderr_so_far()
    );
    client
}

#[test]
fn the_echo_client_is_served_once_the_first_client_half_closes() {
    // What lesson 02's "Try this" tells the reader to do with `nc -N`:
    // type a line, leave the connection open, start the course's client
    // (it waits), then press Ctrl-D, which makes `nc -N` half-close. The
    // server finishes the first client's echo, closes, and serves the next.
    let server = Server::start("02_echo_server", &[]);
    let first = server.connect();
    (&first).write_all(b"typed in nc\n").expect("send");
    assert_eq!(
        read_exact(&mut &first, 12, "the first client's echo"),
        b"typed in nc\n"
    );
    let mut second = waiting_echo_client(&server);
    first
        .shutdown(Shutdown::Write)
        .expect("half-close, as nc -N does");
    assert_eq!(
        common::read_to_eof(&mut &first, "the server closes after the half-close"),
        b""
    );
    let (status, stdout, stderr) = common::finish(&mut second, "");
    assert!(status.success(), "{stderr:?}");
    assert_eq!(stdout, vec!["received: Hello, server"]);
}

#[test]
fn with_netcat_openbsd_ctrl_d_and_dash_capital_n_lets_the_next_client_in() {
    // The same with the real tool, where it is netcat-openbsd (the one
    // whose usage mentions -N): closing its input is the reader's Ctrl-D.
    if !common::tools_installed(&["nc"]) {
        return;
    }
    let usage = std::process::Command::new("nc")
        .arg("-h")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout)
        })
        .unwrap_or_default();
    if !usage.contains("OpenBSD") || !usage.contains("-N") {
        common::skip("this nc is not netcat-openbsd (no -N): the Try this names each variant");
        return;
    }
    let server = Server::start("02_echo_server", &[]);
    let mut nc = Killed(
        std::process::Command::new("nc")
            .args(["-N", "127.0.0.1", &server.addr.port().to_string()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start nc"),
    );
    let mut nc_in = nc.0.stdin.take().expect("nc's stdin");
    let nc_out = nc.0.stdout.take().expect("nc's stdout");
    // A pipe has no read timeout: read nc's output on a thread, and wait
    // for it with a deadline.
    let (line_tx, line) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut echoed = String::new();
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(nc_out), &mut echoed);
        let _ = line_tx.send(echoed);
    });
    nc_in.write_all(b"typed in nc\n").expect("type into nc");
    assert_eq!(
        line.recv_timeout(common::DEADLINE)
            .expect("nc prints the echo"),
        "typed in nc\n"
    );
    let mut second = waiting_echo_client(&server);
    drop(nc_in); // Ctrl-D
    let (status, stdout, stderr) = common::finish(&mut second, "");
    assert!(status.success(), "{stderr:?}");
    assert_eq!(stdout, vec!["received: Hello, server"]);
}

/// A child process that is killed when the test ends, pass or fail.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
