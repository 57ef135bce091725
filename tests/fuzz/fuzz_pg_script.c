/*
 * fuzz_pg_script: the SQL restore-script scanner (engines/postgres/pg_script), which splits a
 * script read back from a bucket into statements and COPY data.
 * Input: one byte choosing how to cut the rest into chunks, then the script.
 * Property: statement boundaries, their line numbers, the COPY data and the outcome (error or not,
 * and the message) are the same whether the script is pushed whole, one byte at a time (inputs up
 * to 1 KiB), or in chunks of 1..17 bytes drawn from the first byte. A statement is put into COPY mode when it starts with COPY and says
 * FROM stdin, as psql would see it.
 */
#include "fuzz.h"

#include <strings.h>

#include "../../engines/postgres/pg_script.h"

typedef struct trace {
    char *buf;
    size_t len, cap;
    long statements;
} trace;

static void put(trace *t, const void *p, size_t n)
{
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n)
            cap *= 2;
        if (!(t->buf = realloc(t->buf, cap)))
            abort();
        t->cap = cap;
    }
    memcpy(t->buf + t->len, p, n);
    t->len += n;
}

static void putf(trace *t, const char *tag, long v)
{
    char b[48];
    int n = snprintf(b, sizeof b, "\n<%s %ld>\n", tag, v);
    put(t, b, (size_t)n);
}

static int copy_from_stdin(const char *sql, size_t len)
{
    const char *p = sql;
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    if (strncasecmp(p, "copy", 4) != 0)
        return 0;
    for (size_t i = 0; i + 10 <= len; i++)
        if (strncasecmp(sql + i, "from stdin", 10) == 0)
            return 1;
    return 0;
}

static sk_rc on_statement(void *ud, const char *sql, size_t len, long line, int *copy_in, sk_err *err)
{
    (void)err;
    trace *t = ud;
    FUZZ_CHECK(strlen(sql) == len, "statement text holds a NUL or is not terminated (%zu vs %zu)",
               strlen(sql), len);
    FUZZ_CHECK(line >= 1, "statement line %ld", line);
    putf(t, "stmt", line);
    put(t, sql, len);
    *copy_in = copy_from_stdin(sql, len);
    t->statements++;
    return SK_OK;
}

static sk_rc on_copy_data(void *ud, const char *data, size_t len, sk_err *err)
{
    (void)err;
    FUZZ_CHECK(len > 0 && data[len - 1] == '\n', "COPY data of %zu bytes not ending in a newline", len);
    put(ud, data, len); /* batches may differ with chunking: only the bytes count */
    return SK_OK;
}

static sk_rc on_copy_end(void *ud, long line, sk_err *err)
{
    (void)err;
    putf(ud, "end", line);
    return SK_OK;
}

/* Push `data` in chunks: mode 0 whole, 1 byte by byte, else pseudo-random sizes from `seed`. */
static void run(const char *data, size_t size, int mode, unsigned seed, trace *t)
{
    sk_pg_script_cb cb = { on_statement, on_copy_data, on_copy_end, t };
    sk_err err = { 0 };
    sk_pg_script *s = sk_pg_script_new(&cb, &err);
    FUZZ_CHECK(s != NULL, "new: %s", err.msg);
    sk_rc rc = SK_OK;
    size_t off = 0;
    while (off < size && rc == SK_OK) {
        size_t n = size - off;
        if (mode == 1)
            n = 1;
        else if (mode == 2) {
            seed = seed * 1103515245u + 12345u;
            size_t k = 1 + (seed >> 16) % 17;
            n = n < k ? n : k;
        }
        rc = sk_pg_script_feed(s, data + off, n, &err);
        off += n;
    }
    if (rc == SK_OK)
        rc = sk_pg_script_end(s, &err);
    FUZZ_CHECK(rc == SK_OK || err.msg[0], "error %d without a message", rc);
    FUZZ_CHECK(sk_pg_script_statements(s) == t->statements, "statement count %ld vs %ld delivered",
               sk_pg_script_statements(s), t->statements);
    putf(t, "rc", rc);
    if (rc)
        put(t, err.msg, strlen(err.msg));
    sk_pg_script_free(s);
}

static size_t first_difference(const trace *a, const trace *b)
{
    size_t i = 0;
    while (i < a->len && i < b->len && a->buf[i] == b->buf[i])
        i++;
    return i;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned seed = data[0];
    const char *sql = (const char *)data + 1;
    size--;
    trace whole = { 0 }, other = { 0 };
    run(sql, size, 0, 0, &whole);
    for (int mode = size <= 1024 ? 1 : 2; mode <= 2; mode++) { /* byte by byte: small inputs only (speed) */
        other.len = 0;
        other.statements = 0;
        run(sql, size, mode, seed, &other);
        size_t d = first_difference(&whole, &other);
        FUZZ_CHECK(whole.len == other.len && d == whole.len,
                   "chunking mode %d changes the result at trace byte %zu:\nwhole: %.*s\nchunked: %.*s", mode, d,
                   (int)(whole.len - d < 200 ? whole.len - d : 200), whole.buf + d,
                   (int)(other.len - d < 200 ? other.len - d : 200), other.buf + d);
    }
    free(whole.buf);
    free(other.buf);
    return 0;
}
