#!/usr/bin/env python3
"""Markdown tables from `vigie eval --json` reports (docs/efficacy.md).

    python3 bench/efficacy-table.py REPORT.json [REPORT.json ...]

Per report: one row per archetype (and the total), then one row per attack
(detected runs, median and worst minutes to detect, records before
containment against what the attack would take)."""
import json
import statistics
import sys


def pct(a, b):
    return f"{100.0 * a / b:.3f}%" if b else "-"


def archetype_rows(r):
    print("| archetype | detected (high+) | median min to detect | records before containment | false highs /1,000 account-days | false containments /1,000 account-days |")
    print("|---|---|---|---|---|---|")
    rows = list(r.get("archetypes", [])) + [dict(r, archetype="**all**")]
    for a in rows:
        fc = a.get("false_containment_per_1000_account_days", "-")
        med = a["median_minutes_to_detect"]
        med = f"{med:.1f}" if isinstance(med, (int, float)) else "-"
        print(f"| {a['archetype']} | {a['detected']}/{a['attacks']} | {med} | "
              f"{a['records_before_containment']:,} of {a['records_total']:,} ({pct(a['records_before_containment'], a['records_total'])}) | "
              f"{a['false_high_per_1000_account_days']} ({a['false_high']}) | {fc} ({a.get('false_containment', '-')}) |")


def attack_rows(r):
    by = {}
    for s in r["scenarios"]:
        by.setdefault(s["name"], []).append(s)
    print()
    print("| attack | detected | median min to detect | worst | records before containment |")
    print("|---|---|---|---|---|")
    for name, runs in by.items():
        t = [s["minutes_to_detect"] for s in runs if s["minutes_to_detect"] is not None]
        med = f"{statistics.median(t):.1f}" if t else "-"
        worst = f"{max(t):.1f}" if t else "-"
        before = sum(s["records_before_containment"] for s in runs)
        total = sum(s["records_total"] for s in runs)
        print(f"| {name} | {sum(s['detected'] for s in runs)}/{len(runs)} | {med} | {worst} | {before:,} of {total:,} |")


for path in sys.argv[1:]:
    r = json.load(open(path))
    print(f"\n`{path}`\n")
    archetype_rows(r)
    attack_rows(r)
    fh = r.get("false_high_by_rule", {})
    if fh:
        print("\nFalse highs by rule: " + "; ".join(f"{k} {v}" for k, v in sorted(fh.items(), key=lambda kv: -kv[1])))
    fc = r.get("false_containment_by_rule", {})
    if fc:
        print("\nFalse containments by rule: " + "; ".join(f"{k} {v}" for k, v in fc.items()))
