/*
 * jobs.h: the jobs one snapkeep process works on.
 *
 * From the environment (one job) or from SNAPKEEP_CONFIG (a libconfig file of jobs). An engine
 * with an expand hook (engine.h) may turn one job into several: a postgres job with
 * SNAPKEEP_PG_DATABASES and/or SNAPKEEP_PG_GLOBALS becomes one job per database (named "<db>", or
 * "<job>/<db>" from a file) plus one for the roles ("globals"), each storing its own artifact with
 * its own lock and status. Every secret of every job is registered with the log for
 * redaction before any job is opened.
 */
#ifndef SK_JOBS_H
#define SK_JOBS_H

#include "agent.h"
#include "config_file.h"

typedef struct sk_jobs sk_jobs;
struct sk_jobs {
    sk_job_configs cfgs;     /* from SNAPKEEP_CONFIG */
    sk_config *env_cfg;      /* single-job mode */
    sk_config **derived;     /* the jobs' configurations, after expansion (owned) */
    char **derived_names;
    size_t nderived;
    sk_agent_job *v;         /* the opened jobs */
    size_t n;
};

/* Load and open every job; `environ_names` for the unknown SNAPKEEP_* check. On failure the
 * jobs opened so far stay in *j for sk_jobs_free. */
sk_rc sk_jobs_load(sk_jobs *j, const sk_runtime *rt, char *const *environ_names, sk_err *err);
void sk_jobs_free(sk_jobs *j);
/* The job named `name`; with NULL, the only job (SK_ERR_USAGE listing the names when several). */
sk_agent_job *sk_jobs_pick(sk_jobs *j, const char *name, sk_err *err);

#endif
