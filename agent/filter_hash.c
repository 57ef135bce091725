#include "filter_hash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

typedef struct hash_writer {
    sk_writer base;
    EVP_MD_CTX *ctx;
    sk_hash_alg alg;
    char hex[65];
    /* check stage only */
    int check;
    char expected[65];
    uint64_t expected_size;
    char what[512];
    sk_rc downstream;      /* first downstream failure, kept while we drain */
    sk_err downstream_err;
} hash_writer;

static void to_hex(const unsigned char *d, unsigned n, char out[65])
{
    static const char digits[] = "0123456789abcdef";
    unsigned i;
    for (i = 0; i < n && i < 32; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * i] = '\0';
}

static const EVP_MD *md_of(sk_hash_alg alg) { return alg == SK_HASH_MD5 ? EVP_md5() : EVP_sha256(); }

static const char *alg_name(sk_hash_alg alg) { return alg == SK_HASH_MD5 ? "MD5" : "SHA-256"; }

static sk_rc hash_write(sk_writer *w, const void *buf, size_t len, sk_err *err)
{
    hash_writer *h = (hash_writer *)w;
    /* stop at the first byte past the expected size: a tampered artifact (a zstd bomb, appended
     * garbage) is refused before it fills the disk beside the target */
    if (h->check && h->expected_size != UINT64_MAX && len > h->expected_size - w->bytes)
        return sk_fail(err, SK_ERR_INTEGRITY, 0,
                       "%s: more than the %llu bytes the manifest records; the artifact is damaged or is not the one "
                       "its checksum describes, so it was refused (stopped after %llu bytes)",
                       h->what, (unsigned long long)h->expected_size, (unsigned long long)(w->bytes + len));
    if (EVP_DigestUpdate(h->ctx, buf, len) != 1)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "%s update failed", alg_name(h->alg));
    if (h->check && h->downstream != SK_OK)
        return SK_OK; /* draining: hash only, to name the root cause at finish */
    sk_rc rc = sk_writer_write(w->next, buf, len, h->check ? &h->downstream_err : err);
    if (rc != SK_OK && h->check) {
        if (rc == SK_ERR_CANCELLED) {
            sk_fail(err, rc, 0, "%s", h->downstream_err.msg);
            return rc;
        }
        h->downstream = rc;
        return SK_OK;
    }
    return rc;
}

static sk_rc hash_finish(sk_writer *w, sk_err *err)
{
    hash_writer *h = (hash_writer *)w;
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (EVP_DigestFinal_ex(h->ctx, d, &n) != 1)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "%s final failed", alg_name(h->alg));
    to_hex(d, n, h->hex);
    if (h->check) {
        if (strcmp(h->hex, h->expected) != 0)
            return sk_fail(err, SK_ERR_INTEGRITY, 0,
                           "%s: %s mismatch: expected %s, got %s (%llu bytes); the artifact is damaged "
                           "or is not the one its checksum describes, so it was refused",
                           h->what, alg_name(h->alg), h->expected, h->hex, (unsigned long long)w->bytes);
        if (h->expected_size != UINT64_MAX && w->bytes != h->expected_size)
            return sk_fail(err, SK_ERR_INTEGRITY, 0, "%s: size mismatch: expected %llu bytes, got %llu",
                           h->what, (unsigned long long)h->expected_size, (unsigned long long)w->bytes);
        if (h->downstream != SK_OK) {
            /* the bytes are the checksummed ones: the downstream failure is the real error */
            sk_fail(err, h->downstream, h->downstream_err.detail, "%s", h->downstream_err.msg);
            return h->downstream;
        }
    }
    return sk_writer_finish(w->next, err);
}

static void hash_abort(sk_writer *w)
{
    sk_writer_abort(w->next);
}

static void hash_destroy(sk_writer *w)
{
    EVP_MD_CTX_free(((hash_writer *)w)->ctx);
    free(w);
}

static const sk_writer_type hash_type = { "hash", hash_write, hash_finish, hash_abort, hash_destroy };
static const sk_writer_type check_type = { "check", hash_write, hash_finish, hash_abort, hash_destroy };

static hash_writer *hash_new(sk_writer *next, sk_hash_alg alg, const sk_writer_type *type, sk_err *err)
{
    hash_writer *h = calloc(1, sizeof *h);
    if (!h || !(h->ctx = EVP_MD_CTX_new()) || EVP_DigestInit_ex(h->ctx, md_of(alg), NULL) != 1) {
        if (h)
            EVP_MD_CTX_free(h->ctx);
        free(h);
        sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "cannot set up %s", alg_name(alg));
        return NULL;
    }
    sk_writer_init(&h->base, type, next);
    h->alg = alg;
    sk_err_clear(&h->downstream_err);
    return h;
}

sk_writer *sk_hash_writer_new(sk_writer *next, sk_hash_alg alg, sk_err *err)
{
    hash_writer *h = hash_new(next, alg, &hash_type, err);
    return h ? &h->base : NULL;
}

sk_writer *sk_check_writer_new(sk_writer *next, sk_hash_alg alg, const char *expected_hex,
                               uint64_t expected_size, const char *what, sk_err *err)
{
    hash_writer *h = hash_new(next, alg, &check_type, err);
    if (!h)
        return NULL;
    h->check = 1;
    snprintf(h->expected, sizeof h->expected, "%s", expected_hex);
    for (char *p = h->expected; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    h->expected_size = expected_size;
    snprintf(h->what, sizeof h->what, "%s", what);
    return &h->base;
}

void sk_hash_writer_hex(const sk_writer *w, char out[65])
{
    memcpy(out, ((const hash_writer *)w)->hex, 65);
}

void sk_hash_hex(sk_hash_alg alg, const void *buf, size_t len, char out[65])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(buf, len, d, &n, md_of(alg), NULL);
    to_hex(d, n, out);
}
