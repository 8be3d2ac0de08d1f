//! Exercise 01: squares the numbers given, one thread each.
//! (Runs your code: `cargo run -p exercises --bin threads -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    exercises::programs::threads()
}
