//! Exercise 05 by hand, with your code: `cargo run -p exercises --bin console_router`
//! (`--help` says more; `cargo run -p solutions --bin console_router` runs the reference answer).

fn main() -> std::process::ExitCode {
    programs::console_router(exercise_console_router::run_room)
}
