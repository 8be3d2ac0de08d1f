//! Exercise 01 by hand, with your code: `cargo run -p exercises --bin threads -- 3 4 5`
//! (`--help` says more; `cargo run -p solutions --bin threads` runs the reference answer).

fn main() -> std::process::ExitCode {
    programs::threads(exercise_threads::map_on_threads)
}
