#!/usr/bin/env bash
# Key spaces and local state (issue 10, items 1 2 3 9 10 15), against a local directory, SQLite
# files and a real PostgreSQL 15 server:
#   legacy backups (data + .md5, no manifest) are listed, verified, restored, kept by orphan cleanup
#   and subject to the configured retention only; orphan cleanup deletes only marked objects;
#   two jobs never share a key space, lock, status file or metrics; no name is cut;
#   status does not call a killed backup running; health of a new state directory looks at the
#   destination; stale temp files of this job's killed uploads are removed, and only those.
# Legacy backups are also listed and restored from a real S3 server (Ceph RGW, tests/servers/rgw.sh).
. "$(dirname "$0")/../lib.sh"
clean_env
root=$(cd "$(dirname "$0")/../.." && pwd)
chmod 755 "$T"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"   # libfaketime is preloaded below
export SNAPKEEP_ENGINE=sqlite SNAPKEEP_DEST_DIR=$T/dest SNAPKEEP_SERVICE=app
sqlite3 "$T/app.db" "CREATE TABLE t(x); INSERT INTO t VALUES ('old'), ('rows');"
export SNAPKEEP_SQLITE_PATH=$T/app.db
D=$T/dest/snapshots/app/default
mkdir -p "$D"

# ---- 1. legacy backups of the previous sidecar (SQLite, local directory) ----------------------
legacy=sqlite_app_20261114-000000.sqlite3.zst
sqlite3 "$T/app.db" ".backup '$T/legacy.sqlite3'"
zstd -q -o "$D/$legacy" "$T/legacy.sqlite3"
(cd "$D" && md5sum "$legacy" >"$legacy.md5")
touch -d '20 days ago' "$D/$legacy" "$D/$legacy.md5"
legacy_digest=$(db_digest "$T/legacy.sqlite3")
# an object snapkeep did not write and cannot call a backup: data only, no .md5, no manifest
foreign=sqlite_app_20261101-000000.sqlite3.zst
echo "not ours" >"$D/$foreign"; touch -d '30 days ago' "$D/$foreign"
sqlite3 "$T/app.db" "INSERT INTO t VALUES ('new');"

sk list
check "1: list shows the legacy backup, marked legacy" grep -q "$legacy .*legacy" "$T/out"
check "1: list does not show an object without .md5 and manifest" bash -c "! grep -q '$foreign' '$T/out'"
sk list --json
check "1: list --json marks it legacy: true" python3 -c '
import json,sys; l=json.load(open(sys.argv[1])); e=[x for x in l if x["key"].endswith(sys.argv[2])]
assert len(e)==1 and e[0]["legacy"] is True, l' "$T/out" "$legacy"
SNAPKEEP_RETENTION_DAYS=3650 SNAPKEEP_KEEP_MIN=1 sk backup-now
check "1: backup-now with retention on exits 0" rc_is 0
check "1: ... and the legacy backup and its .md5 survive it (not an orphan)" test -e "$D/$legacy" -a -e "$D/$legacy.md5"
check "1: ... and so does the object snapkeep did not write" test -e "$D/$foreign"
check "1: ... which prune names as never deleted" bash -c "
  SNAPKEEP_RETENTION_DAYS=3650 '$SK_BIN' prune --dry-run 2>/dev/null | grep -q '^keep .*$foreign.*never deleted'"
sk verify "$legacy"
check "1: verify of the legacy backup exits 0, saying it is checked by its .md5 only" \
  bash -c "[ $rc -eq 0 ] && grep -q 'legacy backup' '$T/err' && grep -q 'integrity_check' '$T/out'"
sk restore "$legacy" --to "$T/restored.db"
check "1: restore of the legacy backup exits 0" rc_is 0
check "1: ... and equals the database it was made from" test "$(db_digest "$T/restored.db")" = "$legacy_digest"
cp "$D/$legacy.md5" "$T/md5.bak"
first=$(head -c1 "$D/$legacy.md5"); [ "$first" = 0 ] && swap=1 || swap=0
sed -i "s/^./$swap/" "$D/$legacy.md5"
cp "$T/restored.db" "$T/target.db"
sk restore "$legacy" --to "$T/target.db" --force
check "1: a legacy backup whose .md5 does not match is refused (exit 6)" rc_is 6
check "1: ... and the target is untouched" cmp -s "$T/restored.db" "$T/target.db"
cp "$T/md5.bak" "$D/$legacy.md5"
# an interrupted backup carries snapkeep's pending marker: that, and only that, is an orphan
orphan=sqlite_app_20261120-000000.sqlite3.zst
echo x >"$D/$orphan"; echo '{"tool":"snapkeep"}' >"$D/$orphan.snapkeep-pending"
touch -d '2 hours ago' "$D/$orphan" "$D/$orphan.snapkeep-pending"
SNAPKEEP_RETENTION_DAYS=3650 SNAPKEEP_KEEP_MIN=1 sk prune
check "1: an old orphan with snapkeep's pending marker is cleaned, marker last" \
  test ! -e "$D/$orphan" -a ! -e "$D/$orphan.snapkeep-pending"
SNAPKEEP_RETENTION_DAYS=10 SNAPKEEP_KEEP_MIN=1 sk prune
check "1: the configured retention applies to a legacy backup: 10 days delete the 20-day-old one" \
  bash -c "[ $rc -eq 0 ] && [ ! -e '$D/$legacy' ] && [ ! -e '$D/$legacy.md5' ] && grep -q '$legacy.*legacy backup' '$T/out'"
check "1: ... the snapkeep backup is kept, the unknown object is still untouched" \
  bash -c "ls '$D' | grep -q '\.manifest\.json$' && [ -e '$D/$foreign' ]"
check "1: ... no pending marker is left behind" bash -c "! ls '$D' | grep -q 'snapkeep-pending'"
committed=$(ls "$D" | grep '\.manifest\.json$' | head -1); committed=${committed%.manifest.json}
echo '{"tool":"snapkeep"}' >"$D/$committed.snapkeep-pending"
touch -d '2 hours ago' "$D/$committed" "$D/$committed".*
SNAPKEEP_RETENTION_DAYS=3650 sk prune
check "1: a stale marker beside a committed backup goes, the backup stays" \
  bash -c "[ ! -e '$D/$committed.snapkeep-pending' ] && [ -e '$D/$committed' ] && [ -e '$D/$committed.manifest.json' ]"

# ---- 2. two jobs can never share one identity -----------------------------------------------
mkdir -p "$T/a" "$T/b"; cp "$T/app.db" "$T/a/app.db"; cp "$T/app.db" "$T/b/app.db"
cat >"$T/two.conf" <<CONF
jobs = (
  { name = "first";  engine = "sqlite"; service = "web"; sqlite_path = "$T/a/app.db"; dest_dir = "$T/cdest"; },
  { name = "second"; engine = "sqlite"; service = "web"; sqlite_path = "$T/b/app.db"; dest_dir = "$T/cdest"; }
);
CONF
SNAPKEEP_CONFIG=$T/two.conf sk config check
check "2: two jobs whose SQLite files are both app.db: refused at load (exit 3) naming both jobs" \
  bash -c "[ $rc -eq 3 ] && grep -q \"jobs 'first' and 'second' would share one key space\" '$T/err'"
sed -i "s|dest_dir = \"$T/cdest\"; },\$|dest_dir = \"$T/cdest/.\"; },|" "$T/two.conf"
SNAPKEEP_CONFIG=$T/two.conf sk config check
check "2: ... also when one names the destination as '<dir>/.'" \
  bash -c "[ $rc -eq 3 ] && grep -q 'share one key space' '$T/err'"
long=$(printf 'd%.0s' $(seq 200))
SNAPKEEP_DB_NAME=$long sk backup-now
check "2: a 200-character SNAPKEEP_DB_NAME is refused (exit 3), not cut" \
  bash -c "[ $rc -eq 3 ] && grep -q 'SNAPKEEP_DB_NAME is 200 characters long' '$T/err' && ! ls '$D' | grep -q dddd"
# a job whose directory lies below another's: neither lists the other's backups
SNAPKEEP_PREFIX=p SNAPKEEP_SERVICE=s sk backup-now
SNAPKEEP_PREFIX=p/s/default SNAPKEEP_SERVICE=x sk backup-now
SNAPKEEP_PREFIX=p SNAPKEEP_SERVICE=s sk list
check "2: a job does not list the backups of a job whose keys lie below its directory" \
  test "$(grep -c '\.zst ' "$T/out")" -eq 1

# ---- 3. state names cannot collide --------------------------------------------------------------
SNAPKEEP_SERVICE=a_b SNAPKEEP_ENVIRONMENT=c sk backup-now
check "3: backup of service a_b / environment c exits 0" rc_is 0
SNAPKEEP_SERVICE=a SNAPKEEP_ENVIRONMENT=b_c sk health
check "3: health of service a / environment b_c (no backup ever) fails, exit 1" \
  bash -c "[ $rc -eq 1 ] && grep -q '^fail' '$T/out'"
SNAPKEEP_SERVICE=m SNAPKEEP_DEST_DIR=$T/dest sk backup-now
SNAPKEEP_SERVICE=m SNAPKEEP_DEST_DIR=$T/other-dest sk health
check "3: same service/environment/engine/database, another destination without backups: health fails" \
  bash -c "[ $rc -eq 1 ] && grep -q '^fail' '$T/out'"
check "3: the two destinations' jobs have two status files" \
  test "$(ls "$T/state" | grep -c '^m_default_sqlite_app-[0-9a-f]\{16\}\.status\.json$')" -eq 1 -a \
       "$(ls "$T/state" | grep -c '^a_b_c_sqlite_app-.*\.status\.json$')" -eq 1

cat >"$T/dests.conf" <<CONF
jobs = (
  { name = "near"; engine = "sqlite"; service = "m"; sqlite_path = "$T/app.db"; dest_dir = "$T/dest"; schedule = "0 3 1 1 *"; },
  { name = "far";  engine = "sqlite"; service = "m"; sqlite_path = "$T/app.db"; dest_dir = "$T/other-dest"; schedule = "0 3 1 1 *"; }
);
CONF
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SNAPKEEP_CONFIG=$T/dests.conf SNAPKEEP_HTTP_LISTEN=127.0.0.1:$port "$SK_BIN" run 2>"$T/run.err" & agent=$!
for _ in $(seq 200); do curl -s -o "$T/metrics" "http://127.0.0.1:$port/metrics" && break; sleep 0.05; done
curl -s -o "$T/healthz" "http://127.0.0.1:$port/healthz"
kill -TERM $agent; wait $agent
check "3: /metrics labels the two destinations' jobs differently" \
  test "$(grep '^snapkeep_successes_total{' "$T/metrics" | sort -u | cut -d'"' -f2 | sort -u | wc -l)" -eq 2
check "3: ... and only the job whose destination holds the backup counts it" \
  test "$(grep -c '^snapkeep_successes_total{job="m_default_sqlite_app-[0-9a-f]\{16\}"} 1$' "$T/metrics")" -eq 1

# ---- 9. status of a killed backup --------------------------------------------------------------
SNAPKEEP_SERVICE=k SNAPKEEP_DEBUG_PAUSE_AT=after-data "$SK_BIN" backup-now 2>"$T/k.err" & kpid=$!
for _ in $(seq 200); do [ "$(ps -o stat= -p $kpid 2>/dev/null | cut -c1)" = T ] && break; sleep 0.05; done
SNAPKEEP_SERVICE=k sk status
check "9: status while the backup process lives says it is running" grep -q 'a backup is running' "$T/out"
kill -KILL $kpid; wait $kpid 2>/dev/null
SNAPKEEP_SERVICE=k sk status
check "9: after SIGKILL, status no longer says running, and says it was interrupted" \
  bash -c "! grep -q 'a backup is running' '$T/out' && grep -q 'interrupted' '$T/out'"
SNAPKEEP_SERVICE=k sk status --json
check "9: status --json says running: false, interrupted: true" python3 -c '
import json,sys; s=json.load(open(sys.argv[1]))[0]; assert s["running"] is False and s["interrupted"] is True, s' "$T/out"

# ---- 10. health with a fresh state directory ---------------------------------------------------
mkdir -p "$T/fresh-state"
SNAPKEEP_SERVICE=m SNAPKEEP_STATE_DIR=$T/fresh-state sk health
check "10: health with an empty state directory takes the destination's newest backup: ok, exit 0" \
  bash -c "[ $rc -eq 0 ] && grep -q '^ok .*destination' '$T/out'"
SNAPKEEP_SERVICE=m SNAPKEEP_STATE_DIR=$T/fresh-state SNAPKEEP_HEALTH_WARN_AFTER=1 SNAPKEEP_HEALTH_FAIL_AFTER=2 \
  faketime -f '+3h' "$SK_BIN" health >"$T/out" 2>&1; rc=$?
check "10: ... and that backup ages like a recorded one (3 h later with fail after 2 h: exit 1)" \
  bash -c "[ $rc -eq 1 ] && grep -q '^fail' '$T/out'"
SNAPKEEP_SERVICE=nobackups SNAPKEEP_STATE_DIR=$T/fresh-state sk health
check "10: with no backup in the destination either, health still fails" rc_is 1

# ---- 15. stale temp files of killed uploads ------------------------------------------------------
"$SK_TOOLS/sqlite_load" make "$T/big.db" 12
B=$T/dest/snapshots/t/default
SNAPKEEP_SERVICE=t SNAPKEEP_SQLITE_PATH=$T/big.db SNAPKEEP_COMPRESSION_LEVEL=19 SNAPKEEP_COMPRESSION_THREADS=0 \
  "$SK_BIN" backup-now 2>/dev/null & bpid=$!
for _ in $(seq 400); do ls -A "$B" 2>/dev/null | grep -q '^\.sqlite_big_.*\.tmp-' && break; sleep 0.05; done
kill -KILL $bpid; wait $bpid 2>/dev/null
killed=$(ls -A "$B" | grep '^\.sqlite_big_.*\.tmp-' | head -1)
check "15: SIGKILL mid-upload leaves a hidden temp file" test -n "$killed"
touch -d '2 hours ago' "$B/$killed"
other=.sqlite_other_20261120-000000.sqlite3.zst.tmp-0123456789ab    # another job's (database other)
young=.sqlite_big_20261120-000000.sqlite3.zst.tmp-abcdef012345      # this job's, in flight
echo x >"$B/$other"; echo y >"$B/$young"; touch -d '2 hours ago' "$B/$other"
SNAPKEEP_SERVICE=t SNAPKEEP_SQLITE_PATH=$T/big.db SNAPKEEP_COMPRESSION_THREADS=0 sk backup-now
check "15: the next backup exits 0 and removes this job's stale temp file" \
  bash -c "[ $rc -eq 0 ] && [ ! -e '$B/$killed' ] && grep -q 'removed 1 temporary file' '$T/err'"
check "15: ... but not another job's, nor this job's recent one (maybe in flight)" test -e "$B/$other" -a -e "$B/$young"

# ---- 1. the issue's case: a PostgreSQL legacy backup under the same prefix --------------------
"$root/tests/servers/pg.sh" start "$T/pg" >/dev/null || { nok "start PostgreSQL"; done_testing; exit 1; }
trap '"$root/tests/servers/pg.sh" stop "$T/pg"; rm -rf "$T"' EXIT
# shellcheck disable=SC1091
. "$T/pg/env"
createdb app_db
psql -X -q -v ON_ERROR_STOP=1 -d app_db -c "CREATE TABLE items(id int PRIMARY KEY, name text);
  INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 400) g;" >/dev/null
P=(SNAPKEEP_ENGINE=postgres "DATABASE_URL=postgresql://$PGUSER@127.0.0.1:$PGPORT/app_db" SNAPKEEP_SERVICE=pgapp
   SNAPKEEP_RETENTION_DAYS=3650 SNAPKEEP_KEEP_MIN=1)
PD=$T/dest/snapshots/pgapp/default; mkdir -p "$PD"
pgl=pgsql_app_db_20261114-000000.sql.zst
env -u SNAPKEEP_SQLITE_PATH "${P[@]}" "$SK_BIN" dump -o - 2>/dev/null | zstd -q -o "$PD/$pgl"
(cd "$PD" && md5sum "$pgl" >"$pgl.md5"); touch -d '20 days ago' "$PD/$pgl" "$PD/$pgl.md5"
psql -X -q -d app_db -c "DELETE FROM items WHERE id > 100" >/dev/null
env -u SNAPKEEP_SQLITE_PATH "${P[@]}" "$SK_BIN" backup-now >"$T/out" 2>"$T/err"; rc=$?
check "1 (pg): backup-now with retention exits 0 and keeps pgsql_app_db_20261114-000000.sql.zst and its .md5" \
  bash -c "[ $rc -eq 0 ] && [ -e '$PD/$pgl' ] && [ -e '$PD/$pgl.md5' ]"
env -u SNAPKEEP_SQLITE_PATH "${P[@]}" "$SK_BIN" list >"$T/out" 2>&1
check "1 (pg): list shows it as legacy beside the new backup" \
  bash -c "grep -q '$pgl .*legacy' '$T/out' && [ \$(grep -c '\.zst ' '$T/out') -eq 2 ]"
env -u SNAPKEEP_SQLITE_PATH "${P[@]}" "$SK_BIN" restore "$pgl" --to "postgresql://$PGUSER@127.0.0.1:$PGPORT/from_legacy" >"$T/out" 2>"$T/err"; rc=$?
check "1 (pg): restore of the legacy backup into a new database exits 0 with its 400 rows" \
  bash -c "[ $rc -eq 0 ] && [ \"\$(psql -X -At -d from_legacy -c 'SELECT count(*) FROM items')\" = 400 ]"

# ---- 1. a legacy backup in an S3 bucket (Ceph RGW; reuses SK_RGW_DIR when set) -------------------
RGW=${SK_RGW_DIR:-$T/rgw}
[ -n "${SK_RGW_DIR:-}" ] || trap '"$root/tests/servers/pg.sh" stop "$T/pg"; "$root/tests/servers/rgw.sh" stop "$RGW"; rm -rf "$T"' EXIT
"$root/tests/servers/rgw.sh" start "$RGW" >"$T/rgw.out" 2>&1 || { nok "start Ceph RGW"; done_testing; exit 1; }
secret "$(cat "$RGW/secret_key")"; secret_watch "$T/drv.out" "$T/run.err" "$T/k.err"
S3ENV=$(set -a; . "$RGW/env"; env | grep '^S3_' | tr '\n' ' ')
drv() { env $S3ENV "$SK_TOOLS/s3_smoke" "$@" >>"$T/drv.out" 2>&1; }
bucket=keys-$$-$RANDOM
drv mkbucket "$bucket"
zstd -q -o "$T/s3-legacy.zst" "$T/legacy.sqlite3"
(cd "$T" && md5sum s3-legacy.zst | sed "s/s3-legacy.zst/$legacy/" >"$T/s3-legacy.md5")
drv put "$bucket" "snapshots/app/default/$legacy" "$T/s3-legacy.zst" &&
  drv put "$bucket" "snapshots/app/default/$legacy.md5" "$T/s3-legacy.md5"
check "1 (S3): the previous sidecar's object and .md5 are in the bucket" test $? -eq 0
S=(env -u SNAPKEEP_DEST_DIR $S3ENV S3_BUCKET=$bucket S3_ALLOW_HTTP=true)
"${S[@]}" "$SK_BIN" list >"$T/out" 2>"$T/err"
check "1 (S3): list shows it as legacy" grep -q "$legacy .*legacy" "$T/out"
"${S[@]}" SNAPKEEP_RETENTION_DAYS=3650 SNAPKEEP_KEEP_MIN=1 "$SK_BIN" backup-now >"$T/out" 2>"$T/err"; rc=$?
check "1 (S3): backup-now with retention exits 0, and the legacy object and its .md5 are still there" \
  bash -c "[ $rc -eq 0 ] && env $S3ENV '$SK_TOOLS/s3_smoke' head '$bucket' 'snapshots/app/default/$legacy' >/dev/null 2>&1 &&
           env $S3ENV '$SK_TOOLS/s3_smoke' head '$bucket' 'snapshots/app/default/$legacy.md5' >/dev/null 2>&1"
"${S[@]}" "$SK_BIN" restore "$legacy" --to "$T/s3-restored.db" >"$T/out" 2>"$T/err"; rc=$?
check "1 (S3): restore of the legacy backup from S3 exits 0 and equals its database" \
  bash -c "[ $rc -eq 0 ] && [ \"\$(python3 '$root/tests/tools/db_digest.py' '$T/s3-restored.db')\" = '$legacy_digest' ]"
done_testing
