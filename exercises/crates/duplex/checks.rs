//! The checks of exercise 04, run against your `chat` in
//! exercises/src/duplex.rs. `cargo test -p exercises duplex` builds and runs
//! this program; so does `cargo test -p exercise-duplex`.

fn main() -> std::process::ExitCode {
    checks::runner::main("duplex", checks::duplex::checks(exercise_duplex::chat))
}
