#!/usr/bin/env bash
# Several databases of one server in one job (SNAPKEEP_PG_DATABASES: one artifact each) and the
# roles artifact (SNAPKEEP_PG_GLOBALS), through the CLI against a real PostgreSQL 15 server.
. "$(dirname "$0")/../lib.sh"
clean_env
root=$(cd "$(dirname "$0")/../.." && pwd)
chmod 755 "$T"
"$root/tests/servers/pg.sh" start "$T/pg" >/dev/null || { nok "start PostgreSQL"; done_testing; exit 1; }
trap '"$root/tests/servers/pg.sh" stop "$T/pg"; rm -rf "$T"' EXIT
# shellcheck disable=SC1091
. "$T/pg/env"
createdb shop && createdb blog
psql -X -q -v ON_ERROR_STOP=1 -d shop -c "CREATE TABLE orders(id serial PRIMARY KEY, total numeric);
  INSERT INTO orders(total) SELECT g * 1.5 FROM generate_series(1, 500) g;" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d blog -c "CREATE TABLE posts(id int PRIMARY KEY, title text);
  INSERT INTO posts SELECT g, 'post ' || g FROM generate_series(1, 300) g;" >/dev/null
secret 'rep-s3cret-pw' "$(cat "$T/pg/password")"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE ROLE reporter LOGIN CONNECTION LIMIT 7 PASSWORD 'rep-s3cret-pw';
  COMMENT ON ROLE reporter IS 'read-only reports';" >/dev/null
export SNAPKEEP_ENGINE=postgres DATABASE_URL="postgresql://$PGUSER@127.0.0.1:$PGPORT/postgres" \
       SNAPKEEP_DEST_DIR=$T/dest SNAPKEEP_SERVICE=db SNAPKEEP_PG_DATABASES="shop, blog" SNAPKEEP_PG_GLOBALS=true
dir=$T/dest/snapshots/db/default

sk backup-now
check "backup-now of two databases and the roles exits 0" rc_is 0
check "one artifact per database and one for the roles" bash -c "
  ls '$dir' | grep -q '^pgsql_shop_[0-9-]*\.sql\.zst\.manifest\.json$' &&
  ls '$dir' | grep -q '^pgsql_blog_[0-9-]*\.sql\.zst\.manifest\.json$' &&
  ls '$dir' | grep -q '^pgsql_globals_[0-9-]*\.sql\.zst\.manifest\.json$' && [ \$(ls '$dir' | grep -c '\.zst$') -eq 3 ]"
check "the shop artifact holds shop's rows, not blog's" bash -c "
  zstd -q -d -c '$dir'/pgsql_shop_*.sql.zst | grep -q 'COPY public.orders' &&
  ! zstd -q -d -c '$dir'/pgsql_shop_*.sql.zst | grep -q 'posts'"
check "the roles artifact creates the role, and no database's data" bash -c "
  zstd -q -d -c '$dir'/pgsql_globals_*.sql.zst | grep -q 'reporter' &&
  ! zstd -q -d -c '$dir'/pgsql_globals_*.sql.zst | grep -q 'COPY '"

sk list
check "list without --job names the databases to choose from (exit 2)" bash -c "[ $rc -eq 2 ] && grep -q 'shop, blog, globals' '$T/err'"
sk list --job blog
check "list --job blog shows blog's backup only" bash -c "[ $rc -eq 0 ] && grep -q pgsql_blog_ '$T/out' && ! grep -q pgsql_shop_ '$T/out'"
sk verify latest --job globals
check "verify of the roles artifact exits 0" rc_is 0

sk restore latest --job blog --to "postgresql://$PGUSER@127.0.0.1:$PGPORT/blog_copy"
check "restore --job blog into a new database exits 0" rc_is 0
check "blog_copy has blog's rows" test "$(psql -X -At -d blog_copy -c 'SELECT count(*), sum(id) FROM posts')" = "300|45150"
sk restore latest --job shop --to "postgresql://$PGUSER@127.0.0.1:$PGPORT/shop_copy"
check "shop_copy has shop's rows" test "$(psql -X -At -d shop_copy -c 'SELECT count(*), sum(total) FROM orders')" = "500|187875.0"

# the roles script brings a dropped role back with its attributes and comment
before=$(psql -X -At -d postgres -c "SELECT rolcanlogin, rolconnlimit, rolpassword FROM pg_authid WHERE rolname = 'reporter'")
psql -X -q -d postgres -c "DROP ROLE reporter" >/dev/null
sk restore latest --job globals --to "postgresql://$PGUSER@127.0.0.1:$PGPORT/postgres"
check "restore of the roles artifact exits 0" rc_is 0
check "the dropped role is back with its login, limit and password hash" \
  test "$(psql -X -At -d postgres -c "SELECT rolcanlogin, rolconnlimit, rolpassword FROM pg_authid WHERE rolname = 'reporter'")" = "$before"
check "... and its comment" test "$(psql -X -At -d postgres -c "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = 'reporter'")" = "read-only reports"
check "no output ever showed the role's password" bash -c "! grep -q 'rep-s3cret-pw' '$T/all-stderr' '$T/out'"

# without SNAPKEEP_PG_DATABASES, GLOBALS adds the roles beside the URL's database
SNAPKEEP_PG_DATABASES= DATABASE_URL="postgresql://$PGUSER@127.0.0.1:$PGPORT/shop" SNAPKEEP_SERVICE=one sk backup-now
check "URL's database + roles: exit 0, two artifacts" bash -c "[ $rc -eq 0 ] &&
  [ \$(ls '$T/dest/snapshots/one/default/' | grep -c '\.zst$') -eq 2 ] && ls '$T/dest/snapshots/one/default/' | grep -q '^pgsql_shop_'"
SNAPKEEP_PG_DATABASES="shop,no such db" sk backup-now
check "a database name that is not a valid key part is refused (exit 3, naming the variable)" \
  bash -c "[ $rc -eq 3 ] && grep -q 'SNAPKEEP_PG_DATABASES' '$T/err'"
done_testing
