/* pg_cat.c: what the catalog readers share: running their queries, reading values, adding objects. */
#include "pg_cat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


sk_rc pgc_oom(sk_err *err)
{
    return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory reading the catalogs");
}

PGresult *pgc_query(cat *c, const char *what, const char *sql)
{
    PGresult *r = PQexec(c->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return r;
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    sk_fail(c->err, SK_ERR_SOURCE, 0, "reading %s from the catalogs failed: %s (SQLSTATE %s)", what,
            msg ? msg : PQerrorMessage(c->conn), state ? state : "none");
    PQclear(r);
    return NULL;
}

PGresult *pgc_run(cat *c, const char *what, const pgc_col *cols, int ncols, const char *from)
{
    pg_buf_reset(&c->sql);
    pg_buf_add(&c->sql, "SELECT ");
    for (int k = 0; k < ncols; k++) {
        const pgc_col *col = &cols[k];
        const char *sql = col->since && c->m->server_version < col->since ? col->before : col->sql;
        if (!sql) { /* a gap in the reader's table: a defect, named */
            sk_fail(c->err, SK_ERR_INTERNAL, 0, "reading %s: column %d of the query is not defined", what, k);
            return NULL;
        }
        pg_buf_addf(&c->sql, "%s%s", k ? ", " : "", sql);
    }
    pg_buf_addf(&c->sql, " %s", from);
    if (!pg_buf_ok(&c->sql)) {
        pgc_oom(c->err);
        return NULL;
    }
    return pgc_query(c, what, c->sql.s);
}

const char *pgc_val(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

const char *pgc_sval(const PGresult *r, int row, int col)
{
    const char *s = pgc_val(r, row, col);
    return s ? s : "";
}

unsigned pgc_uval(const PGresult *r, int row, int col)
{
    const char *s = pgc_val(r, row, col);
    return s ? (unsigned)strtoul(s, NULL, 10) : 0;
}

long pgc_ival(const PGresult *r, int row, int col, long dflt)
{
    const char *s = pgc_val(r, row, col);
    if (!s)
        return dflt;
    char *end;
    long v = strtol(s, &end, 10);
    return end != s && *end == '\0' ? v : dflt;
}

int pgc_bval(const PGresult *r, int row, int col)
{
    const char *s = pgc_val(r, row, col);
    return s && s[0] == 't';
}

/* GRANT statements reproducing an ACL exactly: start from nothing, then grant in acl order. */
void pgc_emit_acl(pg_buf *b, const char *target, const char *owner, int aclnull, const char *grants,
                     int revoke_first)
{
    if (aclnull)
        return;
    if (revoke_first) {
        pg_buf_addf(b, "REVOKE ALL ON %s FROM PUBLIC;\n", target);
        if (owner)
            pg_buf_addf(b, "REVOKE ALL ON %s FROM %s;\n", target, owner);
    }
    if (!grants)
        return;
    const char *p = grants;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *tab = memchr(p, '\t', len);
        if (tab)
            pg_buf_addf(b, "GRANT %.*s ON %s TO %.*s;\n", (int)(tab - p), p, target,
                        (int)(len - (size_t)(tab - p) - 1), tab + 1);
        p += len;
        if (*p == '\n')
            p++;
    }
}

void pgc_emit_comment(pg_buf *b, const char *target, const char *lit)
{
    if (lit)
        pg_buf_addf(b, "COMMENT ON %s IS %s;\n", target, lit);
}

void pgc_comment_and_drop(pg_buf *b, pg_buf *d, const char *word, const char *name, const char *lit)
{
    if (lit)
        pg_buf_addf(b, "COMMENT ON %s %s IS %s;\n", word, name, lit);
    pg_buf_addf(d, "DROP %s IF EXISTS %s;\n", word, name);
}

sk_rc pgc_set_create(cat *c, long idx, pg_buf *create, pg_buf *drop)
{
    pg_obj *o = &c->m->objs[idx];
    sk_rc rc = SK_OK;
    if (create && !(o->create = pg_buf_take(create)))
        rc = pgc_oom(c->err);
    if (!rc && drop && drop->len && !(o->drop = strdup(drop->s)))
        rc = pgc_oom(c->err);
    if (create)
        pg_buf_free(create);
    if (drop)
        pg_buf_free(drop);
    return rc;
}

sk_rc pgc_add(cat *c, const pgc_new *n, pg_buf *create, pg_buf *drop, long *idx)
{
    long x = pg_model_add(c->m, n->kind, n->classid, n->oid, n->schema, n->name, n->label, n->owner);
    if (idx)
        *idx = x;
    if (x < 0) {
        if (create)
            pg_buf_free(create);
        if (drop)
            pg_buf_free(drop);
        return pgc_oom(c->err);
    }
    return pgc_set_create(c, x, create, drop);
}

sk_rc pgc_alias(cat *c, unsigned classid, unsigned objid, long idx)
{
    return pg_model_alias(c->m, classid, objid, idx) < 0 ? pgc_oom(c->err) : SK_OK;
}

sk_rc pgc_dep(cat *c, long from, long to)
{
    return pg_model_dep(c->m, from, to) < 0 ? pgc_oom(c->err) : SK_OK;
}

sk_rc pgc_index_rows(cat *c, const PGresult *r, int col, unsigned pseudo)
{
    unsigned prev = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        unsigned o = pgc_uval(r, i, col);
        if (o != prev && pg_model_alias(c->m, pseudo, o, i) < 0)
            return pgc_oom(c->err);
        prev = o;
    }
    return SK_OK;
}

int pgc_schema_excluded(cat *c, const char *schema)
{
    if (c->m->include_schemas && !pg_name_excluded(c->m->include_schemas, NULL, schema))
        return 1;
    return pg_name_excluded(c->m->exclude_schemas, NULL, schema);
}


long pgc_rel_obj(cat *c, unsigned relid)
{
    long x = pg_model_find(c->m, PG_CLASS_OID, relid);
    if (x < 0 || c->m->objs[x].kind != K_RELATION || c->m->objs[x].objid != relid)
        return -1;
    return x;
}

sk_rc pgc_add_text(cat *c, long idx, const pg_buf *extra)
{
    pg_obj *o = &c->m->objs[idx];
    size_t a = strlen(o->create), e = extra->len;
    char *n = realloc(o->create, a + e + 1);
    if (!n)
        return pgc_oom(c->err);
    memcpy(n + a, extra->s ? extra->s : "", e);
    n[a + e] = '\0';
    o->create = n;
    return SK_OK;
}
