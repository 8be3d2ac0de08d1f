//! Placeholder: the exercises are added by the exercises issue.
#![forbid(unsafe_code)]
