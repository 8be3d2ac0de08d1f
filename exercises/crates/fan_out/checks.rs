//! The checks of exercise 06, run against your `ask_all` in
//! exercises/src/fan_out.rs. `cargo test -p exercises fan_out` builds and runs
//! this program; so does `cargo test -p exercise-fan_out`.

fn main() -> std::process::ExitCode {
    checks::runner::main(
        "fan_out",
        checks::fan_out::checks(exercise_fan_out::ask_all),
    )
}
