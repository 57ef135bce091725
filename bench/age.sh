#!/usr/bin/env bash
# bench/age.sh: what client-side encryption (age, two X25519 recipients) adds to the wall time of
# `snapkeep backup-now`, on the SQLite benchmark database (SIZE_MIB, default 1100, shared with
# bench/sqlite.sh) and a pgbench database (PG_BENCH_SCALE, default 10). Plain (A) and encrypted (B)
# backups alternate A B A B ... for PAIRS pairs (default 5), so a busy machine hits both alike;
# prints every pair's ratio B/A and the median. Never a pass/fail test.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${SIZE_MIB:-1100} pairs=${PAIRS:-5} scale=${PG_BENCH_SCALE:-10}
work=${BENCH_DIR:-/tmp/snapkeep-bench}
mkdir -p "$work"
command -v age-keygen >/dev/null || { echo "age missing (Debian package 'age')" >&2; exit 1; }
make -s all >/dev/null
src=$work/bench-$size.db
if [ ! -f "$src" ]; then
    echo "creating a ${size} MiB SQLite database at $src (kept for the next run)..."
    cc -std=c11 -D_GNU_SOURCE -O2 -o "$work/sqlite_load" tests/tools/sqlite_load.c -lsqlite3 -lpthread
    "$work/sqlite_load" make "$src.tmp" "$size" && mv "$src.tmp" "$src"
fi
W=$(mktemp -d /tmp/snapkeep-agebench-XXXXXX)
chmod 755 "$W"
cleanup() { tests/servers/pg.sh stop "$W/pg" >/dev/null 2>&1 || true; rm -rf "$W"; }
trap cleanup EXIT
age-keygen -o "$W/k1" 2>/dev/null; age-keygen -o "$W/k2" 2>/dev/null
rcpts="$(age-keygen -y "$W/k1") $(age-keygen -y "$W/k2")"

tests/servers/pg.sh start "$W/pg" >/dev/null
# shellcheck disable=SC1091
. "$W/pg/env"
createdb bench
pgbench -q -i -s "$scale" bench >/dev/null 2>&1
printf 'postgresql://%s@127.0.0.1:%s/bench\n' "$PGUSER" "$PGPORT" >"$W/url"

one() { # ENGINE-ENV... : wall seconds of one backup-now into a fresh directory
    rm -rf "$W/out" && mkdir -p "$W/out"
    /usr/bin/time -f '%e' -o "$W/time" env -i PATH="$PATH" SNAPKEEP_STATE_DIR="$W/state" SNAPKEEP_DEST_DIR="$W/out" \
        SNAPKEEP_SPOOL_DIR="$W" PGPASSFILE="$PGPASSFILE" "$@" bin/snapkeep backup-now >/dev/null 2>"$W/err" || { cat "$W/err"; exit 1; }
    cat "$W/time"
}
run() { # LABEL ENGINE-ENV...
    local label=$1; shift
    local i a b
    : >"$W/pairs"
    for i in $(seq "$pairs"); do
        a=$(one "$@")
        b=$(one "$@" SNAPKEEP_AGE_RECIPIENTS="$rcpts")
        echo "$a $b" >>"$W/pairs"
    done
    python3 - "$W/pairs" "$label" <<'PY'
import statistics, sys
pairs = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
ratios = [b / a for a, b in pairs]
print(f"| {sys.argv[2]} | {statistics.median(a for a, _ in pairs):.2f} | {statistics.median(b for _, b in pairs):.2f} | "
      f"{statistics.median(ratios):.3f} | {' '.join(f'{r:.3f}' for r in ratios)} |")
PY
}
echo
echo "Encryption overhead of backup-now (age, 2 recipients), $pairs alternating pairs, $(nproc) cores, machine shared:"
echo "| database | plain median (s) | encrypted median (s) | median ratio | per-pair ratios |"
echo "|---|---|---|---|---|"
run "SQLite $(( $(stat -c %s "$src") >> 20 )) MiB" SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH="$src"
run "PostgreSQL 15 pgbench scale $scale" SNAPKEEP_ENGINE=postgres DATABASE_URL_FILE="$W/url"
