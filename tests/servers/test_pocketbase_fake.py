#!/usr/bin/env python3
"""Tests of pocketbase_fake.py against the behaviour in research/pocketbase-backup-api.md.

Run:  python3 tests/servers/test_pocketbase_fake.py        (unittest output, exit 1 on failure)
      python3 tests/servers/test_pocketbase_fake.py --tap  (TAP: "ok N - name", exit 1 on failure)
Each test class starts its own real fake server (subprocess) on a free 127.0.0.1 port.
"""

import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "pocketbase_fake.py")
EMAIL = "admin@example.com"
PASSWORD = "S3cret-pass-for-tests"
USER_EMAIL = "user@example.com"
USER_PASSWORD = "user-pass-12345"
SEC_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "SAMEORIGIN",
               "X-XSS-Protection": "1; mode=block"}


class Server:
    """A fake PocketBase process in a private temp dir."""

    def __init__(self, *extra, seed=True, pb_dir=None):
        self.tmp = tempfile.mkdtemp(prefix="pbfake-")
        self.pb = pb_dir or os.path.join(self.tmp, "pb_data")
        pwf = os.path.join(self.tmp, "pw")
        upf = os.path.join(self.tmp, "upw")
        with open(pwf, "w") as f:
            f.write(PASSWORD + "\n")
        with open(upf, "w") as f:
            f.write(USER_PASSWORD + "\n")
        self.log = os.path.join(self.tmp, "server.log")
        args = [sys.executable, FAKE, "--dir", self.pb, "--email", EMAIL, "--password-file", pwf,
                "--user-email", USER_EMAIL, "--user-password-file", upf, "--log-file", self.log]
        args += list(extra)
        self.errpath = os.path.join(self.tmp, "stderr")
        with open(self.errpath, "w") as errf:  # a file, so a chatty stderr can never block the server
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errf, text=True)
        line = self.proc.stdout.readline()
        m = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)\n", line)
        if not m:
            self.proc.kill()
            with open(self.errpath) as f:
                raise RuntimeError("fake did not start: %r %s" % (line, f.read()))
        self.port = int(m.group(1))
        self.stdout_lines = [line]
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.stdout_lines.append(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            self.proc.stdout.close()
        except OSError:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    def logtext(self):
        with open(self.log) as f:
            return f.read()

    # ---- HTTP helpers
    def req(self, method, path, body=None, headers=None, token=None, timeout=30):
        h = dict(headers or {})
        if token:
            h["Authorization"] = token
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                h.setdefault("Content-Type", "application/json")
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, r.headers, data
        finally:
            c.close()

    def login(self, email=EMAIL, password=PASSWORD, coll="_superusers"):
        st, _, b = self.req("POST", "/api/collections/%s/auth-with-password" % coll,
                            {"identity": email, "password": password})
        assert st == 200, (st, b)
        return json.loads(b)["token"]

    def file_token(self, token):
        st, _, b = self.req("POST", "/api/files/token", token=token)
        assert st == 200, (st, b)
        return json.loads(b)["token"]

    def create(self, token, name):
        return self.req("POST", "/api/backups", {"name": name}, token=token)

    def download(self, token, key, headers=None):
        ft = self.file_token(token)
        return self.req("GET", "/api/backups/%s?token=%s" % (urllib.parse.quote(key, safe=""), ft),
                        headers=headers)

    def keys(self, token):
        st, _, b = self.req("GET", "/api/backups", token=token)
        assert st == 200, (st, b)
        return [i["key"] for i in json.loads(b)]

    def wait_up(self, timeout=15):
        end = time.time() + timeout
        while time.time() < end:
            try:
                st, _, _ = self.req("GET", "/api/health", timeout=2)
                if st == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def wait_down(self, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            try:
                self.req("GET", "/api/health", timeout=1)
            except OSError:
                return True
            time.sleep(0.02)
        return False

    def count(self, table="posts"):
        c = sqlite3.connect(os.path.join(self.pb, "data.db"))
        try:
            return c.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
        finally:
            c.close()


def err(status, message, data=None):
    """The exact v0.23+ error body."""
    return (json.dumps({"data": data or {}, "message": message, "status": status},
                       separators=(",", ":")) + "\n").encode()


def legacy_err(status, message, data=None):
    return (json.dumps({"code": status, "message": message, "data": data or {}},
                       separators=(",", ":")) + "\n").encode()


def jwt_claims(tok):
    p = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def multipart(field, filename, content, ctype="application/octet-stream"):
    b = "----pbfaketest%d" % time.time_ns()
    body = (("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
             "Content-Type: %s\r\n\r\n") % (b, field, filename, ctype)).encode() + content + \
        ("\r\n--%s--\r\n" % b).encode()
    return body, {"Content-Type": "multipart/form-data; boundary=" + b}


def zip_bytes(entries):
    path = tempfile.mktemp(suffix=".zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in entries.items():
            z.writestr(n, d)
    with open(path, "rb") as f:
        data = f.read()
    os.remove(path)
    return data


def check_zip_db(testcase, data):
    """The zip opens, CRCs check, data.db exists and passes PRAGMA integrity_check."""
    d = tempfile.mkdtemp()
    try:
        zp = os.path.join(d, "b.zip")
        with open(zp, "wb") as f:
            f.write(data)
        with zipfile.ZipFile(zp) as z:
            testcase.assertIsNone(z.testzip())
            names = z.namelist()
            testcase.assertIn("data.db", names)
            z.extractall(os.path.join(d, "x"))
        c = sqlite3.connect(os.path.join(d, "x", "data.db"))
        try:
            testcase.assertEqual(c.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            rows = c.execute("SELECT count(*) FROM posts").fetchone()[0]
        finally:
            c.close()
        return names, rows
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ==========================================================================


class ModernApi(unittest.TestCase):
    """v0.39.11 behaviour on one server."""

    @classmethod
    def setUpClass(cls):
        cls.s = Server("--seed-rows", "12", "--seed-files", "4")
        cls.tok = cls.s.login()
        cls.utok = cls.s.login(USER_EMAIL, USER_PASSWORD, "users")

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    # ---- health
    def test_health_guest(self):
        st, h, b = self.s.req("GET", "/api/health")
        self.assertEqual((st, b), (200, b'{"message":"API is healthy.","code":200,"data":{}}\n'))
        self.assertEqual(h["Content-Type"], "application/json")
        for k, v in SEC_HEADERS.items():
            self.assertEqual(h[k], v)

    def test_health_superuser_can_backup(self):
        st, _, b = self.s.req("GET", "/api/health", token=self.tok)
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(b)["data"], {"canBackup": True, "possibleProxyHeader": "", "realIP": "127.0.0.1"})

    # ---- auth
    def test_login_success_shape_and_token(self):
        st, _, b = self.s.req("POST", "/api/collections/_superusers/auth-with-password",
                              {"identity": EMAIL, "password": PASSWORD})
        self.assertEqual(st, 200)
        self.assertTrue(b.endswith(b"\n"))
        j = json.loads(b)
        self.assertEqual(list(j), ["record", "token"])
        rec = j["record"]
        self.assertEqual(rec["collectionId"], "pbc_3142635823")
        self.assertEqual(rec["collectionName"], "_superusers")
        self.assertEqual(rec["email"], EMAIL)
        self.assertTrue(rec["verified"])
        self.assertNotIn("password", rec)
        self.assertNotIn("tokenKey", rec)
        self.assertEqual(list(rec), sorted(rec))
        hdr = json.loads(base64.urlsafe_b64decode(j["token"].split(".")[0] + "=="))
        self.assertEqual(hdr, {"alg": "HS256", "typ": "JWT"})
        c = jwt_claims(j["token"])
        self.assertEqual(c["type"], "auth")
        self.assertEqual(c["collectionId"], "pbc_3142635823")
        self.assertTrue(c["refreshable"])
        self.assertAlmostEqual(c["exp"], time.time() + 86400, delta=5)
        self.assertNotIn(PASSWORD, self.s.logtext())
        with open(self.s.errpath) as f:
            self.assertNotIn(PASSWORD, f.read())
        self.assertNotIn(PASSWORD, "".join(self.s.stdout_lines))

    def test_login_by_collection_id(self):
        st, _, _ = self.s.req("POST", "/api/collections/pbc_3142635823/auth-with-password",
                              {"identity": EMAIL, "password": PASSWORD})
        self.assertEqual(st, 200)

    def test_login_form_encoded(self):
        body = urllib.parse.urlencode({"identity": EMAIL, "password": PASSWORD}).encode()
        st, _, _ = self.s.req("POST", "/api/collections/_superusers/auth-with-password", body,
                              {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200)

    def test_login_wrong_password_and_unknown_identity(self):
        for ident, pw in ((EMAIL, "wrong"), ("nobody@example.com", PASSWORD)):
            st, _, b = self.s.req("POST", "/api/collections/_superusers/auth-with-password",
                                  {"identity": ident, "password": pw})
            self.assertEqual((st, b), (400, err(400, "Failed to authenticate.")))
        self.assertNotIn("wrong", self.s.logtext())

    def test_login_validation(self):
        st, _, b = self.s.req("POST", "/api/collections/_superusers/auth-with-password", {"identity": ""})
        self.assertEqual((st, b), (400, err(400, "An error occurred while validating the submitted data.", {
            "identity": {"code": "validation_required", "message": "Cannot be blank."},
            "password": {"code": "validation_required", "message": "Cannot be blank."}})))
        st, _, b = self.s.req("POST", "/api/collections/_superusers/auth-with-password",
                              {"identity": EMAIL, "password": "x" * 256})
        self.assertEqual(json.loads(b)["data"]["password"],
                         {"code": "validation_length_out_of_range", "message": "The length must be between 1 and 255.",
                          "params": {"max": 255, "min": 1}})

    def test_login_bad_body(self):
        want = err(400, "An error occurred while loading the submitted data.")
        for body, ct in ((b"{bad", "application/json"), (b'{"identity":5}', "application/json"),
                         (b"[1]", "application/json"), (b"identity=x", "text/plain"), (b"x", None)):
            h = {"Content-Type": ct} if ct else {}
            st, _, b = self.s.req("POST", "/api/collections/_superusers/auth-with-password", body, h)
            self.assertEqual((st, b), (400, want), body)

    def test_login_collection_errors(self):
        st, _, b = self.s.req("POST", "/api/collections/nope/auth-with-password", {"identity": "a", "password": "b"})
        self.assertEqual((st, b), (404, err(404, "Missing or invalid collection context.")))
        st, _, b = self.s.req("POST", "/api/collections/posts/auth-with-password", {"identity": "a", "password": "b"})
        self.assertEqual((st, b), (404, err(404, "Missing or invalid auth collection context.")))

    def test_legacy_admin_route_absent(self):
        st, _, b = self.s.req("POST", "/api/admins/auth-with-password", {"identity": EMAIL, "password": PASSWORD})
        self.assertEqual((st, b), (404, err(404, "The requested resource wasn't found.")))

    def test_bearer_prefix_case_insensitive(self):
        for pre in ("Bearer ", "bearer ", "BEARER ", ""):
            st, _, _ = self.s.req("GET", "/api/backups", token=pre + self.tok)
            self.assertEqual(st, 200, pre)

    def test_auth_refresh(self):
        st, _, b = self.s.req("POST", "/api/collections/_superusers/auth-refresh", token=self.tok)
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(b)["record"]["email"], EMAIL)
        st, _, b = self.s.req("POST", "/api/collections/_superusers/auth-refresh")
        self.assertEqual((st, b), (401, err(401, "The request requires valid record authorization token.")))
        st, _, b = self.s.req("POST", "/api/collections/_superusers/auth-refresh", token=self.utok)
        self.assertEqual((st, b), (403, err(403, "The request requires auth record from users collection.")))

    def test_invalid_tokens_are_guests(self):
        tampered = self.tok[:-3] + ("AAA" if not self.tok.endswith("AAA") else "BBB")
        for t in ("garbage", tampered, self.s.file_token(self.tok)):
            st, _, b = self.s.req("GET", "/api/backups", token=t)
            self.assertEqual((st, b), (401, err(401, "The request requires valid record authorization token.")))

    def test_file_token(self):
        st, _, b = self.s.req("POST", "/api/files/token")
        self.assertEqual((st, b), (401, err(401, "The request requires valid record authorization token.")))
        ft = self.s.file_token(self.tok)
        c = jwt_claims(ft)
        self.assertEqual(c["type"], "file")
        self.assertAlmostEqual(c["exp"], time.time() + 180, delta=5)

    def test_fields_param(self):
        st, _, b = self.s.req("POST", "/api/collections/_superusers/auth-with-password?fields=token",
                              {"identity": EMAIL, "password": PASSWORD})
        self.assertEqual((st, list(json.loads(b))), (200, ["token"]))

    # ---- guards
    def test_backup_routes_guarded(self):
        routes = [("GET", "/api/backups"), ("POST", "/api/backups"), ("POST", "/api/backups/upload"),
                  ("DELETE", "/api/backups/x.zip"), ("POST", "/api/backups/x.zip/restore")]
        for m, p in routes:
            st, _, b = self.s.req(m, p)
            self.assertEqual((st, b), (401, err(401, "The request requires valid record authorization token.")), p)
            st, _, b = self.s.req(m, p, token=self.utok)
            self.assertEqual((st, b), (403, err(403, "The authorized record is not allowed to perform this action.")), p)

    def test_routing_404s(self):
        for m, p in (("POST", "/api/backups/x.zip"), ("GET", "/api/backups/"), ("PUT", "/api/backups"),
                     ("GET", "/api/nothing"), ("PATCH", "/api/health"), ("GET", "/api/backups/x.zip/restore")):
            st, _, b = self.s.req(m, p, token=self.tok)
            self.assertEqual((st, b), (404, err(404, "The requested resource wasn't found.")), (m, p))
        st, h, b = self.s.req("HEAD", "/api/nothing")
        self.assertEqual((st, b), (404, b""))
        # GET /api/backups/upload is a download of the key "upload" (token-guarded)
        st, _, b = self.s.req("GET", "/api/backups/upload")
        self.assertEqual((st, b), (403, err(403, "Insufficient permissions to access the resource.")))

    # ---- create
    def test_create_invalid_names(self):
        cases = {
            "UPPER.zip": "validation_match_invalid", "a.b.zip": "validation_match_invalid",
            "noext": "validation_match_invalid", "x.zip\n": "validation_match_invalid",
            "sp ace.zip": "validation_match_invalid", "@x.zip": "validation_match_invalid",
            "a" * 147 + ".zip": "validation_length_out_of_range",
        }
        for name, code in cases.items():
            st, _, b = self.s.create(self.tok, name)
            self.assertEqual(st, 400, name)
            j = json.loads(b)
            self.assertEqual(j["message"], "An error occurred while validating the submitted data.")
            self.assertEqual(j["data"]["name"]["code"], code, name)
            if code == "validation_length_out_of_range":
                self.assertEqual(j["data"]["name"], {"code": code, "message": "The length must be between 1 and 150.",
                                                     "params": {"max": 150, "min": 1}})
            else:
                self.assertEqual(j["data"]["name"]["message"], "Must be in a valid format.")

    def test_create_bind_errors(self):
        want = err(400, "An error occurred while loading the submitted data.")
        for body, ct in ((b'{"name":5}', "application/json"), (b'{"name":', "application/json"),
                         (b"name=x.zip", "text/plain")):
            st, _, b = self.s.req("POST", "/api/backups", body, {"Content-Type": ct}, token=self.tok)
            self.assertEqual((st, b), (400, want), body)

    def test_create_max_len_150_and_exists(self):
        name = "m" * 146 + ".zip"
        st, _, b = self.s.create(self.tok, name)
        self.assertEqual(st, 204, b)
        st, _, b = self.s.create(self.tok, name)
        self.assertEqual((st, b), (400, err(400, "An error occurred while validating the submitted data.", {
            "name": {"code": "validation_backup_name_exists",
                     "message": "The backup file name is invalid or already exists."}})))
        self.assertEqual(self.s.req("DELETE", "/api/backups/" + name, token=self.tok)[0], 204)

    def test_create_generated_name(self):
        before = set(self.s.keys(self.tok))
        st, _, b = self.s.req("POST", "/api/backups", b"", token=self.tok)
        self.assertEqual((st, b), (204, b""))
        st, _, _ = self.s.create(self.tok, "")  # an empty name is also generated (maybe same second: replaced)
        self.assertEqual(st, 204)
        new = set(self.s.keys(self.tok)) - before
        self.assertTrue(new)
        for k in new:
            self.assertRegex(k, r"^pb_backup_acme_\d{14}\.zip$")
            self.assertEqual(self.s.req("DELETE", "/api/backups/" + k, token=self.tok)[0], 204)

    def test_create_list_download_zip_contents(self):
        # entries PocketBase leaves out of a backup
        for d in (".autocert_cache", "lost+found", ".notify"):
            os.makedirs(os.path.join(self.s.pb, d), exist_ok=True)
            with open(os.path.join(self.s.pb, d, "junk"), "w") as f:
                f.write("x")
        st, h, b = self.s.create(self.tok, "full_1.zip")
        self.assertEqual((st, b), (204, b""))
        self.assertNotIn("Content-Type", h)
        st, _, b = self.s.req("GET", "/api/backups", token=self.tok)
        items = json.loads(b)
        self.assertEqual(items, sorted(items, key=lambda i: i["key"]))
        item = [i for i in items if i["key"] == "full_1.zip"][0]
        self.assertEqual(list(item), ["modified", "key", "size"])
        self.assertRegex(item["modified"], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertFalse(any(i["key"].endswith(".attrs") for i in items))
        st, h, data = self.s.download(self.tok, "full_1.zip")
        self.assertEqual(st, 200)
        self.assertEqual(len(data), item["size"])
        self.assertEqual(h["Content-Type"], "application/zip")
        self.assertEqual(h["Content-Disposition"], "attachment; filename=full_1.zip")
        self.assertEqual(h["Accept-Ranges"], "bytes")
        self.assertEqual(h["Cache-Control"], "max-age=2592000, stale-while-revalidate=86400")
        self.assertIn("sandbox", h["Content-Security-Policy"])
        names, rows = check_zip_db(self, data)
        self.assertEqual(rows, 12)
        self.assertEqual(sum(1 for n in names if n.startswith("storage/")), 4)
        for n in ("auxiliary.db", "data.db-shm", "data.db-wal"):
            self.assertIn(n, names)
        for n in names:
            self.assertFalse(n.split("/")[0] in ("backups", ".pb_temp_to_delete", ".autocert_cache",
                                                 "lost+found", ".notify"), n)
            self.assertFalse(n.endswith("/"), "no directory entries")
        with zipfile.ZipFile(os.path.join(self.s.pb, "backups", "full_1.zip")) as z:
            wal = z.getinfo("data.db-wal")
            self.assertEqual(wal.file_size, 0, "WAL truncated by the checkpoint")
            self.assertEqual(z.getinfo("data.db").compress_type, zipfile.ZIP_DEFLATED)
            self.assertTrue(z.getinfo("data.db").flag_bits & 0x08, "streamed entries (data descriptor)")
            self.assertEqual(z.getinfo("data.db").external_attr >> 16 & 0o170000, 0o100000, "unix regular-file mode")
        with open(os.path.join(self.s.pb, "backups", "full_1.zip.attrs")) as f:
            attrs = json.load(f)
        self.assertEqual(attrs["user.content_type"], "application/zip")

    def test_download_token_checks(self):
        self.assertEqual(self.s.create(self.tok, "dl_1.zip")[0], 204)
        forbidden = err(403, "Insufficient permissions to access the resource.")
        tampered = self.s.file_token(self.tok)
        tampered = tampered[:-3] + ("AAA" if not tampered.endswith("AAA") else "BBB")
        for q in ("", "?token=", "?token=garbage", "?token=" + self.tok, "?token=" + tampered,
                  "?token=" + self.s.file_token(self.utok)):
            st, _, b = self.s.req("GET", "/api/backups/dl_1.zip" + q)
            self.assertEqual((st, b), (403, forbidden), q[:20])
        st, _, b = self.s.req("GET", "/api/backups/dl_1.zip", token=self.tok)
        self.assertEqual((st, b), (403, forbidden))
        # the token is checked before the key
        st, _, b = self.s.req("GET", "/api/backups/missing.zip?token=bad")
        self.assertEqual((st, b), (403, forbidden))
        st, _, b = self.s.download(self.tok, "missing.zip")
        self.assertEqual((st, b), (404, err(404, "The requested resource wasn't found.")))
        st, _, b = self.s.download(self.tok, "dl_1.zip.attrs")
        self.assertEqual((st, b), (400, err(400, "Something went wrong while processing your request.")))

    def test_range_requests(self):
        self.assertEqual(self.s.create(self.tok, "rng_1.zip")[0], 204)
        st, _, full = self.s.download(self.tok, "rng_1.zip")
        size = len(full)
        st, h, b = self.s.download(self.tok, "rng_1.zip", {"Range": "bytes=100-"})
        self.assertEqual((st, h["Content-Range"], b), (206, "bytes 100-%d/%d" % (size - 1, size), full[100:]))
        self.assertEqual(int(h["Content-Length"]), size - 100)
        st, h, b = self.s.download(self.tok, "rng_1.zip", {"Range": "bytes=0-99"})
        self.assertEqual((st, b), (206, full[:100]))
        st, h, b = self.s.download(self.tok, "rng_1.zip", {"Range": "bytes=-50"})
        self.assertEqual((st, h["Content-Range"], b), (206, "bytes %d-%d/%d" % (size - 50, size - 1, size), full[-50:]))
        st, h, b = self.s.download(self.tok, "rng_1.zip", {"Range": "bytes=%d-" % size})
        self.assertEqual((st, h["Content-Range"]), (416, "bytes */%d" % size))
        st, h, b = self.s.download(self.tok, "rng_1.zip", {"Range": "bytes=5-2"})
        self.assertEqual((st, b, h["Content-Range"]), (416, b"invalid range\n", None))
        st, h, b = self.s.download(self.tok, "rng_1.zip", {"Range": "items=0-5"})
        self.assertEqual(st, 416)
        st, h, b = self.s.download(self.tok, "rng_1.zip", {"Range": "bytes=0-1,4-5"})
        self.assertEqual(st, 206)
        self.assertTrue(h["Content-Type"].startswith("multipart/byteranges; boundary="))
        bnd = h["Content-Type"].split("boundary=")[1]
        self.assertEqual(b, ("--%s\r\nContent-Range: bytes 0-1/%d\r\nContent-Type: application/zip\r\n\r\n" % (bnd, size)).encode()
                         + full[0:2] + ("\r\n--%s\r\nContent-Range: bytes 4-5/%d\r\nContent-Type: application/zip\r\n\r\n"
                                         % (bnd, size)).encode() + full[4:6] + ("\r\n--%s--\r\n" % bnd).encode())
        self.assertEqual(int(h["Content-Length"]), len(b))
        st, _, b = self.s.download(self.tok, "rng_1.zip", {"If-None-Match": "*"})
        self.assertEqual((st, b), (304, b""))
        # If-Range with a stale date: the whole file
        st, h, b = self.s.download(self.tok, "rng_1.zip", {"Range": "bytes=10-", "If-Range": "Mon, 01 Jan 2001 00:00:00 GMT"})
        self.assertEqual((st, b), (200, full))
        st, h, b = self.s.download(self.tok, "rng_1.zip", {"If-Modified-Since": h["Last-Modified"]})
        self.assertEqual((st, b), (304, b""))
        ft = self.s.file_token(self.tok)
        st, h, b = self.s.req("HEAD", "/api/backups/rng_1.zip?token=" + ft)
        self.assertEqual((st, int(h["Content-Length"]), b), (200, size, b""))

    def test_delete(self):
        self.assertEqual(self.s.create(self.tok, "del_1.zip")[0], 204)
        st, _, b = self.s.req("DELETE", "/api/backups/del_1.zip", token=self.tok)
        self.assertEqual((st, b), (204, b""))
        self.assertFalse(os.path.exists(os.path.join(self.s.pb, "backups", "del_1.zip.attrs")))
        self.assertNotIn("del_1.zip", self.s.keys(self.tok))
        st, _, b = self.s.req("DELETE", "/api/backups/del_1.zip", token=self.tok)
        j = json.loads(b)
        self.assertEqual(st, 400)
        self.assertTrue(j["message"].startswith("Invalid or already deleted backup file. Raw error: \n[key: del_1.zip] remove "))
        self.assertTrue(j["message"].endswith("no such file or directory\nresource not found."))
        self.assertEqual(list(j), ["data", "message", "status"])

    def test_upload(self):
        zdata = zip_bytes({"data.db": b"not really a db", "storage/x": b"1"})
        body, h = multipart("file", "../../x/Up Load.ZIP", zdata)
        st, _, b = self.s.req("POST", "/api/backups/upload", body, h, token=self.tok)
        self.assertEqual((st, b), (204, b""))
        self.assertIn("Up Load.ZIP", self.s.keys(self.tok))  # basename, no name rules
        st, _, b = self.s.req("POST", "/api/backups/upload", body, h, token=self.tok)
        self.assertEqual((st, b), (400, err(400, "An error occurred while validating the submitted data.", {
            "file": {"code": "validation_backup_name_exists",
                     "message": "Backup file with the specified name already exists."}})))
        # not a zip: message carries the normalized name with a random suffix
        body, h = multipart("file", "notzip.txt", b"hello world")
        st, _, b = self.s.req("POST", "/api/backups/upload", body, h, token=self.tok)
        j = json.loads(b)
        self.assertEqual((st, j["data"]["file"]["code"]), (400, "validation_invalid_mime_type"))
        self.assertRegex(j["data"]["file"]["message"], r'^"notzip_[a-z0-9]{10}\.txt" mime type must be one of: application/zip\.$')
        # the part's Content-Type is ignored; an EPUB-like zip is not application/zip
        odf = zip_bytes({"mimetype": b"application/epub+zip", "x": b"y"})
        body, h = multipart("file", "book.zip", odf, "application/zip")
        st, _, b = self.s.req("POST", "/api/backups/upload", body, h, token=self.tok)
        self.assertEqual(json.loads(b)["data"]["file"]["code"], "validation_invalid_mime_type")
        # an empty zip passes the sniffing
        body, h = multipart("file", "empty_1.zip", zip_bytes({}))
        self.assertEqual(self.s.req("POST", "/api/backups/upload", body, h, token=self.tok)[0], 204)
        # no file: wrong field, a non-multipart body, nothing at all
        required = err(400, "An error occurred while validating the submitted data.",
                       {"file": {"code": "validation_required", "message": "Cannot be blank."}})
        body, h = multipart("other", "a.zip", zdata)
        for bd, hd in ((body, h), (b'{"file":"x"}', {"Content-Type": "application/json"}), (None, {})):
            st, _, b = self.s.req("POST", "/api/backups/upload", bd, hd, token=self.tok)
            self.assertEqual((st, b), (400, required))
        # .attrs is reserved
        body, h = multipart("file", "x.attrs", zdata)
        st, _, b = self.s.req("POST", "/api/backups/upload", body, h, token=self.tok)
        self.assertEqual(json.loads(b)["data"]["file"]["code"], "validation_backup_name_exists")

    def test_upload_chunked_with_expect_continue(self):
        zdata = zip_bytes({"data.db": os.urandom(300000)})
        body, h = multipart("file", "chunked_1.zip", zdata)
        c = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=30)
        c.putrequest("POST", "/api/backups/upload")
        c.putheader("Authorization", self.tok)
        c.putheader("Content-Type", h["Content-Type"])
        c.putheader("Transfer-Encoding", "chunked")
        c.endheaders()
        for i in range(0, len(body), 65536):
            chunk = body[i:i + 65536]
            c.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        c.send(b"0\r\n\r\n")
        r = c.getresponse()
        self.assertEqual(r.status, 204)
        r.read()
        c.close()
        st, _, data = self.s.download(self.tok, "chunked_1.zip")
        self.assertEqual(data, zdata)

    def test_percent_encoded_key(self):
        body, h = multipart("file", "@x.zip", zip_bytes({"data.db": b"x"}))
        self.assertEqual(self.s.req("POST", "/api/backups/upload", body, h, token=self.tok)[0], 204)
        st, _, data = self.s.download(self.tok, "@x.zip")  # requested as /api/backups/%40x.zip
        self.assertEqual(st, 200)
        self.assertEqual(self.s.req("DELETE", "/api/backups/%40x.zip", token=self.tok)[0], 204)

    def test_restore_missing(self):
        st, _, b = self.s.req("POST", "/api/backups/nope.zip/restore", token=self.tok)
        self.assertEqual((st, b), (400, err(400, "Missing or invalid backup file.")))

    def test_body_limit_413(self):
        s = socket.create_connection(("127.0.0.1", self.s.port), timeout=10)
        s.sendall(b"POST /api/backups HTTP/1.1\r\nHost: x\r\nAuthorization: " + self.tok.encode() +
                  b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (33 << 20))
        resp = b""
        while True:  # the server gives up the connection: the unread body is too big to drain
            chunk = s.recv(4096)
            if not chunk:
                break
            resp += chunk
        s.close()
        self.assertTrue(resp.startswith(b"HTTP/1.1 413"), resp[:40])
        self.assertIn(b"\r\nConnection: close\r\n", resp)
        self.assertTrue(resp.endswith(err(413, "Request entity too large.")))

    def test_records_list(self):
        st, _, b = self.s.req("GET", "/api/collections/posts/records?perPage=5", token=self.tok)
        j = json.loads(b)
        self.assertEqual((st, j["totalItems"], len(j["items"]), j["perPage"]), (200, self.s.count(), 5, 5))
        st, _, b = self.s.req("GET", "/api/collections/posts/records")
        self.assertEqual((st, b), (403, err(403, "Only superusers can perform this action.")))
        st, _, b = self.s.req("GET", "/api/collections/nope/records", token=self.tok)
        self.assertEqual((st, b), (404, err(404, "Missing collection context.")))

    def test_collections_list(self):
        st, _, b = self.s.req("GET", "/api/collections?perPage=500", token=self.tok)
        j = json.loads(b)
        names = {c["name"]: c["system"] for c in j["items"]}
        self.assertEqual((st, j["totalItems"]), (200, len(j["items"])))
        self.assertEqual((names["posts"], names["users"], names["_superusers"]), (False, False, True))
        st, _, b = self.s.req("GET", "/api/collections")
        self.assertEqual(st, 401)
        # ?fields trims the items of a paged list, not its envelope
        st, _, b = self.s.req("GET", "/api/collections/posts/records?perPage=1&fields=id", token=self.tok)
        j = json.loads(b)
        self.assertEqual((st, j["totalItems"], list(j["items"][0])), (200, self.s.count(), ["id"]))

    def test_request_log_has_no_tokens(self):
        self.s.download(self.tok, "nope.zip")
        end = time.time() + 3  # the line is written just after the reply
        while "GET /api/backups/nope.zip 404" not in self.s.logtext() and time.time() < end:
            time.sleep(0.02)
        text = self.s.logtext()
        self.assertIn("GET /api/backups/nope.zip 404", text)
        self.assertNotIn("token=", text)
        self.assertNotIn(self.tok, text)


class TokenExpiry(unittest.TestCase):
    def test_file_and_auth_token_expire(self):
        # exp is whole seconds (Go's Unix()), so a TTL of N s leaves between N-1 and N s of validity
        s = Server("--file-token-ttl", "2", "--auth-token-ttl", "5", "--seed-files", "1")
        try:
            tok = s.login()
            self.assertEqual(s.create(tok, "exp_1.zip")[0], 204)
            ft = s.file_token(tok)
            self.assertEqual(s.req("GET", "/api/backups/exp_1.zip?token=" + ft)[0], 200)
            time.sleep(2.1)
            st, _, b = s.req("GET", "/api/backups/exp_1.zip?token=" + ft)
            self.assertEqual((st, b), (403, err(403, "Insufficient permissions to access the resource.")))
            self.assertEqual(s.req("GET", "/api/backups", token=tok)[0], 200)  # auth token still valid
            ft2 = s.file_token(tok)  # a fresh file token works again
            self.assertEqual(s.req("GET", "/api/backups/exp_1.zip?token=" + ft2)[0], 200)
            time.sleep(max(0.0, jwt_claims(tok)["exp"] - time.time()) + 0.1)
            st, _, b = s.req("GET", "/api/backups", token=tok)
            self.assertEqual((st, b), (401, err(401, "The request requires valid record authorization token.")))
        finally:
            s.stop()


class Lock(unittest.TestCase):
    def test_create_holds_lock(self):
        s = Server("--create-delay", "1.5")
        try:
            tok = s.login()
            res = {}
            t = threading.Thread(target=lambda: res.setdefault("r", s.create(tok, "slow_1.zip")))
            t.start()
            time.sleep(0.4)
            st, _, b = s.req("GET", "/api/health", token=tok)
            self.assertFalse(json.loads(b)["data"]["canBackup"])
            busy = "Try again later - another backup/restore process has already been started."
            st, _, b = s.create(tok, "other_1.zip")
            self.assertEqual((st, b), (400, err(400, busy)))
            st, _, b = s.create(tok, "BAD NAME")  # the lock is checked before the name
            self.assertEqual((st, b), (400, err(400, busy)))
            st, _, b = s.req("POST", "/api/backups/slow_1.zip/restore", token=tok)
            self.assertEqual((st, b), (400, err(400, busy)))
            st, _, b = s.req("DELETE", "/api/backups/slow_1.zip", token=tok)
            self.assertEqual((st, b), (400, err(400, "The backup is currently being used and cannot be deleted.")))
            # a password login writes to the DB, so it waits for the zip (token refresh does not)
            t0 = time.time()
            self.assertEqual(s.req("POST", "/api/collections/_superusers/auth-refresh", token=tok)[0], 200)
            self.assertLess(time.time() - t0, 0.5)
            s.login()
            t.join()
            self.assertEqual(res["r"][0], 204)
            self.assertTrue(json.loads(s.req("GET", "/api/health", token=tok)[2])["data"]["canBackup"])
            self.assertIn("slow_1.zip", s.keys(tok))
        finally:
            s.stop()

    def test_busy_knob_and_signals(self):
        s = Server("--busy", "1.2")
        try:
            tok = s.login()
            st, _, b = s.create(tok, "b_1.zip")
            self.assertEqual(st, 400)
            self.assertIn(b"Try again later", b)
            time.sleep(1.3)
            self.assertTrue(json.loads(s.req("GET", "/api/health", token=tok)[2])["data"]["canBackup"])
            self.assertEqual(s.create(tok, "b_1.zip")[0], 204)
            s.proc.send_signal(signal.SIGUSR1)  # held forever
            time.sleep(0.3)
            self.assertFalse(json.loads(s.req("GET", "/api/health", token=tok)[2])["data"]["canBackup"])
            self.assertEqual(s.create(tok, "b_2.zip")[0], 400)
            s.proc.send_signal(signal.SIGUSR2)
            time.sleep(0.3)
            self.assertEqual(s.create(tok, "b_2.zip")[0], 204)
        finally:
            s.stop()


class CutAndResume(unittest.TestCase):
    def test_cut_then_range_resume_is_byte_identical(self):
        s = Server("--seed-files", "2", "--seed-file-size", "150000", "--cut-after", "70000", "--cut-count", "1")
        try:
            tok = s.login()
            self.assertEqual(s.create(tok, "cut_1.zip")[0], 204)
            ft = s.file_token(tok)
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
            c.request("GET", "/api/backups/cut_1.zip?token=" + ft)
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            total = int(r.headers["Content-Length"])
            got = b""
            with self.assertRaises(http.client.IncompleteRead) as cm:
                r.read()
            got = cm.exception.partial
            c.close()
            self.assertEqual(len(got), 70000)
            self.assertGreater(total, 70000)
            st, h, rest = s.req("GET", "/api/backups/cut_1.zip?token=" + ft, headers={"Range": "bytes=%d-" % len(got)})
            self.assertEqual((st, h["Content-Range"]), (206, "bytes %d-%d/%d" % (len(got), total - 1, total)))
            with open(os.path.join(s.pb, "backups", "cut_1.zip"), "rb") as f:
                self.assertEqual(got + rest, f.read())
            check_zip_db(self, got + rest)
        finally:
            s.stop()


class WriteTimeout(unittest.TestCase):
    def test_create_reply_lost_and_download_cut(self):
        s = Server("--write-timeout", "1", "--create-delay", "1.3", "--download-rate", "60000",
                   "--seed-files", "1", "--seed-file-size", "200000")
        try:
            tok = s.login()
            with self.assertRaises(http.client.RemoteDisconnected):
                s.create(tok, "late_1.zip")
            self.assertIn("late_1.zip", s.keys(tok))  # the backup was still made
            ft = s.file_token(tok)
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
            c.request("GET", "/api/backups/late_1.zip?token=" + ft)
            r = c.getresponse()
            total = int(r.headers["Content-Length"])
            with self.assertRaises(http.client.IncompleteRead) as cm:
                r.read()
            c.close()
            got = cm.exception.partial
            self.assertTrue(0 < len(got) < total, (len(got), total))
        finally:
            s.stop()


class Restore(unittest.TestCase):
    def test_create_modify_restore_restart(self):
        s = Server("--seed-rows", "9", "--seed-files", "3", "--restart-delay", "0.6")
        try:
            tok = s.login()
            self.assertEqual(s.create(tok, "rt_1.zip")[0], 204)
            storage = [os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(s.pb, "storage")) for f in fs]
            with open(storage[0], "rb") as f:
                blob = f.read()
            c = sqlite3.connect(os.path.join(s.pb, "data.db"))
            c.execute("DELETE FROM posts")
            c.commit()
            c.close()
            os.remove(storage[0])
            self.assertEqual(s.count(), 0)
            st, _, b = s.req("POST", "/api/backups/rt_1.zip/restore", token=tok)
            self.assertEqual((st, b), (204, b""))
            # the handler does not take the lock: a second restore within ~1 s also gets 204,
            # and its RestoreBackup then fails in the background ("try again later", log only)
            st, _, b = s.req("POST", "/api/backups/rt_1.zip/restore", token=tok)
            self.assertEqual((st, b), (204, b""))
            self.assertTrue(s.wait_down(8), "the server never went away")
            self.assertTrue(s.wait_up(10), "the server never came back")
            self.assertEqual(s.count(), 9)
            with open(storage[0], "rb") as f:
                self.assertEqual(f.read(), blob)
            self.assertIn("rt_1.zip", s.keys(tok))  # same instance: the old token is still valid
            self.assertFalse(os.path.exists(os.path.join(s.pb, ".pb_temp_to_delete")))
            self.assertEqual(len([l for l in s.stdout_lines if l.startswith("listening on")]), 2)
            self.assertEqual(s.proc.poll(), None)
            self.assertIn("try again later - another backup/restore operation has already been started",
                          s.logtext())
            st, _, b = s.req("GET", "/api/collections/posts/records", token=tok)
            self.assertEqual(json.loads(b)["totalItems"], 9)
        finally:
            s.stop()

    def test_upload_foreign_backup_and_restore(self):
        a = Server("--seed-rows", "7", "--seed-files", "2")
        b = Server("--seed-rows", "3", "--seed-files", "0", "--restart-delay", "0.2")
        try:
            ta = a.login()
            self.assertEqual(a.create(ta, "from_a.zip")[0], 204)
            st, _, zdata = a.download(ta, "from_a.zip")
            tb = b.login()
            body, h = multipart("file", "from_a.zip", zdata)
            self.assertEqual(b.req("POST", "/api/backups/upload", body, h, token=tb)[0], 204)
            self.assertEqual(b.req("POST", "/api/backups/from_a.zip/restore", token=tb)[0], 204)
            self.assertTrue(b.wait_down(8))
            self.assertTrue(b.wait_up(10))
            self.assertEqual(b.count(), 7)
            # tokens and secrets now come from A's data.db: B's old token is dead, A's credentials work
            st, _, body = b.req("GET", "/api/backups", token=tb)
            self.assertEqual(st, 401)
            self.assertIn("from_a.zip", b.keys(b.login()))
        finally:
            a.stop()
            b.stop()

    def test_bad_zip_restore_fails_silently_and_keeps_data(self):
        s = Server("--seed-rows", "4", "--restore-delay", "0.8")
        try:
            tok = s.login()
            for name, data in (("nodb_1.zip", zip_bytes({"storage/a": b"x"})),
                               ("slip_1.zip", zip_bytes({"../evil": b"x", "data.db": b"y"}))):
                body, h = multipart("file", name, data)
                self.assertEqual(s.req("POST", "/api/backups/upload", body, h, token=tok)[0], 204)
                st, _, b = s.req("POST", "/api/backups/%s/restore" % name, token=tok)
                self.assertEqual((st, b), (204, b""))
                time.sleep(1.3)  # the restore now holds the lock
                self.assertFalse(json.loads(s.req("GET", "/api/health", token=tok)[2])["data"]["canBackup"])
                self.assertEqual(s.create(tok, "during.zip")[0], 400)
                time.sleep(0.9)
                self.assertTrue(s.wait_up(2))
                self.assertEqual(s.count(), 4)
                self.assertTrue(json.loads(s.req("GET", "/api/health", token=tok)[2])["data"]["canBackup"])
            self.assertFalse(os.path.exists(os.path.join(os.path.dirname(s.pb), "evil")))
            log = s.logtext()
            self.assertIn("Failed to restore backup key=nodb_1.zip", log)
            self.assertIn("data.db file is missing or invalid", log)
            self.assertIn("invalid file path", log)
            self.assertEqual(len([l for l in s.stdout_lines if l.startswith("listening on")]), 1)
        finally:
            s.stop()


class Legacy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server("--version", "0.22", "--seed-rows", "5", "--seed-files", "1")
        os.makedirs(os.path.join(cls.s.pb, ".autocert_cache"))
        with open(os.path.join(cls.s.pb, ".autocert_cache", "cert"), "w") as f:
            f.write("x")

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def admin_login(self):
        st, _, b = self.s.req("POST", "/api/admins/auth-with-password", {"identity": EMAIL, "password": PASSWORD})
        self.assertEqual(st, 200, b)
        return json.loads(b)

    def test_superusers_route_absent(self):
        st, _, b = self.s.req("POST", "/api/collections/_superusers/auth-with-password",
                              {"identity": EMAIL, "password": PASSWORD})
        self.assertEqual((st, b), (404, legacy_err(404, "The requested resource wasn't found.")))

    def test_admin_login_and_tokens(self):
        j = self.admin_login()
        self.assertEqual(list(j), ["admin", "token"])
        self.assertEqual(list(j["admin"]), ["id", "created", "updated", "avatar", "email"])
        c = jwt_claims(j["token"])
        self.assertEqual(c["type"], "admin")
        self.assertAlmostEqual(c["exp"], time.time() + 1209600, delta=5)
        ft = self.s.file_token(j["token"])
        self.assertEqual(jwt_claims(ft)["type"], "admin")
        self.assertAlmostEqual(jwt_claims(ft)["exp"], time.time() + 120, delta=5)
        st, _, b = self.s.req("POST", "/api/admins/auth-with-password", {"identity": EMAIL, "password": "nope"})
        self.assertEqual((st, b), (400, legacy_err(400, "Failed to authenticate.")))
        st, _, b = self.s.req("POST", "/api/files/token")
        self.assertEqual((st, b), (400, legacy_err(400, "Failed to generate file token.")))
        # the Bearer prefix is case-sensitive before v0.36.4
        st, _, b = self.s.req("GET", "/api/backups", token="bearer " + j["token"])
        self.assertEqual(st, 401)
        self.assertEqual(self.s.req("GET", "/api/backups", token="Bearer " + j["token"])[0], 200)

    def test_guards_and_errors(self):
        st, _, b = self.s.req("GET", "/api/backups")
        self.assertEqual((st, b), (401, legacy_err(401, "The request requires valid admin authorization token to be set.")))
        utok = self.s.login(USER_EMAIL, USER_PASSWORD, "users")  # a record token is also a 401 here
        self.assertEqual(jwt_claims(utok)["type"], "authRecord")
        st, _, b = self.s.req("GET", "/api/backups", token=utok)
        self.assertEqual((st, b), (401, legacy_err(401, "The request requires valid admin authorization token to be set.")))
        st, _, b = self.s.req("GET", "/api/backups/x.zip?token=" + self.s.file_token(utok))
        self.assertEqual((st, b), (403, legacy_err(403, "Insufficient permissions to access the resource.")))
        st, _, b = self.s.req("GET", "/api/health")
        self.assertEqual((st, b), (200, b'{"message":"API is healthy.","code":200,"data":{"canBackup":true}}\n'))
        tok = self.admin_login()["token"]
        st, _, b = self.s.req("POST", "/api/backups", {"name": "a" * 97 + ".zip"}, token=tok)
        self.assertEqual((st, b), (400, legacy_err(400, "Something went wrong while processing your request.", {
            "name": {"code": "validation_length_out_of_range", "message": "The length must be between 1 and 100.",
                     "params": {"max": 100, "min": 1}}})))
        st, _, b = self.s.download(tok, "missing.zip")
        self.assertEqual(st, 400)
        self.assertTrue(json.loads(b)["message"].startswith("Failed to retrieve backup item. Raw error: "))
        st, _, b = self.s.req("POST", "/api/backups/x.zip", token=tok)
        self.assertEqual((st, b), (405, legacy_err(405, "Method Not Allowed.")))
        body, h = multipart("other", "a.zip", b"PK\x05\x06" + b"\0" * 18)
        st, _, b = self.s.req("POST", "/api/backups/upload", body, h, token=tok)
        self.assertEqual((st, b), (400, legacy_err(400, "Missing or invalid uploaded file.")))

    def test_legacy_backup_zip(self):
        tok = self.admin_login()["token"]
        self.assertEqual(self.s.req("POST", "/api/backups/", {"name": "leg_1.zip"}, token=tok)[0], 204)
        st, _, data = self.s.download(tok, "leg_1.zip")
        self.assertEqual(st, 200)
        names, rows = check_zip_db(self, data)
        self.assertEqual(rows, 5)
        self.assertIn("logs.db", names)
        self.assertNotIn("auxiliary.db", names)
        self.assertIn(".autocert_cache/cert", names)  # only backups/ and .pb_temp_to_delete/ are excluded

    def test_z_restore_round_trip(self):  # runs last: it restarts the shared server
        tok = self.admin_login()["token"]
        self.assertEqual(self.s.create(tok, "legrt_1.zip")[0], 204)
        c = sqlite3.connect(os.path.join(self.s.pb, "data.db"))
        c.execute("DELETE FROM posts")
        c.commit()
        c.close()
        st, _, b = self.s.req("POST", "/api/backups/legrt_1.zip/restore", token=tok)
        self.assertEqual((st, b), (204, b""))
        self.assertTrue(self.s.wait_down(8))
        self.assertTrue(self.s.wait_up(10))
        self.assertEqual(self.s.count(), 5)
        st, _, b = self.s.req("GET", "/api/collections/posts/records", token=tok)
        self.assertEqual(json.loads(b)["totalItems"], 5)


class VersionAndSettings(unittest.TestCase):
    def test_v0_23_0(self):
        s = Server("--version", "0.23.0")
        try:
            tok = s.login()
            self.assertEqual(s.req("GET", "/api/backups", token="bearer " + tok)[0], 401)
            self.assertEqual(s.req("GET", "/api/backups", token="Bearer " + tok)[0], 200)
            self.assertEqual(s.create(tok, "a" * 146 + ".zip")[0], 204)
            # before v0.23.12 the upload route keeps the 32 MiB body limit (issue #6152)
            c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
            c.sendall(b"POST /api/backups/upload HTTP/1.1\r\nHost: x\r\nAuthorization: " + tok.encode() +
                      b"\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: %d\r\n\r\n" % (40 << 20))
            self.assertTrue(c.recv(100).startswith(b"HTTP/1.1 413"))
            c.close()
        finally:
            s.stop()

    def test_password_auth_disabled(self):
        s = Server("--seed-files", "0")
        try:
            db = sqlite3.connect(os.path.join(s.pb, "data.db"))
            opts = json.loads(db.execute("SELECT options FROM _collections WHERE name='users'").fetchone()[0])
            opts["passwordAuth"]["enabled"] = False
            db.execute("UPDATE _collections SET options=? WHERE name='users'", (json.dumps(opts),))
            db.commit()
            db.close()
            st, _, b = s.req("POST", "/api/collections/users/auth-with-password",
                             {"identity": USER_EMAIL, "password": USER_PASSWORD})
            self.assertEqual((st, b), (403, err(403, "The collection is not configured to allow password authentication.")))
        finally:
            s.stop()

    def test_rate_limit_and_superuser_ips(self):
        s = Server("--rate-limit", "--superuser-ips", "10.1.2.3", "--seed-files", "0")
        try:
            st, _, b = s.req("POST", "/api/collections/_superusers/auth-with-password",
                             {"identity": EMAIL, "password": PASSWORD})
            self.assertEqual((st, b), (403, err(403, "You are not allowed to perform this request.")))
            s.req("POST", "/api/collections/_superusers/auth-with-password", {"identity": EMAIL, "password": "x"})
            st, _, b = s.req("POST", "/api/collections/_superusers/auth-with-password", {"identity": EMAIL, "password": "x"})
            self.assertEqual((st, b), (429, err(429, "Too Many Requests.")))
        finally:
            s.stop()


class TapResult(unittest.TestResult):
    """Prints one TAP line per test."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.n = 0

    def _line(self, ok, test, note=""):
        self.n += 1
        print("%sok %d - %s%s" % ("" if ok else "not ", self.n, test.id().replace("__main__.", ""), note), flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(False, test)
        print("# " + self._exc_info_to_string(err, test).replace("\n", "\n# "), flush=True)

    def addError(self, test, err):
        super().addError(test, err)
        self._line(False, test)
        print("# " + self._exc_info_to_string(err, test).replace("\n", "\n# "), flush=True)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(True, test, " # SKIP " + reason)


def main_tap():
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    print("1..%d" % suite.countTestCases(), flush=True)
    result = TapResult()
    suite.run(result)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    if "--tap" in sys.argv[1:]:
        sys.exit(main_tap())
    unittest.main(verbosity=2)
