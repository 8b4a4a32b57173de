//! vigie-content: the detection content built into the binary.
//!
//! The repository's `rules/` folder (SigmaHQ's rule pack with its README and
//! DRL 1.1 licence, vigie's own rules for the application schema, and the
//! placeholder values) is compressed into the binary at build time, so a
//! fresh install detects out of the box. Users point `--rules` at their own
//! folders to replace it.

use std::io::Read;
use vigie_sigma::{Placeholders, Source};

static BLOB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/content.bin.gz"));

/// Every built-in rule file, with paths shown as `builtin:rules/...`.
pub fn rule_sources() -> Vec<Source> {
    files().into_iter().filter(|(p, _)| p.starts_with("sigma/") || p.starts_with("vigie/")).map(to_source).collect()
}

/// The bundled behaviour-analytics configuration (analytics/default.yml),
/// as YAML text.
pub fn analytics_yaml() -> &'static str {
    include_str!("../../../analytics/default.yml")
}

/// The built-in placeholder values for the `expand` modifier.
pub fn placeholders() -> Placeholders {
    files()
        .into_iter()
        .find(|(p, _)| p == "placeholders.yml")
        .and_then(|(_, text)| Placeholders::from_yaml(&text).ok())
        .unwrap_or_default()
}

fn to_source((path, text): (String, String)) -> Source {
    Source { path: format!("builtin:rules/{path}"), text }
}

/// Unpack the blob (see build.rs for its format).
fn files() -> Vec<(String, String)> {
    let mut data = Vec::new();
    if flate2::read::GzDecoder::new(BLOB).read_to_end(&mut data).is_err() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut rest = &data[..];
    while let Some(nul) = rest.iter().position(|&b| b == 0) {
        let path = String::from_utf8_lossy(&rest[..nul]).into_owned();
        rest = &rest[nul + 1..];
        let Some(nul) = rest.iter().position(|&b| b == 0) else { break };
        let Ok(len) = std::str::from_utf8(&rest[..nul]).unwrap_or("").parse::<usize>() else { break };
        rest = &rest[nul + 1..];
        if rest.len() < len {
            break;
        }
        out.push((path, String::from_utf8_lossy(&rest[..len]).into_owned()));
        rest = &rest[len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_pack_is_built_in() {
        let sources = rule_sources();
        assert!(sources.len() > 3_000, "{}", sources.len());
        assert!(sources.iter().any(|s| s.path == "builtin:rules/vigie/app_helpdesk_password_reset.yml"));
        let set = vigie_sigma::RuleSet::load(&sources, &placeholders());
        assert!(set.rejected.is_empty(), "{:?}", set.rejected.first());
    }
}
