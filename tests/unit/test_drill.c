/* Restore drills' decisions (agent/drill.c): counts against the manifest, health, and the record's
 * round trip through its file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../agent/drill.h"

static void test_compare(void **state)
{
    (void)state;
    char why[512] = "";
    /* names only in what was restored are not compared (tables whose data the dump left out) */
    assert_int_equal(sk_drill_compare("table", "{\"a\":3,\"b\":0}", "{\"a\":3,\"b\":0,\"c\":9}", why, sizeof why), 0);
    assert_string_equal(why, "");
    assert_int_equal(sk_drill_compare("table", "{\"a\":3,\"b\":1}", "{\"a\":2}", why, sizeof why), 2);
    assert_string_equal(why, "table a has 2 after the restore, the manifest says 3; table b is missing after the "
                             "restore (the manifest says 1)");
    why[0] = '\0';
    assert_int_equal(sk_drill_compare("table", "[1]", "{}", why, sizeof why), -1);
    assert_int_equal(sk_drill_compare("table", "{}", NULL, why, sizeof why), -1);
    /* a long list ends visibly cut */
    char want[4096] = "{", small[80] = "";
    for (int i = 0; i < 100; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s\"t%d\":1", i ? "," : "", i);
    snprintf(want + strlen(want), sizeof want - strlen(want), "}");
    assert_int_equal(sk_drill_compare("table", want, "{}", small, sizeof small), 100);
    assert_true(strlen(small) < sizeof small);
    assert_string_equal(small + strlen(small) - 3, "...");
}

static void test_health(void **state)
{
    (void)state;
    char why[1024];
    sk_drill_record r;
    memset(&r, 0, sizeof r);
    sk_drill_policy warn24 = { 24 * 3600, SK_HEALTH_WARN }, failnoage = { 0, SK_HEALTH_FAIL },
                    ignore = { 3600, SK_HEALTH_OK };
    int64_t now = 2000000000;
    /* never drilled: nothing to say until the age limit has passed since the job was first watched */
    assert_int_equal(sk_drill_health(&r, &warn24, now - 3600, now, why, sizeof why), SK_HEALTH_OK);
    assert_int_equal(sk_drill_health(&r, &warn24, now - 25 * 3600, now, why, sizeof why), SK_HEALTH_WARN);
    assert_non_null(strstr(why, "no restore drill has passed"));
    assert_int_equal(sk_drill_health(&r, &failnoage, now - 999999, now, why, sizeof why), SK_HEALTH_OK);
    /* a pass, fresh then old */
    r.last_run = r.last_pass = now - 3600;
    r.last_ok = 1;
    assert_int_equal(sk_drill_health(&r, &warn24, 0, now, why, sizeof why), SK_HEALTH_OK);
    r.last_run = r.last_pass = now - 30 * 3600;
    assert_int_equal(sk_drill_health(&r, &warn24, 0, now, why, sizeof why), SK_HEALTH_WARN);
    assert_non_null(strstr(why, "SNAPKEEP_DRILL_MAX_AGE"));
    assert_int_equal(sk_drill_health(&r, &failnoage, 0, now, why, sizeof why), SK_HEALTH_OK);
    /* a failure after a pass: the configured level, whatever the age */
    r.last_run = r.last_fail = now - 60;
    r.last_ok = 0;
    snprintf(r.last_error, sizeof r.last_error, "table t has 1 after the restore, the manifest says 2");
    assert_int_equal(sk_drill_health(&r, &failnoage, 0, now, why, sizeof why), SK_HEALTH_FAIL);
    assert_non_null(strstr(why, "FAILED: table t has 1"));
    assert_int_equal(sk_drill_health(&r, &ignore, 0, now, why, sizeof why), SK_HEALTH_OK);
}

static void test_record(void **state)
{
    (void)state;
    char dir[] = "/tmp/snapkeep-test-drill-XXXXXX";
    assert_non_null(mkdtemp(dir));
    sk_err err;
    sk_err_clear(&err);
    sk_drill_record a, b;
    assert_int_equal(sk_drill_read(dir, "job", &b, &err), SK_OK); /* missing: zeroed */
    assert_int_equal(b.last_run, 0);
    memset(&a, 0, sizeof a);
    a.last_run = a.last_fail = 1700000000;
    a.last_pass = 1690000000;
    a.last_exit = 10;
    a.last_duration = 1.5;
    a.passes = 3;
    a.failures = 2;
    snprintf(a.last_key, sizeof a.last_key, "p/s/e/sqlite_app_20231114-221320.sqlite3.zst");
    snprintf(a.last_error, sizeof a.last_error, "why \"quoted\"");
    assert_int_equal(sk_drill_write(dir, "job", &a, &err), SK_OK);
    assert_int_equal(sk_drill_read(dir, "job", &b, &err), SK_OK);
    assert_int_equal(b.last_run, a.last_run);
    assert_int_equal(b.last_pass, a.last_pass);
    assert_int_equal(b.last_fail, a.last_fail);
    assert_int_equal(b.last_ok, 0);
    assert_int_equal(b.last_exit, 10);
    assert_int_equal(b.passes, 3);
    assert_int_equal(b.failures, 2);
    assert_string_equal(b.last_key, a.last_key);
    assert_string_equal(b.last_error, a.last_error);
    char path[200];
    snprintf(path, sizeof path, "%s/job.drill.json", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
