//! `cargo test -p exercises` checks all your work, `cargo test -p
//! exercises echo_server` one exercise. Each exercise is built and checked
//! on its own (see exercises/tool/test_driver.rs), so a mistake in one
//! never hides the others' results. A failing check says what it expected
//! and what went wrong.

fn main() -> std::process::ExitCode {
    exercises::test_driver::main()
}
