#include "http.h"
#include "http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "s3_xml.h"

#define DEFAULT_MAX_BODY (16u << 20)
#define ERROR_BODY_MAX (64u << 10)

struct sk_http {
    CURL *curl;
    char *endpoint;      /* "scheme://authority", no trailing slash */
    char *authority;     /* "host[:port]": the Host header */
    char *region;
    char *access_key_id;
    char *secret;
    size_t secret_len;
    char *ca_file;
    long connect_timeout_s;
    long stall_timeout_s;
    int (*cancelled)(void *ud);
    void *cancel_ud;
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

void sk_http_free(sk_http *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    if (h->secret) {
        OPENSSL_cleanse(h->secret, h->secret_len);
        free(h->secret);
    }
    free(h->endpoint);
    free(h->authority);
    free(h->region);
    free(h->access_key_id);
    free(h->ca_file);
    free(h);
}

sk_http *sk_http_new(const sk_http_config *cfg, sk_err *err)
{
    const char *ep = cfg->endpoint, *rest;
    if (!ep || !*ep) {
        sk_fail(err, SK_ERR_CONFIG, 0, "S3_ENDPOINT is empty: set it (https://host[:port]) or R2_ACCOUNT_ID");
        return NULL;
    }
    if (strncasecmp(ep, "https://", 8) == 0) {
        rest = ep + 8;
    } else if (strncasecmp(ep, "http://", 7) == 0) {
        rest = ep + 7;
        if (!cfg->allow_http) {
            sk_fail(err, SK_ERR_CONFIG, 0,
                    "S3_ENDPOINT '%s' is plain http: credentials and data would cross the network "
                    "unencrypted; use https://, or allow plain http explicitly (S3_ALLOW_HTTP=1)", ep);
            return NULL;
        }
    } else {
        sk_fail(err, SK_ERR_CONFIG, 0, "S3_ENDPOINT '%s' must start with https:// (or http://)", ep);
        return NULL;
    }
    size_t alen = strcspn(rest, "/?#");
    const char *tail = rest + alen;
    if (alen == 0 || memchr(rest, '@', alen) || (tail[0] && strcmp(tail, "/") != 0)) {
        sk_fail(err, SK_ERR_CONFIG, 0,
                "S3_ENDPOINT '%s' must be scheme://host[:port] only, without user, path or query "
                "(the bucket goes in S3_BUCKET)", ep);
        return NULL;
    }
    if (!cfg->access_key_id || !*cfg->access_key_id) {
        sk_fail(err, SK_ERR_CONFIG, 0, "S3_ACCESS_KEY_ID is empty: set it (or S3_ACCESS_KEY_ID_FILE)");
        return NULL;
    }
    if (!cfg->secret_access_key || !*cfg->secret_access_key) {
        sk_fail(err, SK_ERR_CONFIG, 0,
                "S3_SECRET_ACCESS_KEY is empty: set it (or S3_SECRET_ACCESS_KEY_FILE)");
        return NULL;
    }
    if (!cfg->region || !*cfg->region) {
        sk_fail(err, SK_ERR_CONFIG, 0, "S3_REGION is empty: set it (\"auto\" for Cloudflare R2)");
        return NULL;
    }

    sk_http *h = calloc(1, sizeof *h);
    if (!h)
        goto oom;
    h->endpoint = strndup(ep, (size_t)(tail - ep));
    h->authority = strndup(rest, alen);
    h->region = strdup(cfg->region);
    h->access_key_id = strdup(cfg->access_key_id);
    h->secret_len = strlen(cfg->secret_access_key);
    h->secret = strdup(cfg->secret_access_key);
    h->ca_file = dup_or_null(cfg->ca_file);
    h->connect_timeout_s = cfg->connect_timeout_s > 0 ? cfg->connect_timeout_s : 30;
    h->stall_timeout_s = cfg->stall_timeout_s > 0 ? cfg->stall_timeout_s : 120;
    h->cancelled = cfg->cancelled;
    h->cancel_ud = cfg->cancel_ud;
    h->curl = curl_easy_init();
    if (!h->endpoint || !h->authority || !h->region || !h->access_key_id || !h->secret ||
        (cfg->ca_file && !h->ca_file) || !h->curl)
        goto oom;
    return h;
oom:
    sk_http_free(h);
    sk_fail(err, SK_ERR_INTERNAL, 0, "S3 client: out of memory (or curl_easy_init failed)");
    return NULL;
}

void sk_http_response_free(sk_http_response *resp)
{
    if (!resp)
        return;
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}

/* ---- error documents ------------------------------------------------------------------------ */

static void copy_bounded(char *dst, size_t dstsz, const char *src)
{
    if (!dstsz)
        return;
    size_t n = strlen(src);
    if (n >= dstsz)
        n = dstsz - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void sk_http_parse_error(const char *body, size_t len, char *code, size_t codesz, char *message,
                         size_t messagesz)
{
    if (codesz)
        code[0] = '\0';
    if (messagesz)
        message[0] = '\0';
    sk_s3_error_doc doc;
    sk_err e;
    sk_err_clear(&e);
    /* not every failure has an XML body (a proxy's HTML page, a bodiless 403): then nothing */
    if (sk_s3_xml_error(body, len, &doc, &e) != SK_OK)
        return;
    if (doc.is_error) {
        copy_bounded(code, codesz, doc.code ? doc.code : "");
        copy_bounded(message, messagesz, doc.message ? doc.message : "");
    }
    sk_s3_error_doc_free(&doc);
}

sk_rc sk_http_check(const sk_http_response *resp, const char *what, sk_err *err)
{
    long st = resp->status;
    if (st >= 200 && st < 300)
        return SK_OK;
    const char *code = resp->code[0] ? resp->code : "";
    char detail[800];
    snprintf(detail, sizeof detail, "%s: HTTP %ld%s%s%s%s%s%s%s", what, st, code[0] ? " " : "", code,
             resp->message[0] ? ": " : "", resp->message, resp->request_id[0] ? " (request id " : "",
             resp->request_id, resp->request_id[0] ? ")" : "");
    if (st >= 500 || st == 429 || strcmp(code, "SlowDown") == 0) {
        sk_rc rc = sk_fail(err, SK_ERR_DEST, st, "%s (a transient server error)", detail);
        if (err && err->rc == rc)
            err->retryable = 1;
        return rc;
    }
    if (st == 404 && (strcmp(code, "NoSuchKey") == 0 || code[0] == '\0'))
        return sk_fail(err, SK_ERR_NOTFOUND, st, "%s", detail);
    if (st == 404 && strcmp(code, "NoSuchBucket") == 0)
        return sk_fail(err, SK_ERR_CONFIG, st, "%s; check S3_BUCKET (the bucket must exist)", detail);
    if (strcmp(code, "SignatureDoesNotMatch") == 0 || strcmp(code, "InvalidAccessKeyId") == 0)
        return sk_fail(err, SK_ERR_CONFIG, st,
                       "%s; check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY (and S3_REGION)", detail);
    if (st == 403 || strcmp(code, "AccessDenied") == 0)
        return sk_fail(err, SK_ERR_CONFIG, st,
                       "%s; check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, the key's permissions on "
                       "S3_BUCKET, and the clock", detail);
    if (st == 301 || strcmp(code, "AuthorizationHeaderMalformed") == 0 ||
        strcmp(code, "PermanentRedirect") == 0)
        return sk_fail(err, SK_ERR_CONFIG, st, "%s; check S3_REGION and S3_ENDPOINT", detail);
    return sk_fail(err, SK_ERR_DEST, st, "%s", detail);
}

/* ---- transfer ------------------------------------------------------------------------------- */

typedef struct xfer {
    sk_http *h;
    const sk_http_request *req;
    sk_http_response *resp;
    sk_err *err;
    sk_rc cb_rc;            /* a source/sink/limit failure seen inside a callback */
    uint64_t sent;          /* request body bytes handed to curl */
    size_t max_body;
} xfer;

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    xfer *x = ud;
    const sk_http_request *req = x->req;
    size_t want = size * nitems;
    if (req->source) {
        uint64_t left = req->source_len - x->sent;
        if (left < want)
            want = (size_t)left;
        if (want == 0)
            return 0;
        size_t got = 0;
        sk_rc rc = req->source(req->source_ud, buf, want, &got, x->err);
        if (rc != SK_OK) {
            x->cb_rc = rc;
            return CURL_READFUNC_ABORT;
        }
        if (got == 0 || got > want) {
            x->cb_rc = sk_fail(x->err, SK_ERR_INTERNAL, 0,
                               "S3 %s '%s': the body source ended after %llu of %llu bytes",
                               req->method, req->path, (unsigned long long)x->sent,
                               (unsigned long long)req->source_len);
            return CURL_READFUNC_ABORT;
        }
        x->sent += got;
        return got;
    }
    uint64_t left = req->body_len - x->sent;
    if (left < want)
        want = (size_t)left;
    memcpy(buf, (const char *)req->body + x->sent, want);
    x->sent += want;
    return want;
}

/* Memory bodies can be replayed if curl needs to resend (e.g. a reused connection that closed). */
static int seek_cb(void *ud, curl_off_t offset, int origin)
{
    xfer *x = ud;
    if (x->req->source || origin != SEEK_SET || offset < 0 || (uint64_t)offset > x->req->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    x->sent = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

/* Stop a transfer in progress when the process is asked to stop. */
static int progress_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    xfer *x = ud;
    return x->h->cancelled(x->h->cancel_ud) ? 1 : 0;
}

static int append_body(sk_http_response *resp, const char *p, size_t n, size_t limit)
{
    if (resp->body_len + n > limit)
        return -1;
    char *b = realloc(resp->body, resp->body_len + n + 1);
    if (!b)
        return -2;
    memcpy(b + resp->body_len, p, n);
    resp->body = b;
    resp->body_len += n;
    b[resp->body_len] = '\0';
    return 0;
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(x->h->curl, CURLINFO_RESPONSE_CODE, &status);
    int ok = status >= 200 && status < 300;
    if (ok && x->req->sink) {
        sk_rc rc = x->req->sink(x->req->sink_ud, p, n, x->err);
        if (rc != SK_OK) {
            x->cb_rc = rc;
            return 0;
        }
        return n;
    }
    if (!ok) {
        /* Keep the start of an error document; drop the rest rather than fail the transfer. */
        size_t room = ERROR_BODY_MAX > x->resp->body_len ? ERROR_BODY_MAX - x->resp->body_len : 0;
        if (append_body(x->resp, p, n < room ? n : room, ERROR_BODY_MAX) == -2) {
            x->cb_rc = sk_fail(x->err, SK_ERR_INTERNAL, 0, "S3: out of memory");
            return 0;
        }
        return n;
    }
    int r = append_body(x->resp, p, n, x->max_body);
    if (r) {
        x->cb_rc = r == -1 ? sk_fail(x->err, SK_ERR_DEST, status,
                                     "S3 %s '%s': the response is larger than %zu bytes",
                                     x->req->method, x->req->path, x->max_body)
                           : sk_fail(x->err, SK_ERR_INTERNAL, 0, "S3: out of memory");
        return 0;
    }
    return n;
}

/* Copy a header's value (trimmed) into dst when the line is "name: value". */
static void header_value(const char *line, size_t n, const char *name, char *dst, size_t dstsz)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t len = (size_t)(end - v);
    if (len >= dstsz)
        len = dstsz - 1;
    memcpy(dst, v, len);
    dst[len] = '\0';
}

void sk_http_header_line(sk_http_response *r, const char *p, size_t n)
{
    if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        /* A new response (after a 100 Continue, for instance): forget the previous headers. */
        r->etag[0] = r->last_modified[0] = r->request_id[0] = '\0';
        r->content_length = -1;
        return;
    }
    char cl[32] = "";
    header_value(p, n, "ETag", r->etag, sizeof r->etag);
    header_value(p, n, "Last-Modified", r->last_modified, sizeof r->last_modified);
    header_value(p, n, "x-amz-request-id", r->request_id, sizeof r->request_id);
    header_value(p, n, "Content-Length", cl, sizeof cl);
    if (cl[0]) {
        char *end;
        long long v = strtoll(cl, &end, 10);
        if (*end == '\0' && v >= 0)
            r->content_length = v;
    }
}

static size_t header_cb(char *p, size_t size, size_t nitems, void *ud)
{
    xfer *x = ud;
    size_t n = size * nitems;
    sk_http_header_line(x->resp, p, n);
    return n;
}

static struct curl_slist *add_header(struct curl_slist *list, const char *name, const char *value,
                                     int *oom)
{
    if (*oom)
        return list;
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    if (!line) {
        *oom = 1;
        return list;
    }
    /* "Name;" is curl's way to send a header with an empty value; "Name:" would remove it. */
    if (value[0])
        snprintf(line, n, "%s: %s", name, value);
    else
        snprintf(line, n, "%s;", name);
    struct curl_slist *l = curl_slist_append(list, line);
    free(line);
    if (!l) {
        *oom = 1;
        return list;
    }
    return l;
}

sk_rc sk_http_do(sk_http *h, const sk_http_request *req, sk_http_response *resp, sk_err *err)
{
    sk_rc rc = SK_OK;
    sk_sigv4_result sig;
    sk_sigv4_header *hdrs = NULL;
    struct curl_slist *list = NULL;
    char *url = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    char body_hash[SK_SHA256_HEX_LEN + 1];
    int oom = 0;
    CURL *c = h->curl;

    memset(resp, 0, sizeof *resp);
    resp->content_length = -1;
    memset(&sig, 0, sizeof sig);

    int is_get = strcmp(req->method, "GET") == 0, is_head = strcmp(req->method, "HEAD") == 0,
        is_put = strcmp(req->method, "PUT") == 0, is_post = strcmp(req->method, "POST") == 0,
        is_delete = strcmp(req->method, "DELETE") == 0;
    if (!is_get && !is_head && !is_put && !is_post && !is_delete)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "S3: unsupported method '%s'", req->method);
    int has_body = req->source || req->body_len > 0;
    if (has_body && !is_put && !is_post)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "S3 %s: a body needs PUT or POST", req->method);
    if (req->source && !req->payload_hash)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "S3 %s: a streamed body needs its payload hash",
                       req->method);
    const char *payload_hash = req->payload_hash;
    if (!payload_hash) {
        sk_sha256_hex(req->body_len ? req->body : "", req->body_len, body_hash);
        payload_hash = body_hash;
    }

    /* Sign: Host plus the caller's headers (x-amz-date and x-amz-content-sha256 are added). */
    hdrs = calloc(req->nheaders + 1, sizeof *hdrs);
    if (!hdrs)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "S3: out of memory");
    hdrs[0] = (sk_sigv4_header){"Host", h->authority};
    for (size_t i = 0; i < req->nheaders; i++)
        hdrs[i + 1] = req->headers[i];
    sk_sigv4_request sreq = {
        .method = req->method,
        .path = req->path,
        .query = req->query,
        .nquery = req->nquery,
        .headers = hdrs,
        .nheaders = req->nheaders + 1,
        .payload_hash = payload_hash,
    };
    sk_sigv4_creds creds = {h->access_key_id, h->secret, h->region, "s3"};
    rc = sk_sigv4_sign(&sreq, &creds, time(NULL), &sig, err);
    if (rc != SK_OK)
        goto done;

    size_t ulen = strlen(h->endpoint) + strlen(sig.canonical_uri) + strlen(sig.canonical_query) + 2;
    url = malloc(ulen);
    if (!url) {
        rc = sk_fail(err, SK_ERR_INTERNAL, 0, "S3: out of memory");
        goto done;
    }
    snprintf(url, ulen, "%s%s%s%s", h->endpoint, sig.canonical_uri, sig.canonical_query[0] ? "?" : "",
             sig.canonical_query);

    for (size_t i = 0; i < sreq.nheaders; i++)
        list = add_header(list, hdrs[i].name, hdrs[i].value, &oom);
    list = add_header(list, "x-amz-date", sig.amz_date, &oom);
    list = add_header(list, "x-amz-content-sha256", payload_hash, &oom);
    list = add_header(list, "Authorization", sig.authorization, &oom);
    /* "Expect:" with nothing after the colon makes curl drop its 100-continue. */
    if (!oom) {
        struct curl_slist *l = curl_slist_append(list, "Expect:");
        if (l)
            list = l;
        else
            oom = 1;
    }
    int caller_ct = 0;
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, "Content-Type") == 0)
            caller_ct = 1;
    if (is_post && !caller_ct && !oom) {
        /* Otherwise curl adds an (unsigned) application/x-www-form-urlencoded. */
        struct curl_slist *l = curl_slist_append(list, "Content-Type:");
        if (l)
            list = l;
        else
            oom = 1;
    }
    if (oom) {
        rc = sk_fail(err, SK_ERR_INTERNAL, 0, "S3: out of memory");
        goto done;
    }

    xfer x = {.h = h, .req = req, .resp = resp, .err = err, .cb_rc = SK_OK,
              .max_body = req->max_body ? req->max_body : DEFAULT_MAX_BODY};
    uint64_t body_len = req->source ? req->source_len : req->body_len;

    curl_easy_reset(c);   /* keeps the live connections */
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);   /* S3 keys may contain "/./" or "//" */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, h->connect_timeout_s);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->stall_timeout_s);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
    if (h->cancelled && !req->no_cancel) {
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
    if (is_head) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (is_delete) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    } else if (is_put || is_post) {
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(c, CURLOPT_READDATA, &x);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_cb);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, &x);
        if (is_put) {
            curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)body_len);
        } else {
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        }
    }

    CURLcode cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    if (x.cb_rc != SK_OK) {
        rc = x.cb_rc;
        goto done;
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        resp->status = 0;
        rc = sk_fail(err, SK_ERR_CANCELLED, (long)cc, "S3 %s '%s': cancelled", req->method, req->path);
        goto done;
    }
    if (cc != CURLE_OK) {
        resp->status = 0;
        rc = sk_fail(err, SK_ERR_DEST, (long)cc, "S3 %s '%s' at %s: %s", req->method, req->path,
                     h->endpoint, errbuf[0] ? errbuf : curl_easy_strerror(cc));
        if (err && err->rc == rc)
            err->retryable = 1;
        goto done;
    }
    if (resp->status < 200 || resp->status >= 300)
        sk_http_parse_error(resp->body, resp->body_len, resp->code, sizeof resp->code, resp->message,
                            sizeof resp->message);

done:
    /* The easy handle keeps pointers to these: detach before freeing. */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(list);
    free(url);
    free(hdrs);
    sk_sigv4_result_free(&sig);
    return rc;
}
