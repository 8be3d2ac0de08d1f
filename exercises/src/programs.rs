//! The programs around the exercises: `cargo run -p exercises --bin NAME`
//! runs your code by hand, `cargo run -p solutions --bin NAME` the reference
//! answer (this file is compiled into both crates, so `crate::` is whichever
//! crate is running), and `cargo run -p exercises` shows your progress.
//!
//! Only the exercise's function is yours to write: the command line, the
//! accept loops and the console around it are here.

use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;

use clap::Parser;
use lessons::cli;
use lessons::framing;

use crate::checks;

/// Exercise 01: squares computed on one thread per number.
#[derive(Parser)]
#[command(version)]
struct ThreadsArgs {
    /// The numbers to square, one thread each.
    #[arg(default_values_t = [1, 2, 3, 4], allow_negative_numbers = true)]
    numbers: Vec<i64>,
}

pub fn threads() -> ExitCode {
    let args: ThreadsArgs = cli::parse();
    let squares = crate::threads::map_on_threads(&args.numbers, |n| n.saturating_mul(n));
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

pub fn exit_client() -> ExitCode {
    let args: ClientArgs = cli::parse();
    let result = cli::timeout_secs(args.timeout)
        .and_then(|timeout| cli::connect(&args.addr, timeout))
        .and_then(|server| {
            crate::exit_client::run_client(io::stdin().lock(), io::stdout().lock(), server)
        });
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
pub fn echo_server() -> ExitCode {
    let args: ServerArgs = cli::parse();
    let addr = args.addr("127.0.0.1:65432");
    cli::exit_code(cli::listen(&addr).and_then(crate::echo_server::serve_all))
}

/// Exercise 03: the reverse server (`nc 127.0.0.1 2002`); every client is
/// served by `reverse_lines` on a thread of its own.
pub fn reverse_server() -> ExitCode {
    let args: ServerArgs = cli::parse();
    let addr = args.addr("127.0.0.1:2002");
    let result = cli::listen(&addr).map(|listener| {
        for stream in listener.incoming().flatten() {
            let peer = stream
                .peer_addr()
                .map_or_else(|_| "(gone)".to_string(), |p| p.to_string());
            println!("client {peer} connected");
            let spawned =
                thread::Builder::new().spawn(move || match crate::reverse::reverse_lines(stream) {
                    Ok(()) => println!("client {peer} disconnected"),
                    Err(e) => println!("client {peer} disconnected: {e}"),
                });
            if let Err(e) = spawned {
                eprintln!("cannot start a thread for a client: {e}");
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

pub fn chat() -> ExitCode {
    let args: ChatArgs = cli::parse();
    let result = cli::timeout_secs(args.timeout)
        .and_then(|timeout| cli::connect(&args.addr, timeout))
        .and_then(|peer| {
            // A chat may be quiet for a long time: no read timeout.
            peer.set_read_timeout(None)?;
            crate::duplex::chat(io::stdin(), io::stdout(), peer)
        });
    cli::exit_code(result)
}

/// Exercise 05: a server whose console talks to its clients. Every client
/// gets a number and a reader thread (which prints what it says); the
/// console thread reads your lines; `run_room` gets both as events.
pub fn console_router() -> ExitCode {
    use crate::console_router::Event;
    let args: ServerArgs = cli::parse();
    let addr = args.addr("127.0.0.1:6666");
    let listener = match cli::listen(&addr) {
        Ok(listener) => listener,
        Err(e) => return cli::exit_code(Err(e)),
    };
    println!("type a line for every client, or /to N text for client N");
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
            println!("client #{id} connected");
            if events.send(Event::Joined { id, stream }).is_err() {
                break;
            }
            let events = events.clone();
            let _ = thread::Builder::new().spawn(move || {
                let mut lines = BufReader::new(reader);
                while let Ok(Some(line)) = framing::read_line(&mut lines, framing::DEFAULT_MAX_LINE)
                {
                    println!("[#{id}] {line}");
                }
                println!("client #{id} disconnected");
                let _ = events.send(Event::Left { id });
            });
        }
    });
    if let Err(e) = console_thread.and(accept_thread) {
        return cli::exit_code(Err(e));
    }
    cli::exit_code(crate::console_router::run_room(room, io::stdout()))
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

pub fn fan_out() -> ExitCode {
    let args: FanOutArgs = cli::parse();
    let timeout = match cli::timeout_secs(args.timeout) {
        Ok(timeout) => timeout,
        Err(e) => return cli::exit_code(Err(e)),
    };
    let answers = crate::fan_out::ask_all(&args.addr, &args.question, timeout);
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

// ANCHOR: progress
/// `cargo run -p exercises`: runs every check of every exercise, in the
/// order of the lessons, and says where you are.
///
/// It calls the same check functions as `cargo test -p exercises` (the
/// `checks` module), each under the deadline of `checks::run`, so a stuck
/// exercise shows as failed instead of hanging the view. An exercise stops
/// at its first failing check: that message is the one to read.
pub fn progress() -> ExitCode {
    // A failing exercise panics (todo!() at least); the checks turn each
    // panic into a message, so the default report on stderr is only noise.
    std::panic::set_hook(Box::new(|_| {}));
    let crate_name = env!("CARGO_PKG_NAME");
    println!("checking the exercises in {crate_name}/ ...");
    let mut results = Vec::new();
    for exercise in checks::exercises() {
        let mut first_failure = None;
        for check in &exercise.checks {
            if let Err(message) = checks::run(check) {
                first_failure = Some((check.name, message));
                break;
            }
        }
        results.push((exercise, first_failure));
    }
    // Printed after all checks ran, so that whatever your code printed
    // while it was checked stays above this summary.
    println!();
    println!("Exercises, in the order of the lessons:");
    for (exercise, failure) in &results {
        let status = if failure.is_none() { "done" } else { "to do" };
        println!(
            "  {:<4} {:<15} {:<6} {}",
            exercise.id, exercise.name, status, exercise.title
        );
    }
    let done = results.iter().filter(|(_, f)| f.is_none()).count();
    println!(
        "\n{done} of {} exercises pass all their checks.",
        results.len()
    );
    let next = results
        .iter()
        .find_map(|(e, f)| f.as_ref().map(|failure| (e, failure)));
    match next {
        None => println!("All done. Compare your answers with solutions/src/ if you like."),
        Some((exercise, (check, message))) => {
            println!("\nNext: exercise {} ({})", exercise.id, exercise.title);
            println!("  edit   {}", exercise.file());
            println!("  hints  {}", exercise.hints());
            println!("  check  cargo test -p exercises {}", exercise.name);
            println!("\nIts first failing check, {check}:");
            for line in message.lines() {
                println!("  {line}");
            }
        }
    }
    ExitCode::SUCCESS
}
// ANCHOR_END: progress
