//! `08_load pingpong`: many clients, each sending lines one at a time and
//! checking each reply. Messages per second and round-trip latency.

use super::*;

/// The pingpong scenario.
#[derive(Debug, Clone, Copy)]
pub struct PingPong {
    pub clients: usize,
    pub messages: usize,
    pub size: usize,
    pub expect: Expect,
}

/// What a pingpong run measured. `ok + wrong + errors` is always
/// `clients * messages`: a line never answered counts as an error.
#[derive(Debug, Default)]
pub struct PingPongReport {
    pub clients: usize,
    pub messages: usize,
    pub size: usize,
    pub ok: u64,
    pub wrong: u64,
    pub errors: u64,
    pub secs: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub first_error: Option<String>,
}

impl PingPongReport {
    pub fn passed(&self) -> bool {
        self.wrong == 0 && self.errors == 0
    }

    pub fn msgs_per_sec(&self) -> f64 {
        self.ok as f64 / self.secs.max(1e-9)
    }

    pub fn summary(&self) -> String {
        let mut s = format!(
            "pingpong: {} clients x {} lines of {} bytes: {} ok, {} wrong, {} errors in {:.2} s \
             = {:.0} msgs/s; round trip p50 {:.0} us, p99 {:.0} us, max {:.0} us",
            self.clients,
            self.messages,
            self.size,
            self.ok,
            self.wrong,
            self.errors,
            self.secs,
            self.msgs_per_sec(),
            micros(self.p50),
            micros(self.p99),
            micros(self.max),
        );
        if let Some(e) = &self.first_error {
            let _ = write!(s, "; first error: {e}");
        }
        s
    }

    pub fn json(&self) -> String {
        format!(
            "{{\"mode\":\"pingpong\",\"clients\":{},\"messages\":{},\"size\":{},\"ok\":{},\
             \"wrong\":{},\"errors\":{},\"secs\":{:.3},\"msgs_per_sec\":{:.1},\"p50_us\":{:.1},\
             \"p99_us\":{:.1},\"max_us\":{:.1},\"passed\":{},\"first_error\":{}}}",
            self.clients,
            self.messages,
            self.size,
            self.ok,
            self.wrong,
            self.errors,
            self.secs,
            self.msgs_per_sec(),
            micros(self.p50),
            micros(self.p99),
            micros(self.max),
            self.passed(),
            json_error(&self.first_error),
        )
    }
}

/// One client's share of a pingpong run.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) ok: u64,
    pub(super) wrong: u64,
    pub(super) latencies: Vec<Duration>,
    pub(super) error: Option<String>,
}

/// Sends `messages` lines one at a time, waiting for each reply.
pub(super) fn pingpong_client(
    target: &Target,
    stream: io::Result<TcpStream>,
    id: usize,
    scenario: &PingPong,
) -> Tally {
    let mut tally = Tally {
        latencies: Vec::with_capacity(scenario.messages),
        ..Tally::default()
    };
    let result = (|| -> io::Result<()> {
        let stream = stream?;
        // One deadline per exchange (the line and its whole reply), set
        // before each; the reply is read through the framing limit: a line
        // longer than the one we sent is wrong anyway, and a server that
        // never sends a newline cannot make us grow.
        let mut replies = BufReader::new(Within {
            stream: &stream,
            deadline: Deadline::none(),
        });
        for index in 0..scenario.messages {
            target.check_deadline()?;
            replies.get_mut().deadline = target.exchange("reply");
            let line = payload(id, index, scenario.size);
            let expected = scenario.expect.reply(&line);
            let mut request = line;
            request.push(b'\n');
            let start = Instant::now();
            replies.get_mut().write_all(&request)?;
            let wrong = match framing::read_line(&mut replies, scenario.size) {
                Ok(Some(reply)) => {
                    tally.latencies.push(start.elapsed());
                    if reply.as_bytes() == expected {
                        tally.ok += 1;
                        continue;
                    }
                    format!("wrong reply {reply:?}")
                }
                Ok(None) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    ));
                }
                Err(LineError::Io(e)) => return Err(e),
                Err(LineError::NotUtf8) => "a reply that is not UTF-8".to_string(),
                Err(LineError::TooLong { max }) => {
                    // The rest of that reply is still unread: out of step.
                    tally.wrong += 1;
                    tally
                        .error
                        .get_or_insert(format!("a reply longer than the {max} bytes sent"));
                    return Ok(());
                }
            };
            tally.wrong += 1;
            tally.error.get_or_insert(wrong);
        }
        Ok(())
    })();
    if let Err(e) = result {
        tally.error.get_or_insert(crate::cli::describe(&e));
    }
    tally
}

// ANCHOR: pingpong
/// Runs `clients` connections at once, each sending its lines one at a
/// time and checking every reply. The clock starts once all are connected.
pub fn pingpong(target: &Target, scenario: &PingPong) -> io::Result<PingPongReport> {
    let n = scenario.clients;
    // Every client connects first and then waits at this gate, held shut
    // (write-locked) until all have connected, so that the clock measures
    // only the exchange, with every client running.
    let gate = RwLock::new(());
    let (connected_tx, connected) = mpsc::channel();
    let (tallies, secs) =
        thread::scope(|s| -> io::Result<(Vec<Tally>, f64)> {
            let shut = gate.write().unwrap_or_else(PoisonError::into_inner);
            let mut handles = Vec::with_capacity(n);
            for id in 0..n {
                let (gate, connected_tx) = (&gate, connected_tx.clone());
                let spawned = thread::Builder::new()
                    .name(format!("client {id}"))
                    .stack_size(CLIENT_STACK)
                    .spawn_scoped(s, move || {
                        let stream = target.connect();
                        let _ = connected_tx.send(());
                        drop(gate.read()); // returns once the gate opens
                        pingpong_client(target, stream, id, scenario)
                    });
                // On error, returning drops `shut` first, so the clients
                // started so far run and end before the scope returns.
                handles.push(spawned.map_err(|e| {
                    io::Error::other(format!("cannot start client thread {id}: {e}"))
                })?);
            }
            for _ in 0..n {
                // Each client signals once its connect has succeeded or failed,
                // which takes at most the connect timeout, and never waits
                // past the end of the run.
                let wait = target.left_at_most(target.timeout + Duration::from_secs(1));
                let _ = connected.recv_timeout(wait);
            }
            drop(shut);
            let start = Instant::now();
            let tallies = handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect();
            Ok((tallies, start.elapsed().as_secs_f64()))
        })?;
    let mut report = PingPongReport {
        clients: n,
        messages: scenario.messages,
        size: scenario.size,
        secs,
        ..PingPongReport::default()
    };
    let mut latencies = Vec::with_capacity(n * scenario.messages);
    for tally in tallies {
        report.ok += tally.ok;
        report.wrong += tally.wrong;
        latencies.extend(tally.latencies);
        if report.first_error.is_none() {
            report.first_error = tally.error;
        }
    }
    report.errors = (n * scenario.messages) as u64 - report.ok - report.wrong;
    latencies.sort_unstable();
    report.p50 = percentile(&latencies, 50.0);
    report.p99 = percentile(&latencies, 99.0);
    report.max = latencies.last().copied().unwrap_or_default();
    Ok(report)
}
// ANCHOR_END: pingpong
