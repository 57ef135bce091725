#!/usr/bin/env bash
# S3: a SIZE_MIB (default 2048) MiB stream uploaded to a local Ceph RGW by snapkeep's S3 destination
# (fixed-size multipart, defaults: 8 MiB parts, 2 in flight) against `aws s3 cp` of the same file
# (Debian's awscli). Wall time and peak RSS, median of RUNS (default 2) runs; objects are deleted
# between runs (RGW keeps them in RAM).
set -euo pipefail
cd "$(dirname "$0")/.."
size=${SIZE_MIB:-2048} runs=${RUNS:-2}
work=$(mktemp -d /tmp/snapkeep-bench-s3.XXXXXX)
trap 'tests/servers/rgw.sh stop "$work/rgw" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
command -v aws >/dev/null || { echo "installing Debian's awscli..."; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli >/dev/null; }
echo "starting RGW..."
tests/servers/rgw.sh start "$work/rgw" >/dev/null
set -a; . "$work/rgw/env"; set +a
# a release build of the S3 driver (tests/tools/s3_smoke.c) over the release library
make -s build/release/libsnapkeep.a
cc -std=c11 -D_GNU_SOURCE -O2 -o "$work/s3drv" tests/tools/s3_smoke.c build/release/libsnapkeep.a $(make -s print-libs)
export S3_BUCKET=bench S3_ALLOW_HTTP=true
"$work/s3drv" mkbucket bench >/dev/null
echo "creating a ${size} MiB file..."
head -c $((size * 1024 * 1024)) /dev/urandom >"$work/data"
# awscli reads its credentials from the environment (never from the command line)
export AWS_ACCESS_KEY_ID=$(cat "$S3_ACCESS_KEY_ID_FILE") AWS_SECRET_ACCESS_KEY=$(cat "$S3_SECRET_ACCESS_KEY_FILE")
export AWS_DEFAULT_REGION=${S3_REGION:-us-east-1}
: >"$work/results"
for i in $(seq "$runs"); do
  /usr/bin/time -f "snapkeep %e %M" -a -o "$work/results" "$work/s3drv" dest-put-stdin "sk-$i" <"$work/data" >/dev/null
  "$work/s3drv" delete bench "sk-$i" >/dev/null
  /usr/bin/time -f "awscli %e %M" -a -o "$work/results" aws --endpoint-url "$S3_ENDPOINT" s3 cp --only-show-errors \
    "$work/data" "s3://bench/aws-$i"
  "$work/s3drv" delete bench "aws-$i" >/dev/null
done
python3 - "$work/results" "$size" "$runs" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.split() and l.split()[0] in ("snapkeep", "awscli")]
med = lambda who, i: statistics.median(float(r[i]) for r in rows if r[0] == who)
s_t, a_t, s_m, a_m = med("snapkeep", 1), med("awscli", 1), med("snapkeep", 2) / 1024, med("awscli", 2) / 1024
print(f"\nS3 upload of a {sys.argv[2]} MiB stream to a local Ceph RGW, median of {sys.argv[3]} runs (2 cores, RGW on the same machine):")
print("| tool | wall time (s) | peak RSS (MiB) |")
print("|---|---|---|")
print(f"| snapkeep S3 destination (8 MiB parts, 2 in flight) | {s_t:.1f} | {s_m:.1f} |")
print(f"| aws s3 cp (Debian awscli) | {a_t:.1f} | {a_m:.1f} |")
print(f"| ratio snapkeep / awscli | {s_t / a_t:.2f} | {s_m / a_m:.2f} |")
PY
