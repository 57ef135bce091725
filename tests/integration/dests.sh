#!/usr/bin/env bash
# Several destinations per job (issue 11, the 3-2-1 copies), against a local directory and two
# buckets of a real S3 server (Ceph RGW, tests/servers/rgw.sh; reuses SK_RGW_DIR when set), the
# second behind tests/integration/s3_smoke.faultproxy.py so that it can fail or be slow on demand,
# with real SQLite files:
#   configuration: SNAPKEEP_DEST_DIR and S3_BUCKET together are two destinations; S3_2_* is a
#     further bucket with its own endpoint and credentials (typos get a did-you-mean); the libconfig
#     form `destinations = ( ... )`;
#   one backup = one dump, three complete copies; a missing or failing bucket: the other copies
#     commit, nothing partial is left in the failing one, and exit code, status, health, /metrics
#     and a webhook say which destination failed; SNAPKEEP_DEST_REQUIRED=1 succeeds with it;
#   restore, verify and get fall back to the next copy when the first is damaged or missing;
#   retention runs per destination (its own keep-min);
#   a slow destination holds the dump back: peak memory stays bounded, far below the backup's size;
#   PocketBase to two destinations: one backup API call, two equal copies.
. "$(dirname "$0")/../lib.sh"
clean_env
root=$(cd "$(dirname "$0")/../.." && pwd)
tools=$root/tests/tools
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"   # libfaketime is preloaded below

RGW=${SK_RGW_DIR:-$T/rgw}
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  [ ! -d "$T/pg" ] || "$root/tests/servers/pg.sh" stop "$T/pg" >/dev/null 2>&1
  [ -n "${SK_RGW_DIR:-}" ] || "$root/tests/servers/rgw.sh" stop "$RGW" >/dev/null 2>&1
  [ -n "${DESTS_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
"$root/tests/servers/rgw.sh" start "$RGW" >"$T/rgw.out" 2>&1 || { nok "start Ceph RGW"; cat "$T/rgw.out"; done_testing; exit 1; }
secret "$(cat "$RGW/secret_key")"
EP=$(cat "$RGW/endpoint")
S3ENV=(S3_ENDPOINT=$EP S3_REGION=us-east-1 S3_ACCESS_KEY_ID_FILE=$RGW/access_key S3_SECRET_ACCESS_KEY_FILE=$RGW/secret_key S3_ALLOW_HTTP=true)
b1=dests-a-$$-$RANDOM b2=dests-b-$$-$RANDOM b3=dests-c-$$-$RANDOM
for b in $b1 $b2 $b3; do env "${S3ENV[@]}" "$SK_TOOLS/s3_smoke" mkbucket "$b" >>"$T/drv.out" 2>&1; done
check "rgw: three buckets created" test "$(grep -c '^status=200' "$T/drv.out")" -eq 3

# the second bucket is reached through the fault proxy (rules in $T/rules, read per request)
: >"$T/rules"
python3 "$root/tests/integration/s3_smoke.faultproxy.py" "${EP##*:}" "$T/rules" "$T/pport" 2>"$T/proxy.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$T/pport" ] && break; sleep 0.05; done
PEP=http://127.0.0.1:$(cat "$T/pport")

python3 "$tools/webhook_receiver.py" "$T/hooks" >"$T/hport" & pids+=($!)
for _ in $(seq 100); do [ -s "$T/hport" ] && break; sleep 0.05; done

sqlite3 "$T/app.db" "CREATE TABLE t(x); INSERT INTO t VALUES ('a'), ('b'); CREATE TABLE u(y); INSERT INTO u VALUES (1);"
export SNAPKEEP_ENGINE=sqlite SNAPKEEP_SQLITE_PATH=$T/app.db SNAPKEEP_SERVICE=app
export SNAPKEEP_WEBHOOK_URL="http://127.0.0.1:$(cat "$T/hport")/hook"
LOCAL=(SNAPKEEP_DEST_DIR=$T/dest)
S3A=("${S3ENV[@]}" S3_BUCKET=$b1 S3_ALLOW_HTTP=true)
S3B=(S3_2_ENDPOINT=$PEP S3_2_ACCESS_KEY_ID_FILE=$RGW/access_key S3_2_SECRET_ACCESS_KEY_FILE=$RGW/secret_key
     S3_2_BUCKET=$b2 S3_2_ALLOW_HTTP=true)
ALL=("${LOCAL[@]}" "${S3A[@]}" "${S3B[@]}")
skx() { env "${ALL[@]}" "$@" "$SK_BIN" "${SKARGS[@]}" >"$T/out" 2>"$T/err"; rc=$?
        cat "$T/err" >>"$T/all-stderr"; cat "$T/out" >>"$T/all-stdout"; }
# run: sk3 [VAR=value...] -- snapkeep arguments
sk3() { local vars=(); while [ "$1" != "--" ]; do vars+=("$1"); shift; done; shift; SKARGS=("$@"); skx "${vars[@]}"; }
dir=snapshots/app/default
bobjs() { env S3_ALLOW_HTTP=true S3_ENDPOINT=$EP S3_REGION=us-east-1 S3_ACCESS_KEY_ID_FILE=$RGW/access_key S3_SECRET_ACCESS_KEY_FILE=$RGW/secret_key \
             S3_BUCKET=$1 "$SK_TOOLS/s3_smoke" dest-list "${2:-$dir}/" 2>>"$T/drv.out" | grep -v '^count=' | cut -f1 | sed 's|.*/||' | LC_ALL=C sort; }
lobjs() { ls -A "$T/dest/${1:-$dir}" 2>/dev/null | LC_ALL=C sort; }
export -f bobjs lobjs; export T EP RGW dir SK_TOOLS   # used inside `bash -c` checks
newest() { lobjs | grep '\.zst$' | tail -1; }
hooks() { python3 -c 'import json,sys; [print(json.dumps(json.loads(l))) for l in open(sys.argv[1])]' "$T/hooks" 2>/dev/null; }

# ---- configuration -----------------------------------------------------------------------------
sk3 -- config check
check "config: SNAPKEEP_DEST_DIR, S3_BUCKET and S3_2_BUCKET together are accepted (three destinations)" rc_is 0
check "config: ... the second bucket's secret is masked" grep -q '^S3_2_SECRET_ACCESS_KEY=\*\*\* (file)' "$T/out"
sk3 S3_2_BUCKTE=x -- config check
check "config: a typo in a numbered variable names the closest one" \
  bash -c "[ $rc -eq 3 ] && grep -q 'unknown variable S3_2_BUCKTE: did you mean S3_2_BUCKET' '$T/err'"
sk3 S3_5_BUCKET=x -- config check
check "config: a fifth S3 destination is refused, saying how many there may be" \
  bash -c "[ $rc -eq 3 ] && grep -q 'S3_5_BUCKET: a job has at most 4 s3 destinations' '$T/err'"
sk3 S3_3_ENDPOINT=$EP -- config check
check "config: a numbered destination's settings without its bucket name both variables" \
  bash -c "[ $rc -eq 3 ] && grep -q 'S3_3_ENDPOINT is set but S3_3_BUCKET is not' '$T/err'"
sk3 SNAPKEEP_DEST_REQUIRED=4 -- config check
check "config: SNAPKEEP_DEST_REQUIRED above the number of destinations is refused" \
  bash -c "[ $rc -eq 3 ] && grep -q 'SNAPKEEP_DEST_REQUIRED=4, but the job has 3 destination' '$T/err'"
sk3 S3_2_ENDPOINT=$EP S3_2_BUCKET=$b1 -- config check
check "config: two destinations that are one place are refused" \
  bash -c "[ $rc -eq 3 ] && grep -q 'destinations s3 and s3_2 of .* are one place' '$T/err'"

# ---- one backup, three copies ------------------------------------------------------------------
sk3 -- backup-now
check "backup to local + two buckets exits 0" rc_is 0
key=$(newest)
for where in local $b1 $b2; do
  if [ "$where" = local ]; then o=$(lobjs); else o=$(bobjs "$where"); fi
  check "three copies: $where holds data, .md5 and manifest, no pending marker" \
    test "$(echo "$o" | tr '\n' ' ')" = "$key $key.manifest.json $key.md5 "
done
check "one dump for the three copies (one snapshot, one dump stage)" \
  bash -c "[ \$(grep -c 'consistent copy of' '$T/err') -eq 1 ] && [ \$(grep -c '\[dump\]' '$T/err') -eq 1 ]"
env "${S3ENV[@]}" S3_BUCKET=$b2 "$SK_TOOLS/s3_smoke" dest-get "$dir/$key" "$T/b2.zst" >>"$T/drv.out" 2>&1
check "the copies are byte for byte equal" cmp -s "$T/dest/$dir/$key" "$T/b2.zst"
sk3 -- list
check "list shows the backup with the destinations holding a good copy" grep -q "$key .* ok  local,s3,s3_2$" "$T/out"
sk3 -- list --json
check "list --json: destinations and copies" python3 -c '
import json,sys; l=json.load(open(sys.argv[1])); e=l[0]
assert e["destinations"]==["local","s3","s3_2"] and e["copies"]=={"local":"ok","s3":"ok","s3_2":"ok"}, e' "$T/out"

# ---- a missing bucket: the other copies land, everything says which one failed -----------------
echo "* . all 404:NoSuchBucket" >"$T/rules"
sk3 -- backup-now
check "missing second bucket: backup-now exits 5 (destination)" rc_is 5
check "... the error names the destination and its variable" \
  bash -c "grep -q 'copy to destination s3_2 (S3 bucket $b2' '$T/err' && grep -q 'check S3_2_BUCKET' '$T/err'"
key2=$(newest)
check "... the local and first bucket's copies committed" \
  bash -c "[ '$key2' != '$key' ] && [ \"\$(bobjs $b1 | grep -c '$key2')\" -eq 3 ] && [ -e '$T/dest/$dir/$key2.manifest.json' ]"
: >"$T/rules"
check "... nothing of it in the failing bucket" bash -c "! bobjs $b2 | grep -q '$key2'"
sk3 -- status --json
check "status --json: the failing destination has last_copy_ok false and one failure" python3 -c '
import json,sys; s=json.load(open(sys.argv[1]))[0]; d={x["destination"]:x for x in s["destinations"]}
assert d["s3_2"]["last_copy_ok"] is False and d["s3_2"]["failures_total"]==1 and "NoSuchBucket" in d["s3_2"]["last_error"], d
assert d["local"]["last_copy_ok"] and d["s3"]["last_copy_ok"] and d["local"]["successes_total"]==2, d' "$T/out"
sk3 -- health
check "health warns (exit 0) naming the failed copy" \
  bash -c "[ $rc -eq 0 ] && grep -q '^warn .*destination s3_2: the last copy FAILED' '$T/out'"
check "webhook: a copy_failed event naming s3_2, then failure" python3 -c '
import json,sys; b=[json.loads(l) for l in open(sys.argv[1])]
c=[x for x in b if x["event"]=="copy_failed"]; assert len(c)==1 and c[0]["destination"]=="s3_2" and "NoSuchBucket" in c[0]["error"], b
f=[x for x in b if x["event"]=="failure"]; assert f and f[-1]["exit_code"]==5 and any(d["destination"]=="s3_2" and d["copy"]=="failed" for d in f[-1]["destinations"]), f' "$T/hooks"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env "${ALL[@]}" SNAPKEEP_SCHEDULE="0 0 1 1 *" SNAPKEEP_HTTP_LISTEN=127.0.0.1:$port "$SK_BIN" run 2>"$T/run.log" & agent=$!
for _ in $(seq 100); do curl -s "http://127.0.0.1:$port/metrics" >"$T/metrics" 2>/dev/null && [ -s "$T/metrics" ] && break; sleep 0.1; done
kill -TERM $agent; wait $agent
check "/metrics: per destination, s3_2's last copy failed (0) and its failure counted, local's ok" \
  bash -c "grep -q '^snapkeep_destination_last_copy_ok{job=\"app_default_sqlite_app-[0-9a-f]*\",destination=\"s3_2\"} 0$' '$T/metrics' &&
           grep -q '^snapkeep_destination_failures_total{job=.*,destination=\"s3_2\"} 1$' '$T/metrics' &&
           grep -q '^snapkeep_destination_last_copy_ok{job=.*,destination=\"local\"} 1$' '$T/metrics'"
echo "* . all 404:NoSuchBucket" >"$T/rules"
sk3 SNAPKEEP_DEST_REQUIRED=1 -- backup-now
check "SNAPKEEP_DEST_REQUIRED=1: the backup succeeds with one copy failing, and warns" \
  bash -c "[ $rc -eq 0 ] && grep -q '2 of 3 copies of .* landed (enough: SNAPKEEP_DEST_REQUIRED=1)' '$T/err'"
: >"$T/rules"
sk3 -- backup-now
sk3 -- health
check "the next good backup: health ok again" bash -c "[ $rc -eq 0 ] && grep -q '^ok ' '$T/out'"

# ---- a bucket failing mid-upload: no partial object, the others commit --------------------------
python3 -c 'import os,sys; open(sys.argv[1],"wb").write(os.urandom(12<<20))' "$T/blob"
sqlite3 "$T/big.db" "CREATE TABLE b(x BLOB); INSERT INTO b VALUES (readfile('$T/blob'));"
echo "PUT partNumber=2 1 403:AccessDenied" >"$T/rules"
sk3 SNAPKEEP_SQLITE_PATH=$T/big.db SNAPKEEP_SERVICE=big S3_PART_SIZE_MB=5 SNAPKEEP_COMPRESSION_LEVEL=1 -- backup-now
check "second bucket failing mid-upload (part 2): exit 5" rc_is 5
check "... the proxy did fail part 2" grep -q 'partNumber=2.*answered 403' "$T/proxy.log"
check "... the others committed" \
  bash -c "[ \"\$(bobjs $b1 snapshots/big/default | grep -c .)\" -eq 3 ] && [ \"\$(lobjs snapshots/big/default | grep -c .)\" -eq 3 ]"
check "... no object and no multipart upload left in the failing bucket" \
  bash -c "[ -z \"\$(bobjs $b2 snapshots/big/default)\" ] && env ${S3ENV[*]} '$SK_TOOLS/s3_smoke' uploads $b2 2>/dev/null | grep -q '^uploads=0$'"
: >"$T/rules"

# ---- restore / verify / get fall back to the next copy -----------------------------------------
key3=$(newest)
printf 'X' | dd of="$T/dest/$dir/$key3" bs=1 seek=40 conv=notrunc 2>/dev/null
sk3 -- restore latest --to "$T/r1.db"
check "restore latest with the first copy (local) damaged: exit 0 from the next copy" \
  bash -c "[ $rc -eq 0 ] && [ \"\$(python3 '$tools/db_digest.py' '$T/r1.db')\" = '$(db_digest "$T/app.db")' ]"
check "... and says so: local's copy is damaged, restored from s3" \
  bash -c "grep -q 'the copy in local (local directory .*): .*trying the next copy' '$T/err' && grep -q 'done from the copy in s3 ' '$T/err'"
sk3 -- verify latest
check "verify latest falls back too" bash -c "[ $rc -eq 0 ] && grep -q 'done from the copy in s3 ' '$T/err'"
sk3 -- dump -o "$T/plain.db"
sk3 -- get latest -o "$T/got.db"
check "get latest falls back too, and writes the plain dump" \
  bash -c "[ $rc -eq 0 ] && cmp -s '$T/plain.db' '$T/got.db' && grep -q 'done from the copy in s3 ' '$T/err'"
env "${S3ENV[@]}" S3_BUCKET=$b1 "$SK_TOOLS/s3_smoke" dest-rm "$dir/$key3" >>"$T/drv.out" 2>&1
sk3 -- list
check "list: a copy whose data is gone (s3) is no copy any more" grep -q "$key3 .*  local,s3_2$" "$T/out"
sk3 -- restore latest --to "$T/r2.db"
check "restore with the first copy damaged and the second's data gone: from the third (s3_2)" \
  bash -c "[ $rc -eq 0 ] && [ \"\$(python3 '$tools/db_digest.py' '$T/r2.db')\" = '$(db_digest "$T/app.db")' ] && grep -q 'done from the copy in s3_2 ' '$T/err'"
env "${S3ENV[@]}" S3_BUCKET=$b2 "$SK_TOOLS/s3_smoke" dest-rm "$dir/$key3" >>"$T/drv.out" 2>&1
sk3 -- restore "$key3" --to "$T/r3.db"
check "every copy damaged or gone: restore fails (exit 6) and writes nothing" \
  bash -c "[ $rc -eq 6 ] && [ ! -e '$T/r3.db' ]"

# ---- retention per destination -----------------------------------------------------------------
# an old backup (3 days ago) in all three places: made locally, its objects copied into the buckets
RET=(SNAPKEEP_SERVICE=ret)
env "${ALL[@]}" "${RET[@]}" SNAPKEEP_DESTINATION=local faketime -f '-3d' "$SK_BIN" backup-now 2>>"$T/all-stderr"
old=$(lobjs snapshots/ret/default | grep '\.zst$')
for b in $b1 $b2; do
  for f in "$old" "$old.md5" "$old.manifest.json"; do
    env "${S3ENV[@]}" S3_BUCKET=$b "$SK_TOOLS/s3_smoke" dest-put "snapshots/ret/default/$f" "$T/dest/snapshots/ret/default/$f" >>"$T/drv.out" 2>&1
  done
done
check "retention: the old backup is in all three places" \
  bash -c "[ -n '$old' ] && bobjs $b1 snapshots/ret/default | grep -qx '$old' && bobjs $b2 snapshots/ret/default | grep -qx '$old'"
# a new backup whose copy to the second bucket fails; keep 1 day, at least 1
echo "PUT . all 403:AccessDenied" >"$T/rules"
sk3 "${RET[@]}" SNAPKEEP_DEST_REQUIRED=1 SNAPKEEP_RETENTION_DAYS=1 SNAPKEEP_KEEP_MIN=1 -- backup-now
: >"$T/rules"
check "retention: the new backup succeeded with 2 of 3 copies" rc_is 0
check "retention: the old backup is deleted where a newer copy exists (local, first bucket)" \
  bash -c "! lobjs snapshots/ret/default | grep -q '$old' && ! bobjs $b1 snapshots/ret/default | grep -q '$old'"
check "retention: ... and kept in the bucket whose new copy failed (keep-min counts per destination)" \
  bash -c "[ \"\$(bobjs $b2 snapshots/ret/default | grep -c '$old')\" -eq 3 ]"
check "retention: the log names the destination of each deletion" grep -q "retention: deleting .*$old (in local: " "$T/err"

# ---- the libconfig form ------------------------------------------------------------------------
cat >"$T/jobs.conf" <<EOF
jobs = ( { name = "filejob"; engine = "sqlite"; sqlite_path = "$T/app.db";
           destinations = ( { type = "local"; dest_dir = "$T/fdest"; },
                            { type = "s3"; s3_endpoint = "$EP"; s3_bucket = "$b3"; s3_allow_http = true;
                              s3_access_key_id_file = "$RGW/access_key"; s3_secret_access_key_file = "$RGW/secret_key"; },
                            { type = "s3"; s3_endpoint = "$EP"; s3_bucket = "$b1"; s3_prefix = "second"; s3_allow_http = true;
                              s3_access_key_id_file = "$RGW/access_key"; s3_secret_access_key_file = "$RGW/secret_key"; } ); } );
EOF
env SNAPKEEP_CONFIG=$T/jobs.conf "$SK_BIN" backup-now >"$T/out" 2>"$T/err"; rc=$?; cat "$T/err" >>"$T/all-stderr"
check "config file: a job with three destinations backs up to all three" \
  bash -c "[ $rc -eq 0 ] && [ \"\$(ls -A '$T/fdest/$dir' | grep -c . )\" -eq 3 ] &&
           [ \"\$(bobjs $b3 | grep -c .)\" -eq 3 ] && [ \"\$(bobjs $b1 second/$dir | grep -c .)\" -eq 3 ]"
sed -i 's/s3_bucket = "'$b3'"/s3_bukcet = "'$b3'"/' "$T/jobs.conf"
env SNAPKEEP_CONFIG=$T/jobs.conf "$SK_BIN" config check >"$T/out" 2>"$T/err"; rc=$?
check "config file: a typo in a destination's key names the closest one" \
  bash -c "[ $rc -eq 3 ] && grep -q \"destination #2 (s3, line [0-9]*): unknown setting 's3_bukcet': did you mean 's3_bucket'\" '$T/err'"

sed -i 's/s3_bukcet = "'$b3'"/s3_bucket = "'$b3'"/; s/engine = "sqlite";/engine = "sqlite"; dest_dir = "\/elsewhere";/' "$T/jobs.conf"
env SNAPKEEP_CONFIG=$T/jobs.conf "$SK_BIN" config check >"$T/out" 2>"$T/err"; rc=$?
check "config file: a flat destination key beside a destinations list is refused, naming it" \
  bash -c "[ $rc -eq 3 ] && grep -q \"'dest_dir' (line [0-9]*) is a destination's setting, and 'destinations' lists them\" '$T/err'"
sed -i 's/ dest_dir = "\/elsewhere";//' "$T/jobs.conf"
env SNAPKEEP_CONFIG=$T/jobs.conf "$SK_BIN" config check >"$T/out" 2>"$T/err"; rc=$?
check "config file: config check lists the three destinations" \
  bash -c "[ $rc -eq 0 ] && [ \$(grep -c '^# destination \(local\|s3\|s3_2\): ' '$T/out') -eq 3 ] && grep -q '^S3_2_BUCKET=$b1 ' '$T/out'"

# ---- PostgreSQL: one snapshot, three copies, restore from the second ----------------------------
chmod 755 "$T"                            # pg.sh's server runs as postgres under $T
if "$root/tests/servers/pg.sh" start "$T/pg" >/dev/null; then
  ok "start PostgreSQL 15"
  ( . "$T/pg/env"
    createdb psrc
    psql -X -q -v ON_ERROR_STOP=1 -d psrc -c "CREATE TABLE a(i int PRIMARY KEY, t text);
      INSERT INTO a SELECT g, md5(g::text) FROM generate_series(1, 5000) g;" >/dev/null )
  secret "$(cat "$T/pg/password")"
  PGV=$(. "$T/pg/env"; echo "PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER PGPASSFILE=$PGPASSFILE")
  read -r -a PGA <<<"$PGV"
  PGJ=(SNAPKEEP_ENGINE=postgres SNAPKEEP_SQLITE_PATH= SNAPKEEP_SERVICE=pg "${PGA[@]}"
       DATABASE_URL=postgresql://${PGA[2]#PGUSER=}@127.0.0.1:${PGA[1]#PGPORT=}/psrc)
  sk3 "${PGJ[@]}" -- backup-now
  check "pg: backup to local + two buckets exits 0, with one dump (one snapshot) for the three" \
    bash -c "[ $rc -eq 0 ] && [ \$(grep -c 'backup started' '$T/err') -eq 1 ] && [ \$(grep -c '\[dump\]' '$T/err') -eq 1 ]"
  pk=$(lobjs snapshots/pg/default | grep '\.zst$' | tail -1)
  check "pg: the three copies committed" \
    bash -c "[ -n '$pk' ] && bobjs $b1 snapshots/pg/default | grep -qx '$pk.manifest.json' && bobjs $b2 snapshots/pg/default | grep -qx '$pk.manifest.json'"
  rm -f "$T/dest/snapshots/pg/default/$pk"
  sk3 "${PGJ[@]}" -- restore latest --to "postgresql://${PGA[2]#PGUSER=}@127.0.0.1:${PGA[1]#PGPORT=}/prestored"
  q() { (. "$T/pg/env"; psql -X -At -d "$1" -c "SELECT count(*), sum(i), md5(string_agg(t, ',' ORDER BY i)) FROM a"); }
  check "pg: with the local copy gone, restore latest comes from the first bucket and equals the source" \
    bash -c "[ $rc -eq 0 ] && grep -q 'restoring .* from its copy in s3 ' '$T/err' && [ '$(q psrc)' = '$(q prestored 2>/dev/null)' ]"
else
  nok "start PostgreSQL 15"
fi

# ---- a slow destination holds the dump back: bounded memory ------------------------------------
# 64 MiB of incompressible data; the second bucket takes uploads at 8 MiB/s. The release binary
# (ASan's shadow memory would hide the figure); peak RSS of the process, from getrusage.
python3 -c 'import os,sys; open(sys.argv[1],"wb").write(os.urandom(64<<20))' "$T/blob"
sqlite3 "$T/huge.db" "CREATE TABLE b(x BLOB); INSERT INTO b VALUES (readfile('$T/blob'));"
rm -f "$T/blob"
echo "PUT . all slow:8192" >"$T/rules"
start=$(date +%s.%N)
env "${LOCAL[@]}" "${S3B[@]}" SNAPKEEP_SQLITE_PATH=$T/huge.db SNAPKEEP_SERVICE=huge S3_PART_SIZE_MB=5 S3_CONCURRENCY=1 \
  SNAPKEEP_COMPRESSION_LEVEL=1 SNAPKEEP_COMPRESSION_THREADS=0 SNAPKEEP_SPOOL_DIR=$T \
  python3 -c 'import resource,subprocess,sys; r=subprocess.run(sys.argv[1:]).returncode; print(r, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' \
  "$root/bin/snapkeep" backup-now >"$T/rss" 2>"$T/err"
secs=$(python3 -c "import time; print(round(time.time()-$start, 1))")
: >"$T/rules"
read -r hrc rss <"$T/rss"
echo "# slow destination: exit $hrc, peak RSS ${rss} KiB for a 64 MiB backup, ${secs} s"
check "slow destination: the backup succeeds, both copies committed" \
  bash -c "[ '$hrc' = 0 ] && [ \"\$(lobjs snapshots/huge/default | grep -c .)\" -eq 3 ] && [ \"\$(bobjs $b2 snapshots/huge/default | grep -c .)\" -eq 3 ]"
check "slow destination: the throttle held the run back (at least 6 s for 64 MiB at 8 MiB/s)" \
  python3 -c "import sys; sys.exit(0 if $secs >= 6 else 1)"
check "slow destination: peak RSS stays under 48 MiB (no buffering of the 64 MiB backup)" test "$rss" -lt 49152

# ---- PocketBase: one backup API call for every copy --------------------------------------------
FAKE=$root/tests/servers/pocketbase_fake.py EMAIL=admin@example.com
PW='Dests-pb-secret-4711'; secret "$PW"; printf '%s\n' "$PW" >"$T/pw"
. "$root/tests/pocketbase_lib.sh"  # start_fake
start_fake pb --seed-rows 20 --seed-files 3 --seed-file-size 20000
env "${LOCAL[@]}" "${S3A[@]}" SNAPKEEP_ENGINE=pocketbase POCKETBASE_URL=$url_pb POCKETBASE_ADMIN_EMAIL=$EMAIL \
  POCKETBASE_ADMIN_PASSWORD_FILE=$T/pw SNAPKEEP_SERVICE=cms SNAPKEEP_SPOOL_DIR=$T \
  "$SK_BIN" backup-now >"$T/out" 2>"$T/err"; rc=$?
cat "$T/err" >>"$T/all-stderr"
pkey=$(lobjs snapshots/cms/default | grep '\.zst$' | tail -1)
check "PocketBase to local + a bucket: exit 0, both hold data, .md5 and manifest" \
  bash -c "[ $rc -eq 0 ] && [ -n '$pkey' ] && [ \"\$(lobjs snapshots/cms/default | tr '\n' ' ')\" = \"\$(bobjs $b1 snapshots/cms/default | tr '\n' ' ')\" ] && [ \$(lobjs snapshots/cms/default | grep -c .) -eq 3 ]"
check "... from one backup API call: the server created exactly one backup" \
  test "$(grep -c '^.*backup created: ' "$T/pb.log")" -eq 1
env "${S3ENV[@]}" S3_BUCKET=$b1 "$SK_TOOLS/s3_smoke" dest-get "snapshots/cms/default/$pkey" "$T/pb1.zst" >>"$T/drv.out" 2>&1
check "... and the two copies are byte for byte equal" cmp -s "$T/dest/snapshots/cms/default/$pkey" "$T/pb1.zst"
done_testing
