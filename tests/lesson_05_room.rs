//! Lesson 05 end to end: the multi-client server and its console.
//!
//! Clients here are plain sockets, so each test sees exactly the lines a
//! client receives. Instead of sleeping, tests wait for a marker: the
//! server's log line for an event, or a last console line that every client
//! must receive after everything the test is checking.

mod common;

use common::room::{Client, join_one_by_one, joins_in};
use common::{Program, Server, read_line, read_to_eof, run};
use pretty_assertions::assert_eq;
use std::collections::BTreeSet;
use std::io::BufReader;

fn room(args: &[&str]) -> Server {
    Server::start("05_multi_server", args)
}

/// Types a last console line and returns, for each client, every line it
/// received before that one. The hub handles events in order, so whatever
/// the test did before is already in each client's queue.
fn lines_before_marker(server: &mut Server, clients: &mut [&mut Client]) -> Vec<Vec<String>> {
    server.program.type_in("end of test\n");
    clients
        .iter_mut()
        .map(|client| client.lines_before("[server] end of test"))
        .collect()
}

#[test]
fn three_clients_each_see_the_others_lines_and_not_their_own() {
    let mut server = room(&[]);
    // Each client hears that the next one joined (see `join_one_by_one`).
    let [mut a, mut b, mut c]: [Client; 3] = join_one_by_one(&server, 3)
        .try_into()
        .unwrap_or_else(|_| unreachable!());
    assert_eq!((a.id, b.id, c.id), (1, 2, 3));
    for (client, text) in [(&a, "from a"), (&b, "from b"), (&c, "from c")] {
        client.say(text);
        // The server's log line is the signal that the hub has relayed it.
        let logged = server.program.expect_stdout(&format!("] {text}"));
        assert_eq!(logged, format!("[#{} {}] {text}", client.id, client.addr));
    }
    let seen = lines_before_marker(&mut server, &mut [&mut a, &mut b, &mut c]);
    assert_eq!(
        seen,
        vec![
            vec!["[#2] from b", "[#3] from c"],
            vec!["[#1] from a", "[#3] from c"],
            vec!["[#1] from a", "[#2] from b"],
        ]
    );

    // Leaving is announced to those who stay.
    let c_addr = c.addr.clone();
    drop(c);
    server
        .program
        .expect_stdout(&format!("client {c_addr} disconnected (#3)"));
    assert_eq!(a.next_line(), "* #3 left");
    assert_eq!(b.next_line(), "* #3 left");
}

#[test]
fn a_client_that_names_itself_is_shown_with_its_name_to_the_others_and_on_the_console() {
    let mut server = room(&[]);
    let [mut a, mut b]: [Client; 2] = join_one_by_one(&server, 2)
        .try_into()
        .unwrap_or_else(|_| unreachable!());
    a.say("/name Alice");
    assert_eq!(a.next_line(), "* you are #1 Alice");
    server
        .program
        .expect_stdout(&format!("#1 Alice {} named itself", a.addr));
    a.say("hello");
    let logged = server.program.expect_stdout("] hello");
    assert_eq!(logged, format!("[#1 Alice {}] hello", a.addr));
    server.program.type_in("/list\n");
    server.program.expect_stdout("clients: 2");
    let listed = [
        server.program.next_stdout_line(),
        server.program.next_stdout_line(),
    ];
    assert!(
        listed.contains(&Some(format!("  #1 Alice {}", a.addr))),
        "/list should show the name: {listed:?}"
    );
    let seen = lines_before_marker(&mut server, &mut [&mut a, &mut b]);
    // The others never see the /name line itself: it is not a message.
    assert_eq!(seen, vec![vec![], vec!["[#1 Alice] hello".to_string()]]);
}

#[rstest::rstest]
#[case::no_name("/name")]
#[case::two_words("/name Alice Smith")]
#[case::a_bracket("/name ]x")]
#[case::too_long("/name abcdefghijklmnopqrstu")]
fn a_name_that_is_not_one_short_word_is_refused_and_the_client_stays(#[case] line: &str) {
    let mut server = room(&[]);
    let [mut a, mut b]: [Client; 2] = join_one_by_one(&server, 2)
        .try_into()
        .unwrap_or_else(|_| unreachable!());
    a.say(line);
    assert_eq!(
        a.next_line(),
        "error: usage: /name NAME (one word of letters, digits, - and _, at most 20 characters)"
    );
    a.say("still here");
    // The hub has relayed it once it logs it; only then the marker, which
    // comes from another thread (the console's).
    server.program.expect_stdout("] still here");
    let seen = lines_before_marker(&mut server, &mut [&mut a, &mut b]);
    assert_eq!(seen, vec![vec![], vec!["[#1] still here".to_string()]]);
}

#[test]
fn slash_to_reaches_only_its_target() {
    let mut server = room(&[]);
    let [mut a, mut b, mut c]: [Client; 3] = join_one_by_one(&server, 3)
        .try_into()
        .unwrap_or_else(|_| unreachable!());
    server.program.type_in("/to 2 psst, only for you\n");
    server.program.type_in("/to #3 and this for three\n");
    let seen = lines_before_marker(&mut server, &mut [&mut a, &mut b, &mut c]);
    assert_eq!(
        seen,
        vec![
            vec![],
            vec!["[server] psst, only for you"],
            vec!["[server] and this for three"],
        ]
    );
}

#[test]
fn slash_kick_disconnects_one_client_and_tells_the_others() {
    let mut server = room(&[]);
    let mut a = Client::join(&server);
    let mut b = Client::join(&server);
    server.program.type_in("/kick 1\n");
    assert_eq!(a.next_line(), "* #2 joined");
    assert_eq!(a.next_line(), "* you have been kicked");
    a.expect_eof();
    // Really disconnected, not only told: the server closes its socket, so
    // the kicked client cannot go on sending (tests/faults_room.rs checks
    // the threads and descriptors too).
    a.writes_fail_soon();
    assert_eq!(b.next_line(), "* #1 was kicked");
    server
        .program
        .expect_stdout(&format!("client {} kicked (#1)", a.addr));

    server.program.type_in("/list\n");
    server.program.expect_stdout("clients: 1");
    assert_eq!(
        server.program.next_stdout_line(),
        Some(format!("  #2 {}", b.addr))
    );
}

#[test]
fn an_unknown_command_or_client_is_one_error_line_and_the_server_goes_on() {
    let mut server = room(&[]);
    server.program.type_in("/frobnicate\n");
    let error = server.program.expect_stderr("error:");
    assert!(
        error.starts_with("error: unknown command /frobnicate (commands: /to N text"),
        "{error}"
    );
    server.program.type_in("/kick 42\n");
    assert_eq!(
        server.program.expect_stderr("error:"),
        "error: no client #42 (see /list)"
    );
    server.program.type_in("/to bob hello\n");
    assert_eq!(
        server.program.expect_stderr("error:"),
        "error: \"bob\" is not a client number (see /list)"
    );
    let mut a = Client::join(&server);
    server.program.type_in("still here\n");
    assert_eq!(a.next_line(), "[server] still here");
}

#[test]
fn a_client_beyond_max_clients_is_refused_and_its_place_can_be_taken_later() {
    let server = room(&["--max-clients", "2"]);
    let a = Client::join(&server);
    let _b = Client::join(&server);
    let third = server.connect();
    let mut reader = BufReader::new(&third);
    assert_eq!(read_line(&mut reader, "the refusal"), "error: server full");
    assert_eq!(read_to_eof(&mut reader, "the refused client"), b"");
    server.program.expect_stdout("refused: server full");

    let a_addr = a.addr.clone();
    drop(a);
    server
        .program
        .expect_stdout(&format!("client {a_addr} disconnected (#1)"));
    // A freed place is taken by the next client. (The refused one had #3:
    // the accept thread numbers every client before the hub sees it.)
    let d = Client::join(&server);
    assert_eq!(d.id, 4);
}

#[test]
fn a_client_that_never_reads_does_not_stop_the_others() {
    const LINES: usize = 10_000;
    let server = room(&["--soft-secs", "1"]);
    let sender = Client::join(&server);
    let mut listener = Client::join(&server);
    // Joins and never reads. Its 10 MB cannot fit in the system's buffers,
    // so once they are full the lines for it wait in the server, the
    // sender's window fills up, and the room waits for it: for the
    // --soft-secs of the rule, after which it is dropped.
    let asleep = Client::join(&server);
    let padding = "x".repeat(1000);
    let mut notices = Vec::new();
    // Send in batches and read each batch back: the listener is never more
    // than one batch behind, so it is never the slow one. Each read has the
    // harness's deadline: a room that waited for #3 for ever fails there,
    // however long a busy machine takes to relay the rest.
    for batch in (0..LINES).collect::<Vec<_>>().chunks(500) {
        let text: String = batch
            .iter()
            .map(|i| format!("line {i:05} {padding}\n"))
            .collect();
        sender.send_bytes(text.as_bytes());
        for i in batch {
            let mut line = listener.next_line();
            while line.starts_with("* ") {
                notices.push(line);
                line = listener.next_line();
            }
            assert_eq!(
                line,
                format!("[#1] line {i:05} {padding}"),
                "line {i} lost or out of order"
            );
        }
    }
    server.program.expect_stdout(&format!(
        "client {} dropped (#3): it is not reading",
        asleep.addr
    ));
    assert_eq!(
        notices,
        vec!["* #3 joined", "* #3 was dropped (not reading)"]
    );
}

#[test]
fn two_hundred_clients_connected_at_once_all_receive_a_broadcast() {
    const CLIENTS: usize = 200;
    let mut server = room(&["--max-clients", "200"]);
    let mut clients: Vec<Client> = (0..CLIENTS).map(|_| Client::join(&server)).collect();
    server.program.type_in("hello, all of you\n");
    for client in &mut clients {
        let before = client.lines_before("[server] hello, all of you");
        // Each client was told, once, of each client who joined after it,
        // in a few lines: joins that come in a burst share a line.
        let later: BTreeSet<usize> = (client.id + 1..=CLIENTS).collect();
        assert_eq!(
            joins_in(&before),
            later,
            "client #{}: {before:?}",
            client.id
        );
        assert!(
            before.len() <= 1 + later.len() / 2,
            "client #{}: {} lines for {} joins: {before:?}",
            client.id,
            before.len(),
            later.len()
        );
    }
}

#[test]
fn slash_quit_ends_the_server_and_every_client_sees_the_end() {
    let mut server = room(&[]);
    let mut clients: Vec<Client> = (0..3).map(|_| Client::join(&server)).collect();
    server.program.type_in("/quit\n");
    for client in &mut clients {
        client.lines_before("* the server is shutting down");
        client.expect_eof();
    }
    let status = server.program.wait_for_exit();
    assert!(status.success(), "/quit should exit with 0, got {status}");
}

#[test]
fn invalid_utf8_gets_an_error_and_the_client_stays() {
    let mut server = room(&[]);
    let mut a = Client::join(&server);
    let mut b = Client::join(&server);
    a.send_bytes(b"\xff\xfe\n");
    assert_eq!(a.next_line(), "* #2 joined");
    assert_eq!(a.next_line(), "error: line is not valid UTF-8");
    a.say("still here");
    server.program.expect_stdout("] still here");
    let seen = lines_before_marker(&mut server, &mut [&mut a, &mut b]);
    assert_eq!(seen, vec![vec![], vec!["[#1] still here"]]);
}

#[test]
fn an_over_long_line_closes_that_client_only() {
    let server = room(&["--max-line", "100"]);
    let mut a = Client::join(&server);
    let mut b = Client::join(&server);
    a.send_bytes(&[b'x'; 5000]);
    assert_eq!(a.next_line(), "* #2 joined");
    assert_eq!(
        a.next_line(),
        "error: line longer than 100 bytes; closing the connection"
    );
    a.expect_eof();
    assert_eq!(b.next_line(), "* #1 left");
}

#[test]
fn the_server_goes_on_when_its_console_input_ends() {
    let mut server = room(&[]);
    server.program.close_stdin();
    server.program.expect_stderr("console closed");
    let a = Client::join(&server);
    let mut b = Client::join(&server);
    a.say("anyone?");
    assert_eq!(b.next_line(), "[#1] anyone?");
}

#[test]
fn the_chat_client_of_lesson_04_is_a_client_of_this_server() {
    let mut server = room(&[]);
    let mut chat = Program::start("04_chat_client", &["--addr", &server.addr_arg()]);
    server.program.expect_stdout("connected as #1");
    chat.type_in("hi from lesson 04\n");
    server.program.expect_stdout("] hi from lesson 04");
    server.program.type_in("hello back\n");
    assert_eq!(
        chat.next_stdout_line().as_deref(),
        Some("* welcome, you are #1 (0 others online)")
    );
    assert_eq!(
        chat.next_stdout_line().as_deref(),
        Some("[server] hello back")
    );
    server.program.type_in("/quit\n");
    // The server's end of stream ends one direction; the chat client's
    // user ends the other (lesson 04's half-close).
    chat.expect_stderr("closed its side");
    chat.close_stdin();
    assert!(chat.wait_for_exit().success());
}

#[test]
fn counts_of_clients_are_in_good_english() {
    let mut server = room(&[]);
    let welcome = |stream| read_line(&mut BufReader::new(stream), "the welcome line");
    let first = server.connect();
    assert_eq!(welcome(&first), "* welcome, you are #1 (0 others online)");
    let second = server.connect();
    assert_eq!(welcome(&second), "* welcome, you are #2 (1 other online)");
    let third = server.connect();
    assert_eq!(welcome(&third), "* welcome, you are #3 (2 others online)");
    drop((second, third));
    // Both leave, in either order.
    for _ in 0..2 {
        server.program.expect_stdout(" disconnected (#");
    }
    server.program.type_in("/quit\n");
    assert_eq!(
        server.program.expect_stdout("shutting down"),
        "shutting down: closing 1 client"
    );
}

#[test]
fn slash_help_lists_the_commands_and_the_rule_for_clients_that_stop_reading() {
    let mut server = room(&[
        "--soft-limit",
        "2048",
        "--hard-limit",
        "8192",
        "--soft-secs",
        "3",
    ]);
    server.program.type_in("/help\n");
    assert_eq!(server.program.expect_stdout("commands:"), "commands:");
    let mut help = Vec::new();
    while help.len() < 9 {
        help.push(
            server
                .program
                .next_stdout_line()
                .expect("the rest of /help"),
        );
    }
    assert!(help[0].starts_with("  text "), "{help:?}");
    for command in ["/to N text", "/list", "/kick N", "/help", "/quit", "//text"] {
        assert!(
            help.iter().any(|l| l.trim_start().starts_with(command)),
            "/help should explain {command}: {help:?}"
        );
    }
    assert!(
        help[7].contains("/name NAME"),
        "/help should explain /name: {help:?}"
    );
    assert_eq!(
        help[8],
        "a client that stops reading is dropped when 2048 bytes or more wait for it for 3 s \
         and it takes less than that, or at once when more than 8192 bytes would wait"
    );
}

#[test]
fn a_tiny_max_line_does_not_stop_the_console() {
    // --max-line is for the clients; the console has its own limit, so the
    // operator can still type commands (it rejected even /quit, once).
    let mut server = room(&["--max-line", "1"]);
    let mut a = Client::join(&server);
    server.program.type_in("a line far longer than one byte\n");
    assert_eq!(a.next_line(), "[server] a line far longer than one byte");
    server.program.type_in("/quit\n");
    assert!(server.program.wait_for_exit().success());
}

#[rstest::rstest]
#[case::max_line_zero(&["--max-line", "0"], "0 is not a whole number from 1 to 16777216")]
#[case::max_line_huge(&["--max-line", "18446744073709551615"], "is not a whole number from 1 to 16777216")]
#[case::max_clients_zero(&["--max-clients", "0"], "0 is not a whole number from 1 to 10000")]
#[case::soft_limit_tiny(&["--soft-limit", "10"], "10 is not a whole number from 1024 to 16777216")]
#[case::hard_limit_huge(&["--hard-limit", "1000000000000"], "is not a whole number from 1024 to 268435456")]
#[case::soft_secs_zero(&["--soft-secs", "0"], "0 is not a number of seconds above 0")]
#[case::max_clients_negative(&["--max-clients", "-1"], "-1 is not a whole number from 1 to 10000")]
#[case::soft_above_hard(
    &["--soft-limit", "65536", "--hard-limit", "4096"],
    "error: --soft-limit (65536) must not be above --hard-limit (4096)"
)]
fn flags_out_of_range_are_one_line_errors(#[case] args: &[&str], #[case] expected: &str) {
    let (status, _, stderr) = run("05_multi_server", args, "");
    assert!(!status.success(), "{args:?} should not start a server");
    assert_eq!(stderr.len(), 1, "one line: {stderr:?}");
    assert!(
        stderr[0].contains(expected),
        "{stderr:?} should say {expected:?}"
    );
}
