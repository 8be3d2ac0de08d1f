//! Exercise 05: a server whose console talks to its clients.
//! (Runs the reference answer: `cargo run -p solutions --bin console_router -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    programs::console_router(solutions::console_router::run_room)
}
