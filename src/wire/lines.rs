//! JSON watch lines split from a byte stream ([`LineSplitter`]), and the longest line or
//! protobuf frame accepted as one object ([`MAX_LINE_BYTES`]).

use bytes::{Bytes, BytesMut};

/// The longest watch line (or protobuf frame) accepted: a bigger one is treated as a broken
/// stream.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// Splits a byte stream into newline-terminated lines, reusing one buffer.
#[derive(Debug, Default)]
pub struct LineSplitter {
    buffer: BytesMut,
    /// Bytes of `buffer` already searched for a newline.
    scanned: usize,
    /// Stream offset of the first byte of `buffer`, for error messages.
    offset: u64,
}

/// A watch line too long to be a Kubernetes object.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("watch line at byte offset {offset} exceeds {MAX_LINE_BYTES} bytes")]
pub struct LineTooLong {
    /// Stream offset where the line starts.
    pub offset: u64,
}

impl LineSplitter {
    /// Appends a chunk read from the stream.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// The next complete line (newline stripped) and its stream offset, if one is buffered.
    pub fn next_line(&mut self) -> Result<Option<(u64, Bytes)>, LineTooLong> {
        match memchr::memchr(b'\n', &self.buffer[self.scanned..]) {
            Some(position) => {
                let end = self.scanned + position;
                let mut line = self.buffer.split_to(end + 1);
                line.truncate(end);
                let offset = self.offset;
                self.offset += end as u64 + 1;
                self.scanned = 0;
                Ok(Some((offset, line.freeze())))
            }
            None if self.buffer.len() > MAX_LINE_BYTES => Err(LineTooLong {
                offset: self.offset,
            }),
            None => {
                self.scanned = self.buffer.len();
                Ok(None)
            }
        }
    }

    /// Bytes received after the last newline: a line cut short when the stream ended.
    pub fn remainder(&self) -> usize {
        self.buffer.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitter_yields_whole_lines_across_chunks_with_offsets() {
        let mut splitter = LineSplitter::default();
        splitter.push(b"ab");
        assert_eq!(splitter.next_line(), Ok(None));
        splitter.push(b"c\nde");
        assert_eq!(
            splitter.next_line(),
            Ok(Some((0, Bytes::from_static(b"abc"))))
        );
        assert_eq!(splitter.next_line(), Ok(None));
        splitter.push(b"f\n\ng\n");
        assert_eq!(
            splitter.next_line(),
            Ok(Some((4, Bytes::from_static(b"def"))))
        );
        assert_eq!(splitter.next_line(), Ok(Some((8, Bytes::from_static(b"")))));
        assert_eq!(
            splitter.next_line(),
            Ok(Some((9, Bytes::from_static(b"g"))))
        );
        assert_eq!(splitter.remainder(), 0);
        splitter.push(b"partial");
        assert_eq!(splitter.next_line(), Ok(None));
        assert_eq!(splitter.remainder(), 7);
    }

    #[test]
    fn splitter_refuses_an_endless_line() {
        let mut splitter = LineSplitter::default();
        let chunk = vec![b'x'; 1024 * 1024];
        let mut result = Ok(None);
        for _ in 0..=MAX_LINE_BYTES / chunk.len() {
            splitter.push(&chunk);
            result = splitter.next_line();
        }
        assert_eq!(result, Err(LineTooLong { offset: 0 }));
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_one_line_and_a_byte_more_is_refused() {
        let mut splitter = LineSplitter::default();
        splitter.push(&vec![b'x'; MAX_LINE_BYTES]);
        assert_eq!(
            splitter.next_line(),
            Ok(None),
            "the limit itself is allowed"
        );
        splitter.push(b"\n");
        let (_, line) = splitter
            .next_line()
            .expect("allowed")
            .expect("a whole line");
        assert_eq!(line.len(), MAX_LINE_BYTES);

        let mut splitter = LineSplitter::default();
        splitter.push(&vec![b'x'; MAX_LINE_BYTES + 1]);
        assert_eq!(splitter.next_line(), Err(LineTooLong { offset: 0 }));
    }

    #[test]
    fn a_line_of_ten_megabytes_is_one_line_not_an_error() {
        let mut splitter = LineSplitter::default();
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..10 {
            splitter.push(&chunk);
            assert_eq!(splitter.next_line(), Ok(None), "an object may be this big");
        }
        splitter.push(b"\n");
        let (offset, line) = splitter
            .next_line()
            .expect("within the limit")
            .expect("a whole line");
        assert_eq!(
            (offset, line.len()),
            (0, 10 * 1024 * 1024),
            "without its newline"
        );
    }
}
