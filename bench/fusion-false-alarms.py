#!/usr/bin/env python3
"""False alarms of the fused evidence per archetype (docs/efficacy.md).

    python3 bench/fusion-false-alarms.py WORKDIR [WORKDIR ...]

WORKDIR is the folder bench/efficacy.sh or bench/indep-eval.sh wrote (each
run in a subfolder with truth.json and alerts.jsonl). An alert of
`vigie-analytics-fused-evidence` at high or above is false when it names no
account or address of an attack within the attack's span (plus an hour
either side), as `vigie eval` attributes alerts."""
import glob
import json
import os
import sys
from datetime import datetime

HOUR = 3_600_000
rows = {}
for work in sys.argv[1:]:
    for truth_path in glob.glob(os.path.join(work, "**", "truth.json"), recursive=True):
        d = os.path.dirname(truth_path)
        t = json.load(open(truth_path))
        arch = t.get("archetype") or "agency"
        r = rows.setdefault(arch, {"account_days": 0, "fused": 0, "false": 0})
        r["account_days"] += t["accounts"] * t["days"]
        spans = [(set(s["accounts"]), set(s["source_ips"]), s["start_ms"] - HOUR, s["end_ms"] + HOUR) for s in t["scenarios"]]
        for line in open(os.path.join(d, "alerts.jsonl")):
            a = json.loads(line)
            if a["rule"]["id"] != "vigie-analytics-fused-evidence" or a["alert"]["status"] != "new":
                continue
            if a["rule"]["level"] not in ("high", "critical"):
                continue
            ts = datetime.fromisoformat(a["@timestamp"].replace("Z", "+00:00")).timestamp() * 1000
            user = (a.get("user") or {}).get("name")
            ip = (a.get("source") or {}).get("ip")
            r["fused"] += 1
            if not any((user in acc or ip in ips) and lo <= ts <= hi for acc, ips, lo, hi in spans):
                r["false"] += 1
print("| archetype | fused alerts (high+) | of which false | false per 1,000 account-days |")
print("|---|---|---|---|")
for arch, r in sorted(rows.items()):
    per = 1000.0 * r["false"] / r["account_days"] if r["account_days"] else 0.0
    print(f"| {arch} | {r['fused']} | {r['false']} | {per:.3f} |")
