//! What every network program of the course promises: a readable one-line
//! error and a non-zero exit instead of a panic, `--help` that explains
//! `--addr`, and servers that listen on 127.0.0.1 unless told otherwise.

mod common;

use common::{Program, Server, run};
use rstest::rstest;
use std::net::TcpListener;

const SERVERS: &[&str] = &[
    "02_echo_server",
    "03_reverse_server",
    "04_chat_server",
    "05_multi_server",
    "07_pool_server",
    "09_proxy",
];
const CLIENTS: &[&str] = &[
    "02_echo_client",
    "03_reverse_client",
    "04_chat_client",
    "06_multi_connect",
];

fn assert_one_line_error(stderr: &[String], expected: &str) {
    assert_eq!(
        stderr.len(),
        1,
        "expected exactly one line on stderr, got {stderr:?}"
    );
    assert!(
        stderr[0].contains(expected),
        "expected {expected:?} in {:?}",
        stderr[0]
    );
    assert!(
        !stderr[0].contains("panicked"),
        "a panic is not an error message: {:?}",
        stderr[0]
    );
}

#[rstest]
fn a_port_in_use_is_one_readable_line(
    #[values(
        "02_echo_server",
        "03_reverse_server",
        "04_chat_server",
        "05_multi_server",
        "07_pool_server",
        "09_proxy"
    )]
    server: &str,
) {
    // Hold a port so the server cannot have it.
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let addr = taken.local_addr().expect("local_addr").to_string();
    let (status, _, stderr) = run(server, &["--addr", &addr], "");
    assert!(
        !status.success(),
        "{server} should exit non-zero when the port is in use"
    );
    assert_one_line_error(&stderr, &format!("error: cannot listen on {addr}"));
}

#[rstest]
fn a_refused_connection_is_one_readable_line(
    #[values("02_echo_client", "03_reverse_client", "04_chat_client")] client: &str,
) {
    // Bind then drop: the port is (almost certainly) free and nobody listens.
    let addr = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let (status, _, stderr) = run(client, &["--addr", &addr.to_string()], "");
    assert!(
        !status.success(),
        "{client} should exit non-zero when nobody listens"
    );
    assert_one_line_error(&stderr, &format!("error: cannot connect to {addr}"));
}

#[test]
fn a_bad_flag_is_one_readable_line() {
    for name in SERVERS.iter().chain(CLIENTS) {
        let (status, _, stderr) = run(name, &["--no-such-flag"], "");
        assert_eq!(
            status.code(),
            Some(2),
            "{name} should exit with 2 on a bad flag"
        );
        assert_one_line_error(&stderr, "unexpected argument '--no-such-flag'");
    }
}

#[test]
fn help_explains_how_to_listen_elsewhere() {
    for name in SERVERS {
        let (status, stdout, _) = run(name, &["--help"], "");
        assert!(status.success());
        let help = stdout.join("\n");
        assert!(
            help.contains("0.0.0.0:PORT"),
            "{name} --help should say how to listen on every interface"
        );
        assert!(
            help.contains("[default: 127.0.0.1:"),
            "{name} should default to 127.0.0.1"
        );
    }
}

#[test]
fn servers_listen_on_loopback_by_default() {
    // Guards "binding to every interface". The default ports may be taken on
    // a developer's machine, so only the announced address is checked, and
    // only if the server could bind at all.
    for name in SERVERS {
        let program = Program::start(name, &[]);
        let line = program.next_stdout_line().unwrap_or_default();
        if let Some(addr) = line.strip_prefix("listening on ") {
            assert!(
                addr.starts_with("127.0.0.1:"),
                "{name} listens on {addr}, not on loopback"
            );
        }
    }
}

#[test]
fn a_server_announces_the_real_port_when_given_port_0() {
    let server = Server::start("03_reverse_server", &[]);
    assert_ne!(server.addr.port(), 0);
    assert!(server.addr.ip().is_loopback());
}
