//! Exercise 01: squares the numbers given, one thread each.
//! (Runs the reference answer: `cargo run -p solutions --bin threads -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    programs::threads(solutions::threads::map_on_threads)
}
