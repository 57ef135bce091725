/*
 * http.h: one signed S3 request over libcurl (path-style), nothing more: no retries, no XML
 * beyond the error body. The S3 destination builds its operations (multipart, list, delete...)
 * on top of sk_http_do().
 *
 * Every request carries x-amz-date, x-amz-content-sha256 (the hex SHA-256 of the body, or what the
 * caller passes, e.g. UNSIGNED-PAYLOAD; never STREAMING-*), a Host header equal to the endpoint's
 * authority, an Authorization header, and an empty "Expect:" (Cloudflare does not answer
 * 100-continue). Bodies are sent with their exact length (never chunked). The URL path and query
 * are exactly the signer's canonical forms, and curl is told not to normalise the path, so what
 * is sent is what was signed.
 *
 * An sk_http owns one curl handle (its connections are kept alive between requests) and is not
 * thread-safe: use one per thread. The process must call curl_global_init()
 * once before starting threads.
 *
 * The secret key is copied into the handle, wiped on sk_http_free(), and never appears in a
 * message, a URL or a log line.
 */
#ifndef SK_HTTP_H
#define SK_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "../../agent/err.h"
#include "sigv4.h"

typedef struct sk_http_config {
    const char *endpoint;           /* "https://host[:port]" (no path); http:// needs allow_http */
    const char *region;             /* "auto" for R2 */
    const char *access_key_id;
    const char *secret_access_key;
    const char *ca_file;            /* extra CA bundle (PEM) instead of the system's; NULL: system */
    int allow_http;                 /* accept a plain http:// endpoint (tests, trusted networks) */
    long connect_timeout_s;         /* 0: 30 */
    long stall_timeout_s;           /* abort a transfer that moves no byte for this long; 0: 120 */
    /* Polled during transfers (NULL: never): non-zero stops the request with SK_ERR_CANCELLED. */
    int (*cancelled)(void *ud);
    void *cancel_ud;
} sk_http_config;

/* Response body sink for 2xx answers: consume all `len` bytes or fail. */
typedef sk_rc (*sk_http_sink_fn)(void *ud, const void *buf, size_t len, sk_err *err);
/* Request body source: copy up to `len` bytes into buf and set *got (0 only at the end). Read
 * once, start to end, per sk_http_do call; providing fewer than source_len bytes is an error. */
typedef sk_rc (*sk_http_source_fn)(void *ud, void *buf, size_t len, size_t *got, sk_err *err);

typedef struct sk_http_request {
    const char *method;                 /* GET, HEAD, PUT, POST, DELETE */
    const char *path;                   /* raw path: "/bucket" or "/bucket/key with space" */
    const sk_sigv4_param *query;        /* raw, any order; value NULL for "?uploads" style */
    size_t nquery;
    const sk_sigv4_header *headers;     /* extra headers, all signed (Content-MD5, Range, ...) */
    size_t nheaders;
    /* Body: from memory (body/body_len), or from a callback with an exact length. */
    const void *body;
    size_t body_len;
    sk_http_source_fn source;
    void *source_ud;
    uint64_t source_len;
    /* Payload hash: NULL means the SHA-256 of the memory body (the empty hash without a body);
     * required with a source (its hex SHA-256, or SK_UNSIGNED_PAYLOAD). */
    const char *payload_hash;
    /* Where a 2xx response body goes: a sink, or (NULL) resp->body up to max_body bytes
     * (0: 16 MiB). Error bodies always go to resp->body (first 64 KiB). */
    sk_http_sink_fn sink;
    void *sink_ud;
    size_t max_body;
    int no_cancel;                      /* clean-up requests (abort an upload) run even when cancelled */
} sk_http_request;

typedef struct sk_http_response {
    long status;                 /* HTTP status; 0 when no response arrived */
    char *body;                  /* NUL-terminated; NULL when none */
    size_t body_len;
    int64_t content_length;      /* Content-Length of the answer, -1 when absent */
    char etag[128];              /* as sent, with its quotes */
    char last_modified[64];
    char request_id[128];        /* x-amz-request-id, for error reports */
    char code[128];              /* S3 error code from an XML error body ("SignatureDoesNotMatch") */
    char message[512];           /* S3 error message, "" when none */
} sk_http_response;

typedef struct sk_http sk_http;

/* Validates the endpoint (scheme, no path/userinfo/query; http only with allow_http) and the
 * credentials; errors are SK_ERR_CONFIG naming S3_ENDPOINT / S3_ACCESS_KEY_ID / ... */
sk_http *sk_http_new(const sk_http_config *cfg, sk_err *err);
void sk_http_free(sk_http *h);

/* Send one request. Returns SK_OK when a complete response arrived, whatever its status (check
 * resp->status, or call sk_http_check). Transport failures (connection refused or reset,
 * timeout, TLS) return SK_ERR_DEST with err->retryable = 1; a failing source or sink returns its
 * own error. *resp is reset first; free it with sk_http_response_free in every case. */
sk_rc sk_http_do(sk_http *h, const sk_http_request *req, sk_http_response *resp, sk_err *err);
void sk_http_response_free(sk_http_response *resp);

/* SK_OK for 2xx; otherwise fill *err with "<what>: HTTP <status> <Code>: <Message> (request id
 * ...)" and a hint: 5xx/429 -> SK_ERR_DEST, retryable; 404 NoSuchKey (or a bodiless 404) ->
 * SK_ERR_NOTFOUND; 403 SignatureDoesNotMatch / InvalidAccessKeyId / AccessDenied and 301/400
 * region errors -> SK_ERR_CONFIG (check the keys and S3_REGION); other 4xx -> SK_ERR_DEST. */
sk_rc sk_http_check(const sk_http_response *resp, const char *what, sk_err *err);

/* Extract <Code> and <Message> from an S3 XML error document (s3_xml.h).
 * Leaves both "" when the body is not one. */
void sk_http_parse_error(const char *body, size_t len, char *code, size_t codesz, char *message,
                         size_t messagesz);

#endif
