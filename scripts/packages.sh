#!/usr/bin/env bash
# The one list of Debian 12 packages this project needs, and `ensure_packages`, which installs the
# missing ones. Source it (scripts/lib.sh does) or run it directly to install everything.
#
#   scripts/packages.sh            install every missing package
#   scripts/packages.sh --list     print the list, one package per line
#
# Node.js is special: Debian's nodejs/npm are installed only when no node >= 18 is on PATH (machines
# often carry a newer Node.js from elsewhere, which Debian's npm would conflict with).

# Compilers, build tools and libraries (see the find_package calls in CMakeLists.txt).
CA_BUILD_PACKAGES=(
  cmake ninja-build g++ clang ccache clang-format pkg-config
  libboost-dev libsimdjson-dev nlohmann-json3-dev libzstd-dev liblz4-dev libxxhash-dev libssl-dev
  libsqlite3-dev libpq-dev zlib1g-dev libcctz-dev tzdata libcli11-dev libspdlog-dev libfmt-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libre2-dev libyaml-cpp-dev uap-core libmaxminddb-dev
  libclang-rt-14-dev
  curl ca-certificates
)

# Tools used by the tests, the benchmarks and the demo.
CA_TEST_PACKAGES=(
  sqlite3 wrk procps coreutils util-linux
  clickhouse-server clickhouse-client postgresql prometheus
  libmaxmind-db-writer-perl chromium
)

# Installed only when no usable node (>= 18) is on PATH.
CA_NODE_PACKAGES=(nodejs npm)
CA_NODE_MIN_MAJOR=18

CA_PACKAGES=("${CA_BUILD_PACKAGES[@]}" "${CA_TEST_PACKAGES[@]}")

_ca_pkg_log() { printf '[packages] %s\n' "$*" >&2; }

# True if `node --version` on PATH reports a major version >= CA_NODE_MIN_MAJOR.
ca_node_ok() {
  local version major
  command -v node >/dev/null 2>&1 || return 1
  version="$(node --version 2>/dev/null)" || return 1
  major="${version#v}"
  major="${major%%.*}"
  [[ "${major}" =~ ^[0-9]+$ ]] && ((major >= CA_NODE_MIN_MAJOR))
}

# True if dpkg knows package $1 as installed.
ca_pkg_installed() {
  local status
  status="$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" || return 1
  [[ "${status}" == "installed" ]]
}

# ensure_packages [PKG...]: installs whichever of PKG (default: the whole project list, plus
# Node.js when needed) is missing. Runs `apt-get update` at most once per shell, and only when
# something is missing. Set CA_SKIP_PACKAGES=1 to skip the check entirely.
# shellcheck disable=SC2120  # callers may pass a package list; none do yet
ensure_packages() {
  if [[ "${CA_SKIP_PACKAGES:-0}" == "1" ]]; then
    _ca_pkg_log "CA_SKIP_PACKAGES=1: not checking Debian packages"
    return 0
  fi
  local -a wanted missing=()
  if (($# > 0)); then
    wanted=("$@")
  else
    wanted=("${CA_PACKAGES[@]}")
    if ! ca_node_ok; then
      _ca_pkg_log "no node >= ${CA_NODE_MIN_MAJOR} on PATH: adding Debian's nodejs and npm"
      wanted+=("${CA_NODE_PACKAGES[@]}")
    fi
  fi
  if ! command -v dpkg-query >/dev/null 2>&1; then
    _ca_pkg_log "dpkg-query not found: not a Debian system, skipping package check"
    return 0
  fi
  local pkg
  for pkg in "${wanted[@]}"; do
    ca_pkg_installed "${pkg}" || missing+=("${pkg}")
  done
  if ((${#missing[@]} == 0)); then
    _ca_pkg_log "all ${#wanted[@]} packages present"
    return 0
  fi
  _ca_pkg_log "installing missing packages: ${missing[*]}"
  local -a sudo=()
  if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      _ca_pkg_log "not root and no sudo: install these by hand: ${missing[*]}"
      return 1
    fi
  fi
  if [[ "${CA_APT_UPDATED:-0}" != "1" ]]; then
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -q
    CA_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  case "${1:-}" in
    --list) printf '%s\n' "${CA_PACKAGES[@]}" ;;
    "") ensure_packages ;;
    *)
      echo "usage: $0 [--list]" >&2
      exit 2
      ;;
  esac
fi
