//! Fault tests for lesson 07's pool server: a console output that is closed
//! or never read, flag values that would abort it, running out of file
//! descriptors, clients that send before they read, clients that come
//! while it shuts down, and a console that receives garbage.
//!
//! (The faults every server shares, such as resets, floods and silent
//! clients, are in `tests/faults.rs`, for 07 among the others.) Each test
//! is bounded in count and time, talks to 127.0.0.1 only, and ends by
//! checking that the server still does its job. The tests that set a file
//! limit run the server through `sh` (Unix); the ones that read `/proc`
//! run on Linux only. Elsewhere they print a SKIPPED line.

mod common;

use common::pool::{full_pool, open_descriptors};
use common::{DEADLINE, Launch, Server, Stdout, read_line};
use pretty_assertions::assert_eq;
use rstest::rstest;
use std::io::{BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

/// Sends one line and returns the reply.
fn ask(stream: &TcpStream, line: &str) -> String {
    (&*stream)
        .write_all(format!("{line}\n").as_bytes())
        .expect("send");
    read_line(&mut BufReader::new(stream), "a reply")
}

/// A new client is served correctly.
fn assert_serves(addr: SocketAddr, what: &str) {
    let c = common::connect(addr);
    assert_eq!(ask(&c, "still there? ✓"), "✓ ?ereht llits", "{what}");
}

/// Everything a client receives until the server closes the connection,
/// and how it ended: `Ok` for a normal end of stream, `Err` for a reset.
fn read_to_end(stream: &TcpStream) -> (String, std::io::Result<()>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match (&*stream).read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), Ok(())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return (String::from_utf8_lossy(&got).into_owned(), Err(e)),
        }
    }
}

/// True on Unix, where `sh` can set a file limit (`ulimit -n`) before
/// starting the server; elsewhere prints the SKIPPED line.
fn have_ulimit() -> bool {
    if cfg!(unix) {
        return true;
    }
    common::skip("this check sets the server's file limit with `ulimit -n`: Unix only");
    false
}

// ---------------------------------------------------------------- stdout

#[test]
fn a_closed_stdout_does_not_stop_the_pool_from_serving_new_clients() {
    // `07_pool_server | head -n 2`: after two lines nobody reads stdout any
    // more, and every later write to it fails. Once, the accept thread
    // panicked on its next `println!`: the server kept listening but never
    // answered again.
    let how = Launch {
        stdout: Stdout::ClosedAfterFirstLine,
        ..Launch::default()
    };
    let mut server = Server::launch("07_pool_server", &[], &how);
    for i in 0..5 {
        assert_serves(server.addr, &format!("client {i} after stdout was closed"));
    }
    server.program.type_bytes(b"/quit\n");
    let status = server.program.wait_for_exit();
    assert!(status.success(), "/quit should still exit 0, got {status}");
}

#[test]
fn a_stdout_nobody_reads_does_not_stop_the_pool_from_serving_new_clients() {
    // The pipe is kept open and never read: after 64 KiB (the pipe's
    // buffer) every write to it blocks. 1 500 clients log about 200 KiB,
    // which also overflows the logger's queue of 4 096 lines. Once, the
    // server stopped accepting clients when the pipe was full.
    let how = Launch {
        stdout: Stdout::UnreadAfterFirstLine,
        ..Launch::default()
    };
    let mut server = Server::launch("07_pool_server", &[], &how);
    let addr = server.addr;
    thread::scope(|s| {
        for t in 0..4 {
            s.spawn(move || {
                for i in 0..375 {
                    assert_serves(addr, &format!("client {i} of thread {t}, stdout unread"));
                }
            });
        }
    });
    assert_serves(addr, "a client after 1 500, stdout unread");
    server.program.type_bytes(b"/quit\n");
    let status = server.program.wait_for_exit();
    assert!(status.success(), "/quit should still exit 0, got {status}");
}

// ---------------------------------------------------------------- flags

#[rstest]
#[case::a_queue_of_a_trillion(&["--queue", "1000000000000"], "from 1 to 65536")]
#[case::a_queue_of_the_largest_u64(&["--queue", "18446744073709551615"], "from 1 to 65536")]
#[case::a_queue_beyond_u64(&["--queue", "18446744073709551616"], "from 1 to 65536")]
#[case::an_empty_queue(&["--queue", "0"], "from 1 to 65536")]
#[case::workers_at_the_memory_map_limit(&["--workers", "65535"], "from 1 to 1024")]
#[case::no_workers(&["--workers", "0"], "from 1 to 1024")]
#[case::negative_workers(&["--workers", "-4"], "from 1 to 1024")]
#[case::the_largest_u64_as_max_line(&["--max-line", "18446744073709551615"], "from 1 to 16777216")]
#[case::a_max_line_of_zero(&["--max-line", "0"], "from 1 to 16777216")]
#[case::a_stack_below_what_std_grants(&["--stack-kib", "16"], "from 32 to 65536")]
#[case::a_stack_of_four_tebibytes(&["--stack-kib", "4294967296"], "from 32 to 65536")]
#[case::an_idle_timeout_beyond_a_day(&["--idle-timeout", "1e19"], "above 0 and at most 86400")]
#[case::a_negative_idle_timeout(&["--idle-timeout", "-1"], "above 0 and at most 86400")]
fn a_flag_out_of_its_range_is_one_line_naming_the_range(
    #[case] args: &[&str],
    #[case] range: &str,
) {
    let mut all = vec!["--addr", "127.0.0.1:0"];
    all.extend_from_slice(args);
    let (status, stdout, stderr) = common::run("07_pool_server", &all, "");
    assert_eq!(
        status.code(),
        Some(2),
        "{args:?} should be refused at start-up; stderr: {stderr:?}"
    );
    assert!(stdout.is_empty(), "nothing may start: {stdout:?}");
    assert_eq!(stderr.len(), 1, "one line: {stderr:?}");
    assert!(
        stderr[0].contains(args[0]) && stderr[0].contains(range),
        "the line should name the flag and the range {range}: {stderr:?}"
    );
}

#[rstest]
#[case::the_most_workers_and_the_longest_queue(&["--workers", "1024", "--queue", "65536"])]
#[case::the_longest_line_limit(&["--max-line", "16777216"])]
#[case::the_smallest_stacks(&["--stack-kib", "32"])]
#[case::the_largest_stacks(&["--workers", "2", "--stack-kib", "65536"])]
fn every_flag_at_the_end_of_its_range_starts_a_server_that_serves(#[case] args: &[&str]) {
    let server = Server::start("07_pool_server", args);
    assert_serves(server.addr, &format!("with {args:?}"));
    // A line of 100 KiB: over the default limit, within the largest.
    if args.contains(&"16777216") {
        let c = server.connect();
        let long = "é".repeat(50 * 1024);
        assert_eq!(ask(&c, &long), long);
    }
}

// ---------------------------------------------------------------- descriptors

#[test]
fn out_of_file_descriptors_the_accept_loop_pauses_instead_of_spinning_and_recovers() {
    // `ulimit -n 256`, a queue longer than that, and 350 clients: the
    // server runs out of descriptors with clients still waiting to be
    // accepted. Once, `accept` failed again at once, forever: a whole core
    // and 211 000 "accept failed" lines a second. (350: what fits in 256
    // descriptors and the system's queue of 128 not-yet-accepted
    // connections; past that, a connection request is dropped and retried.)
    if !have_ulimit() {
        return;
    }
    let how = Launch {
        open_files: Some(256),
        ..Launch::default()
    };
    let mut server = Server::launch("07_pool_server", &["--queue", "1000"], &how);
    let pid = server.program.pid();
    if server.program.cpu_time().is_none() {
        common::skip("no /proc on this system: the processor time is measured on Linux only");
        return;
    }
    let held: Vec<TcpStream> = (0..350)
        .map(|i| {
            TcpStream::connect_timeout(&server.addr, DEADLINE)
                .unwrap_or_else(|e| panic!("connection {i} of 350 failed: {e}"))
        })
        .collect();
    server.program.expect_stderr("accept failed: ");
    let descriptors = open_descriptors(pid).expect("/proc/PID/fd");
    assert!(
        descriptors >= 250,
        "the server should be at its limit of 256, it has {descriptors} open"
    );
    // A deliberate wait: the spin cannot be signalled, only measured.
    let before = server.program.cpu_time().expect("/proc/PID/stat");
    thread::sleep(Duration::from_secs(1));
    let used = server.program.cpu_time().expect("/proc/PID/stat") - before;
    println!("out of descriptors: {used:?} of processor time in 1 s");
    assert!(
        used < Duration::from_millis(150),
        "a paused accept loop should use almost no processor time; it used {used:?} in 1 s"
    );
    // The clients leave: the workers go through the queue, descriptors
    // free up, and the server accepts again by itself.
    drop(held);
    server.program.expect_stderr("accepting again after ");
    assert_serves(server.addr, "a new client once descriptors are free");
    server.program.type_bytes(b"/quit\n");
    assert!(
        server.program.wait_for_exit().success(),
        "/quit should exit 0"
    );
}

// ---------------------------------------------------------------- busy

#[test]
fn the_busy_reply_reaches_a_client_that_sent_before_reading_without_a_reset() {
    // A client that sends its request at once has bytes in the server's
    // receive buffer when the server turns it away. Closing a socket with
    // unread bytes sends a reset (RST): the client's writes fail, and on
    // some systems the reset destroys the reply before it is read.
    let (server, served, queued) = full_pool();
    let me = queued.local_addr().expect("local_addr");

    let turned_away = server.connect();
    // 256 KiB of requests before reading anything: more than the socket
    // buffers hold, so the server must read some of it while it says no.
    let requests = "please reverse me\n".repeat(256 * 1024 / 18);
    (&turned_away)
        .write_all(requests.as_bytes())
        .expect("a turned-away client's requests must not be reset");
    let (reply, end) = read_to_end(&turned_away);
    assert_eq!(reply, "error: server busy, try again later\n");
    assert!(end.is_ok(), "the connection should end normally: {end:?}");
    // Once the client is done too, the connection closes without a reset.
    // A reset is never signalled by itself: look for one for 0.3 s.
    turned_away.shutdown(Shutdown::Write).expect("half-close");
    let quiet = Instant::now() + Duration::from_millis(300);
    while Instant::now() < quiet {
        let error = turned_away.take_error().expect("take_error");
        assert!(error.is_none(), "the connection was reset: {error:?}");
        thread::sleep(Duration::from_millis(10));
    }
    drop((served, queued));
    server
        .program
        .expect_stdout(&format!("client {me} disconnected"));
    assert_serves(server.addr, "after turning a client away");
}

// ---------------------------------------------------------------- shutdown

#[test]
fn clients_queued_ahead_of_the_wake_up_connection_are_told_and_none_is_mistaken_for_it() {
    // `/quit` wakes the accept loop by connecting to it. Clients that the
    // system queued before that connection are real clients: they must be
    // told "server shutting down", not taken for the wake-up and dropped.
    // To hold clients in the system's queue, the server runs out of file
    // descriptors first (`ulimit -n 32`): it cannot accept them until the
    // test frees some. That is also when `/quit` must still work.
    if !have_ulimit() {
        return;
    }
    let how = Launch {
        open_files: Some(32),
        ..Launch::default()
    };
    let mut server = Server::launch(
        "07_pool_server",
        &["--workers", "1", "--queue", "100"],
        &how,
    );
    let served = common::connect(server.addr);
    assert_eq!(ask(&served, "abc"), "cba");
    // About 25 more fit in 32 descriptors; the rest wait in the system's queue.
    let mut others: Vec<TcpStream> = (0..40).map(|_| common::connect(server.addr)).collect();
    server.program.expect_stderr("accept failed: ");
    server.program.type_bytes(b"/quit\n");
    server.program.expect_stdout("shutting down");
    // Latecomers, queued behind the wake-up connection (the server says
    // "shutting down" once it is made): they must be told too, not reset
    // when the listener closes.
    others.extend((0..3).map(|_| common::connect(server.addr)));
    // Free descriptors: the served client leaves, its worker moves on, and
    // the accept loop gets going again. Every client is read at once, on
    // a thread of its own, and closes when its connection ends.
    drop(served);
    let endings: Vec<(SocketAddr, String, std::io::Result<()>)> = thread::scope(|s| {
        let readers: Vec<_> = others
            .iter()
            .map(|c| {
                s.spawn(move || {
                    let ending = read_to_end(c);
                    // Our side is done too: the server need not linger.
                    let _ = c.shutdown(Shutdown::Write);
                    (c.local_addr().expect("local_addr"), ending)
                })
            })
            .collect();
        readers
            .into_iter()
            .map(|r| {
                let (me, (got, end)) = r.join().expect("a reader");
                (me, got, end)
            })
            .collect()
    });
    let status = server.program.wait_for_exit();
    assert!(status.success(), "/quit should exit 0, got {status}");
    let log = server.program.rest_of_stdout();
    assert_eq!(log.last().map(String::as_str), Some("all workers stopped"));
    let mut told_after_quit = 0;
    for (me, got, end) in &endings {
        let served = log
            .iter()
            .any(|l| l == &format!("worker 0 serves client {me}"));
        if got.is_empty() && served {
            continue; // being served at /quit: disconnected without a word
        }
        assert_eq!(
            (got.as_str(), end.is_ok()),
            ("error: server shutting down\n", true),
            "client {me} should be told the server is shutting down, then closed"
        );
        if log
            .iter()
            .any(|l| l == &format!("client {me} refused: error: server shutting down"))
        {
            told_after_quit += 1;
        }
    }
    assert!(
        told_after_quit > 0,
        "some clients should have been waiting to be accepted at /quit: {log:?}"
    );
}

// ---------------------------------------------------------------- console

#[rstest]
#[case::not_utf8(b"\xff\xfe/quit\n", "that line is not UTF-8 text")]
#[case::far_too_long(&[b'x'; 100_000], "that line is longer than 1024 bytes")]
fn garbage_on_the_console_is_explained_and_the_server_goes_on(
    #[case] garbage: &[u8],
    #[case] explained: &str,
) {
    let mut server = Server::start("07_pool_server", &[]);
    server.program.type_bytes(garbage);
    server.program.type_bytes(b"\n");
    server.program.expect_stdout(explained);
    assert_serves(server.addr, "after garbage on the console");
    server.program.type_bytes(b"/help\n");
    server.program.expect_stdout("/quit   stop gracefully");
    server.program.type_bytes(b"/quit\n");
    assert!(
        server.program.wait_for_exit().success(),
        "/quit should exit 0"
    );
}
