/*
 * pg_script.h: a streaming splitter for plain SQL scripts (the format the dump writes and psql reads).
 *
 * Bytes are pushed in arbitrary chunks; complete statements come out through on_statement, and the
 * data lines following a `COPY ... FROM stdin;` come out through on_copy_data until the `\.` line.
 * Memory holds at most one statement, or one chunk plus one partial COPY line: never a whole table.
 *
 * A statement ends at a `;` outside string literals ('...', E'...' with backslash escapes), quoted
 * identifiers ("..."), dollar quotes ($tag$...$tag$), comments (-- and nested slash-star), parentheses
 * (multi-action rules) and the BEGIN ... END body of CREATE [OR REPLACE] FUNCTION|PROCEDURE (SQL-standard
 * bodies), as psql splits them. psql meta-commands (a backslash line between statements) are rejected, and
 * so is a NUL byte outside COPY data (it would cut the statement text the server receives).
 *
 * on_statement receives the statement text (NUL-terminated, with its `;`) and the 1-based line of its
 * first token; it sets *copy_in to 1 when the statement put the connection into COPY FROM STDIN mode,
 * after which the rest of that line is skipped and following lines are COPY data.
 */
#ifndef SK_PG_SCRIPT_H
#define SK_PG_SCRIPT_H

#include <stddef.h>

#include "../../agent/err.h"

typedef struct sk_pg_script_cb {
    sk_rc (*on_statement)(void *ud, const char *sql, size_t len, long line, int *copy_in, sk_err *err);
    /* One or more complete data lines (each ending in '\n'), never the terminator. */
    sk_rc (*on_copy_data)(void *ud, const char *data, size_t len, sk_err *err);
    /* The `\.` line was reached (line = its line number). */
    sk_rc (*on_copy_end)(void *ud, long line, sk_err *err);
    void *ud;
} sk_pg_script_cb;

typedef struct sk_pg_script sk_pg_script;

sk_pg_script *sk_pg_script_new(const sk_pg_script_cb *cb, sk_err *err);
/* Push bytes; statements and data are delivered as soon as they are complete. */
sk_rc sk_pg_script_feed(sk_pg_script *s, const char *data, size_t len, sk_err *err);
/* End of input: a trailing statement without `;` is delivered; an unterminated string, comment,
 * dollar quote or COPY block is an error naming the line where it started. */
sk_rc sk_pg_script_end(sk_pg_script *s, sk_err *err);
/* Statements delivered so far. */
long sk_pg_script_statements(const sk_pg_script *s);
void sk_pg_script_free(sk_pg_script *s);

#endif
