//! Test fixtures: the wrong answers learners really write (to the two
//! exercises of original 004, and one or two to each other exercise), and proof that the checks reject each one with
//! the message meant for it. These are not part of the course's code: they
//! exist only here, so that CI notices if a check stops catching them.
//!
//! Run with `cargo test -p solutions --test wrong_solutions -- --nocapture`
//! to see every message each wrong answer gets.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use solutions::checks::{self, Check};

/// Runs every check, all at once (each on its own port, so they cannot
/// collide; most of their time is spent waiting for a deadline), and
/// returns (check, message) for each that failed, in the checks' order.
fn failures(all: Vec<Check>) -> Vec<(&'static str, String)> {
    thread::scope(|s| {
        let running: Vec<_> = all
            .iter()
            .map(|check| (check.name, s.spawn(move || checks::run(check))))
            .collect();
        running
            .into_iter()
            .filter_map(|(name, h)| match h.join() {
                Ok(result) => result.err().map(|m| (name, m)),
                Err(_) => Some((name, "the check itself panicked".to_string())),
            })
            .collect()
    })
}

/// Asserts that each `(check, teaches)` rejected the wrong answer with a
/// message that contains `teaches`, and prints every message for the record.
fn assert_rejected(wrong: &str, all: Vec<Check>, expected: &[(&str, &str)]) {
    let failed = failures(all);
    println!("== {wrong}: rejected by {} check(s)", failed.len());
    for (name, message) in &failed {
        println!("-- {name}:\n{message}\n");
    }
    for (check, teaches) in expected {
        let Some((_, message)) = failed.iter().find(|(name, _)| name == check) else {
            panic!(
                "{wrong} should fail the check {check}, but it passed (it failed only {:?})",
                failed.iter().map(|(n, _)| n).collect::<Vec<_>>()
            );
        };
        assert!(
            message.contains(teaches),
            "{wrong} failed {check}, but its message does not say {teaches:?}:\n{message}"
        );
    }
}

/// Wrong answers to exercise 02b, the multi-client echo server.
mod echo_server {
    use super::*;

    fn echo_with_copy(stream: TcpStream) -> io::Result<u64> {
        let mut reader = stream.try_clone()?;
        io::copy(&mut reader, &mut &stream)
    }

    /// Lesson 02's loop: one client after the other (survives errors).
    pub fn one_at_a_time(listener: TcpListener) -> io::Result<()> {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let _ = echo_with_copy(stream);
        }
        Ok(())
    }

    /// A thread per client, but `write` instead of `write_all`: whatever
    /// part of the buffer the system did not take is lost. The `Partial`
    /// wrapper plays a system that takes at most 1000 bytes per write, as a
    /// socket with a send timeout does when its buffer is full (on Linux, a
    /// blocking socket without one waits and takes everything, which hides
    /// this bug).
    #[allow(clippy::unused_io_amount)] // the bug on purpose: clippy sees it too
    pub fn ignores_partial_writes(listener: TcpListener) -> io::Result<()> {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            thread::spawn(move || -> io::Result<()> {
                let mut reader = stream.try_clone()?;
                let mut writer = Partial(stream);
                let mut buf = [0u8; 4096];
                loop {
                    let n = reader.read(&mut buf)?;
                    if n == 0 {
                        return Ok(());
                    }
                    writer.write(&buf[..n])?;
                }
            });
        }
        Ok(())
    }

    pub struct Partial(pub TcpStream);

    impl Write for Partial {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(1000);
            self.0.write(&buf[..n])
        }
        fn flush(&mut self) -> io::Result<()> {
            self.0.flush()
        }
    }

    /// The original's loop ported word for word: one client at a time, and
    /// an error from a client (a reset) ends the server (`?`).
    pub fn dies_when_a_client_vanishes(listener: TcpListener) -> io::Result<()> {
        for stream in listener.incoming() {
            echo_with_copy(stream?)?;
        }
        Ok(())
    }

    /// A thread per client, but the errors of the client threads are sent
    /// back to the accept loop "so that none is lost", which returns the
    /// first one: a client's reset stops the whole server.
    pub fn threads_but_one_error_stops_all(listener: TcpListener) -> io::Result<()> {
        let (errors, failed) = mpsc::channel();
        for stream in listener.incoming() {
            let stream = stream?;
            if let Ok(e) = failed.try_recv() {
                return Err(e);
            }
            let errors = errors.clone();
            thread::spawn(move || {
                if let Err(e) = echo_with_copy(stream) {
                    let _ = errors.send(e);
                }
            });
        }
        Ok(())
    }

    /// A chat server's habit: every client's bytes go to every client.
    pub fn sends_to_every_client(listener: TcpListener) -> io::Result<()> {
        let clients: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        for stream in listener.incoming() {
            let stream = stream?;
            clients.lock().unwrap().push(stream.try_clone()?);
            let clients = Arc::clone(&clients);
            thread::spawn(move || -> io::Result<()> {
                let mut reader = stream;
                let mut buf = [0u8; 4096];
                loop {
                    let n = reader.read(&mut buf)?;
                    if n == 0 {
                        return Ok(());
                    }
                    for mut client in clients.lock().unwrap().iter() {
                        let _ = client.write_all(&buf[..n]);
                    }
                }
            });
        }
        Ok(())
    }
}

/// Wrong answers to exercise 02a, the client that stops at `exit`.
mod exit_client {
    use super::*;

    fn ask<W: Write>(line: &str, server: &TcpStream, output: &mut W) -> io::Result<()> {
        (&mut &*server).write_all(format!("{line}\n").as_bytes())?;
        let mut reply = String::new();
        BufReader::new(server).read_line(&mut reply)?;
        output.write_all(reply.as_bytes())
    }

    /// Sends the line first and checks for `exit` afterwards.
    pub fn sends_exit<R: BufRead, W: Write>(
        input: R,
        mut output: W,
        server: TcpStream,
    ) -> io::Result<()> {
        for line in input.lines() {
            let line = line?;
            ask(&line, &server, &mut output)?;
            if line.trim() == "exit" {
                break;
            }
        }
        Ok(())
    }

    /// No loop: one line, one reply, done.
    pub fn stops_after_the_first_line<R: BufRead, W: Write>(
        mut input: R,
        mut output: W,
        server: TcpStream,
    ) -> io::Result<()> {
        let mut line = String::new();
        input.read_line(&mut line)?;
        let line = line.trim_end();
        if line != "exit" {
            ask(line, &server, &mut output)?;
        }
        Ok(())
    }

    /// Never looks for `exit`, and takes the end of the input (`Ok(0)`)
    /// for an empty line: it never stops.
    pub fn never_stops<R: BufRead, W: Write>(
        mut input: R,
        mut output: W,
        server: TcpStream,
    ) -> io::Result<()> {
        loop {
            let mut line = String::new();
            input.read_line(&mut line)?;
            ask(line.trim_end(), &server, &mut output)?;
        }
    }

    /// Takes one `read` for one whole reply, as the original does.
    pub fn reads_one_piece_per_reply<R: BufRead, W: Write>(
        input: R,
        mut output: W,
        server: TcpStream,
    ) -> io::Result<()> {
        for line in input.lines() {
            let line = line?;
            if line.trim() == "exit" {
                break;
            }
            (&server).write_all(format!("{line}\n").as_bytes())?;
            let mut buf = [0u8; 1024];
            let n = (&server).read(&mut buf)?;
            writeln!(output, "{}", String::from_utf8_lossy(&buf[..n]).trim_end())?;
        }
        Ok(())
    }

    /// Stops at any line that contains `exit`, even inside a word.
    pub fn stops_at_exit_inside_a_word<R: BufRead, W: Write>(
        input: R,
        mut output: W,
        server: TcpStream,
    ) -> io::Result<()> {
        for line in input.lines() {
            let line = line?;
            if line.contains("exit") {
                break;
            }
            ask(&line, &server, &mut output)?;
        }
        Ok(())
    }
}

mod echo_server_is_rejected_when_it {
    use super::*;
    use solutions::checks::echo_server::checks;

    #[test]
    fn serves_one_client_at_a_time() {
        assert_rejected(
            "one_at_a_time",
            checks(echo_server::one_at_a_time),
            &[(
                "a_second_client_is_served_while_the_first_stays_connected",
                "Is each client served on its own thread?",
            )],
        );
    }

    #[test]
    fn loses_bytes_on_partial_writes() {
        assert_rejected(
            "ignores_partial_writes",
            checks(echo_server::ignores_partial_writes),
            &[("a_1_mib_payload_comes_back_whole", "write_all()")],
        );
    }

    #[test]
    fn dies_when_a_client_disconnects_abruptly() {
        assert_rejected(
            "dies_when_a_client_vanishes",
            checks(echo_server::dies_when_a_client_vanishes),
            &[(
                "a_client_that_vanishes_does_not_stop_the_server",
                "must end only that client",
            )],
        );
        assert_rejected(
            "threads_but_one_error_stops_all",
            checks(echo_server::threads_but_one_error_stops_all),
            &[(
                "a_client_that_vanishes_does_not_stop_the_server",
                "must end only that client",
            )],
        );
    }

    #[test]
    fn mixes_up_two_clients_data() {
        assert_rejected(
            "sends_to_every_client",
            checks(echo_server::sends_to_every_client),
            &[(
                "two_clients_each_get_only_their_own_bytes",
                "Each client's bytes must go back to that client only",
            )],
        );
    }
}

mod exit_client_is_rejected_when_it {
    use super::*;
    use solutions::checks::exit_client::checks;

    #[test]
    fn sends_exit_to_the_server() {
        assert_rejected(
            "sends_exit",
            checks(exit_client::sends_exit),
            &[(
                "stops_at_exit_without_sending_it",
                "the server received \"exit\"",
            )],
        );
    }

    #[test]
    fn stops_after_the_first_line() {
        assert_rejected(
            "stops_after_the_first_line",
            checks(exit_client::stops_after_the_first_line),
            &[("sends_each_line_and_prints_each_reply", "only the first")],
        );
    }

    #[test]
    fn never_stops() {
        assert_rejected(
            "never_stops",
            checks(exit_client::never_stops),
            &[
                ("stops_at_exit_without_sending_it", "does not stop at exit"),
                (
                    "the_end_of_the_input_ends_the_client_cleanly",
                    "kept sending",
                ),
            ],
        );
    }

    #[test]
    fn takes_one_read_for_a_whole_reply() {
        assert_rejected(
            "reads_one_piece_per_reply",
            checks(exit_client::reads_one_piece_per_reply),
            &[(
                "a_reply_that_arrives_in_two_pieces_is_printed_as_one_line",
                "TCP is a byte stream",
            )],
        );
    }

    #[test]
    fn stops_at_a_line_that_contains_exit_inside_a_word() {
        assert_rejected(
            "stops_at_exit_inside_a_word",
            checks(exit_client::stops_at_exit_inside_a_word),
            &[(
                "a_line_with_exit_inside_a_word_is_sent_like_any_other",
                "only contains exit",
            )],
        );
    }
}

/// Wrong answers to the other exercises, one or two typical ones each.
mod others {
    use super::*;
    use solutions::console_router::Event;

    /// 01: spawns and joins in the same loop, so one thread at a time.
    pub fn joins_inside_the_spawn_loop<F: Fn(i64) -> i64 + Sync>(
        numbers: &[i64],
        f: F,
    ) -> Vec<i64> {
        let f = &f;
        thread::scope(|s| {
            let mut results = Vec::new();
            for &n in numbers {
                results.push(s.spawn(move || f(n)).join().unwrap());
            }
            results
        })
    }

    /// 01: collects the results from a channel, in the order they arrive.
    pub fn collects_in_arrival_order<F: Fn(i64) -> i64 + Sync>(numbers: &[i64], f: F) -> Vec<i64> {
        let (tx, rx) = mpsc::channel();
        thread::scope(|s| {
            for &n in numbers {
                let tx = tx.clone();
                let f = &f;
                s.spawn(move || tx.send(f(n)).unwrap());
            }
        });
        drop(tx);
        rx.iter().collect()
    }

    /// 03: the original's way: every read is a message, its bytes reversed.
    pub fn reverses_the_bytes_of_each_read(mut client: TcpStream) -> io::Result<()> {
        let mut buf = [0u8; 1024];
        loop {
            let n = client.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            buf[..n].reverse();
            client.write_all(&buf[..n])?;
        }
    }

    /// 03: lines and characters right, but no limit, and the end of the
    /// stream (`Ok(0)`) taken for an empty line: it spins for ever.
    pub fn spins_at_the_end_of_the_stream(client: TcpStream) -> io::Result<()> {
        let mut lines = BufReader::new(client.try_clone()?);
        loop {
            let mut line = String::new();
            let _ = lines.read_line(&mut line);
            let reversed: String = line.trim_end().chars().rev().collect();
            (&client).write_all(format!("{reversed}\n").as_bytes())?;
        }
    }

    /// 04: the original client's turn-taking: keyboard, then peer, again.
    pub fn takes_turns<R: Read + Send + 'static, W: Write>(
        input: R,
        mut output: W,
        peer: TcpStream,
    ) -> io::Result<()> {
        let mut input = BufReader::new(input);
        let mut from_peer = BufReader::new(peer.try_clone()?);
        loop {
            let mut line = String::new();
            if input.read_line(&mut line)? == 0 {
                peer.shutdown(Shutdown::Write)?;
            } else {
                (&peer).write_all(line.as_bytes())?;
            }
            let mut reply = String::new();
            if from_peer.read_line(&mut reply)? == 0 {
                return Ok(());
            }
            output.write_all(reply.as_bytes())?;
        }
    }

    /// 05: right routing, but a failed write ends the room (`?`).
    pub fn stops_on_a_failed_write<W: Write>(
        events: mpsc::Receiver<Event>,
        mut console: W,
    ) -> io::Result<()> {
        let mut clients = std::collections::BTreeMap::new();
        for event in events {
            match event {
                Event::Joined { id, stream } => {
                    clients.insert(id, stream);
                }
                Event::Left { id } => {
                    clients.remove(&id);
                }
                Event::Console(line) => {
                    if let Some(rest) = line.strip_prefix("/to ") {
                        let (id, text) = rest.split_once(' ').unwrap_or((rest, ""));
                        match id.parse::<u64>().ok().and_then(|id| clients.get(&id)) {
                            Some(mut stream) => {
                                stream.write_all(format!("[server] {text}\n").as_bytes())?
                            }
                            None => {
                                writeln!(console, "error: no client #{id} (usage: /to N text)")?
                            }
                        }
                    } else if line.starts_with('/') {
                        writeln!(console, "error: unknown command {line}")?;
                    } else {
                        for mut stream in clients.values() {
                            stream.write_all(format!("[server] {line}\n").as_bytes())?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// 06: one server after the other (and still with timeouts).
    pub fn one_server_after_the_other(
        servers: &[SocketAddr],
        question: &str,
        timeout: Duration,
    ) -> Vec<io::Result<String>> {
        servers
            .iter()
            .map(|addr| {
                let stream = TcpStream::connect_timeout(addr, timeout)?;
                stream.set_read_timeout(Some(timeout))?;
                (&stream).write_all(format!("{question}\n").as_bytes())?;
                let mut answer = String::new();
                if BufReader::new(&stream).read_line(&mut answer)? == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no answer"));
                }
                Ok(answer.trim_end().to_string())
            })
            .collect()
    }
}

mod other_exercises_reject {
    use super::*;
    use solutions::checks;

    #[test]
    fn threads_joined_inside_the_spawn_loop() {
        assert_rejected(
            "joins_inside_the_spawn_loop",
            checks::threads::checks(others::joins_inside_the_spawn_loop),
            &[(
                "runs_every_call_at_the_same_time",
                "Start every thread before you join",
            )],
        );
    }

    #[test]
    fn results_collected_in_arrival_order() {
        assert_rejected(
            "collects_in_arrival_order",
            checks::threads::checks(others::collects_in_arrival_order),
            &[(
                "keeps_the_order_when_the_threads_finish_last_to_first",
                "keep the JoinHandles",
            )],
        );
    }

    #[test]
    fn reversing_the_bytes_of_each_read() {
        assert_rejected(
            "reverses_the_bytes_of_each_read",
            checks::reverse::checks(others::reverses_the_bytes_of_each_read),
            &[
                ("reverses_characters_not_bytes", "Reverse line.chars()"),
                (
                    "a_line_sent_in_two_pieces_gets_one_reply",
                    "collect bytes up to",
                ),
            ],
        );
    }

    #[test]
    fn a_reverse_server_that_spins_at_the_end_of_the_stream() {
        assert_rejected(
            "spins_at_the_end_of_the_stream",
            checks::reverse::checks(others::spins_at_the_end_of_the_stream),
            &[
                ("returns_when_the_client_closes", "spins for ever"),
                (
                    "a_line_that_is_too_long_gets_an_error_and_the_connection_closes",
                    "Without a limit",
                ),
            ],
        );
    }

    #[test]
    fn a_chat_that_takes_turns() {
        assert_rejected(
            "takes_turns",
            checks::duplex::checks(others::takes_turns),
            &[(
                "what_the_peer_sends_appears_while_the_user_types_nothing",
                "Read the peer on one thread and the keyboard on another",
            )],
        );
    }

    #[test]
    fn a_room_that_stops_on_a_failed_write() {
        assert_rejected(
            "stops_on_a_failed_write",
            checks::console_router::checks(others::stops_on_a_failed_write),
            &[(
                "a_client_that_vanished_does_not_stop_the_room",
                "forget that client",
            )],
        );
    }

    #[test]
    fn asking_one_server_after_the_other() {
        assert_rejected(
            "one_server_after_the_other",
            checks::fan_out::checks(others::one_server_after_the_other),
            &[(
                "asks_every_server_at_the_same_time",
                "one thread per server",
            )],
        );
    }
}
