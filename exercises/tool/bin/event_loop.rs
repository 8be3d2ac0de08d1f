//! Runs the program of an exercise with your code: `cargo run -p exercises
//! --bin event_loop -- --help` (see exercises/tool/launcher.rs).
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    exercises::launcher::launch("event_loop")
}
