//! Lesson 05: a multi-client server with one console.
//!
//! (Being written: see the issue for this lesson.)
