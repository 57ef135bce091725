/*
 * agent.h: `snapkeep run`, the container's long-running mode.
 *
 * Each job fires on its own SNAPKEEP_SCHEDULE (evaluated in the TZ environment variable's zone,
 * UTC by default), delayed by a random 0..SNAPKEEP_JITTER seconds, and optionally once at start
 * (SNAPKEEP_RUN_AT_START). Jobs run one at a time, each through sk_runner_backup, which holds the
 * job's lock: a `backup-now` started meanwhile (docker compose exec) waits for it, and a scheduled
 * run waits for a running `backup-now`. Fire times missed while a backup ran are skipped (the next
 * one is computed from the current time), never queued.
 *
 * A job with SNAPKEEP_DRILL_SCHEDULE also runs a restore drill (drill.h) at those times, under the
 * same lock and one at a time with everything else; at start, scratch targets of killed drills are
 * removed. A drill due at the same time as a backup runs after it.
 *
 * The process sleeps in clock_nanosleep until the next fire time (no polling). SIGTERM/SIGINT:
 * no new backup starts; a running backup gets SNAPKEEP_STOP_GRACE seconds to finish, after which it
 * is aborted cleanly (nothing partial left); then the agent exits 0.
 */
#ifndef SK_AGENT_H
#define SK_AGENT_H

#include "job.h"
#include "runner.h"
#include "schedule.h"

typedef struct sk_agent_job {
    const char *name;
    sk_job *job;
    sk_runner runner;
    sk_schedule *schedule;
    int run_at_start;
    int jitter_s;
    int64_t next;           /* next fire time (unix seconds) */
    sk_schedule *drill;     /* SNAPKEEP_DRILL_SCHEDULE (restore drills, drill.h), NULL when unset */
    int64_t next_drill;     /* its next fire time */
} sk_agent_job;

/* The runtime's cancel callback for `run`: true once a stop signal arrived AND the grace period
 * since it was first noticed has passed. `ud` is an sk_grace. */
typedef struct sk_grace {
    double grace_s;
    double first_seen;      /* monotonic time the signal was first noticed, 0 before */
    sk_log *log;
} sk_grace;
int sk_grace_cancelled(void *ud);

/* Parse each job's schedule (errors name the variable and job). */
sk_rc sk_agent_prepare(sk_agent_job *jobs, size_t n, sk_err *err);
/* Run until a stop signal. Returns SK_OK on a clean stop. */
sk_rc sk_agent_run(sk_agent_job *jobs, size_t n, const sk_runtime *rt, const sk_tz *tz, sk_err *err);

#endif
