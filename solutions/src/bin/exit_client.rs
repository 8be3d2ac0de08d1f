//! Exercise 02a: sends each line you type to a server, until `exit`.
//! (Runs the reference answer: `cargo run -p solutions --bin exit_client -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    programs::exit_client(solutions::exit_client::run_client)
}
