#include "pb_zip.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>
#include <zip.h>

/* ---- streaming tail check --------------------------------------------------------------- */

sk_rc pb_ziptail_init(pb_ziptail *t, uint64_t size_hint, sk_err *err)
{
    memset(t, 0, sizeof *t);
    t->cap = size_hint && size_hint < PB_TAIL_MAX ? (size_t)size_hint : PB_TAIL_MAX;
    if (t->cap < 64)
        t->cap = 64;
    if (!(t->buf = malloc(t->cap)))
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    return SK_OK;
}

void pb_ziptail_free(pb_ziptail *t)
{
    free(t->buf);
    t->buf = NULL;
}

void pb_ziptail_feed(pb_ziptail *t, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    for (size_t i = 0; t->seen + i < 4 && i < len; i++)
        t->head[t->seen + i] = p[i];
    t->seen += len;
    if (len >= t->cap) { /* only the last cap bytes matter */
        memcpy(t->buf, p + len - t->cap, t->cap);
        t->pos = 0;
        t->used = t->cap;
        return;
    }
    size_t first = t->cap - t->pos < len ? t->cap - t->pos : len;
    memcpy(t->buf + t->pos, p, first);
    memcpy(t->buf, p + first, len - first);
    t->pos = (t->pos + len) % t->cap;
    t->used = t->used + len > t->cap ? t->cap : t->used + len;
}

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const unsigned char *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

int pb_zip_name_unsafe(const char *name)
{
    if (!*name || name[0] == '/' || strchr(name, '\\'))
        return 1;
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return 1;
        p += n;
        if (*p == '/')
            p++;
    }
    return 0;
}

/* Walk central directory entries in [cd, cd+size); fills info. */
static sk_rc walk_cd(const unsigned char *cd, size_t size, uint64_t expect, pb_zipinfo *info, sk_err *err)
{
    size_t off = 0;
    uint64_t n = 0;
    while (off + 46 <= size) {
        const unsigned char *e = cd + off;
        if (le32(e) != 0x02014b50)
            return sk_fail(err, SK_ERR_INTEGRITY, 0, "the zip's central directory is damaged (entry %llu)",
                           (unsigned long long)n);
        size_t nl = le16(e + 28), xl = le16(e + 30), cl = le16(e + 32);
        if (off + 46 + nl + xl + cl > size)
            return sk_fail(err, SK_ERR_INTEGRITY, 0, "the zip's central directory is truncated");
        char *name = malloc(nl + 1); /* whole: a cut name would hide an unsafe part after the cut */
        if (!name)
            return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        memcpy(name, e + 46, nl);
        name[nl] = '\0';
        uint64_t usize = le32(e + 24);
        if (usize == 0xFFFFFFFFu) { /* zip64 extra field 0x0001 holds the real size first */
            const unsigned char *x = e + 46 + nl, *xe = x + xl;
            while (x + 4 <= xe) {
                uint16_t id = le16(x), len = le16(x + 2);
                if (id == 1 && len >= 8 && x + 4 + 8 <= xe) {
                    usize = le64(x + 4);
                    break;
                }
                x += 4 + len;
            }
        }
        if (pb_zip_name_unsafe(name)) {
            sk_rc rc = sk_fail(err, SK_ERR_INTEGRITY, 0, "the zip has an entry with an unsafe path ('%.200s')", name);
            free(name);
            return rc;
        }
        if (strcmp(name, "data.db") == 0) {
            info->has_data_db = 1;
            info->data_db_size = usize;
        } else if (strcmp(name, "data.db-wal") == 0) {
            info->data_wal_size = usize;
        } else if (strncmp(name, "storage/", 8) == 0 && name[nl ? nl - 1 : 0] != '/') {
            info->storage_files++;
        }
        free(name);
        info->uncompressed += usize;
        n++;
        off += 46 + nl + xl + cl;
    }
    if (n != expect)
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "the zip's central directory lists %llu entries, its end record says %llu",
                       (unsigned long long)n, (unsigned long long)expect);
    info->entries = n;
    return SK_OK;
}

sk_rc pb_ziptail_check(pb_ziptail *t, pb_zipinfo *info, sk_err *err)
{
    memset(info, 0, sizeof *info);
    if (t->seen < 22 || memcmp(t->head, "PK", 2) != 0 ||
        !((t->head[2] == 3 && t->head[3] == 4) || (t->head[2] == 5 && t->head[3] == 6)))
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "what the server sent is not a zip file (%llu bytes)",
                       (unsigned long long)t->seen);
    /* linearise the ring: lin[i] is file byte (seen - used + i) */
    unsigned char *lin = malloc(t->used);
    if (!lin)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    size_t start = t->used < t->cap ? 0 : t->pos;
    for (size_t i = 0, j = start; i < t->used; i++, j = (j + 1) % t->cap)
        lin[i] = t->buf[j];
    uint64_t base = t->seen - t->used;
    sk_rc rc = SK_OK;
    size_t eocd = SIZE_MAX;
    for (size_t i = t->used - 22 + 1; i-- > 0 && t->used - i <= 22 + 65535;) {
        if (le32(lin + i) == 0x06054b50 && i + 22 + le16(lin + i + 20) == t->used) {
            eocd = i;
            break;
        }
    }
    if (eocd == SIZE_MAX) {
        rc = sk_fail(err, SK_ERR_INTEGRITY, 0, "the zip has no end record: it is truncated or not a zip (%llu bytes)",
                     (unsigned long long)t->seen);
        goto out;
    }
    uint64_t entries = le16(lin + eocd + 10), cd_size = le32(lin + eocd + 12), cd_off = le32(lin + eocd + 16);
    uint64_t cd_end = base + eocd; /* where the central directory must end */
    if (entries == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) {
        if (eocd < 20 || le32(lin + eocd - 20) != 0x07064b50) {
            rc = sk_fail(err, SK_ERR_INTEGRITY, 0, "the zip64 end locator is missing");
            goto out;
        }
        uint64_t z = le64(lin + eocd - 20 + 8);
        if (z < base || z - base > eocd - 20 || eocd - 20 - (z - base) < 56 || /* no wrap-around */
            le32(lin + (z - base)) != 0x06064b50) {
            rc = sk_fail(err, SK_ERR_INTEGRITY, 0, "the zip64 end record is damaged");
            goto out;
        }
        const unsigned char *r = lin + (z - base);
        entries = le64(r + 32);
        cd_size = le64(r + 40);
        cd_off = le64(r + 48);
        cd_end = z;
    }
    if (cd_off > cd_end || cd_size != cd_end - cd_off) { /* zip64 values: no wrap-around */
        rc = sk_fail(err, SK_ERR_INTEGRITY, 0,
                     "the zip's central directory is not where its end record says (truncated or altered)");
        goto out;
    }
    if (cd_off < base) { /* too big to hold: structure checked, contents not listed */
        info->entries = entries;
        info->has_data_db = -1;
        goto out;
    }
    rc = walk_cd(lin + (cd_off - base), (size_t)cd_size, entries, info, err);
    if (rc == SK_OK && !info->has_data_db)
        rc = sk_fail(err, SK_ERR_INTEGRITY, 0, "the zip has no data.db at its root: it is not a PocketBase backup");
out:
    free(lin);
    return rc;
}

/* ---- full check with libzip ------------------------------------------------------------- */

static sk_rc extract(zip_t *z, zip_uint64_t i, const char *name, const char *path, sk_err *err)
{
    zip_file_t *f = zip_fopen_index(z, i, 0);
    if (!f)
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "cannot open '%s' in the zip: %s", name, zip_strerror(z));
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
    sk_rc rc = SK_OK;
    if (path && fd < 0) {
        rc = sk_fail(err, SK_ERR_CONFIG, errno, "cannot create '%s' (SNAPKEEP_SPOOL_DIR): %s", path, strerror(errno));
        goto out;
    }
    char buf[1 << 16];
    for (;;) {
        zip_int64_t n = zip_fread(f, buf, sizeof buf);
        if (n < 0) {
            rc = sk_fail(err, SK_ERR_INTEGRITY, 0, "'%s' in the zip is damaged: %s", name, zip_file_strerror(f));
            goto out;
        }
        if (n == 0)
            break;
        for (char *p = buf; fd >= 0 && n > 0;) {
            ssize_t w = write(fd, p, (size_t)n);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = sk_fail(err, SK_ERR_CONFIG, errno, "write '%s' (SNAPKEEP_SPOOL_DIR): %s", path, strerror(errno));
                goto out;
            }
            p += w;
            n -= w;
        }
    }
out:
    if (fd >= 0)
        close(fd);
    zip_fclose(f);
    return rc;
}

/* Records per collection of data.db: the application's collections (not system ones, not views,
 * which hold no rows of their own), as {"name": records}. NULL when there is no such catalogue or
 * a collection's table cannot be counted. */
static char *count_collections(sqlite3 *db)
{
    sqlite3_stmt *names = NULL;
    json_t *o = json_object();
    char *text = NULL;
    int ok = o && sqlite3_prepare_v2(db, "SELECT name FROM _collections WHERE NOT system AND type <> 'view' ORDER BY name",
                                     -1, &names, NULL) == SQLITE_OK;
    while (ok && sqlite3_step(names) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(names, 0);
        char *q = name ? sqlite3_mprintf("SELECT count(*) FROM \"%w\"", name) : NULL;
        sqlite3_stmt *c = NULL;
        ok = q && sqlite3_prepare_v2(db, q, -1, &c, NULL) == SQLITE_OK && sqlite3_step(c) == SQLITE_ROW &&
             json_object_set_new(o, name, json_integer(sqlite3_column_int64(c, 0))) == 0;
        sqlite3_finalize(c);
        sqlite3_free(q);
    }
    sqlite3_finalize(names);
    if (ok)
        text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return text;
}

static sk_rc check_db(const char *path, pb_zipinfo *info, char **collections, sk_err *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    sk_rc rc = SK_OK;
    /* read-write on our private copy, so a non-empty WAL is applied as PocketBase would see it */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        rc = sk_fail(err, SK_ERR_INTEGRITY, 0, "data.db from the zip cannot be opened: %s",
                     db ? sqlite3_errmsg(db) : "out of memory");
        goto out;
    }
    char report[400] = "";
    int rows = 0, ok = 0, r = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL);
    while (st && (r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(st, 0);
        ok = ++rows == 1 && line && strcmp(line, "ok") == 0;
        if (line && rows <= 3)
            snprintf(report + strlen(report), sizeof report - strlen(report), "%s%s", rows > 1 ? "; " : "", line);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (r != SQLITE_DONE || !ok || rows != 1) {
        rc = sk_fail(err, SK_ERR_INTEGRITY, 0, "data.db in the zip fails PRAGMA integrity_check: %s",
                     report[0] ? report : sqlite3_errmsg(db));
        goto out;
    }
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_schema WHERE type='table'", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        info->tables = sqlite3_column_int64(st, 0);
    if (collections)
        *collections = count_collections(db);
out:
    sqlite3_finalize(st);
    if (db)
        sqlite3_close(db);
    return rc;
}

sk_rc pb_zip_verify_fd(int fd, const char *spool_dir, pb_zipinfo *info, sk_err *err)
{
    return pb_zip_check_fd(fd, spool_dir, info, NULL, err);
}

sk_rc pb_zip_check_fd(int fd, const char *spool_dir, pb_zipinfo *info, char **collections, sk_err *err)
{
    memset(info, 0, sizeof *info);
    zip_error_t ze;
    zip_error_init(&ze);
    zip_t *z = NULL;
    sk_rc rc = SK_OK;
    char dir[PATH_MAX] = "", dbp[PATH_MAX + 32] = "", walp[PATH_MAX + 32] = "", shmp[PATH_MAX + 32] = "";
    int dup_fd = dup(fd);
    FILE *fp = dup_fd >= 0 ? fdopen(dup_fd, "rb") : NULL;
    if (!fp) {
        if (dup_fd >= 0)
            close(dup_fd);
        return sk_fail(err, SK_ERR_INTERNAL, errno, "cannot reopen the spooled zip: %s", strerror(errno));
    }
    zip_source_t *src = zip_source_filep_create(fp, 0, -1, &ze); /* owns fp from here */
    if (!src) {
        fclose(fp);
        rc = sk_fail(err, SK_ERR_INTERNAL, 0, "libzip: %s", zip_error_strerror(&ze));
        goto out;
    }
    if (!(z = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze))) {
        zip_source_free(src);
        rc = sk_fail(err, SK_ERR_INTEGRITY, 0, "the artifact is not a readable zip: %s", zip_error_strerror(&ze));
        goto out;
    }
    zip_int64_t n = zip_get_num_entries(z, 0);
    zip_int64_t db_index = -1, wal_index = -1;
    for (zip_int64_t i = 0; i < n; i++) {
        zip_stat_t s;
        if (zip_stat_index(z, (zip_uint64_t)i, 0, &s) != 0 || !(s.valid & ZIP_STAT_NAME)) {
            rc = sk_fail(err, SK_ERR_INTEGRITY, 0, "entry %lld of the zip is unreadable: %s", (long long)i, zip_strerror(z));
            goto out;
        }
        if (pb_zip_name_unsafe(s.name)) {
            rc = sk_fail(err, SK_ERR_INTEGRITY, 0, "the zip has an entry with an unsafe path ('%s'); PocketBase would "
                         "refuse it", s.name);
            goto out;
        }
        uint64_t size = s.valid & ZIP_STAT_SIZE ? s.size : 0;
        info->uncompressed += size;
        if (strcmp(s.name, "data.db") == 0) {
            db_index = i;
            info->has_data_db = 1;
            info->data_db_size = size;
        } else if (strcmp(s.name, "data.db-wal") == 0) {
            wal_index = i;
            info->data_wal_size = size;
        } else if (strncmp(s.name, "storage/", 8) == 0 && s.name[strlen(s.name) - 1] != '/') {
            info->storage_files++;
        }
    }
    info->entries = (uint64_t)n;
    if (db_index < 0) {
        rc = sk_fail(err, SK_ERR_INTEGRITY, 0, "the zip has no data.db at its root: it is not a PocketBase backup "
                     "(PocketBase's restore would fail)");
        goto out;
    }
    snprintf(dir, sizeof dir, "%s/snapkeep-pbcheck-XXXXXX", spool_dir);
    if (!mkdtemp(dir)) {
        rc = sk_fail(err, SK_ERR_CONFIG, errno, "SNAPKEEP_SPOOL_DIR='%s': cannot create a scratch directory: %s",
                     spool_dir, strerror(errno));
        dir[0] = '\0';
        goto out;
    }
    snprintf(dbp, sizeof dbp, "%s/data.db", dir);
    snprintf(walp, sizeof walp, "%s/data.db-wal", dir);
    snprintf(shmp, sizeof shmp, "%s/data.db-shm", dir);
    /* every entry is read to its end: libzip checks each CRC there */
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(z, (zip_uint64_t)i, 0);
        const char *to = i == db_index ? dbp : (i == wal_index && info->data_wal_size ? walp : NULL);
        if ((rc = extract(z, (zip_uint64_t)i, name ? name : "?", to, err)) != SK_OK)
            goto out;
    }
    rc = check_db(dbp, info, collections, err);
out:
    if (z)
        zip_discard(z);
    zip_error_fini(&ze);
    if (dir[0]) {
        unlink(dbp);
        unlink(walp);
        unlink(shmp);
        rmdir(dir);
    }
    return rc;
}
