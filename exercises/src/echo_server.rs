//! Exercise 02b (lesson 02, the original's second hands-on exercise): an echo
//! server that serves many clients at once.
//!
//! Lesson 02's server serves one client after the other, so a second client
//! waits until the first leaves. Write [`serve_all`]: accept every client of
//! `listener` and serve each one *at the same time* as the others, sending
//! back every byte it sends, exactly as it came, until it closes.
//!
//! What the checks hold you to:
//! - bytes, not lines: whatever a read returns goes back at once, `\n` or no
//!   `\n`, and nothing else goes back (not the rest of your buffer);
//! - every client at the same time: sixteen clients stay connected, idle,
//!   while the next one is served; each gets back only its own bytes;
//! - 1 MiB sent in one go comes back whole (a `write` may send only part of
//!   a buffer: `write_all` or `io::copy` send all of it);
//! - when a client shuts down its sending side, it has said all it will:
//!   end that client and close its connection (drop its stream, and every
//!   `try_clone` of it if you made one: you need none, as `&TcpStream` is
//!   both `Read` and `Write`);
//! - a client that vanishes mid-way (its connection reset) ends that client
//!   only: the server goes on serving the others.
//! - a failed `accept` ends nothing: on Linux and macOS, one check runs your
//!   server in a process of its own with every file descriptor in use while
//!   a client waits, then frees them; the server must go on, and serve.
//! - the checks also run again through lesson 09's proxy, once with every
//!   byte arriving on its own (`--slice 1`) and once with separate messages
//!   merged into one write (`--merge`). Code that takes one `read`
//!   for one message passes on loopback and fails there, with a message
//!   that says so.
//!
//! `serve_all` never needs to return. A failed `accept` is about one client
//! (it gave up before we took it: skip it) or about the server (out of file
//! descriptors or memory, `EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`: the waiting
//! client stays queued, so retrying at once fails again at once, and the loop
//! spins; pause, then retry). `lessons::cli::clients(&listener)` does both.
//! Log `client IP:PORT connected` / `disconnected` with `lessons::log_line!`
//! if you like.
//!
//! Run it with `cargo run -p exercises --bin echo_server` and talk to it
//! with `nc 127.0.0.1 65432` from two terminals at once. Check it with
//! `cargo test -p exercises echo_server`. Hints:
//! `exercises/src/echo_server.hints.md`. Time: about 25 minutes.

use std::io;
use std::net::TcpListener;

// ANCHOR: task
/// Serves every client of `listener` concurrently, echoing its bytes back.
pub fn serve_all(listener: TcpListener) -> io::Result<()> {
    todo!("exercise 02b: write serve_all in exercises/src/echo_server.rs")
}
// ANCHOR_END: task
