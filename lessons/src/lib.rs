//! The code of every lesson of the course, one module per lesson.
//!
//! The runnable programs in `examples/` are thin command-line wrappers around
//! these modules, so the tests and the book use exactly the code you run.
//!
//! | lesson | module | teaches |
//! |---|---|---|
//! | 01 | [`threads`] | `thread::spawn`, `move`, `JoinHandle`, `thread::scope` |
//! | 02 | [`echo`] | one client at a time, `io::copy`, half-close |
//! | 03 | [`reverse`] | a thread per client, line framing, UTF-8 |
//! | 04 | [`chat`] | full duplex: `try_clone`, one thread per direction, `shutdown` |
//! | 05 | [`room`] | many clients, one console: channels, ownership, flow control |
//! | 06 | [`fan_out`] | one client, several servers: scoped threads and timeouts |
//! | 07 | [`pool`] | a bounded pool of worker threads |
//! | 08 | [`load`] | a load generator that checks every reply |
//! | 09 | [`proxy`] | a proxy that shows the byte stream and misbehaves on purpose |
//!
//! Helpers shared by every lesson, one per concern: [`framing`] reads one
//! line with a length limit, [`cli`] parses flags and turns errors into one
//! readable line, [`deadline`] bounds a whole exchange in time, [`log`]
//! prints a server's console output without ever stopping it, and [`stop`]
//! turns SIGINT, SIGTERM and the end of a console into a clean shutdown.
//! [`length_prefix`] is lesson 03's other framing, for binary messages: a
//! length before each one (`examples/03_frames.rs` runs it).
#![forbid(unsafe_code)]

pub mod chat;
pub mod cli;
pub mod deadline;
pub mod echo;
pub mod fan_out;
pub mod framing;
pub mod length_prefix;
pub mod load;
pub mod log;
pub mod pool;
pub mod proxy;
pub mod reverse;
pub mod room;
pub mod stop;
pub mod threads;
