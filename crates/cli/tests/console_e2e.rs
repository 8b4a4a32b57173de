//! The console in a real browser (Debian's Chromium, driven over WebDriver
//! by chromedriver): `vigie demo` fills the store and serves the console;
//! the test logs in with the printed one-time password, triages an alert,
//! opens the incident and checks its impact and countdown. Screenshots are
//! kept in target/e2e-screenshots/ as artifacts.

use fantoccini::{ClientBuilder, Locator};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Start the demo; returns it, its URL, its password and its story.
fn demo(dir: &std::path::Path, require_mfa: bool) -> (Kill, String, String, serde_json::Value) {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["demo", "--accounts", "300", "--listen", &format!("127.0.0.1:{port}"), "--dir"])
        .arg(dir)
        .args(if require_mfa { &["--require-mfa"][..] } else { &[] })
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut password) = (String::new(), String::new());
    let mut text = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        text.push_str(&line);
        text.push('\n');
        if let Some(u) = line.strip_prefix("Console: ") {
            url = u.trim().to_string();
        }
        if let Some(p) = line.split("password: ").nth(1) {
            password = p.split_whitespace().next().unwrap().to_string();
            break;
        }
    }
    // Keep reading what the demo prints next: closing the pipe would make
    // its next line fail, and the demo stop, before the browser connects.
    std::thread::spawn(move || lines.for_each(drop));
    assert!(!url.is_empty() && !password.is_empty(), "the demo printed no login:\n{text}");
    assert!(text.contains("What happened") && text.contains("Art. 33"), "{text}");
    let story = serde_json::json!({ "text": text });
    (Kill(child), url, password, story)
}

fn chromedriver() -> (Kill, String) {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian's chromium-driver; .ci/run installs it)");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (Kill(child), url)
}

/// The text of an element, waiting for it; the page re-renders on its own
/// (live updates, after a triage), so a stale element is looked up again.
async fn text(c: &fantoccini::Client, css: &str) -> String {
    let mut last = String::new();
    for _ in 0..200 {
        match c.find(Locator::Css(css)).await {
            Ok(e) => match e.text().await {
                Ok(t) => return t,
                Err(err) => last = err.to_string(),
            },
            Err(err) => last = err.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css}: {last}");
}

async fn shot(c: &fantoccini::Client, name: &str) {
    std::fs::write(shots().join(name), c.screenshot().await.unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_logs_in_triages_and_opens_the_incident() {
    journey(false).await;
}

/// The same, with `[console] require_mfa`: the demo user (an admin) must
/// enrol a second factor at its first login, then sign in with a code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_second_factor_required_the_admin_enrols_then_signs_in_with_a_code() {
    journey(true).await;
}

async fn click(c: &fantoccini::Client, css: &str) {
    c.find(Locator::Css(css)).await.unwrap().click().await.unwrap();
}

async fn journey(mfa: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (_demo, url, password, _story) = demo(dir.path(), mfa);
    let (_driver, driver_url) = chromedriver();
    let tag = if mfa { "mfa-" } else { "" };
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({"binary": "/usr/bin/chromium", "args": ["--headless", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--no-first-run",
            "--window-size=1400,1000"]}),
    );
    let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver_url)
        .await
        .expect("a Chromium session");

    // Log in.
    c.goto(&url).await.unwrap();
    c.wait().for_element(Locator::Css("#user")).await.unwrap().send_keys("demo").await.unwrap();
    c.find(Locator::Css("#password")).await.unwrap().send_keys(&password).await.unwrap();
    shot(&c, &format!("{tag}01-login.png")).await;
    click(&c, "#login-btn").await;
    if mfa {
        // The admin has no second factor: the console shows only the enrolment.
        let key = text(&c, "#mfa-secret").await;
        assert!(c.find(Locator::Css("#nav")).await.unwrap().attr("hidden").await.unwrap().is_some());
        let secret = vigie_console::mfa::from_base32(&key).expect("a base32 key");
        let now = vigie_console::mfa::now_s();
        let code = vigie_console::mfa::code(&secret, now).unwrap();
        c.find(Locator::Css("#mfa-code")).await.unwrap().send_keys(&code).await.unwrap();
        shot(&c, "mfa-01b-enrol.png").await;
        click(&c, "#mfa-confirm").await;
        // Signed out; the password alone now asks for a code.
        c.wait().for_element(Locator::Css("#login-form")).await.unwrap();
        c.find(Locator::Css("#user")).await.unwrap().send_keys("demo").await.unwrap();
        c.find(Locator::Css("#password")).await.unwrap().send_keys(&password).await.unwrap();
        click(&c, "#login-btn").await;
        // The code field appears once the server has said a code is needed.
        for _ in 0..100 {
            let field = c.find(Locator::Css("#code")).await.unwrap();
            if field.attr("hidden").await.unwrap().is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(text(&c, "#login-error").await.contains("6-digit code"));
        // The confirming code is spent: the next one signs in.
        let next = vigie_console::mfa::code(&secret, now + 30).unwrap();
        c.find(Locator::Css("#code")).await.unwrap().send_keys(&next).await.unwrap();
        click(&c, "#login-btn").await;
    }
    let incidents = text(&c, "#open-incidents").await;
    assert!(incidents.parse::<u32>().unwrap() >= 1, "open incidents: {incidents}");
    assert!(text(&c, "#who").await.contains("demo"));
    shot(&c, &format!("{tag}02-overview.png")).await;

    // Triage the first open alert: acknowledge, then close as a true positive.
    c.goto(&format!("{url}#/alerts?status=open&min_level=high")).await.unwrap();
    let first = c.wait().for_element(Locator::Css("tr[data-id] td a[href^='#/alerts/']")).await.unwrap();
    first.click().await.unwrap();
    c.wait().for_element(Locator::Css("#ack")).await.unwrap().click().await.unwrap();
    for _ in 0..50 {
        if text(&c, "#status").await == "acknowledged" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(text(&c, "#status").await, "acknowledged");
    c.find(Locator::Css("#close-reason")).await.unwrap().send_keys("confirmed: not the adviser").await.unwrap();
    c.find(Locator::Css("#close")).await.unwrap().click().await.unwrap();
    for _ in 0..50 {
        if text(&c, "#status").await == "closed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(text(&c, "#status").await, "closed");
    shot(&c, &format!("{tag}03-alert-triaged.png")).await;

    // Open the incident: impact, countdown, drafts.
    c.goto(&format!("{url}#/incidents")).await.unwrap();
    c.wait().for_element(Locator::Css("tr[data-id] a[href^='#/incidents/']")).await.unwrap().click().await.unwrap();
    let people = text(&c, "#impact-subjects").await;
    assert!(people.replace(',', "").parse::<u64>().unwrap() > 0, "people exposed: {people}");
    let clock = text(&c, "#countdown").await;
    assert!(clock.contains("GDPR Art. 33") && (clock.contains("left") || clock.contains("overdue")), "{clock}");
    let draft = text(&c, "#draft").await;
    assert!(draft.contains("Art. 33") && draft.contains(&people.replace(',', "")), "{draft}");
    shot(&c, &format!("{tag}04-incident.png")).await;

    // The Rules page: the set in force and its reloads (none in the demo).
    c.goto(&format!("{url}#/rules")).await.unwrap();
    assert!(text(&c, "#reloads").await.contains("No reload"), "{}", text(&c, "#reloads").await);
    assert!(text(&c, "#rule-cards").await.contains("rules loaded"));
    shot(&c, &format!("{tag}04b-rules.png")).await;

    // The audit log recorded the triage.
    c.goto(&format!("{url}#/audit")).await.unwrap();
    assert!(text(&c, "#audit-status").await.starts_with("Chain intact"));
    shot(&c, &format!("{tag}05-audit.png")).await;
    c.close().await.unwrap();
}
