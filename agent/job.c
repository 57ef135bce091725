#include "job.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "filter_hash.h"
#include "filter_zstd.h"
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
    sk_zstd_opts zstd;
    const char *pause_at;
    double progress_s; /* SNAPKEEP_PROGRESS_INTERVAL */
};

static sk_log *job_log(const sk_job *job) { return job->rt ? job->rt->log : NULL; }

static int default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > 8 ? 8 : (int)n;
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
    if (job->engine->open(cfg, rt, &job->engine_state, &job->info, err) != SK_OK)
        goto fail;
    const char *service = sk_config_str(cfg, "SNAPKEEP_SERVICE"), *env = sk_config_str(cfg, "SNAPKEEP_ENVIRONMENT");
    if (sk_key_dir(sk_config_str(cfg, "SNAPKEEP_PREFIX"), service, env, job->dir, sizeof job->dir) != 0) {
        sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_PREFIX/SERVICE/ENVIRONMENT together are too long");
        goto fail;
    }
    snprintf(job->name, sizeof job->name, "%s/%s/%s:%s", service, env, job->engine->name, job->info.database);
    if (job->dest->open(cfg, rt, &job->dest_state, err) != SK_OK)
        goto fail;
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
    free(job);
}

const char *sk_job_name(const sk_job *job) { return job->name; }

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

static const sk_object *objset_find(const objset *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].key, key) == 0)
            return &s->v[i];
    return NULL;
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

static void check_entry(sk_job *job, sk_backup_entry *e)
{
    char mkey[1100], skey[1100], *text = NULL, md5[65];
    size_t len;
    sk_err err;
    sk_err_clear(&err);
    snprintf(mkey, sizeof mkey, "%s%s", e->key, SK_MANIFEST_SUFFIX);
    snprintf(skey, sizeof skey, "%s%s", e->key, SK_MD5_SUFFIX);
    e->checksum = "unreadable";
    if (get_small(job, mkey, &text, &len, &err) != SK_OK)
        return;
    sk_rc rc = sk_manifest_parse(text, len, mkey, &e->m, &err);
    free(text);
    if (rc != SK_OK)
        return;
    e->have_manifest_data = 1;
    text = NULL;
    rc = get_small(job, skey, &text, &len, &err);
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
    e->checksum = strcmp(md5, e->m.stored_md5) == 0 && e->size == e->m.stored_size ? "ok" : "mismatch";
}

sk_rc sk_job_list(sk_job *job, int details, sk_backup_list *out, sk_err *err)
{
    objset s;
    memset(out, 0, sizeof *out);
    if (list_dir(job, &s, err) != SK_OK)
        return err->rc;
    sk_rc rc = SK_OK;
    out->v = calloc(s.n ? s.n : 1, sizeof *out->v);
    if (!out->v) {
        objset_free(&s);
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < s.n; i++) {
        int64_t ts;
        if (!sk_key_match(s.v[i].key, job->engine->tag, job->info.database, job->engine->ext, &ts))
            continue;
        char mkey[1100];
        snprintf(mkey, sizeof mkey, "%s%s", s.v[i].key, SK_MANIFEST_SUFFIX);
        if (!objset_find(&s, mkey))
            continue; /* not committed: not a backup */
        sk_backup_entry *e = &out->v[out->n++];
        snprintf(e->key, sizeof e->key, "%s", s.v[i].key);
        e->ts = ts;
        e->size = s.v[i].size;
        e->checksum = "unchecked";
    }
    objset_free(&s);
    qsort(out->v, out->n, sizeof *out->v, entry_cmp);
    for (size_t i = 0; details && i < out->n; i++)
        check_entry(job, &out->v[i]);
    return rc;
}

void sk_backup_list_free(sk_backup_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Turn "latest", a base name or a key into a complete backup's key. */
static sk_rc resolve(sk_job *job, const char *name, char key[1024], sk_err *err)
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
            snprintf(key, 1024, "%s", l.v[0].key);
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
            snprintf(key, 1024, "%s", l.v[i].key);
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

static void remove_quietly(sk_job *job, const char *key)
{
    sk_err e;
    sk_err_clear(&e);
    if (job->dest->remove(job->dest_state, key, &e) != SK_OK)
        sk_log_msg(job_log(job), SK_LOG_WARN, "could not remove '%s' after the failure: %s", key, e.msg);
}

sk_rc sk_job_backup(sk_job *job, sk_backup_result *res, sk_err *err)
{
    sk_writer *head = NULL, *sink = NULL, *md5 = NULL, *zst = NULL, *sha = NULL, *w = NULL;
    sk_manifest m;
    char key[1024], skey[1100], mkey[1100], line[1200];
    char *json = NULL;
    int data_landed = 0, md5_landed = 0;
    int64_t ts;
    memset(&m, 0, sizeof m);
    memset(res, 0, sizeof *res);
    double t0 = sk_monotonic();

    if (choose_key(job, key, &ts, err) != SK_OK)
        return err->rc;
    snprintf(skey, sizeof skey, "%s%s", key, SK_MD5_SUFFIX);
    snprintf(mkey, sizeof mkey, "%s%s", key, SK_MANIFEST_SUFFIX);
    sk_log_msg(job_log(job), SK_LOG_INFO, "backup started: %s -> %s (zstd level %d, %d worker(s))", key,
               job->dest->describe(job->dest_state), job->zstd.level, job->zstd.workers);

    if (job->dest->put(job->dest_state, key, &sink, err) != SK_OK)
        goto fail;
    head = sink;
    if (!(md5 = sk_hash_writer_new(head, SK_HASH_MD5, err)))
        goto fail;
    head = md5;
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
    sk_log_stage(job_log(job), "store", md5->bytes, dd, "compressed to %.1f%% and stored as %s",
                 sha->bytes ? 100.0 * (double)md5->bytes / (double)sha->bytes : 0.0, key);
    maybe_pause(job, "after-data");

    m.version = SK_MANIFEST_VERSION;
    snprintf(m.tool_version, sizeof m.tool_version, "%s", SK_VERSION);
    snprintf(m.engine, sizeof m.engine, "%s", job->engine->name);
    snprintf(m.tag, sizeof m.tag, "%s", job->engine->tag);
    snprintf(m.database, sizeof m.database, "%s", job->info.database);
    snprintf(m.service, sizeof m.service, "%s", sk_config_str(job->cfg, "SNAPKEEP_SERVICE"));
    snprintf(m.environment, sizeof m.environment, "%s", sk_config_str(job->cfg, "SNAPKEEP_ENVIRONMENT"));
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
    if (job->engine->after_backup)
        job->engine->after_backup(job->engine_state, key);
    sk_writer_free_chain(head);

    snprintf(res->key, sizeof res->key, "%s", key);
    res->plain_size = m.plain_size;
    res->stored_size = m.stored_size;
    res->seconds = sk_monotonic() - t0;
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
    if (md5_landed)
        remove_quietly(job, skey);
    if (data_landed)
        remove_quietly(job, key);
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

/* Read and cross-check the manifest and the sidecar of `key`. */
static sk_rc load_checks(sk_job *job, const char *key, sk_manifest *m, sk_err *err)
{
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

/* Push `key` through md5 check -> unzstd -> sha256 check -> sink, and finish the chain. */
static sk_rc download_checked(sk_job *job, const char *key, const sk_manifest *m, sk_writer *sink, sk_err *err)
{
    sk_writer *head = sink, *w;
    char what[1100];
    snprintf(what, sizeof what, "plaintext of '%s'", key);
    if (!(w = sk_check_writer_new(head, SK_HASH_SHA256, m->plain_sha256, m->plain_size, what, err)))
        goto fail;
    head = w;
    const sk_writer *plain = head; /* counts the restored plaintext */
    if (!(w = sk_unzstd_writer_new(head, err)))
        goto fail;
    head = w;
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
    sk_log_stage(job_log(job), "download", head->bytes, sk_monotonic() - t0,
                 "MD5 and SHA-256 match the manifest, %llu bytes after decompression",
                 (unsigned long long)m->plain_size);
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
    if (resolve(job, name, key_out, err) != SK_OK || load_checks(job, key_out, &m, err) != SK_OK)
        return err->rc;
    sk_log_msg(job_log(job), SK_LOG_INFO, "restoring %s (%llu bytes stored) into %s", key_out,
               (unsigned long long)m.stored_size, opts->target ? opts->target : "?");
    if (job->engine->restore_open(job->engine_state, opts, &sink, err) != SK_OK)
        return err->rc;
    return download_checked(job, key_out, &m, sink, err);
}

sk_rc sk_job_verify(sk_job *job, const char *name, char key_out[1024], char *summary, sk_err *err)
{
    sk_manifest m;
    sk_writer *sink = NULL;
    summary[0] = '\0';
    if (resolve(job, name, key_out, err) != SK_OK || load_checks(job, key_out, &m, err) != SK_OK)
        return err->rc;
    if (job->engine->verify_open(job->engine_state, summary, &sink, err) != SK_OK)
        return err->rc;
    return download_checked(job, key_out, &m, sink, err);
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

/* The data key an object belongs to if it is one of this job's objects ("" otherwise). */
static int owner_of(const sk_job *job, const char *key, char *data_key, size_t sz)
{
    static const char *suffixes[] = { SK_MD5_SUFFIX, SK_MANIFEST_SUFFIX, "" };
    size_t kl = strlen(key);
    for (size_t i = 0; i < 3; i++) {
        size_t sl = strlen(suffixes[i]);
        if (kl <= sl || strcmp(key + kl - sl, suffixes[i]) != 0 || kl - sl >= sz)
            continue;
        memcpy(data_key, key, kl - sl);
        data_key[kl - sl] = '\0';
        if (sk_key_match(data_key, job->engine->tag, job->info.database, job->engine->ext, NULL))
            return 1;
    }
    return 0;
}

static sk_rc delete_backup(sk_job *job, const char *key, sk_err *err)
{
    char side[1100];
    snprintf(side, sizeof side, "%s%s", key, SK_MANIFEST_SUFFIX);
    if (job->dest->remove(job->dest_state, side, err) != SK_OK)
        return err->rc;
    snprintf(side, sizeof side, "%s%s", key, SK_MD5_SUFFIX);
    if (job->dest->remove(job->dest_state, side, err) != SK_OK)
        return err->rc;
    return job->dest->remove(job->dest_state, key, err);
}

#define ORPHAN_AGE 3600

sk_rc sk_job_prune(sk_job *job, const sk_retention_policy *p, int dry_run, int64_t now, sk_prune_fn fn, void *ud,
                   size_t *deleted, sk_err *err)
{
    objset s;
    sk_backup_list l;
    sk_retention_item *items = NULL;
    sk_rc rc = SK_OK;
    *deleted = 0;
    if (sk_job_list(job, 0, &l, err) != SK_OK)
        return err->rc;
    if (list_dir(job, &s, err) != SK_OK) {
        sk_backup_list_free(&l);
        return err->rc;
    }
    items = calloc(l.n ? l.n : 1, sizeof *items);
    if (!items) {
        rc = sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < l.n; i++)
        items[i].ts = l.v[i].ts;
    sk_retention_decide(items, l.n, p, now);
    for (size_t i = 0; i < l.n; i++) {
        if (fn)
            fn(ud, l.v[i].key, items[i].keep, items[i].reason);
        if (items[i].keep)
            continue;
        if (dry_run) {
            ++*deleted;
            continue;
        }
        if ((rc = delete_backup(job, l.v[i].key, err)) != SK_OK) {
            sk_err_prefix(err, "retention: delete '%s': ", l.v[i].key);
            goto out;
        }
        ++*deleted;
    }
    /* orphans: this job's objects that are not part of a complete backup */
    for (size_t i = 0; i < s.n; i++) {
        char data_key[1024];
        if (!owner_of(job, s.v[i].key, data_key, sizeof data_key))
            continue;
        size_t j;
        for (j = 0; j < l.n; j++)
            if (strcmp(l.v[j].key, data_key) == 0)
                break;
        if (j < l.n || now - s.v[i].mtime < ORPHAN_AGE)
            continue; /* complete (handled above), or young: maybe a backup in progress elsewhere */
        if (fn)
            fn(ud, s.v[i].key, 0, "orphan of an interrupted backup");
        if (dry_run) {
            ++*deleted;
            continue;
        }
        if ((rc = job->dest->remove(job->dest_state, s.v[i].key, err)) != SK_OK) {
            sk_err_prefix(err, "retention: delete orphan '%s': ", s.v[i].key);
            goto out;
        }
        ++*deleted;
    }
out:
    free(items);
    objset_free(&s);
    sk_backup_list_free(&l);
    return rc;
}
