/* Several destinations per job: the numbered names of further slots (S3_2_BUCKET...), their
 * inverse, and which destinations a configuration selects, in which order, with which errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../agent/registry.h"
#include "../../uploader/local/local.h"
#include "../../uploader/s3/s3.h"

static void test_slot_names(void **state)
{
    (void)state;
    char n[64], base[64];
    const sk_dest_type *t;
    int slot;
    assert_int_equal(sk_dest_setting_name(&sk_dest_s3, "S3_BUCKET", 1, n, sizeof n), 0);
    assert_string_equal(n, "S3_BUCKET");
    sk_dest_setting_name(&sk_dest_s3, "S3_BUCKET", 2, n, sizeof n);
    assert_string_equal(n, "S3_2_BUCKET");
    sk_dest_setting_name(&sk_dest_s3, "R2_ACCOUNT_ID", 3, n, sizeof n);
    assert_string_equal(n, "S3_3_R2_ACCOUNT_ID");
    sk_dest_setting_name(&sk_dest_s3, "S3_SECRET_ACCESS_KEY_FILE", 4, n, sizeof n);
    assert_string_equal(n, "S3_4_SECRET_ACCESS_KEY_FILE");
    sk_dest_setting_name(&sk_dest_s3, "S3_PART_SIZE_MB", 2, n, sizeof n); /* shared tuning */
    assert_string_equal(n, "S3_PART_SIZE_MB");
    assert_int_equal(sk_dest_setting_name(&sk_dest_s3, "S3_BUCKET", 2, n, 8), -1); /* never cut */

    /* every slot setting of every slot maps back to itself */
    for (int s = 2; s <= sk_dest_s3.slots; s++)
        for (size_t i = 0; sk_dest_s3.slot_settings[i]; i++) {
            sk_dest_setting_name(&sk_dest_s3, sk_dest_s3.slot_settings[i], s, n, sizeof n);
            assert_true(sk_dest_setting_parse(n, &t, &slot, base, sizeof base));
            assert_ptr_equal(t, &sk_dest_s3);
            assert_int_equal(slot, s);
            assert_string_equal(base, sk_dest_s3.slot_settings[i]);
        }
    assert_true(sk_dest_setting_parse("S3_2_ACCESS_KEY_ID_FILE", &t, &slot, base, sizeof base));
    assert_string_equal(base, "S3_ACCESS_KEY_ID_FILE");
    assert_false(sk_dest_setting_parse("S3_2_PART_SIZE_MB", &t, &slot, base, sizeof base));
    assert_false(sk_dest_setting_parse("S3_BUCKET", &t, &slot, base, sizeof base));
    /* only the names sk_dest_setting_name writes (fuzz_env: corpus/env/regress-slot-*) */
    assert_false(sk_dest_setting_parse("S3_2_S3_BUCKET", &t, &slot, base, sizeof base));
    assert_false(sk_dest_setting_parse("S3_02_BUCKET", &t, &slot, base, sizeof base));
    assert_false(sk_dest_setting_parse("S3_2_S3_SECRET_ACCESS_KEY_FILE", &t, &slot, base, sizeof base));
    assert_true(sk_dest_setting_parse("S3_9_BUCKET", &t, &slot, base, sizeof base)); /* the caller says "at most 4" */
    assert_int_equal(slot, 9);

    sk_dest_label(&sk_dest_s3, 1, n, sizeof n);
    assert_string_equal(n, "s3");
    sk_dest_label(&sk_dest_s3, 2, n, sizeof n);
    assert_string_equal(n, "s3_2");
}

static const char *fake_get(void *ud, const char *name)
{
    char **env = ud;
    size_t n = strlen(name);
    for (; *env; env++)
        if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
            return *env + n + 1;
    return NULL;
}

static sk_rc pick(char **env, sk_dest_pick *p, size_t *n, sk_err *err)
{
    sk_err_clear(err);
    sk_config *c = sk_config_load(sk_all_settings(), fake_get, env, env, err);
    if (!c)
        return err->rc;
    sk_rc rc = sk_dests_select(c, p, n, err);
    sk_config_free(c);
    return rc;
}

static void test_selection(void **state)
{
    (void)state;
    sk_dest_pick p[SK_MAX_DESTS];
    size_t n;
    sk_err err;
    char *both[] = { "SNAPKEEP_DEST_DIR=/b", "S3_BUCKET=one", "S3_3_BUCKET=three", NULL };
    assert_int_equal(pick(both, p, &n, &err), SK_OK);
    assert_int_equal(n, 3); /* both set used to be refused: now they are two (here three) copies */
    assert_ptr_equal(p[0].type, &sk_dest_local);
    assert_ptr_equal(p[1].type, &sk_dest_s3);
    assert_int_equal(p[1].slot, 1);
    assert_int_equal(p[2].slot, 3);

    char *only[] = { "SNAPKEEP_DEST_DIR=/b", "S3_BUCKET=one", "SNAPKEEP_DESTINATION=s3", NULL };
    assert_int_equal(pick(only, p, &n, &err), SK_OK);
    assert_int_equal(n, 1);
    assert_ptr_equal(p[0].type, &sk_dest_s3);

    char *orphan[] = { "S3_BUCKET=one", "S3_2_REGION=eu", NULL };
    assert_int_equal(pick(orphan, p, &n, &err), SK_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "S3_2_REGION is set but S3_2_BUCKET is not"));

    char *typo[] = { "S3_BUCKET=one", "S3_2_BUKET=two", NULL };
    assert_int_equal(pick(typo, p, &n, &err), SK_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "did you mean S3_2_BUCKET"));

    char *fifth[] = { "S3_BUCKET=one", "S3_5_BUCKET=five", NULL };
    assert_int_equal(pick(fifth, p, &n, &err), SK_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "at most 4 s3 destinations"));

    char *none[] = { NULL };
    assert_int_equal(pick(none, p, &n, &err), SK_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "S3_2_BUCKET"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slot_names),
        cmocka_unit_test(test_selection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
