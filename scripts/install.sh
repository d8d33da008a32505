#!/usr/bin/env bash
# Install what Berth needs, skipping what is already there.
#   scripts/install.sh run    # runtime: venv + requirements.txt (+ Debian services when root)
#   scripts/install.sh test   # also the test and lint tools
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-run}"
VENV="${BERTH_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
DEBIAN_PACKAGES=(docker.io docker-registry redis-server busybox-static chromium curl)
log() { echo "[install] $*" >&2; }

need_debian=()
command -v dockerd >/dev/null || need_debian+=(docker.io)
command -v docker-registry >/dev/null || need_debian+=(docker-registry)
command -v redis-server >/dev/null || need_debian+=(redis-server)
dpkg -s busybox-static >/dev/null 2>&1 || need_debian+=(busybox-static)
command -v curl >/dev/null || need_debian+=(curl)
if [[ "$MODE" == test ]]; then
    command -v chromium >/dev/null || need_debian+=(chromium)
fi
# BERTH_DB=postgres: the test suite against a local PostgreSQL (make test DB=postgres).
if [[ "${BERTH_DB:-}" == postgres ]] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
    need_debian+=(postgresql)
fi
if ((${#need_debian[@]})); then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
        log "installing Debian packages: ${need_debian[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_debian[@]}" >/dev/null
    else
        log "missing system packages (${need_debian[*]}); install them as root: apt-get install ${DEBIAN_PACKAGES[*]}"
    fi
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating virtualenv $VENV"
    "$PYTHON" -m venv "$VENV"
fi
requirements=requirements.txt
[[ "$MODE" == test ]] && requirements=requirements-dev.txt
# Reinstall only when the requirement files change.
stamp="$VENV/.berth-$MODE-$(cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)"
if [[ ! -f "$stamp" ]]; then
    log "installing Python packages from $requirements"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$requirements"
    touch "$stamp"
fi
