#!/usr/bin/env bash
# bench/age.sh: what client-side encryption (age, two X25519 recipients) adds to `snapkeep
# backup-now`: plain (A) against encrypted (B) backups, alternating A B A B (bench/lib.sh), on a
# realistic SQLite database of 1 GB × BENCH_SCALE (tests/tools/sqlite_load.c make-realistic, the
# one bench/sqlite.sh uses) and a pgbench database of scale 10 × BENCH_SCALE.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
command -v age-keygen >/dev/null || { echo "age missing (Debian package 'age')" >&2; exit 1; }
make -s all >/dev/null
bench_init age
trap 'tests/servers/pg.sh stop "$BW/pg" >/dev/null 2>&1 || true; [ "${BENCH_KEEP:-}" = 1 ] || rm -rf "$BW"' EXIT
cc -std=c11 -D_GNU_SOURCE -O2 -o "$BW/sqlite_load" tests/tools/sqlite_load.c -lsqlite3 -lpthread
"$BW/sqlite_load" make-realistic "$BW/app.db" "$(scaled 1000)"
age-keygen -o "$BW/k1" 2>/dev/null; age-keygen -o "$BW/k2" 2>/dev/null
rcpts="$(age-keygen -y "$BW/k1") $(age-keygen -y "$BW/k2")"
tests/servers/pg.sh start "$BW/pg" >/dev/null
# shellcheck disable=SC1091
. "$BW/pg/env"
createdb bench
pgbench -q -i -s "$(scaled 10)" bench >/dev/null 2>&1
printf 'postgresql://%s@127.0.0.1:%s/bench\n' "$PGUSER" "$PGPORT" >"$BW/url"

bench_prep() { rm -rf "$BW/out" && mkdir -p "$BW/out"; }
common="env -i PATH=$PATH SNAPKEEP_STATE_DIR=$BW/state SNAPKEEP_DEST_DIR=$BW/out SNAPKEEP_SPOOL_DIR=$BW PGPASSFILE=$PGPASSFILE"
for what in "SQLite:SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=$BW/app.db" \
            "PostgreSQL pgbench:SNAPKEEP_ENGINE=postgres DATABASE_URL_FILE=$BW/url"; do
    bench_pair "encryption overhead, ${what%%:*}" \
        "backup-now (plain)" "$common ${what#*:} bin/snapkeep backup-now" \
        "backup-now (age, 2 recipients)" "$common ${what#*:} SNAPKEEP_AGE_RECIPIENTS='$rcpts' bin/snapkeep backup-now"
done
