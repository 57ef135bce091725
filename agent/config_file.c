#include "config_file.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "registry.h"

typedef struct lookup {
    const config_setting_t *job, *defaults;
    const config_setting_t *dests;   /* the job's `destinations` list, else the defaults', else NULL */
    const char *job_name;
    char buf[4][256];      /* values converted from numbers/booleans */
    int nbuf;
} lookup;

/* "SNAPKEEP_SQLITE_PATH_FILE" -> "sqlite_path_file", "S3_BUCKET" -> "s3_bucket" */
static void key_of(const char *name, char *out, size_t outsz)
{
    if (strncmp(name, "SNAPKEEP_", 9) == 0)
        name += 9;
    size_t i;
    for (i = 0; name[i] && i + 1 < outsz; i++)
        out[i] = (char)tolower((unsigned char)name[i]);
    out[i] = '\0';
}

static const char *value_of(lookup *l, const config_setting_t *g, const char *key)
{
    const config_setting_t *s = g ? config_setting_get_member(g, key) : NULL;
    if (!s)
        return NULL;
    char *b = l->buf[l->nbuf++ % 4];
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_STRING: return config_setting_get_string(s);
    case CONFIG_TYPE_INT: snprintf(b, 256, "%d", config_setting_get_int(s)); return b;
    case CONFIG_TYPE_INT64: snprintf(b, 256, "%lld", config_setting_get_int64(s)); return b;
    case CONFIG_TYPE_BOOL: return config_setting_get_bool(s) ? "true" : "false";
    case CONFIG_TYPE_FLOAT: snprintf(b, 256, "%g", config_setting_get_float(s)); return b;
    default: return NULL; /* groups/lists: rejected by check_keys */
    }
}

/* Is `name` (optionally ending in _FILE) a setting each destination has its own of? Its type,
 * slot and slot 1 name. */
static int dest_setting(const char *name, const sk_dest_type **type, int *slot, char *base, size_t sz)
{
    if (sk_dest_setting_parse(name, type, slot, base, sz))
        return 1;
    size_t len = strlen(name), stem = len > 5 && !strcmp(name + len - 5, "_FILE") ? len - 5 : len;
    const sk_dest_type *const *d = sk_dests();
    for (size_t i = 0; d[i]; i++)
        for (size_t k = 0; d[i]->slot_settings[k]; k++)
            if ((strlen(d[i]->slot_settings[k]) == len || strlen(d[i]->slot_settings[k]) == stem) &&
                !strncmp(d[i]->slot_settings[k], name, strlen(d[i]->slot_settings[k]))) {
                *type = d[i];
                *slot = 1;
                snprintf(base, sz, "%s", name);
                return 1;
            }
    return 0;
}

/* The `slot`-th element of `type` in a destinations list. */
static const config_setting_t *dest_elem(const config_setting_t *list, const sk_dest_type *type, int slot)
{
    int seen = 0;
    for (int i = 0; i < config_setting_length(list); i++) {
        const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
        const char *t = NULL;
        if (config_setting_lookup_string(e, "type", &t) && !strcmp(t, type->name) && ++seen == slot)
            return e;
    }
    return NULL;
}

/* With a `destinations` list, every setting of a destination comes from its element only (not from
 * flat keys, defaults or the environment, the AWS_* names included): the list is all there is. */
static int from_dest_list(lookup *l, const char *name, const char **out)
{
    const sk_dest_type *type;
    int slot;
    char base[128], key[160];
    if (!l->dests)
        return 0;
    if (!strncmp(name, "AWS_", 4)) {
        *out = NULL;
        return 1;
    }
    if (!dest_setting(name, &type, &slot, base, sizeof base))
        return 0;
    key_of(base, key, sizeof key);
    const config_setting_t *e = dest_elem(l->dests, type, slot);
    *out = e ? value_of(l, e, key) : NULL;
    return 1;
}

static const char *file_get(void *ud, const char *name)
{
    lookup *l = ud;
    char key[160];
    const char *dv;
    if (from_dest_list(l, name, &dv))
        return dv;
    key_of(name, key, sizeof key);
    const char *v = value_of(l, l->job, key);
    if (!v)
        v = value_of(l, l->defaults, key);
    if (!v && strcmp(name, "SNAPKEEP_SERVICE") == 0 && !getenv("SNAPKEEP_SERVICE") && !getenv("SNAPKEEP_SERVICE_FILE") &&
        !value_of(l, l->job, "service_file") && !value_of(l, l->defaults, "service_file"))
        return l->job_name;
    return v ? v : getenv(name);
}

static int declared_key(const sk_setting_def *const *tables, const char *key)
{
    char k[160];
    for (size_t t = 0; tables[t]; t++)
        for (const sk_setting_def *d = tables[t]; d->name; d++) {
            key_of(d->name, k, sizeof k);
            size_t n = strlen(k);
            if (!strcmp(k, key) || (!strncmp(k, key, n) && !strcmp(key + n, "_file")))
                return 1;
        }
    return 0;
}

/* A `destinations = ( { type = "s3"; s3_bucket = "..."; ... }, ... );` list: groups of a known
 * type, at most as many of a type as it has slots, each with that type's own settings only. */
static sk_rc check_dests(const char *path, const char *where, const config_setting_t *list, sk_err *err)
{
    if (!config_setting_is_list(list) || config_setting_length(list) == 0)
        return sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_CONFIG '%s': %s: 'destinations' (line %d) must be a non-empty "
                       "list ( { type = \"local\"; dest_dir = \"...\"; }, { type = \"s3\"; s3_bucket = \"...\"; ... } )",
                       path, where, config_setting_source_line(list));
    const sk_dest_type *const *dests = sk_dests();
    int count[SK_MAX_DESTS] = { 0 };
    for (int i = 0; i < config_setting_length(list); i++) {
        const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
        const char *t = NULL;
        size_t ti;
        int line = config_setting_source_line(e);
        if (!config_setting_is_group(e) || !config_setting_lookup_string(e, "type", &t))
            return sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_CONFIG '%s': %s: destination #%d (line %d) needs "
                           "type = \"local\"; or type = \"s3\";", path, where, i + 1, line);
        for (ti = 0; dests[ti] && strcmp(dests[ti]->name, t) != 0; ti++)
            ;
        if (!dests[ti])
            return sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_CONFIG '%s': %s: destination #%d (line %d): unknown type "
                           "'%s': accepted local, s3", path, where, i + 1, line, t);
        if (++count[ti] > dests[ti]->slots)
            return sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_CONFIG '%s': %s: destination #%d (line %d): at most %d "
                           "destination(s) of type %s per job", path, where, i + 1, line, dests[ti]->slots, t);
        for (int k = 0; k < config_setting_length(e); k++) {
            const config_setting_t *s = config_setting_get_elem(e, (unsigned)k);
            const char *key = config_setting_name(s);
            const char *best = NULL;
            size_t bestd = 4;
            int ok = !strcmp(key, "type");
            for (size_t n = 0; !ok && dests[ti]->slot_settings[n]; n++) {
                char kk[160], kf[170];
                key_of(dests[ti]->slot_settings[n], kk, sizeof kk);
                snprintf(kf, sizeof kf, "%s_file", kk);
                ok = !strcmp(key, kk) || !strcmp(key, kf);
                size_t dd = sk_edit_distance(key, kk);
                if (dd < bestd) {
                    bestd = dd;
                    best = dests[ti]->slot_settings[n];
                }
            }
            if (ok && config_setting_type(s) != CONFIG_TYPE_GROUP && config_setting_type(s) != CONFIG_TYPE_LIST &&
                config_setting_type(s) != CONFIG_TYPE_ARRAY)
                continue;
            char sug[160] = "";
            if (best)
                key_of(best, sug, sizeof sug);
            return sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_CONFIG '%s': %s: destination #%d (%s, line %d): %s '%s'%s%s%s",
                           path, where, i + 1, t, config_setting_source_line(s),
                           ok ? "must be a single value:" : "unknown setting", key, best && !ok ? ": did you mean '" : "",
                           best && !ok ? sug : "", best && !ok ? "'?" : "");
        }
    }
    return SK_OK;
}

static sk_rc check_keys(const char *path, const char *where, const config_setting_t *g,
                        const config_setting_t *inherited, const sk_setting_def *const *tables, int allow_name,
                        sk_err *err)
{
    const config_setting_t *list = g ? config_setting_get_member(g, "destinations") : NULL;
    if (!list)
        list = inherited; /* the defaults' list: this job's destinations too */
    for (int i = 0; g && i < config_setting_length(g); i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *key = config_setting_name(s);
        if (allow_name && !strcmp(key, "name"))
            continue;
        if (!strcmp(key, "destinations")) {
            if (check_dests(path, where, s, err) != SK_OK)
                return err->rc;
            continue;
        }
        if (list) {
            const sk_dest_type *dt;
            int slot;
            char base[128], up[160], snap[170];
            snprintf(up, sizeof up, "%s", key);
            for (char *p = up; *p; p++)
                *p = (char)toupper((unsigned char)*p);
            snprintf(snap, sizeof snap, "SNAPKEEP_%s", up);
            if (dest_setting(up, &dt, &slot, base, sizeof base) || dest_setting(snap, &dt, &slot, base, sizeof base) ||
                !strncmp(up, "AWS_", 4))
                return sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_CONFIG '%s': %s: '%s' (line %d) is a destination's "
                               "setting, and 'destinations'%s lists them: put it in its element of the list", path,
                               where, key, config_setting_source_line(s),
                               list == inherited ? " (in defaults)" : "");
        }
        int t = config_setting_type(s);
        if (t == CONFIG_TYPE_GROUP || t == CONFIG_TYPE_LIST || t == CONFIG_TYPE_ARRAY)
            return sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_CONFIG '%s': %s: '%s' (line %d) must be a single value",
                           path, where, key, config_setting_source_line(s));
        if (!declared_key(tables, key))
            return sk_fail(err, SK_ERR_CONFIG, 0,
                           "SNAPKEEP_CONFIG '%s': %s: unknown setting '%s' (line %d); settings are the variable names "
                           "in lower case without SNAPKEEP_ (see snapkeep --help)",
                           path, where, key, config_setting_source_line(s));
    }
    return SK_OK;
}

sk_rc sk_config_file_load(const char *path, const sk_setting_def *const *tables, char *const *environ_names,
                          sk_job_configs *out, sk_err *err)
{
    config_t cf;
    memset(out, 0, sizeof *out);
    config_init(&cf);
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* a FIFO would block start-up; libconfig reads only files */
        sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_CONFIG '%s' is not a regular file", path);
        goto fail;
    }
    if (!config_read_file(&cf, path)) {
        if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
            sk_fail(err, SK_ERR_CONFIG, errno, "SNAPKEEP_CONFIG '%s': cannot read it: %s", path, strerror(errno));
        else
            sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_CONFIG '%s': line %d: %s", path, config_error_line(&cf),
                    config_error_text(&cf));
        goto fail;
    }
    const config_setting_t *root = config_root_setting(&cf);
    for (int i = 0; i < config_setting_length(root); i++) {
        const char *k = config_setting_name(config_setting_get_elem(root, (unsigned)i));
        if (strcmp(k, "jobs") != 0 && strcmp(k, "defaults") != 0) {
            sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_CONFIG '%s': unknown top-level setting '%s': expected "
                    "'defaults' and 'jobs'", path, k);
            goto fail;
        }
    }
    const config_setting_t *defaults = config_lookup(&cf, "defaults");
    const config_setting_t *jobs = config_lookup(&cf, "jobs");
    if (defaults && !config_setting_is_group(defaults)) {
        sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_CONFIG '%s': 'defaults' must be a group { ... }", path);
        goto fail;
    }
    if (!jobs || !config_setting_is_list(jobs) || config_setting_length(jobs) == 0) {
        sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_CONFIG '%s': 'jobs' must be a non-empty list ( { name = ...; }, ... )",
                path);
        goto fail;
    }
    if (check_keys(path, "defaults", defaults, NULL, tables, 0, err) != SK_OK)
        goto fail;
    size_t n = (size_t)config_setting_length(jobs);
    out->names = calloc(n, sizeof *out->names);
    out->cfgs = calloc(n, sizeof *out->cfgs);
    if (!out->names || !out->cfgs) {
        sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *job = config_setting_get_elem(jobs, (unsigned)i);
        const char *name = NULL;
        char where[300];
        if (!config_setting_is_group(job) || !config_setting_lookup_string(job, "name", &name) || !*name) {
            sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_CONFIG '%s': job #%zu (line %d) needs name = \"...\";", path, i + 1,
                    config_setting_source_line(job));
            goto fail;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(out->names[j], name)) {
                sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_CONFIG '%s': two jobs are named '%s'", path, name);
                goto fail;
            }
        snprintf(where, sizeof where, "job '%s'", name);
        if (check_keys(path, where, job, defaults ? config_setting_get_member(defaults, "destinations") : NULL, tables, 1,
                       err) != SK_OK)
            goto fail;
        const config_setting_t *dl = config_setting_get_member(job, "destinations");
        lookup l = { job, defaults, dl ? dl : defaults ? config_setting_get_member(defaults, "destinations") : NULL,
                     name, { { 0 } }, 0 };
        if (!(out->names[i] = strdup(name))) {
            sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
            goto fail;
        }
        out->n = i + 1;
        if (!(out->cfgs[i] = sk_config_load(tables, file_get, &l, environ_names, err))) {
            sk_err_prefix(err, "SNAPKEEP_CONFIG '%s': job '%s': ", path, name);
            goto fail;
        }
    }
    config_destroy(&cf);
    return SK_OK;
fail:
    config_destroy(&cf);
    sk_job_configs_free(out);
    return err->rc;
}

void sk_job_configs_free(sk_job_configs *j)
{
    for (size_t i = 0; i < j->n; i++) {
        free(j->names ? j->names[i] : NULL);
        sk_config_free(j->cfgs ? j->cfgs[i] : NULL);
    }
    free(j->names);
    free(j->cfgs);
    memset(j, 0, sizeof *j);
}
