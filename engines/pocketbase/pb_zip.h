/*
 * pb_zip.h: checks of PocketBase backup zips.
 *
 * Two levels:
 *  - pb_ziptail: while a zip streams past (backup download, no temporary copy), keep its last bytes
 *    and, at the end, find the end-of-central-directory record and walk the central directory:
 *    a truncated or foreign file, or a zip without data.db, is caught before the backup is stored.
 *  - pb_zip_verify_fd: the full check of a spooled zip with libzip (verify and restore): every entry
 *    is read, so every CRC is checked; no entry may escape the extraction directory (as PocketBase's
 *    own extractor refuses); data.db (with its -wal when not empty) is extracted into a scratch
 *    directory and must pass SQLite's PRAGMA integrity_check.
 */
#ifndef SK_PB_ZIP_H
#define SK_PB_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "../../agent/err.h"

typedef struct pb_zipinfo {
    uint64_t entries;
    uint64_t storage_files;     /* entries under storage/ */
    int has_data_db;
    uint64_t data_db_size;      /* uncompressed */
    uint64_t data_wal_size;     /* data.db-wal, uncompressed */
    uint64_t uncompressed;      /* sum of entry sizes */
    long long tables;           /* pb_zip_verify_fd only: tables in data.db */
} pb_zipinfo;

#define PB_TAIL_MAX (8u << 20)

typedef struct pb_ziptail {
    unsigned char *buf;
    size_t cap, used;           /* ring buffer of the last `cap` bytes */
    size_t pos;                 /* next write position */
    uint64_t seen;              /* bytes fed in total */
    unsigned char head[4];      /* the first bytes (local header signature) */
} pb_ziptail;

/* `size_hint`: the expected total size (0 when unknown); the ring holds min(hint, PB_TAIL_MAX). */
sk_rc pb_ziptail_init(pb_ziptail *t, uint64_t size_hint, sk_err *err);
void pb_ziptail_feed(pb_ziptail *t, const void *buf, size_t len);
/* Check the structure; fills *info. On failure the message says what is wrong (SK_ERR_INTEGRITY). */
sk_rc pb_ziptail_check(pb_ziptail *t, pb_zipinfo *info, sk_err *err);
void pb_ziptail_free(pb_ziptail *t);

/* Full check of the zip in `fd` (not closed); scratch files go to `spool_dir` and are removed. */
sk_rc pb_zip_verify_fd(int fd, const char *spool_dir, pb_zipinfo *info, sk_err *err);
/* The same check; with `collections`, also the records per collection of data.db (the
 * application's collections: not system ones, not views) as malloc'd JSON {"name": records}, or
 * NULL when they cannot be counted. */
sk_rc pb_zip_check_fd(int fd, const char *spool_dir, pb_zipinfo *info, char **collections, sk_err *err);

/* True when an entry name would escape the extraction directory (absolute, "..", backslashes). */
int pb_zip_name_unsafe(const char *name);

#endif
