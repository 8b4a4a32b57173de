//! `vigie run` end to end as a user starts it: standard input to standard
//! output, and a web server's access log followed as it is written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn vigie() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigie"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn stdin_to_stdout_ends_at_end_of_input() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vigie.toml");
    std::fs::write(
        &config,
        format!(
            "[rules]\npaths = [{:?}]\n[engine]\nstate_dir = {:?}\n[server]\nlisten = \"127.0.0.1:{}\"\n[[inputs]]\ntype = \"stdin\"\n[[sinks]]\ntype = \"stdout\"\n",
            repo().join("rules/vigie").display().to_string(),
            dir.path().join("state").display().to_string(),
            port()
        ),
    )
    .unwrap();
    let summary = dir.path().join("summary.json");
    let mut child = vigie()
        .args(["run", "--config"])
        .arg(&config)
        .arg("--summary-json")
        .arg(&summary)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sample = std::fs::read(repo().join("samples/app/auth-attacks.jsonl")).unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&sample).unwrap();
        stdin.write_all(b"not json at all\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let alerts: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(alerts.len(), 3);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("25 events"), "{stderr}");
    assert!(stderr.contains("1 decode errors"), "{stderr}");
    // The API token was created for the user, readable by its owner only.
    let token = dir.path().join("state/token");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&token).unwrap().permissions().mode() & 0o777, 0o600);
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert_eq!(s["alerts_by_kind"]["correlation"], 3);
}

#[test]
fn a_followed_access_log_meets_sigmahq_webserver_rules() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::write(&log, "").unwrap();
    let alerts = dir.path().join("alerts.jsonl");
    let config = dir.path().join("vigie.toml");
    // No [rules]: the pack built into the binary.
    std::fs::write(
        &config,
        format!(
            "[engine]\nstate_dir = {:?}\ncheckpoint_interval = \"100ms\"\n[server]\nlisten = \"127.0.0.1:{}\"\n[[inputs]]\ntype = \"file\"\npath = {:?}\nformat = \"access\"\n[[sinks]]\ntype = \"jsonl\"\npath = {:?}\n",
            dir.path().join("state").display().to_string(),
            port(),
            log.display().to_string(),
            alerts.display().to_string()
        ),
    )
    .unwrap();
    let mut child = vigie().args(["run", "--config"]).arg(&config).stderr(Stdio::null()).spawn().unwrap();
    // The file is written after the engine started: it is followed.
    std::thread::sleep(Duration::from_millis(500));
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    writeln!(
        f,
        r#"198.51.100.23 - - [02/Mar/2026:10:00:00 +0000] "GET /index.html HTTP/1.1" 200 512 "-" "Mozilla/5.0""#
    )
    .unwrap();
    writeln!(f, r#"198.51.100.23 - - [02/Mar/2026:10:00:01 +0000] "GET /products.php?id=1%20UNION%20SELECT%20password%20FROM%20users HTTP/1.1" 200 512 "-" "Mozilla/5.0""#).unwrap();
    f.flush().unwrap();
    let t = Instant::now();
    let found = loop {
        let text = std::fs::read_to_string(&alerts).unwrap_or_default();
        if text.contains("5513deaf-f49a-46c2-a6c8-3f111b5cb453") {
            break Some(text);
        }
        if t.elapsed() > Duration::from_secs(60) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    assert!(child.wait().unwrap().success());
    let text = found.expect("SQL Injection Strings In URI fired");
    let a: serde_json::Value = serde_json::from_str(text.lines().find(|l| l.contains("5513deaf")).unwrap()).unwrap();
    assert_eq!(a["source"]["ip"], "198.51.100.23");
    assert!(a["rule"]["author"].as_str().unwrap().contains("Nasreddine Bencherchali"));
    assert_eq!(a["event"]["url"]["path"], "/products.php");
}
