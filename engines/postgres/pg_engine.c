/* pg_engine.c: the postgres engine's settings, connection and sk_engine_type glue. */
#include "pg_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_script.h"
#include "../../agent/redact.h"

const sk_setting_def sk_pg_settings[] = {
    { "DATABASE_URL", SK_SET_STRING, NULL, 0, 0, NULL, 1,
      "postgres source: libpq connection string or postgresql:// URI (unset: libpq's PG* variables)" },
    { "PGPASSWORD", SK_SET_STRING, NULL, 0, 0, NULL, 1,
      "postgres password when not in DATABASE_URL (PGPASSWORD_FILE for Docker secrets)" },
    { "SNAPKEEP_PG_ISOLATION", SK_SET_ENUM, "repeatable-read", 0, 0, "repeatable-read|serializable-deferrable", 0,
      "snapshot of the dump: REPEATABLE READ READ ONLY, or SERIALIZABLE READ ONLY DEFERRABLE" },
    { "SNAPKEEP_PG_EXCLUDE_SCHEMAS", SK_SET_STRING, NULL, 0, 0, NULL, 0,
      "comma-separated schema name patterns (* and ?) left out of the dump" },
    { "SNAPKEEP_PG_EXCLUDE_TABLES", SK_SET_STRING, NULL, 0, 0, NULL, 0,
      "comma-separated table patterns, schema.table or table, left out of the dump" },
    { "SNAPKEEP_PG_EXCLUDE_TABLE_DATA", SK_SET_STRING, NULL, 0, 0, NULL, 0,
      "comma-separated table patterns whose rows are left out (definition kept): audit logs, sessions" },
    { "SNAPKEEP_PG_SCHEMAS", SK_SET_STRING, NULL, 0, 0, NULL, 0,
      "comma-separated schema patterns: dump only these schemas' objects (like pg_dump -n)" },
    { "SNAPKEEP_PG_TABLES", SK_SET_STRING, NULL, 0, 0, NULL, 0,
      "comma-separated table patterns: dump only these tables and their sequences (like pg_dump -t)" },
    { "SNAPKEEP_PG_CONTENT", SK_SET_ENUM, "all", 0, 0, "all|schema-only|data-only", 0,
      "what the dump holds: everything, the definitions only, or the rows only" },
    { "SNAPKEEP_PG_LOCK_TIMEOUT", SK_SET_INT, "0", 0, 86400, NULL, 0,
      "seconds to wait for the dump's ACCESS SHARE table locks (0 = no limit)" },
    { "SNAPKEEP_PG_NEWER_MAJOR", SK_SET_ENUM, "refuse", 0, 0, "refuse|warn", 0,
      "a server newer than PostgreSQL 18 (the newest tested): refuse to dump it, or warn and dump best-effort" },
    { "SNAPKEEP_PG_DATABASES", SK_SET_STRING, NULL, 0, 0, NULL, 0,
      "several databases of the server in one job: comma-separated names, one artifact each" },
    { "SNAPKEEP_PG_GLOBALS", SK_SET_BOOL, "false", 0, 0, NULL, 0,
      "also store the server's roles as pgsql_globals_<time>.sql.zst (needs a superuser; holds password hashes)" },
    { "SNAPKEEP_PG_DATABASE", SK_SET_NAME, NULL, 0, 0, NULL, 0,
      "the database to dump, instead of the one DATABASE_URL names (set per database by SNAPKEEP_PG_DATABASES)" },
    { "SNAPKEEP_PG_ARTIFACT", SK_SET_ENUM, "database", 0, 0, "database|globals", 0,
      "what this job stores: the database, or the server's roles (set for you by SNAPKEEP_PG_GLOBALS)" },
    { "SNAPKEEP_DRILL_PG_URL", SK_SET_STRING, NULL, 0, 0, NULL, 1,
      "restore drills: the server (connection string or URI, password included or from PGPASSFILE) where the "
      "drill's scratch database is created and dropped (default: the source server, as DATABASE_URL)" },
    { NULL, 0, NULL, 0, 0, NULL, 0, NULL },
};

typedef struct pg_engine {
    int globals;      /* SNAPKEEP_PG_ARTIFACT=globals: the roles script, not a database */
    char *conninfo;   /* secret: never printed */
    char *password;   /* secret */
    char **patterns[5];
    sk_pg_dump_opts opts;
    const sk_runtime *rt;
    char *rows_json;  /* rows per table of the last dump (info->table_rows_json points here) */
    char *drill_url;  /* secret: SNAPKEEP_DRILL_PG_URL, or NULL */
} pg_engine;

/* Whether a failed connection attempt may succeed later without any change by the user: the server
 * is down or restarting, or out of connection slots. Authentication failures, unknown databases or
 * roles, bad parameters are final. libpq gives no SQLSTATE for a failed connection, so this reads
 * its message (the server's part is English unless lc_messages says otherwise: then no retry). */
static int transient_connect_error(const char *msg)
{
    static const char *const signs[] = {
        "Connection refused",                        /* server down, port closed */
        "No such file or directory",                 /* its Unix socket is gone while it is down */
        "the database system is starting up",        /* 57P03 */
        "the database system is shutting down",      /* 57P03 */
        "the database system is in recovery mode",   /* 57P03 */
        "the database system is not yet accepting connections", /* 57P03 */
        "the database system is not accepting connections",     /* 57P03 */
        "too many clients already",                  /* 53300 */
        "remaining connection slots are reserved",   /* 53300 */
        "too many connections for",                  /* 53300: a role's or database's CONNECTION LIMIT */
        "server closed the connection unexpectedly", /* the server died during start-up */
        "Connection reset by peer",
        "Temporary failure in name resolution",      /* a container restarting under compose */
        "timeout expired",                           /* connect_timeout */
    };
    for (size_t i = 0; i < sizeof signs / sizeof signs[0]; i++)
        if (strstr(msg, signs[i]))
            return 1;
    return 0;
}

PGconn *sk_pg_connect(const char *conninfo, const char *password, const char *what, sk_err *err)
{
    const char *keys[4], *vals[4];
    int n = 0;
    keys[n] = "dbname";
    vals[n++] = conninfo ? conninfo : "";
    if (password && *password) {
        keys[n] = "password";
        vals[n++] = password;
    }
    keys[n] = "fallback_application_name";
    vals[n++] = "snapkeep";
    keys[n] = NULL;
    vals[n] = NULL;
    if (conninfo && *conninfo) {
        /* libpq's parse errors quote fragments of the string, the password included
         * ("invalid percent-encoded token: \"Pa%ss...\""): keep the reason, mask the quotes */
        char *perr = NULL;
        PQconninfoOption *parsed = PQconninfoParse(conninfo, &perr);
        if (!parsed) {
            char msg[600];
            sk_redact_quoted(perr ? perr : "out of memory", msg, sizeof msg);
            size_t l = strlen(msg);
            while (l > 0 && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
                msg[--l] = '\0';
            PQfreemem(perr);
            int target = strstr(what, "restore") != NULL;
            return sk_fail(err, target ? SK_ERR_USAGE : SK_ERR_CONFIG, 0,
                           "the %s's connection string is malformed: %s (check %s; percent-encode special "
                           "characters of a URL's password)", what, msg, target ? "--to" : "DATABASE_URL"), NULL;
        }
        PQconninfoFree(parsed);
    }
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c) {
        sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory connecting to the %s", what);
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        /* libpq's message names host/port/user and the reason, never the password */
        char msg[600];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
        size_t l = strlen(msg);
        while (l > 0 && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
            msg[--l] = '\0';
        sk_fail(err, SK_ERR_SOURCE, 0, "cannot connect to the %s: %s (check DATABASE_URL or PGHOST/PGPORT/PGUSER/"
                                       "PGDATABASE/PGPASSWORD)", what, msg);
        err->retryable = transient_connect_error(msg);
        PQfinish(c);
        return NULL;
    }
    return c;
}

static void free_patterns(char **p)
{
    if (!p)
        return;
    for (size_t i = 0; p[i]; i++)
        free(p[i]);
    free(p);
}

/* "a, b ,c" -> {"a","b","c",NULL}; NULL when unset or empty. */
static sk_rc split_patterns(const char *name, const char *v, char ***out, sk_err *err)
{
    *out = NULL;
    if (!v || !*v)
        return SK_OK;
    size_t n = 1;
    for (const char *p = v; *p; p++)
        n += *p == ',';
    char **arr = calloc(n + 1, sizeof *arr);
    if (!arr)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
    size_t k = 0;
    const char *p = v;
    while (*p) {
        size_t len = strcspn(p, ",");
        const char *s = p, *e = p + len;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > s) {
            arr[k] = strndup(s, (size_t)(e - s));
            if (!arr[k]) {
                free_patterns(arr);
                return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
            }
            k++;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    if (k == 0) {
        free(arr);
        return sk_fail(err, SK_ERR_CONFIG, 0, "%s holds no pattern: give comma-separated names such as "
                                              "'public.audit_*,sessions'", name);
    }
    *out = arr;
    return SK_OK;
}

static void key_safe(const char *in, char *out, size_t outsz)
{
    size_t o = 0;
    for (; in && *in && o + 1 < outsz; in++) {
        char c = *in;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                 c == '_' || c == '.';
        out[o++] = ok ? c : '-';
    }
    out[o] = '\0';
    if (!o || out[0] == '.')
        snprintf(out, outsz, "db");
}

/* The database the connection will reach: dbname from the URL, else libpq's defaults (PGDATABASE,
 * then the user name). */
static void database_name(const char *conninfo, char *out, size_t outsz)
{
    char *e = NULL;
    const char *db = NULL, *user = NULL;
    PQconninfoOption *opts = conninfo && *conninfo ? PQconninfoParse(conninfo, &e) : NULL;
    PQfreemem(e);
    PQconninfoOption *defs = PQconndefaults();
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (strcmp(o->keyword, "dbname") == 0 && o->val && *o->val)
            db = o->val;
        if (strcmp(o->keyword, "user") == 0 && o->val && *o->val)
            user = o->val;
    }
    for (PQconninfoOption *o = defs; o && o->keyword; o++) {
        if (!db && strcmp(o->keyword, "dbname") == 0 && o->val && *o->val)
            db = o->val;
        if (!user && strcmp(o->keyword, "user") == 0 && o->val && *o->val)
            user = o->val;
    }
    key_safe(db ? db : user, out, outsz);
    PQconninfoFree(opts);
    PQconninfoFree(defs);
}

/* Append " keyword='value'" at w (escaping ' and \), NUL-terminated; returns the length added.
 * The caller sized the buffer for the worst case. */
static size_t append_kv(char *w, const char *keyword, const char *value)
{
    char *p = w;
    *p++ = ' ';
    for (const char *k = keyword; *k; k++)
        *p++ = *k;
    *p++ = '=';
    *p++ = '\'';
    for (const char *v = value; *v; v++) {
        if (*v == '\'' || *v == '\\')
            *p++ = '\\';
        *p++ = *v;
    }
    *p++ = '\'';
    *p = '\0';
    return (size_t)(p - w);
}

/* `conninfo` (a string or URI; NULL: libpq defaults) with its database replaced by `db`, as a
 * keyword=value string (values quoted as libpq requires). NULL on failure. */
static char *with_database(const char *conninfo, const char *db)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo && *conninfo ? conninfo : "", &perr);
    PQfreemem(perr);
    if (!opts)
        return NULL;
    size_t cap = 64 + 2 * strlen(db);
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (o->val)
            cap += strlen(o->keyword) + 2 * strlen(o->val) + 4;
    char *out = malloc(cap), *w = out;
    for (PQconninfoOption *o = opts; out && o->keyword; o++) {
        const char *v = strcmp(o->keyword, "dbname") == 0 ? NULL : o->val;
        if (!v || !*v)
            continue;
        w += append_kv(w, o->keyword, v);
    }
    if (out)
        append_kv(w, "dbname", db);
    PQconninfoFree(opts);
    return out;
}

char *sk_pg_with_database(const char *conninfo, const char *db) { return with_database(conninfo, db); }

static void pg_close(void *state)
{
    pg_engine *e = state;
    if (!e)
        return;
    free(e->rows_json);
    if (e->drill_url)
        memset(e->drill_url, 0, strlen(e->drill_url));
    free(e->drill_url);
    if (e->conninfo) {
        memset(e->conninfo, 0, strlen(e->conninfo));
        free(e->conninfo);
    }
    if (e->password) {
        memset(e->password, 0, strlen(e->password));
        free(e->password);
    }
    for (int i = 0; i < 5; i++)
        free_patterns(e->patterns[i]);
    free(e);
}

static sk_rc pg_open(const sk_config *cfg, const sk_runtime *rt, void **state, sk_dump_info *info, sk_err *err)
{
    pg_engine *e = calloc(1, sizeof *e);
    if (!e)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
    e->rt = rt;
    const char *url = sk_config_str(cfg, "DATABASE_URL");
    const char *pw = sk_config_str(cfg, "PGPASSWORD");
    if (url) {
        char *perr = NULL;
        PQconninfoOption *o = PQconninfoParse(url, &perr);
        if (!o) {
            /* libpq's parse message may quote a fragment of the password ("invalid
             * percent-encoded token: \"Pa%ss...\""): mask quoted parts, keep the first line */
            char m[300];
            sk_redact_quoted(perr ? perr : "out of memory", m, sizeof m);
            m[strcspn(m, "\n")] = '\0';
            PQfreemem(perr);
            pg_close(e);
            return sk_fail(err, SK_ERR_CONFIG, 0, "DATABASE_URL is not a valid libpq connection string or "
                                                  "postgresql:// URI: %s", m);
        }
        PQconninfoFree(o);
        if (!(e->conninfo = strdup(url))) {
            pg_close(e);
            return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
        }
    }
    if (pw && !(e->password = strdup(pw))) {
        pg_close(e);
        return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
    }
    static const char *const pat_names[5] = { "SNAPKEEP_PG_EXCLUDE_SCHEMAS", "SNAPKEEP_PG_EXCLUDE_TABLES",
                                              "SNAPKEEP_PG_EXCLUDE_TABLE_DATA", "SNAPKEEP_PG_SCHEMAS",
                                              "SNAPKEEP_PG_TABLES" };
    for (int i = 0; i < 5; i++) {
        if (split_patterns(pat_names[i], sk_config_str(cfg, pat_names[i]), &e->patterns[i], err)) {
            pg_close(e);
            return err->rc;
        }
    }
    const char *iso = sk_config_str(cfg, "SNAPKEEP_PG_ISOLATION");
    e->opts.serializable_deferrable = iso && strcmp(iso, "serializable-deferrable") == 0;
    e->opts.lock_timeout_ms = (int)sk_config_int(cfg, "SNAPKEEP_PG_LOCK_TIMEOUT", 0) * 1000;
    const char *newer = sk_config_str(cfg, "SNAPKEEP_PG_NEWER_MAJOR");
    e->opts.newer_major_warn = newer && strcmp(newer, "warn") == 0;
    e->opts.exclude_schemas = (const char *const *)e->patterns[0];
    e->opts.exclude_tables = (const char *const *)e->patterns[1];
    e->opts.exclude_data = (const char *const *)e->patterns[2];
    e->opts.include_schemas = (const char *const *)e->patterns[3];
    e->opts.include_tables = (const char *const *)e->patterns[4];
    const char *content = sk_config_str(cfg, "SNAPKEEP_PG_CONTENT");
    e->opts.content = content && strcmp(content, "schema-only") == 0 ? SK_PG_SCHEMA_ONLY
                      : content && strcmp(content, "data-only") == 0 ? SK_PG_DATA_ONLY : SK_PG_ALL;
    const char *artifact = sk_config_str(cfg, "SNAPKEEP_PG_ARTIFACT");
    e->globals = artifact && strcmp(artifact, "globals") == 0;
    const char *only = sk_config_str(cfg, "SNAPKEEP_PG_DATABASE");
    if (only) {
        char *ci = with_database(e->conninfo, only);
        if (!ci) {
            pg_close(e);
            return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
        }
        if (e->conninfo)
            memset(e->conninfo, 0, strlen(e->conninfo));
        free(e->conninfo);
        e->conninfo = ci;
    }
    const char *drill = sk_config_str(cfg, "SNAPKEEP_DRILL_PG_URL");
    if (drill && !(e->drill_url = strdup(drill))) {
        pg_close(e);
        return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
    }
    const char *db = sk_config_str(cfg, "SNAPKEEP_DB_NAME");
    if (db)
        snprintf(info->database, sizeof info->database, "%s", db);
    else if (e->globals)
        snprintf(info->database, sizeof info->database, "globals");
    else
        database_name(e->conninfo, info->database, sizeof info->database);
    snprintf(info->server_version, sizeof info->server_version, "PostgreSQL");
    snprintf(info->facts_json, sizeof info->facts_json, "{}");
    *state = e;
    return SK_OK;
}

static sk_rc pg_dump_entry(void *state, sk_writer *out, sk_dump_info *info, sk_err *err)
{
    pg_engine *e = state;
    free(e->rows_json);
    e->rows_json = NULL;
    info->table_rows_json = NULL;
    PGconn *c = sk_pg_connect(e->conninfo, e->password, "postgres source", err);
    if (!c)
        return err->rc;
    if (e->globals) {
        sk_rc grc = sk_pg_dump_globals(c, out, err);
        snprintf(info->server_version, sizeof info->server_version, "PostgreSQL %s",
                 PQparameterStatus(c, "server_version") ? PQparameterStatus(c, "server_version") : "");
        snprintf(info->facts_json, sizeof info->facts_json, "{\"artifact\":\"globals\"}");
        PQfinish(c);
        if (grc == SK_OK && e->rt && e->rt->log)
            sk_log_msg(e->rt->log, SK_LOG_INFO, "postgres roles script written (it holds password hashes)");
        return grc;
    }
    sk_pg_dump_stats st;
    double t0 = sk_monotonic();
    e->opts.count_tables = 1; /* the guards compare per-table row counts (guard.h) */
    sk_rc rc = sk_pg_dump_conn(c, &e->opts, out, e->rt, &st, err);
    /* a connection lost mid-dump (the server shut down or restarted) is worth another attempt */
    if (rc == SK_ERR_SOURCE && PQstatus(c) == CONNECTION_BAD)
        err->retryable = 1;
    PQfinish(c);
    if (rc)
        return rc;
    info->table_rows_json = e->rows_json = st.table_rows_json;
    snprintf(info->server_version, sizeof info->server_version, "%s", st.server_version);
    snprintf(info->facts_json, sizeof info->facts_json,
             "{\"objects\":%ld,\"tables\":%ld,\"rows\":%llu,\"order_warnings\":%ld,\"isolation\":\"%s\"}",
             st.objects, st.tables, (unsigned long long)st.rows, st.order_warnings,
             e->opts.serializable_deferrable ? "serializable-deferrable" : "repeatable-read");
    if (st.tables == 0 && e->opts.content != SK_PG_SCHEMA_ONLY && e->rt && e->rt->log)
        sk_log_msg(e->rt->log, SK_LOG_WARN, "the database has no user tables (or all are excluded): the backup is "
                   "stored, but it holds no data. Check that DATABASE_URL (or SNAPKEEP_PG_DATABASE) names the "
                   "application's database");
    if (e->rt && e->rt->log)
        sk_log_msg(e->rt->log, SK_LOG_INFO, "postgres dump: %ld objects, %ld tables, %llu rows in %.1f s%s",
                   st.objects, st.tables, (unsigned long long)st.rows, sk_monotonic() - t0,
                   st.order_warnings ? " (some dependency loops were broken; check the restore)" : "");
    return SK_OK;
}

/* A connection to the maintenance database 'postgres' of the server `target` names, with the
 * target's other parameters; the target's database name goes to `name`. */
static PGconn *maintenance_connect(const char *target, const char *password, char *name, size_t namesz,
                                   const char *why, sk_err *err)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(target ? target : "", &perr);
    PQfreemem(perr);
    if (!opts) {
        sk_fail(err, SK_ERR_USAGE, 0, "the restore target is not a valid connection string or URI");
        return NULL;
    }
    const char *keys[64], *vals[64];
    int n = 0;
    const char *db = NULL;
    for (PQconninfoOption *o = opts; o->keyword && n < 60; o++) {
        if (!o->val || !*o->val)
            continue;
        if (strcmp(o->keyword, "dbname") == 0) {
            db = o->val;
            continue;
        }
        keys[n] = o->keyword;
        vals[n++] = o->val;
    }
    if (!db) {
        PQconninfoFree(opts);
        sk_fail(err, SK_ERR_USAGE, 0, "the restore target names no database to %s (add /dbname to the URL)", why);
        return NULL;
    }
    snprintf(name, namesz, "%s", db);
    if (password && *password) {
        keys[n] = "password";
        vals[n++] = password;
    }
    keys[n] = "dbname";
    vals[n++] = "postgres";
    keys[n] = NULL;
    vals[n] = NULL;
    PGconn *c = PQconnectdbParams(keys, vals, 0);
    PQconninfoFree(opts);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        sk_fail(err, SK_ERR_SOURCE, 0, "cannot connect to the maintenance database 'postgres' to %s '%s': %s", why,
                name, c ? PQerrorMessage(c) : "out of memory");
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* Run "<verb> DATABASE <name>" on the maintenance connection. */
static sk_rc database_ddl(PGconn *c, const char *verb, const char *name, sk_err *err)
{
    char *q = PQescapeIdentifier(c, name, strlen(name));
    char sql[600];
    snprintf(sql, sizeof sql, "%s DATABASE %s", verb, q ? q : "\"\"");
    PQfreemem(q);
    PGresult *r = PQexec(c, sql);
    sk_rc rc = SK_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = sk_fail(err, SK_ERR_SOURCE, 0, "%s DATABASE for the restore target '%s' failed: %s", verb, name,
                     PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
                                                                   : PQerrorMessage(c));
    PQclear(r);
    return rc;
}

sk_rc sk_pg_create_database(const char *target, const char *password, char *name, size_t namesz, sk_err *err)
{
    PGconn *c = maintenance_connect(target, password, name, namesz, "create", err);
    if (!c)
        return err->rc;
    sk_rc rc = database_ddl(c, "CREATE", name, err);
    PQfinish(c);
    return rc;
}

sk_rc sk_pg_drop_database(const char *target, const char *password, sk_err *err)
{
    char name[256];
    PGconn *c = maintenance_connect(target, password, name, sizeof name, "drop", err);
    if (!c)
        return err->rc;
    sk_rc rc = database_ddl(c, "DROP", name, err);
    PQfinish(c);
    return rc;
}

/* Undo connect_target()'s CREATE DATABASE after a failure; failures are logged. */
static void drop_created(pg_engine *e, const char *target)
{
    sk_err derr;
    sk_err_clear(&derr);
    sk_log *log = e->rt ? e->rt->log : NULL;
    if (sk_pg_drop_database(target, e->password, &derr) == SK_OK)
        sk_log_msg(log, SK_LOG_INFO, "restore: dropped the database snapkeep created for this restore");
    else
        sk_log_msg(log, SK_LOG_WARN, "restore: could not drop the database snapkeep created for this restore (%s); "
                   "drop it by hand", derr.msg);
}

/* Connect to the restore target; a database that does not exist yet is created first (*created). */
static PGconn *connect_target(pg_engine *e, const char *target, int *created, sk_err *err)
{
    *created = 0;
    PGconn *c = sk_pg_connect(target, e->password, "restore target", err);
    if (c || !strstr(err->msg, "database \"") || !strstr(err->msg, "\" does not exist"))
        return c;
    sk_err_clear(err);
    char name[256];
    if (sk_pg_create_database(target, e->password, name, sizeof name, err))
        return NULL;
    *created = 1;
    if (e->rt && e->rt->log)
        sk_log_msg(e->rt->log, SK_LOG_INFO, "restore: created database '%s'", name);
    if (!(c = sk_pg_connect(target, e->password, "restore target", err))) {
        drop_created(e, target);
        *created = 0;
    }
    return c;
}

static sk_rc pg_restore_open(void *state, const sk_restore_opts *opts, sk_writer **sink, sk_err *err)
{
    pg_engine *e = state;
    if (!opts->target || !*opts->target)
        return sk_fail(err, SK_ERR_USAGE, 0, "restore needs --to <database URL> (postgresql://user@host/db)");
    /* Without --force, only an empty database is a target: the script's drop section would
     * otherwise replace same-named objects of whatever lives there. */
    if (e->globals) {
        /* the roles script creates missing roles and aligns the rest: any database of the server */
        *sink = sk_pg_restore_sink_new(opts->target, e->password, e->rt ? e->rt->log : NULL, err);
        return *sink ? SK_OK : err->rc;
    }
    int created;
    PGconn *c = connect_target(e, opts->target, &created, err);
    if (!c)
        return err->rc;
    PGresult *r = PQexec(c, "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
                            "c.relnamespace WHERE c.oid >= 16384 AND n.nspname NOT IN ('pg_catalog', "
                            "'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'");
    long rels = PQresultStatus(r) == PGRES_TUPLES_OK ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : -1;
    PQclear(r);
    PQfinish(c);
    if (rels < 0) {
        if (created)
            drop_created(e, opts->target);
        return sk_fail(err, SK_ERR_SOURCE, 0, "cannot inspect the restore target database");
    }
    if (rels > 0 && !opts->force)
        return sk_fail(err, SK_ERR_USAGE, 0, "the target database is not empty (%ld relations): pass --force to "
                                             "drop and recreate the objects the backup contains", rels);
    *sink = sk_pg_restore_sink_new(opts->target, e->password, e->rt ? e->rt->log : NULL, err);
    if (!*sink) {
        if (created)
            drop_created(e, opts->target);
        return err->rc;
    }
    /* a refused or failed restore must not leave behind the empty database made for it */
    if (created && sk_pg_restore_sink_drop_on_abort(*sink, opts->target, e->password, err) != SK_OK) {
        sk_writer_abort(*sink);
        sk_writer_free_chain(*sink);
        *sink = NULL;
        return err->rc;
    }
    return SK_OK;
}

/* ---- verify: the script parses completely and carries the end marker ---- */

typedef struct vsink {
    sk_writer base;
    sk_pg_script *script;
    char *summary;
    long copies;
    uint64_t data_bytes;
    char tail[64];
    size_t tail_len;
} vsink;

static sk_rc v_stmt(void *ud, const char *sql, size_t len, long line, int *copy_in, sk_err *err)
{
    (void)err;
    (void)line;
    vsink *v = ud;
    const char *p = sql; /* past the entry's "-- Name: ..." comment lines */
    for (;;) {
        while (*p == '\n' || *p == ' ' || *p == '\t' || *p == '\r')
            p++;
        if (p[0] != '-' || p[1] != '-')
            break;
        while (*p && *p != '\n')
            p++;
    }
    *copy_in = strncmp(p, "COPY ", 5) == 0 && len > 12 && strcmp(sql + len - 12, " FROM stdin;") == 0;
    v->copies += *copy_in;
    return SK_OK;
}

static sk_rc v_data(void *ud, const char *data, size_t len, sk_err *err)
{
    (void)data;
    (void)err;
    ((vsink *)ud)->data_bytes += len;
    return SK_OK;
}

static sk_rc v_end(void *ud, long line, sk_err *err)
{
    (void)ud;
    (void)line;
    (void)err;
    return SK_OK;
}

static sk_rc v_write(sk_writer *w, const void *buf, size_t len, sk_err *err)
{
    vsink *v = (vsink *)w;
    const char *b = buf;
    if (len >= sizeof v->tail) {
        memcpy(v->tail, b + len - sizeof v->tail, sizeof v->tail);
        v->tail_len = sizeof v->tail;
    } else {
        size_t keep = v->tail_len + len > sizeof v->tail ? sizeof v->tail - len : v->tail_len;
        memmove(v->tail, v->tail + v->tail_len - keep, keep);
        memcpy(v->tail + keep, b, len);
        v->tail_len = keep + len;
    }
    return sk_pg_script_feed(v->script, buf, len, err);
}

static sk_rc v_finish(sk_writer *w, sk_err *err)
{
    vsink *v = (vsink *)w;
    sk_rc rc = sk_pg_script_end(v->script, err);
    if (rc)
        return rc;
    static const char marker[] = "-- PostgreSQL database dump complete\n--\n\n";
    size_t ml = sizeof marker - 1;
    if (v->tail_len < ml || memcmp(v->tail + v->tail_len - ml, marker, ml) != 0)
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "the dump lacks its end marker: it is truncated");
    snprintf(v->summary, 512, "postgres script: %ld statements, %ld COPY blocks (%llu bytes of rows), complete",
             sk_pg_script_statements(v->script), v->copies, (unsigned long long)v->data_bytes);
    return SK_OK;
}

static void v_abort(sk_writer *w)
{
    (void)w;
}

static void v_destroy(sk_writer *w)
{
    vsink *v = (vsink *)w;
    sk_pg_script_free(v->script);
    free(v);
}

static const sk_writer_type vsink_type = { "postgres-verify", v_write, v_finish, v_abort, v_destroy };

static sk_rc pg_verify_open(void *state, char *summary, sk_writer **sink, sk_err *err)
{
    (void)state;
    vsink *v = calloc(1, sizeof *v);
    if (!v)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
    sk_writer_init(&v->base, &vsink_type, NULL);
    v->summary = summary;
    sk_pg_script_cb cb = { v_stmt, v_data, v_end, v };
    if (!(v->script = sk_pg_script_new(&cb, err))) {
        free(v);
        return err->rc;
    }
    *sink = &v->base;
    return SK_OK;
}

/* ---- restore drills (pg_drill.c) ---- */

/* The drill server: SNAPKEEP_DRILL_PG_URL (its own credentials), else the source's. */
static const char *drill_server(const pg_engine *e, const char **password)
{
    *password = e->drill_url ? NULL : e->password;
    return e->drill_url ? e->drill_url : e->conninfo;
}

static sk_rc pg_drill_open(void *state, const sk_drill_opts *opts, sk_drill_report *rep, sk_writer **sink, sk_err *err)
{
    pg_engine *e = state;
    if (e->globals || e->opts.content == SK_PG_DATA_ONLY) {
        /* the roles script is cluster-wide: restoring it into a scratch database would change the
         * server's roles; a data-only script needs the tables it fills. The drill checks that the
         * script parses completely and is not cut short, and says that it restored nothing. */
        snprintf(rep->scratch, sizeof rep->scratch, "none (the script is parsed, not executed)");
        snprintf(rep->note, sizeof rep->note, "NOT restored: %s",
                 e->globals ? "a roles script would change the server's roles"
                            : "a data-only backup (SNAPKEEP_PG_CONTENT) needs its tables to exist");
        return pg_verify_open(state, rep->summary, sink, err);
    }
    const char *pw, *server = drill_server(e, &pw);
    return sk_pg_drill_open(server, pw, e->rt, opts, rep, sink, err);
}

static sk_rc pg_drill_sweep(void *state, const sk_drill_opts *opts, int *removed, sk_err *err)
{
    pg_engine *e = state;
    *removed = 0;
    if (e->globals)
        return SK_OK;
    const char *pw, *server = drill_server(e, &pw);
    return sk_pg_drill_sweep(server, pw, e->rt, opts, removed, err);
}

const sk_engine_type sk_engine_postgres = {
    .name = "postgres",
    .tag = "pgsql",
    .ext = "sql",
    .settings = sk_pg_settings,
    .open = pg_open,
    .dump = pg_dump_entry,
    .restore_open = pg_restore_open,
    .verify_open = pg_verify_open,
    .close = pg_close,
    .expand = sk_pg_expand,
    .drill_open = pg_drill_open,
    .drill_sweep = pg_drill_sweep,
};
