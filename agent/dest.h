/*
 * dest.h: the interface every destination implements (uploader/): a flat key -> object store.
 *
 * Keys are '/'-separated relative names ("snapshots/backend/production/sqlite_app_....zst").
 *  - put(): returns a sink; the object becomes visible only when the sink's finish() succeeds, and
 *    never replaces an existing object (a clash fails with SK_ERR_DEST); abort() removes every trace.
 *  - get(): pushes the object's bytes into `into` (does not finish it). A missing key is
 *    SK_ERR_NOTFOUND.
 *  - list(): calls fn for each visible object whose key starts with `prefix` (in no order).
 *  - remove(): deletes one key; a missing key is not an error.
 *  - identity() (optional): a stable string naming where the objects go, equal for two
 *    configurations that reach the same objects (the local destination resolves its directory);
 *    without it describe() stands in. Jobs are told apart by it (state names, shared key spaces).
 *  - sweep() (optional): for destinations whose put() leaves temporary files behind when the
 *    process is killed (local): call `mine` for the final key each temp file under `dir` was for,
 *    and delete the temp files it claims that were last modified before `older_than`.
 */
#ifndef SK_DEST_H
#define SK_DEST_H

#include <stdint.h>

#include "config.h"
#include "err.h"
#include "runtime.h"
#include "stream.h"

typedef struct sk_object {
    const char *key;
    uint64_t size;
    int64_t mtime;     /* seconds since the epoch */
} sk_object;

typedef sk_rc (*sk_list_fn)(void *ud, const sk_object *obj, sk_err *err);

typedef struct sk_dest_type {
    const char *name;                  /* "local", "s3" */
    const sk_setting_def *settings;    /* this destination's variables */
    /* Does this configuration select this destination (e.g. SNAPKEEP_DEST_DIR is set)? */
    int (*selected)(const sk_config *cfg);
    sk_rc (*open)(const sk_config *cfg, const sk_runtime *rt, void **state, sk_err *err);
    /* A human description for logs, without secrets ("local directory /backups"). */
    const char *(*describe)(void *state);
    sk_rc (*put)(void *state, const char *key, sk_writer **out, sk_err *err);
    sk_rc (*get)(void *state, const char *key, sk_writer *into, sk_err *err);
    sk_rc (*list)(void *state, const char *prefix, sk_list_fn fn, void *ud, sk_err *err);
    sk_rc (*remove)(void *state, const char *key, sk_err *err);
    void (*close)(void *state);
    const char *(*identity)(void *state);
    sk_rc (*sweep)(void *state, const char *dir, int (*mine)(void *ud, const char *key), void *ud,
                   int64_t older_than, size_t *removed, sk_err *err);
} sk_dest_type;

#endif
