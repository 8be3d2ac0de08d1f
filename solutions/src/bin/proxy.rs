//! Exercise 09: a proxy whose every connection is forwarded by `forward`.
//! (Runs the reference answer: `cargo run -p solutions --bin proxy -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    programs::proxy(solutions::proxy::forward)
}
