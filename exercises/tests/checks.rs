//! The checks of every exercise, one test each: `cargo test -p exercises`
//! checks all your work, `cargo test -p exercises echo_server` one exercise.
//! A failing test says what was expected and what probably went wrong.

use exercises as subject;

include!("shared/checks_list.rs");
