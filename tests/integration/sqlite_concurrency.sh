#!/usr/bin/env bash
# Consistency and non-blocking under a live writer; bounded retries on a locked database; SIGKILL
# at any moment leaves nothing that `list` shows.
. "$(dirname "$0")/../lib.sh"
clean_env
: "${SK_TOOLS:?}"
load=$SK_TOOLS/sqlite_load
export SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=$T/app.db SNAPKEEP_DEST_DIR=$T/dest
"$load" make "$T/app.db" 48

# 1. a writer commits transfers throughout the backup (WAL mode)
"$load" backup-under-load "$T/app.db" "$SK_BIN" backup-now >"$T/load.out" 2>"$T/load.err"
lrc=$?
echo "# $(cat "$T/load.out")"
check "backup under a live writer succeeds and no writer commit failed or was blocked" test "$lrc" -eq 0
during=$(grep -o 'during=[0-9]*' "$T/load.out" | cut -d= -f2)
check "the writer really committed during the backup ($during commits)" test "${during:-0}" -gt 50
commits=$(grep -o '^commits=[0-9]*' "$T/load.out" | cut -d= -f2)
check "the source holds every commit the writer made" test "$("$load" check "$T/app.db")" = "$commits"
sk restore latest --to "$T/restored.db"
check "restore exits 0" rc_is 0
n=$("$load" check "$T/restored.db" 2>"$T/check.err"); crc=$?
check "restored database satisfies the writer's invariants (balances sum, gapless ledger)" test $crc -eq 0
before=$(grep -o 'before=[0-9]*' "$T/load.out" | cut -d= -f2)
check "restored ledger ($n) holds at least the commits made before the backup ($before), at most all" \
  test "${n:-0}" -ge "$before" -a "${n:-0}" -le "$commits"

# 2. a rollback-journal database locked by a writer: bounded retries, then success or a clear error
"$load" make "$T/locked.db" 1
sqlite3 "$T/locked.db" "PRAGMA journal_mode=DELETE" >/dev/null
"$load" lock "$T/locked.db" 2 >"$T/lock.out" &
lockpid=$!
while ! grep -q locked "$T/lock.out" 2>/dev/null; do sleep 0.05; done
SNAPKEEP_SQLITE_PATH=$T/locked.db sk backup-now
wait $lockpid
check "a 2 s exclusive lock is waited out (exit 0)" rc_is 0
"$load" lock "$T/locked.db" 6 >"$T/lock.out" &
lockpid=$!
while ! grep -q locked "$T/lock.out" 2>/dev/null; do sleep 0.05; done
start=$SECONDS
SNAPKEEP_SQLITE_PATH=$T/locked.db SNAPKEEP_SQLITE_BUSY_TIMEOUT=2 sk backup-now
took=$((SECONDS - start))
wait $lockpid
check "a lock held past SNAPKEEP_SQLITE_BUSY_TIMEOUT fails with exit 4" rc_is 4
check "... saying it stayed locked and naming the variable" err_has "SNAPKEEP_SQLITE_BUSY_TIMEOUT"
check "... within the deadline (${took}s)" test "$took" -le 5

# 3. SIGKILL at known points and at random moments: list never shows a partial backup
listed() { "$SK_BIN" list 2>/dev/null | grep -c '\.zst '; }
base_count=$(listed)
for point in after-data after-md5; do
  SNAPKEEP_DEBUG_PAUSE_AT=$point "$SK_BIN" backup-now 2>/dev/null &
  pid=$!
  for _ in $(seq 200); do [ "$(ps -o stat= -p $pid | cut -c1)" = T ] && break; sleep 0.05; done
  stopped=$(ps -o stat= -p $pid | cut -c1)
  kill -KILL $pid; wait $pid 2>/dev/null
  check "SIGKILL $point (process was stopped there: $stopped): list shows no new backup" \
    test "$stopped" = T -a "$(listed)" -eq "$base_count"
done
for delay in 0.05 0.15 0.3 0.5 0.8; do
  "$SK_BIN" backup-now 2>/dev/null &
  pid=$!
  sleep $delay
  kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null
  sleep 1.1 # the next backup gets its own second
done
now=$(listed)
check "SIGKILL at random moments: every listed backup is complete and verifies" \
  bash -c "for k in \$('$SK_BIN' list 2>/dev/null | awk 'NR>1{print \$1}'); do '$SK_BIN' verify \"\$k\" >/dev/null 2>&1 || exit 1; done"
check "SIGKILL leaves no visible temp object (only hidden files or data without manifest)" \
  test -z "$(find "$T/dest" -type f -name '*tmp*' ! -name '.*')"
check "a backup after all the kills succeeds" bash -c "'$SK_BIN' backup-now 2>/dev/null"
check "... and is listed" test "$(listed)" -eq $((now + 1))
done_testing
