#!/usr/bin/env bash
# GET /dashboard/summary under 50 concurrent clients (wrk), with the dashboard cache cold and warm,
# over the demo platform at scale (issue 5's benchmark; results in bench/README.md).
#
#   bench/dashboard.sh [100k|10m]      (default 10m: 10,000 users, about 9.9M events)
#
# Cold: the server runs with cache.max_mb = 0, and each request asks for one of all the users at
# random, so every answer is computed (store scan of the user's 90 days, rollups, market data).
# Warm: the cache is on; 1,000 users' dashboards are requested once, then wrk asks only for them
# within their one-minute TTL. Needs wrk (scripts/packages.sh) and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-10m}
case "$SIZE" in
  100k) USERS=100 ;;
  10m) USERS=10000 ;;
  *) echo "size: 100k or 10m" >&2; exit 2 ;;
esac
WIDTH=$(( ${#USERS} > 4 ? ${#USERS} : 4 ))  # the generator pads user ids to the user count's digits
BIN=${CA_BIN:-build/release/career-analytics}
OUT=bench/out/dashboard-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
DATA=$(mktemp -d /tmp/ca-dash.XXXX)
PORT=${PORT:-18123}
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2> /dev/null && wait "$SERVER_PID" 2> /dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$OUT/log.txt" >&2; }

"$BIN" keys create --data "$DATA" --tenant demo > "$OUT/keys.json"
SECRET=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret_key"])' "$OUT/keys.json")
log "generating and importing $USERS users"
"$BIN" bench gen-events --users "$USERS" --days 90 --end-ms "$(date +%s%3N)" --out - 2> "$OUT/gen.log" |
  "$BIN" import events --data "$DATA" --tenant demo --file - > "$OUT/import.json" 2> "$OUT/import.log"
log "imported: $(cut -c1-160 "$OUT/import.json")"

start_server() {  # $1: cache MiB
  CA_CACHE_MAX_MB=$1 CA_LOG_LEVEL=warn "$BIN" serve --data "$DATA" --listen "127.0.0.1:$PORT" \
    > "$OUT/server-$1.out" 2> "$OUT/server-$1.err" &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    grep -q "listening on" "$OUT/server-$1.out" 2> /dev/null && break
    sleep 0.5
  done
  # The rollups are rebuilt from the store on the first start (the import bypassed the log's
  # consumer): wait until they have caught up with the log and the backfill is done.
  for _ in $(seq 1 1200); do
    lag=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/ca_consumer_lag_bytes\{consumer="rollups"\}/ {print $2}')
    rebuilding=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^ca_rollups_rebuilding / {print $2}')
    [ "$lag" = "0" ] && [ "$rebuilding" = "0" ] && break
    sleep 0.5
  done
  sleep 5
}
stop_server() {
  kill "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=
}
run_wrk() {  # $1: label, $2: users asked for
  USERS=$2 SECRET=$SECRET WIDTH=$WIDTH wrk -t2 -c50 -d30s --latency -s bench/lua/dashboard.lua \
    "http://127.0.0.1:$PORT" > "$OUT/wrk-$1.txt"
  log "$1: $(grep -E '^ +(50|99)%' "$OUT/wrk-$1.txt" | tr -s ' ' | tr '\n' ' ') $(grep 'Requests/sec' "$OUT/wrk-$1.txt")"
}

log "cold: cache off, random users of $USERS"
start_server 0
run_wrk cold "$USERS"
stop_server

log "warm: cache on, 1000 users requested once first"
start_server 256
WARM=$(( USERS < 1000 ? USERS : 1000 ))
for u in $(seq 1 "$WARM"); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/dashboard/summary?user_id=$(printf "user-%0${WIDTH}d" "$u")" \
    -H "Authorization: Bearer $SECRET"
done
run_wrk warm "$WARM"
curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^ca_cache_(hit_ratio|requests_total)' | tee -a "$OUT/log.txt"
stop_server
log "results in $OUT"
