//! Exercise 02a by hand, with your code: `cargo run -p exercises --bin exit_client -- --addr 127.0.0.1:PORT`
//! (`--help` says more; `cargo run -p solutions --bin exit_client` runs the reference answer).

fn main() -> std::process::ExitCode {
    programs::exit_client(exercise_exit_client::run_client)
}
