#!/usr/bin/env bash
# Instructions per request of one bench case, counted by valgrind's callgrind: unlike
# seconds, instruction counts repeat on a shared machine, so two builds compare exactly.
# A release gateway runs under callgrind over `seed --scale 5` on PostgreSQL; WARMUP
# requests warm it (caches, pool, prepared statements), the counters are zeroed, REQUESTS
# identical requests are sent one after the other, and the gateway's instructions (user
# space only) are divided by REQUESTS. Prints that figure and the top exclusive entries.
#
#   scripts/profile.sh                  # the deep case
#   CASE=inbox REQUESTS=300 scripts/profile.sh
#
# Needs PostgreSQL (BENCH_ADMIN_URL, default postgres://postgres@127.0.0.1:5432/postgres),
# valgrind and curl. Output: target/profile/<case>.callgrind and the annotation beside it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

CASE="${CASE:-deep}"
WARMUP="${WARMUP:-150}"
REQUESTS="${REQUESTS:-200}"
ADMIN_URL="${BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB_NAME="${PROFILE_DB:-rowgate_profile}"
DB_URL="${ADMIN_URL%/*}/$DB_NAME"
PORT="${PROFILE_PORT:-18090}"
OUT="$ROOT/target/profile"
mkdir -p "$OUT"
export ROWGATE_JWT_SECRET="${ROWGATE_JWT_SECRET:-bench-secret-bench-secret-bench-secret-0123}"
log() { printf 'profile: %s\n' "$*" >&2; }

log "building the release gateway"
cargo build --release --locked -q -p rowgate-server --bin rowgate
cargo build --release --locked -q -p rowgate-tests --bin rowgate-bench
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/rowgate"
BENCH="${CARGO_TARGET_DIR:-$ROOT/target}/release/rowgate-bench"

if [[ "${PROFILE_REUSE_DB:-0}" != 1 ]]; then
  log "creating $DB_NAME and seeding --scale 5"
  psql "$ADMIN_URL" -q -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" -c "CREATE DATABASE $DB_NAME"
  DATABASE_URL="$DB_URL" "$BIN" migrate up >/dev/null
  DATABASE_URL="$DB_URL" "$BIN" seed --scale 5 >/dev/null
  psql "$DB_URL" -q -c "VACUUM ANALYZE"
fi

# The request of the case, as the bench sends it (tenant 0's member 5).
REQUEST="$("$BENCH" --case "$CASE" --tenants 1 --print-request)" || {
  echo "unknown case $CASE (flags | feed | tenant-feed | deep | inbox)" >&2
  exit 2
}
AUTHORIZATION="$(sed -n 1p <<<"$REQUEST")"
BODY="$(sed -n 2p <<<"$REQUEST")"

log "starting the gateway under callgrind"
rm -f "$OUT/$CASE.callgrind"*
DATABASE_URL="$DB_URL" ROWGATE_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn ROWGATE_GRAPHIQL=false \
  valgrind --tool=callgrind --callgrind-out-file="$OUT/$CASE.callgrind" "$BIN" serve \
  >"$OUT/gateway.log" 2>&1 &
GATEWAY=$!
trap 'kill "$GATEWAY" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done

send() {
  local i
  for i in $(seq 1 "$1"); do
    curl -fs -H "authorization: $AUTHORIZATION" -H 'content-type: application/json' \
      --data "$BODY" "http://127.0.0.1:$PORT/graphql" >"$OUT/response.json"
  done
}
log "warming with $WARMUP requests"
send "$WARMUP"
if grep -q '"errors"' "$OUT/response.json"; then
  echo "the $CASE request answered errors:" >&2
  cat "$OUT/response.json" >&2
  exit 1
fi
callgrind_control -z "$GATEWAY" >/dev/null
log "counting $REQUESTS requests"
send "$REQUESTS"
callgrind_control -d "$GATEWAY" >/dev/null
sleep 1
kill "$GATEWAY"
wait "$GATEWAY" 2>/dev/null || true

# The dump asked for after zeroing is part 1 (the file without a suffix is what ran after
# it, until the gateway was stopped).
DUMP="$OUT/$CASE.callgrind.1"
callgrind_annotate --inclusive=no "$DUMP" 2>/dev/null | head -60 >"$OUT/$CASE.annotate"
TOTAL="$(awk '/^summary:/ {print $2}' "$DUMP")"
printf 'case %s: %s instructions over %s requests: %.2f M per request\n' \
  "$CASE" "$TOTAL" "$REQUESTS" "$(python3 -c "print(int('$TOTAL') / $REQUESTS / 1e6)")"
printf 'top exclusive entries: %s\n' "$OUT/$CASE.annotate"
