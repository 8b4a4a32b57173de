//! Shared helpers: a running engine on free loopback ports, and a small
//! blocking HTTP client over a raw socket (so tests can also misbehave).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use vigie_runtime::config::Config;
use vigie_runtime::engine::Summary;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An engine running on its own thread until `stop`.
pub struct Running {
    pub stop: Arc<AtomicBool>,
    pub handle: Option<std::thread::JoinHandle<anyhow::Result<Summary>>>,
    pub addr: String,
}

impl Running {
    pub fn start(cfg_text: &str) -> Running {
        Running::with(Config::parse(cfg_text).unwrap())
    }

    /// Start from a configuration file, as `vigie run --config` does (a
    /// live reload reads it again).
    pub fn start_file(path: &std::path::Path) -> Running {
        Running::with(Config::from_file(path).unwrap())
    }

    fn with(cfg: Config) -> Running {
        let addr = cfg.server.listen.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::spawn(move || vigie_runtime::run(&cfg, s));
        wait_for(Duration::from_secs(30), || http(&addr, "GET", "/healthz", &[], b"").0 == 200);
        Running { stop, handle: Some(handle), addr }
    }

    pub fn finish(mut self) -> Summary {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().unwrap().join().unwrap().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

pub fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "condition not met within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One HTTP/1.1 request; returns (status, body). Status 0: no connection.
pub fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let (status, _, body) = http_full(addr, method, path, headers, body);
    (status, body)
}

/// Log in to the console; returns the session cookie (`name=value`).
#[allow(dead_code)]
pub fn console_login(addr: &str, user: &str, password: &str) -> String {
    let body = serde_json::json!({"user": user, "password": password}).to_string();
    let (s, head, answer) =
        http_full(addr, "POST", "/api/login", &[("Content-Type", "application/json")], body.as_bytes());
    assert_eq!(s, 200, "{answer}");
    let line = head.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie:")).expect("a session cookie");
    line.split_once(':').unwrap().1.trim().split(';').next().unwrap().to_string()
}

/// One HTTP/1.1 request; returns (status, head, body).
pub fn http_full(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String, String) {
    let Ok(mut s) = TcpStream::connect(addr) else { return (0, String::new(), String::new()) };
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    if s.write_all(req.as_bytes()).and_then(|_| s.write_all(body)).is_err() {
        return (0, String::new(), String::new());
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").map(|(h, b)| (h.to_string(), b.to_string())).unwrap_or_default();
    (status, head, dechunk(&body))
}

/// Undo chunked transfer encoding, if the body looks chunked.
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    loop {
        let Some((size, after)) = rest.split_once("\r\n") else { return body.to_string() };
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { return body.to_string() };
        if n == 0 {
            return out;
        }
        if after.len() < n {
            return body.to_string();
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
}

/// The value of one metric line from /metrics, e.g. `vigie_events_in_total{input="http#0"}`.
pub fn metric(addr: &str, token: &str, name: &str) -> f64 {
    let (_, text) = http(addr, "GET", "/metrics", &[("Authorization", &format!("Bearer {token}"))], b"");
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Alerts in a JSONL file.
pub fn alerts(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The attack sample: spraying, a brute force that succeeds, slow guessing.
pub fn auth_sample() -> String {
    std::fs::read_to_string(repo().join("samples/app/auth-attacks.jsonl")).unwrap()
}

pub fn rules_dir() -> String {
    repo().join("rules/vigie").display().to_string()
}

/// A simulated France Travail takeover (300 accounts, 21 days, seed 21)
/// written to `dir/sim.jsonl`; returns the file and the ground truth.
pub fn simulated_takeover(dir: &Path) -> (PathBuf, vigie_simulate::Truth) {
    let events = dir.join("sim.jsonl");
    let cfg = vigie_simulate::SimConfig {
        seed: 21,
        accounts: 300,
        subjects: 200_000,
        days: 21,
        scenarios: vec!["france_travail".into()],
        ..vigie_simulate::SimConfig::default()
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(&events).unwrap());
    let (truth, _) = vigie_simulate::simulate(&cfg, &mut out, &|_| {}).unwrap();
    out.flush().unwrap();
    (events, truth)
}
