#!/usr/bin/env bash
# Ingest benchmark (bench/README.md): in-process decode+validate+append, then durable HTTP ingest of
# batches of 100 events side by side with ClickHouse's HTTP JSONEachRow insert of the same events.
# Usage: bench/ingest.sh [SECONDS_PER_RUN]   (builds nothing: run ./scripts/demo or the release build first)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib-peers.sh
BIN=${CA_BIN:-build/release/career-analytics}
SECONDS_PER_RUN=${1:-10}
OUT=bench/out/ingest-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2> /dev/null && wait "$SERVER_PID" 2> /dev/null || true
  stop_clickhouse
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== in process, pinned to one core (taskset -c 0): the producer and the WAL thread share it"
taskset -c 0 "$BIN" bench ingest --events 2000000 --sync none | tee "$OUT/in-process-none.json"
taskset -c 0 "$BIN" bench ingest --events 1000000 --sync always | tee "$OUT/in-process-always.json"
echo "== in process, unpinned (both cores)"
"$BIN" bench ingest --events 2000000 --sync none | tee "$OUT/in-process-none-unpinned.json"

echo "== the whole pipeline, one core, events with a browser's context: base (decode, validate,"
echo "   dedup, WAL: the figure above) against full (consent, enrichment, privacy) in the same run"
GEO_DB=$(scripts/geo-db.sh 2> /dev/null || true)
# browser: every event from another browser (the worst case for the per-sender state);
# visits: browsers' own batches, 10 events per visit.
for context in browser visits; do
  taskset -c 0 "$BIN" bench ingest --events 1000000 --context $context --stages base \
    | tee "$OUT/pipeline-$context-base.json"
  taskset -c 0 "$BIN" bench ingest --events 1000000 --context $context --stages full \
    ${GEO_DB:+--geo-db "$GEO_DB"} | tee "$OUT/pipeline-$context-full.json"
  python3 - "$context" "$OUT/pipeline-$context-base.json" "$OUT/pipeline-$context-full.json" << 'PY' \
    | tee -a "$OUT/pipeline-cost.txt"
import json, sys
base, full = (json.load(open(p))["events_per_cpu_second"] for p in sys.argv[2:4])
print(f"pipeline ({sys.argv[1]}): base {base:,.0f} events/CPU-s, full {full:,.0f}; enrichment and "
      f"privacy cost {(1 - full / base) * 100:.1f}% (goal: at most 30%)")
PY
done

echo "== servers"
DATA=$(mktemp -d /tmp/ca-bench-data.XXXX)
PORT=$(free_port)
# The dedup index is capped (ingest.dedup_max_ids) so that the sustained runs show bounded memory.
CA_INGEST_DEDUP_MAX_IDS=${DEDUP_MAX_IDS:-10000000} \
  "$BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT" --wal-sync always > "$OUT/server.stdout" 2> "$OUT/server.stderr" &
SERVER_PID=$!
for _ in $(seq 1 100); do grep -q listening "$OUT/server.stdout" 2> /dev/null && break; sleep 0.1; done
KEY=$("$BIN" keys create --data "$DATA" --tenant bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["write_key"])')

CH_DIR=$(mktemp -d /tmp/ca-bench-ch.XXXX)
CH_HTTP=$(free_port); CH_TCP=$(free_port)
start_clickhouse "$CH_DIR" "$CH_HTTP" "$CH_TCP"
curl -sf "http://127.0.0.1:$CH_HTTP/" --data-binary \
  "CREATE TABLE events (event_id String, type String, user_id String, session_id String, ts DateTime, properties String) ENGINE = MergeTree() ORDER BY (user_id, ts)"

offset=0
run() {  # run NAME ARGS... ; appends the JSON result to $OUT/NAME.json
  local name=$1; shift
  "$BIN" bench http --seconds "$SECONDS_PER_RUN" --id-offset "$offset" "$@" > "$OUT/$name.json"
  offset=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["next_id"])' "$OUT/$name.json")
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%-28s %10.0f ev/s  p50 %7.1f ms  p99 %7.1f ms  errors %d" % (sys.argv[2], r["events_per_second"], r["p50_ms"], r["p99_ms"], r["errors"]))' "$OUT/$name.json" "$name"
}

echo "== over HTTP, batches of 100, closed loop"
for c in 8 16 32; do
  run "ours-c$c" --url "127.0.0.1:$PORT" --write-key "$KEY" --connections "$c"
  run "clickhouse-c$c" --url "127.0.0.1:$CH_HTTP" --format clickhouse --connections "$c"
done

echo "== large batches: ours at its limit of 1000 events, ClickHouse at 10,000 rows"
run "ours-batch1000-c4" --url "127.0.0.1:$PORT" --write-key "$KEY" --connections 4 --batch 1000
run "clickhouse-batch10000-c4" --url "127.0.0.1:$CH_HTTP" --format clickhouse --connections 4 --batch 10000

best=$(python3 -c 'import json,sys; print(max(json.load(open(f))["events_per_second"] for f in sys.argv[1:]))' "$OUT"/ours-c*.json)
half_rps=$(python3 -c "print(round($best / 100 / 2))")
echo "== at half of our best rate ($half_rps requests/s), 16 connections"
run "ours-half" --url "127.0.0.1:$PORT" --write-key "$KEY" --connections 16 --rate "$half_rps"

echo "== sustained 5x$SECONDS_PER_RUN s at full load: server peak RSS after each"
for i in 1 2 3 4 5; do
  run "ours-sustained-$i" --url "127.0.0.1:$PORT" --write-key "$KEY" --connections 16
  echo "server peak RSS: $(peak_rss_mib "$SERVER_PID") MiB, current $(awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$SERVER_PID/status") MiB, after $offset distinct event ids" | tee -a "$OUT/rss.txt"
done
echo "results in $OUT"
