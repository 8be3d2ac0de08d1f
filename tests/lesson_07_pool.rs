//! Lesson 07 end to end: the pool server speaks lesson 03's protocol, and
//! the trade-off against a thread per client shows: with every worker held
//! by an idle client the next client waits, where lesson 03 answers it; but
//! lesson 03's memory grows with its clients and the pool's does not.

mod common;

use common::{Server, assert_silent, memory_kib, read_line};
use pretty_assertions::assert_eq;
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn pool_server(args: &[&str]) -> Server {
    Server::start("07_pool_server", args)
}

/// Sends one line and returns the reply.
fn ask(stream: &TcpStream, line: &str) -> String {
    (&*stream)
        .write_all(format!("{line}\n").as_bytes())
        .expect("send");
    read_line(&mut BufReader::new(stream), "a reply")
}

/// Connects `n` clients and makes sure each is being served (answered).
fn served_clients(server: &Server, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|_| {
            let c = server.connect();
            assert_eq!(
                ask(&c, "abc"),
                "cba",
                "a client with a free worker is served"
            );
            c
        })
        .collect()
}

/// Reads everything until the server closes the connection.
fn read_to_close(stream: &TcpStream, what: &str) -> String {
    let mut rest = String::new();
    (&*stream)
        .read_to_string(&mut rest)
        .unwrap_or_else(|e| panic!("{what}: the server did not close the connection: {e}"));
    rest
}

#[test]
fn answers_each_line_reversed_like_lesson_03() {
    let server = pool_server(&[]);
    let c = server.connect();
    assert_eq!(ask(&c, "héllo 🦀"), "🦀 olléh");
    assert_eq!(ask(&c, "Go Coding Ninjas."), ".sajniN gnidoC oG");
}

#[test]
fn with_4_workers_and_4_idle_clients_a_5th_client_waits() {
    let server = pool_server(&["--workers", "4"]);
    let mut idle = served_clients(&server, 4);
    let fifth = server.connect();
    (&fifth).write_all(b"abc\n").expect("send");
    assert_silent(
        &fifth,
        Duration::from_millis(300),
        "every worker is held by an idle client, so the 5th should wait",
    );
    // One idle client leaves: its worker takes the 5th.
    drop(idle.pop());
    assert_eq!(
        read_line(
            &mut BufReader::new(&fifth),
            "the reply once a worker is free"
        ),
        "cba"
    );
}

#[test]
fn with_a_thread_per_client_a_5th_client_does_not_wait() {
    let server = Server::start("03_reverse_server", &[]);
    let _idle = served_clients(&server, 4);
    let fifth = server.connect();
    assert_eq!(
        ask(&fifth, "abc"),
        "cba",
        "lesson 03 serves every client at once"
    );
}

#[test]
fn a_client_beyond_the_queue_is_told_the_server_is_busy() {
    let server = pool_server(&["--workers", "1", "--queue", "1"]);
    let _served = served_clients(&server, 1);
    let queued = server.connect();
    let me = queued.local_addr().expect("local_addr");
    server
        .program
        .expect_stdout(&format!("client {me} connected"));
    let turned_away = server.connect();
    assert_eq!(
        read_to_close(&turned_away, "a client beyond the queue"),
        "error: server busy, try again later\n"
    );
}

#[test]
fn an_idle_client_is_dropped_after_the_idle_timeout_and_frees_its_worker() {
    let server = pool_server(&["--workers", "1", "--idle-timeout", "0.3"]);
    let idle = server.connect();
    let me = idle.local_addr().expect("local_addr");
    server
        .program
        .expect_stdout(&format!("worker 0 serves client {me}"));
    let waiting = server.connect();
    (&waiting).write_all(b"abc\n").expect("send");
    assert_eq!(
        read_to_close(&idle, "an idle client"),
        "error: idle for 0.3 s; closing the connection\n"
    );
    assert_eq!(
        read_line(
            &mut BufReader::new(&waiting),
            "a reply from the freed worker"
        ),
        "cba"
    );
}

#[test]
fn quit_on_the_console_disconnects_every_client_and_joins_every_worker() {
    let mut server = pool_server(&["--workers", "1"]);
    let served = served_clients(&server, 1);
    let queued = server.connect();
    let me = queued.local_addr().expect("local_addr");
    server
        .program
        .expect_stdout(&format!("client {me} connected"));
    server.program.type_in("/quit\n");
    assert_eq!(read_to_close(&served[0], "the served client"), "");
    assert_eq!(
        read_to_close(&queued, "the queued client"),
        "error: server shutting down\n"
    );
    let status = server.program.wait_for_exit();
    assert!(status.success(), "/quit should exit 0, got {status}");
    let out = server.program.rest_of_stdout();
    assert_eq!(out.last().map(String::as_str), Some("all workers stopped"));
}

#[test]
fn the_end_of_console_input_shuts_the_server_down_too() {
    let mut server = pool_server(&[]);
    let served = served_clients(&server, 2);
    server.program.close_stdin();
    for client in &served {
        assert_eq!(read_to_close(client, "a served client"), "");
    }
    let status = server.program.wait_for_exit();
    assert!(status.success(), "stdin EOF should exit 0, got {status}");
}

#[test]
fn an_unknown_console_command_is_explained_and_the_server_goes_on() {
    let mut server = pool_server(&[]);
    server.program.type_in("/stop\n");
    server
        .program
        .expect_stdout("unknown command \"/stop\": type /quit to stop the server");
    let c = server.connect();
    assert_eq!(ask(&c, "ab"), "ba");
}

#[test]
fn zero_workers_is_refused_with_one_line() {
    let (status, _, stderr) = common::run("07_pool_server", &["--workers", "0"], "");
    assert_eq!(status.code(), Some(2));
    assert_eq!(stderr.len(), 1, "{stderr:?}");
    assert!(stderr[0].contains("--workers"), "{stderr:?}");
}

/// Opens `n` connections and waits until the server has logged each one.
fn connect_many(server: &Server, n: usize) -> Vec<TcpStream> {
    let clients: Vec<TcpStream> = (0..n).map(|_| server.connect()).collect();
    for c in &clients {
        let me = c.local_addr().expect("local_addr");
        server
            .program
            .expect_stdout(&format!("client {me} connected"));
    }
    clients
}

/// The server's resident memory, the lowest of a few samples over 0.3 s.
fn settled_rss(server: &Server) -> u64 {
    // Memory is read, not awaited: give the threads that were just started
    // a moment to reach their first blocking read, then take the lowest of
    // a few samples.
    let deadline = Instant::now() + Duration::from_millis(300);
    let mut lowest = u64::MAX;
    while Instant::now() < deadline {
        let rss = memory_kib(server.program.pid(), "VmRSS").expect("VmRSS on Linux");
        lowest = lowest.min(rss);
        std::thread::sleep(Duration::from_millis(50));
    }
    lowest
}

#[test]
fn thread_per_client_memory_grows_with_clients_but_the_pools_does_not() {
    const CLIENTS: usize = 200;
    let per_thread = Server::start("03_reverse_server", &[]);
    if memory_kib(per_thread.program.pid(), "VmRSS").is_none() {
        common::skip("no /proc on this system: the memory comparison runs on Linux only");
        return;
    }
    let pool = pool_server(&["--workers", "4", "--queue", "256"]);
    let before = (settled_rss(&per_thread), settled_rss(&pool));
    // Lesson 03: every connection is a thread that has read and answered.
    let held: Vec<TcpStream> = (0..CLIENTS).map(|_| per_thread.connect()).collect();
    for c in &held {
        assert_eq!(ask(c, "x"), "x");
    }
    let _pool_held = connect_many(&pool, CLIENTS);
    let after = (settled_rss(&per_thread), settled_rss(&pool));
    let growth = (
        after.0.saturating_sub(before.0),
        after.1.saturating_sub(before.1),
    );
    println!(
        "resident memory with {CLIENTS} clients: thread per client {} -> {} KiB (+{} KiB), \
         pool {} -> {} KiB (+{} KiB)",
        before.0, after.0, growth.0, before.1, after.1, growth.1
    );
    // At least one page of stack per thread must have become resident.
    assert!(
        growth.0 >= CLIENTS as u64 * 4,
        "a thread per client should cost at least 4 KiB each; grew by {} KiB",
        growth.0
    );
    assert!(
        growth.1 * 4 < growth.0,
        "the pool's memory should barely grow: +{} KiB vs +{} KiB for lesson 03",
        growth.1,
        growth.0
    );
}

#[test]
fn the_pool_keeps_answering_once_idle_clients_leave() {
    // After the trade-off test's situation clears, nothing is left stuck.
    let server = pool_server(&["--workers", "2"]);
    for _ in 0..3 {
        let idle = served_clients(&server, 2);
        drop(idle);
    }
    let c = server.connect();
    assert_eq!(ask(&c, "end"), "dne");
}

#[test]
fn every_path_of_a_worker_runs_on_the_smallest_stack_linux_allows() {
    // Backs the explanation of `pool::WORKER_STACK`: 16 KiB is enough, so
    // the default of 256 KiB has a margin of 16.
    let server = pool_server(&[
        "--stack-kib",
        "16",
        "--workers",
        "1",
        "--idle-timeout",
        "0.3",
    ]);
    let c = server.connect();
    let longest = "é".repeat(32 * 1024); // 64 KiB, the longest line allowed
    assert_eq!(ask(&c, &longest), longest);
    assert_eq!(ask(&c, "héllo 🦀"), "🦀 olléh");
    (&c).write_all(b"\xff\n").expect("send");
    assert_eq!(
        read_line(&mut BufReader::new(&c), "an error line"),
        "error: line is not valid UTF-8"
    );
    (&c).write_all(&[b'x'; 70_000]).expect("send");
    assert_eq!(
        read_to_close(&c, "a client over the limit"),
        "error: line longer than 65536 bytes; closing the connection\n"
    );
    let idle = server.connect();
    assert_eq!(
        read_to_close(&idle, "an idle client"),
        "error: idle for 0.3 s; closing the connection\n"
    );
}

#[test]
fn a_port_in_use_is_one_readable_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let addr = taken.local_addr().expect("local_addr").to_string();
    let (status, _, stderr) = common::run("07_pool_server", &["--addr", &addr], "");
    assert!(!status.success(), "a port in use must be an error");
    assert_eq!(stderr.len(), 1, "one line on stderr: {stderr:?}");
    assert!(
        stderr[0].starts_with(&format!("error: cannot listen on {addr}")),
        "{stderr:?}"
    );
}

#[test]
fn help_explains_the_pool_and_how_to_listen_elsewhere() {
    let (status, stdout, _) = common::run("07_pool_server", &["--help"], "");
    assert!(status.success());
    let help = stdout.join("\n");
    for needle in [
        "0.0.0.0:PORT",
        "[default: 127.0.0.1:2007]",
        "--workers",
        "--queue",
        "--idle-timeout",
        "--stack-kib",
    ] {
        assert!(
            help.contains(needle),
            "--help should mention {needle}:\n{help}"
        );
    }
}
