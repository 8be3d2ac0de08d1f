//! Exercise 08: sends numbered lines to an echo server and says what came back wrong.
//! (Runs the reference answer: `cargo run -p solutions --bin load -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    programs::load(solutions::load::run_load)
}
