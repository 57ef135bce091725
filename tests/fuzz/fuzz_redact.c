/*
 * fuzz_redact: the secret redactor (agent/redact: sk_redactor_apply, sk_redact, sk_redact_quoted).
 * Input: one mode byte, one byte of output-buffer size, then "password\ntext".
 * Properties:
 *  - the password never appears in the output: registered as a secret (mode 0) and placed in the
 *    text; or, unregistered, in a pattern position: a URL's userinfo (1), a conninfo password=
 *    value plain (2) or quoted with escapes (3), a query-string token (4), a Bearer token (5);
 *  - output is NUL-terminated, the return value is the full length, and a smaller buffer gets a
 *    prefix of the full output (masking happens before truncation, so a cut never exposes it).
 * Passwords of fewer than SK_REDACT_MIN bytes, with bytes that end the pattern's value, or that
 * occur in the surrounding text anyway are not checked (the property would not be about them).
 */
#include "fuzz.h"

#include "../../agent/redact.h"


static size_t run(int mode, const sk_redactor *r, const char *in, char *out, size_t outsz)
{
    if (mode == 0)
        return sk_redactor_apply(r, in, out, outsz);
    if (mode == 3)
        return sk_redact_quoted(in, out, outsz);
    return sk_redact(in, out, outsz);
}

/* The text around the password for each mode: before, after, and bytes the password may not hold. */
static const struct { const char *before, *after, *forbid; } shapes[] = {
    { "could not connect: ", " (server said no)", "" },
    { "postgresql://app:", "@db.example:5432/app?sslmode=require", "@/?#[] \t\r\n\f\v'\"" },
    { "host=db user=app password=", " dbname=app", " \t\r\n\f\v'\"\\" },
    { "connection to server failed: host='db' password='", "' dbname='app'", "" },
    { "POST https://hooks.example/x?token=", "&b=1 failed", "&# \t\r\n\f\v'\"" },
    { "Authorization: Bearer ", " rejected", " \t\r\n\f\v'\"" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int mode = (int)(fuzz_take(&data, &size, 1) % 6);
    size_t small = (size_t)fuzz_take(&data, &size, 1);
    char *all = fuzz_cstr(data, size);
    char *nl = strchr(all, '\n');
    const char *pw = all, *extra = "";
    if (nl) {
        *nl = '\0';
        extra = nl + 1;
    }
    size_t pl = strlen(pw);
    int checkable = pl >= SK_REDACT_MIN && !strpbrk(pw, shapes[mode].forbid);

    /* the text: for mode 0 the fuzzer's own text with the password in the middle */
    const char *before = mode == 0 ? extra : shapes[mode].before, *after = shapes[mode].after;
    char *quoted = NULL;
    if (mode == 3) { /* libpq's quoting: backslash before ' and \ */
        quoted = malloc(2 * pl + 1);
        size_t q = 0;
        for (size_t i = 0; i < pl; i++) {
            if (pw[i] == '\'' || pw[i] == '\\')
                quoted[q++] = '\\';
            quoted[q++] = pw[i];
        }
        quoted[q] = '\0';
    }
    const char *mid = quoted ? quoted : pw;
    size_t tl = strlen(before) + strlen(mid) + strlen(after) + 1;
    char *text = malloc(tl);
    snprintf(text, tl, "%s%s%s", before, mid, after);
    if (strstr(before, pw) || strstr(after, pw))
        checkable = 0;
    if (strchr(pw, '*')) /* "abc" + the mask "***" shows "abc*" without revealing anything */
        checkable = 0;

    sk_redactor *r = NULL;
    if (mode == 0) {
        r = sk_redactor_new();
        if (!r || sk_redactor_add(r, pw, 1) != 0)
            abort();
    }
    size_t cap = 2 * tl + 64;
    char *out = malloc(cap);
    size_t n = run(mode, r, text, out, cap);
    FUZZ_CHECK(n < cap && strlen(out) == n, "returned %zu for a %zu-byte output", n, strlen(out));
    if (checkable)
        FUZZ_CHECK(!strstr(out, pw), "mode %d: password '%s' shows in '%s' (from '%s')", mode, pw, out, text);
    if (small < n + 1) {
        char *cut = malloc(small + 1);
        size_t m = run(mode, r, text, cut, small);
        FUZZ_CHECK(m == n, "length %zu with a %zu-byte buffer, %zu with room", m, small, n);
        if (small)
            FUZZ_CHECK(strlen(cut) == small - 1 && memcmp(cut, out, small - 1) == 0,
                       "a %zu-byte buffer does not get a prefix of '%s': '%s'", small, out, cut);
        free(cut);
    }
    /* and the fuzzer's raw text through every entry point, for crashes */
    run(1, NULL, extra, out, cap < 64 ? cap : 64);
    run(3, NULL, extra, out, cap < 64 ? cap : 64);
    sk_redactor_free(r);
    free(out);
    free(text);
    free(quoted);
    free(all);
    return 0;
}
