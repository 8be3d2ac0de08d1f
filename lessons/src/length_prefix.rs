//! Binary framing: each message preceded by its length.
//!
//! Lines are one way to cut a byte stream into messages ([`crate::framing`]);
//! they suit text that never contains the separator. A message that may hold
//! any byte (an image, a serialised struct, a line with a `\n` inside) needs
//! another way: send its length first. Here the length is 4 bytes, an
//! unsigned 32-bit number in *network byte order* (big-endian, the most
//! significant byte first, as every Internet protocol header writes its
//! numbers), then the bytes of the message:
//!
//! ```text
//! "hello"  ->  00 00 00 05  68 65 6c 6c 6f
//!              length: 5    h  e  l  l  o
//! ```
//!
//! The reader reads exactly 4 bytes, then exactly that many: `read_exact`
//! loops over `read` until it has them, however TCP cut the bytes up, and
//! fails with `UnexpectedEof` if the stream ends first. Two rules make it
//! safe against any peer:
//! - **A maximum length**, checked *before* allocating: a length field of
//!   `ff ff ff ff` would otherwise make the reader allocate 4 GiB.
//! - **End of stream is only clean between frames.** A stream that ends
//!   before a frame starts is a peer that is done ([`read_frame`] returns
//!   `None`); one that ends inside a length or a message is a peer that
//!   broke off (an `UnexpectedEof` error).

use std::io::{self, Read, Write};

/// The default largest frame [`read_frame`] accepts: 64 KiB, as for lines.
pub const DEFAULT_MAX_FRAME: u32 = 64 * 1024;

// ANCHOR: write_frame
/// Writes `payload` as one frame: its length as 4 big-endian bytes, then the
/// bytes. Both go in one `write_all`, so a small frame leaves in one
/// segment rather than a 4-byte one followed by the rest (lesson 09 shows
/// what Nagle's algorithm does to a small write followed by another).
pub fn write_frame(mut out: impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a frame of {} bytes does not fit a 4-byte length",
                payload.len()
            ),
        )
    })?;
    let mut frame = Vec::with_capacity(4 + payload.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    out.write_all(&frame)
}
// ANCHOR_END: write_frame

// ANCHOR: read_frame
/// Reads one frame of at most `max` bytes. `Ok(None)`: the stream ended
/// cleanly, before a frame. A stream that ends inside a frame is an
/// `UnexpectedEof` error, and a length over `max` an `InvalidData` error
/// (nothing of that frame is allocated; the stream is out of step: close
/// it).
pub fn read_frame(mut input: impl Read, max: u32) -> io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 4];
    // The first byte tells a clean end (nothing) from a broken one.
    if input.read(&mut header[..1])? == 0 {
        return Ok(None);
    }
    input
        .read_exact(&mut header[1..])
        .map_err(|e| inside(e, "length"))?;
    let len = u32::from_be_bytes(header);
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes is longer than the limit of {max}"),
        ));
    }
    let mut payload = vec![0; len as usize];
    input
        .read_exact(&mut payload)
        .map_err(|e| inside(e, "message"))?;
    Ok(Some(payload))
}

/// Says where the stream ended, for `read_exact`'s bare "failed to fill
/// whole buffer".
fn inside(e: io::Error, part: &str) -> io::Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        io::Error::new(
            e.kind(),
            format!("the stream ended inside a frame's {part}"),
        )
    } else {
        e
    }
}
// ANCHOR_END: read_frame

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use rstest::rstest;

    /// A reader that hands over one byte per `read`, as a slow network may.
    struct OneByteAtATime<'a>(&'a [u8]);

    impl Read for OneByteAtATime<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((&b, rest)), Some(slot)) => {
                    *slot = b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    fn frames(payloads: &[&[u8]]) -> Vec<u8> {
        let mut wire = Vec::new();
        for p in payloads {
            write_frame(&mut wire, p).expect("write to a Vec");
        }
        wire
    }

    #[test]
    fn the_length_goes_first_as_four_big_endian_bytes() {
        assert_eq!(frames(&[b"hello"]), b"\x00\x00\x00\x05hello");
        assert_eq!(frames(&[&[7; 258]])[..4], [0, 0, 1, 2]);
    }

    #[test]
    fn frames_come_back_whole_however_the_bytes_are_cut() {
        let sent: [&[u8]; 3] = [b"hello", b"", "h\u{e9}llo\nw\u{f6}rld".as_bytes()];
        let wire = frames(&sent);
        let mut input = OneByteAtATime(&wire);
        for expected in sent {
            let got = read_frame(&mut input, DEFAULT_MAX_FRAME).expect("a frame");
            assert_eq!(got.as_deref(), Some(expected));
        }
        assert_eq!(
            read_frame(&mut input, DEFAULT_MAX_FRAME).expect("the end"),
            None
        );
    }

    #[test]
    fn a_length_over_the_limit_is_refused_before_anything_is_allocated() {
        let e = read_frame(&b"\xff\xff\xff\xff"[..], 1024).expect_err("too long");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            e.to_string(),
            "a frame of 4294967295 bytes is longer than the limit of 1024"
        );
    }

    #[rstest]
    #[case::inside_the_length(&b"\x00\x00"[..], "the stream ended inside a frame's length")]
    #[case::inside_the_message(&b"\x00\x00\x00\x0ahel"[..], "the stream ended inside a frame's message")]
    fn a_stream_that_ends_inside_a_frame_is_unexpected_eof(
        #[case] wire: &[u8],
        #[case] message: &str,
    ) {
        let e = read_frame(wire, 1024).expect_err("cut short");
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(e.to_string(), message);
    }
}
