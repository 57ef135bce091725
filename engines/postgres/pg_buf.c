#include "pg_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pg_buf_init(pg_buf *b)
{
    b->s = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

void pg_buf_free(pg_buf *b)
{
    free(b->s);
    pg_buf_init(b);
}

void pg_buf_reset(pg_buf *b)
{
    b->len = 0;
    if (b->s)
        b->s[0] = '\0';
}

static int grow(pg_buf *b, size_t extra)
{
    if (b->oom)
        return 0;
    if (b->len + extra + 1 <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *n = realloc(b->s, cap);
    if (!n) {
        b->oom = 1;
        return 0;
    }
    b->s = n;
    b->cap = cap;
    return 1;
}

void pg_buf_addn(pg_buf *b, const char *s, size_t n)
{
    if (!grow(b, n))
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void pg_buf_add(pg_buf *b, const char *s)
{
    pg_buf_addn(b, s, strlen(s));
}

void pg_buf_addf(pg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

int pg_buf_ok(const pg_buf *b)
{
    return !b->oom;
}

char *pg_buf_take(pg_buf *b)
{
    if (b->oom) {
        pg_buf_free(b);
        return NULL;
    }
    if (!b->s && !grow(b, 0))
        return NULL;
    if (b->len == 0)
        b->s[0] = '\0';
    char *s = b->s;
    pg_buf_init(b);
    return s;
}
