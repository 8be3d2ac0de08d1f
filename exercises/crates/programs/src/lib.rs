//! The programs around the exercises (the library `programs`, package
//! `exercise-programs`): `cargo run -p exercises --bin NAME` runs your code
//! by hand, `cargo run -p solutions --bin NAME` the reference answer.
//!
//! Only the exercise's function is yours to write: the command line, the
//! accept loops and the console around it are here. Each program takes
//! that function as a parameter, so the same program runs your code
//! (`exercises/crates/NAME/program.rs`) and the reference answer
//! (`solutions/src/bin/NAME.rs`).

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use lessons::cli;
use lessons::framing;

use checks::shared::console_router::Event;

pub use checks::event_loop::Api as EventLoopApi;
use checks::event_loop::{Interest, Socket};
pub use checks::pool::Api as PoolApi;
use checks::shared::load::Report as LoadReport;

/// Exercise 01: squares computed on one thread per number.
#[derive(Parser)]
#[command(version)]
struct ThreadsArgs {
    /// The numbers to square, one thread each.
    #[arg(default_values_t = [1, 2, 3, 4], allow_negative_numbers = true)]
    numbers: Vec<i64>,
}

/// What the program asks `map_on_threads` to run: a plain function (which
/// is `Sync`, as the exercise requires).
pub type Square = fn(i64) -> i64;

pub fn threads(map_on_threads: fn(&[i64], Square) -> Vec<i64>) -> ExitCode {
    let args: ThreadsArgs = cli::parse();
    let squares = map_on_threads(&args.numbers, |n| n.saturating_mul(n));
    for (n, square) in args.numbers.iter().zip(squares) {
        println!("{n} squared is {square}");
    }
    ExitCode::SUCCESS
}

/// Exercise 02a: send each line you type to a server until you type `exit`.
#[derive(Parser)]
#[command(version)]
struct ClientArgs {
    /// The server to connect to.
    #[arg(long, default_value = "127.0.0.1:65432")]
    addr: String,

    /// Give up if connecting or any reply takes longer (seconds).
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
}

pub fn exit_client(
    run_client: fn(io::StdinLock<'static>, io::StdoutLock<'static>, TcpStream) -> io::Result<()>,
) -> ExitCode {
    let args: ClientArgs = cli::parse();
    let result = cli::timeout_secs(args.timeout)
        .and_then(|timeout| cli::connect(&args.addr, timeout))
        .and_then(|server| run_client(io::stdin().lock(), io::stdout().lock(), server));
    cli::exit_code(result)
}

/// Runs this exercise's server: your code with `-p exercises`, the
/// reference answer with `-p solutions`.
#[derive(Parser)]
#[command(version)]
struct ServerArgs {
    #[arg(long, help = cli::LISTEN_HELP)]
    addr: Option<String>,
}

impl ServerArgs {
    fn addr(&self, default: &str) -> String {
        self.addr.clone().unwrap_or_else(|| default.to_string())
    }
}

/// Exercise 02b: an echo server for many clients (`nc 127.0.0.1 65432`).
pub fn echo_server(serve_all: fn(TcpListener) -> io::Result<()>) -> ExitCode {
    let args: ServerArgs = cli::parse();
    let addr = args.addr("127.0.0.1:65432");
    cli::exit_code(cli::listen(&addr).and_then(serve_all))
}

/// Exercise 03: the reverse server (`nc 127.0.0.1 2002`); every client is
/// served by `reverse_lines` on a thread of its own.
pub fn reverse_server(reverse_lines: fn(TcpStream) -> io::Result<()>) -> ExitCode {
    let args: ServerArgs = cli::parse();
    let addr = args.addr("127.0.0.1:2002");
    let result = cli::listen(&addr).map(|listener| {
        for stream in listener.incoming().flatten() {
            let peer = stream
                .peer_addr()
                .map_or_else(|_| "(gone)".to_string(), |p| p.to_string());
            lessons::log_line!("client {peer} connected");
            let spawned = thread::Builder::new().spawn(move || match reverse_lines(stream) {
                Ok(()) => lessons::log_line!("client {peer} disconnected"),
                Err(e) => lessons::log_line!("client {peer} disconnected: {e}"),
            });
            if let Err(e) = spawned {
                lessons::log_error!("cannot start a thread for a client: {e}");
            }
        }
    });
    cli::exit_code(result)
}

/// Exercise 04: a full-duplex chat client. Try it against `nc -l 127.0.0.1
/// 12345` (or `nc -l 12345` with some netcats) in another terminal.
#[derive(Parser)]
#[command(version)]
struct ChatArgs {
    /// The peer to connect to.
    #[arg(long, default_value = "127.0.0.1:12345")]
    addr: String,

    /// Give up if connecting takes longer (seconds).
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
}

pub fn chat(chat: fn(io::Stdin, io::Stdout, TcpStream) -> io::Result<()>) -> ExitCode {
    let args: ChatArgs = cli::parse();
    let result = cli::timeout_secs(args.timeout)
        .and_then(|timeout| cli::connect(&args.addr, timeout))
        .and_then(|peer| {
            // A chat may be quiet for a long time: no read timeout.
            peer.set_read_timeout(None)?;
            chat(io::stdin(), io::stdout(), peer)
        });
    cli::exit_code(result)
}

/// Exercise 05: a server whose console talks to its clients. Every client
/// gets a number and a reader thread (which prints what it says); the
/// console thread reads your lines; `run_room` gets both as events.
pub fn console_router(run_room: fn(Receiver<Event>, io::Stdout) -> io::Result<()>) -> ExitCode {
    let args: ServerArgs = cli::parse();
    let addr = args.addr("127.0.0.1:6666");
    let listener = match cli::listen(&addr) {
        Ok(listener) => listener,
        Err(e) => return cli::exit_code(Err(e)),
    };
    lessons::log_line!("type a line for every client, or /to N text for client N");
    let (events, room) = mpsc::channel();
    let console = events.clone();
    let console_thread = thread::Builder::new().spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if console.send(Event::Console(line)).is_err() {
                break;
            }
        }
    });
    let accept_thread = thread::Builder::new().spawn(move || {
        for (id, stream) in (1..).zip(listener.incoming().flatten()) {
            let Ok(reader) = stream.try_clone() else {
                continue;
            };
            lessons::log_line!("client #{id} connected");
            if events.send(Event::Joined { id, stream }).is_err() {
                break;
            }
            let events = events.clone();
            let _ = thread::Builder::new().spawn(move || {
                let mut lines = BufReader::new(reader);
                while let Ok(Some(line)) = framing::read_line(&mut lines, framing::DEFAULT_MAX_LINE)
                {
                    lessons::log_line!("[#{id}] {line}");
                }
                lessons::log_line!("client #{id} disconnected");
                let _ = events.send(Event::Left { id });
            });
        }
    });
    if let Err(e) = console_thread.and(accept_thread) {
        return cli::exit_code(Err(e));
    }
    cli::exit_code(run_room(room, io::stdout()))
}

/// Exercise 06: ask several servers at once, e.g. two echo servers started
/// with `cargo run -p solutions --bin echo_server -- --addr 127.0.0.1:0`.
#[derive(Parser)]
#[command(version)]
struct FanOutArgs {
    /// A server to ask; give --addr once per server.
    #[arg(long, required = true)]
    addr: Vec<SocketAddr>,

    /// The question, sent as one line.
    #[arg(long, default_value = "hello")]
    question: String,

    /// How long each server may take to connect or to answer (seconds).
    #[arg(long, default_value_t = 3.0)]
    timeout: f64,
}

pub fn fan_out(ask_all: fn(&[SocketAddr], &str, Duration) -> Vec<io::Result<String>>) -> ExitCode {
    let args: FanOutArgs = cli::parse();
    let timeout = match cli::timeout_secs(args.timeout) {
        Ok(timeout) => timeout,
        Err(e) => return cli::exit_code(Err(e)),
    };
    let answers = ask_all(&args.addr, &args.question, timeout);
    let mut failed = 0;
    for (addr, answer) in args.addr.iter().zip(answers) {
        match answer {
            Ok(answer) => println!("{addr}: {answer}"),
            Err(e) => {
                failed += 1;
                println!("{addr}: failed: {e}");
            }
        }
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("error: {failed} server(s) failed");
        ExitCode::FAILURE
    }
}

/// Exercise 07: lesson 03's reverse server, each client served by a job of
/// your pool. `/panic` from a client makes its job panic: its worker must
/// survive. `/quit` (or Ctrl-D) on the console shuts the pool down.
#[derive(Parser)]
#[command(version)]
struct PoolArgs {
    #[arg(long, default_value = "127.0.0.1:2007", help = cli::LISTEN_HELP)]
    addr: String,

    /// How many workers serve clients: how many clients are served at once.
    #[arg(long, default_value_t = 2, value_parser = cli::count(1..=256))]
    workers: usize,

    /// How many clients may wait for a free worker; more are told `error: server busy`.
    #[arg(long, default_value_t = 4, value_parser = cli::count(0..=4096))]
    queue: usize,
}

pub fn pool_server<P: Send + Sync + 'static>(pool: PoolApi<P>) -> ExitCode {
    let args: PoolArgs = cli::parse();
    let listener = match cli::listen(&args.addr) {
        Ok(listener) => listener,
        Err(e) => return cli::exit_code(Err(e)),
    };
    let workers = match (pool.new)(args.workers, args.queue) {
        Ok(workers) => std::sync::Arc::new(workers),
        Err(e) => return cli::exit_code(Err(e)),
    };
    lessons::log_line!(
        "{} workers, {} places in the queue; type /quit to shut down",
        args.workers,
        args.queue
    );
    let accepting = std::sync::Arc::clone(&workers);
    let accept_thread = thread::Builder::new().spawn(move || {
        for (stream, peer) in cli::clients(&listener) {
            // The job needs its own handle: `submit` takes the job, and the
            // stream must stay here to say no if the pool refuses it.
            let Ok(handle) = stream.try_clone() else {
                continue;
            };
            let job = Box::new(move || serve_reversed(handle, peer));
            match (pool.submit)(&accepting, job) {
                Ok(()) => lessons::log_line!("client {peer}: queued"),
                Err(refused) => {
                    let why = match refused {
                        checks::shared::pool::Refused::Busy => "server busy",
                        checks::shared::pool::Refused::ShutDown => "shutting down",
                    };
                    lessons::log_line!("client {peer}: turned away ({why})");
                    framing::say_and_close(&stream, &format!("error: {why}"));
                }
            }
        }
    });
    if let Err(e) = accept_thread {
        return cli::exit_code(Err(e));
    }
    for line in io::stdin().lock().lines() {
        match line {
            Ok(line) if line.trim() == "/quit" => break,
            Ok(line) => lessons::log_line!("type /quit to shut down (not {line:?})"),
            Err(_) => break,
        }
    }
    lessons::log_line!("shutting down: waiting for the clients being served to leave");
    let panicked = (pool.shutdown)(&workers);
    lessons::log_line!("every worker joined; {panicked} job(s) panicked");
    cli::exit_code(Ok(()))
}

/// One client of the pool server: every line comes back reversed, and
/// `/panic` panics (on purpose: the worker running this job must survive).
fn serve_reversed(stream: TcpStream, peer: SocketAddr) {
    lessons::log_line!("client {peer}: served");
    let mut lines = BufReader::new(&stream);
    while let Ok(Some(line)) = framing::read_line(&mut lines, framing::DEFAULT_MAX_LINE) {
        if line.trim() == "/panic" {
            panic!("client {peer} asked for a panic");
        }
        let reply = format!("{}\n", lessons::reverse::reverse_chars(&line));
        if io::Write::write_all(&mut &stream, reply.as_bytes()).is_err() {
            break;
        }
    }
    lessons::log_line!("client {peer}: left");
}

/// Exercise 08: sends numbered lines to an echo server and says what came
/// back wrong. Try it against `cargo run -p solutions --bin echo_server`.
#[derive(Parser)]
#[command(version)]
struct LoadArgs {
    /// The echo server to load.
    #[arg(long, default_value = "127.0.0.1:65432")]
    addr: String,

    /// How many lines to send.
    #[arg(long, default_value_t = 1000, value_parser = cli::count(1..=1_000_000))]
    lines: usize,

    /// How long each line is, in bytes (its number included).
    #[arg(long, default_value_t = 64, value_parser = cli::count(16..=65_536))]
    size: usize,

    /// How long to wait for the next reply before the rest count as lost (seconds).
    #[arg(long, default_value_t = 2.0)]
    timeout: f64,
}

pub fn load(run_load: fn(TcpStream, &[String], Duration) -> io::Result<LoadReport>) -> ExitCode {
    let args: LoadArgs = cli::parse();
    let lines: Vec<String> = (0..args.lines)
        .map(|i| {
            let mut line = format!("line {i} ");
            let fill = b'a' + (i % 26) as u8;
            while line.len() < args.size {
                line.push(fill as char);
            }
            line
        })
        .collect();
    let result = cli::timeout_secs(args.timeout).and_then(|timeout| {
        let server = cli::connect(&args.addr, timeout)?;
        let report = run_load(server, &lines, timeout)?;
        println!(
            "{} lines sent: {} back in order, {} reordered, {} lost, {} torn replies",
            lines.len(),
            report.in_order,
            report.reordered.len(),
            report.lost.len(),
            report.torn.len()
        );
        for (what, indexes) in [("reordered", &report.reordered), ("lost", &report.lost)] {
            if let Some(first) = indexes.first() {
                println!("first {what}: {:?}", lines[*first]);
            }
        }
        if let Some(torn) = report.torn.first() {
            println!("first torn reply: {torn:?}");
        }
        if report.passed() {
            Ok(())
        } else {
            Err(io::Error::other("some replies were wrong"))
        }
    });
    cli::exit_code(result)
}

/// Exercise 09: a proxy in front of any server of the course, each
/// connection forwarded by `forward`: yours with `-p exercises`, the
/// reference answer with `-p solutions`. Try it in front of lesson 03's
/// server (`cargo run --example 03_reverse_server`): `nc 127.0.0.1 9000`.
#[derive(Parser)]
#[command(version)]
struct ProxyArgs {
    #[arg(long, visible_alias = "listen", default_value = "127.0.0.1:9000", help = cli::LISTEN_HELP)]
    addr: String,

    /// The server every connection is forwarded to (the default is lesson
    /// 03's reverse server). The proxy connects to it once for each client.
    #[arg(long, default_value = "127.0.0.1:2002", value_name = "ADDR")]
    to: String,

    /// Give up connecting to the server after this many seconds (the
    /// client is then disconnected).
    #[arg(long, default_value = "5", value_name = "SECS", value_parser = cli::parse_secs,
          allow_negative_numbers = true)]
    connect_timeout: Duration,
}

pub fn proxy(forward: fn(TcpStream, TcpStream) -> io::Result<()>) -> ExitCode {
    let args: ProxyArgs = cli::parse();
    let timeout = args.connect_timeout;
    // A server address that cannot work is refused before anyone connects.
    if let Err(e) = cli::resolve(&args.to) {
        return cli::exit_code(Err(cli::context(
            e,
            format!("cannot forward to {}", args.to),
        )));
    }
    let listener = match cli::listen(&args.addr) {
        Ok(listener) => listener,
        Err(e) => return cli::exit_code(Err(e)),
    };
    lessons::log_line!("forwarding every connection to {}", args.to);
    for (id, (client, peer)) in (1u64..).zip(cli::clients(&listener)) {
        let to = args.to.clone();
        let spawned = thread::Builder::new()
            .name(format!("#{id}"))
            .spawn(move || {
                // `cli::connect` gives the socket timeouts; a proxied
                // connection may be quiet for an hour, so take them off.
                let server = cli::connect(&to, timeout).and_then(|server| {
                    server.set_read_timeout(None)?;
                    server.set_write_timeout(None)?;
                    Ok(server)
                });
                let server = match server {
                    Ok(server) => server,
                    Err(e) => {
                        lessons::log_line!("#{id} {peer}: {}; closing it", cli::describe(&e));
                        return;
                    }
                };
                lessons::log_line!("#{id} client {peer} connected, forwarded to {to}");
                match forward(client, server) {
                    Ok(()) => lessons::log_line!("#{id} closed: both directions ended"),
                    Err(e) => lessons::log_line!("#{id} closed: {}", cli::describe(&e)),
                }
            });
        if let Err(e) = spawned {
            lessons::log_error!("#{id} {peer}: cannot start a thread: {e}");
        }
    }
    cli::exit_code(Ok(()))
}

/// Exercise 10: lesson 03's reverse server on one thread, an event loop
/// over non-blocking sockets, with your `Connection` for every client
/// (`nc 127.0.0.1 2002`).
#[derive(Parser)]
#[command(version)]
struct EventLoopArgs {
    #[arg(long, default_value = "127.0.0.1:2002", help = cli::LISTEN_HELP)]
    addr: String,

    /// The longest line accepted, in bytes (1 to 16 MiB): `Connection::new`'s
    /// `max_line`.
    #[arg(long, default_value_t = framing::DEFAULT_MAX_LINE, value_name = "BYTES",
          value_parser = cli::count(1..=framing::MAX_LINE_LIMIT as u64),
          allow_negative_numbers = true)]
    max_line: usize,
}

/// One client of the loop.
struct LoopClient<C> {
    socket: Socket,
    peer: String,
    conn: C,
    /// What the poller was last told to wait for.
    interest: Interest,
}

pub fn event_loop<C>(api: EventLoopApi<C>) -> ExitCode {
    let args: EventLoopArgs = cli::parse();
    let result =
        cli::listen(&args.addr).and_then(|listener| serve_events(listener, api, args.max_line));
    cli::exit_code(result)
}

/// The loop of lesson 10 (lesson10/src/event_loop.rs), without its
/// timeouts: it calls `on_readable` and `on_writable` as the events come,
/// and tells the poller what each connection asks for next.
fn serve_events<C>(listener: TcpListener, api: EventLoopApi<C>, max_line: usize) -> io::Result<()> {
    use mio::{Events, Poll, Token};
    const LISTENER: Token = Token(0);
    listener.set_nonblocking(true)?;
    let mut listener = mio::net::TcpListener::from_std(listener);
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    let mut clients: HashMap<Token, LoopClient<C>> = HashMap::new();
    let mut next_token = 1;
    let mut backoff = cli::Backoff::new();
    // Out of descriptors, say: no accepts until then.
    let mut paused_until: Option<Instant> = None;
    loop {
        let timeout = paused_until.map(|t| t.saturating_duration_since(Instant::now()));
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        // A pause that is over: no event will say that accepting may work
        // again, so try.
        let resumed = paused_until.is_some_and(|t| t <= Instant::now());
        if resumed {
            paused_until = None;
        }
        let mut accept_now = resumed;
        for event in &events {
            let token = event.token();
            if token == LISTENER {
                accept_now = paused_until.is_none();
                continue;
            }
            let Some(client) = clients.get_mut(&token) else {
                continue;
            };
            let trouble = event.is_error();
            let mut next = Ok(Some(client.interest));
            if client.interest.is_readable()
                && (event.is_readable() || event.is_read_closed() || trouble)
            {
                next = (api.on_readable)(&mut client.conn, &mut client.socket);
            }
            if let Ok(Some(wants)) = next
                && wants.is_writable()
                && client.interest.is_writable()
                && (event.is_writable() || event.is_write_closed() || trouble)
            {
                next = (api.on_writable)(&mut client.conn, &mut client.socket);
            }
            let why = match next {
                Ok(Some(wants)) if wants == client.interest => continue,
                Ok(Some(wants)) => {
                    match poll
                        .registry()
                        .reregister(client.socket.stream(), token, wants)
                    {
                        Ok(()) => {
                            client.interest = wants;
                            continue;
                        }
                        Err(e) => Some(cli::describe(&e)),
                    }
                }
                Ok(None) => None,
                Err(e) => Some(cli::describe(&e)),
            };
            if let Some(mut client) = clients.remove(&token) {
                let _ = poll.registry().deregister(client.socket.stream());
                match why {
                    Some(why) => lessons::log_line!("client {} disconnected: {why}", client.peer),
                    None => lessons::log_line!("client {} disconnected", client.peer),
                }
            }
        }
        // Edge-triggered: every waiting client is accepted now, until
        // WouldBlock; one left in the queue would get no event of its own.
        while accept_now {
            match listener.accept() {
                Ok((stream, peer)) => {
                    backoff.recovered();
                    let token = Token(next_token);
                    next_token += 1;
                    let mut socket = Socket::new(stream);
                    if let Err(e) =
                        poll.registry()
                            .register(socket.stream(), token, Interest::READABLE)
                    {
                        lessons::log_line!("client {peer} disconnected: {}", cli::describe(&e));
                        continue;
                    }
                    lessons::log_line!("client {peer} connected");
                    let client = LoopClient {
                        socket,
                        peer: peer.to_string(),
                        conn: (api.new)(max_line),
                        interest: Interest::READABLE,
                    };
                    clients.insert(token, client);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => accept_now = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if cli::one_clients_trouble(&e) => {
                    lessons::log_error!(
                        "a client was lost while connecting: {}",
                        cli::describe(&e)
                    );
                }
                Err(e) => {
                    // Sleeping here would stop every client: pause accepts
                    // only, and serve the others meanwhile.
                    paused_until = Some(Instant::now() + backoff.pause(&e));
                    accept_now = false;
                }
            }
        }
    }
}
