/*
 * pocketbase.h: the PocketBase engine (SNAPKEEP_ENGINE=pocketbase), through PocketBase's own
 * backup REST API (v0.23+ `_superusers`, and the v0.16-v0.22 admins API).
 *
 * dump: logs in as superuser first (a password login writes to the DB and would wait behind a
 * running backup), waits (bounded by SNAPKEEP_POCKETBASE_LOCK_WAIT, polling /api/health canBackup)
 * while another backup or restore holds PocketBase's lock, creates a backup under a generated name
 * (or uses it when that name exists already), then streams the zip with a file token straight into
 * the writer chain, resuming with Range after a cut and fetching a fresh file token when the old one
 * expired. The zip's central directory is checked at the end of the stream (data.db must be there).
 * The server-side zip is deleted by after_backup(), i.e. only once the backup is committed, unless
 * SNAPKEEP_POCKETBASE_KEEP_SERVER_COPY is set; a failed run deletes the zip it created.
 *
 * verify: spools the artifact, reads every entry with libzip (CRCs), extracts data.db and runs
 * PRAGMA integrity_check.
 *
 * restore (--to URL): logs in (fails fast on bad credentials), spools; finish() runs the verify
 * checks and only then uploads the zip (/api/backups/upload), asks PocketBase to restore it, waits
 * for the restart (SNAPKEEP_POCKETBASE_RESTORE_WAIT) and checks health. abort() never touches the
 * server.
 */
#ifndef SK_ENGINE_POCKETBASE_H
#define SK_ENGINE_POCKETBASE_H

#include "../../agent/engine.h"

extern const sk_engine_type sk_engine_pocketbase;
extern const sk_setting_def sk_pocketbase_settings[];

/* Expand a SNAPKEEP_POCKETBASE_BACKUP_NAME pattern (strftime, UTC) for time `t` into "<name>.zip"
 * and check it against PocketBase's rule ^[a-z0-9_-]+\.zip$ (at most 100 bytes, the older limit).
 * Exposed for tests. */
sk_rc sk_pb_backup_name(const char *pattern, long long t, char *out, size_t outsz, sk_err *err);

#endif
