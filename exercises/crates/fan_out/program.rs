//! Exercise 06 by hand, with your code: `cargo run -p exercises --bin fan_out -- --addr A --addr B`
//! (`--help` says more; `cargo run -p solutions --bin fan_out` runs the reference answer).

fn main() -> std::process::ExitCode {
    programs::fan_out(exercise_fan_out::ask_all)
}
