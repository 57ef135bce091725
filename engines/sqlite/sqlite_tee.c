#include "sqlite_tee.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

/* SQLite never writes the page that holds the lock byte (PENDING_BYTE, 1 GiB into the file). */
#define LOCK_PAGE_OFFSET 0x40000000LL

struct sk_sqlite_tee {
    sqlite3_vfs src_vfs;      /* for the source: remembers page 1 as read (pAppData: this tee) */
    sqlite3_vfs dst_vfs;      /* for the spool: streams the writes */
    sqlite3_vfs *base;
    char src_name[64];
    char dst_name[64];
    int registered;           /* how many of the two */
    unsigned char *read1;     /* the source's page 1 as last read (the pinned snapshot's) */
    int read1_len;
    sk_writer *out;
    uint64_t next;            /* bytes streamed: the offset the next in-order write starts at */
    unsigned char *page1;     /* the streamed page 1, to compare a rewrite against */
    unsigned char *batch;     /* pages not yet pushed: one call down the chain per BATCH bytes */
    size_t batched;
    int discard;              /* spool files opened from now on only stream, never store */
    sqlite3_int64 size;       /* such a file's size as SQLite made it (highest write end, truncate) */
    int page1_len;
    sk_rc failed;
    sk_err err;
};

enum tee_role { ROLE_PASS, ROLE_SRC_DB, ROLE_SRC_WAL, ROLE_DST_DB };

typedef struct tee_file {
    sqlite3_file base;        /* pMethods: tee_methods */
    sk_sqlite_tee *tee;
    enum tee_role role;
    int discard;              /* ROLE_DST_DB: writes are streamed only (sk_sqlite_tee_discard) */
    sqlite3_file *real;       /* the base VFS's file, allocated after this struct */
} tee_file;

/* Record the first failure (an internal one: SQLite did what it is documented not to do). */
static int fail(sk_sqlite_tee *t, const char *msg)
{
    if (t->failed == SK_OK) {
        t->failed = SK_ERR_INTERNAL;
        sk_fail(&t->err, SK_ERR_INTERNAL, 0, "%s", msg);
    }
    return SQLITE_IOERR_WRITE;
}

/* Pages are pushed down the chain in batches: per 4 KiB page, the calls through the progress,
 * hash and zstd stages cost more than their work. */
#define BATCH (256 << 10)

static int push(sk_sqlite_tee *t)
{
    sk_err e;
    sk_err_clear(&e);
    sk_rc rc = t->batched ? sk_writer_write(t->out, t->batch, t->batched, &e) : SK_OK;
    t->batched = 0;
    if (rc != SK_OK) {
        if (t->failed == SK_OK) {
            t->failed = rc;
            t->err = e;
        }
        return SQLITE_IOERR_WRITE;
    }
    return SQLITE_OK;
}

static int emit(sk_sqlite_tee *t, const void *buf, int amt)
{
    if (t->batched + (size_t)amt > BATCH && push(t) != SQLITE_OK)
        return SQLITE_IOERR_WRITE;
    if ((size_t)amt > BATCH) { /* not a page size SQLite has */
        t->batched = (size_t)amt;
        int rc = SQLITE_OK;
        const unsigned char *p = buf;
        for (size_t done = 0; rc == SQLITE_OK && done < (size_t)amt; done += BATCH) {
            t->batched = (size_t)amt - done < BATCH ? (size_t)amt - done : BATCH;
            memcpy(t->batch, p + done, t->batched);
            rc = push(t);
        }
        if (rc != SQLITE_OK)
            return rc;
    } else {
        memcpy(t->batch + t->batched, buf, (size_t)amt);
        t->batched += (size_t)amt;
    }
    t->next += (uint64_t)amt;
    return SQLITE_OK;
}

/* The header fields the backup API rewrites at commit: change counter and page count (24..31),
 * schema cookie (40..43), version-valid-for and library version (92..99). */
static int header_only_differs(const unsigned char *a, const unsigned char *b, int len)
{
    for (int i = 0; i < len; i++) {
        if (a[i] == b[i] || (i >= 24 && i < 32) || (i >= 40 && i < 44) || (i >= 92 && i < 100))
            continue;
        return 0;
    }
    return 1;
}

static int tee_page(sk_sqlite_tee *t, const void *buf, int amt, sqlite3_int64 off)
{
    char msg[256];
    if (t->failed != SK_OK)
        return SQLITE_IOERR_WRITE;
    if ((uint64_t)off == t->next) {
        if (off == 0) {
            free(t->page1);
            if (!(t->page1 = malloc((size_t)amt)))
                return fail(t, "out of memory");
            memcpy(t->page1, buf, (size_t)amt);
            t->page1_len = amt;
        }
        return emit(t, buf, amt);
    }
    if (off == 0 && t->page1 && amt == t->page1_len) {
        if (header_only_differs(t->page1, buf, amt))
            return SQLITE_OK;
        snprintf(msg, sizeof msg, "the snapshot's page 1 changed after it was streamed (%llu bytes streamed): "
                 "please report this as a bug", (unsigned long long)t->next);
        return fail(t, msg);
    }
    if (off == LOCK_PAGE_OFFSET + amt && t->next == (uint64_t)LOCK_PAGE_OFFSET) {
        void *zero = calloc(1, (size_t)amt);
        int rc = zero ? emit(t, zero, amt) : fail(t, "out of memory");
        free(zero);
        return rc == SQLITE_OK ? emit(t, buf, amt) : rc;
    }
    snprintf(msg, sizeof msg, "the snapshot copy wrote at offset %lld after streaming %llu bytes (out of order): "
             "please report this as a bug", (long long)off, (unsigned long long)t->next);
    return fail(t, msg);
}

static int is_page_size(int n) { return n >= 512 && n <= 65536 && (n & (n - 1)) == 0; }

static void remember_page1(sk_sqlite_tee *t, const void *buf, int amt)
{
    if (t->read1_len != amt) {
        free(t->read1);
        t->read1_len = 0;
        if (!(t->read1 = malloc((size_t)amt)))
            return;
        t->read1_len = amt;
    }
    memcpy(t->read1, buf, (size_t)amt);
}

/* A read by the source connection: page 1 comes from the database file at offset 0, or from a WAL
 * frame whose header (the 24 bytes before the page, starting with the page number) says page 1. */
static void src_read(tee_file *tf, const void *buf, int amt, sqlite3_int64 off)
{
    if (!is_page_size(amt))
        return;
    if (tf->role == ROLE_SRC_DB && off == 0) {
        remember_page1(tf->tee, buf, amt);
    } else if (tf->role == ROLE_SRC_WAL && off >= 32 + 24 && (off - 32 - 24) % (amt + 24) == 0) {
        unsigned char hdr[4];
        if (tf->real->pMethods->xRead(tf->real, hdr, 4, off - 24) == SQLITE_OK &&
            ((uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3]) == 1)
            remember_page1(tf->tee, buf, amt);
    }
}

/* ---- sqlite3_io_methods: pass through, tee the writes ------------------------------------- */

#define REAL(f) (((tee_file *)(f))->real)

static int t_close(sqlite3_file *f)
{
    int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
    f->pMethods = NULL;
    return rc;
}
/* A discarding spool reads as what SQLite wrote where that is known (page 1, streamed first), as
 * zeros past its end, and fails anywhere else: the backup API never reads back a page it wrote. */
static int discard_read(sk_sqlite_tee *t, void *b, int n, sqlite3_int64 o)
{
    if (t->page1 && o >= 0 && o + n <= t->page1_len) {
        memcpy(b, t->page1 + o, (size_t)n);
        return SQLITE_OK;
    }
    if (o >= t->size) {
        memset(b, 0, (size_t)n);
        return SQLITE_IOERR_SHORT_READ;
    }
    fail(t, "SQLite read back a page of the snapshot copy that was not stored: please report this as a bug");
    return SQLITE_IOERR_READ;
}

static int t_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
    tee_file *tf = (tee_file *)f;
    if (tf->discard)
        return discard_read(tf->tee, b, n, o);
    int rc = tf->real->pMethods->xRead(tf->real, b, n, o);
    if (rc == SQLITE_OK && (tf->role == ROLE_SRC_DB || tf->role == ROLE_SRC_WAL))
        src_read(tf, b, n, o);
    return rc;
}
static int t_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
    tee_file *tf = (tee_file *)f;
    if (tf->discard) {
        int rc = tee_page(tf->tee, b, n, o);
        if (rc == SQLITE_OK && o + n > tf->tee->size)
            tf->tee->size = o + n;
        return rc;
    }
    int rc = tf->real->pMethods->xWrite(tf->real, b, n, o);
    return rc != SQLITE_OK || tf->role != ROLE_DST_DB ? rc : tee_page(tf->tee, b, n, o);
}
static int t_truncate(sqlite3_file *f, sqlite3_int64 s)
{
    tee_file *tf = (tee_file *)f;
    if (!tf->discard)
        return tf->real->pMethods->xTruncate(tf->real, s);
    if (s < tf->tee->size)
        tf->tee->size = s;
    return SQLITE_OK;
}
static int t_sync(sqlite3_file *f, int fl)
{
    return ((tee_file *)f)->discard ? SQLITE_OK : REAL(f)->pMethods->xSync(REAL(f), fl);
}
static int t_size(sqlite3_file *f, sqlite3_int64 *s)
{
    tee_file *tf = (tee_file *)f;
    if (!tf->discard)
        return tf->real->pMethods->xFileSize(tf->real, s);
    *s = tf->tee->size;
    return SQLITE_OK;
}
static int t_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int t_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int t_reserved(sqlite3_file *f, int *r) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), r); }
static int t_fcntl(sqlite3_file *f, int op, void *a)
{
    if (((tee_file *)f)->discard && op == SQLITE_FCNTL_SIZE_HINT)
        return SQLITE_OK; /* nothing is stored: no space to reserve */
    return REAL(f)->pMethods->xFileControl(REAL(f), op, a);
}
static int t_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int t_devchar(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }

/* The source may be in WAL mode: shared memory and fetch pass through as well (a base file that
 * lacks them gets methods of its own version, see v_open). */
static int t_shmmap(sqlite3_file *f, int pg, int sz, int ext, void volatile **p)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, p);
}
static int t_shmlock(sqlite3_file *f, int o, int n, int fl) { return REAL(f)->pMethods->xShmLock(REAL(f), o, n, fl); }
static void t_shmbarrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int t_shmunmap(sqlite3_file *f, int del) { return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }
static int t_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **p)
{
    /* no mmap of the source: every page is read, so page 1 is seen */
    (void)f, (void)o, (void)n;
    *p = NULL;
    return SQLITE_OK;
}
static int t_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p) { return REAL(f)->pMethods->xUnfetch(REAL(f), o, p); }

static const sqlite3_io_methods tee_methods_v1 = {
    1, t_close, t_read, t_write, t_truncate, t_sync, t_size, t_lock, t_unlock, t_reserved, t_fcntl, t_sector,
    t_devchar, NULL, NULL, NULL, NULL, NULL, NULL,
};
static const sqlite3_io_methods tee_methods_v2 = {
    2, t_close, t_read, t_write, t_truncate, t_sync, t_size, t_lock, t_unlock, t_reserved, t_fcntl, t_sector,
    t_devchar, t_shmmap, t_shmlock, t_shmbarrier, t_shmunmap, NULL, NULL,
};
static const sqlite3_io_methods tee_methods_v3 = {
    3, t_close, t_read, t_write, t_truncate, t_sync, t_size, t_lock, t_unlock, t_reserved, t_fcntl, t_sector,
    t_devchar, t_shmmap, t_shmlock, t_shmbarrier, t_shmunmap, t_fetch, t_unfetch,
};

/* ---- sqlite3_vfs: open wraps, the rest passes through ------------------------------------- */

#define BASE(v) (((sk_sqlite_tee *)(v)->pAppData)->base)

static int v_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    tee_file *tf = (tee_file *)f;
    sk_sqlite_tee *t = v->pAppData;
    tf->real = (sqlite3_file *)(tf + 1);
    tf->tee = t;
    tf->role = ROLE_PASS;
    tf->discard = 0;
    if (v == &t->dst_vfs && (flags & SQLITE_OPEN_MAIN_DB)) {
        tf->role = ROLE_DST_DB;
        tf->discard = t->discard;
    }
    else if (v == &t->src_vfs && (flags & SQLITE_OPEN_MAIN_DB))
        tf->role = ROLE_SRC_DB;
    else if (v == &t->src_vfs && (flags & SQLITE_OPEN_WAL))
        tf->role = ROLE_SRC_WAL;
    f->pMethods = NULL;
    int rc = BASE(v)->xOpen(BASE(v), name, tf->real, flags, out_flags);
    if (tf->real->pMethods) { /* set even after a failed open: SQLite then calls xClose */
        int ver = tf->real->pMethods->iVersion;
        f->pMethods = ver >= 3 ? &tee_methods_v3 : ver == 2 ? &tee_methods_v2 : &tee_methods_v1;
    }
    return rc;
}
static int v_delete(sqlite3_vfs *v, const char *n, int s) { return BASE(v)->xDelete(BASE(v), n, s); }
static int v_access(sqlite3_vfs *v, const char *n, int fl, int *r) { return BASE(v)->xAccess(BASE(v), n, fl, r); }
static int v_full(sqlite3_vfs *v, const char *n, int sz, char *o) { return BASE(v)->xFullPathname(BASE(v), n, sz, o); }
static void *v_dlopen(sqlite3_vfs *v, const char *n) { return BASE(v)->xDlOpen(BASE(v), n); }
static void v_dlerror(sqlite3_vfs *v, int n, char *m) { BASE(v)->xDlError(BASE(v), n, m); }
static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *s))(void) { return BASE(v)->xDlSym(BASE(v), h, s); }
static void v_dlclose(sqlite3_vfs *v, void *h) { BASE(v)->xDlClose(BASE(v), h); }
static int v_random(sqlite3_vfs *v, int n, char *o) { return BASE(v)->xRandomness(BASE(v), n, o); }
static int v_sleep(sqlite3_vfs *v, int us) { return BASE(v)->xSleep(BASE(v), us); }
static int v_time(sqlite3_vfs *v, double *t) { return BASE(v)->xCurrentTime(BASE(v), t); }
static int v_lasterr(sqlite3_vfs *v, int n, char *m) { return BASE(v)->xGetLastError(BASE(v), n, m); }
static int v_time64(sqlite3_vfs *v, sqlite3_int64 *t)
{
    if (BASE(v)->iVersion >= 2 && BASE(v)->xCurrentTimeInt64)
        return BASE(v)->xCurrentTimeInt64(BASE(v), t);
    double d = 0;
    int rc = BASE(v)->xCurrentTime(BASE(v), &d);
    *t = (sqlite3_int64)(d * 86400000.0);
    return rc;
}

static void vfs_init(sqlite3_vfs *v, sk_sqlite_tee *t, const char *name)
{
    v->iVersion = 2;
    v->szOsFile = (int)sizeof(tee_file) + t->base->szOsFile;
    v->mxPathname = t->base->mxPathname;
    v->zName = name;
    v->pAppData = t;
    v->xOpen = v_open;
    v->xDelete = v_delete;
    v->xAccess = v_access;
    v->xFullPathname = v_full;
    v->xDlOpen = v_dlopen;
    v->xDlError = v_dlerror;
    v->xDlSym = v_dlsym;
    v->xDlClose = v_dlclose;
    v->xRandomness = v_random;
    v->xSleep = v_sleep;
    v->xCurrentTime = v_time;
    v->xGetLastError = v_lasterr;
    v->xCurrentTimeInt64 = v_time64;
}

sk_sqlite_tee *sk_sqlite_tee_new(sk_writer *out, sk_err *err)
{
    sk_sqlite_tee *t = calloc(1, sizeof *t);
    sqlite3_vfs *base = sqlite3_vfs_find(NULL);
    if (!t || !base) {
        free(t);
        sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "SQLite: %s", base ? "out of memory" : "no default VFS");
        return NULL;
    }
    t->base = base;
    t->out = out;
    sk_err_clear(&t->err);
    if (!(t->batch = malloc(BATCH))) {
        free(t);
        sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "SQLite: out of memory");
        return NULL;
    }
    /* names unique while t lives */
    snprintf(t->src_name, sizeof t->src_name, "snapkeep-src-%p", (void *)t);
    snprintf(t->dst_name, sizeof t->dst_name, "snapkeep-tee-%p", (void *)t);
    vfs_init(&t->src_vfs, t, t->src_name);
    vfs_init(&t->dst_vfs, t, t->dst_name);
    int rc = sqlite3_vfs_register(&t->src_vfs, 0);
    if (rc == SQLITE_OK) {
        t->registered = 1;
        rc = sqlite3_vfs_register(&t->dst_vfs, 0);
    }
    if (rc != SQLITE_OK) {
        sk_sqlite_tee_free(t);
        sk_fail(err, SK_ERR_INTERNAL, rc, "SQLite: cannot register the snapshot VFS: %s", sqlite3_errstr(rc));
        return NULL;
    }
    t->registered = 2;
    return t;
}

const char *sk_sqlite_tee_src_vfs(const sk_sqlite_tee *t) { return t->src_name; }

const char *sk_sqlite_tee_dst_vfs(const sk_sqlite_tee *t) { return t->dst_name; }

sk_rc sk_sqlite_tee_begin(sk_sqlite_tee *t, uint32_t page_count, sk_err *err)
{
    if (t->next != 0)
        return SK_OK;
    if (!t->read1_len)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "the source's page 1 was not read in the snapshot: please report this "
                       "as a bug");
    /* as the backup API does: the page count of the snapshot in the header */
    unsigned char *p = t->read1;
    p[28] = (unsigned char)(page_count >> 24), p[29] = (unsigned char)(page_count >> 16);
    p[30] = (unsigned char)(page_count >> 8), p[31] = (unsigned char)page_count;
    if (!(t->page1 = malloc((size_t)t->read1_len)))
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    memcpy(t->page1, p, (size_t)t->read1_len);
    t->page1_len = t->read1_len;
    if (emit(t, p, t->read1_len) != SQLITE_OK)
        return sk_sqlite_tee_failure(t, err);
    return SK_OK;
}

uint64_t sk_sqlite_tee_bytes(const sk_sqlite_tee *t) { return t->next; }

void sk_sqlite_tee_discard(sk_sqlite_tee *t) { t->discard = 1; }

sk_rc sk_sqlite_tee_failure(const sk_sqlite_tee *t, sk_err *err)
{
    if (t->failed == SK_OK)
        return SK_OK;
    *err = t->err;
    return t->failed;
}

sk_rc sk_sqlite_tee_end(sk_sqlite_tee *t, uint64_t expected, sk_err *err)
{
    if (t->failed == SK_OK)
        push(t);
    if (t->failed != SK_OK)
        return sk_sqlite_tee_failure(t, err);
    if (t->next != expected)
        return sk_fail(err, SK_ERR_INTERNAL, 0,
                       "the snapshot copy streamed %llu bytes for a %llu-byte snapshot: please report this as a bug",
                       (unsigned long long)t->next, (unsigned long long)expected);
    return SK_OK;
}

void sk_sqlite_tee_free(sk_sqlite_tee *t)
{
    if (!t)
        return;
    if (t->registered >= 2)
        sqlite3_vfs_unregister(&t->dst_vfs);
    if (t->registered >= 1)
        sqlite3_vfs_unregister(&t->src_vfs);
    free(t->page1);
    free(t->read1);
    free(t->batch);
    free(t);
}
