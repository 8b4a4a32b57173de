#!/usr/bin/env bash
# Detection efficacy on the independent world (bench/worldgen.py):
#   bench/indep-eval.sh "agency hospital callcentre portal" "1 2 3 4 5" [accounts] [days] [workdir]
# For each archetype and seed: generate, replay with the bundled content
# (alerts and actions), drop the events, then score every run together with
# vigie eval (KEEP_EVENTS=1 keeps each run's events.jsonl). Seeds 1-5 are for tuning; 1001-1005 are held out (see the
# docstring of bench/worldgen.py) and are never the default. CASELOAD=1 also
# writes each organisation's caseload file and replays with it.
set -euo pipefail
archetypes=${1:-"agency hospital callcentre portal"}
seeds=${2:-"1 2 3 4 5"}
accounts=${3:-300}
days=${4:-14}
work=${5:-bench-data/indep}
vigie=${VIGIE:-target/release/vigie}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
args=()
for a in $archetypes; do
  for s in $seeds; do
    d="$work/$a-$s"
    mkdir -p "$d"
    conf=()
    cl=()
    [ -z "${CASELOAD:-}" ] || cl=(--caseload "$d/caseload.csv")
    python3 "$here/worldgen.py" --archetype "$a" --seed "$s" --accounts "$accounts" --days "$days" \
      --out "$d/events.jsonl" --truth "$d/truth.json" ${cl[@]+"${cl[@]}"}
    if [ -n "${CASELOAD:-}" ]; then
      "$here/caseload-config.sh" "$d"
      conf=(--config "$d/vigie.toml")
    fi
    "$vigie" replay ${conf[@]+"${conf[@]}"} "$d/events.jsonl" --alerts "$d/alerts.jsonl" --actions "$d/actions.jsonl" --json > "$d/replay.json"
    [ -n "${KEEP_EVENTS:-}" ] || rm -f "$d/events.jsonl"
    args+=(--truth "$d/truth.json" --alerts "$d/alerts.jsonl" --actions "$d/actions.jsonl")
  done
done
"$vigie" eval "${args[@]}" --json > "$work/report.json"
"$vigie" eval "${args[@]}"
