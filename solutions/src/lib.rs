//! Placeholder: the solutions are added by the exercises issue.
#![forbid(unsafe_code)]
