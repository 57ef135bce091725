#include "pocketbase.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "pb_http.h"
#include "pb_zip.h"
#include "../../agent/progress.h"

const sk_setting_def sk_pocketbase_settings[] = {
    { "POCKETBASE_URL", SK_SET_STRING, NULL, 0, 0, NULL, 0,
      "pocketbase: the server's base URL (http://pocketbase:8090)" },
    { "POCKETBASE_ADMIN_EMAIL", SK_SET_STRING, NULL, 0, 0, NULL, 0,
      "pocketbase: e-mail of a superuser (an admin before v0.23)" },
    { "POCKETBASE_ADMIN_PASSWORD", SK_SET_STRING, NULL, 0, 0, NULL, 1, "pocketbase: that superuser's password" },
    { "SNAPKEEP_POCKETBASE_KEEP_SERVER_COPY", SK_SET_BOOL, "false", 0, 0, NULL, 0,
      "pocketbase: keep the backup zip on the server after it is stored (default: delete it once committed)" },
    { "SNAPKEEP_POCKETBASE_LOCK_WAIT", SK_SET_INT, "600", 0, 86400, NULL, 0,
      "pocketbase: seconds to wait while another backup or restore holds PocketBase's lock, then exit 8" },
    { "SNAPKEEP_POCKETBASE_BACKUP_NAME", SK_SET_STRING, "snapkeep_%Y%m%d_%H%M%S", 0, 0, NULL, 0,
      "pocketbase: server-side backup name, strftime in UTC, '.zip' added; an existing name is reused" },
    { "SNAPKEEP_POCKETBASE_CA_FILE", SK_SET_PATH, NULL, 0, 0, NULL, 0,
      "pocketbase: CA certificates (PEM) to trust for an https:// POCKETBASE_URL" },
    { "SNAPKEEP_POCKETBASE_CREATE_TIMEOUT", SK_SET_INT, "1800", 10, 86400, NULL, 0,
      "pocketbase: seconds PocketBase may take to write the backup zip" },
    { "SNAPKEEP_POCKETBASE_RESTORE_WAIT", SK_SET_INT, "600", 5, 86400, NULL, 0,
      "pocketbase: seconds a restore waits for PocketBase to restart" },
    { "SNAPKEEP_POCKETBASE_RESTORE_SAFETY_COPY", SK_SET_BOOL, "true", 0, 0, NULL, 0,
      "pocketbase: before a restore replaces the server's data, save its current state as a backup on the server "
      "(kept in pb_data/backups, which a restore preserves) so the restore can be undone" },
    { "SNAPKEEP_POCKETBASE_STALL_TIMEOUT", SK_SET_INT, "60", 2, 3600, NULL, 0,
      "pocketbase: seconds without data after which a download or upload is dropped (downloads resume)" },
    { "SNAPKEEP_DRILL_POCKETBASE_URL", SK_SET_STRING, NULL, 0, 0, NULL, 0,
      "pocketbase: restore drills also restore into this scratch PocketBase (never POCKETBASE_URL): ALL its data is "
      "replaced at every drill; it must accept the POCKETBASE_ADMIN_* superuser" },
    { NULL, 0, NULL, 0, 0, NULL, 0, NULL },
};

#define NAME_MAX_LEN 100        /* PocketBase < 0.23 allowed 100 bytes, later 150 */
#define MAX_RESUMES 20
#define MAX_IDLE_RETRIES 5

typedef struct pb_engine {
    const sk_runtime *rt;
    pb_client src;              /* POCKETBASE_URL */
    char email[320];
    char password[1024];
    char pattern[256];
    char spool[PATH_MAX];
    int keep;
    long lock_wait_s, create_timeout_s, restore_wait_s, stall_s;
    int safety_copy;            /* SNAPKEEP_POCKETBASE_RESTORE_SAFETY_COPY */
    int legacy;                 /* logged in through the pre-0.23 admins API */
    char backup[256];           /* server-side backup of this run, "" when none */
    int created_by_us;          /* 0: an existing backup of that name was used */
    int committed;              /* after_backup() ran */
    double create_s;            /* how long PocketBase took to write the zip */
    char *colls_json;           /* records per collection of the last dump (info->collections_json) */
    char drill_url[1024];       /* SNAPKEEP_DRILL_POCKETBASE_URL: a scratch PocketBase for drills, "" when none */
} pb_engine;

static sk_log *lg(const pb_engine *e) { return e->rt ? e->rt->log : NULL; }

static int64_t now_ms(const pb_engine *e)
{
    if (e->rt && e->rt->now_ms)
        return e->rt->now_ms(e->rt->clock_ud);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep `ms`, waking early on cancellation; returns non-zero when cancelled. */
static int nap(const pb_engine *e, long ms)
{
    while (ms > 0) {
        if (sk_rt_cancelled(e->rt))
            return 1;
        long step = ms < 100 ? ms : 100;
        struct timespec ts = { 0, step * 1000000L };
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return sk_rt_cancelled(e->rt);
}

static sk_rc cancelled(sk_err *err) { return sk_fail(err, SK_ERR_CANCELLED, 0, "cancelled by signal"); }

/* ---- names ------------------------------------------------------------------------------ */

sk_rc sk_pb_backup_name(const char *pattern, long long t, char *out, size_t outsz, sk_err *err)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char stem[256];
    if (!gmtime_r(&tt, &tm))
        return sk_fail(err, SK_ERR_INTERNAL, 0, "bad clock");
    size_t n = strftime(stem, sizeof stem, pattern, &tm);
    if (n == 0 || n + 4 > NAME_MAX_LEN || n + 5 > outsz)
        return sk_fail(err, SK_ERR_CONFIG, 0,
                       "SNAPKEEP_POCKETBASE_BACKUP_NAME='%s' gives an empty name or one longer than %d bytes", pattern,
                       NAME_MAX_LEN - 4);
    for (size_t i = 0; i < n; i++) {
        char c = stem[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return sk_fail(err, SK_ERR_CONFIG, 0,
                           "SNAPKEEP_POCKETBASE_BACKUP_NAME='%s' gives '%s': PocketBase accepts only a-z, 0-9, '_' and "
                           "'-' (the '.zip' is added)", pattern, stem);
    }
    snprintf(out, outsz, "%s.zip", stem);
    return SK_OK;
}

/* ---- open / close ----------------------------------------------------------------------- */

static sk_rc pb_open(const sk_config *cfg, const sk_runtime *rt, void **state, sk_dump_info *info, sk_err *err)
{
    if (sk_config_require(cfg, "POCKETBASE_URL", "the pocketbase engine needs the server's URL", err) ||
        sk_config_require(cfg, "POCKETBASE_ADMIN_EMAIL", "the pocketbase engine logs in as a superuser", err) ||
        sk_config_require(cfg, "POCKETBASE_ADMIN_PASSWORD", "the pocketbase engine logs in as a superuser", err))
        return err->rc;
    pb_engine *e = calloc(1, sizeof *e);
    if (!e)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    e->rt = rt;
    const char *ca = sk_config_str(cfg, "SNAPKEEP_POCKETBASE_CA_FILE");
    if (pb_client_init(&e->src, sk_config_str(cfg, "POCKETBASE_URL"), "POCKETBASE_URL", ca, rt, err) != SK_OK)
        goto fail;
    if (ca && access(ca, R_OK) != 0) {
        sk_fail(err, SK_ERR_CONFIG, errno, "SNAPKEEP_POCKETBASE_CA_FILE='%s': %s", ca, strerror(errno));
        goto fail;
    }
    const char *email = sk_config_str(cfg, "POCKETBASE_ADMIN_EMAIL"), *pw = sk_config_str(cfg, "POCKETBASE_ADMIN_PASSWORD");
    if (strlen(email) >= sizeof e->email || strlen(pw) >= sizeof e->password) {
        sk_fail(err, SK_ERR_CONFIG, 0, "POCKETBASE_ADMIN_EMAIL or POCKETBASE_ADMIN_PASSWORD is too long (PocketBase "
                "accepts 255 bytes)");
        goto fail;
    }
    snprintf(e->email, sizeof e->email, "%s", email);
    snprintf(e->password, sizeof e->password, "%s", pw);
    snprintf(e->pattern, sizeof e->pattern, "%s", sk_config_str(cfg, "SNAPKEEP_POCKETBASE_BACKUP_NAME"));
    char probe[256];
    if (sk_pb_backup_name(e->pattern, (long long)(now_ms(e) / 1000), probe, sizeof probe, err) != SK_OK)
        goto fail;
    const char *spool = sk_config_str(cfg, "SNAPKEEP_SPOOL_DIR");
    snprintf(e->spool, sizeof e->spool, "%s", spool ? spool : "/tmp");
    e->keep = sk_config_bool(cfg, "SNAPKEEP_POCKETBASE_KEEP_SERVER_COPY");
    e->lock_wait_s = sk_config_int(cfg, "SNAPKEEP_POCKETBASE_LOCK_WAIT", 600);
    e->create_timeout_s = sk_config_int(cfg, "SNAPKEEP_POCKETBASE_CREATE_TIMEOUT", 1800);
    e->restore_wait_s = sk_config_int(cfg, "SNAPKEEP_POCKETBASE_RESTORE_WAIT", 600);
    e->stall_s = sk_config_int(cfg, "SNAPKEEP_POCKETBASE_STALL_TIMEOUT", 60);
    e->safety_copy = sk_config_bool(cfg, "SNAPKEEP_POCKETBASE_RESTORE_SAFETY_COPY");
    const char *drill = sk_config_str(cfg, "SNAPKEEP_DRILL_POCKETBASE_URL");
    if (drill) {
        pb_client probe_c;
        if (pb_client_init(&probe_c, drill, "SNAPKEEP_DRILL_POCKETBASE_URL", ca, rt, err) != SK_OK)
            goto fail;
        /* a drill replaces all of its server's data: never the source */
        if (!strcmp(probe_c.base, e->src.base)) {
            sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_DRILL_POCKETBASE_URL is POCKETBASE_URL (%s): a drill replaces ALL "
                    "the data of that server; name a scratch PocketBase of its own", e->src.shown);
            goto fail;
        }
        snprintf(e->drill_url, sizeof e->drill_url, "%s", drill);
    }
    const char *db = sk_config_str(cfg, "SNAPKEEP_DB_NAME");
    snprintf(info->database, sizeof info->database, "%s", db ? db : "pb");
    snprintf(info->server_version, sizeof info->server_version, "PocketBase");
    snprintf(info->facts_json, sizeof info->facts_json, "{}");
    *state = e;
    return SK_OK;
fail:
    memset(e->password, 0, sizeof e->password);
    free(e);
    return err->rc;
}

/* ---- requests --------------------------------------------------------------------------- */

/* No reply: worth another try only when the server may be restarting (refused, reset, timed out,
 * its name not yet resolvable); a certificate or protocol error stays until someone fixes it. */
static int transient_curl(int code)
{
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
        return 1;
    default:
        return 0;
    }
}

/* Fail with the server's reply in the message: "<what>: HTTP 400 "..." (field: ...). <hint>" */
static sk_rc reply_fail(sk_err *err, sk_rc code, const pb_resp *r, const char *what, const char *hint)
{
    char desc[700];
    pb_resp_describe(r, desc, sizeof desc);
    sk_rc rc = sk_fail(err, code, r->status ? r->status : r->curl, "%s: %s%s%s", what, desc, hint && *hint ? "; " : "",
                       hint ? hint : "");
    if (r->status ? r->status >= 500 || r->status == 429 : transient_curl(r->curl))
        err->retryable = 1;
    return rc;
}

static int message_starts(const pb_resp *r, const char *prefix)
{
    char msg[256];
    pb_resp_message(r, msg, sizeof msg);
    return strncmp(msg, prefix, strlen(prefix)) == 0;
}

/* JSON string escaping of `in` into `out` (6 bytes per input byte at most); returns the length. */
static size_t json_escape(const char *in, char *out, size_t outsz)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && o + 7 < outsz; p++) {
        if (*p == '"' || *p == '\\') {
            out[o++] = '\\';
            out[o++] = (char)*p;
        } else if (*p < 0x20) {
            memcpy(out + o, "\\u00", 4);
            out[o + 4] = hex[*p >> 4];
            out[o + 5] = hex[*p & 15];
            o += 6;
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o] = '\0';
    return o;
}

/* Log in as superuser (v0.23+), or as admin through the legacy route when the first is absent. */
static sk_rc login(pb_engine *e, pb_client *c, long timeout_s, sk_err *err)
{
    static const char *routes[] = { "/api/collections/_superusers/auth-with-password", "/api/admins/auth-with-password" };
    /* built by hand into one buffer that is wiped afterwards (no library copies of the password) */
    size_t cap = 6 * (strlen(e->email) + strlen(e->password)) + 64;
    char *body = malloc(cap);
    if (!body)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    size_t n = 0;
    n += (size_t)snprintf(body + n, cap - n, "{\"identity\":\"");
    n += json_escape(e->email, body + n, cap - n);
    n += (size_t)snprintf(body + n, cap - n, "\",\"password\":\"");
    n += json_escape(e->password, body + n, cap - n);
    snprintf(body + n, cap - n, "\"}");
    pb_resp *r = malloc(sizeof *r);
    sk_rc rc = SK_OK;
    if (!r) {
        rc = sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        goto out;
    }
    c->token[0] = '\0';
    for (int i = 0; i < 2; i++) {
        if (pb_request(c, "POST", routes[i], body, 0, timeout_s, r) != 0) {
            char what[1200];
            snprintf(what, sizeof what, "cannot reach PocketBase at %s", c->shown);
            rc = reply_fail(err, SK_ERR_SOURCE, r, what, "check POCKETBASE_URL and that the server runs");
            goto out;
        }
        if (r->status == 404 && i == 0)
            continue; /* no _superusers collection: PocketBase before v0.23 */
        if (r->status == 200) {
            char tok[sizeof c->token];
            pb_resp_string(r, "token", tok, sizeof tok);
            if (!tok[0]) {
                rc = sk_fail(err, SK_ERR_SOURCE, 0, "PocketBase at %s answered the login without a token", c->shown);
                goto out;
            }
            snprintf(c->token, sizeof c->token, "%s", tok);
            sk_log_add_secret(lg(e), tok);
            memset(tok, 0, sizeof tok);
            e->legacy = i == 1;
            goto out;
        }
        char what[1400];
        snprintf(what, sizeof what, "PocketBase at %s refused the %s login of POCKETBASE_ADMIN_EMAIL='%s'", c->shown,
                 i ? "admin" : "superuser", e->email);
        if (r->status == 404)
            rc = reply_fail(err, SK_ERR_SOURCE, r, what,
                            "neither the superuser nor the admin login route exists: is POCKETBASE_URL a PocketBase "
                            "(v0.16 or later) base URL?");
        else if ((r->status == 400 && (message_starts(r, "Failed to authenticate") ||
                                       message_starts(r, "An error occurred while validating"))) ||
                 r->status == 401 || r->status == 403)
            rc = reply_fail(err, SK_ERR_CONFIG, r, what,
                            r->status == 401 ? "multi-factor auth is on for superusers: use a superuser without MFA"
                            : r->status == 403 ? "password login is disabled, or this IP is not in SuperuserIPs"
                            : "check POCKETBASE_ADMIN_EMAIL and POCKETBASE_ADMIN_PASSWORD (a superuser of this "
                              "PocketBase, not an app user)");
        else
            rc = reply_fail(err, SK_ERR_SOURCE, r, what, "retry later");
        goto out;
    }
out:
    memset(body, 0, cap);
    free(body);
    if (r)
        memset(r, 0, sizeof *r); /* the reply held the token */
    free(r);
    return rc;
}

/* GET /api/health with auth: 1/0 for canBackup, -1 unknown (no field), -2 no reply. */
static int health(pb_client *c, int auth, long timeout_s, long *status)
{
    pb_resp *r = malloc(sizeof *r);
    if (!r)
        return -2;
    int out = -2;
    *status = 0;
    if (pb_request(c, "GET", "/api/health", NULL, auth, timeout_s, r) == 0) {
        *status = r->status;
        out = pb_resp_can_backup(r);
    }
    free(r);
    return out;
}

/* Wait until PocketBase's backup/restore lock is free, up to `deadline_ms`. */
static sk_rc wait_lock_free(pb_engine *e, pb_client *c, int64_t deadline_ms, int *waited, sk_err *err)
{
    double t0 = sk_monotonic(), next_note = 30;
    int silent = 0;
    for (;;) {
        long st;
        int cb = health(c, 1, 30, &st);
        if (cb == 1 || cb == -1)
            return SK_OK; /* free, or a server that does not tell: let the create decide */
        silent = cb == -2 ? silent + 1 : 0;
        if (silent >= 3) {
            sk_rc rc = sk_fail(err, SK_ERR_SOURCE, 0, "PocketBase at %s stopped answering /api/health", c->shown);
            err->retryable = 1;
            return rc;
        }
        if (now_ms(e) >= deadline_ms)
            return sk_fail(err, SK_ERR_BUSY, 0,
                           "PocketBase at %s is still running another backup or restore after %ld s (health: "
                           "canBackup=false). Retry later, raise SNAPKEEP_POCKETBASE_LOCK_WAIT, or restart PocketBase "
                           "if a backup is stuck",
                           c->shown, e->lock_wait_s);
        if (!*waited && cb == 0) {
            sk_log_msg(lg(e), SK_LOG_INFO,
                       "PocketBase is running another backup or restore (its lock is held); waiting up to %ld s "
                       "(SNAPKEEP_POCKETBASE_LOCK_WAIT)", e->lock_wait_s);
            *waited = 1;
        }
        if (nap(e, 1000))
            return cancelled(err);
        if (sk_monotonic() - t0 >= next_note) {
            sk_log_msg(lg(e), SK_LOG_INFO, "still waiting for PocketBase's backup lock (%.0f s)", sk_monotonic() - t0);
            next_note += 30;
        }
    }
}

/* Find `name` in GET /api/backups: 1 found (size, modified filled), 0 absent, -1 error (err set). */
static int find_backup(pb_engine *e, pb_client *c, const char *name, uint64_t *size, char *modified, size_t msz,
                       sk_err *err)
{
    pb_resp *r = malloc(sizeof *r);
    if (!r) {
        sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        return -1;
    }
    int found = -1;
    if (pb_request(c, "GET", "/api/backups", NULL, 1, 60, r) != 0 || r->status != 200) {
        reply_fail(err, SK_ERR_SOURCE, r, "listing PocketBase's backups failed", NULL);
        goto out;
    }
    /* a long list is cut at 64 KiB: then ask for a trimmed body */
    if ((found = pb_resp_find_backup(r, name, size, modified, msz)) < 0 &&
        (pb_request(c, "GET", "/api/backups?fields=key,size,modified", NULL, 1, 60, r) != 0 || r->status != 200 ||
         (found = pb_resp_find_backup(r, name, size, modified, msz)) < 0))
        sk_fail(err, SK_ERR_SOURCE, 0, "PocketBase's backup list is unreadable or too long (over 64 KiB)");
out:
    (void)e;
    free(r);
    return found;
}

/* Create `name` on the server at `c` (*created = 1, *secs = how long it took), or adopt it when it
 * exists (*created = 0). */
static sk_rc create_backup(pb_engine *e, pb_client *c, const char *name, int *created, double *secs, sk_err *err)
{
    int64_t deadline = now_ms(e) + e->lock_wait_s * 1000;
    int waited = 0;
    char body[400], msg[256];
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", name); /* name is [a-z0-9_-] only */
    pb_resp *r = malloc(sizeof *r);
    if (!r)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    sk_rc rc = SK_OK;
    if ((rc = wait_lock_free(e, c, deadline, &waited, err)) != SK_OK)
        goto out;
    for (;;) {
        if (sk_rt_cancelled(e->rt)) {
            rc = cancelled(err);
            goto out;
        }
        double t0 = sk_monotonic();
        int cc = pb_request(c, "POST", "/api/backups", body, 1, e->create_timeout_s, r);
        if (cc == CURLE_ABORTED_BY_CALLBACK) {
            rc = cancelled(err);
            goto out;
        }
        if (cc != 0) {
            /* PocketBase finishes the zip even when the reply is lost (its 5-minute write timeout,
             * a proxy): wait for the lock to go, then look for the name */
            sk_log_msg(lg(e), SK_LOG_WARN, "no reply to the create request (%s); checking whether PocketBase made "
                       "'%s' anyway", r->curl_msg, name);
            int64_t d2 = now_ms(e) + (e->lock_wait_s > 60 ? e->lock_wait_s : 60) * 1000;
            if ((rc = wait_lock_free(e, c, d2, &waited, err)) != SK_OK)
                goto out;
            uint64_t size = 0;
            char mod[64];
            int f = find_backup(e, c, name, &size, mod, sizeof mod, err);
            if (f < 0) {
                rc = err->rc;
                goto out;
            }
            if (!f) {
                rc = reply_fail(err, SK_ERR_SOURCE, r, "creating the PocketBase backup failed", "see PocketBase's log");
                goto out;
            }
            *created = 1;
            goto out;
        }
        if (r->status == 204) {
            *created = 1;
            *secs = sk_monotonic() - t0;
            goto out;
        }
        char code[80];
        pb_resp_field_code(r, "name", code, sizeof code);
        if (r->status == 400 && strcmp(code, "validation_backup_name_exists") == 0) {
            *created = 0;
            goto out;
        }
        pb_resp_message(r, msg, sizeof msg);
        int busy = r->status == 400 && message_starts(r, "Try again later");
        if (r->status == 400 && !busy && strcmp(msg, "Failed to create backup.") == 0) {
            long st;
            busy = health(c, 1, 30, &st) == 0; /* lost the race for the lock to a cron backup */
            if (!busy) {
                rc = reply_fail(err, SK_ERR_SOURCE, r, "PocketBase could not create the backup",
                                "see PocketBase's log (it needs free disk space of about twice pb_data)");
                goto out;
            }
        }
        if (busy) {
            if (now_ms(e) >= deadline) {
                rc = sk_fail(err, SK_ERR_BUSY, 0,
                             "PocketBase at %s is still running another backup or restore after %ld s. Retry later, "
                             "raise SNAPKEEP_POCKETBASE_LOCK_WAIT, or restart PocketBase if a backup is stuck",
                             c->shown, e->lock_wait_s);
                goto out;
            }
            if ((rc = wait_lock_free(e, c, deadline, &waited, err)) != SK_OK)
                goto out;
            if (nap(e, 200)) {
                rc = cancelled(err);
                goto out;
            }
            continue;
        }
        if (r->status == 400 && code[0])
            rc = reply_fail(err, SK_ERR_CONFIG, r, "PocketBase refused the backup name",
                            "fix SNAPKEEP_POCKETBASE_BACKUP_NAME");
        else
            rc = reply_fail(err, SK_ERR_SOURCE, r, "PocketBase refused to create a backup",
                            r->status == 401 || r->status == 403 ? "the superuser token was not accepted" : NULL);
        goto out;
    }
out:
    free(r);
    return rc;
}

/* A fresh file token (valid ~3 min, 2 min before v0.23) for the download. */
static sk_rc file_token(pb_engine *e, pb_client *c, char *tok, size_t toksz, sk_err *err)
{
    pb_resp *r = malloc(sizeof *r);
    if (!r)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    sk_rc rc = SK_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (pb_request(c, "POST", "/api/files/token", NULL, 1, 60, r) == 0 && r->status == 200) {
            pb_resp_string(r, "token", tok, toksz);
            if (tok[0]) {
                sk_log_add_secret(lg(e), tok);
                goto out;
            }
        }
        if (r->status == 401 && attempt == 0) { /* the auth token expired during a long run */
            if ((rc = login(e, c, 60, err)) != SK_OK)
                goto out;
            continue;
        }
        break;
    }
    rc = reply_fail(err, SK_ERR_SOURCE, r, "PocketBase did not give a file token for the download", NULL);
out:
    free(r);
    return rc;
}

/* ---- download --------------------------------------------------------------------------- */

typedef struct dl_ctx {
    pb_engine *e;
    sk_writer *out;
    sk_err *err;
    pb_ziptail tail;
    pb_stream *st;
    uint64_t got;               /* bytes passed to `out` */
    uint64_t req_offset;        /* offset the current request asked for */
    uint64_t skip;              /* bytes of the current reply to drop (a 200 to a Range request) */
    int64_t total;              /* expected size, -1 unknown */
    int first;                  /* first body call of the current request */
    int bad_reply;              /* the reply's range did not fit: stopped */
    char bad_msg[300];
} dl_ctx;

static int dl_sink(void *ud, const void *buf, size_t len)
{
    dl_ctx *x = ud;
    const char *p = buf;
    if (x->first) {
        x->first = 0;
        pb_stream *st = x->st;
        if (st->status == 206) {
            if ((uint64_t)st->range_start != x->req_offset || (x->total >= 0 && st->total != x->total)) {
                x->bad_reply = 1;
                snprintf(x->bad_msg, sizeof x->bad_msg,
                         "asked to resume at byte %llu of %lld, PocketBase sent bytes from %lld of %lld: the backup "
                         "file changed on the server",
                         (unsigned long long)x->req_offset, (long long)x->total, (long long)st->range_start,
                         (long long)st->total);
                return 1;
            }
        } else if (x->req_offset > 0) {
            /* the range was ignored: the whole file comes again, drop what we have */
            if (x->total >= 0 && st->total >= 0 && st->total != x->total) {
                x->bad_reply = 1;
                snprintf(x->bad_msg, sizeof x->bad_msg, "the backup's size changed from %lld to %lld bytes on the server",
                         (long long)x->total, (long long)st->total);
                return 1;
            }
            x->skip = x->req_offset;
            sk_log_msg(lg(x->e), SK_LOG_WARN, "the server ignored the Range request; skipping the first %llu bytes",
                       (unsigned long long)x->skip);
        }
        if (x->req_offset == 0 && st->total >= 0)
            x->total = st->total; /* the reply's own size rules over the listing's */
    }
    if (x->skip) {
        size_t k = len < x->skip ? len : (size_t)x->skip;
        x->skip -= k;
        p += k;
        len -= k;
        if (!len)
            return 0;
    }
    if (x->total >= 0 && x->got + len > (uint64_t)x->total) {
        x->bad_reply = 1;
        snprintf(x->bad_msg, sizeof x->bad_msg, "PocketBase sent more than the %lld bytes it announced",
                 (long long)x->total);
        return 1;
    }
    if (sk_writer_write(x->out, p, len, x->err) != SK_OK)
        return 1;
    pb_ziptail_feed(&x->tail, p, len);
    x->got += len;
    return 0;
}

static sk_rc download(pb_engine *e, const char *name, uint64_t listed_size, sk_writer *out, pb_zipinfo *zi, sk_err *err)
{
    pb_client *c = &e->src;
    char tok[4096], esc[800], path[5200];
    pb_stream st;
    dl_ctx x;
    memset(&x, 0, sizeof x);
    x.e = e;
    x.out = out;
    x.err = err;
    x.st = &st;
    x.total = listed_size ? (int64_t)listed_size : -1;
    sk_progress_total(out, listed_size);
    sk_progress_item(out, name);
    sk_rc rc = pb_ziptail_init(&x.tail, listed_size, err);
    if (rc != SK_OK)
        return rc;
    pb_escape(name, esc, sizeof esc);
    int idle = 0, resumes = 0, refreshes = 0;
    double t0 = sk_monotonic();
    if ((rc = file_token(e, c, tok, sizeof tok, err)) != SK_OK)
        goto out;
    for (;;) {
        snprintf(path, sizeof path, "/api/backups/%s?token=%s", esc, tok);
        x.req_offset = x.got;
        x.first = 1;
        x.skip = 0;
        uint64_t before = x.got;
        pb_get_stream(c, path, x.got, e->stall_s, dl_sink, &x, &st);
        memset(path, 0, sizeof path);
        if (st.sink_failed) {
            if (x.bad_reply)
                rc = sk_fail(err, SK_ERR_SOURCE, 0, "download of PocketBase backup '%s': %s", name, x.bad_msg);
            else
                rc = err->rc; /* the writer chain failed: its error stands */
            goto out;
        }
        if (st.curl == CURLE_ABORTED_BY_CALLBACK || sk_rt_cancelled(e->rt)) {
            rc = cancelled(err);
            goto out;
        }
        if (st.status == 200 || st.status == 206) {
            if (st.curl == CURLE_OK && x.total >= 0 && x.got == (uint64_t)x.total)
                break;
            if (st.curl == CURLE_OK && x.total < 0)
                break;
            /* cut off: resume where we are */
        } else if ((st.status == 403 || st.status == 401) && refreshes < 3) {
            refreshes++;
            sk_log_msg(lg(e), SK_LOG_INFO, "the file token was refused (HTTP %ld, expired?); getting a new one",
                       st.status);
            if ((rc = file_token(e, c, tok, sizeof tok, err)) != SK_OK)
                goto out;
            continue;
        } else if (st.status == 416 && x.total >= 0 && x.got == (uint64_t)x.total) {
            break;
        } else if (st.status) {
            pb_resp r;
            memset(&r, 0, sizeof r);
            r.status = st.status;
            memcpy(r.body, st.err_body, st.err_len);
            r.len = st.err_len;
            char what[600];
            snprintf(what, sizeof what, "downloading PocketBase backup '%s' failed", name);
            rc = reply_fail(err, SK_ERR_SOURCE, &r, what,
                            st.status == 404 ? "the backup was deleted on the server meanwhile" : NULL);
            goto out;
        }
        /* no reply, or a cut: resume with Range (the server's 5-minute write timeout cuts big zips) */
        idle = x.got > before ? 0 : idle + 1;
        if (++resumes > MAX_RESUMES || idle > MAX_IDLE_RETRIES) {
            rc = sk_fail(err, SK_ERR_SOURCE, st.curl, "download of PocketBase backup '%s' keeps failing at byte %llu: %s",
                         name, (unsigned long long)x.got, st.curl_msg[0] ? st.curl_msg : "connection closed early");
            err->retryable = 1;
            goto out;
        }
        sk_log_msg(lg(e), SK_LOG_WARN, "download cut at byte %llu of %lld (%s); resuming with Range",
                   (unsigned long long)x.got, (long long)x.total, st.curl_msg[0] ? st.curl_msg : "short body");
        if (nap(e, idle ? 500L * idle : 100)) {
            rc = cancelled(err);
            goto out;
        }
    }
    if ((rc = pb_ziptail_check(&x.tail, zi, err)) != SK_OK) {
        sk_err_prefix(err, "PocketBase backup '%s': ", name);
        goto out;
    }
    char sz[32];
    sk_fmt_bytes(x.got, sz, sizeof sz);
    sk_log_stage(lg(e), "download", x.got, sk_monotonic() - t0,
                 "downloaded %llu bytes (%s) from PocketBase%s: %llu zip entries, %llu storage files%s",
                 (unsigned long long)x.got, sz, resumes ? " (resumed)" : "", (unsigned long long)zi->entries,
                 (unsigned long long)zi->storage_files, zi->has_data_db == 1 ? ", data.db present" : "");
out:
    memset(tok, 0, sizeof tok);
    pb_ziptail_free(&x.tail);
    return rc;
}

/* ---- dump ------------------------------------------------------------------------------- */

static void drop_uncommitted(pb_engine *e, const char *why);
static json_t *collection_counts(pb_client *c, int skip_views, sk_err *err);

/* Records per collection as the backup holds them, for the manifest (restore drills compare them):
 * PocketBase zips its data while holding its writer, so counts taken just before the backup and
 * again after the download that agree are the zip's; a collection whose count changed in between
 * (the application wrote to it) is left out, and said so. NULL when nothing could be counted. */
static char *stable_counts(pb_engine *e, json_t *before, json_t *after)
{
    if (!before || !after)
        return NULL;
    json_t *out = json_object();
    const char *name;
    json_t *v;
    json_object_foreach(before, name, v) {
        json_t *w = json_object_get(after, name);
        if (w && json_integer_value(w) == json_integer_value(v))
            json_object_set(out, name, v);
        else
            sk_log_msg(lg(e), SK_LOG_INFO, "PocketBase collection '%s' changed during the backup (%lld records before, "
                       "%lld after): its count is not recorded in the manifest", name,
                       (long long)json_integer_value(v), w ? (long long)json_integer_value(w) : -1LL);
    }
    char *text = out ? json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(out);
    return text;
}

static sk_rc do_dump(pb_engine *e, sk_writer *out, sk_dump_info *info, sk_err *err)
{
    pb_client *c = &e->src;
    char name[256], mod[64] = "";
    sk_rc rc;
    /* log in first: a password login writes to PocketBase's DB and would wait behind a running zip */
    if ((rc = login(e, c, e->lock_wait_s + 60, err)) != SK_OK)
        return rc;
    snprintf(info->server_version, sizeof info->server_version, "PocketBase (%s API)",
             e->legacy ? "v0.16-v0.22 admins" : "v0.23+ superusers");
    sk_log_msg(lg(e), SK_LOG_INFO, "logged in to PocketBase at %s as %s (%s API)", c->shown, e->email,
               e->legacy ? "legacy admins" : "superusers");
    if ((rc = sk_pb_backup_name(e->pattern, (long long)(now_ms(e) / 1000), name, sizeof name, err)) != SK_OK)
        return rc;
    sk_err cerr;
    sk_err_clear(&cerr);
    json_t *before = collection_counts(c, 1, &cerr);
    if (!before)
        sk_log_msg(lg(e), SK_LOG_WARN, "collection counts are not recorded for restore drills: %s", cerr.msg);
    int created = 0;
    double secs = 0;
    if ((rc = create_backup(e, c, name, &created, &secs, err)) != SK_OK) {
        json_decref(before);
        return rc;
    }
    e->created_by_us = created;
    e->create_s = secs;
    snprintf(e->backup, sizeof e->backup, "%s", name);
    uint64_t size = 0;
    int f = find_backup(e, c, name, &size, mod, sizeof mod, err);
    if (f < 0)
        return err->rc;
    if (!f)
        return sk_fail(err, SK_ERR_SOURCE, 0, "PocketBase backup '%s' is not in the server's list after its creation",
                       name);
    char sz[32];
    sk_fmt_bytes(size, sz, sizeof sz);
    if (e->created_by_us)
        sk_log_msg(lg(e), SK_LOG_INFO, "created PocketBase backup %s (%s) in %.1f s", name, sz, e->create_s);
    else
        sk_log_msg(lg(e), SK_LOG_INFO,
                   "PocketBase backup %s already exists (modified %s, %s): using it instead of creating another", name,
                   mod, sz);
    pb_zipinfo zi;
    if ((rc = download(e, name, size, out, &zi, err)) != SK_OK) {
        json_decref(before);
        return rc;
    }
    if (before) {
        sk_err_clear(&cerr);
        json_t *after = collection_counts(c, 1, &cerr);
        if (!after)
            sk_log_msg(lg(e), SK_LOG_WARN, "collection counts are not recorded for restore drills: %s", cerr.msg);
        free(e->colls_json);
        info->collections_json = e->colls_json = stable_counts(e, before, after);
        json_decref(after);
        json_decref(before);
    }
    snprintf(info->facts_json, sizeof info->facts_json,
             "{\"pocketbase_backup\":\"%s\",\"reused_existing\":%s,\"api\":\"%s\",\"zip_entries\":%llu,"
             "\"storage_files\":%llu,\"data_db_bytes\":%llu}",
             name, e->created_by_us ? "false" : "true", e->legacy ? "admins" : "superusers",
             (unsigned long long)zi.entries, (unsigned long long)zi.storage_files,
             (unsigned long long)zi.data_db_size);
    return SK_OK;
}

static sk_rc pb_dump(void *state, sk_writer *out, sk_dump_info *info, sk_err *err)
{
    pb_engine *e = state;
    /* `snapkeep run` keeps the engine: an earlier run that failed after its dump left its zip */
    drop_uncommitted(e, "an earlier backup failed before it was committed");
    e->created_by_us = e->committed = 0;
    free(e->colls_json);
    e->colls_json = NULL;
    info->collections_json = NULL;
    sk_rc rc = do_dump(e, out, info, err);
    if (rc != SK_OK)
        drop_uncommitted(e, "this backup failed");
    return rc;
}

/* DELETE the server-side backup; logs the outcome. */
static void delete_server_copy(pb_engine *e, pb_client *cl, const char *name, const char *why)
{
    char esc[800], path[900];
    /* cleanup runs also after SIGTERM: a copy of the client without the cancellation hook */
    pb_client *c = malloc(sizeof *c);
    if (!c)
        return;
    *c = *cl;
    c->rt = NULL;
    pb_escape(name, esc, sizeof esc);
    snprintf(path, sizeof path, "/api/backups/%s", esc);
    pb_resp *r = malloc(sizeof *r);
    if (!r) {
        free(c);
        return;
    }
    sk_err err;
    sk_err_clear(&err);
    for (int attempt = 0; attempt < 2; attempt++) {
        pb_request(c, "DELETE", path, NULL, 1, 20, r);
        if (r->status == 401 && attempt == 0 && login(e, c, 20, &err) == SK_OK)
            continue;
        break;
    }
    if (r->status == 204) {
        sk_log_msg(lg(e), SK_LOG_INFO, "deleted the server-side copy %s from PocketBase (%s)", name, why);
    } else {
        char desc[700];
        pb_resp_describe(r, desc, sizeof desc);
        sk_log_msg(lg(e), SK_LOG_WARN,
                   "could not delete the server-side copy %s from PocketBase: %s; delete it in the admin UI "
                   "(Settings > Backups) so PocketBase's disk does not fill up", name, desc);
    }
    memset(c->token, 0, sizeof c->token);
    free(c);
    free(r);
}

/* A backup this engine created but that was never committed is of no use: remove it. */
static void drop_uncommitted(pb_engine *e, const char *why)
{
    if (e->backup[0] && e->created_by_us && !e->committed && !e->keep)
        delete_server_copy(e, &e->src, e->backup, why);
    e->backup[0] = '\0';
}

static void pb_after_backup(void *state, const char *key)
{
    pb_engine *e = state;
    (void)key;
    e->committed = 1;
    if (!e->backup[0])
        return;
    if (e->keep)
        sk_log_msg(lg(e), SK_LOG_INFO, "kept the server-side copy %s on PocketBase "
                   "(SNAPKEEP_POCKETBASE_KEEP_SERVER_COPY)", e->backup);
    else
        delete_server_copy(e, &e->src, e->backup, "stored safely");
    e->backup[0] = '\0';
}

static void pb_close(void *state)
{
    pb_engine *e = state;
    if (!e)
        return;
    /* a run that created a backup but failed before committing leaves nothing behind on the server */
    drop_uncommitted(e, "this backup failed");
    free(e->colls_json);
    memset(e->password, 0, sizeof e->password);
    memset(e->src.token, 0, sizeof e->src.token);
    free(e);
}

/* ---- verify / restore sink -------------------------------------------------------------- */

typedef struct pb_sink {
    sk_writer base;
    pb_engine *e;
    int verify;
    sk_drill_report *drill;     /* a restore drill: verify, and count the collections */
    char *summary;
    int fd;
    pb_client target;
    char safety[128];           /* the safety copy taken before the restore, "" when none */
} pb_sink;

/* One collection's count (collection_counts' pb_resp_collections callback). */
typedef struct count_ctx {
    pb_client *c;
    pb_resp *r;       /* the records list reply (the collection list's reply is parsed already) */
    json_t *out;
    sk_err *err;
} count_ctx;

static int count_one(void *ud, const char *name)
{
    count_ctx *x = ud;
    char path[700], what[400];
    long long n;
    snprintf(what, sizeof what, "counting the records of PocketBase's collection '%.200s%s' failed", name,
             strlen(name) > 200 ? "..." : "");
    if (pb_records_count_path(name, path, sizeof path) != 0) {
        /* PocketBase names are at most 255 word characters: never cut one into another's name */
        sk_fail(x->err, SK_ERR_SOURCE, 0, "%s: its name is %zu bytes, too long for a request path", what,
                strlen(name));
        return -1;
    }
    if (pb_request(x->c, "GET", path, NULL, 1, 60, x->r) != 0 || x->r->status != 200) {
        reply_fail(x->err, SK_ERR_SOURCE, x->r, what, NULL);
        return -1;
    }
    if (pb_resp_total_items(x->r, &n) != 0) {
        reply_fail(x->err, SK_ERR_SOURCE, x->r, what, "the reply has no totalItems count >= 0");
        return -1;
    }
    if (json_object_set_new(x->out, name, json_integer((json_int_t)n)) != 0) {
        sk_fail(x->err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        return -1;
    }
    return 0;
}

/* Records per collection of the server's own (non-system) collections, through the records list's
 * totalItems, as a JSON object {"name": records} (views left out with `skip_views`). NULL (err set)
 * when they cannot be told. The replies are read by pb_resp_collections and pb_resp_total_items
 * (pb_http.h; fuzzed by tests/fuzz/fuzz_pb_collections.c). */
static json_t *collection_counts(pb_client *c, int skip_views, sk_err *err)
{
    pb_resp *list = malloc(sizeof *list), *r = malloc(sizeof *r);
    json_t *out = NULL;
    if (!list || !r) {
        sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        goto out;
    }
    if (pb_request(c, "GET", "/api/collections?perPage=500&fields=name,system,type", NULL, 1, 60, list) != 0 ||
        list->status != 200) {
        reply_fail(err, SK_ERR_SOURCE, list, "listing PocketBase's collections failed", NULL);
        goto out;
    }
    if (!(out = json_object())) {
        sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        goto out;
    }
    count_ctx x = { c, r, out, err };
    int n = pb_resp_collections(list, skip_views, count_one, &x);
    if (n < 0) {
        if (n == -1)
            sk_fail(err, SK_ERR_SOURCE, 0, "PocketBase's collection list is unreadable or too long");
        json_decref(out);
        out = NULL;
    }
out:
    free(list);
    free(r);
    return out;
}

/* Records in the server's own (non-system) collections: what a restore would replace. `where`
 * gets "N in 'name'" of the first collection with records. -1 when it cannot be told (err set). */
static long long server_records(pb_engine *e, pb_client *c, char *where, size_t wsz, sk_err *err)
{
    (void)e;
    where[0] = '\0';
    json_t *counts = collection_counts(c, 0, err);
    if (!counts)
        return -1;
    long long total = 0;
    const char *name;
    json_t *v;
    json_object_foreach(counts, name, v) {
        long long n = (long long)json_integer_value(v);
        if (n > 0 && !where[0])
            snprintf(where, wsz, "%lld in '%s'", n, name);
        total += n;
    }
    json_decref(counts);
    return total;
}

/* Save the target's current state as a new server-side backup before the restore replaces it.
 * PocketBase keeps pb_data/backups across a restore, so the copy is there to undo it. */
static sk_rc take_safety_copy(pb_sink *s, sk_err *err)
{
    pb_engine *e = s->e;
    char name[128], stamp[32];
    time_t tt = (time_t)(now_ms(e) / 1000);
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &tm);
    snprintf(name, sizeof name, "snapkeep_before_restore_%s_%04x.zip", stamp, (unsigned)(getpid() ^ rand()) & 0xffff);
    int created = 0;
    double secs = 0;
    sk_rc rc = create_backup(e, &s->target, name, &created, &secs, err);
    if (rc == SK_OK && !created)
        rc = sk_fail(err, SK_ERR_SOURCE, 0, "a backup named %s already exists on the server", name);
    if (rc != SK_OK) {
        sk_err_prefix(err, "refusing to restore (the server was not touched): could not save PocketBase's current "
                           "state first (set SNAPKEEP_POCKETBASE_RESTORE_SAFETY_COPY=false to restore without it): ");
        return rc;
    }
    snprintf(s->safety, sizeof s->safety, "%s", name);
    sk_log_msg(lg(e), SK_LOG_INFO,
               "saved PocketBase's current state as %s on the server (in %.1f s) before replacing it: to undo the "
               "restore, restore %s in PocketBase's admin UI (Settings > Backups)", name, secs, name);
    return SK_OK;
}

static sk_rc sink_write(sk_writer *w, const void *buf, size_t len, sk_err *err)
{
    pb_sink *s = (pb_sink *)w;
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(s->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sk_fail(err, SK_ERR_CONFIG, errno, "spooling the zip into SNAPKEEP_SPOOL_DIR='%s': %s", s->e->spool,
                           strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return SK_OK;
}

static long read_at(void *ud, void *buf, size_t len, uint64_t off)
{
    pb_sink *s = ud;
    ssize_t n;
    do
        n = pread(s->fd, buf, len, (off_t)off);
    while (n < 0 && errno == EINTR);
    return (long)n;
}

/* Wait for PocketBase to restart after a restore request: its lock is taken, the port closes, the
 * server comes back. A lock released without a restart means the restore failed (server log only). */
static sk_rc wait_restart(pb_engine *e, pb_client *c, const char *name, sk_err *err)
{
    double t0 = sk_monotonic();
    int saw_lock = 0, saw_down = 0;
    for (;;) {
        long st;
        int cb = health(c, 1, 5, &st);
        double el = sk_monotonic() - t0;
        if (cb == -2 || (st && st != 200)) {
            if (!saw_down)
                sk_log_msg(lg(e), SK_LOG_INFO, "PocketBase is restarting with the restored data");
            saw_down = 1;
        } else if (saw_down) {
            sk_log_stage(lg(e), "restart", 0, el, "PocketBase is back after %.1f s", el);
            return SK_OK;
        } else if (cb == 0) {
            saw_lock = 1;
        } else if (saw_lock) {
            return sk_fail(err, SK_ERR_SOURCE, 0,
                           "PocketBase released its lock without restarting: the restore of '%s' failed on the server "
                           "and it kept its current data; see PocketBase's log (\"Failed to restore backup\")", name);
        } else if (el > 20) {
            return sk_fail(err, SK_ERR_SOURCE, 0,
                           "PocketBase did not start restoring '%s' within 20 s; see PocketBase's log", name);
        }
        if (el > (double)e->restore_wait_s)
            return sk_fail(err, SK_ERR_SOURCE, 0,
                           "PocketBase at %s did not come back within %ld s after the restore of '%s' "
                           "(SNAPKEEP_POCKETBASE_RESTORE_WAIT); check the server", c->shown, e->restore_wait_s, name);
        if (nap(e, 100))
            return cancelled(err);
    }
}

static sk_rc restore_to_server(pb_sink *s, uint64_t size, sk_err *err)
{
    pb_engine *e = s->e;
    pb_client *c = &s->target;
    char name[128], esc[300], path[400], sz[32];
    sk_rc rc = SK_OK;
    int started = 0;            /* PocketBase accepted the restore request */
    long long now = (long long)(now_ms(e) / 1000);
    char stamp[32];
    time_t tt = (time_t)now;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &tm);
    snprintf(name, sizeof name, "snapkeep_restore_%s_%04x.zip", stamp, (unsigned)(getpid() ^ rand()) & 0xffff);
    pb_resp *r = malloc(sizeof *r);
    if (!r)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    sk_fmt_bytes(size, sz, sizeof sz);
    if (e->safety_copy && !s->drill && (rc = take_safety_copy(s, err)) != SK_OK)
        goto out;
    double t0 = sk_monotonic();
    for (int attempt = 0; attempt < 2; attempt++) {
        pb_upload(c, "/api/backups/upload", "file", name, size, read_at, s, e->stall_s, r);
        if (r->status == 401 && attempt == 0 && (rc = login(e, c, 60, err)) == SK_OK)
            continue;
        break;
    }
    if (rc != SK_OK)
        goto out;
    if (r->curl == CURLE_ABORTED_BY_CALLBACK) {
        rc = cancelled(err);
        goto out;
    }
    if (r->status != 204) {
        char what[1200];
        snprintf(what, sizeof what, "uploading the backup to PocketBase at %s failed", c->shown);
        rc = reply_fail(err, SK_ERR_SOURCE, r, what,
                        r->status == 413 ? "this PocketBase (before v0.23.12) limits uploads to 32 MiB: upgrade it, or "
                                           "restore by hand (stop it, unzip the backup into pb_data)"
                        : r->status == 404 || r->status == 405 ? "this PocketBase has no upload route (before v0.18): upgrade it"
                                                     : NULL);
        goto out;
    }
    sk_log_stage(lg(e), "upload", size, sk_monotonic() - t0, "uploaded %s to %s (%s)", name, c->shown, sz);

    pb_escape(name, esc, sizeof esc);
    snprintf(path, sizeof path, "/api/backups/%s/restore", esc);
    int64_t deadline = now_ms(e) + e->lock_wait_s * 1000;
    int waited = 0;
    for (;;) {
        pb_request(c, "POST", path, NULL, 1, 60, r);
        if (r->status == 204)
            break;
        if (r->status == 400 && message_starts(r, "Try again later")) {
            if (now_ms(e) >= deadline) {
                rc = sk_fail(err, SK_ERR_BUSY, 0, "PocketBase at %s is still running another backup or restore after "
                             "%ld s; retry later or raise SNAPKEEP_POCKETBASE_LOCK_WAIT", c->shown, e->lock_wait_s);
                break;
            }
            if ((rc = wait_lock_free(e, c, deadline, &waited, err)) != SK_OK)
                break;
            continue;
        }
        rc = reply_fail(err, SK_ERR_SOURCE, r, "PocketBase refused to restore the uploaded backup", NULL);
        break;
    }
    if (rc != SK_OK) {
        delete_server_copy(e, c, name, "the restore did not start");
        goto out;
    }
    started = 1;
    sk_log_msg(lg(e), SK_LOG_INFO, "PocketBase accepted the restore of %s; waiting for it to restart (up to %ld s)", name,
               e->restore_wait_s);
    if ((rc = wait_restart(e, c, name, err)) != SK_OK)
        goto out;

    /* after the restart: health, then a login with the configured credentials (the restored
     * data brings back the superusers as they were at backup time) */
    long st;
    int cb = health(c, 0, 30, &st);
    if (cb == -2 || st != 200) {
        rc = sk_fail(err, SK_ERR_SOURCE, st, "PocketBase at %s does not answer /api/health after the restore", c->shown);
        goto out;
    }
    sk_err lerr;
    sk_err_clear(&lerr);
    if (login(e, c, 60, &lerr) == SK_OK) {
        cb = health(c, 1, 30, &st);
        sk_log_msg(lg(e), SK_LOG_INFO, "PocketBase is healthy after the restore (superuser login ok, canBackup=%s)",
                   cb == 1 ? "true" : cb == 0 ? "false" : "?");
        if (e->keep)
            sk_log_msg(lg(e), SK_LOG_INFO, "kept the uploaded copy %s on PocketBase "
                       "(SNAPKEEP_POCKETBASE_KEEP_SERVER_COPY)", name);
        else
            delete_server_copy(e, c, name, "restore done");
    } else {
        sk_log_msg(lg(e), SK_LOG_WARN,
                   "PocketBase is up after the restore, but the configured superuser cannot log in (%s): the restored "
                   "data holds the superusers as they were at backup time. The uploaded copy %s stays in "
                   "pb_data/backups; delete it in the admin UI", lerr.msg, name);
    }
    if (s->safety[0])
        sk_log_msg(lg(e), SK_LOG_INFO, "the state before the restore stays on the server as %s (restore it in "
                   "PocketBase's admin UI to undo this restore; delete it there when no longer needed)", s->safety);
out:
    if (rc != SK_OK && !started && s->safety[0]) /* nothing was replaced: the copy is of no use */
        delete_server_copy(e, c, s->safety, "the restore did not start");
    free(r);
    return rc;
}

static sk_rc sink_finish(sk_writer *w, sk_err *err)
{
    pb_sink *s = (pb_sink *)w;
    pb_engine *e = s->e;
    pb_zipinfo zi;
    double t0 = sk_monotonic();
    struct stat sb;
    if (fstat(s->fd, &sb) != 0)
        return sk_fail(err, SK_ERR_INTERNAL, errno, "stat of the spooled zip: %s", strerror(errno));
    sk_rc rc = pb_zip_check_fd(s->fd, e->spool, &zi, s->drill ? &s->drill->collections_json : NULL, err);
    if (rc != SK_OK) {
        if (!s->verify)
            sk_err_prefix(err, "refusing to restore (the server was not touched): ");
        return rc;
    }
    char dbsz[32];
    sk_fmt_bytes(zi.data_db_size, dbsz, sizeof dbsz);
    char line[512];
    snprintf(line, sizeof line,
             "zip ok: %llu entries, CRCs ok; data.db %s, integrity_check ok, %lld tables; %llu storage files",
             (unsigned long long)zi.entries, dbsz, zi.tables, (unsigned long long)zi.storage_files);
    sk_log_stage(lg(e), "check", (uint64_t)sb.st_size, sk_monotonic() - t0, "%s", line);
    if (s->verify) {
        if (s->summary)
            snprintf(s->summary, 512, "%s", line);
        if (s->drill && !s->drill->collections_json)
            sk_log_msg(lg(e), SK_LOG_WARN, "the collections of data.db could not be counted: records are not compared");
        if (!s->drill || !s->target.base[0])
            return SK_OK;
        /* a scratch PocketBase: restore there, then count what the server serves */
        if ((rc = restore_to_server(s, (uint64_t)sb.st_size, err)) != SK_OK) {
            sk_err_prefix(err, "drill: restoring into the scratch PocketBase: ");
            return rc;
        }
        if ((rc = login(e, &s->target, 60, err)) != SK_OK) {
            sk_err_prefix(err, "drill: after the restore, the scratch PocketBase refuses the configured superuser "
                               "(the backup's superusers apply there now): ");
            return rc;
        }
        json_t *served = collection_counts(&s->target, 1, err);
        if (!served)
            return err->rc;
        free(s->drill->collections_json);
        s->drill->collections_json = json_dumps(served, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(s->summary, 512, "%s; restored into the scratch PocketBase %s, which serves %zu collection(s)",
                 line, s->target.shown, json_object_size(served));
        json_decref(served);
        return SK_OK;
    }
    return restore_to_server(s, (uint64_t)sb.st_size, err);
}

static void sink_abort(sk_writer *w)
{
    (void)w; /* the spool file is already unlinked; nothing was sent to the server */
}

static void sink_destroy(sk_writer *w)
{
    pb_sink *s = (pb_sink *)w;
    if (s->fd >= 0)
        close(s->fd);
    memset(s->target.token, 0, sizeof s->target.token);
    free(s);
}

static const sk_writer_type sink_type = { "pocketbase-sink", sink_write, sink_finish, sink_abort, sink_destroy };

static sk_rc sink_new(pb_engine *e, int verify, char *summary, pb_sink **out, sk_err *err)
{
    pb_sink *s = calloc(1, sizeof *s);
    if (!s)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    sk_writer_init(&s->base, &sink_type, NULL);
    s->e = e;
    s->verify = verify;
    s->summary = summary;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/snapkeep-pbspool-XXXXXX", e->spool);
    s->fd = mkstemp(path);
    if (s->fd < 0) {
        int e2 = errno;
        free(s);
        return sk_fail(err, SK_ERR_CONFIG, e2, "SNAPKEEP_SPOOL_DIR='%s': cannot create a scratch file: %s", e->spool,
                       strerror(e2));
    }
    unlink(path); /* only the descriptor holds it: nothing is left behind, whatever happens */
    *out = s;
    return SK_OK;
}

static sk_rc pb_verify_open(void *state, char *summary, sk_writer **sink, sk_err *err)
{
    pb_sink *s;
    if (sink_new(state, 1, summary, &s, err) != SK_OK)
        return err->rc;
    *sink = &s->base;
    return SK_OK;
}

/* Drill: the zip is spooled into an unlinked file (nothing is left, even after a kill), every CRC
 * is checked, data.db is extracted, checked with integrity_check and its collections counted. */
static sk_rc pb_drill_open(void *state, const sk_drill_opts *opts, sk_drill_report *rep, sk_writer **sink, sk_err *err)
{
    pb_sink *s;
    pb_engine *e = state;
    if (sink_new(e, 1, rep->summary, &s, err) != SK_OK)
        return err->rc;
    s->drill = rep;
    snprintf(rep->scratch, sizeof rep->scratch, "an unlinked spool file in %s", e->spool);
    if (e->drill_url[0]) {
        /* fail fast (before the download) when the scratch PocketBase is missing or refuses us */
        if (pb_client_init(&s->target, e->drill_url, "SNAPKEEP_DRILL_POCKETBASE_URL",
                           e->src.ca_file[0] ? e->src.ca_file : NULL, e->rt, err) != SK_OK ||
            login(e, &s->target, 60, err) != SK_OK) {
            sk_err_prefix(err, "drill: the scratch PocketBase: ");
            sink_destroy(&s->base);
            return err->rc;
        }
        snprintf(rep->scratch, sizeof rep->scratch, "the scratch PocketBase %s (via an unlinked spool file)",
                 s->target.shown);
    }
    if (opts->pause) {
        sk_log_msg(lg(e), SK_LOG_WARN, "pausing with the drill's spool file (SNAPKEEP_DEBUG_DRILL_PAUSE)");
        raise(SIGSTOP);
    }
    *sink = &s->base;
    return SK_OK;
}

static sk_rc pb_restore_open(void *state, const sk_restore_opts *opts, sk_writer **sink, sk_err *err)
{
    pb_engine *e = state;
    pb_sink *s = NULL;
    if (!opts->target || !*opts->target)
        return sk_fail(err, SK_ERR_USAGE, 0, "restore needs --to <PocketBase URL>, e.g. --to http://pocketbase:8090");
    if (sink_new(e, 0, NULL, &s, err) != SK_OK)
        return err->rc;
    if (pb_client_init(&s->target, opts->target, "--to", e->src.ca_file[0] ? e->src.ca_file : NULL, e->rt, err) !=
        SK_OK) {
        if (err->rc == SK_ERR_CONFIG)
            err->rc = SK_ERR_USAGE;
        goto fail;
    }
    /* fail fast on credentials and reachability, before the download; nothing changes yet */
    if (login(e, &s->target, 60, err) != SK_OK)
        goto fail;
    /* like a file or a database: data that is there is replaced only with --force */
    char where[400];
    long long recs = server_records(e, &s->target, where, sizeof where, err);
    if (recs != 0 && !opts->force) {
        if (recs < 0)
            sk_err_prefix(err, "cannot tell whether PocketBase at %s holds data, so the restore needs --force: ",
                          s->target.shown);
        else
            sk_fail(err, SK_ERR_USAGE, 0,
                    "PocketBase at %s holds data (%lld records, %s): a restore replaces ALL of it. Pass --force to "
                    "replace it%s", s->target.shown, recs, where,
                    e->safety_copy ? " (its current state is saved as a backup on the server first)" : "");
        err->rc = SK_ERR_USAGE;
        goto fail;
    }
    if (recs < 0) {
        sk_log_msg(lg(e), SK_LOG_WARN, "cannot tell whether PocketBase at %s holds data (%s); restoring anyway "
                   "(--force)", s->target.shown, err->msg);
        sk_err_clear(err);
    }
    sk_log_msg(lg(e), SK_LOG_INFO,
               "logged in to PocketBase at %s; once the backup passed every check, ALL its data will be replaced%s",
               s->target.shown, e->safety_copy ? " (after saving its current state on the server)" : "");
    *sink = &s->base;
    return SK_OK;
fail:
    sink_destroy(&s->base);
    return err->rc;
}

const sk_engine_type sk_engine_pocketbase = {
    .name = "pocketbase",
    .tag = "pocketbase",
    .ext = "zip",
    .settings = sk_pocketbase_settings,
    .open = pb_open,
    .dump = pb_dump,
    .restore_open = pb_restore_open,
    .verify_open = pb_verify_open,
    .close = pb_close,
    .after_backup = pb_after_backup,
    .drill_open = pb_drill_open,
    /* the zip is already deflated: level 3 saves 0.2% over level 1 (measured, see README) */
    .default_level = 1,
};
