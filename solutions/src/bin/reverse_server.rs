//! Exercise 03: answers each line reversed.
//! (Runs the reference answer: `cargo run -p solutions --bin reverse_server -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    programs::reverse_server(solutions::reverse::reverse_lines)
}
