#include "drill.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "manifest.h"
#include "naming.h"
#include "state.h"

const sk_setting_def sk_drill_settings[] = {
    { "SNAPKEEP_DRILL_SCHEDULE", SK_SET_STRING, NULL, 0, 0, NULL, 0,
      "when `snapkeep run` runs a restore drill of each job: cron or @daily/@weekly/..., in TZ (unset: no drills)" },
    { "SNAPKEEP_DRILL_MAX_AGE", SK_SET_INT, "0", 0, 87600, NULL, 0,
      "hours after which the last passed drill is too old for `health` (see SNAPKEEP_DRILL_HEALTH; 0: not checked)" },
    { "SNAPKEEP_DRILL_HEALTH", SK_SET_ENUM, "warn", 0, 0, "warn|fail|ignore", 0,
      "what a failed last drill, or one older than SNAPKEEP_DRILL_MAX_AGE, makes `health` say" },
    { "SNAPKEEP_DEBUG_DRILL_PAUSE", SK_SET_BOOL, "false", 0, 0, NULL, 0,
      "testing aid: stop the process (SIGSTOP) once a drill's scratch target exists" },
    { NULL, 0, NULL, 0, 0, NULL, 0, NULL },
};

static int64_t wall_now(const sk_runtime *rt)
{
    return rt && rt->now_ms ? rt->now_ms(rt->clock_ud) / 1000 : (int64_t)time(NULL);
}

/* ---- the record ------------------------------------------------------------------------- */

static void drill_path(const char *state_dir, const char *job_id, char *out, size_t sz)
{
    snprintf(out, sz, "%s/%s.drill.json", state_dir, job_id);
}

static void get_str(json_t *root, const char *name, char *out, size_t sz)
{
    const char *v = json_string_value(json_object_get(root, name));
    snprintf(out, sz, "%s", v ? v : "");
}

sk_rc sk_drill_read(const char *state_dir, const char *job_id, sk_drill_record *rec, sk_err *err)
{
    char path[PATH_MAX];
    memset(rec, 0, sizeof *rec);
    drill_path(state_dir, job_id, path, sizeof path);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        if (access(path, F_OK) != 0)
            return SK_OK;
        return sk_fail(err, SK_ERR_INTERNAL, 0, "drill record '%s' is not valid JSON: %s", path, jerr.text);
    }
    rec->last_run = sk_ts_from_json(json_object_get(root, "last_drill"));
    rec->last_pass = sk_ts_from_json(json_object_get(root, "last_pass"));
    rec->last_fail = sk_ts_from_json(json_object_get(root, "last_fail"));
    rec->last_ok = json_is_true(json_object_get(root, "last_ok"));
    rec->last_exit = (int)json_integer_value(json_object_get(root, "last_exit"));
    rec->last_duration = json_number_value(json_object_get(root, "last_duration_s"));
    get_str(root, "last_key", rec->last_key, sizeof rec->last_key);
    get_str(root, "last_error", rec->last_error, sizeof rec->last_error);
    get_str(root, "last_summary", rec->last_summary, sizeof rec->last_summary);
    rec->passes = (uint64_t)json_integer_value(json_object_get(root, "passes_total"));
    rec->failures = (uint64_t)json_integer_value(json_object_get(root, "failures_total"));
    json_decref(root);
    return SK_OK;
}

sk_rc sk_drill_write(const char *state_dir, const char *job_id, const sk_drill_record *rec, sk_err *err)
{
    char path[PATH_MAX], tmp[PATH_MAX + 24];
    drill_path(state_dir, job_id, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    json_t *root = json_pack("{s:s, s:o, s:b, s:i, s:f, s:s, s:o, s:o, s:s, s:s, s:I, s:I}", "job", job_id,
                             "last_drill", sk_ts_json(rec->last_run), "last_ok", rec->last_ok, "last_exit",
                             rec->last_exit, "last_duration_s", rec->last_duration, "last_key", rec->last_key,
                             "last_pass", sk_ts_json(rec->last_pass), "last_fail", sk_ts_json(rec->last_fail),
                             "last_summary", rec->last_summary, "last_error", rec->last_error, "passes_total",
                             (json_int_t)rec->passes, "failures_total", (json_int_t)rec->failures);
    if (!root)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "cannot build the drill record's JSON");
    int rc = json_dump_file(root, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (rc != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return sk_fail(err, SK_ERR_INTERNAL, e, "cannot write the drill record '%s': %s", path, strerror(e));
    }
    return SK_OK;
}

/* ---- comparison and health ------------------------------------------------------------- */

/* Append to `why` ("; "-separated); a list that does not fit ends in "..." rather than being cut. */
static void add_reason(char *why, size_t sz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add_reason(char *why, size_t sz, const char *fmt, ...)
{
    size_t used = strlen(why);
    char one[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(one, sizeof one, fmt, ap);
    va_end(ap);
    if (used && strcmp(why + used - 3, "...") == 0)
        return;
    if (used + strlen(one) + 2 + 4 >= sz) {
        snprintf(why + used, sz - used, "%s...", used ? "; " : "");
        return;
    }
    snprintf(why + used, sz - used, "%s%s", used ? "; " : "", one);
}

int sk_drill_compare(const char *what, const char *want, const char *got, char *why, size_t whysz)
{
    json_t *w = want ? json_loads(want, 0, NULL) : NULL, *g = got ? json_loads(got, 0, NULL) : NULL;
    int bad = -1;
    if (json_is_object(w) && json_is_object(g)) {
        bad = 0;
        const char *name;
        json_t *v;
        json_object_foreach(w, name, v) {
            json_t *h = json_object_get(g, name);
            if (!json_is_integer(v))
                continue;
            if (!h) {
                add_reason(why, whysz, "%s %s is missing after the restore (the manifest says %lld)", what, name,
                           (long long)json_integer_value(v));
                bad++;
            } else if (!json_is_integer(h) || json_integer_value(h) != json_integer_value(v)) {
                add_reason(why, whysz, "%s %s has %lld after the restore, the manifest says %lld", what, name,
                           (long long)json_integer_value(h), (long long)json_integer_value(v));
                bad++;
            }
        }
    }
    json_decref(w);
    json_decref(g);
    return bad;
}

void sk_drill_policy_of(const sk_config *cfg, sk_drill_policy *p)
{
    const char *level = sk_config_str(cfg, "SNAPKEEP_DRILL_HEALTH");
    p->max_age_s = sk_config_int(cfg, "SNAPKEEP_DRILL_MAX_AGE", 0) * 3600;
    p->level = level && !strcmp(level, "fail") ? SK_HEALTH_FAIL
               : level && !strcmp(level, "ignore") ? SK_HEALTH_OK : SK_HEALTH_WARN;
}

static void fmt_age(int64_t s, char *out, size_t sz)
{
    if (s < 7200)
        snprintf(out, sz, "%lldm", (long long)(s / 60));
    else
        snprintf(out, sz, "%.1fh", (double)s / 3600);
}

sk_health sk_drill_health(const sk_drill_record *rec, const sk_drill_policy *p, int64_t since, int64_t now, char *why,
                          size_t whysz)
{
    char age[32], iso[32];
    why[0] = '\0';
    if (rec->last_run && !rec->last_ok) {
        sk_iso8601(rec->last_run, iso, sizeof iso);
        snprintf(why, whysz, "the last restore drill (%s) FAILED: %s", iso, rec->last_error);
        return p->level;
    }
    if (rec->last_pass) {
        fmt_age(now - rec->last_pass, age, sizeof age);
        sk_iso8601(rec->last_pass, iso, sizeof iso);
        if (p->max_age_s > 0 && now - rec->last_pass >= p->max_age_s) {
            snprintf(why, whysz, "the last passed restore drill is %s old (%s), over SNAPKEEP_DRILL_MAX_AGE", age, iso);
            return p->level;
        }
        snprintf(why, whysz, "last restore drill passed %s ago (%s)", age, iso);
        return SK_HEALTH_OK;
    }
    if (p->max_age_s > 0 && since && now - since >= p->max_age_s) {
        fmt_age(now - since, age, sizeof age);
        snprintf(why, whysz, "no restore drill has passed in the %s since this job was first watched, over "
                 "SNAPKEEP_DRILL_MAX_AGE", age);
        return p->level;
    }
    return SK_HEALTH_OK; /* never drilled and not due yet: nothing to say */
}

/* ---- the drill -------------------------------------------------------------------------- */

/* Strings kept shorter than their field, with a visible cut. */
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

static void drill_opts(sk_runner *r, sk_job *job, char *note, size_t notesz, sk_drill_opts *o)
{
    snprintf(note, notesz, "%s/%s.drill-scratch", r->state_dir, r->job_id);
    o->job_id = r->job_id;
    o->note_path = note;
    o->pause = sk_config_bool(sk_job_config(job), "SNAPKEEP_DEBUG_DRILL_PAUSE");
}

static void sweep_locked(sk_runner *r, sk_job *job, const sk_runtime *rt)
{
    void *es;
    const sk_engine_type *et = sk_job_engine(job, &es);
    if (!et->drill_sweep)
        return;
    char note[PATH_MAX + 32];
    sk_drill_opts o;
    drill_opts(r, job, note, sizeof note, &o);
    int removed = 0;
    sk_err err;
    sk_err_clear(&err);
    if (et->drill_sweep(es, &o, &removed, &err) != SK_OK)
        sk_log_msg(rt->log, SK_LOG_WARN, "drill: could not look for scratch targets of interrupted drills: %s",
                   err.msg);
    else if (removed)
        sk_log_msg(rt->log, SK_LOG_INFO, "drill: removed %d scratch target(s) left by interrupted drills", removed);
}

void sk_drill_sweep(sk_runner *r, sk_job *job, const sk_runtime *rt)
{
    sk_err err;
    sk_err_clear(&err);
    /* no waiting: a backup holding the lock must not hold up the agent's start; the next drill
     * sweeps anyway */
    int lock = sk_lock(r->state_dir, r->job_id, 0, rt, &err);
    if (lock < 0) {
        sk_log_msg(rt->log, SK_LOG_INFO, "drill: not looking for leftovers of interrupted drills now (the next drill "
                   "does): %s", err.msg);
        return;
    }
    sweep_locked(r, job, rt);
    sk_unlock(lock);
}

#define DRILL_LOOKBACK 10 /* manifests read at most to find a backup that is not suspect */

/* The newest backup snapkeep committed that the guards did not flag; its manifest text in *text. */
static sk_rc pick(sk_job *job, const sk_runtime *rt, char key[1024], char **text, size_t *len, sk_err *err)
{
    sk_backup_list l;
    if (sk_job_list(job, 0, &l, err) != SK_OK)
        return err->rc;
    sk_rc rc = SK_OK;
    size_t tried = 0, suspects = 0;
    key[0] = '\0';
    for (size_t i = 0; i < l.n && tried < DRILL_LOOKBACK && !key[0]; i++) {
        if (l.v[i].legacy)
            continue;
        tried++;
        sk_manifest m;
        char *t = NULL;
        size_t n = 0;
        if ((rc = sk_job_manifest_text(job, l.v[i].key, &t, &n, err)) != SK_OK ||
            (rc = sk_manifest_parse(t, n, l.v[i].key, &m, err)) != SK_OK) {
            free(t);
            sk_err_prefix(err, "the newest backup's manifest cannot be read: ");
            break; /* a damaged newest backup is what a drill is there to report */
        }
        if (m.suspect) {
            sk_log_msg(rt->log, SK_LOG_INFO, "drill: skipping %s: the guards flagged it suspect (%s)", l.v[i].key,
                       m.suspect_reasons);
            suspects++;
            free(t);
            continue;
        }
        memcpy(key, l.v[i].key, 1024);
        *text = t;
        *len = n;
    }
    if (rc == SK_OK && !key[0])
        rc = sk_fail(err, SK_ERR_NOTFOUND, 0, "no backup to drill: %s", suspects ? "the newest backups are all suspect"
                                                                              : "the job has no backup made by snapkeep "
                                                                                "yet (run `snapkeep backup-now`)");
    sk_backup_list_free(&l);
    return rc;
}

static sk_rc drill_once(sk_runner *r, sk_job *job, const sk_runtime *rt, sk_drill_record *rec, sk_err *err)
{
    void *es;
    const sk_engine_type *et = sk_job_engine(job, &es);
    char key[1024], got_key[1024], note[PATH_MAX + 32], *text = NULL;
    size_t len = 0;
    sk_drill_report rep;
    sk_writer *sink = NULL;
    memset(&rep, 0, sizeof rep);
    if (!et->drill_open)
        return sk_fail(err, SK_ERR_CONFIG, 0, "the %s engine has no restore drill", et->name);
    sweep_locked(r, job, rt);
    if (pick(job, rt, key, &text, &len, err) != SK_OK)
        return err->rc;
    snprintf(rec->last_key, sizeof rec->last_key, "%s", key);
    sk_drill_opts o;
    drill_opts(r, job, note, sizeof note, &o);
    sk_rc rc = et->drill_open(es, &o, &rep, &sink, err);
    if (rc != SK_OK)
        goto out;
    sk_log_msg(rt->log, SK_LOG_INFO, "drill: restoring %s into the scratch target %s", key, rep.scratch);
    /* the same checks as a restore (MD5, age, zstd, SHA-256) before the sink's finish() restores */
    if ((rc = sk_job_get(job, key, sink, got_key, err)) != SK_OK)
        goto out;
    char why[1024] = "";
    int bad = 0, compared = 0;
    static const struct { const char *field, *what; } facts[] = { { "table_rows", "table" },
                                                                   { "collections", "collection" } };
    for (size_t i = 0; i < 2; i++) {
        char *want = sk_manifest_object(text, len, facts[i].field);
        const char *got = i == 0 ? rep.table_rows_json : rep.collections_json;
        if (want && got) {
            int n = sk_drill_compare(facts[i].what, want, got, why, sizeof why);
            bad += n < 0 ? 1 : n;
            if (n < 0)
                add_reason(why, sizeof why, "the %s counts could not be compared", facts[i].what);
            compared++;
        } else if (want) {
            sk_log_msg(rt->log, SK_LOG_WARN, "drill: the manifest records %s counts but the %s engine did not count "
                       "them after the restore", facts[i].what, et->name);
        }
        free(want);
    }
    if (bad) {
        rc = sk_fail(err, SK_ERR_DRILL, 0, "%s restored and passed the %s checks, but disagrees with its manifest: %s",
                     key, et->name, why);
        goto out;
    }
    snprintf(rec->last_summary, sizeof rec->last_summary, "%s%s%s%s", rep.summary,
             compared ? "; counts match the manifest" : "; the manifest records no counts to compare",
             rep.note[0] ? "; " : "", rep.note);
out:
    free(text);
    free(rep.table_rows_json);
    free(rep.collections_json);
    return rc;
}

static void notify_drill(sk_runner *r, sk_notifier *n, sk_job *job, const sk_runtime *rt, const sk_drill_record *rec,
                         const sk_err *err)
{
    if (!n)
        return;
    char iso[32];
    sk_iso8601(wall_now(rt), iso, sizeof iso);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:f}", "event", "drill", "job", sk_job_name(job), "job_id",
                          r->job_id, "time", iso, "ok", rec->last_ok, "duration_s", rec->last_duration);
    if (!o)
        return;
    if (rec->last_key[0])
        json_object_set_new(o, "key", json_string(rec->last_key));
    if (rec->last_ok) {
        json_object_set_new(o, "summary", json_string(rec->last_summary));
    } else {
        char clean[sizeof err->msg];
        sk_log_redact(rt->log, err->msg, clean, sizeof clean);
        json_object_set_new(o, "error", json_string(clean));
        json_object_set_new(o, "exit_code", json_integer(err->rc));
    }
    char *body = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (body)
        sk_notify_drill(n, rec->last_ok, body);
    free(body);
}

sk_rc sk_drill_run(sk_runner *r, sk_job *job, sk_notifier *notifier, const sk_runtime *rt, sk_drill_record *rec,
                   sk_err *err)
{
    sk_err rerr;
    sk_err_clear(&rerr);
    int lock = sk_lock(r->state_dir, r->job_id, r->lock_wait, rt, err);
    if (lock < 0)
        return err->rc;
    if (sk_drill_read(r->state_dir, r->job_id, rec, &rerr) != SK_OK) {
        sk_log_msg(rt->log, SK_LOG_WARN, "%s; starting a new drill record", rerr.msg);
        memset(rec, 0, sizeof *rec);
        sk_err_clear(&rerr);
    }
    sk_drill_record before = *rec;
    rec->last_key[0] = rec->last_summary[0] = '\0';
    double t0 = sk_monotonic();
    sk_rc rc = drill_once(r, job, rt, rec, err);
    if (rc == SK_ERR_CANCELLED) {
        /* stopped (SIGTERM, SIGINT): it proved nothing either way, so the record stays as it was */
        *rec = before;
        sk_unlock(lock);
        return rc;
    }
    rec->last_duration = sk_monotonic() - t0;
    rec->last_run = wall_now(rt);
    rec->last_ok = rc == SK_OK;
    rec->last_exit = (int)rc;
    if (rc == SK_OK) {
        rec->last_pass = rec->last_run;
        rec->last_error[0] = '\0';
        rec->passes++;
    } else {
        char red[sizeof err->msg];
        sk_log_redact(rt->log, err->msg, red, sizeof red); /* the record outlives the run */
        copy_marked(rec->last_error, sizeof rec->last_error, red);
        rec->last_fail = rec->last_run;
        rec->failures++;
    }
    if (sk_drill_write(r->state_dir, r->job_id, rec, &rerr) != SK_OK)
        sk_log_msg(rt->log, SK_LOG_ERROR, "%s", rerr.msg);
    notify_drill(r, notifier, job, rt, rec, err);
    sk_unlock(lock);
    return rc;
}
