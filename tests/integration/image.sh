#!/usr/bin/env bash
# The real image, built from docker/Dockerfile with podman and run as a user would run it:
#  - build (docker format, so the HEALTHCHECK is kept); size < 40 MB; HEALTHCHECK and a non-root
#    USER present; no shell inside; the base image debian:bookworm-slim made locally with
#    mmdebstrap (no registry is reachable), tarball and podman storage cached in build/image/;
#  - SQLite (a database on a bind-mounted volume) and PostgreSQL (tests/servers/pg.sh, host
#    network) backed up to a local directory and to Ceph RGW (tests/servers/rgw.sh), listed and
#    restored by the image; restored data equals the source;
#  - the non-root user writes its named state volume and the files it stores;
#  - `podman exec <ctr> backup-now` against a container running `snapkeep run`;
#  - `podman healthcheck run`: healthy before any backup, healthy after one, unhealthy when the last
#    success is 3 days old (written by a backup run under libfaketime, LD_PRELOADed into the image);
#  - `podman stop -t N` during a PocketBase backup (tests/servers/pocketbase_fake.py, slowed down):
#    within SNAPKEEP_STOP_GRACE it finishes and is listed; past it, it is aborted cleanly
#    (exit 130, nothing listed, nothing left in the destination);
#  - compose.yaml passes `docker-compose config` for every env file (Debian's compose).
# Only when podman cannot run at all does this report `not ok` with the reason and stop.
# Podman: root, no daemon: vfs storage and runc, cgroupfs, a private --root/--runroot under
# build/image/ (other users of podman on the machine are not disturbed).
. "$(dirname "$0")/../lib.sh"
clean_env
root_dir=$(cd "$(dirname "$0")/../.." && pwd)
cache=${SK_IMAGE_CACHE:-$root_dir/build/image} # base tarball, podman storage (layer cache)
img=localhost/snapkeep:test
tag=skimg$$
chmod 755 "$T"
mkdir -p "$cache"
t_start=$SECONDS

stop_podman() { :; }
cleanup() {
  stop_podman
  [ -n "${pg_started:-}" ] && "$root_dir/tests/servers/pg.sh" stop "$T/pg" >/dev/null 2>&1
  [ -n "${rgw_started:-}" ] && "$root_dir/tests/servers/rgw.sh" stop "$T/rgw" >/dev/null 2>&1
  local p; for p in ${bg_pids:-}; do kill "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
bail() { nok "$*"; done_testing; exit 1; }

# ---- podman ----------------------------------------------------------------------------------
missing=()
for c in podman:podman runc:runc mmdebstrap:mmdebstrap faketime:faketime docker-compose:docker-compose; do
  command -v "${c%%:*}" >/dev/null || missing+=("${c#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || bail "podman cannot run here: missing ${missing[*]} and not root to install them"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >"$T/apt.log" 2>&1 ||
    { sed 's/^/# /' "$T/apt.log" | tail -5; bail "podman cannot run here: apt-get install ${missing[*]} failed"; }
fi
cat >"$cache/containers.conf" <<'EOF'
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF=$cache/containers.conf
pm() { podman --root "$cache/storage" --runroot "$cache/run" --storage-driver vfs --runtime runc \
         --cgroup-manager cgroupfs "$@"; }
# podman without systemd logs an error for the healthcheck timer it cannot create; the checks
# here run `podman healthcheck run` themselves
pmq() { pm "$@" 2>"$T/pm.err"; local r=$?; grep -v 'unable to get systemd connection' "$T/pm.err" >&2; return $r; }
stop_podman() {
  pm ps -a --format '{{.Names}}' 2>/dev/null | grep "^$tag[-_]" | xargs -r podman --root "$cache/storage" \
    --runroot "$cache/run" --storage-driver vfs --runtime runc --cgroup-manager cgroupfs rm -f -t 0 >/dev/null 2>&1
  pm network rm -f "${tag}_default" >/dev/null 2>&1
  pm volume ls --format '{{.Name}}' 2>/dev/null | grep "^$tag[-_]" | xargs -r podman --root "$cache/storage" \
    --runroot "$cache/run" --storage-driver vfs --runtime runc --cgroup-manager cgroupfs volume rm -f >/dev/null 2>&1
}
pm info >"$T/info" 2>&1 || { sed 's/^/# /' "$T/info" | tail -5; bail "podman cannot run here: podman info fails"; }

# ---- the base image, made from Debian packages (cached) -------------------------------------
if ! pm image exists docker.io/library/debian:bookworm-slim; then
  if [ ! -s "$cache/base.tar" ]; then
    t0=$SECONDS
    mmdebstrap --variant=minbase bookworm "$cache/base-part.tar" >"$T/mmdebstrap.log" 2>&1 &&
      mv "$cache/base-part.tar" "$cache/base.tar" ||
      { sed 's/^/# /' "$T/mmdebstrap.log" | tail -5; bail "mmdebstrap made the bookworm base tarball"; }
    echo "# base tarball made with mmdebstrap in $((SECONDS - t0)) s"
  fi
  pm import "$cache/base.tar" docker.io/library/debian:bookworm-slim >"$T/import.log" 2>&1 ||
    { sed 's/^/# /' "$T/import.log" | tail -5; bail "podman import of the base tarball"; }
fi

# the servers start while the image builds
( "$root_dir/tests/servers/rgw.sh" start "$T/rgw" >"$T/rgw.log" 2>&1; echo $? >"$T/rgw.rc" ) &
bg_pids="$!"
rgw_started=1

# ---- build ------------------------------------------------------------------------------------
# a build that was interrupted leaves buildah working containers (full copies under vfs)
pm ps -a --external --format '{{.ID}} {{.Names}}' 2>/dev/null | awk '$2 ~ /-working-container$/ { print $1 }' |
  while read -r id; do pm rm -f --storage "$id" >/dev/null 2>&1; done
t0=$SECONDS
pm build --isolation chroot --network host --format docker --pull=never -f "$root_dir/docker/Dockerfile" \
  -t "$img" "$root_dir" >"$T/build.log" 2>&1
rc=$?
echo "# image built in $((SECONDS - t0)) s"
[ $rc -eq 0 ] || { sed 's/^/# /' "$T/build.log" | tail -30; bail "podman build -f docker/Dockerfile (exit $rc)"; }
ok "podman build --format docker -f docker/Dockerfile"
# Keep the layer cache of this build and drop the rest: vfs stores every layer as a full copy,
# so each source change would leave ~2 GB behind. The build stage's last image is tagged (the
# final stage is FROM scratch, so nothing else keeps it), then untagged images are pruned.
build_stage=$(awk '/^\[2\/2\] STEP 1\// { print last; exit } /^--> [0-9a-f]+$/ { last = $2 }' "$T/build.log")
if [ -n "$build_stage" ] && pm tag "$build_stage" localhost/snapkeep-build:cache >/dev/null 2>&1; then
  t0=$SECONDS
  pm image prune -f >/dev/null 2>&1
  echo "# older layers pruned in $((SECONDS - t0)) s; podman storage: $(du -sh "$cache/storage" | cut -f1)"
else
  echo "# the build stage's image was not found in the build log: nothing pruned"
fi
size=$(pm image inspect --format '{{.Size}}' "$img")
echo "# image size: $size bytes ($((size / 1000000)) MB)"
check "the image is smaller than 40 MB ($size bytes)" test "$size" -lt 40000000
check "the image keeps its HEALTHCHECK (snapkeep health)" \
  bash -c "[ \"\$(podman --root '$cache/storage' --runroot '$cache/run' --storage-driver vfs image inspect \
    --format '{{json .Config.Healthcheck.Test}}' '$img')\" = '[\"CMD\",\"/usr/local/bin/snapkeep\",\"health\"]' ]"
user=$(pm image inspect --format '{{.Config.User}}' "$img")
check "the image runs as the non-root user 10001 (USER $user)" test "$user" = 10001:10001
pmq run --rm --entrypoint /bin/sh "$img" -c true >/dev/null 2>&1
check "the image has no shell" test $? -ne 0
pmq run --rm "$img" version >"$T/out" 2>&1
check "snapkeep runs in the image (every library it loads is there)" grep -q '^snapkeep ' "$T/out"
pmq run --rm -e TZ=Europe/Berlin "$img" schedule '0 0 * * *' --count 1 >"$T/out" 2>&1
check "time zones resolve from the image's zoneinfo (TZ=Europe/Berlin)" grep -q '+0[12]:00 CE' "$T/out"
for e in production staging development; do
  env -i PATH="$PATH" bash -c "set -a; . '$root_dir/env/$e.env'; set +a; SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=/x.db SNAPKEEP_DEST_DIR=$T/d SNAPKEEP_STATE_DIR=$T/state '$SK_BIN' config check" >"$T/out" 2>&1
  check "env/$e.env is a valid snapkeep configuration" test $? -eq 0
done

# ---- shared inputs ----------------------------------------------------------------------------
mkdir -p "$T/data" "$T/backups" "$T/secrets"
python3 - "$T/data/app.db" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("PRAGMA journal_mode=WAL")
c.execute("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT NOT NULL, at REAL)")
c.executemany("INSERT INTO notes(body, at) VALUES (?, ?)", [("note %d %s" % (i, "x" * (i % 97)), i / 7) for i in range(5000)])
c.execute("CREATE INDEX notes_at ON notes(at)")
c.execute("PRAGMA user_version = 7")
c.commit()
EOF
chown -R 10001:10001 "$T/data" "$T/backups"
# run NAME [podman run options...] -- [snapkeep arguments...]: a throw-away container of the image
run() {
  local name=$1; shift
  local opts=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  pmq run --rm --name "$tag-$name" --network host "${opts[@]}" "$img" "$@" >"$T/out" 2>"$T/err"
  rc=$?
  cat "$T/err" >>"$T/all-stderr"; cat "$T/out" >>"$T/all-stdout"
}
secret_file() { # NAME FILE: a copy readable by the image's user only, for /run/secrets/NAME; its
  # value is registered with tests/secrets.sh, so done_testing checks that no output shows it
  cp "$2" "$T/secrets/$1" && chown 10001:10001 "$T/secrets/$1" && chmod 400 "$T/secrets/$1"
  secret "$(cat "$2")"
}
sqlite_env=(-e SNAPKEEP_ENGINE=sqlite -e SNAPKEEP_SQLITE_PATH=/data/app.db -e SNAPKEEP_SERVICE=app
            -v "$T/data:/data")
local_dest=(-e SNAPKEEP_DEST_DIR=/backups -v "$T/backups:/backups")

# ---- SQLite -> local directory, restore ------------------------------------------------------
run sqlite-local -v "$tag-state:/var/lib/snapkeep" -v "$tag-spool:/spool" "${sqlite_env[@]}" "${local_dest[@]}" \
  -- backup-now
check "SQLite on a mounted volume -> /backups: backup-now exits 0" rc_is 0
obj=$(find "$T/backups" -name '*.zst' -type f | head -1)
check "the backup is stored in the mounted directory ($(basename "${obj:-none}"))" test -n "$obj"
check "... owned by the image's user (uid 10001)" \
  bash -c "[ -n '$obj' ] && [ -z \"\$(find '$T/backups' -type f ! -uid 10001)\" ]"
state_dir=$(pm volume inspect --format '{{.Mountpoint}}' "$tag-state")
secret_watch "$state_dir"
check "the non-root user wrote its state into the named volume" \
  bash -c "[ -n \"\$(find '$state_dir' -type f -uid 10001 -size +0)\" ]"
run sqlite-restore "${sqlite_env[@]}" "${local_dest[@]}" -- restore latest --to /data/restored.db
check "restore latest --to /data/restored.db exits 0" rc_is 0
check "the restored database equals the source" test "$(db_digest "$T/data/restored.db")" = "$(db_digest "$T/data/app.db")"

# ---- RGW --------------------------------------------------------------------------------------
wait "${bg_pids%% *}" 2>/dev/null
if [ "$(cat "$T/rgw.rc" 2>/dev/null)" = 0 ]; then
  ok "RGW started"
  # shellcheck disable=SC1091
  (set -a; . "$T/rgw/env"; S3_BUCKET=skimg "$SK_TOOLS/s3_smoke" mkbucket skimg >"$T/mkbucket.log" 2>&1)
  check "bucket created" test $? -eq 0
  secret_file s3_key "$T/rgw/access_key"
  secret_file s3_secret "$T/rgw/secret_key"
  s3_dest=(-e "S3_ENDPOINT=$(cat "$T/rgw/endpoint")" -e S3_BUCKET=skimg -e S3_REGION=us-east-1 -e S3_ALLOW_HTTP=true
           -e S3_ACCESS_KEY_ID_FILE=/run/secrets/s3_key -e S3_SECRET_ACCESS_KEY_FILE=/run/secrets/s3_secret
           -v "$T/secrets/s3_key:/run/secrets/s3_key:ro" -v "$T/secrets/s3_secret:/run/secrets/s3_secret:ro")
else
  sed 's/^/# /' "$T/rgw.log" | tail -10
  nok "RGW started"
  s3_dest=()
fi
if [ ${#s3_dest[@]} -gt 0 ]; then
  run sqlite-s3 "${sqlite_env[@]}" "${s3_dest[@]}" -- backup-now
  check "SQLite -> RGW: backup-now exits 0" rc_is 0
  run sqlite-s3-list "${sqlite_env[@]}" "${s3_dest[@]}" -- list
  check "list from RGW shows it, checked ok" grep -q ' ok' "$T/out"
  run sqlite-s3-restore "${sqlite_env[@]}" "${s3_dest[@]}" -- restore latest --to /data/restored-s3.db
  check "restore from RGW exits 0" rc_is 0
  check "the database restored from RGW equals the source" \
    test "$(db_digest "$T/data/restored-s3.db")" = "$(db_digest "$T/data/app.db")"
fi

# ---- PostgreSQL (host network) -> local directory and RGW ------------------------------------
if "$root_dir/tests/servers/pg.sh" start "$T/pg" >"$T/pg.log" 2>&1; then
  pg_started=1
  ok "PostgreSQL started"
  # shellcheck disable=SC1091
  . "$T/pg/env"
  createdb src && psql -X -q -v ON_ERROR_STOP=1 -d src -f "$root_dir/tests/fixtures/postgres/fixture.sql" >/dev/null 2>&1
  check "fixture loaded" test "$(psql -X -At -d src -c 'SELECT count(*) FROM app.customers')" = 3000
  printf 'postgresql://%s@127.0.0.1:%s/src' "$PGUSER" "$PGPORT" >"$T/url"
  secret_file database_url "$T/url"
  secret_file pgpassword "$T/pg/password"
  pg_env=(-e SNAPKEEP_ENGINE=postgres -e SNAPKEEP_SERVICE=backend -e DATABASE_URL_FILE=/run/secrets/database_url
          -e PGPASSWORD_FILE=/run/secrets/pgpassword
          -v "$T/secrets/database_url:/run/secrets/database_url:ro" -v "$T/secrets/pgpassword:/run/secrets/pgpassword:ro")
  schema() { pg_dump --schema-only "$1" | grep -v '^\\\(un\)\?restrict '; }
  digest() {
    psql -X -At -d "$1" -c "SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(x::text, E''\\n'' ORDER BY
        x::text), '''')) FROM ONLY %s x;', c.oid::regclass::text, c.oid::regclass) FROM pg_class c JOIN pg_namespace n
        ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname !~ '^pg_toast' ORDER BY 1" | psql -X -At -d "$1"
  }
  same_db() { diff <(schema src) <(schema "$1") >/dev/null && diff <(digest src) <(digest "$1") >/dev/null; }
  for d in local s3; do
    if [ $d = local ]; then dest=("${local_dest[@]}"); else dest=("${s3_dest[@]}"); fi
    [ ${#dest[@]} -gt 0 ] || { nok "PostgreSQL -> $d: no destination (RGW did not start)"; continue; }
    run "pg-$d" "${pg_env[@]}" "${dest[@]}" -- backup-now
    check "PostgreSQL -> $d: backup-now in the image exits 0" rc_is 0
    check "... and neither the URL nor the password shows in its output" \
      bash -c "! grep -qF -e '$(cat "$T/pg/password")' -e 'postgresql://' '$T/out' '$T/err'"
    run "pg-$d-restore" "${pg_env[@]}" "${dest[@]}" -- restore latest --to "postgresql://$PGUSER@127.0.0.1:$PGPORT/restored_$d"
    check "PostgreSQL <- $d: restore latest into a new database exits 0" rc_is 0
    check "... schema (pg_dump --schema-only) and every table's rows equal the source" same_db "restored_$d"
  done
else
  sed 's/^/# /' "$T/pg.log" | tail -5
  nok "PostgreSQL started"
fi

# ---- snapkeep run, podman exec backup-now, healthcheck ---------------------------------------
health() { pmq healthcheck run "$tag-$1" >"$T/hc" 2>&1; hc=$?; }
status_of() { pm inspect --format '{{.State.Health.Status}}' "$tag-$1" 2>/dev/null; }
pmq run -d --name "$tag-agent" --network host -v "$tag-agent-state:/var/lib/snapkeep" -v "$tag-agent-spool:/spool" \
  "${sqlite_env[@]}" "${local_dest[@]}" -e SNAPKEEP_SERVICE=agent -e 'SNAPKEEP_SCHEDULE=0 3 * * *' "$img" >/dev/null
sleep 1
check "snapkeep run keeps running in its container" test "$(pm inspect --format '{{.State.Running}}' "$tag-agent")" = true
health agent
check "podman healthcheck run before any backup: healthy (within the start period)" test "$hc" -eq 0
check "... podman records the container healthy" test "$(status_of agent)" = healthy
pmq exec "$tag-agent" backup-now >"$T/out" 2>"$T/err"
rc=$?
check "podman exec <ctr> backup-now exits 0" rc_is 0
check "... and stored the backup" bash -c "ls '$T/backups/snapshots/agent/default/' | grep -q '\.manifest\.json$'"
pmq exec "$tag-agent" snapkeep list >"$T/out" 2>&1
check "podman exec <ctr> snapkeep list shows it" grep -q 'agent/default/.* ok' "$T/out"
health agent
check "podman healthcheck run after a success: healthy" test "$hc" -eq 0
pm rm -f -t 2 "$tag-agent" >/dev/null 2>&1

# stale: the last success is 3 days old (libfaketime moves the clock of that one run)
faketime_lib=$(find /usr/lib -name libfaketime.so.1 2>/dev/null | head -1)
run stale-backup -v "$tag-stale-state:/var/lib/snapkeep" "${sqlite_env[@]}" "${local_dest[@]}" -e SNAPKEEP_SERVICE=stale \
  -v "$faketime_lib:/opt/libfaketime.so.1:ro" -e LD_PRELOAD=/opt/libfaketime.so.1 -e FAKETIME=-3d -- backup-now
check "a backup 3 days in the past (faketime inside the image) exits 0" rc_is 0
pmq run -d --name "$tag-stale" --network host -v "$tag-stale-state:/var/lib/snapkeep" "${sqlite_env[@]}" \
  "${local_dest[@]}" -e SNAPKEEP_SERVICE=stale -e 'SNAPKEEP_SCHEDULE=0 3 * * *' --health-start-period 1s "$img" >/dev/null
sleep 2
health stale
check "podman healthcheck run when the last success is older than SNAPKEEP_HEALTH_FAIL_AFTER: unhealthy (exit $hc)" \
  test "$hc" -eq 1
pmq exec "$tag-stale" snapkeep health >"$T/out" 2>&1
rc=$?
check "... the HEALTHCHECK command itself exits 1 (stale), as documented" rc_is 1
[ "$rc" -eq 1 ] || sed 's/^/#   /' "$T/out"
pm rm -f -t 2 "$tag-stale" >/dev/null 2>&1

# ---- podman stop during a backup ------------------------------------------------------------
EMAIL=admin@example.com
printf 'Sup3r-secret-pw-4711\n' >"$T/pbpw"
secret_file pbpw "$T/pbpw"
start_fake() { # NAME [options]: URL in $url
  python3 "$root_dir/tests/servers/pocketbase_fake.py" --dir "$T/$1" --port 0 --email "$EMAIL" \
    --password-file "$T/pbpw" "${@:2}" >"$T/$1.out" 2>"$T/$1.log" &
  bg_pids="$bg_pids $!"
  local i
  for i in $(seq 100); do grep -q '^listening on ' "$T/$1.out" && break; sleep 0.1; done
  url=$(sed -n 's/^listening on //p' "$T/$1.out" | head -1)
}
# stop_during NAME GRACE STOP_T [fake server options]: a `run` container backing up at start,
# stopped with `podman stop -t STOP_T` 2 s into the backup; sets $elapsed and $exitcode
stop_during() {
  local name=$1 grace=$2 stop_t=$3
  shift 3
  start_fake "pb-$name" --seed-rows 40 --seed-files 8 --seed-file-size 200000 "$@"
  mkdir -p "$T/dest-$name" && chown 10001:10001 "$T/dest-$name"
  echo "$url" >"$T/url-$name"
  pmq run -d --name "$tag-$name" --network host $(pb_env "$name") -e SNAPKEEP_RUN_AT_START=true \
    -e 'SNAPKEEP_SCHEDULE=0 3 * * *' -e "SNAPKEEP_STOP_GRACE=$grace" "$img" >/dev/null
  local i # the backup has started once snapkeep has logged in
  for i in $(seq 100); do grep -q 'auth-with-password' "$T/pb-$name.log" && break; sleep 0.1; done
  sleep 2
  local t0=$SECONDS
  pm stop -t "$stop_t" "$tag-$name" >/dev/null 2>&1
  elapsed=$((SECONDS - t0))
  exitcode=$(pm inspect --format '{{.State.ExitCode}}' "$tag-$name")
  pm logs "$tag-$name" >"$T/$name.ctr.log" 2>&1
  secret_watch "$T/$name.ctr.log"
}
pb_env() { # NAME: podman options of the PocketBase job of stop_during NAME (no spaces inside)
  echo "-e SNAPKEEP_ENGINE=pocketbase -e POCKETBASE_URL=$(cat "$T/url-$1") -e POCKETBASE_ADMIN_EMAIL=$EMAIL
        -e POCKETBASE_ADMIN_PASSWORD_FILE=/run/secrets/pbpw -v $T/secrets/pbpw:/run/secrets/pbpw:ro
        -e SNAPKEEP_SERVICE=cms -e SNAPKEEP_DEST_DIR=/backups -v $T/dest-$1:/backups"
}
listed() { # NAME: the backups `snapkeep list` shows for the destination of stop_during NAME
  # shellcheck disable=SC2046
  run "list-$1" $(pb_env "$1") -- list
  grep -c 'pocketbase_pb_' "$T/out"
}
# the server takes 6 s to create the backup: a grace of 30 s lets it finish
stop_during finish 30 60 --create-delay 6
check "podman stop -t 60 during a backup (grace 30 s): it finishes, the container exits $exitcode after ${elapsed} s" \
  bash -c "[ '$exitcode' = 0 ] && [ $elapsed -lt 60 ] && grep -q 'letting the running backup finish' '$T/finish.ctr.log'"
[ "$exitcode" = 0 ] || sed 's/^/#   /' "$T/finish.ctr.log" | tail -8
check "... and the backup is listed" test "$(listed finish)" = 1
# the download crawls at 20 kB/s: a grace of 2 s aborts it
stop_during abort 2 30 --download-rate 20000
check "podman stop -t 30 past the grace (2 s): the backup is cancelled, the container exits $exitcode after ${elapsed} s (not killed)" \
  bash -c "[ '$exitcode' = 0 ] && [ $elapsed -lt 30 ] && grep -q 'backup failed (cancelled, exit 130)' '$T/abort.ctr.log'"
[ "$exitcode" = 0 ] || sed 's/^/#   /' "$T/abort.ctr.log" | tail -8
check "... nothing listed" test "$(listed abort)" = 0
check "... nothing left in the destination directory" test -z "$(find "$T/dest-abort" -type f)"

# ---- compose.yaml ------------------------------------------------------------------------------
mkdir -p "$T/stack/secrets"
cp -r "$root_dir/compose.yaml" "$root_dir/compose.local.yaml" "$root_dir/env" "$root_dir/docker" "$T/stack/"
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
check "the SQLite and PocketBase sidecars spool into volumes" \
  test "$(grep -cE '^ *- (sqlite|pb)-backup-spool:/spool' "$T/stack/compose.yaml")" -eq 2
(cd "$T/stack" && ENVIRONMENT=staging docker-compose -f compose.local.yaml config >"$T/compose-local.yaml" 2>"$T/compose.err")
rc=$?
check "docker-compose config accepts compose.local.yaml without any R2 setting" test $rc -eq 0
[ $rc -eq 0 ] || sed 's/^/#   /' "$T/compose.err"
check "compose.local.yaml: the three sidecars write to the backups volume, no S3 setting" \
  bash -c "[ \$(grep -c 'SNAPKEEP_DEST_DIR: /backups' '$T/compose-local.yaml') -eq 3 ] && \
    [ \$(grep -c -- '- backups:/backups' '$T/compose-local.yaml') -eq 3 ] && ! grep -q 'S3_\|R2_' '$T/compose-local.yaml'"
check "compose.local.yaml: SQLite and PocketBase sidecars spool into volumes" \
  test "$(grep -cE -- '- (sqlite|pb)-backup-spool:/spool' "$T/compose-local.yaml")" -eq 2

# ---- podman-compose: the SQLite sidecar of compose.local.yaml, on the built image -------------
# Only this sidecar: the others need the postgres:15 and PocketBase images from a registry.
# Debian's podman-compose 1.0.3 always exits 0: the status of the command it ran is the
# "exit code: N" line it prints last.
if command -v podman-compose >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman-compose >/dev/null 2>&1; then
  printf '#!/bin/sh\nexec podman --root "%s" --runroot "%s" --storage-driver vfs --runtime runc --cgroup-manager cgroupfs "$@"\n' \
    "$cache/storage" "$cache/run" >"$T/podman"
  chmod 755 "$T/podman"
  printf 'services:\n  sqlite-backup:\n    image: %s\n' "$img" >"$T/stack/compose.test.yaml"
  pm volume create "${tag}_app-data" >/dev/null
  vol=$(pm volume inspect --format '{{.Mountpoint}}' "${tag}_app-data")
  cp "$T/data/app.db" "$vol/app.db" && chown -R 10001:10001 "$vol"
  pc() { # podman-compose ARGS: output in $T/pc.out (and appended to $T/pc.log), status in $pc_rc
    (cd "$T/stack" && ENVIRONMENT=staging podman-compose --podman-path "$T/podman" -p "$tag" \
       -f compose.local.yaml -f compose.test.yaml "$@") >"$T/pc.out" 2>&1
    cat "$T/pc.out" >>"$T/pc.log"
    pc_rc=$(sed -n 's/^exit code: \([0-9]*\)$/\1/p' "$T/pc.out" | tail -1)
  }
  secret_watch "$T/pc.log"
  pc up -d sqlite-backup
  check "podman-compose up -d sqlite-backup (compose.local.yaml + a test override: the built image)" \
    test "$(pm inspect --format '{{.State.Running}}' "${tag}_sqlite-backup_1" 2>/dev/null)" = true
  pc exec sqlite-backup backup-now
  check "podman-compose exec sqlite-backup backup-now exits 0 (exit code: ${pc_rc:-none})" test "${pc_rc:-x}" = 0
  vol=$(pm volume inspect --format '{{.Mountpoint}}' "${tag}_backups" 2>/dev/null)
  check "... the backup is in the compose project's backups volume, owned by uid 10001" \
    bash -c "[ -n '$vol' ] && find '$vol/snapshots/app/staging' -name 'sqlite_app_*.zst' -uid 10001 | grep -q ."
  pc exec sqlite-backup snapkeep restore latest --to /data/restored.db
  check "podman-compose exec sqlite-backup snapkeep restore latest exits 0 (exit code: ${pc_rc:-none})" \
    test "${pc_rc:-x}" = 0
  vol=$(pm volume inspect --format '{{.Mountpoint}}' "${tag}_app-data")
  check "... and the restored database equals the source" \
    test "$(db_digest "$vol/restored.db")" = "$(db_digest "$T/data/app.db")"
  pc down -v
  pm network rm "${tag}_default" >/dev/null 2>&1
  [ "$_failed" -eq 0 ] || grep -v 'systemd connection' "$T/pc.log" | sed 's/^/#   /' | tail -15
else
  nok "podman-compose is not installed and apt-get could not install it"
fi

# podman's storage under build/ holds root filesystems (etc/rc2.d, ...): the Makefile must not
# take those directories for its dependency files
make -s -C "$root_dir" print-libs >"$T/make.out" 2>&1
rc=$?
check "make still works with podman's storage under build/" rc_is 0
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$T/make.out"

echo "# image.sh took $((SECONDS - t_start)) s"
done_testing
