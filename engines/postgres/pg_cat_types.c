/*
 * pg_cat_types.c: types (enum, composite, domain, range, base and shell types), domain
 * constraints and collations.
 */
#include "pg_cat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLLATION_NAME(oid) \
    "(SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname) FROM pg_collation co JOIN pg_namespace cn " \
    "ON cn.oid = co.collnamespace WHERE co.oid = " oid ")"

/* ---- enum, composite, domain, range ---- */

enum { TY_OID, TY_SCHEMA, TY_NAME, TY_QNAME, TY_TYPE, TY_OWNER, TY_COMMENT, TY_ACLNULL, TY_GRANTS, TY_RELID,
       TY_ARRAY, TY_ENUM_LABELS, TY_COMPOSITE_ATTRS, TY_DOM_BASE, TY_DOM_NOTNULL, TY_DOM_DEFAULT, TY_DOM_COLL,
       TY_DOM_CHECKS, TY_RNG_SUBTYPE, TY_RNG_MULTINAME, TY_RNG_OPCLASS, TY_RNG_COLL, TY_RNG_SUBDIFF, TY_RNG_MULTI,
       TY_RNG_MULTIARRAY, TY_RNG_CANONICAL };

sk_rc pgc_read_types(cat *c)
{
    static const pgc_col cols[] = {
        [TY_OID] = { "t.oid" },
        [TY_SCHEMA] = { "n.nspname" },
        [TY_NAME] = { "t.typname" },
        [TY_QNAME] = { QNAME_SQL("n.nspname", "t.typname") },
        [TY_TYPE] = { "t.typtype" },
        [TY_OWNER] = { OWNER_SQL("t.typowner") },
        [TY_COMMENT] = { COMMENT_SQL("t.oid", "pg_type") },
        [TY_ACLNULL] = { "t.typacl IS NULL" },
        [TY_GRANTS] = { ACL_SQL("t.typacl", "") },
        [TY_RELID] = { "t.typrelid" },
        [TY_ARRAY] = { "t.typarray" },
        [TY_ENUM_LABELS] = { "(SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM "
                             "pg_enum e WHERE e.enumtypid = t.oid)" },
        [TY_COMPOSITE_ATTRS] = { "(SELECT string_agg(E'\\n    ' || quote_ident(a.attname) || ' ' || "
                                 "format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attcollation <> at.typcollation "
                                 "AND a.attcollation <> 0 THEN ' COLLATE ' || " COLLATION_NAME("a.attcollation")
                                 " ELSE '' END, ',' ORDER BY a.attnum) FROM pg_attribute a JOIN pg_type at ON at.oid = "
                                 "a.atttypid WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)" },
        [TY_DOM_BASE] = { "format_type(t.typbasetype, t.typtypmod)" },
        /* from 17 on a domain's NOT NULL is a constraint of its own (contype 'n', with a name):
         * it is said once, by name, among TY_DOM_CHECKS */
        [TY_DOM_NOTNULL] = { "false", PG17, "t.typnotnull" },
        [TY_DOM_DEFAULT] = { "t.typdefault" },
        [TY_DOM_COLL] = { "CASE WHEN t.typtype = 'd' AND t.typcollation <> bt.typcollation THEN "
                          COLLATION_NAME("t.typcollation") " END" },
        /* validated constraints; NOT VALID ones are added after the data (pgc_read_domain_constraints) */
        [TY_DOM_CHECKS] = { "(SELECT string_agg(E'\\n    CONSTRAINT ' || quote_ident(dc.conname) || ' ' || "
                            "pg_get_constraintdef(dc.oid), '' ORDER BY dc.conname) FROM pg_constraint dc WHERE "
                            "dc.contypid = t.oid AND dc.convalidated)" },
        [TY_RNG_SUBTYPE] = { "format_type(rg.rngsubtype, NULL)" },
        /* multiranges came with 14 */
        [TY_RNG_MULTINAME] = { "(SELECT quote_ident(mn.nspname) || '.' || quote_ident(mt.typname) FROM pg_type mt JOIN "
                               "pg_namespace mn ON mn.oid = mt.typnamespace WHERE mt.oid = rg.rngmultitypid)", PG14,
                               "NULL::text" },
        [TY_RNG_OPCLASS] = { "(SELECT quote_ident(on_.nspname) || '.' || quote_ident(opc.opcname) FROM pg_opclass opc "
                             "JOIN pg_namespace on_ ON on_.oid = opc.opcnamespace WHERE opc.oid = rg.rngsubopc AND NOT "
                             "opc.opcdefault)" },
        [TY_RNG_COLL] = { "CASE WHEN rg.rngcollation <> 0 AND rg.rngcollation <> (SELECT st.typcollation FROM pg_type "
                          "st WHERE st.oid = rg.rngsubtype) THEN " COLLATION_NAME("rg.rngcollation") " END" },
        [TY_RNG_SUBDIFF] = { "CASE WHEN rg.rngsubdiff <> 0 THEN rg.rngsubdiff::regproc::text END" },
        [TY_RNG_MULTI] = { "rg.rngmultitypid", PG14, "NULL::oid" },
        [TY_RNG_MULTIARRAY] = { "(SELECT mt.typarray FROM pg_type mt WHERE mt.oid = rg.rngmultitypid)", PG14,
                                "NULL::oid" },
        [TY_RNG_CANONICAL] = { "CASE WHEN rg.rngcanonical <> 0 THEN rg.rngcanonical::regproc::text END" },
    };
    PGresult *r = PGC_RUN(c, "types", cols,
                          "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace LEFT JOIN pg_type bt ON bt.oid "
                          "= t.typbasetype LEFT JOIN pg_range rg ON rg.rngtypid = t.oid WHERE t.oid >= 16384 AND "
                          "t.typtype IN ('e', 'd', 'r', 'c') AND (t.typtype <> 'c' OR (SELECT cl.relkind FROM pg_class "
                          "cl WHERE cl.oid = t.typrelid) = 'c') AND " NSP_OK("n") " AND " NOT_EXT("pg_type", "t.oid")
                          " ORDER BY t.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *schema = pgc_val(r, i, TY_SCHEMA), *q = pgc_val(r, i, TY_QNAME), *owner = pgc_val(r, i, TY_OWNER);
        char tt = pgc_val(r, i, TY_TYPE)[0];
        if (pgc_schema_excluded(c, schema))
            continue;
        const char *kw = tt == 'd' ? "DOMAIN" : "TYPE";
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        if (tt == 'e') {
            pg_buf_addf(&b, "CREATE TYPE %s AS ENUM (%s);\n", q, pgc_sval(r, i, TY_ENUM_LABELS));
        } else if (tt == 'c') {
            pg_buf_addf(&b, "CREATE TYPE %s AS (%s\n);\n", q, pgc_sval(r, i, TY_COMPOSITE_ATTRS));
        } else if (tt == 'd') {
            pg_buf_addf(&b, "CREATE DOMAIN %s AS %s", q, pgc_val(r, i, TY_DOM_BASE));
            if (pgc_val(r, i, TY_DOM_COLL))
                pg_buf_addf(&b, " COLLATE %s", pgc_val(r, i, TY_DOM_COLL));
            if (pgc_val(r, i, TY_DOM_DEFAULT))
                pg_buf_addf(&b, " DEFAULT %s", pgc_val(r, i, TY_DOM_DEFAULT));
            if (pgc_bval(r, i, TY_DOM_NOTNULL))
                pg_buf_add(&b, " NOT NULL");
            if (pgc_val(r, i, TY_DOM_CHECKS))
                pg_buf_add(&b, pgc_val(r, i, TY_DOM_CHECKS));
            pg_buf_add(&b, ";\n");
        } else { /* range */
            pg_buf_addf(&b, "CREATE TYPE %s AS RANGE (\n    subtype = %s", q, pgc_val(r, i, TY_RNG_SUBTYPE));
            if (pgc_val(r, i, TY_RNG_MULTINAME))
                pg_buf_addf(&b, ",\n    multirange_type_name = %s", pgc_val(r, i, TY_RNG_MULTINAME));
            if (pgc_val(r, i, TY_RNG_OPCLASS))
                pg_buf_addf(&b, ",\n    subtype_opclass = %s", pgc_val(r, i, TY_RNG_OPCLASS));
            if (pgc_val(r, i, TY_RNG_COLL))
                pg_buf_addf(&b, ",\n    collation = %s", pgc_val(r, i, TY_RNG_COLL));
            if (pgc_val(r, i, TY_RNG_CANONICAL))
                pg_buf_addf(&b, ",\n    canonical = %s", pgc_val(r, i, TY_RNG_CANONICAL));
            if (pgc_val(r, i, TY_RNG_SUBDIFF))
                pg_buf_addf(&b, ",\n    subtype_diff = %s", pgc_val(r, i, TY_RNG_SUBDIFF));
            pg_buf_add(&b, "\n);\n");
        }
        char target[600];
        snprintf(target, sizeof target, "%s %s", kw, q);
        pg_buf_addf(&b, "ALTER %s OWNER TO %s;\n", target, owner);
        pgc_emit_comment(&b, target, pgc_val(r, i, TY_COMMENT));
        pgc_emit_acl(&b, target, owner, pgc_bval(r, i, TY_ACLNULL), pgc_val(r, i, TY_GRANTS), 1);
        pg_buf_addf(&d, "DROP %s IF EXISTS %s;\n", kw, q);
        long idx;
        rc = pgc_add(c, &(pgc_new){ K_TYPE, PG_TYPE_OID, pgc_uval(r, i, TY_OID), schema, pgc_val(r, i, TY_NAME), kw,
                                    owner }, &b, &d, &idx);
        if (!rc && !(c->m->objs[idx].qname = strdup(q)))
            rc = pgc_oom(c->err);
        /* the array type, a composite's relation, a range's multirange and its array are part of the type */
        if (!rc)
            rc = pgc_alias(c, PG_TYPE_OID, pgc_uval(r, i, TY_ARRAY), idx);
        if (!rc && pgc_uval(r, i, TY_RELID))
            rc = pgc_alias(c, PG_CLASS_OID, pgc_uval(r, i, TY_RELID), idx);
        if (!rc && pgc_uval(r, i, TY_RNG_MULTI))
            rc = pgc_alias(c, PG_TYPE_OID, pgc_uval(r, i, TY_RNG_MULTI), idx);
        if (!rc && pgc_uval(r, i, TY_RNG_MULTIARRAY))
            rc = pgc_alias(c, PG_TYPE_OID, pgc_uval(r, i, TY_RNG_MULTIARRAY), idx);
    }
    PQclear(r);
    return rc;
}

/* ---- base types and shell types ---- */

enum { BT_OID, BT_SCHEMA, BT_NAME, BT_QNAME, BT_OWNER, BT_DEFINED, BT_LEN, BT_INPUT, BT_OUTPUT, BT_RECEIVE, BT_SEND,
       BT_MODIN, BT_MODOUT, BT_ANALYZE, BT_SUBSCRIPT, BT_DEFAULT, BT_ELEMENT, BT_DELIM, BT_CATEGORY, BT_PREFERRED,
       BT_ALIGN, BT_STORAGE, BT_BYVAL, BT_COLLATABLE, BT_COMMENT, BT_ACLNULL, BT_GRANTS, BT_ARRAY };

#define REGPROC_OR_NULL(col) "CASE WHEN " col " <> 0 THEN " col "::regproc::text END"

sk_rc pgc_read_base_types(cat *c)
{
    static const pgc_col cols[] = {
        [BT_OID] = { "t.oid" },
        [BT_SCHEMA] = { "n.nspname" },
        [BT_NAME] = { "t.typname" },
        [BT_QNAME] = { QNAME_SQL("n.nspname", "t.typname") },
        [BT_OWNER] = { OWNER_SQL("t.typowner") },
        [BT_DEFINED] = { "t.typisdefined" },
        [BT_LEN] = { "t.typlen" },
        [BT_INPUT] = { "t.typinput::regproc::text" },
        [BT_OUTPUT] = { "t.typoutput::regproc::text" },
        /* BT_RECEIVE .. BT_SUBSCRIPT: the optional functions, in the order of their keywords */
        [BT_RECEIVE] = { REGPROC_OR_NULL("t.typreceive") },
        [BT_SEND] = { REGPROC_OR_NULL("t.typsend") },
        [BT_MODIN] = { REGPROC_OR_NULL("t.typmodin") },
        [BT_MODOUT] = { REGPROC_OR_NULL("t.typmodout") },
        [BT_ANALYZE] = { REGPROC_OR_NULL("t.typanalyze") },
        [BT_SUBSCRIPT] = { REGPROC_OR_NULL("t.typsubscript"), PG14, "NULL::text" }, /* 14 */
        [BT_DEFAULT] = { "quote_literal(t.typdefault)" },
        [BT_ELEMENT] = { "CASE WHEN t.typelem <> 0 THEN format_type(t.typelem, NULL) END" },
        [BT_DELIM] = { "quote_literal(t.typdelim::text)" },
        [BT_CATEGORY] = { "quote_literal(t.typcategory::text)" },
        [BT_PREFERRED] = { "t.typispreferred" },
        [BT_ALIGN] = { "t.typalign" },
        [BT_STORAGE] = { "t.typstorage" },
        [BT_BYVAL] = { "t.typbyval" },
        [BT_COLLATABLE] = { "t.typcollation <> 0" },
        [BT_COMMENT] = { COMMENT_SQL("t.oid", "pg_type") },
        [BT_ACLNULL] = { "t.typacl IS NULL" },
        [BT_GRANTS] = { ACL_SQL("t.typacl", "") },
        [BT_ARRAY] = { "t.typarray" },
    };
    PGresult *r = PGC_RUN(c, "base types", cols,
                          "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid >= 16384 AND "
                          "(t.typtype = 'b' OR (t.typtype = 'p' AND NOT t.typisdefined)) AND NOT EXISTS (SELECT 1 FROM "
                          "pg_type e WHERE e.typarray = t.oid) AND " NSP_OK("n") " AND " NOT_EXT("pg_type", "t.oid")
                          " ORDER BY t.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *schema = pgc_val(r, i, BT_SCHEMA), *name = pgc_val(r, i, BT_NAME), *q = pgc_val(r, i, BT_QNAME),
                   *owner = pgc_val(r, i, BT_OWNER);
        unsigned oid = pgc_uval(r, i, BT_OID);
        if (pgc_schema_excluded(c, schema))
            continue;
        pg_buf sb;
        pg_buf_init(&sb);
        pg_buf_addf(&sb, "CREATE TYPE %s;\n", q);
        long shell = -1;
        if (!pgc_bval(r, i, BT_DEFINED)) { /* a shell that stayed a shell */
            pg_buf_addf(&sb, "ALTER TYPE %s OWNER TO %s;\n", q, owner);
            pg_buf d;
            pg_buf_init(&d);
            pg_buf_addf(&d, "DROP TYPE IF EXISTS %s;\n", q);
            rc = pgc_add(c, &(pgc_new){ K_TYPE, PG_TYPE_OID, oid, schema, name, "SHELL TYPE", owner }, &sb, &d, NULL);
            continue;
        }
        if ((rc = pgc_add(c, &(pgc_new){ K_TYPE, PG_PSEUDO_NONE, 0, schema, name, "SHELL TYPE", owner }, &sb, NULL,
                          &shell)))
            break;
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        long len = pgc_ival(r, i, BT_LEN, -1);
        pg_buf_addf(&b, "CREATE TYPE %s (\n    INTERNALLENGTH = ", q);
        if (len < 0)
            pg_buf_add(&b, "variable");
        else
            pg_buf_addf(&b, "%ld", len);
        pg_buf_addf(&b, ",\n    INPUT = %s,\n    OUTPUT = %s", pgc_val(r, i, BT_INPUT), pgc_val(r, i, BT_OUTPUT));
        static const char *const fnames[] = { "RECEIVE", "SEND", "TYPMOD_IN", "TYPMOD_OUT", "ANALYZE", "SUBSCRIPT" };
        for (int k = 0; k <= BT_SUBSCRIPT - BT_RECEIVE; k++)
            if (pgc_val(r, i, BT_RECEIVE + k))
                pg_buf_addf(&b, ",\n    %s = %s", fnames[k], pgc_val(r, i, BT_RECEIVE + k));
        if (pgc_val(r, i, BT_DEFAULT))
            pg_buf_addf(&b, ",\n    DEFAULT = %s", pgc_val(r, i, BT_DEFAULT));
        if (pgc_val(r, i, BT_ELEMENT))
            pg_buf_addf(&b, ",\n    ELEMENT = %s", pgc_val(r, i, BT_ELEMENT));
        if (strcmp(pgc_val(r, i, BT_DELIM), "','") != 0)
            pg_buf_addf(&b, ",\n    DELIMITER = %s", pgc_val(r, i, BT_DELIM));
        if (strcmp(pgc_val(r, i, BT_CATEGORY), "'U'") != 0)
            pg_buf_addf(&b, ",\n    CATEGORY = %s", pgc_val(r, i, BT_CATEGORY));
        if (pgc_bval(r, i, BT_PREFERRED))
            pg_buf_add(&b, ",\n    PREFERRED = true");
        char al = pgc_val(r, i, BT_ALIGN)[0], st = pgc_val(r, i, BT_STORAGE)[0];
        pg_buf_addf(&b, ",\n    ALIGNMENT = %s,\n    STORAGE = %s",
                    al == 'c' ? "char" : al == 's' ? "int2" : al == 'd' ? "double" : "int4",
                    st == 'p' ? "plain" : st == 'e' ? "external" : st == 'm' ? "main" : "extended");
        if (pgc_bval(r, i, BT_BYVAL))
            pg_buf_add(&b, ",\n    PASSEDBYVALUE");
        if (pgc_bval(r, i, BT_COLLATABLE))
            pg_buf_add(&b, ",\n    COLLATABLE = true");
        pg_buf_addf(&b, "\n);\nALTER TYPE %s OWNER TO %s;\n", q, owner);
        char target[600];
        snprintf(target, sizeof target, "TYPE %s", q);
        pgc_emit_comment(&b, target, pgc_val(r, i, BT_COMMENT));
        pgc_emit_acl(&b, target, owner, pgc_bval(r, i, BT_ACLNULL), pgc_val(r, i, BT_GRANTS), 1);
        /* the I/O functions depend on the type: only CASCADE removes the pair */
        pg_buf_addf(&d, "DROP TYPE IF EXISTS %s CASCADE;\n", q);
        long idx;
        rc = pgc_add(c, &(pgc_new){ K_TYPE, PG_TYPE_OID, oid, schema, name, "TYPE", owner }, &b, &d, &idx);
        if (rc)
            break;
        c->m->objs[idx].shell = shell;
        if (!(c->m->objs[idx].qname = strdup(q)))
            rc = pgc_oom(c->err);
        if (!rc)
            rc = pgc_dep(c, idx, shell);
        if (!rc)
            rc = pgc_alias(c, PG_TYPE_OID, pgc_uval(r, i, BT_ARRAY), idx);
    }
    PQclear(r);
    return rc;
}

/* ---- domain constraints ---- */

enum { DC_OID, DC_NAME, DC_QNAME, DC_DOMAIN, DC_VALID, DC_DEF, DC_COMMENT };

/* Validated constraints are created with their domain (pgc_read_types); here they get their
 * comments. NOT VALID ones are added after the data. */
sk_rc pgc_read_domain_constraints(cat *c)
{
    static const pgc_col cols[] = {
        [DC_OID] = { "co.oid" },
        [DC_NAME] = { "co.conname" },
        [DC_QNAME] = { "quote_ident(co.conname)" },
        [DC_DOMAIN] = { "co.contypid" },
        [DC_VALID] = { "co.convalidated" },
        [DC_DEF] = { "pg_get_constraintdef(co.oid)" },
        [DC_COMMENT] = { COMMENT_SQL("co.oid", "pg_constraint") },
    };
    PGresult *r = PGC_RUN(c, "domain constraints", cols, "FROM pg_constraint co WHERE co.contypid <> 0 ORDER BY co.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        unsigned domoid = pgc_uval(r, i, DC_DOMAIN);
        long dom = pg_model_find(c->m, PG_TYPE_OID, domoid);
        if (dom < 0 || c->m->objs[dom].kind != K_TYPE || c->m->objs[dom].objid != domoid || !c->m->objs[dom].qname)
            continue;
        const pg_obj *o = &c->m->objs[dom];
        const char *cn = pgc_val(r, i, DC_QNAME);
        pg_buf b;
        pg_buf_init(&b);
        char target[1300];
        snprintf(target, sizeof target, "CONSTRAINT %s ON DOMAIN %s", cn, o->qname);
        if (pgc_bval(r, i, DC_VALID)) { /* created with the domain; only its comment is missing */
            pgc_emit_comment(&b, target, pgc_val(r, i, DC_COMMENT));
            if (b.len)
                rc = pgc_add_text(c, dom, &b);
            pg_buf_free(&b);
            if (!rc)
                rc = pgc_alias(c, PG_CONSTRAINT_OID, pgc_uval(r, i, DC_OID), dom);
            continue;
        }
        /* NOT VALID: never dropped on its own (ALTER DOMAIN has no DROP CONSTRAINT IF EXISTS; the
         * domain's drop removes it) */
        pg_buf_addf(&b, "ALTER DOMAIN %s ADD CONSTRAINT %s %s;\n", o->qname, cn, pgc_val(r, i, DC_DEF));
        pgc_emit_comment(&b, target, pgc_val(r, i, DC_COMMENT));
        char nm[700];
        snprintf(nm, sizeof nm, "%s %s", o->name, pgc_val(r, i, DC_NAME));
        long idx;
        rc = pgc_add(c, &(pgc_new){ K_DOMAIN_CONSTRAINT, PG_CONSTRAINT_OID, pgc_uval(r, i, DC_OID), o->schema, nm,
                                    "CONSTRAINT", NULL }, &b, NULL, &idx);
        if (!rc)
            rc = pgc_dep(c, idx, dom);
    }
    PQclear(r);
    return rc;
}

/* ---- collations ---- */

enum { CO_OID, CO_SCHEMA, CO_NAME, CO_QNAME, CO_OWNER, CO_PROVIDER, CO_DETERMINISTIC, CO_COLLATE, CO_CTYPE,
       CO_LOCALE, CO_COMMENT, CO_RULES };

sk_rc pgc_read_collations(cat *c)
{
    static const pgc_col cols[] = {
        [CO_OID] = { "co.oid" },
        [CO_SCHEMA] = { "n.nspname" },
        [CO_NAME] = { "co.collname" },
        [CO_QNAME] = { QNAME_SQL("n.nspname", "co.collname") },
        [CO_OWNER] = { OWNER_SQL("co.collowner") },
        [CO_PROVIDER] = { "co.collprovider" },
        [CO_DETERMINISTIC] = { "co.collisdeterministic" },
        [CO_COLLATE] = { "quote_literal(co.collcollate)" },
        [CO_CTYPE] = { "quote_literal(co.collctype)" },
        /* the ICU (and from 17 builtin) locale: colliculocale in 15 and 16, colllocale from 17 */
        [CO_LOCALE] = { "quote_literal(co.colllocale)", PG17, NULL },
        [CO_COMMENT] = { COMMENT_SQL("co.oid", "pg_collation") },
        [CO_RULES] = { "quote_literal(co.collicurules)", PG16, "NULL::text" }, /* 16 */
    };
    pgc_col vcols[sizeof cols / sizeof cols[0]];
    memcpy(vcols, cols, sizeof cols);
    if (c->m->server_version < PG17)
        vcols[CO_LOCALE] = (pgc_col){ "quote_literal(co.colliculocale)", PG15, "NULL::text" };
    PGresult *r = PGC_RUN(c, "collations", vcols,
                          "FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace WHERE co.oid >= 16384 "
                          "AND " NSP_OK("n") " AND " NOT_EXT("pg_collation", "co.oid") " ORDER BY co.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        if (pgc_schema_excluded(c, pgc_val(r, i, CO_SCHEMA)))
            continue;
        const char *q = pgc_val(r, i, CO_QNAME), *owner = pgc_val(r, i, CO_OWNER);
        const char *coll = pgc_val(r, i, CO_COLLATE), *ctype = pgc_val(r, i, CO_CTYPE), *loc = pgc_val(r, i, CO_LOCALE);
        char prov = pgc_val(r, i, CO_PROVIDER)[0];
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        if (prov == 'i')
            pg_buf_addf(&b, "CREATE COLLATION %s (provider = icu, locale = %s", q, loc ? loc : coll);
        else if (prov == 'b') /* 17 */
            pg_buf_addf(&b, "CREATE COLLATION %s (provider = builtin, locale = %s", q, loc ? loc : "'C'");
        else
            pg_buf_addf(&b, "CREATE COLLATION %s (provider = libc, lc_collate = %s, lc_ctype = %s", q,
                        coll ? coll : "''", ctype ? ctype : "''");
        if (!pgc_bval(r, i, CO_DETERMINISTIC))
            pg_buf_add(&b, ", deterministic = false");
        if (pgc_val(r, i, CO_RULES))
            pg_buf_addf(&b, ", rules = %s", pgc_val(r, i, CO_RULES));
        pg_buf_addf(&b, ");\nALTER COLLATION %s OWNER TO %s;\n", q, owner);
        pgc_comment_and_drop(&b, &d, "COLLATION", q, pgc_val(r, i, CO_COMMENT));
        rc = pgc_add(c, &(pgc_new){ K_COLLATION, PG_COLLATION_OID, pgc_uval(r, i, CO_OID), pgc_val(r, i, CO_SCHEMA),
                                    pgc_val(r, i, CO_NAME), "COLLATION", owner }, &b, &d, NULL);
    }
    PQclear(r);
    return rc;
}
