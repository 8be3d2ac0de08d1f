//! Shows which exercises pass their checks, and the next one to do.
//! (Runs the reference answer: `cargo run -p solutions --bin progress -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    solutions::programs::progress()
}
