#!/usr/bin/env bash
# `make test`: install what is missing, lint, run the unit tier, start private services, run the
# integration tier (every test, or pytest's arguments), stop
# everything we started (also on failure or Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."

# DB=postgres (make test DB=postgres): the same suite against a private PostgreSQL cluster.
DB="${DB:-sqlite}"
case "$DB" in sqlite|postgres) ;; *) echo "[test] DB must be sqlite or postgres, not '$DB'" >&2; exit 2 ;; esac
BERTH_DB="$DB" scripts/install.sh test
VENV="${BERTH_VENV:-.venv}"
export PATH="$PWD/$VENV/bin:$PATH"
export BERTH_PYTHON="$PWD/$VENV/bin/python"

# A private folder per run: nothing shared with a developer's own services.
if [[ -z "${BERTH_SERVICES_DIR:-}" ]]; then
    export BERTH_SERVICES_DIR="/tmp/bt-$$"
    OWN_SERVICES_DIR=1   # ours to delete at the end
fi
# Free loopback ports unless the caller chose them, so a developer's own
# Redis or registry on the default ports never gets mixed into a test run.
free_port() { "$BERTH_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export BERTH_REDIS_PORT="${BERTH_REDIS_PORT:-$(free_port)}"
export BERTH_REGISTRY_PORT="${BERTH_REGISTRY_PORT:-$(free_port)}"
export BERTH_AUTH_REGISTRY_PORT="${BERTH_AUTH_REGISTRY_PORT:-$(free_port)}"
cleanup() {
    scripts/services.sh stop all || true
    if [[ "${OWN_SERVICES_DIR:-}" == 1 ]]; then rm -rf "$BERTH_SERVICES_DIR" || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

scripts/lint.sh
# The unit tier first: pure logic, no services, seconds. A failure here stops the run.
echo "[test] pytest: unit tier"
BERTH_DATA_DIR="$BERTH_SERVICES_DIR/unit-data" DJANGO_SECRET_KEY="unit-only-$$" \
    python -m pytest tests/unit --confcutdir=tests/unit -q

services=(engine registry authregistry redis)
if [[ "$DB" == postgres ]]; then
    export BERTH_POSTGRES_PORT="${BERTH_POSTGRES_PORT:-$("$BERTH_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
    services+=(postgres)
fi
scripts/services.sh start "${services[@]}"
eval "$(scripts/services.sh env)"
if [[ "$DB" == postgres ]]; then
    export DATABASE_URL="$BERTH_POSTGRES_URL"
    echo "[test] database: PostgreSQL at $DATABASE_URL (tests use test_berth)"
fi
export BERTH_TEST_DATABASE="$BERTH_SERVICES_DIR/test.sqlite3"
export BERTH_DATA_DIR="$BERTH_SERVICES_DIR/data"
export BERTH_ENVIRONMENTS="local=$DOCKER_HOST"
export DJANGO_DEBUG=0
export BERTH_MANIFEST_STATIC=0
# A throwaway key for the test run only.
export DJANGO_SECRET_KEY="test-only-$(date +%s)-$$"

echo "[test] pytest: integration tier"
status=0
# The unit tier already ran: the integration tier (tests/integration/) runs, or what the arguments name.
ignore_unit=(--ignore=tests/unit)
for arg in "$@"; do [[ "$arg" == tests/unit* ]] && ignore_unit=(); done
python -m pytest "${ignore_unit[@]}" "$@" || status=$?
if [[ $status == 5 ]]; then
    echo "[test] pytest collected no tests: failing, a green run must have run something" >&2
    exit 1
fi
exit $status
