/*
 * registry.h: the engines and destinations built into this binary (immutable tables).
 */
#ifndef SK_REGISTRY_H
#define SK_REGISTRY_H

#include "config.h"
#include "dest.h"
#include "engine.h"

const sk_engine_type *sk_engine_find(const char *name);
/* "sqlite|postgres" style list of the built-in engine names. */
const char *sk_engine_names(void);
const sk_engine_type *const *sk_engines(void);
const sk_dest_type *const *sk_dests(void);

/* Every settings table (core, engines, destinations), NULL-terminated, for sk_config_load. */
const sk_setting_def *const *sk_all_settings(void);

/* The engine named by SNAPKEEP_ENGINE, or SK_ERR_CONFIG naming the variable and the choices. */
sk_rc sk_engine_select(const sk_config *cfg, const sk_engine_type **out, sk_err *err);
/* The destinations of a job, in the order restores try them: by type in the table's order (local
 * first), then by slot. Every selected slot is one (SNAPKEEP_DEST_DIR and S3_BUCKET both set: two);
 * SNAPKEEP_DESTINATION keeps only its type. A slot's settings set without the one that selects it
 * are an error naming both. */
typedef struct sk_dest_pick {
    const sk_dest_type *type;
    int slot;
} sk_dest_pick;
sk_rc sk_dests_select(const sk_config *cfg, sk_dest_pick *out, size_t *n, sk_err *err);

#endif
