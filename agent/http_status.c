#include "http_status.h"

#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "drill.h"
#include "state.h"

struct sk_http_status {
    int fd;
    pthread_t thread;
    sk_http_job *jobs;
    size_t n;
};

/* A growable text buffer. */
typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (t->s && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap * 2 : 1024;
        while (cap < t->len + (size_t)n + 1)
            cap *= 2;
        char *ns = realloc(t->s, cap);
        if (!ns)
            return;
        t->s = ns;
        t->cap = cap;
    }
}

char *sk_http_render(const char *path, const sk_http_job *jobs, size_t n, int64_t now, int *code)
{
    text t = { 0 };
    sk_err err;
    if (!strcmp(path, "/healthz")) {
        int worst = SK_HEALTH_OK;
        for (size_t i = 0; i < n; i++) {
            sk_status st;
            char why[1024];
            sk_err_clear(&err);
            sk_status_read(jobs[i].state_dir, jobs[i].job_id, &st, &err);
            int h = sk_health_eval(&st, now, jobs[i].warn_s, jobs[i].fail_s, why, sizeof why);
            sk_drill_record dr;
            sk_drill_policy dp = { jobs[i].drill_max_age_s, (sk_health)jobs[i].drill_level };
            char dwhy[1024];
            sk_drill_read(jobs[i].state_dir, jobs[i].job_id, &dr, &err);
            int dh = sk_drill_health(&dr, &dp, st.agent_started ? st.agent_started : st.last_attempt, now, dwhy,
                                     sizeof dwhy);
            if (dh > h)
                h = dh;
            if (h > worst)
                worst = h;
            add(&t, "%s %s: %s%s%s\n", h == SK_HEALTH_OK ? "ok" : h == SK_HEALTH_WARN ? "warn" : "fail", jobs[i].name,
                why, dwhy[0] ? "; " : "", dwhy);
        }
        *code = worst == SK_HEALTH_FAIL ? 503 : 200;
    } else if (!strcmp(path, "/metrics")) {
        static const char *metrics[][3] = {
            { "snapkeep_last_success_timestamp_seconds", "gauge", "Unix time of the last successful backup (0: never)" },
            { "snapkeep_last_attempt_timestamp_seconds", "gauge", "Unix time the last backup attempt started" },
            { "snapkeep_last_duration_seconds", "gauge", "Duration of the last backup attempt" },
            { "snapkeep_last_size_bytes", "gauge", "Stored size of the last successful backup" },
            { "snapkeep_successes_total", "counter", "Successful backups" },
            { "snapkeep_failures_total", "counter", "Failed backups" },
            { "snapkeep_healthy", "gauge", "1 when the last success is fresher than the fail threshold" },
            { "snapkeep_last_backup_suspect", "gauge", "1 when the guards flagged the last stored backup" },
            { "snapkeep_suspect_total", "counter", "Backups the guards flagged suspect" },
        };
        sk_status *st = calloc(n ? n : 1, sizeof *st);
        for (size_t i = 0; st && i < n; i++) {
            sk_err_clear(&err);
            sk_status_read(jobs[i].state_dir, jobs[i].job_id, &st[i], &err);
        }
        for (size_t m = 0; st && m < sizeof metrics / sizeof metrics[0]; m++) {
            add(&t, "# HELP %s %s\n# TYPE %s %s\n", metrics[m][0], metrics[m][2], metrics[m][0], metrics[m][1]);
            for (size_t i = 0; i < n; i++) {
                char why[1024];
                double v = m == 0 ? (double)st[i].last_success
                         : m == 1 ? (double)st[i].last_attempt
                         : m == 2 ? st[i].last_duration
                         : m == 3 ? (double)st[i].last_size
                         : m == 4 ? (double)st[i].successes
                         : m == 5 ? (double)st[i].failures
                         : m == 7 ? (double)st[i].last_suspect
                         : m == 8 ? (double)st[i].suspects
                                  : (double)(sk_health_eval(&st[i], now, jobs[i].warn_s, jobs[i].fail_s, why,
                                                            sizeof why) != SK_HEALTH_FAIL);
                add(&t, "%s{job=\"%s\"} %.17g\n", metrics[m][0], jobs[i].job_id, v);
            }
        }
        /* per destination: a job's copies can fail one by one (3-2-1) */
        static const char *copym[][3] = {
            { "snapkeep_destination_last_success_timestamp_seconds", "gauge",
              "Unix time the last copy committed in this destination (0: never)" },
            { "snapkeep_destination_last_failure_timestamp_seconds", "gauge",
              "Unix time the last copy failed in this destination (0: never)" },
            { "snapkeep_destination_successes_total", "counter", "Copies committed in this destination" },
            { "snapkeep_destination_failures_total", "counter", "Copies that failed in this destination" },
            { "snapkeep_destination_last_copy_ok", "gauge", "1 when the last copy to this destination committed" },
        };
        for (size_t m = 0; st && m < sizeof copym / sizeof copym[0]; m++) {
            add(&t, "# HELP %s %s\n# TYPE %s %s\n", copym[m][0], copym[m][2], copym[m][0], copym[m][1]);
            for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < st[i].ndests; k++) {
                    const struct sk_dest_status *d = &st[i].dests[k];
                    double v = m == 0 ? (double)d->last_success
                             : m == 1 ? (double)d->last_failure
                             : m == 2 ? (double)d->successes
                             : m == 3 ? (double)d->failures
                                      : (double)d->last_ok;
                    add(&t, "%s{job=\"%s\",destination=\"%s\"} %.17g\n", copym[m][0], jobs[i].job_id, d->label,
                        v);
                }
        }
        static const char *dmetrics[][3] = {
            { "snapkeep_drill_last_timestamp_seconds", "gauge", "Unix time the last restore drill finished (0: never)" },
            { "snapkeep_drill_last_pass_timestamp_seconds", "gauge", "Unix time of the last passed restore drill" },
            { "snapkeep_drill_last_ok", "gauge", "1 when the last restore drill passed" },
            { "snapkeep_drill_last_duration_seconds", "gauge", "Duration of the last restore drill" },
            { "snapkeep_drill_passes_total", "counter", "Restore drills that passed" },
            { "snapkeep_drill_failures_total", "counter", "Restore drills that failed" },
        };
        sk_drill_record *dr = calloc(n ? n : 1, sizeof *dr);
        for (size_t i = 0; dr && i < n; i++) {
            sk_err_clear(&err);
            sk_drill_read(jobs[i].state_dir, jobs[i].job_id, &dr[i], &err);
        }
        for (size_t m = 0; dr && m < sizeof dmetrics / sizeof dmetrics[0]; m++) {
            add(&t, "# HELP %s %s\n# TYPE %s %s\n", dmetrics[m][0], dmetrics[m][2], dmetrics[m][0], dmetrics[m][1]);
            for (size_t i = 0; i < n; i++) {
                double v = m == 0 ? (double)dr[i].last_run
                         : m == 1 ? (double)dr[i].last_pass
                         : m == 2 ? (double)dr[i].last_ok
                         : m == 3 ? dr[i].last_duration
                         : m == 4 ? (double)dr[i].passes
                                  : (double)dr[i].failures;
                add(&t, "%s{job=\"%s\"} %.17g\n", dmetrics[m][0], jobs[i].job_id, v);
            }
        }
        free(dr);
        free(st);
        *code = 200;
    } else {
        add(&t, "not found: try /healthz or /metrics\n");
        *code = 404;
    }
    return t.s ? t.s : strdup("");
}

static void serve(sk_http_status *h, int c)
{
    char req[2048];
    size_t len = 0;
    struct timeval tv = { 5, 0 };
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (len < sizeof req - 1) {
        ssize_t r = recv(c, req + len, sizeof req - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[len] = '\0';
    char method[8] = "", path[256] = "";
    if (sscanf(req, "%7s %255s", method, path) != 2)
        return;
    char *q = strchr(path, '?');
    if (q)
        *q = '\0';
    int code;
    char *body = strcmp(method, "GET") && strcmp(method, "HEAD")
                     ? (code = 405, strdup("method not allowed\n"))
                     : sk_http_render(path, h->jobs, h->n, (int64_t)time(NULL), &code);
    if (!body)
        return;
    char head[256];
    int hn = snprintf(head, sizeof head,
                      "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", code,
                      code == 200 ? "OK" : code == 503 ? "Service Unavailable" : code == 404 ? "Not Found" : "Error",
                      strcmp(path, "/metrics") ? "text/plain; charset=utf-8" : "text/plain; version=0.0.4",
                      strlen(body));
    send(c, head, (size_t)hn, MSG_NOSIGNAL);
    if (strcmp(method, "HEAD"))
        send(c, body, strlen(body), MSG_NOSIGNAL);
    free(body);
}

static void *accept_loop(void *arg)
{
    sk_http_status *h = arg;
    for (;;) {
        int c = accept(h->fd, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break; /* the socket was shut down: stop */
        }
        serve(h, c);
        close(c);
    }
    return NULL;
}

sk_http_status *sk_http_status_start(const char *addr, const sk_http_job *jobs, size_t n, sk_err *err)
{
    char host[256] = "", port[16] = "";
    const char *colon = strrchr(addr, ':');
    if (!colon || !colon[1] || (size_t)(colon - addr) >= sizeof host || strlen(colon + 1) >= sizeof port) {
        sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_HTTP_LISTEN='%s' is not host:port or :port", addr);
        return NULL;
    }
    memcpy(host, addr, (size_t)(colon - addr));
    snprintf(port, sizeof port, "%s", colon + 1);
    if (host[0] == '[') { /* [::1]:9090 */
        memmove(host, host + 1, strlen(host));
        host[strcspn(host, "]")] = '\0';
    }
    struct addrinfo hints = { 0 }, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
    if (gai != 0) {
        sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_HTTP_LISTEN='%s': %s", addr, gai_strerror(gai));
        return NULL;
    }
    sk_http_status *h = calloc(1, sizeof *h);
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0), one = 1;
    if (h && fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (!h || fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 16) != 0) {
        sk_fail(err, SK_ERR_CONFIG, errno, "SNAPKEEP_HTTP_LISTEN='%s': cannot listen: %s", addr, strerror(errno));
        freeaddrinfo(ai);
        if (fd >= 0)
            close(fd);
        free(h);
        return NULL;
    }
    freeaddrinfo(ai);
    h->fd = fd;
    h->jobs = calloc(n ? n : 1, sizeof *jobs);
    if (h->jobs)
        memcpy(h->jobs, jobs, n * sizeof *jobs);
    h->n = n;
    if (!h->jobs || pthread_create(&h->thread, NULL, accept_loop, h) != 0) {
        sk_fail(err, SK_ERR_INTERNAL, errno, "cannot start the HTTP thread");
        close(fd);
        free(h->jobs);
        free(h);
        return NULL;
    }
    return h;
}

void sk_http_status_stop(sk_http_status *h)
{
    if (!h)
        return;
    shutdown(h->fd, SHUT_RDWR); /* wakes accept() */
    pthread_join(h->thread, NULL);
    close(h->fd);
    free(h->jobs);
    free(h);
}
