#!/usr/bin/env bash
# Client-side encryption (age v1) end to end, with Debian's `age` as the other implementation, for
# every engine (SQLite file, PostgreSQL 15, the PocketBase-compatible server) and both destinations
# (local directory, S3 on Ceph RGW):
#   - backups made with two recipients' public keys only decrypt with `age -d -i` and either key;
#     the .md5 covers the ciphertext; the manifest lists the public keys;
#   - snapkeep verifies and restores what `age -r ... -e` made of a plain backup;
#   - a missing or wrong identity, a truncated file, a modified chunk, a swapped header and
#     reordered chunks are refused (exit 6, or 3 for a missing key) and the restore target is
#     unchanged; with the .md5 and manifest recomputed, so age's own checks are what catches them;
#   - a passphrase (scrypt) round trip, and a wrong passphrase refused;
#   - no secret key or passphrase in any output, status file, manifest or stored object name.
# Reuses a running gateway when SK_RGW_DIR names one (tests/servers/rgw.sh start DIR).
. "$(dirname "$0")/../lib.sh"
clean_env
root=$(cd "$(dirname "$0")/../.." && pwd)
chmod 755 "$T"
command -v age >/dev/null && command -v age-keygen >/dev/null || { nok "Debian's age is installed (scripts/deps.sh test)"; done_testing; exit 1; }
DRIVER=${SK_TOOLS:-$root/build/asan/tools}/s3_smoke
pids=()
RGW_DIR=${SK_RGW_DIR:-$T/rgw}
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    [ -z "${SK_RGW_DIR:-}" ] && [ -d "$T/rgw" ] && "$root/tests/servers/rgw.sh" stop "$T/rgw" >/dev/null 2>&1
    [ -d "$T/pg" ] && "$root/tests/servers/pg.sh" stop "$T/pg" >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT

# ---- keys ---------------------------------------------------------------------------------
for k in k1 k2 k3; do age-keygen -o "$T/$k.txt" 2>/dev/null; done
R1=$(age-keygen -y "$T/k1.txt") R2=$(age-keygen -y "$T/k2.txt")
printf '# the operators\n%s\n%s\n' "$R1" "$R2" >"$T/recipients"
PASS="horse-$RANDOM-battery-$RANDOM-staple"
printf '%s\n' "$PASS" >"$T/pass"
printf 'wrong-%s\n' "$PASS" >"$T/wrongpass"
SECRETS=("$PASS" "$(grep -h '^AGE-SECRET-KEY-' "$T/k1.txt")" "$(grep -h '^AGE-SECRET-KEY-' "$T/k2.txt")"
         "$(grep -h '^AGE-SECRET-KEY-' "$T/k3.txt")")
secret "${SECRETS[@]}"   # tests/secrets.sh: checked in every output at done_testing

# ---- servers ------------------------------------------------------------------------------
"$root/tests/servers/pg.sh" start "$T/pg" >/dev/null 2>&1 || { nok "start PostgreSQL 15"; done_testing; exit 1; }
# shellcheck disable=SC1091
. "$T/pg/env"
createdb src
psql -X -q -v ON_ERROR_STOP=1 -d src -c "CREATE TABLE t (id int PRIMARY KEY, v text);
  INSERT INTO t SELECT i, md5(random()::text) || md5(random()::text) FROM generate_series(1, 12000) i;" >/dev/null
for d in local s3; do createdb "tgt_$d"; psql -X -q -d "tgt_$d" -c "CREATE TABLE keepme (x int); INSERT INTO keepme VALUES (42)"; done

FAKE=$root/tests/servers/pocketbase_fake.py EMAIL=admin@example.com
printf '%s\n' "Pb-admin-$RANDOM-pw" >"$T/pbpw"
start_fake() { # NAME ARGS...: URL in $url_NAME
    local name=$1; shift
    python3 "$FAKE" --dir "$T/$name" --port 0 --email "$EMAIL" --password-file "$T/pbpw" "$@" >"$T/$name.out" 2>"$T/$name.log" &
    pids+=($!)
    local i
    for i in $(seq 100); do grep -q '^listening on ' "$T/$name.out" && break; sleep 0.1; done
    eval "url_$name=$(sed -n 's/^listening on //p' "$T/$name.out" | head -1)"
}
start_fake pbsrc --seed-rows 30 --seed-files 4 --seed-file-size 60000
start_fake pbtgt_local --seed-rows 3 --seed-files 1
start_fake pbtgt_s3 --seed-rows 3 --seed-files 1
check "the PocketBase servers started" test -n "${url_pbsrc:-}" -a -n "${url_pbtgt_local:-}" -a -n "${url_pbtgt_s3:-}"

if ! "$root/tests/servers/rgw.sh" start "$RGW_DIR" >"$T/rgw.out" 2>&1; then
    sed 's/^/# /' "$T/rgw.out" | tail -20
    nok "start Ceph RGW"; done_testing; exit 1
fi
set -a; . "$RGW_DIR/env"; set +a
[ -x "$DRIVER" ] || make -s -C "$root" build/asan/tools/s3_smoke >/dev/null 2>&1

sqlite3 "$T/src.db" "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB);
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) INSERT INTO t SELECT i, randomblob(900) FROM n;"

# ---- helpers ------------------------------------------------------------------------------
pg_digest() {
    psql -X -At -d "$1" -c "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname = 'public' ORDER BY 1" | while read -r t; do
        psql -X -At -d "$1" -c "SELECT '$t', count(*), md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM \"$t\" x"
    done
}
pb_digest() {
    python3 - "$1" <<'EOF'
import hashlib, os, sqlite3, sys
d = sys.argv[1]
c = sqlite3.connect("file:%s/data.db?mode=ro" % d, uri=True)
h = hashlib.sha256(repr(c.execute("select * from posts order by id").fetchall()).encode())
for r, _, files in sorted(os.walk(os.path.join(d, "storage"))):
    for f in sorted(files):
        p = os.path.join(r, f)
        h.update(os.path.relpath(p, d).encode() + hashlib.sha256(open(p, "rb").read()).digest())
print(h.hexdigest())
EOF
}
# the engine/destination under test: E (env), TARGET, target_digest, source_digest, obj_get/obj_put
run() { env "${E[@]}" "$SK_BIN" "$@" >"$T/out" 2>"$T/err"; rc=$?; cat "$T/err" "$T/out" >>"$T/all-stderr"; return 0; }
obj_get() { if [ "$DEST" = local ]; then cp "$T/dest-$ENG/$1" "$2"; else "$DRIVER" get "$BUCKET" "$1" "$2" >/dev/null 2>&1; fi; }
obj_put() { if [ "$DEST" = local ]; then cp "$2" "$T/dest-$ENG/$1"; else "$DRIVER" put "$BUCKET" "$1" "$2" >/dev/null 2>&1; fi; }
# store FILE as KEY's data with a matching .md5 and manifest (so that only age can object)
reseal() { # KEY FILE [MANIFEST-EXTRA-PY]
    local key=$1 f=$2
    obj_put "$key" "$f" || return 1
    printf '%s  %s\n' "$(md5sum <"$f" | cut -c1-32)" "${key##*/}" >"$T/side.md5"
    obj_put "$key.md5" "$T/side.md5" || return 1
    obj_get "$key.manifest.json" "$T/side.json" || obj_get "${MANIFEST_FROM:-$key}.manifest.json" "$T/side.json" || return 1
    python3 - "$T/side.json" "$f" "$key" "${3:-}" <<'EOF' || return 1
import hashlib, json, os, sys
p, f, key, extra = sys.argv[1:5]
m = json.load(open(p))
data = open(f, "rb").read()
m["key"] = key
m["stored"]["size"] = len(data)
m["stored"]["md5"] = hashlib.md5(data).hexdigest()
if extra:
    exec(extra)
json.dump(m, open(p, "w"), indent=2)
EOF
    obj_put "$key.manifest.json" "$T/side.json"
}
tamper() { # MODE IN OUT [OTHER]: an age file modified in one way
    python3 - "$@" <<'EOF'
import sys
mode, src, dst = sys.argv[1:4]
d = bytearray(open(src, "rb").read())
def header_end(b):
    i = b.index(b"\n---") + 1
    return b.index(b"\n", i) + 1 + 16          # MAC line, then the payload nonce
h, C = header_end(d), 65536 + 16
assert len(d) > h + 3 * C, "the artifact must have at least 4 chunks"
if mode == "truncated":
    d = d[:h + 2 * C]                           # ends on a chunk boundary: no final chunk
elif mode == "modified-chunk":
    d[h + C + 1000] ^= 0x01
elif mode == "reordered-chunks":
    d[h + C:h + 3 * C] = d[h + 2 * C:h + 3 * C] + d[h + C:h + 2 * C]
elif mode == "swapped-header":
    o = open(sys.argv[4], "rb").read()
    d = bytearray(o[:header_end(o)]) + d[h:]
open(dst, "wb").write(d)
EOF
}

combo() { # ENGINE DEST
    ENG=$1 DEST=$2
    local name="$ENG/$DEST"
    E=(SNAPKEEP_ENGINE="$ENG" SNAPKEEP_SERVICE=app SNAPKEEP_ENVIRONMENT="$DEST" SNAPKEEP_AGE_RECIPIENTS_FILE="$T/recipients"
       SNAPKEEP_SPOOL_DIR="$T/spool" SNAPKEEP_COMPRESSION_LEVEL=1)
    mkdir -p "$T/spool"
    case $ENG in
    sqlite) E+=(SNAPKEEP_SQLITE_PATH="$T/src.db"); TARGET=$T/tgt-$DEST.db
            sqlite3 "$TARGET" "CREATE TABLE keepme (x); INSERT INTO keepme VALUES (42);"
            target_digest() { db_digest "$TARGET"; }; source_digest() { db_digest "$T/src.db"; }
            restored_digest() { target_digest; } ;;
    postgres) printf 'postgresql://%s@127.0.0.1:%s/src\n' "$PGUSER" "$PGPORT" >"$T/url"
            E+=(DATABASE_URL_FILE="$T/url"); TARGET="postgresql://$PGUSER@127.0.0.1:$PGPORT/tgt_$DEST"
            target_digest() { pg_digest "tgt_$DEST"; }; source_digest() { pg_digest src; }
            restored_digest() { pg_digest "tgt_$DEST" | grep -v '^keepme|'; } ;; # the dump only replaces its own objects
    pocketbase) E+=(POCKETBASE_URL="$url_pbsrc" POCKETBASE_ADMIN_EMAIL="$EMAIL" POCKETBASE_ADMIN_PASSWORD_FILE="$T/pbpw")
            TARGET=$(eval echo "\$url_pbtgt_$DEST")
            target_digest() { pb_digest "$T/pbtgt_$DEST"; }; source_digest() { pb_digest "$T/pbsrc"; }
            restored_digest() { target_digest; } ;;
    esac
    if [ "$DEST" = local ]; then
        E+=(SNAPKEEP_DEST_DIR="$T/dest-$ENG")
    else
        BUCKET="age-$ENG"
        "$DRIVER" mkbucket "$BUCKET" >/dev/null 2>&1
        E+=(S3_BUCKET="$BUCKET" S3_ALLOW_HTTP=true)
    fi

    run backup-now; local rc1=$rc
    local k1 k2
    k1=$(grep -o "snapshots/app/$DEST/[a-z]*_[a-z]*_[0-9]\{8\}-[0-9]\{6\}\.[a-z0-9]*\.zst\.age" "$T/err" | head -1)
    run backup-now
    k2=$(grep -o "snapshots/app/$DEST/[a-z]*_[a-z]*_[0-9]\{8\}-[0-9]\{6\}\.[a-z0-9]*\.zst\.age" "$T/err" | head -1)
    check "$name: two encrypted backups, keys end in .zst.age" test "$rc1" = 0 -a "$rc" = 0 -a -n "$k1" -a -n "$k2" -a "$k1" != "$k2"
    obj_get "$k2" "$T/c.age"; obj_get "$k2.md5" "$T/c.md5"; obj_get "$k2.manifest.json" "$T/c.json"; obj_get "$k1" "$T/other.age"
    check "$name: the object is an age v1 file" test "$(head -c 22 "$T/c.age")" = "age-encryption.org/v1"
    check "$name: the .md5 covers the ciphertext" bash -c "[ -s '$T/c.age' ] && [ \"\$(cut -c1-32 '$T/c.md5')\" = \"\$(md5sum <'$T/c.age' | cut -c1-32)\" ]"
    check "$name: the manifest says age and lists both public keys, no secret" python3 -c "
import json, sys; m = json.load(open('$T/c.json')); e = m['encryption']
sys.exit(not (e['format'] == 'age-encryption.org/v1' and e['recipients'] == ['$R1', '$R2'] and not e['passphrase']
             and 'SECRET' not in open('$T/c.json').read()))"
    local sha
    sha=$(python3 -c "import json; print(json.load(open('$T/c.json'))['plain']['sha256'])")
    check "$name: age -d -i (first key) | zstd -d gives the dumped plaintext" \
        test "$(age -d -i "$T/k1.txt" "$T/c.age" | zstd -dc | sha256sum | cut -c1-64)" = "$sha"
    check "$name: ... and so does the second key" \
        test "$(age -d -i "$T/k2.txt" "$T/c.age" | zstd -dc | sha256sum | cut -c1-64)" = "$sha"
    run list
    check "$name: list shows the encrypted backups, checksums ok" bash -c "grep -c '\.zst\.age .*ok\$' '$T/out' | grep -qx 2"

    local before; before=$(target_digest)
    run restore "$k2" --to "$TARGET" --force
    check "$name: restore without an identity: exit 3 naming SNAPKEEP_AGE_IDENTITY_FILE" bash -c "[ $rc = 3 ] && grep -q 'SNAPKEEP_AGE_IDENTITY_FILE' '$T/err'"
    E+=(SNAPKEEP_AGE_IDENTITY_FILE="$T/k3.txt")
    run restore "$k2" --to "$TARGET" --force
    check "$name: wrong identity: exit 6, 'none of the 1 identity'" bash -c "[ $rc = 6 ] && grep -q 'none of the 1 identity' '$T/err'"
    check "$name: ... target unchanged" test "$(target_digest)" = "$before"
    E=("${E[@]/SNAPKEEP_AGE_IDENTITY_FILE=*/SNAPKEEP_AGE_IDENTITY_FILE=$T/k1.txt}")
    local mode
    for mode in truncated modified-chunk reordered-chunks swapped-header; do
        tamper "$mode" "$T/c.age" "$T/bad.age" "$T/other.age" && reseal "$k2" "$T/bad.age"
        run restore "$k2" --to "$TARGET" --force
        check "$name: $mode (md5 and manifest recomputed): refused with exit 6 by age" \
            bash -c "[ $rc = 6 ] && grep -q \"'$k2': age payload\" '$T/err'"
        check "$name: ... target unchanged" test "$(target_digest)" = "$before"
    done
    reseal "$k2" "$T/c.age"
    run verify "$k2"
    check "$name: the untouched backup verifies with the first key" rc_is 0
    E=("${E[@]/SNAPKEEP_AGE_IDENTITY_FILE=*/SNAPKEEP_AGE_IDENTITY_FILE=$T/k2.txt}")
    run restore "$k2" --to "$TARGET" --force
    check "$name: and restores with the second key; the target equals the source" \
        bash -c "[ $rc = 0 ] && [ \"\$1\" = \"\$2\" ]" _ "$(restored_digest)" "$(source_digest)"

    # what the stock tool encrypted: a plain backup, encrypted with `age -r -r -e`, with its sidecars
    local plainkey kage
    local saved=("${E[@]}") v
    E=(); for v in "${saved[@]}"; do case $v in SNAPKEEP_AGE_RECIPIENTS_FILE=*) ;; *) E+=("$v");; esac; done
    run backup-now
    E=("${saved[@]}")
    plainkey=$(grep -o "snapshots/app/$DEST/[a-z]*_[a-z]*_[0-9]\{8\}-[0-9]\{6\}\.[a-z0-9]*\.zst" "$T/err" | head -1)
    kage=$plainkey.age
    obj_get "$plainkey" "$T/p.zst" && age -r "$R1" -r "$R2" -e -o "$T/p.zst.age" "$T/p.zst"
    MANIFEST_FROM=$plainkey reseal "$kage" "$T/p.zst.age" \
        "m['encryption'] = {'format': 'age-encryption.org/v1', 'recipients': ['$R1', '$R2'], 'passphrase': False}"
    run verify "${kage##*/}"
    check "$name: snapkeep verifies a backup that age -r -r -e encrypted" bash -c "[ $rc = 0 ] && [ -n '$plainkey' ]"
    unset -f target_digest source_digest restored_digest
}

for eng in sqlite postgres pocketbase; do
    for dest in local s3; do combo "$eng" "$dest"; done
done

# ---- by hand, as the README says: age | zstd | psql ----------------------------------------
cp "$(ls "$T"/dest-postgres/snapshots/app/local/*.sql.zst.age | tail -1)" "$T/hand.age"
createdb byhand
age -d -i "$T/k1.txt" "$T/hand.age" | zstd -d | psql -X -q -v ON_ERROR_STOP=1 -d byhand >/dev/null 2>&1
check "postgres by hand: age -d -i key.txt x.sql.zst.age | zstd -d | psql restores the data" \
    test "$(pg_digest byhand)" = "$(pg_digest src)"

# ---- a legacy encrypted backup (data + .md5, no manifest): decrypted by its name -----------
lk=$(cd "$T/dest-sqlite" && ls snapshots/app/local/*.sqlite3.zst.age | head -1)
rm "$T/dest-sqlite/$lk.manifest.json"
E=(SNAPKEEP_ENGINE=sqlite SNAPKEEP_SERVICE=app SNAPKEEP_ENVIRONMENT=local SNAPKEEP_SQLITE_PATH="$T/src.db"
   SNAPKEEP_DEST_DIR="$T/dest-sqlite" SNAPKEEP_SPOOL_DIR="$T/spool")
run verify "${lk##*/}"
check "legacy .zst.age without a key: exit 3 naming SNAPKEEP_AGE_IDENTITY_FILE" bash -c "[ $rc = 3 ] && grep -q SNAPKEEP_AGE_IDENTITY_FILE '$T/err'"
E+=(SNAPKEEP_AGE_IDENTITY_FILE="$T/k2.txt")
run restore "${lk##*/}" --to "$T/legacy.db"
check "legacy .zst.age: restored with the key, equal to the source" \
    bash -c "[ $rc = 0 ] && [ \"\$1\" = \"\$2\" ]" _ "$(db_digest "$T/legacy.db")" "$(db_digest "$T/src.db")"

# ---- passphrase (scrypt) ------------------------------------------------------------------
E=(SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH="$T/src.db" SNAPKEEP_DEST_DIR="$T/dest-pass"
   SNAPKEEP_AGE_PASSPHRASE_FILE="$T/pass" SNAPKEEP_AGE_SCRYPT_WORK_FACTOR=12)
run backup-now
pk=$(grep -o 'snapshots/default/default/sqlite_src_[0-9-]*\.sqlite3\.zst\.age' "$T/err" | head -1)
check "passphrase: backup-now exits 0 with an scrypt stanza, alone" bash -c "[ $rc = 0 ] && [ \"\$(sed -n 2p '$T/dest-pass/$pk' | cut -d' ' -f2,4)\" = 'scrypt 12' ] && sed -n 4p '$T/dest-pass/$pk' | grep -q '^---'"
run restore latest --to "$T/pass-restored.db"
check "passphrase: restore with it gives the source back" bash -c "[ $rc = 0 ] && [ \"\$1\" = \"\$2\" ]" _ "$(db_digest "$T/pass-restored.db")" "$(db_digest "$T/src.db")"
E=("${E[@]/SNAPKEEP_AGE_PASSPHRASE_FILE=*/SNAPKEEP_AGE_PASSPHRASE_FILE=$T/wrongpass}")
run restore latest --to "$T/pass-restored.db" --force
check "passphrase: a wrong one is refused (exit 6, 'wrong passphrase'), target unchanged" \
    bash -c "[ $rc = 6 ] && grep -q 'wrong passphrase' '$T/err' && [ \"\$1\" = \"\$2\" ]" _ "$(db_digest "$T/pass-restored.db")" "$(db_digest "$T/src.db")"
# age 1.1.1 reads a passphrase only from a terminal: script(1) gives it one (the passphrase goes
# through the pty's input, never through argv or the environment)
pty_age() { # PASSFILE AGE-ARGS...: age with the passphrase typed twice on its terminal
    local pf=$1; shift
    { sleep 1; cat "$pf"; sleep 1; cat "$pf"; } | timeout 60 script -qec "age $*" /dev/null >/dev/null 2>&1
}
pty_age "$T/pass" -d -o "$T/pp.zst" "$T/dest-pass/$pk"
zstd -q -d -o "$T/pp.db" "$T/pp.zst" 2>/dev/null
check "passphrase: age -d (on a pty) decrypts snapkeep's scrypt file" test "$(db_digest "$T/pp.db")" = "$(db_digest "$T/src.db")"
E=(SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH="$T/src.db" SNAPKEEP_DEST_DIR="$T/dest-pass")
run backup-now
ENG=pass DEST=local plainpk=$(grep -o 'snapshots/default/default/sqlite_src_[0-9-]*\.sqlite3\.zst' "$T/err" | head -1)
pty_age "$T/pass" -p -e -o "$T/pp2.age" "$T/dest-pass/$plainpk"
MANIFEST_FROM=$plainpk reseal "$plainpk.age" "$T/pp2.age" \
    "m['encryption'] = {'format': 'age-encryption.org/v1', 'recipients': [], 'passphrase': True}"
E+=(SNAPKEEP_AGE_PASSPHRASE_FILE="$T/pass")
run verify "${plainpk##*/}.age"
check "passphrase: snapkeep verifies what age -p -e encrypted" bash -c "[ $rc = 0 ] && head -2 '$T/pp2.age' | grep -q '^-> scrypt '"
# a manifest that no longer says the object is encrypted (key and manifest disagree): refused
cp "$T/dest-pass/$pk" "$T/pk.age"
ENG=pass DEST=local reseal "$pk" "$T/pk.age" "del m['encryption']"
run verify "${pk##*/}"
check "a .zst.age whose manifest lost its encryption field is refused (exit 6, metadata altered)" \
    bash -c "[ $rc = 6 ] && grep -q 'metadata was altered' '$T/err'"
# a backup stopped mid-way: neither its argv nor its environment holds the passphrase (only _FILE paths)
env "${E[@]}" SNAPKEEP_DEBUG_PAUSE_AT=after-data "$SK_BIN" backup-now >/dev/null 2>&1 &
bpid=$!
for _ in $(seq 100); do [ "$(ps -o state= -p $bpid 2>/dev/null | tr -d ' ')" = T ] && break; sleep 0.1; done
tr '\0' '\n' </proc/$bpid/cmdline >"$T/argv" 2>/dev/null; tr '\0' '\n' </proc/$bpid/environ >"$T/environ" 2>/dev/null
kill -CONT $bpid; wait $bpid
check "passphrase: not in the argv or environment of a running backup" \
    bash -c "grep -q backup-now '$T/argv' && grep -q SNAPKEEP_AGE_PASSPHRASE_FILE '$T/environ' && ! grep -qF -- \"\$1\" '$T/argv' '$T/environ'" _ "$PASS"
E+=(SNAPKEEP_AGE_RECIPIENTS="$R1")
run backup-now
check "passphrase and recipients together: configuration error (exit 3) naming both" \
    bash -c "[ $rc = 3 ] && grep -q 'SNAPKEEP_AGE_RECIPIENTS and SNAPKEEP_AGE_PASSPHRASE' '$T/err'"
E=(SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH="$T/src.db" SNAPKEEP_DEST_DIR="$T/dest-pass" SNAPKEEP_AGE_RECIPIENTS_FILE="$T/k1.txt")
run backup-now
check "a secret key given as a recipient: exit 3, saying to use the public key" bash -c "[ $rc = 3 ] && grep -q 'age-keygen -y' '$T/err'"
E=(SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH="$T/src.db" SNAPKEEP_DEST_DIR="$T/dest-pass"
   SNAPKEEP_AGE_PASSPHRASE_FILE="$T/pass" SNAPKEEP_AGE_IDENTITY_FILE="$T/k1.txt")
run config check
check "config check masks the passphrase and the identity" bash -c "grep -q 'SNAPKEEP_AGE_PASSPHRASE=\*\*\*' '$T/out' && grep -q 'SNAPKEEP_AGE_IDENTITY=\*\*\*' '$T/out'"

# ---- no secret anywhere -------------------------------------------------------------------
find "$T"/dest-* -name '*.manifest.json' -exec cat {} + >"$T/manifests" 2>/dev/null
secret_watch "$T/manifests" "$T/argv" "$T/environ"
for b in age-sqlite age-postgres age-pocketbase; do
    radosgw-admin -c "$RGW_DIR/ceph.conf" bucket list --bucket="$b" 2>/dev/null | jq -r '.[].name' >>"$T/s3-keys"
done
leaks=0
for s in "${SECRETS[@]}"; do
    for f in "$T/all-stderr" "$T/manifests" "$T/s3-keys"; do grep -qF -- "$s" "$f" && { echo "# secret found in $f"; leaks=1; }; done
    grep -rqF -- "$s" "$T/state" && { echo "# secret found in a status file"; leaks=1; }
    find "$T"/dest-* -type f | grep -qF -- "$s" && { echo "# secret in an object name"; leaks=1; }
done
check "no secret key or passphrase in any output, status file, manifest or key ($(wc -l <"$T/all-stderr") lines scanned)" test "$leaks" = 0
check "the S3 buckets hold the encrypted objects" grep -q '\.zst\.age$' "$T/s3-keys"
done_testing
