/*
 * pg_cat.h: what the catalog readers share (engine-internal).
 *
 * The catalog reader (pg_catalog.c) runs one reader per object kind, in the order of its table.
 * A reader:
 *   - declares its query as a table of named columns (an enum naming each column's position and a
 *     pgc_col array filled by designated initializers with the same names), and reads values by
 *     those names: pgc_val(r, i, TY_OWNER);
 *   - says per column what each server major has: a column a major added carries the first
 *     server_version_num that has it (`since`) and the constant that stands in before. This is the
 *     one place that knows what each major has for its object kind (pg_dump's approach);
 *   - runs it with pgc_run(), whose failures (server error or out of memory) are in c->err: a
 *     reader returns c->err->rc when it gets NULL;
 *   - adds each object with pgc_add(), the one way into the model (create and drop text, kind,
 *     catalog identity), then registers aliases and dependencies on the index it gets back.
 *
 * Files: pg_cat_types.c (types, domains, collations), pg_cat_relations.c (tables, views,
 * sequences, columns, constraints), pg_cat_children.c (indexes, triggers, rules, policies,
 * statistics), pg_cat_routines.c (functions, aggregates, operators, operator classes, casts,
 * transforms, access methods), pg_cat_other.c (schemas, extensions, text search, foreign data,
 * large objects, publications, subscriptions, default and system privileges, event triggers).
 */
#ifndef SK_PG_CAT_H
#define SK_PG_CAT_H

#include "pg_buf.h"
#include "pg_model.h"

#define NSP_OK(n) \
    n ".nspname NOT IN ('pg_catalog', 'information_schema') AND " n ".nspname !~ '^pg_toast' AND " \
    n ".nspname !~ '^pg_temp_'"
#define NOT_EXT(cls, oidexpr) \
    "NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = '" cls "'::regclass AND x.objid = " \
    oidexpr " AND x.deptype = 'e')"
#define OPTIONS_SQL(col) \
    "array_to_string(ARRAY(SELECT quote_ident(o.option_name) || ' ' || quote_literal(o.option_value) FROM " \
    "pg_options_to_table(" col ") o), ', ')"
#define OWNER_SQL(col) "quote_ident(pg_get_userbyid(" col "))"
#define QNAME_SQL(nsp, name) "quote_ident(" nsp ") || '.' || quote_ident(" name ")"
#define COMMENT_SQL(oid, catalog) "quote_literal(obj_description(" oid ", '" catalog "'))"
/* An ACL as lines "PRIVS<TAB>GRANTEE[ WITH GRANT OPTION]", in acl order (for pgc_emit_acl);
 * `suffix` is appended to each privilege (a column list for column privileges). */
#define ACL_SQL(acl, suffix) \
    "(SELECT string_agg(g.privs || E'\\t' || g.who || CASE WHEN g.opt THEN ' WITH GRANT OPTION' " \
    "ELSE '' END, E'\\n' ORDER BY g.o) FROM (SELECT min(e.o) AS o, CASE WHEN e.grantee = 0 " \
    "THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(e.grantee)) END AS who, e.is_grantable AS " \
    "opt, string_agg(e.privilege_type" suffix ", ', ' ORDER BY e.o) AS privs FROM aclexplode(" acl ") WITH " \
    "ORDINALITY AS e(grantor, grantee, privilege_type, is_grantable, o) GROUP BY e.grantee, " \
    "e.is_grantable) g)"

/* Server majors, as server_version_num */
#define PG14 140000
#define PG15 150000
#define PG16 160000
#define PG17 170000
#define PG18 180000

typedef struct cat {
    PGconn *conn;
    pg_model *m;
    sk_err *err;
    pg_buf sql;
    int lock_timeout_ms;
} cat;

/* One column of a catalog query. */
typedef struct pgc_col {
    const char *sql;    /* the expression */
    int since;          /* the first server_version_num that has it; 0: every supported major */
    const char *before; /* what stands in on older majors (a constant of the same type) */
} pgc_col;

sk_rc pgc_oom(sk_err *err);
/* Run a query; on failure fill c->err naming `what` (with the server's message) and return NULL. */
PGresult *pgc_query(cat *c, const char *what, const char *sql);
/* SELECT <cols, as the server's major has them> <from>: pgc_query() of the built text. */
PGresult *pgc_run(cat *c, const char *what, const pgc_col *cols, int ncols, const char *from);
#define PGC_RUN(c, what, cols, from) pgc_run((c), (what), (cols), (int)(sizeof(cols) / sizeof((cols)[0])), (from))

const char *pgc_val(const PGresult *r, int row, int col);   /* NULL for SQL NULL */
unsigned pgc_uval(const PGresult *r, int row, int col);
long pgc_ival(const PGresult *r, int row, int col, long dflt);
int pgc_bval(const PGresult *r, int row, int col);
/* The value, or "" for SQL NULL. */
const char *pgc_sval(const PGresult *r, int row, int col);

/* What a new object is; strings are copied. */
typedef struct pgc_new {
    pg_kind kind;
    unsigned classid, oid;
    const char *schema, *name, *label, *owner;
} pgc_new;
/* Add an object with its create text (taken from `create`; NULL: none) and drop text (copied
 * from `drop` when it holds any; NULL: none); both buffers are freed. Its index goes to *idx. */
sk_rc pgc_add(cat *c, const pgc_new *n, pg_buf *create, pg_buf *drop, long *idx);
/* Give an object added without create text (a relation registered early) its text. */
sk_rc pgc_set_create(cat *c, long idx, pg_buf *create, pg_buf *drop);
/* Append text to an object's create SQL. */
sk_rc pgc_add_text(cat *c, long idx, const pg_buf *extra);
/* Alias (classid, objid) to object idx, or a dependency of `from` on `to`; out of memory fails. */
sk_rc pgc_alias(cat *c, unsigned classid, unsigned objid, long idx);
sk_rc pgc_dep(cat *c, long from, long to);

/* Pseudo class ids for private row indexes in the model's map: the first row of each relation in
 * a result ordered by relation (columns, constraints) or by index oid. */
#define PGC_IDX_COLS 0xFFFF0001u
#define PGC_IDX_CONS 0xFFFF0002u
#define PGC_IDX_INDEX 0xFFFF0003u
/* A partition's ATTACH PARTITION object, by the partition's oid (not a row index) */
#define PGC_IDX_ATTACH 0xFFFF0004u
/* Register the first row of each oid in column `col` of r (ordered by it) under `pseudo`. */
sk_rc pgc_index_rows(cat *c, const PGresult *r, int col, unsigned pseudo);

/* GRANT statements reproducing the ACL (after REVOKE ALL from PUBLIC and owner if revoke_first). */
void pgc_emit_acl(pg_buf *b, const char *target, const char *owner, int aclnull, const char *grants,
                  int revoke_first);
void pgc_emit_comment(pg_buf *b, const char *target, const char *literal);
/* "COMMENT ON <word> <name> IS <literal>;" into b (when literal is not NULL) and
 * "DROP <word> IF EXISTS <name>;" into d: the common tail of most objects. */
void pgc_comment_and_drop(pg_buf *b, pg_buf *d, const char *word, const char *name, const char *literal);
int pgc_schema_excluded(cat *c, const char *schema);
/* The object of a dumped relation (table, view, matview, sequence), or -1. */
long pgc_rel_obj(cat *c, unsigned relid);

/* The readers, one per object kind (in the order pg_catalog.c runs them). */
sk_rc pgc_read_relations(cat *c);       /* pg_cat_relations.c; takes the table locks */
sk_rc pgc_read_schemas(cat *c);         /* pg_cat_other.c */
sk_rc pgc_read_extensions(cat *c);
sk_rc pgc_read_types(cat *c);           /* pg_cat_types.c */
sk_rc pgc_read_functions(cat *c);       /* pg_cat_routines.c */
sk_rc pgc_read_indexes(cat *c);         /* pg_cat_children.c */
sk_rc pgc_read_triggers(cat *c);
sk_rc pgc_read_rules(cat *c);
sk_rc pgc_read_policies(cat *c);
sk_rc pgc_read_statistics(cat *c);
sk_rc pgc_read_collations(cat *c);      /* pg_cat_types.c */
sk_rc pgc_read_base_types(cat *c);
sk_rc pgc_read_casts(cat *c);           /* pg_cat_routines.c */
sk_rc pgc_read_access_methods(cat *c);
sk_rc pgc_read_opclasses(cat *c);
sk_rc pgc_read_transforms(cat *c);
sk_rc pgc_read_foreign(cat *c);         /* pg_cat_other.c */
sk_rc pgc_read_system_acls(cat *c);
sk_rc pgc_read_subscriptions(cat *c);
sk_rc pgc_read_aggregates(cat *c);      /* pg_cat_routines.c */
sk_rc pgc_read_operators(cat *c);
sk_rc pgc_read_text_search(cat *c);     /* pg_cat_other.c */
sk_rc pgc_read_large_objects(cat *c);
sk_rc pgc_read_domain_constraints(cat *c); /* pg_cat_types.c */
sk_rc pgc_read_publications(cat *c);    /* pg_cat_other.c */
sk_rc pgc_read_default_acls(cat *c);
sk_rc pgc_read_event_triggers(cat *c);

#endif
