#include "age.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#define TAG 16
#define CT_CHUNK (SK_AGE_CHUNK + TAG)
#define NONCE_LEN 16
#define FILE_KEY 16

static const char version_line[] = "age-encryption.org/v1\n";
static const char x25519_label[] = "age-encryption.org/v1/X25519";
static const char scrypt_label[] = "age-encryption.org/v1/scrypt";

/* ---- base64 (RFC 4648 alphabet, unpadded, canonical only) --------------------------------- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0, i;
    for (i = 0; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64chars[v >> 18 & 63];
        out[o++] = b64chars[v >> 12 & 63];
        out[o++] = b64chars[v >> 6 & 63];
        out[o++] = b64chars[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64chars[v >> 18 & 63];
        out[o++] = b64chars[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64chars[v >> 18 & 63];
        out[o++] = b64chars[v >> 12 & 63];
        out[o++] = b64chars[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

/* Decode canonical unpadded base64; -1 when not canonical, not base64 or longer than cap. */
static long b64_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
    if (n % 4 == 1 || n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > cap)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        size_t k = n - i < 4 ? n - i : 4;
        uint32_t v = 0;
        for (size_t j = 0; j < 4; j++) {
            int d = j < k ? b64val((unsigned char)s[i + j]) : 0;
            if (d < 0)
                return -1;
            v = v << 6 | (uint32_t)d;
        }
        out[o++] = (unsigned char)(v >> 16);
        if (k > 2)
            out[o++] = (unsigned char)(v >> 8);
        if (k > 3)
            out[o++] = (unsigned char)v;
        /* canonical: the bits after the last whole byte are zero */
        if ((k == 2 && (v & 0xFFFF)) || (k == 3 && (v & 0xFF)))
            return -1;
    }
    return (long)o;
}

/* ---- Bech32 (BIP 173, no length limit) ---------------------------------------------------- */

static const char b32chars[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t polymod_step(uint32_t chk, unsigned v)
{
    static const uint32_t gen[5] = { 0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3 };
    uint32_t top = chk >> 25;
    chk = (chk & 0x1ffffff) << 5 ^ v;
    for (int i = 0; i < 5; i++)
        if (top >> i & 1)
            chk ^= gen[i];
    return chk;
}

static uint32_t hrp_polymod(const char *hrp, size_t n)
{
    uint32_t chk = 1;
    for (size_t i = 0; i < n; i++)
        chk = polymod_step(chk, (unsigned)tolower((unsigned char)hrp[i]) >> 5);
    chk = polymod_step(chk, 0);
    for (size_t i = 0; i < n; i++)
        chk = polymod_step(chk, (unsigned)tolower((unsigned char)hrp[i]) & 31);
    return chk;
}

/* Encode 32 bytes under `hrp`; `upper` for identities (age-keygen writes them in capitals). */
static void bech32_encode32(const char *hrp, const unsigned char data[32], int upper, char *out, size_t outsz)
{
    unsigned char v[52 + 6];
    size_t nv = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (int i = 0; i < 32; i++) {
        acc = acc << 8 | data[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            v[nv++] = acc >> bits & 31;
        }
    }
    if (bits)
        v[nv++] = acc << (5 - bits) & 31;
    size_t hl = strlen(hrp);
    uint32_t chk = hrp_polymod(hrp, hl);
    for (size_t i = 0; i < nv; i++)
        chk = polymod_step(chk, v[i]);
    for (int i = 0; i < 6; i++)
        chk = polymod_step(chk, 0);
    chk ^= 1;
    for (int i = 0; i < 6; i++)
        v[nv + (size_t)i] = chk >> (5 * (5 - i)) & 31;
    nv += 6;
    size_t o = 0;
    for (size_t i = 0; i < hl && o + 1 < outsz; i++)
        out[o++] = (char)(upper ? toupper((unsigned char)hrp[i]) : tolower((unsigned char)hrp[i]));
    if (o + 1 < outsz)
        out[o++] = upper ? '1' : '1';
    for (size_t i = 0; i < nv && o + 1 < outsz; i++)
        out[o++] = (char)(upper ? toupper((unsigned char)b32chars[v[i]]) : b32chars[v[i]]);
    out[o] = '\0';
}

/* Decode a Bech32 string whose HRP must be `hrp` (case-insensitive) into exactly 32 bytes. */
static int bech32_decode32(const char *s, size_t n, const char *hrp, unsigned char out[32])
{
    int lower = 0, upper = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 33 || c > 126)
            return -1;
        lower |= islower(c) != 0;
        upper |= isupper(c) != 0;
    }
    if (lower && upper)
        return -1;
    const char *sep = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '1')
            sep = s + i;
    size_t hl = strlen(hrp);
    if (!sep || (size_t)(sep - s) != hl || strncasecmp(s, hrp, hl) != 0 || n - hl - 1 < 6)
        return -1;
    uint32_t chk = hrp_polymod(s, hl);
    size_t nd = n - hl - 1;
    unsigned char v[128];
    if (nd > sizeof v)
        return -1;
    for (size_t i = 0; i < nd; i++) {
        const char *p = strchr(b32chars, tolower((unsigned char)sep[1 + i]));
        if (!p || !*p)
            return -1;
        v[i] = (unsigned char)(p - b32chars);
        chk = polymod_step(chk, v[i]);
    }
    if (chk != 1)
        return -1;
    nd -= 6;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < nd; i++) {
        acc = acc << 5 | v[i];
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (o == 32)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (bits >= 5 || (acc & ((1u << bits) - 1)) || o != 32)
        return -1; /* padding must be short and zero */
    return 0;
}

/* ---- primitives --------------------------------------------------------------------------- */

static int hkdf(const unsigned char *ikm, size_t ikm_len, const unsigned char *salt, size_t salt_len,
                const char *info, unsigned char out[32])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    int ok = 0;
    if (ctx) {
        OSSL_PARAM p[5], *q = p;
        *q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
        /* an empty salt means "HashLen zeros" in RFC 5869, which is what OpenSSL does without one */
        if (salt_len)
            *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
        *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
        *q = OSSL_PARAM_construct_end();
        ok = EVP_KDF_derive(ctx, out, 32, p) == 1;
    }
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return ok ? 0 : -1;
}

/* ChaCha20-Poly1305 with key (when not NULL, else the ctx's key) and a 12-byte nonce.
 * enc: out = ciphertext || tag (n + 16 bytes). dec: in holds n >= 16 bytes, out gets n - 16.
 * Returns 0, or -1 (for dec: the tag did not verify). */
static int aead(EVP_CIPHER_CTX *c, int enc, const unsigned char *key, const unsigned char nonce[12],
                const unsigned char *in, size_t n, unsigned char *out)
{
    int l = 0, fl = 0;
    if (!enc && n < TAG)
        return -1;
    size_t body = enc ? n : n - TAG;
    if (key && EVP_CipherInit_ex(c, EVP_chacha20_poly1305(), NULL, NULL, NULL, enc) != 1)
        return -1;
    if (EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) != 1)
        return -1;
    if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG, (void *)(in + body)) != 1)
        return -1;
    if (body && EVP_CipherUpdate(c, out, &l, in, (int)body) != 1)
        return -1;
    if (EVP_CipherFinal_ex(c, out + l, &fl) != 1)
        return -1;
    if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG, out + body) != 1)
        return -1;
    return 0;
}

static int aead_once(int enc, const unsigned char key[32], const unsigned char *in, size_t n, unsigned char *out)
{
    static const unsigned char zero_nonce[12];
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int r = c ? aead(c, enc, key, zero_nonce, in, n, out) : -1;
    EVP_CIPHER_CTX_free(c);
    return r;
}

static int x25519_public(const unsigned char sk[32], unsigned char pk[32])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, sk, 32);
    size_t len = 32;
    int ok = k && EVP_PKEY_get_raw_public_key(k, pk, &len) == 1 && len == 32;
    EVP_PKEY_free(k);
    return ok ? 0 : -1;
}

/* X25519(sk, pk); -1 also for an all-zero result (a low-order point). */
static int x25519(const unsigned char sk[32], const unsigned char pk[32], unsigned char out[32])
{
    EVP_PKEY *priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, sk, 32);
    EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pk, 32);
    EVP_PKEY_CTX *ctx = priv ? EVP_PKEY_CTX_new(priv, NULL) : NULL;
    size_t len = 32;
    int ok = ctx && peer && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
             EVP_PKEY_derive(ctx, out, &len) == 1 && len == 32;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(priv);
    EVP_PKEY_free(peer);
    unsigned char acc = 0;
    for (int i = 0; ok && i < 32; i++)
        acc |= out[i];
    return ok && acc ? 0 : -1;
}

static int scrypt_key(const char *pass, const unsigned char salt[16], int log_n, unsigned char out[32])
{
    unsigned char s[sizeof scrypt_label - 1 + 16];
    memcpy(s, scrypt_label, sizeof scrypt_label - 1);
    memcpy(s + sizeof scrypt_label - 1, salt, 16);
    uint64_t n = (uint64_t)1 << log_n;
    uint64_t maxmem = n * 1024 + (1u << 20); /* 128 * r * N for r = 8, and room for the rest */
    return EVP_PBE_scrypt(pass, strlen(pass), s, sizeof s, n, 8, 1, maxmem, out, 32) == 1 ? 0 : -1;
}

/* ---- keys --------------------------------------------------------------------------------- */

typedef struct age_key {
    unsigned char pk[32];
    unsigned char sk[32];
    int has_sk;
    char name[SK_AGE_RECIPIENT_LEN];
} age_key;

struct sk_age_keys {
    age_key *v;
    size_t n, cap;
    char *pass;
    int log_n;
};

sk_age_keys *sk_age_keys_new(void) { return calloc(1, sizeof(sk_age_keys)); }

void sk_age_keys_free(sk_age_keys *k)
{
    if (!k)
        return;
    if (k->v)
        OPENSSL_cleanse(k->v, k->cap * sizeof *k->v);
    free(k->v);
    if (k->pass) {
        OPENSSL_cleanse(k->pass, strlen(k->pass));
        free(k->pass);
    }
    free(k);
}

size_t sk_age_keys_count(const sk_age_keys *k) { return k ? k->n : 0; }
int sk_age_keys_has_passphrase(const sk_age_keys *k) { return k && k->pass; }
const char *sk_age_keys_recipient(const sk_age_keys *k, size_t i) { return i < k->n ? k->v[i].name : NULL; }

static age_key *add_key(sk_age_keys *k, sk_err *err)
{
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 4;
        age_key *nv = calloc(cap, sizeof *nv);
        if (!nv) {
            sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
            return NULL;
        }
        if (k->v) {
            memcpy(nv, k->v, k->n * sizeof *nv);
            OPENSSL_cleanse(k->v, k->cap * sizeof *k->v);
            free(k->v);
        }
        k->v = nv;
        k->cap = cap;
    }
    memset(&k->v[k->n], 0, sizeof k->v[k->n]);
    return &k->v[k->n++];
}

sk_rc sk_age_recipient_decode(const char *s, unsigned char pk[32], sk_err *err)
{
    size_t n = strlen(s);
    if (n < 4 || strncmp(s, "age1", 4) != 0 || bech32_decode32(s, n, "age", pk) != 0)
        return sk_fail(err, SK_ERR_CONFIG, 0,
                       "'%.80s' is not an age X25519 recipient (an age1... public key as age-keygen prints it)", s);
    return SK_OK;
}

void sk_age_recipient_encode(const unsigned char pk[32], char out[SK_AGE_RECIPIENT_LEN])
{
    bech32_encode32("age", pk, 0, out, SK_AGE_RECIPIENT_LEN);
}

sk_rc sk_age_keys_add_recipients(sk_age_keys *k, const char *text, const char *what, sk_err *err)
{
    const char *p = text;
    size_t added = 0;
    while (*p) {
        if (*p == '#') {
            while (*p && *p != '\n')
                p++;
            continue;
        }
        if (isspace((unsigned char)*p) || *p == ',') {
            p++;
            continue;
        }
        size_t n = 0;
        while (p[n] && !isspace((unsigned char)p[n]) && p[n] != ',' && p[n] != '#')
            n++;
        char tok[SK_AGE_RECIPIENT_LEN + 1];
        unsigned char pk[32];
        if (n >= sizeof tok || n < 4 || strncmp(p, "age1", 4) != 0) {
            if (n >= 15 && strncasecmp(p, "AGE-SECRET-KEY-", 15) == 0)
                return sk_fail(err, SK_ERR_CONFIG, 0,
                               "%s holds a secret key (AGE-SECRET-KEY-...): give it the public key instead "
                               "(age-keygen -y key.txt prints it); the secret key is only needed to restore",
                               what);
            return sk_fail(err, SK_ERR_CONFIG, 0,
                           "%s: '%.*s' is not an age X25519 recipient (an age1... public key as age-keygen "
                           "prints it)",
                           what, (int)(n > 80 ? 80 : n), p);
        }
        memcpy(tok, p, n);
        tok[n] = '\0';
        sk_err e;
        sk_err_clear(&e);
        if (sk_age_recipient_decode(tok, pk, &e) != SK_OK)
            return sk_fail(err, SK_ERR_CONFIG, 0, "%s: '%s' is not a valid age1... public key (bad checksum or length)",
                           what, tok);
        age_key *key = add_key(k, err);
        if (!key)
            return err->rc;
        memcpy(key->pk, pk, 32);
        sk_age_recipient_encode(pk, key->name);
        added++;
        p += n;
    }
    if (!added)
        return sk_fail(err, SK_ERR_CONFIG, 0, "%s holds no age1... recipient", what);
    return SK_OK;
}

sk_rc sk_age_keys_add_identities(sk_age_keys *k, const char *text, const char *what, sk_err *err)
{
    const char *p = text;
    size_t added = 0;
    if (!strncmp(text, "age-encryption.org/", 19))
        return sk_fail(err, SK_ERR_CONFIG, 0,
                       "%s is itself an age-encrypted file (a passphrase-protected key file): decrypt it with "
                       "`age -d` first, and keep the plain key file where only the restoring machine reads it",
                       what);
    for (int lineno = 1; *p; lineno++) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        size_t a = 0, b = n;
        while (a < b && isspace((unsigned char)p[a]))
            a++;
        while (b > a && isspace((unsigned char)p[b - 1]))
            b--;
        if (a < b && p[a] != '#') {
            unsigned char sk[32];
            if (b - a < 16 || strncmp(p + a, "AGE-SECRET-KEY-1", 16) != 0 ||
                bech32_decode32(p + a, b - a, "AGE-SECRET-KEY-", sk) != 0) {
                OPENSSL_cleanse(sk, sizeof sk);
                /* never quote the line: it may be a damaged secret key */
                return sk_fail(err, SK_ERR_CONFIG, 0,
                               "%s, line %d: not an age identity (expected an AGE-SECRET-KEY-1... line as "
                               "age-keygen writes it; plugin and post-quantum identities are not supported)",
                               what, lineno);
            }
            age_key *key = add_key(k, err);
            if (!key) {
                OPENSSL_cleanse(sk, sizeof sk);
                return err->rc;
            }
            memcpy(key->sk, sk, 32);
            OPENSSL_cleanse(sk, sizeof sk);
            key->has_sk = 1;
            if (x25519_public(key->sk, key->pk) != 0)
                return sk_fail(err, SK_ERR_INTERNAL, 0, "%s, line %d: X25519 failed", what, lineno);
            sk_age_recipient_encode(key->pk, key->name);
            added++;
        }
        p += n + (eol != NULL);
    }
    if (!added)
        return sk_fail(err, SK_ERR_CONFIG, 0, "%s holds no AGE-SECRET-KEY-1... identity", what);
    return SK_OK;
}

sk_rc sk_age_keys_set_passphrase(sk_age_keys *k, const char *pass, int log_n, sk_err *err)
{
    if (!*pass)
        return sk_fail(err, SK_ERR_CONFIG, 0, "the age passphrase is empty");
    if (log_n < 1 || log_n > SK_AGE_SCRYPT_MAX_LOG_N)
        return sk_fail(err, SK_ERR_CONFIG, 0, "scrypt work factor %d is outside 1..%d", log_n, SK_AGE_SCRYPT_MAX_LOG_N);
    if (k->pass) {
        OPENSSL_cleanse(k->pass, strlen(k->pass));
        free(k->pass);
    }
    if (!(k->pass = strdup(pass)))
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    k->log_n = log_n;
    return SK_OK;
}

/* ---- header parsing ----------------------------------------------------------------------- */

static void stanza_free(sk_age_stanza *s)
{
    for (size_t i = 0; i < s->nargs; i++)
        free(s->args[i]);
    free(s->args);
    free(s->body);
}

void sk_age_header_free(sk_age_header *h)
{
    for (size_t i = 0; i < h->n; i++)
        stanza_free(&h->v[i]);
    free(h->v);
    memset(h, 0, sizeof *h);
}

#define HDR_FAIL(...) (sk_age_header_free(h), sk_fail(err, SK_ERR_INTEGRITY, 0, "age header: " __VA_ARGS__))

/* The next line of buf from *pos: its length (without LF) or -1 when no LF is there yet. */
static long next_line(const unsigned char *buf, size_t len, size_t pos)
{
    const unsigned char *lf = memchr(buf + pos, '\n', len - pos);
    return lf ? (long)(lf - (buf + pos)) : -1;
}

static sk_rc parse_args(const unsigned char *l, size_t n, sk_age_stanza *s, sk_age_header *h, sk_err *err)
{
    /* "-> " arg *(" " arg), arg = 1*VCHAR */
    size_t i = 3;
    if (n <= 3)
        return HDR_FAIL("a stanza has no arguments");
    while (i <= n) {
        size_t j = i;
        while (j < n && l[j] != ' ')
            j++;
        if (j == i)
            return HDR_FAIL("a stanza has an empty argument");
        for (size_t q = i; q < j; q++)
            if (l[q] < 0x21 || l[q] > 0x7e)
                return HDR_FAIL("a stanza argument holds a character outside VCHAR");
        char **na = realloc(s->args, (s->nargs + 1) * sizeof *na);
        if (!na)
            return sk_age_header_free(h), sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        s->args = na;
        if (!(s->args[s->nargs] = strndup((const char *)l + i, j - i)))
            return sk_age_header_free(h), sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        s->nargs++;
        i = j + 1;
    }
    return SK_OK;
}

sk_rc sk_age_header_parse(const void *vbuf, size_t len, int at_eof, sk_age_header *h, sk_err *err)
{
    const unsigned char *buf = vbuf;
    size_t pos = 0, vl = sizeof version_line - 1;
    memset(h, 0, sizeof *h);
    if (len > SK_AGE_HEADER_MAX)
        len = SK_AGE_HEADER_MAX; /* a header that does not end by then is refused below */
#define NEED_MORE()                                                                                  \
    do {                                                                                             \
        if (at_eof || len == SK_AGE_HEADER_MAX) {                                                    \
            if (len == SK_AGE_HEADER_MAX)                                                            \
                return HDR_FAIL("longer than %d bytes (not an age file, or damaged)", SK_AGE_HEADER_MAX); \
            return HDR_FAIL("the file ends inside the header (truncated, or not an age file)");      \
        }                                                                                            \
        sk_age_header_free(h);                                                                       \
        return SK_OK;                                                                                \
    } while (0)
    /* version line: anything that cannot become "age-encryption.org/v1\n" fails at once */
    size_t cmp = len < vl ? len : vl;
    if (memcmp(buf, version_line, cmp) != 0) {
        if (cmp > 19 && memcmp(buf, version_line, 19) == 0)
            return HDR_FAIL("unsupported version (only age-encryption.org/v1 is supported)");
        return HDR_FAIL("not an age file (it does not start with 'age-encryption.org/v1')");
    }
    if (len < vl)
        NEED_MORE();
    pos = vl;
    for (;;) {
        long ll = next_line(buf, len, pos);
        if (ll < 0)
            NEED_MORE();
        const unsigned char *l = buf + pos;
        size_t n = (size_t)ll;
        if (n >= 3 && memcmp(l, "---", 3) == 0) {
            if (h->n == 0)
                return HDR_FAIL("no recipient stanza");
            if (n != 4 + 43 || l[3] != ' ' || b64_decode((const char *)l + 4, 43, h->mac, 32) != 32)
                return HDR_FAIL("malformed MAC line");
            h->mac_input_len = pos + 3;
            h->len = pos + n + 1;
            return SK_OK;
        }
        if (n < 2 || memcmp(l, "->", 2) != 0 || (n > 2 && l[2] != ' ') || n == 2)
            return HDR_FAIL("expected a stanza ('-> ...') or the MAC line ('--- ...')");
        sk_age_stanza *nv = realloc(h->v, (h->n + 1) * sizeof *nv);
        if (!nv)
            return sk_age_header_free(h), sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        h->v = nv;
        sk_age_stanza *s = &h->v[h->n++];
        memset(s, 0, sizeof *s);
        if (parse_args(l, n, s, h, err) != SK_OK)
            return err->rc;
        pos += n + 1;
        /* body: lines of 64 columns, ending with one shorter line (maybe empty) */
        size_t start = pos, b64len = 0;
        for (;;) {
            ll = next_line(buf, len, pos);
            if (ll < 0)
                NEED_MORE();
            if (ll > 64)
                return HDR_FAIL("a stanza body line is longer than 64 columns");
            for (long q = 0; q < ll; q++)
                if (b64val(buf[pos + (size_t)q]) < 0)
                    return HDR_FAIL("a stanza body holds a character that is not base64");
            pos += (size_t)ll + 1;
            b64len += (size_t)ll;
            if (ll < 64)
                break;
        }
        char *b64 = malloc(b64len + 1);
        size_t bl = 0;
        if (!b64 || !(s->body = malloc(b64len / 4 * 3 + 3)))
            return free(b64), sk_age_header_free(h), sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        for (size_t q = start; q < pos; q++)
            if (buf[q] != '\n')
                b64[bl++] = (char)buf[q];
        long dl = b64_decode(b64, bl, s->body, b64len / 4 * 3 + 3);
        free(b64);
        if (dl < 0)
            return HDR_FAIL("a stanza body is not canonical base64");
        s->body_len = (size_t)dl;
    }
#undef NEED_MORE
}

/* ---- encryption --------------------------------------------------------------------------- */

typedef struct age_writer {
    sk_writer base;
    const sk_age_keys *keys;
    EVP_CIPHER_CTX *cctx;
    unsigned char payload_key[32];
    unsigned char *buf;   /* encrypt: plaintext chunk; decrypt: ciphertext chunk */
    size_t fill;
    unsigned char *out;   /* encrypt: ciphertext chunk; decrypt: plaintext chunk */
    uint64_t counter;
    int started;          /* encrypt: header written; decrypt: header done, payload key set */
    int keyed;            /* cctx holds the payload key */
    /* decrypt only */
    unsigned char *hdr;
    size_t hdr_len;
    unsigned char nonce[NONCE_LEN];
    size_t nonce_fill;
    sk_age_fail fail;
    char what[512];
} age_writer;

static void chunk_nonce(uint64_t counter, int last, unsigned char n[12])
{
    memset(n, 0, 12);
    for (int i = 0; i < 8; i++)
        n[10 - i] = (unsigned char)(counter >> (8 * i));
    n[11] = last ? 1 : 0;
}

typedef struct hbuf {
    char *p;
    size_t len, cap;
} hbuf;

static int hb_add(hbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *np = realloc(b->p, cap);
        if (!np)
            return -1;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

/* body lines: base64 wrapped at 64 columns, ending with a line shorter than 64 */
static int hb_body(hbuf *b, const unsigned char *body, size_t n)
{
    char enc[64];
    int r = 0;
    size_t full = n / 48 * 48;
    for (size_t i = 0; i < full && !r; i += 48) {
        b64_encode(body + i, 48, enc);
        r = hb_add(b, enc, 64) || hb_add(b, "\n", 1);
    }
    size_t m = b64_encode(body + full, n - full, enc);
    return r || hb_add(b, enc, m) || hb_add(b, "\n", 1);
}

static sk_rc write_header(age_writer *a, sk_err *err)
{
    const sk_age_keys *k = a->keys;
    unsigned char file_key[FILE_KEY], nonce[NONCE_LEN], wrap[32], body[FILE_KEY + TAG], mac[32];
    unsigned char eph[32], share[32], secret[32], salt_buf[64];
    char b64[64];
    hbuf h = { 0 };
    sk_rc rc = SK_OK;
    if (RAND_bytes(file_key, sizeof file_key) != 1 || RAND_bytes(nonce, sizeof nonce) != 1) {
        rc = sk_fail(err, SK_ERR_INTERNAL, 0, "age: no random bytes from OpenSSL");
        goto out;
    }
    if (hb_add(&h, version_line, sizeof version_line - 1))
        goto nomem;
    if (k->pass) {
        unsigned char salt[16];
        char line[128];
        if (RAND_bytes(salt, sizeof salt) != 1 || scrypt_key(k->pass, salt, k->log_n, wrap) != 0 ||
            aead_once(1, wrap, file_key, FILE_KEY, body) != 0) {
            rc = sk_fail(err, SK_ERR_INTERNAL, 0, "age: scrypt key wrap failed (work factor %d)", k->log_n);
            goto out;
        }
        b64_encode(salt, 16, b64);
        int n = snprintf(line, sizeof line, "-> scrypt %s %d\n", b64, k->log_n);
        if (hb_add(&h, line, (size_t)n) || hb_body(&h, body, sizeof body))
            goto nomem;
    }
    for (size_t i = 0; i < k->n; i++) {
        if (RAND_bytes(eph, 32) != 1 || x25519_public(eph, share) != 0 || x25519(eph, k->v[i].pk, secret) != 0) {
            rc = sk_fail(err, SK_ERR_INTERNAL, 0, "age: X25519 failed for recipient %s", k->v[i].name);
            goto out;
        }
        memcpy(salt_buf, share, 32);
        memcpy(salt_buf + 32, k->v[i].pk, 32);
        if (hkdf(secret, 32, salt_buf, 64, x25519_label, wrap) != 0 || aead_once(1, wrap, file_key, FILE_KEY, body) != 0) {
            rc = sk_fail(err, SK_ERR_INTERNAL, 0, "age: key wrap failed");
            goto out;
        }
        b64_encode(share, 32, b64);
        if (hb_add(&h, "-> X25519 ", 10) || hb_add(&h, b64, strlen(b64)) || hb_add(&h, "\n", 1) ||
            hb_body(&h, body, sizeof body))
            goto nomem;
    }
    if (hb_add(&h, "---", 3))
        goto nomem;
    if (hkdf(file_key, FILE_KEY, NULL, 0, "header", wrap) != 0 ||
        !HMAC(EVP_sha256(), wrap, 32, (const unsigned char *)h.p, h.len, mac, NULL) ||
        hkdf(file_key, FILE_KEY, nonce, NONCE_LEN, "payload", a->payload_key) != 0) {
        rc = sk_fail(err, SK_ERR_INTERNAL, 0, "age: HKDF/HMAC failed");
        goto out;
    }
    b64_encode(mac, 32, b64);
    if (hb_add(&h, " ", 1) || hb_add(&h, b64, strlen(b64)) || hb_add(&h, "\n", 1) ||
        hb_add(&h, (const char *)nonce, NONCE_LEN))
        goto nomem;
    rc = sk_writer_write(a->base.next, h.p, h.len, err);
    a->started = 1;
    goto out;
nomem:
    rc = sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
out:
    OPENSSL_cleanse(file_key, sizeof file_key);
    OPENSSL_cleanse(wrap, sizeof wrap);
    OPENSSL_cleanse(eph, sizeof eph);
    OPENSSL_cleanse(secret, sizeof secret);
    free(h.p);
    return rc;
}

static sk_rc seal_chunk(age_writer *a, int last, sk_err *err)
{
    unsigned char n[12];
    chunk_nonce(a->counter, last, n);
    if (aead(a->cctx, 1, a->keyed ? NULL : a->payload_key, n, a->buf, a->fill, a->out) != 0)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "age: ChaCha20-Poly1305 failed");
    a->keyed = 1;
    a->counter++;
    size_t len = a->fill + TAG;
    a->fill = 0;
    return sk_writer_write(a->base.next, a->out, len, err);
}

static sk_rc enc_write(sk_writer *w, const void *vbuf, size_t len, sk_err *err)
{
    age_writer *a = (age_writer *)w;
    const unsigned char *p = vbuf;
    if (!a->started && write_header(a, err) != SK_OK)
        return err->rc;
    while (len) {
        /* a full chunk is sealed only once more data shows it is not the last */
        if (a->fill == SK_AGE_CHUNK && seal_chunk(a, 0, err) != SK_OK)
            return err->rc;
        size_t n = SK_AGE_CHUNK - a->fill < len ? SK_AGE_CHUNK - a->fill : len;
        memcpy(a->buf + a->fill, p, n);
        a->fill += n;
        p += n;
        len -= n;
    }
    return SK_OK;
}

static sk_rc enc_finish(sk_writer *w, sk_err *err)
{
    age_writer *a = (age_writer *)w;
    if (!a->started && write_header(a, err) != SK_OK)
        return err->rc;
    if (seal_chunk(a, 1, err) != SK_OK)
        return err->rc;
    return sk_writer_finish(w->next, err);
}

static void age_abort(sk_writer *w) { sk_writer_abort(w->next); }

static void age_destroy(sk_writer *w)
{
    age_writer *a = (age_writer *)w;
    EVP_CIPHER_CTX_free(a->cctx);
    OPENSSL_cleanse(a->payload_key, sizeof a->payload_key);
    if (a->buf)
        OPENSSL_cleanse(a->buf, CT_CHUNK);
    if (a->out)
        OPENSSL_cleanse(a->out, CT_CHUNK);
    free(a->buf);
    free(a->out);
    free(a->hdr);
    free(a);
}

static const sk_writer_type enc_type = { "age", enc_write, enc_finish, age_abort, age_destroy };

static age_writer *age_new(sk_writer *next, const sk_age_keys *k, const sk_writer_type *type, sk_err *err)
{
    age_writer *a = calloc(1, sizeof *a);
    if (!a || !(a->buf = malloc(CT_CHUNK)) || !(a->out = malloc(CT_CHUNK)) || !(a->cctx = EVP_CIPHER_CTX_new())) {
        if (a)
            age_destroy(&a->base);
        sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "age: out of memory");
        return NULL;
    }
    sk_writer_init(&a->base, type, next);
    a->keys = k;
    return a;
}

sk_writer *sk_age_encrypt_writer_new(sk_writer *next, const sk_age_keys *k, sk_err *err)
{
    if (!k || (!k->n && !k->pass)) {
        sk_fail(err, SK_ERR_CONFIG, 0, "age: no recipient to encrypt to");
        return NULL;
    }
    if (k->n && k->pass) {
        sk_fail(err, SK_ERR_CONFIG, 0,
                "age: a passphrase cannot be combined with age1... recipients (the age format allows a "
                "passphrase only as the sole recipient)");
        return NULL;
    }
    for (size_t i = 0; i < k->n; i++)
        if (k->v[i].has_sk) {
            sk_fail(err, SK_ERR_INTERNAL, 0, "age: encryption was given identities, not recipients");
            return NULL;
        }
    age_writer *a = age_new(next, k, &enc_type, err);
    return a ? &a->base : NULL;
}

/* ---- decryption --------------------------------------------------------------------------- */

static sk_rc dec_fail(age_writer *a, sk_age_fail kind, sk_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static sk_rc dec_fail(age_writer *a, sk_age_fail kind, sk_err *err, const char *fmt, ...)
{
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    a->fail = kind;
    return sk_fail(err, kind == SK_AGE_FAIL_OTHER ? SK_ERR_INTERNAL : SK_ERR_INTEGRITY, 0, "%s: %s", a->what, msg);
}

static int is_decimal_no_lead_zero(const char *s)
{
    if (!*s || *s < '1' || *s > '9')
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* Unwrap the file key from the parsed header with the keys; checks the MAC. */
static sk_rc unwrap(age_writer *a, const sk_age_header *h, unsigned char file_key[FILE_KEY], sk_err *err)
{
    const sk_age_keys *k = a->keys;
    unsigned char share[32], secret[32], salt[64], wrap[32], mac[32];
    int found = 0, scrypt_seen = 0;
    size_t x25519_seen = 0;
    sk_rc rc = SK_OK;
    for (size_t i = 0; i < h->n; i++)
        if (!strcmp(h->v[i].args[0], "scrypt"))
            scrypt_seen = 1;
    if (scrypt_seen && h->n != 1)
        return dec_fail(a, SK_AGE_FAIL_HEADER, err, "age header: a scrypt stanza is not the only stanza");
    for (size_t i = 0; i < h->n && !found; i++) {
        const sk_age_stanza *s = &h->v[i];
        if (!strcmp(s->args[0], "X25519")) {
            x25519_seen++;
            if (s->nargs != 2 || b64_decode(s->args[1], strlen(s->args[1]), share, 32) != 32 ||
                s->body_len != FILE_KEY + TAG)
                return dec_fail(a, SK_AGE_FAIL_HEADER, err, "age header: malformed X25519 stanza");
            for (size_t j = 0; j < k->n && !found; j++) {
                if (!k->v[j].has_sk)
                    continue;
                if (x25519(k->v[j].sk, share, secret) != 0) {
                    rc = dec_fail(a, SK_AGE_FAIL_HEADER, err, "age header: X25519 share is a low-order point");
                    goto out;
                }
                memcpy(salt, share, 32);
                memcpy(salt + 32, k->v[j].pk, 32);
                if (hkdf(secret, 32, salt, 64, x25519_label, wrap) != 0) {
                    rc = dec_fail(a, SK_AGE_FAIL_OTHER, err, "age: HKDF failed");
                    goto out;
                }
                found = aead_once(0, wrap, s->body, s->body_len, file_key) == 0;
            }
        } else if (!strcmp(s->args[0], "scrypt")) {
            unsigned char ssalt[16];
            if (s->nargs != 3 || b64_decode(s->args[1], strlen(s->args[1]), ssalt, 16) != 16 ||
                !is_decimal_no_lead_zero(s->args[2]) || strlen(s->args[2]) > 2 || s->body_len != FILE_KEY + TAG)
                return dec_fail(a, SK_AGE_FAIL_HEADER, err, "age header: malformed scrypt stanza");
            int log_n = 0;
            for (const char *q = s->args[2]; *q; q++)
                log_n = log_n * 10 + (*q - '0');
            if (log_n > SK_AGE_SCRYPT_MAX_LOG_N)
                return dec_fail(a, SK_AGE_FAIL_HEADER, err,
                                "age header: scrypt work factor %d is above the limit of %d (it would need %d MiB "
                                "of memory)",
                                log_n, SK_AGE_SCRYPT_MAX_LOG_N, 1 << (log_n > 30 ? 20 : log_n - 10));
            if (!k->pass)
                continue;
            if (scrypt_key(k->pass, ssalt, log_n, wrap) != 0) {
                rc = dec_fail(a, SK_AGE_FAIL_OTHER, err, "age: scrypt failed (work factor %d)", log_n);
                goto out;
            }
            found = aead_once(0, wrap, s->body, s->body_len, file_key) == 0;
            if (!found) {
                rc = dec_fail(a, SK_AGE_FAIL_NO_MATCH, err, "the passphrase does not decrypt this file (wrong passphrase)");
                goto out;
            }
        }
    }
    if (!found) {
        size_t ids = 0;
        for (size_t j = 0; j < k->n; j++)
            ids += k->v[j].has_sk != 0;
        if (scrypt_seen)
            rc = dec_fail(a, SK_AGE_FAIL_NO_MATCH, err,
                          "the file is encrypted with a passphrase, and no passphrase was given");
        else if (!ids)
            rc = dec_fail(a, SK_AGE_FAIL_NO_MATCH, err,
                          "the file is encrypted to age1... public keys (%zu X25519 stanza%s) and only a passphrase "
                          "was given: give the secret key (identity file) instead",
                          x25519_seen, x25519_seen == 1 ? "" : "s");
        else
            rc = dec_fail(a, SK_AGE_FAIL_NO_MATCH, err,
                          "none of the %zu identit%s given decrypts this file (it has %zu X25519 recipient "
                          "stanza%s of %zu): the wrong secret key, or a file encrypted to someone else",
                          ids, ids == 1 ? "y" : "ies", x25519_seen, x25519_seen == 1 ? "" : "s", h->n);
        goto out;
    }
    if (hkdf(file_key, FILE_KEY, NULL, 0, "header", wrap) != 0 ||
        !HMAC(EVP_sha256(), wrap, 32, a->hdr, h->mac_input_len, mac, NULL)) {
        rc = dec_fail(a, SK_AGE_FAIL_OTHER, err, "age: HKDF/HMAC failed");
        goto out;
    }
    if (CRYPTO_memcmp(mac, h->mac, 32) != 0)
        rc = dec_fail(a, SK_AGE_FAIL_HMAC, err,
                      "age header MAC does not match: the header was altered (or belongs to another file)");
out:
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(wrap, sizeof wrap);
    return rc;
}

/* Header phase: gather bytes until the header and the payload nonce are complete, then unwrap. */
static sk_rc dec_header(age_writer *a, const unsigned char **p, size_t *len, int at_eof, sk_err *err)
{
    sk_age_header h;
    sk_err perr;
    sk_err_clear(&perr);
    size_t take = SK_AGE_HEADER_MAX - a->hdr_len < *len ? SK_AGE_HEADER_MAX - a->hdr_len : *len;
    memcpy(a->hdr + a->hdr_len, *p, take);
    size_t before = a->hdr_len;
    a->hdr_len += take;
    /* re-parse only when a line ended (headers are small; this keeps byte-wise feeding linear enough) */
    if (!at_eof && !memchr(*p, '\n', take) && a->hdr_len < SK_AGE_HEADER_MAX) {
        *p += take;
        *len -= take;
        return SK_OK;
    }
    if (sk_age_header_parse(a->hdr, a->hdr_len, at_eof, &h, &perr) != SK_OK)
        return dec_fail(a, perr.rc == SK_ERR_INTEGRITY ? SK_AGE_FAIL_HEADER : SK_AGE_FAIL_OTHER, err, "%s", perr.msg);
    if (h.len == 0) {
        *p += take;
        *len -= take;
        return SK_OK;
    }
    /* bytes past the header belong to the payload: hand them back */
    size_t used = h.len > before ? h.len - before : 0;
    *p += used;
    *len -= used;
    unsigned char file_key[FILE_KEY];
    sk_rc rc = unwrap(a, &h, file_key, err);
    if (rc == SK_OK) {
        /* the payload key needs the nonce: keep the file key until then */
        memcpy(a->payload_key, file_key, FILE_KEY);
        a->started = 1;
    }
    OPENSSL_cleanse(file_key, sizeof file_key);
    sk_age_header_free(&h);
    free(a->hdr);
    a->hdr = NULL;
    return rc;
}

static sk_rc dec_nonce(age_writer *a, const unsigned char **p, size_t *len, sk_err *err)
{
    size_t take = NONCE_LEN - a->nonce_fill < *len ? NONCE_LEN - a->nonce_fill : *len;
    memcpy(a->nonce + a->nonce_fill, *p, take);
    a->nonce_fill += take;
    *p += take;
    *len -= take;
    if (a->nonce_fill == NONCE_LEN) {
        unsigned char file_key[FILE_KEY];
        memcpy(file_key, a->payload_key, FILE_KEY);
        int r = hkdf(file_key, FILE_KEY, a->nonce, NONCE_LEN, "payload", a->payload_key);
        OPENSSL_cleanse(file_key, sizeof file_key);
        if (r != 0)
            return dec_fail(a, SK_AGE_FAIL_OTHER, err, "age: HKDF failed");
    }
    return SK_OK;
}

/* Open the buffered chunk with the given final flag into a->out; 0 when its tag verifies. */
static int try_open(age_writer *a, int last)
{
    unsigned char n[12];
    chunk_nonce(a->counter, last, n);
    /* the ctx is keyed on chunk 0; every chunk re-initialises only the nonce */
    return aead(a->cctx, 0, a->keyed ? NULL : a->payload_key, n, a->buf, a->fill, a->out) == 0 ? (a->keyed = 1, 0) : -1;
}

static sk_rc release(age_writer *a, size_t plain, sk_err *err)
{
    if (!plain)
        return SK_OK;
    sk_rc rc = sk_writer_write(a->base.next, a->out, plain, err);
    if (rc != SK_OK)
        a->fail = SK_AGE_FAIL_OTHER;
    return rc;
}

static sk_rc open_chunk(age_writer *a, int last, sk_err *err)
{
    unsigned long long idx = (unsigned long long)a->counter;
    if (a->fill < TAG)
        return dec_fail(a, SK_AGE_FAIL_PAYLOAD, err,
                        "age payload: the file is truncated (chunk %llu is %zu bytes, shorter than its tag)", idx,
                        a->fill);
    size_t plain = a->fill - TAG;
    if (try_open(a, last) != 0) {
        /* A full chunk with the other flag tells a more precise story (and, like the reference
         * implementation, releases its plaintext before failing: nothing downstream commits). */
        if (a->fill == CT_CHUNK && try_open(a, !last) == 0) {
            if (release(a, plain, err) != SK_OK)
                return err->rc;
            return dec_fail(a, SK_AGE_FAIL_PAYLOAD, err,
                            last ? "age payload: the file ends after chunk %llu, which is not the final chunk "
                                   "(truncated)"
                                 : "age payload: data follows the final chunk (%llu): the file was extended",
                            idx);
        }
        if (last)
            return dec_fail(a, SK_AGE_FAIL_PAYLOAD, err,
                            "age payload: the last chunk (%llu) does not authenticate: the file is truncated, "
                            "extended, reordered or modified",
                            idx);
        return dec_fail(a, SK_AGE_FAIL_PAYLOAD, err,
                        "age payload: chunk %llu does not authenticate: the file was modified, reordered, or its "
                        "header swapped",
                        idx);
    }
    if (last && plain == 0 && a->counter > 0)
        return dec_fail(a, SK_AGE_FAIL_PAYLOAD, err, "age payload: an empty final chunk after data (not allowed)");
    a->counter++;
    a->fill = 0;
    return release(a, plain, err);
}

static sk_rc dec_write(sk_writer *w, const void *vbuf, size_t len, sk_err *err)
{
    age_writer *a = (age_writer *)w;
    const unsigned char *p = vbuf;
    if (!a->started && dec_header(a, &p, &len, 0, err) != SK_OK)
        return err->rc;
    if (a->started && a->nonce_fill < NONCE_LEN && len && dec_nonce(a, &p, &len, err) != SK_OK)
        return err->rc;
    while (len) {
        /* a full chunk is opened as non-final only once more bytes follow it */
        if (a->fill == CT_CHUNK && open_chunk(a, 0, err) != SK_OK)
            return err->rc;
        size_t n = CT_CHUNK - a->fill < len ? CT_CHUNK - a->fill : len;
        memcpy(a->buf + a->fill, p, n);
        a->fill += n;
        p += n;
        len -= n;
    }
    return SK_OK;
}

static sk_rc dec_finish(sk_writer *w, sk_err *err)
{
    age_writer *a = (age_writer *)w;
    const unsigned char *p = (const unsigned char *)"";
    size_t len = 0;
    if (!a->started && dec_header(a, &p, &len, 1, err) != SK_OK)
        return err->rc;
    if (!a->started)
        return dec_fail(a, SK_AGE_FAIL_HEADER, err, "age header: the file ends inside the header");
    if (a->nonce_fill < NONCE_LEN)
        return dec_fail(a, SK_AGE_FAIL_HEADER, err, "age: the file ends before the payload nonce (truncated)");
    if (a->fill == 0)
        return dec_fail(a, SK_AGE_FAIL_PAYLOAD, err,
                        "age payload: the file ends without a final chunk (truncated after chunk %llu)",
                        (unsigned long long)a->counter);
    if (open_chunk(a, 1, err) != SK_OK)
        return err->rc;
    sk_rc rc = sk_writer_finish(w->next, err);
    if (rc != SK_OK)
        a->fail = SK_AGE_FAIL_OTHER;
    return rc;
}

static const sk_writer_type dec_type = { "unage", dec_write, dec_finish, age_abort, age_destroy };

sk_writer *sk_age_decrypt_writer_new(sk_writer *next, const sk_age_keys *k, const char *what, sk_err *err)
{
    if (!k || (!k->n && !k->pass)) {
        sk_fail(err, SK_ERR_CONFIG, 0, "%s is encrypted (age) and no identity or passphrase was given", what);
        return NULL;
    }
    age_writer *a = age_new(next, k, &dec_type, err);
    if (!a)
        return NULL;
    if (!(a->hdr = malloc(SK_AGE_HEADER_MAX))) {
        age_destroy(&a->base);
        sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "age: out of memory");
        return NULL;
    }
    snprintf(a->what, sizeof a->what, "%s", what);
    return &a->base;
}

sk_age_fail sk_age_decrypt_failure(const sk_writer *w) { return ((const age_writer *)w)->fail; }
