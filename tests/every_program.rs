//! What every network program of the course promises: a readable one-line
//! error and a non-zero exit instead of a panic, `--help` that explains
//! `--addr`, and servers that listen on 127.0.0.1 unless told otherwise.

mod common;

use common::peers::Peer;
use common::{Program, Server, run};
use pretty_assertions::assert_eq;
use rstest::rstest;
use std::net::TcpListener;
use std::time::{Duration, Instant};

const SERVERS: &[&str] = &[
    "02_echo_server",
    "03_reverse_server",
    "04_chat_server",
    "05_multi_server",
    "07_pool_server",
    "09_proxy",
    "10_event_loop",
    "10_async",
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
        "09_proxy",
        "10_event_loop",
        "10_async",
        "03_frames"
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

/// The ways a client's server can fail it, each made on this machine.
#[derive(Debug, Clone, Copy)]
enum Failure {
    /// A listener that never answers (`Peer::silent`).
    Silent,
    /// A listener whose queue is full, so even the connect gets no answer.
    FullBacklog,
    /// A closed local port: bound, then let go.
    Refused,
    /// A peer that resets the connection once the client has sent something.
    Reset,
    /// `127.0.0.1:notaport`: fails before any lookup or connection.
    BadAddress,
}

/// Replaces the system's error codes, which differ between platforms
/// (`os error 111` is a refusal on Linux, 61 on macOS, 10061 on Windows),
/// with `N`.
fn without_error_codes(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("(os error ") {
        let (before, after) = rest.split_at(at + "(os error ".len());
        out.push_str(before);
        out.push('N');
        rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

#[test]
fn error_codes_are_replaced_whatever_the_platform() {
    assert_eq!(
        without_error_codes("refused (os error 10061); reset (os error 104)"),
        "refused (os error N); reset (os error N)"
    );
}

/// Every client program fails the same friendly way: a timeout says what was
/// awaited and for how long; a refusal, a reset and a bad address are said
/// in words. `{addr}` stands for the address the client was given; the
/// system's error code is `N` on every platform.
#[rstest]
// 02: the echo client (`--timeout` bounds the whole exchange).
#[case::echo_silent("02_echo_client", &[], "", Failure::Silent,
    "error: no complete echo within 0.5 s")]
#[case::echo_refused("02_echo_client", &[], "", Failure::Refused,
    "error: cannot connect to {addr}: connection refused: nothing is listening there (os error N)")]
#[case::echo_reset("02_echo_client", &[], "", Failure::Reset,
    "error: connection reset by the other side (os error N)")]
#[case::echo_bad_address("02_echo_client", &[], "", Failure::BadAddress,
    "error: cannot connect to {addr}: \"notaport\" is not a port: expected a number from 0 to 65535")]
// 03: the reverse client.
#[case::reverse_silent("03_reverse_client", &[], "", Failure::Silent,
    "error: no reply within 0.5 s")]
#[case::reverse_refused("03_reverse_client", &[], "", Failure::Refused,
    "error: cannot connect to {addr}: connection refused: nothing is listening there (os error N)")]
#[case::reverse_reset("03_reverse_client", &[], "", Failure::Reset,
    "error: connection reset by the other side (os error N)")]
#[case::reverse_bad_address("03_reverse_client", &[], "", Failure::BadAddress,
    "error: cannot connect to {addr}: \"notaport\" is not a port: expected a number from 0 to 65535")]
// 04: the chat client. Once connected, silence is a conversation, not a
// failure, so its timeout is the connect's: against a full queue.
#[case::chat_connect_timeout("04_chat_client", &[], "", Failure::FullBacklog,
    "error: cannot connect to {addr}: no connection within 0.5 s")]
#[case::chat_refused("04_chat_client", &[], "", Failure::Refused,
    "error: cannot connect to {addr}: connection refused: nothing is listening there (os error N)")]
#[case::chat_reset("04_chat_client", &[], "hello\n", Failure::Reset,
    "error: cannot receive: connection reset by the other side (os error N)")]
#[case::chat_bad_address("04_chat_client", &[], "", Failure::BadAddress,
    "error: cannot connect to {addr}: \"notaport\" is not a port: expected a number from 0 to 65535")]
// 06: one line per server on stdout, then `error: 1 of 1 servers failed`.
#[case::fan_out_silent("06_multi_connect", &[], "", Failure::Silent,
    "{addr}: failed: no reply within 0.5 s")]
#[case::fan_out_refused("06_multi_connect", &[], "", Failure::Refused,
    "{addr}: failed: connection refused: nothing is listening there (os error N)")]
#[case::fan_out_reset("06_multi_connect", &[], "", Failure::Reset,
    "{addr}: failed: connection reset by the other side (os error N)")]
#[case::fan_out_bad_address("06_multi_connect", &[], "", Failure::BadAddress,
    "{addr}: failed: \"notaport\" is not a port: expected a number from 0 to 65535")]
// 08: the load generator says what failed first.
#[case::load_silent("08_load", &["pingpong", "--clients", "1", "--messages", "1"], "", Failure::Silent,
    "error: some replies were wrong or missing; the first: no reply within 0.5 s")]
#[case::load_refused("08_load", &["pingpong"], "", Failure::Refused,
    "error: cannot connect to {addr}: connection refused: nothing is listening there (os error N)")]
#[case::load_reset("08_load", &["pingpong", "--clients", "1", "--messages", "1"], "", Failure::Reset,
    "error: some replies were wrong or missing; the first: connection reset by the other side (os error N)")]
#[case::load_bad_address("08_load", &["pingpong"], "", Failure::BadAddress,
    "error: cannot connect to {addr}: \"notaport\" is not a port: expected a number from 0 to 65535")]
fn every_client_fails_the_same_friendly_way(
    #[case] program: &str,
    #[case] args: &[&str],
    #[case] typed: &str,
    #[case] failure: Failure,
    #[case] expected: &str,
) {
    let (_peer, addr) = match failure {
        Failure::Silent => {
            let peer = Peer::silent();
            let addr = peer.addr.to_string();
            (Some(peer), addr)
        }
        Failure::FullBacklog => match Peer::full_backlog() {
            Ok(peer) if cfg!(any(target_os = "linux", target_os = "macos")) => {
                let addr = peer.addr.to_string();
                (Some(peer), addr)
            }
            Ok(_) => {
                common::skip("a full listen queue refuses at once on Windows: no timeout to see");
                return;
            }
            Err(why) => {
                common::skip(&why);
                return;
            }
        },
        Failure::Refused => {
            // Bind then drop: the port is (almost certainly) free and nobody listens.
            let addr = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port");
            (None, addr.to_string())
        }
        Failure::Reset => {
            let peer = Peer::resetting();
            let addr = peer.addr.to_string();
            (Some(peer), addr)
        }
        Failure::BadAddress => (None, "127.0.0.1:notaport".to_string()),
    };
    let mut all = args.to_vec();
    all.extend_from_slice(&["--addr", &addr, "--timeout", "0.5"]);
    let started = Instant::now();
    let mut client = Program::start(program, &all);
    let (status, stdout, stderr) = if typed.is_empty() {
        common::finish(&mut client, "")
    } else {
        // Typed, and the input left open: the user is still there.
        client.type_in(typed);
        let status = client.wait_for_exit();
        (status, client.rest_of_stdout(), client.stderr())
    };
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{program} took {:?} to fail",
        started.elapsed()
    );
    assert!(
        !status.success(),
        "{program} should fail: {stdout:?} {stderr:?}"
    );
    let expected = expected.replace("{addr}", &addr);
    let seen: Vec<String> = stdout
        .iter()
        .chain(&stderr)
        .map(|l| without_error_codes(l))
        .collect();
    assert!(
        seen.contains(&expected),
        "{program} against {failure:?} should print {expected:?}; it printed {seen:?}"
    );
    assert!(
        !seen.iter().any(|l| l.contains("panicked")),
        "a panic is not an error message: {seen:?}"
    );
}

#[rstest]
fn a_bad_listening_address_is_one_readable_line(
    #[values(
        "02_echo_server",
        "03_reverse_server",
        "04_chat_server",
        "05_multi_server",
        "07_pool_server",
        "09_proxy",
        "10_event_loop",
        "10_async",
        "03_frames"
    )]
    server: &str,
) {
    let (status, _, stderr) = run(server, &["--addr", "127.0.0.1:notaport"], "");
    assert_eq!(status.code(), Some(1), "{stderr:?}");
    assert_eq!(
        stderr,
        vec![
            "error: cannot listen on 127.0.0.1:notaport: \"notaport\" is not a port: expected a \
             number from 0 to 65535"
        ]
    );
}
