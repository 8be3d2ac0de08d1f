//! Checks of exercise 08, `run_load`: each check runs a fake echo server
//! that misbehaves in one known way (drops a line, swaps two, tears one,
//! sends one twice, cuts the last one short, answers in pieces, goes
//! silent, stays connected, resets the connection) and compares the
//! student's report with what the server really did.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::harness::{WAIT, Waited, diff, is_timeout, spawn};
use crate::shared::load::Report;

/// The function under test.
pub type RunLoad = fn(TcpStream, &[String], Duration) -> io::Result<Report>;

pub fn checks(subject: RunLoad) -> Vec<super::Check> {
    checks!(subject =>
        an_honest_server_gets_a_clean_report,
        sends_each_line_once_and_then_shuts_down_writing,
        a_line_the_server_drops_is_reported_lost,
        two_lines_swapped_are_reported_reordered,
        a_line_cut_in_two_is_reported_torn_and_lost,
        a_reply_with_the_wrong_bytes_is_torn_even_when_the_count_is_right,
        a_reply_that_arrives_in_pieces_is_still_whole,
        thousands_of_lines_do_not_deadlock,
        a_silent_server_ends_the_run_within_the_timeout,
        stops_reading_once_every_line_is_back,
        a_line_that_comes_back_twice_is_torn_the_second_time,
        a_last_reply_cut_short_by_the_close_is_torn,
        a_reset_connection_is_returned_as_the_error,
        lines_that_overtake_several_others_are_each_reordered,
        a_server_that_stops_reading_makes_the_write_fail_within_the_timeout,
        no_lines_end_the_run_at_once,
    )
}

/// What the fake server does with the lines it reads.
#[derive(Clone, Copy, PartialEq)]
enum Server {
    /// Echoes every line at once, closes at the client's end of stream.
    Honest,
    /// Echoes every line but this one.
    Drops(usize),
    /// Holds this line back and sends it after the next one.
    Swaps(usize),
    /// Sends this line with a `\n` in its middle.
    Tears(usize),
    /// Replaces this line's bytes with others of the same length.
    Garbles(usize),
    /// Sends this line back twice.
    Repeats(usize),
    /// Sends only the first half of this line back, without its `\n`;
    /// closes at the client's end of stream, as the others do.
    CutsShort(usize),
    /// Sends each reply in two writes, a moment apart.
    InPieces,
    /// Reads everything, answers nothing, never closes.
    Silent,
    /// Echoes every line, and stays connected after the end of stream.
    StaysConnected,
    /// Reads every byte but the last, echoes the first line, and closes
    /// with that byte unread, which makes its system reset the connection
    /// (RST) instead of closing it.
    Resets,
    /// Echoes every line but the last one, which it sends only once it
    /// has read the end of stream (as a server that answers a whole
    /// request does).
    LastAfterTheEnd,
    /// Echoes the lines in the order [`OVERTAKEN`], each as soon as it
    /// has read it and every line before it in that order.
    Overtaken,
    /// Never reads a byte, and stays connected until the check is done.
    NeverReads,
}

/// The order in which [`Server::Overtaken`] echoes 12 lines: line 5
/// overtakes lines 2, 3 and 4; line 9 overtakes lines 7 and 8.
const OVERTAKEN: [usize; 12] = [0, 1, 5, 2, 3, 4, 6, 9, 7, 8, 10, 11];

impl Server {
    /// What the server did, in words, for a message.
    fn did(self) -> &'static str {
        match self {
            Server::Silent => "the server read every line, answered nothing and stayed connected",
            Server::NeverReads => "the server never read a byte",
            Server::Resets => "the server reset the connection",
            Server::StaysConnected => {
                "the server echoed every line and stayed connected after the end of the stream"
            }
            Server::Honest | Server::InPieces | Server::LastAfterTheEnd => {
                "the server echoed every line and then closed the connection"
            }
            _ => {
                "the server read every line, misbehaved in one way, and then closed the connection"
            }
        }
    }
}

/// What the fake server saw.
struct Heard {
    /// Everything the client sent, as received.
    bytes: Vec<u8>,
    /// Whether the client shut down its writing (the server read the end
    /// of stream) within a moment of its last byte.
    end_of_stream: bool,
}

/// Starts the fake server on 127.0.0.1, port 0; returns the client's
/// connection to it and what the server will report. A silent server, or
/// one that stays connected, holds the connection until `hold` is dropped.
fn serve(
    behaviour: Server,
    hold: mpsc::Receiver<()>,
) -> Result<(TcpStream, mpsc::Receiver<Heard>), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("the check could not bind 127.0.0.1:0: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let client = TcpStream::connect_timeout(&addr, WAIT)
        .map_err(|e| format!("the check could not connect to its server: {e}"))?;
    let (conn, _) = listener
        .accept()
        .map_err(|e| format!("the check could not accept: {e}"))?;
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("the check's echo server".into())
        .spawn(move || {
            let heard = run_server(conn, behaviour, &hold);
            let _ = tx.send(heard);
        })
        .map_err(|e| format!("the check could not start its server: {e}"))?;
    Ok((client, rx))
}

fn run_server(conn: TcpStream, behaviour: Server, hold: &mpsc::Receiver<()>) -> Heard {
    // Long enough for any client; a client that never sends its end of
    // stream leaves the server at this timeout.
    let _ = conn.set_read_timeout(Some(4 * WAIT));
    let _ = conn.set_write_timeout(Some(4 * WAIT));
    let _ = conn.set_nodelay(true);
    if behaviour == Server::Resets {
        return reset(conn);
    }
    if behaviour == Server::NeverReads {
        // Closed with the client's bytes unread when the check is done (it
        // drops `hold`): a client still blocked in a write then fails with
        // a reset. Never before the check has stopped waiting: longer than
        // any check may take.
        let _ = hold.recv_timeout(super::CHECK_DEADLINE);
        return Heard {
            bytes: Vec::new(),
            end_of_stream: false,
        };
    }
    let mut overtaken: Vec<Option<Vec<u8>>> = vec![None; OVERTAKEN.len()];
    let mut next = 0;
    let mut lines = BufReader::new(&conn);
    let mut out = &conn;
    let mut bytes = Vec::new();
    let mut line = Vec::new();
    let mut held: Option<Vec<u8>> = None;
    let mut index = 0;
    let mut end_of_stream = false;
    loop {
        line.clear();
        match lines.read_until(b'\n', &mut line) {
            Ok(0) => {
                end_of_stream = true;
                if let (Server::LastAfterTheEnd, Some(last)) = (behaviour, held.take()) {
                    let _ = out.write_all(&last);
                }
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
        bytes.extend_from_slice(&line);
        if behaviour == Server::Overtaken {
            if let Some(slot) = overtaken.get_mut(index) {
                *slot = Some(line.clone());
            }
            index += 1;
            let mut failed = false;
            while let Some(Some(reply)) = OVERTAKEN.get(next).map(|&i| overtaken[i].as_ref()) {
                failed |= out.write_all(reply).is_err();
                next += 1;
            }
            if failed {
                break;
            }
            continue;
        }
        if behaviour == Server::LastAfterTheEnd {
            // Each line's reply goes once the next one (or the end) is read.
            if let Some(previous) = held.replace(line.clone())
                && out.write_all(&previous).is_err()
            {
                break;
            }
            continue;
        }
        let reply: Vec<u8> = match behaviour {
            Server::Silent => Vec::new(),
            Server::Drops(i) if i == index => Vec::new(),
            Server::Swaps(i) if i == index => {
                held = Some(line.clone());
                Vec::new()
            }
            Server::Tears(i) if i == index => {
                let mut torn = line.clone();
                torn.insert(torn.len() / 2, b'\n');
                torn
            }
            Server::Repeats(i) if i == index => [line.as_slice(), line.as_slice()].concat(),
            Server::CutsShort(i) if i == index => line[..line.len() / 2].to_vec(),
            Server::Garbles(i) if i == index => {
                let mut wrong: Vec<u8> = line
                    .iter()
                    .map(|b| if *b == b'\n' { *b } else { b'#' })
                    .collect();
                wrong.truncate(line.len());
                wrong
            }
            _ => {
                let mut reply = line.clone();
                if let Some(held) = held.take() {
                    reply.extend_from_slice(&held);
                }
                reply
            }
        };
        index += 1;
        let sent = if behaviour == Server::InPieces && reply.len() > 1 {
            let (first, second) = reply.split_at(reply.len() / 2);
            out.write_all(first).and_then(|()| {
                thread::sleep(Duration::from_millis(3));
                out.write_all(second)
            })
        } else {
            out.write_all(&reply)
        };
        if sent.is_err() {
            break;
        }
    }
    if matches!(behaviour, Server::Silent | Server::StaysConnected) {
        // Stays connected until the check is done with the client.
        let _ = hold.recv_timeout(4 * WAIT);
    }
    let _ = conn.shutdown(Shutdown::Both);
    Heard {
        bytes,
        end_of_stream,
    }
}

/// [`Server::Resets`]: reads byte by byte (a `BufReader` would take
/// everything the system holds) up to the client's last byte.
fn reset(conn: TcpStream) -> Heard {
    let mut bytes = Vec::new();
    let mut byte = [0u8];
    // Every byte but the last: once the last one is here (peeked, so still
    // unread), the client has written everything.
    while bytes.len() + 1 < RESET_AFTER_BYTES {
        match (&conn).read(&mut byte) {
            Ok(1) => bytes.push(byte[0]),
            _ => break,
        }
    }
    let waiting = matches!(conn.peek(&mut byte), Ok(1));
    // The client shuts down its writing right after its last byte. That
    // end of stream cannot be seen without reading the byte (which would
    // make the close a clean one), and nothing signals it: give it a moment
    // to be sent, so that the reset reaches a client that is only reading.
    thread::sleep(Duration::from_millis(50));
    if waiting && let Some(end) = bytes.iter().position(|&b| b == b'\n') {
        let _ = (&conn).write_all(&bytes[..=end]);
    }
    // Dropped with a byte unread: the system answers with an RST.
    drop(conn);
    Heard {
        bytes,
        end_of_stream: false,
    }
}

/// What the client sends in [`a_reset_connection_is_returned_as_the_error`]:
/// ten lines of 30 bytes, each with its `\n`.
const RESET_AFTER_BYTES: usize = 10 * 31;

/// Lines `line 0 ...`, `line 1 ...`: distinct, of about `size` bytes.
fn numbered(count: usize, size: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let line = format!("line {i} ");
            let fill = ((b'a' + (i % 26) as u8) as char).to_string();
            let rest = size.saturating_sub(line.len());
            line + &fill.repeat(rest)
        })
        .collect()
}

/// Runs the subject against a fake server, waiting at most `within`.
fn run(
    subject: RunLoad,
    behaviour: Server,
    lines: &[String],
    timeout: Duration,
    within: Duration,
) -> Result<(Report, Duration, mpsc::Receiver<Heard>), String> {
    // Dropped when this returns: the server may hang up then.
    let (_hold, held) = mpsc::channel();
    let (client, heard) = serve(behaviour, held)?;
    let owned = lines.to_vec();
    let started = Instant::now();
    let task = spawn("run_load", move || subject(client, &owned, timeout));
    match task.wait(within) {
        Ok(Ok(report)) => Ok((report, started.elapsed(), heard)),
        Ok(Err(e)) if is_timeout(&e) => Err(format!(
            "run_load returned the error {e:?} (\"{e}\"), a timeout, though {}: a read that \
             waits `timeout` for nothing ends the run normally, and the lines still missing \
             are `lost` in the report. Only a write that makes no progress for `timeout`, or a \
             read or write that fails otherwise, is returned as the error.",
            behaviour.did()
        )),
        Ok(Err(e)) => Err(format!(
            "run_load returned the error {e:?} (\"{e}\"), though {} and no read or write \
             failed: a misbehaving server is to be reported, not an error",
            behaviour.did()
        )),
        Err(Waited::Panicked(why)) => Err(why),
        Err(Waited::Running) => Err(format!(
            "run_load did not return within {within:?} (its timeout was {timeout:?})"
        )),
    }
}

/// Compares the report with what was expected.
fn expect(what: &str, expected: &Report, actual: &Report, advice: &str) -> Result<(), String> {
    if expected == actual {
        return Ok(());
    }
    Err(format!(
        "{what}, so the report should be (<) but was (>):\n{}\n{advice}",
        diff(expected, actual)
    ))
}

fn clean(n: usize) -> Report {
    Report {
        in_order: n,
        ..Report::default()
    }
}

/// The timeout given to `run_load` where the server's events, not the
/// timeout, end the run: a right answer never waits it out, so it can be
/// long enough for a busy machine's scheduling, and a wrong answer that
/// waits it out is still quick to spot.
const TIMEOUT: Duration = Duration::from_secs(3);

/// How long the check waits for a run against a silent server: less than
/// the server holds the connection (4 x WAIT), so that a client with no
/// read timeout is seen waiting, not ended by the server's close.
const SILENT_HELD: Duration = Duration::from_secs(3 * WAIT.as_secs());

/// How long the check waits for a run that events end (the server's close,
/// every line back): an upper bound for code that hangs, with room for
/// a wrong answer that waits out [`TIMEOUT`] once on a busy machine.
const EVENTS: Duration = Duration::from_secs(4 * WAIT.as_secs());

pub fn an_honest_server_gets_a_clean_report(subject: RunLoad) -> Result<(), String> {
    let lines = numbered(200, 40);
    let (report, _, _) = run(subject, Server::Honest, &lines, TIMEOUT, EVENTS)?;
    expect(
        "an honest echo server sent every one of the 200 lines back, whole and in order",
        &clean(200),
        &report,
        "Compare each reply (without its \\n) with the line it should be, byte for byte.",
    )
}

pub fn sends_each_line_once_and_then_shuts_down_writing(subject: RunLoad) -> Result<(), String> {
    let lines = numbered(50, 30);
    let (report, _, heard) = run(subject, Server::LastAfterTheEnd, &lines, TIMEOUT, EVENTS)?;
    let heard = heard
        .recv_timeout(EVENTS)
        .map_err(|_| format!("the check's server did not finish within {EVENTS:?}"))?;
    let expected: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let got = String::from_utf8_lossy(&heard.bytes);
    if got != expected {
        return Err(format!(
            "the server should have received each line once, followed by \\n, in order \
             (< expected, > received):\n{}",
            diff(&expected, &got.to_string())
        ));
    }
    if report.lost == [49] {
        return Err(
            "the server echoes each line once it has read the next one, and the last one once \
             it has read the end of the stream; it never came, so neither did the last line. \
             After the last line, call `shutdown(Shutdown::Write)` on the connection, so the \
             server knows nothing more is coming (and keep reading the replies)"
                .to_string(),
        );
    }
    expect(
        "the server echoed every line (each once it had read the next, the last one at the end \
         of the stream)",
        &clean(50),
        &report,
        "",
    )?;
    if !heard.end_of_stream {
        return Err(
            "the server never saw the end of the stream: after the last line, call \
                    `shutdown(Shutdown::Write)`"
                .to_string(),
        );
    }
    Ok(())
}

pub fn a_line_the_server_drops_is_reported_lost(subject: RunLoad) -> Result<(), String> {
    let lines = numbered(10, 30);
    let (report, _, _) = run(subject, Server::Drops(3), &lines, TIMEOUT, EVENTS)?;
    let expected = Report {
        in_order: 9,
        lost: vec![3],
        ..Report::default()
    };
    expect(
        "the server echoed every line but line 3, then closed the connection",
        &expected,
        &report,
        "A line that never came back whole is lost: at the end, list every line not yet \
         back, by index.",
    )
}

pub fn two_lines_swapped_are_reported_reordered(subject: RunLoad) -> Result<(), String> {
    let lines = numbered(10, 30);
    let (report, _, _) = run(subject, Server::Swaps(4), &lines, TIMEOUT, EVENTS)?;
    let expected = Report {
        in_order: 9,
        reordered: vec![4],
        ..Report::default()
    };
    expect(
        "the server sent line 5 back before line 4 (everything else in order)",
        &expected,
        &report,
        "Line 4 came back after line 5, which was sent after it: it is reordered. Keep the \
         highest index back so far; a line below it is reordered.",
    )
}

pub fn a_line_cut_in_two_is_reported_torn_and_lost(subject: RunLoad) -> Result<(), String> {
    let lines = numbered(10, 30);
    let (report, _, _) = run(subject, Server::Tears(2), &lines, TIMEOUT, EVENTS)?;
    let (first, second) = lines[2].split_at(lines[2].len().div_ceil(2));
    let expected = Report {
        in_order: 9,
        lost: vec![2],
        torn: vec![first.to_string(), second.to_string()],
        ..Report::default()
    };
    expect(
        "the server sent line 2 back with a \\n in its middle: two replies that are not lines, \
         and line 2 never came back whole",
        &expected,
        &report,
        "A reply that is not a line still awaited goes into `torn` as received; the line it \
         should have been is lost.",
    )
}

pub fn a_reply_with_the_wrong_bytes_is_torn_even_when_the_count_is_right(
    subject: RunLoad,
) -> Result<(), String> {
    let lines = numbered(10, 30);
    let (report, _, _) = run(subject, Server::Garbles(6), &lines, TIMEOUT, EVENTS)?;
    let expected = Report {
        in_order: 9,
        lost: vec![6],
        torn: vec!["#".repeat(lines[6].len())],
        ..Report::default()
    };
    expect(
        "the server sent back 10 replies, but the 7th (for line 6) had other bytes than the line",
        &expected,
        &report,
        "Counting replies is not checking them: compare each one with the lines sent.",
    )
}

pub fn a_line_that_comes_back_twice_is_torn_the_second_time(
    subject: RunLoad,
) -> Result<(), String> {
    let lines = numbered(10, 30);
    let (report, _, _) = run(subject, Server::Repeats(5), &lines, TIMEOUT, EVENTS)?;
    let expected = Report {
        in_order: 10,
        torn: vec![lines[5].clone()],
        ..Report::default()
    };
    expect(
        "the server sent line 5 back twice, and every other line once",
        &expected,
        &report,
        "Only a line still awaited counts as back: a second copy of a line already back is \
         no line of its own, so it goes into `torn`.",
    )
}

pub fn a_last_reply_cut_short_by_the_close_is_torn(subject: RunLoad) -> Result<(), String> {
    let lines = numbered(10, 30);
    let (report, _, _) = run(subject, Server::CutsShort(9), &lines, TIMEOUT, EVENTS)?;
    let expected = Report {
        in_order: 9,
        lost: vec![9],
        torn: vec![lines[9][..lines[9].len() / 2].to_string()],
        ..Report::default()
    };
    expect(
        "the server sent back lines 0 to 8, then the first half of line 9 with no \\n, then \
         closed the connection",
        &expected,
        &report,
        "Bytes left without a \\n when the reading stops are a reply too (the task says so): \
         they go into `torn`, and the line they should have been is lost.",
    )
}

pub fn a_reply_that_arrives_in_pieces_is_still_whole(subject: RunLoad) -> Result<(), String> {
    let lines = numbered(20, 40);
    let (report, _, _) = run(subject, Server::InPieces, &lines, TIMEOUT, EVENTS)?;
    expect(
        "the server sent every line back whole and in order, each in two writes a moment apart",
        &clean(20),
        &report,
        "TCP is a byte stream: one `read` may return half a reply. A reply is everything up \
         to the `\\n`, however many reads it takes (`BufRead::read_until` collects them).",
    )
}

pub fn thousands_of_lines_do_not_deadlock(subject: RunLoad) -> Result<(), String> {
    // 20 000 lines of 1 KiB: about three times what a connection held on
    // Linux's loopback before a client that sends everything first got
    // stuck (between 6 and 8 MiB, found by trying this check with other
    // counts against the fixture `sends_everything_first`).
    let lines = numbered(20_000, 1024);
    let within = Duration::from_secs(6);
    match run(subject, Server::Honest, &lines, TIMEOUT, within) {
        Ok((report, _, _)) => expect(
            "an honest echo server sent all 20 000 lines back, whole and in order",
            &clean(20_000),
            &report,
            "",
        ),
        Err(e) if e.starts_with("run_load did not return") => Err(format!(
            "{e}, with 20 000 lines of 1 KiB for an honest echo server. Do you send every line \
             before you read any reply? The server echoes as it reads; once its replies fill \
             the connection's buffers, it stops reading until you read them, and you wait for \
             ever to send. Send on one thread and read on another (`try_clone` the stream, \
             `thread::scope`)."
        )),
        Err(e) if e.contains("timed out") || e.contains("WouldBlock") || e.contains("TimedOut") => {
            Err(format!(
                "{e}\nWith 20 000 lines of 1 KiB: do you send every line before you read any \
                 reply? The server echoes as it reads; once its replies fill the connection's \
                 buffers, it stops reading until you read them, so your writes stall. Send on \
                 one thread and read on another."
            ))
        }
        Err(e) => Err(e),
    }
}

pub fn a_silent_server_ends_the_run_within_the_timeout(subject: RunLoad) -> Result<(), String> {
    let lines = numbered(10, 30);
    let timeout = Duration::from_millis(500);
    let (report, took, _) =
        run(subject, Server::Silent, &lines, timeout, SILENT_HELD).map_err(|e| {
            if e.starts_with("run_load did not return") {
                format!(
                    "{e}, against a server that reads everything, answers nothing and stays \
                 connected. Set a read timeout (`set_read_timeout(Some(timeout))`): when \
                 nothing arrives for `timeout`, stop reading; what has not come back is lost"
                )
            } else {
                e
            }
        })?;
    let expected = Report {
        lost: (0..10).collect(),
        ..Report::default()
    };
    expect(
        "the server read every line, answered nothing, and stayed connected",
        &expected,
        &report,
        "",
    )?;
    // Room for a busy machine: a run that waits the timeout once per line
    // (10 x 500 ms) still takes longer.
    if took > timeout + 2 * WAIT {
        return Err(format!(
            "run_load took {took:?} against a silent server, with a timeout of {timeout:?}: \
             stop once nothing has arrived for `timeout`"
        ));
    }
    Ok(())
}

pub fn stops_reading_once_every_line_is_back(subject: RunLoad) -> Result<(), String> {
    let lines = numbered(20, 30);
    // A long timeout: a client that waits for it, or for the server to
    // close, takes far longer than one that stops when it has everything.
    let timeout = Duration::from_secs(5);
    let (report, took, _) = run(subject, Server::StaysConnected, &lines, timeout, EVENTS)?;
    expect(
        "the server echoed every line and stayed connected",
        &clean(20),
        &report,
        "",
    )?;
    // Half the timeout: a right answer takes milliseconds, a wrong one
    // the whole timeout (or until the server closes, which it never does).
    if took > timeout / 2 {
        return Err(format!(
            "run_load took {took:?} although every line was back within milliseconds: once \
             every line has come back whole, stop reading and return, without waiting for the \
             server to close or for the timeout ({timeout:?}) to pass"
        ));
    }
    Ok(())
}

pub fn a_reset_connection_is_returned_as_the_error(subject: RunLoad) -> Result<(), String> {
    let lines = numbered(10, 30);
    let (_hold, held) = mpsc::channel();
    let (client, _heard) = serve(Server::Resets, held)?;
    let task = spawn("run_load", move || {
        subject(client, &lines, Duration::from_secs(5))
    });
    match task.wait(2 * WAIT) {
        Ok(Err(_)) => Ok(()),
        Ok(Ok(report)) => Err(format!(
            "the server echoed line 0 and then reset the connection (an RST, not a clean \
             close), and run_load returned Ok with the report {report:?}. A failed read \
             (ConnectionReset here) is not the end of the replies: it is the error to return, \
             as the task says. Only a read timeout (WouldBlock or TimedOut) ends the reading \
             quietly."
        )),
        Err(Waited::Panicked(why)) => Err(why),
        Err(Waited::Running) => Err(format!(
            "run_load did not return within {:?} after the server reset the connection",
            2 * WAIT
        )),
    }
}

pub fn lines_that_overtake_several_others_are_each_reordered(
    subject: RunLoad,
) -> Result<(), String> {
    let lines = numbered(OVERTAKEN.len(), 30);
    let (report, _, _) = run(subject, Server::Overtaken, &lines, TIMEOUT, EVENTS)?;
    let expected = Report {
        in_order: 7,
        reordered: vec![2, 3, 4, 7, 8],
        ..Report::default()
    };
    expect(
        &format!(
            "the server sent the lines back in the order {OVERTAKEN:?}: line 5 overtook lines \
             2, 3 and 4, and line 9 overtook lines 7 and 8"
        ),
        &expected,
        &report,
        "A line is reordered when any line sent after it came back before it, not only the \
         reply just before it: after 0, 1, 5, lines 2, 3 and 4 are each reordered, though 3 \
         comes right after 2. Compare each line's index with the highest index back so far.",
    )
}

pub fn a_server_that_stops_reading_makes_the_write_fail_within_the_timeout(
    subject: RunLoad,
) -> Result<(), String> {
    // Far more than the connection's buffers hold (a few MiB on loopback):
    // the writes must stall, and a stalled write has failed after `timeout`.
    let lines = numbered(20_000, 1024);
    let timeout = Duration::from_millis(500);
    let (_hold, held) = mpsc::channel();
    let (client, _heard) = serve(Server::NeverReads, held)?;
    let started = Instant::now();
    let task = spawn("run_load", move || subject(client, &lines, timeout));
    // Filling the buffers takes a moment, then one timeout; on a busy
    // machine the receiving system may still open its window a little now
    // and then (each bit of progress starts a write's timeout again): room
    // for that, and far less than a write that waits for ever.
    let within = 4 * WAIT;
    let stalled = format!(
        "{} and stayed connected, so once the connection's buffers were full (a few MiB of \
         the 20 000 lines of 1 KiB) the writes made no progress",
        Server::NeverReads.did()
    );
    match task.wait(within) {
        Ok(Err(e)) if is_timeout(&e) => Ok(()),
        Ok(Err(e)) => Err(format!(
            "{stalled}, and run_load returned the error {e:?} (\"{e}\"): the write that made \
             no progress for `timeout` ({timeout:?}) is the error to return, of kind \
             WouldBlock on Unix or TimedOut on Windows, as it came (`lessons::cli::is_timeout` \
             knows both)."
        )),
        Ok(Ok(report)) => Err(format!(
            "{stalled}, and run_load returned Ok after {:?} (lost: {} lines): a write that \
             makes no progress for `timeout` ({timeout:?}) has failed, and the task says to \
             return it as the error, not a report. Is the sending side's error dropped?",
            started.elapsed(),
            report.lost.len()
        )),
        Err(Waited::Panicked(why)) => Err(why),
        Err(Waited::Running) => Err(format!(
            "{stalled}, and {within:?} later run_load had not returned (its timeout was \
             {timeout:?}): a write with no time limit waits for ever for a server that \
             stopped reading. `timeout` bounds the writes too: a write that makes no progress \
             for `timeout` has failed (set_write_timeout), and that error is returned."
        )),
    }
}

pub fn no_lines_end_the_run_at_once(subject: RunLoad) -> Result<(), String> {
    // A long timeout and a server that stays connected: with no lines,
    // every line (all 0 of them) is back from the start, so a right answer
    // returns at once, and one that reads before it asks waits for one of
    // them.
    let timeout = Duration::from_secs(5);
    let (report, took, _) = run(subject, Server::StaysConnected, &[], timeout, EVENTS)?;
    expect("run_load was given no lines at all", &clean(0), &report, "")?;
    if took > timeout / 2 {
        return Err(format!(
            "run_load was given no lines at all, and took {took:?} (its timeout was \
             {timeout:?}; the server stays connected): with 0 lines, every line is back before \
             anything is read, so there is nothing to wait for. Is the test \"every line is \
             back\" made only after a read, rather than before each one?"
        ));
    }
    Ok(())
}
