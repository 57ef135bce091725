/*
 * pg_catalog_more.c: the less common object kinds — collations, casts, aggregates, operators,
 * text search dictionaries and configurations, large objects, NOT VALID domain constraints,
 * publications, default privileges and event triggers.
 */
#include "pg_cat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OWNER(col) "quote_ident(pg_get_userbyid(" col "))"
#define QNAME(nsp, name) "quote_ident(" nsp ") || '.' || quote_ident(" name ")"

/* Add a simple object: create text, drop text, kind and catalog identity. */
static sk_rc add_obj(cat *c, pg_kind kind, unsigned classid, unsigned oid, const char *schema, const char *name,
                     const char *label, const char *owner, pg_buf *b, pg_buf *d, long *out)
{
    long idx = pg_model_add(c->m, kind, classid, oid, schema, name, label, owner);
    sk_rc rc = pgc_finish_obj(c, idx, b, d && d->len ? d->s : NULL);
    pg_buf_free(b);
    if (d)
        pg_buf_free(d);
    if (out)
        *out = idx;
    return rc;
}

static sk_rc read_collations(cat *c)
{
    const char *icu = c->m->server_version >= 170000 ? "co.colllocale"
                      : c->m->server_version >= 150000 ? "co.colliculocale" : "NULL::text";
    pg_buf_reset(&c->sql);
    pg_buf_addf(&c->sql,
                "SELECT co.oid, n.nspname, co.collname, " QNAME("n.nspname", "co.collname") ", " OWNER("co.collowner")
                ", co.collprovider, co.collisdeterministic, quote_literal(co.collcollate), quote_literal(co.collctype), "
                "quote_literal(%s), quote_literal(obj_description(co.oid, 'pg_collation')) FROM pg_collation co JOIN "
                "pg_namespace n ON n.oid = co.collnamespace WHERE co.oid >= 16384 AND " NSP_OK("n") " AND "
                NOT_EXT("pg_collation", "co.oid") " ORDER BY co.oid", icu);
    PGresult *r = pg_buf_ok(&c->sql) ? pgc_query(c, "collations", c->sql.s) : NULL;
    if (!r)
        return c->err->rc ? c->err->rc : pgc_oom(c->err);
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        if (pgc_schema_excluded(c, pgc_val(r, i, 1)))
            continue;
        const char *q = pgc_val(r, i, 3), *prov = pgc_val(r, i, 5);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        if (prov[0] == 'i')
            pg_buf_addf(&b, "CREATE COLLATION %s (provider = icu, locale = %s", q,
                        pgc_val(r, i, 9) ? pgc_val(r, i, 9) : pgc_val(r, i, 7));
        else
            pg_buf_addf(&b, "CREATE COLLATION %s (provider = libc, lc_collate = %s, lc_ctype = %s", q,
                        pgc_val(r, i, 7) ? pgc_val(r, i, 7) : "''", pgc_val(r, i, 8) ? pgc_val(r, i, 8) : "''");
        if (!pgc_bval(r, i, 6))
            pg_buf_add(&b, ", deterministic = false");
        pg_buf_addf(&b, ");\nALTER COLLATION %s OWNER TO %s;\n", q, pgc_val(r, i, 4));
        pgc_comment_and_drop(&b, &d, "COLLATION", q, pgc_val(r, i, 10));
        rc = add_obj(c, K_COLLATION, PG_COLLATION_OID, pgc_uval(r, i, 0), pgc_val(r, i, 1), pgc_val(r, i, 2),
                     "COLLATION", pgc_val(r, i, 4), &b, &d, NULL);
    }
    PQclear(r);
    return rc;
}

static sk_rc read_casts(cat *c)
{
    PGresult *r = pgc_query(c, "casts",
                            "SELECT c.oid, format_type(c.castsource, NULL), format_type(c.casttarget, NULL), "
                            "CASE WHEN c.castfunc <> 0 THEN c.castfunc::regprocedure::text END, c.castcontext, "
                            "c.castmethod, quote_literal(obj_description(c.oid, 'pg_cast')) FROM pg_cast c WHERE "
                            "c.oid >= 16384 AND " NOT_EXT("pg_cast", "c.oid") " AND NOT EXISTS (SELECT 1 FROM "
                            "pg_depend i WHERE i.classid = 'pg_cast'::regclass AND i.objid = c.oid AND i.deptype = "
                            "'i') ORDER BY c.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *src = pgc_val(r, i, 1), *tgt = pgc_val(r, i, 2);
        char sig[600];
        snprintf(sig, sizeof sig, "(%s AS %s)", src, tgt);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE CAST %s", sig);
        char method = pgc_val(r, i, 5)[0];
        if (method == 'f')
            pg_buf_addf(&b, " WITH FUNCTION %s", pgc_val(r, i, 3));
        else if (method == 'i')
            pg_buf_add(&b, " WITH INOUT");
        else
            pg_buf_add(&b, " WITHOUT FUNCTION");
        char ctx = pgc_val(r, i, 4)[0];
        pg_buf_add(&b, ctx == 'a' ? " AS ASSIGNMENT;\n" : ctx == 'i' ? " AS IMPLICIT;\n" : ";\n");
        pgc_comment_and_drop(&b, &d, "CAST", sig, pgc_val(r, i, 6));
        rc = add_obj(c, K_CAST, PG_CAST_OID, pgc_uval(r, i, 0), NULL, sig, "CAST", NULL, &b, &d, NULL);
    }
    PQclear(r);
    return rc;
}

static sk_rc read_aggregates(cat *c)
{
    pg_buf_reset(&c->sql);
    pg_buf_add(&c->sql,
               "SELECT p.oid, n.nspname, p.proname, " QNAME("n.nspname", "p.proname") ", "
               "pg_get_function_identity_arguments(p.oid), " OWNER("p.proowner") ", "
               "quote_literal(obj_description(p.oid, 'pg_proc')), p.proacl IS NULL, ");
    pgc_acl_sql(&c->sql, "p.proacl", "");
    pg_buf_add(&c->sql,
               /* 9 */ ", a.aggkind, a.aggtransfn::regproc::text, format_type(a.aggtranstype, NULL), a.aggtransspace, "
               /* 13 */ "CASE WHEN a.aggfinalfn <> 0 THEN a.aggfinalfn::regproc::text END, a.aggfinalextra, "
               "a.aggfinalmodify, CASE WHEN a.aggcombinefn <> 0 THEN a.aggcombinefn::regproc::text END, "
               /* 17 */ "CASE WHEN a.aggserialfn <> 0 THEN a.aggserialfn::regproc::text END, "
               "CASE WHEN a.aggdeserialfn <> 0 THEN a.aggdeserialfn::regproc::text END, quote_literal(a.agginitval), "
               /* 20 */ "CASE WHEN a.aggmtransfn <> 0 THEN a.aggmtransfn::regproc::text END, "
               "CASE WHEN a.aggminvtransfn <> 0 THEN a.aggminvtransfn::regproc::text END, "
               "CASE WHEN a.aggmtranstype <> 0 THEN format_type(a.aggmtranstype, NULL) END, a.aggmtransspace, "
               /* 24 */ "CASE WHEN a.aggmfinalfn <> 0 THEN a.aggmfinalfn::regproc::text END, a.aggmfinalextra, "
               "a.aggmfinalmodify, quote_literal(a.aggminitval), "
               /* 28 */ "(SELECT 'OPERATOR(' || quote_ident(on_.nspname) || '.' || o.oprname || ')' FROM pg_operator o "
               "JOIN pg_namespace on_ ON on_.oid = o.oprnamespace WHERE o.oid = a.aggsortop), p.proparallel "
               "FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid JOIN pg_namespace n ON n.oid = "
               "p.pronamespace WHERE p.oid >= 16384 AND " NSP_OK("n") " AND " NOT_EXT("pg_proc", "p.oid")
               " ORDER BY p.oid");
    PGresult *r = pg_buf_ok(&c->sql) ? pgc_query(c, "aggregates", c->sql.s) : NULL;
    if (!r)
        return c->err->rc ? c->err->rc : pgc_oom(c->err);
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        if (pgc_schema_excluded(c, pgc_val(r, i, 1)))
            continue;
        const char *args = pgc_val(r, i, 4);
        char sig[1200];
        snprintf(sig, sizeof sig, "%s(%s)", pgc_val(r, i, 3), *args ? args : "*");
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE AGGREGATE %s (\n    SFUNC = %s,\n    STYPE = %s", sig, pgc_val(r, i, 10),
                    pgc_val(r, i, 11));
        if (pgc_ival(r, i, 12, 0) > 0)
            pg_buf_addf(&b, ",\n    SSPACE = %s", pgc_val(r, i, 12));
        if (pgc_val(r, i, 19))
            pg_buf_addf(&b, ",\n    INITCOND = %s", pgc_val(r, i, 19));
        static const char *const modify[] = { "READ_ONLY", "SHAREABLE", "READ_WRITE" };
        char fm = pgc_val(r, i, 15)[0];
        const char *fmw = fm == 'r' ? modify[0] : fm == 's' ? modify[1] : modify[2];
        if (pgc_val(r, i, 13)) {
            pg_buf_addf(&b, ",\n    FINALFUNC = %s", pgc_val(r, i, 13));
            if (pgc_bval(r, i, 14))
                pg_buf_add(&b, ",\n    FINALFUNC_EXTRA");
            pg_buf_addf(&b, ",\n    FINALFUNC_MODIFY = %s", fmw);
        }
        if (pgc_val(r, i, 16))
            pg_buf_addf(&b, ",\n    COMBINEFUNC = %s", pgc_val(r, i, 16));
        if (pgc_val(r, i, 17))
            pg_buf_addf(&b, ",\n    SERIALFUNC = %s", pgc_val(r, i, 17));
        if (pgc_val(r, i, 18))
            pg_buf_addf(&b, ",\n    DESERIALFUNC = %s", pgc_val(r, i, 18));
        if (pgc_val(r, i, 20)) {
            pg_buf_addf(&b, ",\n    MSFUNC = %s,\n    MINVFUNC = %s,\n    MSTYPE = %s", pgc_val(r, i, 20),
                        pgc_val(r, i, 21), pgc_val(r, i, 22));
            if (pgc_ival(r, i, 23, 0) > 0)
                pg_buf_addf(&b, ",\n    MSSPACE = %s", pgc_val(r, i, 23));
            if (pgc_val(r, i, 27))
                pg_buf_addf(&b, ",\n    MINITCOND = %s", pgc_val(r, i, 27));
            if (pgc_val(r, i, 24)) {
                char mm = pgc_val(r, i, 26)[0];
                pg_buf_addf(&b, ",\n    MFINALFUNC = %s", pgc_val(r, i, 24));
                if (pgc_bval(r, i, 25))
                    pg_buf_add(&b, ",\n    MFINALFUNC_EXTRA");
                pg_buf_addf(&b, ",\n    MFINALFUNC_MODIFY = %s",
                            mm == 'r' ? modify[0] : mm == 's' ? modify[1] : modify[2]);
            }
        }
        if (pgc_val(r, i, 28))
            pg_buf_addf(&b, ",\n    SORTOP = %s", pgc_val(r, i, 28));
        char par = pgc_val(r, i, 29)[0];
        if (par == 's')
            pg_buf_add(&b, ",\n    PARALLEL = safe");
        else if (par == 'r')
            pg_buf_add(&b, ",\n    PARALLEL = restricted");
        if (pgc_val(r, i, 9)[0] == 'h')
            pg_buf_add(&b, ",\n    HYPOTHETICAL");
        pg_buf_add(&b, "\n);\n");
        pg_buf_addf(&b, "ALTER AGGREGATE %s OWNER TO %s;\n", sig, pgc_val(r, i, 5));
        char target[1300];
        snprintf(target, sizeof target, "AGGREGATE %s", sig);
        pgc_emit_comment(&b, target, pgc_val(r, i, 6));
        snprintf(target, sizeof target, "FUNCTION %s", sig);
        pgc_emit_acl(&b, target, pgc_val(r, i, 5), pgc_bval(r, i, 7), pgc_val(r, i, 8), 1);
        pg_buf_addf(&d, "DROP AGGREGATE IF EXISTS %s;\n", sig);
        char nm[1200];
        snprintf(nm, sizeof nm, "%s(%s)", pgc_val(r, i, 2), args);
        rc = add_obj(c, K_AGGREGATE, PG_PROC_OID, pgc_uval(r, i, 0), pgc_val(r, i, 1), nm, "AGGREGATE",
                     pgc_val(r, i, 5), &b, &d, NULL);
    }
    PQclear(r);
    return rc;
}

static sk_rc read_operators(cat *c)
{
    PGresult *r = pgc_query(c, "operators",
                            "SELECT o.oid, n.nspname, o.oprname, quote_ident(n.nspname) || '.' || o.oprname, "
                            "CASE WHEN o.oprleft <> 0 THEN format_type(o.oprleft, NULL) END, "
                            "CASE WHEN o.oprright <> 0 THEN format_type(o.oprright, NULL) END, o.oprcode::regproc::text, "
                            "(SELECT 'OPERATOR(' || quote_ident(cn.nspname) || '.' || co.oprname || ')' FROM pg_operator co "
                            "JOIN pg_namespace cn ON cn.oid = co.oprnamespace WHERE co.oid = o.oprcom), "
                            "(SELECT 'OPERATOR(' || quote_ident(cn.nspname) || '.' || co.oprname || ')' FROM pg_operator co "
                            "JOIN pg_namespace cn ON cn.oid = co.oprnamespace WHERE co.oid = o.oprnegate), "
                            "CASE WHEN o.oprrest <> 0 THEN o.oprrest::regproc::text END, "
                            "CASE WHEN o.oprjoin <> 0 THEN o.oprjoin::regproc::text END, o.oprcanhash, o.oprcanmerge, "
                            OWNER("o.oprowner") ", quote_literal(obj_description(o.oid, 'pg_operator')) "
                            "FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace WHERE o.oid >= 16384 AND "
                            "o.oprcode <> 0 AND " NSP_OK("n") " AND " NOT_EXT("pg_operator", "o.oid") " ORDER BY o.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        if (pgc_schema_excluded(c, pgc_val(r, i, 1)))
            continue;
        const char *q = pgc_val(r, i, 3), *l = pgc_val(r, i, 4), *rt = pgc_val(r, i, 5);
        char sig[1200];
        snprintf(sig, sizeof sig, "%s (%s, %s)", q, l ? l : "NONE", rt ? rt : "NONE");
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE OPERATOR %s (\n    FUNCTION = %s", q, pgc_val(r, i, 6));
        if (l)
            pg_buf_addf(&b, ",\n    LEFTARG = %s", l);
        if (rt)
            pg_buf_addf(&b, ",\n    RIGHTARG = %s", rt);
        if (pgc_val(r, i, 7))
            pg_buf_addf(&b, ",\n    COMMUTATOR = %s", pgc_val(r, i, 7));
        if (pgc_val(r, i, 8))
            pg_buf_addf(&b, ",\n    NEGATOR = %s", pgc_val(r, i, 8));
        if (pgc_val(r, i, 9))
            pg_buf_addf(&b, ",\n    RESTRICT = %s", pgc_val(r, i, 9));
        if (pgc_val(r, i, 10))
            pg_buf_addf(&b, ",\n    JOIN = %s", pgc_val(r, i, 10));
        if (pgc_bval(r, i, 11))
            pg_buf_add(&b, ",\n    HASHES");
        if (pgc_bval(r, i, 12))
            pg_buf_add(&b, ",\n    MERGES");
        pg_buf_addf(&b, "\n);\nALTER OPERATOR %s OWNER TO %s;\n", sig, pgc_val(r, i, 13));
        pgc_comment_and_drop(&b, &d, "OPERATOR", sig, pgc_val(r, i, 14));
        char nm[1200];
        snprintf(nm, sizeof nm, "%s (%s, %s)", pgc_val(r, i, 2), l ? l : "NONE", rt ? rt : "NONE");
        rc = add_obj(c, K_OPERATOR, PG_OPERATOR_OID, pgc_uval(r, i, 0), pgc_val(r, i, 1), nm, "OPERATOR",
                     pgc_val(r, i, 13), &b, &d, NULL);
    }
    PQclear(r);
    return rc;
}

static sk_rc read_text_search(cat *c)
{
    PGresult *r = pgc_query(c, "text search dictionaries",
                            "SELECT d.oid, n.nspname, d.dictname, " QNAME("n.nspname", "d.dictname") ", "
                            OWNER("d.dictowner") ", (SELECT " QNAME("tn.nspname", "t.tmplname") " FROM pg_ts_template t "
                            "JOIN pg_namespace tn ON tn.oid = t.tmplnamespace WHERE t.oid = d.dicttemplate), "
                            "d.dictinitoption, quote_literal(obj_description(d.oid, 'pg_ts_dict')) FROM pg_ts_dict d "
                            "JOIN pg_namespace n ON n.oid = d.dictnamespace WHERE d.oid >= 16384 AND " NSP_OK("n")
                            " AND " NOT_EXT("pg_ts_dict", "d.oid") " ORDER BY d.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        if (pgc_schema_excluded(c, pgc_val(r, i, 1)))
            continue;
        const char *q = pgc_val(r, i, 3);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE TEXT SEARCH DICTIONARY %s (\n    TEMPLATE = %s", q, pgc_val(r, i, 5));
        if (pgc_val(r, i, 6) && *pgc_val(r, i, 6))
            pg_buf_addf(&b, ",\n    %s", pgc_val(r, i, 6));
        pg_buf_addf(&b, "\n);\nALTER TEXT SEARCH DICTIONARY %s OWNER TO %s;\n", q, pgc_val(r, i, 4));
        pgc_comment_and_drop(&b, &d, "TEXT SEARCH DICTIONARY", q, pgc_val(r, i, 7));
        rc = add_obj(c, K_TS, PG_TS_DICT_OID, pgc_uval(r, i, 0), pgc_val(r, i, 1), pgc_val(r, i, 2),
                     "TEXT SEARCH DICTIONARY", pgc_val(r, i, 4), &b, &d, NULL);
    }
    PQclear(r);
    if (rc)
        return rc;
    r = pgc_query(c, "text search configurations",
                  "SELECT c.oid, n.nspname, c.cfgname, " QNAME("n.nspname", "c.cfgname") ", " OWNER("c.cfgowner") ", "
                  "(SELECT " QNAME("pn.nspname", "p.prsname") " FROM pg_ts_parser p JOIN pg_namespace pn ON pn.oid = "
                  "p.prsnamespace WHERE p.oid = c.cfgparser), (SELECT string_agg(t.alias || E'\\t' || x.dicts, E'\\n' "
                  "ORDER BY x.maptokentype) FROM (SELECT m.maptokentype, string_agg(" QNAME("dn.nspname", "d.dictname")
                  ", ', ' ORDER BY m.mapseqno) AS dicts FROM pg_ts_config_map m JOIN pg_ts_dict d ON d.oid = m.mapdict "
                  "JOIN pg_namespace dn ON dn.oid = d.dictnamespace WHERE m.mapcfg = c.oid GROUP BY m.maptokentype) x "
                  "JOIN ts_token_type(c.cfgparser) t ON t.tokid = x.maptokentype), "
                  "quote_literal(obj_description(c.oid, 'pg_ts_config')) FROM pg_ts_config c JOIN pg_namespace n ON "
                  "n.oid = c.cfgnamespace WHERE c.oid >= 16384 AND " NSP_OK("n") " AND "
                  NOT_EXT("pg_ts_config", "c.oid") " ORDER BY c.oid");
    if (!r)
        return c->err->rc;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        if (pgc_schema_excluded(c, pgc_val(r, i, 1)))
            continue;
        const char *q = pgc_val(r, i, 3);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE TEXT SEARCH CONFIGURATION %s (\n    PARSER = %s\n);\n", q, pgc_val(r, i, 5));
        for (const char *p = pgc_val(r, i, 6); p && *p;) {
            size_t len = strcspn(p, "\n");
            const char *tab = memchr(p, '\t', len);
            if (tab)
                pg_buf_addf(&b, "ALTER TEXT SEARCH CONFIGURATION %s ADD MAPPING FOR %.*s WITH %.*s;\n", q,
                            (int)(tab - p), p, (int)(len - (size_t)(tab - p) - 1), tab + 1);
            p += len;
            if (*p)
                p++;
        }
        pg_buf_addf(&b, "ALTER TEXT SEARCH CONFIGURATION %s OWNER TO %s;\n", q, pgc_val(r, i, 4));
        pgc_comment_and_drop(&b, &d, "TEXT SEARCH CONFIGURATION", q, pgc_val(r, i, 7));
        rc = add_obj(c, K_TS, PG_TS_CONFIG_OID, pgc_uval(r, i, 0), pgc_val(r, i, 1), pgc_val(r, i, 2),
                     "TEXT SEARCH CONFIGURATION", pgc_val(r, i, 4), &b, &d, NULL);
    }
    PQclear(r);
    return rc;
}

static sk_rc read_large_objects(cat *c)
{
    pg_buf_reset(&c->sql);
    pg_buf_add(&c->sql, "SELECT m.oid, " OWNER("m.lomowner") ", m.lomacl IS NULL, ");
    pgc_acl_sql(&c->sql, "m.lomacl", "");
    pg_buf_add(&c->sql, ", quote_literal(obj_description(m.oid, 'pg_largeobject')) FROM pg_largeobject_metadata m "
                        "ORDER BY m.oid");
    PGresult *r = pg_buf_ok(&c->sql) ? pgc_query(c, "large objects", c->sql.s) : NULL;
    if (!r)
        return c->err->rc ? c->err->rc : pgc_oom(c->err);
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *oid = pgc_val(r, i, 0), *owner = pgc_val(r, i, 1);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "SELECT pg_catalog.lo_create('%s');\nALTER LARGE OBJECT %s OWNER TO %s;\n", oid, oid, owner);
        char target[64];
        snprintf(target, sizeof target, "LARGE OBJECT %s", oid);
        pgc_emit_comment(&b, target, pgc_val(r, i, 4));
        pgc_emit_acl(&b, target, owner, pgc_bval(r, i, 2), pgc_val(r, i, 3), 1);
        pg_buf_addf(&d, "SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata WHERE oid = '%s';\n",
                    oid);
        long lo;
        rc = add_obj(c, K_LARGE_OBJECT, PG_LARGEOBJECT_OID, pgc_uval(r, i, 0), NULL, oid, "LARGE OBJECT", owner, &b,
                     &d, &lo);
        if (rc)
            break;
        long data = pg_model_add(c->m, K_LO_DATA, PG_PSEUDO_NONE, 0, NULL, oid, "LARGE OBJECT DATA", owner);
        if (data < 0 || pg_model_dep(c->m, data, lo) < 0)
            rc = pgc_oom(c->err);
        else
            c->m->objs[data].relid = pgc_uval(r, i, 0);
    }
    PQclear(r);
    return rc;
}

static sk_rc read_domain_constraints(cat *c)
{
    PGresult *r = pgc_query(c, "domain constraints",
                            "SELECT co.oid, co.conname, quote_ident(co.conname), co.contypid, co.convalidated, "
                            "pg_get_constraintdef(co.oid), quote_literal(obj_description(co.oid, 'pg_constraint')) "
                            "FROM pg_constraint co WHERE co.contypid <> 0 ORDER BY co.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        long dom = pg_model_find(c->m, PG_TYPE_OID, pgc_uval(r, i, 3));
        if (dom < 0 || c->m->objs[dom].kind != K_TYPE || c->m->objs[dom].objid != pgc_uval(r, i, 3))
            continue;
        pg_obj *o = &c->m->objs[dom];
        char qd[600];
        snprintf(qd, sizeof qd, "%s", o->qname ? o->qname : "");
        if (!qd[0])
            continue;
        pg_buf b;
        pg_buf_init(&b);
        char target[1300];
        snprintf(target, sizeof target, "CONSTRAINT %s ON DOMAIN %s", pgc_val(r, i, 2), qd);
        if (pgc_bval(r, i, 4)) { /* validated: created with the domain; only its comment is missing */
            pgc_emit_comment(&b, target, pgc_val(r, i, 6));
            if (b.len)
                rc = pgc_add_text(c, dom, &b);
            pg_buf_free(&b);
            if (!rc && pg_model_alias(c->m, PG_CONSTRAINT_OID, pgc_uval(r, i, 0), dom) < 0)
                rc = pgc_oom(c->err);
            continue;
        }
        /* NOT VALID: added after the data, and never dropped on its own (ALTER DOMAIN has no
         * DROP CONSTRAINT IF EXISTS; the domain's drop removes it) */
        pg_buf_addf(&b, "ALTER DOMAIN %s ADD CONSTRAINT %s %s;\n", qd, pgc_val(r, i, 2), pgc_val(r, i, 5));
        pgc_emit_comment(&b, target, pgc_val(r, i, 6));
        char nm[700];
        snprintf(nm, sizeof nm, "%s %s", o->name, pgc_val(r, i, 1));
        long idx;
        rc = add_obj(c, K_DOMAIN_CONSTRAINT, PG_CONSTRAINT_OID, pgc_uval(r, i, 0), o->schema, nm, "CONSTRAINT", NULL,
                     &b, NULL, &idx);
        if (!rc && pg_model_dep(c->m, idx, dom) < 0)
            rc = pgc_oom(c->err);
    }
    PQclear(r);
    return rc;
}

static sk_rc read_publications(cat *c)
{
    int v15 = c->m->server_version >= 150000;
    PGresult *r = pgc_query(c, "publications",
                            "SELECT p.oid, p.pubname, quote_ident(p.pubname), " OWNER("p.pubowner") ", p.puballtables, "
                            "concat_ws(', ', CASE WHEN p.pubinsert THEN 'insert' END, CASE WHEN p.pubupdate THEN "
                            "'update' END, CASE WHEN p.pubdelete THEN 'delete' END, CASE WHEN p.pubtruncate THEN "
                            "'truncate' END), p.pubviaroot, quote_literal(obj_description(p.oid, 'pg_publication')) "
                            "FROM pg_publication p ORDER BY p.oid");
    if (!r)
        return c->err->rc;
    pg_buf_reset(&c->sql);
    pg_buf_addf(&c->sql,
                "SELECT pr.prpubid, pr.prrelid, %s, %s FROM pg_publication_rel pr ORDER BY pr.oid",
                v15 ? "pg_get_expr(pr.prqual, pr.prrelid)" : "NULL::text",
                v15 ? "(SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a WHERE "
                      "a.attrelid = pr.prrelid AND a.attnum = ANY (pr.prattrs))"
                    : "NULL::text");
    PGresult *rels = pg_buf_ok(&c->sql) ? pgc_query(c, "publication tables", c->sql.s) : NULL;
    PGresult *nsps = v15 ? pgc_query(c, "publication schemas",
                                     "SELECT pn.pnpubid, pn.pnnspid, quote_ident(n.nspname), n.nspname FROM "
                                     "pg_publication_namespace pn JOIN pg_namespace n ON n.oid = pn.pnnspid "
                                     "ORDER BY pn.oid")
                         : NULL;
    sk_rc rc = SK_OK;
    if (!rels || (v15 && !nsps)) {
        rc = c->err->rc ? c->err->rc : pgc_oom(c->err);
        goto out;
    }
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        unsigned oid = pgc_uval(r, i, 0);
        const char *q = pgc_val(r, i, 2);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE PUBLICATION %s%s WITH (publish = '%s', publish_via_partition_root = %s);\n", q,
                    pgc_bval(r, i, 4) ? " FOR ALL TABLES" : "", pgc_val(r, i, 5),
                    pgc_bval(r, i, 6) ? "true" : "false");
        pg_buf_addf(&b, "ALTER PUBLICATION %s OWNER TO %s;\n", q, pgc_val(r, i, 3));
        long deps[256];
        int nd = 0;
        for (int k = 0; k < PQntuples(rels); k++) {
            if (pgc_uval(rels, k, 0) != oid)
                continue;
            long t = pgc_rel_obj(c, pgc_uval(rels, k, 1));
            if (t < 0)
                continue;
            pg_buf_addf(&b, "ALTER PUBLICATION %s ADD TABLE ONLY %s", q, c->m->objs[t].qname);
            if (pgc_val(rels, k, 3))
                pg_buf_addf(&b, " (%s)", pgc_val(rels, k, 3));
            if (pgc_val(rels, k, 2))
                pg_buf_addf(&b, " WHERE (%s)", pgc_val(rels, k, 2));
            pg_buf_add(&b, ";\n");
            if (nd < 256)
                deps[nd++] = t;
        }
        for (int k = 0; nsps && k < PQntuples(nsps); k++) {
            if (pgc_uval(nsps, k, 0) != oid || pgc_schema_excluded(c, pgc_val(nsps, k, 3)))
                continue;
            pg_buf_addf(&b, "ALTER PUBLICATION %s ADD TABLES IN SCHEMA %s;\n", q, pgc_val(nsps, k, 2));
            long s = pg_model_find(c->m, PG_NAMESPACE_OID, pgc_uval(nsps, k, 1));
            if (s >= 0 && nd < 256)
                deps[nd++] = s;
        }
        pgc_comment_and_drop(&b, &d, "PUBLICATION", q, pgc_val(r, i, 7));
        long idx;
        rc = add_obj(c, K_PUBLICATION, PG_PUBLICATION_OID, oid, NULL, pgc_val(r, i, 1), "PUBLICATION",
                     pgc_val(r, i, 3), &b, &d, &idx);
        for (int k = 0; k < nd && !rc; k++)
            if (pg_model_dep(c->m, idx, deps[k]) < 0)
                rc = pgc_oom(c->err);
    }
out:
    PQclear(r);
    PQclear(rels);
    PQclear(nsps);
    return rc;
}

static sk_rc read_default_acls(cat *c)
{
    pg_buf_reset(&c->sql);
    pg_buf_add(&c->sql, "SELECT d.oid, " OWNER("d.defaclrole") ", n.nspname, quote_ident(n.nspname), d.defaclobjtype, "
                        "d.defaclnamespace, ");
    pgc_acl_sql(&c->sql, "d.defaclacl", "");
    pg_buf_add(&c->sql, " FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace ORDER BY d.oid");
    PGresult *r = pg_buf_ok(&c->sql) ? pgc_query(c, "default privileges", c->sql.s) : NULL;
    if (!r)
        return c->err->rc ? c->err->rc : pgc_oom(c->err);
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *role = pgc_val(r, i, 1), *nsp = pgc_val(r, i, 3);
        if (nsp && pgc_schema_excluded(c, pgc_val(r, i, 2)))
            continue;
        const char *what;
        switch (pgc_val(r, i, 4)[0]) {
        case 'r': what = "TABLES"; break;
        case 'S': what = "SEQUENCES"; break;
        case 'f': what = "FUNCTIONS"; break;
        case 'T': what = "TYPES"; break;
        default: what = "SCHEMAS"; break;
        }
        char head[700];
        snprintf(head, sizeof head, "ALTER DEFAULT PRIVILEGES FOR ROLE %s%s%s", role, nsp ? " IN SCHEMA " : "",
                 nsp ? nsp : "");
        pg_buf b;
        pg_buf_init(&b);
        /* A global entry replaces the built-in defaults: start from nothing. A per-schema entry
         * only adds to the global ones. */
        if (!nsp)
            pg_buf_addf(&b, "%s REVOKE ALL ON %s FROM PUBLIC;\n%s REVOKE ALL ON %s FROM %s;\n", head, what, head,
                        what, role);
        for (const char *p = pgc_val(r, i, 6); p && *p;) {
            size_t len = strcspn(p, "\n");
            const char *tab = memchr(p, '\t', len);
            if (tab)
                pg_buf_addf(&b, "%s GRANT %.*s ON %s TO %.*s;\n", head, (int)(tab - p), p, what,
                            (int)(len - (size_t)(tab - p) - 1), tab + 1);
            p += len;
            if (*p)
                p++;
        }
        char nm[700];
        snprintf(nm, sizeof nm, "%s %s", role, what);
        long idx;
        rc = add_obj(c, K_DEFAULT_ACL, PG_DEFAULT_ACL_OID, pgc_uval(r, i, 0), pgc_val(r, i, 2), nm,
                     "DEFAULT PRIVILEGES", NULL, &b, NULL, &idx);
        long s = nsp ? pg_model_find(c->m, PG_NAMESPACE_OID, pgc_uval(r, i, 5)) : -1;
        if (!rc && s >= 0 && pg_model_dep(c->m, idx, s) < 0)
            rc = pgc_oom(c->err);
    }
    PQclear(r);
    return rc;
}

static sk_rc read_event_triggers(cat *c)
{
    PGresult *r = pgc_query(c, "event triggers",
                            "SELECT e.oid, e.evtname, quote_ident(e.evtname), e.evtevent, " OWNER("e.evtowner") ", "
                            "(SELECT " QNAME("pn.nspname", "p.proname") " FROM pg_proc p JOIN pg_namespace pn ON pn.oid = "
                            "p.pronamespace WHERE p.oid = e.evtfoid), e.evtenabled, array_to_string(ARRAY(SELECT "
                            "quote_literal(x) FROM unnest(e.evttags) x), ', '), quote_literal(obj_description(e.oid, "
                            "'pg_event_trigger')) FROM pg_event_trigger e WHERE e.oid >= 16384 AND "
                            NOT_EXT("pg_event_trigger", "e.oid") " ORDER BY e.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *q = pgc_val(r, i, 2);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE EVENT TRIGGER %s ON %s", q, pgc_val(r, i, 3));
        if (pgc_val(r, i, 7) && *pgc_val(r, i, 7))
            pg_buf_addf(&b, "\n    WHEN TAG IN (%s)", pgc_val(r, i, 7));
        pg_buf_addf(&b, "\n    EXECUTE FUNCTION %s();\nALTER EVENT TRIGGER %s OWNER TO %s;\n", pgc_val(r, i, 5), q,
                    pgc_val(r, i, 4));
        switch (pgc_val(r, i, 6)[0]) {
        case 'D': pg_buf_addf(&b, "ALTER EVENT TRIGGER %s DISABLE;\n", q); break;
        case 'R': pg_buf_addf(&b, "ALTER EVENT TRIGGER %s ENABLE REPLICA;\n", q); break;
        case 'A': pg_buf_addf(&b, "ALTER EVENT TRIGGER %s ENABLE ALWAYS;\n", q); break;
        default: break;
        }
        pgc_comment_and_drop(&b, &d, "EVENT TRIGGER", q, pgc_val(r, i, 8));
        rc = add_obj(c, K_EVENT_TRIGGER, PG_EVENT_TRIGGER_OID, pgc_uval(r, i, 0), NULL, pgc_val(r, i, 1),
                     "EVENT TRIGGER", pgc_val(r, i, 4), &b, &d, NULL);
    }
    PQclear(r);
    return rc;
}


/* Base types (C I/O functions) and shell types. A base type and its I/O functions depend on each
 * other: the shell type (CREATE TYPE x;) comes first, then the functions, then the full type. */
static sk_rc read_base_types(cat *c)
{
    int v14 = c->m->server_version >= 140000;
    pg_buf_reset(&c->sql);
    pg_buf_addf(&c->sql,
                "SELECT t.oid, n.nspname, t.typname, " QNAME("n.nspname", "t.typname") ", " OWNER("t.typowner") ", "
                "t.typisdefined, t.typlen, t.typinput::regproc::text, t.typoutput::regproc::text, "
                /* 9 */ "CASE WHEN t.typreceive <> 0 THEN t.typreceive::regproc::text END, "
                "CASE WHEN t.typsend <> 0 THEN t.typsend::regproc::text END, "
                "CASE WHEN t.typmodin <> 0 THEN t.typmodin::regproc::text END, "
                "CASE WHEN t.typmodout <> 0 THEN t.typmodout::regproc::text END, "
                "CASE WHEN t.typanalyze <> 0 THEN t.typanalyze::regproc::text END, "
                /* 14 */ "%s, quote_literal(t.typdefault), CASE WHEN t.typelem <> 0 THEN format_type(t.typelem, NULL) "
                "END, quote_literal(t.typdelim::text), quote_literal(t.typcategory::text), t.typispreferred, "
                /* 20 */ "t.typalign, t.typstorage, t.typbyval, t.typcollation <> 0, "
                "quote_literal(obj_description(t.oid, 'pg_type')), t.typacl IS NULL, ",
                v14 ? "CASE WHEN t.typsubscript <> 0 THEN t.typsubscript::regproc::text END" : "NULL::text");
    pgc_acl_sql(&c->sql, "t.typacl", "");
    pg_buf_add(&c->sql, ", t.typarray FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid >= 16384 "
                        "AND (t.typtype = 'b' OR (t.typtype = 'p' AND NOT t.typisdefined)) AND NOT EXISTS (SELECT 1 "
                        "FROM pg_type e WHERE e.typarray = t.oid) AND " NSP_OK("n") " AND "
                        NOT_EXT("pg_type", "t.oid") " ORDER BY t.oid");
    PGresult *r = pg_buf_ok(&c->sql) ? pgc_query(c, "base types", c->sql.s) : NULL;
    if (!r)
        return c->err->rc ? c->err->rc : pgc_oom(c->err);
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *schema = pgc_val(r, i, 1), *name = pgc_val(r, i, 2), *q = pgc_val(r, i, 3),
                   *owner = pgc_val(r, i, 4);
        if (pgc_schema_excluded(c, schema))
            continue;
        pg_buf sb;
        pg_buf_init(&sb);
        pg_buf_addf(&sb, "CREATE TYPE %s;\n", q);
        long shell = -1;
        if (!pgc_bval(r, i, 5)) { /* a shell that stayed a shell */
            pg_buf_addf(&sb, "ALTER TYPE %s OWNER TO %s;\n", q, owner);
            pg_buf d;
            pg_buf_init(&d);
            pg_buf_addf(&d, "DROP TYPE IF EXISTS %s;\n", q);
            rc = add_obj(c, K_TYPE, PG_TYPE_OID, pgc_uval(r, i, 0), schema, name, "SHELL TYPE", owner, &sb, &d, NULL);
            continue;
        }
        if ((rc = add_obj(c, K_TYPE, PG_PSEUDO_NONE, 0, schema, name, "SHELL TYPE", owner, &sb, NULL, &shell)))
            break;
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        long len = pgc_ival(r, i, 6, -1);
        pg_buf_addf(&b, "CREATE TYPE %s (\n    INTERNALLENGTH = ", q);
        if (len < 0)
            pg_buf_add(&b, "variable");
        else
            pg_buf_addf(&b, "%ld", len);
        pg_buf_addf(&b, ",\n    INPUT = %s,\n    OUTPUT = %s", pgc_val(r, i, 7), pgc_val(r, i, 8));
        static const char *const fnames[] = { "RECEIVE", "SEND", "TYPMOD_IN", "TYPMOD_OUT", "ANALYZE", "SUBSCRIPT" };
        for (int k = 0; k < 6; k++)
            if (pgc_val(r, i, 9 + k))
                pg_buf_addf(&b, ",\n    %s = %s", fnames[k], pgc_val(r, i, 9 + k));
        if (pgc_val(r, i, 15))
            pg_buf_addf(&b, ",\n    DEFAULT = %s", pgc_val(r, i, 15));
        if (pgc_val(r, i, 16))
            pg_buf_addf(&b, ",\n    ELEMENT = %s", pgc_val(r, i, 16));
        if (strcmp(pgc_val(r, i, 17), "','") != 0)
            pg_buf_addf(&b, ",\n    DELIMITER = %s", pgc_val(r, i, 17));
        if (strcmp(pgc_val(r, i, 18), "'U'") != 0)
            pg_buf_addf(&b, ",\n    CATEGORY = %s", pgc_val(r, i, 18));
        if (pgc_bval(r, i, 19))
            pg_buf_add(&b, ",\n    PREFERRED = true");
        char al = pgc_val(r, i, 20)[0], st = pgc_val(r, i, 21)[0];
        pg_buf_addf(&b, ",\n    ALIGNMENT = %s,\n    STORAGE = %s",
                    al == 'c' ? "char" : al == 's' ? "int2" : al == 'd' ? "double" : "int4",
                    st == 'p' ? "plain" : st == 'e' ? "external" : st == 'm' ? "main" : "extended");
        if (pgc_bval(r, i, 22))
            pg_buf_add(&b, ",\n    PASSEDBYVALUE");
        if (pgc_bval(r, i, 23))
            pg_buf_add(&b, ",\n    COLLATABLE = true");
        pg_buf_addf(&b, "\n);\nALTER TYPE %s OWNER TO %s;\n", q, owner);
        char target[600];
        snprintf(target, sizeof target, "TYPE %s", q);
        pgc_emit_comment(&b, target, pgc_val(r, i, 24));
        pgc_emit_acl(&b, target, owner, pgc_bval(r, i, 25), pgc_val(r, i, 26), 1);
        /* the I/O functions depend on the type: only CASCADE removes the pair */
        pg_buf_addf(&d, "DROP TYPE IF EXISTS %s CASCADE;\n", q);
        long idx;
        rc = add_obj(c, K_TYPE, PG_TYPE_OID, pgc_uval(r, i, 0), schema, name, "TYPE", owner, &b, &d, &idx);
        if (rc)
            break;
        c->m->objs[idx].shell = shell;
        if (!(c->m->objs[idx].qname = strdup(q)) || pg_model_dep(c->m, idx, shell) < 0 ||
            pg_model_alias(c->m, PG_TYPE_OID, pgc_uval(r, i, 27), idx) < 0)
            rc = pgc_oom(c->err);
    }
    PQclear(r);
    return rc;
}

static sk_rc read_access_methods(cat *c)
{
    PGresult *r = pgc_query(c, "access methods",
                            "SELECT a.oid, a.amname, quote_ident(a.amname), a.amtype, (SELECT "
                            QNAME("n.nspname", "p.proname") " FROM pg_proc p JOIN pg_namespace n ON n.oid = "
                            "p.pronamespace WHERE p.oid = a.amhandler), quote_literal(obj_description(a.oid, 'pg_am')) "
                            "FROM pg_am a WHERE a.oid >= 16384 AND " NOT_EXT("pg_am", "a.oid") " ORDER BY a.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *q = pgc_val(r, i, 2);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE ACCESS METHOD %s TYPE %s HANDLER %s;\n", q, pgc_val(r, i, 3)[0] == 't' ? "TABLE" : "INDEX",
                    pgc_val(r, i, 4));
        pgc_comment_and_drop(&b, &d, "ACCESS METHOD", q, pgc_val(r, i, 5));
        rc = add_obj(c, K_ACCESS_METHOD, PG_AM_OID, pgc_uval(r, i, 0), NULL, pgc_val(r, i, 1), "ACCESS METHOD", NULL,
                     &b, &d, NULL);
    }
    PQclear(r);
    return rc;
}

/* Operator families and classes. Members bound to a class (pg_depend 'i' on it) are listed in
 * CREATE OPERATOR CLASS; loose members of a family are added with ALTER OPERATOR FAMILY. Families
 * are always created explicitly, classes name theirs. */
static sk_rc read_opclasses(cat *c)
{
    PGresult *fam = pgc_query(c, "operator families",
                              "SELECT f.oid, n.nspname, f.opfname, " QNAME("n.nspname", "f.opfname") ", "
                              "quote_ident(am.amname), " OWNER("f.opfowner") ", quote_literal(obj_description(f.oid, "
                              "'pg_opfamily')) FROM pg_opfamily f JOIN pg_namespace n ON n.oid = f.opfnamespace JOIN "
                              "pg_am am ON am.oid = f.opfmethod WHERE f.oid >= 16384 AND " NSP_OK("n") " AND "
                              NOT_EXT("pg_opfamily", "f.oid") " ORDER BY f.oid");
    PGresult *cls = fam ? pgc_query(c, "operator classes",
                              "SELECT o.oid, n.nspname, o.opcname, " QNAME("n.nspname", "o.opcname") ", "
                              "quote_ident(am.amname), " OWNER("o.opcowner") ", quote_literal(obj_description(o.oid, "
                              "'pg_opclass')), o.opcdefault, format_type(o.opcintype, NULL), CASE WHEN o.opckeytype <> 0 "
                              "THEN format_type(o.opckeytype, NULL) END, o.opcfamily FROM pg_opclass o JOIN pg_namespace "
                              "n ON n.oid = o.opcnamespace JOIN pg_am am ON am.oid = o.opcmethod WHERE o.oid >= 16384 AND "
                              NSP_OK("n") " AND " NOT_EXT("pg_opclass", "o.oid") " ORDER BY o.oid") : NULL;
    /* members: kind, oid, family, owning class (0 = loose), the item text */
    PGresult *mem = cls ? pgc_query(c, "operator family members",
                              "SELECT 'o', ao.oid, ao.amopfamily, coalesce((SELECT d.refobjid FROM pg_depend d WHERE "
                              "d.classid = 'pg_amop'::regclass AND d.objid = ao.oid AND d.refclassid = "
                              "'pg_opclass'::regclass AND d.deptype = 'i'), 0), 'OPERATOR ' || ao.amopstrategy || ' ' || "
                              "ao.amopopr::regoperator::text || CASE WHEN ao.amoppurpose = 'o' THEN ' FOR ORDER BY ' || "
                              "(SELECT " QNAME("sn.nspname", "sf.opfname") " FROM pg_opfamily sf JOIN pg_namespace sn ON "
                              "sn.oid = sf.opfnamespace WHERE sf.oid = ao.amopsortfamily) ELSE '' END, ao.amopstrategy "
                              "FROM pg_amop ao WHERE ao.amopfamily >= 16384 UNION ALL "
                              "SELECT 'p', ap.oid, ap.amprocfamily, coalesce((SELECT d.refobjid FROM pg_depend d WHERE "
                              "d.classid = 'pg_amproc'::regclass AND d.objid = ap.oid AND d.refclassid = "
                              "'pg_opclass'::regclass AND d.deptype = 'i'), 0), 'FUNCTION ' || ap.amprocnum || ' (' || "
                              "format_type(ap.amproclefttype, NULL) || ', ' || format_type(ap.amprocrighttype, NULL) || "
                              "') ' || ap.amproc::regprocedure::text, ap.amprocnum FROM pg_amproc ap WHERE "
                              "ap.amprocfamily >= 16384 ORDER BY 1 DESC, 3, 4, 6, 5") : NULL;
    sk_rc rc = SK_OK;
    if (!fam || !cls || !mem) {
        rc = c->err->rc;
        goto out;
    }
    for (int i = 0; i < PQntuples(fam) && !rc; i++) {
        if (pgc_schema_excluded(c, pgc_val(fam, i, 1)))
            continue;
        unsigned oid = pgc_uval(fam, i, 0);
        const char *q = pgc_val(fam, i, 3), *am = pgc_val(fam, i, 4);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE OPERATOR FAMILY %s USING %s;\n", q, am);
        int loose = 0;
        for (int k = 0; k < PQntuples(mem); k++) {
            if (pgc_uval(mem, k, 2) != oid || pgc_uval(mem, k, 3) != 0)
                continue;
            if (!loose)
                pg_buf_addf(&b, "ALTER OPERATOR FAMILY %s USING %s ADD", q, am);
            pg_buf_addf(&b, "%s\n    %s", loose ? "," : "", pgc_val(mem, k, 4));
            loose++;
        }
        if (loose)
            pg_buf_add(&b, ";\n");
        pg_buf_addf(&b, "ALTER OPERATOR FAMILY %s USING %s OWNER TO %s;\n", q, am, pgc_val(fam, i, 5));
        char target[700];
        snprintf(target, sizeof target, "%s USING %s", q, am);
        pgc_comment_and_drop(&b, &d, "OPERATOR FAMILY", target, pgc_val(fam, i, 6));
        long idx;
        rc = add_obj(c, K_OPFAMILY, PG_OPFAMILY_OID, oid, pgc_val(fam, i, 1), pgc_val(fam, i, 2), "OPERATOR FAMILY",
                     pgc_val(fam, i, 5), &b, &d, &idx);
        for (int k = 0; k < PQntuples(mem) && !rc; k++)
            if (pgc_uval(mem, k, 2) == oid && pgc_uval(mem, k, 3) == 0 &&
                pg_model_alias(c->m, pgc_val(mem, k, 0)[0] == 'o' ? PG_AMOP_OID : PG_AMPROC_OID, pgc_uval(mem, k, 1),
                               idx) < 0)
                rc = pgc_oom(c->err);
    }
    for (int i = 0; i < PQntuples(cls) && !rc; i++) {
        if (pgc_schema_excluded(c, pgc_val(cls, i, 1)))
            continue;
        unsigned oid = pgc_uval(cls, i, 0);
        const char *q = pgc_val(cls, i, 3), *am = pgc_val(cls, i, 4);
        long famobj = pg_model_find(c->m, PG_OPFAMILY_OID, pgc_uval(cls, i, 10));
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE OPERATOR CLASS %s\n    %sFOR TYPE %s USING %s", q, pgc_bval(cls, i, 7) ? "DEFAULT " : "",
                    pgc_val(cls, i, 8), am);
        if (famobj >= 0) {
            const pg_obj *f = &c->m->objs[famobj];
            /* the family's quoted name is the head of its create text: "CREATE OPERATOR FAMILY <q> USING" */
            const char *fq = f->create + strlen("CREATE OPERATOR FAMILY ");
            const char *using = strstr(fq, " USING ");
            pg_buf_addf(&b, " FAMILY %.*s", (int)(using ? using - fq : 0), fq);
        }
        pg_buf_add(&b, " AS");
        int items = 0;
        for (int k = 0; k < PQntuples(mem); k++) {
            if (pgc_uval(mem, k, 3) != oid)
                continue;
            pg_buf_addf(&b, "%s\n    %s", items ? "," : "", pgc_val(mem, k, 4));
            items++;
        }
        if (pgc_val(cls, i, 9) || !items)
            pg_buf_addf(&b, "%s\n    STORAGE %s", items ? "," : "",
                        pgc_val(cls, i, 9) ? pgc_val(cls, i, 9) : pgc_val(cls, i, 8));
        pg_buf_addf(&b, ";\nALTER OPERATOR CLASS %s USING %s OWNER TO %s;\n", q, am, pgc_val(cls, i, 5));
        char target[700];
        snprintf(target, sizeof target, "%s USING %s", q, am);
        pgc_comment_and_drop(&b, &d, "OPERATOR CLASS", target, pgc_val(cls, i, 6));
        long idx;
        rc = add_obj(c, K_OPCLASS, PG_OPCLASS_OID, oid, pgc_val(cls, i, 1), pgc_val(cls, i, 2), "OPERATOR CLASS",
                     pgc_val(cls, i, 5), &b, &d, &idx);
        if (!rc && famobj >= 0 && pg_model_dep(c->m, idx, famobj) < 0)
            rc = pgc_oom(c->err);
        for (int k = 0; k < PQntuples(mem) && !rc; k++)
            if (pgc_uval(mem, k, 3) == oid &&
                pg_model_alias(c->m, pgc_val(mem, k, 0)[0] == 'o' ? PG_AMOP_OID : PG_AMPROC_OID, pgc_uval(mem, k, 1),
                               idx) < 0)
                rc = pgc_oom(c->err);
    }
out:
    PQclear(fam);
    PQclear(cls);
    PQclear(mem);
    return rc;
}


static sk_rc read_transforms(cat *c)
{
    PGresult *r = pgc_query(c, "transforms",
                            "SELECT t.oid, format_type(t.trftype, NULL), quote_ident(l.lanname), CASE WHEN t.trffromsql "
                            "<> 0 THEN t.trffromsql::regprocedure::text END, CASE WHEN t.trftosql <> 0 THEN "
                            "t.trftosql::regprocedure::text END, quote_literal(obj_description(t.oid, 'pg_transform')) "
                            "FROM pg_transform t JOIN pg_language l ON l.oid = t.trflang WHERE t.oid >= 16384 AND "
                            NOT_EXT("pg_transform", "t.oid") " ORDER BY t.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        char sig[600];
        snprintf(sig, sizeof sig, "FOR %s LANGUAGE %s", pgc_val(r, i, 1), pgc_val(r, i, 2));
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE TRANSFORM %s (", sig);
        if (pgc_val(r, i, 3))
            pg_buf_addf(&b, "FROM SQL WITH FUNCTION %s", pgc_val(r, i, 3));
        if (pgc_val(r, i, 4))
            pg_buf_addf(&b, "%sTO SQL WITH FUNCTION %s", pgc_val(r, i, 3) ? ", " : "", pgc_val(r, i, 4));
        pg_buf_add(&b, ");\n");
        pgc_comment_and_drop(&b, &d, "TRANSFORM", sig, pgc_val(r, i, 5));
        rc = add_obj(c, K_CAST, PG_TRANSFORM_OID, pgc_uval(r, i, 0), NULL, sig, "TRANSFORM", NULL, &b, &d, NULL);
    }
    PQclear(r);
    return rc;
}

/* Foreign data wrappers, servers and user mappings (foreign tables are relations). */
static sk_rc read_foreign(cat *c)
{
    pg_buf_reset(&c->sql);
    pg_buf_add(&c->sql, "SELECT w.oid, w.fdwname, quote_ident(w.fdwname), " OWNER("w.fdwowner") ", "
                        "CASE WHEN w.fdwhandler <> 0 THEN w.fdwhandler::regproc::text END, CASE WHEN w.fdwvalidator <> "
                        "0 THEN w.fdwvalidator::regproc::text END, " OPTIONS_SQL("w.fdwoptions") ", "
                        "quote_literal(obj_description(w.oid, 'pg_foreign_data_wrapper')), w.fdwacl IS NULL, ");
    pgc_acl_sql(&c->sql, "w.fdwacl", "");
    pg_buf_add(&c->sql, " FROM pg_foreign_data_wrapper w WHERE w.oid >= 16384 AND "
                        NOT_EXT("pg_foreign_data_wrapper", "w.oid") " ORDER BY w.oid");
    PGresult *r = pg_buf_ok(&c->sql) ? pgc_query(c, "foreign data wrappers", c->sql.s) : NULL;
    if (!r)
        return c->err->rc ? c->err->rc : pgc_oom(c->err);
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *q = pgc_val(r, i, 2), *owner = pgc_val(r, i, 3);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE FOREIGN DATA WRAPPER %s", q);
        if (pgc_val(r, i, 4))
            pg_buf_addf(&b, " HANDLER %s", pgc_val(r, i, 4));
        if (pgc_val(r, i, 5))
            pg_buf_addf(&b, " VALIDATOR %s", pgc_val(r, i, 5));
        if (*pgc_val(r, i, 6))
            pg_buf_addf(&b, " OPTIONS (%s)", pgc_val(r, i, 6));
        pg_buf_addf(&b, ";\nALTER FOREIGN DATA WRAPPER %s OWNER TO %s;\n", q, owner);
        char target[600];
        snprintf(target, sizeof target, "FOREIGN DATA WRAPPER %s", q);
        pgc_emit_comment(&b, target, pgc_val(r, i, 7));
        pgc_emit_acl(&b, target, owner, pgc_bval(r, i, 8), pgc_val(r, i, 9), 1);
        pg_buf_addf(&d, "DROP FOREIGN DATA WRAPPER IF EXISTS %s;\n", q);
        rc = add_obj(c, K_FOREIGN, PG_FDW_OID, pgc_uval(r, i, 0), NULL, pgc_val(r, i, 1), "FOREIGN DATA WRAPPER",
                     owner, &b, &d, NULL);
    }
    PQclear(r);
    if (rc)
        return rc;
    pg_buf_reset(&c->sql);
    pg_buf_add(&c->sql, "SELECT s.oid, s.srvname, quote_ident(s.srvname), " OWNER("s.srvowner") ", "
                        "(SELECT quote_ident(w.fdwname) FROM pg_foreign_data_wrapper w WHERE w.oid = s.srvfdw), "
                        "quote_literal(s.srvtype), quote_literal(s.srvversion), " OPTIONS_SQL("s.srvoptions") ", "
                        "quote_literal(obj_description(s.oid, 'pg_foreign_server')), s.srvacl IS NULL, ");
    pgc_acl_sql(&c->sql, "s.srvacl", "");
    pg_buf_add(&c->sql, ", (SELECT string_agg('CREATE USER MAPPING FOR ' || CASE WHEN u.umuser = 0 THEN 'PUBLIC' ELSE "
                        "quote_ident(u.usename) END || ' SERVER ' || quote_ident(s.srvname) || CASE WHEN "
                        "u.umoptions IS NOT NULL THEN ' OPTIONS (' || " OPTIONS_SQL("u.umoptions") " || ')' ELSE '' "
                        "END || E';\n', '' ORDER BY u.usename) FROM pg_user_mappings u WHERE u.srvid = s.oid) "
                        "FROM pg_foreign_server s WHERE s.oid >= 16384 AND " NOT_EXT("pg_foreign_server", "s.oid")
                        " ORDER BY s.oid");
    r = pg_buf_ok(&c->sql) ? pgc_query(c, "foreign servers", c->sql.s) : NULL;
    if (!r)
        return c->err->rc ? c->err->rc : pgc_oom(c->err);
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *q = pgc_val(r, i, 2), *owner = pgc_val(r, i, 3);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE SERVER %s", q);
        if (pgc_val(r, i, 5))
            pg_buf_addf(&b, " TYPE %s", pgc_val(r, i, 5));
        if (pgc_val(r, i, 6))
            pg_buf_addf(&b, " VERSION %s", pgc_val(r, i, 6));
        pg_buf_addf(&b, " FOREIGN DATA WRAPPER %s", pgc_val(r, i, 4));
        if (*pgc_val(r, i, 7))
            pg_buf_addf(&b, " OPTIONS (%s)", pgc_val(r, i, 7));
        pg_buf_addf(&b, ";\nALTER SERVER %s OWNER TO %s;\n", q, owner);
        if (pgc_val(r, i, 11))
            pg_buf_add(&b, pgc_val(r, i, 11));
        char target[600];
        snprintf(target, sizeof target, "SERVER %s", q);
        pgc_emit_comment(&b, target, pgc_val(r, i, 8));
        snprintf(target, sizeof target, "FOREIGN SERVER %s", q);
        pgc_emit_acl(&b, target, owner, pgc_bval(r, i, 9), pgc_val(r, i, 10), 1);
        pg_buf_addf(&d, "DROP SERVER IF EXISTS %s CASCADE;\n", q);
        rc = add_obj(c, K_FOREIGN, PG_FOREIGN_SERVER_OID, pgc_uval(r, i, 0), NULL, pgc_val(r, i, 1), "SERVER", owner,
                     &b, &d, NULL);
    }
    PQclear(r);
    return rc;
}

/* Privileges changed on system objects in pg_catalog: relations, their columns
 * and pg_catalog functions, as REVOKE/GRANT of the difference from the initial privileges
 * (pg_init_privs), so the statements hold in any cluster. */
#define ACL_DIFF(cur, init, colpart, target) \
    "(SELECT string_agg(z.s, E'\\n' ORDER BY z.o, z.s) FROM (SELECT 0 AS o, 'REVOKE ' || i.privilege_type || " \
    colpart " || ' ON ' || " target " || ' FROM ' || CASE WHEN i.grantee = 0 THEN 'PUBLIC' ELSE " \
    "quote_ident(pg_get_userbyid(i.grantee)) END || ';' AS s FROM aclexplode(" init ") i WHERE NOT EXISTS (SELECT 1 " \
    "FROM aclexplode(" cur ") k WHERE k.grantee = i.grantee AND k.privilege_type = i.privilege_type) UNION ALL " \
    "SELECT 1, 'GRANT ' || k.privilege_type || " colpart " || ' ON ' || " target " || ' TO ' || CASE WHEN k.grantee " \
    "= 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(k.grantee)) END || CASE WHEN k.is_grantable THEN ' WITH " \
    "GRANT OPTION' ELSE '' END || ';' FROM aclexplode(" cur ") k WHERE NOT EXISTS (SELECT 1 FROM aclexplode(" init \
    ") i WHERE i.grantee = k.grantee AND i.privilege_type = k.privilege_type AND i.is_grantable = k.is_grantable)) z)"

static sk_rc read_system_acls(cat *c)
{
    static const char sql[] =
        "SELECT x.target, x.stmts FROM ("
        /* relations */
        "SELECT 'TABLE ' || 'pg_catalog.' || quote_ident(c.relname) AS target, " ACL_DIFF(
            "coalesce(c.relacl, acldefault('r', c.relowner))",
            "coalesce(ip.initprivs, acldefault('r', c.relowner))", "''", "'TABLE ' || 'pg_catalog.' || quote_ident(c.relname)")
        " AS stmts FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_init_privs ip ON "
        "ip.objoid = c.oid AND ip.classoid = 'pg_class'::regclass AND ip.objsubid = 0 WHERE n.nspname = "
        "'pg_catalog' AND c.relkind IN ('r', 'v', 'm', 'p') AND c.relacl IS DISTINCT FROM "
        "ip.initprivs "
        /* columns */
        "UNION ALL SELECT 'COLUMN ' || 'pg_catalog.' || quote_ident(c.relname) || '.' || quote_ident(a.attname), " ACL_DIFF(
            "a.attacl", "ip.initprivs", "' (' || quote_ident(a.attname) || ')'",
            "'TABLE ' || 'pg_catalog.' || quote_ident(c.relname)")
        " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_init_privs ip ON ip.objoid = c.oid AND ip.classoid = 'pg_class'::regclass AND ip.objsubid = "
        "a.attnum WHERE n.nspname = 'pg_catalog' AND a.attnum > 0 AND NOT a.attisdropped AND "
        "a.attacl IS DISTINCT FROM ip.initprivs "
        /* functions */
        "UNION ALL SELECT 'FUNCTION pg_catalog.' || p.oid::regprocedure::text, " ACL_DIFF(
            "coalesce(p.proacl, acldefault('f', p.proowner))", "coalesce(ip.initprivs, acldefault('f', p.proowner))",
            "''", "'FUNCTION pg_catalog.' || p.oid::regprocedure::text")
        " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace LEFT JOIN pg_init_privs ip ON ip.objoid = "
        "p.oid AND ip.classoid = 'pg_proc'::regclass AND ip.objsubid = 0 WHERE n.nspname = 'pg_catalog' AND "
        "p.prokind <> 'a' AND p.proacl IS DISTINCT FROM ip.initprivs) x WHERE x.stmts IS NOT NULL ORDER BY 1";
    PGresult *r = pgc_query(c, "privileges of system objects", sql);
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        pg_buf b;
        pg_buf_init(&b);
        pg_buf_addf(&b, "%s\n", pgc_val(r, i, 1));
        rc = add_obj(c, K_DEFAULT_ACL, PG_PSEUDO_NONE, 0, "pg_catalog", pgc_val(r, i, 0), "ACL", NULL, &b, NULL, NULL);
    }
    PQclear(r);
    return rc;
}

/* Subscriptions, created with connect = false as pg_dump does (no slot is created, nothing is
 * copied; the subscription starts disabled). Their connection strings are readable by superusers
 * only; others get none dumped. The drop detaches the slot first, so the remote one is left alone. */
static sk_rc read_subscriptions(cat *c)
{
    PGresult *su = pgc_query(c, "superuser check", "SELECT rolsuper FROM pg_roles WHERE rolname = current_user");
    if (!su)
        return c->err->rc;
    int superuser = PQntuples(su) == 1 && pgc_bval(su, 0, 0);
    PQclear(su);
    if (!superuser)
        return SK_OK;
    int v = c->m->server_version;
    pg_buf_reset(&c->sql);
    /* binary and streaming are 14's, two_phase and disable_on_error 15's; streaming is a char
     * ('f', 't', 'p' for parallel) from 16 on */
    pg_buf_addf(&c->sql,
                "SELECT s.oid, s.subname, quote_ident(s.subname), " OWNER("s.subowner") ", "
                "quote_literal(s.subconninfo), array_to_string(ARRAY(SELECT quote_ident(x) FROM "
                "unnest(s.subpublications) x), ', '), quote_literal(s.subslotname), %s, %s, %s, %s, s.subsynccommit, "
                "quote_literal(obj_description(s.oid, 'pg_subscription')), quote_literal(s.subname) FROM "
                "pg_subscription s WHERE "
                "s.subdbid = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database()) "
                "ORDER BY s.oid",
                v >= 140000 ? "s.subbinary" : "false", v >= 140000 ? "s.substream::text" : "'f'",
                v >= 150000 ? "s.subtwophasestate <> 'd'" : "false", v >= 150000 ? "s.subdisableonerr" : "false");
    PGresult *r = pg_buf_ok(&c->sql) ? pgc_query(c, "subscriptions", c->sql.s) : NULL;
    if (!r)
        return c->err->rc ? c->err->rc : pgc_oom(c->err);
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *q = pgc_val(r, i, 2);
        pg_buf b;
        pg_buf_init(&b);
        pg_buf_addf(&b, "CREATE SUBSCRIPTION %s CONNECTION %s PUBLICATION %s WITH (connect = false, slot_name = %s", q,
                    pgc_val(r, i, 4), pgc_val(r, i, 5), pgc_val(r, i, 6) ? pgc_val(r, i, 6) : "NONE");
        if (pgc_bval(r, i, 7))
            pg_buf_add(&b, ", binary = true");
        const char *stream = pgc_val(r, i, 8);
        if (stream[0] == 't')
            pg_buf_add(&b, ", streaming = on");
        else if (stream[0] == 'p')
            pg_buf_add(&b, ", streaming = parallel");
        if (pgc_bval(r, i, 9))
            pg_buf_add(&b, ", two_phase = on");
        if (pgc_bval(r, i, 10))
            pg_buf_add(&b, ", disable_on_error = true");
        if (strcmp(pgc_val(r, i, 11), "off") != 0)
            pg_buf_addf(&b, ", synchronous_commit = '%s'", pgc_val(r, i, 11));
        pg_buf_addf(&b, ");\nALTER SUBSCRIPTION %s OWNER TO %s;\n", q, pgc_val(r, i, 3));
        char target[600];
        snprintf(target, sizeof target, "SUBSCRIPTION %s", q);
        pgc_emit_comment(&b, target, pgc_val(r, i, 12));
        /* drop an existing one without touching its remote slot: detach the slot first */
        pg_buf d;
        pg_buf_init(&d);
        char tag[32];
        for (int n = 0;; n++) {
            snprintf(tag, sizeof tag, "$sk%d$", n);
            if (!strstr(q, tag) && !strstr(pgc_val(r, i, 13), tag))
                break;
        }
        pg_buf_addf(&d, "DO %s BEGIN IF EXISTS (SELECT 1 FROM pg_catalog.pg_subscription WHERE subname = %s AND subdbid = "
                        "(SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())) THEN "
                        "ALTER SUBSCRIPTION %s DISABLE; ALTER SUBSCRIPTION %s SET (slot_name = NONE); DROP SUBSCRIPTION "
                        "%s; END IF; END %s;\n", tag, pgc_val(r, i, 13), q, q, q, tag);
        rc = add_obj(c, K_PUBLICATION, PG_PSEUDO_NONE, 0, NULL, pgc_val(r, i, 1), "SUBSCRIPTION", pgc_val(r, i, 3), &b,
                     &d, NULL);
    }
    PQclear(r);
    return rc;
}

sk_rc pgc_fix_after_depends(cat *c)
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

sk_rc pgc_read_more(cat *c)
{
    sk_rc rc;
    if ((rc = read_collations(c)) || (rc = read_base_types(c)) || (rc = read_casts(c)) ||
        (rc = read_access_methods(c)) || (rc = read_opclasses(c)) || (rc = read_transforms(c)) ||
        (rc = read_foreign(c)) || (rc = read_system_acls(c)) || (rc = read_subscriptions(c)) || (rc = read_aggregates(c)) ||
        (rc = read_operators(c)) || (rc = read_text_search(c)) || (rc = read_large_objects(c)) ||
        (rc = read_domain_constraints(c)) || (rc = read_publications(c)) || (rc = read_default_acls(c)) ||
        (rc = read_event_triggers(c)))
        return rc;
    return SK_OK;
}
