/*
 * sigv4.h: AWS Signature Version 4 for S3 (header authorisation), plus the hash helpers the S3
 * client needs. A pure module: no I/O, no clock (the caller passes the time), no global state.
 *
 * Canonicalisation follows S3, which differs from other AWS services:
 *  - the path is the raw object path ("/bucket/a b+c/é"); each segment is percent-encoded ONCE
 *    (unreserved A-Za-z0-9-._~ kept, '/' kept between segments, every other byte %XX upper case,
 *    so ' ' -> %20, '+' -> %2B, UTF-8 per byte), and never normalised ("//", "." and ".." stay);
 *  - query keys and values are encoded the same way ('/' -> %2F too), sorted by encoded key then
 *    encoded value; a value-less parameter (value NULL, e.g. "uploads", "delete") is signed and
 *    sent as "key=";
 *  - header names are lower-cased, values trimmed with inner runs of blanks collapsed to one
 *    space; repeated names are joined with ',' in the order given; headers are sorted by name.
 *
 * The signer adds x-amz-date and (unless told not to) x-amz-content-sha256; the caller passes
 * every other header it will send and wants signed, and must include "host".
 *
 * The secret key is only read; it never appears in any output or error message, and the derived
 * keys are wiped after use.
 */
#ifndef SK_SIGV4_H
#define SK_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../../agent/err.h"

#define SK_SHA256_HEX_LEN 64
/* The payload hash of an empty body. */
#define SK_SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SK_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

typedef struct sk_sigv4_header {
    const char *name;
    const char *value;
} sk_sigv4_header;

typedef struct sk_sigv4_param {
    const char *key;     /* raw, unencoded */
    const char *value;   /* raw, unencoded; NULL for a value-less subresource ("uploads") */
} sk_sigv4_param;

typedef struct sk_sigv4_creds {
    const char *access_key_id;
    const char *secret_access_key;
    const char *region;    /* "auto" for R2, "us-east-1", ... */
    const char *service;   /* "s3" */
} sk_sigv4_creds;

typedef struct sk_sigv4_request {
    const char *method;                 /* "GET", "PUT", ... */
    const char *path;                   /* raw path starting with '/' ("" means "/") */
    const sk_sigv4_param *query;        /* in any order */
    size_t nquery;
    const sk_sigv4_header *headers;     /* must contain "host"; not x-amz-date / x-amz-content-sha256 */
    size_t nheaders;
    const char *payload_hash;           /* hex SHA-256 of the body or "UNSIGNED-PAYLOAD" */
    /* 0 (normal for S3): add and sign "x-amz-content-sha256: <payload_hash>". 1: do not (only
     * for AWS's generic test suite, whose requests do not carry that header). */
    int omit_content_sha256_header;
} sk_sigv4_request;

typedef struct sk_sigv4_result {
    char amz_date[17];             /* "20130524T000000Z": send as x-amz-date */
    char signature[65];            /* hex */
    char *canonical_uri;           /* encoded path: use it in the request URL */
    char *canonical_query;         /* encoded, sorted query ("" when none): use it in the URL */
    char *canonical_request;
    char *string_to_sign;
    char *signed_headers;          /* "host;x-amz-content-sha256;x-amz-date" */
    char *authorization;           /* the Authorization header value */
} sk_sigv4_result;

/* Sign `req` at time `when` (UTC). On success fills *out (free with sk_sigv4_result_free). Fails
 * with SK_ERR_INTERNAL on a malformed request (missing host, reserved header given, bad payload
 * hash) or out of memory; SK_ERR_CONFIG when a credential field is empty. */
sk_rc sk_sigv4_sign(const sk_sigv4_request *req, const sk_sigv4_creds *creds, time_t when,
                    sk_sigv4_result *out, sk_err *err);
void sk_sigv4_result_free(sk_sigv4_result *r);

/* Percent-encode `len` bytes of `s` the S3 way (see above); keep_slash keeps '/' (paths).
 * Returns a malloc'd string or NULL when out of memory. */
char *sk_sigv4_uri_encode(const char *s, size_t len, int keep_slash);

/* Hex helpers. `out` receives 64 hex digits and a NUL. */
void sk_sha256_hex(const void *buf, size_t len, char out[SK_SHA256_HEX_LEN + 1]);
void sk_hex_encode(const unsigned char *bin, size_t len, char *out /* 2*len+1 */);

/* Incremental SHA-256 (for parts that arrive in pieces). */
typedef struct sk_sha256 {
    void *md;   /* EVP_MD_CTX, opaque to callers */
} sk_sha256;
sk_rc sk_sha256_init(sk_sha256 *h, sk_err *err);
sk_rc sk_sha256_update(sk_sha256 *h, const void *buf, size_t len, sk_err *err);
/* Writes the 32-byte digest to `bin` (may be NULL) and its hex form to `hex` (may be NULL); the
 * context may then be reused after sk_sha256_init again. */
sk_rc sk_sha256_final(sk_sha256 *h, unsigned char bin[32], char hex[SK_SHA256_HEX_LEN + 1],
                      sk_err *err);
void sk_sha256_free(sk_sha256 *h);

/* Content-MD5 header value (base64 of the binary MD5, 24 characters + NUL) of a buffer. */
void sk_content_md5(const void *buf, size_t len, char out[25]);

#endif
