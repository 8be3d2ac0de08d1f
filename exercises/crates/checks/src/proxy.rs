//! Checks of exercise 09, `forward`: the check plays both ends of one
//! proxied connection, the client and the server, each a real socket on
//! 127.0.0.1, and hands the proxy's two sockets to `forward`. Its peers
//! behave as real ones do: they stay connected, answer late and in
//! pieces, half-close, break with a reset, and send a lot at once.
//!
//! Every byte the check sends comes from an alphabet without NUL, so a
//! zero byte that arrives was never sent by anyone.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::Duration;

use super::harness::{Task, WAIT, Waited, is_timeout, socket_pair, spawn};

/// The function under test: the client's socket, then the server's.
pub type Forward = fn(TcpStream, TcpStream) -> io::Result<()>;

pub fn checks(subject: Forward) -> Vec<super::Check> {
    checks!(subject =>
        what_each_side_sends_arrives_unchanged_in_both_directions,
        a_half_close_from_the_client_reaches_the_server_and_the_late_reply_still_arrives,
        a_half_close_from_the_server_reaches_the_client_and_the_client_can_still_send,
        the_last_bytes_before_the_end_of_the_stream_all_arrive,
        both_sides_sending_large_amounts_at_once_do_not_deadlock,
        an_error_on_one_side_closes_the_other_side_too,
        bytes_that_are_not_whole_characters_pass_unchanged,
        a_connection_that_carries_no_byte_ends_with_ok,
    )
}

/// Between the two pieces of an answer sent in two writes: long enough for
/// them to travel as two pieces, as a server that works as it answers
/// sends them.
const PIECES: Duration = Duration::from_millis(50);

/// How long a peer takes before it answers "late": well after the other
/// side's end of stream has passed through.
const LATE: Duration = Duration::from_millis(100);

/// How much each side sends in the check that both directions flow at
/// once: far more than the buffers of the connections on the way hold
/// (a few MiB on Linux, less elsewhere).
const LARGE: usize = 32 << 20;

/// How long the client's writes in that check may wait: the server reads
/// only once it has sent everything.
const CLIENT_WRITES: Duration = Duration::from_secs(5);

/// The two peers of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }

    fn other(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

/// One connection through `forward`: the check's client and server, and
/// `forward` running on a thread of its own with the proxy's two sockets.
struct Session {
    client: TcpStream,
    server: TcpStream,
    task: Task<io::Result<()>>,
}

fn start(subject: Forward) -> Result<Session, String> {
    // Each pair: the check's end (with timeouts) and the proxy's end
    // (without: a proxied connection may be quiet for an hour).
    let (client, proxy_client) = socket_pair()?;
    let (server, proxy_server) = socket_pair()?;
    let task = spawn("forward", move || subject(proxy_client, proxy_server));
    task.fail_fast()?;
    Ok(Session {
        client,
        server,
        task,
    })
}

impl Session {
    fn peer(&self, side: Side) -> &TcpStream {
        match side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        }
    }

    /// A panic of `forward` is the real problem, whatever the check saw;
    /// and if `forward` has returned while the connection was not over
    /// yet, says so after what the check saw.
    fn fail(&self, saw: String) -> String {
        match self.task.wait(Duration::from_millis(300)) {
            Err(Waited::Running) => saw,
            Err(Waited::Panicked(why)) => why,
            Ok(returned) => format!(
                "{saw}\n(`forward` had already returned {}: it must forward until both \
                 directions have ended, and only then return.)",
                result_text(&returned)
            ),
        }
    }

    fn send(&self, side: Side, bytes: &[u8]) -> Result<(), String> {
        self.peer(side)
            .write_all(bytes)
            .map_err(|e| format!("the {} could not send {}: {e}", side.name(), show(bytes)))
    }

    /// Sends what a peer says after the other side may already be gone:
    /// if the proxy has closed this side's connection, the write fails
    /// (or lands in a socket nobody reads), and what the *other* side
    /// receives tells the story, so the error is not the check's message.
    fn send_anyway(&self, side: Side, bytes: &[u8]) {
        let _ = self.peer(side).write_all(bytes);
    }

    /// `side` has finished sending: a FIN, with `shutdown(Write)`.
    fn half_close(&self, side: Side) -> Result<(), String> {
        self.peer(side)
            .shutdown(Shutdown::Write)
            .map_err(|e| format!("the {} could not half-close: {e}", side.name()))
    }

    /// Waits until `forward` returns `Ok(())`, at most [`WAIT`].
    fn returns_ok(&self, after: &str) -> Result<(), String> {
        match self.task.wait(WAIT) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!(
                "{after}, and `forward` returned Err({e}). Each direction ended with its \
                 sender's end of stream: that is how a connection ends normally, so return \
                 Ok(())."
            )),
            Err(Waited::Panicked(why)) => Err(why),
            Err(Waited::Running) => Err(format!(
                "{after}, but {WAIT:?} later `forward` had not returned. Once both directions \
                 have ended, return Ok(()): join both threads (thread::scope does it for you)."
            )),
        }
    }
}

fn result_text(returned: &io::Result<()>) -> String {
    match returned {
        Ok(()) => "Ok(())".to_string(),
        Err(e) => format!("Err({e})"),
    }
}

/// How a side stopped reading.
#[derive(Debug)]
enum End {
    /// It had as many bytes as it waited for.
    Enough,
    /// The end of the stream: `read` returned 0.
    Closed,
    /// Nothing more came for [`WAIT`].
    Silent,
    /// The read failed (a reset, say).
    Broke(io::Error),
}

/// What one side received.
struct Received {
    bytes: Vec<u8>,
    end: End,
}

/// Reads from `stream` until `enough` bytes came, the stream ends, or
/// nothing comes for [`WAIT`] (the stream's read timeout).
fn receive(mut stream: &TcpStream, enough: usize) -> Received {
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let end = loop {
        if bytes.len() >= enough {
            break End::Enough;
        }
        match stream.read(&mut buf) {
            Ok(0) => break End::Closed,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => break End::Silent,
            Err(e) => break End::Broke(e),
        }
    };
    Received { bytes, end }
}

/// Reads until the end of the stream: at most `expected` bytes and a
/// margin, so that a proxy that pads every write cannot make it read
/// forever.
fn receive_to_end(stream: &TcpStream, expected: usize) -> Received {
    receive(stream, expected + 1024 * 1024)
}

/// Bytes for a message: short ones whole, long ones by their two ends.
fn show(bytes: &[u8]) -> String {
    if bytes.len() <= 80 {
        format!("{:?}", String::from_utf8_lossy(bytes))
    } else {
        format!(
            "{} ({:?} ... {:?})",
            amount(bytes.len()),
            String::from_utf8_lossy(&bytes[..30]),
            String::from_utf8_lossy(&bytes[bytes.len() - 30..])
        )
    }
}

/// A number of bytes, in MiB once it is that large.
fn amount(n: usize) -> String {
    if n >= 1 << 20 {
        format!("{n} bytes ({:.1} MiB)", n as f64 / f64::from(1 << 20))
    } else if n == 1 {
        "1 byte".to_string()
    } else {
        format!("{n} bytes")
    }
}

/// The most one write of the check sends, and one read of it takes.
const CHUNK: usize = 64 * 1024;

/// The bytes the check sends in bulk: readable, different for each seed,
/// never a zero byte, and repeating only every [`Pattern::PERIOD`] bytes,
/// which no buffer size divides. Kept as one block that any run of up to
/// [`CHUNK`] bytes is a slice of, so that sending and comparing tens of
/// MiB costs little, even in a debug build.
struct Pattern {
    block: Vec<u8>,
}

impl Pattern {
    /// A prime.
    const PERIOD: usize = 4099;

    fn new(seed: usize) -> Pattern {
        const ALPHABET: &[u8] =
            b"abcdefghijklmnopqrstuvwxyz0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ\n";
        let block = (0..Pattern::PERIOD + CHUNK)
            .map(|i| {
                let j = i % Pattern::PERIOD;
                ALPHABET[(j * 7 + seed * 13 + j / 97) % ALPHABET.len()]
            })
            .collect();
        Pattern { block }
    }

    /// The `len` bytes (at most [`CHUNK`]) from byte `offset` on.
    fn run(&self, offset: usize, len: usize) -> &[u8] {
        let start = offset % Pattern::PERIOD;
        &self.block[start..start + len]
    }

    fn at(&self, offset: usize) -> u8 {
        self.block[offset % Pattern::PERIOD]
    }

    /// The first `len` bytes, as one message.
    fn bytes(&self, len: usize) -> Vec<u8> {
        let mut all = Vec::with_capacity(len);
        while all.len() < len {
            let n = (len - all.len()).min(CHUNK);
            all.extend_from_slice(self.run(all.len(), n));
        }
        all
    }
}

/// What to say about bytes that nobody sent at that point, when more
/// arrived than was sent: leftovers of an earlier read, or zeros.
const WHOLE_BUFFER: &str = "Your code writes the whole buffer instead of the bytes the read \
     returned: write `&buf[..n]`, where n is what `read` returned (or let `io::copy` do it).";

/// What the proxy did to the bytes, if they are not exactly those sent:
/// the diagnosis of zero bytes nobody sent, or a plain "expected, got".
/// A `got` that is a shorter start of `sent` is not a difference here: the
/// caller knows whether the rest was still to come.
fn garbled(sent: &[u8], got: &[u8], from: Side) -> Option<String> {
    let to = from.other();
    if let Some(first) = got.iter().position(|&b| b == 0) {
        let zeros = got.iter().filter(|&&b| b == 0).count();
        return Some(format!(
            "the {} received {} that the {} never sent: {zeros} zero bytes, the first at \
             byte {first}, after {}. {WHOLE_BUFFER}",
            to.name(),
            amount(got.len()),
            from.name(),
            show(&got[first.saturating_sub(30)..first])
        ));
    }
    if sent.starts_with(got) {
        return None;
    }
    let at = sent
        .iter()
        .zip(got)
        .position(|(a, b)| a != b)
        .unwrap_or(sent.len().min(got.len()));
    let window = |bytes: &[u8]| show(&bytes[at.min(bytes.len())..(at + 40).min(bytes.len())]);
    let differs = if at >= sent.len() {
        format!("after all of it came {}", window(got))
    } else {
        format!(
            "from byte {at} on it differs: expected {}, got {}",
            window(sent),
            window(got)
        )
    };
    Some(if got.len() > sent.len() {
        format!(
            "the {} sent {}, but the {} received {}, {} more, and {differs}: bytes nobody \
             sent at that point. {WHOLE_BUFFER}",
            from.name(),
            amount(sent.len()),
            to.name(),
            amount(got.len()),
            amount(got.len() - sent.len())
        )
    } else {
        format!(
            "the {} should receive exactly what the {} sent ({}), but {differs} ({} received \
             in all)",
            to.name(),
            from.name(),
            amount(sent.len()),
            amount(got.len())
        )
    })
}

/// Checks that `to` received exactly `sent` (it may stay connected and
/// send more later). `context` says what the peers were doing; `stuck`
/// what a silence most likely means.
fn expect(
    session: &Session,
    to: Side,
    sent: &[u8],
    context: &str,
    stuck: &str,
) -> Result<(), String> {
    let from = to.other();
    let got = receive(session.peer(to), sent.len());
    if let Some(wrong) = garbled(sent, &got.bytes, from) {
        return Err(format!("{context}: {wrong}"));
    }
    let received = show(&got.bytes);
    match got.end {
        End::Enough => Ok(()),
        End::Silent => Err(format!(
            "{context}: the {} expected {} from the {}, and after {WAIT:?} had received \
             {received}. {stuck}",
            to.name(),
            show(sent),
            from.name()
        )),
        End::Closed => Err(format!(
            "{context}: the {} expected {} from the {}, but its connection ended (the end of \
             the stream) after {received}, although the {} is still connected and never \
             closed. Pass an end of stream on only when a read returns 0.",
            to.name(),
            show(sent),
            from.name(),
            from.name()
        )),
        End::Broke(e) => Err(format!(
            "{context}: the {} expected {} from the {}, but its connection failed ({e}) after \
             {received}",
            to.name(),
            show(sent),
            from.name()
        )),
    }
}

/// What to say when the end of the stream was never passed on.
fn end_not_passed_on(from: Side, sent: &[u8], how: &str) -> String {
    let to = from.other();
    format!(
        "the {} sent {} and then {how}; {WAIT:?} later the {} had received all of it but \
         not the end of the stream, and a real {} would wait for it forever. When a read \
         returns 0, the {} has finished: pass that on with `shutdown(Shutdown::Write)` on \
         the socket you write this direction to. (Dropping one handle of a socket closes \
         nothing while another handle, a `try_clone` or a borrow, is still open.)",
        from.name(),
        show(sent),
        to.name(),
        to.name(),
        from.name()
    )
}

/// Checks that `to` receives exactly `sent` and then the end of the
/// stream, which `from` sent after it (`how`: in words).
fn expect_end(session: &Session, from: Side, sent: &[u8], how: &str) -> Result<(), String> {
    let to = from.other();
    let got = receive_to_end(session.peer(to), sent.len());
    if let Some(wrong) = garbled(sent, &got.bytes, from) {
        return Err(wrong);
    }
    let (n, all) = (got.bytes.len(), sent.len());
    match got.end {
        End::Closed if n == all => Ok(()),
        End::Closed => Err(format!(
            "the {} sent {} and then {how}. The {} received {} and then the end of the \
             stream: the last {} before the end never arrived (they end with {}). Something \
             drops the final chunk: a loop that stops at a short read, `read_exact` (which \
             throws away a last, partial block), or `write` instead of `write_all` (write may \
             take only part of the buffer; write_all writes all of it). Forward every byte \
             each read returns, up to the read that returns 0.",
            from.name(),
            amount(all),
            to.name(),
            if n == 0 {
                "nothing".to_string()
            } else {
                format!("only the first {}", amount(n))
            },
            amount(all - n),
            show(&sent[all.saturating_sub(30)..])
        )),
        End::Silent if n == all => Err(end_not_passed_on(from, sent, how)),
        End::Silent => Err(format!(
            "the {} sent {} and then {how}; the {} received {} of it, and then nothing more \
             for {WAIT:?}: neither the rest ({}) nor the end of the stream. {}",
            from.name(),
            amount(all),
            to.name(),
            amount(n),
            amount(all - n),
            if n == 0 {
                format!(
                    "Nothing came through while the {} was silent: is your code waiting for \
                     the {} before it reads from the {}? Pump each direction on a thread of \
                     its own.",
                    to.name(),
                    to.name(),
                    from.name()
                )
            } else {
                "Forward every byte each read returns, up to the read that returns 0, and then \
                 pass the end on."
                    .to_string()
            }
        )),
        End::Broke(e) => Err(format!(
            "the {} sent {} and then {how}; the {} received {} of it, and then its connection \
             failed: {e}",
            from.name(),
            amount(all),
            to.name(),
            amount(n)
        )),
        End::Enough => Err(format!(
            "the {} sent {} and then {how}, but the {} received more than that: {}",
            from.name(),
            amount(all),
            to.name(),
            amount(n)
        )),
    }
}

/// What to say when a half-close cut off the other direction: `late` was
/// sent by `from` after the other side's half-close, and `to` received
/// only `got` of it before its connection ended.
fn cut_off(from: Side, late: &[u8], got: &Received, first_closed: &str) -> String {
    let to = from.other();
    let ended = match &got.end {
        End::Broke(e) => format!("its connection failed ({e})"),
        _ => "its connection ended".to_string(),
    };
    format!(
        "{first_closed}. After that the {} still had something to say: {}, sent {LATE:?} \
         later in two writes. The {} received {} of it, and then {ended}: the proxy had \
         closed more than the direction that ended. A half-close ends one direction only; \
         the {} is still reading, and the {} still sending. When a read returns 0, shut \
         down only the writing side of the socket you write to, `shutdown(Shutdown::Write)` \
         (not `Shutdown::Both`, which stops that socket's reading too), close nothing else, \
         and keep the other direction running until it ends by itself.",
        from.name(),
        show(late),
        to.name(),
        show(&got.bytes),
        to.name(),
        from.name()
    )
}

/// After the late bytes from `from`, which then closed: `to` must receive
/// them all, and then the end of the stream.
fn late_bytes_arrive(
    session: &Session,
    from: Side,
    late: &[u8],
    first_closed: &str,
) -> Result<(), String> {
    let to = from.other();
    let got = receive_to_end(session.peer(to), late.len());
    if let Some(wrong) = garbled(late, &got.bytes, from) {
        return Err(wrong);
    }
    match got.end {
        End::Closed if got.bytes.len() == late.len() => Ok(()),
        End::Closed | End::Broke(_) => Err(cut_off(from, late, &got, first_closed)),
        End::Silent if got.bytes.len() == late.len() => {
            Err(end_not_passed_on(from, late, "closed its connection"))
        }
        End::Silent => Err(format!(
            "{first_closed}. After that the {} sent {} in two writes, {PIECES:?} apart, and \
             {WAIT:?} later the {} had received {}. Keep the {}'s direction running after the \
             other one ended.",
            from.name(),
            show(late),
            to.name(),
            show(&got.bytes),
            from.name()
        )),
        End::Enough => Err(format!(
            "the {} received more than the {} sent: {}",
            to.name(),
            from.name(),
            show(&got.bytes)
        )),
    }
}

/// Sends `bytes` in two writes, [`PIECES`] apart.
fn send_in_two(session: &Session, side: Side, bytes: &[u8]) {
    let (first, second) = bytes.split_at(bytes.len() / 2);
    session.send_anyway(side, first);
    thread::sleep(PIECES);
    session.send_anyway(side, second);
}

pub fn what_each_side_sends_arrives_unchanged_in_both_directions(
    subject: Forward,
) -> Result<(), String> {
    let session = start(subject)?;
    let exchange = || -> Result<(), String> {
        let request = b"GET /greeting\n";
        session.send(Side::Client, request)?;
        expect(
            &session,
            Side::Server,
            request,
            "the client sent a request and waits for the answer",
            "Copy what the client sends to the server as it comes, without waiting for more.",
        )?;
        // The answer in two writes, as a server that works as it answers
        // sends it; the client says nothing meanwhile.
        session.send(Side::Server, b"Hello, ")?;
        thread::sleep(PIECES);
        session.send(Side::Server, b"world!\n")?;
        expect(
            &session,
            Side::Client,
            b"Hello, world!\n",
            "the server answered in two writes, 50 ms apart, while the client waited",
            "If only the first piece came through, your code waited for the client before it \
             read from the server again: a thread that takes turns between the two sides \
             stops whenever the side it waits for is quiet. Pump each direction on a thread \
             of its own.",
        )?;
        // Both stay connected, and the client talks again.
        session.send(Side::Client, b"THANKS\n")?;
        expect(
            &session,
            Side::Server,
            b"THANKS\n",
            "after the answer, the client sent one more line (both sides still connected)",
            "Keep forwarding for as long as the connection is open.",
        )
    };
    exchange().map_err(|saw| session.fail(saw))
}

/// `first` says `said` and half-closes; the other side receives it and
/// the end of the stream, and then, [`LATE`], sends `late` in two writes
/// and closes: `first`, still reading, must receive it all, and `forward`
/// must then return `Ok(())`. `story` tells the first part in words.
fn half_close_then_late_bytes(
    subject: Forward,
    first: Side,
    said: &[u8],
    late: &[u8],
    story: &str,
) -> Result<(), String> {
    let session = start(subject)?;
    let second = first.other();
    let steps = || -> Result<(), String> {
        session.send(first, said)?;
        session.half_close(first)?;
        expect_end(
            &session,
            first,
            said,
            "half-closed its connection (shutdown(Write))",
        )?;
        thread::sleep(LATE);
        send_in_two(&session, second, late);
        let _ = session.peer(second).shutdown(Shutdown::Both);
        late_bytes_arrive(&session, second, late, story)
    };
    steps().map_err(|saw| session.fail(saw))?;
    session.returns_ok(&format!(
        "the {} half-closed, the {} sent what it still had and closed",
        first.name(),
        second.name()
    ))
}

pub fn a_half_close_from_the_client_reaches_the_server_and_the_late_reply_still_arrives(
    subject: Forward,
) -> Result<(), String> {
    // A client that sends its whole request and says so with a half-close,
    // as `nc -N` or an HTTP/1.0 client do, then waits; a server that takes
    // its time, answers in two writes, and closes.
    half_close_then_late_bytes(
        subject,
        Side::Client,
        b"LIST\nSIZE\n",
        b"LIST: a b c\nSIZE: 3\n",
        "The client sent its request and half-closed its connection, and the server \
         received both",
    )
}

pub fn a_half_close_from_the_server_reaches_the_client_and_the_client_can_still_send(
    subject: Forward,
) -> Result<(), String> {
    // A server that has said all it will say, and still listens.
    half_close_then_late_bytes(
        subject,
        Side::Server,
        b"WELCOME. Send your file, then close.\n",
        b"line 1 of the file\nline 2 of the file\n",
        "The server sent its greeting and half-closed its connection, and the client \
         received both",
    )
}

pub fn the_last_bytes_before_the_end_of_the_stream_all_arrive(
    subject: Forward,
) -> Result<(), String> {
    // Sizes that no buffer size divides: the last chunk is a partial one.
    // One connection for each direction: its sender sends everything and
    // half-closes right after its last write, while the other side stays
    // connected, reads to the end, and only then closes.
    for (from, seed, len) in [(Side::Client, 1, 1_000_003), (Side::Server, 2, 700_001)] {
        let session = start(subject)?;
        let bytes = Pattern::new(seed).bytes(len);
        let (sender, sent) = (session.peer(from), &bytes[..]);
        thread::scope(|s| {
            // The sender writes on a thread of its own while the receiver
            // reads, as two programs would.
            s.spawn(move || {
                let _ = (&*sender).write_all(sent);
                let _ = sender.shutdown(Shutdown::Write);
            });
            expect_end(
                &session,
                from,
                &bytes,
                "half-closed its connection right after its last write",
            )
        })
        .map_err(|saw| session.fail(saw))?;
        let _ = session.peer(from.other()).shutdown(Shutdown::Both);
        session.returns_ok(&format!(
            "the {} sent its bytes and half-closed, and the {} then closed",
            from.name(),
            from.other().name()
        ))?;
    }
    Ok(())
}

/// What a side sent of its pattern, and how its writing ended.
struct Sent {
    count: usize,
    error: Option<io::Error>,
}

/// Sends `len` bytes of `pattern`, [`CHUNK`] per write.
fn send_pattern(mut stream: &TcpStream, pattern: &Pattern, len: usize) -> Sent {
    let mut count = 0;
    while count < len {
        let chunk = pattern.run(count, (len - count).min(CHUNK));
        if let Err(e) = stream.write_all(chunk) {
            return Sent {
                count,
                error: Some(e),
            };
        }
        count += chunk.len();
    }
    Sent { count, error: None }
}

/// What a side received of a pattern, compared byte by byte as it came.
struct Flow {
    count: usize,
    /// The first byte that differs from the pattern, and whether it is 0.
    wrong: Option<(usize, u8)>,
    end: End,
}

/// Receives `len` bytes of `pattern`, keeping none of them.
fn receive_pattern(mut stream: &TcpStream, pattern: &Pattern, len: usize) -> Flow {
    let mut flow = Flow {
        count: 0,
        wrong: None,
        end: End::Enough,
    };
    let mut buf = vec![0u8; CHUNK];
    while flow.count < len {
        match stream.read(&mut buf) {
            Ok(0) => {
                flow.end = End::Closed;
                break;
            }
            Ok(n) => {
                if flow.wrong.is_none() && buf[..n] != *pattern.run(flow.count, n) {
                    flow.wrong = buf[..n]
                        .iter()
                        .enumerate()
                        .find(|&(i, &b)| b != pattern.at(flow.count + i))
                        .map(|(i, &b)| (flow.count + i, b));
                }
                flow.count += n;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                flow.end = End::Silent;
                break;
            }
            Err(e) => {
                flow.end = End::Broke(e);
                break;
            }
        }
    }
    flow
}

/// The diagnosis of a flow that did not bring exactly the `len` bytes sent.
fn flow_problem(flow: &Flow, len: usize, from: Side, pattern: &Pattern) -> Option<String> {
    let to = from.other().name();
    let from = from.name();
    if let Some((at, byte)) = flow.wrong {
        return Some(if byte == 0 {
            format!(
                "the {to} received a zero byte at byte {at}, which the {from} never sent. \
                 {WHOLE_BUFFER}"
            )
        } else {
            format!(
                "the {to} should receive exactly what the {from} sent, but byte {at} differs: \
                 expected {:?}, got {:?}",
                char::from(pattern.at(at)),
                char::from(byte)
            )
        });
    }
    if flow.count > len {
        return Some(format!(
            "the {from} sent {}, but the {to} received {}",
            amount(len),
            amount(flow.count)
        ));
    }
    let how = match &flow.end {
        End::Enough => return None,
        End::Closed => "the end of the stream".to_string(),
        End::Silent => format!("nothing more for {WAIT:?}"),
        End::Broke(e) => format!("a failure: {e}"),
    };
    Some(format!(
        "the {from} sent {} while it was also reading; the {to} received {}, and then {how}",
        amount(len),
        amount(flow.count)
    ))
}

pub fn both_sides_sending_large_amounts_at_once_do_not_deadlock(
    subject: Forward,
) -> Result<(), String> {
    let session = start(subject)?;
    let (server_pattern, client_pattern) = (Pattern::new(3), Pattern::new(4));
    // A client that sends and reads at the same time, as lesson 04's chat
    // client does. Its writing waits while the server does not read yet,
    // for as long as the server takes to send everything: hence a longer
    // timeout. The thread is not joined: if the proxy is stuck, it ends
    // with that timeout, after the check has said why.
    let writer = session
        .client
        .try_clone()
        .and_then(|w| w.set_write_timeout(Some(CLIENT_WRITES)).map(|()| w))
        .map_err(|e| format!("the check could not set up its client: {e}"))?;
    let (written, client_sent) = std::sync::mpsc::channel();
    thread::Builder::new()
        .name("the check's client writer".into())
        .spawn(move || {
            let _ = written.send(send_pattern(&writer, &Pattern::new(4), LARGE));
        })
        .map_err(|e| format!("the check could not start a thread: {e}"))?;
    let (server, client) = (&session.server, &session.client);
    let ((server_sent, server_got), client_got) = thread::scope(|s| {
        // A server that sends its whole answer before it reads anything,
        // as many simple servers do.
        let server = s.spawn(|| {
            let sent = send_pattern(server, &server_pattern, LARGE);
            let got = sent
                .error
                .is_none()
                .then(|| receive_pattern(server, &client_pattern, LARGE));
            (sent, got)
        });
        let client_got = receive_pattern(client, &server_pattern, LARGE);
        let server = server.join().unwrap_or_else(|_| {
            let e = io::Error::other("the check's server panicked");
            (
                Sent {
                    count: 0,
                    error: Some(e),
                },
                None,
            )
        });
        (server, client_got)
    });
    if server_sent.error.as_ref().is_some_and(is_timeout) {
        let saw = format!(
            "deadlock: the server sends {} before it reads anything (as many simple servers \
             do), while the client sends as much and reads at the same time. The server had \
             sent {}, and the client received {} of it, when the server could not send any \
             more for {WAIT:?}: neither direction was moving, although the client kept reading. That is \
             what one thread that takes turns does: blocked writing the client's bytes to a \
             server that does not read yet, it no longer reads what the server sends, so the \
             server never gets to reading. Pump each direction on a thread of its own \
             (thread::scope), so that one blocked direction never stops the other.",
            amount(LARGE),
            amount(server_sent.count),
            amount(client_got.count)
        );
        return Err(session.fail(saw));
    }
    if let Some(e) = &server_sent.error {
        return Err(session.fail(format!(
            "the server could not send its {}: after {}, its write failed: {e}",
            amount(LARGE),
            amount(server_sent.count)
        )));
    }
    if let Some(problem) = flow_problem(&client_got, LARGE, Side::Server, &server_pattern) {
        return Err(session.fail(problem));
    }
    let Some(server_got) = server_got else {
        return Err(session.fail("the server could not read".to_string()));
    };
    if let Some(problem) = flow_problem(&server_got, LARGE, Side::Client, &client_pattern) {
        return Err(session.fail(problem));
    }
    match client_sent.recv_timeout(WAIT) {
        Ok(Sent { error: None, .. }) => Ok(()),
        Ok(Sent {
            count,
            error: Some(e),
        }) => Err(session.fail(format!(
            "the client's write failed after {}: {e}",
            amount(count)
        ))),
        Err(_) => Err(session.fail(
            "the server received everything the client sent, but the client's writing had \
             not finished"
                .to_string(),
        )),
    }
}

pub fn an_error_on_one_side_closes_the_other_side_too(subject: Forward) -> Result<(), String> {
    let Session {
        client,
        server,
        task,
    } = start(subject)?;
    let panicked = |saw: String| match task.wait(Duration::from_millis(300)) {
        Err(Waited::Panicked(why)) => why,
        _ => saw,
    };
    // The client uploads; the server lets the bytes arrive but never reads
    // them, and then its connection breaks: closing a socket with unread
    // bytes makes the system send a reset (RST) instead of a FIN.
    let upload = b"UPLOAD 1 of 3\n";
    (&client)
        .write_all(upload)
        .map_err(|e| panicked(format!("the client could not send: {e}")))?;
    match server.peek(&mut [0u8; 64]) {
        Ok(n) if n > 0 => {}
        Ok(_) => {
            return Err(panicked(format!(
                "the client sent {}, but the server's connection ended before it arrived",
                show(upload)
            )));
        }
        Err(e) if is_timeout(&e) => {
            return Err(panicked(format!(
                "the client sent {}, but after {WAIT:?} nothing had arrived at the server",
                show(upload)
            )));
        }
        Err(e) => {
            return Err(panicked(format!(
                "the client sent {}, but the server's connection failed before it arrived: {e}",
                show(upload)
            )));
        }
    }
    drop(server);
    // The client stays connected and says nothing more: it waits for the
    // rest of the exchange, or for the end.
    let mut byte = [0u8; 64];
    match (&client).read(&mut byte) {
        Ok(0) => {}
        Err(e) if !is_timeout(&e) => {} // a reset is an end too
        Ok(n) => {
            return Err(panicked(format!(
                "the server's connection was reset, and then the client received {}, which \
                 nobody sent",
                show(&byte[..n])
            )));
        }
        Err(_) => {
            let still_open = format!(
                "the server's connection was reset (it closed with the client's bytes unread), \
                 and {WAIT:?} later the client's connection was still open"
            );
            // The client gives up and closes: that ends the other direction
            // too, so a direction that panicked shows in `forward`'s outcome.
            drop(client);
            return Err(match task.wait(WAIT) {
                Err(Waited::Panicked(why)) => format!(
                    "{still_open}: nothing had shut it down, because a thread of `forward` \
                     panicked instead of handling the error (it showed when the client gave \
                     up and closed):\n{why}\nA failed read or write is an error to handle, not \
                     a panic: `shutdown(Shutdown::Both)` both sockets, so that the other peer \
                     sees the end and the other direction ends too; then return the error."
                ),
                _ => format!(
                    "{still_open}: the client will wait forever for a server that is gone. An \
                     error on one side must close both: when a read or a write fails, \
                     `shutdown(Shutdown::Both)` both sockets, so that the other peer sees the \
                     end and the other direction ends too; then return the error."
                ),
            });
        }
    }
    // The client, seeing the end, closes its connection, as clients do.
    drop(client);
    match task.wait(WAIT) {
        Ok(Err(_)) => Ok(()),
        Ok(Ok(())) => Err(
            "the server's connection was reset, the proxy closed the client's (so the \
             direction that reads from the server saw the error and handled it), and then \
             `forward` returned Ok(()): that direction's error was lost. Did `forward` return \
             without waiting for that direction's thread, or drop what it returned? Wait for \
             both directions, and return the error of either (the program logs it), so that \
             whoever runs the proxy learns what ended the connection."
                .to_string(),
        ),
        Err(Waited::Panicked(why)) => Err(why),
        Err(Waited::Running) => Err(format!(
            "the server's connection was reset, the proxy closed the client's, and the client \
             then closed too; {WAIT:?} later `forward` had not returned. Both directions are \
             over: return the error."
        )),
    }
}

/// Multi-byte UTF-8 characters cut between two writes, and bytes that are
/// no UTF-8 at all: a proxy copies bytes, whatever they are.
const NOT_TEXT: [&[u8]; 3] = [
    // "café ☕ " with the é cut after its first byte...
    b"caf\xC3",
    // ...and the ☕ (E2 98 95) after its second; then bytes that are not
    // UTF-8 at all (FF, FE, a lone continuation byte 80).
    b"\xA9 \xE2\x98",
    b"\x95 \xFF\xFE\x80 raw\n",
];

pub fn bytes_that_are_not_whole_characters_pass_unchanged(subject: Forward) -> Result<(), String> {
    let session = start(subject)?;
    let sent: Vec<u8> = NOT_TEXT.concat();
    let shown = format!("{sent:02X?}");
    let exchange = |from: Side| -> Result<(), String> {
        // Three writes, a moment apart: three reads for the proxy.
        for (i, piece) in NOT_TEXT.iter().enumerate() {
            if i > 0 {
                thread::sleep(PIECES);
            }
            session.send(from, piece)?;
        }
        let to = from.other();
        let got = receive(session.peer(to), sent.len());
        if got.bytes == sent {
            return Ok(());
        }
        let replaced = got.bytes.windows(3).any(|w| w == "\u{FFFD}".as_bytes());
        Err(if replaced {
            format!(
                "the {} sent the bytes {shown} in three writes, {PIECES:?} apart (\"café ☕\" \
                 with the é and the ☕ cut between two writes, then FF FE 80, which are no UTF-8 \
                 at all), and the {} received {:02X?}: EF BF BD is U+FFFD, the replacement \
                 character, which nobody sent. Your code turns what each read returns into text \
                 (`String::from_utf8_lossy`): a read may end in the middle of a character, and \
                 a stream may carry bytes that are not text. A proxy forwards the bytes as they \
                 came.",
                from.name(),
                to.name(),
                got.bytes
            )
        } else {
            format!(
                "the {} sent the bytes {shown} in three writes, {PIECES:?} apart (\"café ☕\" \
                 with the é and the ☕ cut between two writes, then FF FE 80, which are no UTF-8 \
                 at all), and the {} received {:02X?}, then {}: a proxy forwards the bytes as \
                 they came, whatever they are.",
                from.name(),
                to.name(),
                got.bytes,
                match got.end {
                    End::Closed => "the end of the stream".to_string(),
                    End::Silent => format!("nothing more for {WAIT:?}"),
                    End::Broke(e) => format!("a failed connection ({e})"),
                    End::Enough => "more".to_string(),
                }
            )
        })
    };
    let outcome = exchange(Side::Client).and_then(|()| exchange(Side::Server));
    let Err(saw) = outcome else {
        return Ok(());
    };
    // A proxy that failed on these bytes closes both sides and returns:
    // its error says why. (Only on the way to a failure: no cost to others.)
    Err(match session.task.wait(WAIT) {
        Err(Waited::Running) => saw,
        Err(Waited::Panicked(why)) => why,
        Ok(Err(e)) if e.kind() == io::ErrorKind::InvalidData => format!(
            "the client sent the bytes {shown} in three writes (\"café ☕\" with the é and the \
             ☕ cut between two writes, then FF FE 80, which are no UTF-8 at all), and \
             `forward` returned Err({e}), of kind InvalidData: your code decodes the bytes as \
             text (`String::from_utf8`, or a reader of strings), and a read that ends in the \
             middle of a character, or bytes that are not text, make that fail. A proxy \
             forwards the bytes as they came, whatever they are.\n(What the check saw: {saw})"
        ),
        Ok(returned) => format!(
            "{saw}\n(`forward` had already returned {}.)",
            result_text(&returned)
        ),
    })
}

pub fn a_connection_that_carries_no_byte_ends_with_ok(subject: Forward) -> Result<(), String> {
    let session = start(subject)?;
    let steps = || -> Result<(), String> {
        session.half_close(Side::Client)?;
        expect_end(
            &session,
            Side::Client,
            b"",
            "half-closed its connection at once, without sending a byte",
        )?;
        session.half_close(Side::Server)?;
        expect_end(
            &session,
            Side::Server,
            b"",
            "half-closed its connection too, without sending a byte",
        )
    };
    steps().map_err(|saw| session.fail(saw))?;
    session.returns_ok(
        "the client and then the server half-closed their connections without sending a byte \
         (a connection that carries nothing, as a health check's does)",
    )
}
