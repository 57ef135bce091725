#include "job.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "age.h"
#include "crypt.h"
#include "filter_hash.h"
#include "filter_zstd.h"
#include "guard.h"
#include "naming.h"
#include "progress.h"
#include "registry.h"
#include "version.h"

#define SMALL_OBJECT_LIMIT (64 * 1024)

struct sk_job {
    const sk_config *cfg;
    const sk_runtime *rt;
    const sk_engine_type *engine;
    void *engine_state;
    const sk_dest_type *dest;
    void *dest_state;
    sk_dump_info info;
    char dir[512];
    char name[512];
    char keyspace[4096];
    sk_zstd_opts zstd;
    const char *pause_at;
    double progress_s;    /* SNAPKEEP_PROGRESS_INTERVAL */
    sk_age_keys *age;     /* recipients backups are encrypted to; NULL: not encrypted */
};

static sk_log *job_log(const sk_job *job) { return job->rt ? job->rt->log : NULL; }

static int default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > 8 ? 8 : (int)n;
}

/* Copy a name that check_names accepted; -1 (nothing copied) if it does not fit after all. */
static int copy_name(char *dst, size_t sz, const char *src)
{
    size_t n = strlen(src);
    if (n >= sz)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* Names become parts of keys, manifests and state names: refuse what does not fit, never cut it. */
static sk_rc check_names(const sk_config *cfg, const sk_dump_info *info, sk_err *err)
{
    static const char *vars[] = { "SNAPKEEP_SERVICE", "SNAPKEEP_ENVIRONMENT", "SNAPKEEP_DB_NAME" };
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = sk_config_str(cfg, vars[i]);
        if (v && strlen(v) > SK_NAME_MAX)
            return sk_fail(err, SK_ERR_CONFIG, 0, "%s is %zu characters long; at most %d are allowed (it is part of "
                           "every object key and manifest): choose a shorter name", vars[i], strlen(v), SK_NAME_MAX);
    }
    if (strlen(info->database) > SK_NAME_MAX)
        return sk_fail(err, SK_ERR_CONFIG, 0, "the database name '%.40s...' taken from the source is %zu+ characters "
                       "long; at most %d are allowed: set SNAPKEEP_DB_NAME to a shorter name", info->database,
                       strlen(info->database), SK_NAME_MAX);
    return SK_OK;
}

sk_rc sk_job_open(const sk_config *cfg, const sk_runtime *rt, sk_job **out, sk_err *err)
{
    sk_job *job = calloc(1, sizeof *job);
    if (!job)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    job->cfg = cfg;
    job->rt = rt;
    if (sk_engine_select(cfg, &job->engine, err) != SK_OK || sk_dest_select(cfg, &job->dest, err) != SK_OK)
        goto fail;
    job->zstd.level = (int)sk_config_int(cfg, "SNAPKEEP_COMPRESSION_LEVEL", 3);
    if (job->engine->default_level > 0 && !strcmp(sk_config_origin(cfg, "SNAPKEEP_COMPRESSION_LEVEL"), "default"))
        job->zstd.level = job->engine->default_level;
    job->zstd.workers = (int)sk_config_int(cfg, "SNAPKEEP_COMPRESSION_THREADS", default_workers());
    job->pause_at = sk_config_str(cfg, "SNAPKEEP_DEBUG_PAUSE_AT");
    job->progress_s = (double)sk_config_int(cfg, "SNAPKEEP_PROGRESS_INTERVAL", 10);
    if (sk_crypt_recipients(cfg, &job->age, err) != SK_OK)
        goto fail;
    if (job->engine->open(cfg, rt, &job->engine_state, &job->info, err) != SK_OK)
        goto fail;
    const char *service = sk_config_str(cfg, "SNAPKEEP_SERVICE"), *env = sk_config_str(cfg, "SNAPKEEP_ENVIRONMENT");
    if (check_names(cfg, &job->info, err) != SK_OK)
        goto fail;
    if (sk_key_dir(sk_config_str(cfg, "SNAPKEEP_PREFIX"), service, env, job->dir, sizeof job->dir) != 0) {
        sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_PREFIX/SERVICE/ENVIRONMENT together are too long");
        goto fail;
    }
    snprintf(job->name, sizeof job->name, "%s/%s/%s:%s", service, env, job->engine->name, job->info.database);
    if (job->dest->open(cfg, rt, &job->dest_state, err) != SK_OK)
        goto fail;
    const char *where = job->dest->identity ? job->dest->identity(job->dest_state)
                                            : job->dest->describe(job->dest_state);
    int kn = snprintf(job->keyspace, sizeof job->keyspace, "%s\n%s\n%s\n%s\n%s", where, job->dir, job->engine->tag,
                      job->info.database, job->engine->ext);
    if (kn < 0 || (size_t)kn >= sizeof job->keyspace) {
        sk_fail(err, SK_ERR_CONFIG, 0, "the destination and key of %s are too long to identify the job", job->name);
        goto fail;
    }
    *out = job;
    return SK_OK;
fail:
    sk_job_close(job);
    return err->rc;
}

void sk_job_close(sk_job *job)
{
    if (!job)
        return;
    if (job->engine_state)
        job->engine->close(job->engine_state);
    if (job->dest_state)
        job->dest->close(job->dest_state);
    sk_age_keys_free(job->age);
    free(job);
}

const char *sk_job_name(const sk_job *job) { return job->name; }

const char *sk_job_keyspace(const sk_job *job) { return job->keyspace; }

const char *sk_job_dir(const sk_job *job) { return job->dir; }

static int64_t now_s(const sk_job *job)
{
    if (job->rt && job->rt->now_ms)
        return job->rt->now_ms(job->rt->clock_ud) / 1000;
    return (int64_t)time(NULL);
}

/* Testing aid (SNAPKEEP_DEBUG_PAUSE_AT): stop here so a test can kill us at a known point. */
static void maybe_pause(const sk_job *job, const char *point)
{
    if (job->pause_at && strcmp(job->pause_at, point) == 0) {
        sk_log_msg(job_log(job), SK_LOG_WARN, "pausing at '%s' (SNAPKEEP_DEBUG_PAUSE_AT)", point);
        raise(SIGSTOP);
    }
}

/* ---- small objects ---------------------------------------------------------------------- */

static sk_rc put_small(sk_job *job, const char *key, const char *data, size_t len, sk_err *err)
{
    sk_writer *w = NULL;
    if (job->dest->put(job->dest_state, key, &w, err) != SK_OK)
        return err->rc;
    sk_rc rc = sk_writer_write(w, data, len, err);
    if (rc == SK_OK)
        rc = sk_writer_finish(w, err);
    if (rc != SK_OK)
        sk_writer_abort(w);
    sk_writer_free_chain(w);
    return rc;
}

/* Get a small object into a NUL-terminated malloc'd buffer. */
static sk_rc get_small(sk_job *job, const char *key, char **out, size_t *len, sk_err *err)
{
    sk_writer *m = sk_mem_writer_new(SMALL_OBJECT_LIMIT, err);
    if (!m)
        return err->rc;
    sk_rc rc = job->dest->get(job->dest_state, key, m, err);
    if (rc == SK_OK) {
        size_t n;
        const char *d = sk_mem_writer_data(m, &n);
        *out = malloc(n + 1);
        if (!*out) {
            rc = sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        } else {
            memcpy(*out, d, n);
            (*out)[n] = '\0';
            *len = n;
        }
    }
    sk_writer_free_chain(m);
    return rc;
}

/* ---- listing ---------------------------------------------------------------------------- */

typedef struct objset {
    sk_object *v;
    size_t n, cap;
} objset;

static sk_rc collect(void *ud, const sk_object *obj, sk_err *err)
{
    objset *s = ud;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        sk_object *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv)
            return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        s->v = nv;
        s->cap = cap;
    }
    char *k = strdup(obj->key);
    if (!k)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    s->v[s->n] = *obj;
    s->v[s->n++].key = k;
    return SK_OK;
}

static void objset_free(objset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free((char *)s->v[i].key);
    free(s->v);
}

static sk_rc list_dir(sk_job *job, objset *s, sk_err *err)
{
    memset(s, 0, sizeof *s);
    sk_rc rc = job->dest->list(job->dest_state, job->dir, collect, s, err);
    if (rc != SK_OK) {
        sk_err_prefix(err, "list %s: ", job->dest->describe(job->dest_state));
        objset_free(s);
    }
    return rc;
}

static int entry_cmp(const void *a, const void *b)
{
    const sk_backup_entry *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? 1 : -1;
    return -strcmp(x->key, y->key);
}

enum { OBJ_DATA, OBJ_MD5, OBJ_MANIFEST, OBJ_PENDING, OBJ_KINDS };

/* The data key an object belongs to, and which of its objects it is, if it is one of this job's:
 * directly in the job's directory and named for its tag, database and extension. */
static int owner_of(const sk_job *job, const char *key, char *data_key, size_t sz, int *kind, int64_t *ts)
{
    static const char *suffixes[OBJ_KINDS] = { "", SK_MD5_SUFFIX, SK_MANIFEST_SUFFIX, SK_PENDING_SUFFIX };
    size_t kl = strlen(key);
    if (!sk_key_in_dir(key, job->dir))
        return 0;
    for (int i = 0; i < OBJ_KINDS; i++) {
        size_t sl = strlen(suffixes[i]);
        if (kl <= sl || strcmp(key + kl - sl, suffixes[i]) != 0 || kl - sl >= sz)
            continue;
        memcpy(data_key, key, kl - sl);
        data_key[kl - sl] = '\0';
        if (sk_key_match(data_key, job->engine->tag, job->info.database, job->engine->ext, ts)) {
            *kind = i;
            return 1;
        }
    }
    return 0;
}

/* All objects of one data key: the data, its .md5, its manifest, its pending marker. */
typedef struct group {
    char key[1024];
    int64_t ts;
    const sk_object *obj[OBJ_KINDS];
    int listed, gone;
} group;

typedef struct groupset {
    objset s;
    group *v;
    size_t n;
} groupset;

static int obj_cmp(const void *a, const void *b) { return strcmp(((const sk_object *)a)->key, ((const sk_object *)b)->key); }

static void groups_free(groupset *g)
{
    objset_free(&g->s);
    free(g->v);
    memset(g, 0, sizeof *g);
}

/* A backup snapkeep committed (data + manifest), or a legacy one: data + .md5 as the previous
 * sidecar left them, with neither manifest nor snapkeep's pending marker. */
static int group_listed(const group *g)
{
    return g->obj[OBJ_DATA] && (g->obj[OBJ_MANIFEST] || (g->obj[OBJ_MD5] && !g->obj[OBJ_PENDING]));
}

static sk_rc list_groups(sk_job *job, groupset *g, sk_err *err)
{
    memset(g, 0, sizeof *g);
    if (list_dir(job, &g->s, err) != SK_OK)
        return err->rc;
    /* sorted, a data key's objects are adjacent: every key between "X" and "X.suffix" starts with "X" */
    if (g->s.n > 1)
        qsort(g->s.v, g->s.n, sizeof *g->s.v, obj_cmp);
    if (!(g->v = calloc(g->s.n ? g->s.n : 1, sizeof *g->v))) {
        groups_free(g);
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < g->s.n; i++) {
        char dk[1024];
        int kind;
        int64_t ts;
        if (!owner_of(job, g->s.v[i].key, dk, sizeof dk, &kind, &ts))
            continue;
        group *cur = g->n ? &g->v[g->n - 1] : NULL;
        if (!cur || strcmp(cur->key, dk) != 0) {
            cur = &g->v[g->n++];
            memcpy(cur->key, dk, strlen(dk) + 1);
            cur->ts = ts;
        }
        cur->obj[kind] = &g->s.v[i];
    }
    for (size_t i = 0; i < g->n; i++)
        g->v[i].listed = group_listed(&g->v[i]);
    return SK_OK;
}

static void check_entry(sk_job *job, sk_backup_entry *e)
{
    char mkey[1100], skey[1100], *text = NULL, md5[65];
    size_t len;
    sk_err err;
    sk_err_clear(&err);
    snprintf(mkey, sizeof mkey, "%s%s", e->key, SK_MANIFEST_SUFFIX);
    snprintf(skey, sizeof skey, "%s%s", e->key, SK_MD5_SUFFIX);
    e->checksum = "unreadable";
    if (!e->legacy) {
        if (get_small(job, mkey, &text, &len, &err) != SK_OK)
            return;
        sk_rc rc = sk_manifest_parse(text, len, mkey, &e->m, &err);
        free(text);
        if (rc != SK_OK)
            return;
        e->have_manifest_data = 1;
        text = NULL;
    }
    sk_rc rc = get_small(job, skey, &text, &len, &err);
    if (rc == SK_ERR_NOTFOUND) {
        e->checksum = "missing";
        return;
    }
    if (rc != SK_OK)
        return;
    rc = sk_md5_parse(text, len, sk_key_base(e->key), md5, &err);
    free(text);
    if (rc != SK_OK)
        return;
    /* a legacy backup's sidecar is all there is: it is checked against the data when downloaded */
    e->checksum = e->legacy || (strcmp(md5, e->m.stored_md5) == 0 && e->size == e->m.stored_size) ? "ok" : "mismatch";
}

sk_rc sk_job_list(sk_job *job, int details, sk_backup_list *out, sk_err *err)
{
    groupset g;
    memset(out, 0, sizeof *out);
    if (list_groups(job, &g, err) != SK_OK)
        return err->rc;
    out->v = calloc(g.n ? g.n : 1, sizeof *out->v);
    if (!out->v) {
        groups_free(&g);
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < g.n; i++) {
        if (!g.v[i].listed)
            continue; /* not committed, or not a backup at all */
        sk_backup_entry *e = &out->v[out->n++];
        memcpy(e->key, g.v[i].key, sizeof e->key);
        e->ts = g.v[i].ts;
        e->size = g.v[i].obj[OBJ_DATA]->size;
        e->legacy = !g.v[i].obj[OBJ_MANIFEST];
        e->checksum = "unchecked";
    }
    groups_free(&g);
    qsort(out->v, out->n, sizeof *out->v, entry_cmp);
    for (size_t i = 0; details && i < out->n; i++)
        check_entry(job, &out->v[i]);
    return SK_OK;
}

void sk_backup_list_free(sk_backup_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

sk_rc sk_job_newest(sk_job *job, sk_backup_entry *e, int64_t *finished, sk_err *err)
{
    sk_backup_list l;
    if (sk_job_list(job, 0, &l, err) != SK_OK)
        return err->rc;
    size_t i = 0;
    while (i < l.n && l.v[i].legacy)
        i++;
    if (i == l.n) {
        sk_backup_list_free(&l);
        return sk_fail(err, SK_ERR_NOTFOUND, 0, "no backup of %s in %s", job->name,
                       job->dest->describe(job->dest_state));
    }
    *e = l.v[i];
    sk_backup_list_free(&l);
    check_entry(job, e);
    *finished = e->have_manifest_data && e->m.finished_at ? e->m.finished_at : e->ts;
    return SK_OK;
}

/* Turn "latest", a base name or a key into a listed backup. */
static sk_rc resolve(sk_job *job, const char *name, sk_backup_entry *found, sk_err *err)
{
    sk_backup_list l;
    if (sk_job_list(job, 0, &l, err) != SK_OK)
        return err->rc;
    sk_rc rc = SK_OK;
    if (strcmp(name, "latest") == 0) {
        if (l.n == 0)
            rc = sk_fail(err, SK_ERR_NOTFOUND, 0, "no backup of %s exists under '%s' in %s", job->name, job->dir,
                         job->dest->describe(job->dest_state));
        else
            *found = l.v[0];
    } else {
        size_t i;
        for (i = 0; i < l.n; i++)
            if (strcmp(l.v[i].key, name) == 0 || strcmp(sk_key_base(l.v[i].key), name) == 0)
                break;
        if (i == l.n)
            rc = sk_fail(err, SK_ERR_NOTFOUND, 0,
                         "'%s' is not a complete backup of %s in %s (see `snapkeep list`)", name, job->name,
                         job->dest->describe(job->dest_state));
        else
            *found = l.v[i];
    }
    sk_backup_list_free(&l);
    return rc;
}

/* ---- backup ----------------------------------------------------------------------------- */

/* A key whose second is not used by any object of this job yet. Two backups in the same second
 * would clash, so the later one waits for the next second (keys stay truthful). */
static sk_rc choose_key(sk_job *job, char key[1024], int64_t *ts, sk_err *err)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        objset s;
        *ts = now_s(job);
        if (sk_key_build(job->dir, job->engine->tag, job->info.database, *ts, job->engine->ext, key, 1024) != 0)
            return sk_fail(err, SK_ERR_CONFIG, 0, "the key for %s is too long", job->name);
        if (list_dir(job, &s, err) != SK_OK)
            return err->rc;
        size_t stem = strlen(key) - strlen(job->engine->ext) - 5; /* up to the stamp, without ".ext.zst" */
        if (job->age) { /* encrypted: "<...>.ext.zst.age" */
            size_t kl = strlen(key);
            if (kl + sizeof SK_AGE_SUFFIX > 1024)
                return sk_fail(err, SK_ERR_CONFIG, 0, "the key for %s is too long", job->name);
            memcpy(key + kl, SK_AGE_SUFFIX, sizeof SK_AGE_SUFFIX);
        }
        int clash = 0;
        for (size_t i = 0; i < s.n && !clash; i++)
            clash = strncmp(s.v[i].key, key, stem) == 0 && s.v[i].key[stem] == '.';
        objset_free(&s);
        if (!clash)
            return SK_OK;
        struct timespec ts_sleep = { 0, 0 };
        int64_t ms = job->rt && job->rt->now_ms ? job->rt->now_ms(job->rt->clock_ud) : (int64_t)time(NULL) * 1000;
        ts_sleep.tv_nsec = (long)(1000 - ms % 1000) * 1000000L;
        nanosleep(&ts_sleep, NULL);
    }
    return sk_fail(err, SK_ERR_BUSY, 0, "no free key for %s after 5 attempts: another backup is running", job->name);
}

static int remove_quietly(sk_job *job, const char *key, const char *when)
{
    sk_err e;
    sk_err_clear(&e);
    if (job->dest->remove(job->dest_state, key, &e) == SK_OK)
        return 0;
    sk_log_msg(job_log(job), SK_LOG_WARN, "could not remove '%s' %s: %s", key, when, e.msg);
    return -1;
}

/* Store the pending marker of data key `key` (SK_PENDING_SUFFIX): from now until it is removed,
 * the key's objects are snapkeep's work in progress, and orphan cleanup may finish the job. */
static sk_rc put_pending(sk_job *job, const char *key, const char *purpose, sk_err *err)
{
    char pkey[1100], body[256], iso[32];
    if (snprintf(pkey, sizeof pkey, "%s%s", key, SK_PENDING_SUFFIX) >= (int)sizeof pkey)
        return sk_fail(err, SK_ERR_CONFIG, 0, "the key '%s' is too long", key);
    sk_iso8601(now_s(job), iso, sizeof iso);
    int n = snprintf(body, sizeof body, "{\"tool\":\"snapkeep\",\"version\":\"%s\",\"purpose\":\"%s\",\"pid\":%ld,"
                     "\"at\":\"%s\"}\n", SK_VERSION, purpose, (long)getpid(), iso);
    if (put_small(job, pkey, body, (size_t)n, err) != SK_OK) {
        sk_err_prefix(err, "store '%s': ", pkey);
        return err->rc;
    }
    return SK_OK;
}

/* ---- guards (guard.h) ------------------------------------------------------------------- */

#define GUARD_LOOKBACK 10 /* manifests read at most to find the previous good backup */

/* Record the engine's row counts in `m` and the guards' verdict, comparing with the newest earlier
 * backup that is neither legacy nor suspect. Earlier backups that cannot be read weaken the
 * comparison (logged) but never fail the backup. */
static void guard_backup(sk_job *job, sk_manifest *m)
{
    m->table_rows_json = job->info.table_rows_json;
    m->collections_json = job->info.collections_json;
    m->rows = sk_guard_total_rows(m->table_rows_json);
    if (!sk_config_bool(job->cfg, "SNAPKEEP_GUARD"))
        return;
    sk_guard_facts cur = { m->plain_size, m->table_rows_json }, prev = { 0, NULL };
    char *prev_rows = NULL, prev_key[1024] = "";
    sk_backup_list l;
    sk_err e;
    sk_err_clear(&e);
    if (sk_job_list(job, 0, &l, &e) != SK_OK) {
        sk_log_msg(job_log(job), SK_LOG_WARN, "guards: cannot list earlier backups (%s); only the empty check runs",
                   e.msg);
    } else {
        for (size_t i = 0, tried = 0; i < l.n && tried < GUARD_LOOKBACK && !prev_key[0]; i++) {
            if (l.v[i].legacy || !strcmp(l.v[i].key, m->key))
                continue;
            tried++;
            char mkey[1100], *text = NULL;
            size_t len;
            sk_manifest pm;
            snprintf(mkey, sizeof mkey, "%s%s", l.v[i].key, SK_MANIFEST_SUFFIX);
            if (get_small(job, mkey, &text, &len, &e) != SK_OK || sk_manifest_parse(text, len, mkey, &pm, &e) != SK_OK) {
                sk_log_msg(job_log(job), SK_LOG_WARN, "guards: skipping '%s': %s", l.v[i].key, e.msg);
                sk_err_clear(&e);
            } else if (!pm.suspect) {
                prev.plain_size = pm.plain_size;
                prev.tables = prev_rows = sk_manifest_table_rows(text, len);
                memcpy(prev_key, l.v[i].key, sizeof prev_key);
            }
            free(text);
        }
        sk_backup_list_free(&l);
    }
    int pct = (int)sk_config_int(job->cfg, "SNAPKEEP_GUARD_MAX_DROP", 50);
    m->suspect = sk_guard_check(&cur, prev_key[0] ? &prev : NULL, pct, m->suspect_reasons, sizeof m->suspect_reasons);
    free(prev_rows);
    if (m->suspect)
        sk_log_msg(job_log(job), SK_LOG_WARN, "backup %s is SUSPECT (compared with %s): %s", m->key,
                   prev_key[0] ? prev_key : "no earlier good backup", m->suspect_reasons);
}

/* ---- backup ---------------------------------------------------------------------------------- */

sk_rc sk_job_backup(sk_job *job, sk_backup_result *res, sk_err *err)
{
    sk_writer *head = NULL, *sink = NULL, *md5 = NULL, *zst = NULL, *sha = NULL, *age = NULL, *w = NULL;
    sk_manifest m;
    char key[1024], skey[1100], mkey[1100], pkey[1100], line[1200];
    char *json = NULL;
    int data_landed = 0, md5_landed = 0, pending = 0;
    int64_t ts;
    memset(&m, 0, sizeof m);
    memset(res, 0, sizeof *res);
    double t0 = sk_monotonic();

    job->info.table_rows_json = NULL; /* the counts of this dump only (guards) */
    job->info.collections_json = NULL;
    sk_job_sweep(job);
    if (choose_key(job, key, &ts, err) != SK_OK)
        return err->rc;
    snprintf(skey, sizeof skey, "%s%s", key, SK_MD5_SUFFIX);
    snprintf(mkey, sizeof mkey, "%s%s", key, SK_MANIFEST_SUFFIX);
    snprintf(pkey, sizeof pkey, "%s%s", key, SK_PENDING_SUFFIX);
    if (put_pending(job, key, "backup", err) != SK_OK)
        return err->rc;
    pending = 1;
    sk_log_msg(job_log(job), SK_LOG_INFO, "backup started: %s -> %s (zstd level %d, %d worker(s)%s)", key,
               job->dest->describe(job->dest_state), job->zstd.level, job->zstd.workers,
               !job->age ? "" : sk_age_keys_has_passphrase(job->age) ? ", age: passphrase" : ", age: X25519 recipients");

    if (job->dest->put(job->dest_state, key, &sink, err) != SK_OK)
        goto fail;
    head = sink;
    if (!(md5 = sk_hash_writer_new(head, SK_HASH_MD5, err)))
        goto fail;
    head = md5;
    if (job->age) { /* encrypt what is stored: the .md5 covers the ciphertext */
        if (!(age = sk_age_encrypt_writer_new(head, job->age, err)))
            goto fail;
        head = age;
    }
    if (!(zst = sk_zstd_writer_new(head, &job->zstd, err)))
        goto fail;
    head = zst;
    if (!(sha = sk_hash_writer_new(head, SK_HASH_SHA256, err)))
        goto fail;
    head = sha;
    if (!(w = sk_progress_writer_new(head, job_log(job), job->progress_s, "read", md5, "stored", err)))
        goto fail;
    head = w;

    double td = sk_monotonic();
    if (job->engine->dump(job->engine_state, head, &job->info, err) != SK_OK) {
        sk_err_prefix(err, "dump: ");
        goto fail;
    }
    if (sk_writer_finish(head, err) != SK_OK) {
        sk_err_prefix(err, "store '%s': ", key);
        goto fail;
    }
    data_landed = 1;
    double dd = sk_monotonic() - td;
    sk_log_stage(job_log(job), "dump", sha->bytes, dd, "engine output (plaintext), SHA-256 computed");
    sk_log_stage(job_log(job), "store", md5->bytes, dd, "compressed%s to %.1f%% and stored as %s",
                 age ? " and encrypted (age)" : "", sha->bytes ? 100.0 * (double)md5->bytes / (double)sha->bytes : 0.0,
                 key);
    maybe_pause(job, "after-data");

    m.version = SK_MANIFEST_VERSION;
    snprintf(m.tool_version, sizeof m.tool_version, "%s", SK_VERSION);
    snprintf(m.engine, sizeof m.engine, "%s", job->engine->name);
    snprintf(m.tag, sizeof m.tag, "%s", job->engine->tag);
    if (copy_name(m.database, sizeof m.database, job->info.database) ||
        copy_name(m.service, sizeof m.service, sk_config_str(job->cfg, "SNAPKEEP_SERVICE")) ||
        copy_name(m.environment, sizeof m.environment, sk_config_str(job->cfg, "SNAPKEEP_ENVIRONMENT"))) {
        sk_fail(err, SK_ERR_INTERNAL, 0, "a name of %s does not fit its manifest", job->name); /* check_names */
        goto fail;
    }
    snprintf(m.key, sizeof m.key, "%s", key);
    snprintf(m.server_version, sizeof m.server_version, "%s", job->info.server_version);
    snprintf(m.facts_json, sizeof m.facts_json, "%s", job->info.facts_json[0] ? job->info.facts_json : "{}");
    m.started_at = ts;
    m.plain_size = sha->bytes;
    sk_hash_writer_hex(sha, m.plain_sha256);
    m.stored_size = md5->bytes;
    sk_hash_writer_hex(md5, m.stored_md5);
    snprintf(m.compression, sizeof m.compression, "zstd");
    m.compression_level = job->zstd.level;
    if (job->age) {
        m.encrypted = 1;
        m.age_passphrase = sk_age_keys_has_passphrase(job->age);
        for (size_t i = 0, used = 0; i < sk_age_keys_count(job->age); i++)
            used += (size_t)snprintf(m.age_recipients + used, sizeof m.age_recipients - used, "%s%s", i ? " " : "",
                                     sk_age_keys_recipient(job->age, i));
    }
    guard_backup(job, &m);

    double tm = sk_monotonic();
    int n = sk_md5_line(m.stored_md5, sk_key_base(key), line, sizeof line);
    if (n < 0 || put_small(job, skey, line, (size_t)n, err) != SK_OK) {
        if (n < 0)
            sk_fail(err, SK_ERR_INTERNAL, 0, "key too long for the .md5 line");
        sk_err_prefix(err, "store '%s': ", skey);
        goto fail;
    }
    md5_landed = 1;
    sk_log_stage(job_log(job), "checksum", (uint64_t)n, sk_monotonic() - tm, "%s  %s", m.stored_md5, skey);
    maybe_pause(job, "after-md5");

    m.finished_at = now_s(job);
    tm = sk_monotonic();
    if (!(json = sk_manifest_to_json(&m, err)))
        goto fail;
    if (put_small(job, mkey, json, strlen(json), err) != SK_OK) {
        sk_err_prefix(err, "store '%s': ", mkey);
        goto fail;
    }
    sk_log_stage(job_log(job), "manifest", strlen(json), sk_monotonic() - tm, "%s (backup committed)", mkey);
    free(json);
    /* committed: a marker left behind (removal failed) is cleaned by the next prune */
    remove_quietly(job, pkey, "after the commit");
    if (job->engine->after_backup)
        job->engine->after_backup(job->engine_state, key);
    sk_writer_free_chain(head);

    snprintf(res->key, sizeof res->key, "%s", key);
    res->plain_size = m.plain_size;
    res->stored_size = m.stored_size;
    res->seconds = sk_monotonic() - t0;
    res->suspect = m.suspect;
    memcpy(res->suspect_reasons, m.suspect_reasons, sizeof res->suspect_reasons);
    return SK_OK;

fail:
    free(json);
    if (head) {
        if (!data_landed)
            sk_writer_abort(head); /* removes the partial object */
        sk_writer_free_chain(head);
    } else if (sink) {
        sk_writer_abort(sink);
        sk_writer_free_chain(sink);
    }
    int left = 0;
    if (md5_landed)
        left |= remove_quietly(job, skey, "after the failure");
    if (data_landed)
        left |= remove_quietly(job, key, "after the failure");
    if (pending && !left) /* with something left, the marker stays so that orphan cleanup removes it */
        remove_quietly(job, pkey, "after the failure");
    return err->rc;
}

sk_rc sk_job_dump(sk_job *job, sk_writer *out, sk_err *err)
{
    if (job->engine->dump(job->engine_state, out, &job->info, err) != SK_OK)
        return err->rc;
    if (sk_writer_finish(out, err) != SK_OK)
        return err->rc;
    if (job->engine->after_backup)
        job->engine->after_backup(job->engine_state, NULL);
    return SK_OK;
}

/* ---- restore / verify ------------------------------------------------------------------- */

/* A legacy backup (data + .md5, no manifest): the sidecar's MD5 and the listed size are all that
 * is known; there is no plaintext SHA-256 (plain_sha256 stays empty, plain_size UINT64_MAX). */
static sk_rc load_legacy(sk_job *job, const sk_backup_entry *e, sk_manifest *m, sk_err *err)
{
    char skey[1100], *text = NULL;
    size_t len;
    memset(m, 0, sizeof *m);
    snprintf(skey, sizeof skey, "%s%s", e->key, SK_MD5_SUFFIX);
    if (get_small(job, skey, &text, &len, err) != SK_OK)
        return err->rc;
    sk_rc rc = sk_md5_parse(text, len, sk_key_base(e->key), m->stored_md5, err);
    free(text);
    if (rc != SK_OK)
        return rc;
    snprintf(m->key, sizeof m->key, "%s", e->key);
    snprintf(m->engine, sizeof m->engine, "%s", job->engine->name);
    m->stored_size = e->size;
    m->plain_size = UINT64_MAX;
    sk_log_msg(job_log(job), SK_LOG_WARN,
               "'%s' is a legacy backup (no snapkeep manifest): checked against its .md5 sidecar and by the %s "
               "engine only (no SHA-256 of its content is known)", e->key, job->engine->name);
    return SK_OK;
}

/* Read and cross-check the manifest and the sidecar of `key`. */
static sk_rc load_checks(sk_job *job, const sk_backup_entry *e, sk_manifest *m, sk_err *err)
{
    if (e->legacy)
        return load_legacy(job, e, m, err);
    const char *key = e->key;
    char mkey[1100], skey[1100], *text = NULL, md5[65];
    size_t len;
    snprintf(mkey, sizeof mkey, "%s%s", key, SK_MANIFEST_SUFFIX);
    snprintf(skey, sizeof skey, "%s%s", key, SK_MD5_SUFFIX);
    if (get_small(job, mkey, &text, &len, err) != SK_OK)
        return err->rc;
    sk_rc rc = sk_manifest_parse(text, len, mkey, m, err);
    free(text);
    if (rc != SK_OK)
        return rc;
    if (strcmp(m->engine, job->engine->name) != 0)
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "'%s' was made by the %s engine, this job uses %s", key, m->engine,
                       job->engine->name);
    if (strcmp(m->key, key) != 0)
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "the manifest of '%s' describes another object ('%s')", key, m->key);
    text = NULL;
    rc = get_small(job, skey, &text, &len, err);
    if (rc == SK_ERR_NOTFOUND) {
        sk_log_msg(job_log(job), SK_LOG_WARN, "'%s' is missing; checking against the manifest's MD5 only", skey);
        sk_err_clear(err);
        return SK_OK;
    }
    if (rc != SK_OK)
        return rc;
    rc = sk_md5_parse(text, len, sk_key_base(key), md5, err);
    free(text);
    if (rc != SK_OK)
        return rc;
    if (strcmp(md5, m->stored_md5) != 0)
        return sk_fail(err, SK_ERR_INTEGRITY, 0,
                       "'%s' says MD5 %s but the manifest says %s: the backup's metadata was altered; refusing it",
                       skey, md5, m->stored_md5);
    return SK_OK;
}

/* For an encrypted backup: the identities to decrypt it with (*ids = NULL when not encrypted).
 * Runs before the engine's sink is opened, so a missing key fails before the target is touched. */
static sk_rc encryption_keys(sk_job *job, const sk_backup_entry *e, const sk_manifest *m, sk_age_keys **ids,
                             sk_err *err)
{
    const char *key = e->key;
    *ids = NULL;
    if (e->legacy && sk_key_encrypted(key)) /* no manifest to say so: the name is all there is */
        return sk_crypt_identities(job->cfg, key, ids, err);
    if (sk_key_encrypted(key) != m->encrypted)
        return sk_fail(err, SK_ERR_INTEGRITY, 0,
                       "the manifest of '%s' says it is %s, its key says otherwise: the backup's metadata was "
                       "altered; refusing it",
                       key, m->encrypted ? "encrypted" : "not encrypted");
    if (!m->encrypted)
        return SK_OK;
    if (sk_crypt_identities(job->cfg, key, ids, err) != SK_OK)
        return err->rc;
    sk_log_msg(job_log(job), SK_LOG_INFO, "'%s' is encrypted (age, %s%s); decrypting with %zu identit%s%s", key,
               m->age_passphrase ? "passphrase" : "recipients ", m->age_passphrase ? "" : m->age_recipients,
               sk_age_keys_count(*ids), sk_age_keys_count(*ids) == 1 ? "y" : "ies",
               sk_age_keys_has_passphrase(*ids) ? " and the passphrase" : "");
    return SK_OK;
}

/* Push `key` through md5 check -> [age decrypt] -> unzstd -> sha256 check -> sink, and finish the
 * chain. */
static sk_rc download_checked(sk_job *job, const char *key, const sk_manifest *m, const sk_age_keys *ids,
                              sk_writer *sink, sk_err *err)
{
    sk_writer *head = sink, *w;
    char what[1100];
    snprintf(what, sizeof what, "plaintext of '%s'", key);
    if (m->plain_sha256[0]) { /* legacy backups have none */
        if (!(w = sk_check_writer_new(head, SK_HASH_SHA256, m->plain_sha256, m->plain_size, what, err)))
            goto fail;
        head = w;
    }
    const sk_writer *plain = head; /* counts the restored plaintext (the sink itself for legacy backups) */
    if (!(w = sk_unzstd_writer_new(head, err)))
        goto fail;
    head = w;
    if (ids) {
        snprintf(what, sizeof what, "'%s'", key);
        if (!(w = sk_age_decrypt_writer_new(head, ids, what, err)))
            goto fail;
        head = w;
    }
    snprintf(what, sizeof what, "download of '%s'", key);
    if (!(w = sk_check_writer_new(head, SK_HASH_MD5, m->stored_md5, m->stored_size, what, err)))
        goto fail;
    head = w;
    if (!(w = sk_progress_writer_new(head, job_log(job), job->progress_s, "downloaded", plain, "restored", err)))
        goto fail;
    head = w;
    sk_progress_total(head, m->stored_size);
    double t0 = sk_monotonic();
    if (job->dest->get(job->dest_state, key, head, err) != SK_OK)
        goto fail;
    if (sk_writer_finish(head, err) != SK_OK)
        goto fail;
    if (m->plain_sha256[0])
        sk_log_stage(job_log(job), "download", head->bytes, sk_monotonic() - t0,
                     "MD5 and SHA-256 match the manifest, %llu bytes after %sdecompression",
                     (unsigned long long)m->plain_size, ids ? "decryption (age) and " : "");
    else
        sk_log_stage(job_log(job), "download", head->bytes, sk_monotonic() - t0, "MD5 matches the .md5 sidecar%s",
                     ids ? "; decrypted (age)" : "");
    sk_writer_free_chain(head);
    return SK_OK;
fail:
    sk_writer_abort(head);
    sk_writer_free_chain(head);
    return err->rc;
}

sk_rc sk_job_restore(sk_job *job, const char *name, const sk_restore_opts *opts, char key_out[1024], sk_err *err)
{
    sk_manifest m;
    sk_writer *sink = NULL;
    sk_age_keys *ids = NULL;
    sk_backup_entry e;
    if (resolve(job, name, &e, err) != SK_OK)
        return err->rc;
    memcpy(key_out, e.key, sizeof e.key);
    if (load_checks(job, &e, &m, err) != SK_OK || encryption_keys(job, &e, &m, &ids, err) != SK_OK)
        return err->rc;
    sk_log_msg(job_log(job), SK_LOG_INFO, "restoring %s (%llu bytes stored) into %s", key_out,
               (unsigned long long)m.stored_size, opts->target ? opts->target : "?");
    sk_rc rc = job->engine->restore_open(job->engine_state, opts, &sink, err);
    if (rc == SK_OK)
        rc = download_checked(job, key_out, &m, ids, sink, err);
    sk_age_keys_free(ids);
    return rc;
}

sk_rc sk_job_verify(sk_job *job, const char *name, char key_out[1024], char *summary, sk_err *err)
{
    sk_manifest m;
    sk_writer *sink = NULL;
    sk_age_keys *ids = NULL;
    sk_backup_entry e;
    summary[0] = '\0';
    if (resolve(job, name, &e, err) != SK_OK)
        return err->rc;
    memcpy(key_out, e.key, sizeof e.key);
    if (load_checks(job, &e, &m, err) != SK_OK || encryption_keys(job, &e, &m, &ids, err) != SK_OK)
        return err->rc;
    sk_rc rc = job->engine->verify_open(job->engine_state, summary, &sink, err);
    if (rc == SK_OK)
        rc = download_checked(job, key_out, &m, ids, sink, err);
    sk_age_keys_free(ids);
    return rc;
}

/* ---- retention -------------------------------------------------------------------------- */

const sk_config *sk_job_config(const sk_job *job) { return job->cfg; }

void sk_job_identity(const sk_job *job, const char **service, const char **environment, const char **engine,
                     const char **database)
{
    *service = sk_config_str(job->cfg, "SNAPKEEP_SERVICE");
    *environment = sk_config_str(job->cfg, "SNAPKEEP_ENVIRONMENT");
    *engine = job->engine->name;
    *database = job->info.database;
}

/* Delete the objects of one data key, crash-safely: a pending marker first (unless one is there),
 * then manifest, .md5 and data, the marker last. Interrupted, what is left carries the marker and
 * the next prune's orphan cleanup finishes the deletion; a backup is never half-listed. */
static sk_rc delete_group(sk_job *job, const group *g, sk_err *err)
{
    static const int order[] = { OBJ_MANIFEST, OBJ_MD5, OBJ_DATA, OBJ_PENDING };
    static const char *suffix[OBJ_KINDS] = { "", SK_MD5_SUFFIX, SK_MANIFEST_SUFFIX, SK_PENDING_SUFFIX };
    if (!g->obj[OBJ_PENDING] && put_pending(job, g->key, "delete", err) != SK_OK)
        return err->rc;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        char k[1100];
        snprintf(k, sizeof k, "%s%s", g->key, suffix[order[i]]);
        if (order[i] != OBJ_PENDING && !g->obj[order[i]])
            continue;
        if (job->dest->remove(job->dest_state, k, err) != SK_OK) {
            sk_err_prefix(err, "delete '%s': ", k);
            return err->rc;
        }
    }
    return SK_OK;
}

#define ORPHAN_AGE 3600

/* Whether the manifest of `key` marks it suspect; an unreadable manifest counts as not suspect
 * (retention then keeps what it kept before the guards existed). */
static int manifest_suspect(sk_job *job, const char *key)
{
    char mkey[1100], *text = NULL;
    size_t len;
    sk_manifest m;
    sk_err e;
    sk_err_clear(&e);
    snprintf(mkey, sizeof mkey, "%s%s", key, SK_MANIFEST_SUFFIX);
    int suspect = get_small(job, mkey, &text, &len, &e) == SK_OK && sk_manifest_parse(text, len, mkey, &m, &e) == SK_OK &&
                  m.suspect;
    free(text);
    return suspect;
}

static int group_cmp(const void *a, const void *b)
{
    const group *x = *(const group *const *)a, *y = *(const group *const *)b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? 1 : -1;
    return -strcmp(x->key, y->key);
}

static int mine_cb(void *ud, const char *key)
{
    char dk[1024];
    int kind;
    int64_t ts;
    return owner_of(ud, key, dk, sizeof dk, &kind, &ts);
}

void sk_job_sweep(sk_job *job)
{
    if (!job->dest->sweep)
        return;
    size_t removed = 0;
    sk_err err;
    sk_err_clear(&err);
    if (job->dest->sweep(job->dest_state, job->dir, mine_cb, job, now_s(job) - ORPHAN_AGE, &removed, &err) != SK_OK)
        sk_log_msg(job_log(job), SK_LOG_WARN, "could not clean stale temporary files: %s", err.msg);
    else if (removed)
        sk_log_msg(job_log(job), SK_LOG_INFO,
                   "removed %zu temporary file(s) of this job's interrupted uploads (untouched for over %d s) in %s",
                   removed, ORPHAN_AGE, job->dest->describe(job->dest_state));
}

sk_rc sk_job_prune(sk_job *job, const sk_retention_policy *p, int dry_run, int64_t now, sk_prune_fn fn, void *ud,
                   size_t *deleted, sk_err *err)
{
    groupset g;
    group **listed = NULL;
    sk_retention_item *items = NULL;
    size_t nl = 0;
    sk_rc rc = SK_OK;
    *deleted = 0;
    if (list_groups(job, &g, err) != SK_OK)
        return err->rc;
    listed = calloc(g.n ? g.n : 1, sizeof *listed);
    items = calloc(g.n ? g.n : 1, sizeof *items);
    if (!listed || !items) {
        rc = sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < g.n; i++)
        if (g.v[i].listed)
            listed[nl++] = &g.v[i];
    if (nl > 1)
        qsort(listed, nl, sizeof *listed, group_cmp); /* newest first, as list() orders them */
    for (size_t i = 0; i < nl; i++) {
        items[i].ts = listed[i]->ts;
        /* guards: a suspect backup does not count towards keep_min (its manifest says so) */
        if (p->keep_min > 0 && listed[i]->obj[OBJ_MANIFEST])
            items[i].suspect = manifest_suspect(job, listed[i]->key);
    }
    /* legacy backups are backups of this job like the others: the configured policy, nothing else */
    sk_retention_decide(items, nl, p, now);
    for (size_t i = 0; i < nl; i++) {
        char why[160];
        snprintf(why, sizeof why, "%s%s", items[i].reason, listed[i]->obj[OBJ_MANIFEST] ? "" : "; legacy backup");
        if (fn)
            fn(ud, listed[i]->key, items[i].keep, why);
        if (items[i].keep)
            continue;
        listed[i]->gone = 1;
        if (!dry_run && (rc = delete_group(job, listed[i], err)) != SK_OK) {
            sk_err_prefix(err, "retention: ");
            goto out;
        }
        ++*deleted;
    }
    /* Orphans. Only what carries snapkeep's pending marker is provably snapkeep's (a backup or a
     * deletion it did not finish); anything else that is not a listed backup is left alone. */
    for (size_t i = 0; i < g.n; i++) {
        group *x = &g.v[i];
        if (x->gone || (x->listed && !x->obj[OBJ_PENDING]))
            continue;
        if (!x->obj[OBJ_PENDING]) {
            for (int k = 0; fn && k < OBJ_KINDS; k++)
                if (x->obj[k])
                    fn(ud, x->obj[k]->key, 1, "not a complete backup and not marked as snapkeep's: never deleted");
            continue;
        }
        int64_t newest = 0;
        for (int k = 0; k < OBJ_KINDS; k++)
            if (x->obj[k] && x->obj[k]->mtime > newest)
                newest = x->obj[k]->mtime;
        int committed = x->obj[OBJ_DATA] && x->obj[OBJ_MANIFEST];
        if (now - newest < ORPHAN_AGE)
            continue; /* young: maybe a backup or deletion in progress elsewhere */
        for (int k = 0; fn && k < OBJ_KINDS; k++)
            if (x->obj[k] && (!committed || k == OBJ_PENDING))
                fn(ud, x->obj[k]->key, 0, committed ? "stale marker of a committed backup"
                                                    : "orphan of an interrupted backup or deletion");
        if (dry_run) {
            ++*deleted;
            continue;
        }
        if (committed) {
            if ((rc = job->dest->remove(job->dest_state, x->obj[OBJ_PENDING]->key, err)) != SK_OK) {
                sk_err_prefix(err, "retention: delete '%s': ", x->obj[OBJ_PENDING]->key);
                goto out;
            }
        } else if ((rc = delete_group(job, x, err)) != SK_OK) {
            sk_err_prefix(err, "retention: orphan: ");
            goto out;
        }
        ++*deleted;
    }
    if (!dry_run)
        sk_job_sweep(job);
out:
    free(items);
    free(listed);
    groups_free(&g);
    return rc;
}

sk_rc sk_job_manifest_text(sk_job *job, const char *key, char **text, size_t *len, sk_err *err)
{
    char mkey[1100];
    if (snprintf(mkey, sizeof mkey, "%s%s", key, SK_MANIFEST_SUFFIX) >= (int)sizeof mkey)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "the key '%s' is too long", key);
    return get_small(job, mkey, text, len, err);
}

const sk_engine_type *sk_job_engine(const sk_job *job, void **state)
{
    *state = job->engine_state;
    return job->engine;
}

/* ---- get / delete of one backup ---------------------------------------------------------- */

sk_rc sk_job_get(sk_job *job, const char *name, sk_writer *sink, char key_out[1024], sk_err *err)
{
    sk_manifest m;
    sk_backup_entry e;
    sk_age_keys *ids = NULL;
    if (resolve(job, name, &e, err) != SK_OK || load_checks(job, &e, &m, err) != SK_OK ||
        encryption_keys(job, &e, &m, &ids, err) != SK_OK) {
        sk_writer_abort(sink);
        sk_writer_free_chain(sink);
        return err->rc;
    }
    memcpy(key_out, e.key, sizeof e.key);
    sk_rc rc = download_checked(job, e.key, &m, ids, sink, err); /* decrypted too: the plain artifact */
    sk_age_keys_free(ids);
    return rc;
}

sk_rc sk_job_delete(sk_job *job, const char *name, char key_out[1024], sk_err *err)
{
    sk_backup_entry e;
    groupset g;
    if (strcmp(name, "latest") == 0)
        return sk_fail(err, SK_ERR_USAGE, 0, "delete takes the key of one backup (see `snapkeep list`), not 'latest'");
    if (resolve(job, name, &e, err) != SK_OK)
        return err->rc;
    memcpy(key_out, e.key, sizeof e.key);
    if (list_groups(job, &g, err) != SK_OK)
        return err->rc;
    sk_rc rc = sk_fail(err, SK_ERR_NOTFOUND, 0, "'%s' went away while it was being deleted", e.key);
    for (size_t i = 0; i < g.n; i++)
        if (g.v[i].listed && strcmp(g.v[i].key, e.key) == 0) {
            sk_err_clear(err);
            /* the same crash-safe path as retention: marker, manifest, .md5, data, marker */
            rc = delete_group(job, &g.v[i], err);
            break;
        }
    groups_free(&g);
    return rc;
}
