#!/usr/bin/env bash
# bench/s3.sh: the whole CLI, `snapkeep backup-now` (configured by environment) of a 2 GiB × BENCH_SCALE
# SQLite database of random blobs (so the stored object is as large: zstd cannot shrink it) to a
# local Ceph RGW (tests/servers/rgw.sh), against `aws s3 cp` of the same database file to the same
# bucket, alternating A B A B (bench/lib.sh). The reference only uploads a file; snapkeep also takes
# the snapshot, runs integrity_check, compresses, hashes (SHA-256 of the plaintext, MD5 of the
# object, Content-MD5 and the signed payload hash of every part) and writes the .md5 and manifest.
# The aws CLI is the one on PATH (Debian's awscli package is installed when there is none); its
# version is printed. Objects are deleted after every run (RGW keeps them in RAM).
# S3_PART_SIZE_MB and S3_CONCURRENCY pass through to snapkeep (defaults: the product's).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_init s3
trap 'tests/servers/rgw.sh stop "$BW/rgw" >/dev/null 2>&1 || true; [ "${BENCH_KEEP:-}" = 1 ] || rm -rf "$BW"' EXIT
command -v aws >/dev/null || { echo "installing Debian's awscli..."; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli >/dev/null; }
command -v sqlite3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null
echo "# $(aws --version 2>&1 | head -n 1) at $(command -v aws)"
make -s all >/dev/null
echo "# starting RGW..."
tests/servers/rgw.sh start "$BW/rgw" >/dev/null
set -a; . "$BW/rgw/env"; set +a
size=$(scaled 2048)
echo "# a ${size} MiB SQLite database (WAL mode, as applications keep theirs) of 1 MiB random blobs"
sqlite3 "$BW/blobs.db" "PRAGMA journal_mode=WAL; CREATE TABLE b(id INTEGER PRIMARY KEY, data BLOB);
  WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < $size) INSERT INTO b SELECT x, randomblob(1048576) FROM n;" >/dev/null
# awscli reads its credentials from the environment (never from the command line)
AWS_ACCESS_KEY_ID=$(cat "$S3_ACCESS_KEY_ID_FILE") AWS_SECRET_ACCESS_KEY=$(cat "$S3_SECRET_ACCESS_KEY_FILE")
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION=${S3_REGION:-us-east-1}
aws --endpoint-url "$S3_ENDPOINT" s3 mb s3://bench >/dev/null
export S3_BUCKET=bench S3_ALLOW_HTTP=true SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=$BW/blobs.db SNAPKEEP_SPOOL_DIR=$BW
export SNAPKEEP_STATE_DIR=$BW/state
mkdir -p "$BW/state"
bench_post() { aws --endpoint-url "$S3_ENDPOINT" s3 rm --recursive --only-show-errors s3://bench/ >/dev/null 2>&1 || true; }
bench_pair "S3 (RGW): backup-now of a ${size} MiB database vs uploading the file" \
    "snapkeep backup-now (S3, part ${S3_PART_SIZE_MB:-8} MiB x ${S3_CONCURRENCY:-2})" "bin/snapkeep backup-now" \
    "aws s3 cp of the database file" "aws --endpoint-url '$S3_ENDPOINT' s3 cp --only-show-errors '$BW/blobs.db' s3://bench/blobs.db"
