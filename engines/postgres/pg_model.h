/*
 * pg_model.h: the dump's object list (engine-internal).
 *
 * pg_catalog.c reads the catalogs into a list of objects, each carrying the SQL that creates it,
 * the SQL that drops it (IF EXISTS), its catalog identity and its dependencies on other objects;
 * pg_sort.c orders them; pg_dump.c writes them. Catalog rows that are part of another object
 * (a view's _RETURN rule, a table's row type, an array type, a constraint's index, an inline CHECK,
 * an extension's member objects) are registered as aliases of that object, so pg_depend edges that
 * name them land on the object that is actually written.
 */
#ifndef SK_PG_MODEL_H
#define SK_PG_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "../../agent/err.h"

/* Fixed catalog OIDs (the same in every PostgreSQL version). */
#define PG_CLASS_OID 1259u
#define PG_TYPE_OID 1247u
#define PG_PROC_OID 1255u
#define PG_NAMESPACE_OID 2615u
#define PG_CONSTRAINT_OID 2606u
#define PG_ATTRDEF_OID 2604u
#define PG_REWRITE_OID 2618u
#define PG_TRIGGER_OID 2620u
#define PG_POLICY_OID 3256u
#define PG_EXTENSION_OID 3079u
#define PG_STATISTIC_EXT_OID 3381u
#define PG_COLLATION_OID 3456u
#define PG_AM_OID 2601u
#define PG_TRANSFORM_OID 3576u
#define PG_FDW_OID 2328u
#define PG_FOREIGN_SERVER_OID 1417u
#define PG_OPCLASS_OID 2616u
#define PG_OPFAMILY_OID 2753u
#define PG_AMOP_OID 2602u
#define PG_AMPROC_OID 2603u
#define PG_OPERATOR_OID 2617u
#define PG_CAST_OID 2605u
#define PG_TS_CONFIG_OID 3602u
#define PG_TS_DICT_OID 3600u
#define PG_LARGEOBJECT_OID 2613u
#define PG_PUBLICATION_OID 6104u
#define PG_DEFAULT_ACL_OID 826u
#define PG_EVENT_TRIGGER_OID 3466u
#define PG_PSEUDO_NONE 0u /* objects without a catalog row of their own (ATTACH, DATA, ...) */

/* In output priority order (ties in the topological sort are broken by this, then by name, then
 * by label and create text). */
typedef enum pg_kind {
    K_SCHEMA,
    K_COLLATION,
    K_EXTENSION,
    K_TYPE,
    K_CAST,
    K_FUNCTION,
    K_AGGREGATE,
    K_ACCESS_METHOD,
    K_OPERATOR,
    K_OPFAMILY,      /* operator families, then operator classes */
    K_OPCLASS,
    K_TS,            /* text search dictionaries and configurations */
    K_FOREIGN,       /* foreign data wrappers, then servers with their user mappings */
    K_RELATION,      /* table, sequence, view, matview */
    K_ATTACH,        /* ALTER TABLE parent ATTACH PARTITION child */
    K_DEFAULT,       /* ALTER TABLE ... ALTER COLUMN ... SET DEFAULT */
    K_LARGE_OBJECT,  /* lo_create, owner, grants */
    K_TABLE_DATA,    /* COPY (first data kind) */
    K_SEQ_SET,       /* setval */
    K_LO_DATA,       /* lowrite (last data kind) */
    K_CONSTRAINT,    /* PK / UNIQUE / EXCLUDE / NOT VALID CHECK */
    K_DOMAIN_CONSTRAINT, /* NOT VALID domain CHECK */
    K_INDEX,
    K_INDEX_ATTACH,
    K_STATISTICS,
    K_RULE,
    K_TRIGGER,
    K_FK,
    K_POLICY,
    K_PUBLICATION,
    K_DEFAULT_ACL,
    K_EVENT_TRIGGER,
    K_REFRESH,       /* REFRESH MATERIALIZED VIEW */
    K_COUNT
} pg_kind;

enum { SEC_PRE = 0, SEC_DATA = 1, SEC_POST = 2 };

typedef struct pg_obj {
    pg_kind kind;
    int section;
    unsigned classid, objid;
    char *schema;       /* unquoted, for ordering and the header line; may be NULL */
    char *name;         /* unquoted */
    const char *label;  /* "TABLE", "FUNCTION", ... for the header line */
    char *owner;        /* unquoted, may be NULL */
    char *create;       /* SQL to create it (may be NULL for K_TABLE_DATA) */
    char *drop;         /* SQL to drop it if it exists, NULL when none */
    /* K_TABLE_DATA / K_SEQ_SET */
    char *qname;        /* quoted qualified relation name */
    char *columns;      /* "(a, b)" or "" */
    unsigned relid;
    long table_obj;     /* K_TABLE_DATA/K_SEQ_SET/K_REFRESH: the relation's object; else -1 */
    int movable;        /* may move from pre-data to post-data (views, matviews, functions) */
    int skip;           /* filtered out by the dump's options: neither created nor dropped */
    long fk_from, fk_to;/* K_FK: the referencing and referenced tables' objects (or -1) */
    long shell;         /* base type: its shell type's object (CREATE TYPE x;), or -1 */
    long *deps;
    size_t ndeps, capdeps;
    long rank;          /* position after sorting by (kind, schema, name, label, create) */
} pg_obj;

typedef struct pg_map_entry {
    uint64_t key;   /* classid << 32 | objid; 0 = empty slot */
    long idx;
} pg_map_entry;

typedef struct pg_model {
    pg_obj *objs;
    size_t n, cap;
    pg_map_entry *map;
    size_t mapn, mapcap;
    /* the dump's filters */
    const char *const *exclude_schemas;     /* fnmatch patterns on schema names */
    const char *const *exclude_tables;      /* on "schema.table" and on "table" */
    const char *const *exclude_data;        /* same, data only */
    const char *const *include_schemas;     /* when set: only these schemas' objects */
    const char *const *include_tables;      /* when set: only these tables (and their sequences) */
    int server_version;
    long warnings;
} pg_model;

void pg_model_init(pg_model *m);
void pg_model_free(pg_model *m);
/* Append an object; strings are copied (NULL allowed). Returns its index or -1 (out of memory). */
long pg_model_add(pg_model *m, pg_kind kind, unsigned classid, unsigned objid, const char *schema,
                  const char *name, const char *label, const char *owner);
/* Register (classid, objid) as naming object idx. First registration wins. */
int pg_model_alias(pg_model *m, unsigned classid, unsigned objid, long idx);
long pg_model_find(const pg_model *m, unsigned classid, unsigned objid);
/* Record that object `from` must come after object `to` (ignores self edges and duplicates). */
int pg_model_dep(pg_model *m, long from, long to);

/* Read the catalogs (inside the dump's snapshot) into m. Takes ACCESS SHARE locks on every dumped
 * table, partitioned table and materialized view. */
sk_rc pg_catalog_read(PGconn *conn, pg_model *m, int lock_timeout_ms, sk_err *err);

/* Order the objects: sections in order, dependencies first within and across them, ties broken
 * by kind, schema, name, label and create text (never by OID). Pre-data views/matviews/functions that depend on post-data objects move
 * to post-data. Fills `order` (m->n entries); cycles are broken at the lowest-ranked object and
 * counted in m->warnings. */
sk_rc pg_sort(pg_model *m, long *order, sk_err *err);

int pg_name_excluded(const char *const *patterns, const char *schema, const char *name);

#endif
