#include "sigv4.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* ---- growable string ------------------------------------------------------------------------ */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_addn(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_add(sbuf *b, const char *s) { sb_addn(b, s, strlen(s)); }
static void sb_addc(sbuf *b, char c) { sb_addn(b, &c, 1); }

/* Returns the string (owned by the caller) or NULL when out of memory. An empty buffer yields "". */
static char *sb_take(sbuf *b)
{
    if (!b->oom && !b->p)
        sb_addn(b, "", 0);
    if (b->oom) {
        free(b->p);
        b->p = NULL;
        return NULL;
    }
    char *p = b->p;
    b->p = NULL;
    return p;
}

/* ---- hashing -------------------------------------------------------------------------------- */

void sk_hex_encode(const unsigned char *bin, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bin[i] >> 4];
        out[2 * i + 1] = digits[bin[i] & 15];
    }
    out[2 * len] = '\0';
}

void sk_sha256_hex(const void *buf, size_t len, char out[SK_SHA256_HEX_LEN + 1])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    /* EVP_Digest with SHA-256 cannot fail short of memory corruption; keep the output defined. */
    if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        memset(md, 0, sizeof md);
    sk_hex_encode(md, 32, out);
}

sk_rc sk_sha256_init(sk_sha256 *h, sk_err *err)
{
    EVP_MD_CTX *ctx = h->md;
    if (!ctx) {
        ctx = EVP_MD_CTX_new();
        if (!ctx)
            return sk_fail(err, SK_ERR_INTERNAL, 0, "sha256: out of memory");
        h->md = ctx;
    }
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "sha256: EVP_DigestInit_ex failed");
    return SK_OK;
}

sk_rc sk_sha256_update(sk_sha256 *h, const void *buf, size_t len, sk_err *err)
{
    if (!h->md || EVP_DigestUpdate(h->md, buf, len) != 1)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "sha256: EVP_DigestUpdate failed");
    return SK_OK;
}

sk_rc sk_sha256_final(sk_sha256 *h, unsigned char bin[32], char hex[SK_SHA256_HEX_LEN + 1],
                      sk_err *err)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (!h->md || EVP_DigestFinal_ex(h->md, md, &mdlen) != 1 || mdlen != 32)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "sha256: EVP_DigestFinal_ex failed");
    if (bin)
        memcpy(bin, md, 32);
    if (hex)
        sk_hex_encode(md, 32, hex);
    return SK_OK;
}

void sk_sha256_free(sk_sha256 *h)
{
    if (h && h->md) {
        EVP_MD_CTX_free(h->md);
        h->md = NULL;
    }
}

void sk_content_md5(const void *buf, size_t len, char out[25])
{
    unsigned char md[16];
    unsigned int mdlen = 0;
    if (EVP_Digest(buf, len, md, &mdlen, EVP_md5(), NULL) != 1 || mdlen != 16)
        memset(md, 0, sizeof md);
    /* 16 bytes -> 24 base64 characters plus NUL. */
    EVP_EncodeBlock((unsigned char *)out, md, 16);
    out[24] = '\0';
}

static int hmac256(const void *key, size_t keylen, const char *msg, size_t msglen,
                   unsigned char out[32])
{
    unsigned int outlen = 0;
    if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, msglen, out, &outlen))
        return -1;
    return outlen == 32 ? 0 : -1;
}

/* ---- encoding ------------------------------------------------------------------------------- */

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static void encode_into(sbuf *b, const char *s, size_t len, int keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            sb_addc(b, (char)c);
        } else {
            char e[3] = {'%', digits[c >> 4], digits[c & 15]};
            sb_addn(b, e, 3);
        }
    }
}

char *sk_sigv4_uri_encode(const char *s, size_t len, int keep_slash)
{
    sbuf b = {0};
    encode_into(&b, s, len, keep_slash);
    return sb_take(&b);
}

/* ---- canonical pieces ----------------------------------------------------------------------- */

typedef struct qitem {
    char *k, *v;
} qitem;

static int qcmp(const void *a, const void *b)
{
    const qitem *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

/* Encoded, sorted "k=v&k=v" (value-less parameters as "k="). NULL when out of memory. */
static char *canonical_query(const sk_sigv4_param *q, size_t n)
{
    if (n == 0)
        return sk_sigv4_uri_encode("", 0, 0);
    qitem *items = calloc(n, sizeof *items);
    char *res = NULL;
    if (!items)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *v = q[i].value ? q[i].value : "";
        items[i].k = sk_sigv4_uri_encode(q[i].key, strlen(q[i].key), 0);
        items[i].v = sk_sigv4_uri_encode(v, strlen(v), 0);
        if (!items[i].k || !items[i].v)
            goto out;
    }
    qsort(items, n, sizeof *items, qcmp);
    sbuf b = {0};
    for (size_t i = 0; i < n; i++) {
        if (i)
            sb_addc(&b, '&');
        sb_add(&b, items[i].k);
        sb_addc(&b, '=');
        sb_add(&b, items[i].v);
    }
    res = sb_take(&b);
out:
    for (size_t i = 0; i < n; i++) {
        free(items[i].k);
        free(items[i].v);
    }
    free(items);
    return res;
}

typedef struct hitem {
    char *name;          /* lower case */
    const char *value;   /* raw */
    size_t order;        /* position given, for a stable sort of repeated names */
} hitem;

static int hcmp(const void *a, const void *b)
{
    const hitem *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Append the value trimmed, with inner runs of blanks collapsed to one space. */
static void add_trimmed(sbuf *b, const char *v)
{
    int pending_space = 0, started = 0;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            pending_space = started;
            continue;
        }
        if (pending_space)
            sb_addc(b, ' ');
        pending_space = 0;
        started = 1;
        sb_addc(b, *v);
    }
}

static char *lower_dup(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        p[i] = (char)tolower((unsigned char)s[i]);
    return p;
}

static int valid_payload_hash(const char *h)
{
    if (!h)
        return 0;
    if (strcmp(h, SK_UNSIGNED_PAYLOAD) == 0)
        return 1;
    if (strlen(h) != SK_SHA256_HEX_LEN)
        return 0;
    for (const char *p = h; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

/* ---- signing -------------------------------------------------------------------------------- */

void sk_sigv4_result_free(sk_sigv4_result *r)
{
    if (!r)
        return;
    free(r->canonical_uri);
    free(r->canonical_query);
    free(r->canonical_request);
    free(r->string_to_sign);
    free(r->signed_headers);
    free(r->authorization);
    memset(r, 0, sizeof *r);
}

sk_rc sk_sigv4_sign(const sk_sigv4_request *req, const sk_sigv4_creds *creds, time_t when,
                    sk_sigv4_result *out, sk_err *err)
{
    sk_rc rc = SK_OK;
    hitem *hs = NULL;
    size_t nh = 0;
    sbuf creq = {0}, sh = {0}, sts = {0}, auth = {0};
    unsigned char k[32], kdate[32], kregion[32], kservice[32], sig[32];
    char date8[9], crhash[SK_SHA256_HEX_LEN + 1];
    char *secret = NULL;
    size_t secret_len = 0;
    int have_host = 0;

    memset(out, 0, sizeof *out);
    if (!creds->access_key_id || !*creds->access_key_id)
        return sk_fail(err, SK_ERR_CONFIG, 0, "SigV4: the access key id is empty; set S3_ACCESS_KEY_ID");
    if (!creds->secret_access_key || !*creds->secret_access_key)
        return sk_fail(err, SK_ERR_CONFIG, 0,
                       "SigV4: the secret access key is empty; set S3_SECRET_ACCESS_KEY");
    if (!creds->region || !*creds->region)
        return sk_fail(err, SK_ERR_CONFIG, 0, "SigV4: the region is empty; set S3_REGION");
    if (!creds->service || !*creds->service || !req->method || !*req->method)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "SigV4: service and method must be set");
    if (!valid_payload_hash(req->payload_hash))
        return sk_fail(err, SK_ERR_INTERNAL, 0,
                       "SigV4: payload hash must be 64 lower-case hex digits or UNSIGNED-PAYLOAD");
    const char *path = req->path && *req->path ? req->path : "/";
    if (path[0] != '/')
        return sk_fail(err, SK_ERR_INTERNAL, 0, "SigV4: the path must start with '/'");

    struct tm tm;
    if (!gmtime_r(&when, &tm) || strftime(out->amz_date, sizeof out->amz_date, "%Y%m%dT%H%M%SZ", &tm) != 16)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "SigV4: cannot format the request time");
    memcpy(date8, out->amz_date, 8);
    date8[8] = '\0';

    /* Headers: the caller's plus x-amz-date and x-amz-content-sha256. */
    hs = calloc(req->nheaders + 2, sizeof *hs);
    if (!hs)
        goto oom;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (!req->headers[i].name || !req->headers[i].value) {
            rc = sk_fail(err, SK_ERR_INTERNAL, 0, "SigV4: header %zu has no name or value", i);
            goto done;
        }
        hs[nh].name = lower_dup(req->headers[i].name);
        if (!hs[nh].name)
            goto oom;
        hs[nh].value = req->headers[i].value;
        hs[nh].order = nh;
        if (strcmp(hs[nh].name, "x-amz-date") == 0 || strcmp(hs[nh].name, "x-amz-content-sha256") == 0 ||
            strcmp(hs[nh].name, "authorization") == 0) {
            rc = sk_fail(err, SK_ERR_INTERNAL, 0, "SigV4: header '%s' is set by the signer", hs[nh].name);
            nh++;
            goto done;
        }
        if (strcmp(hs[nh].name, "host") == 0)
            have_host = 1;
        nh++;
    }
    if (!have_host) {
        rc = sk_fail(err, SK_ERR_INTERNAL, 0, "SigV4: the request has no host header");
        goto done;
    }
    hs[nh].name = lower_dup("x-amz-date");
    if (!hs[nh].name)
        goto oom;
    hs[nh].value = out->amz_date;
    hs[nh].order = nh;
    nh++;
    if (!req->omit_content_sha256_header) {
        hs[nh].name = lower_dup("x-amz-content-sha256");
        if (!hs[nh].name)
            goto oom;
        hs[nh].value = req->payload_hash;
        hs[nh].order = nh;
        nh++;
    }
    qsort(hs, nh, sizeof *hs, hcmp);

    out->canonical_uri = sk_sigv4_uri_encode(path, strlen(path), 1);
    out->canonical_query = canonical_query(req->query, req->nquery);
    if (!out->canonical_uri || !out->canonical_query)
        goto oom;

    /* Canonical request: method, URI, query, headers (one line each, repeated names joined with
     * ','), an empty line, signed header names, payload hash. */
    sb_add(&creq, req->method);
    sb_addc(&creq, '\n');
    sb_add(&creq, out->canonical_uri);
    sb_addc(&creq, '\n');
    sb_add(&creq, out->canonical_query);
    sb_addc(&creq, '\n');
    for (size_t i = 0; i < nh; i++) {
        int repeat = i > 0 && strcmp(hs[i].name, hs[i - 1].name) == 0;
        if (repeat) {
            sb_addc(&creq, ',');
        } else {
            if (i > 0)
                sb_addc(&creq, '\n');
            sb_add(&creq, hs[i].name);
            sb_addc(&creq, ':');
            if (sh.len)
                sb_addc(&sh, ';');
            sb_add(&sh, hs[i].name);
        }
        add_trimmed(&creq, hs[i].value);
    }
    sb_add(&creq, "\n\n");
    if (sh.p)
        sb_add(&creq, sh.p);
    sb_addc(&creq, '\n');
    sb_add(&creq, req->payload_hash);
    out->signed_headers = sb_take(&sh);
    out->canonical_request = sb_take(&creq);
    if (!out->signed_headers || !out->canonical_request)
        goto oom;

    sk_sha256_hex(out->canonical_request, strlen(out->canonical_request), crhash);
    sb_add(&sts, "AWS4-HMAC-SHA256\n");
    sb_add(&sts, out->amz_date);
    sb_addc(&sts, '\n');
    sb_add(&sts, date8);
    sb_addc(&sts, '/');
    sb_add(&sts, creds->region);
    sb_addc(&sts, '/');
    sb_add(&sts, creds->service);
    sb_add(&sts, "/aws4_request\n");
    sb_add(&sts, crhash);
    out->string_to_sign = sb_take(&sts);
    if (!out->string_to_sign)
        goto oom;

    /* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
    /* Allocated once at its final size so no stray copy of the secret is left by a realloc. */
    secret_len = 4 + strlen(creds->secret_access_key);
    secret = malloc(secret_len + 1);
    if (!secret)
        goto oom;
    memcpy(secret, "AWS4", 4);
    memcpy(secret + 4, creds->secret_access_key, secret_len - 4 + 1);
    if (hmac256(secret, secret_len, date8, 8, kdate) ||
        hmac256(kdate, 32, creds->region, strlen(creds->region), kregion) ||
        hmac256(kregion, 32, creds->service, strlen(creds->service), kservice) ||
        hmac256(kservice, 32, "aws4_request", 12, k) ||
        hmac256(k, 32, out->string_to_sign, strlen(out->string_to_sign), sig)) {
        rc = sk_fail(err, SK_ERR_INTERNAL, 0, "SigV4: HMAC-SHA256 failed");
        goto done;
    }
    sk_hex_encode(sig, 32, out->signature);

    sb_add(&auth, "AWS4-HMAC-SHA256 Credential=");
    sb_add(&auth, creds->access_key_id);
    sb_addc(&auth, '/');
    sb_add(&auth, date8);
    sb_addc(&auth, '/');
    sb_add(&auth, creds->region);
    sb_addc(&auth, '/');
    sb_add(&auth, creds->service);
    sb_add(&auth, "/aws4_request,SignedHeaders=");
    sb_add(&auth, out->signed_headers);
    sb_add(&auth, ",Signature=");
    sb_add(&auth, out->signature);
    out->authorization = sb_take(&auth);
    if (!out->authorization)
        goto oom;
    goto done;

oom:
    rc = sk_fail(err, SK_ERR_INTERNAL, 0, "SigV4: out of memory");
done:
    if (secret) {
        OPENSSL_cleanse(secret, secret_len);
        free(secret);
    }
    OPENSSL_cleanse(kdate, sizeof kdate);
    OPENSSL_cleanse(kregion, sizeof kregion);
    OPENSSL_cleanse(kservice, sizeof kservice);
    OPENSSL_cleanse(k, sizeof k);
    for (size_t i = 0; i < nh; i++)
        free(hs[i].name);
    free(hs);
    free(creq.p);
    free(sh.p);
    free(sts.p);
    free(auth.p);
    if (rc != SK_OK)
        sk_sigv4_result_free(out);
    return rc;
}
