/*
 * engine.h: the interface every database engine implements (engines/<name>/).
 *
 * An engine produces one self-contained, consistent dump of its source into a writer, and consumes
 * such a dump to restore or verify it. The job owns the writer chains: dump() must not finish or
 * abort `out`; the sinks returned by restore_open()/verify_open() are finished or aborted by the job.
 *
 * Restore and verify take a push-model sink rather than a reader: the job feeds it
 * download -> md5 check -> unzstd -> sha256 check -> sink, and every check stage verifies its digest
 * in finish() *before* finishing the next stage. So the sink's finish() (rename into place, COMMIT,
 * upload to the server) runs only for an artifact whose checksums matched, and abort() must leave
 * the target exactly as it was.
 */
#ifndef SK_ENGINE_H
#define SK_ENGINE_H

#include <stdint.h>

#include "config.h"
#include "err.h"
#include "runtime.h"
#include "stream.h"

typedef struct sk_dump_info {
    char database[256];        /* the <db> part of the key ("app"), set by open(); the job refuses
                                  names longer than SK_NAME_MAX, so this never cuts one it keeps */
    char server_version[64];   /* "3.40.1", "PostgreSQL 15.18", "PocketBase 0.39.11" */
    char facts_json[1024];     /* a JSON object of engine facts for the manifest ("{}" when none) */
    const char *table_rows_json; /* set by dump() when the engine counts rows: a JSON object
                                  {"table": rows, ...} of the user tables in the dump (the guards,
                                  guard.h); NULL when it does not count. Owned by the engine: valid
                                  until its next dump() or close(). */
    const char *collections_json; /* set by dump() when the engine counts records per collection
                                  (PocketBase): {"collection": records, ...}, for the manifest's
                                  "collections" and restore drills; NULL when not counted. Owned by
                                  the engine, as table_rows_json. */
} sk_dump_info;

typedef struct sk_restore_opts {
    const char *target;        /* --to: file path, database URL, server URL */
    int force;                 /* replace an existing target */
} sk_restore_opts;

/* Takes one job of an engine's expansion (expand() below). */
typedef sk_rc (*sk_expand_add_fn)(void *ud, sk_config *cfg, const char *name, sk_err *err);

/* Restore drills (agent/drill.h). A drill sink restores into a scratch target that belongs to the
 * drill alone (a temp file, a scratch database, a scratch directory: never the source, never a
 * user's target), runs the engine's checks on what it restored, counts it, and removes the scratch
 * target again: in finish() after the checks (passed or not) and in abort(); destroy() removes it
 * if neither ran. A target a killed process left behind carries a marker that drill_sweep() finds
 * later; it removes only targets with that marker that no live drill uses. */
typedef struct sk_drill_opts {
    const char *job_id;        /* the job's id (state.h), recorded in a scratch target's marker */
    const char *note_path;     /* a file for the engine's own note of a scratch target it is about to
                                  create (before its marker can be set); removed when it is gone */
    int pause;                 /* testing aid: SIGSTOP once the scratch target exists */
} sk_drill_opts;

typedef struct sk_drill_report {
    char summary[512];         /* one line: what was restored and what the checks said */
    char scratch[256];         /* the scratch target (a file name, a database name), for logs */
    char note[160];            /* set in drill_open() when the drill checks less than a restore (what
                                  it left out and why); appended to the summary */
    char *table_rows_json;     /* malloc'd {"table": rows} counted in the restored data, keyed as the
                                  dump's table_rows_json; NULL when not counted */
    char *collections_json;    /* malloc'd {"collection": records} (PocketBase), NULL when not counted */
} sk_drill_report;

typedef struct sk_engine_type {
    const char *name;          /* SNAPKEEP_ENGINE value: "sqlite" */
    const char *tag;           /* key tag: "sqlite", "pgsql", "pocketbase" */
    const char *ext;           /* extension before ".zst": "sqlite3", "sql", "zip" */
    const sk_setting_def *settings;   /* this engine's variables, NULL-name terminated */

    /* Check this engine's settings and prepare; no source I/O beyond what validation needs.
     * Fills info->database. */
    sk_rc (*open)(const sk_config *cfg, const sk_runtime *rt, void **state, sk_dump_info *info,
                  sk_err *err);
    /* Write one consistent dump into `out`; fill the rest of `info`. */
    sk_rc (*dump)(void *state, sk_writer *out, sk_dump_info *info, sk_err *err);
    /* A sink that restores what is written into it into opts->target on finish(). */
    sk_rc (*restore_open)(void *state, const sk_restore_opts *opts, sk_writer **sink, sk_err *err);
    /* A sink that runs the engine's own checks (integrity_check, ...) on finish(); `summary`
     * (at least 512 bytes) receives a one-line report. */
    sk_rc (*verify_open)(void *state, char *summary, sk_writer **sink, sk_err *err);
    void (*close)(void *state);
    /* Optional (NULL when unused): called once a backup is committed, i.e. after backup-now stored
     * the manifest (`key` = the data key), or after `dump` finished its output (`key` = NULL).
     * For engines that leave state on the server, such as PocketBase's server-side backup zip,
     * which may only be deleted once snapkeep's own copy is safe. Failures are the engine's to log. */
    void (*after_backup)(void *state, const char *key);
    /* Optional (NULL: `snapkeep drill` refuses the engine): a drill sink, as described above; fills
     * `rep` (which must stay valid until the sink is freed) during finish(). */
    sk_rc (*drill_open)(void *state, const sk_drill_opts *opts, sk_drill_report *rep, sk_writer **sink, sk_err *err);
    /* Optional: remove scratch targets of drills that were killed (see above); *removed counts
     * them. Failures to reach the scratch server are errors; each target not removed is logged. */
    sk_rc (*drill_sweep)(void *state, const sk_drill_opts *opts, int *removed, sk_err *err);
    /* zstd level when SNAPKEEP_COMPRESSION_LEVEL is not set; 0 means the global default (3). For
     * already-compressed dumps (PocketBase's zip) a low level costs nothing in size. */
    int default_level;
    /* Optional (NULL: a configuration is one job): one configuration that stands for several jobs
     * (PostgreSQL's SNAPKEEP_PG_DATABASES). Calls add() once per job with a configuration it
     * derived (add() owns it from then on, also when it fails) and the job's name ("app",
     * "globals"). Adding none leaves the job as it is. */
    sk_rc (*expand)(const sk_config *cfg, sk_expand_add_fn add, void *ud, sk_err *err);
} sk_engine_type;

#endif
