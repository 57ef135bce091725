/* Unit tests of the PocketBase engine's pure parts: backup names, Content-Range parsing, the
 * streaming zip tail check and the libzip + integrity_check verification, on real zips written by
 * libzip and real SQLite databases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>
#include <zip.h>

#include "../../engines/pocketbase/pb_http.h"
#include "../../engines/pocketbase/pb_zip.h"
#include "../../engines/pocketbase/pocketbase.h"

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sk-pbunit-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_names(void **state)
{
    (void)state;
    sk_err err;
    char out[256];
    sk_err_clear(&err);
    /* 2026-03-23 00:00:05 UTC */
    assert_int_equal(sk_pb_backup_name("snapkeep_%Y%m%d_%H%M%S", 1774224005LL, out, sizeof out, &err), SK_OK);
    assert_string_equal(out, "snapkeep_20260323_000005.zip");
    assert_int_equal(sk_pb_backup_name("nightly-%Y%m%d", 1774224005LL, out, sizeof out, &err), SK_OK);
    assert_string_equal(out, "nightly-20260323.zip");
    const char *bad[] = { "Upper", "dots.in.name", "with space", "%b", "", "x/y", NULL };
    for (int i = 0; bad[i]; i++) {
        sk_err_clear(&err);
        assert_int_equal(sk_pb_backup_name(bad[i], 1774224005LL, out, sizeof out, &err), SK_ERR_CONFIG);
        assert_non_null(strstr(err.msg, "SNAPKEEP_POCKETBASE_BACKUP_NAME"));
    }
    char longp[200];
    memset(longp, 'a', 97);
    longp[97] = '\0';
    sk_err_clear(&err);
    assert_int_equal(sk_pb_backup_name(longp, 0, out, sizeof out, &err), SK_ERR_CONFIG); /* 97 + 4 > 100 */
    longp[96] = '\0';
    assert_int_equal(sk_pb_backup_name(longp, 0, out, sizeof out, &err), SK_OK);
}

static void test_content_range(void **state)
{
    (void)state;
    int64_t s, e, t;
    assert_int_equal(pb_parse_content_range(" bytes 100-199/1000\r\n", &s, &e, &t), 0);
    assert_true(s == 100 && e == 199 && t == 1000);
    assert_int_equal(pb_parse_content_range("bytes 0-0/*", &s, &e, &t), 0);
    assert_true(s == 0 && e == 0 && t == -1);
    assert_int_equal(pb_parse_content_range("bytes */1000", &s, &e, &t), -1);
    assert_int_equal(pb_parse_content_range("bytes 200-100/1000", &s, &e, &t), -1);
    assert_int_equal(pb_parse_content_range("bytes 0-999/999", &s, &e, &t), -1);
    assert_int_equal(pb_parse_content_range("items 0-1/2", &s, &e, &t), -1);
    assert_int_equal(pb_parse_content_range("bytes 0-1/2 junk", &s, &e, &t), -1);
}

/* A server's field error goes into log lines: only printable ASCII of it (found by
 * tests/fuzz/fuzz_pb_json: control bytes of data.<field> passed through). */
static void test_describe_printable(void **state)
{
    (void)state;
    static pb_resp r;
    char out[512];
    memset(&r, 0, sizeof r);
    r.status = 400;
    r.len = (size_t)snprintf(r.body, sizeof r.body, "%s",
                             "{\"message\":\"Failed.\",\"data\":{\"na\\u001bme\":{\"code\":\"x\","
                             "\"message\":\"bad\\nFAKE LOG LINE\\u007f\"}}}");
    pb_resp_describe(&r, out, sizeof out);
    assert_string_equal(out, "HTTP 400 \"Failed.\" (na me: bad FAKE LOG LINE)");
}

static void set_body(pb_resp *r, long status, const char *body)
{
    memset(r, 0, sizeof *r);
    r->status = status;
    r->len = (size_t)snprintf(r->body, sizeof r->body, "%s", body);
}

/* GET /api/backups and /api/health as the engine reads them (also fuzz_pb_backups) */
static void test_backup_list_and_health(void **state)
{
    (void)state;
    static pb_resp r;
    uint64_t size = 7;
    char mod[16];
    set_body(&r, 200, "[{\"key\":\"a.zip\",\"size\":5},{\"key\":\"b.zip\",\"modified\":\"2026-12-04 12:00:01.123Z\","
                      "\"size\":1234567},{\"key\":\"b.zip\",\"size\":9}]");
    assert_int_equal(pb_resp_find_backup(&r, "b.zip", &size, mod, sizeof mod), 1);
    assert_int_equal(size, 1234567);
    assert_string_equal(mod, "2026-12-04 12:0"); /* cut to the buffer */
    assert_int_equal(pb_resp_find_backup(&r, "a.zip", &size, mod, sizeof mod), 1);
    assert_int_equal(size, 5);
    assert_string_equal(mod, "?");
    size = 7;
    assert_int_equal(pb_resp_find_backup(&r, "b.zi", &size, mod, sizeof mod), 0);
    assert_int_equal(size, 7);
    set_body(&r, 200, "[{\"key\":\"a.zip\",\"size\":-5}]");
    assert_int_equal(pb_resp_find_backup(&r, "a.zip", &size, mod, sizeof mod), 1);
    assert_int_equal(size, 0);
    set_body(&r, 200, "[{\"key\":\"a.zip\",\"size\":5}");
    assert_int_equal(pb_resp_find_backup(&r, "a.zip", &size, mod, sizeof mod), -1); /* cut */
    set_body(&r, 200, "[{\"key\":\"a.zip\",\"size\":5}]");
    r.truncated = 1;
    assert_int_equal(pb_resp_find_backup(&r, "a.zip", &size, mod, sizeof mod), -1);
    set_body(&r, 200, "{\"items\":[]}");
    assert_int_equal(pb_resp_find_backup(&r, "a.zip", &size, mod, sizeof mod), -1);

    set_body(&r, 200, "{\"message\":\"API is healthy.\",\"code\":200,\"data\":{\"canBackup\":false}}");
    assert_int_equal(pb_resp_can_backup(&r), 0);
    set_body(&r, 200, "{\"data\":{\"canBackup\":true}}");
    assert_int_equal(pb_resp_can_backup(&r), 1);
    set_body(&r, 200, "{\"data\":{\"canBackup\":1}}");
    assert_int_equal(pb_resp_can_backup(&r), -1);
    set_body(&r, 200, "{\"message\":\"API is healthy.\",\"code\":200,\"data\":{}}"); /* no auth: not told */
    assert_int_equal(pb_resp_can_backup(&r), -1);
    set_body(&r, 401, "{\"data\":{\"canBackup\":true}}");
    assert_int_equal(pb_resp_can_backup(&r), -1);
}

static int add_name(void *ud, const char *name)
{
    char *acc = ud;
    size_t l = strlen(acc);
    snprintf(acc + l, 256 - l, "%s%s", l ? "," : "", name);
    return strcmp(name, "stop") == 0;
}

/* The collection list and records counts behind the drill's and the restore guard's record counts
 * (also fuzz_pb_collections) */
static void test_collection_counts(void **state)
{
    (void)state;
    static pb_resp r;
    char names[256] = "";
    /* as the repository's PocketBase-compatible server sends it */
    set_body(&r, 200, "{\"items\":[{\"name\":\"_superusers\",\"system\":true,\"type\":\"auth\"},{\"name\":\"users\","
                      "\"system\":false,\"type\":\"auth\"},{\"name\":\"stats\",\"system\":false,\"type\":\"view\"},"
                      "{\"name\":\"posts\",\"system\":false,\"type\":\"base\"}],\"page\":1,\"perPage\":500,"
                      "\"totalItems\":4,\"totalPages\":1}");
    assert_int_equal(pb_resp_collections(&r, 0, add_name, names), 3);
    assert_string_equal(names, "users,stats,posts");
    names[0] = '\0';
    assert_int_equal(pb_resp_collections(&r, 1, add_name, names), 2); /* views skipped only when asked */
    assert_string_equal(names, "users,posts");
    names[0] = '\0';
    r.truncated = 1;
    assert_int_equal(pb_resp_collections(&r, 0, add_name, names), -1);
    r.truncated = 0;
    r.status = 401;
    assert_int_equal(pb_resp_collections(&r, 0, add_name, names), -1);
    set_body(&r, 200, "{\"items\":[{\"name\":\"a\"}],\"totalPages\":2}"); /* a second page would go uncounted */
    assert_int_equal(pb_resp_collections(&r, 0, add_name, names), -1);
    set_body(&r, 200, "{\"items\":[{\"name\":\"a\"},{\"type\":\"base\"}]}"); /* a collection without a name */
    assert_int_equal(pb_resp_collections(&r, 0, add_name, names), -1);
    set_body(&r, 200, "{\"items\":[{\"name\":\"a\\u0000b\"}]}"); /* "a" would be counted for it */
    assert_int_equal(pb_resp_collections(&r, 0, add_name, names), -1);
    assert_string_equal(names, ""); /* nothing passed from an unreadable list */
    set_body(&r, 200, "{\"items\":[{\"name\":\"a\"},{\"name\":\"stop\"},{\"name\":\"b\"}]}");
    assert_int_equal(pb_resp_collections(&r, 0, add_name, names), -2);
    assert_string_equal(names, "a,stop");

    long long n = 7;
    set_body(&r, 200, "{\"page\":1,\"perPage\":1,\"totalItems\":10,\"totalPages\":10,\"items\":[{\"id\":\"x\"}]}");
    assert_int_equal(pb_resp_total_items(&r, &n), 0);
    assert_int_equal(n, 10);
    /* a negative count would cancel another collection's records in the restore guard's sum */
    set_body(&r, 200, "{\"totalItems\":-5,\"items\":[]}");
    assert_int_equal(pb_resp_total_items(&r, &n), -1);
    set_body(&r, 200, "{\"totalItems\":5.0}");
    assert_int_equal(pb_resp_total_items(&r, &n), -1);
    set_body(&r, 404, "{\"totalItems\":5}");
    assert_int_equal(pb_resp_total_items(&r, &n), -1);
    assert_int_equal(n, 10);

    /* the records path: whole or refused, never a cut name */
    char path[700], lng[400];
    assert_int_equal(pb_records_count_path("my posts", path, sizeof path), 0);
    assert_string_equal(path, "/api/collections/my%20posts/records?perPage=1&fields=id");
    memset(lng, 'n', 255);
    lng[255] = '\0'; /* PocketBase's longest name */
    assert_int_equal(pb_records_count_path(lng, path, sizeof path), 0);
    assert_int_equal(strlen(path), 17 + 255 + 28);
    for (int i = 0; i < 390; i += 2)
        memcpy(lng + i, "\xc3\xa9", 2);
    lng[390] = '\0'; /* 195 x 'e-acute': 1170 bytes escaped */
    assert_int_equal(pb_records_count_path(lng, path, sizeof path), -1);
    assert_string_equal(path, "");
}

static void test_escape_and_unsafe(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(pb_escape("@auto_pb backup.zip", out, sizeof out), 0);
    assert_string_equal(out, "%40auto_pb%20backup.zip");
    assert_int_equal(pb_escape("ab c", out, 7), 0); /* "ab%20c" and its NUL fit exactly */
    assert_string_equal(out, "ab%20c");
    assert_int_equal(pb_escape("ab c", out, 6), -1); /* refused, never cut */
    assert_string_equal(out, "");
    assert_true(pb_zip_name_unsafe("../x"));
    assert_true(pb_zip_name_unsafe("storage/../../etc/passwd"));
    assert_true(pb_zip_name_unsafe("/abs"));
    assert_true(pb_zip_name_unsafe("a\\b"));
    assert_true(pb_zip_name_unsafe(""));
    assert_false(pb_zip_name_unsafe("storage/c/r/file..txt"));
    assert_false(pb_zip_name_unsafe("data.db"));
}

/* A real SQLite database file with `rows` rows; returns its bytes (malloc'd). */
static unsigned char *make_db(int rows, size_t *len)
{
    char path[128];
    snprintf(path, sizeof path, "%s/src-%d.db", tmpdir, rows);
    unlink(path);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE posts(id INTEGER PRIMARY KEY, title TEXT);", NULL, NULL, NULL),
                     SQLITE_OK);
    for (int i = 0; i < rows; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "INSERT INTO posts(title) VALUES('post %d %0100d')", i, i);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    }
    sqlite3_close(db);
    int fd = open(path, O_RDONLY);
    struct stat st;
    fstat(fd, &st);
    unsigned char *b = malloc((size_t)st.st_size);
    assert_int_equal(read(fd, b, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return b;
}

/* Write a zip with the given entries (name, data, len triples; NULL name ends) to `path`. */
typedef struct ent {
    const char *name;
    const void *data;
    size_t len;
} ent;

static void make_zip(const char *path, const ent *e)
{
    int zerr;
    unlink(path);
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_EXCL, &zerr);
    assert_non_null(z);
    for (; e->name; e++) {
        zip_source_t *s = zip_source_buffer(z, e->data, e->len, 0);
        assert_non_null(s);
        assert_true(zip_file_add(z, e->name, s, ZIP_FL_ENC_UTF_8) >= 0);
    }
    assert_int_equal(zip_close(z), 0);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    fstat(fd, &st);
    unsigned char *b = malloc((size_t)st.st_size + 1);
    assert_int_equal(read(fd, b, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return b;
}

static sk_rc tail_check(const unsigned char *b, size_t len, uint64_t hint, size_t chunk, pb_zipinfo *zi, sk_err *err)
{
    pb_ziptail t;
    sk_err_clear(err);
    assert_int_equal(pb_ziptail_init(&t, hint, err), SK_OK);
    for (size_t off = 0; off < len; off += chunk)
        pb_ziptail_feed(&t, b + off, len - off < chunk ? len - off : chunk);
    sk_rc rc = pb_ziptail_check(&t, zi, err);
    pb_ziptail_free(&t);
    return rc;
}

static void test_ziptail(void **state)
{
    (void)state;
    size_t dblen, len;
    unsigned char *db = make_db(300, &dblen);
    static char blob[60000];
    for (size_t i = 0; i < sizeof blob; i++)
        blob[i] = (char)(i * 2654435761u >> 13);
    char path[128];
    snprintf(path, sizeof path, "%s/good.zip", tmpdir);
    ent good[] = { { "auxiliary.db", "aux", 3 }, { "data.db", db, dblen }, { "data.db-wal", "", 0 },
                   { "storage/c1/r1/a.bin", blob, sizeof blob }, { "storage/c1/r2/b.txt", "hello", 5 },
                   { NULL, NULL, 0 } };
    make_zip(path, good);
    unsigned char *z = slurp(path, &len);
    pb_zipinfo zi;
    sk_err err;
    size_t chunks[] = { 1, 7, 4096, 65536, 1 << 20 };
    for (size_t i = 0; i < sizeof chunks / sizeof *chunks; i++) {
        /* with the exact size as hint, with none, and with a ring smaller than the file */
        assert_int_equal(tail_check(z, len, len, chunks[i], &zi, &err), SK_OK);
        assert_int_equal(tail_check(z, len, 0, chunks[i], &zi, &err), SK_OK);
        assert_int_equal(zi.entries, 5);
        assert_int_equal(zi.storage_files, 2);
        assert_int_equal(zi.has_data_db, 1);
        assert_int_equal(zi.data_db_size, dblen);
    }
    assert_int_equal(tail_check(z, len, 1000, 4096, &zi, &err), SK_OK); /* CD fits in 1000 bytes */
    assert_int_equal(zi.has_data_db, 1);
    assert_int_equal(tail_check(z, len, 64, 4096, &zi, &err), SK_OK); /* too small to list: structure only */
    assert_int_equal(zi.has_data_db, -1);

    /* every truncation is caught */
    size_t cuts[] = { len - 1, len - 22, len - 100, len / 2, 30, 10 };
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        assert_int_equal(tail_check(z, cuts[i], len, 4096, &zi, &err), SK_ERR_INTEGRITY);
        assert_true(err.msg[0] != '\0');
    }
    /* a byte appended after the end record */
    unsigned char *longer = malloc(len + 1);
    memcpy(longer, z, len);
    longer[len] = 0;
    assert_int_equal(tail_check(longer, len + 1, 0, 4096, &zi, &err), SK_ERR_INTEGRITY);
    /* not a zip */
    assert_int_equal(tail_check((const unsigned char *)"<html>not found</html>......", 28, 0, 4096, &zi, &err),
                     SK_ERR_INTEGRITY);
    assert_non_null(strstr(err.msg, "not a zip"));
    free(longer);
    free(z);

    /* entry names longer than 1 KiB (found with tests/fuzz/fuzz_pb_zip: read past a 1 KiB copy of
     * the name, and an unsafe part after the first 1023 bytes went unseen) */
    static char longname[1500], evil[1500];
    memset(longname, 'a', sizeof longname - 1);
    memcpy(longname, "storage/c1/r1/", 14);
    memcpy(evil, longname, sizeof evil);
    memcpy(evil + 1300, "/../../../etc/x", 15);
    ent lng[] = { { "data.db", db, dblen }, { longname, "x", 1 }, { NULL, NULL, 0 } };
    make_zip(path, lng);
    z = slurp(path, &len);
    assert_int_equal(tail_check(z, len, len, 4096, &zi, &err), SK_OK);
    assert_int_equal(zi.storage_files, 1);
    free(z);
    ent escape[] = { { "data.db", db, dblen }, { evil, "x", 1 }, { NULL, NULL, 0 } };
    make_zip(path, escape);
    z = slurp(path, &len);
    assert_int_equal(tail_check(z, len, len, 4096, &zi, &err), SK_ERR_INTEGRITY);
    assert_non_null(strstr(err.msg, "unsafe path"));
    free(z);

    /* a zip64 end record whose central directory offset + size wraps around 2^64 to the right end
     * (found with tests/fuzz/fuzz_pb_zip: the walk then read from a wild pointer), and a zip64
     * locator whose offset is near 2^64 (found by fuzz_pb_zip: the bounds check wrapped around) */
    ent two[] = { { "data.db", "0123456789", 10 }, { "storage/a", "y", 1 }, { NULL, NULL, 0 } };
    make_zip(path, two);
    z = slurp(path, &len);
    for (int wrap = 0; wrap <= 2; wrap++) {
        size_t e = len - 22;
        uint64_t nent = (uint64_t)z[e + 10] | (uint64_t)z[e + 11] << 8;
        uint64_t cdsize = (uint64_t)z[e + 12] | (uint64_t)z[e + 13] << 8 | (uint64_t)z[e + 14] << 16 | (uint64_t)z[e + 15] << 24;
        uint64_t cdoff = (uint64_t)z[e + 16] | (uint64_t)z[e + 17] << 8 | (uint64_t)z[e + 18] << 16 | (uint64_t)z[e + 19] << 24;
        if (wrap == 1)
            cdoff += UINT64_C(1) << 63, cdsize -= UINT64_C(1) << 63;
        unsigned char *x = malloc(e + 56 + 20 + 22), *r = x + e;
        memcpy(x, z, e);
        memset(r, 0, 56 + 20 + 22);
        const uint64_t f64[] = { 0x06064b50, 44, 45 | 45 << 16, 0, nent, nent, cdsize, cdoff };
        const int at[] = { 0, 4, 12, 16, 24, 32, 40, 48 }, w[] = { 4, 8, 4, 8, 8, 8, 8, 8 };
        for (int k = 0; k < 8; k++)
            for (int i = 0; i < w[k]; i++)
                r[at[k] + i] = (unsigned char)(f64[k] >> (8 * i));
        const uint64_t loc[] = { 0x07064b50, 0, wrap == 2 ? UINT64_MAX - 20 : e, 1 };
        const int lat[] = { 56, 60, 64, 72 }, lw[] = { 4, 4, 8, 4 };
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < lw[k]; i++)
                r[lat[k] + i] = (unsigned char)(loc[k] >> (8 * i));
        memcpy(r + 76, z + e, 8); /* end record: signature and disk numbers, then all 0xFF */
        memset(r + 76 + 8, 0xFF, 12);
        assert_int_equal(tail_check(x, e + 98, e + 98, 4096, &zi, &err), wrap ? SK_ERR_INTEGRITY : SK_OK);
        free(x);
    }
    free(z);

    /* no data.db */
    ent nodb[] = { { "storage/c1/r1/a.bin", blob, 100 }, { NULL, NULL, 0 } };
    make_zip(path, nodb);
    z = slurp(path, &len);
    assert_int_equal(tail_check(z, len, 0, 4096, &zi, &err), SK_ERR_INTEGRITY);
    assert_non_null(strstr(err.msg, "data.db"));
    free(z);
    free(db);
}

static sk_rc verify_file(const char *path, pb_zipinfo *zi, sk_err *err)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    sk_err_clear(err);
    sk_rc rc = pb_zip_verify_fd(fd, tmpdir, zi, err);
    close(fd);
    return rc;
}

static void test_verify(void **state)
{
    (void)state;
    size_t dblen, len;
    unsigned char *db = make_db(200, &dblen);
    char path[128];
    pb_zipinfo zi;
    sk_err err;
    snprintf(path, sizeof path, "%s/v.zip", tmpdir);
    ent good[] = { { "data.db", db, dblen }, { "storage/c/r/f.txt", "x", 1 }, { NULL, NULL, 0 } };
    make_zip(path, good);
    assert_int_equal(verify_file(path, &zi, &err), SK_OK);
    assert_int_equal(zi.entries, 2);
    assert_int_equal(zi.tables, 1);
    assert_int_equal(zi.storage_files, 1);

    /* a damaged table page: integrity_check (or opening) fails */
    unsigned char *bad = malloc(dblen);
    memcpy(bad, db, dblen);
    size_t ps = (size_t)bad[16] << 8 | bad[17];
    bad[ps] = 0x07; /* page 2 (the posts table's root) gets an invalid page type */
    ent baddb[] = { { "data.db", bad, dblen }, { NULL, NULL, 0 } };
    make_zip(path, baddb);
    assert_int_equal(verify_file(path, &zi, &err), SK_ERR_INTEGRITY);
    assert_non_null(strstr(err.msg, "integrity_check"));

    /* zip-slip entry */
    ent slip[] = { { "data.db", db, dblen }, { "../evil", "x", 1 }, { NULL, NULL, 0 } };
    make_zip(path, slip);
    assert_int_equal(verify_file(path, &zi, &err), SK_ERR_INTEGRITY);
    assert_non_null(strstr(err.msg, "unsafe path"));

    /* no data.db */
    ent nodb[] = { { "storage/a", "x", 1 }, { NULL, NULL, 0 } };
    make_zip(path, nodb);
    assert_int_equal(verify_file(path, &zi, &err), SK_ERR_INTEGRITY);
    assert_non_null(strstr(err.msg, "no data.db"));

    /* a flipped byte in the stored data: the CRC (or inflate) check fails */
    make_zip(path, good);
    unsigned char *z = slurp(path, &len);
    z[30 + 7 + 2000] ^= 0xFF; /* inside data.db's data (first entry, name "data.db") */
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, z, len), (ssize_t)len);
    close(fd);
    assert_int_equal(verify_file(path, &zi, &err), SK_ERR_INTEGRITY);
    free(z);

    /* not a zip at all */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "hello", 5), 5);
    close(fd);
    assert_int_equal(verify_file(path, &zi, &err), SK_ERR_INTEGRITY);

    /* nothing is left in the scratch dir but our own files */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' | grep snapkeep-)\"", tmpdir);
    assert_int_equal(system(cmd), 0);
    free(bad);
    free(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_content_range),
        cmocka_unit_test(test_describe_printable),
        cmocka_unit_test(test_backup_list_and_health),
        cmocka_unit_test(test_collection_counts),
        cmocka_unit_test(test_escape_and_unsafe),
        cmocka_unit_test(test_ziptail),
        cmocka_unit_test(test_verify),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
