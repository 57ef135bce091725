/*
 * pb_http.h: the small HTTP client the PocketBase engine talks through (libcurl).
 *
 * One pb_client per server URL. Requests are synchronous; JSON replies are captured up to 64 KiB.
 * Streaming bodies (backup downloads) go to a caller's callback; uploads read from a callback.
 * Tokens are kept here and sent only in headers or in the download query; they never appear in
 * messages (the caller also registers them with the log's redaction). Redirects are not followed,
 * so a token is never replayed to another host.
 */
#ifndef SK_PB_HTTP_H
#define SK_PB_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "../../agent/err.h"
#include "../../agent/runtime.h"

#define PB_BODY_MAX (64 * 1024)

typedef struct pb_client {
    char base[1024];        /* scheme://host[:port][/prefix], no trailing '/' */
    char shown[1024];       /* base for messages (same: URLs with userinfo are refused) */
    char ca_file[1024];     /* SNAPKEEP_POCKETBASE_CA_FILE, "" for the system store */
    char token[4096];       /* superuser (or legacy admin) auth token, "" before login */
    const sk_runtime *rt;
} pb_client;

typedef struct pb_resp {
    long status;            /* HTTP status, 0 when no reply arrived */
    int curl;               /* CURLcode (0 = the exchange completed) */
    char curl_msg[256];     /* libcurl's error text when curl != 0 */
    char body[PB_BODY_MAX + 1];
    size_t len;
    int truncated;
} pb_resp;

/* Check and store `url` (http:// or https://, no credentials, query or fragment). `what` names the
 * setting or option in the message (POCKETBASE_URL, --to). */
sk_rc pb_client_init(pb_client *c, const char *url, const char *what, const char *ca_file, const sk_runtime *rt,
                     sk_err *err);

/* One request. `json` (may be NULL) is sent as an application/json body. With `auth`, the token
 * goes in the Authorization header. `timeout_s` bounds the whole exchange (0 = none). Returns 0
 * when an HTTP reply was received (any status), else the CURLcode (r->curl_msg says why). */
int pb_request(pb_client *c, const char *method, const char *path, const char *json, int auth, long timeout_s,
               pb_resp *r);

/* PocketBase's error reply as one line: "400 Failed to authenticate." plus the first field error
 * ("name: The backup file name is invalid or already exists.") when present. */
void pb_resp_describe(const pb_resp *r, char *out, size_t outsz);
/* The JSON "message" of the reply ("" when none). */
void pb_resp_message(const pb_resp *r, char *out, size_t outsz);
/* data.<field>.code of a validation error ("" when none). */
void pb_resp_field_code(const pb_resp *r, const char *field, char *out, size_t outsz);
/* A top-level or data.<name> string of a JSON reply ("" when absent). */
void pb_resp_string(const pb_resp *r, const char *name, char *out, size_t outsz);
/* GET /api/health: data.canBackup of a 200 reply, 1 or 0; -1 when the reply does not tell. */
int pb_resp_can_backup(const pb_resp *r);
/* GET /api/backups: the entry whose "key" is exactly `name` in the reply's JSON array. 1 found:
 * *size is its "size" when a positive integer, else 0; `modified` gets its "modified" text ("?"
 * when none, cut to modsz); 0 absent; -1 when the reply is no JSON array (or was cut at 64 KiB). */
int pb_resp_find_backup(const pb_resp *r, const char *name, uint64_t *size, char *modified, size_t modsz);

/* GET /api/collections?perPage=500&fields=name,system,type (one page of the collection list): calls
 * `fn` with each collection's name in the reply's order, leaving out system collections ("system":
 * true) and, with `skip_views`, views ("type": "view"). Returns the number of names passed; -1 (fn
 * never called) when the reply is not a 200, was cut at 64 KiB, is no JSON object with an "items"
 * array, says "totalPages" > 1 (collections on further pages would go uncounted), or holds an item
 * that is no object with a string "name" free of NUL bytes (a collection that cannot be named
 * cannot be counted); -2 when fn returned non-zero (the walk stopped there). fn may reuse `r`'s
 * buffer: the reply is parsed before the first call. */
typedef int (*pb_name_fn)(void *ud, const char *name);
int pb_resp_collections(const pb_resp *r, int skip_views, pb_name_fn fn, void *ud);
/* GET /api/collections/<name>/records?perPage=1&fields=id: the list's "totalItems" into *n. 0, or
 * -1 (*n untouched) when the reply is not a 200, was cut, is no JSON object, or its totalItems is
 * not an integer >= 0. */
int pb_resp_total_items(const pb_resp *r, long long *n);
/* The records-list path that counts collection `name`'s records ("/api/collections/<escaped
 * name>/records?perPage=1&fields=id") into out. 0, or -1 (out "") when it does not fit `outsz`. */
int pb_records_count_path(const char *name, char *out, size_t outsz);

/* A streaming GET of `path_and_query` starting at byte `offset` (Range when > 0). Headers are
 * checked before any body byte is passed on: `sink` receives the body only for 200/206 replies.
 * The caller reads the outcome from *st. */
typedef struct pb_stream {
    long status;
    int64_t range_start;    /* from Content-Range, -1 when absent */
    int64_t total;          /* total size: Content-Range's total, else Content-Length (+0), -1 when unknown */
    int64_t content_length; /* -1 when absent */
    uint64_t passed;        /* body bytes handed to sink in this request */
    int sink_failed;        /* sink returned non-zero: the transfer was stopped by us */
    int curl;
    char curl_msg[256];
    char err_body[1024];    /* the start of a non-2xx body, for messages */
    size_t err_len;
} pb_stream;

typedef int (*pb_sink_fn)(void *ud, const void *buf, size_t len); /* 0 = ok */

void pb_get_stream(pb_client *c, const char *path_and_query, uint64_t offset, long stall_s, pb_sink_fn sink,
                   void *ud, pb_stream *st);

/* Multipart upload of `size` bytes read with `read_at` (pread-like) as form field `field` with
 * file name `filename`. */
typedef long (*pb_read_at_fn)(void *ud, void *buf, size_t len, uint64_t off);
int pb_upload(pb_client *c, const char *path, const char *field, const char *filename, uint64_t size,
              pb_read_at_fn read_at, void *ud, long stall_s, pb_resp *r);

/* Percent-encode a path segment (RFC 3986 unreserved characters stay). 0, or -1 when the encoded
 * form does not fit `outsz` (out is then "": never a cut name). */
int pb_escape(const char *in, char *out, size_t outsz);

/* Parse "bytes START-END/TOTAL" (TOTAL may be '*'). Returns 0 on success. Exposed for tests. */
int pb_parse_content_range(const char *v, int64_t *start, int64_t *end, int64_t *total);

#endif
