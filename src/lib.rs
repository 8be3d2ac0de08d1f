//! The root package of the course. Its real content is elsewhere: the
//! runnable lessons in `examples/`, their code in the `lessons` crate, and the
//! end-to-end tests in `tests/`. Cargo needs a target here to build those.
#![forbid(unsafe_code)]

pub use lessons;
