#!/usr/bin/env bash
# What each stage of the ingest pipeline costs (bench/README.md, "Ingest pipeline with enrichment
# and privacy"): `bench ingest` on one core with every --stages variant below, the variants taking
# turns, ROUNDS times; prints each variant's median in events per CPU-second and its cost against
# base, the foundation's path, measured in the same run.
# Usage: bench/ingest-stages.sh [ROUNDS] [CONTEXT...]   (default: 5 rounds, contexts visits browser)
# Builds nothing: run ./scripts/demo or the release build first.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CA_BIN:-build/release/career-analytics}
ROUNDS=${1:-5}
shift || true
CONTEXTS=("${@:-visits}")
[ $# -eq 0 ] && CONTEXTS=(visits browser)
GEO_DB=$(scripts/geo-db.sh)
OUT=bench/out/ingest-stages-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"

# base: decode, validate, dedup, WAL. full: also the consent rules, enrichment and privacy.
# enrich-unstored: enrichment runs but its members are taken off the context again, so the record
# does not grow: the floor for enrichment kept outside the context's JSON.
# rules,privacy: everything but enrichment.
VARIANTS=(base full enrich-unstored,rules,privacy rules,privacy rules,enrich)

for context in "${CONTEXTS[@]}"; do
  for round in $(seq 1 "$ROUNDS"); do
    for stages in "${VARIANTS[@]}"; do
      taskset -c 0 "$BIN" bench ingest --events 1000000 --context "$context" --stages "$stages" \
        --geo-db "$GEO_DB" > "$OUT/$context-$stages-$round.json"
    done
  done
done

python3 - "$OUT" "$ROUNDS" "${CONTEXTS[@]}" -- "${VARIANTS[@]}" << 'PY' | tee "$OUT/summary.txt"
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
rest = sys.argv[3:]
contexts, variants = rest[:rest.index("--")], rest[rest.index("--") + 1:]
for context in contexts:
    print(f"context {context}, {rounds} rounds (median events per CPU-second; cost against base;"
          " WAL bytes per event)")
    base = None
    for stages in variants:
        runs = [json.load(open(f"{out}/{context}-{stages}-{r}.json")) for r in range(1, rounds + 1)]
        rate = statistics.median(r["events_per_cpu_second"] for r in runs)
        base = base or rate
        print(f"  {stages:32s} {rate:11,.0f}  {(1 - rate / base) * 100:5.1f}%"
              f"  {1e6 / rate:5.2f} us  {runs[0]['wal_bytes_per_event']:5d} B")
PY
echo "(results in $OUT)"
