//! The `exercises` package: the progress program (`cargo run -p exercises`)
//! and the checker (`cargo test -p exercises [NAME]`). Its code is in
//! `exercises/tool/`; the exercises themselves are the student's files in
//! `exercises/src/NAME.rs`, each compiled as a crate of its own
//! (`exercises/crates/NAME/`).
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
//! | 07 | `pool.rs` | 07 a bounded worker pool |
//! | 08 | `load.rs` | 08 a load client that checks every reply |
//! | 09 | `proxy.rs` | 09 a proxy: both directions, the half-close passed on |
//!
//! Keep each function's name and signature as they are: the checks call
//! them. Add helper functions, modules and `use` lines as you like.
//!
//! How it works: nothing in this package depends on your code. It reads
//! the list of exercises and checks from the `checks` library, asks cargo
//! to build every exercise's crate (going on past the ones that do not
//! compile), and runs each one's checks program in a process of its own
//! under a deadline ([`status`]). So one exercise that does not compile,
//! panics or hangs never hides the others' results.
#![forbid(unsafe_code)]

use std::sync::atomic::AtomicBool;

pub mod cargo;
pub mod commands;
pub mod course;
pub mod grade;
pub mod grading;
pub mod json;
pub mod launcher;
pub mod status;
pub mod test_driver;

/// Set when the user asked to stop (`q` in `watch`): builds and checks in
/// progress are stopped, their processes killed.
pub static CANCEL: AtomicBool = AtomicBool::new(false);
