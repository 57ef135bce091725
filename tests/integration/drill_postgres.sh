#!/usr/bin/env bash
# Restore drills of PostgreSQL backups (issue 11) against a real PostgreSQL 15 server
# (tests/servers/pg.sh): a drill restores the newest backup into a scratch database on the source
# server, checks it (rows per table against the manifest, indexes, amcheck) and drops it; the
# scratch database is gone after a pass, after a failure (counts that disagree: exit 10; damaged
# data: exit 6), after SIGTERM (exit 130, not recorded), and after a SIGKILL mid-drill (the next drill, or `snapkeep run` at start, drops
# it). A database with the prefix but without snapkeep's marker, and a marked one whose drill is
# alive, are never dropped. A missing drill server fails with exit 4 and health says so.
. "$(dirname "$0")/../lib.sh"
clean_env
root=$(cd "$(dirname "$0")/../.." && pwd)
PGS=$root/tests/servers/pg.sh
chmod 755 "$T"
"$PGS" start "$T/pg" >/dev/null || { nok "start PostgreSQL"; done_testing; exit 1; }
trap '"$PGS" stop "$T/pg"; rm -rf "$T"' EXIT
# shellcheck disable=SC1091
. "$T/pg/env"
secret "$(cat "$T/pg/password")"
createdb src && psql -X -q -v ON_ERROR_STOP=1 -d src -c "
  CREATE TABLE t(id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 3000) g;
  CREATE TABLE \"Odd Name\"(a int); INSERT INTO \"Odd Name\" VALUES (1), (2);
  CREATE SCHEMA s2; CREATE TABLE s2.c(x int REFERENCES t(id)); INSERT INTO s2.c VALUES (1), (2), (3);
  CREATE INDEX c_x ON s2.c(x);"
check "fixture loaded" test "$(psql -X -At -d src -c 'SELECT count(*) FROM t')" = 3000
base="postgresql://$PGUSER@127.0.0.1:$PGPORT"
export SNAPKEEP_ENGINE=postgres DATABASE_URL=$base/src SNAPKEEP_DEST_DIR=$T/dest
D=$T/dest/snapshots/default/default
scratch_dbs() { psql -X -At -d postgres -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'snapkeep\_drill\_%'"; }
newest() { ls "$D"/pgsql_src_*.sql.zst | sort | tail -1; }

sk backup-now
check "backup-now exits 0" rc_is 0

# ---- a good backup ---------------------------------------------------------------------------------
sk drill
check "drill: exit 0" rc_is 0
check "... restored into a scratch database, checked and counted" \
  bash -c "grep -q 'restored into scratch database snapkeep_drill_[0-9a-f]*_[0-9a-f]*: 3 tables, 3005 rows, indexes valid, amcheck ok on 2 B-tree index(es); counts match the manifest' '$T/out'"
check "... and dropped it afterwards" bash -c "[ $(scratch_dbs) -eq 0 ] && grep -q 'drill: dropped the scratch database' '$T/err'"
check "... the manifest's counts were the dumper's (quoted names)" python3 -c '
import json,sys; m=json.load(open(sys.argv[1])); assert m["table_rows"]=={"public.t":3000,"public.\"Odd Name\"":2,"s2.c":3}, m["table_rows"]' "$(newest).manifest.json"
check "... the source database is untouched" test "$(psql -X -At -d src -c 'SELECT count(*) FROM t')" = 3000

# ---- counts that disagree ----------------------------------------------------------------------------
python3 - "$(newest).manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["table_rows"]['public."Odd Name"'] = 7; json.dump(m, open(sys.argv[1], "w"), indent=2)
PY
sk drill
check "a manifest whose counts disagree with the restored rows: exit 10" rc_is 10
check "... naming the table and both counts" err_has 'table public."Odd Name" has 2 after the restore, the manifest says 7'
check "... the scratch database is dropped after the failure too" test "$(scratch_dbs)" -eq 0
sk health
check "... health warns that the drill failed" bash -c "[ $rc -eq 0 ] && grep -q '^warn .*restore drill .*FAILED' '$T/out'"

# ---- damaged data ---------------------------------------------------------------------------------------
sk backup-now
python3 - "$(newest)" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) * 2 // 3] ^= 0x01; open(p, "wb").write(bytes(b))
PY
sk drill
check "a backup whose data was damaged: exit 6" rc_is 6
check "... the scratch database (created before the download) is dropped" \
  bash -c "[ $(scratch_dbs) -eq 0 ] && grep -q 'drill: dropped the scratch database' '$T/err'"
rm -f "$(newest)" "$(newest).md5" "$(newest).manifest.json"
sk backup-now
sk drill
check "a new good backup: the drill passes" rc_is 0

# ---- SIGKILL mid-drill --------------------------------------------------------------------------------
SNAPKEEP_DEBUG_DRILL_PAUSE=true "$SK_BIN" drill >/dev/null 2>"$T/paused.log" & dpid=$!
for _ in $(seq 200); do grep -q 'pausing with the drill' "$T/paused.log" && break; sleep 0.05; done
check "a paused drill: its scratch database exists, marked" \
  test "$(psql -X -At -d postgres -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'snapkeep\_drill\_%' AND shobj_description(oid, 'pg_database') LIKE 'snapkeep restore drill scratch database; lock % in src; job default_default_postgres_src-%'")" = 1
# a foreign database that only looks like a scratch database, and one snapkeep marked but whose
# lock is held (a live drill elsewhere) are never dropped
psql -X -q -d postgres -c 'CREATE DATABASE snapkeep_drill_00000001_lookalike'
SNAPKEEP_SERVICE=other sk drill
check "while the drill is stopped (alive), another job's drill on the same server sweeps but leaves both alone" \
  bash -c "[ $rc -eq 7 ] && [ $(scratch_dbs) -eq 2 ]"
kill -KILL $dpid; wait $dpid 2>/dev/null
check "SIGKILL leaves the scratch database behind" test "$(scratch_dbs)" -eq 2
sk drill
check "the next drill drops it (and only it) and passes" \
  bash -c "[ $rc -eq 0 ] && grep -q 'dropped the scratch database snapkeep_drill_.* of an interrupted drill' '$T/err' && [ $(scratch_dbs) -eq 1 ] && [ \"\$(psql -X -At -d postgres -c \"SELECT datname FROM pg_database WHERE datname LIKE 'snapkeep%'\")\" = snapkeep_drill_00000001_lookalike ]"
# a kill of `snapkeep run` mid-drill: the next run cleans up at start
SNAPKEEP_DEBUG_DRILL_PAUSE=true "$SK_BIN" drill >/dev/null 2>"$T/paused2.log" & dpid=$!
for _ in $(seq 200); do grep -q 'pausing with the drill' "$T/paused2.log" && break; sleep 0.05; done
kill -KILL $dpid; wait $dpid 2>/dev/null
check "another killed drill leaves its database" test "$(scratch_dbs)" -eq 2
SNAPKEEP_SCHEDULE="0 0 1 1 *" SNAPKEEP_DRILL_SCHEDULE="0 0 1 1 *" "$SK_BIN" run 2>"$T/run.log" & agent=$!
for _ in $(seq 200); do grep -q 'agent started' "$T/run.log" && break; sleep 0.05; done
kill -TERM $agent; wait $agent
check "snapkeep run with a drill schedule drops it at start" \
  bash -c "grep -q 'of an interrupted drill' '$T/run.log' && [ $(scratch_dbs) -eq 1 ]"
psql -X -q -d postgres -c 'DROP DATABASE snapkeep_drill_00000001_lookalike'

# ---- SIGTERM mid-drill ------------------------------------------------------------------------------------
cp "$T"/state/default_default_postgres_src-*.drill.json "$T/drill-before.json"
SNAPKEEP_DEBUG_DRILL_PAUSE=true "$SK_BIN" drill >/dev/null 2>"$T/term.log" & dpid=$!
for _ in $(seq 200); do grep -q 'pausing with the drill' "$T/term.log" && break; sleep 0.05; done
kill -TERM $dpid; kill -CONT $dpid; wait $dpid; rc=$?
check "SIGTERM mid-drill: exit 130, the scratch database dropped on the way out" \
  bash -c "[ $rc -eq 130 ] && grep -q 'drill: dropped the scratch database' '$T/term.log' && [ $(scratch_dbs) -eq 0 ]"
check "... and the interrupted drill is not recorded as a failure" cmp -s "$T/drill-before.json" "$(ls "$T"/state/default_default_postgres_src-*.drill.json)"

# ---- a drill server that is not there -------------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
secret drill-secret
SNAPKEEP_DRILL_PG_URL="postgresql://$PGUSER:drill-secret@127.0.0.1:$port/postgres" sk drill
check "a missing drill server: exit 4, naming it" bash -c "[ $rc -eq 4 ] && grep -q 'cannot connect to the drill server' '$T/err'"
check "... without showing its password" bash -c "! grep -q 'drill-secret' '$T/err' '$T'/state/*.drill.json"
SNAPKEEP_DRILL_HEALTH=fail sk health
check "... health fails with SNAPKEEP_DRILL_HEALTH=fail" bash -c "[ $rc -eq 1 ] && grep -q '^fail .*restore drill .*FAILED.*drill server' '$T/out'"
SNAPKEEP_DRILL_PG_URL="$base/postgres" sk drill
check "SNAPKEEP_DRILL_PG_URL naming a reachable server (password from PGPASSFILE): the drill passes there" \
  bash -c "[ $rc -eq 0 ] && [ $(scratch_dbs) -eq 0 ]"

# ---- the dumper's fixture: partitions, subscriptions, extensions, large objects ----------------------------
# (a restored subscription, created with connect = false, kept DROP DATABASE from working; amcheck
# refused a partitioned B-tree index)
createdb fx && psql -X -q -v ON_ERROR_STOP=1 -d fx -f "$root/tests/fixtures/postgres/fixture.sql" >/dev/null 2>&1
DATABASE_URL=$base/fx sk backup-now
DATABASE_URL=$base/fx sk drill
check "the fixture database: its drill passes, counts match, amcheck ran" \
  bash -c "[ $rc -eq 0 ] && grep -q 'restored into scratch database .*: 23 tables, .* rows, indexes valid, amcheck ok on [0-9]* B-tree index(es); counts match the manifest' '$T/out'"
check "... and its scratch database is dropped, with the subscription the restore created in it" \
  bash -c "[ $(scratch_dbs) -eq 0 ] && [ \"\$(psql -X -At -d postgres -c 'SELECT count(*) FROM pg_subscription')\" = 1 ]"

# ---- the roles script (SNAPKEEP_PG_GLOBALS): parsed, never executed -----------------------------------------
SNAPKEEP_PG_GLOBALS=true sk backup-now
SNAPKEEP_PG_GLOBALS=true sk drill
check "with SNAPKEEP_PG_GLOBALS, drill covers both jobs: the database restored, the roles script only parsed" \
  bash -c "[ $rc -eq 0 ] && grep -q '^ok .*pgsql_src_.*restored into scratch database' '$T/out' && grep -q '^ok .*pgsql_globals_.*complete; .*NOT restored: a roles script would change the server' '$T/out' && [ $(scratch_dbs) -eq 0 ]"

done_testing
