//! Exercise 03 by hand, with your code: `cargo run -p exercises --bin reverse_server`
//! (`--help` says more; `cargo run -p solutions --bin reverse_server` runs the reference answer).

fn main() -> std::process::ExitCode {
    programs::reverse_server(exercise_reverse::reverse_lines)
}
