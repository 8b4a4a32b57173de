//! Replays the fuzz corpora (fuzz/corpus/<target>/) through the same entry
//! points as the cargo-fuzz targets, plus a deterministic mutation pass over
//! every seed, so that CI (stable Rust, no libFuzzer) still checks that no
//! parser panics on damaged input.

use std::path::Path;
use vigie_detect::harness;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {}", dir.display());
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// splitmix64, for reproducible mutations.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut d = seed.to_vec();
    if d.is_empty() {
        return vec![rng.next() as u8];
    }
    for _ in 0..1 + rng.next() % 8 {
        let i = (rng.next() % d.len() as u64) as usize;
        match rng.next() % 4 {
            0 => d[i] ^= 1 << (rng.next() % 8),
            1 => d[i] = b"{}[]\"\\:,|*?-\n\0\xff"[(rng.next() % 15) as usize],
            2 => d.truncate(i.max(1)),
            _ => d.insert(i, rng.next() as u8),
        }
        if d.is_empty() {
            break;
        }
    }
    d
}

fn run(target: &str, f: fn(&[u8]), mutations: usize) {
    let mut rng = Rng(0x5eed);
    for seed in corpus(target) {
        f(&seed);
        for _ in 0..mutations {
            f(&mutate(&seed, &mut rng));
        }
    }
}

#[test]
fn rule_parser_corpus() {
    run("rule_parser", harness::rule_text, 300);
}

#[test]
fn condition_parser_corpus() {
    run("condition_parser", harness::condition, 2000);
}

#[test]
fn json_decoder_corpus() {
    run("json_decoder", harness::json, 1000);
}

#[test]
fn flat_json_corpus() {
    run("flat_json", harness::flat_json, 3000);
}

#[test]
fn evtx_corpus() {
    run("evtx", harness::evtx, 60);
}

#[test]
fn line_decoder_corpus() {
    run("line_decoder", harness::line, 3000);
}
