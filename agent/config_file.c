#include "config_file.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

typedef struct lookup {
    const config_setting_t *job, *defaults;
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

static const char *file_get(void *ud, const char *name)
{
    lookup *l = ud;
    char key[160];
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

static sk_rc check_keys(const char *path, const char *where, const config_setting_t *g,
                        const sk_setting_def *const *tables, int allow_name, sk_err *err)
{
    for (int i = 0; g && i < config_setting_length(g); i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *key = config_setting_name(s);
        if (allow_name && !strcmp(key, "name"))
            continue;
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
    if (check_keys(path, "defaults", defaults, tables, 0, err) != SK_OK)
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
        if (check_keys(path, where, job, tables, 1, err) != SK_OK)
            goto fail;
        lookup l = { job, defaults, name, { { 0 } }, 0 };
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
