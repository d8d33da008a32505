#!/usr/bin/env bash
# `make bench`: start private services (like `make test`), then run every benchmark module
# bench/<name>.py as `python -m bench.<name>`, one after the other, each bounded in time.
#   BERTH_BENCH_ONLY="load pulls"   run only these modules
#   BERTH_BENCH_MODULE_TIMEOUT=420  seconds allowed per module
#   BERTH_LOAD_SECONDS=60           length of the load run (bench.load)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install.sh test
VENV="${BERTH_VENV:-.venv}"
export PATH="$PWD/$VENV/bin:$PATH"
export BERTH_PYTHON="$PWD/$VENV/bin/python"

OWN_DIR=""
[[ -z "${BERTH_SERVICES_DIR:-}" ]] && OWN_DIR="/tmp/bb-$$"
export BERTH_SERVICES_DIR="${BERTH_SERVICES_DIR:-$OWN_DIR}"
free_port() { "$BERTH_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export BERTH_REDIS_PORT="${BERTH_REDIS_PORT:-$(free_port)}"
export BERTH_REGISTRY_PORT="${BERTH_REGISTRY_PORT:-$(free_port)}"
export BERTH_AUTH_REGISTRY_PORT="${BERTH_AUTH_REGISTRY_PORT:-$(free_port)}"
cleanup() {
    scripts/services.sh stop all || true
    # The folder is ours only when we picked it; then nothing of the run stays behind.
    if [[ -n "$OWN_DIR" ]]; then rm -rf "$OWN_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

scripts/services.sh start engine registry authregistry redis
eval "$(scripts/services.sh env)"
export BERTH_DATA_DIR="$BERTH_SERVICES_DIR/data"
export BERTH_TEST_DATABASE="$BERTH_SERVICES_DIR/bench-test.sqlite3"
export BERTH_ENVIRONMENTS="local=$DOCKER_HOST"
export DJANGO_DEBUG=0
export BERTH_MANIFEST_STATIC=0
export DJANGO_SECRET_KEY="bench-only-$(date +%s)-$$"
# Modules that need a database of their own set DATABASE_URL; this one is the default.
export DATABASE_URL="${BERTH_BENCH_DATABASE_URL:-sqlite:///$BERTH_SERVICES_DIR/bench.sqlite3}"
python manage.py migrate --noinput -v 0

modules=()
if [[ -n "${BERTH_BENCH_ONLY:-}" ]]; then
    read -r -a modules <<<"$BERTH_BENCH_ONLY"
else
    for file in bench/*.py; do
        name="$(basename "$file" .py)"
        [[ "$name" == __init__ ]] || modules+=("$name")
    done
fi

failed=()
for name in "${modules[@]}"; do
    echo
    echo "################ bench.$name ################"
    started=$SECONDS
    # A module that hangs must not hold `make bench` forever; SIGTERM lets it clean up first.
    if ! timeout -k 20 "${BERTH_BENCH_MODULE_TIMEOUT:-420}" python -m "bench.$name"; then
        failed+=("$name")
        echo "[bench] bench.$name FAILED" >&2
    fi
    echo "[bench] bench.$name took $((SECONDS - started)) s"
done

if ((${#failed[@]})); then
    echo "[bench] failed: ${failed[*]}" >&2
    exit 1
fi
echo "[bench] all ${#modules[@]} benchmark(s) ran"
