/*
 * pg_cat_relations.c: tables (plain, partitioned, typed, foreign, inheritance children), views,
 * materialized views and sequences, with their columns, column defaults, identity columns and
 * constraints; their data, sequence values and matview refreshes as objects of their own. Takes
 * the dump's ACCESS SHARE locks as soon as it knows which tables are dumped.
 */
#include "pg_cat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 18: a table's own valid NOT NULL that an inheritance child has, under another name, from a
 * parent whose one is NOT VALID (regression constr_child3 inherits from constr_parent2, whose
 * NOT VALID NOT NULL named it, and constr_parent3). The child takes the name of the first parent
 * that has one when it gets it; the NOT VALID one is added after the data, so this one is too,
 * after it (NN_DEFER_AFTER), once the children it reaches have theirs validated. `co` is the
 * alias of the constraint row; the children it concerns are `ch`, the other parents' ones `pv`. */
#define NN_DEFER_JOIN(co) \
    "FROM pg_inherits i JOIN pg_attribute pa ON pa.attrelid = " co ".conrelid AND pa.attnum = " co ".conkey[1] " \
    "JOIN pg_class cc ON cc.oid = i.inhrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace " \
    "JOIN pg_attribute ca ON ca.attrelid = i.inhrelid AND ca.attname = pa.attname JOIN pg_constraint ch ON " \
    "ch.conrelid = i.inhrelid AND ch.contype = 'n' AND ch.conkey = ARRAY[ca.attnum] AND NOT ch.conislocal AND " \
    "ch.conname <> " co ".conname JOIN pg_inherits i2 ON i2.inhrelid = i.inhrelid AND i2.inhparent <> " co ".conrelid " \
    "JOIN pg_attribute va ON va.attrelid = i2.inhparent AND va.attname = pa.attname JOIN pg_constraint pv ON " \
    "pv.conrelid = i2.inhparent AND pv.contype = 'n' AND NOT pv.convalidated AND pv.conkey = ARRAY[va.attnum] AND " \
    "pv.conname = ch.conname WHERE i.inhparent = " co ".conrelid"
#define NN_DEFER_SQL(co) \
    "(" co ".contype = 'n' AND " co ".convalidated AND " co ".conislocal AND EXISTS (SELECT 1 " NN_DEFER_JOIN(co) "))"

/* ---- the three queries: relations, columns, constraints ---- */

enum { R_OID, R_SCHEMA, R_NAME, R_QNAME, R_KIND, R_PERSIST, R_OWNER, R_ACLNULL, R_GRANTS, R_COMMENT, R_OPTS,
       R_CHECKOPT, R_ISPART, R_RLS, R_FORCERLS, R_REPLIDENT, R_PARTKEY, R_VIEWDEF, R_PARTBOUND, R_PARENTS,
       R_PARTPARENT, R_POPULATED, R_AM, R_SEQTYPE, R_SEQSTART, R_SEQINC, R_SEQMIN, R_SEQMAX, R_SEQCACHE,
       R_SEQCYCLE, R_SEQOWNER, R_SEQCOL, R_SEQDEPTYPE, R_RELTYPE, R_RELTYPEARR, R_OFTYPE, R_TOASTOPTS, R_FTSERVER,
       R_FTOPTIONS, R_REINHERIT, R_PARENT_OIDS, R_LATEATTACH };

static const pgc_col rel_cols[] = {
    [R_OID] = { "c.oid" },
    [R_SCHEMA] = { "n.nspname" },
    [R_NAME] = { "c.relname" },
    [R_QNAME] = { QNAME_SQL("n.nspname", "c.relname") },
    [R_KIND] = { "c.relkind" },
    [R_PERSIST] = { "c.relpersistence" },
    [R_OWNER] = { OWNER_SQL("c.relowner") },
    [R_ACLNULL] = { "c.relacl IS NULL" },
    [R_GRANTS] = { ACL_SQL("c.relacl", "") },
    [R_COMMENT] = { COMMENT_SQL("c.oid", "pg_class") },
    [R_OPTS] = { "array_to_string(ARRAY(SELECT o FROM unnest(c.reloptions) o WHERE o !~ '^check_option='), ', ')" },
    [R_CHECKOPT] = { "(SELECT upper(substr(o, 14)) FROM unnest(c.reloptions) o WHERE o ~ '^check_option=')" },
    [R_ISPART] = { "c.relispartition" },
    [R_RLS] = { "c.relrowsecurity" },
    [R_FORCERLS] = { "c.relforcerowsecurity" },
    [R_REPLIDENT] = { "c.relreplident" },
    [R_PARTKEY] = { "CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END" },
    [R_VIEWDEF] = { "CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END" },
    [R_PARTBOUND] = { "CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END" },
    [R_PARENTS] = { "(SELECT string_agg(quote_ident(pn.nspname) || '.' || quote_ident(p.relname), ', ' ORDER BY "
                    "i.inhseqno) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON "
                    "pn.oid = p.relnamespace WHERE i.inhrelid = c.oid)" },
    [R_PARTPARENT] = { "(SELECT i.inhparent FROM pg_inherits i WHERE i.inhrelid = c.oid AND c.relispartition)" },
    /* 18: a partition whose parent has a NOT VALID NOT NULL: attached after that constraint (added
     * after the data), since ATTACH PARTITION is what marks the partition's own NOT NULL (under its
     * own name, valid or not) inherited and not local; attached before it, the partition's stays
     * local, or the parent's recursion makes one under the parent's name. No such rows before 18. */
    [R_LATEATTACH] = { "c.relispartition AND EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_constraint pc ON pc.conrelid "
                       "= i.inhparent AND pc.contype = 'n' AND NOT pc.convalidated WHERE i.inhrelid = c.oid)" },
    [R_POPULATED] = { "c.relispopulated" },
    [R_AM] = { "(SELECT a.amname FROM pg_am a WHERE a.oid = c.relam AND a.amname <> 'heap')" },
    [R_SEQTYPE] = { "format_type(s.seqtypid, NULL)" },
    [R_SEQSTART] = { "s.seqstart" },
    [R_SEQINC] = { "s.seqincrement" },
    [R_SEQMIN] = { "s.seqmin" },
    [R_SEQMAX] = { "s.seqmax" },
    [R_SEQCACHE] = { "s.seqcache" },
    [R_SEQCYCLE] = { "s.seqcycle" },
    [R_SEQOWNER] = { "so.refobjid" },
    [R_SEQCOL] = { "so.attname" },
    [R_SEQDEPTYPE] = { "so.deptype" },
    [R_RELTYPE] = { "c.reltype" },
    [R_RELTYPEARR] = { "(SELECT t.typarray FROM pg_type t WHERE t.oid = c.reltype)" },
    [R_OFTYPE] = { "CASE WHEN c.reloftype <> 0 THEN format_type(c.reloftype, NULL) END" },
    [R_TOASTOPTS] = { "(SELECT array_to_string(ARRAY(SELECT 'toast.' || x FROM unnest(tc.reloptions) x), ', ') FROM "
                      "pg_class tc WHERE tc.oid = c.reltoastrelid)" },
    [R_FTSERVER] = { "(SELECT quote_ident(fs.srvname) FROM pg_foreign_table ft JOIN pg_foreign_server fs ON fs.oid = "
                     "ft.ftserver WHERE ft.ftrelid = c.oid)" },
    [R_FTOPTIONS] = { "(SELECT " OPTIONS_SQL("ft.ftoptions") " FROM pg_foreign_table ft WHERE ft.ftrelid = c.oid)" },
    /* an inheritance child whose columns are all its own but ordered unlike INHERITS would order
     * them: created alone, then ALTER TABLE ... INHERIT (keeps the order; possible when no parent
     * has an inheritable CHECK, which INHERIT would require locally) */
    [R_REINHERIT] = { "c.relkind = 'r' AND NOT c.relispartition AND EXISTS (SELECT 1 FROM pg_inherits i WHERE "
                      "i.inhrelid = c.oid) AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND "
                      "a.attnum > 0 AND NOT a.attisdropped AND NOT a.attislocal) AND NOT EXISTS (SELECT 1 FROM "
                      "pg_inherits i JOIN pg_constraint pc ON pc.conrelid = i.inhparent AND pc.contype = 'c' AND NOT "
                      "pc.connoinherit WHERE i.inhrelid = c.oid) AND (SELECT array_agg(a.attname ORDER BY a.attnum) "
                      "FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) IS "
                      "DISTINCT FROM (SELECT array_agg(e.name ORDER BY e.o1, e.o2) FROM (SELECT DISTINCT ON "
                      "(pa.attname) pa.attname AS name, i.inhseqno AS o1, pa.attnum AS o2 FROM pg_inherits i JOIN "
                      "pg_attribute pa ON pa.attrelid = i.inhparent AND pa.attnum > 0 AND NOT pa.attisdropped WHERE "
                      "i.inhrelid = c.oid ORDER BY pa.attname, i.inhseqno, pa.attnum) e) || (SELECT "
                      "coalesce(array_agg(a.attname ORDER BY a.attnum), '{}') FROM pg_attribute a WHERE a.attrelid = "
                      "c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attinhcount = 0)" },
    [R_PARENT_OIDS] = { "(SELECT string_agg(i.inhparent::text, ' ' ORDER BY i.inhseqno) FROM pg_inherits i WHERE "
                        "i.inhrelid = c.oid)" },
};

#define REL_FROM \
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_sequence s ON s.seqrelid = c.oid " \
    "LEFT JOIN LATERAL (SELECT d.refobjid, quote_ident(a.attname) AS attname, d.deptype FROM pg_depend d JOIN " \
    "pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid WHERE d.classid = 'pg_class'::regclass " \
    "AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1) so ON " \
    "c.relkind = 'S' WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND " NSP_OK("n") " AND " \
    NOT_EXT("pg_class", "c.oid") " ORDER BY c.oid"

enum { C_RELID, C_NUM, C_NAME, C_TYPE, C_NOTNULL, C_LOCAL, C_IDENTITY, C_GENERATED, C_DEFEXPR, C_ADOID, C_COLL,
       C_STATTARGET, C_STORAGE, C_TYPSTORAGE, C_OPTS, C_COMMENT, C_ACLNULL, C_GRANTS, C_COMPRESSION, C_PARENTGEN,
       C_FDWOPTS, C_NN_OID, C_NN_NAME, C_NN_DEFAULTNAME, C_NN_VALID, C_NN_NOINHERIT, C_NN_LOCAL, C_NN_COMMENT,
       C_NN_BYPARENT, C_NN_DEFER, C_NN_LATE };

static const pgc_col col_cols[] = {
    [C_RELID] = { "a.attrelid" },
    [C_NUM] = { "a.attnum" },
    [C_NAME] = { "quote_ident(a.attname)" },
    [C_TYPE] = { "format_type(a.atttypid, a.atttypmod)" },
    [C_NOTNULL] = { "a.attnotnull" },
    [C_LOCAL] = { "a.attislocal" },
    [C_IDENTITY] = { "a.attidentity" },
    [C_GENERATED] = { "a.attgenerated" },
    [C_DEFEXPR] = { "pg_get_expr(ad.adbin, ad.adrelid)" },
    [C_ADOID] = { "ad.oid" },
    [C_COLL] = { "CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN (SELECT "
                 "quote_ident(cn.nspname) || '.' || quote_ident(co.collname) FROM pg_collation co JOIN pg_namespace "
                 "cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END" },
    [C_STATTARGET] = { "a.attstattarget" },
    [C_STORAGE] = { "a.attstorage" },
    [C_TYPSTORAGE] = { "t.typstorage" },
    /* pg_attver= is the server's own bookkeeping (set by the server since the 2026 point releases,
     * e.g. 15.20; pg_dump leaves it out too): restoring it would carry the source's value along */
    [C_OPTS] = { "array_to_string(ARRAY(SELECT o FROM unnest(a.attoptions) o WHERE left(o, 10) <> 'pg_attver='), ', ')" },
    [C_COMMENT] = { "quote_literal(col_description(a.attrelid, a.attnum))" },
    [C_ACLNULL] = { "a.attacl IS NULL" },
    [C_GRANTS] = { ACL_SQL("a.attacl", " || ' (' || quote_ident(a.attname) || ')'") },
    [C_COMPRESSION] = { "a.attcompression", PG14, "''::\"char\"" }, /* 14 */
    /* a parent's column generated by the same expression (from 16 on a child may have its own) */
    [C_PARENTGEN] = { "EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_attribute pa ON pa.attrelid = i.inhparent AND "
                      "pa.attname = a.attname JOIN pg_attrdef pd ON pd.adrelid = pa.attrelid AND pd.adnum = pa.attnum "
                      "WHERE i.inhrelid = a.attrelid AND pa.attgenerated <> '' AND pg_get_expr(pd.adbin, pd.adrelid) = "
                      "pg_get_expr(ad.adbin, ad.adrelid))" },
    [C_FDWOPTS] = { OPTIONS_SQL("a.attfdwoptions") },
    /* 18: a column's NOT NULL is a constraint (contype 'n') with a name, NOT VALID, NO INHERIT and
     * local or inherited; NULL before 18 (no such rows for table columns) */
    [C_NN_OID] = { "nn.oid", PG18, "NULL::oid" },
    [C_NN_NAME] = { "quote_ident(nn.conname)", PG18, "NULL::text" },
    [C_NN_DEFAULTNAME] = { "nn.conname = c.relname || '_' || a.attname || '_not_null'", PG18, "NULL::bool" },
    [C_NN_VALID] = { "nn.convalidated", PG18, "NULL::bool" },
    [C_NN_NOINHERIT] = { "nn.connoinherit", PG18, "NULL::bool" },
    [C_NN_LOCAL] = { "nn.conislocal", PG18, "NULL::bool" },
    [C_NN_COMMENT] = { COMMENT_SQL("nn.oid", "pg_constraint"), PG18, "NULL::text" },
    /* 18: validated but only inherited from parents whose ones are NOT VALID: INHERITS does not
     * bring it; the parent's constraint, added after the data, recurses to this table under its
     * name and the table's one is then validated (with its comment) there, see N_NN_CHILDREN */
    [C_NN_BYPARENT] = { "nn.convalidated AND NOT nn.conislocal AND NOT c.relispartition AND EXISTS (SELECT 1 FROM "
                        "pg_inherits i JOIN pg_constraint pc ON pc.conrelid = i.inhparent AND pc.contype = 'n' AND "
                        "NOT pc.convalidated JOIN pg_attribute pa ON pa.attrelid = pc.conrelid AND pa.attnum = "
                        "pc.conkey[1] WHERE i.inhrelid = c.oid AND pa.attname = a.attname) AND NOT EXISTS (SELECT 1 "
                        "FROM pg_inherits i JOIN pg_constraint pc ON pc.conrelid = i.inhparent AND pc.contype = 'n' "
                        "AND pc.convalidated JOIN pg_attribute pa ON pa.attrelid = pc.conrelid AND pa.attnum = "
                        "pc.conkey[1] WHERE i.inhrelid = c.oid AND pa.attname = a.attname)", PG18, "NULL::bool" },
    /* 18: added after the data (NN_DEFER_SQL), not in CREATE TABLE */
    [C_NN_DEFER] = { NN_DEFER_SQL("nn"), PG18, "NULL::bool" },
    /* 18: a child's NOT NULL that comes with such a deferred one: commented there */
    [C_NN_LATE] = { "NOT nn.conislocal AND EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_constraint pc ON pc.conrelid = "
                    "i.inhparent WHERE i.inhrelid = c.oid AND " NN_DEFER_SQL("pc") ")", PG18, "NULL::bool" },
};

enum { N_OID, N_NAME, N_QNAME, N_TYPE, N_RELID, N_INDID, N_LOCAL, N_VALID, N_PARENT, N_DEF, N_COMMENT, N_FREL,
       N_SPLIT, N_NN_CHILDREN, N_NN_DEFER_PRE, N_NN_DEFER_POST, N_NN_DEFER_AFTER };

static const pgc_col con_cols[] = {
    [N_OID] = { "co.oid" },
    [N_NAME] = { "co.conname" },
    [N_QNAME] = { "quote_ident(co.conname)" },
    [N_TYPE] = { "co.contype" },
    [N_RELID] = { "co.conrelid" },
    [N_INDID] = { "co.conindid" },
    [N_LOCAL] = { "co.conislocal" },
    [N_VALID] = { "co.convalidated" },
    [N_PARENT] = { "co.conparentid" },
    [N_DEF] = { "pg_get_constraintdef(co.oid)" },
    [N_COMMENT] = { COMMENT_SQL("co.oid", "pg_constraint") },
    [N_FREL] = { "co.confrelid" },
    /* a CHECK calling a function that takes or returns the table's own row type */
    [N_SPLIT] = { "co.contype = 'c' AND EXISTS (SELECT 1 FROM pg_depend d JOIN pg_depend d2 ON d2.classid = "
                  "'pg_proc'::regclass AND d2.objid = d.refobjid AND d2.refclassid = 'pg_type'::regclass AND "
                  "d2.refobjid = c.reltype WHERE d.classid = 'pg_constraint'::regclass AND d.objid = co.oid AND "
                  "d.refclassid = 'pg_proc'::regclass)" },
    /* 18: for a NOT VALID NOT NULL, the children's validated ones it reaches (C_NN_BYPARENT):
     * validated again, under their names, and commented once it has recursed to them */
    [N_NN_CHILDREN] = { "CASE WHEN co.contype = 'n' AND NOT co.convalidated THEN (SELECT string_agg(format("
                        "'ALTER TABLE ONLY %I.%I VALIDATE CONSTRAINT %I;', cn.nspname, cc.relname, ch.conname) || "
                        "coalesce(format(E'\\nCOMMENT ON CONSTRAINT %I ON %I.%I IS %L;', ch.conname, cn.nspname, "
                        "cc.relname, obj_description(ch.oid, 'pg_constraint')), ''), E'\\n' ORDER BY cc.oid) FROM "
                        "pg_inherits i JOIN pg_class cc ON cc.oid = i.inhrelid AND NOT cc.relispartition JOIN "
                        "pg_namespace cn ON cn.oid = cc.relnamespace JOIN pg_attribute pa ON pa.attrelid = "
                        "co.conrelid AND pa.attnum = co.conkey[1] JOIN pg_attribute ca ON ca.attrelid = cc.oid AND "
                        "ca.attname = pa.attname JOIN pg_constraint ch ON ch.conrelid = cc.oid AND ch.contype = 'n' "
                        "AND ch.conkey = ARRAY[ca.attnum] AND ch.convalidated AND NOT ch.conislocal WHERE "
                        "i.inhparent = co.conrelid AND NOT EXISTS (SELECT 1 FROM pg_inherits i2 JOIN pg_constraint pv ON "
                        "pv.conrelid = i2.inhparent AND pv.contype = 'n' AND pv.convalidated JOIN pg_attribute pva ON "
                        "pva.attrelid = pv.conrelid AND pva.attnum = pv.conkey[1] WHERE i2.inhrelid = cc.oid AND "
                        "pva.attname = pa.attname)) END", PG18, "NULL::text" },
    /* 18: a deferred NOT NULL (NN_DEFER_SQL): the children's ones validated before it is added,
     * their comments after, and the other parents' NOT VALID ones it comes after (oids) */
    [N_NN_DEFER_PRE] = { "CASE WHEN " NN_DEFER_SQL("co") " THEN (SELECT string_agg(DISTINCT format('ALTER TABLE ONLY "
                         "%I.%I VALIDATE CONSTRAINT %I;', cn.nspname, cc.relname, ch.conname), E'\\n') " NN_DEFER_JOIN("co")
                         " AND ch.convalidated) END", PG18, "NULL::text" },
    [N_NN_DEFER_POST] = { "CASE WHEN " NN_DEFER_SQL("co") " THEN (SELECT string_agg(DISTINCT format('COMMENT ON "
                          "CONSTRAINT %I ON %I.%I IS %L;', ch.conname, cn.nspname, cc.relname, obj_description(ch.oid, "
                          "'pg_constraint')), E'\\n') " NN_DEFER_JOIN("co") " AND obj_description(ch.oid, "
                          "'pg_constraint') IS NOT NULL) END", PG18, "NULL::text" },
    [N_NN_DEFER_AFTER] = { "CASE WHEN " NN_DEFER_SQL("co") " THEN (SELECT string_agg(DISTINCT pv.oid::text, ' ') "
                           NN_DEFER_JOIN("co") ") END", PG18, "NULL::text" },
};

/* The three results, read together while building the relations' objects. */
typedef struct rels {
    cat *c;
    PGresult *r, *cols, *cons;
} rels;

/* An inline CHECK (in CREATE TABLE): local (or, on a partition, inherited too: a partition is
 * created alone and ATTACH PARTITION requires the parent's CHECKs on it, then marks them inherited,
 * as pg_dump does) and validated, and not calling a function that takes or returns the table's own
 * row type (that function needs the table first: the CHECK is then added after the data, as
 * pg_dump splits such loops). */
static int check_inline(const PGresult *cons, int k, int ispart)
{
    return pgc_val(cons, k, N_TYPE)[0] == 'c' && (pgc_bval(cons, k, N_LOCAL) || ispart) && pgc_bval(cons, k, N_VALID) &&
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

/* First row of relation relid in a result ordered by relation (columns, constraints), or -1;
 * the rows of one relation follow it while `col` holds relid. */
#define FOR_ROWS_OF(c, res, pseudo, relcol, relid, k) \
    for (long k##_first = pg_model_find((c)->m, (pseudo), (relid)), k = k##_first; \
         k##_first >= 0 && k < PQntuples(res) && pgc_uval((res), (int)k, (relcol)) == (relid); k++)

/* A column's NOT NULL in CREATE TABLE. From 18 on it is a constraint: said with its name when that
 * is not the default one, NO INHERIT when so; not said when only inherited (the parent's comes
 * with INHERITS) or NOT VALID (added after the data, add_constraint). */
static void inline_not_null(pg_buf *b, const PGresult *cols, int k, int declared_here)
{
    if (!pgc_val(cols, k, C_NN_NAME)) { /* before 18 */
        pg_buf_add(b, " NOT NULL");
        return;
    }
    if (!pgc_bval(cols, k, C_NN_VALID) || (!pgc_bval(cols, k, C_NN_LOCAL) && !declared_here) ||
        pgc_bval(cols, k, C_NN_DEFER))
        return;
    if (!pgc_bval(cols, k, C_NN_DEFAULTNAME))
        pg_buf_addf(b, " CONSTRAINT %s", pgc_val(cols, k, C_NN_NAME));
    pg_buf_add(b, pgc_bval(cols, k, C_NN_NOINHERIT) ? " NOT NULL NO INHERIT" : " NOT NULL");
}

/* Per-column settings that CREATE TABLE cannot say: inherited NOT NULL, statistics target,
 * storage, compression, attribute options. */
static void column_options(const rels *x, pg_buf *b, unsigned relid, const char *q, int ispart, const char *alter)
{
    const PGresult *cols = x->cols;
    FOR_ROWS_OF(x->c, cols, PGC_IDX_COLS, C_RELID, relid, kk) {
        int k = (int)kk;
        const char *cn = pgc_val(cols, k, C_NAME);
        /* an inherited column with a NOT NULL of its own (from 18: in CREATE TABLE, inherited_not_null) */
        int nn18 = pgc_val(cols, k, C_NN_NAME) != NULL;
        if (!ispart && !nn18 && !pgc_bval(cols, k, C_LOCAL) && pgc_bval(cols, k, C_NOTNULL))
            pg_buf_addf(b, "%s %s ALTER COLUMN %s SET NOT NULL;\n", alter, q, cn);
        /* 17: an inherited generated column given an expression of its own (SET EXPRESSION) */
        if (!ispart && !pgc_bval(cols, k, C_LOCAL) && pgc_val(cols, k, C_GENERATED)[0] != '\0' &&
            !pgc_bval(cols, k, C_PARENTGEN))
            pg_buf_addf(b, "%s %s ALTER COLUMN %s SET EXPRESSION AS (%s);\n", alter, q, cn, pgc_val(cols, k, C_DEFEXPR));
        if (pgc_ival(cols, k, C_STATTARGET, -1) >= 0)
            pg_buf_addf(b, "%s %s ALTER COLUMN %s SET STATISTICS %s;\n", alter, q, cn, pgc_val(cols, k, C_STATTARGET));
        if (pgc_val(cols, k, C_STORAGE)[0] != pgc_val(cols, k, C_TYPSTORAGE)[0])
            pg_buf_addf(b, "%s %s ALTER COLUMN %s SET STORAGE %s;\n", alter, q, cn,
                        storage_word(pgc_val(cols, k, C_STORAGE)[0]));
        char comp = pgc_sval(cols, k, C_COMPRESSION)[0];
        if (comp == 'p' || comp == 'l')
            pg_buf_addf(b, "%s %s ALTER COLUMN %s SET COMPRESSION %s;\n", alter, q, cn, comp == 'p' ? "pglz" : "lz4");
        if (*pgc_sval(cols, k, C_OPTS))
            pg_buf_addf(b, "%s %s ALTER COLUMN %s SET (%s);\n", alter, q, cn, pgc_val(cols, k, C_OPTS));
    }
}

/* CREATE TABLE (or FOREIGN TABLE) with its columns and inline CHECKs, then what CREATE TABLE
 * cannot say. */
static void table_body(const rels *x, pg_buf *b, int i, long idx)
{
    cat *c = x->c;
    const PGresult *r = x->r, *cols = x->cols, *cons = x->cons;
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
    FOR_ROWS_OF(c, cols, PGC_IDX_COLS, C_RELID, relid, kk) {
        int k = (int)kk;
        if (oftype) { /* a typed table's columns come from its type: only their options */
            if (pgc_bval(cols, k, C_NOTNULL) && (!pgc_val(cols, k, C_NN_NAME) || pgc_bval(cols, k, C_NN_VALID))) {
                pg_buf_addf(b, "%s\n    %s WITH OPTIONS", first ? "" : ",", pgc_val(cols, k, C_NAME));
                inline_not_null(b, cols, k, 1);
                first = 0;
            }
            continue;
        }
        if (!ispart && !reinherit && !pgc_bval(cols, k, C_LOCAL))
            continue;
        pg_buf_addf(b, "%s\n    %s %s", first ? "" : ",", pgc_val(cols, k, C_NAME), pgc_val(cols, k, C_TYPE));
        first = 0;
        if (*pgc_sval(cols, k, C_FDWOPTS))
            pg_buf_addf(b, " OPTIONS (%s)", pgc_val(cols, k, C_FDWOPTS));
        if (pgc_val(cols, k, C_COLL))
            pg_buf_addf(b, " COLLATE %s", pgc_val(cols, k, C_COLL));
        /* an inheritance child takes a generated parent column's expression from the parent;
         * 18 added virtual ones (computed when read) */
        char gen = pgc_val(cols, k, C_GENERATED)[0];
        if ((gen == 's' || gen == 'v') && (ispart || reinherit || !pgc_bval(cols, k, C_PARENTGEN)))
            pg_buf_addf(b, " GENERATED ALWAYS AS (%s) %s", pgc_val(cols, k, C_DEFEXPR), gen == 's' ? "STORED" : "VIRTUAL");
        if (pgc_bval(cols, k, C_NOTNULL))
            inline_not_null(b, cols, k, ispart || reinherit);
    }
    FOR_ROWS_OF(c, cols, PGC_IDX_COLS, C_RELID, relid, kk) {
        int k = (int)kk;
        /* 18: an inherited column's NOT NULL of its own (local, valid), named in CREATE TABLE:
         * it merges there with the one INHERITS brings under this name (added later, it would
         * clash with that one when the names differ) */
        if (oftype || ispart || reinherit || pgc_bval(cols, k, C_LOCAL) || !pgc_val(cols, k, C_NN_NAME) ||
            !pgc_bval(cols, k, C_NN_LOCAL) || !pgc_bval(cols, k, C_NN_VALID) || pgc_bval(cols, k, C_NN_DEFER))
            continue;
        pg_buf_addf(b, "%s\n    CONSTRAINT %s NOT NULL %s%s", first ? "" : ",", pgc_val(cols, k, C_NN_NAME),
                    pgc_val(cols, k, C_NAME), pgc_bval(cols, k, C_NN_NOINHERIT) ? " NO INHERIT" : "");
        first = 0;
    }
    FOR_ROWS_OF(c, cons, PGC_IDX_CONS, N_RELID, relid, kk) {
        int k = (int)kk;
        if (!check_inline(cons, k, ispart))
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
        if (*pgc_sval(r, i, R_FTOPTIONS))
            pg_buf_addf(b, "\nOPTIONS (%s)", pgc_val(r, i, R_FTOPTIONS));
    }
    if (pgc_val(r, i, R_AM))
        pg_buf_addf(b, "\nUSING %s", pgc_val(r, i, R_AM));
    const char *opts = pgc_sval(r, i, R_OPTS), *topts = pgc_sval(r, i, R_TOASTOPTS);
    if (*opts || *topts)
        pg_buf_addf(b, "\nWITH (%s%s%s)", opts, *opts && *topts ? ", " : "", topts);
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
    column_options(x, b, relid, q, ispart, kind == 'f' ? "ALTER FOREIGN TABLE ONLY" : "ALTER TABLE ONLY");
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
static void rel_trailer(const rels *x, pg_buf *b, int i, const char *kw)
{
    const PGresult *r = x->r, *cols = x->cols, *cons = x->cons;
    const char *q = pgc_val(r, i, R_QNAME), *owner = pgc_val(r, i, R_OWNER);
    unsigned relid = pgc_uval(r, i, R_OID);
    char target[700];
    snprintf(target, sizeof target, "%s %s", kw, q);
    pg_buf_addf(b, "ALTER %s OWNER TO %s;\n", target, owner);
    pgc_emit_comment(b, target, pgc_val(r, i, R_COMMENT));
    FOR_ROWS_OF(x->c, cols, PGC_IDX_COLS, C_RELID, relid, kk) {
        if (pgc_val(cols, (int)kk, C_COMMENT))
            pg_buf_addf(b, "COMMENT ON COLUMN %s.%s IS %s;\n", q, pgc_val(cols, (int)kk, C_NAME),
                        pgc_val(cols, (int)kk, C_COMMENT));
        if (pgc_val(cols, (int)kk, C_NN_COMMENT) && pgc_bval(cols, (int)kk, C_NN_VALID) &&
            !pgc_bval(cols, (int)kk, C_NN_BYPARENT) && !pgc_bval(cols, (int)kk, C_NN_DEFER) &&
            !pgc_bval(cols, (int)kk, C_NN_LATE))
            pg_buf_addf(b, "COMMENT ON CONSTRAINT %s ON %s IS %s;\n", pgc_val(cols, (int)kk, C_NN_NAME), q,
                        pgc_val(cols, (int)kk, C_NN_COMMENT));
    }
    FOR_ROWS_OF(x->c, cons, PGC_IDX_CONS, N_RELID, relid, kk) {
        if (check_inline(cons, (int)kk, pgc_bval(r, i, R_ISPART)) && pgc_val(cons, (int)kk, N_COMMENT))
            pg_buf_addf(b, "COMMENT ON CONSTRAINT %s ON %s IS %s;\n", pgc_val(cons, (int)kk, N_QNAME), q,
                        pgc_val(cons, (int)kk, N_COMMENT));
    }
    char gtarget[700];
    snprintf(gtarget, sizeof gtarget, "%s %s", pgc_val(r, i, R_KIND)[0] == 'S' ? "SEQUENCE" : "TABLE", q);
    pgc_emit_acl(b, gtarget, owner, pgc_bval(r, i, R_ACLNULL), pgc_val(r, i, R_GRANTS), 1);
    FOR_ROWS_OF(x->c, cols, PGC_IDX_COLS, C_RELID, relid, kk)
        pgc_emit_acl(b, gtarget, owner, pgc_bval(cols, (int)kk, C_ACLNULL), pgc_val(cols, (int)kk, C_GRANTS), 0);
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

static int is_identity_seq(const PGresult *r, int i)
{
    return pgc_val(r, i, R_KIND)[0] == 'S' && pgc_sval(r, i, R_SEQDEPTYPE)[0] == 'i';
}

/* ---- locks ---- */

static sk_rc lock_tables(cat *c, const PGresult *r)
{
    char set[80];
    snprintf(set, sizeof set, "SET LOCAL lock_timeout = %d", c->lock_timeout_ms);
    PGresult *x = pgc_query(c, "lock_timeout", set);
    if (!x)
        return c->err->rc;
    PQclear(x);
    pg_buf b;
    pg_buf_init(&b);
    sk_rc rc = SK_OK;
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

/* ---- 1. register the relations (so locks, columns and constraints know what is dumped) ---- */

static sk_rc register_relations(cat *c, const PGresult *r)
{
    sk_rc rc = SK_OK;
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        const char *schema = pgc_val(r, i, R_SCHEMA), *name = pgc_val(r, i, R_NAME);
        char k = pgc_val(r, i, R_KIND)[0];
        if (pgc_schema_excluded(c, schema) || pg_name_excluded(c->m->exclude_tables, schema, name))
            continue;
        if (c->m->include_tables && !table_included(c, r, i))
            continue;
        if (is_identity_seq(r, i))
            continue; /* an identity column's sequence belongs to its table */
        const char *label = k == 'S'   ? "SEQUENCE"
                            : k == 'v' ? "VIEW"
                            : k == 'm' ? "MATERIALIZED VIEW"
                            : k == 'f' ? "FOREIGN TABLE"
                                       : "TABLE";
        long idx;
        rc = pgc_add(c, &(pgc_new){ K_RELATION, PG_CLASS_OID, pgc_uval(r, i, R_OID), schema, name, label,
                                    pgc_val(r, i, R_OWNER) }, NULL, NULL, &idx);
        if (!rc && !(c->m->objs[idx].qname = strdup(pgc_val(r, i, R_QNAME))))
            rc = pgc_oom(c->err);
        if (rc)
            break;
        c->m->objs[idx].relid = pgc_uval(r, i, R_OID);
        c->m->objs[idx].movable = (k == 'v' || k == 'm');
        rc = pgc_alias(c, PG_TYPE_OID, pgc_uval(r, i, R_RELTYPE), idx);
        if (!rc)
            rc = pgc_alias(c, PG_TYPE_OID, pgc_uval(r, i, R_RELTYPEARR), idx);
    }
    return rc;
}

/* ---- 2. definitions ---- */

static void view_query(pg_buf *b, const char *vd)
{
    size_t vl = strlen(vd);
    while (vl > 0 && (vd[vl - 1] == ';' || vd[vl - 1] == '\n' || vd[vl - 1] == ' '))
        vl--;
    pg_buf_add(b, " AS\n");
    pg_buf_addn(b, vd, vl);
}

/* Column defaults as objects of their own (so serial sequences and functions can come in
 * between); the COPY column list (generated columns left out) into cl. */
static sk_rc column_defaults(const rels *x, int i, long idx, pg_buf *cl, int *ncols)
{
    cat *c = x->c;
    const PGresult *r = x->r, *cols = x->cols;
    unsigned relid = pgc_uval(r, i, R_OID);
    char k = pgc_val(r, i, R_KIND)[0];
    const char *q = pgc_val(r, i, R_QNAME), *schema = pgc_val(r, i, R_SCHEMA), *name = pgc_val(r, i, R_NAME);
    sk_rc rc = SK_OK;
    FOR_ROWS_OF(c, cols, PGC_IDX_COLS, C_RELID, relid, jj) {
        int j = (int)jj;
        if (rc)
            break;
        int generated = pgc_val(cols, j, C_GENERATED)[0] != '\0';
        if (!generated) {
            pg_buf_addf(cl, "%s%s", *ncols ? ", " : "", pgc_val(cols, j, C_NAME));
            (*ncols)++;
        }
        if (!pgc_val(cols, j, C_ADOID))
            continue;
        if (generated) {
            rc = pgc_alias(c, PG_ATTRDEF_OID, pgc_uval(cols, j, C_ADOID), idx);
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
        long di;
        rc = pgc_add(c, &(pgc_new){ K_DEFAULT, PG_ATTRDEF_OID, pgc_uval(cols, j, C_ADOID), schema, dn, "DEFAULT",
                                    pgc_val(r, i, R_OWNER) }, &db, &dd, &di);
        if (!rc)
            rc = pgc_dep(c, di, idx);
    }
    return rc;
}

/* The objects that follow a relation: its data, its sequence value, its refresh, its attachment
 * to its partitioned parent. */
static sk_rc relation_followers(const rels *x, int i, long idx, const pg_buf *cl, int ncols)
{
    cat *c = x->c;
    const PGresult *r = x->r;
    char k = pgc_val(r, i, R_KIND)[0];
    const char *q = pgc_val(r, i, R_QNAME), *schema = pgc_val(r, i, R_SCHEMA), *name = pgc_val(r, i, R_NAME);
    sk_rc rc = SK_OK;
    long f;
    if (k == 'r' && !pg_name_excluded(c->m->exclude_data, schema, name)) {
        rc = pgc_add(c, &(pgc_new){ K_TABLE_DATA, PG_PSEUDO_NONE, 0, schema, name, "TABLE DATA",
                                    pgc_val(r, i, R_OWNER) }, NULL, NULL, &f);
        if (!rc && (!(c->m->objs[f].qname = strdup(q)) ||
                    !(c->m->objs[f].columns = ncols ? (cl->s ? strdup(cl->s) : NULL) : strdup(""))))
            rc = pgc_oom(c->err);
        if (!rc) {
            c->m->objs[f].table_obj = idx;
            c->m->objs[f].relid = pgc_uval(r, i, R_OID);
            rc = pgc_dep(c, f, idx);
        }
    }
    if (!rc && k == 'S') {
        rc = pgc_add(c, &(pgc_new){ K_SEQ_SET, PG_PSEUDO_NONE, 0, schema, name, "SEQUENCE SET", NULL }, NULL, NULL, &f);
        if (!rc && !(c->m->objs[f].qname = strdup(q)))
            rc = pgc_oom(c->err);
        if (!rc) {
            c->m->objs[f].table_obj = idx;
            rc = pgc_dep(c, f, idx);
        }
    }
    if (!rc && k == 'm' && pgc_bval(r, i, R_POPULATED)) {
        pg_buf rb;
        pg_buf_init(&rb);
        pg_buf_addf(&rb, "REFRESH MATERIALIZED VIEW %s;\n", q);
        rc = pgc_add(c, &(pgc_new){ K_REFRESH, PG_PSEUDO_NONE, 0, schema, name, "MATERIALIZED VIEW DATA", NULL }, &rb,
                     NULL, &f);
        if (!rc) {
            c->m->objs[f].table_obj = idx;
            rc = pgc_dep(c, f, idx);
        }
    }
    long parent = pgc_bval(r, i, R_ISPART) ? pgc_rel_obj(c, pgc_uval(r, i, R_PARTPARENT)) : -1;
    if (!rc && parent >= 0) {
        pg_buf ab;
        pg_buf_init(&ab);
        pg_buf_addf(&ab, "ALTER TABLE ONLY %s ATTACH PARTITION %s %s;\n", c->m->objs[parent].qname, q,
                    pgc_val(r, i, R_PARTBOUND));
        rc = pgc_add(c, &(pgc_new){ K_ATTACH, PG_PSEUDO_NONE, 0, schema, name, "TABLE ATTACH", NULL }, &ab, NULL, &f);
        if (!rc)
            rc = pgc_dep(c, f, idx);
        if (!rc)
            rc = pgc_dep(c, f, parent);
        if (!rc)
            rc = pgc_alias(c, PGC_IDX_ATTACH, pgc_uval(r, i, R_OID), f);
        if (!rc && pgc_bval(r, i, R_LATEATTACH))
            c->m->objs[f].section = SEC_POST; /* its dependencies: late_attach_deps */
    }
    return rc;
}

static sk_rc define_relation(const rels *x, int i)
{
    cat *c = x->c;
    const PGresult *r = x->r;
    unsigned relid = pgc_uval(r, i, R_OID);
    char k = pgc_val(r, i, R_KIND)[0];
    const char *q = pgc_val(r, i, R_QNAME);
    long idx = pgc_rel_obj(c, relid);
    if (idx < 0 || is_identity_seq(r, i)) /* identities: after all tables, below */
        return SK_OK;
    sk_rc rc = SK_OK;
    pg_buf b, d;
    pg_buf_init(&b);
    pg_buf_init(&d);
    if (k == 'r' || k == 'p' || k == 'f') {
        table_body(x, &b, i, idx);
        rel_trailer(x, &b, i, k == 'f' ? "FOREIGN TABLE" : "TABLE");
        pg_buf_addf(&d, "DROP %sTABLE IF EXISTS %s;\n", k == 'f' ? "FOREIGN " : "", q);
    } else if (k == 'v') {
        pg_buf_addf(&b, "CREATE VIEW %s", q);
        if (*pgc_sval(r, i, R_OPTS))
            pg_buf_addf(&b, " WITH (%s)", pgc_val(r, i, R_OPTS));
        view_query(&b, pgc_val(r, i, R_VIEWDEF));
        if (pgc_val(r, i, R_CHECKOPT))
            pg_buf_addf(&b, "\n  WITH %s CHECK OPTION", pgc_val(r, i, R_CHECKOPT));
        pg_buf_add(&b, ";\n");
        rel_trailer(x, &b, i, "VIEW");
        pg_buf_addf(&d, "DROP VIEW IF EXISTS %s;\n", q);
    } else if (k == 'm') {
        pg_buf_addf(&b, "CREATE MATERIALIZED VIEW %s", q);
        if (pgc_val(r, i, R_AM))
            pg_buf_addf(&b, " USING %s", pgc_val(r, i, R_AM));
        if (*pgc_sval(r, i, R_OPTS))
            pg_buf_addf(&b, " WITH (%s)", pgc_val(r, i, R_OPTS));
        view_query(&b, pgc_val(r, i, R_VIEWDEF));
        pg_buf_add(&b, "\n  WITH NO DATA;\n");
        column_options(x, &b, relid, q, 0, "ALTER TABLE ONLY");
        rel_trailer(x, &b, i, "MATERIALIZED VIEW");
        pg_buf_addf(&d, "DROP MATERIALIZED VIEW IF EXISTS %s;\n", q);
    } else { /* sequence */
        pg_buf_addf(&b, "CREATE %sSEQUENCE %s", pgc_val(r, i, R_PERSIST)[0] == 'u' ? "UNLOGGED " : "", q);
        seq_options(&b, r, i, 1);
        pg_buf_add(&b, ";\n");
        rel_trailer(x, &b, i, "SEQUENCE");
        long t = pgc_val(r, i, R_SEQOWNER) ? pgc_rel_obj(c, pgc_uval(r, i, R_SEQOWNER)) : -1;
        if (t >= 0) {
            pg_buf_addf(&b, "ALTER SEQUENCE %s OWNED BY %s.%s;\n", q, c->m->objs[t].qname, pgc_val(r, i, R_SEQCOL));
            rc = pgc_dep(c, idx, t);
        }
        pg_buf_addf(&d, "DROP SEQUENCE IF EXISTS %s;\n", q);
    }
    if (!rc)
        rc = pgc_set_create(c, idx, &b, &d);
    pg_buf_free(&b);
    pg_buf_free(&d);
    pg_buf cl;
    pg_buf_init(&cl);
    int ncols = 0;
    if (!rc)
        rc = column_defaults(x, i, idx, &cl, &ncols);
    if (!rc)
        rc = relation_followers(x, i, idx, &cl, ncols);
    pg_buf_free(&cl);
    return rc;
}

/* ALTER TABLE ... ADD GENERATED ... AS IDENTITY, appended to the table; its sequence's value is
 * set after the data, and the sequence's own oid names the table (defaults using nextval on it). */
static sk_rc add_identity(const rels *x, int i)
{
    cat *c = x->c;
    const PGresult *r = x->r, *cols = x->cols;
    unsigned owner = pgc_uval(r, i, R_SEQOWNER);
    long t = pgc_rel_obj(c, owner);
    if (t < 0)
        return SK_OK;
    const char *q = pgc_val(r, i, R_QNAME), *how = "BY DEFAULT";
    FOR_ROWS_OF(c, cols, PGC_IDX_COLS, C_RELID, owner, jj) {
        if (strcmp(pgc_val(cols, (int)jj, C_NAME), pgc_val(r, i, R_SEQCOL)) == 0 &&
            pgc_val(cols, (int)jj, C_IDENTITY)[0] == 'a')
            how = "ALWAYS";
    }
    int trow = rel_row(r, owner);
    /* 17: a partitioned table's identity reaches its partitions (no ONLY) */
    int parted = trow >= 0 && pgc_val(r, trow, R_KIND)[0] == 'p';
    pg_buf b;
    pg_buf_init(&b);
    pg_buf_addf(&b, "ALTER TABLE %s%s ALTER COLUMN %s ADD GENERATED %s AS IDENTITY (\n    SEQUENCE NAME %s",
                parted ? "" : "ONLY ", c->m->objs[t].qname, pgc_val(r, i, R_SEQCOL), how, q);
    char tp = trow >= 0 ? pgc_val(r, trow, R_PERSIST)[0] : 'p', sp = pgc_val(r, i, R_PERSIST)[0];
    if (tp != sp) /* the sequence's persistence differs from its table's */
        pg_buf_add(&b, sp == 'u' ? "\n    UNLOGGED" : "\n    LOGGED");
    seq_options(&b, r, i, 0);
    pg_buf_add(&b, "\n);\n");
    sk_rc rc = pgc_add_text(c, t, &b);
    pg_buf_free(&b);
    long sv;
    if (!rc)
        rc = pgc_add(c, &(pgc_new){ K_SEQ_SET, PG_PSEUDO_NONE, 0, pgc_val(r, i, R_SCHEMA), pgc_val(r, i, R_NAME),
                                    "SEQUENCE SET", NULL }, NULL, NULL, &sv);
    if (!rc && !(c->m->objs[sv].qname = strdup(q)))
        rc = pgc_oom(c->err);
    if (!rc) {
        c->m->objs[sv].table_obj = t;
        rc = pgc_dep(c, sv, t);
    }
    if (!rc)
        rc = pgc_alias(c, PG_CLASS_OID, pgc_uval(r, i, R_OID), t);
    return rc;
}

/* ---- 3. constraints that are objects of their own ---- */

static sk_rc add_constraint(const rels *x, int i)
{
    cat *c = x->c;
    const PGresult *cons = x->cons;
    char t = pgc_val(cons, i, N_TYPE)[0];
    long tab = pgc_rel_obj(c, pgc_uval(cons, i, N_RELID));
    if (tab < 0)
        return SK_OK;
    const pg_obj *to = &c->m->objs[tab];
    const char *q = to->qname, *cn = pgc_val(cons, i, N_QNAME);
    /* partitioned tables: FKs must reach the partitions (no ONLY) */
    int trow = rel_row(x->r, to->relid);
    int partitioned = trow >= 0 && pgc_val(x->r, trow, R_KIND)[0] == 'p';
    pg_kind kind = K_CONSTRAINT;
    const char *only = "ONLY ";
    if (t == 'c' || t == 'n') { /* 'n': a NOT VALID NOT NULL (18) */
        /* a late-attached partition's inherited one too: its ATTACH comes after it, and marks it
         * inherited under its own name */
        int late = t == 'n' && trow >= 0 && pgc_bval(x->r, trow, R_LATEATTACH);
        if ((!pgc_bval(cons, i, N_LOCAL) && !late) || check_inline(cons, i, 0))
            return SK_OK;
        only = "";
    } else if (t == 'f') {
        if (pgc_uval(cons, i, N_PARENT) != 0)
            return SK_OK; /* cloned onto a partition by its parent's FK */
        kind = K_FK;
        only = partitioned ? "" : "ONLY ";
    }
    pg_buf b, d;
    pg_buf_init(&b);
    pg_buf_init(&d);
    if (pgc_val(cons, i, N_NN_DEFER_PRE))
        pg_buf_addf(&b, "%s\n", pgc_val(cons, i, N_NN_DEFER_PRE));
    pg_buf_addf(&b, "ALTER TABLE %s%s ADD CONSTRAINT %s %s;\n", only, q, cn, pgc_val(cons, i, N_DEF));
    pg_buf_addf(&d, "ALTER TABLE IF EXISTS %s%s DROP CONSTRAINT IF EXISTS %s;\n", only, q, cn);
    char target[1200];
    snprintf(target, sizeof target, "CONSTRAINT %s ON %s", cn, q);
    pgc_emit_comment(&b, target, pgc_val(cons, i, N_COMMENT));
    if (pgc_val(cons, i, N_NN_CHILDREN))
        pg_buf_addf(&b, "%s\n", pgc_val(cons, i, N_NN_CHILDREN));
    if (pgc_val(cons, i, N_NN_DEFER_POST))
        pg_buf_addf(&b, "%s\n", pgc_val(cons, i, N_NN_DEFER_POST));
    char nm[600];
    snprintf(nm, sizeof nm, "%s %s", to->name, pgc_val(cons, i, N_NAME));
    long idx;
    sk_rc rc = pgc_add(c, &(pgc_new){ kind, PG_CONSTRAINT_OID, pgc_uval(cons, i, N_OID), to->schema, nm,
                                      t == 'f' ? "FK CONSTRAINT" : "CONSTRAINT", NULL }, &b, &d, &idx);
    if (!rc && t == 'f') {
        c->m->objs[idx].fk_from = tab;
        c->m->objs[idx].fk_to = pgc_rel_obj(c, pgc_uval(cons, i, N_FREL));
    }
    if (!rc)
        rc = pgc_dep(c, idx, tab);
    if (!rc && pgc_uval(cons, i, N_INDID) && t != 'f')
        rc = pgc_alias(c, PG_CLASS_OID, pgc_uval(cons, i, N_INDID), idx);
    return rc;
}

/* A late-attached partition (R_LATEATTACH): ATTACH PARTITION after the NOT VALID NOT NULLs of its
 * parent and its own, and after its parent's own late attach. */
static sk_rc late_attach_deps(const rels *x, int i)
{
    cat *c = x->c;
    unsigned relid = pgc_uval(x->r, i, R_OID), parent = pgc_uval(x->r, i, R_PARTPARENT);
    long f = pg_model_find(c->m, PGC_IDX_ATTACH, relid);
    if (f < 0)
        return SK_OK;
    sk_rc rc = pgc_dep(c, f, pg_model_find(c->m, PGC_IDX_ATTACH, parent));
    unsigned rels2[2] = { parent, relid };
    for (int j = 0; j < 2 && !rc; j++)
        FOR_ROWS_OF(c, x->cons, PGC_IDX_CONS, N_RELID, rels2[j], kk) {
            int k = (int)kk;
            if (pgc_val(x->cons, k, N_TYPE)[0] == 'n' && !pgc_bval(x->cons, k, N_VALID) && !rc)
                rc = pgc_dep(c, f, pg_model_find(c->m, PG_CONSTRAINT_OID, pgc_uval(x->cons, k, N_OID)));
        }
    return rc;
}

/* A deferred NOT NULL (NN_DEFER_SQL) comes after the other parents' NOT VALID ones. */
static sk_rc defer_deps(const rels *x, int i)
{
    cat *c = x->c;
    long me = pg_model_find(c->m, PG_CONSTRAINT_OID, pgc_uval(x->cons, i, N_OID));
    sk_rc rc = SK_OK;
    for (const char *p = pgc_val(x->cons, i, N_NN_DEFER_AFTER); *p && !rc;) {
        char *end;
        unsigned long oid = strtoul(p, &end, 10);
        if (end == p)
            break;
        rc = pgc_dep(c, me, pg_model_find(c->m, PG_CONSTRAINT_OID, (unsigned)oid));
        p = end;
    }
    return rc;
}

/* The constraints' FROM. NOT NULL constraints (contype 'n') exist from 18 on; before, their
 * many-way joins are left out of the query text: planning them alone took ~0.4 s a dump. */
#define CONS_FROM(nn) \
    "FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace " \
    "WHERE (co.contype IN ('c', 'p', 'u', 'x', 'f')" nn ") AND " NSP_OK("n") " ORDER BY co.conrelid, co.conname"

/* From 18 on, the columns' and constraints' queries carry the NOT NULL constraints' many-way joins,
 * whose join-order search took ~0.4 s to plan (a dump of an empty database); written as they
 * are, they plan in ~20 ms and run as fast (1,500 tables). Only the planner's search is changed. */
static sk_rc fixed_join_order(cat *c, int on)
{
    if (c->m->server_version < PG18)
        return SK_OK;
    PGresult *x = pgc_query(c, "join_collapse_limit",
                            on ? "SET LOCAL join_collapse_limit = 1" : "RESET join_collapse_limit");
    if (!x)
        return c->err->rc;
    PQclear(x);
    return SK_OK;
}

sk_rc pgc_read_relations(cat *c)
{
    rels x = { c, NULL, NULL, NULL };
    sk_rc rc = SK_OK;
    if (!(x.r = PGC_RUN(c, "relations", rel_cols, REL_FROM))) {
        rc = c->err->rc;
        goto out;
    }
    if ((rc = register_relations(c, x.r)) || (rc = lock_tables(c, x.r)))
        goto out;
    if ((rc = fixed_join_order(c, 1)))
        goto out;
    if (!(x.cols = PGC_RUN(c, "columns", col_cols,
                           "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = "
                           "c.relnamespace JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_attrdef ad ON ad.adrelid "
                           "= a.attrelid AND ad.adnum = a.attnum LEFT JOIN pg_constraint nn ON nn.conrelid = "
                           "a.attrelid AND nn.contype = 'n' AND nn.conkey = ARRAY[a.attnum] WHERE a.attnum > 0 AND "
                           "NOT a.attisdropped AND "
                           "c.relkind IN ('r', 'p', 'v', 'm', 'f') AND " NSP_OK("n") " ORDER BY a.attrelid, a.attnum")) ||
        !(x.cons = PGC_RUN(c, "constraints", con_cols,
                           c->m->server_version >= PG18 ? CONS_FROM(" OR (co.contype = 'n' AND (NOT co.convalidated OR "
                                                                    NN_DEFER_SQL("co") "))")
                                                        : CONS_FROM("")))) {
        rc = c->err->rc;
        goto out;
    }
    if ((rc = fixed_join_order(c, 0)))
        goto out;
    if ((rc = pgc_index_rows(c, x.cols, C_RELID, PGC_IDX_COLS)) || (rc = pgc_index_rows(c, x.cons, N_RELID, PGC_IDX_CONS)))
        goto out;
    for (int i = 0; i < PQntuples(x.r) && !rc; i++)
        rc = define_relation(&x, i);
    for (int i = 0; i < PQntuples(x.r) && !rc; i++)
        if (is_identity_seq(x.r, i))
            rc = add_identity(&x, i);
    for (int i = 0; i < PQntuples(x.cons) && !rc; i++)
        rc = add_constraint(&x, i);
    for (int i = 0; i < PQntuples(x.r) && !rc; i++)
        if (pgc_bval(x.r, i, R_LATEATTACH))
            rc = late_attach_deps(&x, i);
    for (int i = 0; i < PQntuples(x.cons) && !rc; i++)
        if (pgc_val(x.cons, i, N_NN_DEFER_AFTER))
            rc = defer_deps(&x, i);
out:
    PQclear(x.r);
    PQclear(x.cols);
    PQclear(x.cons);
    return rc;
}
