//! What every program of the course does the same way: parse its flags,
//! bind or connect with an error message a person can act on, and turn any
//! error into one line on stderr and a non-zero exit code (never a panic).

use std::fmt::Display;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use clap::error::ErrorKind;

use crate::deadline::Deadline;

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
            // Not eprintln!: it panics if stderr is closed.
            let _ = writeln!(io::stderr(), "{first} (try --help)");
            std::process::exit(2);
        }
    }
}

/// Turns the result of a program's `run` into its exit code, printing the
/// error as one line in words ([`describe`]). Printing goes through the
/// logger, so a closed stderr cannot turn an error into a panic.
pub fn exit_code(result: io::Result<()>) -> ExitCode {
    let code = match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            crate::log_error!("error: {}", describe(&e));
            ExitCode::FAILURE
        }
    };
    crate::log::flush();
    code
}

// ANCHOR: describe
/// An I/O error in words a person can act on.
///
/// The system's own texts differ between platforms and are terse
/// ("Resource temporarily unavailable" for a read timeout on Linux), so the
/// errors a network program meets every day are said in words, with the
/// system's code after them in brackets for a search engine. An error that
/// the course made itself (with `io::Error::new`) already has its words and
/// is shown as it is.
pub fn describe(e: &io::Error) -> String {
    use io::ErrorKind::*;
    let words = match e.kind() {
        ConnectionRefused => "connection refused: nothing is listening there",
        ConnectionReset => "connection reset by the other side",
        ConnectionAborted => "connection aborted",
        BrokenPipe => "broken pipe: the other end was closed",
        NotConnected => "not connected",
        // A read or write timeout: WouldBlock on Unix, TimedOut on Windows.
        WouldBlock | TimedOut => "timed out",
        AddrInUse => "address already in use: something else is listening there",
        AddrNotAvailable => "address not available on this machine",
        HostUnreachable => "host unreachable: no route to that machine",
        NetworkUnreachable => "network unreachable: no route to that network",
        NetworkDown => "the network is down",
        PermissionDenied => "permission denied (ports below 1024 need privileges on Unix)",
        _ => return e.to_string(),
    };
    match e.raw_os_error() {
        Some(code) => format!("{words} (os error {code})"),
        // Made with `io::Error::new(kind, text)`: its text says more.
        None if e.get_ref().is_some() => e.to_string(),
        // Made with `io::Error::from(kind)`: only the kind is known.
        None => words.to_string(),
    }
}
// ANCHOR_END: describe

/// Adds what we were trying to do to an I/O error, in words, keeping its kind.
pub fn context(e: io::Error, what: impl Display) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {}", describe(&e)))
}

/// The error for a wait that ran out: it says what was awaited and for how
/// long, so "timed out" never stands alone.
pub fn timed_out(what: impl Display, waited: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("no {what} within {}", seconds(waited)),
    )
}

/// A duration as a person writes it: `2 s`, `0.5 s`, `1.25 s`.
pub fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

// ANCHOR: listen
/// Binds a listener and announces it with `listening on IP:PORT`: the real
/// port, even when port 0 asked the system to choose one. Tests and scripts
/// wait for this line before they connect.
pub fn listen(addr: &str) -> io::Result<TcpListener> {
    let fail = |e| context(e, format!("cannot listen on {addr}"));
    let listener = TcpListener::bind(&resolve(addr).map_err(fail)?[..]).map_err(fail)?;
    crate::log_line!("listening on {}", listener.local_addr()?);
    Ok(listener)
}
// ANCHOR_END: listen

// ANCHOR: clients
/// The clients of a listener as they connect, each with its address.
///
/// `accept` can fail for two kinds of reason, and they need opposite
/// answers:
/// - **One client's trouble**: it gave up before we took it
///   (`ConnectionAborted`, `ConnectionReset`: the BSDs and macOS; Linux's
///   `accept` succeeds and the first read fails instead), or Linux handed
///   over its pending network error (`NetworkDown`, `HostUnreachable`,
///   `NetworkUnreachable`). Skip it and accept the next at once: a server
///   must never stop because of one client.
/// - **The server's trouble**: it is out of file descriptors (`EMFILE`,
///   `ENFILE`: "too many open files") or memory (`ENOBUFS`, `ENOMEM`). The
///   waiting connection stays queued, so the next `accept` fails the same
///   way at once: retrying in a loop burns a whole core and floods the log.
///   Wait instead, 5 ms at first and twice as long each time up to 1 s, so
///   that clients that leave can free what we lack. Say so once per pause,
///   not once per failure, and carry on by ourselves when it clears.
///
/// A client that is gone before we can ask for its address is skipped too.
/// There is no arm for `Interrupted`: on Unix, std's `accept` retries
/// `EINTR` itself.
pub fn clients(listener: &TcpListener) -> impl Iterator<Item = (TcpStream, SocketAddr)> + '_ {
    let mut pause = Backoff::new();
    std::iter::from_fn(move || {
        loop {
            match listener.accept() {
                Ok((stream, peer)) => {
                    pause.recovered();
                    return Some((stream, peer));
                }
                Err(e) if one_clients_trouble(&e) => {
                    crate::log_error!("a client was lost while connecting: {}", describe(&e));
                }
                Err(e) => pause.wait(&e),
            }
        }
    })
}

/// Accept errors that concern the one connection being accepted: it was
/// reset or aborted before we took it, or (Linux hands a new connection's
/// pending network error to `accept`, see accept(2)) its route failed.
/// Anything else may be the server's own trouble, and a pause of a few
/// milliseconds costs nothing if it was not.
pub fn one_clients_trouble(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | HostUnreachable | NetworkUnreachable | NetworkDown
    )
}

/// The growing pause between failed accepts. Lesson 10's servers, which
/// must never sleep, ask it for the length of the pause with [`Backoff::pause`].
pub struct Backoff {
    next: Duration,
    failures: u64,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new()
    }
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(5);
    const MOST: Duration = Duration::from_secs(1);

    pub fn new() -> Backoff {
        Backoff {
            next: Backoff::FIRST,
            failures: 0,
        }
    }

    fn wait(&mut self, e: &io::Error) {
        std::thread::sleep(self.pause(e));
    }

    /// Says (once per pause) that accepts failed with `e`, and returns how
    /// long to pause before the next try.
    pub fn pause(&mut self, e: &io::Error) -> Duration {
        if self.failures == 0 {
            crate::log_error!(
                "accept failed: {}; pausing accepts (up to {} between tries)",
                describe(e),
                seconds(Backoff::MOST)
            );
        }
        self.failures += 1;
        let pause = self.next;
        self.next = (self.next * 2).min(Backoff::MOST);
        pause
    }

    /// Says that accepting works again, if it had failed.
    pub fn recovered(&mut self) {
        if self.failures > 0 {
            crate::log_error!("accepting again after {} failed accepts", self.failures);
            *self = Backoff::new();
        }
    }
}
// ANCHOR_END: clients

/// The addresses `addr` stands for, or an error that says what is wrong
/// with it. A port that is not a number is found before any lookup.
///
/// A host name is looked up with the system's resolver, which std cannot
/// bound in time: the course only ever uses `localhost`, which the system
/// answers from a file.
pub fn resolve(addr: &str) -> io::Result<Vec<SocketAddr>> {
    let invalid = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Err(invalid(format!(
            "{addr:?} is not an address: expected HOST:PORT, such as 127.0.0.1:2002"
        )));
    };
    if port.parse::<u16>().is_err() {
        return Err(invalid(format!(
            "{port:?} is not a port: expected a number from 0 to 65535"
        )));
    }
    let found: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| context(e, format!("cannot look up {host}")))?
        .collect();
    if found.is_empty() {
        return Err(invalid(format!("{host} has no address")));
    }
    Ok(found)
}

/// Connects with a deadline for the connection and for every later read and
/// write, so a dead or silent server cannot make the client hang forever.
/// (Each read and write gets the whole `timeout`: for one deadline over a
/// whole exchange, use [`connect_before`] and [`Within`](crate::deadline::Within).)
pub fn connect(addr: &str, timeout: Duration) -> io::Result<TcpStream> {
    let stream = connect_before(addr, &Deadline::after(timeout, "connection"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    Ok(stream)
}

/// Connects to the first address of `addr` that answers before `deadline`,
/// trying each address it stands for (`localhost` may be `[::1]` and
/// `127.0.0.1`, and a server may listen on only one of them).
pub fn connect_before(addr: &str, deadline: &Deadline) -> io::Result<TcpStream> {
    let fail = |e| context(e, format!("cannot connect to {addr}"));
    let mut last = None;
    for candidate in resolve(addr).map_err(fail)? {
        match connect_to(candidate, deadline) {
            Ok(stream) => return Ok(stream),
            Err(e) if is_timeout(&e) => return Err(fail(e)),
            Err(e) => last = Some(e),
        }
    }
    Err(fail(last.unwrap_or_else(|| io::Error::other("no address"))))
}

/// Connects to one address before `deadline`. The read and write timeouts
/// are set to what is left of it, so a caller that forgets [`Within`] still
/// cannot wait longer than the deadline for any one call.
///
/// [`Within`]: crate::deadline::Within
pub fn connect_to(addr: SocketAddr, deadline: &Deadline) -> io::Result<TcpStream> {
    let no_connection = || timed_out("connection", deadline.timeout());
    let left = deadline.left().map_err(|_| no_connection())?;
    let stream = TcpStream::connect_timeout(&addr, left)
        .map_err(|e| if is_timeout(&e) { no_connection() } else { e })?;
    let left = deadline.left().map_err(|_| no_connection())?;
    stream.set_read_timeout(Some(left))?;
    stream.set_write_timeout(Some(left))?;
    Ok(stream)
}

/// The longest number of seconds any flag of the course accepts: one day.
/// A longer timeout is surely a typo, and a bound keeps `Instant::now() +
/// timeout` from overflowing (it panics past what the clock can hold).
pub const MAX_SECS: f64 = 86_400.0;

/// A number of seconds as a `Duration`, if it is positive, finite and at
/// most [`MAX_SECS`]. `Duration::from_secs_f64` would panic on a negative,
/// infinite or NaN one, and std's socket API rejects a zero timeout
/// (`set_read_timeout(Some(ZERO))` is an error), which is not what anyone
/// typing 0 wants anyway.
fn checked_secs(secs: f64) -> Option<Duration> {
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if !d.is_zero() && secs <= MAX_SECS => Some(d),
        _ => None,
    }
}

/// Checks a number of seconds given on the command line (see
/// [`checked_secs`] for the range); the error names the flag and the range.
pub fn secs(flag: &str, secs: f64) -> io::Result<Duration> {
    checked_secs(secs).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{flag} must be a number of seconds above 0 and at most {MAX_SECS}, not {secs}"
            ),
        )
    })
}

/// [`secs`] for `--timeout`.
pub fn timeout_secs(secs: f64) -> io::Result<Duration> {
    self::secs("--timeout", secs)
}

/// Parses a number of seconds given on the command line (`0.5`, `30`), for
/// clap's `value_parser`. Accepts what [`secs`] accepts. Give the flag
/// `allow_negative_numbers = true`, or clap reads `-1` as a flag and says
/// only "unexpected argument".
pub fn parse_secs(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .and_then(checked_secs)
        .ok_or_else(|| format!("{text} is not a number of seconds above 0 and at most {MAX_SECS}"))
}

/// [`parse_secs`] for a connect timeout, which must be at least a
/// millisecond: the system takes a shorter one (`1e-9`) and then every
/// connect fails at once, which looks like a server that is not there.
pub fn parse_connect_secs(text: &str) -> Result<Duration, String> {
    match parse_secs(text) {
        Ok(d) if d >= Duration::from_millis(1) => Ok(d),
        _ => Err(format!(
            "{text} is not a number of seconds from 0.001 to {MAX_SECS}"
        )),
    }
}

/// A clap value parser for a count (a size, a limit, a number of workers)
/// that must lie in `range`: a number outside it is one clear error at
/// start-up ("1000000000000 is not a whole number from 1 to 100000"), not an
/// abort later when the server tries to allocate it. Give the flag
/// `allow_negative_numbers = true` too, so `-1` gets the same error.
pub fn count(
    range: std::ops::RangeInclusive<u64>,
) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    move |text: &str| {
        text.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                format!(
                    "{text} is not a whole number from {} to {}",
                    range.start(),
                    range.end()
                )
            })
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

/// An error writing to our own stdout, saying what broke:
/// `cannot write to the terminal: broken pipe: the other end was closed
/// (os error 32)` once the program reading our output has gone
/// (`... | head -n 1`).
pub fn stdout_error(e: io::Error) -> io::Error {
    context(e, "cannot write to the terminal")
}

/// An address that reaches `addr` from this machine: a listener on
/// 0.0.0.0 (every interface) is reached through 127.0.0.1, `[::]` through
/// `[::1]`. A server that wakes its own blocked `accept` connects there.
pub fn reachable(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    #[test]
    fn an_unspecified_address_is_reached_through_loopback() {
        let any: SocketAddr = "0.0.0.0:7".parse().unwrap();
        assert_eq!(reachable(any), "127.0.0.1:7".parse().unwrap());
        let v6: SocketAddr = "[::]:7".parse().unwrap();
        assert_eq!(reachable(v6), "[::1]:7".parse().unwrap());
        let some: SocketAddr = "127.0.0.9:7".parse().unwrap();
        assert_eq!(reachable(some), some);
    }

    #[test]
    fn a_refusal_is_said_in_words_with_the_systems_code() {
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap();
        let e = TcpStream::connect(addr).unwrap_err();
        let code = e.raw_os_error().unwrap();
        assert_eq!(
            describe(&e),
            format!("connection refused: nothing is listening there (os error {code})")
        );
    }

    // Unreachable hosts and networks cannot be provoked on this machine
    // alone, so these use Linux's codes for them (EHOSTUNREACH, ENETUNREACH).
    #[cfg(target_os = "linux")]
    #[rstest]
    #[case::host(113, "host unreachable: no route to that machine (os error 113)")]
    #[case::network(101, "network unreachable: no route to that network (os error 101)")]
    #[case::reset(104, "connection reset by the other side (os error 104)")]
    #[case::read_timeout(11, "timed out (os error 11)")]
    fn linux_errors_are_said_in_words(#[case] code: i32, #[case] words: &str) {
        assert_eq!(describe(&io::Error::from_raw_os_error(code)), words);
    }

    #[test]
    fn an_error_with_words_of_its_own_keeps_them() {
        let e = timed_out("reply", Duration::from_millis(500));
        assert_eq!(describe(&e), "no reply within 0.5 s");
        let kind_only = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(
            describe(&kind_only),
            "connection refused: nothing is listening there"
        );
    }

    #[rstest]
    #[case::not_a_port(
        "127.0.0.1:notaport",
        "\"notaport\" is not a port: expected a number from 0 to 65535"
    )]
    #[case::port_too_big(
        "127.0.0.1:65536",
        "\"65536\" is not a port: expected a number from 0 to 65535"
    )]
    #[case::no_port(
        "127.0.0.1",
        "\"127.0.0.1\" is not an address: expected HOST:PORT, such as 127.0.0.1:2002"
    )]
    fn a_bad_address_is_refused_before_any_lookup(#[case] addr: &str, #[case] error: &str) {
        assert_eq!(resolve(addr).unwrap_err().to_string(), error);
    }

    #[test]
    fn ip_addresses_resolve_to_themselves() {
        assert_eq!(
            resolve("[::1]:2002").unwrap(),
            vec!["[::1]:2002".parse().unwrap()]
        );
    }

    #[rstest]
    #[case::zero("0")]
    #[case::negative("-1")]
    #[case::nan("NaN")]
    #[case::infinite("inf")]
    #[case::beyond_a_day("86400.5")]
    #[case::beyond_the_clock("1e19")]
    #[case::not_a_number("soon")]
    fn seconds_out_of_range_are_refused_with_the_range(#[case] text: &str) {
        assert_eq!(
            parse_secs(text).unwrap_err(),
            format!("{text} is not a number of seconds above 0 and at most 86400")
        );
    }

    #[test]
    fn seconds_in_range_are_accepted() {
        assert_eq!(parse_secs("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_secs("86400"), Ok(Duration::from_secs(86_400)));
        assert_eq!(secs("--hold", 2.0).unwrap(), Duration::from_secs(2));
        assert_eq!(
            secs("--hold", -2.0).unwrap_err().to_string(),
            "--hold must be a number of seconds above 0 and at most 86400, not -2"
        );
    }

    #[rstest]
    #[case::below("0")]
    #[case::above("65537")]
    #[case::negative("-1")]
    #[case::beyond_u64("18446744073709551616")]
    #[case::fraction("1.5")]
    fn counts_out_of_range_are_refused_with_the_range(#[case] text: &str) {
        assert_eq!(
            count(1..=65_536)(text).unwrap_err(),
            format!("{text} is not a whole number from 1 to 65536")
        );
    }

    #[test]
    fn counts_in_range_are_accepted() {
        assert_eq!(count(1..=65_536)("65536"), Ok(65_536));
        assert_eq!(count(0..=10)("0"), Ok(0));
    }

    #[rstest]
    #[case::aborted(io::ErrorKind::ConnectionAborted, true)]
    #[case::reset(io::ErrorKind::ConnectionReset, true)]
    #[case::route_failed(io::ErrorKind::HostUnreachable, true)]
    #[case::out_of_memory(io::ErrorKind::OutOfMemory, false)]
    #[case::unknown(io::ErrorKind::Other, false)]
    fn only_errors_of_the_connection_itself_skip_the_pause(
        #[case] kind: io::ErrorKind,
        #[case] one_client: bool,
    ) {
        assert_eq!(one_clients_trouble(&io::Error::from(kind)), one_client);
    }

    // accept(2) lists the pending errors Linux passes on; std has no kind
    // for these five (EPROTO, ENOPROTOOPT, EHOSTDOWN, ENONET, EOPNOTSUPP),
    // so they get the pause, as the book says.
    #[cfg(target_os = "linux")]
    #[test]
    fn linux_pending_errors_without_a_kind_get_the_pause() {
        for code in [71, 92, 112, 64, 95] {
            let e = io::Error::from_raw_os_error(code);
            assert!(!one_clients_trouble(&e), "{e} ({:?})", e.kind());
        }
    }

    #[cfg(unix)]
    #[test]
    fn running_out_of_file_descriptors_pauses() {
        // EMFILE and ENFILE are 24 and 23 on Linux, macOS and the BSDs.
        for code in [24, 23] {
            assert!(!one_clients_trouble(&io::Error::from_raw_os_error(code)));
        }
    }
}
