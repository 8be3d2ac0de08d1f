//! The checks of exercise 02b, run against your `serve_all` in
//! exercises/src/echo_server.rs. `cargo test -p exercises echo_server` builds and runs
//! this program; so does `cargo test -p exercise-echo_server`.

fn main() -> std::process::ExitCode {
    checks::runner::main(
        "echo_server",
        checks::echo_server::checks(exercise_echo_server::serve_all),
    )
}
