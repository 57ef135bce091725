#!/usr/bin/env bash
# The PocketBase engine against the PocketBase-compatible server (tests/servers/pocketbase_fake.py):
# backup -> verify -> restore round trip (rows and storage files come back), the server-side copy
# deleted or kept, an existing name reused, the busy lock (freed, and never freed), a wrong
# password, an expired file token and a cut download (resumed, byte-identical), bad artifacts
# refused before anything reaches the server, and the legacy v0.22 admins API.
. "$(dirname "$0")/../lib.sh"
clean_env
here=$(cd "$(dirname "$0")/.." && pwd)
FAKE=$here/servers/pocketbase_fake.py
EMAIL=admin@example.com
PW='Sup3r-secret-pw-4711'
secret "$PW"
printf '%s\n' "$PW" >"$T/pw"
pids=()
cleanup() { local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT

. "$(dirname "$0")/../pocketbase_lib.sh"  # start_fake, pb_digest
zips_on_server() { ls "$1/backups" 2>/dev/null | grep -c '\.zip$'; }

start_fake main --seed-rows 40 --seed-files 6 --seed-file-size 30000
export SNAPKEEP_ENGINE=pocketbase POCKETBASE_URL=$url_main POCKETBASE_ADMIN_EMAIL=$EMAIL \
       POCKETBASE_ADMIN_PASSWORD_FILE=$T/pw SNAPKEEP_DEST_DIR=$T/dest SNAPKEEP_SERVICE=cms \
       SNAPKEEP_ENVIRONMENT=production SNAPKEEP_SPOOL_DIR=$T/spool
mkdir -p "$T/spool"
dir=$T/dest/snapshots/cms/production
check "the fake server started" test -n "$url_main"

# ---- backup, verify, restore --------------------------------------------------------------
before=$(pb_digest "$T/main")
sk backup-now
check "backup-now exits 0" rc_is 0
key=$(grep -o 'snapshots/cms/production/pocketbase_pb_[0-9]\{8\}-[0-9]\{6\}\.zip\.zst' "$T/err" | head -1)
check "the key is <prefix>/<svc>/<env>/pocketbase_pb_<UTC>.zip.zst" test -n "$key"
check "data, .md5 and manifest are stored" test -f "$T/dest/$key" -a -f "$T/dest/$key.md5" -a -f "$T/dest/$key.manifest.json"
check "progress: logged in, created, downloaded N bytes, deleted the server copy" bash -c "
  grep -q 'logged in to PocketBase at .* (superusers API)' '$T/err' &&
  grep -q 'created PocketBase backup snapkeep_[0-9_]*\.zip' '$T/err' &&
  grep -q 'downloaded [0-9]* bytes' '$T/err' &&
  grep -q 'deleted the server-side copy snapkeep_[0-9_]*\.zip' '$T/err' && grep -q 'backup done' '$T/err'"
check "the server-side copy is deleted after the backup is committed" test "$(zips_on_server "$T/main")" -eq 0
check "the deletion comes after the manifest" bash -c "
  [ \$(grep -n 'backup committed' '$T/err' | cut -d: -f1) -lt \$(grep -n 'deleted the server-side copy' '$T/err' | cut -d: -f1) ]"
check "md5sum -c accepts the sidecar" bash -c "cd '$dir' && md5sum -c --status '$(basename "$key").md5'"
zstd -q -d "$T/dest/$key" -o "$T/b1.zip"
check "the stored object is the server's zip: data.db and the storage files" python3 - "$T/b1.zip" "$T/main" <<'EOF'
import os, sqlite3, sys, tempfile, zipfile
z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None
names = z.namelist(); assert "data.db" in names, names
st = sorted(n for n in names if n.startswith("storage/"))
live = sorted(os.path.relpath(os.path.join(r, f), sys.argv[2]) for r, _, fs in os.walk(os.path.join(sys.argv[2], "storage")) for f in fs)
assert st == live, (st, live)
d = tempfile.mkdtemp(); z.extract("data.db", d)
n = sqlite3.connect(os.path.join(d, "data.db")).execute("select count(*) from posts").fetchone()[0]
assert n == 40, n
EOF
check "the manifest records the PocketBase facts" python3 -c '
import json,sys; m=json.load(open(sys.argv[1])); f=m["source"]["facts"]
assert m["engine"]=="pocketbase" and f["reused_existing"] is False and f["storage_files"]==6 and f["api"]=="superusers", m
assert m["source"]["server_version"].startswith("PocketBase"), m' "$T/dest/$key.manifest.json"

sk verify latest
check "verify latest exits 0" rc_is 0
check "verify reports the zip listing and integrity_check" grep -q 'zip ok: .*data.db .*integrity_check ok.*6 storage files' "$T/out"

# damage the live data: rows deleted and changed, a storage file removed and one altered
python3 - "$T/main" <<'EOF'
import os, sqlite3, sys
c = sqlite3.connect(os.path.join(sys.argv[1], "data.db"))
c.execute("delete from posts where rowid % 2 = 0"); c.execute("update posts set title = 'vandalised'"); c.commit(); c.close()
files = sorted(os.path.join(r, f) for r, _, fs in os.walk(os.path.join(sys.argv[1], "storage")) for f in fs)
os.remove(files[0]); open(files[1], "r+b").write(b"XXXX")
EOF
check "the live data now differs" test "$(pb_digest "$T/main")" != "$before"
sk restore latest --to "$url_main" --force
check "restore latest --to URL --force exits 0" rc_is 0
check "restore verified, uploaded, restored, waited for the restart and checked health" bash -c "
  grep -q 'zip ok: ' '$T/err' && grep -q 'uploaded snapkeep_restore_[0-9_a-f]*\.zip to .* KiB' '$T/err' &&
  grep -q 'PocketBase is back after' '$T/err' && grep -q 'healthy after the restore' '$T/err'"
check "rows and storage files are back, byte for byte" test "$(pb_digest "$T/main")" = "$before"
check "the server really restarted (restore by PocketBase, not by us)" grep -q 'restart: exec' "$T/main.log"
check "the uploaded copy was removed from the server afterwards (the safety copy stays)" bash -c "
  [ \$(ls '$T/main/backups' | grep -c '\.zip\$') -eq 1 ] && ls '$T/main/backups' | grep -q '^snapkeep_before_restore_.*\.zip\$'"
rm -f "$T"/main/backups/snapkeep_before_restore_*
check "no scratch files are left in the spool dir" test -z "$(ls -A "$T/spool")"

# dump: the raw zip, and the server copy is gone afterwards too
sk dump -o "$T/raw.zip"
check "dump -o writes the server's zip" python3 -c 'import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None and "data.db" in z.namelist()' "$T/raw.zip"
check "... and deletes the server-side copy" test "$(zips_on_server "$T/main")" -eq 0

# ---- keep the server copy; reuse an existing name ------------------------------------------
SNAPKEEP_POCKETBASE_KEEP_SERVER_COPY=true SNAPKEEP_POCKETBASE_BACKUP_NAME=nightly_fixed sk backup-now
check "with KEEP_SERVER_COPY=true the backup succeeds" rc_is 0
check "... and the server-side copy stays" test -f "$T/main/backups/nightly_fixed.zip"
check "... and says so" err_has "kept the server-side copy nightly_fixed.zip"
cp "$T/main/backups/nightly_fixed.zip" "$T/nightly.zip"
python3 -c "import sqlite3; c=sqlite3.connect('$T/main/data.db'); c.execute(\"insert into posts(id,title) values('zzzznewrow00001','after the first run')\"); c.commit()" 2>"$T/ins.err" \
  || python3 -c "import sqlite3; c=sqlite3.connect('$T/main/data.db'); c.execute(\"update posts set title='after the first run'\"); c.commit()"
SNAPKEEP_POCKETBASE_BACKUP_NAME=nightly_fixed sk backup-now
check "a rerun with an existing name succeeds (exit 0)" rc_is 0
check "... says it uses the existing backup" err_has "nightly_fixed.zip already exists .*using it"
key2=$(grep -o 'snapshots/cms/production/pocketbase_pb_[0-9-]*\.zip\.zst' "$T/err" | head -1)
zstd -q -d "$T/dest/$key2" -o "$T/b2.zip"
check "... and stored exactly that existing zip" cmp -s "$T/b2.zip" "$T/nightly.zip"
check "... recorded as reused in the manifest" grep -q '"reused_existing": true' "$T/dest/$key2.manifest.json"
check "... and deleted it afterwards (KEEP not set)" test ! -e "$T/main/backups/nightly_fixed.zip"

SNAPKEEP_POCKETBASE_BACKUP_NAME='Bad.Name' sk backup-now
check "a backup name PocketBase would refuse is a configuration error (exit 3)" rc_is 3
check "... naming the variable" err_has "SNAPKEEP_POCKETBASE_BACKUP_NAME"

# ---- the one-backup-at-a-time lock ---------------------------------------------------------
ndata() { ls "$dir" | grep -c '\.zst$'; }
n0=$(ndata)
kill -USR1 "$pid_main"; sleep 0.3   # the server now holds its backup lock (as during a cron backup)
t0=$SECONDS
SNAPKEEP_POCKETBASE_LOCK_WAIT=2 sk backup-now
check "a lock that never frees: exit 8 (busy)" rc_is 8
check "... with a message saying what to do" err_has "still running another backup or restore after 2 s.*SNAPKEEP_POCKETBASE_LOCK_WAIT"
check "... after waiting about the configured time" test $((SECONDS - t0)) -ge 2 -a $((SECONDS - t0)) -le 15
check "... and nothing was stored" test "$(ndata)" -eq "$n0"
check "... and no backup was created on the server" test "$(zips_on_server "$T/main")" -eq 0
( sleep 2; kill -USR2 "$pid_main" ) &
t0=$SECONDS
SNAPKEEP_POCKETBASE_LOCK_WAIT=30 sk backup-now
check "a lock freed after 2 s: the backup waits, then succeeds" rc_is 0
check "... saying it waits" err_has "running another backup or restore (its lock is held); waiting up to 30 s"
check "... and it did wait" test $((SECONDS - t0)) -ge 2
check "... one more backup stored" test "$(ndata)" -eq $((n0 + 1))

# ---- wrong password -----------------------------------------------------------------------
WRONG='Wr0ng-pass-9931'
secret "$WRONG"
unset POCKETBASE_ADMIN_PASSWORD_FILE
POCKETBASE_ADMIN_PASSWORD=$WRONG sk backup-now
export POCKETBASE_ADMIN_PASSWORD_FILE=$T/pw
check "a wrong password: exit 3 (configuration)" rc_is 3
check "... naming the server's reply and the variables" err_has 'HTTP 400 "Failed to authenticate.".*POCKETBASE_ADMIN_PASSWORD'
check "... without printing the password" bash -c "! grep -q -- '$WRONG' '$T/err' '$T/out'"
sk config check
check "config check hides the password" bash -c "grep -q 'POCKETBASE_ADMIN_PASSWORD=\*\*\*' '$T/out' && ! grep -q -- '$PW' '$T/out'"
check "no output of any run held the password or a token" bash -c "! grep -q -e '$PW' -e 'eyJhbGciOi' '$T/all-stderr'"
check "the server's request log holds no token either" bash -c "! grep -q 'eyJhbGciOi' '$T/main.log'"

# ---- bad artifacts are refused before the server is touched --------------------------------
# forge NAME FILE: store FILE as a complete backup (correct .md5 and manifest) named ..._NAME
forge() {
  local k=snapshots/cms/production/pocketbase_pb_$1.zip.zst
  zstd -q -f "$2" -o "$T/dest/$k"
  python3 - "$T/dest" "$key" "$k" "$2" <<'EOF'
import hashlib, json, os, sys
dest, good, k, plain = sys.argv[1:5]
m = json.load(open(os.path.join(dest, good + ".manifest.json")))
data = open(os.path.join(dest, k), "rb").read(); p = open(plain, "rb").read()
m["key"] = k
m["plain"] = {"size": len(p), "sha256": hashlib.sha256(p).hexdigest()}
m["stored"]["size"] = len(data); m["stored"]["md5"] = hashlib.md5(data).hexdigest()
open(os.path.join(dest, k + ".md5"), "w").write("%s  %s\n" % (m["stored"]["md5"], os.path.basename(k)))
open(os.path.join(dest, k + ".manifest.json"), "w").write(json.dumps(m, indent=2))
EOF
  echo "$k"
}
python3 - "$T/b1.zip" "$T" <<'EOF'
import sys, zipfile
src = zipfile.ZipFile(sys.argv[1]); t = sys.argv[2]
with zipfile.ZipFile(t + "/nodb.zip", "w") as z:          # no data.db
    for n in src.namelist():
        if n != "data.db": z.writestr(n, src.read(n))
import os, sqlite3
db = bytearray(src.read("data.db"))                      # damage the posts table's root page
open(t + "/probe.db", "wb").write(db)
root = sqlite3.connect(t + "/probe.db").execute("select rootpage from sqlite_schema where name='posts'").fetchone()[0]
ps = int.from_bytes(db[16:18], "big"); db[(root - 1) * ps] = 0x07
os.remove(t + "/probe.db")
with zipfile.ZipFile(t + "/baddb.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for n in src.namelist():
        z.writestr(n, bytes(db) if n == "data.db" else src.read(n))
raw = bytearray(open(sys.argv[1], "rb").read())          # flip bytes inside stored data: CRC
info = [i for i in src.infolist() if i.filename.startswith("storage/")][0]
off = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 100
raw[off] ^= 0xFF; raw[off + 1] ^= 0xFF
open(t + "/badcrc.zip", "wb").write(raw)
EOF
k_nodb=$(forge 20200101-000001 "$T/nodb.zip")
k_baddb=$(forge 20200101-000002 "$T/baddb.zip")
k_badcrc=$(forge 20200101-000003 "$T/badcrc.zip")
echo notazip >"$T/junk.bin"; k_junk=$(forge 20200101-000004 "$T/junk.bin")
live=$(pb_digest "$T/main")
for k in "$k_nodb" "$k_baddb" "$k_badcrc" "$k_junk"; do
  b=$(basename "$k")
  sk verify "$k"
  check "verify refuses $b (exit 6)" rc_is 6
  lines=$(wc -l <"$T/main.log")
  sk restore "$k" --to "$url_main" --force
  check "restore refuses $b (exit 6)" rc_is 6
  check "... saying the server was not touched" err_has "refusing to restore (the server was not touched)"
  check "... and nothing was uploaded or restored" bash -c "! tail -n +$((lines + 1)) '$T/main.log' | grep -q -e 'backups/upload' -e '/restore' -e 'restart'"
done
check "the error names the missing data.db" bash -c "SNAPKEEP_SPOOL_DIR='$T/spool' '$SK_BIN' verify '$k_nodb' 2>&1 | grep -q 'no data.db'"
check "the error names the failed integrity_check" bash -c "'$SK_BIN' verify '$k_baddb' 2>&1 | grep -q 'integrity_check'"
check "the server's data is unchanged after the refusals" test "$(pb_digest "$T/main")" = "$live"
check "no backup was uploaded to the server" test "$(zips_on_server "$T/main")" -eq 0
check "no scratch files are left in the spool dir" test -z "$(ls -A "$T/spool")"

# ---- expired file token + cut download: resumed with Range, byte-identical -----------------
start_fake flaky --seed-rows 20 --seed-files 12 --seed-file-size 40000 --file-token-ttl 2 \
  --download-rate 100000 --cut-after 250000 --cut-count 1
POCKETBASE_URL=$url_flaky SNAPKEEP_SERVICE=flaky SNAPKEEP_POCKETBASE_KEEP_SERVER_COPY=true sk backup-now
check "a download cut after 250000 bytes and resumed past the token's expiry: exit 0" rc_is 0
check "... the cut was noticed and resumed with Range" err_has "download cut at byte 250000 .*resuming with Range"
check "... the expired file token was replaced" err_has "file token was refused (HTTP 403, expired?); getting a new one"
check "... the server saw the 403 and a ranged request" bash -c "grep -q 'GET /api/backups/snapkeep_[0-9_]*\.zip 403' '$T/flaky.log' && grep -q 'GET /api/backups/snapkeep_[0-9_]*\.zip 206' '$T/flaky.log'"
kf=$(grep -o 'snapshots/flaky/production/pocketbase_pb_[0-9-]*\.zip\.zst' "$T/err" | head -1)
zstd -q -d "$T/dest/$kf" -o "$T/flaky.zip"
check "... and the stored zip is byte-identical to the server's" cmp -s "$T/flaky.zip" "$(ls "$T"/flaky/backups/*.zip | head -1)"

# a backup stopped by SIGTERM mid-download removes the zip it created on the server
kept=$(zips_on_server "$T/flaky")
POCKETBASE_URL=$url_flaky SNAPKEEP_SERVICE=flaky "$SK_BIN" backup-now >"$T/out" 2>"$T/err" &
bpid=$!
for i in $(seq 100); do grep -q 'created PocketBase backup' "$T/err" && break; sleep 0.05; done
sleep 0.5; kill -TERM "$bpid"; wait "$bpid"; rc=$?
check "SIGTERM during the download: exit 130" rc_is 130
check "... and the server-side copy this run created is deleted" test "$(zips_on_server "$T/flaky")" -eq "$kept"
check "... saying so" err_has "deleted the server-side copy snapkeep_[0-9_]*\.zip from PocketBase (this backup failed)"
check "... and nothing was stored" test -z "$(ls "$T/dest/snapshots/flaky/production" | grep -v "^$(basename "$kf")" )"

# ---- legacy PocketBase (v0.22, admins API) -------------------------------------------------
start_fake legacy --version 0.22 --seed-rows 15 --seed-files 2
POCKETBASE_URL=$url_legacy SNAPKEEP_SERVICE=legacy sk backup-now
check "a v0.22 server (admins API): backup exits 0" rc_is 0
check "... logged in through the admins route after the superusers route 404" bash -c "
  grep -q 'legacy admins API' '$T/err' && grep -q '_superusers/auth-with-password 404' '$T/legacy.log' &&
  grep -q 'admins/auth-with-password 200' '$T/legacy.log'"
check "... and deleted its server-side copy" test "$(zips_on_server "$T/legacy")" -eq 0
lbefore=$(pb_digest "$T/legacy")
python3 -c "import sqlite3; c=sqlite3.connect('$T/legacy/data.db'); c.execute('delete from posts'); c.commit()"
POCKETBASE_URL=$url_legacy SNAPKEEP_SERVICE=legacy sk restore latest --to "$url_legacy" --force
check "... restore into the v0.22 server exits 0" rc_is 0
check "... and the rows are back" test "$(pb_digest "$T/legacy")" = "$lbefore"

# a PocketBase before v0.18 has no upload route: the restore stops there, nothing changed
start_fake old --version 0.17 --seed-rows 3 --seed-files 1
odigest=$(pb_digest "$T/old")
POCKETBASE_URL=$url_legacy SNAPKEEP_SERVICE=legacy sk restore latest --to "$url_old" --force
check "restore into a v0.17 server (no upload route): exit 4" rc_is 4
check "... saying why" err_has "HTTP 40[45].*no upload route (before v0.18)"
check "... and its data is unchanged" test "$(pb_digest "$T/old")" = "$odigest"
check "... and the safety copy of a restore that never started is deleted again" test "$(zips_on_server "$T/old")" -eq 0

# ---- a create whose 204 is lost (PocketBase's write timeout on a slow zip) ------------------
start_fake slow --create-delay 3 --write-timeout 1 --seed-rows 5 --seed-files 1
POCKETBASE_URL=$url_slow SNAPKEEP_SERVICE=slow sk backup-now
check "a create that outlives the server's write timeout: the backup still succeeds" rc_is 0
check "... noticing the lost reply and finding the finished zip" bash -c "
  grep -q 'no reply to the create request' '$T/err' && grep -q 'created PocketBase backup snapkeep_' '$T/err'"
check "... and the server copy is deleted" test "$(zips_on_server "$T/slow")" -eq 0

# ---- https with a private CA (SNAPKEEP_POCKETBASE_CA_FILE), through a TLS-terminating proxy ---
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/tls.key" -out "$T/tls.crt" -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
python3 - "$T/tls.crt" "$T/tls.key" "${url_main##*:}" >"$T/tls.out" 2>"$T/tls.log" <<'PY' &
import socket, ssl, sys, threading
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[1], sys.argv[2])
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); ls.bind(("127.0.0.1", 0)); ls.listen(16)
print("listening on https://127.0.0.1:%d" % ls.getsockname()[1], flush=True)
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            b.sendall(d)
    except OSError: pass
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
def serve(c):
    try: t = ctx.wrap_socket(c, server_side=True)
    except (OSError, ssl.SSLError): c.close(); return
    u = socket.create_connection(("127.0.0.1", int(sys.argv[3])))
    threading.Thread(target=pipe, args=(u, t), daemon=True).start(); pipe(t, u)
while True:
    c, _ = ls.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
pids+=($!)
for i in $(seq 50); do grep -q '^listening on ' "$T/tls.out" && break; sleep 0.1; done
url_tls=$(sed -n 's/^listening on //p' "$T/tls.out")
POCKETBASE_URL=$url_tls SNAPKEEP_SERVICE=tls sk backup-now
check "https with a private CA and no CA file: exit 4 naming the certificate problem" \
  bash -c "[ $rc -eq 4 ] && grep -qi 'certificate' '$T/err'"
POCKETBASE_URL=$url_tls SNAPKEEP_SERVICE=tls SNAPKEEP_POCKETBASE_CA_FILE=$T/tls.crt sk backup-now
check "... with SNAPKEEP_POCKETBASE_CA_FILE: the backup succeeds over https" rc_is 0
SNAPKEEP_POCKETBASE_CA_FILE=$T/missing.pem sk config check
check "a missing CA file is a configuration error (exit 3)" rc_is 3

# ---- refusals of bad targets --------------------------------------------------------------
sk restore latest --to "http://user:pw@127.0.0.1:1"
check "--to with credentials in the URL is refused (exit 2)" rc_is 2
sk restore latest --to "http://127.0.0.1:1"
check "--to an unreachable server: exit 4 before any download" rc_is 4
check "... naming the URL" err_has "cannot reach PocketBase at http://127.0.0.1:1"
done_testing
