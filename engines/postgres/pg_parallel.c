/* pg_parallel.c: COPY of one large table over several snapshot-sharing connections (pg_parallel.h). */
#include "pg_parallel.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_buf.h"

typedef struct chunk {
    char *buf;
    size_t cap, len;
    uint64_t rows;
    int end; /* the last chunk of its range */
} chunk;

typedef struct helper {
    struct pg_par *p;
    int idx;
    PGconn *conn;
    PGcancel *cancel;
    pthread_t th;
    chunk q[PGP_QUEUE];
    int head, count; /* filled chunks q[head .. head+count) (mod PGP_QUEUE), guarded by p->mu */
    int failed;      /* the helper stopped on an error (err says which); guarded by p->mu */
    sk_err err;
} helper;

struct pg_par {
    int n;
    int usable;
    helper *h;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* broadcast on every queue change, failure and stop */
    int stop;          /* the consumer gave up: helpers leave their ranges */
    /* the table being copied */
    const char *select; /* "SELECT cols FROM ONLY qname" */
    long nranges, range_blocks;
};

static sk_rc exec_cmd(PGconn *conn, const char *sql, sk_err *err)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    sk_rc rc = SK_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        rc = sk_fail(err, SK_ERR_SOURCE, 0, "'%s' failed: %s (SQLSTATE %s)", sql, msg ? msg : PQerrorMessage(conn),
                     state ? state : "none");
    }
    PQclear(r);
    return rc;
}

sk_rc pg_session_setup(PGconn *conn, const char *enc, sk_err *err)
{
    if (!enc || PQsetClientEncoding(conn, enc) != 0)
        return sk_fail(err, SK_ERR_SOURCE, 0, "cannot set client encoding to the server's (%s): %s",
                       enc ? enc : "unknown", PQerrorMessage(conn));
    static const char *const session[] = {
        "SET DATESTYLE = ISO", "SET INTERVALSTYLE = POSTGRES", "SET extra_float_digits TO 3",
        "SET synchronize_seqscans TO off", "SET statement_timeout = 0", "SET lock_timeout = 0",
        "SET idle_in_transaction_session_timeout = 0", "SET row_security = off",
        "SELECT pg_catalog.set_config('search_path', '', false)", NULL,
    };
    sk_rc rc = SK_OK;
    for (int i = 0; session[i] && !rc; i++)
        rc = exec_cmd(conn, session[i], err);
    return rc;
}

/* A connection to the very server and database `conn` reached, with its user and credentials. */
static PGconn *connect_like(PGconn *conn)
{
    PQconninfoOption *opts = PQconninfo(conn);
    if (!opts)
        return NULL;
    size_t n = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        n++;
    const char **keys = calloc(n + 5, sizeof *keys), **vals = calloc(n + 5, sizeof *vals);
    PGconn *c = NULL;
    if (keys && vals) {
        size_t k = 0;
        for (PQconninfoOption *o = opts; o->keyword; o++) {
            /* pinned below: a multi-host string or target_session_attrs must not pick another server */
            if (!o->val || !*o->val || !strcmp(o->keyword, "host") || !strcmp(o->keyword, "hostaddr") ||
                !strcmp(o->keyword, "port") || !strcmp(o->keyword, "dbname") ||
                !strcmp(o->keyword, "target_session_attrs") || !strcmp(o->keyword, "load_balance_hosts"))
                continue;
            keys[k] = o->keyword;
            vals[k++] = o->val;
        }
        const char *host = PQhost(conn), *addr = PQhostaddr(conn), *port = PQport(conn), *db = PQdb(conn);
        if (host && *host) {
            keys[k] = "host";
            vals[k++] = host;
        }
        if (addr && *addr) {
            keys[k] = "hostaddr";
            vals[k++] = addr;
        }
        if (port && *port) {
            keys[k] = "port";
            vals[k++] = port;
        }
        if (db && *db) {
            keys[k] = "dbname";
            vals[k++] = db;
        }
        c = PQconnectdbParams(keys, vals, 0);
    }
    free(keys);
    free(vals);
    PQconninfoFree(opts);
    return c;
}

static int helper_setup(helper *h, PGconn *conn, const char *snapshot, sk_err *err)
{
    if (!(h->conn = connect_like(conn)) || PQstatus(h->conn) != CONNECTION_OK) {
        sk_fail(err, SK_ERR_SOURCE, 0, "helper connection: %s", h->conn ? PQerrorMessage(h->conn) : "out of memory");
        return -1;
    }
    const char *enc = pg_encoding_to_char(PQclientEncoding(conn));
    if (pg_session_setup(h->conn, enc, err) ||
        exec_cmd(h->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", err))
        return -1;
    pg_buf q;
    pg_buf_init(&q);
    char *lit = PQescapeLiteral(h->conn, snapshot, strlen(snapshot));
    if (lit)
        pg_buf_addf(&q, "SET TRANSACTION SNAPSHOT %s", lit);
    PQfreemem(lit);
    int bad = !lit || !pg_buf_ok(&q) || exec_cmd(h->conn, q.s, err);
    pg_buf_free(&q);
    if (bad)
        return -1;
    if (!(h->cancel = PQgetCancel(h->conn))) {
        sk_fail(err, SK_ERR_SOURCE, 0, "helper connection: no cancel handle");
        return -1;
    }
    for (int i = 0; i < PGP_QUEUE; i++)
        if (!(h->q[i].buf = malloc(PGP_CHUNK))) {
            sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
            return -1;
        } else {
            h->q[i].cap = PGP_CHUNK;
        }
    return 0;
}

pg_par *pg_par_open(PGconn *conn, const char *snapshot, int n, const sk_runtime *rt)
{
    pg_par *p = calloc(1, sizeof *p);
    sk_err err;
    sk_err_clear(&err);
    if (!p || !(p->h = calloc((size_t)n, sizeof *p->h))) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (int i = 0; i < n; i++) {
        helper *h = &p->h[p->n];
        h->p = p;
        h->idx = p->n;
        p->n++;
        if (helper_setup(h, conn, snapshot, &err)) {
            p->n--;
            PQfreeCancel(h->cancel);
            PQfinish(h->conn);
            for (int k = 0; k < PGP_QUEUE; k++)
                free(h->q[k].buf);
            memset(h, 0, sizeof *h);
            if (rt && rt->log)
                sk_log_msg(rt->log, SK_LOG_DEBUG, "postgres: helper connection %d for parallel COPY not set up: %s",
                           i + 1, err.msg);
            break;
        }
    }
    if (p->n == 0) {
        pg_par_close(p);
        return NULL;
    }
    p->usable = 1;
    if (rt && rt->log)
        sk_log_msg(rt->log, SK_LOG_DEBUG, "postgres: %d helper connection(s) share the dump's snapshot for large tables",
                   p->n);
    return p;
}

int pg_par_usable(const pg_par *p)
{
    return p && p->usable;
}

/* Wait for a free chunk at the tail of h's queue; NULL when the consumer stopped. */
static chunk *tail_chunk(helper *h)
{
    pg_par *p = h->p;
    pthread_mutex_lock(&p->mu);
    while (h->count == PGP_QUEUE && !p->stop)
        pthread_cond_wait(&p->cv, &p->mu);
    chunk *c = p->stop ? NULL : &h->q[(h->head + h->count) % PGP_QUEUE];
    pthread_mutex_unlock(&p->mu);
    return c;
}

static void publish(helper *h, chunk *c, int end)
{
    c->end = end;
    pthread_mutex_lock(&h->p->mu);
    h->count++;
    pthread_cond_broadcast(&h->p->cv);
    pthread_mutex_unlock(&h->p->mu);
}

/* One range into the queue; 0, or -1 with h->err set (or the consumer stopped). */
static int copy_range(helper *h, long r)
{
    pg_par *p = h->p;
    pg_buf q;
    pg_buf_init(&q);
    long a = r * p->range_blocks;
    if (r + 1 < p->nranges)
        pg_buf_addf(&q, "COPY (%s WHERE ctid >= '(%ld,0)'::pg_catalog.tid AND ctid < '(%ld,0)'::pg_catalog.tid) TO STDOUT",
                    p->select, a, a + p->range_blocks);
    else
        pg_buf_addf(&q, "COPY (%s WHERE ctid >= '(%ld,0)'::pg_catalog.tid) TO STDOUT", p->select, a);
    if (!pg_buf_ok(&q)) {
        sk_fail(&h->err, SK_ERR_INTERNAL, 0, "out of memory");
        return -1;
    }
    PGresult *res = PQexec(h->conn, q.s);
    int ret = 0;
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        sk_fail(&h->err, SK_ERR_SOURCE, 0, "%s failed: %s (SQLSTATE %s)", q.s, PQerrorMessage(h->conn),
                state ? state : "none");
        PQclear(res);
        pg_buf_free(&q);
        return -1;
    }
    PQclear(res);
    chunk *c = tail_chunk(h);
    int cancelled = 0;
    for (;;) {
        char *row = NULL;
        int n = PQgetCopyData(h->conn, &row, 0);
        if (n > 0) {
            if (ret == 0 && c && c->len + (size_t)n > c->cap) {
                if (c->len > 0) {
                    publish(h, c, 0);
                    c = tail_chunk(h);
                }
                if (c && (size_t)n > c->cap) { /* a row larger than a chunk: a chunk of its size */
                    char *nb = realloc(c->buf, (size_t)n);
                    if (!nb) {
                        sk_fail(&h->err, SK_ERR_INTERNAL, 0, "out of memory (a row of %d bytes)", n);
                        ret = -1;
                    } else {
                        c->buf = nb;
                        c->cap = (size_t)n;
                    }
                }
            }
            if (ret == 0 && c) {
                memcpy(c->buf + c->len, row, (size_t)n);
                c->len += (size_t)n;
                c->rows++;
            }
            PQfreemem(row);
            if ((ret != 0 || !c) && !cancelled) { /* stopping: have the server end the COPY, drain the rest */
                char ebuf[256];
                PQcancel(h->cancel, ebuf, sizeof ebuf);
                cancelled = 1;
                ret = -1;
            }
            continue;
        }
        if (n == -1)
            break;
        if (ret == 0)
            sk_fail(&h->err, SK_ERR_SOURCE, 0, "reading COPY data: %s", PQerrorMessage(h->conn));
        ret = -1;
        break;
    }
    while ((res = PQgetResult(h->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && ret == 0) {
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            sk_fail(&h->err, SK_ERR_SOURCE, 0, "%s failed: %s (SQLSTATE %s)", q.s, PQerrorMessage(h->conn),
                    state ? state : "none");
            ret = -1;
        }
        PQclear(res);
    }
    pg_buf_free(&q);
    if (ret == 0 && !c)
        ret = -1; /* the consumer stopped before this (empty) range was queued */
    if (ret == 0)
        publish(h, c, 1); /* the range's last chunk, possibly empty */
    return ret;
}

static void *helper_main(void *arg)
{
    helper *h = arg;
    pg_par *p = h->p;
    for (long r = h->idx; r < p->nranges; r += p->n) {
        if (copy_range(h, r) != 0) {
            pthread_mutex_lock(&p->mu);
            h->failed = 1;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
            break;
        }
    }
    return NULL;
}

static void stop_helpers(pg_par *p, int started)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    char ebuf[256];
    for (int i = 0; i < started; i++)
        PQcancel(p->h[i].cancel, ebuf, sizeof ebuf);
    for (int i = 0; i < started; i++)
        pthread_join(p->h[i].th, NULL);
    p->usable = 0; /* their connections are in no known state any more */
}

sk_rc pg_par_copy(pg_par *p, const char *qname, const char *cols, long nblocks, long range_blocks,
                  sk_rc (*emit)(void *ud, const char *buf, size_t len), void *ud, const sk_runtime *rt,
                  uint64_t *rows, int *parallel, sk_err *err)
{
    *parallel = 0;
    if (!pg_par_usable(p))
        return SK_OK;
    pg_buf q;
    pg_buf_init(&q);
    pg_buf_addf(&q, "LOCK TABLE %s IN ACCESS SHARE MODE NOWAIT", qname);
    if (!pg_buf_ok(&q))
        return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
    sk_err lerr;
    sk_err_clear(&lerr);
    for (int i = 0; i < p->n; i++) {
        if (exec_cmd(p->h[i].conn, q.s, &lerr)) {
            /* not granted at once: this and every later table go over the dump's connection */
            if (rt && rt->log)
                sk_log_msg(rt->log, SK_LOG_DEBUG, "postgres: %s; copying over the dump's own connection", lerr.msg);
            p->usable = 0;
            pg_buf_free(&q);
            return SK_OK;
        }
    }
    pg_buf_reset(&q);
    pg_buf_addf(&q, "SELECT %s FROM ONLY %s", cols, qname);
    if (!pg_buf_ok(&q))
        return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
    *parallel = 1;
    p->select = q.s;
    p->range_blocks = range_blocks > 0 ? range_blocks : PGP_RANGE_BLOCKS;
    p->nranges = (nblocks + p->range_blocks - 1) / p->range_blocks;
    if (p->nranges < 1)
        p->nranges = 1;
    p->stop = 0;
    int started = 0;
    sk_rc rc = SK_OK;
    for (int i = 0; i < p->n; i++) {
        helper *h = &p->h[i];
        h->head = h->count = 0;
        h->failed = 0;
        sk_err_clear(&h->err);
        if (pthread_create(&h->th, NULL, helper_main, h) != 0) {
            rc = sk_fail(err, SK_ERR_INTERNAL, 0, "cannot start a thread for parallel COPY");
            break;
        }
        started++;
    }
    for (long r = 0; r < p->nranges && !rc; r++) {
        helper *h = &p->h[r % p->n];
        for (;;) {
            pthread_mutex_lock(&p->mu);
            while (h->count == 0 && !h->failed)
                pthread_cond_wait(&p->cv, &p->mu);
            int empty = h->count == 0;
            chunk *c = &h->q[h->head];
            pthread_mutex_unlock(&p->mu);
            if (empty) { /* failed, and nothing of this range is left to emit */
                rc = sk_fail(err, h->err.rc ? h->err.rc : SK_ERR_SOURCE, 0, "copying %s: %s", qname, h->err.msg);
                break;
            }
            if (c->len > 0)
                rc = emit(ud, c->buf, c->len);
            *rows += c->rows;
            int end = c->end;
            c->len = 0;
            c->rows = 0;
            if (c->cap > PGP_CHUNK) { /* after a huge row: back to the usual size */
                char *nb = realloc(c->buf, PGP_CHUNK);
                if (nb) {
                    c->buf = nb;
                    c->cap = PGP_CHUNK;
                }
            }
            pthread_mutex_lock(&p->mu);
            h->head = (h->head + 1) % PGP_QUEUE;
            h->count--;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
            if (rc || end)
                break;
        }
        if (!rc && sk_rt_cancelled(rt))
            rc = sk_fail(err, SK_ERR_CANCELLED, 0, "dump cancelled while copying %s", qname);
    }
    if (rc) {
        stop_helpers(p, started);
    } else {
        for (int i = 0; i < started; i++)
            pthread_join(p->h[i].th, NULL);
        if (rt && rt->log)
            sk_log_msg(rt->log, SK_LOG_DEBUG, "postgres: %s read in %ld ranges of %ld blocks over %d helper connection(s)",
                       qname, p->nranges, p->range_blocks, p->n);
    }
    p->select = NULL;
    pg_buf_free(&q);
    return rc;
}

void pg_par_close(pg_par *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++) {
        helper *h = &p->h[i];
        if (h->conn && PQtransactionStatus(h->conn) != PQTRANS_UNKNOWN) {
            PGresult *r = PQexec(h->conn, "ROLLBACK");
            PQclear(r);
        }
        PQfreeCancel(h->cancel);
        PQfinish(h->conn);
        for (int k = 0; k < PGP_QUEUE; k++)
            free(h->q[k].buf);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->h);
    free(p);
}
