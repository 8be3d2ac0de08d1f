//! The types an exercise shares with its checks.
//!
//! A check that hands your code an `Event`, or compares the `Report` your
//! code returns, needs the very same type as your code. So those types live
//! here, in the checks' library, which your exercise's crate depends on;
//! each exercise file brings its own in with a `pub use` line. (Had each
//! exercise file defined them, the checks could not be compiled without
//! every exercise, and one exercise that does not compile would stop the
//! checks of all the others.)

pub mod console_router;
pub mod event_loop;
pub mod load;
pub mod pool;
pub mod reverse;
