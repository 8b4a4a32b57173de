#!/usr/bin/env bash
# Detection efficacy over several seeds and organisation archetypes (docs/efficacy.md):
#   bench/efficacy.sh "11 12 13 14 15" [accounts] [days] [workdir] [archetype]
#   ARCHETYPES="agency hospital callcentre portal" bench/efficacy.sh "11 12" 2000 21
# For each archetype and seed: simulate, replay with the bundled content
# (alerts and actions), then score every run together with vigie eval
# (which also reports per archetype). CASELOAD=1 also writes each
# organisation's caseload file and replays with it (caseload.accounts).
set -euo pipefail
seeds=${1:-"11 12 13 14 15"}
accounts=${2:-2000}
days=${3:-21}
work=${4:-bench-data/efficacy}
archetypes=${ARCHETYPES:-${5:-agency}}
vigie=${VIGIE:-target/release/vigie}
mkdir -p "$work"
args=()
for a in $archetypes; do
  for s in $seeds; do
    d="$work/$a/seed-$s"
    mkdir -p "$d"
    conf=()
    if [ -n "${CASELOAD:-}" ]; then
      "$vigie" simulate --archetype "$a" --accounts "$accounts" --days "$days" --seed "$s" --out "$d/events.jsonl" --truth "$d/truth.json" --caseload "$d/caseload.csv" --json > "$d/simulate.json"
      "$(dirname "$0")/caseload-config.sh" "$d"
      conf=(--config "$d/vigie.toml")
    else
      "$vigie" simulate --archetype "$a" --accounts "$accounts" --days "$days" --seed "$s" --out "$d/events.jsonl" --truth "$d/truth.json" --json > "$d/simulate.json"
    fi
    "$vigie" replay ${conf[@]+"${conf[@]}"} "$d/events.jsonl" --alerts "$d/alerts.jsonl" --actions "$d/actions.jsonl" --json > "$d/replay.json"
    [ -n "${KEEP_EVENTS:-}" ] || rm -f "$d/events.jsonl"
    args+=(--truth "$d/truth.json" --alerts "$d/alerts.jsonl" --actions "$d/actions.jsonl")
  done
done
"$vigie" eval "${args[@]}" --svg "$work/efficacy.svg" --json > "$work/report.json"
"$vigie" eval "${args[@]}"
