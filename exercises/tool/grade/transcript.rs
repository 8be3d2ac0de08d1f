//! What the relays forwarded during one check, connection by connection,
//! and the first byte where a server's replies differ from what the
//! protocol says they should be.
//!
//! The relay is lesson 09's proxy with a tap ([`lessons::proxy::Tap`]): it
//! hears every chunk it forwards, in each direction, and how each
//! direction ended. The check itself is not changed: its message says what
//! it saw; the transcript shows the bytes.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use checks::harness::show;
use lessons::proxy::{Direction, Heard, Tap};

/// The most bytes kept per connection and direction: enough for the
/// checks' 1 MiB payload, and a bound for a server that floods.
const KEPT: usize = 4 << 20;

/// How many bytes a caret line shows on each side of the difference.
const AROUND: usize = 20;

/// One thing a relay heard.
pub struct Event {
    pub at: Duration,
    /// The relay (one per subject call) and its connection number.
    key: (u64, u64),
    pub dir: Direction,
    pub what: What,
}

pub enum What {
    Bytes(Vec<u8>),
    End,
    /// The sender reset the connection.
    Reset(String),
    Failed(String),
}

struct Recording {
    started: Instant,
    /// Relays numbered below this one belong to earlier checks: what their
    /// last connections do while closing is not this check's.
    first_relay: u64,
    /// Connections of a [`lasting_tap`] numbered below this one belong to
    /// earlier checks.
    first_lasting: u64,
    events: Vec<Event>,
    kept: HashMap<((u64, u64), bool), usize>,
}

static RELAYS: AtomicU64 = AtomicU64::new(1);

/// Rung by the tap after every event, for [`settle`].
static HEARD: Condvar = Condvar::new();

fn recording() -> MutexGuard<'static, Recording> {
    static RECORDING: OnceLock<Mutex<Recording>> = OnceLock::new();
    RECORDING
        .get_or_init(|| {
            Mutex::new(Recording {
                started: Instant::now(),
                first_relay: 0,
                first_lasting: 0,
                events: Vec::new(),
                kept: HashMap::new(),
            })
        })
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// Starts a new transcript: a check is about to run.
pub fn start() {
    let mut r = recording();
    r.started = Instant::now();
    r.first_relay = RELAYS.load(Ordering::SeqCst);
    r.first_lasting = LASTING_SEEN.load(Ordering::SeqCst) + 1;
    r.events.clear();
    r.kept.clear();
}

/// The transcript so far.
pub fn take() -> Vec<Event> {
    std::mem::take(&mut recording().events)
}

/// The first connection of the current check that the server reset (its
/// side of a relay heard a reset, not a close): its number in the
/// transcript, and the last bytes the server had sent on it.
pub fn reset_by_the_server() -> Option<(usize, Vec<u8>)> {
    let r = recording();
    let reset = r
        .events
        .iter()
        .find(|e| e.dir == Direction::Down && matches!(e.what, What::Reset(_)))?;
    let (conns, _) = connections(&r.events);
    let conn = conns.into_iter().find(|c| c.key == reset.key)?;
    let last = &conn.down[conn.down.len().saturating_sub(40)..];
    Some((conn.number, last.to_vec()))
}

/// A tap for a new relay.
pub fn tap() -> Tap {
    tap_as(RELAYS.fetch_add(1, Ordering::SeqCst), None)
}

/// Two taps for the two relays of one proxied connection, heard as one
/// relay's connections 1 (the client's side: the check's client to the
/// proxy under grade) and 2 (the server's side: the proxy's upstream
/// connection to the check's server), whatever their own numbers.
pub fn tap_pair() -> (Tap, Tap) {
    let relay = RELAYS.fetch_add(1, Ordering::SeqCst);
    (tap_as(relay, Some(1)), tap_as(relay, Some(2)))
}

/// A tap for a relay that serves every check (the room's): a connection
/// is heard only if the relay accepted it during the current check.
pub fn lasting_tap() -> Tap {
    let relay = RELAYS.fetch_add(1, Ordering::SeqCst);
    Arc::new(move |id, dir, heard| {
        LASTING_SEEN.fetch_max(id, Ordering::SeqCst);
        if id < recording().first_lasting {
            return;
        }
        tap_as_lasting(relay, None, true)(id, dir, heard);
    })
}

/// The highest connection number a [`lasting_tap`] has heard.
static LASTING_SEEN: AtomicU64 = AtomicU64::new(0);

fn tap_as(relay: u64, connection: Option<u64>) -> Tap {
    tap_as_lasting(relay, connection, false)
}

fn tap_as_lasting(relay: u64, connection: Option<u64>, lasting: bool) -> Tap {
    Arc::new(move |id, dir, heard| {
        let mut r = recording();
        if relay < r.first_relay && !lasting {
            return;
        }
        let key = (relay, connection.unwrap_or(id));
        let what = match heard {
            Heard::Bytes(bytes) => {
                let kept = r.kept.entry((key, dir == Direction::Up)).or_insert(0);
                let room = KEPT.saturating_sub(*kept);
                let bytes = &bytes[..bytes.len().min(room)];
                if bytes.is_empty() {
                    return;
                }
                *kept += bytes.len();
                What::Bytes(bytes.to_vec())
            }
            Heard::End => What::End,
            Heard::Reset(e) => What::Reset(e.to_string()),
            Heard::Failed(e) => What::Failed(e.to_string()),
        };
        let at = r.started.elapsed();
        r.events.push(Event { at, key, dir, what });
        HEARD.notify_all();
    })
}

/// Waits until every connection heard so far has ended both ways, at most
/// `within`: a check that failed has often just dropped its sockets, and
/// the transcript should say how each connection ended, not how far the
/// relay had got when the check returned.
pub fn settle(within: Duration) {
    let deadline = Instant::now() + within;
    let mut r = recording();
    loop {
        let (conns, _) = connections(&r.events);
        if conns
            .iter()
            .all(|c| c.up_end.is_some() && c.down_end.is_some())
        {
            return;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        r = HEARD
            .wait_timeout(r, left)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
}

/// One connection, put together from its events.
pub struct Connection {
    pub number: usize,
    /// The relay and its connection number.
    key: (u64, u64),
    pub up: Vec<u8>,
    pub down: Vec<u8>,
    pub up_end: Option<String>,
    pub down_end: Option<String>,
}

/// The connections of `events`, numbered from 1 in the order they were
/// first heard; and for each event, its connection's number.
pub fn connections(events: &[Event]) -> (Vec<Connection>, Vec<usize>) {
    let mut keys: Vec<(u64, u64)> = Vec::new();
    let mut conns: Vec<Connection> = Vec::new();
    let mut numbers = Vec::new();
    for e in events {
        let i = match keys.iter().position(|k| *k == e.key) {
            Some(i) => i,
            None => {
                keys.push(e.key);
                conns.push(Connection {
                    number: keys.len(),
                    key: e.key,
                    up: Vec::new(),
                    down: Vec::new(),
                    up_end: None,
                    down_end: None,
                });
                keys.len() - 1
            }
        };
        numbers.push(i + 1);
        let c = &mut conns[i];
        let (bytes, end) = match e.dir {
            Direction::Up => (&mut c.up, &mut c.up_end),
            Direction::Down => (&mut c.down, &mut c.down_end),
        };
        match &e.what {
            What::Bytes(b) => bytes.extend_from_slice(b),
            What::End => *end = Some("closed its side".to_string()),
            What::Reset(why) => *end = Some(format!("reset ({why})")),
            What::Failed(why) => *end = Some(format!("failed ({why})")),
        }
    }
    (conns, numbers)
}

/// A part of the replies a protocol expects.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// These bytes exactly.
    Exact(Vec<u8>),
    /// A line starting with `error:`, whatever follows, up to its `\n`.
    ErrorLine,
}

/// The replies a protocol expects to what a client `sent` (each part
/// judged on its own; a part the server cannot know yet, such as the reply
/// to a line without its `\n`, is not expected).
pub fn expected(protocol: &str, sent: &[u8]) -> Vec<Part> {
    match protocol {
        "reverse" => reverse_expected(sent),
        _ => vec![Part::Exact(sent.to_vec())],
    }
}

fn reverse_expected(sent: &[u8]) -> Vec<Part> {
    let max = checks::shared::reverse::MAX_LINE;
    let mut parts = Vec::new();
    let mut rest = sent;
    loop {
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) if i <= max => {
                let mut line = &rest[..i];
                if line.last() == Some(&b'\r') {
                    line = &line[..line.len() - 1];
                }
                parts.push(match std::str::from_utf8(line) {
                    Ok(text) => {
                        Part::Exact(format!("{}\n", text.chars().rev().collect::<String>()).into())
                    }
                    Err(_) => Part::ErrorLine,
                });
                rest = &rest[i + 1..];
            }
            // Too long, with or without its \n yet: an error, then the end.
            Some(_) => {
                parts.push(Part::ErrorLine);
                break;
            }
            None if rest.len() > max => {
                parts.push(Part::ErrorLine);
                break;
            }
            None => break,
        }
    }
    parts
}

/// Compares `got` with `parts`: `None` if they agree; else the expected
/// bytes (an `error:` line in the server's own words where it sent one)
/// and the index of the first byte that differs.
pub fn first_difference(parts: &[Part], got: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut at = 0;
    for part in parts {
        match part {
            Part::Exact(bytes) => {
                if let Some(i) = (0..bytes.len()).find(|&i| got.get(at + i) != Some(&bytes[i])) {
                    return Some((expected_bytes(parts, got), at + i));
                }
                at += bytes.len();
            }
            Part::ErrorLine => {
                let rest = got.get(at..).unwrap_or_default();
                match rest.iter().position(|&b| b == b'\n') {
                    Some(end) if rest.starts_with(b"error:") => at += end + 1,
                    _ => {
                        let i = (0..6).find(|&i| rest.get(i) != Some(&b"error:"[i]));
                        let d = at + i.unwrap_or(rest.len());
                        return Some((expected_bytes(parts, got), d));
                    }
                }
            }
        }
    }
    if got.len() > at {
        return Some((expected_bytes(parts, got), at));
    }
    None
}

/// The bytes `parts` stand for, beside `got`: an `error:` line is the
/// server's own where it sent one in that place, else `error: ...\n`.
fn expected_bytes(parts: &[Part], got: &[u8]) -> Vec<u8> {
    let mut all = Vec::new();
    for part in parts {
        match part {
            Part::Exact(bytes) => all.extend_from_slice(bytes),
            Part::ErrorLine => {
                let rest = got.get(all.len()..).unwrap_or_default();
                match rest.iter().position(|&b| b == b'\n') {
                    Some(end) if rest.starts_with(b"error:") => {
                        all.extend_from_slice(&rest[..=end]);
                    }
                    _ => all.extend_from_slice(b"error: ...\n"),
                }
            }
        }
    }
    all
}

/// Bytes as text, with the column each byte starts at: UTF-8 characters as
/// they are, `\n`, `\r`, `\t`, `\\`, `\"` escaped, other bytes as `\xNN`.
fn render(bytes: &[u8]) -> (String, Vec<usize>) {
    let mut text = String::new();
    let mut columns = Vec::with_capacity(bytes.len());
    let mut width = 0;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            let shown = match c {
                '\n' => "\\n".to_string(),
                '\r' => "\\r".to_string(),
                '\t' => "\\t".to_string(),
                '\\' => "\\\\".to_string(),
                '"' => "\\\"".to_string(),
                c if c.is_control() => format!("\\u{{{:x}}}", c as u32),
                c => c.to_string(),
            };
            for _ in 0..c.len_utf8() {
                columns.push(width);
            }
            width += shown.chars().count();
            text.push_str(&shown);
        }
        for b in chunk.invalid() {
            columns.push(width);
            let _ = write!(text, "\\x{b:02x}");
            width += 4;
        }
    }
    columns.push(width);
    (text, columns)
}

/// The lines that mark the first byte that differs: the bytes around it
/// as text and as hex, expected above received, a caret under it.
pub fn caret(want: &[u8], got: &[u8], at: usize, indent: &str) -> String {
    let from = at.saturating_sub(AROUND);
    let window = |b: &[u8]| b[from.min(b.len())..(at + AROUND).min(b.len())].to_vec();
    let (w, g) = (window(want), window(got));
    let cut = if from > 0 { "..." } else { "" };
    let (w_text, _) = render(&w);
    let (g_text, g_cols) = render(&g);
    let (_, w_cols) = render(&w);
    let i = at - from;
    // Both lines agree up to the difference, so its column is the same.
    let column = g_cols.get(i).or(w_cols.get(i)).copied().unwrap_or(0);
    let pad = " ".repeat(cut.len() + 1 + column);
    let hex = |b: &[u8]| {
        b.iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out = String::new();
    let _ = writeln!(out, "{indent}expected  {cut}\"{w_text}\"");
    let _ = writeln!(out, "{indent}received  {cut}\"{g_text}\"");
    let _ = writeln!(out, "{indent}          {pad}^");
    let _ = writeln!(out, "{indent}expected  {cut}{}", hex(&w));
    let _ = writeln!(out, "{indent}received  {cut}{}", hex(&g));
    let _ = write!(out, "{indent}          {}^^", " ".repeat(cut.len() + 3 * i));
    out
}

/// The transcript of a failed check, as the text report shows it: each
/// connection in a line, and for the first whose replies differ from the
/// protocol's, the bytes and a caret under the first difference. Nothing
/// in it depends on the clock.
pub fn describe(protocol: &str, events: &[Event]) -> String {
    if protocol == "proxy" {
        return describe_proxy(events);
    }
    if protocol == "room" {
        return describe_room(events);
    }
    let (conns, _) = connections(events);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "transcript ({} through the relay; up: sent by the check, down: by your server):",
        plural(conns.len(), "connection", "connections")
    );
    let mut shown_difference = false;
    let mut as_expected = 0;
    for c in &conns {
        let ends = format!(
            "the client {}; your server {}",
            c.up_end.as_deref().unwrap_or("kept its side open"),
            c.down_end.as_deref().unwrap_or("kept its side open")
        );
        let difference = first_difference(&expected(protocol, &c.up), &c.down);
        match difference {
            None => {
                as_expected += 1;
                continue;
            }
            Some(_) if shown_difference => {
                let _ = writeln!(
                    out,
                    "  connection {}: {} up, {} down, not as expected; {ends}",
                    c.number,
                    plural(c.up.len(), "byte", "bytes"),
                    plural(c.down.len(), "byte", "bytes")
                );
            }
            Some((want, at)) => {
                shown_difference = true;
                let _ = writeln!(out, "  connection {}: {ends}", c.number);
                let _ = writeln!(out, "    up        {}", show(&c.up));
                let _ = writeln!(out, "    down      {}", show(&c.down));
                let why = if at >= c.down.len() {
                    "the reply stops short"
                } else if at >= want.len() {
                    "more came than expected"
                } else {
                    "they differ"
                };
                let _ = writeln!(
                    out,
                    "    first difference at byte {at} of what came down ({why}):"
                );
                let _ = writeln!(out, "{}", caret(&want, &c.down, at, "      "));
            }
        }
    }
    if as_expected > 0 {
        let _ = writeln!(
            out,
            "  {} as expected",
            plural(as_expected, "connection", "connections")
        );
    }
    if !shown_difference {
        let _ = writeln!(
            out,
            "  (every reply has the bytes the protocol expects: what failed is when they \
             came, or how a connection ended, as the message says)"
        );
    }
    out.trim_end().to_string()
}

/// The transcript of a failed check of a proxy: each proxied connection
/// as its two sides (the client's, to your proxy; the server's, from your
/// proxy's upstream connection), and for the first direction where what
/// arrived differs from what was sent, the bytes and a caret.
fn describe_proxy(events: &[Event]) -> String {
    let (conns, _) = connections(events);
    let mut out = String::new();
    let fronts: Vec<&Connection> = conns.iter().filter(|c| c.key.1 == 1).collect();
    let _ = writeln!(
        out,
        "transcript ({} through your proxy; client side: the check's client and your proxy, \
         server side: your proxy's upstream connection and the check's server):",
        plural(fronts.len(), "connection", "connections")
    );
    let mut shown_difference = false;
    let mut as_expected = 0;
    for front in &fronts {
        let back = conns.iter().find(|c| c.key == (front.key.0, 2));
        let Some(back) = back else {
            let _ = writeln!(
                out,
                "  connection {}: your proxy never connected to the upstream server; the client \
                 sent {}",
                front.number,
                show(&front.up)
            );
            shown_difference = true;
            continue;
        };
        let ends = format!(
            "the client {}; the server {}; your proxy {} towards the server and {} towards \
             the client",
            front.up_end.as_deref().unwrap_or("kept its side open"),
            back.down_end.as_deref().unwrap_or("kept its side open"),
            back.up_end.as_deref().unwrap_or("kept its side open"),
            front.down_end.as_deref().unwrap_or("kept its side open"),
        );
        let up = first_difference(&[Part::Exact(front.up.clone())], &back.up);
        let down = first_difference(&[Part::Exact(back.down.clone())], &front.down);
        if up.is_none() && down.is_none() {
            as_expected += 1;
            continue;
        }
        if shown_difference {
            let _ = writeln!(out, "  connection {}: not as sent; {ends}", front.number);
            continue;
        }
        shown_difference = true;
        let _ = writeln!(out, "  connection {}: {ends}", front.number);
        let _ = writeln!(out, "    client sent      {}", show(&front.up));
        let _ = writeln!(out, "    server received  {}", show(&back.up));
        let _ = writeln!(out, "    server sent      {}", show(&back.down));
        let _ = writeln!(out, "    client received  {}", show(&front.down));
        for (name, difference, got) in [
            ("the server received", up, &back.up),
            ("the client received", down, &front.down),
        ] {
            if let Some((want, at)) = difference {
                let why = if at >= got.len() {
                    "it stops short"
                } else if at >= want.len() {
                    "more came than was sent"
                } else {
                    "they differ"
                };
                let _ = writeln!(
                    out,
                    "    first difference at byte {at} of what {name} ({why}):"
                );
                let _ = writeln!(out, "{}", caret(&want, got, at, "      "));
            }
        }
    }
    if as_expected > 0 {
        let _ = writeln!(
            out,
            "  {} carried exactly what was sent",
            plural(as_expected, "connection", "connections")
        );
    }
    if !shown_difference {
        let _ = writeln!(
            out,
            "  (every byte sent arrived unchanged: what failed is when they came, or how a \
             connection ended, as the message says)"
        );
    }
    out.trim_end().to_string()
}

/// The transcript of a failed check of a room: each client's connection,
/// what it sent and what it received. A room's replies are judged by
/// their lines (any prefix, any greeting), not byte for byte: the check's
/// message says which line was missing or came back.
fn describe_room(events: &[Event]) -> String {
    /// The connections shown with their bytes; the rest are counted.
    const SHOWN: usize = 6;
    let (conns, _) = connections(events);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "transcript ({} through the relay; up: sent by the check's client, down: by your \
         server):",
        plural(conns.len(), "connection", "connections")
    );
    for c in conns.iter().take(SHOWN) {
        let _ = writeln!(
            out,
            "  connection {}: the client {}; your server {}",
            c.number,
            c.up_end.as_deref().unwrap_or("kept its side open"),
            c.down_end.as_deref().unwrap_or("kept its side open")
        );
        let _ = writeln!(out, "    up        {}", show(&c.up));
        let _ = writeln!(out, "    down      {}", show(&c.down));
    }
    if conns.len() > SHOWN {
        let _ = writeln!(
            out,
            "  and {} more (--json has every chunk)",
            plural(conns.len() - SHOWN, "connection", "connections")
        );
    }
    out.trim_end().to_string()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The transcript as a JSON array: each chunk with its time, connection,
/// direction and bytes.
pub fn json(events: &[Event]) -> String {
    let (_, numbers) = connections(events);
    let items: Vec<String> = events
        .iter()
        .zip(numbers)
        .map(|(e, n)| {
            let what = match &e.what {
                What::Bytes(b) => format!(
                    "\"bytes\":{},\"size\":{}",
                    crate::json::quote(&lessons::proxy::wire::escape(b)),
                    b.len()
                ),
                What::End => "\"end\":\"closed\"".to_string(),
                What::Reset(why) => {
                    format!("\"end\":{}", crate::json::quote(&format!("reset: {why}")))
                }
                What::Failed(why) => format!("\"end\":{}", crate::json::quote(why)),
            };
            format!(
                "{{\"ms\":{:.1},\"connection\":{n},\"dir\":\"{}\",{what}}}",
                e.at.as_secs_f64() * 1000.0,
                e.dir.name()
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}
