# Start and stop peer databases for benchmarks: loopback only, private data directories, stopped by pid.
# Source this file; it defines start_clickhouse / stop_clickhouse, ch_query, start_postgres /
# stop_postgres, pg_psql and sqlite_exec.

# start_clickhouse DIR HTTP_PORT TCP_PORT: a private ClickHouse server; sets CH_PID.
start_clickhouse() {
  local dir=$1 http_port=$2 tcp_port=$3
  mkdir -p "$dir"/{data,tmp,user_files,format_schemas,log}
  cp /etc/clickhouse-server/users.xml "$dir/users.xml"
  sed -e "s#/var/lib/clickhouse/tmp/#$dir/tmp/#; s#/var/lib/clickhouse/user_files/#$dir/user_files/#" \
      -e "s#/var/lib/clickhouse/format_schemas/#$dir/format_schemas/#; s#/var/lib/clickhouse/#$dir/data/#" \
      -e "s#/var/log/clickhouse-server/#$dir/log/#g" \
      -e "s#<http_port>8123</http_port>#<http_port>$http_port</http_port>#" \
      -e "s#<tcp_port>9000</tcp_port>#<tcp_port>$tcp_port</tcp_port>#" \
      -e "s#<interserver_http_port>9009</interserver_http_port>#<interserver_http_port>$((tcp_port + 1))</interserver_http_port>#" \
      -e "s#<!-- <listen_try>0</listen_try> -->#<listen_host>127.0.0.1</listen_host>#" \
      /etc/clickhouse-server/config.xml > "$dir/config.xml"
  clickhouse-server --config-file="$dir/config.xml" > "$dir/log/stdout.log" 2>&1 &
  CH_PID=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$http_port/ping" > /dev/null && return 0
    kill -0 "$CH_PID" 2> /dev/null || { tail -20 "$dir/log/stdout.log" >&2; return 1; }
    sleep 0.2
  done
  echo "clickhouse did not start" >&2
  return 1
}

stop_clickhouse() {
  [ -n "${CH_PID:-}" ] || return 0
  kill "$CH_PID" 2> /dev/null || true
  for _ in $(seq 1 50); do kill -0 "$CH_PID" 2> /dev/null || break; sleep 0.2; done
  kill -9 "$CH_PID" 2> /dev/null || true
  CH_PID=
}

# Peak resident memory (VmHWM) of a process in MiB.
peak_rss_mib() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# ch_query HTTP_PORT SQL [CURL ARGS...]: runs one statement over HTTP and prints the answer.
ch_query() {
  local port=$1 sql=$2; shift 2
  curl -sSf "http://127.0.0.1:$port/?allow_experimental_low_cardinality_type=1" --data-binary "$sql" "$@"
}

# start_postgres DIR PORT / stop_postgres / pg_psql: scripts/lib-postgres.sh (a private PostgreSQL 15
# cluster in DIR on 127.0.0.1:PORT, stopped by its pid; sets PG_DIR, PG_PORT and PG_PID), with
# bulk-load settings: wal_level minimal (COPY into a table created in the same transaction writes no
# WAL), asynchronous commit; 1 GiB of shared buffers.
# shellcheck source=scripts/lib-postgres.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib-postgres.sh"
PG_SETTINGS=(
  shared_buffers=1GB work_mem=256MB maintenance_work_mem=1GB wal_level=minimal max_wal_senders=0
  synchronous_commit=off max_wal_size=4GB checkpoint_timeout=30min
)

# sqlite_exec DB: runs the sqlite3 shell on DB with the commands on stdin (SQLite is a library:
# nothing to start or stop). A 1 GiB page cache for every session.
sqlite_exec() { sqlite3 -bail -cmd 'PRAGMA cache_size=-1048576' "$1"; }
