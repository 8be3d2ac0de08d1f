//! Exercise 02b by hand, with your code: `cargo run -p exercises --bin echo_server`
//! (`--help` says more; `cargo run -p solutions --bin echo_server` runs the reference answer).

fn main() -> std::process::ExitCode {
    programs::echo_server(exercise_echo_server::serve_all)
}
