//! Exercise 05: a server whose console talks to its clients.
//! (Runs your code: `cargo run -p exercises --bin console_router -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    exercises::programs::console_router()
}
