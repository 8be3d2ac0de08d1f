//! Lesson 05's room against clients that flood, stop reading, vanish in the
//! middle of a line, or try to paint over the others' terminals, and
//! against a stdout that nobody reads. Each test says what a user would
//! see, on 127.0.0.1, with a count or a deadline on every loop.
//!
//! The room's flow control (lessons/src/room/flow.rs): a client that
//! floods is slowed down, a reader that reads is never dropped, and a
//! client that stops reading is dropped by the stated rule, with a last
//! line saying why and never half a line.
//!
//! The million-line flood of issue 11's "done when" takes a while, so it is
//! `#[ignore]`d: `cargo test --release -p end-to-end --test faults_room -- --ignored`.

mod common;

use common::peers::Peer;
use common::room::{Client, read_lines};
use common::{DEADLINE, Launch, Server, Stdout, memory_kib};
use pretty_assertions::assert_eq;
use rstest::rstest;
use std::io::{BufRead, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

fn room(args: &[&str]) -> Server {
    Server::start("05_multi_server", args)
}

/// Reads lines until `n` lines of `from` have arrived, skipping news
/// (`* ...`), and checks that they are `expected(0)`, `expected(1)`, ...
/// in that order: none lost, none out of order, none torn.
fn every_line_in_order(
    reader: &mut Client,
    from: usize,
    n: usize,
    expected: impl Fn(usize) -> String,
) {
    let label = format!("[#{from}] ");
    let mut next = 0;
    while next < n {
        let line = reader.next_line();
        if line.starts_with("* ") {
            continue;
        }
        let text = line
            .strip_prefix(&label)
            .unwrap_or_else(|| panic!("client #{}: a line of #{from}, got {line:?}", reader.id));
        assert_eq!(text, expected(next), "client #{}, line {next}", reader.id);
        next += 1;
    }
}

/// The server's number of threads (Linux), `None` elsewhere.
fn threads(server: &Server) -> Option<u64> {
    memory_kib(server.program.pid(), "Threads")
}

/// The server's threads once every thread of `client` runs: a welcome
/// comes from its writer, but its reader starts a moment later, so wait
/// for the server to log a line of the client's, which its reader read.
fn threads_with(server: &Server, client: &Client) -> Option<u64> {
    client.say("counting threads");
    server.program.expect_stdout(&format!(
        "[#{} {}] counting threads",
        client.id, client.addr
    ));
    threads(server)
}

/// Waits until the server runs `want` threads or fewer; fails after the
/// deadline. Returns false (after a SKIPPED line) where there is no /proc.
fn threads_come_down_to(server: &Server, want: u64, why: &str) -> bool {
    let deadline = Instant::now() + DEADLINE;
    loop {
        match threads(server) {
            None => {
                common::skip("no /proc on this system: threads are counted on Linux only");
                return false;
            }
            Some(now) if now <= want => return true,
            Some(now) => assert!(
                Instant::now() < deadline,
                "{why}: the server still runs {now} threads, {want} expected, after {DEADLINE:?}"
            ),
        }
        thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------- floods

#[test]
fn five_fast_readers_get_every_line_of_a_5000_line_burst_sent_in_one_write() {
    // Issue 11: all 5 readers were dropped as "not reading", in every run,
    // because 5000 lines overflowed a 1024-line queue in microseconds.
    const LINES: usize = 5000;
    let server = room(&[]);
    let mut readers: Vec<Client> = (0..5).map(|_| Client::join(&server)).collect();
    let flooder = Client::join(&server);
    let burst: String = (0..LINES).map(|i| format!("x{i}\n")).collect();
    thread::scope(|s| {
        for reader in &mut readers {
            s.spawn(|| every_line_in_order(reader, flooder.id, LINES, |i| format!("x{i}")));
        }
        flooder.send_bytes(burst.as_bytes());
    });
}

#[test]
fn bystanders_keep_every_line_of_a_pipelined_flood() {
    // Issue 11: a client pipelining a million lines got both bystanders
    // dropped. Now the flooder is slowed to the pace of the readers.
    const LINES: usize = 100_000;
    let server = room(&[]);
    let mut bystanders: Vec<Client> = (0..2).map(|_| Client::join(&server)).collect();
    let flooder = Client::join(&server);
    let line = |i: usize| format!("{i:06} the quick brown fox jumps over the lazy dog");
    thread::scope(|s| {
        for bystander in &mut bystanders {
            s.spawn(|| every_line_in_order(bystander, flooder.id, LINES, line));
        }
        // As fast as the server takes it, in 64 KiB writes.
        let mut chunk = String::new();
        for i in 0..LINES {
            chunk.push_str(&line(i));
            chunk.push('\n');
            if chunk.len() >= 64 * 1024 || i == LINES - 1 {
                flooder.send_bytes(chunk.as_bytes());
                chunk.clear();
            }
        }
    });
}

#[test]
fn a_slow_reader_is_dropped_by_the_rule_with_a_goodbye_and_no_half_line() {
    // One line a second is not reading: the rule drops it once 65536 bytes
    // have waited for it for --soft-secs. It gets a last line saying why,
    // after whole lines only, and the bystander loses nothing meanwhile.
    const LINES: usize = 20_000; // 20 MB: more than the system's buffers hold
    let server = room(&["--soft-secs", "2"]);
    let mut slow = Client::join(&server);
    let mut bystander = Client::join(&server);
    let flooder = Client::join(&server);
    let padding = "y".repeat(1000);
    let line = |i: usize| format!("{i:06} {padding}");
    let dropped = AtomicBool::new(false);
    let slow_id = slow.id;
    let start = Instant::now();
    let (all, log, waited) = thread::scope(|s| {
        s.spawn(|| every_line_in_order(&mut bystander, flooder.id, LINES, line));
        s.spawn(|| {
            for i in 0..LINES {
                flooder.send_bytes(format!("{}\n", line(i)).as_bytes());
            }
        });
        let slow_reader = s.spawn(|| {
            let mut lines = Vec::new();
            // One line a second, until the server has dropped it (bounded:
            // the deadline of the log line below ends it).
            while !dropped.load(Ordering::SeqCst) && lines.len() < 20 {
                lines.push(slow.next_line());
                // A second, but it reads the rest as soon as it is dropped:
                // the rule gives it --soft-secs to take its last line.
                for _ in 0..20 {
                    if dropped.load(Ordering::SeqCst) {
                        break;
                    }
                    thread::sleep(Duration::from_millis(50));
                }
            }
            // Now the rest at full speed: what the system's buffers held,
            // then the goodbye, then the end. No half line on the way.
            loop {
                let mut raw = Vec::new();
                let n = slow
                    .reader
                    .read_until(b'\n', &mut raw)
                    .expect("the rest of the slow reader's stream");
                if n == 0 {
                    return lines;
                }
                assert_eq!(
                    raw.last(),
                    Some(&b'\n'),
                    "half a line: {:?}",
                    String::from_utf8_lossy(&raw)
                );
                lines.push(String::from_utf8_lossy(&raw[..n - 1]).into_owned());
                assert!(lines.len() <= LINES + 30, "more lines than were sent");
            }
        });
        let log = server
            .program
            .expect_stdout(&format!("dropped (#{slow_id}): it is not reading"));
        let waited = start.elapsed();
        dropped.store(true, Ordering::SeqCst);
        (slow_reader.join().expect("the slow reader"), log, waited)
    });
    assert_eq!(
        log,
        format!(
            "client {} dropped (#{}): it is not reading: 65536 bytes or more waited for it for \
             2 s, and it took less than that (--soft-limit, --soft-secs)",
            slow.addr, slow.id
        )
    );
    assert!(waited >= Duration::from_secs(2), "dropped after {waited:?}");
    let mut all = all;
    let goodbye = all.pop().expect("a last line");
    assert_eq!(
        goodbye,
        "error: you are not reading: 65536 bytes or more waited for you for 2 s, and you took \
         less than that; closing the connection"
    );
    let relayed: Vec<&String> = all.iter().filter(|l| !l.starts_with("* ")).collect();
    assert!(!relayed.is_empty());
    for (i, l) in relayed.iter().enumerate() {
        assert_eq!(
            **l,
            format!("[#{}] {}", flooder.id, line(i)),
            "the slow reader's line {i}"
        );
    }
}

// ---------------------------------------------------------------- cut lines

#[test]
fn a_line_cut_short_by_the_end_of_the_stream_is_not_relayed() {
    let mut server = room(&[]);
    let mut bystander = Client::join(&server);
    let cut = Client::join(&server);
    cut.send_bytes(b"whole\nhalf a li");
    cut.stream()
        .shutdown(std::net::Shutdown::Write)
        .expect("half-close");
    server.program.expect_stdout(&format!(
        "client {} disconnected (#{}): the connection ended",
        cut.addr, cut.id
    ));
    server.program.type_in("end of test\n");
    let seen = bystander.lines_before("[server] end of test");
    let relayed: Vec<&String> = seen.iter().filter(|l| !l.starts_with("* ")).collect();
    assert_eq!(relayed, vec![&format!("[#{}] whole", cut.id)]);
}

#[test]
fn a_line_cut_short_by_a_reset_is_never_relayed() {
    // Issue 11: relayed as a whole line in 1 to 2 runs of 50. A reset
    // usually reads as an error, but when the writer thread meets the error
    // first, the reader sees a plain end of stream after half a line.
    let mut server = room(&[]);
    let mut bystander = Client::join(&server);
    for round in 0..20 {
        let c = server.connect();
        let me = c.local_addr().expect("local_addr");
        (&c).write_all(format!("complete {round}\n").as_bytes())
            .expect("send");
        // Leave the welcome unread: closing a socket with unread data makes
        // the system send a reset (std has no SO_LINGER on stable Rust).
        c.peek(&mut [0u8; 1]).expect("the welcome");
        (&c).write_all(b"half a li").expect("send half a line");
        drop(c);
        server
            .program
            .expect_stdout(&format!("client {me} disconnected"));
    }
    server.program.type_in("end of test\n");
    let seen = bystander.lines_before("[server] end of test");
    let relayed: Vec<&String> = seen.iter().filter(|l| !l.starts_with("* ")).collect();
    assert_eq!(relayed.len(), 20, "{seen:?}");
    for line in relayed {
        assert!(
            line.contains("] complete "),
            "only whole lines are relayed: {line:?}"
        );
    }
}

// ---------------------------------------------------------------- terminals

#[rstest]
#[case::carriage_return_paints_over_the_label("\r[server] spoofed", "\\r[server] spoofed")]
#[case::erase_line_escape(
    "\x1b[2K\x1b[1G[server] spoofed",
    "\\u{1b}[2K\\u{1b}[1G[server] spoofed"
)]
#[case::backspaces("\x08\x08\x08\x08[server]", "\\u{8}\\u{8}\\u{8}\\u{8}[server]")]
#[case::bell("ding\x07", "ding\\u{7}")]
#[case::tab_is_kept("a\tb", "a\tb")]
fn control_characters_are_shown_escaped(#[case] sent: &str, #[case] shown: &str) {
    let server = room(&[]);
    let mut bystander = Client::join(&server);
    let painter = Client::join(&server);
    painter.say(sent);
    bystander.expect(&format!("[#{}] {shown}", painter.id));
    // The server's own console is protected the same way.
    let logged = server.program.expect_stdout(&format!("[#{} ", painter.id));
    assert!(logged.ends_with(shown), "{logged:?}");
}

// ---------------------------------------------------------------- closing

#[test]
fn a_kicked_client_that_stays_connected_is_disconnected_and_its_threads_end() {
    // Issue 13: the kick half-closed, but the connection, its reader thread
    // and its descriptor stayed for as long as the client kept them.
    let mut server = room(&[]);
    let witness = Client::join(&server);
    let before = threads_with(&server, &witness);
    let mut kicked = Client::join(&server);
    server.program.type_in(&format!("/kick {}\n", kicked.id));
    assert_eq!(kicked.next_line(), "* you have been kicked");
    kicked.expect_eof();
    if let Some(before) = before {
        // The two threads of the client end, though it never closes.
        threads_come_down_to(&server, before, "after /kick");
    }
    kicked.writes_fail_soon();
}

#[test]
fn a_kicked_client_that_keeps_sending_is_disconnected() {
    let mut server = room(&[]);
    let mut bystander = Client::join(&server);
    let talker = Client::join(&server);
    let stop = AtomicBool::new(false);
    let failed_after = thread::scope(|s| {
        let sender = s.spawn(|| {
            // Talks until its writes fail, at most for the deadline.
            let start = Instant::now();
            let mut stream: &TcpStream = talker.stream();
            while start.elapsed() < DEADLINE && !stop.load(Ordering::SeqCst) {
                if stream.write_all(b"la la la\n").is_err() {
                    return Some(start.elapsed());
                }
                thread::sleep(Duration::from_millis(5));
            }
            None
        });
        bystander.expect(&format!("[#{}] la la la", talker.id));
        server.program.type_in(&format!("/kick {}\n", talker.id));
        let failed = sender.join().expect("the talker");
        stop.store(true, Ordering::SeqCst);
        failed
    });
    assert!(
        failed_after.is_some(),
        "the kicked client could go on sending for {DEADLINE:?}"
    );
    // Lines the talker sent before the kick may still come first (on a busy
    // machine, several reach the room between the first one and `/kick`).
    let said = format!("[#{}] la la la", talker.id);
    let before = bystander.lines_before(&format!("* #{} was kicked", talker.id));
    assert!(
        before.iter().all(|l| *l == said || l.starts_with("* ")),
        "only the talker's lines and news may come before the kick: {before:?}"
    );
}

#[test]
fn a_client_dropped_for_not_reading_is_disconnected_and_its_threads_end() {
    let server = room(&["--soft-secs", "1"]);
    let stuck = Client::join(&server);
    // (The stuck client's two threads are among them.)
    let with_stuck = threads_with(&server, &stuck);
    let mut listener = Client::join(&server);
    let talker = Client::join(&server);
    let line = "z".repeat(8 * 1024);
    let stop = AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            // The stuck client's buffers fill, then the talker is held back
            // for --soft-secs, then the stuck client is dropped. At most
            // 4096 lines (32 MiB).
            for _ in 0..4096 {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                talker.say(&line);
                listener.expect(&format!("[#{}] {line}", talker.id));
            }
        });
        server
            .program
            .expect_stdout(&format!("dropped (#{}): it is not reading", stuck.id));
        stop.store(true, Ordering::SeqCst);
    });
    if let Some(with_stuck) = with_stuck {
        // It never reads, so it never takes its goodbye: after another
        // --soft-secs, the server closes the connection anyway. Its two
        // threads go; the listener's and the talker's four stay.
        threads_come_down_to(
            &server,
            with_stuck - 2 + 4,
            "after dropping the stuck client",
        );
    }
    drop(stuck);
}

// ---------------------------------------------------------------- stdout

#[test]
fn a_stdout_nobody_reads_does_not_freeze_the_room() {
    // `sleep 600 | 05_multi_server | { read -r l; sleep 600; }`, and 5000
    // lines, each of which the server logs: the pipe is full after a few
    // hundred. The room must go on, and /quit must still work.
    const LINES: usize = 5000;
    let unread = Launch {
        stdout: Stdout::UnreadAfterFirstLine,
        ..Launch::default()
    };
    let mut server = Server::launch("05_multi_server", &[], &unread);
    let talker = Client::join(&server);
    let mut listener = Client::join(&server);
    let text: String = (0..LINES).map(|i| format!("line {i}\n")).collect();
    talker.send_bytes(text.as_bytes());
    // The listener joined last, so no news comes before the lines.
    let got = read_lines(&mut listener.reader, LINES, "relayed with stdout full");
    let want: Vec<String> = (0..LINES)
        .map(|i| format!("[#{}] line {i}", talker.id))
        .collect();
    assert!(
        got == want,
        "lines lost or out of order while stdout was full"
    );
    let newcomer = Client::join(&server);
    assert!(newcomer.id > listener.id, "a new client is welcomed");
    server.program.type_in("/quit\n");
    assert!(server.program.wait_for_exit().success());
}

#[test]
fn a_closed_stdout_loses_no_client() {
    // `05_multi_server | head -n 1`: every log line after the first fails.
    let closed = Launch {
        stdout: Stdout::ClosedAfterFirstLine,
        ..Launch::default()
    };
    let mut server = Server::launch("05_multi_server", &[], &closed);
    let clients: Vec<Client> = (0..3).map(|_| Client::join(&server)).collect();
    let [a, mut b, mut c]: [Client; 3] = clients.try_into().unwrap_or_else(|_| unreachable!());
    a.say("still here");
    b.expect(&format!("[#{}] still here", a.id));
    c.expect(&format!("[#{}] still here", a.id));
    server.program.type_in("/quit\n");
    for client in [&mut b, &mut c] {
        client.expect("* the server is shutting down");
    }
    assert!(server.program.wait_for_exit().success());
    drop(a);
}

// ---------------------------------------------------------------- done when

#[test]
#[ignore = "10 s to a minute in a release build: cargo test --release -p end-to-end --test faults_room -- --ignored"]
fn a_million_line_flood_reaches_five_readers_and_a_slow_reader_is_dropped_in_64_mib() {
    // Issue 11's "done when", with the load generator's flood mode.
    let server = room(&[]);
    let pid = server.program.pid().to_string();
    // Longer than the harness's deadline: 08_load's --max-secs bounds it.
    let output = Command::new(common::example_path("08_load"))
        .args(["room", "--addr", &server.addr_arg(), "--flood", "1000000"])
        .args(["--readers", "5", "--slow-readers", "1", "--pid", &pid])
        .args(["--timeout", "30", "--max-secs", "120"])
        .output()
        .expect("run 08_load");
    let status = output.status;
    let stdout: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(status.success(), "{stdout:?} {stderr:?}");
    let report = &stdout[0];
    assert!(
        report.contains("5/5 readers got all 1000000 lines in order"),
        "{report}"
    );
    assert!(
        report.contains("1/1 slow readers dropped with a goodbye, 0 half lines"),
        "{report}"
    );
    match server_peak_kib(report) {
        Some(peak) => assert!(
            peak < 64 * 1024,
            "the server's peak was {peak} KiB: {report}"
        ),
        None => common::skip("no /proc on this system: the memory bound is checked on Linux only"),
    }
}

/// The server's peak memory from the flood report (`peak VmHWM N KiB`).
fn server_peak_kib(report: &str) -> Option<u64> {
    report
        .split("peak VmHWM ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
}

// ------------------------------------------- 08_load room against hostile servers

/// A server that 08_load's room mode might meet when a learner points it at
/// their own half-working code.
#[derive(Debug, Clone, Copy)]
enum Hostile {
    /// One byte every 200 ms, never a newline, from the first byte on.
    Drip,
    /// Lesson 05's welcome, then the drip.
    WelcomeThenDrip,
    /// Lesson 05's welcome, then nothing.
    WelcomeThenSilence,
    /// A first line that never ends: bytes without a newline, as fast as
    /// they are taken (the wrong port, a prompt without a newline).
    EndlessLine,
}

impl Hostile {
    fn start(self) -> Peer {
        match self {
            Hostile::Drip => Peer::dripping(Duration::from_millis(200)),
            Hostile::WelcomeThenDrip => Peer::welcoming_then_dripping(Duration::from_millis(200)),
            Hostile::WelcomeThenSilence => Peer::welcoming_then_silent(),
            Hostile::EndlessLine => Peer::flooding(usize::MAX),
        }
    }
}

#[rstest]
fn load_room_ends_by_max_secs_with_bounded_memory_whatever_the_server_does(
    #[values(
        Hostile::Drip,
        Hostile::WelcomeThenDrip,
        Hostile::WelcomeThenSilence,
        Hostile::EndlessLine
    )]
    hostile: Hostile,
    #[values(
        &["--clients", "2", "--messages", "1"][..],
        &["--clients", "2", "--messages", "1", "--timeout", "2"][..],
        &["--flood", "10", "--readers", "2"][..],
        &["--flood", "10", "--readers", "1", "--slow-readers", "1"][..]
    )]
    mode: &[&str],
) {
    // Guards issue 20's "08_load room ignores --max-secs against a server
    // that drips (all four variants past 12 s with --max-secs 1), took 10 s
    // against a welcome then silence, and grew to 2 GiB against a first
    // line that never ends".
    let peer = hostile.start();
    let addr = peer.addr.to_string();
    let mut args = vec!["room", "--addr", &addr, "--max-secs", "1"];
    args.extend_from_slice(mode);
    let how = Launch {
        stdout: Stdout::Null,
        ..Launch::default()
    };
    common::example_path("08_load"); // built before the clock starts
    let launched = Instant::now();
    let mut load = common::Program::launch("08_load", &args, &how);
    let peak = common::peak_memory_kib(&mut load, || false);
    let status = load.wait_for_exit();
    // Timed from its first connection, an event, not from the launch: on a
    // busy machine a process can take a second just to start. Its own clock
    // for --max-secs starts before that connection, so this is no more than
    // its run. The bound is --max-secs + 1 s, and a second more for the
    // process to end and be seen ending; before issue 20 these runs took
    // 10 s to over 30 s.
    let took = peer.first_accepted().unwrap_or(launched).elapsed();
    let stderr = load.stderr();
    assert!(!status.success(), "{hostile:?} {mode:?}: {stderr:?}");
    assert!(
        took < Duration::from_secs(3),
        "08_load {args:?} against {hostile:?} ran {took:?} after it connected, past --max-secs 1 \
         + 1 s (and 1 s to exit): {stderr:?}"
    );
    match peak {
        Some(kib) => assert!(
            kib < 32 * 1024,
            "08_load {args:?} against {hostile:?} peaked at {kib} KiB"
        ),
        None => common::skip("no /proc on this system: the memory bound is checked on Linux only"),
    }
}
