#!/usr/bin/env bash
# The agent: retention on backdated backups of several jobs, health thresholds, webhooks (live and
# dead), `snapkeep run` with a per-minute schedule, a concurrent backup-now, SIGTERM mid-backup,
# /healthz and /metrics, a libconfig file of jobs, and `snapkeep schedule`.
. "$(dirname "$0")/../lib.sh"
clean_env
: "${SK_TOOLS:?}"
tools=$(dirname "$0")/../tools
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"   # libfaketime is preloaded below
fake() { local when=$1; shift; case "$when" in +*) faketime -f "$when" "$@" ;; *) faketime "$when" "$@" ;; esac; }
sqlite3 "$T/app.db" "CREATE TABLE t(x); INSERT INTO t VALUES (1), (2);"
export SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=$T/app.db SNAPKEEP_DEST_DIR=$T/dest
count() { ls "$T/dest/snapshots/$1/default/" 2>/dev/null | grep -c "^sqlite_$2_.*\.zst$"; }

# ---- retention over backdated backups of three jobs sharing one destination -----------------
for age in 40 35 20 10 2; do
  when=$(date -u -d "$age days ago" '+%Y-%m-%d %H:%M:%S')
  SNAPKEEP_SERVICE=a fake "$when" "$SK_BIN" backup-now 2>/dev/null
  SNAPKEEP_SERVICE=b fake "$when" "$SK_BIN" backup-now 2>/dev/null
  SNAPKEEP_SERVICE=a SNAPKEEP_DB_NAME=app2 fake "$when" "$SK_BIN" backup-now 2>/dev/null
done
check "15 backdated backups made (5 per job)" test "$(count a app)$(count b app)$(count a app2)" = 555
A=(SNAPKEEP_SERVICE=a SNAPKEEP_RETENTION_DAYS=30 SNAPKEEP_KEEP_MIN=2)
env "${A[@]}" "$SK_BIN" prune --dry-run >"$T/out" 2>"$T/err"
check "prune --dry-run names the two backups older than 30 days" test "$(grep -c '^would delete' "$T/out")" -eq 2
check "prune --dry-run deletes nothing" test "$(count a app)" -eq 5
env "${A[@]}" SNAPKEEP_SQLITE_PATH=$T/missing.db SNAPKEEP_DB_NAME=app "$SK_BIN" backup-now 2>"$T/err"; rc=$?
check "a backup of job a/app whose source is missing fails (exit 4)" rc_is 4
check "a failed backup deletes nothing" test "$(count a app)$(count b app)$(count a app2)" = 555
env "${A[@]}" "$SK_BIN" backup-now 2>"$T/err"
check "a successful backup applies retention: job a/app keeps 4 of 6" test "$(count a app)" -eq 4
check "... the 40- and 35-day-old ones are the ones gone" \
  test -z "$(ls "$T/dest/snapshots/a/default/" | grep "sqlite_app_$(date -u -d '40 days ago' +%Y%m%d)\|sqlite_app_$(date -u -d '35 days ago' +%Y%m%d)")"
check "... and their .md5 and manifest went too" test "$(ls "$T/dest/snapshots/a/default/" | grep -c '^sqlite_app_')" -eq 12
check "another service's backups are untouched" test "$(count b app)" -eq 5
check "another database's backups in the same directory are untouched" test "$(count a app2)" -eq 5
env SNAPKEEP_SERVICE=a SNAPKEEP_RETENTION_DAYS=1 SNAPKEEP_KEEP_MIN=3 "$SK_BIN" prune >/dev/null 2>&1
check "keep-min holds: 1-day retention still keeps the newest 3" test "$(count a app)" -eq 3
# orphans: a data object with no manifest and snapkeep's pending marker, an hour old, goes; a fresh
# one (maybe in progress) stays (keys_state.sh: unmarked objects are never deleted)
old=$T/dest/snapshots/a/default/sqlite_app_20200101-000000.sqlite3.zst
young=$T/dest/snapshots/a/default/sqlite_app_20200102-000000.sqlite3.zst
echo x >"$old"; echo y >"$young"; touch "$old.snapkeep-pending" "$young.snapkeep-pending"
touch -d '2 hours ago' "$old" "$old.snapkeep-pending"
env SNAPKEEP_SERVICE=a SNAPKEEP_RETENTION_DAYS=1 SNAPKEEP_KEEP_MIN=3 "$SK_BIN" prune >"$T/out" 2>&1
check "an old orphan (data without manifest) is cleaned" test ! -e "$old"
check "a young orphan is left alone (it may be a backup in progress)" test -e "$young"
rm -f "$young" "$young.snapkeep-pending"

# ---- health thresholds ----------------------------------------------------------------------
H=(SNAPKEEP_SERVICE=h)
env "${H[@]}" "$SK_BIN" health >"$T/out" 2>&1; rc=$?
check "health before any backup or agent: exit 1" test $rc -eq 1
env "${H[@]}" "$SK_BIN" backup-now 2>/dev/null
env "${H[@]}" "$SK_BIN" health >"$T/out" 2>&1; rc=$?
check "health right after a success: exit 0, ok" bash -c "[ $rc -eq 0 ] && grep -q '^ok' '$T/out'"
SNAPKEEP_SERVICE=h fake '+37h' "$SK_BIN" health >"$T/out" 2>&1; rc=$?
check "health 37 h later: warns, exit 0" bash -c "[ $rc -eq 0 ] && grep -q '^warn' '$T/out'"
SNAPKEEP_SERVICE=h fake '+49h' "$SK_BIN" health >"$T/out" 2>&1; rc=$?
check "health 49 h later: fails, exit 1" bash -c "[ $rc -eq 1 ] && grep -q '^fail' '$T/out'"
SNAPKEEP_SERVICE=h SNAPKEEP_HEALTH_WARN_AFTER=1 SNAPKEEP_HEALTH_FAIL_AFTER=2 fake '+90m' "$SK_BIN" health >"$T/out" 2>&1; rc=$?
check "custom thresholds: 90 min with warn 1 h / fail 2 h warns" bash -c "[ $rc -eq 0 ] && grep -q '^warn' '$T/out'"
env "${H[@]}" SNAPKEEP_SQLITE_PATH=$T/missing.db SNAPKEEP_DB_NAME=app "$SK_BIN" backup-now 2>/dev/null
env "${H[@]}" "$SK_BIN" status >"$T/out" 2>&1
check "status shows the last failure's reason" grep -q 'last error: .*missing.db' "$T/out"
env "${H[@]}" "$SK_BIN" status --json >"$T/out" 2>&1
check "status --json has last success, failure, counters" python3 -c '
import json,sys; s=json.load(open(sys.argv[1]))[0]
assert s["successes_total"]==1 and s["failures_total"]==1 and s["last_success"] and s["last_failure"], s' "$T/out"

# ---- webhooks --------------------------------------------------------------------------------
python3 "$tools/webhook_receiver.py" "$T/hooks" >"$T/port" & hookpid=$!
python3 "$tools/webhook_receiver.py" "$T/hooks500" 500 >"$T/port500" & hook500=$!
for _ in $(seq 100); do [ -s "$T/port" ] && [ -s "$T/port500" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$T/port")/hook?token=s3cr3t-hook-token"
secret s3cr3t-hook-token conf-s3cr3t
secret_watch "$T/hooks" "$T/hooks500" # the bodies sent: errors must be redacted there too
W=(SNAPKEEP_SERVICE=w "SNAPKEEP_WEBHOOK_URL=$url")
env "${W[@]}" "$SK_BIN" backup-now 2>"$T/err"; rc=$?; cat "$T/err" >>"$T/all-stderr"
check "backup with a webhook: exit 0" test $rc -eq 0
check "the receiver got start and success bodies" python3 -c '
import json,sys; b=[json.loads(l) for l in open(sys.argv[1])]
ev=[x["event"] for x in b]; assert ev==["start","success"], ev
s=b[1]; assert s["key"].endswith(".sqlite3.zst") and s["size"]>0 and s["duration_s"]>=0 and "w/default" in s["job"], s' "$T/hooks"
env "${W[@]}" SNAPKEEP_SQLITE_PATH=$T/missing.db SNAPKEEP_DB_NAME=app "$SK_BIN" backup-now 2>>"$T/err"; rc=$?
cat "$T/err" >>"$T/all-stderr"
check "a failed backup still exits 4 with a webhook" test $rc -eq 4
check "the receiver got a failure body with the error and exit code" python3 -c '
import json,sys; b=[json.loads(l) for l in open(sys.argv[1])][-1]
assert b["event"]=="failure" and "missing.db" in b["error"] and b["exit_code"]==4, b' "$T/hooks"
check "the webhook URL (with its token) never appears in the output" bash -c "! grep -q 's3cr3t-hook-token' '$T/err'"
start=$SECONDS
env SNAPKEEP_SERVICE=w SNAPKEEP_WEBHOOK_URL=http://127.0.0.1:1/dead "$SK_BIN" backup-now 2>"$T/err"; rc=$?
check "a dead webhook does not fail the backup (exit 0)" test $rc -eq 0
check "... and costs at most the bounded retry time ($((SECONDS - start)) s)" test $((SECONDS - start)) -le 16
env SNAPKEEP_SERVICE=w SNAPKEEP_WEBHOOK_SUCCESS_URL="http://127.0.0.1:$(cat "$T/port500")/x" "$SK_BIN" backup-now 2>"$T/err"; rc=$?
check "a webhook answering 500 does not fail the backup, and is retried" \
  bash -c "[ $rc -eq 0 ] && [ \$(wc -l <'$T/hooks500') -ge 2 ] && grep -q 'not delivered' '$T/err'"
kill $hookpid $hook500

# ---- snapkeep run: schedule, backup-now alongside, SIGTERM mid-backup -----------------------
"$SK_TOOLS/sqlite_load" make "$T/big.db" 12
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
R=(SNAPKEEP_SERVICE=r SNAPKEEP_SQLITE_PATH=$T/big.db SNAPKEEP_COMPRESSION_LEVEL=19 SNAPKEEP_COMPRESSION_THREADS=0
   "SNAPKEEP_SCHEDULE=* * * * *" SNAPKEEP_RUN_AT_START=true SNAPKEEP_STOP_GRACE=0 SNAPKEEP_HTTP_LISTEN=127.0.0.1:$port)
env "${R[@]}" "$SK_BIN" run 2>"$T/run.log" & agent=$!
running() { cat "$T"/state/r_default_sqlite_big-*.status.json 2>/dev/null | grep -q '"running": true'; }
for _ in $(seq 200); do running && break; sleep 0.05; done
check "run: the run-at-start backup is under way" running
env "${R[@]}" "$SK_BIN" backup-now 2>"$T/now.log"; rc=$?
check "backup-now during the agent's backup waits for it, then succeeds" \
  bash -c "[ $rc -eq 0 ] && grep -q 'waiting for it to finish' '$T/now.log'"
check "at least two backups, never two at a time (manifests' intervals do not overlap)" python3 -c '
import json,glob,sys
m=sorted((json.load(open(f))["started_at"], json.load(open(f))["finished_at"]) for f in glob.glob(sys.argv[1]+"/*.manifest.json"))
assert len(m)>=2, m
assert all(a[1] <= b[0] for a, b in zip(m, m[1:])), m' "$T/dest/snapshots/r/default"
curl -s -o "$T/healthz" -w '%{http_code}' "http://127.0.0.1:$port/healthz" >"$T/code"
check "/healthz answers 200 and ok" bash -c "[ \$(cat '$T/code') = 200 ] && grep -q '^ok' '$T/healthz'"
curl -s "http://127.0.0.1:$port/metrics" >"$T/metrics"
check "/metrics has Prometheus lines for the job" \
  bash -c "grep -q '^snapkeep_successes_total{job=\"r_default_sqlite_big-[0-9a-f]*\"} [2-9]$' '$T/metrics' && grep -q '^# TYPE snapkeep_last_success_timestamp_seconds gauge' '$T/metrics' && grep -q '^snapkeep_healthy{job=\"r_default_sqlite_big-[0-9a-f]*\"} 1$' '$T/metrics'"
# the next scheduled backup starts at the next minute boundary
for _ in $(seq 1400); do running && break; sleep 0.05; done
check "run: the per-minute schedule started another backup" running
kill -TERM $agent; wait $agent; rc=$?
check "SIGTERM mid-backup: the agent exits 0" test $rc -eq 0
check "... leaving no partial object (hidden temp files or data without manifest)" bash -c "
  cd '$T/dest/snapshots/r/default' && [ -z \"\$(ls -A | grep '^\.')\" ] &&
  for f in *.zst; do [ -e \"\$f.manifest.json\" ] || exit 1; done"
check "... and says it stopped" grep -q 'agent exiting' "$T/run.log"
env SNAPKEEP_SERVICE=r SNAPKEEP_SQLITE_PATH=$T/big.db "$SK_BIN" verify latest >/dev/null 2>&1
check "the backups the agent made verify" test $? -eq 0
# with a grace period, a backup running at SIGTERM finishes first
before=$(ls "$T/dest/snapshots/r/default/" | grep -c '\.manifest\.json$')
env "${R[@]}" SNAPKEEP_STOP_GRACE=120 SNAPKEEP_HTTP_LISTEN= "$SK_BIN" run 2>"$T/run2.log" & agent=$!
for _ in $(seq 200); do running && break; sleep 0.05; done
kill -TERM $agent; wait $agent; rc=$?
check "SIGTERM within SNAPKEEP_STOP_GRACE: the running backup finishes, exit 0" \
  bash -c "[ $rc -eq 0 ] && [ \$(ls '$T/dest/snapshots/r/default/' | grep -c '\.manifest\.json$') -eq $((before + 1)) ] && grep -q 'letting the running backup finish' '$T/run2.log'"
# a second backup that cannot get the job's lock in time gives up with exit 8
env "${R[@]}" "$SK_BIN" backup-now 2>/dev/null & first=$!
for _ in $(seq 200); do running && break; sleep 0.05; done
env "${R[@]}" SNAPKEEP_LOCK_WAIT=1 "$SK_BIN" backup-now 2>"$T/err"; rc=$?
wait $first
check "backup-now that waits past SNAPKEEP_LOCK_WAIT: exit 8, naming the variable" \
  bash -c "[ $rc -eq 8 ] && grep -q SNAPKEEP_LOCK_WAIT '$T/err'"

# ---- a libconfig file of jobs ------------------------------------------------------------------
cat >"$T/snapkeep.conf" <<CONF
defaults = { dest_dir = "$T/cdest"; retention_days = 30; webhook_url = "http://127.0.0.1:1/x?t=conf-s3cr3t"; };
jobs = (
  { name = "one"; engine = "sqlite"; sqlite_path = "$T/app.db"; schedule = "0 3 * * *"; },
  { name = "two"; engine = "sqlite"; sqlite_path = "$T/big.db"; service = "svc2"; compression_level = 1; }
);
CONF
clean_env
export SNAPKEEP_CONFIG=$T/snapkeep.conf
sk config check
check "config check of a two-job file: exit 0" rc_is 0
check "... shows both jobs, service defaulting to the job name" bash -c "grep -q \"job 'one': one/default/sqlite:app\" '$T/out' && grep -q \"job 'two': svc2/default/sqlite:big\" '$T/out'"
check "... masks the secret webhook URL" bash -c "grep -q 'SNAPKEEP_WEBHOOK_URL=\*\*\*' '$T/out' && ! grep -q conf-s3cr3t '$T/out' '$T/err'"
sk backup-now --job two
check "backup-now --job two: exit 0" rc_is 0
check "... stored under the second job's service only" \
  bash -c "ls '$T/cdest/snapshots/svc2/default/' | grep -q '\.zst$' && [ ! -d '$T/cdest/snapshots/one' ]"
sk backup-now
check "backup-now without --job backs up every job (exit 0)" \
  bash -c "[ $rc -eq 0 ] && ls '$T/cdest/snapshots/one/default/' | grep -q '\.zst$' && [ \$(ls '$T/cdest/snapshots/svc2/default/' | grep -c '\.zst$') -eq 2 ]"
sk list
check "list with two jobs and no --job: exit 2 naming the jobs" bash -c "[ $rc -eq 2 ] && grep -q 'one, two' '$T/err'"
sed -i 's/sqlite_path =/sqlite_pth =/' "$T/snapkeep.conf"
sk config check
check "an unknown key in the file: exit 3 naming file, job and key" \
  bash -c "[ $rc -eq 3 ] && grep -q \"job 'one': unknown setting 'sqlite_pth' (line 3)\" '$T/err'"
unset SNAPKEEP_CONFIG
export SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=$T/app.db SNAPKEEP_DEST_DIR=$T/dest

# ---- snapkeep schedule -------------------------------------------------------------------------
TZ=Europe/Berlin "$SK_BIN" schedule '30 2 * * *' --from 2026-03-28T12:00 --count 2 >"$T/out" 2>&1
check "schedule in Berlin across spring-forward: 02:30 does not exist, fires at 03:00 CEST" \
  bash -c "sed -n 2p '$T/out' | grep -q '^2026-03-29T03:00:00+02:00 CEST' && sed -n 3p '$T/out' | grep -q '^2026-03-30T02:30:00+02:00'"
"$SK_BIN" schedule '0 0,6,9,12,15,18,21 * * *' --from 2026-03-23T00:00Z --count 8 >"$T/out" 2>&1
check "schedule of the production line lists 7 times a day in UTC" \
  test "$(sed -n '2,9p' "$T/out" | cut -c12-16 | tr '\n' ' ')" = "06:00 09:00 12:00 15:00 18:00 21:00 00:00 06:00 "
"$SK_BIN" schedule '0 25 * * *' >"$T/out" 2>&1; rc=$?
check "an invalid schedule: exit 3 naming the field" bash -c "[ $rc -eq 3 ] && grep -q 'hour field' '$T/out'"
env SNAPKEEP_SCHEDULE='61 * * * *' "$SK_BIN" run >"$T/out" 2>&1; rc=$?
check "run with an invalid SNAPKEEP_SCHEDULE: exit 3 naming the variable" bash -c "[ $rc -eq 3 ] && grep -q 'SNAPKEEP_SCHEDULE: minute field' '$T/out'"
done_testing
