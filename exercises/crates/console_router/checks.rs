//! The checks of exercise 05, run against your `run_room` in
//! exercises/src/console_router.rs. `cargo test -p exercises console_router` builds and runs
//! this program; so does `cargo test -p exercise-console_router`.

fn main() -> std::process::ExitCode {
    checks::runner::main(
        "console_router",
        checks::console_router::checks(exercise_console_router::run_room),
    )
}
