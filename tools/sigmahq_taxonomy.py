#!/usr/bin/env python3
"""Print SigmaHQ's log-source taxonomy in vigie's format.

Reads a saved copy of `tools/sigmahq_taxonomy.json` from SigmaHQ's
pySigma-validators-sigmaHQ repository and prints the body of
crates/sigma/src/lint/checks/taxonomy.txt: one `@ product category service`
line per log source (`-` for a key left out), its known fields (native, then
custom) on the lines after it, and a `redundant:` line. The header and the
`# vigie` section of taxonomy.txt are vigie's own: keep them when updating.

    python3 tools/sigmahq_taxonomy.py sigmahq_taxonomy.json > body.txt

Nothing is downloaded: fetch the JSON by hand, at the version you mean.
"""

import json
import sys
import textwrap


def words(names):
    """Unique names, first occurrence kept, wrapped at 110 columns."""
    seen = []
    for n in names:
        if n not in seen:
            seen.append(n)
    return textwrap.wrap(" ".join(seen), 110, break_long_words=False, break_on_hyphens=False)


def main(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    print(f"# taxonomy version {data['version']}")
    for entry in data["taxonomy"].values():
        ls = entry["logsource"]
        key = [ls.get(k) or "-" for k in ("product", "category", "service")]
        print("@ " + " ".join(key))
        field = entry.get("field", {})
        for names in (field.get("native", []), field.get("custom", [])):
            for line in words(names):
                print(line)
        if field.get("redundant"):
            print("redundant: " + " ".join(field["redundant"]))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
