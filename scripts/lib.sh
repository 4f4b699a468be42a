# shellcheck shell=bash
# Shared helpers for the scripts in this folder. Source it; it does not change shell options.
#
#   source "$(dirname "$0")/lib.sh"
#   ensure_packages        # from packages.sh
#   build release          # cmake --preset release && cmake --build --preset release

CA_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CA_ROOT="$(cd "${CA_SCRIPTS_DIR}/.." && pwd)"

# shellcheck source=scripts/packages.sh
source "${CA_SCRIPTS_DIR}/packages.sh"

_ca_ts() { date +%H:%M:%S; }
log() { printf '[%s] %s\n' "$(_ca_ts)" "$*" >&2; }
warn() { printf '[%s] WARNING: %s\n' "$(_ca_ts)" "$*" >&2; }
die() {
  printf '[%s] ERROR: %s\n' "$(_ca_ts)" "$*" >&2
  exit 1
}
# Prints a visible section header.
section() { printf '\n[%s] ==== %s ====\n' "$(_ca_ts)" "$*" >&2; }

# Turns ccache on for CMake builds (the top-level CMakeLists.txt picks ccache up when it is on PATH).
# CCACHE_DIR defaults to ~/.cache/ccache; the cache is capped at CA_CCACHE_MAX_SIZE (default 5G).
setup_ccache() {
  if ! command -v ccache >/dev/null 2>&1; then
    warn "ccache not found: building without a compiler cache"
    return 0
  fi
  export CCACHE_DIR="${CCACHE_DIR:-${HOME:-/root}/.cache/ccache}"
  mkdir -p "${CCACHE_DIR}"
  ccache --max-size="${CA_CCACHE_MAX_SIZE:-5G}" >/dev/null
}

# build PRESET: configures and builds one CMake preset (debug, release, fuzz) from the repo root.
# Extra arguments are passed to `cmake --build` (e.g. `--target career-analytics`).
build() {
  local preset="${1:?usage: build PRESET [cmake --build args...]}"
  shift
  setup_ccache
  log "configuring preset ${preset}"
  (cd "${CA_ROOT}" && cmake --preset "${preset}") || return 1
  log "building preset ${preset}"
  (cd "${CA_ROOT}" && cmake --build --preset "${preset}" "$@")
}

# ca_binary PRESET: prints the path of the career-analytics binary of a built preset
# (build/PRESET/career-analytics, or where CMake put it by default); fails if there is none.
ca_binary() {
  local preset="${1:?usage: ca_binary PRESET}" candidate
  for candidate in "${CA_ROOT}/build/${preset}/career-analytics" \
    "${CA_ROOT}/build/${preset}/src/app/career-analytics"; do
    if [[ -x "${candidate}" ]]; then
      printf '%s\n' "${candidate}"
      return 0
    fi
  done
  warn "no career-analytics binary in build/${preset}"
  return 1
}

# The binary reads CA_* variables as configuration and refuses unknown ones: drop the knobs of these
# scripts and of the tests from the environment before running it.
unset_script_vars() {
  unset CA_SKIP_PACKAGES CA_CCACHE_MAX_SIZE CA_TEST_TIERS CA_FUZZ_SECONDS CA_E2E_TIMEOUT CA_BIN \
    CA_E2E_KEEP CA_APT_UPDATED
  local name
  for name in "${!CA_CRASH_@}"; do unset "${name}"; done
}

# ensure_node_modules DIR: if DIR has a package.json, runs `npm ci` (with a lock file) or
# `npm install` there when node_modules is missing or older than package.json / package-lock.json.
ensure_node_modules() {
  local dir="${1:?usage: ensure_node_modules DIR}"
  [[ -f "${dir}/package.json" ]] || return 0
  local stamp="${dir}/node_modules/.ca-installed"
  if [[ -f "${stamp}" && "${stamp}" -nt "${dir}/package.json" ]] &&
    [[ ! -f "${dir}/package-lock.json" || "${stamp}" -nt "${dir}/package-lock.json" ]]; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 || die "npm is needed to install ${dir}/package.json"
  log "installing npm packages in ${dir}"
  if [[ -f "${dir}/package-lock.json" ]]; then
    (cd "${dir}" && npm ci --no-audit --no-fund)
  else
    (cd "${dir}" && npm install --no-audit --no-fund)
  fi
  mkdir -p "${dir}/node_modules"
  touch "${stamp}"
}

# Seconds since the epoch, for timing tiers.
now_s() { date +%s; }
