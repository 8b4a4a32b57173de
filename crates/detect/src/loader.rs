//! Reading rule files from disk for the pure rule compiler.

use std::path::{Path, PathBuf};
use vigie_sigma::{Placeholders, RuleSet, Source};

/// A rule path that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct LoadError {
    pub path: String,
    pub message: String,
}

/// Collect rule files under the given paths: `.yml` and `.yaml` files
/// (including `.yml.yml`), recursively, sorted for reproducible order.
pub fn rule_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    vigie_decode::discover_with(paths, &|name| name.ends_with(".yml") || name.ends_with(".yaml")).map_err(|e| {
        let (path, message) = match &e {
            vigie_decode::InputError::Missing { path } => (path.clone(), "no such file or directory".to_string()),
            vigie_decode::InputError::Io { path, source } => (path.clone(), source.to_string()),
            other => (String::new(), other.to_string()),
        };
        LoadError { path, message }
    })
}

/// Read and compile every rule under `paths`. A file that cannot be read is
/// an error (the user named it); a file that cannot be parsed is a rejection.
pub fn load_rules(paths: &[PathBuf], placeholders: &Placeholders) -> Result<RuleSet, LoadError> {
    let files = rule_files(paths)?;
    let mut sources = Vec::with_capacity(files.len());
    for f in files {
        let text = read(&f)?;
        sources.push(Source { path: f.display().to_string(), text });
    }
    Ok(RuleSet::load(&sources, placeholders))
}

pub use vigie_events::text::MAX_FILE_BYTES;

fn read(p: &Path) -> Result<String, LoadError> {
    vigie_events::text::read_capped(p).map_err(|message| LoadError { path: p.display().to_string(), message })
}

/// Load a placeholder file, or none.
pub fn load_placeholders(path: Option<&Path>) -> Result<Placeholders, LoadError> {
    match path {
        None => Ok(Placeholders::default()),
        Some(p) => {
            Placeholders::from_yaml(&read(p)?).map_err(|message| LoadError { path: p.display().to_string(), message })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_cap_is_an_error_not_an_allocation() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.yml");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_FILE_BYTES + 1).unwrap();
        let e = load_rules(&[dir.path().to_path_buf()], &Placeholders::default()).unwrap_err();
        assert!(e.message.contains("larger than 8 MiB") && e.path.ends_with("big.yml"), "{e:?}");
        std::fs::write(&big, "title: t\n").unwrap();
        assert!(load_rules(&[dir.path().to_path_buf()], &Placeholders::default()).is_ok());
    }
}
