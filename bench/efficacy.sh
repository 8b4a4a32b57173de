#!/usr/bin/env bash
# Detection efficacy over several seeds (docs/efficacy.md):
#   bench/efficacy.sh "11 12 13 14 15" [accounts] [days] [workdir]
# For each seed: simulate, replay with the bundled content (alerts and
# actions), then score every seed together with vigie eval.
set -euo pipefail
seeds=${1:-"11 12 13 14 15"}
accounts=${2:-2000}
days=${3:-21}
work=${4:-bench-data/efficacy}
vigie=${VIGIE:-target/release/vigie}
mkdir -p "$work"
args=()
for s in $seeds; do
  d="$work/seed-$s"
  mkdir -p "$d"
  "$vigie" simulate --accounts "$accounts" --days "$days" --seed "$s" --out "$d/events.jsonl" --truth "$d/truth.json" --json > "$d/simulate.json"
  "$vigie" replay "$d/events.jsonl" --alerts "$d/alerts.jsonl" --actions "$d/actions.jsonl" --json > "$d/replay.json"
  rm -f "$d/events.jsonl"
  args+=(--truth "$d/truth.json" --alerts "$d/alerts.jsonl" --actions "$d/actions.jsonl")
done
"$vigie" eval "${args[@]}" --svg "$work/efficacy.svg" --json > "$work/report.json"
"$vigie" eval "${args[@]}"
