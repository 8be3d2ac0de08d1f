//! Exercise 02b: an echo server for many clients at once.
//! (Runs your code: `cargo run -p exercises --bin echo_server -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    exercises::programs::echo_server()
}
