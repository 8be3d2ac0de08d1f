//! `cargo run -p exercises -- grade PROTOCOL --addr HOST:PORT` (or `--run
//! 'COMMAND {port}'`): the exercises' own checks, run against any server,
//! in any language, over the network.
//!
//! The checks of an exercise take the code under test as a function: echo's
//! serves a listener the check bound, reverse's serves one connection. Here
//! that function is a relay ([`relay_all`], [`relay_one`]): every
//! connection a check makes is forwarded to the server under grade by
//! lesson 09's proxy, both directions, the half-close passed on. So the
//! checks, their words and their replays over a sliced or merged wire are
//! the exercises' own, not a copy. (One check is grade's alone: reverse's
//! two clients at once, which a function serving one connection cannot
//! fail.)

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use checks::Check;
use clap::{ArgGroup, Subcommand};
use lessons::proxy::{Heard, Proxy, Tap};

use crate::json::quote;

mod transcript;

/// `grade`: the protocols, each a subcommand with its rules as its help.
#[derive(clap::Args)]
#[command(
    subcommand_value_name = "PROTOCOL",
    subcommand_help_heading = "Protocols",
    after_help = "Each protocol's rules: `grade PROTOCOL --help`. The checks are the \
                  exercises' own (exercises/crates/checks/), run over a relay to your server, \
                  and for reverse one more: two clients at once."
)]
pub struct Args {
    #[command(subcommand)]
    protocol: Protocol,
}

// ANCHOR: protocols
#[derive(Subcommand)]
enum Protocol {
    #[command(verbatim_doc_comment)]
    /// Exercise 02b's echo server: every byte back, many clients at once.
    ///
    /// Rules, for a server in any language:
    ///
    /// - Every byte a client sends comes back to that client, unchanged and
    ///   at once: any bytes (not only UTF-8 text, not only whole lines), as
    ///   soon as they arrive. No greeting, nothing added.
    /// - Many clients are served at the same time; a client's bytes go back
    ///   to that client only.
    /// - When a client closes its sending side (a half-close), the server
    ///   sends what is left and closes the connection.
    /// - A client that vanishes (a reset) ends only its own connection.
    /// - The server closes a connection cleanly (a FIN), never with bytes
    ///   from the client unread: that close is a reset (an RST).
    Echo(Target),
    #[command(verbatim_doc_comment)]
    /// Exercise 03's reverse server: each line back reversed by characters.
    ///
    /// Rules, for a server in any language:
    ///
    /// - A line ends with `\n`; a `\r` just before it belongs to the line
    ///   end. Each line gets one reply: its characters (Unicode scalar
    ///   values, not bytes) in reverse order, then `\n`. Spaces are kept.
    ///   No greeting.
    /// - Lines arrive cut anywhere (inside a character too) or several in
    ///   one piece: answer each whole line once.
    /// - A line that is not UTF-8 gets a reply starting with `error:`, and
    ///   the connection goes on.
    /// - A line may hold up to 1024 bytes before its line end. A longer
    ///   one gets a reply starting with `error:` as soon as 1025 bytes have
    ///   come without a `\n`, and then the server closes the connection,
    ///   cleanly: a close with bytes from the client still unread is a
    ///   reset (an RST), which can destroy the error line. Shut down the
    ///   sending side and read the rest for a moment first.
    /// - When the client closes its sending side, the server closes the
    ///   connection.
    /// - Many clients are served at the same time: a second client is
    ///   answered while the first is still connected.
    Reverse(Target),
    #[command(verbatim_doc_comment)]
    /// Lesson 05's room: a line from one client reaches every other client.
    ///
    /// Rules, for a server in any language:
    ///
    /// - A line ends with `\n`. A line one client sends reaches every other
    ///   connected client as a line that contains it: a prefix before it
    ///   (`[#3] `, a name) is fine, and so is a greeting or a notice when
    ///   someone joins or leaves (any line that does not contain the text).
    /// - It never comes back to its sender.
    /// - Many clients (twenty here) are served at the same time.
    /// - A line may arrive cut into pieces: it is relayed once, whole.
    /// - A client that never reads may hold the others back for 12 seconds
    ///   at most (while another sends 12 MiB): drop it, or queue for it,
    ///   but the others' lines flow again.
    /// - A line that is not UTF-8 ends at most its sender's connection:
    ///   the others go on, and new clients are still served.
    /// - The checks never send a line that starts with `/`.
    Room(Target),
    #[command(verbatim_doc_comment)]
    /// Exercise 09's proxy: every byte both ways, the half-close passed on.
    ///
    /// grade plays the client and the upstream server. It listens for your
    /// proxy's upstream connections on 127.0.0.1: on a port of its own
    /// choosing, which it puts where `{upstream}` is in the --run command
    /// (e.g. --run './proxy --listen 127.0.0.1:{port} --to
    /// 127.0.0.1:{upstream}'), or on --upstream-port with --addr (start
    /// your proxy forwarding there).
    ///
    /// Rules, for a proxy in any language:
    ///
    /// - For each client that connects, the proxy connects to the upstream
    ///   server at once (within 5 s), and forwards every byte
    ///   each side sends to the other, unchanged, as it comes, in both
    ///   directions at once. Nothing is added: no greeting.
    /// - When one side half-closes (finishes sending), the proxy passes
    ///   that on as a half-close, and keeps forwarding the other direction
    ///   until it ends too; then it closes both connections.
    /// - Any bytes, not only text; megabytes both ways at once.
    Proxy(ProxyTarget),
}
// ANCHOR_END: protocols

/// A proxy under grade: where it is, and where grade listens for its
/// upstream connections.
#[derive(clap::Args)]
struct ProxyTarget {
    #[command(flatten)]
    target: Target,
    /// The port on 127.0.0.1 where your proxy connects upstream, on which
    /// grade listens: needed with --addr; with --run, grade picks one
    /// unless given, and puts it where `{upstream}` is.
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    upstream_port: Option<u16>,
}

/// Where the server under grade is, and how to report.
#[derive(clap::Args)]
#[command(group(ArgGroup::new("server").required(true).args(["addr", "run"])))]
struct Target {
    /// The address of a running server, e.g. 127.0.0.1:7000.
    #[arg(long, value_name = "HOST:PORT")]
    addr: Option<String>,
    /// A command that starts the server, with `{port}` where its port
    /// goes, e.g. 'python3 server.py {port}'. It runs with `sh -c` (`cmd
    /// /C` on Windows), is restarted if it dies between checks, and is
    /// stopped at the end.
    #[arg(long, value_name = "COMMAND")]
    run: Option<String>,
    /// The seed of the random order of the checks; printed in every report,
    /// so that the same seed replays the same run. Default: from the clock.
    #[arg(long)]
    seed: Option<u64>,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// Also write the report as JUnit XML, one test case per check.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// How long the server started by --run may take to accept a
    /// connection (seconds).
    #[arg(long, default_value = "10", value_parser = lessons::cli::parse_secs)]
    start_timeout: Duration,
}

/// Checks whose premise is not a server's behaviour over a network, with
/// why they are skipped. (Every other check of echo, reverse and room talks to
/// its subject over sockets only.)
const SKIPPED: &[(&str, &str, &str)] = &[
    (
        "echo",
        checks::echo_server::OUT_OF_DESCRIPTORS,
        "it runs the exercise's function in a process of its own with every file descriptor \
         in use; grade cannot do that to a server it reaches over the network",
    ),
    (
        "proxy",
        "an_error_on_one_side_closes_the_other_side_too",
        "its premise is an error (a reset) on one side of your proxy, and grade's relay can \
     only close its connection cleanly (std cannot send a reset on demand): your proxy sees \
     a half-close, which the half-close checks cover; and what `forward` returns is the \
     exercise's function, not your program",
    ),
];

/// Words of the checks that name the exercise's function, where grade runs
/// a relay in its place: the relay ends when the server closes the
/// connection, so "the function returned" reads as that.
const REWORDED: &[(&str, &str)] = &[
    (
        "reverse_lines returned Ok(()) while the client was still connected: it should serve \
         line after line until the client closes the connection.",
        "your server closed the connection while the client was still connected: it should \
         serve line after line until the client closes its side.",
    ),
    (
        "reverse_lines was still running",
        "your server still held the connection open",
    ),
    // Exercise 09's `forward` is grade's relays, through your proxy: they
    // end when your proxy closes its connections, and fail with them
    // ("a relayed connection failed" is relay_proxied's only error).
    (
        "`forward` had already returned Ok(())",
        "your proxy had already closed both its connections",
    ),
    (
        "`forward` had already returned Err(a relayed connection failed)",
        "a connection through your proxy had already failed or been reset",
    ),
    (
        ": it must forward until both directions have ended, and only then return.",
        ": it must forward until both directions have ended, and only then close its \
         connections.",
    ),
    (
        "later `forward` had not returned. Once both directions have ended, return Ok(()): join \
         both threads (thread::scope does it for you).",
        "later your proxy still held a connection open. Once both directions have ended, close \
         both connections.",
    ),
    (
        "and `forward` returned Err(a relayed connection failed)",
        "and a connection through your proxy failed or was reset",
    ),
    (
        "that is how a connection ends normally, so return Ok(()).",
        "that is how a connection ends normally, so close both connections cleanly.",
    ),
];

/// A check passed, but the server reset a connection on the way: it
/// closed its socket with bytes from the client unread, and the kernel
/// sent an RST instead of a FIN. The relay had read the replies already;
/// a client often has not. Echo and reverse only: a room may drop a client
/// that does not read, and a proxy passes its sides' resets on.
fn reset_by_the_server(protocol: &str) -> Option<String> {
    if !matches!(protocol, "echo" | "reverse") {
        return None;
    }
    let (connection, last) = transcript::reset_by_the_server()?;
    let after = if last.is_empty() {
        "before it sent anything".to_string()
    } else {
        format!("after its last bytes, {}", checks::harness::show(&last))
    };
    Some(format!(
        "your server reset connection {connection} (an RST, not a FIN) {after}: it closed \
         its socket while bytes from the client were still unread, and the kernel then \
         resets the connection. A reset can destroy replies the client has not read yet \
         (Windows discards them; anywhere, a reply still on its way is lost), so the \
         client may never see them. (grade's relay read them before the reset, and they \
         were right.)\nBefore closing, shut down the writing side (shutdown(Write); in \
         Python, shutdown(socket.SHUT_WR)) and read what the client still sends for a \
         moment (lessons::framing::say_and_close), or read to the end of the stream."
    ))
}

/// The server under grade, as the relays reach it.
static TARGET: OnceLock<String> = OnceLock::new();

fn target() -> String {
    TARGET.get().cloned().unwrap_or_default()
}

// ANCHOR: relays
/// Echo's subject: serves the check's listener by relaying every
/// connection to the server under grade.
fn relay_all(listener: TcpListener) -> io::Result<()> {
    Proxy::new(&target()).serve_tapped(&listener, transcript::tap())
}

/// Reverse's subject: relays the check's connection to the server under
/// grade, and returns once both directions have ended.
fn relay_one(client: TcpStream) -> io::Result<()> {
    Proxy::new(&target()).forward_one(client, Some(transcript::tap()))
}

/// Proxy's subject: the check's client and server, with the proxy under
/// grade between them. The client's side is relayed to the proxy, and the
/// proxy's upstream connection, accepted on grade's listener, to the
/// server; both relays pass the half-close on. `Err` if either relay's
/// connection failed.
fn relay_proxied(client: TcpStream, server: TcpStream) -> io::Result<()> {
    let Some(upstream) = UPSTREAM.get() else {
        return Err(io::Error::other("grade has no upstream listener"));
    };
    let failed = Arc::new(AtomicBool::new(false));
    let (front, back) = transcript::tap_pair();
    let (front, back) = (
        noting_failure(front, &failed),
        noting_failure(back, &failed),
    );
    let to = target();
    thread::scope(|s| {
        // Connections that arrived while no check waited (the start's
        // probe, an earlier check's late one) are not this client's.
        let accepted = lock(&upstream.accepted);
        while accepted.try_recv().is_ok() {}
        let proxy = to.clone();
        let front = s.spawn(move || Proxy::new(&proxy).forward_one(client, Some(front)));
        let connected = accepted.recv_timeout(UPSTREAM_WAIT);
        drop(accepted);
        match connected {
            Ok(conn) => {
                let _ = Proxy::new(&to).forward_between(conn, server, Some(back));
            }
            Err(_) => {
                note(format!(
                    "grade's relay: your proxy did not connect to the upstream server \
                     (127.0.0.1:{}) within {UPSTREAM_WAIT:?} of the client's connection",
                    upstream.port
                ));
                failed.store(true, Ordering::SeqCst);
                drop(server);
            }
        }
        let _ = front.join();
    });
    if failed.load(Ordering::SeqCst) {
        return Err(io::Error::other("a relayed connection failed"));
    }
    Ok(())
}
// ANCHOR_END: relays

/// `tap`, which also sets `failed` when a direction fails.
fn noting_failure(tap: Tap, failed: &Arc<AtomicBool>) -> Tap {
    let failed = Arc::clone(failed);
    Arc::new(move |id, dir, heard| {
        if matches!(heard, Heard::Failed(_) | Heard::Reset(_)) {
            failed.store(true, Ordering::SeqCst);
        }
        tap(id, dir, heard);
    })
}

/// How long the proxy under grade may take to connect upstream once a
/// client has connected to it.
const UPSTREAM_WAIT: Duration = Duration::from_secs(5);

/// Where grade listens for the upstream connections of a proxy under
/// grade, and the connections accepted there.
struct Upstream {
    port: u16,
    accepted: Mutex<Receiver<TcpStream>>,
}

static UPSTREAM: OnceLock<Upstream> = OnceLock::new();

/// Listens on 127.0.0.1:`port` (0: any free port) for the proxy's upstream
/// connections; returns the port.
fn listen_upstream(port: u16) -> Result<u16, String> {
    let listener = TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
        format!("cannot listen for the upstream connections on 127.0.0.1:{port}: {e}")
    })?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("cannot read the upstream listener's port: {e}"))?
        .port();
    let (sender, receiver) = mpsc::channel();
    thread::Builder::new()
        .name("upstream accept".into())
        .spawn(move || {
            for conn in listener.incoming().flatten() {
                if sender.send(conn).is_err() {
                    return;
                }
            }
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    let _ = UPSTREAM.set(Upstream {
        port,
        accepted: Mutex::new(receiver),
    });
    Ok(port)
}

/// After the start's probe (a connection made and closed to see that the
/// proxy listens), the proxy's upstream connection for it, if it makes
/// one: waited for a moment and closed, so that no check takes it for its
/// own.
fn drop_the_probe_s_upstream() {
    if let Some(upstream) = UPSTREAM.get() {
        let _ = lock(&upstream.accepted).recv_timeout(Duration::from_secs(1));
    }
}

/// What grade's relays noticed during the current check, for its message.
static NOTES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn note(text: String) {
    lock(&NOTES).push(text);
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How one check turned out.
enum Outcome {
    Passed,
    Failed(String),
    Skipped(&'static str),
}

/// One check of a run: its name, how it turned out, how long it took.
struct CheckResult {
    name: &'static str,
    outcome: Outcome,
    seconds: f64,
    /// For the first check that fails: the transcript as text, and as JSON.
    transcript: Option<(String, String)>,
}

pub fn main(args: Args) -> ExitCode {
    let graded = match args.protocol {
        Protocol::Echo(t) => grade("echo", &t, Vec::new(), || {
            Ok(checks::echo_server::checks(relay_all))
        }),
        // Exercise 03's checks serve one connection each; a whole server
        // must also serve many at once.
        Protocol::Reverse(t) => grade("reverse", &t, Vec::new(), || {
            let mut list = checks::reverse::checks(relay_one);
            list.push(Check::new(
                "a_second_client_is_served_while_the_first_stays_connected",
                || {
                    checks::reverse::a_second_client_is_served_while_the_first_stays_connected(
                        relay_one,
                    )
                },
            ));
            Ok(list)
        }),
        // The room's checks are clients of an address: a relay's, in front
        // of the server under grade, so that the transcript has the bytes.
        Protocol::Room(t) => grade("room", &t, Vec::new(), || {
            let listener = TcpListener::bind("127.0.0.1:0")
                .map_err(|e| format!("cannot listen for the relay: {e}"))?;
            let addr = listener
                .local_addr()
                .map_err(|e| format!("cannot read the relay's port: {e}"))?;
            thread::Builder::new()
                .name("room relay".into())
                .spawn(move || {
                    Proxy::new(&target()).serve_tapped(&listener, transcript::lasting_tap())
                })
                .map_err(|e| format!("cannot start a thread: {e}"))?;
            Ok(checks::room::checks(addr))
        }),
        Protocol::Proxy(p) => proxy(&p),
    };
    match graded {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("grade: {e}");
            ExitCode::from(2)
        }
    }
}

/// Grades a proxy: grade's upstream listener first, its port in `--run`.
fn proxy(p: &ProxyTarget) -> Result<bool, String> {
    let port = match (&p.target.run, p.upstream_port) {
        (Some(run), _) if !run.contains("{upstream}") => {
            return Err(format!(
                "the --run command has no {{upstream}}: grade listens for your proxy's \
                 upstream connections on a port it picks, and puts it there (got {run:?})"
            ));
        }
        (Some(_), port) => listen_upstream(port.unwrap_or(0))?,
        (None, Some(port)) => listen_upstream(port)?,
        (None, None) => {
            return Err(
                "with --addr, give --upstream-port PORT: the port on 127.0.0.1 your \
                 proxy forwards to, where grade plays the server"
                    .to_string(),
            );
        }
    };
    grade(
        "proxy",
        &p.target,
        vec![("{upstream}", port.to_string())],
        || {
            drop_the_probe_s_upstream();
            Ok(checks::proxy::checks(relay_proxied))
        },
    )
}

/// Runs the checks `make` returns once the server is up against the server
/// `target` names (`{name}`s of --run replaced as `fill` says); true if all
/// passed.
fn grade(
    protocol: &str,
    target: &Target,
    fill: Vec<(&'static str, String)>,
    make: impl FnOnce() -> Result<Vec<Check>, String>,
) -> Result<bool, String> {
    let seed = target.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let mut server = match (&target.addr, &target.run) {
        (Some(addr), _) => Server::Addr(addr.clone()),
        (None, Some(command)) => Server::Run(Runner::new(command, target.start_timeout, fill)?),
        (None, None) => return Err("give --addr HOST:PORT or --run COMMAND".to_string()),
    };
    let addr = server.start()?;
    let _ = TARGET.set(addr);
    let order = shuffled(make()?, seed);
    let described = server.describe();
    let mut out = Report::new(target.json);
    out.line(&format!("grade {protocol}: {described} (seed {seed})"));
    let mut results = Vec::new();
    for check in &order {
        let skipped = SKIPPED
            .iter()
            .find(|(p, c, _)| *p == protocol && *c == check.name);
        let started = Instant::now();
        transcript::start();
        lock(&NOTES).clear();
        let outcome = if let Some((_, _, why)) = skipped {
            Outcome::Skipped(why)
        } else if let Err(e) = server.ensure_up(check.name) {
            Outcome::Failed(e)
        } else {
            match checks::run(check) {
                Ok(()) => match reset_by_the_server(protocol) {
                    Some(why) => Outcome::Failed(server.annotate(why)),
                    None => Outcome::Passed,
                },
                Err(message) => {
                    let mut message = reword(&message);
                    for note in lock(&NOTES).iter() {
                        message = format!("{message}\n({note}.)");
                    }
                    Outcome::Failed(server.annotate(message))
                }
            }
        };
        let first_failure = matches!(outcome, Outcome::Failed(_))
            && !results
                .iter()
                .any(|r: &CheckResult| matches!(r.outcome, Outcome::Failed(_)));
        if first_failure {
            transcript::settle(Duration::from_secs(1));
        }
        let events = transcript::take();
        let result = CheckResult {
            name: check.name,
            outcome,
            seconds: started.elapsed().as_secs_f64(),
            transcript: first_failure.then(|| {
                (
                    transcript::describe(protocol, &events),
                    transcript::json(&events),
                )
            }),
        };
        out.result(&result);
        results.push(result);
    }
    server.stop();
    let failed = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
        .count();
    let skipped = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Skipped(_)))
        .count();
    let passed = results.len() - failed - skipped;
    let notes = server.notes();
    for note in &notes {
        out.line(note);
    }
    out.line(&format!(
        "{}: {passed} passed, {failed} failed, {skipped} skipped (seed {seed}; the same run \
         again: --seed {seed})",
        if failed == 0 { "ok" } else { "FAILED" }
    ));
    let stderr = server.stderr();
    if target.json {
        out.json(protocol, &described, seed, &results, &notes, &stderr);
    }
    if let Some(path) = &target.junit {
        let xml = junit(protocol, seed, &results, &stderr);
        std::fs::write(path, xml)
            .map_err(|e| format!("cannot write the JUnit report {}: {e}", path.display()))?;
    }
    Ok(failed == 0)
}

/// Puts grade's words where a check names the exercise's function.
fn reword(message: &str) -> String {
    REWORDED
        .iter()
        .fold(message.to_string(), |m, (from, to)| m.replace(from, to))
}

/// The checks in an order drawn from `seed` (splitmix64, Fisher-Yates).
fn shuffled(mut checks: Vec<Check>, seed: u64) -> Vec<Check> {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..checks.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        checks.swap(i, j);
    }
    checks
}

/// The text report, line by line as the checks end (unless --json, which
/// prints one object at the end). Nothing in it depends on the clock or on
/// a port: the same seed against the same server prints the same bytes.
struct Report {
    json: bool,
}

impl Report {
    fn new(json: bool) -> Report {
        Report { json }
    }

    /// Prints a line; a closed stdout stops nothing.
    fn line(&mut self, line: &str) {
        if !self.json {
            let mut out = io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }

    fn result(&mut self, r: &CheckResult) {
        let text = match &r.outcome {
            Outcome::Passed => format!("ok       {}", r.name),
            Outcome::Skipped(why) => format!("skipped  {}: {why}", r.name),
            Outcome::Failed(message) => {
                let mut text = format!("FAILED   {}", r.name);
                let transcript = r.transcript.as_ref().map(|(t, _)| t.as_str());
                for line in message
                    .lines()
                    .chain(transcript.into_iter().flat_map(str::lines))
                {
                    text.push_str("\n         ");
                    text.push_str(line);
                }
                text
            }
        };
        self.line(&text);
    }

    fn json(
        &mut self,
        protocol: &str,
        server: &str,
        seed: u64,
        results: &[CheckResult],
        notes: &[String],
        stderr: &[String],
    ) {
        let checks: Vec<String> = results
            .iter()
            .map(|r| {
                let (outcome, message) = match &r.outcome {
                    Outcome::Passed => ("passed", "null".to_string()),
                    Outcome::Failed(m) => ("failed", quote(m)),
                    Outcome::Skipped(why) => ("skipped", quote(why)),
                };
                let transcript = r.transcript.as_ref().map_or("null", |(_, j)| j.as_str());
                format!(
                    "{{\"name\":{},\"outcome\":\"{outcome}\",\"message\":{message},\
                     \"seconds\":{:.3},\"transcript\":{transcript}}}",
                    quote(r.name),
                    r.seconds
                )
            })
            .collect();
        let count = |o: &str| {
            results
                .iter()
                .filter(|r| {
                    o == match r.outcome {
                        Outcome::Passed => "passed",
                        Outcome::Failed(_) => "failed",
                        Outcome::Skipped(_) => "skipped",
                    }
                })
                .count()
        };
        let list = |items: &[String]| items.iter().map(|s| quote(s)).collect::<Vec<_>>().join(",");
        let text = format!(
            "{{\"protocol\":{},\"server\":{},\"seed\":{seed},\"passed\":{},\"failed\":{},\
             \"skipped\":{},\"checks\":[{}],\"notes\":[{}],\"server_stderr\":[{}]}}",
            quote(protocol),
            quote(server),
            count("passed"),
            count("failed"),
            count("skipped"),
            checks.join(","),
            list(notes),
            list(stderr)
        );
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
}

// ANCHOR: junit
/// The report as JUnit XML: one `<testcase>` per check; a failure's
/// `message` is the first line of the check's message, its text the whole.
fn junit(protocol: &str, seed: u64, results: &[CheckResult], stderr: &[String]) -> String {
    let failures = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
        .count();
    let skipped = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Skipped(_)))
        .count();
    let total: f64 = results.iter().map(|r| r.seconds).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites>\n<testsuite name=\"grade {protocol}\" tests=\"{}\" failures=\"{failures}\" \
         errors=\"0\" skipped=\"{skipped}\" time=\"{total:.3}\">",
        results.len()
    );
    let _ = writeln!(
        xml,
        "<properties><property name=\"seed\" value=\"{seed}\"/></properties>"
    );
    for r in results {
        let _ = write!(
            xml,
            "<testcase classname=\"grade.{protocol}\" name=\"{}\" time=\"{:.3}\"",
            xml_escape(r.name),
            r.seconds
        );
        match &r.outcome {
            Outcome::Passed => xml.push_str("/>\n"),
            Outcome::Skipped(why) => {
                let _ = writeln!(
                    xml,
                    "><skipped message=\"{}\"/></testcase>",
                    xml_escape(why)
                );
            }
            Outcome::Failed(message) => {
                let first = message.lines().next().unwrap_or_default();
                let mut text = message.clone();
                if let Some((transcript, _)) = &r.transcript {
                    text = format!("{text}\n\n{transcript}");
                }
                let _ = writeln!(
                    xml,
                    "><failure message=\"{}\">{}</failure></testcase>",
                    xml_escape(first),
                    xml_escape(&text)
                );
            }
        }
    }
    if !stderr.is_empty() {
        let _ = writeln!(
            xml,
            "<system-err>{}</system-err>",
            xml_escape(&stderr.join("\n"))
        );
    }
    xml.push_str("</testsuite>\n</testsuites>\n");
    xml
}
// ANCHOR_END: junit

/// Text for XML content and attributes. Characters XML 1.0 cannot hold at
/// all (most control characters) are written as `\u{..}`.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => {
                let _ = write!(out, "&#{};", c as u32);
            }
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The server under grade.
enum Server {
    /// Running already, at this address.
    Addr(String),
    /// Started (and restarted) by grade.
    Run(Runner),
}

impl Server {
    /// Makes sure the server answers; returns its address.
    fn start(&mut self) -> Result<String, String> {
        match self {
            Server::Addr(addr) => {
                let resolved = addr
                    .to_socket_addrs()
                    .map_err(|e| format!("cannot resolve {addr}: {e}"))?
                    .collect::<Vec<_>>();
                let reached = resolved
                    .iter()
                    .any(|a| TcpStream::connect_timeout(a, Duration::from_secs(2)).is_ok());
                if !reached {
                    return Err(format!(
                        "cannot connect to {addr}: no server answers there (is it running?)"
                    ));
                }
                Ok(addr.clone())
            }
            Server::Run(runner) => {
                runner.spawn()?;
                Ok(runner.addr().to_string())
            }
        }
    }

    /// The server as the report names it (no port: it changes from run to
    /// run with --run).
    fn describe(&self) -> String {
        match self {
            Server::Addr(addr) => addr.clone(),
            Server::Run(runner) => format!("--run '{}'", runner.command),
        }
    }

    /// Before a check: a server started by --run that has exited is
    /// started again, and the report says so.
    fn ensure_up(&mut self, check: &str) -> Result<(), String> {
        match self {
            Server::Addr(_) => Ok(()),
            Server::Run(runner) => runner.ensure_up(check),
        }
    }

    /// A check's message, and if the server started by --run exited during
    /// the check, that first: the real problem, whatever the client saw.
    fn annotate(&mut self, message: String) -> String {
        match self {
            Server::Run(runner) => match runner.exited() {
                Some(status) => format!(
                    "the server exited ({status}) during this check; its last lines on \
                     stderr: {:?}\n(What the check saw: {message})",
                    runner.last_stderr(5)
                ),
                None => message,
            },
            Server::Addr(_) => message,
        }
    }

    fn notes(&self) -> Vec<String> {
        match self {
            Server::Run(runner) => runner.notes.clone(),
            Server::Addr(_) => Vec::new(),
        }
    }

    fn stderr(&self) -> Vec<String> {
        match self {
            Server::Run(runner) => runner.last_stderr(50),
            Server::Addr(_) => Vec::new(),
        }
    }

    fn stop(&mut self) {
        if let Server::Run(runner) = self {
            runner.kill();
        }
    }
}

/// A server started by `--run`.
struct Runner {
    command: String,
    /// Other `{name}`s of the command, and what goes there.
    fill: Vec<(&'static str, String)>,
    port: u16,
    start_timeout: Duration,
    child: Option<Child>,
    /// Everything it wrote on stderr, line by line, over all its starts.
    stderr: Arc<Mutex<Vec<String>>>,
    /// Restarts, for the report.
    notes: Vec<String>,
}

impl Runner {
    fn new(
        command: &str,
        start_timeout: Duration,
        fill: Vec<(&'static str, String)>,
    ) -> Result<Runner, String> {
        if !command.contains("{port}") {
            return Err(format!(
                "the --run command has no {{port}}: grade picks the port and puts it there \
                 (got {command:?})"
            ));
        }
        // A free port: the system picks one for a listener that is dropped
        // at once. (Another program could take it in between; the start
        // then fails with the server's own words.)
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("cannot find a free port: {e}"))?
            .port();
        Ok(Runner {
            command: command.to_string(),
            fill,
            port,
            start_timeout,
            child: None,
            stderr: Arc::default(),
            notes: Vec::new(),
        })
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Starts the command and waits until its port accepts a connection.
    fn spawn(&mut self) -> Result<(), String> {
        let line = self.fill.iter().fold(
            self.command.replace("{port}", &self.port.to_string()),
            |l, (name, value)| l.replace(name, value),
        );
        let mut command = shell(&line);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        {
            // Its own process group, so that stopping it stops what the
            // shell started too.
            use std::os::unix::process::CommandExt;
            command.process_group(0);
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot run {line:?}: {e}"))?;
        if let Some(pipe) = child.stderr.take() {
            let lines = Arc::clone(&self.stderr);
            let _ = thread::Builder::new()
                .name("server stderr".into())
                .spawn(move || keep_lines(pipe, &lines));
        }
        self.child = Some(child);
        let deadline = Instant::now() + self.start_timeout;
        loop {
            if let Some(status) = self.exited() {
                return Err(format!(
                    "the server exited ({status}) before it accepted a connection on port {}; \
                     its last lines on stderr: {:?}",
                    self.port,
                    self.last_stderr(5)
                ));
            }
            if TcpStream::connect_timeout(&self.addr(), Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(format!(
                    "the server did not accept a connection on 127.0.0.1:{} within {:?} of \
                     starting ({line:?}); its last lines on stderr: {:?}",
                    self.port,
                    self.start_timeout,
                    self.last_stderr(5)
                ));
            }
            // No event says "now listening" for a program we only started:
            // look again, shortly, until the deadline.
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Its exit status, if it has exited.
    fn exited(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("cannot tell whether it runs: {e}")),
        }
    }

    fn ensure_up(&mut self, check: &str) -> Result<(), String> {
        let Some(status) = self.exited() else {
            return Ok(());
        };
        self.notes.push(format!(
            "note: the server had exited ({status}) before `{check}`, and was started again"
        ));
        self.kill();
        self.spawn()
    }

    fn last_stderr(&self, n: usize) -> Vec<String> {
        let lines = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        lines[lines.len().saturating_sub(n)..].to_vec()
    }

    /// Stops the server and whatever its shell started.
    fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        #[cfg(unix)]
        {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .stderr(Stdio::null())
                .status();
        }
        #[cfg(windows)]
        {
            let _ = Command::new("taskkill")
                .args(["/T", "/F", "/PID", &child.id().to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The command line run by the system's shell.
fn shell(line: &str) -> Command {
    if cfg!(windows) {
        let mut c = Command::new("cmd");
        c.args(["/C", line]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", line]);
        c
    }
}

/// Reads `pipe` line by line into `lines` until it ends.
fn keep_lines(pipe: impl io::Read, lines: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line).trim_end().to_string();
                let mut lines = lines.lock().unwrap_or_else(|p| p.into_inner());
                lines.push(text);
                // The last thousand lines are plenty for a report.
                if lines.len() > 1000 {
                    lines.remove(0);
                }
            }
        }
    }
}
