#!/usr/bin/env bash
# SQLite: snapkeep backup-now (snapshot + zstd -3 + MD5 + local store) against what a user would do
# by hand: sqlite3 SRC ".backup X" && zstd -3 -T0 X. Wall time and peak RSS, median of RUNS runs,
# on a database of SIZE_MIB MiB (default 1100, i.e. over 1 GiB).
set -euo pipefail
cd "$(dirname "$0")/.."
size=${SIZE_MIB:-1100} runs=${RUNS:-3}
work=${BENCH_DIR:-/tmp/snapkeep-bench}
mkdir -p "$work"
make -s build/asan/tools/sqlite_load >/dev/null 2>&1 || true
src=$work/bench-$size.db
if [ ! -f "$src" ]; then
  echo "creating a ${size} MiB SQLite database at $src (kept for the next run)..."
  cc -std=c11 -D_GNU_SOURCE -O2 -o "$work/sqlite_load" tests/tools/sqlite_load.c -lsqlite3 -lpthread
  "$work/sqlite_load" make "$src.tmp" "$size" && mv "$src.tmp" "$src"
fi
bytes=$(stat -c %s "$src")
measure() { # label, command...: appends "wall rss" for each run
  local label=$1; shift
  for i in $(seq "$runs"); do
    rm -rf "$work/out" && mkdir -p "$work/out"
    sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
    cat "$src" >/dev/null   # same warm cache for both contenders
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }
    echo "$label $(cat "$work/time")"
  done
}
{
  measure snapkeep env -i PATH="$PATH" SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH="$src" \
    SNAPKEEP_DEST_DIR="$work/out" SNAPKEEP_SPOOL_DIR="$work" bin/snapkeep backup-now
  measure baseline bash -c "sqlite3 '$src' '.backup $work/out/x.db' && zstd -q -3 -T0 '$work/out/x.db'"
} >"$work/results"
sk_size=$(find "$work/out" -name '*.zst' -size +0 2>/dev/null | head -1)
python3 - "$work/results" "$bytes" "$runs" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = lambda who, i: statistics.median(float(r[i]) for r in rows if r[0] == who)
s_t, b_t = med("snapkeep", 1), med("baseline", 1)
s_m, b_m = med("snapkeep", 2) / 1024, med("baseline", 2) / 1024
size = int(sys.argv[2]) / 2**20
print(f"\nSQLite backup of a {size:.0f} MiB database, median of {sys.argv[3]} runs (2 cores):")
print(f"| tool | wall time (s) | peak RSS (MiB) |")
print(f"|---|---|---|")
print(f"| snapkeep backup-now (zstd -3, MD5, local dir) | {s_t:.2f} | {s_m:.1f} |")
print(f"| sqlite3 .backup && zstd -3 -T0 | {b_t:.2f} | {b_m:.1f} |")
print(f"| ratio snapkeep / baseline | {s_t / b_t:.2f} | {s_m / b_m:.2f} |")
PY
