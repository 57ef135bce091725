#include "registry.h"

#include <string.h>

#include "../engines/pocketbase/pocketbase.h"
#include "../engines/postgres/pg_engine.h"
#include "../engines/sqlite/sqlite.h"
#include "../uploader/local/local.h"
#include "../uploader/s3/s3.h"
#include "crypt.h"

/* Adding an engine or destination: one line in its table and one in all_settings. */
static const sk_engine_type *const engines[] = { &sk_engine_sqlite, &sk_engine_postgres, &sk_engine_pocketbase, NULL };
static const char engine_names[] = "sqlite|postgres|pocketbase";
static const sk_dest_type *const dests[] = { &sk_dest_local, &sk_dest_s3, NULL };

static const sk_setting_def *const all_settings[] = {
    sk_core_settings,
    sk_sqlite_settings,
    sk_pg_settings,
    sk_pocketbase_settings,
    sk_local_settings,
    sk_s3_settings,
    sk_age_settings,
    NULL,
};

const sk_engine_type *const *sk_engines(void) { return engines; }
const sk_dest_type *const *sk_dests(void) { return dests; }
const sk_setting_def *const *sk_all_settings(void) { return all_settings; }
const char *sk_engine_names(void) { return engine_names; }

const sk_engine_type *sk_engine_find(const char *name)
{
    for (size_t i = 0; name && engines[i]; i++)
        if (strcmp(engines[i]->name, name) == 0)
            return engines[i];
    return NULL;
}

sk_rc sk_engine_select(const sk_config *cfg, const sk_engine_type **out, sk_err *err)
{
    const char *name = sk_config_str(cfg, "SNAPKEEP_ENGINE");
    if (!name)
        return sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_ENGINE is not set: accepted %s", engine_names);
    if (!(*out = sk_engine_find(name)))
        return sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_ENGINE='%s' is not a known engine: accepted %s", name,
                       engine_names);
    return SK_OK;
}

sk_rc sk_dest_select(const sk_config *cfg, const sk_dest_type **out, sk_err *err)
{
    const char *name = sk_config_str(cfg, "SNAPKEEP_DESTINATION");
    int selected = 0;
    for (size_t i = 0; !name && dests[i]; i++)
        selected += dests[i]->selected(cfg) != 0;
    if (selected > 1)
        return sk_fail(err, SK_ERR_CONFIG, 0,
                       "both SNAPKEEP_DEST_DIR and S3_BUCKET are set: choose one with SNAPKEEP_DESTINATION=local|s3");
    for (size_t i = 0; dests[i]; i++) {
        if (name ? strcmp(dests[i]->name, name) == 0 : dests[i]->selected(cfg)) {
            *out = dests[i];
            return SK_OK;
        }
    }
    if (name)
        return sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_DESTINATION='%s' is not built in", name);
    return sk_fail(err, SK_ERR_CONFIG, 0,
                   "no destination configured: set SNAPKEEP_DEST_DIR to a directory, or S3_BUCKET (with "
                   "S3_ENDPOINT or R2_ACCOUNT_ID and the S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY credentials)");
}
