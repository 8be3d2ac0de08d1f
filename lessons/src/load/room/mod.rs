//! `08_load room`: for lesson 05. Every client's lines must reach every
//! other client, complete, in order, and never mixed with another line.
//! With `--flood`, see [`flood`].

mod flood;

pub use flood::{Flood, FloodReport, flood};

use super::*;

/// The room scenario (lesson 05's multi-client server).
#[derive(Debug, Clone, Copy)]
pub struct Room {
    pub clients: usize,
    pub messages: usize,
}

/// What a room run saw, summed over all clients.
#[derive(Debug, Default)]
pub struct RoomReport {
    pub clients: usize,
    pub messages: usize,
    /// `clients * (clients - 1) * messages`: every line to every other client.
    pub expected: u64,
    pub delivered: u64,
    /// Lines that arrived before a line their sender had sent earlier.
    pub reordered: u64,
    pub duplicates: u64,
    /// A client's own lines sent back to it.
    pub own: u64,
    /// Lines that carry this run's token but are not one whole payload: torn
    /// or glued to another line.
    pub torn: u64,
    /// Lines of one sender that arrived with a different label than its
    /// first line (`[#3]` then `[#4]`).
    pub mislabelled: u64,
    /// Rounds of the start-up handshake (see [`room`]).
    pub sync_rounds: usize,
    pub secs: f64,
    pub clients_with_errors: usize,
    pub first_error: Option<String>,
}

impl RoomReport {
    pub fn passed(&self) -> bool {
        self.delivered == self.expected
            && self.reordered == 0
            && self.duplicates == 0
            && self.own == 0
            && self.torn == 0
            && self.mislabelled == 0
            && self.clients_with_errors == 0
    }

    pub fn summary(&self) -> String {
        let mut s = format!(
            "room: {} clients x {} lines: {}/{} delivered, {} reordered, {} duplicated, \
             {} echoed to their sender, {} torn, {} mislabelled, in {:.2} s = {:.0} lines/s",
            self.clients,
            self.messages,
            self.delivered,
            self.expected,
            self.reordered,
            self.duplicates,
            self.own,
            self.torn,
            self.mislabelled,
            self.secs,
            self.delivered as f64 / self.secs.max(1e-9),
        );
        if let Some(e) = &self.first_error {
            let _ = write!(
                s,
                "; {} clients had errors, first: {e}",
                self.clients_with_errors
            );
        }
        s
    }

    pub fn json(&self) -> String {
        format!(
            "{{\"mode\":\"room\",\"clients\":{},\"messages\":{},\"expected\":{},\"delivered\":{},\
             \"reordered\":{},\"duplicates\":{},\"own\":{},\"torn\":{},\"mislabelled\":{},\
             \"sync_rounds\":{},\"secs\":{:.3},\"lines_per_sec\":{:.1},\
             \"clients_with_errors\":{},\"passed\":{},\"first_error\":{}}}",
            self.clients,
            self.messages,
            self.expected,
            self.delivered,
            self.reordered,
            self.duplicates,
            self.own,
            self.torn,
            self.mislabelled,
            self.sync_rounds,
            self.secs,
            self.delivered as f64 / self.secs.max(1e-9),
            self.clients_with_errors,
            self.passed(),
            json_error(&self.first_error),
        )
    }
}

/// A line this run sent, recognised at the end of a received line.
#[derive(Debug, PartialEq, Eq)]
enum Heard<'a> {
    /// `sync{round}-c{client}-{token}`: the start-up handshake.
    Sync { round: usize, client: usize },
    /// `c{client}-m{index}-{token}`, with the label the server put before it.
    Data {
        label: &'a str,
        client: usize,
        index: usize,
    },
    /// Carries the token but is not one whole payload.
    Torn,
    /// Anything else: the server's own notices (joins, leaves).
    Other,
}

/// A token for this run's lines, so that lines of another run (or the
/// server's own) are never counted.
fn run_token() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("t{:x}", nanos ^ (u128::from(std::process::id()) << 64))
}

/// Recognises a received line. The payload is the last word; what comes
/// before it is the label the server added (like `[#3] `).
fn hear<'a>(line: &'a str, token: &str) -> Heard<'a> {
    if !line.contains(token) {
        return Heard::Other;
    }
    let (label, word) = line.rsplit_once(' ').unwrap_or(("", line));
    let parsed = (|| {
        let body = word.strip_suffix(token)?.strip_suffix('-')?;
        if let Some(rest) = body.strip_prefix("sync") {
            let (round, client) = rest.split_once("-c")?;
            return Some(Heard::Sync {
                round: round.parse().ok()?,
                client: client.parse().ok()?,
            });
        }
        let (client, index) = body.strip_prefix('c')?.split_once("-m")?;
        Some(Heard::Data {
            label,
            client: client.parse().ok()?,
            index: index.parse().ok()?,
        })
    })();
    // The token may only appear once, at the very end.
    match parsed {
        Some(heard) if line.matches(token).count() == 1 => heard,
        _ => Heard::Torn,
    }
}

/// What one client's reader saw.
#[derive(Default)]
struct RoomTally {
    delivered: u64,
    reordered: u64,
    duplicates: u64,
    own: u64,
    torn: u64,
    mislabelled: u64,
    error: Option<String>,
}

/// The longest line a room client reads: the relayed line with the
/// server's label. A server that never sends a newline cannot make the
/// load generator grow past it.
const MAX_LINE: u64 = 1 << 20;

/// Reads one client's lines until it has every other client's, the server
/// goes silent for `target.timeout`, or the run's deadline. Every read is
/// bounded by the run's deadline, not only the gaps between lines: a server
/// that drips bytes without a newline cannot stretch the run.
fn room_reader(
    stream: &TcpStream,
    me: usize,
    scenario: Room,
    token: &str,
    target: &Target,
    synced: mpsc::Sender<(usize, usize)>,
) -> RoomTally {
    let n = scenario.clients;
    let m = scenario.messages;
    let want = ((n - 1) * m) as u64;
    let mut tally = RoomTally::default();
    let mut next = vec![0usize; n]; // the index expected next from each sender
    let mut seen = vec![false; n * m];
    let mut labels: HashMap<usize, String> = HashMap::new();
    let mut sync_heard: HashMap<usize, usize> = HashMap::new(); // round -> count
    let mut reader = BufReader::new(Within {
        stream,
        deadline: Deadline::none(),
    });
    let mut raw = Vec::new();
    while tally.delivered < want {
        if let Err(e) = target.check_deadline() {
            tally.error = Some(e.to_string());
            break;
        }
        reader.get_mut().deadline = target.exchange("line");
        raw.clear();
        match reader.by_ref().take(MAX_LINE).read_until(b'\n', &mut raw) {
            Ok(0) => {
                tally.error = Some(format!("client {me}: the server closed the connection"));
                break;
            }
            Ok(_) => {}
            Err(e) => {
                tally.error = Some(format!("client {me}: {e}"));
                break;
            }
        }
        let text = String::from_utf8_lossy(&raw);
        let line = text.trim_end_matches(['\n', '\r']);
        match hear(line, token) {
            Heard::Sync { round, client } if client != me && client < n => {
                let count = sync_heard.entry(round).or_default();
                *count += 1;
                if *count == n - 1 {
                    let _ = synced.send((me, round));
                }
            }
            Heard::Sync { .. } | Heard::Other => {}
            Heard::Torn => tally.torn += 1,
            Heard::Data { client, .. } if client == me => tally.own += 1,
            Heard::Data { client, index, .. } if client >= n || index >= m => tally.torn += 1,
            Heard::Data {
                label,
                client,
                index,
            } => {
                if std::mem::replace(&mut seen[client * m + index], true) {
                    tally.duplicates += 1;
                    continue;
                }
                tally.delivered += 1;
                if index != next[client] {
                    tally.reordered += 1;
                }
                next[client] = index + 1;
                match labels.get(&client) {
                    Some(first) if first != label => tally.mislabelled += 1,
                    Some(_) => {}
                    None => {
                        labels.insert(client, label.to_string());
                    }
                }
            }
        }
    }
    tally
}

// ANCHOR: room
/// Connects `clients` clients to a chat room; each sends `messages` lines,
/// and each must receive every other client's lines, in order and whole.
///
/// A server only relays a line to the clients it has registered, and a
/// connect returns before that happens. So first a handshake: every client
/// sends a `sync` line, and the lines start only once every client has
/// heard every other's. A round that does not complete (someone was not
/// registered yet) is repeated, up to 5 times, and never past the run's
/// deadline.
pub fn room(target: &Target, scenario: &Room) -> io::Result<RoomReport> {
    let n = scenario.clients;
    if n < 2 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "room needs at least 2 clients",
        ));
    }
    let token = run_token();
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        target.check_deadline()?;
        streams.push(target.connect()?);
    }
    let mut report = RoomReport {
        clients: n,
        messages: scenario.messages,
        expected: (n * (n - 1) * scenario.messages) as u64,
        ..RoomReport::default()
    };
    let (synced_tx, synced) = mpsc::channel();
    let token = token.as_str();
    let tallies = thread::scope(|s| -> io::Result<Vec<RoomTally>> {
        let mut readers = Vec::with_capacity(n);
        for (me, stream) in streams.iter().enumerate() {
            let synced_tx = synced_tx.clone();
            readers.push(
                thread::Builder::new()
                    .name(format!("reader {me}"))
                    .stack_size(CLIENT_STACK)
                    .spawn_scoped(s, move || {
                        room_reader(stream, me, *scenario, token, target, synced_tx)
                    })?,
            );
        }
        // The handshake.
        let mut ready = false;
        for round in 0..5 {
            if target.check_deadline().is_err() {
                break;
            }
            report.sync_rounds = round + 1;
            for (me, stream) in streams.iter().enumerate() {
                let deadline = target.exchange("write");
                Within {
                    stream,
                    deadline: &deadline,
                }
                .write_all(format!("sync{round}-c{me}-{token}\n").as_bytes())?;
            }
            let wait_until =
                Instant::now() + target.left_at_most(Duration::from_secs(2).min(target.timeout));
            let mut done = 0;
            while done < n {
                match synced.recv_timeout(wait_until.saturating_duration_since(Instant::now())) {
                    Ok((_, r)) if r == round => done += 1,
                    Ok(_) => {}
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                }
            }
            if done == n {
                ready = true;
                break;
            }
        }
        if !ready {
            report.first_error = Some(match target.check_deadline() {
                Err(e) => format!("the start-up handshake never completed: {e}"),
                Ok(()) => "the start-up handshake never completed".to_string(),
            });
        }
        // Every client sends its lines at once, from a thread of its own.
        let start = Instant::now();
        let mut writers = Vec::with_capacity(n);
        for (me, stream) in streams.iter().enumerate() {
            writers.push(
                thread::Builder::new()
                    .name(format!("writer {me}"))
                    .stack_size(CLIENT_STACK)
                    .spawn_scoped(s, move || -> io::Result<()> {
                        for index in 0..scenario.messages {
                            target.check_deadline()?;
                            let line = format!("c{me}-m{index}-{token}\n");
                            let deadline = target.exchange("write");
                            Within {
                                stream,
                                deadline: &deadline,
                            }
                            .write_all(line.as_bytes())?;
                        }
                        Ok(())
                    })?,
            );
        }
        let mut write_errors = Vec::new();
        for writer in writers {
            if let Ok(Err(e)) = writer.join() {
                write_errors.push(e.to_string());
            }
        }
        let tallies: Vec<RoomTally> = readers
            .into_iter()
            .map(|r| r.join().unwrap_or_default())
            .collect();
        report.secs = start.elapsed().as_secs_f64();
        if let Some(e) = write_errors.into_iter().next() {
            report.first_error.get_or_insert(format!("write: {e}"));
        }
        Ok(tallies)
    })?;
    for t in tallies {
        report.delivered += t.delivered;
        report.reordered += t.reordered;
        report.duplicates += t.duplicates;
        report.own += t.own;
        report.torn += t.torn;
        report.mislabelled += t.mislabelled;
        if let Some(e) = t.error {
            report.clients_with_errors += 1;
            report.first_error.get_or_insert(e);
        }
    }
    Ok(report)
}
// ANCHOR_END: room

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    const T: &str = "tabc";

    #[rstest]
    #[case::labelled_data("[#3] c2-m7-tabc", Heard::Data { label: "[#3]", client: 2, index: 7 })]
    #[case::bare_data("c0-m0-tabc", Heard::Data { label: "", client: 0, index: 0 })]
    #[case::sync("[#1] sync2-c4-tabc", Heard::Sync { round: 2, client: 4 })]
    #[case::notice("*** #3 joined", Heard::Other)]
    #[case::cut_short("[#3] c2-m7-ta", Heard::Other)]
    #[case::two_glued("[#3] c2-m7-tabc[#4] c1-m0-tabc", Heard::Torn)]
    #[case::front_missing("m7-tabc", Heard::Torn)]
    fn recognises_what_it_hears(#[case] line: &str, #[case] expected: Heard) {
        assert_eq!(hear(line, T), expected);
    }
}
