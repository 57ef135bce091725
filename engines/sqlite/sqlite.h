/*
 * sqlite.h: the SQLite engine (SNAPKEEP_ENGINE=sqlite).
 *
 * dump: opens the source read-only, pins one read snapshot (BEGIN + a read of sqlite_schema), copies
 * it with the online backup API in a single sqlite3_backup_step(-1) into a fresh spool file, ends the
 * read transaction, runs PRAGMA integrity_check on the copy (the check restore requires), and only
 * then streams the copy into the writer chain. A 0-byte source fails; one without tables is stored
 * with a warning. In WAL mode readers never block writers, so the application keeps committing; the
 * read transaction lasts only for the local copy, never for compression or upload. SQLITE_BUSY and
 * SQLITE_LOCKED are retried with backoff until SNAPKEEP_SQLITE_BUSY_TIMEOUT.
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
