/*
 * pg_cat.h: helpers shared by the catalog readers (engine-internal).
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

typedef struct cat {
    PGconn *conn;
    pg_model *m;
    sk_err *err;
    pg_buf sql;
} cat;

sk_rc pgc_oom(sk_err *err);
/* Run a query expected to succeed; on failure fill c->err naming `what` and return NULL. */
PGresult *pgc_query(cat *c, const char *what, const char *sql);
const char *pgc_val(const PGresult *r, int row, int col);   /* NULL for SQL NULL */
unsigned pgc_uval(const PGresult *r, int row, int col);
long pgc_ival(const PGresult *r, int row, int col, long dflt);
int pgc_bval(const PGresult *r, int row, int col);
/* Append a subquery rendering acl `acl` as lines "PRIVS<TAB>GRANTEE[ WITH GRANT OPTION]". */
void pgc_acl_sql(pg_buf *b, const char *acl, const char *suffix);
/* GRANT statements reproducing the ACL (after REVOKE ALL from PUBLIC and owner if revoke_first). */
void pgc_emit_acl(pg_buf *b, const char *target, const char *owner, int aclnull, const char *grants,
                  int revoke_first);
void pgc_emit_comment(pg_buf *b, const char *target, const char *literal);
/* "COMMENT ON <word> <name> IS <literal>;" into b (when literal is not NULL) and
 * "DROP <word> IF EXISTS <name>;" into d: the common tail of most objects. */
void pgc_comment_and_drop(pg_buf *b, pg_buf *d, const char *word, const char *name, const char *literal);
/* Store the built create text (taken from `create`) and a copy of `drop` in object idx. */
sk_rc pgc_finish_obj(cat *c, long idx, pg_buf *create, const char *drop);
int pgc_schema_excluded(cat *c, const char *schema);
/* The object of a dumped relation (table, view, matview, sequence), or -1. */
long pgc_rel_obj(cat *c, unsigned relid);
/* Append text to an object's create SQL. */
sk_rc pgc_add_text(cat *c, long idx, const pg_buf *extra);

/* pg_catalog_more.c */
sk_rc pgc_read_more(cat *c);
/* After dependencies are read: break type <-> I/O function loops through the shell types, and
 * leave out refreshes of matviews that read unpopulated matviews. */
sk_rc pgc_fix_after_depends(cat *c);

#endif
