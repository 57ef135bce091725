#!/usr/bin/env bash
# The image and the compose stack, without a Docker engine (none runs here):
#  - compose.yaml passes `docker-compose config` (Debian's compose implementation) for every env file,
#    and each environment gets its schedule;
#  - every shared library bin/snapkeep needs (ldd) belongs to a package of the Dockerfile's runtime
#    stage or to one of their dependencies;
#  - in a root filesystem made only of those packages (apt-get download + dpkg -x, as the runtime
#    stage would install them), the binary runs: version, a real SQLite backup, list, health.
# Not exercised: docker build itself, the USER/HEALTHCHECK directives, networking between services.
. "$(dirname "$0")/../lib.sh"
clean_env
root_dir=$(cd "$(dirname "$0")/../.." && pwd)
bin=$root_dir/bin/snapkeep
[ -x "$bin" ] || { echo "not ok - bin/snapkeep is not built (make test builds it)"; exit 1; }

# ---- compose ---------------------------------------------------------------------------------
mkdir -p "$T/stack"
cp -r "$root_dir/compose.yaml" "$root_dir/env" "$root_dir/docker" "$T/stack/"
mkdir -p "$T/stack/secrets"
for s in r2_access_key_id r2_secret_access_key postgres_password database_url pocketbase_admin_password; do
  echo "test-$s" >"$T/stack/secrets/$s"
done
for envname in production staging development; do
  (cd "$T/stack" && ENVIRONMENT=$envname R2_ACCOUNT_ID=0123abcd docker-compose config >"$T/compose-$envname.yaml" 2>"$T/compose.err")
  rc=$?
  check "docker-compose config accepts compose.yaml with env/$envname.env" test $rc -eq 0
  [ $rc -eq 0 ] || sed 's/^/#   /' "$T/compose.err"
done
check "production sidecars back up 7 times a day" \
  test "$(grep -c "SNAPKEEP_SCHEDULE: 0 0,6,9,12,15,18,21 \* \* \*" "$T/compose-production.yaml")" -eq 3
check "staging sidecars back up at midnight" test "$(grep -c "SNAPKEEP_SCHEDULE: 0 0 \* \* \*" "$T/compose-staging.yaml")" -eq 3
check "every sidecar takes its secrets from files" test "$(grep -c 'S3_SECRET_ACCESS_KEY_FILE: /run/secrets/r2_secret_access_key' "$T/compose-production.yaml")" -eq 3
check "no secret value is written in compose.yaml or env/" bash -c "! grep -rqiE '(password|secret|token)[A-Z_]*[:=] *[^ /\$]' '$root_dir/compose.yaml' '$root_dir/env' | grep -v _FILE"
(cd "$T/stack" && R2_ACCOUNT_ID=x docker-compose config >/dev/null 2>&1 && ENVIRONMENT=production docker-compose config >/dev/null 2>&1)
check "compose refuses to start without R2_ACCOUNT_ID" test $? -ne 0
for e in production staging development; do
  env -i PATH="$PATH" bash -c "set -a; . '$root_dir/env/$e.env'; set +a; SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=/x.db SNAPKEEP_DEST_DIR=$T/d SNAPKEEP_STATE_DIR=$T/state '$bin' config check" >"$T/out" 2>&1
  check "env/$e.env is a valid snapkeep configuration" test $? -eq 0
done

# ---- runtime libraries -----------------------------------------------------------------------
runtime=$(grep -A3 '^# RUNTIME-PACKAGES' "$root_dir/docker/Dockerfile" | grep -o 'no-install-recommends .*\\\?$' | sed 's/no-install-recommends //; s/ *\\$//')
check "the Dockerfile's runtime package list is found" test -n "$runtime"
apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances \
  $runtime 2>/dev/null | grep -E '^[a-z0-9]' | sort -u >"$T/closure"
missing=""
for lib in $(ldd "$bin" | grep -o '/[^ ]*\.so[^ ]*'); do
  real=$(readlink -f "$lib")
  pkg=$(dpkg -S "$lib" 2>/dev/null || dpkg -S "$real" 2>/dev/null || dpkg -S "/usr$lib" 2>/dev/null)
  pkg=$(echo "$pkg" | head -1 | cut -d: -f1)
  grep -qx "$pkg" "$T/closure" || missing="$missing $lib($pkg)"
done
check "every library ldd lists comes from the runtime packages or their dependencies${missing:+ (missing:$missing)}" test -z "$missing"

# ---- a root filesystem of only those packages -----------------------------------------------
debs=$root_dir/build/image-debs
mkdir -p "$debs"
( cd "$debs" && for p in $(cat "$T/closure"); do ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download -q "$p" >/dev/null 2>&1 || echo "$p" >>"$T/nodownload"; done )
check "every runtime package downloads from Debian's archive" test ! -s "$T/nodownload"
mkdir -p "$T/root"
for d in "$debs"/*.deb; do dpkg -x "$d" "$T/root"; done
mkdir -p "$T/root/usr/local/bin" "$T/root/data" "$T/root/backups" "$T/root/tmp" "$T/root/var/lib/snapkeep"
cp "$bin" "$T/root/usr/local/bin/snapkeep"
ln -s snapkeep "$T/root/usr/local/bin/backup-now"
sqlite3 "$T/root/data/app.db" "CREATE TABLE t(x); INSERT INTO t VALUES ('in the image');"
# the root has no shell or coreutils (nor has the runtime image's PATH use for them): exec directly
chroot=$(command -v chroot)
inroot() { local tz=; [ "$1" = TZ ] && { tz=$2; shift 2; }
  env -i PATH=/usr/local/bin:/usr/bin:/bin ${tz:+TZ=$tz} SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=/data/app.db \
    SNAPKEEP_DEST_DIR=/backups SNAPKEEP_STATE_DIR=/var/lib/snapkeep SNAPKEEP_SPOOL_DIR=/tmp \
    "$chroot" "$T/root" "/usr/local/bin/$@"; }
inroot snapkeep version >"$T/out" 2>&1
check "in the runtime root: snapkeep version runs" grep -q '^snapkeep ' "$T/out"
inroot backup-now >"$T/out" 2>&1
check "in the runtime root: backup-now (the PATH name) stores a backup" bash -c "ls '$T/root/backups/snapshots/default/default/' | grep -q '\.zst\.manifest\.json$'"
inroot snapkeep health >"$T/out" 2>&1
check "in the runtime root: the HEALTHCHECK command reports healthy" grep -q '^ok' "$T/out"
inroot TZ Europe/Berlin snapkeep schedule '0 0 * * *' --count 1 >"$T/out" 2>&1
check "in the runtime root: time zones resolve from tzdata" grep -q '+0[12]:00 CE' "$T/out"
done_testing
