#!/usr/bin/env bash
# Start and stop the real services Berth runs against: a private Docker Engine,
# a loopback registry (plain and with htpasswd auth), Redis and (for DB=postgres) PostgreSQL.
#
#   scripts/services.sh start engine|registry|authregistry|redis|postgres ...
#   scripts/services.sh stop  engine|registry|authregistry|redis|postgres|all
#   scripts/services.sh env        # prints the variables pointing at the services
#
# Everything lives below BERTH_SERVICES_DIR (default /tmp/berth-services); each
# service keeps a pidfile there, and `stop` ends only those PIDs: we never kill
# processes we did not start. Ports can be moved so several runs can coexist.
set -euo pipefail

DIR="${BERTH_SERVICES_DIR:-/tmp/berth-services}"
REDIS_PORT="${BERTH_REDIS_PORT:-6390}"
REGISTRY_PORT="${BERTH_REGISTRY_PORT:-5055}"
AUTH_REGISTRY_PORT="${BERTH_AUTH_REGISTRY_PORT:-5056}"
POSTGRES_PORT="${BERTH_POSTGRES_PORT:-5457}"
# The test registry user; a throwaway credential for a loopback-only registry.
AUTH_REGISTRY_USER="${BERTH_AUTH_REGISTRY_USER:-berth}"
AUTH_REGISTRY_PASSWORD="${BERTH_AUTH_REGISTRY_PASSWORD:-berth-test-password}"

log() { echo "[services] $*" >&2; }

# Wait (bounded) until a command succeeds.
wait_for() {
    local what="$1" seconds="$2"; shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            log "$what did not become ready within ${seconds}s"
            return 1
        fi
        sleep 0.2
    done
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Refuse to start on a port someone else holds: the readiness check would
# otherwise be answered by their service and we would test against it.
ensure_port_free() {
    if port_busy "$2"; then
        log "port $2 for $1 is already in use by another process; choose another (BERTH_*_PORT)"
        return 1
    fi
}

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_pidfile() {
    local name="$1" pidfile="$2" pid
    if [[ -f "$pidfile" ]]; then
        pid="$(cat "$pidfile")"
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            if kill -0 "$pid" 2>/dev/null; then
                log "$name ($pid) ignored SIGTERM, sending SIGKILL"
                kill -9 "$pid" 2>/dev/null || true
            fi
        fi
        rm -f "$pidfile"
    fi
}

engine_socket() { echo "$DIR/e/docker.sock"; }

start_engine() {
    # Unix socket paths are limited to ~100 bytes: keep the engine dir short.
    local d="$DIR/e"
    mkdir -p "$d"
    if pid_alive "$d/dockerd.pid"; then log "engine already running"; return 0; fi
    log "starting private dockerd at unix://$d/docker.sock"
    # --bridge=none and no iptables: nothing of this engine reaches outside the machine.
    setsid dockerd --data-root "$d/data" --exec-root "$d/x" -H "unix://$d/docker.sock" \
        --pidfile "$d/dockerd.pid" --bridge=none --iptables=false --ip6tables=false \
        --ip-forward=false --ip-masq=false >"$d/dockerd.log" 2>&1 &
    wait_for "dockerd" 60 env DOCKER_HOST="unix://$d/docker.sock" docker version
}

stop_engine() {
    local d="$DIR/e"
    stop_pidfile dockerd "$d/dockerd.pid"
    # A container or build on the host's network leaves dockerd's netns/default mounted after it stops
    # (make test-containers, bench.image): unmount what is below this engine's folder, by path, nothing else.
    local mount
    for mount in $(awk -v dir="$d/" 'index($2, dir) == 1 {print $2}' /proc/mounts); do
        umount "$mount" 2>/dev/null || true
    done
    # dockerd takes its containerd with it; give mounts a moment before removing state.
    if [[ -d "$d" ]]; then
        for _ in $(seq 1 20); do
            rm -rf "$d" 2>/dev/null && break
            sleep 0.5
        done
    fi
}

write_registry_config() {
    local d="$1" port="$2" auth="$3"
    mkdir -p "$d/data"
    {
        echo "version: 0.1"
        echo "log: {level: warn}"
        echo "storage:"
        echo "  filesystem: {rootdirectory: $d/data}"
        echo "  delete: {enabled: true}"
        echo "http: {addr: 127.0.0.1:$port}"
        if [[ "$auth" == yes ]]; then
            echo "auth:"
            echo "  htpasswd: {realm: berth-test, path: $d/htpasswd}"
        fi
    } >"$d/config.yml"
}

start_a_registry() {
    local name="$1" d="$2" port="$3" auth="$4"
    if pid_alive "$d/registry.pid"; then log "$name already running"; return 0; fi
    ensure_port_free "$name" "$port"
    write_registry_config "$d" "$port" "$auth"
    if [[ "$auth" == yes ]]; then
        # The registry only accepts bcrypt entries in its htpasswd file.
        "${BERTH_PYTHON:-python3}" -c 'import sys, bcrypt; print(sys.argv[1] + ":" + bcrypt.hashpw(sys.argv[2].encode(), bcrypt.gensalt(rounds=6)).decode())' \
            "$AUTH_REGISTRY_USER" "$AUTH_REGISTRY_PASSWORD" >"$d/htpasswd"
    fi
    log "starting $name on 127.0.0.1:$port"
    setsid docker-registry serve "$d/config.yml" >"$d/registry.log" 2>&1 &
    echo $! >"$d/registry.pid"
    # /v2/ answers 200, or 401 when auth is on: either means it is serving.
    wait_for "$name" 30 bash -c "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/v2/ | grep -qE '200|401'"
}

start_redis() {
    local d="$DIR/redis"
    mkdir -p "$d"
    if pid_alive "$d/redis.pid"; then log "redis already running"; return 0; fi
    ensure_port_free redis "$REDIS_PORT"
    log "starting redis on 127.0.0.1:$REDIS_PORT"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
        --daemonize yes --pidfile "$d/redis.pid" --dir "$d" --logfile "$d/redis.log"
    wait_for "redis" 20 redis-cli -p "$REDIS_PORT" ping
}

# A private PostgreSQL cluster on a loopback port, trusted for its own superuser `berth` only
# over loopback and its own socket folder. Debian puts the tools outside PATH.
pg_bin() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
    if [[ -n "$dir" ]]; then echo "$dir"; else dirname "$(command -v initdb)"; fi
}

# PostgreSQL refuses to run as root: as root, run its tools as Debian's `postgres` user.
as_pg() {
    if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
    local d="$DIR/pg" bin
    bin="$(pg_bin)"
    if [[ ! -x "$bin/initdb" ]]; then log "PostgreSQL is not installed (apt-get install postgresql)"; return 1; fi
    mkdir -p "$d"
    if pid_alive "$d/postgres.pid"; then log "postgres already running"; return 0; fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$POSTGRES_PORT") 2>/dev/null; then
        log "port $POSTGRES_PORT for postgres is already in use; choose another (BERTH_POSTGRES_PORT)"
        return 1
    fi
    [[ "$(id -u)" == 0 ]] && chown postgres: "$d"
    if [[ ! -f "$d/data/PG_VERSION" ]]; then
        as_pg "$bin/initdb" -D "$d/data" -U berth --auth=trust -E UTF8 --locale=C.UTF-8 >"$d/initdb.log" 2>&1
    fi
    log "starting postgres on 127.0.0.1:$POSTGRES_PORT"
    # Test data is disposable: durability off makes the suite's many small commits cheap.
    as_pg "$bin/pg_ctl" -D "$d/data" -l "$d/postgres.log" -w -t 60 start -o \
        "-p $POSTGRES_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$d -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
    head -1 "$d/data/postmaster.pid" >"$d/postgres.pid"
    wait_for postgres 30 as_pg "$bin/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT"
    as_pg "$bin/psql" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U berth -d postgres -c "CREATE DATABASE berth" >/dev/null 2>&1 || true
}

stop_postgres() {
    local d="$DIR/pg"
    if pid_alive "$d/postgres.pid"; then
        # A fast shutdown (it ends open sessions); the pidfile kill below only if that fails.
        as_pg "$(pg_bin)/pg_ctl" -D "$d/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    fi
    stop_pidfile postgres "$d/postgres.pid"
    rm -rf "$d"
}

print_env() {
    echo "export DOCKER_HOST=unix://$(engine_socket)"
    echo "export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
    echo "export BERTH_TEST_REGISTRY=localhost:$REGISTRY_PORT"
    echo "export BERTH_TEST_AUTH_REGISTRY=localhost:$AUTH_REGISTRY_PORT"
    echo "export BERTH_TEST_AUTH_REGISTRY_USER=$AUTH_REGISTRY_USER"
    echo "export BERTH_TEST_AUTH_REGISTRY_PASSWORD=$AUTH_REGISTRY_PASSWORD"
    if [[ -f "$DIR/pg/postgres.pid" ]]; then
        echo "export BERTH_POSTGRES_URL=postgres://berth@127.0.0.1:$POSTGRES_PORT/berth"
    fi
}

main() {
    local action="${1:-}"; shift || true
    mkdir -p "$DIR"
    case "$action" in
        start)
            for s in "$@"; do
                case "$s" in
                    engine) start_engine ;;
                    registry) start_a_registry registry "$DIR/registry" "$REGISTRY_PORT" no ;;
                    authregistry) start_a_registry authregistry "$DIR/authregistry" "$AUTH_REGISTRY_PORT" yes ;;
                    redis) start_redis ;;
                    postgres) start_postgres ;;
                    *) log "unknown service $s"; exit 2 ;;
                esac
            done ;;
        stop)
            [[ "${1:-all}" == all ]] && set -- postgres redis authregistry registry engine
            for s in "$@"; do
                case "$s" in
                    engine) stop_engine ;;
                    registry) stop_pidfile registry "$DIR/registry/registry.pid"; rm -rf "$DIR/registry" ;;
                    authregistry) stop_pidfile authregistry "$DIR/authregistry/registry.pid"; rm -rf "$DIR/authregistry" ;;
                    redis) stop_pidfile redis "$DIR/redis/redis.pid"; rm -rf "$DIR/redis" ;;
                    postgres) stop_postgres ;;
                    *) log "unknown service $s"; exit 2 ;;
                esac
            done ;;
        env) print_env ;;
        *) echo "usage: $0 start|stop SERVICE... | env" >&2; exit 2 ;;
    esac
}

main "$@"
