//! Lesson 09 end to end: the proxy between real clients and servers.
//!
//! Most tests put the proxy between a client and a server that the test
//! plays itself, so it can see exactly what arrives: how many bytes each
//! `read` returns, when, and how the connection ends. Each misbehaviour is
//! checked against what its flag promises; timings are checked from below
//! (a delay is never shorter than asked), with generous room above for a
//! busy machine.

mod common;

use common::{
    DEADLINE, Launch, Program, Server, Stdout, assert_silent, memory_kib, read_exact, read_line,
    run,
};
use pretty_assertions::assert_eq;
use rstest::rstest;
use std::io::{BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Starts `09_proxy` on port 0, forwarding to `to`.
fn proxy(to: SocketAddr, args: &[&str]) -> Server {
    let to = to.to_string();
    let mut all = vec!["--to", to.as_str()];
    all.extend_from_slice(args);
    Server::start("09_proxy", &all)
}

/// The server behind the proxy, played by the test.
struct Peer {
    listener: TcpListener,
}

impl Peer {
    fn new() -> Peer {
        Peer {
            listener: TcpListener::bind("127.0.0.1:0").expect("bind the test's server"),
        }
    }

    fn addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("local_addr")
    }

    /// The proxy's connection to us, within the deadline.
    fn accept(&self) -> TcpStream {
        let listener = self.listener.try_clone().expect("try_clone");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let _ = tx.send(listener.accept());
        });
        let (stream, _) = rx
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|_| {
                panic!("the proxy did not connect to the server within {DEADLINE:?}")
            })
            .expect("accept");
        stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
        stream.set_write_timeout(Some(DEADLINE)).expect("timeout");
        stream
    }
}

/// A client of the proxy and the proxy's connection to the test's server.
fn through(proxy: &Server, peer: &Peer) -> (TcpStream, TcpStream) {
    let client = proxy.connect();
    let server = peer.accept();
    (client, server)
}

/// Reads until `total` bytes have come, recording the size of each `read`
/// and when it returned.
fn reads(stream: &TcpStream, total: usize) -> Vec<(Duration, Vec<u8>)> {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut count = 0;
    let mut buf = [0u8; 64];
    while count < total {
        match (&*stream).read(&mut buf) {
            Ok(0) => panic!("the connection closed after {count} of {total} bytes: {got:?}"),
            Ok(n) => {
                got.push((start.elapsed(), buf[..n].to_vec()));
                count += n;
            }
            Err(e) => panic!("no more bytes after {count} of {total}: {e}"),
        }
    }
    got
}

/// How one side sees the end of its connection.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// `read` returned 0: a FIN, a clean close or half-close.
    Clean,
    /// `read` failed with "connection reset": an RST.
    Reset,
}

/// Reads until the connection ends and says how, failing if it does not
/// end within the read timeout. Returns what arrived before the end too.
fn end_of(stream: &TcpStream) -> (Vec<u8>, End) {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match (&*stream).read(&mut buf) {
            Ok(0) => return (got, End::Clean),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return (got, End::Reset),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("expected the connection to end, got {e} after {got:?}"),
        }
    }
}

fn reverse_server(args: &[&str]) -> Server {
    Server::start("03_reverse_server", args)
}

/// One line sent and its reply, through `addr`.
fn ask(addr: SocketAddr, line: &str) -> String {
    let stream = common::connect(addr);
    (&stream)
        .write_all(format!("{line}\n").as_bytes())
        .expect("send");
    read_line(&mut BufReader::new(&stream), "the reply")
}

// ---------------------------------------------------------------- forwarding

#[test]
fn bytes_pass_unchanged_both_ways() {
    let peer = Peer::new();
    let proxy = proxy(peer.addr(), &[]);
    let (client, server) = through(&proxy, &peer);
    let all_bytes: Vec<u8> = (0..=255).collect();
    (&client).write_all(&all_bytes).expect("send up");
    assert_eq!(read_exact(&mut &server, 256, "the bytes, up"), all_bytes);
    (&server).write_all(&all_bytes).expect("send down");
    assert_eq!(read_exact(&mut &client, 256, "the bytes, down"), all_bytes);
}

#[rstest]
#[case::the_client_finishes_first(true)]
#[case::the_server_finishes_first(false)]
fn an_end_of_stream_is_passed_on_as_a_half_close(#[case] client_first: bool) {
    let peer = Peer::new();
    let proxy = proxy(peer.addr(), &[]);
    let (client, server) = through(&proxy, &peer);
    let (first, second) = if client_first {
        (&client, &server)
    } else {
        (&server, &client)
    };
    (&*first).write_all(b"last words").expect("send");
    first.shutdown(Shutdown::Write).expect("half-close");
    // The other side reads the bytes, then the end of the stream...
    assert_eq!(end_of(second), (b"last words".to_vec(), End::Clean));
    // ...and its own direction is still open: a full close would lose this.
    (&*second)
        .write_all(b"the answer")
        .expect("answer after the end");
    second.shutdown(Shutdown::Write).expect("half-close");
    assert_eq!(end_of(first), (b"the answer".to_vec(), End::Clean));
    proxy.program.expect_stdout("closed: ");
}

/// The wire view tells what happened in the order it happened: a server
/// that closes when its client has finished cannot be seen closing first.
/// (The proxy once printed the half-close after passing it on, so the
/// server's own end of stream could be printed before it.)
#[test]
fn show_prints_a_half_close_before_the_answer_it_causes() {
    const CONNECTIONS: usize = 200;
    let peer = Peer::new();
    let proxy = proxy(peer.addr(), &["--show"]);
    for n in 1..=CONNECTIONS {
        let (client, server) = through(&proxy, &peer);
        client.shutdown(Shutdown::Write).expect("half-close");
        // The test's server closes as soon as it sees the client's end.
        assert_eq!(end_of(&server), (Vec::new(), End::Clean));
        server.shutdown(Shutdown::Write).expect("half-close");
        assert_eq!(end_of(&client), (Vec::new(), End::Clean));
        let id = format!("#{n} ");
        let ends: Vec<String> = (0..2)
            .map(|_| proxy.program.expect_stdout("end of stream"))
            .inspect(|line| assert!(line.contains(&id), "expected {id}in {line:?}"))
            .map(|line| line.split_once(" ms  ").expect("a time").1.to_string())
            .collect();
        assert_eq!(
            ends,
            [
                format!("{id}up    @0      end of stream: passed on as a half-close"),
                format!("{id}down  @0      end of stream: passed on as a half-close"),
            ],
            "connection {n} of {CONNECTIONS}"
        );
        proxy.program.expect_stdout(&format!("{id}closed: "));
    }
}

#[test]
fn a_client_reset_closes_the_server_side_cleanly_and_the_proxy_goes_on() {
    let peer = Peer::new();
    let proxy = proxy(peer.addr(), &[]);
    let (client, server) = through(&proxy, &peer);
    // A close with unread bytes makes the system send an RST. `peek`
    // returns once the bytes have arrived, without reading them.
    (&server).write_all(b"unread").expect("send down");
    client.peek(&mut [0u8; 1]).expect("the bytes arrive");
    drop(client);
    assert_eq!(end_of(&server).1, End::Clean);
    proxy.program.expect_stdout("closing both sides");
    let (client, server) = through(&proxy, &peer);
    (&client).write_all(b"next").expect("send");
    assert_eq!(
        read_exact(&mut &server, 4, "the next client's bytes"),
        b"next"
    );
}

#[test]
fn many_connections_are_forwarded_at_once() {
    let server = reverse_server(&[]);
    let proxy = proxy(server.addr, &[]);
    // All connected before any speaks: the proxy serves them side by side.
    let clients: Vec<TcpStream> = (0..50).map(|_| proxy.connect()).collect();
    thread::scope(|s| {
        for (i, client) in clients.iter().enumerate() {
            s.spawn(move || {
                let mut replies = BufReader::new(client);
                for round in 0..10 {
                    let line = format!("client {i} round {round}");
                    (&*client)
                        .write_all(format!("{line}\n").as_bytes())
                        .expect("send");
                    let reply = read_line(&mut replies, "a reply");
                    assert_eq!(reply, line.chars().rev().collect::<String>());
                }
            });
        }
    });
}

// ---------------------------------------------------------------- lesson 03

#[test]
fn lesson_03_behind_slice_1_still_answers_correctly() {
    let server = reverse_server(&[]);
    let proxy = proxy(server.addr, &["--slice", "1"]);
    assert_eq!(ask(proxy.addr, "Go Coding Ninjas."), ".sajniN gnidoC oG");
    assert_eq!(ask(proxy.addr, "héllo 🦀"), "🦀 olléh");
}

#[test]
fn lesson_03_raw_behind_slice_1_answers_garbage() {
    // `--raw` reverses whatever one `read` returned. Behind `--slice 1` no
    // read holds the whole line, so no cut of it gives the right answer:
    // one byte reversed is itself, and the `\n` of the last piece comes
    // first in its reversed chunk.
    let server = reverse_server(&["--raw"]);
    let proxy = proxy(server.addr, &["--up", "--slice", "1", "--gap", "5"]);
    let reply = ask(proxy.addr, "Go Coding Ninjas.");
    assert_ne!(reply, ".sajniN gnidoC oG");
    // Without the proxy, on loopback, the same server looks almost right.
    let direct = common::connect(server.addr);
    (&direct).write_all(b"Go Coding Ninjas.\n").expect("send");
    let got = read_exact(&mut &direct, 18, "the raw reply");
    assert_eq!(got, b"\n.sajniN gnidoC oG");
}

// ---------------------------------------------------------------- misbehaviours

/// The next `n` lines of the proxy's wire view (`--show`): when each chunk
/// was written, by the proxy's own clock, and the rest of its line.
///
/// How the bytes were cut is judged from here, not from the receiver's
/// `read`s: a receiver that a busy machine keeps waiting reads two pieces
/// at once, or one late, however well the proxy kept them apart.
fn wire_view(proxy: &Server, n: usize) -> Vec<(Duration, String)> {
    (0..n)
        .map(|_| {
            let line = proxy.program.expect_stdout(" ms  #1 ");
            let (ms, rest) = line.split_once(" ms  ").expect("a time");
            let ms: f64 = ms.trim().parse().expect("milliseconds");
            (Duration::from_secs_f64(ms / 1000.0), rest.to_string())
        })
        .collect()
}

#[test]
fn slice_writes_pieces_of_at_most_n_bytes_apart() {
    let peer = Peer::new();
    let proxy = proxy(
        peer.addr(),
        &["--show", "--up", "--slice", "3", "--gap", "200"],
    );
    let (client, server) = through(&proxy, &peer);
    (&client)
        .write_all(b"abcdefghij")
        .expect("one write of 10 bytes");
    assert_eq!(read_exact(&mut &server, 10, "the bytes"), b"abcdefghij");
    let wire = wire_view(&proxy, 4);
    let chunks: Vec<&str> = wire.iter().map(|(_, chunk)| chunk.as_str()).collect();
    assert_eq!(
        chunks,
        [
            "#1 up    @0         3 B  \"abc\"",
            "#1 up    @3         3 B  \"def\"",
            "#1 up    @6         3 B  \"ghi\"",
            "#1 up    @9         1 B  \"j\"",
        ],
        "pieces of 3 bytes, each a write of its own"
    );
    for pair in wire.windows(2) {
        let apart = pair[1].0 - pair[0].0;
        assert!(
            apart >= Duration::from_millis(195),
            "--gap 200 should keep the pieces apart: {wire:?}"
        );
    }
}

#[test]
fn slice_applies_only_to_the_direction_named_before_it() {
    let peer = Peer::new();
    let proxy = proxy(
        peer.addr(),
        &["--show", "--down", "--slice", "1", "--gap", "100"],
    );
    let (client, server) = through(&proxy, &peer);
    (&client).write_all(b"0123456789").expect("send up");
    read_exact(&mut &server, 10, "the bytes up");
    (&server).write_all(b"abc").expect("send down");
    read_exact(&mut &client, 3, "the bytes down");
    let chunks: Vec<String> = wire_view(&proxy, 4)
        .into_iter()
        .map(|(_, chunk)| chunk)
        .collect();
    assert_eq!(
        chunks,
        [
            "#1 up    @0        10 B  \"0123456789\"",
            "#1 down  @0         1 B  \"a\"",
            "#1 down  @1         1 B  \"b\"",
            "#1 down  @2         1 B  \"c\"",
        ],
        "up is not sliced, down is sliced into single bytes"
    );
}

#[test]
fn merge_delivers_separate_writes_as_one() {
    let peer = Peer::new();
    // A window much longer than the 60 ms the three writes take: a busy
    // machine may keep the writer waiting between them.
    let proxy = proxy(peer.addr(), &["--up", "--merge", "1000"]);
    let (client, server) = through(&proxy, &peer);
    let start = Instant::now();
    for message in ["one\n", "two\n", "three\n"] {
        (&client).write_all(message.as_bytes()).expect("send");
        // Three writes, well apart, as three messages of a protocol are.
        thread::sleep(Duration::from_millis(30));
    }
    let got = reads(&server, 14);
    assert_eq!(
        got.iter().map(|(_, b)| b.as_slice()).collect::<Vec<_>>(),
        [b"one\ntwo\nthree\n".as_slice()],
        "the three writes should arrive in one read"
    );
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "merged bytes leave once the window is over"
    );
}

#[rstest]
#[case::one_way(&["--up", "--delay", "200"], 200)]
#[case::both_ways(&["--delay", "200"], 400)]
#[case::with_jitter(&["--delay", "200", "--jitter", "100"], 200)]
fn delay_adds_its_latency(#[case] args: &[&str], #[case] at_least_ms: u64) {
    let peer = Peer::new();
    let proxy = proxy(peer.addr(), args);
    let (client, server) = through(&proxy, &peer);
    let start = Instant::now();
    (&client).write_all(b"ping").expect("send");
    read_exact(&mut &server, 4, "the ping");
    (&server).write_all(b"pong").expect("answer");
    read_exact(&mut &client, 4, "the pong");
    let round_trip = start.elapsed();
    let least = Duration::from_millis(at_least_ms);
    assert!(round_trip >= least, "{round_trip:?} is less than {least:?}");
    // Generous: a loaded machine may add a little, never seconds.
    assert!(
        round_trip < least + Duration::from_millis(1500),
        "{round_trip:?}"
    );
}

#[test]
fn rate_limits_the_bytes_per_second() {
    let peer = Peer::new();
    let proxy = proxy(peer.addr(), &["--down", "--rate", "20000"]);
    let (client, server) = through(&proxy, &peer);
    let start = Instant::now();
    (&server).write_all(&[b'x'; 10_000]).expect("send down");
    let mut got = vec![0u8; 10_000];
    (&client).read_exact(&mut got).expect("all 10 000 bytes");
    let took = start.elapsed();
    // 10 000 bytes at 20 000 B/s, in pieces of at most 2 000 (a tenth of
    // a second's worth): the last piece leaves once the 8 000 bytes or more
    // before it have had their 0.4 s. Without --rate: a millisecond.
    assert!(
        took >= Duration::from_millis(400),
        "10 000 B at 20 000 B/s in {took:?}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn reset_after_is_seen_as_a_reset_by_the_client_and_a_close_by_the_server() {
    let peer = Peer::new();
    let proxy = proxy(peer.addr(), &["--up", "--reset-after", "4"]);
    let (client, server) = through(&proxy, &peer);
    (&client).write_all(b"0123456789").expect("send up");
    assert_eq!(end_of(&server), (b"0123".to_vec(), End::Clean));
    assert_eq!(end_of(&client), (Vec::new(), End::Reset));
    proxy
        .program
        .expect_stdout("reset (--reset-after): RST to the client");
}

#[test]
fn reset_after_waits_for_the_byte_after_the_limit() {
    let peer = Peer::new();
    let proxy = proxy(peer.addr(), &["--up", "--reset-after", "4"]);
    let (client, server) = through(&proxy, &peer);
    (&client).write_all(b"0123").expect("exactly the limit");
    assert_eq!(read_exact(&mut &server, 4, "the 4 bytes"), b"0123");
    // The other direction still works until the client sends more.
    (&server).write_all(b"ok").expect("send down");
    assert_eq!(read_exact(&mut &client, 2, "the answer"), b"ok");
    (&client).write_all(b"4").expect("one byte too many");
    assert_eq!(end_of(&client).1, End::Reset);
}

#[test]
fn stall_after_is_seen_as_a_timeout_and_the_connection_stays_open() {
    let peer = Peer::new();
    let proxy = proxy(peer.addr(), &["--up", "--stall-after", "3"]);
    let (client, server) = through(&proxy, &peer);
    (&client).write_all(b"hello\n").expect("send up");
    assert_eq!(read_exact(&mut &server, 3, "the first 3 bytes"), b"hel");
    assert_silent(
        &server,
        Duration::from_millis(500),
        "nothing after --stall-after 3, and no close either",
    );
    // The client waiting for an answer sees only a timeout...
    client
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut byte = [0u8; 1];
    let e = (&client).read(&mut byte).expect_err("no answer can come");
    assert!(
        matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{e}"
    );
    // ...on a connection that is still open: the server's bytes still pass.
    client.set_read_timeout(Some(DEADLINE)).expect("timeout");
    (&server).write_all(b"still here").expect("send down");
    assert_eq!(
        read_exact(&mut &client, 10, "the server's bytes"),
        b"still here"
    );
}

/// A stalled connection whose client hangs up ends once the server ends it
/// too, and frees its slot: it once stayed open for good, and
/// --max-connections clients later the proxy refused everyone. The proxy
/// says `#N closed` only once the slot is free again: it once said so a
/// moment before, and a client that connected on reading it (as this test
/// does, ten times) was refused now and then on a busy machine.
#[test]
fn a_stalled_connection_ends_when_its_client_hangs_up() {
    let peer = Peer::new();
    let proxy = proxy(
        peer.addr(),
        &["--max-connections", "1", "--up", "--stall-after", "3"],
    );
    for n in 1..=10 {
        let (client, server) = through(&proxy, &peer);
        (&client).write_all(b"hello\n").expect("send");
        assert_eq!(
            read_exact(&mut &server, 3, "the bytes before the stall"),
            b"hel"
        );
        drop(client);
        // The end reaches the server, which ends its side; then the
        // connection is closed, and the slot is free again.
        assert_eq!(end_of(&server), (Vec::new(), End::Clean), "connection {n}");
        drop(server);
        proxy.program.expect_stdout(&format!("#{n} closed: "));
    }
}

/// A half-close is not a departure: a client that has said all it will say
/// (and whose words the stall swallowed) still gets the server's last words.
/// The proxy once closed both sides at the client's half-close, and the
/// server's `bye` was lost.
#[test]
fn a_half_close_after_a_stall_still_lets_the_server_answer() {
    let peer = Peer::new();
    let proxy = proxy(peer.addr(), &["--up", "--stall-after", "3"]);
    let (client, server) = through(&proxy, &peer);
    (&client).write_all(b"hello\n").expect("send up");
    assert_eq!(read_exact(&mut &server, 3, "the first 3 bytes"), b"hel");
    client.shutdown(Shutdown::Write).expect("half-close");
    // The server hears the end (and nothing of what the stall swallowed)...
    assert_eq!(end_of(&server), (Vec::new(), End::Clean));
    // ...and its last words still reach the client, then its close.
    (&server).write_all(b"bye\n").expect("send down");
    server
        .shutdown(Shutdown::Write)
        .expect("the server's close");
    assert_eq!(end_of(&client), (b"bye\n".to_vec(), End::Clean));
}

#[test]
fn close_after_closes_both_sides_cleanly() {
    let peer = Peer::new();
    let proxy = proxy(peer.addr(), &["--up", "--close-after", "5"]);
    let (client, server) = through(&proxy, &peer);
    (&client).write_all(b"hello world").expect("send up");
    assert_eq!(end_of(&server), (b"hello".to_vec(), End::Clean));
    // Clean, not a reset, although " world" was never forwarded.
    assert_eq!(end_of(&client), (Vec::new(), End::Clean));
    drop((client, server));
    proxy
        .program
        .expect_stdout("closed: 5 bytes up, 0 bytes down; 6 bytes up dropped");
}

// ---------------------------------------------------------------- --show

#[test]
fn show_prints_one_line_per_forwarded_chunk() {
    let peer = Peer::new();
    let proxy = proxy(peer.addr(), &["--show", "--up", "--slice", "2"]);
    let (client, server) = through(&proxy, &peer);
    (&client).write_all("aé\n".as_bytes()).expect("send");
    read_exact(&mut &server, 4, "the bytes");
    (&server).write_all(b"ok\n").expect("answer");
    read_exact(&mut &client, 3, "the answer");
    let wire: Vec<String> = wire_view(&proxy, 3)
        .into_iter()
        .map(|(_, chunk)| chunk)
        .collect();
    assert_eq!(
        wire,
        [
            "#1 up    @0         2 B  \"a\\xc3\"",
            "#1 up    @2         2 B  \"\\xa9\\n\"",
            "#1 down  @0         3 B  \"ok\\n\"",
        ]
    );
}

// ---------------------------------------------------------------- lesson 04

/// Lesson 04's chat server, a proxy in front of it, and its client.
fn chat_behind(args: &[&str]) -> (Server, Server, Program) {
    let chat = Server::start("04_chat_server", &[]);
    let proxy = proxy(chat.addr, args);
    let addr = proxy.addr_arg();
    let client = Program::start("04_chat_client", &["--addr", &addr]);
    client.expect_stderr("connected to");
    chat.program.expect_stderr("connected");
    (chat, proxy, client)
}

#[test]
fn lesson_04_behind_reset_after_the_client_reports_a_reset_and_the_server_a_close() {
    let (mut chat, _proxy, mut client) = chat_behind(&["--up", "--reset-after", "6"]);
    client.type_in("hello\n");
    chat.program.expect_stdout("hello");
    client.type_in("again\n");
    let status = client.wait_for_exit();
    let said = client.stderr().join("\n");
    assert!(!status.success(), "the client should fail: {said}");
    assert!(
        said.contains("connection reset by the other side"),
        "{said}"
    );
    // The server sees a clean end of the client's side, as after an `exit`,
    // and may still say goodbye before it leaves.
    chat.program.expect_stderr("closed its side");
    chat.program.type_in("exit\n");
    assert!(chat.program.wait_for_exit().success());
}

#[test]
fn lesson_04_behind_stall_after_neither_side_reports_anything() {
    let (mut chat, _proxy, mut client) = chat_behind(&["--up", "--stall-after", "0"]);
    client.type_in("hello?\n");
    // The other direction still works, which shows the proxy is alive.
    chat.program.type_in("anyone there?\n");
    client.expect_stdout("anyone there?");
    // The client leaves; with its words, its goodbye vanished too.
    client.type_in("exit\n");
    chat.program.type_in("bye\n");
    client.expect_stdout("bye");
    chat.program.type_in("exit\n");
    assert!(client.wait_for_exit().success());
    assert!(chat.program.wait_for_exit().success());
    let heard = chat.program.rest_of_stdout();
    assert!(
        heard.is_empty(),
        "the server should have heard nothing: {heard:?}"
    );
}

// ---------------------------------------------------------------- errors and limits

#[test]
fn a_server_that_is_down_closes_the_client_and_says_why() {
    let down = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let proxy = proxy(down, &[]);
    let client = proxy.connect();
    assert_eq!(end_of(&client).1, End::Clean);
    let line = proxy.program.expect_stdout("cannot connect");
    assert!(
        line.contains("connection refused: nothing is listening there"),
        "{line}"
    );
    assert!(line.ends_with("closing the client's connection"), "{line}");
}

#[test]
fn a_bad_server_address_is_one_readable_line_before_listening() {
    let (status, stdout, stderr) = run("09_proxy", &["--to", "127.0.0.1:notaport"], "");
    assert!(!status.success());
    assert!(stdout.is_empty(), "nothing listens: {stdout:?}");
    assert_eq!(stderr.len(), 1, "{stderr:?}");
    assert!(
        stderr[0].starts_with("error: cannot forward to 127.0.0.1:notaport"),
        "{stderr:?}"
    );
}

#[rstest]
#[case::zero_slice(&["--slice", "0"], "0 is not a whole number from 1 to 65536")]
#[case::delay_too_long(&["--delay", "100000"], "from 0 to 60000")]
#[case::zero_connections(&["--max-connections", "0"], "from 1 to 10000")]
#[case::up_with_nothing_after_it(&["--slice", "1", "--up"], "--up applies to the misbehaviours after it")]
fn a_bad_flag_is_one_line_that_says_what_works(#[case] args: &[&str], #[case] expected: &str) {
    let (status, _, stderr) = run("09_proxy", args, "");
    assert_eq!(status.code(), Some(2));
    assert_eq!(stderr.len(), 1, "{stderr:?}");
    assert!(stderr[0].contains(expected), "{stderr:?}");
}

#[test]
fn beyond_max_connections_a_client_is_closed_and_the_others_are_served() {
    let server = reverse_server(&[]);
    let proxy = proxy(server.addr, &["--max-connections", "2"]);
    let held: Vec<TcpStream> = (0..2).map(|_| proxy.connect()).collect();
    for (i, c) in held.iter().enumerate() {
        (&*c).write_all(b"in\n").expect("send");
        assert_eq!(
            read_line(&mut BufReader::new(c), "a reply"),
            "ni",
            "client {i}"
        );
    }
    let third = proxy.connect();
    assert_eq!(end_of(&third).1, End::Clean);
    let refused = proxy.program.expect_stdout("#3 ");
    assert!(
        refused.ends_with("refused: 2 connections already (--max-connections)"),
        "{refused}"
    );
    drop(held);
    // Both places must be free, and the two connections end in either
    // order: waiting for "#2 closed" alone once let #1 still hold its place.
    for _ in 0..2 {
        proxy.program.expect_stdout(" closed: ");
    }
    assert_eq!(ask(proxy.addr, "free again"), "niaga eerf");
}

#[test]
fn a_servers_last_words_before_a_reset_still_reach_the_client() {
    // The down direction holds what it reads for a second, so the up
    // direction's failure comes while the last words are still on their
    // way. Once, that failure closed the client's side at once and the
    // words were lost; a huge line through the plain proxy lost its error
    // line the same way, now and then, on a busy machine.
    let peer = Peer::new();
    let proxy = proxy(peer.addr(), &["--down", "--delay", "1000"]);
    let (client, server) = through(&proxy, &peer);
    (&client).write_all(b"unread").expect("send up");
    server
        .peek(&mut [0u8; 1])
        .expect("the client's bytes arrive");
    (&server)
        .write_all(b"error: last words\n")
        .expect("send down");
    // A close with unread bytes: an RST follows the last words.
    drop(server);
    // The proxy learns of the reset when it writes to the server again.
    (&client).write_all(b"more").expect("send up");
    proxy.program.expect_stdout("closing both sides");
    let (got, _) = end_of(&client);
    assert_eq!(String::from_utf8_lossy(&got), "error: last words\n");
}

#[test]
fn a_huge_line_reaches_the_server_which_refuses_it_and_the_proxy_goes_on() {
    let server = reverse_server(&[]);
    let proxy = proxy(server.addr, &[]);
    let client = proxy.connect();
    let flood = common::flood_without_newline(&client);
    let (got, _) = end_of(&client);
    assert_eq!(
        String::from_utf8_lossy(&got),
        "error: line longer than 65536 bytes; closing the connection\n"
    );
    flood.join().expect("the flood's writer");
    assert_eq!(ask(proxy.addr, "still there?"), "?ereht llits");
}

#[rstest]
#[case::forwarding(&[])]
#[case::showing_every_chunk(&["--show"])]
#[case::sliced(&["--slice", "1000"])]
fn a_flood_both_ways_passes_with_bounded_memory(#[case] args: &[&str]) {
    const FLOOD: usize = 32 << 20; // 32 MiB each way
    let peer = Peer::new();
    let proxy = proxy(peer.addr(), args);
    let pid = proxy.program.pid();
    let before = memory_kib(pid, "VmRSS");
    let (client, server) = through(&proxy, &peer);
    thread::scope(|s| {
        // Both sides write and read at once: a proxy that waited for one
        // direction before the other would deadlock here.
        for (writer, reader) in [(&client, &server), (&server, &client)] {
            s.spawn(move || {
                let chunk = vec![b'z'; 64 * 1024];
                for _ in 0..FLOOD / chunk.len() {
                    (&*writer).write_all(&chunk).expect("flood");
                }
                writer.shutdown(Shutdown::Write).expect("half-close");
            });
            s.spawn(move || {
                let (got, end) = (|| {
                    let mut count = 0;
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        match (&*reader).read(&mut buf) {
                            Ok(0) => return (count, End::Clean),
                            Ok(n) => count += n,
                            Err(e) => panic!("flood cut after {count} bytes: {e}"),
                        }
                    }
                })();
                assert_eq!((got, end), (FLOOD, End::Clean));
            });
        }
    });
    match (before, memory_kib(pid, "VmHWM")) {
        (Some(before), Some(peak)) => assert!(
            peak < before + 16 * 1024,
            "memory must stay bounded: {before} KiB before, a peak of {peak} KiB"
        ),
        _ => common::skip("no /proc on this system: the memory bound is checked on Linux only"),
    }
}

#[test]
fn a_client_that_never_reads_does_not_stop_the_others() {
    let peer = Peer::new();
    let proxy = proxy(peer.addr(), &[]);
    let (stuck, stuck_server) = through(&proxy, &peer);
    // The server floods a client that reads nothing, until the buffers on
    // the way are full and its writes block.
    stuck_server
        .set_write_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let chunk = vec![b'q'; 64 * 1024];
    let mut written = 0usize;
    while (&stuck_server).write_all(&chunk).is_ok() {
        written += chunk.len();
        assert!(
            written < 1 << 30,
            "the proxy should stop reading at some point"
        );
    }
    let (other, other_server) = through(&proxy, &peer);
    (&other).write_all(b"hi").expect("send");
    assert_eq!(
        read_exact(&mut &other_server, 2, "the other client's bytes"),
        b"hi"
    );
    drop((stuck, stuck_server, other, other_server));
}

#[rstest]
#[case::closed(Stdout::ClosedAfterFirstLine)]
#[case::nobody_reads_it(Stdout::UnreadAfterFirstLine)]
fn show_never_stops_the_proxy_when_its_output_is_gone_or_full(#[case] stdout: Stdout) {
    // `--show` prints a line for every chunk: a flood of chunks through a
    // terminal that is closed, or full, must cost lines, not forwarding.
    let peer = Peer::new();
    let to = peer.addr().to_string();
    let how = Launch {
        stdout,
        ..Launch::default()
    };
    let mut proxy = Server::launch("09_proxy", &["--to", &to, "--show", "--slice", "16"], &how);
    let (client, server) = through(&proxy, &peer);
    const FLOOD: usize = 4 << 20; // 4 MiB in 16-byte pieces: 262 144 lines
    thread::scope(|s| {
        s.spawn(|| {
            let chunk = vec![b'w'; 64 * 1024];
            for _ in 0..FLOOD / chunk.len() {
                (&client).write_all(&chunk).expect("flood");
            }
        });
        let got = read_exact(&mut &server, FLOOD, "the whole flood");
        assert!(got.iter().all(|b| *b == b'w'));
    });
    (&server).write_all(b"still there").expect("send down");
    assert_eq!(read_exact(&mut &client, 11, "the answer"), b"still there");
    assert!(
        proxy.program.is_running(),
        "{:?}",
        proxy.program.stderr_so_far()
    );
    let stderr = proxy.program.stderr_so_far();
    assert!(!stderr.iter().any(|l| l.contains("panicked")), "{stderr:?}");
}

// ---------------------------------------------------------------- speed

/// The median round trip of `08_load pingpong` at `addr`, in microseconds.
fn pingpong_p50(addr: SocketAddr) -> f64 {
    let addr = addr.to_string();
    let args = [
        "pingpong",
        "--addr",
        &addr,
        "--clients",
        "1",
        "--messages",
        "2000",
        "--json",
    ];
    let (status, stdout, stderr) = run("08_load", &args, "");
    assert!(status.success(), "{stdout:?} {stderr:?}");
    let json = stdout.join("");
    let p50 = json
        .split("\"p50_us\":")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok());
    p50.unwrap_or_else(|| panic!("no p50_us in {json}"))
}

#[test]
#[ignore = "a measurement: run with cargo test --release -p end-to-end --test lesson_09_proxy -- --ignored"]
fn the_proxy_adds_at_most_twice_the_round_trip_of_a_direct_connection() {
    let server = reverse_server(&[]);
    let proxy = proxy(server.addr, &[]);
    // Side by side in one run, alternating, so both see the same machine.
    let (mut direct, mut proxied) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        direct.push(pingpong_p50(server.addr));
        proxied.push(pingpong_p50(proxy.addr));
    }
    direct.sort_by(f64::total_cmp);
    proxied.sort_by(f64::total_cmp);
    let (direct, proxied) = (direct[1], proxied[1]);
    let added = proxied - direct;
    println!(
        "round trip p50: direct {direct:.0} us, through the proxy {proxied:.0} us \
         (+{added:.0} us, {:.1}x the direct round trip added)",
        added / direct
    );
    // Through the proxy every message makes two more hops on loopback and
    // wakes two more threads (the proxy's up and down): as many again as
    // the direct round trip has, so about 1x added, and never above 2x.
    assert!(
        added <= 2.0 * direct,
        "the proxy adds {added:.0} us to a direct round trip of {direct:.0} us: more than 2x"
    );
}
