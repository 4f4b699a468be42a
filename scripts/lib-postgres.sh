# shellcheck shell=bash
# A private PostgreSQL 15 cluster for tests and benchmarks: Debian's binaries, its own data directory,
# listening on loopback only, stopped by its pid (no systemd, no pg_ctlcluster, nothing shared with a
# system cluster). Source this file; it does not change shell options. Used by scripts/test (the
# state store tests) and bench/lib-peers.sh (the store benchmark).
#
#   source scripts/lib-postgres.sh
#   start_postgres build/test-postgres "$(pg_free_port)" fsync=off   # sets PG_DIR, PG_PORT, PG_PID
#   pg_psql -c 'SELECT 1'
#   stop_postgres

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# Extra postgresql.conf settings (NAME=VALUE) that every start_postgres of this shell applies, before
# the ones given as arguments. bench/lib-peers.sh sets bulk-load settings here.
if ! declare -p PG_SETTINGS > /dev/null 2>&1; then PG_SETTINGS=(); fi

# pg_free_port: prints a TCP port that is free on 127.0.0.1 right now (the kernel picks it).
pg_free_port() {
  if command -v python3 > /dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
    return
  fi
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    # A refused connection means nothing listens there.
    if ! (exec 3<> "/dev/tcp/127.0.0.1/${port}") 2> /dev/null; then
      echo "${port}"
      return 0
    fi
  done
  echo "pg_free_port: no free port found" >&2
  return 1
}

# _pg_stop_pid PID: fast shutdown (SIGINT) of the postmaster PID, waiting up to 30 s, then SIGKILL.
_pg_stop_pid() {
  local pid=$1
  kill -INT "${pid}" 2> /dev/null || return 0
  for _ in $(seq 1 150); do
    kill -0 "${pid}" 2> /dev/null || return 0
    sleep 0.2
  done
  echo "postgres (pid ${pid}) did not stop in 30 s: killing it" >&2
  kill -9 "${pid}" 2> /dev/null || true
}

# start_postgres DIR PORT [NAME=VALUE...]: initialises a fresh cluster in DIR/data (any previous one
# there is discarded; a postmaster a killed run left behind on it is stopped first, by the pid in its
# postmaster.pid) and starts it on 127.0.0.1:PORT with its socket in DIR, UTC, trust authentication
# for the user postgres, plus PG_SETTINGS and the given settings. When run as root, DIR is chowned to
# the postgres user and the server runs as that user (initdb refuses root). Sets PG_DIR, PG_PORT and
# PG_PID (the postmaster's pid, for stop_postgres). Returns non-zero, with the log's tail on stderr,
# when the cluster cannot be created or started.
start_postgres() {
  local dir=${1:?usage: start_postgres DIR PORT [NAME=VALUE...]} port=${2:?usage: start_postgres DIR PORT}
  shift 2
  [[ -x "${PG_BIN}/initdb" ]] || {
    echo "start_postgres: no ${PG_BIN}/initdb (install the Debian package postgresql)" >&2
    return 1
  }
  mkdir -p "${dir}"
  dir=$(cd "${dir}" && pwd)
  if [[ -f "${dir}/data/postmaster.pid" ]]; then
    local stale
    stale=$(head -1 "${dir}/data/postmaster.pid")
    if [[ "${stale}" =~ ^[0-9]+$ ]] && grep -q postgres "/proc/${stale}/comm" 2> /dev/null; then
      echo "start_postgres: stopping the postmaster (pid ${stale}) left running on ${dir}/data" >&2
      _pg_stop_pid "${stale}"
    fi
  fi
  rm -rf "${dir}/data" "${dir}/log" "${dir}/initdb.log"
  local as=()
  if [[ "$(id -u)" == 0 ]]; then
    chown postgres: "${dir}"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "${PG_BIN}/initdb" -D "${dir}/data" -U postgres --auth=trust -E UTF8 \
    --locale=C.UTF-8 > "${dir}/initdb.log" 2>&1 || {
    tail -20 "${dir}/initdb.log" >&2
    return 1
  }
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = ${port}"
    echo "unix_socket_directories = '${dir}'"
    echo "timezone = 'UTC'"
    local setting
    for setting in "${PG_SETTINGS[@]}" "$@"; do
      echo "${setting%%=*} = ${setting#*=}"
    done
  } >> "${dir}/data/postgresql.conf"
  "${as[@]}" "${PG_BIN}/pg_ctl" -D "${dir}/data" -l "${dir}/log" -w -t 60 start > /dev/null || {
    tail -20 "${dir}/log" >&2
    return 1
  }
  PG_DIR=${dir}
  PG_PORT=${port}
  PG_PID=$(head -1 "${dir}/data/postmaster.pid")
}

# pg_psql ARGS...: psql on the private cluster as postgres, no psqlrc, stop on the first error.
pg_psql() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${PG_PORT}" -U postgres "$@"; }

# stop_postgres: stops the cluster start_postgres started, by its pid (SIGINT: PostgreSQL's "fast"
# shutdown; SIGKILL after 30 s). Does nothing when none runs. Safe to call twice (e.g. from a trap).
stop_postgres() {
  [[ -n "${PG_PID:-}" ]] || return 0
  _pg_stop_pid "${PG_PID}"
  PG_PID=
}
