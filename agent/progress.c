#include "progress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct progress_writer {
    sk_writer base;
    sk_log *log;
    double interval, start, last;
    const char *own_label, *peer_label;
    const sk_writer *peer;
    uint64_t total, step_done, step_total;
    char item[256];
    char phase[32];
} progress_writer;

static const sk_writer_type progress_type;

static double coarse_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void maybe_report(progress_writer *p, uint64_t pending)
{
    if (p->interval <= 0)
        return;
    double now = coarse_now();
    if (now - p->last < p->interval)
        return;
    p->last = now;
    sk_log_progress_fields f = { 0 };
    f.own_label = p->own_label;
    f.own = p->base.bytes + pending;
    f.peer_label = p->peer ? p->peer_label : NULL;
    f.peer = p->peer ? p->peer->bytes : 0;
    f.seconds = now - p->start;
    f.total = p->total;
    f.item = p->item[0] ? p->item : NULL;
    f.phase = p->phase[0] ? p->phase : NULL;
    f.percent = -1;
    if (p->phase[0] && p->step_total)
        f.percent = 100.0 * (double)p->step_done / (double)p->step_total;
    else if (p->total)
        f.percent = 100.0 * (double)f.own / (double)p->total;
    if (f.percent > 100)
        f.percent = 100;
    sk_log_progress(p->log, &f);
}

static sk_rc progress_write(sk_writer *w, const void *buf, size_t len, sk_err *err)
{
    progress_writer *p = (progress_writer *)w;
    sk_rc rc = sk_writer_write(w->next, buf, len, err);
    if (rc == SK_OK)
        maybe_report(p, len); /* base.bytes is updated after we return */
    return rc;
}

static sk_rc progress_finish(sk_writer *w, sk_err *err) { return sk_writer_finish(w->next, err); }
static void progress_abort(sk_writer *w) { sk_writer_abort(w->next); }
static void progress_destroy(sk_writer *w) { free(w); }

static const sk_writer_type progress_type = { "progress", progress_write, progress_finish, progress_abort,
                                              progress_destroy };

sk_writer *sk_progress_writer_new(sk_writer *next, sk_log *log, double interval_s, const char *own_label,
                                  const sk_writer *peer, const char *peer_label, sk_err *err)
{
    progress_writer *p = calloc(1, sizeof *p);
    if (!p) {
        sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        return NULL;
    }
    sk_writer_init(&p->base, &progress_type, next);
    p->log = log;
    p->interval = log ? interval_s : 0;
    p->start = p->last = coarse_now();
    p->own_label = own_label;
    p->peer = peer;
    p->peer_label = peer_label;
    return &p->base;
}

static progress_writer *find(sk_writer *w)
{
    for (; w; w = w->next)
        if (w->type == &progress_type)
            return (progress_writer *)w;
    return NULL;
}

void sk_progress_item(sk_writer *chain, const char *item)
{
    progress_writer *p = find(chain);
    if (!p)
        return;
    size_t n = item ? strlen(item) : 0;
    if (n >= sizeof p->item) /* shown shortened, never silently: the ellipsis says so */
        snprintf(p->item, sizeof p->item, "%.*s...", (int)sizeof p->item - 4, item);
    else
        snprintf(p->item, sizeof p->item, "%s", item ? item : "");
}

void sk_progress_total(sk_writer *chain, uint64_t total)
{
    progress_writer *p = find(chain);
    if (p)
        p->total = total;
}

void sk_progress_step(sk_writer *chain, const char *phase, uint64_t done, uint64_t total)
{
    progress_writer *p = find(chain);
    if (!p)
        return;
    snprintf(p->phase, sizeof p->phase, "%s", phase ? phase : "");
    p->step_done = done;
    p->step_total = total;
    if (phase)
        maybe_report(p, 0);
}
