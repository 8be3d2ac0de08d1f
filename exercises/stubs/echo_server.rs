//! Exercise 02b (lesson 02, the original's second hands-on exercise): an echo
//! server that serves many clients at once.
//!
//! Lesson 02's server serves one client after the other, so a second client
//! waits until the first leaves. Write [`serve_all`]: accept every client of
//! `listener` and serve each one *at the same time* as the others, sending
//! back every byte it sends, exactly as it came, until it closes.
//!
//! A server must survive its clients: a client that vanishes mid-way (its
//! connection reset) ends that client only. `serve_all` returns only if
//! accepting itself fails for good; in practice it runs until the program
//! is stopped. Log `client IP:PORT connected` / `disconnected` if you like.
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
