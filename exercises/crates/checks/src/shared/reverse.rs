//! Exercise 03, `reverse`: the limit the checks probe.

// ANCHOR: max_line
/// The longest line accepted, in bytes before its `\n` (a `\r` of a `\r\n`
/// counts among them, as in `lessons::framing`).
pub const MAX_LINE: usize = 1024;
// ANCHOR_END: max_line
