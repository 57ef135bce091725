#include "runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

static int64_t wall_now(const sk_runtime *rt)
{
    return rt && rt->now_ms ? rt->now_ms(rt->clock_ud) / 1000 : (int64_t)time(NULL);
}

sk_rc sk_runner_init(sk_runner *r, sk_job *job, sk_notifier *notifier, sk_err *err)
{
    const sk_config *cfg = sk_job_config(job);
    const char *service, *environment, *engine, *db;
    memset(r, 0, sizeof *r);
    if (sk_state_dir(cfg, r->state_dir, sizeof r->state_dir, err) != SK_OK)
        return err->rc;
    sk_job_identity(job, &service, &environment, &engine, &db);
    sk_job_id(service, environment, engine, db, sk_job_keyspace(job), r->job_id);
    r->lock_wait = (int)sk_config_int(cfg, "SNAPKEEP_LOCK_WAIT", 3600);
    r->retry_window = (int)sk_config_int(cfg, "SNAPKEEP_RETRY_WINDOW", 300);
    r->policy.days = (int)sk_config_int(cfg, "SNAPKEEP_RETENTION_DAYS", 0);
    r->policy.keep_min = (int)sk_config_int(cfg, "SNAPKEEP_KEEP_MIN", 7);
    r->policy.daily = (int)sk_config_int(cfg, "SNAPKEEP_KEEP_DAILY", 0);
    r->policy.weekly = (int)sk_config_int(cfg, "SNAPKEEP_KEEP_WEEKLY", 0);
    r->policy.monthly = (int)sk_config_int(cfg, "SNAPKEEP_KEEP_MONTHLY", 0);
    r->notifier = notifier;
    return SK_OK;
}

/* The status keeps the start of a long error message, visibly cut ("...") rather than silently. */
static void copy_marked(char *dst, size_t sz, const char *src)
{
    size_t n = strlen(src);
    if (n < sz) {
        memcpy(dst, src, n + 1);
        return;
    }
    memcpy(dst, src, sz - 4);
    memcpy(dst + sz - 4, "...", 4);
}

static int retention_enabled(const sk_retention_policy *p) { return p->days > 0; }

static void log_decision(void *ud, const char *key, int keep, const char *reason)
{
    if (!keep)
        sk_log_msg(ud, SK_LOG_INFO, "retention: deleting %s (%s)", key, reason);
}

static json_t *destinations_json(const sk_backup_result *res)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < res->ndests; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "destination", res->dest[i].label, "where",
                                           res->dest[i].where, "copy", res->dest[i].state > 0 ? "ok"
                                                                       : res->dest[i].state < 0 ? "failed"
                                                                                                : "not made"));
    return a;
}

/* One "copy_failed" event per destination whose copy failed (the backup may still succeed:
 * SNAPKEEP_DEST_REQUIRED). */
static void notify_copies(sk_runner *r, sk_job *job, sk_log *log, const sk_backup_result *res)
{
    for (size_t i = 0; r->notifier && i < res->ndests; i++) {
        if (res->dest[i].state >= 0)
            continue;
        char iso[32], clean[sizeof res->dest[i].error];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
        sk_log_redact(log, res->dest[i].error, clean, sizeof clean);
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "event", "copy_failed", "job",
                              sk_job_name(job), "job_id", r->job_id, "time", iso, "key", res->key, "destination",
                              res->dest[i].label, "where", res->dest[i].where, "error", clean);
        char *body = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (body)
            sk_notify(r->notifier, "copy_failed", body);
        free(body);
    }
}

/* The per-destination record of the status file, from how each copy of this backup went;
 * destinations the job no longer has are dropped. */
static void record_copies(sk_status *st, const sk_backup_result *res, int64_t now, sk_log *log)
{
    sk_status old = *st;
    if (!res->ndests)
        return; /* the backup did not get as far as the destinations */
    st->ndests = 0;
    for (size_t i = 0; i < res->ndests && i < 8; i++) {
        struct sk_dest_status *d = &st->dests[st->ndests++];
        memset(d, 0, sizeof *d);
        for (size_t k = 0; k < old.ndests; k++)
            if (!strcmp(old.dests[k].label, res->dest[i].label))
                *d = old.dests[k];
        snprintf(d->label, sizeof d->label, "%s", res->dest[i].label);
        snprintf(d->where, sizeof d->where, "%s", res->dest[i].where);
        if (res->dest[i].state > 0) {
            d->last_success = now;
            d->last_ok = 1;
            d->successes++;
        } else if (res->dest[i].state < 0) {
            d->last_failure = now;
            d->last_ok = 0;
            d->failures++;
            sk_log_redact(log, res->dest[i].error, d->last_error, sizeof d->last_error);
        }
    }
}

static void notify(sk_runner *r, sk_job *job, sk_log *log, const char *event, const char *key, uint64_t size,
                   double secs, const sk_err *err, const char *reasons, const sk_backup_result *res)
{
    if (!r->notifier)
        return;
    char iso[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "event", event, "job", sk_job_name(job), "job_id", r->job_id,
                          "time", iso);
    if (!o)
        return;
    if (key && *key)
        json_object_set_new(o, "key", json_string(key));
    if (!strcmp(event, "success") || !strcmp(event, "suspect"))
        json_object_set_new(o, "size", json_integer((json_int_t)size));
    if (reasons) {
        char clean[1024];
        sk_log_redact(log, reasons, clean, sizeof clean);
        json_object_set_new(o, "reasons", json_string(clean));
    }
    if (strcmp(event, "start") != 0)
        json_object_set_new(o, "duration_s", json_real(secs));
    if (res && res->ndests > 1)
        json_object_set_new(o, "destinations", destinations_json(res));
    if (err) {
        char clean[sizeof err->msg];
        sk_log_redact(log, err->msg, clean, sizeof clean);
        json_object_set_new(o, "error", json_string(clean));
        json_object_set_new(o, "exit_code", json_integer(err->rc));
    }
    char *body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (body)
        sk_notify(r->notifier, event, body);
    free(body);
}

/* Sleep `s` seconds, waking early on cancellation; non-zero when cancelled. */
static int nap(const sk_runtime *rt, int s)
{
    for (int i = 0; i < s * 10; i++) {
        if (sk_rt_cancelled(rt))
            return 1;
        struct timespec ts = { 0, 100000000L };
        nanosleep(&ts, NULL);
    }
    return sk_rt_cancelled(rt);
}

/* The backup, tried again after transient source errors until the window closes. Destination
 * errors are retried by the destination itself; everything else is final at once. */
static sk_rc backup_retrying(sk_runner *r, sk_job *job, const sk_runtime *rt, sk_backup_result *res, sk_err *err)
{
    double deadline = sk_monotonic() + r->retry_window;
    int delay = 2;
    for (int attempt = 1;; attempt++) {
        sk_rc rc = sk_job_backup(job, res, err);
        if (rc != SK_ERR_SOURCE || !err->retryable)
            return rc;
        double left = deadline - sk_monotonic();
        if (left < 1) {
            if (attempt > 1)
                sk_err_prefix(err, "still failing after %d attempts over %d s (SNAPKEEP_RETRY_WINDOW): ", attempt,
                              r->retry_window);
            return rc;
        }
        if (delay > left)
            delay = (int)left;
        sk_log_msg(rt->log, SK_LOG_WARN, "retrying in %ds: %s", delay, err->msg);
        if (nap(rt, delay))
            return sk_fail(err, SK_ERR_CANCELLED, 0, "cancelled by signal while waiting to retry the backup");
        delay = delay * 2 > 30 ? 30 : delay * 2;
        sk_err_clear(err);
    }
}

sk_rc sk_runner_backup(sk_runner *r, sk_job *job, const sk_runtime *rt, sk_backup_result *res, sk_err *err)
{
    sk_status st;
    sk_err serr;
    sk_err_clear(&serr);
    int lock = sk_lock(r->state_dir, r->job_id, r->lock_wait, rt, err);
    if (lock < 0)
        return err->rc;
    if (sk_status_read(r->state_dir, r->job_id, &st, &serr) != SK_OK) {
        sk_log_msg(rt->log, SK_LOG_WARN, "%s; starting a new status file", serr.msg);
        memset(&st, 0, sizeof st);
        snprintf(st.job, sizeof st.job, "%s", r->job_id);
        sk_err_clear(&serr);
    }
    st.last_attempt = wall_now(rt);
    st.running = 1;
    st.pid = (long)getpid();
    sk_status_write(r->state_dir, r->job_id, &st, &serr);
    notify(r, job, rt->log, "start", NULL, 0, 0, NULL, NULL, NULL);

    double t0 = sk_monotonic();
    sk_rc rc = backup_retrying(r, job, rt, res, err);
    /* guards: a suspect backup is stored; it is reported, and with SNAPKEEP_GUARD_FAIL the run fails */
    int suspect = rc == SK_OK && res->suspect;
    if (rc == SK_OK) {
        st.last_suspect = suspect;
        copy_marked(st.last_suspect_reasons, sizeof st.last_suspect_reasons, suspect ? res->suspect_reasons : "");
        if (suspect)
            st.suspects++;
    }
    if (suspect && sk_config_bool(sk_job_config(job), "SNAPKEEP_GUARD_FAIL"))
        rc = sk_fail(err, SK_ERR_SUSPECT, 0, "backup %s was stored but is suspect (SNAPKEEP_GUARD_FAIL): %s", res->key,
                     res->suspect_reasons);
    record_copies(&st, res, wall_now(rt), rt->log);
    st.running = 0;
    st.pid = 0;
    st.last_duration = sk_monotonic() - t0;
    st.last_exit = (int)rc;
    if (rc == SK_OK) {
        st.last_success = wall_now(rt);
        st.last_size = res->stored_size;
        snprintf(st.last_key, sizeof st.last_key, "%s", res->key);
        st.successes++;
    } else {
        st.last_failure = wall_now(rt);
        char red[sizeof err->msg];
        sk_log_redact(rt->log, err->msg, red, sizeof red); /* the file outlives the run */
        copy_marked(st.last_error, sizeof st.last_error, red);
        st.failures++;
    }
    if (sk_status_write(r->state_dir, r->job_id, &st, &serr) != SK_OK)
        sk_log_msg(rt->log, SK_LOG_ERROR, "%s", serr.msg);

    if (rc == SK_OK) {
        /* with retention off, a policy that keeps every backup: only marked orphans of this job's
         * interrupted runs go (see sk_job_prune), so nothing half-made stays forever */
        sk_retention_policy keep_all = { 0, 0, 0, 0, 0 };
        size_t deleted = 0;
        sk_err perr;
        sk_err_clear(&perr);
        /* a retention failure is reported but does not undo a backup that landed */
        if (sk_job_prune(job, retention_enabled(&r->policy) ? &r->policy : &keep_all, 0, wall_now(rt), log_decision,
                         rt->log, &deleted, &perr) != SK_OK)
            sk_log_msg(rt->log, SK_LOG_ERROR, "retention failed (the backup itself succeeded): %s", perr.msg);
        else if (deleted)
            sk_log_msg(rt->log, SK_LOG_INFO, "retention: %zu object(s) deleted", deleted);
    }
    if (suspect)
        notify(r, job, rt->log, "suspect", res->key, res->stored_size, st.last_duration, NULL, res->suspect_reasons,
               res);
    notify_copies(r, job, rt->log, res);
    notify(r, job, rt->log, rc == SK_OK ? "success" : "failure", rc == SK_OK ? res->key : NULL, res->stored_size,
           st.last_duration, rc == SK_OK ? NULL : err, NULL, res);
    sk_unlock(lock);
    return rc;
}

sk_rc sk_runner_prune(sk_runner *r, sk_job *job, const sk_runtime *rt, int dry_run, sk_prune_fn fn, void *ud,
                      size_t *deleted, sk_err *err)
{
    int lock = sk_lock(r->state_dir, r->job_id, r->lock_wait, rt, err);
    if (lock < 0)
        return err->rc;
    sk_rc rc = sk_job_prune(job, &r->policy, dry_run, wall_now(rt), fn, ud, deleted, err);
    sk_unlock(lock);
    return rc;
}

void sk_runner_seed_status(sk_runner *r, sk_job *job, const sk_runtime *rt, sk_status *st)
{
    (void)r;
    if (st->last_success)
        return;
    sk_backup_entry e;
    int64_t finished;
    sk_err err;
    sk_err_clear(&err);
    sk_rc rc = sk_job_newest(job, &e, &finished, &err);
    if (rc == SK_ERR_NOTFOUND)
        return;
    if (rc != SK_OK) {
        sk_log_msg(rt->log, SK_LOG_WARN, "no local record of a success, and the destination could not be read: %s",
                   err.msg);
        return;
    }
    st->last_success = finished;
    st->last_size = e.size;
    snprintf(st->last_key, sizeof st->last_key, "%s", e.key);
    st->from_destination = 1;
}

sk_rc sk_runner_delete(sk_runner *r, sk_job *job, const sk_runtime *rt, const char *name, char key_out[1024],
                       sk_err *err)
{
    int lock = sk_lock(r->state_dir, r->job_id, r->lock_wait, rt, err);
    if (lock < 0)
        return err->rc;
    sk_rc rc = sk_job_delete(job, name, key_out, err);
    sk_unlock(lock);
    return rc;
}
