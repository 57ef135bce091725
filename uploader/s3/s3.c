#include "s3.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "http.h"
#include "s3_xml.h"

#define MIB (1024u * 1024u)
#define MAX_PARTS 10000
#define LIST_PAGE 1000
#define DELETE_BATCH 1000

#define S3_SLOT(n)                                                                                        \
    { "S3_" #n "_BUCKET", SK_SET_NAME, NULL, 0, 0, NULL, 0, "S3 destination " #n ": bucket; selects it (as S3_BUCKET)" }, \
    { "S3_" #n "_ENDPOINT", SK_SET_STRING, NULL, 0, 0, NULL, 0, "S3 destination " #n ": endpoint (as S3_ENDPOINT)" }, \
    { "S3_" #n "_R2_ACCOUNT_ID", SK_SET_NAME, NULL, 0, 0, NULL, 0, "S3 destination " #n ": as R2_ACCOUNT_ID" },         \
    { "S3_" #n "_PREFIX", SK_SET_PREFIX, "", 0, 0, NULL, 0, "S3 destination " #n ": as S3_PREFIX" },                    \
    { "S3_" #n "_REGION", SK_SET_STRING, NULL, 0, 0, NULL, 0, "S3 destination " #n ": as S3_REGION" },                  \
    { "S3_" #n "_ACCESS_KEY_ID", SK_SET_STRING, NULL, 0, 0, NULL, 1, "S3 destination " #n ": access key id" },          \
    { "S3_" #n "_SECRET_ACCESS_KEY", SK_SET_STRING, NULL, 0, 0, NULL, 1, "S3 destination " #n ": secret access key" },  \
    { "S3_" #n "_CA_FILE", SK_SET_PATH, NULL, 0, 0, NULL, 0, "S3 destination " #n ": as S3_CA_FILE" },                  \
    { "S3_" #n "_ALLOW_HTTP", SK_SET_BOOL, "false", 0, 0, NULL, 0, "S3 destination " #n ": as S3_ALLOW_HTTP" }

const sk_setting_def sk_s3_settings[] = {
    { "S3_ENDPOINT", SK_SET_STRING, NULL, 0, 0, NULL, 0,
      "S3 endpoint, https://host[:port] (path-style requests); or set R2_ACCOUNT_ID" },
    { "R2_ACCOUNT_ID", SK_SET_NAME, NULL, 0, 0, NULL, 0,
      "Cloudflare account id: endpoint https://<id>.r2.cloudflarestorage.com, region auto" },
    { "S3_BUCKET", SK_SET_NAME, NULL, 0, 0, NULL, 0, "bucket name; selects the S3 destination" },
    { "S3_PREFIX", SK_SET_PREFIX, "", 0, 0, NULL, 0, "key prefix inside the bucket ('' for none)" },
    { "S3_REGION", SK_SET_STRING, NULL, 0, 0, NULL, 0,
      "signing region (default: auto with R2_ACCOUNT_ID, else us-east-1)" },
    { "S3_ACCESS_KEY_ID", SK_SET_STRING, NULL, 0, 0, NULL, 1, "access key id" },
    { "S3_SECRET_ACCESS_KEY", SK_SET_STRING, NULL, 0, 0, NULL, 1, "secret access key" },
    { "S3_PART_SIZE_MB", SK_SET_INT, "8", 5, 5115, NULL, 0,
      "multipart part size in MiB, the same for every part (5..5115); the largest object is "
      "10,000 parts: 8 MiB allows 78 GiB" },
    { "S3_CONCURRENCY", SK_SET_INT, "2", 1, 16, NULL, 0,
      "parts uploaded at once; memory is (this + 1) x part size" },
    { "S3_MAX_ATTEMPTS", SK_SET_INT, "5", 1, 20, NULL, 0,
      "attempts per request on transport errors, HTTP 5xx and 429" },
    { "S3_CA_FILE", SK_SET_PATH, NULL, 0, 0, NULL, 0, "PEM CA bundle to trust instead of the system's" },
    { "S3_ALLOW_HTTP", SK_SET_BOOL, "false", 0, 0, NULL, 0,
      "allow a plain http:// S3_ENDPOINT (only on a trusted network)" },
    /* the AWS CLI/SDK names, for users who bring them: used when the S3_ name is unset, an error
     * when both are set to different values */
    { "AWS_ENDPOINT_URL", SK_SET_ALIAS, "S3_ENDPOINT", 0, 0, NULL, 0, "same as S3_ENDPOINT (the AWS SDK name)" },
    { "AWS_REGION", SK_SET_ALIAS, "S3_REGION", 0, 0, NULL, 0, "same as S3_REGION (the AWS SDK name)" },
    { "AWS_ACCESS_KEY_ID", SK_SET_ALIAS, "S3_ACCESS_KEY_ID", 0, 0, NULL, 1, "same as S3_ACCESS_KEY_ID" },
    { "AWS_SECRET_ACCESS_KEY", SK_SET_ALIAS, "S3_SECRET_ACCESS_KEY", 0, 0, NULL, 1, "same as S3_SECRET_ACCESS_KEY" },
    /* further buckets of one job (3-2-1 copies): numbered, so that every name stays declared and
     * a typo in one is reported with the closest name, as for the others */
    S3_SLOT(2), S3_SLOT(3), S3_SLOT(4),
    { NULL, 0, NULL, 0, 0, NULL, 0, NULL },
};

/* The settings each S3 destination has its own of (sk_dest_setting_name); the first selects it. */
static const char *const slot_settings[] = {
    "S3_BUCKET", "S3_ENDPOINT", "R2_ACCOUNT_ID", "S3_PREFIX", "S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY",
    "S3_CA_FILE", "S3_ALLOW_HTTP", NULL,
};

typedef struct s3_dest {
    char *endpoint, *bucket, *prefix, *region, *access_key_id, *secret, *ca_file;
    int allow_http;
    size_t part_size;
    int concurrency;
    int max_attempts;
    int max_parts;            /* MAX_PARTS; lowered only by tests */
    sk_http_config hcfg;      /* points into the strings above */
    sk_http *http;            /* for requests made on the caller's thread */
    const sk_runtime *rt;
    int slot;                 /* 1: S3_* settings; n: S3_n_* (sk_dest_setting_name) */
    char desc[512];
} s3_dest;

static sk_rc s3_remove(void *state, const char *key, sk_err *err);

static sk_log *dlog(const s3_dest *d) { return d->rt ? d->rt->log : NULL; }

/* The HTTP layer's messages name the S3_* settings; a further destination's are its own
 * (S3_2_BUCKET), so that the message points at the variable to fix. */
static void slot_names(int slot, sk_err *e)
{
    static const char *const names[] = { "S3_SECRET_ACCESS_KEY", "S3_ACCESS_KEY_ID", "S3_ALLOW_HTTP", "S3_ENDPOINT",
                                         "S3_BUCKET", "S3_REGION", "S3_CA_FILE", "S3_PREFIX", NULL };
    if (slot <= 1 || e->rc == SK_OK)
        return;
    char out[sizeof e->msg];
    size_t o = 0;
    for (const char *p = e->msg; *p && o + 1 < sizeof out;) {
        size_t i;
        for (i = 0; names[i] && strncmp(p, names[i], strlen(names[i])) != 0; i++)
            ;
        if (names[i]) {
            int w = snprintf(out + o, sizeof out - o, "S3_%d_%s", slot, names[i] + 3);
            if (w < 0 || (size_t)w >= sizeof out - o)
                break;
            o += (size_t)w;
            p += strlen(names[i]);
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    memcpy(e->msg, out, o + 1);
}

/* ---- small helpers ------------------------------------------------------------------------- */

static char *str_join3(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s%s", a, b, c);
    return p;
}

/* "/bucket/prefix/key": the raw path the signer encodes. */
static char *object_path(const s3_dest *d, const char *key)
{
    size_t n = strlen(d->bucket) + strlen(d->prefix) + strlen(key) + 3;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "/%s/%s%s", d->bucket, d->prefix, key);
    return p;
}

static sk_rc check_key(const char *key, sk_err *err)
{
    if (!key || !*key || strlen(key) > 900)
        return sk_fail(err, SK_ERR_USAGE, 0, "invalid S3 key '%s'", key ? key : "");
    return SK_OK;
}

/* Sleep `ms`, in slices, stopping early when cancelled (unless no_cancel). Returns non-zero when
 * cancelled. */
static int sleep_ms_nc(const s3_dest *d, long ms, int no_cancel)
{
    while (ms > 0) {
        if (!no_cancel && sk_rt_cancelled(d->rt))
            return 1;
        long slice = ms > 100 ? 100 : ms;
        struct timespec ts = { slice / 1000, (slice % 1000) * 1000000L };
        nanosleep(&ts, NULL);
        ms -= slice;
    }
    return !no_cancel && sk_rt_cancelled(d->rt);
}

static int sleep_ms(const s3_dest *d, long ms) { return sleep_ms_nc(d, ms, 0); }

/* Exponential backoff with jitter: attempt 1 -> 250..500 ms, doubling, at most 8 s. */
static long backoff_ms(int attempt)
{
    long cap = 250L << (attempt - 1 < 5 ? attempt - 1 : 5);
    if (cap > 8000)
        cap = 8000;
    unsigned int r = 0;
    if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
        r = (unsigned int)time(NULL);
    return cap / 2 + (long)(r % (unsigned int)(cap / 2 + 1));
}

/* One request with retries. `what` names the operation and key for messages. On failure the
 * response of the last attempt is kept in *resp (free it in every case). */
static sk_rc s3_call(const s3_dest *d, sk_http *h, const sk_http_request *req, sk_http_response *resp,
                     const char *what, sk_err *err)
{
    for (int attempt = 1;; attempt++) {
        sk_err e;
        sk_err_clear(&e);
        sk_rc rc = sk_http_do(h, req, resp, &e);
        if (rc == SK_OK)
            rc = sk_http_check(resp, what, &e);
        if (rc == SK_OK)
            return SK_OK;
        slot_names(d->slot, &e);
        if (!e.retryable || attempt >= d->max_attempts) {
            if (e.retryable)
                sk_err_prefix(&e, "after %d attempts: ", attempt);
            return sk_fail(err, e.rc, e.detail, "%s", e.msg);
        }
        long wait = backoff_ms(attempt);
        sk_log_msg(dlog(d), SK_LOG_WARN, "%s; attempt %d of %d, retrying in %ld ms", e.msg, attempt,
                   d->max_attempts, wait);
        sk_http_response_free(resp);
        if (sleep_ms_nc(d, wait, req->no_cancel))
            return sk_fail(err, SK_ERR_CANCELLED, 0, "%s: cancelled while waiting to retry", what);
    }
}

/* A growing text buffer for request bodies; `oom` is sticky. */
typedef struct xbuf {
    char *p;
    size_t len, cap;
    int oom;
} xbuf;

static void xb_raw(xbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 4096;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *p = realloc(b->p, nc);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void xb_add(xbuf *b, const char *s) { xb_raw(b, s, strlen(s)); }

/* Text content, XML-escaped. */
static void xb_text(xbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': xb_add(b, "&amp;"); break;
        case '<': xb_add(b, "&lt;"); break;
        case '>': xb_add(b, "&gt;"); break;
        case '"': xb_add(b, "&quot;"); break;
        case '\'': xb_add(b, "&apos;"); break;
        default: xb_raw(b, s, 1); break;
        }
    }
}

/* ---- open / close ------------------------------------------------------------------------- */

/* The value of slot `slot`'s copy of `base`; `var` gets its name, for messages. */
static const char *slot_str(const sk_config *cfg, int slot, const char *base, char var[64])
{
    if (sk_dest_setting_name(&sk_dest_s3, base, slot, var, 64) != 0)
        return NULL;
    return sk_config_str(cfg, var);
}

static int s3_selected(const sk_config *cfg, int slot)
{
    char v[64];
    return slot_str(cfg, slot, "S3_BUCKET", v) != NULL;
}

static void s3_close(void *state)
{
    s3_dest *d = state;
    if (!d)
        return;
    sk_http_free(d->http);
    if (d->secret) {
        explicit_bzero(d->secret, strlen(d->secret));
        free(d->secret);
    }
    free(d->endpoint);
    free(d->bucket);
    free(d->prefix);
    free(d->region);
    free(d->access_key_id);
    free(d->ca_file);
    free(d);
}

static sk_rc s3_open(const sk_config *cfg, int slot, const sk_runtime *rt, void **state, sk_err *err)
{
    char v_end[64], v_acc[64], v_bucket[64], v_key[64], v_secret[64], v_region[64], v_prefix[64], v_ca[64];
    const char *endpoint = slot_str(cfg, slot, "S3_ENDPOINT", v_end), *account = slot_str(cfg, slot, "R2_ACCOUNT_ID", v_acc);
    const char *bucket = slot_str(cfg, slot, "S3_BUCKET", v_bucket), *key = slot_str(cfg, slot, "S3_ACCESS_KEY_ID", v_key);
    const char *secret = slot_str(cfg, slot, "S3_SECRET_ACCESS_KEY", v_secret);
    const char *region = slot_str(cfg, slot, "S3_REGION", v_region), *prefix = slot_str(cfg, slot, "S3_PREFIX", v_prefix);
    const char *ca = slot_str(cfg, slot, "S3_CA_FILE", v_ca);
    char v_http[64];
    if (sk_config_require(cfg, v_bucket, "the S3 destination needs a bucket", err) ||
        sk_config_require(cfg, v_key, "the S3 destination needs credentials", err) ||
        sk_config_require(cfg, v_secret, "the S3 destination needs credentials", err))
        return err->rc;
    if (!endpoint && !account)
        return sk_fail(err, SK_ERR_CONFIG, 0, "neither %s nor %s is set: the S3 destination needs one", v_end, v_acc);
    if (endpoint && account)
        return sk_fail(err, SK_ERR_CONFIG, 0, "%s and %s are both set: keep one", v_end, v_acc);

    s3_dest *d = calloc(1, sizeof *d);
    if (!d)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    d->rt = rt;
    d->endpoint = endpoint ? strdup(endpoint) : str_join3("https://", account, ".r2.cloudflarestorage.com");
    d->region = strdup(region ? region : account ? "auto" : "us-east-1");
    d->bucket = strdup(bucket);
    if (!prefix)
        prefix = "";
    /* A non-empty prefix is a folder: "a/b" -> "a/b/". */
    size_t pl = strlen(prefix);
    d->prefix = str_join3(prefix, pl && prefix[pl - 1] != '/' ? "/" : "", "");
    d->access_key_id = strdup(key);
    d->secret = strdup(secret);
    d->ca_file = ca ? strdup(ca) : NULL;
    if (!d->endpoint || !d->region || !d->bucket || !d->prefix || !d->access_key_id || !d->secret ||
        (ca && !d->ca_file)) {
        s3_close(d);
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    }
    d->allow_http = slot_str(cfg, slot, "S3_ALLOW_HTTP", v_http) && sk_config_bool(cfg, v_http);
    d->part_size = (size_t)sk_config_int(cfg, "S3_PART_SIZE_MB", 8) * MIB;
    d->concurrency = (int)sk_config_int(cfg, "S3_CONCURRENCY", 2);
    d->max_attempts = (int)sk_config_int(cfg, "S3_MAX_ATTEMPTS", 5);
    d->max_parts = MAX_PARTS;
    d->hcfg = (sk_http_config){
        .endpoint = d->endpoint,
        .region = d->region,
        .access_key_id = d->access_key_id,
        .secret_access_key = d->secret,
        .ca_file = d->ca_file,
        .allow_http = d->allow_http,
        .cancelled = rt ? rt->cancelled : NULL,
        .cancel_ud = rt ? rt->cancel_ud : NULL,
    };
    d->slot = slot;
    d->http = sk_http_new(&d->hcfg, err);
    if (!d->http) {
        slot_names(slot, err);
        s3_close(d);
        return err->rc;
    }
    snprintf(d->desc, sizeof d->desc, "S3 bucket %s%s%s at %s", d->bucket, d->prefix[0] ? " prefix " : "",
             d->prefix, d->endpoint);
    *state = d;
    return SK_OK;
}

static const char *s3_describe(void *state) { return ((s3_dest *)state)->desc; }

/* ---- put ---------------------------------------------------------------------------------- */

typedef struct s3_put s3_put;

typedef struct worker {
    s3_put *p;
    pthread_t thread;
    int started;
} worker;

struct s3_put {
    sk_writer base;
    s3_dest *d;
    char *key;               /* relative key, for messages */
    char *path;              /* raw "/bucket/prefix/key" */
    char *cur;               /* the part being filled */
    size_t cur_len;
    uint64_t total;          /* bytes accepted */
    int parts;               /* parts handed to workers */
    char *upload_id;         /* set once CreateMultipartUpload succeeded */
    int published;           /* finish() succeeded: abort() must not touch the object */

    /* shared with the workers, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char **free_bufs;        /* buffers ready for the writer */
    int nfree, nalloc;       /* nalloc <= concurrency + 1 */
    char *q_buf;             /* the hand-off slot */
    size_t q_len;
    int q_number;
    int in_flight;
    int stop;
    char **etags;            /* etags[n - 1] for part n */
    int etags_cap;
    sk_err werr;             /* first failure of a worker */
    worker *workers;
    int nworkers;
};

static sk_rc upload_part(s3_put *p, sk_http *h, const char *buf, size_t len, int number, char **etag,
                         sk_err *err)
{
    char num[16], md5[25], hash[SK_SHA256_HEX_LEN + 1], what[1200];
    snprintf(num, sizeof num, "%d", number);
    sk_content_md5(buf, len, md5);
    sk_sha256_hex(buf, len, hash);
    sk_sigv4_param q[] = { { "partNumber", num }, { "uploadId", p->upload_id } };
    sk_sigv4_header hd[] = { { "Content-MD5", md5 } };
    sk_http_request req = { .method = "PUT", .path = p->path, .query = q, .nquery = 2, .headers = hd,
                            .nheaders = 1, .body = buf, .body_len = len, .payload_hash = hash };
    sk_http_response resp;
    snprintf(what, sizeof what, "S3 UploadPart %d of '%s'", number, p->key);
    sk_rc rc = s3_call(p->d, h, &req, &resp, what, err);
    if (rc == SK_OK) {
        if (!resp.etag[0])
            rc = sk_fail(err, SK_ERR_DEST, resp.status, "%s: the answer has no ETag", what);
        else if (!(*etag = strdup(resp.etag)))
            rc = sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    }
    sk_http_response_free(&resp);
    return rc;
}

static int worker_failed(s3_put *p) { return p->werr.rc != SK_OK; }

static void *worker_main(void *arg)
{
    worker *w = arg;
    s3_put *p = w->p;
    sk_err e;
    sk_err_clear(&e);
    sk_http *h = sk_http_new(&p->d->hcfg, &e);
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->q_buf && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->q_buf) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        char *buf = p->q_buf;
        size_t len = p->q_len;
        int number = p->q_number;
        p->q_buf = NULL;
        p->in_flight++;
        int skip = worker_failed(p);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);

        char *etag = NULL;
        sk_err pe;
        sk_err_clear(&pe);
        sk_rc rc = SK_OK;
        if (!h)
            rc = sk_fail(&pe, e.rc, e.detail, "%s", e.msg);
        else if (!skip && sk_rt_cancelled(p->d->rt))
            rc = sk_fail(&pe, SK_ERR_CANCELLED, 0, "upload of '%s' cancelled", p->key);
        else if (!skip)
            rc = upload_part(p, h, buf, len, number, &etag, &pe);

        pthread_mutex_lock(&p->mu);
        if (skip) {
            /* an earlier part failed: this one is moot */
        } else if (rc != SK_OK) {
            if (!worker_failed(p))
                p->werr = pe;
        } else {
            p->etags[number - 1] = etag;
            etag = NULL;
        }
        p->free_bufs[p->nfree++] = buf;
        p->in_flight--;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        free(etag);
    }
    sk_http_free(h);
    return NULL;
}

static sk_rc start_workers(s3_put *p, sk_err *err)
{
    p->workers = calloc((size_t)p->d->concurrency, sizeof *p->workers);
    if (!p->workers)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    for (int i = 0; i < p->d->concurrency; i++) {
        p->workers[i].p = p;
        int e = pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]);
        if (e != 0)
            return sk_fail(err, SK_ERR_INTERNAL, e, "cannot start an upload thread: %s", strerror(e));
        p->workers[i].started = 1;
        p->nworkers++;
    }
    return SK_OK;
}

/* Wait until no part is queued or uploading. */
static void drain(s3_put *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->q_buf || p->in_flight)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

static void stop_workers(s3_put *p)
{
    if (!p->workers)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->d->concurrency; i++)
        if (p->workers[i].started)
            pthread_join(p->workers[i].thread, NULL);
    free(p->workers);
    p->workers = NULL;
    p->nworkers = 0;
}

static sk_rc create_upload(s3_put *p, sk_err *err)
{
    char what[1100];
    snprintf(what, sizeof what, "S3 CreateMultipartUpload '%s'", p->key);
    sk_sigv4_param q[] = { { "uploads", NULL } };
    sk_http_request req = { .method = "POST", .path = p->path, .query = q, .nquery = 1 };
    sk_http_response resp;
    sk_rc rc = s3_call(p->d, p->d->http, &req, &resp, what, err);
    if (rc == SK_OK) {
        rc = sk_s3_xml_initiate(resp.body, resp.body_len, &p->upload_id, err);
        if (rc != SK_OK)
            sk_err_prefix(err, "%s: ", what);
    }
    sk_http_response_free(&resp);
    return rc;
}

static sk_rc abort_upload(s3_put *p, sk_err *err)
{
    char what[1100];
    snprintf(what, sizeof what, "S3 AbortMultipartUpload '%s'", p->key);
    sk_sigv4_param q[] = { { "uploadId", p->upload_id } };
    sk_http_request req = { .method = "DELETE", .path = p->path, .query = q, .nquery = 1, .no_cancel = 1 };
    sk_http_response resp;
    sk_rc rc = s3_call(p->d, p->d->http, &req, &resp, what, err);
    if (rc != SK_OK && resp.status == 404) { /* NoSuchUpload: already gone */
        sk_err_clear(err);
        rc = SK_OK;
    }
    sk_http_response_free(&resp);
    return rc;
}

/* Hand the current buffer to a worker as the next part, and (need_new) get an empty one. */
static sk_rc dispatch(s3_put *p, int need_new, sk_err *err)
{
    if (!p->upload_id) {
        if (create_upload(p, err) != SK_OK || start_workers(p, err) != SK_OK)
            return err->rc;
    }
    int number = ++p->parts;
    pthread_mutex_lock(&p->mu);
    if (number > p->etags_cap) {
        int cap = p->etags_cap ? p->etags_cap * 2 : 64;
        if (cap > MAX_PARTS)
            cap = MAX_PARTS;
        char **e = realloc(p->etags, (size_t)cap * sizeof *e);
        if (!e) {
            pthread_mutex_unlock(&p->mu);
            return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        }
        memset(e + p->etags_cap, 0, (size_t)(cap - p->etags_cap) * sizeof *e);
        p->etags = e;
        p->etags_cap = cap;
    }
    while (p->q_buf && !worker_failed(p))
        pthread_cond_wait(&p->cv, &p->mu);
    if (worker_failed(p)) {
        sk_err e = p->werr;
        pthread_mutex_unlock(&p->mu);
        return sk_fail(err, e.rc, e.detail, "%s", e.msg);
    }
    p->q_buf = p->cur;
    p->q_len = p->cur_len;
    p->q_number = number;
    p->cur = NULL;
    p->cur_len = 0;
    pthread_cond_broadcast(&p->cv);
    if (!need_new) {
        pthread_mutex_unlock(&p->mu);
        return SK_OK;
    }
    /* A fresh buffer: allocate while under the (concurrency + 1) cap, else wait for a free one. */
    while (!p->nfree && p->nalloc > p->d->concurrency && !worker_failed(p))
        pthread_cond_wait(&p->cv, &p->mu);
    if (worker_failed(p)) {
        sk_err e = p->werr;
        pthread_mutex_unlock(&p->mu);
        return sk_fail(err, e.rc, e.detail, "%s", e.msg);
    }
    if (p->nfree) {
        p->cur = p->free_bufs[--p->nfree];
    } else {
        p->cur = malloc(p->d->part_size);
        if (p->cur)
            p->nalloc++;
    }
    pthread_mutex_unlock(&p->mu);
    if (!p->cur)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory for a %zu MiB part buffer",
                       p->d->part_size / MIB);
    return SK_OK;
}

static sk_rc put_write(sk_writer *w, const void *buf, size_t len, sk_err *err)
{
    s3_put *p = (s3_put *)w;
    const char *c = buf;
    if (sk_rt_cancelled(p->d->rt))
        return sk_fail(err, SK_ERR_CANCELLED, 0, "upload of '%s' cancelled", p->key);
    while (len > 0) {
        if (p->cur_len == p->d->part_size) {
            /* More data after a full part: the full one is sent as part N and the data goes on in
             * part N + 1, which must not pass the limit. */
            if (p->parts + 2 > p->d->max_parts)
                return sk_fail(err, SK_ERR_DEST, 0,
                               "'%s' is larger than %d parts of S3_PART_SIZE_MB=%zu MiB (%.1f GiB), the "
                               "S3 limit; raise S3_PART_SIZE_MB",
                               p->key, p->d->max_parts, p->d->part_size / MIB,
                               (double)p->d->part_size * p->d->max_parts / (1024.0 * 1024 * 1024));
            if (dispatch(p, 1, err) != SK_OK)
                return err->rc;
        }
        size_t n = p->d->part_size - p->cur_len;
        if (n > len)
            n = len;
        memcpy(p->cur + p->cur_len, c, n);
        p->cur_len += n;
        p->total += n;
        c += n;
        len -= n;
    }
    return SK_OK;
}

static sk_rc head_obj(s3_dest *d, const char *path, const char *key, int64_t *size, char *etag, size_t etagsz,
                      sk_err *err)
{
    char what[1100];
    snprintf(what, sizeof what, "S3 HeadObject '%s'", key);
    sk_http_request req = { .method = "HEAD", .path = path };
    sk_http_response resp;
    sk_rc rc = s3_call(d, d->http, &req, &resp, what, err);
    if (rc == SK_OK) {
        *size = resp.content_length;
        if (etag)
            snprintf(etag, etagsz, "%s", resp.etag);
    }
    sk_http_response_free(&resp);
    return rc;
}

static sk_rc head_size(s3_dest *d, const char *path, const char *key, int64_t *size, sk_err *err)
{
    return head_obj(d, path, key, size, NULL, 0, err);
}

/* Is `key` stored? HEAD answers that cheaply; but a refused HEAD has no body to say why, so then
 * the question is asked again as a one-key ListObjectsV2, whose error names the S3 code
 * (SignatureDoesNotMatch, AccessDenied...). With the key as prefix and max-keys 1, the first key
 * listed is the key itself when it exists (it sorts before every longer key with that prefix). */
static sk_rc key_exists(s3_dest *d, const char *key, int *found, sk_err *err)
{
    char *full = str_join3(d->prefix, key, ""), *path = str_join3("/", d->bucket, ""), *opath = object_path(d, key);
    char what[1100];
    sk_rc rc = SK_OK;
    *found = 0;
    if (!full || !path || !opath) {
        rc = sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        goto out;
    }
    int64_t size;
    sk_err e;
    sk_err_clear(&e);
    rc = head_size(d, opath, key, &size, &e);
    if (rc == SK_OK || rc == SK_ERR_NOTFOUND) {
        *found = rc == SK_OK;
        rc = SK_OK;
        goto out;
    }
    if (e.detail < 400 || e.detail >= 500) { /* transport or server trouble: report it as is */
        rc = sk_fail(err, e.rc, e.detail, "%s", e.msg);
        goto out;
    }
    snprintf(what, sizeof what, "S3 ListObjectsV2 '%s'", full);
    sk_sigv4_param q[] = { { "list-type", "2" }, { "prefix", full }, { "max-keys", "1" } };
    sk_http_request req = { .method = "GET", .path = path, .query = q, .nquery = 3 };
    sk_http_response resp;
    rc = s3_call(d, d->http, &req, &resp, what, err);
    if (rc == SK_OK) {
        sk_s3_list_page pg;
        sk_err le;
        sk_err_clear(&le);
        *found = sk_s3_xml_list(resp.body, resp.body_len, &pg, &le) == SK_OK && pg.n > 0 &&
                 strcmp(pg.entries[0].key, full) == 0;
        sk_s3_list_page_free(&pg);
        if (!*found) /* listing allowed but HEAD refused: report the HEAD's answer */
            rc = sk_fail(err, e.rc, e.detail, "%s", e.msg);
    }
    sk_http_response_free(&resp);
out:
    free(full);
    free(path);
    free(opath);
    return rc;
}

static sk_rc put_single(s3_put *p, sk_err *err)
{
    char md5[25], hash[SK_SHA256_HEX_LEN + 1], what[1100];
    snprintf(what, sizeof what, "S3 PutObject '%s'", p->key);
    const char *body = p->cur_len ? p->cur : "";
    sk_content_md5(body, p->cur_len, md5);
    sk_sha256_hex(body, p->cur_len, hash);
    /* If-None-Match: * makes the server refuse to replace an object that appeared meanwhile
     * (R2 and AWS honour it; others ignore it, the HEAD in put() covers those). */
    sk_sigv4_header hd[] = { { "Content-MD5", md5 }, { "If-None-Match", "*" } };
    sk_http_request req = { .method = "PUT", .path = p->path, .headers = hd, .nheaders = 2, .body = body,
                            .body_len = p->cur_len, .payload_hash = hash };
    sk_http_response resp;
    sk_rc rc = s3_call(p->d, p->d->http, &req, &resp, what, err);
    if (rc != SK_OK && resp.status == 412) {
        /* Either someone else stored the key meanwhile, or our own earlier attempt did and only its
         * answer was lost: then the stored ETag is the MD5 of this body. */
        unsigned char raw[20];
        char hex[33], want[40], etag[128] = "";
        int64_t size = -1;
        sk_err e;
        sk_err_clear(&e);
        if (EVP_DecodeBlock(raw, (const unsigned char *)md5, 24) == 18) {
            sk_hex_encode(raw, 16, hex);
            snprintf(want, sizeof want, "\"%s\"", hex);
            if (head_obj(p->d, p->path, p->key, &size, etag, sizeof etag, &e) == SK_OK &&
                (uint64_t)size == p->cur_len && strcmp(etag, want) == 0) {
                sk_err_clear(err);
                rc = SK_OK;
            }
        }
        if (rc != SK_OK) {
            sk_err_clear(err);
            rc = sk_fail(err, SK_ERR_DEST, 412, "'%s' already exists; snapkeep never overwrites a stored object",
                         p->key);
        }
    }
    sk_http_response_free(&resp);
    return rc;
}

static sk_rc complete_upload(s3_put *p, sk_err *err)
{
    char what[1100];
    snprintf(what, sizeof what, "S3 CompleteMultipartUpload '%s' (%d parts)", p->key, p->parts);
    xbuf b = { 0 };
    xb_add(&b, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (int i = 1; i <= p->parts; i++) {
        char head[64];
        snprintf(head, sizeof head, "<Part><PartNumber>%d</PartNumber><ETag>", i);
        xb_add(&b, head);
        xb_text(&b, p->etags[i - 1] ? p->etags[i - 1] : "");
        xb_add(&b, "</ETag></Part>");
    }
    xb_add(&b, "</CompleteMultipartUpload>");
    if (b.oom) {
        free(b.p);
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    }
    char *xml = b.p;
    size_t len = b.len;
    sk_sigv4_param q[] = { { "uploadId", p->upload_id } };
    sk_sigv4_header hd[] = { { "Content-Type", "application/xml" } };
    sk_http_request req = { .method = "POST", .path = p->path, .query = q, .nquery = 1, .headers = hd,
                            .nheaders = 1, .body = xml, .body_len = len };
    sk_rc rc = SK_OK;
    int maybe_done = 0;
    for (int attempt = 1;; attempt++) {
        sk_http_response resp;
        rc = s3_call(p->d, p->d->http, &req, &resp, what, err);
        /* NoSuchUpload after a retry: an earlier attempt may have completed and lost its answer. */
        maybe_done = rc != SK_OK && resp.status == 404 && strcmp(resp.code, "NoSuchUpload") == 0;
        if (rc == SK_OK) {
            /* S3 may answer 200 and put an <Error> in the body: that is a (retryable) failure; so is
             * a reply cut short, since a retry that finds NoSuchUpload checks the object below. */
            sk_s3_error_doc doc;
            sk_err pe;
            sk_err_clear(&pe);
            int bad = sk_s3_xml_complete(resp.body, resp.body_len, &doc, &pe) != SK_OK;
            if (bad || doc.is_error) {
                char problem[1200];
                if (bad)
                    snprintf(problem, sizeof problem, "%s", pe.msg);
                else
                    snprintf(problem, sizeof problem, "%s: %s", doc.code ? doc.code : "(no Code)",
                             doc.message ? doc.message : "");
                sk_s3_error_doc_free(&doc);
                if (attempt < p->d->max_attempts) {
                    sk_log_msg(dlog(p->d), SK_LOG_WARN, "%s: %s; retrying", what, problem);
                    sk_http_response_free(&resp);
                    if (sleep_ms(p->d, backoff_ms(attempt))) {
                        rc = sk_fail(err, SK_ERR_CANCELLED, 0, "%s: cancelled", what);
                        break;
                    }
                    continue;
                }
                rc = sk_fail(err, SK_ERR_DEST, resp.status, "%s: %s", what, problem);
            }
            sk_s3_error_doc_free(&doc);
        }
        sk_http_response_free(&resp);
        break;
    }
    free(xml);
    if (maybe_done) {
        int64_t size = -1;
        sk_err e;
        sk_err_clear(&e);
        if (head_size(p->d, p->path, p->key, &size, &e) == SK_OK && size >= 0 && (uint64_t)size == p->total) {
            sk_log_msg(dlog(p->d), SK_LOG_WARN, "%s: NoSuchUpload, but the object is stored with the right size: "
                       "an earlier attempt completed it", what);
            sk_err_clear(err);
            rc = SK_OK;
        }
    }
    return rc;
}

static sk_rc put_finish(sk_writer *w, sk_err *err)
{
    s3_put *p = (s3_put *)w;
    sk_rc rc;
    if (!p->upload_id) {
        rc = put_single(p, err);
    } else {
        /* The last part: never empty, since a full part is only sent once more data follows. */
        rc = dispatch(p, 0, err);
        if (rc == SK_OK) {
            drain(p);
            pthread_mutex_lock(&p->mu);
            if (worker_failed(p))
                rc = sk_fail(err, p->werr.rc, p->werr.detail, "%s", p->werr.msg);
            pthread_mutex_unlock(&p->mu);
        }
        stop_workers(p);
        if (rc == SK_OK)
            rc = complete_upload(p, err);
        if (rc != SK_OK) {
            sk_err e;
            sk_err_clear(&e);
            if (abort_upload(p, &e) != SK_OK)
                sk_log_msg(dlog(p->d), SK_LOG_WARN, "could not abort the multipart upload of '%s': %s", p->key,
                           e.msg);
            free(p->upload_id);
            p->upload_id = NULL;
            return rc;
        }
        free(p->upload_id);
        p->upload_id = NULL;
    }
    if (rc != SK_OK)
        return rc;
    p->published = 1;
    int64_t size = -1;
    rc = head_size(p->d, p->path, p->key, &size, err);
    if (rc != SK_OK)
        return rc;
    if (size < 0 || (uint64_t)size != p->total) {
        rc = sk_fail(err, SK_ERR_INTEGRITY, 0, "'%s' was stored with %lld bytes instead of %llu; deleted it",
                     p->key, (long long)size, (unsigned long long)p->total);
        sk_err e;
        sk_err_clear(&e);
        if (s3_remove(p->d, p->key, &e) != SK_OK)
            sk_log_msg(dlog(p->d), SK_LOG_WARN, "could not delete the bad object '%s': %s", p->key, e.msg);
        return rc;
    }
    return SK_OK;
}

static void put_abort(sk_writer *w)
{
    s3_put *p = (s3_put *)w;
    if (p->workers) {
        pthread_mutex_lock(&p->mu);
        if (!worker_failed(p))
            sk_fail(&p->werr, SK_ERR_CANCELLED, 0, "upload of '%s' aborted", p->key);
        pthread_mutex_unlock(&p->mu);
        drain(p);
        stop_workers(p);
    }
    if (p->upload_id) {
        sk_err e;
        sk_err_clear(&e);
        if (abort_upload(p, &e) != SK_OK)
            sk_log_msg(dlog(p->d), SK_LOG_WARN, "could not abort the multipart upload of '%s': %s", p->key, e.msg);
        free(p->upload_id);
        p->upload_id = NULL;
    }
    /* A single PutObject is only sent by finish(): before that nothing exists remotely. */
}

static void put_destroy(sk_writer *w)
{
    s3_put *p = (s3_put *)w;
    if (!p->published)
        put_abort(w);
    stop_workers(p);
    free(p->cur);
    for (int i = 0; i < p->nfree; i++)
        free(p->free_bufs[i]);
    free(p->free_bufs);
    if (p->q_buf)
        free(p->q_buf);
    for (int i = 0; i < p->etags_cap; i++)
        free(p->etags[i]);
    free(p->etags);
    free(p->key);
    free(p->path);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static const sk_writer_type s3_put_type = { "s3-put", put_write, put_finish, put_abort, put_destroy };

static sk_rc s3_put_open(void *state, const char *key, sk_writer **out, sk_err *err)
{
    s3_dest *d = state;
    if (check_key(key, err) != SK_OK)
        return err->rc;
    s3_put *p = calloc(1, sizeof *p);
    if (!p)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    sk_writer_init(&p->base, &s3_put_type, NULL);
    p->d = d;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->key = strdup(key);
    p->path = object_path(d, key);
    p->free_bufs = calloc((size_t)d->concurrency + 1, sizeof *p->free_bufs);
    p->cur = malloc(d->part_size);
    p->nalloc = 1;
    if (!p->key || !p->path || !p->free_bufs || !p->cur) {
        p->published = 1; /* nothing to abort */
        put_destroy(&p->base);
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory for a %zu MiB part buffer",
                       d->part_size / MIB);
    }
    /* Never replace a stored object. */
    int found = 0;
    sk_err e;
    sk_err_clear(&e);
    sk_rc rc = key_exists(d, key, &found, &e);
    if (rc != SK_OK || found) {
        p->published = 1;
        put_destroy(&p->base);
        if (rc == SK_OK)
            return sk_fail(err, SK_ERR_DEST, 0, "'%s' already exists in %s; snapkeep never overwrites a stored object",
                           key, d->desc);
        return sk_fail(err, e.rc, e.detail, "%s", e.msg);
    }
    *out = &p->base;
    return SK_OK;
}

/* ---- get ---------------------------------------------------------------------------------- */

typedef struct get_ctx {
    sk_writer *into;
    uint64_t delivered;
    sk_rc sink_rc;
} get_ctx;

static sk_rc get_sink(void *ud, const void *buf, size_t len, sk_err *err)
{
    get_ctx *g = ud;
    sk_rc rc = sk_writer_write(g->into, buf, len, err);
    if (rc != SK_OK) {
        g->sink_rc = rc;
        return rc;
    }
    g->delivered += len;
    return SK_OK;
}

static sk_rc s3_get(void *state, const char *key, sk_writer *into, sk_err *err)
{
    s3_dest *d = state;
    if (check_key(key, err) != SK_OK)
        return err->rc;
    char *path = object_path(d, key);
    if (!path)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    char what[1100], range[64], etag[128] = "";
    snprintf(what, sizeof what, "S3 GetObject '%s'", key);
    get_ctx g = { into, 0, SK_OK };
    sk_rc rc = SK_OK;
    for (int attempt = 1;; attempt++) {
        sk_sigv4_header hd[2];
        size_t nh = 0;
        if (g.delivered > 0) {
            /* Resume where the dropped connection stopped, from the same version of the object. */
            snprintf(range, sizeof range, "bytes=%llu-", (unsigned long long)g.delivered);
            hd[nh++] = (sk_sigv4_header){ "Range", range };
            if (etag[0])
                hd[nh++] = (sk_sigv4_header){ "If-Match", etag };
        }
        sk_http_request req = { .method = "GET", .path = path, .headers = hd, .nheaders = nh,
                                .sink = get_sink, .sink_ud = &g };
        sk_http_response resp;
        sk_err e;
        sk_err_clear(&e);
        rc = sk_http_do(d->http, &req, &resp, &e);
        if (attempt == 1 && resp.etag[0])
            snprintf(etag, sizeof etag, "%s", resp.etag);
        if (rc == SK_OK)
            rc = sk_http_check(&resp, what, &e);
        slot_names(d->slot, &e);
        if (rc == SK_OK && g.delivered > 0 && attempt > 1 && resp.status != 206)
            rc = sk_fail(&e, SK_ERR_DEST, resp.status, "%s: the server ignored the Range of a resumed download",
                         what);
        if (rc == SK_ERR_NOTFOUND) {
            sk_err_clear(&e);
            sk_fail(&e, SK_ERR_NOTFOUND, 404, "'%s' does not exist in %s", key, d->desc);
        }
        sk_http_response_free(&resp);
        if (rc == SK_OK || g.sink_rc != SK_OK || !e.retryable || attempt >= d->max_attempts) {
            if (rc != SK_OK)
                sk_fail(err, e.rc, e.detail, "%s", e.msg);
            break;
        }
        long wait = backoff_ms(attempt);
        sk_log_msg(dlog(d), SK_LOG_WARN, "%s; %llu bytes received, attempt %d of %d, resuming in %ld ms", e.msg,
                   (unsigned long long)g.delivered, attempt, d->max_attempts, wait);
        if (sleep_ms(d, wait)) {
            rc = sk_fail(err, SK_ERR_CANCELLED, 0, "%s: cancelled", what);
            break;
        }
    }
    free(path);
    return rc;
}

/* ---- list --------------------------------------------------------------------------------- */

static sk_rc s3_list(void *state, const char *prefix, sk_list_fn fn, void *ud, sk_err *err)
{
    s3_dest *d = state;
    char *full = str_join3(d->prefix, prefix ? prefix : "", "");
    char *path = str_join3("/", d->bucket, "");
    char *token = NULL;
    char page[16], what[1100];
    sk_rc rc = SK_OK;
    if (!full || !path) {
        rc = sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        goto out;
    }
    snprintf(page, sizeof page, "%d", LIST_PAGE);
    snprintf(what, sizeof what, "S3 ListObjectsV2 '%s'", full);
    size_t plen = strlen(d->prefix);
    for (;;) {
        sk_sigv4_param q[4] = { { "list-type", "2" }, { "prefix", full }, { "max-keys", page } };
        size_t nq = 3;
        if (token)
            q[nq++] = (sk_sigv4_param){ "continuation-token", token };
        sk_http_request req = { .method = "GET", .path = path, .query = q, .nquery = nq, .max_body = 64u << 20 };
        sk_http_response resp;
        rc = s3_call(d, d->http, &req, &resp, what, err);
        if (rc != SK_OK) {
            sk_http_response_free(&resp);
            goto out;
        }
        sk_s3_list_page pg;
        rc = sk_s3_xml_list(resp.body, resp.body_len, &pg, err);
        if (rc != SK_OK) {
            sk_err_prefix(err, "%s: ", what);
            sk_http_response_free(&resp);
            goto out;
        }
        free(token);
        token = pg.next_token;
        pg.next_token = NULL;
        int truncated = pg.truncated;
        for (size_t i = 0; i < pg.n && rc == SK_OK; i++) {
            const sk_s3_list_entry *en = &pg.entries[i];
            if (strlen(en->key) >= plen && strncmp(en->key, d->prefix, plen) == 0) {
                sk_object obj = { en->key + plen, en->size, en->mtime };
                rc = fn(ud, &obj, err);
            }
        }
        sk_s3_list_page_free(&pg);
        sk_http_response_free(&resp);
        if (rc != SK_OK)
            goto out;
        if (!truncated)
            break;
        if (!token) {
            rc = sk_fail(err, SK_ERR_DEST, 0, "%s: a truncated page without NextContinuationToken", what);
            goto out;
        }
    }
out:
    free(token);
    free(full);
    free(path);
    return rc;
}

/* ---- remove ------------------------------------------------------------------------------- */

static sk_rc s3_remove(void *state, const char *key, sk_err *err)
{
    s3_dest *d = state;
    if (check_key(key, err) != SK_OK)
        return err->rc;
    char *path = object_path(d, key);
    if (!path)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    char what[1100];
    snprintf(what, sizeof what, "S3 DeleteObject '%s'", key);
    sk_http_request req = { .method = "DELETE", .path = path };
    sk_http_response resp;
    sk_rc rc = s3_call(d, d->http, &req, &resp, what, err);
    if (rc == SK_ERR_NOTFOUND) {
        sk_err_clear(err);
        rc = SK_OK;
    }
    sk_http_response_free(&resp);
    free(path);
    return rc;
}

sk_rc sk_s3_remove_many(void *state, const char *const *keys, size_t n, sk_err *err)
{
    s3_dest *d = state;
    char *path = str_join3("/", d->bucket, "");
    if (!path)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    sk_rc rc = SK_OK;
    for (size_t start = 0; start < n && rc == SK_OK; start += DELETE_BATCH) {
        size_t count = n - start < DELETE_BATCH ? n - start : DELETE_BATCH;
        xbuf b = { 0 };
        /* <Quiet> makes the answer list only the failures. */
        xb_add(&b, "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>");
        for (size_t i = start; i < start + count; i++) {
            xb_add(&b, "<Object><Key>");
            xb_text(&b, d->prefix);
            xb_text(&b, keys[i]);
            xb_add(&b, "</Key></Object>");
        }
        xb_add(&b, "</Delete>");
        if (b.oom) {
            free(b.p);
            rc = sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
            break;
        }
        char *xml = b.p;
        size_t len = b.len;
        char md5[25], what[200];
        sk_content_md5(xml, len, md5);
        snprintf(what, sizeof what, "S3 DeleteObjects (%zu keys from '%s')", count, keys[start]);
        sk_sigv4_param q[] = { { "delete", NULL } };
        sk_sigv4_header hd[] = { { "Content-MD5", md5 }, { "Content-Type", "application/xml" } };
        sk_http_request req = { .method = "POST", .path = path, .query = q, .nquery = 1, .headers = hd,
                                .nheaders = 2, .body = xml, .body_len = len };
        sk_http_response resp;
        rc = s3_call(d, d->http, &req, &resp, what, err);
        if (rc == SK_OK) {
            sk_s3_delete_result res;
            rc = sk_s3_xml_delete(resp.body, resp.body_len, &res, err);
            if (rc != SK_OK)
                sk_err_prefix(err, "%s: ", what);
            for (size_t i = 0; i < res.n && rc == SK_OK; i++) {
                const sk_s3_delete_error *e = &res.errors[i];
                if (!e->code || strcmp(e->code, "NoSuchKey") != 0)
                    rc = sk_fail(err, SK_ERR_DEST, resp.status, "%s: '%s' was not deleted: %s %s", what,
                                 e->key ? e->key : "?", e->code ? e->code : "", e->message ? e->message : "");
            }
            sk_s3_delete_result_free(&res);
        }
        sk_http_response_free(&resp);
        free(xml);
    }
    free(path);
    return rc;
}

void sk_s3_test_set_max_parts(void *state, int max_parts)
{
    s3_dest *d = state;
    if (max_parts >= 1 && max_parts <= MAX_PARTS)
        d->max_parts = max_parts;
}

const sk_dest_type sk_dest_s3 = {
    .name = "s3",
    .settings = sk_s3_settings,
    .slots = 4,
    .slot_settings = slot_settings,
    .selected = s3_selected,
    .open = s3_open,
    .describe = s3_describe,
    .put = s3_put_open,
    .get = s3_get,
    .list = s3_list,
    .remove = s3_remove,
    .close = s3_close,
};
