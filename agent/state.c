#include "state.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "naming.h"

static int usable_dir(const char *dir)
{
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        return 0;
    return access(dir, W_OK | X_OK) == 0;
}

sk_rc sk_state_dir(const sk_config *cfg, char *out, size_t outsz, sk_err *err)
{
    const char *dir = sk_config_str(cfg, "SNAPKEEP_STATE_DIR");
    if (dir) {
        snprintf(out, outsz, "%s", dir);
        if (!usable_dir(out))
            return sk_fail(err, SK_ERR_CONFIG, errno, "SNAPKEEP_STATE_DIR='%s' is not a writable directory: %s", out,
                           strerror(errno));
        return SK_OK;
    }
    snprintf(out, outsz, "/var/lib/snapkeep");
    if (usable_dir(out))
        return SK_OK;
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(out, outsz, "%s/snapkeep", xdg);
    else if (home && *home) {
        char base[PATH_MAX];
        snprintf(base, sizeof base, "%s/.local", home);
        mkdir(base, 0750);
        snprintf(base, sizeof base, "%s/.local/state", home);
        mkdir(base, 0750);
        snprintf(out, outsz, "%s/.local/state/snapkeep", home);
    } else
        return sk_fail(err, SK_ERR_CONFIG, 0,
                       "no usable state directory: /var/lib/snapkeep is not writable and HOME is not set; "
                       "set SNAPKEEP_STATE_DIR");
    if (!usable_dir(out))
        return sk_fail(err, SK_ERR_CONFIG, errno, "state directory '%s' is not writable: %s; set SNAPKEEP_STATE_DIR",
                       out, strerror(errno));
    return SK_OK;
}

void sk_job_id(const char *service, const char *environment, const char *engine, const char *db,
               const char *keyspace, char out[SK_JOB_ID_SIZE])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)keyspace, strlen(keyspace), md);
    char readable[SK_JOB_ID_READABLE + 1];
    snprintf(readable, sizeof readable, "%s_%s_%s_%s", service, environment, engine, db);
    for (char *p = readable; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
            *p = '-';
    snprintf(out, SK_JOB_ID_SIZE, "%s-%02x%02x%02x%02x%02x%02x%02x%02x", readable, md[0], md[1], md[2], md[3], md[4],
             md[5], md[6], md[7]);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL); /* a signal cuts it short: the caller re-checks */
}

int sk_lock(const char *state_dir, const char *job_id, int wait_s, const sk_runtime *rt, sk_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.lock", state_dir, job_id);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        sk_fail(err, SK_ERR_CONFIG, errno, "cannot open the lock file '%s': %s (see SNAPKEEP_STATE_DIR)", path,
                strerror(errno));
        return -1;
    }
    double deadline = sk_monotonic() + wait_s;
    int told = 0;
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            sk_fail(err, SK_ERR_INTERNAL, errno, "flock '%s': %s", path, strerror(errno));
            break;
        }
        if (sk_rt_cancelled(rt)) {
            sk_fail(err, SK_ERR_CANCELLED, 0, "cancelled by signal while waiting for the job lock");
            break;
        }
        if (sk_monotonic() >= deadline) {
            sk_fail(err, SK_ERR_BUSY, 0,
                    "another backup of this job has been running for over %d s (lock '%s'); not starting a second "
                    "one. Raise SNAPKEEP_LOCK_WAIT to wait longer", wait_s, path);
            break;
        }
        if (!told) {
            sk_log_msg(rt ? rt->log : NULL, SK_LOG_INFO,
                       "another backup of this job is running; waiting for it to finish (up to %d s)", wait_s);
            told = 1;
        }
        sleep_ms(200);
    }
    close(fd);
    return -1;
}

int sk_lock_held(const char *state_dir, const char *job_id)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.lock", state_dir, job_id);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd); /* releases the shared lock if we got it */
    return held;
}

void sk_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* closing the descriptor releases the flock */
}

json_t *sk_ts_json(int64_t ts)
{
    if (!ts)
        return json_null();
    char iso[32];
    sk_iso8601(ts, iso, sizeof iso);
    return json_string(iso);
}

int64_t sk_ts_from_json(json_t *v)
{
    struct tm tm = { 0 };
    const char *s = json_string_value(v);
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                     &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

sk_rc sk_status_read(const char *state_dir, const char *job_id, sk_status *st, sk_err *err)
{
    char path[PATH_MAX];
    memset(st, 0, sizeof *st);
    snprintf(st->job, sizeof st->job, "%s", job_id);
    snprintf(path, sizeof path, "%s/%s.status.json", state_dir, job_id);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        if (access(path, F_OK) != 0)
            return SK_OK;
        return sk_fail(err, SK_ERR_INTERNAL, 0, "status file '%s' is not valid JSON: %s", path, jerr.text);
    }
    st->agent_started = sk_ts_from_json(json_object_get(root, "agent_started"));
    st->last_attempt = sk_ts_from_json(json_object_get(root, "last_attempt"));
    st->last_success = sk_ts_from_json(json_object_get(root, "last_success"));
    st->last_failure = sk_ts_from_json(json_object_get(root, "last_failure"));
    const char *e = json_string_value(json_object_get(root, "last_error"));
    snprintf(st->last_error, sizeof st->last_error, "%s", e ? e : "");
    const char *k = json_string_value(json_object_get(root, "last_key"));
    snprintf(st->last_key, sizeof st->last_key, "%s", k ? k : "");
    st->last_exit = (int)json_integer_value(json_object_get(root, "last_exit"));
    st->last_duration = json_number_value(json_object_get(root, "last_duration_s"));
    st->last_size = (uint64_t)json_integer_value(json_object_get(root, "last_size"));
    st->successes = (uint64_t)json_integer_value(json_object_get(root, "successes_total"));
    st->failures = (uint64_t)json_integer_value(json_object_get(root, "failures_total"));
    st->last_suspect = json_is_true(json_object_get(root, "last_suspect"));
    const char *sr = json_string_value(json_object_get(root, "last_suspect_reasons"));
    snprintf(st->last_suspect_reasons, sizeof st->last_suspect_reasons, "%s", sr ? sr : "");
    st->suspects = (uint64_t)json_integer_value(json_object_get(root, "suspects_total"));
    json_t *ds = json_object_get(root, "destinations");
    for (size_t i = 0; json_is_array(ds) && i < json_array_size(ds) && st->ndests < 8; i++) {
        json_t *o = json_array_get(ds, i);
        struct sk_dest_status *d = &st->dests[st->ndests];
        const char *label = json_string_value(json_object_get(o, "destination"));
        const char *where = json_string_value(json_object_get(o, "where"));
        const char *le = json_string_value(json_object_get(o, "last_error"));
        if (!label)
            continue;
        snprintf(d->label, sizeof d->label, "%s", label);
        snprintf(d->where, sizeof d->where, "%s", where ? where : "");
        snprintf(d->last_error, sizeof d->last_error, "%s", le ? le : "");
        d->last_success = sk_ts_from_json(json_object_get(o, "last_success"));
        d->last_failure = sk_ts_from_json(json_object_get(o, "last_failure"));
        json_t *ok = json_object_get(o, "last_copy_ok");
        d->last_ok = json_is_boolean(ok) ? json_is_true(ok) : d->last_success && d->last_success >= d->last_failure;
        d->successes = (uint64_t)json_integer_value(json_object_get(o, "successes_total"));
        d->failures = (uint64_t)json_integer_value(json_object_get(o, "failures_total"));
        st->ndests++;
    }
    st->running = json_is_true(json_object_get(root, "running"));
    st->pid = (long)json_integer_value(json_object_get(root, "pid"));
    json_decref(root);
    if (st->running && !sk_lock_held(state_dir, job_id)) {
        /* the process that wrote "running" died (SIGKILL, OOM, power): its lock went with it */
        st->running = 0;
        st->interrupted = 1;
    }
    return SK_OK;
}

sk_rc sk_status_write(const char *state_dir, const char *job_id, const sk_status *st, sk_err *err)
{
    char path[PATH_MAX], tmp[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s.status.json", state_dir, job_id);
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    json_t *root = json_pack("{s:s, s:o, s:o, s:o, s:o, s:s, s:i, s:f, s:I, s:s, s:I, s:I, s:b, s:I}", "job",
                             st->job, "agent_started", sk_ts_json(st->agent_started), "last_attempt",
                             sk_ts_json(st->last_attempt), "last_success", sk_ts_json(st->last_success), "last_failure",
                             sk_ts_json(st->last_failure), "last_error", st->last_error, "last_exit", st->last_exit,
                             "last_duration_s", st->last_duration, "last_size", (json_int_t)st->last_size, "last_key",
                             st->last_key, "successes_total", (json_int_t)st->successes, "failures_total",
                             (json_int_t)st->failures, "running", st->running, "pid", (json_int_t)st->pid);
    if (!root)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "cannot build the status JSON");
    json_object_set_new(root, "last_suspect", json_boolean(st->last_suspect));
    json_object_set_new(root, "last_suspect_reasons", json_string(st->last_suspect_reasons));
    json_object_set_new(root, "suspects_total", json_integer((json_int_t)st->suspects));
    json_t *ds = json_array();
    for (size_t i = 0; ds && i < st->ndests; i++) {
        const struct sk_dest_status *d = &st->dests[i];
        json_array_append_new(ds, json_pack("{s:s, s:s, s:o, s:o, s:s, s:I, s:I, s:b}", "destination", d->label, "where",
                                            d->where, "last_success", sk_ts_json(d->last_success), "last_failure",
                                            sk_ts_json(d->last_failure), "last_error", d->last_error, "successes_total",
                                            (json_int_t)d->successes, "failures_total", (json_int_t)d->failures,
                                            "last_copy_ok", d->last_ok));
    }
    if (ds)
        json_object_set_new(root, "destinations", ds);
    int rc = json_dump_file(root, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (rc != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return sk_fail(err, SK_ERR_INTERNAL, e, "cannot write the status file '%s': %s", path, strerror(e));
    }
    return SK_OK;
}

static void fmt_age(int64_t s, char *out, size_t outsz)
{
    if (s < 120)
        snprintf(out, outsz, "%llds", (long long)s);
    else if (s < 7200)
        snprintf(out, outsz, "%lldm", (long long)(s / 60));
    else
        snprintf(out, outsz, "%.1fh", (double)s / 3600);
}

static sk_health job_health(const sk_status *st, int64_t now, int64_t warn_s, int64_t fail_s, char *why, size_t whysz);

sk_health sk_health_eval(const sk_status *st, int64_t now, int64_t warn_s, int64_t fail_s, char *why, size_t whysz)
{
    sk_health h = job_health(st, now, warn_s, fail_s, why, whysz);
    if (st->ndests < 2) /* one destination: its health is the job's */
        return h;
    int64_t ref = st->agent_started ? st->agent_started : st->last_attempt;
    for (size_t i = 0; i < st->ndests; i++) {
        const struct sk_dest_status *d = &st->dests[i];
        int failed_last = d->last_failure && !d->last_ok;
        int64_t since = d->last_success ? d->last_success : ref;
        sk_health hd = since && now - since >= fail_s ? SK_HEALTH_FAIL
                       : failed_last || (since && now - since >= warn_s) ? SK_HEALTH_WARN : SK_HEALTH_OK;
        if (hd == SK_HEALTH_OK)
            continue;
        if (hd > h)
            h = hd;
        size_t used = strlen(why);
        char age[32] = "never";
        if (d->last_success)
            fmt_age(now - d->last_success, age, sizeof age);
        snprintf(why + used, whysz - used, "; destination %s: %s%s%s, last good copy %s%s", d->label,
                 failed_last ? "the last copy FAILED: " : "no fresh copy", failed_last ? d->last_error : "",
                 "", age, d->last_success ? " ago" : "");
    }
    return h;
}

static sk_health job_health(const sk_status *st, int64_t now, int64_t warn_s, int64_t fail_s, char *why, size_t whysz)
{
    char age[32], iso[32];
    if (st->last_success) {
        int64_t a = now - st->last_success;
        fmt_age(a, age, sizeof age);
        sk_iso8601(st->last_success, iso, sizeof iso);
        sk_health h = a >= fail_s ? SK_HEALTH_FAIL : a >= warn_s ? SK_HEALTH_WARN : SK_HEALTH_OK;
        snprintf(why, whysz, "last success %s ago (%s%s)%s%s", age, iso,
                 st->from_destination ? ", the destination's newest backup: no local record" : "",
                 st->last_failure > st->last_success ? "; last attempt failed: " : "",
                 st->last_failure > st->last_success ? st->last_error : "");
        return h;
    }
    int64_t ref = st->agent_started ? st->agent_started : st->last_attempt;
    if (!ref) {
        snprintf(why, whysz, "no backup has ever succeeded and no agent has run for this job");
        return SK_HEALTH_FAIL;
    }
    int64_t a = now - ref;
    fmt_age(a, age, sizeof age);
    sk_health h = a >= fail_s ? SK_HEALTH_FAIL : a >= warn_s ? SK_HEALTH_WARN : SK_HEALTH_OK;
    snprintf(why, whysz, "no successful backup yet, %s since %s%s%s", age,
             st->agent_started ? "the agent started" : "the first attempt", st->last_failure ? "; last failure: " : "",
             st->last_failure ? st->last_error : "");
    return h;
}
