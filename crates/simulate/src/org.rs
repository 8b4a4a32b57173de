//! The organisation, in one of four archetypes (an employment agency with
//! partner advisers, a hospital, a call centre, a portal of outside
//! professionals), each randomised per seed: the naming of accounts, roles
//! and groups, group sizes, reading rates, hours and shift patterns, the
//! service accounts' schedules; each person with a caseload, a schedule,
//! a workstation, a home, a browser. Also the organisation-wide events of
//! the run (a change of egress address, a peer surge, a reorganisation)
//! and the benign caseload takeover.

use rand::Rng;
use rand::SeedableRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand_chacha::ChaCha8Rng;

/// What an account does (its behaviour; the role it shows in the log is
/// `Account::role`, named per archetype and seed). In the archetypes other
/// than the agency, `Adviser` is the organisation's main kind of reader
/// (nurse, call-centre agent, notary) and `Partner` the second one (doctor,
/// outsourced agent, lawyer or accountant).
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
    /// The agency's classic role names.
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

/// The kind of organisation simulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Archetype {
    /// An employment agency with partner advisers, office hours.
    #[default]
    Agency,
    /// 24/7: nurses and doctors on day, evening and night rotations
    /// (weekends included), on-call doctors reading at night, admin staff in
    /// office hours.
    Hospital,
    /// Agents reading a new person at every call, high volume, shifts
    /// including evenings and Saturdays.
    CallCentre,
    /// Outside professionals (notaries, lawyers, accountants): small,
    /// irregular volumes, many idle days, from home, office or mobile.
    Portal,
}

impl Archetype {
    pub const ALL: [Archetype; 4] = [Archetype::Agency, Archetype::Hospital, Archetype::CallCentre, Archetype::Portal];

    pub fn name(self) -> &'static str {
        match self {
            Archetype::Agency => "agency",
            Archetype::Hospital => "hospital",
            Archetype::CallCentre => "callcentre",
            Archetype::Portal => "portal",
        }
    }

    pub fn parse(s: &str) -> Option<Archetype> {
        Archetype::ALL.into_iter().find(|a| a.name() == s)
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

/// The same browsers one version older (agent indices from 50).
pub const OLDER_BROWSERS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36 Edg/130.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
];

/// The clients of service jobs (agent indices from 200).
pub const JOB_CLIENTS: &[&str] =
    &["vigie-etl/2.4 (Java/17)", "reporting-agent/1.9", "Apache-HttpClient/4.5.14 (Java/11.0.21)", "sync-daemon/3.2.0"];

/// A shift of a rota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shift {
    Off,
    Day,
    Evening,
    Night,
}

/// When a person works.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Weekdays from `start_min` to `end_min`, with a lunch break.
    Office,
    /// A rota: the shift of day `d` is `pattern[(weekday0 + d + offset) % len]`
    /// (so an offset that is a multiple of 7 keeps the weekdays), each
    /// shift's window (minutes after local midnight, a night ends after 1440).
    Rota { pattern: Vec<Shift>, offset: u32, windows: [(u32, u32); 3] },
    /// Some days only, with this chance, in one to three short sessions.
    Irregular { p_active: f64 },
    /// A nightly job at `start_min`, its start jittering by up to `jitter`
    /// minutes either way.
    Nightly { jitter: f64 },
}

#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub kind: Kind,
    /// The role it shows in the log (`user.roles`).
    pub role: String,
    pub group: String,
    /// Index into CITIES.
    pub city: usize,
    pub office_ip: u32,
    pub home_ip: u32,
    /// Also works from a mobile connection (a new carrier address each time).
    pub mobile: bool,
    pub browser: usize,
    /// Subject ids this person follows.
    pub caseload: Vec<u32>,
    /// How often a read is of someone in the caseload (else anyone in the pool).
    pub caseload_share: f64,
    /// The subject pool of the group (first id, count).
    pub pool: (u32, u32),
    /// Minutes after midnight (local) the working day starts and ends.
    pub start_min: u32,
    pub end_min: u32,
    pub schedule: Schedule,
    /// Weekdays (0 = Monday) worked from home.
    pub remote: Vec<u8>,
    /// Reads an hour when working.
    pub rate: f64,
    /// Sometimes works an hour in the evening.
    pub evening: bool,
    /// On call: some nights, a few reads from home.
    pub on_call: bool,
    /// Days (from the start) on leave.
    pub leave: Option<(u32, u32)>,
    /// Day the account is created (new hires), if not there from the start.
    pub hired: Option<u32>,
    /// The colleague covered for during that colleague's leave.
    pub covers: Option<usize>,
    /// A day spent at another site (business travel).
    pub travel_day: Option<(u32, usize)>,
    /// A caseload taken over from this day on (new people, normal volume).
    pub takeover: Option<(u32, Vec<u32>)>,
    /// The client of a service job (index into JOB_CLIENTS).
    pub client: usize,
}

/// An organisation-wide event of the run.
#[derive(Debug, Clone, PartialEq)]
pub enum OrgEvent {
    /// From `day` on, the office address of a whole site (`group`), or of
    /// everyone (`None`), changes: the bits of `to` under `mask` replace the
    /// old address's (a new /24, or a new provider's /16).
    Egress { day: u32, group: Option<String>, to: u32, mask: u32 },
    /// A group reads `factor` times as much for `days` days from `day`.
    Surge { day: u32, days: u32, group: String, factor: f64 },
    /// From `day` on, these accounts belong to another group.
    Reorg { day: u32, moves: Vec<(usize, String)> },
}

pub struct Org {
    pub archetype: Archetype,
    pub accounts: Vec<Account>,
    pub subjects: u32,
    /// First subject id (ids are decimal numbers from here).
    pub base_id: u32,
    /// Organisation-wide events (one or two per run).
    pub events: Vec<OrgEvent>,
}

/// A public-looking address: `a.b.c.d` packed.
pub fn ip(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from_be_bytes([a, b, c, d])
}

pub fn ip_text(v: u32) -> String {
    std::net::Ipv4Addr::from(v).to_string()
}

const FIRST: &[&str] = &[
    "jean", "marie", "pierre", "sophie", "luc", "claire", "nicolas", "julie", "thomas", "camille", "antoine", "lea",
    "karim", "ines", "paul", "emma", "hugo", "sarah", "yanis", "manon", "david", "chloe", "olivier", "nadia",
];
const LAST: &[&str] = &[
    "dupont", "martin", "bernard", "durand", "petit", "leroy", "moreau", "simon", "laurent", "lefebvre", "michel",
    "garcia", "david", "bertrand", "roux", "vincent", "fournier", "morel", "girard", "andre", "mercier", "blanc",
    "guerin", "boyer", "benali", "nguyen", "robin", "faure", "rousseau", "henry",
];
const SERVICE_NAMES: &[&str] = &[
    "etl-nightly",
    "reporting_bot",
    "svc-batch",
    "sync.crm",
    "backup-job",
    "export_daily",
    "datawarehouse-load",
    "app-integration",
];

/// How accounts are named in this organisation.
struct Naming {
    style: u8,
    used: rustc_hash::FxHashSet<String>,
    serial: usize,
}

impl Naming {
    fn name(&mut self, rng: &mut ChaCha8Rng, prefix: &str) -> String {
        loop {
            self.serial += 1;
            let f = FIRST.choose(rng).copied().unwrap_or("jean");
            let l = LAST.choose(rng).copied().unwrap_or("dupont");
            let n = match self.style {
                0 => format!("{prefix}{:05}", self.serial),
                1 => format!("{}{l}", &f[..1]),
                2 => format!("u{}", rng.random_range(100_000..999_999)),
                _ => format!("{f}.{l}"),
            };
            let n = if self.used.contains(&n) && self.style != 0 && self.style != 2 {
                format!("{n}{}", rng.random_range(2..99))
            } else {
                n
            };
            if self.used.insert(n.clone()) {
                return n;
            }
        }
    }
}

/// One kind of population of an archetype.
struct Population {
    kind: Kind,
    /// Share of the accounts (before help desk, admins and services).
    share: f64,
    role: &'static str,
    prefix: &'static str,
}

impl Org {
    /// Build an agency of `n` accounts over `subjects` people.
    pub fn new(seed: u64, n: usize, subjects: u32, days: u32) -> Org {
        Org::build(seed, n, subjects, days, Archetype::Agency)
    }

    /// Build an organisation of the given archetype.
    pub fn build(seed: u64, n: usize, subjects: u32, days: u32, archetype: Archetype) -> Org {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6f72_6700 ^ ((archetype as u64) << 40));
        let base_id = 10_000_000;
        let n = n.max(40);
        let services = (n / 100).max(2);
        let helpdesk = (n / 60).max(2);
        let admins = (n / 500).max(1);
        let readers = n - services - helpdesk - admins;
        let mut naming = Naming { style: rng.random_range(0..4), used: Default::default(), serial: 0 };
        let pick = |rng: &mut ChaCha8Rng, xs: &[&'static str]| xs.choose(rng).copied().unwrap_or("");
        // The populations, their role names and group names, per archetype.
        let (pops, group_style, site_word): (Vec<Population>, u8, &str) = match archetype {
            Archetype::Agency => (
                vec![
                    Population {
                        kind: Kind::Adviser,
                        share: rng.random_range(0.80..0.90),
                        role: pick(&mut rng, &["advisor", "conseiller", "case_worker"]),
                        prefix: "adv",
                    },
                    Population {
                        kind: Kind::Partner,
                        share: rng.random_range(0.08..0.16),
                        role: pick(&mut rng, &["partner_advisor", "cap_emploi", "external_advisor"]),
                        prefix: "ptn",
                    },
                ],
                rng.random_range(0..3),
                pick(&mut rng, &["agence", "site", "AG"]),
            ),
            Archetype::Hospital => (
                vec![
                    Population {
                        kind: Kind::Adviser,
                        share: rng.random_range(0.55..0.70),
                        role: pick(&mut rng, &["nurse", "ide", "infirmier"]),
                        prefix: "inf",
                    },
                    Population {
                        kind: Kind::Partner,
                        share: rng.random_range(0.15..0.25),
                        role: pick(&mut rng, &["doctor", "physician", "medecin"]),
                        prefix: "med",
                    },
                    Population {
                        kind: Kind::Manager,
                        share: rng.random_range(0.08..0.15),
                        role: pick(&mut rng, &["admin_staff", "secretariat", "admissions"]),
                        prefix: "sec",
                    },
                ],
                rng.random_range(0..3),
                pick(&mut rng, &["service", "ward", "pole"]),
            ),
            Archetype::CallCentre => (
                vec![
                    Population {
                        kind: Kind::Adviser,
                        share: rng.random_range(0.70..0.85),
                        role: pick(&mut rng, &["agent", "teleconseiller", "csr"]),
                        prefix: "agt",
                    },
                    Population {
                        kind: Kind::Partner,
                        share: rng.random_range(0.08..0.18),
                        role: pick(&mut rng, &["outsourced_agent", "bpo_agent", "prestataire"]),
                        prefix: "ext",
                    },
                    Population {
                        kind: Kind::Manager,
                        share: rng.random_range(0.04..0.08),
                        role: pick(&mut rng, &["team_lead", "superviseur"]),
                        prefix: "sup",
                    },
                ],
                rng.random_range(0..3),
                pick(&mut rng, &["team", "plateau", "equipe"]),
            ),
            Archetype::Portal => (
                vec![
                    Population {
                        kind: Kind::Adviser,
                        share: rng.random_range(0.40..0.60),
                        role: pick(&mut rng, &["notary", "notaire"]),
                        prefix: "not",
                    },
                    Population {
                        kind: Kind::Partner,
                        share: rng.random_range(0.35..0.55),
                        role: pick(&mut rng, &["lawyer", "accountant", "avocat", "expert_comptable"]),
                        prefix: "pro",
                    },
                    Population {
                        kind: Kind::Manager,
                        share: rng.random_range(0.02..0.05),
                        role: pick(&mut rng, &["portal_manager", "gestionnaire"]),
                        prefix: "gst",
                    },
                ],
                rng.random_range(0..3),
                pick(&mut rng, &["cabinet", "etude", "firm"]),
            ),
        };
        let group_name = |word: &str, k: usize, city: usize| match group_style {
            0 => format!("{word}-{:03}", k + 1),
            1 => format!("{}_{}_{:02}", word.to_uppercase(), CITIES[city].0, k + 1),
            _ => format!("{word}.{}.{}", CITIES[city].0.to_lowercase(), k + 1),
        };
        // Group sizes: the agency's agencies of about 26, wards of 15-40,
        // call-centre teams of 10-20, portal firms of 1-6.
        let size = match archetype {
            Archetype::Agency => rng.random_range(18..36),
            Archetype::Hospital => rng.random_range(15..40),
            Archetype::CallCentre => rng.random_range(10..20),
            Archetype::Portal => rng.random_range(2..7),
        };
        let pools = (readers / size).max(2) as u32;
        let per_pool = (subjects / pools).max(1);
        let tz_shift = rng.random_range(-30i32..30);
        // Shift windows of the rotas, per seed.
        let day0: u32 = rng.random_range(390..450);
        let hospital_windows = [(day0, day0 + 480), (day0 + 470, day0 + 950), (day0 + 940, day0 + 1440)];
        let cc_windows = {
            let d = rng.random_range(450..540);
            [(d, d + 450), (d + 300 + rng.random_range(0..60), d + 750 + rng.random_range(0..60)), (0, 0)]
        };
        // A hospital rota cycle (nurses), per seed: working blocks of shifts.
        let rota = |rng: &mut ChaCha8Rng| -> Vec<Shift> {
            let len = rng.random_range(10..15);
            let mut p = Vec::with_capacity(len);
            while p.len() < len {
                let s = [Shift::Day, Shift::Evening, Shift::Night][rng.random_range(0..3)];
                for _ in 0..rng.random_range(2..4) {
                    p.push(s);
                }
                for _ in 0..rng.random_range(1..3) {
                    p.push(Shift::Off);
                }
            }
            p.truncate(len);
            p
        };
        let mut accounts: Vec<Account> = Vec::with_capacity(n);
        let person = |rng: &mut ChaCha8Rng, kind: Kind, role: &str, group: String, pool_ix: u32, city: usize| {
            let pool = (base_id + (pool_ix % pools) * per_pool, per_pool);
            let (csize, share) = match (archetype, kind) {
                (Archetype::CallCentre, Kind::Adviser | Kind::Partner) => (rng.random_range(5..20), 0.03),
                (Archetype::Portal, Kind::Adviser | Kind::Partner) => (rng.random_range(10..40), 0.8),
                (Archetype::Hospital, Kind::Adviser | Kind::Partner) => (rng.random_range(30..90), 0.85),
                (_, Kind::Adviser | Kind::Partner) => (rng.random_range(80..180), 0.85),
                (_, Kind::Manager) => (40, 0.6),
                _ => (0, 0.0),
            };
            let caseload: Vec<u32> = (0..csize).map(|_| pool.0 + rng.random_range(0..pool.1)).collect();
            let start = (rng.random_range(480..570i32) + tz_shift) as u32;
            let remote: Vec<u8> = match rng.random_range(0..10) {
                0..=3 => vec![],
                4..=7 => vec![rng.random_range(0..5)],
                _ => vec![0, 4],
            };
            let rate = match (archetype, kind) {
                (Archetype::Agency, Kind::Adviser | Kind::Partner) => rng.random_range(4.0..15.0),
                (Archetype::Hospital, Kind::Adviser) => rng.random_range(3.0..10.0),
                (Archetype::Hospital, Kind::Partner) => rng.random_range(2.0..7.0),
                (Archetype::CallCentre, Kind::Adviser | Kind::Partner) => rng.random_range(10.0..25.0),
                (Archetype::Portal, Kind::Adviser | Kind::Partner) => rng.random_range(4.0..20.0),
                (Archetype::Hospital, Kind::Manager) => rng.random_range(4.0..10.0),
                (_, Kind::Manager) => rng.random_range(1.0..4.0),
                _ => 0.0,
            };
            let schedule = match (archetype, kind) {
                (Archetype::Hospital, Kind::Adviser) => {
                    Schedule::Rota { pattern: rota(rng), offset: rng.random_range(0..14), windows: hospital_windows }
                }
                (Archetype::Hospital, Kind::Partner) => {
                    // Doctors: mostly day shifts, weekends by turn, some nights.
                    let mut p = vec![Shift::Day; 7];
                    p[rng.random_range(0..7)] = Shift::Off;
                    p[rng.random_range(0..7)] = Shift::Off;
                    if rng.random_bool(0.4) {
                        p[rng.random_range(0..7)] = Shift::Night;
                    }
                    Schedule::Rota { pattern: p, offset: rng.random_range(0..7), windows: hospital_windows }
                }
                (Archetype::CallCentre, Kind::Adviser | Kind::Partner) => {
                    // Two weeks: one of day shifts, one of evening shifts, Monday
                    // to Saturday with one day off, Sundays off.
                    let mut p = Vec::with_capacity(14);
                    for s in [Shift::Day, Shift::Evening] {
                        let off = rng.random_range(0..6);
                        for d in 0..7 {
                            p.push(if d == 6 || d == off { Shift::Off } else { s });
                        }
                    }
                    Schedule::Rota { pattern: p, offset: 7 * rng.random_range(0..2), windows: cc_windows }
                }
                (Archetype::Portal, Kind::Adviser | Kind::Partner) => {
                    Schedule::Irregular { p_active: rng.random_range(0.1..0.5) }
                }
                _ => Schedule::Office,
            };
            Account {
                name: String::new(),
                kind,
                role: role.to_string(),
                group,
                city,
                office_ip: 0,
                home_ip: ip(rng.random_range(80..95), rng.random(), rng.random(), rng.random_range(1..255)),
                mobile: archetype == Archetype::Portal && rng.random_bool(0.6),
                browser: rng.random_range(0..BROWSERS.len()),
                caseload,
                caseload_share: share,
                pool,
                start_min: start,
                end_min: start + rng.random_range(450..540),
                schedule,
                remote: if archetype == Archetype::Agency || kind == Kind::Manager { remote } else { vec![] },
                rate,
                evening: rng.random_bool(0.06),
                on_call: archetype == Archetype::Hospital && kind == Kind::Partner && rng.random_bool(0.3),
                leave: None,
                hired: None,
                covers: None,
                travel_day: None,
                takeover: None,
                client: 0,
            }
        };
        // Readers, group by group: each group a site with its office address.
        let site_a = rng.random_range(176..223u8);
        let site_b = rng.random();
        let mut group_ix = 0usize;
        let shares: f64 = pops.iter().map(|p| p.share).sum();
        let mut left = readers;
        for (k, pop) in pops.iter().enumerate() {
            let count = if k + 1 == pops.len() {
                left.max(1)
            } else {
                ((readers as f64) * pop.share / shares).round().clamp(1.0, left.saturating_sub(1).max(1) as f64)
                    as usize
            };
            left = left.saturating_sub(count);
            let mut made = 0;
            while made < count {
                let g = match archetype {
                    Archetype::Portal => rng.random_range(1..size + 1),
                    _ => ((size as f64) * rng.random_range(0.6..1.4)).round().max(3.0) as usize,
                }
                .min(count - made);
                let city = rng.random_range(0..CITIES.len());
                let office = if archetype == Archetype::Portal {
                    ip(rng.random_range(80..95), rng.random(), rng.random(), rng.random_range(1..255))
                } else {
                    ip(site_a, site_b, (group_ix % 250) as u8 + 1, 10 + (group_ix / 250) as u8)
                };
                let gname = match (archetype, pop.kind) {
                    (Archetype::Portal, _) => {
                        format!("{site_word}-{}-{}", LAST.choose(&mut rng).copied().unwrap_or("x"), group_ix + 1)
                    }
                    (_, Kind::Partner) if archetype == Archetype::Agency => format!("partenaire-{:02}", group_ix + 1),
                    _ => group_name(site_word, group_ix, city),
                };
                // The agency's manager leads each agency.
                for k in 0..g {
                    let kind = if archetype == Archetype::Agency && pop.kind == Kind::Adviser && k == 0 {
                        Kind::Manager
                    } else {
                        pop.kind
                    };
                    let role = if kind == Kind::Manager && pop.kind != Kind::Manager { "manager" } else { pop.role };
                    let mut p = person(&mut rng, kind, role, gname.clone(), group_ix as u32, city);
                    p.office_ip = office;
                    p.name = naming.name(&mut rng, if kind == Kind::Manager { "mgr" } else { pop.prefix });
                    accounts.push(p);
                }
                made += g;
                group_ix += 1;
            }
        }
        let it_group = pick(&mut rng, &["support", "dsi", "it-ops", "helpdesk"]);
        let hd_role = pick(&mut rng, &["support_agent", "helpdesk"]);
        for _ in 0..helpdesk {
            let mut p = person(&mut rng, Kind::HelpDesk, hd_role, it_group.into(), 0, 0);
            p.office_ip = ip(site_a, site_b, 252, 40);
            p.name = naming.name(&mut rng, "sup");
            accounts.push(p);
        }
        let admin_role = pick(&mut rng, &["admin", "iam_admin"]);
        for _ in 0..admins {
            let mut p = person(&mut rng, Kind::Admin, admin_role, "dsi".into(), 0, 0);
            p.office_ip = ip(site_a, site_b, 253, 5);
            p.name = naming.name(&mut rng, "adm");
            accounts.push(p);
        }
        let mut svc_names: Vec<&str> = SERVICE_NAMES.to_vec();
        svc_names.shuffle(&mut rng);
        let reader_role = accounts.first().map(|a| a.role.clone()).unwrap_or_default();
        for s in 0..services {
            let role = match rng.random_range(0..3) {
                0 => "service".to_string(),
                1 => "batch".to_string(),
                _ => reader_role.clone(),
            };
            let group = pick(&mut rng, &["batch", "dsi", "integration"]);
            let mut p = person(&mut rng, Kind::Service, &role, group.into(), s as u32, 0);
            p.office_ip = ip(10, 20, 0, 10 + s as u8);
            p.name = match svc_names.get(s) {
                Some(n) if s < svc_names.len() => n.to_string(),
                _ => format!("svc-batch-{:02}", s + 1),
            };
            p.start_min = rng.random_range(20..300);
            p.schedule = Schedule::Nightly { jitter: rng.random_range(10.0..20.0) };
            p.client = rng.random_range(0..JOB_CLIENTS.len());
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
        // A caseload takeover: an adviser takes over new people mid-run.
        let hires_from = shuffled.len().saturating_sub(hires);
        if let Some(&i) = shuffled.iter().take(hires_from).skip(leaves + people.len() / 20).find(|&&i| {
            let a = &accounts[i];
            a.covers.is_none() && a.leave.is_none() && a.travel_day.is_none() && a.caseload_share > 0.5
        }) {
            let a = &accounts[i];
            let fresh: Vec<u32> =
                (0..a.caseload.len().max(20)).map(|_| a.pool.0 + rng.random_range(0..a.pool.1.max(1))).collect();
            let day = rng.random_range(days / 3..(days * 2 / 3).max(days / 3 + 1));
            accounts[i].takeover = Some((day, fresh));
        }
        let mut org = Org { archetype, accounts, subjects, base_id, events: Vec::new() };
        org.events = org_events(&mut rng, &org, days);
        org
    }

    /// The group an account belongs to on `day` (after a reorganisation).
    pub fn group_on(&self, i: usize, day: u32) -> &str {
        for e in &self.events {
            if let OrgEvent::Reorg { day: d, moves } = e
                && day >= *d
                && let Some((_, g)) = moves.iter().find(|(j, _)| *j == i)
            {
                return g;
            }
        }
        self.accounts.get(i).map_or("", |a| a.group.as_str())
    }

    /// An office address on `day` (after a change of egress).
    pub fn egress(&self, i: usize, addr: u32, day: u32) -> u32 {
        let mut addr = addr;
        for e in &self.events {
            if let OrgEvent::Egress { day: d, group, to, mask } = e
                && day >= *d
                && group.as_ref().is_none_or(|g| self.accounts.get(i).is_some_and(|a| &a.group == g))
            {
                addr = (to & mask) | (addr & !mask);
            }
        }
        addr
    }

    /// The reading-rate factor of a group on `day` (a peer-wide surge).
    pub fn surge(&self, group: &str, day: u32) -> f64 {
        let mut f = 1.0;
        for e in &self.events {
            if let OrgEvent::Surge { day: d, days, group: g, factor } = e
                && g == group
                && day >= *d
                && day < d + days
            {
                f *= factor;
            }
        }
        f
    }
}

/// One or two organisation-wide events, randomised per seed.
fn org_events(rng: &mut ChaCha8Rng, org: &Org, days: u32) -> Vec<OrgEvent> {
    let mut kinds = vec![0u8, 1, 2];
    kinds.shuffle(rng);
    kinds.truncate(rng.random_range(1..3));
    kinds.sort();
    let readers: Vec<usize> = (0..org.accounts.len())
        .filter(|&i| matches!(org.accounts[i].kind, Kind::Adviser | Kind::Partner | Kind::Manager))
        .collect();
    let mut groups: Vec<&str> = readers.iter().map(|&i| org.accounts[i].group.as_str()).collect();
    groups.sort();
    groups.dedup();
    let some_day = |rng: &mut ChaCha8Rng| rng.random_range(1..days.max(2));
    let mut out = Vec::new();
    for k in kinds {
        match k {
            0 => {
                let day = some_day(rng);
                if org.archetype != Archetype::Portal && rng.random_bool(0.5) && !groups.is_empty() {
                    let g = groups[rng.random_range(0..groups.len())];
                    let to = ip(rng.random_range(176..223), rng.random(), rng.random(), 0);
                    out.push(OrgEvent::Egress { day, group: Some(g.to_string()), to, mask: 0xffff_ff00 });
                } else {
                    let to = ip(rng.random_range(176..223), rng.random(), 0, 0);
                    out.push(OrgEvent::Egress { day, group: None, to, mask: 0xffff_0000 });
                }
            }
            1 if !groups.is_empty() => {
                let g = groups[rng.random_range(0..groups.len())];
                out.push(OrgEvent::Surge {
                    day: some_day(rng),
                    days: rng.random_range(1..3),
                    group: g.to_string(),
                    factor: rng.random_range(2.0..4.0),
                });
            }
            2 if groups.len() >= 2 => {
                let mut moves = Vec::new();
                for &i in &readers {
                    if rng.random_bool(0.1) {
                        let own = org.accounts[i].group.as_str();
                        let others: Vec<&&str> = groups.iter().filter(|g| **g != own).collect();
                        if let Some(g) = others.choose(rng) {
                            moves.push((i, g.to_string()));
                        }
                    }
                }
                out.push(OrgEvent::Reorg { day: some_day(rng), moves });
            }
            _ => {}
        }
    }
    out
}
