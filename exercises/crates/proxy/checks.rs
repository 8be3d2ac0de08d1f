//! The checks of exercise 09, run against your `forward` in
//! exercises/src/proxy.rs. `cargo test -p exercises proxy` builds and runs
//! this program; so does `cargo test -p exercise-proxy`.

fn main() -> std::process::ExitCode {
    checks::runner::main("proxy", checks::proxy::checks(exercise_proxy::forward))
}
