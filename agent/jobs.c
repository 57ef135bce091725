#include "jobs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs_internal.h"
#include "registry.h"

static const char *env_get(void *ud, const char *name)
{
    (void)ud;
    return getenv(name);
}

static void add_secret(void *ud, const char *value) { sk_log_add_secret(ud, value); }



void sk_jobs_free(sk_jobs *j)
{
    for (size_t i = 0; i < j->n; i++) {
        sk_job_close(j->v[i].job);
        sk_schedule_free(j->v[i].schedule);
        sk_schedule_free(j->v[i].drill);
    }
    free(j->v);
    for (size_t i = 0; i < j->nderived; i++) {
        sk_config_free(j->derived[i]);
        free(j->derived_names[i]);
    }
    free(j->derived);
    free(j->derived_names);
    sk_job_configs_free(&j->cfgs);
    sk_config_free(j->env_cfg);
    memset(j, 0, sizeof *j);
}

static sk_rc add_derived(sk_jobs *j, sk_config *cfg, const char *base, const char *suffix, sk_err *err)
{
    sk_config **nc = realloc(j->derived, (j->nderived + 1) * sizeof *nc);
    char **nn = nc ? realloc(j->derived_names, (j->nderived + 1) * sizeof *nn) : NULL;
    if (nc)
        j->derived = nc;
    if (nn)
        j->derived_names = nn;
    size_t len = (base ? strlen(base) + 1 : 0) + strlen(suffix) + 1;
    char *dup = nn ? malloc(len) : NULL;
    if (dup)
        snprintf(dup, len, "%s%s%s", base ? base : "", base ? "/" : "", suffix);
    /* two jobs of one name would be one job to --job, and may share a lock, state and keys */
    for (size_t i = 0; dup && i < j->nderived; i++)
        if (!strcmp(j->derived_names[i], dup)) {
            sk_rc rc = sk_fail(err, SK_ERR_CONFIG, 0,
                               "two jobs are named '%s': list each database once in SNAPKEEP_PG_DATABASES, do not "
                               "name one 'globals' with SNAPKEEP_PG_GLOBALS, and do not name a job '<job>/<database>'",
                               dup);
            free(dup);
            sk_config_free(cfg);
            return rc;
        }
    if (!dup) {
        sk_config_free(cfg);
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    }
    j->derived[j->nderived] = cfg;
    j->derived_names[j->nderived++] = dup;
    return SK_OK;
}

typedef struct expand_ctx {
    sk_jobs *j;
    const char *base;
    size_t added;
} expand_ctx;

static sk_rc add_expanded(void *ud, sk_config *cfg, const char *name, sk_err *err)
{
    expand_ctx *x = ud;
    x->added++;
    return add_derived(x->j, cfg, x->base, name, err);
}

/* A job whose engine has an expand hook may stand for several (PostgreSQL: one per database and one
 * for the roles, named "<db>" or "<job>/<db>"); any other job is kept as it is. `base` is the job's
 * name in a config file, NULL in single-job mode. */
static sk_rc expand(sk_jobs *j, const sk_config *cfg, const char *base, sk_err *err)
{
    const char *engine = sk_config_str(cfg, "SNAPKEEP_ENGINE");
    const sk_engine_type *e = sk_engine_find(engine);
    if (e && e->expand) {
        expand_ctx x = { j, base, 0 };
        if (e->expand(cfg, add_expanded, &x, err) != SK_OK)
            return err->rc;
        if (x.added)
            return SK_OK;
    }
    /* kept as it is (a copy, so every job's configuration is owned the same way) */
    sk_config *copy = sk_config_override(cfg, "SNAPKEEP_ENGINE", engine, err);
    return copy ? add_derived(j, copy, NULL, base ? base : "default", err) : err->rc;
}

/* Two jobs with one key space in any destination would list, restore and prune each other's
 * backups there: refuse the configuration. (Their ids, the hash of all their key spaces, differ
 * as soon as their destinations do, so the lock, status file and metrics would not even be shared.) */
static sk_rc check_distinct(const sk_jobs *j, sk_err *err)
{
    for (size_t a = 0; a < j->n; a++)
        for (size_t b = a + 1; b < j->n; b++)
            for (size_t da = 0; da < sk_job_ndests(j->v[a].job); da++)
                for (size_t db = 0; db < sk_job_ndests(j->v[b].job); db++) {
                    if (strcmp(sk_job_dest_keyspace(j->v[a].job, da), sk_job_dest_keyspace(j->v[b].job, db)) != 0)
                        continue;
                    const char *svc, *env, *eng, *db_name;
                    sk_job_identity(j->v[a].job, &svc, &env, &eng, &db_name);
                    return sk_fail(err, SK_ERR_CONFIG, 0,
                                   "jobs '%s' and '%s' would share one key space (%s backups of database '%s' under "
                                   "'%s' in the same destination, %s), and with it one lock, status file and metrics: "
                                   "one job's retention would delete the other's backups and `restore latest` could "
                                   "return the other's database. Give one of them another SNAPKEEP_DB_NAME (or "
                                   "SNAPKEEP_SERVICE, SNAPKEEP_ENVIRONMENT, SNAPKEEP_PREFIX)",
                                   j->v[a].name, j->v[b].name, eng, db_name, sk_job_dir(j->v[a].job),
                                   sk_job_dest_describe(j->v[a].job, da));
                }
    return SK_OK;
}

sk_rc sk_jobs_load(sk_jobs *j, const sk_runtime *rt, char *const *environ_names, sk_err *err)
{
    memset(j, 0, sizeof *j);
    sk_config *envc = sk_config_load(sk_all_settings(), env_get, NULL, environ_names, err);
    if (!envc)
        return err->rc;
    const char *file = sk_config_str(envc, "SNAPKEEP_CONFIG");
    const sk_config *const *cfgs;
    const sk_config *single[1];
    char *const single_name[1] = { "default" };
    char *const *names;
    size_t n;
    if (file) {
        if (sk_config_file_load(file, sk_all_settings(), environ_names, &j->cfgs, err) != SK_OK) {
            sk_config_free(envc);
            return err->rc;
        }
        sk_config_free(envc);
        cfgs = (const sk_config *const *)j->cfgs.cfgs;
        names = j->cfgs.names;
        n = j->cfgs.n;
    } else {
        j->env_cfg = envc;
        single[0] = envc;
        cfgs = single;
        names = single_name;
        n = 1;
    }
    /* secrets are known from here on: redact them from every line */
    for (size_t i = 0; i < n; i++)
        sk_config_each_secret(cfgs[i], add_secret, rt->log);
    for (size_t i = 0; i < n; i++)
        if (expand(j, cfgs[i], file ? names[i] : NULL, err) != SK_OK) {
            if (file)
                sk_err_prefix(err, "job '%s': ", names[i]);
            return err->rc;
        }
    j->v = calloc(j->nderived, sizeof *j->v);
    if (!j->v)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    for (size_t i = 0; i < j->nderived; i++) {
        sk_agent_job *a = &j->v[i];
        a->name = j->derived_names[i];
        if (sk_job_open(j->derived[i], rt, &a->job, err) != SK_OK) {
            if (file || j->nderived > 1)
                sk_err_prefix(err, "job '%s': ", a->name);
            return err->rc;
        }
        j->n = i + 1;
    }
    return check_distinct(j, err);
}

sk_agent_job *sk_jobs_pick(sk_jobs *j, const char *name, sk_err *err)
{
    if (!name) {
        if (j->n == 1)
            return &j->v[0];
        char list[1024] = "";
        for (size_t i = 0; i < j->n; i++) {
            size_t used = strlen(list);
            int n = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", j->v[i].name);
            if (n < 0 || (size_t)n >= sizeof list - used) { /* too many to name: say so */
                memcpy(list + sizeof list - 6, ", ...", 6);
                break;
            }
        }
        sk_fail(err, SK_ERR_USAGE, 0, "SNAPKEEP_CONFIG lists %zu jobs: choose one with --job (%s)", j->n, list);
        return NULL;
    }
    for (size_t i = 0; i < j->n; i++)
        if (!strcmp(j->v[i].name, name))
            return &j->v[i];
    sk_fail(err, SK_ERR_USAGE, 0, "--job '%s': no such job", name);
    return NULL;
}


/* Hook for tests and fuzzing (jobs_internal.h). */
sk_rc sk_jobs_expand(sk_jobs *j, const sk_config *cfg, const char *base, sk_err *err)
{
    return expand(j, cfg, base, err);
}
