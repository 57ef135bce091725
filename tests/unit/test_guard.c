/* The guards' verdicts (agent/guard.c) on hand-made manifest facts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../agent/guard.h"

static const sk_guard_facts prev = { 100000, "{\"a\":1000,\"b\":10}" };

static int verdict(const char *tables, uint64_t size, const sk_guard_facts *p, char *why, size_t sz)
{
    sk_guard_facts cur = { size, tables };
    return sk_guard_check(&cur, p, 50, why, sz);
}

static void test_good_and_growing(void **state)
{
    (void)state;
    char why[512];
    assert_false(verdict("{\"a\":1001,\"b\":10,\"c\":0}", 100100, &prev, why, sizeof why));
    assert_string_equal(why, "");
    assert_false(verdict("{\"a\":600,\"b\":10}", 60000, &prev, why, sizeof why)); /* -40%: within 50% */
    assert_false(verdict(NULL, 100000, NULL, why, sizeof why));                   /* nothing to compare */
}

static void test_flags(void **state)
{
    (void)state;
    char why[512];
    assert_true(verdict("{\"a\":1000,\"b\":0}", 99000, &prev, why, sizeof why));
    assert_string_equal(why, "table b was emptied (it had 10 rows)");
    assert_true(verdict("{\"a\":1000}", 99000, &prev, why, sizeof why));
    assert_string_equal(why, "table b disappeared (it had 10 rows)");
    assert_true(verdict("{}", 500, NULL, why, sizeof why));
    assert_string_equal(why, "empty: no user tables");
    assert_true(verdict("{\"a\":0,\"b\":0}", 99000, NULL, why, sizeof why));
    assert_string_equal(why, "empty: no rows in any of its 2 table(s)");
    assert_true(verdict("{\"a\":400,\"b\":10}", 99000, &prev, why, sizeof why));
    assert_non_null(strstr(why, "total rows dropped from 1010 to 410"));
    /* size only (an engine that does not count rows) */
    assert_true(verdict(NULL, 531, &(sk_guard_facts){ 452300, NULL }, why, sizeof why));
    assert_non_null(strstr(why, "plaintext size dropped from 452300 to 531 bytes"));
    sk_guard_facts cur = { 531, NULL };
    assert_false(sk_guard_check(&cur, &(sk_guard_facts){ 452300, NULL }, 0, why, sizeof why)); /* 0: off */
}

static void test_reasons_cut_visibly(void **state)
{
    (void)state;
    char why[48];
    assert_true(verdict("{}", 1, &prev, why, sizeof why));
    assert_true(strlen(why) < sizeof why);
    assert_non_null(strstr(why, "..."));
    assert_int_equal(sk_guard_total_rows("{\"a\":2,\"b\":3}"), 5);
    assert_int_equal(sk_guard_total_rows(NULL), -1);
    assert_int_equal(sk_guard_total_rows("[1]"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_and_growing),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_reasons_cut_visibly),
    };
    return cmocka_run_group_tests_name("guard", tests, NULL, NULL);
}
