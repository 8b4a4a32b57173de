//! Generating the days: everyday work of every account, the attacks of the
//! scenarios, all merged in time order and written as JSON lines.

use crate::org::{Account, Archetype, Kind, Org, OrgEvent, Schedule, Shift, ip};
use crate::scenario;
use crate::truth::{Benign, Scenario, Truth};
use crate::write;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum What {
    Login {
        ok: bool,
    },
    /// A login with an API token (`api_token.authenticate`).
    Token {
        ok: bool,
    },
    Read {
        subject: u32,
    },
    Export {
        count: u32,
    },
    Reset {
        target: u32,
    },
    Create {
        target: u32,
    },
    Grant {
        target: u32,
    },
}

/// One event before it is written. `user` and targets index the account
/// table (the organisation's accounts, then accounts created during the run).
#[derive(Debug, Clone, Copy)]
pub struct Ev {
    pub ts: i64,
    pub user: u32,
    pub what: What,
    pub ip: u32,
    /// Browser index; 50+ the same browser one version older; 100+ attack
    /// tooling; 200+ a service job's client.
    pub agent: u16,
    /// City index, or 100+ for a foreign city.
    pub geo: u8,
    /// 0 for everyday work, else the scenario number (1-based).
    pub scenario: u8,
}

/// What to simulate. The organisation's archetype is given apart
/// (`simulate_as`; `simulate` is the agency), so that this stays
/// constructible field by field.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub accounts: usize,
    pub subjects: u32,
    pub days: u32,
    /// First day (a date); the organisation's time zone is Europe/Paris.
    pub start: jiff::civil::Date,
    /// Which attack scenarios to run (all when empty).
    pub scenarios: Vec<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            accounts: 2000,
            subjects: 10_000_000,
            days: 21,
            start: jiff::civil::date(2026, 3, 2),
            scenarios: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub events: u64,
    pub malicious_events: u64,
    pub accounts: usize,
    pub days: u32,
}

/// The clock of the simulation: local midnight of each day, in UTC ms.
pub struct Calendar {
    pub midnights: Vec<i64>,
    pub weekday0: u8,
    pub start: jiff::civil::Date,
}

impl Calendar {
    pub fn new(start: jiff::civil::Date, days: u32) -> Calendar {
        let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap_or(jiff::tz::TimeZone::UTC);
        let midnights = (0..=days as i64)
            .map(|d| {
                let date = start.checked_add(jiff::Span::new().days(d)).unwrap_or(start);
                tz.to_ambiguous_zoned_datetime(date.at(0, 0, 0, 0))
                    .compatible()
                    .map(|z| z.timestamp().as_millisecond())
                    .unwrap_or(0)
            })
            .collect();
        Calendar { midnights, weekday0: start.weekday().to_monday_zero_offset() as u8, start }
    }

    /// The day (from the start) a UTC ms falls in.
    pub fn day_of(&self, ts: i64) -> u32 {
        self.midnights.partition_point(|&m| m <= ts).saturating_sub(1) as u32
    }

    pub fn weekday(&self, day: u32) -> u8 {
        ((self.weekday0 as u32 + day) % 7) as u8
    }

    /// UTC ms of `minute` after local midnight of `day`.
    pub fn at(&self, day: u32, minute: f64) -> i64 {
        let d = day as usize;
        let m0 = self.midnights[d.min(self.midnights.len() - 1)];
        m0 + (minute * 60_000.0) as i64
    }
}

pub(crate) fn rng_for(seed: u64, a: u64, b: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(xxhash_rust::xxh3::xxh3_64(
        &[seed.to_le_bytes(), a.to_le_bytes(), b.to_le_bytes()].concat(),
    ))
}

/// Minutes from `from` to `to` at `rate` an hour: the arrival times of a
/// Poisson process.
pub(crate) fn arrivals(rng: &mut ChaCha8Rng, from: f64, to: f64, rate: f64, out: &mut Vec<f64>) {
    if rate <= 0.0 {
        return;
    }
    let mut t = from;
    loop {
        let u: f64 = rng.random_range(1e-9..1.0);
        t += -u.ln() * 60.0 / rate;
        if t >= to {
            break;
        }
        out.push(t);
    }
}

/// Where a person works on a day: at another site when travelling, at
/// home on remote days, for the portal's professionals at the office, at
/// home or on a mobile connection, else at the office (after any change of
/// egress). (address, city)
pub(crate) fn place(org: &Org, seed: u64, i: usize, day: u32, wd: u8) -> (u32, usize) {
    let a = &org.accounts[i];
    let mut rng = rng_for(seed ^ 0x706c_6163, i as u64, day as u64);
    match a.travel_day {
        Some((d, other)) if d == day => {
            (org.egress(other, org.accounts[other].office_ip, day), org.accounts[other].city)
        }
        _ if a.remote.contains(&wd) => (a.home_ip, a.city),
        _ if matches!(a.schedule, Schedule::Irregular { .. }) => match rng.random_range(0..10) {
            0..=3 => (org.egress(i, a.office_ip, day), a.city),
            4..=6 => (a.home_ip, a.city),
            _ if a.mobile => (ip(37, rng.random_range(160..176), rng.random(), rng.random_range(1..255)), a.city),
            _ => (a.home_ip, a.city),
        },
        _ => (org.egress(i, a.office_ip, day), a.city),
    }
}

/// The shift an account on a rota works on `day`.
pub fn shift(org_weekday0: u8, s: &Schedule, day: u32) -> Shift {
    match s {
        Schedule::Rota { pattern, offset, .. } if !pattern.is_empty() => {
            pattern[(org_weekday0 as u32 + day + offset) as usize % pattern.len()]
        }
        Schedule::Rota { .. } => Shift::Off,
        _ => Shift::Day,
    }
}

/// The usual working window (minutes after local midnight) of an account
/// on `day`, if it works then: what an attacker hiding in its hours uses.
pub fn usual_hours(org: &Org, cal: &Calendar, i: usize, day: u32) -> Option<(f64, f64)> {
    let a = &org.accounts[i];
    match &a.schedule {
        Schedule::Office | Schedule::Irregular { .. } => {
            (cal.weekday(day) < 5).then_some((a.start_min as f64, a.end_min as f64))
        }
        Schedule::Rota { windows, .. } => {
            let w = match shift(cal.weekday0, &a.schedule, day) {
                Shift::Off => return None,
                Shift::Day => windows[0],
                Shift::Evening => windows[1],
                Shift::Night => windows[2],
            };
            (w.1 > w.0).then_some((w.0 as f64, w.1 as f64))
        }
        Schedule::Nightly { .. } => Some((a.start_min as f64, a.start_min as f64 + 40.0)),
    }
}

/// One account's everyday work on one day.
fn benign_day(org: &Org, cal: &Calendar, i: usize, day: u32, seed: u64, out: &mut Vec<Ev>) {
    let a: &Account = &org.accounts[i];
    let mut rng = rng_for(seed, i as u64, day as u64);
    let wd = cal.weekday(day);
    if a.hired.is_some_and(|h| day < h) || a.leave.is_some_and(|(f, t)| day >= f && day < t) {
        return;
    }
    let user = i as u32;
    let ev = |ts: i64, what: What, ip: u32, geo: usize| Ev {
        ts,
        user,
        what,
        ip,
        agent: a.browser as u16,
        geo: geo as u8,
        scenario: 0,
    };
    if let Schedule::Nightly { jitter } = a.schedule {
        // The nightly job, from its server with its client and its token,
        // starting a little earlier or later each night.
        let t0 = a.start_min as f64 + rng.random_range(-jitter..jitter);
        let job = |ts: i64, what: What| Ev { agent: 200 + a.client as u16, ..ev(ts, what, a.office_ip, 0) };
        out.push(job(cal.at(day, t0), What::Token { ok: true }));
        for k in 0..20 {
            let c = rng.random_range(300..600);
            out.push(job(cal.at(day, t0 + 1.0 + k as f64 * 1.5), What::Export { count: c }));
        }
        return;
    }
    // On call (hospital doctors): some nights, a few reads from home.
    if a.on_call && rng.random_bool(0.25) {
        let t = rng.random_range(30.0..300.0);
        out.push(ev(cal.at(day, t), What::Login { ok: true }, a.home_ip, a.city));
        for k in 0..rng.random_range(1..7) {
            let subject = a.caseload.get(rng.random_range(0..a.caseload.len().max(1))).copied().unwrap_or(a.pool.0);
            let subject = if rng.random_bool(0.5) { subject } else { a.pool.0 + rng.random_range(0..a.pool.1.max(1)) };
            out.push(ev(
                cal.at(day, t + 1.0 + k as f64 * rng.random_range(0.5..4.0)),
                What::Read { subject },
                a.home_ip,
                a.city,
            ));
        }
    }
    // The day's working sessions (reads happen in `segments`).
    let mut segments: Vec<(f64, f64)> = Vec::new();
    let mut logins: Vec<f64> = Vec::new();
    match &a.schedule {
        Schedule::Office => {
            if wd >= 5 {
                return;
            }
            let start = a.start_min as f64 + rng.random_range(-10.0..15.0);
            let end = a.end_min as f64 + rng.random_range(-20.0..20.0);
            let lunch = 720.0 + rng.random_range(-15.0..30.0);
            let lunch_end = lunch + rng.random_range(45.0..80.0);
            logins.push(start);
            segments.push((start + 2.0, lunch));
            segments.push((lunch_end, end));
            if a.evening && rng.random_bool(0.3) {
                segments.push((1140.0, 1200.0));
            }
        }
        Schedule::Rota { .. } => {
            let Some((s, e)) = usual_hours(org, cal, i, day) else { return };
            let s = s + rng.random_range(-10.0..10.0);
            let e = e + rng.random_range(-10.0..15.0);
            let mid = (s + e) / 2.0 + rng.random_range(-30.0..30.0);
            logins.push(s);
            segments.push((s + 2.0, mid));
            segments.push((mid + rng.random_range(20.0..45.0), e));
        }
        Schedule::Irregular { p_active } => {
            let p = if wd >= 5 { p_active * 0.2 } else { *p_active };
            if !rng.random_bool(p.clamp(0.0, 1.0)) {
                return;
            }
            for _ in 0..rng.random_range(1..4) {
                let s = rng.random_range(450.0..1260.0);
                logins.push(s);
                segments.push((s + 1.0, s + rng.random_range(5.0..45.0)));
            }
        }
        Schedule::Nightly { .. } => return,
    }
    let (ip, geo) = place(org, seed, i, day, wd);
    let start = logins[0];
    // Typos at login.
    if rng.random_bool(0.03) {
        for k in 0..rng.random_range(1..3) {
            out.push(ev(cal.at(day, start - 1.0 + k as f64 * 0.3), What::Login { ok: false }, ip, geo));
        }
    }
    for &t in &logins {
        out.push(ev(cal.at(day, t), What::Login { ok: true }, ip, geo));
    }
    let end = segments.iter().map(|s| s.1).fold(start, f64::max);
    match a.kind {
        Kind::HelpDesk => {
            // Resets of genuine users, who log in from their usual place soon after.
            for _ in 0..rng.random_range(2..7) {
                let t = rng.random_range(start + 10.0..(end - 40.0).max(start + 11.0));
                let target = rng.random_range(0..org.accounts.len());
                let ta = &org.accounts[target];
                if !matches!(ta.kind, Kind::Adviser | Kind::Partner | Kind::Manager)
                    || ta.leave.is_some_and(|(f, to)| day >= f && day < to)
                    || ta.hired.is_some_and(|h| day < h)
                {
                    continue;
                }
                out.push(ev(cal.at(day, t), What::Reset { target: target as u32 }, ip, geo));
                let (tip, tgeo) = place(org, seed, target, day, wd);
                out.push(Ev {
                    ts: cal.at(day, t + rng.random_range(3.0..30.0)),
                    user: target as u32,
                    what: What::Login { ok: true },
                    ip: tip,
                    agent: ta.browser as u16,
                    geo: tgeo as u8,
                    scenario: 0,
                });
            }
            return;
        }
        Kind::Admin => {
            // New hires are created (and given their role) on their first day.
            for (j, h) in org.accounts.iter().enumerate() {
                if h.hired == Some(day) {
                    let t = start + rng.random_range(5.0..60.0);
                    out.push(ev(cal.at(day, t), What::Create { target: j as u32 }, ip, geo));
                    out.push(ev(cal.at(day, t + 1.0), What::Grant { target: j as u32 }, ip, geo));
                }
            }
            return;
        }
        _ => {}
    }
    let covering = a
        .covers
        .filter(|&c| org.accounts[c].leave.is_some_and(|(f, t)| day >= f && day < t))
        .map(|c| &org.accounts[c].caseload);
    let caseload = match &a.takeover {
        Some((from, fresh)) if day >= *from => fresh,
        _ => &a.caseload,
    };
    let rate = a.rate
        * if covering.is_some() { 1.3 } else { 1.0 }
        * org.surge(org.group_on(i, day), day)
        * rng.random_range(0.7..1.3);
    let mut times = Vec::new();
    for &(s, e) in &segments {
        arrivals(&mut rng, s, e, rate, &mut times);
    }
    // A new hire ramps up over the first days.
    let ramp = a.hired.map_or(1.0, |h| ((day - h + 1) as f64 / 4.0).min(1.0));
    for t in times {
        if !rng.random_bool(ramp) {
            continue;
        }
        let subject = match covering {
            Some(c) if !c.is_empty() && rng.random_bool(0.4) => c[rng.random_range(0..c.len())],
            _ if !caseload.is_empty() && rng.random_bool(a.caseload_share) => {
                caseload[rng.random_range(0..caseload.len())]
            }
            _ => a.pool.0 + rng.random_range(0..a.pool.1.max(1)),
        };
        out.push(ev(cal.at(day, t), What::Read { subject }, ip, geo));
    }
    if a.kind == Kind::Manager && matches!(a.schedule, Schedule::Office) {
        // The weekly export on Mondays, the monthly one on the first working day.
        if wd == 0 {
            out.push(ev(cal.at(day, start + 40.0), What::Export { count: rng.random_range(1500..4000) }, ip, geo));
        }
        let date = cal.start.checked_add(jiff::Span::new().days(day as i64)).unwrap_or(cal.start);
        if date.day() <= 3 && (date.day() == 1 || wd == 0) {
            out.push(ev(cal.at(day, start + 60.0), What::Export { count: rng.random_range(10_000..30_000) }, ip, geo));
        }
    }
}

/// Generate the whole simulation of an agency into `events` (JSON lines)
/// and return the ground truth.
pub fn simulate(
    cfg: &SimConfig,
    events: &mut dyn std::io::Write,
    progress: &dyn Fn(u32),
) -> std::io::Result<(Truth, Summary)> {
    simulate_as(cfg, Archetype::Agency, events, progress)
}

/// Generate the whole simulation of an organisation of `archetype`.
pub fn simulate_as(
    cfg: &SimConfig,
    archetype: Archetype,
    events: &mut dyn std::io::Write,
    progress: &dyn Fn(u32),
) -> std::io::Result<(Truth, Summary)> {
    let org = Org::build(cfg.seed, cfg.accounts, cfg.subjects, cfg.days, archetype);
    let cal = Calendar::new(cfg.start, cfg.days);
    let mut names: Vec<String> = org.accounts.iter().map(|a| a.name.clone()).collect();
    let plan = scenario::plan(&org, &cal, cfg, &mut names);
    let mut truth = Truth {
        seed: cfg.seed,
        archetype: archetype.name().into(),
        accounts: org.accounts.len(),
        subjects: cfg.subjects,
        days: cfg.days,
        start: cfg.start.to_string(),
        ..Truth::default()
    };
    truth.benign = benign_lookalikes(&org, &cal, cfg.days);
    let mut summary = Summary { events: 0, malicious_events: 0, accounts: org.accounts.len(), days: cfg.days };
    let mut acc: Vec<Acc> = plan.iter().map(|_| Acc::default()).collect();
    let mut buf = String::with_capacity(1 << 20);
    // Accounts created by attacks show the group and role of the first reader.
    let (fallback_group, fallback_role) =
        org.accounts.first().map_or(("agence-001", "advisor"), |a| (a.group.as_str(), a.role.as_str()));
    let mut day_events: Vec<Ev> = Vec::new();
    let mut carry: Vec<Ev> = Vec::new();
    for day in 0..cfg.days {
        day_events.clear();
        day_events.append(&mut carry);
        for i in 0..org.accounts.len() {
            benign_day(&org, &cal, i, day, cfg.seed, &mut day_events);
        }
        for s in &plan {
            s.day(&org, &cal, day, cfg.seed, &mut day_events);
        }
        day_events.sort_by_key(|e| (e.ts, e.user));
        // Night shifts run past midnight: what falls after it waits for the
        // next day's events (all is written after the last day).
        if day + 1 < cfg.days {
            let midnight = cal.at(day + 1, 0.0);
            let cut = day_events.partition_point(|e| e.ts < midnight);
            carry.extend(day_events.drain(cut..));
        }
        for e in &day_events {
            let ed = cal.day_of(e.ts);
            let (group, role) = match org.accounts.get(e.user as usize) {
                Some(a) => (org.group_on(e.user as usize, ed), a.role.as_str()),
                None => (fallback_group, fallback_role),
            };
            let target = match e.what {
                What::Reset { target } | What::Create { target } | What::Grant { target } => {
                    names[target as usize].as_str()
                }
                _ => "",
            };
            write::line(&mut buf, e, &names[e.user as usize], group, role, target);
            if buf.len() > (1 << 20) - 4096 {
                events.write_all(buf.as_bytes())?;
                buf.clear();
            }
            summary.events += 1;
            if e.scenario > 0 {
                summary.malicious_events += 1;
                let a = &mut acc[e.scenario as usize - 1];
                a.note(e, &names);
            }
        }
        progress(day + 1);
    }
    events.write_all(buf.as_bytes())?;
    events.flush()?;
    truth.events = summary.events;
    truth.scenarios = plan
        .iter()
        .zip(acc)
        .map(|(p, a)| Scenario {
            name: p.attack.name().into(),
            description: p.attack.description().into(),
            accounts: a.accounts,
            source_ips: a.ips,
            start: rfc3339(a.first),
            end: rfc3339(a.last),
            start_ms: a.first,
            end_ms: a.last,
            records_total: a.reads.iter().map(|r| r.1).sum(),
            subjects_exposed: a.subjects.len() as u64,
            reads: a.reads,
        })
        .collect();
    Ok((truth, summary))
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map(|t| format!("{t:.3}")).unwrap_or_default()
}

/// What one scenario did, gathered as its events are written.
#[derive(Default)]
struct Acc {
    accounts: Vec<String>,
    ips: Vec<String>,
    first: i64,
    last: i64,
    reads: Vec<(i64, u64, u8, u8)>,
    subjects: rustc_hash::FxHashSet<u32>,
}

impl Acc {
    fn note(&mut self, e: &Ev, names: &[String]) {
        // Events come in time order: the first one noted is the first.
        if self.last == 0 {
            self.first = e.ts;
        }
        self.last = self.last.max(e.ts);
        // The sprayed accounts are targets of failed logins, and the help
        // desk agent who was talked into a reset is a victim too: neither
        // is the attacker's account or address.
        if matches!(e.what, What::Reset { .. }) {
            return;
        }
        let name = &names[e.user as usize];
        if !matches!(e.what, What::Login { ok: false }) && !self.accounts.contains(name) {
            self.accounts.push(name.clone());
        }
        let ip = crate::org::ip_text(e.ip);
        if !self.ips.contains(&ip) {
            self.ips.push(ip.clone());
        }
        let who = self.accounts.iter().position(|a| a == name).unwrap_or(0) as u8;
        let from = self.ips.iter().position(|a| *a == ip).unwrap_or(0) as u8;
        match e.what {
            What::Read { subject } => {
                self.reads.push((e.ts, 1, who, from));
                self.subjects.insert(subject);
            }
            What::Export { count } => self.reads.push((e.ts, count as u64, who, from)),
            _ => {}
        }
    }
}

/// The organisation's caseload file (`account,subject_id`, docs/analytics.md):
/// the people each adviser, partner and manager follows, with the caseload
/// of the colleague they cover for during a leave (a delegation). Returns
/// the lines written.
pub fn write_caseload(cfg: &SimConfig, out: &mut dyn std::io::Write) -> std::io::Result<u64> {
    write_caseload_as(cfg, Archetype::Agency, out)
}

/// The caseload file of an organisation of `archetype` (a caseload taken
/// over during the run is listed too).
pub fn write_caseload_as(cfg: &SimConfig, archetype: Archetype, out: &mut dyn std::io::Write) -> std::io::Result<u64> {
    let org = Org::build(cfg.seed, cfg.accounts, cfg.subjects, cfg.days, archetype);
    let mut n = 0;
    writeln!(out, "account,subject_id")?;
    for a in &org.accounts {
        let covered = a.covers.map(|c| org.accounts[c].caseload.as_slice()).unwrap_or(&[]);
        let taken = a.takeover.as_ref().map(|t| t.1.as_slice()).unwrap_or(&[]);
        for s in a.caseload.iter().chain(covered).chain(taken) {
            writeln!(out, "{},{s}", a.name)?;
            n += 1;
        }
    }
    out.flush()?;
    Ok(n)
}

/// The everyday situations that look like attacks and must not raise high
/// alerts: exports, travel, new hires, covering, batch jobs, resets, a
/// caseload takeover, and the organisation-wide events of the run.
fn benign_lookalikes(org: &Org, cal: &Calendar, days: u32) -> Vec<Benign> {
    let end = cal.at(days, 0.0);
    let start = cal.at(0, 0.0);
    let pick = |f: &dyn Fn(&Account) -> bool| -> Vec<String> {
        org.accounts.iter().filter(|a| f(a)).map(|a| a.name.clone()).collect()
    };
    let mut out = vec![
        Benign {
            name: "manager exports (weekly, monthly)".into(),
            accounts: pick(&|a| a.kind == Kind::Manager),
            start_ms: start,
            end_ms: end,
        },
        Benign {
            name: "business travel".into(),
            accounts: pick(&|a| a.travel_day.is_some()),
            start_ms: start,
            end_ms: end,
        },
        Benign { name: "new hires".into(), accounts: pick(&|a| a.hired.is_some()), start_ms: start, end_ms: end },
        Benign {
            name: "covering a colleague on leave".into(),
            accounts: pick(&|a| a.covers.is_some()),
            start_ms: start,
            end_ms: end,
        },
        Benign {
            name: "batch jobs".into(),
            accounts: pick(&|a| a.kind == Kind::Service),
            start_ms: start,
            end_ms: end,
        },
        Benign {
            name: "help-desk resets of genuine users".into(),
            accounts: pick(&|a| a.kind == Kind::HelpDesk),
            start_ms: start,
            end_ms: end,
        },
    ];
    out.push(Benign {
        name: "caseload takeover".into(),
        accounts: pick(&|a| a.takeover.is_some()),
        start_ms: org.accounts.iter().find_map(|a| a.takeover.as_ref()).map_or(start, |t| cal.at(t.0, 0.0)),
        end_ms: end,
    });
    for e in &org.events {
        out.push(match e {
            OrgEvent::Egress { day, group, .. } => Benign {
                name: "change of egress address".into(),
                accounts: org
                    .accounts
                    .iter()
                    .filter(|a| a.kind != Kind::Service && group.as_ref().is_none_or(|g| &a.group == g))
                    .map(|a| a.name.clone())
                    .collect(),
                start_ms: cal.at(*day, 0.0),
                end_ms: end,
            },
            OrgEvent::Surge { day, days, group, .. } => Benign {
                name: "peer surge".into(),
                accounts: (0..org.accounts.len())
                    .filter(|&i| org.group_on(i, *day) == group)
                    .map(|i| org.accounts[i].name.clone())
                    .collect(),
                start_ms: cal.at(*day, 0.0),
                end_ms: cal.at(day + days, 0.0),
            },
            OrgEvent::Reorg { day, moves } => Benign {
                name: "reorganisation".into(),
                accounts: moves.iter().map(|(i, _)| org.accounts[*i].name.clone()).collect(),
                start_ms: cal.at(*day, 0.0),
                end_ms: end,
            },
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn cfg(seed: u64) -> SimConfig {
        SimConfig { seed, accounts: 300, subjects: 200_000, days: 14, ..SimConfig::default() }
    }

    fn run(arch: Archetype, seed: u64) -> (String, Truth) {
        let mut out = Vec::new();
        let (truth, _) = simulate_as(&cfg(seed), arch, &mut out, &|_| {}).unwrap();
        (String::from_utf8(out).unwrap(), truth)
    }

    /// Benign events (of the organisation's own accounts) as JSON values.
    fn parsed(text: &str) -> Vec<serde_json::Value> {
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    fn local(v: &serde_json::Value) -> jiff::civil::DateTime {
        jiff::tz::TimeZone::get("Europe/Paris").unwrap().to_datetime(ms_ts(v))
    }

    fn ms_ts(v: &serde_json::Value) -> jiff::Timestamp {
        v["@timestamp"].as_str().unwrap().parse().unwrap()
    }

    fn ms(v: &serde_json::Value) -> i64 {
        ms_ts(v).as_millisecond()
    }

    fn is_read(v: &serde_json::Value) -> bool {
        v["event"]["action"] == "beneficiary.view"
    }

    #[test]
    fn every_archetype_is_deterministic_per_seed_and_differs_between_seeds() {
        for arch in Archetype::ALL {
            let (a, ta) = run(arch, 1);
            let (b, tb) = run(arch, 1);
            assert_eq!(a, b, "{arch:?}");
            assert_eq!(ta, tb);
            assert_eq!(ta.archetype, arch.name());
            let (c, _) = run(arch, 2);
            assert_ne!(a, c, "{arch:?}: another seed, another organisation");
            // Events stay in time order, night shifts past midnight included.
            let mut last = String::new();
            for l in a.lines() {
                let ts = &l[14..38];
                assert!(*ts >= *last.as_str(), "{arch:?}: {ts} after {last}");
                last = ts.to_string();
            }
        }
    }

    #[test]
    fn archetypes_are_sharply_different_organisations() {
        let names = |arch| {
            let org = Org::build(1, 300, 200_000, 14, arch);
            (org.accounts.iter().map(|a| a.role.clone()).collect::<BTreeSet<_>>(), org.accounts.len())
        };
        let (agency, n) = names(Archetype::Agency);
        let (hospital, _) = names(Archetype::Hospital);
        assert_ne!(agency, hospital);
        assert!((280..=320).contains(&n), "{n} accounts");
        // Account naming differs between seeds (not always adv00042).
        let styles: BTreeSet<bool> = (1..12)
            .map(|s| Org::build(s, 300, 200_000, 14, Archetype::Agency).accounts[5].name.starts_with("adv"))
            .collect();
        assert_eq!(styles.len(), 2, "some seeds name accounts adv00042, others not");
    }

    #[test]
    fn hospital_shift_staff_read_at_night_and_at_weekends() {
        let org = Org::build(1, 300, 200_000, 14, Archetype::Hospital);
        let (text, _) = run(Archetype::Hospital, 1);
        let shift_staff: BTreeSet<String> = org
            .accounts
            .iter()
            .filter(|a| matches!(a.schedule, Schedule::Rota { .. }))
            .map(|a| a.name.clone())
            .collect();
        let (mut night, mut weekend) = (BTreeSet::new(), BTreeSet::new());
        for v in parsed(&text) {
            let user = v["user"]["name"].as_str().unwrap().to_string();
            if !is_read(&v) || !shift_staff.contains(&user) {
                continue;
            }
            let t = local(&v);
            if t.hour() >= 23 || t.hour() < 6 {
                night.insert(user.clone());
            }
            if t.date().weekday().to_monday_zero_offset() >= 5 {
                weekend.insert(user);
            }
        }
        assert!(night.len() > 20, "{} shift staff read at night", night.len());
        assert!(weekend.len() > 40, "{} shift staff read at weekends", weekend.len());
        // Not so in the agency: nobody reads there at 01:00-05:00 but the attacks.
        let (text, truth) = run(Archetype::Agency, 1);
        let attackers: BTreeSet<&String> = truth.scenarios.iter().flat_map(|s| &s.accounts).collect();
        let agency_night = parsed(&text)
            .iter()
            .filter(|v| is_read(v) && (1..5).contains(&local(v).hour()))
            .filter(|v| !attackers.contains(&v["user"]["name"].as_str().unwrap().to_string()))
            .count();
        assert_eq!(agency_night, 0);
    }

    #[test]
    fn callcentre_agents_read_many_distinct_people_a_day() {
        let org = Org::build(1, 300, 200_000, 14, Archetype::CallCentre);
        let (text, _) = run(Archetype::CallCentre, 1);
        let agents: BTreeSet<String> =
            org.accounts.iter().filter(|a| a.kind == Kind::Adviser).map(|a| a.name.clone()).collect();
        let mut per_day: BTreeMap<(String, jiff::civil::Date), (usize, BTreeSet<String>)> = BTreeMap::new();
        for v in parsed(&text) {
            let user = v["user"]["name"].as_str().unwrap().to_string();
            if is_read(&v) && agents.contains(&user) {
                let e = per_day.entry((user, local(&v).date())).or_default();
                e.0 += 1;
                e.1.insert(v["data_subject"]["ids"][0].as_str().unwrap().to_string());
            }
        }
        let mut distinct: Vec<usize> = per_day.values().map(|(_, s)| s.len()).collect();
        distinct.sort();
        let median = distinct[distinct.len() / 2];
        let reads: usize = per_day.values().map(|(n, _)| n).sum();
        let unique: usize = per_day.values().map(|(_, s)| s.len()).sum();
        assert!(median >= 60, "median {median} distinct people per agent-day");
        assert!(unique as f64 > 0.9 * reads as f64, "little repeat: {unique} of {reads}");
        // Agents work Saturdays and evenings.
        let sat = parsed(&text)
            .iter()
            .filter(|v| is_read(v) && local(v).date().weekday() == jiff::civil::Weekday::Saturday)
            .count();
        assert!(sat > 1000, "{sat} reads on Saturdays");
    }

    #[test]
    fn portal_professionals_have_idle_days() {
        let org = Org::build(1, 300, 200_000, 14, Archetype::Portal);
        let (text, _) = run(Archetype::Portal, 1);
        let pros: Vec<&Account> = org.accounts.iter().filter(|a| a.kind == Kind::Partner).collect();
        let mut days: BTreeMap<String, BTreeSet<jiff::civil::Date>> = BTreeMap::new();
        let mut ips: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for v in parsed(&text) {
            let user = v["user"]["name"].as_str().unwrap().to_string();
            if is_read(&v) {
                days.entry(user.clone()).or_default().insert(local(&v).date());
                ips.entry(user).or_default().insert(v["source"]["ip"].as_str().unwrap().to_string());
            }
        }
        // Active on some days, idle on most weekdays.
        let active: Vec<usize> = pros.iter().map(|a| days.get(&a.name).map_or(0, |d| d.len())).collect();
        let mean = active.iter().sum::<usize>() as f64 / active.len() as f64;
        assert!(mean < 7.0 && mean > 1.0, "mean active days {mean} of 14");
        assert!(active.iter().filter(|&&d| d > 0 && d < 10).count() > pros.len() / 2);
        // From several addresses (home, office, mobile).
        let multi = pros.iter().filter(|a| ips.get(&a.name).is_some_and(|s| s.len() >= 3)).count();
        assert!(multi > pros.len() / 5, "{multi} professionals from 3+ addresses");
    }

    #[test]
    fn service_jobs_authenticate_with_a_token_and_their_start_jitters() {
        for arch in Archetype::ALL {
            let org = Org::build(3, 300, 200_000, 14, arch);
            let (text, _) = run(arch, 3);
            let tokens: Vec<serde_json::Value> =
                text.lines().filter(|l| l.contains("api_token")).map(|l| serde_json::from_str(l).unwrap()).collect();
            for a in org.accounts.iter().filter(|a| a.kind == Kind::Service) {
                let starts: Vec<f64> = tokens
                    .iter()
                    .filter(|v| v["user"]["name"] == *a.name && v["event"]["action"] == "api_token.authenticate")
                    .filter(|v| v["source"]["ip"] == *crate::org::ip_text(a.office_ip))
                    .map(|v| {
                        let t = local(v);
                        assert_eq!(v["user_agent"]["original"], crate::org::JOB_CLIENTS[a.client]);
                        (t.hour() as f64 * 60.0 + t.minute() as f64 + 720.0) % 1440.0
                    })
                    .collect();
                assert!(starts.len() >= 14, "{arch:?} {}: {} nightly starts", a.name, starts.len());
                let spread =
                    starts.iter().cloned().fold(f64::MIN, f64::max) - starts.iter().cloned().fold(f64::MAX, f64::min);
                assert!(spread >= 10.0, "{arch:?} {}: start spread {spread} min", a.name);
                assert!(spread < 60.0, "{arch:?} {}: start spread {spread} min", a.name);
            }
        }
    }

    #[test]
    fn the_egress_change_and_the_reorganisation_appear_in_the_events() {
        let (mut egress, mut reorg) = (0, 0);
        for seed in 1..30 {
            let arch = Archetype::ALL[seed as usize % 4];
            let org = Org::build(seed, 300, 200_000, 14, arch);
            assert!((1..=2).contains(&org.events.len()), "one or two organisation-wide events");
            if org.events.iter().all(|e| matches!(e, OrgEvent::Surge { .. })) {
                continue;
            }
            let (text, truth) = run(arch, seed);
            let vs = parsed(&text);
            for e in &org.events {
                let cal = Calendar::new(cfg(seed).start, 14);
                match e {
                    OrgEvent::Egress { day, group, to, mask } => {
                        // Some account of the scope works from the old office before and the new one after.
                        let (i, a) = org
                            .accounts
                            .iter()
                            .enumerate()
                            .find(|(_, a)| {
                                a.kind == Kind::Adviser
                                    && a.remote.is_empty()
                                    && matches!(a.schedule, Schedule::Office | Schedule::Rota { .. })
                                    && group.as_ref().is_none_or(|g| &a.group == g)
                            })
                            .unwrap();
                        let new = crate::org::ip_text((to & mask) | (a.office_ip & !mask));
                        let old = crate::org::ip_text(a.office_ip);
                        assert_ne!(new, old);
                        let split = cal.at(*day, 0.0);
                        let from = |v: &serde_json::Value, ip: &str| {
                            v["user"]["name"] == *a.name && v["source"]["ip"] == ip && is_read(v)
                        };
                        let before = vs.iter().any(|v| from(v, &old) && ms(v) < split);
                        let after = vs.iter().any(|v| from(v, &new));
                        let old_after = vs.iter().any(|v| from(v, &old) && ms(v) >= split);
                        assert!(after && !old_after, "seed {seed} account {i}: {old} -> {new} on day {day}");
                        assert!(before || *day == 0 || a.leave.is_some() || a.hired.is_some());
                        assert!(truth.benign.iter().any(|b| b.name == "change of egress address"));
                        egress += 1;
                    }
                    OrgEvent::Reorg { day, moves } => {
                        assert!(moves.len() >= 10, "about 10% of 300 accounts move: {}", moves.len());
                        let split = cal.at(*day, 0.0);
                        let mut changed = 0;
                        for (i, g) in moves {
                            let a = &org.accounts[*i];
                            let groups = |after: bool| -> BTreeSet<String> {
                                vs.iter()
                                    .filter(|v| v["user"]["name"] == *a.name)
                                    .filter(|v| (ms(v) >= split) == after)
                                    .map(|v| v["user"]["group"]["name"].as_str().unwrap().to_string())
                                    .collect()
                            };
                            let (b, f) = (groups(false), groups(true));
                            assert!(b.iter().all(|x| *x == a.group), "{b:?}");
                            assert!(f.iter().all(|x| x == g), "{f:?}");
                            if !b.is_empty() && !f.is_empty() {
                                changed += 1;
                            }
                        }
                        assert!(changed > 0, "seed {seed}: user.group.name changes");
                        assert!(truth.benign.iter().any(|b| b.name == "reorganisation"));
                        reorg += 1;
                    }
                    OrgEvent::Surge { .. } => {}
                }
            }
            if egress >= 2 && reorg >= 2 {
                break;
            }
        }
        assert!(egress >= 2 && reorg >= 2, "{egress} egress changes, {reorg} reorganisations");
    }

    #[test]
    fn a_caseload_takeover_reads_new_people_at_normal_volume_from_the_usual_place() {
        let org = Org::build(5, 300, 200_000, 14, Archetype::Agency);
        let (text, truth) = run(Archetype::Agency, 5);
        let a = org.accounts.iter().find(|a| a.takeover.is_some()).unwrap();
        let (day, fresh) = a.takeover.clone().unwrap();
        assert!(truth.benign.iter().any(|b| b.name == "caseload takeover" && b.accounts == vec![a.name.clone()]));
        let cal = Calendar::new(cfg(5).start, 14);
        let split = cal.at(day, 0.0);
        let (mut before, mut after, mut new_people) = (0, 0, 0);
        for v in parsed(&text).iter().filter(|v| v["user"]["name"] == *a.name && is_read(v)) {
            let id: u32 = v["data_subject"]["ids"][0].as_str().unwrap().parse().unwrap();
            assert_eq!(v["user_agent"]["original"], crate::org::BROWSERS[a.browser]);
            if ms(v) < split {
                before += 1;
            } else {
                after += 1;
                new_people += fresh.contains(&id) as usize;
            }
        }
        assert!(after > 0 && new_people as f64 > 0.7 * after as f64, "{new_people} of {after}");
        let per_day = |n: usize, d: u32| n as f64 / d.max(1) as f64;
        assert!(per_day(after, 14 - day) < 3.0 * per_day(before, day).max(10.0), "{before} then {after}");
    }
}
