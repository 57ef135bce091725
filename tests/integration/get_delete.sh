#!/usr/bin/env bash
# `snapkeep get` and `snapkeep delete` (issue 11), against a local directory and a real S3 server
# (Ceph RGW, tests/servers/rgw.sh; reuses SK_RGW_DIR when set), with real SQLite files:
#   get writes the engine's plain artifact (equal to `snapkeep dump` and to the stored object
#   decompressed), never overwrites, leaves nothing behind when a check fails;
#   delete needs --yes, removes exactly one backup (the others stay listed and restorable) and
#   leaves no object of it.
. "$(dirname "$0")/../lib.sh"
clean_env
root=$(cd "$(dirname "$0")/../.." && pwd)
sqlite3 "$T/app.db" "CREATE TABLE t(x); INSERT INTO t VALUES ('a'), ('b'); CREATE TABLE u(y); INSERT INTO u VALUES (1);"
export SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=$T/app.db SNAPKEEP_SERVICE=app

none_left() { ! objects | grep -qF "$1"; }
# the same checks against one destination; $1 names it, "${D[@]}" runs snapkeep with it,
# objects lists the job's stored objects
suite() {
  local where=$1
  skd() { "${D[@]}" "$SK_BIN" "$@" >"$T/out" 2>"$T/err"; rc=$?; }
  skd backup-now; skd backup-now; skd backup-now
  skd list
  check "$where: three backups listed" test "$(grep -c ' ok$' "$T/out")" -eq 3
  local keys; keys=$(awk 'NR>1{print $1}' "$T/out")
  local newest middle oldest
  newest=$(echo "$keys" | sed -n 1p); middle=$(echo "$keys" | sed -n 2p); oldest=$(echo "$keys" | sed -n 3p)

  skd dump -o "$T/$where-dump.db"
  skd get latest -o "$T/$where-get.db"
  check "$where: get latest exits 0" rc_is 0
  check "$where: get gives the bytes of the engine's plain dump" cmp -s "$T/$where-dump.db" "$T/$where-get.db"
  check "$where: ... a database equal to the source" test "$(db_digest "$T/$where-get.db")" = "$(db_digest "$T/app.db")"
  skd get "$(basename "$oldest")" -o "$T/$where-get.db"
  check "$where: get to an existing file is refused (exit 2) and says so" \
    bash -c "[ $rc -eq 2 ] && grep -q 'does not overwrite' '$T/err'"
  check "$where: ... and the file is untouched" cmp -s "$T/$where-dump.db" "$T/$where-get.db"
  skd get latest
  check "$where: get without -o is a usage error" rc_is 2
  skd get nosuch_backup.sqlite3.zst -o "$T/$where-none.db"
  check "$where: get of an unknown key exits 7 and writes nothing" \
    bash -c "[ $rc -eq 7 ] && [ ! -e '$T/$where-none.db' ]"
  check "$where: get leaves no temp file" test "$(ls -A "$T" | grep -c snapkeep-get)" -eq 0

  skd delete "$middle"
  check "$where: delete without --yes is refused (exit 2) naming --yes" \
    bash -c "[ $rc -eq 2 ] && grep -q -- '--yes' '$T/err'"
  skd list
  check "$where: ... and nothing was deleted" test "$(grep -c ' ok$' "$T/out")" -eq 3
  skd delete latest --yes
  check "$where: delete latest is refused (a key is needed)" rc_is 2
  skd delete "$middle" --yes
  check "$where: delete --yes exits 0" rc_is 0
  skd list
  check "$where: exactly the deleted backup is gone from list" \
    bash -c "[ \"\$(awk 'NR>1{print \$1}' '$T/out' | tr '\n' ' ')\" = '$newest $oldest ' ]"
  check "$where: no object of the deleted backup is left (data, .md5, manifest, marker)" \
    none_left "$(basename "$middle")"
  check "$where: the other backups' objects are all there" \
    test "$(objects | grep -cF -e "$(basename "$newest")" -e "$(basename "$oldest")")" -eq 6
  skd restore "$oldest" --to "$T/$where-restored.db"
  check "$where: the older backup still restores" \
    bash -c "[ $rc -eq 0 ] && [ \"\$(python3 '$root/tests/tools/db_digest.py' '$T/$where-restored.db')\" = '$(db_digest "$T/app.db")' ]"
  skd verify latest
  check "$where: the newest still verifies" rc_is 0
  skd delete "$middle" --yes
  check "$where: deleting it again exits 7 (not found)" rc_is 7
}

# ---- local directory ---------------------------------------------------------------------------
D=(env SNAPKEEP_DEST_DIR=$T/dest)
objects() { ls -A "$T/dest/snapshots/app/default/"; }
suite local

# a damaged object: get fails with exit 6 and leaves no file
last=$(ls "$T/dest/snapshots/app/default/" | grep '\.zst$' | sort | tail -1)
printf 'X' | dd of="$T/dest/snapshots/app/default/$last" bs=1 seek=20 conv=notrunc 2>/dev/null
"${D[@]}" "$SK_BIN" get latest -o "$T/damaged.db" >"$T/out" 2>"$T/err"; rc=$?
check "local: get of a damaged backup exits 6 (integrity)" rc_is 6
check "local: ... and leaves neither the file nor a temp file" \
  bash -c "[ ! -e '$T/damaged.db' ] && [ \$(ls -A '$T' | grep -c snapkeep-get) -eq 0 ]"

# an encrypted backup (age, passphrase): get writes the decrypted plain artifact; delete removes it
E=(env SNAPKEEP_DEST_DIR=$T/enc SNAPKEEP_AGE_PASSPHRASE=get-delete-pass SNAPKEEP_AGE_SCRYPT_WORK_FACTOR=10)
secret get-delete-pass
"${E[@]}" "$SK_BIN" backup-now 2>>"$T/all-stderr"
"${E[@]}" "$SK_BIN" dump -o "$T/enc-dump.db" 2>>"$T/all-stderr"
"${E[@]}" "$SK_BIN" get latest -o "$T/enc-get.db" >"$T/out" 2>"$T/err"; rc=$?
check "age: get of an encrypted backup gives the plain dump" bash -c "[ $rc -eq 0 ] && cmp -s '$T/enc-dump.db' '$T/enc-get.db'"
enc=$(ls "$T/enc/snapshots/app/default/" | grep '\.zst\.age$')
env SNAPKEEP_DEST_DIR=$T/enc "$SK_BIN" get latest -o "$T/enc-nokey.db" >"$T/out" 2>"$T/err"; rc=$?
check "age: ... without the passphrase get fails and writes nothing" bash -c "[ $rc -ne 0 ] && [ ! -e '$T/enc-nokey.db' ]"
"${E[@]}" "$SK_BIN" delete "$enc" --yes >"$T/out" 2>"$T/err"; rc=$?
check "age: delete removes the encrypted backup and all its objects" \
  bash -c "[ $rc -eq 0 ] && [ -z \"\$(ls -A '$T/enc/snapshots/app/default/')\" ]"

# ---- Ceph RGW ----------------------------------------------------------------------------------
RGW=${SK_RGW_DIR:-$T/rgw}
[ -n "${SK_RGW_DIR:-}" ] || trap '"$root/tests/servers/rgw.sh" stop "$RGW"; rm -rf "$T"' EXIT
"$root/tests/servers/rgw.sh" start "$RGW" >"$T/rgw.out" 2>&1 || { nok "start Ceph RGW"; done_testing; exit 1; }
secret "$(cat "$RGW/secret_key")"; secret_watch "$T/drv.out" "$T/err"
S3ENV=$(set -a; . "$RGW/env"; env | grep '^S3_' | tr '\n' ' ')
bucket=getdel-$$-$RANDOM
env $S3ENV "$SK_TOOLS/s3_smoke" mkbucket "$bucket" >>"$T/drv.out" 2>&1
check "rgw: bucket created" test $? -eq 0
D=(env $S3ENV S3_BUCKET=$bucket S3_ALLOW_HTTP=true)
objects() { env $S3ENV S3_BUCKET=$bucket S3_ALLOW_HTTP=true "$SK_TOOLS/s3_smoke" dest-list "snapshots/app/default/" 2>>"$T/drv.out" | grep -v "^count=" | cut -f1 | sed "s|.*/||"; }
suite rgw
done_testing
