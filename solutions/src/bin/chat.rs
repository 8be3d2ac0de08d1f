//! Exercise 04: a full-duplex chat client.
//! (Runs the reference answer: `cargo run -p solutions --bin chat -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    programs::chat(solutions::duplex::chat)
}
