//! Exercise 02a: sends each line you type to a server, until `exit`.
//! (Runs your code: `cargo run -p exercises --bin exit_client -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    exercises::programs::exit_client()
}
