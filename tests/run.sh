#!/usr/bin/env bash
# Runs every test and prints one summary line "N passed, N failed".
#   unit tests:        $SK_UNIT/test_* (cmocka, TAP output)
#   integration tests: tests/integration/*.sh (TAP output), given SK_BIN and SK_TOOLS
# TESTS=pattern runs only the matching files. Logs of each file: build/test-logs/<name>.log
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
logs=$root/build/test-logs
mkdir -p "$logs"
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0 failed=0 failed_names=()

run_one() { # name, command...
  local name=$1; shift
  case "$name" in *${TESTS:-}*) ;; *) return ;; esac
  local log=$logs/${name//\//_}.log start=$SECONDS
  "$@" >"$log" 2>&1
  local rc=$?
  local ok notok
  ok=$(grep -cE '^ok( |$)' "$log")
  notok=$(grep -cE '^not ok( |$)' "$log")
  if [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ]; then
    notok=1  # died without reporting a failure: count it
    echo "not ok - $name exited with status $rc" >>"$log"
  fi
  passed=$((passed + ok)); failed=$((failed + notok))
  printf '%-28s %3d passed, %d failed (%ds)\n' "$name" "$ok" "$notok" $((SECONDS - start))
  if [ "$notok" -ne 0 ]; then
    failed_names+=("$name")
    grep -E '^not ok|^# |ERROR|runtime error|AddressSanitizer' "$log" | head -40 | sed 's/^/    /'
  fi
}

for t in "$SK_UNIT"/test_*; do
  [ -x "$t" ] || continue
  run_one "unit/$(basename "$t")" "$t"
done
for t in "$here/integration"/*.sh; do
  [ -f "$t" ] || continue
  run_one "integration/$(basename "$t" .sh)" bash "$t"
done

echo
[ ${#failed_names[@]} -eq 0 ] || echo "failed: ${failed_names[*]} (logs in $logs)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
