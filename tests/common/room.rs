//! Lesson 05's room as its tests see it: a client made of one plain socket,
//! and the news lines (`* #3 to #5 joined; #2 left`) read back into numbers.

use super::{DEADLINE, Server, join_room, read_line, read_line_until, read_to_eof};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::TcpStream;
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
        let (id, reader) = join_room(server);
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

    /// Reads news lines until one says that `id` left. The room takes a
    /// client out of its table before it announces the leave, so once this
    /// returns, the client's place is free.
    pub fn hears_leave_of(&mut self, id: usize) {
        let what = format!("the news that #{id} left, for client #{}", self.id);
        read_line_until(&mut self.reader, &what, |line| {
            news(line).is_some_and(|(_, left)| left.contains(&id))
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

/// Reads whole lines with a deadline, as fast as it can, until `n` have
/// arrived, and returns them; a slow or stuck server fails the test.
pub fn read_lines(reader: &mut impl BufRead, n: usize, what: &str) -> Vec<String> {
    (0..n)
        .map(|i| read_line(reader, &format!("line {i} of {n} ({what})")))
        .collect()
}
