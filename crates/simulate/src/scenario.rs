//! The attack scenarios. Each picks its victims when the run is planned and
//! then, day by day, adds the attacker's events (tagged with its number).
//! They start in the last third of the run, so that vigie has learned the
//! organisation's habits from data the attacks did not touch.

use crate::org::{Kind, Org, ip};
use crate::sim::{Calendar, Ev, SimConfig, What, arrivals, rng_for, usual_hours};
use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    FranceTravail,
    StolenPartner,
    LowAndSlow,
    SprayThenExport,
    ServiceToken,
    ImpossibleTravel,
    AccountCreator,
    CuriousInsider,
    CarefulAttacker,
}

impl Attack {
    pub const ALL: [Attack; 9] = [
        Attack::FranceTravail,
        Attack::StolenPartner,
        Attack::LowAndSlow,
        Attack::SprayThenExport,
        Attack::ServiceToken,
        Attack::ImpossibleTravel,
        Attack::AccountCreator,
        Attack::CuriousInsider,
        Attack::CarefulAttacker,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Attack::FranceTravail => "france_travail",
            Attack::StolenPartner => "stolen_partner_credentials",
            Attack::LowAndSlow => "low_and_slow",
            Attack::SprayThenExport => "spraying_then_export",
            Attack::ServiceToken => "stolen_service_token",
            Attack::ImpossibleTravel => "impossible_travel",
            Attack::AccountCreator => "account_creator",
            Attack::CuriousInsider => "curious_insider",
            Attack::CarefulAttacker => "careful_attacker",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Attack::FranceTravail => {
                "Help desk resets a partner adviser's password for the attacker, who logs in from a new source and harvests records in the evenings and at weekends"
            }
            Attack::StolenPartner => {
                "Stolen partner credentials used from a new source to harvest records during business hours"
            }
            Attack::LowAndSlow => {
                "Malware on the victim's own workstation reads a few dozen extra people an hour through the victim's browser session"
            }
            Attack::SprayThenExport => {
                "Password spraying at about 03:00 from one address against 100+ accounts, one success, bulk exports of 10,000+ records, then reads"
            }
            Attack::ServiceToken => {
                "A service job's token used from an unknown cloud address with another client, exporting 40,000 records in its first hour, away from the job's schedule"
            }
            Attack::ImpossibleTravel => "An adviser's account used from abroad while its owner works in France",
            Attack::AccountCreator => {
                "A compromised help-desk account creates accounts in the evening, grants them roles, and they harvest records"
            }
            Attack::CuriousInsider => {
                "An adviser reads people outside the caseload (neighbours, celebrities) on a normal afternoon"
            }
            Attack::CarefulAttacker => {
                "An adviser's credentials used in the victim's usual hours, from a new /24 of the victim's ISP, with the victim's browser one version older, reading three times the victim's daily volume, all outside its caseload, for three days"
            }
        }
    }
}

/// A planned attack: its victims and where it comes from.
pub struct Plan {
    pub attack: Attack,
    /// 1-based scenario number (events carry it).
    pub number: u8,
    pub victim: usize,
    /// A second account involved (the help-desk agent, sprayed accounts' count).
    pub helper: usize,
    pub first_day: u32,
    pub ip: u32,
    pub geo: u8,
    pub agent: u16,
    /// Accounts the attack creates (indices into the name table).
    pub created: Vec<u32>,
}

fn available(org: &Org, i: usize, from: u32, days: u32) -> bool {
    let a = &org.accounts[i];
    a.leave.is_none_or(|(f, t)| t <= from || f >= days)
        && a.hired.is_none()
        && a.covers.is_none()
        && a.takeover.is_none()
        && a.travel_day.is_none_or(|(d, _)| d < from)
}

/// Choose victims and days for every scenario asked for.
pub fn plan(org: &Org, cal: &Calendar, cfg: &SimConfig, names: &mut Vec<String>) -> Vec<Plan> {
    let mut rng = rng_for(cfg.seed, u64::MAX, 0);
    let third = (cfg.days * 2 / 3).max(1);
    let weekday_from = |d: u32| (d..cfg.days).find(|&x| cal.weekday(x) < 5).unwrap_or(d);
    let mut used: Vec<usize> = Vec::new();
    let mut pick = |rng: &mut rand_chacha::ChaCha8Rng, kind: Kind, from: u32| -> usize {
        let cands: Vec<usize> = (0..org.accounts.len())
            .filter(|&i| org.accounts[i].kind == kind && !used.contains(&i) && available(org, i, from, cfg.days))
            .collect();
        let c = if cands.is_empty() { 0 } else { cands[rng.random_range(0..cands.len())] };
        used.push(c);
        c
    };
    let mut out = Vec::new();
    for (k, attack) in Attack::ALL.iter().enumerate() {
        if !cfg.scenarios.is_empty() && !cfg.scenarios.iter().any(|s| s == attack.name()) {
            continue;
        }
        // The careful attacker needs three of its victim's working days.
        let day = if *attack == Attack::CarefulAttacker { third } else { weekday_from(third + (k as u32 % 5)) };
        let n = (out.len() + 1) as u8;
        let r = rng.random_range(1..250u8);
        let (victim, helper, ip, geo, agent) = match attack {
            Attack::FranceTravail => {
                (pick(&mut rng, Kind::Partner, day), pick(&mut rng, Kind::HelpDesk, day), ip(185, 220, 101, r), 0, 101)
            }
            Attack::StolenPartner => (pick(&mut rng, Kind::Partner, day), 0, ip(92, 184, 7, r), 1, 101),
            Attack::LowAndSlow => (pick(&mut rng, Kind::Adviser, day), 0, 0, 0, 0),
            Attack::SprayThenExport => (pick(&mut rng, Kind::Adviser, day), 0, ip(45, 155, 205, r), 103, 100),
            Attack::ServiceToken => (pick(&mut rng, Kind::Service, day), 0, ip(34, 90, 12, r), 0, 100),
            Attack::ImpossibleTravel => (pick(&mut rng, Kind::Adviser, day), 0, ip(103, 21, 244, r), 100, 101),
            Attack::AccountCreator => (pick(&mut rng, Kind::HelpDesk, day), 0, ip(185, 100, 87, r), 0, 103),
            Attack::CuriousInsider => (pick(&mut rng, Kind::Adviser, day), 0, 0, 0, 0),
            Attack::CarefulAttacker => {
                // The victim's ISP (first two octets of its home), another /24.
                // A victim that works at least three days of the attack's window.
                let works = |i: usize| (day..cfg.days).filter(|&d| usual_hours(org, cal, i, d).is_some()).count() >= 3;
                let mut v = pick(&mut rng, Kind::Adviser, day);
                for _ in 0..50 {
                    if works(v) {
                        break;
                    }
                    v = pick(&mut rng, Kind::Adviser, day);
                }
                let a = &org.accounts[v];
                let [h0, h1, h2, _] = a.home_ip.to_be_bytes();
                let [_, _, o2, _] = a.office_ip.to_be_bytes();
                let mut c = rng.random_range(1..255u8);
                while c == h2 || c == o2 {
                    c = c.wrapping_add(37).max(1);
                }
                (v, 0, ip(h0, h1, c, rng.random_range(2..254)), a.city as u8, 50 + a.browser as u16)
            }
        };
        let mut created = Vec::new();
        if *attack == Attack::AccountCreator {
            for j in 0..3 {
                created.push(names.len() as u32);
                names.push(format!("ext{:02}{:03}", n, j + 1));
            }
        }
        out.push(Plan { attack: *attack, number: n, victim, helper, first_day: day, ip, geo, agent, created });
    }
    out
}

impl Plan {
    /// The attacker's events on `day`.
    pub fn day(&self, org: &Org, cal: &Calendar, day: u32, seed: u64, out: &mut Vec<Ev>) {
        if day < self.first_day {
            return;
        }
        let mut rng = rng_for(seed, 1_000_000 + self.number as u64, day as u64);
        let v = &org.accounts[self.victim];
        let wd = cal.weekday(day);
        let weekend = wd >= 5;
        let first = day == self.first_day;
        let ev = |ts: i64, user: u32, what: What| Ev {
            ts,
            user,
            what,
            ip: self.ip,
            agent: self.agent,
            geo: self.geo,
            scenario: self.number,
        };
        let victim = self.victim as u32;
        let anyone = |rng: &mut rand_chacha::ChaCha8Rng| org.base_id + rng.random_range(0..org.subjects.max(1));
        // A read from the victim's own desk: its address, browser and city.
        let at_desk = |ts: i64, subject: u32| Ev {
            ip: v.office_ip,
            agent: v.browser as u16,
            geo: v.city as u8,
            ..ev(ts, victim, What::Read { subject })
        };
        // The victim's working hours today (none on its days off).
        let hours = usual_hours(org, cal, self.victim, day);
        let mut times = Vec::new();
        match self.attack {
            Attack::FranceTravail => {
                if first {
                    let h = &org.accounts[self.helper];
                    out.push(Ev {
                        ip: h.office_ip,
                        agent: h.browser as u16,
                        geo: h.city as u8,
                        ..ev(cal.at(day, 17.0 * 60.0 + 20.0), self.helper as u32, What::Reset { target: victim })
                    });
                    out.push(ev(cal.at(day, 18.0 * 60.0 + 5.0), victim, What::Login { ok: true }));
                }
                let (from, to) = if weekend { (600.0, 1320.0) } else { (1140.0, 1380.0) };
                if !first {
                    out.push(ev(cal.at(day, from - 2.0), victim, What::Login { ok: true }));
                }
                arrivals(&mut rng, from, to, 450.0, &mut times);
                for t in times {
                    out.push(ev(cal.at(day, t), victim, What::Read { subject: anyone(&mut rng) }));
                }
            }
            Attack::StolenPartner => {
                if weekend {
                    return;
                }
                out.push(ev(cal.at(day, 570.0), victim, What::Login { ok: true }));
                arrivals(&mut rng, 575.0, 1080.0, 250.0, &mut times);
                for t in times {
                    out.push(ev(cal.at(day, t), victim, What::Read { subject: anyone(&mut rng) }));
                }
            }
            Attack::LowAndSlow => {
                if hours.is_none() || day >= self.first_day + 5 {
                    return;
                }
                let (s, e) = hours.unwrap_or((580.0, 1010.0));
                arrivals(&mut rng, s + 60.0, e.max(s + 120.0) - 30.0, 25.0, &mut times);
                for t in times {
                    out.push(at_desk(cal.at(day, t), anyone(&mut rng)));
                }
            }
            Attack::SprayThenExport => {
                if !first {
                    return;
                }
                // About 03:00: one or two tries on each of 100+ accounts in
                // about 20 minutes, then the one that worked.
                let t0 = 180.0 + rng.random_range(-10.0..10.0);
                let targets: Vec<usize> = (0..org.accounts.len())
                    .filter(|&i| i != self.victim && org.accounts[i].kind != Kind::Service)
                    .collect();
                let n = targets.len().min(rng.random_range(100..131));
                let step = targets.len() as f64 / n.max(1) as f64;
                let gap = 20.0 / (n as f64 * 1.5).max(1.0);
                let mut k = 0.0;
                for j in 0..n {
                    let i = targets[(j as f64 * step) as usize];
                    for _ in 0..rng.random_range(1..3) {
                        out.push(ev(cal.at(day, t0 + k), i as u32, What::Login { ok: false }));
                        k += gap;
                    }
                }
                let t1 = t0 + k + 0.5;
                out.push(ev(cal.at(day, t1), victim, What::Login { ok: true }));
                // Exports of 10,000+ records over 30 to 60 minutes, then reads.
                let parts = rng.random_range(4..7);
                let span = rng.random_range(30.0..60.0);
                for j in 0..parts {
                    let t = t1 + 2.0 + span * j as f64 / (parts - 1) as f64;
                    out.push(ev(cal.at(day, t), victim, What::Export { count: rng.random_range(2_500..=3_500) }));
                }
                arrivals(&mut rng, t1 + span + 5.0, t1 + span + 120.0, 200.0, &mut times);
                for t in times {
                    out.push(ev(cal.at(day, t), victim, What::Read { subject: anyone(&mut rng) }));
                }
            }
            Attack::ServiceToken => {
                // Away from the job's nightly schedule: the afternoon.
                let t0 = if first { 840.0 } else { 900.0 + rng.random_range(0.0..120.0) };
                out.push(ev(cal.at(day, t0), victim, What::Token { ok: true }));
                let parts = if first { 8 } else { 4 };
                for j in 0..parts {
                    out.push(ev(cal.at(day, t0 + 2.0 + 7.5 * j as f64), victim, What::Export { count: 5_000 }));
                }
            }
            Attack::ImpossibleTravel => {
                if !first {
                    return;
                }
                out.push(ev(cal.at(day, 630.0), victim, What::Login { ok: true }));
                arrivals(&mut rng, 632.0, 812.0, 120.0, &mut times);
                for t in times {
                    out.push(ev(cal.at(day, t), victim, What::Read { subject: anyone(&mut rng) }));
                }
            }
            Attack::AccountCreator => {
                let t0 = 1230.0;
                out.push(ev(cal.at(day, t0), victim, What::Login { ok: true }));
                if first {
                    for (j, &c) in self.created.iter().enumerate() {
                        out.push(ev(cal.at(day, t0 + 2.0 + j as f64), victim, What::Create { target: c }));
                        out.push(ev(cal.at(day, t0 + 2.5 + j as f64), victim, What::Grant { target: c }));
                    }
                }
                for &c in &self.created {
                    out.push(ev(cal.at(day, t0 + 6.0), c, What::Login { ok: true }));
                    times.clear();
                    arrivals(&mut rng, t0 + 7.0, t0 + 127.0, 300.0, &mut times);
                    for &t in &times {
                        out.push(ev(cal.at(day, t), c, What::Read { subject: anyone(&mut rng) }));
                    }
                }
            }
            Attack::CuriousInsider => {
                if !first {
                    return;
                }
                let (s, e) = hours.unwrap_or((480.0, 1080.0));
                let from = s + (e - s) * 0.6;
                arrivals(&mut rng, from, (from + 120.0).min(e.max(from + 30.0)), 30.0, &mut times);
                for t in times {
                    out.push(at_desk(cal.at(day, t), anyone(&mut rng)));
                }
            }
            Attack::CarefulAttacker => {
                // Three of the victim's working days, in its hours.
                let Some((s, e)) = hours else { return };
                let nth = (self.first_day..=day).filter(|&d| usual_hours(org, cal, self.victim, d).is_some()).count();
                if nth > 3 {
                    return;
                }
                let s = s + rng.random_range(0.0..30.0);
                let e = e - rng.random_range(0.0..30.0);
                out.push(ev(cal.at(day, s), victim, What::Login { ok: true }));
                // Three times the victim's day, all of them people it does not follow.
                arrivals(&mut rng, s + 2.0, e, 3.0 * v.rate, &mut times);
                for t in times {
                    let mut subject = v.pool.0 + rng.random_range(0..v.pool.1.max(1));
                    while v.caseload.contains(&subject) {
                        subject = v.pool.0 + rng.random_range(0..v.pool.1.max(1));
                    }
                    out.push(ev(cal.at(day, t), victim, What::Read { subject }));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::org::{Archetype, BROWSERS, OLDER_BROWSERS, Org, ip_text};
    use crate::sim::{SimConfig, simulate_as};

    #[test]
    fn the_careful_attacker_hides_in_the_victims_isp_hours_and_browser_but_reads_outside_its_caseload() {
        for arch in Archetype::ALL {
            let cfg = SimConfig {
                seed: 4,
                accounts: 300,
                subjects: 200_000,
                days: 14,
                scenarios: vec!["careful_attacker".into()],
                ..SimConfig::default()
            };
            let org = Org::build(cfg.seed, cfg.accounts, cfg.subjects, cfg.days, arch);
            let mut out = Vec::new();
            let (truth, _) = simulate_as(&cfg, arch, &mut out, &|_| {}).unwrap();
            let s = &truth.scenarios[0];
            assert_eq!(s.name, "careful_attacker");
            assert_eq!(s.accounts.len(), 1);
            assert_eq!(s.source_ips.len(), 1);
            let v = org.accounts.iter().find(|a| a.name == s.accounts[0]).unwrap();
            let home = v.home_ip.to_be_bytes();
            let attacker: std::net::Ipv4Addr = s.source_ips[0].parse().unwrap();
            let a = attacker.octets();
            assert_eq!(a[..2], home[..2], "{arch:?}: the victim's ISP range");
            assert_ne!(a[2], home[2], "{arch:?}: a new /24");
            assert_ne!(s.source_ips[0], ip_text(v.office_ip));
            let text = String::from_utf8(out).unwrap();
            let (mut reads, mut days) = (0u64, std::collections::BTreeSet::new());
            let mut own_reads = 0u64;
            for l in text.lines() {
                let e: serde_json::Value = serde_json::from_str(l).unwrap();
                if e["user"]["name"] != *v.name {
                    continue;
                }
                let is_read = e["event"]["action"] == "beneficiary.view";
                if e["source"]["ip"] == *s.source_ips[0] {
                    assert_eq!(e["user_agent"]["original"], OLDER_BROWSERS[v.browser], "{arch:?}");
                    assert_ne!(OLDER_BROWSERS[v.browser], BROWSERS[v.browser]);
                    if is_read {
                        reads += 1;
                        days.insert(e["@timestamp"].as_str().unwrap()[..10].to_string());
                        let id: u32 = e["data_subject"]["ids"][0].as_str().unwrap().parse().unwrap();
                        assert!(!v.caseload.contains(&id), "{arch:?}: {id} is in the caseload");
                    }
                } else if is_read {
                    own_reads += 1;
                }
            }
            assert_eq!(reads, s.records_total);
            // Three working days (a night shift spans two dates).
            let most = if arch == Archetype::Hospital { 6 } else { 3 };
            assert!((2..=most).contains(&days.len()), "{arch:?}: {} days", days.len());
            assert!(reads > 0, "{arch:?}");
            // About three times the victim's own daily reads over its working days.
            if arch == Archetype::Agency {
                assert!(reads as f64 > 0.5 * own_reads as f64, "{reads} against {own_reads} own reads in 14 days");
            }
        }
    }

    #[test]
    fn spraying_fails_against_100_accounts_at_night_then_exports_10000_records() {
        let cfg = SimConfig {
            seed: 9,
            accounts: 300,
            subjects: 200_000,
            days: 14,
            scenarios: vec!["spraying_then_export".into(), "stolen_service_token".into()],
            ..SimConfig::default()
        };
        let mut out = Vec::new();
        let (truth, _) = simulate_as(&cfg, Archetype::Hospital, &mut out, &|_| {}).unwrap();
        let text = String::from_utf8(out).unwrap();
        let spray = &truth.scenarios[0];
        let ip = &spray.source_ips[0];
        let mut failed = std::collections::BTreeSet::new();
        let mut exported = 0u64;
        for l in text.lines().filter(|l| l.contains(&format!("\"ip\":\"{ip}\""))) {
            let e: serde_json::Value = serde_json::from_str(l).unwrap();
            if e["event"]["outcome"] == "failure" {
                failed.insert(e["user"]["name"].as_str().unwrap().to_string());
            }
            if e["event"]["action"] == "beneficiary.export" {
                exported += e["data_subject"]["count"].as_u64().unwrap();
            }
        }
        assert!(failed.len() >= 100, "{} accounts sprayed", failed.len());
        assert!(exported >= 10_000, "{exported}");
        let token = &truth.scenarios[1];
        let first_hour: u64 = token.reads.iter().filter(|r| r.0 < token.start_ms + 3_600_000).map(|r| r.1).sum();
        assert_eq!(first_hour, 40_000);
        let tok = text.lines().find(|l| l.contains(&format!("\"ip\":\"{}\"", token.source_ips[0]))).unwrap();
        assert!(tok.contains("api_token.authenticate") && tok.contains("python-requests"), "{tok}");
    }
}
