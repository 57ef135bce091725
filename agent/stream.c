#include "stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void sk_writer_init(sk_writer *w, const sk_writer_type *type, sk_writer *next)
{
    w->type = type;
    w->next = next;
    w->bytes = 0;
    w->failed = SK_OK;
    w->finished = 0;
}

sk_rc sk_writer_write(sk_writer *w, const void *buf, size_t len, sk_err *err)
{
    if (w->failed != SK_OK)
        return sk_fail(err, w->failed, 0, "%s: write after an earlier failure", w->type->name);
    if (w->finished)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "%s: write after finish", w->type->name);
    if (len == 0)
        return SK_OK;
    sk_rc rc = w->type->write(w, buf, len, err);
    if (rc != SK_OK) {
        w->failed = rc;
        return rc;
    }
    w->bytes += len;
    return SK_OK;
}

sk_rc sk_writer_finish(sk_writer *w, sk_err *err)
{
    if (w->failed != SK_OK)
        return sk_fail(err, w->failed, 0, "%s: finish after an earlier failure", w->type->name);
    if (w->finished)
        return SK_OK;
    sk_rc rc = w->type->finish(w, err);
    if (rc != SK_OK) {
        w->failed = rc;
        return rc;
    }
    w->finished = 1;
    return SK_OK;
}

void sk_writer_abort(sk_writer *w)
{
    if (!w)
        return;
    if (w->failed == SK_OK)
        w->failed = SK_ERR_CANCELLED;
    w->type->abort(w);
}

void sk_writer_free_chain(sk_writer *head)
{
    while (head) {
        sk_writer *next = head->next;
        head->type->destroy(head);
        head = next;
    }
}

/* ---- fd sink ------------------------------------------------------------------------------ */

typedef struct fd_writer {
    sk_writer base;
    int fd;
    char label[256];
} fd_writer;

sk_rc sk_write_all(int fd, const void *buf, size_t len, const char *label, sk_rc rc, sk_err *err)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return sk_fail(err, rc, errno, "write '%s': %s", label, strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
    return SK_OK;
}

static sk_rc fd_write(sk_writer *w, const void *buf, size_t len, sk_err *err)
{
    fd_writer *f = (fd_writer *)w;
    return sk_write_all(f->fd, buf, len, f->label, SK_ERR_DEST, err);
}

static sk_rc fd_finish(sk_writer *w, sk_err *err)
{
    fd_writer *f = (fd_writer *)w;
    struct stat st;
    /* fsync only what can be synced: pipes and terminals reject it */
    if (fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode) && fsync(f->fd) != 0)
        return sk_fail(err, SK_ERR_DEST, errno, "fsync '%s': %s", f->label, strerror(errno));
    return SK_OK;
}

static void fd_abort(sk_writer *w) { (void)w; }
static void fd_destroy(sk_writer *w) { free(w); }

static const sk_writer_type fd_writer_type = { "file", fd_write, fd_finish, fd_abort, fd_destroy };

sk_writer *sk_fd_writer_new(int fd, const char *label, sk_err *err)
{
    fd_writer *f = calloc(1, sizeof *f);
    if (!f) {
        sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        return NULL;
    }
    sk_writer_init(&f->base, &fd_writer_type, NULL);
    f->fd = fd;
    snprintf(f->label, sizeof f->label, "%s", label ? label : "output");
    return &f->base;
}

/* ---- null sink ---------------------------------------------------------------------------- */

static sk_rc null_write(sk_writer *w, const void *buf, size_t len, sk_err *err)
{
    (void)w, (void)buf, (void)len, (void)err;
    return SK_OK;
}
static sk_rc null_finish(sk_writer *w, sk_err *err)
{
    (void)w, (void)err;
    return SK_OK;
}
static const sk_writer_type null_writer_type = { "null", null_write, null_finish, fd_abort, fd_destroy };

sk_writer *sk_null_writer_new(sk_err *err)
{
    sk_writer *w = calloc(1, sizeof *w);
    if (!w) {
        sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        return NULL;
    }
    sk_writer_init(w, &null_writer_type, NULL);
    return w;
}

/* ---- memory sink -------------------------------------------------------------------------- */

typedef struct mem_writer {
    sk_writer base;
    char *buf;
    size_t len, cap, limit;
} mem_writer;

static sk_rc mem_write(sk_writer *w, const void *buf, size_t len, sk_err *err)
{
    mem_writer *m = (mem_writer *)w;
    if (m->len + len > m->limit)
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "object larger than the expected %zu bytes", m->limit);
    if (m->len + len + 1 > m->cap) {
        size_t cap = m->cap ? m->cap : 256;
        while (cap < m->len + len + 1)
            cap *= 2;
        char *nb = realloc(m->buf, cap);
        if (!nb)
            return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        m->buf = nb;
        m->cap = cap;
    }
    memcpy(m->buf + m->len, buf, len);
    m->len += len;
    m->buf[m->len] = '\0';
    return SK_OK;
}

static void mem_destroy(sk_writer *w)
{
    free(((mem_writer *)w)->buf);
    free(w);
}

static const sk_writer_type mem_writer_type = { "memory", mem_write, null_finish, fd_abort, mem_destroy };

sk_writer *sk_mem_writer_new(size_t limit, sk_err *err)
{
    mem_writer *m = calloc(1, sizeof *m);
    if (!m) {
        sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        return NULL;
    }
    sk_writer_init(&m->base, &mem_writer_type, NULL);
    m->limit = limit;
    return &m->base;
}

const char *sk_mem_writer_data(const sk_writer *w, size_t *len)
{
    const mem_writer *m = (const mem_writer *)w;
    if (len)
        *len = m->len;
    return m->buf ? m->buf : "";
}

/* ---- helpers ------------------------------------------------------------------------------ */

sk_rc sk_copy_fd(int fd, const char *label, sk_writer *w, size_t chunk,
                 int (*cancelled)(void *), void *cancel_ud, sk_err *err)
{
    char *buf = malloc(chunk);
    sk_rc rc = SK_OK;
    if (!buf)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    for (;;) {
        if (cancelled && cancelled(cancel_ud)) {
            rc = sk_fail(err, SK_ERR_CANCELLED, 0, "cancelled by signal");
            break;
        }
        ssize_t n = read(fd, buf, chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = sk_fail(err, SK_ERR_SOURCE, errno, "read '%s': %s", label, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        rc = sk_writer_write(w, buf, (size_t)n, err);
        if (rc != SK_OK)
            break;
    }
    free(buf);
    return rc;
}
