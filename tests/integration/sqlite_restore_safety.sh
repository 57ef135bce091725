#!/usr/bin/env bash
# What is stored must be restorable, and a restore must go where the user meant and write no more
# than the manifest promised (issue 10, items 6, 7, 11, 14):
#  - a source that fails integrity_check (an index out of step with its table passes quick_check)
#    is never stored, because restore and verify require integrity_check;
#  - a 0-byte source fails the backup; a database without tables is stored with a warning;
#  - --to a symlink restores into the file the link points to (the link stays); a dangling link
#    is refused, with or without --force;
#  - a tampered object that decompresses to far more than the manifest's plaintext size is
#    refused before it fills the disk (run under `ulimit -f`), and a download longer than the
#    stored size stops at that size.
. "$(dirname "$0")/../lib.sh"
clean_env
sqlite3 "$T/app.db" <"$(dirname "$0")/../fixtures/sqlite_fixture.sql" >/dev/null
export SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=$T/app.db SNAPKEEP_DEST_DIR=$T/dest
src_digest=$(db_digest "$T/app.db")

# ---- item 6: the backup runs the check restore requires -----------------------------------------
sqlite3 "$T/idx.db" "CREATE TABLE t(a INTEGER, b TEXT); CREATE INDEX i ON t(a);
  WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM n WHERE x<200) INSERT INTO t SELECT x, 'v'||(x*7%13) FROM n;
  PRAGMA writable_schema=ON; UPDATE sqlite_schema SET sql='CREATE INDEX i ON t(b)' WHERE name='i'; PRAGMA writable_schema=OFF;"
check "fixture: the index no longer matches its table: quick_check ok, integrity_check not" \
  bash -c "[ \"\$(sqlite3 '$T/idx.db' 'PRAGMA quick_check')\" = ok ] && [ \"\$(sqlite3 '$T/idx.db' 'PRAGMA integrity_check' | head -1)\" != ok ]"
SNAPKEEP_SQLITE_PATH=$T/idx.db SNAPKEEP_DEST_DIR=$T/idxdest sk backup-now
check "index out of step with its table: backup-now exits 6 (integrity)" rc_is 6
check "... naming integrity_check and the index" bash -c "grep -q 'integrity_check' '$T/err' && grep -q 'missing from index i' '$T/err'"
check "... and nothing is stored" test -z "$(find "$T/idxdest" -type f 2>/dev/null)"
# SNAPKEEP_SQLITE_CHECK=quick (issue 13: a tenth of the check's CPU) trades exactly this case away:
# the backup is stored, its log names quick_check, and the drill's integrity_check still refuses it.
SNAPKEEP_SQLITE_CHECK=quick SNAPKEEP_SQLITE_PATH=$T/idx.db SNAPKEEP_DEST_DIR=$T/idxquick sk backup-now
check "SNAPKEEP_SQLITE_CHECK=quick: the same source is stored (exit 0), the log naming quick_check" \
  bash -c "[ $rc -eq 0 ] && grep -q 'PRAGMA quick_check of the snapshot of .*: ok' '$T/err'"
SNAPKEEP_SQLITE_CHECK=quick SNAPKEEP_SQLITE_PATH=$T/idx.db SNAPKEEP_DEST_DIR=$T/idxquick SNAPKEEP_SPOOL_DIR=$T sk drill
check "... and a drill of that backup fails on integrity_check (exit 6)" \
  bash -c "[ $rc -eq 6 ] && grep -q 'integrity_check' '$T/err'"
SNAPKEEP_SQLITE_CHECK=quik SNAPKEEP_SQLITE_PATH=$T/idx.db SNAPKEEP_DEST_DIR=$T/idxquick sk backup-now
check "SNAPKEEP_SQLITE_CHECK=quik is refused (exit 3, configuration), naming the variable and the choices" \
  bash -c "[ $rc -eq 3 ] && grep -q 'SNAPKEEP_SQLITE_CHECK' '$T/err' && grep -q 'full|quick' '$T/err'"

# ---- item 7: empty sources ---------------------------------------------------------------------
: >"$T/zero.db"
SNAPKEEP_SQLITE_PATH=$T/zero.db SNAPKEEP_DEST_DIR=$T/zerodest sk backup-now
check "a 0-byte source: backup-now exits 4 (source)" rc_is 4
check "... saying the file is empty and naming the variable" bash -c "grep -q 'empty file (0 bytes)' '$T/err' && grep -q SNAPKEEP_SQLITE_PATH '$T/err'"
check "... and nothing is stored" test -z "$(find "$T/zerodest" -type f 2>/dev/null)"
sqlite3 "$T/notables.db" "PRAGMA user_version=3"
SNAPKEEP_SQLITE_PATH=$T/notables.db SNAPKEEP_DEST_DIR=$T/ntdest sk backup-now
check "a database without tables: backup-now exits 0 (it is a valid database)" rc_is 0
check "... with a warning that it holds no data" grep -q 'warn .*no tables.*holds no data' "$T/err"
sk backup-now
check "a database with tables: no such warning" bash -c "[ $rc -eq 0 ] && ! grep -q 'no tables' '$T/err'"

# ---- item 11: symlinks as --to -----------------------------------------------------------------
mkdir -p "$T/volume"
sqlite3 "$T/volume/real.db" "CREATE TABLE old(x); INSERT INTO old VALUES ('before the restore');"
chmod 640 "$T/volume/real.db"
ln -s "$T/volume/real.db" "$T/link.db"
sk restore latest --to "$T/link.db"
check "--to a symlink to an existing database without --force: refused (exit 2)" rc_is 2
sk restore latest --to "$T/link.db" --force
check "--to a symlink with --force: exit 0" rc_is 0
check "... the link is still a link to the same file" bash -c "[ -L '$T/link.db' ] && [ \"\$(readlink '$T/link.db')\" = '$T/volume/real.db' ]"
check "... the file it points to holds the restored database" test "$(db_digest "$T/volume/real.db")" = "$src_digest"
check "... and keeps its mode" test "$(stat -c %a "$T/volume/real.db")" = 640
check "... the log names the real file" err_has "restoring into '$T/volume/real.db'"
check "... no temp file is left in either directory" bash -c "! ls -A '$T' '$T/volume' | grep -q snapkeep-restore"
ln -s "$T/nowhere/gone.db" "$T/dangling.db"
for force in "" --force; do
  sk restore latest --to "$T/dangling.db" $force
  check "--to a dangling symlink ${force:-without --force}: refused (exit 2)" rc_is 2
  check "... saying the link points to a missing file" err_has "symbolic link to a file that does not exist"
  check "... and the link is left as it was" bash -c "[ -L '$T/dangling.db' ] && [ \"\$(readlink '$T/dangling.db')\" = '$T/nowhere/gone.db' ]"
done

# ---- item 14: never write more than the manifest promised --------------------------------------
key=$(cd "$T/dest" && ls snapshots/default/default/*.sqlite3.zst | tail -1)
cp "$T/dest/$key" "$T/good.zst"
plain=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["plain"]["size"])' "$T/dest/$key.manifest.json")
# a small object that decompresses to 200 MiB of zeros (a zstd bomb), under the same key
head -c 200M /dev/zero | zstd -q -19 -c >"$T/dest/$key"
check "fixture: the tampered object is small ($(stat -c %s "$T/dest/$key") bytes), the database $plain bytes" \
  test "$(stat -c %s "$T/dest/$key")" -lt 100000
# at most 16 MiB may be written by the process: far more than the database, far less than the bomb
( ulimit -f 16384; exec "$SK_BIN" restore latest --to "$T/bomb.db" ) >"$T/out" 2>"$T/err"; rc=$?
check "a decompression bomb: restore exits 6 (integrity), not killed by the file-size limit" rc_is 6
check "... the error names the MD5 mismatch (the root cause)" err_has "MD5 mismatch"
check "... no target and no temp file are left" bash -c "[ ! -e '$T/bomb.db' ] && ! ls -A '$T' | grep -q snapkeep-restore"
# manifest and sidecar rewritten to match the bomb: the plaintext size check alone must stop it
python3 - "$T/dest/$key" <<'EOF'
import hashlib, json, os, sys
k = sys.argv[1]; data = open(k, "rb").read(); md5 = hashlib.md5(data).hexdigest()
m = json.load(open(k + ".manifest.json"))
m["stored"]["md5"] = md5; m["stored"]["size"] = len(data)
json.dump(m, open(k + ".manifest.json", "w"))
open(k + ".md5", "w").write("%s  %s\n" % (md5, os.path.basename(k)))
EOF
( ulimit -f 16384; exec "$SK_BIN" restore latest --to "$T/bomb.db" ) >"$T/out" 2>"$T/err"; rc=$?
check "a bomb with a matching MD5: restore exits 6, not killed by the file-size limit" rc_is 6
check "... saying the plaintext exceeds the manifest's size" err_has "plaintext of .*more than the $plain bytes"
check "... no target and no temp file are left" bash -c "[ ! -e '$T/bomb.db' ] && ! ls -A '$T' | grep -q snapkeep-restore"
# a stored object longer than recorded: the download stops at the stored size
cp "$T/good.zst" "$T/dest/$key"
python3 - "$T/dest/$key" <<'EOF'
import hashlib, json, os, sys
k = sys.argv[1]; data = open(k, "rb").read(); md5 = hashlib.md5(data).hexdigest()
m = json.load(open(k + ".manifest.json"))
m["stored"]["md5"] = md5; m["stored"]["size"] = len(data)
json.dump(m, open(k + ".manifest.json", "w"))
open(k + ".md5", "w").write("%s  %s\n" % (md5, os.path.basename(k)))
EOF
sk restore latest --to "$T/good.db"
check "fixture: the restored manifest and sidecar are consistent again (restore exits 0)" rc_is 0
head -c 20M /dev/urandom >>"$T/dest/$key"
sk restore latest --to "$T/long.db"
check "an object longer than the stored size: restore exits 6" rc_is 6
check "... the download stops at the stored size and says so" err_has "download of .*more than the [0-9]* bytes the manifest records"
check "... no target and no temp file are left" bash -c "[ ! -e '$T/long.db' ] && ! ls -A '$T' | grep -q snapkeep-restore"
done_testing
