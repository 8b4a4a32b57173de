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
    /// The audit head (the store is keyed, as `vigie run` keys it).
    _state: tempfile::TempDir,
}

/// The store's synchronous set-up, off the async threads (the PostgreSQL
/// client blocks on its own runtime).
fn seed(db: &TestDb, state: &std::path::Path) -> Arc<Store> {
    let seal = vigie_store::AuditSeal::new(&[7u8; 32], state.join("audit.head"));
    let store = Arc::new(Store::open(&db.url).unwrap().with_audit_seal(seal));
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
    start_with(db, Settings { max_failed_logins: 3, ..Settings::default() }).await
}

async fn start_with(db: TestDb, settings: Settings) -> Server {
    let state = tempfile::tempdir().unwrap();
    let store = tokio::task::block_in_place(|| seed(&db, state.path()));
    let (live, _) = tokio::sync::broadcast::channel(16);
    let c = Console::new(
        store.clone(),
        vigie_analytics::Pseudonymiser::new(b"k"),
        live,
        RulesInfo::default(),
        Default::default(),
        Default::default(),
        settings,
    );
    let app = vigie_console::router(c);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await.unwrap();
    });
    Server { base, store, _db: db, _state: state }
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn call(s: &Server, method: &str, path: &str, headers: &[(&str, &str)], body: Option<Value>) -> Answer {
    call_from(s, [127, 0, 0, 1], method, path, headers, body).await
}

/// A call from another loopback address (127.0.0.0/8 is all local).
async fn call_from(
    s: &Server,
    from: [u8; 4],
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Answer {
    // In the workspace build reqwest has rustls without a provider (the
    // engine picks ring); plain HTTP still needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().local_address(std::net::IpAddr::from(from)).build().unwrap();
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
        ("GET", "/api/users"),
        ("GET", "/api/tokens"),
        ("DELETE", "/api/users/dora"),
        ("DELETE", "/api/tokens/a1"),
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

    // Login rate limiting: after failures (backoff, then a lock at 3) even
    // the right password waits.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let a = call(&s, "POST", "/api/login", &[], Some(json!({"user": "ana", "password": "wrong"}))).await;
        statuses.push(a.status);
    }
    assert_eq!(statuses[..2], [401, 401]);
    assert!(matches!(statuses[2], 401 | 429), "{statuses:?}");
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

async fn wrong(s: &Server, from: [u8; 4], user: &str) -> u16 {
    call_from(s, from, "POST", "/api/login", &[], Some(json!({"user": user, "password": "not the password"})))
        .await
        .status
}

/// The limiter's rows of the issue: a valid login no longer resets another
/// account's failures; parallel attempts cannot pass one check together;
/// guesses spread over many addresses still lock the account.
async fn login_limits(db: TestDb) {
    let s = start(db).await;
    // 6 rounds from one address: 4 wrong passwords for root, then a right
    // one for ana. At most 3 (the limit) of root's guesses are checked.
    let mut checked = 0;
    for _ in 0..6 {
        for _ in 0..4 {
            match wrong(&s, [127, 0, 0, 1], "root").await {
                401 => checked += 1,
                429 => {}
                other => panic!("{other}"),
            }
        }
        login(&s, "ana").await;
    }
    assert!((1..=3).contains(&checked), "{checked} of root's guesses were checked");

    // 40 parallel wrong logins for one account: at most the limit checked.
    let s = std::sync::Arc::new(s);
    let all: Vec<u16> = futures_util::future::join_all((0..40).map(|_| {
        let s = s.clone();
        async move { wrong(&s, [127, 0, 0, 2], "dora").await }
    }))
    .await;
    let checked = all.iter().filter(|c| **c == 401).count();
    assert!(checked <= 3 && all.iter().all(|c| *c == 401 || *c == 429), "{checked} checked: {all:?}");
    // ... and the right password is refused while the account waits.
    let a = call_from(
        &s,
        [127, 0, 0, 2],
        "POST",
        "/api/login",
        &[],
        Some(json!({"user": "dora", "password": "dora-password-123"})),
    )
    .await;
    assert_eq!(a.status, 429, "{:?}", a.body);

    // 100 guesses from 20 addresses against one account: at most the limit.
    let mut checked = 0;
    for n in 0..100u8 {
        if wrong(&s, [127, 0, 1, n % 20 + 1], "ana").await == 401 {
            checked += 1;
        }
    }
    assert!(checked <= 3, "{checked} guesses from 20 addresses were checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_limits_hold_on_sqlite() {
    login_limits(tokio::task::block_in_place(TestDb::sqlite)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_limits_hold_on_postgresql() {
    login_limits(tokio::task::block_in_place(TestDb::postgres)).await;
}

/// Role and password changes and removals end sessions at once; users and
/// tokens can be removed and revoked; names are checked; an admin remains.
async fn credentials(db: TestDb) {
    let s = start(db).await;
    let (root, rc) = login(&s, "root").await;
    let admin = [("cookie", root.as_str()), ("x-csrf-token", rc.as_str())];
    let (dora, _) = login(&s, "dora").await;
    assert_eq!(call(&s, "GET", "/api/audit", &[("cookie", &dora)], None).await.status, 200);
    // dora becomes an analyst: her cookie no longer opens anything.
    let a = call(
        &s,
        "POST",
        "/api/users",
        &admin,
        Some(json!({"name": "dora", "role": "analyst", "password": "dora-password-123"})),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(call(&s, "GET", "/api/audit", &[("cookie", &dora)], None).await.status, 401);
    assert_eq!(call(&s, "GET", "/api/session", &[("cookie", &dora)], None).await.status, 401);
    // A new password ends sessions too.
    let (dora, _) = login(&s, "dora").await;
    let a = call(
        &s,
        "POST",
        "/api/users",
        &admin,
        Some(json!({"name": "dora", "role": "analyst", "password": "another-password-456"})),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(call(&s, "GET", "/api/session", &[("cookie", &dora)], None).await.status, 401);
    // Removal.
    let (ana, _) = login(&s, "ana").await;
    let a = call(&s, "DELETE", "/api/users/ana", &admin, None).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(call(&s, "GET", "/api/alerts", &[("cookie", &ana)], None).await.status, 401);
    assert_eq!(call(&s, "DELETE", "/api/users/ana", &admin, None).await.status, 404);
    let a = call(&s, "GET", "/api/users", &admin, None).await;
    let names: Vec<&str> = a.body["users"].as_array().unwrap().iter().filter_map(|u| u["name"].as_str()).collect();
    assert_eq!(names, ["dora", "root"]);
    assert!(!a.body.to_string().contains("argon2"), "no hash in the list");
    // Names are checked.
    for bad in ["", " ", "a b", "root\n", "<script>"] {
        let a = call(
            &s,
            "POST",
            "/api/users",
            &admin,
            Some(json!({"name": bad, "role": "analyst", "password": "long enough password"})),
        )
        .await;
        assert_eq!(a.status, 400, "{bad:?}: {:?}", a.body);
        let a = call(&s, "POST", "/api/tokens", &admin, Some(json!({"name": bad, "role": "analyst"}))).await;
        assert_eq!(a.status, 400, "{bad:?}: {:?}", a.body);
    }
    // The last admin can be neither demoted nor removed.
    let a = call(
        &s,
        "POST",
        "/api/users",
        &admin,
        Some(json!({"name": "root", "role": "analyst", "password": "root-password-123"})),
    )
    .await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    assert_eq!(call(&s, "DELETE", "/api/users/root", &admin, None).await.status, 400);
    assert_eq!(call(&s, "GET", "/api/session", &[("cookie", &root)], None).await.status, 200);
    // Tokens: listed without their secret, revoked by id.
    let a = call(&s, "POST", "/api/tokens", &admin, Some(json!({"name": "soar", "role": "analyst"}))).await;
    let (id, token) = (a.body["id"].as_str().unwrap().to_string(), a.body["token"].as_str().unwrap().to_string());
    let bearer = format!("Bearer {token}");
    assert_eq!(call(&s, "GET", "/api/alerts", &[("authorization", &bearer)], None).await.status, 200);
    let a = call(&s, "GET", "/api/tokens", &admin, None).await;
    assert_eq!(a.body["tokens"][0]["id"], id.as_str());
    assert!(!a.body.to_string().contains(&token));
    let a = call(&s, "DELETE", &format!("/api/tokens/{id}"), &admin, None).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(call(&s, "GET", "/api/alerts", &[("authorization", &bearer)], None).await.status, 401);
    // All of it audited.
    let a = call(&s, "GET", "/api/audit", &[("cookie", &root)], None).await;
    let actions: Vec<&str> =
        a.body["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for expected in ["user.put", "user.remove", "token.create", "token.revoke"] {
        assert!(actions.contains(&expected), "{expected} not audited: {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_on_sqlite() {
    credentials(tokio::task::block_in_place(TestDb::sqlite)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_on_postgresql() {
    credentials(tokio::task::block_in_place(TestDb::postgres)).await;
}

/// With `approve_suppressions`, a suppression covering an account waits
/// for a second person, who may not be its author or the account itself.
async fn four_eyes(db: TestDb) {
    let s = start_with(db, Settings { approve_suppressions: true, ..Settings::default() }).await;
    let (root, rc) = login(&s, "root").await;
    let admin = [("cookie", root.as_str()), ("x-csrf-token", rc.as_str())];
    let a = call(
        &s,
        "POST",
        "/api/users",
        &admin,
        Some(json!({"name": "ana2", "role": "analyst", "password": "ana2-password-123"})),
    )
    .await;
    assert_eq!(a.status, 200);
    let (ana, ac) = login(&s, "ana").await;
    let analyst = [("cookie", ana.as_str()), ("x-csrf-token", ac.as_str())];
    // ana silences alerts about herself: it waits.
    let sup = json!({"account": "ana", "reason": "my own campaign", "expires": "90d"});
    let a = call(&s, "POST", "/api/suppressions", &analyst, Some(sup)).await;
    assert_eq!((a.status, &a.body["pending"]), (200, &json!(true)), "{:?}", a.body);
    let id = a.body["suppression"]["id"].as_str().unwrap().to_string();
    let a = call(&s, "GET", "/api/suppressions", &analyst, None).await;
    assert_eq!(a.body["suppressions"].as_array().unwrap().len(), 0, "{:?}", a.body);
    assert_eq!(a.body["pending"][0]["id"], id.as_str());
    assert!(tokio::task::block_in_place(|| s.store.suppressions(vigie_store::now_ms())).unwrap().is_empty());
    // Not by its author; not by a DPO (no triage role).
    let approve = format!("/api/suppressions/{id}/approve");
    assert_eq!(call(&s, "POST", &approve, &analyst, None).await.status, 400);
    let (dora, dc) = login(&s, "dora").await;
    assert_eq!(call(&s, "POST", &approve, &[("cookie", &dora), ("x-csrf-token", &dc)], None).await.status, 403);
    // A suppression covering root cannot be approved by root.
    let a = call(
        &s,
        "POST",
        "/api/suppressions",
        &analyst,
        Some(json!({"account": "root", "reason": "x", "expires": "1d"})),
    )
    .await;
    let rid = a.body["suppression"]["id"].as_str().unwrap().to_string();
    let a = call(&s, "POST", &format!("/api/suppressions/{rid}/approve"), &admin, None).await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    // A second analyst approves: it applies.
    let (ana2, a2c) = login(&s, "ana2").await;
    let a = call(&s, "POST", &approve, &[("cookie", &ana2), ("x-csrf-token", &a2c)], None).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let live = tokio::task::block_in_place(|| s.store.suppressions(vigie_store::now_ms())).unwrap();
    assert_eq!(live.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
    // A suppression of a rule alone needs no second person.
    let a = call(
        &s,
        "POST",
        "/api/suppressions",
        &analyst,
        Some(json!({"rule_id": "r1", "reason": "noisy", "expires": "1d"})),
    )
    .await;
    assert_eq!(a.body["pending"], false);
    let a = call(&s, "GET", "/api/audit", &admin, None).await;
    assert!(a.body["entries"].as_array().unwrap().iter().any(|e| e["action"] == "suppression.approve"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_eyes_on_sqlite() {
    four_eyes(tokio::task::block_in_place(TestDb::sqlite)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_eyes_on_postgresql() {
    four_eyes(tokio::task::block_in_place(TestDb::postgres)).await;
}

/// Identifiers of people are never in an answer: every shape of
/// `data_subject.ids` the engine may pass is pseudonymised by the store.
async fn no_raw_ids(db: TestDb) {
    let s = start(db).await;
    const RAW: &str = "267035512349876";
    let n: u64 = RAW.parse().unwrap();
    let key = vigie_analytics::Pseudonymiser::new(b"k");
    let shapes = [
        json!({"ids": RAW, "count": 1200}),
        json!({"ids": n}),
        json!({"ids": [RAW, n]}),
        json!({"ids": [{"nir": RAW}]}),
        json!({"ids": {"primary": {"nir": n}}}),
    ];
    for (i, ds) in shapes.iter().enumerate() {
        let alert: vigie_alert::Alert = serde_json::from_value(json!({
            "@timestamp": "2026-03-02T20:00:00.000Z",
            "alert": {"id": format!("s{i}"), "kind": "sigma", "status": "new", "count": 1,
                      "first_seen": "2026-03-02T20:00:00.000Z", "last_seen": "2026-03-02T20:00:00.000Z"},
            "rule": {"id": "r", "name": "r", "level": "high", "author": "x"},
            "user": {"name": "adv1"}, "reason": format!("data_subject.ids={RAW}"),
            "evidence": {"matched": {"data_subject.ids": RAW}}, "events": [],
            "event": {"data_subject": ds, "user": {"name": "adv1"}}
        }))
        .unwrap();
        tokio::task::block_in_place(|| s.store.write_alert(&alert, Some(&key))).unwrap();
    }
    let (root, _) = login(&s, "root").await;
    let mut answers = call(&s, "GET", "/api/alerts", &[("cookie", &root)], None).await.body.to_string();
    for i in 0..shapes.len() {
        answers += &call(&s, "GET", &format!("/api/alerts/s{i}"), &[("cookie", &root)], None).await.body.to_string();
    }
    answers += &call(&s, "GET", "/api/accounts/adv1", &[("cookie", &root)], None).await.body.to_string();
    assert!(answers.contains(&key.pseudonym(RAW)));
    assert!(!answers.contains(RAW), "{answers}");
    let stored = tokio::task::block_in_place(|| s.store.db.query("SELECT body FROM alerts", &[])).unwrap();
    assert!(!format!("{stored:?}").contains(RAW));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_raw_ids_on_sqlite() {
    no_raw_ids(tokio::task::block_in_place(TestDb::sqlite)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_raw_ids_on_postgresql() {
    no_raw_ids(tokio::task::block_in_place(TestDb::postgres)).await;
}

fn cookie_of(a: &Answer) -> String {
    a.headers.get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string()
}

async fn login_with(s: &Server, from: [u8; 4], user: &str, code: Option<&str>) -> Answer {
    let mut body = json!({"user": user, "password": format!("{user}-password-123")});
    if let Some(c) = code {
        body["code"] = json!(c);
    }
    call_from(s, from, "POST", "/api/login", &[], Some(body)).await
}

/// The second factor: with `require_mfa`, an admin without one may only
/// enrol one; once enrolled, a login needs a code, each code works once,
/// a wrong code counts as a failed login, and an admin's reset ends the
/// user's sessions. Analysts are not required to have one; tokens cannot
/// enrol one.
async fn second_factor(db: TestDb) {
    let s = start_with(db, Settings { max_failed_logins: 10, require_mfa: true, ..Settings::default() }).await;
    let now = vigie_console::mfa::now_s();
    // The admin's first login opens an enrol-only session.
    let a = login_with(&s, [127, 0, 0, 1], "root", None).await;
    assert_eq!((a.status, &a.body["enrol_only"]), (200, &json!(true)), "{:?}", a.body);
    let (root, rc) = (cookie_of(&a), a.body["csrf"].as_str().unwrap().to_string());
    for path in ["/api/alerts", "/api/audit", "/api/users", "/api/stream"] {
        let a = call(&s, "GET", path, &[("cookie", &root)], None).await;
        assert_eq!(a.status, 403, "enrol-only session reached {path}: {:?}", a.body);
    }
    let a = call(&s, "GET", "/api/session", &[("cookie", &root)], None).await;
    assert_eq!(a.body["enrol_only"], json!(true));
    // Enrol: a key, pending until a code confirms it.
    let e = call(&s, "POST", "/api/mfa/enrol", &[("cookie", &root), ("x-csrf-token", &rc)], None).await;
    assert_eq!(e.status, 200, "{:?}", e.body);
    let secret = vigie_console::mfa::from_base32(e.body["secret"].as_str().unwrap()).unwrap();
    assert!(e.body["uri"].as_str().unwrap().starts_with("otpauth://totp/vigie:root?"));
    let code_at = |t: u64| vigie_console::mfa::code(&secret, t).unwrap();
    let bad = json!({"code": if code_at(now) == "000000" { "111111" } else { "000000" }});
    let a = call(&s, "POST", "/api/mfa/confirm", &[("cookie", &root), ("x-csrf-token", &rc)], Some(bad)).await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    let a = call(
        &s,
        "POST",
        "/api/mfa/confirm",
        &[("cookie", &root), ("x-csrf-token", &rc)],
        Some(json!({"code": code_at(now)})),
    )
    .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(
        call(&s, "GET", "/api/session", &[("cookie", &root)], None).await.status,
        401,
        "confirming ends sessions"
    );
    let users = tokio::task::block_in_place(|| s.store.users().unwrap());
    assert!(users.iter().any(|u| u.name == "root" && u.mfa));
    // A login now needs a code: without one, 401 and `mfa: true`.
    let a = login_with(&s, [127, 0, 0, 1], "root", None).await;
    assert_eq!((a.status, &a.body["mfa"]), (401, &json!(true)), "{:?}", a.body);
    // The confirming code is spent; the next one opens a full session.
    let next = code_at(now + 30);
    let a = login_with(&s, [127, 0, 0, 1], "root", Some(&next)).await;
    assert_eq!((a.status, &a.body["enrol_only"]), (200, &json!(false)), "{:?}", a.body);
    let (root, rc) = (cookie_of(&a), a.body["csrf"].as_str().unwrap().to_string());
    assert_eq!(call(&s, "GET", "/api/alerts", &[("cookie", &root)], None).await.status, 200);
    // The same code again, and a wrong one: refused, and counted.
    assert_eq!(login_with(&s, [127, 0, 0, 3], "root", Some(&next)).await.status, 401, "a code works once");
    assert_eq!(login_with(&s, [127, 0, 0, 3], "root", Some(&code_at(now + 3600))).await.status, 401);
    // A session opened before `require_mfa` applied (here: written as a
    // full session) is held to it at its next request.
    let before = vigie_store::auth::Session {
        user: "dora".into(),
        role: "dpo".into(),
        csrf: "c".into(),
        expires_ms: i64::MAX,
        enrol_only: false,
        mfa: false,
    };
    tokio::task::block_in_place(|| s.store.put_session("from-before", &before).unwrap());
    let a = call(&s, "GET", "/api/alerts", &[("cookie", "vigie_session=from-before")], None).await;
    assert_eq!(a.status, 403, "{:?}", a.body);
    // Analysts are not required to enrol; tokens cannot.
    let a = login_with(&s, [127, 0, 0, 1], "ana", None).await;
    assert_eq!((a.status, &a.body["enrol_only"]), (200, &json!(false)), "{:?}", a.body);
    let t = call(
        &s,
        "POST",
        "/api/tokens",
        &[("cookie", &root), ("x-csrf-token", &rc)],
        Some(json!({"name": "ci", "role": "analyst"})),
    )
    .await;
    let token = format!("Bearer {}", t.body["token"].as_str().unwrap());
    assert_eq!(call(&s, "POST", "/api/mfa/enrol", &[("authorization", &token)], None).await.status, 403);
    // An admin's reset (a lost device) ends the user's sessions; the next
    // login must enrol again.
    let a = call(&s, "DELETE", "/api/users/root/mfa", &[("cookie", &root), ("x-csrf-token", &rc)], None).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(call(&s, "GET", "/api/alerts", &[("cookie", &root)], None).await.status, 401);
    // (root's two failures above make its next attempt wait a second.)
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let a = login_with(&s, [127, 0, 0, 4], "root", None).await;
    assert_eq!((a.status, &a.body["enrol_only"]), (200, &json!(true)), "{:?}", a.body);
    // Every step is in the audit log.
    let actions: Vec<String> =
        tokio::task::block_in_place(|| s.store.audit_entries(10_000).unwrap()).into_iter().map(|e| e.action).collect();
    for want in ["mfa.enrol", "mfa.confirm.failed", "mfa.enable", "mfa.reset", "login.code_needed"] {
        assert!(actions.iter().any(|a| a == want), "{want} not audited: {actions:?}");
    }
    let failed = tokio::task::block_in_place(|| s.store.audit_entries(10_000).unwrap())
        .into_iter()
        .filter(|e| e.action == "login.failed" && e.detail.contains("second_factor"))
        .count();
    assert_eq!(failed, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_factor_on_sqlite() {
    second_factor(tokio::task::block_in_place(TestDb::sqlite)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_factor_on_postgresql() {
    second_factor(tokio::task::block_in_place(TestDb::postgres)).await;
}
