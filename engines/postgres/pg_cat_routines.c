/*
 * pg_cat_routines.c: functions and procedures, aggregates, operators, operator families and
 * classes, casts, transforms and access methods.
 */
#include "pg_cat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- functions and procedures ---- */

enum { FN_OID, FN_SCHEMA, FN_NAME, FN_SIG, FN_KIND, FN_OWNER, FN_COMMENT, FN_ACLNULL, FN_GRANTS, FN_DEF };

sk_rc pgc_read_functions(cat *c)
{
    static const pgc_col cols[] = {
        [FN_OID] = { "p.oid" },
        [FN_SCHEMA] = { "n.nspname" },
        [FN_NAME] = { "p.proname" },
        [FN_SIG] = { QNAME_SQL("n.nspname", "p.proname") " || '(' || pg_get_function_identity_arguments(p.oid) || ')'" },
        [FN_KIND] = { "p.prokind" },
        [FN_OWNER] = { OWNER_SQL("p.proowner") },
        [FN_COMMENT] = { COMMENT_SQL("p.oid", "pg_proc") },
        [FN_ACLNULL] = { "p.proacl IS NULL" },
        [FN_GRANTS] = { ACL_SQL("p.proacl", "") },
        [FN_DEF] = { "pg_get_functiondef(p.oid)" },
    };
    PGresult *r = PGC_RUN(c, "functions", cols,
                          "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid >= 16384 AND "
                          "p.prokind IN ('f', 'p', 'w') AND " NSP_OK("n") " AND "
                          /* range/multirange constructors belong to their type */
                          "NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_proc'::regclass AND "
                          "i.objid = p.oid AND i.deptype = 'i') AND " NOT_EXT("pg_proc", "p.oid") " ORDER BY p.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *schema = pgc_val(r, i, FN_SCHEMA), *q = pgc_val(r, i, FN_SIG), *owner = pgc_val(r, i, FN_OWNER);
        if (pgc_schema_excluded(c, schema))
            continue;
        const char *kw = pgc_val(r, i, FN_KIND)[0] == 'p' ? "PROCEDURE" : "FUNCTION";
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        const char *def = pgc_val(r, i, FN_DEF);
        size_t dl = strlen(def);
        while (dl > 0 && (def[dl - 1] == '\n' || def[dl - 1] == ' '))
            dl--;
        pg_buf_addn(&b, def, dl);
        pg_buf_add(&b, ";\n");
        char target[1200];
        snprintf(target, sizeof target, "%s %s", kw, q);
        pg_buf_addf(&b, "ALTER %s OWNER TO %s;\n", target, owner);
        pgc_emit_comment(&b, target, pgc_val(r, i, FN_COMMENT));
        pgc_emit_acl(&b, target, owner, pgc_bval(r, i, FN_ACLNULL), pgc_val(r, i, FN_GRANTS), 1);
        pg_buf_addf(&d, "DROP %s IF EXISTS %s;\n", kw, q);
        /* the name for ordering carries the arguments, so overloads sort deterministically */
        const char *paren = strchr(q, '(');
        pg_buf nm;
        pg_buf_init(&nm);
        pg_buf_addf(&nm, "%s%s", pgc_val(r, i, FN_NAME), paren ? paren : "");
        long idx;
        rc = pgc_add(c, &(pgc_new){ K_FUNCTION, PG_PROC_OID, pgc_uval(r, i, FN_OID), schema, nm.s, kw, owner }, &b, &d,
                     &idx);
        if (!rc && !pg_buf_ok(&nm))
            rc = pgc_oom(c->err);
        pg_buf_free(&nm);
        if (!rc)
            c->m->objs[idx].movable = 1;
    }
    PQclear(r);
    return rc;
}

/* ---- aggregates ---- */

enum { AG_OID, AG_SCHEMA, AG_NAME, AG_QNAME, AG_ARGS, AG_OWNER, AG_COMMENT, AG_ACLNULL, AG_GRANTS, AG_KIND,
       AG_SFUNC, AG_STYPE, AG_SSPACE, AG_FINALFN, AG_FINALEXTRA, AG_FINALMODIFY, AG_COMBINEFN, AG_SERIALFN,
       AG_DESERIALFN, AG_INITCOND, AG_MSFUNC, AG_MINVFUNC, AG_MSTYPE, AG_MSSPACE, AG_MFINALFN, AG_MFINALEXTRA,
       AG_MFINALMODIFY, AG_MINITCOND, AG_SORTOP, AG_PARALLEL };

#define REGPROC_OR_NULL(col) "CASE WHEN " col " <> 0 THEN " col "::regproc::text END"

static const char *modify_word(char m)
{
    return m == 'r' ? "READ_ONLY" : m == 's' ? "SHAREABLE" : "READ_WRITE";
}

sk_rc pgc_read_aggregates(cat *c)
{
    static const pgc_col cols[] = {
        [AG_OID] = { "p.oid" },
        [AG_SCHEMA] = { "n.nspname" },
        [AG_NAME] = { "p.proname" },
        [AG_QNAME] = { QNAME_SQL("n.nspname", "p.proname") },
        [AG_ARGS] = { "pg_get_function_identity_arguments(p.oid)" },
        [AG_OWNER] = { OWNER_SQL("p.proowner") },
        [AG_COMMENT] = { COMMENT_SQL("p.oid", "pg_proc") },
        [AG_ACLNULL] = { "p.proacl IS NULL" },
        [AG_GRANTS] = { ACL_SQL("p.proacl", "") },
        [AG_KIND] = { "a.aggkind" },
        [AG_SFUNC] = { "a.aggtransfn::regproc::text" },
        [AG_STYPE] = { "format_type(a.aggtranstype, NULL)" },
        [AG_SSPACE] = { "a.aggtransspace" },
        [AG_FINALFN] = { REGPROC_OR_NULL("a.aggfinalfn") },
        [AG_FINALEXTRA] = { "a.aggfinalextra" },
        [AG_FINALMODIFY] = { "a.aggfinalmodify" },
        [AG_COMBINEFN] = { REGPROC_OR_NULL("a.aggcombinefn") },
        [AG_SERIALFN] = { REGPROC_OR_NULL("a.aggserialfn") },
        [AG_DESERIALFN] = { REGPROC_OR_NULL("a.aggdeserialfn") },
        [AG_INITCOND] = { "quote_literal(a.agginitval)" },
        [AG_MSFUNC] = { REGPROC_OR_NULL("a.aggmtransfn") },
        [AG_MINVFUNC] = { REGPROC_OR_NULL("a.aggminvtransfn") },
        [AG_MSTYPE] = { "CASE WHEN a.aggmtranstype <> 0 THEN format_type(a.aggmtranstype, NULL) END" },
        [AG_MSSPACE] = { "a.aggmtransspace" },
        [AG_MFINALFN] = { REGPROC_OR_NULL("a.aggmfinalfn") },
        [AG_MFINALEXTRA] = { "a.aggmfinalextra" },
        [AG_MFINALMODIFY] = { "a.aggmfinalmodify" },
        [AG_MINITCOND] = { "quote_literal(a.aggminitval)" },
        [AG_SORTOP] = { "(SELECT 'OPERATOR(' || quote_ident(on_.nspname) || '.' || o.oprname || ')' FROM pg_operator "
                        "o JOIN pg_namespace on_ ON on_.oid = o.oprnamespace WHERE o.oid = a.aggsortop)" },
        [AG_PARALLEL] = { "p.proparallel" },
    };
    PGresult *r = PGC_RUN(c, "aggregates", cols,
                          "FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid JOIN pg_namespace n ON n.oid = "
                          "p.pronamespace WHERE p.oid >= 16384 AND " NSP_OK("n") " AND " NOT_EXT("pg_proc", "p.oid")
                          " ORDER BY p.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        if (pgc_schema_excluded(c, pgc_val(r, i, AG_SCHEMA)))
            continue;
        const char *args = pgc_val(r, i, AG_ARGS), *owner = pgc_val(r, i, AG_OWNER);
        char sig[1200];
        snprintf(sig, sizeof sig, "%s(%s)", pgc_val(r, i, AG_QNAME), *args ? args : "*");
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE AGGREGATE %s (\n    SFUNC = %s,\n    STYPE = %s", sig, pgc_val(r, i, AG_SFUNC),
                    pgc_val(r, i, AG_STYPE));
        if (pgc_ival(r, i, AG_SSPACE, 0) > 0)
            pg_buf_addf(&b, ",\n    SSPACE = %s", pgc_val(r, i, AG_SSPACE));
        if (pgc_val(r, i, AG_INITCOND))
            pg_buf_addf(&b, ",\n    INITCOND = %s", pgc_val(r, i, AG_INITCOND));
        if (pgc_val(r, i, AG_FINALFN)) {
            pg_buf_addf(&b, ",\n    FINALFUNC = %s", pgc_val(r, i, AG_FINALFN));
            if (pgc_bval(r, i, AG_FINALEXTRA))
                pg_buf_add(&b, ",\n    FINALFUNC_EXTRA");
            pg_buf_addf(&b, ",\n    FINALFUNC_MODIFY = %s", modify_word(pgc_val(r, i, AG_FINALMODIFY)[0]));
        }
        if (pgc_val(r, i, AG_COMBINEFN))
            pg_buf_addf(&b, ",\n    COMBINEFUNC = %s", pgc_val(r, i, AG_COMBINEFN));
        if (pgc_val(r, i, AG_SERIALFN))
            pg_buf_addf(&b, ",\n    SERIALFUNC = %s", pgc_val(r, i, AG_SERIALFN));
        if (pgc_val(r, i, AG_DESERIALFN))
            pg_buf_addf(&b, ",\n    DESERIALFUNC = %s", pgc_val(r, i, AG_DESERIALFN));
        if (pgc_val(r, i, AG_MSFUNC)) {
            pg_buf_addf(&b, ",\n    MSFUNC = %s,\n    MINVFUNC = %s,\n    MSTYPE = %s", pgc_val(r, i, AG_MSFUNC),
                        pgc_val(r, i, AG_MINVFUNC), pgc_val(r, i, AG_MSTYPE));
            if (pgc_ival(r, i, AG_MSSPACE, 0) > 0)
                pg_buf_addf(&b, ",\n    MSSPACE = %s", pgc_val(r, i, AG_MSSPACE));
            if (pgc_val(r, i, AG_MINITCOND))
                pg_buf_addf(&b, ",\n    MINITCOND = %s", pgc_val(r, i, AG_MINITCOND));
            if (pgc_val(r, i, AG_MFINALFN)) {
                pg_buf_addf(&b, ",\n    MFINALFUNC = %s", pgc_val(r, i, AG_MFINALFN));
                if (pgc_bval(r, i, AG_MFINALEXTRA))
                    pg_buf_add(&b, ",\n    MFINALFUNC_EXTRA");
                pg_buf_addf(&b, ",\n    MFINALFUNC_MODIFY = %s", modify_word(pgc_val(r, i, AG_MFINALMODIFY)[0]));
            }
        }
        if (pgc_val(r, i, AG_SORTOP))
            pg_buf_addf(&b, ",\n    SORTOP = %s", pgc_val(r, i, AG_SORTOP));
        char par = pgc_val(r, i, AG_PARALLEL)[0];
        if (par == 's')
            pg_buf_add(&b, ",\n    PARALLEL = safe");
        else if (par == 'r')
            pg_buf_add(&b, ",\n    PARALLEL = restricted");
        if (pgc_val(r, i, AG_KIND)[0] == 'h')
            pg_buf_add(&b, ",\n    HYPOTHETICAL");
        pg_buf_add(&b, "\n);\n");
        pg_buf_addf(&b, "ALTER AGGREGATE %s OWNER TO %s;\n", sig, owner);
        char target[1300];
        snprintf(target, sizeof target, "AGGREGATE %s", sig);
        pgc_emit_comment(&b, target, pgc_val(r, i, AG_COMMENT));
        snprintf(target, sizeof target, "FUNCTION %s", sig);
        pgc_emit_acl(&b, target, owner, pgc_bval(r, i, AG_ACLNULL), pgc_val(r, i, AG_GRANTS), 1);
        pg_buf_addf(&d, "DROP AGGREGATE IF EXISTS %s;\n", sig);
        char nm[1200];
        snprintf(nm, sizeof nm, "%s(%s)", pgc_val(r, i, AG_NAME), args);
        rc = pgc_add(c, &(pgc_new){ K_AGGREGATE, PG_PROC_OID, pgc_uval(r, i, AG_OID), pgc_val(r, i, AG_SCHEMA), nm,
                                    "AGGREGATE", owner }, &b, &d, NULL);
    }
    PQclear(r);
    return rc;
}

/* ---- operators ---- */

enum { OP_OID, OP_SCHEMA, OP_NAME, OP_QNAME, OP_LEFT, OP_RIGHT, OP_FUNC, OP_COM, OP_NEG, OP_REST, OP_JOIN,
       OP_HASHES, OP_MERGES, OP_OWNER, OP_COMMENT };

#define OPERATOR_REF(col) \
    "(SELECT 'OPERATOR(' || quote_ident(cn.nspname) || '.' || co.oprname || ')' FROM pg_operator co JOIN " \
    "pg_namespace cn ON cn.oid = co.oprnamespace WHERE co.oid = " col ")"

sk_rc pgc_read_operators(cat *c)
{
    static const pgc_col cols[] = {
        [OP_OID] = { "o.oid" },
        [OP_SCHEMA] = { "n.nspname" },
        [OP_NAME] = { "o.oprname" },
        [OP_QNAME] = { "quote_ident(n.nspname) || '.' || o.oprname" },
        [OP_LEFT] = { "CASE WHEN o.oprleft <> 0 THEN format_type(o.oprleft, NULL) END" },
        [OP_RIGHT] = { "CASE WHEN o.oprright <> 0 THEN format_type(o.oprright, NULL) END" },
        [OP_FUNC] = { "o.oprcode::regproc::text" },
        [OP_COM] = { OPERATOR_REF("o.oprcom") },
        [OP_NEG] = { OPERATOR_REF("o.oprnegate") },
        [OP_REST] = { REGPROC_OR_NULL("o.oprrest") },
        [OP_JOIN] = { REGPROC_OR_NULL("o.oprjoin") },
        [OP_HASHES] = { "o.oprcanhash" },
        [OP_MERGES] = { "o.oprcanmerge" },
        [OP_OWNER] = { OWNER_SQL("o.oprowner") },
        [OP_COMMENT] = { COMMENT_SQL("o.oid", "pg_operator") },
    };
    PGresult *r = PGC_RUN(c, "operators", cols,
                          "FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace WHERE o.oid >= 16384 AND "
                          "o.oprcode <> 0 AND " NSP_OK("n") " AND " NOT_EXT("pg_operator", "o.oid") " ORDER BY o.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        if (pgc_schema_excluded(c, pgc_val(r, i, OP_SCHEMA)))
            continue;
        const char *q = pgc_val(r, i, OP_QNAME), *l = pgc_val(r, i, OP_LEFT), *rt = pgc_val(r, i, OP_RIGHT);
        const char *owner = pgc_val(r, i, OP_OWNER);
        char sig[1200];
        snprintf(sig, sizeof sig, "%s (%s, %s)", q, l ? l : "NONE", rt ? rt : "NONE");
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE OPERATOR %s (\n    FUNCTION = %s", q, pgc_val(r, i, OP_FUNC));
        if (l)
            pg_buf_addf(&b, ",\n    LEFTARG = %s", l);
        if (rt)
            pg_buf_addf(&b, ",\n    RIGHTARG = %s", rt);
        if (pgc_val(r, i, OP_COM))
            pg_buf_addf(&b, ",\n    COMMUTATOR = %s", pgc_val(r, i, OP_COM));
        if (pgc_val(r, i, OP_NEG))
            pg_buf_addf(&b, ",\n    NEGATOR = %s", pgc_val(r, i, OP_NEG));
        if (pgc_val(r, i, OP_REST))
            pg_buf_addf(&b, ",\n    RESTRICT = %s", pgc_val(r, i, OP_REST));
        if (pgc_val(r, i, OP_JOIN))
            pg_buf_addf(&b, ",\n    JOIN = %s", pgc_val(r, i, OP_JOIN));
        if (pgc_bval(r, i, OP_HASHES))
            pg_buf_add(&b, ",\n    HASHES");
        if (pgc_bval(r, i, OP_MERGES))
            pg_buf_add(&b, ",\n    MERGES");
        pg_buf_addf(&b, "\n);\nALTER OPERATOR %s OWNER TO %s;\n", sig, owner);
        pgc_comment_and_drop(&b, &d, "OPERATOR", sig, pgc_val(r, i, OP_COMMENT));
        char nm[1200];
        snprintf(nm, sizeof nm, "%s (%s, %s)", pgc_val(r, i, OP_NAME), l ? l : "NONE", rt ? rt : "NONE");
        rc = pgc_add(c, &(pgc_new){ K_OPERATOR, PG_OPERATOR_OID, pgc_uval(r, i, OP_OID), pgc_val(r, i, OP_SCHEMA), nm,
                                    "OPERATOR", owner }, &b, &d, NULL);
    }
    PQclear(r);
    return rc;
}

/* ---- casts ---- */

enum { CA_OID, CA_SOURCE, CA_TARGET, CA_FUNC, CA_CONTEXT, CA_METHOD, CA_COMMENT };

sk_rc pgc_read_casts(cat *c)
{
    static const pgc_col cols[] = {
        [CA_OID] = { "c.oid" },
        [CA_SOURCE] = { "format_type(c.castsource, NULL)" },
        [CA_TARGET] = { "format_type(c.casttarget, NULL)" },
        [CA_FUNC] = { "CASE WHEN c.castfunc <> 0 THEN c.castfunc::regprocedure::text END" },
        [CA_CONTEXT] = { "c.castcontext" },
        [CA_METHOD] = { "c.castmethod" },
        [CA_COMMENT] = { COMMENT_SQL("c.oid", "pg_cast") },
    };
    PGresult *r = PGC_RUN(c, "casts", cols,
                          "FROM pg_cast c WHERE c.oid >= 16384 AND " NOT_EXT("pg_cast", "c.oid") " AND NOT EXISTS "
                          "(SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_cast'::regclass AND i.objid = c.oid AND "
                          "i.deptype = 'i') ORDER BY c.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        char sig[600];
        snprintf(sig, sizeof sig, "(%s AS %s)", pgc_val(r, i, CA_SOURCE), pgc_val(r, i, CA_TARGET));
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE CAST %s", sig);
        char method = pgc_val(r, i, CA_METHOD)[0];
        if (method == 'f')
            pg_buf_addf(&b, " WITH FUNCTION %s", pgc_val(r, i, CA_FUNC));
        else if (method == 'i')
            pg_buf_add(&b, " WITH INOUT");
        else
            pg_buf_add(&b, " WITHOUT FUNCTION");
        char ctx = pgc_val(r, i, CA_CONTEXT)[0];
        pg_buf_add(&b, ctx == 'a' ? " AS ASSIGNMENT;\n" : ctx == 'i' ? " AS IMPLICIT;\n" : ";\n");
        pgc_comment_and_drop(&b, &d, "CAST", sig, pgc_val(r, i, CA_COMMENT));
        rc = pgc_add(c, &(pgc_new){ K_CAST, PG_CAST_OID, pgc_uval(r, i, CA_OID), NULL, sig, "CAST", NULL }, &b, &d,
                     NULL);
    }
    PQclear(r);
    return rc;
}

/* ---- transforms ---- */

enum { TR_OID, TR_TYPE, TR_LANG, TR_FROMSQL, TR_TOSQL, TR_COMMENT };

sk_rc pgc_read_transforms(cat *c)
{
    static const pgc_col cols[] = {
        [TR_OID] = { "t.oid" },
        [TR_TYPE] = { "format_type(t.trftype, NULL)" },
        [TR_LANG] = { "quote_ident(l.lanname)" },
        [TR_FROMSQL] = { "CASE WHEN t.trffromsql <> 0 THEN t.trffromsql::regprocedure::text END" },
        [TR_TOSQL] = { "CASE WHEN t.trftosql <> 0 THEN t.trftosql::regprocedure::text END" },
        [TR_COMMENT] = { COMMENT_SQL("t.oid", "pg_transform") },
    };
    PGresult *r = PGC_RUN(c, "transforms", cols,
                          "FROM pg_transform t JOIN pg_language l ON l.oid = t.trflang WHERE t.oid >= 16384 AND "
                          NOT_EXT("pg_transform", "t.oid") " ORDER BY t.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        char sig[600];
        snprintf(sig, sizeof sig, "FOR %s LANGUAGE %s", pgc_val(r, i, TR_TYPE), pgc_val(r, i, TR_LANG));
        const char *from = pgc_val(r, i, TR_FROMSQL), *to = pgc_val(r, i, TR_TOSQL);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE TRANSFORM %s (", sig);
        if (from)
            pg_buf_addf(&b, "FROM SQL WITH FUNCTION %s", from);
        if (to)
            pg_buf_addf(&b, "%sTO SQL WITH FUNCTION %s", from ? ", " : "", to);
        pg_buf_add(&b, ");\n");
        pgc_comment_and_drop(&b, &d, "TRANSFORM", sig, pgc_val(r, i, TR_COMMENT));
        rc = pgc_add(c, &(pgc_new){ K_CAST, PG_TRANSFORM_OID, pgc_uval(r, i, TR_OID), NULL, sig, "TRANSFORM", NULL }, &b,
                     &d, NULL);
    }
    PQclear(r);
    return rc;
}

/* ---- access methods ---- */

enum { AM_OID, AM_NAME, AM_QNAME, AM_TYPE, AM_HANDLER, AM_COMMENT };

sk_rc pgc_read_access_methods(cat *c)
{
    static const pgc_col cols[] = {
        [AM_OID] = { "a.oid" },
        [AM_NAME] = { "a.amname" },
        [AM_QNAME] = { "quote_ident(a.amname)" },
        [AM_TYPE] = { "a.amtype" },
        [AM_HANDLER] = { "(SELECT " QNAME_SQL("n.nspname", "p.proname") " FROM pg_proc p JOIN pg_namespace n ON n.oid "
                         "= p.pronamespace WHERE p.oid = a.amhandler)" },
        [AM_COMMENT] = { COMMENT_SQL("a.oid", "pg_am") },
    };
    PGresult *r = PGC_RUN(c, "access methods", cols,
                          "FROM pg_am a WHERE a.oid >= 16384 AND " NOT_EXT("pg_am", "a.oid") " ORDER BY a.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *q = pgc_val(r, i, AM_QNAME);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE ACCESS METHOD %s TYPE %s HANDLER %s;\n", q,
                    pgc_val(r, i, AM_TYPE)[0] == 't' ? "TABLE" : "INDEX", pgc_val(r, i, AM_HANDLER));
        pgc_comment_and_drop(&b, &d, "ACCESS METHOD", q, pgc_val(r, i, AM_COMMENT));
        rc = pgc_add(c, &(pgc_new){ K_ACCESS_METHOD, PG_AM_OID, pgc_uval(r, i, AM_OID), NULL, pgc_val(r, i, AM_NAME),
                                    "ACCESS METHOD", NULL }, &b, &d, NULL);
    }
    PQclear(r);
    return rc;
}

/* ---- operator families and classes ---- */

enum { OF_OID, OF_SCHEMA, OF_NAME, OF_QNAME, OF_AM, OF_OWNER, OF_COMMENT };
enum { OC_OID, OC_SCHEMA, OC_NAME, OC_QNAME, OC_AM, OC_OWNER, OC_COMMENT, OC_DEFAULT, OC_TYPE, OC_STORAGE,
       OC_FAMILY };
enum { OM_KIND, OM_OID, OM_FAMILY, OM_CLASS, OM_ITEM, OM_NUM };

/* Operator families and classes. Members bound to a class (pg_depend 'i' on it) are listed in
 * CREATE OPERATOR CLASS; loose members of a family are added with ALTER OPERATOR FAMILY. Families
 * are always created explicitly, classes name theirs. */
sk_rc pgc_read_opclasses(cat *c)
{
    static const pgc_col fcols[] = {
        [OF_OID] = { "f.oid" },
        [OF_SCHEMA] = { "n.nspname" },
        [OF_NAME] = { "f.opfname" },
        [OF_QNAME] = { QNAME_SQL("n.nspname", "f.opfname") },
        [OF_AM] = { "quote_ident(am.amname)" },
        [OF_OWNER] = { OWNER_SQL("f.opfowner") },
        [OF_COMMENT] = { COMMENT_SQL("f.oid", "pg_opfamily") },
    };
    static const pgc_col ccols[] = {
        [OC_OID] = { "o.oid" },
        [OC_SCHEMA] = { "n.nspname" },
        [OC_NAME] = { "o.opcname" },
        [OC_QNAME] = { QNAME_SQL("n.nspname", "o.opcname") },
        [OC_AM] = { "quote_ident(am.amname)" },
        [OC_OWNER] = { OWNER_SQL("o.opcowner") },
        [OC_COMMENT] = { COMMENT_SQL("o.oid", "pg_opclass") },
        [OC_DEFAULT] = { "o.opcdefault" },
        [OC_TYPE] = { "format_type(o.opcintype, NULL)" },
        [OC_STORAGE] = { "CASE WHEN o.opckeytype <> 0 THEN format_type(o.opckeytype, NULL) END" },
        [OC_FAMILY] = { "o.opcfamily" },
    };
    /* members: kind, oid, family, owning class (0 = loose), the item text, its number */
    static const pgc_col mcols[] = {
        [OM_KIND] = { "'o'" },
        [OM_OID] = { "ao.oid" },
        [OM_FAMILY] = { "ao.amopfamily" },
        [OM_CLASS] = { "coalesce((SELECT d.refobjid FROM pg_depend d WHERE d.classid = 'pg_amop'::regclass AND "
                       "d.objid = ao.oid AND d.refclassid = 'pg_opclass'::regclass AND d.deptype = 'i'), 0)" },
        [OM_ITEM] = { "'OPERATOR ' || ao.amopstrategy || ' ' || ao.amopopr::regoperator::text || CASE WHEN "
                      "ao.amoppurpose = 'o' THEN ' FOR ORDER BY ' || (SELECT " QNAME_SQL("sn.nspname", "sf.opfname")
                      " FROM pg_opfamily sf JOIN pg_namespace sn ON sn.oid = sf.opfnamespace WHERE sf.oid = "
                      "ao.amopsortfamily) ELSE '' END" },
        [OM_NUM] = { "ao.amopstrategy" },
    };
    PGresult *fam = PGC_RUN(c, "operator families", fcols,
                            "FROM pg_opfamily f JOIN pg_namespace n ON n.oid = f.opfnamespace JOIN pg_am am ON am.oid = "
                            "f.opfmethod WHERE f.oid >= 16384 AND " NSP_OK("n") " AND " NOT_EXT("pg_opfamily", "f.oid")
                            " ORDER BY f.oid");
    PGresult *cls = fam ? PGC_RUN(c, "operator classes", ccols,
                                  "FROM pg_opclass o JOIN pg_namespace n ON n.oid = o.opcnamespace JOIN pg_am am ON "
                                  "am.oid = o.opcmethod WHERE o.oid >= 16384 AND " NSP_OK("n") " AND "
                                  NOT_EXT("pg_opclass", "o.oid") " ORDER BY o.oid")
                        : NULL;
    PGresult *mem = cls ? PGC_RUN(c, "operator family members", mcols,
                                  "FROM pg_amop ao WHERE ao.amopfamily >= 16384 UNION ALL SELECT 'p', ap.oid, "
                                  "ap.amprocfamily, coalesce((SELECT d.refobjid FROM pg_depend d WHERE d.classid = "
                                  "'pg_amproc'::regclass AND d.objid = ap.oid AND d.refclassid = 'pg_opclass'::regclass "
                                  "AND d.deptype = 'i'), 0), 'FUNCTION ' || ap.amprocnum || ' (' || "
                                  "format_type(ap.amproclefttype, NULL) || ', ' || format_type(ap.amprocrighttype, NULL) "
                                  "|| ') ' || ap.amproc::regprocedure::text, ap.amprocnum FROM pg_amproc ap WHERE "
                                  "ap.amprocfamily >= 16384 ORDER BY 1 DESC, 3, 4, 6, 5")
                        : NULL;
    sk_rc rc = SK_OK;
    if (!fam || !cls || !mem) {
        rc = c->err->rc;
        goto out;
    }
    for (int i = 0; i < PQntuples(fam) && !rc; i++) {
        if (pgc_schema_excluded(c, pgc_val(fam, i, OF_SCHEMA)))
            continue;
        unsigned oid = pgc_uval(fam, i, OF_OID);
        const char *q = pgc_val(fam, i, OF_QNAME), *am = pgc_val(fam, i, OF_AM), *owner = pgc_val(fam, i, OF_OWNER);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE OPERATOR FAMILY %s USING %s;\n", q, am);
        int loose = 0;
        for (int k = 0; k < PQntuples(mem); k++) {
            if (pgc_uval(mem, k, OM_FAMILY) != oid || pgc_uval(mem, k, OM_CLASS) != 0)
                continue;
            if (!loose)
                pg_buf_addf(&b, "ALTER OPERATOR FAMILY %s USING %s ADD", q, am);
            pg_buf_addf(&b, "%s\n    %s", loose ? "," : "", pgc_val(mem, k, OM_ITEM));
            loose++;
        }
        if (loose)
            pg_buf_add(&b, ";\n");
        pg_buf_addf(&b, "ALTER OPERATOR FAMILY %s USING %s OWNER TO %s;\n", q, am, owner);
        char target[700];
        snprintf(target, sizeof target, "%s USING %s", q, am);
        pgc_comment_and_drop(&b, &d, "OPERATOR FAMILY", target, pgc_val(fam, i, OF_COMMENT));
        long idx;
        rc = pgc_add(c, &(pgc_new){ K_OPFAMILY, PG_OPFAMILY_OID, oid, pgc_val(fam, i, OF_SCHEMA),
                                    pgc_val(fam, i, OF_NAME), "OPERATOR FAMILY", owner }, &b, &d, &idx);
        for (int k = 0; k < PQntuples(mem) && !rc; k++)
            if (pgc_uval(mem, k, OM_FAMILY) == oid && pgc_uval(mem, k, OM_CLASS) == 0)
                rc = pgc_alias(c, pgc_val(mem, k, OM_KIND)[0] == 'o' ? PG_AMOP_OID : PG_AMPROC_OID,
                               pgc_uval(mem, k, OM_OID), idx);
    }
    for (int i = 0; i < PQntuples(cls) && !rc; i++) {
        if (pgc_schema_excluded(c, pgc_val(cls, i, OC_SCHEMA)))
            continue;
        unsigned oid = pgc_uval(cls, i, OC_OID);
        const char *q = pgc_val(cls, i, OC_QNAME), *am = pgc_val(cls, i, OC_AM), *owner = pgc_val(cls, i, OC_OWNER);
        long famobj = pg_model_find(c->m, PG_OPFAMILY_OID, pgc_uval(cls, i, OC_FAMILY));
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE OPERATOR CLASS %s\n    %sFOR TYPE %s USING %s", q,
                    pgc_bval(cls, i, OC_DEFAULT) ? "DEFAULT " : "", pgc_val(cls, i, OC_TYPE), am);
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
            if (pgc_uval(mem, k, OM_CLASS) != oid)
                continue;
            pg_buf_addf(&b, "%s\n    %s", items ? "," : "", pgc_val(mem, k, OM_ITEM));
            items++;
        }
        const char *storage = pgc_val(cls, i, OC_STORAGE);
        if (storage || !items)
            pg_buf_addf(&b, "%s\n    STORAGE %s", items ? "," : "", storage ? storage : pgc_val(cls, i, OC_TYPE));
        pg_buf_addf(&b, ";\nALTER OPERATOR CLASS %s USING %s OWNER TO %s;\n", q, am, owner);
        char target[700];
        snprintf(target, sizeof target, "%s USING %s", q, am);
        pgc_comment_and_drop(&b, &d, "OPERATOR CLASS", target, pgc_val(cls, i, OC_COMMENT));
        long idx;
        rc = pgc_add(c, &(pgc_new){ K_OPCLASS, PG_OPCLASS_OID, oid, pgc_val(cls, i, OC_SCHEMA), pgc_val(cls, i, OC_NAME),
                                    "OPERATOR CLASS", owner }, &b, &d, &idx);
        if (!rc && famobj >= 0)
            rc = pgc_dep(c, idx, famobj);
        for (int k = 0; k < PQntuples(mem) && !rc; k++)
            if (pgc_uval(mem, k, OM_CLASS) == oid)
                rc = pgc_alias(c, pgc_val(mem, k, OM_KIND)[0] == 'o' ? PG_AMOP_OID : PG_AMPROC_OID,
                               pgc_uval(mem, k, OM_OID), idx);
    }
out:
    PQclear(fam);
    PQclear(cls);
    PQclear(mem);
    return rc;
}
