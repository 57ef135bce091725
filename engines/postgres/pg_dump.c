/* pg_dump.c: snapshot, session settings, and writing the ordered objects and COPY data. */
#include "pg_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pg_buf.h"
#include "pg_model.h"
#include "pg_parallel.h"
#include "../../agent/progress.h"

#define OUT_BUF (256 * 1024)

typedef struct out {
    sk_writer *w;
    char *buf;
    size_t n;
    sk_err *err;
    sk_rc rc;
} out;

static sk_rc out_flush(out *o)
{
    if (o->rc == SK_OK && o->n > 0)
        o->rc = sk_writer_write(o->w, o->buf, o->n, o->err);
    o->n = 0;
    return o->rc;
}

static sk_rc out_write(out *o, const char *s, size_t len)
{
    if (o->rc)
        return o->rc;
    if (len >= OUT_BUF) {
        if (out_flush(o))
            return o->rc;
        return o->rc = sk_writer_write(o->w, s, len, o->err);
    }
    if (o->n + len > OUT_BUF && out_flush(o))
        return o->rc;
    memcpy(o->buf + o->n, s, len);
    o->n += len;
    return SK_OK;
}

/* A helper connection's chunk: straight to the writer when it is big (no copy into the buffer). */
static sk_rc out_emit(void *ud, const char *s, size_t len)
{
    out *o = ud;
    if (len < OUT_BUF / 4)
        return out_write(o, s, len);
    if (out_flush(o))
        return o->rc;
    return o->rc = sk_writer_write(o->w, s, len, o->err);
}

static sk_rc out_str(out *o, const char *s)
{
    return out_write(o, s, strlen(s));
}

/* Names go into "--" comment lines: a newline in a name must not end the comment. */
static void out_name(out *o, const char *s)
{
    char tmp[512];
    size_t k = 0;
    for (; s && *s && k < sizeof tmp - 1; s++)
        tmp[k++] = (*s == '\n' || *s == '\r') ? ' ' : *s;
    out_write(o, tmp, k);
}

static sk_rc exec_ok(PGconn *conn, const char *sql, sk_err *err)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    sk_rc rc = SK_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        rc = sk_fail(err, SK_ERR_SOURCE, 0, "'%s' failed: %s (SQLSTATE %s)", sql,
                     PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
                                                                   : PQerrorMessage(conn),
                     state ? state : "none");
    }
    PQclear(r);
    return rc;
}

static const char *const header =
    "--\n"
    "-- PostgreSQL database dump written by snapkeep\n"
    "--\n"
    "\n"
    "SET statement_timeout = 0;\n"
    "SET lock_timeout = 0;\n"
    "SET idle_in_transaction_session_timeout = 0;\n";

static const char *const header2 =
    "SET standard_conforming_strings = on;\n"
    "SELECT pg_catalog.set_config('search_path', '', false);\n"
    "SET check_function_bodies = false;\n"
    "SET xmloption = content;\n"
    "SET client_min_messages = warning;\n"
    "SET row_security = off;\n"
    "\n";

static void entry_header(out *o, const pg_obj *ob)
{
    out_str(o, "--\n-- Name: ");
    out_name(o, ob->name);
    out_str(o, "; Type: ");
    out_str(o, ob->label);
    out_str(o, "; Schema: ");
    out_name(o, ob->schema ? ob->schema : "-");
    out_str(o, "; Owner: ");
    out_name(o, ob->owner ? ob->owner : "-");
    out_str(o, "\n--\n\n");
}

/* Tables of at least this many heap blocks (8 MiB) are read over the helper connections. */
#define PAR_MIN_BLOCKS 1024L

static long par_min_blocks(const sk_pg_dump_opts *opts)
{
    return opts && opts->parallel_min_blocks > 0 ? opts->parallel_min_blocks : PAR_MIN_BLOCKS;
}

static sk_rc dump_copy(PGconn *conn, out *o, const pg_obj *ob, pg_par *par, long nblocks, const sk_pg_dump_opts *opts,
                       const sk_runtime *rt, uint64_t *rows, long *parallel_tables, sk_err *err)
{
    pg_buf q;
    pg_buf_init(&q);
    const char *cols = ob->columns ? ob->columns : "";
    if (*cols)
        pg_buf_addf(&q, "COPY %s (%s) TO STDOUT", ob->qname, cols);
    else
        pg_buf_addf(&q, "COPY %s TO STDOUT", ob->qname);
    if (!pg_buf_ok(&q))
        return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
    char item[300];
    snprintf(item, sizeof item, "table %s", ob->qname);
    sk_progress_item(o->w, item);
    out_str(o, *cols ? "COPY " : "COPY ");
    out_str(o, ob->qname);
    if (*cols) {
        out_str(o, " (");
        out_str(o, cols);
        out_str(o, ")");
    }
    out_str(o, " FROM stdin;\n");
    sk_rc rc = SK_OK;
    if (*cols && nblocks >= par_min_blocks(opts) && pg_par_usable(par)) {
        int parallel = 0;
        rc = pg_par_copy(par, ob->qname, cols, nblocks, opts->parallel_range_blocks, out_emit, o, rt, rows, &parallel,
                         err);
        if (rc || parallel) {
            *parallel_tables += parallel;
            pg_buf_free(&q);
            return rc ? rc : out_str(o, "\\.\n\n");
        }
    }
    PGresult *r = PQexec(conn, q.s);
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        rc = sk_fail(err, SK_ERR_SOURCE, 0, "%s failed: %s (SQLSTATE %s)", q.s, PQerrorMessage(conn),
                     state ? state : "none");
        PQclear(r);
        pg_buf_free(&q);
        return rc;
    }
    PQclear(r);
    /* Row by row from the server into the writer chain: memory stays at one row plus the buffer. */
    for (;;) {
        char *row = NULL;
        int n = PQgetCopyData(conn, &row, 0);
        if (n > 0) {
            if (!rc)
                rc = out_write(o, row, (size_t)n);
            PQfreemem(row);
            (*rows)++;
            if (!rc && (*rows & 0x3ff) == 0 && sk_rt_cancelled(rt)) {
                rc = sk_fail(err, SK_ERR_CANCELLED, 0, "dump cancelled while copying %s", ob->qname);
                /* ask the server to stop the COPY, so the rest of the table is not read */
                PGcancel *cn = PQgetCancel(conn);
                char ebuf[256];
                if (cn) {
                    PQcancel(cn, ebuf, sizeof ebuf);
                    PQfreeCancel(cn);
                }
            }
            continue;
        }
        if (n == -1)
            break;
        rc = sk_fail(err, SK_ERR_SOURCE, 0, "reading COPY data of %s: %s", ob->qname, PQerrorMessage(conn));
        break;
    }
    while ((r = PQgetResult(conn)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && !rc) {
            const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            rc = sk_fail(err, SK_ERR_SOURCE, 0, "%s failed: %s (SQLSTATE %s)", q.s, PQerrorMessage(conn),
                         state ? state : "none");
        }
        PQclear(r);
    }
    pg_buf_free(&q);
    if (!rc)
        rc = out_str(o, "\\.\n\n");
    return rc;
}

static sk_rc dump_setval(PGconn *conn, out *o, const pg_obj *ob, sk_err *err)
{
    pg_buf q;
    pg_buf_init(&q);
    pg_buf_addf(&q, "SELECT last_value, is_called FROM %s", ob->qname);
    PGresult *r = pg_buf_ok(&q) ? PQexec(conn, q.s) : NULL;
    sk_rc rc = SK_OK;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        rc = sk_fail(err, SK_ERR_SOURCE, 0, "reading sequence %s: %s", ob->qname, PQerrorMessage(conn));
    } else {
        char *lit = PQescapeLiteral(conn, ob->qname, strlen(ob->qname));
        if (!lit) {
            rc = sk_fail(err, SK_ERR_INTERNAL, 0, "quoting %s: %s", ob->qname, PQerrorMessage(conn));
        } else {
            pg_buf s;
            pg_buf_init(&s);
            pg_buf_addf(&s, "SELECT pg_catalog.setval(%s, %s, %s);\n\n", lit, PQgetvalue(r, 0, 0),
                        PQgetvalue(r, 0, 1)[0] == 't' ? "true" : "false");
            rc = pg_buf_ok(&s) ? out_str(o, s.s) : sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
            pg_buf_free(&s);
            PQfreemem(lit);
        }
    }
    PQclear(r);
    pg_buf_free(&q);
    return rc;
}

/* A large object's bytes in 256 KiB pieces. lo_put needs no descriptor, so each piece is one
 * self-contained statement: it works inside the restore's single transaction and under psql's
 * autocommit alike (pg_dump's lo_open/lowrite/lo_close needs them in one transaction). */
static sk_rc dump_lo(PGconn *conn, out *o, const pg_obj *ob, sk_err *err)
{
    char sql[160];
    for (long long off = 0;;) {
        snprintf(sql, sizeof sql, "SELECT encode(pg_catalog.lo_get('%u', %lld, 262144), 'hex')", ob->relid, off);
        PGresult *r = PQexec(conn, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
            sk_rc rc = sk_fail(err, SK_ERR_SOURCE, 0, "reading large object %u: %s", ob->relid, PQerrorMessage(conn));
            PQclear(r);
            return rc;
        }
        size_t n = (size_t)PQgetlength(r, 0, 0);
        if (n > 0) {
            snprintf(sql, sizeof sql, "SELECT pg_catalog.lo_put('%u', %lld, '\\x", ob->relid, off);
            out_str(o, sql);
            out_write(o, PQgetvalue(r, 0, 0), n);
            out_str(o, "');\n");
        }
        PQclear(r);
        if (n < 2 * 262144)
            break;
        off += (long long)(n / 2);
    }
    out_str(o, "\n");
    return o->rc;
}

/* The dump's filters beyond exclusion: include lists and schema-only / data-only. */
static sk_rc apply_content(pg_model *m, const sk_pg_dump_opts *o, sk_err *err)
{
    if (!o)
        return SK_OK;
    long *data_of = NULL; /* table object -> its data object */
    if (o->content == SK_PG_DATA_ONLY) {
        data_of = malloc((m->n ? m->n : 1) * sizeof *data_of);
        if (!data_of)
            return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
        for (size_t i = 0; i < m->n; i++)
            data_of[i] = -1;
        for (size_t i = 0; i < m->n; i++)
            if (m->objs[i].kind == K_TABLE_DATA && m->objs[i].table_obj >= 0)
                data_of[m->objs[i].table_obj] = (long)i;
    }
    sk_rc rc = SK_OK;
    for (size_t i = 0; i < m->n; i++) {
        pg_obj *ob = &m->objs[i];
        pg_kind k = ob->kind;
        int is_data = k == K_TABLE_DATA || k == K_SEQ_SET || k == K_LO_DATA;
        if (o->include_schemas || o->include_tables) {
            /* like pg_dump -n / -t: objects outside any schema are not part of a partial dump */
            if (k == K_EXTENSION || k == K_CAST || k == K_LARGE_OBJECT || k == K_LO_DATA || k == K_PUBLICATION ||
                k == K_EVENT_TRIGGER || (k == K_DEFAULT_ACL && !ob->schema))
                ob->skip = 1;
        }
        if (o->include_tables && k != K_RELATION && k != K_ATTACH && k != K_DEFAULT && !is_data &&
            k != K_CONSTRAINT && k != K_INDEX && k != K_INDEX_ATTACH && k != K_STATISTICS && k != K_RULE &&
            k != K_TRIGGER && k != K_FK && k != K_POLICY && k != K_REFRESH)
            ob->skip = 1;
        /* large objects count as data (as in pg_dump); a populated matview's refresh too */
        if (o->content == SK_PG_SCHEMA_ONLY && (is_data || k == K_REFRESH || k == K_LARGE_OBJECT))
            ob->skip = 1;
        if (o->content == SK_PG_DATA_ONLY && !is_data && k != K_LARGE_OBJECT && k != K_REFRESH)
            ob->skip = 1;
        /* data only: rows of referenced tables first, so FK checks pass (a cycle still needs the
         * restore to run with triggers disabled) */
        if (data_of && k == K_FK && ob->fk_from >= 0 && ob->fk_to >= 0 && ob->fk_from != ob->fk_to &&
            data_of[ob->fk_from] >= 0 && data_of[ob->fk_to] >= 0 &&
            pg_model_dep(m, data_of[ob->fk_from], data_of[ob->fk_to]) < 0)
            rc = sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
    }
    free(data_of);
    return rc;
}

/* Sizes in heap blocks of the tables whose rows are dumped (blocks[i] for object i), and helper
 * connections on the exported snapshot when one of them is large. Runs on tables the dump has
 * locked. Leaves *par NULL (a serial dump) when the server predates TID range scans (14), is a
 * standby, when no table is large, or when no helper could be set up. */
static sk_rc plan_parallel(PGconn *conn, pg_model *m, const sk_pg_dump_opts *opts, const sk_runtime *rt, long *blocks,
                           pg_par **par, sk_err *err)
{
    pg_buf a;
    pg_buf_init(&a);
    pg_buf_add(&a, "{");
    size_t nt = 0;
    for (size_t i = 0; i < m->n; i++) {
        const pg_obj *ob = &m->objs[i];
        if (ob->kind == K_TABLE_DATA && !ob->skip && ob->columns && *ob->columns)
            pg_buf_addf(&a, "%s%u", nt++ ? "," : "", ob->relid);
    }
    pg_buf_add(&a, "}");
    if (!pg_buf_ok(&a))
        return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
    if (nt == 0) {
        pg_buf_free(&a);
        return SK_OK;
    }
    const char *vals[1] = { a.s };
    PGresult *r = PQexecParams(conn,
                               "SELECT pg_catalog.pg_relation_size(x) / pg_catalog.current_setting('block_size')::int8 "
                               "FROM pg_catalog.unnest($1::pg_catalog.oid[]) WITH ORDINALITY AS t(x, i) ORDER BY i",
                               1, NULL, vals, NULL, NULL, 0);
    pg_buf_free(&a);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || (size_t)PQntuples(r) != nt) {
        sk_rc rc = sk_fail(err, SK_ERR_SOURCE, 0, "reading the tables' sizes: %s", PQerrorMessage(conn));
        PQclear(r);
        return rc;
    }
    int large = 0;
    for (size_t i = 0, k = 0; i < m->n; i++) {
        const pg_obj *ob = &m->objs[i];
        if (ob->kind == K_TABLE_DATA && !ob->skip && ob->columns && *ob->columns) {
            blocks[i] = strtol(PQgetvalue(r, (int)k++, 0), NULL, 10);
            large |= blocks[i] >= par_min_blocks(opts);
        }
    }
    PQclear(r);
    if (!large)
        return SK_OK;
    /* a failing pg_export_snapshot() would abort the dump's transaction: not tried on a standby,
     * where older servers refuse it */
    r = PQexec(conn, "SELECT pg_catalog.pg_is_in_recovery()");
    int standby = PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || PQgetvalue(r, 0, 0)[0] != 'f';
    PQclear(r);
    if (standby)
        return SK_OK;
    r = PQexec(conn, "SELECT pg_catalog.pg_export_snapshot()");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        sk_rc rc = sk_fail(err, SK_ERR_SOURCE, 0, "exporting the dump's snapshot: %s", PQerrorMessage(conn));
        PQclear(r);
        return rc;
    }
    *par = pg_par_open(conn, PQgetvalue(r, 0, 0), opts->parallel, rt);
    PQclear(r);
    return SK_OK;
}

sk_rc sk_pg_dump_conn(PGconn *conn, const sk_pg_dump_opts *opts, sk_writer *w, const sk_runtime *rt,
                      sk_pg_dump_stats *stats, sk_err *err)
{
    sk_pg_dump_stats st;
    memset(&st, 0, sizeof st);
    pg_model m;
    pg_model_init(&m);
    long *order = NULL, *blocks = NULL;
    pg_par *par = NULL;
    out o = { w, malloc(OUT_BUF), 0, err, SK_OK };
    sk_rc rc = SK_OK;
    int in_tx = 0;
    json_t *counts = NULL;
    if (!o.buf || (opts && opts->count_tables && !(counts = json_object()))) {
        free(o.buf);
        return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
    }

    st.server_version_num = PQserverVersion(conn);
    const char *sv = PQparameterStatus(conn, "server_version");
    snprintf(st.server_version, sizeof st.server_version, "PostgreSQL %s", sv ? sv : "?");
    int major = st.server_version_num / 10000;
    if (major < PG_OLDEST_MAJOR) {
        rc = sk_fail(err, SK_ERR_SOURCE, 0, "the server is %s; snapkeep dumps PostgreSQL %d to %d: upgrade the "
                     "server, or back it up with its own pg_dump", st.server_version, PG_OLDEST_MAJOR, PG_NEWEST_MAJOR);
        goto out;
    }
    if (major > PG_NEWEST_MAJOR) {
        if (!opts || !opts->newer_major_warn) {
            rc = sk_fail(err, SK_ERR_SOURCE, 0, "the server is %s, newer than the PostgreSQL %d to %d snapkeep is "
                         "tested with; set SNAPKEEP_PG_NEWER_MAJOR=warn for a best-effort dump (check that it "
                         "restores), or use a snapkeep release that supports PostgreSQL %d",
                         st.server_version, PG_OLDEST_MAJOR, PG_NEWEST_MAJOR, major);
            goto out;
        }
        if (rt && rt->log)
            sk_log_msg(rt->log, SK_LOG_WARN, "the server is %s, newer than the PostgreSQL %d to %d snapkeep is tested "
                       "with: dumping best-effort as SNAPKEEP_PG_NEWER_MAJOR=warn asks; check that the dump restores",
                       st.server_version, PG_OLDEST_MAJOR, PG_NEWEST_MAJOR);
    }
    /* Data travels in the database's own encoding, unconverted (as pg_dump does by default). */
    const char *enc = PQparameterStatus(conn, "server_encoding");
    if ((rc = pg_session_setup(conn, enc, err)))
        goto out;
    if ((rc = exec_ok(conn, opts && opts->serializable_deferrable
                                ? "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE"
                                : "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                      err)))
        goto out;
    in_tx = 1;

    if (opts) {
        m.exclude_schemas = opts->exclude_schemas;
        m.exclude_tables = opts->exclude_tables;
        m.exclude_data = opts->exclude_data;
        m.include_schemas = opts->include_schemas;
        m.include_tables = opts->include_tables;
    }
    m.server_version = st.server_version_num;
    if ((rc = pg_catalog_read(conn, &m, opts ? opts->lock_timeout_ms : 0, err)))
        goto out;
    if ((rc = apply_content(&m, opts, err)))
        goto out;
    if (!(order = malloc((m.n ? m.n : 1) * sizeof *order))) {
        rc = sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
        goto out;
    }
    if ((rc = pg_sort(&m, order, err)))
        goto out;
    st.order_warnings = m.warnings;
    if (!(blocks = calloc(m.n ? m.n : 1, sizeof *blocks))) {
        rc = sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
        goto out;
    }
    if (opts && opts->parallel > 0 && !opts->serializable_deferrable && st.server_version_num >= 140000 &&
        (rc = plan_parallel(conn, &m, opts, rt, blocks, &par, err)))
        goto out;

    out_str(&o, header);
    out_str(&o, "SET client_encoding = '");
    out_str(&o, enc);
    out_str(&o, "';\n");
    out_str(&o, header2);

    /* --clean --if-exists: drop in reverse order */
    for (size_t i = m.n; i-- > 0;) {
        const pg_obj *ob = &m.objs[order[i]];
        if (ob->drop && !ob->skip && !(opts && opts->content == SK_PG_DATA_ONLY))
            out_str(&o, ob->drop);
    }
    out_str(&o, "\n");

    for (size_t i = 0; i < m.n && !rc; i++) {
        const pg_obj *ob = &m.objs[order[i]];
        if (ob->skip)
            continue;
        if (sk_rt_cancelled(rt)) {
            rc = sk_fail(err, SK_ERR_CANCELLED, 0, "dump cancelled");
            break;
        }
        entry_header(&o, ob);
        if (ob->kind == K_TABLE_DATA) {
            uint64_t before = st.rows;
            rc = dump_copy(conn, &o, ob, par, blocks[order[i]], opts, rt, &st.rows, &st.parallel_tables, err);
            st.tables++;
            /* rows per table for the guards, counted from the COPY stream itself; a name JSON cannot
             * hold (not UTF-8) turns the counts off rather than fail the dump */
            if (!rc && counts && json_object_set_new(counts, ob->qname, json_integer((json_int_t)(st.rows - before)))) {
                json_decref(counts);
                counts = NULL;
            }
        } else if (ob->kind == K_LO_DATA) {
            rc = dump_lo(conn, &o, ob, err);
        } else if (ob->kind == K_SEQ_SET) {
            rc = dump_setval(conn, &o, ob, err);
        } else {
            out_str(&o, ob->create);
            out_str(&o, "\n");
        }
        st.objects++;
        if (!rc)
            rc = o.rc;
    }
    if (!rc)
        out_str(&o, "--\n-- PostgreSQL database dump complete\n--\n\n");
    if (!rc)
        rc = out_flush(&o);
    if (!rc) {
        in_tx = 0;
        rc = exec_ok(conn, "COMMIT", err);
    }
out:
    pg_par_close(par);
    free(blocks);
    if (in_tx) {
        PGresult *r = PQexec(conn, "ROLLBACK");
        PQclear(r);
    }
    if (o.rc && !rc)
        rc = o.rc;
    free(o.buf);
    free(order);
    pg_model_free(&m);
    if (!rc && counts)
        st.table_rows_json = json_dumps(counts, JSON_COMPACT | JSON_PRESERVE_ORDER); /* NULL: not counted */
    json_decref(counts);
    if (stats)
        *stats = st;
    else
        free(st.table_rows_json);
    return rc;
}
