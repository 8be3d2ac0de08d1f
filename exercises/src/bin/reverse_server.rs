//! Exercise 03: answers each line reversed.
//! (Runs your code: `cargo run -p exercises --bin reverse_server -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    exercises::programs::reverse_server()
}
