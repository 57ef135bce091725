/*
 * Unit tests for agent/jobs.c: a PostgreSQL job expands into one job per database (and one for
 * the roles) with distinct names, so that no two jobs share a name, a lock or a key space.
 * Found by tests/fuzz/fuzz_config_file (property: job names distinct after expansion).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/jobs_internal.h"
#include "../../agent/registry.h"

static const char *const *vars;

static const char *get(void *ud, const char *name)
{
    (void)ud;
    for (size_t i = 0; vars[i]; i += 2)
        if (!strcmp(vars[i], name))
            return vars[i + 1];
    return NULL;
}

/* Expand one job from `v` (name, value, ..., NULL) named `base`; returns the rc, names in *j. */
static sk_rc expand(const char *const *v, const char *base, sk_jobs *j, sk_err *err)
{
    vars = v;
    sk_err_clear(err);
    sk_config *cfg = sk_config_load(sk_all_settings(), get, NULL, NULL, err);
    assert_non_null(cfg);
    memset(j, 0, sizeof *j);
    sk_rc rc = sk_jobs_expand(j, cfg, base, err);
    sk_config_free(cfg);
    return rc;
}

static void test_expansion(void **state)
{
    (void)state;
    sk_jobs j;
    sk_err err;
    const char *const ok[] = { "SNAPKEEP_ENGINE", "postgres", "SNAPKEEP_PG_DATABASES", "app, shop",
                               "SNAPKEEP_PG_GLOBALS", "true", NULL };
    assert_int_equal(expand(ok, "pg", &j, &err), SK_OK);
    assert_int_equal(j.nderived, 3);
    assert_string_equal(j.derived_names[0], "pg/app");
    assert_string_equal(j.derived_names[1], "pg/shop");
    assert_string_equal(j.derived_names[2], "pg/globals");
    sk_jobs_free(&j);
}

static void test_duplicate_names_refused(void **state)
{
    (void)state;
    sk_jobs j;
    sk_err err;
    /* the same database twice: two jobs with one lock, one state and one key space */
    const char *const twice[] = { "SNAPKEEP_ENGINE", "postgres", "SNAPKEEP_PG_DATABASES", "app,shop, app", NULL };
    assert_int_equal(expand(twice, "pg", &j, &err), SK_ERR_CONFIG);
    if (!strstr(err.msg, "'pg/app'"))
        fail_msg("message: %s", err.msg);
    sk_jobs_free(&j);
    /* a database named like the roles job */
    const char *const globals[] = { "SNAPKEEP_ENGINE", "postgres", "SNAPKEEP_PG_DATABASES", "globals",
                                    "SNAPKEEP_PG_GLOBALS", "on", NULL };
    assert_int_equal(expand(globals, NULL, &j, &err), SK_ERR_CONFIG);
    if (!strstr(err.msg, "'globals'"))
        fail_msg("message: %s", err.msg);
    sk_jobs_free(&j);
    /* a job of a file named like another job's database job */
    const char *const pg[] = { "SNAPKEEP_ENGINE", "postgres", "SNAPKEEP_PG_DATABASES", "a", NULL };
    const char *const other[] = { "SNAPKEEP_ENGINE", "sqlite", "SNAPKEEP_SERVICE", "x", NULL };
    assert_int_equal(expand(pg, "pg", &j, &err), SK_OK);
    vars = other;
    sk_config *cfg = sk_config_load(sk_all_settings(), get, NULL, NULL, &err);
    assert_non_null(cfg);
    assert_int_equal(sk_jobs_expand(&j, cfg, "pg/a", &err), SK_ERR_CONFIG);
    sk_config_free(cfg);
    sk_jobs_free(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expansion),
        cmocka_unit_test(test_duplicate_names_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
