//! The checks of exercise 01, run against your `map_on_threads` in
//! exercises/src/threads.rs. `cargo test -p exercises threads` builds and runs
//! this program; so does `cargo test -p exercise-threads`.

fn main() -> std::process::ExitCode {
    checks::runner::main(
        "threads",
        checks::threads::checks(exercise_threads::map_on_threads),
    )
}
