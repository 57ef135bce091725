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
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libxml/parser.h>

#include "agent.h"
#include "config.h"
#include "config_file.h"
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

static const char usage_text[] =
    "usage: snapkeep <command> [options]\n"
    "\n"
    "snapkeep takes consistent, zstd-compressed, checksummed backups of a database and stores them\n"
    "in a destination, each with an md5sum-format .md5 sidecar and a JSON manifest.\n"
    "\n"
    "commands:\n"
    "  backup-now                      one backup of the job now; progress on stderr. Waits for a\n"
    "                                  running backup of the same job (scheduled or manual) to end.\n"
    "                                  Also run as `backup-now` (the binary answers to that name).\n"
    "  run                             the agent: back up on SNAPKEEP_SCHEDULE until SIGTERM\n"
    "  dump [-o FILE|-]                the engine's raw dump (no compression, nothing stored);\n"
    "                                  default: standard output\n"
    "  list [--json]                   complete backups of the job, newest first, with size, time\n"
    "                                  and checksum state (ok, missing, mismatch, unreadable);\n"
    "                                  legacy backups (data + .md5, no manifest) are marked\n"
    "  restore <key|latest> --to TARGET [--force]\n"
    "                                  download, check MD5, SHA-256 and the engine's integrity check,\n"
    "                                  then put the database in place (sqlite: TARGET is a file path;\n"
    "                                  an existing file is replaced only with --force)\n"
    "  verify <key|latest>             download and check a backup without restoring it\n"
    "  prune [--dry-run]               apply the retention settings now (also done after each backup)\n"
    "  health                          exit 0 while the last success is fresh (warns after\n"
    "                                  SNAPKEEP_HEALTH_WARN_AFTER h), 1 after SNAPKEEP_HEALTH_FAIL_AFTER h\n"
    "  status [--json]                 last attempt, success, failure and its reason, per job\n"
    "  schedule '<cron>' [--from ISO-TIME] [--count N]\n"
    "                                  print the next fire times of a cron line in TZ\n"
    "  config check                    validate the configuration and print it, secrets masked\n"
    "  version                         print the version\n"
    "  help                            this text\n"
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
    "  130 interrupted by SIGINT/SIGTERM (nothing partial left)\n";

static void print_help(FILE *out)
{
    fputs(usage_text, out);
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

static int64_t clock_ms(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- command line ----------------------------------------------------------------------- */

typedef struct cli {
    const char *command;
    const char *output;   /* dump -o */
    const char *target;   /* restore --to */
    const char *job;      /* --job */
    const char *from;     /* schedule --from */
    long count;           /* schedule --count */
    int json, force, dry_run;
    char **pos;           /* positional words after the command */
    int npos;
} cli;

static int parse_args(int argc, char **argv, cli *c, sk_log *log)
{
    static const struct option opts[] = {
        { "output", required_argument, NULL, 'o' }, { "to", required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },         { "force", no_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },         { "version", no_argument, NULL, 'V' },
        { "job", required_argument, NULL, 'J' },    { "dry-run", no_argument, NULL, 'n' },
        { "from", required_argument, NULL, 'F' },   { "count", required_argument, NULL, 'c' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    opterr = 0;
    c->count = 10;
    while ((ch = getopt_long(argc, argv, "o:t:jfhVJ:nF:c:", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': c->output = optarg; break;
        case 't': c->target = optarg; break;
        case 'j': c->json = 1; break;
        case 'f': c->force = 1; break;
        case 'J': c->job = optarg; break;
        case 'n': c->dry_run = 1; break;
        case 'F': c->from = optarg; break;
        case 'c': {
            char *end;
            c->count = strtol(optarg, &end, 10);
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

/* Positional arguments each command takes: exactly `n`, described by `what`. */
static int want_args(const cli *c, int n, const char *what, sk_log *log)
{
    if (c->npos == n)
        return 0;
    if (c->npos > n)
        sk_log_msg(log, SK_LOG_ERROR, "%s: unexpected argument '%s' (see snapkeep --help)", c->command, c->pos[n]);
    else
        sk_log_msg(log, SK_LOG_ERROR, "%s needs %s (see snapkeep --help)", c->command, what);
    return -1;
}

/* ---- commands --------------------------------------------------------------------------- */

static int fail(sk_log *log, const char *what, const sk_err *err)
{
    sk_log_msg(log, SK_LOG_ERROR, "%s failed (%s, exit %d): %s", what, sk_rc_name(err->rc), (int)err->rc, err->msg);
    return (int)err->rc;
}

static void print_list_text(const sk_backup_list *l)
{
    printf("%-72s %12s  %-20s  %s\n", "KEY", "SIZE", "TIME (UTC)", "CHECKSUM");
    for (size_t i = 0; i < l->n; i++) {
        char size[32], when[32];
        sk_fmt_bytes(l->v[i].size, size, sizeof size);
        sk_iso8601(l->v[i].ts, when, sizeof when);
        printf("%-72s %12s  %-20s  %s%s\n", l->v[i].key, size, when, l->v[i].checksum,
               l->v[i].legacy ? "  (legacy: no manifest, checked by its .md5 only)" : "");
    }
}

static void print_list_json(const sk_backup_list *l)
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
    if (want_args(c, 1, "a cron expression in quotes, e.g. '0 0,6,12,18 * * *'", log))
        return SK_ERR_USAGE;
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
            json_object_set_new(o, "health", json_string(h == SK_HEALTH_OK ? "ok" : h == SK_HEALTH_WARN ? "warn" : "fail"));
            json_object_set_new(o, "health_reason", json_string(why));
            json_array_append_new(arr, o);
        } else if (health) {
            printf("%s %s: %s\n", h == SK_HEALTH_OK ? "ok" : h == SK_HEALTH_WARN ? "warn" : "fail", sk_job_name(j->v[i].job),
                   why);
        } else {
            print_status_line(sk_job_name(j->v[i].job), &st, h, why);
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
        sk_log_msg(log, SK_LOG_INFO, "backup done: %s (%s, %s stored) in %.2f s", res.key, plain, stored, res.seconds);
    }
    sk_notifier_free(notifier, 15);
    return code;
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
    xmlInitParser(); /* before upload threads may parse S3 replies concurrently */

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
    const char *cmd = c.command;
    if (!strcmp(cmd, "help")) {
        print_help(stdout);
        goto out;
    }
    if (!strcmp(cmd, "version")) {
        printf("snapkeep %s\n", SK_VERSION);
        goto out;
    }
    if (!strcmp(cmd, "schedule")) {
        code = cmd_schedule(&c, log);
        goto out;
    }
    static const char *const known[] = { "backup-now", "run", "dump", "list", "restore", "verify", "prune",
                                         "health", "status", "config", NULL };
    int k;
    for (k = 0; known[k] && strcmp(known[k], cmd); k++)
        ;
    if (!known[k]) {
        sk_log_msg(log, SK_LOG_ERROR, "unknown command '%s' (see snapkeep --help)", cmd);
        code = SK_ERR_USAGE;
        goto out;
    }
    int args_ok = !strcmp(cmd, "restore") || !strcmp(cmd, "verify") ? !want_args(&c, 1, "one backup: a key from "
                                                                                  "`snapkeep list`, or latest", log)
                  : !strcmp(cmd, "config") ? !want_args(&c, 1, "'check'", log)
                                           : !want_args(&c, 0, "", log);
    if (!args_ok || (!strcmp(cmd, "config") && strcmp(c.pos[0], "check"))) {
        if (args_ok)
            sk_log_msg(log, SK_LOG_ERROR, "usage: snapkeep config check");
        code = SK_ERR_USAGE;
        goto out;
    }
    if (!strcmp(cmd, "restore") && !c.target) {
        sk_log_msg(log, SK_LOG_ERROR, "restore needs --to <target> (sqlite: the database file to write)");
        code = SK_ERR_USAGE;
        goto out;
    }

    sk_signals_install();
    sk_runtime rt = {
        .log = log,
        .cancelled = sk_signals_cancelled,
        .now_ms = clock_ms,
    };
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

    if (!strcmp(cmd, "config")) {
        code = cmd_config_check(&j, &rt);
        goto out;
    }
    if (!strcmp(cmd, "health") || !strcmp(cmd, "status")) {
        code = cmd_health_status(&j, &c, &rt, !strcmp(cmd, "health"));
        goto out;
    }
    if (!strcmp(cmd, "run")) {
        code = cmd_run(&j, &rt);
        goto out;
    }

    if (!strcmp(cmd, "backup-now") && !c.job && j.n > 1) {
        /* `docker compose exec <svc> backup-now` with several jobs (or databases): all of them, in
         * turn; the exit code is the first failure's */
        for (size_t i = 0; i < j.n; i++) {
            int rc = backup_one(&j.v[i], &rt, log);
            if (rc && !code)
                code = rc;
        }
        goto out;
    }
    sk_agent_job *a = sk_jobs_pick(&j, c.job, &err);
    if (!a) {
        code = fail(log, cmd, &err);
        goto out;
    }
    sk_log_set_job(log, sk_job_name(a->job));
    if (!strcmp(cmd, "backup-now")) {
        code = backup_one(a, &rt, log);
    } else if (!strcmp(cmd, "dump")) {
        int fd = 1;
        int to_file = c.output && strcmp(c.output, "-") != 0;
        if (to_file && (fd = open(c.output, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) < 0) {
            sk_fail(&err, SK_ERR_USAGE, errno, "-o '%s': %s (snapkeep does not overwrite files)", c.output,
                    strerror(errno));
            code = fail(log, "dump", &err);
            goto out;
        }
        sk_writer *w = sk_fd_writer_new(fd, to_file ? c.output : "standard output", &err);
        if (!w || sk_job_dump(a->job, w, &err) != SK_OK) {
            code = fail(log, "dump", &err);
            if (to_file)
                unlink(c.output); /* a partial dump must not look like a dump */
        } else {
            sk_log_msg(log, SK_LOG_INFO, "dump done: %llu bytes", (unsigned long long)w->bytes);
        }
        sk_writer_free_chain(w);
        if (to_file)
            close(fd);
    } else if (!strcmp(cmd, "list")) {
        sk_backup_list l;
        if (sk_job_list(a->job, 1, &l, &err) != SK_OK) {
            code = fail(log, "list", &err);
        } else {
            if (c.json)
                print_list_json(&l);
            else
                print_list_text(&l);
            sk_backup_list_free(&l);
        }
    } else if (!strcmp(cmd, "restore")) {
        sk_restore_opts ro = { c.target, c.force };
        /* a URL target may carry a password: mask it (and its decoded forms) in every message */
        sk_log_add_credentials(log, c.target);
        char key[1024];
        if (sk_job_restore(a->job, c.pos[0], &ro, key, &err) != SK_OK)
            code = fail(log, "restore", &err);
        else
            sk_log_msg(log, SK_LOG_INFO, "restore done: %s -> %s", key, c.target);
    } else if (!strcmp(cmd, "verify")) {
        char key[1024], summary[512];
        if (sk_job_verify(a->job, c.pos[0], key, summary, &err) != SK_OK) {
            code = fail(log, "verify", &err);
        } else {
            sk_log_msg(log, SK_LOG_INFO, "verify ok: %s: %s", key, summary);
            printf("ok %s: %s\n", key, summary);
        }
    } else if (!strcmp(cmd, "prune")) {
        size_t deleted = 0;
        if (sk_runner_init(&a->runner, a->job, NULL, &err) != SK_OK ||
            sk_runner_prune(&a->runner, a->job, &rt, c.dry_run, print_prune, &c, &deleted, &err) != SK_OK)
            code = fail(log, "prune", &err);
        else
            sk_log_msg(log, SK_LOG_INFO, "prune done: %zu object(s) %s", deleted, c.dry_run ? "would go (dry run)" : "deleted");
    }
out:
    if (code == 0 && fflush(stdout) != 0) {
        sk_log_msg(log, SK_LOG_ERROR, "cannot write to standard output: %s", strerror(errno));
        code = SK_ERR_DEST;
    }
    sk_jobs_free(&j);
    curl_global_cleanup();
    xmlCleanupParser();
    sk_log_free(log);
    return code;
}
