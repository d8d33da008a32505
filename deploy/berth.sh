#!/bin/sh
# The image's entry point: the first argument names the Berth role this container plays.
#   web        uvicorn on BERTH_BIND (0.0.0.0:8000), BERTH_WEB_WORKERS processes (cores + 1, at most 8),
#              each listening on its own socket (config.web_server)
#   worker     the Celery worker (pulls, removals), BERTH_WORKER_CONCURRENCY (2)
#   scheduler  Celery beat, its schedule file in the data folder
#   watcher    the engine-event watcher (manage.py berth_watcher), where this version has it
#   migrate    apply database migrations once and exit (compose's one-shot service)
#   manage ... any manage.py command, e.g. `berth manage berth_user alice --role admin --password-stdin`
# Anything else runs as given. `exec` everywhere: the role is PID 1 and gets the stop signal itself.
set -eu
cd /opt/berth/app
role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
    web)
        bind="${BERTH_BIND:-0.0.0.0:8000}"
        # As `make run`: one process per core plus one, but at most 8 by default (each holds ~90 MB, and a
        # container sees every core of a big host); BERTH_WEB_WORKERS sets it.
        cores="$(nproc)"
        workers="${BERTH_WEB_WORKERS:-$((cores < 8 ? cores + 1 : 8))}"
        exec python -m config.web_server config.asgi:application --host "${bind%:*}" --port "${bind##*:}" \
            --workers "$workers" --timeout-graceful-shutdown 3 --no-server-header "$@" ;;
    worker)
        exec python -m celery -A config worker --loglevel="${BERTH_LOG_LEVEL:-INFO}" \
            --concurrency="${BERTH_WORKER_CONCURRENCY:-2}" --without-gossip --without-mingle -n "berth@%h" "$@" ;;
    scheduler)
        # One scheduler per Berth: two would run every periodic task twice.
        exec python -m celery -A config beat --loglevel="${BERTH_LOG_LEVEL:-INFO}" \
            --schedule="${BERTH_DATA_DIR:-/data}/celerybeat-schedule" "$@" ;;
    watcher)
        exec python manage.py berth_watcher "$@" ;;
    migrate)
        exec python manage.py migrate --noinput "$@" ;;
    manage)
        exec python manage.py "$@" ;;
    *)
        exec "$role" "$@" ;;
esac
