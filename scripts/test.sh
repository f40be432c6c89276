#!/usr/bin/env bash
# The project's checks: lint, formatting, and the test suite (run after scripts/setup.sh --dev).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests benchmarks scripts
.venv/bin/ruff format --check src tests benchmarks scripts
.venv/bin/python -m pytest -q "$@"
