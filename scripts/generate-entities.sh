#!/usr/bin/env bash
# Regenerates an application's SeaORM entities from its migrations.
#
#   scripts/generate-entities.sh [OUTPUT_DIR [PACKAGE]]
#
# Without PACKAGE: the reference application's entities crate (entities/src, a `lib.rs`).
# With PACKAGE (an application's package, e.g. `wedsync`): a module of that crate
# (OUTPUT_DIR is e.g. examples/wedsync/src/entities, a `mod.rs`).
#
# 1. creates a uniquely named PostgreSQL database on the server of DATABASE_URL
#    (default postgres://postgres@127.0.0.1:5432/postgres), dropped again on exit;
# 2. migrates it with the application's binary: `cargo run -p PACKAGE -- migrate up`;
# 3. runs sea-orm-cli 2.0.4 `generate entity` on it (installed with `cargo install --locked`
#    when missing or of another version);
# 4. formats the result with rustfmt (edition 2024, the repository's rustfmt config if any)
#    and replaces OUTPUT_DIR (default entities/src) with it.
#
# Entities are generated from PostgreSQL, never SQLite: SQLite discovery loses integer widths
# and timestamp types. The same entities read and write SQLite databases made by the
# migrations. scripts/check-entities-drift.sh runs this script into a temporary directory.
# Needs: cargo, rustfmt, psql.
set -euo pipefail

readonly SEA_ORM_CLI_VERSION="2.0.4"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
OUTPUT_DIR="${1:-$ROOT/entities/src}"
PACKAGE="${2:-rowgate-server}"
if [[ -n "${2:-}" ]]; then LAYOUT=(); else LAYOUT=(--lib); fi
SERVER_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

log() { printf 'generate-entities: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# OUTPUT_DIR is replaced wholesale: refuse anything that is not a directory of its own.
mkdir -p "$(dirname "$OUTPUT_DIR")"
OUTPUT_DIR="$(cd "$(dirname "$OUTPUT_DIR")" && pwd)/$(basename "$OUTPUT_DIR")"
case "$OUTPUT_DIR" in
  / | // | */. | */.. | "$ROOT" | "$HOME") die "refusing to replace $OUTPUT_DIR" ;;
esac

case "$SERVER_URL" in
  postgres://* | postgresql://*) ;;
  *) die "DATABASE_URL must be a PostgreSQL URL (got '$SERVER_URL')" ;;
esac
command -v psql >/dev/null || die "psql (the PostgreSQL client) is required"
command -v rustfmt >/dev/null || die "rustfmt is required"

# sea-orm-cli, exactly the version the entities were generated with.
CLI="${CARGO_HOME:-$HOME/.cargo}/bin/sea-orm-cli"
if [[ "$("$CLI" --version 2>/dev/null || true)" != "sea-orm-cli $SEA_ORM_CLI_VERSION" ]]; then
  log "installing sea-orm-cli $SEA_ORM_CLI_VERSION"
  cargo install sea-orm-cli --version "$SEA_ORM_CLI_VERSION" --locked >&2
fi
[[ "$("$CLI" --version)" == "sea-orm-cli $SEA_ORM_CLI_VERSION" ]] ||
  die "$CLI is not sea-orm-cli $SEA_ORM_CLI_VERSION"

# The same server URL, pointing at database $1 (user, host, port and query kept).
url_with_database() {
  local url="$1" database="$2" query="" scheme rest authority
  if [[ "$url" == *\?* ]]; then
    query="?${url#*\?}"
    url="${url%%\?*}"
  fi
  scheme="${url%%://*}"
  rest="${url#*://}"
  authority="${rest%%/*}"
  printf '%s://%s/%s%s' "$scheme" "$authority" "$database" "$query"
}

DB_NAME="rowgate_entities_$(date +%s)_$$_${RANDOM}"
DB_URL="$(url_with_database "$SERVER_URL" "$DB_NAME")"
WORK_DIR="$(mktemp -d)"

cleanup() {
  local status=$?
  psql "$SERVER_URL" -q -v ON_ERROR_STOP=1 \
    -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null 2>&1 ||
    log "warning: could not drop database $DB_NAME"
  rm -rf "$WORK_DIR"
  exit "$status"
}
trap cleanup EXIT

log "creating database $DB_NAME"
psql "$SERVER_URL" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null

log "migrating it"
(
  cd "$ROOT"
  DATABASE_URL="$DB_URL" cargo run -q -p "$PACKAGE" -- migrate up
) >&2


log "generating entities"
GENERATED="$WORK_DIR/src"
mkdir -p "$GENERATED"
# No --database-schema (nor DATABASE_SCHEMA): naming the schema, even `public`, makes every
# entity say `schema_name = "public"`, which SQLite cannot resolve.
env -u DATABASE_SCHEMA "$CLI" generate entity \
  --database-url "$DB_URL" \
  --output-dir "$GENERATED" \
  "${LAYOUT[@]}" \
  --with-serde both \
  --date-time-crate chrono \
  --with-prelude all \
  --entity-format compact \
  --banner-version minor >/dev/null

RUSTFMT_ARGS=(--edition 2024)
if [[ -f "$ROOT/rustfmt.toml" || -f "$ROOT/.rustfmt.toml" ]]; then
  RUSTFMT_ARGS+=(--config-path "$ROOT")
fi
rustfmt "${RUSTFMT_ARGS[@]}" "$GENERATED"/*.rs

rm -rf "$OUTPUT_DIR"
cp -R "$GENERATED" "$OUTPUT_DIR"
log "wrote $(find "$OUTPUT_DIR" -name '*.rs' | wc -l | tr -d ' ') files to $OUTPUT_DIR"
