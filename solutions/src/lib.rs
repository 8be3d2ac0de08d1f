//! Reference answers to the exercises of the tcp-lessons course, with
//! exactly the public API of the `exercises` crate. Compare them with your
//! own answers once yours pass (or when you are stuck for good).
//!
//! The checks and the programs are not copied here: this crate compiles
//! the very same files as `exercises` does (see `#[path]` below), so
//! `cargo test -p solutions` runs the students' checks against these
//! answers, and `cargo run -p solutions --bin NAME` runs them.
#![forbid(unsafe_code)]

pub mod console_router;
pub mod duplex;
pub mod echo_server;
pub mod exit_client;
pub mod fan_out;
pub mod reverse;
pub mod threads;

#[path = "../../exercises/src/checks/mod.rs"]
pub mod checks;
#[path = "../../exercises/src/programs.rs"]
pub mod programs;
