//! Exercise 07: lesson 03's reverse server, a pool job per client.
//! (Runs the reference answer: `cargo run -p solutions --bin pool_server -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    programs::pool_server(solutions::pool_api())
}
