//! Exercise 09 by hand, with your code: `cargo run -p exercises --bin proxy -- --to 127.0.0.1:2002`
//! (`--help` says more; `cargo run -p solutions --bin proxy` runs the reference answer).

fn main() -> std::process::ExitCode {
    programs::proxy(exercise_proxy::forward)
}
