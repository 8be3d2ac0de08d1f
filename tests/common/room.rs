//! Lesson 05's room as its tests see it: a client made of one plain socket,
//! the news lines (`* #3 to #5 joined; #2 left`) read back into numbers,
//! and the server started with a stdout that nobody reads, or that closes.

use super::{
    DEADLINE, Server, example_path, join_room_at, read_line, read_line_until, read_to_eof,
};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A client of the room: one socket, read through a buffer and written
/// directly (a `try_clone` would cost a second descriptor per client).
pub struct Client {
    pub id: usize,
    /// The client's own address, as the server logs it.
    pub addr: String,
    pub reader: BufReader<TcpStream>,
}

impl Client {
    /// Connects and reads the welcome line, which gives the client's number.
    pub fn join(server: &Server) -> Client {
        Client::join_at(server.addr)
    }

    pub fn join_at(addr: SocketAddr) -> Client {
        let (id, reader) = join_room_at(addr);
        let addr = reader
            .get_ref()
            .local_addr()
            .expect("local_addr")
            .to_string();
        Client { id, addr, reader }
    }

    pub fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }

    pub fn say(&self, text: &str) {
        self.send_bytes(format!("{text}\n").as_bytes());
    }

    pub fn send_bytes(&self, bytes: &[u8]) {
        let mut stream: &TcpStream = self.stream();
        stream.write_all(bytes).expect("send bytes");
    }

    pub fn next_line(&mut self) -> String {
        read_line(&mut self.reader, &format!("a line for client #{}", self.id))
    }

    /// Reads up to the line `last` and returns the lines before it.
    pub fn lines_before(&mut self, last: &str) -> Vec<String> {
        let what = format!("{last:?} for client #{}", self.id);
        read_line_until(&mut self.reader, &what, |line| line == last).1
    }

    /// Reads lines, skipping news (`* ...`), until `wanted` arrives; any
    /// other line on the way fails the test.
    pub fn expect(&mut self, wanted: &str) {
        loop {
            let line = self.next_line();
            if line == wanted {
                return;
            }
            assert!(
                line.starts_with("* "),
                "client #{} expected {wanted:?}, got {line:?}",
                self.id
            );
        }
    }

    /// Reads news lines until one says that `id` joined.
    pub fn hears_join_of(&mut self, id: usize) {
        let what = format!("the news that #{id} joined, for client #{}", self.id);
        read_line_until(&mut self.reader, &what, |line| {
            news(line).is_some_and(|(joined, _)| joined.contains(&id))
        });
    }

    pub fn expect_eof(&mut self) {
        let rest = read_to_eof(&mut self.reader, &format!("client #{}", self.id));
        assert_eq!(
            String::from_utf8_lossy(&rest),
            "",
            "nothing may follow the last line"
        );
    }

    /// After the server has closed this connection (a last line, then the
    /// end of the stream), checks that it is really gone: writes fail
    /// within the deadline, once the server's socket is closed and answers
    /// with a reset. Returns how long that took.
    pub fn writes_fail_soon(&self) -> Duration {
        let start = Instant::now();
        let mut stream: &TcpStream = self.stream();
        while start.elapsed() < DEADLINE {
            match stream.write_all(b"still here?\n") {
                Ok(()) => thread::sleep(Duration::from_millis(20)),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return start.elapsed(),
            }
        }
        panic!(
            "client #{}: the server still had the connection open {DEADLINE:?} after closing it",
            self.id
        );
    }
}

/// Joins `n` clients, one after the other, and waits until every client
/// already there has heard of each newcomer. News of a join waits for the
/// server's next tick (see `room::Hub::announce`), so without this wait two
/// joins may share one line, and what each client reads would depend on
/// timing.
pub fn join_one_by_one(server: &Server, n: usize) -> Vec<Client> {
    let mut clients: Vec<Client> = Vec::with_capacity(n);
    for _ in 0..n {
        let newcomer = Client::join(server);
        for client in &mut clients {
            client.hears_join_of(newcomer.id);
        }
        clients.push(newcomer);
    }
    clients
}

/// The client numbers in a news line: (joined, left). `None` if the line is
/// not news.
pub fn news(line: &str) -> Option<(Vec<usize>, Vec<usize>)> {
    let body = line.strip_prefix("* ")?;
    let (mut joined, mut left) = (Vec::new(), Vec::new());
    for part in body.split("; ") {
        let (list, into) = if let Some(list) = part.strip_suffix(" joined") {
            (list, &mut joined)
        } else if let Some(list) = part.strip_suffix(" left") {
            (list, &mut left)
        } else {
            return None;
        };
        for item in list.split(", ").flat_map(|i| i.split(" and ")) {
            let number = |s: &str| s.strip_prefix('#').and_then(|n| n.parse::<usize>().ok());
            match item.split_once(" to ") {
                Some((a, b)) => into.extend(number(a)?..=number(b)?),
                None => into.push(number(item)?),
            }
        }
    }
    Some((joined, left))
}

/// Every client number that the news lines among `lines` say joined; fails
/// the test if one is announced twice.
pub fn joins_in(lines: &[String]) -> BTreeSet<usize> {
    let mut all = BTreeSet::new();
    for (joined, _) in lines.iter().filter_map(|l| news(l)) {
        for id in joined {
            assert!(all.insert(id), "#{id} was announced twice: {lines:?}");
        }
    }
    all
}

/// How the room server's stdout is treated, as a shell pipe would.
pub enum Stdout {
    /// `05_multi_server | { read -r l; sleep 600; }`: the first line is
    /// read, then nobody reads, and the pipe fills up.
    NeverRead,
    /// `05_multi_server | head -n 2`: two lines are read, then the pipe is
    /// closed, and every later write fails.
    ClosedAfterTwoLines,
}

/// Lesson 05's server with a stdout that nobody reads, or that is closed.
pub struct Piped {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Kept open (and unread) for `NeverRead`.
    _stdout: Option<ChildStdout>,
    pub addr: SocketAddr,
}

impl Piped {
    pub fn start(stdout: Stdout, args: &[&str]) -> Piped {
        let mut child = Command::new(example_path("05_multi_server"))
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start 05_multi_server");
        let stdin = child.stdin.take();
        // Read byte by byte, so that nothing past the lines we take is read.
        let mut out = child.stdout.take().expect("stdout is piped");
        let mut read_one_line = || {
            let mut line = Vec::new();
            let mut byte = [0u8];
            while line.last() != Some(&b'\n') {
                match out.read(&mut byte) {
                    Ok(1) => line.push(byte[0]),
                    _ => panic!("05_multi_server closed its stdout"),
                }
            }
            String::from_utf8_lossy(&line).trim_end().to_string()
        };
        let first = read_one_line();
        let addr = first
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("expected `listening on IP:PORT`, got {first:?}"));
        let stdout = match stdout {
            Stdout::NeverRead => Some(out),
            Stdout::ClosedAfterTwoLines => {
                // The second line comes with the first client.
                drop(Client::join_at(addr));
                read_one_line();
                None // dropped: the pipe is closed
            }
        };
        Piped {
            child,
            stdin,
            _stdout: stdout,
            addr,
        }
    }

    pub fn type_in(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(text.as_bytes()).expect("type in");
        stdin.flush().expect("type in");
    }

    /// Waits for the server to exit; fails the test if it does not in time.
    pub fn wait_for_exit(&mut self) -> ExitStatus {
        super::wait_for_exit(&mut self.child, "05_multi_server")
    }
}

impl Drop for Piped {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads whole lines with a deadline, as fast as it can, until `n` have
/// arrived, and returns them; a slow or stuck server fails the test.
pub fn read_lines(reader: &mut impl BufRead, n: usize, what: &str) -> Vec<String> {
    (0..n)
        .map(|i| read_line(reader, &format!("line {i} of {n} ({what})")))
        .collect()
}
