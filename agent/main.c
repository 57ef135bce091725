/*
 * main.c: the command line. Parses arguments, loads the job(s), runs one command and maps its
 * outcome to the documented exit code (the sk_rc value).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "agent.h"
#include "config.h"
#include "config_file.h"
#include "drill.h"
#include "http_status.h"
#include "jobs.h"
#include "job.h"
#include "log.h"
#include "naming.h"
#include "notify.h"
#include "registry.h"
#include "runner.h"
#include "runtime.h"
#include "schedule.h"
#include "signals.h"
#include "state.h"
#include "version.h"

extern char **environ;

static const char usage_head[] =
    "usage: snapkeep <command> [options]\n"
    "\n"
    "snapkeep takes consistent, zstd-compressed, checksummed backups of a database and stores them\n"
    "in a destination, each with an md5sum-format .md5 sidecar and a JSON manifest.\n"
    "\n"
    "commands:\n";

static const char usage_tail[] =
    "\n"
    "options: --job NAME selects a job when SNAPKEEP_CONFIG lists several.\n"
    "\n"
    "Configuration comes from environment variables (or SNAPKEEP_CONFIG, a libconfig file of jobs);\n"
    "any variable X may instead be given as X_FILE, the path of a file holding the value (Docker\n"
    "secrets). Unknown variables of snapkeep's prefixes (SNAPKEEP_, S3_, R2_, POCKETBASE_) are\n"
    "errors (SNAPKEEP_IGNORE_VARS lists exceptions). TZ selects the schedule's time zone.\n";

static const char exit_text[] =
    "exit codes:\n"
    "  0 success (for backup-now: data, .md5 and manifest all stored; for health: fresh or warning)\n"
    "  1 internal error; for health: the last success is older than SNAPKEEP_HEALTH_FAIL_AFTER\n"
    "  2 usage error   3 configuration error   4 source (database) error\n"
    "  5 destination error   6 integrity error (checksum, size, corrupt data, integrity_check)\n"
    "  7 backup not found   8 busy (another backup of the job ran past SNAPKEEP_LOCK_WAIT)\n"
    "  9 suspect: the backup was stored, but the guards flagged it and SNAPKEEP_GUARD_FAIL is on\n"
    "  10 drill: the drill restored the backup, but its row/record counts disagree with the manifest\n"
    "     (a drill of damaged data fails with 6, with no backup to drill with 7)\n"
    "  130 interrupted by SIGINT/SIGTERM (nothing partial left)\n";

static int64_t clock_ms(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- command line ----------------------------------------------------------------------- */

/* Options, as bits: the command table says which each command takes and which it requires. */
enum {
    OPT_OUTPUT = 1u << 0, OPT_TO = 1u << 1, OPT_JSON = 1u << 2, OPT_FORCE = 1u << 3, OPT_DRY_RUN = 1u << 4,
    OPT_FROM = 1u << 5, OPT_COUNT = 1u << 6, OPT_YES = 1u << 7,
};

typedef struct cli {
    const char *command;
    const char *output;   /* dump/get -o */
    const char *target;   /* restore --to */
    const char *job;      /* --job */
    const char *from;     /* schedule --from */
    long count;           /* schedule --count */
    int json, force, dry_run, yes;
    unsigned seen;        /* OPT_* given */
    char **pos;           /* positional words after the command */
    int npos;
} cli;

static const struct {
    unsigned bit;
    const char *name;
} opt_names[] = {
    { OPT_OUTPUT, "-o/--output" }, { OPT_TO, "--to" },         { OPT_JSON, "--json" },   { OPT_FORCE, "--force" },
    { OPT_DRY_RUN, "--dry-run" },  { OPT_FROM, "--from" },     { OPT_COUNT, "--count" }, { OPT_YES, "--yes" },
};

static int parse_args(int argc, char **argv, cli *c, sk_log *log)
{
    static const struct option opts[] = {
        { "output", required_argument, NULL, 'o' }, { "to", required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },         { "force", no_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },         { "version", no_argument, NULL, 'V' },
        { "job", required_argument, NULL, 'J' },    { "dry-run", no_argument, NULL, 'n' },
        { "from", required_argument, NULL, 'F' },   { "count", required_argument, NULL, 'c' },
        { "yes", no_argument, NULL, 'y' },          { NULL, 0, NULL, 0 },
    };
    int ch;
    opterr = 0;
    c->count = 10;
    while ((ch = getopt_long(argc, argv, "o:t:jfhVJ:nF:c:y", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': c->output = optarg; c->seen |= OPT_OUTPUT; break;
        case 't': c->target = optarg; c->seen |= OPT_TO; break;
        case 'j': c->json = 1; c->seen |= OPT_JSON; break;
        case 'f': c->force = 1; c->seen |= OPT_FORCE; break;
        case 'J': c->job = optarg; break;
        case 'n': c->dry_run = 1; c->seen |= OPT_DRY_RUN; break;
        case 'F': c->from = optarg; c->seen |= OPT_FROM; break;
        case 'y': c->yes = 1; c->seen |= OPT_YES; break;
        case 'c': {
            char *end;
            c->count = strtol(optarg, &end, 10);
            c->seen |= OPT_COUNT;
            if (*end || c->count < 1 || c->count > 1000) {
                sk_log_msg(log, SK_LOG_ERROR, "--count takes a number 1..1000");
                return -1;
            }
            break;
        }
        case 'h': c->command = "help"; return 0;
        case 'V': c->command = "version"; return 0;
        default:
            sk_log_msg(log, SK_LOG_ERROR, "unknown or incomplete option '%s' (see snapkeep --help)", argv[optind - 1]);
            return -1;
        }
    }
    c->pos = argv + optind;
    c->npos = argc - optind;
    return 0;
}

/* ---- commands --------------------------------------------------------------------------- */

static int fail(sk_log *log, const char *what, const sk_err *err)
{
    sk_log_msg(log, SK_LOG_ERROR, "%s failed (%s, exit %d): %s", what, sk_rc_name(err->rc), (int)err->rc, err->msg);
    return (int)err->rc;
}

/* "local,s3" (good copies), and for several destinations the others' states: "s3_2:missing". */
static void copies_text(const sk_job *job, const sk_backup_entry *e, char *out, size_t sz)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sk_job_ndests(job) && used < sz; i++) {
        if (!(e->present & (1u << i)))
            continue;
        int good = (e->good >> i) & 1;
        int w = snprintf(out + used, sz - used, "%s%s%s%s", used ? "," : "", sk_job_dest_label(job, i),
                         good ? "" : ":", good ? "" : e->copy[i]);
        used += w > 0 ? (size_t)w : 0;
    }
}

static void print_list_text(const sk_job *job, const sk_backup_list *l)
{
    int many = sk_job_ndests(job) > 1;
    printf("%-72s %12s  %-20s  %s%s\n", "KEY", "SIZE", "TIME (UTC)", "CHECKSUM", many ? "  COPIES" : "");
    for (size_t i = 0; i < l->n; i++) {
        char size[32], when[32], copies[256] = "";
        sk_fmt_bytes(l->v[i].size, size, sizeof size);
        sk_iso8601(l->v[i].ts, when, sizeof when);
        if (many)
            copies_text(job, &l->v[i], copies, sizeof copies);
        printf("%-72s %12s  %-20s  %s%s%s%s%s%s\n", l->v[i].key, size, when, l->v[i].checksum, many ? "  " : "",
               copies, l->v[i].legacy ? "  (legacy: no manifest, checked by its .md5 only)" : "",
               l->v[i].m.suspect ? "  SUSPECT: " : "", l->v[i].m.suspect ? l->v[i].m.suspect_reasons : "");
    }
}

static void print_list_json(const sk_job *job, const sk_backup_list *l)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < l->n; i++) {
        const sk_backup_entry *e = &l->v[i];
        char when[32];
        sk_iso8601(e->ts, when, sizeof when);
        json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "key", e->key, "time", when, "size", (json_int_t)e->size,
                              "checksum", e->checksum);
        if (o)
            json_object_set_new(o, "legacy", json_boolean(e->legacy));
        if (o) { /* the destinations holding a good copy, and how every copy checked */
            json_t *good = json_array(), *copies = json_object();
            for (size_t d = 0; d < sk_job_ndests(job); d++) {
                if (!(e->present & (1u << d)))
                    continue;
                if ((e->good >> d) & 1)
                    json_array_append_new(good, json_string(sk_job_dest_label(job, d)));
                json_object_set_new(copies, sk_job_dest_label(job, d), json_string(e->copy[d] ? e->copy[d] : "?"));
            }
            json_object_set_new(o, "destinations", good);
            json_object_set_new(o, "copies", copies);
        }
        if (o && e->have_manifest_data) {
            char start[32], end[32];
            sk_iso8601(e->m.started_at, start, sizeof start);
            sk_iso8601(e->m.finished_at, end, sizeof end);
            json_object_set_new(o, "engine", json_string(e->m.engine));
            json_object_set_new(o, "database", json_string(e->m.database));
            json_object_set_new(o, "started_at", json_string(start));
            json_object_set_new(o, "finished_at", json_string(end));
            json_object_set_new(o, "plain_size", json_integer((json_int_t)e->m.plain_size));
            json_object_set_new(o, "plain_sha256", json_string(e->m.plain_sha256));
            json_object_set_new(o, "md5", json_string(e->m.stored_md5));
            json_object_set_new(o, "server_version", json_string(e->m.server_version));
            if (e->m.rows >= 0)
                json_object_set_new(o, "rows", json_integer((json_int_t)e->m.rows));
            json_object_set_new(o, "suspect", json_boolean(e->m.suspect));
            if (e->m.suspect)
                json_object_set_new(o, "suspect_reasons", json_string(e->m.suspect_reasons));
        }
        if (o)
            json_array_append_new(arr, o);
    }
    char *text = arr ? json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(arr);
    if (text)
        puts(text);
    free(text);
}

static int cmd_schedule(const cli *c, sk_log *log)
{
    sk_err err;
    sk_err_clear(&err);
    int code = 0;
    sk_tz *tz = sk_tz_load(getenv("TZ"), "TZ", &err);
    sk_schedule *s = tz ? sk_schedule_parse(c->pos[0], "schedule", &err) : NULL;
    int64_t t = (int64_t)time(NULL);
    if (s && c->from && sk_tz_parse_time(tz, c->from, "--from", &t, &err) != SK_OK) {
        code = fail(log, "schedule", &err);
        goto out;
    }
    if (!s) {
        code = fail(log, "schedule", &err);
        goto out;
    }
    printf("# %s (normalised: %s) in %s%s\n", c->pos[0], sk_schedule_normalized(s), sk_tz_name(tz),
           sk_schedule_follows_clock(s) ? "; follows the clock across DST changes" : "; fixed local times");
    for (long i = 0; i < c->count; i++) {
        char local[64], utc[32];
        if (sk_schedule_next_in(s, tz, t, &t, &err) != SK_OK || sk_tz_format(tz, t, local, sizeof local, &err)) {
            code = fail(log, "schedule", &err);
            goto out;
        }
        sk_iso8601(t, utc, sizeof utc);
        printf("%s  (%s)\n", local, utc);
    }
out:
    sk_schedule_free(s);
    sk_tz_free(tz);
    return code;
}

static int cmd_config_check(sk_jobs *j, const sk_runtime *rt)
{
    sk_err err;
    sk_err_clear(&err);
    sk_tz *tz = sk_tz_load(getenv("TZ"), "TZ", &err);
    if (!tz)
        return fail(rt->log, "configuration", &err);
    int code = 0;
    for (size_t i = 0; i < j->n && !code; i++) {
        const sk_config *cfg = sk_job_config(j->v[i].job);
        printf("# job '%s': %s\n", j->v[i].name, sk_job_name(j->v[i].job));
        sk_config_print(cfg, stdout);
        for (size_t d = 0; d < sk_job_ndests(j->v[i].job); d++)
            printf("# destination %s: %s\n", sk_job_dest_label(j->v[i].job, d), sk_job_dest_describe(j->v[i].job, d));
        const char *expr = sk_config_str(cfg, "SNAPKEEP_SCHEDULE");
        if (expr) {
            sk_schedule *s = sk_schedule_parse(expr, "SNAPKEEP_SCHEDULE", &err);
            int64_t next;
            char when[64];
            if (!s || sk_schedule_next_in(s, tz, (int64_t)time(NULL), &next, &err) != SK_OK)
                code = fail(rt->log, "configuration", &err);
            else if (sk_tz_format(tz, next, when, sizeof when, &err) == SK_OK)
                printf("# next scheduled backup: %s\n", when);
            sk_schedule_free(s);
        }
        const char *dexpr = sk_config_str(cfg, "SNAPKEEP_DRILL_SCHEDULE");
        if (dexpr && !code) {
            sk_schedule *s = sk_schedule_parse(dexpr, "SNAPKEEP_DRILL_SCHEDULE", &err);
            int64_t next;
            char when[64];
            if (!s || sk_schedule_next_in(s, tz, (int64_t)time(NULL), &next, &err) != SK_OK)
                code = fail(rt->log, "configuration", &err);
            else if (sk_tz_format(tz, next, when, sizeof when, &err) == SK_OK)
                printf("# next restore drill: %s\n", when);
            sk_schedule_free(s);
        }
        sk_runner r;
        if (!code && sk_runner_init(&r, j->v[i].job, NULL, &err) != SK_OK)
            code = fail(rt->log, "configuration", &err);
        else if (!code)
            printf("# state: %s/%s.status.json\n", r.state_dir, r.job_id);
    }
    if (!code)
        printf("# configuration ok: %zu job(s)\n", j->n);
    sk_tz_free(tz);
    return code;
}

static void print_status_line(const char *name, const sk_status *st, sk_health h, const char *why)
{
    char a[32] = "never", s[32] = "never", f[32] = "never";
    if (st->last_attempt)
        sk_iso8601(st->last_attempt, a, sizeof a);
    if (st->last_success)
        sk_iso8601(st->last_success, s, sizeof s);
    if (st->last_failure)
        sk_iso8601(st->last_failure, f, sizeof f);
    printf("%s: %s (%s)\n  last attempt %s, last success %s, last failure %s%s\n  successes %llu, failures %llu, "
           "last duration %.1f s, last size %llu bytes%s%s\n",
           name, h == SK_HEALTH_OK ? "ok" : h == SK_HEALTH_WARN ? "warn" : "fail", why, a, s, f,
           st->running ? " (a backup is running)"
                       : st->interrupted ? " (the last backup was interrupted: its process is gone)" : "",
           (unsigned long long)st->successes,
           (unsigned long long)st->failures, st->last_duration, (unsigned long long)st->last_size,
           st->last_failure ? "\n  last error: " : "", st->last_failure ? st->last_error : "");
    if (st->last_suspect)
        printf("  last backup SUSPECT (stored, flagged by the guards): %s\n", st->last_suspect_reasons);
    if (st->suspects)
        printf("  suspect backups: %llu\n", (unsigned long long)st->suspects);
    for (size_t i = 0; st->ndests > 1 && i < st->ndests; i++) {
        const struct sk_dest_status *d = &st->dests[i];
        int failed = d->last_failure && !d->last_ok;
        char ls[32] = "never", lf[32] = "never";
        if (d->last_success)
            sk_iso8601(d->last_success, ls, sizeof ls);
        if (d->last_failure)
            sk_iso8601(d->last_failure, lf, sizeof lf);
        printf("  destination %s (%s): last copy %s; last good %s, last failed %s, copies %llu ok, %llu failed%s%s\n",
               d->label, d->where, failed ? "FAILED" : "ok", ls, lf,
               (unsigned long long)d->successes, (unsigned long long)d->failures,
               failed ? ": " : "", failed ? d->last_error : "");
    }
}

static void print_drill_line(const sk_drill_record *d)
{
    char when[32];
    if (!d->last_run)
        return;
    sk_iso8601(d->last_run, when, sizeof when);
    printf("  last restore drill %s: %s (%.1f s), %s\n  drills passed %llu, failed %llu\n", when,
           d->last_ok ? "PASSED" : "FAILED", d->last_duration, d->last_key[0] ? d->last_key : "no backup",
           (unsigned long long)d->passes, (unsigned long long)d->failures);
    printf("  drill %s: %s\n", d->last_ok ? "summary" : "error", d->last_ok ? d->last_summary : d->last_error);
}

static int cmd_health_status(sk_jobs *j, const cli *c, const sk_runtime *rt, int health)
{
    sk_err err;
    sk_err_clear(&err);
    int worst = SK_HEALTH_OK;
    json_t *arr = c->json ? json_array() : NULL;
    for (size_t i = 0; i < j->n; i++) {
        if (c->job && strcmp(c->job, j->v[i].name))
            continue;
        sk_runner r;
        sk_status st;
        char why[1024];
        if (sk_runner_init(&r, j->v[i].job, NULL, &err) != SK_OK || sk_status_read(r.state_dir, r.job_id, &st, &err))
            return fail(rt->log, health ? "health" : "status", &err);
        /* a status file written by an older version may hold an unredacted error */
        char clean[sizeof st.last_error];
        sk_log_redact(rt->log, st.last_error, clean, sizeof clean);
        memcpy(st.last_error, clean, sizeof clean);
        sk_runner_seed_status(&r, j->v[i].job, rt, &st);
        const sk_config *cfg = sk_job_config(j->v[i].job);
        int64_t warn = sk_config_int(cfg, "SNAPKEEP_HEALTH_WARN_AFTER", 36) * 3600;
        int64_t failh = sk_config_int(cfg, "SNAPKEEP_HEALTH_FAIL_AFTER", 48) * 3600;
        sk_health h = sk_health_eval(&st, (int64_t)time(NULL), warn, failh, why, sizeof why);
        /* the restore drill's part: a failed or too old drill, as SNAPKEEP_DRILL_HEALTH says */
        sk_drill_record drill;
        sk_drill_policy dp;
        char dwhy[1024];
        if (sk_drill_read(r.state_dir, r.job_id, &drill, &err) != SK_OK)
            return fail(rt->log, health ? "health" : "status", &err);
        sk_drill_policy_of(cfg, &dp);
        sk_health dh = sk_drill_health(&drill, &dp, st.agent_started ? st.agent_started : st.last_attempt,
                                       (int64_t)time(NULL), dwhy, sizeof dwhy);
        if (dh > h)
            h = dh;
        if (dwhy[0] && (dh != SK_HEALTH_OK || health))
            snprintf(why + strlen(why), sizeof why - strlen(why), "; %s", dwhy);
        if ((int)h > worst)
            worst = h;
        if (arr) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%s.status.json", r.state_dir, r.job_id);
            json_error_t je;
            json_t *o = json_load_file(path, 0, &je);
            if (!o)
                o = json_pack("{s:s}", "job", r.job_id);
            else if (json_is_string(json_object_get(o, "last_error")))
                json_object_set_new(o, "last_error", json_string(st.last_error));
            json_object_set_new(o, "name", json_string(j->v[i].name));
            if (st.interrupted) {
                json_object_set_new(o, "running", json_false());
                json_object_set_new(o, "interrupted", json_true());
            }
            if (st.from_destination) {
                char iso[32];
                sk_iso8601(st.last_success, iso, sizeof iso);
                json_object_set_new(o, "last_success", json_string(iso));
                json_object_set_new(o, "last_key", json_string(st.last_key));
                json_object_set_new(o, "last_success_source", json_string("destination"));
            }
            char dpath[4200];
            snprintf(dpath, sizeof dpath, "%s/%s.drill.json", r.state_dir, r.job_id);
            json_t *dj = json_load_file(dpath, 0, &je);
            if (dj) {
                json_object_del(dj, "job");
                json_object_set_new(dj, "health", json_string(dh == SK_HEALTH_OK ? "ok" : dh == SK_HEALTH_WARN ? "warn" : "fail"));
                json_object_set_new(dj, "health_reason", json_string(dwhy));
                json_object_set_new(o, "drill", dj);
            }
            json_object_set_new(o, "health", json_string(h == SK_HEALTH_OK ? "ok" : h == SK_HEALTH_WARN ? "warn" : "fail"));
            json_object_set_new(o, "health_reason", json_string(why));
            json_array_append_new(arr, o);
        } else if (health) {
            printf("%s %s: %s\n", h == SK_HEALTH_OK ? "ok" : h == SK_HEALTH_WARN ? "warn" : "fail", sk_job_name(j->v[i].job),
                   why);
        } else {
            print_status_line(sk_job_name(j->v[i].job), &st, h, why);
            print_drill_line(&drill);
        }
    }
    if (arr) {
        char *text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text)
            puts(text);
        free(text);
        json_decref(arr);
    }
    return health && worst == SK_HEALTH_FAIL ? 1 : 0;
}

static void print_prune(void *ud, const char *key, int keep, const char *reason)
{
    const cli *c = ud;
    printf("%s %s (%s)\n", keep ? "keep  " : (c->dry_run ? "would delete" : "delete"), key, reason);
}

static int cmd_run(sk_jobs *j, sk_runtime *rt)
{
    sk_err err;
    sk_err_clear(&err);
    int code = 0;
    sk_http_status *http = NULL;
    sk_http_job *hj = NULL;
    sk_notifier **notifiers = calloc(j->n, sizeof *notifiers);
    sk_tz *tz = notifiers ? sk_tz_load(getenv("TZ"), "TZ", &err) : NULL;
    if (!tz)
        return fail(rt->log, "run", &err);
    if (sk_agent_prepare(j->v, j->n, &err) != SK_OK) {
        code = fail(rt->log, "configuration", &err);
        goto out;
    }
    for (size_t i = 0; i < j->n; i++) {
        /* each job its own webhooks (a config file may give them per job) */
        notifiers[i] = sk_notifier_new(sk_job_config(j->v[i].job), rt->log, &err);
        if ((!notifiers[i] && err.rc) || sk_runner_init(&j->v[i].runner, j->v[i].job, notifiers[i], &err) != SK_OK) {
            code = fail(rt->log, "configuration", &err);
            goto out;
        }
    }
    const sk_config *first = sk_job_config(j->v[0].job);
    const char *listen = sk_config_str(first, "SNAPKEEP_HTTP_LISTEN");
    if (listen) {
        hj = calloc(j->n, sizeof *hj);
        for (size_t i = 0; hj && i < j->n; i++) {
            const sk_config *cfg = sk_job_config(j->v[i].job);
            snprintf(hj[i].state_dir, sizeof hj[i].state_dir, "%s", j->v[i].runner.state_dir);
            snprintf(hj[i].job_id, sizeof hj[i].job_id, "%s", j->v[i].runner.job_id);
            snprintf(hj[i].name, sizeof hj[i].name, "%s", sk_job_name(j->v[i].job));
            hj[i].warn_s = sk_config_int(cfg, "SNAPKEEP_HEALTH_WARN_AFTER", 36) * 3600;
            hj[i].fail_s = sk_config_int(cfg, "SNAPKEEP_HEALTH_FAIL_AFTER", 48) * 3600;
            sk_drill_policy dp;
            sk_drill_policy_of(cfg, &dp);
            hj[i].drill_max_age_s = dp.max_age_s;
            hj[i].drill_level = (int)dp.level;
        }
        if (!hj || !(http = sk_http_status_start(listen, hj, j->n, &err))) {
            code = fail(rt->log, "configuration", &err);
            goto out;
        }
        sk_log_msg(rt->log, SK_LOG_INFO, "serving /healthz and /metrics on %s", listen);
    }
    sk_grace grace = { (double)sk_config_int(first, "SNAPKEEP_STOP_GRACE", 8), 0, rt->log };
    rt->cancelled = sk_grace_cancelled;
    rt->cancel_ud = &grace;
    if (sk_agent_run(j->v, j->n, rt, tz, &err) != SK_OK)
        code = fail(rt->log, "run", &err);
out:
    sk_http_status_stop(http);
    free(hj);
    for (size_t i = 0; notifiers && i < j->n; i++)
        sk_notifier_free(notifiers[i], 15);
    free(notifiers);
    sk_tz_free(tz);
    return code;
}

/* One backup through the runner (lock, status, webhooks, retention); returns the exit code. */
static int backup_one(sk_agent_job *a, sk_runtime *rt, sk_log *log)
{
    sk_err err;
    sk_err_clear(&err);
    sk_backup_result res;
    int code = 0;
    sk_log_set_job(log, sk_job_name(a->job));
    sk_notifier *notifier = sk_notifier_new(sk_job_config(a->job), log, &err);
    if (!notifier && err.rc)
        return fail(log, "configuration", &err);
    if (sk_runner_init(&a->runner, a->job, notifier, &err) != SK_OK ||
        sk_runner_backup(&a->runner, a->job, rt, &res, &err) != SK_OK) {
        code = fail(log, "backup", &err);
    } else {
        char plain[32], stored[32];
        sk_fmt_bytes(res.plain_size, plain, sizeof plain);
        sk_fmt_bytes(res.stored_size, stored, sizeof stored);
        sk_log_msg(log, res.suspect ? SK_LOG_WARN : SK_LOG_INFO, "backup done: %s (%s, %s stored) in %.2f s%s%s", res.key,
                   plain, stored, res.seconds, res.suspect ? "; SUSPECT: " : "", res.suspect ? res.suspect_reasons : "");
    }
    sk_notifier_free(notifier, 15);
    return code;
}

/* One restore drill through the runner's lock, recorded and notified; returns the exit code. */
static int drill_one(sk_agent_job *a, sk_runtime *rt, sk_log *log)
{
    sk_err err;
    sk_err_clear(&err);
    sk_drill_record rec;
    int code = 0;
    sk_log_set_job(log, sk_job_name(a->job));
    sk_notifier *notifier = sk_notifier_new(sk_job_config(a->job), log, &err);
    if (!notifier && err.rc)
        return fail(log, "configuration", &err);
    if (sk_runner_init(&a->runner, a->job, notifier, &err) != SK_OK ||
        sk_drill_run(&a->runner, a->job, notifier, rt, &rec, &err) != SK_OK) {
        code = fail(log, "drill", &err);
    } else {
        sk_log_msg(log, SK_LOG_INFO, "drill passed: %s: %s (%.1f s)", rec.last_key, rec.last_summary,
                   rec.last_duration);
        printf("ok %s: %s\n", rec.last_key, rec.last_summary);
    }
    sk_notifier_free(notifier, 15);
    return code;
}

/* ---- the command table ------------------------------------------------------------------ */

/* What a handler gets: the parsed command line, and, as its scope says, every job or the one job
 * --job picks. */
typedef struct ctx {
    const cli *c;
    sk_log *log;
    sk_runtime *rt;
    sk_jobs *jobs;
    sk_agent_job *a;
} ctx;

enum scope {
    SCOPE_NONE, /* no configuration is loaded */
    SCOPE_ALL,  /* every job is loaded; the handler goes through them */
    SCOPE_ONE,  /* one job: --job NAME, or the only one */
};

typedef struct command {
    const char *name;
    const char *synopsis;   /* after the name, in usage */
    const char *help;       /* lines after the first are indented under it */
    int nargs;              /* positional arguments: exactly this many */
    const char *args_what;  /* what they are, for the error when they are missing */
    const char *word;       /* when set, the one positional argument must be this word */
    unsigned opts;          /* OPT_* accepted (besides --job) */
    unsigned required;      /* OPT_* that must be given */
    const char *required_why; /* the error when one is missing */
    enum scope scope;
    int (*run)(const ctx *x);
} command;

static int run_help(const ctx *x);

static int run_version(const ctx *x)
{
    (void)x;
    printf("snapkeep %s\n", SK_VERSION);
    return 0;
}

static int run_schedule(const ctx *x) { return cmd_schedule(x->c, x->log); }
static int run_config(const ctx *x) { return cmd_config_check(x->jobs, x->rt); }
static int run_health(const ctx *x) { return cmd_health_status(x->jobs, x->c, x->rt, 1); }
static int run_status(const ctx *x) { return cmd_health_status(x->jobs, x->c, x->rt, 0); }
static int run_run(const ctx *x) { return cmd_run(x->jobs, x->rt); }

/* The job --job names, or, without --job and with several jobs (`docker compose exec <svc>
 * backup-now` with several jobs or databases), all of them in turn; the exit code is the first
 * failure's. */
static int each_job(const ctx *x, const char *verb, int (*one)(sk_agent_job *, sk_runtime *, sk_log *))
{
    sk_err err;
    sk_err_clear(&err);
    if (!x->c->job && x->jobs->n > 1) {
        int code = 0;
        for (size_t i = 0; i < x->jobs->n; i++) {
            int rc = one(&x->jobs->v[i], x->rt, x->log);
            if (rc && !code)
                code = rc;
        }
        return code;
    }
    sk_agent_job *a = sk_jobs_pick(x->jobs, x->c->job, &err);
    if (!a)
        return fail(x->log, verb, &err);
    return one(a, x->rt, x->log);
}

static int run_backup_now(const ctx *x) { return each_job(x, "backup-now", backup_one); }
static int run_drill(const ctx *x) { return each_job(x, "drill", drill_one); }

static int run_dump(const ctx *x)
{
    sk_err err;
    sk_err_clear(&err);
    const cli *c = x->c;
    int fd = 1, code = 0;
    int to_file = c->output && strcmp(c->output, "-") != 0;
    if (to_file && (fd = open(c->output, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) < 0) {
        sk_fail(&err, SK_ERR_USAGE, errno, "-o '%s': %s (snapkeep does not overwrite files)", c->output,
                strerror(errno));
        return fail(x->log, "dump", &err);
    }
    sk_writer *w = sk_fd_writer_new(fd, to_file ? c->output : "standard output", &err);
    if (!w || sk_job_dump(x->a->job, w, &err) != SK_OK) {
        code = fail(x->log, "dump", &err);
        if (to_file)
            unlink(c->output); /* a partial dump must not look like a dump */
    } else {
        sk_log_msg(x->log, SK_LOG_INFO, "dump done: %llu bytes", (unsigned long long)w->bytes);
    }
    sk_writer_free_chain(w);
    if (to_file)
        close(fd);
    return code;
}

static int run_list(const ctx *x)
{
    sk_err err;
    sk_err_clear(&err);
    sk_backup_list l;
    if (sk_job_list(x->a->job, 1, &l, &err) != SK_OK)
        return fail(x->log, "list", &err);
    if (x->c->json)
        print_list_json(x->a->job, &l);
    else
        print_list_text(x->a->job, &l);
    sk_backup_list_free(&l);
    return 0;
}

static int run_restore(const ctx *x)
{
    sk_err err;
    sk_err_clear(&err);
    sk_restore_opts ro = { x->c->target, x->c->force };
    /* a URL target may carry a password: mask it (and its decoded forms) in every message */
    sk_log_add_credentials(x->log, x->c->target);
    char key[1024];
    if (sk_job_restore(x->a->job, x->c->pos[0], &ro, key, &err) != SK_OK)
        return fail(x->log, "restore", &err);
    sk_log_msg(x->log, SK_LOG_INFO, "restore done: %s -> %s", key, x->c->target);
    return 0;
}

static int run_verify(const ctx *x)
{
    sk_err err;
    sk_err_clear(&err);
    char key[1024], summary[512];
    if (sk_job_verify(x->a->job, x->c->pos[0], key, summary, &err) != SK_OK)
        return fail(x->log, "verify", &err);
    sk_log_msg(x->log, SK_LOG_INFO, "verify ok: %s: %s", key, summary);
    printf("ok %s: %s\n", key, summary);
    return 0;
}

static int run_prune(const ctx *x)
{
    sk_err err;
    sk_err_clear(&err);
    size_t deleted = 0;
    sk_agent_job *a = x->a;
    if (sk_runner_init(&a->runner, a->job, NULL, &err) != SK_OK ||
        sk_runner_prune(&a->runner, a->job, x->rt, x->c->dry_run, print_prune, (void *)x->c, &deleted, &err) != SK_OK)
        return fail(x->log, "prune", &err);
    sk_log_msg(x->log, SK_LOG_INFO, "prune done: %zu object(s) %s", deleted,
               x->c->dry_run ? "would go (dry run)" : "deleted");
    return 0;
}

typedef struct get_file {
    int fd;
    const char *name;
} get_file;

/* A sink for one copy of the backup: the temp file emptied (a copy tried before may have left
 * part of itself there). */
static sk_rc open_get_file(void *ud, sk_writer **out, sk_err *err)
{
    get_file *g = ud;
    if (ftruncate(g->fd, 0) != 0 || lseek(g->fd, 0, SEEK_SET) != 0)
        return sk_fail(err, SK_ERR_USAGE, errno, "-o '%s': %s", g->name, strerror(errno));
    *out = sk_fd_writer_new(g->fd, g->name, err);
    return *out ? SK_OK : err->rc;
}

/* get: the checked, decompressed artifact into a temp file beside FILE, then linked to FILE, which
 * link() never replaces; any failure leaves neither FILE nor the temp file. */
static int run_get(const ctx *x)
{
    sk_err err;
    sk_err_clear(&err);
    const char *out = x->c->output;
    char tmp[4200], key[1024];
    if (!strcmp(out, "-")) {
        sk_fail(&err, SK_ERR_USAGE, 0, "-o: get writes a file, not standard output (use `snapkeep dump` for a pipe)");
        return fail(x->log, "get", &err);
    }
    int exists = access(out, F_OK) == 0, e = errno;
    if (exists || e != ENOENT) {
        sk_fail(&err, SK_ERR_USAGE, exists ? 0 : e, "-o '%s': %s (snapkeep does not overwrite files; give a new file name)",
                out, exists ? "the file exists" : strerror(e));
        return fail(x->log, "get", &err);
    }
    const char *slash = strrchr(out, '/');
    int dl = slash ? (int)(slash - out + 1) : 0;
    int n = snprintf(tmp, sizeof tmp, "%.*s.snapkeep-get-XXXXXX", dl, out);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        sk_fail(&err, SK_ERR_USAGE, 0, "-o '%.60s...': the path is too long", out);
        return fail(x->log, "get", &err);
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        sk_fail(&err, SK_ERR_USAGE, errno, "-o '%s': cannot create a file in its directory: %s", out, strerror(errno));
        return fail(x->log, "get", &err);
    }
    fchmod(fd, 0640);
    int code = 0;
    get_file gf = { fd, out };
    if (sk_job_get_to(x->a->job, x->c->pos[0], open_get_file, &gf, key, &err) != SK_OK) {
        code = fail(x->log, "get", &err);
    } else if (link(tmp, out) != 0) {
        sk_fail(&err, errno == EEXIST ? SK_ERR_USAGE : SK_ERR_DEST, errno, "-o '%s': %s%s", out, strerror(errno),
                errno == EEXIST ? " (it appeared during the download; snapkeep does not overwrite files)" : "");
        code = fail(x->log, "get", &err);
    } else {
        struct stat st;
        if (fstat(fd, &st) == 0)
            sk_log_msg(x->log, SK_LOG_INFO, "get done: %s -> %s (%llu bytes, MD5 and SHA-256 checked)", key, out,
                       (unsigned long long)st.st_size);
    }
    unlink(tmp);
    close(fd);
    return code;
}

static int run_delete(const ctx *x)
{
    sk_err err;
    sk_err_clear(&err);
    char key[1024];
    if (!x->c->yes) {
        sk_log_msg(x->log, SK_LOG_ERROR, "delete removes the backup '%s' for good (data, .md5 and manifest): run it "
                   "again with --yes to confirm", x->c->pos[0]);
        return SK_ERR_USAGE;
    }
    sk_agent_job *a = x->a;
    if (sk_runner_init(&a->runner, a->job, NULL, &err) != SK_OK ||
        sk_runner_delete(&a->runner, a->job, x->rt, x->c->pos[0], key, &err) != SK_OK)
        return fail(x->log, "delete", &err);
    sk_log_msg(x->log, SK_LOG_INFO, "deleted %s (manifest, .md5 and data)", key);
    printf("deleted %s\n", key);
    return 0;
}

static const command commands[] = {
    { "backup-now", "", "one backup of the job now; progress on stderr. Waits for a\n"
      "running backup of the same job (scheduled or manual) to end.\n"
      "Also run as `backup-now` (the binary answers to that name).",
      0, "", NULL, 0, 0, NULL, SCOPE_ALL, run_backup_now },
    { "run", "", "the agent: back up on SNAPKEEP_SCHEDULE until SIGTERM", 0, "", NULL, 0, 0, NULL, SCOPE_ALL, run_run },
    { "dump", "[-o FILE|-]", "the engine's raw dump (no compression, nothing stored);\ndefault: standard output",
      0, "", NULL, OPT_OUTPUT, 0, NULL, SCOPE_ONE, run_dump },
    { "list", "[--json]", "complete backups of the job, newest first, with size, time\n"
      "and checksum state (ok, missing, mismatch, unreadable);\n"
      "legacy backups (data + .md5, no manifest) are marked",
      0, "", NULL, OPT_JSON, 0, NULL, SCOPE_ONE, run_list },
    { "restore", "<key|latest> --to TARGET [--force]",
      "download, check MD5, SHA-256 and the engine's integrity check,\n"
      "then put the database in place (sqlite: TARGET is a file path;\n"
      "an existing file is replaced only with --force)",
      1, "one backup: a key from `snapkeep list`, or latest", NULL, OPT_TO | OPT_FORCE, OPT_TO,
      "restore needs --to <target> (sqlite: the database file to write)", SCOPE_ONE, run_restore },
    { "verify", "<key|latest>", "download and check a backup without restoring it",
      1, "one backup: a key from `snapkeep list`, or latest", NULL, 0, 0, NULL, SCOPE_ONE, run_verify },
    { "get", "<key|latest> -o FILE", "download and check a backup (MD5, SHA-256) and write the engine's\n"
      "plain artifact to FILE (.sql, .db, .zip); never overwrites FILE",
      1, "one backup: a key from `snapkeep list`, or latest", NULL, OPT_OUTPUT, OPT_OUTPUT,
      "get needs -o FILE (a new file: snapkeep does not overwrite files)", SCOPE_ONE, run_get },
    { "delete", "<key> --yes", "delete one backup: manifest first (it is no longer listed),\n"
      "then .md5 and data; refused without --yes",
      1, "one backup: a key from `snapkeep list`", NULL, OPT_YES, 0, NULL, SCOPE_ONE, run_delete },
    { "drill", "", "restore drill: restore the newest good backup into a scratch\n"
      "target (a temp file, a scratch database), run the engine's checks,\n"
      "compare row/record counts with the manifest, remove the target;\n"
      "recorded for status, health and /metrics. Every job without --job",
      0, "", NULL, 0, 0, NULL, SCOPE_ALL, run_drill },
    { "prune", "[--dry-run]", "apply the retention settings now (also done after each backup)",
      0, "", NULL, OPT_DRY_RUN, 0, NULL, SCOPE_ONE, run_prune },
    { "health", "", "exit 0 while the last success is fresh (warns after\n"
      "SNAPKEEP_HEALTH_WARN_AFTER h), 1 after SNAPKEEP_HEALTH_FAIL_AFTER h;\n"
      "a failed or stale restore drill as SNAPKEEP_DRILL_HEALTH says",
      0, "", NULL, OPT_JSON, 0, NULL, SCOPE_ALL, run_health },
    { "status", "[--json]", "last attempt, success, failure and its reason, per job",
      0, "", NULL, OPT_JSON, 0, NULL, SCOPE_ALL, run_status },
    { "schedule", "'<cron>' [--from ISO-TIME] [--count N]", "print the next fire times of a cron line in TZ",
      1, "a cron expression in quotes, e.g. '0 0,6,12,18 * * *'", NULL, OPT_FROM | OPT_COUNT, 0, NULL, SCOPE_NONE,
      run_schedule },
    { "config", "check", "validate the configuration and print it, secrets masked",
      1, "'check'", "check", 0, 0, NULL, SCOPE_ALL, run_config },
    { "version", "", "print the version", 0, "", NULL, 0, 0, NULL, SCOPE_NONE, run_version },
    { "help", "", "this text", 0, "", NULL, 0, 0, NULL, SCOPE_NONE, run_help },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void print_help(FILE *out)
{
    fputs(usage_head, out);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const command *k = &commands[i];
        char head[128];
        snprintf(head, sizeof head, "%s%s%s", k->name, k->synopsis[0] ? " " : "", k->synopsis);
        /* a long synopsis gets the help on the next line, the rest of the help under it */
        fprintf(out, "  %-31s", head);
        if (strlen(head) > 31)
            fprintf(out, "\n  %-31s", "");
        for (const char *p = k->help; *p;) {
            size_t n = strcspn(p, "\n");
            fprintf(out, " %.*s\n", (int)n, p);
            p += n;
            if (*p == '\n' && *++p)
                fprintf(out, "  %-31s", "");
        }
    }
    fputs(usage_tail, out);
    fputs("\nvariables:\n", out);
    const sk_setting_def *const *tables = sk_all_settings();
    for (size_t t = 0; tables[t]; t++)
        for (const sk_setting_def *d = tables[t]; d->name; d++) {
            fprintf(out, "  %-30s %s", d->name, d->help);
            if (d->def && d->kind != SK_SET_ALIAS)
                fprintf(out, " [default: %s]", d->def);
            fputc('\n', out);
        }
    fputc('\n', out);
    fputs(exit_text, out);
}

static int run_help(const ctx *x)
{
    (void)x;
    print_help(stdout);
    return 0;
}

/* The command line against the table: arguments, options, required options. SK_ERR_USAGE with a
 * message naming what is wrong. */
static int validate(const command *k, const cli *c, sk_log *log)
{
    if (c->npos > k->nargs) {
        sk_log_msg(log, SK_LOG_ERROR, "%s: unexpected argument '%s' (see snapkeep --help)", k->name, c->pos[k->nargs]);
        return SK_ERR_USAGE;
    }
    if (c->npos < k->nargs) {
        sk_log_msg(log, SK_LOG_ERROR, "%s needs %s (see snapkeep --help)", k->name, k->args_what);
        return SK_ERR_USAGE;
    }
    if (k->word && strcmp(c->pos[0], k->word) != 0) {
        sk_log_msg(log, SK_LOG_ERROR, "usage: snapkeep %s %s", k->name, k->synopsis);
        return SK_ERR_USAGE;
    }
    for (size_t i = 0; i < sizeof opt_names / sizeof opt_names[0]; i++)
        if ((c->seen & opt_names[i].bit) && !(k->opts & opt_names[i].bit)) {
            sk_log_msg(log, SK_LOG_ERROR, "%s does not take %s (see snapkeep --help)", k->name, opt_names[i].name);
            return SK_ERR_USAGE;
        }
    if ((c->seen & k->required) != k->required) {
        sk_log_msg(log, SK_LOG_ERROR, "%s", k->required_why);
        return SK_ERR_USAGE;
    }
    return 0;
}

int main(int argc, char **argv)
{
    cli c;
    memset(&c, 0, sizeof c);
    sk_err err;
    sk_err_clear(&err);
    const char *lf = getenv("SNAPKEEP_LOG_FORMAT");
    sk_log *log = sk_log_new(stderr, lf && strcasecmp(lf, "json") == 0);
    sk_jobs j;
    memset(&j, 0, sizeof j);
    int code = 0;
    if (!log)
        return SK_ERR_INTERNAL;
    curl_global_init(CURL_GLOBAL_DEFAULT);

    const char *self = strrchr(argv[0], '/');
    self = self ? self + 1 : argv[0];
    int argi = 1;
    if (strcmp(self, "backup-now") == 0)
        c.command = "backup-now";
    else if (argc > 1 && argv[1][0] != '-') {
        c.command = argv[1];
        argi = 2;
    }
    if (parse_args(argc - argi + 1, argv + argi - 1, &c, log) != 0) {
        code = SK_ERR_USAGE;
        goto out;
    }
    if (!c.command) {
        print_help(stderr);
        code = SK_ERR_USAGE;
        goto out;
    }
    const command *k = NULL;
    for (size_t i = 0; i < NCOMMANDS && !k; i++)
        if (!strcmp(commands[i].name, c.command))
            k = &commands[i];
    if (!k) {
        sk_log_msg(log, SK_LOG_ERROR, "unknown command '%s' (see snapkeep --help)", c.command);
        code = SK_ERR_USAGE;
        goto out;
    }
    /* --help and --version stand for their commands whatever else the line holds */
    if (k->run != run_help && k->run != run_version && (code = validate(k, &c, log)) != 0)
        goto out;

    sk_signals_install();
    sk_runtime rt = {
        .log = log,
        .cancelled = sk_signals_cancelled,
        .now_ms = clock_ms,
    };
    ctx x = { &c, log, &rt, &j, NULL };
    if (k->scope != SCOPE_NONE) {
        if (sk_jobs_load(&j, &rt, environ, &err) != SK_OK) {
            code = fail(log, "configuration", &err);
            goto out;
        }
        const sk_config *cfg0 = sk_job_config(j.v[0].job);
        sk_log_set_json(log, strcmp(sk_config_str(cfg0, "SNAPKEEP_LOG_FORMAT"), "json") == 0);
        static const char *levels[] = { "debug", "info", "warn", "error" };
        for (int i = 0; i < 4; i++)
            if (!strcmp(sk_config_str(cfg0, "SNAPKEEP_LOG_LEVEL"), levels[i]))
                sk_log_set_level(log, (sk_level)i);
    }
    if (k->scope == SCOPE_ONE) {
        if (!(x.a = sk_jobs_pick(&j, c.job, &err))) {
            code = fail(log, k->name, &err);
            goto out;
        }
        sk_log_set_job(log, sk_job_name(x.a->job));
    }
    code = k->run(&x);
out:
    if (code == 0 && fflush(stdout) != 0) {
        sk_log_msg(log, SK_LOG_ERROR, "cannot write to standard output: %s", strerror(errno));
        code = SK_ERR_DEST;
    }
    sk_jobs_free(&j);
    curl_global_cleanup();
    sk_log_free(log);
    return code;
}
