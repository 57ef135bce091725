#!/usr/bin/env bash
# PocketBase restores that can be undone, and backups that wait for a restarting server (issue 10,
# items 13 and 16), against the PocketBase-compatible server (tests/servers/pocketbase_fake.py):
#  - a server that holds records is replaced only with --force; without it nothing is touched;
#  - by default its current state is first saved as a backup on the server, named in the log; that
#    zip survives the restore and holds the data the restore replaced;
#    SNAPKEEP_POCKETBASE_RESTORE_SAFETY_COPY=false turns this off;
#  - an empty server needs no --force;
#  - a server that starts a few seconds after the backup began: retried, logged, stored.
. "$(dirname "$0")/../lib.sh"
clean_env
here=$(cd "$(dirname "$0")/.." && pwd)
FAKE=$here/servers/pocketbase_fake.py
EMAIL=admin@example.com
PW='Sup3r-secret-pw-0815'
printf '%s\n' "$PW" >"$T/pw"
secret "$PW"
pids=()
cleanup() { local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT

. "$(dirname "$0")/../pocketbase_lib.sh"  # start_fake, pb_digest
safety_zips() { ls "$1/backups" 2>/dev/null | grep -c '^snapkeep_before_restore_.*\.zip$'; }

start_fake live --port 0 --seed-rows 30 --seed-files 3 --seed-file-size 20000
export SNAPKEEP_ENGINE=pocketbase POCKETBASE_URL=$url_live POCKETBASE_ADMIN_EMAIL=$EMAIL \
       POCKETBASE_ADMIN_PASSWORD_FILE=$T/pw SNAPKEEP_DEST_DIR=$T/dest SNAPKEEP_SPOOL_DIR=$T/spool
mkdir -p "$T/spool"
check "the fake server started" test -n "$url_live"
backed=$(pb_digest "$T/live")
sk backup-now
check "backup-now exits 0" rc_is 0

# the live data moves on after the backup: these are the rows a restore would replace
python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"update posts set title='written after the backup'\"); c.execute('delete from posts where rowid % 3 = 0'); c.commit()" "$T/live/data.db"
current=$(pb_digest "$T/live")
check "the live data now differs from the backup" test "$current" != "$backed"

# ---- item 13: --force, and a safety copy first --------------------------------------------------
lines=$(wc -l <"$T/live.log")
sk restore latest --to "$url_live"
check "a server holding records, without --force: restore exits 2" rc_is 2
check "... saying it holds data and how to replace it" bash -c "grep -q \"holds data (20 records, 20 in .posts.)\" '$T/err' && grep -q -- --force '$T/err'"
check "... the data is untouched" test "$(pb_digest "$T/live")" = "$current"
check "... nothing was created, uploaded or restored on the server" bash -c "! tail -n +$((lines + 1)) '$T/live.log' | grep -q -e 'POST /api/backups' -e '/restore' -e 'restart'"

sk restore latest --to "$url_live" --force
check "with --force: restore exits 0" rc_is 0
safety=$(grep -o "saved PocketBase's current state as snapkeep_before_restore_[0-9_a-f]*\.zip" "$T/err" | grep -o 'snapkeep_before_restore_[0-9_a-f]*\.zip' | head -1)
check "... the log names the safety copy taken before the restore" test -n "$safety"
check "... and says how to undo the restore" err_has "to undo the restore, restore $safety in PocketBase's admin UI"
check "... the safety copy was made before the upload" bash -c "
  [ \$(grep -n 'saved PocketBase' '$T/err' | cut -d: -f1) -lt \$(grep -n 'uploaded snapkeep_restore_' '$T/err' | cut -d: -f1) ]"
check "... the backup's data is live" test "$(pb_digest "$T/live")" = "$backed"
check "... the safety copy survived the restore on the server" test -f "$T/live/backups/$safety"
mkdir "$T/undo" && (cd "$T/undo" && python3 -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(".")' "$T/live/backups/$safety")
check "... and holds the data the restore replaced" test "$(pb_digest "$T/undo")" = "$current"

SNAPKEEP_POCKETBASE_RESTORE_SAFETY_COPY=false sk restore latest --to "$url_live" --force
check "SNAPKEEP_POCKETBASE_RESTORE_SAFETY_COPY=false: restore exits 0" rc_is 0
check "... without a safety copy" bash -c "! grep -q 'saved PocketBase' '$T/err' && [ $(safety_zips "$T/live") -eq 1 ]"

start_fake empty --port 0 --seed-rows 0 --seed-files 0
sk restore latest --to "$url_empty"
check "a server without records: restore needs no --force (exit 0)" rc_is 0
check "... and gets the backup's data" test "$(pb_digest "$T/empty")" = "$backed"

# ---- item 16: a server that comes up after the backup began ------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
t0=$SECONDS
POCKETBASE_URL=http://127.0.0.1:$port SNAPKEEP_SERVICE=late SNAPKEEP_RETRY_WINDOW=120 \
  "$SK_BIN" backup-now >"$T/out" 2>"$T/err" &
bg=$!
sleep 4
start_fake late --port "$port" --seed-rows 5 --seed-files 1
wait $bg; rc=$?; cat "$T/err" >>"$T/all-stderr"
check "PocketBase started 4 s after the backup began: backup-now exits 0" rc_is 0
check "... after logging the retries with their delay and the reason" \
  grep -q "warn .*retrying in [0-9]*s: .*cannot reach PocketBase at http://127.0.0.1:$port" "$T/err"
check "... within the window ($((SECONDS - t0)) s)" test $((SECONDS - t0)) -lt 60
done_testing
