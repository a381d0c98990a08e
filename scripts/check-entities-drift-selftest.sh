#!/usr/bin/env bash
# Proves scripts/check-entities-drift.sh catches hand edits of the entities, and passes on the
# pristine tree.
#
#   scripts/check-entities-drift-selftest.sh
#
# The edits are made to a copy of entities/src in a temporary directory (passed to the check
# as ENTITIES_DIR): the working tree is never modified, and the test verifies that too.
# Needs what scripts/generate-entities.sh needs (a PostgreSQL server via DATABASE_URL).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
CHECK="$ROOT/scripts/check-entities-drift.sh"

log() { printf 'check-entities-drift-selftest: %s\n' "$*" >&2; }
fail() {
  log "FAIL: $*"
  exit 1
}

tree_digest() {
  (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum)
}

WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT
BEFORE="$(tree_digest "$ROOT/entities/src")"

# 1. The pristine tree passes.
log "pristine tree: expecting no drift"
if ! "$CHECK" >"$WORK_DIR/pristine.out"; then
  cat "$WORK_DIR/pristine.out"
  fail "the check reports drift on the pristine tree (regenerate the entities first?)"
fi

# 2. A copy edited by hand fails, and the diff names every edit: a changed line, a file added,
#    a file removed.
EDITED="$WORK_DIR/src"
cp -R "$ROOT/entities/src" "$EDITED"
grep -q 'pub title: String,' "$EDITED/posts.rs" || fail "posts.rs has no 'pub title: String,'"
sed -i.orig 's/pub title: String,/pub title: Option<String>,/' "$EDITED/posts.rs"
rm "$EDITED/posts.rs.orig"
printf '//! Written by hand.\n' >"$EDITED/hand_written.rs"
rm "$EDITED/user_follows.rs"

log "edited copy: expecting drift"
status=0
ENTITIES_DIR="$EDITED" "$CHECK" >"$WORK_DIR/edited.out" || status=$?
[[ "$status" -eq 1 ]] || {
  cat "$WORK_DIR/edited.out"
  fail "the check exited $status on an edited tree, expected 1"
}
for expected in \
  '-    pub title: Option<String>,' \
  '+    pub title: String,' \
  "Only in $EDITED: hand_written.rs" \
  'Only in <generated>: user_follows.rs'; do
  grep -qF -- "$expected" "$WORK_DIR/edited.out" || {
    cat "$WORK_DIR/edited.out"
    fail "the drift report does not show: $expected"
  }
done

# 3. Nothing above touched the working tree.
[[ "$(tree_digest "$ROOT/entities/src")" == "$BEFORE" ]] || fail "entities/src was modified"

log "PASS: drift is detected on an edited copy and not on the pristine tree"
