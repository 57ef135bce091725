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
#include "fanout.h"
#include "filter_hash.h"
#include "filter_zstd.h"
#include "guard.h"
#include "naming.h"
#include "progress.h"
#include "registry.h"
#include "version.h"

#define SMALL_OBJECT_LIMIT (64 * 1024)

/* One destination of the job. */
typedef struct jdest {
    const sk_dest_type *type;
    void *state;
    char label[16];           /* "local", "s3", "s3_2" */
    char keyspace[4096];      /* sk_job_dest_keyspace */
} jdest;

static const char *ddesc(const jdest *d) { return d->type->describe(d->state); }

struct sk_job {
    const sk_config *cfg;
    const sk_runtime *rt;
    const sk_engine_type *engine;
    void *engine_state;
    jdest d[SK_MAX_DESTS];  /* in the order restores try them (registry.h) */
    size_t nd;
    size_t required;        /* copies that must land for a backup to succeed (SNAPKEEP_DEST_REQUIRED) */
    sk_dump_info info;
    char dir[512];
    char name[512];
    char keyspace[SK_MAX_DESTS * 4100];
    char where[600];
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
    sk_dest_pick picks[SK_MAX_DESTS];
    if (sk_engine_select(cfg, &job->engine, err) != SK_OK || sk_dests_select(cfg, picks, &job->nd, err) != SK_OK)
        goto fail;
    for (size_t i = 0; i < job->nd; i++) {
        job->d[i].type = picks[i].type;
        sk_dest_label(picks[i].type, picks[i].slot, job->d[i].label, sizeof job->d[i].label);
    }
    const char *req = sk_config_str(cfg, "SNAPKEEP_DEST_REQUIRED");
    job->required = !req || !strcmp(req, "all") ? job->nd : (size_t)sk_config_int(cfg, "SNAPKEEP_DEST_REQUIRED", 1);
    if (job->required > job->nd) {
        sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_DEST_REQUIRED=%zu, but the job has %zu destination(s): set at most "
                "%zu, or all", job->required, job->nd, job->nd);
        goto fail;
    }
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
    size_t used = 0;
    for (size_t i = 0; i < job->nd; i++) {
        jdest *d = &job->d[i];
        if (d->type->open(cfg, picks[i].slot, rt, &d->state, err) != SK_OK) {
            if (job->nd > 1)
                sk_err_prefix(err, "destination %s: ", d->label);
            goto fail;
        }
        const char *where = d->type->identity ? d->type->identity(d->state) : d->type->describe(d->state);
        int kn = snprintf(d->keyspace, sizeof d->keyspace, "%s\n%s\n%s\n%s\n%s", where, job->dir, job->engine->tag,
                          job->info.database, job->engine->ext);
        if (kn < 0 || (size_t)kn >= sizeof d->keyspace) {
            sk_fail(err, SK_ERR_CONFIG, 0, "the destination and key of %s are too long to identify the job", job->name);
            goto fail;
        }
        for (size_t k = 0; k < i; k++)
            if (!strcmp(job->d[k].keyspace, d->keyspace)) {
                sk_fail(err, SK_ERR_CONFIG, 0, "destinations %s and %s of %s are one place (%s): each copy needs "
                        "a place of its own", job->d[k].label, d->label, job->name, ddesc(d));
                goto fail;
            }
        /* the job's key space (its id): one destination's, as before several existed, or all of them */
        int n = snprintf(job->keyspace + used, sizeof job->keyspace - used, "%s%s", i ? "\n--\n" : "", d->keyspace);
        if (n < 0 || (size_t)n >= sizeof job->keyspace - used) {
            sk_fail(err, SK_ERR_CONFIG, 0, "the destinations and key of %s are too long to identify the job", job->name);
            goto fail;
        }
        used += (size_t)n;
    }
    if (job->nd == 1) {
        snprintf(job->where, sizeof job->where, "%s", ddesc(&job->d[0]));
    } else {
        size_t w = (size_t)snprintf(job->where, sizeof job->where, "any of its %zu destinations (", job->nd);
        for (size_t i = 0; i < job->nd && w < sizeof job->where; i++)
            w += (size_t)snprintf(job->where + w, sizeof job->where - w, "%s%s", i ? ", " : "", job->d[i].label);
        if (w < sizeof job->where)
            snprintf(job->where + w, sizeof job->where - w, ")");
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
    for (size_t i = 0; i < job->nd; i++)
        if (job->d[i].state)
            job->d[i].type->close(job->d[i].state);
    sk_age_keys_free(job->age);
    free(job);
}

const char *sk_job_name(const sk_job *job) { return job->name; }

const char *sk_job_keyspace(const sk_job *job) { return job->keyspace; }

size_t sk_job_ndests(const sk_job *job) { return job->nd; }
const char *sk_job_dest_label(const sk_job *job, size_t i) { return job->d[i].label; }
const char *sk_job_dest_describe(const sk_job *job, size_t i) { return ddesc(&job->d[i]); }
const char *sk_job_dest_keyspace(const sk_job *job, size_t i) { return job->d[i].keyspace; }

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

static sk_rc put_small(jdest *d, const char *key, const char *data, size_t len, sk_err *err)
{
    sk_writer *w = NULL;
    if (d->type->put(d->state, key, &w, err) != SK_OK)
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
static sk_rc get_small(jdest *d, const char *key, char **out, size_t *len, sk_err *err)
{
    sk_writer *m = sk_mem_writer_new(SMALL_OBJECT_LIMIT, err);
    if (!m)
        return err->rc;
    sk_rc rc = d->type->get(d->state, key, m, err);
    if (rc == SK_OK) {
        size_t n;
        const char *data = sk_mem_writer_data(m, &n);
        *out = malloc(n + 1);
        if (!*out) {
            rc = sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        } else {
            memcpy(*out, data, n);
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

static sk_rc list_dir(sk_job *job, jdest *d, objset *s, sk_err *err)
{
    memset(s, 0, sizeof *s);
    sk_rc rc = d->type->list(d->state, job->dir, collect, s, err);
    if (rc != SK_OK) {
        sk_err_prefix(err, "list %s: ", ddesc(d));
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

static sk_rc list_groups(sk_job *job, jdest *d, groupset *g, sk_err *err)
{
    memset(g, 0, sizeof *g);
    if (list_dir(job, d, &g->s, err) != SK_OK)
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

/* The checksum state of one copy of `key` in d ("ok", "missing", "mismatch", "unreadable"); its
 * manifest into *m when one was read. */
static const char *check_copy(sk_job *job, jdest *d, const char *key, int legacy, uint64_t size, sk_manifest *m,
                              int *have_m)
{
    char mkey[1100], skey[1100], *text = NULL, md5[65];
    size_t len;
    sk_err err;
    sk_err_clear(&err);
    (void)job;
    snprintf(mkey, sizeof mkey, "%s%s", key, SK_MANIFEST_SUFFIX);
    snprintf(skey, sizeof skey, "%s%s", key, SK_MD5_SUFFIX);
    *have_m = 0;
    if (!legacy) {
        if (get_small(d, mkey, &text, &len, &err) != SK_OK)
            return "unreadable";
        sk_rc rc = sk_manifest_parse(text, len, mkey, m, &err);
        free(text);
        if (rc != SK_OK)
            return "unreadable";
        *have_m = 1;
        text = NULL;
    }
    sk_rc rc = get_small(d, skey, &text, &len, &err);
    if (rc == SK_ERR_NOTFOUND)
        return "missing";
    if (rc != SK_OK)
        return "unreadable";
    rc = sk_md5_parse(text, len, sk_key_base(key), md5, &err);
    free(text);
    if (rc != SK_OK)
        return "unreadable";
    /* a legacy backup's sidecar is all there is: it is checked against the data when downloaded */
    return legacy || (strcmp(md5, m->stored_md5) == 0 && size == m->stored_size) ? "ok" : "mismatch";
}

/* Fill the checksum state of every copy of e; the entry's own state and manifest are its first
 * good copy's (else its first copy's). */
static void check_entry(sk_job *job, sk_backup_entry *e)
{
    const char *first = NULL;
    e->good = 0;
    e->checksum = "unreadable";
    for (size_t i = 0; i < job->nd; i++) {
        if (!(e->present & (1u << i)))
            continue;
        sk_manifest m;
        int have_m;
        e->copy[i] = check_copy(job, &job->d[i], e->key, (e->legacy_copies >> i) & 1, e->sizes[i], &m, &have_m);
        int ok = !strcmp(e->copy[i], "ok");
        if (ok)
            e->good |= 1u << i;
        if (!first || (ok && strcmp(first, "ok") != 0)) {
            first = e->copy[i];
            e->checksum = e->copy[i];
            e->have_manifest_data = have_m;
            if (have_m)
                e->m = m;
        }
    }
}

/* The entry of `key` in l, appended when missing. */
static sk_backup_entry *entry_for(sk_backup_list *l, size_t *cap, const char *key, sk_err *err)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].key, key))
            return &l->v[i];
    if (l->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        sk_backup_entry *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) {
            sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
            return NULL;
        }
        l->v = nv;
        *cap = nc;
    }
    sk_backup_entry *e = &l->v[l->n++];
    memset(e, 0, sizeof *e);
    memcpy(e->key, key, strlen(key) + 1);
    return e;
}

/* Every destination's listing, merged by key. A destination that cannot be listed is left out
 * (logged); only when none can be listed is that an error. */
sk_rc sk_job_list(sk_job *job, int details, sk_backup_list *out, sk_err *err)
{
    size_t cap = 0;
    int listed = 0;
    sk_err first;
    sk_err_clear(&first);
    memset(out, 0, sizeof *out);
    for (size_t d = 0; d < job->nd; d++) {
        groupset g;
        sk_err e;
        sk_err_clear(&e);
        if (list_groups(job, &job->d[d], &g, &e) != SK_OK) {
            if (job->nd > 1)
                sk_log_msg(job_log(job), SK_LOG_WARN, "destination %s cannot be listed: %s", job->d[d].label, e.msg);
            if (first.rc == SK_OK)
                first = e;
            continue;
        }
        listed = 1;
        for (size_t i = 0; i < g.n; i++) {
            if (!g.v[i].listed)
                continue; /* not committed, or not a backup at all */
            sk_backup_entry *x = entry_for(out, &cap, g.v[i].key, err);
            if (!x) {
                groups_free(&g);
                sk_backup_list_free(out);
                return err->rc;
            }
            int legacy = !g.v[i].obj[OBJ_MANIFEST];
            if (!x->present) {
                x->ts = g.v[i].ts;
                x->size = g.v[i].obj[OBJ_DATA]->size;
                x->legacy = legacy;
                x->checksum = "unchecked";
            }
            x->present |= 1u << d;
            x->good |= 1u << d;
            x->sizes[d] = g.v[i].obj[OBJ_DATA]->size;
            x->legacy_copies |= (unsigned)legacy << d;
            x->copy[d] = "unchecked";
        }
        groups_free(&g);
    }
    if (!listed) {
        *err = first;
        return err->rc;
    }
    if (out->n > 1)
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

/* "local directory /b" with one destination, "its destinations (local, s3)" with several. */
static const char *where(const sk_job *job) { return job->where; }

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
        return sk_fail(err, SK_ERR_NOTFOUND, 0, "no backup of %s in %s", job->name, where(job));
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
                         where(job));
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
                         where(job));
        else
            *found = l.v[i];
    }
    sk_backup_list_free(&l);
    return rc;
}

/* ---- backup ----------------------------------------------------------------------------- */

/* One copy of a backup being made: where it goes and how far it got. */
typedef struct copy {
    jdest *d;
    int alive;                    /* still being written */
    int failed;                   /* failed on its own (not stopped by another failure) */
    int pending, data, md5, committed;
    sk_err err;                   /* why it failed */
} copy;

static size_t alive(const copy *c, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += c[i].alive != 0;
    return k;
}

/* This copy failed: the others go on without it. */
static void copy_fail(sk_job *job, copy *c, const sk_err *why, const char *what)
{
    if (!c->alive)
        return;
    c->alive = 0;
    c->failed = 1;
    c->err = *why;
    if (what)
        sk_err_prefix(&c->err, "%s", what);
    sk_log_msg(job_log(job), SK_LOG_ERROR, "copy to destination %s (%s) failed: %s", c->d->label, ddesc(c->d),
               c->err.msg);
}

/* "s3_2: <error>; local: <error>" for the copies that failed. */
static void failed_copies(const copy *c, size_t n, char *out, size_t sz)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < sz; i++)
        if (c[i].failed) {
            int w = snprintf(out + used, sz - used, "%s%s (%s): %s", used ? "; " : "", c[i].d->label, ddesc(c[i].d),
                             c[i].err.msg);
            used += w > 0 ? (size_t)w : 0;
        }
}

/* Fail the backup because too few copies landed, naming every failed copy. With one destination
 * its copy's own error is the backup's (a refused credential stays a configuration error, exit 3);
 * with several, a destination error when some copies landed, else the code the failed copies share
 * (a destination error when they differ). */
static sk_rc copies_failed(const sk_job *job, const copy *c, const char *key, size_t landed, sk_err *err)
{
    if (job->nd == 1 && c[0].failed) {
        *err = c[0].err;
        return err->rc;
    }
    sk_rc rc = SK_OK;
    for (size_t i = 0; i < job->nd && !landed; i++)
        if (c[i].failed)
            rc = rc == SK_OK || rc == c[i].err.rc ? c[i].err.rc : SK_ERR_DEST;
    char why[900];
    failed_copies(c, job->nd, why, sizeof why);
    return sk_fail(err, rc == SK_OK ? SK_ERR_DEST : rc, 0,
                   "%zu of %zu copies of %s landed, %zu required (SNAPKEEP_DEST_REQUIRED): %s", landed, job->nd,
                   key[0] ? key : "the backup", job->required, why);
}

/* A key whose second is not used by any object of this job yet, in any live copy's destination.
 * Two backups in the same second would clash, so the later one waits for the next second (keys
 * stay truthful). A destination that cannot be listed loses its copy. */
static sk_rc choose_key(sk_job *job, copy *c, char key[1024], int64_t *ts, sk_err *err)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        *ts = now_s(job);
        if (sk_key_build(job->dir, job->engine->tag, job->info.database, *ts, job->engine->ext, key, 1024) != 0)
            return sk_fail(err, SK_ERR_CONFIG, 0, "the key for %s is too long", job->name);
        size_t stem = strlen(key) - strlen(job->engine->ext) - 5; /* up to the stamp, without ".ext.zst" */
        if (job->age) { /* encrypted: "<...>.ext.zst.age" */
            size_t kl = strlen(key);
            if (kl + sizeof SK_AGE_SUFFIX > 1024)
                return sk_fail(err, SK_ERR_CONFIG, 0, "the key for %s is too long", job->name);
            memcpy(key + kl, SK_AGE_SUFFIX, sizeof SK_AGE_SUFFIX);
        }
        int clash = 0;
        for (size_t d = 0; d < job->nd && !clash; d++) {
            objset s;
            sk_err e;
            sk_err_clear(&e);
            if (!c[d].alive)
                continue;
            if (list_dir(job, c[d].d, &s, &e) != SK_OK) {
                copy_fail(job, &c[d], &e, NULL);
                continue;
            }
            for (size_t i = 0; i < s.n && !clash; i++)
                clash = strncmp(s.v[i].key, key, stem) == 0 && s.v[i].key[stem] == '.';
            objset_free(&s);
        }
        if (!alive(c, job->nd))
            return copies_failed(job, c, "", 0, err);
        if (!clash)
            return SK_OK;
        struct timespec ts_sleep = { 0, 0 };
        int64_t ms = job->rt && job->rt->now_ms ? job->rt->now_ms(job->rt->clock_ud) : (int64_t)time(NULL) * 1000;
        ts_sleep.tv_nsec = (long)(1000 - ms % 1000) * 1000000L;
        nanosleep(&ts_sleep, NULL);
    }
    return sk_fail(err, SK_ERR_BUSY, 0, "no free key for %s after 5 attempts: another backup is running", job->name);
}

static int remove_quietly(sk_job *job, jdest *d, const char *key, const char *when)
{
    sk_err e;
    sk_err_clear(&e);
    if (d->type->remove(d->state, key, &e) == SK_OK)
        return 0;
    sk_log_msg(job_log(job), SK_LOG_WARN, "could not remove '%s' from %s %s: %s", key, d->label, when, e.msg);
    return -1;
}

/* Store the pending marker of data key `key` (SK_PENDING_SUFFIX) in d: from now until it is
 * removed, the key's objects are snapkeep's work in progress, and orphan cleanup may finish the job. */
static sk_rc put_pending(sk_job *job, jdest *d, const char *key, const char *purpose, sk_err *err)
{
    char pkey[1100], body[256], iso[32];
    if (snprintf(pkey, sizeof pkey, "%s%s", key, SK_PENDING_SUFFIX) >= (int)sizeof pkey)
        return sk_fail(err, SK_ERR_CONFIG, 0, "the key '%s' is too long", key);
    sk_iso8601(now_s(job), iso, sizeof iso);
    int n = snprintf(body, sizeof body, "{\"tool\":\"snapkeep\",\"version\":\"%s\",\"purpose\":\"%s\",\"pid\":%ld,"
                     "\"at\":\"%s\"}\n", SK_VERSION, purpose, (long)getpid(), iso);
    if (put_small(d, pkey, body, (size_t)n, err) != SK_OK) {
        sk_err_prefix(err, "store '%s': ", pkey);
        return err->rc;
    }
    return SK_OK;
}

/* A small object of listed backup e (its manifest, its sidecar) from the first copy that has it. */
static sk_rc get_small_any(sk_job *job, const sk_backup_entry *e, const char *key, char **out, size_t *len,
                           sk_err *err)
{
    sk_rc rc = sk_fail(err, SK_ERR_NOTFOUND, 0, "'%s' is in none of the destinations", key);
    for (size_t i = 0; i < job->nd; i++) {
        if (!(e->present & (1u << i)))
            continue;
        sk_err_clear(err);
        if ((rc = get_small(&job->d[i], key, out, len, err)) == SK_OK)
            return SK_OK;
    }
    return rc;
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
            if (get_small_any(job, &l.v[i], mkey, &text, &len, &e) != SK_OK ||
                sk_manifest_parse(text, len, mkey, &pm, &e) != SK_OK) {
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

/* After the fan-out finished or was aborted: which copies committed their data, and which failed on
 * their own (a copy stopped by the abort of all is not its destination's failure). */
static void branches_done(sk_job *job, copy *c, const sk_writer *fan, const size_t *map, size_t ns)
{
    for (size_t k = 0; k < ns; k++) {
        sk_err why;
        sk_err_clear(&why);
        if (sk_fanout_branch(fan, k, &why))
            c[map[k]].data = 1;
        else if (why.rc != SK_ERR_CANCELLED)
            copy_fail(job, &c[map[k]], &why, "store data: ");
    }
}

sk_rc sk_job_backup(sk_job *job, sk_backup_result *res, sk_err *err)
{
    sk_writer *head = NULL, *fan = NULL, *md5 = NULL, *zst = NULL, *sha = NULL, *age = NULL, *w = NULL;
    sk_writer *sinks[SK_MAX_DESTS];
    size_t ns = 0, map[SK_MAX_DESTS];
    copy c[SK_MAX_DESTS];
    sk_manifest m;
    char key[1024] = "", skey[1100], mkey[1100], pkey[1100], line[1200];
    char *json = NULL;
    int64_t ts;
    memset(&m, 0, sizeof m);
    memset(res, 0, sizeof *res);
    memset(c, 0, sizeof c);
    for (size_t i = 0; i < job->nd; i++) {
        c[i].d = &job->d[i];
        c[i].alive = 1;
    }
    double t0 = sk_monotonic();

    job->info.table_rows_json = NULL; /* the counts of this dump only (guards) */
    job->info.collections_json = NULL;
    sk_job_sweep(job);
    if (choose_key(job, c, key, &ts, err) != SK_OK)
        goto fail;
    snprintf(skey, sizeof skey, "%s%s", key, SK_MD5_SUFFIX);
    snprintf(mkey, sizeof mkey, "%s%s", key, SK_MANIFEST_SUFFIX);
    snprintf(pkey, sizeof pkey, "%s%s", key, SK_PENDING_SUFFIX);
    for (size_t i = 0; i < job->nd; i++) {
        sk_err e;
        sk_err_clear(&e);
        if (c[i].alive && put_pending(job, c[i].d, key, "backup", &e) != SK_OK)
            copy_fail(job, &c[i], &e, NULL);
        else
            c[i].pending = c[i].alive;
    }
    if (!alive(c, job->nd)) {
        copies_failed(job, c, key, 0, err);
        goto fail;
    }
    sk_log_msg(job_log(job), SK_LOG_INFO, "backup started: %s -> %s (zstd level %d, %d worker(s)%s)", key,
               job->nd == 1 ? ddesc(&job->d[0]) : job->where, job->zstd.level, job->zstd.workers,
               !job->age ? "" : sk_age_keys_has_passphrase(job->age) ? ", age: passphrase" : ", age: X25519 recipients");

    for (size_t i = 0; i < job->nd; i++) {
        sk_err e;
        sk_err_clear(&e);
        if (!c[i].alive)
            continue;
        if (c[i].d->type->put(c[i].d->state, key, &sinks[ns], &e) != SK_OK) {
            copy_fail(job, &c[i], &e, NULL);
            continue;
        }
        map[ns++] = i;
    }
    if (!ns) {
        copies_failed(job, c, key, 0, err);
        goto fail;
    }
    /* one stream, every destination at once (fanout.h): the dump is read and compressed once */
    if (!(fan = sk_fanout_new(sinks, ns, err)))
        goto fail;
    head = fan;
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
    sk_rc frc = sk_writer_finish(head, err);
    branches_done(job, c, fan, map, ns);
    if (frc != SK_OK) {
        sk_err_prefix(err, "store '%s': ", key);
        goto fail;
    }
    double dd = sk_monotonic() - td;
    sk_log_stage(job_log(job), "dump", sha->bytes, dd, "engine output (plaintext), SHA-256 computed");
    sk_log_stage(job_log(job), "store", md5->bytes, dd, "compressed%s to %.1f%% and stored as %s in %zu destination(s)",
                 age ? " and encrypted (age)" : "", sha->bytes ? 100.0 * (double)md5->bytes / (double)sha->bytes : 0.0,
                 key, alive(c, job->nd));
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
    if (n < 0) {
        sk_fail(err, SK_ERR_INTERNAL, 0, "key too long for the .md5 line");
        goto fail;
    }
    for (size_t i = 0; i < job->nd; i++) {
        sk_err e;
        sk_err_clear(&e);
        if (c[i].alive && put_small(c[i].d, skey, line, (size_t)n, &e) != SK_OK) {
            sk_err_prefix(&e, "store '%s': ", skey);
            copy_fail(job, &c[i], &e, NULL);
        }
        c[i].md5 = c[i].alive;
    }
    sk_log_stage(job_log(job), "checksum", (uint64_t)n, sk_monotonic() - tm, "%s  %s", m.stored_md5, skey);
    maybe_pause(job, "after-md5");

    m.finished_at = now_s(job);
    tm = sk_monotonic();
    if (!(json = sk_manifest_to_json(&m, err)))
        goto fail;
    for (size_t i = 0; i < job->nd; i++) {
        sk_err e;
        sk_err_clear(&e);
        if (!c[i].alive)
            continue;
        if (put_small(c[i].d, mkey, json, strlen(json), &e) != SK_OK) {
            sk_err_prefix(&e, "store '%s': ", mkey);
            copy_fail(job, &c[i], &e, NULL);
            continue;
        }
        c[i].committed = 1;
        /* committed: a marker left behind (removal failed) is cleaned by the next prune */
        remove_quietly(job, c[i].d, pkey, "after the commit");
    }
    size_t landed = alive(c, job->nd);
    if (landed)
        sk_log_stage(job_log(job), "manifest", strlen(json), sk_monotonic() - tm, "%s (backup committed in %zu of %zu "
                     "destination(s))", mkey, landed, job->nd);
    free(json);
    json = NULL;
    if (landed && job->engine->after_backup)
        job->engine->after_backup(job->engine_state, key);
    sk_writer_free_chain(head);
    head = fan = NULL;

    snprintf(res->key, sizeof res->key, "%s", key);
    res->plain_size = m.plain_size;
    res->stored_size = m.stored_size;
    res->seconds = sk_monotonic() - t0;
    res->suspect = m.suspect;
    memcpy(res->suspect_reasons, m.suspect_reasons, sizeof res->suspect_reasons);
    res->landed = landed;
    if (landed < job->required) {
        copies_failed(job, c, key, landed, err);
        goto fail;
    }
    if (landed < job->nd) {
        char why[900];
        failed_copies(c, job->nd, why, sizeof why);
        sk_log_msg(job_log(job), SK_LOG_WARN, "%zu of %zu copies of %s landed (enough: SNAPKEEP_DEST_REQUIRED=%zu); "
                   "failed: %s", landed, job->nd, key, job->required, why);
    }
    goto report;

fail:
    free(json);
    if (head) {
        sk_writer_abort(head); /* removes the partial objects of copies that did not commit their data */
        branches_done(job, c, fan, map, ns); /* which copies failed on their own */
        sk_writer_free_chain(head);
    } else if (fan) {
        sk_writer_abort(fan);
        branches_done(job, c, fan, map, ns);
        sk_writer_free_chain(fan);
    }
report:
    /* what a failed copy stored goes; with something left, its marker stays for orphan cleanup */
    for (size_t i = 0; i < job->nd; i++) {
        if (c[i].committed)
            continue;
        int left = 0;
        if (c[i].md5)
            left |= remove_quietly(job, c[i].d, skey, "after the failure");
        if (c[i].data)
            left |= remove_quietly(job, c[i].d, key, "after the failure");
        if (c[i].pending && !left)
            remove_quietly(job, c[i].d, pkey, "after the failure");
    }
    res->ndests = job->nd;
    for (size_t i = 0; i < job->nd; i++) {
        snprintf(res->dest[i].label, sizeof res->dest[i].label, "%s", job->d[i].label);
        snprintf(res->dest[i].where, sizeof res->dest[i].where, "%s", ddesc(&job->d[i]));
        res->dest[i].state = c[i].committed ? 1 : c[i].failed ? -1 : 0;
        if (c[i].failed)
            snprintf(res->dest[i].error, sizeof res->dest[i].error, "%s", c[i].err.msg);
    }
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
static sk_rc load_legacy(sk_job *job, jdest *d, const sk_backup_entry *e, sk_manifest *m, sk_err *err)
{
    char skey[1100], *text = NULL;
    size_t len;
    memset(m, 0, sizeof *m);
    snprintf(skey, sizeof skey, "%s%s", e->key, SK_MD5_SUFFIX);
    if (get_small(d, skey, &text, &len, err) != SK_OK)
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
static sk_rc load_checks(sk_job *job, jdest *d, const sk_backup_entry *e, sk_manifest *m, sk_err *err)
{
    if (e->legacy)
        return load_legacy(job, d, e, m, err);
    const char *key = e->key;
    char mkey[1100], skey[1100], *text = NULL, md5[65];
    size_t len;
    snprintf(mkey, sizeof mkey, "%s%s", key, SK_MANIFEST_SUFFIX);
    snprintf(skey, sizeof skey, "%s%s", key, SK_MD5_SUFFIX);
    if (get_small(d, mkey, &text, &len, err) != SK_OK)
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
    rc = get_small(d, skey, &text, &len, err);
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
static sk_rc download_checked(sk_job *job, jdest *d, const char *key, const sk_manifest *m, const sk_age_keys *ids,
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
    if (d->type->get(d->state, key, head, err) != SK_OK)
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

/* Where a fetched copy goes: a new sink for each copy tried (the previous one was aborted). */
typedef sk_rc (*open_sink_fn)(sk_job *job, void *ud, sk_writer **sink, sk_err *err);

/* Fetch listed backup e through every check into a sink from `open`, from its first copy that
 * passes them, in the destinations' order. A copy that is missing, unreadable or damaged
 * (destination, not-found and integrity errors) is logged, naming its destination, and the next is
 * tried; any other failure (the target, a missing key, a signal) ends the fetch. `what` names
 * the operation in logs ("restoring"). */
static sk_rc fetch(sk_job *job, const sk_backup_entry *e, open_sink_fn open, void *ud, int reopen, const char *what,
                   sk_err *err)
{
    sk_rc rc = sk_fail(err, SK_ERR_NOTFOUND, 0, "'%s' has no copy in %s", e->key, where(job));
    size_t left = 0, tried = 0, opened = 0;
    for (size_t i = 0; i < job->nd; i++)
        left += (e->present >> i) & 1;
    for (size_t i = 0; i < job->nd; i++) {
        if (!(e->present & (1u << i)))
            continue;
        jdest *d = &job->d[i];
        sk_backup_entry one = *e;
        one.legacy = (e->legacy_copies >> i) & 1;
        one.size = e->sizes[i];
        sk_manifest m;
        sk_age_keys *ids = NULL;
        sk_writer *sink = NULL;
        sk_err_clear(err);
        left--;
        tried++;
        if (job->nd > 1)
            sk_log_msg(job_log(job), SK_LOG_INFO, "%s %s from its copy in %s (%s)", what, e->key, d->label, ddesc(d));
        rc = load_checks(job, d, &one, &m, err);
        if (rc == SK_OK)
            rc = encryption_keys(job, &one, &m, &ids, err);
        if (rc == SK_OK && (rc = open(job, ud, &sink, err)) == SK_OK) {
            opened++;
            rc = download_checked(job, d, e->key, &m, ids, sink, err);
        }
        sk_age_keys_free(ids);
        if (rc == SK_OK) {
            if (tried > 1)
                sk_log_msg(job_log(job), SK_LOG_WARN, "%s %s: done from the copy in %s (%s) after %zu unusable "
                           "cop%s", what, e->key, d->label, ddesc(d), tried - 1, tried == 2 ? "y" : "ies");
            return SK_OK;
        }
        if ((rc != SK_ERR_DEST && rc != SK_ERR_INTEGRITY && rc != SK_ERR_NOTFOUND) || (opened && !reopen))
            return rc;
        if (job->nd > 1)
            sk_err_prefix(err, "the copy in %s (%s): ", d->label, ddesc(d));
        if (left)
            sk_log_msg(job_log(job), SK_LOG_WARN, "%s; trying the next copy", err->msg);
    }
    return rc;
}

static sk_rc open_restore(sk_job *job, void *ud, sk_writer **sink, sk_err *err)
{
    return job->engine->restore_open(job->engine_state, ud, sink, err);
}

static sk_rc open_verify(sk_job *job, void *ud, sk_writer **sink, sk_err *err)
{
    return job->engine->verify_open(job->engine_state, ud, sink, err);
}

sk_rc sk_job_restore(sk_job *job, const char *name, const sk_restore_opts *opts, char key_out[1024], sk_err *err)
{
    sk_backup_entry e;
    if (resolve(job, name, &e, err) != SK_OK)
        return err->rc;
    memcpy(key_out, e.key, sizeof e.key);
    sk_log_msg(job_log(job), SK_LOG_INFO, "restoring %s (%llu bytes stored) into %s", key_out,
               (unsigned long long)e.size, opts->target ? opts->target : "?");
    return fetch(job, &e, open_restore, (void *)opts, 1, "restoring", err);
}

sk_rc sk_job_verify(sk_job *job, const char *name, char key_out[1024], char *summary, sk_err *err)
{
    sk_backup_entry e;
    summary[0] = '\0';
    if (resolve(job, name, &e, err) != SK_OK)
        return err->rc;
    memcpy(key_out, e.key, sizeof e.key);
    return fetch(job, &e, open_verify, summary, 1, "verifying", err);
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
static sk_rc delete_group(sk_job *job, jdest *d, const group *g, sk_err *err)
{
    static const int order[] = { OBJ_MANIFEST, OBJ_MD5, OBJ_DATA, OBJ_PENDING };
    static const char *suffix[OBJ_KINDS] = { "", SK_MD5_SUFFIX, SK_MANIFEST_SUFFIX, SK_PENDING_SUFFIX };
    if (!g->obj[OBJ_PENDING] && put_pending(job, d, g->key, "delete", err) != SK_OK)
        return err->rc;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        char k[1100];
        snprintf(k, sizeof k, "%s%s", g->key, suffix[order[i]]);
        if (order[i] != OBJ_PENDING && !g->obj[order[i]])
            continue;
        if (d->type->remove(d->state, k, err) != SK_OK) {
            sk_err_prefix(err, "delete '%s' from %s: ", k, d->label);
            return err->rc;
        }
    }
    return SK_OK;
}

#define ORPHAN_AGE 3600

/* Whether the manifest of `key` marks it suspect; an unreadable manifest counts as not suspect
 * (retention then keeps what it kept before the guards existed). */
static int manifest_suspect(jdest *d, const char *key)
{
    char mkey[1100], *text = NULL;
    size_t len;
    sk_manifest m;
    sk_err e;
    sk_err_clear(&e);
    snprintf(mkey, sizeof mkey, "%s%s", key, SK_MANIFEST_SUFFIX);
    int suspect = get_small(d, mkey, &text, &len, &e) == SK_OK && sk_manifest_parse(text, len, mkey, &m, &e) == SK_OK &&
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
    for (size_t i = 0; i < job->nd; i++) {
        jdest *d = &job->d[i];
        if (!d->type->sweep)
            continue;
        size_t removed = 0;
        sk_err err;
        sk_err_clear(&err);
        if (d->type->sweep(d->state, job->dir, mine_cb, job, now_s(job) - ORPHAN_AGE, &removed, &err) != SK_OK)
            sk_log_msg(job_log(job), SK_LOG_WARN, "could not clean stale temporary files in %s: %s", d->label, err.msg);
        else if (removed)
            sk_log_msg(job_log(job), SK_LOG_INFO,
                       "removed %zu temporary file(s) of this job's interrupted uploads (untouched for over %d s) in %s",
                       removed, ORPHAN_AGE, ddesc(d));
    }
}

/* Retention's decisions, each reason naming the destination when the job has several. */
typedef struct prune_ctx {
    sk_prune_fn fn;
    void *ud;
    const char *label;   /* NULL: one destination */
} prune_ctx;

static void prune_say(const prune_ctx *x, const char *key, int keep, const char *reason)
{
    if (!x->fn)
        return;
    if (!x->label) {
        x->fn(x->ud, key, keep, reason);
        return;
    }
    char r[300];
    snprintf(r, sizeof r, "in %s: %s", x->label, reason);
    x->fn(x->ud, key, keep, r);
}

/* Retention in one destination: its own copies, its own keep-min. */
static sk_rc prune_dest(sk_job *job, jdest *d, const sk_retention_policy *p, int dry_run, int64_t now,
                        const prune_ctx *x, size_t *deleted, sk_err *err)
{
    groupset g;
    group **listed = NULL;
    sk_retention_item *items = NULL;
    size_t nl = 0;
    sk_rc rc = SK_OK;
    if (list_groups(job, d, &g, err) != SK_OK)
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
            items[i].suspect = manifest_suspect(d, listed[i]->key);
    }
    /* legacy backups are backups of this job like the others: the configured policy, nothing else */
    sk_retention_decide(items, nl, p, now);
    for (size_t i = 0; i < nl; i++) {
        char why[160];
        snprintf(why, sizeof why, "%s%s", items[i].reason, listed[i]->obj[OBJ_MANIFEST] ? "" : "; legacy backup");
        prune_say(x, listed[i]->key, items[i].keep, why);
        if (items[i].keep)
            continue;
        listed[i]->gone = 1;
        if (!dry_run && (rc = delete_group(job, d, listed[i], err)) != SK_OK) {
            sk_err_prefix(err, "retention: ");
            goto out;
        }
        ++*deleted;
    }
    /* Orphans. Only what carries snapkeep's pending marker is provably snapkeep's (a backup or a
     * deletion it did not finish); anything else that is not a listed backup is left alone. */
    for (size_t i = 0; i < g.n; i++) {
        group *o = &g.v[i];
        if (o->gone || (o->listed && !o->obj[OBJ_PENDING]))
            continue;
        if (!o->obj[OBJ_PENDING]) {
            for (int k = 0; k < OBJ_KINDS; k++)
                if (o->obj[k])
                    prune_say(x, o->obj[k]->key, 1, "not a complete backup and not marked as snapkeep's: never deleted");
            continue;
        }
        int64_t newest = 0;
        for (int k = 0; k < OBJ_KINDS; k++)
            if (o->obj[k] && o->obj[k]->mtime > newest)
                newest = o->obj[k]->mtime;
        int committed = o->obj[OBJ_DATA] && o->obj[OBJ_MANIFEST];
        if (now - newest < ORPHAN_AGE)
            continue; /* young: maybe a backup or deletion in progress elsewhere */
        for (int k = 0; k < OBJ_KINDS; k++)
            if (o->obj[k] && (!committed || k == OBJ_PENDING))
                prune_say(x, o->obj[k]->key, 0, committed ? "stale marker of a committed backup"
                                                          : "orphan of an interrupted backup or deletion");
        if (dry_run) {
            ++*deleted;
            continue;
        }
        if (committed) {
            if ((rc = d->type->remove(d->state, o->obj[OBJ_PENDING]->key, err)) != SK_OK) {
                sk_err_prefix(err, "retention: delete '%s': ", o->obj[OBJ_PENDING]->key);
                goto out;
            }
        } else if ((rc = delete_group(job, d, o, err)) != SK_OK) {
            sk_err_prefix(err, "retention: orphan: ");
            goto out;
        }
        ++*deleted;
    }
out:
    free(items);
    free(listed);
    groups_free(&g);
    return rc;
}

sk_rc sk_job_prune(sk_job *job, const sk_retention_policy *p, int dry_run, int64_t now, sk_prune_fn fn, void *ud,
                   size_t *deleted, sk_err *err)
{
    sk_rc rc = SK_OK;
    *deleted = 0;
    /* each destination on its own: one that fails does not keep the others from their retention */
    for (size_t i = 0; i < job->nd; i++) {
        prune_ctx x = { fn, ud, job->nd > 1 ? job->d[i].label : NULL };
        sk_err e;
        sk_err_clear(&e);
        if (prune_dest(job, &job->d[i], p, dry_run, now, &x, deleted, &e) != SK_OK) {
            if (job->nd > 1)
                sk_err_prefix(&e, "destination %s: ", job->d[i].label);
            if (rc == SK_OK) {
                *err = e;
                rc = e.rc;
            } else {
                sk_log_msg(job_log(job), SK_LOG_ERROR, "%s", e.msg);
            }
        }
    }
    if (!dry_run)
        sk_job_sweep(job);
    return rc;
}

sk_rc sk_job_manifest_text(sk_job *job, const char *key, char **text, size_t *len, sk_err *err)
{
    char mkey[1100];
    if (snprintf(mkey, sizeof mkey, "%s%s", key, SK_MANIFEST_SUFFIX) >= (int)sizeof mkey)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "the key '%s' is too long", key);
    /* from the first destination that has it, in the order restores read them */
    sk_rc rc = SK_OK;
    sk_err first;
    sk_err_clear(&first);
    for (size_t i = 0; i < job->nd; i++) {
        sk_err e;
        sk_err_clear(&e);
        if (get_small(&job->d[i], mkey, text, len, &e) == SK_OK)
            return SK_OK;
        if (rc == SK_OK || (rc == SK_ERR_NOTFOUND && e.rc != SK_ERR_NOTFOUND)) {
            rc = e.rc;
            first = e;
        }
    }
    *err = first;
    return rc;
}

const sk_engine_type *sk_job_engine(const sk_job *job, void **state)
{
    *state = job->engine_state;
    return job->engine;
}

/* ---- get / delete of one backup ---------------------------------------------------------- */

typedef struct get_ctx {
    sk_rc (*open)(void *ud, sk_writer **out, sk_err *err);
    void *ud;
    sk_writer *once;     /* sk_job_get: the caller's one sink, handed out once */
} get_ctx;

static sk_rc open_get(sk_job *job, void *ud, sk_writer **sink, sk_err *err)
{
    (void)job;
    get_ctx *g = ud;
    if (g->open)
        return g->open(g->ud, sink, err);
    *sink = g->once;
    g->once = NULL;
    return *sink ? SK_OK : sk_fail(err, SK_ERR_INTERNAL, 0, "the sink was used already");
}

sk_rc sk_job_get_to(sk_job *job, const char *name, sk_rc (*open)(void *ud, sk_writer **out, sk_err *err), void *ud,
                    char key_out[1024], sk_err *err)
{
    sk_backup_entry e;
    get_ctx g = { open, ud, NULL };
    if (resolve(job, name, &e, err) != SK_OK)
        return err->rc;
    memcpy(key_out, e.key, sizeof e.key);
    return fetch(job, &e, open_get, &g, 1, "fetching", err); /* decrypted too: the plain artifact */
}

sk_rc sk_job_get(sk_job *job, const char *name, sk_writer *sink, char key_out[1024], sk_err *err)
{
    sk_backup_entry e;
    get_ctx g = { NULL, NULL, sink };
    sk_rc rc = resolve(job, name, &e, err);
    if (rc == SK_OK) {
        memcpy(key_out, e.key, sizeof e.key);
        rc = fetch(job, &e, open_get, &g, 0, "fetching", err);
    }
    if (g.once) { /* never handed out: every copy failed its checks before the download */
        sk_writer_abort(g.once);
        sk_writer_free_chain(g.once);
    }
    return rc;
}

sk_rc sk_job_delete(sk_job *job, const char *name, char key_out[1024], sk_err *err)
{
    sk_backup_entry e;
    if (strcmp(name, "latest") == 0)
        return sk_fail(err, SK_ERR_USAGE, 0, "delete takes the key of one backup (see `snapkeep list`), not 'latest'");
    if (resolve(job, name, &e, err) != SK_OK)
        return err->rc;
    memcpy(key_out, e.key, sizeof e.key);
    sk_rc rc = SK_OK;
    size_t found = 0;
    /* every copy, each the same crash-safe way as retention: marker, manifest, .md5, data, marker */
    for (size_t i = 0; i < job->nd; i++) {
        groupset g;
        sk_err de;
        sk_err_clear(&de);
        if (!(e.present & (1u << i)))
            continue;
        if (list_groups(job, &job->d[i], &g, &de) == SK_OK) {
            for (size_t k = 0; k < g.n; k++)
                if (g.v[k].listed && strcmp(g.v[k].key, e.key) == 0) {
                    found++;
                    delete_group(job, &job->d[i], &g.v[k], &de);
                    break;
                }
            groups_free(&g);
        }
        if (de.rc != SK_OK && rc == SK_OK) {
            *err = de;
            rc = de.rc;
        } else if (de.rc != SK_OK) {
            sk_log_msg(job_log(job), SK_LOG_ERROR, "%s", de.msg);
        }
    }
    if (rc == SK_OK && !found)
        rc = sk_fail(err, SK_ERR_NOTFOUND, 0, "'%s' went away while it was being deleted", e.key);
    return rc;
}
