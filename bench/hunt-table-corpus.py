#!/usr/bin/env python3
"""Corpus for the hunt table memory figure (docs/performance.md, issue 16).

    python3 bench/hunt-table-corpus.py OUT_DIR [LINES]

Writes OUT_DIR/events.jsonl: LINES (default 200,000) Sysmon process-creation
events whose images, command lines and process ids never repeat, every other
one running whoami.exe; and OUT_DIR/r.yml, one high rule matching those.
So half the lines are detections, each with its own values."""
import json, os, random, sys

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
os.makedirs(out, exist_ok=True)
rng = random.Random(16)
with open(os.path.join(out, "events.jsonl"), "w") as f:
    for i in range(n):
        image = "C:\\Windows\\System32\\whoami.exe" if i % 2 == 0 else f"C:\\Tools\\app{rng.getrandbits(40):x}.exe"
        ev = {"Event": {"System": {"Provider": {"Name": "Microsoft-Windows-Sysmon"}, "EventID": 1,
                                   "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": f"ws{i % 500}",
                                   "TimeCreated": {"SystemTime": f"2026-03-02T{(i // 3600) % 24:02}:{(i // 60) % 60:02}:{i % 60:02}.000Z"}},
                        "EventData": {"Image": image, "CommandLine": f"{image} /x {rng.getrandbits(64):x}",
                                      "ProcessId": rng.randrange(1, 1 << 20), "User": f"CORP\\u{rng.getrandbits(24):x}"}}}
        f.write(json.dumps(ev) + "\n")
with open(os.path.join(out, "r.yml"), "w") as f:
    f.write("""title: Whoami Run
id: 6d1b5c2e-8a4f-4e0b-9c1d-2f3a4b5c6d7e
status: test
author: vigie
level: high
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\\\\whoami.exe'
  condition: sel
""")
