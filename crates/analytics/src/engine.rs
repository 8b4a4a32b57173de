//! The analytics engine: one `observe` per activity, in event order, on the
//! stateful stage. It keeps each account's state, closes its hours and days
//! as time moves on (learning baselines from them), and judges each act
//! against the account's habits and its peers'.

use crate::account::{Account, Fired, SERVICE_BY_NAME, SERVICE_BY_ROLE, SERVICE_BY_TOKEN, h32, service_reasons};
use crate::activity::{Act, Activity};
use crate::baseline::Baseline;
use crate::config::{AnalyticsConfig, ConfigError};
use crate::fusion::{self, Population};
use crate::geo;
use crate::signal::{Detection, Severity, Signal};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use vigie_alert::rfc3339;

const HOUR: i64 = 3_600_000;
/// How long a network first used by an account still counts as new to it.
const FRESH_MS: i64 = 24 * HOUR;
/// Active hours after which an hour the account never worked is telling
/// for its administrative acts (about a week of a working day's hours).
const HOURS_KNOWN: u32 = 40;
/// Two acts from different /24 networks this close are interleaved use.
const INTERLEAVE_MS: i64 = 15 * 60_000;
/// A peer group's baseline remembers more hours than one account's.
const PEER_HORIZON: u32 = 5_000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnalyticsStats {
    pub activities: u64,
    pub accounts_forgotten: u64,
    pub signals: BTreeMap<String, u64>,
}

/// The shared part of the state (accounts are stored one row each).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Shared {
    pub peers: BTreeMap<String, Baseline>,
    pub stats: AnalyticsStats,
    /// Event time of the first activity: the deployment's day one.
    #[serde(default)]
    pub deployed_at: Option<i64>,
    /// The deployment's account-hours by level of each fused feature.
    #[serde(default)]
    pub population: Population,
    /// Peer groups' people outside the caseload per active hour (only
    /// where a caseload file is given), keyed as `peers`.
    #[serde(default)]
    pub peers_outside: BTreeMap<String, Baseline>,
}

/// A peer group's current and previous hour: how many of its accounts were
/// active, and how many read beyond their own bounds. Many at once is the
/// organisation's doing (a campaign, a deadline), not an intruder's.
#[derive(Debug, Clone, Copy, Default)]
struct PeerHour {
    hour: i64,
    active: u32,
    deviating: u32,
    prev_active: u32,
    prev_deviating: u32,
}

impl PeerHour {
    fn roll(&mut self, hour: i64) {
        if hour != self.hour {
            let adjacent = hour == self.hour + 1;
            self.prev_active = if adjacent { self.active } else { 0 };
            self.prev_deviating = if adjacent { self.deviating } else { 0 };
            self.hour = hour;
            self.active = 0;
            self.deviating = 0;
        }
    }

    /// At least `SURGE_MIN` accounts and a quarter of those active deviate,
    /// this hour or the last, in a group of at least `SURGE_GROUP` active.
    fn surging(&self) -> bool {
        let hit = |dev: u32, act: u32| act >= SURGE_GROUP && dev >= SURGE_MIN && dev * 4 >= act;
        hit(self.deviating, self.active) || hit(self.prev_deviating, self.prev_active)
    }
}

const SURGE_MIN: u32 = 3;
const SURGE_GROUP: u32 = 8;
/// Entries at most in the short-lived memories built from the input (peer
/// groups' hours, networks new to several accounts).
const MAX_MEMO: usize = 100_000;
/// Peer groups learned at most (per measure). Group and role names come
/// from the input: a stream that invents one per event must not grow the
/// state without end. When full, a new group is not learned, and its
/// accounts are judged by the role in every group and by everyone.
const MAX_PEER_GROUPS: usize = 100_000;
/// Accounts a network must be new to within a day to be the organisation's.
const ORG_NET_ACCOUNTS: u32 = 6;

/// Whether what an alert compares with was learned: every analytic alert
/// says so, since on day one nothing is.
#[derive(Debug, Clone, Copy, Default)]
struct Learned {
    deployment: bool,
    account: bool,
    active_days: u16,
    active_hours: u32,
}

pub struct Analytics {
    /// Shared, so that the hot path can hold it while it mutates the state.
    cfg: std::sync::Arc<AnalyticsConfig>,
    /// The local calendar of the last hour seen (events come mostly in
    /// order, so the time-zone arithmetic runs once an hour, not per event).
    last_local: std::cell::Cell<(i64, Local)>,
    tz: jiff::tz::TimeZone,
    login_within: i64,
    read_within: i64,
    /// Boxed: the map's slots stay small, so growing it never copies (or
    /// briefly doubles) the accounts themselves.
    pub accounts: FxHashMap<String, Box<Account>>,
    pub peers: FxHashMap<String, Baseline>,
    /// Peer groups' people outside the caseload per active hour.
    pub peers_outside: FxHashMap<String, Baseline>,
    pub stats: AnalyticsStats,
    dirty: FxHashSet<String>,
    removed: Vec<String>,
    /// Accounts known before a restart whose saved state no longer reads:
    /// learned again from their next act, but not new to the deployment.
    relearning: FxHashSet<String>,
    caseload: crate::caseload::Caseload,
    pub deployed_at: Option<i64>,
    pub population: Population,
    /// Recent logins per source (spraying) and networks new to several
    /// accounts at once (the organisation's). Short-lived (hours), so they
    /// are not checkpointed: a restart forgets them, and they are written
    /// several times a second under load otherwise.
    pub sources_seen: crate::spray::Sources,
    spray_window: i64,
    /// What the account being judged has learned (for the evidence).
    learned: Learned,
    peer_hours: FxHashMap<String, PeerHour>,
    pub org_nets: FxHashMap<u32, (u32, i64)>,
}

/// Local calendar facts of an hour.
#[derive(Debug, Clone, Copy)]
struct Local {
    day: i64,
    /// UTC ms of the local midnight that starts `day`.
    midnight: i64,
    slot: u8,
    night: bool,
    weekend: bool,
}

impl Analytics {
    pub fn new(cfg: AnalyticsConfig) -> Result<Analytics, ConfigError> {
        let tz = jiff::tz::TimeZone::get(&cfg.timezone)
            .map_err(|e| ConfigError::Invalid { field: "timezone", message: e.to_string() })?;
        let dur = |field: &'static str, s: &str| {
            vigie_alert::duration_ms(s).map_err(|e| ConfigError::Invalid { field, message: e.to_string() })
        };
        let caseload =
            crate::caseload::Caseload::load(cfg.caseload.accounts.as_deref(), cfg.caseload.subjects.as_deref())?;
        Ok(Analytics {
            caseload,
            login_within: dur("takeover.login_within", &cfg.takeover.login_within)?,
            spray_window: dur("spray.window", &cfg.spray.window)?,
            deployed_at: None,
            population: Population::default(),
            sources_seen: crate::spray::Sources::default(),
            learned: Learned::default(),
            peer_hours: FxHashMap::default(),
            org_nets: FxHashMap::default(),
            read_within: dur("takeover.read_within", &cfg.takeover.read_within)?,
            cfg: std::sync::Arc::new(cfg),
            last_local: std::cell::Cell::new((
                i64::MIN,
                Local { day: 0, midnight: 0, slot: 0, night: false, weekend: false },
            )),
            tz,
            accounts: FxHashMap::default(),
            peers: FxHashMap::default(),
            peers_outside: FxHashMap::default(),
            stats: AnalyticsStats::default(),
            dirty: FxHashSet::default(),
            removed: Vec::new(),
            relearning: FxHashSet::default(),
        })
    }

    fn local(&self, ts: i64) -> Local {
        let hour = ts.div_euclid(HOUR);
        let (h, l) = self.last_local.get();
        if h == hour {
            return l;
        }
        let l = self.local_uncached(ts);
        self.last_local.set((hour, l));
        l
    }

    fn local_uncached(&self, ts: i64) -> Local {
        let t = jiff::Timestamp::from_millisecond(ts).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let dt = self.tz.to_datetime(t);
        let wd = dt.weekday().to_monday_zero_offset() as i64;
        let h = dt.hour() as i64;
        let offset = self.tz.to_offset(t).seconds() as i64 * 1000;
        let day = (ts + offset).div_euclid(24 * HOUR);
        Local {
            day,
            midnight: day * 24 * HOUR - offset,
            slot: (wd * 24 + h) as u8,
            night: !(7..20).contains(&h),
            weekend: wd >= 5,
        }
    }

    /// Judge one activity; findings are appended to `out`.
    pub fn observe(&mut self, a: &Activity, out: &mut Vec<Signal>) {
        if !self.cfg.enabled {
            return;
        }
        self.stats.activities += 1;
        let hour = a.ts.div_euclid(HOUR);
        let local = self.local(a.ts);
        self.target(&a.user, a.ts);
        let cfg = self.cfg.clone();
        let (key, mut acct) = self.accounts.remove_entry(&a.user).unwrap_or_else(|| (a.user.clone(), Box::default()));
        let deployed = *self.deployed_at.get_or_insert(a.ts);
        if hour > acct.hour {
            self.close_hour(&mut acct);
            acct.hour = hour;
            acct.slot = local.slot;
            if local.day != acct.day {
                self.close_day(&mut acct);
                acct.day = local.day;
                // The day's first act: when the account starts its day (or
                // its job), learned to know the schedule's jitter.
                let minute = ((a.ts - local.midnight) / 60_000) as f32;
                let m = &acct.base_start;
                let minute = if m.n > 0 && minute - m.mean > 720.0 {
                    minute - 1440.0
                } else if m.n > 0 && m.mean - minute > 720.0 {
                    minute + 1440.0
                } else {
                    minute
                };
                acct.base_start.learn(minute, cfg.warmup.days, cfg.warmup.horizon);
            }
        }
        acct.last_seen = acct.last_seen.max(a.ts);
        // A service account, by its name, its role, or how it authenticates.
        let by_name = cfg.service.prefixes.iter().any(|p| a.user.starts_with(p.as_str()));
        acct.service_by |= (if by_name { SERVICE_BY_NAME } else { 0 })
            | (if a.service_role { SERVICE_BY_ROLE } else { 0 })
            | (if a.token_auth { SERVICE_BY_TOKEN } else { 0 });
        acct.service = acct.service_by != 0;
        if let (Some(g), r) = (&a.group, &a.role) {
            let key = format!("{g}/{}", r.as_deref().unwrap_or("-"));
            if acct.peer.as_deref() != Some(&key) {
                acct.peer = Some(key);
            }
        }
        let mature = acct.active_days as u32 >= cfg.warmup.days;
        self.learned = Learned {
            deployment: a.ts - deployed >= cfg.warmup.deployment_days as i64 * 24 * HOUR,
            account: mature && acct.base_hour.warm(cfg.warmup.hours),
            active_days: acct.active_days,
            active_hours: acct.active_hours,
        };
        // The schedule: judged on the hour's first act, before it is learned.
        if !acct.hour_active {
            acct.hour_active = true;
            // Unusual: a night hour the account rarely works on any day, or a
            // weekend when it rarely works weekends at all.
            let total = acct.active_hours.max(1) as f32;
            let hour = acct.slot as usize % 24;
            let share_of = |h: usize| (0..7).map(|d| acct.week[d * 24 + h % 24] as f32).sum::<f32>() / total;
            let hour_share = share_of(hour);
            // Schedules jitter: hours within the account's own spread of its
            // day's start count as its hours (a nightly job that starts 20
            // minutes late is still the nightly job).
            let tolerance = schedule_tolerance(&acct.base_start, acct.service);
            let near_share = (hour + 24 - tolerance..=hour + 24 + tolerance).map(share_of).fold(0.0f32, f32::max);
            let weekend_share = acct.week[5 * 24..].iter().map(|&c| c as f32).sum::<f32>() / total;
            let rare = cfg.off_hours.rare_share;
            // Weekends are judged once a whole week has been seen.
            let week_seen = a.ts - acct.first_seen >= 7 * 24 * HOUR;
            // A service account keeps to its schedule: any hour it never
            // works is unusual, night or day.
            let unusual = ((local.night || acct.service) && near_share < rare)
                || (local.weekend && week_seen && weekend_share < rare);
            // A service account keeps to its schedule from its third day.
            let judged = mature || (acct.service && acct.active_days >= 2);
            acct.fired.off_hours = !(judged && unusual);
            acct.hour_time = if mature {
                let weekend = local.weekend && week_seen;
                let share = if weekend { hour_share.min(weekend_share) } else { hour_share };
                fusion::time_level(share, share == 0.0)
            } else {
                0
            };
            acct.week[acct.slot as usize] = acct.week[acct.slot as usize].saturating_add(1);
            acct.active_hours += 1;
        }
        self.sources(&mut acct, a, mature, out);
        match &a.act {
            Act::Read { subjects, records } => self.read(&mut acct, a, subjects, *records, &local, out),
            Act::Reset { target } => {
                // A self-service reset acts on the account at hand (out of
                // the map while it is judged): set there, not on a fresh
                // entry that would be overwritten.
                let t = if *target == a.user { &mut *acct } else { self.target(target, a.ts) };
                t.reset_at = Some(a.ts);
                t.new_source_after_reset = None;
            }
            Act::Create { target } => {
                // Created from a strange place (see `iam_from_strange_place`),
                // or as the creator's first creation at an hour it (almost)
                // never works: the new account carries that suspicion into its
                // first reads. (A first creation in office hours is a new
                // duty; an administrator's usual creations are not strange
                // at any hour.)
                let odd_first = acct.creations == 0 && Self::odd_hour(&acct, 3);
                let strange = mature && (self.iam_from_strange_place(&acct, a) || odd_first);
                let t = self.target(target, a.ts);
                t.created_at = Some(a.ts);
                t.created_strangely |= strange;
                acct.creations += 1;
                if acct.creations == 1 && mature {
                    self.first_iam(out, Detection::RareAccountCreation, "created account", &acct, a, target);
                } else if mature {
                    self.iam_from_new_source(out, "created account", &acct, a, target);
                }
            }
            Act::Grant { target } => {
                acct.grants += 1;
                if acct.grants == 1 && mature {
                    self.first_iam(out, Detection::RarePrivilegeGrant, "changed the privileges of", &acct, a, target);
                } else if mature {
                    self.iam_from_new_source(out, "changed the privileges of", &acct, a, target);
                }
            }
            Act::Login { .. } | Act::Other => {}
        }
        self.accounts.insert(key, acct);
    }

    /// An IAM act (`what`) that an account with a history never did before.
    fn first_iam(
        &mut self,
        out: &mut Vec<Signal>,
        d: Detection,
        what: &str,
        acct: &Account,
        a: &Activity,
        target: &str,
    ) {
        // A first from the account's usual networks is a new duty, perhaps
        // (even at an odd hour: administrators create accounts early and
        // late); from a strange place (a new network, and an odd hour or a
        // new client), it is graver.
        let new_network = self.iam_new_network(acct, a);
        let strange = new_network && Self::odd_for_iam(acct);
        let reason = format!(
            "{} {what} {target}, a first in its {} active days{}.",
            a.user,
            acct.active_days,
            if strange {
                ", from a network new to it, at an hour it rarely works or from a provider and a client it never used"
            } else if new_network {
                ", from a network new to it (at its usual hours, with its usual client)"
            } else {
                ""
            }
        );
        let ev = json!({"target": target, "before": 0, "active_days": acct.active_days,
                        "new_network": new_network, "strange_place": strange,
                        "rare_hour": acct.hour_time >= 3, "time_level": acct.hour_time, "ip": acct.hour_access_ip});
        self.emit(out, d, if strange { Severity::High } else { Severity::Medium }, a, reason, ev);
    }

    /// Whether an administrative act comes from a network new to the actor
    /// today (the /24 of the hour's new source) and to no other account
    /// (not the organisation's new egress).
    fn iam_new_network(&self, acct: &Account, a: &Activity) -> bool {
        let same_net = match (&acct.hour_access_ip, &a.ip) {
            (Some(new), Some(ip)) => slash24(new) == slash24(ip),
            _ => false,
        };
        acct.new_network_this_hour() && same_net && !self.shared_new_network(a.ip.as_deref(), a.ts)
    }

    /// Whether an administrative act comes from a strange place: a new
    /// network (see [`Self::iam_new_network`]) at an hour the actor rarely
    /// works (under 2% of its active hours), or from a provider and a
    /// client both new to it. From a new network at its usual hours with
    /// its usual client is how an administrator's day starts after a move
    /// (a new office, the egress of its site changed).
    fn iam_from_strange_place(&self, acct: &Account, a: &Activity) -> bool {
        self.iam_new_network(acct, a) && Self::odd_for_iam(acct)
    }

    /// What makes a new network strange for an administrative act: an hour
    /// the actor rarely works, or a provider and a client both new to it.
    fn odd_for_iam(acct: &Account) -> bool {
        acct.hour_time >= 2 || acct.hour_access >= 6
    }

    /// Whether the hour is at least at `level` of rarity for the account
    /// (see [`fusion::time_level`]), once enough of its hours are known
    /// for "an hour it never works" to mean something on its own: after a
    /// few days of a few hours each, most hours of the week were never
    /// seen. (With a new network beside it, the hour needs no such floor.)
    fn odd_hour(acct: &Account, level: u8) -> bool {
        acct.active_hours >= HOURS_KNOWN && acct.hour_time >= level
    }

    /// An administrator's usual act (not its first: see [`Self::first_iam`])
    /// from a strange place: accounts made or empowered from an unfamiliar
    /// place are how an intruder holding an administrator's credentials
    /// stays. Each such act is reported (an intruder makes several; in the
    /// risk score each repeat adds less than the one before).
    fn iam_from_new_source(&mut self, out: &mut Vec<Signal>, what: &str, acct: &Account, a: &Activity, target: &str) {
        if !self.iam_from_strange_place(acct, a) {
            return;
        }
        let reason = format!(
            "{} {what} {target} from {}, a network it first used within the day (it has done so before, from its usual networks).",
            a.user,
            a.ip.as_deref().unwrap_or("?"),
        );
        let ev = json!({"target": target, "ip": a.ip, "creations": acct.creations, "grants": acct.grants,
                        "active_days": acct.active_days, "time_level": acct.hour_time,
                        "new_provider_and_client": acct.hour_access >= 6});
        self.emit(out, Detection::IamFromNewSource, Severity::High, a, reason, ev);
    }

    /// The account named (created if new, first seen at `ts`), marked as
    /// changed for the next checkpoint: the acting account, or the one an
    /// IAM event acts upon.
    fn target(&mut self, name: &str, ts: i64) -> &mut Account {
        let new = !self.accounts.contains_key(name);
        if new {
            self.make_room();
        }
        if !self.dirty.contains(name) {
            self.dirty.insert(name.to_string());
        }
        let hour = ts.div_euclid(HOUR);
        let local = self.local(ts);
        let relearned = new && !self.relearning.is_empty() && self.relearning.remove(name);
        self.accounts.entry(name.to_string()).or_insert_with(|| {
            Box::new(Account {
                first_seen: ts,
                relearned,
                last_seen: ts,
                hour,
                day: local.day,
                slot: local.slot,
                week: vec![0; 168],
                ..Account::default()
            })
        })
    }

    fn close_hour(&mut self, acct: &mut Account) {
        if acct.hour_reads > 0 {
            self.learn_hour(acct);
        }
        Self::reset_hour(acct);
    }

    /// Learn a closed hour with reads: the deployment's fusion population,
    /// the account's baselines and its peers'.
    fn learn_hour(&mut self, acct: &mut Account) {
        let w = &self.cfg.warmup;
        let (peer, _) = self.peer_of(acct);
        if acct.active_days as u32 >= w.days {
            let levels = self.levels(acct, &peer, acct.hour_distinct.estimate() as f32);
            let (score, _) = self.population.score(levels, self.cfg.fusion.cap);
            self.population.learn(levels, score.max(acct.hour_fused));
        }
        let x = acct.hour_distinct.estimate() as f32;
        // Until the account's own habit is learned, an hour is learned at
        // most at the bound it was judged by: an intruder on a new account
        // cannot teach vigie, in its first hours, that hundreds of people an
        // hour is its habit. (Once warm, the baseline clips by itself.)
        let own = if acct.base_hour.warm(w.hours) { x } else { x.min(hour_bound(&acct.base_hour, &peer, &self.cfg).0) };
        acct.base_hour.learn(own, w.hours, w.horizon);
        // Nor its peers: an hour that was alarming (high or above) is not
        // learned by any peer group.
        let min = self.cfg.distinct.peer_min;
        if acct.fired.distinct < 2 {
            for k in peer_keys(acct) {
                learn_peer(&mut self.peers, k, x, min);
            }
        }
        acct.base_records.learn(acct.hour_records as f32, w.hours, w.horizon);
        acct.base_new.learn(acct.hour_new as f32, w.hours, w.horizon);
        // Reads outside the caseload: learned as the volume is, at most at
        // the bound judged by until the account's own habit is warm, and
        // never from an hour that was alarming (high or above).
        if !self.caseload.is_empty() && acct.hour_judged {
            let x = acct.hour_outside as f32;
            let bound = self.outside_bound(acct).0;
            let own = if acct.base_outside.warm(w.hours) { x } else { x.min(bound) };
            acct.base_outside.learn(own, w.hours, w.horizon);
            // Judged by the level before any cap: an account still in its
            // warm-up is only ever medium, but an hour at twice the bound
            // must not teach its peers either.
            if x < 2.0 * bound {
                for k in peer_keys(acct) {
                    learn_peer(&mut self.peers_outside, k, x, min);
                }
            }
        }
    }

    /// The bound of an account's people outside the caseload in an hour,
    /// and its basis: its own hours once known, else its peers', else the
    /// floor `caseload.min_outside` (judged then at most medium: nothing
    /// says yet how often this organisation reads outside its files).
    /// With its basis and the reference's usual count an hour.
    fn outside_bound(&self, acct: &Account) -> (f32, &'static str, f32) {
        let c = &self.cfg.caseload;
        let (peer, _) = self.peer_in(&self.peers_outside, acct);
        let floor = c.min_outside.max(1) as f32;
        judged_bound(&acct.base_outside, &peer, c.k, floor, floor, &self.cfg)
    }

    /// Start the account's next hour from nothing.
    fn reset_hour(acct: &mut Account) {
        acct.hour_distinct = Default::default();
        acct.hour_records = 0;
        acct.hour_reads = 0;
        acct.hour_new = 0;
        acct.hour_outside = 0;
        acct.hour_judged = false;
        acct.hour_active = false;
        acct.hour_access = 0;
        acct.hour_time = 0;
        acct.hour_access_ip = None;
        acct.hour_fused = 0.0;
        acct.hour_switches = 0;
        acct.hour_deviating = false;
        acct.fired = Fired { distinct_day: acct.fired.distinct_day, ..Fired::default() };
    }

    fn close_day(&mut self, acct: &mut Account) {
        let x = acct.day_distinct.estimate() as f32;
        if x > 0.0 {
            acct.base_day.learn(x, self.cfg.warmup.days, self.cfg.warmup.horizon);
        }
        acct.active_days = acct.active_days.saturating_add(1);
        acct.day_distinct = Default::default();
        acct.fired.distinct_day = 0;
    }

    fn sources(&mut self, acct: &mut Account, a: &Activity, mature: bool, out: &mut Vec<Signal>) {
        let cfg = self.cfg.clone();
        let cap = cfg.sources.remember;
        let success = matches!(a.act, Act::Login { success: true } | Act::Read { .. });
        // An administrator's creation, grant or reset (only successful ones
        // reach here) came from its source too: it counts for how strange
        // the hour's access is, so that accounts created an hour after a
        // login from a new network are created from it. It teaches nothing
        // (an IAM log may name a server rather than the actor's client) and
        // takes no part in journeys, interleaving or spraying.
        let administers = matches!(a.act, Act::Create { .. } | Act::Grant { .. } | Act::Reset { .. });
        // Whether this use came from a network the account already had: the
        // leg of an impossible journey that returns to the owner's usual
        // place names no new source to block.
        let mut known_network = false;
        if let Some(ip) = &a.ip {
            if matches!(a.act, Act::Login { .. }) || (success && !self.sources_seen.by_ip.is_empty()) {
                self.spraying(acct, a, ip, success, out);
            }
            let net = slash24(ip);
            let wide = slash16(ip);
            let net_h = h32(&net);
            let (new_ip, mut new_net) = (!acct.ips.contains(h32(ip)), !acct.nets.contains(net_h));
            let new_agent = a.user_agent.as_ref().is_some_and(|u| !acct.agents.contains(h32(u)));
            let mut new_country = a.country.as_ref().is_some_and(|c| !acct.countries.contains(h32(c)));
            // Only judged once the account's own network owners are known.
            let mut new_asn = a.asn.is_some_and(|n| !acct.asns.is_empty() && !acct.asns.contains(n));
            // A network new to many accounts within a day is the
            // organisation's (a new egress, a new proxy), not an intruder's.
            if new_net && success && !acct.nets.is_empty() && self.org_network(net_h, a.ts) {
                new_net = false;
                new_asn = false;
                new_country = false;
            }
            // A new /24 of a provider the account already uses (a known /16
            // or autonomous system) is less strange than a new provider.
            let known_owner =
                if a.asn.is_some() && !acct.asns.is_empty() { !new_asn } else { acct.wide.contains(wide) };
            let new_provider = new_country || new_asn || (new_net && !known_owner);
            let known_before = !acct.nets.is_empty();
            known_network = known_before && !new_net;
            // Minutes since the account's last act from a settled network
            // (not one first used within the day) other than this one.
            let mut in_use_elsewhere = None;
            if success {
                // Interleaved use: this act from another /24 than the act
                // just before, minutes apart.
                let (last, at) = acct.last_net;
                if last != 0 && last != net_h && (0..=INTERLEAVE_MS).contains(&a.ts.saturating_sub(at)) {
                    acct.hour_switches = acct.hour_switches.saturating_add(1);
                    // Only the latest network first used within the day is
                    // remembered: an older one counts as settled.
                    let settled = acct.fresh.0 != last || at.saturating_sub(acct.fresh.1) >= FRESH_MS;
                    if settled {
                        in_use_elsewhere = Some(a.ts - at);
                    }
                }
                acct.last_net = (net_h, a.ts);
            }
            // Judged from the account's first known source on: until it is
            // mature only as corroboration (the fusion waits for maturity).
            if (success || administers) && known_before {
                let mut access = fusion::access_level(new_ip, new_net, new_agent, new_provider);
                // A network stays fresh for a day after its first use: the
                // hours after an intruder's first one are as strange.
                if access >= 3 {
                    acct.fresh = (net_h, a.ts, access);
                } else if acct.fresh.0 == net_h && a.ts.saturating_sub(acct.fresh.1) < FRESH_MS {
                    access = access.max(acct.fresh.2);
                }
                if access > acct.hour_access {
                    acct.hour_access = access;
                    if access >= 3 {
                        acct.hour_access_ip = Some(ip.clone());
                    }
                }
            }
            // A service account works from fixed servers: its sources are
            // judged from its second active day, not after the warm-up.
            let judged = mature || (acct.service && acct.active_days >= 1);
            if cfg.sources.enabled && success && known_before && judged && (new_net || new_country || new_asn) {
                let mut level = if new_country || new_asn || new_agent { Severity::Medium } else { Severity::Low };
                // A provider and a client the account never used, minutes
                // after it worked from its usual network: the credentials in
                // a second pair of hands while the owner is at its desk
                // (stolen credentials tried in office hours, a phished
                // session). The owner moving house and machine within
                // minutes is rare; this is judged at the login, before the
                // first read.
                let concurrent = in_use_elsewhere.filter(|_| new_provider && new_agent && !acct.service);
                if concurrent.is_some() {
                    level = Severity::High;
                }
                if acct.service {
                    // A service account works from fixed servers with a fixed
                    // client: a new provider and a new client is its token
                    // in someone else's hands.
                    level = if new_provider && new_agent { Severity::Critical } else { Severity::High };
                }
                let what: Vec<&str> = [
                    (new_net, "network"),
                    (new_ip, "address"),
                    (new_asn, "autonomous system"),
                    (new_agent, "user agent"),
                    (new_country, "country"),
                ]
                .iter()
                .filter(|(b, _)| *b)
                .map(|(_, s)| *s)
                .collect();
                let mut reason = format!(
                    "{}{} used from {ip} (new {}) after {} active days from {} known networks.",
                    if acct.service { "Service account " } else { "" },
                    a.user,
                    what.join(", "),
                    acct.active_days,
                    acct.nets.len()
                );
                if let Some(gap) = concurrent {
                    reason += &format!(
                        " It was in use from one of its usual networks {} before: two people may be using it.",
                        human(gap)
                    );
                }
                let ev = json!({"new": what, "ip": ip, "network": net, "user_agent": a.user_agent,
                                "country": a.country, "asn": a.asn, "known_networks": acct.nets.len(), "active_days": acct.active_days,
                                "new_provider": new_provider, "service_account": acct.service,
                                "in_use_elsewhere_ms_before": concurrent,
                                "service_by": service_reasons(acct.service_by)});
                self.emit(out, Detection::NewSource, level, a, reason, ev);
            }
            // After a password reset, the first successful login is the one
            // that used the new password: from a known place it was the
            // owner; from a new one, possibly whoever asked for the reset.
            if matches!(a.act, Act::Login { success: true })
                && let Some(r) = acct.reset_at
                && a.ts >= r
                && acct.new_source_after_reset.is_none()
            {
                // Needs no baseline beyond a first known source: a reset and
                // a login from elsewhere is judged from the first day.
                if known_before && (new_net || new_agent) && a.ts - r <= self.login_within {
                    // Only a new network arms the takeover path: a new client
                    // on the account's own network is the owner's updated
                    // browser as often as not, and the owner has the new
                    // password now. Worth a look, and the story ends there.
                    if new_net {
                        acct.new_source_after_reset = Some(a.ts);
                    } else {
                        acct.reset_at = None;
                    }
                    // A provider (or country) and a client both new to the
                    // account: three novelties at once, the first step of
                    // the France Travail path as it can be seen, hours
                    // before the harvest. High, so that it is looked at
                    // now; the harvest that follows is what contains.
                    let stranger = new_net && new_agent && new_provider;
                    let reason = format!(
                        "{} logged in from {ip} ({}) {} after its password was reset.",
                        a.user,
                        if stranger {
                            "a provider and a client it never used"
                        } else if new_net {
                            "a new source"
                        } else {
                            "a new client, from a network it uses"
                        },
                        human(a.ts - r)
                    );
                    let ev = json!({"reset_at": rfc3339(r), "login_at": rfc3339(a.ts), "ip": ip, "network": net,
                                    "user_agent": a.user_agent, "new_network": new_net,
                                    "new_provider": new_provider, "new_user_agent": new_agent});
                    let level = if stranger { Severity::High } else { Severity::Medium };
                    self.emit(out, Detection::ResetThenNewSource, level, a, reason, ev);
                } else {
                    acct.reset_at = None;
                }
            }
            if success {
                acct.ips.add(h32(ip), cap);
                acct.nets.add(net_h, cap);
                acct.wide.add(wide, cap);
                if let Some(u) = &a.user_agent {
                    acct.agents.add(h32(u), cap);
                }
                if let Some(n) = a.asn {
                    acct.asns.add(n, cap);
                }
                if let Some(c) = &a.country {
                    acct.countries.add(h32(c), cap);
                }
            }
        }
        if let Some((lat, lon)) = a.location.filter(|_| success) {
            if let Some((t0, la0, lo0)) = acct.last_geo
                && a.ts > t0
            {
                let d = geo::km((la0 as f64, lo0 as f64), (lat, lon));
                let hours = (a.ts - t0) as f64 / HOUR as f64;
                let speed = d / hours.max(1.0 / 60.0);
                if d >= self.cfg.travel.min_km && speed > self.cfg.travel.max_kmh {
                    let reason = format!(
                        "{} was used {:.0} km apart within {}: {:.0} km/h, faster than any flight.",
                        a.user,
                        d,
                        human(a.ts - t0),
                        speed
                    );
                    let ev = json!({"distance_km": d.round(), "speed_kmh": speed.round(), "from": {"lat": la0, "lon": lo0, "at": rfc3339(t0)},
                                    "to": {"lat": lat, "lon": lon, "at": rfc3339(a.ts)}, "ip": a.ip, "country": a.country,
                                    "known_network": known_network});
                    // Within one country, address locations are often a
                    // provider's registered city, not the person's: medium.
                    // Across borders the error is rarer: high.
                    let same_country = a.country.is_some() && acct.last_country == a.country.as_deref().map(h32);
                    // The way back to where a journey reported within the
                    // day had started is that journey's end, not news: the
                    // owner, back at its desk.
                    let (ola, olo) = acct.travel_origin;
                    let back_home = acct.travel_at != 0
                        && a.ts - acct.travel_at < 24 * HOUR
                        && geo::km((ola as f64, olo as f64), (lat, lon)) < self.cfg.travel.min_km;
                    let level = if back_home {
                        Severity::Low
                    } else if same_country {
                        Severity::Medium
                    } else {
                        Severity::High
                    };
                    if level > Severity::Low {
                        acct.travel_at = a.ts;
                        acct.travel_origin = (la0, lo0);
                    }
                    let mut ev = ev;
                    let reason = if level == Severity::Low {
                        ev["journey_reported_at"] = json!(rfc3339(acct.travel_at));
                        reason
                            + &format!(
                                " It is back where it usually works; the journey was reported {} before.",
                                human(a.ts - acct.travel_at)
                            )
                    } else {
                        reason
                    };
                    self.emit(out, Detection::ImpossibleTravel, level, a, reason, ev);
                }
            }
            acct.last_geo = Some((a.ts, lat as f32, lon as f32));
            acct.last_country = a.country.as_deref().map(h32);
        }
    }

    fn read(
        &mut self,
        acct: &mut Account,
        a: &Activity,
        subjects: &[u64],
        records: u64,
        local: &Local,
        out: &mut Vec<Signal>,
    ) {
        let cfg = self.cfg.clone();
        acct.hour_reads += 1;
        acct.hour_records += records;
        for s in subjects {
            // Outside the caseload: counted once per person in the hour (a
            // file opened fifteen times is one person read).
            let outside =
                if self.caseload.is_empty() { None } else { self.caseload.outside(&a.user, a.group.as_deref(), *s) };
            let before = if outside == Some(true) { acct.hour_distinct.estimate() } else { 0 };
            acct.hour_distinct.insert(s);
            acct.day_distinct.insert(s);
            if !acct.working.insert(*s, cfg.working_set.bits) {
                acct.hour_new += 1;
            }
            if let Some(o) = outside {
                acct.hour_judged = true;
                if o && acct.hour_distinct.estimate() > before {
                    acct.hour_outside += 1;
                }
            }
        }
        let count = acct.hour_distinct.estimate() as f32;
        let (peer, peer_key) = self.peer_of(acct);
        let d = &cfg.distinct;
        // The bound: the account's own habits once known, else its peers',
        // else a fixed allowance for the unknown.
        let (bound, basis) = hour_bound(&acct.base_hour, &peer, &cfg);
        let mut level = level_of(count / bound, &d.levels);
        let ws_bound = acct.base_new.upper(cfg.working_set.k).max(cfg.working_set.min_new as f32);
        let mut ws_level =
            if acct.base_new.warm(cfg.warmup.hours) { level_of(acct.hour_new as f32 / ws_bound, &d.levels) } else { 0 };
        // An account whose own habit is still well below its peers' (a new
        // hire growing into the job, a part-timer taking on more) and that
        // reads no more people than its peers do in an ordinary hour is
        // above its past, not above the job: worth a look, not an alarm.
        if basis == "own" && growing_into_peers(acct.base_hour.mean, count, &peer, d) {
            level = level.min(1);
            ws_level = ws_level.min(1);
        }
        let surge = self.peer_hour(acct, level.max(ws_level) > 0);
        // Beyond the bound, and from a provider or country the account never
        // used: stolen credentials at work, whether or not the account's own
        // habits are learned yet. One level graver: high from the bound,
        // critical (an incident, contained) from twice the bound.
        // Not while the deployment is learning its population, nor on an
        // account's first active days: "never used" means little yet.
        let from_elsewhere =
            acct.hour_access >= fusion::NEW_PROVIDER && self.learned.deployment && acct.active_days >= 2;
        if level >= 1 && from_elsewhere && !surge {
            level = (level + 1).min(3);
        }
        if level > acct.fired.distinct {
            acct.fired.distinct = level;
            let lv = if surge { Severity::Low } else { to_level(level, acct.service) };
            let reason = format!(
                "{} read {:.0} distinct people this hour, {:.1}× its bound of {:.0} ({} baseline: mean {:.1} an hour{}).",
                a.user,
                count,
                count / bound,
                bound,
                basis,
                if basis == "peers" { peer.mean } else { acct.base_hour.mean },
                peer_text(&peer_key, &peer)
            ) + surge_text(surge)
                + if from_elsewhere { " It came from a provider or country the account never used." } else { "" };
            let ev = json!({"observed": count, "window": window(acct.hour * HOUR, HOUR), "bound": bound, "basis": basis, "new_provider_this_hour": from_elsewhere,
                            "baseline": baseline_json(&acct.base_hour), "peers": peers_json(&peer_key, &peer),
                            "records": acct.hour_records, "reads": acct.hour_reads, "peer_surge": surge});
            self.emit(out, Detection::DistinctSubjectsHour, lv, a, reason, ev);
        }
        // The day: catches the low-and-slow that stays under the hourly bound.
        let day_count = acct.day_distinct.estimate() as f32;
        if acct.base_day.warm(cfg.warmup.days) {
            let bound = acct.base_day.upper(d.k).max(d.min_day as f32);
            let level = level_of(day_count / bound, &d.levels).min(2);
            if level > acct.fired.distinct_day {
                acct.fired.distinct_day = level;
                let reason = format!(
                    "{} read {:.0} distinct people today, {:.1}× its daily bound of {:.0} (mean {:.1} a day).",
                    a.user,
                    day_count,
                    day_count / bound,
                    bound,
                    acct.base_day.mean
                );
                let ev = json!({"observed": day_count, "bound": bound, "baseline": baseline_json(&acct.base_day),
                                "window": {"day": local.day}});
                self.emit(out, Detection::DistinctSubjectsDay, to_level(level, acct.service), a, reason, ev);
            }
        }
        // Records returned, ids or not (exports).
        let rbound =
            if acct.base_records.warm(cfg.warmup.hours) { acct.base_records.upper(cfg.records.k) } else { 0.0 };
        let rbound = rbound.max(cfg.records.min_hour as f32);
        let mut rlevel = level_of(acct.hour_records as f32 / rbound, &d.levels);
        // A volume alone, from the account's known networks at one of its
        // usual hours, is worth a look, not an alarm: a monthly export
        // happens once in a two-week log and never enters a baseline. It is
        // graver with a new network or a rare hour, and once a habit is known.
        let corroborated = acct.new_network_this_hour() || acct.hour_time >= 3;
        if !acct.base_records.warm(cfg.warmup.hours) || !corroborated {
            rlevel = rlevel.min(1);
        }
        if rlevel > acct.fired.records {
            acct.fired.records = rlevel;
            let reason = format!(
                "{} retrieved {} records this hour, {:.1}× its bound of {:.0}.",
                a.user,
                acct.hour_records,
                acct.hour_records as f32 / rbound,
                rbound
            );
            let ev = json!({"observed": acct.hour_records, "bound": rbound, "baseline": baseline_json(&acct.base_records),
                            "window": window(acct.hour * HOUR, HOUR)});
            let grave = acct.service && corroborated && acct.base_records.warm(cfg.warmup.hours);
            self.emit(out, Detection::RecordsVolume, to_level(rlevel, grave), a, reason, ev);
        }
        // The working set: people this account had not read lately, against
        // how many such people it usually reads in an hour.
        if acct.base_new.warm(cfg.warmup.hours) {
            let (bound, level) = (ws_bound, ws_level);
            if level > acct.fired.working_set {
                acct.fired.working_set = level;
                let reason = format!(
                    "{} read {} people outside its working set this hour, {:.1}× its bound of {:.0} (usually {:.1} an hour).",
                    a.user,
                    acct.hour_new,
                    acct.hour_new as f32 / bound,
                    bound,
                    acct.base_new.mean
                ) + surge_text(surge);
                let ev = json!({"observed": acct.hour_new, "reads": acct.hour_reads, "bound": bound,
                                "baseline": baseline_json(&acct.base_new), "window": window(acct.hour * HOUR, HOUR),
                                "peer_surge": surge});
                let lv = if surge { Severity::Low } else { to_level(level, acct.service) };
                self.emit(out, Detection::OutsideWorkingSet, lv, a, reason, ev);
            }
        }
        // The caseload file, where given: entitlement, judged against how
        // often the account (or its peers) reads outside it.
        if acct.hour_outside > 0 {
            let (bound, basis, mean) = self.outside_bound(acct);
            let mut level = level_of(acct.hour_outside as f32 / bound, &[1.0, 2.0, 5.0]);
            // High and above need the account's own habit: until then a
            // burst (a search listing a street's residents) is worth a look.
            if basis != "own" {
                level = level.min(1);
            }
            if level > acct.fired.caseload {
                acct.fired.caseload = level;
                let usual = match basis {
                    "own" => format!("usually {mean:.1} an hour"),
                    "peers" => format!("its peers usually {mean:.1} an hour"),
                    _ => "nothing learned yet".to_string(),
                };
                let reason = format!(
                    "{} read {} people outside its caseload this hour, {:.1}× its bound of {:.0} ({usual}).",
                    a.user,
                    acct.hour_outside,
                    acct.hour_outside as f32 / bound,
                    bound,
                );
                let ev = json!({"observed": acct.hour_outside, "reads": acct.hour_reads, "bound": bound, "basis": basis,
                                "baseline": baseline_json(&acct.base_outside),
                                "group": a.group, "window": window(acct.hour * HOUR, HOUR)});
                self.emit(out, Detection::OutsideCaseload, to_level(level, acct.service), a, reason, ev);
            }
        }
        // The schedule: evenings, nights and weekends the account rarely works.
        let min_reads = if acct.service { 1 } else { cfg.off_hours.min_reads };
        if !acct.fired.off_hours && acct.hour_reads >= min_reads {
            acct.fired.off_hours = true;
            let seen = acct.week[acct.slot as usize].saturating_sub(1);
            let mut level = if seen == 0 && (local.night || local.weekend) { Severity::Medium } else { Severity::Low };
            if acct.service {
                level = Severity::High;
            }
            let reason = format!(
                "{} reads personal data at an hour it has worked {} time(s) in {} active hours{}.",
                a.user,
                seen,
                acct.active_hours,
                if local.weekend {
                    " (weekend)"
                } else if local.night {
                    " (evening or night)"
                } else {
                    ""
                }
            );
            let ev = json!({"slot": {"weekday": acct.slot / 24, "hour": acct.slot % 24}, "seen_in_slot": seen,
                            "active_hours": acct.active_hours, "night": local.night, "weekend": local.weekend,
                            "reads": acct.hour_reads});
            self.emit(out, Detection::OffHours, level, a, reason, ev);
        }
        // New accounts reading at volume. An account is new when vigie saw
        // it created, or when it first appeared after the deployment had
        // learned its population: on day one every account is unseen, not new.
        let born = acct.created_at.unwrap_or(acct.first_seen);
        let deployed = self.deployed_at.unwrap_or(acct.first_seen);
        let appeared_late =
            !acct.relearned && acct.first_seen - deployed >= cfg.warmup.deployment_days as i64 * 24 * HOUR;
        let young =
            (acct.created_at.is_some() || appeared_late) && (a.ts - born) < cfg.iam.new_account_days as i64 * 24 * HOUR;
        // A newcomer is judged against its peers where they are known; one
        // created strangely, from the floor of every volume bound: it has no
        // reason to read more people than an ordinary hour of anyone's.
        let new_bound = if acct.created_strangely {
            d.min_hour as f32
        } else if peer.warm(d.peer_min) {
            peer.upper(d.k).max(cfg.iam.new_account_hour as f32)
        } else {
            cfg.iam.new_account_hour as f32
        };
        if young && !acct.fired.new_account && count >= new_bound {
            acct.fired.new_account = true;
            let reason = format!(
                "{}, an account {} old, read {:.0} distinct people this hour.",
                a.user,
                human(a.ts - born),
                count
            );
            let ev = json!({"observed": count, "created_at": acct.created_at.map(rfc3339), "first_seen": rfc3339(acct.first_seen),
                            "bound": new_bound, "peers": peers_json(&peer_key, &peer),
                            "created_strangely": acct.created_strangely});
            // Created from a strange context, then reading at volume: the
            // persistence path (accounts made by an intruder).
            let lv = if acct.created_strangely { Severity::Critical } else { Severity::High };
            self.emit(out, Detection::NewAccountBulkRead, lv, a, reason, ev);
        }
        // The takeover path: reset, new source, then harvesting: more than
        // twice the account's usual hour, or beyond its peers' bound while
        // its own habits are unknown.
        let usual = if acct.base_hour.warm(cfg.warmup.hours) {
            (2.0 * acct.base_hour.mean).max(acct.base_hour.upper(d.k))
        } else if peer.warm(d.peer_min) {
            peer.upper(d.k)
        } else {
            0.0
        };
        let takeover_bound = (cfg.takeover.min_distinct.unwrap_or(d.min_hour) as f32).max(usual);
        if let Some(t) = acct.new_source_after_reset
            && a.ts - t <= self.read_within
            && !acct.fired.takeover
            && count >= takeover_bound
        {
            acct.fired.takeover = true;
            let reset = acct.reset_at.unwrap_or(t);
            // One story per reset: it is told once.
            acct.reset_at = None;
            acct.new_source_after_reset = None;
            let reason = format!(
                "{}: password reset, login from a new source {} later, and now {:.0} distinct people read this hour.",
                a.user,
                human(t - reset),
                count
            );
            let ev = json!({"reset_at": rfc3339(reset), "new_source_login_at": rfc3339(t), "observed": count,
                            "bound": takeover_bound.round()});
            self.emit(out, Detection::ResetTakeover, Severity::Critical, a, reason, ev);
        }
        self.fuse(acct, a, &peer, count, surge, out);
    }

    /// Note the account in its peer group's hour (active; deviating when
    /// `deviating`); whether the group is surging.
    fn peer_hour(&mut self, acct: &mut Account, deviating: bool) -> bool {
        let Some(p) = acct.peer.as_deref() else { return false };
        let first = acct.hour_reads == 1;
        let newly = deviating && !acct.hour_deviating;
        if !first && !newly && !deviating {
            return false;
        }
        if !self.peer_hours.contains_key(p) {
            if self.peer_hours.len() >= MAX_MEMO {
                // Groups come from the input: keep only those of this hour.
                let hour = acct.hour;
                self.peer_hours.retain(|_, ph| ph.hour >= hour - 1);
                if self.peer_hours.len() >= MAX_MEMO {
                    self.peer_hours.clear();
                }
            }
            self.peer_hours.insert(p.to_string(), PeerHour::default());
        }
        let Some(ph) = self.peer_hours.get_mut(p) else { return false };
        ph.roll(acct.hour);
        if first {
            ph.active += 1;
        }
        if newly {
            acct.hour_deviating = true;
            ph.deviating += 1;
        }
        ph.surging()
    }

    /// The peers an account is judged against, and their key: its group and
    /// role once their habits are learned; until then the same role in
    /// every group, and then every human account (a small firm of three
    /// professionals may never give its group enough hours). A service
    /// account is only compared with its own group.
    fn peer_of(&self, acct: &Account) -> (Baseline, Option<String>) {
        self.peer_in(&self.peers, acct)
    }

    /// [`Self::peer_of`] in one map of peer baselines.
    fn peer_in(&self, peers: &FxHashMap<String, Baseline>, acct: &Account) -> (Baseline, Option<String>) {
        let min = self.cfg.distinct.peer_min;
        let own = acct.peer.as_ref().and_then(|p| peers.get(p)).copied().unwrap_or_default();
        if own.warm(min) || acct.service {
            return (own, acct.peer.clone());
        }
        let wider = acct.peer.as_deref().and_then(role_key).into_iter().chain([EVERYONE.to_string()]);
        for key in wider {
            if let Some(b) = peers.get(&key)
                && b.warm(min)
            {
                return (*b, Some(key));
            }
        }
        (own, acct.peer.clone())
    }

    /// The hour's levels of the fused features (see [`crate::fusion`]).
    /// `count`: the hour's distinct people, as the caller already estimated.
    fn levels(&self, acct: &Account, peer: &Baseline, count: f32) -> [u8; fusion::N] {
        let cfg = &self.cfg;
        // Against the account's own hours once learned, else its peers'.
        let reference = if acct.base_hour.warm(cfg.warmup.hours) {
            Some(acct.base_hour)
        } else if peer.warm(cfg.distinct.peer_min) {
            Some(*peer)
        } else {
            None
        };
        let volume = reference.map_or(0, |b| fusion::volume_level(count / (b.mean + b.dev).max(1.0)));
        let people = if acct.base_new.warm(cfg.warmup.hours) {
            fusion::people_level(acct.hour_new, acct.base_new.mean + acct.base_new.dev)
        } else {
            0
        };
        [acct.hour_access, volume, people, acct.hour_time, fusion::interleaved_level(acct.hour_switches)]
    }

    /// Weak signals together: the fused score of the hour so far.
    fn fuse(
        &mut self,
        acct: &mut Account,
        a: &Activity,
        peer: &Baseline,
        count: f32,
        surge: bool,
        out: &mut Vec<Signal>,
    ) {
        let f = &self.cfg.fusion;
        // Enough evidence: several reads, or one search that listed several
        // people (an intruder's first act is often a wide search).
        if !f.enabled
            || (acct.hour_reads < f.min_reads && count < f.min_reads as f32)
            || self.population.hours < f.min_hours
            || (acct.active_days as u32) < self.cfg.warmup.days
        {
            return;
        }
        let mut levels = self.levels(acct, peer, count);
        if surge {
            // The whole group reads more, and more new people: not this
            // account's signal.
            levels[1] = 0;
            levels[2] = 0;
        }
        let (score, parts) = self.population.score(levels, f.cap);
        acct.hour_fused = acct.hour_fused.max(score);
        let level = if score >= f.critical {
            3
        } else if score >= f.high {
            2
        } else {
            0
        };
        if level <= acct.fired.fused {
            return;
        }
        acct.fired.fused = level;
        let names = [
            "a new source or client",
            "volume",
            "people outside its working set",
            "an unusual time",
            "use from two networks at once",
        ];
        let what: Vec<String> = (0..fusion::N)
            .filter(|&i| parts[i] > 0.0)
            .map(|i| format!("{} (level {}, {:.1} bits)", names[i], levels[i], parts[i]))
            .collect();
        let reason = format!(
            "{}: several signals each under its own threshold add up to {:.1} bits of surprise this hour (threshold {:.0}): {}.",
            a.user,
            score,
            f.high,
            what.join(", ")
        );
        let features: Map<String, Value> = (0..fusion::N)
            .map(|i| {
                let p = 2f32.powf(-parts[i]);
                (
                    fusion::FEATURES[i].to_string(),
                    json!({"level": levels[i], "bits": round2(parts[i]), "share_of_hours": p}),
                )
            })
            .collect();
        let ev = json!({"score": round2(score), "high": f.high, "critical": f.critical, "features": features,
                        "population_hours": self.population.hours,
                        "population_share_at_or_above": self.population.tail(score),
                        "ip": acct.hour_access_ip, "reads": acct.hour_reads,
                        "window": window(acct.hour * HOUR, HOUR)});
        let lv = if level == 3 { Severity::Critical } else { Severity::High };
        self.emit(out, Detection::FusedEvidence, lv, a, reason, ev);
    }

    /// Count `net` as new to one more account; whether it is, by now, new
    /// to so many accounts within a day that it is the organisation's.
    fn org_network(&mut self, net: u32, ts: i64) -> bool {
        if self.org_nets.len() >= MAX_MEMO {
            self.org_nets.retain(|_, (_, t)| ts - *t < 24 * HOUR);
            if self.org_nets.len() >= MAX_MEMO {
                // Hostile input (a new network per event): start over
                // rather than grow.
                self.org_nets.clear();
            }
        }
        let e = self.org_nets.entry(net).or_insert((0, ts));
        if ts - e.1 >= 24 * HOUR && e.0 < ORG_NET_ACCOUNTS {
            *e = (0, ts);
        }
        e.0 = e.0.saturating_add(1);
        e.0 >= ORG_NET_ACCOUNTS
    }

    /// Whether the network of `ip` is new today to other accounts too (at
    /// least one besides the one acting): the organisation's new egress on
    /// the morning it changes, before enough accounts have used it to be
    /// known as such. An intruder's network is its own.
    fn shared_new_network(&self, ip: Option<&str>, ts: i64) -> bool {
        let Some(ip) = ip else { return false };
        self.org_nets.get(&h32(&slash24(ip))).is_some_and(|&(n, t)| n >= 2 && ts.saturating_sub(t) < 24 * HOUR)
    }

    /// A login (or a read) from an address that failed for several accounts
    /// lately: the success of a spray.
    fn spraying(&mut self, acct: &mut Account, a: &Activity, ip: &str, success: bool, out: &mut Vec<Signal>) {
        let s = &self.cfg.spray;
        let limits = crate::spray::Limits {
            window: self.spray_window,
            min_accounts: s.min_accounts as usize,
            max_sources: s.max_sources,
        };
        let hit = self.sources_seen.login(ip, h32(&a.user), a.ts, success, limits);
        let Some(hit) = hit else { return };
        if acct.fired.spraying_source {
            return;
        }
        acct.fired.spraying_source = true;
        let reason = format!(
            "{} was used from {ip}, which failed to log in as {}{} other accounts within {} and succeeded for {}: a password spray that worked.",
            a.user,
            if hit.failed_accounts >= crate::spray::KEEP - 1 { "at least " } else { "" },
            hit.failed_accounts,
            self.cfg.spray.window,
            hit.succeeded_accounts
        );
        let ev = json!({"ip": ip, "failed_accounts": hit.failed_accounts, "succeeded_accounts": hit.succeeded_accounts,
                        "window": self.cfg.spray.window, "min_accounts": self.cfg.spray.min_accounts});
        self.emit(out, Detection::SprayingSourceLogin, Severity::Critical, a, reason, ev);
    }

    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        out: &mut Vec<Signal>,
        detection: Detection,
        level: Severity,
        a: &Activity,
        reason: String,
        evidence: Value,
    ) {
        *self.stats.signals.entry(detection.id().to_string()).or_default() += 1;
        let mut evidence = match evidence {
            Value::Object(m) => m,
            other => Map::from_iter([("value".to_string(), other)]),
        };
        let l = self.learned;
        let state = |b: bool| if b { "learned" } else { "learning" };
        evidence.insert(
            "learning".into(),
            json!({"account": state(l.account), "deployment": state(l.deployment),
                   "active_days": l.active_days, "active_hours": l.active_hours}),
        );
        out.push(Signal {
            detection,
            level,
            ts: a.ts,
            user: a.user.clone(),
            source: a.ip.clone(),
            reason,
            evidence,
            origin: a.origin.clone(),
        });
    }

    /// Forget the longest-idle tenth when the account bound is reached.
    fn make_room(&mut self) {
        if self.accounts.len() < self.cfg.max_accounts {
            return;
        }
        let mut seen: Vec<i64> = self.accounts.values().map(|a| a.last_seen).collect();
        let k = (seen.len() / 10).max(1);
        let (_, cut, _) = seen.select_nth_unstable(k - 1);
        let cut = *cut;
        let before = self.accounts.len();
        let mut gone = Vec::new();
        self.accounts.retain(|name, a| {
            let keep = a.last_seen > cut;
            if !keep {
                gone.push(name.clone());
            }
            keep
        });
        self.stats.accounts_forgotten += (before - self.accounts.len()) as u64;
        for g in gone {
            self.dirty.remove(&g);
            self.removed.push(g);
        }
    }

    /// Accounts changed since the last call, encoded (`None`: forgotten),
    /// for the checkpoint store.
    pub fn take_changes(&mut self) -> Vec<(String, Option<Vec<u8>>)> {
        let mut out: Vec<(String, Option<Vec<u8>>)> = self.removed.drain(..).map(|n| (n, None)).collect();
        for n in self.dirty.drain() {
            let a = self.accounts.get(&n).map(|b| b.encode());
            out.push((n, a));
        }
        out
    }

    pub fn shared(&self) -> Shared {
        Shared {
            peers: self.peers.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            stats: self.stats.clone(),
            deployed_at: self.deployed_at,
            population: self.population.clone(),
            peers_outside: self.peers_outside.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        }
    }

    pub fn restore(&mut self, shared: Shared, accounts: Vec<(String, Account)>) {
        self.peers = shared.peers.into_iter().collect();
        self.stats = shared.stats;
        self.deployed_at = shared.deployed_at;
        self.population = shared.population;
        self.peers_outside = shared.peers_outside.into_iter().collect();

        self.accounts = accounts.into_iter().map(|(k, a)| (k, Box::new(a))).collect();
        self.dirty.clear();
        self.removed.clear();
    }

    /// Accounts that were known before this restart but whose saved state
    /// could not be read (it was saved in an older layout): they learn their
    /// habits again from their next act, but are not new to the deployment
    /// (an upgrade must not make every account "appear late").
    pub fn relearn(&mut self, names: Vec<String>) {
        self.relearning.extend(names);
    }

    /// Take over what `old` learned, for new settings (a live reload):
    /// accounts, peers, counters, the deployment's population and the
    /// short-lived windows carry on, judged from now on by these settings.
    /// A new time zone changes what every learned schedule means (its hours
    /// and days are local): then nothing is taken, the old accounts are
    /// forgotten in the store too, and their number is returned.
    pub fn adopt(&mut self, mut old: Analytics) -> usize {
        if old.cfg.timezone != self.cfg.timezone {
            let dropped = old.accounts.len();
            self.stats = std::mem::take(&mut old.stats);
            self.stats.accounts_forgotten += dropped as u64;
            self.removed = old.into_names();
            return dropped;
        }
        self.accounts = old.accounts;
        self.peers = old.peers;
        self.peers_outside = old.peers_outside;
        self.stats = old.stats;
        self.dirty = old.dirty;
        self.removed = old.removed;
        self.relearning = old.relearning;
        self.deployed_at = old.deployed_at;
        self.population = old.population;
        self.sources_seen = old.sources_seen;
        self.peer_hours = old.peer_hours;
        self.org_nets = old.org_nets;
        0
    }

    /// The names of every account this state holds, and of those it forgot
    /// since the last checkpoint: what to delete from the store when the
    /// state itself is dropped.
    pub fn into_names(self) -> Vec<String> {
        let mut out = self.removed;
        out.extend(self.accounts.into_keys());
        out
    }

    /// Bytes held per account, on average (see docs/analytics.md).
    pub fn bytes_per_account(&self) -> f64 {
        if self.accounts.is_empty() {
            return 0.0;
        }
        // Key, boxed account, and the map's slot (key and box pointer).
        let slot = std::mem::size_of::<(String, Box<Account>)>();
        let total: usize = self.accounts.iter().map(|(k, a)| k.capacity() + a.bytes() + slot).sum();
        total as f64 / self.accounts.len() as f64
    }
}

/// The bound of an account's distinct people in an hour, and its basis:
/// its own habits once known, else its peers', else a fixed allowance for
/// the unknown; never under `distinct.min_hour`.
fn hour_bound(own: &Baseline, peer: &Baseline, cfg: &AnalyticsConfig) -> (f32, &'static str) {
    let d = &cfg.distinct;
    let (bound, basis, _) = judged_bound(own, peer, d.k, d.cold_hour as f32, d.min_hour as f32, cfg);
    (bound, basis)
}

/// A bound from the account's own hours once warm (`warmup.hours`), else
/// its peers' (`distinct.peer_min` hours), else `cold`; never under
/// `floor`. With its basis and the reference's mean (0 for `default`).
fn judged_bound(
    own: &Baseline,
    peer: &Baseline,
    k: f32,
    cold: f32,
    floor: f32,
    cfg: &AnalyticsConfig,
) -> (f32, &'static str, f32) {
    let (bound, basis, mean) = if own.warm(cfg.warmup.hours) {
        (own.upper(k), "own", own.mean)
    } else if peer.warm(cfg.distinct.peer_min) {
        (peer.upper(k), "peers", peer.mean)
    } else {
        (cold, "default", 0.0)
    };
    (bound.max(floor), basis, mean)
}

/// Teach peer group `key` the value `x`; a group not yet known is added
/// only while there are fewer than [`MAX_PEER_GROUPS`].
fn learn_peer(peers: &mut FxHashMap<String, Baseline>, key: String, x: f32, min: u32) {
    let len = peers.len();
    match peers.entry(key) {
        std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().learn(x, min, PEER_HORIZON),
        std::collections::hash_map::Entry::Vacant(e) if len < MAX_PEER_GROUPS => {
            e.insert(Baseline::default()).learn(x, min, PEER_HORIZON)
        }
        std::collections::hash_map::Entry::Vacant(_) => {}
    }
}

/// The peer groups an account's hour teaches: its own group and role, the
/// same role in every group and every human account (a service account
/// teaches only its own).
fn peer_keys(acct: &Account) -> Vec<String> {
    let mut keys: Vec<String> = Vec::with_capacity(3);
    if let Some(p) = &acct.peer {
        keys.push(p.clone());
        if !acct.service {
            keys.extend(role_key(p));
        }
    }
    if !acct.service {
        keys.push(EVERYONE.to_string());
    }
    keys
}

/// The role-wide peer key of a group-and-role key (`*/adviser`), when the
/// account has a role.
fn role_key(peer: &str) -> Option<String> {
    peer.rsplit_once('/').map(|(_, r)| r).filter(|r| *r != "-" && !r.is_empty()).map(|r| format!("*/{r}"))
}

/// The peer key of every human account.
const EVERYONE: &str = "*";

/// Whether an account that reads `count` people this hour is still growing
/// into its peers' work: its own hourly habit is well below theirs (under
/// 60% of their mean) and `count` is within what they read in an ordinary
/// hour.
fn growing_into_peers(own_mean: f32, count: f32, peer: &Baseline, d: &crate::config::Distinct) -> bool {
    peer.warm(d.peer_min) && own_mean < 0.6 * peer.mean && count <= peer.upper(d.k)
}

fn level_of(ratio: f32, levels: &[f32; 3]) -> u8 {
    levels.iter().filter(|&&l| ratio >= l).count() as u8
}

/// 1, 2, 3 → medium, high, critical (a service account one step higher).
fn to_level(n: u8, service: bool) -> Severity {
    let l = match n {
        0 | 1 => Severity::Medium,
        2 => Severity::High,
        _ => Severity::Critical,
    };
    if service { l.raise() } else { l }
}

/// Hours either side of an hour that still count as a service account's
/// own: three spreads of the start of its day (its job), at least one (jobs
/// drift across the hour) and at most three. A person's hours are judged
/// as they are: the slot profile already holds their spread.
fn schedule_tolerance(start: &Baseline, service: bool) -> usize {
    if !service {
        return 0;
    }
    let learned = if start.n >= 3 { (3.0 * start.dev / 60.0).ceil() as usize } else { 0 };
    learned.clamp(1, 3)
}

/// The provider-sized network of an address, as a key: its /16 (IPv4) or
/// /32 (IPv6), without building a string.
fn slash16(ip: &str) -> u32 {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            let o = v4.octets();
            u32::from_be_bytes([o[0], o[1], 0, 1])
        }
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            (((s[0] as u32) << 16) | s[1] as u32) ^ 0x5555_5555
        }
        Err(_) => h32(ip),
    }
}

fn slash24(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
        Err(_) => ip.to_string(),
    }
}

fn surge_text(surge: bool) -> &'static str {
    if surge { " Many of its peers do the same this hour (a peer-wide surge): low." } else { "" }
}

fn window(start: i64, len: i64) -> Value {
    json!({"start": rfc3339(start), "end": rfc3339(start + len)})
}

fn baseline_json(b: &Baseline) -> Value {
    json!({"mean": round2(b.mean), "spread": round2(b.dev), "samples": b.n})
}

fn peers_json(group: &Option<String>, b: &Baseline) -> Value {
    json!({"group": group, "mean": round2(b.mean), "spread": round2(b.dev), "samples": b.n})
}

fn peer_text(group: &Option<String>, b: &Baseline) -> String {
    match group {
        Some(g) if b.n > 0 => format!("; peers {g}: mean {:.1}", b.mean),
        _ => String::new(),
    }
}

fn round2(x: f32) -> f64 {
    (x as f64 * 100.0).round() / 100.0
}

fn human(ms: i64) -> String {
    let m = ms / 60_000;
    if m < 60 {
        format!("{m} min")
    } else if m < 48 * 60 {
        format!("{:.1} h", m as f64 / 60.0)
    } else {
        format!("{:.1} days", m as f64 / 1440.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_groups_invented_by_the_input_stop_growing_at_the_bound() {
        let mut peers = FxHashMap::default();
        for i in 0..MAX_PEER_GROUPS + 500 {
            learn_peer(&mut peers, format!("group-{i}/role"), 3.0, 40);
        }
        assert_eq!(peers.len(), MAX_PEER_GROUPS);
        // Groups already known go on learning.
        learn_peer(&mut peers, "group-7/role".into(), 5.0, 40);
        assert_eq!(peers["group-7/role"].n, 2);
        assert!(!peers.contains_key(&format!("group-{}/role", MAX_PEER_GROUPS + 1)));
    }
}
