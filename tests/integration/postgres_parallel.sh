#!/usr/bin/env bash
# Parallel COPY of large tables (engines/postgres/pg_parallel.h) against a real PostgreSQL 15:
# a table of about 14 MiB (deleted rows, updated rows moved to other blocks, a 1.5 MiB TOASTed value
# larger than a helper's chunk) is read over helper connections on the dump's exported snapshot;
# the script is byte for byte the one a single connection writes (SNAPKEEP_PG_PARALLEL=0), and
# while pgbench moves money between rows and moves rows between blocks during the backup, the
# restored copy still holds every account once and the same total (one snapshot for all helpers).
. "$(dirname "$0")/../lib.sh"
clean_env
root=$(cd "$(dirname "$0")/../.." && pwd)
chmod 755 "$T"
"$root/tests/servers/pg.sh" start "$T/pg" >/dev/null || { nok "start PostgreSQL"; done_testing; exit 1; }
trap '"$root/tests/servers/pg.sh" stop "$T/pg"; rm -rf "$T"' EXIT
# shellcheck disable=SC1091
. "$T/pg/env"
createdb src
psql -X -q -v ON_ERROR_STOP=1 -d src <<'SQL' >/dev/null
SELECT setseed(0.13);
CREATE TABLE big (id int PRIMARY KEY, bal numeric(12,2) NOT NULL, at timestamptz, note text, doc jsonb);
INSERT INTO big SELECT g, 1000, timestamptz '2024-01-01' + g * interval '1 minute', repeat(md5(g::text), 1 + g % 3),
  jsonb_build_object('g', g, 'tag', md5((g * 7)::text)) FROM generate_series(1, 80000) g;
DELETE FROM big WHERE id % 97 = 0;
UPDATE big SET note = note || ' moved' WHERE id % 101 = 0;
INSERT INTO big SELECT 200000, 1000, now(), string_agg(md5(random()::text), '') , '{}' FROM generate_series(1, 50000);
CREATE TABLE small (k text PRIMARY KEY, v int);
INSERT INTO small SELECT 'k' || g, g FROM generate_series(1, 100) g;
VACUUM ANALYZE;
SQL
blocks=$(psql -X -At -d src -c "SELECT pg_relation_size('big') / 8192")
check "the large table spans more than the 1024 blocks that make it parallel ($blocks)" test "$blocks" -gt 1024

url="postgresql://$PGUSER@127.0.0.1:$PGPORT"
export SNAPKEEP_ENGINE=postgres SNAPKEEP_SERVICE=par SNAPKEEP_ENVIRONMENT=test SNAPKEEP_LOG_LEVEL=debug \
       DATABASE_URL=$url/src
digest() {
    psql -X -At -d "$1" -c "SELECT 'big', count(*), md5(string_agg(b::text, '|' ORDER BY id)) FROM big b
        UNION ALL SELECT 'small', count(*), md5(string_agg(s::text, '|' ORDER BY k)) FROM small s"
}
plain() { zstd -q -dc "$(find "$1" -name '*.sql.zst' | head -1)"; }

SNAPKEEP_DEST_DIR=$T/serial SNAPKEEP_PG_PARALLEL=0 sk backup-now
check "a backup over one connection exits 0" rc_is 0
check "... and opens no helper connection" bash -c "! grep -q 'helper connection' '$T/err'"
SNAPKEEP_DEST_DIR=$T/par SNAPKEEP_PG_PARALLEL=2 sk backup-now
check "a backup with 2 helper connections exits 0" rc_is 0
check "... and reads the large table over them" err_has "public.big read in [0-9]* ranges of 512 blocks over 2 helper"
check "the two scripts are identical byte for byte" \
    bash -c "cmp <($(declare -f plain); plain '$T/serial') <($(declare -f plain); plain '$T/par')"
check "... and hold the large table's rows (79176 + 1)" \
    test "$(plain "$T/par" | sed -n '/^COPY public.big /,/^\\\.$/p' | wc -l)" -eq 79179

SNAPKEEP_DEST_DIR=$T/par sk restore latest --to "$url/copy"
check "the parallel backup restores" rc_is 0
check "every table's rows are identical after the restore" test "$(digest src)" = "$(digest copy)"

# writers during the backup: each statement moves 1.00 between two live accounts and rewrites one
# of them with a longer note (its new version lands in another block, often another helper's range)
cat >"$T/move.sql" <<'SQL'
\set a random(1, 80000)
\set b random(1, 80000)
UPDATE big SET bal = bal + CASE WHEN id = :a THEN -1 ELSE 1 END,
  note = CASE WHEN id = :b THEN note || 'x' ELSE note END
  WHERE id IN (:a, :b) AND :a <> :b AND :a % 97 <> 0 AND :b % 97 <> 0;
SQL
total=$(psql -X -At -d src -c "SELECT sum(bal) FROM big")
pgbench -n -c 2 -T 60 -f "$T/move.sql" src >"$T/pgbench.log" 2>&1 &
pgb=$!
sleep 1
ok_runs=0
for i in 1 2 3; do
    rm -rf "$T/live"
    SNAPKEEP_DEST_DIR=$T/live SNAPKEEP_PG_PARALLEL=3 sk backup-now || true
    [ "$rc" -eq 0 ] || { echo "# backup $i exit $rc"; sed 's/^/#   /' "$T/err"; continue; }
    grep -q "public.big read in [0-9]* ranges of 512 blocks over 3 helper" "$T/err" || { echo "# backup $i used no helper connection"; continue; }
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS live$i" >/dev/null
    SNAPKEEP_DEST_DIR=$T/live sk restore latest --to "$url/live$i"
    [ "$rc" -eq 0 ] || { echo "# restore $i exit $rc"; sed 's/^/#   /' "$T/err"; continue; }
    got=$(psql -X -At -d "live$i" -c "SELECT count(*), count(DISTINCT id), sum(bal) FROM big")
    want="79177|79177|$total"
    [ "$got" = "$want" ] && ok_runs=$((ok_runs + 1)) || echo "# run $i: count, distinct ids, total = $got; want $want"
done
kill "$pgb" 2>/dev/null; wait "$pgb" 2>/dev/null
check "pgbench committed moves during the backups" test "$(psql -X -At -d src -c "SELECT count(*) FROM big WHERE note LIKE '%x'")" -gt 0
check "3 backups over 3 helpers each, taken during the writes, restore every account once and the same total" test "$ok_runs" -eq 3

done_testing
