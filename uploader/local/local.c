#include "local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

const sk_setting_def sk_local_settings[] = {
    { "SNAPKEEP_DEST_DIR", SK_SET_PATH, NULL, 0, 0, NULL, 0,
      "local destination directory (created if missing); selects the local destination" },
    { NULL, 0, NULL, 0, 0, NULL, 0, NULL },
};

typedef struct local_dest {
    char root[PATH_MAX];
    char desc[PATH_MAX + 32];
    char ident[PATH_MAX + 8];
    const sk_runtime *rt;
} local_dest;

static const char *const slot_settings[] = { "SNAPKEEP_DEST_DIR", NULL };

static int local_selected(const sk_config *cfg, int slot)
{
    return slot == 1 && sk_config_str(cfg, "SNAPKEEP_DEST_DIR") != NULL;
}

/* Reject keys that could escape the root. */
static sk_rc check_key(const char *key, sk_err *err)
{
    if (!*key || key[0] == '/' || strstr(key, "//"))
        return sk_fail(err, SK_ERR_USAGE, 0, "invalid key '%s'", key);
    for (const char *p = key; *p;) {
        size_t len = strcspn(p, "/");
        if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return sk_fail(err, SK_ERR_USAGE, 0, "invalid key '%s': '.' and '..' are not allowed", key);
        p += len;
        if (*p == '/')
            p++;
    }
    return SK_OK;
}

static int path_of(const local_dest *d, const char *key, char *out, size_t outsz)
{
    int n = snprintf(out, outsz, "%s/%s", d->root, key);
    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/* The file of a valid key. */
static sk_rc key_path(const local_dest *d, const char *key, char *out, size_t outsz, sk_err *err)
{
    if (check_key(key, err) != SK_OK)
        return err->rc;
    if (path_of(d, key, out, outsz) != 0)
        return sk_fail(err, SK_ERR_DEST, 0, "path of key '%s' is too long", key);
    return SK_OK;
}

static sk_rc mkdirs(const char *path, sk_err *err)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
            return sk_fail(err, SK_ERR_DEST, errno, "cannot create directory '%s': %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
        return sk_fail(err, SK_ERR_DEST, errno, "cannot create directory '%s': %s", tmp, strerror(errno));
    return SK_OK;
}

static sk_rc fsync_dir(const char *dir, sk_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return sk_fail(err, SK_ERR_DEST, errno, "open directory '%s': %s", dir, strerror(errno));
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0)
        return sk_fail(err, SK_ERR_DEST, e, "fsync directory '%s': %s", dir, strerror(e));
    return SK_OK;
}

static sk_rc local_open(const sk_config *cfg, int slot, const sk_runtime *rt, void **state, sk_err *err)
{
    (void)slot; /* one slot */
    const char *dir = sk_config_str(cfg, "SNAPKEEP_DEST_DIR");
    if (sk_config_require(cfg, "SNAPKEEP_DEST_DIR", "the local destination needs a directory", err))
        return err->rc;
    local_dest *d = calloc(1, sizeof *d);
    if (!d)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n >= sizeof d->root) {
        free(d);
        return sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_DEST_DIR is too long");
    }
    memcpy(d->root, dir, n);
    d->root[n] = '\0';
    snprintf(d->desc, sizeof d->desc, "local directory %s", d->root);
    d->rt = rt;
    if (mkdirs(d->root, err) != SK_OK) {
        sk_err_prefix(err, "SNAPKEEP_DEST_DIR: ");
        free(d);
        return err->rc;
    }
    /* "/backups" and "/backups/../backups" are one place: tell jobs apart by the resolved path */
    char real[PATH_MAX];
    snprintf(d->ident, sizeof d->ident, "local:%s", realpath(d->root, real) ? real : d->root);
    *state = d;
    return SK_OK;
}

static const char *local_describe(void *state) { return ((local_dest *)state)->desc; }

static const char *local_identity(void *state) { return ((local_dest *)state)->ident; }

static void local_close(void *state) { free(state); }

/* ---- put ---------------------------------------------------------------------------------- */

typedef struct put_writer {
    sk_writer base;
    int fd;
    char tmp[PATH_MAX], final[PATH_MAX], dir[PATH_MAX];
} put_writer;

static sk_rc put_write(sk_writer *w, const void *buf, size_t len, sk_err *err)
{
    put_writer *p = (put_writer *)w;
    return sk_write_all(p->fd, buf, len, p->tmp, SK_ERR_DEST, err);
}

/* Move tmp to final unless final exists. */
static int publish_noreplace(const char *tmp, const char *final)
{
#ifdef RENAME_NOREPLACE
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
#endif
    if (link(tmp, final) != 0)
        return -1;
    unlink(tmp);
    return 0;
}

static sk_rc put_finish(sk_writer *w, sk_err *err)
{
    put_writer *p = (put_writer *)w;
    if (fsync(p->fd) != 0)
        return sk_fail(err, SK_ERR_DEST, errno, "fsync '%s': %s", p->tmp, strerror(errno));
    if (close(p->fd) != 0) {
        p->fd = -1;
        return sk_fail(err, SK_ERR_DEST, errno, "close '%s': %s", p->tmp, strerror(errno));
    }
    p->fd = -1;
    if (publish_noreplace(p->tmp, p->final) != 0) {
        int e = errno;
        unlink(p->tmp);
        if (e == EEXIST)
            return sk_fail(err, SK_ERR_DEST, e, "'%s' already exists; snapkeep never overwrites a stored object",
                           p->final);
        return sk_fail(err, SK_ERR_DEST, e, "cannot move '%s' into place: %s", p->final, strerror(e));
    }
    p->tmp[0] = '\0';
    return fsync_dir(p->dir, err);
}

static void put_abort(sk_writer *w)
{
    put_writer *p = (put_writer *)w;
    if (p->fd >= 0) {
        close(p->fd);
        p->fd = -1;
    }
    if (p->tmp[0]) {
        unlink(p->tmp);
        p->tmp[0] = '\0';
    }
}

static void put_destroy(sk_writer *w)
{
    put_abort(w); /* an unfinished object never survives its writer */
    free(w);
}

static const sk_writer_type put_type = { "local-put", put_write, put_finish, put_abort, put_destroy };

static sk_rc local_put(void *state, const char *key, sk_writer **out, sk_err *err)
{
    local_dest *d = state;
    if (check_key(key, err) != SK_OK)
        return err->rc;
    put_writer *p = calloc(1, sizeof *p);
    if (!p)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    sk_writer_init(&p->base, &put_type, NULL);
    p->fd = -1;
    if (path_of(d, key, p->final, sizeof p->final) != 0) {
        free(p);
        return sk_fail(err, SK_ERR_DEST, 0, "path of key '%s' is too long", key);
    }
    snprintf(p->dir, sizeof p->dir, "%s", p->final);
    *strrchr(p->dir, '/') = '\0';
    if (mkdirs(p->dir, err) != SK_OK) {
        free(p);
        return err->rc;
    }
    unsigned char rnd[6];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        free(p);
        return sk_fail(err, SK_ERR_INTERNAL, 0, "no random bytes for a temp name");
    }
    int n = snprintf(p->tmp, sizeof p->tmp, "%s/.%s.tmp-%02x%02x%02x%02x%02x%02x", p->dir, strrchr(p->final, '/') + 1,
                     rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
    if (n < 0 || (size_t)n >= sizeof p->tmp) {
        free(p);
        return sk_fail(err, SK_ERR_DEST, 0, "path of key '%s' is too long", key);
    }
    p->fd = open(p->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (p->fd < 0) {
        int e = errno;
        p->tmp[0] = '\0';
        free(p);
        return sk_fail(err, SK_ERR_DEST, e, "cannot create a file in '%s': %s", d->root, strerror(e));
    }
    *out = &p->base;
    return SK_OK;
}

/* ---- get / list / remove ----------------------------------------------------------------- */

static sk_rc local_get(void *state, const char *key, sk_writer *into, sk_err *err)
{
    local_dest *d = state;
    char path[PATH_MAX];
    if (key_path(d, key, path, sizeof path, err) != SK_OK)
        return err->rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return sk_fail(err, SK_ERR_NOTFOUND, errno, "'%s' does not exist in %s", key, d->desc);
        return sk_fail(err, SK_ERR_DEST, errno, "open '%s': %s", path, strerror(errno));
    }
    sk_rc rc = sk_copy_fd(fd, path, into, 1 << 20, d->rt ? d->rt->cancelled : NULL, d->rt ? d->rt->cancel_ud : NULL,
                          err);
    if (rc == SK_ERR_SOURCE) /* a read error here is the destination's */
        err->rc = rc = SK_ERR_DEST;
    close(fd);
    return rc;
}

typedef struct walk {
    local_dest *d;
    const char *prefix;
    sk_list_fn fn;
    void *ud;
} walk;

static sk_rc walk_dir(walk *wk, const char *rel, sk_err *err)
{
    char path[PATH_MAX];
    int pn = snprintf(path, sizeof path, "%s/%s", wk->d->root, rel);
    if (pn < 0 || (size_t)pn >= sizeof path)
        return sk_fail(err, SK_ERR_DEST, 0, "list: the path of '%s' in %s is too long", rel, wk->d->desc);
    DIR *dir = opendir(path);
    if (!dir) {
        if (errno == ENOENT || errno == ENOTDIR)
            return SK_OK;
        return sk_fail(err, SK_ERR_DEST, errno, "list '%s': %s", path, strerror(errno));
    }
    sk_rc rc = SK_OK;
    struct dirent *de;
    while (rc == SK_OK && (de = readdir(dir))) {
        if (de->d_name[0] == '.') /* ".", "..", and in-progress temp files */
            continue;
        char key[PATH_MAX];
        int n = snprintf(key, sizeof key, "%s%s", rel, de->d_name);
        if (n < 0 || (size_t)n >= sizeof key - 1)
            continue;
        size_t pl = strlen(wk->prefix);
        char full[PATH_MAX + 8];
        int fn = snprintf(full, sizeof full, "%s/%s", wk->d->root, key);
        struct stat st;
        if (fn < 0 || (size_t)fn >= sizeof full) {
            rc = sk_fail(err, SK_ERR_DEST, 0, "list: the path of '%s' in %s is too long", key, wk->d->desc);
            break;
        }
        if (lstat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            /* descend only into directories that can hold keys with the prefix */
            size_t kl = strlen(key);
            if (strncmp(key, wk->prefix, kl < pl ? kl : pl) == 0) {
                key[kl] = '/';
                key[kl + 1] = '\0';
                rc = walk_dir(wk, key, err);
            }
        } else if (S_ISREG(st.st_mode) && strncmp(key, wk->prefix, pl) == 0) {
            sk_object obj = { key, (uint64_t)st.st_size, (int64_t)st.st_mtime };
            rc = wk->fn(wk->ud, &obj, err);
        }
    }
    closedir(dir);
    return rc;
}

static sk_rc local_list(void *state, const char *prefix, sk_list_fn fn, void *ud, sk_err *err)
{
    walk wk = { state, prefix, fn, ud };
    /* start at the deepest directory named by the prefix */
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "%s", prefix);
    char *slash = strrchr(rel, '/');
    if (slash)
        slash[1] = '\0';
    else
        rel[0] = '\0';
    return walk_dir(&wk, rel, err);
}

/* Temp files are "<dir>/.<final base>.tmp-<12 hex>" (local_put). */
static sk_rc local_sweep(void *state, const char *dir, int (*mine)(void *ud, const char *key), void *ud,
                         int64_t older_than, size_t *removed, sk_err *err)
{
    local_dest *d = state;
    char path[PATH_MAX];
    *removed = 0;
    if (path_of(d, dir, path, sizeof path) != 0)
        return sk_fail(err, SK_ERR_DEST, 0, "path of '%s' is too long", dir);
    DIR *dh = opendir(path);
    if (!dh)
        return errno == ENOENT ? SK_OK : sk_fail(err, SK_ERR_DEST, errno, "list '%s': %s", path, strerror(errno));
    sk_rc rc = SK_OK;
    struct dirent *de;
    while (rc == SK_OK && (de = readdir(dh))) {
        const char *n = de->d_name, *t = strstr(n, ".tmp-");
        size_t len = strlen(n);
        if (n[0] != '.' || !t || len < 18 || t != n + len - 17 || strspn(t + 5, "0123456789abcdef") != 12)
            continue;
        char key[PATH_MAX], full[PATH_MAX * 2];
        int kn = snprintf(key, sizeof key, "%s%.*s", dir, (int)(t - n - 1), n + 1);
        if (kn < 0 || (size_t)kn >= sizeof key || !mine(ud, key))
            continue;
        snprintf(full, sizeof full, "%s/%s", path, n);
        struct stat st;
        if (lstat(full, &st) != 0 || !S_ISREG(st.st_mode) || (int64_t)st.st_mtime >= older_than)
            continue;
        if (unlink(full) != 0 && errno != ENOENT)
            rc = sk_fail(err, SK_ERR_DEST, errno, "delete stale temp file '%s': %s", full, strerror(errno));
        else
            ++*removed;
    }
    closedir(dh);
    return rc;
}

static sk_rc local_remove(void *state, const char *key, sk_err *err)
{
    local_dest *d = state;
    char path[PATH_MAX];
    if (key_path(d, key, path, sizeof path, err) != SK_OK)
        return err->rc;
    if (unlink(path) != 0 && errno != ENOENT)
        return sk_fail(err, SK_ERR_DEST, errno, "delete '%s': %s", path, strerror(errno));
    return SK_OK;
}

const sk_dest_type sk_dest_local = {
    .name = "local",
    .settings = sk_local_settings,
    .slots = 1,
    .slot_settings = slot_settings,
    .selected = local_selected,
    .open = local_open,
    .describe = local_describe,
    .put = local_put,
    .get = local_get,
    .list = local_list,
    .remove = local_remove,
    .close = local_close,
    .identity = local_identity,
    .sweep = local_sweep,
};
