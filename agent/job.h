/*
 * job.h: one configured backup job: engine + destination + naming, and the operations on it.
 *
 * Publication protocol of a backup (the job enforces it, not the destination):
 *   0. the pending marker <key>.snapkeep-pending: "snapkeep is writing these objects", then
 *   1. the data object <key> (engine -> sha256 -> zstd [-> age] -> md5 -> destination), then
 *   2. the sidecar <key>.md5 (md5sum format), then
 *   3. the manifest <key>.manifest.json: it is the commit marker; then the pending marker goes.
 * A failure at any step removes what the backup had stored, best effort; whatever survives a crash
 * has no manifest and carries the pending marker, so it is never listed, and orphan cleanup knows it
 * is snapkeep's to delete. Deletions put the marker first too (see sk_job_prune).
 *
 * list() shows this job's data objects (directly in its key directory, named for its tag, database
 * and extension) that have a manifest, and *legacy* backups: data + .md5 with neither manifest nor
 * pending marker, as the sidecar snapkeep replaces (and md5sum-based tools) leave them. A legacy
 * backup is restored and verified against its .md5 and by the engine's own checks (no SHA-256 of
 * its plaintext is known); retention treats it like any other backup.
 *
 * Restore and verify check before anything is committed: the download goes through an MD5 check
 * (against the sidecar and the manifest), zstd decompression, and a SHA-256 check of the plaintext
 * (against the manifest); each check runs in finish() before the engine's sink is finished.
 *
 * Encryption (SNAPKEEP_AGE_*, agent/crypt.h): an age stage sits between zstd and MD5, the key ends
 * in ".zst.age" and the manifest records the public keys; restore/verify add age decryption
 * (header MAC, every chunk's tag, the final chunk) after the MD5 check, with the identities loaded
 * before the engine's sink is opened.
 */
#ifndef SK_JOB_H
#define SK_JOB_H

#include <stdint.h>

#include "config.h"
#include "dest.h"
#include "engine.h"
#include "manifest.h"
#include "retention.h"
#include "runtime.h"

typedef struct sk_job sk_job;

sk_rc sk_job_open(const sk_config *cfg, const sk_runtime *rt, sk_job **out, sk_err *err);
void sk_job_close(sk_job *job);
/* "service/environment/engine:db", for logs. */
const char *sk_job_name(const sk_job *job);

typedef struct sk_backup_result {
    char key[1024];
    uint64_t plain_size, stored_size;
    double seconds;
    int suspect;                 /* stored, but the guards flagged it (guard.h; see the manifest) */
    char suspect_reasons[1024];
    size_t landed;               /* copies committed */
    size_t ndests;               /* the job's destinations, each with how its copy went: */
    struct {
        char label[16];          /* "local", "s3", "s3_2" */
        char where[256];         /* its description (no secrets) */
        int state;               /* 1 committed, -1 failed on its own, 0 not tried or stopped by another failure */
        char error[512];         /* state -1: why */
    } dest[SK_MAX_DESTS];
} sk_backup_result;

/* A backup is stored even when the guards flag it (res->suspect): it is marked in its manifest,
 * and the caller decides whether that fails the run (SNAPKEEP_GUARD_FAIL).
 *
 * Several destinations: the dump is streamed once through one fan-out stage (fanout.h) to every
 * destination at once; each copy gets its pending marker, data, .md5 and manifest and commits on
 * its own, and a copy that fails (logged, naming the destination) leaves nothing behind and does
 * not stop the others. The backup succeeds when at least SNAPKEEP_DEST_REQUIRED copies (default:
 * all) committed; copies that committed stay either way. res->dest says how each copy went, also
 * on failure. */
sk_rc sk_job_backup(sk_job *job, sk_backup_result *res, sk_err *err);

/* The engine's raw dump into `out` (no compression, no destination). */
sk_rc sk_job_dump(sk_job *job, sk_writer *out, sk_err *err);

typedef struct sk_backup_entry {
    char key[1024];
    int legacy;                /* data + .md5 without a manifest (see above) */
    int64_t ts;                /* from the key (UTC) */
    uint64_t size;             /* stored size as listed */
    const char *checksum;      /* "ok", "missing" (no .md5), "mismatch" (sidecar/manifest/size disagree),
                                  "unreadable" (manifest or sidecar could not be read) */
    int have_manifest_data;    /* manifest parsed into m */
    sk_manifest m;
    /* its copies: bit i stands for destination i (sk_job_dest_label) */
    unsigned present;          /* listed there */
    unsigned good;             /* with details: its copy there checked "ok"; without: = present */
    unsigned legacy_copies;    /* the copy there is a legacy one */
    const char *copy[SK_MAX_DESTS];   /* checksum state of each copy (NULL: none there) */
    uint64_t sizes[SK_MAX_DESTS];     /* stored size of each copy as listed */
} sk_backup_entry;

typedef struct sk_backup_list {
    sk_backup_entry *v;
    size_t n;
} sk_backup_list;

/* Complete backups of this job, newest first, merged over its destinations (a destination that
 * cannot be listed is logged and left out; none listable is the error). With `details`, manifests
 * and sidecars of every copy are read to fill `copy`, `good`, `checksum` and `m` (the first good
 * copy's); without, checksum is "unchecked". */
sk_rc sk_job_list(sk_job *job, int details, sk_backup_list *out, sk_err *err);
void sk_backup_list_free(sk_backup_list *l);

/* The newest backup snapkeep committed (legacy ones do not count: they say nothing about snapkeep
 * working), and when it finished (the manifest's finished_at; the key's time if unreadable).
 * SK_ERR_NOTFOUND when there is none. */
sk_rc sk_job_newest(sk_job *job, sk_backup_entry *e, int64_t *finished, sk_err *err);

/* Restore `name` (a key, a base name, or "latest") into opts->target. */
sk_rc sk_job_restore(sk_job *job, const char *name, const sk_restore_opts *opts, char key_out[1024], sk_err *err);

/* Download, check and run the engine's checks on `name`; summary needs 512 bytes. */
sk_rc sk_job_verify(sk_job *job, const char *name, char key_out[1024], char *summary, sk_err *err);

/* `snapkeep get`: download `name` (a key, a base name or "latest") through the same checks as
 * restore (MD5, unzstd, SHA-256) into a sink from `open`, the engine's plain artifact. `open` is
 * called once per copy tried (restore, verify and get fall back to the next copy when one is
 * missing or damaged); the job consumes each sink: finished only when every check passed,
 * aborted otherwise, and freed either way. */
sk_rc sk_job_get_to(sk_job *job, const char *name, sk_rc (*open)(void *ud, sk_writer **out, sk_err *err), void *ud,
                    char key_out[1024], sk_err *err);
/* The same into the one sink `sink`, which the job consumes (finished only when every check
 * passed, aborted otherwise, freed either way). A copy that fails before any byte reached the sink
 * (its manifest or sidecar missing or wrong) is passed over for the next; one that fails later ends
 * it, as the sink cannot start again (restore drills report that copy's damage). */
sk_rc sk_job_get(sk_job *job, const char *name, sk_writer *sink, char key_out[1024], sk_err *err);

/* `snapkeep delete`: delete one listed backup (a key or a base name, never "latest") the way
 * retention does (pending marker, manifest, .md5, data, marker: it stops being listed first, and
 * an interrupted deletion is finished by the next prune). SK_ERR_NOTFOUND when it is not listed. */
sk_rc sk_job_delete(sk_job *job, const char *name, char key_out[1024], sk_err *err);

/* Retention: delete this job's listed backups (legacy ones included) that `p` does not keep
 * (pending marker, manifest, .md5, data, marker: a half-deleted backup is never listed), and
 * orphans: objects of a key that carries snapkeep's pending marker and forms no committed backup,
 * all untouched for an hour (a crashed backup or deletion). Objects without the marker that form no
 * listed backup are never deleted: snapkeep cannot tell that it wrote them. Only keys of this job
 * (its directory, tag, database and extension) are ever touched; stale temp files of its own
 * interrupted uploads go too (sk_job_sweep). `fn` is called for every backup and orphan with the
 * decision. With dry_run nothing is deleted and *deleted counts what would go. */
typedef void (*sk_prune_fn)(void *ud, const char *key, int keep, const char *reason);
sk_rc sk_job_prune(sk_job *job, const sk_retention_policy *p, int dry_run, int64_t now, sk_prune_fn fn, void *ud,
                   size_t *deleted, sk_err *err);

/* Delete the destination's temp files of this job's uploads that were interrupted (a killed
 * process) and untouched for an hour; call it holding the job lock. Failures are logged only. */
void sk_job_sweep(sk_job *job);

/* Everything that tells this job's objects apart from any other job's: the destination's
 * identity, the key directory, tag, database and extension, '\n'-separated. Two jobs with the
 * same key space would list, restore and prune each other's backups. */
const char *sk_job_keyspace(const sk_job *job);
/* The job's destinations (0..n-1, in the order restores try them): label ("local", "s3",
 * "s3_2"), description (no secrets) and key space (as sk_job_keyspace, for one destination).
 * sk_job_keyspace is the one destination's key space, or all of them joined. */
size_t sk_job_ndests(const sk_job *job);
const char *sk_job_dest_label(const sk_job *job, size_t i);
const char *sk_job_dest_describe(const sk_job *job, size_t i);
const char *sk_job_dest_keyspace(const sk_job *job, size_t i);
/* The key directory ("<prefix>/<service>/<environment>/"). */
const char *sk_job_dir(const sk_job *job);

/* The manifest of `key` as stored (JSON text, malloc'd, NUL-terminated): for facts it records
 * beyond sk_manifest (table_rows, collections), as restore drills compare them. */
sk_rc sk_job_manifest_text(sk_job *job, const char *key, char **text, size_t *len, sk_err *err);
/* The job's engine and its state, for the engine's optional hooks (drills). */
const sk_engine_type *sk_job_engine(const sk_job *job, void **state);

/* Settings of this job, and its identity, for the agent. */
const sk_config *sk_job_config(const sk_job *job);
void sk_job_identity(const sk_job *job, const char **service, const char **environment, const char **engine,
                     const char **database);

#endif
