#!/usr/bin/env bash
# The PocketBase-compatible test server's own tests (it must reject what PocketBase rejects).
exec python3 "$(dirname "$0")/../servers/test_pocketbase_fake.py" --tap
