//! `vigie demo`, then the aftermath commands on the store it leaves:
//! impact, notification drafts, users, audit verification (and tampering).

use std::io::Write;
use std::process::{Command, Stdio};

fn vigie() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigie"))
}

#[test]
fn the_demo_tells_its_story_and_the_aftermath_commands_agree() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        vigie().args(["demo", "--no-serve", "--json", "--accounts", "300", "--dir"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let story: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Detected and contained within minutes, after a sliver of what the attack reads unchecked.
    assert!(story["minutes_to_detect"].as_f64().unwrap() < 15.0, "{story}");
    assert!(story["minutes_to_contain"].as_f64().unwrap() < 15.0, "{story}");
    let exposed = story["records_read_before_containment"].as_u64().unwrap();
    assert!(exposed > 0 && exposed * 10 < story["records_unchecked"].as_u64().unwrap(), "{story}");
    let containment: Vec<&str> = story["containment"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(containment.iter().any(|c| c.starts_with("suspend_user")), "{containment:?}");
    // Only the attacker is contained: every containment names the victim or
    // the attacker's address, and no innocent manager or adviser is touched.
    let victim = story["victim"].as_str().unwrap();
    assert!(containment.iter().all(|c| c.ends_with(victim) || c.starts_with("block_ip")), "{containment:?}");
    assert_eq!(story["innocent_contained"], serde_json::json!([]), "{story}");
    assert!(story["gdpr_remaining"].as_str().unwrap().ends_with("left"), "{story}");

    let store = dir.path().join("state/vigie.db");
    let incident = story["incident"].as_str().unwrap();
    let out = vigie().args(["impact", "--json", "--incident", incident, "--store"]).arg(&store).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let imp: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(imp["subjects"], story["people_exposed"]);
    assert_eq!(imp["records"].as_u64().unwrap(), exposed);

    let csv = dir.path().join("exposed.csv");
    let out = vigie()
        .args(["impact", "--incident", incident, "--subjects-csv"])
        .arg(&csv)
        .arg("--store")
        .arg(&store)
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines = std::fs::read_to_string(&csv).unwrap().lines().count() as u64;
    assert_eq!(lines, imp["subjects"].as_u64().unwrap() + 1);

    let drafts = dir.path().join("drafts");
    let out = vigie()
        .args(["notify", "--incident", incident, "--out"])
        .arg(&drafts)
        .arg("--store")
        .arg(&store)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let art33 = std::fs::read_to_string(drafts.join("gdpr-art33.md")).unwrap();
    assert!(art33.contains(&format!("**{}**", imp["subjects"])), "{art33}");
    assert!(std::fs::read_to_string(drafts.join("nis2.md")).unwrap().contains("NIS2 early warning (24 h)"));
    assert!(std::fs::read_to_string(drafts.join("gdpr-art34.md")).unwrap().contains("social security number"));

    let mut child = vigie()
        .args(["users", "add", "alice", "--role", "analyst", "--store"])
        .arg(&store)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"correct horse battery\n").unwrap();
    assert!(child.wait().unwrap().success());

    let verify = || vigie().args(["audit", "verify", "--json", "--store"]).arg(&store).output().unwrap();
    let out = verify();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["entries"].as_u64().unwrap() >= 4, "{r}");

    let s = vigie_store::Store::open(store.to_str().unwrap()).unwrap();
    s.db.execute("UPDATE audit SET target = 'someone-else' WHERE seq = 2", &[]).unwrap();
    let out = verify();
    assert_eq!(out.status.code(), Some(1));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["broken_at"], 2);
}
