//! Shows which exercises pass their checks, and the next one to do.
//! (Runs your code: `cargo run -p exercises --bin progress -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    exercises::programs::progress()
}
