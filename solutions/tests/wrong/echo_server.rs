//! Wrong answers to exercise 02b, `serve_all`, the multi-client echo server.

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use solutions::checks::echo_server::checks;

use crate::{Case, case};

const ONE: &str = "echoes_what_one_client_sends";
const SECOND: &str = "a_second_client_is_served_while_the_first_stays_connected";
const SIXTEEN: &str = "sixteen_clients_connected_at_once_are_all_served";
const MIB: &str = "a_1_mib_payload_comes_back_whole";
const VANISH: &str = "a_client_that_vanishes_does_not_stop_the_server";
const TWO: &str = "two_clients_each_get_only_their_own_bytes";
const CLOSES: &str = "closes_the_connection_when_the_client_has_finished";
const CUT: &str = "a_character_cut_between_two_reads_comes_back_unchanged";
const ACCEPT: &str = "a_failed_accept_does_not_end_the_server";

pub fn cases() -> Vec<Case> {
    const ONE_AFTER_THE_OTHER: &str = "your server serves one client after the other";
    const READ_EXACT: &str = "bytes had arrived; then it sent back";
    const BUFFERED: &str = "bytes had arrived; then it sent back";
    const ENDS_AT_A_FAILED_ACCEPT: &str = "your serve_all returned Err(";
    const NOT_ACCEPTED: &str = "no connection was accepted within 2s: is `accept` called?";
    vec![
        case(
            "one_at_a_time",
            checks(one_at_a_time),
            &[
                (SECOND, ONE_AFTER_THE_OTHER),
                (SIXTEEN, ONE_AFTER_THE_OTHER),
                (TWO, ONE_AFTER_THE_OTHER),
            ],
        ),
        case(
            "ignores_partial_writes",
            checks(ignores_partial_writes),
            &[(MIB, "bytes are missing in the middle")],
        ),
        case(
            "dies_when_a_client_vanishes",
            checks(dies_when_a_client_vanishes),
            &[
                (VANISH, "must end only that client"),
                (SECOND, ONE_AFTER_THE_OTHER),
                (SIXTEEN, ONE_AFTER_THE_OTHER),
                (TWO, ONE_AFTER_THE_OTHER),
                (ACCEPT, ENDS_AT_A_FAILED_ACCEPT),
            ],
        ),
        case(
            "threads_but_one_error_stops_all",
            checks(threads_but_one_error_stops_all),
            &[
                (VANISH, "must end only that client"),
                (ACCEPT, ENDS_AT_A_FAILED_ACCEPT),
            ],
        ),
        case(
            "sends_to_every_client",
            checks(sends_to_every_client),
            &[
                (TWO, "each client's bytes must go back to that client only"),
                (CLOSES, "your server still held the connection open"),
                (ACCEPT, ENDS_AT_A_FAILED_ACCEPT),
            ],
        ),
        case(
            "writes_the_whole_buffer",
            checks(writes_the_whole_buffer),
            &[
                (CUT, "followed by 4089 NUL bytes"),
                (ONE, "followed by"),
                (SECOND, "followed by"),
                (SIXTEEN, "followed by"),
                (MIB, "followed by"),
                (VANISH, "followed by"),
                (TWO, "followed by"),
                (CLOSES, "followed by"),
            ],
        ),
        case(
            "echoes_lines_not_bytes",
            checks(echoes_lines_not_bytes),
            &[
                (CUT, "your server holds back or drops a read"),
                (ONE, "got it back only once a \\n followed"),
                (MIB, "the client sent 1 MiB"),
            ],
        ),
        case(
            "drops_the_line_end",
            checks(drops_the_line_end),
            &[
                (CUT, "got it back without its \\n"),
                (ONE, "without its \\n"),
                (SECOND, "without its \\n"),
                (SIXTEEN, "without its \\n"),
                (MIB, "without its \\n"),
                (VANISH, "without its \\n"),
                (TWO, "without its \\n"),
                (CLOSES, "without its \\n"),
            ],
        ),
        case(
            "ignores_the_end_of_the_stream",
            checks(ignores_the_end_of_the_stream),
            &[(CLOSES, "your server still held the connection open")],
        ),
        case(
            "keeps_a_clone_of_every_client",
            checks(keeps_a_clone_of_every_client),
            &[
                (CLOSES, "your server still held the connection open"),
                (ACCEPT, ENDS_AT_A_FAILED_ACCEPT),
            ],
        ),
        case(
            "one_thread_per_client_but_one_lock_for_all",
            checks(one_thread_per_client_but_one_lock_for_all),
            &[
                (SECOND, ONE_AFTER_THE_OTHER),
                (SIXTEEN, ONE_AFTER_THE_OTHER),
                (TWO, ONE_AFTER_THE_OTHER),
            ],
        ),
        case(
            "holds_a_lock_across_each_read",
            checks(holds_a_lock_across_each_read),
            &[
                (SECOND, ONE_AFTER_THE_OTHER),
                (SIXTEEN, ONE_AFTER_THE_OTHER),
                (TWO, ONE_AFTER_THE_OTHER),
            ],
        ),
        case(
            "stops_after_the_first_read",
            checks(stops_after_the_first_read),
            &[
                (CUT, "in 1 piece"),
                (ONE, "it stops after one read"),
                (TWO, "it stops after one read"),
                (MIB, "the client sent 1 MiB"),
            ],
        ),
        case(
            "reads_everything_before_echoing",
            checks(reads_everything_before_echoing),
            &[
                (CUT, "until the client closed its sending side"),
                (ONE, "until the client closed its sending side"),
                (SECOND, "until the client closed its sending side"),
                (SIXTEEN, "until the client closed its sending side"),
                (MIB, "until the client closed its sending side"),
                (VANISH, "until the client closed its sending side"),
                (TWO, "until the client closed its sending side"),
                (CLOSES, "until the client closed its sending side"),
            ],
        ),
        case(
            "a_pool_of_four_threads",
            checks(a_pool_of_four_threads),
            &[(
                SIXTEEN,
                "your server serves at most 4 clients at the same time",
            )],
        ),
        case(
            "fills_its_buffer_with_read_exact",
            checks(fills_its_buffer_with_read_exact),
            &[
                (CUT, READ_EXACT),
                (ONE, READ_EXACT),
                (SECOND, READ_EXACT),
                (SIXTEEN, READ_EXACT),
                (MIB, READ_EXACT),
                (VANISH, READ_EXACT),
                (TWO, READ_EXACT),
                (CLOSES, READ_EXACT),
            ],
        ),
        case(
            "writes_into_a_bufwriter_it_never_flushes",
            checks(writes_into_a_bufwriter_it_never_flushes),
            &[
                (CUT, BUFFERED),
                (ONE, BUFFERED),
                (SECOND, BUFFERED),
                (SIXTEEN, BUFFERED),
                (MIB, BUFFERED),
                (VANISH, BUFFERED),
                (TWO, BUFFERED),
                (CLOSES, BUFFERED),
            ],
        ),
        case(
            "echoes_text_not_bytes",
            checks(echoes_text_not_bytes),
            &[
                (CUT, "your server decodes each read as text"),
                (MIB, "Your server decodes what it reads as text"),
            ],
        ),
        case(
            "skips_a_read_that_is_not_utf8",
            checks(skips_a_read_that_is_not_utf8),
            &[
                (CUT, "your server holds back or drops a read"),
                (MIB, "the client sent 1 MiB"),
            ],
        ),
        case(
            "incoming_with_question_mark",
            checks(incoming_with_question_mark),
            &[(ACCEPT, ENDS_AT_A_FAILED_ACCEPT)],
        ),
        case(
            "accept_expect_in_a_loop",
            checks(accept_expect_in_a_loop),
            &[(ACCEPT, "your serve_all panicked")],
        ),
        case(
            "never_accepts",
            checks(never_accepts),
            &[
                (CUT, NOT_ACCEPTED),
                (ONE, NOT_ACCEPTED),
                (SECOND, NOT_ACCEPTED),
                (SIXTEEN, NOT_ACCEPTED),
                (MIB, NOT_ACCEPTED),
                (VANISH, NOT_ACCEPTED),
                (TWO, NOT_ACCEPTED),
                (CLOSES, NOT_ACCEPTED),
            ],
        ),
    ]
}

fn echo_with_copy(stream: TcpStream) -> io::Result<u64> {
    let mut reader = stream.try_clone()?;
    io::copy(&mut reader, &mut &stream)
}

/// A thread per client, but `?` on each item of `incoming()`: the first
/// failed accept (the process out of file descriptors, say) ends the
/// server, and every client after it is refused.
fn incoming_with_question_mark(listener: TcpListener) -> io::Result<()> {
    for stream in listener.incoming() {
        let stream = stream?;
        thread::spawn(move || echo_with_copy(stream));
    }
    Ok(())
}

/// `accept().expect(..)` in a loop: the first failed accept panics.
fn accept_expect_in_a_loop(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().expect("accept");
        thread::spawn(move || io::copy(&mut &stream, &mut &stream));
    }
}

/// The accept loop was never written: the server waits for connections on
/// a channel that nothing sends on, instead of calling `accept`.
fn never_accepts(listener: TcpListener) -> io::Result<()> {
    let (_keep, streams) = mpsc::channel::<TcpStream>();
    let _listening = listener;
    for stream in streams {
        thread::spawn(move || echo_with_copy(stream));
    }
    Ok(())
}

/// Lesson 02's loop: one client after the other (survives errors).
fn one_at_a_time(listener: TcpListener) -> io::Result<()> {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let _ = echo_with_copy(stream);
    }
    Ok(())
}

/// A thread per client, but `write` instead of `write_all`: whatever part
/// of the buffer the system did not take is lost. The `Partial` wrapper
/// plays a system that takes at most 1000 bytes per write, as a socket with
/// a send timeout does when its buffer is full (on Linux, a blocking socket
/// without one waits and takes everything, which hides this bug).
#[allow(clippy::unused_io_amount)] // the bug on purpose: clippy sees it too
fn ignores_partial_writes(listener: TcpListener) -> io::Result<()> {
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

struct Partial(TcpStream);

impl Write for Partial {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(1000);
        self.0.write(&buf[..n])
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// The original's loop ported word for word: one client at a time, and an
/// error from a client (a reset) ends the server (`?`).
fn dies_when_a_client_vanishes(listener: TcpListener) -> io::Result<()> {
    for stream in listener.incoming() {
        echo_with_copy(stream?)?;
    }
    Ok(())
}

/// A thread per client, but the errors of the client threads are sent back
/// to the accept loop "so that none is lost", which returns the first one:
/// a client's reset stops the whole server.
fn threads_but_one_error_stops_all(listener: TcpListener) -> io::Result<()> {
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
fn sends_to_every_client(listener: TcpListener) -> io::Result<()> {
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

/// A thread per client, running `echo`.
fn threads(listener: TcpListener, echo: fn(TcpStream) -> io::Result<()>) -> io::Result<()> {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        thread::spawn(move || echo(stream));
    }
    Ok(())
}

/// Echoes `buf`, all of it, instead of `&buf[..n]`.
fn writes_the_whole_buffer(listener: TcpListener) -> io::Result<()> {
    threads(listener, |mut stream| {
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            stream.write_all(&buf)?;
        }
    })
}

/// Reads lines and writes each back with `writeln!`.
fn echoes_lines_not_bytes(listener: TcpListener) -> io::Result<()> {
    threads(listener, |stream| {
        let mut writer = stream.try_clone()?;
        for line in BufReader::new(stream).lines() {
            writeln!(writer, "{}", line?)?;
        }
        Ok(())
    })
}

/// Reads lines and writes each back, without the `\n` lines() removed.
fn drops_the_line_end(listener: TcpListener) -> io::Result<()> {
    threads(listener, |stream| {
        let mut writer = stream.try_clone()?;
        for line in BufReader::new(stream).lines() {
            writer.write_all(line?.as_bytes())?;
        }
        Ok(())
    })
}

/// Takes `read` returning 0 for "nothing yet" and tries again. (It gives up
/// after 30 s, so that the test run does not spin for ever: long after
/// every check has judged it, however busy the machine.)
fn ignores_the_end_of_the_stream(listener: TcpListener) -> io::Result<()> {
    threads(listener, |mut stream| {
        let started = Instant::now();
        let mut buf = [0u8; 4096];
        while started.elapsed() < Duration::from_secs(30) {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                thread::sleep(Duration::from_millis(10));
                continue;
            }
            stream.write_all(&buf[..n])?;
        }
        Ok(())
    })
}

/// Keeps a clone of every client "for later", so no connection ever closes.
fn keeps_a_clone_of_every_client(listener: TcpListener) -> io::Result<()> {
    let mut everyone = Vec::new();
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        everyone.push(stream.try_clone()?);
        thread::spawn(move || echo_with_copy(stream));
    }
    Ok(())
}

/// A thread per client, each holding one shared lock while it serves.
fn one_thread_per_client_but_one_lock_for_all(listener: TcpListener) -> io::Result<()> {
    let busy = Arc::new(Mutex::new(()));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let busy = Arc::clone(&busy);
        thread::spawn(move || {
            let _serving = busy.lock().unwrap();
            echo_with_copy(stream)
        });
    }
    Ok(())
}

/// A thread per client, and a shared lock around each read and write.
fn holds_a_lock_across_each_read(listener: TcpListener) -> io::Result<()> {
    let io_lock = Arc::new(Mutex::new(()));
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let io_lock = Arc::clone(&io_lock);
        thread::spawn(move || -> io::Result<()> {
            let mut buf = [0u8; 4096];
            loop {
                let _guard = io_lock.lock().unwrap();
                let n = stream.read(&mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                stream.write_all(&buf[..n])?;
            }
        });
    }
    Ok(())
}

/// One read, one write, and the thread is done.
fn stops_after_the_first_read(listener: TcpListener) -> io::Result<()> {
    threads(listener, |mut stream| {
        let mut buf = [0u8; 4096];
        let n = stream.read(&mut buf)?;
        stream.write_all(&buf[..n])
    })
}

/// Reads until the end of the stream, then writes it all back.
fn reads_everything_before_echoing(listener: TcpListener) -> io::Result<()> {
    threads(listener, |mut stream| {
        let mut all = Vec::new();
        stream.read_to_end(&mut all)?;
        stream.write_all(&all)
    })
}

/// Four worker threads take clients from a channel: a fifth waits.
fn a_pool_of_four_threads(listener: TcpListener) -> io::Result<()> {
    let (tx, rx) = mpsc::channel::<TcpStream>();
    let rx = Arc::new(Mutex::new(rx));
    for _ in 0..4 {
        let rx = Arc::clone(&rx);
        thread::spawn(move || {
            loop {
                let next = rx.lock().unwrap().recv();
                let Ok(stream) = next else { return };
                let _ = echo_with_copy(stream);
            }
        });
    }
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if tx.send(stream).is_err() {
            break;
        }
    }
    Ok(())
}

/// `read_exact` into a 1 KiB buffer: nothing comes back until 1 KiB came.
fn fills_its_buffer_with_read_exact(listener: TcpListener) -> io::Result<()> {
    threads(listener, |mut stream| {
        let mut buf = [0u8; 1024];
        loop {
            stream.read_exact(&mut buf)?;
            stream.write_all(&buf)?;
        }
    })
}

/// Writes into a BufWriter "for speed", which sends only when it is full.
fn writes_into_a_bufwriter_it_never_flushes(listener: TcpListener) -> io::Result<()> {
    threads(listener, |stream| {
        let mut reader = stream.try_clone()?;
        let mut writer = BufWriter::new(stream);
        let mut buf = [0u8; 4096];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            writer.write_all(&buf[..n])?;
        }
    })
}

/// Turns the bytes into text first, replacing what is not UTF-8.
fn echoes_text_not_bytes(listener: TcpListener) -> io::Result<()> {
    threads(listener, |mut stream| {
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            let text = String::from_utf8_lossy(&buf[..n]);
            stream.write_all(text.as_bytes())?;
        }
    })
}

/// Echoes a read only if it is valid UTF-8 "to keep the stream clean":
/// a read cut inside a character is dropped.
fn skips_a_read_that_is_not_utf8(listener: TcpListener) -> io::Result<()> {
    threads(listener, |mut stream| {
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            if let Ok(text) = std::str::from_utf8(&buf[..n]) {
                stream.write_all(text.as_bytes())?;
            }
        }
    })
}
