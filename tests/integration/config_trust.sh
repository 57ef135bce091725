#!/usr/bin/env bash
# Issue 10 items 5, 8 and 17: settings that were accepted but not applied, and start-up/log
# robustness. SNAPKEEP_SPOOL_DIR is used; LOG_FORMAT/LOG_LEVEL in any case apply; HTTP_LISTEN's port,
# HEALTH_WARN/FAIL_AFTER's order and webhook URLs are validated; unknown S3_/R2_/POCKETBASE_
# variables are errors (with SNAPKEEP_IGNORE_VARS as the way out); the AWS_* names are aliases that
# may not contradict the S3_* ones; a *_FILE that is a FIFO is refused at once; the stale-spool sweep
# leaves other users' files alone; control bytes from a .md5 sidecar are escaped in text logs.
. "$(dirname "$0")/../lib.sh"
clean_env
sqlite3 "$T/app.db" "CREATE TABLE t(x); INSERT INTO t VALUES (1), (2);"
base=(SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=$T/app.db SNAPKEEP_DEST_DIR=$T/dest)
run() { env "${base[@]}" "$@" >"$T/out" 2>"$T/err"; rc=$?; cat "$T/err" >>"$T/all-stderr"; cat "$T/out" >>"$T/all-stdout"; }

# ---- item 5: SNAPKEEP_SPOOL_DIR is where the SQLite snapshot goes ---------------------------
run SNAPKEEP_SPOOL_DIR=$T/no-such-dir "$SK_BIN" backup-now
check "spool dir: a missing SNAPKEEP_SPOOL_DIR fails the backup (exit 3) naming it" \
    bash -c "[ $rc -eq 3 ] && grep -q 'SNAPKEEP_SPOOL_DIR=.*no-such-dir' '$T/err'"
mkdir -m 1777 "$T/spool"
: >"$T/spool/snapkeep-snapshot-Stale1"          # left by a killed run of ours: unlocked, ours
: >"$T/spool/snapkeep-snapshot-Other1"          # another user's
chown nobody "$T/spool/snapkeep-snapshot-Other1"
run SNAPKEEP_SPOOL_DIR=$T/spool "$SK_BIN" backup-now
check "spool dir: the backup with SNAPKEEP_SPOOL_DIR set succeeds" rc_is 0
check "spool dir: the stale snapshot of ours in that directory was swept (the directory is used)" \
    test ! -e "$T/spool/snapkeep-snapshot-Stale1"
# ---- item 17: only this user's files are swept ----------------------------------------------
check "stale sweep: another user's snapkeep-snapshot-* file is left alone" test -e "$T/spool/snapkeep-snapshot-Other1"
# the same in the default spool directory, /tmp, where the issue saw it; in a private mount
# namespace whose /tmp is ours, so that no other process sweeping the real /tmp interferes
mkdir -m 1777 "$T/tmp" && cp "$T/app.db" "$T/tmp/app.db"
: >"$T/tmp/snapkeep-snapshot-Other2" && chown nobody "$T/tmp/snapkeep-snapshot-Other2"
: >"$T/tmp/snapkeep-snapshot-Stale2"
# the binary goes along: a checkout under /tmp (mktemp -d) is hidden by the mount
cp "$SK_BIN" "$T/tmp/snapkeep"
unshare -m bash -c 'mount --bind "$1" /tmp && exec env SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=/tmp/app.db \
    SNAPKEEP_DEST_DIR=/tmp/dest SNAPKEEP_STATE_DIR=/tmp/state /tmp/snapkeep backup-now' _ "$T/tmp" 2>"$T/err"; rc=$?
cat "$T/err" >>"$T/all-stderr"
check "stale sweep in /tmp: the backup succeeds, sweeps our stale file, leaves another user's alone" \
    bash -c "[ $rc -eq 0 ] && [ ! -e '$T/tmp/snapkeep-snapshot-Stale2' ] && [ -e '$T/tmp/snapkeep-snapshot-Other2' ]"

# ---- item 17: a *_FILE that is not a regular file -------------------------------------------
mkfifo "$T/fifo"
env "${base[@]}" SNAPKEEP_SERVICE_FILE="$T/fifo" timeout 20 "$SK_BIN" config check >"$T/out" 2>"$T/err"; rc=$?
cat "$T/err" >>"$T/all-stderr"
check "_FILE on a FIFO without a writer: refused at once (exit 3), not a hang" rc_is 3
check "... saying it is not a regular file" err_has "SNAPKEEP_SERVICE_FILE: '$T/fifo' is not a regular file (it is a FIFO)"
run SNAPKEEP_SERVICE_FILE="$T" "$SK_BIN" config check
check "_FILE on a directory: exit 3, not a regular file" bash -c "[ $rc -eq 3 ] && grep -q 'not a regular file' '$T/err'"
ln -s "$T/svc" "$T/svc-link"; printf 'linked\n' >"$T/svc"
run SNAPKEEP_SERVICE_FILE="$T/svc-link" "$SK_BIN" config check
check "_FILE through a symlink to a regular file still works" grep -q 'SNAPKEEP_SERVICE=linked (file)' "$T/out"

# ---- item 17: control bytes of a .md5 sidecar are escaped in text logs ----------------------
key=$(cd "$T/dest" && ls snapshots/default/default/*.zst | head -1)
md5=$(cut -d' ' -f1 "$T/dest/$key.md5")
printf '%s  evil\033[2J\rname\n2026-01-01T00:00:00Z info  FORGED line\a\n' "$md5" >"$T/dest/$key.md5"
run "$SK_BIN" verify "$key"
check "a sidecar naming another file is refused (exit 6)" rc_is 6
check "... and the log carries no raw control byte" bash -c "! LC_ALL=C grep -q '[[:cntrl:]]' <(tr -d '\n' <'$T/err')"
check "... the bytes are shown escaped" err_has "names another file ('evil\\\\x1b\\[2J')"
printf '%s  %s\n' "$md5" "$(basename "$key")" >"$T/dest/$key.md5"
run "$SK_BIN" verify $'nope\n2026-01-01T00:00:00Z info  FORGED\e[31m'
check "a backup name with a newline: exit 7, one line, no forged line, no raw escape" \
    bash -c "[ $rc -eq 7 ] && [ \$(wc -l <'$T/err') -eq 1 ] && ! grep -q '^2026-01-01T00:00:00Z info  FORGED' '$T/err' &&
             grep -qF 'nope\\n2026-01-01T00:00:00Z info  FORGED\\x1b[31m' '$T/err'"

# ---- item 8: enum values in any case are applied --------------------------------------------
run SNAPKEEP_LOG_FORMAT=JSON "$SK_BIN" backup-now
check "SNAPKEEP_LOG_FORMAT=JSON: exit 0 and every log line is JSON" \
    bash -c "[ $rc -eq 0 ] && [ -s '$T/err' ] && ! grep -qv '^{\"ts\":' '$T/err'"
run SNAPKEEP_LOG_LEVEL=ERROR "$SK_BIN" backup-now
check "SNAPKEEP_LOG_LEVEL=ERROR: exit 0 and no info line" bash -c "[ $rc -eq 0 ] && [ ! -s '$T/err' ]"
run SNAPKEEP_DESTINATION=LOCAL "$SK_BIN" backup-now
check "SNAPKEEP_DESTINATION=LOCAL: the local destination is used (exit 0)" rc_is 0
run SNAPKEEP_LOG_LEVEL=Warn SNAPKEEP_LOG_FORMAT=Text "$SK_BIN" config check
check "config check shows the values as applied (warn, text)" \
    bash -c "grep -q '^SNAPKEEP_LOG_LEVEL=warn (env)' '$T/out' && grep -q '^SNAPKEEP_LOG_FORMAT=text (env)' '$T/out'"

# ---- item 8: values that were accepted but could not work -----------------------------------
bad() { # description, expected text, env assignments...
  local d=$1 want=$2; shift 2
  run "$@" "$SK_BIN" config check
  check "$d: config check exits 3" rc_is 3
  check "$d: the message says $want" err_has "$want"
}
bad "HTTP_LISTEN port 99999" "SNAPKEEP_HTTP_LISTEN='127.0.0.1:99999' is invalid.*1..65535" SNAPKEEP_HTTP_LISTEN=127.0.0.1:99999
bad "HTTP_LISTEN port 0" "SNAPKEEP_HTTP_LISTEN" SNAPKEEP_HTTP_LISTEN=:0
bad "HTTP_LISTEN without a port" "SNAPKEEP_HTTP_LISTEN" SNAPKEEP_HTTP_LISTEN=localhost
bad "WARN_AFTER > FAIL_AFTER" "SNAPKEEP_HEALTH_WARN_AFTER=50 is greater than SNAPKEEP_HEALTH_FAIL_AFTER=48" \
    SNAPKEEP_HEALTH_WARN_AFTER=50
HOOK="hooks-example-token-$RANDOM$RANDOM"
secret "$HOOK"
bad "a webhook URL that is not a URL" "SNAPKEEP_WEBHOOK_URL (value hidden: secret) is not a URL" SNAPKEEP_WEBHOOK_URL="$HOOK"
bad "a webhook URL with another scheme" "SNAPKEEP_WEBHOOK_FAILURE_URL (value hidden: secret) is not a URL" \
    SNAPKEEP_WEBHOOK_FAILURE_URL="ftp://x/$HOOK"
run SNAPKEEP_HTTP_LISTEN='[::1]:9090' SNAPKEEP_WEBHOOK_URL="https://hooks.example/$HOOK" "$SK_BIN" config check
check "valid: [::1]:9090 and an https webhook URL pass config check" rc_is 0

# ---- item 8: snapkeep's prefixes are snapkeep's ---------------------------------------------
bad "S3_REGON" "unknown variable S3_REGON: did you mean S3_REGION?" S3_REGON=eu-west-1
bad "S3_BUKET" "unknown variable S3_BUKET: did you mean S3_BUCKET?" S3_BUKET=backups
bad "R2_ACOUNT_ID" "did you mean R2_ACCOUNT_ID?" R2_ACOUNT_ID=abc
bad "POCKETBASE_ADMIN_PASWORD" "did you mean POCKETBASE_ADMIN_PASSWORD?" POCKETBASE_ADMIN_PASWORD=x
run POCKETBASE_APP_THEME=dark SNAPKEEP_IGNORE_VARS="POCKETBASE_APP_THEME, S3_OTHER_TOOL" S3_OTHER_TOOL=1 \
    "$SK_BIN" config check
check "SNAPKEEP_IGNORE_VARS lets another program's variables through" rc_is 0
run AWS_PROFILE=x AWS_DEFAULT_OUTPUT=json "$SK_BIN" config check
check "other AWS_* variables are not snapkeep's and are ignored" rc_is 0

# ---- item 8: the AWS names as aliases -------------------------------------------------------
AK="AKIAalias$RANDOM$RANDOM" SK="alias-secret-$RANDOM$RANDOM"
secret "$AK" "$SK"
s3=(SNAPKEEP_DEST_DIR= S3_BUCKET=bkt S3_ENDPOINT=https://s3.example.test)
run "${s3[@]}" AWS_ACCESS_KEY_ID="$AK" AWS_SECRET_ACCESS_KEY="$SK" AWS_REGION=eu-west-1 "$SK_BIN" config check
check "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_REGION configure S3 (exit 0)" rc_is 0
check "... shown as the S3_ settings with the alias as origin" \
    bash -c "grep -q '^S3_REGION=eu-west-1 (AWS_REGION)' '$T/out' && grep -q '^S3_ACCESS_KEY_ID=\*\*\* (AWS_ACCESS_KEY_ID)' '$T/out' &&
             grep -q '^S3_SECRET_ACCESS_KEY=\*\*\* (AWS_SECRET_ACCESS_KEY)' '$T/out'"
run SNAPKEEP_DEST_DIR= S3_BUCKET=bkt AWS_ENDPOINT_URL=https://alias.example.test S3_ACCESS_KEY_ID="$AK" \
    S3_SECRET_ACCESS_KEY="$SK" AWS_SECRET_ACCESS_KEY="$SK" "$SK_BIN" config check
check "AWS_ENDPOINT_URL sets S3_ENDPOINT; the same value under both names is fine" \
    bash -c "[ $rc -eq 0 ] && grep -q '^S3_ENDPOINT=https://alias.example.test (AWS_ENDPOINT_URL)' '$T/out'"
bad "S3_REGION and AWS_REGION disagree" "S3_REGION='auto' and AWS_REGION='eu-west-1' are both set, to different values" \
    "${s3[@]}" S3_REGION=auto AWS_REGION=eu-west-1 S3_ACCESS_KEY_ID="$AK" S3_SECRET_ACCESS_KEY="$SK"
bad "secret aliases disagree (values hidden)" "S3_SECRET_ACCESS_KEY and AWS_SECRET_ACCESS_KEY are both set, to different values (hidden" \
    "${s3[@]}" S3_ACCESS_KEY_ID="$AK" S3_SECRET_ACCESS_KEY="$SK" AWS_SECRET_ACCESS_KEY="$SK-other"
done_testing
