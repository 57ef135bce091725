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
 *
 * Slots: one job may have up to `slots` destinations of one type (3-2-1 copies). Slot 1 reads the
 * type's settings by their plain names (S3_BUCKET); slot n > 1 reads its own copy of each name in
 * `slot_settings` (sk_dest_setting_name: S3_2_BUCKET, S3_2_R2_ACCOUNT_ID) and shares the others
 * (tuning such as S3_PART_SIZE_MB). selected() and open() get the slot (1-based).
 */
#ifndef SK_DEST_H
#define SK_DEST_H

#include <stdint.h>

#include "config.h"
#include "err.h"
#include "runtime.h"
#include "stream.h"

/* Destinations one job may have in all (registry.h sk_dests_select). */
#define SK_MAX_DESTS 8

typedef struct sk_object {
    const char *key;
    uint64_t size;
    int64_t mtime;     /* seconds since the epoch */
} sk_object;

typedef sk_rc (*sk_list_fn)(void *ud, const sk_object *obj, sk_err *err);

typedef struct sk_dest_type {
    const char *name;                  /* "local", "s3" */
    const sk_setting_def *settings;    /* this destination's variables (all slots) */
    int slots;                         /* destinations of this type one job may have (>= 1) */
    const char *const *slot_settings;  /* slot 1 names each slot has its own copy of; NULL-terminated */
    /* Does this configuration select slot `slot` of this destination (e.g. S3_2_BUCKET is set)? */
    int (*selected)(const sk_config *cfg, int slot);
    sk_rc (*open)(const sk_config *cfg, int slot, const sk_runtime *rt, void **state, sk_err *err);
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

/* The name slot `slot` of `type` reads for `base` (a slot 1 name of its slot_settings, optionally
 * ending in _FILE): slot 1 and shared settings keep their name; "S3_BUCKET" -> "S3_2_BUCKET",
 * "R2_ACCOUNT_ID" -> "S3_2_R2_ACCOUNT_ID" (the slot prefix is the type's name in capitals).
 * -1 when it does not fit `sz`. */
int sk_dest_setting_name(const sk_dest_type *type, const char *base, int slot, char *out, size_t sz);

/* The inverse for a slot > 1 name: its type, slot and slot 1 name ("S3_2_BUCKET_FILE" -> s3, 2,
 * "S3_BUCKET_FILE"); 0 when `name` is no slot > 1 setting of a built-in destination. */
int sk_dest_setting_parse(const char *name, const sk_dest_type **type, int *slot, char *base, size_t sz);

/* A destination's label in logs, status, metrics and webhooks: "local", "s3", "s3_2". */
void sk_dest_label(const sk_dest_type *type, int slot, char *out, size_t sz);

#endif
