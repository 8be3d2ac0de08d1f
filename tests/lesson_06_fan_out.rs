//! Lesson 06 end to end: one client asking several servers at once.

mod common;

use common::{Server, run};
use pretty_assertions::assert_eq;
use std::net::TcpListener;
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

/// The system's code for a refused connection (111 on Linux, 61 on macOS,
/// 10061 on Windows), from a real refusal by the closed port `addr`.
fn refused_code(addr: &str) -> i32 {
    std::net::TcpStream::connect(addr)
        .expect_err("nobody listens there")
        .raw_os_error()
        .expect("a refusal has an os error code")
}
