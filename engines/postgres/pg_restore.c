/* pg_restore.c: the restore sink — a plain SQL script executed through libpq in one transaction. */
#include "pg_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_script.h"

typedef struct rsink {
    sk_writer base;
    PGconn *conn;
    sk_pg_script *script;
    sk_log *log;
    int in_tx;
    int in_copy;
    long copy_line;       /* line of the COPY statement being fed */
    char copy_head[160];  /* its beginning, for messages */
    char *drop_target;    /* secret (may hold a password): the database to drop on abort, or NULL */
    char *drop_password;  /* secret */
    int committed;
} rsink;

static void quiet_notices(void *ud, const char *msg)
{
    rsink *s = ud;
    /* "does not exist, skipping" notices of the drop section are expected; keep them at debug */
    if (s->log) {
        size_t n = strlen(msg);
        sk_log_msg(s->log, SK_LOG_DEBUG, "restore: server notice: %.*s", (int)(n && msg[n - 1] == '\n' ? n - 1 : n),
                   msg);
    }
}

/* The first line of a statement (after leading blank lines and comment lines), shortened. */
static void excerpt(const char *sql, char *out, size_t outsz)
{
    while (*sql) {
        while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r')
            sql++;
        if (sql[0] == '-' && sql[1] == '-') {
            const char *nl = strchr(sql, '\n');
            sql = nl ? nl + 1 : sql + strlen(sql);
            continue;
        }
        break;
    }
    size_t n = strcspn(sql, "\n");
    if (n > 120)
        snprintf(out, outsz, "%.120s...", sql);
    else
        snprintf(out, outsz, "%.*s", (int)n, sql);
}

/* Script line of a 1-based character position inside a statement starting at `line`. The
 * statement's text starts right after the previous ';', so it may begin with newlines. */
static long line_of_position(const char *sql, long first_token_line, const char *pos_s)
{
    char *end;
    long pos = pos_s ? strtol(pos_s, &end, 10) : 0;
    if (pos <= 0)
        return first_token_line;
    /* the statement's text starts with what followed the previous ';': find the first token
     * (past blanks, -- comments and slash-star comments) to know the line the text starts on */
    long lead = 0;
    const char *p = sql;
    for (;;) {
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            lead += *p == '\n';
            p++;
        } else if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            int depth = 1;
            for (p += 2; *p && depth > 0; p++) {
                if (p[0] == '/' && p[1] == '*') {
                    depth++;
                    p++;
                } else if (p[0] == '*' && p[1] == '/') {
                    depth--;
                    p++;
                } else if (*p == '\n') {
                    lead++;
                }
            }
        } else {
            break;
        }
    }
    long line = first_token_line - lead, chars = 0;
    for (p = sql; *p && chars < pos - 1; p++) {
        if (((unsigned char)*p & 0xC0) != 0x80)
            chars++;
        if (*p == '\n')
            line++;
    }
    return line;
}

static sk_rc server_error(rsink *s, PGresult *r, const char *sql, long line, const char *what, sk_err *err)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const char *ctx = PQresultErrorField(r, PG_DIAG_CONTEXT);
    char ex[200] = "";
    long at = line;
    if (sql) {
        excerpt(sql, ex, sizeof ex);
        at = line_of_position(sql, line, PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION));
    }
    /* out of lock slots: every object created stays locked until the single COMMIT */
    const char *hint = state && strcmp(state, "53200") == 0
                           ? "; the restore runs in one transaction: raise max_locks_per_transaction on the target "
                             "server (it must cover every table, index and view the backup creates)"
                           : "";
    return sk_fail(err, SK_ERR_SOURCE, 0, "restore failed at line %ld of the script (%s%s%s): %s (SQLSTATE %s)%s%s%s",
                   at, what, ex[0] ? ": " : "", ex, msg ? msg : PQerrorMessage(s->conn), state ? state : "none",
                   ctx ? "; context: " : "", ctx ? ctx : "", hint);
}

static sk_rc on_statement(void *ud, const char *sql, size_t len, long line, int *copy_in, sk_err *err)
{
    (void)len;
    rsink *s = ud;
    PGresult *r = PQexec(s->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    sk_rc rc = SK_OK;
    if (st == PGRES_COPY_IN) {
        *copy_in = 1;
        s->in_copy = 1;
        s->copy_line = line;
        excerpt(sql, s->copy_head, sizeof s->copy_head);
    } else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
        rc = server_error(s, r, sql, line, "statement", err);
    }
    PQclear(r);
    return rc;
}

static sk_rc on_copy_data(void *ud, const char *data, size_t len, sk_err *err)
{
    rsink *s = ud;
    /* PQputCopyData takes an int length: feed big batches in pieces */
    while (len > 0) {
        int k = len > (1u << 30) ? (1 << 30) : (int)len;
        if (PQputCopyData(s->conn, data, k) != 1)
            return sk_fail(err, SK_ERR_SOURCE, 0, "restore failed in the data of the COPY at line %ld (%s): %s",
                           s->copy_line, s->copy_head, PQerrorMessage(s->conn));
        data += k;
        len -= (size_t)k;
    }
    return SK_OK;
}

static sk_rc on_copy_end(void *ud, long line, sk_err *err)
{
    (void)line;
    rsink *s = ud;
    sk_rc rc = SK_OK;
    s->in_copy = 0;
    if (PQputCopyEnd(s->conn, NULL) != 1)
        rc = sk_fail(err, SK_ERR_SOURCE, 0, "restore failed ending the COPY at line %ld: %s", s->copy_line,
                     PQerrorMessage(s->conn));
    PGresult *r;
    while ((r = PQgetResult(s->conn)) != NULL) {
        if (!rc && PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = server_error(s, r, NULL, s->copy_line, s->copy_head, err);
        PQclear(r);
    }
    return rc;
}

static sk_rc sink_write(sk_writer *w, const void *buf, size_t len, sk_err *err)
{
    rsink *s = (rsink *)w;
    return sk_pg_script_feed(s->script, buf, len, err);
}

static sk_rc exec_simple(rsink *s, const char *sql, sk_err *err)
{
    PGresult *r = PQexec(s->conn, sql);
    sk_rc rc = SK_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = sk_fail(err, SK_ERR_SOURCE, 0, "restore: %s failed: %s", sql, PQerrorMessage(s->conn));
    PQclear(r);
    return rc;
}

static void drop_target(rsink *s)
{
    if (!s->drop_target || s->committed)
        return;
    sk_err derr;
    sk_err_clear(&derr);
    if (sk_pg_drop_database(s->drop_target, s->drop_password, &derr) == SK_OK)
        sk_log_msg(s->log, SK_LOG_INFO, "restore: dropped the database snapkeep created for this restore");
    else
        sk_log_msg(s->log, SK_LOG_WARN, "restore: could not drop the database snapkeep created for this restore "
                   "(%s); drop it by hand", derr.msg);
    s->committed = 1; /* once */
}

static void wipe(char **p)
{
    if (*p) {
        memset(*p, 0, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

static void sink_abort(sk_writer *w)
{
    rsink *s = (rsink *)w;
    if (!s->conn) {
        drop_target(s);
        return;
    }
    if (s->in_copy) {
        PQputCopyEnd(s->conn, "restore aborted");
        PGresult *r;
        while ((r = PQgetResult(s->conn)) != NULL)
            PQclear(r);
        s->in_copy = 0;
    }
    if (s->in_tx) {
        PGresult *r = PQexec(s->conn, "ROLLBACK");
        PQclear(r);
        s->in_tx = 0;
    }
    PQfinish(s->conn);
    s->conn = NULL;
    drop_target(s);
}

static sk_rc sink_finish(sk_writer *w, sk_err *err)
{
    rsink *s = (rsink *)w;
    if (!s->conn)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "restore sink already closed");
    sk_rc rc = sk_pg_script_end(s->script, err);
    if (rc)
        return rc;
    if (sk_pg_script_statements(s->script) == 0)
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "the restore script holds no SQL statement");
    if ((rc = exec_simple(s, "COMMIT", err)))
        return rc;
    s->in_tx = 0;
    s->committed = 1;
    if (s->log)
        sk_log_msg(s->log, SK_LOG_INFO, "restore committed: %ld statements", sk_pg_script_statements(s->script));
    PQfinish(s->conn);
    s->conn = NULL;
    return SK_OK;
}

static void sink_destroy(sk_writer *w)
{
    rsink *s = (rsink *)w;
    sink_abort(w);
    sk_pg_script_free(s->script);
    wipe(&s->drop_target);
    wipe(&s->drop_password);
    free(s);
}

static const sk_writer_type rsink_type = { "postgres-restore", sink_write, sink_finish, sink_abort, sink_destroy };

sk_writer *sk_pg_restore_sink_new(const char *conninfo, const char *password, sk_log *log, sk_err *err)
{
    rsink *s = calloc(1, sizeof *s);
    if (!s) {
        sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
        return NULL;
    }
    sk_writer_init(&s->base, &rsink_type, NULL);
    s->log = log;
    sk_pg_script_cb cb = { on_statement, on_copy_data, on_copy_end, s };
    if (!(s->script = sk_pg_script_new(&cb, err)))
        goto fail;
    if (!(s->conn = sk_pg_connect(conninfo, password, "restore target", err)))
        goto fail;
    PQsetNoticeProcessor(s->conn, quiet_notices, s);
    if (exec_simple(s, "BEGIN", err))
        goto fail;
    s->in_tx = 1;
    return &s->base;
fail:
    sink_destroy(&s->base);
    return NULL;
}

sk_rc sk_pg_restore_sink_drop_on_abort(sk_writer *sink, const char *target, const char *password, sk_err *err)
{
    rsink *s = (rsink *)sink;
    if (!(s->drop_target = strdup(target)) || (password && !(s->drop_password = strdup(password))))
        return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
    return SK_OK;
}
