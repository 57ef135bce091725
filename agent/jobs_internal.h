/*
 * jobs_internal.h: hooks into jobs.c for tests and the fuzz harnesses (tests/fuzz/).
 * Not part of the module's contract (jobs.h).
 */
#ifndef SK_JOBS_INTERNAL_H
#define SK_JOBS_INTERNAL_H

#include "jobs.h"

/* Turn one job's configuration into the jobs it stands for (one per SNAPKEEP_PG_DATABASES entry,
 * plus "globals"; other jobs as they are), appended to j->derived / j->derived_names without
 * opening them. `base`: the job's name in a config file, NULL in single-job mode.
 * Free with sk_jobs_free. */
sk_rc sk_jobs_expand(sk_jobs *j, const sk_config *cfg, const char *base, sk_err *err);

#endif
