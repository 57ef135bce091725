#!/usr/bin/env bash
# Progress lines of a long backup (agent/progress.h): with SNAPKEEP_PROGRESS_INTERVAL=1, a backup of
# a 16 MiB SQLite database compressed at level 15 in one thread (a few seconds) prints progress
# lines, well formed in both log formats: bytes read, bytes stored, rate, percent of the snapshot's
# size, non-decreasing; a quick backup with the default interval prints none.
. "$(dirname "$0")/../lib.sh"
clean_env
: "${SK_TOOLS:?}"
"$SK_TOOLS/sqlite_load" make-realistic "$T/app.db" 16 >/dev/null
size=$(stat -c %s "$T/app.db")
export SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=$T/app.db SNAPKEEP_DEST_DIR=$T/dest SNAPKEEP_SPOOL_DIR=$T

sk backup-now
check "a quick backup with the default interval exits 0" rc_is 0
check "... and prints no progress line" bash -c "! grep -q progress '$T/err'"

export SNAPKEEP_PROGRESS_INTERVAL=1 SNAPKEEP_COMPRESSION_LEVEL=15 SNAPKEEP_COMPRESSION_THREADS=0
SNAPKEEP_LOG_FORMAT=text sk backup-now
check "a slow backup (text log) exits 0" rc_is 0
grep '\[progress\]' "$T/err" >"$T/text" || true
check "it prints progress lines" test -s "$T/text"
# 2026-12-04T22:34:11Z info  job: [progress] 38.0 MiB (39845888 bytes) in 1.02 s, 37.1 MiB/s: read, stored 2.1 MiB, 84.7% of 44.9 MiB
re='^[0-9T:-]+Z info +[^ ]+: \[progress\] [0-9.]+ [KMGT]?i?B \(([0-9]+) bytes\) in [0-9.]+ s, [0-9.]+ [KMGT]?i?B/s: read, stored [0-9.]+ [KMGT]?i?B, ([0-9.]+)% of [0-9.]+ [KMGT]?i?B$'
check "every text line has bytes read, rate, bytes stored and a percent" bash -c "! grep -Evq '$re' '$T/text'"
check "bytes and percent never decrease, percent <= 100" python3 - "$T/text" <<'PY'
import re, sys
prev = (-1, -1.0)
for l in open(sys.argv[1]):
    m = re.search(r"\((\d+) bytes\).*, ([0-9.]+)% of", l)
    cur = (int(m.group(1)), float(m.group(2)))
    assert cur[0] >= prev[0] and cur[1] >= prev[1] and cur[1] <= 100, (prev, cur)
    prev = cur
PY

SNAPKEEP_LOG_FORMAT=json sk backup-now
check "a slow backup (JSON log) exits 0" rc_is 0
check "its progress lines are JSON objects with consistent fields" python3 - "$T/err" "$size" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
prog = [l for l in lines if l.get("stage") == "progress"]
assert prog, "no progress line"
prev_b, prev_t = -1, 0.0
for p in prog:
    assert p["level"] == "info" and isinstance(p["bytes"], int) and p["read_bytes"] == p["bytes"], p
    assert isinstance(p["stored_bytes"], int) and p["stored_bytes"] <= p["bytes"], p
    assert p["total_bytes"] == int(sys.argv[2]), p
    assert 0 <= p["percent"] <= 100 and p["rate_bps"] >= 0, p
    if "phase" not in p:
        assert abs(p["percent"] - 100.0 * p["bytes"] / p["total_bytes"]) < 0.1, p
    assert p["bytes"] >= prev_b and p["duration_s"] >= prev_t + 0.9, (prev_t, p)
    prev_b, prev_t = p["bytes"], p["duration_s"]
PY
done_testing
