#!/usr/bin/env bash
# Restore drills (issue 11) with real SQLite files: a good backup's drill passes and is recorded
# (drill record, status, status --json, a `drill` webhook, /metrics); a backup whose manifest's row
# counts disagree with the data fails with exit 10, one whose data was damaged with exit 6, and
# health says so as SNAPKEEP_DRILL_HEALTH asks (warn: exit 0, fail: exit 1); a passed drill older
# than SNAPKEEP_DRILL_MAX_AGE warns; a drill killed (SIGKILL) with its scratch file in place leaves
# it for the next drill, which removes it; SNAPKEEP_DRILL_SCHEDULE fires drills in `snapkeep run`.
. "$(dirname "$0")/../lib.sh"
clean_env
root=$(cd "$(dirname "$0")/../.." && pwd)
export SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=$T/app.db SNAPKEEP_DEST_DIR=$T/dest SNAPKEEP_SERVICE=d
export SNAPKEEP_SPOOL_DIR=$T/spool
mkdir -p "$T/spool"
D=$T/dest/snapshots/d/default
newest() { ls "$D"/*.sqlite3.zst | sort | tail -1; }
drill_json() { python3 -c 'import json,sys,glob; d=json.load(open(glob.glob(sys.argv[1]+"/*.drill.json")[0])); print(eval(sys.argv[2]))' "$T/state" "$1"; }
scratch_files() { ls "$T/spool" | grep -c '^snapkeep-drill-' ; }

python3 "$root/tests/tools/webhook_receiver.py" "$T/hooks" >"$T/port" & hookpid=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
export SNAPKEEP_WEBHOOK_URL="http://127.0.0.1:$(cat "$T/port")/hook"
python3 "$root/tests/tools/webhook_receiver.py" "$T/hooks-failure" >"$T/port-f" & hookf=$!
python3 "$root/tests/tools/webhook_receiver.py" "$T/hooks-success" >"$T/port-s" & hooks=$!
for _ in $(seq 100); do [ -s "$T/port-f" ] && [ -s "$T/port-s" ] && break; sleep 0.05; done
export SNAPKEEP_WEBHOOK_FAILURE_URL="http://127.0.0.1:$(cat "$T/port-f")/f" SNAPKEEP_WEBHOOK_SUCCESS_URL="http://127.0.0.1:$(cat "$T/port-s")/s"

sqlite3 "$T/app.db" "CREATE TABLE t(x PRIMARY KEY, v); CREATE TABLE u(y); CREATE INDEX u_y ON u(y);
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<2000) INSERT INTO t SELECT i, hex(randomblob(20)) FROM n;
  INSERT INTO u VALUES (1), (2), (3);"

sk drill
check "a drill with no backup yet fails with exit 7, saying so" bash -c "[ $rc -eq 7 ] && grep -q 'no backup to drill' '$T/err'"
sk backup-now
check "backup-now exits 0" rc_is 0

# ---- a good backup ------------------------------------------------------------------------------
sk drill
check "drill of a good backup: exit 0" rc_is 0
check "... names the backup and what it checked" bash -c "grep -q '^ok .*$(basename "$(newest)")' '$T/out' && grep -q 'integrity_check ok; 2 tables' '$T/out' && grep -q 'counts match the manifest' '$T/out'"
check "... restored into a scratch file in SNAPKEEP_SPOOL_DIR, removed afterwards" \
  bash -c "grep -q 'into the scratch target $T/spool/snapkeep-drill-' '$T/err' && [ $(scratch_files) -eq 0 ]"
check "... recorded: last_ok, the key, one pass (and the failure of the drill without a backup)" test "$(drill_json 'd["last_ok"], d["last_key"].endswith(".sqlite3.zst"), d["passes_total"], d["failures_total"]')" = "(True, True, 1, 1)"
sk status
check "status shows the passed drill" bash -c "grep -q 'last restore drill .*: PASSED' '$T/out' && grep -q 'drills passed 1, failed 1' '$T/out'"
sk status --json
check "status --json carries the drill record and its health" python3 -c '
import json,sys; s=json.load(open(sys.argv[1]))[0]
assert s["drill"]["last_ok"] is True and s["drill"]["health"] == "ok" and s["health"] == "ok", s' "$T/out"
sk health
check "health: ok, naming the passed drill" bash -c "[ $rc -eq 0 ] && grep -q '^ok .*last restore drill passed' '$T/out'"
check "a 'drill' webhook with ok=true and the key" python3 -c '
import json,sys; b=[json.loads(l) for l in open(sys.argv[1])]
d=[x for x in b if x["event"]=="drill"]; assert len(d)==2 and d[0]["ok"] is False and d[0]["exit_code"]==7
assert d[1]["ok"] is True and d[1]["key"].endswith(".sqlite3.zst") and "counts match" in d[1]["summary"], d' "$T/hooks"

# ---- row counts that disagree with the manifest -------------------------------------------------
python3 - "$(newest).manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["table_rows"]["u"] = 4; json.dump(m, open(sys.argv[1], "w"), indent=2)
PY
sk drill
check "a backup whose manifest says u had 4 rows (3 restored): exit 10" rc_is 10
check "... naming the table and both counts" err_has 'table u has 3 after the restore, the manifest says 4'
check "... the scratch file is gone" test "$(scratch_files)" -eq 0
check "... recorded as failed" test "$(drill_json 'd["last_ok"], d["last_exit"], d["failures_total"], "table u has 3" in d["last_error"]')" = "(False, 10, 2, True)"
sk health
check "health (SNAPKEEP_DRILL_HEALTH=warn, the default): warn, exit 0, saying the drill failed" \
  bash -c "[ $rc -eq 0 ] && grep -q '^warn .*the last restore drill .* FAILED: .*table u has 3' '$T/out'"
SNAPKEEP_DRILL_HEALTH=fail sk health
check "health with SNAPKEEP_DRILL_HEALTH=fail: fail, exit 1" bash -c "[ $rc -eq 1 ] && grep -q '^fail .*FAILED' '$T/out'"
SNAPKEEP_DRILL_HEALTH=ignore sk health
check "health with SNAPKEEP_DRILL_HEALTH=ignore: ok" bash -c "[ $rc -eq 0 ] && grep -q '^ok ' '$T/out'"
sk status
check "status shows the failed drill and its reason" bash -c "grep -q 'last restore drill .*: FAILED' '$T/out' && grep -q 'drill error: .*table u has 3' '$T/out'"
check "a 'drill' webhook with ok=false, exit_code 10 and the reason" python3 -c '
import json,sys; b=[json.loads(l) for l in open(sys.argv[1])]
d=[x for x in b if x["event"]=="drill"]; assert len(d)==3 and d[2]["ok"] is False and d[2]["exit_code"]==10 and "table u has 3" in d[2]["error"], d' "$T/hooks"
check "... failed drills also go to SNAPKEEP_WEBHOOK_FAILURE_URL, passed ones do not; none to the success URL" python3 -c '
import json,sys; f=[json.loads(l) for l in open(sys.argv[1])]; s=[json.loads(l) for l in open(sys.argv[2])]
d=[x for x in f if x["event"]=="drill"]; assert [x["ok"] for x in d]==[False, False], f
assert not [x for x in s if x["event"]=="drill"], s' "$T/hooks-failure" "$T/hooks-success"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SNAPKEEP_SCHEDULE="0 0 1 1 *" SNAPKEEP_HTTP_LISTEN=127.0.0.1:$port "$SK_BIN" run 2>"$T/run0.log" & agent=$!
for _ in $(seq 100); do curl -s "http://127.0.0.1:$port/metrics" >"$T/metrics" 2>/dev/null && [ -s "$T/metrics" ] && break; sleep 0.1; done
curl -s "http://127.0.0.1:$port/healthz" >"$T/healthz"
kill -TERM $agent; wait $agent
check "/metrics: snapkeep_drill_last_ok 0, one pass, two failures" \
  bash -c "grep -q '^snapkeep_drill_last_ok{job=\"d_default_sqlite_app-[0-9a-f]*\"} 0$' '$T/metrics' && grep -q '^snapkeep_drill_passes_total{job=.*} 1$' '$T/metrics' && grep -q '^snapkeep_drill_failures_total{job=.*} 2$' '$T/metrics'"
check "/healthz: warn naming the failed drill" grep -q '^warn .*restore drill .*FAILED' "$T/healthz"

# ---- damaged data ----------------------------------------------------------------------------
sk backup-now
sk drill
check "a new good backup: the drill passes again" rc_is 0
python3 - "$(newest)" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x55; open(p, "wb").write(bytes(b))
PY
sk drill
check "a backup whose data was damaged: exit 6 (integrity)" rc_is 6
check "... the checksum names it" err_has 'MD5'
check "... no scratch file left" test "$(scratch_files)" -eq 0
sk health
check "... and health warns" bash -c "[ $rc -eq 0 ] && grep -q '^warn .*FAILED' '$T/out'"
rm -f "$(newest)" "$(newest).md5" "$(newest).manifest.json"
sk backup-now

# ---- freshness ------------------------------------------------------------------------------------
sk drill
check "drill of a new good backup passes" rc_is 0
python3 - "$T/state" <<'PY'
import glob, json, sys
p = glob.glob(sys.argv[1] + "/*.drill.json")[0]; d = json.load(open(p))
d["last_pass"] = d["last_drill"] = "2000-01-01T00:00:00Z"; json.dump(d, open(p, "w"))
PY
SNAPKEEP_DRILL_MAX_AGE=24 sk health
check "a passed drill older than SNAPKEEP_DRILL_MAX_AGE: health warns, saying so" \
  bash -c "[ $rc -eq 0 ] && grep -q '^warn .*the last passed restore drill is .* old .*SNAPKEEP_DRILL_MAX_AGE' '$T/out'"
SNAPKEEP_DRILL_MAX_AGE=24 SNAPKEEP_DRILL_HEALTH=fail sk health
check "... fail with SNAPKEEP_DRILL_HEALTH=fail" rc_is 1
sk health
check "... and without SNAPKEEP_DRILL_MAX_AGE its age is not judged" bash -c "[ $rc -eq 0 ] && grep -q '^ok ' '$T/out'"

# ---- a drill killed with its scratch file in place -------------------------------------------------
SNAPKEEP_DEBUG_DRILL_PAUSE=true "$SK_BIN" drill >/dev/null 2>"$T/paused.log" & dpid=$!
for _ in $(seq 100); do grep -q 'pausing with the drill' "$T/paused.log" && break; sleep 0.05; done
check "a paused drill has its scratch file in place" test "$(scratch_files)" -eq 1
kill -KILL $dpid; wait $dpid 2>/dev/null
check "... which SIGKILL leaves behind" test "$(scratch_files)" -eq 1
sk drill
check "the next drill removes it and passes" \
  bash -c "[ $rc -eq 0 ] && grep -q 'removed 1 scratch target(s) left by interrupted drills' '$T/err' && [ $(scratch_files) -eq 0 ]"
touch "$T/spool/snapkeep-drill-Abc123"; exec 7<"$T/spool/snapkeep-drill-Abc123"; flock 7
sk drill
check "a scratch file another live drill holds (flock) is left alone" test "$(scratch_files)" -eq 1
exec 7<&-; rm -f "$T/spool/snapkeep-drill-Abc123"

# ---- the schedule in `snapkeep run` ------------------------------------------------------------
before=$(drill_json 'd["passes_total"]')
SNAPKEEP_SCHEDULE="0 0 1 1 *" SNAPKEEP_DRILL_SCHEDULE="* * * * *" SNAPKEEP_STOP_GRACE=0 "$SK_BIN" run 2>"$T/run.log" & agent=$!
for _ in $(seq 1400); do grep -q 'restore drill passed' "$T/run.log" && break; sleep 0.05; done
kill -TERM $agent; wait $agent; rc=$?
check "run with SNAPKEEP_DRILL_SCHEDULE: announces the next drill" grep -q 'next restore drill at' "$T/run.log"
check "... the per-minute drill schedule fired a drill that passed" grep -q 'restore drill passed: .*sqlite3.zst' "$T/run.log"
check "... recorded (passes_total grew)" test "$(drill_json 'd["passes_total"]')" -gt "$before"
check "... and the agent stops with exit 0" test $rc -eq 0
SNAPKEEP_SCHEDULE="0 0 1 1 *" SNAPKEEP_DRILL_SCHEDULE="61 * * * *" "$SK_BIN" run >"$T/out" 2>&1; rc=$?
check "an invalid SNAPKEEP_DRILL_SCHEDULE: exit 3 naming the variable" bash -c "[ $rc -eq 3 ] && grep -q 'SNAPKEEP_DRILL_SCHEDULE' '$T/out'"

kill $hookpid $hookf $hooks
done_testing
