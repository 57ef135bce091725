#include "registry.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engines/pocketbase/pocketbase.h"
#include "../engines/postgres/pg_engine.h"
#include "../engines/sqlite/sqlite.h"
#include "../uploader/local/local.h"
#include "../uploader/s3/s3.h"
#include "crypt.h"
#include "drill.h"

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
    sk_drill_settings,
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

/* "s3" -> "S3" */
static void upper_name(const sk_dest_type *t, char *out, size_t sz)
{
    size_t i;
    for (i = 0; t->name[i] && i + 1 < sz; i++)
        out[i] = (char)toupper((unsigned char)t->name[i]);
    out[i] = '\0';
}

/* Is `base` (less a trailing _FILE) one of t's slot settings? */
static int is_slot_setting(const sk_dest_type *t, const char *base, size_t len)
{
    /* S3_CA_FILE is a setting itself, S3_BUCKET_FILE is S3_BUCKET read from a file */
    size_t stem = len > 5 && !strncmp(base + len - 5, "_FILE", 5) ? len - 5 : len;
    for (size_t i = 0; t->slot_settings && t->slot_settings[i]; i++) {
        size_t n = strlen(t->slot_settings[i]);
        if ((n == len || n == stem) && !strncmp(t->slot_settings[i], base, n))
            return 1;
    }
    return 0;
}

int sk_dest_setting_name(const sk_dest_type *type, const char *base, int slot, char *out, size_t sz)
{
    char up[32];
    int n;
    upper_name(type, up, sizeof up);
    size_t ul = strlen(up);
    if (slot <= 1 || !is_slot_setting(type, base, strlen(base)))
        n = snprintf(out, sz, "%s", base);
    else if (!strncmp(base, up, ul) && base[ul] == '_')
        n = snprintf(out, sz, "%s_%d_%s", up, slot, base + ul + 1);
    else
        n = snprintf(out, sz, "%s_%d_%s", up, slot, base);
    return n < 0 || (size_t)n >= sz ? -1 : 0;
}

int sk_dest_setting_parse(const char *name, const sk_dest_type **type, int *slot, char *base, size_t sz)
{
    for (size_t i = 0; dests[i]; i++) {
        char up[32];
        upper_name(dests[i], up, sizeof up);
        size_t ul = strlen(up);
        if (strncmp(name, up, ul) != 0 || name[ul] != '_' || !isdigit((unsigned char)name[ul + 1]))
            continue;
        char *end;
        long n = strtol(name + ul + 1, &end, 10);
        if (*end != '_' || n < 2 || n > 99)
            continue;
        const char *rest = end + 1;
        /* only the form sk_dest_setting_name writes: not S3_02_BUCKET, nor S3_2_S3_BUCKET */
        char back[160];
        int w = snprintf(base, sz, "%s_%s", up, rest);
        if (w > 0 && (size_t)w < sz && is_slot_setting(dests[i], base, strlen(base)) &&
            sk_dest_setting_name(dests[i], base, (int)n, back, sizeof back) == 0 && !strcmp(back, name)) {
            *type = dests[i];
            *slot = (int)n;
            return 1;
        }
        w = snprintf(base, sz, "%s", rest);
        if (w > 0 && (size_t)w < sz && is_slot_setting(dests[i], base, strlen(base)) &&
            sk_dest_setting_name(dests[i], base, (int)n, back, sizeof back) == 0 && !strcmp(back, name)) {
            *type = dests[i];
            *slot = (int)n;
            return 1;
        }
    }
    return 0;
}

void sk_dest_label(const sk_dest_type *type, int slot, char *out, size_t sz)
{
    if (slot <= 1)
        snprintf(out, sz, "%s", type->name);
    else
        snprintf(out, sz, "%s_%d", type->name, slot);
}

sk_rc sk_dests_select(const sk_config *cfg, sk_dest_pick *out, size_t *n, sk_err *err)
{
    const char *only = sk_config_str(cfg, "SNAPKEEP_DESTINATION");
    *n = 0;
    for (size_t i = 0; dests[i]; i++) {
        for (int slot = 1; slot <= dests[i]->slots; slot++) {
            if (!dests[i]->selected(cfg, slot)) {
                /* a slot's settings without the one that selects it: a forgotten or misspelt bucket */
                for (size_t k = 0; slot > 1 && dests[i]->slot_settings[k]; k++) {
                    char var[128], sel[128];
                    if (sk_dest_setting_name(dests[i], dests[i]->slot_settings[k], slot, var, sizeof var) == 0 &&
                        sk_config_str(cfg, var) && strcmp(sk_config_origin(cfg, var), "default") != 0) {
                        sk_dest_setting_name(dests[i], dests[i]->slot_settings[0], slot, sel, sizeof sel);
                        return sk_fail(err, SK_ERR_CONFIG, 0, "%s is set but %s is not: destination %s %d needs it "
                                       "(or unset %s)", var, sel, dests[i]->name, slot, var);
                    }
                }
                continue;
            }
            if (only && strcmp(only, dests[i]->name) != 0)
                continue; /* SNAPKEEP_DESTINATION keeps one type only */
            if (*n == SK_MAX_DESTS)
                return sk_fail(err, SK_ERR_CONFIG, 0, "more than %d destinations are configured", SK_MAX_DESTS);
            out[*n].type = dests[i];
            out[*n].slot = slot;
            ++*n;
        }
    }
    if (*n)
        return SK_OK;
    if (only)
        return sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_DESTINATION=%s, but no %s destination is configured (%s)",
                       only, only, !strcmp(only, "local") ? "set SNAPKEEP_DEST_DIR" : "set S3_BUCKET");
    return sk_fail(err, SK_ERR_CONFIG, 0,
                   "no destination configured: set SNAPKEEP_DEST_DIR to a directory, and/or S3_BUCKET (with "
                   "S3_ENDPOINT or R2_ACCOUNT_ID and the S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY credentials); "
                   "further buckets as S3_2_BUCKET, S3_2_ENDPOINT, ...");
}
