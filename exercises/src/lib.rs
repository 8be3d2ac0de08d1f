//! Exercises of the tcp-lessons course: one module per exercise, in the
//! order of the lessons. Each module's top comment is the task; the body of
//! its function is a `todo!()` for you to replace.
//!
//! | exercise | file | lesson |
//! |---|---|---|
//! | 01 | `threads.rs` | 01 threads |
//! | 02a | `exit_client.rs` | 02 (the original's hands-on exercise) |
//! | 02b | `echo_server.rs` | 02 (the original's hands-on exercise) |
//! | 03 | `reverse.rs` | 03 framing and UTF-8 |
//! | 04 | `duplex.rs` | 04 full duplex |
//! | 05 | `console_router.rs` | 05 one console, many clients |
//! | 06 | `fan_out.rs` | 06 one client, several servers |
//!
//! Keep each function's name and signature as they are: the checks call
//! them. Add helper functions, modules and `use` lines as you like.
//!
//! `cargo run -p exercises` shows your progress and the next exercise to do;
//! `cargo test -p exercises NAME` checks one exercise (e.g. `echo_server`).
//! Each exercise has hints beside it (`NAME.hints.md`), and a reference
//! answer in `solutions/src/NAME.rs`.
#![forbid(unsafe_code)]
// The stubs do not use their parameters yet; your answers will.
#![allow(unused_variables)]

pub mod console_router;
pub mod duplex;
pub mod echo_server;
pub mod exit_client;
pub mod fan_out;
pub mod reverse;
pub mod threads;

pub mod checks;
pub mod programs;
