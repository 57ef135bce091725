/*
 * Round trip of the postgres engine against a real PostgreSQL 15 server started here
 * (tests/servers/pg.sh; PG_MAJOR picks another major, see main()): load
 * tests/fixtures/postgres/fixture.sql, dump it with the engine, restore
 * the script into empty databases with the engine's restore sink and with psql, and require
 *   - `pg_dump --schema-only` of source and target to be identical (minus \restrict lines),
 *   - every table's rows identical (count + md5 of the sorted rows), sequences' last_value and
 *     is_called, matviews' populated state and contents.
 * Also: restoring over an existing copy (the drop section), abort rolling everything back, and the
 * error messages naming the failing line. pg_dump and psql are used here only, never by the engine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../agent/config.h"
#include "../../agent/runtime.h"
#include "../../agent/stream.h"
#include "../../engines/postgres/pg_engine.h"
#include "../../engines/postgres/pg_buf.h"

typedef struct env {
    char root[1024];   /* repository root */
    char dir[256];     /* temp dir of this run */
    char dump[512];    /* the engine's dump of src */
    int server_up;
} env;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd)
        return -1;
    int st = system(cmd);
    if (st != 0)
        print_message("# command failed (%d): %s\n", st, cmd);
    return st;
}

static int find_root(char *out, size_t outsz)
{
    const char *r = getenv("SK_ROOT");
    const char *cands[] = { r ? r : "", ".", "..", "../..", "../../.." };
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
        char p[1200];
        if (!cands[i][0])
            continue;
        snprintf(p, sizeof p, "%s/tests/servers/pg.sh", cands[i]);
        if (access(p, X_OK) == 0 && realpath(cands[i], out) && strlen(out) < outsz)
            return 0;
    }
    return -1;
}

static int load_env_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "export ", 7) == 0) {
            char *eq = strchr(line + 7, '=');
            if (eq) {
                *eq = '\0';
                setenv(line + 7, eq + 1, 1);
            }
        } else if (strncmp(line, "unset ", 6) == 0) {
            unsetenv(line + 6);
        }
    }
    fclose(f);
    return 0;
}

static PGconn *connect_db(const char *db)
{
    char ci[256];
    snprintf(ci, sizeof ci, "dbname=%s", db);
    sk_err err;
    sk_err_clear(&err);
    PGconn *c = sk_pg_connect(ci, NULL, "test database", &err);
    if (!c)
        fail_msg("%s", err.msg);
    return c;
}

static sk_rc dump_to(const char *db, const sk_pg_dump_opts *opts, const char *path, sk_pg_dump_stats *st,
                     sk_err *err)
{
    PGconn *c = connect_db(db);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    sk_writer *w = sk_fd_writer_new(fd, path, err);
    assert_non_null(w);
    sk_rc rc = sk_pg_dump_conn(c, opts, w, NULL, st, err);
    if (!rc)
        rc = sk_writer_finish(w, err);
    else
        sk_writer_abort(w);
    sk_writer_free_chain(w);
    close(fd);
    /* the connection is idle again, outside any transaction */
    assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
    PQfinish(c);
    return rc;
}

/* Feed `path` (or `text`) into a restore sink in `chunk`-byte writes; finish unless abort_after >= 0
 * bytes, where it aborts instead. */
static sk_rc restore_from(const char *db, const char *path, const char *text, size_t chunk, long abort_after,
                          sk_err *err)
{
    char ci[256];
    snprintf(ci, sizeof ci, "dbname=%s", db);
    sk_err_clear(err);
    sk_writer *w = sk_pg_restore_sink_new(ci, NULL, NULL, err);
    if (!w)
        return err->rc;
    sk_rc rc = SK_OK;
    size_t total = 0;
    if (path) {
        int fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        char *buf = malloc(chunk);
        assert_non_null(buf);
        ssize_t n;
        while (!rc && (n = read(fd, buf, chunk)) > 0) {
            rc = sk_writer_write(w, buf, (size_t)n, err);
            total += (size_t)n;
            if (abort_after >= 0 && total >= (size_t)abort_after)
                break;
        }
        free(buf);
        close(fd);
    } else {
        size_t len = strlen(text);
        for (size_t off = 0; off < len && !rc; off += chunk)
            rc = sk_writer_write(w, text + off, len - off < chunk ? len - off : chunk, err);
    }
    if (!rc && abort_after < 0)
        rc = sk_writer_finish(w, err);
    else
        sk_writer_abort(w);
    sk_writer_free_chain(w);
    return rc;
}

static char *query1(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("query failed: %s: %s", sql, PQerrorMessage(c));
    pg_buf b;
    pg_buf_init(&b);
    for (int i = 0; i < PQntuples(r); i++) {
        for (int j = 0; j < PQnfields(r); j++)
            pg_buf_addf(&b, "%s%s", j ? "|" : "", PQgetisnull(r, i, j) ? "<null>" : PQgetvalue(r, i, j));
        pg_buf_add(&b, "\n");
    }
    PQclear(r);
    return pg_buf_take(&b);
}

/* Everything about a database's contents: per table count + md5 of sorted rows, sequences'
 * state, matviews' populated flag and rows. */
static char *content_digest(const char *db)
{
    PGconn *c = connect_db(db);
    PGresult *r = PQexec(c, "SELECT c.relkind, quote_ident(n.nspname) || '.' || quote_ident(c.relname), "
                            "c.relispopulated FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE c.relkind IN ('r', 'S', 'm') AND n.nspname NOT IN ('pg_catalog', "
                            "'information_schema', 'ext') AND n.nspname !~ '^pg_toast' "
                            "ORDER BY 2");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    pg_buf out;
    pg_buf_init(&out);
    for (int i = 0; i < PQntuples(r); i++) {
        char k = PQgetvalue(r, i, 0)[0];
        const char *q = PQgetvalue(r, i, 1);
        char sql[1024];
        if (k == 'S')
            snprintf(sql, sizeof sql, "SELECT last_value, is_called FROM %s", q);
        else if (k == 'm' && PQgetvalue(r, i, 2)[0] != 't')
            snprintf(sql, sizeof sql, "SELECT 'not populated'");
        else
            snprintf(sql, sizeof sql, "SELECT count(*), md5(coalesce(string_agg(x::text, E'\\n' ORDER BY "
                                      "x::text), '')) FROM %s x", q);
        char *v = query1(c, sql);
        pg_buf_addf(&out, "%c %s: %s", k, q, v);
        free(v);
    }
    PQclear(r);
    char *lo = query1(c, "SELECT m.oid, pg_get_userbyid(m.lomowner), length(lo_get(m.oid)), md5(lo_get(m.oid)) "
                         "FROM pg_largeobject_metadata m ORDER BY m.oid");
    pg_buf_addf(&out, "large objects:\n%s", lo);
    free(lo);
    PQfinish(c);
    return pg_buf_take(&out);
}

static int schema_dump(const env *e, const char *db, const char *file)
{
    return sh("pg_dump --schema-only '%s' | grep -v '^\\\\\\(un\\)\\?restrict ' > '%s/%s'", db, e->dir, file);
}

/* pg_dump --schema-only and the content digests of two databases agree; returns the source digest */
static char *same_schema_and_rows(const env *e, const char *src, const char *dst);

static void assert_same_schema_and_rows(const env *e, const char *src, const char *dst)
{
    free(same_schema_and_rows(e, src, dst));
}

static void assert_same_database(const env *e, const char *src, const char *dst)
{
    char *da = same_schema_and_rows(e, src, dst);
    /* the fixture's data is really there (the digest is not trivially equal) */
    assert_non_null(strstr(da, "r app.customers: 3000|"));
    assert_non_null(strstr(da, "m app.mv_empty: not populated"));
    assert_non_null(strstr(da, "S app.rewound: 42|f"));
    assert_non_null(strstr(da, "|sk_fx_owner|15|"));   /* a large object with its owner */
    assert_non_null(strstr(da, "|360000|"));           /* more than one 256 KiB piece */
    free(da);
}

static char *same_schema_and_rows(const env *e, const char *src, const char *dst)
{
    char a[64], b[64];
    snprintf(a, sizeof a, "schema-%s.sql", src);
    snprintf(b, sizeof b, "schema-%s.sql", dst);
    assert_int_equal(schema_dump(e, src, a), 0);
    assert_int_equal(schema_dump(e, dst, b), 0);
    if (sh("diff -u '%s/%s' '%s/%s' | head -60 | sed 's/^/# /'; cmp -s '%s/%s' '%s/%s'", e->dir, a, e->dir, b,
           e->dir, a, e->dir, b) != 0)
        fail_msg("pg_dump --schema-only of %s and %s differ", src, dst);
    char *da = content_digest(src), *db_ = content_digest(dst);
    if (strcmp(da, db_) != 0) {
        print_message("# source:\n%s# target:\n%s", da, db_);
        free(da);
        free(db_);
        fail_msg("contents of %s and %s differ", src, dst);
    }
    free(db_);
    return da;
}

static int teardown(void **state);

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    if (!e || find_root(e->root, sizeof e->root) != 0) {
        print_message("# cannot find the repository root (tests/servers/pg.sh); set SK_ROOT\n");
        free(e);
        return -1;
    }
    snprintf(e->dir, sizeof e->dir, "/tmp/sk-pgtest-XXXXXX");
    if (!mkdtemp(e->dir) || chmod(e->dir, 0755) != 0) {
        free(e);
        return -1;
    }
    /* from here on, a failure stops the server and removes the directory */
    *state = e;
    double t0 = now_s();
    if (sh("'%s/tests/servers/pg.sh' start '%s/pg'", e->root, e->dir) != 0)
        goto fail;
    e->server_up = 1;
    print_message("# PostgreSQL server started in %.2f s\n", now_s() - t0);
    char envf[512];
    snprintf(envf, sizeof envf, "%s/pg/env", e->dir);
    if (load_env_file(envf) != 0)
        goto fail;
    if (sh("createdb src && psql -X -q -v ON_ERROR_STOP=1 -d src -f '%s/tests/fixtures/postgres/fixture.sql' "
           ">'%s/fixture.log' 2>&1", e->root, e->dir) != 0) {
        sh("grep -m5 ERROR '%s/fixture.log' | sed 's/^/# /'", e->dir);
        goto fail;
    }
    snprintf(e->dump, sizeof e->dump, "%s/src.sql", e->dir);
    sk_err err;
    sk_err_clear(&err);
    sk_pg_dump_stats st;
    t0 = now_s();
    if (dump_to("src", NULL, e->dump, &st, &err) != SK_OK) {
        print_message("# dump failed: %s\n", err.msg);
        goto fail;
    }
    print_message("# dump of the fixture: %.3f s, %ld objects, %ld tables, %llu rows, %ld order warnings\n",
                  now_s() - t0, st.objects, st.tables, (unsigned long long)st.rows, st.order_warnings);
    return 0;
fail:
    teardown(state);
    *state = NULL;
    return -1;
}

static int teardown(void **state)
{
    env *e = *state;
    if (!e)
        return 0;
    if (e->server_up)
        sh("'%s/tests/servers/pg.sh' stop '%s/pg'", e->root, e->dir);
    sh("rm -rf '%s'", e->dir);
    free(e);
    return 0;
}

static void test_dump_shape(void **state)
{
    env *e = *state;
    char *txt = NULL;
    FILE *f = fopen(e->dump, "r");
    assert_non_null(f);
    struct stat stt;
    assert_int_equal(fstat(fileno(f), &stt), 0);
    txt = calloc(1, (size_t)stt.st_size + 1);
    assert_int_equal(fread(txt, 1, (size_t)stt.st_size, f), (size_t)stt.st_size);
    fclose(f);
    /* header settings, drops before creates, data before post-data, COPY blocks, setval */
    assert_non_null(strstr(txt, "SELECT pg_catalog.set_config('search_path', '', false);\n"));
    char *drop = strstr(txt, "DROP TABLE IF EXISTS app.customers;");
    char *create = strstr(txt, "CREATE TABLE app.customers (");
    char *copy = strstr(txt, "COPY app.customers (id, name, email, mood, addr, score, \"Mixed Case\"");
    char *pk = strstr(txt, "ADD CONSTRAINT customers_pkey PRIMARY KEY (id);");
    char *refresh = strstr(txt, "REFRESH MATERIALIZED VIEW app.mv_moods;");
    char *refresh_top = strstr(txt, "REFRESH MATERIALIZED VIEW app.mv_top;");
    assert_non_null(drop);
    assert_non_null(create);
    assert_non_null(copy);
    assert_non_null(pk);
    assert_non_null(refresh);
    assert_non_null(refresh_top);
    assert_true(drop < create && create < copy && copy < pk && pk < refresh && refresh < refresh_top);
    assert_null(strstr(txt, "shout) FROM stdin")); /* generated columns are not copied */
    assert_null(strstr(txt, "REFRESH MATERIALIZED VIEW app.mv_empty"));
    assert_non_null(strstr(txt, "SELECT pg_catalog.setval('app.rewound', 42, false);"));
    assert_non_null(strstr(txt, "CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA ext;"));
    assert_null(strstr(txt, "FUNCTION ext.")); /* extension members are not dumped */
    /* a name holding a newline stays inside the comment line of the entry header */
    assert_non_null(strstr(txt, "-- Name: Tab\"le; DROP TABLE x; --; Type: TABLE; Schema: Weird Schema;"));
    free(txt);
}

static void test_restore_sink_roundtrip(void **state)
{
    env *e = *state;
    sk_err err;
    assert_int_equal(sh("createdb dst_sink"), 0);
    double t0 = now_s();
    /* an odd chunk size splits tokens, quotes and COPY rows across writes */
    sk_rc rc = restore_from("dst_sink", e->dump, NULL, 4093, -1, &err);
    if (rc)
        fail_msg("restore: %s", err.msg);
    print_message("# restore sink: %.3f s\n", now_s() - t0);
    assert_same_database(e, "src", "dst_sink");
    /* again, over the restored copy: the drop section clears what the script creates */
    rc = restore_from("dst_sink", e->dump, NULL, 65536, -1, &err);
    if (rc)
        fail_msg("restore over an existing copy: %s", err.msg);
    assert_same_database(e, "src", "dst_sink");
}

static void test_psql_roundtrip(void **state)
{
    env *e = *state;
    assert_int_equal(sh("createdb dst_psql && psql -X -q -v ON_ERROR_STOP=1 -d dst_psql -f '%s' >'%s/psql.log' 2>&1",
                        e->dump, e->dir), 0);
    assert_same_database(e, "src", "dst_psql");
}

static long user_relations(const char *db)
{
    PGconn *c = connect_db(db);
    char *v = query1(c, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
                        "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'");
    long n = strtol(v, NULL, 10);
    free(v);
    PQfinish(c);
    return n;
}

static void test_abort_rolls_back(void **state)
{
    env *e = *state;
    sk_err err;
    assert_int_equal(sh("createdb dst_abort"), 0);
    struct stat st;
    assert_int_equal(stat(e->dump, &st), 0);
    /* stop in the middle of the data section, then abort: nothing may remain */
    sk_rc rc = restore_from("dst_abort", e->dump, NULL, 8192, (long)st.st_size / 2, &err);
    assert_int_equal(rc, SK_OK);
    assert_int_equal(user_relations("dst_abort"), 0);
}

static void test_error_names_line(void **state)
{
    (void)state;
    sk_err err;
    assert_int_equal(sh("createdb dst_err"), 0);
    const char *script = "SET client_min_messages = warning;\n"
                         "CREATE TABLE public.t (a integer);\n"
                         "\n"
                         "-- a comment\n"
                         "SELECT 1\n"
                         "  FROM public.nope;\n";
    sk_rc rc = restore_from("dst_err", NULL, script, 7, -1, &err);
    assert_int_equal(rc, SK_ERR_SOURCE);
    if (!strstr(err.msg, "line 6") || !strstr(err.msg, "42P01") || !strstr(err.msg, "public.nope"))
        fail_msg("unexpected message: %s", err.msg);
    assert_int_equal(user_relations("dst_err"), 0); /* the CREATE TABLE was rolled back */

    const char *copy = "CREATE TABLE public.t (a integer, b text);\n"
                       "COPY public.t (a, b) FROM stdin;\n"
                       "1\tone\n"
                       "x\ttwo\n"
                       "\\.\n";
    rc = restore_from("dst_err", NULL, copy, 5, -1, &err);
    assert_int_equal(rc, SK_ERR_SOURCE);
    if (!strstr(err.msg, "line 2") || !strstr(err.msg, "22P02") || !strstr(err.msg, "line 2, column a"))
        fail_msg("unexpected message: %s", err.msg);
    assert_int_equal(user_relations("dst_err"), 0);

    const char *truncated = "CREATE TABLE public.t (a integer);\nCOPY public.t (a) FROM stdin;\n1\n2\n";
    rc = restore_from("dst_err", NULL, truncated, 64, -1, &err);
    assert_int_equal(rc, SK_ERR_INTEGRITY);
    assert_non_null(strstr(err.msg, "truncated"));
    assert_int_equal(user_relations("dst_err"), 0);
}

static void test_excludes(void **state)
{
    env *e = *state;
    static const char *const ex_tables[] = { "app.bookings", "empty_*", NULL };
    static const char *const ex_data[] = { "app.cache", "*.orders", NULL };
    static const char *const ex_schemas[] = { "select", NULL };
    sk_pg_dump_opts o = { 0 };
    o.exclude_tables = ex_tables;
    o.exclude_data = ex_data;
    o.exclude_schemas = ex_schemas;
    char path[600];
    snprintf(path, sizeof path, "%s/excl.sql", e->dir);
    sk_err err;
    sk_err_clear(&err);
    sk_pg_dump_stats st;
    assert_int_equal(dump_to("src", &o, path, &st, &err), SK_OK);
    /* restore it, then look at what is there */
    assert_int_equal(sh("createdb dst_excl"), 0);
    sk_rc rc = restore_from("dst_excl", path, NULL, 65536, -1, &err);
    if (rc)
        fail_msg("restore of the filtered dump: %s", err.msg);
    PGconn *c = connect_db("dst_excl");
    char *v = query1(c, "SELECT to_regclass('app.bookings') IS NULL, to_regclass('\"Weird Schema\".empty_cols') IS NULL, "
                        "to_regnamespace('\"select\"') IS NULL, (SELECT count(*) FROM app.orders), "
                        "(SELECT count(*) FROM app.cache), (SELECT count(*) FROM app.customers)");
    assert_string_equal(v, "t|t|t|0|0|3000\n");
    free(v);
    PQfinish(c);
}

static void test_serializable_deferrable(void **state)
{
    env *e = *state;
    sk_pg_dump_opts o = { 0 };
    o.serializable_deferrable = 1;
    o.lock_timeout_ms = 5000;
    char path[600];
    snprintf(path, sizeof path, "%s/ser.sql", e->dir);
    sk_err err;
    sk_err_clear(&err);
    sk_pg_dump_stats st;
    assert_int_equal(dump_to("src", &o, path, &st, &err), SK_OK);
    /* the same snapshot content as the default mode: the same script */
    assert_int_equal(sh("cmp -s '%s' '%s'", path, e->dump), 0);
}


static long long scalar(const char *db, const char *sql)
{
    PGconn *c = connect_db(db);
    char *v = query1(c, sql);
    long long n = strtoll(v, NULL, 10);
    free(v);
    PQfinish(c);
    return n;
}

/* pgbench (TPC-B) writes all through the dump; the restored copy must satisfy the invariants:
 * sum of account, teller and branch balances all equal the sum of history deltas. A dump that
 * copied the tables at different moments would break them. */
static void test_consistency_under_load(void **state)
{
    env *e = *state;
    assert_int_equal(sh("createdb bench && pgbench -q -i -s 5 bench >'%s/pgbench-init.log' 2>&1", e->dir), 0);
    assert_int_equal(sh("pgbench -n -c 4 -j 2 -T 120 bench >'%s/pgbench.log' 2>&1 & echo $! >'%s/pgbench.pid'",
                        e->dir, e->dir), 0);
    /* let the clients get going */
    for (int i = 0; i < 100 && scalar("bench", "SELECT count(*) FROM pgbench_history") < 200; i++)
        usleep(50000);
    long long before = scalar("bench", "SELECT count(*) FROM pgbench_history");
    char path[600];
    snprintf(path, sizeof path, "%s/bench.sql", e->dir);
    sk_err err;
    sk_err_clear(&err);
    sk_pg_dump_stats st;
    double t0 = now_s();
    sk_rc rc = dump_to("bench", NULL, path, &st, &err);
    double took = now_s() - t0;
    long long after = scalar("bench", "SELECT count(*) FROM pgbench_history");
    sh("kill $(cat '%s/pgbench.pid') 2>/dev/null; sleep 0.3", e->dir);
    if (rc)
        fail_msg("dump under load: %s", err.msg);
    print_message("# dump under pgbench load: %.2f s, %llu rows; history grew %lld -> %lld meanwhile\n", took,
                  (unsigned long long)st.rows, before, after);
    assert_true(after > before); /* the load really ran during the dump */
    assert_int_equal(sh("createdb bench_copy"), 0);
    rc = restore_from("bench_copy", path, NULL, 1 << 16, -1, &err);
    if (rc)
        fail_msg("restore: %s", err.msg);
    PGconn *c = connect_db("bench_copy");
    char *v = query1(c, "SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(tbalance) FROM "
                        "pgbench_tellers), (SELECT sum(bbalance) FROM pgbench_branches), (SELECT coalesce(sum(delta), "
                        "0) FROM pgbench_history), (SELECT count(*) FROM pgbench_history), (SELECT count(*) FROM "
                        "pgbench_accounts)");
    PQfinish(c);
    long long a, t, b, h, n, accounts;
    assert_int_equal(sscanf(v, "%lld|%lld|%lld|%lld|%lld|%lld", &a, &t, &b, &h, &n, &accounts), 6);
    print_message("# restored: accounts %lld, tellers %lld, branches %lld, history %lld (%lld rows)\n", a, t, b, h, n);
    free(v);
    assert_int_equal(accounts, 500000);
    assert_true(n >= before && n <= after);
    assert_true(a == h && t == h && b == h);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    struct stat stt;
    assert_int_equal(fstat(fileno(f), &stt), 0);
    char *txt = calloc(1, (size_t)stt.st_size + 1);
    assert_non_null(txt);
    assert_int_equal(fread(txt, 1, (size_t)stt.st_size, f), (size_t)stt.st_size);
    fclose(f);
    return txt;
}

/* schema-only into an empty database, then data-only on top: together the same database */
static void test_schema_only_then_data_only(void **state)
{
    env *e = *state;
    char sp[600], dp[600];
    snprintf(sp, sizeof sp, "%s/schema-only.sql", e->dir);
    snprintf(dp, sizeof dp, "%s/data-only.sql", e->dir);
    sk_pg_dump_opts o = { 0 };
    sk_err err;
    sk_err_clear(&err);
    sk_pg_dump_stats st;
    o.content = SK_PG_SCHEMA_ONLY;
    assert_int_equal(dump_to("src", &o, sp, &st, &err), SK_OK);
    o.content = SK_PG_DATA_ONLY;
    assert_int_equal(dump_to("src", &o, dp, &st, &err), SK_OK);
    char *s = read_file(sp), *d = read_file(dp);
    assert_null(strstr(s, "FROM stdin;"));
    assert_null(strstr(s, "setval("));
    assert_null(strstr(s, "lo_create("));
    assert_non_null(strstr(s, "CREATE TABLE app.orders"));
    assert_null(strstr(d, "\nCREATE "));
    assert_null(strstr(d, "\nDROP "));
    assert_non_null(strstr(d, "COPY app.orders"));
    /* referenced rows first: customers before orders before line_items */
    char *cu = strstr(d, "COPY app.customers "), *or = strstr(d, "COPY app.orders "), *li = strstr(d, "COPY app.line_items ");
    assert_true(cu && or && li && cu < or && or < li);
    free(s);
    free(d);
    assert_int_equal(sh("createdb dst_split"), 0);
    if (restore_from("dst_split", sp, NULL, 65536, -1, &err))
        fail_msg("schema-only restore: %s", err.msg);
    assert_int_equal(scalar("dst_split", "SELECT count(*) FROM app.customers"), 0);
    if (restore_from("dst_split", dp, NULL, 65536, -1, &err))
        fail_msg("data-only restore: %s", err.msg);
    assert_same_database(e, "src", "dst_split");
}

static void test_include_filters(void **state)
{
    env *e = *state;
    static const char *const tables[] = { "app.customers", NULL };
    static const char *const schemas[] = { "select", NULL };
    char p1[600], p2[600];
    snprintf(p1, sizeof p1, "%s/only-customers.sql", e->dir);
    snprintf(p2, sizeof p2, "%s/only-select.sql", e->dir);
    sk_pg_dump_opts o = { 0 };
    sk_err err;
    sk_err_clear(&err);
    sk_pg_dump_stats st;
    o.include_tables = tables;
    assert_int_equal(dump_to("src", &o, p1, &st, &err), SK_OK);
    o.include_tables = NULL;
    o.include_schemas = schemas;
    assert_int_equal(dump_to("src", &o, p2, &st, &err), SK_OK);
    char *a = read_file(p1), *b = read_file(p2);
    assert_non_null(strstr(a, "CREATE TABLE app.customers ("));
    assert_non_null(strstr(a, "CREATE SEQUENCE app.customers_id_seq"));   /* its serial sequence */
    assert_non_null(strstr(a, "CREATE TRIGGER customers_touch "));
    assert_non_null(strstr(a, "COPY app.customers "));
    assert_null(strstr(a, "CREATE TABLE app.orders"));
    assert_null(strstr(a, "CREATE SCHEMA"));
    assert_null(strstr(a, "CREATE EXTENSION"));
    assert_null(strstr(a, "CREATE FUNCTION"));
    assert_non_null(strstr(b, "CREATE SCHEMA \"select\";"));
    assert_non_null(strstr(b, "CREATE TABLE \"select\".\"from\" ("));
    assert_null(strstr(b, "app."));
    assert_null(strstr(b, "CREATE EXTENSION"));
    free(a);
    free(b);
    /* the schema-filtered dump restores on its own */
    assert_int_equal(sh("createdb dst_select"), 0);
    if (restore_from("dst_select", p2, NULL, 65536, -1, &err))
        fail_msg("restore: %s", err.msg);
    assert_int_equal(scalar("dst_select", "SELECT count(*) FROM \"select\".\"from\""), 2);
}

typedef struct kv {
    const char *k, *v;
} kv;

static const char *kv_get(void *ud, const char *name)
{
    for (const kv *p = ud; p->k; p++)
        if (strcmp(p->k, name) == 0)
            return p->v;
    return NULL;
}

static sk_rc feed_file(sk_writer *w, const char *path, sk_err *err)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    sk_rc rc = sk_copy_fd(fd, path, w, 1 << 16, NULL, NULL, err);
    close(fd);
    return rc;
}

/* The sk_engine_type glue: settings, open, dump, verify, restore_open (creating the target
 * database, refusing a non-empty one without force). */
static void test_engine_vtable(void **state)
{
    env *e = *state;
    const sk_engine_type *et = &sk_engine_postgres;
    assert_string_equal(et->name, "postgres");
    assert_string_equal(et->tag, "pgsql");
    assert_string_equal(et->ext, "sql");
    const sk_setting_def *const tables[] = { sk_pg_settings, NULL };
    sk_err err;
    sk_err_clear(&err);

    kv bad[] = { { "DATABASE_URL", "host=x password=sekrit-pw bogus_key=1" }, { NULL, NULL } };
    sk_config *cfg = sk_config_load(tables, kv_get, bad, NULL, &err);
    assert_non_null(cfg);
    void *st = NULL;
    sk_dump_info info;
    memset(&info, 0, sizeof info);
    assert_int_equal(et->open(cfg, NULL, &st, &info, &err), SK_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "DATABASE_URL"));
    assert_null(strstr(err.msg, "sekrit-pw"));
    sk_config_free(cfg);

    kv vars[] = { { "DATABASE_URL", "dbname=src" }, { "SNAPKEEP_PG_EXCLUDE_TABLE_DATA", " app.audit , app.cache" },
                  { "SNAPKEEP_PG_ISOLATION", "serializable-deferrable" }, { NULL, NULL } };
    sk_err_clear(&err);
    cfg = sk_config_load(tables, kv_get, vars, NULL, &err);
    if (!cfg)
        fail_msg("config: %s", err.msg);
    assert_int_equal(et->open(cfg, NULL, &st, &info, &err), SK_OK);
    assert_string_equal(info.database, "src");
    char path[600];
    snprintf(path, sizeof path, "%s/vtable.sql", e->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    sk_writer *w = sk_fd_writer_new(fd, path, &err);
    assert_int_equal(et->dump(st, w, &info, &err), SK_OK);
    assert_int_equal(sk_writer_finish(w, &err), SK_OK);
    sk_writer_free_chain(w);
    close(fd);
    assert_true(strncmp(info.server_version, "PostgreSQL 15", 13) == 0);
    assert_non_null(strstr(info.facts_json, "\"isolation\":\"serializable-deferrable\""));

    char summary[512] = "";
    sk_writer *v = NULL;
    assert_int_equal(et->verify_open(st, summary, &v, &err), SK_OK);
    assert_int_equal(feed_file(v, path, &err), SK_OK);
    assert_int_equal(sk_writer_finish(v, &err), SK_OK);
    sk_writer_free_chain(v);
    assert_non_null(strstr(summary, "complete"));
    /* a truncated script fails verification */
    struct stat sst;
    assert_int_equal(stat(path, &sst), 0);
    assert_int_equal(truncate(path, sst.st_size - 30), 0);
    assert_int_equal(et->verify_open(st, summary, &v, &err), SK_OK);
    sk_rc rc = feed_file(v, path, &err);
    if (!rc)
        rc = sk_writer_finish(v, &err);
    assert_int_equal(rc, SK_ERR_INTEGRITY);
    sk_writer_free_chain(v);
    assert_int_equal(truncate(path, sst.st_size), 0); /* zero-filled tail: must also fail */
    sk_err_clear(&err);
    assert_int_equal(et->verify_open(st, summary, &v, &err), SK_OK);
    rc = feed_file(v, path, &err);
    if (!rc)
        rc = sk_writer_finish(v, &err);
    assert_int_not_equal(rc, SK_OK);
    sk_writer_free_chain(v);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    w = sk_fd_writer_new(fd, path, &err);
    assert_int_equal(et->dump(st, w, &info, &err), SK_OK);
    assert_int_equal(sk_writer_finish(w, &err), SK_OK);
    sk_writer_free_chain(w);
    close(fd);

    /* restore into a database that does not exist yet: it is created */
    sk_restore_opts ro = { "dbname=dst_vtable", 0 };
    sk_writer *sink = NULL;
    sk_err_clear(&err);
    if (et->restore_open(st, &ro, &sink, &err))
        fail_msg("restore_open: %s", err.msg);
    assert_int_equal(feed_file(sink, path, &err), SK_OK);
    assert_int_equal(sk_writer_finish(sink, &err), SK_OK);
    sk_writer_free_chain(sink);
    assert_int_equal(scalar("dst_vtable", "SELECT count(*) FROM app.customers"), 3000);
    assert_int_equal(scalar("dst_vtable", "SELECT count(*) FROM app.audit"), 0); /* data excluded */
    assert_int_equal(scalar("dst_vtable", "SELECT count(*) FROM app.cache"), 0);
    /* not empty now: refused without force; with force, an aborted restore changes nothing */
    assert_int_equal(et->restore_open(st, &ro, &sink, &err), SK_ERR_USAGE);
    assert_non_null(strstr(err.msg, "not empty"));
    ro.force = 1;
    sk_err_clear(&err);
    assert_int_equal(et->restore_open(st, &ro, &sink, &err), SK_OK);
    assert_int_equal(feed_file(sink, path, &err), SK_OK);
    sk_writer_abort(sink);
    sk_writer_free_chain(sink);
    assert_int_equal(scalar("dst_vtable", "SELECT count(*) FROM app.customers"), 3000);
    et->close(st);
    sk_config_free(cfg);
}

static int cancel_after(void *ud)
{
    int *calls = ud;
    return ++*calls > 5;
}

/* The runtime's cancel flag stops a dump cleanly, mid-table included; the session is left idle. */
static void test_cancel(void **state)
{
    env *e = *state;
    int calls = 0;
    sk_runtime rt;
    memset(&rt, 0, sizeof rt);
    rt.cancelled = cancel_after;
    rt.cancel_ud = &calls;
    /* one table: polls come per object, then every 1024 rows, so the 6th lands inside the COPY */
    assert_int_equal(sh("createdb big && psql -X -q -d big -c 'CREATE TABLE public.t AS SELECT g FROM "
                        "generate_series(1, 300000) g'"), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/cancelled.sql", e->dir);
    PGconn *c = connect_db("big");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    sk_err err;
    sk_err_clear(&err);
    sk_writer *w = sk_fd_writer_new(fd, path, &err);
    sk_pg_dump_stats st;
    sk_rc rc = sk_pg_dump_conn(c, NULL, w, &rt, &st, &err);
    sk_writer_abort(w);
    sk_writer_free_chain(w);
    close(fd);
    assert_int_equal(rc, SK_ERR_CANCELLED);
    assert_non_null(strstr(err.msg, "cancelled while copying public.t"));
    assert_true(st.rows < 300000); /* the server stopped sending the table */
    assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);
    char *v = query1(c, "SELECT 1");
    assert_string_equal(v, "1\n");
    free(v);
    PQfinish(c);
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

/* Roles dumped from this cluster restore into a second, fresh cluster: pg_dumpall --roles-only of
 * both agree (but for the bootstrap superuser, which each cluster has of its own). */
static void test_globals(void **state)
{
    env *e = *state;
    PGconn *c = connect_db("postgres");
    exec_ok(c, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sk_gl_login') THEN "
               "CREATE ROLE sk_gl_login; END IF; END $$");
    exec_ok(c, "ALTER ROLE sk_gl_login LOGIN CREATEDB CONNECTION LIMIT 3 VALID UNTIL '2031-01-01 00:00:00+00' "
               "PASSWORD 'not-a-real-secret'");
    exec_ok(c, "GRANT sk_fx_reader TO sk_gl_login WITH ADMIN OPTION");
    exec_ok(c, "GRANT pg_read_all_stats TO sk_gl_login");
    exec_ok(c, "ALTER ROLE sk_gl_login SET work_mem = '8MB'");
    exec_ok(c, "ALTER ROLE sk_gl_login SET myapp.flag = 'o''neil'");
    exec_ok(c, "COMMENT ON ROLE sk_gl_login IS 'logs in'");
    char path[600];
    snprintf(path, sizeof path, "%s/roles.sql", e->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    sk_err err;
    sk_err_clear(&err);
    sk_writer *w = sk_fd_writer_new(fd, path, &err);
    assert_int_equal(sk_pg_dump_globals(c, w, &err), SK_OK);
    assert_int_equal(sk_writer_finish(w, &err), SK_OK);
    sk_writer_free_chain(w);
    close(fd);
    PQfinish(c);

    assert_int_equal(sh("'%s/tests/servers/pg.sh' start '%s/pg2'", e->root, e->dir), 0);
    char port[16] = "";
    char pf[600];
    snprintf(pf, sizeof pf, "%s/pg2/port", e->dir);
    FILE *f = fopen(pf, "r");
    assert_non_null(f);
    assert_non_null(fgets(port, sizeof port, f));
    fclose(f);
    port[strcspn(port, "\n")] = '\0';
    char ci[900];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%s user=sk_test dbname=postgres passfile=%s/pg2/pgpass", port, e->dir);
    /* twice: the second run finds every role present */
    for (int round = 0; round < 2; round++) {
        sk_writer *s = sk_pg_restore_sink_new(ci, NULL, NULL, &err);
        if (!s)
            fail_msg("%s", err.msg);
        fd = open(path, O_RDONLY);
        sk_rc rc = sk_copy_fd(fd, path, s, 4096, NULL, NULL, &err);
        close(fd);
        if (!rc)
            rc = sk_writer_finish(s, &err);
        sk_writer_free_chain(s);
        if (rc)
            fail_msg("roles restore (round %d): %s", round, err.msg);
    }
    const char *filter = "grep -v -e '^\\\\' -e '^CREATE ROLE sk_test;' -e '^ALTER ROLE sk_test '";
    int st = sh("pg_dumpall --roles-only | %s > '%s/roles-a.sql' && PGPORT=%s PGPASSFILE='%s/pg2/pgpass' "
                "pg_dumpall --roles-only | %s > '%s/roles-b.sql' && diff -u '%s/roles-a.sql' '%s/roles-b.sql' | "
                "head -30 | sed 's/^/# /'; cmp -s '%s/roles-a.sql' '%s/roles-b.sql'",
                filter, e->dir, port, e->dir, filter, e->dir, e->dir, e->dir, e->dir, e->dir);
    sh("'%s/tests/servers/pg.sh' stop '%s/pg2'", e->root, e->dir);
    assert_int_equal(st, 0);
    char *txt = read_file(path);
    assert_non_null(strstr(txt, "ALTER ROLE sk_gl_login SET myapp.flag TO 'o''neil';"));
    assert_non_null(strstr(txt, "SCRAM-SHA-256$"));   /* the hash, never the password */
    assert_null(strstr(txt, "not-a-real-secret"));
    free(txt);
}

/* The usual sidecar setup: DATABASE_URL names the application's own role, not a superuser. Its
 * database dumps and round-trips all the same. */
static void test_non_superuser(void **state)
{
    env *e = *state;
    PGconn *c = connect_db("postgres");
    exec_ok(c, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sk_app') THEN "
               "CREATE ROLE sk_app LOGIN; END IF; END $$");
    exec_ok(c, "ALTER ROLE sk_app PASSWORD 'app-test-password'");
    exec_ok(c, "CREATE DATABASE appdb OWNER sk_app");
    PQfinish(c);
    /* the password reaches libpq as a parameter, never a command line */
    char ci[300];
    snprintf(ci, sizeof ci, "dbname=appdb user=sk_app");
    sk_err err;
    sk_err_clear(&err);
    c = sk_pg_connect(ci, "app-test-password", "app database", &err);
    if (!c)
        fail_msg("%s", err.msg);
    exec_ok(c, "CREATE SCHEMA app AUTHORIZATION sk_app");
    exec_ok(c, "CREATE TABLE app.items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, "
               "price numeric CHECK (price >= 0), created timestamptz DEFAULT now())");
    exec_ok(c, "CREATE TABLE app.orders (id serial PRIMARY KEY, item bigint REFERENCES app.items, qty int)");
    exec_ok(c, "CREATE INDEX ON app.orders (item)");
    exec_ok(c, "CREATE VIEW app.totals AS SELECT item, sum(qty) AS n FROM app.orders GROUP BY item");
    exec_ok(c, "CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$");
    exec_ok(c, "CREATE TRIGGER t BEFORE INSERT ON app.orders FOR EACH ROW EXECUTE FUNCTION app.touch()");
    exec_ok(c, "ALTER TABLE app.items ENABLE ROW LEVEL SECURITY");
    exec_ok(c, "CREATE POLICY p ON app.items USING (price < 100)");
    exec_ok(c, "INSERT INTO app.items (name, price) SELECT 'item ' || g, g FROM generate_series(1, 500) g");
    exec_ok(c, "INSERT INTO app.orders (item, qty) SELECT 1 + g % 500, g FROM generate_series(1, 2000) g");
    exec_ok(c, "SELECT lo_from_bytea(0, 'app blob')");
    char path[600];
    snprintf(path, sizeof path, "%s/app.sql", e->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    sk_writer *w = sk_fd_writer_new(fd, path, &err);
    sk_pg_dump_stats st;
    sk_rc rc = sk_pg_dump_conn(c, NULL, w, NULL, &st, &err);
    if (!rc)
        rc = sk_writer_finish(w, &err);
    sk_writer_free_chain(w);
    close(fd);
    PQfinish(c);
    if (rc)
        fail_msg("dump as the application's role: %s", err.msg);
    assert_int_equal(st.rows, 2500);
    /* restored by the application's role into a database it owns */
    c = connect_db("postgres");
    exec_ok(c, "CREATE DATABASE appcopy OWNER sk_app");
    PQfinish(c);
    sk_writer *s = sk_pg_restore_sink_new("dbname=appcopy user=sk_app", "app-test-password", NULL, &err);
    if (!s)
        fail_msg("%s", err.msg);
    assert_int_equal(feed_file(s, path, &err), SK_OK);
    rc = sk_writer_finish(s, &err);
    sk_writer_free_chain(s);
    if (rc)
        fail_msg("restore as the application's role: %s", err.msg);
    assert_same_schema_and_rows(e, "appdb", "appcopy");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dump_shape),
        cmocka_unit_test(test_restore_sink_roundtrip),
        cmocka_unit_test(test_psql_roundtrip),
        cmocka_unit_test(test_abort_rolls_back),
        cmocka_unit_test(test_error_names_line),
        cmocka_unit_test(test_excludes),
        cmocka_unit_test(test_serializable_deferrable),
        cmocka_unit_test(test_schema_only_then_data_only),
        cmocka_unit_test(test_include_filters),
        cmocka_unit_test(test_engine_vtable),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_globals),
        cmocka_unit_test(test_non_superuser),
        cmocka_unit_test(test_consistency_under_load),
    };
    /* SK_PG_TEST_FILTER runs only the matching tests: the version matrix (postgres_matrix.sh) runs the
     * pgbench check against other majors (PG_MAJOR, read by tests/servers/pg.sh), where the checks
     * through Debian's pg_dump 15 cannot run */
    const char *only = getenv("SK_PG_TEST_FILTER");
    if (only && *only)
        cmocka_set_test_filter(only);
    return cmocka_run_group_tests(tests, setup, teardown);
}
