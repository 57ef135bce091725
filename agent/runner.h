/*
 * runner.h: one backup run as the agent and `backup-now` do it:
 *   take the job lock (waiting for a running backup of the same job) -> status "running" ->
 *   webhook "start" -> backup -> status success/failure -> on success only, retention (with
 *   retention off, still the cleanup of this job's marked orphans) ->
 *   webhook "success"/"failure" -> release the lock.
 * A backup that fails on a transient source error (SK_ERR_SOURCE with err->retryable: the database
 * restarting, refusing connections, out of connection slots; PocketBase unreachable or 5xx) is
 * tried again with backoff for up to SNAPKEEP_RETRY_WINDOW seconds, each retry logged.
 * Every backup of a job, scheduled or manual, goes through here, so two never overlap.
 */
#ifndef SK_RUNNER_H
#define SK_RUNNER_H

#include <limits.h>

#include "job.h"
#include "notify.h"
#include "retention.h"
#include "state.h"

typedef struct sk_runner {
    char state_dir[PATH_MAX];
    char job_id[256];
    int lock_wait;
    int retry_window;         /* seconds; 0: no retry */
    sk_retention_policy policy;
    sk_notifier *notifier;    /* may be NULL; not owned */
} sk_runner;

sk_rc sk_runner_init(sk_runner *r, sk_job *job, sk_notifier *notifier, sk_err *err);
sk_rc sk_runner_backup(sk_runner *r, sk_job *job, const sk_runtime *rt, sk_backup_result *res, sk_err *err);
/* Retention on demand (`snapkeep prune`), under the job lock. */
sk_rc sk_runner_prune(sk_runner *r, sk_job *job, const sk_runtime *rt, int dry_run, sk_prune_fn fn, void *ud,
                      size_t *deleted, sk_err *err);
/* `snapkeep delete`: one backup (sk_job_delete), under the job lock. */
sk_rc sk_runner_delete(sk_runner *r, sk_job *job, const sk_runtime *rt, const char *name, char key_out[1024],
                       sk_err *err);

/* With no success in `st` (a new state directory, e.g. a new container), take last_success, its
 * key and size from the destination's newest committed backup (sk_job_newest) and set
 * from_destination; a destination that cannot be read leaves `st` as it is (logged). */
void sk_runner_seed_status(sk_runner *r, sk_job *job, const sk_runtime *rt, sk_status *st);

#endif
