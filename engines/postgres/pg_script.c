#include "pg_script.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum mode { M_STMT, M_SKIPLINE, M_COPY };
enum lex { L_NORMAL, L_SQ, L_ESQ, L_DQ, L_DOLLAR, L_LINEC, L_BLOCKC };

struct sk_pg_script {
    sk_pg_script_cb cb;
    char *buf;
    size_t len, cap;
    size_t start;      /* first byte not yet delivered */
    size_t pos;        /* scan position (STMT mode) */
    enum mode mode;
    enum lex lex;
    int comment_depth;
    size_t tag_off, tag_len;   /* dollar-quote tag inside buf, including both '$' */
    int paren, begin_depth;
    int nwords;
    char words[4][12];         /* first words of the statement, lower-cased */
    size_t last_word_end;      /* buf index just past the last word (for E'...') */
    size_t last_word_len;
    int has_token;
    long line;                 /* line at `pos` (STMT) or at `start` (COPY) */
    long stmt_line;
    long copy_line;            /* line of the COPY statement, for errors */
    long nstatements;
};

static int ident_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static int ident_char(unsigned char c)
{
    return ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

sk_pg_script *sk_pg_script_new(const sk_pg_script_cb *cb, sk_err *err)
{
    sk_pg_script *s = calloc(1, sizeof *s);
    if (!s) {
        sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
        return NULL;
    }
    s->cb = *cb;
    s->line = 1;
    return s;
}

void sk_pg_script_free(sk_pg_script *s)
{
    if (!s)
        return;
    free(s->buf);
    free(s);
}

long sk_pg_script_statements(const sk_pg_script *s)
{
    return s->nstatements;
}

static void reset_statement(sk_pg_script *s)
{
    s->lex = L_NORMAL;
    s->comment_depth = 0;
    s->paren = 0;
    s->begin_depth = 0;
    s->nwords = 0;
    s->last_word_end = (size_t)-1;
    s->last_word_len = 0;
    s->has_token = 0;
    s->stmt_line = 0;
}

static int word_is(const sk_pg_script *s, int i, const char *w)
{
    return s->nwords > i && strcmp(s->words[i], w) == 0;
}

/* CREATE [OR REPLACE] FUNCTION|PROCEDURE: its BEGIN ... END body holds semicolons. */
static int in_routine_header(const sk_pg_script *s)
{
    if (!word_is(s, 0, "create"))
        return 0;
    if (word_is(s, 1, "function") || word_is(s, 1, "procedure"))
        return 1;
    return word_is(s, 1, "or") && word_is(s, 2, "replace") &&
           (word_is(s, 3, "function") || word_is(s, 3, "procedure"));
}

static void on_word(sk_pg_script *s, const char *w, size_t n)
{
    char low[12];
    size_t k = n < sizeof low - 1 ? n : sizeof low - 1;
    for (size_t i = 0; i < k; i++) {
        char c = w[i];
        low[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    low[k] = '\0';
    if (n >= sizeof low - 1)
        low[0] = '\0'; /* a long word is none of the keywords we look for */
    if (s->nwords < 4)
        memcpy(s->words[s->nwords], low, sizeof low);
    s->nwords++;
    if (s->paren == 0 && in_routine_header(s)) {
        if (strcmp(low, "begin") == 0)
            s->begin_depth++;
        else if (strcmp(low, "case") == 0 && s->begin_depth > 0)
            s->begin_depth++;
        else if (strcmp(low, "end") == 0 && s->begin_depth > 0)
            s->begin_depth--;
    }
}

static void mark_token(sk_pg_script *s)
{
    if (!s->has_token) {
        s->has_token = 1;
        s->stmt_line = s->line;
    }
}

/* Scan from s->pos. Returns 1 with *end set past a complete statement's ';', 0 when more input is
 * needed (or, at eof, the input ran out). */
static int scan(sk_pg_script *s, int eof, size_t *end, sk_err *err, sk_rc *rc)
{
    const char *b = s->buf;
    size_t i = s->pos, n = s->len;
    *rc = SK_OK;
#define NEED(k) do { if (i + (k) >= n && !eof) goto wait; } while (0)
    while (i < n) {
        unsigned char c = (unsigned char)b[i];
        if (c == '\0') { /* the statement goes to the server as a C string: a NUL would cut it */
            *rc = sk_fail(err, SK_ERR_INTEGRITY, 0,
                          "line %ld: NUL byte in the script: it is not a text SQL script (damaged?)", s->line);
            return 0;
        }
        switch (s->lex) {
        case L_NORMAL:
            if (c == '\n') {
                s->line++;
                i++;
            } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
                i++;
            } else if (c == '-' ) {
                NEED(1);
                if (i + 1 < n && b[i + 1] == '-') {
                    s->lex = L_LINEC;
                    i += 2;
                } else {
                    mark_token(s);
                    i++;
                }
            } else if (c == '/') {
                NEED(1);
                if (i + 1 < n && b[i + 1] == '*') {
                    s->lex = L_BLOCKC;
                    s->comment_depth = 1;
                    i += 2;
                } else {
                    mark_token(s);
                    i++;
                }
            } else if (c == '\'') {
                mark_token(s);
                if (s->last_word_end == i && s->last_word_len == 1 && (b[i - 1] == 'e' || b[i - 1] == 'E'))
                    s->lex = L_ESQ;
                else
                    s->lex = L_SQ;
                i++;
            } else if (c == '"') {
                mark_token(s);
                s->lex = L_DQ;
                i++;
            } else if (c == '$') {
                mark_token(s);
                size_t j = i + 1;
                if (j < n && b[j] >= '0' && b[j] <= '9') { /* $1: a parameter */
                    i++;
                    break;
                }
                if (j < n && ident_start((unsigned char)b[j])) {
                    j++;
                    while (j < n && (ident_start((unsigned char)b[j]) || (b[j] >= '0' && b[j] <= '9')))
                        j++;
                }
                if (j >= n && !eof)
                    goto wait;
                if (j < n && b[j] == '$') {
                    s->lex = L_DOLLAR;
                    s->tag_off = i;
                    s->tag_len = j - i + 1;
                    i = j + 1;
                } else {
                    i++;
                }
            } else if (ident_start(c)) {
                size_t j = i;
                while (j < n && ident_char((unsigned char)b[j]))
                    j++;
                if (j >= n && !eof)
                    goto wait;
                mark_token(s);
                on_word(s, b + i, j - i);
                s->last_word_end = j;
                s->last_word_len = j - i;
                i = j;
            } else if (c == '\\' && !s->has_token) {
                *rc = sk_fail(err, SK_ERR_INTEGRITY, 0,
                              "line %ld: psql meta-command (a line starting with a backslash) is not "
                              "supported in a restore script", s->line);
                return 0;
            } else {
                i++;
                if (c == ';' && s->paren == 0 && s->begin_depth == 0) {
                    *end = i;
                    s->pos = i;
                    return 1;
                }
                mark_token(s);
                if (c == '(')
                    s->paren++;
                else if (c == ')' && s->paren > 0)
                    s->paren--;
            }
            break;
        case L_SQ:
        case L_DQ:
            if (c == '\n')
                s->line++;
            else if (c == (s->lex == L_SQ ? '\'' : '"'))
                s->lex = L_NORMAL; /* a doubled quote just opens the next literal */
            i++;
            break;
        case L_ESQ:
            if (c == '\\') {
                NEED(1);
                if (i + 1 < n && b[i + 1] == '\0') {
                    i++; /* the NUL check above, for the escaped byte */
                    continue;
                }
                if (i + 1 < n && b[i + 1] == '\n')
                    s->line++;
                i += 2;
            } else if (c == '\'') {
                NEED(1);
                if (i + 1 < n && b[i + 1] == '\'')
                    i += 2;
                else {
                    s->lex = L_NORMAL;
                    i++;
                }
            } else {
                if (c == '\n')
                    s->line++;
                i++;
            }
            break;
        case L_DOLLAR:
            if (c == '$') {
                if (n - i < s->tag_len && !eof)
                    goto wait;
                if (n - i >= s->tag_len && memcmp(b + i, b + s->tag_off, s->tag_len) == 0) {
                    s->lex = L_NORMAL;
                    i += s->tag_len;
                    break;
                }
            } else if (c == '\n') {
                s->line++;
            }
            i++;
            break;
        case L_LINEC:
            if (c == '\n') {
                s->line++;
                s->lex = L_NORMAL;
            }
            i++;
            break;
        case L_BLOCKC:
            if (c == '*' || c == '/') {
                NEED(1);
                if (i + 1 < n && c == '*' && b[i + 1] == '/') {
                    i += 2;
                    if (--s->comment_depth == 0)
                        s->lex = L_NORMAL;
                    break;
                }
                if (i + 1 < n && c == '/' && b[i + 1] == '*') {
                    i += 2;
                    s->comment_depth++;
                    break;
                }
            } else if (c == '\n') {
                s->line++;
            }
            i++;
            break;
        }
    }
#undef NEED
wait:
    s->pos = i;
    return 0;
}

static sk_rc deliver(sk_pg_script *s, size_t end, sk_err *err)
{
    sk_rc rc = SK_OK;
    int copy_in = 0;
    if (s->has_token) {
        /* Statement text is buf[start, end); NUL-terminate it in place for the callback. */
        char saved = 0;
        if (end < s->len) {
            saved = s->buf[end];
        } else if (s->len + 1 > s->cap) {
            char *nb = realloc(s->buf, s->cap + 1);
            if (!nb)
                return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
            s->buf = nb;
            s->cap++;
        }
        s->buf[end] = '\0';
        s->nstatements++;
        rc = s->cb.on_statement(s->cb.ud, s->buf + s->start, end - s->start, s->stmt_line, &copy_in, err);
        if (end < s->len)
            s->buf[end] = saved;
        if (copy_in) {
            s->copy_line = s->stmt_line;
            s->mode = M_SKIPLINE;
        }
    }
    s->start = end;
    s->pos = end;
    reset_statement(s);
    return rc;
}

static sk_rc process(sk_pg_script *s, int eof, sk_err *err)
{
    sk_rc rc;
    for (;;) {
        if (s->mode == M_SKIPLINE) {
            char *nl = memchr(s->buf + s->start, '\n', s->len - s->start);
            if (!nl) {
                s->start = s->len;
                break;
            }
            s->start = (size_t)(nl - s->buf) + 1;
            s->line++;
            s->mode = M_COPY;
        }
        if (s->mode == M_COPY) {
            size_t p = s->start, batch = s->start;
            int ended = 0;
            for (;;) {
                char *nl = memchr(s->buf + p, '\n', s->len - p);
                if (!nl)
                    break;
                size_t e = (size_t)(nl - s->buf), ll = e - p;
                if (ll > 0 && s->buf[e - 1] == '\r')
                    ll--;
                if (ll == 2 && s->buf[p] == '\\' && s->buf[p + 1] == '.') {
                    if (p > batch && (rc = s->cb.on_copy_data(s->cb.ud, s->buf + batch, p - batch, err)))
                        return rc;
                    if ((rc = s->cb.on_copy_end(s->cb.ud, s->line, err)))
                        return rc;
                    s->line++;
                    p = e + 1;
                    batch = p;
                    ended = 1;
                    break;
                }
                s->line++;
                p = e + 1;
            }
            if (p > batch && (rc = s->cb.on_copy_data(s->cb.ud, s->buf + batch, p - batch, err)))
                return rc;
            s->start = p;
            if (!ended)
                break;
            s->mode = M_STMT;
            s->pos = p;
            reset_statement(s);
        }
        size_t end = 0;
        rc = SK_OK;
        if (scan(s, eof, &end, err, &rc)) {
            if ((rc = deliver(s, end, err)))
                return rc;
            continue;
        }
        if (rc)
            return rc;
        break;
    }
    return SK_OK;
}

static void compact(sk_pg_script *s)
{
    if (s->start == 0)
        return;
    memmove(s->buf, s->buf + s->start, s->len - s->start);
    s->len -= s->start;
    s->pos -= s->start;
    if (s->lex == L_DOLLAR)
        s->tag_off -= s->start;
    if (s->last_word_end != (size_t)-1)
        s->last_word_end = s->last_word_end >= s->start ? s->last_word_end - s->start : (size_t)-1;
    s->start = 0;
}

sk_rc sk_pg_script_feed(sk_pg_script *s, const char *data, size_t len, sk_err *err)
{
    if (len == 0)
        return SK_OK;
    if (s->len + len + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 65536;
        while (cap < s->len + len + 1)
            cap *= 2;
        char *nb = realloc(s->buf, cap);
        if (!nb)
            return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory (script statement of %zu bytes)",
                           s->len + len);
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    sk_rc rc = process(s, 0, err);
    compact(s);
    return rc;
}

sk_rc sk_pg_script_end(sk_pg_script *s, sk_err *err)
{
    sk_rc rc = process(s, 1, err);
    if (rc)
        return rc;
    if (s->mode == M_COPY && s->len - s->start == 2 && memcmp(s->buf + s->start, "\\.", 2) == 0) {
        /* a final "\." without its newline */
        if ((rc = s->cb.on_copy_end(s->cb.ud, s->line, err)))
            return rc;
        s->start = s->len;
        s->mode = M_STMT;
    }
    if (s->mode != M_STMT)
        return sk_fail(err, SK_ERR_INTEGRITY, 0,
                       "script ends inside the data of the COPY statement at line %ld (no \\. line): "
                       "the script is truncated", s->copy_line);
    switch (s->lex) {
    case L_NORMAL:
    case L_LINEC:
        break;
    case L_SQ:
    case L_ESQ:
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "script ends inside a string literal (statement at line %ld)",
                       s->stmt_line);
    case L_DQ:
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "script ends inside a quoted identifier (statement at line %ld)",
                       s->stmt_line);
    case L_DOLLAR:
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "script ends inside a dollar-quoted string (statement at line %ld)",
                       s->stmt_line);
    case L_BLOCKC:
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "script ends inside a /* comment */");
    }
    if (s->has_token) /* a last statement without ';' */
        rc = deliver(s, s->len, err);
    compact(s);
    return rc;
}
