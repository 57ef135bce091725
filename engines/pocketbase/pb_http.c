#include "pb_http.h"
#include "pb_http_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "../../agent/version.h"

sk_rc pb_client_init(pb_client *c, const char *url, const char *what, const char *ca_file, const sk_runtime *rt,
                     sk_err *err)
{
    memset(c, 0, sizeof *c);
    c->rt = rt;
    if (!url || !*url)
        return sk_fail(err, SK_ERR_CONFIG, 0, "%s is not set: give the PocketBase server's URL (http://host:8090)",
                       what);
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    int https = strncasecmp(url, "https://", 8) == 0;
    if (!https && strncasecmp(url, "http://", 7) != 0)
        return sk_fail(err, SK_ERR_CONFIG, 0, "%s='%s' is not an http:// or https:// URL", what, url);
    const char *host = url + (https ? 8 : 7);
    size_t hostlen = strcspn(host, "/");
    if (memchr(host, '@', hostlen))
        return sk_fail(err, SK_ERR_CONFIG, 0,
                       "%s must not carry credentials (user@host): use POCKETBASE_ADMIN_EMAIL and "
                       "POCKETBASE_ADMIN_PASSWORD", what);
    if (hostlen == 0)
        return sk_fail(err, SK_ERR_CONFIG, 0, "%s='%s' has no host", what, url);
    if (strpbrk(url, "?# \t\r\n"))
        return sk_fail(err, SK_ERR_CONFIG, 0, "%s='%s' must be a plain base URL, without query, fragment or spaces",
                       what, url);
    if (n >= sizeof c->base - 1)
        return sk_fail(err, SK_ERR_CONFIG, 0, "%s is too long", what);
    memcpy(c->base, url, n);
    c->base[n] = '\0';
    snprintf(c->shown, sizeof c->shown, "%s", c->base);
    if (ca_file)
        snprintf(c->ca_file, sizeof c->ca_file, "%s", ca_file);
    return SK_OK;
}

int pb_escape(const char *in, char *out, size_t outsz)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    if (!outsz)
        return -1;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        int plain = isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        if (o + (plain ? 1 : 3) + 1 > outsz) {
            out[0] = '\0';
            return -1;
        }
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return 0;
}

static int progress_cb(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    const pb_client *c = ud;
    return sk_rt_cancelled(c->rt) ? 1 : 0; /* non-zero aborts the transfer */
}

/* The options every request shares. */
static CURL *new_handle(pb_client *c, const char *path, char *url, size_t urlsz, char *errbuf)
{
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    snprintf(url, urlsz, "%s%s", c->base, path);
    errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "snapkeep/" SK_VERSION);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    if (c->ca_file[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    return h;
}

static struct curl_slist *auth_headers(pb_client *c, int auth, int json)
{
    struct curl_slist *hl = NULL, *t;
    if (json && !(hl = curl_slist_append(hl, "Content-Type: application/json")))
        return NULL;
    if (auth && c->token[0]) {
        char line[sizeof c->token + 32];
        snprintf(line, sizeof line, "Authorization: %s", c->token);
        if (!(t = curl_slist_append(hl, line))) {
            curl_slist_free_all(hl);
            return NULL;
        }
        hl = t;
        memset(line, 0, sizeof line);
    }
    /* an empty Expect: the server answers auth errors before the body anyway */
    if (!(t = curl_slist_append(hl, "Expect:"))) {
        curl_slist_free_all(hl);
        return NULL;
    }
    return t;
}

static size_t collect_cb(char *p, size_t sz, size_t nm, void *ud)
{
    pb_resp *r = ud;
    size_t n = sz * nm, room = PB_BODY_MAX - r->len;
    if (n > room) {
        r->truncated = 1;
        n = room;
    }
    memcpy(r->body + r->len, p, n);
    r->len += n;
    r->body[r->len] = '\0';
    return sz * nm;
}

static void finish_resp(CURL *h, CURLcode cc, const char *errbuf, pb_resp *r)
{
    r->curl = (int)cc;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    if (cc != CURLE_OK)
        snprintf(r->curl_msg, sizeof r->curl_msg, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
}

int pb_request(pb_client *c, const char *method, const char *path, const char *json, int auth, long timeout_s,
               pb_resp *r)
{
    char url[2300], errbuf[CURL_ERROR_SIZE];
    memset(r, 0, sizeof *r);
    CURL *h = new_handle(c, path, url, sizeof url, errbuf);
    struct curl_slist *hl = auth_headers(c, auth, json != NULL);
    if (!h || !hl) {
        curl_slist_free_all(hl);
        if (h)
            curl_easy_cleanup(h);
        r->curl = CURLE_OUT_OF_MEMORY;
        snprintf(r->curl_msg, sizeof r->curl_msg, "out of memory");
        return r->curl;
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (json) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    if (timeout_s > 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
    CURLcode cc = curl_easy_perform(h);
    finish_resp(h, cc, errbuf, r);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    return r->curl;
}

static json_t *parse(const pb_resp *r)
{
    if (!r->len || r->truncated)
        return NULL;
    return json_loadb(r->body, r->len, JSON_DISABLE_EOF_CHECK, NULL);
}

static void copy_str(json_t *v, char *out, size_t outsz)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    snprintf(out, outsz, "%s", s ? s : "");
}

void pb_resp_message(const pb_resp *r, char *out, size_t outsz)
{
    json_t *j = parse(r);
    copy_str(j ? json_object_get(j, "message") : NULL, out, outsz);
    json_decref(j);
}

void pb_resp_string(const pb_resp *r, const char *name, char *out, size_t outsz)
{
    json_t *j = parse(r), *v = j ? json_object_get(j, name) : NULL;
    if (!v && j)
        v = json_object_get(json_object_get(j, "data"), name);
    copy_str(v, out, outsz);
    json_decref(j);
}

void pb_resp_field_code(const pb_resp *r, const char *field, char *out, size_t outsz)
{
    json_t *j = parse(r);
    json_t *f = j ? json_object_get(json_object_get(j, "data"), field) : NULL;
    copy_str(f ? json_object_get(f, "code") : NULL, out, outsz);
    json_decref(j);
}

int pb_resp_can_backup(const pb_resp *r)
{
    json_t *j = r->status == 200 ? json_loadb(r->body, r->len, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
    json_t *cb = j ? json_object_get(json_object_get(j, "data"), "canBackup") : NULL;
    int out = json_is_boolean(cb) ? json_is_true(cb) : -1;
    json_decref(j);
    return out;
}

int pb_resp_find_backup(const pb_resp *r, const char *name, uint64_t *size, char *modified, size_t modsz)
{
    json_t *j = parse(r);
    if (!json_is_array(j)) {
        json_decref(j);
        return -1;
    }
    int found = 0;
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v) {
        const char *k = json_string_value(json_object_get(v, "key"));
        if (k && strcmp(k, name) == 0) {
            found = 1;
            json_t *s = json_object_get(v, "size");
            *size = json_is_integer(s) && json_integer_value(s) > 0 ? (uint64_t)json_integer_value(s) : 0;
            const char *m = json_string_value(json_object_get(v, "modified"));
            snprintf(modified, modsz, "%s", m ? m : "?");
            break;
        }
    }
    json_decref(j);
    return found;
}

int pb_resp_collections(const pb_resp *r, int skip_views, pb_name_fn fn, void *ud)
{
    json_t *j = r->status == 200 ? parse(r) : NULL, *items = j ? json_object_get(j, "items") : NULL;
    json_t *pages = j ? json_object_get(j, "totalPages") : NULL;
    int out = -1;
    if (!json_is_array(items) || (json_is_number(pages) && json_number_value(pages) > 1))
        goto done;
    size_t i;
    json_t *v;
    json_array_foreach(items, i, v) {
        json_t *name = json_object_get(v, "name");
        if (!json_is_string(name) || strlen(json_string_value(name)) != json_string_length(name))
            goto done;
    }
    out = 0;
    json_array_foreach(items, i, v) {
        const char *type = json_string_value(json_object_get(v, "type"));
        if (json_is_true(json_object_get(v, "system")) || (skip_views && type && !strcmp(type, "view")))
            continue;
        if (fn(ud, json_string_value(json_object_get(v, "name"))) != 0) {
            out = -2;
            goto done;
        }
        out++;
    }
done:
    json_decref(j);
    return out;
}

int pb_resp_total_items(const pb_resp *r, long long *n)
{
    json_t *j = r->status == 200 ? parse(r) : NULL, *t = j ? json_object_get(j, "totalItems") : NULL;
    int out = -1;
    if (json_is_integer(t) && json_integer_value(t) >= 0) {
        *n = (long long)json_integer_value(t);
        out = 0;
    }
    json_decref(j);
    return out;
}

int pb_records_count_path(const char *name, char *out, size_t outsz)
{
    static const char tail[] = "/records?perPage=1&fields=id";
    static const char head[] = "/api/collections/";
    size_t hl = sizeof head - 1, tl = sizeof tail - 1;
    if (outsz < hl + tl + 1 || pb_escape(name, out + hl, outsz - hl - tl) != 0) {
        if (outsz)
            out[0] = '\0';
        return -1;
    }
    memcpy(out, head, hl);
    size_t el = strlen(out + hl);
    memcpy(out + hl + el, tail, tl + 1);
    return 0;
}

/* Keep only printable ASCII of a server-supplied text (it goes into our log lines). */
static void printable(const char *in, size_t n, char *out, size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; i < n && in[i] && o + 1 < outsz; i++) {
        unsigned char ch = (unsigned char)in[i];
        out[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
}

void pb_resp_describe(const pb_resp *r, char *out, size_t outsz)
{
    json_t *j = parse(r);
    const char *msg = j ? json_string_value(json_object_get(j, "message")) : NULL;
    char detail[400] = "";
    json_t *data = j ? json_object_get(j, "data") : NULL;
    if (json_is_object(data)) {
        const char *k;
        json_t *v;
        json_object_foreach(data, k, v) {
            const char *m = json_string_value(json_object_get(v, "message"));
            if (m) { /* the server's words go into log lines: printable ASCII only */
                char ck[100], cm[280];
                printable(k, strlen(k), ck, sizeof ck);
                printable(m, strlen(m), cm, sizeof cm);
                snprintf(detail, sizeof detail, " (%s: %s)", ck, cm);
                break;
            }
        }
    }
    char clean[600];
    if (msg)
        printable(msg, strlen(msg), clean, sizeof clean);
    else
        printable(r->body, r->len < 200 ? r->len : 200, clean, sizeof clean);
    if (r->status)
        snprintf(out, outsz, "HTTP %ld \"%s\"%s", r->status, clean[0] ? clean : "(no message)", detail);
    else
        snprintf(out, outsz, "no reply (%s)", r->curl_msg[0] ? r->curl_msg : "connection failed");
    json_decref(j);
}

int pb_parse_content_range(const char *v, int64_t *start, int64_t *end, int64_t *total)
{
    while (*v == ' ')
        v++;
    if (strncasecmp(v, "bytes ", 6) != 0)
        return -1;
    v += 6;
    char *e;
    errno = 0;
    long long s = strtoll(v, &e, 10);
    if (errno || e == v || *e != '-' || s < 0)
        return -1;
    v = e + 1;
    long long en = strtoll(v, &e, 10);
    if (errno || e == v || *e != '/' || en < s)
        return -1;
    v = e + 1;
    long long t = -1;
    if (*v == '*') {
        v++;
    } else {
        t = strtoll(v, &e, 10);
        if (errno || e == v || t <= en)
            return -1;
        v = e;
    }
    while (*v == ' ' || *v == '\r' || *v == '\n')
        v++;
    if (*v)
        return -1;
    *start = s;
    *end = en;
    *total = t;
    return 0;
}

/* ---- streaming download ----------------------------------------------------------------- */

typedef struct stream_ctx {
    pb_stream *st;
    pb_sink_fn sink;
    void *ud;
    CURL *h;
    int checked;            /* status looked at (first body byte) */
} stream_ctx;

void pb_stream_header_line(pb_stream *st, const char *p, size_t n)
{
    char line[256];
    if (n >= sizeof line)
        return;
    memcpy(line, p, n);
    line[n] = '\0';
    if (strncasecmp(line, "HTTP/", 5) == 0) { /* a new reply (after 100 Continue): reset */
        st->range_start = -1;
        st->content_length = -1;
    } else if (strncasecmp(line, "Content-Range:", 14) == 0) {
        int64_t s, e, t;
        if (pb_parse_content_range(line + 14, &s, &e, &t) == 0) {
            st->range_start = s;
            st->total = t;
        }
    } else if (strncasecmp(line, "Content-Length:", 15) == 0) {
        char *e;
        long long v = strtoll(line + 15, &e, 10);
        if (e != line + 15 && v >= 0)
            st->content_length = v;
    }
}

static size_t header_cb(char *p, size_t sz, size_t nm, void *ud)
{
    stream_ctx *x = ud;
    size_t n = sz * nm;
    pb_stream_header_line(x->st, p, n);
    return n;
}

static size_t body_cb(char *p, size_t sz, size_t nm, void *ud)
{
    stream_ctx *x = ud;
    size_t n = sz * nm;
    if (!x->checked) {
        x->checked = 1;
        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->st->status);
    }
    if (x->st->status != 200 && x->st->status != 206) {
        size_t room = sizeof x->st->err_body - 1 - x->st->err_len;
        size_t k = n < room ? n : room;
        memcpy(x->st->err_body + x->st->err_len, p, k);
        x->st->err_len += k;
        x->st->err_body[x->st->err_len] = '\0';
        return n;
    }
    if (x->sink(x->ud, p, n) != 0) {
        x->st->sink_failed = 1;
        return 0; /* stops the transfer with CURLE_WRITE_ERROR */
    }
    x->st->passed += n;
    return n;
}

void pb_get_stream(pb_client *c, const char *path_and_query, uint64_t offset, long stall_s, pb_sink_fn sink,
                   void *ud, pb_stream *st)
{
    char url[6000], errbuf[CURL_ERROR_SIZE];
    memset(st, 0, sizeof *st);
    st->range_start = -1;
    st->total = -1;
    st->content_length = -1;
    stream_ctx x = { st, sink, ud, NULL, 0 };
    CURL *h = new_handle(c, path_and_query, url, sizeof url, errbuf);
    if (!h) {
        st->curl = CURLE_OUT_OF_MEMORY;
        snprintf(st->curl_msg, sizeof st->curl_msg, "out of memory");
        return;
    }
    x.h = h;
    char range[64];
    if (offset > 0) {
        snprintf(range, sizeof range, "%llu-", (unsigned long long)offset);
        curl_easy_setopt(h, CURLOPT_RANGE, range);
    }
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    /* no overall timeout (a big zip takes long); a stalled connection is dropped and resumed */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall_s);
    CURLcode cc = curl_easy_perform(h);
    if (!x.checked)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st->status);
    st->curl = (int)cc;
    if (cc != CURLE_OK)
        snprintf(st->curl_msg, sizeof st->curl_msg, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
    if (st->total < 0 && st->status == 200 && st->content_length >= 0)
        st->total = st->content_length;
    memset(url, 0, sizeof url); /* held the file token */
    curl_easy_cleanup(h);
}

/* ---- upload ----------------------------------------------------------------------------- */

typedef struct upload_ctx {
    pb_read_at_fn read_at;
    void *ud;
    uint64_t off, size;
} upload_ctx;

static size_t upload_read(char *buf, size_t sz, size_t nm, void *ud)
{
    upload_ctx *u = ud;
    size_t want = sz * nm;
    if (u->off >= u->size)
        return 0;
    if (want > u->size - u->off)
        want = (size_t)(u->size - u->off);
    long n = u->read_at(u->ud, buf, want, u->off);
    if (n <= 0)
        return CURL_READFUNC_ABORT;
    u->off += (uint64_t)n;
    return (size_t)n;
}

static int upload_seek(void *ud, curl_off_t off, int origin)
{
    upload_ctx *u = ud;
    if (origin != SEEK_SET || off < 0 || (uint64_t)off > u->size)
        return CURL_SEEKFUNC_FAIL;
    u->off = (uint64_t)off;
    return CURL_SEEKFUNC_OK;
}

int pb_upload(pb_client *c, const char *path, const char *field, const char *filename, uint64_t size,
              pb_read_at_fn read_at, void *ud, long stall_s, pb_resp *r)
{
    char url[2300], errbuf[CURL_ERROR_SIZE];
    memset(r, 0, sizeof *r);
    upload_ctx u = { read_at, ud, 0, size };
    CURL *h = new_handle(c, path, url, sizeof url, errbuf);
    struct curl_slist *hl = auth_headers(c, 1, 0);
    curl_mime *mime = h ? curl_mime_init(h) : NULL;
    curl_mimepart *part = mime ? curl_mime_addpart(mime) : NULL;
    if (!h || !hl || !part) {
        r->curl = CURLE_OUT_OF_MEMORY;
        snprintf(r->curl_msg, sizeof r->curl_msg, "out of memory");
        goto out;
    }
    curl_mime_name(part, field);
    curl_mime_filename(part, filename);
    curl_mime_type(part, "application/zip");
    curl_mime_data_cb(part, (curl_off_t)size, upload_read, upload_seek, NULL, &u);
    curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall_s);
    CURLcode cc = curl_easy_perform(h);
    finish_resp(h, cc, errbuf, r);
out:
    curl_mime_free(mime);
    curl_slist_free_all(hl);
    if (h)
        curl_easy_cleanup(h);
    return r->curl;
}
