//! The endpoints. Each names the roles it allows (admin may do anything);
//! every analyst action that changes something, or exports personal data,
//! is written to the audit log.

use crate::auth::{COOKIE, Principal, hash_password, random_token, verify_password};
use crate::series::{HOUR, distinct_per_hour};
use crate::{ApiError, Console};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use vigie_alert::Severity;
use vigie_store::{AlertFilter, Scope, SuppressionRow, Triage, now_ms};

type Res<T> = Result<T, ApiError>;

pub fn routes() -> Router<Console> {
    Router::new()
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/session", get(session))
        .route("/api/openapi.json", get(openapi))
        .route("/api/overview", get(overview))
        .route("/api/alerts", get(alerts))
        .route("/api/alerts/{id}", get(alert))
        .route("/api/alerts/{id}/triage", post(triage))
        .route("/api/alerts/{id}/notes", post(note))
        .route("/api/suppressions", get(suppressions).post(suppress))
        .route("/api/suppressions/{id}/approve", post(approve_suppression))
        .route("/api/accounts/{name}", get(account))
        .route("/api/incidents", get(incidents))
        .route("/api/incidents/{id}", get(incident))
        .route("/api/incidents/{id}/notifications", get(notifications))
        .route("/api/incidents/{id}/subjects.csv", get(subjects_csv))
        .route("/api/impact", post(impact))
        .route("/api/rules", get(rules))
        .route("/api/audit", get(audit))
        .route("/api/users", get(users).post(add_user))
        .route("/api/users/{name}", delete(remove_user))
        .route("/api/users/{name}/mfa", delete(crate::mfa::reset))
        .route("/api/mfa/enrol", post(crate::mfa::enrol))
        .route("/api/mfa/confirm", post(crate::mfa::confirm))
        .route("/api/tokens", get(tokens).post(add_token))
        .route("/api/tokens/{id}", delete(revoke_token))
        .route("/api/stream", get(stream))
}

/// The caller's address (for login rate limiting).
pub struct ClientIp(pub IpAddr);

impl<S: Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        Ok(ClientIp(ip))
    }
}

pub(crate) async fn audit_log(c: &Console, actor: &str, action: &str, target: &str, detail: Value) -> Res<()> {
    let (s, actor, action, target) = (c.store.clone(), actor.to_string(), action.to_string(), target.to_string());
    c.blocking(move || s.audit(&actor, &action, &target, &detail.to_string()).map(|_| ())).await
}

#[derive(Deserialize)]
struct Login {
    user: String,
    password: String,
    /// The authenticator's code, for a user with a second factor.
    #[serde(default)]
    code: Option<String>,
}

async fn login(State(c): State<Console>, ClientIp(ip): ClientIp, Json(l): Json<Login>) -> Res<Response> {
    let now = now_ms();
    if l.user.len() > vigie_store::auth::MAX_NAME || l.password.len() > 1024 {
        return Err(ApiError::BadRequest("user or password too long".into()));
    }
    // Admitted and counted as a failure in one step; a success takes it back.
    let attempt = match c.limiter.begin(&l.user, ip, now) {
        Ok(a) => a,
        Err(r) => {
            let whom = match r {
                crate::auth::Refusal::Account { .. } => "this account",
                crate::auth::Refusal::Address { .. } => "this address",
            };
            return Err(ApiError::TooMany(format!("too many failed logins for {whom}; try again in {} s", r.wait_s())));
        }
    };
    let (s, name) = (c.store.clone(), l.user.clone());
    let user = c.blocking(move || s.user(&name)).await?;
    // Verify against a dummy hash when the user is unknown, so that the
    // answer takes as long either way.
    let ok = match &user {
        Some(u) => verify_password(&l.password, &u.password_hash),
        None => {
            let _ = verify_password(&l.password, DUMMY_HASH);
            false
        }
    };
    let Some(user) = user.filter(|_| ok) else {
        let locked = c.limiter.locked(&l.user, now);
        let detail = if locked { json!({"locked": true}) } else { json!({}) };
        audit_log(&c, &l.user, "login.failed", &ip.to_string(), detail).await?;
        return Err(ApiError::Unauthorized("wrong user or password".into()));
    };
    if user.mfa {
        // The attempt stays counted as a failure until the code is right,
        // so codes are guessed no faster than passwords.
        let Some(code) = l.code.as_deref().filter(|c| !c.trim().is_empty()) else {
            // Not a failure (the password was right), but on the record: a
            // password guessed right shows here.
            c.limiter.release(attempt);
            audit_log(&c, &user.name, "login.code_needed", &ip.to_string(), json!({})).await?;
            return Err(ApiError::SecondFactor("enter the 6-digit code from your authenticator app".into()));
        };
        let (s, name) = (c.store.clone(), user.name.clone());
        let secret = c.blocking(move || s.mfa(&name)).await?.and_then(|m| m.secret).unwrap_or_default();
        let spent = match crate::mfa::check(&secret, code, (now / 1000).max(0) as u64) {
            Some(step) => {
                let (s, name) = (c.store.clone(), user.name.clone());
                c.blocking(move || s.spend_mfa_step(&name, step)).await?
            }
            None => false,
        };
        if !spent {
            let locked = c.limiter.locked(&l.user, now);
            audit_log(&c, &l.user, "login.failed", &ip.to_string(), json!({"second_factor": true, "locked": locked}))
                .await?;
            return Err(ApiError::Unauthorized("wrong or already used code".into()));
        }
    }
    c.limiter.succeeded(attempt);
    // Without a second factor where one is required, the session may only enrol one.
    let enrol_only = c.settings.require_mfa && !user.mfa && matches!(user.role.as_str(), "admin" | "dpo");
    let cookie = random_token();
    let sess = vigie_store::auth::Session {
        user: user.name.clone(),
        role: user.role.clone(),
        csrf: random_token(),
        // An enrol-only session is for enrolling now, not for 12 hours.
        expires_ms: now + if enrol_only { c.settings.session_ms.min(ENROL_SESSION_MS) } else { c.settings.session_ms },
        enrol_only,
        mfa: user.mfa,
    };
    let (s, k, v) = (c.store.clone(), cookie.clone(), sess.clone());
    c.blocking(move || s.put_session(&k, &v)).await?;
    audit_log(&c, &user.name, "login", &ip.to_string(), json!({"role": user.role, "mfa": user.mfa})).await?;
    let secure = if c.settings.secure_cookies { "; Secure" } else { "" };
    let set = format!(
        "{COOKIE}={cookie}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        (sess.expires_ms - now) / 1000
    );
    let body = json!({"user": sess.user, "role": sess.role, "csrf": sess.csrf, "enrol_only": enrol_only});
    Ok(([(header::SET_COOKIE, set)], Json(body)).into_response())
}

/// How long a session that may only enrol a second factor lasts.
const ENROL_SESSION_MS: i64 = 15 * 60_000;

/// An argon2id hash of a random string, for timing-equal failures.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$8dOCd0ikBTLTc2ItRQ5P3pmwQD7pH7Z2YiDlShOw4zE";

async fn logout(State(c): State<Console>, p: Principal) -> Res<Response> {
    if let Some(cookie) = p.cookie.clone() {
        let s = c.store.clone();
        c.blocking(move || s.end_session(&cookie)).await?;
    }
    audit_log(&c, &p.user, "logout", "", json!({})).await?;
    let clear = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    Ok(([(header::SET_COOKIE, clear)], Json(json!({"ok": true}))).into_response())
}

async fn session(p: Principal) -> Json<Value> {
    Json(json!({"user": p.user, "role": p.role, "csrf": p.csrf, "enrol_only": p.enrol_only}))
}

async fn openapi(_: Principal) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::assets::OPENAPI).into_response()
}

fn points(level: Severity) -> i64 {
    match level {
        Severity::Critical => 80,
        Severity::High => 40,
        Severity::Medium => 15,
        Severity::Low => 5,
        Severity::Informational => 1,
    }
}

async fn overview(State(c): State<Console>, _: Principal) -> Res<Json<Value>> {
    let s = c.store.clone();
    let recent = c.blocking(move || s.alerts(&AlertFilter { limit: Some(5000), ..Default::default() })).await?;
    let latest = recent.iter().map(|a| a.last_seen_ms).max().unwrap_or_else(now_ms);
    let from = latest - 72 * HOUR;
    let s = c.store.clone();
    let by_hour = c.blocking(move || s.alerts_by_hour(from)).await?;
    let mut riskiest: BTreeMap<String, (i64, usize, i64)> = BTreeMap::new();
    for a in recent.iter().filter(|a| a.last_seen_ms >= latest - 24 * HOUR && a.status != "closed") {
        if let Some(acct) = &a.account {
            let e = riskiest.entry(acct.clone()).or_insert((0, 0, 0));
            e.0 += points(a.level);
            e.1 += 1;
            e.2 = e.2.max(a.level.rank().into());
        }
    }
    let mut riskiest: Vec<_> = riskiest.into_iter().collect();
    riskiest.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    let total = c.events.load(std::sync::atomic::Ordering::Relaxed);
    let rate = match c.last_rate.lock() {
        Ok(mut last) => {
            let now = now_ms();
            if now - last.0 >= 1000 {
                let r =
                    if last.0 > 0 { (total - last.1.min(total)) as f64 * 1000.0 / (now - last.0) as f64 } else { 0.0 };
                *last = (now, total, r);
            }
            last.2
        }
        Err(_) => 0.0,
    };
    let mut status: BTreeMap<&str, u64> = BTreeMap::new();
    for a in &recent {
        *status.entry(a.status.as_str()).or_insert(0) += 1;
    }
    let incidents: Vec<_> = recent.iter().filter(|a| a.kind == "incident" && a.status != "closed").collect();
    Ok(Json(json!({
        "events_total": total,
        "events_per_second": rate,
        "alerts_by_status": status,
        "alerts_by_hour": by_hour.iter().map(|(h, l, n)| json!({"hour_ms": h, "level": l, "count": n})).collect::<Vec<_>>(),
        "riskiest": riskiest.iter().take(10).map(|(a, (p, n, r))| json!({"account": a, "points": p, "alerts": n, "max_level_rank": r})).collect::<Vec<_>>(),
        "open_incidents": incidents,
        "latest_ms": latest,
    })))
}

async fn alerts(State(c): State<Console>, _: Principal, Query(f): Query<AlertFilter>) -> Res<Json<Value>> {
    let s = c.store.clone();
    let rows = c.blocking(move || s.alerts(&f)).await?;
    Ok(Json(json!({"alerts": rows})))
}

/// The account's trail from `from` to `to`, plus what came before for its
/// baseline (14 days).
async fn trail(c: &Console, account: &str, from: i64, to: i64) -> Res<Vec<vigie_store::Access>> {
    let (s, scope) = (
        c.store.clone(),
        Scope { accounts: vec![account.to_string()], sources: vec![], from_ms: from - 14 * 24 * HOUR, to_ms: to },
    );
    c.blocking(move || s.accesses(&scope)).await
}

async fn alert(State(c): State<Console>, _: Principal, Path(id): Path<String>) -> Res<Json<Value>> {
    let (s, i) = (c.store.clone(), id.clone());
    let row = c.blocking(move || s.alert(&i)).await?;
    let (s, i) = (c.store.clone(), id.clone());
    let notes = c.blocking(move || s.notes(&i)).await?;
    let (s, i) = (c.store.clone(), id.clone());
    let actions = c.blocking(move || s.actions(&[i], None)).await?;
    let mut chart = Value::Null;
    if let Some(account) = &row.account {
        let (from, to) = (row.first_seen_ms - 48 * HOUR, row.last_seen_ms + 6 * HOUR);
        let rows = trail(&c, account, from, to).await?;
        let series = distinct_per_hour(&rows, from, to);
        let ev = row.alert.get("evidence");
        chart = json!({
            "series": series,
            "observed": ev.and_then(|e| e.get("observed")),
            "baseline_mean": ev.and_then(|e| e.pointer("/baseline/mean")),
            "bound": ev.and_then(|e| e.get("bound")),
        });
    }
    Ok(Json(json!({"alert": row, "notes": notes, "actions": actions, "chart": chart})))
}

async fn triage(
    State(c): State<Console>,
    p: Principal,
    Path(id): Path<String>,
    Json(t): Json<Triage>,
) -> Res<Json<Value>> {
    p.require(&["analyst"])?;
    let (s, i, tt) = (c.store.clone(), id.clone(), t.clone());
    let row = c.blocking(move || s.triage(&i, &tt)).await?;
    audit_log(&c, &p.user, "alert.triage", &id, serde_json::to_value(&t).unwrap_or(Value::Null)).await?;
    Ok(Json(json!({"alert": row})))
}

#[derive(Deserialize)]
struct NoteIn {
    body: String,
}

async fn note(
    State(c): State<Console>,
    p: Principal,
    Path(id): Path<String>,
    Json(n): Json<NoteIn>,
) -> Res<Json<Value>> {
    p.require(&["analyst", "dpo"])?;
    if n.body.trim().is_empty() {
        return Err(ApiError::BadRequest("an empty note".into()));
    }
    let (s, i, u, b) = (c.store.clone(), id.clone(), p.user.clone(), n.body.clone());
    let row = c.blocking(move || s.add_note(&i, &u, &b)).await?;
    audit_log(&c, &p.user, "alert.note", &id, json!({"note": row.id})).await?;
    Ok(Json(json!({"note": row})))
}

async fn suppressions(State(c): State<Console>, _: Principal) -> Res<Json<Value>> {
    let s = c.store.clone();
    let active = c.blocking(move || s.suppressions(now_ms())).await?;
    let s = c.store.clone();
    let pending = c.blocking(move || s.pending_suppressions(now_ms())).await?;
    Ok(Json(json!({"suppressions": active, "pending": pending})))
}

/// Approve a suppression waiting for a second person (`[console]
/// approve_suppressions`): not its author, not the account it covers.
async fn approve_suppression(State(c): State<Console>, p: Principal, Path(id): Path<String>) -> Res<Json<Value>> {
    p.require(&["analyst"])?;
    let (s, i, u) = (c.store.clone(), id.clone(), p.user.clone());
    let row = c.blocking(move || s.approve_suppression(&i, &u, now_ms())).await?;
    audit_log(&c, &p.user, "suppression.approve", &id, serde_json::to_value(&row).unwrap_or(Value::Null)).await?;
    Ok(Json(json!({"suppression": row, "approved_by": p.user})))
}

#[derive(Deserialize)]
struct SuppressIn {
    rule_id: Option<String>,
    account: Option<String>,
    source_ip: Option<String>,
    reason: String,
    /// RFC 3339, or a duration from now (`7d`).
    expires: String,
}

fn parse_time(s: &str, field: &'static str) -> Res<i64> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t.as_millisecond());
    }
    if let Ok(d) = vigie_alert::duration_ms(s) {
        return Ok(now_ms() + d);
    }
    s.parse::<i64>().map_err(|_| ApiError::BadRequest(format!("{field}: `{s}` is neither RFC 3339, a duration nor ms")))
}

async fn suppress(State(c): State<Console>, p: Principal, Json(i): Json<SuppressIn>) -> Res<Json<Value>> {
    p.require(&["analyst"])?;
    let expires_ms = parse_time(&i.expires, "expires")?;
    if expires_ms <= now_ms() {
        return Err(ApiError::BadRequest("expires: must be in the future".into()));
    }
    if expires_ms > now_ms() + 90 * 24 * HOUR {
        return Err(ApiError::BadRequest("expires: at most 90 days ahead (a suppression must be reviewed)".into()));
    }
    let row = SuppressionRow {
        id: random_token()[..16].to_string(),
        rule_id: i.rule_id.filter(|s| !s.is_empty()),
        account: i.account.filter(|s| !s.is_empty()),
        source_ip: i.source_ip.filter(|s| !s.is_empty()),
        reason: i.reason,
        created_by: p.user.clone(),
        created_ms: now_ms(),
        expires_ms,
    };
    // Four eyes: a suppression that covers an account waits for a second
    // person when the console is so configured.
    let pending = c.settings.approve_suppressions && row.account.is_some();
    let (s, r) = (c.store.clone(), row.clone());
    c.blocking(move || if pending { s.add_pending_suppression(&r) } else { s.add_suppression(&r) }).await?;
    let mut detail = serde_json::to_value(&row).unwrap_or(Value::Null);
    detail["pending"] = json!(pending);
    audit_log(&c, &p.user, "suppression.create", &row.id, detail).await?;
    Ok(Json(json!({"suppression": row, "pending": pending})))
}

async fn account(State(c): State<Console>, _: Principal, Path(name): Path<String>) -> Res<Json<Value>> {
    let (s, n) = (c.store.clone(), name.clone());
    let alerts =
        c.blocking(move || s.alerts(&AlertFilter { account: Some(n), limit: Some(500), ..Default::default() })).await?;
    let (s, n) = (c.store.clone(), name.clone());
    let last = c.blocking(move || s.last_access(&n)).await?;
    let end = last.into_iter().chain(alerts.iter().map(|a| a.last_seen_ms)).max().unwrap_or_else(now_ms);
    let (from, to) = (end - 72 * HOUR, end + HOUR);
    let rows = trail(&c, &name, from, to).await?;
    let series = distinct_per_hour(&rows, from, to);
    let mut sources: BTreeMap<String, SourceUse> = BTreeMap::new();
    for r in &rows {
        let e = sources.entry(r.source_ip.clone().unwrap_or_else(|| "-".into())).or_insert(SourceUse {
            first_ms: r.ts,
            last_ms: r.ts,
            ..SourceUse::default()
        });
        e.reads += 1;
        e.records += r.records;
        e.first_ms = e.first_ms.min(r.ts);
        e.last_ms = e.last_ms.max(r.ts);
        if let Some(ua) = &r.user_agent
            && !e.user_agents.contains(ua)
        {
            e.user_agents.push(ua.clone());
        }
    }
    let sources: Vec<Value> = sources
        .into_iter()
        .map(|(ip, u)| {
            json!({"ip": ip, "reads": u.reads, "records": u.records, "first_ms": u.first_ms, "last_ms": u.last_ms,
                   "user_agents": u.user_agents})
        })
        .collect();
    let (s, n) = (c.store.clone(), name.clone());
    let actions = c.blocking(move || s.actions(&[], Some(&n))).await?;
    let mut timeline: Vec<Value> = alerts
        .iter()
        .map(|a| json!({"ms": a.first_seen_ms, "type": "alert", "level": a.level, "text": a.rule_name, "id": a.id}))
        .chain(actions.iter().map(|a| json!({"ms": a.at_ms, "type": "action", "level": a.status, "text": a.action, "id": a.id})))
        .chain(rows.iter().filter(|r| r.kind != "read").map(|r| {
            json!({"ms": r.ts, "type": r.kind, "level": "", "text": format!("{} {}", r.action, r.target.clone().unwrap_or_default()), "id": r.id})
        }))
        .collect();
    timeline.sort_by_key(|v| std::cmp::Reverse(v["ms"].as_i64().unwrap_or(0)));
    Ok(Json(
        json!({"account": name, "alerts": alerts, "series": series, "sources": sources, "timeline": timeline, "actions": actions}),
    ))
}

/// How an account used one source address.
#[derive(Default)]
struct SourceUse {
    reads: u64,
    records: u64,
    first_ms: i64,
    last_ms: i64,
    user_agents: Vec<String>,
}

async fn incidents(State(c): State<Console>, _: Principal) -> Res<Json<Value>> {
    let s = c.store.clone();
    let rows = c
        .blocking(move || {
            s.alerts(&AlertFilter { kind: Some("incident".into()), limit: Some(500), ..Default::default() })
        })
        .await?;
    Ok(Json(json!({"incidents": rows})))
}

async fn incident_report(c: &Console, id: &str) -> Res<vigie_investigate::IncidentReport> {
    let (s, i) = (c.store.clone(), id.to_string());
    c.blocking(move || vigie_investigate::incident::report(&s, &i)).await
}

async fn incident(State(c): State<Console>, _: Principal, Path(id): Path<String>) -> Res<Json<Value>> {
    let r = incident_report(&c, &id).await?;
    let deadlines = vigie_investigate::notify::deadlines(r.awareness_ms, now_ms());
    Ok(Json(json!({"report": r, "deadlines": deadlines})))
}

async fn notifications(State(c): State<Console>, p: Principal, Path(id): Path<String>) -> Res<Json<Value>> {
    p.require(&["dpo"])?;
    let r = incident_report(&c, &id).await?;
    let d = vigie_investigate::notify::drafts(&r, &c.org, now_ms());
    audit_log(&c, &p.user, "incident.notifications", &id, json!({})).await?;
    Ok(Json(serde_json::to_value(d).map_err(|e| ApiError::Internal(e.to_string()))?))
}

async fn subjects_csv(State(c): State<Console>, p: Principal, Path(id): Path<String>) -> Res<Response> {
    p.require(&["dpo"])?;
    let r = incident_report(&c, &id).await?;
    audit_log(&c, &p.user, "incident.export_subjects", &id, json!({"subjects": r.impact.subjects})).await?;
    let csv = vigie_investigate::impact::subjects_csv(&r.impact);
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response())
}

#[derive(Deserialize)]
struct ImpactIn {
    #[serde(default)]
    accounts: Vec<String>,
    #[serde(default)]
    sources: Vec<String>,
    from: Option<String>,
    to: Option<String>,
}

async fn impact(State(c): State<Console>, p: Principal, Json(i): Json<ImpactIn>) -> Res<Json<Value>> {
    p.require(&["dpo", "analyst"])?;
    if i.accounts.is_empty() && i.sources.is_empty() {
        return Err(ApiError::BadRequest("give accounts, sources, or both".into()));
    }
    let from = i.from.as_deref().map(|s| parse_time(s, "from")).transpose()?.unwrap_or(0);
    let to = i.to.as_deref().map(|s| parse_time(s, "to")).transpose()?.unwrap_or(i64::MAX);
    let scope = Scope { accounts: i.accounts, sources: i.sources, from_ms: from, to_ms: to };
    audit_log(&c, &p.user, "impact.query", "", serde_json::to_value(&scope).unwrap_or(Value::Null)).await?;
    let s = c.store.clone();
    let imp = c.blocking(move || vigie_investigate::impact::of_scope(&s, scope)).await?;
    Ok(Json(json!({"impact": imp})))
}

async fn rules(State(c): State<Console>, _: Principal) -> Res<Json<Value>> {
    let s = c.store.clone();
    let hits = c.blocking(move || s.rule_hits()).await?;
    let s = c.store.clone();
    let reloads = c.blocking(move || s.rule_reloads(50)).await?;
    let rules = c.rules.get();
    Ok(Json(json!({
        "loaded": rules.loaded,
        "correlations": rules.correlations,
        "rejected": rules.rejected,
        "hits": hits.iter().map(|(id, name, alerts, events)| json!({"id": id, "name": name, "alerts": alerts, "occurrences": events})).collect::<Vec<_>>(),
        "rules": rules.rules.iter().map(|(id, t, l, a)| json!({"id": id, "title": t, "level": l, "author": a})).collect::<Vec<_>>(),
        // Live reloads and refusals, newest first: when, what asked for it,
        // and what changed (rules added, changed, removed, with their authors).
        "reloads": reloads.iter().map(|e| json!({
            "at_ms": e.at_ms,
            "by": e.actor,
            "applied": e.action == "rules.reload",
            "detail": serde_json::from_str::<Value>(&e.detail).unwrap_or(Value::Null),
        })).collect::<Vec<_>>(),
    })))
}

async fn audit(State(c): State<Console>, p: Principal) -> Res<Json<Value>> {
    p.require(&["dpo"])?;
    let s = c.store.clone();
    let report = c.blocking(move || s.verify_audit()).await?;
    let s = c.store.clone();
    let entries = c.blocking(move || s.audit_entries(200)).await?;
    Ok(Json(json!({"verify": report, "entries": entries})))
}

#[derive(Deserialize)]
struct UserIn {
    name: String,
    role: String,
    password: String,
}

async fn add_user(State(c): State<Console>, p: Principal, Json(u): Json<UserIn>) -> Res<Json<Value>> {
    p.require(&[])?;
    if u.password.chars().count() < 12 {
        return Err(ApiError::BadRequest("password: at least 12 characters".into()));
    }
    let hash = hash_password(&u.password)?;
    let (s, n, r) = (c.store.clone(), u.name.clone(), u.role.clone());
    c.blocking(move || s.put_user(&n, &r, &hash)).await?;
    audit_log(&c, &p.user, "user.put", &u.name, json!({"role": u.role})).await?;
    Ok(Json(json!({"user": u.name, "role": u.role})))
}

async fn users(State(c): State<Console>, p: Principal) -> Res<Json<Value>> {
    p.require(&[])?;
    let s = c.store.clone();
    Ok(Json(json!({"users": c.blocking(move || s.users()).await?})))
}

/// Remove a user: its sessions end at once. The last admin stays.
async fn remove_user(State(c): State<Console>, p: Principal, Path(name): Path<String>) -> Res<Json<Value>> {
    p.require(&[])?;
    let (s, n) = (c.store.clone(), name.clone());
    c.blocking(move || s.remove_user(&n)).await?;
    audit_log(&c, &p.user, "user.remove", &name, json!({})).await?;
    Ok(Json(json!({"removed": name})))
}

async fn tokens(State(c): State<Console>, p: Principal) -> Res<Json<Value>> {
    p.require(&[])?;
    let s = c.store.clone();
    Ok(Json(json!({"tokens": c.blocking(move || s.tokens()).await?})))
}

/// Revoke an API token by its id: it opens nothing from the next request.
async fn revoke_token(State(c): State<Console>, p: Principal, Path(id): Path<String>) -> Res<Json<Value>> {
    p.require(&[])?;
    let (s, i) = (c.store.clone(), id.clone());
    let row = c.blocking(move || s.revoke_token(&i)).await?;
    audit_log(&c, &p.user, "token.revoke", &row.name, json!({"id": row.id, "role": row.role})).await?;
    Ok(Json(json!({"revoked": row})))
}

#[derive(Deserialize)]
struct TokenIn {
    name: String,
    role: String,
}

async fn add_token(State(c): State<Console>, p: Principal, Json(t): Json<TokenIn>) -> Res<Json<Value>> {
    p.require(&[])?;
    let token = random_token();
    let (s, n, r, tk) = (c.store.clone(), t.name.clone(), t.role.clone(), token.clone());
    let id = c.blocking(move || s.put_token(&n, &r, &tk)).await?;
    audit_log(&c, &p.user, "token.create", &t.name, json!({"role": t.role, "id": id})).await?;
    Ok(Json(json!({"id": id, "name": t.name, "role": t.role, "token": token})))
}

async fn stream(
    State(c): State<Console>,
    _: Principal,
) -> Sse<impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>>> {
    use futures_util::StreamExt;
    let rx = tokio_stream::wrappers::BroadcastStream::new(c.live.subscribe());
    let events = rx.filter_map(|m| async move {
        let live = m.ok()?;
        Some(Ok(Event::default().event(live.stream).data(serde_json::to_string(&live).ok()?)))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}
