//! Exercise 07 by hand, with your code: `cargo run -p exercises --bin pool_server`
//! (`--help` says more; `cargo run -p solutions --bin pool_server` runs the reference answer).

use exercise_pool::Pool;

fn main() -> std::process::ExitCode {
    programs::pool_server(programs::PoolApi {
        new: Pool::new,
        submit: Pool::submit,
        shutdown: Pool::shutdown,
    })
}
