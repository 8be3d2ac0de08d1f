//! Exercise 04 by hand, with your code: `cargo run -p exercises --bin chat -- --addr 127.0.0.1:PORT`
//! (`--help` says more; `cargo run -p solutions --bin chat` runs the reference answer).

fn main() -> std::process::ExitCode {
    programs::chat(exercise_duplex::chat)
}
