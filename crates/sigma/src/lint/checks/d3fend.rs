//! MITRE D3FEND's identifiers, for `invalid-d3fend-tag` (pySigma's
//! `d3fend_tag`): a `d3fend.` tag names a defensive tactic or technique.
//!
//! The facts come from D3FEND's ontology, `src/ontology/modules/defensive-techniques.ttl`
//! in the repository d3fend/d3fend-ontology (commit 690aa2d2781b8f6e8f6a8d839cb45e4f9502b6ae,
//! 271 techniques, each its `d3fend-id`; a superset of the D3FEND site's
//! `api/technique/all.json` at commit 99fd7718 of d3fend/website-next), written
//! here as vigie's own table. pySigma reads the same ontology when its
//! validator first runs (and caches it); vigie does not go to the network.

/// D3FEND's defensive tactics, lowercased (the ontology's `DefensiveTactic`s).
pub(super) const TACTICS: [&str; 7] = ["model", "harden", "detect", "isolate", "deceive", "evict", "restore"];

/// D3FEND's technique identifiers without their `D3-` (`D3-AA` is `aa`),
/// lowercased, sorted.
pub(super) const TECHNIQUES: [&str; 271] = [
    "aa", "abpi", "aca", "ach", "aem", "ah", "ai", "al", "allm", "am", "amed", "anaa", "anci", "anet", "apa", "apca",
    "aplm", "apm", "ave", "azet", "ba", "ban", "bdi", "bma", "bse", "ca", "caa", "cban", "ccsa", "cdp", "ce", "cero",
    "cf", "cfc", "cfi", "ch", "chn", "ci", "cia", "cm", "cne", "cnr", "cns", "cp", "cq", "cr", "cro", "cs", "cspp",
    "cts", "cv", "da", "dam", "dce", "de", "dem", "dencr", "df", "di", "dke", "dkf", "dkp", "dlic", "dlv", "dnl",
    "dnr", "dnra", "dnsal", "dnsce", "dnsdl", "dnsta", "do", "dp", "dplm", "dpr", "dqsa", "dra", "drt", "dst", "dtp",
    "duc", "eal", "ebwsam", "edl", "ef", "efa", "ehb", "ehpv", "ei", "elm", "emh", "epl", "er", "et", "fa", "fapa",
    "fba", "fc", "fca", "fcdc", "fcoa", "fcr", "fe", "femc", "fev", "ffv", "fh", "fhra", "fim", "fisv", "fmbv", "fmcv",
    "fmvv", "frddl", "fridl", "fv", "hbpi", "hbwp", "hci", "hd", "hddl", "hdl", "hr", "hs", "iaa", "ibca", "id", "ida",
    "ihn", "iopr", "ipcta", "ipra", "ira", "irv", "isva", "itf", "jfapa", "kbpi", "lam", "lamed", "lfam", "lfp", "llm",
    "ma", "man", "mbsv", "mbt", "mencr", "mfa", "mh", "msm", "nam", "ni", "nm", "nni", "npc", "nram", "nta", "ntcd",
    "ntf", "ntpm", "ntsa", "nva", "oam", "odm", "oe", "olv", "om", "omm", "opm", "opr", "ora", "osm", "otf", "otp",
    "ovar", "pa", "pam", "pan", "pbwsam", "pca", "pcsv", "pe", "peh", "pfv", "ph", "pham", "phdura", "pla", "pllm",
    "plm", "pm", "pmad", "pr", "ps", "psa", "psep", "psm", "psmd", "pt", "pum", "pv", "pwa", "ra", "ram", "rapa", "rc",
    "rd", "rdi", "re", "rf", "rfam", "rfs", "rfum", "rh", "ric", "rkd", "rn", "rna", "ro", "rpa", "rrid", "rs", "rta",
    "rtsd", "ruaa", "saor", "sbv", "sca", "scf", "sch", "scp", "sda", "sdm", "sea", "sfa", "sfcv", "sfv", "shn",
    "sica", "sja", "smra", "spp", "sra", "ssc", "st", "su", "svcdm", "swi", "sysdm", "sysm", "sysva", "taan", "tb",
    "tba", "tbi", "tl", "ua", "uap", "uba", "udta", "uglpa", "ugph", "ula", "ura", "usica", "vi", "vs", "vtv", "wsaa",
    "wsam",
];

/// Does `name` (the part of a `d3fend.` tag after the dot, lowercased) name
/// a D3FEND tactic or technique?
pub(super) fn known(name: &str) -> bool {
    TACTICS.contains(&name) || name.strip_prefix("d3-").is_some_and(|t| TECHNIQUES.binary_search(&t).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tactics_and_techniques() {
        assert!(TECHNIQUES.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
        assert_eq!(TECHNIQUES.len(), 271);
        for ok in ["detect", "restore", "d3-aa", "d3-psa", "d3-wsaa", "d3-mfa", "d3-scf", "d3-vs"] {
            assert!(known(ok), "{ok}");
        }
        for bad in ["d3-xyz", "d3-", "detection", "d3-mac", "networktraffic", "", "D3-AA", "aa", "d3-d3-aa"] {
            assert!(!known(bad), "{bad}");
        }
    }
}
