#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<harness>/ from the test fixtures and the formats'
documented examples (run once; the output is kept in the repository). Each seed is laid out as its
harness reads its input (see the harness's top comment). Regression inputs (crash-*, found by
fuzzing) are kept beside the seeds and are not touched here."""
import io, os, struct, sys, zipfile

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
corpus = os.path.join(here, "corpus")


def put(harness, name, data):
    d = os.path.join(corpus, harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# cron: zone byte, flags byte, 8 bytes start (little-endian), then expr \n posix \n local time
exprs = ["0 3 * * *", "*/15 * * * *", "30 2 * * *", "0 0,6,9,12,15,18,21 * * *", "0 0 13 * fri",
         "@daily", "@hourly", "0 0 29 2 *", "5-55/10 1-5 1,15 jan-jun mon-fri", "0 12 * * 1/2",
         "*/5 */2 */3 */4 */2", "0 0 30 2 *", "59 23 31 12 7", "@weekly", "0 2 * * sun-sat"]
posix = ["CET-1CEST,M3.5.0,M10.5.0/3", "EST5EDT", "<+0330>-3:30", "NZST-12NZDT,M9.5.0,M4.1.0/3",
         "AEST-10AEDT,M10.1.0,M4.1.0/3", "IST-1GMT0,M10.5.0,M3.5.0/1", "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1"]
times = ["2026-03-29T02:30", "2026-10-25T02:30:00", "2026-03-29 03:00", "2026-05-10T05:59:59Z",
         "2026-05-10T06:00+02:00", "0001-01-01T00:00Z", "9999-12-31T23:59:59Z", "2024-02-29"]
starts = [1774659600, 1792890000, 1778392799, 0, -62135596800, 253402300000 - 86400 * 3700]
for i, e in enumerate(exprs):
    zone = i % 17  # 15 file zones, then the POSIX string (zone % 16 == 15)
    start = starts[i % len(starts)]
    flags = 1 if start < -2**31 or start > 2**31 else 0
    raw = (start - (-62135596800)) if flags else (start - 1767225600) & 0xFFFFFFFF
    if zone == 15 or i % 4 == 0:
        zone = 15
    put("cron", f"{i:02d}", bytes([zone, flags]) + struct.pack("<Q", raw) +
        f"{e}\n{posix[i % len(posix)]}\n{times[i % len(times)]}".encode())

# tzif: real zone files of various shapes (v2+ with footer, negative DST, 30-min DST, no DST)
for z in ["Europe/Berlin", "Etc/UTC", "Australia/Lord_Howe", "Africa/Casablanca", "Asia/Kathmandu",
          "America/Sao_Paulo", "Europe/Dublin", "Pacific/Apia"]:
    p = os.path.join("/usr/share/zoneinfo", z)
    if os.path.exists(p):
        put("tzif", z.replace("/", "_"), open(p, "rb").read())

# config_file: the documented example and the integration test's files
put("config_file", "doc", """defaults = { dest_dir = "/backups"; retention_days = 30; };
jobs = (
  { name = "app"; engine = "sqlite"; sqlite_path = "/data/app.db"; schedule = "0 * * * *"; },
  { name = "pb";  engine = "pocketbase"; pocketbase_url = "http://pb:8090"; pocketbase_admin_email = "a@b.c"; }
);
""")
put("config_file", "agent", """defaults = { dest_dir = "/tmp/cdest"; retention_days = 30; webhook_url = "http://127.0.0.1:1/x?t=conf-s3cr3t"; };
jobs = (
  { name = "one"; engine = "sqlite"; sqlite_path = "/tmp/app.db"; schedule = "0 3 * * *"; },
  { name = "two"; engine = "sqlite"; sqlite_path = "/tmp/big.db"; service = "svc2"; compression_level = 1; }
);
""")
put("config_file", "postgres", """defaults = { s3_bucket = "b"; s3_endpoint = "https://x.r2.cloudflarestorage.com"; s3_region = "auto"; };
jobs = (
  { name = "pg"; engine = "postgres"; pg_databases = "app, shop ,crm"; pg_globals = true; },
  { name = "one"; engine = "postgres"; pg_globals = true; lock_wait = 60; keep_min = 3; }
);
""")
put("config_file", "types", """jobs = ( { name = "x"; engine = "sqlite"; sqlite_path = "/d.db"; compression_level = 5L; run_at_start = false; jitter = 1.5; s3_allow_http = true; } );
""")

# env: setting index byte, flags byte, value (an index picks a setting of sk_all_settings())
vals = ["3", "auto", "0", "86400", "-1", "+5", " 7", "true", "FALSE", "yes", "off", "sqlite", "snapshots/a/b",
        "https://abc.r2.cloudflarestorage.com", "http://127.0.0.1:7480", "https://user@host/", "http://pb:8090/",
        "pb_%Y%m%d_%H%M%S", "snapkeep-%s", "%c", "text", "json", "a..b", ".hidden", "x/"]
for i, v in enumerate(vals):
    put("env", f"{i:02d}", bytes([i * 7 % 256, i % 4]) + v.encode())

# manifest: what snapkeep writes, and a variant with facts
m = """{
  "manifest_version": 1,
  "tool": "snapkeep",
  "tool_version": "0.1.0",
  "engine": "sqlite",
  "tag": "sqlite",
  "database": "app",
  "service": "default",
  "environment": "default",
  "key": "snapshots/default/default/sqlite_app_20261204-120000.sqlite3.zst",
  "source": {
    "server_version": "3.40.1",
    "facts": {"page_size": 4096, "tables": ["a", "b"], "wal": true}
  },
  "started_at": "2026-12-04T12:00:00Z",
  "finished_at": "2026-12-04T12:00:05Z",
  "plain": {
    "size": 12288,
    "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
  },
  "stored": {
    "size": 512,
    "md5": "d41d8cd98f00b204e9800998ecf8427e",
    "compression": "zstd",
    "compression_level": 3
  }
}
"""
put("manifest", "sqlite", m)
put("manifest", "postgres", m.replace('"sqlite"', '"postgres"').replace('"3.40.1"', '"15.8"'))

# md5: base name, NUL, sidecar text
put("md5", "text", b"sqlite_app_20261204-120000.sqlite3.zst\0d41d8cd98f00b204e9800998ecf8427e  sqlite_app_20261204-120000.sqlite3.zst\n")
put("md5", "binary", b"x.zst\0D41D8CD98F00B204E9800998ECF8427E *x.zst\r\n")

# key: tag NUL db NUL ext NUL key
put("key", "plain", b"sqlite\0app\0sqlite3\0snapshots/default/default/sqlite_app_20261204-120000.sqlite3.zst")
put("key", "underscore", b"pg\0app_db\0sql\0p/s/e/pg_app_db_20240229-235959.sql.zst")
put("key", "bare", b"pb\0data\0zip\0pb_data_19700101-000000.zip.zst")

# pg_script: chunking seed byte, then script pieces from the fixture and the scanner's unit test
fx = open(os.path.join(root, "tests/fixtures/postgres/fixture.sql"), "rb").read()
parts, cur = [], b""
for line in fx.splitlines(keepends=True):
    if len(cur) + len(line) > 2000 and cur:
        parts.append(cur)
        cur = b""
    cur += line
parts.append(cur)
for i, p in enumerate(parts[:10]):
    put("pg_script", f"fixture{i:02d}", bytes([i * 37 % 256]) + p)
put("pg_script", "copy", b"\x05COPY public.t (a, b) FROM stdin;\n1\tx\n2\t\\N\n\\.\nSELECT 1;\n")
put("pg_script", "quotes", b"\x09SELECT E'a\\'b', 'c''d', \"q\"\"x\", $f$ ; $f$, $1;\n/* a /* nested */ ; */ -- c ;\nSELECT 2\n")
put("pg_script", "routine", b"\x11CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 1 END; END;\nCREATE RULE r AS ON INSERT TO t DO (INSERT INTO u VALUES (1); INSERT INTO v VALUES (2));\n")

# pb_zip: size hint (2 bytes), chunk seed byte, zip bytes: real zips made with Python's zipfile


def mkzip(entries, zip64=False):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries:
            with z.open(name, "w", force_zip64=zip64) as f:
                f.write(data)
    return b.getvalue()


pb = [("data.db", b"SQLite format 3\0" + b"\0" * 84), ("data.db-wal", b""), ("storage/", b""),
      ("storage/col/rec/file.txt", b"hello"), ("auxiliary.db", b"x")]
put("pb_zip", "plain", b"\x00\x00\x01" + mkzip(pb))
put("pb_zip", "small_ring", b"\x40\x00\x07" + mkzip(pb))
put("pb_zip", "zip64", b"\x00\x00\x03" + mkzip(pb[:2], zip64=True))
put("pb_zip", "no_data_db", b"\x00\x01\x05" + mkzip(pb[2:]))

# pb_json: status (2 bytes little-endian), reply body (shapes of PocketBase's replies)
for i, (st, body) in enumerate([
        (200, '{"token":"eyJhbGciOiJIUzI1NiJ9.e30.x","record":{"id":"abc","email":"a@b.c"}}'),
        (400, '{"code":400,"message":"Failed to authenticate.","data":{}}'),
        (400, '{"data":{"name":{"code":"validation_invalid_name","message":"The backup file name is invalid or already exists."}},"message":"Failed to create backup.","status":400}'),
        (200, '{"message":"API is healthy.","code":200,"data":{"canBackup":true}}'),
        (200, '[{"key":"pb_20261204.zip","size":12345,"modified":"2026-12-04 12:00:00.000Z"}]'),
        (200, '{"token":"file-token"}'),
        (503, 'Service Unavailable\r\n'),
        (0, '')]):
    put("pb_json", f"{i:02d}", struct.pack("<H", st) + body.encode())

# pb_backups: flags byte (bit 0: not 200, bit 1: body cut), the backup name, newline, the reply
# (the list as PocketBase sends it, its ?fields= form, and health replies)
pbname = "snapkeep_app_20261204-120000.zip"
for i, (fl, body) in enumerate([
        (0, '[{"key":"pb_backup_20261203.zip","modified":"2026-12-03 02:00:00.000Z","size":2048},'
            '{"key":"' + pbname + '","modified":"2026-12-04 12:00:01.123Z","size":1234567}]'),
        (0, '[{"key":"' + pbname + '","size":0},{"key":"' + pbname + '","size":9}]'),
        (0, '[]'),
        (2, '[{"key":"' + pbname + '","size":1'),
        (0, '{"message":"API is healthy.","code":200,"data":{"canBackup":false}}'),
        (0, '{"message":"API is healthy.","code":200,"data":{"canBackup":true,"realIP":"127.0.0.1"}}'),
        (1, '{"code":401,"message":"The request requires valid record authorization token.","data":{}}')]):
    put("pb_backups", f"{i:02d}", bytes([fl]) + (pbname + "\n" + body).encode())

# pb_collections: flags byte (bit 0: not 200, bit 1: body cut, bit 2: skip views, bit 3: stop after
# flags >> 4 names), then the reply: the collection list and records lists as the repository's
# PocketBase-compatible server (tests/servers/pocketbase_fake.py, v0.39.11 and the legacy v0.22 API)
# sends them for the engine's queries, and the documented shapes a real server may add (views,
# further pages, long or escaped names, error replies)
pb_real = [
    ('coll-0.22.0', '{"page":1,"perPage":500,"totalItems":2,"totalPages":1,"items":[{"name":"users","system":false,"type":"auth"},{"name":"posts","system":false,"type":"base"}]}\n'),
    ('coll-0.39.11', '{"items":[{"name":"_superusers","system":true,"type":"auth"},{"name":"users","system":false,"type":"auth"},{"name":"posts","system":false,"type":"base"}],"page":1,"perPage":500,"totalItems":3,"totalPages":1}\n'),
    ('noauth-0.22.0', '{"code":403,"message":"Only admins can perform this action.","data":{}}\n'),
    ('noauth-0.39.11', '{"data":{},"message":"Only superusers can perform this action.","status":403}\n'),
    ('nope-0.22.0', '{"code":404,"message":"The requested resource wasn\'t found.","data":{}}\n'),
    ('nope-0.39.11', '{"data":{},"message":"Missing collection context.","status":404}\n'),
    ('posts-0.22.0', '{"page":1,"perPage":1,"totalItems":10,"totalPages":10,"items":[{"id":"26g5niuhbyokuxv"}]}\n'),
    ('posts-0.39.11', '{"items":[{"id":"97y1ixtm0o13vfe"}],"page":1,"perPage":1,"totalItems":10,"totalPages":10}\n'),
]
for i, (what, body) in enumerate(pb_real):
    put("pb_collections", f"{i:02d}-{what}", bytes([0]) + body.encode())
for i, (fl, body) in enumerate([
        (4, '{"items":[{"name":"posts","system":false,"type":"base"},{"name":"post_stats","system":false,'
            '"type":"view"},{"name":"_mfas","system":true,"type":"base"}],"page":1,"perPage":500,"totalItems":3,'
            '"totalPages":1}'),
        (0, '{"items":[{"name":"a","system":false,"type":"base"}],"page":1,"perPage":500,"totalItems":501,'
            '"totalPages":2}'),
        (0, '{"items":[{"system":false,"type":"base"},{"name":"b"}],"totalPages":1}'),
        (0, '{"items":[{"name":"' + "n" * 255 + '","system":false,"type":"base"},{"name":"a b/c%d\\u00e9"}]}'),
        (0, '{"items":[{"name":"x\\u0000y"}]}'),
        (0, '{"items":[{"name":"' + "\\u00e9" * 200 + '","system":false,"type":"base"}],"totalPages":1}'),
        (0, '{"page":1,"perPage":1,"totalItems":-5,"totalPages":0,"items":[]}'),
        (0, '{"page":1,"perPage":1,"totalItems":9223372036854775807,"items":[]}'),
        (0, '{"page":1,"perPage":1,"totalItems":3.0,"items":[]}'),
        (0x38, '{"items":[{"name":"a"},{"name":"b"},{"name":"c"},{"name":"d"},{"name":"e"}],"totalPages":1}'),
        (2, '{"items":[{"name":"posts","system":false,"type":"base"}'),
        (1, '{"data":{},"message":"The request requires valid record authorization token.","status":401}')]):
    put("pb_collections", f"doc-{i:02d}", bytes([fl]) + body.encode())

# http_headers: header blocks as S3 servers and PocketBase send them
put("http_headers", "s3", "HTTP/1.1 200 OK\r\nETag: \"d41d8cd98f00b204e9800998ecf8427e\"\r\nLast-Modified: Fri, 04 Dec 2026 12:00:00 GMT\r\nx-amz-request-id: tx000001\r\nContent-Length: 512\r\n\r\n")
put("http_headers", "continue", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 206 Partial Content\r\nContent-Range: bytes 100-199/1000\r\nContent-Length: 100\r\n\r\n")
put("http_headers", "star", "HTTP/2 416\r\ncontent-range: bytes 0-0/*\r\ncontent-length: 0\r\n")
# s3_xml: replies as S3 servers (AWS, R2, Ceph RGW) send them
x = '<?xml version="1.0" encoding="UTF-8"?>\n'
put("s3_xml", "list", x + '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>'
    '<Prefix>snapshots/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>'
    '<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>'
    '<Contents><Key>snapshots/a/b/sqlite_app_20261204-120000.sqlite3.zst</Key>'
    '<LastModified>2026-11-21T15:30:00.000Z</LastModified><ETag>&quot;x&quot;</ETag><Size>434234</Size>'
    '<Owner><ID>o</ID></Owner><StorageClass>STANDARD</StorageClass></Contents>'
    '<Contents><Key>k &amp; &lt;&#x41;&gt;</Key><Size>0</Size><LastModified>garbage</LastModified></Contents>'
    '</ListBucketResult>')
put("s3_xml", "initiate", x + '<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    '<Bucket>b</Bucket><Key>k</Key><UploadId>2~abcDEF-123</UploadId></InitiateMultipartUploadResult>')
put("s3_xml", "complete", x + '<CompleteMultipartUploadResult><Location>http://h/b/k</Location><Bucket>b</Bucket>'
    '<Key>k</Key><ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag></CompleteMultipartUploadResult>')
put("s3_xml", "error", x + '<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated '
    'does not match.</Message><RequestId>tx0001</RequestId><HostId>h</HostId></Error>')
put("s3_xml", "delete", x + '<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Error><Key>a</Key>'
    '<Code>AccessDenied</Code><Message>Access Denied</Message></Error><Deleted><Key>b</Key></Deleted></DeleteResult>')
put("s3_xml", "prefixed", '<s3:Error xmlns:s3="urn:x"><s3:Code>NoSuchKey</s3:Code><s3:Message>m</s3:Message></s3:Error>')
put("s3_xml", "doctype", '<!DOCTYPE x [<!ENTITY a "aaaa">]><Error><Code>&a;</Code></Error>')
# age: the header (and first payload bytes) of the C2SP/CCTV vectors in tests/fixtures/age (mode 0),
# the keys they name (modes 2 and 3); payloads are cut to keep the corpus small
agedir = os.path.join(root, "tests/fixtures/age")
if os.path.isdir(agedir):
    for name in sorted(os.listdir(agedir)):
        if name == "README.md" or name.startswith("stream_2"):
            continue
        raw = open(os.path.join(agedir, name), "rb").read()
        meta, sep, body = raw.partition(b"\n\n")
        if not sep:
            continue
        put("age", name, b"\x00" + body[:1024])
        for line in meta.splitlines():
            if line.startswith(b"identity: "):
                put("age", "identity", b"\x03# created: 2026-12-04\n# public key: x\n" + line[10:] + b"\n")
    put("age", "recipients", b"\x02age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj # a\n"
        b"age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg,\n")
print("seeds written under", corpus)
