//! Exercise 05, `console_router`: the events the room receives.

use std::net::TcpStream;

// ANCHOR: event
/// What the room hears about, in the order it happened.
#[derive(Debug)]
pub enum Event {
    /// Client `id` connected; `stream` is the room's to write to.
    Joined { id: u64, stream: TcpStream },
    /// Client `id` disconnected.
    Left { id: u64 },
    /// The server's user typed a line on the console.
    Console(String),
}
// ANCHOR_END: event
