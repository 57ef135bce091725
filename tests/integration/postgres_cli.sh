#!/usr/bin/env bash
# The postgres engine through the CLI against a real PostgreSQL 15 server: backup-now -> list ->
# verify -> restore into a database that does not exist yet -> the same database (pg_dump
# --schema-only identical, every table's rows identical); `snapkeep dump` restores with psql; a
# non-empty target needs --force; DATABASE_URL_FILE works and the URL never shows in the output.
# Skipped (TAP "1..0 # SKIP") while the binary does not know the postgres engine.
. "$(dirname "$0")/../lib.sh"
clean_env
root=$(cd "$(dirname "$0")/../.." && pwd)
if SNAPKEEP_ENGINE=postgres SNAPKEEP_DEST_DIR=$T/x "$SK_BIN" config check 2>&1 | grep -q 'not a known engine'; then
    echo "1..0 # SKIP the postgres engine is not registered in this binary"
    exit 0
fi
chmod 755 "$T"
"$root/tests/servers/pg.sh" start "$T/pg" >/dev/null || { nok "start PostgreSQL"; done_testing; exit 1; }
trap '"$root/tests/servers/pg.sh" stop "$T/pg"; rm -rf "$T"' EXIT
# shellcheck disable=SC1091
. "$T/pg/env"
createdb src && psql -X -q -v ON_ERROR_STOP=1 -d src -f "$root/tests/fixtures/postgres/fixture.sql" >/dev/null 2>&1
check "fixture loaded" test "$(psql -X -At -d src -c 'SELECT count(*) FROM app.customers')" = 3000

# the URL comes from a file (Docker secret style); it carries a marker that must never be printed
marker=marker-$RANDOM$RANDOM
url="postgresql://$PGUSER@127.0.0.1:$PGPORT/src?application_name=$marker"
printf '%s' "$url" >"$T/url"
secret "$marker" "$(cat "$T/pg/password")"
export SNAPKEEP_ENGINE=postgres DATABASE_URL_FILE=$T/url SNAPKEEP_DEST_DIR=$T/dest \
       SNAPKEEP_SERVICE=backend SNAPKEEP_ENVIRONMENT=production SNAPKEEP_PG_EXCLUDE_TABLE_DATA=app.audit
sk backup-now
check "backup-now exits 0" rc_is 0
key=$(grep -o 'snapshots/backend/production/pgsql_src_[0-9]\{8\}-[0-9]\{6\}\.sql\.zst' "$T/err" | head -1)
check "the key names the pgsql tag, the database and .sql.zst" test -n "$key"
check "zstd -t accepts the object" zstd -q -t "$T/dest/$key"
check "the manifest records PostgreSQL 15" grep -q 'PostgreSQL 15' "$T/dest/$key.manifest.json"
check "the URL never shows in the output" bash -c "! grep -q 'marker-' '$T/all-stderr' '$T/out'"

sk verify latest
check "verify latest exits 0" rc_is 0
check "verify reports a complete script" grep -q 'complete' "$T/out"

sk restore latest --to "postgresql://$PGUSER@127.0.0.1:$PGPORT/restored"
check "restore into a database that does not exist yet exits 0" rc_is 0
schema() { pg_dump --schema-only "$1" | grep -v '^\\\(un\)\?restrict '; }
digest() {
    psql -X -At -d "$1" -c "SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(x::text, E''\\n'' ORDER BY
        x::text), '''')) FROM ONLY %s x;', c.oid::regclass::text, c.oid::regclass) FROM pg_class c JOIN pg_namespace n
        ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname !~ '^pg_toast' ORDER BY 1" | psql -X -At -d "$1"
}
check "pg_dump --schema-only of source and restored copy are identical" \
    bash -c "diff <($(declare -f schema); schema src) <($(declare -f schema); schema restored) >/dev/null"
digest src | grep -v '^app.audit|' >"$T/d-src"
digest restored >"$T/d-restored"
check "every table's rows are identical (audit data excluded by the setting)" \
    bash -c "diff '$T/d-src' <(grep -v '^app.audit|' '$T/d-restored') >/dev/null && grep -q '^app.audit|0|' '$T/d-restored'"

sk restore latest --to "postgresql://$PGUSER@127.0.0.1:$PGPORT/restored"
check "restore into a non-empty database without --force is refused (exit 2)" rc_is 2
check "... and says how" err_has -- "--force"
sk restore latest --to "postgresql://$PGUSER@127.0.0.1:$PGPORT/restored" --force
check "with --force it replaces the objects (exit 0)" rc_is 0

"$SK_BIN" dump -o "$T/plain.sql" 2>"$T/err"; rc=$?
check "snapkeep dump exits 0" rc_is 0
createdb viapsql
check "its script restores with psql -v ON_ERROR_STOP=1" bash -c "psql -X -q -v ON_ERROR_STOP=1 -d viapsql -f '$T/plain.sql' >/dev/null 2>&1"
done_testing
