//! Reference answers to the exercises of the tcp-lessons course, with
//! exactly the public API of the exercises (`exercises/src/NAME.rs`).
//! Compare them with your own answers once yours pass (or when you are
//! stuck for good).
//!
//! The checks and the programs are not copied here: this crate uses the
//! same libraries as the exercises do (`checks`, `programs`), so `cargo
//! test -p solutions` runs the students' checks against these answers
//! (`tests/checks.rs`), and `cargo run -p solutions --bin NAME` runs them.
#![forbid(unsafe_code)]

pub mod console_router;
pub mod duplex;
pub mod echo_server;
pub mod event_loop;
pub mod exit_client;
pub mod fan_out;
pub mod load;
pub mod pool;
pub mod proxy;
pub mod reverse;
pub mod threads;

/// The checks of every exercise, as `solutions::checks` (the fixtures in
/// `tests/wrong_solutions*.rs` use `checks::run`, `Check` and each
/// module's `checks(subject)`).
pub use checks;

/// Every exercise's checks, bound to its reference answer, in the order of
/// the lessons (the same order as [`checks::exercises`]).
pub fn bound_checks() -> Vec<(&'static str, Vec<checks::Check>)> {
    vec![
        ("threads", checks::threads::checks(threads::map_on_threads)),
        (
            "exit_client",
            checks::exit_client::checks(exit_client::run_client),
        ),
        (
            "echo_server",
            checks::echo_server::checks(echo_server::serve_all),
        ),
        ("reverse", checks::reverse::checks(reverse::reverse_lines)),
        ("duplex", checks::duplex::checks(duplex::chat)),
        (
            "console_router",
            checks::console_router::checks(console_router::run_room),
        ),
        ("fan_out", checks::fan_out::checks(fan_out::ask_all)),
        ("pool", checks::pool::checks(pool_api())),
        ("load", checks::load::checks(load::run_load)),
        ("proxy", checks::proxy::checks(proxy::forward)),
        ("event_loop", checks::event_loop::checks(event_loop_api())),
    ]
}

/// The reference connection of exercise 10, as the checks and the program
/// take it.
pub fn event_loop_api() -> checks::event_loop::Api<event_loop::Connection> {
    checks::event_loop::Api {
        new: event_loop::Connection::new,
        on_readable: event_loop::Connection::on_readable,
        on_writable: event_loop::Connection::on_writable,
    }
}

/// The reference pool, as the checks and the program take it.
pub fn pool_api() -> checks::pool::Api<pool::Pool> {
    checks::pool::Api {
        new: pool::Pool::new,
        submit: pool::Pool::submit,
        shutdown: pool::Pool::shutdown,
    }
}
