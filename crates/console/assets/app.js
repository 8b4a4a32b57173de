// vigie console: a small single-page app over /api/ (the same API scripts
// use). Data is only ever inserted as text, never as HTML.
"use strict";

const state = { csrf: null, user: null, role: null, refresh: null };
const main = () => document.getElementById("main");

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const res = await fetch(path, { method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401 && path !== "/api/login") { showLogin(); throw new Error("log in first"); }
  const type = res.headers.get("content-type") || "";
  const data = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) { const e = new Error((data && data.error) || res.statusText); e.data = data; throw e; }
  return data;
}

const fmt = (ms) => ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) + "Z" : "";
const lvl = (l) => h("span", { class: "lvl " + l }, l);
const link = (href, text) => h("a", { href }, text);
const table = (heads, rows) => h("table", {}, h("thead", {}, h("tr", {}, heads.map((x) => h("th", {}, x)))), h("tbody", {}, rows));
const card = (label, value, id) => h("div", { class: "card" }, h("div", { class: "big", id }, value), h("div", { class: "label" }, label));

function chart(container, title, xs, series, opts) {
  const width = Math.max(320, Math.min(1300, container.clientWidth || 900));
  const colors = ["#7cc4ff", "#ff8c42", "#4fc38a", "#ff4d6d", "#f2c14e"];
  const o = {
    title, width, height: 220,
    series: [{}].concat(series.map((s, i) => ({ label: s.label, stroke: s.color || colors[i % colors.length], width: s.width || 2, dash: s.dash }))),
    axes: [{ stroke: "#8a97a5", grid: { stroke: "#2a3642" } }, { stroke: "#8a97a5", grid: { stroke: "#2a3642" } }],
    scales: { x: { time: true } },
    ...(opts || {}),
  };
  const div = h("div", { class: "chart" });
  container.append(div);
  new uPlot(o, [xs.map((x) => x / 1000)].concat(series.map((s) => s.data)), div);
}

function showLogin(message) {
  state.csrf = null;
  state.enrolment = null;
  document.getElementById("nav").hidden = true;
  document.getElementById("logout").hidden = true;
  document.getElementById("who").textContent = "";
  const err = h("div", { class: "error", id: "login-error" }, message || "");
  const user = h("input", { id: "user", placeholder: "user", autocomplete: "username" });
  const pass = h("input", { id: "password", type: "password", placeholder: "password", autocomplete: "current-password" });
  const code = h("input", { id: "code", placeholder: "6-digit code", autocomplete: "one-time-code", inputmode: "numeric", hidden: true });
  const form = h("form", { class: "login", id: "login-form", onsubmit: async (e) => {
    e.preventDefault();
    try {
      const body = { user: user.value, password: pass.value };
      if (!code.hidden && code.value) body.code = code.value;
      const s = await api("POST", "/api/login", body);
      signedIn(s);
      route();
    } catch (x) {
      if (x.data && x.data.mfa) { code.hidden = false; code.focus(); }
      err.textContent = x.message;
    }
  } }, h("h1", {}, "Sign in to vigie"), user, pass, code, h("button", { id: "login-btn", type: "submit" }, "Sign in"), err);
  main().replaceChildren(form);
}

function signedIn(s) {
  state.csrf = s.csrf; state.user = s.user; state.role = s.role; state.enrolOnly = !!s.enrol_only;
  document.getElementById("nav").hidden = state.enrolOnly;
  document.getElementById("logout").hidden = false;
  document.getElementById("who").textContent = s.user + " (" + s.role + ")";
  if (!state.enrolOnly) startLive();
}

// Enrol a second factor: a new secret to type (or paste as a URI) into an
// authenticator app, confirmed by the first code it shows.
async function mfaPage() {
  // One key per visit: moving between pages must not replace the key the
  // user may already have added to their app.
  if (!state.enrolment) state.enrolment = await api("POST", "/api/mfa/enrol");
  const e = state.enrolment;
  const err = h("div", { class: "error", id: "mfa-error" });
  const code = h("input", { id: "mfa-code", placeholder: "6-digit code", autocomplete: "one-time-code", inputmode: "numeric" });
  const form = h("form", { class: "login", id: "mfa-form", onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await api("POST", "/api/mfa/confirm", { code: code.value });
      state.enrolment = null;
      if (source) { source.close(); source = null; }
      showLogin("Second factor enabled. Sign in again with a code from your app.");
    } catch (x) { err.textContent = x.message; }
  } },
    h("h1", {}, "Second factor"),
    h("p", {}, state.enrolOnly ? "Your role requires a second factor. Add this key to an authenticator app (TOTP, 6 digits, 30 s), then type the code it shows." : "Add this key to an authenticator app (TOTP, 6 digits, 30 s), then type the code it shows."),
    h("p", {}, "Key: ", h("code", { id: "mfa-secret" }, e.secret)),
    h("p", {}, "Or as a URI: ", h("code", { id: "mfa-uri" }, e.uri)),
    code, h("button", { id: "mfa-confirm", type: "submit" }, "Confirm"), err);
  main().replaceChildren(form);
}

let source = null;
function startLive() {
  if (source) return;
  source = new EventSource("/api/stream");
  const dot = document.getElementById("live");
  source.onopen = () => dot.classList.add("on");
  source.onerror = () => dot.classList.remove("on");
  const onEvent = () => {
    if (!state.refresh) return;
    clearTimeout(state.timer);
    state.timer = setTimeout(() => state.refresh && state.refresh(), 800);
  };
  source.addEventListener("alert", onEvent);
  source.addEventListener("action", onEvent);
}

async function overview() {
  const d = await api("GET", "/api/overview");
  const m = main();
  m.replaceChildren(h("h1", {}, "Overview"));
  m.append(h("div", { class: "cards" },
    card("events / s", Math.round(d.events_per_second).toLocaleString(), "eps"),
    card("events read", d.events_total.toLocaleString()),
    card("open alerts", (d.alerts_by_status.open || 0).toLocaleString(), "open-alerts"),
    card("open incidents", d.open_incidents.length, "open-incidents")));
  const seen = d.alerts_by_hour.map((x) => x.hour_ms);
  const hours = [];
  if (seen.length) for (let t = Math.min(...seen); t <= Math.max(...seen); t += 3600000) hours.push(t);
  const levels = ["critical", "high", "medium", "low", "informational"];
  const colors = { critical: "#ff4d6d", high: "#ff8c42", medium: "#f2c14e", low: "#5fb3d9", informational: "#8a97a5" };
  if (hours.length) {
    chart(m, "Alerts per hour by level", hours, levels.map((l) => ({ label: l, color: colors[l],
      data: hours.map((t) => (d.alerts_by_hour.find((x) => x.hour_ms === t && x.level === l) || { count: 0 }).count) })));
  }
  m.append(h("h2", {}, "Open incidents"), table(["Raised", "Account", "Level", "Reason"],
    d.open_incidents.map((a) => h("tr", {}, h("td", {}, fmt(a.first_seen_ms)), h("td", {}, link("#/accounts/" + encodeURIComponent(a.account), a.account)),
      h("td", {}, lvl(a.level)), h("td", {}, link("#/incidents/" + a.id, a.reason))))));
  m.append(h("h2", {}, "Riskiest accounts (alert points, last 24 h of activity)"), table(["Account", "Points", "Alerts"],
    d.riskiest.map((r) => h("tr", {}, h("td", {}, link("#/accounts/" + encodeURIComponent(r.account), r.account)), h("td", {}, r.points), h("td", {}, r.alerts)))));
}

async function alerts(params) {
  const q = new URLSearchParams(params);
  if (!q.has("status")) q.set("status", "open");
  const d = await api("GET", "/api/alerts?" + q.toString());
  const m = main();
  const status = h("select", { id: "f-status" }, ["open", "acknowledged", "closed", ""].map((s) => h("option", { value: s, selected: q.get("status") === s }, s || "any status")));
  const level = h("select", { id: "f-level" }, ["", "low", "medium", "high", "critical"].map((s) => h("option", { value: s, selected: q.get("min_level") === s }, s ? s + " and above" : "any level")));
  const kind = h("select", { id: "f-kind" }, ["", "sigma", "correlation", "analytic", "incident"].map((s) => h("option", { value: s, selected: q.get("kind") === s }, s || "any kind")));
  const apply = () => { const p = {}; if (status.value !== undefined) p.status = status.value; if (level.value) p.min_level = level.value; if (kind.value) p.kind = kind.value; location.hash = "#/alerts?" + new URLSearchParams(p); };
  [status, level, kind].forEach((s) => s.addEventListener("change", apply));
  m.replaceChildren(h("h1", {}, "Alert queue"), h("div", { class: "actions" }, status, level, kind, h("span", { class: "muted" }, d.alerts.length + " alert(s)")));
  m.append(table(["Seen", "Level", "Kind", "Rule", "Account", "Source", "Count", "Status", "Assignee"],
    d.alerts.map((a) => h("tr", { "data-id": a.id }, h("td", {}, fmt(a.first_seen_ms)), h("td", {}, lvl(a.level)), h("td", {}, a.kind),
      h("td", {}, link("#/alerts/" + a.id, a.rule_name)), h("td", {}, a.account ? link("#/accounts/" + encodeURIComponent(a.account), a.account) : ""),
      h("td", {}, a.source_ip || ""), h("td", {}, a.count), h("td", {}, a.status), h("td", {}, a.assignee || "")))));
}

async function alertPage(id) {
  const d = await api("GET", "/api/alerts/" + encodeURIComponent(id));
  const a = d.alert;
  const m = main();
  const msg = h("div", { id: "triage-msg", class: "muted" });
  const act = (body) => async () => {
    try { await api("POST", "/api/alerts/" + encodeURIComponent(id) + "/triage", body()); msg.textContent = "saved"; await alertPage(id); }
    catch (x) { msg.textContent = x.message; }
  };
  const assignee = h("input", { id: "assignee", placeholder: "assign to", value: a.assignee || "" });
  const resolution = h("select", { id: "resolution" }, h("option", { value: "true_positive" }, "true positive"), h("option", { value: "false_positive" }, "false positive"));
  const reason = h("input", { id: "close-reason", placeholder: "why (required)", size: 40 });
  const supReason = h("input", { id: "sup-reason", placeholder: "why suppress (required)", size: 30 });
  const supFor = h("select", { id: "sup-expires" }, ["1d", "7d", "30d"].map((x) => h("option", { value: x }, "for " + x)));
  const note = h("input", { id: "note", placeholder: "add a note", size: 50 });
  m.replaceChildren(
    h("h1", {}, lvl(a.level), " ", a.rule_name),
    h("p", { id: "reason" }, a.reason),
    h("p", { class: "muted" }, "Rule ", a.rule_id, " by ", a.rule_author, " · ", a.kind, " · first ", fmt(a.first_seen_ms), " · last ", fmt(a.last_seen_ms), " · ×", a.count,
      a.account ? [" · account ", link("#/accounts/" + encodeURIComponent(a.account), a.account)] : "", a.kind === "incident" ? [" · ", link("#/incidents/" + a.id, "incident page")] : ""),
    h("p", {}, "Status: ", h("strong", { id: "status" }, a.status), a.resolution ? " (" + a.resolution.replace("_", " ") + ": " + a.resolution_reason + ")" : "", a.assignee ? " · assigned to " + a.assignee : ""),
    h("div", { class: "actions" },
      h("button", { id: "ack", onclick: act(() => ({ op: "acknowledge" })) }, "Acknowledge"),
      assignee, h("button", { id: "assign", onclick: act(() => ({ op: "assign", assignee: assignee.value })) }, "Assign"),
      resolution, reason, h("button", { id: "close", onclick: act(() => ({ op: "close", resolution: resolution.value, reason: reason.value })) }, "Close"),
      a.status === "closed" ? h("button", { id: "reopen", onclick: act(() => ({ op: "reopen" })) }, "Reopen") : null),
    h("div", { class: "actions" }, supFor, supReason, h("button", { id: "suppress", onclick: async () => {
      try {
        await api("POST", "/api/suppressions", { rule_id: a.rule_id, account: a.account, reason: supReason.value, expires: supFor.value });
        msg.textContent = "suppression created";
      } catch (x) { msg.textContent = x.message; }
    } }, "Suppress this rule for this account")),
    msg);
  if (d.chart && d.chart.series && d.chart.series.hours.length) {
    const s = d.chart.series;
    const base = d.chart.baseline_mean !== null && d.chart.baseline_mean !== undefined ? d.chart.baseline_mean : s.baseline;
    const lines = [{ label: "distinct people / hour", data: s.distinct }];
    if (base !== null && base !== undefined) lines.push({ label: "baseline", data: s.hours.map(() => base), dash: [6, 4], color: "#4fc38a" });
    if (typeof d.chart.bound === "number") lines.push({ label: "alert bound", data: s.hours.map(() => d.chart.bound), dash: [2, 4], color: "#ff4d6d" });
    m.append(h("h2", {}, "Observed against baseline"));
    chart(m, a.account + ": distinct people read per hour", s.hours, lines);
  }
  m.append(h("h2", {}, "Evidence"), h("pre", { id: "evidence" }, JSON.stringify(a.alert.evidence, null, 2)));
  if (d.actions.length) m.append(h("h2", {}, "Response actions"), actionsTable(d.actions));
  m.append(h("h2", {}, "Notes"), table(["When", "Who", "Note"], d.notes.map((n) => h("tr", {}, h("td", {}, fmt(n.at_ms)), h("td", {}, n.author), h("td", {}, n.body)))),
    h("div", { class: "actions" }, note, h("button", { id: "add-note", onclick: async () => {
      try { await api("POST", "/api/alerts/" + encodeURIComponent(id) + "/notes", { body: note.value }); await alertPage(id); } catch (x) { msg.textContent = x.message; }
    } }, "Add note")));
  if (a.alert.event) m.append(h("h2", {}, "Event"), h("pre", {}, JSON.stringify(a.alert.event, null, 2)));
}

const actionsTable = (rows) => table(["When", "Action", "Status", "Account", "Source", "Why"],
  rows.map((x) => h("tr", {}, h("td", {}, fmt(x.at_ms)), h("td", {}, x.action), h("td", {}, x.status), h("td", {}, x.account || ""), h("td", {}, x.source_ip || ""),
    h("td", {}, (x.record && x.record.action && x.record.action.reason) || ""))));

async function accountPage(name) {
  const d = await api("GET", "/api/accounts/" + encodeURIComponent(name));
  const m = main();
  m.replaceChildren(h("h1", {}, "Account ", name));
  const s = d.series;
  if (s.hours.length) {
    const lines = [{ label: "distinct people / hour", data: s.distinct }];
    if (s.baseline !== null) lines.push({ label: "own baseline (median active hour)", data: s.hours.map(() => s.baseline), dash: [6, 4], color: "#4fc38a" });
    chart(m, "Distinct people read per hour", s.hours, lines);
  }
  m.append(h("h2", {}, "Sources"), table(["Address", "Reads", "Records", "First", "Last", "User agents"],
    d.sources.map((x) => h("tr", {}, h("td", {}, x.ip), h("td", {}, x.reads), h("td", {}, x.records), h("td", {}, fmt(x.first_ms)), h("td", {}, fmt(x.last_ms)), h("td", {}, x.user_agents.join("; "))))));
  m.append(h("h2", {}, "Timeline"), table(["When", "What", "Level / status", "Detail"],
    d.timeline.slice(0, 300).map((t) => h("tr", {}, h("td", {}, fmt(t.ms)), h("td", {}, t.type), h("td", {}, t.level ? lvl(t.level) : ""),
      h("td", {}, t.type === "alert" ? link("#/alerts/" + t.id, t.text) : t.text)))));
}

async function incidentsPage() {
  const d = await api("GET", "/api/incidents");
  main().replaceChildren(h("h1", {}, "Incidents"), table(["Raised", "Level", "Account", "Status", "Reason"],
    d.incidents.map((a) => h("tr", { "data-id": a.id }, h("td", {}, fmt(a.first_seen_ms)), h("td", {}, lvl(a.level)),
      h("td", {}, link("#/accounts/" + encodeURIComponent(a.account), a.account)), h("td", {}, a.status), h("td", {}, link("#/incidents/" + a.id, a.reason))))));
}

function countdown(el, dueMs, label) {
  const tick = () => {
    const left = dueMs - Date.now();
    const abs = Math.abs(left);
    const hh = Math.floor(abs / 3600000), mm = Math.floor((abs % 3600000) / 60000), ss = Math.floor((abs % 60000) / 1000);
    const t = hh + "h " + String(mm).padStart(2, "0") + "m " + String(ss).padStart(2, "0") + "s";
    el.textContent = label + ": " + (left >= 0 ? t + " left" : "overdue by " + t);
    el.classList.toggle("overdue", left < 0);
  };
  tick();
  const timer = setInterval(() => { if (!document.body.contains(el)) clearInterval(timer); else tick(); }, 1000);
}

async function incidentPage(id) {
  const d = await api("GET", "/api/incidents/" + encodeURIComponent(id));
  const r = d.report, imp = r.impact, dl = d.deadlines;
  const m = main();
  const clock = h("div", { class: "countdown", id: "countdown" });
  m.replaceChildren(h("h1", {}, lvl(r.incident.level), " Incident on ", link("#/accounts/" + encodeURIComponent(r.account), r.account)),
    h("p", {}, r.incident.reason), h("p", { class: "muted" }, "Awareness (first high alert): ", dl.awareness, " · ", link("#/alerts/" + r.incident.id, "alert")), clock);
  countdown(clock, dl.gdpr_art33.due_ms, "GDPR Art. 33 notification");
  m.append(table(["Deadline", "Due", "Now"], [dl.nis2_early_warning, dl.gdpr_art33, dl.nis2_notification, dl.nis2_final_report].map((c) =>
    h("tr", {}, h("td", {}, c.name), h("td", {}, c.due), h("td", {}, c.remaining)))));
  m.append(h("h2", {}, "Impact"), h("div", { class: "cards" },
    card("people identified", imp.subjects.toLocaleString(), "impact-subjects"),
    card("records read", imp.records.toLocaleString()),
    card("records without ids", imp.records_without_ids.toLocaleString()),
    card("reads", imp.reads.toLocaleString())),
    h("p", { class: "muted" }, "Scope: ", imp.basis, ". ", imp.estimate_basis, imp.upper_bound_subjects !== undefined ? " Upper bound (same accounts and window, any source): " + imp.upper_bound_subjects + " people." : ""),
    h("p", {}, "First malicious access ", imp.first_access || "-", " · last ", imp.last_access || "-"),
    table(["Data category", "People"], Object.entries(imp.subjects_by_category).map(([c, n]) => h("tr", {}, h("td", {}, c), h("td", {}, n)))),
    h("h2", {}, "Indicators"), table(["Kind", "Value", "Reads"], [
      ...imp.iocs.source_ips.map(([v, n]) => h("tr", {}, h("td", {}, "source address"), h("td", {}, v), h("td", {}, n))),
      ...imp.iocs.user_agents.map(([v, n]) => h("tr", {}, h("td", {}, "user agent"), h("td", {}, v), h("td", {}, n))),
      ...imp.iocs.created_accounts.map((v) => h("tr", {}, h("td", {}, "account created"), h("td", {}, v), h("td", {}, ""))),
    ]),
    h("h2", {}, "Response actions"), actionsTable(r.actions));
  if (state.role === "dpo" || state.role === "admin") {
    const n = await api("GET", "/api/incidents/" + encodeURIComponent(id) + "/notifications");
    const pre = h("pre", { id: "draft" });
    const tabs = [["gdpr_art33", "GDPR Art. 33"], ["gdpr_art34", "GDPR Art. 34 letter"], ["nis2", "NIS2"]];
    const bar = h("div", { class: "actions tabs" });
    const show = (k) => { pre.textContent = n.markdown[k]; [...bar.children].forEach((b) => b.classList.toggle("active", b.dataset.k === k)); };
    tabs.forEach(([k, label]) => { const b = h("button", { onclick: () => show(k) }, label); b.dataset.k = k; bar.append(b); });
    m.append(h("h2", {}, "Notification drafts"), bar, pre,
      h("p", {}, h("a", { href: "/api/incidents/" + encodeURIComponent(id) + "/subjects.csv", download: "subjects-" + id + ".csv" }, "Export the pseudonymised subject list (CSV)")));
    show("gdpr_art33");
  } else {
    m.append(h("p", { class: "muted" }, "Notification drafts and the subject export are for the DPO and admins."));
  }
}

// Each live reload or refusal: when, what asked for it, and what changed
// (rules added, changed, removed, each with its author), or why it was refused.
function reloadsTable(rows) {
  const who = (l) => l.map((x) => x.id + (x.author ? " (" + x.author + ")" : "")).join(", ");
  const what = (d) => {
    if (!d) return "";
    if (d.errors) return "refused: " + d.errors.join("; ");
    const c = d.changes || {};
    const parts = [];
    for (const k of ["added", "changed", "removed"]) if (c[k] && c[k].length) parts.push(k + " " + who(c[k]) + (c[k + "_more"] ? " and " + c[k + "_more"] + " more" : ""));
    if (d.analytics_changed) parts.push("analytics settings");
    if (d.response_changed) parts.push("response policy");
    if (d.restart_needed && d.restart_needed.length) parts.push("needs a restart: " + d.restart_needed.join(", "));
    return parts.join("; ") || "no change";
  };
  if (!rows.length) return h("p", { class: "muted" }, "No reload since the store was created.");
  return table(["When", "By", "Result", "What changed"], rows.map((r) => h("tr", {}, h("td", {}, fmt(r.at_ms)), h("td", {}, r.by),
    h("td", {}, r.applied ? "applied" : "refused"), h("td", {}, what(r.detail)))));
}

async function rulesPage() {
  const d = await api("GET", "/api/rules");
  main().replaceChildren(h("h1", {}, "Rules"),
    h("div", { class: "cards", id: "rule-cards" }, card("rules loaded", d.loaded), card("correlations", d.correlations), card("rules rejected", d.rejected.length)),
    h("h2", {}, "Reloads"), h("div", { id: "reloads" }, reloadsTable(d.reloads || [])),
    h("h2", {}, "Hits"), table(["Rule", "Name", "Alerts", "Occurrences"], d.hits.map((x) => h("tr", {}, h("td", {}, x.id), h("td", {}, x.name), h("td", {}, x.alerts), h("td", {}, x.occurrences)))),
    h("h2", {}, "Rejected, with the reason"), table(["File", "Id", "Reason"], d.rejected.map((x) => h("tr", {}, h("td", {}, x.path), h("td", {}, x.id || ""), h("td", {}, x.reason)))),
    h("h2", {}, "Loaded"), table(["Id", "Title", "Level", "Author"], d.rules.slice(0, 500).map((x) => h("tr", {}, h("td", {}, x.id), h("td", {}, x.title), h("td", {}, lvl(x.level)), h("td", {}, x.author)))));
}

async function auditPage() {
  const d = await api("GET", "/api/audit");
  const v = d.verify;
  main().replaceChildren(h("h1", {}, "Audit log"),
    h("p", { id: "audit-status", class: v.ok ? "" : "error" }, v.ok ? "Chain intact: " + v.entries + " entries." : "Chain broken at entry " + v.broken_at + ": " + v.problem),
    table(["#", "When", "Who", "Action", "Target", "Detail"], d.entries.map((e) => h("tr", {}, h("td", {}, e.seq), h("td", {}, fmt(e.at_ms)), h("td", {}, e.actor), h("td", {}, e.action), h("td", {}, e.target), h("td", {}, e.detail)))));
}

async function route() {
  const hash = location.hash || "#/overview";
  const [path, query] = hash.slice(1).split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = Object.fromEntries(new URLSearchParams(query || ""));
  const pages = {
    overview: () => overview(),
    alerts: () => parts[1] ? alertPage(parts[1]) : alerts(params),
    accounts: () => accountPage(parts[1]),
    incidents: () => parts[1] ? incidentPage(parts[1]) : incidentsPage(),
    rules: () => rulesPage(),
    audit: () => auditPage(),
    mfa: () => mfaPage(),
  };
  const page = state.enrolOnly ? pages.mfa : (pages[parts[0]] || pages.overview);
  state.refresh = ["overview", "alerts", "incidents"].includes(parts[0]) && !parts[1] ? page : null;
  try { await page(); } catch (x) { if (state.csrf) main().append(h("p", { class: "error" }, x.message)); }
}

document.getElementById("logout").addEventListener("click", async () => {
  try { await api("POST", "/api/logout"); } catch (x) { /* already out */ }
  if (source) { source.close(); source = null; }
  showLogin("Signed out.");
});
window.addEventListener("hashchange", route);
(async () => {
  try { signedIn(await api("GET", "/api/session")); route(); } catch (x) { /* showLogin already called */ }
})();
