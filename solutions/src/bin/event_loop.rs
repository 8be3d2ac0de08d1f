//! Exercise 10: lesson 03's reverse server on one thread, an event loop.
//! (Runs the reference answer: `cargo run -p solutions --bin event_loop -- --help`.)
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    programs::event_loop(solutions::event_loop_api())
}
