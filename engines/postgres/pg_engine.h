/*
 * pg_engine.h: the PostgreSQL engine — a pg_dump equivalent over libpq, and its restore.
 *
 * Dump: one consistent snapshot (BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; or SERIALIZABLE,
 * READ ONLY, DEFERRABLE), pg_dump's session settings, ACCESS SHARE locks on every dumped table,
 * then a plain SQL script in the shape of `pg_dump --clean --if-exists`: fixed header settings, a
 * drop section (reverse order, every statement IF EXISTS, so it also runs on an empty database),
 * pre-data, data (`COPY ... FROM stdin;` blocks streamed row by row from `COPY ... TO STDOUT`;
 * setval for sequences), post-data (constraints, indexes, triggers, rules, FKs, policies, matview
 * refreshes), ordered by pg_depend with a topological sort. No pg_dump/psql at run time.
 *
 * Restore: a sink that executes such a script through libpq inside ONE transaction (COPY blocks fed
 * with PQputCopyData), committed only by finish(); abort() rolls back. A failing statement is
 * reported with its line number in the script and the server's message and SQLSTATE.
 *
 * Settings (declared in sk_engine_postgres.settings):
 *   DATABASE_URL                  libpq connection string or postgresql:// URI (secret). Unset:
 *                                 libpq's own PGHOST/PGPORT/PGUSER/PGDATABASE/PGPASSFILE/PGSSLMODE...
 *   PGPASSWORD                    password (secret); mainly so PGPASSWORD_FILE works (Docker secrets)
 *   SNAPKEEP_PG_ISOLATION         repeatable-read (default) | serializable-deferrable
 *   SNAPKEEP_PG_EXCLUDE_SCHEMAS   comma-separated fnmatch patterns on schema names
 *   SNAPKEEP_PG_EXCLUDE_TABLES    comma-separated patterns on "schema.table" (or "table": any schema)
 *   SNAPKEEP_PG_EXCLUDE_TABLE_DATA  same patterns; the table's definition is kept, its rows are not
 *   SNAPKEEP_PG_SCHEMAS           comma-separated patterns: dump only these schemas' objects
 *   SNAPKEEP_PG_TABLES            comma-separated patterns: dump only these tables (+ their sequences)
 *   SNAPKEEP_PG_CONTENT           all (default) | schema-only | data-only
 *   SNAPKEEP_PG_LOCK_TIMEOUT      seconds to wait for each batch of ACCESS SHARE locks (0 = forever)
 *   SNAPKEEP_PG_NEWER_MAJOR       refuse (default) | warn: a server major newer than the newest
 *                                 tested one is refused, or dumped best-effort with a warning
 *   SNAPKEEP_PG_DATABASE          dump this database instead of the one the URL names
 *   SNAPKEEP_PG_ARTIFACT          database (default) | globals: the server's roles script instead
 *   SNAPKEEP_DRILL_PG_URL         restore drills: the server for their scratch databases (default:
 *                                 the source server, through DATABASE_URL); see pg_drill.c
 *   SNAPKEEP_PG_DATABASES, SNAPKEEP_PG_GLOBALS  read by the engine's expand hook (pg_jobs.c), which
 *                                 turns one job into one job per database (+ one with ARTIFACT=globals)
 * sslmode and every other libpq parameter are honoured as libpq honours them (in the URL or PG*).
 *
 * Restore target (restore_open): a database URL; a database that does not exist is created (through
 * the server's 'postgres' database); a non-empty one is refused unless opts->force.
 *
 * Object kinds dumped: schemas (public: owner/comment/privileges when changed), extensions (members
 * left out), collations, base/shell/enum/composite/domain/range types, casts, transforms, functions,
 * procedures, aggregates, access methods, operators, operator families and classes, text search
 * dictionaries and configurations, foreign data wrappers, servers, user mappings, tables (unlogged,
 * typed, partitioned with ATTACH, inheritance keeping column order, generated/identity/serial
 * columns, defaults, NOT NULL, CHECK incl. NOT VALID, collations, storage/statistics/compression/
 * attribute options, reloptions incl. toast, replica identity, RLS), foreign tables, sequences,
 * views, matviews (refreshed when populated), large objects, indexes (incl. partition attach),
 * PK/UNIQUE/EXCLUDE/FK constraints, extended statistics, rules, triggers (incl. enabled states),
 * policies, publications, default privileges, event triggers, comments, owners, GRANT/REVOKE
 * (incl. changed privileges of pg_catalog objects).
 * Subscriptions are created with connect = false (as pg_dump does).
 * Not dumped: security labels, tablespaces (objects land in the default one),
 * procedural languages other than built-in, conversions, extension configuration-table rows,
 * roles (cluster-wide). Grants made by a non-owner grantor are restored as granted by the owner.
 * Server majors: 13 to 18 (PG_OLDEST_MAJOR..PG_NEWEST_MAJOR; tests/integration/postgres_majors.sh
 * round-trips the fixture on each); what each major has is said per catalog column in the
 * readers (engines/postgres/pg_cat.h). Older servers are refused; newer ones are refused or dumped
 * best-effort with a warning (SNAPKEEP_PG_NEWER_MAJOR).
 */
#ifndef SK_PG_ENGINE_H
#define SK_PG_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "../../agent/engine.h"

extern const sk_engine_type sk_engine_postgres;

/* The engine's job expansion (pg_jobs.c; sk_engine_type.expand). */
sk_rc sk_pg_expand(const sk_config *cfg, sk_expand_add_fn add, void *ud, sk_err *err);
extern const sk_setting_def sk_pg_settings[];

typedef struct sk_pg_dump_opts {
    int serializable_deferrable;
    int lock_timeout_ms;                 /* 0 = wait forever */
    int newer_major_warn;                /* a server newer than PG_NEWEST_MAJOR: warn and dump (else refuse) */
    const char *const *exclude_schemas;  /* NULL-terminated fnmatch patterns, or NULL */
    const char *const *exclude_tables;
    const char *const *exclude_data;
    const char *const *include_schemas;  /* when set, only these schemas (no extensions, casts, ...) */
    const char *const *include_tables;   /* when set, only these tables and the sequences they own */
    int content;                         /* SK_PG_ALL, SK_PG_SCHEMA_ONLY, SK_PG_DATA_ONLY */
    int count_tables;                    /* fill stats->table_rows_json (the caller frees it) */
} sk_pg_dump_opts;

enum { SK_PG_ALL = 0, SK_PG_SCHEMA_ONLY = 1, SK_PG_DATA_ONLY = 2 };

/* The server majors the dumper knows (server_version_num / 10000). Older ones are refused; newer
 * ones are refused or dumped best-effort (SNAPKEEP_PG_NEWER_MAJOR). */
#define PG_OLDEST_MAJOR 13
#define PG_NEWEST_MAJOR 18

typedef struct sk_pg_dump_stats {
    long objects;        /* objects written (DDL entries, data blocks, setvals) */
    long tables;         /* tables whose rows were copied */
    uint64_t rows;       /* rows copied */
    long order_warnings; /* dependency edges that could not be honoured (loops) */
    int server_version_num;
    char server_version[64];
    char *table_rows_json; /* with opts->count_tables: {"schema.table": rows copied}, malloc'd; else NULL */
} sk_pg_dump_stats;

/* Dump the database `conn` is connected to into `out` (not finished). `conn` must be idle; it is
 * left idle (the snapshot transaction is ended). `rt` may be NULL (no cancellation, no log). */
sk_rc sk_pg_dump_conn(PGconn *conn, const sk_pg_dump_opts *opts, sk_writer *out, const sk_runtime *rt,
                      sk_pg_dump_stats *stats, sk_err *err);

/* The cluster-wide roles (attributes, password hashes, comments, memberships, settings that are
 * not per database) as a script for any cluster: CREATE ROLE where missing, then ALTER ROLE. Leaves
 * out predefined pg_* roles and the bootstrap superuser. Needs a superuser (pg_authid). The output
 * holds password hashes: treat the artifact as a secret. */
sk_rc sk_pg_dump_globals(PGconn *conn, sk_writer *out, sk_err *err);

/* Connect with a connection string / URI (NULL or "" = libpq defaults from PG* variables), with
 * `password` (may be NULL) passed as a parameter, never in a command line. */
PGconn *sk_pg_connect(const char *conninfo, const char *password, const char *what, sk_err *err);

/* CREATE DATABASE for the database named in `target` (connecting to 'postgres' on the same server
 * with the target's other parameters); its name goes to `name`. */
sk_rc sk_pg_create_database(const char *target, const char *password, char *name, size_t namesz, sk_err *err);

/* DROP DATABASE of the database named in `target` (through 'postgres' on the same server). */
sk_rc sk_pg_drop_database(const char *target, const char *password, sk_err *err);

/* A sink executing a script into the database at `conninfo` in one transaction (see above). */
sk_writer *sk_pg_restore_sink_new(const char *conninfo, const char *password, sk_log *log, sk_err *err);

/* Make the sink's abort() also drop its target database (one this restore created), once its own
 * connection is closed; a sink that committed never drops it. */
sk_rc sk_pg_restore_sink_drop_on_abort(sk_writer *sink, const char *target, const char *password, sk_err *err);

/* `conninfo` with its database replaced by `db` (malloc'd; NULL when out of memory or unparsable). */
char *sk_pg_with_database(const char *conninfo, const char *db);

/* Restore drills (engine.h, pg_drill.c): a scratch database on `server` (a connection string; the
 * database it names is where the drill's lock lives), created, restored into, checked and dropped. */
sk_rc sk_pg_drill_open(const char *server, const char *password, const sk_runtime *rt, const sk_drill_opts *opts,
                       sk_drill_report *rep, sk_writer **sink, sk_err *err);
sk_rc sk_pg_drill_sweep(const char *server, const char *password, const sk_runtime *rt, const sk_drill_opts *opts,
                        int *removed, sk_err *err);

#endif
