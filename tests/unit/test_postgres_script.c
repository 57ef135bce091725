/* Unit tests for engines/postgres/pg_script.c: splitting plain SQL scripts into statements and
 * COPY data, independent of how the input is chunked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../engines/postgres/pg_script.h"

typedef struct rec {
    char *stmts[64];
    long lines[64];
    int n;
    char copy[4096];
    size_t copy_len;
    int copy_ends;
    long copy_end_line;
    int fail_at;     /* make on_statement fail for statement number fail_at (1-based), 0 = never */
} rec;

static sk_rc on_stmt(void *ud, const char *sql, size_t len, long line, int *copy_in, sk_err *err)
{
    rec *r = ud;
    assert_int_equal(strlen(sql), len);
    assert_true(r->n < 64);
    r->stmts[r->n] = strdup(sql);
    r->lines[r->n] = line;
    r->n++;
    if (r->fail_at == r->n)
        return sk_fail(err, SK_ERR_SOURCE, 0, "statement %d refused", r->n);
    /* What the server would do: COPY ... FROM stdin enters copy-in mode. */
    *copy_in = strstr(sql, "FROM stdin") != NULL;
    return SK_OK;
}

static sk_rc on_data(void *ud, const char *data, size_t len, sk_err *err)
{
    (void)err;
    rec *r = ud;
    assert_true(r->copy_len + len < sizeof r->copy);
    assert_int_equal(data[len - 1], '\n');
    memcpy(r->copy + r->copy_len, data, len);
    r->copy_len += len;
    r->copy[r->copy_len] = '\0';
    return SK_OK;
}

static sk_rc on_end(void *ud, long line, sk_err *err)
{
    (void)err;
    rec *r = ud;
    r->copy_ends++;
    r->copy_end_line = line;
    return SK_OK;
}

static void rec_free(rec *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->stmts[i]);
}

/* Run `script` through the splitter in chunks of `chunk` bytes (0 = all at once). */
static sk_rc run(rec *r, const char *script, size_t chunk, sk_err *err)
{
    sk_pg_script_cb cb = { on_stmt, on_data, on_end, r };
    sk_err_clear(err);
    sk_pg_script *s = sk_pg_script_new(&cb, err);
    assert_non_null(s);
    size_t len = strlen(script), off = 0;
    sk_rc rc = SK_OK;
    while (off < len && rc == SK_OK) {
        size_t k = chunk && chunk < len - off ? chunk : len - off;
        rc = sk_pg_script_feed(s, script + off, k, err);
        off += k;
    }
    if (rc == SK_OK)
        rc = sk_pg_script_end(s, err);
    sk_pg_script_free(s);
    return rc;
}

static const char *tricky =
    "SET standard_conforming_strings = on;\n"
    "-- a comment; with a semicolon\n"
    "CREATE TABLE \"we;ird\"\"t\" (a text DEFAULT 'x;''y');\n"
    "/* block /* nested; */ still; */ SELECT E'it\\'s; \\\\' AS a, 'b' AS \"c;\";\n"
    "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$ BEGIN RETURN 1; END; $fn$;\n"
    "SELECT $$a;$$ || $x$ $$; $x$, $1;\n"
    "CREATE RULE r AS ON INSERT TO t DO ( INSERT INTO a VALUES (1); INSERT INTO b VALUES (2); );\n"
    "CREATE OR REPLACE FUNCTION g(x int) RETURNS int LANGUAGE sql\n"
    "BEGIN ATOMIC\n"
    "  SELECT CASE WHEN x > 0 THEN 1 ELSE 2 END;\n"
    "  SELECT 3;\n"
    "END;\n"
    "COPY public.t (a, b) FROM stdin;\n"
    "1\tit's; \"x\"\n"
    "2\t\\N\n"
    "\\.\n"
    "SELECT pg_catalog.setval('public.s', 3, true);\n"
    "SELECT 'trailing' -- no semicolon\n";

static void check_tricky(rec *r)
{
    assert_int_equal(r->n, 10);
    assert_string_equal(r->stmts[0], "SET standard_conforming_strings = on;");
    assert_int_equal(r->lines[0], 1);
    assert_non_null(strstr(r->stmts[1], "CREATE TABLE \"we;ird\"\"t\" (a text DEFAULT 'x;''y');"));
    assert_int_equal(r->lines[1], 3);
    assert_non_null(strstr(r->stmts[2], "SELECT E'it\\'s; \\\\' AS a, 'b' AS \"c;\";"));
    assert_int_equal(r->lines[2], 4);
    assert_non_null(strstr(r->stmts[3], "END; $fn$;"));
    assert_int_equal(r->lines[3], 5);
    assert_non_null(strstr(r->stmts[4], "$x$ $$; $x$, $1;"));
    assert_non_null(strstr(r->stmts[5], "INSERT INTO b VALUES (2); );"));
    assert_non_null(strstr(r->stmts[6], "SELECT 3;\nEND;"));
    assert_int_equal(r->lines[6], 8);
    assert_string_equal(r->stmts[7], "\nCOPY public.t (a, b) FROM stdin;");
    assert_int_equal(r->lines[7], 13);
    assert_string_equal(r->copy, "1\tit's; \"x\"\n2\t\\N\n");
    assert_int_equal(r->copy_ends, 1);
    assert_int_equal(r->copy_end_line, 16);
    assert_string_equal(r->stmts[8], "SELECT pg_catalog.setval('public.s', 3, true);");
    assert_int_equal(r->lines[8], 17);
    assert_string_equal(r->stmts[9], "\nSELECT 'trailing' -- no semicolon\n");
    assert_int_equal(r->lines[9], 18);
}

static void test_tricky_whole(void **state)
{
    (void)state;
    rec r = { 0 };
    sk_err err;
    assert_int_equal(run(&r, tricky, 0, &err), SK_OK);
    check_tricky(&r);
    rec_free(&r);
}

/* Every chunk size must give the same statements: tokens, quotes and COPY lines split anywhere. */
static void test_tricky_every_chunking(void **state)
{
    (void)state;
    for (size_t chunk = 1; chunk <= 40; chunk++) {
        rec r = { 0 };
        sk_err err;
        assert_int_equal(run(&r, tricky, chunk, &err), SK_OK);
        check_tricky(&r);
        rec_free(&r);
    }
}

static void test_unterminated(void **state)
{
    (void)state;
    static const struct { const char *script; const char *msg; } cases[] = {
        { "SELECT 1;\nSELECT 'abc;\n", "string literal (statement at line 2)" },
        { "SELECT $q$ abc;\n", "dollar-quoted" },
        { "SELECT \"abc;\n", "quoted identifier" },
        { "SELECT 1; /* abc;\n", "comment" },
        { "SELECT 1;\nCOPY t (a) FROM stdin;\n1\n2\n", "COPY statement at line 2" },
        { "\\connect other\nSELECT 1;\n", "meta-command" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t chunk = 0; chunk <= 3; chunk++) {
            rec r = { 0 };
            sk_err err;
            assert_int_not_equal(run(&r, cases[i].script, chunk, &err), SK_OK);
            if (!strstr(err.msg, cases[i].msg))
                fail_msg("case %zu chunk %zu: '%s' lacks '%s'", i, chunk, err.msg, cases[i].msg);
            rec_free(&r);
        }
    }
}

/* A NUL byte would cut the statement text the server gets (found by tests/fuzz/fuzz_pg_script):
 * "DELETE FROM t -- <NUL>\n WHERE id = 1;" must not run as "DELETE FROM t -- ". */
static void nul_case(const char *script, size_t size);
static void test_nul_byte_refused(void **state)
{
    (void)state;
    static const char s1[] = "SELECT 1;\nDELETE FROM t -- \0\n WHERE id = 1;\n";
    static const char s2[] = "SELECT 1;\nSELECT E'\\\0' ;\n"; /* after a backslash escape too */
    nul_case(s1, sizeof s1);
    nul_case(s2, sizeof s2);
}

static void nul_case(const char *script, size_t size)
{
    for (size_t chunk = 1; chunk <= size; chunk++) {
        rec r = { 0 };
        sk_err err;
        sk_err_clear(&err);
        sk_pg_script_cb cb = { on_stmt, on_data, on_end, &r };
        sk_pg_script *s = sk_pg_script_new(&cb, &err);
        sk_rc rc = SK_OK;
        for (size_t off = 0; off < size - 1 && rc == SK_OK; off += chunk)
            rc = sk_pg_script_feed(s, script + off, chunk < size - 1 - off ? chunk : size - 1 - off, &err);
        if (rc == SK_OK)
            rc = sk_pg_script_end(s, &err);
        sk_pg_script_free(s);
        assert_int_equal(rc, SK_ERR_INTEGRITY);
        if (!strstr(err.msg, "line 2: NUL byte"))
            fail_msg("chunk %zu: '%s'", chunk, err.msg);
        assert_int_equal(r.n, 1); /* SELECT 1 only */
        rec_free(&r);
    }
}

static void test_callback_error_stops(void **state)
{
    (void)state;
    rec r = { 0 };
    r.fail_at = 2;
    sk_err err;
    assert_int_equal(run(&r, "SELECT 1;\nSELECT 2;\nSELECT 3;\n", 0, &err), SK_ERR_SOURCE);
    assert_int_equal(r.n, 2);
    assert_string_equal(err.msg, "statement 2 refused");
    rec_free(&r);
}

static void test_empty_and_comments_only(void **state)
{
    (void)state;
    rec r = { 0 };
    sk_err err;
    assert_int_equal(run(&r, "-- nothing\n;;\n/* here */\n", 1, &err), SK_OK);
    assert_int_equal(r.n, 0);
    rec_free(&r);
}

/* The "\." terminator without a final newline still closes the COPY block. */
static void test_copy_terminator_at_eof(void **state)
{
    (void)state;
    rec r = { 0 };
    sk_err err;
    assert_int_equal(run(&r, "COPY t FROM stdin;\na\\.b\n\\.", 0, &err), SK_OK);
    assert_int_equal(r.copy_ends, 1);
    assert_string_equal(r.copy, "a\\.b\n");
    rec_free(&r);
}

/* Identifiers containing BEGIN/END outside routine bodies do not swallow semicolons. */
static void test_begin_outside_routine(void **state)
{
    (void)state;
    rec r = { 0 };
    sk_err err;
    assert_int_equal(run(&r, "CREATE TABLE t (begin int);\nBEGIN;\nCREATE FUNCTION f(begin int) "
                             "RETURNS int LANGUAGE sql AS 'select 1';\nEND;\n", 0, &err), SK_OK);
    assert_int_equal(r.n, 4);
    rec_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tricky_whole),
        cmocka_unit_test(test_tricky_every_chunking),
        cmocka_unit_test(test_unterminated),
        cmocka_unit_test(test_nul_byte_refused),
        cmocka_unit_test(test_callback_error_stops),
        cmocka_unit_test(test_empty_and_comments_only),
        cmocka_unit_test(test_copy_terminator_at_eof),
        cmocka_unit_test(test_begin_outside_routine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
