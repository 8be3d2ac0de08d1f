//! Lesson 06 end to end: one client asking several servers at once.

mod common;

use common::closed_output::{ClosedOutput, assert_failed_cleanly, assert_says_stdout_is_closed};
use common::{DEADLINE, Server, run};
use pretty_assertions::assert_eq;
use rstest::rstest;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// An address where nobody listens: bound, then released.
fn down_addr() -> String {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .to_string()
}

#[test]
fn servers_that_are_down_or_silent_cost_no_more_than_the_timeout_all_together() {
    let reverse = Server::start("03_reverse_server", &[]);
    let echo = Server::start("02_echo_server", &[]);
    let down = down_addr();
    // Silent servers: the system accepts the connection into the listener's
    // queue, but nobody ever reads or answers.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let also_silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent = silent.local_addr().expect("addr").to_string();
    let also_silent = also_silent.local_addr().expect("addr").to_string();
    let timeout = Duration::from_secs(2);

    let started = Instant::now();
    let (status, stdout, stderr) = run(
        "06_multi_connect",
        &[
            "--message",
            "héllo",
            "--timeout",
            "2",
            "--addr",
            &silent,
            "--addr",
            &reverse.addr_arg(),
            "--addr",
            &down,
            "--addr",
            &echo.addr_arg(),
            "--addr",
            &also_silent,
        ],
        "",
    );
    let elapsed = started.elapsed();

    // In the order given, although the silent server answered last.
    assert_eq!(
        stdout,
        vec![
            format!("{silent}: failed: no reply within 2 s"),
            format!("{}: olléh", reverse.addr),
            format!(
                "{down}: failed: connection refused: nothing is listening there (os error {})",
                refused_code(&down)
            ),
            format!("{}: héllo", echo.addr),
            format!("{also_silent}: failed: no reply within 2 s"),
        ]
    );
    assert_eq!(stderr, vec!["error: 3 of 5 servers failed"]);
    assert_eq!(status.code(), Some(1));
    // Asked one after the other, the two silent servers alone would take
    // twice the timeout. All at once, the whole run takes the timeout plus
    // the time to start a process.
    assert!(
        elapsed >= timeout,
        "a silent server must be given the whole timeout, the run took {elapsed:?}"
    );
    assert!(
        elapsed < timeout + Duration::from_secs(1),
        "the run took {elapsed:?}, more than the {timeout:?} timeout plus a small margin"
    );
}

#[test]
fn when_every_server_answers_the_exit_code_is_0() {
    let reverse = Server::start("03_reverse_server", &[]);
    let echo = Server::start("02_echo_server", &[]);
    let (status, stdout, stderr) = run(
        "06_multi_connect",
        &["--addr", &echo.addr_arg(), "--addr", &reverse.addr_arg()],
        "",
    );
    assert_eq!(
        stdout,
        vec![
            format!("{}: Hello, server", echo.addr),
            format!("{}: revres ,olleH", reverse.addr),
        ]
    );
    assert_eq!(stderr, Vec::<String>::new());
    assert!(status.success());
}

#[test]
fn the_message_must_be_one_line() {
    let (status, stdout, stderr) = run(
        "06_multi_connect",
        &["--addr", &down_addr(), "--message", "two\nlines"],
        "",
    );
    assert_eq!(status.code(), Some(1));
    assert_eq!(stdout, Vec::<String>::new());
    assert_eq!(stderr, vec!["error: the message must be a single line"]);
}

#[rstest]
#[case::one(1)]
#[case::three(3)]
fn silent_servers_cost_the_timeout_once_however_many(#[case] silent: usize) {
    // The chapter's "Try this": one silent server, then three, with
    // `--timeout 1`; local listeners that never answer play the silent
    // servers (as `nc -l` does until you type).
    let listeners: Vec<TcpListener> = (0..silent)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    let mut args = vec!["--timeout".to_string(), "1".to_string()];
    for listener in &listeners {
        args.push("--addr".to_string());
        args.push(listener.local_addr().expect("addr").to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // Each silent server notes when the client connected and when it
    // closed: the time the timeouts cost, without the start and the exit
    // of the process, which a busy machine can delay by seconds.
    let started = Instant::now();
    let (seen, sightings) = mpsc::channel();
    for listener in listeners {
        let seen = seen.clone();
        thread::spawn(move || {
            if let Ok((stream, _)) = listener.accept() {
                let connected = started.elapsed();
                let _ = stream.set_read_timeout(Some(DEADLINE));
                // Its question, then the end of the stream (or a reset).
                let _ = (&stream).read_to_end(&mut Vec::new());
                let _ = seen.send((connected, started.elapsed()));
            }
        });
    }
    let (status, stdout, _) = run("06_multi_connect", &args, "");
    assert_eq!(status.code(), Some(1));
    assert_eq!(stdout.len(), silent);
    assert!(
        stdout
            .iter()
            .all(|l| l.ends_with(": failed: no reply within 1 s"))
    );
    let spans: Vec<(Duration, Duration)> = (0..silent)
        .map(|_| {
            sightings
                .recv_timeout(DEADLINE)
                .expect("every silent server sees the client connect and close")
        })
        .collect();
    let first = spans.iter().map(|s| s.0).min().expect("a server");
    let last = spans.iter().map(|s| s.1).max().expect("a server");
    // From below, the whole run (a busy machine only makes it longer);
    // from above, the servers' view. One after the other, three silent
    // servers would hold the client 3 s.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the client gave up before its 1 s timeout"
    );
    let took = last - first;
    assert!(
        took < Duration::from_secs(2),
        "{silent} silent servers held the client {took:?}, not about the 1 s timeout: {spans:?}"
    );
}

#[test]
fn a_server_that_drips_its_reply_is_cut_off_at_the_deadline() {
    // A read timeout alone would restart with every byte: the deadline
    // (lessons::deadline::Within) ends the exchange on time anyway.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let dripper = thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        // How long the client kept the connection, seen from here: from
        // the moment it connected, not from the start of its process,
        // which a busy machine can delay by seconds.
        let connected = Instant::now();
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("set_read_timeout");
        let mut scratch = [0u8; 64];
        // One byte every 100 ms, never a newline, for at most 5 s, until
        // the client closes.
        for _ in 0..50 {
            if stream.write_all(b"x").is_err() {
                return Some(connected.elapsed());
            }
            match std::io::Read::read(&mut stream, &mut scratch) {
                Ok(0) => return Some(connected.elapsed()),
                Err(e) if !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Some(connected.elapsed());
                }
                // Its question, or no news (the 100 ms between drips).
                _ => {}
            }
        }
        None
    });
    let (status, stdout, _) = run("06_multi_connect", &["--timeout", "1", "--addr", &addr], "");
    assert_eq!(stdout, vec![format!("{addr}: failed: no reply within 1 s")]);
    assert_eq!(status.code(), Some(1));
    // The program has exited, so its end of the connection is closed: the
    // dripper sees it at its next drip.
    let held = dripper.join().expect("the dripping server");
    assert!(
        held.is_some_and(|held| held < Duration::from_secs(3)),
        "a dripping server stretched the 1 s timeout: the connection lasted {held:?} \
         (None: all 5 s of drips)"
    );
}

#[test]
fn giving_addr_replaces_the_default_list() {
    let reverse = Server::start("03_reverse_server", &[]);
    let (status, stdout, _) = run("06_multi_connect", &["--addr", &reverse.addr_arg()], "");
    assert!(status.success());
    // Only the server named: not the two defaults as well.
    assert_eq!(stdout, vec![format!("{}: revres ,olleH", reverse.addr)]);
    let (_, help, _) = run("06_multi_connect", &["--help"], "");
    assert!(
        help.join(" ").contains("replaces the default list"),
        "--help should say that --addr replaces the defaults: {help:?}"
    );
}

#[test]
fn a_bad_address_fails_before_any_lookup_and_is_said_in_words() {
    let (status, stdout, stderr) = run("06_multi_connect", &["--addr", "127.0.0.1:notaport"], "");
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        stdout,
        vec![
            "127.0.0.1:notaport: failed: \"notaport\" is not a port: expected a number from 0 to 65535"
        ]
    );
    assert_eq!(stderr, vec!["error: 1 of 1 servers failed"]);
}

#[rstest]
#[case::overflowing_timeout(&["--timeout", "1e19"], "is not a number of seconds above 0 and at most 86400")]
#[case::zero_timeout(&["--timeout", "0"], "is not a number of seconds above 0 and at most 86400")]
#[case::negative_timeout(&["--timeout", "-1"], "-1 is not a number of seconds above 0 and at most 86400")]
#[case::not_a_number(&["--timeout", "soon"], "soon is not a number of seconds above 0")]
#[case::not_a_number_either(&["--timeout", "NaN"], "is not a number of seconds above 0")]
fn a_bad_flag_is_one_line_with_the_range(#[case] args: &[&str], #[case] expected: &str) {
    let (status, stdout, stderr) = run("06_multi_connect", args, "");
    assert_eq!(status.code(), Some(2), "{stderr:?}");
    assert_eq!(stdout, Vec::<String>::new());
    assert_eq!(stderr.len(), 1, "one line, got {stderr:?}");
    assert!(
        stderr[0].contains(expected),
        "expected {expected:?} in {stderr:?}"
    );
}

#[test]
fn too_many_servers_or_too_long_a_message_is_one_line_before_anything_starts() {
    let addrs: Vec<String> = (0..1001)
        .flat_map(|_| ["--addr".to_string(), "127.0.0.1:1".to_string()])
        .collect();
    let args: Vec<&str> = addrs.iter().map(String::as_str).collect();
    let (status, stdout, stderr) = run("06_multi_connect", &args, "");
    assert_eq!(status.code(), Some(1));
    assert_eq!(stdout, Vec::<String>::new());
    assert_eq!(
        stderr,
        vec!["error: at most 1000 servers (--addr) at once, not 1001"]
    );

    let long = "x".repeat(65_537);
    let (status, _, stderr) = run("06_multi_connect", &["--message", &long], "");
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        stderr,
        vec!["error: --message must be at most 65536 bytes, not 65537"]
    );
}

#[test]
fn a_closed_stdout_is_one_error_line_not_a_panic() {
    let reverse = Server::start("03_reverse_server", &[]);
    let mut program =
        ClosedOutput::start("06_multi_connect", &["--addr", &reverse.addr_arg()], false);
    assert_failed_cleanly(program.wait());
    assert_says_stdout_is_closed(&program.stderr());
}

/// The system's code for a refused connection (111 on Linux, 61 on macOS,
/// 10061 on Windows), from a real refusal by the closed port `addr`.
fn refused_code(addr: &str) -> i32 {
    std::net::TcpStream::connect(addr)
        .expect_err("nobody listens there")
        .raw_os_error()
        .expect("a refusal has an os error code")
}
