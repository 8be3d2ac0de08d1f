//! Exercise 02b: an echo server for many clients at once.
//! (Runs the reference answer: `cargo run -p solutions --bin echo_server -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    programs::echo_server(solutions::echo_server::serve_all)
}
