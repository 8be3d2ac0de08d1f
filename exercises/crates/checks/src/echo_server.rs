//! Checks of exercise 02b, `serve_all`: real clients on 127.0.0.1 talk to
//! the student's server, which serves a listener the check bound on port 0.
//! When an echo does not come back, the check tries what would make it come
//! (a `\n`, more bytes, the end of the stream, the other client leaving)
//! and says which one did.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

use super::harness::{
    EXTRA, Ended, QUIET, Server, WAIT, collect, nothing_arrives, on_a_wire, plural, show, show_str,
    spawn,
};

/// The function under test.
pub type ServeAll = fn(TcpListener) -> io::Result<()>;

pub fn checks(subject: ServeAll) -> Vec<super::Check> {
    checks!(subject =>
        echoes_what_one_client_sends,
        a_second_client_is_served_while_the_first_stays_connected,
        sixteen_clients_connected_at_once_are_all_served,
        a_1_mib_payload_comes_back_whole,
        a_client_that_vanishes_does_not_stop_the_server,
        two_clients_each_get_only_their_own_bytes,
        closes_the_connection_when_the_client_has_finished,
        a_character_cut_between_two_reads_comes_back_unchanged,
        works_when_every_byte_arrives_on_its_own,
        works_when_separate_messages_arrive_merged,
        a_failed_accept_does_not_end_the_server,
    )
}

/// How long a check waits before it concludes from an absence (no echo
/// for a client while another stays connected, though the server has
/// echoed before; a connection still open after the client finished):
/// long enough to be certain on a busy machine, where an echo on 127.0.0.1
/// has been seen to take more than [`WAIT`]. A right answer never waits it
/// out: the echo, or the close, is an event that ends the wait at once.
/// (Every check must still end within `checks::CHECK_DEADLINE`.)
const CERTAIN: Duration = Duration::from_secs(5);

/// How long, once another client has left, the check waits for the echo
/// that client was holding up: an event, given time for a busy machine.
const AFTER_LEAVING: Duration = Duration::from_secs(4);

fn start(subject: ServeAll) -> Result<Server, String> {
    Server::start("serve_all", subject)
}

/// Sends `bytes` and expects exactly them back; on anything else, finds
/// out what it can and explains. `first` says whether this client has had
/// an echo before on this connection.
fn round_trip(
    server: &Server,
    client: &TcpStream,
    bytes: &[u8],
    who: &str,
    first: bool,
) -> Result<(), String> {
    round_trip_among(server, client, bytes, who, first, Vec::new(), false).map(drop)
}

/// [`round_trip`] for a client while `others` stay connected: if it gets
/// nothing, one of them leaves, to see whether that makes a difference.
/// `served` says that the server has echoed to some client before: then a
/// missing echo is waited for until it is certain ([`CERTAIN`]) before the
/// others are blamed. Gives the others back.
fn round_trip_among(
    server: &Server,
    client: &TcpStream,
    bytes: &[u8],
    who: &str,
    first: bool,
    others: Vec<TcpStream>,
    served: bool,
) -> Result<Vec<TcpStream>, String> {
    (&*client)
        .write_all(bytes)
        .map_err(|e| server.fail(format!("{who} could not send: {e}")))?;
    let mut back = Vec::new();
    let mut ended = collect(client, &mut back, WAIT, |b| b.len() >= bytes.len());
    if ended == Ended::TimedOut && back.is_empty() && !others.is_empty() && served {
        // Before blaming the other clients, wait until a missing echo is
        // certain: on a busy machine a served client's echo can be late.
        ended = collect(client, &mut back, CERTAIN - WAIT, |b| {
            b.len() >= bytes.len()
        });
    }
    if ended == Ended::Enough {
        // Anything more, at once? (It does not wait long: see EXTRA.)
        ended = collect(client, &mut back, EXTRA, |b| b.len() > bytes.len());
        if ended == Ended::TimedOut {
            ended = Ended::Enough;
        }
    }
    if back == bytes {
        return Ok(others);
    }
    let sent = show(bytes);
    let sent_plain = String::from_utf8_lossy(bytes);
    if let Some(extra) = back.strip_prefix(bytes) {
        if extra.iter().all(|&b| b == 0) {
            return Err(format!(
                "{who} sent {sent} and got it back followed by {} NUL bytes (\\0): your server \
                 writes the whole buffer, not just the bytes read() put in it.\nEcho \
                 &buf[..n], where n is what read() returned.",
                extra.len()
            ));
        }
        if extra == bytes {
            return Err(format!(
                "{who} sent {sent} and got it back twice: your server writes each piece it \
                 reads two times."
            ));
        }
        return Err(server.fail(format!(
            "{who} sent {sent} and got it back, then {} more that nobody sent.",
            show(extra)
        )));
    }
    if let Some(without) = bytes.strip_suffix(b"\n")
        && back == without
    {
        return Err(format!(
            "{who} sent {sent} and got it back without its \\n: your server removes the line \
             end (lines() and read_line + trim do).\nAn echo server sends back every byte, as \
             it came."
        ));
    }
    if back.windows(3).any(|w| w == "\u{fffd}".as_bytes()) && !sent_plain.contains('\u{fffd}') {
        return Err(format!(
            "{who} sent bytes that are not UTF-8 and got them back changed: some were replaced \
             by \u{fffd} (the bytes EF BF BD). Your server decodes what it reads as text \
             (from_utf8_lossy) before echoing it.\nAn echo server sends back the bytes as they \
             came: write &buf[..n] itself."
        ));
    }
    if back.is_empty() {
        return match ended {
            Ended::Closed if first => Err(server.fail(format!(
                "{who} sent {sent}, and your server closed the connection without sending \
                 anything back."
            ))),
            Ended::Closed => Err(server.fail(format!(
                "{who} sent {sent}, and your server closed the connection instead of echoing \
                 it, after it had echoed the first piece: it stops after one read.\nKeep \
                 reading and echoing, in a loop, until read() returns 0."
            ))),
            Ended::Failed(e) => {
                Err(server.fail(format!("{who} sent {sent}, and the connection failed: {e}")))
            }
            _ if !others.is_empty() => Err(others_left(server, client, bytes, who, others)),
            _ => Err(why_no_echo(server, client, bytes, who)),
        };
    }
    Err(server.fail(format!(
        "{who} sent {sent} and got {} back{}.",
        show(&back),
        match ended {
            Ended::Closed => ", then the connection closed",
            Ended::TimedOut => ", then nothing more",
            _ => "",
        }
    )))
}

/// Nothing came back: tries what could make the echo come, and says which.
fn why_no_echo(server: &Server, client: &TcpStream, bytes: &[u8], who: &str) -> String {
    let sent = show(bytes);
    // First the one thing that explains everything: a connection that is
    // still waiting in the queue was never accepted.
    if server.accepted(client) == Some(false) {
        return server.fail(format!(
            "no connection was accepted within {WAIT:?}: is `accept` called? ({who} connected \
             and sent {sent}; its connection still waits in the listener's queue.)\nA \
             connection waits there until accept() (or listener.incoming()) takes it: call it \
             in a loop, once for every client, and serve each on a thread of its own."
        ));
    }
    let plain = || {
        server.fail(format!(
            "{who} sent {sent} and got nothing back within {WAIT:?}, nor after more bytes, nor \
             after it closed its sending side."
        ))
    };
    if on_a_wire() {
        // A replay's own message is shown only when the check passes on a
        // direct connection, which then gives the diagnosis: the slow
        // trials below, a byte a millisecond, would only cost time here.
        return server.fail(format!(
            "{who} sent {sent} and got nothing back within {WAIT:?} (or longer, on a wire)."
        ));
    }
    let mut back = Vec::new();
    if !bytes.ends_with(b"\n") {
        let _ = (&*client).write_all(b"\n");
        // Bytes that come are an event: wait for them as long as for any.
        if collect(client, &mut back, WAIT, |b| b.len() >= bytes.len()) == Ended::Enough {
            return format!(
                "{who} sent {sent} and got it back only once a \\n followed: your server reads \
                 lines, and echoes a line when it is complete.\nAn echo server sends back \
                 whatever read() returns, at once: bytes, not lines."
            );
        }
    }
    // More bytes, 1 KiB at a time, up to 16 KiB: does the echo come once
    // some buffer is full?
    let mut more = 0;
    for _ in 0..16 {
        if (&*client).write_all(&[b'x'; 1024]).is_err() {
            break;
        }
        more += 1024;
        if collect(client, &mut back, QUIET, |b| !b.is_empty()) == Ended::Enough {
            let _ = collect(client, &mut back, EXTRA, |_| false);
            return format!(
                "{who} sent {sent}, and your server sent nothing back until {} bytes had \
                 arrived; then it sent back {} at once.\nIt waits to fill a buffer before \
                 echoing (read_exact waits for a full buffer; a BufWriter writes only when it \
                 is full or flushed). Echo what each read() returns, at once.",
                bytes.len() + more,
                back.len()
            );
        }
    }
    let _ = client.shutdown(Shutdown::Write);
    if collect(client, &mut back, WAIT, |b| !b.is_empty()) == Ended::Enough {
        return format!(
            "{who} sent {sent}, and your server sent nothing back until the client closed its \
             sending side: it reads until the end of the stream (read_to_end) before it \
             echoes.\nEcho each piece as soon as read() returns it."
        );
    }
    plain()
}

pub fn echoes_what_one_client_sends(subject: ServeAll) -> Result<(), String> {
    let server = start(subject)?;
    let client = server.connect()?;
    round_trip(&server, &client, b"hello, echo\n", "the client", true)?;
    round_trip(&server, &client, b"no newline here", "the client", false)?;
    round_trip(
        &server,
        &client,
        b"\n  spaced out \t\r\n",
        "the client",
        false,
    )
}

/// A message cut inside characters (é, €) and with bytes that are not
/// UTF-8; each piece is sent once the one before it has come back, so each
/// is a read of its own.
const CUT: &[&[u8]] = &[b"caf\xc3", b"\xa9 \xe2\x82", b"\xac \xff", b"\xfe ok\n"];

pub fn a_character_cut_between_two_reads_comes_back_unchanged(
    subject: ServeAll,
) -> Result<(), String> {
    let server = start(subject)?;
    let client = server.connect()?;
    // Plain ASCII first: a server that does not echo at all is told so by
    // the usual diagnosis, not by this check's.
    round_trip(&server, &client, b"ready?\n", "the client", true)?;
    let mut sent = Vec::new();
    let mut back = Vec::new();
    let mut pieces = 0;
    for piece in CUT {
        pieces += 1;
        if let Err(e) = (&client).write_all(piece) {
            return Err(server.fail(format!("the client could not send: {e}")));
        }
        sent.extend_from_slice(piece);
        let ended = collect(&client, &mut back, WAIT, |b| b.len() >= sent.len());
        if back.len() < sent.len() - piece.len() + 1 && ended == Ended::TimedOut {
            return Err(server.fail(format!(
                "the client sent {} (the last piece, {}, ends inside a character or is not \
                 UTF-8), and {WAIT:?} later it had got back {}, though \"ready?\\n\" had come back: your server holds back or drops a read that has no \\n or \
                 is not valid UTF-8 text (it reads lines, or decodes what it reads).\nAn echo \
                 server sends back the bytes each read returned, as they are, at once: never \
                 decode them.",
                show(&sent),
                show(piece),
                show(&back)
            )));
        }
        if ended != Ended::Enough || back != sent {
            break;
        }
    }
    let all: Vec<u8> = CUT.concat();
    if back == all {
        return Ok(());
    }
    let marks = |b: &[u8]| b.windows(3).filter(|w| *w == "\u{fffd}".as_bytes()).count();
    let why = if marks(&back) > marks(&sent) {
        ": your server decodes each read as text (String::from_utf8_lossy, say), and a read \
         that ends inside a character, or bytes that are not UTF-8, became U+FFFD \
         (\u{fffd}).\nAn echo server sends back the bytes as they came: never decode them."
    } else {
        ".\nAn echo server sends back exactly the bytes each read returned, however they are \
         cut."
    };
    Err(server.fail(format!(
        "the client sent {} in {}, each once the one before had come back (cut inside \
         characters, with bytes that are not UTF-8), and got back {}{why}",
        show(&sent),
        plural(pieces, "piece", "pieces"),
        show(&back)
    )))
}

/// A client got nothing while `others` stayed connected: closes one of
/// them, and says whether that made the echo come.
fn others_left(
    server: &Server,
    waiting: &TcpStream,
    sent: &[u8],
    who: &str,
    others: Vec<TcpStream>,
) -> String {
    let connected = others.len();
    let mut back = Vec::new();
    if let Some(first) = others.into_iter().next() {
        let _ = first.shutdown(Shutdown::Both);
        drop(first);
        // The echo is an event: on a busy machine, the server's next
        // accept and read can take a while.
        if collect(waiting, &mut back, AFTER_LEAVING, |b| b.len() >= sent.len()) == Ended::Enough {
            let one = if connected == 1 {
                "your server serves one client after the other".to_string()
            } else {
                format!("your server serves at most {connected} clients at the same time")
            };
            let left = if connected == 1 {
                "the other client".to_string()
            } else {
                format!("one of the {connected} other clients")
            };
            return format!(
                "{one}: {who} got its echo only when {left} left.\nServe each client on a thread of its own, and share nothing that one \
                 client's thread holds while it waits in read() (a Mutex guard, say)."
            );
        }
    }
    why_no_echo(server, waiting, sent, who)
}

pub fn a_second_client_is_served_while_the_first_stays_connected(
    subject: ServeAll,
) -> Result<(), String> {
    let server = start(subject)?;
    let first = server.connect()?;
    round_trip(&server, &first, b"first\n", "the first client", true)?;
    // The first client stays connected and says nothing more.
    let second = server.connect()?;
    round_trip_among(
        &server,
        &second,
        b"second\n",
        "the second client",
        true,
        vec![first],
        true,
    )?;
    Ok(())
}

pub fn sixteen_clients_connected_at_once_are_all_served(subject: ServeAll) -> Result<(), String> {
    let server = start(subject)?;
    let mut connected = Vec::new();
    for i in 1..=16 {
        let client = server.connect()?;
        let bytes = format!("client {i}\n");
        connected = round_trip_among(
            &server,
            &client,
            bytes.as_bytes(),
            &format!("client {i}"),
            true,
            connected,
            i > 1,
        )?;
        connected.push(client);
    }
    Ok(())
}

/// 1 MiB of bytes that are not UTF-8 text and do not repeat every 256.
fn payload() -> Vec<u8> {
    (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(7) ^ (i >> 9)) as u8)
        .collect()
}

/// True if `small` is `big` with some bytes left out (in order), and
/// where the first gap starts.
fn gaps(big: &[u8], small: &[u8]) -> Option<usize> {
    let mut first_gap = None;
    let mut i = 0;
    for (j, &b) in big.iter().enumerate() {
        if i < small.len() && small[i] == b {
            i += 1;
        } else if first_gap.is_none() {
            first_gap = Some(j);
        }
    }
    if i == small.len() { first_gap } else { None }
}

/// True if `big` is `small` with runs of NUL bytes put in.
fn padded_with_nuls(small: &[u8], big: &[u8]) -> bool {
    let mut i = 0;
    for &b in big {
        if i < small.len() && small[i] == b {
            i += 1;
        } else if b != 0 {
            return false;
        }
    }
    i == small.len()
}

pub fn a_1_mib_payload_comes_back_whole(subject: ServeAll) -> Result<(), String> {
    let server = start(subject)?;
    let client = server.connect()?;
    round_trip(&server, &client, b"ready for 1 MiB?\n", "the client", true)?;
    let sent = payload();
    let mut writer = client
        .try_clone()
        .map_err(|e| format!("the check could not clone its socket: {e}"))?;
    // Send on one thread while reading on this one: the echo comes back
    // while we are still sending, and nobody reads it if we only send.
    let sender = spawn("the check's sender", {
        let sent = sent.clone();
        move || {
            writer
                .write_all(&sent)
                .and_then(|()| writer.shutdown(Shutdown::Write))
        }
    });
    let mut back = Vec::with_capacity(sent.len());
    let mut buf = vec![0u8; 64 * 1024];
    let mut reader = &client;
    let read_error = loop {
        if back.len() > 2 * sent.len() {
            break None;
        }
        match reader.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => back.extend_from_slice(&buf[..n]),
            Err(e) => break Some(e),
        }
    };
    let _ = sender.wait(WAIT);
    if back == sent {
        return Ok(());
    }
    let then = match &read_error {
        Some(e) if super::harness::is_timeout(e) => format!("then nothing for {WAIT:?}"),
        Some(e) => format!("then {e}"),
        None => "then the connection closed".to_string(),
    };
    let (sent_len, back_len) = (sent.len(), back.len());
    if back_len > sent_len && padded_with_nuls(&sent, &back) {
        return Err(format!(
            "the client sent 1 MiB ({sent_len} bytes) and got {back_len} back: the bytes it \
             sent, with runs of NUL bytes (\\0) between them. Your server writes the whole \
             buffer, not just the bytes read() put in it.\nEcho &buf[..n], where n is what \
             read() returned."
        ));
    }
    if back_len < sent_len {
        if let Some(gap) = gaps(&sent, &back)
            && back.len() > gap
        {
            return Err(server.fail(format!(
                "the client sent 1 MiB ({sent_len} bytes) and got {back_len} back, {then}: \
                 bytes are missing in the middle (the first gap is at byte {gap}), the rest in \
                 order. That is what ignoring the count write() returns does: write() may send \
                 only part of a buffer.\nUse write_all() (or io::copy), which sends it all."
            )));
        }
        if sent.starts_with(&back) {
            return Err(server.fail(format!(
                "the client sent 1 MiB ({sent_len} bytes) and got the first {back_len} back, \
                 {then}."
            )));
        }
    }
    if back.windows(3).any(|w| w == "\u{fffd}".as_bytes()) {
        return Err(format!(
            "the client sent 1 MiB of bytes that are not UTF-8 and got {back_len} bytes back, \
             changed: some were replaced by \u{fffd} (the bytes EF BF BD). Your server decodes \
             what it reads as text (from_utf8_lossy) before echoing it.\nAn echo server sends \
             back the bytes as they came: write &buf[..n] itself."
        ));
    }
    if back_len > sent_len {
        return Err(server.fail(format!(
            "the client sent 1 MiB ({sent_len} bytes) and got {back_len} bytes back, more than \
             it sent: your server writes bytes it did not read.\nEcho &buf[..n], where n is \
             what read() returned."
        )));
    }
    let at = sent
        .iter()
        .zip(&back)
        .position(|(a, b)| a != b)
        .unwrap_or(sent_len.min(back_len));
    Err(server.fail(format!(
        "the client sent 1 MiB ({sent_len} bytes) and got {back_len} bytes back, {then}; they \
         differ from byte {at} on."
    )))
}

pub fn a_client_that_vanishes_does_not_stop_the_server(subject: ServeAll) -> Result<(), String> {
    let server = start(subject)?;
    {
        // This client sends a lot and reads only a little: when it goes,
        // unread echo is left in its socket, so the system resets the
        // connection instead of closing it politely. The server then gets
        // "connection reset" (or "broken pipe") on its next read or write.
        let vanishing = server.connect()?;
        round_trip(
            &server,
            &vanishing,
            b"about to vanish\n",
            "the first client",
            true,
        )?;
        let lines: Vec<u8> = (0..4096)
            .flat_map(|_| *b"a line of 63 bytes, echoed back and never read ................\n")
            .collect();
        // Whatever the server does with it, this client leaves.
        let _ = (&vanishing).write_all(&lines);
        let _ = collect(&vanishing, &mut Vec::new(), WAIT, |b| !b.is_empty());
    }
    // Give the server a moment to trip over the reset ("nothing happens"
    // cannot be signalled), then check that it is still there.
    server.still_running("a client vanished without closing its connection")?;
    let next = server.connect()?;
    round_trip(
        &server,
        &next,
        b"still there?\n",
        "a client that came next",
        true,
    )?;
    server.still_running("a client vanished and another came")
}

pub fn two_clients_each_get_only_their_own_bytes(subject: ServeAll) -> Result<(), String> {
    let server = start(subject)?;
    let a = server.connect()?;
    // Client A alone first: a server that echoes nobody is told why by the
    // usual diagnosis, and a missing echo later is one the server owes.
    round_trip(&server, &a, b"A alone\n", "client A", true)?;
    let b = server.connect()?;
    let mixed = |who: &str, other: &str, got: String| {
        format!(
            "client {other} sent something and client {who} {got}: each client's bytes must \
             go back to that client only.\nEach client's thread writes to its own stream, not \
             to a shared one or to every client."
        )
    };
    // Only bytes that arrive are a mix-up; a connection that closes is
    // judged by the round trip that follows.
    let only_received = |r: Result<(), String>| match r {
        Err(got) if got.starts_with("received") => Err(got),
        _ => Ok(()),
    };
    let b_too = b
        .try_clone()
        .map_err(|e| format!("the check could not clone its socket: {e}"))?;
    // The other's bytes, if they come, come before this client's own echo
    // (they were written before it sent anything): a round trip that got
    // them is a mix-up too, however late they came, as the words of its
    // message (the bytes shown) say.
    let or_mixed =
        |who: &str, other: &str, others_bytes: &str, r: Result<Vec<TcpStream>, String>| {
            r.map_err(|e| {
                if e.contains(others_bytes) {
                    mixed(who, other, format!("received {}", show_str(others_bytes)))
                } else {
                    e
                }
            })
        };
    round_trip_among(
        &server,
        &a,
        b"from A\n",
        "client A",
        false,
        vec![b_too],
        true,
    )?;
    only_received(nothing_arrives(&b, QUIET)).map_err(|got| mixed("B", "A", got))?;
    let a_again = a
        .try_clone()
        .map_err(|e| format!("the check could not clone its socket: {e}"))?;
    let b_round = round_trip_among(
        &server,
        &b,
        b"from B\n",
        "client B",
        true,
        vec![a_again],
        true,
    );
    or_mixed("B", "A", "from A", b_round)?;
    only_received(nothing_arrives(&a, QUIET)).map_err(|got| mixed("A", "B", got))?;
    let b_again = b
        .try_clone()
        .map_err(|e| format!("the check could not clone its socket: {e}"))?;
    let a_round = round_trip_among(
        &server,
        &a,
        b"A again\n",
        "client A",
        false,
        vec![b_again],
        true,
    );
    or_mixed("A", "B", "from B", a_round).map(drop)
}

pub fn closes_the_connection_when_the_client_has_finished(subject: ServeAll) -> Result<(), String> {
    let server = start(subject)?;
    let client = server.connect()?;
    round_trip(&server, &client, b"last words\n", "the client", true)?;
    client
        .shutdown(Shutdown::Write)
        .map_err(|e| format!("the check could not close its side: {e}"))?;
    let mut more = Vec::new();
    // The close is an event that ends the wait; its absence is judged only
    // after a window long enough to be certain, the server still running.
    match collect(&client, &mut more, CERTAIN, |b| !b.is_empty()) {
        Ended::Closed if more.is_empty() => Ok(()),
        // A reset is a close too, if a rude one.
        Ended::Failed(_) if more.is_empty() => Ok(()),
        Ended::TimedOut if more.is_empty() => Err(server.fail(format!(
            "the client shut down its sending side (it has nothing more to say), and \
             {CERTAIN:?} later your server still held the connection open.\nWhen read() returns 0, the \
             client is done: end that client's loop and drop its stream, and every \
             try_clone()d handle of it too (the connection closes with the last one)."
        ))),
        _ => Err(server.fail(format!(
            "after the client shut down its sending side, your server sent {} more.",
            show(&more)
        ))),
    }
}

// The checks above that are about the bytes that come back, replayed over lesson 09's
// proxy: `works_when_every_byte_arrives_on_its_own` and
// `works_when_separate_messages_arrive_merged`.
over_the_wire!(bytes ServeAll =>
    echoes_what_one_client_sends,
    two_clients_each_get_only_their_own_bytes,
    closes_the_connection_when_the_client_has_finished,
);

/// How long, with every descriptor in use and a client waiting, the check
/// waits for a sign that `accept` has failed (the server's end, or a line
/// it printed about it) before it frees the descriptors. A server that
/// says nothing and goes on is right, and only costs this wait; a server
/// that ends does so at its first failed accept, within microseconds of
/// the client's arrival.
const SHORT_OF_DESCRIPTORS: Duration = Duration::from_secs(2);

/// The words of "too many open files" (EMFILE) as Rust prints them on
/// Linux and macOS, and as the course's `lessons::cli::clients` logs it.
const EMFILE_WORDS: [&str; 2] = ["too many open files", "os error 24"];

/// The check's name, for its longer deadline (`checks::deadline_of`).
pub const OUT_OF_DESCRIPTORS: &str = "a_failed_accept_does_not_end_the_server";

/// `accept` fails with "too many open files" when the server's process has
/// no descriptor left. The check makes that happen, in a process of its
/// own (`checks::child`): with every descriptor in use and a client
/// waiting, then with descriptors free again. The server must neither end
/// nor stop accepting.
pub fn a_failed_accept_does_not_end_the_server(subject: ServeAll) -> Result<(), String> {
    use super::child::{Said, Server as Child, Waited, role, serve};
    if let Some(role) = role() {
        // This is the child: be the server.
        serve(&role, subject as usize, |listener| {
            match subject(listener) {
                Ok(()) => "Ok(())".to_string(),
                Err(e) => format!("Err(\"{e}\")"),
            }
        });
        return Ok(());
    }
    if !cfg!(unix) {
        // Windows has no per-process limit on sockets to run short of.
        eprintln!("skipped {OUT_OF_DESCRIPTORS}: it needs `ulimit -n`, which Windows lacks");
        return Ok(());
    }
    // Starting a program is slow on a busy machine: its start is an event,
    // waited for up to this long before the check gives up (and skips).
    const CHILD_START: Duration = Duration::from_secs(15);
    let mut server = match Child::start(OUT_OF_DESCRIPTORS, subject as usize, CHILD_START) {
        Ok(server) => server,
        Err(why) => {
            eprintln!("skipped {OUT_OF_DESCRIPTORS}: cannot run your server on its own: {why}");
            return Ok(());
        }
    };
    let ended = |how: Option<String>, when: &str| {
        // The stub, still at its todo!(): the message every check gives it.
        if let Some(text) = how.as_deref().and_then(|h| h.strip_prefix("panicked: "))
            && text.starts_with("not yet implemented: ")
        {
            return super::harness::explain_panic("serve_all", text, None);
        }
        let how = match how.as_deref() {
            Some(how) if how.starts_with("panicked") => format!("your serve_all {how}"),
            Some(how) => format!("your serve_all returned {how}"),
            None => "your server's process ended".to_string(),
        };
        format!(
            "{how} {when}: `accept` failed with \"too many open files\" (the check ran your \
             server in a process of its own, with every file descriptor in use and a client \
             waiting to be accepted), and the server ended there, so every client after it \
             is refused.\nA failed accept must not end the server: it is about one client \
             that gave up (skip it) or about the server running short for a moment (pause, \
             then try again). `?`, `unwrap()` or `expect()` on the result of `accept()`, or \
             on each item of `listener.incoming()`, ends the loop at the first failure: \
             match the error instead, or take the clients from \
             `lessons::cli::clients(&listener)`, which does both."
        )
    };
    // Once descriptors ran short, anything that goes wrong may be the
    // server's end: if it is, that is what the student is told.
    let or_ended = |server: &mut Child, what: String| match server.wait_for(WAIT, |_| false) {
        Err(Waited::Ended(how)) => ended(how, "when it ran out of file descriptors"),
        _ => what,
    };
    let connect = |server: &mut Child| {
        TcpStream::connect_timeout(&server.addr, CERTAIN).map_err(|e| format!("connect: {e}"))
    };
    let echo_of = |client: &TcpStream, bytes: &[u8]| {
        let _ = (&*client).write_all(bytes);
        let mut back = Vec::new();
        let how = collect(client, &mut back, CERTAIN, |b| b.len() >= bytes.len());
        (back, how)
    };
    // Can the check see an echo at all? If not, it can still see the
    // server end, but not whether it accepts: the other checks say why.
    let first = connect(&mut server).map_err(|e| or_ended(&mut server, e))?;
    let echoes = echo_of(&first, b"hello\n").0 == b"hello\n";
    // The first client leaves, and the check waits for the server to close
    // its side: the descriptors that connection held are free before the
    // check uses up the rest, and a server that serves one client at a time
    // is back at `accept`.
    let _ = first.shutdown(Shutdown::Write);
    collect(&first, &mut Vec::new(), CERTAIN, |_| false);
    drop(first);
    // Every descriptor of the server's process in use: `accept` has nowhere
    // to put a connection, and fails with "too many open files".
    if let Err(e) = server.tell("exhaust") {
        return Err(or_ended(&mut server, e));
    }
    let exhausted = match server.wait_for(CERTAIN, |line| line.starts_with("exhausted ")) {
        Ok(line) => line,
        Err(Waited::Ended(how)) => return Err(ended(how, "before it ran out of descriptors")),
        Err(Waited::TimedOut) => return Err("the check could not use up the descriptors".into()),
    };
    if !EMFILE_WORDS
        .iter()
        .any(|w| exhausted.to_lowercase().contains(w))
    {
        eprintln!("skipped {OUT_OF_DESCRIPTORS}: no shortage of descriptors ({exhausted})");
        return Ok(());
    }
    // The system completes connections by itself; they wait in the
    // listener's queue for an `accept`, which now fails. Two of them: on
    // Linux an `accept` already blocked holds the descriptor it will
    // return, so the first may still be taken; the second cannot be.
    let mut waiting = Vec::new();
    for _ in 0..2 {
        waiting.push(connect(&mut server).map_err(|e| or_ended(&mut server, e))?);
    }
    let signs = server.wait_until(SHORT_OF_DESCRIPTORS, |said| match said {
        Said::Other(line) => {
            let line = line.to_lowercase();
            EMFILE_WORDS.iter().any(|w| line.contains(w))
        }
        _ => false,
    });
    if let Err(Waited::Ended(how)) = signs {
        return Err(ended(how, "when it ran out of file descriptors"));
    }
    if let Err(e) = server.tell("free") {
        return Err(or_ended(&mut server, e));
    }
    if let Err(e) = server.wait_for(CERTAIN, |line| line == "freed") {
        return Err(match e {
            Waited::Ended(how) => ended(how, "when it ran out of file descriptors"),
            Waited::TimedOut => "the check could not free the descriptors it used up".into(),
        });
    }
    if !echoes {
        return Ok(());
    }
    // Descriptors are free again. The clients that waited may have been
    // taken and let go (a handler that needs a descriptor of its own, for
    // a `try_clone`, may have failed, and closed its client): that is the
    // handler's business. They leave; what matters is that the server is
    // still there and accepts: a new client is served.
    // (lessons::cli::clients waits at most 1 s before it tries again.)
    drop(waiting);
    const LINE: &[u8] = b"still there?\n";
    let next = connect(&mut server).map_err(|e| or_ended(&mut server, e))?;
    let (back, _) = echo_of(&next, LINE);
    if back == LINE {
        // A server that is ending may still echo on its way out: it must
        // not have ended since.
        if let Err(Waited::Ended(how)) = server.wait_for(EXTRA, |_| false) {
            return Err(ended(how, "when it ran out of file descriptors"));
        }
        return Ok(());
    }
    Err(or_ended(
        &mut server,
        format!(
            "your server ran out of file descriptors (every one in use, and clients waiting \
             to be accepted); once descriptors were free again, a new client got {} back for \
             its {} within {CERTAIN:?}: the server no longer accepts.\nAfter a failed accept, try again: at once if the failure was \
             about the one client, after a short pause if it was about the server (out of \
             descriptors or memory); `lessons::cli::clients(&listener)` does both.",
            show(&back),
            show(LINE),
        ),
    ))
}
