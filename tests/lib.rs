//! Nothing here: the package's content is its test files (see Cargo.toml).
//! Cargo needs a target to build, and this empty library is it.
#![forbid(unsafe_code)]
