#!/usr/bin/env bash
# bench/s3.sh: a 2 GiB × BENCH_SCALE stream uploaded to a local Ceph RGW (tests/servers/rgw.sh) by
# snapkeep's S3 destination (fixed-size multipart; the release driver tests/tools/s3_smoke.c
# `dest-put-stdin`) against `aws s3 cp` of the same file (Debian's awscli), alternating A B A B
# (bench/lib.sh). Objects are deleted after every run (RGW keeps them in RAM).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init s3
trap 'tests/servers/rgw.sh stop "$BW/rgw" >/dev/null 2>&1 || true; [ "${BENCH_KEEP:-}" = 1 ] || rm -rf "$BW"' EXIT
command -v aws >/dev/null || { echo "installing Debian's awscli..."; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli >/dev/null; }
echo "# starting RGW..."
tests/servers/rgw.sh start "$BW/rgw" >/dev/null
set -a; . "$BW/rgw/env"; set +a
make -s build/release/libsnapkeep.a
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -O2 $(make -s print-cflags) -o "$BW/s3drv" tests/tools/s3_smoke.c build/release/libsnapkeep.a \
  $(make -s print-libs)
export S3_BUCKET=bench S3_ALLOW_HTTP=true
"$BW/s3drv" mkbucket bench >/dev/null
size=$(scaled 2048)
echo "# a ${size} MiB file of random bytes"
head -c $((size * 1024 * 1024)) /dev/urandom >"$BW/data"
# awscli reads its credentials from the environment (never from the command line)
AWS_ACCESS_KEY_ID=$(cat "$S3_ACCESS_KEY_ID_FILE") AWS_SECRET_ACCESS_KEY=$(cat "$S3_SECRET_ACCESS_KEY_FILE")
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION=${S3_REGION:-us-east-1}
bench_post() { "$BW/s3drv" delete bench "obj-$1" >/dev/null 2>&1 || true; }
bench_pair "S3 upload of a ${size} MiB stream to RGW" \
    "snapkeep S3 destination" "'$BW/s3drv' dest-put-stdin obj-A <'$BW/data' >/dev/null" \
    "aws s3 cp" "aws --endpoint-url '$S3_ENDPOINT' s3 cp --only-show-errors '$BW/data' s3://bench/obj-B"
