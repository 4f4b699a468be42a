#!/usr/bin/env bash
# Builds the web dashboard and tracker.js into build/web (or $1) with esbuild from npm (web/). The
# server finds build/web beside its build directory (web.root); without it the server runs the API
# alone. Prints the output directory.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

out="${1:-${CA_ROOT}/build/web}"
ca_node_ok || die "node >= ${CA_NODE_MIN_MAJOR} is needed to build the web dashboard"
ensure_node_modules web
(cd web && node build.mjs "${out}") >&2
printf '%s\n' "${out}"
