/*
 * state.h: per-job state on local disk: the job lock and the status file.
 *
 * The state directory (SNAPKEEP_STATE_DIR) holds, per job id
 * ("backend_production_sqlite_app-<16 hex>", see sk_job_id):
 *   <id>.lock          flock()ed while a backup, restore or prune of the job runs. A second run
 *                      (backup-now while the scheduler is mid-backup, or the reverse) waits for it,
 *                      up to SNAPKEEP_LOCK_WAIT seconds, then fails with SK_ERR_BUSY. The lock dies
 *                      with its process, so a killed run never blocks the next one.
 *   <id>.status.json   last attempt/success/failure, reason, duration, size, counters; replaced
 *                      atomically (temp + rename), so a reader never sees half a file.
 */
#ifndef SK_STATE_H
#define SK_STATE_H

#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "err.h"
#include "runtime.h"

/* A Unix time as the state files write it: an ISO 8601 UTC string, JSON null for 0 (never). */
json_t *sk_ts_json(int64_t ts);
/* The time of such a string; 0 when `v` is absent, null or not such a string. */
int64_t sk_ts_from_json(json_t *v);

/* The state directory from the configuration, or the default: /var/lib/snapkeep when usable,
 * else $XDG_STATE_HOME/snapkeep or ~/.local/state/snapkeep. Created if missing. */
sk_rc sk_state_dir(const sk_config *cfg, char *out, size_t outsz, sk_err *err);

/* A file-name-safe job id: a readable part (service_environment_engine_db, any other byte as '-',
 * cut to SK_JOB_ID_READABLE bytes) for people, then '-' and 16 hex digits of the SHA-256 of the
 * job's key space (destination identity, key directory, tag, database, extension; see
 * sk_job_keyspace), which is what makes it unique: the readable part alone is ambiguous ("a_b"/"c"
 * vs "a"/"b_c") and names no destination. Two jobs get one id only if they share a key space,
 * which loading the configuration refuses. Used for the lock, the status file and metrics labels. */
#define SK_JOB_ID_READABLE 160
#define SK_JOB_ID_SIZE (SK_JOB_ID_READABLE + 18)
void sk_job_id(const char *service, const char *environment, const char *engine, const char *db,
               const char *keyspace, char out[SK_JOB_ID_SIZE]);

/* Take the job's lock, waiting up to wait_s seconds (logging that it waits). Returns the lock fd
 * (>= 0) to pass to sk_unlock, or -1 with err set (SK_ERR_BUSY after the wait, SK_ERR_CANCELLED
 * on a signal). */
int sk_lock(const char *state_dir, const char *job_id, int wait_s, const sk_runtime *rt, sk_err *err);
void sk_unlock(int fd);
/* Does a live process hold the job's lock (flock: it cannot outlive its holder, unlike a pid)? */
int sk_lock_held(const char *state_dir, const char *job_id);

typedef struct sk_status {
    char job[256];
    int64_t agent_started;     /* when `snapkeep run` last started (0: never) */
    int64_t last_attempt;      /* start of the last backup attempt */
    int64_t last_success;      /* finish of the last successful backup */
    int64_t last_failure;      /* finish of the last failed backup */
    char last_error[512];      /* the last failure's message */
    int last_exit;             /* the last attempt's exit code */
    double last_duration;      /* seconds, last attempt */
    uint64_t last_size;        /* stored bytes of the last success */
    char last_key[1024];       /* key of the last success */
    uint64_t successes, failures;
    int last_suspect;          /* the guards flagged the last stored backup (guard.h) */
    char last_suspect_reasons[512];
    uint64_t suspects;         /* backups flagged suspect, in total */
    size_t ndests;             /* the job's destinations as its last backup saw them: */
    struct sk_dest_status {
        char label[16];        /* "local", "s3", "s3_2" */
        char where[256];       /* its description (no secrets) */
        int64_t last_success;  /* the last copy that committed there */
        int64_t last_failure;  /* the last copy that failed there */
        int last_ok;           /* the last copy there committed (stored: the two times above have
                                * whole seconds, and a failure can follow a success in the same one) */
        char last_error[512];
        uint64_t successes, failures;
    } dests[8];
    int running;               /* a backup is in progress (pid below) */
    long pid;
    int interrupted;           /* not stored: the file said running, but no process holds the lock */
    int from_destination;      /* not stored: last_success was taken from the destination */
} sk_status;

/* Read the status (a missing file gives a zeroed status with `job` set, and SK_OK). "running" is
 * believed only while a process holds the job's lock; otherwise running = 0 and interrupted = 1. */
sk_rc sk_status_read(const char *state_dir, const char *job_id, sk_status *st, sk_err *err);
sk_rc sk_status_write(const char *state_dir, const char *job_id, const sk_status *st, sk_err *err);

typedef enum sk_health { SK_HEALTH_OK = 0, SK_HEALTH_WARN = 1, SK_HEALTH_FAIL = 2 } sk_health;

/* Freshness of the last success at `now`: OK when younger than warn_s, WARN up to fail_s, FAIL
 * beyond. With no success ever, the agent's start time (or, without one, the first attempt) is the
 * reference, so a new deployment is healthy until it had the time to succeed. With several
 * destinations, each counts too: one whose last copy failed makes it at least WARN, and one whose
 * last good copy is older than fail_s (or that never had one for that long) FAIL. `why` gets a
 * one-line explanation. */
sk_health sk_health_eval(const sk_status *st, int64_t now, int64_t warn_s, int64_t fail_s, char *why, size_t whysz);

#endif
