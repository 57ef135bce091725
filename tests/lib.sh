# Shared helpers for integration tests (bash). Source it; it sets `set -u`, a work dir in $T
# (removed at exit), TAP counters, and checks SK_BIN.
set -u
: "${SK_BIN:?SK_BIN must point at the snapkeep binary (make test sets it)}"
T=$(mktemp -d /tmp/snapkeep-it-XXXXXX)
trap 'rm -rf "$T"' EXIT
_n=0 _failed=0
ok()   { _n=$((_n + 1)); echo "ok $_n - $*"; }
nok()  { _n=$((_n + 1)); _failed=$((_failed + 1)); echo "not ok $_n - $*"; }
check() { # description, then a command: ok when it succeeds
  local d=$1; shift
  if "$@"; then ok "$d"; else nok "$d"; fi
}
done_testing() { _secrets_check; echo "1..$_n"; [ "$_failed" -eq 0 ]; }
# run snapkeep capturing stdout/stderr into $T/out $T/err, status in $rc
sk() {
  "$SK_BIN" "$@" >"$T/out" 2>"$T/err"; rc=$?
  cat "$T/err" >>"$T/all-stderr"; cat "$T/out" >>"$T/all-stdout"; return 0
}

# Secrets: `secret VALUE...` and `secret_watch PATH...` (tests/secrets.sh); done_testing checks them.
. "$(dirname "${BASH_SOURCE[0]}")/secrets.sh"
# expect exit code N from the last sk call
rc_is() { [ "$rc" -eq "$1" ] || { echo "# expected exit $1, got $rc; stderr:"; sed 's/^/#   /' "$T/err"; return 1; }; }
err_has() { grep -q -- "$1" "$T/err" || { echo "# stderr lacks '$1':"; sed 's/^/#   /' "$T/err"; return 1; }; }
# content digest of an SQLite database (tables, rows, schema, user_version); fails loudly if unreadable
db_digest() { python3 "$(dirname "${BASH_SOURCE[0]}")/tools/db_digest.py" "$1" || echo "UNREADABLE $1 $RANDOM"; }
# unset every SNAPKEEP_* variable inherited from the caller
clean_env() { local v; for v in $(env | grep -o '^SNAPKEEP_[A-Z_]*'); do unset "$v"; done; export SNAPKEEP_STATE_DIR=$T/state; mkdir -p "$T/state"; }
