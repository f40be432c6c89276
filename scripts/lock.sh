#!/usr/bin/env bash
# Refresh the lock files from pyproject.toml's ranges (run after changing a dependency):
#   bash scripts/lock.sh            keep the current pins where the ranges still allow them
#   bash scripts/lock.sh --upgrade  move every pin to the newest release the ranges allow
# requirements/lock.txt pins the runtime dependencies, requirements/lock-dev.txt the runtime plus
# the dev ones at the same versions. Both are universal (every platform, Python >= 3.10).
# requirements/constraints.txt bounds the pins further where a dev tool needs it.
set -euo pipefail
cd "$(dirname "$0")/.."
uv="${UV:-.venv/bin/uv}"
common=(--universal --python-version 3.10 --quiet "$@")
"$uv" pip compile pyproject.toml -c requirements/constraints.txt "${common[@]}" \
  -o requirements/lock.txt
"$uv" pip compile pyproject.toml --extra dev -c requirements/lock.txt "${common[@]}" \
  -o requirements/lock-dev.txt
