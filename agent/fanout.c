#include "fanout.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* One piece of the stream, shared by every branch it was queued on (and the producer while it
 * queues it); freed by the last to let go. Counted under the stage's mutex. */
typedef struct chunk {
    int refs;
    size_t len;
    unsigned char data[];
} chunk;

typedef struct fanout fanout;

typedef struct branch {
    fanout *f;
    sk_writer *sink;
    pthread_t thread;
    pthread_cond_t wake;        /* data queued, or eof/stop set */
    chunk *q[SK_FANOUT_QUEUE];
    size_t head, count;
    int eof, stop;              /* finish / abort requested */
    int failed, aborted;        /* the sink failed (takes no more data); it was aborted */
    int done, committed;
    sk_err err;
} branch;

struct fanout {
    sk_writer base;
    pthread_mutex_t mu;
    pthread_cond_t space;       /* a queue slot freed, or a branch failed or ended */
    branch *b;
    size_t n, started;
    int joined;
};

static void release(chunk *c)
{
    if (--c->refs == 0)
        free(c);
}

static void *branch_main(void *arg)
{
    branch *b = arg;
    fanout *f = b->f;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (!b->count && !b->eof && !b->stop)
            pthread_cond_wait(&b->wake, &f->mu);
        if (b->stop || !b->count)
            break;
        chunk *c = b->q[b->head];
        b->head = (b->head + 1) % SK_FANOUT_QUEUE;
        b->count--;
        int skip = b->failed;
        pthread_mutex_unlock(&f->mu);
        sk_err e;
        sk_err_clear(&e);
        sk_rc rc = skip ? SK_OK : sk_writer_write(b->sink, c->data, c->len, &e);
        if (rc != SK_OK)
            sk_writer_abort(b->sink); /* at once: the partial object goes while the others go on */
        pthread_mutex_lock(&f->mu);
        if (rc != SK_OK) {
            b->failed = b->aborted = 1;
            b->err = e;
        }
        release(c);
        pthread_cond_broadcast(&f->space);
    }
    while (b->count) { /* stopped: drop what is queued */
        release(b->q[b->head]);
        b->head = (b->head + 1) % SK_FANOUT_QUEUE;
        b->count--;
    }
    int finish = !b->stop && !b->failed;
    pthread_mutex_unlock(&f->mu);

    sk_err e;
    sk_err_clear(&e);
    int committed = finish && sk_writer_finish(b->sink, &e) == SK_OK;
    int aborted = 0;
    if (!committed && !b->aborted) {
        sk_writer_abort(b->sink);
        aborted = 1;
    }
    pthread_mutex_lock(&f->mu);
    b->committed = committed;
    b->aborted |= aborted;
    if (!committed && !b->failed) {
        b->failed = 1;
        if (finish)
            b->err = e;
        else
            sk_fail(&b->err, SK_ERR_CANCELLED, 0, "aborted before the copy was complete");
    }
    b->done = 1;
    pthread_cond_broadcast(&f->space);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static sk_rc fo_write(sk_writer *w, const void *buf, size_t len, sk_err *err)
{
    fanout *f = (fanout *)w;
    const unsigned char *p = buf;
    while (len) {
        size_t n = len < SK_FANOUT_CHUNK ? len : SK_FANOUT_CHUNK;
        chunk *c = malloc(sizeof *c + n);
        if (!c)
            return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        memcpy(c->data, p, n);
        c->len = n;
        c->refs = 1; /* ours, while it is being queued */
        size_t live = 0;
        pthread_mutex_lock(&f->mu);
        for (size_t i = 0; i < f->n; i++) {
            branch *b = &f->b[i];
            while (!b->failed && !b->done && b->count == SK_FANOUT_QUEUE)
                pthread_cond_wait(&f->space, &f->mu); /* back-pressure from the slowest branch */
            if (b->failed || b->done)
                continue;
            b->q[(b->head + b->count) % SK_FANOUT_QUEUE] = c;
            b->count++;
            c->refs++;
            live++;
            pthread_cond_signal(&b->wake);
        }
        release(c);
        if (!live) {
            sk_err first = f->b[0].err;
            pthread_mutex_unlock(&f->mu);
            if (first.rc == SK_OK)
                return sk_fail(err, SK_ERR_DEST, 0, "every destination failed");
            *err = first;
            return first.rc;
        }
        pthread_mutex_unlock(&f->mu);
        p += n;
        len -= n;
    }
    return SK_OK;
}

/* Tell every branch to finish (stop = 0) or to abort (stop = 1), and wait for all of them. */
static void end_all(fanout *f, int stop)
{
    if (f->joined)
        return;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->started; i++) {
        if (stop)
            f->b[i].stop = 1;
        else
            f->b[i].eof = 1;
        pthread_cond_signal(&f->b[i].wake);
    }
    pthread_mutex_unlock(&f->mu);
    for (size_t i = 0; i < f->started; i++)
        pthread_join(f->b[i].thread, NULL);
    f->joined = 1;
}

static sk_rc fo_finish(sk_writer *w, sk_err *err)
{
    fanout *f = (fanout *)w;
    end_all(f, 0);
    for (size_t i = 0; i < f->n; i++)
        if (f->b[i].committed)
            return SK_OK;
    *err = f->b[0].err;
    if (err->rc == SK_OK)
        return sk_fail(err, SK_ERR_DEST, 0, "no destination took the copy");
    return err->rc;
}

static void fo_abort(sk_writer *w) { end_all((fanout *)w, 1); }

static void fo_destroy(sk_writer *w)
{
    fanout *f = (fanout *)w;
    if (!f)
        return;
    end_all(f, 1);
    for (size_t i = 0; i < f->n; i++) {
        sk_writer_free_chain(f->b[i].sink);
        if (i < f->started)
            pthread_cond_destroy(&f->b[i].wake);
    }
    pthread_cond_destroy(&f->space);
    pthread_mutex_destroy(&f->mu);
    free(f->b);
    free(f);
}

static const sk_writer_type fanout_type = { "fanout", fo_write, fo_finish, fo_abort, fo_destroy };

sk_writer *sk_fanout_new(sk_writer *const *sinks, size_t n, sk_err *err)
{
    fanout *f = calloc(1, sizeof *f);
    branch *b = n ? calloc(n, sizeof *b) : NULL;
    if (!f || !b) {
        free(f);
        free(b);
        for (size_t i = 0; i < n; i++) {
            sk_writer_abort(sinks[i]);
            sk_writer_free_chain(sinks[i]);
        }
        sk_fail(err, n ? SK_ERR_INTERNAL : SK_ERR_DEST, n ? ENOMEM : 0, n ? "out of memory" : "no destination");
        return NULL;
    }
    sk_writer_init(&f->base, &fanout_type, NULL);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->space, NULL);
    f->b = b;
    f->n = n;
    for (size_t i = 0; i < n; i++) {
        b[i].f = f;
        b[i].sink = sinks[i];
        sk_err_clear(&b[i].err);
    }
    for (size_t i = 0; i < n; i++) {
        pthread_cond_init(&b[i].wake, NULL);
        int e = pthread_create(&b[i].thread, NULL, branch_main, &b[i]);
        if (e != 0) {
            pthread_cond_destroy(&b[i].wake);
            for (size_t k = i; k < n; k++)
                sk_writer_abort(sinks[k]);
            fo_destroy(&f->base); /* aborts the started ones, frees every sink */
            sk_fail(err, SK_ERR_INTERNAL, e, "cannot start a destination thread: %s", strerror(e));
            return NULL;
        }
        f->started = i + 1;
    }
    return &f->base;
}

int sk_fanout_branch(const sk_writer *w, size_t i, sk_err *why)
{
    const fanout *f = (const fanout *)w;
    if (i >= f->n)
        return 0;
    if (!f->b[i].committed && why)
        *why = f->b[i].err;
    return f->b[i].committed;
}
