//! The organisation: agencies with advisers and a manager, partner
//! organisations with their advisers, a help desk, administrators and
//! service accounts; each person with a caseload, hours, a workstation, a
//! home, a browser.

use rand::Rng;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Adviser,
    Partner,
    Manager,
    HelpDesk,
    Admin,
    Service,
}

impl Kind {
    pub fn role(self) -> &'static str {
        match self {
            Kind::Adviser => "advisor",
            Kind::Partner => "partner_advisor",
            Kind::Manager => "manager",
            Kind::HelpDesk => "support_agent",
            Kind::Admin => "admin",
            Kind::Service => "service",
        }
    }
}

/// A city: name, country, latitude, longitude.
pub type City = (&'static str, &'static str, f64, f64);

pub const CITIES: &[City] = &[
    ("Paris", "FR", 48.857, 2.352),
    ("Lyon", "FR", 45.764, 4.836),
    ("Marseille", "FR", 43.296, 5.370),
    ("Lille", "FR", 50.629, 3.057),
    ("Toulouse", "FR", 43.605, 1.444),
    ("Nantes", "FR", 47.218, -1.554),
    ("Strasbourg", "FR", 48.573, 7.752),
    ("Bordeaux", "FR", 44.838, -0.579),
    ("Rennes", "FR", 48.117, -1.678),
    ("Montpellier", "FR", 43.611, 3.877),
];

/// Where attackers come from (for geolocated sources).
pub const FOREIGN: &[City] = &[
    ("Singapore", "SG", 1.352, 103.820),
    ("Sao Paulo", "BR", -23.550, -46.633),
    ("Lagos", "NG", 6.524, 3.379),
    ("Moscow", "RU", 55.756, 37.617),
];

pub const BROWSERS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 Edg/131.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
];

#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub kind: Kind,
    pub group: String,
    /// Index into CITIES.
    pub city: usize,
    pub office_ip: u32,
    pub home_ip: u32,
    pub browser: usize,
    /// Subject ids this person follows.
    pub caseload: Vec<u32>,
    /// The subject pool of the agency or partner (first id, count).
    pub pool: (u32, u32),
    /// Minutes after midnight (local) the working day starts and ends.
    pub start_min: u32,
    pub end_min: u32,
    /// Weekdays (0 = Monday) worked from home.
    pub remote: Vec<u8>,
    /// Reads an hour when working.
    pub rate: f64,
    /// Sometimes works an hour in the evening.
    pub evening: bool,
    /// Days (from the start) on leave.
    pub leave: Option<(u32, u32)>,
    /// Day the account is created (new hires), if not there from the start.
    pub hired: Option<u32>,
    /// The colleague covered for during that colleague's leave.
    pub covers: Option<usize>,
    /// A day spent at another agency (business travel).
    pub travel_day: Option<(u32, usize)>,
}

pub struct Org {
    pub accounts: Vec<Account>,
    pub subjects: u32,
    /// First subject id (ids are decimal numbers from here).
    pub base_id: u32,
}

/// A public-looking address: `a.b.c.d` packed.
pub fn ip(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from_be_bytes([a, b, c, d])
}

pub fn ip_text(v: u32) -> String {
    std::net::Ipv4Addr::from(v).to_string()
}

impl Org {
    /// Build an organisation of `n` accounts over `subjects` people.
    pub fn new(seed: u64, n: usize, subjects: u32, days: u32) -> Org {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6f72_6700);
        let base_id = 10_000_000;
        let n = n.max(40);
        let services = (n / 100).max(2);
        let helpdesk = (n / 60).max(2);
        let admins = (n / 500).max(1);
        let partners = n / 10;
        let rest = n - services - helpdesk - admins - partners;
        let agencies = (rest / 26).max(2);
        let partner_orgs = (partners / 20).max(1);
        let pools = (agencies + partner_orgs) as u32;
        let per_pool = subjects / pools;
        let mut accounts = Vec::with_capacity(n);
        let mut serial = 0usize;
        let mut name = |prefix: &str| {
            serial += 1;
            format!("{prefix}{serial:05}")
        };
        let person = |rng: &mut ChaCha8Rng, kind: Kind, group: String, pool_ix: u32, city: usize, office: u32| {
            let pool = (base_id + pool_ix * per_pool, per_pool);
            let size = match kind {
                Kind::Adviser | Kind::Partner => rng.random_range(80..180),
                Kind::Manager => 40,
                _ => 0,
            };
            let caseload: Vec<u32> = (0..size).map(|_| pool.0 + rng.random_range(0..pool.1)).collect();
            let start = rng.random_range(480..570);
            let remote: Vec<u8> = match rng.random_range(0..10) {
                0..=3 => vec![],
                4..=7 => vec![rng.random_range(0..5)],
                _ => vec![0, 4],
            };
            Account {
                name: String::new(),
                kind,
                group,
                city,
                office_ip: office,
                home_ip: ip(rng.random_range(80..95), rng.random(), rng.random(), rng.random_range(1..255)),
                browser: rng.random_range(0..BROWSERS.len()),
                caseload,
                pool,
                start_min: start,
                end_min: start + rng.random_range(450..540),
                remote,
                rate: match kind {
                    Kind::Adviser | Kind::Partner => rng.random_range(5.0..14.0),
                    Kind::Manager => rng.random_range(1.0..4.0),
                    _ => 0.0,
                },
                evening: rng.random_bool(0.06),
                leave: None,
                hired: None,
                covers: None,
                travel_day: None,
            }
        };
        for a in 0..agencies {
            let city = a % CITIES.len();
            let office = ip(217, 108, (a % 250) as u8 + 1, 10 + (a / 250) as u8);
            let group = format!("agence-{:03}", a + 1);
            let mut m = person(&mut rng, Kind::Manager, group.clone(), a as u32, city, office);
            m.name = name("mgr");
            accounts.push(m);
            for _ in 0..(rest / agencies).saturating_sub(1) {
                let mut p = person(&mut rng, Kind::Adviser, group.clone(), a as u32, city, office);
                p.name = name("adv");
                accounts.push(p);
            }
        }
        for o in 0..partner_orgs {
            let city = (o * 3 + 1) % CITIES.len();
            let office = ip(193, 50, (o % 250) as u8 + 1, 20);
            let group = format!("partenaire-{:02}", o + 1);
            for _ in 0..partners / partner_orgs {
                let mut p = person(&mut rng, Kind::Partner, group.clone(), (agencies + o) as u32, city, office);
                p.name = name("ptn");
                accounts.push(p);
            }
        }
        for _ in 0..helpdesk {
            let mut p = person(&mut rng, Kind::HelpDesk, "support".into(), 0, 0, ip(217, 108, 2, 40));
            p.name = name("sup");
            accounts.push(p);
        }
        for _ in 0..admins {
            let mut p = person(&mut rng, Kind::Admin, "dsi".into(), 0, 0, ip(217, 108, 1, 5));
            p.name = name("adm");
            accounts.push(p);
        }
        for s in 0..services {
            let mut p =
                person(&mut rng, Kind::Service, "batch".into(), s as u32 % pools, 0, ip(10, 20, 0, 10 + s as u8));
            p.name = format!("svc-batch-{:02}", s + 1);
            p.start_min = 120 + 10 * (s as u32 % 6);
            accounts.push(p);
        }
        // Holidays (with a colleague covering), new hires, business travel.
        let people: Vec<usize> =
            (0..accounts.len()).filter(|&i| matches!(accounts[i].kind, Kind::Adviser | Kind::Partner)).collect();
        let mut shuffled = people.clone();
        shuffled.shuffle(&mut rng);
        let leaves = people.len() / 8;
        for (k, &i) in shuffled.iter().take(leaves).enumerate() {
            let from = rng.random_range(0..days.saturating_sub(5).max(1));
            accounts[i].leave = Some((from, from + 5));
            // A colleague of the same group covers.
            if let Some(&c) = shuffled.iter().skip(leaves + k).find(|&&c| accounts[c].group == accounts[i].group) {
                accounts[c].covers = Some(i);
            }
        }
        let hires = (people.len() / 50).max(1);
        for &i in shuffled.iter().rev().take(hires) {
            accounts[i].hired = Some(days.clamp(1, 7));
        }
        for &i in shuffled.iter().skip(leaves).take(people.len() / 20) {
            let other = rng.random_range(0..accounts.len());
            accounts[i].travel_day = Some((rng.random_range(0..days.max(1)), other));
        }
        Org { accounts, subjects, base_id }
    }
}
