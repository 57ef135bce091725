/*
 * job.h: one configured backup job: engine + destination + naming, and the operations on it.
 *
 * Publication protocol of a backup (the job enforces it, not the destination):
 *   1. the data object <key> (engine -> sha256 -> zstd [-> age] -> md5 -> destination), then
 *   2. the sidecar <key>.md5 (md5sum format), then
 *   3. the manifest <key>.manifest.json, last: it is the commit marker.
 * list() only shows data objects that have a manifest. A failure at any step removes what the
 * backup had stored, best effort; whatever survives a crash has no manifest and is never listed.
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
} sk_backup_result;

sk_rc sk_job_backup(sk_job *job, sk_backup_result *res, sk_err *err);

/* The engine's raw dump into `out` (no compression, no destination). */
sk_rc sk_job_dump(sk_job *job, sk_writer *out, sk_err *err);

typedef struct sk_backup_entry {
    char key[1024];
    int64_t ts;                /* from the key (UTC) */
    uint64_t size;             /* stored size as listed */
    const char *checksum;      /* "ok", "missing" (no .md5), "mismatch" (sidecar/manifest/size disagree),
                                  "unreadable" (manifest or sidecar could not be read) */
    int have_manifest_data;    /* manifest parsed into m */
    sk_manifest m;
} sk_backup_entry;

typedef struct sk_backup_list {
    sk_backup_entry *v;
    size_t n;
} sk_backup_list;

/* Complete backups of this job, newest first. With `details`, manifests and sidecars are read to
 * fill `checksum` and `m`; without, checksum is "unchecked". */
sk_rc sk_job_list(sk_job *job, int details, sk_backup_list *out, sk_err *err);
void sk_backup_list_free(sk_backup_list *l);

/* Restore `name` (a key, a base name, or "latest") into opts->target. */
sk_rc sk_job_restore(sk_job *job, const char *name, const sk_restore_opts *opts, char key_out[1024], sk_err *err);

/* Download, check and run the engine's checks on `name`; summary needs 512 bytes. */
sk_rc sk_job_verify(sk_job *job, const char *name, char key_out[1024], char *summary, sk_err *err);

/* Retention: delete this job's complete backups that `p` does not keep (manifest first, then
 * .md5, then data, so a half-deleted backup is never listed), and orphans of interrupted backups
 * (this job's data/.md5/manifest objects that do not form a complete backup) older than an hour.
 * Only keys of this job (its directory, tag, database and extension) are ever touched. `fn` is
 * called for every complete backup and orphan with the decision. With dry_run nothing is deleted
 * and *deleted counts what would go. */
typedef void (*sk_prune_fn)(void *ud, const char *key, int keep, const char *reason);
sk_rc sk_job_prune(sk_job *job, const sk_retention_policy *p, int dry_run, int64_t now, sk_prune_fn fn, void *ud,
                   size_t *deleted, sk_err *err);

/* Settings of this job, and its identity, for the agent. */
const sk_config *sk_job_config(const sk_job *job);
void sk_job_identity(const sk_job *job, const char **service, const char **environment, const char **engine,
                     const char **database);

#endif
