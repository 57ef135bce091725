#include "notify.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "runtime.h"

typedef struct item {
    struct item *next;
    char event[16];
    char *url;
    char *body;
} item;

struct sk_notifier {
    sk_log *log;
    char *url_all, *url_start, *url_success, *url_failure;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    item *head, *tail;
    int stopping, busy;
    double deadline;   /* monotonic time after which the worker gives up (set by free) */
};

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
    (void)p, (void)ud;
    return s * n;
}

static double get_deadline(sk_notifier *n)
{
    pthread_mutex_lock(&n->mu);
    double d = n->deadline;
    pthread_mutex_unlock(&n->mu);
    return d;
}

/* One POST; returns the HTTP status (0 for a transport error). */
static long post(const char *url, const char *body, long timeout_s, char *errbuf)
{
    CURL *c = curl_easy_init();
    if (!c)
        return 0;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "User-Agent: snapkeep");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    errbuf[0] = '\0';
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

static void deliver(sk_notifier *n, item *it)
{
    char errbuf[CURL_ERROR_SIZE];
    long status = 0;
    for (int attempt = 1; attempt <= 4; attempt++) {
        /* once shutting down, every attempt must fit before the deadline */
        double dl = get_deadline(n);
        long timeout = 10;
        if (dl > 0) {
            double left = dl - sk_monotonic();
            if (left < 1)
                break;
            if (left < timeout)
                timeout = (long)left;
        }
        status = post(it->url, it->body, timeout, errbuf);
        if (status >= 200 && status < 300)
            return;
        dl = get_deadline(n);
        if (attempt == 4 || (dl > 0 && sk_monotonic() + (1 << (attempt - 1)) > dl))
            break;
        struct timespec ts = { 1 << (attempt - 1), 0 };
        nanosleep(&ts, NULL);
    }
    /* errbuf can hold the URL (with its token): report the status only */
    sk_log_msg(n->log, SK_LOG_WARN, "webhook for '%s' was not delivered (%s %ld); the backup itself is unaffected",
               it->event, status ? "last HTTP status" : "connection failed, status", status);
}

static void *worker(void *arg)
{
    sk_notifier *n = arg;
    pthread_mutex_lock(&n->mu);
    for (;;) {
        while (!n->head && !n->stopping)
            pthread_cond_wait(&n->cv, &n->mu);
        if (!n->head)
            break;
        item *it = n->head;
        n->head = it->next;
        if (!n->head)
            n->tail = NULL;
        n->busy = 1;
        pthread_mutex_unlock(&n->mu);
        double dl = get_deadline(n);
        if (dl == 0 || sk_monotonic() < dl)
            deliver(n, it);
        else
            sk_log_msg(n->log, SK_LOG_WARN, "webhook for '%s' dropped: shutting down", it->event);
        free(it->body);
        free(it);
        pthread_mutex_lock(&n->mu);
        n->busy = 0;
        pthread_cond_broadcast(&n->cv);
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

static char *dup_or_null(const sk_config *cfg, const char *name)
{
    const char *v = sk_config_str(cfg, name);
    return v ? strdup(v) : NULL;
}

sk_notifier *sk_notifier_new(const sk_config *cfg, sk_log *log, sk_err *err)
{
    if (!sk_config_str(cfg, "SNAPKEEP_WEBHOOK_URL") && !sk_config_str(cfg, "SNAPKEEP_WEBHOOK_START_URL") &&
        !sk_config_str(cfg, "SNAPKEEP_WEBHOOK_SUCCESS_URL") && !sk_config_str(cfg, "SNAPKEEP_WEBHOOK_FAILURE_URL"))
        return NULL;
    sk_notifier *n = calloc(1, sizeof *n);
    if (!n) {
        sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        return NULL;
    }
    n->log = log;
    n->url_all = dup_or_null(cfg, "SNAPKEEP_WEBHOOK_URL");
    n->url_start = dup_or_null(cfg, "SNAPKEEP_WEBHOOK_START_URL");
    n->url_success = dup_or_null(cfg, "SNAPKEEP_WEBHOOK_SUCCESS_URL");
    n->url_failure = dup_or_null(cfg, "SNAPKEEP_WEBHOOK_FAILURE_URL");
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    if (pthread_create(&n->thread, NULL, worker, n) != 0) {
        sk_fail(err, SK_ERR_INTERNAL, errno, "cannot start the webhook thread");
        free(n);
        return NULL;
    }
    return n;
}

static void enqueue(sk_notifier *n, const char *event, const char *url, const char *body)
{
    item *it = calloc(1, sizeof *it);
    if (!it || !(it->body = strdup(body))) {
        free(it);
        return;
    }
    snprintf(it->event, sizeof it->event, "%s", event);
    it->url = (char *)url;
    pthread_mutex_lock(&n->mu);
    if (n->tail)
        n->tail->next = it;
    else
        n->head = it;
    n->tail = it;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

void sk_notify(sk_notifier *n, const char *event, const char *body)
{
    if (!n)
        return;
    const char *specific = !strcmp(event, "start") ? n->url_start
                           : !strcmp(event, "success") ? n->url_success
                                                       : n->url_failure; /* failure, suspect: alerts */
    if (specific)
        enqueue(n, event, specific, body);
    if (n->url_all && (!specific || strcmp(specific, n->url_all) != 0))
        enqueue(n, event, n->url_all, body);
}

void sk_notify_drill(sk_notifier *n, int ok, const char *body)
{
    if (!n)
        return;
    if (!ok && n->url_failure)
        enqueue(n, "drill", n->url_failure, body);
    if (n->url_all && (ok || !n->url_failure || strcmp(n->url_failure, n->url_all) != 0))
        enqueue(n, "drill", n->url_all, body);
}

static void scrub_free(char *s)
{
    if (s)
        memset(s, 0, strlen(s));
    free(s);
}

void sk_notifier_free(sk_notifier *n, double wait_s)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    n->deadline = sk_monotonic() + wait_s;
    n->stopping = 1;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    pthread_join(n->thread, NULL);
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cv);
    scrub_free(n->url_all);
    scrub_free(n->url_start);
    scrub_free(n->url_success);
    scrub_free(n->url_failure);
    free(n);
}
