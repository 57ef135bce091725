/* Keys, md5sum lines and manifests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../agent/manifest.h"
#include "../../agent/naming.h"
#include "../../agent/state.h"

static void test_keys(void **state)
{
    (void)state;
    char dir[256], key[512];
    assert_int_equal(sk_key_dir("snapshots", "backend", "production", dir, sizeof dir), 0);
    assert_string_equal(dir, "snapshots/backend/production/");
    /* 2026-03-23 00:00:00 UTC = 1774224000 (date -u -d 2026-03-23 +%s) */
    assert_int_equal(sk_key_build(dir, "pgsql", "app_db", 1774224000, "sql", key, sizeof key), 0);
    assert_string_equal(key, "snapshots/backend/production/pgsql_app_db_20260323-000000.sql.zst");
    int64_t ts = 0;
    assert_true(sk_key_match(key, "pgsql", "app_db", "sql", &ts));
    assert_int_equal(ts, 1774224000);
    assert_true(sk_key_match("pgsql_app_db_20260323-000000.sql.zst", "pgsql", "app_db", "sql", &ts));
    /* another database whose name is a prefix or extension of this one is not ours */
    assert_false(sk_key_match(key, "pgsql", "app", "sql", NULL));
    assert_false(sk_key_match("x/pgsql_app_db_20260323-000000.sql.zst", "pgsql", "app_db_2", "sql", NULL));
    assert_false(sk_key_match(key, "sqlite", "app_db", "sql", NULL));
    assert_false(sk_key_match("pgsql_app_db_20260323-000000.sql.zst.md5", "pgsql", "app_db", "sql", NULL));
    /* encrypted data keys (age) belong to the job too; their sidecars and near-misses do not */
    assert_true(sk_key_match("x/pgsql_app_db_20260323-000000.sql.zst.age", "pgsql", "app_db", "sql", &ts));
    assert_true(sk_key_encrypted("x/pgsql_app_db_20260323-000000.sql.zst.age"));
    assert_false(sk_key_encrypted("x/pgsql_app_db_20260323-000000.sql.zst"));
    assert_false(sk_key_match("pgsql_app_db_20260323-000000.sql.zst.age.md5", "pgsql", "app_db", "sql", NULL));
    assert_false(sk_key_match("pgsql_app_db_20260323-000000.sql.age", "pgsql", "app_db", "sql", NULL));
    assert_false(sk_key_match("pgsql_app_db_20260323-000000.sql.zst.age.age", "pgsql", "app_db", "sql", NULL));
    assert_false(sk_key_match("pgsql_app_db_2026032x-000000.sql.zst", "pgsql", "app_db", "sql", NULL));
    assert_false(sk_key_match("pgsql_app_db_20261323-000000.sql.zst", "pgsql", "app_db", "sql", NULL));
    assert_int_equal(sk_key_dir("", "s", "e", dir, sizeof dir), 0);
    assert_string_equal(dir, "s/e/");
    assert_string_equal(sk_key_base(key), "pgsql_app_db_20260323-000000.sql.zst");
    /* a key in a directory below the job's is another job's */
    assert_true(sk_key_in_dir("p/s/e/sqlite_app_20260323-000000.sqlite3.zst", "p/s/e/"));
    assert_false(sk_key_in_dir("p/s/e/x/default/sqlite_app_20260323-000000.sqlite3.zst", "p/s/e/"));
    assert_false(sk_key_in_dir("p/s/ex/sqlite_app_20260323-000000.sqlite3.zst", "p/s/e/"));
    char iso[32];
    sk_iso8601(1774224000 + 3661, iso, sizeof iso);
    assert_string_equal(iso, "2026-03-23T01:01:01Z");
}

/* Job ids: readable, distinct where the readable parts coincide, and stable. */
static void test_job_ids(void **state)
{
    (void)state;
    char a[SK_JOB_ID_SIZE], b[SK_JOB_ID_SIZE], c[SK_JOB_ID_SIZE], d[SK_JOB_ID_SIZE];
    sk_job_id("a_b", "c", "sqlite", "app", "local:/d\nsnapshots/a_b/c/\nsqlite\napp\nsqlite3", a);
    sk_job_id("a", "b_c", "sqlite", "app", "local:/d\nsnapshots/a/b_c/\nsqlite\napp\nsqlite3", b);
    sk_job_id("a", "b_c", "sqlite", "app", "local:/e\nsnapshots/a/b_c/\nsqlite\napp\nsqlite3", c);
    sk_job_id("a", "b_c", "sqlite", "app", "local:/e\nsnapshots/a/b_c/\nsqlite\napp\nsqlite3", d);
    assert_string_not_equal(a, b);
    assert_string_not_equal(b, c);
    assert_string_equal(c, d);
    assert_memory_equal(a, "a_b_c_sqlite_app-", 17);
    assert_int_equal(strlen(a), strlen("a_b_c_sqlite_app-") + 16);
    /* odd bytes of an engine-derived name never reach the file name */
    sk_job_id("s", "e", "sqlite", "x/../y z", "k", a);
    assert_null(strchr(a, '/'));
    assert_null(strchr(a, ' '));
}

static void test_md5_lines(void **state)
{
    (void)state;
    char line[256], md5[65];
    sk_err err;
    sk_err_clear(&err);
    assert_true(sk_md5_line("900150983cd24fb0d6963f7d28e17f72", "a b.zst", line, sizeof line) > 0);
    assert_string_equal(line, "900150983cd24fb0d6963f7d28e17f72  a b.zst\n");
    assert_int_equal(sk_md5_parse(line, strlen(line), "a b.zst", md5, &err), SK_OK);
    assert_string_equal(md5, "900150983cd24fb0d6963f7d28e17f72");
    /* binary-mode marker and uppercase digits, as other tools write them */
    const char *bin = "900150983CD24FB0D6963F7D28E17F72 *x.zst";
    assert_int_equal(sk_md5_parse(bin, strlen(bin), "x.zst", md5, &err), SK_OK);
    assert_string_equal(md5, "900150983cd24fb0d6963f7d28e17f72");
    assert_int_equal(sk_md5_parse(line, strlen(line), "other.zst", md5, &err), SK_ERR_INTEGRITY);
    sk_err_clear(&err);
    assert_int_equal(sk_md5_parse("zz0150983cd24fb0d6963f7d28e17f72  a", 35, "a", md5, &err), SK_ERR_INTEGRITY);
    sk_err_clear(&err);
    assert_int_equal(sk_md5_parse("short", 5, "a", md5, &err), SK_ERR_INTEGRITY);
}

static void test_manifest_roundtrip(void **state)
{
    (void)state;
    sk_manifest m, back;
    memset(&m, 0, sizeof m);
    m.version = SK_MANIFEST_VERSION;
    snprintf(m.tool_version, sizeof m.tool_version, "%s", "0.1.0");
    snprintf(m.engine, sizeof m.engine, "%s", "sqlite");
    snprintf(m.tag, sizeof m.tag, "%s", "sqlite");
    snprintf(m.database, sizeof m.database, "%s", "app");
    snprintf(m.service, sizeof m.service, "%s", "backend");
    snprintf(m.environment, sizeof m.environment, "%s", "production");
    snprintf(m.key, sizeof m.key, "%s", "snapshots/backend/production/sqlite_app_20260323-000000.sqlite3.zst");
    snprintf(m.server_version, sizeof m.server_version, "%s", "SQLite 3.40.1");
    snprintf(m.facts_json, sizeof m.facts_json, "%s", "{\"page_size\":4096}");
    m.started_at = 1774224000;
    m.finished_at = 1774224005;
    m.plain_size = 1ull << 40;
    snprintf(m.plain_sha256, sizeof m.plain_sha256, "%s", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    m.stored_size = 12345;
    snprintf(m.stored_md5, sizeof m.stored_md5, "%s", "900150983cd24fb0d6963f7d28e17f72");
    snprintf(m.compression, sizeof m.compression, "%s", "zstd");
    m.compression_level = 3;
    sk_err err;
    sk_err_clear(&err);
    char *json = sk_manifest_to_json(&m, &err);
    assert_non_null(json);
    assert_int_equal(sk_manifest_parse(json, strlen(json), "m", &back, &err), SK_OK);
    assert_string_equal(back.key, m.key);
    assert_int_equal(back.plain_size, m.plain_size);
    assert_int_equal(back.stored_size, m.stored_size);
    assert_int_equal(back.started_at, m.started_at);
    assert_int_equal(back.finished_at, m.finished_at);
    assert_string_equal(back.plain_sha256, m.plain_sha256);
    assert_string_equal(back.stored_md5, m.stored_md5);
    assert_string_equal(back.facts_json, "{\"page_size\":4096}");
    assert_string_equal(back.server_version, m.server_version);

    /* a damaged manifest is refused with the field named */
    char *bad = strdup(json);
    char *p = strstr(bad, "\"md5\": \"9");
    assert_non_null(p);
    p[8] = 'X';
    assert_int_equal(sk_manifest_parse(bad, strlen(bad), "m", &back, &err), SK_ERR_INTEGRITY);
    assert_non_null(strstr(err.msg, "stored"));
    sk_err_clear(&err);
    assert_int_equal(sk_manifest_parse("{", 1, "m", &back, &err), SK_ERR_INTEGRITY);
    free(bad);
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_job_ids),
        cmocka_unit_test(test_md5_lines),
        cmocka_unit_test(test_manifest_roundtrip),
    };
    return cmocka_run_group_tests_name("naming", tests, NULL, NULL);
}
