//! The checks of exercise 02a, run against your `run_client` in
//! exercises/src/exit_client.rs. `cargo test -p exercises exit_client` builds and runs
//! this program; so does `cargo test -p exercise-exit_client`.

fn main() -> std::process::ExitCode {
    checks::runner::main(
        "exit_client",
        checks::exit_client::checks(exercise_exit_client::run_client),
    )
}
