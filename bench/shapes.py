#!/usr/bin/env python3
"""Count, in generated worlds kept with KEEP_EVENTS=1, how often a shape of
events occurs inside an attack (truth.json, its accounts from an hour before
its first event to an hour after its last) and outside any (docs/analytics.md
cites these counts for the new-source escalation and the administration rule).

    python3 bench/shapes.py concurrent DIR [DIR ...]
    python3 bench/shapes.py fresh-iam DIR [DIR ...]

concurrent: a login from a /16 and a user agent the account never used,
within 15 minutes of a success from another /24, after 4 active days.
fresh-iam: an account creation from a /24 first used by the creator within
the day (or never), after 4 active days; once per creator and network.
Standard library only; an approximation of vigie's own tests (no ASN, no
organisation egress), for counting, not for detecting."""
import json
import sys
from datetime import datetime


def ms(s):
    return int(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000)


def attacks(d):
    t = json.load(open(f"{d}/truth.json"))
    att = {}
    for s in t["scenarios"]:
        for a in s["accounts"]:
            att.setdefault(a, []).append((s["start_ms"] - 3_600_000, s["end_ms"] + 3_600_000, s["name"]))
    return att


def events(d):
    for line in open(f"{d}/events.jsonl"):
        e = json.loads(line)
        u = (e.get("user") or {}).get("name")
        ip = (e.get("source") or {}).get("ip")
        ev = e.get("event") or {}
        if u and ip and ev.get("outcome") != "failure":
            yield e, u, ip, ev, ms(e["@timestamp"])


def concurrent(d, hit):
    st = {}
    for e, u, ip, ev, m in events(d):
        ua = (e.get("user_agent") or {}).get("original", "")
        s = st.setdefault(u, {"wide": set(), "ua": set(), "last": None, "days": set()})
        net, wide = ip.rsplit(".", 1)[0], ".".join(ip.split(".")[:2])
        login = "authentication" in (ev.get("category") or [])
        if login and s["last"] and len(s["days"]) >= 4 and wide not in s["wide"] and ua not in s["ua"]:
            at, last = s["last"]
            if m - at <= 15 * 60_000 and last != net:
                hit(u, m, e)
        s["wide"].add(wide), s["ua"].add(ua), s["days"].add(e["@timestamp"][:10])
        s["last"] = (m, net)


def fresh_iam(d, hit):
    nets, first, days, done = {}, {}, {}, set()
    for e, u, ip, ev, m in events(d):
        net = ip.rsplit(".", 1)[0]
        known = nets.setdefault(u, set())
        create = "iam" in (ev.get("category") or []) and "creation" in (ev.get("type") or [])
        if create and len(days.get(u, ())) >= 4 and (u, net) not in done:
            if net not in known or m - first.get((u, net), 0) < 86_400_000:
                done.add((u, net))
                hit(u, m, e)
        if net not in known:
            first[(u, net)] = m
        known.add(net)
        days.setdefault(u, set()).add(e["@timestamp"][:10])


def main():
    shape, dirs = sys.argv[1], sys.argv[2:]
    count = {"attack": 0, "benign": 0}
    for d in dirs:
        att = attacks(d)

        def hit(u, m, e):
            tag = [n for (a, b, n) in att.get(u, []) if a <= m <= b]
            count["attack" if tag else "benign"] += 1
            print(d, u, e["@timestamp"], tag[0] if tag else "benign")

        {"concurrent": concurrent, "fresh-iam": fresh_iam}[shape](d, hit)
    print(f"attack {count['attack']} benign {count['benign']}")


main()
