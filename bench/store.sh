#!/usr/bin/env bash
# Event store benchmark (issue 3; bench/README.md "Event store"): the demo platform's history at
# scale, loaded into our store and, in the same run, into ClickHouse, PostgreSQL 15 and SQLite (all
# on loopback, private data directories, started and stopped here); the same five queries on each.
#
# Usage: bench/store.sh 100k|10m|100m [SYSTEMS]
#   SYSTEMS: comma-separated subset of ours,clickhouse,postgres,sqlite (default: all four; at 100m
#   ours,clickhouse, because PostgreSQL and SQLite would need more disk than the machine has).
# Environment: CA_BIN (default build/release/career-analytics), RUNS (timed runs per query after
#   one warm-up, default 5), SCRATCH (where the data directories go, default /tmp), KEEP=1 keeps
#   our data directory, HTTP_SECONDS (each ingest-rate run, default 10).
# Generated data is streamed through pipes; each system's data is deleted when it is done.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib-peers.sh
BIN=$(realpath "${CA_BIN:-build/release/career-analytics}")
unset CA_BIN  # the server refuses CA_* variables that are not configuration keys
SIZE=${1:?usage: bench/store.sh 100k|10m|100m [SYSTEMS]}
case $SIZE in
  100k) USERS=94 ;;
  10m) USERS=9400 ;;
  100m) USERS=94000 ;;
  *) echo "size: 100k, 10m or 100m" >&2; exit 2 ;;
esac
if [ "$SIZE" = 100m ]; then SYSTEMS=${2:-ours,clickhouse}; else SYSTEMS=${2:-ours,clickhouse,postgres,sqlite}; fi
RUNS=${RUNS:-5}
SCRATCH=${SCRATCH:-/tmp}
HTTP_SECONDS=${HTTP_SECONDS:-10}
OUT=bench/out/store-$SIZE-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
# Demo user ids are zero-padded to the width of the user count; Q2 reads user 42.
USER_ID=$(printf "user-%0$(( ${#USERS} > 4 ? ${#USERS} : 4 ))d" 42)
export CA_INGEST_DEDUP_MAX_IDS=${CA_INGEST_DEDUP_MAX_IDS:-10000000}
# Q1..Q5 (bench/README.md); Q1z and Q3z are Q1 and Q3 with days in Europe/Berlin (ours and
# ClickHouse only): our store keeps per-part aggregates for whole UTC days, so these take the scan.
QUERIES="q1 q2 q3 q4 q5"
QUERIES_WITH_ZONES="q1 q2 q3 q4 q5 q1z q3z"
SQL=$(realpath bench/sql)
SPECS=$(realpath bench/specs)

SERVER_PID= WORK_DIRS=()
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2> /dev/null && wait "$SERVER_PID" 2> /dev/null || true
  stop_clickhouse
  stop_postgres
  [ "${KEEP:-0}" = 1 ] || for d in "${WORK_DIRS[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT

has() { [[ ",$SYSTEMS," == *",$1,"* ]]; }
now_ms() { date +%s%3N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
avail_bytes() { df -B1 --output=avail "$SCRATCH" | tail -1; }
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$OUT/log.txt"; }
gen() { "$BIN" bench gen-events --users "$USERS" --days 90 --out - 2>> "$OUT/gen.log"; }
rows() { "$BIN" bench rows --format "$1" 2>> "$OUT/rows-$1.log"; }
# record SYSTEM KEY VALUE: one figure into $OUT/figures.tsv (summarised at the end).
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$OUT/figures.tsv"; }
# Refuses a load that would leave less than 2 GB free: NEED is the estimated peak bytes.
check_disk() {
  local system=$1 need=$2 avail
  avail=$(avail_bytes)
  if (( avail - need < 2000000000 )); then
    log "SKIP $system: needs about $((need / 1000000)) MB, $((avail / 1000000)) MB free"
    record "$system" skipped "needs about $((need / 1000000)) MB, $((avail / 1000000)) MB free"
    return 1
  fi
}
# Substitutes the run's placeholders into a query file.
render() { sed -e "s/@USER@/$USER_ID/g" "$1"; }
median() { python3 -c 'import sys,statistics; v=sorted(float(x) for x in sys.argv[1:]); print("%.3f" % v[(len(v)-1)//2])' "$@"; }

log "size $SIZE: $USERS users, systems $SYSTEMS, $RUNS runs per query, Q2 user $USER_ID, out $OUT"
log "disk: $(df -h "$SCRATCH" | tail -1)"
log "binary $BIN, built $(date -r "$BIN" +%H:%M:%S); tree $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src 2> /dev/null || echo ' with uncommitted changes in src/')"

# The generator alone, for reference: every load below streams it again.
t0=$(now_ms)
read -r EVENTS JSON_BYTES < <(gen | wc -lc)
t1=$(now_ms)
record gen events "$EVENTS"
record gen seconds "$(( t1 - t0 ))e-3"
record gen json_bytes "$JSON_BYTES"
log "generator: $EVENTS events, $JSON_BYTES bytes of JSON lines in $(( t1 - t0 )) ms"

# ---------------------------------------------------------------------------------------------
run_ours() {
  check_disk ours $(( EVENTS * 120 + 500000000 )) || return 0
  local data
  data=$(mktemp -d "$SCRATCH/ca-store-ours.XXXX")
  WORK_DIRS+=("$data")
  "$BIN" keys create --data "$data" --tenant demo > "$OUT/ours-keys.json"
  local secret write
  secret=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret_key"])' "$OUT/ours-keys.json")
  write=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["write_key"])' "$OUT/ours-keys.json")

  log "ours: import"
  local t0 t1
  t0=$(now_ms)
  gen | /usr/bin/time -v -o "$OUT/ours-import.time" \
    "$BIN" import events --data "$data" --tenant demo --file - > "$OUT/ours-import.json" 2> "$OUT/ours-import.log"
  t1=$(now_ms)
  record ours load_seconds "$(( t1 - t0 ))e-3"
  record ours import_peak_rss_mib "$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$OUT/ours-import.time")"
  record ours bytes_before_compact "$(du -sb "$data" | cut -f1)"
  log "ours: imported in $(( t1 - t0 )) ms: $(cat "$OUT/ours-import.json" | cut -c1-200)"

  t0=$(now_ms)
  "$BIN" compact --data "$data" > "$OUT/ours-compact.txt" 2>> "$OUT/ours-import.log"
  t1=$(now_ms)
  record ours compact_seconds "$(( t1 - t0 ))e-3"
  "$BIN" store stats --data "$data" > "$OUT/ours-stats.json"
  "$BIN" store verify --data "$data" > "$OUT/ours-verify.txt"
  record ours rows "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["part_rows"])' "$OUT/ours-stats.json")"
  record ours bytes "$(du -sb "$data/store" | cut -f1)"
  record ours part_bytes "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["part_bytes"])' "$OUT/ours-stats.json")"
  record ours bytes_data_dir "$(du -sb "$data" | cut -f1)"
  log "ours: compact $(( t1 - t0 )) ms: $(cat "$OUT/ours-compact.txt"); store $(du -sh "$data/store" | cut -f1); $(cat "$OUT/ours-verify.txt")"

  local q
  for q in $QUERIES_WITH_ZONES; do
    render "$SPECS/$q.json" > "$OUT/spec-$q.json"
    "$BIN" bench query --data "$data" --tenant demo --spec "$OUT/spec-$q.json" --runs "$RUNS" \
      --results "$OUT/ours-$q.result" > "$OUT/ours-$q.json"
    record ours "${q}_ms" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["median_ms"])' "$OUT/ours-$q.json")"
    log "ours: $q median $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%.3f ms (min %.3f, by spec %s)" % (r["median_ms"], r["min_ms"], [round(x, 3) for x in r["median_ms_by_spec"]]))' "$OUT/ours-$q.json")"
  done

  # Q2 without the granule cache (every run decodes the user's granules again), and the first Q2
  # after opening the store (nothing cached, dictionaries and footers cold in this process).
  CA_STORE_GRANULE_CACHE_MB=0 "$BIN" bench query --data "$data" --tenant demo --spec "$OUT/spec-q2.json" \
    --runs "$RUNS" > "$OUT/ours-q2-nocache.json"
  record ours q2_nocache_ms "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["median_ms"])' "$OUT/ours-q2-nocache.json")"
  "$BIN" bench query --data "$data" --tenant demo --spec "$OUT/spec-q2.json" --runs 1 --warmup 0 \
    > "$OUT/ours-q2-first.json"
  record ours q2_first_ms "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["median_ms"])' "$OUT/ours-q2-first.json")"
  log "ours: q2 without the granule cache $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["median_ms"])' "$OUT/ours-q2-nocache.json") ms, first after open $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["median_ms"])' "$OUT/ours-q2-first.json") ms"

  # A running server on the loaded directory: acknowledgement -> queryable, then the ingest rate
  # with everything stored versus into an empty store.
  local port
  port=$(free_port)
  t0=$(now_ms)
  "$BIN" serve --data "$data" --listen "127.0.0.1:$port" > "$OUT/ours-server.stdout" 2> "$OUT/ours-server.stderr" &
  SERVER_PID=$!
  for _ in $(seq 1 6000); do
    grep -q listening "$OUT/ours-server.stdout" 2> /dev/null && break
    kill -0 "$SERVER_PID" 2> /dev/null || { tail -5 "$OUT/ours-server.stderr" >&2; return 1; }
    sleep 0.1
  done
  t1=$(now_ms)
  record ours server_start_seconds "$(( t1 - t0 ))e-3"
  log "ours: server up in $(( t1 - t0 )) ms (RSS $(peak_rss_mib "$SERVER_PID") MiB)"
  python3 - "$port" "$write" "$secret" "$SPECS/marker.json" > "$OUT/ours-freshness.json" <<'PY'
import http.client, json, sys, time, uuid, datetime
port, write_key, secret, template = sys.argv[1], sys.argv[2], sys.argv[3], open(sys.argv[4]).read()
conn = http.client.HTTPConnection("127.0.0.1", int(port))
def post(path, body, headers):
    conn.request("POST", path, body=json.dumps(body) if not isinstance(body, str) else body,
                 headers={"Content-Type": "application/json", **headers})
    r = conn.getresponse()
    return r.status, r.read()
iso = lambda t: datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
times, polls = [], []
for i in range(20):
    marker = uuid.uuid4().hex
    now = time.time()
    event = {"event_id": "fresh-" + marker, "type": "login", "user_id": "bench-fresh",
             "timestamp": iso(now), "properties": {"method": "password", "bench_marker": marker}}
    spec = (template.replace("@FROM@", iso(now - 3600)).replace("@TO@", iso(now + 3600))
            .replace("@MARKER@", marker))
    status, body = post("/api/analytics/events", {"events": [event]}, {"X-Write-Key": write_key})
    acked = time.perf_counter()
    if status != 200:
        sys.exit("ingest failed: %d %s" % (status, body[:200]))
    n = 0
    while True:
        n += 1
        status, body = post("/analytics/query", spec, {"Authorization": "Bearer " + secret})
        if status != 200:
            sys.exit("query failed: %d %s" % (status, body[:200]))
        if json.loads(body)["events"]:
            break
        if time.perf_counter() - acked > 30:
            sys.exit("marker not visible after 30 s")
    times.append((time.perf_counter() - acked) * 1000)
    polls.append(n)
    time.sleep(0.05)
s = sorted(times)
print(json.dumps({"samples": len(s), "median_ms": s[(len(s) - 1) // 2], "max_ms": s[-1],
                  "min_ms": s[0], "polls": polls, "times_ms": times}))
PY
  record ours ack_to_queryable_ms "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["median_ms"])' "$OUT/ours-freshness.json")"
  record ours ack_to_queryable_max_ms "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["max_ms"])' "$OUT/ours-freshness.json")"
  log "ours: ack -> queryable $(cat "$OUT/ours-freshness.json" | cut -c1-120)"

  # Ingest rate: the loaded server and a server on an empty directory, alternately, twice each.
  local empty eport ekey offset=1000000000000
  empty=$(mktemp -d "$SCRATCH/ca-store-empty.XXXX")
  WORK_DIRS+=("$empty")
  ekey=$("$BIN" keys create --data "$empty" --tenant demo | python3 -c 'import json,sys; print(json.load(sys.stdin)["write_key"])')
  for round in 1 2; do
    "$BIN" bench http --url "127.0.0.1:$port" --write-key "$write" --connections 16 \
      --seconds "$HTTP_SECONDS" --id-offset "$offset" > "$OUT/ours-http-loaded-$round.json"
    offset=$((offset + 100000000))
    record ours "http_loaded_$round" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events_per_second"])' "$OUT/ours-http-loaded-$round.json")"
    if [ "$round" = 2 ]; then
      record ours server_peak_rss_mib "$(peak_rss_mib "$SERVER_PID")"
      kill "$SERVER_PID"; wait "$SERVER_PID" 2> /dev/null || true; SERVER_PID=
    else
      kill -STOP "$SERVER_PID"
    fi
    eport=$(free_port)
    "$BIN" serve --data "$empty" --listen "127.0.0.1:$eport" > "$OUT/ours-empty-server.stdout" 2>> "$OUT/ours-empty-server.stderr" &
    local epid=$!
    for _ in $(seq 1 300); do grep -q listening "$OUT/ours-empty-server.stdout" 2> /dev/null && break; sleep 0.1; done
    "$BIN" bench http --url "127.0.0.1:$eport" --write-key "$ekey" --connections 16 \
      --seconds "$HTTP_SECONDS" --id-offset "$offset" > "$OUT/ours-http-empty-$round.json"
    offset=$((offset + 100000000))
    kill "$epid"; wait "$epid" 2> /dev/null || true
    rm -rf "$empty"/*
    ekey=$("$BIN" keys create --data "$empty" --tenant demo | python3 -c 'import json,sys; print(json.load(sys.stdin)["write_key"])')
    record ours "http_empty_$round" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events_per_second"])' "$OUT/ours-http-empty-$round.json")"
    [ -n "$SERVER_PID" ] && kill -CONT "$SERVER_PID"
    log "ours: ingest round $round: loaded $(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["events_per_second"]))' "$OUT/ours-http-loaded-$round.json") ev/s, empty $(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["events_per_second"]))' "$OUT/ours-http-empty-$round.json") ev/s"
  done
  [ "${KEEP:-0}" = 1 ] && log "ours: kept $data" || rm -rf "$data" "$empty"
}

# ---------------------------------------------------------------------------------------------
# time_peer SYSTEM Q: warm-up (its answer into $OUT/SYSTEM-Q.result), then RUNS timed runs (3 when
# the warm-up took over 30 s); times in ms, one a line, on stdout.
ch_time() {
  local q=$1 sql
  sql=$(render "$SQL/clickhouse/$q.sql")
  local w
  w=$(ch_query "$CH_HTTP" "$sql" -o "$OUT/clickhouse-$q.result" -w '%{time_total}')
  local n=$RUNS
  awk "BEGIN {exit !($w > 30)}" && n=3
  for _ in $(seq 1 "$n"); do
    ch_query "$CH_HTTP" "$sql" -o /dev/null -w '%{time_total}' | awk '{printf "%.3f\n", $1 * 1000}'
  done
}
pg_time() {
  local q=$1 t0 t1
  t0=$(now_ms)
  { echo '\timing on'; echo "\\o $OUT/postgres-$q.result"; render "$SQL/postgres/$q.sql"; } |
    pg_psql -A -t -F $'\t' > /dev/null
  t1=$(now_ms)
  local n=$RUNS
  (( t1 - t0 > 30000 )) && n=3
  { echo '\timing on'; echo '\o /dev/null'; for _ in $(seq 1 "$n"); do render "$SQL/postgres/$q.sql"; done; } |
    pg_psql -A -t | awk '/^Time:/ {print $2}'
}
sqlite_time() {
  local q=$1 db=$2 t0 t1
  t0=$(now_ms)
  { echo '.mode tabs'; echo ".output $OUT/sqlite-$q.result"; render "$SQL/sqlite/$q.sql"; } | sqlite_exec "$db"
  t1=$(now_ms)
  local n=$RUNS
  (( t1 - t0 > 30000 )) && n=3
  { echo '.timer on'; echo '.output /dev/null'; for _ in $(seq 1 "$n"); do render "$SQL/sqlite/$q.sql"; done; } |
    sqlite_exec "$db" | awk '/^Run Time:/ {printf "%.3f\n", $4 * 1000}'
}
peer_queries() {
  local system=$1 fn=$2 queries=$3; shift 3
  local q times
  for q in $queries; do
    times=$("$fn" "$q" "$@" | tr '\n' ' ')
    echo "$times" > "$OUT/$system-$q.times"
    record "$system" "${q}_ms" "$(median $times)"
    log "$system: $q median $(median $times) ms (runs: $times)"
  done
}

run_clickhouse() {
  check_disk clickhouse $(( EVENTS * 2 * 200 + 500000000 )) || return 0
  local dir
  dir=$(mktemp -d "$SCRATCH/ca-store-ch.XXXX")
  WORK_DIRS+=("$dir")
  CH_HTTP=$(free_port)
  local tcp
  tcp=$(free_port)
  start_clickhouse "$dir" "$CH_HTTP" "$tcp"
  ch_query "$CH_HTTP" "$(cat "$SQL/clickhouse/schema.sql")"
  log "clickhouse: load (TabSeparated through clickhouse-client, one streamed INSERT)"
  local t0 t1
  t0=$(now_ms)
  gen | rows clickhouse |
    clickhouse-client --host 127.0.0.1 --port "$tcp" --query "INSERT INTO events FORMAT TabSeparated"
  t1=$(now_ms)
  record clickhouse load_seconds "$(( t1 - t0 ))e-3"
  t0=$(now_ms)
  ch_query "$CH_HTTP" "OPTIMIZE TABLE events FINAL"
  t1=$(now_ms)
  record clickhouse compact_seconds "$(( t1 - t0 ))e-3"
  record clickhouse rows "$(ch_query "$CH_HTTP" "SELECT count() FROM events")"
  record clickhouse bytes "$(ch_query "$CH_HTTP" "SELECT sum(bytes_on_disk) FROM system.parts WHERE table = 'events' AND active")"
  ch_query "$CH_HTTP" "SELECT name, formatReadableSize(sum(data_compressed_bytes)) AS c, formatReadableSize(sum(data_uncompressed_bytes)) AS u FROM system.columns WHERE table = 'events' GROUP BY name ORDER BY sum(data_compressed_bytes) DESC" > "$OUT/clickhouse-columns.tsv" || true
  log "clickhouse: $(ch_query "$CH_HTTP" "SELECT sum(rows), sum(bytes_on_disk), count() FROM system.parts WHERE table = 'events' AND active" | tr '\t' ' ') (rows, bytes, parts)"
  peer_queries clickhouse ch_time "$QUERIES_WITH_ZONES"
  stop_clickhouse
  rm -rf "$dir"
}

run_postgres() {
  # 474 bytes/event measured at 10M (table, TOAST and index), plus room for the index build.
  check_disk postgres $(( EVENTS * 520 + 1000000000 )) || return 0
  local dir
  dir=$(mktemp -d "$SCRATCH/ca-store-pg.XXXX")
  WORK_DIRS+=("$dir")
  start_postgres "$dir" "$(free_port)"
  log "postgres: load (COPY text in the transaction that creates the table)"
  local t0 t1
  t0=$(now_ms)
  { echo 'BEGIN;'; cat "$SQL/postgres/schema.sql"; echo 'COPY events FROM STDIN;'; gen | rows postgres; printf '\\.\nCOMMIT;\n'; } | pg_psql > /dev/null
  t1=$(now_ms)
  record postgres load_seconds "$(( t1 - t0 ))e-3"
  t0=$(now_ms)
  pg_psql -f "$SQL/postgres/index.sql" > /dev/null
  t1=$(now_ms)
  record postgres compact_seconds "$(( t1 - t0 ))e-3"
  record postgres rows "$(pg_psql -A -t -c 'SELECT count(*) FROM events')"
  record postgres bytes "$(pg_psql -A -t -c "SELECT pg_total_relation_size('events')")"
  record postgres bytes_table "$(pg_psql -A -t -c "SELECT pg_table_size('events')")"
  log "postgres: table $(pg_psql -A -t -c "SELECT pg_size_pretty(pg_table_size('events')) || ' + indexes ' || pg_size_pretty(pg_indexes_size('events'))")"
  peer_queries postgres pg_time "$QUERIES"
  stop_postgres
  rm -rf "$dir"
}

run_sqlite() {
  # 431 bytes/event measured at 10M, plus room for the index build.
  check_disk sqlite $(( EVENTS * 480 + 1000000000 )) || return 0
  local dir
  dir=$(mktemp -d "$SCRATCH/ca-store-sqlite.XXXX")
  WORK_DIRS+=("$dir")
  local db=$dir/events.db fifo=$dir/rows.fifo
  mkfifo "$fifo"
  log "sqlite: load (.import of tab-separated rows, journal and sync off)"
  local t0 t1
  t0=$(now_ms)
  (gen | rows sqlite > "$fifo") &
  local writer=$!
  { echo 'PRAGMA journal_mode=OFF;'; echo 'PRAGMA synchronous=OFF;'; cat "$SQL/sqlite/schema.sql"
    echo '.mode tabs'; echo ".import $fifo events"; } | sqlite_exec "$db" > /dev/null
  wait "$writer"
  t1=$(now_ms)
  record sqlite load_seconds "$(( t1 - t0 ))e-3"
  t0=$(now_ms)
  sqlite_exec "$db" < "$SQL/sqlite/index.sql"
  t1=$(now_ms)
  record sqlite compact_seconds "$(( t1 - t0 ))e-3"
  record sqlite rows "$(echo 'SELECT count(*) FROM events;' | sqlite_exec "$db")"
  record sqlite bytes "$(stat -c %s "$db")"
  log "sqlite: $(du -h "$db" | cut -f1)"
  peer_queries sqlite sqlite_time "$QUERIES" "$db"
  rm -rf "$dir"
}

has ours && run_ours
has clickhouse && run_clickhouse
has postgres && run_postgres
has sqlite && run_sqlite

python3 - "$OUT" "$SIZE" <<'PY' | tee "$OUT/report.md"
# Summarises $OUT/figures.tsv and the queries' answers: a table, consistency checks, the goals.
import collections, json, os, sys
out, size = sys.argv[1], sys.argv[2]
fig = collections.defaultdict(dict)
for line in open(os.path.join(out, "figures.tsv")):
    system, key, value = line.rstrip("\n").split("\t", 2)
    try:
        fig[system][key] = float(value)
    except ValueError:
        fig[system][key] = value

def check(system, q):
    """A digest of a query's answer comparable across systems."""
    path = os.path.join(out, "%s-%s.result" % (system, q))
    if not os.path.exists(path):
        return None
    if system == "ours":
        res = json.load(open(path))
        if q in ("q1", "q2", "q1z"):
            return int(sum(s["total"] for r in res for s in r["series"]))
        if q in ("q3", "q3z"):
            return int(sum(res[0]["series"][0]["values"]))
        if q == "q4":
            return [s["count"] for s in res[0]["steps"]]
        return [sum(c["size"] for c in res[0]["cohorts"]),
                sum(sum(c["values"][1:]) for c in res[0]["cohorts"])]
    rows = [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
    if q in ("q1", "q2", "q1z"):
        return sum(int(r[2]) for r in rows)
    if q in ("q3", "q3z"):
        return sum(int(r[1]) for r in rows)
    if q == "q4":
        levels = {int(r[0]): int(r[1]) for r in rows}
        return [sum(v for l, v in levels.items() if l >= k) for k in range(1, 6)]
    return [sum(int(r[2]) for r in rows if int(r[1]) == 0), sum(int(r[2]) for r in rows if int(r[1]) > 0)]

systems = [s for s in ("ours", "clickhouse", "postgres", "sqlite") if s in fig]
ch = fig.get("clickhouse", {})
def ratio(system, key):
    if system == "clickhouse" or key not in ch or key not in fig[system] or not ch[key]:
        return ""
    return " (%.3gx)" % (fig[system][key] / ch[key])
print("## bench/store.sh %s: %d events (%s)\n" % (size, fig["gen"]["events"], os.path.basename(out)))
QS = ("q1", "q2", "q3", "q4", "q5", "q1z", "q3z")
print("| system | rows | load s | compact/index s | bytes/event | Q1 ms | Q2 ms | Q3 ms | Q4 ms | Q5 ms | Q1z ms | Q3z ms |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
summary = {"size": size, "figures": fig, "checks": {}}
for s in systems:
    f = fig[s]
    if "skipped" in f:
        print("| %s | skipped: %s |||||||||||" % (s, f["skipped"]))
        continue
    rows = f.get("rows", 0) or 1
    bpe = f.get("bytes", 0) / rows
    f["bytes_per_event"] = bpe
    cells = ["%.3f%s" % (f[q + "_ms"], ratio(s, q + "_ms")) if q + "_ms" in f else "" for q in QS]
    print("| %s | %d | %.1f | %.1f | %.1f | %s |" % (s, f.get("rows", 0), f.get("load_seconds", 0),
          f.get("compact_seconds", 0), bpe, " | ".join(cells)))
print("\nRatios in parentheses: to ClickHouse's time. Load times include the generator (%.1f s alone)"
      " and, for the peers, the conversion to rows.\n" % fig["gen"]["seconds"])
print("Consistency (Q1/Q2/Q1z events counted, Q3/Q3z sum of daily users, Q4 users per step, Q5 [cohort users, returns]):\n")
for q in QS:
    digests = {s: check(s, q) for s in systems}
    summary["checks"][q] = digests
    same = len({json.dumps(v) for v in digests.values() if v is not None}) <= 1
    print("- %s: %s%s" % (q, ", ".join("%s %s" % (s, v) for s, v in digests.items() if v is not None),
                          "" if same else "  ** DIFFERENT **"))
o = fig.get("ours", {})
if "q1_ms" in o:
    print("\nOurs:")
    print("- import peak RSS %s MiB; data dir before compact %.1f bytes/event; after compact: store"
          " directory (du) %.2f bytes/event, part files alone %.2f" % (
        o.get("import_peak_rss_mib"), o.get("bytes_before_compact", 0) / max(1, o.get("rows", 1)),
        o.get("bytes", 0) / max(1, o.get("rows", 1)), o.get("part_bytes", 0) / max(1, o.get("rows", 1))))
    print("- server start on the loaded directory %.1f s; ack -> queryable median %.1f ms, max %.1f ms" % (
        o.get("server_start_seconds", 0), o.get("ack_to_queryable_ms", 0), o.get("ack_to_queryable_max_ms", 0)))
    loaded = [o[k] for k in ("http_loaded_1", "http_loaded_2") if k in o]
    empty = [o[k] for k in ("http_empty_1", "http_empty_2") if k in o]
    if loaded and empty:
        print("- HTTP ingest (16 connections, batches of 100): loaded store %s, empty store %s events/s;"
              " best loaded / best empty = %.2f" % ([round(x) for x in loaded], [round(x) for x in empty],
                                                     max(loaded) / max(empty)))
    print("\nGoals (issue 3):")
    def goal(name, ok, detail):
        print("- %s: %s (%s)" % (name, "met" if ok else "MISSED", detail))
    if "q1_ms" in ch:
        goal("Q1 <= 1/4 of ClickHouse", o["q1_ms"] <= ch["q1_ms"] / 4, "%.3gx" % (o["q1_ms"] / ch["q1_ms"]))
        goal("Q3 <= 1/4 of ClickHouse", o["q3_ms"] <= ch["q3_ms"] / 4, "%.3gx" % (o["q3_ms"] / ch["q3_ms"]))
        for q in ("q1z", "q3z"):
            if q + "_ms" in o and q + "_ms" in ch:
                print("  - %s (days in Europe/Berlin: the scan, no per-part aggregates): %.2fx ClickHouse" % (
                    q.upper(), o[q + "_ms"] / ch[q + "_ms"]))
    goal("Q2 < 1 ms in process", o["q2_ms"] < 1, "%.3f ms (without the granule cache %s ms, first query after open %s ms)" % (
        o["q2_ms"], o.get("q2_nocache_ms", "?"), o.get("q2_first_ms", "?")))
    goal("<= 12 bytes/event" + (" (a goal stated at 10M)" if size != "10m" else ""),
         o["bytes_per_event"] <= 12, "%.2f" % o["bytes_per_event"])
    if size == "100m":
        goal("import peak RSS < 2 GiB", o.get("import_peak_rss_mib", 1e9) < 2048, "%s MiB" % o.get("import_peak_rss_mib"))
    if loaded and empty:
        goal("ingest rate loaded within 10% of empty", max(loaded) >= 0.9 * max(empty),
             "%.2f" % (max(loaded) / max(empty)))
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=1)
PY
log "results in $OUT"
