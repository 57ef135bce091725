#!/usr/bin/env bash
# The SQLite snapshot is streamed while it is copied, and a WAL source is checked on the same
# snapshot during the copy (issue 13): what is stored must still be exactly the pinned snapshot,
# also when its newest pages, page 1 among them, live only in the WAL, and a damaged index must
# still be refused.
. "$(dirname "$0")/../lib.sh"
clean_env
export SNAPKEEP_ENGINE=sqlite SNAPKEEP_DEST_DIR=$T/dest

# A WAL database whose file is stale: a connection holds it open with automatic checkpoints off,
# after commits that add a table (page 1 changes), grow the file and rewrite rows.
python3 - "$T/wal.db" "$T/ready" "$T/stop" <<'PY' &
import os, sqlite3, sys, time
db, ready, stop = sys.argv[1:4]
c = sqlite3.connect(db, isolation_level=None)
c.execute("PRAGMA journal_mode=WAL")
c.execute("CREATE TABLE a(id INTEGER PRIMARY KEY, v TEXT)")
c.execute("CREATE INDEX a_v ON a(v)")
c.execute("BEGIN")
for i in range(3000):
    c.execute("INSERT INTO a(v) VALUES (?)", ("old %d %s" % (i, "o" * (i % 40)),))
c.execute("COMMIT")
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
c.execute("PRAGMA wal_autocheckpoint=0")
c.execute("CREATE TABLE b(k TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID")
c.execute("BEGIN")
for i in range(20000):
    c.execute("INSERT INTO a(v) VALUES (?)", ("new %d %s" % (i, "n" * (i % 60)),))
    c.execute("INSERT INTO b VALUES (?, ?)", ("k%d" % i, i))
c.execute("UPDATE a SET v = v || '!' WHERE id % 7 = 0")
c.execute("COMMIT")
open(ready, "w").write("ready")
while not os.path.exists(stop):
    time.sleep(0.05)
PY
holder=$!
for _ in $(seq 200); do [ -e "$T/ready" ] && break; sleep 0.05; done
check "fixture: the newest pages are only in the WAL (the main file is $(stat -c %s "$T/wal.db") bytes, the WAL $(stat -c %s "$T/wal.db-wal" 2>/dev/null || echo 0))" \
  bash -c "[ -e '$T/ready' ] && [ \$(stat -c %s '$T/wal.db-wal') -gt \$(stat -c %s '$T/wal.db') ]"
SNAPKEEP_SQLITE_PATH=$T/wal.db sk backup-now
check "backup-now of the WAL database exits 0" rc_is 0
check "... with integrity_check run on the same snapshot during the copy" err_has "integrity_check running on the same snapshot"
want=$(db_digest "$T/wal.db")
SNAPKEEP_SQLITE_PATH=$T/wal.db sk restore latest --to "$T/restored.db"
check "restore exits 0" rc_is 0
check "the restored database equals the source as its writer left it (page 1 and new pages from the WAL)" \
  test "$(db_digest "$T/restored.db")" = "$want"
check "... and passes integrity_check" test "$(sqlite3 "$T/restored.db" 'PRAGMA integrity_check')" = ok
check "... holds the rows committed only to the WAL" test "$(sqlite3 "$T/restored.db" 'SELECT count(*) FROM b')" = 20000
touch "$T/stop"
wait "$holder"

# A WAL database with an index out of step with its table: refused, as for a rollback-journal one
# (whose check runs on the spool file: sqlite_restore_safety.sh).
sqlite3 "$T/idx.db" "PRAGMA journal_mode=WAL; CREATE TABLE t(a INTEGER, b TEXT); CREATE INDEX i ON t(a);
  WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM n WHERE x<200) INSERT INTO t SELECT x, 'v'||(x*7%13) FROM n;
  PRAGMA writable_schema=ON; UPDATE sqlite_schema SET sql='CREATE INDEX i ON t(b)' WHERE name='i'; PRAGMA writable_schema=OFF;" >/dev/null
check "fixture: a WAL database; quick_check ok, integrity_check not" \
  bash -c "[ \"\$(sqlite3 '$T/idx.db' 'PRAGMA journal_mode')\" = wal ] && [ \"\$(sqlite3 '$T/idx.db' 'PRAGMA quick_check')\" = ok ] && [ \"\$(sqlite3 '$T/idx.db' 'PRAGMA integrity_check' | head -1)\" != ok ]"
SNAPKEEP_SQLITE_PATH=$T/idx.db SNAPKEEP_DEST_DIR=$T/idxdest sk backup-now
check "index out of step with its table in a WAL database: backup-now exits 6 (integrity)" rc_is 6
check "... naming integrity_check and the index" bash -c "grep -q 'integrity_check' '$T/err' && grep -q 'missing from index i' '$T/err'"
check "... and nothing is stored" test -z "$(find "$T/idxdest" -type f 2>/dev/null)"
done_testing
