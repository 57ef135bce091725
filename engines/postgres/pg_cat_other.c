/*
 * pg_cat_other.c: schemas, extensions, text search, foreign data, large objects, publications,
 * subscriptions, default privileges, privileges on system objects and event triggers.
 */
#include "pg_cat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- schemas ---- */

enum { SC_OID, SC_NAME, SC_QNAME, SC_OWNER, SC_COMMENT, SC_ACLNULL, SC_GRANTS, SC_PUB_OWNER, SC_PUB_COMMENT,
       SC_PUB_ACL };

sk_rc pgc_read_schemas(cat *c)
{
    /* SC_PUB_*: for the public schema (made by initdb, never created or dropped by the dump):
     * whether its owner, comment and privileges differ from a fresh database's. Up to 14 the
     * bootstrap superuser owns it and PUBLIC may CREATE in it; from 15 on pg_database_owner owns
     * it (13 has no such role) and PUBLIC may only use it. */
    static const pgc_col cols[] = {
        [SC_OID] = { "n.oid" },
        [SC_NAME] = { "n.nspname" },
        [SC_QNAME] = { "quote_ident(n.nspname)" },
        [SC_OWNER] = { OWNER_SQL("n.nspowner") },
        [SC_COMMENT] = { COMMENT_SQL("n.oid", "pg_namespace") },
        [SC_ACLNULL] = { "n.nspacl IS NULL" },
        [SC_GRANTS] = { ACL_SQL("n.nspacl", "") },
        [SC_PUB_OWNER] = { "n.nspowner <> 'pg_database_owner'::regrole", PG15, "n.nspowner <> 10" },
        [SC_PUB_COMMENT] = { "obj_description(n.oid, 'pg_namespace') IS DISTINCT FROM 'standard public schema'" },
        [SC_PUB_ACL] = { "n.nspacl IS DISTINCT FROM "
                         "'{pg_database_owner=UC/pg_database_owner,=U/pg_database_owner}'::aclitem[]",
                         PG15, "n.nspacl IS DISTINCT FROM (SELECT format('{%1$s=UC/%1$s,=UC/%1$s}', "
                               "quote_ident(b.rolname)) FROM pg_roles b WHERE b.oid = 10)::aclitem[]" },
    };
    PGresult *r = PGC_RUN(c, "schemas", cols,
                          "FROM pg_namespace n WHERE (n.oid >= 16384 AND " NSP_OK("n") " AND "
                          NOT_EXT("pg_namespace", "n.oid") ") OR n.nspname = 'public' ORDER BY n.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *name = pgc_val(r, i, SC_NAME), *q = pgc_val(r, i, SC_QNAME), *owner = pgc_val(r, i, SC_OWNER);
        if (pgc_schema_excluded(c, name))
            continue;
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        char target[600];
        snprintf(target, sizeof target, "SCHEMA %s", q);
        if (pgc_uval(r, i, SC_OID) < 16384) { /* public */
            if (pgc_bval(r, i, SC_PUB_OWNER))
                pg_buf_addf(&b, "ALTER SCHEMA %s OWNER TO %s;\n", q, owner);
            if (pgc_bval(r, i, SC_PUB_COMMENT))
                pg_buf_addf(&b, "COMMENT ON SCHEMA %s IS %s;\n", q,
                            pgc_val(r, i, SC_COMMENT) ? pgc_val(r, i, SC_COMMENT) : "NULL");
            if (pgc_bval(r, i, SC_PUB_ACL))
                pgc_emit_acl(&b, target, c->m->server_version >= PG15 ? "pg_database_owner" : owner,
                             pgc_bval(r, i, SC_ACLNULL), pgc_val(r, i, SC_GRANTS), 1);
            if (b.len == 0) {
                pg_buf_free(&b);
                continue;
            }
        } else {
            pg_buf_addf(&b, "CREATE SCHEMA %s;\nALTER SCHEMA %s OWNER TO %s;\n", q, q, owner);
            pgc_emit_comment(&b, target, pgc_val(r, i, SC_COMMENT));
            pgc_emit_acl(&b, target, owner, pgc_bval(r, i, SC_ACLNULL), pgc_val(r, i, SC_GRANTS), 1);
            pg_buf_addf(&d, "DROP SCHEMA IF EXISTS %s;\n", q);
        }
        rc = pgc_add(c, &(pgc_new){ K_SCHEMA, PG_NAMESPACE_OID, pgc_uval(r, i, SC_OID), NULL, name, "SCHEMA", owner },
                     &b, &d, NULL);
    }
    PQclear(r);
    return rc;
}

/* ---- extensions ---- */

enum { EX_OID, EX_NAME, EX_QNAME, EX_SCHEMA, EX_QSCHEMA, EX_COMMENT };
enum { EM_CLASSID, EM_OBJID, EM_EXT };

sk_rc pgc_read_extensions(cat *c)
{
    static const pgc_col cols[] = {
        [EX_OID] = { "x.oid" },
        [EX_NAME] = { "x.extname" },
        [EX_QNAME] = { "quote_ident(x.extname)" },
        [EX_SCHEMA] = { "n.nspname" },
        [EX_QSCHEMA] = { "quote_ident(n.nspname)" },
        [EX_COMMENT] = { COMMENT_SQL("x.oid", "pg_extension") },
    };
    PGresult *r = PGC_RUN(c, "extensions", cols,
                          "FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace WHERE x.oid >= 16384 "
                          "ORDER BY x.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *q = pgc_val(r, i, EX_QNAME);
        if (pgc_schema_excluded(c, pgc_val(r, i, EX_SCHEMA)))
            continue;
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        char target[600];
        snprintf(target, sizeof target, "EXTENSION %s", q);
        pg_buf_addf(&b, "CREATE EXTENSION IF NOT EXISTS %s WITH SCHEMA %s;\n", q, pgc_val(r, i, EX_QSCHEMA));
        pgc_emit_comment(&b, target, pgc_val(r, i, EX_COMMENT));
        pg_buf_addf(&d, "DROP EXTENSION IF EXISTS %s;\n", q);
        rc = pgc_add(c, &(pgc_new){ K_EXTENSION, PG_EXTENSION_OID, pgc_uval(r, i, EX_OID), NULL, pgc_val(r, i, EX_NAME),
                                    "EXTENSION", NULL }, &b, &d, NULL);
    }
    PQclear(r);
    if (rc)
        return rc;
    /* Members of an extension are created by it: they are not dumped, and whatever depends on
     * them depends on the extension. Array types of member types count as members. */
    static const pgc_col mcols[] = {
        [EM_CLASSID] = { "d.classid" },
        [EM_OBJID] = { "d.objid" },
        [EM_EXT] = { "d.refobjid" },
    };
    r = PGC_RUN(c, "extension members", mcols,
                "FROM pg_depend d WHERE d.deptype = 'e' AND d.refclassid = 'pg_extension'::regclass UNION ALL "
                "SELECT 'pg_type'::regclass, t.typarray, d.refobjid FROM pg_depend d JOIN pg_type t ON t.oid = "
                "d.objid WHERE d.deptype = 'e' AND d.classid = 'pg_type'::regclass AND d.refclassid = "
                "'pg_extension'::regclass AND t.typarray <> 0");
    if (!r)
        return c->err->rc;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        long x = pg_model_find(c->m, PG_EXTENSION_OID, pgc_uval(r, i, EM_EXT));
        if (x >= 0)
            rc = pgc_alias(c, pgc_uval(r, i, EM_CLASSID), pgc_uval(r, i, EM_OBJID), x);
    }
    PQclear(r);
    return rc;
}

/* ---- text search dictionaries and configurations ---- */

enum { TD_OID, TD_SCHEMA, TD_NAME, TD_QNAME, TD_OWNER, TD_TEMPLATE, TD_INITOPT, TD_COMMENT };
enum { TC_OID, TC_SCHEMA, TC_NAME, TC_QNAME, TC_OWNER, TC_PARSER, TC_MAPS, TC_COMMENT };

sk_rc pgc_read_text_search(cat *c)
{
    static const pgc_col dcols[] = {
        [TD_OID] = { "d.oid" },
        [TD_SCHEMA] = { "n.nspname" },
        [TD_NAME] = { "d.dictname" },
        [TD_QNAME] = { QNAME_SQL("n.nspname", "d.dictname") },
        [TD_OWNER] = { OWNER_SQL("d.dictowner") },
        [TD_TEMPLATE] = { "(SELECT " QNAME_SQL("tn.nspname", "t.tmplname") " FROM pg_ts_template t JOIN pg_namespace "
                          "tn ON tn.oid = t.tmplnamespace WHERE t.oid = d.dicttemplate)" },
        [TD_INITOPT] = { "d.dictinitoption" },
        [TD_COMMENT] = { COMMENT_SQL("d.oid", "pg_ts_dict") },
    };
    PGresult *r = PGC_RUN(c, "text search dictionaries", dcols,
                          "FROM pg_ts_dict d JOIN pg_namespace n ON n.oid = d.dictnamespace WHERE d.oid >= 16384 AND "
                          NSP_OK("n") " AND " NOT_EXT("pg_ts_dict", "d.oid") " ORDER BY d.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        if (pgc_schema_excluded(c, pgc_val(r, i, TD_SCHEMA)))
            continue;
        const char *q = pgc_val(r, i, TD_QNAME), *owner = pgc_val(r, i, TD_OWNER);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE TEXT SEARCH DICTIONARY %s (\n    TEMPLATE = %s", q, pgc_val(r, i, TD_TEMPLATE));
        if (*pgc_sval(r, i, TD_INITOPT))
            pg_buf_addf(&b, ",\n    %s", pgc_val(r, i, TD_INITOPT));
        pg_buf_addf(&b, "\n);\nALTER TEXT SEARCH DICTIONARY %s OWNER TO %s;\n", q, owner);
        pgc_comment_and_drop(&b, &d, "TEXT SEARCH DICTIONARY", q, pgc_val(r, i, TD_COMMENT));
        rc = pgc_add(c, &(pgc_new){ K_TS, PG_TS_DICT_OID, pgc_uval(r, i, TD_OID), pgc_val(r, i, TD_SCHEMA),
                                    pgc_val(r, i, TD_NAME), "TEXT SEARCH DICTIONARY", owner }, &b, &d, NULL);
    }
    PQclear(r);
    if (rc)
        return rc;
    static const pgc_col ccols[] = {
        [TC_OID] = { "c.oid" },
        [TC_SCHEMA] = { "n.nspname" },
        [TC_NAME] = { "c.cfgname" },
        [TC_QNAME] = { QNAME_SQL("n.nspname", "c.cfgname") },
        [TC_OWNER] = { OWNER_SQL("c.cfgowner") },
        [TC_PARSER] = { "(SELECT " QNAME_SQL("pn.nspname", "p.prsname") " FROM pg_ts_parser p JOIN pg_namespace pn "
                        "ON pn.oid = p.prsnamespace WHERE p.oid = c.cfgparser)" },
        /* lines "TOKEN<TAB>DICT, DICT" */
        [TC_MAPS] = { "(SELECT string_agg(t.alias || E'\\t' || x.dicts, E'\\n' ORDER BY x.maptokentype) FROM (SELECT "
                      "m.maptokentype, string_agg(" QNAME_SQL("dn.nspname", "d.dictname") ", ', ' ORDER BY "
                      "m.mapseqno) AS dicts FROM pg_ts_config_map m JOIN pg_ts_dict d ON d.oid = m.mapdict JOIN "
                      "pg_namespace dn ON dn.oid = d.dictnamespace WHERE m.mapcfg = c.oid GROUP BY m.maptokentype) x "
                      "JOIN ts_token_type(c.cfgparser) t ON t.tokid = x.maptokentype)" },
        [TC_COMMENT] = { COMMENT_SQL("c.oid", "pg_ts_config") },
    };
    r = PGC_RUN(c, "text search configurations", ccols,
                "FROM pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace WHERE c.oid >= 16384 AND "
                NSP_OK("n") " AND " NOT_EXT("pg_ts_config", "c.oid") " ORDER BY c.oid");
    if (!r)
        return c->err->rc;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        if (pgc_schema_excluded(c, pgc_val(r, i, TC_SCHEMA)))
            continue;
        const char *q = pgc_val(r, i, TC_QNAME), *owner = pgc_val(r, i, TC_OWNER);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE TEXT SEARCH CONFIGURATION %s (\n    PARSER = %s\n);\n", q, pgc_val(r, i, TC_PARSER));
        for (const char *p = pgc_val(r, i, TC_MAPS); p && *p;) {
            size_t len = strcspn(p, "\n");
            const char *tab = memchr(p, '\t', len);
            if (tab)
                pg_buf_addf(&b, "ALTER TEXT SEARCH CONFIGURATION %s ADD MAPPING FOR %.*s WITH %.*s;\n", q,
                            (int)(tab - p), p, (int)(len - (size_t)(tab - p) - 1), tab + 1);
            p += len;
            if (*p)
                p++;
        }
        pg_buf_addf(&b, "ALTER TEXT SEARCH CONFIGURATION %s OWNER TO %s;\n", q, owner);
        pgc_comment_and_drop(&b, &d, "TEXT SEARCH CONFIGURATION", q, pgc_val(r, i, TC_COMMENT));
        rc = pgc_add(c, &(pgc_new){ K_TS, PG_TS_CONFIG_OID, pgc_uval(r, i, TC_OID), pgc_val(r, i, TC_SCHEMA),
                                    pgc_val(r, i, TC_NAME), "TEXT SEARCH CONFIGURATION", owner }, &b, &d, NULL);
    }
    PQclear(r);
    return rc;
}

/* ---- foreign data wrappers, servers and user mappings (foreign tables are relations) ---- */

enum { FW_OID, FW_NAME, FW_QNAME, FW_OWNER, FW_HANDLER, FW_VALIDATOR, FW_OPTIONS, FW_COMMENT, FW_ACLNULL,
       FW_GRANTS };
enum { FS_OID, FS_NAME, FS_QNAME, FS_OWNER, FS_FDW, FS_TYPE, FS_VERSION, FS_OPTIONS, FS_COMMENT, FS_ACLNULL,
       FS_GRANTS, FS_MAPPINGS };

sk_rc pgc_read_foreign(cat *c)
{
    static const pgc_col wcols[] = {
        [FW_OID] = { "w.oid" },
        [FW_NAME] = { "w.fdwname" },
        [FW_QNAME] = { "quote_ident(w.fdwname)" },
        [FW_OWNER] = { OWNER_SQL("w.fdwowner") },
        [FW_HANDLER] = { "CASE WHEN w.fdwhandler <> 0 THEN w.fdwhandler::regproc::text END" },
        [FW_VALIDATOR] = { "CASE WHEN w.fdwvalidator <> 0 THEN w.fdwvalidator::regproc::text END" },
        [FW_OPTIONS] = { OPTIONS_SQL("w.fdwoptions") },
        [FW_COMMENT] = { COMMENT_SQL("w.oid", "pg_foreign_data_wrapper") },
        [FW_ACLNULL] = { "w.fdwacl IS NULL" },
        [FW_GRANTS] = { ACL_SQL("w.fdwacl", "") },
    };
    PGresult *r = PGC_RUN(c, "foreign data wrappers", wcols,
                          "FROM pg_foreign_data_wrapper w WHERE w.oid >= 16384 AND "
                          NOT_EXT("pg_foreign_data_wrapper", "w.oid") " ORDER BY w.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *q = pgc_val(r, i, FW_QNAME), *owner = pgc_val(r, i, FW_OWNER);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE FOREIGN DATA WRAPPER %s", q);
        if (pgc_val(r, i, FW_HANDLER))
            pg_buf_addf(&b, " HANDLER %s", pgc_val(r, i, FW_HANDLER));
        if (pgc_val(r, i, FW_VALIDATOR))
            pg_buf_addf(&b, " VALIDATOR %s", pgc_val(r, i, FW_VALIDATOR));
        if (*pgc_sval(r, i, FW_OPTIONS))
            pg_buf_addf(&b, " OPTIONS (%s)", pgc_val(r, i, FW_OPTIONS));
        pg_buf_addf(&b, ";\nALTER FOREIGN DATA WRAPPER %s OWNER TO %s;\n", q, owner);
        char target[600];
        snprintf(target, sizeof target, "FOREIGN DATA WRAPPER %s", q);
        pgc_emit_comment(&b, target, pgc_val(r, i, FW_COMMENT));
        pgc_emit_acl(&b, target, owner, pgc_bval(r, i, FW_ACLNULL), pgc_val(r, i, FW_GRANTS), 1);
        pg_buf_addf(&d, "DROP FOREIGN DATA WRAPPER IF EXISTS %s;\n", q);
        rc = pgc_add(c, &(pgc_new){ K_FOREIGN, PG_FDW_OID, pgc_uval(r, i, FW_OID), NULL, pgc_val(r, i, FW_NAME),
                                    "FOREIGN DATA WRAPPER", owner }, &b, &d, NULL);
    }
    PQclear(r);
    if (rc)
        return rc;
    static const pgc_col scols[] = {
        [FS_OID] = { "s.oid" },
        [FS_NAME] = { "s.srvname" },
        [FS_QNAME] = { "quote_ident(s.srvname)" },
        [FS_OWNER] = { OWNER_SQL("s.srvowner") },
        [FS_FDW] = { "(SELECT quote_ident(w.fdwname) FROM pg_foreign_data_wrapper w WHERE w.oid = s.srvfdw)" },
        [FS_TYPE] = { "quote_literal(s.srvtype)" },
        [FS_VERSION] = { "quote_literal(s.srvversion)" },
        [FS_OPTIONS] = { OPTIONS_SQL("s.srvoptions") },
        [FS_COMMENT] = { COMMENT_SQL("s.oid", "pg_foreign_server") },
        [FS_ACLNULL] = { "s.srvacl IS NULL" },
        [FS_GRANTS] = { ACL_SQL("s.srvacl", "") },
        [FS_MAPPINGS] = { "(SELECT string_agg('CREATE USER MAPPING FOR ' || CASE WHEN u.umuser = 0 THEN 'PUBLIC' "
                          "ELSE quote_ident(u.usename) END || ' SERVER ' || quote_ident(s.srvname) || CASE WHEN "
                          "u.umoptions IS NOT NULL THEN ' OPTIONS (' || " OPTIONS_SQL("u.umoptions") " || ')' ELSE "
                          "'' END || E';\\n', '' ORDER BY u.usename) FROM pg_user_mappings u WHERE u.srvid = s.oid)" },
    };
    r = PGC_RUN(c, "foreign servers", scols,
                "FROM pg_foreign_server s WHERE s.oid >= 16384 AND " NOT_EXT("pg_foreign_server", "s.oid")
                " ORDER BY s.oid");
    if (!r)
        return c->err->rc;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *q = pgc_val(r, i, FS_QNAME), *owner = pgc_val(r, i, FS_OWNER);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE SERVER %s", q);
        if (pgc_val(r, i, FS_TYPE))
            pg_buf_addf(&b, " TYPE %s", pgc_val(r, i, FS_TYPE));
        if (pgc_val(r, i, FS_VERSION))
            pg_buf_addf(&b, " VERSION %s", pgc_val(r, i, FS_VERSION));
        pg_buf_addf(&b, " FOREIGN DATA WRAPPER %s", pgc_val(r, i, FS_FDW));
        if (*pgc_sval(r, i, FS_OPTIONS))
            pg_buf_addf(&b, " OPTIONS (%s)", pgc_val(r, i, FS_OPTIONS));
        pg_buf_addf(&b, ";\nALTER SERVER %s OWNER TO %s;\n", q, owner);
        if (pgc_val(r, i, FS_MAPPINGS))
            pg_buf_add(&b, pgc_val(r, i, FS_MAPPINGS));
        char target[600];
        snprintf(target, sizeof target, "SERVER %s", q);
        pgc_emit_comment(&b, target, pgc_val(r, i, FS_COMMENT));
        snprintf(target, sizeof target, "FOREIGN SERVER %s", q);
        pgc_emit_acl(&b, target, owner, pgc_bval(r, i, FS_ACLNULL), pgc_val(r, i, FS_GRANTS), 1);
        pg_buf_addf(&d, "DROP SERVER IF EXISTS %s CASCADE;\n", q);
        rc = pgc_add(c, &(pgc_new){ K_FOREIGN, PG_FOREIGN_SERVER_OID, pgc_uval(r, i, FS_OID), NULL,
                                    pgc_val(r, i, FS_NAME), "SERVER", owner }, &b, &d, NULL);
    }
    PQclear(r);
    return rc;
}

/* ---- large objects ---- */

enum { LO_OID, LO_OWNER, LO_ACLNULL, LO_GRANTS, LO_COMMENT };

sk_rc pgc_read_large_objects(cat *c)
{
    static const pgc_col cols[] = {
        [LO_OID] = { "m.oid" },
        [LO_OWNER] = { OWNER_SQL("m.lomowner") },
        [LO_ACLNULL] = { "m.lomacl IS NULL" },
        [LO_GRANTS] = { ACL_SQL("m.lomacl", "") },
        [LO_COMMENT] = { COMMENT_SQL("m.oid", "pg_largeobject") },
    };
    PGresult *r = PGC_RUN(c, "large objects", cols, "FROM pg_largeobject_metadata m ORDER BY m.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *oid = pgc_val(r, i, LO_OID), *owner = pgc_val(r, i, LO_OWNER);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "SELECT pg_catalog.lo_create('%s');\nALTER LARGE OBJECT %s OWNER TO %s;\n", oid, oid, owner);
        char target[64];
        snprintf(target, sizeof target, "LARGE OBJECT %s", oid);
        pgc_emit_comment(&b, target, pgc_val(r, i, LO_COMMENT));
        pgc_emit_acl(&b, target, owner, pgc_bval(r, i, LO_ACLNULL), pgc_val(r, i, LO_GRANTS), 1);
        pg_buf_addf(&d, "SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata WHERE oid = '%s';\n",
                    oid);
        long lo, data;
        rc = pgc_add(c, &(pgc_new){ K_LARGE_OBJECT, PG_LARGEOBJECT_OID, pgc_uval(r, i, LO_OID), NULL, oid,
                                    "LARGE OBJECT", owner }, &b, &d, &lo);
        if (!rc)
            rc = pgc_add(c, &(pgc_new){ K_LO_DATA, PG_PSEUDO_NONE, 0, NULL, oid, "LARGE OBJECT DATA", owner }, NULL,
                         NULL, &data);
        if (!rc) {
            c->m->objs[data].relid = pgc_uval(r, i, LO_OID);
            rc = pgc_dep(c, data, lo);
        }
    }
    PQclear(r);
    return rc;
}

/* ---- publications ---- */

enum { PB_OID, PB_NAME, PB_QNAME, PB_OWNER, PB_ALLTABLES, PB_PUBLISH, PB_VIAROOT, PB_COMMENT, PB_GENCOLS };
enum { PR_PUB, PR_REL, PR_WHERE, PR_COLUMNS };
enum { PN_PUB, PN_NSP, PN_QNAME, PN_NAME };

sk_rc pgc_read_publications(cat *c)
{
    static const pgc_col cols[] = {
        [PB_OID] = { "p.oid" },
        [PB_NAME] = { "p.pubname" },
        [PB_QNAME] = { "quote_ident(p.pubname)" },
        [PB_OWNER] = { OWNER_SQL("p.pubowner") },
        [PB_ALLTABLES] = { "p.puballtables" },
        [PB_PUBLISH] = { "concat_ws(', ', CASE WHEN p.pubinsert THEN 'insert' END, CASE WHEN p.pubupdate THEN "
                         "'update' END, CASE WHEN p.pubdelete THEN 'delete' END, CASE WHEN p.pubtruncate THEN "
                         "'truncate' END)" },
        [PB_VIAROOT] = { "p.pubviaroot" },
        [PB_COMMENT] = { COMMENT_SQL("p.oid", "pg_publication") },
        /* 18: whether stored generated columns are published ('s') or not ('n') */
        [PB_GENCOLS] = { "p.pubgencols", PG18, "'n'::\"char\"" },
    };
    /* row filters and column lists came with 15 */
    static const pgc_col rcols[] = {
        [PR_PUB] = { "pr.prpubid" },
        [PR_REL] = { "pr.prrelid" },
        [PR_WHERE] = { "pg_get_expr(pr.prqual, pr.prrelid)", PG15, "NULL::text" },
        [PR_COLUMNS] = { "(SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a "
                         "WHERE a.attrelid = pr.prrelid AND a.attnum = ANY (pr.prattrs))", PG15, "NULL::text" },
    };
    static const pgc_col ncols[] = {
        [PN_PUB] = { "pn.pnpubid" },
        [PN_NSP] = { "pn.pnnspid" },
        [PN_QNAME] = { "quote_ident(n.nspname)" },
        [PN_NAME] = { "n.nspname" },
    };
    int v15 = c->m->server_version >= PG15; /* TABLES IN SCHEMA came with 15 */
    PGresult *r = PGC_RUN(c, "publications", cols, "FROM pg_publication p ORDER BY p.oid");
    PGresult *rels = r ? PGC_RUN(c, "publication tables", rcols, "FROM pg_publication_rel pr ORDER BY pr.oid") : NULL;
    PGresult *nsps = rels && v15 ? PGC_RUN(c, "publication schemas", ncols,
                                           "FROM pg_publication_namespace pn JOIN pg_namespace n ON n.oid = "
                                           "pn.pnnspid ORDER BY pn.oid")
                                 : NULL;
    sk_rc rc = SK_OK;
    if (!r || !rels || (v15 && !nsps)) {
        rc = c->err->rc;
        goto out;
    }
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        unsigned oid = pgc_uval(r, i, PB_OID);
        const char *q = pgc_val(r, i, PB_QNAME);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE PUBLICATION %s%s WITH (publish = '%s', publish_via_partition_root = %s%s);\n", q,
                    pgc_bval(r, i, PB_ALLTABLES) ? " FOR ALL TABLES" : "", pgc_val(r, i, PB_PUBLISH),
                    pgc_bval(r, i, PB_VIAROOT) ? "true" : "false",
                    pgc_sval(r, i, PB_GENCOLS)[0] == 's' ? ", publish_generated_columns = stored" : "");
        pg_buf_addf(&b, "ALTER PUBLICATION %s OWNER TO %s;\n", q, pgc_val(r, i, PB_OWNER));
        long deps[256];
        int nd = 0;
        for (int k = 0; k < PQntuples(rels); k++) {
            if (pgc_uval(rels, k, PR_PUB) != oid)
                continue;
            long t = pgc_rel_obj(c, pgc_uval(rels, k, PR_REL));
            if (t < 0)
                continue;
            pg_buf_addf(&b, "ALTER PUBLICATION %s ADD TABLE ONLY %s", q, c->m->objs[t].qname);
            if (pgc_val(rels, k, PR_COLUMNS))
                pg_buf_addf(&b, " (%s)", pgc_val(rels, k, PR_COLUMNS));
            if (pgc_val(rels, k, PR_WHERE))
                pg_buf_addf(&b, " WHERE (%s)", pgc_val(rels, k, PR_WHERE));
            pg_buf_add(&b, ";\n");
            if (nd < 256)
                deps[nd++] = t;
        }
        for (int k = 0; nsps && k < PQntuples(nsps); k++) {
            if (pgc_uval(nsps, k, PN_PUB) != oid || pgc_schema_excluded(c, pgc_val(nsps, k, PN_NAME)))
                continue;
            pg_buf_addf(&b, "ALTER PUBLICATION %s ADD TABLES IN SCHEMA %s;\n", q, pgc_val(nsps, k, PN_QNAME));
            long s = pg_model_find(c->m, PG_NAMESPACE_OID, pgc_uval(nsps, k, PN_NSP));
            if (s >= 0 && nd < 256)
                deps[nd++] = s;
        }
        pgc_comment_and_drop(&b, &d, "PUBLICATION", q, pgc_val(r, i, PB_COMMENT));
        long idx;
        rc = pgc_add(c, &(pgc_new){ K_PUBLICATION, PG_PUBLICATION_OID, oid, NULL, pgc_val(r, i, PB_NAME), "PUBLICATION",
                                    pgc_val(r, i, PB_OWNER) }, &b, &d, &idx);
        for (int k = 0; k < nd && !rc; k++)
            rc = pgc_dep(c, idx, deps[k]);
    }
out:
    PQclear(r);
    PQclear(rels);
    PQclear(nsps);
    return rc;
}

/* ---- subscriptions ---- */

enum { SU_OID, SU_NAME, SU_QNAME, SU_OWNER, SU_CONNINFO, SU_PUBS, SU_SLOT, SU_BINARY, SU_STREAM, SU_TWOPHASE,
       SU_DISABLEONERR, SU_SYNCCOMMIT, SU_COMMENT, SU_LITNAME, SU_ORIGIN, SU_PASSWORDREQ, SU_RUNASOWNER,
       SU_FAILOVER };

/* Subscriptions, created with connect = false as pg_dump does (no slot is created, nothing is
 * copied; the subscription starts disabled). Their connection strings are readable by superusers
 * only; others get none dumped. The drop detaches the slot first, so the remote one is left alone. */
sk_rc pgc_read_subscriptions(cat *c)
{
    PGresult *su = pgc_query(c, "superuser check", "SELECT rolsuper FROM pg_roles WHERE rolname = current_user");
    if (!su)
        return c->err->rc;
    int superuser = PQntuples(su) == 1 && pgc_bval(su, 0, 0);
    PQclear(su);
    if (!superuser)
        return SK_OK;
    /* Each option is written when it differs from its default (streaming always, from 14 on), so
     * the script restores into the major it came from and any newer one. streaming is a char from
     * 16 on ('f', 't', 'p'). */
    static const pgc_col cols[] = {
        [SU_OID] = { "s.oid" },
        [SU_NAME] = { "s.subname" },
        [SU_QNAME] = { "quote_ident(s.subname)" },
        [SU_OWNER] = { OWNER_SQL("s.subowner") },
        [SU_CONNINFO] = { "quote_literal(s.subconninfo)" },
        [SU_PUBS] = { "array_to_string(ARRAY(SELECT quote_ident(x) FROM unnest(s.subpublications) x), ', ')" },
        [SU_SLOT] = { "quote_literal(s.subslotname)" },
        [SU_BINARY] = { "s.subbinary", PG14, "false" },
        [SU_STREAM] = { "s.substream::text", PG14, "'f'" },
        [SU_TWOPHASE] = { "s.subtwophasestate <> 'd'", PG15, "false" },
        [SU_DISABLEONERR] = { "s.subdisableonerr", PG15, "false" },
        [SU_SYNCCOMMIT] = { "s.subsynccommit" },
        [SU_COMMENT] = { COMMENT_SQL("s.oid", "pg_subscription") },
        [SU_LITNAME] = { "quote_literal(s.subname)" },
        [SU_ORIGIN] = { "s.suborigin", PG16, "'any'" },
        [SU_PASSWORDREQ] = { "s.subpasswordrequired", PG16, "true" },
        [SU_RUNASOWNER] = { "s.subrunasowner", PG16, "false" },
        [SU_FAILOVER] = { "s.subfailover", PG17, "false" },
    };
    PGresult *r = PGC_RUN(c, "subscriptions", cols,
                          "FROM pg_subscription s WHERE s.subdbid = (SELECT d.oid FROM pg_database d WHERE d.datname = "
                          "current_database()) ORDER BY s.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *q = pgc_val(r, i, SU_QNAME), *stream = pgc_sval(r, i, SU_STREAM);
        pg_buf b;
        pg_buf_init(&b);
        pg_buf_addf(&b, "CREATE SUBSCRIPTION %s CONNECTION %s PUBLICATION %s WITH (connect = false, slot_name = %s", q,
                    pgc_val(r, i, SU_CONNINFO), pgc_val(r, i, SU_PUBS),
                    pgc_val(r, i, SU_SLOT) ? pgc_val(r, i, SU_SLOT) : "NONE");
        if (pgc_bval(r, i, SU_BINARY))
            pg_buf_add(&b, ", binary = true");
        /* said even when off: 18 made parallel the default, and a dump restores into newer majors */
        if (stream[0] == 't')
            pg_buf_add(&b, ", streaming = on");
        else if (stream[0] == 'p')
            pg_buf_add(&b, ", streaming = parallel");
        else if (c->m->server_version >= PG14)
            pg_buf_add(&b, ", streaming = off");
        if (pgc_bval(r, i, SU_TWOPHASE))
            pg_buf_add(&b, ", two_phase = on");
        if (pgc_bval(r, i, SU_DISABLEONERR))
            pg_buf_add(&b, ", disable_on_error = true");
        if (strcmp(pgc_val(r, i, SU_SYNCCOMMIT), "off") != 0)
            pg_buf_addf(&b, ", synchronous_commit = '%s'", pgc_val(r, i, SU_SYNCCOMMIT));
        if (strcmp(pgc_sval(r, i, SU_ORIGIN), "any") != 0)
            pg_buf_addf(&b, ", origin = %s", pgc_val(r, i, SU_ORIGIN));
        if (!pgc_bval(r, i, SU_PASSWORDREQ))
            pg_buf_add(&b, ", password_required = false");
        if (pgc_bval(r, i, SU_RUNASOWNER))
            pg_buf_add(&b, ", run_as_owner = true");
        if (pgc_bval(r, i, SU_FAILOVER))
            pg_buf_add(&b, ", failover = true");
        pg_buf_addf(&b, ");\nALTER SUBSCRIPTION %s OWNER TO %s;\n", q, pgc_val(r, i, SU_OWNER));
        char target[600];
        snprintf(target, sizeof target, "SUBSCRIPTION %s", q);
        pgc_emit_comment(&b, target, pgc_val(r, i, SU_COMMENT));
        /* drop an existing one without touching its remote slot: detach the slot first */
        pg_buf d;
        pg_buf_init(&d);
        char tag[32];
        for (int n = 0;; n++) {
            snprintf(tag, sizeof tag, "$sk%d$", n);
            if (!strstr(q, tag) && !strstr(pgc_val(r, i, SU_LITNAME), tag))
                break;
        }
        pg_buf_addf(&d, "DO %s BEGIN IF EXISTS (SELECT 1 FROM pg_catalog.pg_subscription WHERE subname = %s AND subdbid = "
                        "(SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())) THEN "
                        "ALTER SUBSCRIPTION %s DISABLE; ALTER SUBSCRIPTION %s SET (slot_name = NONE); DROP SUBSCRIPTION "
                        "%s; END IF; END %s;\n", tag, pgc_val(r, i, SU_LITNAME), q, q, q, tag);
        rc = pgc_add(c, &(pgc_new){ K_PUBLICATION, PG_PSEUDO_NONE, 0, NULL, pgc_val(r, i, SU_NAME), "SUBSCRIPTION",
                                    pgc_val(r, i, SU_OWNER) }, &b, &d, NULL);
    }
    PQclear(r);
    return rc;
}

/* ---- default privileges ---- */

enum { DA_OID, DA_ROLE, DA_SCHEMA, DA_QSCHEMA, DA_OBJTYPE, DA_NSP, DA_GRANTS };

sk_rc pgc_read_default_acls(cat *c)
{
    static const pgc_col cols[] = {
        [DA_OID] = { "d.oid" },
        [DA_ROLE] = { OWNER_SQL("d.defaclrole") },
        [DA_SCHEMA] = { "n.nspname" },
        [DA_QSCHEMA] = { "quote_ident(n.nspname)" },
        [DA_OBJTYPE] = { "d.defaclobjtype" },
        [DA_NSP] = { "d.defaclnamespace" },
        [DA_GRANTS] = { ACL_SQL("d.defaclacl", "") },
    };
    PGresult *r = PGC_RUN(c, "default privileges", cols,
                          "FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace ORDER BY d.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *role = pgc_val(r, i, DA_ROLE), *nsp = pgc_val(r, i, DA_QSCHEMA);
        if (nsp && pgc_schema_excluded(c, pgc_val(r, i, DA_SCHEMA)))
            continue;
        const char *what;
        switch (pgc_val(r, i, DA_OBJTYPE)[0]) {
        case 'r': what = "TABLES"; break;
        case 'S': what = "SEQUENCES"; break;
        case 'f': what = "FUNCTIONS"; break;
        case 'T': what = "TYPES"; break;
        case 'L': what = "LARGE OBJECTS"; break; /* 18 */
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
        for (const char *p = pgc_val(r, i, DA_GRANTS); p && *p;) {
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
        rc = pgc_add(c, &(pgc_new){ K_DEFAULT_ACL, PG_DEFAULT_ACL_OID, pgc_uval(r, i, DA_OID), pgc_val(r, i, DA_SCHEMA),
                                    nm, "DEFAULT PRIVILEGES", NULL }, &b, NULL, &idx);
        long s = nsp ? pg_model_find(c->m, PG_NAMESPACE_OID, pgc_uval(r, i, DA_NSP)) : -1;
        if (!rc && s >= 0)
            rc = pgc_dep(c, idx, s);
    }
    PQclear(r);
    return rc;
}

/* ---- privileges changed on system objects ---- */

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

enum { SA_TARGET, SA_STMTS };

sk_rc pgc_read_system_acls(cat *c)
{
    static const pgc_col cols[] = {
        [SA_TARGET] = { "x.target" },
        [SA_STMTS] = { "x.stmts" },
    };
    static const char from[] =
        "FROM ("
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
    PGresult *r = PGC_RUN(c, "privileges of system objects", cols, from);
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        pg_buf b;
        pg_buf_init(&b);
        pg_buf_addf(&b, "%s\n", pgc_val(r, i, SA_STMTS));
        rc = pgc_add(c, &(pgc_new){ K_DEFAULT_ACL, PG_PSEUDO_NONE, 0, "pg_catalog", pgc_val(r, i, SA_TARGET), "ACL",
                                    NULL }, &b, NULL, NULL);
    }
    PQclear(r);
    return rc;
}

/* ---- event triggers ---- */

enum { ET_OID, ET_NAME, ET_QNAME, ET_EVENT, ET_OWNER, ET_FUNC, ET_ENABLED, ET_TAGS, ET_COMMENT };

sk_rc pgc_read_event_triggers(cat *c)
{
    static const pgc_col cols[] = {
        [ET_OID] = { "e.oid" },
        [ET_NAME] = { "e.evtname" },
        [ET_QNAME] = { "quote_ident(e.evtname)" },
        [ET_EVENT] = { "e.evtevent" },
        [ET_OWNER] = { OWNER_SQL("e.evtowner") },
        [ET_FUNC] = { "(SELECT " QNAME_SQL("pn.nspname", "p.proname") " FROM pg_proc p JOIN pg_namespace pn ON pn.oid "
                      "= p.pronamespace WHERE p.oid = e.evtfoid)" },
        [ET_ENABLED] = { "e.evtenabled" },
        [ET_TAGS] = { "array_to_string(ARRAY(SELECT quote_literal(x) FROM unnest(e.evttags) x), ', ')" },
        [ET_COMMENT] = { COMMENT_SQL("e.oid", "pg_event_trigger") },
    };
    PGresult *r = PGC_RUN(c, "event triggers", cols,
                          "FROM pg_event_trigger e WHERE e.oid >= 16384 AND " NOT_EXT("pg_event_trigger", "e.oid")
                          " ORDER BY e.oid");
    if (!r)
        return c->err->rc;
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *q = pgc_val(r, i, ET_QNAME), *owner = pgc_val(r, i, ET_OWNER);
        pg_buf b, d;
        pg_buf_init(&b);
        pg_buf_init(&d);
        pg_buf_addf(&b, "CREATE EVENT TRIGGER %s ON %s", q, pgc_val(r, i, ET_EVENT));
        if (*pgc_sval(r, i, ET_TAGS))
            pg_buf_addf(&b, "\n    WHEN TAG IN (%s)", pgc_val(r, i, ET_TAGS));
        pg_buf_addf(&b, "\n    EXECUTE FUNCTION %s();\nALTER EVENT TRIGGER %s OWNER TO %s;\n", pgc_val(r, i, ET_FUNC),
                    q, owner);
        switch (pgc_val(r, i, ET_ENABLED)[0]) {
        case 'D': pg_buf_addf(&b, "ALTER EVENT TRIGGER %s DISABLE;\n", q); break;
        case 'R': pg_buf_addf(&b, "ALTER EVENT TRIGGER %s ENABLE REPLICA;\n", q); break;
        case 'A': pg_buf_addf(&b, "ALTER EVENT TRIGGER %s ENABLE ALWAYS;\n", q); break;
        default: break;
        }
        pgc_comment_and_drop(&b, &d, "EVENT TRIGGER", q, pgc_val(r, i, ET_COMMENT));
        rc = pgc_add(c, &(pgc_new){ K_EVENT_TRIGGER, PG_EVENT_TRIGGER_OID, pgc_uval(r, i, ET_OID), NULL,
                                    pgc_val(r, i, ET_NAME), "EVENT TRIGGER", owner }, &b, &d, NULL);
    }
    PQclear(r);
    return rc;
}
