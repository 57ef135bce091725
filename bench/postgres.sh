#!/usr/bin/env bash
# bench/postgres.sh: `snapkeep backup-now` (the whole CLI, configured by environment, to a local
# directory) against `pg_dump --clean --if-exists | zstd -3 -T0 > f`, and `snapkeep restore` against
# `zstd -dc f | psql`, alternating A B A B (bench/lib.sh), on two databases the bench generates with
# a fixed seed on a throw-away PostgreSQL 15 (tests/servers/pg.sh):
#   pgbench   pgbench -i at scale 50 × BENCH_SCALE (about 755 MB at scale 50)
#   realistic about 700 MB × BENCH_SCALE: customers, products, orders (text, numeric, jsonb,
#             timestamptz), order items and an event log (jsonb), with primary keys and indexes
# Restore is measured on the realistic database (into a freshly created database each run).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. bench/lib.sh
command -v pgbench >/dev/null || { echo "pgbench missing (postgresql-client-15)" >&2; exit 1; }
command -v zstd >/dev/null || { echo "zstd missing" >&2; exit 1; }
make -s all >/dev/null
bench_init postgres
trap 'tests/servers/pg.sh stop "$BW/pg" >/dev/null 2>&1 || true; [ "${BENCH_KEEP:-}" = 1 ] || rm -rf "$BW"' EXIT
tests/servers/pg.sh start "$BW/pg"
# shellcheck disable=SC1091
. "$BW/pg/env"
export PGPASSFILE

pgb_scale=$(scaled 50)
createdb pgbench
pgbench -q -i -s "$pgb_scale" pgbench >/dev/null 2>&1

# The realistic database: row counts are for BENCH_SCALE=1 (about 700 MB with indexes).
k() { scaled "$1"; }
createdb realistic
psql -X -q -v ON_ERROR_STOP=1 -d realistic <<SQL >/dev/null
SELECT setseed(0.42);
CREATE TABLE words AS SELECT string_to_array(
 'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo
  sierra tango uniform victor whiskey xray yankee zulu amber basil cedar dune ember fjord garnet harbor iris jade
  kestrel lagoon meadow nectar orchid pepper quartz raven saffron thistle umber violet willow yarrow zephyr
  invoice delivery refund coupon parcel express standard priority warehouse courier returned damaged signed
  gift wrap morning evening weekend office home leave door neighbour reception call before arrival fragile',
  ' ') AS w;
CREATE FUNCTION phrase(n int) RETURNS text LANGUAGE sql VOLATILE AS
  \$\$ SELECT string_agg(w[1 + floor(random() * cardinality(w))::int], ' ') FROM words, generate_series(1, n) \$\$;
CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL, city text,
  created_at timestamptz NOT NULL, credit numeric(12,2), vip boolean);
INSERT INTO customers SELECT g, initcap(phrase(2)), 'user' || g || '.' || substr(md5(random()::text), 1, 6) || '@example.org',
  initcap(phrase(1)), timestamptz '2019-01-01' + random() * interval '6 years', round((random() * 5000)::numeric, 2),
  random() < 0.05 FROM generate_series(1, $(k 150000)) g;
CREATE UNIQUE INDEX ON customers (email);
CREATE TABLE products (id int PRIMARY KEY, sku text UNIQUE, title text, price numeric(10,2), attrs jsonb);
INSERT INTO products SELECT g, 'SKU-' || lpad(g::text, 7, '0'), initcap(phrase(4)), round((1 + random() * 300)::numeric, 2),
  jsonb_build_object('color', phrase(1), 'weight_g', floor(random() * 5000), 'tags', to_jsonb(string_to_array(phrase(3), ' ')))
  FROM generate_series(1, $(k 20000)) g;
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers, status text NOT NULL,
  created_at timestamptz NOT NULL, shipped_at timestamptz, total numeric(12,2) NOT NULL, currency char(3),
  shipping jsonb, note text);
INSERT INTO orders SELECT g, 1 + floor(random() * $(k 150000))::bigint,
  (ARRAY['new','paid','shipped','delivered','cancelled','refunded'])[1 + floor(random() * 6)::int],
  timestamptz '2020-01-01' + random() * interval '5 years', CASE WHEN random() < 0.8 THEN now() - random() * interval '4 years' END,
  round((5 + random() * 900)::numeric, 2), (ARRAY['EUR','USD','GBP'])[1 + floor(random() * 3)::int],
  jsonb_build_object('street', floor(random() * 400) || ' ' || initcap(phrase(2)), 'zip', lpad(floor(random() * 99999)::text, 5, '0'),
    'carrier', phrase(1), 'tracking', md5(random()::text)),
  CASE WHEN random() < 0.6 THEN phrase(3 + (g % 12)::int) END
  FROM generate_series(1, $(k 1000000)) g;
CREATE INDEX ON orders (customer_id);
CREATE INDEX ON orders (created_at);
CREATE TABLE order_items (order_id bigint NOT NULL, line int NOT NULL, product_id int NOT NULL, qty int NOT NULL,
  unit_price numeric(10,2) NOT NULL, PRIMARY KEY (order_id, line));
INSERT INTO order_items SELECT o, l, 1 + floor(random() * $(k 20000))::int, 1 + floor(random() * 5)::int,
  round((1 + random() * 300)::numeric, 2) FROM generate_series(1, $(k 1000000)) o, generate_series(1, 3) l;
CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz NOT NULL, kind text NOT NULL, payload jsonb);
INSERT INTO events (at, kind, payload) SELECT timestamptz '2024-01-01' + g * interval '7 seconds',
  (ARRAY['login','view','cart','checkout','search'])[1 + floor(random() * 5)::int],
  jsonb_build_object('session', md5(random()::text), 'ip', '10.' || floor(random() * 255) || '.' || floor(random() * 255) || '.1',
    'query', phrase(2), 'ms', floor(random() * 900)) FROM generate_series(1, $(k 400000)) g;
CREATE INDEX ON events (at);
DROP FUNCTION phrase(int);
DROP TABLE words;
VACUUM ANALYZE;
SQL
for db in pgbench realistic; do
    echo "# database $db: $(psql -X -At -d "$db" -c "SELECT pg_size_pretty(pg_database_size('$db'))")"
done

# The server's CPU per run (its processes' and reaped backends' user + system time, read after the
# run's backends have exited), printed beside each side's figures: both sides share the two cores
# with it, so it bounds what either can reach.
pm=$(head -n 1 "$BW/pg/data/postmaster.pid")
tck=$(getconf CLK_TCK)
server_cpu() { awk -v t="$tck" '{ printf "%.2f", ($14 + $15 + $16 + $17) / t }' "/proc/$pm/stat"; }
export BENCH_EXTRA_LABEL="server CPU s min/med/max"
cpu_mark() { sleep 0.3; server_cpu >"$BW/.cpu0"; }
cpu_take() { sleep 0.3; awk -v a="$(cat "$BW/.cpu0")" -v b="$(server_cpu)" 'BEGIN { printf "%.2f\n", b - a }' >"$BENCH_EXTRA"; }
bench_post() { cpu_take; }

url() { echo "postgresql://$PGUSER@127.0.0.1:$PGPORT/$1"; }
sk_env="SNAPKEEP_ENGINE=postgres SNAPKEEP_DEST_DIR=$BW/dest SNAPKEEP_SERVICE=bench SNAPKEEP_ENVIRONMENT=bench"
bench_prep() { rm -rf "$BW/dest" "$BW"/ref.sql.zst; mkdir -p "$BW/dest"; cpu_mark; }

for db in pgbench realistic; do
    bench_pair "PostgreSQL backup, $db database, to a local directory" \
        "snapkeep backup-now" "env $sk_env DATABASE_URL=$(url "$db") bin/snapkeep backup-now" \
        "pg_dump --clean --if-exists | zstd -3 -T0" \
        "set -o pipefail; pg_dump --clean --if-exists '$db' | zstd -q -3 -T0 > '$BW/ref.sql.zst'"
done

# restore: one backup of the realistic database by each tool, restored into a fresh database
bench_prep A
env $sk_env DATABASE_URL="$(url realistic)" bin/snapkeep backup-now 2>/dev/null
pg_dump --clean --if-exists realistic | zstd -q -3 -T0 >"$BW/restore.sql.zst"
bench_prep() { dropdb --if-exists target; createdb target; cpu_mark; }
bench_pair "PostgreSQL restore of the realistic database" \
    "snapkeep restore latest" "env $sk_env DATABASE_URL=$(url realistic) bin/snapkeep restore latest --to $(url target) --force" \
    "zstd -dc | psql" "set -o pipefail; zstd -q -dc '$BW/restore.sql.zst' | psql -X -q -v ON_ERROR_STOP=1 -d target >/dev/null"
