#!/usr/bin/env bash
# make bench: every benchmark in bench/*.sh except this one. BENCH=pattern runs only matching ones.
set -euo pipefail
cd "$(dirname "$0")/.."
for b in bench/*.sh; do
  [ "$(basename "$b")" = run.sh ] && continue
  case "$b" in *${BENCH:-}*) bash "$b" ;; esac
done
