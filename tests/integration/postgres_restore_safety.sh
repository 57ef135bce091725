#!/usr/bin/env bash
# PostgreSQL against a real PostgreSQL 15 server (issue 10, items 7, 12, 16):
#  - a refused restore into a database that did not exist drops the database snapkeep created for
#    it; a database the user made is never dropped; a good restore keeps the one it created;
#  - a database without user tables is stored with a warning;
#  - transient source errors are retried with backoff within SNAPKEEP_RETRY_WINDOW and logged:
#    the server started a few seconds after the backup began, a server shutting down, a role at
#    its CONNECTION LIMIT;
#    a wrong password is not retried, and SNAPKEEP_RETRY_WINDOW=0 turns retrying off.
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
createdb src && psql -X -q -v ON_ERROR_STOP=1 -d src -c \
  "CREATE TABLE t(id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g;"
check "fixture loaded" test "$(psql -X -At -d src -c 'SELECT count(*) FROM t')" = 500
base="postgresql://$PGUSER@127.0.0.1:$PGPORT"
export SNAPKEEP_ENGINE=postgres DATABASE_URL=$base/src SNAPKEEP_DEST_DIR=$T/dest
db_exists() { [ "$(psql -X -At -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$1'")" = 1 ]; }

sk backup-now
check "backup-now exits 0" rc_is 0
check "a database with tables: no empty-database warning" bash -c "! grep -q 'no user tables' '$T/err'"
key=$(cd "$T/dest" && ls snapshots/default/default/pgsql_src_*.sql.zst | tail -1)
cp "$T/dest/$key" "$T/good.zst"

# ---- item 12: a refused restore leaves no database behind ---------------------------------------
size=$(stat -c %s "$T/good.zst")
printf '\xff' | dd of="$T/dest/$key" bs=1 seek=$((size / 2)) conv=notrunc status=none
sk restore latest --to "$base/fresh"
check "a damaged artifact into a new database: restore exits 6 (integrity)" rc_is 6
check "... the database it created for the restore is dropped again" bash -c "$(declare -f db_exists); ! db_exists fresh"
check "... and the log says so" err_has "dropped the database snapkeep created"
createdb mine
sk restore latest --to "$base/mine"
check "a damaged artifact into an existing empty database: restore exits 6" rc_is 6
check "... the user's database is not dropped" db_exists mine
check "... and nothing says it was" bash -c "! grep -q 'dropped the database' '$T/err'"
cp "$T/good.zst" "$T/dest/$key"
sk restore latest --to "$base/fresh"
check "the intact artifact into a new database: restore exits 0" rc_is 0
check "... the database stays, with the rows" test "$(psql -X -At -d fresh -c 'SELECT count(*) FROM t')" = 500

# ---- item 7: an empty database is stored with a warning ----------------------------------------
createdb emptydb
DATABASE_URL=$base/emptydb sk backup-now
check "a database without user tables: backup-now exits 0" rc_is 0
check "... with a warning that it holds no data" grep -q 'warn .*no user tables.*holds no data' "$T/err"

# ---- item 16: transient source errors are retried ----------------------------------------------
"$PGS" stop "$T/pg"
SNAPKEEP_RETRY_WINDOW=0 sk backup-now
check "server down, SNAPKEEP_RETRY_WINDOW=0: backup-now fails at once (exit 4)" rc_is 4
check "... without retrying" bash -c "! grep -q 'retrying in' '$T/err'"
t0=$SECONDS
SNAPKEEP_RETRY_WINDOW=120 "$SK_BIN" backup-now >"$T/out" 2>"$T/err" &
bg=$!
sleep 5
"$PGS" resume "$T/pg"
wait $bg; rc=$?; cat "$T/err" >>"$T/all-stderr"
check "server started 5 s after the backup began: backup-now exits 0" rc_is 0
check "... after logging the retries with their delay and the reason" \
  grep -q 'warn .*retrying in [0-9]*s: .*Connection refused' "$T/err"
check "... and the backup is complete (restores into a new database)" bash -c "
  '$SK_BIN' restore latest --to '$base/afterwait' 2>/dev/null &&
  [ \"\$(psql -X -At -d afterwait -c 'SELECT count(*) FROM t')\" = 500 ]"
check "... within the window ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -lt 60

# a server shutting down (smart shutdown waits for a session to end), then started again
psql -X -q -d src -c 'SELECT pg_sleep(5)' >/dev/null 2>&1 &
holder=$!
sleep 1
runuser -u postgres -- "${PGBIN:-/usr/lib/postgresql/15/bin}/pg_ctl" -D "$T/pg/data" -m smart -w -t 60 stop >/dev/null 2>&1 &
stopper=$!
sleep 1
SNAPKEEP_RETRY_WINDOW=120 "$SK_BIN" backup-now >"$T/out" 2>"$T/err" &
bg=$!
wait $holder; wait $stopper
"$PGS" resume "$T/pg"
wait $bg; rc=$?; cat "$T/err" >>"$T/all-stderr"
check "a server shutting down, then started again: backup-now exits 0" rc_is 0
check "... after retrying on 'the database system is shutting down'" \
  grep -q 'retrying in [0-9]*s: .*the database system is shutting down' "$T/err"

# a role at its CONNECTION LIMIT: "too many connections" until the other session ends
pw=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
secret "$pw"
psql -X -q -d postgres -c "CREATE ROLE limited LOGIN PASSWORD '$pw' CONNECTION LIMIT 1; GRANT pg_read_all_data TO limited;"
PGPASSWORD=$pw psql -X -q -h 127.0.0.1 -U limited -d src -c 'SELECT pg_sleep(6)' >/dev/null 2>&1 &
holder=$!
sleep 1
DATABASE_URL="postgresql://limited@127.0.0.1:$PGPORT/src" PGPASSWORD=$pw SNAPKEEP_DB_NAME=limited \
  SNAPKEEP_RETRY_WINDOW=60 sk backup-now
wait $holder
check "a role at its connection limit: backup-now exits 0 once the other session ends" rc_is 0
check "... after retrying on 'too many connections'" grep -q 'retrying in [0-9]*s: .*too many connections' "$T/err"

# a wrong password is final: no retry
t0=$SECONDS
DATABASE_URL="postgresql://limited@127.0.0.1:$PGPORT/src" PGPASSWORD=wrong-password SNAPKEEP_DB_NAME=limited \
  SNAPKEEP_RETRY_WINDOW=60 sk backup-now
check "a wrong password: backup-now fails (exit 4)" rc_is 4
check "... at once, without retrying" bash -c "[ $((SECONDS - t0)) -lt 20 ] && ! grep -q 'retrying in' '$T/err'"
done_testing
