//! Exercise 10 by hand, with your code: `cargo run -p exercises --bin event_loop`
//! (`--help` says more; `cargo run -p solutions --bin event_loop` runs the reference answer).

use exercise_event_loop::Connection;

fn main() -> std::process::ExitCode {
    programs::event_loop(programs::EventLoopApi {
        new: Connection::new,
        on_readable: Connection::on_readable,
        on_writable: Connection::on_writable,
    })
}
