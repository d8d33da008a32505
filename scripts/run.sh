#!/usr/bin/env bash
# `make run`: install what is missing, migrate, start Redis (unless REDIS_URL answers), a Celery
# worker, Celery beat and the ASGI web server on BERTH_BIND (default 127.0.0.1:8000). Without a Docker Engine
# that answers, start a SANDBOX engine with a loopback registry of demo images.
# Ctrl-C (or SIGTERM) stops everything this script started, by PID; nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

say() { echo "[berth] $*" >&2; }
loud() {
    local line="=================================================================================="
    printf '\n%s\n' "$line" >&2
    for text in "$@"; do printf '  %s\n' "$text" >&2; done
    printf '%s\n\n' "$line" >&2
}

DATA_DIR="${BERTH_DATA_DIR:-$ROOT/data}"
mkdir -p "$DATA_DIR"
DATA_DIR="$(cd "$DATA_DIR" && pwd)"
export BERTH_DATA_DIR="$DATA_DIR"
RUN_DIR="$DATA_DIR/run"
mkdir -p "$RUN_DIR"

# One `make run` per data folder: a second one would fight over the database, ports and pidfiles.
# The lock is held on fd 9 for as long as this script lives; children get fd 9 closed.
exec 9>"$RUN_DIR/run.lock"
if ! flock -n 9; then
    other="$(cat "$RUN_DIR/run.pid" 2>/dev/null || echo '?')"
    say "Berth is already running from this folder (make run, pid $other; data in $DATA_DIR)."
    say "Stop that one first (Ctrl-C in its terminal, or: kill $other), or set BERTH_DATA_DIR to run another."
    exit 1
fi
echo $$ >"$RUN_DIR/run.pid"

stop_pid() {
    local name="$1" pid="$2"
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        say "$name ($pid) ignored SIGTERM for 10 s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# A previous run killed with SIGKILL could not stop its children; their pidfiles name them.
# Check the command line too, so a recycled PID of some other program is never touched.
for pidfile in "$RUN_DIR/web.pid" "$RUN_DIR/worker.pid" "$RUN_DIR/beat.pid" "$RUN_DIR/watcher.pid"; do
    [[ -f "$pidfile" ]] || continue
    old_pid="$(cat "$pidfile")"
    if kill -0 "$old_pid" 2>/dev/null && tr '\0' ' ' <"/proc/$old_pid/cmdline" 2>/dev/null | grep -qE 'uvicorn|web_server|celery|berth_watcher'; then
        say "stopping $(basename "$pidfile" .pid) process $old_pid left over by a previous run"
        stop_pid "leftover" "$old_pid"
    fi
    rm -f "$pidfile"
done

BIND="${BERTH_BIND:-127.0.0.1:8000}"
HOST="${BIND%:*}"
PORT="${BIND##*:}"
if [[ -z "$HOST" || -z "$PORT" || "$HOST" == "$BIND" || ! "$PORT" =~ ^[0-9]+$ ]]; then
    say "BERTH_BIND must be host:port, like 127.0.0.1:8000 (got '$BIND')"
    exit 2
fi

scripts/install.sh run 9>&-
VENV="${BERTH_VENV:-.venv}"
PY="$ROOT/$VENV/bin/python"
export BERTH_PYTHON="$PY"

port_free() { "$PY" -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1], int(sys.argv[2])))' "$1" "$2" 2>/dev/null; }
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

if ! port_free "$HOST" "$PORT"; then
    say "$BIND is already in use (another Berth, or another server). Set BERTH_BIND=127.0.0.1:<port> to use another."
    exit 1
fi

# Services this run starts live here (pidfiles); unix socket paths must stay short (~100 bytes).
SERVICES_DIR="$RUN_DIR/services"
if ((${#SERVICES_DIR} > 60)); then
    SERVICES_DIR="/tmp/berth-run-$(echo -n "$DATA_DIR" | sha256sum | cut -c1-10)"
fi
export BERTH_SERVICES_DIR="$SERVICES_DIR"
mkdir -p "$SERVICES_DIR"
# Services of a hard-killed run still hold their ports; we hold the lock, so their pidfiles are ours.
if compgen -G "$SERVICES_DIR/*/*.pid" >/dev/null; then
    say "stopping services left over by a previous run"
    scripts/services.sh stop redis registry engine 9>&- || true
fi

STARTED_SERVICES=()
CHILD_PIDS=()
STOPPING=0

cleanup() {
    ((STOPPING)) && return 0
    STOPPING=1
    trap '' INT TERM
    say "stopping what this run started"
    # Newest first: web server, then worker, then the services they used.
    local index
    for ((index = ${#CHILD_PIDS[@]} - 1; index >= 0; index--)); do
        stop_pid "${CHILD_PIDS[index]%%:*}" "${CHILD_PIDS[index]#*:}"
    done
    if ((${#STARTED_SERVICES[@]})); then
        scripts/services.sh stop "${STARTED_SERVICES[@]}" 9>&- || true
    fi
    rm -f "$RUN_DIR/run.pid" "$RUN_DIR/web.pid" "$RUN_DIR/worker.pid" "$RUN_DIR/beat.pid" "$RUN_DIR/watcher.pid"
    say "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- Redis -------------------------------------------------------------------------
redis_answers() { "$PY" -c 'import redis,sys; redis.Redis.from_url(sys.argv[1], socket_timeout=2).ping()' "$1" 2>/dev/null; }
if [[ -n "${REDIS_URL:-}" ]] && redis_answers "$REDIS_URL"; then
    say "using the Redis at $REDIS_URL"
else
    [[ -n "${REDIS_URL:-}" ]] && say "REDIS_URL=$REDIS_URL does not answer: starting a private Redis instead"
    # 6379 when nobody uses it; never share a Redis we did not start (its queues are not ours).
    if port_free 127.0.0.1 6379; then redis_port=6379; else redis_port="$(free_port)"; fi
    STARTED_SERVICES+=(redis)
    BERTH_REDIS_PORT="$redis_port" scripts/services.sh start redis 9>&-
    export REDIS_URL="redis://127.0.0.1:$redis_port/0"
    say "started Redis on 127.0.0.1:$redis_port (pidfile $SERVICES_DIR/redis/redis.pid)"
fi

# --- Docker Engine: the host's, or a sandbox ---------------------------------------
engine_answers() {
    "$PY" -c 'import docker,sys; docker.APIClient(base_url=sys.argv[1], version="auto", timeout=3).version()' "$1" \
        >/dev/null 2>&1
}
ENGINE="${DOCKER_HOST:-unix:///var/run/docker.sock}"
export BERTH_SANDBOX="${BERTH_SANDBOX:-0}"
if engine_answers "$ENGINE"; then
    export DOCKER_HOST="$ENGINE"
    say "using the Docker Engine at $ENGINE"
elif [[ "$(id -u)" != 0 ]] || ! command -v dockerd >/dev/null; then
    loud "NO DOCKER ENGINE answers at $ENGINE," \
        "and a sandbox engine needs root and dockerd (apt-get install docker.io)." \
        "Berth starts anyway; its pages will say the engine is unavailable (HTTP 503)." \
        "Point DOCKER_HOST at an engine Berth's user may use, then restart."
    export DOCKER_HOST="$ENGINE"
else
    say "no Docker Engine answers at $ENGINE: starting a sandbox engine"
    STARTED_SERVICES+=(registry engine)
    BERTH_REGISTRY_PORT="$(free_port)"
    export BERTH_REGISTRY_PORT
    scripts/services.sh start engine registry 9>&-
    eval "$(scripts/services.sh env | grep DOCKER_HOST)"
    export BERTH_SANDBOX=1
    export BERTH_ENVIRONMENTS="local=$DOCKER_HOST"
    "$PY" scripts/seed_sandbox.py --docker-host "$DOCKER_HOST" --registry "localhost:$BERTH_REGISTRY_PORT" 9>&-
    loud "SANDBOX ENGINE - NOT YOUR HOST'S DOCKER" \
        "No Docker Engine answered at $ENGINE, so Berth started a private one:" \
        "  engine:   $DOCKER_HOST (no network bridge; its images vanish when you stop)" \
        "  registry: localhost:$BERTH_REGISTRY_PORT with demo images; try pulling" \
        "            localhost:$BERTH_REGISTRY_PORT/demo/webapp:1.4.2" \
        "To manage your real Docker, start it (or set DOCKER_HOST) and run make run again."
fi

# --- Django ------------------------------------------------------------------------
cd "$ROOT"
"$PY" manage.py migrate --noinput -v 0 9>&-
if ! "$PY" -c 'import sys; from config.env import env_bool; sys.exit(0 if env_bool("DJANGO_DEBUG", False) else 1)'; then
    "$PY" manage.py collectstatic --noinput -v 0 9>&-
fi
users="$("$PY" manage.py shell -v 0 -c 'from django.contrib.auth import get_user_model; print(get_user_model().objects.count())' 9>&- | tail -1)"
if [[ "$users" == 0 ]]; then
    loud "No user yet. Create the first admin, either:" \
        "  - in the browser: http://$BIND/setup/   (exists only until the first user is created)" \
        "  - or here:        $VENV/bin/python manage.py createsuperuser" \
        "  - or scripted:    BERTH_USER_PASSWORD=... $VENV/bin/python manage.py berth_user alice --role admin"
fi

# --- worker and web server ---------------------------------------------------------
"$PY" -m celery -A config worker --loglevel=INFO --concurrency="${BERTH_WORKER_CONCURRENCY:-2}" \
    --without-gossip --without-mingle -n "berth-$$@%h" >"$RUN_DIR/worker.log" 2>&1 9>&- &
CHILD_PIDS+=("celery worker:$!")
echo $! >"$RUN_DIR/worker.pid"
say "started the Celery worker (pid $!, log $RUN_DIR/worker.log)"

# Celery beat sends the periodic work (stale-job sweep, request expiry, audit retention and
# verification; config/celery.py) to the worker. Exactly one beat per Berth; its schedule file
# (last run of each task) lives in the data folder so a restart does not rerun everything at once
# (BERTH_BEAT_SCHEDULE_FILE, default $BERTH_DATA_DIR/celerybeat-schedule, read by config/settings.py)
"$PY" -m celery -A config beat --loglevel=INFO >"$RUN_DIR/beat.log" 2>&1 9>&- &
CHILD_PIDS+=("celery beat:$!")
echo $! >"$RUN_DIR/beat.pid"
say "started Celery beat (pid $!, log $RUN_DIR/beat.log)"
# The engine watcher: records image use from the engines' events (one lease per environment,
# so a second Berth on the same database waits instead of recording twice).
"$PY" manage.py berth_watcher >"$RUN_DIR/watcher.log" 2>&1 9>&- &
CHILD_PIDS+=("engine watcher:$!")
echo $! >"$RUN_DIR/watcher.pid"
say "started the engine watcher (pid $!, log $RUN_DIR/watcher.log)"

# One web process per core, plus one: a process's pages share its GIL, and a spare process
# keeps pages from queueing behind a busy one (bench.load: list p95 under load -10 to -15%).
# config.web_server is uvicorn with a listening socket per process, so connections spread evenly.
WEB_WORKERS="${BERTH_WEB_WORKERS:-$(($(nproc) + 1))}"
"$PY" -m config.web_server config.asgi:application --host "$HOST" --port "$PORT" --workers "$WEB_WORKERS" \
    --timeout-graceful-shutdown 3 9>&- &
CHILD_PIDS+=("web server:$!")
echo $! >"$RUN_DIR/web.pid"
say "started uvicorn (pid $!, $WEB_WORKERS processes) on http://$BIND/  - Ctrl-C stops everything"

# Wait until any child ends (then stop the others) or a signal arrives (traps stop both).
pids=()
for entry in "${CHILD_PIDS[@]}"; do pids+=("${entry#*:}"); done
set +e
wait -n "${pids[@]}"
status=$?
set -e
say "a Berth process exited (status $status); stopping the rest"
exit "$status"
