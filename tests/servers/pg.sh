#!/usr/bin/env bash
# pg.sh: a throw-away PostgreSQL 15 server for tests, everything under one directory.
#
#   tests/servers/pg.sh start DIR   initdb + start on 127.0.0.1:<free port>; prints nothing else
#   tests/servers/pg.sh stop DIR    stop the server (fast shutdown); DIR is left for the caller
#   tests/servers/pg.sh resume DIR  start a stopped server of DIR again, on the same port
#   tests/servers/pg.sh env DIR     print the environment file's path
#
# After `start`, DIR/env holds `export` lines for PGHOST, PGPORT, PGUSER, PGDATABASE and
# PGPASSFILE (never the password itself). The test role `sk_test` is a superuser with a random
# password, stored only in DIR/password and DIR/pgpass (mode 0600). Source DIR/env in the test.
#
# The server runs as the `postgres` system user (postgres refuses to run as root); DIR/data and
# DIR/sock belong to it. Local socket access stays `peer` for the postgres user (setup only);
# TCP on 127.0.0.1 requires the password (scram-sha-256).
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
ROLE=sk_test

die() { echo "pg.sh: $*" >&2; exit 1; }

ensure_installed() {
    [ -x "$PGBIN/postgres" ] && command -v psql >/dev/null && return 0
    echo "pg.sh: installing postgresql-15" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-client-15 >&2
    [ -x "$PGBIN/postgres" ] || die "postgresql-15 is not installed at $PGBIN after apt-get"
}

as_pg() { runuser -u postgres -- "$@"; }

port_free() { ! (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

pg_start() { # DIR PORT
    as_pg "$PGBIN/pg_ctl" -D "$1/data" -l "$1/sock/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $2 -c unix_socket_directories=$1/sock -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=50" \
        start >/dev/null
}

start() {
    local dir=$1
    ensure_installed
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ -e "$dir/data" ] && die "$dir/data exists; use a fresh directory"
    chmod 755 "$dir"
    as_pg test -x "$dir" || die "$dir is not reachable by the postgres user; make its parent directories searchable (chmod 755 the mktemp directory)"
    install -d -o postgres -g postgres -m 700 "$dir/data"
    install -d -o postgres -g postgres -m 755 "$dir/sock"
    umask 022

    # The password never reaches a command line: generated into a 0600 file, read by initdb
    # through --pwfile (a path), and by clients through PGPASSFILE.
    umask 077
    head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$dir/password"
    local pwtmp="$dir/sock/.pw"
    install -o postgres -g postgres -m 600 "$dir/password" "$pwtmp"
    as_pg "$PGBIN/initdb" -D "$dir/data" -U "$ROLE" --pwfile="$pwtmp" -A scram-sha-256 \
        --auth-local=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { rm -f "$pwtmp"; cat "$dir/initdb.log" >&2; die "initdb failed"; }
    rm -f "$pwtmp"

    local port tries=0
    while :; do
        port=$((20000 + RANDOM % 30000))
        if port_free "$port"; then
            if pg_start "$dir" "$port"; then
                break
            fi
        fi
        tries=$((tries + 1))
        [ $tries -lt 5 ] || { tail -20 "$dir/sock/server.log" >&2; die "server did not start"; }
    done
    echo "$port" >"$dir/port"
    printf '127.0.0.1:%s:*:%s:%s\n' "$port" "$ROLE" "$(cat "$dir/password")" >"$dir/pgpass"
    chmod 600 "$dir/pgpass"
    cat >"$dir/env" <<EOF
export PGHOST=127.0.0.1
export PGPORT=$port
export PGUSER=$ROLE
export PGDATABASE=postgres
export PGPASSFILE=$dir/pgpass
unset PGPASSWORD
EOF
}

stop() {
    local dir=$1
    [ -d "$dir/data" ] || return 0
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
start) [ $# -eq 2 ] || die "usage: pg.sh start DIR"; start "$2" ;;
stop) [ $# -eq 2 ] || die "usage: pg.sh stop DIR"; stop "$2" ;;
resume) [ $# -eq 2 ] && [ -f "$2/port" ] || die "usage: pg.sh resume DIR (of a server started before)"
    pg_start "$(cd "$2" && pwd)" "$(cat "$2/port")" ;;
env) [ $# -eq 2 ] || die "usage: pg.sh env DIR"; echo "$2/env" ;;
*) die "usage: pg.sh start|stop|resume|env DIR" ;;
esac
