#!/usr/bin/env bash
# Fails when the checked-in entities differ from what the migrations generate.
#
#   scripts/check-entities-drift.sh [PACKAGE DIR]
#
# Without arguments: the reference application (entities/src). With them: the application
# PACKAGE, whose entities module is DIR (e.g. `wedsync examples/wedsync/src/entities`).
#
# Regenerates the entities exactly as scripts/generate-entities.sh does (fresh PostgreSQL
# database from DATABASE_URL, `rowgate migrate up`, sea-orm-cli, rustfmt) into a temporary
# directory and compares it with entities/src (`diff -r`). Exit 0: identical. Exit 1: drift,
# with the diff on stdout; fix it by running scripts/generate-entities.sh and committing the
# result, never by editing entities/src by hand.
#
# ENTITIES_DIR overrides the tree compared (default entities/src); the self-test
# (scripts/check-entities-drift-selftest.sh) uses it to check an edited copy.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
PACKAGE="${1:-}"
ENTITIES_DIR="${ENTITIES_DIR:-${2:-$ROOT/entities/src}}"

[[ -d "$ENTITIES_DIR" ]] || {
  echo "check-entities-drift: $ENTITIES_DIR does not exist" >&2
  exit 1
}

WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT

"$ROOT/scripts/generate-entities.sh" "$WORK_DIR/src" ${PACKAGE:+"$PACKAGE"}

if diff -ru "$ENTITIES_DIR" "$WORK_DIR/src" >"$WORK_DIR/entities.diff"; then
  echo "check-entities-drift: entities are up to date with the migrations" >&2
  exit 0
fi

echo "check-entities-drift: $ENTITIES_DIR differs from the entities the migrations generate" >&2
echo "check-entities-drift: run scripts/generate-entities.sh and commit the result" >&2
# Lines starting with '-' are in the checked-in tree, '+' in the generated one.
sed -e "s#$WORK_DIR/src#<generated>#g" "$WORK_DIR/entities.diff"
exit 1
