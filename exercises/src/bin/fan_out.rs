//! Exercise 06: asks several servers at once.
//! (Runs your code: `cargo run -p exercises --bin fan_out -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    exercises::programs::fan_out()
}
