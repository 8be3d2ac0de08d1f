//! Exercise 08 by hand, with your code: `cargo run -p exercises --bin load -- --addr 127.0.0.1:PORT`
//! (`--help` says more; `cargo run -p solutions --bin load` runs the reference answer).

fn main() -> std::process::ExitCode {
    programs::load(exercise_load::run_load)
}
