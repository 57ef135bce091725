#include "sqlite.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>

#include "../../agent/progress.h"
#include "sqlite_tee.h"

const sk_setting_def sk_sqlite_settings[] = {
    { "SNAPKEEP_SQLITE_PATH", SK_SET_PATH, NULL, 0, 0, NULL, 0, "the SQLite database file to back up" },
    { "SNAPKEEP_SQLITE_BUSY_TIMEOUT", SK_SET_INT, "60", 1, 3600, NULL, 0,
      "seconds to keep retrying while the database is locked (SQLITE_BUSY) before failing" },
    { "SNAPKEEP_SQLITE_CHECK", SK_SET_ENUM, "full", 0, 0, "full|quick", 0,
      "check of each new snapshot: full (PRAGMA integrity_check) or quick (quick_check: about a tenth of "
      "the CPU, but an index out of step with its table is stored; restore and drills still run "
      "integrity_check)" },
    { NULL, 0, NULL, 0, 0, NULL, 0, NULL },
};

typedef struct sqlite_engine {
    char path[PATH_MAX];
    char spool[PATH_MAX];
    int busy_timeout_s;
    const char *check_pragma; /* "PRAGMA integrity_check" or "PRAGMA quick_check" (static) */
    const sk_runtime *rt;
    char *rows_json;  /* rows per table of the last dump (info->table_rows_json points here) */
} sqlite_engine;

/* The default <db> of the key: the file name without its extension, made key-safe. */
static void db_name_of(const char *path, char *out, size_t outsz)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strcspn(base, ".");
    if (n == 0)
        n = strlen(base);
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < outsz; i++) {
        char c = base[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        out[o++] = ok ? c : '-';
    }
    out[o] = '\0';
    if (!o)
        snprintf(out, outsz, "db");
}

static sk_rc sqlite_open(const sk_config *cfg, const sk_runtime *rt, void **state, sk_dump_info *info, sk_err *err)
{
    const char *path = sk_config_str(cfg, "SNAPKEEP_SQLITE_PATH");
    if (sk_config_require(cfg, "SNAPKEEP_SQLITE_PATH", "the sqlite engine needs the database file's path", err))
        return err->rc;
    sqlite_engine *e = calloc(1, sizeof *e);
    if (!e)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    snprintf(e->path, sizeof e->path, "%s", path);
    /* the job's own setting: jobs are opened before any process-wide value could be known */
    const char *spool = sk_config_str(cfg, "SNAPKEEP_SPOOL_DIR");
    snprintf(e->spool, sizeof e->spool, "%s", spool ? spool : "/tmp");
    e->busy_timeout_s = (int)sk_config_int(cfg, "SNAPKEEP_SQLITE_BUSY_TIMEOUT", 60);
    const char *check = sk_config_str(cfg, "SNAPKEEP_SQLITE_CHECK");
    e->check_pragma = check && !strcmp(check, "quick") ? "PRAGMA quick_check" : "PRAGMA integrity_check";
    e->rt = rt;
    const char *db = sk_config_str(cfg, "SNAPKEEP_DB_NAME");
    if (db)
        snprintf(info->database, sizeof info->database, "%s", db);
    else
        db_name_of(path, info->database, sizeof info->database);
    snprintf(info->server_version, sizeof info->server_version, "SQLite %s", sqlite3_libversion());
    *state = e;
    return SK_OK;
}

static void sqlite_close(void *state)
{
    sqlite_engine *e = state;
    if (e)
        free(e->rows_json);
    free(e);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int is_busy(int rc)
{
    rc &= 0xff;
    return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

/* Run a single-row, single-column pragma and return its integer value. */
static int pragma_int(sqlite3 *db, const char *sql, long long *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Run a check pragma (quick_check / integrity_check); success is exactly one row "ok".
 * Otherwise the first rows are put in `report`. Returns an SQLite rc; *ok tells the verdict. */
static int run_check(sqlite3 *db, const char *pragma, int *ok, char *report, size_t reportsz)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, pragma, -1, &st, NULL), rows = 0;
    size_t used = 0;
    *ok = 0;
    report[0] = '\0';
    if (rc != SQLITE_OK)
        return rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(st, 0);
        rows++;
        if (rows == 1 && line && strcmp(line, "ok") == 0)
            *ok = 1;
        else
            *ok = 0;
        if (line && used + 3 < reportsz && rows <= 5) {
            int n = snprintf(report + used, reportsz - used, "%s%s", used ? "; " : "", line);
            if (n > 0)
                used += (size_t)n < reportsz - used ? (size_t)n : reportsz - used - 1;
        }
    }
    sqlite3_finalize(st);
    if (rows != 1)
        *ok = 0;
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Rows per user table of the snapshot, for the guards: a JSON object, or NULL when a table cannot
 * be counted (a virtual table whose module is not loaded): then the guards skip the row checks. */
static char *count_rows(sqlite3 *db)
{
    sqlite3_stmt *names = NULL;
    json_t *o = json_object();
    char *text = NULL;
    int ok = o && sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type='table' AND name NOT LIKE "
                                         "'sqlite\\_%' ESCAPE '\\' ORDER BY name", -1, &names, NULL) == SQLITE_OK;
    while (ok && sqlite3_step(names) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(names, 0);
        char *q = sqlite3_mprintf("SELECT count(*) FROM \"%w\"", name);
        sqlite3_stmt *c = NULL;
        ok = q && sqlite3_prepare_v2(db, q, -1, &c, NULL) == SQLITE_OK && sqlite3_step(c) == SQLITE_ROW &&
             json_object_set_new(o, name, json_integer(sqlite3_column_int64(c, 0))) == 0;
        sqlite3_finalize(c);
        sqlite3_free(q);
    }
    sqlite3_finalize(names);
    if (ok)
        text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}

/* Page cache of integrity_check's connection, in KiB. integrity_check looks up every row in each
 * of its table's indexes; with SQLite's default 2 MiB cache those lookups re-read index pages
 * from the file again and again (13 preads a page on a 100 MB database): 8 MiB took its CPU time
 * from 0.63 to 0.50 s there, but on 1 GB, where the lookups miss the cache whatever its size, it
 * made no measurable difference, and an S3 backup of 2 GiB then peaked at 64.4 MiB RSS. 4 MiB: a
 * part of the gain on small databases, within the memory budget (issue 13). */
#define CHECK_CACHE_KIB 4096

/* PRAGMA integrity_check of the snapshot: the check restore and verify require (an index that no
 * longer matches its table passes quick_check). It runs on its own connection `db`, in a thread:
 *  - for a WAL source, on the source itself, in a read transaction pinned on the very snapshot the
 *    copy takes (pin_snapshot), so it runs during the copy instead of after it; WAL writers are
 *    not blocked by readers, and the checkpointer only waits for the longer of the two;
 *  - otherwise (a rollback-journal source, whose writers a reader would block, or when the two
 *    pins kept landing on different snapshots), on the spool file once the copy is complete.
 * The rows per table for the guards are counted on the same connection. A failed check fails the
 * dump, so the job aborts the chain and nothing is stored. */
typedef struct snapshot_check {
    sqlite3 *db;
    pthread_t th;
    int started;
    const char *pragma;   /* the check to run (sqlite_engine.check_pragma) */
    int ok;               /* the check ran and said "ok" */
    char report[512];
    char *rows_json;
} snapshot_check;

static void *check_thread(void *arg)
{
    snapshot_check *c = arg;
    c->rows_json = count_rows(c->db);
    if (run_check(c->db, c->pragma, &c->ok, c->report, sizeof c->report) != SQLITE_OK) {
        if (!c->report[0])
            snprintf(c->report, sizeof c->report, "%s", sqlite3_errmsg(c->db));
        c->ok = 0;
    }
    return NULL;
}

/* Open the check's connection (read-only; `vfs` NULL: the default one). No mmap, although it saves
 * about a third of integrity_check's CPU: every mapped page counts in the process's RSS (and a
 * container's memory limit), which then grows with the database instead of staying flat (measured:
 * 123 MiB for a 99 MiB database, 28 without). */
static int check_open(snapshot_check *c, const char *path)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d", CHECK_CACHE_KIB);
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(c->report, sizeof c->report, "cannot open the snapshot: %s",
                 c->db ? sqlite3_errmsg(c->db) : "out of memory");
        sqlite3_close(c->db);
        c->db = NULL;
        return 0;
    }
    sqlite3_busy_timeout(c->db, 250);
    sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return 1;
}

static void check_start(snapshot_check *c)
{
    if (pthread_create(&c->th, NULL, check_thread, c) == 0)
        c->started = 1;
    else
        check_thread(c); /* no thread: check now */
}

/* Wait for the check; `stop`: the dump failed, interrupt it. Closes the connection. */
static void check_join(snapshot_check *c, int stop)
{
    if (c->started) {
        if (stop)
            sqlite3_interrupt(c->db);
        pthread_join(c->th, NULL);
        c->started = 0;
    }
    sqlite3_close(c->db);
    c->db = NULL;
}

/* Pin a read snapshot on `src` and, when `twin` is not NULL, the same one on `twin` first. A commit
 * between the two pins would show as a change of src's PRAGMA data_version across them (it
 * changes when another connection committed between two of src's transactions), so a differing
 * value means "try again", a few times. Returns src's SQLite rc; *same tells whether twin holds
 * src's snapshot (if not, twin holds no transaction). */
static int pin_snapshot(sqlite3 *src, sqlite3 *twin, int *same)
{
    static const char pin[] = "BEGIN; SELECT count(*) FROM sqlite_schema;";
    *same = 0;
    for (int tries = 0;; tries++) {
        long long v1 = -1, v2 = -2;
        int twin_in = twin && tries < 5 && pragma_int(src, "PRAGMA data_version", &v1) == SQLITE_OK;
        if (twin_in && sqlite3_exec(twin, pin, NULL, NULL, NULL) != SQLITE_OK) {
            sqlite3_exec(twin, "ROLLBACK", NULL, NULL, NULL);
            twin_in = 0;
        }
        int r = sqlite3_exec(src, pin, NULL, NULL, NULL);
        if (r != SQLITE_OK) {
            sqlite3_exec(src, "ROLLBACK", NULL, NULL, NULL);
            if (twin_in)
                sqlite3_exec(twin, "ROLLBACK", NULL, NULL, NULL);
            return r;
        }
        if (!twin_in)
            return SQLITE_OK;
        if (pragma_int(src, "PRAGMA data_version", &v2) == SQLITE_OK && v1 == v2) {
            *same = 1;
            return SQLITE_OK;
        }
        sqlite3_exec(twin, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_exec(src, "ROLLBACK", NULL, NULL, NULL);
    }
}

/* Pages copied per backup step: a step is a chance to report progress and see a cancel. The read
 * transaction pinned on `src` keeps every step on the same snapshot (a step neither ends it nor
 * starts another, so a writer's commit cannot restart the copy). */
#define SNAPSHOT_STEP_PAGES 4096
/* Page cache of the copy's two connections, in KiB (a string: it goes into a PRAGMA). */
#define COPY_CACHE_KIB "256"

/* Take the snapshot into `spool` (an existing empty file) through the tee VFS, which streams each
 * page into `out` as the copy writes it (sqlite_tee.h): compression runs during the copy. */
static sk_rc snapshot_to(sqlite_engine *e, const char *spool, sk_sqlite_tee *tee, snapshot_check *chk,
                         sk_dump_info *info, sk_writer *out, sk_err *err)
{
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *bk = NULL;
    sk_rc rc = SK_OK;
    int src_in_txn = 0, attempts = 0;
    double deadline = sk_monotonic() + e->busy_timeout_s;
    long backoff = 50;

    struct stat st;
    if (stat(e->path, &st) != 0)
        return sk_fail(err, SK_ERR_SOURCE, errno, "SNAPKEEP_SQLITE_PATH='%s': %s", e->path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return sk_fail(err, SK_ERR_SOURCE, 0, "SNAPKEEP_SQLITE_PATH='%s' is not a regular file", e->path);
    /* SQLite opens a 0-byte file as an empty database, so the backup would "succeed" with nothing
     * in it: most often the path is wrong, or the application has not created its database yet */
    if (st.st_size == 0)
        return sk_fail(err, SK_ERR_SOURCE, 0,
                       "SNAPKEEP_SQLITE_PATH='%s' is an empty file (0 bytes), not a database: check that the path "
                       "points at the application's database file; nothing was stored", e->path);

    int src_rc = sqlite3_open_v2(e->path, &src, SQLITE_OPEN_READONLY, sk_sqlite_tee_src_vfs(tee));
    if (src_rc != SQLITE_OK) {
        rc = sk_fail(err, SK_ERR_SOURCE, src_rc, "open '%s': %s", e->path, src ? sqlite3_errmsg(src) : "out of memory");
        goto out;
    }
    /* short busy handler per attempt; the loop below owns the overall deadline */
    sqlite3_busy_timeout(src, 250);
    /* Small page caches on both sides (SQLite's default is 2 MiB each): the copy reads and writes
     * every page once, in order, so a cache only adds to the peak RSS; the destination's spills
     * are what the tee streams. */
    sqlite3_exec(src, "PRAGMA cache_size=-" COPY_CACHE_KIB, NULL, NULL, NULL);

    long long wal = 0;
    for (;;) {
        if (sk_rt_cancelled(e->rt)) {
            rc = sk_fail(err, SK_ERR_CANCELLED, 0, "cancelled by signal");
            goto out;
        }
        int r = SQLITE_OK;
        attempts++;
        if (!src_in_txn) {
            /* pin one read snapshot: BEGIN is deferred, the SELECT takes the read lock; for a WAL
             * source the check's connection pins the same one and checks it during the copy */
            int same = 0;
            if (!chk->db &&
                pragma_int(src, "SELECT journal_mode='wal' FROM pragma_journal_mode", &wal) == SQLITE_OK && wal)
                check_open(chk, e->path);
            r = pin_snapshot(src, chk->db, &same);
            if (r == SQLITE_OK) {
                src_in_txn = 1;
                if (same)
                    check_start(chk);
                else
                    check_join(chk, 1);
            }
            /* Checked on the source, the copy needs no spool file: the tee only streams it and
             * keeps its size (sqlite_tee.h), which saves writing the whole database to disk. */
            if (r == SQLITE_OK && !dst) {
                if (same)
                    sk_sqlite_tee_discard(tee);
                if (sqlite3_open_v2(spool, &dst, SQLITE_OPEN_READWRITE, sk_sqlite_tee_dst_vfs(tee)) != SQLITE_OK ||
                    sqlite3_exec(dst, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-"
                                 COPY_CACHE_KIB ";", NULL, NULL, NULL) != SQLITE_OK) {
                    rc = sk_fail(err, SK_ERR_SOURCE, 0, "spool file '%s': %s", spool,
                                 dst ? sqlite3_errmsg(dst) : "out of memory");
                    goto out;
                }
            }
        }
        long long snap_pages = 0;
        if (r == SQLITE_OK && (r = pragma_int(src, "PRAGMA page_count", &snap_pages)) == SQLITE_OK &&
            (rc = sk_sqlite_tee_begin(tee, (uint32_t)snap_pages, err)) != SK_OK)
            goto out;
        if (r == SQLITE_OK) {
            if (!(bk = sqlite3_backup_init(dst, "main", src, "main"))) {
                rc = sk_fail(err, SK_ERR_SOURCE, sqlite3_errcode(dst), "backup of '%s' cannot start: %s", e->path,
                             sqlite3_errmsg(dst));
                goto out;
            }
            /* the total before the first step: the pages stream through the chain during the
             * steps, and one step may copy the whole database */
            long long page_size = 0;
            pragma_int(src, "PRAGMA page_size", &page_size);
            sk_progress_total(out, (uint64_t)snap_pages * (uint64_t)page_size);
            do {
                r = sqlite3_backup_step(bk, SNAPSHOT_STEP_PAGES);
                int total = sqlite3_backup_pagecount(bk);
                sk_progress_step(out, "snapshot", (uint64_t)(total - sqlite3_backup_remaining(bk)), (uint64_t)total);
                if (r == SQLITE_OK && sk_rt_cancelled(e->rt)) {
                    rc = sk_fail(err, SK_ERR_CANCELLED, 0, "cancelled by signal");
                    goto out;
                }
            } while (r == SQLITE_OK);
            sk_progress_step(out, NULL, 0, 0);
            if (r == SQLITE_DONE) {
                info->facts_json[0] = '\0';
                int frc = sqlite3_backup_finish(bk);
                bk = NULL;
                if (frc != SQLITE_OK) {
                    if (sk_sqlite_tee_failure(tee, err) == SK_OK)
                        rc = sk_fail(err, SK_ERR_SOURCE, frc, "backup of '%s' failed: %s", e->path, sqlite3_errmsg(dst));
                    rc = err->rc;
                    goto out;
                }
                break;
            }
            sqlite3_backup_finish(bk);
            bk = NULL;
        }
        /* a failed write of the tee: the chain's own error (a full disk, a cancel) or its own */
        if ((rc = sk_sqlite_tee_failure(tee, err)) != SK_OK)
            goto out;
        if (!is_busy(r)) {
            rc = sk_fail(err, SK_ERR_SOURCE, r, "backup of '%s' failed: %s", e->path,
                         r == SQLITE_NOTADB ? "the file is not an SQLite database" : sqlite3_errstr(r));
            goto out;
        }
        /* pages already streamed cannot be taken back: a retry would stream them twice */
        if (sk_sqlite_tee_bytes(tee) > 0) {
            rc = sk_fail(err, SK_ERR_SOURCE, r, "backup of '%s' failed during the copy: %s", e->path, sqlite3_errstr(r));
            err->retryable = 1;
            goto out;
        }
        if (sk_monotonic() + backoff / 1000.0 > deadline) {
            rc = sk_fail(err, SK_ERR_SOURCE, r,
                         "'%s' stayed locked (%s) for %d s over %d attempts; a writer holds an exclusive lock. "
                         "Retry later or raise SNAPKEEP_SQLITE_BUSY_TIMEOUT",
                         e->path, sqlite3_errstr(r), e->busy_timeout_s, attempts);
            /* not retryable: this loop already waited SNAPKEEP_SQLITE_BUSY_TIMEOUT, the setting
             * the user chose for a locked database */
            goto out;
        }
        if (src_in_txn) {
            sqlite3_exec(src, "ROLLBACK", NULL, NULL, NULL);
            src_in_txn = 0;
        }
        sleep_ms(backoff + rand() % (backoff / 2 + 1));
        if (backoff < 2000)
            backoff *= 2;
    }
    /* the snapshot's facts, read in its transaction (the spool may hold no pages) */
    long long page_size = 0, page_count = 0, user_version = 0, freelist = 0, tables = 0;
    pragma_int(src, "PRAGMA page_size", &page_size);
    pragma_int(src, "PRAGMA page_count", &page_count);
    pragma_int(src, "PRAGMA user_version", &user_version);
    pragma_int(src, "PRAGMA freelist_count", &freelist);
    pragma_int(src, "SELECT count(*) FROM sqlite_schema WHERE type='table'", &tables);
    if (src_in_txn) {
        sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
        src_in_txn = 0;
    }
    sqlite3_close(src); /* the application is free from here on (but for a running check) */
    src = NULL;

    if ((rc = sk_sqlite_tee_end(tee, (uint64_t)page_size * (uint64_t)page_count, err)) != SK_OK)
        goto out;
    snprintf(info->facts_json, sizeof info->facts_json,
             "{\"page_size\":%lld,\"page_count\":%lld,\"freelist_count\":%lld,\"user_version\":%lld,"
             "\"tables\":%lld,\"wal\":%s}",
             page_size, page_count, freelist, user_version, tables, wal ? "true" : "false");
    if (tables == 0)
        sk_log_msg(e->rt ? e->rt->log : NULL, SK_LOG_WARN,
                   "'%s' is an SQLite database with no tables: the backup is stored, but it holds no data. Check "
                   "that SNAPKEEP_SQLITE_PATH is the application's database", e->path);
out:
    if (bk)
        sqlite3_backup_finish(bk);
    if (src) {
        if (src_in_txn)
            sqlite3_exec(src, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(src);
    }
    if (dst)
        sqlite3_close(dst);
    return rc;
}

/* A process killed while taking a snapshot leaves its spool file behind. Live spool files are
 * flock()ed by their owner (the lock dies with the process), so any we can lock are stale. Only
 * regular files of this user are candidates: the spool directory may be a shared /tmp, and what
 * another user's snapkeep (or anyone) left there is not ours to delete, even for root. */
static int remove_stale(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t pl = strlen(prefix);
    int removed = 0;
    while (d && (de = readdir(d))) {
        if (strncmp(de->d_name, prefix, pl) != 0 || strlen(de->d_name) != pl + 6)
            continue;
        char path[PATH_MAX];
        int n = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (n < 0 || (size_t)n >= sizeof path)
            continue;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
            continue;
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
            flock(fd, LOCK_EX | LOCK_NB) == 0 && unlink(path) == 0)
            removed++;
        close(fd);
    }
    if (d)
        closedir(d);
    return removed;
}

static void remove_stale_spools(const char *dir) { remove_stale(dir, "snapkeep-snapshot-"); }

static sk_rc sqlite_dump(void *state, sk_writer *out, sk_dump_info *info, sk_err *err)
{
    sqlite_engine *e = state;
    char spool[PATH_MAX];
    free(e->rows_json);
    e->rows_json = NULL;
    info->table_rows_json = NULL;
    int n = snprintf(spool, sizeof spool, "%s/snapkeep-snapshot-XXXXXX", e->spool);
    if (n < 0 || (size_t)n >= sizeof spool)
        return sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_SPOOL_DIR is too long");
    remove_stale_spools(e->spool);
    int fd = mkstemp(spool);
    if (fd < 0)
        return sk_fail(err, SK_ERR_CONFIG, errno, "SNAPKEEP_SPOOL_DIR='%s': cannot create a scratch file: %s", e->spool,
                       strerror(errno));
    flock(fd, LOCK_EX); /* marks the file live for remove_stale_spools() of other runs */
    double t0 = sk_monotonic();
    snapshot_check chk = { .pragma = e->check_pragma };
    sk_sqlite_tee *tee = sk_sqlite_tee_new(out, err);
    sk_rc rc = tee ? snapshot_to(e, spool, tee, &chk, info, out, err) : err->rc;
    uint64_t copied = tee ? sk_sqlite_tee_bytes(tee) : 0;
    sk_sqlite_tee_free(tee);
    if (rc == SK_OK) {
        sk_log_stage(e->rt ? e->rt->log : NULL, "snapshot", copied, sk_monotonic() - t0,
                     "consistent copy of %s taken with the online backup API and streamed%s%s%s", e->path,
                     chk.started ? ", " : "", chk.started ? chk.pragma + strlen("PRAGMA ") : "",
                     chk.started ? " running on the same snapshot" : "");
        if (!chk.db && check_open(&chk, spool))
            check_thread(&chk); /* the spool, now complete */
    }
    check_join(&chk, rc != SK_OK);
    e->rows_json = chk.rows_json;
    if (rc == SK_OK && !chk.ok)
        rc = sk_fail(err, SK_ERR_INTEGRITY, 0,
                     "the snapshot of '%s' fails %s (%s); the source database is damaged "
                     "(a restore would refuse it): nothing was stored", e->path, chk.pragma,
                     chk.report[0] ? chk.report : "no verdict");
    else if (rc == SK_OK)
        sk_log_msg(e->rt ? e->rt->log : NULL, SK_LOG_INFO, "%s of the snapshot of %s: ok", chk.pragma, e->path);
    info->table_rows_json = e->rows_json;
    /* a run killed before this point leaves a flock()ed spool file that the next run's
     * remove_stale_spools() deletes */
    unlink(spool);
    close(fd);
    return rc;
}

/* ---- restore / verify sink -------------------------------------------------------------- */

typedef struct sqlite_sink {
    sk_writer base;
    sqlite_engine *e;
    int fd;
    int verify;                 /* 1: check only, then discard (drills too) */
    char **rows_out;            /* drill: rows per table of the checked file (count_rows), malloc'd */
    char tmp[PATH_MAX];
    char target[PATH_MAX];
    char dir[PATH_MAX];
    char *summary;              /* verify: the report buffer (>= 512 bytes) */
} sqlite_sink;

static sk_rc sink_write(sk_writer *w, const void *buf, size_t len, sk_err *err)
{
    sqlite_sink *s = (sqlite_sink *)w;
    return sk_write_all(s->fd, buf, len, s->tmp, SK_ERR_SOURCE, err);
}

/* An URI for read-only, lock-free access to a file nothing else uses (no -wal/-shm created). */
static void immutable_uri(const char *path, char *out, size_t outsz)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    const char *head = "file:";
    for (const char *h = head; *h && o + 1 < outsz; h++)
        out[o++] = *h;
    for (const unsigned char *p = (const unsigned char *)path; *p && o + 4 < outsz; p++) {
        if (*p == '?' || *p == '#' || *p == '%' || *p < 0x21 || *p > 0x7e) {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        } else {
            out[o++] = (char)*p;
        }
    }
    snprintf(out + o, outsz - o, "?immutable=1");
}

static sk_rc check_file(sqlite_sink *s, sk_err *err)
{
    static const char magic[16] = "SQLite format 3";
    char hdr[16];
    struct stat st;
    if (fstat(s->fd, &st) != 0)
        return sk_fail(err, SK_ERR_INTEGRITY, errno, "stat '%s': %s", s->tmp, strerror(errno));
    if (pread(s->fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr || memcmp(hdr, magic, sizeof hdr) != 0)
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "the restored data is not an SQLite database (bad header)");
    char uri[PATH_MAX + 64];
    immutable_uri(s->tmp, uri, sizeof uri);
    sqlite3 *db = NULL;
    sk_rc rc = SK_OK;
    if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
        rc = sk_fail(err, SK_ERR_INTEGRITY, 0, "cannot open the restored database: %s",
                     db ? sqlite3_errmsg(db) : "out of memory");
        goto out;
    }
    int ok;
    char report[512];
    double t0 = sk_monotonic();
    if (run_check(db, "PRAGMA integrity_check", &ok, report, sizeof report) != SQLITE_OK || !ok) {
        rc = sk_fail(err, SK_ERR_INTEGRITY, 0, "PRAGMA integrity_check failed on the restored database: %s",
                     report[0] ? report : sqlite3_errmsg(db));
        goto out;
    }
    long long page_size = 0, page_count = 0, fk = 0, tables = 0;
    pragma_int(db, "PRAGMA page_size", &page_size);
    pragma_int(db, "PRAGMA page_count", &page_count);
    pragma_int(db, "SELECT count(*) FROM sqlite_schema WHERE type='table'", &tables);
    pragma_int(db, "SELECT count(*) FROM pragma_foreign_key_check", &fk);
    if (page_size * page_count != (long long)st.st_size) {
        rc = sk_fail(err, SK_ERR_INTEGRITY, 0, "the restored file is %lld bytes but holds %lld pages of %lld bytes",
                     (long long)st.st_size, page_count, page_size);
        goto out;
    }
    sk_log_stage(s->e->rt ? s->e->rt->log : NULL, "check", (uint64_t)st.st_size, sk_monotonic() - t0,
                 "integrity_check ok: %lld tables, %lld pages%s", tables, page_count,
                 fk ? ", foreign_key_check reports violations (as in the source)" : "");
    if (s->summary)
        snprintf(s->summary, 512, "integrity_check ok; %lld tables, %lld pages of %lld bytes; foreign_key_check: %lld "
                 "violation(s)", tables, page_count, page_size, fk);
    if (s->rows_out && !(*s->rows_out = count_rows(db)))
        sk_log_msg(s->e->rt ? s->e->rt->log : NULL, SK_LOG_WARN, "the restored tables could not all be counted "
                   "(a virtual table whose module is not loaded?): rows are not compared");
out:
    if (db)
        sqlite3_close(db);
    return rc;
}

static sk_rc sink_finish(sk_writer *w, sk_err *err)
{
    sqlite_sink *s = (sqlite_sink *)w;
    if (fsync(s->fd) != 0)
        return sk_fail(err, SK_ERR_SOURCE, errno, "fsync '%s': %s", s->tmp, strerror(errno));
    sk_rc rc = check_file(s, err);
    if (rc != SK_OK || s->verify)
        return rc;
    /* a leftover WAL or hot journal would be replayed onto the restored file and corrupt it */
    static const char *sides[] = { "-wal", "-shm", "-journal" };
    for (size_t i = 0; i < 3; i++) {
        char side[PATH_MAX + 16];
        snprintf(side, sizeof side, "%s%s", s->target, sides[i]);
        if (unlink(side) != 0 && errno != ENOENT)
            return sk_fail(err, SK_ERR_SOURCE, errno, "cannot remove stale '%s': %s", side, strerror(errno));
    }
    if (rename(s->tmp, s->target) != 0)
        return sk_fail(err, SK_ERR_SOURCE, errno, "cannot move the restored database to '%s': %s", s->target,
                       strerror(errno));
    s->tmp[0] = '\0';
    int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return SK_OK;
}

static void sink_abort(sk_writer *w)
{
    sqlite_sink *s = (sqlite_sink *)w;
    if (s->tmp[0]) {
        unlink(s->tmp);
        s->tmp[0] = '\0';
    }
}

static void sink_destroy(sk_writer *w)
{
    sqlite_sink *s = (sqlite_sink *)w;
    sink_abort(w);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

static const sk_writer_type sink_type = { "sqlite-restore", sink_write, sink_finish, sink_abort, sink_destroy };

/* `like`: the file whose mode and owner the result takes (the replaced target), or NULL for the
 * default mode under the umask. */
static sk_rc sink_new(sqlite_engine *e, const char *dir, const char *target, int verify, char *summary,
                      const struct stat *like, sk_writer **out, sk_err *err)
{
    sqlite_sink *s = calloc(1, sizeof *s);
    if (!s)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    sk_writer_init(&s->base, &sink_type, NULL);
    s->e = e;
    s->verify = verify;
    s->summary = summary;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    snprintf(s->target, sizeof s->target, "%s", target ? target : "");
    const char *base = target ? strrchr(target, '/') : NULL;
    base = base ? base + 1 : (target ? target : "verify");
    int n = snprintf(s->tmp, sizeof s->tmp, "%s/.%s.snapkeep-restore-XXXXXX", dir, base);
    if (n < 0 || (size_t)n >= sizeof s->tmp) {
        free(s);
        return sk_fail(err, SK_ERR_USAGE, 0, "path too long: '%s'", target ? target : dir);
    }
    s->fd = mkstemp(s->tmp);
    if (s->fd < 0) {
        int e2 = errno;
        free(s);
        return sk_fail(err, verify ? SK_ERR_CONFIG : SK_ERR_SOURCE, e2, "cannot create a temp file in '%s': %s", dir,
                       strerror(e2));
    }
    if (!verify) {
        /* mkstemp makes 0600; the application (often another uid in containers) must keep access */
        if (like) {
            if (fchmod(s->fd, like->st_mode & 07777) != 0 ||
                (geteuid() == 0 && fchown(s->fd, like->st_uid, like->st_gid) != 0))
                sk_log_msg(e->rt ? e->rt->log : NULL, SK_LOG_WARN, "could not copy the mode/owner of '%s': %s",
                           target, strerror(errno));
        } else {
            mode_t um = umask(0);
            umask(um);
            fchmod(s->fd, 0666 & ~um);
        }
    }
    *out = &s->base;
    return SK_OK;
}

static sk_rc sqlite_restore_open(void *state, const sk_restore_opts *opts, sk_writer **sink, sk_err *err)
{
    sqlite_engine *e = state;
    const char *target = opts->target;
    if (!target || !*target)
        return sk_fail(err, SK_ERR_USAGE, 0, "restore needs --to <path of the database file to write>");
    struct stat st, old;
    int existed = 0;
    /* A symlink (docker volumes often link app.db elsewhere) is followed: the restore goes into the
     * file it points to, by a temp file and rename in *that* directory, so the application that
     * opens the link sees the restored data and the link stays. A dangling link is refused: where
     * it points is not known to be the database's home. */
    char real[PATH_MAX];
    if (lstat(target, &st) == 0 && S_ISLNK(st.st_mode)) {
        if (!realpath(target, real)) {
            if (errno == ENOENT)
                return sk_fail(err, SK_ERR_USAGE, 0,
                               "--to '%s' is a symbolic link to a file that does not exist: point --to at the "
                               "database file itself (or fix the link)", target);
            return sk_fail(err, SK_ERR_USAGE, errno, "--to '%s': cannot resolve the symbolic link: %s", target,
                           strerror(errno));
        }
        sk_log_msg(e->rt ? e->rt->log : NULL, SK_LOG_INFO, "--to '%s' is a symbolic link: restoring into '%s'",
                   target, real);
        target = real;
    }
    if (stat(target, &st) == 0) {
        existed = 1;
        old = st;
        if (!S_ISREG(st.st_mode))
            return sk_fail(err, SK_ERR_USAGE, 0, "--to '%s' exists and is not a regular file", target);
        if (!opts->force)
            return sk_fail(err, SK_ERR_USAGE, 0,
                           "--to '%s' exists: stop the application that uses it, then pass --force to replace it",
                           target);
    } else if (errno != ENOENT) {
        return sk_fail(err, SK_ERR_USAGE, errno, "--to '%s': %s", target, strerror(errno));
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", target);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return sk_fail(err, SK_ERR_USAGE, errno, "--to '%s': directory '%s' does not exist", target, dir);
    return sink_new(e, dir, target, 0, NULL, existed ? &old : NULL, sink, err);
}

static sk_rc sqlite_verify_open(void *state, char *summary, sk_writer **sink, sk_err *err)
{
    sqlite_engine *e = state;
    return sink_new(e, e->spool, NULL, 1, summary, NULL, sink, err);
}

/* Drill: the restored file is a flock()ed temp file in the spool directory (the lock marks it live;
 * a killed drill's file is removed by the next drill's sweep), checked, counted and deleted. */
#define DRILL_PREFIX "snapkeep-drill-"

static sk_rc sqlite_drill_open(void *state, const sk_drill_opts *opts, sk_drill_report *rep, sk_writer **sink,
                               sk_err *err)
{
    sqlite_engine *e = state;
    sqlite_sink *s = calloc(1, sizeof *s);
    if (!s)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    sk_writer_init(&s->base, &sink_type, NULL);
    s->e = e;
    s->verify = 1;
    s->summary = rep->summary;
    s->rows_out = &rep->table_rows_json;
    int n = snprintf(s->tmp, sizeof s->tmp, "%s/" DRILL_PREFIX "XXXXXX", e->spool);
    if (n < 0 || (size_t)n >= sizeof s->tmp || (s->fd = mkstemp(s->tmp)) < 0) {
        int e2 = errno;
        free(s);
        return sk_fail(err, SK_ERR_CONFIG, e2, "SNAPKEEP_SPOOL_DIR='%s': cannot create the drill's scratch file: %s",
                       e->spool, strerror(e2));
    }
    flock(s->fd, LOCK_EX);
    snprintf(rep->scratch, sizeof rep->scratch, "%s", s->tmp);
    if (opts->pause) {
        sk_log_msg(e->rt ? e->rt->log : NULL, SK_LOG_WARN, "pausing with the drill's scratch file %s "
                   "(SNAPKEEP_DEBUG_DRILL_PAUSE)", s->tmp);
        raise(SIGSTOP);
    }
    *sink = &s->base;
    return SK_OK;
}

static sk_rc sqlite_drill_sweep(void *state, const sk_drill_opts *opts, int *removed, sk_err *err)
{
    (void)opts;
    (void)err;
    *removed = remove_stale(((sqlite_engine *)state)->spool, DRILL_PREFIX);
    return SK_OK;
}

const sk_engine_type sk_engine_sqlite = {
    .name = "sqlite",
    .tag = "sqlite",
    .ext = "sqlite3",
    .settings = sk_sqlite_settings,
    .open = sqlite_open,
    .dump = sqlite_dump,
    .restore_open = sqlite_restore_open,
    .verify_open = sqlite_verify_open,
    .close = sqlite_close,
    .drill_open = sqlite_drill_open,
    .drill_sweep = sqlite_drill_sweep,
};
