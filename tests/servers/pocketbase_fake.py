#!/usr/bin/env python3
"""PocketBase-compatible test server (backup API), Python 3 standard library only.

A test double for snapkeep's PocketBase engine. It follows
/work/shared/research/pocketbase-backup-api.md (PocketBase v0.23+ up to v0.39.11,
and the legacy v0.16-v0.22 admin API): routes, status codes, JSON error bodies and
messages, JWT auth/file tokens, the one-backup-or-restore-at-a-time lock, real zips
of a real pb_data (SQLite data.db + storage files), upload validation, and restore
that swaps pb_data and re-execs the process (port closed meanwhile).

See tests/servers/README-pocketbase.md and `--help` for the options.
Secrets (passwords) are read from files or environment variables, never from argv,
and are never printed; request logs never contain query strings (tokens).
"""

import argparse
import base64
import email.message
import email.utils
import ipaddress
import hashlib
import hmac
import json
import mmap
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import stat
import struct
import sys
import tempfile
import threading
import time
import urllib.parse
import zipfile
import zlib
from datetime import datetime, timezone
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FOREVER = float("inf")
MAX_BODY = 32 << 20             # DefaultMaxBodySize (v0.23+)
DRAIN_LIMIT = 256 << 10         # net/http discards at most this much unread body
SUPERUSERS_ID = "pbc_3142635823"   # "pbc_" + CRC32("auth_superusers")
USERS_ID = "_pb_users_auth_"
POSTS_ID = "pbc_%d" % zlib.crc32(b"base_posts")
TEMP_DIR = ".pb_temp_to_delete"
BACKUPS_DIR = "backups"
NAME_RE = re.compile(r"[a-z0-9_-]+\.zip")   # used with fullmatch == Go's ^...$
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
PSEUDO = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def log(msg):
    stream = LOG_STREAM[0]
    try:
        stream.write("%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), msg))
        stream.flush()
    except (OSError, ValueError):
        pass  # a closed log pipe must not take the server down


LOG_STREAM = [sys.stderr]


# --------------------------------------------------------------------------
# small helpers


def rand_str(n, alphabet=ALNUM):
    return "".join(secrets.choice(alphabet) for _ in range(n))


def now_dt():
    """types.DateTime layout: 2006-01-02 15:04:05.000Z (UTC)."""
    return fmt_dt(time.time())


def fmt_dt(ts):
    d = datetime.fromtimestamp(ts, tz=timezone.utc)
    return d.strftime("%Y-%m-%d %H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)


def go_json(obj):
    """Go json.Encoder output: compact, HTML-escaped, trailing newline."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    s = (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
         .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return (s + "\n").encode("utf-8")


def go_quote(s):
    """Approximation of Go's %q for printable names."""
    return json.dumps(s, ensure_ascii=False)


def sentenize(s):
    s = s.strip()
    if not s:
        return ""
    s = s[0].upper() + s[1:]
    if s[-1] not in ".?!":
        s += "."
    return s


def snakecase(s):
    words = re.split(r"[\W_]+", s, flags=re.ASCII)
    out = []
    for w in words:
        if not w:
            continue
        b = []
        for i, c in enumerate(w):
            if c.isupper() and i > 0 and not w[i - 1].isupper():
                b.append("_")
            b.append(c)
        out.append("".join(b))
    return "_".join(out).lower()


def parse_version(v):
    v = v.strip().lstrip("vV").rstrip("+")
    parts = v.split(".")
    nums = []
    for p in parts:
        m = re.match(r"\d+", p)
        if not m:
            raise ValueError("bad version %r" % v)
        nums.append(int(m.group(0)))
    while len(nums) < 3:
        nums.append(0)
    return tuple(nums[:3])


def parse_seconds(v):
    if v in ("forever", "inf", "infinite", "-1"):
        return FOREVER
    f = float(v)
    if f < 0:
        raise argparse.ArgumentTypeError("negative duration")
    return f


# --------------------------------------------------------------------------
# errors


class ApiError(Exception):
    def __init__(self, status, message, data=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = sentenize(message)
        self.data = data if data is not None else {}
        self.headers = headers or {}


def verr(code, message, params=None):
    item = {"code": code, "message": sentenize(message)}
    if params:
        item["params"] = dict(sorted(params.items()))
    return item


# --------------------------------------------------------------------------
# JWT (HS256)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def b64u_dec(s):
    if "=" in s or not re.fullmatch(r"[A-Za-z0-9_-]*", s):
        raise ValueError("bad base64url")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_new(claims, key, ttl):
    c = dict(claims)
    c["exp"] = int(time.time() + ttl)
    c = dict(sorted(c.items()))  # MapClaims marshal with sorted keys
    head = b64u(b'{"alg":"HS256","typ":"JWT"}')
    body = b64u(json.dumps(c, separators=(",", ":")).encode())
    sig = hmac.new(key.encode(), ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest()
    return "%s.%s.%s" % (head, body, b64u(sig))


def jwt_unverified(token):
    """ParseUnverifiedJWT: decode claims and validate exp / nbf / iat."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("token is malformed")
    claims = json.loads(b64u_dec(parts[1]))
    if not isinstance(claims, dict):
        raise ValueError("bad claims")
    now = time.time()
    for k in ("exp", "nbf", "iat"):
        if k in claims and not isinstance(claims[k], (int, float)) or isinstance(claims.get(k), bool):
            raise ValueError("bad %s" % k)
    if "exp" in claims and not now < claims["exp"]:
        raise ValueError("token is expired")
    if "nbf" in claims and now < claims["nbf"]:
        raise ValueError("token is not valid yet")
    if "iat" in claims and now < claims["iat"]:
        raise ValueError("token used before issued")
    return claims


def jwt_verify(token, key):
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("token is malformed")
    head = json.loads(b64u_dec(parts[0]))
    if not isinstance(head, dict) or head.get("alg") != "HS256":
        raise ValueError("signing method is invalid")
    want = hmac.new(key.encode(), ("%s.%s" % (parts[0], parts[1])).encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(want, b64u_dec(parts[2])):
        raise ValueError("signature is invalid")
    return jwt_unverified(token)


# --------------------------------------------------------------------------
# passwords (PBKDF2 instead of PocketBase's bcrypt: stdlib has no bcrypt)


def hash_password(pw):
    salt = secrets.token_bytes(16)
    it = 20000
    dk = hashlib.pbkdf2_hmac("sha256", pw.encode(), salt, it)
    return "$pbkdf2-sha256$%d$%s$%s" % (it, b64u(salt), b64u(dk))


def check_password(stored, pw):
    try:
        _, alg, it, salt, dk = stored.split("$")
        if alg != "pbkdf2-sha256":
            return False
        got = hashlib.pbkdf2_hmac("sha256", pw.encode(), b64u_dec(salt), int(it))
        return hmac.compare_digest(got, b64u_dec(dk))
    except (ValueError, TypeError):
        return False


# --------------------------------------------------------------------------
# zip content sniffing (gabriel-vasile/mimetype subset)


def sniff_is_plain_zip(head):
    """True when the content is detected exactly as application/zip."""
    if len(head) < 4 or head[:2] != b"PK" or head[2:4] not in (b"\x03\x04", b"\x05\x06", b"\x07\x08"):
        return False
    # Zip-based formats mimetype reports as their own type (jar, ooxml, odf, epub, apk).
    pos = 0
    first = True
    while pos + 30 <= len(head) and head[pos:pos + 4] == b"PK\x03\x04":
        nlen, xlen = struct.unpack("<HH", head[pos + 26:pos + 30])
        csize = struct.unpack("<I", head[pos + 18:pos + 22])[0]
        name = head[pos + 30:pos + 30 + nlen]
        if first and name == b"mimetype":
            return False
        if name in (b"META-INF/MANIFEST.MF", b"AndroidManifest.xml"):
            return False
        if name.startswith((b"word/", b"xl/", b"ppt/", b"visio/")):
            return False
        first = False
        flags = struct.unpack("<H", head[pos + 6:pos + 8])[0]
        if flags & 0x08:
            break  # streamed entry: size unknown, stop scanning
        pos += 30 + nlen + xlen + csize
    return True


def normalize_name(orig, head):
    """filesystem.normalizeName (used in the upload mime-type error message)."""
    name = orig[-300:] if len(orig) > 300 else orig
    p = name.rfind(".")
    ext = ""
    if p >= 0:
        q = name.rfind(".", 0, p)
        ext = name[q:] if q >= 0 else name[p:]
    clean_ext = "." + re.sub(r"[^\w.*\-+=#]+", "", ext, flags=re.ASCII).strip(".")
    if clean_ext == ".":
        clean_ext = ""
        if b"\x00" not in head:
            try:
                head.decode("utf-8")
                clean_ext = ".txt"
            except UnicodeDecodeError:
                pass
    if len(clean_ext) > 20:
        clean_ext = "." + clean_ext[-20:].strip(".")
    base = name[:-len(ext)] if ext else name
    clean = snakecase(base.strip("."))
    if len(clean) < 3:
        clean += rand_str(10)
    elif len(clean) > 100:
        clean = clean[:100]
    return "%s_%s%s" % (clean, rand_str(10), clean_ext)


# --------------------------------------------------------------------------
# the "fileblob" backups filesystem (pb_data/backups)


def escape_key(key):
    out = []
    for i, c in enumerate(key):
        esc = False
        if ord(c) < 32:
            esc = True
        elif c == "/" and i > 1 and key[i - 1] == "." and key[i - 2] == ".":
            esc = True
        elif c == "/" and i > 0 and key[i - 1] == "/":
            esc = True
        elif c == "/" and i == len(key) - 1:
            esc = True
        out.append("__0x%x__" % ord(c) if esc else c)
    return "".join(out)


def unescape_key(s):
    return re.sub(r"__0x([0-9a-fA-F]+)__", lambda m: chr(int(m.group(1), 16)), s)


class BlobFS:
    def __init__(self, root):
        self.root = root

    def path(self, key):
        p = os.path.normpath(os.path.join(self.root, escape_key(key).lstrip("/")))
        if p.endswith(".attrs"):
            raise ValueError('file extension ".attrs" is reserved')
        return p

    def _inside(self, p):
        return p.startswith(self.root.rstrip("/") + "/")

    def exists(self, key):
        """(exists, error) like blob.Bucket.Exists."""
        try:
            p = self.path(key)
        except ValueError as e:
            return False, e
        if not self._inside(p):
            return False, ValueError("invalid key")
        return os.path.isfile(p), None

    def list(self):
        items = []
        root = self.root
        if not os.path.isdir(root):
            return items

        def walk(d, rel):
            for name in sorted(os.listdir(d)):
                full = os.path.join(d, name)
                r = rel + "/" + name if rel else name
                st = os.stat(full)  # raises if it vanished (the rare race)
                if stat.S_ISDIR(st.st_mode):
                    walk(full, r)
                elif not name.endswith(".attrs"):
                    items.append({"key": unescape_key(r), "size": st.st_size, "mtime": st.st_mtime})
        walk(root, "")
        return items

    def write(self, key, src_path, content_type, original_name):
        """fileblob writer: <path>.<hex ns>.tmp, then <path>.attrs, then atomic rename."""
        p = self.path(key)
        if not self._inside(p):
            raise ValueError("invalid key")
        os.makedirs(os.path.dirname(p), exist_ok=True)
        tmp = "%s.%x.tmp" % (p, time.time_ns())
        md5 = hashlib.md5()
        try:
            with open(src_path, "rb") as src, open(tmp, "wb") as dst:
                while True:
                    b = src.read(1 << 20)
                    if not b:
                        break
                    md5.update(b)
                    dst.write(b)
            attrs = {
                "user.cache_control": "", "user.content_disposition": "",
                "user.content_encoding": "", "user.content_language": "",
                "user.content_type": content_type,
                "user.metadata": {"original-filename": original_name},
                "md5": base64.b64encode(md5.digest()).decode(),
            }
            with open(p + ".attrs", "wb") as f:
                f.write(json.dumps(attrs, separators=(",", ":")).encode())
            os.rename(tmp, p)
        except BaseException:
            try:
                os.remove(tmp)
            except OSError:
                pass
            raise

    def content_type(self, p):
        try:
            with open(p + ".attrs", "rb") as f:
                return json.loads(f.read()).get("user.content_type") or "application/octet-stream"
        except (OSError, ValueError):
            return "application/octet-stream"

    def delete(self, key):
        p = self.path(key)
        if not self._inside(p) or os.path.isdir(p):
            raise FileNotFoundError("remove %s: no such file or directory" % p)
        try:
            os.remove(p)
        except FileNotFoundError:
            raise FileNotFoundError("remove %s: no such file or directory" % p)
        try:
            os.remove(p + ".attrs")
        except FileNotFoundError:
            pass


# --------------------------------------------------------------------------
# pb_data: schema, seeding, zip create / extract


class Flavor:
    """Version-dependent behaviour switches."""

    def __init__(self, version):
        self.version = version
        self.legacy = version < (0, 23, 0)
        self.name_max = 100 if self.legacy else 150
        self.has_upload = version >= (0, 18, 0)
        self.upload_body_limited = (0, 23, 0) <= version < (0, 23, 12)
        self.bearer_ci = version >= (0, 36, 4)
        self.superuser_ips = version >= (0, 38, 0)
        self.aux_db = "logs.db" if self.legacy else "auxiliary.db"
        ex = [BACKUPS_DIR, TEMP_DIR]
        rex = [BACKUPS_DIR, TEMP_DIR]
        if version >= (0, 38, 0):
            ex.append(".notify")
        if not self.legacy:
            ex.append(".autocert_cache")
            rex.append(".autocert_cache")
        if version >= (0, 30, 1):
            ex.append("lost+found")
            rex.append("lost+found")
        self.create_excludes = ex
        self.restore_excludes = rex
        self.auth_ttl_default = 1209600 if self.legacy else 86400
        self.file_ttl_default = 120 if self.legacy else 180


def db_connect(path, timeout=30.0):
    c = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    c.row_factory = sqlite3.Row
    return c


def create_pb_data(pb, fl, app_name, seed_rows, seed_files, seed_file_size):
    os.makedirs(os.path.join(pb, "storage"), exist_ok=True)
    os.makedirs(os.path.join(pb, BACKUPS_DIR), exist_ok=True)
    now = now_dt()
    db = db_connect(os.path.join(pb, "data.db"))
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("BEGIN")
    if fl.legacy:
        settings = {
            "meta": {"appName": app_name},
            "adminAuthToken": {"secret": rand_str(50, PSEUDO), "duration": 1209600},
            "adminFileToken": {"secret": rand_str(50, PSEUDO), "duration": 120},
            "recordAuthToken": {"secret": rand_str(50, PSEUDO), "duration": 1209600},
            "recordFileToken": {"secret": rand_str(50, PSEUDO), "duration": 120},
        }
        db.execute("CREATE TABLE _params (id TEXT PRIMARY KEY, key TEXT UNIQUE, value JSON, created TEXT, updated TEXT)")
        db.execute("INSERT INTO _params VALUES (?,?,?,?,?)", (rand_str(15), "settings", json.dumps(settings), now, now))
        db.execute("CREATE TABLE _admins (id TEXT PRIMARY KEY, avatar INTEGER DEFAULT 0, email TEXT UNIQUE NOT NULL,"
                   " tokenKey TEXT NOT NULL, passwordHash TEXT NOT NULL, lastResetSentAt TEXT DEFAULT '',"
                   " created TEXT, updated TEXT)")
        db.execute("CREATE TABLE _collections (id TEXT PRIMARY KEY, system BOOLEAN, type TEXT, name TEXT UNIQUE,"
                   " schema JSON, indexes JSON, options JSON, created TEXT, updated TEXT)")
        db.execute("CREATE TABLE users (id TEXT PRIMARY KEY, username TEXT, email TEXT UNIQUE, emailVisibility BOOLEAN,"
                   " verified BOOLEAN, tokenKey TEXT, passwordHash TEXT, lastResetSentAt TEXT DEFAULT '',"
                   " name TEXT DEFAULT '', created TEXT, updated TEXT)")
        for cid, typ, name in ((USERS_ID, "auth", "users"), (POSTS_ID, "base", "posts")):
            db.execute("INSERT INTO _collections VALUES (?,?,?,?,?,?,?,?,?)",
                       (cid, False, typ, name, "[]", "[]", "{}", now, now))
    else:
        db.execute("CREATE TABLE _params (id TEXT PRIMARY KEY, value JSON, created TEXT, updated TEXT)")
        db.execute("INSERT INTO _params VALUES (?,?,?,?)",
                   ("settings", json.dumps({"meta": {"appName": app_name}}), now, now))
        db.execute("CREATE TABLE _collections (id TEXT PRIMARY KEY, system BOOLEAN, type TEXT, name TEXT UNIQUE,"
                   " fields JSON, indexes JSON, options JSON, created TEXT, updated TEXT)")
        for tbl in ("_superusers", "users"):
            db.execute("CREATE TABLE %s (id TEXT PRIMARY KEY, email TEXT UNIQUE NOT NULL, emailVisibility BOOLEAN"
                       " DEFAULT FALSE, verified BOOLEAN DEFAULT FALSE, password TEXT NOT NULL, tokenKey TEXT NOT NULL,"
                       " name TEXT DEFAULT '', created TEXT, updated TEXT)" % tbl)
        db.execute("CREATE TABLE _authOrigins (id TEXT PRIMARY KEY, collectionRef TEXT, recordRef TEXT,"
                   " fingerprint TEXT, created TEXT, updated TEXT, UNIQUE(collectionRef, recordRef, fingerprint))")
        for cid, typ, name, sysf in ((SUPERUSERS_ID, "auth", "_superusers", True),
                                     (USERS_ID, "auth", "users", False), (POSTS_ID, "base", "posts", False)):
            opts = {}
            if typ == "auth":
                opts = {"authToken": {"secret": rand_str(50, PSEUDO), "duration": 86400 if sysf else 604800},
                        "fileToken": {"secret": rand_str(50, PSEUDO), "duration": 180},
                        "passwordAuth": {"enabled": True, "identityFields": ["email"]}}
            db.execute("INSERT INTO _collections VALUES (?,?,?,?,?,?,?,?,?)",
                       (cid, sysf, typ, name, "[]", "[]", json.dumps(opts), now, now))
    db.execute("CREATE TABLE posts (id TEXT PRIMARY KEY, title TEXT, body TEXT, attachment TEXT DEFAULT '',"
               " created TEXT, updated TEXT)")
    ids = []
    for i in range(seed_rows):
        rid = rand_str(15)
        ids.append(rid)
        db.execute("INSERT INTO posts VALUES (?,?,?,?,?,?)",
                   (rid, "post %d" % (i + 1), "body of post %d " % (i + 1) * 4, "", now, now))
    for j in range(seed_files):
        if not ids:
            rid = rand_str(15)
            ids.append(rid)
            db.execute("INSERT INTO posts VALUES (?,?,?,?,?,?)", (rid, "file holder", "", "", now, now))
        rid = ids[j % len(ids)]
        fname = "file%d_%s.bin" % (j + 1, rand_str(10))
        d = os.path.join(pb, "storage", POSTS_ID, rid)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, fname), "wb") as f:
            f.write(os.urandom(seed_file_size))
        db.execute("UPDATE posts SET attachment=? WHERE id=?", (fname, rid))
    db.execute("COMMIT")
    db.close()
    aux = db_connect(os.path.join(pb, fl.aux_db))
    aux.execute("PRAGMA journal_mode=WAL")
    aux.execute("CREATE TABLE IF NOT EXISTS _logs (id TEXT PRIMARY KEY, level INTEGER, message TEXT, data JSON,"
                " created TEXT, updated TEXT)")
    aux.close()


def upsert_account(pb, fl, table, email, password, verified):
    db = db_connect(os.path.join(pb, "data.db"))
    try:
        now = now_dt()
        pwcol = "passwordHash" if fl.legacy else "password"
        row = db.execute("SELECT id, %s AS pw FROM %s WHERE email=? COLLATE NOCASE" % (pwcol, table), (email,)).fetchone()
        if row is None:
            if fl.legacy and table == "_admins":
                db.execute("INSERT INTO _admins (id, avatar, email, tokenKey, passwordHash, created, updated)"
                           " VALUES (?,?,?,?,?,?,?)", (rand_str(15), 0, email, rand_str(50, PSEUDO),
                                                     hash_password(password), now, now))
            elif fl.legacy:
                db.execute("INSERT INTO users (id, username, email, emailVisibility, verified, tokenKey, passwordHash,"
                           " created, updated) VALUES (?,?,?,?,?,?,?,?,?)",
                           (rand_str(15), "user" + rand_str(5, "0123456789"), email, False, verified,
                            rand_str(50, PSEUDO), hash_password(password), now, now))
            else:
                db.execute("INSERT INTO %s (id, email, emailVisibility, verified, password, tokenKey, created,"
                           " updated) VALUES (?,?,?,?,?,?,?,?)" % table,
                           (rand_str(15), email, False, verified, hash_password(password),
                            rand_str(50, PSEUDO), now, now))
        elif not check_password(row["pw"], password):
            # a password change regenerates tokenKey (invalidates earlier tokens)
            db.execute("UPDATE %s SET %s=?, tokenKey=?, updated=? WHERE id=?" % (table, pwcol),
                       (hash_password(password), rand_str(50, PSEUDO), now, row["id"]))
    finally:
        db.close()


def detect_flavor_of_db(pb):
    p = os.path.join(pb, "data.db")
    if not os.path.exists(p):
        return None
    db = db_connect(p)
    try:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        db.close()
    if "_admins" in names:
        return "legacy"
    if "_superusers" in names:
        return "modern"
    return "unknown"


class _StreamOnly:
    """Hides seek/tell so zipfile streams like Go's archive/zip (data descriptor, flag bit 3)."""

    def __init__(self, f):
        self.f = f

    def write(self, b):
        return self.f.write(b)

    def flush(self):
        self.f.flush()


def zip_pb_data(src, dest, excludes):
    """archive.Create: files only, lexical walk, Unix modes, Deflate level 1, streamed entries."""
    with open(dest, "wb") as raw, zipfile.ZipFile(_StreamOnly(raw), "w", compression=zipfile.ZIP_DEFLATED,
                                                  compresslevel=1, allowZip64=True) as zf:
        def walk(d, rel):
            for name in sorted(os.listdir(d)):
                r = rel + "/" + name if rel else name
                if any(r == ex or r.startswith(ex + "/") for ex in excludes):
                    continue
                full = os.path.join(d, name)
                lst = os.lstat(full)
                if stat.S_ISDIR(lst.st_mode):
                    walk(full, r)
                    continue
                mt = time.gmtime(max(lst.st_mtime, 315532800))
                zi = zipfile.ZipInfo(r, date_time=mt[:6])
                zi.create_system = 3
                zi.external_attr = (lst.st_mode & 0xFFFF) << 16
                zi.compress_type = zipfile.ZIP_DEFLATED
                zi.extra = struct.pack("<HHBI", 0x5455, 5, 1, int(lst.st_mtime) & 0xFFFFFFFF)
                # a symlink is stored with its own mode but the target's content (as Go's does)
                with open(full, "rb") as f:
                    size = os.fstat(f.fileno()).st_size
                    with zf.open(zi, "w", force_zip64=size > (1 << 31)) as w:
                        shutil.copyfileobj(f, w, 1 << 20)
        walk(src, "")


def extract_zip(src, dest):
    """archive.Extract: refuses zip-slip paths; only directories and regular files."""
    dest = os.path.normpath(dest) + "/"
    with zipfile.ZipFile(src) as zf:
        for zi in zf.infolist():
            path = os.path.normpath(dest + zi.filename)   # filepath.Join cleans
            if not path.startswith(dest):
                raise ValueError("invalid file path: %s" % path)
            mode = zi.external_attr >> 16
            is_dir = zi.filename.endswith("/")
            is_reg = not is_dir
            if zi.create_system in (3, 19) and mode:
                fmt = stat.S_IFMT(mode)
                is_dir = is_dir or fmt == stat.S_IFDIR
                is_reg = (fmt == stat.S_IFREG or fmt == 0) and not is_dir
            elif zi.external_attr & 0x10:
                is_dir, is_reg = True, False
            if is_dir:
                os.makedirs(path, exist_ok=True)
            elif is_reg:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                perm = (mode & 0o777) or 0o644
                with zf.open(zi) as r, open(path, "wb") as w:
                    shutil.copyfileobj(r, w, 1 << 20)
                os.chmod(path, perm)


def move_dir_content(src, dest, excludes):
    os.makedirs(dest, exist_ok=True)
    moved = []
    try:
        for name in sorted(os.listdir(src)):
            if name in excludes:
                continue
            os.rename(os.path.join(src, name), os.path.join(dest, name))
            moved.append(name)
    except OSError:
        for name in moved:
            try:
                os.rename(os.path.join(dest, name), os.path.join(src, name))
            except OSError:
                pass
        raise


# --------------------------------------------------------------------------
# application state


class App:
    def __init__(self, args):
        self.args = args
        self.pb = os.path.abspath(args.dir)
        self.fl = Flavor(parse_version(args.version))
        self.generation = int(os.environ.get("PB_FAKE_GENERATION", "0"))
        self.store_lock = threading.Lock()
        self.active = None          # @activeBackup value (None = not set)
        self.phantom_until = 0.0    # knob: lock held by a simulated background backup
        self.write_lock = threading.Lock()   # PocketBase's single non-concurrent writer connection
        self.keepers = []
        self.counter_lock = threading.Lock()
        self.downloads = 0
        self.rate = {}
        self.restart_requested = False
        self.server = None
        self.backups = BlobFS(os.path.join(self.pb, BACKUPS_DIR))

    # ---- the @activeBackup store key
    def has_active(self):
        return self.active is not None or time.monotonic() < self.phantom_until

    def active_name(self):
        return self.active if self.active is not None else ""

    def try_take(self, name):
        with self.store_lock:
            if self.has_active():
                return False
            self.active = name
            return True

    def release(self):
        with self.store_lock:
            self.active = None

    def hold_phantom(self, seconds):
        self.phantom_until = time.monotonic() + seconds if seconds != FOREVER else FOREVER
        log("lock: simulated background backup holds the lock for %s" %
            ("ever" if seconds == FOREVER else "%gs" % seconds))

    # ---- DB
    def db(self):
        return db_connect(os.path.join(self.pb, "data.db"))

    def open_keepers(self):
        # PocketBase keeps its DB connections open, so -wal/-shm exist while it runs.
        for name in ("data.db", self.fl.aux_db):
            p = os.path.join(self.pb, name)
            if os.path.exists(p):
                c = db_connect(p)
                c.execute("PRAGMA journal_mode=WAL")
                c.execute("SELECT count(*) FROM sqlite_master").fetchone()
                self.keepers.append(c)

    def close_keepers(self):
        for c in self.keepers:
            try:
                c.close()
            except sqlite3.Error:
                pass
        self.keepers = []

    def settings(self, db):
        if self.fl.legacy:
            row = db.execute("SELECT value FROM _params WHERE key='settings'").fetchone()
        else:
            row = db.execute("SELECT value FROM _params WHERE id='settings'").fetchone()
        return json.loads(row[0]) if row else {}

    def collection(self, db, name_or_id):
        if not name_or_id:
            return None
        try:
            row = db.execute("SELECT * FROM _collections WHERE id=? OR name=? COLLATE NOCASE",
                             (name_or_id, name_or_id)).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        c = dict(row)
        c["options"] = json.loads(c.get("options") or "{}")
        return c

    def auth_ttl(self, coll_opts_duration):
        if self.args.auth_token_ttl is not None:
            return self.args.auth_token_ttl
        return coll_opts_duration

    def file_ttl(self, coll_opts_duration):
        if self.args.file_token_ttl is not None:
            return self.args.file_token_ttl
        return coll_opts_duration

    # ---- tokens
    def new_auth_token(self, db, rec):
        if self.fl.legacy:
            st = self.settings(db)
            if rec["_coll"]["name"] == "_admins":
                cfg = st["adminAuthToken"]
                claims = {"id": rec["id"], "type": "admin"}
            else:
                cfg = st["recordAuthToken"]
                claims = {"id": rec["id"], "type": "authRecord", "collectionId": rec["_coll"]["id"]}
            return jwt_new(claims, rec["tokenKey"] + cfg["secret"], self.auth_ttl(cfg["duration"]))
        cfg = rec["_coll"]["options"]["authToken"]
        claims = {"type": "auth", "id": rec["id"], "collectionId": rec["_coll"]["id"], "refreshable": True}
        return jwt_new(claims, rec["tokenKey"] + cfg["secret"], self.auth_ttl(cfg["duration"]))

    def new_file_token(self, db, rec):
        if self.fl.legacy:
            st = self.settings(db)
            if rec["_coll"]["name"] == "_admins":
                cfg = st["adminFileToken"]
                claims = {"id": rec["id"], "type": "admin"}
            else:
                cfg = st["recordFileToken"]
                claims = {"id": rec["id"], "type": "authRecord", "collectionId": rec["_coll"]["id"]}
            return jwt_new(claims, rec["tokenKey"] + cfg["secret"], self.file_ttl(cfg["duration"]))
        cfg = rec["_coll"]["options"]["fileToken"]
        claims = {"type": "file", "id": rec["id"], "collectionId": rec["_coll"]["id"]}
        return jwt_new(claims, rec["tokenKey"] + cfg["secret"], self.file_ttl(cfg["duration"]))

    def find_record(self, db, coll, rid):
        table = coll["name"]
        try:
            row = db.execute('SELECT * FROM "%s" WHERE id=?' % table.replace('"', ""), (rid,)).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        r = dict(row)
        r["_coll"] = coll
        return r

    def find_by_token(self, db, token, valid_types, legacy_secret=None):
        """FindAuthRecordByToken (modern) / FindAdminByToken & FindAuthRecordByToken (legacy)."""
        if not token:
            return None
        try:
            claims = jwt_unverified(token)
            rid = claims.get("id")
            typ = claims.get("type")
            if self.fl.legacy:
                st = self.settings(db)
                if typ == "admin" and "admin" in valid_types:
                    rec = self.find_record(db, {"name": "_admins", "id": "_admins", "type": "auth",
                                                "options": {}}, rid)
                    if rec is None:
                        return None
                    jwt_verify(token, rec["tokenKey"] + st[legacy_secret or "adminAuthToken"]["secret"])
                    return rec
                if typ == "authRecord" and "authRecord" in valid_types:
                    coll = self.collection(db, claims.get("collectionId"))
                    if coll is None or coll["type"] != "auth":
                        return None
                    rec = self.find_record(db, coll, rid)
                    if rec is None:
                        return None
                    jwt_verify(token, rec["tokenKey"] + st["recordAuthToken"]["secret"])
                    return rec
                return None
            cid = claims.get("collectionId")
            if not (isinstance(rid, str) and rid and isinstance(cid, str) and cid and isinstance(typ, str) and typ):
                return None
            if typ not in valid_types:
                return None
            coll = self.collection(db, cid)
            if coll is None or coll["type"] != "auth":
                return None
            rec = self.find_record(db, coll, rid)
            if rec is None:
                return None
            key = {"auth": "authToken", "file": "fileToken"}.get(typ)
            if key is None:
                return None
            jwt_verify(token, rec["tokenKey"] + coll["options"][key]["secret"])
            return rec
        except (ValueError, KeyError, TypeError, sqlite3.Error, json.JSONDecodeError):
            return None

    def is_superuser(self, rec):
        return rec is not None and rec["_coll"]["name"] in ("_superusers", "_admins")

    # ---- rate limiting (fixed window; off unless --rate-limit)
    def rate_ok(self, label, ip, max_req, dur):
        now = time.monotonic()
        with self.counter_lock:
            start, hits = self.rate.get((label, ip), (now, 0))
            if now - start >= dur:
                start, hits = now, 0
            hits += 1
            self.rate[(label, ip)] = (start, hits)
            return hits <= max_req

    def take_download_slot(self):
        with self.counter_lock:
            self.downloads += 1
            n = self.downloads
        if self.args.cut_after is not None and n <= self.args.cut_count:
            return self.args.cut_after
        return None

    # ---- backups
    def generate_name(self, prefix):
        db = self.db()
        try:
            app_name = (self.settings(db).get("meta") or {}).get("appName") or "Acme"
        finally:
            db.close()
        sn = snakecase(app_name)[:50]
        return "%s%s_%s.zip" % (prefix, sn, time.strftime("%Y%m%d%H%M%S", time.gmtime()))

    def create_backup(self, name):
        """core.CreateBackup; raises on failure (the caller answers 400 "Failed to create backup.")."""
        if not self.try_take(name):
            raise RuntimeError("try again later - another backup/restore operation has already been started")
        try:
            if name == "":
                name = self.generate_name("pb_backup_")
            tmpdir = os.path.join(self.pb, TEMP_DIR)
            os.makedirs(tmpdir, exist_ok=True)
            tmp_zip = os.path.join(tmpdir, "pb_backup_" + rand_str(6, PSEUDO))
            try:
                with self.write_lock:   # RunInTransaction: every other write waits
                    for dbname in ("data.db", self.fl.aux_db):
                        p = os.path.join(self.pb, dbname)
                        if os.path.exists(p):
                            try:
                                c = db_connect(p, timeout=5)
                                c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                                c.close()
                            except sqlite3.Error:
                                pass  # errors are ignored, as PocketBase does
                    delay = self.args.create_delay
                    if delay:
                        log("create: holding the lock %s (knob --create-delay)" %
                            ("forever" if delay == FOREVER else "for %gs" % delay))
                        if delay == FOREVER:
                            while True:
                                time.sleep(3600)
                        time.sleep(delay)
                    zip_pb_data(self.pb, tmp_zip, self.fl.create_excludes)
                self.backups.write(name, tmp_zip, "application/zip", name)
            finally:
                try:
                    os.remove(tmp_zip)
                except OSError:
                    pass
            log("backup created: %s" % name)
        finally:
            self.release()

    def restore_backup(self, key):
        """core.RestoreBackup, run detached; failures are only logged."""
        if not self.try_take(key):
            log('Failed to restore backup key=%s error="%s"' %
                (key, "try again later - another backup/restore operation has already been started"))
            return
        extracted = None
        try:
            tmpdir = os.path.join(self.pb, TEMP_DIR)
            os.makedirs(tmpdir, exist_ok=True)
            ok, _ = self.backups.exists(key)
            if not ok:
                raise RuntimeError("missing or invalid backup file %s to restore" % go_quote(key))
            if self.args.restore_delay:
                time.sleep(self.args.restore_delay)
            extracted = os.path.join(tmpdir, "pb_restore_" + rand_str(8, PSEUDO))
            zpath = os.path.join(self.backups.root, os.path.basename(key))
            try:
                extract_zip(zpath, extracted)
            except (zipfile.BadZipFile, ValueError, OSError, EOFError, zlib.error) as e:
                raise RuntimeError(str(e))
            if not os.path.exists(os.path.join(extracted, "data.db")):
                raise RuntimeError("data.db file is missing or invalid")
            old = os.path.join(tmpdir, "old_pb_data_" + rand_str(8, PSEUDO))
            ex = self.fl.restore_excludes
            self.write_lock.acquire()
            swapped = False
            try:
                self.close_keepers()
                move_dir_content(self.pb, old, ex)
                try:
                    move_dir_content(extracted, self.pb, ex)
                except OSError:
                    move_dir_content(old, self.pb, ex)
                    raise
                swapped = True
            finally:
                if not swapped:
                    self.open_keepers()
                    self.write_lock.release()
            # restart: the lock and write_lock die with the process image
            log("restore: pb_data replaced from %s, restarting" % key)
            self.restart_requested = True
            threading.Thread(target=self.server.shutdown, daemon=True).start()
        except BaseException as e:
            log('Failed to restore backup key=%s error="%s"' % (key, e))
            self.release()
        finally:
            if extracted and not self.restart_requested:
                shutil.rmtree(extracted, ignore_errors=True)


# --------------------------------------------------------------------------
# HTTP


class BodyReader:
    """Request body (Content-Length or chunked); sends the deferred 100 Continue."""

    def __init__(self, handler):
        self.h = handler
        te = (handler.headers.get("Transfer-Encoding") or "").lower()
        self.chunked = "chunked" in te
        cl = handler.headers.get("Content-Length")
        self.length = None
        if not self.chunked:
            try:
                self.length = int(cl) if cl is not None else 0
            except ValueError:
                self.length = 0
        self.remaining = self.length if self.length is not None else None
        self.chunk_left = 0
        self.eof = (self.length == 0)
        self.consumed = 0

    def content_length(self):
        """As Go's Request.ContentLength: -1 for chunked."""
        return -1 if self.chunked else self.length

    def _continue(self):
        if self.h.expect_100 and not self.h.sent_100:
            self.h.sent_100 = True
            self.h.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def read(self, n=1 << 16):
        if self.eof:
            return b""
        self._continue()
        rf = self.h.rfile
        if not self.chunked:
            b = rf.read(min(n, self.remaining))
            if not b:
                raise ConnectionError("unexpected EOF in request body")
            self.remaining -= len(b)
            self.consumed += len(b)
            if self.remaining == 0:
                self.eof = True
            return b
        if self.chunk_left == 0:
            line = rf.readline(1024)
            if not line:
                raise ConnectionError("unexpected EOF in chunked body")
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers
                    t = rf.readline(8192)
                    if t in (b"\r\n", b"\n", b""):
                        break
                self.eof = True
                return b""
            self.chunk_left = size
        b = rf.read(min(n, self.chunk_left))
        if not b:
            raise ConnectionError("unexpected EOF in chunked body")
        self.chunk_left -= len(b)
        self.consumed += len(b)
        if self.chunk_left == 0:
            rf.readline(16)
        return b

    def read_all(self, limit=None):
        out = bytearray()
        while True:
            b = self.read()
            if not b:
                return bytes(out)
            out += b
            if limit is not None and len(out) > limit:
                raise OverflowError()

    def to_file(self, f):
        while True:
            b = self.read(1 << 20)
            if not b:
                return
            f.write(b)

    def settle(self):
        """Before answering: drain a small unread body or give up the connection (net/http)."""
        if self.eof:
            return True
        if self.h.expect_100 and not self.h.sent_100:
            return False
        if self.remaining is not None and self.remaining > DRAIN_LIMIT:
            return False
        try:
            total = 0
            while True:
                b = self.read()
                if not b:
                    return True
                total += len(b)
                if total > DRAIN_LIMIT:
                    return False
        except (ConnectionError, ValueError, OSError):
            return False


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, app):
        self.app = app
        self.conns = set()
        self.conns_lock = threading.Lock()
        super().__init__(addr, handler)

    def process_request(self, request, client_address):
        with self.conns_lock:
            self.conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.conns_lock:
            self.conns.discard(request)
        super().shutdown_request(request)

    def drop_all_connections(self):
        with self.conns_lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        if isinstance(e, (ConnectionError, BrokenPipeError, TimeoutError, socket.timeout)):
            return
        log("internal error: %r" % (e,))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pocketbase-fake"
    timeout = 300  # ReadTimeout-ish; keeps idle threads from piling up

    def log_message(self, fmt, *args):
        pass

    def handle_expect_100(self):
        # net/http sends 100 Continue only when the handler starts reading the body.
        self.expect_100 = True
        return True

    # every method goes through dispatch (unknown methods → 404, as Go's catch-all route)
    def do_GET(self):
        self.dispatch()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    # ---------------- response helpers
    def _start(self, status, headers, body_len=None):
        wt = self.app.args.write_timeout
        if wt and time.monotonic() - self.t0 > wt:
            # Go's WriteTimeout: the handler finished too late, its reply can no longer be written
            log("write timeout: %s %s finished after %.1fs, reply dropped" %
                (self.command, self.raw_path, time.monotonic() - self.t0))
            self._abort()
        self.status = status
        keep = self.body.settle()
        if not keep:
            self.close_connection = True
        self.send_response_only(status)
        self.send_header("Date", formatdate(usegmt=True))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "SAMEORIGIN")
        self.send_header("X-Xss-Protection", "1; mode=block")
        for k, v in headers:
            self.send_header(k, v)
        if body_len is not None:
            self.send_header("Content-Length", str(body_len))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def send_body(self, status, ctype, body, extra=()):
        headers = list(extra)
        if ctype:
            headers.insert(0, ("Content-Type", ctype))
        self._start(status, headers, len(body))
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def send_json(self, status, obj):
        if 200 <= status <= 299:
            fields = self.query.get("fields", [""])[0]
            if fields:
                obj = pick_fields(obj, fields)
        self.send_body(status, "application/json", go_json(obj))

    def send_error_obj(self, err):
        if self.app.fl.legacy:
            obj = {"code": err.status, "message": err.message, "data": err.data}
        else:
            obj = {"data": err.data, "message": err.message, "status": err.status}
        if self.command == "HEAD":
            self.send_body(err.status, None, b"", list(err.headers.items()))
            return
        self.send_body(err.status, "application/json", go_json(obj), list(err.headers.items()))

    def no_content(self):
        self._start(204, [], None)

    # ---------------- request plumbing
    def dispatch(self):
        self.app = self.server.app
        self.t0 = time.monotonic()
        self.status = 0
        self.sent_100 = False
        if not hasattr(self, "expect_100"):
            self.expect_100 = False
        raw = self.path
        if not raw.startswith("/"):
            u = urllib.parse.urlsplit(raw)
            raw = (u.path or "/") + ("?" + u.query if u.query else "")
        raw_path, _, qs = raw.partition("?")
        self.raw_path = raw_path
        self.query = urllib.parse.parse_qs(qs, keep_blank_values=True)
        self.body = BodyReader(self)
        self.auth = None
        self.client_ip = self.client_address[0]
        try:
            try:
                self.route()
            except ApiError as e:
                if self.status:
                    raise ConnectionError("error after response started")
                self.send_error_obj(e)
        except (ConnectionError, BrokenPipeError, socket.timeout, TimeoutError):
            self.close_connection = True
        except Exception as e:  # panic recover → 500? PocketBase answers 400 for plain errors
            log("handler error: %r" % (e,))
            if not self.status:
                try:
                    self.send_error_obj(ApiError(400, "Something went wrong while processing your request."))
                except OSError:
                    pass
            self.close_connection = True
        finally:
            self.expect_100 = False
            log("%s %s %s %.1fms" % (self.command, self.raw_path, self.status or "-",
                                     (time.monotonic() - self.t0) * 1000))

    def segments(self):
        # {key} patterns match one non-empty, percent-decoded segment
        return [urllib.parse.unquote(s, errors="replace") for s in self.raw_path.split("/")[1:]]

    def clean_redirect(self):
        """Go's ServeMux redirects unclean paths (//, /./, /../) with 301."""
        p = urllib.parse.unquote(self.raw_path)
        segs = p.split("/")
        if "//" not in p and "." not in segs and ".." not in segs:
            return False
        out = []
        for s in segs[1:]:
            if s in ("", "."):
                continue
            if s == "..":
                if out:
                    out.pop()
                continue
            out.append(s)
        clean = "/" + "/".join(out)
        if p.endswith("/") and clean != "/":
            clean += "/"
        loc = urllib.parse.quote(clean, safe="/@:!$&'()*+,;=")
        if self.query:
            loc += "?" + self.path.partition("?")[2]
        body = ('<a href="%s">Moved Permanently</a>.\n\n' % loc).encode() if self.command == "GET" else b""
        self.send_body(301, "text/html; charset=utf-8", body, [("Location", loc)])
        return True

    def load_auth(self, db):
        tok = self.headers.get("Authorization") or ""
        if self.app.fl.bearer_ci:
            if len(tok) > 7 and tok[:7].lower() == "bearer ":
                tok = tok[7:]
        elif tok.startswith("Bearer "):
            tok = tok[len("Bearer "):]
        if not tok:
            return None
        if self.app.fl.legacy:
            return self.app.find_by_token(db, tok, ["admin", "authRecord"], "adminAuthToken")
        return self.app.find_by_token(db, tok, ["auth"])

    def ip_allowed(self):
        ips = self.app.args.superuser_ips
        if not ips or not self.app.fl.superuser_ips:
            return True
        try:
            ip = ipaddress.ip_address(self.client_ip)
        except ValueError:
            return False
        for item in ips:
            try:
                if "/" in item and ip in ipaddress.ip_network(item, strict=False):
                    return True
                if "/" not in item and ip == ipaddress.ip_address(item):
                    return True
            except ValueError:
                continue
        return False

    def require_superuser(self):
        if self.app.fl.legacy:
            if not self.app.is_superuser(self.auth):
                raise ApiError(401, "The request requires valid admin authorization token to be set.")
            return
        if self.auth is None:
            raise ApiError(401, "The request requires valid record authorization token.")
        if not self.app.is_superuser(self.auth):
            raise ApiError(403, "The authorized record is not allowed to perform this action.")

    # ---------------- routing
    def route(self):
        app = self.app
        legacy = app.fl.legacy
        m = self.command
        if not legacy and self.clean_redirect():  # echo (legacy) does not clean paths
            return
        seg = self.segments()
        if legacy and len(seg) > 1 and seg[0] == "api" and seg[-1] == "":
            seg = seg[:-1]  # echo RemoveTrailingSlash for /api/ paths
        db = app.db()
        try:
            self.auth = self.load_auth(db)
        finally:
            db.close()
        if not legacy and self.app.is_superuser(self.auth) and not self.ip_allowed():
            raise ApiError(403, "You are not allowed to perform this request.")
        if app.args.rate_limit and not legacy and not self.app.is_superuser(self.auth) and seg[:1] == ["api"]:
            is_auth = len(seg) == 4 and seg[1] == "collections" and seg[3] == "auth-with-password"
            if is_auth and not legacy:
                if not app.rate_ok("*:auth", self.client_ip, 2, 3):
                    raise ApiError(429, "Too Many Requests.")
            elif not app.rate_ok("/api/", self.client_ip, 300, 10):
                raise ApiError(429, "Too Many Requests.")
        is_upload = seg == ["api", "backups", "upload"] and m == "POST"
        if not legacy and (not is_upload or app.fl.upload_body_limited):
            cl = self.body.content_length()
            if cl is not None and cl > MAX_BODY:
                raise ApiError(413, "Request entity too large.")

        get = m in ("GET", "HEAD") if not legacy else m == "GET"
        n = len(seg)
        if seg[:1] == ["api"]:
            if seg == ["api", "health"] and (get or m == "HEAD"):
                return self.h_health()
            if n == 4 and seg[1] == "collections" and seg[3] == "auth-with-password" and m == "POST":
                return self.h_auth_with_password(seg[2])
            if n == 4 and seg[1] == "collections" and seg[3] == "auth-refresh" and m == "POST":
                return self.h_auth_refresh(seg[2])
            if n == 4 and seg[1] == "collections" and seg[3] == "records" and get and seg[2]:
                return self.h_records_list(seg[2])
            if seg == ["api", "collections"] and get:
                return self.h_collections_list()
            if legacy and seg == ["api", "admins", "auth-with-password"] and m == "POST":
                return self.h_admin_auth_with_password()
            if legacy and seg == ["api", "admins", "auth-refresh"] and m == "POST":
                return self.h_admin_auth_refresh()
            if seg == ["api", "files", "token"] and m == "POST":
                return self.h_file_token()
            if seg == ["api", "backups"]:
                if get:
                    return self.h_backups_list()
                if m == "POST":
                    return self.h_backup_create()
            if seg == ["api", "backups", "upload"] and m == "POST" and app.fl.has_upload:
                return self.h_backup_upload()
            if n == 3 and seg[1] == "backups" and seg[2]:
                if get:
                    return self.h_backup_download(seg[2])
                if m == "DELETE":
                    return self.h_backup_delete(seg[2])
            if n == 4 and seg[1] == "backups" and seg[2] and seg[3] == "restore" and m == "POST":
                return self.h_backup_restore(seg[2])
        if legacy:
            # echo: a catch-all GET /* (pb_public) exists, so other methods get 405
            if m == "GET":
                raise ApiError(404, "Not Found")
            raise ApiError(405, "Method Not Allowed", headers={"Allow": "GET"})
        raise ApiError(404, "The requested resource wasn't found.")

    # ---------------- body binding
    def bind_body(self, fields):
        """Event.BindBody for a struct of string fields; returns dict (missing → "")."""
        out = {f: "" for f in fields}
        cl = self.body.content_length()
        if cl == 0:
            return out
        ctype = self.headers.get("Content-Type") or ""
        if ctype.startswith("application/json"):
            try:
                raw = self.body.read_all(MAX_BODY)
            except OverflowError:
                raise ApiError(413, "Request entity too large.")
            try:
                txt = raw.decode("utf-8", errors="replace")
                val, _ = json.JSONDecoder(object_pairs_hook=_JsonObj,
                                          parse_constant=_reject_const).raw_decode(txt.lstrip())
            except (ValueError, json.JSONDecodeError):
                raise _BindError()
            if val is None:
                return out
            if not isinstance(val, _JsonObj):
                raise _BindError()  # Go: cannot unmarshal array/string/number into the form struct
            err = False
            for k, v in val:  # case-insensitive field match, later keys win
                for f in fields:
                    if k.lower() == f.lower():
                        if v is None:
                            continue
                        if not isinstance(v, str):
                            err = True
                            continue
                        out[f] = v
            if err:
                raise _BindError()
            return out
        if ctype.startswith("application/x-www-form-urlencoded"):
            raw = self.body.read_all(MAX_BODY)
            form = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        elif ctype.startswith("multipart/form-data"):
            form = {}
            with tempfile.TemporaryFile() as tf:
                self.body.to_file(tf)
                tf.flush()
                try:
                    for name, filename, data in iter_multipart(tf, ctype):
                        if filename is None:
                            form.setdefault(name, []).append(data.decode("utf-8", "replace"))
                except ValueError:
                    raise _BindError()
        elif ctype.startswith(("text/xml", "application/xml")):
            raise _BindError()  # XML binding not implemented in the fake
        else:
            raise _BindError()
        for k, vs in self.query.items():  # Request.Form also holds the URL query (body values first)
            form.setdefault(k, []).extend(vs)
        for f in fields:
            for k, vs in form.items():
                if k == f and vs:
                    out[f] = vs[0]
        return out

    # ---------------- handlers: health & auth
    def h_health(self):
        if self.app.fl.legacy:
            if self.command == "HEAD":
                self._start(200, [], 0)
                return
            return self.send_json(200, {"message": "API is healthy.", "code": 200,
                                        "data": {"canBackup": not self.app.has_active()}})
        if self.app.is_superuser(self.auth):
            data = {"canBackup": not self.app.has_active(), "possibleProxyHeader": "", "realIP": self.client_ip}
            for h in ("CF-Connecting-IP", "Fly-Client-IP"):
                if self.headers.get(h):
                    data["possibleProxyHeader"] = h
                    break
        else:
            data = {}
        return self.send_json(200, {"message": "API is healthy.", "code": 200, "data": data})

    def record_export(self, rec):
        coll = rec["_coll"]
        if self.app.fl.legacy and coll["name"] == "_admins":
            return {"id": rec["id"], "created": rec["created"], "updated": rec["updated"],
                    "avatar": rec.get("avatar") or 0, "email": rec["email"]}
        out = {"collectionId": coll["id"], "collectionName": coll["name"], "created": rec["created"],
               "email": rec["email"], "emailVisibility": bool(rec.get("emailVisibility")), "id": rec["id"],
               "updated": rec["updated"], "verified": True if coll["name"] == "_superusers" else bool(rec.get("verified"))}
        if coll["name"] != "_superusers":
            out["name"] = rec.get("name") or ""
            if self.app.fl.legacy:
                out["username"] = rec.get("username") or ""
        return dict(sorted(out.items()))

    def h_auth_with_password(self, cname):
        app = self.app
        db = app.db()
        try:
            coll = app.collection(db, cname)
            if app.fl.legacy:
                if coll is None:
                    raise ApiError(404, "The requested resource wasn't found.")
                if coll["type"] != "auth":
                    raise ApiError(400, "Unsupported collection type.")
            else:
                if coll is None:
                    raise ApiError(404, "Missing or invalid collection context.")
                if coll["type"] != "auth":
                    raise ApiError(404, "Missing or invalid auth collection context.")
                if not coll["options"].get("passwordAuth", {}).get("enabled", True):
                    raise ApiError(403, "The collection is not configured to allow password authentication.")
            try:
                form = self.bind_body(["identity", "password", "identityField"])
            except _BindError:
                raise ApiError(400, "An error occurred while loading the submitted data.")
            errs = {}
            for f in ("identity", "password"):
                if form[f] == "":
                    errs[f] = verr("validation_required", "Cannot be blank.")
                elif len(form[f].encode()) > 255:
                    errs[f] = verr("validation_length_out_of_range", "The length must be between 1 and 255.",
                                   {"min": 1, "max": 255})
            idf = form["identityField"]
            if idf and idf not in coll["options"].get("passwordAuth", {}).get("identityFields", ["email"]):
                errs["identityField"] = verr("validation_in_invalid", "Must be a valid value.")
            if errs:
                raise ApiError(400, "An error occurred while validating the submitted data.", dict(sorted(errs.items())))
            rec = self._find_by_email(db, coll, form["identity"])
            pwcol = "passwordHash" if app.fl.legacy else "password"
            if rec is None or not check_password(rec[pwcol], form["password"]):
                raise ApiError(400, "Failed to authenticate.")
            if coll["name"] == "_superusers" and not self.ip_allowed():
                raise ApiError(403, "You are not allowed to perform this request.")
            if not app.fl.legacy:
                self._auth_alert(rec)
            token = app.new_auth_token(db, rec)
        finally:
            db.close()
        self.send_json(200, {"record": self.record_export(rec), "token": token})

    def _find_by_email(self, db, coll, email):
        try:
            row = db.execute('SELECT * FROM "%s" WHERE email=? COLLATE NOCASE' % coll["name"], (email,)).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        r = dict(row)
        r["_coll"] = coll
        return r

    def _auth_alert(self, rec):
        # authAlert saves an _authOrigins row: a DB write, so it waits while a backup is zipped
        fp = hashlib.sha256((self.client_ip + "|" + (self.headers.get("User-Agent") or "")).encode()).hexdigest()
        with self.app.write_lock:
            db = self.app.db()
            try:
                now = now_dt()
                db.execute("INSERT INTO _authOrigins (id, collectionRef, recordRef, fingerprint, created, updated)"
                           " VALUES (?,?,?,?,?,?) ON CONFLICT(collectionRef, recordRef, fingerprint)"
                           " DO UPDATE SET updated=excluded.updated",
                           (rand_str(15), rec["_coll"]["id"], rec["id"], fp, now, now))
            finally:
                db.close()

    def h_auth_refresh(self, cname):
        app = self.app
        db = app.db()
        try:
            coll = app.collection(db, cname)
            if app.fl.legacy:
                if coll is None:
                    raise ApiError(404, "The requested resource wasn't found.")
                if coll["type"] != "auth":
                    raise ApiError(400, "Unsupported collection type.")
                if self.auth is None or app.is_superuser(self.auth):
                    raise ApiError(401, "The request requires valid record authorization token to be set.")
                if self.auth["_coll"]["id"] != coll["id"]:
                    raise ApiError(403, "The authorized record model is not allowed to perform this action.")
                token = app.new_auth_token(db, self.auth)
            else:
                if coll is None:
                    raise ApiError(404, "Missing or invalid collection context.")
                if self.auth is None:
                    raise ApiError(401, "The request requires valid record authorization token.")
                if self.auth["_coll"]["id"] != coll["id"]:
                    raise ApiError(403, "The request requires auth record from %s collection." %
                                   self.auth["_coll"]["name"])
                token = app.new_auth_token(db, self.auth)
        finally:
            db.close()
        self.send_json(200, {"record": self.record_export(self.auth), "token": token})

    def h_admin_auth_with_password(self):
        app = self.app
        db = app.db()
        try:
            try:
                form = self.bind_body(["identity", "password"])
            except _BindError:
                raise ApiError(400, "An error occurred while loading the submitted data.")
            errs = {}
            if form["identity"] == "":
                errs["identity"] = verr("validation_required", "Cannot be blank.")
            elif len(form["identity"].encode()) > 255:
                errs["identity"] = verr("validation_length_out_of_range", "The length must be between 1 and 255.",
                                        {"min": 1, "max": 255})
            elif not re.fullmatch(r"[^@\s]+@[^@\s]+", form["identity"]):
                errs["identity"] = verr("validation_is_email", "Must be a valid email address.")
            if form["password"] == "":
                errs["password"] = verr("validation_required", "Cannot be blank.")
            elif len(form["password"].encode()) > 255:
                errs["password"] = verr("validation_length_out_of_range", "The length must be between 1 and 255.",
                                        {"min": 1, "max": 255})
            if errs:  # returned raw by form.Submit → generic message
                raise ApiError(400, "Something went wrong while processing your request.", dict(sorted(errs.items())))
            coll = {"name": "_admins", "id": "_admins", "type": "auth", "options": {}}
            rec = self._find_by_email(db, coll, form["identity"])
            if rec is None or not check_password(rec["passwordHash"], form["password"]):
                raise ApiError(400, "Failed to authenticate.")
            token = app.new_auth_token(db, rec)
        finally:
            db.close()
        self.send_json(200, {"admin": self.record_export(rec), "token": token})

    def h_admin_auth_refresh(self):
        self.require_superuser()
        db = self.app.db()
        try:
            token = self.app.new_auth_token(db, self.auth)
        finally:
            db.close()
        self.send_json(200, {"admin": self.record_export(self.auth), "token": token})

    def h_file_token(self):
        if self.auth is None:
            if self.app.fl.legacy:
                raise ApiError(400, "Failed to generate file token.")
            raise ApiError(401, "The request requires valid record authorization token.")
        db = self.app.db()
        try:
            token = self.app.new_file_token(db, self.auth)
        finally:
            db.close()
        self.send_json(200, {"token": token})

    def h_collections_list(self):
        """Minimal superuser-only collections list (GET /api/collections): the paged envelope of the
        records list, items with id, name, type, system, created and updated."""
        app = self.app
        self.require_superuser()
        try:
            page = max(1, int(self.query.get("page", ["1"])[0] or 1))
            per = min(1000 if not app.fl.legacy else 500, max(1, int(self.query.get("perPage", ["30"])[0] or 30)))
        except ValueError:
            raise ApiError(400, "Something went wrong while processing your request.")
        db = app.db()
        try:
            total = db.execute("SELECT count(*) FROM _collections").fetchone()[0]
            rows = db.execute("SELECT id, name, type, system, created, updated FROM _collections ORDER BY rowid"
                              " LIMIT ? OFFSET ?", (per, (page - 1) * per)).fetchall()
        finally:
            db.close()
        items = [{"created": r["created"], "id": r["id"], "name": r["name"], "system": bool(r["system"]),
                  "type": r["type"], "updated": r["updated"]} for r in rows]
        pages = (total + per - 1) // per
        if app.fl.legacy:
            res = {"page": page, "perPage": per, "totalItems": total, "totalPages": pages, "items": items}
        else:
            res = {"items": items, "page": page, "perPage": per, "totalItems": total, "totalPages": pages}
        self.send_json(200, res)

    def h_records_list(self, cname):
        """Minimal superuser-only records list, so tests can check data over HTTP."""
        app = self.app
        db = app.db()
        try:
            coll = app.collection(db, cname)
            if coll is None:
                if app.fl.legacy:
                    raise ApiError(404, "The requested resource wasn't found.")
                raise ApiError(404, "Missing collection context.")
            if not app.is_superuser(self.auth):
                raise ApiError(403, "Only admins can perform this action." if app.fl.legacy
                               else "Only superusers can perform this action.")
            try:
                page = max(1, int(self.query.get("page", ["1"])[0] or 1))
                per = min(1000, max(1, int(self.query.get("perPage", ["30"])[0] or 30)))
            except ValueError:
                raise ApiError(400, "Something went wrong while processing your request.")
            total = db.execute('SELECT count(*) FROM "%s"' % coll["name"]).fetchone()[0]
            rows = db.execute('SELECT * FROM "%s" ORDER BY rowid LIMIT ? OFFSET ?' % coll["name"],
                              (per, (page - 1) * per)).fetchall()
        finally:
            db.close()
        items = []
        for r in rows:
            d = {k: r[k] for k in r.keys() if k not in ("password", "passwordHash", "tokenKey")}
            d["collectionId"] = coll["id"]
            d["collectionName"] = coll["name"]
            items.append(dict(sorted(d.items())))
        pages = (total + per - 1) // per
        if app.fl.legacy:
            res = {"page": page, "perPage": per, "totalItems": total, "totalPages": pages, "items": items}
        else:
            res = {"items": items, "page": page, "perPage": per, "totalItems": total, "totalPages": pages}
        self.send_json(200, res)

    # ---------------- handlers: backups
    def h_backups_list(self):
        self.require_superuser()
        try:
            items = self.app.backups.list()
        except OSError as e:
            raise ApiError(400, "Failed to retrieve backup items. Raw error: \n" + str(e))
        out = [{"modified": fmt_dt(i["mtime"]), "key": i["key"], "size": i["size"]} for i in items]
        self.send_json(200, out)

    def h_backup_create(self):
        app = self.app
        self.require_superuser()
        if app.has_active():
            raise ApiError(400, "Try again later - another backup/restore process has already been started")
        try:
            form = self.bind_body(["name"])
        except _BindError:
            raise ApiError(400, "An error occurred while loading the submitted data.")
        name = form["name"]
        if name != "":
            err = None
            if len(name.encode()) > app.fl.name_max:
                err = verr("validation_length_out_of_range",
                           "The length must be between 1 and %d." % app.fl.name_max,
                           {"min": 1, "max": app.fl.name_max})
            elif not NAME_RE.fullmatch(name):
                err = verr("validation_match_invalid", "Must be in a valid format.")
            else:
                ok, e = app.backups.exists(name)
                if ok or e is not None:
                    err = verr("validation_backup_name_exists", "The backup file name is invalid or already exists.")
            if err is not None:
                msg = ("Something went wrong while processing your request." if app.fl.legacy
                       else "An error occurred while validating the submitted data.")
                raise ApiError(400, msg, {"name": err})
        try:
            app.create_backup(name)
        except Exception as e:
            log("create failed: %s" % e)
            raise ApiError(400, "Failed to create backup.")
        self.no_content()  # with --write-timeout, a slow create loses this reply (see _start)

    def h_backup_upload(self):
        app = self.app
        self.require_superuser()
        ctype = self.headers.get("Content-Type") or ""
        fh = None
        tf = tempfile.TemporaryFile()   # Go spools big multipart files to the OS temp dir
        try:
            if ctype.startswith("multipart/form-data"):
                self.body.to_file(tf)
                tf.flush()
                try:
                    for name, filename, data in iter_multipart(tf, ctype, want_file="file"):
                        if name == "file" and filename:
                            fh = (filename, data)
                            break
                except ValueError:
                    fh = None
            if fh is None:
                if app.fl.legacy:
                    raise ApiError(400, "Missing or invalid uploaded file.")
                raise ApiError(400, "An error occurred while validating the submitted data.",
                               {"file": verr("validation_required", "Cannot be blank.")})
            filename, (off, ln) = fh
            tf.seek(off)
            head = tf.read(min(ln, 3072))
            errmsg = ("Something went wrong while processing your request." if app.fl.legacy
                      else "An error occurred while validating the submitted data.")
            if not sniff_is_plain_zip(head):
                raise ApiError(400, errmsg, {"file": verr(
                    "validation_invalid_mime_type",
                    "%s mime type must be one of: application/zip." % go_quote(normalize_name(filename, head)))})
            ok, e = app.backups.exists(filename)
            if ok or e is not None:
                raise ApiError(400, errmsg, {"file": verr(
                    "validation_backup_name_exists", "Backup file with the specified name already exists.")})
            with tempfile.NamedTemporaryFile(delete=False) as part:
                tf.seek(off)
                left = ln
                while left:
                    b = tf.read(min(left, 1 << 20))
                    if not b:
                        break
                    part.write(b)
                    left -= len(b)
                part_path = part.name
            try:
                app.backups.write(filename, part_path, "application/zip", filename)
            except (OSError, ValueError) as e:
                log("upload failed: %s" % e)
                raise ApiError(400, "Failed to upload backup.")
            finally:
                os.remove(part_path)
            log("backup uploaded: %s (%d bytes)" % (filename, ln))
        finally:
            tf.close()
        self.no_content()

    def h_backup_download(self, key):
        app = self.app
        token = self.query.get("token", [""])[0]
        db = app.db()
        try:
            if app.fl.legacy:
                rec = app.find_by_token(db, token, ["admin"], "adminFileToken")
            else:
                rec = app.find_by_token(db, token, ["file"])
        finally:
            db.close()
        if not app.is_superuser(rec) or (not app.fl.legacy and not self.ip_allowed()):
            raise ApiError(403, "Insufficient permissions to access the resource.")
        try:
            p = app.backups.path(key)
        except ValueError as e:
            if app.fl.legacy:
                raise ApiError(400, "Failed to retrieve backup item. Raw error: \n[key: %s] %s" % (key, e))
            raise ApiError(400, "Something went wrong while processing your request.")
        if not app.backups._inside(p) or not os.path.isfile(p):
            if app.fl.legacy:
                raise ApiError(400, "Failed to retrieve backup item. Raw error: \n[key: %s] stat %s: "
                                    "no such file or directory\nresource not found" % (key, p))
            raise ApiError(404, "The requested resource wasn't found.")
        self.serve_file(p, os.path.basename(key), app.backups.content_type(p))

    def serve_file(self, p, name, ctype):
        """fsys.Serve + http.ServeContent (conditionals, Range, 206/416, HEAD)."""
        f = open(p, "rb")
        try:
            st = os.fstat(f.fileno())
            size = st.st_size
            mtime = int(st.st_mtime)
            base = [("Content-Disposition", "attachment; filename=" + name),
                    ("Content-Type", ctype),
                    ("Content-Security-Policy", "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox"),
                    ("Cache-Control", "max-age=2592000, stale-while-revalidate=86400"),
                    ("Last-Modified", formatdate(mtime, usegmt=True))]
            # preconditions (no ETag is set by PocketBase)
            im = self.headers.get("If-Match")
            if im is not None and im.strip() != "*":
                return self._precond_failed(base)
            ius = _http_date(self.headers.get("If-Unmodified-Since"))
            if im is None and ius is not None and mtime > ius:
                return self._precond_failed(base)
            ims = _http_date(self.headers.get("If-Modified-Since"))
            inm = self.headers.get("If-None-Match")
            if (inm is not None and inm.strip() == "*") or (inm is None and ims is not None and mtime <= ims):
                self._start(304, [h for h in base if h[0] not in ("Content-Type",)], None)
                return
            rng = self.headers.get("Range")
            ir = self.headers.get("If-Range")
            if rng and ir is not None:
                ird = _http_date(ir)
                if ird is None or ird != mtime:
                    rng = None
            ranges = None
            if rng:
                try:
                    ranges = parse_range(rng, size)
                except _RangeError as e:
                    body = ("%s\n" % e).encode()
                    extra = [("Content-Range", "bytes */%d" % size)] if "overlap" in str(e) else []
                    self.send_body(416, "text/plain; charset=utf-8", body, extra)
                    return
                if sum(r[1] for r in ranges) > size:
                    ranges = None
            headers = list(base) + [("Accept-Ranges", "bytes")]
            if not ranges:
                self._start(200, headers, size)
                if self.command != "HEAD":
                    self.stream(f, 0, size)
                return
            if len(ranges) == 1:
                s, ln = ranges[0]
                headers.append(("Content-Range", "bytes %d-%d/%d" % (s, s + ln - 1, size)))
                self._start(206, headers, ln)
                if self.command != "HEAD":
                    self.stream(f, s, ln)
                return
            boundary = secrets.token_hex(30)
            parts = []
            total = 0
            for s, ln in ranges:
                h = ("%s--%s\r\nContent-Range: bytes %d-%d/%d\r\nContent-Type: %s\r\n\r\n" %
                     ("\r\n" if parts else "", boundary, s, s + ln - 1, size, ctype)).encode()
                parts.append((h, s, ln))
                total += len(h) + ln
            tail = ("\r\n--%s--\r\n" % boundary).encode()
            total += len(tail)
            headers = [(k, v) for k, v in headers if k != "Content-Type"]
            headers.append(("Content-Type", "multipart/byteranges; boundary=" + boundary))
            self._start(206, headers, total)
            if self.command != "HEAD":
                for h, s, ln in parts:
                    self.wfile.write(h)
                    self.stream(f, s, ln, count_slot=False)
                self.wfile.write(tail)
        finally:
            f.close()

    def _precond_failed(self, base):
        self._start(412, [], 0)

    def stream(self, f, start, length, count_slot=True):
        app = self.app
        cut = app.take_download_slot() if count_slot else None
        rate = app.args.download_rate
        wt = app.args.write_timeout
        f.seek(start)
        sent = 0
        t0 = time.monotonic()
        while sent < length:
            n = min(1 << 16, length - sent)
            if cut is not None:
                n = min(n, cut - sent)
            if rate:
                n = min(n, max(1024, int(rate) // 20))
            b = f.read(n) if n > 0 else b""
            if b:
                self.wfile.write(b)
                sent += len(b)
            if cut is not None and sent >= cut:
                log("download cut after %d bytes (knob --cut-after)" % sent)
                self._abort()
                return
            if wt and time.monotonic() - self.t0 > wt:
                log("write timeout after %d bytes" % sent)
                self._abort()
                return
            if rate:
                ahead = sent / rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
            if not b:
                break

    def _abort(self):
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise ConnectionError("aborted by knob")

    def h_backup_delete(self, key):
        app = self.app
        self.require_superuser()
        if key != "" and app.active == key:
            raise ApiError(400, "The backup is currently being used and cannot be deleted.")
        try:
            app.backups.delete(key)
        except ValueError as e:
            raise ApiError(400, "Invalid or already deleted backup file. Raw error: \n[key: %s] %s" % (key, e))
        except OSError as e:
            raise ApiError(400, "Invalid or already deleted backup file. Raw error: \n[key: %s] %s\nresource not found"
                           % (key, e))
        log("backup deleted: %s" % key)
        self.no_content()

    def h_backup_restore(self, key):
        app = self.app
        self.require_superuser()
        if app.has_active():
            raise ApiError(400, "Try again later - another backup/restore process has already been started.")
        ok, _ = app.backups.exists(key)
        if not ok:
            raise ApiError(400, "Missing or invalid backup file.")

        def later():
            time.sleep(1)  # "optimistic time to write the response"
            app.restore_backup(key)
        threading.Thread(target=later, daemon=True).start()
        self.no_content()


class _BindError(Exception):
    pass


class _JsonObj(list):
    """A decoded JSON object as its (key, value) pairs, in order."""


class _RangeError(Exception):
    pass


def _reject_const(c):
    raise ValueError("invalid constant %s" % c)


def _http_date(v):
    if not v:
        return None
    try:
        return int(parsedate_to_datetime(v).timestamp())
    except (TypeError, ValueError, IndexError):
        return None


def parse_range(s, size):
    """net/http parseRange; returns [(start, length)]."""
    if not s.startswith("bytes="):
        raise _RangeError("invalid range")
    out = []
    no_overlap = False
    num = re.compile(r"\+?\d+")
    for ra in s[len("bytes="):].split(","):
        ra = ra.strip(" \t")
        if ra == "":
            continue
        if "-" not in ra:
            raise _RangeError("invalid range")
        start, _, end = ra.partition("-")
        start, end = start.strip(" \t"), end.strip(" \t")
        if start == "":
            if end == "" or end[0] == "-" or not num.fullmatch(end):
                raise _RangeError("invalid range")
            i = min(int(end), size)
            out.append((size - i, i))
        else:
            if not num.fullmatch(start):
                raise _RangeError("invalid range")
            i = int(start)
            if i >= size:
                no_overlap = True
                continue
            if end == "":
                out.append((i, size - i))
            else:
                if not num.fullmatch(end):
                    raise _RangeError("invalid range")
                j = int(end)
                if i > j:
                    raise _RangeError("invalid range")
                j = min(j, size - 1)
                out.append((i, j - i + 1))
    if no_overlap and not out:
        raise _RangeError("invalid range: failed to overlap")
    return out


def iter_multipart(f, ctype, want_file=None):
    """Yield (name, filename|None, data) for each part of a multipart body stored in file f.
    data is bytes for form values and (offset, length) for file parts."""
    m = email.message.Message()
    m["content-type"] = ctype
    boundary = m.get_param("boundary")
    if not boundary:
        raise ValueError("no boundary")
    f.seek(0, os.SEEK_END)
    if f.tell() == 0:
        return
    mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        delim = b"--" + boundary.encode()
        pos = mm.find(delim)
        if pos < 0:
            raise ValueError("no boundary in body")
        while True:
            pos += len(delim)
            if mm[pos:pos + 2] == b"--":
                return
            eol = mm.find(b"\r\n", pos)
            if eol < 0:
                raise ValueError("truncated")
            pos = eol + 2
            hend = mm.find(b"\r\n\r\n", pos - 2)
            if hend < 0:
                raise ValueError("truncated headers")
            hdr = mm[pos:hend].decode("utf-8", "replace") if hend > pos else ""
            bstart = hend + 4
            nxt = mm.find(b"\r\n" + delim, bstart)
            if nxt < 0:
                raise ValueError("truncated part")
            pm = email.message.Message()
            for line in hdr.split("\r\n"):
                if ":" in line:
                    k, v = line.split(":", 1)
                    pm[k.strip()] = v.strip()
            name = pm.get_param("name", header="content-disposition")
            filename = pm.get_param("filename", header="content-disposition")
            if isinstance(name, tuple):
                name = email.utils.collapse_rfc2231_value(name)
            if isinstance(filename, tuple):
                filename = email.utils.collapse_rfc2231_value(filename)
            if filename:
                filename = filename.rstrip("/").rsplit("/", 1)[-1] or "/"  # filepath.Base
                yield name, filename, (bstart, nxt - bstart)
            else:
                yield name, None, bytes(mm[bstart:nxt])
            pos = nxt + 2
    finally:
        mm.close()


def pick_fields(obj, fields):
    """?fields=a,b (top-level and dotted paths), applied to each item of an array. For a paged list
    (the page/perPage/totalItems/totalPages/items envelope) PocketBase's picker trims the items and
    keeps the envelope."""
    wanted = [x.strip() for x in fields.split(",") if x.strip()]
    if isinstance(obj, dict) and {"page", "perPage", "totalItems", "totalPages", "items"} <= set(obj):
        return dict(obj, items=pick_fields(obj["items"], fields))

    def pick(o, paths):
        if isinstance(o, list):
            return [pick(i, paths) for i in o]
        if not isinstance(o, dict):
            return o
        if "*" in paths:
            return o
        out = {}
        for k, v in o.items():
            sub = [p[len(k) + 1:] for p in paths if p.startswith(k + ".")]
            if k in paths:
                out[k] = v
            elif sub:
                out[k] = pick(v, sub)
        return out
    return pick(obj, wanted)


# --------------------------------------------------------------------------
# main


def read_secret(file_opt, env_opt, what):
    if file_opt:
        with open(file_opt, "r", encoding="utf-8") as f:
            v = f.read().rstrip("\r\n")
        if not v:
            sys.exit("pocketbase_fake: %s file %s is empty" % (what, file_opt))
        return v
    if env_opt:
        v = os.environ.get(env_opt)
        if not v:
            sys.exit("pocketbase_fake: environment variable %s (%s) is empty or unset" % (env_opt, what))
        return v
    return None


def build_parser():
    p = argparse.ArgumentParser(
        description="PocketBase-compatible test server (backup API). Prints 'listening on http://HOST:PORT' "
                    "as its first stdout line.")
    p.add_argument("--dir", required=True, help="pb_data directory (created and seeded when missing)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (0 = choose a free one; kept across restarts)")
    p.add_argument("--version", default="0.39.11",
                   help="PocketBase version to imitate, e.g. 0.39.11, 0.23, 0.22 (legacy admin API), 0.17")
    p.add_argument("--email", help="superuser (admin) email; upserted at first start")
    p.add_argument("--password-file", help="file holding the superuser password")
    p.add_argument("--password-env", help="environment variable holding the superuser password")
    p.add_argument("--user-email", help="regular auth user (users collection) email")
    p.add_argument("--user-password-file", help="file holding the regular user's password")
    p.add_argument("--app-name", default="Acme", help="settings.meta.appName for a new pb_data (default Acme)")
    p.add_argument("--seed-rows", type=int, default=10, help="rows in the posts table of a new pb_data")
    p.add_argument("--seed-files", type=int, default=3, help="storage files of a new pb_data")
    p.add_argument("--seed-file-size", type=int, default=1024, help="bytes of random data per storage file")
    p.add_argument("--auth-token-ttl", type=float, help="override the auth token lifetime (seconds)")
    p.add_argument("--file-token-ttl", type=float, help="override the file token lifetime (seconds)")
    p.add_argument("--busy", type=parse_seconds, default=0.0,
                   help="hold the backup lock from start for SECONDS ('forever' = never free); first start only")
    p.add_argument("--busy-signal-seconds", type=parse_seconds, default=FOREVER,
                   help="SIGUSR1 holds the lock for this long (default forever); SIGUSR2 frees it")
    p.add_argument("--create-delay", type=parse_seconds, default=0.0,
                   help="each create holds the lock (and the DB writer) this long before zipping ('forever')")
    p.add_argument("--restore-delay", type=float, default=0.0,
                   help="restore holds the lock this long before extracting")
    p.add_argument("--restart-delay", type=float, default=0.5,
                   help="seconds the port stays closed during the post-restore restart (default 0.5)")
    p.add_argument("--cut-after", type=int, help="cut the connection after this many body bytes ...")
    p.add_argument("--cut-count", type=int, default=1, help="... on the first K downloads (default 1)")
    p.add_argument("--download-rate", type=float, default=0.0, help="throttle downloads to BYTES per second")
    p.add_argument("--write-timeout", type=float, default=None,
                   help="Go WriteTimeout: replies not finished SECONDS after the request are cut/dropped "
                        "(default per version: 300 for >=0.26, 180 for 0.23-0.25, none before; 0 = off)")
    p.add_argument("--rate-limit", action="store_true", help="enable the default rate limit rules")
    p.add_argument("--superuser-ips", type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
                   default=[], help="comma-separated SuperuserIPs whitelist (v0.38+)")
    p.add_argument("--log-file", help="append request logs here instead of stderr")
    return p


def main():
    args = build_parser().parse_args()
    if args.log_file:
        LOG_STREAM[0] = open(args.log_file, "a", buffering=1)
    app = App(args)
    fl = app.fl
    if args.write_timeout is None:
        v = fl.version
        args.write_timeout = 300.0 if v >= (0, 26, 0) else (180.0 if v >= (0, 23, 0) else 0.0)
    pb = app.pb
    password = read_secret(args.password_file, args.password_env, "superuser password")
    if args.email and password is None:
        sys.exit("pocketbase_fake: --email needs --password-file or --password-env")
    user_password = read_secret(args.user_password_file, None, "user password")

    # bootstrap: the temp dir (old data after a restore) is removed on start
    shutil.rmtree(os.path.join(pb, TEMP_DIR), ignore_errors=True)
    flavor = detect_flavor_of_db(pb)
    if flavor is None:
        os.makedirs(pb, exist_ok=True)
        create_pb_data(pb, fl, args.app_name, args.seed_rows, args.seed_files, args.seed_file_size)
        log("created pb_data at %s (%s schema, %d rows, %d storage files)" %
            (pb, "legacy" if fl.legacy else "v0.23+", args.seed_rows, args.seed_files))
    elif (flavor == "legacy") != fl.legacy:
        log("warning: pb_data has a %s schema but --version %s was given; logins will fail" % (flavor, args.version))
        args.email = args.user_email = None
    os.makedirs(os.path.join(pb, BACKUPS_DIR), exist_ok=True)
    if app.generation == 0:
        if args.email:
            upsert_account(pb, fl, "_admins" if fl.legacy else "_superusers", args.email, password, True)
        if args.user_email:
            if user_password is None:
                sys.exit("pocketbase_fake: --user-email needs --user-password-file")
            upsert_account(pb, fl, "users", args.user_email, user_password, True)
        if args.busy:
            app.hold_phantom(args.busy)
    app.open_keepers()

    port = int(os.environ.get("PB_FAKE_PORT", args.port))
    srv = None
    for _ in range(100):
        try:
            srv = FakeServer((args.host, port), Handler, app)
            break
        except OSError:
            if app.generation == 0:
                raise
            time.sleep(0.05)   # the old socket may linger briefly after a restart
    if srv is None:
        sys.exit("pocketbase_fake: cannot bind %s:%d" % (args.host, port))
    app.server = srv
    port = srv.server_address[1]

    signal.signal(signal.SIGUSR1, lambda *_: app.hold_phantom(args.busy_signal_seconds))
    signal.signal(signal.SIGUSR2, lambda *_: (setattr(app, "phantom_until", 0.0), log("lock: simulated backup freed")))

    try:
        sys.stdout.write("listening on http://%s:%d\n" % (args.host, port))
        sys.stdout.flush()
    except (OSError, ValueError):
        pass  # the reader may have gone after the first line; keep serving
    log("pocketbase fake v%s (generation %d, pid %d) serving %s" %
        (".".join(map(str, fl.version)), app.generation, os.getpid(), pb))
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        srv.server_close()
        return 0
    # only reached after a restore: restart like PocketBase's execve
    srv.server_close()
    srv.drop_all_connections()
    app.close_keepers()
    time.sleep(args.restart_delay)
    env = dict(os.environ)
    env["PB_FAKE_GENERATION"] = str(app.generation + 1)
    env["PB_FAKE_PORT"] = str(port)
    log("restart: exec (pid %d)" % os.getpid())
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)


if __name__ == "__main__":
    sys.exit(main())
