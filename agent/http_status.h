/*
 * http_status.h: the agent's optional HTTP listener (SNAPKEEP_HTTP_LISTEN).
 *   GET /healthz  200 "ok ..." when every job is fresh (or only warns), 503 with the reason otherwise
 *   GET /metrics  Prometheus text: per job last success timestamp, duration, size, totals, and the
 *                 restore drills' (snapkeep_drill_*)
 * It runs in its own thread and only reads the status files, so a slow backup never blocks it.
 */
#ifndef SK_HTTP_STATUS_H
#define SK_HTTP_STATUS_H

#include <stdint.h>

#include "err.h"

typedef struct sk_http_job {
    char state_dir[4096];
    char job_id[256];
    char name[256];
    int64_t warn_s, fail_s;
    int64_t drill_max_age_s;  /* restore drills (drill.h): SNAPKEEP_DRILL_MAX_AGE in seconds */
    int drill_level;          /* what a failed or stale drill makes /healthz say (an sk_health) */
} sk_http_job;

typedef struct sk_http_status sk_http_status;

/* addr: "host:port" or ":port" (all interfaces). */
sk_http_status *sk_http_status_start(const char *addr, const sk_http_job *jobs, size_t n, sk_err *err);
void sk_http_status_stop(sk_http_status *h);

/* The bodies, for tests and `snapkeep status`: malloc'd text; *code gets the HTTP status. */
char *sk_http_render(const char *path, const sk_http_job *jobs, size_t n, int64_t now, int *code);

#endif
