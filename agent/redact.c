#include "redact.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MASK "***"

struct sk_redactor {
    char **v;    /* longest first, so a secret that contains another is masked whole */
    size_t *len; /* strlen(v[i]) */
    size_t n, cap;
};

/* snprintf-style output: copies what fits, counts everything. */
typedef struct outbuf {
    char *p;
    size_t cap, len;
} outbuf;

static void put(outbuf *o, const char *s, size_t n)
{
    if (o->cap && o->len + 1 < o->cap) {
        size_t room = o->cap - 1 - o->len;
        memcpy(o->p + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static size_t finish(outbuf *o)
{
    if (o->cap)
        o->p[o->len < o->cap ? o->len : o->cap - 1] = '\0';
    return o->len;
}

/* ---- layer 2: patterns ---------------------------------------------------------------- */

static int key_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.'; }
static int blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

static int contains_ci(const char *s, size_t n, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = 0; i + w <= n; i++)
        if (strncasecmp(s + i, word, w) == 0)
            return 1;
    return 0;
}

static int equals_ci(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

/* Does the key name a credential? Short generic names only count inside a query string. */
static int sensitive_key(const char *k, size_t n, int query)
{
    static const char *const parts[] = { "password", "passwd", "secret", "token", "signature", "credential",
                                         "apikey", "api_key", "api-key", "access_key", "private_key", NULL };
    static const char *const query_names[] = { "sig", "key", "pwd", "pass", "auth", "code", NULL };
    for (size_t i = 0; parts[i]; i++)
        if (contains_ci(k, n, parts[i]))
            return 1;
    for (size_t i = 0; query && query_names[i]; i++)
        if (equals_ci(k, n, query_names[i]))
            return 1;
    return 0;
}

/* The next span [*a, *b) to mask at or after `from`; 0 when none. `*quoted` is set when the span
 * is the inside of a '...' conninfo value (backslash escapes). */
static int next_span(const char *s, size_t n, size_t from, size_t *a, size_t *b, int *quoted)
{
    for (size_t i = from; i < n; i++) {
        *quoted = 0;
        /* scheme://userinfo@host */
        if (s[i] == ':' && i + 2 < n && s[i + 1] == '/' && s[i + 2] == '/') {
            size_t st = i + 3, e = st, at = 0;
            while (e < n && !blank(s[e]) && s[e] != '"' && s[e] != '\'' && s[e] != '<' && s[e] != '>')
                e++;
            for (size_t k = st; k < e; k++)
                if (s[k] == '@')
                    at = k;
            if (at > st) {
                const char *colon = memchr(s + st, ':', at - st);
                if (colon && (size_t)(colon - s) + 1 < at) {
                    *a = (size_t)(colon - s) + 1;
                    *b = at;
                    return 1;
                }
                /* https://TOKEN@host: for web URLs a bare user name is a credential */
                size_t sc = i;
                while (sc > 0 && isalpha((unsigned char)s[sc - 1]))
                    sc--;
                if (!colon && (equals_ci(s + sc, i - sc, "http") || equals_ci(s + sc, i - sc, "https"))) {
                    *a = st;
                    *b = at;
                    return 1;
                }
            }
            continue;
        }
        if (!key_char(s[i]) || (i > 0 && key_char(s[i - 1])))
            continue;
        /* Bearer <token> */
        if (i + 7 < n && strncasecmp(s + i, "bearer ", 7) == 0 && !blank(s[i + 7])) {
            size_t e = i + 7;
            while (e < n && !blank(s[e]) && s[e] != '"' && s[e] != '\'')
                e++;
            *a = i + 7;
            *b = e;
            return 1;
        }
        /* key = value */
        size_t k = i;
        while (k < n && key_char(s[k]))
            k++;
        size_t j = k;
        while (j < n && (s[j] == ' ' || s[j] == '\t'))
            j++;
        if (j >= n || s[j] != '=') {
            i = k - 1;
            continue;
        }
        int query = i > 0 && (s[i - 1] == '?' || s[i - 1] == '&' || s[i - 1] == ';');
        if (!sensitive_key(s + i, k - i, query)) {
            i = k - 1;
            continue;
        }
        j++;
        while (j < n && (s[j] == ' ' || s[j] == '\t') && !query)
            j++;
        size_t e = j;
        if (!query && j < n && s[j] == '\'') {
            e = ++j;
            while (e < n && s[e] != '\'') {
                if (s[e] == '\\' && e + 1 < n)
                    e++;
                e++;
            }
            *quoted = 1;
        } else if (query) {
            while (e < n && !blank(s[e]) && !strchr("&#\"'", s[e]))
                e++;
        } else {
            while (e < n && !blank(s[e]))
                e++;
        }
        if (e > j) {
            *a = j;
            *b = e;
            return 1;
        }
        i = k - 1;
    }
    return 0;
}

static void patterns(const char *s, size_t n, outbuf *o)
{
    size_t pos = 0, a, b;
    int quoted;
    while (next_span(s, n, pos, &a, &b, &quoted)) {
        put(o, s + pos, a - pos);
        put(o, MASK, 3);
        pos = b;
    }
    put(o, s + pos, n - pos);
}

size_t sk_redact(const char *in, char *out, size_t outsz)
{
    outbuf o = { out, outsz, 0 };
    patterns(in, strlen(in), &o);
    return finish(&o);
}

size_t sk_redact_quoted(const char *in, char *out, size_t outsz)
{
    size_t n = strlen(in);
    size_t cap = 3 * n + 8; /* "" becomes "***" */
    char *tmp = malloc(cap);
    if (!tmp) {
        outbuf o = { out, outsz, 0 };
        put(&o, MASK, 3);
        return finish(&o);
    }
    outbuf t = { tmp, cap, 0 };
    for (size_t i = 0; i < n; i++) {
        if (in[i] != '"') {
            put(&t, in + i, 1);
            continue;
        }
        const char *close = strchr(in + i + 1, '"');
        put(&t, "\"" MASK "\"", 5);
        if (!close)
            break;  /* an unterminated quote hides the rest */
        i = (size_t)(close - in);
    }
    finish(&t);
    size_t r = sk_redact(tmp, out, outsz);
    free(tmp);
    return r;
}

/* ---- layer 1: registered secrets -------------------------------------------------------- */

sk_redactor *sk_redactor_new(void) { return calloc(1, sizeof(sk_redactor)); }

void sk_redactor_free(sk_redactor *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        memset(r->v[i], 0, strlen(r->v[i]));
        free(r->v[i]);
    }
    free(r->v);
    free(r->len);
    free(r);
}

static int add_one(sk_redactor *r, const char *s, size_t len)
{
    if (len < SK_REDACT_MIN)
        return 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->len[i] == len && memcmp(r->v[i], s, len) == 0)
            return 0;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        char **nv = realloc(r->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        r->v = nv;
        size_t *nl = realloc(r->len, cap * sizeof *nl);
        if (!nl)
            return -1;
        r->len = nl;
        r->cap = cap;
    }
    char *copy = strndup(s, len);
    if (!copy)
        return -1;
    size_t at = 0;
    while (at < r->n && r->len[at] >= len)
        at++;
    memmove(r->v + at + 1, r->v + at, (r->n - at) * sizeof *r->v);
    memmove(r->len + at + 1, r->len + at, (r->n - at) * sizeof *r->len);
    r->v[at] = copy;
    r->len[at] = len;
    r->n++;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Register s[0..len), and its percent-decoded / unescaped form when that differs. */
static int add_forms(sk_redactor *r, const char *s, size_t len, int quoted)
{
    if (add_one(r, s, len) != 0)
        return -1;
    char *d = malloc(len + 1);
    if (!d)
        return -1;
    size_t o = 0;
    int ok = 1;
    for (size_t i = 0; i < len; i++) {
        if (quoted && s[i] == '\\' && i + 1 < len) {
            d[o++] = s[++i];
        } else if (!quoted && s[i] == '%') {
            int h = i + 2 < len ? hexval(s[i + 1]) : -1, l = h >= 0 ? hexval(s[i + 2]) : -1;
            if (l < 0) {
                ok = 0; /* malformed: only the raw form can appear */
                break;
            }
            d[o++] = (char)(h * 16 + l);
            i += 2;
        } else {
            d[o++] = s[i];
        }
    }
    int rc = ok && (o != len || memcmp(d, s, len) != 0) ? add_one(r, d, o) : 0;
    memset(d, 0, len + 1);
    free(d);
    if (rc != 0 || quoted)
        return rc;
    /* and percent-encoded, as it appears once put into a URL (p@ss -> p%40ss) */
    char *e = malloc(3 * len + 1);
    if (!e)
        return -1;
    o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || strchr("-._~", c)) {
            e[o++] = (char)c;
        } else {
            static const char hex[] = "0123456789ABCDEF";
            e[o++] = '%';
            e[o++] = hex[c >> 4];
            e[o++] = hex[c & 15];
        }
    }
    rc = o != len ? add_one(r, e, o) : 0;
    memset(e, 0, 3 * len + 1);
    free(e);
    return rc;
}

int sk_redactor_add(sk_redactor *r, const char *secret, int whole)
{
    if (!r || !secret)
        return 0;
    size_t n = strlen(secret), pos = 0, a, b;
    int quoted;
    if (whole && add_forms(r, secret, n, 0) != 0)
        return -1;
    while (next_span(secret, n, pos, &a, &b, &quoted)) {
        if (add_forms(r, secret + a, b - a, quoted) != 0)
            return -1;
        pos = b;
    }
    return 0;
}

size_t sk_redactor_apply(const sk_redactor *r, const char *in, char *out, size_t outsz)
{
    if (!r || r->n == 0)
        return sk_redact(in, out, outsz);
    size_t n = strlen(in);
    char *tmp = malloc(n + 1); /* masks (3 bytes) are shorter than secrets (>= 4) */
    if (!tmp) {
        outbuf o = { out, outsz, 0 };
        put(&o, "(message withheld: out of memory)", 33);
        return finish(&o);
    }
    outbuf t = { tmp, n + 1, 0 };
    size_t i = 0;
    while (i < n) {
        size_t hit = 0;
        for (size_t k = 0; k < r->n && !hit; k++) {
            size_t len = r->len[k];
            if (r->v[k][0] != in[i])
                continue;
            if (len <= n - i ? memcmp(in + i, r->v[k], len) == 0
                             /* the text ends inside this secret (a cut message) */
                             : (n - i >= SK_REDACT_MIN && memcmp(in + i, r->v[k], n - i) == 0))
                hit = len <= n - i ? len : n - i;
        }
        if (hit) {
            put(&t, MASK, 3);
            i += hit;
        } else {
            put(&t, in + i, 1);
            i++;
        }
    }
    finish(&t);
    size_t rc = sk_redact(tmp, out, outsz);
    memset(tmp, 0, n + 1);
    free(tmp);
    return rc;
}
