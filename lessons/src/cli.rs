//! What every program of the course does the same way: parse its flags,
//! bind or connect with an error message a person can act on, and turn any
//! error into one line on stderr and a non-zero exit code (never a panic).

use std::fmt::Display;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use clap::error::ErrorKind;

/// Help text shared by every server's `--addr` flag.
pub const LISTEN_HELP: &str = "Address to listen on. The default accepts connections from this \
machine only; use 0.0.0.0:PORT to accept them from other machines too, or port 0 to let the \
system pick a free port (the `listening on` line shows which).";

/// Parses the command line. A bad flag is reported as one line, not a page.
pub fn parse<T: Parser>() -> T {
    match T::try_parse() {
        Ok(args) => args,
        // --help and --version are not errors: print them as clap formats them.
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("{first} (try --help)");
            std::process::exit(2);
        }
    }
}

/// Turns the result of a program's `run` into its exit code.
pub fn exit_code<E: Display>(result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Adds what we were trying to do to an I/O error, keeping its kind.
pub fn context(e: io::Error, what: impl Display) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

// ANCHOR: listen
/// Binds a listener and announces it with `listening on IP:PORT`: the real
/// port, even when port 0 asked the system to choose one. Tests and scripts
/// wait for this line before they connect.
pub fn listen(addr: &str) -> io::Result<TcpListener> {
    let listener =
        TcpListener::bind(addr).map_err(|e| context(e, format!("cannot listen on {addr}")))?;
    println!("listening on {}", listener.local_addr()?);
    Ok(listener)
}
// ANCHOR_END: listen

// ANCHOR: clients
/// The clients of a listener as they connect, each with its address.
///
/// `incoming()` yields an `Err` when one accept fails: the client gave up
/// before we took it, or the process is out of file descriptors for a
/// moment. That is about one client, so it is logged and skipped: a server
/// must never stop because of one client. A client that is gone before we
/// can ask for its address is skipped too.
pub fn clients(listener: &TcpListener) -> impl Iterator<Item = (TcpStream, SocketAddr)> + '_ {
    listener.incoming().filter_map(|stream| {
        let stream = stream.map_err(|e| eprintln!("accept failed: {e}")).ok()?;
        let peer = stream.peer_addr().ok()?;
        Some((stream, peer))
    })
}
// ANCHOR_END: clients

/// Connects with a deadline for the connection and for every later read and
/// write, so a dead or silent server cannot make the client hang forever.
pub fn connect(addr: &str, timeout: Duration) -> io::Result<TcpStream> {
    let fail = |e| context(e, format!("cannot connect to {addr}"));
    let mut last = io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to");
    for candidate in addr.to_socket_addrs().map_err(fail)? {
        match TcpStream::connect_timeout(&candidate, timeout) {
            Ok(stream) => {
                stream.set_read_timeout(Some(timeout))?;
                stream.set_write_timeout(Some(timeout))?;
                return Ok(stream);
            }
            Err(e) => last = e,
        }
    }
    Err(fail(last))
}

/// Checks a `--timeout` given in seconds: `Duration::from_secs_f64` would
/// panic on a negative or infinite number, and a zero timeout means "none"
/// to the socket API, which is not what anyone typing 0 wants.
pub fn timeout_secs(secs: f64) -> io::Result<Duration> {
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("--timeout must be a positive number of seconds, not {secs}"),
        )),
    }
}

/// Parses a number of seconds given on the command line (`0.5`, `30`), for
/// clap's `value_parser`. Rejects what `timeout_secs` rejects.
pub fn parse_secs(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(format!("{text:?} is not a positive number of seconds")),
    }
}

/// True for the error a read returns when its timeout expires. It is
/// `WouldBlock` on Unix and `TimedOut` on Windows, so check for both.
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
