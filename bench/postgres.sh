#!/usr/bin/env bash
# bench/postgres.sh: the postgres engine's dump vs `pg_dump | zstd -3 -T0`, and vs the raw speed
# limit (COPY ... TO STDOUT of every table into /dev/null), on pgbench databases.
#   PG_BENCH_SCALES="10 50" (default) — one pgbench database per scale.
# Prints, per scale: wall time and peak RSS of each, and the ratios snapkeep / pg_dump|zstd.
# The snapkeep side runs the product's writer chain (sha256 -> zstd level 3 with one worker per
# core -> md5 -> file) in bench/postgres_dump.c, built against build/release/libsnapkeep.a.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scales=${PG_BENCH_SCALES:-10 50}
command -v pgbench >/dev/null || { echo "pgbench missing (postgresql-client-15)" >&2; exit 1; }
command -v zstd >/dev/null || { echo "zstd missing" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing (Debian package 'time')" >&2; exit 1; }

make -s all >/dev/null
W=$(mktemp -d /tmp/snapkeep-pgbench-XXXXXX)
chmod 755 "$W"
cleanup() { tests/servers/pg.sh stop "$W/pg" || true; rm -rf "$W"; }
trap cleanup EXIT
cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 $(pkg-config --cflags libpq) bench/postgres_dump.c \
    build/release/libsnapkeep.a $(make -s print-libs) -o "$W/postgres_dump"

t0=$(date +%s.%N)
tests/servers/pg.sh start "$W/pg"
echo "server start: $(echo "$(date +%s.%N) - $t0" | bc) s"
# shellcheck disable=SC1091
. "$W/pg/env"

# run CMD... under /usr/bin/time; sets $wall (s) and $rss (KiB, the largest process)
measure() {
    /usr/bin/time -f '%e %M' -o "$W/time" "$@"
    read -r wall rss <"$W/time"
}

printf '\n%-6s %-22s %10s %12s %14s\n' scale what wall_s peak_rss_KiB output_bytes
for s in $scales; do
    db=bench_$s
    createdb "$db"
    pgbench -q -i -s "$s" "$db" >/dev/null 2>&1
    psql -X -q -d "$db" -c 'VACUUM ANALYZE' >/dev/null
    export PGDATABASE=$db

    # raw limit: every table's COPY TO STDOUT into /dev/null, one session
    tables=$(psql -X -At -c "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public'")
    : >"$W/copy.sql"
    for t in $tables; do echo "COPY $t TO STDOUT;" >>"$W/copy.sql"; done
    measure sh -c "psql -X -q -f '$W/copy.sql' >/dev/null"
    raw_wall=$wall
    printf '%-6s %-22s %10s %12s %14s\n' "$s" "COPY to /dev/null" "$wall" "$rss" -

    measure sh -c "pg_dump '$db' | zstd -q -3 -T0 > '$W/pgdump.sql.zst'"
    pd_wall=$wall pd_rss=$rss
    printf '%-6s %-22s %10s %12s %14s\n' "$s" "pg_dump | zstd -3 -T0" "$wall" "$rss" "$(stat -c %s "$W/pgdump.sql.zst")"

    measure "$W/postgres_dump" "$W/snapkeep.sql.zst" 3 >"$W/sk.out"
    sk_wall=$wall sk_rss=$rss
    printf '%-6s %-22s %10s %12s %14s\n' "$s" "snapkeep dump" "$wall" "$rss" "$(stat -c %s "$W/snapkeep.sql.zst")"
    printf '%-6s %-22s %10s %12s\n' "$s" "ratio snapkeep/pg_dump" \
        "$(echo "scale=2; $sk_wall / $pd_wall" | bc)" "$(echo "scale=2; $sk_rss / $pd_rss" | bc)"
    printf '%-6s %-22s %10s\n' "$s" "ratio snapkeep/raw" "$(echo "scale=2; $sk_wall / $raw_wall" | bc)"
    # the artifact is a real dump: decompresses and holds every account row
    n=$(zstd -q -dc "$W/snapkeep.sql.zst" | awk '/^COPY public.pgbench_accounts /{on=1; next} on && /^\\\.$/{on=0} on{c++} END{print c+0}')
    [ "$n" -eq $((s * 100000)) ] || { echo "snapkeep dump holds $n account rows, expected $((s * 100000))" >&2; exit 1; }
    rm -f "$W"/*.zst
    dropdb "$db"
done
