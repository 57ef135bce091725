/*
 * pg_catalog.c: read the catalogs of one database into the dump's object list.
 *
 * All SQL text is produced by the server: identifiers through quote_ident() (so every name is
 * quoted exactly as the server's own rules require), literals through quote_literal(), and
 * definitions through its deparsers (pg_get_viewdef, pg_get_indexdef, pg_get_constraintdef,
 * pg_get_triggerdef, pg_get_functiondef, pg_get_ruledef, pg_get_expr, format_type,
 * pg_get_partkeydef, pg_get_statisticsobjdef). The session runs with an empty search_path, so
 * everything those return is schema-qualified.
 *
 * One reader per object kind (pg_cat.h says how a reader is written), run in the order of the
 * table below; then the dependencies between the objects read.
 */
#include "pg_model.h"

#include <stdlib.h>
#include <string.h>

#include "pg_buf.h"
#include "pg_cat.h"

static sk_rc read_depends(cat *c);
static sk_rc fix_after_depends(cat *c);

/* Relations come first: their query is the transaction's first, and their locks come next.
 * The order of the rest is the order objects enter the model (ties in the sort keep it). */
static const struct reader {
    const char *what;
    sk_rc (*read)(cat *c);
} readers[] = {
    { "relations", pgc_read_relations },
    { "schemas", pgc_read_schemas },
    { "extensions", pgc_read_extensions },
    { "types", pgc_read_types },
    { "functions", pgc_read_functions },
    { "indexes", pgc_read_indexes },
    { "triggers", pgc_read_triggers },
    { "rules", pgc_read_rules },
    { "policies", pgc_read_policies },
    { "extended statistics", pgc_read_statistics },
    { "collations", pgc_read_collations },
    { "base types", pgc_read_base_types },
    { "casts", pgc_read_casts },
    { "access methods", pgc_read_access_methods },
    { "operator classes", pgc_read_opclasses },
    { "transforms", pgc_read_transforms },
    { "foreign data", pgc_read_foreign },
    { "privileges of system objects", pgc_read_system_acls },
    { "subscriptions", pgc_read_subscriptions },
    { "aggregates", pgc_read_aggregates },
    { "operators", pgc_read_operators },
    { "text search", pgc_read_text_search },
    { "large objects", pgc_read_large_objects },
    { "domain constraints", pgc_read_domain_constraints },
    { "publications", pgc_read_publications },
    { "default privileges", pgc_read_default_acls },
    { "event triggers", pgc_read_event_triggers },
    { "dependencies", read_depends },
    { "fixes after dependencies", fix_after_depends },
};

sk_rc pg_catalog_read(PGconn *conn, pg_model *m, int lock_timeout_ms, sk_err *err)
{
    cat c = { conn, m, err, { 0 }, lock_timeout_ms };
    pg_buf_init(&c.sql);
    sk_rc rc = SK_OK;
    for (size_t k = 0; k < sizeof readers / sizeof readers[0] && !rc; k++)
        rc = readers[k].read(&c);
    pg_buf_free(&c.sql);
    return rc;
}

/* ---- dependencies ---- */

static sk_rc read_depends(cat *c)
{
    enum { D_CLASSID, D_OBJID, D_REFCLASSID, D_REFOBJID };
    static const pgc_col cols[] = {
        [D_CLASSID] = { "d.classid" },
        [D_OBJID] = { "d.objid" },
        [D_REFCLASSID] = { "d.refclassid" },
        [D_REFOBJID] = { "d.refobjid" },
    };
    PGresult *r = PGC_RUN(c, "dependencies", cols,
                          "FROM pg_depend d WHERE d.deptype NOT IN ('p', 'e') AND d.objid >= 16384 AND d.refobjid >= "
                          "16384");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        long from = pg_model_find(c->m, pgc_uval(r, i, D_CLASSID), pgc_uval(r, i, D_OBJID));
        long to = pg_model_find(c->m, pgc_uval(r, i, D_REFCLASSID), pgc_uval(r, i, D_REFOBJID));
        if (from >= 0 && to >= 0 && pg_model_dep(c->m, from, to) < 0)
            rc = pgc_oom(c->err);
    }
    PQclear(r);
    if (rc)
        return rc;
    /* A matview is refreshed after the matviews it reads from, directly or through views. */
    long *refresh_of = malloc((c->m->n ? c->m->n : 1) * sizeof *refresh_of);
    long *stack = malloc((c->m->n ? c->m->n : 1) * sizeof *stack);
    char *seen = malloc(c->m->n ? c->m->n : 1);
    if (!refresh_of || !stack || !seen)
        rc = pgc_oom(c->err);
    for (size_t i = 0; !rc && i < c->m->n; i++)
        refresh_of[i] = -1;
    for (size_t i = 0; !rc && i < c->m->n; i++)
        if (c->m->objs[i].kind == K_REFRESH)
            refresh_of[c->m->objs[i].table_obj] = (long)i;
    for (size_t i = 0; !rc && i < c->m->n; i++) {
        if (c->m->objs[i].kind != K_REFRESH)
            continue;
        memset(seen, 0, c->m->n);
        size_t sp = 0;
        stack[sp++] = c->m->objs[i].table_obj;
        seen[c->m->objs[i].table_obj] = 1;
        while (sp > 0 && !rc) {
            pg_obj *o = &c->m->objs[stack[--sp]];
            for (size_t k = 0; k < o->ndeps && !rc; k++) {
                long d = o->deps[k];
                pg_obj *t = &c->m->objs[d];
                if (seen[d] || t->kind != K_RELATION || t->label[0] == 'T' || t->label[0] == 'S')
                    continue; /* only views and matviews lead on */
                seen[d] = 1;
                if (strcmp(t->label, "MATERIALIZED VIEW") == 0) {
                    if (refresh_of[d] >= 0 && pg_model_dep(c->m, (long)i, refresh_of[d]) < 0)
                        rc = pgc_oom(c->err);
                    /* remembered for the unpopulated check: a matview dep without refresh */
                    if (refresh_of[d] < 0 && pg_model_dep(c->m, (long)i, d) < 0)
                        rc = pgc_oom(c->err);
                } else {
                    stack[sp++] = d;
                }
            }
        }
    }
    free(refresh_of);
    free(stack);
    free(seen);
    return rc;
}

/* After dependencies are read: break type <-> I/O function loops through the shell types, and
 * leave out refreshes of matviews that read unpopulated matviews. */
static sk_rc fix_after_depends(cat *c)
{
    pg_model *m = c->m;
    /* whatever a base type depends on (its I/O functions) and that depends on the type itself
     * gets the shell type instead */
    for (size_t i = 0; i < m->n; i++) {
        pg_obj *t = &m->objs[i];
        if (t->shell < 0)
            continue;
        for (size_t k = 0; k < t->ndeps; k++) {
            pg_obj *f = &m->objs[t->deps[k]];
            for (size_t j = 0; j < f->ndeps; j++)
                if (f->deps[j] == (long)i)
                    f->deps[j] = t->shell;
        }
    }
    /* a populated matview that reads an unpopulated one (directly or through views) cannot be
     * refreshed: the refresh would fail. Like pg_dump, leave it unpopulated. The refresh objects
     * depend on the refreshes they need, or on the matview itself when it has none. */
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t i = 0; i < m->n; i++) {
            pg_obj *r = &m->objs[i];
            if (r->kind != K_REFRESH || r->skip)
                continue;
            for (size_t k = 0; k < r->ndeps && !r->skip; k++) {
                const pg_obj *d = &m->objs[r->deps[k]];
                int blocked = (d->kind == K_REFRESH && d->skip) ||
                              (d->kind == K_RELATION && r->deps[k] != r->table_obj &&
                               strcmp(d->label, "MATERIALIZED VIEW") == 0);
                if (blocked) {
                    r->skip = 1;
                    m->warnings++;
                    changed = 1;
                }
            }
        }
    }
    return SK_OK;
}

