//! The exercises' programs (`cargo run -p solutions --bin NAME`), run as a
//! student runs them: servers announce `listening on IP:PORT`, clients talk
//! to them, and errors are one readable line. They run the reference
//! answers here; with `-p exercises` the same programs run the student's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use pretty_assertions::assert_eq;

const DEADLINE: Duration = Duration::from_secs(10);

/// A server program, killed when the test ends, pass or fail.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(program: &str) -> Server {
        Server::start_with(program, &[])
    }

    /// The server with more arguments after `--addr 127.0.0.1:0`.
    fn start_with(program: &str, args: &[&str]) -> Server {
        let mut child = Command::new(program)
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout);
            let mut first = String::new();
            let _ = lines.read_line(&mut first);
            let _ = tx.send(first);
            // Keep reading: a closed pipe would make the server's next
            // println! fail (and panic) when it logs a client.
            let _ = std::io::copy(&mut lines, &mut std::io::sink());
        });
        let first = rx
            .recv_timeout(DEADLINE)
            .expect("the server prints its first line in time");
        let addr = first
            .trim_end()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| {
                panic!("the first line should be `listening on IP:PORT`: {first:?}")
            });
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a program to its end with `stdin`, under a deadline.
fn run(program: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the program");
    let mut input = child.stdin.take().expect("stdin is piped");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(DEADLINE)
        .expect("the program ends in time")
        .expect("the program ran")
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, DEADLINE).expect("connect");
    stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
    stream
}

#[test]
fn the_echo_server_announces_its_port_and_echoes_two_clients_at_once() {
    let server = Server::start(env!("CARGO_BIN_EXE_echo_server"));
    let mut first = connect(server.addr);
    let mut second = connect(server.addr);
    for (stream, text) in [(&mut second, b"second\n"), (&mut first, b"first!\n")] {
        stream.write_all(text).expect("send");
        let mut back = [0u8; 7];
        stream.read_exact(&mut back).expect("the echo");
        assert_eq!(&back, text);
    }
}

#[test]
fn the_exit_client_prints_each_reply_and_stops_at_exit() {
    let server = Server::start(env!("CARGO_BIN_EXE_echo_server"));
    let out = run(
        env!("CARGO_BIN_EXE_exit_client"),
        &["--addr", &server.addr.to_string()],
        "hello\nexiting soon\n exit \nnot sent\n",
    );
    assert!(out.status.success(), "exit status {:?}", out.status);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello\nexiting soon\n"
    );
}

#[test]
fn the_reverse_server_serves_each_client_with_reverse_lines() {
    let server = Server::start(env!("CARGO_BIN_EXE_reverse_server"));
    let stream = connect(server.addr);
    (&stream).write_all("héllo\n".as_bytes()).expect("send");
    let mut reply = String::new();
    BufReader::new(&stream)
        .read_line(&mut reply)
        .expect("a reply");
    assert_eq!(reply, "olléh\n");
}

#[test]
fn fan_out_prints_every_answer_in_order_and_fails_when_a_server_is_down() {
    let first = Server::start(env!("CARGO_BIN_EXE_echo_server"));
    let second = Server::start(env!("CARGO_BIN_EXE_reverse_server"));
    let down = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let (a, b, c) = (
        first.addr.to_string(),
        second.addr.to_string(),
        down.to_string(),
    );
    let out = run(
        env!("CARGO_BIN_EXE_fan_out"),
        &[
            "--addr",
            &a,
            "--addr",
            &b,
            "--addr",
            &c,
            "--question",
            "abc",
        ],
        "",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "one line per server: {stdout}");
    assert_eq!(lines[0], format!("{a}: abc"));
    assert_eq!(lines[1], format!("{b}: cba"));
    assert!(lines[2].starts_with(&format!("{c}: failed: ")), "{stdout}");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn the_event_loop_serves_a_second_client_while_the_first_is_mid_line() {
    let server = Server::start_with(env!("CARGO_BIN_EXE_event_loop"), &["--max-line", "8"]);
    let first = connect(server.addr);
    let second = connect(server.addr);
    let mut first_replies = BufReader::new(&first);
    let mut second_replies = BufReader::new(&second);
    // Half a line from the first client: one thread serves both, and it
    // may not wait for the rest.
    (&first).write_all(b"hal").expect("send");
    (&second).write_all("héllo\n".as_bytes()).expect("send");
    let mut reply = String::new();
    second_replies.read_line(&mut reply).expect("a reply");
    assert_eq!(reply, "olléh\n");
    (&first).write_all(b"ves\n").expect("send");
    reply.clear();
    first_replies.read_line(&mut reply).expect("a reply");
    assert_eq!(reply, "sevlah\n");
    // --max-line 8: nine bytes without a \n are a line too long.
    (&second).write_all(b"123456789").expect("send");
    reply.clear();
    second_replies.read_line(&mut reply).expect("an error");
    assert!(reply.starts_with("error: "), "{reply:?}");
    reply.clear();
    assert_eq!(second_replies.read_line(&mut reply).expect("the end"), 0);
}

#[test]
fn a_port_in_use_is_one_readable_line_and_a_non_zero_exit() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let addr = taken.local_addr().expect("local_addr").to_string();
    for server in [
        env!("CARGO_BIN_EXE_echo_server"),
        env!("CARGO_BIN_EXE_reverse_server"),
        env!("CARGO_BIN_EXE_console_router"),
        env!("CARGO_BIN_EXE_proxy"),
        env!("CARGO_BIN_EXE_event_loop"),
    ] {
        let out = run(server, &["--addr", &addr], "");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{server}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{server}: {stderr}");
        assert!(
            stderr.starts_with(&format!("error: cannot listen on {addr}")),
            "{server}: {stderr}"
        );
    }
}

#[test]
fn the_pool_server_turns_a_client_away_when_busy_and_shuts_down_on_quit() {
    let mut server = Server::start(env!("CARGO_BIN_EXE_pool_server"));
    // Started with the defaults: 2 workers, 4 places. Two clients are
    // served; four wait; the seventh is told the server is busy.
    let served: Vec<TcpStream> = (0..2).map(|_| connect(server.addr)).collect();
    for stream in &served {
        (&*stream).write_all(b"abc\n").expect("send");
        let mut reply = String::new();
        BufReader::new(stream)
            .read_line(&mut reply)
            .expect("a reply");
        assert_eq!(reply, "cba\n");
    }
    let waiting: Vec<TcpStream> = (0..4).map(|_| connect(server.addr)).collect();
    let mut turned_away = String::new();
    BufReader::new(connect(server.addr))
        .read_line(&mut turned_away)
        .expect("a line");
    assert_eq!(turned_away, "error: server busy\n");
    drop(waiting);
    drop(served);
    let stdin = server.child.stdin.as_mut().expect("stdin is piped");
    stdin.write_all(b"/quit\n").expect("type /quit");
    let deadline = std::time::Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the pool server did not shut down within {DEADLINE:?} of /quit"
        );
        thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn the_load_client_finds_nothing_wrong_with_the_echo_server() {
    let server = Server::start(env!("CARGO_BIN_EXE_echo_server"));
    let out = run(
        env!("CARGO_BIN_EXE_load"),
        &["--addr", &server.addr.to_string(), "--lines", "5000"],
        "",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "5000 lines sent: 5000 back in order, 0 reordered, 0 lost, 0 torn replies\n"
    );
}

#[test]
fn the_proxy_forwards_both_ways_and_passes_the_half_close_on() {
    let server = Server::start(env!("CARGO_BIN_EXE_reverse_server"));
    let to = server.addr.to_string();
    let proxy = Server::start_with(env!("CARGO_BIN_EXE_proxy"), &["--to", &to]);
    let client = connect(proxy.addr);
    (&client)
        .write_all("héllo\nabc\n".as_bytes())
        .expect("send");
    // The client has said everything: the reverse server answers, sees the
    // end of the stream, and closes; the client reads to the end.
    client
        .shutdown(std::net::Shutdown::Write)
        .expect("half-close");
    let mut replies = String::new();
    (&client)
        .read_to_string(&mut replies)
        .expect("the replies, then the end of the stream");
    assert_eq!(replies, "olléh\ncba\n");
}

#[test]
fn the_proxy_refuses_a_server_address_that_cannot_work_in_one_line() {
    let out = run(
        env!("CARGO_BIN_EXE_proxy"),
        &["--addr", "127.0.0.1:0", "--to", "127.0.0.1:notaport"],
        "",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        "error: cannot forward to 127.0.0.1:notaport: \"notaport\" is not a port: expected a \
         number from 0 to 65535\n"
    );
}
