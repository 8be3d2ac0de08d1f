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

/// Issue 25, class 6: an accept that fails for the server's own reasons
/// (out of file descriptors, `EMFILE`) must not end the server. Produced
/// for real: the server runs with a low descriptor limit (`ulimit -n`, set
/// by `sh` before it `exec`s the program, so no unsafe code is needed),
/// and more clients connect than it has descriptors for. This is a test of
/// the programs, not a student check: the checks run the student's
/// function on a thread of the checks' own process, whose limit they must
/// not lower.
#[cfg(unix)]
mod out_of_descriptors {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::process::{Child, Command, Stdio};
    use std::sync::mpsc;
    use std::thread;

    use super::DEADLINE;

    /// The server's descriptor limit: its standard streams, its listener
    /// and the runtime's own take a few; clients take the rest.
    const LIMIT: usize = 32;
    /// Clients that connect at once: more than the server has room for.
    const CLIENTS: usize = 3 * LIMIT;

    /// What the server's output said, line by line, or that it ended.
    enum Said {
        Line(String),
        Ended,
    }

    /// A server program under `ulimit -n LIMIT`, killed at the end.
    struct Limited {
        child: Child,
        said: mpsc::Receiver<Said>,
        addr: SocketAddr,
    }

    impl Limited {
        fn start(program: &str, args: &[&str], wrong: Option<&str>) -> Limited {
            let mut command = Command::new("sh");
            command
                .arg("-c")
                .arg(format!("ulimit -n {LIMIT} && exec \"$0\" \"$@\""))
                .arg(program)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            if let Some(wrong) = wrong {
                command.env(WRONG, wrong);
            }
            let mut child = command.spawn().expect("start sh");
            let (tx, said) = mpsc::channel();
            // Both streams, line by line, on one channel; the end of
            // stdout is the program's end (nothing else holds the pipe).
            let out = child.stdout.take().expect("stdout is piped");
            let err = child.stderr.take().expect("stderr is piped");
            let tx_err = tx.clone();
            let stderr_read = thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    let _ = tx_err.send(Said::Line(line));
                }
            });
            thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send(Said::Line(line));
                }
                // A program's last words are often on stderr ("error: ..."):
                // report the end only once both streams are read out.
                let _ = stderr_read.join();
                let _ = tx.send(Said::Ended);
            });
            let mut limited = Limited {
                child,
                said,
                addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            };
            // (Inside a line: the test harness starts the line first.)
            let first = limited
                .wait_for(|line| line.contains("listening on "))
                .expect("the server announces its port");
            limited.addr = first
                .split("listening on ")
                .nth(1)
                .and_then(|addr| addr.trim().parse().ok())
                .expect("listening on IP:PORT");
            limited
        }

        /// The first line that `wanted` accepts, or `Err` with everything
        /// said if the program ended first (or said nothing more within
        /// the deadline).
        fn wait_for(&self, wanted: impl Fn(&str) -> bool) -> Result<String, String> {
            let mut seen = Vec::new();
            loop {
                match self.said.recv_timeout(DEADLINE) {
                    Ok(Said::Line(line)) if wanted(&line) => return Ok(line),
                    Ok(Said::Line(line)) => seen.push(line),
                    Ok(Said::Ended) => {
                        return Err(format!("the server ended; it said:\n{}", seen.join("\n")));
                    }
                    Err(_) => {
                        return Err(format!(
                            "nothing more within {DEADLINE:?}; the server said:\n{}",
                            seen.join("\n")
                        ));
                    }
                }
            }
        }
    }

    impl Drop for Limited {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// Runs the server, makes its accepts fail with "too many open files",
    /// frees the descriptors, and asks whether a new client is served.
    fn serves_after_running_out(
        program: &str,
        args: &[&str],
        wrong: Option<&str>,
    ) -> Result<(), String> {
        let server = Limited::start(program, args, wrong);
        let mut clients = Vec::new();
        for _ in 0..CLIENTS {
            // The system completes a connection before the server accepts
            // it, so connects succeed while the server lives. A server that
            // ends at its first failed accept closes its port mid-way, and
            // the rest are refused: stop there, its output tells the rest.
            let Ok(client) = TcpStream::connect_timeout(&server.addr, DEADLINE) else {
                break;
            };
            let _ = (&client).write_all(b"hi\n");
            clients.push(client);
        }
        // The event that proves the limit was reached: the error logged
        // (by a server that survives it) or printed (by one that does not).
        server
            .wait_for(|line| line.to_lowercase().contains("too many open files"))
            .map_err(|e| format!("the server never ran out of descriptors: {e}"))?;
        drop(clients);
        // Whatever fails from here on, the server's state says why: it
        // ended (its output closed), or it runs and said nothing more.
        let why = |what: String| format!("{what}; {}", server.wait_for(|_| false).unwrap_err());
        let client = TcpStream::connect_timeout(&server.addr, DEADLINE)
            .map_err(|e| why(format!("after running out of descriptors, connect: {e}")))?;
        client
            .set_read_timeout(Some(DEADLINE))
            .map_err(|e| e.to_string())?;
        (&client)
            .write_all(b"still there?\n")
            .map_err(|e| why(format!("after running out of descriptors, send: {e}")))?;
        let mut back = [0u8; 13];
        (&client)
            .read_exact(&mut back)
            .map_err(|e| why(format!("after running out of descriptors, no echo ({e})")))?;
        if &back != b"still there?\n" {
            return Err(format!("got {:?} back", String::from_utf8_lossy(&back)));
        }
        Ok(())
    }

    #[test]
    fn the_echo_server_survives_an_accept_that_fails_for_want_of_descriptors() {
        serves_after_running_out(
            env!("CARGO_BIN_EXE_echo_server"),
            &["--addr", "127.0.0.1:0"],
            None,
        )
        .unwrap();
    }

    /// The variable that makes this test program a wrong echo server (see
    /// [`a_wrong_echo_server_when_asked_to_be_one`]).
    const WRONG: &str = "SOLUTIONS_WRONG_ECHO_SERVER";

    #[test]
    fn an_accept_loop_that_ends_at_the_first_failed_accept_is_caught() {
        let me = std::env::current_exe().expect("the test program's path");
        let me = me.to_str().expect("a path in UTF-8");
        let args = [
            "--exact",
            "out_of_descriptors::a_wrong_echo_server_when_asked_to_be_one",
            "--nocapture",
            "--test-threads=1",
        ];
        for shape in [
            "incoming_with_question_mark",
            "accept_in_a_loop_with_question_mark",
        ] {
            let outcome = serves_after_running_out(me, &args, Some(shape));
            let Err(why) = outcome else {
                panic!("{shape}: the server survived, though it ends at the first failed accept");
            };
            assert!(why.contains("the server ended"), "{shape}: {why}");
        }
    }

    /// Not a test of its own: when [`WRONG`] is set, this test program,
    /// run by the test above, becomes a wrong echo server of that shape.
    /// Otherwise it does nothing.
    #[test]
    fn a_wrong_echo_server_when_asked_to_be_one() {
        let Ok(shape) = std::env::var(WRONG) else {
            return;
        };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        println!("listening on {}", listener.local_addr().expect("address"));
        let echo = |stream: TcpStream| {
            thread::spawn(move || std::io::copy(&mut &stream, &mut &stream));
        };
        let result: std::io::Result<()> = (|| {
            if shape == "incoming_with_question_mark" {
                for stream in listener.incoming() {
                    echo(stream?);
                }
            } else {
                loop {
                    let (stream, _) = listener.accept()?;
                    echo(stream);
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
