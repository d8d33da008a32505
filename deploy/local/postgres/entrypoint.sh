#!/bin/sh
# First start: create the cluster in the (empty) volume with the user, password file and database the
# environment names, as the official image does; then run the server in the foreground.
set -eu
if [ "${1:-postgres}" != postgres ]; then exec "$@"; fi
[ "$#" -gt 0 ] && shift
user="${POSTGRES_USER:-postgres}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    password_file="${POSTGRES_PASSWORD_FILE:-}"
    if [ -z "$password_file" ]; then
        echo "set POSTGRES_PASSWORD_FILE (a file holding the database password)" >&2
        exit 1
    fi
    initdb -D "$PGDATA" -U "$user" --pwfile="$password_file" -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    database="${POSTGRES_DB:-$user}"
    if [ "$database" != postgres ]; then
        postgres -D "$PGDATA" -c listen_addresses= -c unix_socket_directories=/run/postgresql >/dev/null 2>&1 &
        until pg_isready -q -h /run/postgresql -U "$user" -d postgres; do sleep 0.2; done
        psql -q -h /run/postgresql -U "$user" -d postgres -c "CREATE DATABASE \"$database\""
        pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    fi
fi
# Later -c options win: the command's own (port, listen_addresses) override these defaults.
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/run/postgresql "$@"
