#!/usr/bin/env bash
# Bad configuration stops start-up with exit 3 and a message naming the variable; *_FILE works;
# usage errors exit 2; help documents every command and variable.
. "$(dirname "$0")/../lib.sh"
clean_env
sqlite3 "$T/app.db" "CREATE TABLE t(x); INSERT INTO t VALUES (1);"
base=(SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=$T/app.db SNAPKEEP_DEST_DIR=$T/dest)
run() { env "${base[@]}" "$@" >"$T/out" 2>"$T/err"; rc=$?; cat "$T/err" >>"$T/all-stderr"; }
bad() { # description, expected text, env assignments...
  local d=$1 want=$2; shift 2
  run "$@" "$SK_BIN" backup-now
  check "$d: exit 3" rc_is 3
  check "$d: message names $want" err_has "$want"
}
bad "unknown SNAPKEEP_ variable" "SNAPKEEP_COMPRESION_LEVEL" SNAPKEEP_COMPRESION_LEVEL=5
bad "compression level out of range" "SNAPKEEP_COMPRESSION_LEVEL" SNAPKEEP_COMPRESSION_LEVEL=30
bad "threads not a number" "SNAPKEEP_COMPRESSION_THREADS" SNAPKEEP_COMPRESSION_THREADS=lots
bad "unknown engine" "SNAPKEEP_ENGINE" SNAPKEEP_ENGINE=oracle
bad "bad log format" "SNAPKEEP_LOG_FORMAT" SNAPKEEP_LOG_FORMAT=xml
bad "service with a slash" "SNAPKEEP_SERVICE" SNAPKEEP_SERVICE=a/b
bad "prefix with an empty part" "SNAPKEEP_PREFIX" SNAPKEEP_PREFIX=a//b
bad "both X and X_FILE" "SNAPKEEP_SERVICE_FILE" SNAPKEEP_SERVICE=a SNAPKEEP_SERVICE_FILE=$T/svc
bad "X_FILE unreadable" "$T/missing-file" SNAPKEEP_SERVICE_FILE=$T/missing-file
run SNAPKEEP_ENGINE= "$SK_BIN" list
check "engine not set: exit 3" rc_is 3
check "engine not set: says what is accepted" err_has "SNAPKEEP_ENGINE is not set: accepted sqlite"
run SNAPKEEP_SQLITE_PATH= "$SK_BIN" list
check "sqlite path not set: exit 3 naming SNAPKEEP_SQLITE_PATH" bash -c "[ $rc -eq 3 ] && grep -q SNAPKEEP_SQLITE_PATH '$T/err'"
run SNAPKEEP_DEST_DIR= "$SK_BIN" list
check "no destination: exit 3 naming SNAPKEEP_DEST_DIR" bash -c "[ $rc -eq 3 ] && grep -q SNAPKEEP_DEST_DIR '$T/err'"

# *_FILE (Docker secrets): the value comes from the file, one trailing newline dropped
printf 'from-file\n' >"$T/svc"
run SNAPKEEP_SERVICE_FILE=$T/svc "$SK_BIN" backup-now
check "SNAPKEEP_SERVICE_FILE is read" rc_is 0
check "... and used in the key" test -n "$(ls "$T/dest/snapshots/from-file/default/" 2>/dev/null)"
run SNAPKEEP_SERVICE_FILE=$T/svc "$SK_BIN" config check
check "config check exits 0 and shows the origin" grep -q "SNAPKEEP_SERVICE=from-file (file)" "$T/out"

# usage errors: exit 2
run "$SK_BIN" frobnicate
check "unknown command: exit 2" rc_is 2
run "$SK_BIN" restore latest
check "restore without --to: exit 2" rc_is 2
run "$SK_BIN" list --bogus
check "unknown option: exit 2" rc_is 2
run "$SK_BIN" verify
check "verify without a backup name: exit 2" rc_is 2

# help and version
"$SK_BIN" --help >"$T/help" 2>&1
for word in backup-now dump list restore verify version SNAPKEEP_ENGINE SNAPKEEP_SQLITE_PATH SNAPKEEP_DEST_DIR \
            SNAPKEEP_COMPRESSION_LEVEL SNAPKEEP_LOG_FORMAT "exit codes"; do
  check "--help documents $word" grep -q -- "$word" "$T/help"
done
check "version prints the version" bash -c "'$SK_BIN' version | grep -q '^snapkeep [0-9]'"
done_testing
