#!/usr/bin/env bash
# Guards on every new backup (issue 11), with real SQLite files and a real PostgreSQL 15 server
# (tests/servers/pg.sh): an emptied table, a dropped table, an emptied database and a large drop in
# rows are each flagged; the suspect backup is stored and marked in its manifest, `list`, `status`,
# /metrics and a `suspect` webhook; SNAPKEEP_GUARD_FAIL=true makes the run exit 9; normal changes
# are not flagged; retention with keep-min keeps the older good backups.
. "$(dirname "$0")/../lib.sh"
clean_env
root=$(cd "$(dirname "$0")/../.." && pwd)
tools=$root/tests/tools
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"   # libfaketime is preloaded below
export SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=$T/app.db SNAPKEEP_DEST_DIR=$T/dest SNAPKEEP_SERVICE=g
D=$T/dest/snapshots/g/default
newest_manifest() { ls "$D"/*.manifest.json | sort | tail -1; }
mf() { python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$(newest_manifest)" "$1"; }
export -f newest_manifest mf; export D   # used inside `bash -c` checks
chmod 755 "$T"                            # pg.sh's server runs as postgres under $T

python3 "$tools/webhook_receiver.py" "$T/hooks" >"$T/port" & hookpid=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
export SNAPKEEP_WEBHOOK_URL="http://127.0.0.1:$(cat "$T/port")/hook"

sqlite3 "$T/app.db" "CREATE TABLE t(x); CREATE TABLE u(y);
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<1000) INSERT INTO t SELECT i FROM n;
  INSERT INTO u VALUES (1), (2), (3);"

# ---- SQLite ------------------------------------------------------------------------------------
sk backup-now
check "sqlite: first backup exits 0, not suspect" bash -c "[ $rc -eq 0 ] && [ \"\$(cd '$D' && ls *.manifest.json | wc -l)\" = 1 ]"
check "sqlite: the manifest records the rows per table" test "$(mf 'm["table_rows"]["t"], m["table_rows"]["u"], m["rows"], m["suspect"]')" = "(1000, 3, 1003, False)"
sqlite3 "$T/app.db" "INSERT INTO t VALUES (1001);"
sk backup-now
check "sqlite: a normal change is not flagged" bash -c "[ $rc -eq 0 ] && ! grep -q SUSPECT '$T/err'"

sqlite3 "$T/app.db" "DELETE FROM u;"
sk backup-now
check "sqlite: an emptied table: exit 0 (stored) with a warning" bash -c "[ $rc -eq 0 ] && grep -q 'SUSPECT' '$T/err'"
check "sqlite: ... the manifest says suspect, naming the table" bash -c "[ \"\$(mf 'm[\"suspect\"]')\" = True ] && mf 'm[\"suspect_reasons\"]' | grep -q 'table u was emptied'"
sk list
check "sqlite: ... list marks it SUSPECT, the earlier ones not" \
  bash -c "[ \$(grep -c SUSPECT '$T/out') -eq 1 ] && sed -n 2p '$T/out' | grep -q 'SUSPECT: table u was emptied'"
sk list --json
check "sqlite: ... list --json has suspect and reasons" python3 -c '
import json,sys; l=json.load(open(sys.argv[1]))
assert l[0]["suspect"] is True and "u was emptied" in l[0]["suspect_reasons"] and l[1]["suspect"] is False, l' "$T/out"
sk status
check "sqlite: ... status shows it" grep -q 'last backup SUSPECT.*table u was emptied' "$T/out"
check "sqlite: ... a 'suspect' webhook with the reasons" python3 -c '
import json,sys; b=[json.loads(l) for l in open(sys.argv[1])]
s=[x for x in b if x["event"]=="suspect"]; assert len(s)==1 and "u was emptied" in s[0]["reasons"] and s[0]["key"], b' "$T/hooks"
# /metrics of `snapkeep run` (no backup is due: the schedule is a year away)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SNAPKEEP_SCHEDULE="0 0 1 1 *" SNAPKEEP_HTTP_LISTEN=127.0.0.1:$port "$SK_BIN" run 2>"$T/run.log" & agent=$!
for _ in $(seq 100); do curl -s "http://127.0.0.1:$port/metrics" >"$T/metrics" 2>/dev/null && [ -s "$T/metrics" ] && break; sleep 0.1; done
kill -TERM $agent; wait $agent
check "sqlite: ... /metrics has snapkeep_last_backup_suspect 1 and snapkeep_suspect_total 1" \
  bash -c "grep -q '^snapkeep_last_backup_suspect{job=\"g_default_sqlite_app-[0-9a-f]*\"} 1$' '$T/metrics' && grep -q '^snapkeep_suspect_total{job=.*} 1$' '$T/metrics'"

sqlite3 "$T/app.db" "INSERT INTO u VALUES (1), (2), (3);"
sk backup-now
check "sqlite: the rows are back: not flagged (compared with the last good backup)" bash -c "[ $rc -eq 0 ] && ! grep -q SUSPECT '$T/err'"
sk status
check "sqlite: ... and status no longer says suspect" bash -c "! grep -q 'last backup SUSPECT' '$T/out'"

sqlite3 "$T/app.db" "DROP TABLE u;"
sk backup-now
check "sqlite: a dropped table is flagged" bash -c "[ $rc -eq 0 ] && mf 'm[\"suspect_reasons\"]' | grep -q 'table u disappeared (it had 3 rows)'"
SNAPKEEP_GUARD_FAIL=true sk backup-now
check "sqlite: with SNAPKEEP_GUARD_FAIL=true a suspect backup exits 9" rc_is 9
check "sqlite: ... says why" err_has "suspect (SNAPKEEP_GUARD_FAIL): table u disappeared"
check "sqlite: ... and it is stored and marked all the same" bash -c "[ \"\$(mf 'm[\"suspect\"]')\" = True ] && [ \$(ls '$D' | grep -c '\.zst$') -eq 6 ]"
check "sqlite: ... the webhook got suspect and failure (exit 9)" python3 -c '
import json,sys; b=[json.loads(l) for l in open(sys.argv[1])]
assert [x["event"] for x in b[-2:]]==["suspect","failure"] and b[-1]["exit_code"]==9, b[-2:]' "$T/hooks"
SNAPKEEP_GUARD=false sk backup-now
check "sqlite: SNAPKEEP_GUARD=false: not flagged" bash -c "[ $rc -eq 0 ] && [ \"\$(mf 'm[\"suspect\"]')\" = False ]"

sqlite3 "$T/app.db" "DELETE FROM t WHERE x > 300;"
sk backup-now
check "sqlite: total rows dropping by more than SNAPKEEP_GUARD_MAX_DROP (50%) is flagged" \
  bash -c "[ $rc -eq 0 ] && mf 'm[\"suspect_reasons\"]' | grep -q 'total rows dropped from 1001 to 300'"
SNAPKEEP_GUARD_MAX_DROP=80 sk backup-now
check "sqlite: ... not with SNAPKEEP_GUARD_MAX_DROP=80" bash -c "[ $rc -eq 0 ] && [ \"\$(mf 'm[\"suspect\"]')\" = False ]"
sqlite3 "$T/app.db" "DELETE FROM t;"
SNAPKEEP_GUARD_FAIL=true sk backup-now
check "sqlite: an emptied database is flagged, exit 9 with the fail setting" \
  bash -c "[ $rc -eq 9 ] && mf 'm[\"suspect_reasons\"]' | grep -q 'empty: no rows in any of its 1 table'"
sqlite3 "$T/app.db" "DROP TABLE t;"
sk backup-now
check "sqlite: a database without tables is flagged" bash -c "mf 'm[\"suspect_reasons\"]' | grep -q 'empty: no user tables'"
kill $hookpid
unset SNAPKEEP_WEBHOOK_URL

# ---- retention: suspect backups never count towards keep-min -------------------------------------
R=$T/dest/snapshots/r/default
sqlite3 "$T/r.db" "CREATE TABLE t(x); INSERT INTO t VALUES (1), (2);"
RT=(env SNAPKEEP_SERVICE=r SNAPKEEP_SQLITE_PATH=$T/r.db)
"${RT[@]}" faketime -f '-3d' "$SK_BIN" backup-now 2>>"$T/all-stderr"
"${RT[@]}" faketime -f '-2d' "$SK_BIN" backup-now 2>>"$T/all-stderr"
good=$(cd "$R" && ls *.zst | sort | tr '\n' ' ')
check "retention: two good backups, 2 and 3 days old" test "$(echo $good | wc -w)" = 2
sqlite3 "$T/r.db" "DELETE FROM t;"
for i in 1 2 3; do "${RT[@]}" "$SK_BIN" backup-now 2>>"$T/all-stderr"; done
check "retention: three suspect backups now" test "$(cat "$R"/*.manifest.json | grep -c '"suspect": true')" = 3
"${RT[@]}" SNAPKEEP_RETENTION_DAYS=1 SNAPKEEP_KEEP_MIN=2 "$SK_BIN" prune >"$T/out" 2>"$T/err"; rc=$?
check "retention: prune (1 day, keep-min 2) exits 0" rc_is 0
check "retention: the two older good backups are kept as keep-min" \
  bash -c "for k in $good; do grep -q \"^keep   .*\$k (among the newest SNAPKEEP_KEEP_MIN\" '$T/out' || exit 1; test -f '$R'/\$k || exit 1; done"
check "retention: all five backups are still there" test "$(ls "$R" | grep -c '\.zst$')" = 5
"${RT[@]}" SNAPKEEP_RETENTION_DAYS=1 SNAPKEEP_KEEP_MIN=1 "$SK_BIN" prune >"$T/out" 2>"$T/err"
check "retention: with keep-min 1 only the older of the good ones goes" \
  bash -c "[ \$(ls '$R' | grep -c '\.zst$') = 4 ] && [ ! -e '$R/$(echo $good | cut -d' ' -f1)' ] && [ -e '$R/$(echo $good | cut -d' ' -f2)' ]"

# ---- PostgreSQL 15 -------------------------------------------------------------------------------
"$root/tests/servers/pg.sh" start "$T/pg" >/dev/null || { nok "start PostgreSQL"; done_testing; exit 1; }
trap '"$root/tests/servers/pg.sh" stop "$T/pg"; rm -rf "$T"' EXIT
# shellcheck disable=SC1091
. "$T/pg/env"
secret "$(cat "$T/pg/password")"
createdb gsrc
psql -X -q -v ON_ERROR_STOP=1 -d gsrc -c "CREATE TABLE a(i int); INSERT INTO a SELECT generate_series(1, 2000);
  CREATE SCHEMA s; CREATE TABLE s.b(t text); INSERT INTO s.b VALUES ('x'), ('y');" >/dev/null
unset SNAPKEEP_SQLITE_PATH
export SNAPKEEP_ENGINE=postgres DATABASE_URL="postgresql://$PGUSER@127.0.0.1:$PGPORT/gsrc" SNAPKEEP_SERVICE=p
export D=$T/dest/snapshots/p/default
sk backup-now
check "pg: first backup exits 0" rc_is 0
check "pg: the manifest has the rows counted from the COPY data" \
  test "$(mf 'm["table_rows"]["public.a"], m["table_rows"]["s.b"], m["rows"], m["suspect"]')" = "(2000, 2, 2002, False)"
psql -X -q -d gsrc -c "INSERT INTO a VALUES (2001);" >/dev/null
sk backup-now
check "pg: a normal change is not flagged" bash -c "[ $rc -eq 0 ] && [ \"\$(mf 'm[\"suspect\"]')\" = False ]"
psql -X -q -d gsrc -c "DELETE FROM s.b;" >/dev/null
sk backup-now
check "pg: an emptied table is flagged" bash -c "[ $rc -eq 0 ] && mf 'm[\"suspect_reasons\"]' | grep -q 'table s.b was emptied (it had 2 rows)'"
psql -X -q -d gsrc -c "DROP TABLE s.b;" >/dev/null
SNAPKEEP_GUARD_FAIL=true sk backup-now
check "pg: a dropped table is flagged; exit 9 with SNAPKEEP_GUARD_FAIL" \
  bash -c "[ $rc -eq 9 ] && mf 'm[\"suspect_reasons\"]' | grep -q 'table s.b disappeared (it had 2 rows)'"
psql -X -q -d gsrc -c "DROP TABLE a;" >/dev/null
sk backup-now
check "pg: an emptied database is flagged" bash -c "[ $rc -eq 0 ] && mf 'm[\"suspect_reasons\"]' | grep -q 'empty: no user tables'"
sk list
check "pg: list marks the three suspect backups" test "$(grep -c SUSPECT "$T/out")" = 3
sk verify latest
check "pg: a suspect backup still verifies (it is stored intact)" rc_is 0
done_testing
