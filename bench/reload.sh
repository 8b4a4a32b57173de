#!/usr/bin/env bash
# Reload figures: time to swap SigmaHQ's whole pack, memory during a swap.
# usage: bench/reload.sh BIN [RULES]   (N=reloads, GAP=seconds between them)
set -u
BIN=$1; RULES=${2:-$(cd "$(dirname "$0")/../.." && pwd)/shared/sigma/rules}
D=$(mktemp -d)
cat > $D/cfg.toml <<CFG
[rules]
paths = ["$RULES"]
[engine]
state_dir = "$D/state"
[server]
listen = "127.0.0.1:9611"
token = "bench"
[[inputs]]
type = "http"
[[sinks]]
type = "jsonl"
path = "$D/alerts.jsonl"
CFG
$BIN run --config $D/cfg.toml 2>$D/log & PID=$!
for _ in $(seq 1 600); do curl -sf http://127.0.0.1:9611/healthz >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/{print $2}' /proc/$PID/status; }
echo "rules: $(grep -o 'rules=[0-9]*' $D/log | head -1) rss at start: $(rss) kB"
for i in $(seq 1 ${N:-5}); do
  sleep ${GAP:-0}
  touch $D/sampling
  ( max=0; while [ -e $D/sampling ]; do r=$(rss); [ "$r" -gt "$max" ] && max=$r; sleep 0.005; done; echo $max > $D/peak ) &
  S=$!
  before=$(rss)
  t0=$(date +%s.%N)
  curl -s -X POST -H "Authorization: Bearer bench" http://127.0.0.1:9611/admin/reload > $D/ans
  t1=$(date +%s.%N)
  rm $D/sampling; wait $S
  echo "reload $i: wall $(echo "$t1 - $t0" | bc) s; answer seconds $(grep -o '"seconds":[0-9.]*' $D/ans); rules $(grep -o '"rules":[0-9]*' $D/ans); rss before $before kB, peak $(cat $D/peak) kB, after $(rss) kB"
done
kill -INT $PID; wait $PID
rm -rf $D
