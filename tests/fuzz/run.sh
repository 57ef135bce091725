#!/usr/bin/env bash
# make fuzz: runs every harness (or those whose name contains $1) for FUZZ_SECONDS each, one
# after the other, at the lowest priority (nice 19, in an autogroup of its own; the machine is shared). New inputs go to build/fuzz/corpus/<h>
# (the seeds in tests/fuzz/corpus/<h> are read, never written); findings to
# build/fuzz/artifacts/<h>/; the log to build/fuzz/logs/<h>.log. Prints per harness: executions,
# edges covered (cov), features (ft) and the number of findings, and exits 1 when any was found.
#   SK_FUZZ       directory of the harness binaries (build/fuzz)
#   FUZZ_SECONDS  time per harness (default 60)
#   FUZZ_ARGS     extra libFuzzer options (e.g. -runs=10000000 -jobs=2)
# A harness's own libFuzzer options, if any, are in options/<h> (one or more a line, # comments).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$(dirname "$here")")
bins=${SK_FUZZ:-$root/build/fuzz}
secs=${FUZZ_SECONDS:-60}
pattern=${1:-}
found=0
export LSAN_OPTIONS=suppressions=$here/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}
for bin in "$bins"/fuzz_*; do
  [ -x "$bin" ] || continue
  h=$(basename "$bin"); h=${h#fuzz_}
  case "$h" in *"$pattern"*) ;; *) continue ;; esac
  work=$root/build/fuzz/corpus/$h art=$root/build/fuzz/artifacts/$h/ log=$root/build/fuzz/logs/$h.log
  mkdir -p "$work" "$art" "$(dirname "$log")" "$here/corpus/$h"
  dict=() opts=()
  [ -f "$here/dict/$h.dict" ] && dict=(-dict="$here/dict/$h.dict")
  [ -f "$here/options/$h" ] && read -r -a opts <<<"$(grep -v '^#' "$here/options/$h" | tr '\n' ' ')"
  before=$(ls "$art" | wc -l)
  # stdin from /dev/null: a config-file input may name /dev/stdin as a *_file. A session of its own
  # whose autogroup gets nice 19 too: with autogroup scheduling, nice alone only ranks the processes
  # of one login session, and the fuzzer took a full core's share from a benchmark in another.
  setsid -w sh -c 'echo 19 >/proc/self/autogroup 2>/dev/null; exec nice -n 19 "$@"' fuzz "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$art" "${dict[@]}" "${opts[@]}" ${FUZZ_ARGS:-} "$work" "$here/corpus/$h" </dev/null >"$log" 2>&1
  rc=$?
  after=$(ls "$art" | wc -l)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
  printf '%-14s %12s execs  %-18s findings: %d (rc %d)\n' "$h" "${execs:-?}" "${cov:-cov: ?}" $((after - before)) "$rc"
  if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
    found=1
    grep -E 'ERROR|property failed|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/    /'
  fi
done
exit $found
