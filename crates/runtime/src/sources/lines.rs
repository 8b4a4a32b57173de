//! Reading one line with a length limit: a longer line is skipped (read to
//! its newline without being kept) and reported, so that memory stays
//! bounded whatever an input sends (`[engine] max_line`, default 1 MiB).

use std::io::BufRead;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Default `[engine] max_line`: 1 MiB.
pub const DEFAULT_MAX_LINE: usize = 1 << 20;

/// What one read gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// End of input, nothing read.
    Eof,
    /// A line (in the buffer, newline included if there was one) of this
    /// many bytes.
    Line(usize),
    /// A line longer than the limit, of this many bytes, skipped: the
    /// buffer holds nothing of it.
    TooLong(usize),
}

/// Read up to and including the next newline into `line` (cleared first),
/// keeping at most `max` bytes.
pub fn read_line<R: BufRead>(r: &mut R, line: &mut Vec<u8>, max: usize) -> std::io::Result<Read> {
    line.clear();
    let mut total = 0usize;
    let mut too_long = false;
    loop {
        let (done, used) = {
            let buf = r.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            take(buf, line, &mut too_long, max)
        };
        r.consume(used);
        total += used;
        if done {
            break;
        }
    }
    Ok(finish(line, total, too_long, max))
}

/// The same over an async reader.
pub async fn read_line_async<R: AsyncBufRead + Unpin>(
    r: &mut R,
    line: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Read> {
    line.clear();
    let mut total = 0usize;
    let mut too_long = false;
    loop {
        let (done, used) = {
            let buf = r.fill_buf().await?;
            if buf.is_empty() {
                break;
            }
            take(buf, line, &mut too_long, max)
        };
        r.consume(used);
        total += used;
        if done {
            break;
        }
    }
    Ok(finish(line, total, too_long, max))
}

/// Take from `buf` up to and including the first newline (or all of it),
/// keeping it in `line` while the line stays within `max`: whether the line
/// ended, and how many bytes were taken.
fn take(buf: &[u8], line: &mut Vec<u8>, too_long: &mut bool, max: usize) -> (bool, usize) {
    let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
        Some(i) => (&buf[..=i], true),
        None => (buf, false),
    };
    if !*too_long && line.len() + chunk.len() > max.saturating_add(1) {
        *too_long = true;
        line.clear();
    }
    if !*too_long {
        line.extend_from_slice(chunk);
    }
    (done, chunk.len())
}

fn finish(line: &mut Vec<u8>, total: usize, too_long: bool, max: usize) -> Read {
    if total == 0 {
        return Read::Eof;
    }
    // The limit is on the line without its newline.
    let content = line.len() - (line.last() == Some(&b'\n')) as usize;
    if too_long || content > max {
        line.clear();
        return Read::TooLong(total);
    }
    Read::Line(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_skipped_whole_and_short_ones_kept() {
        let data = b"abc\nxxxxxxxxxx\nde\nyyyyyyyyyyyy";
        let mut r = std::io::BufReader::with_capacity(4, &data[..]);
        let mut line = Vec::new();
        assert_eq!(read_line(&mut r, &mut line, 5).unwrap(), Read::Line(4));
        assert_eq!(line, b"abc\n");
        assert_eq!(read_line(&mut r, &mut line, 5).unwrap(), Read::TooLong(11));
        assert!(line.is_empty());
        assert_eq!(read_line(&mut r, &mut line, 5).unwrap(), Read::Line(3));
        assert_eq!(line, b"de\n");
        assert_eq!(read_line(&mut r, &mut line, 5).unwrap(), Read::TooLong(12));
        assert_eq!(read_line(&mut r, &mut line, 5).unwrap(), Read::Eof);
        let mut r = std::io::BufReader::new(&b"12345\n"[..]);
        assert_eq!(read_line(&mut r, &mut line, 5).unwrap(), Read::Line(6), "the newline is not counted");
    }
}
