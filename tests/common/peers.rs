//! Misbehaving local peers: servers that no course program would ever be,
//! so the tests can check how the clients defend themselves.
//!
//! Each listens on `127.0.0.1:0`; its address is `peer.addr`. Every thread
//! of a peer ends by itself within a bounded time, and dropping the peer
//! ends them sooner, so no test leaves anything running.
//!
//! - [`Peer::silent`]: connections complete (the system queues them) and
//!   then nothing ever comes.
//! - [`Peer::dripping`]: one byte every period, never a newline.
//! - [`Peer::welcoming_then_dripping`], [`Peer::welcoming_then_silent`]:
//!   a chat room's welcome line, then a drip or nothing.
//! - [`Peer::resetting`]: waits for the client's first bytes, then resets
//!   the connection (RST) instead of closing it.
//! - [`Peer::flooding`]: sends a given number of bytes without a newline.
//! - [`Peer::full_backlog`]: a listener whose queue is full, so a connect
//!   gets no answer at all.
#![allow(dead_code)] // each test file uses a different part of it

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::DEADLINE;

/// The first line a lesson 05 server sends a client that joins.
const WELCOME: &[u8] = b"* welcome, you are #1 (type /help)\n";

/// A misbehaving server on this machine.
pub struct Peer {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    /// Set by a flooding peer once one connection has been sent everything.
    flooded: Arc<AtomicBool>,
    accepter: Option<JoinHandle<()>>,
    /// When the first connection was accepted: the moment a client under
    /// test is known to be running, whatever its start cost on a busy
    /// machine.
    first_accepted: Arc<OnceLock<Instant>>,
    /// What a silent or full peer holds: its listener and the connections
    /// that fill its queue.
    _listener: Option<TcpListener>,
    _fillers: Vec<TcpStream>,
}

/// What a peer does with each connection it accepts. It must return within
/// a bounded time, and sooner once `stop` is set.
type Handler = fn(TcpStream, &AtomicBool, &AtomicBool, usize);

impl Peer {
    /// A listener that never accepts and never sends anything. A client's
    /// connect succeeds (the system completes the handshake and queues the
    /// connection), and then it waits for a reply that never comes.
    pub fn silent() -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a silent listener");
        let addr = listener.local_addr().expect("local_addr");
        Peer {
            addr,
            stop: Arc::default(),
            flooded: Arc::default(),
            accepter: None,
            first_accepted: Arc::default(),
            _listener: Some(listener),
            _fillers: Vec::new(),
        }
    }

    /// Accepts every connection and sends one `x` every `period`, never a
    /// newline, for at most a minute: a reader whose timeout restarts with
    /// every byte would wait all that time.
    pub fn dripping(period: Duration) -> Peer {
        Peer::serving(period.as_millis() as usize, |stream, stop, _, millis| {
            drip(&stream, stop, millis);
        })
    }

    /// Accepts every connection, sends it a welcome like lesson 05's
    /// (`* welcome, you are #1 ...`), and then one `x` every `period`, never
    /// a newline, for at most a minute: a room client that has joined and
    /// then waits for a line that never ends.
    pub fn welcoming_then_dripping(period: Duration) -> Peer {
        Peer::serving(period.as_millis() as usize, |stream, stop, _, millis| {
            if (&stream).write_all(WELCOME).is_err() {
                return;
            }
            drip(&stream, stop, millis);
        })
    }

    /// Accepts every connection, sends it lesson 05's welcome, and then
    /// nothing at all for a minute (or until dropped), reading and throwing
    /// away what the client sends.
    pub fn welcoming_then_silent() -> Peer {
        Peer::serving(0, |stream, stop, _, _| {
            if (&stream).write_all(WELCOME).is_err() {
                return;
            }
            let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
            let end = Instant::now() + Duration::from_secs(60);
            let mut sink = [0u8; 8192];
            while !stop.load(Ordering::SeqCst) && Instant::now() < end {
                match (&stream).read(&mut sink) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => return,
                }
            }
        })
    }

    /// Accepts every connection, waits until the client has sent something,
    /// and closes it with those bytes unread. Closing a socket that still
    /// holds unread data makes the system reset the connection (RST)
    /// instead of closing it (FIN): the portable way to get a reset without
    /// `SO_LINGER`, which std has no stable API for. A client that sends
    /// nothing and closes just sees its connection closed.
    pub fn resetting() -> Peer {
        Peer::serving(0, |stream, _, _, _| {
            let _ = stream.set_read_timeout(Some(DEADLINE));
            let mut byte = [0u8; 1];
            let _ = stream.peek(&mut byte);
            drop(stream);
        })
    }

    /// Accepts every connection and sends it `bytes` bytes of `x`, with no
    /// newline, reading and discarding whatever the client sends meanwhile.
    /// Once all are sent, [`flooded`](Peer::flooded) turns true, and the
    /// connection stays open until [`finish`](Peer::finish) or the drop,
    /// which close it cleanly (FIN).
    pub fn flooding(bytes: usize) -> Peer {
        Peer::serving(bytes, |stream, stop, flooded, bytes| {
            let _ = stream.set_write_timeout(Some(DEADLINE));
            let drain = stream.try_clone().map(|mut reader| {
                thread::spawn(move || {
                    let _ = reader.set_read_timeout(Some(DEADLINE * 3));
                    let mut sink = [0u8; 8192];
                    while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
                })
            });
            let chunk = vec![b'x'; 64 * 1024];
            let mut left = bytes;
            while left > 0 && !stop.load(Ordering::SeqCst) {
                let n = left.min(chunk.len());
                if (&stream).write_all(&chunk[..n]).is_err() {
                    return; // the client gave up: fine, that is its defence
                }
                left -= n;
            }
            if left == 0 {
                flooded.store(true, Ordering::SeqCst);
            }
            let end = Instant::now() + DEADLINE * 3;
            while !stop.load(Ordering::SeqCst) && Instant::now() < end {
                thread::sleep(Duration::from_millis(10));
            }
            let _ = stream.shutdown(Shutdown::Write);
            if let Ok(drain) = drain {
                let _ = drain.join();
            }
        })
    }

    /// A listener that never accepts, with its queue of waiting connections
    /// filled by the peer itself, so that a new connect gets no answer: on
    /// Linux and macOS the system drops the connection request (SYN) of a
    /// full queue and the client retries it a second later; on Windows it
    /// refuses at once. `None` (with a reason) if the queue could not be
    /// filled within 10 000 connections.
    pub fn full_backlog() -> Result<Peer, String> {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a listener");
        let addr = listener.local_addr().expect("local_addr");
        let mut fillers = Vec::new();
        for _ in 0..10_000 {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                Ok(stream) => fillers.push(stream),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::TimedOut) => {
                    return Ok(Peer {
                        addr,
                        stop: Arc::default(),
                        flooded: Arc::default(),
                        accepter: None,
                        first_accepted: Arc::default(),
                        _listener: Some(listener),
                        _fillers: fillers,
                    });
                }
                Err(e) => {
                    return Err(format!(
                        "after {} connections to a listener that never accepts, a connect \
                         failed with {e} instead of timing out",
                        fillers.len()
                    ));
                }
            }
        }
        Err("10 000 connections did not fill the listener's queue".to_string())
    }

    /// When the peer accepted its first connection, if it has.
    pub fn first_accepted(&self) -> Option<Instant> {
        self.first_accepted.get().copied()
    }

    /// True once a flooding peer has sent all its bytes to one connection.
    pub fn flooded(&self) -> bool {
        self.flooded.load(Ordering::SeqCst)
    }

    /// Ends what the peer's connections are doing: a flood's connection is
    /// closed cleanly, a drip stops.
    pub fn finish(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// A peer that accepts every connection and runs `handler` for each on
    /// a thread of its own, with `arg`.
    fn serving(arg: usize, handler: Handler) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a peer");
        let addr = listener.local_addr().expect("local_addr");
        let stop = Arc::new(AtomicBool::new(false));
        let flooded = Arc::new(AtomicBool::new(false));
        let (stop2, flooded2) = (Arc::clone(&stop), Arc::clone(&flooded));
        let first_accepted = Arc::new(OnceLock::new());
        let first = Arc::clone(&first_accepted);
        let accepter = thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    return; // the wake-up connection from `drop`
                }
                let _ = first.set(Instant::now());
                let Ok(stream) = stream else { continue };
                let (stop, flooded) = (Arc::clone(&stop2), Arc::clone(&flooded2));
                thread::spawn(move || handler(stream, &stop, &flooded, arg));
            }
        });
        Peer {
            addr,
            stop,
            flooded,
            accepter: Some(accepter),
            first_accepted,
            _listener: None,
            _fillers: Vec::new(),
        }
    }
}

/// Sends one `x` every `millis` ms, never a newline, until `stop`, for at
/// most a minute, or until the client has gone.
fn drip(mut stream: &TcpStream, stop: &AtomicBool, millis: usize) {
    let period = Duration::from_millis(millis as u64);
    let end = Instant::now() + Duration::from_secs(60);
    while !stop.load(Ordering::SeqCst) && Instant::now() < end {
        if stream.write_all(b"x").is_err() {
            return;
        }
        thread::sleep(period);
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(accepter) = self.accepter.take() {
            // Wake the blocked `accept` with one last connection.
            let _ = TcpStream::connect_timeout(&self.addr, DEADLINE);
            let _ = accepter.join();
        }
    }
}
