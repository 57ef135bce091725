/*
 * pg_buf.h: a growable NUL-terminated string for building SQL text (engine-internal).
 *
 * Allocation failure is sticky: the buffer remembers it (oom) and later appends do nothing, so a
 * caller checks once, after building, with pg_buf_ok().
 */
#ifndef SK_PG_BUF_H
#define SK_PG_BUF_H

#include <stddef.h>

typedef struct pg_buf {
    char *s;
    size_t len, cap;
    int oom;
} pg_buf;

void pg_buf_init(pg_buf *b);
void pg_buf_free(pg_buf *b);
void pg_buf_reset(pg_buf *b);
void pg_buf_add(pg_buf *b, const char *s);
void pg_buf_addn(pg_buf *b, const char *s, size_t n);
void pg_buf_addf(pg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int pg_buf_ok(const pg_buf *b);
/* Hand the string over to the caller (NULL on oom); the buffer is left empty. */
char *pg_buf_take(pg_buf *b);

#endif
