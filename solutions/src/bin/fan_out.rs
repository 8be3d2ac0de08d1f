//! Exercise 06: asks several servers at once.
//! (Runs the reference answer: `cargo run -p solutions --bin fan_out -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    programs::fan_out(solutions::fan_out::ask_all)
}
