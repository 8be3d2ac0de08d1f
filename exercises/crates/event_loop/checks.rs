//! The checks of exercise 10, run against your `Connection` in
//! exercises/src/event_loop.rs. `cargo test -p exercises event_loop` builds
//! and runs this program; so does `cargo test -p exercise-event_loop`.

use exercise_event_loop::Connection;

fn main() -> std::process::ExitCode {
    checks::runner::main(
        "event_loop",
        checks::event_loop::checks(checks::event_loop::Api {
            new: Connection::new,
            on_readable: Connection::on_readable,
            on_writable: Connection::on_writable,
        }),
    )
}
