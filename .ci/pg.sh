#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (Debian's package; .ci/deps.sh installs it).
#   .ci/pg.sh start DIR   initdb + pg_ctl under DIR (a fresh temp dir), listening on loopback
#                         and a unix socket in DIR; prints the superuser URL on stdout. With
#                         PG_TLS_DIR set (certs/make-dev-certs.sh's output), it also serves TLS
#                         with PG_TLS_DIR/server.{pem,key}.
#   .ci/pg.sh stop DIR    stops it (immediate shutdown) and removes DIR.
#   .ci/pg.sh pause DIR   stops the server (fast shutdown), keeping DIR: the database is gone.
#   .ci/pg.sh resume DIR  starts it again on the same port.
#   .ci/pg.sh watch DIR   waits until its stdin closes (the process that started it is gone),
#                         then stops it: how a test process cleans up after itself.
# Run as root, the cluster belongs to the `postgres` user (initdb refuses root).
set -euo pipefail
cmd="${1:?start|stop}"; dir="${2:?directory}"
bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -x "$bindir/initdb" ] || { echo "PostgreSQL server binaries not found (bash .ci/deps.sh --tests installs them)" >&2; exit 1; }
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U tessera -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    printf "port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nmax_connections = 300\n" \
        "$port" "$dir" >>"$dir/data/postgresql.conf"
    if [ -n "${PG_TLS_DIR:-}" ]; then
        install -m 600 "$PG_TLS_DIR/server.pem" "$dir/data/server.crt"
        install -m 600 "$PG_TLS_DIR/server.key" "$dir/data/server.key"
        [ "$(id -u)" = 0 ] && chown postgres "$dir/data/server.crt" "$dir/data/server.key"
        printf "ssl = on\n" >>"$dir/data/postgresql.conf"
    fi
    bash "$0" resume "$dir"
    echo "postgres://tessera@127.0.0.1:$port/postgres?sslmode=disable"
    ;;
resume)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null \
        || { cat "$dir/postgres.log" >&2; exit 1; }
    ;;
pause)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
stop)
    [ -d "$dir/data" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
watch)
    cat >/dev/null || true
    exec bash "$0" stop "$dir"
    ;;
*) echo "usage: $0 start|stop|pause|resume|watch DIR" >&2; exit 2 ;;
esac
