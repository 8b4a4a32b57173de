#!/usr/bin/env bash
# Writes DIR/vigie.toml and DIR/analytics.yml: the bundled analytics
# settings with DIR/caseload.csv as the caseload file, for a replay that
# knows who follows whom (CASELOAD=1 in bench/efficacy.sh and
# bench/indep-eval.sh; docs/efficacy.md).
#   bench/caseload-config.sh DIR
set -euo pipefail
d=$(cd "$1" && pwd)
case "$d" in *[\|\&\"\\]*) echo "caseload-config.sh: $d: a folder whose path has |, &, \" or \\ is not supported" >&2; exit 1;; esac
here=$(cd "$(dirname "$0")" && pwd)
sed "s|^  # accounts: .*|  accounts: $d/caseload.csv|" "$here/../analytics/default.yml" > "$d/analytics.yml"
grep -q "^  accounts: $d/caseload.csv" "$d/analytics.yml" || { echo "analytics/default.yml has no caseload.accounts line to set" >&2; exit 1; }
printf '[engine]\nstate_dir = "%s/state"\n\n[analytics]\npath = "%s/analytics.yml"\n' "$d" "$d" > "$d/vigie.toml"
