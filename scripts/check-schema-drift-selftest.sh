#!/usr/bin/env bash
# Shows that the schema drift check fails on a hand-edited schema.graphql and passes on
# the checked-in one. Edits only a temporary copy.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
copy="$(mktemp)"
trap 'rm -f "$copy"' EXIT
sed 's/^type Query {/type Query {\n  handEdited: Boolean/' "$root/schema.graphql" > "$copy"
if cmp -s "$copy" "$root/schema.graphql"; then
  echo "selftest could not edit the copy" >&2
  exit 1
fi
if "$root/scripts/check-schema-drift.sh" "$copy" >/dev/null 2>&1; then
  echo "FAIL: the schema drift check accepted a hand-edited schema.graphql" >&2
  exit 1
fi
"$root/scripts/check-schema-drift.sh" >/dev/null
echo "schema drift check: fails on a hand edit, passes on the checked-in file"
