//! Lesson 03 end to end: the threaded reverse server and its client.
//!
//! Several tests here guard a defect of the original (see the originals'
//! README): each says which, and would fail on the original's behaviour.

mod common;

use common::{Server, assert_silent, read_exact, read_line, run};
use pretty_assertions::assert_eq;
use rstest::rstest;
use std::io::{BufReader, Read, Write};
use std::time::Duration;

fn reverse_server(args: &[&str]) -> Server {
    Server::start("03_reverse_server", args)
}

#[rstest]
#[case::the_originals_message("Go Coding Ninjas.\n", ".sajniN gnidoC oG")]
#[case::accents_stay_whole("héllo\n", "olléh")]
#[case::emoji_stay_whole("🦀 rust\n", "tsur 🦀")]
#[case::telnet_line_ending("telnet\r\n", "tenlet")]
#[case::empty_line("\n", "")]
fn answers_each_line_reversed_by_characters(#[case] sent: &str, #[case] expected: &str) {
    // Guards "the reverse server reverses bytes, which scrambles non-ASCII".
    let server = reverse_server(&[]);
    let stream = server.connect();
    (&stream).write_all(sent.as_bytes()).expect("send");
    assert_eq!(
        read_line(&mut BufReader::new(&stream), "the reversed line"),
        expected
    );
}

#[test]
fn second_client_is_served_while_first_is_idle() {
    // Guards the original's global lock, taken in the accept loop and only
    // released when a client leaves: there a second client waited.
    let server = reverse_server(&[]);
    let _idle_first = server.connect();
    let second = server.connect();
    (&second).write_all(b"abc\n").expect("send");
    assert_eq!(
        read_line(
            &mut BufReader::new(&second),
            "a reply while the first client is idle"
        ),
        "cba"
    );
}

#[test]
fn a_line_split_across_two_writes_is_answered_once_and_whole() {
    // Guards "every recv() is treated as one whole message".
    let server = reverse_server(&[]);
    let stream = server.connect();
    (&stream)
        .write_all(b"Hello, ")
        .expect("send the first half");
    assert_silent(
        &stream,
        Duration::from_millis(200),
        "half a line must not be answered",
    );
    (&stream)
        .write_all(b"world\n")
        .expect("send the second half");
    assert_eq!(
        read_line(&mut BufReader::new(&stream), "the reply to the whole line"),
        "dlrow ,olleH"
    );
}

#[test]
fn a_character_cut_between_two_writes_is_put_back_together() {
    // Guards "recv(n).decode() can cut a multi-byte UTF-8 character in half".
    let server = reverse_server(&[]);
    let stream = server.connect();
    let bytes = "héllo\n".as_bytes();
    (&stream)
        .write_all(&bytes[..2])
        .expect("send up to the middle of é");
    (&stream).flush().expect("flush");
    assert_silent(
        &stream,
        Duration::from_millis(100),
        "half a character must not be answered",
    );
    (&stream).write_all(&bytes[2..]).expect("send the rest");
    assert_eq!(
        read_line(&mut BufReader::new(&stream), "the reversed line"),
        "olléh"
    );
}

#[test]
fn raw_mode_scrambles_a_message_split_across_writes_as_the_original_did() {
    let server = reverse_server(&["--raw"]);
    let mut stream = server.connect();
    stream.write_all(b"Hello, ").expect("send");
    // The raw server answers each read on its own: the first half comes back
    // reversed by itself, before the rest of the message was even sent.
    assert_eq!(
        read_exact(&mut stream, 7, "the reply to the first half"),
        b" ,olleH"
    );
    stream.write_all(b"world\n").expect("send");
    assert_eq!(
        read_exact(&mut stream, 6, "the reply to the second half"),
        b"\ndlrow"
    );
}

#[test]
fn raw_mode_reverses_bytes_and_breaks_accents_as_the_original_did() {
    let server = reverse_server(&["--raw"]);
    let mut stream = server.connect();
    stream.write_all("é".as_bytes()).expect("send");
    let reply = read_exact(&mut stream, 2, "the raw reply");
    assert!(
        String::from_utf8(reply).is_err(),
        "reversed bytes of é should not be valid UTF-8"
    );
}

#[test]
fn invalid_utf8_gets_an_error_and_the_connection_stays_open() {
    let server = reverse_server(&[]);
    let stream = server.connect();
    let mut replies = BufReader::new(&stream);
    (&stream).write_all(b"\xff\xfe\n").expect("send");
    assert_eq!(
        read_line(&mut replies, "an error line"),
        "error: line is not valid UTF-8"
    );
    (&stream).write_all(b"ok\n").expect("send");
    assert_eq!(read_line(&mut replies, "a reply after the error"), "ko");
}

#[test]
fn an_over_long_line_gets_an_error_and_the_connection_is_closed() {
    let server = reverse_server(&["--max-line", "1000"]);
    let stream = server.connect();
    (&stream)
        .write_all(&[b'x'; 5000])
        .expect("send 5000 bytes without a newline");
    let mut replies = BufReader::new(&stream);
    assert_eq!(
        read_line(&mut replies, "an error line"),
        "error: line longer than 1000 bytes; closing the connection"
    );
    let mut rest = Vec::new();
    replies
        .read_to_end(&mut rest)
        .expect("the server should close the connection");
    assert_eq!(rest, b"", "nothing may follow the error");
}

#[test]
fn the_default_limit_is_64_kib() {
    let server = reverse_server(&[]);
    let stream = server.connect();
    let mut replies = BufReader::new(&stream);
    let longest = "x".repeat(64 * 1024);
    (&stream)
        .write_all(format!("{longest}\n").as_bytes())
        .expect("send");
    assert_eq!(
        read_line(&mut replies, "the reply to a 64 KiB line").len(),
        64 * 1024
    );
    (&stream)
        .write_all(format!("{longest}y\n").as_bytes())
        .expect("send");
    assert!(
        read_line(&mut replies, "an error line").starts_with("error: line longer than 65536 bytes")
    );
}

#[test]
fn a_client_that_disconnects_mid_line_does_not_stop_the_server() {
    let server = reverse_server(&[]);
    let gone = server.connect();
    (&gone).write_all(b"half a li").expect("send");
    drop(gone);
    server.program.expect_stdout("disconnected");
    let next = server.connect();
    (&next).write_all(b"next\n").expect("send");
    assert_eq!(
        read_line(&mut BufReader::new(&next), "a reply to the next client"),
        "txen"
    );
}

#[test]
fn the_client_repeats_while_the_answer_is_y() {
    let server = reverse_server(&[]);
    let (status, stdout, stderr) = run(
        "03_reverse_client",
        &["--addr", &server.addr_arg()],
        "y\nn\n",
    );
    assert!(status.success(), "client failed: {stderr:?}");
    assert_eq!(
        stdout,
        vec![
            "reply: .sajniN gnidoC oG",
            "continue? (y/n) reply: .sajniN gnidoC oG",
            "continue? (y/n) "
        ]
    );
}

#[test]
fn the_client_ends_cleanly_when_its_input_ends() {
    let server = reverse_server(&[]);
    let (status, stdout, stderr) = run(
        "03_reverse_client",
        &["--addr", &server.addr_arg(), "--message", "héllo"],
        "y\n",
    );
    assert!(
        status.success(),
        "client failed at end of input: {stderr:?}"
    );
    assert_eq!(
        stdout,
        vec![
            "reply: olléh",
            "continue? (y/n) reply: olléh",
            "continue? (y/n) "
        ]
    );
}

#[test]
fn the_server_logs_each_client() {
    let server = reverse_server(&[]);
    let stream = server.connect();
    let me = stream.local_addr().expect("local_addr").to_string();
    server
        .program
        .expect_stdout(&format!("client {me} connected"));
    drop(stream);
    server
        .program
        .expect_stdout(&format!("client {me} disconnected"));
}

#[test]
fn the_server_closes_the_connection_when_the_client_is_done() {
    // Guards "sockets never closed": after a half-close from the client, the
    // server answers what it got and then closes, so the client sees EOF.
    let server = reverse_server(&[]);
    let stream = server.connect();
    (&stream).write_all(b"last\n").expect("send");
    stream
        .shutdown(std::net::Shutdown::Write)
        .expect("half-close");
    let mut everything = String::new();
    (&stream)
        .read_to_string(&mut everything)
        .expect("the server should close after the last reply");
    assert_eq!(everything, "tsal\n");
}

#[test]
fn the_client_gives_up_on_a_silent_server_after_its_timeout() {
    // Guards "no timeouts": a server that accepts and never answers must not
    // make the client hang. This listener is never read from on purpose.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = silent.local_addr().expect("local_addr").to_string();
    let started = std::time::Instant::now();
    let (status, _, stderr) = run(
        "03_reverse_client",
        &["--addr", &addr, "--timeout", "0.5"],
        "",
    );
    assert!(
        !status.success(),
        "the client should fail when no reply comes"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the client took {:?} to give up",
        started.elapsed()
    );
    assert_eq!(stderr, vec!["error: no reply within 0.5 s".to_string()]);
}
