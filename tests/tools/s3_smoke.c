/*
 * s3_smoke.c: a tiny driver of uploader/s3/http.c for tests/integration/s3_smoke.sh.
 *
 *   s3_smoke OP BUCKET [KEY [FILE]]
 *     mkbucket                       PUT /BUCKET
 *     put KEY FILE                   PUT from FILE through a streaming source (hash computed first)
 *     putmem KEY FILE                PUT from memory with Content-MD5 (payload hash by sk_http_do)
 *     putunsigned KEY FILE           PUT from memory with x-amz-content-sha256: UNSIGNED-PAYLOAD
 *     putbadhash KEY FILE            PUT whose declared payload hash is that of another body
 *     get KEY FILE                   GET into FILE through a sink
 *     range KEY FILE                 GET bytes=0-9 into FILE
 *     head KEY | delete KEY
 *
 * Destination ops (uploader/s3/s3.c through the sk_dest_type interface, S3_* settings from the
 * environment, S3_BUCKET must be set):
 *     dest-put KEY FILE [CHUNK]      put() FILE in writes of CHUNK bytes (default 65536), finish()
 *     dest-put-abort KEY FILE N      put() the first N bytes of FILE, then abort()
 *     dest-put-maxparts KEY FILE N   dest-put with the part limit lowered to N
 *     dest-put-stdin KEY             put() standard input in 1 MiB writes (benchmarks)
 *     dest-get KEY FILE              get() into FILE
 *     dest-list PREFIX               list(): "key<TAB>size<TAB>mtime" lines, then "count=N"
 *     dest-fill PREFIX N             put() N small objects PREFIX00000.. (content: their index)
 *     dest-rm KEY                    remove()
 *     dest-rm-many KEY...            sk_s3_remove_many()
 *     uploads                        ListMultipartUploads: "uploads=N" (in-progress uploads)
 *
 * Settings from the environment: S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY_ID_FILE,
 * S3_SECRET_ACCESS_KEY_FILE, S3_CA_FILE (plain http is allowed: the test server is on loopback).
 * Prints "status=N code=C etag=E length=L" and, for a non-2xx answer, the sk_http_check message.
 * Exit status: 0 for 2xx, 3 for another HTTP status, 1 for any other failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "../../agent/config.h"
#include "../../agent/log.h"
#include "../../agent/stream.h"
#include "../../uploader/s3/http.h"
#include "../../uploader/s3/s3.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap)
            break;
        cap *= 2;
        char *nb = realloc(buf, cap + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* A key or id file holds one line. */
static char *read_secret_file(const char *var)
{
    const char *path = getenv(var);
    if (!path) {
        fprintf(stderr, "s3_smoke: %s is not set\n", var);
        return NULL;
    }
    char *s = slurp(path, NULL);
    if (!s) {
        fprintf(stderr, "s3_smoke: cannot read %s ('%s'): %s\n", var, path, strerror(errno));
        return NULL;
    }
    s[strcspn(s, "\r\n")] = '\0';
    return s;
}

typedef struct fd_io {
    int fd;
} fd_io;

static sk_rc fd_source(void *ud, void *buf, size_t len, size_t *got, sk_err *err)
{
    fd_io *io = ud;
    ssize_t r;
    do
        r = read(io->fd, buf, len);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return sk_fail(err, SK_ERR_INTERNAL, errno, "read: %s", strerror(errno));
    *got = (size_t)r;
    return SK_OK;
}

static sk_rc fd_sink(void *ud, const void *buf, size_t len, sk_err *err)
{
    fd_io *io = ud;
    const char *p = buf;
    while (len) {
        ssize_t w = write(io->fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return sk_fail(err, SK_ERR_INTERNAL, errno, "write: %s", strerror(errno));
        p += w;
        len -= (size_t)w;
    }
    return SK_OK;
}

static int file_sha256(const char *path, char hex[SK_SHA256_HEX_LEN + 1], uint64_t *size, sk_err *err)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return sk_fail(err, SK_ERR_INTERNAL, errno, "open '%s': %s", path, strerror(errno));
    sk_sha256 h = {0};
    char buf[65536];
    ssize_t r;
    *size = 0;
    sk_rc rc = sk_sha256_init(&h, err);
    while (rc == SK_OK && (r = read(fd, buf, sizeof buf)) > 0) {
        rc = sk_sha256_update(&h, buf, (size_t)r, err);
        *size += (uint64_t)r;
    }
    if (rc == SK_OK)
        rc = sk_sha256_final(&h, NULL, hex, err);
    sk_sha256_free(&h);
    close(fd);
    return rc;
}

static int http_main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: s3_smoke OP BUCKET [KEY [FILE]]\n");
        return 2;
    }
    const char *op = argv[1], *bucket = argv[2], *key = argc > 3 ? argv[3] : NULL,
               *file = argc > 4 ? argv[4] : NULL;
    int needs_file = strncmp(op, "put", 3) == 0 || strcmp(op, "get") == 0 || strcmp(op, "range") == 0;
    int bucket_only = strcmp(op, "mkbucket") == 0 || strcmp(op, "uploads") == 0;
    if ((!bucket_only && !key) || (needs_file && !file)) {
        fprintf(stderr, "s3_smoke: %s needs %s\n", op, needs_file ? "KEY FILE" : "KEY");
        return 2;
    }

    curl_global_init(CURL_GLOBAL_DEFAULT);
    int status = 1;
    sk_err err;
    sk_err_clear(&err);
    char *ak = read_secret_file("S3_ACCESS_KEY_ID_FILE");
    char *sk = read_secret_file("S3_SECRET_ACCESS_KEY_FILE");
    char *body = NULL, *path = NULL;
    sk_http *h = NULL;
    sk_http_response resp = {0};
    fd_io io = {-1};
    if (!ak || !sk)
        goto out;
    sk_http_config cfg = {
        .endpoint = getenv("S3_ENDPOINT"),
        .region = getenv("S3_REGION") ? getenv("S3_REGION") : "us-east-1",
        .access_key_id = ak,
        .secret_access_key = sk,
        .ca_file = getenv("S3_CA_FILE"),
        .allow_http = 1,
    };
    h = sk_http_new(&cfg, &err);
    if (!h)
        goto fail;

    size_t plen = strlen(bucket) + (key ? strlen(key) : 0) + 3;
    path = malloc(plen);
    if (!path)
        goto out;
    snprintf(path, plen, "/%s%s%s", bucket, key ? "/" : "", key ? key : "");

    sk_http_request req = {.path = path};
    static const sk_sigv4_param uploads_q[] = {{"uploads", NULL}};
    char hash[SK_SHA256_HEX_LEN + 1], md5[25];
    sk_sigv4_header hdr[1];
    size_t blen = 0;
    if (strcmp(op, "mkbucket") == 0) {
        req.method = "PUT";
    } else if (strcmp(op, "put") == 0) {
        uint64_t size;
        if (file_sha256(file, hash, &size, &err) != SK_OK)
            goto fail;
        io.fd = open(file, O_RDONLY);
        if (io.fd < 0) {
            sk_fail(&err, SK_ERR_INTERNAL, errno, "open '%s': %s", file, strerror(errno));
            goto fail;
        }
        req.method = "PUT";
        req.source = fd_source;
        req.source_ud = &io;
        req.source_len = size;
        req.payload_hash = hash;
    } else if (strncmp(op, "put", 3) == 0) {
        body = slurp(file, &blen);
        if (!body) {
            sk_fail(&err, SK_ERR_INTERNAL, errno, "read '%s': %s", file, strerror(errno));
            goto fail;
        }
        req.method = "PUT";
        req.body = body;
        req.body_len = blen;
        if (strcmp(op, "putmem") == 0) {
            sk_content_md5(body, blen, md5);
            hdr[0] = (sk_sigv4_header){"Content-MD5", md5};
            req.headers = hdr;
            req.nheaders = 1;
        } else if (strcmp(op, "putunsigned") == 0) {
            req.payload_hash = SK_UNSIGNED_PAYLOAD;
        } else if (strcmp(op, "putbadhash") == 0) {
            sk_sha256_hex("another body", 12, hash);
            req.payload_hash = hash;
        } else {
            fprintf(stderr, "s3_smoke: unknown op '%s'\n", op);
            status = 2;
            goto out;
        }
    } else if (strcmp(op, "get") == 0 || strcmp(op, "range") == 0) {
        io.fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (io.fd < 0) {
            sk_fail(&err, SK_ERR_INTERNAL, errno, "open '%s': %s", file, strerror(errno));
            goto fail;
        }
        req.method = "GET";
        req.sink = fd_sink;
        req.sink_ud = &io;
        if (strcmp(op, "range") == 0) {
            hdr[0] = (sk_sigv4_header){"Range", "bytes=0-9"};
            req.headers = hdr;
            req.nheaders = 1;
        }
    } else if (strcmp(op, "uploads") == 0) {
        req.method = "GET";
        req.query = uploads_q;
        req.nquery = 1;
    } else if (strcmp(op, "head") == 0) {
        req.method = "HEAD";
    } else if (strcmp(op, "delete") == 0) {
        req.method = "DELETE";
    } else {
        fprintf(stderr, "s3_smoke: unknown op '%s'\n", op);
        status = 2;
        goto out;
    }

    if (sk_http_do(h, &req, &resp, &err) != SK_OK)
        goto fail;
    printf("status=%ld code=%s etag=%s length=%lld\n", resp.status, resp.code, resp.etag,
           (long long)resp.content_length);
    char what[600];
    snprintf(what, sizeof what, "S3 %s '%s'", req.method, path);
    if (sk_http_check(&resp, what, &err) != SK_OK) {
        printf("error: %s (%s)\n", err.msg, sk_rc_name(err.rc));
        status = 3;
    } else {
        status = 0;
        if (strcmp(op, "uploads") == 0) {
            /* count <Upload> elements of ListMultipartUploadsResult */
            int count = 0;
            for (const char *q = resp.body; q && (q = strstr(q, "<Upload>")); q += 8)
                count++;
            printf("uploads=%d\n", count);
        }
    }
    goto out;
fail:
    printf("error: %s (%s)\n", err.msg, sk_rc_name(err.rc));
    status = 1;
out:
    if (io.fd >= 0)
        close(io.fd);
    sk_http_response_free(&resp);
    sk_http_free(h);
    free(path);
    free(body);
    free(ak);
    if (sk) {
        explicit_bzero(sk, strlen(sk));
        free(sk);
    }
    curl_global_cleanup();
    return status;
}

/* ---- destination ops ---------------------------------------------------------------------- */

/* SIGTERM asks a dest-put-stdin to stop, like the agent's signal handling does. */
static volatile sig_atomic_t stop_requested;
static void on_term(int sig) { (void)sig; stop_requested = 1; }
static int is_cancelled(void *ud) { (void)ud; return stop_requested != 0; }

static const char *env_get(void *ud, const char *name)
{
    (void)ud;
    return getenv(name);
}

static void add_secret(void *ud, const char *value) { sk_log_add_secret(ud, value); }

static sk_rc print_obj(void *ud, const sk_object *o, sk_err *err)
{
    (void)err;
    size_t *count = ud;
    printf("%s\t%llu\t%lld\n", o->key, (unsigned long long)o->size, (long long)o->mtime);
    (*count)++;
    return SK_OK;
}

static int dest_main(int argc, char **argv)
{
    const char *op = argv[1];
    const sk_setting_def *const tables[] = { sk_s3_settings, NULL };
    sk_err err;
    sk_err_clear(&err);
    int status = 1;
    sk_config *cfg = NULL;
    void *st = NULL;
    sk_writer *w = NULL;
    char *data = NULL;
    sk_log *log = sk_log_new(stderr, 0);
    sk_runtime rt = { .log = log, .cancelled = is_cancelled };
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term; /* no SA_RESTART: a blocked read() returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    cfg = sk_config_load(tables, env_get, NULL, NULL, &err);
    if (!cfg)
        goto fail;
    sk_config_each_secret(cfg, add_secret, log);
    if (sk_dest_s3.open(cfg, 1, &rt, &st, &err) != SK_OK)
        goto fail;
    if (strcmp(op, "dest-put-stdin") == 0) {
        if (argc < 3 || sk_dest_s3.put(st, argv[2], &w, &err) != SK_OK)
            goto fail;
        data = malloc(1 << 20);
        if (!data)
            goto fail;
        ssize_t r;
        while ((r = read(0, data, 1 << 20)) != 0) {
            if (r < 0 && errno == EINTR && !stop_requested)
                continue;
            if (stop_requested) {
                sk_fail(&err, SK_ERR_CANCELLED, 0, "cancelled by SIGTERM");
                goto fail;
            }
            if (r < 0)
                break;
            if (sk_writer_write(w, data, (size_t)r, &err) != SK_OK)
                goto fail;
        }
        if (r < 0) {
            sk_fail(&err, SK_ERR_INTERNAL, errno, "read stdin: %s", strerror(errno));
            goto fail;
        }
        if (sk_writer_finish(w, &err) != SK_OK)
            goto fail;
        printf("stored %llu bytes\n", (unsigned long long)w->bytes);
    } else if (strcmp(op, "dest-put") == 0 || strcmp(op, "dest-put-abort") == 0 ||
               strcmp(op, "dest-put-maxparts") == 0) {
        if (argc < 4)
            goto usage;
        size_t len = 0;
        data = slurp(argv[3], &len);
        if (!data) {
            sk_fail(&err, SK_ERR_INTERNAL, errno, "read '%s': %s", argv[3], strerror(errno));
            goto fail;
        }
        int abort_it = strcmp(op, "dest-put-abort") == 0;
        size_t limit = len, chunk = 65536;
        if (strcmp(op, "dest-put-maxparts") == 0) {
            char *end;
            long mp = argc > 4 ? strtol(argv[4], &end, 10) : 0;
            if (mp < 1 || *end)
                goto usage;
            sk_s3_test_set_max_parts(st, (int)mp);
        } else if (argc > 4) {
            char *end;
            unsigned long long v = strtoull(argv[4], &end, 10);
            if (*end || (abort_it && v > len) || (!abort_it && v == 0))
                goto usage;
            if (abort_it)
                limit = (size_t)v;
            else
                chunk = (size_t)v;
        } else if (abort_it) {
            goto usage;
        }
        if (sk_dest_s3.put(st, argv[2], &w, &err) != SK_OK)
            goto fail;
        for (size_t off = 0; off < limit; off += chunk) {
            size_t n = limit - off < chunk ? limit - off : chunk;
            if (sk_writer_write(w, data + off, n, &err) != SK_OK)
                goto fail;
        }
        if (abort_it) {
            sk_writer_abort(w);
            printf("aborted after %zu bytes\n", limit);
        } else {
            if (sk_writer_finish(w, &err) != SK_OK)
                goto fail;
            printf("stored %zu bytes\n", len);
        }
    } else if (strcmp(op, "dest-get") == 0) {
        if (argc < 4)
            goto usage;
        int fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) {
            sk_fail(&err, SK_ERR_INTERNAL, errno, "open '%s': %s", argv[3], strerror(errno));
            goto fail;
        }
        w = sk_fd_writer_new(fd, argv[3], &err);
        sk_rc rc = w ? sk_dest_s3.get(st, argv[2], w, &err) : err.rc;
        if (rc == SK_OK)
            rc = sk_writer_finish(w, &err);
        close(fd);
        if (rc != SK_OK)
            goto fail;
        printf("got %llu bytes\n", (unsigned long long)w->bytes);
    } else if (strcmp(op, "dest-list") == 0) {
        size_t count = 0;
        if (sk_dest_s3.list(st, argc > 2 ? argv[2] : "", print_obj, &count, &err) != SK_OK)
            goto fail;
        printf("count=%zu\n", count);
    } else if (strcmp(op, "dest-fill") == 0) {
        char *end;
        long n = argc > 3 ? strtol(argv[3], &end, 10) : -1;
        if (n < 0 || *end)
            goto usage;
        for (long i = 0; i < n; i++) {
            char key[512], body[32];
            snprintf(key, sizeof key, "%s%05ld", argv[2], i);
            int bl = snprintf(body, sizeof body, "%ld\n", i);
            if (sk_dest_s3.put(st, key, &w, &err) != SK_OK || sk_writer_write(w, body, (size_t)bl, &err) != SK_OK ||
                sk_writer_finish(w, &err) != SK_OK)
                goto fail;
            sk_writer_free_chain(w);
            w = NULL;
        }
        printf("filled %ld\n", n);
    } else if (strcmp(op, "dest-rm") == 0) {
        if (argc < 3 || sk_dest_s3.remove(st, argv[2], &err) != SK_OK)
            goto fail;
        printf("removed\n");
    } else if (strcmp(op, "dest-rm-many") == 0) {
        if (sk_s3_remove_many(st, (const char *const *)argv + 2, (size_t)(argc - 2), &err) != SK_OK)
            goto fail;
        printf("removed %d\n", argc - 2);
    } else {
        goto usage;
    }
    status = 0;
    goto out;
usage:
    fprintf(stderr, "s3_smoke: bad arguments for %s\n", op);
    status = 2;
    goto out;
fail:
    printf("error: %s (%s)\n", err.msg, sk_rc_name(err.rc));
    status = err.rc == SK_ERR_NOTFOUND ? 4 : 1;
out:
    if (w) {
        if (!w->finished)
            sk_writer_abort(w);
        sk_writer_free_chain(w);
    }
    if (st)
        sk_dest_s3.close(st);
    sk_config_free(cfg);
    sk_log_free(log);
    free(data);
    return status;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strncmp(argv[1], "dest-", 5) == 0) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        int st = dest_main(argc, argv);
        curl_global_cleanup();
        return st;
    }
    return http_main(argc, argv);
}
