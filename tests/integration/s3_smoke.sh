#!/usr/bin/env bash
# s3_smoke.sh: uploader/s3/http.c + uploader/s3/sigv4.c against a real S3 server that verifies
# signatures and payload hashes (Ceph RGW started by tests/servers/rgw.sh).
#
# Reuses a running gateway when SK_RGW_DIR names the directory of one (rgw.sh start DIR);
# otherwise starts its own in a temporary directory and stops it at the end.
# Prints TAP; exits non-zero when a check fails.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/snapkeep-s3-smoke.XXXXXX)
OWN_RGW=0
RGW_DIR=${SK_RGW_DIR:-}

cleanup() {
    [ "$OWN_RGW" = 1 ] && "$ROOT/tests/servers/rgw.sh" stop "$RGW_DIR" >/dev/null 2>&1
    if [ "${KEEP_WORK:-0}" = 1 ]; then echo "# work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; [ $# -gt 1 ] && echo "# $2"; }
check() { # check "description" command...
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what" "failed: $*"; fi
}

# ---- server -----------------------------------------------------------------------------------
if [ -z "$RGW_DIR" ]; then
    RGW_DIR="$WORK/rgw"
    OWN_RGW=1
fi
t0=$(date +%s)
if ! "$ROOT/tests/servers/rgw.sh" start "$RGW_DIR" >"$WORK/rgw.out" 2>&1; then
    cat "$WORK/rgw.out" | sed 's/^/# /'
    echo "1..1"
    echo "not ok 1 - start Ceph RGW (see above)"
    exit 1
fi
echo "# RGW at $(cat "$RGW_DIR/endpoint"), ready after $(( $(date +%s) - t0 )) s"
set -a
. "$RGW_DIR/env"
set +a

# ---- driver -----------------------------------------------------------------------------------
# tests/tools/s3_smoke.c, built by `make test` with the project's sanitizer flags into $SK_TOOLS.
DRIVER=${SK_TOOLS:-$ROOT/build/asan/tools}/s3_smoke
if [ ! -x "$DRIVER" ] && ! make -s -C "$ROOT" build/asan/tools/s3_smoke >"$WORK/make.out" 2>&1; then
    sed 's/^/# /' "$WORK/make.out"
    echo "not ok 1 - build the smoke driver (make build/asan/tools/s3_smoke)"
    exit 1
fi

ALL_OUT="$WORK/all.out"   # every driver output, searched for the secrets at the end
T=$WORK
nok() { not_ok "$@"; }
. "$ROOT/tests/secrets.sh"
secret_watch "$ALL_OUT"
drv() { # drv OP ARGS...: runs the driver, output in $WORK/last.out, returns its exit status
    "$DRIVER" "$@" >"$WORK/last.out" 2>&1
    local rc=$?
    cat "$WORK/last.out" >>"$ALL_OUT"
    return $rc
}
last_has() { grep -q -- "$1" "$WORK/last.out"; }
stored_keys() { radosgw-admin -c "$RGW_DIR/ceph.conf" bucket list --bucket="$BUCKET" 2>/dev/null | jq -r '.[].name'; }

BUCKET="smoke-$(date +%s)-$$"
head -c 1048577 /dev/urandom >"$WORK/big.bin"     # 1 MiB + 1
head -c 3000 /dev/urandom >"$WORK/small.bin"
: >"$WORK/empty.bin"
KEY_SPECIAL=$'dir one/a b+c \xC3\xA9\xE6\x97\xA5\xE6\x9C\xAC.bin'   # spaces, '+', é, 日本
KEY_DOTS='n//a/./b/../c'

check "create bucket $BUCKET (signed PUT)" drv mkbucket "$BUCKET"

drv put "$BUCKET" plain/big.bin "$WORK/big.bin" && drv get "$BUCKET" plain/big.bin "$WORK/big.out"
check "PUT 1 MiB + 1 from a streaming source, GET returns identical bytes" cmp -s "$WORK/big.bin" "$WORK/big.out"

drv put "$BUCKET" "$KEY_SPECIAL" "$WORK/small.bin" && drv get "$BUCKET" "$KEY_SPECIAL" "$WORK/special.out"
check "key with spaces, '+', é and 日本: PUT then GET identical" cmp -s "$WORK/small.bin" "$WORK/special.out"
check "that key is stored under exactly its name (encoded once)" bash -c "$(declare -f stored_keys); RGW_DIR='$RGW_DIR' BUCKET='$BUCKET' stored_keys | grep -qxF -- \"\$1\"" _ "$KEY_SPECIAL"

drv put "$BUCKET" "$KEY_DOTS" "$WORK/small.bin" && drv get "$BUCKET" "$KEY_DOTS" "$WORK/dots.out"
check "key '$KEY_DOTS' is signed and sent without path normalisation" cmp -s "$WORK/small.bin" "$WORK/dots.out"
check "... and stored under exactly that name" bash -c "$(declare -f stored_keys); RGW_DIR='$RGW_DIR' BUCKET='$BUCKET' stored_keys | grep -qxF -- \"\$1\"" _ "$KEY_DOTS"

drv put "$BUCKET" empty "$WORK/empty.bin" && drv get "$BUCKET" empty "$WORK/empty.out"
check "0-byte object: PUT then GET gives 0 bytes" cmp -s "$WORK/empty.bin" "$WORK/empty.out"

drv putmem "$BUCKET" mem/with-md5 "$WORK/small.bin" && drv get "$BUCKET" mem/with-md5 "$WORK/mem.out"
check "PUT from memory with Content-MD5 (payload hash computed by sk_http_do)" cmp -s "$WORK/small.bin" "$WORK/mem.out"

check "PUT with x-amz-content-sha256: UNSIGNED-PAYLOAD is accepted" drv putunsigned "$BUCKET" unsigned "$WORK/small.bin"

drv putbadhash "$BUCKET" badhash "$WORK/small.bin"
rc=$?
check "a payload hash that does not match the body: HTTP 400 XAmzContentSHA256Mismatch" \
    bash -c "[ $rc = 3 ] && grep -q 'status=400 code=XAmzContentSHA256Mismatch' '$WORK/last.out'"

drv range "$BUCKET" plain/big.bin "$WORK/range.out"
check "GET with a signed Range header: 206 and the first 10 bytes" \
    bash -c "grep -q 'status=206' '$WORK/last.out' && cmp -s '$WORK/range.out' <(head -c 10 '$WORK/big.bin')"

drv head "$BUCKET" plain/big.bin
check "HEAD: 200 with Content-Length 1048577" last_has 'status=200 .*length=1048577'

drv delete "$BUCKET" "$KEY_SPECIAL"
check "DELETE the special key: 204" last_has 'status=204'
drv head "$BUCKET" "$KEY_SPECIAL"
rc=$?
check "HEAD after DELETE: 404, reported as not-found" bash -c "[ $rc = 3 ] && grep -q 'status=404' '$WORK/last.out' && grep -q '(not-found)' '$WORK/last.out'"
drv get "$BUCKET" "$KEY_SPECIAL" "$WORK/gone.out"
check "GET after DELETE: 404 NoSuchKey" last_has 'status=404 code=NoSuchKey'

echo "# ${SECONDS}s: wrong credentials"
# ---- wrong credentials --------------------------------------------------------------------------
SECRET=$(cat "$S3_SECRET_ACCESS_KEY_FILE")
secret "$SECRET"
( umask 077; head -c 30 /dev/urandom | base64 | tr -d '/+=\n' >"$WORK/wrong_secret" )
WRONG=$(cat "$WORK/wrong_secret")
secret "$WRONG"
S3_SECRET_ACCESS_KEY_FILE="$WORK/wrong_secret" drv get "$BUCKET" plain/big.bin "$WORK/denied.out"
rc=$?
check "wrong secret: exit 3, HTTP 403 SignatureDoesNotMatch" bash -c "[ $rc = 3 ] && grep -q 'status=403 code=SignatureDoesNotMatch' '$WORK/last.out'"
check "wrong secret: the error names SignatureDoesNotMatch and the variables to check" \
    last_has 'error: .*SignatureDoesNotMatch.*S3_SECRET_ACCESS_KEY'
check "wrong secret: neither the wrong nor the real secret is printed" \
    bash -c "! grep -qF -- '$WRONG' '$WORK/last.out' && ! grep -qF -- \"\$1\" '$WORK/last.out'" _ "$SECRET"
check "wrong secret: nothing written to the sink" bash -c "[ ! -s '$WORK/denied.out' ]"
echo AKIAWRONGWRONGWRONG1 >"$WORK/wrong_ak"
S3_ACCESS_KEY_ID_FILE="$WORK/wrong_ak" drv head "$BUCKET" plain/big.bin
check "unknown access key: HTTP 403" last_has 'status=403'

# ---- transport errors ---------------------------------------------------------------------------
S3_ENDPOINT="http://127.0.0.1:1" drv head "$BUCKET" x
rc=$?
check "connection refused: a destination error naming the endpoint (exit 1)" \
    bash -c "[ $rc = 1 ] && grep -q 'error: S3 HEAD .*127.0.0.1:1.*(destination)' '$WORK/last.out'"
S3_ENDPOINT="http://127.0.0.1:1/some/path" drv head "$BUCKET" x
check "an endpoint with a path is a configuration error naming S3_ENDPOINT" last_has 'S3_ENDPOINT.*(config)'

echo "# ${SECONDS}s: TLS"
# ---- TLS ------------------------------------------------------------------------------------------
TLS_ENDPOINT=$(cat "$RGW_DIR/tls_endpoint" 2>/dev/null || true)
if [ -n "$TLS_ENDPOINT" ]; then
    S3_ENDPOINT=$TLS_ENDPOINT S3_CA_FILE="$RGW_DIR/ca.pem" drv put "$BUCKET" tls/obj "$WORK/small.bin" &&
        S3_ENDPOINT=$TLS_ENDPOINT S3_CA_FILE="$RGW_DIR/ca.pem" drv get "$BUCKET" tls/obj "$WORK/tls.out"
    check "https with the server's CA in S3_CA_FILE: PUT and GET work" cmp -s "$WORK/small.bin" "$WORK/tls.out"
    S3_ENDPOINT=$TLS_ENDPOINT drv head "$BUCKET" tls/obj
    rc=$?
    check "https with an unknown CA: refused (certificate verification is on)" \
        bash -c "[ $rc = 1 ] && grep -qi 'certificate' '$WORK/last.out'"
else
    not_ok "https endpoint" "rgw.sh wrote no tls_endpoint in $RGW_DIR"
fi

echo "# ${SECONDS}s: the destination"
# ---- the destination (uploader/s3/s3.c) ------------------------------------------------------------
# Part size 5 MiB (the minimum), 2 parts in flight. Every request of this section is recorded by
# RGW and checked against R2's rules at the end.
"$ROOT/tests/servers/rgw.sh" record "$RGW_DIR" on
RGWLOG="$RGW_DIR/log/client.rgw.snapkeep.log"
FROM=$(( $(wc -l <"$RGWLOG") + 1 ))
export S3_BUCKET="$BUCKET" S3_PREFIX="dest/p" S3_ALLOW_HTTP=1 S3_PART_SIZE_MB=5 S3_CONCURRENCY=2
MiB=1048576
for spec in "0:0" "1:1" "part:$((5 * MiB))" "part+1:$((5 * MiB + 1))" "many:$((23 * MiB + 5))"; do
    name=${spec%%:*} size=${spec#*:}
    head -c "$size" /dev/urandom >"$WORK/d_$name.bin"
    drv dest-put "size/$name" "$WORK/d_$name.bin" 1000003 && drv dest-get "size/$name" "$WORK/d_$name.out"
    check "destination: $size bytes ($name) put in odd-sized writes, get identical" cmp -s "$WORK/d_$name.bin" "$WORK/d_$name.out"
done
drv head "$BUCKET" "dest/p/size/many"
check "23 MiB + 5 became a 5-part multipart object (ETag ...-5)" last_has 'etag="[0-9a-f]*-5"'
drv head "$BUCKET" "dest/p/size/part"
check "exactly one part (5 MiB) became a single PutObject (plain ETag)" last_has 'etag="[0-9a-f]*" '
drv head "$BUCKET" "dest/p/size/part+1"
check "one part + 1 byte became a 2-part multipart object" last_has 'etag="[0-9a-f]*-2"'

drv dest-put "$KEY_SPECIAL" "$WORK/small.bin" && drv dest-get "$KEY_SPECIAL" "$WORK/d_special.out"
check "destination: key with spaces, '+', é, 日本 round-trips" cmp -s "$WORK/small.bin" "$WORK/d_special.out"
drv dest-list "dir one/"
check "list() returns that key relative to S3_PREFIX with its size" last_has "^$KEY_SPECIAL	3000	[0-9]"

drv dest-put "size/many" "$WORK/d_many.bin"
rc=$?
check "put() of an existing key fails and names it (never overwrites)" \
    bash -c "[ $rc = 1 ] && grep -q \"'size/many' already exists\" '$WORK/last.out'"

drv dest-put-abort "aborted/obj" "$WORK/d_many.bin" $((12 * MiB))
drv uploads "$BUCKET"
check "abort() after 2 parts: no multipart upload left (ListMultipartUploads empty)" last_has '^uploads=0$'
drv dest-list "aborted/"
check "... and nothing listed under the key" last_has '^count=0$'

drv dest-put-maxparts "toolarge" "$WORK/d_many.bin" 3
rc=$?
check "more parts than the limit (lowered to 3 for the test): fails early, naming S3_PART_SIZE_MB" \
    bash -c "[ $rc = 1 ] && grep -q \"'toolarge' is larger than 3 parts of S3_PART_SIZE_MB=5 MiB.*raise S3_PART_SIZE_MB\" '$WORK/last.out'"
drv uploads "$BUCKET"
check "... and aborts its multipart upload" last_has '^uploads=0$'

S3_SECRET_ACCESS_KEY_FILE="$WORK/wrong_secret" drv dest-put "wrong/secret" "$WORK/small.bin"
rc=$?
check "put() with a wrong secret fails before sending data, naming SignatureDoesNotMatch, no secret printed" \
    bash -c "[ $rc = 1 ] && grep -q 'error: .*HTTP 403 SignatureDoesNotMatch.*S3_SECRET_ACCESS_KEY.*(config)' '$WORK/last.out' &&
             ! grep -qF -- '$WRONG' '$WORK/last.out'"

S3_ALLOW_HTTP=0 drv dest-list ""
rc=$?
check "a plain http S3_ENDPOINT without S3_ALLOW_HTTP: configuration error naming both" \
    bash -c "[ $rc = 1 ] && grep -q 'S3_ENDPOINT .* is plain http.*S3_ALLOW_HTTP.*(config)' '$WORK/last.out'"

# SIGTERM in the middle of a multipart upload (the stream stalls after 12 MiB, 2 parts sent).
mkfifo "$WORK/stream.fifo"
"$DRIVER" dest-put-stdin "cancel/obj" <"$WORK/stream.fifo" >"$WORK/cancel.out" 2>&1 &
PUT_PID=$!
exec 9>"$WORK/stream.fifo"
head -c $((12 * MiB)) /dev/urandom >&9
for _ in $(seq 1 100); do drv uploads "$BUCKET"; last_has '^uploads=1$' && break; sleep 0.1; done
kill -TERM "$PUT_PID"
wait "$PUT_PID"
rc=$?
exec 9>&-
cat "$WORK/cancel.out" >>"$ALL_OUT"
check "SIGTERM during a multipart upload: put stops with a cancelled error" \
    bash -c "[ $rc = 1 ] && grep -q '(cancelled)' '$WORK/cancel.out'"
drv uploads "$BUCKET"
check "... its multipart upload is aborted (ListMultipartUploads empty)" last_has '^uploads=0$'
drv dest-list "cancel/"
check "... and nothing is listed" last_has '^count=0$'

drv dest-get "no/such/key" "$WORK/missing.out"
rc=$?
check "get() of a missing key: not-found, naming the key" bash -c "[ $rc = 4 ] && grep -q \"'no/such/key' does not exist\" '$WORK/last.out'"
check "remove() of a missing key is not an error" drv dest-rm "no/such/key"
drv dest-rm "size/1" && drv dest-list "size/1"
check "remove() deletes" last_has '^count=0$'

echo "# ${SECONDS}s: 1001 keys"
# (not recorded: 3 requests per key at debug level 20 would triple the time of this test)
"$ROOT/tests/servers/rgw.sh" record "$RGW_DIR" off
drv dest-fill "many/k" 1001
"$ROOT/tests/servers/rgw.sh" record "$RGW_DIR" on
check "1001 objects stored" last_has '^filled 1001$'
drv dest-list "many/"
check "list() pages through 1001 keys (continuation token)" last_has '^count=1001$'
KEYS=$(seq -f 'many/k%05g' 0 1000)
# shellcheck disable=SC2086
drv dest-rm-many $KEYS
check "DeleteObjects of 1001 keys (2 batches)" last_has '^removed 1001$'
drv dest-list "many/"
check "... after which none is listed" last_has '^count=0$'

"$ROOT/tests/servers/rgw.sh" record "$RGW_DIR" off
awk -v from="$FROM" -f "$ROOT/tests/integration/s3_smoke.r2rules.awk" "$RGWLOG" >"$WORK/r2rules.out"
rc=$?
sed 's/^/# /' "$WORK/r2rules.out"
check "R2 rules hold for every recorded request (equal parts, no STREAMING-*, no Expect, Content-MD5)" \
    bash -c "[ $rc = 0 ]"
check "... and the record saw the 5 uploads (5 + 2 parts, and up to 2 + 2 + 2 of the aborted ones), the list pages and the 2 delete batches" \
    grep -Eq 'parts=([7-9]|1[0-3]) uploads=5 deletes=2 lists=([5-9]|[1-9][0-9]+) continued=[1-9]' "$WORK/r2rules.out"

echo "# ${SECONDS}s: faults"
# ---- faults (tests/integration/s3_smoke.faultproxy.py between the destination and RGW) ---------
RULES="$WORK/fault.rules"
: >"$RULES"
python3 "$ROOT/tests/integration/s3_smoke.faultproxy.py" "${S3_ENDPOINT##*:}" "$RULES" "$WORK/proxy.port" \
    2>"$WORK/proxy.err" &
PROXY_PID=$!
trap 'kill $PROXY_PID 2>/dev/null; cleanup' EXIT
for _ in $(seq 1 50); do [ -s "$WORK/proxy.port" ] && break; sleep 0.1; done
DIRECT_ENDPOINT=$S3_ENDPOINT
export S3_ENDPOINT="http://127.0.0.1:$(cat "$WORK/proxy.port")"
export S3_PREFIX="fault"

fault() { echo "$1" >"$RULES"; }
fault "PUT partNumber=2& 1 503"
drv dest-put f/503 "$WORK/d_many.bin" && drv dest-get f/503 "$WORK/f503.out"
check "part 2 answered 503 once: retried, the upload succeeds and reads back identical" \
    bash -c "cmp -s '$WORK/d_many.bin' '$WORK/f503.out' && grep -q 'partNumber=2.*answered 503' '$WORK/proxy.err'"
fault "PUT partNumber=3& 1 drop-request"
drv dest-put f/drop "$WORK/d_many.bin"
: >"$RULES"
drv dest-get f/drop "$WORK/fdrop.out"
check "connection dropped in the middle of part 3: retried, the object is intact" \
    bash -c "cmp -s '$WORK/d_many.bin' '$WORK/fdrop.out' && grep -q 'partNumber=3.*dropped mid-request' '$WORK/proxy.err'"
fault "PUT fault/f/429 1 429"
drv dest-put f/429 "$WORK/d_part+1.bin"
check "429 SlowDown: retried with backoff (logged), then stored" \
    bash -c "grep -q '^stored' '$WORK/last.out' && grep -q 'SlowDown.*retrying in [0-9]* ms' '$WORK/last.out'"
fault "POST uploadId= 1 error200"
drv dest-put f/error200 "$WORK/d_many.bin"
check "CompleteMultipartUpload answering 200 with an <Error> body: retried, then stored" \
    bash -c "grep -q '^stored' '$WORK/last.out' && grep -q '200 with an <Error> body' '$WORK/proxy.err'"
printf 'POST uploadId= 1 lose-response\nPOST uploadId= 2 404:NoSuchUpload\n' >"$RULES"
drv dest-put f/lostcomplete "$WORK/d_many.bin" && drv dest-get f/lostcomplete "$WORK/flost.out"
check "CompleteMultipartUpload done but its answer lost: the retry's NoSuchUpload is resolved by HEAD, stored" \
    bash -c "cmp -s '$WORK/d_many.bin' '$WORK/flost.out' && grep -q 'answer lost' '$WORK/proxy.err' &&
             grep -q 'lostcomplete.*an earlier attempt completed it' '$ALL_OUT'"
# (RGW ignores If-None-Match on PUT; the proxy answers the retry as R2 would: 412)
printf 'PUT fault/f/lostput 1 lose-response\nPUT fault/f/lostput 2 412:PreconditionFailed\n' >"$RULES"
drv dest-put f/lostput "$WORK/small.bin" && drv dest-get f/lostput "$WORK/flostput.out"
check "single PutObject stored but its answer lost, the retry refused (412): our own bytes are recognised, success" \
    bash -c "cmp -s '$WORK/small.bin' '$WORK/flostput.out' && grep -q 'lostput: answered 412' '$WORK/proxy.err'"
printf 'PUT fault/f/racer 1 412:PreconditionFailed\n' >"$RULES"
drv dest-put f/racer "$WORK/small.bin"
rc=$?
check "single PutObject refused with 412 for another object: 'already exists', never overwritten" \
    bash -c "[ $rc = 1 ] && grep -q \"'f/racer' already exists\" '$WORK/last.out'"
fault "GET fault/f/503 1 drop-response"
drv dest-get f/503 "$WORK/fresume.out"
check "get(): connection dropped after half the object: resumed with Range, bytes identical" \
    bash -c "cmp -s '$WORK/d_many.bin' '$WORK/fresume.out' && grep -q 'resuming in' '$WORK/last.out'"
fault "PUT partNumber= all 500"
S3_MAX_ATTEMPTS=3 drv dest-put f/permanent "$WORK/d_many.bin"
rc=$?
check "parts failing with 500 every time: put fails after 3 attempts, naming the error" \
    bash -c "[ $rc = 1 ] && grep -q 'error: after 3 attempts: S3 UploadPart .*HTTP 500 InternalError' '$WORK/last.out'"
: >"$RULES"
drv uploads "$BUCKET"
check "... the multipart upload was aborted (ListMultipartUploads empty)" last_has '^uploads=0$'
drv dest-list "f/permanent"
check "... and nothing is listed" last_has '^count=0$'
kill $PROXY_PID 2>/dev/null
export S3_ENDPOINT=$DIRECT_ENDPOINT

# ---- the CLI against S3: backup-now, list, verify, restore, refusals --------------------------
skc() { # skc ARGS...: the snapkeep CLI with the S3 job's settings; output in $WORK/cli.out
    env SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH="$WORK/app.db" S3_BUCKET=snapkeep-cli S3_ALLOW_HTTP=true \
        SNAPKEEP_STATE_DIR="$WORK/state" SNAPKEEP_SERVICE=backend SNAPKEEP_ENVIRONMENT=production "$@" \
        >"$WORK/cli.out" 2>&1
    local rc=$?
    cat "$WORK/cli.out" >>"$ALL_OUT"
    return $rc
}
mkdir -p "$WORK/state"
unset S3_PREFIX # the keys below are the documented ones, at the bucket's root
drv mkbucket snapkeep-cli
sqlite3 "$WORK/app.db" <"$ROOT/tests/fixtures/sqlite_fixture.sql" >/dev/null
digest() { python3 "$ROOT/tests/tools/db_digest.py" "$1" 2>&1; }
skc "$SK_BIN" backup-now
check "CLI: backup-now to S3 exits 0" test $? -eq 0
key=$(grep -o 'snapshots/backend/production/sqlite_app_[0-9-]*\.sqlite3\.zst' "$WORK/cli.out" | head -1)
for k in "$key" "$key.md5" "$key.manifest.json"; do
    drv head snapkeep-cli "$k"
    check "CLI: '$k' is in the bucket" test $? -eq 0
done
drv get snapkeep-cli "$key" "$WORK/cli.zst" && drv get snapkeep-cli "$key.md5" "$WORK/cli.md5"
check "CLI: the object fetched back passes md5sum -c and zstd -t" \
    bash -c "cd '$WORK' && sed 's/ .*\.zst$/  cli.zst/' cli.md5 | md5sum -c --status && zstd -q -t cli.zst"
skc "$SK_BIN" backup-now && skc "$SK_BIN" list
check "CLI: list shows 2 backups with checksum ok" test "$(grep -c ' ok$' "$WORK/cli.out")" -eq 2
skc "$SK_BIN" verify latest
check "CLI: verify latest from S3 exits 0" test $? -eq 0
skc "$SK_BIN" restore "$key" --to "$WORK/restored.db"
check "CLI: restore from S3 gives back the source database" \
    bash -c "[ \"\$(python3 '$ROOT/tests/tools/db_digest.py' '$WORK/restored.db')\" = \"\$(python3 '$ROOT/tests/tools/db_digest.py' '$WORK/app.db')\" ]"
# a damaged object in the bucket (same key, other bytes) is refused; the target stays as it was
head -c 5000 /dev/urandom >"$WORK/junk"
drv delete snapkeep-cli "$key" && drv put snapkeep-cli "$key" "$WORK/junk"
before=$(md5sum <"$WORK/restored.db")
skc "$SK_BIN" restore "$key" --to "$WORK/restored.db" --force
rc=$?
check "CLI: a damaged S3 object is refused (exit 6, MD5 mismatch) and the target is untouched" \
    bash -c "[ $rc = 6 ] && grep -q 'MD5 mismatch' '$WORK/cli.out' && [ \"\$(md5sum <'$WORK/restored.db')\" = '$before' ]"
# a wrong secret: clear error naming SignatureDoesNotMatch, the secret never printed
printf 'wrong-secret-%s\n' "$RANDOM$RANDOM" >"$WORK/wrong_secret"
WRONG=$(cat "$WORK/wrong_secret")
secret "$WRONG"
skc S3_SECRET_ACCESS_KEY_FILE="$WORK/wrong_secret" "$SK_BIN" backup-now
rc=$?
check "CLI: wrong secret: exit 3 (credentials are configuration) naming SignatureDoesNotMatch" \
    bash -c "[ $rc = 3 ] && grep -q SignatureDoesNotMatch '$WORK/cli.out'"
check "CLI: ... and neither secret appears in the output" \
    bash -c "! grep -qF -- \"\$1\" '$WORK/cli.out' && ! grep -qF -- \"\$2\" '$WORK/cli.out'" _ "$WRONG" "$SECRET"
# the AWS SDK names are aliases (issue 10 item 8): the same bucket through AWS_ENDPOINT_URL,
# AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY alone, signatures checked by RGW
(
    export AWS_ENDPOINT_URL=$S3_ENDPOINT AWS_REGION=$S3_REGION AWS_ACCESS_KEY_ID=$(cat "$S3_ACCESS_KEY_ID_FILE")
    export AWS_SECRET_ACCESS_KEY=$SECRET
    unset S3_ENDPOINT S3_REGION S3_ACCESS_KEY_ID_FILE S3_SECRET_ACCESS_KEY_FILE
    skc "$SK_BIN" list
)
check "CLI: AWS_* names alone reach the bucket (list exits 0, shows the backups)" \
    bash -c "[ $? = 0 ] && [ \$(grep -c ' ok$' '$WORK/cli.out') -ge 1 ]"
(
    export AWS_REGION=eu-central-1
    skc "$SK_BIN" list
)
check "CLI: S3_REGION and a different AWS_REGION: exit 3 naming both" \
    bash -c "[ $? = 3 ] && grep -q \"S3_REGION='.*' and AWS_REGION='eu-central-1' are both set\" '$WORK/cli.out'"
# SIGKILL in the middle of a multipart upload: nothing is listed
"${SK_TOOLS:-$ROOT/build/asan/tools}/sqlite_load" make "$WORK/big.db" 40
env SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH="$WORK/big.db" S3_BUCKET=snapkeep-cli S3_ALLOW_HTTP=true \
    SNAPKEEP_STATE_DIR="$WORK/state" SNAPKEEP_COMPRESSION_LEVEL=1 S3_PART_SIZE_MB=5 "$SK_BIN" backup-now \
    >"$WORK/kill.out" 2>&1 &
pid=$!
for _ in $(seq 400); do grep -q '\[snapshot\]' "$WORK/kill.out" && break; sleep 0.05; done
sleep 0.5
kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null
skc SNAPKEEP_SQLITE_PATH="$WORK/big.db" "$SK_BIN" list
check "CLI: SIGKILL mid-upload leaves nothing listed" test "$(grep -c '\.zst ' "$WORK/cli.out")" -eq 0

check "no sanitizer report in any driver output" bash -c "! grep -qE 'Sanitizer|runtime error' '$ALL_OUT'"
_secrets_check # the real and the wrong secrets: in no driver or CLI output, nor in a status file

echo "# ${SECONDS}s: done"
echo "1..$n"
[ "$failed" = 0 ] || { echo "# $failed of $n failed; driver outputs in $ALL_OUT (set KEEP_WORK=1 to keep)"; exit 1; }
exit 0
