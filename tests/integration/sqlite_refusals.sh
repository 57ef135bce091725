#!/usr/bin/env bash
# Damaged artifacts are refused before the restore target is touched; a damaged source is never
# stored; exit codes are the documented ones.
. "$(dirname "$0")/../lib.sh"
clean_env
sqlite3 "$T/app.db" <"$(dirname "$0")/../fixtures/sqlite_fixture.sql" >/dev/null
export SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=$T/app.db SNAPKEEP_DEST_DIR=$T/dest
dir=$T/dest/snapshots/default/default

sk backup-now
check "backup exits 0" rc_is 0
key=$(cd "$T/dest" && ls snapshots/default/default/*.zst)
base=$(basename "$key")
cp "$T/dest/$key" "$T/good.zst"
cp "$T/dest/$key.md5" "$T/good.md5"
cp "$T/dest/$key.manifest.json" "$T/good.manifest"

# the restore target: an existing database whose bytes must survive every refused restore
sqlite3 "$T/target.db" "CREATE TABLE keep(x); INSERT INTO keep VALUES ('precious');"
target_sum=$(md5sum <"$T/target.db")
target_untouched() { [ "$(md5sum <"$T/target.db")" = "$target_sum" ] && [ "$(ls -A "$T" | grep -c snapkeep-restore)" -eq 0 ]; }
restore() { sk restore latest --to "$T/target.db" --force; }
reset() { cp "$T/good.zst" "$T/dest/$key"; cp "$T/good.md5" "$T/dest/$key.md5"; cp "$T/good.manifest" "$T/dest/$key.manifest.json"; }

# 1. a flipped byte in the middle of the stored object
size=$(stat -c %s "$T/good.zst")
printf '\xff' | dd of="$T/dest/$key" bs=1 seek=$((size / 2)) conv=notrunc status=none
restore
check "corrupt object: restore exits 6 (integrity)" rc_is 6
check "corrupt object: the error names the MD5 mismatch" err_has "MD5 mismatch"
check "corrupt object: target unchanged, no temp file left" target_untouched
sk verify latest
check "corrupt object: verify exits 6" rc_is 6
sk list
check "corrupt object: list still shows it (size ok), checksum state from the sidecar" grep -q "$base" "$T/out"
reset

# 2. truncated object
head -c $((size - 100)) "$T/good.zst" >"$T/dest/$key"
restore
check "truncated object: restore exits 6" rc_is 6
check "truncated object: target unchanged" target_untouched
sk list
check "truncated object: list flags the checksum state" grep -q "$base.*mismatch" "$T/out"
reset

# 3. the .md5 sidecar does not match the object (and the manifest)
echo "0123456789abcdef0123456789abcdef  $base" >"$T/dest/$key.md5"
restore
check "wrong .md5: restore exits 6" rc_is 6
check "wrong .md5: the error names the sidecar" err_has ".md5"
check "wrong .md5: target unchanged" target_untouched
reset

# 4. object and sidecar agree but the manifest's plaintext SHA-256 does not
python3 - "$T/dest/$key.manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["plain"]["sha256"] = "0" * 64
json.dump(m, open(sys.argv[1], "w"))
PY
restore
check "wrong plaintext SHA-256: restore exits 6" rc_is 6
check "wrong plaintext SHA-256: the error names SHA-256" err_has "SHA-256 mismatch"
check "wrong plaintext SHA-256: target unchanged" target_untouched
reset

# 5. a valid zstd object that is not a database (object, sidecar and manifest all consistent)
head -c 100000 /dev/urandom >"$T/notdb"
zstd -q -3 "$T/notdb" -o "$T/notdb.zst"
cp "$T/notdb.zst" "$T/dest/$key"
md5=$(md5sum "$T/notdb.zst" | cut -d' ' -f1)
echo "$md5  $base" >"$T/dest/$key.md5"
python3 - "$T/dest/$key.manifest.json" "$md5" "$(sha256sum "$T/notdb" | cut -d' ' -f1)" "$(stat -c %s "$T/notdb.zst")" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["stored"]["md5"] = sys.argv[2]; m["plain"]["sha256"] = sys.argv[3]
m["stored"]["size"] = int(sys.argv[4]); m["plain"]["size"] = 100000
json.dump(m, open(sys.argv[1], "w"))
PY
restore
check "consistent checksums over a non-database: restore exits 6" rc_is 6
check "... refused by the engine's check" err_has "not an SQLite database"
check "... target unchanged" target_untouched
reset

restore
check "after all that, the good backup restores (exit 0)" rc_is 0
check "restored content equals the source" test "$(db_digest "$T/target.db")" = "$(db_digest "$T/app.db")"

# unknown backups
sk restore sqlite_app_19990101-000000.sqlite3.zst --to "$T/x.db"
check "unknown key: restore exits 7 (not found)" rc_is 7
SNAPKEEP_DEST_DIR=$T/empty sk verify latest
check "no backups: verify latest exits 7" rc_is 7

# a damaged source is never stored
cp "$T/app.db" "$T/bad.db"
sqlite3 "$T/bad.db" "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;" >/dev/null
pages=$(sqlite3 "$T/bad.db" "PRAGMA page_count")
# overwrite a page in the middle of the posts table's b-tree with garbage
head -c 4096 /dev/urandom | dd of="$T/bad.db" bs=4096 seek=$((pages / 2)) conv=notrunc status=none
SNAPKEEP_SQLITE_PATH=$T/bad.db SNAPKEEP_DEST_DIR=$T/baddest sk backup-now
check "damaged source: backup-now exits 6" rc_is 6
check "damaged source: the error names integrity_check" err_has "integrity_check"
check "damaged source: nothing stored" test -z "$(find "$T/baddest" -type f 2>/dev/null)"

# a missing source
SNAPKEEP_SQLITE_PATH=$T/nope.db sk backup-now
check "missing source file: exit 4 (source)" rc_is 4
check "... naming the variable" err_has "SNAPKEEP_SQLITE_PATH"
printf 'not a database at all, just text\n%.0s' {1..200} >"$T/text.db"
SNAPKEEP_SQLITE_PATH=$T/text.db sk backup-now
check "a file that is not a database: exit 4" rc_is 4
check "... saying so" err_has "not an SQLite database\|not a database"
done_testing
