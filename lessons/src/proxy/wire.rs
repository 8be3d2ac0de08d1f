//! `--show`: the wire view. One line for every chunk the proxy forwards,
//! so you see exactly how the bytes were cut and merged on their way:
//!
//! ```text
//!      0.4 ms  #1 up    @0       1 B  "h"
//!      0.5 ms  #1 up    @1       1 B  "\xc3"
//! ```
//!
//! The columns are the time since the connection started, the connection's
//! number, the direction (`up`: client to server, `down`: server to client),
//! the offset of the chunk's first byte in its direction, its size, and its
//! bytes: printable text as it is, everything else escaped (`\n`, `\xc3`).
//! Each line is a separate `write` of the proxy. The lines go through the
//! course's logger ([`crate::log`]), so a slow terminal never slows the
//! proxy: if it cannot keep up, lines are dropped and counted instead.

use std::fmt::Write as _;
use std::time::Duration;

use super::Direction;

/// How many bytes of a chunk a line shows; the rest are counted. A line of
/// 8 KiB helps nobody, and the logger's queue stays small.
pub const SHOWN: usize = 256;

/// The columns every wire-view line starts with.
fn prefix(at: Duration, id: u64, dir: Direction, offset: u64) -> String {
    let ms = at.as_secs_f64() * 1000.0;
    format!("{ms:>8.1} ms  #{id} {:<5} @{offset:<6}", dir.name())
}

/// The line for one forwarded chunk.
pub fn chunk(at: Duration, id: u64, dir: Direction, offset: u64, bytes: &[u8]) -> String {
    let mut line = prefix(at, id, dir, offset);
    let shown = &bytes[..bytes.len().min(SHOWN)];
    let _ = write!(line, "{:>5} B  \"{}\"", bytes.len(), escape(shown));
    if shown.len() < bytes.len() {
        let _ = write!(line, "... and {} more", bytes.len() - shown.len());
    }
    line
}

/// The line for something that happened to a direction (its end, a stall).
pub fn event(at: Duration, id: u64, dir: Direction, offset: u64, what: &str) -> String {
    format!("{} {what}", prefix(at, id, dir, offset))
}

/// Bytes as readable text: UTF-8 characters as they are (so `é` reads as
/// `é` when it arrives whole), and `\n`, `\r`, `\t`, `\\`, `\"`, other
/// control characters and bytes that are not (or not yet) UTF-8 escaped:
/// `\xc3` is half an `é`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                c if c.is_ascii_control() => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c if c.is_control() => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    #[rstest]
    #[case::text(b"hello", "hello")]
    #[case::newline_and_tab(b"a\tb\r\n", "a\\tb\\r\\n")]
    #[case::quote_and_backslash(b"say \"\\\"", "say \\\"\\\\\\\"")]
    #[case::whole_character(b"h\xc3\xa9llo", "h\u{e9}llo")]
    #[case::half_a_character(b"h\xc3", "h\\xc3")]
    #[case::second_half(b"\xa9llo", "\\xa9llo")]
    #[case::control_byte(b"\x07\x00", "\\x07\\x00")]
    #[case::c1_control("\u{85}".as_bytes(), "\\u{85}")]
    #[case::crab("🦀".as_bytes(), "🦀")]
    fn bytes_are_shown_as_text_or_escaped(#[case] bytes: &[u8], #[case] shown: &str) {
        assert_eq!(escape(bytes), shown);
    }

    #[test]
    fn a_chunk_line_has_time_connection_direction_offset_size_and_bytes() {
        let line = chunk(
            Duration::from_micros(12_345),
            3,
            Direction::Down,
            17,
            b"ab\n",
        );
        assert_eq!(line, "    12.3 ms  #3 down  @17        3 B  \"ab\\n\"");
    }

    #[test]
    fn a_long_chunk_shows_its_start_and_counts_the_rest() {
        let bytes = vec![b'x'; SHOWN + 10];
        let line = chunk(Duration::ZERO, 1, Direction::Up, 0, &bytes);
        assert!(line.contains(&format!("{} B", SHOWN + 10)), "{line}");
        assert!(line.ends_with("\"... and 10 more"), "{line}");
        assert_eq!(line.matches('x').count(), SHOWN);
    }
}
