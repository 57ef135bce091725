/* The redactor: credentials in URLs, conninfo strings and query strings are masked without
 * registration; registered secrets are masked with their embedded, decoded and cut-off forms;
 * output is bounded and never exposes a secret through truncation. Log lines escape control bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../agent/log.h"
#include "../../agent/redact.h"

static void expect(const char *in, const char *want)
{
    char out[512];
    size_t n = sk_redact(in, out, sizeof out);
    if (strcmp(out, want) != 0)
        fail_msg("sk_redact(\"%s\")\n  got  \"%s\"\n  want \"%s\"", in, out, want);
    assert_int_equal(n, strlen(want));
}

static void test_uri_userinfo(void **state)
{
    (void)state;
    expect("restore done: k -> postgresql://user:PASSWORD@host/db",
           "restore done: k -> postgresql://user:***@host/db");
    expect("postgres://u:p%40ss@h1,h2:5433/db?sslmode=require", "postgres://u:***@h1,h2:5433/db?sslmode=require");
    expect("postgresql://user@host/db", "postgresql://user@host/db"); /* no password: nothing to hide */
    expect("a password with an @: postgresql://u:p@ss@host/db", "a password with an @: postgresql://u:***@host/db");
    expect("https://TOKEN123@hooks.example/x", "https://***@hooks.example/x");
    expect("https://u:pw@example.com/a and http://example.com/", "https://u:***@example.com/a and http://example.com/");
    expect("no url: a://b and mail x@y", "no url: a://b and mail x@y");
}

static void test_conninfo(void **state)
{
    (void)state;
    expect("host=db user=app password=s3cr3t dbname=x", "host=db user=app password=*** dbname=x");
    expect("host=db password = 'it\\'s a secret' port=5432", "host=db password = '***' port=5432");
    expect("PASSWORD=abc", "PASSWORD=***");
    expect("sslpassword=keypass host=h", "sslpassword=*** host=h");
    expect("host=db user=app", "host=db user=app");
    expect("'host=h password=x'", "'host=h password=***"); /* over-masks the closing quote: fine */
    expect("S3_SECRET_ACCESS_KEY=*** (env)", "S3_SECRET_ACCESS_KEY=*** (env)");
}

static void test_query_tokens(void **state)
{
    (void)state;
    expect("GET https://b.s3.example/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F2026&"
           "X-Amz-Signature=deadbeef&x-id=GetObject",
           "GET https://b.s3.example/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***&"
           "X-Amz-Signature=***&x-id=GetObject");
    expect("http://pb:8090/api/files/x/y.zip?token=eyJhbGciOi.abc.def#frag", "http://pb:8090/api/files/x/y.zip?token=***#frag");
    expect("https://h/p?sig=abc&key=K&page=2", "https://h/p?sig=***&key=***&page=2");
    expect("the key=value of a sentence", "the key=value of a sentence"); /* "key" counts only in a query */
    expect("postgresql://h/db?password=pw&sslmode=verify-full", "postgresql://h/db?password=***&sslmode=verify-full");
    expect("Authorization: Bearer abc.def-ghi rest", "Authorization: Bearer *** rest");
}

static void test_registered_secrets(void **state)
{
    (void)state;
    sk_redactor *r = sk_redactor_new();
    char out[512];
    /* a malformed URL: libpq quotes the password part alone */
    assert_int_equal(sk_redactor_add(r, "postgresql://app:Pa%ssSECRET@127.0.0.1/db", 1), 0);
    sk_redactor_apply(r, "invalid percent-encoded token: \"Pa%ssSECRET\"", out, sizeof out);
    assert_string_equal(out, "invalid percent-encoded token: \"***\"");
    sk_redactor_apply(r, "DATABASE_URL postgresql://app:Pa%ssSECRET@127.0.0.1/db", out, sizeof out);
    assert_string_equal(out, "DATABASE_URL ***");
    /* the decoded form of an encoded password */
    assert_int_equal(sk_redactor_add(r, "postgres://u:sec%2Fret%40x@h/db", 1), 0);
    sk_redactor_apply(r, "server said sec/ret@x was wrong", out, sizeof out);
    assert_string_equal(out, "server said *** was wrong");
    /* a raw secret shown percent-encoded inside a URL */
    assert_int_equal(sk_redactor_add(r, "pw@with/slash", 1), 0);
    sk_redactor_apply(r, "GET /x?p=pw%40with%2Fslash&y=1", out, sizeof out);
    assert_string_equal(out, "GET /x?p=***&y=1");
    /* a quoted conninfo value, unescaped */
    assert_int_equal(sk_redactor_add(r, "host=h password='a b\\'c'", 1), 0);
    sk_redactor_apply(r, "why: a b'c", out, sizeof out);
    assert_string_equal(out, "why: ***");
    /* a message cut inside a secret */
    assert_int_equal(sk_redactor_add(r, "ABCDEFGHIJKLMNOP", 1), 0);
    sk_redactor_apply(r, "cut here: ABCDEF", out, sizeof out);
    assert_string_equal(out, "cut here: ***");
    /* a registered credential-only URL keeps its host */
    assert_int_equal(sk_redactor_add(r, "postgresql://bob:TargetPw9@db/new", 0), 0);
    sk_redactor_apply(r, "restore done: x -> postgresql://bob:TargetPw9@db/new; auth failed for TargetPw9", out,
                      sizeof out);
    assert_string_equal(out, "restore done: x -> postgresql://bob:***@db/new; auth failed for ***");
    /* short values are ignored: they would mangle words */
    assert_int_equal(sk_redactor_add(r, "pw", 1), 0);
    sk_redactor_apply(r, "pw", out, sizeof out);
    assert_string_equal(out, "pw");
    sk_redactor_free(r);
    sk_redactor_free(NULL);
}

static void test_bounds(void **state)
{
    (void)state;
    char small[12];
    /* truncation never shows more than the masked text would */
    size_t n = sk_redact("x://u:SECRETPASSWORD@h", small, sizeof small);
    assert_int_equal(n, strlen("x://u:***@h"));
    assert_string_equal(small, "x://u:***@h");
    n = sk_redact("password=SECRETPASSWORD and more", small, sizeof small);
    assert_string_equal(small, "password=**");
    assert_int_equal(n, strlen("password=*** and more"));
    assert_int_equal(sk_redact("abc", NULL, 0), 3);
    char q[64];
    sk_redact_quoted("invalid percent-encoded token: \"Pa%ssX\" and \"\" and \"open", q, sizeof q);
    assert_string_equal(q, "invalid percent-encoded token: \"***\" and \"***\" and \"***\"");
}

static void test_log_lines(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sk_log *log = sk_log_new(f, 0);
    sk_log_set_job(log, "svc\x1b[2J");
    sk_log_add_secret(log, "postgresql://a:LogSecret77@h/d");
    sk_log_msg(log, SK_LOG_INFO, "md5 sidecar holds 'abc\n2026-01-01T00:00:00Z error forged\x07' token LogSecret77");
    sk_log_msg(log, SK_LOG_INFO, "to postgresql://u:Other99@h/d");
    sk_log_free(log);
    fclose(f);
    assert_null(strstr(buf, "LogSecret77"));
    assert_null(strstr(buf, "Other99"));
    assert_null(strchr(buf, '\x1b'));
    assert_null(strchr(buf, '\x07'));
    assert_non_null(strstr(buf, "svc\\x1b[2J: "));
    assert_non_null(strstr(buf, "'abc\\n2026-01-01T00:00:00Z error forged\\x07' token ***"));
    int lines = 0;
    for (char *p = buf; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 2);
    free(buf);
}

static void test_json_lines(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sk_log *log = sk_log_new(f, 1);
    sk_log_msg(log, SK_LOG_ERROR, "key 'caf\xc3\xa9\xff\xc0\x80\x01\n' to https://u:JsonPw42@h/x");
    sk_log_msg(log, SK_LOG_ERROR, "lead \xf8\x80\x80 and \xf5\x80\x80\x80 end");
    sk_log_free(log);
    fclose(f);
    assert_non_null(strstr(buf, "key 'caf\xc3\xa9\\ufffd\\ufffd\\ufffd\\u0001\\n' to https://u:***@h/x"));
    assert_null(strstr(buf, "JsonPw42"));
    assert_non_null(strstr(buf, "lead \\ufffd\\ufffd\\ufffd and \\ufffd\\ufffd\\ufffd\\ufffd end"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri_userinfo),    cmocka_unit_test(test_conninfo),
        cmocka_unit_test(test_query_tokens),    cmocka_unit_test(test_registered_secrets),
        cmocka_unit_test(test_bounds),          cmocka_unit_test(test_log_lines),
        cmocka_unit_test(test_json_lines),
    };
    return cmocka_run_group_tests_name("redact", tests, NULL, NULL);
}
