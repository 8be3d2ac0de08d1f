//! Shows where you are in the exercises, and the commands of the student's
//! loop: `cargo run -p exercises -- --help`.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    exercises::commands::main()
}
