# Helpers for tests against the PocketBase-compatible server (tests/servers/pocketbase_fake.py).
# Source after tests/lib.sh; the caller sets FAKE (the server script), EMAIL, writes the password
# to $T/pw, and declares the array `pids` (killed by its own EXIT trap).

# start_fake NAME [options...]: pb_data in $T/NAME, URL in $url_NAME, pid in $pid_NAME, log in
# $T/NAME.log. The port is a free one unless the options name one (the last --port wins).
start_fake() {
  local name=$1; shift
  python3 "$FAKE" --dir "$T/$name" --port 0 --email "$EMAIL" --password-file "$T/pw" "$@" \
    >"$T/$name.out" 2>"$T/$name.log" &
  pids+=($!)
  eval "pid_$name=$!"
  local i
  for i in $(seq 100); do grep -q '^listening on ' "$T/$name.out" && break; sleep 0.1; done
  eval "url_$name=$(sed -n 's/^listening on //p' "$T/$name.out" | head -1)"
}

# digest of the posts table and of every storage file of a pb_data dir (or an unpacked zip)
pb_digest() {
  python3 - "$1" <<'PY'
import hashlib, os, sqlite3, sys
d = sys.argv[1]
c = sqlite3.connect("file:%s/data.db?mode=ro" % d, uri=True)
rows = c.execute("select * from posts order by id").fetchall()
h = hashlib.sha256(repr(rows).encode())
for root, _, files in sorted(os.walk(os.path.join(d, "storage"))):
    for f in sorted(files):
        p = os.path.join(root, f)
        h.update(os.path.relpath(p, d).encode() + hashlib.sha256(open(p, "rb").read()).digest())
print(len(rows), h.hexdigest())
PY
}
