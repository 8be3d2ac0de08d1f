//! How the servers stop: SIGINT and SIGTERM (Ctrl-C, `kill`, systemd, a
//! container's stop), and a console that is closed or absent.
//!
//! Every server (02, 03, 04, 05, 07, 09 and lesson 10's two) must stop
//! gracefully on either signal, with two clients connected (04, which talks to one peer and
//! refuses a second, with its one): each client gets a goodbye line or a
//! clean end of stream (never a reset), and the server exits 0 within 2 s.
//! The signal tests need Unix (the shell's `kill`); on Windows there is no
//! SIGTERM, and no portable way for a test to press Ctrl-C, so they are
//! compiled out there.
//!
//! A console server (05, 07) whose stdin is closed keeps serving and says
//! once how to stop it.

mod common;

use common::{Server, read_line};
use pretty_assertions::assert_eq;
use std::io::{BufReader, Write};
use std::net::TcpStream;

/// Sends `line` and checks the reverse server's (or the proxy's) answer,
/// so the client is known to be served.
fn ask_reversed(stream: &TcpStream, line: &str) {
    (&*stream)
        .write_all(format!("{line}\n").as_bytes())
        .expect("send a line");
    let reply = read_line(&mut BufReader::new(stream), "the reversed line");
    assert_eq!(reply, line.chars().rev().collect::<String>());
}

#[test]
fn the_pool_server_goes_on_serving_when_its_stdin_is_closed() {
    // Guards issue 20's "07_pool_server exits at once when its stdin is
    // closed (< /dev/null, a script's &, nohup)": a benchmark harness that
    // starts it without a terminal got a server that was already gone.
    let mut server = Server::start("07_pool_server", &[]);
    server.program.close_stdin();
    let notice = server.program.expect_stderr("console closed");
    assert!(
        notice.contains("Ctrl-C") && notice.contains("SIGTERM"),
        "the notice should say how to stop the server: {notice:?}"
    );
    let client = server.connect();
    ask_reversed(&client, "still here");
    assert!(server.program.is_running(), "the server should go on");
}

#[test]
fn the_room_goes_on_serving_when_its_stdin_is_closed_and_says_how_to_stop_it() {
    let mut server = Server::start("05_multi_server", &[]);
    server.program.close_stdin();
    let notice = server.program.expect_stderr("console closed");
    assert!(
        notice.contains("Ctrl-C") && notice.contains("SIGTERM"),
        "the notice should say how to stop the server: {notice:?}"
    );
    let a = common::room::Client::join(&server);
    let mut b = common::room::Client::join(&server);
    a.say("anyone?");
    b.expect(&format!("[#{}] anyone?", a.id));
}

#[cfg(unix)]
mod signals {
    use super::ask_reversed;
    use crate::common::room::Client as RoomClient;
    use crate::common::{DEADLINE, Server};
    use rstest::rstest;
    use std::io::{ErrorKind, Read, Write};
    use std::net::TcpStream;
    use std::process::Command;
    use std::time::Duration;

    /// How long a server may take to exit after the signal.
    const EXIT_WITHIN: Duration = Duration::from_secs(2);

    /// The lines a client may get last when its server stops.
    const GOODBYES: &[&str] = &[
        "* the server is shutting down",
        "error: server shutting down",
    ];

    /// A server under test, with what it needs (09's upstream server).
    struct Running {
        server: Server,
        _upstream: Option<Server>,
    }

    fn start(name: &str) -> Running {
        if name == "09_proxy" {
            let upstream = Server::start("03_reverse_server", &[]);
            let server = Server::start("09_proxy", &["--to", &upstream.addr_arg()]);
            return Running {
                server,
                _upstream: Some(upstream),
            };
        }
        Running {
            server: Server::start(name, &[]),
            _upstream: None,
        }
    }

    /// Two clients, connected in the way each server has them: served
    /// (answered), or waiting in the listener's queue (02 serves one at a
    /// time).
    fn two_clients(name: &str, server: &Server) -> Vec<TcpStream> {
        match name {
            "02_echo_server" => {
                let first = server.connect();
                (&first).write_all(b"hi\n").expect("send");
                let mut echo = [0u8; 3];
                (&first).read_exact(&mut echo).expect("the echo");
                assert_eq!(&echo, b"hi\n");
                let second = server.connect(); // waits in the queue
                vec![first, second]
            }
            // Lesson 04 talks to one peer and then stops listening: a
            // second one is refused, so only one can be connected.
            "04_chat_server" => {
                let peer = server.connect();
                server.program.expect_stderr("connected");
                vec![peer]
            }
            "05_multi_server" => {
                let a = RoomClient::join(server);
                let b = RoomClient::join(server);
                vec![a.reader.into_inner(), b.reader.into_inner()]
            }
            _ => {
                let clients = vec![server.connect(), server.connect()];
                for (i, c) in clients.iter().enumerate() {
                    ask_reversed(c, &format!("client {i}"));
                }
                clients
            }
        }
    }

    /// Sends SIG`name` to `pid` with the shell's own `kill`: every Unix has
    /// `sh`, while a `kill` program may be missing (Debian's slim images
    /// have no procps).
    fn signal(pid: u32, name: &str) {
        let status = Command::new("sh")
            .args(["-c", &format!("kill -s {name} {pid}")])
            .status()
            .expect("run sh");
        assert!(status.success(), "kill -s {name} {pid} failed");
    }

    /// What a client got after the server stopped: all of it, up to a clean
    /// end of stream. A reset or a stream that stays open fails the test.
    fn rest_of(stream: &TcpStream, who: &str) -> String {
        stream
            .set_read_timeout(Some(DEADLINE))
            .expect("set_read_timeout");
        let mut rest = Vec::new();
        match (&*stream).read_to_end(&mut rest) {
            Ok(_) => String::from_utf8_lossy(&rest).into_owned(),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("{who}: the connection stayed open after the server exited")
            }
            Err(e) => panic!("{who}: no clean end of stream: {e} (after {rest:?})"),
        }
    }

    #[rstest]
    fn a_signal_stops_the_server_gracefully_with_two_clients_connected(
        #[values(
            "02_echo_server",
            "03_reverse_server",
            "04_chat_server",
            "05_multi_server",
            "07_pool_server",
            "09_proxy",
            "10_event_loop",
            "10_async"
        )]
        name: &str,
        #[values("TERM", "INT")] sig: &str,
    ) {
        // Guards issue 20's "no server stops gracefully on SIGINT or
        // SIGTERM: each dies by the default action, with no goodbye to
        // clients, no summary, and exit status -2 or -15".
        let Running {
            mut server,
            _upstream,
        } = start(name);
        let clients = two_clients(name, &server);
        signal(server.program.pid(), sig);
        let status = server.program.wait_for_exit_within(EXIT_WITHIN);
        assert_eq!(
            status.code(),
            Some(0),
            "{name} should exit 0 on SIG{sig}, got {status}"
        );
        for (i, client) in clients.iter().enumerate() {
            let rest = rest_of(client, &format!("{name}'s client {i}"));
            // Nothing but a goodbye (and, in the room, its news: `* ...`).
            assert!(
                rest.lines()
                    .all(|l| GOODBYES.contains(&l) || l.starts_with("* ")),
                "{name}'s client {i} got {rest:?}"
            );
            if name == "05_multi_server" {
                let last = rest.lines().last();
                assert_eq!(
                    last,
                    Some(GOODBYES[0]),
                    "client {i} of the room got {rest:?}"
                );
            }
        }
    }

    #[test]
    fn a_second_signal_ends_a_shutdown_that_waits_at_once() {
        // The room's /quit waits up to 2 s for the writer of a client that
        // reads nothing. A second SIGTERM must not wait: it exits at once,
        // with 143 (128 + 15), as a process killed by SIGTERM.
        let mut server = Server::start(
            "05_multi_server",
            &[
                "--soft-limit",
                "16777216",
                "--hard-limit",
                "268435456",
                "--soft-secs",
                "60",
            ],
        );
        let _stuck = RoomClient::join(&server); // never reads again
        let talker = RoomClient::join(&server);
        // 12 MB for the stuck client: more than its socket's buffers hold,
        // so its writer thread is blocked in a write.
        let megabyte = format!("{}\n", "x".repeat(999)).repeat(1000);
        for _ in 0..12 {
            talker
                .stream()
                .write_all(megabyte.as_bytes())
                .expect("the room takes the talker's lines");
        }
        signal(server.program.pid(), "TERM");
        server
            .program
            .expect_stdout("shutting down: closing 2 clients");
        signal(server.program.pid(), "TERM");
        let status = server.program.wait_for_exit();
        assert_eq!(status.code(), Some(143), "{status}");
    }
}
