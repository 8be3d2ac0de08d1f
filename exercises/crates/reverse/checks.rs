//! The checks of exercise 03, run against your `reverse_lines` in
//! exercises/src/reverse.rs. `cargo test -p exercises reverse` builds and runs
//! this program; so does `cargo test -p exercise-reverse`.

fn main() -> std::process::ExitCode {
    checks::runner::main(
        "reverse",
        checks::reverse::checks(exercise_reverse::reverse_lines),
    )
}
