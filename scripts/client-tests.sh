#!/usr/bin/env bash
# Drives a built rowgate binary with real JavaScript GraphQL clients (Apollo Client, urql,
# graphql-ws, subscriptions-transport-ws, graphql-http's audits, plain fetch) and GraphiQL in
# headless Chromium under Node's test runner; see clients/README.md. Needs Node >= 20 and npm,
# Chromium at /usr/bin/chromium (or CHROMIUM_PATH; installed with apt-get when missing and
# running as root), and the binary:
#   cargo build && scripts/client-tests.sh
#   ROWGATE_BIN=/path/to/rowgate scripts/client-tests.sh
# Fails when any test fails.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
start=$(date +%s)

# A relative ROWGATE_BIN is taken from the caller's directory.
if [[ -n "${ROWGATE_BIN:-}" && "$ROWGATE_BIN" != /* ]]; then
  ROWGATE_BIN="$PWD/$ROWGATE_BIN"
fi

cd "$root/clients"
bin="${ROWGATE_BIN:-../target/debug/rowgate}"
if [[ ! -x "$bin" ]]; then
  echo "client-tests: no rowgate binary at $bin (run cargo build, or set ROWGATE_BIN)" >&2
  exit 1
fi

# GraphiQL's test drives Debian's Chromium through playwright-core (which downloads no browser).
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  if [[ -z "${CHROMIUM_PATH:-}" && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    echo "client-tests: installing chromium (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  else
    echo "client-tests: no Chromium at $chromium (apt-get install chromium, or set CHROMIUM_PATH)" >&2
    exit 1
  fi
fi

npm ci --no-audit --no-fund
status=0
# The files are named explicitly: Node 20 searches a directory argument, newer Nodes take
# globs instead.
ROWGATE_BIN="$bin" node --test --test-concurrency=2 test/*.test.mjs || status=$?

echo "client-tests: $( ((status == 0)) && echo passed || echo FAILED) in $(( $(date +%s) - start )) s"
exit "$status"
