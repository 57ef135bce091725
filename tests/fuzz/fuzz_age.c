/*
 * fuzz_age: the age v1 header parser (sk_age_header_parse) and the key text parsers: recipients
 * (age1..., Bech32) and identity files (AGE-SECRET-KEY-1...), which read what a bucket and the
 * user hold.
 * Input: one mode byte, then the header bytes (mode 0-1) or the key text (mode 2-3).
 * Properties:
 *  - the spec's encoding is canonical, so a parsed header written back (stanza lines, body in
 *    64-column unpadded base64 lines, "--- " and the MAC) is byte for byte what was read, and
 *    mac_input_len ends at the "---";
 *  - a complete header is also complete when more bytes follow or at_eof is not set; every shorter
 *    prefix of it is "incomplete, need more" (never an error, never a header);
 *  - a recipient that decodes encodes back to itself (lower case).
 */
#include "fuzz.h"

#include <ctype.h>

#include "../../agent/age.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64_enc(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64[v >> 18 & 63], out[o++] = b64[v >> 12 & 63], out[o++] = b64[v >> 6 & 63], out[o++] = b64[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[o++] = b64[v >> 18 & 63], out[o++] = b64[v >> 12 & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        out[o++] = b64[v >> 18 & 63], out[o++] = b64[v >> 12 & 63], out[o++] = b64[v >> 6 & 63];
    }
    return o;
}

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void add(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(b->p = realloc(b->p, cap)))
            abort();
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void adds(buf *b, const char *s) { add(b, s, strlen(s)); }

static void check_header(const uint8_t *data, size_t size)
{
    sk_age_header h;
    sk_err err = { 0 };
    sk_rc rc = sk_age_header_parse(data, size, 1, &h, &err);
    if (rc != SK_OK) {
        FUZZ_CHECK(rc == SK_ERR_INTEGRITY && err.msg[0], "rc %d '%s'", rc, err.msg);
        sk_age_header_free(&h);
        return;
    }
    FUZZ_CHECK(h.len > 0 && h.len <= size && h.mac_input_len < h.len, "len %zu mac input %zu of %zu bytes", h.len,
               h.mac_input_len, size);
    buf b = { 0 };
    adds(&b, "age-encryption.org/v1\n");
    for (size_t i = 0; i < h.n; i++) {
        adds(&b, "->");
        for (size_t k = 0; k < h.v[i].nargs; k++) {
            adds(&b, " ");
            adds(&b, h.v[i].args[k]);
        }
        adds(&b, "\n");
        char *enc = malloc(h.v[i].body_len / 3 * 4 + 8);
        size_t el = b64_enc(h.v[i].body, h.v[i].body_len, enc), at = 0;
        for (; el - at >= 64; at += 64) {
            add(&b, enc + at, 64);
            adds(&b, "\n");
        }
        add(&b, enc + at, el - at); /* the last, shorter line (maybe empty) */
        adds(&b, "\n");
        free(enc);
    }
    adds(&b, "---");
    FUZZ_CHECK(b.len == h.mac_input_len, "MAC input %zu bytes, the header through '---' is %zu", h.mac_input_len,
               b.len);
    char mac[64];
    adds(&b, " ");
    add(&b, mac, b64_enc(h.mac, 32, mac));
    adds(&b, "\n");
    FUZZ_CHECK(b.len == h.len && memcmp(b.p, data, h.len) == 0,
               "header of %zu bytes is not what it parses to (%zu bytes):\n%.*s\n--- vs ---\n%.*s", h.len, b.len,
               (int)h.len, (const char *)data, (int)b.len, b.p);
    free(b.p);

    /* the same header is complete without at_eof, and each shorter prefix is incomplete */
    sk_age_header g;
    FUZZ_CHECK(sk_age_header_parse(data, size, 0, &g, &err) == SK_OK && g.len == h.len, "at_eof changes the header");
    sk_age_header_free(&g);
    size_t cuts[3] = { h.len - 1, h.len / 2, h.mac_input_len };
    for (int i = 0; i < 3; i++) {
        sk_err e2 = { 0 };
        rc = sk_age_header_parse(data, cuts[i], 0, &g, &e2);
        FUZZ_CHECK(rc == SK_OK && g.len == 0, "prefix of %zu of a %zu-byte header: rc %d len %zu '%s'", cuts[i],
                   h.len, rc, g.len, e2.msg);
        sk_age_header_free(&g);
    }
    sk_age_header_free(&h);
}

static void check_keys(const uint8_t *data, size_t size, int identities)
{
    char *text = fuzz_cstr(data, size);
    sk_err err = { 0 };
    if (!identities) {
        unsigned char pk[32];
        if (sk_age_recipient_decode(text, pk, &err) == SK_OK) {
            char back[SK_AGE_RECIPIENT_LEN];
            sk_age_recipient_encode(pk, back);
            FUZZ_CHECK(strlen(text) == strlen(back), "'%s' -> '%s'", text, back);
            for (size_t i = 0; text[i]; i++)
                FUZZ_CHECK(tolower((unsigned char)text[i]) == back[i], "'%s' -> '%s'", text, back);
        }
    }
    sk_age_keys *k = sk_age_keys_new();
    if (!k)
        abort();
    memset(&err, 0, sizeof err);
    sk_rc rc = identities ? sk_age_keys_add_identities(k, text, "SNAPKEEP_AGE_IDENTITY_FILE", &err)
                          : sk_age_keys_add_recipients(k, text, "SNAPKEEP_AGE_RECIPIENTS", &err);
    if (rc != SK_OK) {
        FUZZ_CHECK(err.msg[0], "rc %d without a message", rc);
        /* a secret key must never be quoted back */
        const char *sk = strstr(text, "AGE-SECRET-KEY-1");
        if (identities && sk && strlen(sk) >= 40)
            FUZZ_CHECK(!strstr(err.msg, "AGE-SECRET-KEY-1") || !strstr(err.msg, sk + 16),
                       "message quotes the secret key: %s", err.msg);
    } else if (!identities) {
        for (size_t i = 0; i < sk_age_keys_count(k); i++)
            FUZZ_CHECK(!strncmp(sk_age_keys_recipient(k, i), "age1", 4), "recipient '%s'", sk_age_keys_recipient(k, i));
    }
    sk_age_keys_free(k);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int mode = (int)(fuzz_take(&data, &size, 1) % 4);
    if (mode < 2)
        check_header(data, size);
    else
        check_keys(data, size, mode == 3);
    return 0;
}
