#!/usr/bin/env bash
# Set up (first time only) with the test extras, check style and layering, run every test.
#   ./test.sh                 everything (CI runs exactly this)
#   ./test.sh -m "not slow"   pytest arguments pass through
set -euo pipefail
cd "$(dirname "$0")"
. scripts/setup.sh
ensure_venv "test"

echo "== ruff"
.venv/bin/ruff check .
echo "== import-linter (core/ stays free of Qt)"
.venv/bin/lint-imports
echo "== pytest"
export QT_QPA_PLATFORM=offscreen
run_pytest "$@"
