#!/usr/bin/env bash
# Backup -> list -> verify -> restore of a real SQLite database through the CLI; the stored object
# is checked with the stock zstd and md5sum tools.
. "$(dirname "$0")/../lib.sh"
clean_env
fixture=$(dirname "$0")/../fixtures/sqlite_fixture.sql
sqlite3 "$T/app.db" <"$fixture" >/dev/null
export SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=$T/app.db SNAPKEEP_DEST_DIR=$T/dest \
       SNAPKEEP_SERVICE=backend SNAPKEEP_ENVIRONMENT=production
dir=$T/dest/snapshots/backend/production

sk backup-now
check "backup-now exits 0" rc_is 0
key=$(grep -o 'snapshots/backend/production/sqlite_app_[0-9]\{8\}-[0-9]\{6\}\.sqlite3\.zst' "$T/err" | head -1)
check "the key has the documented form" test -n "$key"
check "data, .md5 and manifest are stored" test -f "$T/dest/$key" -a -f "$T/dest/$key.md5" -a -f "$T/dest/$key.manifest.json"
check "the stored time is UTC and now" bash -c "[ \"\$(echo '$key' | grep -o '[0-9]\{8\}-[0-9]\{4\}')\" = \"\$(date -u +%Y%m%d-%H%M)\" ] || [ \"\$(echo '$key' | grep -o '[0-9]\{8\}-[0-9]\{2\}')\" = \"\$(date -u +%Y%m%d-%H)\" ]"
check "md5sum -c accepts the sidecar" bash -c "cd '$dir' && md5sum -c --status '$(basename "$key").md5'"
check "zstd -t accepts the object" zstd -q -t "$T/dest/$key"
zstd -q -d "$T/dest/$key" -o "$T/plain.db"
check "zstd -d output has the source's rows" test "$(db_digest "$T/plain.db")" = "$(db_digest "$T/app.db")"
check "manifest records the plaintext SHA-256" grep -q "\"sha256\": \"$(sha256sum "$T/plain.db" | cut -d' ' -f1)\"" "$T/dest/$key.manifest.json"
check "manifest records the stored MD5" grep -q "\"md5\": \"$(md5sum "$T/dest/$key" | cut -d' ' -f1)\"" "$T/dest/$key.manifest.json"
check "manifest records the source version and facts" grep -q '"user_version": 42' "$T/dest/$key.manifest.json"

# two backups in the same second never overwrite each other
sk backup-now; rc1=$rc; sk backup-now; rc2=$rc
check "two quick backups both succeed" test "$rc1" -eq 0 -a "$rc2" -eq 0
check "three distinct backups are stored" test "$(ls "$dir" | grep -c '\.zst$')" -eq 3

sk list
check "list exits 0" rc_is 0
check "list shows 3 backups, checksum ok" test "$(grep -c ' ok$' "$T/out")" -eq 3
first=$(awk 'NR==2{print $1}' "$T/out"); last=$(awk 'NR==4{print $1}' "$T/out")
check "list is newest first" test "$first" \> "$last"
sk list --json
check "list --json is JSON with 3 entries" test "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/out")" = 3

sk verify latest
check "verify latest exits 0" rc_is 0
check "verify reports integrity_check ok" grep -q 'integrity_check ok' "$T/out"

sk restore "$key" --to "$T/restored.db"
check "restore of a key exits 0" rc_is 0
check "restored database equals the source (every table's rows and the schema)" test "$(db_digest "$T/restored.db")" = "$(db_digest "$T/app.db")"
check "restored database keeps user_version" test "$(sqlite3 "$T/restored.db" 'PRAGMA user_version')" = 42
check "restored database passes integrity_check" test "$(sqlite3 "$T/restored.db" 'PRAGMA integrity_check')" = ok
check "restore leaves no temp file beside the target" test "$(ls -A "$T" | grep -c snapkeep-restore)" -eq 0

sk restore latest --to "$T/restored.db"
check "restore over an existing file without --force is refused (exit 2)" rc_is 2
check "... and says how" err_has -- "--force"
sqlite3 "$T/restored.db" "PRAGMA journal_mode=WAL; CREATE TABLE junk(x); INSERT INTO junk VALUES(1);" >/dev/null
touch "$T/restored.db-wal" "$T/restored.db-shm"
sk restore "$(basename "$key")" --to "$T/restored.db" --force
check "restore --force by base name exits 0" rc_is 0
check "stale -wal/-shm were removed" test ! -e "$T/restored.db-wal" -a ! -e "$T/restored.db-shm"
check "the replaced database equals the source again" test "$(db_digest "$T/restored.db")" = "$(db_digest "$T/app.db")"

# the binary answers to the name backup-now (docker compose exec <svc> backup-now)
ln -s "$SK_BIN" "$T/backup-now"
"$T/backup-now" >"$T/out" 2>"$T/err"; rc=$?
check "backup-now via argv[0] exits 0" rc_is 0
check "... and stored a 4th backup" test "$(ls "$dir" | grep -c '\.zst$')" -eq 4

# dump: the raw engine output
sk dump -o "$T/raw.db"
check "dump -o writes a database equal to the source" test "$(db_digest "$T/raw.db")" = "$(db_digest "$T/app.db")"
sk dump -o "$T/raw.db"
check "dump -o never overwrites" rc_is 2
"$SK_BIN" dump 2>/dev/null | cmp -s - "$T/raw.db"
check "dump to stdout gives the same bytes as dump -o" test $? -eq 0

# JSON logs: one object per line
SNAPKEEP_LOG_FORMAT=json "$SK_BIN" backup-now 2>"$T/json.log" >/dev/null
check "JSON log lines parse, with stage, bytes, duration and rate" python3 -c '
import json,sys
lines=[json.loads(l) for l in open(sys.argv[1])]
stages={l["stage"] for l in lines if "stage" in l}
assert {"snapshot","dump","store","checksum","manifest"} <= stages, stages
assert all("bytes" in l and "duration_s" in l and "rate_bps" in l for l in lines if "stage" in l)
' "$T/json.log"
done_testing
