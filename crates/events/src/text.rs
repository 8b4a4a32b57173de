//! Configuration text read from disk (rules, placeholders, mappings,
//! analytics settings): files an operator points vigie at, read whole, so
//! each is bounded before it is an allocation.

use std::io::Read;
use std::path::Path;

/// The largest rule, placeholders, mapping or analytics file read (SigmaHQ's
/// largest rule is a few tens of kilobytes): a stray multi-gigabyte file is
/// an error, not an allocation.
pub const MAX_FILE_BYTES: u64 = 8 << 20;

/// Read `p` as UTF-8 text of at most [`MAX_FILE_BYTES`]; the error says why
/// in words (never the file's content).
pub fn read_capped(p: &Path) -> Result<String, String> {
    let mut bytes = Vec::new();
    std::fs::File::open(p)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {} MiB: not read", MAX_FILE_BYTES >> 20));
    }
    String::from_utf8(bytes).map_err(|e| format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_and_binary_files_are_refused_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok.yml");
        std::fs::write(&ok, "a: 1\n").unwrap();
        assert_eq!(read_capped(&ok).unwrap(), "a: 1\n");
        let big = dir.path().join("big.yml");
        std::fs::File::create(&big).unwrap().set_len(MAX_FILE_BYTES + 1).unwrap();
        assert!(read_capped(&big).unwrap_err().contains("MiB"));
        let bin = dir.path().join("bin.yml");
        std::fs::write(&bin, [b'a', 0xff, 0xfe]).unwrap();
        assert_eq!(read_capped(&bin).unwrap_err(), "not UTF-8 text (byte 1)");
        assert!(read_capped(&dir.path().join("missing")).is_err());
    }
}
