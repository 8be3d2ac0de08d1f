//! Test fixtures: wrong answers learners really write to exercise 09 (the
//! forwarding core of a proxy), and proof that the checks reject each one
//! with the message meant for it. Like `wrong_solutions.rs`, these exist
//! only here, so that CI notices if a check stops catching them.
//!
//! Run with `cargo test -p solutions --test wrong_solutions_09 --
//! --nocapture` to see every message each wrong answer gets.

use solutions::checks::proxy;
use solutions::checks::runner::assert_rejected;

/// Wrong proxies. Most are the reference's shape (a thread per direction,
/// each pumping with `pump`) with one mistake in how a direction copies or
/// ends; one takes turns on a single thread.
mod proxies {
    use std::io::{self, Read, Write};
    use std::net::{Shutdown, TcpStream};
    use std::thread;
    use std::time::Duration;

    /// One direction: copies `from` to `to`, then ends as told.
    type Pump = fn(&TcpStream, &TcpStream) -> io::Result<()>;

    /// The right shape: one thread per direction, joined by the scope.
    fn two_threads(client: TcpStream, server: TcpStream, pump: Pump) -> io::Result<()> {
        thread::scope(|s| {
            let down = s.spawn(|| pump(&server, &client));
            let up = pump(&client, &server);
            up.and(down.join().unwrap_or(Ok(())))
        })
    }

    fn close_both(a: &TcpStream, b: &TcpStream) {
        let _ = a.shutdown(Shutdown::Both);
        let _ = b.shutdown(Shutdown::Both);
    }

    /// How a direction ends once its copy is over: at the end of the
    /// stream, `at_end(to)`; on an error, both sockets shut down and the
    /// error returned (as in the reference answer).
    fn ends(
        copied: io::Result<u64>,
        from: &TcpStream,
        to: &TcpStream,
        at_end: fn(&TcpStream),
    ) -> io::Result<()> {
        match copied {
            Ok(_) => {
                at_end(to);
                Ok(())
            }
            Err(e) => {
                close_both(from, to);
                Err(e)
            }
        }
    }

    /// The right way to end a direction: the end of the stream passed on.
    fn ends_right(copied: io::Result<u64>, from: &TcpStream, to: &TcpStream) -> io::Result<()> {
        ends(copied, from, to, |to| {
            let _ = to.shutdown(Shutdown::Write);
        })
    }

    /// At the end of stream, `shutdown(Both)` on the receiver instead of
    /// `shutdown(Write)`: "the connection is over".
    pub fn shuts_down_both_ways_at_an_end_of_stream(
        client: TcpStream,
        server: TcpStream,
    ) -> io::Result<()> {
        two_threads(client, server, |from, to| {
            ends(io::copy(&mut &*from, &mut &*to), from, to, |to| {
                let _ = to.shutdown(Shutdown::Both);
            })
        })
    }

    /// When either copy ends, both sockets are shut down, to make sure the
    /// other thread stops too.
    pub fn closes_both_sides_at_the_first_end_of_stream(
        client: TcpStream,
        server: TcpStream,
    ) -> io::Result<()> {
        two_threads(client, server, |from, to| {
            let copied = io::copy(&mut &*from, &mut &*to);
            close_both(from, to);
            copied.map(|_| ())
        })
    }

    /// Copies, and ends the thread: nothing tells the receiver.
    pub fn never_passes_the_end_of_stream_on(
        client: TcpStream,
        server: TcpStream,
    ) -> io::Result<()> {
        two_threads(client, server, |from, to| {
            ends(io::copy(&mut &*from, &mut &*to), from, to, |_| {})
        })
    }

    /// An error ends only the direction it happened in.
    pub fn lets_an_error_end_only_its_own_direction(
        client: TcpStream,
        server: TcpStream,
    ) -> io::Result<()> {
        two_threads(client, server, |from, to| {
            io::copy(&mut &*from, &mut &*to)?;
            let _ = to.shutdown(Shutdown::Write);
            Ok(())
        })
    }

    /// `write_all(&buf)`: the whole buffer, whatever the read returned.
    pub fn writes_the_whole_buffer(client: TcpStream, server: TcpStream) -> io::Result<()> {
        two_threads(client, server, |from, to| {
            let mut buf = [0u8; 8192];
            let copied = (|| loop {
                let n = (&*from).read(&mut buf)?;
                if n == 0 {
                    return Ok(0);
                }
                (&*to).write_all(&buf)?;
            })();
            ends_right(copied, from, to)
        })
    }

    /// Forwards in blocks of 1 KiB with `read_exact`, which at the end of
    /// the stream throws away the last, partial block.
    pub fn forwards_whole_blocks_only(client: TcpStream, server: TcpStream) -> io::Result<()> {
        two_threads(client, server, |from, to| {
            let mut block = [0u8; 1024];
            let copied = (|| loop {
                match (&*from).read_exact(&mut block) {
                    Ok(()) => (&*to).write_all(&block)?,
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                    Err(e) => return Err(e),
                }
            })();
            ends_right(copied, from, to)
        })
    }

    /// Each read turned into text with `String::from_utf8_lossy`, and
    /// that text forwarded.
    pub fn turns_each_read_into_text(client: TcpStream, server: TcpStream) -> io::Result<()> {
        two_threads(client, server, |from, to| {
            let mut buf = [0u8; 8192];
            let copied = (|| loop {
                let n = (&*from).read(&mut buf)?;
                if n == 0 {
                    return Ok(0);
                }
                let text = String::from_utf8_lossy(&buf[..n]);
                (&*to).write_all(text.as_bytes())?;
            })();
            ends_right(copied, from, to)
        })
    }

    /// Each read decoded with `String::from_utf8`, its error returned.
    pub fn decodes_each_read_as_text(client: TcpStream, server: TcpStream) -> io::Result<()> {
        two_threads(client, server, |from, to| {
            let mut buf = [0u8; 8192];
            let copied = (|| loop {
                let n = (&*from).read(&mut buf)?;
                if n == 0 {
                    return Ok(0);
                }
                let text = String::from_utf8(buf[..n].to_vec())
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                (&*to).write_all(text.as_bytes())?;
            })();
            ends_right(copied, from, to)
        })
    }

    /// `unwrap()` on each direction's copy: a reset panics that thread,
    /// and nothing is shut down.
    pub fn unwraps_each_copy(client: TcpStream, server: TcpStream) -> io::Result<()> {
        thread::scope(|s| {
            s.spawn(|| {
                io::copy(&mut &server, &mut &client).unwrap();
                let _ = client.shutdown(Shutdown::Write);
            });
            io::copy(&mut &client, &mut &server).unwrap();
            let _ = server.shutdown(Shutdown::Write);
            Ok(())
        })
    }

    /// The server-to-client direction on a thread of its own that nobody
    /// waits for: `forward` returns with the client-to-server direction.
    pub fn returns_without_waiting_for_the_other_direction(
        client: TcpStream,
        server: TcpStream,
    ) -> io::Result<()> {
        let (down_from, down_to) = (server.try_clone()?, client.try_clone()?);
        thread::spawn(move || {
            let copied = io::copy(&mut &down_from, &mut &down_to);
            ends_right(copied, &down_from, &down_to)
        });
        let copied = io::copy(&mut &client, &mut &server);
        ends_right(copied, &client, &server)
    }

    /// "Nothing came through" taken for a failure: a direction that
    /// forwarded no byte returns an error.
    pub fn takes_an_empty_direction_for_an_error(
        client: TcpStream,
        server: TcpStream,
    ) -> io::Result<()> {
        two_threads(client, server, |from, to| {
            let copied = io::copy(&mut &*from, &mut &*to).and_then(|n| match n {
                0 => Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "closed before sending anything",
                )),
                n => Ok(n),
            });
            ends_right(copied, from, to)
        })
    }

    /// Waits for a first byte (to log who spoke first) with `read_exact`
    /// before it forwards: an end of stream first is an error.
    pub fn waits_for_a_first_byte(client: TcpStream, server: TcpStream) -> io::Result<()> {
        two_threads(client, server, |from, to| {
            let mut first = [0u8; 1];
            let copied = (&*from)
                .read_exact(&mut first)
                .and_then(|()| (&*to).write_all(&first))
                .and_then(|()| io::copy(&mut &*from, &mut &*to));
            ends_right(copied, from, to)
        })
    }

    /// One thread that takes turns: a short read timeout on each side, so
    /// that it can look at one, then the other. Right in every respect but
    /// one: while it is blocked writing to one side, it reads from nobody.
    pub fn takes_turns_on_one_thread(client: TcpStream, server: TcpStream) -> io::Result<()> {
        for socket in [&client, &server] {
            socket.set_read_timeout(Some(Duration::from_millis(5)))?;
        }
        let directions = [(&client, &server), (&server, &client)];
        let mut open = [true, true];
        let mut buf = [0u8; 8192];
        while open.contains(&true) {
            for (i, (mut from, mut to)) in directions.into_iter().enumerate() {
                if !open[i] {
                    continue;
                }
                match from.read(&mut buf) {
                    Ok(0) => {
                        let _ = to.shutdown(Shutdown::Write);
                        open[i] = false;
                    }
                    Ok(n) => {
                        if let Err(e) = to.write_all(&buf[..n]) {
                            close_both(from, to);
                            return Err(e);
                        }
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock
                                | io::ErrorKind::TimedOut
                                | io::ErrorKind::Interrupted
                        ) => {}
                    Err(e) => {
                        close_both(from, to);
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }
}

mod proxy_is_rejected_when_it {
    use super::*;

    #[test]
    fn shuts_down_both_ways_at_an_end_of_stream() {
        assert_rejected(
            "shutdown(Both) at an end of stream",
            proxy::checks(proxies::shuts_down_both_ways_at_an_end_of_stream),
            &[
                (
                    "a_half_close_from_the_client_reaches_the_server_and_the_late_reply_still_arrives",
                    "the proxy had closed more than the direction that ended",
                ),
                (
                    "a_half_close_from_the_server_reaches_the_client_and_the_client_can_still_send",
                    "not `Shutdown::Both`",
                ),
            ],
        );
    }

    #[test]
    fn closes_both_sides_at_the_first_end_of_stream() {
        assert_rejected(
            "closes both at the first end of stream",
            proxy::checks(proxies::closes_both_sides_at_the_first_end_of_stream),
            &[
                (
                    "a_half_close_from_the_server_reaches_the_client_and_the_client_can_still_send",
                    "the proxy had closed more than the direction that ended",
                ),
                (
                    "a_half_close_from_the_client_reaches_the_server_and_the_late_reply_still_arrives",
                    "close nothing else",
                ),
            ],
        );
    }

    #[test]
    fn never_passes_the_end_of_stream_on() {
        assert_rejected(
            "no half-close passed on",
            proxy::checks(proxies::never_passes_the_end_of_stream_on),
            &[
                (
                    "a_half_close_from_the_client_reaches_the_server_and_the_late_reply_still_arrives",
                    "but not the end of the stream",
                ),
                (
                    "the_last_bytes_before_the_end_of_the_stream_all_arrive",
                    "shutdown(Shutdown::Write)",
                ),
            ],
        );
    }

    #[test]
    fn lets_an_error_end_only_its_own_direction() {
        assert_rejected(
            "an error ends one direction",
            proxy::checks(proxies::lets_an_error_end_only_its_own_direction),
            &[(
                "an_error_on_one_side_closes_the_other_side_too",
                "the client's connection was still open",
            )],
        );
    }

    #[test]
    fn writes_the_whole_buffer() {
        assert_rejected(
            "writes the whole buffer",
            proxy::checks(proxies::writes_the_whole_buffer),
            &[
                (
                    "what_each_side_sends_arrives_unchanged_in_both_directions",
                    "write `&buf[..n]`",
                ),
                (
                    "the_last_bytes_before_the_end_of_the_stream_all_arrive",
                    "instead of the bytes the read returned",
                ),
            ],
        );
    }

    #[test]
    fn forwards_whole_blocks_only() {
        assert_rejected(
            "read_exact in blocks",
            proxy::checks(proxies::forwards_whole_blocks_only),
            &[(
                "the_last_bytes_before_the_end_of_the_stream_all_arrive",
                "before the end never arrived",
            )],
        );
    }

    #[test]
    fn turns_each_read_into_text() {
        assert_rejected(
            "from_utf8_lossy per read",
            proxy::checks(proxies::turns_each_read_into_text),
            &[(
                "bytes_that_are_not_whole_characters_pass_unchanged",
                "EF BF BD is U+FFFD, the replacement character",
            )],
        );
    }

    #[test]
    fn decodes_each_read_as_text() {
        assert_rejected(
            "from_utf8 per read",
            proxy::checks(proxies::decodes_each_read_as_text),
            &[(
                "bytes_that_are_not_whole_characters_pass_unchanged",
                "your code decodes the bytes as text",
            )],
        );
    }

    #[test]
    fn panics_when_a_direction_fails() {
        assert_rejected(
            "unwrap on each copy",
            proxy::checks(proxies::unwraps_each_copy),
            &[(
                "an_error_on_one_side_closes_the_other_side_too",
                "because a thread of `forward` panicked",
            )],
        );
    }

    #[test]
    fn returns_before_the_other_direction_has_ended() {
        assert_rejected(
            "the other direction not waited for",
            proxy::checks(proxies::returns_without_waiting_for_the_other_direction),
            &[(
                "an_error_on_one_side_closes_the_other_side_too",
                "that direction's error was lost",
            )],
        );
    }

    #[test]
    fn takes_an_empty_direction_for_an_error() {
        assert_rejected(
            "no byte is an error",
            proxy::checks(proxies::takes_an_empty_direction_for_an_error),
            &[(
                "a_connection_that_carries_no_byte_ends_with_ok",
                "without sending a byte",
            )],
        );
    }

    #[test]
    fn waits_for_a_first_byte() {
        assert_rejected(
            "read_exact a first byte",
            proxy::checks(proxies::waits_for_a_first_byte),
            &[(
                "a_connection_that_carries_no_byte_ends_with_ok",
                "without sending a byte",
            )],
        );
    }

    #[test]
    fn takes_turns_on_one_thread() {
        assert_rejected(
            "one thread taking turns",
            proxy::checks(proxies::takes_turns_on_one_thread),
            &[(
                "both_sides_sending_large_amounts_at_once_do_not_deadlock",
                "deadlock: ",
            )],
        );
    }
}
