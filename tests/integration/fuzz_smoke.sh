#!/usr/bin/env bash
# Smoke run of every fuzz harness (tests/fuzz/, built by make test into $SK_FUZZ): each one runs
# its whole seed corpus, regression inputs included, then a fixed-seed mutation run of a few
# seconds. Deterministic (-seed=1): a failure here is a finding, not noise. `make fuzz` is the
# long run.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
: "${SK_FUZZ:?SK_FUZZ must point at the fuzz harnesses (make test sets it)}"
fuzz=$(dirname "$here")/fuzz
secs=${FUZZ_SMOKE_SECONDS:-4}
export LSAN_OPTIONS=suppressions=$fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}

harnesses=$(cd "$fuzz" && ls fuzz_*.c | sed 's/\.c$//')
check "the harnesses are built (one per tests/fuzz/fuzz_*.c)" \
  bash -c "for h in $(echo $harnesses); do [ -x '$SK_FUZZ'/\$h ] || { echo \"# missing \$h\"; exit 1; }; done"
for h in $harnesses; do
  name=${h#fuzz_}
  [ -x "$SK_FUZZ/$h" ] || { nok "$name: not built"; continue; }
  mkdir -p "$T/$name" "$T/art-$name"
  dict=() opts=()
  [ -f "$fuzz/dict/$name.dict" ] && dict=(-dict="$fuzz/dict/$name.dict")
  [ -f "$fuzz/options/$name" ] && read -r -a opts <<<"$(grep -v '^#' "$fuzz/options/$name" | tr '\n' ' ')"
  "$SK_FUZZ/$h" -seed=1 -runs=300000 -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$T/art-$name/" "${dict[@]}" "${opts[@]}" "$T/$name" "$fuzz/corpus/$name" \
    </dev/null >"$T/$name.log" 2>&1
  rc=$?
  seeds=$(ls "$fuzz/corpus/$name" | wc -l)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/$name.log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$T/$name.log" | tail -1)
  if [ "$rc" -eq 0 ] && [ "$seeds" -gt 0 ] && [ "${execs:-0}" -ge "$seeds" ]; then
    ok "$name: $seeds corpus inputs and ${execs} executions without a finding ($cov)"
  else
    nok "$name: rc $rc, $seeds corpus inputs, ${execs:-?} executions"
    grep -E 'ERROR|property failed|SUMMARY|runtime error|Test unit written|fuzz_' "$T/$name.log" | head -8 | sed 's/^/#   /'
  fi
done
done_testing
