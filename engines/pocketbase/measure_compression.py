#!/usr/bin/env python3
"""Measure what zstd gains on a PocketBase backup zip (which is already Deflate level 1).

Builds a realistic pb_data in a scratch directory (data.db with posts/users/comments holding real
English text taken from local HTML documentation, JSON columns, 15-char ids, indexes;
auxiliary.db with request logs; storage/ with real PNGs, incompressible "photos" and text
attachments), zips it the way PocketBase does (files only, Deflate level 1), then runs the zstd CLI
(same libzstd as snapkeep) at several levels and prints size, ratio and CPU time.

    python3 engines/pocketbase/measure_compression.py [--rows 60000] [--photos-mb 20] [--keep DIR]

Not part of `make test`.
"""
import argparse
import glob
import html
import json
import os
import random
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile

DOCS = ["/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc/rust/html", "/usr/share/doc"]


def corpus(limit=30 << 20):
    """Paragraphs of real English text from local HTML documentation."""
    paras, total = [], 0
    for root in DOCS:
        for path in sorted(glob.glob(root + "/**/*.html", recursive=True)):
            try:
                text = open(path, encoding="utf-8", errors="replace").read()
            except OSError:
                continue
            for p in re.findall(r"<p>(.*?)</p>", text, re.S):
                p = html.unescape(re.sub(r"<[^>]+>", "", p)).strip()
                if len(p) > 80:
                    paras.append(p)
                    total += len(p)
            if total > limit:
                return paras
    if not paras:
        paras = ["lorem ipsum dolor sit amet %d " % i * 20 for i in range(1000)]
    return paras


def rid(r):
    return "".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(15))


def build(pb, rows, photos_mb, r):
    os.makedirs(pb)
    paras = corpus()
    now = time.time()
    ts = lambda: time.strftime("%Y-%m-%d %H:%M:%S.000Z", time.gmtime(now - r.random() * 3e7))
    db = sqlite3.connect(os.path.join(pb, "data.db"))
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript("""
      CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT UNIQUE, password TEXT, tokenKey TEXT, name TEXT,
                          avatar TEXT, verified BOOLEAN, created TEXT, updated TEXT);
      CREATE TABLE posts (id TEXT PRIMARY KEY, author TEXT, title TEXT, slug TEXT, body TEXT, tags JSON,
                          meta JSON, cover TEXT, published BOOLEAN, created TEXT, updated TEXT);
      CREATE TABLE comments (id TEXT PRIMARY KEY, post TEXT, author TEXT, body TEXT, created TEXT, updated TEXT);
      CREATE INDEX idx_posts_author ON posts(author); CREATE INDEX idx_posts_created ON posts(created);
      CREATE UNIQUE INDEX idx_posts_slug ON posts(slug); CREATE INDEX idx_comments_post ON comments(post);
    """)
    users = [rid(r) for _ in range(max(100, rows // 12))]
    db.executemany("INSERT INTO users VALUES (?,?,?,?,?,?,?,?,?)", [
        (u, "user%d@example.org" % i, "$2a$10$" + "".join(r.choice("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(53)),
         "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(50)),
         "User %d" % i, "", 1, ts(), ts()) for i, u in enumerate(users)])
    posts = []
    for i in range(rows):
        p = rid(r)
        posts.append(p)
        body = "\n\n".join(r.choice(paras) for _ in range(r.randint(2, 8)))
        title = r.choice(paras)[:60]
        db.execute("INSERT INTO posts VALUES (?,?,?,?,?,?,?,?,?,?,?)", (
            p, r.choice(users), title, re.sub(r"[^a-z0-9]+", "-", title.lower())[:50] + "-" + p[:5], body,
            json.dumps(r.sample(["rust", "go", "db", "ops", "backup", "web", "news", "howto"], 3)),
            json.dumps({"words": len(body.split()), "lang": "en", "views": r.randint(0, 99999)}),
            "", r.random() < 0.9, ts(), ts()))
    db.executemany("INSERT INTO comments VALUES (?,?,?,?,?,?)", [
        (rid(r), r.choice(posts), r.choice(users), r.choice(paras)[:400], ts(), ts()) for _ in range(rows * 2)])
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    aux = sqlite3.connect(os.path.join(pb, "auxiliary.db"))
    aux.execute("PRAGMA journal_mode=WAL")
    aux.execute("CREATE TABLE _logs (id TEXT PRIMARY KEY, level INTEGER, message TEXT, data JSON, created TEXT, updated TEXT)")
    aux.executemany("INSERT INTO _logs VALUES (?,?,?,?,?,?)", [
        (rid(r), 0, "GET /api/collections/posts/records", json.dumps({
            "type": "request", "method": "GET", "url": "/api/collections/posts/records?page=%d" % r.randint(1, 500),
            "status": 200, "execTime": r.random() * 20, "remoteIP": "10.0.%d.%d" % (r.randint(0, 255), r.randint(0, 255)),
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"}), ts(), ts())
        for _ in range(rows)])
    aux.commit()
    aux.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    aux.close()
    for side in ("data.db-shm", "data.db-wal", "auxiliary.db-shm", "auxiliary.db-wal"):
        p = os.path.join(pb, side)
        if not os.path.exists(p):
            open(p, "wb").close()
    pngs = [p for root in DOCS for p in glob.glob(root + "/**/*.png", recursive=True)]
    def put(name, data):
        d = os.path.join(pb, "storage", "pbc_2708086759", r.choice(posts))
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, name), "wb").write(data)
    for i, p in enumerate(pngs):
        put("image_%d_%s.png" % (i, rid(r)[:10]), open(p, "rb").read())
    left = photos_mb << 20
    i = 0
    while left > 0:  # camera JPEGs are close to incompressible: random bytes stand in for them
        n = min(left, r.randint(200 << 10, 3 << 20))
        put("photo_%d_%s.jpg" % (i, rid(r)[:10]), b"\xff\xd8\xff\xe0" + os.urandom(n))
        left -= n
        i += 1
    for i in range(200):
        put("notes_%d_%s.md" % (i, rid(r)[:10]), "\n\n".join(r.choice(paras) for _ in range(30)).encode())


def zip_like_pocketbase(pb, out):
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for root, dirs, files in os.walk(pb):
            dirs.sort()
            for f in sorted(files):
                p = os.path.join(root, f)
                z.write(p, os.path.relpath(p, pb))


def cpu_of(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(cmd, check=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=60000)
    ap.add_argument("--photos-mb", type=int, default=20)
    ap.add_argument("--keep", help="keep the scratch directory here")
    ap.add_argument("--levels", default="1,3,6,9,19")
    a = ap.parse_args()
    tmp = a.keep or tempfile.mkdtemp(prefix="pbmeasure-")
    pb, zp = os.path.join(tmp, "pb_data"), os.path.join(tmp, "backup.zip")
    if not os.path.exists(zp):
        build(pb, a.rows, a.photos_mb, random.Random(42))
        zip_like_pocketbase(pb, zp)
    raw = sum(os.path.getsize(os.path.join(r_, f)) for r_, _, fs in os.walk(pb) for f in fs)
    zsize = os.path.getsize(zp)
    print("pb_data %.1f MiB (data.db %.1f MiB, storage %.1f MiB) -> PocketBase zip (Deflate 1) %.1f MiB" % (
        raw / 2**20, os.path.getsize(os.path.join(pb, "data.db")) / 2**20,
        sum(os.path.getsize(os.path.join(r_, f)) for r_, _, fs in os.walk(os.path.join(pb, "storage")) for f in fs) / 2**20,
        zsize / 2**20))
    print("%-7s %-8s %10s %8s %9s %9s %12s" % ("level", "threads", "stored MiB", "vs zip", "wall s", "cpu s", "MiB/s (cpu)"))
    for lvl in [int(x) for x in a.levels.split(",")]:
        for threads in ("1", "0"):
            out = zp + ".zst"
            wall, cpu = cpu_of(["zstd", "-q", "-f", "-%d" % lvl, "-T" + threads, zp, "-o", out])
            s = os.path.getsize(out)
            print("%-7d %-8s %10.2f %7.1f%% %9.2f %9.2f %12.1f" % (
                lvl, "1" if threads == "1" else "auto", s / 2**20, 100.0 * s / zsize, wall, cpu, zsize / 2**20 / max(cpu, 1e-9)))
    if not a.keep:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    sys.exit(main())
