//! Packs the repository's `rules/` folder into one compressed blob that the
//! binary carries, so that `vigie replay` and `vigie run` work with no rule
//! files on disk. Format: for each file, its path, a NUL, its length in
//! decimal, a NUL, then its bytes.

use std::io::Write;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files: Vec<_> = walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("content.bin.gz");
    let file = std::fs::File::create(&out).expect("create content blob");
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    for p in files {
        let rel = p.strip_prefix(&root).expect("under rules/").to_string_lossy().replace('\\', "/");
        let bytes = std::fs::read(&p).expect("read rule file");
        gz.write_all(rel.as_bytes()).expect("write");
        gz.write_all(&[0]).expect("write");
        gz.write_all(bytes.len().to_string().as_bytes()).expect("write");
        gz.write_all(&[0]).expect("write");
        gz.write_all(&bytes).expect("write");
    }
    gz.finish().expect("finish content blob");
}
