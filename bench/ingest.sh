#!/usr/bin/env bash
# usage: bench/ingest.sh BIN CFG [RELOAD_EVERY_S]: HTTP ingest for 20 s; with a third
# argument, POST /admin/reload every that many seconds meanwhile.
BIN=$1; CFG=$2; EVERY=${3:-}
rm -rf /tmp/vigie-bench
$BIN run --config $CFG 2>/tmp/ingest-run.log & PID=$!
for _ in $(seq 1 600); do curl -sf http://127.0.0.1:9600/healthz >/dev/null && break; sleep 0.1; done
if [ -n "$EVERY" ]; then
  ( for _ in $(seq 1 $((22 / EVERY))); do sleep $EVERY; curl -s -X POST -H "Authorization: Bearer bench" http://127.0.0.1:9600/admin/reload | grep -o '"seconds":[0-9.]*'; done ) > /tmp/ingest-reloads.txt &
  R=$!
fi
$BIN loadgen --token bench --json --pid $PID --seconds 20 --connections 16 --batch 2000 --shape app > /tmp/ingest-out.json
[ -n "$EVERY" ] && { kill $R 2>/dev/null; wait $R 2>/dev/null; echo "reloads: $(wc -l < /tmp/ingest-reloads.txt) $(tr '\n' ' ' < /tmp/ingest-reloads.txt)"; }
grep -o '"events_per_second":[0-9.]*' /tmp/ingest-out.json
kill -INT $PID; wait $PID
