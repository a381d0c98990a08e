#!/usr/bin/env bash
# Fails when the checked-in schema.graphql (or the file given as $1) differs from the SDL
# the server builds. Regenerate with: cargo run -q -p rowgate-server -- print-schema > schema.graphql
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
expected="${1:-$root/schema.graphql}"
built="$(mktemp)"
trap 'rm -f "$built"' EXIT
(cd "$root" && cargo run -q --locked -p rowgate-server -- print-schema) > "$built"
if ! diff -u "$expected" "$built"; then
  echo "schema drift: $expected differs from the built schema (lines - are checked in, + are built)." >&2
  echo "Regenerate: cargo run -q -p rowgate-server -- print-schema > schema.graphql" >&2
  exit 1
fi
echo "schema.graphql matches the built schema"
