//! Lesson 04: full-duplex chat.
//!
//! (Being written: see the issue for this lesson.)
