//! `cargo run -p exercises -- grade`: the exercises' checks run against real
//! servers over real sockets. The course's own servers pass; a zoo of
//! broken servers (written here, a few lines each, two of the course's own
//! originals, and in Python under tests/zoo/) each fail with the check and
//! the words that name their bug; the reports are the same bytes for the same seed, and the JUnit
//! file is well-formed XML with one test case per check.

mod common;

use common::exercises::{course_root, progress_path};
use common::{Program, Server, example_path};
use rstest::rstest;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A whole grade runs every check of a protocol, each under its own
/// deadline; this bounds a hung grade, it is not a speed target.
const GRADE_DEADLINE: Duration = Duration::from_secs(120);

/// The reverse protocol's limit, as grade checks it.
const MAX_LINE: &str = "1024";

/// What one grade printed and how it ended.
struct Graded {
    success: bool,
    stdout: String,
    stderr: String,
    seconds: f64,
}

/// Runs `grade ARGS` and waits for it, within [`GRADE_DEADLINE`].
fn grade(args: &[&str]) -> Graded {
    let mut command = Command::new(progress_path());
    command.current_dir(course_root()).arg("grade").args(args);
    let started = Instant::now();
    let mut program = Program::spawn(command, "grade");
    let status = program.wait_for_exit_within(GRADE_DEADLINE);
    Graded {
        success: status.success(),
        stdout: program.rest_of_stdout().join("\n"),
        stderr: program.stderr().join("\n"),
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// The lines of the report about `check`: its `ok` or `FAILED` line and
/// the message under it.
fn check_block(report: &str, check: &str) -> String {
    let lines: Vec<&str> = report.lines().collect();
    let Some(start) = lines
        .iter()
        .position(|l| *l == format!("ok       {check}") || *l == format!("FAILED   {check}"))
    else {
        panic!("the report has no line for {check}:\n{report}");
    };
    let end = (start + 1..lines.len())
        .find(|&i| !lines[i].starts_with("         "))
        .unwrap_or(lines.len());
    lines[start..end].join("\n")
}

// ---------------------------------------------------------------------
// Servers written here: each serves every connection of a listener on
// 127.0.0.1:0 on a thread of its own, with the behaviour given, for as
// long as the test runs.
// ---------------------------------------------------------------------

/// Serves `listener` on a thread, each connection with `serve` on a thread
/// of its own; returns the address.
fn spawn_server(serve: fn(TcpStream) -> io::Result<()>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr").to_string();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || serve(stream));
        }
    });
    addr
}

/// Connections a server keeps open on purpose, until the test process ends.
fn keep_open(stream: TcpStream) {
    static HELD: Mutex<Vec<TcpStream>> = Mutex::new(Vec::new());
    HELD.lock().unwrap_or_else(|p| p.into_inner()).push(stream);
}

/// A right echo: every read written back at once; the client's end of
/// stream is passed on by closing.
fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 8192];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n])?;
    }
}

/// Echo of one read, then the end: the original's one `recv` per client.
fn echo_one_read(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 8192];
    let n = stream.read(&mut buf)?;
    stream.write_all(&buf[..n])
}

/// Echo that holds one lock of the whole server while it serves a client
/// (it reads and writes under it): one client at a time, whatever the
/// threads.
fn echo_under_one_lock(stream: TcpStream) -> io::Result<()> {
    static SERVER: Mutex<()> = Mutex::new(());
    let _guard = SERVER.lock().unwrap_or_else(|p| p.into_inner());
    echo(stream)
}

/// Echo that never closes: the client's half-close goes unanswered.
fn echo_without_close(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 8192];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            keep_open(stream);
            return Ok(());
        }
        stream.write_all(&buf[..n])?;
    }
}

/// Echo that writes its whole buffer, not just the bytes read.
fn echo_whole_buffer(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 64];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf)?;
    }
}

/// Echo that decodes each read as text first.
fn echo_decoding(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 8192];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(String::from_utf8_lossy(&buf[..n]).as_bytes())?;
    }
}

/// Echo of whole lines only: bytes wait for their `\n`.
fn echo_lines(stream: TcpStream) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        if line.ends_with(b"\n") {
            writer.write_all(&line)?;
        }
    }
}

/// Reverse by lines, with `answer` making each reply; `limit` applies the
/// 1024-byte rule (error and close) when true.
fn reverse_with(
    stream: TcpStream,
    limit: bool,
    answer: fn(&[u8]) -> Vec<u8>,
    close_at_end: bool,
) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = if limit {
            (&mut reader).take(1025).read_until(b'\n', &mut line)?
        } else {
            reader.read_until(b'\n', &mut line)?
        };
        if n == 0 {
            if !close_at_end {
                keep_open(stream);
            }
            return Ok(());
        }
        if !line.ends_with(b"\n") {
            if limit && line.len() > 1024 {
                writer.write_all(b"error: line too long\n")?;
                let _ = stream.shutdown(Shutdown::Both);
                return Ok(());
            }
            continue;
        }
        line.pop();
        writer.write_all(&answer(&line))?;
    }
}

/// The right answer to one line (without its `\n`).
fn reversed(line: &[u8]) -> Vec<u8> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match std::str::from_utf8(line) {
        Ok(text) => format!("{}\n", text.chars().rev().collect::<String>()).into_bytes(),
        Err(_) => b"error: not UTF-8\n".to_vec(),
    }
}

/// Reverses the bytes of the line, not its characters (and keeps its
/// `\n` at the end).
fn reversed_bytes(line: &[u8]) -> Vec<u8> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut back: Vec<u8> = line.iter().rev().copied().collect();
    back.push(b'\n');
    back
}

/// Keeps the `\r` of a `\r\n` with the line.
fn reversed_with_cr(line: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(line) {
        Ok(text) => format!("{}\n", text.chars().rev().collect::<String>()).into_bytes(),
        Err(_) => b"error: not UTF-8\n".to_vec(),
    }
}

/// Answers the first line, then closes.
fn reverse_first_line_only(stream: TcpStream) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut line = Vec::new();
    BufReader::new(stream).read_until(b'\n', &mut line)?;
    line.pop();
    writer.write_all(&reversed(&line))
}

/// Right in every reply, but it reads one byte at a time and hangs up at
/// once after the error for a line that is too long: the rest of that line
/// is still unread, so closing the socket resets the connection.
fn reverse_closing_with_bytes_unread(stream: TcpStream) -> io::Result<()> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if (&stream).read(&mut byte)? == 0 {
            return Ok(());
        }
        if byte[0] == b'\n' {
            (&stream).write_all(&reversed(&line))?;
            line.clear();
            continue;
        }
        line.push(byte[0]);
        if line.len() > 1024 {
            (&stream).write_all(b"error: line too long\n")?;
            return Ok(());
        }
    }
}

fn reverse_unbounded(stream: TcpStream) -> io::Result<()> {
    reverse_with(stream, false, reversed, true)
}

/// A right reverse, under one lock of the whole server while it serves a
/// client: one client at a time, whatever the threads (the original
/// tutorial's bug, where the accept loop takes the lock).
fn reverse_under_one_lock(stream: TcpStream) -> io::Result<()> {
    static SERVER: Mutex<()> = Mutex::new(());
    let _guard = SERVER.lock().unwrap_or_else(|p| p.into_inner());
    reverse_with(stream, true, reversed, true)
}

fn reverse_of_bytes(stream: TcpStream) -> io::Result<()> {
    reverse_with(stream, true, reversed_bytes, true)
}

fn reverse_keeping_cr(stream: TcpStream) -> io::Result<()> {
    reverse_with(stream, true, reversed_with_cr, true)
}

fn reverse_without_close(stream: TcpStream) -> io::Result<()> {
    reverse_with(stream, true, reversed, false)
}

// ---------------------------------------------------------------------
// The course's own servers pass.
// ---------------------------------------------------------------------

/// The `--run` command that has grade start the course's own server for
/// `protocol` (its example, built already), with the limit the checks use.
fn course_run(protocol: &str) -> String {
    let (exe, args) = course_server(protocol);
    format!("{exe} {args}")
}

/// [`course_run`] in two: the example's path, quoted, and its arguments.
fn course_server(protocol: &str) -> (String, String) {
    let (example, args) = match protocol {
        "reverse" => (
            "03_reverse_server",
            format!("--max-line {MAX_LINE} --addr 127.0.0.1:{{port}}"),
        ),
        "room" => ("05_multi_server", "--addr 127.0.0.1:{port}".to_string()),
        "proxy" => (
            "09_proxy",
            "--listen 127.0.0.1:{port} --to 127.0.0.1:{upstream}".to_string(),
        ),
        other => panic!("the course has no server for {other} that grade starts itself"),
    };
    (format!("\"{}\"", example_path(example).display()), args)
}

#[test]
fn the_course_reverse_server_passes_grade_given_its_address() {
    let server = Server::start("03_reverse_server", &["--max-line", MAX_LINE]);
    let graded = grade(&["reverse", "--addr", &server.addr_arg(), "--seed", "1"]);
    assert!(
        graded.success,
        "grade failed:\n{}\n{}",
        graded.stdout, graded.stderr
    );
    assert!(
        graded
            .stdout
            .contains("ok: 16 passed, 0 failed, 0 skipped (seed 1;"),
        "{}",
        graded.stdout
    );
    // A measure, printed with the test's output: not a speed test.
    println!(
        "grade reverse against 03_reverse_server: {:.1} s",
        graded.seconds
    );
}

#[rstest]
#[case::seed_2("2")]
#[case::seed_3("3")]
#[case::seed_4("4")]
fn the_course_reverse_server_passes_grade_when_grade_starts_it(#[case] seed: &str) {
    let graded = grade(&["reverse", "--run", &course_run("reverse"), "--seed", seed]);
    assert!(
        graded.success,
        "grade failed:\n{}\n{}",
        graded.stdout, graded.stderr
    );
    assert!(
        graded.stdout.contains("16 passed, 0 failed"),
        "{}",
        graded.stdout
    );
}

#[test]
fn a_right_echo_server_passes_grade() {
    let addr = spawn_server(echo);
    let graded = grade(&["echo", "--addr", &addr, "--seed", "1"]);
    assert!(
        graded.success,
        "grade failed:\n{}\n{}",
        graded.stdout, graded.stderr
    );
    assert!(
        graded.stdout.contains("ok: 10 passed, 0 failed, 1 skipped"),
        "{}",
        graded.stdout
    );
    println!(
        "grade echo against a right echo server: {:.1} s",
        graded.seconds
    );
}

// ---------------------------------------------------------------------
// The zoo: each broken server fails with its check and its words.
// ---------------------------------------------------------------------

/// Grades the server that `server` names (`--addr` and an address, or
/// `--run` and a command) and expects `check` to fail with `words` in its
/// message, and grade to exit with a failure.
fn expect_failure(protocol: &str, server: &[&str], check: &str, words: &str) {
    let args: Vec<&str> = [protocol]
        .into_iter()
        .chain(server.iter().copied())
        .chain(["--seed", "7"])
        .collect();
    let graded = grade(&args);
    assert!(
        !graded.success,
        "grade passed a broken server:\n{}",
        graded.stdout
    );
    // A grade that could not start the server prints no report, only why.
    assert!(
        graded.stdout.contains(check),
        "the report has no line for {check}:\n{}\ngrade's stderr:\n{}",
        graded.stdout,
        graded.stderr
    );
    let block = check_block(&graded.stdout, check);
    assert!(
        block.starts_with(&format!("FAILED   {check}")),
        "{check} should fail:\n{}",
        graded.stdout
    );
    assert!(
        block.contains(words),
        "{check} should say {words:?}:\n{block}"
    );
    // grade relays to a program: the exercise's function is not there.
    for function in ["`forward`", "reverse_lines", "serve_all"] {
        assert!(
            !block.contains(function),
            "{check}'s message names the exercise's {function}, which grade replaces with a \
             relay to the program:\n{block}"
        );
    }
}

#[rstest]
#[case::no_half_close(
    echo_without_close,
    "closes_the_connection_when_the_client_has_finished",
    "still held the connection open"
)]
#[case::whole_buffer_written(echo_whole_buffer, "echoes_what_one_client_sends", "NUL bytes")]
#[case::reads_decoded_as_text(
    echo_decoding,
    "a_character_cut_between_two_reads_comes_back_unchanged",
    "decodes"
)]
#[case::one_read_per_client(
    echo_one_read,
    "echoes_what_one_client_sends",
    "it stops after one read"
)]
#[case::one_lock_held_across_reads_and_writes(
    echo_under_one_lock,
    "a_second_client_is_served_while_the_first_stays_connected",
    "serves one client after the other"
)]
#[case::lines_not_bytes(
    echo_lines,
    "echoes_what_one_client_sends",
    "got it back only once a \\n followed"
)]
fn a_broken_echo_server_fails_with_its_check(
    #[case] serve: fn(TcpStream) -> io::Result<()>,
    #[case] check: &str,
    #[case] words: &str,
) {
    expect_failure("echo", &["--addr", &spawn_server(serve)], check, words);
}

#[rstest]
#[case::bytes_reversed_across_a_character(
    reverse_of_bytes,
    "reverses_characters_not_bytes",
    "your server reversed the bytes of the line, not its characters"
)]
#[case::first_line_only(
    reverse_first_line_only,
    "answers_a_line_with_its_characters_reversed",
    "the connection closed instead of a reply"
)]
#[case::unbounded_line(
    reverse_unbounded,
    "a_line_that_is_too_long_gets_an_error_and_the_connection_closes",
    "Without a limit"
)]
#[case::cr_kept(
    reverse_keeping_cr,
    "a_line_ending_in_crlf_is_reversed_without_the_cr",
    "the \\r of the \\r\\n line end was reversed"
)]
#[case::closing_with_bytes_unread(
    reverse_closing_with_bytes_unread,
    "a_line_that_is_too_long_gets_an_error_and_the_connection_closes",
    "(an RST, not a FIN) after its last bytes, \"error: line too long\\n\""
)]
#[case::one_lock_held_while_a_client_is_served(
    reverse_under_one_lock,
    "a_second_client_is_served_while_the_first_stays_connected",
    "serves one client after the other"
)]
#[case::no_close_after_the_client_closes(
    reverse_without_close,
    "returns_when_the_client_closes",
    "your server still held the connection open"
)]
fn a_broken_reverse_server_fails_with_its_check(
    #[case] serve: fn(TcpStream) -> io::Result<()>,
    #[case] check: &str,
    #[case] words: &str,
) {
    expect_failure("reverse", &["--addr", &spawn_server(serve)], check, words);
}

#[test]
fn the_original_echo_server_fails_for_serving_one_client_at_a_time() {
    let server = Server::start("02_echo_server", &[]);
    expect_failure(
        "echo",
        &["--addr", &server.addr_arg()],
        "a_second_client_is_served_while_the_first_stays_connected",
        "serves one client after the other",
    );
}

#[test]
fn the_original_reverse_server_fails_for_taking_one_read_for_one_line() {
    let server = Server::start("03_reverse_server", &["--raw", "--max-line", MAX_LINE]);
    expect_failure(
        "reverse",
        &["--addr", &server.addr_arg()],
        "a_line_sent_in_two_pieces_gets_one_reply",
        "answered the first piece on its own",
    );
}

// ---------------------------------------------------------------------
// The course's servers, under many seeds.
// ---------------------------------------------------------------------

/// The seeds the course's servers are graded under by
/// [`the_course_servers_pass_grade_under_every_seed`]: seeds 1 to N with
/// `GRADE_SEEDS=N` (the proof that they pass under 100 seeds is
/// `GRADE_SEEDS=100 cargo test -p end-to-end --test grade under_every_seed`,
/// about half an hour); by default, seeds 1 and 2, to keep `cargo test`
/// short.
fn seeds() -> Vec<u64> {
    let last = match std::env::var("GRADE_SEEDS") {
        Ok(n) => n
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .unwrap_or_else(|| {
                panic!("GRADE_SEEDS must be a whole number from 1 to 10000, not {n:?}")
            }),
        Err(_) => 2,
    };
    (1..=last).collect()
}

/// The seed decides the order of the checks: a check that leaves something
/// behind for the next one (a client still connected, a server still busy)
/// shows up under some orders only. The course's servers pass under all.
#[rstest]
#[case::echo("echo")]
#[case::reverse("reverse")]
#[case::room("room")]
#[case::proxy("proxy")]
fn the_course_servers_pass_grade_under_every_seed(#[case] protocol: &str) {
    // echo: the exercise's reference shape (a thread per client, io::copy).
    let echo_addr = (protocol == "echo").then(|| spawn_server(echo));
    let run = match protocol {
        "echo" => String::new(),
        _ => course_run(protocol),
    };
    let mut failed = Vec::new();
    let seeds = seeds();
    for seed in &seeds {
        let seed = seed.to_string();
        let graded = match &echo_addr {
            Some(addr) => grade(&[protocol, "--addr", addr, "--seed", &seed]),
            None => grade(&[protocol, "--run", &run, "--seed", &seed]),
        };
        if !graded.success || !graded.stdout.contains(" 0 failed") {
            failed.push(format!(
                "seed {seed}:\n{}\n{}",
                graded.stdout, graded.stderr
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "grade {protocol} failed the course's server under {} of {} seeds:\n{}",
        failed.len(),
        seeds.len(),
        failed.join("\n\n")
    );
    println!(
        "grade {protocol}: the course's server passed under seeds 1 to {}",
        seeds.len()
    );
}

// ---------------------------------------------------------------------
// Proxies: grade plays the client and the upstream server, the proxy
// under grade sits between them.
// ---------------------------------------------------------------------

#[rstest]
#[case::forwarding_as_it_comes(&[])]
#[case::merging_what_arrives_within_20_ms(&["--merge", "20"])]
fn the_course_proxy_passes_grade_when_grade_starts_it(#[case] toxics: &[&str]) {
    let (exe, args) = course_server("proxy");
    let run = [course_run("proxy").as_str()]
        .into_iter()
        .chain(toxics.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let graded = grade(&["proxy", "--run", &run, "--seed", "1"]);
    assert!(
        graded.success,
        "grade failed:\n{}\n{}",
        graded.stdout, graded.stderr
    );
    assert!(
        graded
            .stdout
            .contains("ok: 7 passed, 0 failed, 1 skipped (seed 1;"),
        "{}",
        graded.stdout
    );
    assert!(
        graded
            .stdout
            .contains("skipped  an_error_on_one_side_closes_the_other_side_too: its premise"),
        "{}",
        graded.stdout
    );
    println!(
        "grade proxy against 09_proxy {toxics:?}: {:.1} s",
        graded.seconds
    );
    if toxics.is_empty() {
        let printed = graded
            .stdout
            .replace(&exe, "cargo run -q --example 09_proxy --");
        same_as_the_book(
            "session-proxy.txt",
            &format!(
                "cargo run -q -p exercises -- grade proxy --seed 1 --run 'cargo run -q \
                 --example 09_proxy -- {args}'"
            ),
            &printed,
        );
    }
}

#[test]
fn a_proxy_run_without_its_upstream_port_is_refused_in_one_line() {
    let graded = grade(&["proxy", "--run", "./proxy {port}"]);
    assert!(!graded.success);
    assert!(
        graded
            .stderr
            .starts_with("grade: the --run command has no {upstream}"),
        "{}",
        graded.stderr
    );
    let graded = grade(&["proxy", "--addr", "127.0.0.1:1"]);
    assert!(!graded.success);
    assert!(
        graded
            .stderr
            .starts_with("grade: with --addr, give --upstream-port"),
        "{}",
        graded.stderr
    );
}

/// A port that was free a moment ago, for grade's upstream listener (the
/// proxies below connect to it only when a client comes, by which time
/// grade listens there).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A proxy on 127.0.0.1:0 to 127.0.0.1:`upstream`, each connection served
/// by `serve(client, server)` on a thread of its own; returns its address.
fn spawn_proxy(upstream: u16, serve: fn(TcpStream, TcpStream)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr").to_string();
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            thread::spawn(move || {
                if let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) {
                    serve(client, server);
                }
            });
        }
    });
    addr
}

/// Both directions on threads of their own, but the first end of stream
/// closes both connections (`shutdown(Both)`): no half-close.
fn proxy_closing_both_at_the_first_end(client: TcpStream, server: TcpStream) {
    let pump = |mut from: TcpStream, mut to: TcpStream| {
        let _ = io::copy(&mut from, &mut to);
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    };
    let (c2, s2) = match (client.try_clone(), server.try_clone()) {
        (Ok(c), Ok(s)) => (c, s),
        _ => return,
    };
    thread::spawn(move || pump(s2, c2));
    pump(client, server);
}

/// One thread that takes turns: a read from the client, a read from the
/// server, and so on.
fn proxy_taking_turns(client: TcpStream, server: TcpStream) {
    let mut buf = [0u8; 8192];
    loop {
        for (mut from, mut to) in [(&client, &server), (&server, &client)] {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// Both directions on threads of their own, each writing its whole
/// buffer instead of the bytes read.
fn proxy_writing_whole_buffers(client: TcpStream, server: TcpStream) {
    let pump = |from: TcpStream, to: TcpStream| {
        let mut buf = [0u8; 64];
        loop {
            match (&from).read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if (&to).write_all(&buf).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    };
    let (c2, s2) = match (client.try_clone(), server.try_clone()) {
        (Ok(c), Ok(s)) => (c, s),
        _ => return,
    };
    thread::spawn(move || pump(s2, c2));
    pump(client, server);
}

#[test]
fn a_proxy_s_transcript_shows_both_sides_and_a_caret_under_the_first_difference() {
    let upstream = free_port();
    let addr = spawn_proxy(upstream, proxy_writing_whole_buffers);
    let graded = grade(&[
        "proxy",
        "--addr",
        &addr,
        "--upstream-port",
        &upstream.to_string(),
        "--seed",
        "7",
    ]);
    assert!(!graded.success, "{}", graded.stdout);
    // The first failure of seed 7's order, which has the transcript.
    let block = check_block(
        &graded.stdout,
        "a_half_close_from_the_client_reaches_the_server_and_the_late_reply_still_arrives",
    );
    for line in [
        "client sent      \"LIST\\nSIZE\\n\"",
        "server received  \"LIST\\nSIZE\\n\" + ",
        "first difference at byte 10 of what the server received (more came than was sent):",
        "expected  \"LIST\\nSIZE\\n\"",
        "expected  4c 49 53 54 0a 53 49 5a 45 0a",
        "^",
    ] {
        assert!(
            block.lines().any(|l| l.trim_start() == line
                || line.ends_with("+ ") && l.trim_start().starts_with(line)),
            "the transcript should have a line {line:?}:\n{block}"
        );
    }
}

#[rstest]
#[case::no_half_close(
    proxy_closing_both_at_the_first_end,
    "a_half_close_from_the_client_reaches_the_server_and_the_late_reply_still_arrives",
    "the proxy had closed more than the direction that ended"
)]
#[case::one_thread_taking_turns(
    proxy_taking_turns,
    "what_each_side_sends_arrives_unchanged_in_both_directions",
    "a thread that takes turns"
)]
fn a_broken_proxy_fails_with_its_check(
    #[case] serve: fn(TcpStream, TcpStream),
    #[case] check: &str,
    #[case] words: &str,
) {
    let upstream = free_port();
    let addr = spawn_proxy(upstream, serve);
    let upstream = upstream.to_string();
    expect_failure(
        "proxy",
        &["--addr", &addr, "--upstream-port", &upstream],
        check,
        words,
    );
}

// ---------------------------------------------------------------------
// Rooms: a line from one client reaches every other.
// ---------------------------------------------------------------------

#[test]
fn the_course_room_server_passes_grade_when_grade_starts_it() {
    let (exe, args) = course_server("room");
    let graded = grade(&["room", "--run", &course_run("room"), "--seed", "1"]);
    assert!(
        graded.success,
        "grade failed:\n{}\n{}",
        graded.stdout, graded.stderr
    );
    assert!(
        graded
            .stdout
            .contains("ok: 5 passed, 0 failed, 0 skipped (seed 1;"),
        "{}",
        graded.stdout
    );
    println!(
        "grade room against 05_multi_server: {:.1} s",
        graded.seconds
    );
    let printed = graded
        .stdout
        .replace(&exe, "cargo run -q --example 05_multi_server --");
    same_as_the_book(
        "session-room.txt",
        &format!(
            "cargo run -q -p exercises -- grade room --seed 1 --run 'cargo run -q --example \
             05_multi_server -- {args}'"
        ),
        &printed,
    );
}

/// What is wrong with a room written here.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RoomBug {
    /// Each line goes to every client, its sender too.
    EchoesToTheSender,
    /// The accept loop serves each client until it leaves.
    OneClientAtATime,
    /// One read is taken for one line: a read without its `\n` is dropped.
    DropsALineSplitAcrossReads,
    /// Each line is written to every client from its sender's thread,
    /// under the one lock of the room, and a write waits as long as it
    /// takes. (The others give up on a write after 200 ms, and drop that
    /// client.)
    WaitsForEveryWrite,
}

type Members = Arc<Mutex<Vec<(usize, TcpStream)>>>;

/// A room on 127.0.0.1:0 with `bug`; returns its address.
fn spawn_room(bug: RoomBug) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr").to_string();
    let members: Members = Arc::default();
    thread::spawn(move || {
        for (id, stream) in (1..).zip(listener.incoming().flatten()) {
            let Ok(writer) = stream.try_clone() else {
                continue;
            };
            if bug != RoomBug::WaitsForEveryWrite {
                let _ = writer.set_write_timeout(Some(Duration::from_millis(200)));
            }
            members
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((id, writer));
            let members = Arc::clone(&members);
            if bug == RoomBug::OneClientAtATime {
                serve_room_client(bug, id, stream, &members);
            } else {
                thread::spawn(move || serve_room_client(bug, id, stream, &members));
            }
        }
    });
    addr
}

fn serve_room_client(bug: RoomBug, id: usize, stream: TcpStream, members: &Members) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = Vec::new();
        if bug == RoomBug::DropsALineSplitAcrossReads {
            let mut buf = [0u8; 8192];
            match reader.get_mut().read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) if buf[..n].ends_with(b"\n") => line.extend_from_slice(&buf[..n]),
                Ok(_) => continue,
            }
        } else {
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let message = [format!("[#{id}] ").as_bytes(), &line].concat();
        let mut all = members.lock().unwrap_or_else(|p| p.into_inner());
        let mut gone = Vec::new();
        for (other, socket) in all.iter() {
            if *other == id && bug != RoomBug::EchoesToTheSender {
                continue;
            }
            if (&*socket).write_all(&message).is_err() {
                gone.push(*other);
            }
        }
        all.retain(|(other, socket)| {
            let keep = !gone.contains(other);
            if !keep {
                let _ = socket.shutdown(Shutdown::Both);
            }
            keep
        });
    }
    members
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|(other, _)| *other != id);
}

#[rstest]
#[case::echoes_to_the_sender(
    RoomBug::EchoesToTheSender,
    "a_line_from_one_client_reaches_every_other_and_never_its_sender",
    "and received it back"
)]
#[case::one_client_at_a_time(
    RoomBug::OneClientAtATime,
    "a_line_from_one_client_reaches_every_other_and_never_its_sender",
    "serves one client at a time"
)]
#[case::drops_a_line_split_across_reads(
    RoomBug::DropsALineSplitAcrossReads,
    "a_line_cut_into_pieces_arrives_whole",
    "the pieces were lost"
)]
#[case::waits_for_every_write(
    RoomBug::WaitsForEveryWrite,
    "a_client_that_never_reads_does_not_stop_the_others",
    "a client that never reads stopped the room"
)]
fn a_broken_room_fails_with_its_check(
    #[case] bug: RoomBug,
    #[case] check: &str,
    #[case] words: &str,
) {
    expect_failure("room", &["--addr", &spawn_room(bug)], check, words);
}

// ---------------------------------------------------------------------
// The zoo in Python (tests/zoo/): servers in the originals' style, with
// socket and threading, each with one bug a learner writes. They prove
// that grade judges a server in another language by what it does on the
// wire; the right ones (with a greeting and a prefix, for the room) pass.
// ---------------------------------------------------------------------

/// The `--run` command that starts `path` (relative to the course's root)
/// with python3, on grade's port, and its upstream's for a proxy.
fn python_run(path: &str, protocol: &str) -> String {
    let upstream = if protocol == "proxy" {
        " {upstream}"
    } else {
        ""
    };
    format!("python3 {path} {{port}}{upstream}")
}

/// How long grade waits for a Python server to listen. python3 may be a
/// version manager's shell script that starts an interpreter, which on a
/// busy machine took more than grade's 10 s (seen under `.ci/under-load`
/// beside other test runs): this bounds a server that never listens, it
/// is not a speed test.
const PYTHON_START_SECS: &str = "60";

#[rstest]
#[case::echo("tests/zoo/echo.py", "echo", "ok: 10 passed, 0 failed, 1 skipped")]
#[case::reverse(
    "book/src/grade/reverse_server.py",
    "reverse",
    "ok: 16 passed, 0 failed"
)]
#[case::room_with_a_greeting_and_a_prefix("tests/zoo/room.py", "room", "ok: 5 passed, 0 failed")]
#[case::proxy("tests/zoo/proxy.py", "proxy", "ok: 7 passed, 0 failed, 1 skipped")]
fn a_right_python_server_passes_grade(
    #[case] path: &str,
    #[case] protocol: &str,
    #[case] counts: &str,
) {
    if !common::tools_installed(&["python3"]) {
        return;
    }
    let run = python_run(path, protocol);
    let graded = grade(&[
        protocol,
        "--run",
        &run,
        "--start-timeout",
        PYTHON_START_SECS,
        "--seed",
        "7",
    ]);
    assert!(
        graded.success,
        "grade failed {path}:\n{}\n{}",
        graded.stdout, graded.stderr
    );
    assert!(graded.stdout.contains(counts), "{}", graded.stdout);
}

/// Each file's bug is named in its first lines; the same bug as a server
/// of the Rust zoo above fails with the same check and words.
#[rstest]
#[case::echo_one_recv_per_client(
    "echo_one_recv_per_client",
    "echo",
    "echoes_what_one_client_sends",
    "it stops after one read"
)]
#[case::echo_one_client_at_a_time(
    "echo_one_client_at_a_time",
    "echo",
    "a_second_client_is_served_while_the_first_stays_connected",
    "serves one client after the other"
)]
#[case::echo_lock_from_accept_loop(
    "echo_lock_from_accept_loop",
    "echo",
    "a_second_client_is_served_while_the_first_stays_connected",
    "serves one client after the other"
)]
#[case::echo_spins_after_the_client_leaves(
    "echo_spins_after_the_client_leaves",
    "echo",
    "closes_the_connection_when_the_client_has_finished",
    "still held the connection open"
)]
#[case::echo_no_close_after_the_client_finishes(
    "echo_no_close_after_the_client_finishes",
    "echo",
    "closes_the_connection_when_the_client_has_finished",
    "still held the connection open"
)]
#[case::echo_decodes_each_recv(
    "echo_decodes_each_recv",
    "echo",
    "a_character_cut_between_two_reads_comes_back_unchanged",
    "decodes"
)]
#[case::echo_whole_lines_only(
    "echo_whole_lines_only",
    "echo",
    "echoes_what_one_client_sends",
    "got it back only once a \\n followed"
)]
#[case::reverse_one_recv_per_line(
    "reverse_one_recv_per_line",
    "reverse",
    "a_line_sent_in_two_pieces_gets_one_reply",
    "answered the first piece on its own"
)]
#[case::reverse_bytes_not_characters(
    "reverse_bytes_not_characters",
    "reverse",
    "reverses_characters_not_bytes",
    "your server reversed the bytes of the line, not its characters"
)]
#[case::reverse_decodes_each_recv(
    "reverse_decodes_each_recv",
    "reverse",
    "a_character_cut_between_two_writes_is_put_back_together",
    "a character was decoded in two halves"
)]
#[case::reverse_unbounded_line(
    "reverse_unbounded_line",
    "reverse",
    "a_line_that_is_too_long_gets_an_error_and_the_connection_closes",
    "Without a limit"
)]
#[case::reverse_closes_with_unread_data(
    "reverse_closes_with_unread_data",
    "reverse",
    "a_line_that_is_too_long_gets_an_error_and_the_connection_closes",
    "(an RST, not a FIN) after its last bytes, \"error: line too long\\n\""
)]
#[case::reverse_lock_from_accept_loop(
    "reverse_lock_from_accept_loop",
    "reverse",
    "a_second_client_is_served_while_the_first_stays_connected",
    "serves one client after the other"
)]
#[case::reverse_keeps_the_cr(
    "reverse_keeps_the_cr",
    "reverse",
    "a_line_ending_in_crlf_is_reversed_without_the_cr",
    "the \\r of the \\r\\n line end was reversed"
)]
#[case::reverse_no_close_after_the_client_finishes(
    "reverse_no_close_after_the_client_finishes",
    "reverse",
    "returns_when_the_client_closes",
    "your server still held the connection open"
)]
#[case::room_echoes_to_the_sender(
    "room_echoes_to_the_sender",
    "room",
    "a_line_from_one_client_reaches_every_other_and_never_its_sender",
    "and received it back"
)]
#[case::room_one_client_at_a_time(
    "room_one_client_at_a_time",
    "room",
    "a_line_from_one_client_reaches_every_other_and_never_its_sender",
    "serves one client at a time"
)]
#[case::room_one_recv_per_line(
    "room_one_recv_per_line",
    "room",
    "a_line_cut_into_pieces_arrives_whole",
    "It received a piece as a line of its own"
)]
#[case::room_lock_held_across_write(
    "room_lock_held_across_write",
    "room",
    "a_client_that_never_reads_does_not_stop_the_others",
    "a client that never reads stopped the room"
)]
#[case::proxy_no_half_close(
    "proxy_no_half_close",
    "proxy",
    "a_half_close_from_the_client_reaches_the_server_and_the_late_reply_still_arrives",
    "the proxy had closed more than the direction that ended"
)]
#[case::proxy_taking_turns(
    "proxy_taking_turns",
    "proxy",
    "what_each_side_sends_arrives_unchanged_in_both_directions",
    "a thread that takes turns"
)]
fn a_broken_python_server_fails_with_its_check(
    #[case] file: &str,
    #[case] protocol: &str,
    #[case] check: &str,
    #[case] words: &str,
) {
    if !common::tools_installed(&["python3"]) {
        return;
    }
    let run = python_run(&format!("tests/zoo/{file}.py"), protocol);
    let server = ["--run", &run, "--start-timeout", PYTHON_START_SECS];
    expect_failure(protocol, &server, check, words);
}

// ---------------------------------------------------------------------
// What a failure shows, and the reports.
// ---------------------------------------------------------------------

#[test]
fn the_first_failure_shows_the_bytes_with_a_caret_under_the_first_difference() {
    let addr = spawn_server(reverse_of_bytes);
    let graded = grade(&["reverse", "--addr", &addr, "--seed", "12"]);
    let block = check_block(&graded.stdout, "reverses_characters_not_bytes");
    // "héllo wörld 🦀\n" reversed by bytes starts with the crab's last byte.
    for line in [
        "up        \"héllo wörld 🦀\\n\"",
        "expected  \"🦀 dlröw olléh\\n\"",
        "received  \"\\x80\\xa6\\x9f\\xf0 dlr\\xb6\\xc3w oll\\xa9\\xc3h\\n\"",
        "          ^",
        "expected  f0 9f a6 80 20",
        "received  80 a6 9f f0 20",
        "          ^^",
    ] {
        assert!(
            block.lines().any(|l| l.trim_start() == line.trim_start()
                || l.trim_start().starts_with(line.trim_start())),
            "the transcript should have a line {line:?}:\n{block}"
        );
    }
}

#[test]
fn the_same_seed_prints_the_same_report_byte_for_byte() {
    // A server whose bytes do not depend on how its reads are cut: the
    // report, transcript included, can only depend on the seed.
    let addr = spawn_server(reverse_of_bytes);
    let first = grade(&["reverse", "--addr", &addr, "--seed", "42"]);
    let second = grade(&["reverse", "--addr", &addr, "--seed", "42"]);
    assert!(first.stdout.contains("(seed 42)"), "{}", first.stdout);
    assert!(first.stdout.contains("transcript"), "{}", first.stdout);
    assert_eq!(first.stdout, second.stdout);
    // Another seed, another order.
    let other = grade(&["reverse", "--addr", &addr, "--seed", "43"]);
    assert_ne!(first.stdout, other.stdout);
}

/// The tags of an XML document, checked for balance; returns each element's
/// name and its attributes' text, in order. Enough to prove the structure
/// of grade's JUnit file without an XML library.
fn xml_elements(xml: &str) -> Vec<(String, String)> {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .expect("an XML declaration first");
    let mut open: Vec<String> = Vec::new();
    let mut elements = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        assert!(
            !text.contains('>') && !text.contains('&') || text_is_escaped(text),
            "raw markup in text: {text:?}"
        );
        let end = rest[start..].find('>').expect("every tag ends") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop().as_deref(), Some(name), "tags must nest");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let (name, attrs) = tag.split_once(' ').unwrap_or((tag, ""));
        assert_eq!(
            attrs.matches('"').count() % 2,
            0,
            "quoted attributes: {tag}"
        );
        elements.push((name.to_string(), attrs.to_string()));
        if !self_closing {
            open.push(name.to_string());
        }
    }
    assert!(open.is_empty(), "unclosed elements: {open:?}");
    elements
}

/// True if every `&` in `text` starts an entity.
fn text_is_escaped(text: &str) -> bool {
    !text.contains('>')
        && text.match_indices('&').all(|(i, _)| {
            let after = &text[i..];
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#"]
                .iter()
                .any(|e| after.starts_with(e))
        })
}

/// The value of attribute `name` in `attrs`, unescaped.
fn attribute(attrs: &str, name: &str) -> Option<String> {
    let attrs = format!(" {attrs}");
    let start = attrs.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = attrs[start..].find('"')? + start;
    Some(
        attrs[start..end]
            .replace("&#10;", "\n")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

#[test]
fn the_junit_file_has_one_test_case_per_check_and_each_failure_s_first_line() {
    let addr = spawn_server(reverse_of_bytes);
    let file = std::env::temp_dir().join(format!("grade-junit-{}.xml", std::process::id()));
    let file_arg = file.to_string_lossy().to_string();
    let graded = grade(&[
        "reverse", "--addr", &addr, "--seed", "12", "--junit", &file_arg,
    ]);
    let xml = std::fs::read_to_string(&file).expect("grade wrote the JUnit file");
    let _ = std::fs::remove_file(&file);
    let elements = xml_elements(&xml);
    let names: Vec<&str> = elements.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"testsuites"), "{xml}");
    assert_eq!(names.iter().filter(|n| **n == "testsuite").count(), 1);
    let cases: Vec<&(String, String)> = elements.iter().filter(|(n, _)| n == "testcase").collect();
    assert_eq!(
        cases.len(),
        16,
        "one test case per check of reverse:\n{xml}"
    );
    let suite = &elements[1].1;
    assert_eq!(attribute(suite, "tests").as_deref(), Some("16"));
    let failures: Vec<&(String, String)> =
        elements.iter().filter(|(n, _)| n == "failure").collect();
    assert_eq!(
        attribute(suite, "failures"),
        Some(failures.len().to_string())
    );
    assert!(!failures.is_empty(), "{xml}");
    // Each failure's message is the first line of the message in the text
    // report, under the same check's name.
    let mut case = "";
    for (name, attrs) in &elements {
        if name == "testcase" {
            case = attrs;
        }
        if name == "failure" {
            let check = attribute(case, "name").expect("a test case has a name");
            let message = attribute(attrs, "message").expect("a failure has a message");
            let block = check_block(&graded.stdout, &check);
            let first = block.lines().nth(1).unwrap_or_default().trim_start();
            assert_eq!(message, first, "{check}");
        }
    }
}

#[test]
fn json_output_is_one_object_with_every_check_and_the_seed() {
    let addr = spawn_server(echo_without_close);
    let graded = grade(&["echo", "--addr", &addr, "--seed", "9", "--json"]);
    assert!(!graded.success);
    let json = graded.stdout.trim();
    assert!(json.starts_with("{\"protocol\":\"echo\""), "{json}");
    assert!(json.contains("\"seed\":9"), "{json}");
    // Every check has an outcome, the one grade skips for echo too.
    assert_eq!(json.matches("\"outcome\":").count(), 11, "{json}");
    assert!(json.contains("\"failed\":"), "{json}");
    assert!(json.ends_with('}'), "{json}");
}

#[test]
fn a_server_that_is_not_there_is_one_line_and_a_failure() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let graded = grade(&["echo", "--addr", &format!("127.0.0.1:{port}")]);
    assert!(!graded.success);
    assert!(
        graded
            .stderr
            .starts_with("grade: cannot connect to 127.0.0.1:"),
        "{}",
        graded.stderr
    );
    assert_eq!(graded.stderr.lines().count(), 1, "{}", graded.stderr);
}

#[test]
fn a_server_that_dies_is_restarted_and_its_stderr_kept() {
    if !cfg!(unix) {
        common::skip("the dying server is a shell line (sh)");
        return;
    }
    let exe = example_path("03_reverse_server");
    // Says something on stderr, serves one client, dies; started again.
    let run = format!(
        "echo 'starting up' >&2; \"{}\" --max-line {MAX_LINE} --addr 127.0.0.1:{{port}} & \
         pid=$!; sleep 1; kill $pid",
        exe.display()
    );
    let graded = grade(&["reverse", "--run", &run, "--seed", "5", "--json"]);
    assert!(
        graded.stdout.contains("\"server_stderr\":[\"starting up\""),
        "{}",
        graded.stdout
    );
    assert!(
        graded.stdout.contains("was started again"),
        "{}",
        graded.stdout
    );
}

#[test]
fn grade_help_lists_the_protocols_and_each_states_its_rules() {
    let graded = grade(&["--help"]);
    assert!(graded.success);
    for protocol in ["echo", "reverse", "room", "proxy"] {
        assert!(
            graded
                .stdout
                .lines()
                .any(|l| l.trim_start().starts_with(protocol)),
            "{}",
            graded.stdout
        );
    }
    let reverse = grade(&["reverse", "--help"]);
    assert!(reverse.stdout.contains("1024 bytes"), "{}", reverse.stdout);
    assert!(reverse.stdout.contains("error:"), "{}", reverse.stdout);
    let room = grade(&["room", "--help"]);
    assert!(
        room.stdout.contains("never comes back to its sender"),
        "{}",
        room.stdout
    );
    let proxy = grade(&["proxy", "--help"]);
    assert!(proxy.stdout.contains("{upstream}"), "{}", proxy.stdout);
    assert!(proxy.stdout.contains("--upstream-port"), "{}", proxy.stdout);
}

// ---------------------------------------------------------------------
// The book's sessions (book/src/grade.md) are what grade prints.
// ---------------------------------------------------------------------

/// Compares `printed` with the session file `name` in book/src/grade/ (not
/// in transcripts/, whose files tests/book_transcripts.rs replays itself),
/// whose first line is the command; `BLESS_TRANSCRIPTS=1` writes it anew.
fn same_as_the_book(name: &str, command: &str, printed: &str) {
    let path = course_root().join("book/src/grade").join(name);
    let session = format!("$ {command}\n{printed}\n");
    if std::env::var_os("BLESS_TRANSCRIPTS").is_some() {
        std::fs::write(&path, &session).expect("write the session");
        return;
    }
    let book = std::fs::read_to_string(&path).expect("the book's session");
    pretty_assertions::assert_eq!(book, session, "{}", path.display());
}

#[test]
fn the_book_s_session_against_the_original_reverse_server_is_what_grade_prints() {
    let exe = example_path("03_reverse_server");
    let args = "--raw --max-line 1024 --addr 127.0.0.1:{port}";
    let run = format!("\"{}\" {args}", exe.display());
    let graded = grade(&["reverse", "--seed", "12", "--run", &run]);
    assert!(!graded.success);
    // The book runs the example with cargo; grade names the command it ran.
    let printed = graded.stdout.replace(
        &format!("\"{}\"", exe.display()),
        "cargo run -q --example 03_reverse_server --",
    );
    // The book shows the first failure, with its transcript, and the last
    // line: the other checks' messages quote replies to long lines, which
    // a --raw server cuts wherever its reads happen to end.
    let lines: Vec<&str> = printed.lines().collect();
    let second = (2..lines.len())
        .find(|&i| !lines[i].starts_with(' '))
        .unwrap_or(lines.len());
    let printed = format!(
        "{}\n...\n{}",
        lines[..second].join("\n"),
        lines.last().unwrap_or(&"")
    );
    same_as_the_book(
        "session-raw.txt",
        &format!(
            "cargo run -q -p exercises -- grade reverse --seed 12 --run 'cargo run -q \
             --example 03_reverse_server -- {args}'"
        ),
        &printed,
    );
}

#[test]
fn the_book_s_python_server_passes_grade() {
    if !common::tools_installed(&["python3"]) {
        return;
    }
    let run = "python3 book/src/grade/reverse_server.py {port}";
    let graded = grade(&["reverse", "--seed", "1", "--run", run]);
    assert!(graded.success, "{}\n{}", graded.stdout, graded.stderr);
    same_as_the_book(
        "session-python.txt",
        &format!("cargo run -q -p exercises -- grade reverse --seed 1 --run '{run}'"),
        &graded.stdout,
    );
}

#[test]
fn the_class_script_grades_each_listed_server_and_keeps_its_reports() {
    if !common::tools_installed(&["sh"]) {
        return;
    }
    let good = Server::start("03_reverse_server", &["--max-line", MAX_LINE]);
    let broken = spawn_server(reverse_keeping_cr);
    let dir = std::env::temp_dir().join(format!("grade-class-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder for the class");
    let list = format!(
        "# name, then an address or a command\nalice {}\nbob {broken}\ncarol {}\n",
        good.addr_arg(),
        course_run("reverse")
    );
    std::fs::write(dir.join("class.txt"), list).expect("write the list");
    let mut command = Command::new("sh");
    command
        .current_dir(&dir)
        .arg(course_root().join("exercises/tools/grade_class.sh"))
        .args(["reverse", "class.txt", "3"])
        .env("GRADE", progress_path());
    let mut program = Program::spawn(command, "grade_class.sh");
    let status = program.wait_for_exit_within(3 * GRADE_DEADLINE);
    let lines = program.rest_of_stdout();
    assert!(status.success(), "{lines:?} {:?}", program.stderr());
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0], "alice: passed");
    assert!(
        lines[1].starts_with("bob: FAILED ") && lines[1].ends_with(" checks (grades/bob.txt)"),
        "{lines:?}"
    );
    assert_eq!(lines[2], "carol: passed");
    let junit = std::fs::read_to_string(dir.join("grades/bob.xml")).expect("bob's JUnit file");
    assert_eq!(junit.matches("<testcase ").count(), 16);
    let _ = std::fs::remove_dir_all(&dir);
}
