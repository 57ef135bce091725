/*
 * pg_catalog.c: read the catalogs of one database into the dump's object list.
 *
 * All SQL text is produced by the server: identifiers through quote_ident() (so every name is
 * quoted exactly as the server's own rules require), literals through quote_literal(), and
 * definitions through its deparsers (pg_get_viewdef, pg_get_indexdef, pg_get_constraintdef,
 * pg_get_triggerdef, pg_get_functiondef, pg_get_ruledef, pg_get_expr, format_type,
 * pg_get_partkeydef, pg_get_statisticsobjdef). The session runs with an empty search_path, so
 * everything those return is schema-qualified.
 */
#include "pg_model.h"

#include <stdlib.h>
#include <string.h>

#include "pg_buf.h"
#include "pg_cat.h"

/* pseudo class ids for private row indexes in the model's map */
#define IDX_COLS 0xFFFF0001u
#define IDX_CONS 0xFFFF0002u
#define IDX_INDEX 0xFFFF0003u

/* ---- schemas and extensions ---- */

static sk_rc read_schemas(cat *c)
{
    pg_buf_reset(&c->sql);
    pg_buf_add(&c->sql, "SELECT n.oid, n.nspname, quote_ident(n.nspname), quote_ident(pg_get_userbyid(n.nspowner)), "
                        "quote_literal(obj_description(n.oid, 'pg_namespace')), n.nspacl IS NULL, ");
    pgc_acl_sql(&c->sql, "n.nspacl", "");
    /* 7..9: for the public schema (created by initdb, never created or dropped by the dump):
     * whether its owner, comment and privileges differ from a fresh database's. Only read from
     * 15 on: before, pg_database_owner did not own it (13 has no such role). */
    if (c->m->server_version >= 150000)
        pg_buf_add(&c->sql, ", n.nspowner <> 'pg_database_owner'::regrole, obj_description(n.oid, 'pg_namespace') IS "
                            "DISTINCT FROM 'standard public schema', n.nspacl IS DISTINCT FROM "
                            "'{pg_database_owner=UC/pg_database_owner,=U/pg_database_owner}'::aclitem[] ");
    else /* 13, 14: owned by the bootstrap superuser, CREATE and USAGE for PUBLIC */
        pg_buf_add(&c->sql, ", n.nspowner <> 10, obj_description(n.oid, 'pg_namespace') IS DISTINCT FROM 'standard "
                            "public schema', n.nspacl IS DISTINCT FROM (SELECT format('{%1$s=UC/%1$s,=UC/%1$s}', "
                            "quote_ident(b.rolname)) FROM pg_roles b WHERE b.oid = 10)::aclitem[] ");
    pg_buf_add(&c->sql, "FROM pg_namespace n WHERE (n.oid >= 16384 AND " NSP_OK("n") " AND "
                        NOT_EXT("pg_namespace", "n.oid") ") OR n.nspname = 'public'");
    pg_buf_add(&c->sql, " ORDER BY n.oid");
    if (!pg_buf_ok(&c->sql))
        return pgc_oom(c->err);
    PGresult *r = pgc_query(c, "schemas", c->sql.s);
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *name = pgc_val(r, i, 1), *q = pgc_val(r, i, 2), *owner = pgc_val(r, i, 3);
        if (pgc_schema_excluded(c, name))
            continue;
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        char target[600];
        snprintf(target, sizeof target, "SCHEMA %s", q);
        if (pgc_uval(r, i, 0) < 16384) { /* public */
            if (pgc_bval(r, i, 7))
                pg_buf_addf(&b, "ALTER SCHEMA %s OWNER TO %s;\n", q, owner);
            if (pgc_bval(r, i, 8))
                pg_buf_addf(&b, "COMMENT ON SCHEMA %s IS %s;\n", q, pgc_val(r, i, 4) ? pgc_val(r, i, 4) : "NULL");
            if (pgc_bval(r, i, 9))
                pgc_emit_acl(&b, target, c->m->server_version >= 150000 ? "pg_database_owner" : owner,
                             pgc_bval(r, i, 5), pgc_val(r, i, 6), 1);
            if (b.len == 0) {
                pg_buf_free(&b);
                continue;
            }
        } else {
            pg_buf_addf(&b, "CREATE SCHEMA %s;\nALTER SCHEMA %s OWNER TO %s;\n", q, q, owner);
            pgc_emit_comment(&b, target, pgc_val(r, i, 4));
            pgc_emit_acl(&b, target, owner, pgc_bval(r, i, 5), pgc_val(r, i, 6), 1);
            pg_buf_addf(&d, "DROP SCHEMA IF EXISTS %s;\n", q);
        }
        long idx = pg_model_add(c->m, K_SCHEMA, PG_NAMESPACE_OID, pgc_uval(r, i, 0), NULL, name, "SCHEMA",
                                owner);
        rc = pgc_finish_obj(c, idx, &b, d.len ? d.s : NULL);
        pg_buf_free(&b);
        pg_buf_free(&d);
    }
    PQclear(r);
    return rc;
}

static sk_rc read_extensions(cat *c)
{
    PGresult *r = pgc_query(c, "extensions",
                        "SELECT x.oid, x.extname, quote_ident(x.extname), n.nspname, quote_ident(n.nspname), "
                        "quote_literal(obj_description(x.oid, 'pg_extension')) FROM pg_extension x "
                        "JOIN pg_namespace n ON n.oid = x.extnamespace WHERE x.oid >= 16384 ORDER BY x.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *q = pgc_val(r, i, 2);
        if (pgc_schema_excluded(c, pgc_val(r, i, 3)))
            continue;
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        char target[600];
        snprintf(target, sizeof target, "EXTENSION %s", q);
        pg_buf_addf(&b, "CREATE EXTENSION IF NOT EXISTS %s WITH SCHEMA %s;\n", q, pgc_val(r, i, 4));
        pgc_emit_comment(&b, target, pgc_val(r, i, 5));
        pg_buf_addf(&d, "DROP EXTENSION IF EXISTS %s;\n", q);
        long idx = pg_model_add(c->m, K_EXTENSION, PG_EXTENSION_OID, pgc_uval(r, i, 0), NULL, pgc_val(r, i, 1),
                                "EXTENSION", NULL);
        rc = pgc_finish_obj(c, idx, &b, d.s);
        pg_buf_free(&b);
        pg_buf_free(&d);
    }
    PQclear(r);
    if (rc)
        return rc;
    /* Members of an extension are created by it: they are not dumped, and whatever depends on
     * them depends on the extension. Array types of member types count as members. */
    r = pgc_query(c, "extension members",
              "SELECT d.classid, d.objid, d.refobjid FROM pg_depend d WHERE d.deptype = 'e' AND "
              "d.refclassid = 'pg_extension'::regclass UNION ALL SELECT 'pg_type'::regclass, t.typarray, "
              "d.refobjid FROM pg_depend d JOIN pg_type t ON t.oid = d.objid WHERE d.deptype = 'e' AND "
              "d.classid = 'pg_type'::regclass AND d.refclassid = 'pg_extension'::regclass AND t.typarray <> 0");
    if (!r)
        return c->err->rc;
    for (int i = 0; i < PQntuples(r); i++) {
        long x = pg_model_find(c->m, PG_EXTENSION_OID, pgc_uval(r, i, 2));
        if (x >= 0 && pg_model_alias(c->m, pgc_uval(r, i, 0), pgc_uval(r, i, 1), x) < 0) {
            PQclear(r);
            return pgc_oom(c->err);
        }
    }
    PQclear(r);
    return SK_OK;
}

/* ---- types: enum, composite, domain, range ---- */

static sk_rc read_types(cat *c)
{
    pg_buf_reset(&c->sql);
    pg_buf_add(&c->sql,
               "SELECT t.oid, n.nspname, t.typname, quote_ident(n.nspname) || '.' || quote_ident(t.typname), "
               "t.typtype, quote_ident(pg_get_userbyid(t.typowner)), "
               "quote_literal(obj_description(t.oid, 'pg_type')), t.typacl IS NULL, ");
    pgc_acl_sql(&c->sql, "t.typacl", "");
    pg_buf_add(&c->sql,
               ", t.typrelid, t.typarray, "
               /* 11 enum labels */
               "(SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_enum e "
               "WHERE e.enumtypid = t.oid), "
               /* 12 composite attributes */
               "(SELECT string_agg(E'\\n    ' || quote_ident(a.attname) || ' ' || format_type(a.atttypid, "
               "a.atttypmod) || CASE WHEN a.attcollation <> at.typcollation AND a.attcollation <> 0 THEN "
               "' COLLATE ' || (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname) FROM "
               "pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) "
               "ELSE '' END, ',' ORDER BY a.attnum) FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid "
               "WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), "
               /* 13 domain base type, 14 not null, 15 default */
               "format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault, "
               /* 16 domain collation */
               "CASE WHEN t.typtype = 'd' AND t.typcollation <> bt.typcollation THEN (SELECT "
               "quote_ident(cn.nspname) || '.' || quote_ident(co.collname) FROM pg_collation co JOIN "
               "pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = t.typcollation) END, "
               /* 17 domain constraints (validated; from 17 on, NOT NULL is one of them, contype 'n':
                * said once, by name, instead of the bare NOT NULL of column 14) */
               "(SELECT string_agg(E'\\n    CONSTRAINT ' || quote_ident(dc.conname) || ' ' || "
               "pg_get_constraintdef(dc.oid), '' ORDER BY dc.conname) FROM pg_constraint dc WHERE dc.contypid = "
               "t.oid AND dc.convalidated), "
               /* 18 range subtype, 19 multirange name, 20 opclass (non-default), 21 collation, 22 subdiff */
               "format_type(rg.rngsubtype, NULL), (SELECT quote_ident(mn.nspname) || '.' || quote_ident(mt.typname) "
               "FROM pg_type mt JOIN pg_namespace mn ON mn.oid = mt.typnamespace WHERE mt.oid = mr.id), "
               "(SELECT quote_ident(on_.nspname) || '.' || quote_ident(opc.opcname) FROM pg_opclass opc JOIN "
               "pg_namespace on_ ON on_.oid = opc.opcnamespace WHERE opc.oid = rg.rngsubopc AND NOT opc.opcdefault), "
               "CASE WHEN rg.rngcollation <> 0 AND rg.rngcollation <> (SELECT st.typcollation FROM pg_type st "
               "WHERE st.oid = rg.rngsubtype) THEN (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname) "
               "FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = "
               "rg.rngcollation) END, CASE WHEN rg.rngsubdiff <> 0 THEN rg.rngsubdiff::regproc::text END, "
               /* 23 multirange type oid, 24 its array */
               "mr.id, (SELECT mt.typarray FROM pg_type mt WHERE mt.oid = mr.id), "
               /* 25 canonical */
               "CASE WHEN rg.rngcanonical <> 0 THEN rg.rngcanonical::regproc::text END "
               "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
               "LEFT JOIN pg_type bt ON bt.oid = t.typbasetype LEFT JOIN pg_range rg ON rg.rngtypid = t.oid ");
    /* multiranges came with 14 */
    pg_buf_add(&c->sql, c->m->server_version >= 140000 ? "LEFT JOIN LATERAL (SELECT rg.rngmultitypid AS id) mr ON true "
                                                       : "LEFT JOIN LATERAL (SELECT 0::oid AS id) mr ON true ");
    pg_buf_add(&c->sql,
               "WHERE t.oid >= 16384 AND t.typtype IN ('e', 'd', 'r', 'c') AND (t.typtype <> 'c' OR "
               "(SELECT cl.relkind FROM pg_class cl WHERE cl.oid = t.typrelid) = 'c') AND " NSP_OK("n")
               " AND " NOT_EXT("pg_type", "t.oid") " ORDER BY t.oid");
    if (!pg_buf_ok(&c->sql))
        return pgc_oom(c->err);
    PGresult *r = pgc_query(c, "types", c->sql.s);
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *schema = pgc_val(r, i, 1), *q = pgc_val(r, i, 3), *owner = pgc_val(r, i, 5);
        char tt = pgc_val(r, i, 4)[0];
        if (pgc_schema_excluded(c, schema))
            continue;
        const char *kw = tt == 'd' ? "DOMAIN" : "TYPE";
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        if (tt == 'e') {
            pg_buf_addf(&b, "CREATE TYPE %s AS ENUM (%s);\n", q, pgc_val(r, i, 11) ? pgc_val(r, i, 11) : "");
        } else if (tt == 'c') {
            pg_buf_addf(&b, "CREATE TYPE %s AS (%s\n);\n", q, pgc_val(r, i, 12) ? pgc_val(r, i, 12) : "");
        } else if (tt == 'd') {
            pg_buf_addf(&b, "CREATE DOMAIN %s AS %s", q, pgc_val(r, i, 13));
            if (pgc_val(r, i, 16))
                pg_buf_addf(&b, " COLLATE %s", pgc_val(r, i, 16));
            if (pgc_val(r, i, 15))
                pg_buf_addf(&b, " DEFAULT %s", pgc_val(r, i, 15));
            if (pgc_bval(r, i, 14) && c->m->server_version < 170000)
                pg_buf_add(&b, " NOT NULL");
            if (pgc_val(r, i, 17))
                pg_buf_add(&b, pgc_val(r, i, 17));
            pg_buf_add(&b, ";\n");
        } else { /* range */
            pg_buf_addf(&b, "CREATE TYPE %s AS RANGE (\n    subtype = %s", q, pgc_val(r, i, 18));
            if (pgc_val(r, i, 19))
                pg_buf_addf(&b, ",\n    multirange_type_name = %s", pgc_val(r, i, 19));
            if (pgc_val(r, i, 20))
                pg_buf_addf(&b, ",\n    subtype_opclass = %s", pgc_val(r, i, 20));
            if (pgc_val(r, i, 21))
                pg_buf_addf(&b, ",\n    collation = %s", pgc_val(r, i, 21));
            if (pgc_val(r, i, 25))
                pg_buf_addf(&b, ",\n    canonical = %s", pgc_val(r, i, 25));
            if (pgc_val(r, i, 22))
                pg_buf_addf(&b, ",\n    subtype_diff = %s", pgc_val(r, i, 22));
            pg_buf_add(&b, "\n);\n");
        }
        char target[600];
        snprintf(target, sizeof target, "%s %s", kw, q);
        pg_buf_addf(&b, "ALTER %s OWNER TO %s;\n", target, owner);
        pgc_emit_comment(&b, target, pgc_val(r, i, 6));
        pgc_emit_acl(&b, target, owner, pgc_bval(r, i, 7), pgc_val(r, i, 8), 1);
        pg_buf_addf(&d, "DROP %s IF EXISTS %s;\n", kw, q);
        long idx = pg_model_add(c->m, K_TYPE, PG_TYPE_OID, pgc_uval(r, i, 0), schema, pgc_val(r, i, 2),
                                tt == 'd' ? "DOMAIN" : "TYPE", owner);
        rc = pgc_finish_obj(c, idx, &b, d.s);
        if (!rc && !(c->m->objs[idx].qname = strdup(q)))
            rc = pgc_oom(c->err);
        pg_buf_free(&b);
        pg_buf_free(&d);
        if (rc)
            break;
        /* the array type, a composite's relation, a range's multirange are part of the type */
        if (pg_model_alias(c->m, PG_TYPE_OID, pgc_uval(r, i, 10), idx) < 0 ||
            (pgc_uval(r, i, 9) && pg_model_alias(c->m, PG_CLASS_OID, pgc_uval(r, i, 9), idx) < 0) ||
            (pgc_uval(r, i, 23) && pg_model_alias(c->m, PG_TYPE_OID, pgc_uval(r, i, 23), idx) < 0) ||
            (pgc_uval(r, i, 24) && pg_model_alias(c->m, PG_TYPE_OID, pgc_uval(r, i, 24), idx) < 0))
            rc = pgc_oom(c->err);
    }
    PQclear(r);
    return rc;
}

/* ---- functions and procedures ---- */

static sk_rc read_functions(cat *c)
{
    pg_buf_reset(&c->sql);
    pg_buf_add(&c->sql,
               "SELECT p.oid, n.nspname, p.proname, quote_ident(n.nspname) || '.' || quote_ident(p.proname) || "
               "'(' || pg_get_function_identity_arguments(p.oid) || ')', p.prokind, "
               "quote_ident(pg_get_userbyid(p.proowner)), quote_literal(obj_description(p.oid, 'pg_proc')), "
               "p.proacl IS NULL, ");
    pgc_acl_sql(&c->sql, "p.proacl", "");
    pg_buf_add(&c->sql, ", pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                        "WHERE p.oid >= 16384 AND p.prokind IN ('f', 'p', 'w') AND " NSP_OK("n") " AND "
                        /* range/multirange constructors belong to their type */
                        "NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_proc'::regclass AND "
                        "i.objid = p.oid AND i.deptype = 'i') AND "
                        NOT_EXT("pg_proc", "p.oid") " ORDER BY p.oid");
    if (!pg_buf_ok(&c->sql))
        return pgc_oom(c->err);
    PGresult *r = pgc_query(c, "functions", c->sql.s);
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *schema = pgc_val(r, i, 1), *q = pgc_val(r, i, 3), *owner = pgc_val(r, i, 5);
        if (pgc_schema_excluded(c, schema))
            continue;
        const char *kw = pgc_val(r, i, 4)[0] == 'p' ? "PROCEDURE" : "FUNCTION";
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        const char *def = pgc_val(r, i, 9);
        size_t dl = strlen(def);
        while (dl > 0 && (def[dl - 1] == '\n' || def[dl - 1] == ' '))
            dl--;
        pg_buf_addn(&b, def, dl);
        pg_buf_add(&b, ";\n");
        char target[1200];
        snprintf(target, sizeof target, "%s %s", kw, q);
        pg_buf_addf(&b, "ALTER %s OWNER TO %s;\n", target, owner);
        pgc_emit_comment(&b, target, pgc_val(r, i, 6));
        pgc_emit_acl(&b, target, owner, pgc_bval(r, i, 7), pgc_val(r, i, 8), 1);
        pg_buf_addf(&d, "DROP %s IF EXISTS %s;\n", kw, q);
        /* the name for ordering carries the arguments, so overloads sort deterministically */
        const char *paren = strchr(q, '(');
        pg_buf nm;
        pg_buf_init(&nm);
        pg_buf_addf(&nm, "%s%s", pgc_val(r, i, 2), paren ? paren : "");
        long idx = pg_model_add(c->m, K_FUNCTION, PG_PROC_OID, pgc_uval(r, i, 0), schema, nm.s, kw, owner);
        pg_buf_free(&nm);
        rc = pgc_finish_obj(c, idx, &b, d.s);
        if (!rc)
            c->m->objs[idx].movable = 1;
        pg_buf_free(&b);
        pg_buf_free(&d);
    }
    PQclear(r);
    return rc;
}

/* ---- relations: tables, partitions, views, matviews, sequences ---- */

enum {
    R_OID, R_SCHEMA, R_NAME, R_QNAME, R_KIND, R_PERSIST, R_OWNER, R_ACLNULL, R_GRANTS, R_COMMENT, R_OPTS,
    R_CHECKOPT, R_ISPART, R_RLS, R_FORCERLS, R_REPLIDENT, R_PARTKEY, R_VIEWDEF, R_PARTBOUND, R_PARENTS,
    R_PARTPARENT, R_POPULATED, R_AM, R_SEQTYPE, R_SEQSTART, R_SEQINC, R_SEQMIN, R_SEQMAX, R_SEQCACHE,
    R_SEQCYCLE, R_SEQOWNER, R_SEQCOL, R_SEQDEPTYPE, R_RELTYPE, R_RELTYPEARR, R_OFTYPE, R_TOASTOPTS, R_FTSERVER,
    R_FTOPTIONS, R_REINHERIT, R_PARENT_OIDS
};

enum {
    C_RELID, C_NUM, C_NAME, C_TYPE, C_NOTNULL, C_LOCAL, C_IDENTITY, C_GENERATED, C_DEFEXPR, C_ADOID, C_COLL,
    C_STATTARGET, C_STORAGE, C_TYPSTORAGE, C_OPTS, C_COMMENT, C_ACLNULL, C_GRANTS, C_COMPRESSION, C_PARENTGEN,
    C_FDWOPTS
};

enum { N_OID, N_NAME, N_QNAME, N_TYPE, N_RELID, N_INDID, N_LOCAL, N_VALID, N_PARENT, N_DEF, N_COMMENT, N_FREL, N_SPLIT };

/* An inline CHECK (in CREATE TABLE): local and validated, and not calling a function that takes or
 * returns the table's own row type (that function needs the table first: the CHECK is then added
 * after the data, as pg_dump splits such loops). */
static int check_inline(const PGresult *cons, int k)
{
    return pgc_val(cons, k, N_TYPE)[0] == 'c' && pgc_bval(cons, k, N_LOCAL) && pgc_bval(cons, k, N_VALID) &&
           !pgc_bval(cons, k, N_SPLIT);
}

static const char *storage_word(char s)
{
    switch (s) {
    case 'p': return "PLAIN";
    case 'e': return "EXTERNAL";
    case 'm': return "MAIN";
    default: return "EXTENDED";
    }
}

/* Index rows of a result ordered by an oid column: first row of each oid, under pseudo class. */
static sk_rc index_rows(cat *c, const PGresult *r, int col, unsigned pseudo)
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


/* Per-column settings that CREATE TABLE cannot say: inherited NOT NULL, statistics target,
 * storage, compression, attribute options. */
static void column_options(cat *c, pg_buf *b, const PGresult *cols, unsigned relid, const char *q, int ispart,
                           const char *alter)
{
    long crow = pg_model_find(c->m, IDX_COLS, relid);
    for (int k = (int)crow; crow >= 0 && k < PQntuples(cols) && pgc_uval(cols, k, C_RELID) == relid; k++) {
        const char *cn = pgc_val(cols, k, C_NAME);
        if (!ispart && !pgc_bval(cols, k, C_LOCAL) && pgc_bval(cols, k, C_NOTNULL))
            pg_buf_addf(b, "%s %s ALTER COLUMN %s SET NOT NULL;\n", alter, q, cn);
        if (pgc_ival(cols, k, C_STATTARGET, -1) >= 0)
            pg_buf_addf(b, "%s %s ALTER COLUMN %s SET STATISTICS %s;\n", alter, q, cn,
                        pgc_val(cols, k, C_STATTARGET));
        if (pgc_val(cols, k, C_STORAGE)[0] != pgc_val(cols, k, C_TYPSTORAGE)[0])
            pg_buf_addf(b, "%s %s ALTER COLUMN %s SET STORAGE %s;\n", alter, q, cn,
                        storage_word(pgc_val(cols, k, C_STORAGE)[0]));
        char comp = pgc_val(cols, k, C_COMPRESSION) ? pgc_val(cols, k, C_COMPRESSION)[0] : '\0';
        if (comp == 'p' || comp == 'l')
            pg_buf_addf(b, "%s %s ALTER COLUMN %s SET COMPRESSION %s;\n", alter, q, cn,
                        comp == 'p' ? "pglz" : "lz4");
        if (pgc_val(cols, k, C_OPTS) && *pgc_val(cols, k, C_OPTS))
            pg_buf_addf(b, "%s %s ALTER COLUMN %s SET (%s);\n", alter, q, cn, pgc_val(cols, k, C_OPTS));
    }
}

static void table_body(cat *c, pg_buf *b, const PGresult *r, int i, const PGresult *cols,
                       const PGresult *cons, long idx)
{
    const char *q = pgc_val(r, i, R_QNAME);
    unsigned relid = pgc_uval(r, i, R_OID);
    int ispart = pgc_bval(r, i, R_ISPART);
    char kind = pgc_val(r, i, R_KIND)[0];
    const char *oftype = pgc_val(r, i, R_OFTYPE);
    int reinherit = pgc_bval(r, i, R_REINHERIT);
    pg_buf_addf(b, "CREATE %sTABLE %s", kind == 'f' ? "FOREIGN " : pgc_val(r, i, R_PERSIST)[0] == 'u' ? "UNLOGGED " : "",
                q);
    if (oftype)
        pg_buf_addf(b, " OF %s", oftype);
    size_t open_at = b->len;
    pg_buf_add(b, " (");
    int first = 1;
    long crow = pg_model_find(c->m, IDX_COLS, relid);
    for (int k = (int)crow; crow >= 0 && k < PQntuples(cols) && pgc_uval(cols, k, C_RELID) == relid; k++) {
        if (oftype) { /* a typed table's columns come from its type: only their options */
            if (pgc_bval(cols, k, C_NOTNULL)) {
                pg_buf_addf(b, "%s\n    %s WITH OPTIONS NOT NULL", first ? "" : ",", pgc_val(cols, k, C_NAME));
                first = 0;
            }
            continue;
        }
        if (!ispart && !reinherit && !pgc_bval(cols, k, C_LOCAL))
            continue;
        pg_buf_addf(b, "%s\n    %s %s", first ? "" : ",", pgc_val(cols, k, C_NAME), pgc_val(cols, k, C_TYPE));
        first = 0;
        if (pgc_val(cols, k, C_FDWOPTS) && *pgc_val(cols, k, C_FDWOPTS))
            pg_buf_addf(b, " OPTIONS (%s)", pgc_val(cols, k, C_FDWOPTS));
        if (pgc_val(cols, k, C_COLL))
            pg_buf_addf(b, " COLLATE %s", pgc_val(cols, k, C_COLL));
        /* an inheritance child takes a generated parent column's expression from the parent */
        if (pgc_val(cols, k, C_GENERATED)[0] == 's' && (ispart || reinherit || !pgc_bval(cols, k, C_PARENTGEN)))
            pg_buf_addf(b, " GENERATED ALWAYS AS (%s) STORED", pgc_val(cols, k, C_DEFEXPR));
        if (pgc_bval(cols, k, C_NOTNULL))
            pg_buf_add(b, " NOT NULL");
    }
    long krow = pg_model_find(c->m, IDX_CONS, relid);
    for (int k = (int)krow; krow >= 0 && k < PQntuples(cons) && pgc_uval(cons, k, N_RELID) == relid; k++) {
        if (!check_inline(cons, k))
            continue;
        pg_buf_addf(b, "%s\n    CONSTRAINT %s %s", first ? "" : ",", pgc_val(cons, k, N_QNAME), pgc_val(cons, k, N_DEF));
        first = 0;
        pg_model_alias(c->m, PG_CONSTRAINT_OID, pgc_uval(cons, k, N_OID), idx);
    }
    if (oftype && first) { /* nothing to add to the type's columns: no parentheses */
        b->len = open_at;
        b->s[b->len] = '\0';
    } else {
        pg_buf_add(b, "\n)");
    }
    if (!ispart && !reinherit && pgc_val(r, i, R_PARENTS))
        pg_buf_addf(b, "\nINHERITS (%s)", pgc_val(r, i, R_PARENTS));
    if (kind == 'p')
        pg_buf_addf(b, "\nPARTITION BY %s", pgc_val(r, i, R_PARTKEY));
    if (kind == 'f') {
        pg_buf_addf(b, "\nSERVER %s", pgc_val(r, i, R_FTSERVER) ? pgc_val(r, i, R_FTSERVER) : "\"\"");
        if (pgc_val(r, i, R_FTOPTIONS) && *pgc_val(r, i, R_FTOPTIONS))
            pg_buf_addf(b, "\nOPTIONS (%s)", pgc_val(r, i, R_FTOPTIONS));
    }
    if (pgc_val(r, i, R_AM))
        pg_buf_addf(b, "\nUSING %s", pgc_val(r, i, R_AM));
    const char *opts = pgc_val(r, i, R_OPTS), *topts = pgc_val(r, i, R_TOASTOPTS);
    int has_opts = opts && *opts, has_topts = topts && *topts;
    if (has_opts || has_topts)
        pg_buf_addf(b, "\nWITH (%s%s%s)", has_opts ? opts : "", has_opts && has_topts ? ", " : "",
                    has_topts ? topts : "");
    pg_buf_add(b, ";\n");
    for (const char *p = reinherit ? pgc_val(r, i, R_PARENT_OIDS) : NULL; p && *p;) {
        char *end;
        unsigned long poid = strtoul(p, &end, 10);
        if (end == p)
            break;
        long po = pgc_rel_obj(c, (unsigned)poid);
        if (po >= 0)
            pg_buf_addf(b, "ALTER TABLE ONLY %s INHERIT %s;\n", q, c->m->objs[po].qname);
        p = end;
        while (*p == ' ')
            p++;
    }
    column_options(c, b, cols, relid, q, ispart, kind == 'f' ? "ALTER FOREIGN TABLE ONLY" : "ALTER TABLE ONLY");
    char rid = kind == 'f' ? 'd' : pgc_val(r, i, R_REPLIDENT)[0]; /* foreign tables have none */
    if (rid == 'f')
        pg_buf_addf(b, "ALTER TABLE ONLY %s REPLICA IDENTITY FULL;\n", q);
    else if (rid == 'n')
        pg_buf_addf(b, "ALTER TABLE ONLY %s REPLICA IDENTITY NOTHING;\n", q);
    if (pgc_bval(r, i, R_RLS))
        pg_buf_addf(b, "ALTER TABLE %s ENABLE ROW LEVEL SECURITY;\n", q);
    if (pgc_bval(r, i, R_FORCERLS))
        pg_buf_addf(b, "ALTER TABLE %s FORCE ROW LEVEL SECURITY;\n", q);
}

/* Owner, comments (relation, columns, inline checks) and grants (relation, columns). */
static void rel_trailer(cat *c, pg_buf *b, const PGresult *r, int i, const PGresult *cols, const PGresult *cons,
                        const char *kw)
{
    const char *q = pgc_val(r, i, R_QNAME), *owner = pgc_val(r, i, R_OWNER);
    unsigned relid = pgc_uval(r, i, R_OID);
    char target[700];
    snprintf(target, sizeof target, "%s %s", kw, q);
    pg_buf_addf(b, "ALTER %s OWNER TO %s;\n", target, owner);
    pgc_emit_comment(b, target, pgc_val(r, i, R_COMMENT));
    long crow = pg_model_find(c->m, IDX_COLS, relid);
    for (int k = (int)crow; crow >= 0 && k < PQntuples(cols) && pgc_uval(cols, k, C_RELID) == relid; k++) {
        if (pgc_val(cols, k, C_COMMENT))
            pg_buf_addf(b, "COMMENT ON COLUMN %s.%s IS %s;\n", q, pgc_val(cols, k, C_NAME), pgc_val(cols, k, C_COMMENT));
    }
    long krow = pg_model_find(c->m, IDX_CONS, relid);
    for (int k = (int)krow; krow >= 0 && k < PQntuples(cons) && pgc_uval(cons, k, N_RELID) == relid; k++) {
        if (check_inline(cons, k) &&
            pgc_val(cons, k, N_COMMENT))
            pg_buf_addf(b, "COMMENT ON CONSTRAINT %s ON %s IS %s;\n", pgc_val(cons, k, N_QNAME), q,
                        pgc_val(cons, k, N_COMMENT));
    }
    char gtarget[700];
    snprintf(gtarget, sizeof gtarget, "%s %s", pgc_val(r, i, R_KIND)[0] == 'S' ? "SEQUENCE" : "TABLE", q);
    pgc_emit_acl(b, gtarget, owner, pgc_bval(r, i, R_ACLNULL), pgc_val(r, i, R_GRANTS), 1);
    for (int k = (int)crow; crow >= 0 && k < PQntuples(cols) && pgc_uval(cols, k, C_RELID) == relid; k++)
        pgc_emit_acl(b, gtarget, owner, pgc_bval(cols, k, C_ACLNULL), pgc_val(cols, k, C_GRANTS), 0);
}

/* identity sequences take their type from the column: no AS clause */
static void seq_options(pg_buf *b, const PGresult *r, int i, int with_type)
{
    if (with_type)
        pg_buf_addf(b, "\n    AS %s", pgc_val(r, i, R_SEQTYPE));
    pg_buf_addf(b, "\n    START WITH %s\n    INCREMENT BY %s\n    MINVALUE %s\n    MAXVALUE %s\n"
                   "    CACHE %s%s",
                pgc_val(r, i, R_SEQSTART), pgc_val(r, i, R_SEQINC), pgc_val(r, i, R_SEQMIN),
                pgc_val(r, i, R_SEQMAX), pgc_val(r, i, R_SEQCACHE), pgc_bval(r, i, R_SEQCYCLE) ? "\n    CYCLE" : "");
}


static sk_rc lock_tables(cat *c, const PGresult *r, int lock_timeout_ms)
{
    pg_buf b;
    pg_buf_init(&b);
    sk_rc rc = SK_OK;
    char set[80];
    snprintf(set, sizeof set, "SET LOCAL lock_timeout = %d", lock_timeout_ms);
    PGresult *x = pgc_query(c, "lock_timeout", set);
    if (!x)
        return c->err->rc;
    PQclear(x);
    int n = 0;
    for (int i = 0; i <= PQntuples(r); i++) {
        if (i < PQntuples(r)) {
            char k = pgc_val(r, i, R_KIND)[0];
            if ((k != 'r' && k != 'p') || pgc_rel_obj(c, pgc_uval(r, i, R_OID)) < 0)
                continue;
            pg_buf_addf(&b, "%s%s", n ? ", " : "LOCK TABLE ", pgc_val(r, i, R_QNAME));
            n++;
        }
        if (n > 0 && (n >= 500 || i == PQntuples(r))) {
            pg_buf_add(&b, " IN ACCESS SHARE MODE");
            if (!pg_buf_ok(&b)) {
                rc = pgc_oom(c->err);
                break;
            }
            x = pgc_query(c, "table locks", b.s);
            if (!x) {
                rc = c->err->rc;
                sk_err_prefix(c->err, "ACCESS SHARE lock (a concurrent ALTER/DROP, lock_timeout, or more tables "
                                      "than max_locks_per_transaction allows): ");
                break;
            }
            PQclear(x);
            pg_buf_reset(&b);
            n = 0;
        }
    }
    pg_buf_free(&b);
    if (!rc) {
        x = pgc_query(c, "lock_timeout", "SET LOCAL lock_timeout = 0");
        if (!x)
            return c->err->rc;
        PQclear(x);
    }
    return rc;
}

/* Row of relation `oid` in the relations result (ordered by oid), or -1. */
static int rel_row(const PGresult *r, unsigned oid)
{
    int lo = 0, hi = PQntuples(r) - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        unsigned v = pgc_uval(r, mid, R_OID);
        if (v == oid)
            return mid;
        if (v < oid)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* With SNAPKEEP_PG_TABLES: a matching relation, or a sequence owned by one (serial, identity). */
static int table_included(cat *c, const PGresult *r, int i)
{
    if (pg_name_excluded(c->m->include_tables, pgc_val(r, i, R_SCHEMA), pgc_val(r, i, R_NAME)))
        return 1;
    if (pgc_val(r, i, R_KIND)[0] != 'S' || !pgc_val(r, i, R_SEQOWNER))
        return 0;
    int o = rel_row(r, pgc_uval(r, i, R_SEQOWNER));
    return o >= 0 && pg_name_excluded(c->m->include_tables, pgc_val(r, o, R_SCHEMA), pgc_val(r, o, R_NAME));
}

static sk_rc read_relations(cat *c, int lock_timeout_ms)
{
    pg_buf_reset(&c->sql);
    pg_buf_add(&c->sql,
               "SELECT c.oid, n.nspname, c.relname, quote_ident(n.nspname) || '.' || quote_ident(c.relname), "
               "c.relkind, c.relpersistence, quote_ident(pg_get_userbyid(c.relowner)), c.relacl IS NULL, ");
    pgc_acl_sql(&c->sql, "c.relacl", "");
    pg_buf_add(&c->sql,
               ", quote_literal(obj_description(c.oid, 'pg_class')), "
               "array_to_string(ARRAY(SELECT o FROM unnest(c.reloptions) o WHERE o !~ '^check_option='), ', '), "
               "(SELECT upper(substr(o, 14)) FROM unnest(c.reloptions) o WHERE o ~ '^check_option='), "
               "c.relispartition, c.relrowsecurity, c.relforcerowsecurity, c.relreplident, "
               "CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END, "
               "CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END, "
               "CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END, "
               "(SELECT string_agg(quote_ident(pn.nspname) || '.' || quote_ident(p.relname), ', ' ORDER BY "
               "i.inhseqno) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON "
               "pn.oid = p.relnamespace WHERE i.inhrelid = c.oid), "
               "(SELECT i.inhparent FROM pg_inherits i WHERE i.inhrelid = c.oid AND c.relispartition), "
               "c.relispopulated, (SELECT a.amname FROM pg_am a WHERE a.oid = c.relam AND a.amname <> 'heap'), "
               "format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, "
               "s.seqcycle, so.refobjid, so.attname, so.deptype, c.reltype, "
               "(SELECT t.typarray FROM pg_type t WHERE t.oid = c.reltype), "
               "CASE WHEN c.reloftype <> 0 THEN format_type(c.reloftype, NULL) END, "
               "(SELECT array_to_string(ARRAY(SELECT 'toast.' || x FROM unnest(tc.reloptions) x), ', ') FROM "
               "pg_class tc WHERE tc.oid = c.reltoastrelid), "
               "(SELECT quote_ident(fs.srvname) FROM pg_foreign_table ft JOIN pg_foreign_server fs ON fs.oid = "
               "ft.ftserver WHERE ft.ftrelid = c.oid), (SELECT " OPTIONS_SQL("ft.ftoptions") " FROM pg_foreign_table ft "
               "WHERE ft.ftrelid = c.oid), "
               /* an inheritance child whose columns are all its own but ordered unlike INHERITS would
                * order them: created alone, then ALTER TABLE ... INHERIT (keeps the order; possible
                * when no parent has an inheritable CHECK, which INHERIT would require locally) */
               "c.relkind = 'r' AND NOT c.relispartition AND EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = "
               "c.oid) AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND "
               "NOT a.attisdropped AND NOT a.attislocal) AND NOT EXISTS (SELECT 1 FROM pg_inherits i JOIN "
               "pg_constraint pc ON pc.conrelid = i.inhparent AND pc.contype = 'c' AND NOT pc.connoinherit WHERE "
               "i.inhrelid = c.oid) AND (SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a WHERE "
               "a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) IS DISTINCT FROM (SELECT "
               "array_agg(e.name ORDER BY e.o1, e.o2) FROM (SELECT DISTINCT ON (pa.attname) pa.attname AS name, "
               "i.inhseqno AS o1, pa.attnum AS o2 FROM pg_inherits i JOIN pg_attribute pa ON pa.attrelid = "
               "i.inhparent AND pa.attnum > 0 AND NOT pa.attisdropped WHERE i.inhrelid = c.oid ORDER BY pa.attname, "
               "i.inhseqno, pa.attnum) e) || (SELECT coalesce(array_agg(a.attname ORDER BY a.attnum), '{}') FROM "
               "pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attinhcount = "
               "0), (SELECT string_agg(i.inhparent::text, ' ' ORDER BY i.inhseqno) FROM pg_inherits i WHERE "
               "i.inhrelid = c.oid) "
               "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
               "LEFT JOIN pg_sequence s ON s.seqrelid = c.oid "
               "LEFT JOIN LATERAL (SELECT d.refobjid, quote_ident(a.attname) AS attname, d.deptype FROM pg_depend d "
               "JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid WHERE d.classid = "
               "'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN "
               "('a', 'i') LIMIT 1) so ON c.relkind = 'S' "
               "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND " NSP_OK("n") " AND "
               NOT_EXT("pg_class", "c.oid") " ORDER BY c.oid");
    if (!pg_buf_ok(&c->sql))
        return pgc_oom(c->err);
    PGresult *r = pgc_query(c, "relations", c->sql.s), *cols = NULL, *cons = NULL;
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;

    /* 1. register the relations (so locks, columns and constraints know what is dumped) */
    for (int i = 0; i < PQntuples(r); i++) {
        const char *schema = pgc_val(r, i, R_SCHEMA), *name = pgc_val(r, i, R_NAME);
        char k = pgc_val(r, i, R_KIND)[0];
        if (pgc_schema_excluded(c, schema) || pg_name_excluded(c->m->exclude_tables, schema, name))
            continue;
        if (c->m->include_tables && !table_included(c, r, i))
            continue;
        if (k == 'S' && pgc_val(r, i, R_SEQDEPTYPE) && pgc_val(r, i, R_SEQDEPTYPE)[0] == 'i')
            continue; /* an identity column's sequence belongs to its table */
        const char *label = k == 'S'   ? "SEQUENCE"
                            : k == 'v' ? "VIEW"
                            : k == 'm' ? "MATERIALIZED VIEW"
                            : k == 'f' ? "FOREIGN TABLE"
                                       : "TABLE";
        long idx = pg_model_add(c->m, K_RELATION, PG_CLASS_OID, pgc_uval(r, i, R_OID), schema, name, label,
                                pgc_val(r, i, R_OWNER));
        if (idx < 0 || !(c->m->objs[idx].qname = strdup(pgc_val(r, i, R_QNAME)))) {
            rc = pgc_oom(c->err);
            goto out;
        }
        c->m->objs[idx].relid = pgc_uval(r, i, R_OID);
        c->m->objs[idx].movable = (k == 'v' || k == 'm');
        if (pg_model_alias(c->m, PG_TYPE_OID, pgc_uval(r, i, R_RELTYPE), idx) < 0 ||
            pg_model_alias(c->m, PG_TYPE_OID, pgc_uval(r, i, R_RELTYPEARR), idx) < 0) {
            rc = pgc_oom(c->err);
            goto out;
        }
    }
    if ((rc = lock_tables(c, r, lock_timeout_ms)))
        goto out;

    pg_buf_reset(&c->sql);
    pg_buf_add(&c->sql,
               "SELECT a.attrelid, a.attnum, quote_ident(a.attname), format_type(a.atttypid, a.atttypmod), "
               "a.attnotnull, a.attislocal, a.attidentity, a.attgenerated, pg_get_expr(ad.adbin, ad.adrelid), "
               "ad.oid, CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN (SELECT "
               "quote_ident(cn.nspname) || '.' || quote_ident(co.collname) FROM pg_collation co JOIN pg_namespace "
               "cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END, a.attstattarget, a.attstorage, "
               "t.typstorage, array_to_string(a.attoptions, ', '), "
               "quote_literal(col_description(a.attrelid, a.attnum)), a.attacl IS NULL, ");
    pgc_acl_sql(&c->sql, "a.attacl", " || ' (' || quote_ident(a.attname) || ')'");
    pg_buf_add(&c->sql, c->m->server_version >= 140000 ? ", a.attcompression" : ", ''::\"char\"");
    pg_buf_add(&c->sql, ", EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_attribute pa ON pa.attrelid = i.inhparent AND "
                        "pa.attname = a.attname WHERE i.inhrelid = a.attrelid AND pa.attgenerated <> ''), "
                        OPTIONS_SQL("a.attfdwoptions"));
    pg_buf_add(&c->sql,
               " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = "
               "c.relnamespace JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_attrdef ad ON ad.adrelid = "
               "a.attrelid AND ad.adnum = a.attnum WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN "
               "('r', 'p', 'v', 'm', 'f') AND " NSP_OK("n") " ORDER BY a.attrelid, a.attnum");
    if (!pg_buf_ok(&c->sql)) {
        rc = pgc_oom(c->err);
        goto out;
    }
    if (!(cols = pgc_query(c, "columns", c->sql.s)) ||
        !(cons = pgc_query(c, "constraints",
                       "SELECT co.oid, co.conname, quote_ident(co.conname), co.contype, co.conrelid, co.conindid, "
                       "co.conislocal, co.convalidated, co.conparentid, pg_get_constraintdef(co.oid), "
                       "quote_literal(obj_description(co.oid, 'pg_constraint')), co.confrelid, co.contype = 'c' AND "
                       "EXISTS (SELECT 1 FROM pg_depend d JOIN pg_depend d2 ON d2.classid = 'pg_proc'::regclass AND "
                       "d2.objid = d.refobjid AND d2.refclassid = 'pg_type'::regclass AND d2.refobjid = c.reltype "
                       "WHERE d.classid = 'pg_constraint'::regclass AND d.objid = co.oid AND d.refclassid = "
                       "'pg_proc'::regclass) FROM pg_constraint co JOIN "
                       "pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
                       "co.contype IN ('c', 'p', 'u', 'x', 'f') AND " NSP_OK("n") " ORDER BY co.conrelid, co.conname"))) {
        rc = c->err->rc;
        goto out;
    }
    if ((rc = index_rows(c, cols, C_RELID, IDX_COLS)) || (rc = index_rows(c, cons, N_RELID, IDX_CONS)))
        goto out;

    /* 2. definitions */
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        unsigned relid = pgc_uval(r, i, R_OID);
        char k = pgc_val(r, i, R_KIND)[0];
        const char *q = pgc_val(r, i, R_QNAME);
        pg_buf b;
        pg_buf_init(&b);
        if (k == 'S' && pgc_val(r, i, R_SEQDEPTYPE) && pgc_val(r, i, R_SEQDEPTYPE)[0] == 'i')
            continue; /* after all tables, below */
        long idx = pgc_rel_obj(c, relid);
        if (idx < 0) {
            pg_buf_free(&b);
            continue;
        }
        pg_buf d;
        pg_buf_init(&d);
        if (k == 'r' || k == 'p' || k == 'f') {
            table_body(c, &b, r, i, cols, cons, idx);
            rel_trailer(c, &b, r, i, cols, cons, k == 'f' ? "FOREIGN TABLE" : "TABLE");
            pg_buf_addf(&d, "DROP %sTABLE IF EXISTS %s;\n", k == 'f' ? "FOREIGN " : "", q);
        } else if (k == 'v') {
            pg_buf_addf(&b, "CREATE VIEW %s", q);
            if (pgc_val(r, i, R_OPTS) && *pgc_val(r, i, R_OPTS))
                pg_buf_addf(&b, " WITH (%s)", pgc_val(r, i, R_OPTS));
            const char *vd = pgc_val(r, i, R_VIEWDEF);
            size_t vl = strlen(vd);
            while (vl > 0 && (vd[vl - 1] == ';' || vd[vl - 1] == '\n' || vd[vl - 1] == ' '))
                vl--;
            pg_buf_add(&b, " AS\n");
            pg_buf_addn(&b, vd, vl);
            if (pgc_val(r, i, R_CHECKOPT))
                pg_buf_addf(&b, "\n  WITH %s CHECK OPTION", pgc_val(r, i, R_CHECKOPT));
            pg_buf_add(&b, ";\n");
            rel_trailer(c, &b, r, i, cols, cons, "VIEW");
            pg_buf_addf(&d, "DROP VIEW IF EXISTS %s;\n", q);
        } else if (k == 'm') {
            pg_buf_addf(&b, "CREATE MATERIALIZED VIEW %s", q);
            if (pgc_val(r, i, R_AM))
                pg_buf_addf(&b, " USING %s", pgc_val(r, i, R_AM));
            if (pgc_val(r, i, R_OPTS) && *pgc_val(r, i, R_OPTS))
                pg_buf_addf(&b, " WITH (%s)", pgc_val(r, i, R_OPTS));
            const char *vd = pgc_val(r, i, R_VIEWDEF);
            size_t vl = strlen(vd);
            while (vl > 0 && (vd[vl - 1] == ';' || vd[vl - 1] == '\n' || vd[vl - 1] == ' '))
                vl--;
            pg_buf_add(&b, " AS\n");
            pg_buf_addn(&b, vd, vl);
            pg_buf_add(&b, "\n  WITH NO DATA;\n");
            column_options(c, &b, cols, relid, q, 0, "ALTER TABLE ONLY");
            rel_trailer(c, &b, r, i, cols, cons, "MATERIALIZED VIEW");
            pg_buf_addf(&d, "DROP MATERIALIZED VIEW IF EXISTS %s;\n", q);
        } else { /* sequence */
            pg_buf_addf(&b, "CREATE %sSEQUENCE %s", pgc_val(r, i, R_PERSIST)[0] == 'u' ? "UNLOGGED " : "", q);
            seq_options(&b, r, i, 1);
            pg_buf_add(&b, ";\n");
            rel_trailer(c, &b, r, i, cols, cons, "SEQUENCE");
            long t = pgc_val(r, i, R_SEQOWNER) ? pgc_rel_obj(c, pgc_uval(r, i, R_SEQOWNER)) : -1;
            if (t >= 0) {
                pg_buf_addf(&b, "ALTER SEQUENCE %s OWNED BY %s.%s;\n", q, c->m->objs[t].qname, pgc_val(r, i, R_SEQCOL));
                if (pg_model_dep(c->m, idx, t) < 0)
                    rc = pgc_oom(c->err);
            }
            pg_buf_addf(&d, "DROP SEQUENCE IF EXISTS %s;\n", q);
        }
        if (!rc)
            rc = pgc_finish_obj(c, idx, &b, d.s);
        pg_buf_free(&b);
        pg_buf_free(&d);
        if (rc)
            break;
        const char *schema = pgc_val(r, i, R_SCHEMA), *name = pgc_val(r, i, R_NAME);

        /* column defaults (separate, so serial sequences and functions can come in between) */
        long crow = pg_model_find(c->m, IDX_COLS, relid);
        pg_buf cl;
        pg_buf_init(&cl);
        int ncols = 0;
        for (int j = (int)crow; crow >= 0 && j < PQntuples(cols) && pgc_uval(cols, j, C_RELID) == relid && !rc; j++) {
            if (pgc_val(cols, j, C_GENERATED)[0] == '\0') {
                pg_buf_addf(&cl, "%s%s", ncols ? ", " : "", pgc_val(cols, j, C_NAME));
                ncols++;
            }
            if (!pgc_val(cols, j, C_ADOID))
                continue;
            if (pgc_val(cols, j, C_GENERATED)[0] != '\0') {
                if (pg_model_alias(c->m, PG_ATTRDEF_OID, pgc_uval(cols, j, C_ADOID), idx) < 0)
                    rc = pgc_oom(c->err);
                continue;
            }
            pg_buf db, dd;
            pg_buf_init(&db);
            pg_buf_init(&dd);
            const char *alter = k == 'v' ? "ALTER VIEW" : k == 'f' ? "ALTER FOREIGN TABLE ONLY" : "ALTER TABLE ONLY";
            pg_buf_addf(&db, "%s %s ALTER COLUMN %s SET DEFAULT %s;\n", alter, q, pgc_val(cols, j, C_NAME),
                        pgc_val(cols, j, C_DEFEXPR));
            pg_buf_addf(&dd, "%s %s ALTER COLUMN %s DROP DEFAULT;\n", k == 'v' ? "ALTER VIEW IF EXISTS" :
                        k == 'f' ? "ALTER FOREIGN TABLE IF EXISTS ONLY" : "ALTER TABLE IF EXISTS ONLY", q,
                        pgc_val(cols, j, C_NAME));
            char dn[600];
            snprintf(dn, sizeof dn, "%s %s", name, pgc_val(cols, j, C_NAME));
            long di = pg_model_add(c->m, K_DEFAULT, PG_ATTRDEF_OID, pgc_uval(cols, j, C_ADOID), schema, dn, "DEFAULT",
                                   pgc_val(r, i, R_OWNER));
            rc = pgc_finish_obj(c, di, &db, dd.s);
            if (!rc && pg_model_dep(c->m, di, idx) < 0)
                rc = pgc_oom(c->err);
            pg_buf_free(&db);
            pg_buf_free(&dd);
        }
        if (!rc && k == 'r' && !pg_name_excluded(c->m->exclude_data, schema, name)) {
            long di = pg_model_add(c->m, K_TABLE_DATA, PG_PSEUDO_NONE, 0, schema, name, "TABLE DATA",
                                   pgc_val(r, i, R_OWNER));
            if (di < 0 || !(c->m->objs[di].qname = strdup(q)) ||
                !(c->m->objs[di].columns = ncols ? (cl.s ? strdup(cl.s) : NULL) : strdup("")) ||
                pg_model_dep(c->m, di, idx) < 0)
                rc = pgc_oom(c->err);
            else {
                c->m->objs[di].table_obj = idx;
                c->m->objs[di].relid = relid;
            }
        }
        pg_buf_free(&cl);
        if (!rc && k == 'S') {
            long sv = pg_model_add(c->m, K_SEQ_SET, PG_PSEUDO_NONE, 0, schema, name, "SEQUENCE SET", NULL);
            if (sv < 0 || !(c->m->objs[sv].qname = strdup(q)) || pg_model_dep(c->m, sv, idx) < 0)
                rc = pgc_oom(c->err);
            else
                c->m->objs[sv].table_obj = idx;
        }
        if (!rc && k == 'm' && pgc_bval(r, i, R_POPULATED)) {
            long rf = pg_model_add(c->m, K_REFRESH, PG_PSEUDO_NONE, 0, schema, name, "MATERIALIZED VIEW DATA", NULL);
            pg_buf rb;
            pg_buf_init(&rb);
            pg_buf_addf(&rb, "REFRESH MATERIALIZED VIEW %s;\n", q);
            rc = pgc_finish_obj(c, rf, &rb, NULL);
            pg_buf_free(&rb);
            if (!rc && pg_model_dep(c->m, rf, idx) < 0)
                rc = pgc_oom(c->err);
            if (!rc)
                c->m->objs[rf].table_obj = idx;
        }
        if (!rc && pgc_bval(r, i, R_ISPART)) {
            long parent = pgc_rel_obj(c, pgc_uval(r, i, R_PARTPARENT));
            if (parent >= 0) {
                pg_buf ab;
                pg_buf_init(&ab);
                pg_buf_addf(&ab, "ALTER TABLE ONLY %s ATTACH PARTITION %s %s;\n", c->m->objs[parent].qname, q,
                            pgc_val(r, i, R_PARTBOUND));
                long ai = pg_model_add(c->m, K_ATTACH, PG_PSEUDO_NONE, 0, schema, name, "TABLE ATTACH", NULL);
                rc = pgc_finish_obj(c, ai, &ab, NULL);
                pg_buf_free(&ab);
                if (!rc && (pg_model_dep(c->m, ai, idx) < 0 || pg_model_dep(c->m, ai, parent) < 0))
                    rc = pgc_oom(c->err);
            }
        }
    }
    if (rc)
        goto out;

    /* identity columns: ALTER TABLE ... ADD GENERATED ... AS IDENTITY, appended to their table */
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        unsigned relid = pgc_uval(r, i, R_OID);
        char k = pgc_val(r, i, R_KIND)[0];
        const char *q = pgc_val(r, i, R_QNAME);
        pg_buf b;
        pg_buf_init(&b);
        if (k == 'S' && pgc_val(r, i, R_SEQDEPTYPE) && pgc_val(r, i, R_SEQDEPTYPE)[0] == 'i') {
            /* identity: ALTER TABLE ... ADD GENERATED ... AS IDENTITY, appended to the table */
            long t = pgc_rel_obj(c, pgc_uval(r, i, R_SEQOWNER));
            if (t < 0)
                continue;
            unsigned owner = pgc_uval(r, i, R_SEQOWNER);
            const char *how = "BY DEFAULT";
            long crow = pg_model_find(c->m, IDX_COLS, owner);
            for (int j = (int)crow; crow >= 0 && j < PQntuples(cols) && pgc_uval(cols, j, C_RELID) == owner; j++)
                if (strcmp(pgc_val(cols, j, C_NAME), pgc_val(r, i, R_SEQCOL)) == 0 && pgc_val(cols, j, C_IDENTITY)[0] == 'a')
                    how = "ALWAYS";
            int trow = rel_row(r, owner);
            /* 17: a partitioned table's identity reaches its partitions (no ONLY) */
            int parted = trow >= 0 && pgc_val(r, trow, R_KIND)[0] == 'p';
            pg_buf_addf(&b, "ALTER TABLE %s%s ALTER COLUMN %s ADD GENERATED %s AS IDENTITY (\n    SEQUENCE NAME %s",
                        parted ? "" : "ONLY ", c->m->objs[t].qname, pgc_val(r, i, R_SEQCOL), how, q);
            char tp = trow >= 0 ? pgc_val(r, trow, R_PERSIST)[0] : 'p', sp = pgc_val(r, i, R_PERSIST)[0];
            if (tp != sp) /* the sequence's persistence differs from its table's */
                pg_buf_add(&b, sp == 'u' ? "\n    UNLOGGED" : "\n    LOGGED");
            seq_options(&b, r, i, 0);
            pg_buf_add(&b, "\n);\n");
            rc = pgc_add_text(c, t, &b);
            if (!rc) {
                long sv = pg_model_add(c->m, K_SEQ_SET, PG_PSEUDO_NONE, 0, pgc_val(r, i, R_SCHEMA), pgc_val(r, i, R_NAME),
                                       "SEQUENCE SET", NULL);
                if (sv < 0 || !(c->m->objs[sv].qname = strdup(q)))
                    rc = pgc_oom(c->err);
                else {
                    c->m->objs[sv].table_obj = t;
                    rc = pg_model_dep(c->m, sv, t) < 0 ? pgc_oom(c->err) : SK_OK;
                    /* the sequence's own oid names its table (defaults using nextval on it) */
                    if (!rc && pg_model_alias(c->m, PG_CLASS_OID, relid, t) < 0)
                        rc = pgc_oom(c->err);
                }
            }
            pg_buf_free(&b);
            continue;
        }
        pg_buf_free(&b);
    }
    if (rc)
        goto out;

    /* 3. constraints that are objects of their own */
    for (int i = 0; i < PQntuples(cons) && !rc; i++) {
        char t = pgc_val(cons, i, N_TYPE)[0];
        long tab = pgc_rel_obj(c, pgc_uval(cons, i, N_RELID));
        if (tab < 0)
            continue;
        pg_obj *to = &c->m->objs[tab];
        const char *q = to->qname, *cn = pgc_val(cons, i, N_QNAME);
        /* partitioned tables: FKs must reach the partitions (no ONLY) */
        int trow = rel_row(r, to->relid);
        int partitioned = trow >= 0 && pgc_val(r, trow, R_KIND)[0] == 'p';
        pg_kind kind;
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        if (t == 'c') {
            if (!pgc_bval(cons, i, N_LOCAL) || check_inline(cons, i))
                continue;
            kind = K_CONSTRAINT;
            pg_buf_addf(&b, "ALTER TABLE %s ADD CONSTRAINT %s %s;\n", q, cn, pgc_val(cons, i, N_DEF));
            pg_buf_addf(&d, "ALTER TABLE IF EXISTS %s DROP CONSTRAINT IF EXISTS %s;\n", q, cn);
        } else if (t == 'f') {
            if (pgc_uval(cons, i, N_PARENT) != 0)
                continue; /* cloned onto a partition by its parent's FK */
            kind = K_FK;
            pg_buf_addf(&b, "ALTER TABLE %s%s ADD CONSTRAINT %s %s;\n", partitioned ? "" : "ONLY ", q, cn,
                        pgc_val(cons, i, N_DEF));
            pg_buf_addf(&d, "ALTER TABLE IF EXISTS %s%s DROP CONSTRAINT IF EXISTS %s;\n", partitioned ? "" : "ONLY ",
                        q, cn);
        } else {
            kind = K_CONSTRAINT;
            pg_buf_addf(&b, "ALTER TABLE ONLY %s ADD CONSTRAINT %s %s;\n", q, cn, pgc_val(cons, i, N_DEF));
            pg_buf_addf(&d, "ALTER TABLE IF EXISTS ONLY %s DROP CONSTRAINT IF EXISTS %s;\n", q, cn);
        }
        char target[1200];
        snprintf(target, sizeof target, "CONSTRAINT %s ON %s", cn, q);
        pgc_emit_comment(&b, target, pgc_val(cons, i, N_COMMENT));
        char nm[600];
        snprintf(nm, sizeof nm, "%s %s", to->name, pgc_val(cons, i, N_NAME));
        long idx = pg_model_add(c->m, kind, PG_CONSTRAINT_OID, pgc_uval(cons, i, N_OID), to->schema, nm,
                                t == 'f' ? "FK CONSTRAINT" : "CONSTRAINT", NULL);
        rc = pgc_finish_obj(c, idx, &b, d.s);
        pg_buf_free(&b);
        pg_buf_free(&d);
        if (!rc && t == 'f') {
            c->m->objs[idx].fk_from = tab;
            c->m->objs[idx].fk_to = pgc_rel_obj(c, pgc_uval(cons, i, N_FREL));
        }
        if (!rc && (pg_model_dep(c->m, idx, tab) < 0 ||
                    (pgc_uval(cons, i, N_INDID) && t != 'f' &&
                     pg_model_alias(c->m, PG_CLASS_OID, pgc_uval(cons, i, N_INDID), idx) < 0)))
            rc = pgc_oom(c->err);
    }
out:
    PQclear(r);
    PQclear(cols);
    PQclear(cons);
    return rc;
}

/* ---- indexes and their partition attachments ---- */

static sk_rc read_indexes(cat *c)
{
    PGresult *r = pgc_query(c, "indexes",
                        "SELECT i.indexrelid, ic.relname, quote_ident(n.nspname) || '.' || quote_ident(ic.relname), "
                        "i.indrelid, pg_get_indexdef(i.indexrelid), quote_literal(obj_description(i.indexrelid, "
                        "'pg_class')), (SELECT h.inhparent FROM pg_inherits h WHERE h.inhrelid = i.indexrelid), "
                        "i.indisclustered, i.indisreplident, (SELECT co.oid FROM pg_constraint co WHERE co.conindid = "
                        "i.indexrelid AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x')), "
                        "quote_ident(ic.relname) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN "
                        "pg_namespace n ON n.oid = ic.relnamespace WHERE " NSP_OK("n") " ORDER BY i.indexrelid");
    if (!r)
        return c->err->rc;
    sk_rc rc = index_rows(c, r, 0, IDX_INDEX);
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        long tab = pgc_rel_obj(c, pgc_uval(r, i, 3));
        if (tab < 0)
            continue;
        const char *q = c->m->objs[tab].qname, *iq = pgc_val(r, i, 2);
        pg_buf extra;
        pg_buf_init(&extra);
        if (pgc_bval(r, i, 7))
            pg_buf_addf(&extra, "ALTER TABLE %s CLUSTER ON %s;\n", q, pgc_val(r, i, 10));
        if (pgc_bval(r, i, 8))
            pg_buf_addf(&extra, "ALTER TABLE ONLY %s REPLICA IDENTITY USING INDEX %s;\n", q, pgc_val(r, i, 10));
        if (pgc_val(r, i, 9)) { /* the index of a PK/UNIQUE/EXCLUDE constraint */
            char itarget[700];
            snprintf(itarget, sizeof itarget, "INDEX %s", iq);
            pgc_emit_comment(&extra, itarget, pgc_val(r, i, 5));
            long co = pg_model_find(c->m, PG_CONSTRAINT_OID, pgc_uval(r, i, 9));
            if (co >= 0 && extra.len)
                rc = pgc_add_text(c, co, &extra);
            pg_buf_free(&extra);
            continue;
        }
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "%s;\n", pgc_val(r, i, 4));
        if (extra.len)
            pg_buf_add(&b, extra.s);
        pgc_comment_and_drop(&b, &d, "INDEX", iq, pgc_val(r, i, 5));
        long idx = pg_model_add(c->m, K_INDEX, PG_CLASS_OID, pgc_uval(r, i, 0), c->m->objs[tab].schema, pgc_val(r, i, 1),
                                "INDEX", NULL);
        rc = pgc_finish_obj(c, idx, &b, d.s);
        if (!rc && pg_model_dep(c->m, idx, tab) < 0)
            rc = pgc_oom(c->err);
        pg_buf_free(&b);
        pg_buf_free(&d);
        pg_buf_free(&extra);
    }
    /* ALTER INDEX parent ATTACH PARTITION child, for indexes of partitions */
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        unsigned parent = pgc_uval(r, i, 6);
        if (!parent)
            continue;
        long child_obj = pg_model_find(c->m, PG_CLASS_OID, pgc_uval(r, i, 0));
        long parent_obj = pg_model_find(c->m, PG_CLASS_OID, parent);
        long prow = pg_model_find(c->m, IDX_INDEX, parent);
        if (child_obj < 0 || parent_obj < 0 || prow < 0 || pgc_rel_obj(c, pgc_uval(r, i, 3)) < 0)
            continue;
        /* An attached index (or its constraint) cannot be dropped on its own: dropping the
         * parent's removes it, and so does dropping its table. */
        free(c->m->objs[child_obj].drop);
        c->m->objs[child_obj].drop = NULL;
        pg_buf b;
        pg_buf_init(&b);
        pg_buf_addf(&b, "ALTER INDEX %s ATTACH PARTITION %s;\n", pgc_val(r, (int)prow, 2), pgc_val(r, i, 2));
        long idx = pg_model_add(c->m, K_INDEX_ATTACH, PG_PSEUDO_NONE, 0, c->m->objs[child_obj].schema,
                                pgc_val(r, i, 1), "INDEX ATTACH", NULL);
        rc = pgc_finish_obj(c, idx, &b, NULL);
        pg_buf_free(&b);
        if (!rc && (pg_model_dep(c->m, idx, child_obj) < 0 || pg_model_dep(c->m, idx, parent_obj) < 0))
            rc = pgc_oom(c->err);
    }
    PQclear(r);
    return rc;
}

/* ---- triggers, rules, policies, extended statistics ---- */

static sk_rc read_table_children(cat *c)
{
    PGresult *r = pgc_query(c, "triggers",
                        "SELECT t.oid, t.tgname, quote_ident(t.tgname), t.tgrelid, pg_get_triggerdef(t.oid, false), "
                        "t.tgenabled, quote_literal(obj_description(t.oid, 'pg_trigger')), t.tgparentid FROM "
                        "pg_trigger t WHERE NOT t.tgisinternal AND (t.tgparentid = 0 OR t.tgenabled <> (SELECT "
                        "p.tgenabled FROM pg_trigger p WHERE p.oid = t.tgparentid)) ORDER BY t.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        long tab = pgc_rel_obj(c, pgc_uval(r, i, 3));
        if (tab < 0)
            continue;
        const char *q = c->m->objs[tab].qname, *tn = pgc_val(r, i, 2);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        /* a trigger cloned onto a partition comes with its parent's; only a different enabled
         * state is its own */
        unsigned parent = pgc_uval(r, i, 7);
        if (!parent)
            pg_buf_addf(&b, "%s;\n", pgc_val(r, i, 4));
        switch (pgc_val(r, i, 5)[0]) {
        case 'D': pg_buf_addf(&b, "ALTER TABLE %s DISABLE TRIGGER %s;\n", q, tn); break;
        case 'A': pg_buf_addf(&b, "ALTER TABLE %s ENABLE ALWAYS TRIGGER %s;\n", q, tn); break;
        case 'R': pg_buf_addf(&b, "ALTER TABLE %s ENABLE REPLICA TRIGGER %s;\n", q, tn); break;
        default:
            if (parent)
                pg_buf_addf(&b, "ALTER TABLE %s ENABLE TRIGGER %s;\n", q, tn);
            break;
        }
        char target[1200];
        snprintf(target, sizeof target, "TRIGGER %s ON %s", tn, q);
        pgc_emit_comment(&b, target, pgc_val(r, i, 6));
        if (!parent)
            pg_buf_addf(&d, "DROP TRIGGER IF EXISTS %s ON %s;\n", tn, q);
        char nm[600];
        snprintf(nm, sizeof nm, "%s %s", c->m->objs[tab].name, pgc_val(r, i, 1));
        long idx = pg_model_add(c->m, K_TRIGGER, parent ? PG_PSEUDO_NONE : PG_TRIGGER_OID, pgc_uval(r, i, 0),
                                c->m->objs[tab].schema, nm, "TRIGGER", NULL);
        rc = pgc_finish_obj(c, idx, &b, d.len ? d.s : NULL);
        if (!rc && pg_model_dep(c->m, idx, tab) < 0)
            rc = pgc_oom(c->err);
        if (!rc && parent && pg_model_dep(c->m, idx, pg_model_find(c->m, PG_TRIGGER_OID, parent)) < 0)
            rc = pgc_oom(c->err);
        pg_buf_free(&b);
        pg_buf_free(&d);
    }
    PQclear(r);
    if (rc)
        return rc;

    r = pgc_query(c, "rules",
              "SELECT r.oid, r.rulename, quote_ident(r.rulename), r.ev_class, pg_get_ruledef(r.oid), r.ev_enabled, "
              "quote_literal(obj_description(r.oid, 'pg_rewrite')) FROM pg_rewrite r ORDER BY r.oid");
    if (!r)
        return c->err->rc;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        long tab = pgc_rel_obj(c, pgc_uval(r, i, 3));
        if (tab < 0)
            continue;
        if (strcmp(pgc_val(r, i, 1), "_RETURN") == 0) { /* a view's query: part of the view */
            if (pg_model_alias(c->m, PG_REWRITE_OID, pgc_uval(r, i, 0), tab) < 0)
                rc = pgc_oom(c->err);
            continue;
        }
        const char *q = c->m->objs[tab].qname, *rn = pgc_val(r, i, 2);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "%s\n", pgc_val(r, i, 4));
        switch (pgc_val(r, i, 5)[0]) {
        case 'D': pg_buf_addf(&b, "ALTER TABLE %s DISABLE RULE %s;\n", q, rn); break;
        case 'A': pg_buf_addf(&b, "ALTER TABLE %s ENABLE ALWAYS RULE %s;\n", q, rn); break;
        case 'R': pg_buf_addf(&b, "ALTER TABLE %s ENABLE REPLICA RULE %s;\n", q, rn); break;
        default: break;
        }
        char target[1200];
        snprintf(target, sizeof target, "%s ON %s", rn, q);
        pgc_comment_and_drop(&b, &d, "RULE", target, pgc_val(r, i, 6));
        char nm[600];
        snprintf(nm, sizeof nm, "%s %s", c->m->objs[tab].name, pgc_val(r, i, 1));
        long idx = pg_model_add(c->m, K_RULE, PG_REWRITE_OID, pgc_uval(r, i, 0), c->m->objs[tab].schema, nm, "RULE",
                                NULL);
        rc = pgc_finish_obj(c, idx, &b, d.s);
        if (!rc && pg_model_dep(c->m, idx, tab) < 0)
            rc = pgc_oom(c->err);
        pg_buf_free(&b);
        pg_buf_free(&d);
    }
    PQclear(r);
    if (rc)
        return rc;

    r = pgc_query(c, "policies",
              "SELECT p.oid, p.polname, quote_ident(p.polname), p.polrelid, p.polcmd, p.polpermissive, "
              "CASE WHEN p.polroles = '{0}' THEN 'PUBLIC' ELSE (SELECT string_agg(quote_ident(pg_get_userbyid(x.r)), "
              "', ' ORDER BY x.o) FROM unnest(p.polroles) WITH ORDINALITY x(r, o)) END, pg_get_expr(p.polqual, "
              "p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid), quote_literal(obj_description(p.oid, "
              "'pg_policy')) FROM pg_policy p ORDER BY p.oid");
    if (!r)
        return c->err->rc;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        long tab = pgc_rel_obj(c, pgc_uval(r, i, 3));
        if (tab < 0)
            continue;
        const char *q = c->m->objs[tab].qname, *pn = pgc_val(r, i, 2);
        const char *cmd;
        switch (pgc_val(r, i, 4)[0]) {
        case 'r': cmd = "SELECT"; break;
        case 'a': cmd = "INSERT"; break;
        case 'w': cmd = "UPDATE"; break;
        case 'd': cmd = "DELETE"; break;
        default: cmd = "ALL"; break;
        }
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE POLICY %s ON %s AS %s FOR %s TO %s", pn, q,
                    pgc_bval(r, i, 5) ? "PERMISSIVE" : "RESTRICTIVE", cmd, pgc_val(r, i, 6));
        if (pgc_val(r, i, 7))
            pg_buf_addf(&b, " USING (%s)", pgc_val(r, i, 7));
        if (pgc_val(r, i, 8))
            pg_buf_addf(&b, " WITH CHECK (%s)", pgc_val(r, i, 8));
        pg_buf_add(&b, ";\n");
        char target[1200];
        snprintf(target, sizeof target, "%s ON %s", pn, q);
        pgc_comment_and_drop(&b, &d, "POLICY", target, pgc_val(r, i, 9));
        char nm[600];
        snprintf(nm, sizeof nm, "%s %s", c->m->objs[tab].name, pgc_val(r, i, 1));
        long idx = pg_model_add(c->m, K_POLICY, PG_POLICY_OID, pgc_uval(r, i, 0), c->m->objs[tab].schema, nm, "POLICY",
                                NULL);
        rc = pgc_finish_obj(c, idx, &b, d.s);
        if (!rc && pg_model_dep(c->m, idx, tab) < 0)
            rc = pgc_oom(c->err);
        pg_buf_free(&b);
        pg_buf_free(&d);
    }
    PQclear(r);
    if (rc)
        return rc;

    r = pgc_query(c, "extended statistics",
              "SELECT s.oid, s.stxname, quote_ident(n.nspname) || '.' || quote_ident(s.stxname), s.stxrelid, "
              "pg_get_statisticsobjdef(s.oid), quote_ident(pg_get_userbyid(s.stxowner)), s.stxstattarget, "
              "quote_literal(obj_description(s.oid, 'pg_statistic_ext')), n.nspname FROM pg_statistic_ext s JOIN "
              "pg_namespace n ON n.oid = s.stxnamespace WHERE " NSP_OK("n") " ORDER BY s.oid");
    if (!r)
        return c->err->rc;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        long tab = pgc_rel_obj(c, pgc_uval(r, i, 3));
        if (tab < 0 || pgc_schema_excluded(c, pgc_val(r, i, 8)))
            continue;
        const char *q = pgc_val(r, i, 2);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "%s;\nALTER STATISTICS %s OWNER TO %s;\n", pgc_val(r, i, 4), q, pgc_val(r, i, 5));
        if (pgc_ival(r, i, 6, -1) >= 0)
            pg_buf_addf(&b, "ALTER STATISTICS %s SET STATISTICS %s;\n", q, pgc_val(r, i, 6));
        pgc_comment_and_drop(&b, &d, "STATISTICS", q, pgc_val(r, i, 7));
        long idx = pg_model_add(c->m, K_STATISTICS, PG_STATISTIC_EXT_OID, pgc_uval(r, i, 0), pgc_val(r, i, 8), pgc_val(r, i, 1),
                                "STATISTICS", pgc_val(r, i, 5));
        rc = pgc_finish_obj(c, idx, &b, d.s);
        if (!rc && pg_model_dep(c->m, idx, tab) < 0)
            rc = pgc_oom(c->err);
        pg_buf_free(&b);
        pg_buf_free(&d);
    }
    PQclear(r);
    return rc;
}

/* ---- dependencies ---- */

static sk_rc read_depends(cat *c)
{
    PGresult *r = pgc_query(c, "dependencies",
                        "SELECT d.classid, d.objid, d.refclassid, d.refobjid FROM pg_depend d WHERE d.deptype NOT IN "
                        "('p', 'e') AND d.objid >= 16384 AND d.refobjid >= 16384");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        long from = pg_model_find(c->m, pgc_uval(r, i, 0), pgc_uval(r, i, 1));
        long to = pg_model_find(c->m, pgc_uval(r, i, 2), pgc_uval(r, i, 3));
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

sk_rc pg_catalog_read(PGconn *conn, pg_model *m, int lock_timeout_ms, sk_err *err)
{
    cat c = { conn, m, err, { 0 } };
    pg_buf_init(&c.sql);
    sk_rc rc;
    /* relations first: their query is the transaction's first, and their locks come next */
    if ((rc = read_relations(&c, lock_timeout_ms)))
        goto out;
    if ((rc = read_schemas(&c)) || (rc = read_extensions(&c)) || (rc = read_types(&c)) ||
        (rc = read_functions(&c)) || (rc = read_indexes(&c)) || (rc = read_table_children(&c)) ||
        (rc = pgc_read_more(&c)) || (rc = read_depends(&c)) || (rc = pgc_fix_after_depends(&c)))
        goto out;
out:
    pg_buf_free(&c.sql);
    return rc;
}
