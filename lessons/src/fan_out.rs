//! Lesson 06: one client talking to several servers at once.
//!
//! (Being written: see the issue for this lesson.)
