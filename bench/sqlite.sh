#!/usr/bin/env bash
# bench/sqlite.sh: `snapkeep backup-now` (the whole CLI, configured by environment, to a local
# directory) against what a user would run by hand, `sqlite3 DB '.backup X' && zstd -3 -T0 X`,
# alternating A B A B (bench/lib.sh), on a WAL database of about 1 GB × BENCH_SCALE of realistic
# order rows (tests/tools/sqlite_load.c make-realistic: fixed seed, two indexes), while a writer
# commits SQLITE_WRITE_RATE (default 200) transfers a second during snapkeep's runs; the worst commit
# latency the writer saw during each run is reported. The writer is stopped (SIGSTOP) during the
# reference's runs: the sqlite3 shell's .backup copies 100 pages a step and restarts whenever another
# process commits, so under this load it never finishes (seen on this bench). That favours the
# reference: it runs on a quiet database and without the writer's CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
command -v sqlite3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null
make -s all >/dev/null
bench_init sqlite
writer_pid=
trap '[ -z "$writer_pid" ] || kill "$writer_pid" 2>/dev/null; [ "${BENCH_KEEP:-}" = 1 ] || rm -rf "$BW"' EXIT
cc -std=c11 -D_GNU_SOURCE -O2 -o "$BW/sqlite_load" tests/tools/sqlite_load.c -lsqlite3 -lpthread
src=$BW/app.db
"$BW/sqlite_load" make-realistic "$src" "$(scaled 1000)"
echo "# database: $(du -m "$src" | cut -f1) MiB (WAL mode), writer at ${SQLITE_WRITE_RATE:-200} commits/s"

"$BW/sqlite_load" writer "$src" "${SQLITE_WRITE_RATE:-200}" "$BW/writer-max" >"$BW/writer.out" 2>&1 &
writer_pid=$!
for _ in $(seq 100); do [ -s "$BW/writer-max" ] && break; sleep 0.05; done   # its signal handlers are set
[ -s "$BW/writer-max" ] || { echo "the writer did not start: $(cat "$BW/writer.out")" >&2; exit 1; }
bench_prep() {
    rm -rf "$BW/dest" "$BW/x.db" "$BW/x.db.zst"
    mkdir -p "$BW/dest"
    if [ "$1" = B ]; then kill -STOP "$writer_pid"; return; fi
    kill -USR1 "$writer_pid"; sleep 0.1   # resets the writer's worst latency
}
bench_post() {
    if [ "$1" = B ]; then kill -CONT "$writer_pid"; return; fi
    rm -f "$BW/writer-max"
    kill -USR1 "$writer_pid"
    for _ in $(seq 50); do [ -s "$BW/writer-max" ] && break; sleep 0.02; done
    cp "$BW/writer-max" "$BENCH_EXTRA"
}
bench_pair "SQLite backup to a local directory, writers committing" \
    "snapkeep backup-now${SNAPKEEP_SQLITE_CHECK:+ (SNAPKEEP_SQLITE_CHECK=$SNAPKEEP_SQLITE_CHECK)}" "env SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=$src SNAPKEEP_DEST_DIR=$BW/dest SNAPKEEP_SPOOL_DIR=$BW bin/snapkeep backup-now" \
    "sqlite3 .backup && zstd -3 -T0 (no writer)" "sqlite3 '$src' '.backup $BW/x.db' && zstd -q -3 -T0 '$BW/x.db'"
kill "$writer_pid"; wait "$writer_pid" || true; writer_pid=
echo "   writer: $(cat "$BW/writer.out")"
