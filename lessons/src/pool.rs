//! Lesson 07: a bounded pool of worker threads.
//!
//! (Being written: see the issue for this lesson.)
