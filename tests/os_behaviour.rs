//! What the operating system does under the course's programs, shown on
//! loopback: the chapters "Pitfalls of the originals", "Talking to your
//! server from outside" and "How many threads can you afford?" cite these
//! tests for each claim they make about the system rather than the code.
//!
//! Most of it is Linux behaviour read where Linux shows it (`/proc/net/tcp`
//! for connection states, `/proc/net/netstat` for dropped connection
//! requests, a pseudo-terminal for the line discipline). Those tests skip
//! elsewhere with a printed line; the ones that hold on every platform, or
//! on every Unix, say so in their names' comments.

mod common;

use common::DEADLINE;
use pretty_assertions::assert_eq;
use rstest::rstest;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// A listener on loopback, port 0, and one connection to it: (listener,
/// client's end, server's end), both ends with the harness's timeouts.
fn connected_pair() -> (TcpListener, TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let client = common::connect(listener.local_addr().expect("local_addr"));
    let server = accept(&listener, "the client's connection");
    (listener, client, server)
}

/// The next connection to `listener`, with the harness's read and write
/// timeouts, as `common::connect` gives the client's end.
fn accept(listener: &TcpListener, what: &str) -> TcpStream {
    let (stream, _) = listener
        .accept()
        .unwrap_or_else(|e| panic!("accept {what}: {e}"));
    for set in [TcpStream::set_read_timeout, TcpStream::set_write_timeout] {
        set(&stream, Some(DEADLINE)).expect("set a timeout");
    }
    stream
}

/// Waits for the end of stream on `stream`: a read that returns 0.
fn expect_eof(mut stream: &TcpStream, why: &str) {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => {}
        Ok(_) => panic!("{why}: expected the end of the stream, got a byte"),
        Err(e) => panic!("{why}: expected the end of the stream within {DEADLINE:?}: {e}"),
    }
}

/// True on Linux; elsewhere prints the skip line and returns false.
fn on_linux(what: &str) -> bool {
    if !cfg!(target_os = "linux") {
        common::skip(&format!("{what} is Linux behaviour, read from /proc"));
    }
    cfg!(target_os = "linux")
}

// ---------------------------------------------------------------------------
// Connection states, as Linux lists them in /proc/net/tcp and tcp6.

const TIME_WAIT: &str = "06";
const SYN_SENT: &str = "02";

/// The (local port, remote port, state) of every TCP socket on this
/// machine, IPv4 and IPv6 (Linux).
fn tcp_sockets() -> Vec<(u16, u16, String)> {
    let mut sockets = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port = |addr: &str| {
                addr.rsplit(':')
                    .next()
                    .and_then(|hex| u16::from_str_radix(hex, 16).ok())
            };
            if let (Some(local), Some(remote), Some(state)) = (
                fields.get(1).and_then(|a| port(a)),
                fields.get(2).and_then(|a| port(a)),
                fields.get(3),
            ) {
                sockets.push((local, remote, state.to_string()));
            }
        }
    }
    sockets
}

/// Polls `ready` until it is true; fails with `what` (and `details()`)
/// after the harness's deadline. For states only /proc can show, which no
/// signal announces.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool, details: impl Fn() -> String) {
    let deadline = Instant::now() + DEADLINE;
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "{what} within {DEADLINE:?}{}",
            details()
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until a socket with this local and remote port is in `state`.
fn wait_for_state(local: u16, remote: u16, state: &str, what: &str) {
    wait_until(
        &format!("{what}: expected socket {local} -> {remote} in state {state}"),
        || {
            tcp_sockets()
                .iter()
                .any(|(l, r, s)| (*l, *r) == (local, remote) && s == state)
        },
        || {
            let near: Vec<_> = tcp_sockets()
                .into_iter()
                .filter(|(l, r, _)| [*l, *r].contains(&local))
                .collect();
            format!("; this machine's sockets on those ports: {near:?}")
        },
    );
}

/// A counter of `/proc/net/netstat`, such as `TcpExt` `ListenOverflows`.
fn netstat(group: &str, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{group}:")))
        .collect();
    let (names, values) = (lines.first()?, lines.get(1)?);
    let at = names.split_whitespace().position(|n| n == name)?;
    values.split_whitespace().nth(at)?.parse().ok()
}

// ---------------------------------------------------------------------------
// TIME_WAIT and SO_REUSEADDR (book: pitfalls.md).

#[derive(Debug, Clone, Copy)]
enum Side {
    Server,
    Client,
}

/// Closes a connection with `first` closing first, the other side closing
/// once it has read the end of the stream, the way the course's programs
/// do. Returns (the listener's port, the client's port).
fn close_with(first: Side) -> (TcpListener, u16, u16) {
    let (listener, client, server) = connected_pair();
    let server_port = listener.local_addr().expect("local_addr").port();
    let client_port = client.local_addr().expect("local_addr").port();
    let (closes_first, closes_second) = match first {
        Side::Server => (server, client),
        Side::Client => (client, server),
    };
    drop(closes_first);
    expect_eof(&closes_second, "the side that closes second");
    drop(closes_second);
    (listener, server_port, client_port)
}

// Linux (where /proc/net/tcp shows the states).
#[rstest]
#[case::server_closes_first(Side::Server)]
#[case::client_closes_first(Side::Client)]
fn the_side_that_closes_first_holds_time_wait(#[case] first: Side) {
    if !on_linux("TIME_WAIT, as listed in /proc/net/tcp,") {
        return;
    }
    let (_listener, server_port, client_port) = close_with(first);
    let (holder, other) = match first {
        Side::Server => (server_port, client_port),
        Side::Client => (client_port, server_port),
    };
    wait_for_state(holder, other, TIME_WAIT, "the side that closed first");
    assert!(
        !tcp_sockets()
            .iter()
            .any(|(l, r, s)| (*l, *r) == (other, holder) && s == TIME_WAIT),
        "only the side that closed first should hold TIME_WAIT"
    );
}

// Unix: std sets SO_REUSEADDR on a listener there (not on Windows, where
// the option would let another program take over a port in use).
#[test]
fn a_server_restarted_while_its_old_connection_is_in_time_wait_binds_its_port_again() {
    if cfg!(windows) {
        common::skip("std does not set SO_REUSEADDR on Windows; this shows the Unix rule");
        return;
    }
    let (listener, server_port, client_port) = close_with(Side::Server);
    let addr = listener.local_addr().expect("local_addr");
    if cfg!(target_os = "linux") {
        // Make sure the old connection really is in TIME_WAIT right now.
        wait_for_state(server_port, client_port, TIME_WAIT, "the server's side");
    }
    drop(listener); // the server stops...
    let again = TcpListener::bind(addr); // ...and is started again at once
    assert!(
        again.is_ok(),
        "binding {addr} again should work while the old connection is in TIME_WAIT \
         (std sets SO_REUSEADDR): {again:?}"
    );
}

// Linux, with python3: a socket *without* SO_REUSEADDR (Python's default,
// and the originals') cannot bind the port until TIME_WAIT is over.
#[test]
fn without_so_reuseaddr_the_port_stays_busy_while_time_wait_lasts() {
    if !on_linux("the bind rule for TIME_WAIT") || !common::tools_installed(&["python3"]) {
        return;
    }
    let (listener, server_port, client_port) = close_with(Side::Server);
    wait_for_state(server_port, client_port, TIME_WAIT, "the server's side");
    drop(listener);
    let bind = "import socket, sys\n\
                s = socket.socket()\n\
                try:\n    s.bind(('127.0.0.1', int(sys.argv[1])))\n\
                except OSError as e:\n    print(e.strerror); sys.exit(1)\n\
                print('bound')\n";
    let out = Command::new("python3")
        .args(["-c", bind, &server_port.to_string()])
        .output()
        .expect("run python3");
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(said.trim(), "Address already in use");
    // And std, with SO_REUSEADDR, can.
    TcpListener::bind(("127.0.0.1", server_port)).expect("std binds the same port");
}

// ---------------------------------------------------------------------------
// The listen backlog (book: threads-cost.md).

/// How many connections a Linux listener made by std holds before accepting:
/// std asks `listen` for 128, the system caps that at `net.core.somaxconn`,
/// and Linux queues one more than the number it was given.
fn accept_queue_capacity() -> usize {
    let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(4096);
    128.min(somaxconn) + 1
}

/// A listener that never accepts, connected to until a connect times out:
/// the listener, the connections made, and the error that stopped them.
fn full_listener() -> (TcpListener, Vec<TcpStream>, io::Error) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let limit = accept_queue_capacity() + 10;
    let mut held = Vec::new();
    for _ in 0..limit {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(stream) => held.push(stream),
            Err(e) => return (listener, held, e),
        }
    }
    panic!("{limit} connections were all accepted by a listener that never calls accept");
}

// Linux.
#[test]
fn a_listener_that_never_accepts_holds_129_connections_and_ignores_the_next() {
    if !on_linux("the accept queue's length") {
        return;
    }
    let (_listener, held, error) = full_listener();
    let capacity = accept_queue_capacity();
    assert_eq!(
        held.len(),
        capacity,
        "connections completed before one timed out (std's backlog is 128)"
    );
    assert_eq!(
        error.kind(),
        ErrorKind::TimedOut,
        "the next connect gets no answer at all: its SYN is dropped, not refused ({error})"
    );
}

// Linux.
#[test]
fn a_connection_request_dropped_by_a_full_queue_succeeds_on_the_retry_a_second_later() {
    if !on_linux("the accept queue's retries") {
        return;
    }
    let (listener, _held, _) = full_listener();
    let addr = listener.local_addr().expect("local_addr");

    let overflows = netstat("TcpExt", "ListenOverflows").expect("TcpExt ListenOverflows");
    let (done, result) = mpsc::channel();
    thread::spawn(move || {
        let start = Instant::now();
        let connected = TcpStream::connect_timeout(&addr, DEADLINE);
        let _ = done.send((connected.map(drop), start.elapsed()));
    });
    // Wait until its SYN is on its way (the socket is in SYN_SENT) and the
    // system has counted a dropped request, then make room in the queue.
    wait_until(
        "the extra connect should wait in SYN_SENT with a dropped SYN",
        || {
            tcp_sockets()
                .iter()
                .any(|(_, r, s)| *r == addr.port() && s == SYN_SENT)
                && netstat("TcpExt", "ListenOverflows").unwrap_or(0) > overflows
        },
        String::new,
    );
    let _accepted = listener
        .accept()
        .expect("accept one: the queue has room again");

    let (connected, took) = result
        .recv_timeout(DEADLINE + Duration::from_secs(1))
        .expect("the waiting connect ends");
    connected.expect("the retried connection request is accepted");
    assert!(
        took >= Duration::from_millis(900),
        "the client retries its SYN after one second, so it connected after {took:?}"
    );
}

// ---------------------------------------------------------------------------
// Partial writes (book: pitfalls.md).

/// Bigger than any socket buffer pair on loopback (Linux tunes them up to
/// a few MiB each way), so a peer that does not read makes it wait.
const BIG: usize = 32 << 20;

// Every platform.
#[test]
fn a_blocking_write_to_a_full_buffer_waits_and_then_takes_everything() {
    let (_listener, client, mut server) = connected_pair();
    client.set_write_timeout(None).expect("no write timeout");
    let (done, result) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send((&client).write(&vec![7u8; BIG]));
    });
    assert!(
        result.recv_timeout(Duration::from_millis(300)).is_err(),
        "one write of 32 MiB to a peer that reads nothing must block, not return early"
    );
    let received = common::read_exact(&mut server, BIG, "all 32 MiB");
    assert!(received.iter().all(|&b| b == 7));
    let written = result
        .recv_timeout(DEADLINE)
        .expect("the write returns once the peer has read");
    assert_eq!(written.expect("the write succeeds"), BIG, "the full count");
}

// Unix (SO_SNDTIMEO's short count is documented there).
#[test]
fn a_write_timeout_turns_a_full_buffer_into_a_short_count() {
    if !cfg!(unix) {
        common::skip("a short count after SO_SNDTIMEO is checked on Unix only");
        return;
    }
    let (_listener, mut client, _server) = connected_pair();
    client
        .set_write_timeout(Some(Duration::from_millis(200)))
        .expect("set_write_timeout");
    let written = client.write(&vec![7u8; BIG]).expect("the first write");
    assert!(
        0 < written && written < BIG,
        "the write stops at its timeout and says how much it took: {written} of {BIG}"
    );
    expect_would_block(&client, "once no byte fits before the timeout");
}

/// Writes until the socket has no room at all, which a write reports as an
/// error (`WouldBlock`, EAGAIN), never as `Ok(0)`. The first writes may
/// still find a little room: the system frees some as it goes.
fn expect_would_block(mut stream: &TcpStream, when: &str) {
    let chunk = vec![7u8; 64 * 1024];
    for _ in 0..1000 {
        match stream.write(&chunk) {
            Ok(0) => panic!("a write returned Ok(0) {when}"),
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) => panic!("expected WouldBlock {when}, got {e}"),
        }
    }
    panic!("1000 more writes of 64 KiB all found room {when}");
}

// Unix.
#[test]
fn a_non_blocking_write_takes_only_what_fits() {
    if !cfg!(unix) {
        common::skip("non-blocking short writes are checked on Unix only");
        return;
    }
    let (_listener, mut client, _server) = connected_pair();
    client.set_nonblocking(true).expect("set_nonblocking");
    let written = client.write(&vec![7u8; BIG]).expect("the first write");
    assert!(0 < written && written < BIG, "{written} of {BIG}");
    expect_would_block(&client, "once the buffer is full");
}

// ---------------------------------------------------------------------------
// When a connection closes (book: pitfalls.md).

// Every platform.
#[test]
fn a_connection_stays_open_until_its_last_handle_is_dropped() {
    let (_listener, client, server) = connected_pair();
    let clone = server.try_clone().expect("try_clone");
    drop(server);
    common::assert_silent(
        &client,
        Duration::from_millis(300),
        "one handle of two was dropped: the connection must stay open",
    );
    drop(clone);
    expect_eof(&client, "the last handle was dropped");
}

// Every platform.
#[test]
fn shutdown_ends_the_stream_whatever_other_handles_exist() {
    let (_listener, client, server) = connected_pair();
    let _clone = server.try_clone().expect("try_clone");
    server.shutdown(Shutdown::Write).expect("shutdown");
    expect_eof(&client, "shutdown(Write) sends the FIN at once");
}

// Linux only: on Windows `shutdown` does not wake a blocked `read`, and the
// course never relies on it elsewhere.
#[test]
fn shutdown_from_another_thread_wakes_a_read_blocked_on_the_same_socket() {
    if !on_linux("waking a blocked read with shutdown") {
        return;
    }
    let (_listener, _client, server) = connected_pair();
    let reader = server.try_clone().expect("try_clone");
    let (tid_tx, tid_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        // "PID/task/TID": which thread to watch in /proc.
        let _ = tid_tx.send(std::fs::read_link("/proc/thread-self"));
        let _ = done_tx.send((&reader).read(&mut [0u8; 16]));
    });
    let tid = tid_rx.recv_timeout(DEADLINE).expect("the reader starts");
    let stat = format!("/proc/{}/stat", tid.expect("/proc/thread-self").display());
    // Wait until the reader sleeps (state S), which it does only in `read`.
    wait_until(
        "the reader should block in read",
        || {
            std::fs::read_to_string(&stat).ok().is_some_and(|s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|rest| rest.trim_start().starts_with('S'))
            })
        },
        String::new,
    );
    let start = Instant::now();
    server.shutdown(Shutdown::Read).expect("shutdown");
    let read = done_rx
        .recv_timeout(DEADLINE / 2)
        .expect("shutdown(Read) wakes the blocked read");
    assert_eq!(
        read.expect("the woken read"),
        0,
        "it returns the end of the stream"
    );
    assert!(start.elapsed() < DEADLINE / 2);
}

// ---------------------------------------------------------------------------
// IPv6 and dual stack (book: outside.md).

/// A listener on `[::1]:0`, or `None` (after a skip line) on a machine
/// without IPv6 loopback.
fn ipv6_listener() -> Option<TcpListener> {
    match TcpListener::bind((Ipv6Addr::LOCALHOST, 0)) {
        Ok(listener) => Some(listener),
        Err(e) => {
            common::skip(&format!("this machine has no IPv6 loopback ([::1]): {e}"));
            None
        }
    }
}

// Every platform with IPv6 loopback.
#[test]
fn ipv6_loopback_carries_a_connection_like_ipv4() {
    let Some(listener) = ipv6_listener() else {
        return;
    };
    let mut client = common::connect(listener.local_addr().expect("local_addr"));
    let (mut server, peer) = listener.accept().expect("accept");
    assert_eq!(peer.ip(), Ipv6Addr::LOCALHOST);
    client.write_all(b"over IPv6\n").expect("write");
    let mut line = String::new();
    server
        .set_read_timeout(Some(DEADLINE))
        .expect("set_read_timeout");
    BufReader::new(&mut server)
        .read_line(&mut line)
        .expect("read the line");
    assert_eq!(line, "over IPv6\n");
}

// Linux (IPv6 sockets accept IPv4 there unless net.ipv6.bindv6only is 1).
#[test]
fn an_ipv6_socket_serves_ipv4_clients_as_mapped_addresses_on_linux() {
    if !on_linux("dual stack by default") || ipv6_listener().is_none() {
        return;
    }
    let v6only = std::fs::read_to_string("/proc/sys/net/ipv6/bindv6only").unwrap_or_default();
    if v6only.trim() != "0" {
        common::skip("net.ipv6.bindv6only is set: IPv6 sockets are IPv6-only here");
        return;
    }
    // `[::]` would do this for every IPv4 address of the machine; the
    // mapped form of 127.0.0.1 shows it without listening beyond loopback.
    let mapped = Ipv4Addr::LOCALHOST.to_ipv6_mapped();
    let listener = TcpListener::bind((mapped, 0)).expect("bind [::ffff:127.0.0.1]:0");
    let port = listener.local_addr().expect("local_addr").port();
    let _client = common::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    let (_server, peer) = listener.accept().expect("accept");
    assert_eq!(
        peer.ip().to_canonical(),
        Ipv4Addr::LOCALHOST,
        "an IPv4 client seen by an IPv6 socket as {peer}"
    );
    assert!(
        peer.is_ipv6(),
        "the address comes as IPv6 (::ffff:a.b.c.d): {peer}"
    );
}

#[test]
fn with_std_on_linux_an_ipv4_bind_fails_on_the_port_of_a_dual_stack_ipv6_listener() {
    if !on_linux("dual stack by default") || ipv6_listener().is_none() {
        return;
    }
    let v6only = std::fs::read_to_string("/proc/sys/net/ipv6/bindv6only").unwrap_or_default();
    if v6only.trim() != "0" {
        common::skip("net.ipv6.bindv6only is set: IPv6 sockets are IPv6-only here");
        return;
    }
    // As in the test above, the mapped form of 127.0.0.1 stands for `[::]`.
    let mapped = Ipv4Addr::LOCALHOST.to_ipv6_mapped();
    let v6 = TcpListener::bind((mapped, 0)).expect("bind [::ffff:127.0.0.1]:0");
    let port = v6.local_addr().expect("local_addr").port();
    match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
        Err(e) => assert_eq!(
            e.kind(),
            ErrorKind::AddrInUse,
            "the IPv4 bind should fail as in use: {e}"
        ),
        Ok(_) => panic!("127.0.0.1:{port} was bound beside a dual-stack IPv6 listener"),
    }
}

// Every platform.
#[test]
fn connect_tries_each_address_in_turn_until_one_answers() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local_addr").port();
    // A closed port on [::1] (refused), or no IPv6 at all (another error):
    // either way the first address fails, as `localhost` resolving to ::1
    // first fails against a server that listens on 127.0.0.1 only.
    let closed = TcpListener::bind((Ipv6Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .unwrap_or(SocketAddr::from((Ipv6Addr::LOCALHOST, port)));
    let candidates = [closed, SocketAddr::from((Ipv4Addr::LOCALHOST, port))];
    assert!(
        TcpStream::connect(closed).is_err(),
        "nothing listens on {closed}"
    );
    let stream = TcpStream::connect(&candidates[..]).expect("the second address answers");
    assert_eq!(
        stream.peer_addr().expect("peer_addr"),
        candidates[1],
        "connected to the address that listens"
    );
}

// ---------------------------------------------------------------------------
// nc and the terminal (book: outside.md). Linux, netcat-openbsd.

/// True if `nc` is netcat-openbsd (Debian's and Ubuntu's default); prints a
/// skip line and returns false otherwise.
fn openbsd_nc() -> bool {
    if !on_linux("the nc sessions") || !common::tools_installed(&["nc"]) {
        return false;
    }
    let help = Command::new("nc").arg("-h").output();
    let text = help
        .map(|o| {
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
        })
        .unwrap_or_default();
    if !text.contains("OpenBSD netcat") {
        common::skip("nc is not netcat-openbsd, whose flags these tests describe");
        return false;
    }
    true
}

/// Runs `nc ARGS 127.0.0.1 PORT` with `input` piped in, against a listener
/// here; returns the server's end of the connection and nc itself.
fn pipe_into_nc(args: &[&str], input: &str) -> (TcpStream, std::process::Child) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener
        .local_addr()
        .expect("local_addr")
        .port()
        .to_string();
    let mut nc = Command::new("nc")
        .args(args)
        .args(["127.0.0.1", &port])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nc");
    let mut stdin = nc.stdin.take().expect("piped");
    stdin.write_all(input.as_bytes()).expect("feed nc");
    drop(stdin); // the end of nc's input
    (accept(&listener, "nc's connection"), nc)
}

/// Kills `nc` if it is still running, and returns what it printed.
fn finish_nc(mut nc: std::process::Child) -> String {
    let deadline = Instant::now() + DEADLINE;
    while nc.try_wait().expect("try_wait").is_none() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    let _ = nc.kill();
    let out = nc.wait_with_output().expect("nc's output");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn nc_keeps_the_connection_open_after_its_input_ends_unless_given_n() {
    if !openbsd_nc() {
        return;
    }
    let (server, nc) = pipe_into_nc(&[], "hello\n");
    let mut reader = BufReader::new(&server);
    assert_eq!(common::read_line(&mut reader, "nc's line"), "hello");
    common::assert_silent(
        &server,
        Duration::from_millis(500),
        "plain nc must not end the stream when its input ends",
    );
    let _ = finish_nc(nc);
}

#[test]
fn nc_n_half_closes_at_the_end_of_its_input_and_still_prints_the_reply() {
    if !openbsd_nc() {
        return;
    }
    let (server, nc) = pipe_into_nc(&["-N"], "hello\n");
    let mut reader = BufReader::new(&server);
    assert_eq!(common::read_line(&mut reader, "nc's line"), "hello");
    expect_eof(&server, "nc -N half-closes when its input ends");
    (&server)
        .write_all(b"olleh\n")
        .expect("reply after the end");
    drop(reader);
    drop(server);
    assert_eq!(finish_nc(nc), "olleh\n");
}

#[test]
fn netcat_openbsd_q_1_half_closes_too_and_still_prints_a_late_reply() {
    if !openbsd_nc() {
        return;
    }
    let (server, nc) = pipe_into_nc(&["-q", "1"], "hello\n");
    let mut reader = BufReader::new(&server);
    assert_eq!(common::read_line(&mut reader, "nc's line"), "hello");
    expect_eof(&server, "nc -q 1 half-closes when its input ends");
    // Longer than the one second of -q 1, on purpose: nc is still there.
    thread::sleep(Duration::from_millis(1500));
    (&server)
        .write_all(b"olleh\n")
        .expect("a reply 1.5 s after the end");
    drop(reader);
    drop(server);
    assert_eq!(finish_nc(nc), "olleh\n");
}

/// A Python program that runs `nc` in a pseudo-terminal, as if typed in a
/// terminal: each line of its stdin is hex of bytes to type (`0a` is Enter,
/// `04` is Ctrl-D). At the end of its stdin it stops nc.
const TYPE_INTO_NC: &str = r#"
import os, pty, signal, sys, threading
pid, fd = pty.fork()
if pid == 0:
    os.execvp("nc", ["nc"] + sys.argv[1:])
def drain():
    try:
        while os.read(fd, 1024):
            pass
    except OSError:
        pass
threading.Thread(target=drain, daemon=True).start()
for line in sys.stdin:
    os.write(fd, bytes.fromhex(line.strip()))
    print("typed", flush=True)
os.kill(pid, signal.SIGTERM)
os.waitpid(pid, 0)
"#;

struct Typist {
    child: std::process::Child,
    typed: mpsc::Receiver<String>,
}

impl Typist {
    /// `nc ARGS 127.0.0.1 PORT` in a terminal of its own, and the server's end.
    fn start(args: &[&str]) -> (Typist, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener
            .local_addr()
            .expect("local_addr")
            .port()
            .to_string();
        let mut child = Command::new("python3")
            .args(["-c", TYPE_INTO_NC])
            .args(args)
            .args(["127.0.0.1", &port])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python3");
        let stdout = child.stdout.take().expect("piped");
        let (tx, typed) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let server = accept(&listener, "nc's connection");
        (Typist { child, typed }, server)
    }

    /// Types `bytes` into the terminal and waits until they are written.
    fn types(&mut self, bytes: &[u8]) {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let stdin = self.child.stdin.as_mut().expect("piped");
        writeln!(stdin, "{hex}").expect("type");
        stdin.flush().expect("flush");
        self.typed
            .recv_timeout(DEADLINE)
            .expect("the keys were typed into the terminal");
    }
}

impl Drop for Typist {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + DEADLINE;
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn typist_tools() -> bool {
    openbsd_nc() && common::tools_installed(&["python3"])
}

#[test]
fn half_a_line_typed_in_a_terminal_reaches_nc_only_at_enter() {
    if !typist_tools() {
        return;
    }
    let (mut typist, mut server) = Typist::start(&[]);
    typist.types(b"half a li");
    common::assert_silent(
        &server,
        Duration::from_millis(500),
        "the terminal holds a line until Enter",
    );
    typist.types(b"ne\n");
    assert_eq!(
        common::read_exact(&mut server, 12, "the line, at Enter"),
        b"half a line\n"
    );
}

#[test]
fn ctrl_d_sends_half_a_line_as_it_is_and_at_the_start_of_a_line_ends_the_input() {
    if !typist_tools() {
        return;
    }
    let (mut typist, mut server) = Typist::start(&["-N"]);
    typist.types(b"abc\x04");
    assert_eq!(
        common::read_exact(&mut server, 3, "the half line, at Ctrl-D"),
        b"abc",
        "Ctrl-D in the middle of a line passes on what was typed, without a newline"
    );
    common::assert_silent(
        &server,
        Duration::from_millis(300),
        "that Ctrl-D was not the end of the input",
    );
    typist.types(b"\x04");
    expect_eof(
        &server,
        "Ctrl-D on an empty line is the end of nc's input, and -N half-closes",
    );
}

// ---------------------------------------------------------------------------
// What a thread costs in memory mappings (book: lesson 07's flags,
// threads-cost.md). Linux.

/// The number of memory mappings of process `pid`, from `/proc/PID/maps`.
fn mappings(pid: u32) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/maps: {e}"))
        .lines()
        .count()
}

#[test]
fn every_thread_std_starts_costs_four_memory_mappings() {
    if !on_linux("memory mappings, as listed in /proc/PID/maps,") {
        return;
    }
    // Lesson 03's server starts one thread per client. glibc's malloc would
    // give the first threads an arena of their own (one or two mappings
    // each, up to 8 per core): one arena keeps the count to the threads.
    let how = common::Launch {
        env: &[("MALLOC_ARENA_MAX", "1")],
        ..Default::default()
    };
    let server = common::Server::launch("03_reverse_server", &[], &how);
    // A thread is counted once it has answered a line: it is running, and
    // its stack, guard page, signal stack and that stack's guard all exist.
    let answered = |count: usize| -> Vec<BufReader<TcpStream>> {
        (0..count)
            .map(|_| {
                let stream = server.connect();
                (&stream).write_all(b"abc\n").expect("send a line");
                let mut reader = BufReader::new(stream);
                assert_eq!(common::read_line(&mut reader, "the reversed line"), "cba");
                reader
            })
            .collect()
    };
    let _first = answered(1);
    let before = mappings(server.program.pid());
    const THREADS: usize = 100;
    let _more = answered(THREADS);
    let after = mappings(server.program.pid());
    let per_thread = (after - before) as f64 / THREADS as f64;
    assert!(
        (3.5..4.5).contains(&per_thread),
        "{THREADS} threads took {} mappings ({before} -> {after}): {per_thread:.2} each, \
         where std gives a thread 4 (stack, guard page, signal stack, its guard)",
        after - before
    );
}

// ---------------------------------------------------------------------------
// Loopback cuts and joins writes too (book: lesson 09, "Why a proxy").
// Every platform.

#[test]
fn two_small_writes_on_loopback_can_arrive_in_one_read() {
    let (_listener, mut client, mut server) = connected_pair();
    client.write_all(b"hello\n").expect("first write");
    client.write_all(b"world\n").expect("second write");
    // Wait until both writes are there, without taking them.
    let mut buf = [0u8; 64];
    wait_until(
        "both writes to reach the receiver",
        || server.peek(&mut buf).is_ok_and(|n| n == 12),
        String::new,
    );
    let n = server.read(&mut buf).expect("read");
    assert_eq!(
        &buf[..n],
        b"hello\nworld\n",
        "one read returns both writes: TCP keeps no boundaries"
    );
}

#[test]
fn four_mib_written_at_once_on_loopback_arrive_in_several_reads() {
    const SIZE: usize = 4 << 20;
    let (_listener, client, mut server) = connected_pair();
    let writer = thread::spawn(move || (&client).write_all(&vec![7u8; SIZE]));
    let mut buf = vec![0u8; SIZE];
    let (mut got, mut reads) = (0, 0);
    while got < SIZE {
        let n = server.read(&mut buf[got..]).expect("read");
        assert_ne!(n, 0, "end of stream after {got} of {SIZE} bytes");
        got += n;
        reads += 1;
    }
    writer.join().expect("writer").expect("write_all");
    assert!(
        reads > 1,
        "one write_all of 4 MiB should arrive in several reads of a 4 MiB buffer, \
         not whole at once: {reads} read(s)"
    );
}

// ---------------------------------------------------------------------------
// CLOSE_WAIT: the mark of a program that never closes after the end of the
// stream (book: pitfalls.md). Linux (states read from /proc/net/tcp).

const CLOSE_WAIT: &str = "08";
const FIN_WAIT2: &str = "05";

#[test]
fn a_server_that_reads_the_end_of_stream_and_keeps_the_socket_sits_in_close_wait() {
    if !on_linux("CLOSE_WAIT, as listed in /proc/net/tcp,") {
        return;
    }
    let (listener, client, server) = connected_pair();
    let server_port = listener.local_addr().expect("local_addr").port();
    let client_port = client.local_addr().expect("local_addr").port();
    drop(client);
    expect_eof(&server, "the server, after the client closed");
    // The server read the end of the stream but still holds its socket.
    wait_for_state(server_port, client_port, CLOSE_WAIT, "the server's end");
    wait_for_state(client_port, server_port, FIN_WAIT2, "the client's end");
    // Closing it is what ends CLOSE_WAIT (and the client goes to TIME_WAIT).
    drop(server);
    wait_for_state(client_port, server_port, TIME_WAIT, "the client's end");
    wait_until(
        "the server's socket to leave CLOSE_WAIT once closed",
        || {
            !tcp_sockets()
                .iter()
                .any(|(l, r, s)| (*l, *r) == (server_port, client_port) && s == CLOSE_WAIT)
        },
        String::new,
    );
}
