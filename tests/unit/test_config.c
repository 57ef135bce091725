/* Settings: environment and *_FILE loading, validation messages that name the variable, unknown
 * SNAPKEEP_* variables, and secrets that never reach a message or the printed configuration. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../agent/config.h"
#include "../../agent/log.h"

static const sk_setting_def table[] = {
    { "SNAPKEEP_LEVEL", SK_SET_INT, "3", 1, 22, NULL, 0, "level" },
    { "SNAPKEEP_THREADS", SK_SET_INT, "auto", 0, 64, "auto", 0, "threads" },
    { "SNAPKEEP_FORMAT", SK_SET_ENUM, "text", 0, 0, "text|json", 0, "format" },
    { "SNAPKEEP_NAME", SK_SET_NAME, NULL, 0, 0, NULL, 0, "name" },
    { "SNAPKEEP_PREFIX", SK_SET_PREFIX, "snapshots", 0, 0, NULL, 0, "prefix" },
    { "TEST_PASSWORD", SK_SET_STRING, NULL, 0, 0, NULL, 1, "a secret" },
    { "TEST_TOKEN", SK_SET_INT, NULL, 0, 100, NULL, 1, "a numeric secret" },
    { "SNAPKEEP_LISTEN", SK_SET_LISTEN, NULL, 0, 0, NULL, 0, "listen" },
    { "SNAPKEEP_HOOK", SK_SET_URL, NULL, 0, 0, NULL, 1, "a secret URL" },
    { "TEST_ALIAS_PW", SK_SET_ALIAS, "TEST_PASSWORD", 0, 0, NULL, 1, "alias of a secret" },
    { "TEST_ALIAS_LEVEL", SK_SET_ALIAS, "SNAPKEEP_LEVEL", 0, 0, NULL, 0, "alias of an int" },
    { "S3_REGION", SK_SET_STRING, NULL, 0, 0, NULL, 0, "region" },
    { "SNAPKEEP_IGNORE_VARS", SK_SET_STRING, NULL, 0, 0, NULL, 0, "ignore" },
    { NULL, 0, NULL, 0, 0, NULL, 0, NULL },
};
static const sk_setting_def *const tables[] = { table, NULL };

/* a fake environment: NULL-terminated "NAME=value" list */
static const char *fake_get(void *ud, const char *name)
{
    char **env = ud;
    size_t n = strlen(name);
    for (; *env; env++)
        if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
            return *env + n + 1;
    return NULL;
}

static sk_config *load(char **env, sk_err *err)
{
    sk_err_clear(err);
    return sk_config_load(tables, fake_get, env, env, err);
}

static void test_defaults_and_values(void **state)
{
    (void)state;
    sk_err err;
    char *env[] = { "SNAPKEEP_LEVEL=19", "SNAPKEEP_NAME=app_db", "PATH=/bin", NULL };
    sk_config *c = load(env, &err);
    assert_non_null(c);
    assert_int_equal(sk_config_int(c, "SNAPKEEP_LEVEL", 0), 19);
    assert_string_equal(sk_config_origin(c, "SNAPKEEP_LEVEL"), "env");
    assert_int_equal(sk_config_int(c, "SNAPKEEP_THREADS", 7), 7); /* "auto" -> caller's default */
    assert_string_equal(sk_config_str(c, "SNAPKEEP_FORMAT"), "text");
    assert_string_equal(sk_config_origin(c, "SNAPKEEP_FORMAT"), "default");
    assert_string_equal(sk_config_str(c, "SNAPKEEP_NAME"), "app_db");
    assert_null(sk_config_str(c, "TEST_PASSWORD"));
    assert_int_equal(sk_config_require(c, "TEST_PASSWORD", "needed", &err), SK_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "TEST_PASSWORD"));
    sk_config_free(c);
}

static void expect_error(char **env, const char *needle1, const char *needle2)
{
    sk_err err;
    sk_config *c = load(env, &err);
    assert_null(c);
    assert_int_equal(err.rc, SK_ERR_CONFIG);
    if (!strstr(err.msg, needle1) || (needle2 && !strstr(err.msg, needle2)))
        fail_msg("message '%s' lacks '%s' / '%s'", err.msg, needle1, needle2 ? needle2 : "");
}

static void test_bad_values_name_the_variable(void **state)
{
    (void)state;
    char *e1[] = { "SNAPKEEP_LEVEL=23", NULL };
    expect_error(e1, "SNAPKEEP_LEVEL", "1..22");
    char *e2[] = { "SNAPKEEP_LEVEL=3x", NULL };
    expect_error(e2, "SNAPKEEP_LEVEL", "whole number");
    char *e3[] = { "SNAPKEEP_FORMAT=xml", NULL };
    expect_error(e3, "SNAPKEEP_FORMAT", "text|json");
    char *e4[] = { "SNAPKEEP_NAME=a/b", NULL };
    expect_error(e4, "SNAPKEEP_NAME", "not a valid name");
    char *e5[] = { "SNAPKEEP_PREFIX=a//b", NULL };
    expect_error(e5, "SNAPKEEP_PREFIX", NULL);
    char *e6[] = { "SNAPKEEP_PREFIX=/abs", NULL };
    expect_error(e6, "SNAPKEEP_PREFIX", NULL);
    char *e7[] = { "SNAPKEEP_THREADS=many", NULL };
    expect_error(e7, "SNAPKEEP_THREADS", "auto");
}

static void test_unknown_variables(void **state)
{
    (void)state;
    char *e1[] = { "SNAPKEEP_LEVLE=3", NULL };
    expect_error(e1, "unknown variable SNAPKEEP_LEVLE", "did you mean SNAPKEEP_LEVEL");
    char *e2[] = { "SNAPKEEP_COMPLETELY_DIFFERENT=1", NULL };
    expect_error(e2, "unknown variable SNAPKEEP_COMPLETELY_DIFFERENT", NULL);
    /* X_FILE of a declared X is known; other variables are none of our business */
    char *e3[] = { "SNAPKEEP_NAME_FILE=/nonexistent/x", NULL };
    expect_error(e3, "SNAPKEEP_NAME_FILE", "/nonexistent/x");
    char *ok[] = { "OTHER_THING=1", "AWS_PROFILE=x", "S3=1", NULL };
    sk_err err;
    sk_config *c = load(ok, &err);
    assert_non_null(c);
    sk_config_free(c);
    /* S3_, R2_ and POCKETBASE_ are snapkeep's prefixes too */
    char *e4[] = { "S3_REGON=eu-west-1", NULL };
    expect_error(e4, "unknown variable S3_REGON", "did you mean S3_REGION");
    char *e4f[] = { "S3_REGON_FILE=/x", NULL };
    expect_error(e4f, "unknown variable S3_REGON_FILE", "did you mean S3_REGION_FILE");
    char *e5[] = { "POCKETBASE_THEME=dark", NULL };
    expect_error(e5, "unknown variable POCKETBASE_THEME", NULL);
    char *e6[] = { "R2_BUCKET=b", NULL };
    expect_error(e6, "unknown variable R2_BUCKET", NULL);
    /* ... unless SNAPKEEP_IGNORE_VARS names them */
    char *ign[] = { "POCKETBASE_THEME=dark", "S3_REGON=x", "SNAPKEEP_IGNORE_VARS=S3_REGON,POCKETBASE_THEME", NULL };
    c = load(ign, &err);
    assert_non_null(c);
    sk_config_free(c);
}

static void test_kinds_and_aliases(void **state)
{
    (void)state;
    sk_err err;
    /* enums are stored in their declared spelling, so exact comparisons apply them */
    char *e1[] = { "SNAPKEEP_FORMAT=JSON", NULL };
    sk_config *c = load(e1, &err);
    assert_non_null(c);
    assert_string_equal(sk_config_str(c, "SNAPKEEP_FORMAT"), "json");
    sk_config_free(c);
    /* listen addresses: the port is 1..65535, never wrapped */
    static const char *const good_listen[] = { "0.0.0.0:9090", ":9090", "[::1]:65535", "localhost:1", NULL };
    static const char *const bad_listen[] = { "0.0.0.0:99999", ":0", ":65536", "host", "::1:80", "h:80x", "h: 80",
                                              "[::1]:", "a b:80", NULL };
    for (size_t i = 0; good_listen[i]; i++) {
        sk_err_clear(&err);
        assert_int_equal(sk_setting_check(&table[7], good_listen[i], &err), SK_OK);
    }
    for (size_t i = 0; bad_listen[i]; i++) {
        sk_err_clear(&err);
        assert_int_equal(sk_setting_check(&table[7], bad_listen[i], &err), SK_ERR_CONFIG);
        assert_non_null(strstr(err.msg, "SNAPKEEP_LISTEN"));
    }
    /* URLs: absolute http(s) with a host; a secret URL is never quoted in the message */
    static const char *const good_url[] = { "https://hooks.example/x?y=1", "http://127.0.0.1:8080/", NULL };
    static const char *const bad_url[] = { "hooks.example/x", "ftp://h/x", "https://", "https://h/a b", "https:///x",
                                           NULL };
    for (size_t i = 0; good_url[i]; i++) {
        sk_err_clear(&err);
        assert_int_equal(sk_setting_check(&table[8], good_url[i], &err), SK_OK);
    }
    for (size_t i = 0; bad_url[i]; i++) {
        sk_err_clear(&err);
        assert_int_equal(sk_setting_check(&table[8], bad_url[i], &err), SK_ERR_CONFIG);
        assert_non_null(strstr(err.msg, "SNAPKEEP_HOOK (value hidden: secret) is not a URL"));
    }
    /* an alias fills its target, is shown as its origin, and may not contradict it */
    char *a1[] = { "TEST_ALIAS_PW=alias-secret-1", NULL };
    c = load(a1, &err);
    assert_non_null(c);
    assert_string_equal(sk_config_str(c, "TEST_PASSWORD"), "alias-secret-1");
    assert_string_equal(sk_config_origin(c, "TEST_PASSWORD"), "TEST_ALIAS_PW");
    sk_config_free(c);
    char *a2[] = { "TEST_ALIAS_PW=alias-secret-1", "TEST_PASSWORD=alias-secret-1", NULL };
    c = load(a2, &err);
    assert_non_null(c);
    sk_config_free(c);
    char *a3[] = { "TEST_ALIAS_PW=alias-secret-1", "TEST_PASSWORD=other-secret-2", NULL };
    expect_error(a3, "TEST_PASSWORD and TEST_ALIAS_PW are both set", "hidden");
    char *a4[] = { "TEST_ALIAS_LEVEL=99", NULL };
    expect_error(a4, "(from TEST_ALIAS_LEVEL) SNAPKEEP_LEVEL='99'", NULL);
    char *a5[] = { "TEST_ALIAS_LEVEL=5", NULL }; /* a default is not "set": the alias wins */
    c = load(a5, &err);
    assert_non_null(c);
    assert_int_equal(sk_config_int(c, "SNAPKEEP_LEVEL", 0), 5);
    sk_config_free(c);
}

static void test_file_variables(void **state)
{
    (void)state;
    char path[] = "/tmp/snapkeep-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cr3t-value-42\n", 16), 16);
    close(fd);
    char var[128];
    snprintf(var, sizeof var, "TEST_PASSWORD_FILE=%s", path);
    char *env[] = { var, NULL };
    sk_err err;
    sk_config *c = load(env, &err);
    assert_non_null(c);
    /* one trailing newline is dropped, as secrets files are usually written with one */
    assert_string_equal(sk_config_str(c, "TEST_PASSWORD"), "s3cr3t-value-42");
    assert_string_equal(sk_config_origin(c, "TEST_PASSWORD"), "file");

    /* printed configuration masks it */
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    sk_config_print(c, mem);
    fclose(mem);
    assert_null(strstr(buf, "s3cr3t"));
    assert_non_null(strstr(buf, "TEST_PASSWORD=***"));
    free(buf);
    sk_config_free(c);

    /* both X and X_FILE: refused */
    char *both[] = { var, "TEST_PASSWORD=x", NULL };
    expect_error(both, "TEST_PASSWORD", "only one");
    unlink(path);
}

static void test_secret_values_never_in_messages(void **state)
{
    (void)state;
    char *env[] = { "TEST_TOKEN=hunter2hunter2", NULL };
    sk_err err;
    sk_config *c = load(env, &err);
    assert_null(c);
    assert_non_null(strstr(err.msg, "TEST_TOKEN"));
    assert_null(strstr(err.msg, "hunter2"));
}

static void test_log_redaction(void **state)
{
    (void)state;
    sk_log *log = sk_log_new(stderr, 0);
    sk_log_add_secret(log, "p@ssw0rd-xyz");
    sk_log_add_secret(log, "ab"); /* too short to redact safely: ignored */
    char out[256];
    sk_log_redact(log, "url postgres://u:p@ssw0rd-xyz@db/ab and p@ssw0rd-xyz", out, sizeof out);
    assert_string_equal(out, "url postgres://u:***@db/ab and ***");
    sk_log_free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_values),
        cmocka_unit_test(test_bad_values_name_the_variable),
        cmocka_unit_test(test_unknown_variables),
        cmocka_unit_test(test_kinds_and_aliases),
        cmocka_unit_test(test_file_variables),
        cmocka_unit_test(test_secret_values_never_in_messages),
        cmocka_unit_test(test_log_redaction),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
