#include "config.h"
#include "redact.h"
#include "registry.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

/* The core's settings. Engines and destinations declare their own tables next to their code. */
const sk_setting_def sk_core_settings[] = {
    { "SNAPKEEP_ENGINE", SK_SET_NAME, NULL, 0, 0, NULL, 0,
      "database engine of the job: sqlite, postgres or pocketbase" },
    { "SNAPKEEP_SERVICE", SK_SET_NAME, "default", 0, 0, NULL, 0, "service name, the 2nd part of the key" },
    { "SNAPKEEP_ENVIRONMENT", SK_SET_NAME, "default", 0, 0, NULL, 0,
      "environment name (production, staging...), the 3rd part of the key" },
    { "SNAPKEEP_PREFIX", SK_SET_PREFIX, "snapshots", 0, 0, NULL, 0,
      "key prefix, the 1st part of the key ('' for none)" },
    { "SNAPKEEP_DB_NAME", SK_SET_NAME, NULL, 0, 0, NULL, 0,
      "the <db> part of the key (default: from the engine, e.g. the SQLite file name)" },
    { "SNAPKEEP_DESTINATION", SK_SET_ENUM, NULL, 0, 0, "local|s3", 0,
      "use only destinations of this type (default: every configured one: SNAPKEEP_DEST_DIR, S3_BUCKET, S3_2_BUCKET...)" },
    { "SNAPKEEP_DEST_REQUIRED", SK_SET_INT, "all", 1, 8, "all", 0,
      "copies that must land for a backup to succeed when a job has several destinations: all, or a number" },
    { "SNAPKEEP_COMPRESSION_LEVEL", SK_SET_INT, "3", 1, 22, NULL, 0,
      "zstd level 1..22 (default 3; 1 for pocketbase, whose zip is already compressed)" },
    { "SNAPKEEP_COMPRESSION_THREADS", SK_SET_INT, "auto", 0, 64, "auto", 0,
      "zstd worker threads: 0 compresses in the main thread, auto = number of CPUs (at most 8)" },
    { "SNAPKEEP_PROGRESS_INTERVAL", SK_SET_INT, "10", 0, 86400, NULL, 0,
      "seconds between progress lines of a backup or restore (bytes, rate, table, percent); 0: none" },
    { "SNAPKEEP_SPOOL_DIR", SK_SET_PATH, "/tmp", 0, 0, NULL, 0,
      "scratch directory for SQLite snapshot copies and verify staging" },
    { "SNAPKEEP_LOG_FORMAT", SK_SET_ENUM, "text", 0, 0, "text|json", 0, "log lines on stderr: text or json" },
    { "SNAPKEEP_LOG_LEVEL", SK_SET_ENUM, "info", 0, 0, "debug|info|warn|error", 0, "least severe level logged" },
    { "SNAPKEEP_CONFIG", SK_SET_PATH, NULL, 0, 0, NULL, 0,
      "a libconfig file listing several jobs (then the other variables are defaults for every job)" },
    { "SNAPKEEP_STATE_DIR", SK_SET_PATH, NULL, 0, 0, NULL, 0,
      "where job locks and status files live [default: /var/lib/snapkeep if writable, else ~/.local/state/snapkeep]" },
    { "SNAPKEEP_LOCK_WAIT", SK_SET_INT, "3600", 0, 86400, NULL, 0,
      "seconds a backup waits for a running backup of the same job before failing with exit 8" },
    { "SNAPKEEP_RETRY_WINDOW", SK_SET_INT, "300", 0, 86400, NULL, 0,
      "seconds a backup keeps retrying, with backoff, while its source is unreachable or restarting (0: no retry)" },
    { "SNAPKEEP_RETENTION_DAYS", SK_SET_INT, "0", 0, 36500, NULL, 0,
      "after each successful backup, delete this job's backups older than this many days (0: keep all)" },
    { "SNAPKEEP_KEEP_MIN", SK_SET_INT, "7", 1, 100000, NULL, 0,
      "retention always keeps at least this many newest backups" },
    { "SNAPKEEP_KEEP_DAILY", SK_SET_INT, "0", 0, 100000, NULL, 0, "also keep the newest backup of each of the last N days" },
    { "SNAPKEEP_KEEP_WEEKLY", SK_SET_INT, "0", 0, 100000, NULL, 0, "also keep the newest backup of each of the last N ISO weeks" },
    { "SNAPKEEP_KEEP_MONTHLY", SK_SET_INT, "0", 0, 100000, NULL, 0, "also keep the newest backup of each of the last N months" },
    { "SNAPKEEP_GUARD", SK_SET_BOOL, "true", 0, 0, NULL, 0,
      "compare each new backup with the previous good one and mark it suspect when it is empty, lost a "
      "table, emptied a table, or shrank by more than SNAPKEEP_GUARD_MAX_DROP" },
    { "SNAPKEEP_GUARD_MAX_DROP", SK_SET_INT, "50", 0, 100, NULL, 0,
      "percent by which the plaintext size or the total row count may drop before a backup is suspect (0: no drop check)" },
    { "SNAPKEEP_GUARD_FAIL", SK_SET_BOOL, "false", 0, 0, NULL, 0,
      "a suspect backup is stored and marked, and the run fails with exit 9 (default: it succeeds with a warning)" },
    { "SNAPKEEP_WEBHOOK_URL", SK_SET_URL, NULL, 0, 0, NULL, 1, "POST a JSON body here on start, success, failure and suspect" },
    { "SNAPKEEP_WEBHOOK_START_URL", SK_SET_URL, NULL, 0, 0, NULL, 1, "POST here when a backup starts" },
    { "SNAPKEEP_WEBHOOK_SUCCESS_URL", SK_SET_URL, NULL, 0, 0, NULL, 1, "POST here when a backup succeeds" },
    { "SNAPKEEP_WEBHOOK_FAILURE_URL", SK_SET_URL, NULL, 0, 0, NULL, 1, "POST here when a backup fails" },
    { "SNAPKEEP_HEALTH_WARN_AFTER", SK_SET_INT, "36", 1, 87600, NULL, 0,
      "hours since the last success after which `snapkeep health` warns (still exit 0)" },
    { "SNAPKEEP_HEALTH_FAIL_AFTER", SK_SET_INT, "48", 1, 87600, NULL, 0,
      "hours since the last success after which `snapkeep health` fails (exit 1); at least WARN_AFTER" },
    { "SNAPKEEP_SCHEDULE", SK_SET_STRING, NULL, 0, 0, NULL, 0,
      "when `snapkeep run` backs up: 5-field cron or @daily/@hourly/..., evaluated in TZ (default UTC)" },
    { "SNAPKEEP_RUN_AT_START", SK_SET_BOOL, "false", 0, 0, NULL, 0, "`snapkeep run` also backs up once at start" },
    { "SNAPKEEP_JITTER", SK_SET_INT, "0", 0, 86400, NULL, 0,
      "`snapkeep run` delays each scheduled backup by a random 0..N seconds" },
    { "SNAPKEEP_STOP_GRACE", SK_SET_INT, "8", 0, 86400, NULL, 0,
      "on SIGTERM, seconds a running backup may take to finish before it is aborted cleanly" },
    { "SNAPKEEP_HTTP_LISTEN", SK_SET_LISTEN, NULL, 0, 0, NULL, 0,
      "`snapkeep run` serves /healthz and /metrics on this address (e.g. 0.0.0.0:9090)" },
    { "SNAPKEEP_IGNORE_VARS", SK_SET_STRING, NULL, 0, 0, NULL, 0,
      "comma-separated variables of snapkeep's prefixes (S3_, R2_, POCKETBASE_, SNAPKEEP_) that belong to "
      "something else and must not be reported as unknown" },
    { "SNAPKEEP_DEBUG_PAUSE_AT", SK_SET_ENUM, NULL, 0, 0, "after-snapshot|after-data|after-md5", 0,
      "testing aid: stop the process (SIGSTOP) at this point of a backup" },
    { NULL, 0, NULL, 0, 0, NULL, 0, NULL },
};

typedef struct entry {
    const sk_setting_def *def;
    char *value;          /* NULL when unset and no default */
    const char *origin;
} entry;

struct sk_config {
    entry *e;
    size_t n;
};

static const entry *find(const sk_config *cfg, const char *name)
{
    for (size_t i = 0; cfg && i < cfg->n; i++)
        if (strcmp(cfg->e[i].def->name, name) == 0)
            return &cfg->e[i];
    return NULL;
}

/* The declared spelling of v among choices ("JSON" -> "json"), as a new string; NULL if none. */
static char *canonical_choice(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncasecmp(p, v, n) == 0)
            return strndup(p, len);
        p = bar ? bar + 1 : p + len;
    }
    return NULL;
}

static int in_choices(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncasecmp(p, v, n) == 0)
            return 1;
        p = bar ? bar + 1 : p + len;
    }
    return 0;
}

static int name_ok(const char *s, size_t n)
{
    if (n == 0 || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

/* Quote a value for a message, or hide it when secret. */
static const char *shown(const sk_setting_def *d, const char *v)
{
    return d->secret ? "(hidden: secret)" : v;
}

/* host:port, [v6]:port or :port with a port 1..65535 (no wrap-around: 99999 is refused). */
static int listen_ok(const char *v)
{
    const char *colon = strrchr(v, ':');
    if (!colon)
        return 0;
    size_t hl = (size_t)(colon - v);
    if (hl > 0 && v[0] == '[') {
        if (hl < 3 || v[hl - 1] != ']')
            return 0;
    } else if (memchr(v, ':', hl)) {
        return 0; /* an IPv6 address needs brackets */
    }
    for (size_t i = 0; i < hl; i++)
        if (isspace((unsigned char)v[i]) || iscntrl((unsigned char)v[i]))
            return 0;
    const char *p = colon + 1;
    if (!isdigit((unsigned char)*p) || strlen(p) > 5)
        return 0;
    char *end;
    long port = strtol(p, &end, 10);
    return !*end && port >= 1 && port <= 65535;
}

/* An absolute http(s) URL with a host, as libcurl parses it (the library that will send to it). */
static int url_ok(const char *v)
{
    size_t scheme = strncasecmp(v, "http://", 7) == 0 ? 7 : strncasecmp(v, "https://", 8) == 0 ? 8 : 0;
    if (!scheme || v[scheme] == '/') /* libcurl would read https:///x as host x */
        return 0;
    for (const char *p = v; *p; p++)
        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
            return 0;
    CURLU *u = curl_url();
    char *host = NULL;
    int ok = u && curl_url_set(u, CURLUPART_URL, v, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && *host;
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

sk_rc sk_setting_check(const sk_setting_def *d, const char *v, sk_err *err)
{
    switch (d->kind) {
    case SK_SET_ALIAS:
        return SK_OK; /* checked as its target when resolved */
    case SK_SET_LISTEN:
        if (!listen_ok(v))
            return sk_fail(err, SK_ERR_CONFIG, 0,
                           "%s='%s' is invalid: accepted host:port, [ipv6]:port or :port with a port 1..65535 "
                           "(e.g. 0.0.0.0:9090)", d->name, shown(d, v));
        return SK_OK;
    case SK_SET_URL:
        if (!url_ok(v))
            return sk_fail(err, SK_ERR_CONFIG, 0, "%s%s%s%s is not a URL: accepted an absolute http:// or https:// URL "
                           "with a host, without spaces", d->name, d->secret ? "" : "='", d->secret ? "" : v,
                           d->secret ? " (value hidden: secret)" : "'");
        return SK_OK;
    case SK_SET_STRING:
    case SK_SET_PATH:
        if (!*v)
            return sk_fail(err, SK_ERR_CONFIG, 0, "%s is empty: give a value or unset it", d->name);
        return SK_OK;
    case SK_SET_NAME:
        if (!name_ok(v, strlen(v)))
            return sk_fail(err, SK_ERR_CONFIG, 0,
                           "%s='%s' is not a valid name: use letters, digits, '.', '_' and '-' "
                           "(not starting with '.')", d->name, shown(d, v));
        return SK_OK;
    case SK_SET_PREFIX: {
        const char *p = v;
        while (*p) {
            const char *slash = strchr(p, '/');
            size_t len = slash ? (size_t)(slash - p) : strlen(p);
            if (!name_ok(p, len))
                return sk_fail(err, SK_ERR_CONFIG, 0,
                               "%s='%s' is not a valid key prefix: use '/'-separated names of letters, "
                               "digits, '.', '_' and '-', without empty parts or a leading/trailing '/'",
                               d->name, v);
            p += len;
            if (*p == '/' && !*++p)
                return sk_fail(err, SK_ERR_CONFIG, 0, "%s='%s' must not end with '/'", d->name, v);
        }
        return SK_OK;
    }
    case SK_SET_INT: {
        if (d->choices && in_choices(d->choices, v))
            return SK_OK;
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || end == v || *end || n < d->min || n > d->max) {
            if (d->choices)
                return sk_fail(err, SK_ERR_CONFIG, 0, "%s='%s' is invalid: accepted %s or a whole number %ld..%ld",
                               d->name, shown(d, v), d->choices, d->min, d->max);
            return sk_fail(err, SK_ERR_CONFIG, 0, "%s='%s' is invalid: accepted a whole number %ld..%ld", d->name,
                           shown(d, v), d->min, d->max);
        }
        return SK_OK;
    }
    case SK_SET_ENUM:
        if (!in_choices(d->choices, v))
            return sk_fail(err, SK_ERR_CONFIG, 0, "%s='%s' is invalid: accepted %s", d->name, shown(d, v),
                           d->choices);
        return SK_OK;
    case SK_SET_BOOL:
        if (!in_choices("true|false|1|0|yes|no|on|off", v))
            return sk_fail(err, SK_ERR_CONFIG, 0, "%s='%s' is invalid: accepted true or false", d->name,
                           shown(d, v));
        return SK_OK;
    }
    return sk_fail(err, SK_ERR_INTERNAL, 0, "%s: unknown setting kind", d->name);
}

/* Read NAME_FILE's content: the whole file, less one trailing newline (as Docker secrets are
 * usually written with one). */
static char *read_value_file(const char *var, const char *path, sk_err *err)
{
    /* Only a regular file (or a link to one): a FIFO without a writer would block start-up for
     * ever, a device or directory is a mistake. O_NONBLOCK makes the open itself never wait. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0) {
        sk_fail(err, SK_ERR_CONFIG, errno, "%s: cannot read '%s': %s", var, path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        sk_fail(err, SK_ERR_CONFIG, 0, "%s: '%s' is not a regular file (it is a %s): point it at a file holding "
                "the value, such as a Docker or Kubernetes secret", var, path,
                S_ISFIFO(st.st_mode) ? "FIFO" : S_ISDIR(st.st_mode) ? "directory" : S_ISSOCK(st.st_mode) ? "socket"
                : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "device" : "special file");
        return NULL;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        sk_fail(err, SK_ERR_INTERNAL, errno, "%s: cannot read '%s': %s", var, path, strerror(errno));
        return NULL;
    }
    size_t cap = 256, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
        if (len + 1 >= cap) {
            if (cap >= (1u << 20)) {
                free(buf);
                fclose(f);
                sk_fail(err, SK_ERR_CONFIG, 0, "%s: '%s' is larger than 1 MiB; it should hold one value", var, path);
                return NULL;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int rerr = ferror(f);
    fclose(f);
    if (!buf) {
        sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        return NULL;
    }
    if (rerr) {
        free(buf);
        sk_fail(err, SK_ERR_CONFIG, EIO, "%s: error reading '%s'", var, path);
        return NULL;
    }
    buf[len] = '\0';
    if (len && buf[len - 1] == '\n')
        buf[--len] = '\0';
    if (len && buf[len - 1] == '\r')
        buf[--len] = '\0';
    if (strlen(buf) != len) {
        free(buf);
        sk_fail(err, SK_ERR_CONFIG, 0, "%s: '%s' contains a NUL byte", var, path);
        return NULL;
    }
    return buf;
}

static const sk_setting_def *declared(const sk_setting_def *const *tables, const char *name, size_t len)
{
    for (size_t t = 0; tables[t]; t++)
        for (const sk_setting_def *d = tables[t]; d->name; d++)
            if (strlen(d->name) == len && strncmp(d->name, name, len) == 0)
                return d;
    return NULL;
}

size_t sk_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev[128], cur[128];
    if (la >= 127 || lb >= 127)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(size_t) * (lb + 1));
    }
    return prev[lb];
}

static sk_rc unknown_variable(const sk_setting_def *const *tables, const char *name, sk_err *err)
{
    const char *best = NULL;
    size_t bestd = 4; /* suggest only close names */
    /* S3_REGON_FILE: compare the part before _FILE, suggest S3_REGION_FILE */
    size_t len = strlen(name);
    int file = len > 5 && strcmp(name + len - 5, "_FILE") == 0;
    char stem[128];
    snprintf(stem, sizeof stem, "%.*s", (int)(file ? len - 5 : len), name);
    for (size_t t = 0; tables[t]; t++)
        for (const sk_setting_def *d = tables[t]; d->name; d++) {
            size_t dist = sk_edit_distance(stem, d->name);
            if (dist < bestd) {
                bestd = dist;
                best = d->name;
            }
        }
    const sk_dest_type *type;
    int slot;
    char base[128];
    if (sk_dest_setting_parse(name, &type, &slot, base, sizeof base) && slot > type->slots)
        return sk_fail(err, SK_ERR_CONFIG, 0, "unknown variable %s: a job has at most %d %s destinations (%s and its "
                       "numbered copies up to %d)", name, type->slots, type->name, base, type->slots);
    if (best)
        return sk_fail(err, SK_ERR_CONFIG, 0, "unknown variable %s: did you mean %s%s? (see snapkeep --help)", name,
                       best, file ? "_FILE" : "");
    return sk_fail(err, SK_ERR_CONFIG, 0,
                   "unknown variable %s: snapkeep does not use it; remove it or fix its name (see snapkeep --help)",
                   name);
}

/* The prefixes whose variables are snapkeep's (README "Settings"): an unknown one is a typo. */
static int owned(const char *name, size_t len)
{
    static const char *const prefixes[] = { "SNAPKEEP_", "S3_", "R2_", "POCKETBASE_", NULL };
    for (size_t i = 0; prefixes[i]; i++) {
        size_t n = strlen(prefixes[i]);
        if (len > n && strncmp(name, prefixes[i], n) == 0)
            return 1;
    }
    return 0;
}

/* Is name[0..len) in the comma-separated list (blanks around names allowed)? */
static int listed(const char *list, const char *name, size_t len)
{
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if (n == len && strncmp(p, name, len) == 0)
            return 1;
        p += n;
    }
    return 0;
}

static entry *find_mut(sk_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->e[i].def->name, name) == 0)
            return &cfg->e[i];
    return NULL;
}

/* An alias set: its target takes the value when the target itself is not set (a default does not
 * count); when both are set they must agree, since either could be the one the user meant. */
static sk_rc resolve_aliases(sk_config *cfg, sk_err *err)
{
    for (size_t i = 0; i < cfg->n; i++) {
        entry *a = &cfg->e[i];
        if (a->def->kind != SK_SET_ALIAS || !a->value)
            continue;
        entry *t = find_mut(cfg, a->def->def);
        if (!t)
            return sk_fail(err, SK_ERR_INTERNAL, 0, "%s is an alias of the undeclared %s", a->def->name, a->def->def);
        int hide = a->def->secret || t->def->secret;
        if (t->value && strcmp(t->origin, "default") != 0) {
            if (strcmp(t->value, a->value) == 0)
                continue;
            if (hide)
                return sk_fail(err, SK_ERR_CONFIG, 0, "%s and %s are both set, to different values (hidden: secret): "
                               "they mean the same; set only one", t->def->name, a->def->name);
            return sk_fail(err, SK_ERR_CONFIG, 0, "%s='%s' and %s='%s' are both set, to different values: they mean "
                           "the same; set only one", t->def->name, t->value, a->def->name, a->value);
        }
        if (sk_setting_check(t->def, a->value, err) != SK_OK) {
            sk_err_prefix(err, "(from %s) ", a->def->name);
            return err->rc;
        }
        char *v = t->def->kind == SK_SET_ENUM ? canonical_choice(t->def->choices, a->value) : strdup(a->value);
        if (!v)
            return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        if (t->value && t->def->secret)
            memset(t->value, 0, strlen(t->value));
        free(t->value);
        t->value = v;
        t->origin = a->def->name; /* `config check` shows "S3_REGION=... (AWS_REGION)" */
    }
    return SK_OK;
}

/* Constraints between settings of the core table. */
static sk_rc check_relations(const sk_config *cfg, sk_err *err)
{
    const entry *w = find(cfg, "SNAPKEEP_HEALTH_WARN_AFTER"), *f = find(cfg, "SNAPKEEP_HEALTH_FAIL_AFTER");
    if (w && f && w->value && f->value) {
        long wh = strtol(w->value, NULL, 10), fh = strtol(f->value, NULL, 10);
        if (wh > fh)
            return sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_HEALTH_WARN_AFTER=%ld is greater than "
                           "SNAPKEEP_HEALTH_FAIL_AFTER=%ld: health would fail before it ever warns; set WARN_AFTER "
                           "<= FAIL_AFTER (defaults 36 and 48 hours)", wh, fh);
    }
    return SK_OK;
}

sk_config *sk_config_load(const sk_setting_def *const *tables, sk_getenv_fn env, void *ud,
                          char *const *environ_names, sk_err *err)
{
    sk_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        goto nomem;
    for (size_t t = 0; tables[t]; t++)
        for (const sk_setting_def *d = tables[t]; d->name; d++)
            cfg->n++;
    cfg->e = calloc(cfg->n ? cfg->n : 1, sizeof *cfg->e);
    if (!cfg->e)
        goto nomem;

    const char *ignore = env(ud, "SNAPKEEP_IGNORE_VARS");
    for (size_t i = 0; environ_names && environ_names[i]; i++) {
        const char *name = environ_names[i];
        size_t len = strcspn(name, "=");
        if (!owned(name, len) || listed(ignore, name, len))
            continue;
        if (declared(tables, name, len))
            continue;
        if (len > 5 && strncmp(name + len - 5, "_FILE", 5) == 0 && declared(tables, name, len - 5))
            continue;
        char shortname[128];
        snprintf(shortname, sizeof shortname, "%.*s", (int)(len < 127 ? len : 127), name);
        unknown_variable(tables, shortname, err);
        goto fail;
    }

    size_t k = 0;
    for (size_t t = 0; tables[t]; t++) {
        for (const sk_setting_def *d = tables[t]; d->name; d++, k++) {
            entry *e = &cfg->e[k];
            e->def = d;
            char filevar[160];
            snprintf(filevar, sizeof filevar, "%s_FILE", d->name);
            const char *direct = env(ud, d->name);
            const char *file = env(ud, filevar);
            if (direct && file) {
                sk_fail(err, SK_ERR_CONFIG, 0, "both %s and %s are set: set only one", d->name, filevar);
                goto fail;
            }
            if (file) {
                if (!*file) {
                    sk_fail(err, SK_ERR_CONFIG, 0, "%s is empty: give the path of a file holding %s", filevar,
                            d->name);
                    goto fail;
                }
                if (!(e->value = read_value_file(filevar, file, err)))
                    goto fail;
                e->origin = "file";
            } else if (direct) {
                if (!(e->value = strdup(direct)))
                    goto nomem;
                e->origin = "env";
            } else if (d->def && d->kind != SK_SET_ALIAS) {
                if (!(e->value = strdup(d->def)))
                    goto nomem;
                e->origin = "default";
                continue; /* defaults are trusted */
            } else {
                e->origin = "unset";
                continue;
            }
            /* An empty variable means "unset" for optional settings without a default, as in
             * `environment: SNAPKEEP_DB_NAME:` in compose files. */
            if (!*e->value && d->kind != SK_SET_PREFIX && (!d->def || d->kind == SK_SET_ALIAS)) {
                free(e->value);
                e->value = NULL;
                e->origin = "unset";
                continue;
            }
            if (sk_setting_check(d, e->value, err) != SK_OK) {
                if (strcmp(e->origin, "file") == 0)
                    sk_err_prefix(err, "(from %s) ", filevar);
                goto fail;
            }
            if (d->kind == SK_SET_ENUM) {
                /* compared exactly from here on: store the declared spelling */
                char *c = canonical_choice(d->choices, e->value);
                if (!c)
                    goto nomem;
                free(e->value);
                e->value = c;
            }
        }
    }
    if (resolve_aliases(cfg, err) != SK_OK || check_relations(cfg, err) != SK_OK)
        goto fail;
    return cfg;
nomem:
    sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
fail:
    sk_config_free(cfg);
    return NULL;
}

void sk_config_free(sk_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n; i++) {
        if (cfg->e[i].value && cfg->e[i].def && cfg->e[i].def->secret)
            memset(cfg->e[i].value, 0, strlen(cfg->e[i].value));
        free(cfg->e[i].value);
    }
    free(cfg->e);
    free(cfg);
}

sk_config *sk_config_override(const sk_config *cfg, const char *name, const char *value, sk_err *err)
{
    const entry *target = find(cfg, name);
    if (!target)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "%s is not a declared setting", name), NULL;
    if (value && sk_setting_check(target->def, value, err) != SK_OK)
        return NULL;
    sk_config *c = calloc(1, sizeof *c);
    if (!c || !(c->e = calloc(cfg->n ? cfg->n : 1, sizeof *c->e)))
        goto nomem;
    for (size_t i = 0; i < cfg->n; i++) {
        const entry *src = &cfg->e[i];
        entry *e = &c->e[i];
        c->n = i + 1;
        e->def = src->def;
        e->origin = src->origin;
        const char *v = src->value;
        if (src == target) {
            v = value;
            e->origin = value ? "derived" : "unset";
        }
        if (v && !(e->value = strdup(v)))
            goto nomem;
    }
    return c;
nomem:
    sk_config_free(c);
    sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    return NULL;
}

const char *sk_config_str(const sk_config *cfg, const char *name)
{
    const entry *e = find(cfg, name);
    return e ? e->value : NULL;
}

long sk_config_int(const sk_config *cfg, const char *name, long dflt)
{
    const entry *e = find(cfg, name);
    if (!e || !e->value)
        return dflt;
    char *end;
    long n = strtol(e->value, &end, 10);
    if (end == e->value || *end)
        return dflt;
    return n;
}

int sk_config_bool(const sk_config *cfg, const char *name)
{
    const char *v = sk_config_str(cfg, name);
    return v && in_choices("true|1|yes|on", v);
}

const char *sk_config_origin(const sk_config *cfg, const char *name)
{
    const entry *e = find(cfg, name);
    return e ? e->origin : "unset";
}

sk_rc sk_config_require(const sk_config *cfg, const char *name, const char *why, sk_err *err)
{
    const char *v = sk_config_str(cfg, name);
    if (v && *v)
        return SK_OK;
    return sk_fail(err, SK_ERR_CONFIG, 0, "%s is not set: %s (or set %s_FILE to a file holding it)", name, why,
                   name);
}

void sk_config_each_secret(const sk_config *cfg, void (*fn)(void *ud, const char *value), void *ud)
{
    for (size_t i = 0; cfg && i < cfg->n; i++)
        if (cfg->e[i].def->secret && cfg->e[i].value)
            fn(ud, cfg->e[i].value);
}

void sk_config_print(const sk_config *cfg, FILE *out)
{
    for (size_t i = 0; cfg && i < cfg->n; i++) {
        const entry *e = &cfg->e[i];
        if (!e->value || e->def->kind == SK_SET_ALIAS) /* shown as its target's origin */
            continue;
        /* a non-secret value may still hold a credential (a URL with user:password@) */
        size_t n = sk_redact(e->value, NULL, 0);
        char *v = e->def->secret ? NULL : malloc(n + 1);
        if (v)
            sk_redact(e->value, v, n + 1);
        fprintf(out, "%s=%s (%s)\n", e->def->name, v ? v : "***", e->origin);
        free(v);
    }
}
