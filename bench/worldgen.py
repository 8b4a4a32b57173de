#!/usr/bin/env python3
"""Independent ground-truth world generator for vigie (the "outside world").

Written without reading vigie's simulator or analytics: it shares no code and
no assumption with them. Python 3 standard library only.

    python3 bench/worldgen.py --archetype agency --seed 1 --accounts 300 \
        --days 14 --out events.jsonl --truth truth.json [--start 2026-03-02]

Output: JSON lines in the canonical schema (docs/event-schema.md), in time
order, and a ground truth in the format of crates/simulate/src/truth.rs
(plus an "archetype" field). The organisation lives in Europe/Paris. The log
begins the day the engine is deployed: there is no history. Attacks happen
only in the last 40% of the period; benign look-alikes may start on day 0.

SEED POLICY
  Seeds 1-5 are for tuning. Seeds 1001-1005 are HELD OUT: whoever tunes vigie
  must not look at their results until the final report. bench/indep-eval.sh
  defaults to seeds 1-5. Output is deterministic per (archetype, seed,
  accounts, days, start); every random stream derives from
  "archetype:seed:purpose".

PER-SEED RANDOMISATION
  Naming conventions (accounts, groups, roles, actions, datasets, subject
  ids), office hours, lunch, remote days and remote-access mode (VPN or
  direct from home ISP), shift patterns, read rates, caseload sizes, browser
  fleet (managed Edge/Chrome or mixed) and rollout dates, service job names,
  roles and schedules, whether the log carries geo enrichment (80% of seeds),
  whether one producer sends data_subject.ids as a bare string, and one or
  two organisation-wide events: egress change (one site gets a new /24, or
  everyone moves to a new provider), peer-wide surge (a group reads 2-4x for
  one or two days), reorganisation (~10% of people move groups).

ARCHETYPES
  agency      Employment agency: local offices (groups), advisers with
              caseloads of ~60-250 jobseekers, managers (weekly and monthly
              team exports), help desk (password resets), IAM admins (new
              hires, role grants), partner organisations' advisers (own
              offices and ISPs). Office hours with lunch and 0-2 remote days
              a week; some advisers do reception duty (people outside the
              caseload).
  hospital    24/7 hospital: nurses and doctors on day/evening/night
              rotations (8h or 12h, per seed) including weekends; ward census
              turns over daily (A&E fast); doctors consult other wards and
              read from home when on call at night; admissions/billing clerks
              in office hours read many patients; external partners (GPs,
              labs) read a few of their patients.
  callcentre  Contact centre: agents read a new person on almost every call
              (50-110 calls a shift), shifts from 08:00 to 21:00 and
              Saturdays; team leads review calls; an offshore outsourcer
              (BPO) works from abroad (Morocco/Tunisia/Senegal/Portugal).
  portal      Portal for outside professionals (notaries, lawyers,
              accountants, bailiffs) in small firms sharing an office
              address: irregular, small volumes (1-20 people a session, a
              few sessions a week, many idle days), home or office, varied
              browsers; practice-software integrations call the API from a
              vendor's cloud; a small internal staff (support, admins,
              reviewers).

EVERYDAY NOISE AND BENIGN LOOK-ALIKES (listed in truth "benign")
  manager_export        weekly (Monday) and monthly (1st working day) team
                        exports by managers/reviewers, from day 0.
  service_job_jitter    nightly/hourly/weekly jobs, token or client-credential
                        auth from a fixed server, start jitter 10-20 min.
  new_hire              admin creates the account and grants roles in office
                        hours; the hire ramps up over a week on new people.
  covering_colleague    a colleague on leave; another reads their caseload.
  caseload_takeover     an adviser/professional takes over a new caseload
                        (new people, normal volume, usual address/browser).
  helpdesk_reset_genuine  failed logins, help-desk reset, owner logs in from
                        the usual place minutes later.
  business_travel       another office of the organisation, or a trip abroad
                        (hotel address) with normal low volume.
  browser_update        version bumps rolled over days across the fleet.
  egress_change, peer_surge, reorganisation   (organisation-wide, above).
  night_shift_work      hospital night/weekend shifts; on-call reads at night.
  high_volume_agents    call-centre agents reading 50-110 new people a day.
  offshore_outsourcer   call-centre BPO agents working from abroad.
  cloud_integration     portal practice-software integrations from cloud IPs.
  Plus unlisted noise: login typos (failure then success), remote work from
  home ISPs (dynamic addresses change now and then), searches returning a
  few people, reception duty.

ATTACKS (eight per run, in the last 40% of the period, every malicious data
access recorded in truth "reads")
  helpdesk_reset_takeover   a caller gets the help desk to reset a staff
      member's password (victim on leave); the attacker logs in hours later
      from a hosting/foreign address with another browser and harvests
      hundreds of people an hour in evenings and at weekends, for days.
  spray_then_success        ~03:00 one address fails against 100+ accounts
      (1-2 tries each) in ~20 min, succeeds on one, exports 10k+ records in
      30-60 min, then reads steadily through the night(s).
  stolen_service_token      a service account's token used from a cloud
      address with python-requests, 40k records exported in the first hour
      and more later, off the job's schedule.
  careful_attacker          a staff member's phished credentials used in the
      victim's usual hours, from the victim's ISP but a new /24, same browser
      one version older, ~3x the victim's daily reads, all outside the
      victim's working set, three days.
  stolen_partner_or_professional_credentials   a partner's / professional's
      account from a new address and new browser in business hours,
      100-300 people an hour.
  impossible_travel         an account used from another continent while its
      owner works from the usual place the same day.
  rogue_account_creator     a help-desk or admin account, out of hours,
      creates 2-3 accounts and grants roles; they read hundreds an hour.
  curious_insider           an employee reads 40-80 people outside their
      caseload over an afternoon, from the office, normal browser.
Accounts in a scenario: stolen/abused accounts and accounts created by the
attacker. Not in it: spray targets that only failed, the tricked help-desk
agent.
"""

import argparse
import json
import math
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Europe/Paris")
DAY_MS = 86_400_000

# ---------------------------------------------------------------- reference data
CITIES_FR = [
    ("Paris", 48.857, 2.352), ("Lyon", 45.764, 4.836), ("Marseille", 43.297, 5.381),
    ("Toulouse", 43.605, 1.444), ("Lille", 50.629, 3.057), ("Nantes", 47.218, -1.554),
    ("Strasbourg", 48.573, 7.752), ("Bordeaux", 44.838, -0.579), ("Rennes", 48.117, -1.678),
    ("Montpellier", 43.611, 3.877), ("Nice", 43.710, 7.262), ("Grenoble", 45.188, 5.724),
    ("Dijon", 47.322, 5.041), ("Rouen", 49.443, 1.099), ("Reims", 49.258, 4.032),
    ("Tours", 47.394, 0.685), ("Limoges", 45.834, 1.261), ("Clermont-Ferrand", 45.778, 3.087),
    ("Amiens", 49.894, 2.296), ("Metz", 49.119, 6.176), ("Brest", 48.390, -4.486),
    ("Caen", 49.183, -0.371), ("Orleans", 47.903, 1.909), ("Perpignan", 42.699, 2.895),
    ("Besancon", 47.238, 6.024), ("Poitiers", 46.580, 0.340), ("Pau", 43.295, -0.370),
    ("Le Mans", 48.006, 0.199), ("Angers", 47.478, -0.563), ("Nancy", 48.692, 6.184),
]
# home / office ISPs in France: first octets (invented allocation, stable per run)
ISPS_FR = {"orange": ["90", "86", "92", "2"], "free": ["82", "88", "78"],
           "sfr": ["109", "77", "93"], "bouygues": ["176", "89", "5"]}
# hosting providers and VPN exits: (provider, first octets, country, lat, lon)
HOSTING = [
    ("ovh", "51.38", "FR", 50.69, 3.17), ("ovh", "54.37", "FR", 48.86, 2.35),
    ("scaleway", "163.172", "FR", 48.86, 2.35), ("hetzner", "95.216", "DE", 50.48, 12.37),
    ("hetzner", "135.181", "FI", 60.17, 24.94), ("digitalocean", "164.90", "NL", 52.37, 4.90),
    ("digitalocean", "167.99", "US", 40.79, -74.06), ("aws", "3.120", "DE", 50.11, 8.68),
    ("aws", "18.200", "US", 39.04, -77.49), ("azure", "20.74", "NL", 52.37, 4.90),
    ("m247", "185.156", "RO", 44.43, 26.10), ("linode", "172.105", "GB", 51.51, -0.13),
]
# foreign residential/mobile: (country, first octet, lat, lon, continent)
FOREIGN = [
    ("US", "73", 41.88, -87.63, "NA"), ("US", "98", 33.75, -84.39, "NA"),
    ("BR", "177", -23.55, -46.63, "SA"), ("VN", "113", 10.82, 106.63, "AS"),
    ("NG", "105", 6.52, 3.38, "AF"), ("IN", "49", 19.08, 72.88, "AS"),
    ("ID", "36", -6.21, 106.85, "AS"), ("CA", "142", 45.50, -73.57, "NA"),
]
EUROPE_HOTEL = [("DE", "84", 52.52, 13.40), ("BE", "81", 50.85, 4.35), ("ES", "83", 40.42, -3.70),
                ("IT", "79", 41.90, 12.50), ("GB", "86", 51.51, -0.13), ("CH", "85", 46.20, 6.14)]
BPO_SITES = [("MA", "105", 33.57, -7.59), ("TN", "197", 36.81, 10.18),
             ("SN", "41", 14.72, -17.47), ("PT", "94", 38.72, -9.14)]

UA_T = {
    "chrome-win": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "edge-win": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.{b}.{c}",
    "firefox-win": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    "chrome-mac": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "safari-mac": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{v}.{b} Safari/605.1.15",
    "firefox-mac": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    "safari-ios": "Mozilla/5.0 (iPhone; CPU iPhone OS {v}_{b} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{v}.{b} Mobile/15E148 Safari/604.1",
    "chrome-linux": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36",
    "firefox-linux": "Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
}
UA_BASE = {"chrome": 133, "edge": 133, "firefox": 135, "safari": 18}
SYLL = ["ba", "ri", "lo", "ma", "ne", "to", "su", "va", "de", "mi", "ro", "la", "ca", "po", "ti",
        "ze", "gu", "fa", "be", "no", "sa", "le", "ju", "ko", "ar", "el", "in", "or", "an", "ou"]


def family(kind):
    return kind.split("-")[0]


class Browser:
    """A browser install: family/os template and version; may update on a day."""
    __slots__ = ("kind", "v", "b", "c", "update_day", "_cache")

    def __init__(self, kind, v, update_day=None, rng=None):
        self.kind, self.v, self.update_day = kind, v, update_day
        rng = rng or random
        self.b, self.c = rng.randint(0, 6), rng.randint(10, 140)
        self._cache = {}

    def version(self, day):
        return self.v + (1 if self.update_day is not None and day >= self.update_day else 0)

    def ua(self, day, delta=0):
        v = self.version(day) + delta
        s = self._cache.get(v)
        if s is None:
            s = UA_T[self.kind].format(v=v, b=self.b, c=self.c)
            self._cache[v] = s
        return s


class Net:
    """A /24 with optional geo (None for private addresses)."""
    __slots__ = ("prefix", "geo", "label")

    def __init__(self, prefix, geo, label):
        self.prefix, self.geo, self.label = prefix, geo, label

    def addr(self, host):
        return "%s.%d" % (self.prefix, host)


class Site:
    __slots__ = ("name", "city", "net", "hosts", "new_net", "change_day")

    def __init__(self, name, city, net, hosts):
        self.name, self.city, self.net, self.hosts = name, city, net, hosts
        self.new_net, self.change_day = None, None

    def ip(self, day, rng):
        net = self.new_net if self.change_day is not None and day >= self.change_day else self.net
        return net.addr(rng.choice(self.hosts))


class Account:
    __slots__ = ("name", "kind", "title", "roles", "group", "site", "home_ip", "home_isp", "browser",
                 "rate", "caseload", "pattern", "remote_days", "leave", "hired", "user_obj", "team",
                 "extra", "travel", "typo", "forgot", "covering", "takeover", "surge", "idx", "job",
                 "p_active", "ward", "alt_browser")

    def __init__(self, name, kind, title, roles, group, site):
        self.name, self.kind, self.title, self.roles, self.group, self.site = name, kind, title, roles, group, site
        self.home_ip = self.home_isp = self.browser = self.alt_browser = None
        self.rate = 0.0
        self.caseload = []
        self.pattern = None
        self.remote_days = set()
        self.leave = set()
        self.hired = None         # (day, admin) for new hires
        self.team = None
        self.extra = {}
        self.travel = {}          # day -> ("site", Site) | ("abroad", ip)
        self.typo = 0.03
        self.forgot = set()       # days when the password is forgotten
        self.covering = {}        # day -> Account covered
        self.takeover = None      # (day, new caseload)
        self.surge = {}           # day -> multiplier
        self.job = None
        self.p_active = 1.0
        self.ward = None
        self.user_obj = None
        self.refresh()

    def refresh(self):
        self.user_obj = {"name": self.name, "roles": list(self.roles), "group": {"name": self.group}}


class Scenario:
    def __init__(self, world, name, description):
        self.w, self.name, self.description = world, name, description
        self.accounts, self.ips = [], []
        self.reads = []
        self.first = self.last = None
        self.ids = set()
        self.bulk = 0

    def acct(self, a):
        if a.name not in self.accounts:
            self.accounts.append(a.name)
        return self.accounts.index(a.name)

    def ip(self, ip):
        if ip not in self.ips:
            self.ips.append(ip)
        return self.ips.index(ip)

    def mark(self, ms):
        self.first = ms if self.first is None else min(self.first, ms)
        self.last = ms if self.last is None else max(self.last, ms)

    def record(self, ms, a, ip, ids=None, count=None):
        self.mark(ms)
        if ids is not None:
            self.ids.update(ids)
            n = len(ids)
        else:
            n = count
            self.bulk += count
        self.reads.append([ms, n, self.acct(a), self.ip(ip)])

    def to_json(self):
        return {"name": self.name, "description": self.description, "accounts": self.accounts,
                "source_ips": self.ips, "start": fmt_ts(self.first), "end": fmt_ts(self.last),
                "start_ms": self.first, "end_ms": self.last, "reads": self.reads,
                "records_total": sum(r[1] for r in self.reads),
                "subjects_exposed": len(self.ids) + self.bulk}


_DATE_CACHE = {}


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"))


def fmt_ts(ms):
    d, rem = divmod(ms, DAY_MS)
    ds = _DATE_CACHE.get(d)
    if ds is None:
        ds = (date(1970, 1, 1) + timedelta(days=d)).isoformat()
        _DATE_CACHE[d] = ds
    s, msec = divmod(rem, 1000)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return "%sT%02d:%02d:%02d.%03dZ" % (ds, h, m, s, msec)


# ---------------------------------------------------------------- the world
class World:
    """Organisation-independent machinery: clock, addresses, events, noise."""
    ARCH = "base"
    CATEGORIES = ["identity", "contact", "address"]

    def __init__(self, seed, n_accounts, days, start):
        self.seed, self.n, self.days, self.start = seed, n_accounts, days, start
        self.rng = self.stream("main")
        self.accounts, self.by_name = [], {}
        self.buckets = {}
        self.seq = 0
        self.events = 0
        self.nets = set()
        self.geo_of = {}
        self.jcache, self.jsrc, self.jhead, self.jua = {}, {}, {}, {}
        self.j_cats = dumps(self.CATEGORIES)
        self.src_cache = {}
        self.scenarios, self.benign = [], []
        self.geo_on = self.stream("geo").random() < 0.8
        r = self.stream("style")
        self.read_cat = r.choice([["database"], ["database"], ["web"]])
        self.ds_audit = r.choice(["app.audit", "%s.audit" % self.ARCH, "dossier.access", "core.audit"])
        self.ds_auth = r.choice(["app.auth", "sso.auth", "%s.auth" % self.ARCH, "idp.audit"])
        self.login_action = r.choice(["user_login", "login", "auth.login", "session.login"])
        self.reset_action = r.choice(["user.password_reset", "password.reset", "reset_password", "admin.password.reset"])
        self.create_action = r.choice(["user.create", "account.create", "iam.user.created"])
        self.grant_action = r.choice(["role.grant", "user.role.add", "iam.role.assign"])
        self.group_action = r.choice(["group.assign", "user.group.change", "org.move"])
        self.str_ids = r.random() < 0.7     # one producer sends a bare string for single ids
        self.str_share = r.uniform(0.01, 0.05)
        self.sid_fmt = r.choice(["%08d", "%09d", "P%07d", "%010d", "ID%08d"])
        self.sid_off = r.randint(1_000_000, 5_000_000)
        self.name_style = r.choice(["code", "initial", "dotted", "matricule"])
        self.name_num = r.randint(1, 3)
        self.used_names = set()
        # clock: offset of Europe/Paris for each day and hour
        self.midnight, self.offsets = [], []
        for d in range(days + 2):
            dd = start + timedelta(days=d)
            naive = datetime(dd.year, dd.month, dd.day, tzinfo=timezone.utc).timestamp()
            self.midnight.append(int(naive) * 1000)
            self.offsets.append([int(datetime(dd.year, dd.month, dd.day, h, tzinfo=TZ).utcoffset().total_seconds()) * 1000
                                 for h in range(24)])
        self.first_attack_day = math.ceil(days * 0.6)

    # -------- random streams
    def stream(self, purpose):
        return random.Random("%s:%d:%s" % (self.ARCH, self.seed, purpose))

    # -------- time
    def ms(self, day, sec):
        """UTC ms of local (day, seconds after local midnight; may exceed a day)."""
        sec = int(sec * 1000) / 1000.0
        extra, s = divmod(sec, 86400)
        day += int(extra)
        h = int(s // 3600)
        return self.midnight[day] + int(s * 1000) - self.offsets[day][h]

    def weekday(self, day):
        return (self.start + timedelta(days=day)).weekday()

    def is_workday(self, day):
        return self.weekday(day) < 5

    def is_first_workday_of_month(self, day):
        d = self.start + timedelta(days=day)
        if d.weekday() >= 5:
            return False
        first = d.replace(day=1)
        while first.weekday() >= 5:
            first += timedelta(days=1)
        return first == d

    # -------- addresses
    def net(self, first, geo, label, rng=None):
        rng = rng or self.rng
        parts = first.split(".")
        while True:
            p = parts + [str(rng.randint(1, 254)) for _ in range(3 - len(parts))]
            prefix = ".".join(p)
            if prefix not in self.nets:
                self.nets.add(prefix)
                self.geo_of[prefix] = geo
                return Net(prefix, geo, label)

    def fr_geo(self, city):
        return ("FR", city[1], city[2])

    def isp_net(self, isp, city, rng=None):
        rng = rng or self.rng
        return self.net(rng.choice(ISPS_FR[isp]), self.fr_geo(city), isp, rng)

    def home_ip(self, rng, city=None, isp=None):
        isp = isp or rng.choice(list(ISPS_FR))
        city = city or rng.choice(CITIES_FR)
        return self.isp_net(isp, city, rng).addr(rng.randint(2, 254)), isp

    def hosting_ip(self, rng, providers=None):
        h = rng.choice([x for x in HOSTING if providers is None or x[0] in providers])
        return self.net(h[1], (h[2], h[3], h[4]), h[0], rng).addr(rng.randint(2, 254))

    def foreign_ip(self, rng, continent_not="EU"):
        f = rng.choice([x for x in FOREIGN if x[4] != continent_not])
        return self.net(f[1], (f[0], f[2], f[3]), "foreign", rng).addr(rng.randint(2, 254))

    def register_ip(self, ip, geo):
        self.src_cache[ip] = self._src(ip, geo)

    def _src(self, ip, geo):
        if geo is None or not self.geo_on:
            return {"ip": ip}
        return {"ip": ip, "geo": {"country_iso_code": geo[0], "location": {"lat": geo[1], "lon": geo[2]}}}

    def src(self, ip):
        s = self.src_cache.get(ip)
        if s is None:
            prefix = ip.rsplit(".", 1)[0]
            s = self._src(ip, self.geo_of.get(prefix))
            self.src_cache[ip] = s
        return s

    # -------- accounts
    def pseudo(self, rng):
        return "".join(rng.choice(SYLL) for _ in range(rng.randint(2, 3)))

    def new_name(self, prefix, rng=None):
        rng = rng or self.rng
        while True:
            if self.name_style == "code":
                n = "%s%05d" % (prefix, rng.randint(1, 99999))
            elif self.name_style == "initial":
                n = "%s%s%s" % (rng.choice("abcdefghijklmnoprstv"), self.pseudo(rng),
                                rng.randint(1, 9) if rng.random() < 0.3 else "")
            elif self.name_style == "dotted":
                n = "%s.%s" % (rng.choice("abcdefghijklmnoprstv"), self.pseudo(rng))
            else:
                n = "%s%04d" % ("".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXZ") for _ in range(4)), rng.randint(0, 9999))
            if n not in self.used_names:
                self.used_names.add(n)
                return n

    def add(self, a):
        a.idx = len(self.accounts)
        self.accounts.append(a)
        self.by_name[a.name] = a
        return a

    def of_kind(self, *kinds):
        return [a for a in self.accounts if a.kind in kinds]

    # -------- subjects
    def sid(self, i):
        return self.sid_fmt % (i + self.sid_off)

    def outsiders(self, rng, n, exclude=()):
        ex = set(exclude)
        out = []
        while len(out) < n:
            i = rng.randrange(self.subjects)
            if i not in ex:
                ex.add(i)
                out.append(i)
        return out

    # -------- events
    def emit(self, ms, body):
        """Queue one event; `body` is its JSON without braces and timestamp."""
        b = self.buckets.get(ms // DAY_MS)
        if b is None:
            b = self.buckets[ms // DAY_MS] = []
        b.append((ms, self.seq, body))
        self.seq += 1

    # JSON fragments are cached: the same users, addresses and browsers recur.
    def j_user(self, a):
        c = self.jcache.get(a.name)
        if c is None or c[0] is not a.user_obj:
            c = self.jcache[a.name] = (a.user_obj, dumps(a.user_obj))
        return c[1]

    def j_src(self, ip):
        c = self.jsrc.get(ip)
        if c is None:
            c = self.jsrc[ip] = dumps(self.src(ip))
        return c

    def j_head(self, cat, typ, action, outcome, ds):
        k = (tuple(cat), tuple(typ), action, outcome, ds)
        c = self.jhead.get(k)
        if c is None:
            c = self.jhead[k] = dumps({"category": cat, "type": typ, "action": action, "outcome": outcome, "dataset": ds})
        return c

    def j_ua(self, ua):
        if not ua:
            return ""
        c = self.jua.get(ua)
        if c is None:
            c = self.jua[ua] = ',"user_agent":{"original":%s}' % dumps(ua)
        return c

    def base(self, cat, typ, action, outcome, ds, user_json, ip, ua):
        return '"event":%s,"user":%s,"source":%s%s' % (self.j_head(cat, typ, action, outcome, ds), user_json,
                                                      self.j_src(ip), self.j_ua(ua))

    def login(self, ms, a, ip, ua, ok=True, action=None):
        self.emit(ms, self.base(["authentication"], ["start"], action or self.login_action,
                                "success" if ok else "failure", self.ds_auth, self.j_user(a), ip, ua))

    def failed_unknown(self, ms, name, ip, ua):
        self.emit(ms, self.base(["authentication"], ["start"], self.login_action, "failure", self.ds_auth,
                                dumps({"name": name}), ip, ua))

    def read(self, ms, a, ip, ua, ids, action, path, scen=None):
        sids = [self.sid(i) for i in ids]
        if len(sids) == 1 and self.str_ids and self.rng.random() < self.str_share:
            ds_ids = '"%s"' % sids[0]
        else:
            ds_ids = '["%s"]' % '","'.join(sids)
        self.emit(ms, '%s,"url":{"path":"%s"},"data_subject":{"ids":%s,"count":%d,"categories":%s}' % (
            self.base(self.read_cat, ["access"], action, "success", self.ds_audit, self.j_user(a), ip, ua),
            path % sids[0] if "%s" in path else path, ds_ids, len(sids), self.j_cats))
        if scen:
            scen.record(ms, a, ip, ids=sids)

    def export(self, ms, a, ip, ua, count, scen=None):
        self.emit(ms, '%s,"url":{"path":"%s"},"data_subject":{"count":%d,"categories":%s}' % (
            self.base(self.read_cat, ["access"], self.export_action, "success", self.ds_audit, self.j_user(a), ip, ua),
            self.export_path, count, self.j_cats))
        if scen:
            scen.record(ms, a, ip, count=count)

    def iam(self, ms, a, ip, ua, typ, action, target):
        user = dumps(dict(a.user_obj, target={"name": target}))
        self.emit(ms, self.base(["iam"], typ, action, "success", self.ds_audit, user, ip, ua))

    def reset(self, ms, agent, ip, ua, target, scen=None):
        self.iam(ms, agent, ip, ua, ["user", "change"], self.reset_action, target)
        if scen:
            scen.mark(ms)

    def token(self, ms, a, ip, ua, action):
        self.emit(ms, self.base(["authentication"], ["start"], action, "success", self.ds_auth, self.j_user(a), ip, ua))

    # -------- generic work: one session of reads
    def view_burst(self, ms, a, ip, ua, sub, scen=None, depth=None):
        """Open one person's record, then maybe a tab or two; returns time after."""
        rng = self.rng
        n = depth if depth is not None else (1 if rng.random() < 0.45 else rng.randint(2, 4))
        for k in range(n):
            act, path = self.VIEWS[0] if k == 0 else rng.choice(self.VIEWS[1:])
            self.read(ms, a, ip, ua, [sub], act, path, scen)
            ms += int(rng.uniform(4, 90) * 1000)
        return ms

    def search(self, ms, a, ip, ua, ids, scen=None):
        self.read(ms, a, ip, ua, ids, self.SEARCH[0], self.SEARCH[1], scen)

    def session(self, a, day, t0, t1, ip, ua, rate, pick):
        """Reads for one working block: `rate` people an hour, from `pick`."""
        rng = self.rng
        if rate <= 0:
            return
        t = t0 + rng.uniform(20, 300)
        mean_gap = 3600.0 / rate
        while True:
            t += rng.expovariate(1.0 / mean_gap)
            if t >= t1:
                break
            sub = pick(a, day)
            ms = self.ms(day, t)
            if rng.random() < 0.12:
                others = self.outsiders(rng, rng.randint(0, 6))
                self.search(ms, a, ip, ua, [sub] + others)
                ms += int(rng.uniform(3, 20) * 1000)
            end = self.view_burst(ms, a, ip, ua, sub)
            t += (end - ms) / 1000.0

    def open_session(self, a, day, t, ip, ua, helpdesk_ok=True):
        """Login at local time t, with typos and forgotten passwords; returns t after."""
        rng = self.rng
        if day in a.forgot and helpdesk_ok:
            a.forgot.discard(day)
            for _ in range(rng.randint(2, 5)):
                self.login(self.ms(day, t), a, ip, ua, ok=False)
                t += rng.uniform(5, 40)
            agents = [h for h in self.helpdesk if h.name != a.name]
            h = rng.choice(agents)
            t += rng.uniform(180, 1500)
            self.reset(self.ms(day, t), h, self.staff_ip(h, day), h.browser.ua(day), a.name)
            self.note("helpdesk_reset_genuine", [a.name, h.name], day, t, day, t + 3600)
            t += rng.uniform(60, 1200)
        elif rng.random() < a.typo:
            self.login(self.ms(day, t), a, ip, ua, ok=False)
            t += rng.uniform(4, 30)
        self.login(self.ms(day, t), a, ip, ua)
        return t

    def staff_ip(self, a, day):
        return a.site.ip(day, self.rng)

    # -------- benign notes
    def note(self, name, accounts, d0, t0, d1, t1):
        self.benign_raw.append((name, accounts, self.ms(d0, t0), self.ms(min(d1, self.days), t1)))

    def benign_json(self):
        merged = {}
        for name, accts, s, e in self.benign_raw:
            key = (name, tuple(sorted(accts)))
            if key in merged:
                m = merged[key]
                m[0], m[1] = min(m[0], s), max(m[1], e)
            else:
                merged[key] = [s, e]
        out = [{"name": k[0], "accounts": list(k[1]), "start_ms": v[0], "end_ms": v[1]} for k, v in merged.items()]
        out.sort(key=lambda b: (b["start_ms"], b["name"]))
        return out

    # -------- the run
    def run(self, out_path):
        self.benign_raw = []
        self.build()
        self.plan_noise()
        self.plan_org_events()
        self.plan_attacks()
        with open(out_path, "w") as f:
            for day in range(self.days):
                for a in self.accounts:
                    self.activity(a, day)
                self.day_events(day)
                self.flush(f, self.ms(day + 1, 0) // DAY_MS)
            self.flush(f, None)

    def flush(self, f, before):
        keys = sorted(k for k in self.buckets if before is None or k < before)
        end_ms = self.ms(self.days, 0)
        for k in keys:
            b = self.buckets.pop(k)
            b.sort(key=lambda x: (x[0], x[1]))
            lines = []
            for ms, _, ev in b:
                if ms >= end_ms:
                    continue
                lines.append('{"@timestamp":"%s",%s}\n' % (fmt_ts(ms), ev))
            self.events += len(lines)
            f.writelines(lines)

    def truth(self):
        return {"seed": self.seed, "archetype": self.ARCH, "accounts": len(self.accounts),
                "subjects": self.subjects, "days": self.days, "start": self.start.isoformat(),
                "events": self.events, "scenarios": [s.to_json() for s in self.scenarios],
                "benign": self.benign_json()}

    # -------- shared building blocks for archetypes
    def make_fleet(self, managed_share):
        """Browser fleet: a managed standard (Edge or Chrome) and a mix of personal browsers."""
        r = self.stream("fleet")
        self.std_kind = r.choice(["edge-win", "chrome-win", "chrome-win", "firefox-win"])
        self.managed_share = managed_share
        u = r.randint(1, max(1, self.days - 4))
        self.rollout = {f: (u if f == family(self.std_kind) else r.randint(0, self.days - 1))
                        for f in ("chrome", "edge", "firefox", "safari")}
        self.rollout_len = r.randint(2, 6)
        self.fleet_rng = r

    def browser_for(self, managed=None):
        r = self.fleet_rng
        if managed is None:
            managed = r.random() < self.managed_share
        kind = self.std_kind if managed else r.choice(
            ["chrome-win", "chrome-win", "edge-win", "firefox-win", "chrome-mac", "safari-mac", "firefox-mac", "safari-ios"])
        f = family(kind)
        v = UA_BASE[f] - (1 if r.random() < 0.12 else 0)
        upd = self.rollout[f] + r.randint(0, self.rollout_len) if r.random() < 0.9 else None
        return Browser(kind, v, upd, r)

    def make_sites(self, cities, style, central):
        """Sites with their egress: each its own /24, or a central proxy shared by all."""
        r = self.stream("sites")
        provider = r.choice(["193.51", "217.108", "80.12", "194.2", "62.160"])
        shared = None
        if central:
            shared = self.net(provider, self.fr_geo(CITIES_FR[0]), "org", r)
        sites = []
        for i, city in enumerate(cities):
            net = shared or self.net(provider, self.fr_geo(city), "org", r)
            hosts = [r.randint(2, 250) for _ in range(r.randint(1, 4))]
            sites.append(Site(style(i, city), city, net, hosts))
        self.org_provider = provider
        self.central = central
        return sites

    def make_services(self, specs):
        """Service accounts: (name, roles, group, schedule, volume)."""
        r = self.stream("services")
        dc = self.net(r.choice(["10.%d" % r.randint(1, 250), self.org_provider]), None, "dc", r)
        if not dc.prefix.startswith("10."):
            self.geo_of[dc.prefix] = self.fr_geo(CITIES_FR[0])
        out = []
        names = ["etl-nightly", "app_sync", "reporting-bot", "int-crm", "svc-archive", "batch_dwh", "sync.ged",
                 "api-courrier", "export_stats", "svc-indexer", "mdm-feed", "ged_batch"]
        r.shuffle(names)
        for i, (sched, vol) in enumerate(specs):
            roles = r.choice([["service"], ["batch"], ["api"], ["reporting"], [], [self.main_role]])
            a = self.add(Account(names[i % len(names)] + ("" if i < len(names) else str(i)), "service",
                                 "service", roles, r.choice(["IT", "DSI", "infra", "systems"]), None))
            a.job = {"sched": sched, "vol": vol, "hour": r.uniform(0.5, 5.5) if sched != "hourly" else 0,
                     "jitter": r.uniform(10, 20) * 60, "ip": dc.addr(r.randint(2, 250)),
                     "ua": r.choice(["Apache-HttpClient/4.5.14 (Java/17.0.9)", "curl/7.81.0", "Go-http-client/1.1",
                                     "python-urllib3/1.26.18", "okhttp/4.12.0", None]),
                     "auth": r.choice(["api_token.authenticate", "oauth.client_credentials", "token.auth"])}
            out.append(a)
        self.services = out
        for a in out:
            self.note("service_job_jitter", [a.name], 0, 0, self.days, 0)
        return out

    def service_job(self, a, day):
        j, rng = a.job, self.rng
        if j["sched"] == "nightly":
            runs = [j["hour"] * 3600 + rng.uniform(-j["jitter"], j["jitter"])]
        elif j["sched"] == "weekly":
            runs = [j["hour"] * 3600 + rng.uniform(-j["jitter"], j["jitter"])] if self.weekday(day) == 0 else []
        else:  # hourly sync in office hours on workdays
            runs = [h * 3600 + rng.uniform(0, 240) for h in range(7, 20)] if self.is_workday(day) else []
        for t in runs:
            ms = self.ms(day, max(60, t))
            self.token(ms, a, j["ip"], j["ua"], j["auth"])
            ms += rng.randint(500, 5000)
            if j["sched"] == "hourly":
                ids = self.outsiders(rng, rng.randint(3, 40))
                self.read(ms, a, j["ip"], j["ua"], ids, self.SEARCH[0], self.SEARCH[1])
            else:
                for k in range(rng.randint(1, 3)):
                    self.export(ms, a, j["ip"], j["ua"], int(j["vol"] * rng.uniform(0.9, 1.1)))
                    ms += rng.randint(60_000, 900_000)

    def office_day(self, a, day, start_h, length_h, lunch=True):
        """An office day: two blocks split by lunch, local seconds."""
        rng = self.rng
        p = a.pattern
        s = (start_h + p["off"] + rng.gauss(0, 0.2)) * 3600
        e = s + (length_h + rng.gauss(0, 0.3)) * 3600
        if self.weekday(day) == 4:
            e -= rng.uniform(0, 1.2) * 3600
        if not lunch:
            return [(s, e)]
        l0 = (p["lunch"] + rng.gauss(0, 0.15)) * 3600
        l1 = l0 + rng.uniform(0.5, 1.2) * 3600
        return [(s, l0), (l1, e + (l1 - l0))]

    def office_pattern(self, rng, remote_max):
        return {"off": rng.gauss(0, 0.4), "lunch": self.lunch_h + rng.gauss(0, 0.2),
                "remote": set(rng.sample(range(5), rng.randint(0, remote_max)))}

    def human(self, kind, prefix, roles, group, site, r, remote_max):
        a = self.add(Account(self.new_name(prefix[:3], r), kind, prefix, roles, group, site))
        a.pattern = self.office_pattern(r, remote_max)
        a.home_ip, a.home_isp = self.home_ip(r, city=site.city)
        a.browser = self.browser_for()
        if r.random() < 0.3:
            a.alt_browser = self.browser_for(managed=False)
        return a

    # -------- the generic day of an account
    def activity(self, a, day):
        if a.kind == "service":
            return self.service_job(a, day)
        if (a.hired and day < a.hired[0]) or day in a.leave:
            return
        mv = a.extra.get("reorg")
        if mv and day >= mv[0] and a.group != mv[1]:
            a.group = mv[1]
            a.refresh()
        # on the day an attack relies on the owner working, the planned blocks
        blocks = self.blocks_probe(a, day) if a.extra.get("must_work") == day else self.blocks(a, day)
        for t0, t1, where in blocks:
            ip, ua = self.place(a, day, where)
            t = self.open_session(a, day, t0, ip, ua)
            self.work(a, day, t, t1, ip, ua)

    def place(self, a, day, where):
        tr = a.travel.get(day)
        ua = a.browser.ua(day)
        if tr:
            return (tr[1].ip(day, self.rng) if tr[0] == "site" else tr[1]), ua
        if where == "home":
            if self.vpn is not None:
                return self.vpn.ip(day, self.rng), ua
            hc = a.extra.get("home_change")
            ip = hc[1] if hc and day >= hc[0] else a.home_ip
            return ip, (a.alt_browser.ua(day) if a.alt_browser else ua)
        return a.site.ip(day, self.rng), ua

    def multiplier(self, a, day):
        m = a.surge.get(day, 1.0)
        if day in a.covering:
            m *= 1.35
        if a.hired:
            worked = day - a.hired[0]
            m *= min(1.0, 0.2 + 0.15 * max(0, worked))
        return m

    def caseload_on(self, a, day):
        if a.takeover and day >= a.takeover[0]:
            return a.takeover[1]
        return a.caseload

    def pick_caseload(self, a, day, p_out):
        """A person from the caseload (or a covered colleague's), or an outsider."""
        rng = self.rng
        cov = a.covering.get(day)
        if cov is not None and cov.caseload and rng.random() < 0.4:
            return rng.choice(cov.caseload)
        cl = self.caseload_on(a, day)
        if not cl or rng.random() < p_out:
            return rng.randrange(self.subjects)
        return rng.choice(cl)

    def manager_exports(self, a, day, ip, ua, t):
        if not self.is_workday(day):
            return
        weekly = self.weekday(day) == a.extra.get("export_wd", 0)
        monthly = self.is_first_workday_of_month(day)
        if not (weekly or monthly) or a.extra.get("exported") == day:
            return
        a.extra["exported"] = day
        team = a.extra.get("team_size", 1000)
        for kind in (["weekly"] if weekly else []) + (["monthly"] if monthly else []):
            t += self.rng.uniform(300, 3600)
            self.export(self.ms(day, t), a, ip, ua, int(team * (1.0 if kind == "weekly" else 2.5) * self.rng.uniform(0.9, 1.1)))
            self.note("manager_export", [a.name], day, t - 600, day, t + 3600)

    # -------- noise shared by every archetype
    def humans(self):
        return [a for a in self.accounts if a.kind != "service"]

    def plan_noise(self):
        r = self.stream("noise")
        readers = self.readers()
        for a in self.humans():
            a.typo = r.uniform(0.01, 0.06)
            for d in range(self.days):
                if r.random() < 0.004:
                    a.forgot.add(d)
            if a.forgot:
                pass
        # leave with a colleague covering
        for a in r.sample(readers, max(1, len(readers) // 30)):
            mates = [b for b in readers if b.group == a.group and b is not a and not b.leave]
            if not mates or a.leave:
                continue
            d0 = r.randint(0, self.days - 4)
            days = [d for d in range(d0, d0 + r.randint(3, 6)) if d < self.days]
            a.leave.update(days)
            c = r.choice(mates)
            for d in days:
                c.covering[d] = a
            self.note("covering_colleague", [c.name, a.name], days[0], 0, days[-1], 86400)
        # caseload takeover
        for a in r.sample(readers, max(1, len(readers) // 60)):
            if a.leave or a.covering or not a.caseload:
                continue
            d0 = r.randint(1, self.days - 2)
            a.takeover = (d0, self.outsiders(r, len(a.caseload)))
            self.note("caseload_takeover", [a.name], d0, 0, min(self.days, d0 + 3), 0)
        # business travel: another office, or abroad for a few days
        sites = self.travel_sites()
        for a in r.sample(readers + self.of_kind("manager"), max(1, len(readers) // 40)):
            if a.leave or a.covering or a.takeover:
                continue
            d0 = r.randint(0, self.days - 2)
            if r.random() < 0.7 and len(sites) > 1:
                a.travel[d0] = ("site", r.choice([s for s in sites if s is not a.site]))
                self.note("business_travel", [a.name], d0, 0, d0, 86400)
            else:
                h = r.choice(EUROPE_HOTEL)
                ip = self.net(h[1], (h[0], h[2], h[3]), "hotel", r).addr(r.randint(2, 254))
                n = r.randint(2, 3)
                for d in range(d0, min(self.days, d0 + n)):
                    a.travel[d] = ("abroad", ip)
                self.note("business_travel", [a.name], d0, 0, d0 + n, 0)
        # dynamic home addresses
        for a in self.humans():
            if a.home_ip and r.random() < 0.08:
                a.extra["home_change"] = (r.randint(1, self.days - 1),
                                          self.home_ip(r, isp=a.home_isp)[0])
        # browser rollout
        upd = [a.name for a in self.humans() if a.browser and a.browser.update_day is not None
               and a.browser.update_day < self.days]
        if upd:
            d0 = min(self.by_name[n].browser.update_day for n in upd)
            self.note("browser_update", upd, d0, 0, self.days, 0)
        self.plan_hires(r)

    def plan_hires(self, r):
        readers = self.readers()
        admins = self.of_kind("admin") or self.helpdesk
        for _ in range(max(1, len(readers) // 50)):
            proto = r.choice(readers)
            a = self.add(Account(self.new_name(self.name_prefix(proto), r), proto.kind, proto.title,
                                 list(proto.roles), proto.group, proto.site))
            self.clone_habits(a, proto, r)
            d0 = r.randint(0, self.days - 2)
            while not self.is_workday(d0):
                d0 += 1
            adm = r.choice(admins)
            a.hired = (d0, adm)
            a.caseload = self.outsiders(r, len(proto.caseload)) if proto.caseload else []
            t = r.uniform(8.5, 11) * 3600
            ip, ua = adm.site.ip(d0, r), adm.browser.ua(d0)
            self.login(self.ms(d0, t - 120), adm, ip, ua)
            self.iam(self.ms(d0, t), adm, ip, ua, ["user", "creation"], self.create_action, a.name)
            for role in a.roles:
                self.iam(self.ms(d0, t + r.uniform(20, 300)), adm, ip, ua, ["user", "change"], self.grant_action, a.name)
            self.note("new_hire", [a.name, adm.name], d0, t, min(self.days, d0 + 5), 0)

    def clone_habits(self, a, proto, r):
        a.pattern = dict(proto.pattern) if isinstance(proto.pattern, dict) else proto.pattern
        a.rate = proto.rate
        a.home_ip, a.home_isp = self.home_ip(r)
        a.browser = Browser(self.std_kind, UA_BASE[family(self.std_kind)] + 1, None, r)
        a.ward = proto.ward
        a.p_active = proto.p_active
        a.extra.update({k: v for k, v in proto.extra.items() if k in ("slot", "firm_ip", "p_out")})

    def name_prefix(self, a):
        return {"staff": "u", "manager": "m", "helpdesk": "hd", "admin": "adm", "partner": "p", "clerk": "c"}.get(a.kind, "u")

    def travel_sites(self):
        return [s for s in self.sites if not s.name.startswith("ext:")]

    def plan_org_events(self):
        r = self.stream("org")
        kinds = r.sample(["egress", "surge", "reorg"], r.randint(1, 2))
        for k in kinds:
            getattr(self, "org_" + k)(r)

    def org_egress(self, r):
        d0 = r.randint(2, self.days - 2)
        if r.random() < 0.5 and not self.central:
            sites = [r.choice(self.travel_sites())]
            firsts = self.org_provider
        else:
            sites = self.travel_sites()
            firsts = r.choice(["91.121", "212.27", "46.218", "185.24"])
        shared = self.net(firsts, self.fr_geo(sites[0].city), "org", r) if self.central else None
        for s in sites:
            s.change_day = d0
            s.new_net = shared or self.net(firsts, self.fr_geo(s.city), "org", r)
        names = [a.name for a in self.humans() if a.site in sites]
        self.note("egress_change", names, d0, 0, d0 + 3, 0)

    def org_surge(self, r):
        groups = sorted({a.group for a in self.readers()})
        g = r.choice(groups)
        d0 = r.randint(0, self.days - 2)
        n = r.randint(1, 2)
        m = r.uniform(2, 4)
        members = [a for a in self.readers() if a.group == g]
        for a in members:
            for d in range(d0, min(self.days, d0 + n)):
                a.surge[d] = m
        self.note("peer_surge", [a.name for a in members], d0, 0, d0 + n, 0)

    def org_reorg(self, r):
        readers = self.readers()
        groups = sorted({a.group for a in readers})
        if len(groups) < 2:
            return
        d0 = r.randint(2, self.days - 3)
        while not self.is_workday(d0):
            d0 += 1
        movers = r.sample(readers, max(1, len(readers) // 10))
        adm = r.choice(self.of_kind("admin") or self.helpdesk)
        t = r.uniform(7.0, 8.0) * 3600
        ip, ua = adm.site.ip(d0, r), adm.browser.ua(d0)
        for a in movers:
            g = r.choice([x for x in groups if x != a.group])
            a.extra["reorg"] = (d0, g)
            t += r.uniform(5, 60)
            self.iam(self.ms(d0, t), adm, ip, ua, ["user", "change"], self.group_action, a.name)
        self.note("reorganisation", [a.name for a in movers], d0, 0, d0 + 3, 0)

    def day_events(self, day):
        pass

    def attack_workday(self, d):
        """The nearest workday to d inside the attack window."""
        for k in range(self.days):
            for c in (d + k, d - k):
                if self.first_attack_day <= c < self.days and self.is_workday(c):
                    return c
        return d

    def insider_pool(self):
        return self.staff_pool()

    def ms_to_local(self, ms, day):
        return (ms - self.ms(day, 0)) / 1000.0

    def blocks_probe(self, a, day):
        saved = self.rng
        self.rng = random.Random("%s:%d:probe:%s:%d" % (self.ARCH, self.seed, a.name, day))
        try:
            return self.blocks(a, day) if day not in a.leave else []
        finally:
            self.rng = saved

    def plan_attacks(self):
        Attacks(self).plan()


# ---------------------------------------------------------------- archetypes
class Agency(World):
    ARCH = "agency"
    CATEGORIES = ["identity", "nir", "birth_date", "contact", "address"]

    def build(self):
        r = self.stream("build")
        self.main_role = r.choice(["advisor", "conseiller", "adviser"])
        self.VIEWS = [("beneficiary.view", "/api/v2/beneficiaries/%s"), ("beneficiary.documents", "/api/v2/beneficiaries/%s/documents"),
                      ("beneficiary.history", "/api/v2/beneficiaries/%s/history"), ("beneficiary.payments", "/api/v2/beneficiaries/%s/payments")]
        self.SEARCH = ("beneficiary.search", "/api/v2/beneficiaries")
        self.export_action, self.export_path = "beneficiary.export", "/api/v2/beneficiaries/export"
        self.start_h, self.lunch_h, self.length_h = r.uniform(7.8, 9.2), r.uniform(12.0, 12.6), r.uniform(7.3, 8.2)
        self.make_fleet(0.92)
        n = self.n
        n_svc, n_adm, n_hd = r.randint(4, 7), r.randint(2, 4), max(3, n // 70)
        n_part = int(n * r.uniform(0.08, 0.15))
        n_adv = n - n_svc - n_adm - n_hd - n_part
        n_sites = max(3, n_adv // r.randint(18, 35))
        n_mgr = n_sites
        n_adv -= n_mgr
        style = r.choice([lambda i, c: "agence-%03d" % (i + 1), lambda i, c: "AG%03d" % (i + 11),
                          lambda i, c: "ale-%s-%d" % (c[0].lower().replace(" ", ""), i + 1)])
        self.sites = self.make_sites([r.choice(CITIES_FR) for _ in range(n_sites)], style, r.random() < 0.35)
        hq = self.sites[0]
        self.vpn = None
        if r.random() < 0.5:
            self.vpn = Site("vpn", CITIES_FR[0], self.net(self.org_provider, self.fr_geo(CITIES_FR[0]), "vpn", r),
                            [r.randint(2, 250) for _ in range(r.randint(2, 6))])
        mean_cl = r.randint(90, 180)
        self.subjects = int(n_adv * mean_cl * 1.6) + 20000
        remote_max = r.choice([0, 1, 2, 2])
        for i in range(n_adv):
            site = self.sites[i % n_sites]
            a = self.human("staff", self.main_role, [self.main_role], site.name, site, r, remote_max)
            a.caseload = r.sample(range(self.subjects), max(40, min(260, int(r.gauss(mean_cl, 40)))))
            a.rate = r.uniform(2.0, 6.0)                  # people an hour
            a.extra["p_out"] = r.uniform(0.02, 0.08)
            a.extra["reception"] = r.randrange(5) if r.random() < 0.4 else None
        for site in self.sites:
            a = self.human("manager", "manager", [r.choice(["manager", "team_lead"]), self.main_role], site.name, site, r, remote_max)
            team = [b for b in self.accounts if b.site is site and b.kind == "staff"]
            a.caseload = [p for b in team for p in b.caseload[:20]]
            a.extra["team_size"] = sum(len(b.caseload) for b in team)
            a.extra["export_wd"] = r.choice([0, 0, 1, 4])
            a.rate = r.uniform(0.5, 1.5)
        self.helpdesk = [self.human("helpdesk", "helpdesk", [r.choice(["support_agent", "helpdesk"])], r.choice(["support", "DSI-support", "hotline"]), hq, r, 1)
                         for _ in range(n_hd)]
        for _ in range(n_adm):
            self.human("admin", "admin", [r.choice(["iam_admin", "admin"])], "DSI", hq, r, 1)
        orgs = []
        for k in range(max(2, n_part // r.randint(6, 15))):
            city = r.choice(CITIES_FR)
            name = r.choice(["capemploi-%02d", "mission-locale-%02d", "apec-%02d", "plie-%02d"]) % r.randint(1, 95)
            orgs.append(Site("ext:" + name, city, self.isp_net(r.choice(list(ISPS_FR)), city, r), [r.randint(2, 250)]))
        for i in range(n_part):
            org = orgs[i % len(orgs)]
            a = self.human("partner", "partner", [r.choice(["partner_advisor", "partenaire"])], org.name[4:], org, r, 0)
            a.browser = self.browser_for(managed=False)
            a.caseload = r.sample(range(self.subjects), r.randint(25, 90))
            a.rate = r.uniform(1.0, 3.5)
            a.extra["p_out"] = r.uniform(0.02, 0.06)
        self.make_services([("nightly", r.randint(50_000, 200_000)), ("hourly", 0), ("weekly", r.randint(20_000, 80_000))]
                           + [(r.choice(["nightly", "hourly"]), r.randint(5_000, 60_000)) for _ in range(n_svc - 3)])

    def readers(self):
        return [a for a in self.accounts if a.kind in ("staff", "partner")]

    def staff_pool(self):
        return self.of_kind("staff")

    def partner_pool(self):
        return self.of_kind("partner")

    def blocks(self, a, day):
        if not self.is_workday(day):
            return []
        where = "home" if self.weekday(day) in a.pattern["remote"] and a.travel.get(day) is None else "site"
        return [(s, e, where) for s, e in self.office_day(a, day, self.start_h, self.length_h)]

    def work(self, a, day, t0, t1, ip, ua):
        if a.kind == "manager":
            self.manager_exports(a, day, ip, ua, t0)
            self.session(a, day, t0, t1, ip, ua, a.rate, lambda x, d: self.rng.choice(x.caseload))
            return
        if a.kind in ("staff", "partner"):
            p_out = 0.6 if a.extra.get("reception") == self.weekday(day) else a.extra.get("p_out", 0.05)
            self.session(a, day, t0, t1, ip, ua, a.rate * self.multiplier(a, day),
                         lambda x, d: self.pick_caseload(x, d, p_out))



class Hospital(World):
    ARCH = "hospital"
    CATEGORIES = ["identity", "nir", "birth_date", "health"]
    WARDS = ["cardiologie", "pneumologie", "urgences", "pediatrie", "maternite", "chirurgie", "orthopedie", "neurologie",
             "geriatrie", "oncologie", "reanimation", "psychiatrie", "gastro", "nephrologie", "medecine-interne", "ssr"]

    def build(self):
        r = self.stream("build")
        self.main_role = r.choice(["nurse", "ide", "soignant"])
        self.VIEWS = [("patient.chart.view", "/dpi/patients/%s"), ("patient.results.view", "/dpi/patients/%s/results"),
                      ("patient.prescriptions", "/dpi/patients/%s/prescriptions"), ("patient.notes", "/dpi/patients/%s/notes")]
        self.SEARCH = ("patient.search", "/dpi/patients")
        self.export_action, self.export_path = "patient.list.export", "/dpi/reports/export"
        self.start_h, self.lunch_h, self.length_h = r.uniform(8.0, 9.0), r.uniform(12.0, 12.8), r.uniform(7.5, 8.5)
        self.make_fleet(0.97)
        n = self.n
        self.subjects = 60_000 + n * 250
        wstyle = r.choice(["SVC-%s", "%s", "UF-%s"])
        wards = r.sample(self.WARDS, min(len(self.WARDS), max(5, n // 25)))
        self.sites = self.make_sites([r.choice(CITIES_FR)] + [r.choice(CITIES_FR) for _ in range(r.randint(0, 2))],
                                     lambda i, c: "site-%d" % (i + 1), r.random() < 0.5)
        self.vpn = Site("vpn", self.sites[0].city, self.net(self.org_provider, self.fr_geo(self.sites[0].city), "vpn", r),
                        [r.randint(2, 250) for _ in range(3)]) if r.random() < 0.6 else None
        self.census = {}
        for wname in wards:
            beds = r.randint(15, 40)
            turn = 0.6 if wname == "urgences" else r.uniform(0.08, 0.25)
            cur = r.sample(range(self.subjects), beds)
            days = []
            for d in range(self.days + 1):
                days.append(list(cur))
                for k in range(len(cur)):
                    if r.random() < turn:
                        cur[k] = r.randrange(self.subjects)
            self.census[wstyle % wname.upper() if wstyle != "%s" else wname] = days
        wards = list(self.census)
        self.h12 = r.random() < 0.5
        self.shifts = {"D": (7, 19), "N": (19, 31)} if self.h12 else {"D": (6.75, 14.25), "E": (13.75, 21.25), "N": (21, 31)}
        cycles = (["DD--NN---", "DDD----", "NN---DD---", "DD---"] if self.h12
                  else ["DDDEE--", "EEEDD--", "NNNN---", "DDEENN---", "DEDED--", "DDDDD--", "EEEEE--"])
        n_svc, n_adm, n_hd = r.randint(4, 7), r.randint(2, 3), max(3, n // 80)
        n_part = int(n * r.uniform(0.04, 0.08))
        rest = n - n_svc - n_adm - n_hd - n_part
        n_doc, n_clerk, n_mgr = int(rest * 0.22), int(rest * 0.12), len(wards)
        n_nurse = rest - n_doc - n_clerk - n_mgr
        site_of = {w: r.choice(self.sites) for w in wards}
        for i in range(n_nurse):
            wd = wards[i % len(wards)]
            a = self.human("staff", self.main_role, [self.main_role], wd, site_of[wd], r, 0)
            a.ward, a.title = wd, "nurse"
            a.pattern["cycle"], a.pattern["phase"] = r.choice(cycles), r.randrange(10)
            a.rate = r.uniform(4, 10)
        for i in range(n_doc):
            wd = wards[i % len(wards)]
            a = self.human("staff", "doctor", [r.choice(["medecin", "physician", "doctor"])], wd, site_of[wd], r, 0)
            a.ward, a.title = wd, "doctor"
            a.pattern["oncall"] = {d for d in range(r.randrange(6), self.days, r.randint(5, 8))}
            a.rate = r.uniform(3, 7)
        for _ in range(n_clerk):
            a = self.human("clerk", "clerk", [r.choice(["admissions", "secretariat", "facturation"])], r.choice(["admissions", "bureau-entrees", "facturation"]), self.sites[0], r, 1)
            a.rate = r.uniform(8, 18)
        for wd in wards:
            a = self.human("manager", "manager", ["cadre_sante"], wd, site_of[wd], r, 0)
            a.ward = wd
            a.extra["team_size"] = len(self.census[wd][0]) * 30
            a.rate = r.uniform(0.5, 2)
        self.helpdesk = [self.human("helpdesk", "helpdesk", ["servicedesk"], "DSI", self.sites[0], r, 0) for _ in range(n_hd)]
        for _ in range(n_adm):
            self.human("admin", "admin", ["iam_admin"], "DSI", self.sites[0], r, 0)
        for _ in range(n_part):
            city = r.choice(CITIES_FR)
            office = Site("ext:" + r.choice(["cabinet-med-%03d", "labo-%03d", "clinique-%03d"]) % r.randint(1, 999), city,
                          self.isp_net(r.choice(list(ISPS_FR)), city, r), [r.randint(2, 250)])
            a = self.human("partner", "partner", [r.choice(["medecin_ville", "laboratoire", "partner"])], office.name[4:], office, r, 0)
            a.browser = self.browser_for(managed=False)
            a.caseload = r.sample(range(self.subjects), r.randint(20, 120))
            a.rate = r.uniform(1, 4)
            a.p_active = r.uniform(0.2, 0.7)
        for a in self.accounts:
            if a.ward and a.kind == "staff":
                a.caseload = sorted({p for day in self.census[a.ward] for p in day})
        self.make_services([("nightly", r.randint(20_000, 80_000)), ("hourly", 0), ("weekly", r.randint(10_000, 50_000))]
                           + [(r.choice(["nightly", "hourly"]), r.randint(2_000, 30_000)) for _ in range(n_svc - 3)])
        night = [a.name for a in self.accounts if a.pattern and ("N" in a.pattern.get("cycle", "") or a.pattern.get("oncall"))]
        self.note("night_shift_work", night, 0, 0, self.days, 0)

    def readers(self):
        return [a for a in self.accounts if a.kind in ("staff", "partner", "clerk")]

    def staff_pool(self):
        return self.of_kind("staff")

    def partner_pool(self):
        return self.of_kind("partner")

    def attack_workday(self, d):
        return max(self.first_attack_day, min(d, self.days - 1))

    def blocks(self, a, day):
        rng = self.rng
        if a.kind == "partner":
            if not self.is_workday(day) or rng.random() > a.p_active:
                return []
            s = rng.uniform(8.5, 17) * 3600
            return [(s, s + rng.uniform(0.3, 2) * 3600, "site")]
        if a.title == "nurse":
            c = a.pattern["cycle"]
            code = c[(day + a.pattern["phase"]) % len(c)]
            if code == "-":
                return []
            s, e = self.shifts[code]
            s, e = (s + rng.gauss(0, 0.1)) * 3600, (e + rng.gauss(0.2, 0.2)) * 3600
            cuts = sorted(rng.uniform(s, e) for _ in range(rng.randint(1, 3)))
            pts = [s] + cuts + [e]
            return [(pts[i], pts[i + 1] - rng.uniform(300, 1200), "site") for i in range(len(pts) - 1)]
        out = []
        if a.title == "doctor":
            if self.is_workday(day) or day % 7 == a.idx % 7:
                out = [(s, e, "site") for s, e in self.office_day(a, day, 8.3, 9.5)]
            if day in a.pattern["oncall"]:
                for _ in range(rng.randint(1, 4)):
                    s = rng.uniform(22, 30) * 3600
                    out.append((s, s + rng.uniform(600, 1800), "home" if rng.random() < 0.6 else "site"))
            return out
        if not self.is_workday(day):
            return []
        return [(s, e, "site") for s, e in self.office_day(a, day, self.start_h, self.length_h)]

    def work(self, a, day, t0, t1, ip, ua):
        m = self.multiplier(a, day)
        if a.kind == "manager":
            self.manager_exports(a, day, ip, ua, t0)
            self.session(a, day, t0, t1, ip, ua, a.rate, lambda x, d: self.rng.choice(self.census[x.ward][d]))
        elif a.kind == "clerk":
            wards = list(self.census)
            self.session(a, day, t0, t1, ip, ua, a.rate * m,
                         lambda x, d: self.rng.choice(self.census[self.rng.choice(wards)][d]) if self.rng.random() < 0.6
                         else self.rng.randrange(self.subjects))
        elif a.kind == "partner":
            self.session(a, day, t0, t1, ip, ua, a.rate * m, lambda x, d: self.pick_caseload(x, d, 0.05))
        elif a.kind == "staff":
            night = (t0 % 86400) > 21 * 3600 or t0 > 86400 or (t0 % 86400) < 6 * 3600
            rate = a.rate * m * (0.4 if night else 1.0)
            wards = list(self.census)
            d_c = min(day, self.days)

            def pick(x, d):
                if x.takeover and d >= x.takeover[0] or d in x.covering:
                    return self.pick_caseload(x, d, 0.05)
                if x.title == "doctor" and self.rng.random() < 0.12:
                    return self.rng.choice(self.census[self.rng.choice(wards)][d_c])
                return self.rng.choice(self.census[x.ward][d_c])
            self.session(a, day, t0, t1, ip, ua, rate, pick)



class CallCentre(World):
    ARCH = "callcentre"
    CATEGORIES = ["identity", "contact", "address", "banking"]

    def build(self):
        r = self.stream("build")
        self.main_role = r.choice(["agent", "conseiller_client", "telecounsellor"])
        self.VIEWS = [("customer.view", "/crm/customers/%s"), ("customer.contracts", "/crm/customers/%s/contracts"),
                      ("customer.invoices", "/crm/customers/%s/invoices"), ("customer.contact_history", "/crm/customers/%s/interactions")]
        self.SEARCH = ("customer.search", "/crm/search")
        self.export_action, self.export_path = "customer.export", "/crm/reports/export"
        self.start_h, self.lunch_h, self.length_h = r.uniform(8.5, 9.2), r.uniform(12.0, 12.8), r.uniform(7.5, 8.2)
        self.make_fleet(0.98)
        n = self.n
        self.subjects = 1_500_000 + n * 500
        self.recent = []
        cities = [r.choice(CITIES_FR) for _ in range(r.randint(1, 3))]
        self.sites = self.make_sites(cities, lambda i, c: "plateau-%s" % c[0].lower().replace(" ", "-"), False)
        self.vpn = None
        bpo = None
        if r.random() < 0.6:
            b = r.choice(BPO_SITES)
            bpo = Site("ext:bpo-%s" % b[0].lower(), (b[0], b[2], b[3]), self.net(b[1], (b[0], b[2], b[3]), "bpo", r),
                       [r.randint(2, 250) for _ in range(r.randint(1, 3))])
        n_svc, n_adm, n_hd = r.randint(4, 6), r.randint(2, 3), max(3, n // 90)
        rest = n - n_svc - n_adm - n_hd
        n_lead = max(2, rest // r.randint(10, 15))
        n_agent = rest - n_lead
        n_bpo = int(n_agent * r.uniform(0.2, 0.35)) if bpo else 0
        slots = r.sample([(8, 16), (9, 17), (10, 18), (11, 19), (12, 20), (13, 21)], r.randint(3, 5))
        teams = []
        for i in range(n_agent):
            ext = i < n_bpo
            site = bpo if ext else self.sites[i % len(self.sites)]
            team = "%s-team-%02d" % ("bpo" if ext else "eq", i // 12 + 1)
            a = self.human("partner" if ext else "staff", self.main_role, [self.main_role], team, site, r, 0)
            if ext:
                a.home_ip = None
            a.pattern["slot"] = r.choice(slots)
            a.pattern["off"] = r.randrange(6)
            a.rate = r.uniform(5.5, 10)           # calls an hour
            a.caseload = []
            teams.append(team)
        for k, team in enumerate(sorted(set(teams))[:n_lead] + [None] * max(0, n_lead - len(set(teams)))):
            site = self.sites[k % len(self.sites)]
            a = self.human("manager", "manager", [r.choice(["team_lead", "superviseur"])], team or "qualite", site, r, 1)
            a.extra["team_size"] = r.randint(2000, 8000)
            a.extra["export_wd"] = r.choice([0, 4])
            a.rate = r.uniform(1, 3)
        self.helpdesk = [self.human("helpdesk", "helpdesk", ["support_it"], "support", self.sites[0], r, 0) for _ in range(n_hd)]
        for _ in range(n_adm):
            self.human("admin", "admin", ["admin"], "DSI", self.sites[0], r, 0)
        self.make_services([("nightly", r.randint(100_000, 400_000)), ("hourly", 0), ("weekly", r.randint(50_000, 150_000))]
                           + [(r.choice(["nightly", "hourly"]), r.randint(10_000, 60_000)) for _ in range(n_svc - 3)])
        self.note("high_volume_agents", [a.name for a in self.readers()], 0, 0, self.days, 0)
        if bpo:
            self.note("offshore_outsourcer", [a.name for a in self.of_kind("partner")], 0, 0, self.days, 0)

    def readers(self):
        return [a for a in self.accounts if a.kind in ("staff", "partner")]

    def staff_pool(self):
        return self.of_kind("staff")

    def partner_pool(self):
        return self.of_kind("partner") or self.of_kind("staff")

    def blocks(self, a, day):
        wd = self.weekday(day)
        if a.kind in ("staff", "partner"):
            if wd == 6 or wd == a.pattern["off"]:
                return []
            s, e = a.pattern["slot"]
            s, e = (s + self.rng.gauss(0, 0.05)) * 3600, (e + self.rng.gauss(0, 0.1)) * 3600
            mid = (s + e) / 2 + self.rng.uniform(-1800, 1800)
            return [(s, mid, "site"), (mid + self.rng.uniform(1800, 2700), e + 1800, "site")]
        if wd >= 5:
            return []
        return [(s, e, "site") for s, e in self.office_day(a, day, self.start_h, self.length_h)]

    def pick_caller(self, a, day):
        rng = self.rng
        if self.recent and rng.random() < 0.04:
            return rng.choice(self.recent)
        p = rng.randrange(self.subjects)
        if len(self.recent) < 5000:
            self.recent.append(p)
        else:
            self.recent[rng.randrange(5000)] = p
        return p

    def work(self, a, day, t0, t1, ip, ua):
        if a.kind == "manager":
            self.manager_exports(a, day, ip, ua, t0)
            self.session(a, day, t0, t1, ip, ua, a.rate, lambda x, d: self.rng.choice(self.recent) if self.recent else 0)
        elif a.kind in ("staff", "partner"):
            self.session(a, day, t0, t1, ip, ua, a.rate * self.multiplier(a, day), self.pick_caller)


class Portal(World):
    ARCH = "portal"
    CATEGORIES = ["identity", "birth_date", "address", "civil_status"]
    PROS = [("notaire", "etude-%s"), ("avocat", "cabinet-%s"), ("expert_comptable", "cabinet-ec-%s"), ("commissaire_justice", "scp-%s")]

    def build(self):
        r = self.stream("build")
        self.main_role = "professional"
        self.VIEWS = [("record.view", "/portal/records/%s"), ("record.documents", "/portal/records/%s/documents"),
                      ("record.certificate", "/portal/records/%s/certificate")]
        self.SEARCH = ("record.search", "/portal/search")
        self.export_action, self.export_path = "record.export", "/portal/admin/export"
        self.start_h, self.lunch_h, self.length_h = r.uniform(8.5, 9.3), r.uniform(12.0, 12.8), r.uniform(7.5, 8.2)
        self.make_fleet(0.25)
        n = self.n
        self.subjects = 400_000 + n * 200
        self.sites = self.make_sites([r.choice(CITIES_FR)], lambda i, c: "siege", r.random() < 0.5)
        self.vpn = None
        n_svc, n_adm, n_hd = r.randint(4, 6), 2, max(3, n // 120)
        n_rev = max(3, int(n * r.uniform(0.03, 0.06)))
        n_pro = n - n_svc - n_adm - n_hd - n_rev
        made = 0
        self.mobile = [self.net(r.choice(ISPS_FR[isp]), self.fr_geo(CITIES_FR[0]), "mobile", r) for isp in ISPS_FR]
        while made < n_pro:
            role, gfmt = r.choice(self.PROS)
            city = r.choice(CITIES_FR)
            firm = Site("ext:" + gfmt % self.pseudo(r), city, self.isp_net(r.choice(list(ISPS_FR)), city, r), [r.randint(2, 250)])
            for _ in range(min(n_pro - made, r.choice([1, 1, 2, 2, 3, 4, 6]))):
                a = self.human("partner", role, [role], firm.name[4:], firm, r, 0)
                a.home_ip, a.home_isp = self.home_ip(r, city=city)
                a.browser = self.browser_for(managed=False)
                a.p_active = min(0.9, r.lognormvariate(math.log(0.2), 0.8))
                a.caseload = r.sample(range(self.subjects), r.randint(8, 80))
                made += 1
        for _ in range(n_rev):
            a = self.human("staff", "reviewer", [r.choice(["instructeur", "reviewer"])], r.choice(["instruction", "controle"]), self.sites[0], r, 2)
            a.caseload = r.sample(range(self.subjects), r.randint(100, 300))
            a.rate = r.uniform(3, 8)
        mgr = self.human("manager", "manager", ["manager"], "instruction", self.sites[0], r, 1)
        mgr.extra["team_size"] = r.randint(3000, 15000)
        mgr.rate = 1.0
        mgr.caseload = r.sample(range(self.subjects), 200)
        self.helpdesk = [self.human("helpdesk", "support", ["support"], "support", self.sites[0], r, 1) for _ in range(n_hd)]
        for _ in range(n_adm):
            self.human("admin", "admin", ["admin"], "exploitation", self.sites[0], r, 0)
        svcs = self.make_services([("nightly", r.randint(20_000, 80_000)), ("hourly", 0)]
                                  + [("hourly", 0) for _ in range(n_svc - 2)])
        cloud = svcs[2:]
        for a in cloud:
            a.name = a.name if a.name.startswith("int") else "int-" + self.pseudo(r)
            a.refresh()
            a.job["ip"] = self.hosting_ip(r, ["ovh", "aws", "azure", "scaleway"])
            a.job["ua"] = r.choice(["okhttp/4.12.0", "Go-http-client/2.0", "axios/1.6.7"])
        self.by_name = {a.name: a for a in self.accounts}
        self.benign_raw = [b for b in self.benign_raw if b[0] != "service_job_jitter"]
        for a in svcs:
            self.note("cloud_integration" if a in cloud else "service_job_jitter", [a.name], 0, 0, self.days, 0)

    def readers(self):
        return [a for a in self.accounts if a.kind in ("staff", "partner")]

    def staff_pool(self):
        return self.of_kind("partner")

    def partner_pool(self):
        return self.of_kind("partner")

    def insider_pool(self):
        return self.of_kind("staff")

    def blocks(self, a, day):
        rng = self.rng
        if a.kind != "partner":
            if not self.is_workday(day):
                return []
            where = "home" if self.weekday(day) in a.pattern["remote"] else "site"
            return [(s, e, where) for s, e in self.office_day(a, day, self.start_h, self.length_h)]
        wd = self.weekday(day)
        p = a.p_active * (1.0 if wd < 5 else 0.1 if wd == 5 else 0.03)
        if rng.random() > p:
            return []
        out = []
        for _ in range(1 if rng.random() < 0.7 else rng.randint(2, 3)):
            s = (rng.uniform(8.5, 19) if rng.random() < 0.85 else rng.uniform(19, 22.5)) * 3600
            u = rng.random()
            out.append((s, s + rng.uniform(5, 40) * 60, "site" if u < 0.72 else "home" if u < 0.95 else "mobile"))
        return sorted(out)

    def place(self, a, day, where):
        if where == "mobile":
            return rng_addr(self.rng, self.rng.choice(self.mobile)), a.browser.ua(day)
        if where == "home" and a.kind == "partner":
            hc = a.extra.get("home_change")
            return (hc[1] if hc and day >= hc[0] else a.home_ip), a.browser.ua(day)
        return World.place(self, a, day, where)

    def work(self, a, day, t0, t1, ip, ua):
        rng = self.rng
        if a.kind == "manager":
            self.manager_exports(a, day, ip, ua, t0)
        if a.kind == "partner":
            n = max(1, int(rng.randint(1, 20) * self.multiplier(a, day)))
            t = t0
            for _ in range(n):
                t += rng.uniform(20, max(30, (t1 - t0) / n))
                sub = self.pick_caseload(a, day, 0.15)
                t = self.ms_to_local(self.view_burst(self.ms(day, t), a, ip, ua, sub), day)
        elif a.kind in ("staff", "manager"):
            self.session(a, day, t0, t1, ip, ua, a.rate * self.multiplier(a, day), lambda x, d: self.pick_caseload(x, d, 0.3))


def rng_addr(rng, net):
    return net.addr(rng.randint(2, 254))


# ---------------------------------------------------------------- attacks
ATTACK_UAS = ["python-requests/2.31.0", "python-requests/2.32.3"]


def other_browser(rng, victim_kind, day):
    kinds = [k for k in ("firefox-linux", "chrome-linux", "chrome-mac", "firefox-win", "safari-mac") if k != victim_kind]
    k = rng.choice(kinds)
    return Browser(k, UA_BASE[family(k)], None, rng).ua(day)


class Attacks:
    """Eight attacks, all in the last 40% of the period."""

    def __init__(self, w):
        self.w = w
        self.r = w.stream("attacks")
        self.used = set()

    def victim(self, pool, need_day=None):
        ok = [a for a in pool if a.name not in self.used and a.hired is None and not a.leave and not a.covering
              and a.takeover is None and "reorg" not in a.extra and not a.travel and a.caseload is not None]
        if need_day is not None:
            ok = [a for a in ok if self.w.blocks_probe(a, need_day)] or ok
        a = self.r.choice(ok or pool)
        self.used.add(a.name)
        return a

    def harvest(self, sc, a, day, t0, t1, ip, ua, per_hour, exclude=(), pages=0.6):
        """Read `per_hour` new people an hour between local t0 and t1."""
        w, r = self.w, self.r
        t = t0
        while t < t1:
            ms = w.ms(day, t)
            if r.random() < pages:
                ids = w.outsiders(r, r.randint(10, 25), exclude)
                w.search(ms, a, ip, ua, ids, sc)
            else:
                ids = w.outsiders(r, 1, exclude)
                w.view_burst(ms, a, ip, ua, ids[0], sc, depth=r.randint(1, 2))
            t += len(ids) * 3600.0 / per_hour * r.uniform(0.6, 1.4)

    def days_from(self, d0, n):
        return [d for d in range(d0, min(self.w.days, d0 + n))]

    def plan(self):
        w, r = self.w, self.r
        fa, last = w.first_attack_day, w.days - 1
        starts = {
            "helpdesk": r.randint(fa, max(fa, last - 2)),
            "careful": r.randint(fa, max(fa, last - 2)),
        }
        for k in ("spray", "token", "partner", "travel", "rogue", "insider"):
            starts[k] = r.randint(fa, last)
        for k, fn in (("helpdesk", self.helpdesk_reset_takeover), ("spray", self.spray_then_success),
                      ("token", self.stolen_service_token), ("careful", self.careful_attacker),
                      ("partner", self.stolen_partner), ("travel", self.impossible_travel),
                      ("rogue", self.rogue_account_creator), ("insider", self.curious_insider)):
            sc = fn(starts[k])
            assert sc.reads, "attack %s produced no reads" % sc.name
            w.scenarios.append(sc)

    # 1
    def helpdesk_reset_takeover(self, d0):
        w, r = self.w, self.r
        v = self.victim(w.staff_pool())
        sc = Scenario(w, "helpdesk_reset_takeover",
                      "A caller impersonating %s (on leave) gets the help desk to reset the password; the attacker "
                      "logs in from a hosting/foreign address with another browser and harvests in evenings and at weekends." % v.name)
        v.leave.update(range(d0, w.days))
        hd = r.choice(w.helpdesk)
        t = r.uniform(14.5, 17.5) * 3600
        w.reset(w.ms(d0, t), hd, hd.site.ip(d0, r), hd.browser.ua(d0), v.name, sc)
        ip = w.hosting_ip(r) if r.random() < 0.6 else w.foreign_ip(r)
        ua = other_browser(r, v.browser.kind, d0)
        t += r.uniform(0.5, 3) * 3600
        w.login(w.ms(d0, t), v, ip, ua)
        sc.mark(w.ms(d0, t))
        sc.acct(v), sc.ip(ip)
        per_hour = r.uniform(200, 500)
        for d in self.days_from(d0, r.randint(3, 5)):
            if w.weekday(d) >= 5:
                spans = [(r.uniform(10, 12) * 3600, r.uniform(15, 19) * 3600), (r.uniform(20, 21) * 3600, r.uniform(22.5, 23.8) * 3600)]
            else:
                spans = [(max(t + 600, r.uniform(18.5, 20) * 3600) if d == d0 else r.uniform(18.5, 20) * 3600, r.uniform(22, 23.8) * 3600)]
            for s, e in spans:
                if s >= e:
                    continue
                if d != d0 or s > t + 3600:
                    w.login(w.ms(d, s - 60), v, ip, ua)
                self.harvest(sc, v, d, s, e, ip, ua, per_hour, v.caseload)
        return sc

    # 2
    def spray_then_success(self, d0):
        w, r = self.w, self.r
        humans = [a for a in w.humans() if a.hired is None]
        v = self.victim(w.staff_pool() + w.partner_pool())
        sc = Scenario(w, "spray_then_success",
                      "Password spray at night from one address against 100+ accounts, success on %s, bulk export then steady reads." % v.name)
        ip = w.hosting_ip(r) if r.random() < 0.5 else w.foreign_ip(r)
        ua = r.choice(ATTACK_UAS + [other_browser(r, "", d0)])
        t = r.uniform(2.0, 3.6) * 3600
        targets = r.sample([a for a in humans if a is not v], min(len(humans) - 1, r.randint(100, 160)))
        span = r.uniform(12, 22) * 60
        step = span / (len(targets) + 1)
        first = True
        for a in targets:
            for _ in range(1 if r.random() < 0.6 else 2):
                ms = w.ms(d0, t)
                w.login(ms, a, ip, ua, ok=False)
                if first:
                    sc.mark(ms)
                    first = False
                t += step * r.uniform(0.3, 0.9)
            if r.random() < 0.05:
                w.failed_unknown(w.ms(d0, t), "%s%d" % (r.choice(["admin", "test", "user", "support"]), r.randint(1, 99)), ip, ua)
        t += r.uniform(30, 240)
        w.login(w.ms(d0, t), v, ip, ua)
        sc.mark(w.ms(d0, t))
        sc.acct(v), sc.ip(ip)
        total, goal = 0, r.randint(10_000, 30_000)
        end = t + r.uniform(30, 60) * 60
        while total < goal:
            t += r.uniform(120, (end - t) / 3 + 130)
            n = min(goal - total, r.randint(2000, 8000))
            w.export(w.ms(d0, t), v, ip, ua, n, sc)
            total += n
        self.harvest(sc, v, d0, t + 300, r.uniform(6.0, 6.8) * 3600, ip, ua, r.uniform(50, 120), v.caseload, pages=0.3)
        return sc

    # 3
    def stolen_service_token(self, d0):
        w, r = self.w, self.r
        svc = [a for a in w.services if a.job["sched"] != "hourly"] or w.services
        v = r.choice(svc)
        self.used.add(v.name)
        sc = Scenario(w, "stolen_service_token",
                      "The token of service account %s is used from a cloud address with python-requests, off schedule, "
                      "to export 40k records in an hour and more later." % v.name)
        ip = w.hosting_ip(r, ["aws", "azure", "digitalocean", "linode", "ovh"])
        ua = r.choice(ATTACK_UAS)
        h0 = (v.job["hour"] + r.uniform(8, 16)) % 24
        t = max(h0, 0.2) * 3600
        for burst, (goal, per) in enumerate(((40_000, 10_000), (r.randint(20_000, 60_000), 10_000))):
            d = d0 if burst == 0 else min(w.days - 1, d0 + 1)
            if burst == 1:
                t = r.uniform(1, 22) * 3600
                if d == d0:
                    t = min(23.5 * 3600, w.ms_to_local(sc.last, d0) + r.uniform(2, 5) * 3600)
            w.token(w.ms(d, t), v, ip, ua, v.job["auth"])
            sc.mark(w.ms(d, t)), sc.acct(v), sc.ip(ip)
            total = 0
            while total < goal:
                t += r.uniform(200, 700)
                n = min(goal - total, int(per * r.uniform(0.7, 1.2)))
                w.export(w.ms(d, t), v, ip, ua, n, sc)
                total += n
        return sc

    # 4
    def careful_attacker(self, d0):
        w, r = self.w, self.r
        v = self.victim([a for a in w.staff_pool() if a.home_isp])
        sc = Scenario(w, "careful_attacker",
                      "Phished credentials of %s used in the victim's usual hours from the victim's ISP (new /24), "
                      "same browser one version older, ~3x the victim's daily reads, all outside the working set, three days." % v.name)
        net = w.isp_net(v.home_isp, r.choice(CITIES_FR), r)
        ip = net.addr(r.randint(2, 254))
        daily = max(30, int(v.rate * 7 * 3 * r.uniform(0.8, 1.2)))
        worked = 0
        for d in range(d0, w.days):
            if worked == 3:
                break
            blocks = w.blocks_probe(v, d)
            if not blocks and v.kind == "partner" and w.is_workday(d):
                blocks = [(r.uniform(9, 10) * 3600, 12 * 3600, "site"), (14 * 3600, r.uniform(16.5, 18) * 3600, "site")]
            if not blocks:
                continue
            worked += 1
            ua = v.browser.ua(d, delta=-1)
            hours = sum(e - s for s, e, _ in blocks) / 3600.0
            for s, e, _ in blocks:
                s += min(r.uniform(600, 2400), (e - s) / 3)
                if s + 60 >= e:
                    continue
                w.login(w.ms(d, s), v, ip, ua)
                sc.mark(w.ms(d, s)), sc.acct(v), sc.ip(ip)
                self.harvest(sc, v, d, s + 60, e, ip, ua, daily / max(1.0, hours), v.caseload, pages=0.0)
        return sc

    # 5
    def stolen_partner(self, d0):
        w, r = self.w, self.r
        v = self.victim(w.partner_pool() or w.staff_pool())
        sc = Scenario(w, "stolen_partner_or_professional_credentials",
                      "Credentials of %s (%s) used from a new address and a new browser in business hours, harvesting 100-300 people an hour." % (v.name, v.group))
        ip = w.hosting_ip(r) if r.random() < 0.4 else w.home_ip(r)[0]
        ua = other_browser(r, v.browser.kind, d0)
        d1 = World.attack_workday(w, d0)
        for d in [x for x in self.days_from(d1, 4) if w.is_workday(x)][:r.randint(1, 2)]:
            s = r.uniform(9, 14) * 3600
            e = s + r.uniform(2, 4) * 3600
            w.login(w.ms(d, s), v, ip, ua)
            sc.mark(w.ms(d, s)), sc.acct(v), sc.ip(ip)
            self.harvest(sc, v, d, s + 60, e, ip, ua, r.uniform(100, 300), v.caseload, pages=0.5)
        return sc

    # 6
    def impossible_travel(self, d0):
        w, r = self.w, self.r
        d = w.attack_workday(d0)
        pool = [a for a in w.staff_pool() + w.partner_pool()]
        v = self.victim(pool, need_day=d)
        sc = Scenario(w, "impossible_travel",
                      "The account %s is used from another continent while its owner works from the usual place the same day." % v.name)
        ip = w.foreign_ip(r)
        ua = other_browser(r, v.browser.kind, d) if r.random() < 0.7 else v.browser.ua(d)
        s = r.uniform(10, 16) * 3600
        w.login(w.ms(d, s), v, ip, ua)
        sc.mark(w.ms(d, s)), sc.acct(v), sc.ip(ip)
        self.harvest(sc, v, d, s + 60, s + r.uniform(1, 2) * 3600, ip, ua, r.uniform(60, 150), v.caseload, pages=0.3)
        v.extra["must_work"] = d
        return sc

    # 7
    def rogue_account_creator(self, d0):
        w, r = self.w, self.r
        pool = w.of_kind("admin") + w.helpdesk
        v = r.choice(pool)
        self.used.add(v.name)
        sc = Scenario(w, "rogue_account_creator",
                      "Admin/help-desk account %s, out of hours, creates accounts and grants them roles; they harvest hundreds an hour." % v.name)
        insider = r.random() < 0.5
        ip = v.home_ip if insider else w.hosting_ip(r)
        ua = v.browser.ua(d0) if insider else other_browser(r, v.browser.kind, d0)
        t = (r.uniform(20.5, 23) if w.weekday(d0) < 5 else r.uniform(10, 22)) * 3600
        w.login(w.ms(d0, t), v, ip, ua)
        sc.mark(w.ms(d0, t)), sc.acct(v), sc.ip(ip)
        proto = r.choice(w.staff_pool())
        created = []
        for _ in range(r.randint(2, 3)):
            t += r.uniform(60, 400)
            a = w.add(Account(w.new_name(w.name_prefix(proto), r), proto.kind, proto.title, list(proto.roles), proto.group, proto.site))
            a.caseload = []
            a.hired = (w.days + 1, v)      # never does anything benign
            w.iam(w.ms(d0, t), v, ip, ua, ["user", "creation"], w.create_action, a.name)
            for role in a.roles:
                t += r.uniform(10, 90)
                w.iam(w.ms(d0, t), v, ip, ua, ["user", "change"], w.grant_action, a.name)
            created.append(a)
        sc.last = w.ms(d0, t)
        for a in created:
            s = t + r.uniform(120, 900)
            w.login(w.ms(d0, s), a, ip, ua)
            sc.acct(a)
            self.harvest(sc, a, d0, s + 60, s + r.uniform(1.5, 3) * 3600, ip, ua, r.uniform(150, 400), pages=0.6)
        return sc

    # 8
    def curious_insider(self, d0):
        w, r = self.w, self.r
        d = w.attack_workday(d0)
        v = self.victim(w.insider_pool(), need_day=d)
        sc = Scenario(w, "curious_insider",
                      "%s reads people outside the caseload (neighbours, celebrities) over an afternoon, from the usual place." % v.name)
        blocks = w.blocks_probe(v, d) or [(14 * 3600, 17.5 * 3600, "site")]
        s, e, where = blocks[-1]
        ip, ua = w.place(v, d, where)
        n = r.randint(40, 80)
        step = (e - s) / (n + 1)
        t = s + step
        w.login(w.ms(d, s), v, ip, ua)
        sc.acct(v), sc.ip(ip)
        for sub in w.outsiders(r, n, v.caseload):
            t = w.view_burst(w.ms(d, t), v, ip, ua, sub, sc, depth=r.randint(1, 3))
            t = w.ms_to_local(t, d) + step * r.uniform(0.3, 1.2)
        v.extra["must_work"] = d
        return sc


# ---------------------------------------------------------------- main
ARCHETYPES = {"agency": Agency, "hospital": Hospital, "callcentre": CallCentre, "portal": Portal}


def main(argv=None):
    p = argparse.ArgumentParser(description="Independent ground-truth world generator for vigie.")
    p.add_argument("--archetype", required=True, choices=sorted(ARCHETYPES))
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--accounts", type=int, default=300)
    p.add_argument("--days", type=int, default=14)
    p.add_argument("--start", default="2026-03-02")
    p.add_argument("--out", required=True)
    p.add_argument("--truth", required=True)
    p.add_argument("--caseload", help="also write the organisation's caseload file (account,subject_id) as it "
                   "stands at the end of the log: who follows whom, as an HR or case-management export would say")
    a = p.parse_args(argv)
    if a.accounts < 100 or a.days < 7:
        p.error("need at least 100 accounts and 7 days")
    t0 = time.time()
    w = ARCHETYPES[a.archetype](a.seed, a.accounts, a.days, date.fromisoformat(a.start))
    w.run(a.out)
    with open(a.truth, "w") as f:
        json.dump(w.truth(), f, indent=1)
        f.write("\n")
    if a.caseload:
        with open(a.caseload, "w") as f:
            f.write("account,subject_id\n")
            for acc in w.accounts:
                people = list(acc.caseload) + (list(acc.takeover[1]) if acc.takeover else [])
                for i in dict.fromkeys(people):
                    f.write("%s,%s\n" % (acc.name, w.sid(i)))
    print("%s seed %d: %d accounts, %d events, %d attacks, %d benign, %.1fs" % (
        a.archetype, a.seed, len(w.accounts), w.events, len(w.scenarios), len(w.benign_json()), time.time() - t0),
        file=sys.stderr)


if __name__ == "__main__":
    main()
