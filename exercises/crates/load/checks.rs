//! The checks of exercise 08, run against your `run_load` in
//! exercises/src/load.rs. `cargo test -p exercises load` builds and runs
//! this program; so does `cargo test -p exercise-load`.

fn main() -> std::process::ExitCode {
    checks::runner::main("load", checks::load::checks(exercise_load::run_load))
}
