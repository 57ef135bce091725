#!/usr/bin/env bash
# PostgreSQL's own regression database through the postgres engine: load it (Debian's postgresql-15
# source package, src/test/regress, run serially by pg_regress against a server started here), dump
# it with the engine (also with every table read over parallel helper connections: the same bytes),
# restore the script into empty databases with the engine's restore sink (one
# transaction) and with `psql -v ON_ERROR_STOP=1`, then compare:
#   - every table's rows (count + md5 of the sorted rows as jsonb, so column order does not
#     matter), sequences, matviews' populated state: identical but for pg_dump's own limits
#     (a stale matview is refreshed: mvtest_bb);
#   - `pg_dump --schema-only` of source and copy: the number of differing lines is printed and must
#     not exceed SK_PG_REGRESS_MAX_DIFF (default 0: identical).
# Needs the Debian packages postgresql-15, postgresql-server-dev-15 (installed when missing) and the
# source package (fetched with apt-get source into build/pg-regress-src, kept between runs).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$(dirname "$here")")
MAX_DIFF=${SK_PG_REGRESS_MAX_DIFF:-0}
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
finish() { echo "1..$n"; [ "$failed" -eq 0 ]; exit $?; }

W=$(mktemp -d /tmp/sk-pgregress-XXXXXX)
chmod 755 "$W"
# SK_PG_REGRESS_KEEP=1 keeps the work directory (dumps, schema files, logs) for inspection
trap '"$root/tests/servers/pg.sh" stop "$W/pg"; [ -n "${SK_PG_REGRESS_KEEP:-}" ] && echo "# kept $W" || rm -rf "$W"' EXIT

# --- prerequisites: server headers, the source tree, regress.so ---
# the headers and the source must match the installed server; an unpinned install would also
# upgrade the server and libpq under everything else running on the machine
PGVER=$(dpkg-query -W -f='${Version}' postgresql-15 2>/dev/null)
[ -n "$PGVER" ] || { nok "postgresql-15 is installed"; finish; }
if [ "$(dpkg-query -W -f='${Version}' postgresql-server-dev-15 2>/dev/null)" != "$PGVER" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-server-dev-15=$PGVER" >"$W/apt.log" 2>&1 ||
        { nok "install postgresql-server-dev-15"; sed 's/^/# /' "$W/apt.log" | tail -5; finish; }
fi
# The regression suite of the newest 15.x source in bookworm's index: the installed server may be a
# newer point release from bookworm-security, whose source the mirror may not serve (15.20 did
# not); the suite of an older 15.x builds the same kind of regression database.
cache=$root/build/pg-regress-src
src=$(ls -d "$cache"/postgresql-15.*/src/test/regress 2>/dev/null | head -1)
if [ ! -f "$src/parallel_schedule" ]; then
    mkdir -p "$cache/lists/partial"
    # a private sources list and lists directory: the system's apt configuration stays untouched
    printf 'deb-src http://deb.debian.org/debian bookworm main\n' >"$cache/src.list"
    apt=(-o Dir::Etc::SourceList="$cache/src.list" -o Dir::Etc::SourceParts=/dev/null
         -o Dir::State::Lists="$cache/lists")
    (cd "$cache" && apt-get "${apt[@]}" update -qq && apt-get "${apt[@]}" source --download-only -qq postgresql-15 &&
        tar xjf postgresql-15_*.orig.tar.bz2 --wildcards 'postgresql-15.*/src/test/regress') \
        >"$W/src.log" 2>&1 || { nok "fetch the postgresql-15 source package"; sed 's/^/# /' "$W/src.log" | tail -5; finish; }
    src=$(ls -d "$cache"/postgresql-15.*/src/test/regress | head -1)
fi
mkdir -p "$W/lib" "$W/out"
cc -O1 -fPIC -shared -I/usr/include/postgresql/15/server -I/usr/include/postgresql/internal \
    "$src/regress.c" -o "$W/lib/regress.so" 2>"$W/cc.log" || { nok "build regress.so"; finish; }
ln -s /usr/lib/postgresql/15/lib/autoinc.so /usr/lib/postgresql/15/lib/refint.so "$W/lib/"
make -s -C "$root" all >/dev/null 2>&1 || { nok "build libsnapkeep"; finish; }
cc -std=c11 -D_GNU_SOURCE -O2 -I/usr/include/postgresql "$root/bench/postgres_driver.c" \
    "$root/build/release/libsnapkeep.a" $(make -s -C "$root" print-libs) -o "$W/driver" || { nok "build the driver"; finish; }

# --- server and regression database ---
"$root/tests/servers/pg.sh" start "$W/pg" || { nok "start PostgreSQL"; finish; }
# shellcheck disable=SC1091
. "$W/pg/env"
createdb regression
t0=$SECONDS
(cd "$src" && PGTZ=PST8PDT PGDATESTYLE='Postgres, MDY' /usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress \
    --use-existing --host="$PGHOST" --port="$PGPORT" --user="$PGUSER" --dbname=regression --inputdir=. \
    --outputdir="$W/out" --bindir=/usr/lib/postgresql/15/bin --dlpath="$W/lib" --schedule=parallel_schedule \
    --max-connections=1 >"$W/regress.log" 2>&1)
tables=$(psql -X -At -d regression -c "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND oid >= 16384")
if [ "$tables" -gt 400 ]; then ok "regression database loaded serially ($tables tables, $((SECONDS - t0)) s)"
else nok "regression database loaded ($tables tables)"; fi

# --- dump, restores ---
if out=$(PGDATABASE=regression "$W/driver" dump "$W/reg.sql" 2>&1); then ok "dump: $out"
else nok "dump"; echo "# $out"; finish; fi
# every table of a block or more read over 2 helper connections in 2-block TID ranges (the
# snapshot-sharing parallel COPY, engines/postgres/pg_parallel.h): the same script, byte for byte
if out=$(PGDATABASE=regression SK_PG_DRIVER_PARALLEL="2 1 2" "$W/driver" dump "$W/reg-par.sql" 2>&1) &&
    cmp -s "$W/reg.sql" "$W/reg-par.sql" && ptables=$(echo "$out" | sed -n 's/.*parallel_tables=\([0-9]*\).*/\1/p') &&
    [ "${ptables:-0}" -gt 100 ]; then
    ok "dump with every table over 2 helper connections ($ptables tables) is byte for byte the same"
else nok "dump over helper connections differs or fails"; echo "# $out"; cmp "$W/reg.sql" "$W/reg-par.sql" | sed 's/^/# /'; fi
createdb reg_sink
if out=$("$W/driver" restore dbname=reg_sink "$W/reg.sql" 2>&1); then ok "restore through the sink, one transaction"
else nok "restore through the sink"; echo "# $out"; fi
createdb reg_psql
if psql -X -q -v ON_ERROR_STOP=1 -d reg_psql -f "$W/reg.sql" >"$W/psql.log" 2>&1; then ok "restore with psql -v ON_ERROR_STOP=1"
else nok "restore with psql"; grep ERROR "$W/psql.log" | head -5 | sed 's/^/# /'; fi

# --- comparisons ---
digest() { # one line per table / matview / sequence
    psql -X -At -d "$1" -c "SELECT CASE c.relkind
        WHEN 'S' THEN format('SELECT %L, last_value, is_called FROM %s;', c.oid::regclass::text, c.oid::regclass)
        WHEN 'm' THEN CASE WHEN c.relispopulated THEN format('SELECT %L, count(*), md5(coalesce(string_agg(to_jsonb(x)::text, E''\\n'' ORDER BY to_jsonb(x)::text), '''')) FROM %s x;', c.oid::regclass::text, c.oid::regclass)
                      ELSE format('SELECT %L, ''not populated'';', c.oid::regclass::text) END
        ELSE format('SELECT %L, count(*), md5(coalesce(string_agg(to_jsonb(x)::text, E''\\n'' ORDER BY to_jsonb(x)::text), '''')) FROM ONLY %s x;', c.oid::regclass::text, c.oid::regclass) END
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname !~ '^pg_toast' ORDER BY 1" | psql -X -At -d "$1" 2>&1
}
schema() { pg_dump --schema-only "$1" | grep -v '^\\\(un\)\?restrict '; }
digest regression >"$W/d-src"
schema regression >"$W/s-src"
for db in reg_sink reg_psql; do
    digest "$db" >"$W/d-$db"
    # pg_dump's own limit: a stale matview is refreshed, so its rows change
    bad=$(diff "$W/d-src" "$W/d-$db" | grep '^[<>]' | grep -v '^[<>] mvtest_bb|' | wc -l)
    rows=$(wc -l <"$W/d-src")
    if [ "$bad" -eq 0 ]; then ok "$db: rows of all $rows tables, matviews and sequences identical"
    else nok "$db: $bad digest lines differ"; diff "$W/d-src" "$W/d-$db" | head -10 | sed 's/^/# /'; fi
    schema "$db" >"$W/s-$db"
    lines=$(diff "$W/s-src" "$W/s-$db" | grep -c '^[<>]')
    kinds=$(diff "$W/s-src" "$W/s-$db" | grep '^[<>] -- Name' | sed 's/.*; Type: \([^;]*\);.*/\1/' | sort | uniq -c |
            awk '{$1=$1; printf "%s%s", sep, $0; sep=", "}')
    if [ "$lines" -le "$MAX_DIFF" ]; then ok "$db: pg_dump --schema-only differs in $lines lines (at most $MAX_DIFF; entries: $kinds)"
    else nok "$db: pg_dump --schema-only differs in $lines lines, more than $MAX_DIFF (entries: $kinds)"; diff "$W/s-src" "$W/s-$db" | head -40 | sed 's/^/# /'; fi
done
finish
