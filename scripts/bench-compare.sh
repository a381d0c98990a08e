#!/usr/bin/env bash
# Two builds of the gateway side by side in one run: BASE (a git revision) and the working
# tree, each a release binary over the same PostgreSQL database (`seed --scale 50`), driven
# by the same load generator at concurrency 16, in interleaved rounds whose order alternates
# (A B, B A, A B, …, so neither build always runs first); prints
# per case the median requests/s, p99 and the gateway's CPU time per request (user + system
# from /proc/<pid>/stat over the case's window) of both, and their ratio.
#
#   scripts/bench-compare.sh cf9857b
#   ROUNDS=3 SECONDS_PER_CASE=8 CASES="feed deep" scripts/bench-compare.sh <rev>
#
# BASE is built in target/bench/base (a git worktree with its own target directory); its
# gateway binary must be called `rowgate`.
set -euo pipefail
BASE="${1:?usage: scripts/bench-compare.sh <base revision>}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
ADMIN_URL="${BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB_NAME="${BENCH_DB:-rowgate_bench_compare}"
DB_URL="${ADMIN_URL%/*}/$DB_NAME"
PORT="${BENCH_PORT:-18081}"
SECONDS_PER_CASE="${SECONDS_PER_CASE:-8}"
ROUNDS="${ROUNDS:-4}"
CASES="${CASES:-flags feed tenant-feed deep inbox}"
OUT="$ROOT/target/bench"
mkdir -p "$OUT"
export ROWGATE_JWT_SECRET="${ROWGATE_JWT_SECRET:-bench-secret-bench-secret-bench-secret-0123}"
log() { printf 'bench-compare: %s\n' "$*" >&2; }

log "building the working tree"
cargo build --release --locked -q -p rowgate-server --bin rowgate
cargo build --release --locked -q -p rowgate-tests --bin rowgate-bench
NEW="$ROOT/target/release/rowgate"
LOAD="$ROOT/target/release/rowgate-bench"

log "building $BASE"
BASE_SRC="$OUT/base"
if [[ -d "$BASE_SRC" ]]; then
  git -C "$BASE_SRC" checkout -q --detach "$BASE"
else
  git worktree add -q --detach "$BASE_SRC" "$BASE"
fi
(cd "$BASE_SRC" && CARGO_TARGET_DIR="$OUT/base-target" cargo build --release --locked -q --bin rowgate)
OLD="$OUT/base-target/release/rowgate"

log "creating $DB_NAME and seeding --scale 50"
psql "$ADMIN_URL" -q -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME"
DATABASE_URL="$DB_URL" "$NEW" migrate up >/dev/null
DATABASE_URL="$DB_URL" "$NEW" seed --scale 50 >&2
psql "$DB_URL" -q -c "VACUUM ANALYZE"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ="$(getconf CLK_TCK)"
: >"$OUT/compare.jsonl"

for round in $(seq 1 "$ROUNDS"); do
  order="base new"
  (( round % 2 == 0 )) && order="new base"
  for which in $order; do
    bin="$OLD"
    [[ "$which" == new ]] && bin="$NEW"
    DATABASE_URL="$DB_URL" ROWGATE_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn ROWGATE_GRAPHIQL=false \
      "$bin" serve >"$OUT/compare-$which.log" 2>&1 &
    gateway=$!
    for _ in $(seq 1 100); do
      curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
      sleep 0.1
    done
    for case in $CASES; do
      before="$(ticks "$gateway")"
      result="$("$LOAD" --url "http://127.0.0.1:$PORT/graphql" --case "$case" --concurrency 16 \
        --seconds "$SECONDS_PER_CASE")"
      after="$(ticks "$gateway")"
      python3 - "$result" "$which" "$round" "$((after - before))" "$HZ" >>"$OUT/compare.jsonl" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
r.update(build=sys.argv[2], round=int(sys.argv[3]))
r["cpu_ms_per_request"] = int(sys.argv[4]) * 1000 / int(sys.argv[5]) / max(r["requests"], 1)
print(json.dumps(r))
PY
      log "round $round $which $case done"
    done
    kill "$gateway" 2>/dev/null || true
    wait "$gateway" 2>/dev/null || true
  done
done

python3 - "$OUT/compare.jsonl" "$BASE" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
cases = list(dict.fromkeys(r["case"] for r in rows))
def med(case, build, key):
    return statistics.median(r[key] for r in rows if r["case"] == case and r["build"] == build)
print(f"| case | req/s {sys.argv[2]} | req/s now | now / {sys.argv[2]} | p99 ms {sys.argv[2]} | p99 ms now | CPU ms/request {sys.argv[2]} | CPU ms/request now | errors |")
print("|---|---|---|---|---|---|---|---|---|")
for case in cases:
    a, b = med(case, "base", "rps"), med(case, "new", "rps")
    errors = sum(r["errors"] for r in rows if r["case"] == case)
    print(f"| {case} | {a:.0f} | {b:.0f} | {b / a:.2f} | {med(case, 'base', 'p99_ms')} | {med(case, 'new', 'p99_ms')} "
          f"| {med(case, 'base', 'cpu_ms_per_request'):.3f} | {med(case, 'new', 'cpu_ms_per_request'):.3f} | {errors} |")
PY
psql "$ADMIN_URL" -q -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)"
