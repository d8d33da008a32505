#!/usr/bin/env bash
# `make lint` (and the first step of `make test`): ruff, the import contracts (pyproject.toml's
# [tool.importlinter]) and mypy ([tool.mypy]). Expects the test tools installed (scripts/install.sh test).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${BERTH_VENV:-.venv}"
echo "[lint] ruff"
"$VENV/bin/ruff" check .
echo "[lint] import contracts"
"$VENV/bin/lint-imports" --no-cache
echo "[lint] mypy"
"$VENV/bin/mypy"
