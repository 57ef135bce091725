#!/usr/bin/env bash
# `make demo`: a real backup of a sample SQLite database into ./demo/backups, then list, verify,
# restore into a new file, and check that the restored database equals the original.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/bin/snapkeep
d=$PWD/demo
rm -rf "$d" && mkdir -p "$d"
echo "== creating a sample database: $d/app.db"
sqlite3 "$d/app.db" <tests/fixtures/sqlite_fixture.sql >/dev/null
export SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=$d/app.db SNAPKEEP_DEST_DIR=$d/backups \
       SNAPKEEP_SERVICE=demo SNAPKEEP_ENVIRONMENT=local
echo "== snapkeep backup-now"
"$bin" backup-now
echo "== snapkeep list"
"$bin" list
echo "== snapkeep verify latest"
"$bin" verify latest
echo "== snapkeep restore latest --to $d/restored.db"
"$bin" restore latest --to "$d/restored.db"
echo "== comparing every table of the original and the restored database"
python3 tests/tools/db_digest.py "$d/app.db" >"$d/original.digest"
python3 tests/tools/db_digest.py "$d/restored.db" >"$d/restored.digest"
if diff -u "$d/original.digest" "$d/restored.digest"; then
  echo "== demo ok: the restored database equals the original ($(wc -l <"$d/original.digest") checks)"
  echo "   backups are in $d/backups; check one with the stock tools:"
  echo "   (cd $d/backups/snapshots/demo/local && md5sum -c *.md5 && zstd -t *.zst)"
else
  echo "== demo FAILED: the restored database differs" >&2
  exit 1
fi
