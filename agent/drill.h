/*
 * drill.h: restore drills, the proof that the newest backup restores and holds what it held.
 *
 * A drill (`snapkeep drill`, or SNAPKEEP_DRILL_SCHEDULE in `snapkeep run`):
 *   1. takes the job's lock (a backup of the job waits for the drill, and the reverse), then asks
 *      the engine to remove scratch targets of drills that were killed (drill_sweep, engine.h);
 *   2. picks the newest good backup: committed by snapkeep (not legacy) and not suspect;
 *   3. downloads it through the checks of a restore (MD5, age, zstd, SHA-256) into the engine's
 *      drill sink, which restores it into a scratch target, runs the engine's checks, counts what
 *      it restored and removes the target again, whatever the outcome;
 *   4. compares the counts with the manifest's facts from backup time: rows per table
 *      ("table_rows": PostgreSQL, SQLite) and records per collection ("collections": PocketBase).
 * The outcome is recorded in <state dir>/<job id>.drill.json (replaced atomically), read by
 * `status`, `health`, /healthz and /metrics, and sent as a `drill` webhook.
 *
 * Exit codes of a failed drill: the cause's (6 damaged data or a failed integrity check, 7 no
 * backup to drill, 5 destination, 4 the scratch server), or 10 (SK_ERR_DRILL) when the backup
 * restored and passed the engine's checks but its counts disagree with the manifest.
 *
 * Health: SNAPKEEP_DRILL_HEALTH (warn|fail|ignore) is what a failed last drill, or a last passed
 * drill older than SNAPKEEP_DRILL_MAX_AGE hours (0: age not checked), makes `health` say.
 */
#ifndef SK_DRILL_H
#define SK_DRILL_H

#include <stdint.h>

#include "config.h"
#include "job.h"
#include "notify.h"
#include "runner.h"
#include "state.h"

extern const sk_setting_def sk_drill_settings[];

typedef struct sk_drill_record {
    int64_t last_run;          /* when the last drill finished (0: never) */
    int64_t last_pass;         /* when the last passed drill finished */
    int64_t last_fail;
    int last_ok;               /* the last drill passed */
    int last_exit;             /* its exit code */
    double last_duration;      /* seconds */
    char last_key[1024];       /* the backup it restored ("" when none was found) */
    char last_error[512];      /* why the last failed one failed */
    char last_summary[512];    /* what the last drill restored and checked */
    uint64_t passes, failures;
} sk_drill_record;

/* A missing file gives a zeroed record and SK_OK. */
sk_rc sk_drill_read(const char *state_dir, const char *job_id, sk_drill_record *rec, sk_err *err);
sk_rc sk_drill_write(const char *state_dir, const char *job_id, const sk_drill_record *rec, sk_err *err);

/* One drill of `job`, recorded and notified (`notifier` may be NULL); `r` must be initialised
 * (sk_runner_init). On return `rec` holds the updated record. */
sk_rc sk_drill_run(sk_runner *r, sk_job *job, sk_notifier *notifier, const sk_runtime *rt, sk_drill_record *rec,
                   sk_err *err);

/* Remove scratch targets of killed drills of this job's engine, under the job lock (`snapkeep run`
 * does this at start for jobs with a drill schedule). Failures are logged only. */
void sk_drill_sweep(sk_runner *r, sk_job *job, const sk_runtime *rt);

typedef struct sk_drill_policy {
    int64_t max_age_s;         /* 0: the age of the last passed drill is not checked */
    sk_health level;           /* what a failed or stale drill makes health say; OK: ignored */
} sk_drill_policy;

void sk_drill_policy_of(const sk_config *cfg, sk_drill_policy *p);

/* The drill's part of health at `now`. `since`: when the job started being watched (the agent's
 * start, else the first backup attempt; 0 unknown), the reference while no drill has passed. */
sk_health sk_drill_health(const sk_drill_record *rec, const sk_drill_policy *p, int64_t since, int64_t now, char *why,
                          size_t whysz);

/* Compare counts restored (`got`) with those of the manifest (`want`), both JSON objects
 * {"name": count}; every name of `want` must be in `got` with the same count (names only in `got`
 * are not compared: tables whose data the backup left out). Returns the number of disagreements
 * and describes the first few in `why` ("; "-separated); -1 when either is not such an object. */
int sk_drill_compare(const char *what, const char *want, const char *got, char *why, size_t whysz);

#endif
