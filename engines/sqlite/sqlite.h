/*
 * sqlite.h: the SQLite engine (SNAPKEEP_ENGINE=sqlite).
 *
 * dump: opens the source read-only, pins one read snapshot (BEGIN + a read of sqlite_schema), copies
 * it with the online backup API into a fresh spool file through the tee VFS (sqlite_tee.h), which
 * streams the snapshot's pages into the writer chain as they are written, then ends the read
 * transaction. PRAGMA integrity_check (the check restore requires) must pass for the dump to
 * succeed: for a WAL source on a second connection pinned on the same snapshot, during the copy;
 * otherwise on the spool after the copy. A 0-byte source fails; one without tables is stored with
 * a warning. In WAL mode readers never block writers, so the application keeps committing; the read
 * transactions last for the copy and the check, never for upload. SQLITE_BUSY and SQLITE_LOCKED are
 * retried with backoff until SNAPKEEP_SQLITE_BUSY_TIMEOUT, as long as nothing was streamed yet.
 *
 * restore: writes into a temp file beside the target; finish() checks the header and
 * PRAGMA integrity_check, removes the target's stale -wal/-shm/-journal, and renames into place.
 * The application using the target must be stopped. abort() leaves the target untouched.
 *
 * verify: stages into the spool directory and runs integrity_check and foreign_key_check.
 */
#ifndef SK_ENGINE_SQLITE_H
#define SK_ENGINE_SQLITE_H

#include "../../agent/engine.h"

extern const sk_engine_type sk_engine_sqlite;
extern const sk_setting_def sk_sqlite_settings[];

#endif
