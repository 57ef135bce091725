/*
 * main.c: the command line. Parses arguments, loads the configuration, runs one command, and maps
 * its outcome to the documented exit code (the sk_rc value).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "job.h"
#include "log.h"
#include "naming.h"
#include "registry.h"
#include "runtime.h"
#include "signals.h"
#include "version.h"

extern char **environ;

static const char usage_text[] =
    "usage: snapkeep <command> [options]\n"
    "\n"
    "snapkeep takes consistent, zstd-compressed, checksummed backups of a database and stores them\n"
    "in a destination, each with an md5sum-format .md5 sidecar and a JSON manifest.\n"
    "\n"
    "commands:\n"
    "  backup-now                      one backup of the configured job; progress on stderr.\n"
    "                                  Also run as `backup-now` (the binary answers to that name).\n"
    "  dump [-o FILE|-]                the engine's raw dump (no compression, nothing stored);\n"
    "                                  default: standard output\n"
    "  list [--json]                   complete backups of this job, newest first, with size, time\n"
    "                                  and checksum state (ok, missing, mismatch, unreadable)\n"
    "  restore <key|latest> --to TARGET [--force]\n"
    "                                  download, check MD5, SHA-256 and the engine's integrity check,\n"
    "                                  then put the database in place (sqlite: TARGET is a file path;\n"
    "                                  an existing file is replaced only with --force)\n"
    "  verify <key|latest>             download and check a backup without restoring it\n"
    "  config check                    validate the configuration and print it, secrets masked\n"
    "  version                         print the version\n"
    "  help                            this text\n"
    "\n"
    "Configuration comes from environment variables; any variable X may instead be given as X_FILE,\n"
    "the path of a file holding the value (Docker secrets). Unknown SNAPKEEP_* variables are errors.\n";

static const char exit_text[] =
    "exit codes:\n"
    "  0 success (for backup-now: data, .md5 and manifest all stored)\n"
    "  1 internal error   2 usage error   3 configuration error   4 source (database) error\n"
    "  5 destination error   6 integrity error (checksum, size, corrupt data, integrity_check)\n"
    "  7 backup not found   8 busy (locked)   130 interrupted by SIGINT/SIGTERM (nothing partial left)\n";

static void print_help(FILE *out)
{
    fputs(usage_text, out);
    fputs("\nvariables:\n", out);
    const sk_setting_def *const *tables = sk_all_settings();
    for (size_t t = 0; tables[t]; t++)
        for (const sk_setting_def *d = tables[t]; d->name; d++) {
            fprintf(out, "  %-30s %s", d->name, d->help);
            if (d->def)
                fprintf(out, " [default: %s]", d->def);
            fputc('\n', out);
        }
    fputc('\n', out);
    fputs(exit_text, out);
}

static const char *env_get(void *ud, const char *name)
{
    (void)ud;
    return getenv(name);
}

static int64_t clock_ms(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void add_secret(void *ud, const char *value) { sk_log_add_secret(ud, value); }

/* Report a failure and return its exit code. */
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
        printf("%-72s %12s  %-20s  %s\n", l->v[i].key, size, when, l->v[i].checksum);
    }
}

static int print_list_json(const sk_backup_list *l)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < l->n; i++) {
        const sk_backup_entry *e = &l->v[i];
        char when[32];
        sk_iso8601(e->ts, when, sizeof when);
        json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "key", e->key, "time", when, "size", (json_int_t)e->size,
                              "checksum", e->checksum);
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
    if (!text)
        return -1;
    puts(text);
    free(text);
    return 0;
}

typedef struct cli {
    const char *command;
    const char *output;   /* dump -o */
    const char *target;   /* restore --to */
    const char *name;     /* restore/verify <key|latest> */
    const char *sub;      /* config <sub> */
    int json, force;
} cli;

static int parse_args(int argc, char **argv, cli *c, sk_log *log)
{
    static const struct option opts[] = {
        { "output", required_argument, NULL, 'o' }, { "to", required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },         { "force", no_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },         { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "o:t:jfhV", opts, NULL)) != -1) {
        switch (ch) {
        case 'o': c->output = optarg; break;
        case 't': c->target = optarg; break;
        case 'j': c->json = 1; break;
        case 'f': c->force = 1; break;
        case 'h': c->command = "help"; return 0;
        case 'V': c->command = "version"; return 0;
        default:
            sk_log_msg(log, SK_LOG_ERROR, "unknown or incomplete option '%s' (see snapkeep --help)", argv[optind - 1]);
            return -1;
        }
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
    sk_log *log = sk_log_new(stderr, lf && strcmp(lf, "json") == 0);
    sk_config *cfg = NULL;
    sk_job *job = NULL;
    int code = 0;
    if (!log)
        return SK_ERR_INTERNAL;

    const char *self = strrchr(argv[0], '/');
    self = self ? self + 1 : argv[0];
    int argi = 1;
    if (strcmp(self, "backup-now") == 0) {
        c.command = "backup-now";
    } else if (argc > 1 && argv[1][0] != '-') {
        c.command = argv[1];
        argi = 2;
    }
    /* getopt over the rest; positional words are collected afterwards */
    char **rest = argv + argi - 1;
    int nrest = argc - argi + 1;
    if (parse_args(nrest, rest, &c, log) != 0) {
        code = SK_ERR_USAGE;
        goto out;
    }
    if (!c.command) {
        print_help(stderr);
        code = SK_ERR_USAGE;
        goto out;
    }
    int npos = nrest - optind;
    char **pos = rest + optind;

    if (strcmp(c.command, "help") == 0) {
        print_help(stdout);
        goto out;
    }
    if (strcmp(c.command, "version") == 0) {
        printf("snapkeep %s\n", SK_VERSION);
        goto out;
    }
    int known = !strcmp(c.command, "backup-now") || !strcmp(c.command, "dump") || !strcmp(c.command, "list") ||
                !strcmp(c.command, "restore") || !strcmp(c.command, "verify") || !strcmp(c.command, "config");
    if (!known) {
        sk_log_msg(log, SK_LOG_ERROR, "unknown command '%s' (see snapkeep --help)", c.command);
        code = SK_ERR_USAGE;
        goto out;
    }
    if (!strcmp(c.command, "restore") || !strcmp(c.command, "verify")) {
        if (npos != 1) {
            sk_log_msg(log, SK_LOG_ERROR, "%s needs exactly one backup: a key from `snapkeep list`, or latest",
                       c.command);
            code = SK_ERR_USAGE;
            goto out;
        }
        c.name = pos[0];
        if (!strcmp(c.command, "restore") && !c.target) {
            sk_log_msg(log, SK_LOG_ERROR, "restore needs --to <target> (sqlite: the database file to write)");
            code = SK_ERR_USAGE;
            goto out;
        }
    } else if (!strcmp(c.command, "config")) {
        if (npos != 1 || strcmp(pos[0], "check") != 0) {
            sk_log_msg(log, SK_LOG_ERROR, "usage: snapkeep config check");
            code = SK_ERR_USAGE;
            goto out;
        }
    } else if (npos != 0) {
        sk_log_msg(log, SK_LOG_ERROR, "%s takes no argument '%s' (see snapkeep --help)", c.command, pos[0]);
        code = SK_ERR_USAGE;
        goto out;
    }

    cfg = sk_config_load(sk_all_settings(), env_get, NULL, environ, &err);
    if (!cfg) {
        code = fail(log, "configuration", &err);
        goto out;
    }
    sk_config_each_secret(cfg, add_secret, log);
    sk_log_set_json(log, strcmp(sk_config_str(cfg, "SNAPKEEP_LOG_FORMAT"), "json") == 0);
    static const char *levels[] = { "debug", "info", "warn", "error" };
    for (int i = 0; i < 4; i++)
        if (!strcmp(sk_config_str(cfg, "SNAPKEEP_LOG_LEVEL"), levels[i]))
            sk_log_set_level(log, (sk_level)i);

    sk_signals_install();
    sk_runtime rt = {
        .log = log,
        .cancelled = sk_signals_cancelled,
        .now_ms = clock_ms,
        .spool_dir = sk_config_str(cfg, "SNAPKEEP_SPOOL_DIR"),
    };
    if (sk_job_open(cfg, &rt, &job, &err) != SK_OK) {
        code = fail(log, "configuration", &err);
        goto out;
    }
    sk_log_set_job(log, sk_job_name(job));

    if (!strcmp(c.command, "config")) {
        sk_config_print(cfg, stdout);
        printf("# configuration ok: job %s\n", sk_job_name(job));
    } else if (!strcmp(c.command, "backup-now")) {
        sk_backup_result res;
        if (sk_job_backup(job, &res, &err) != SK_OK) {
            code = fail(log, "backup", &err);
        } else {
            char plain[32], stored[32];
            sk_fmt_bytes(res.plain_size, plain, sizeof plain);
            sk_fmt_bytes(res.stored_size, stored, sizeof stored);
            sk_log_msg(log, SK_LOG_INFO, "backup done: %s (%s, %s stored) in %.2f s", res.key, plain, stored,
                       res.seconds);
        }
    } else if (!strcmp(c.command, "dump")) {
        int fd = 1;
        int to_file = c.output && strcmp(c.output, "-") != 0;
        if (to_file && (fd = open(c.output, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) < 0) {
            sk_fail(&err, SK_ERR_USAGE, errno, "-o '%s': %s (snapkeep does not overwrite files)", c.output,
                    strerror(errno));
            code = fail(log, "dump", &err);
            goto out;
        }
        sk_writer *w = sk_fd_writer_new(fd, to_file ? c.output : "standard output", &err);
        if (!w || sk_job_dump(job, w, &err) != SK_OK) {
            code = fail(log, "dump", &err);
            if (to_file)
                unlink(c.output); /* a partial dump must not look like a dump */
        } else {
            sk_log_msg(log, SK_LOG_INFO, "dump done: %llu bytes", (unsigned long long)w->bytes);
        }
        sk_writer_free_chain(w);
        if (to_file)
            close(fd);
    } else if (!strcmp(c.command, "list")) {
        sk_backup_list l;
        if (sk_job_list(job, 1, &l, &err) != SK_OK) {
            code = fail(log, "list", &err);
        } else {
            if (c.json)
                print_list_json(&l);
            else
                print_list_text(&l);
            sk_backup_list_free(&l);
        }
    } else if (!strcmp(c.command, "restore")) {
        sk_restore_opts ro = { c.target, c.force };
        char key[1024];
        if (sk_job_restore(job, c.name, &ro, key, &err) != SK_OK)
            code = fail(log, "restore", &err);
        else
            sk_log_msg(log, SK_LOG_INFO, "restore done: %s -> %s", key, c.target);
    } else if (!strcmp(c.command, "verify")) {
        char key[1024], summary[512];
        if (sk_job_verify(job, c.name, key, summary, &err) != SK_OK) {
            code = fail(log, "verify", &err);
        } else {
            sk_log_msg(log, SK_LOG_INFO, "verify ok: %s: %s", key, summary);
            printf("ok %s: %s\n", key, summary);
        }
    }
out:
    if (code == 0 && fflush(stdout) != 0) {
        sk_log_msg(log, SK_LOG_ERROR, "cannot write to standard output: %s", strerror(errno));
        code = SK_ERR_DEST;
    }
    sk_job_close(job);
    sk_config_free(cfg);
    sk_log_free(log);
    return code;
}
