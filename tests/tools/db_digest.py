#!/usr/bin/env python3
"""Print a content digest of an SQLite database: one line per table (name, row count, SHA-256 of all
rows sorted), plus user_version and a digest of the schema. Two databases with equal output hold the
same data. Usage: db_digest.py FILE"""
import hashlib
import sqlite3
import sys

db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
db.text_factory = bytes
tables = [r[0].decode() for r in db.execute(
    "SELECT name FROM sqlite_schema WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
if not tables and not db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]:
    sys.exit("no schema at all: not the database we expected")
for t in tables:
    q = '"' + t.replace('"', '""') + '"'
    rows = sorted(repr(r) for r in db.execute(f"SELECT * FROM {q}"))
    print(t, len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
schema = sorted(repr(r) for r in db.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema"))
print("schema", hashlib.sha256("\n".join(schema).encode()).hexdigest())
print("user_version", db.execute("PRAGMA user_version").fetchone()[0])
