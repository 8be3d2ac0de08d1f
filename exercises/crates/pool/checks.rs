//! The checks of exercise 07, run against your `Pool` in
//! exercises/src/pool.rs. `cargo test -p exercises pool` builds and runs
//! this program; so does `cargo test -p exercise-pool`.

use exercise_pool::Pool;

fn main() -> std::process::ExitCode {
    checks::runner::main(
        "pool",
        checks::pool::checks(checks::pool::Api {
            new: Pool::new,
            submit: Pool::submit,
            shutdown: Pool::shutdown,
        }),
    )
}
