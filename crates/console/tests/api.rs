//! The API's guards, over HTTP against a real server and a real store
//! (SQLite and PostgreSQL): unauthenticated access, wrong roles, CSRF,
//! login rate limiting, security headers, audit, and the OpenAPI document
//! covering every route.

use serde_json::{Value, json};
use std::sync::Arc;
use vigie_console::{Console, RulesInfo, Settings};
use vigie_store::Store;
use vigie_store::testing::TestDb;

struct Server {
    base: String,
    store: Arc<Store>,
    _db: TestDb,
}

/// The store's synchronous set-up, off the async threads (the PostgreSQL
/// client blocks on its own runtime).
fn seed(db: &TestDb) -> Arc<Store> {
    let store = Arc::new(Store::open(&db.url).unwrap());
    for (name, role) in [("ana", "analyst"), ("dora", "dpo"), ("root", "admin")] {
        let hash = vigie_console::auth::hash_password(&format!("{name}-password-123")).unwrap();
        store.put_user(name, role, &hash).unwrap();
    }
    let alert: vigie_alert::Alert = serde_json::from_value(json!({
        "@timestamp": "2026-03-02T20:00:00.000Z",
        "alert": {"id": "a1", "kind": "analytic", "status": "new", "count": 1,
                  "first_seen": "2026-03-02T20:00:00.000Z", "last_seen": "2026-03-02T20:00:00.000Z"},
        "rule": {"id": "vigie-analytics-distinct-hour", "name": "Distinct people", "level": "high", "author": "vigie"},
        "user": {"name": "adv1"}, "reason": "read 400 people", "evidence": {"observed": 400, "bound": 40, "baseline": {"mean": 12.0}},
        "events": []
    }))
    .unwrap();
    store.write_alert(&alert, None).unwrap();
    store
}

async fn start(db: TestDb) -> Server {
    let store = tokio::task::block_in_place(|| seed(&db));
    let (live, _) = tokio::sync::broadcast::channel(16);
    let c = Console::new(
        store.clone(),
        vigie_analytics::Pseudonymiser::new(b"k"),
        live,
        RulesInfo::default(),
        Default::default(),
        Default::default(),
        Settings { max_failed_logins: 3, ..Settings::default() },
    );
    let app = vigie_console::router(c);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await.unwrap();
    });
    Server { base, store, _db: db }
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn call(s: &Server, method: &str, path: &str, headers: &[(&str, &str)], body: Option<Value>) -> Answer {
    // In the workspace build reqwest has rustls without a provider (the
    // engine picks ring); plain HTTP still needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let mut req = client.request(method.parse().unwrap(), format!("{}{path}", s.base));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    Answer { status, headers, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) }
}

/// Log in: (cookie header, csrf).
async fn login(s: &Server, user: &str) -> (String, String) {
    let a = call(s, "POST", "/api/login", &[], Some(json!({"user": user, "password": format!("{user}-password-123")})))
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let set = a.headers.get("set-cookie").unwrap().to_str().unwrap().to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(set.contains(flag), "{set}");
    }
    let cookie = set.split(';').next().unwrap().to_string();
    (cookie, a.body["csrf"].as_str().unwrap().to_string())
}

fn documented() -> Vec<(String, String)> {
    let doc: Value = serde_json::from_str(vigie_console::assets::OPENAPI).unwrap();
    let mut out = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            out.push((method.to_uppercase(), path.replace("{id}", "a1").replace("{name}", "adv1")));
        }
    }
    out
}

async fn guards(db: TestDb) {
    let s = start(db).await;
    // Without credentials, everything but the login is refused.
    for (method, path) in documented() {
        if path == "/api/login" {
            continue;
        }
        let a = call(&s, &method, &path, &[], Some(json!({}))).await;
        assert_eq!(a.status, 401, "{method} {path}: {:?}", a.body);
        assert_eq!(a.headers.get("x-frame-options").unwrap(), "DENY");
        assert!(a.headers.get("content-security-policy").unwrap().to_str().unwrap().contains("default-src 'self'"));
    }
    let a = call(&s, "GET", "/api/alerts", &[("authorization", "Bearer not-a-token")], None).await;
    assert_eq!(a.status, 401);

    // Every documented route exists (an unknown route is a bare 404).
    let (root, root_csrf) = login(&s, "root").await;
    for (method, path) in documented() {
        if path == "/api/stream" || path == "/api/logout" {
            continue;
        }
        let a = call(&s, &method, &path, &[("cookie", &root), ("x-csrf-token", &root_csrf)], Some(json!({}))).await;
        assert!(a.status != 404 || a.body.get("error").is_some(), "{method} {path} is documented but not routed");
        assert_ne!(a.status, 405, "{method} {path}");
    }

    // CSRF: a cookie alone cannot change anything.
    let (ana, csrf) = login(&s, "ana").await;
    let ack = json!({"op": "acknowledge"});
    let a = call(&s, "POST", "/api/alerts/a1/triage", &[("cookie", &ana)], Some(ack.clone())).await;
    assert_eq!(a.status, 403, "{:?}", a.body);
    let a =
        call(&s, "POST", "/api/alerts/a1/triage", &[("cookie", &ana), ("x-csrf-token", "guess")], Some(ack.clone()))
            .await;
    assert_eq!(a.status, 403);
    let a = call(&s, "POST", "/api/alerts/a1/triage", &[("cookie", &ana), ("x-csrf-token", &csrf)], Some(ack)).await;
    assert_eq!((a.status, a.body["alert"]["status"].as_str()), (200, Some("acknowledged")), "{:?}", a.body);
    let close = json!({"op": "close", "resolution": "true_positive", "reason": "confirmed with the adviser"});
    let a = call(&s, "POST", "/api/alerts/a1/triage", &[("cookie", &ana), ("x-csrf-token", &csrf)], Some(close)).await;
    assert_eq!(a.body["alert"]["resolution"], "true_positive");
    let sup = json!({"rule_id": "vigie-analytics-distinct-hour", "account": "adv1", "reason": "annual campaign", "expires": "7d"});
    let a = call(&s, "POST", "/api/suppressions", &[("cookie", &ana), ("x-csrf-token", &csrf)], Some(sup)).await;
    assert_eq!(a.status, 200, "{:?}", a.body);

    // Roles: an analyst cannot draft notifications, export people or manage users.
    for (method, path) in [
        ("GET", "/api/incidents/a1/notifications"),
        ("GET", "/api/incidents/a1/subjects.csv"),
        ("GET", "/api/audit"),
        ("POST", "/api/users"),
        ("POST", "/api/tokens"),
    ] {
        let body = json!({"name": "x", "role": "admin", "password": "long enough password"});
        let a = call(&s, method, path, &[("cookie", &ana), ("x-csrf-token", &csrf)], Some(body)).await;
        assert_eq!(a.status, 403, "analyst {method} {path}: {:?}", a.body);
    }
    // ... and a DPO cannot triage.
    let (dora, dcsrf) = login(&s, "dora").await;
    let a = call(
        &s,
        "POST",
        "/api/alerts/a1/triage",
        &[("cookie", &dora), ("x-csrf-token", &dcsrf)],
        Some(json!({"op": "reopen"})),
    )
    .await;
    assert_eq!(a.status, 403);
    // The alert chart has the evidence's baseline and bound.
    let a = call(&s, "GET", "/api/alerts/a1", &[("cookie", &dora)], None).await;
    assert_eq!((a.body["chart"]["bound"].as_i64(), a.body["chart"]["baseline_mean"].as_f64()), (Some(40), Some(12.0)));

    // API tokens: no cookie, no CSRF needed, role enforced.
    let a = call(
        &s,
        "POST",
        "/api/tokens",
        &[("cookie", &root), ("x-csrf-token", &root_csrf)],
        Some(json!({"name": "soar", "role": "analyst"})),
    )
    .await;
    let token = format!("Bearer {}", a.body["token"].as_str().unwrap());
    let a =
        call(&s, "POST", "/api/alerts/a1/triage", &[("authorization", &token)], Some(json!({"op": "reopen"}))).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let a = call(&s, "GET", "/api/audit", &[("authorization", &token)], None).await;
    assert_eq!(a.status, 403);

    // Logging out ends the session.
    let a = call(&s, "POST", "/api/logout", &[("cookie", &ana), ("x-csrf-token", &csrf)], None).await;
    assert_eq!(a.status, 200);
    assert_eq!(call(&s, "GET", "/api/alerts", &[("cookie", &ana)], None).await.status, 401);

    // Login rate limiting: after 3 failures even the right password waits.
    for _ in 0..3 {
        let a = call(&s, "POST", "/api/login", &[], Some(json!({"user": "ana", "password": "wrong"}))).await;
        assert_eq!(a.status, 401);
    }
    let a = call(&s, "POST", "/api/login", &[], Some(json!({"user": "ana", "password": "ana-password-123"}))).await;
    assert_eq!(a.status, 429, "{:?}", a.body);

    // Everything above is in the audit log, chained.
    let a = call(&s, "GET", "/api/audit", &[("cookie", &root)], None).await;
    assert_eq!(a.body["verify"]["ok"], true, "{:?}", a.body["verify"]);
    let actions: Vec<&str> =
        a.body["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for expected in ["login", "login.failed", "alert.triage", "suppression.create", "token.create", "logout"] {
        assert!(actions.contains(&expected), "{expected} not audited: {actions:?}");
    }
    tokio::task::block_in_place(|| {
        s.store.db.execute("UPDATE audit SET detail = '{}' WHERE action = 'alert.triage'", &[]).unwrap();
    });
    let a = call(&s, "GET", "/api/audit", &[("cookie", &root)], None).await;
    assert_eq!(a.body["verify"]["ok"], false, "a tampered log must not verify");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guards_hold_on_sqlite() {
    guards(tokio::task::block_in_place(TestDb::sqlite)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guards_hold_on_postgresql() {
    let db = tokio::task::block_in_place(TestDb::postgres);
    guards(db).await;
}
