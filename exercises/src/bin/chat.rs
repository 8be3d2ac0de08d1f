//! Exercise 04: a full-duplex chat client.
//! (Runs your code: `cargo run -p exercises --bin chat -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    exercises::programs::chat()
}
