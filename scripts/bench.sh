#!/usr/bin/env bash
# The rowgate bench: a release gateway over PostgreSQL with `seed --scale 50`, driven from a
# separate process (the rowgate-bench load generator) at concurrency 16 and 64, rotating
# tokens over 50 users of 50 tenants; beside each read case, the database's own limit for
# the same answer (pgbench, prepared statements, same concurrency and rotation). Beside
# requests/s and latency, per request: the statements the gateway ran, the gateway's CPU
# time and the database's CPU time (all PostgreSQL processes, from /proc), and the same
# database CPU per transaction for pgbench.
#
#   scripts/bench.sh                 # every case, 10 s each
#   SECONDS_PER_CASE=5 CASES="feed deep" CONCURRENCY="16" scripts/bench.sh
#
# Needs PostgreSQL (BENCH_ADMIN_URL, default postgres://postgres@127.0.0.1:5432/postgres)
# and pgbench. Prints a Markdown table; raw results go to target/bench/results.jsonl. Builds
# into CARGO_TARGET_DIR when it is set (a separate target keeps a debug build's untouched).
set -euo pipefail
ulimit -n 65536 2>/dev/null || true
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

ADMIN_URL="${BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB_NAME="${BENCH_DB:-rowgate_bench}"
DB_URL="${ADMIN_URL%/*}/$DB_NAME"
PORT="${BENCH_PORT:-18080}"
SECONDS_PER_CASE="${SECONDS_PER_CASE:-10}"
CASES="${CASES:-flags feed tenant-feed deep inbox write}"
CONCURRENCY="${CONCURRENCY:-16 64}"
OUT="$ROOT/target/bench"
mkdir -p "$OUT"
: > "$OUT/results.jsonl"
export ROWGATE_JWT_SECRET="${ROWGATE_JWT_SECRET:-bench-secret-bench-secret-bench-secret-0123}"

log() { printf 'bench: %s\n' "$*" >&2; }

log "building release binaries"
cargo build --release --locked -q -p rowgate-server --bin rowgate
cargo build --release --locked -q -p rowgate-tests --bin rowgate-bench
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"

# pgbench's connection: host, user and database from the URL.
PG_HOST="$(sed -E 's#^[a-z]+://([^@/]*@)?([^:/]+).*#\2#' <<<"$ADMIN_URL")"
PG_PORT="$(sed -E 's#^[a-z]+://([^@/]*@)?[^:/]+:?([0-9]*).*#\2#' <<<"$ADMIN_URL")"
PG_USER="$(sed -E 's#^[a-z]+://(([^:@/]+)(:[^@]*)?@)?.*#\2#' <<<"$ADMIN_URL")"
PG_PORT="${PG_PORT:-5432}"
PG_USER="${PG_USER:-postgres}"

if [[ "${BENCH_REUSE_DB:-0}" != 1 ]]; then
  log "creating $DB_NAME and seeding --scale 50"
  psql "$ADMIN_URL" -q -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME"
  DATABASE_URL="$DB_URL" "$BIN/rowgate" migrate up >/dev/null
  DATABASE_URL="$DB_URL" "$BIN/rowgate" seed --scale 50 >&2
  psql "$DB_URL" -q -c "VACUUM ANALYZE"
fi

log "starting the gateway on 127.0.0.1:$PORT"
DATABASE_URL="$DB_URL" ROWGATE_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn ROWGATE_GRAPHIQL=false \
  "$BIN/rowgate" serve >"$OUT/gateway.log" 2>&1 &
GATEWAY=$!
trap 'kill "$GATEWAY" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null || { cat "$OUT/gateway.log" >&2; exit 1; }

rss_mb() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$GATEWAY/status"; }

# CPU time (user + system, in clock ticks) of the gateway, and of every PostgreSQL process
# (backends and background workers: the database's whole cost), read from /proc; a backend
# that has exited (pgbench's) is counted in the postmaster's children's time.
HZ="$(getconf CLK_TCK)"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
pg_ticks() {
  local total=0 pid
  for pid in $(pgrep -x postgres || true); do
    total=$((total + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
statements() {
  curl -fs "http://127.0.0.1:$PORT/metrics" | awk '/^rowgate_sql_statements_total/ {print $2}'
}

printf '| case | concurrency | rowgate req/s | p50 ms | p99 ms | errors | statements / request | gateway CPU ms / request | DB CPU ms / request | pgbench tps | pgbench DB CPU ms / tx | rowgate / limit |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for case in $CASES; do
  for c in $CONCURRENCY; do
    g0="$(ticks "$GATEWAY")"; d0="$(pg_ticks)"; s0="$(statements)"
    result="$("$BIN/rowgate-bench" --url "http://127.0.0.1:$PORT/graphql" --case "$case" \
      --concurrency "$c" --seconds "$SECONDS_PER_CASE")"
    g1="$(ticks "$GATEWAY")"; d1="$(pg_ticks)"; s1="$(statements)"
    echo "$result" >>"$OUT/results.jsonl"
    limit="n/a"
    limit_db="n/a"
    if [[ -f "$ROOT/scripts/bench/$case.sql" ]]; then
      p0="$(pg_ticks)"
      transactions="$(PGPASSWORD="${PGPASSWORD:-}" pgbench -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -n -M prepared \
        -c "$c" -j 2 -T "$SECONDS_PER_CASE" -f "$ROOT/scripts/bench/$case.sql" "$DB_NAME" 2>/dev/null |
        awk '/^tps/ {tps = $3} /number of transactions actually processed/ {split($NF, n, "/"); tx = n[1]} END {printf "%.0f %d", tps, tx}')"
      p1="$(pg_ticks)"
      limit="${transactions% *}"
      limit_db="$(python3 -c "import sys; t=int(sys.argv[1]); print(f'{(int(sys.argv[3]) - int(sys.argv[2])) * 1000 / int(sys.argv[4]) / t:.3f}' if t else 'n/a')" \
        "${transactions#* }" "$p0" "$p1" "$HZ")"
    fi
    python3 - "$result" "$limit" "$limit_db" "$((g1 - g0))" "$((d1 - d0))" "$s0" "$s1" "$HZ" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); limit = sys.argv[2]; limit_db = sys.argv[3]
gateway, db, s0, s1, hz = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6] or 0), float(sys.argv[7] or 0), int(sys.argv[8])
n = max(r["requests"], 1)
ratio = f"{r['rps'] / float(limit):.0%}" if limit not in ("", "n/a") and float(limit) > 0 else "n/a"
print(f"| {r['case']} | {r['concurrency']} | {r['rps']:.0f} | {r['p50_ms']} | {r['p99_ms']} | {r['errors']} "
      f"| {(s1 - s0) / n:.2f} | {gateway * 1000 / hz / n:.3f} | {db * 1000 / hz / n:.3f} | {limit} | {limit_db} | {ratio} |")
PY
  done
done
printf '\nGateway peak RSS: %s MB\n' "$(rss_mb)"

# Subscriptions: SUB_CONNECTIONS connections × 5 subscriptions, SUB_EVENTS events/s.
if [[ "${SUBSCRIPTIONS:-1}" == 1 ]]; then
  printf '\n| subscriptions | connections | events | deliveries (expected) | p50 ms | p99 ms |\n|---|---|---|---|---|---|\n'
  sub="$("$BIN/rowgate-bench" --url "http://127.0.0.1:$PORT/graphql" --case subscriptions \
    --connections "${SUB_CONNECTIONS:-2000}" --per-connection 5 --events-per-second "${SUB_EVENTS:-200}" \
    --seconds "$SECONDS_PER_CASE")"
  echo "$sub" >>"$OUT/results.jsonl"
  python3 - "$sub" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"| {r['subscriptions']} | {r['connections']} | {r['events']} | {r['deliveries']} ({r['expected_deliveries']}) | {r['p50_ms']} | {r['p99_ms']} |")
PY
  printf '\nGateway peak RSS after subscriptions: %s MB\n' "$(rss_mb)"
fi

# effectiveFlags with the cache disabled, in the same run, for the ratio.
if [[ " $CASES " == *" flags "* ]]; then
  kill "$GATEWAY" 2>/dev/null || true
  wait "$GATEWAY" 2>/dev/null || true
  DATABASE_URL="$DB_URL" ROWGATE_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn ROWGATE_GRAPHIQL=false ROWGATE_CACHE=false \
    "$BIN/rowgate" serve >"$OUT/gateway-nocache.log" 2>&1 &
  GATEWAY=$!
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  printf '\n| flags without cache | concurrency | req/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|\n'
  for c in $CONCURRENCY; do
    r="$("$BIN/rowgate-bench" --url "http://127.0.0.1:$PORT/graphql" --case flags --concurrency "$c" --seconds "$SECONDS_PER_CASE")"
    echo "$r" >>"$OUT/results.jsonl"
    python3 - "$r" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"| flags (ROWGATE_CACHE=false) | {r['concurrency']} | {r['rps']:.0f} | {r['p50_ms']} | {r['p99_ms']} | {r['errors']} |")
PY
  done
fi
