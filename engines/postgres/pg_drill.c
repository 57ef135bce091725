/*
 * pg_drill.c: restore drills of PostgreSQL backups (agent/drill.h, engine.h) into a scratch
 * database that snapkeep creates, checks and always drops.
 *
 * Who owns a scratch database, and how a leftover is told apart from anything else:
 *  - its name is "snapkeep_drill_<lock key, 8 hex>_<8 random hex>";
 *  - a session-level advisory lock (class SCRATCH_LOCK_CLASS, that key) is held by the drill's
 *    maintenance connection from before the CREATE until after the DROP. It dies with the
 *    connection, so a SIGKILLed drill leaves a database whose lock is free;
 *  - right after the CREATE, COMMENT ON DATABASE records the marker: "snapkeep restore drill
 *    scratch database", the lock key and the database the lock lives in (advisory locks are per
 *    database), the job, the time. Before the CREATE, the name goes to the drill's note file
 *    (opts->note_path), which covers the moment between CREATE and COMMENT.
 * The sweep drops a database only when its name has the prefix, it carries the marker (or is the
 * one named in this job's note file), its lock lives in the database the sweep is connected to,
 * and pg_try_advisory_lock() gets that lock: no live drill holds it. Anything else is left alone.
 */
#include "pg_engine.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "../../agent/naming.h"

#define SCRATCH_PREFIX "snapkeep_drill_"
#define SCRATCH_MARK "snapkeep restore drill scratch database"
#define SCRATCH_LOCK_CLASS 1936417906 /* "skdr" */

static sk_log *lg(const sk_runtime *rt) { return rt ? rt->log : NULL; }

/* A one-value query; NULL (err set) on failure. The caller PQclear()s. */
static PGresult *query(PGconn *c, const char *sql, const char *what, sk_err *err)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return r;
    const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    sk_fail(err, SK_ERR_SOURCE, 0, "drill: %s failed: %s", what, m ? m : PQerrorMessage(c));
    PQclear(r);
    return NULL;
}

static sk_rc exec_ok(PGconn *c, const char *sql, const char *what, sk_err *err)
{
    PGresult *r = query(c, sql, what, err);
    PQclear(r);
    return r ? SK_OK : err->rc;
}

/* ---- the note file: the name of a scratch database about to be created ------------------ */

static void note_write(const char *path, const char *name)
{
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    int ok = fprintf(f, "%s\n", name) > 0;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0)
        unlink(tmp);
}

static void note_read(const char *path, char *name, size_t sz)
{
    name[0] = '\0';
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return;
    if (fgets(name, (int)sz, f))
        name[strcspn(name, "\n")] = '\0';
    fclose(f);
}

/* ---- drop and sweep --------------------------------------------------------------------- */

/* A restored backup may hold subscriptions (created with connect = false, as pg_dump does); a
 * database with a subscription cannot be dropped. Inside the scratch database: disable each one,
 * detach it from its slot (which would be on the publisher) and drop it. Best effort: the DROP
 * DATABASE that follows reports what is left. */
static void drop_subscriptions(const char *server, const char *password, const char *name)
{
    char *ci = sk_pg_with_database(server, name);
    sk_err err;
    sk_err_clear(&err);
    PGconn *c = ci ? sk_pg_connect(ci, password, "scratch database", &err) : NULL;
    if (ci)
        memset(ci, 0, strlen(ci));
    free(ci);
    if (!c)
        return;
    PGresult *r = PQexec(c, "SELECT pg_catalog.quote_ident(subname) FROM pg_catalog.pg_subscription WHERE subdbid = "
                            "(SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())");
    for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++) {
        const char *q = PQgetvalue(r, i, 0); /* quoted by the server */
        static const char *const steps[] = { "ALTER SUBSCRIPTION %s DISABLE", "ALTER SUBSCRIPTION %s SET (slot_name = NONE)",
                                             "DROP SUBSCRIPTION %s" };
        for (size_t k = 0; k < 3; k++) {
            char sql[400];
            snprintf(sql, sizeof sql, steps[k], q);
            PQclear(PQexec(c, sql));
        }
    }
    PQclear(r);
    PQfinish(c);
}

static sk_rc drop_scratch(PGconn *admin, const char *name, sk_err *err)
{
    char *q = PQescapeIdentifier(admin, name, strlen(name));
    char sql[256];
    /* WITH (FORCE) (PostgreSQL 13+) ends the sessions a killed drill may still have open on it */
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", q ? q : "\"\"");
    PQfreemem(q);
    return exec_ok(admin, sql, "DROP DATABASE of the scratch database", err);
}

/* The lock key of a scratch database from its marker (or, for the noted one, its name). 0 when
 * it has neither, or its lock lives in another database. */
static long lock_key(const char *name, const char *comment, const char *here, int noted)
{
    char db[256] = "";
    long key = 0;
    if (comment && strncmp(comment, SCRATCH_MARK, strlen(SCRATCH_MARK)) == 0) {
        const char *p = strstr(comment, "; lock ");
        if (!p || sscanf(p, "; lock %ld in %255[^;]", &key, db) != 2 || strcmp(db, here) != 0)
            return 0;
        return key;
    }
    if (noted && strncmp(name, SCRATCH_PREFIX, strlen(SCRATCH_PREFIX)) == 0) {
        char *end;
        key = strtol(name + strlen(SCRATCH_PREFIX), &end, 16);
        return *end == '_' ? key : 0;
    }
    return 0;
}

static sk_rc sweep_conn(PGconn *admin, const char *server, const char *password, const sk_drill_opts *opts,
                        const sk_runtime *rt, int *removed, sk_err *err)
{
    char noted[128];
    *removed = 0;
    note_read(opts->note_path, noted, sizeof noted);
    PGresult *r = query(admin, "SELECT d.datname, pg_catalog.shobj_description(d.oid, 'pg_database'), "
                               "pg_catalog.current_database() FROM pg_catalog.pg_database d "
                               "WHERE d.datname LIKE 'snapkeep\\_drill\\_%' ORDER BY 1",
                        "listing scratch databases of earlier drills", err);
    if (!r)
        return err->rc;
    sk_rc rc = SK_OK;
    int noted_seen = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *name = PQgetvalue(r, i, 0);
        const char *comment = PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1);
        int is_noted = noted[0] && strcmp(name, noted) == 0;
        noted_seen |= is_noted;
        long key = lock_key(name, comment, PQgetvalue(r, i, 2), is_noted);
        if (!key)
            continue; /* not provably a drill's, or its lock lives elsewhere: not ours to judge */
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT pg_catalog.pg_try_advisory_lock(%d, %ld)", SCRATCH_LOCK_CLASS, key);
        PGresult *l = query(admin, sql, "checking whether a drill uses a scratch database", err);
        if (!l) {
            rc = err->rc;
            break;
        }
        int free_now = strcmp(PQgetvalue(l, 0, 0), "t") == 0;
        PQclear(l);
        if (!free_now)
            continue; /* a live drill holds it */
        sk_err derr;
        sk_err_clear(&derr);
        drop_subscriptions(server, password, name);
        if (drop_scratch(admin, name, &derr) == SK_OK) {
            sk_log_msg(lg(rt), SK_LOG_INFO, "drill: dropped the scratch database %s of an interrupted drill", name);
            ++*removed;
            if (is_noted)
                unlink(opts->note_path);
        } else {
            sk_log_msg(lg(rt), SK_LOG_WARN, "drill: could not drop the scratch database %s of an interrupted drill: "
                       "%s", name, derr.msg);
        }
        snprintf(sql, sizeof sql, "SELECT pg_catalog.pg_advisory_unlock(%d, %ld)", SCRATCH_LOCK_CLASS, key);
        PQclear(PQexec(admin, sql));
    }
    PQclear(r);
    if (rc == SK_OK && noted[0] && !noted_seen)
        unlink(opts->note_path); /* the noted database was never created, or is gone */
    return rc;
}

static PGconn *connect_server(const char *server, const char *password, sk_err *err)
{
    PGconn *c = sk_pg_connect(server, password, "drill server", err);
    if (!c) {
        sk_err_prefix(err, "drill: ");
        return NULL;
    }
    if (PQserverVersion(c) < 130000) {
        sk_fail(err, SK_ERR_SOURCE, 0, "drill: the drill server runs PostgreSQL %d; drills need 13 or newer "
                "(set SNAPKEEP_DRILL_PG_URL to a newer server)", PQserverVersion(c) / 10000);
        PQfinish(c);
        return NULL;
    }
    return c;
}

sk_rc sk_pg_drill_sweep(const char *server, const char *password, const sk_runtime *rt, const sk_drill_opts *opts,
                        int *removed, sk_err *err)
{
    PGconn *c = connect_server(server, password, err);
    if (!c)
        return err->rc;
    sk_rc rc = sweep_conn(c, server, password, opts, rt, removed, err);
    PQfinish(c);
    return rc;
}

/* ---- the drill sink --------------------------------------------------------------------- */

typedef struct dsink {
    sk_writer base;
    sk_writer *inner;          /* the restore sink into the scratch database */
    PGconn *admin;             /* holds the advisory lock; creates and drops the scratch database */
    char *scratch_ci;          /* secret: the scratch database's connection string */
    char *server;              /* secret: the drill server's connection string (NULL: libpq's PG*) */
    char *password;            /* secret */
    char name[64];
    long key;
    const sk_drill_opts *opts;
    sk_drill_report *rep;
    const sk_runtime *rt;
    int created, gone;
} dsink;

static void wipe(char **p)
{
    if (*p) {
        memset(*p, 0, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

/* Drop the scratch database (once), release the lock, forget the note. Failures are logged: the
 * next drill's sweep finds the database by its marker. */
static void scratch_drop(dsink *s)
{
    if (s->gone || !s->admin)
        return;
    s->gone = 1;
    if (s->inner)
        sk_writer_abort(s->inner); /* its connection to the scratch database closes (a no-op after commit) */
    sk_err err;
    sk_err_clear(&err);
    if (s->created) {
        drop_subscriptions(s->server, s->password, s->name);
        if (drop_scratch(s->admin, s->name, &err) == SK_OK)
            sk_log_msg(lg(s->rt), SK_LOG_INFO, "drill: dropped the scratch database %s", s->name);
        else
            sk_log_msg(lg(s->rt), SK_LOG_WARN, "drill: could not drop the scratch database %s (%s); the next drill "
                       "drops it", s->name, err.msg);
    }
    if (!err.rc && s->opts->note_path)
        unlink(s->opts->note_path);
    PQfinish(s->admin); /* releases the advisory lock */
    s->admin = NULL;
}

static sk_rc d_write(sk_writer *w, const void *buf, size_t len, sk_err *err)
{
    return sk_writer_write(((dsink *)w)->inner, buf, len, err);
}

/* The engine's checks on the restored database, and its rows per table. */
static sk_rc check_restored(dsink *s, sk_err *err)
{
    PGconn *c = sk_pg_connect(s->scratch_ci, s->password, "scratch database", err);
    if (!c)
        return err->rc;
    sk_rc rc = SK_OK;
    json_t *counts = json_object();
    PGresult *r = query(c, "SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) "
                           "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                           "AND n.nspname !~ '^pg_(toast|temp_)' ORDER BY 1", "listing the restored tables", err);
    long long total = 0;
    int tables = r ? PQntuples(r) : 0;
    for (int i = 0; r && i < tables && rc == SK_OK; i++) {
        const char *q = PQgetvalue(r, i, 0); /* quoted by the server: safe to splice */
        size_t sz = strlen(q) + 64;
        char *sql = malloc(sz);
        if (!sql) {
            rc = sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
            break;
        }
        snprintf(sql, sz, "SELECT count(*) FROM ONLY %s", q);
        PGresult *n = query(c, sql, "counting the rows of a restored table", err);
        free(sql);
        if (!n) {
            rc = err->rc;
            break;
        }
        long long v = strtoll(PQgetvalue(n, 0, 0), NULL, 10);
        PQclear(n);
        total += v;
        json_object_set_new(counts, q, json_integer((json_int_t)v));
    }
    PQclear(r);
    if (!r && rc == SK_OK)
        rc = err->rc;
    long invalid = -1;
    if (rc == SK_OK && (r = query(c, "SELECT count(*) FROM pg_catalog.pg_index WHERE NOT indisvalid OR NOT indisready",
                                  "checking the restored indexes", err))) {
        invalid = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    } else if (rc == SK_OK) {
        rc = err->rc;
    }
    if (rc == SK_OK && invalid > 0)
        rc = sk_fail(err, SK_ERR_INTEGRITY, 0, "drill: %ld index(es) of the restored database are not valid", invalid);
    /* amcheck, where the server has it and the role may install it into the scratch database:
     * every B-tree index against its table (bt_index_check with heapallindexed) */
    char amcheck[160] = "amcheck not available";
    if (rc == SK_OK) {
        PGresult *x = PQexec(c, "CREATE EXTENSION IF NOT EXISTS amcheck");
        int have = PQresultStatus(x) == PGRES_COMMAND_OK;
        PQclear(x);
        char schema[200] = "";
        if (have && (x = PQexec(c, "SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_extension e JOIN "
                                   "pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'")) &&
            PQresultStatus(x) == PGRES_TUPLES_OK && PQntuples(x) == 1 && strlen(PQgetvalue(x, 0, 0)) < sizeof schema)
            snprintf(schema, sizeof schema, "%s", PQgetvalue(x, 0, 0));
        PQclear(x);
        if (schema[0]) {
            char sql[800];
            snprintf(sql, sizeof sql, "SELECT count(*) FROM (SELECT %s.bt_index_check(c.oid, true) FROM "
                     "pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid JOIN pg_catalog.pg_am a "
                     "ON a.oid = c.relam JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE a.amname = 'btree' AND "
                     "c.relkind = 'i' AND c.relpersistence <> 't' AND i.indisvalid AND n.nspname NOT IN ('pg_catalog', "
                     "'information_schema') AND n.nspname !~ '^pg_toast') s",
                     schema);
            r = query(c, sql, "amcheck (bt_index_check) of the restored B-tree indexes", err);
            if (!r) {
                err->rc = rc = SK_ERR_INTEGRITY;
            } else {
                snprintf(amcheck, sizeof amcheck, "amcheck ok on %s B-tree index(es)", PQgetvalue(r, 0, 0));
                PQclear(r);
            }
        }
    }
    PQfinish(c);
    if (rc == SK_OK) {
        s->rep->table_rows_json = json_dumps(counts, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(s->rep->summary, sizeof s->rep->summary,
                 "restored into scratch database %s: %d tables, %lld rows, indexes valid, %s", s->name, tables, total,
                 amcheck);
    }
    json_decref(counts);
    return rc;
}

static sk_rc d_finish(sk_writer *w, sk_err *err)
{
    dsink *s = (dsink *)w;
    sk_rc rc = sk_writer_finish(s->inner, err);
    if (rc == SK_OK)
        rc = check_restored(s, err);
    scratch_drop(s); /* passed or not: the scratch database goes */
    return rc;
}

static void d_abort(sk_writer *w) { scratch_drop((dsink *)w); }

static void d_destroy(sk_writer *w)
{
    dsink *s = (dsink *)w;
    scratch_drop(s);
    if (s->admin)
        PQfinish(s->admin);
    sk_writer_free_chain(s->inner);
    wipe(&s->scratch_ci);
    wipe(&s->server);
    wipe(&s->password);
    free(s);
}

static const sk_writer_type dsink_type = { "postgres-drill", d_write, d_finish, d_abort, d_destroy };

/* CREATE DATABASE with the encoding and locale of the database the admin connection is on (the
 * source's, unless SNAPKEEP_DRILL_PG_URL names another); template0, so nothing else is in it. */
static sk_rc create_scratch(dsink *s, sk_err *err)
{
    PGconn *a = s->admin;
    char *qn = PQescapeIdentifier(a, s->name, strlen(s->name));
    char sql[1024];
    PGresult *r = query(a, "SELECT pg_catalog.pg_encoding_to_char(encoding), datcollate, datctype FROM "
                           "pg_catalog.pg_database WHERE datname = pg_catalog.current_database()",
                        "reading the encoding of the drill server's database", err);
    sk_rc rc = r ? SK_OK : err->rc;
    if (rc == SK_OK && PQntuples(r) == 1) {
        char *e = PQescapeLiteral(a, PQgetvalue(r, 0, 0), strlen(PQgetvalue(r, 0, 0)));
        char *co = PQescapeLiteral(a, PQgetvalue(r, 0, 1), strlen(PQgetvalue(r, 0, 1)));
        char *ct = PQescapeLiteral(a, PQgetvalue(r, 0, 2), strlen(PQgetvalue(r, 0, 2)));
        snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE template0 ENCODING %s LC_COLLATE %s LC_CTYPE %s",
                 qn ? qn : "\"\"", e ? e : "''", co ? co : "''", ct ? ct : "''");
        PQfreemem(e);
        PQfreemem(co);
        PQfreemem(ct);
        PGresult *c = PQexec(a, sql);
        if (PQresultStatus(c) == PGRES_COMMAND_OK)
            s->created = 1;
        PQclear(c);
    }
    PQclear(r);
    if (rc == SK_OK && !s->created) { /* a locale this server lacks: its defaults */
        snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE template0", qn ? qn : "\"\"");
        if ((rc = exec_ok(a, sql, "CREATE DATABASE of the scratch database", err)) == SK_OK)
            s->created = 1;
        else
            sk_err_prefix(err, "the drill needs a role that may create databases (CREATEDB) on the drill server, "
                               "or SNAPKEEP_DRILL_PG_URL naming a server where it may: ");
    }
    if (rc == SK_OK) {
        char iso[32], mark[512];
        sk_iso8601((int64_t)time(NULL), iso, sizeof iso);
        PGresult *d = PQexec(a, "SELECT pg_catalog.current_database()");
        snprintf(mark, sizeof mark, SCRATCH_MARK "; lock %ld in %s; job %s; created %s; snapkeep drops it when the "
                 "drill ends", s->key, PQresultStatus(d) == PGRES_TUPLES_OK ? PQgetvalue(d, 0, 0) : "?",
                 s->opts->job_id ? s->opts->job_id : "?", iso);
        PQclear(d);
        char *ql = PQescapeLiteral(a, mark, strlen(mark));
        snprintf(sql, sizeof sql, "COMMENT ON DATABASE %s IS %s", qn ? qn : "\"\"", ql ? ql : "''");
        PQfreemem(ql);
        rc = exec_ok(a, sql, "marking the scratch database", err);
    }
    PQfreemem(qn);
    return rc;
}

sk_rc sk_pg_drill_open(const char *server, const char *password, const sk_runtime *rt, const sk_drill_opts *opts,
                       sk_drill_report *rep, sk_writer **sink, sk_err *err)
{
    dsink *s = calloc(1, sizeof *s);
    if (!s)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    sk_writer_init(&s->base, &dsink_type, NULL);
    s->opts = opts;
    s->rep = rep;
    s->rt = rt;
    if ((password && !(s->password = strdup(password))) || (server && !(s->server = strdup(server)))) {
        wipe(&s->password);
        free(s);
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    }
    if (!(s->admin = connect_server(server, password, err))) /* the drill swept leftovers just before */
        goto fail;
    unsigned char rnd[8];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        sk_fail(err, SK_ERR_INTERNAL, 0, "no random bytes for the scratch database's name");
        goto fail;
    }
    s->key = (long)(((unsigned long)rnd[0] << 24 | (unsigned long)rnd[1] << 16 | (unsigned long)rnd[2] << 8 | rnd[3]) &
                    0x7fffffffUL);
    if (!s->key)
        s->key = 1;
    snprintf(s->name, sizeof s->name, SCRATCH_PREFIX "%08lx_%02x%02x%02x%02x", s->key, rnd[4], rnd[5], rnd[6], rnd[7]);
    snprintf(rep->scratch, sizeof rep->scratch, "database %s", s->name);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_catalog.pg_advisory_lock(%d, %ld)", SCRATCH_LOCK_CLASS, s->key);
    if (exec_ok(s->admin, sql, "taking the scratch database's lock", err) != SK_OK)
        goto fail;
    if (opts->note_path)
        note_write(opts->note_path, s->name);
    if (create_scratch(s, err) != SK_OK)
        goto fail;
    if (!(s->scratch_ci = sk_pg_with_database(server, s->name))) {
        sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        goto fail;
    }
    if (!(s->inner = sk_pg_restore_sink_new(s->scratch_ci, password, lg(rt), err)))
        goto fail;
    if (opts->pause) { /* with the restore's transaction open on the scratch database */
        sk_log_msg(lg(rt), SK_LOG_WARN, "pausing with the drill's scratch database %s (SNAPKEEP_DEBUG_DRILL_PAUSE)",
                   s->name);
        raise(SIGSTOP);
    }
    *sink = &s->base;
    return SK_OK;
fail:
    d_destroy(&s->base);
    return err->rc;
}
