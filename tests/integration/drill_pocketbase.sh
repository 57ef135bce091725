#!/usr/bin/env bash
# Restore drills of PocketBase backups (issue 11) against the PocketBase-compatible server
# (tests/servers/pocketbase_fake.py): backups record the records per collection that the records
# API reports (totalItems) before the backup and after its download; a drill checks the zip's CRCs,
# data.db's integrity_check and compares the collections' records with the manifest. A good backup
# passes and is recorded; counts that disagree fail with exit 10; damaged stored data with exit 6; a
# backup of a PocketBase whose data.db is damaged (the zip is sound, so the backup stores it) fails
# the drill's integrity_check with exit 6, and health says so. Nothing is left in the spool.
. "$(dirname "$0")/../lib.sh"
clean_env
here=$(cd "$(dirname "$0")/.." && pwd)
FAKE=$here/servers/pocketbase_fake.py
EMAIL=admin@example.com
PW='Dr1ll-secret-pw-0815'
secret "$PW"
printf '%s\n' "$PW" >"$T/pw"
pids=()
cleanup() { local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
. "$(dirname "$0")/../pocketbase_lib.sh"  # start_fake

start_fake main --seed-rows 25 --seed-files 3 --seed-file-size 20000
export SNAPKEEP_ENGINE=pocketbase POCKETBASE_URL=$url_main POCKETBASE_ADMIN_EMAIL=$EMAIL \
       POCKETBASE_ADMIN_PASSWORD_FILE=$T/pw SNAPKEEP_DEST_DIR=$T/dest SNAPKEEP_SERVICE=cms SNAPKEEP_SPOOL_DIR=$T/spool
mkdir -p "$T/spool"
D=$T/dest/snapshots/cms/default
check "the fake server started" test -n "$url_main"
newest() { ls "$D"/*.zip.zst | sort | tail -1; }
spool_empty() { [ -z "$(ls -A "$T/spool")" ]; }

sk backup-now
check "backup-now exits 0" rc_is 0
check "the manifest records the records per collection (system collections left out)" python3 -c '
import json,sys; m=json.load(open(sys.argv[1])); assert m["collections"]=={"posts":25,"users":0}, m.get("collections")' "$(newest).manifest.json"

sk drill
check "drill of a good backup: exit 0" rc_is 0
check "... CRCs, integrity_check and counts checked" \
  bash -c "grep -q 'zip ok: .* CRCs ok; data.db .*, integrity_check ok, .*; 3 storage files; counts match the manifest' '$T/out'"
check "... nothing left in the spool directory" spool_empty
sk status
check "status shows the passed drill" grep -q 'last restore drill .*: PASSED' "$T/out"

python3 - "$(newest).manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["collections"]["posts"] = 26; json.dump(m, open(sys.argv[1], "w"), indent=2)
PY
sk drill
check "a manifest that says posts had 26 records (25 restored): exit 10" rc_is 10
check "... naming the collection and both counts" err_has 'collection posts has 25 after the restore, the manifest says 26'
check "... nothing left in the spool directory" spool_empty

sk backup-now
python3 - "$(newest)" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x20; open(p, "wb").write(bytes(b))
PY
sk drill
check "damaged stored data: exit 6" rc_is 6
rm -f "$(newest)" "$(newest).md5" "$(newest).manifest.json"

# ---- a scratch PocketBase --------------------------------------------------------------------------
sk backup-now
start_fake scratch --seed-rows 2
SNAPKEEP_DRILL_POCKETBASE_URL=$url_scratch sk drill
check "SNAPKEEP_DRILL_POCKETBASE_URL: the drill restores into the scratch PocketBase and passes" \
  bash -c "[ $rc -eq 0 ] && grep -q 'restored into the scratch PocketBase .*, which serves 2 collection(s); counts match the manifest' '$T/out'"
check "... which now holds the source's posts (25 of them)" test "$(pb_digest "$T/scratch")" = "$(pb_digest "$T/main")"
check "... with no safety copy and no uploaded zip left on it" test -z "$(ls "$T/scratch/backups" | grep '\.zip$')"
check "... and the source was not touched (no restore there)" bash -c "! grep -q 'restore' '$T/main.log'"
SNAPKEEP_DRILL_POCKETBASE_URL=$url_main sk drill
check "the source as the scratch PocketBase is refused: exit 3" bash -c "[ $rc -eq 3 ] && grep -q 'SNAPKEEP_DRILL_POCKETBASE_URL is POCKETBASE_URL' '$T/err'"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SNAPKEEP_DRILL_POCKETBASE_URL=http://127.0.0.1:$port SNAPKEEP_RETRY_WINDOW=0 sk drill
check "a scratch PocketBase that is not there: exit 4, naming it" \
  bash -c "[ $rc -eq 4 ] && grep -q 'the scratch PocketBase: cannot reach PocketBase at http://127.0.0.1:$port' '$T/err'"
check "... nothing left in the spool directory" spool_empty

# data.db damaged on the server: its zip is structurally sound, so the backup stores it; the drill's
# integrity_check finds the damage
python3 - "$T/main/data.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
root = db.execute("SELECT rootpage FROM sqlite_schema WHERE name='posts'").fetchone()[0]
ps = db.execute("PRAGMA page_size").fetchone()[0]
db.close()
with open(sys.argv[1], "r+b") as f:   # an interior/leaf page of posts: scramble its cell pointers
    f.seek((root - 1) * ps + 12); f.write(b"\xff\x7f" * 16)
PY
sk backup-now
check "a backup of a PocketBase with a damaged data.db is stored (the zip itself is sound)" rc_is 0
sk drill
check "... its drill fails with exit 6 on integrity_check" bash -c "[ $rc -eq 6 ] && grep -q 'integrity_check' '$T/err'"
check "... nothing left in the spool directory" spool_empty
sk health
check "... and health warns" bash -c "[ $rc -eq 0 ] && grep -q '^warn .*restore drill .*FAILED.*integrity_check' '$T/out'"

done_testing
