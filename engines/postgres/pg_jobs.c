/*
 * pg_jobs.c: the PostgreSQL engine's job expansion (sk_engine_type.expand): one job with
 * SNAPKEEP_PG_DATABASES and/or SNAPKEEP_PG_GLOBALS becomes one job per database, each storing its
 * own artifact (SNAPKEEP_PG_DATABASE set), plus one for the server's roles (SNAPKEEP_PG_ARTIFACT=
 * globals). Without SNAPKEEP_PG_DATABASES, the database the URL names is a job of its own.
 */
#include "pg_engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* cfg with each (name, value) pair applied, value NULL unsetting it. */
static sk_config *derive(const sk_config *cfg, const char *const *pairs, size_t npairs, sk_err *err)
{
    sk_config *cur = NULL;
    for (size_t i = 0; i < npairs; i++) {
        sk_config *next = sk_config_override(cur ? cur : cfg, pairs[2 * i], pairs[2 * i + 1], err);
        sk_config_free(cur);
        if (!(cur = next))
            return NULL;
    }
    return cur;
}

sk_rc sk_pg_expand(const sk_config *cfg, sk_expand_add_fn add, void *ud, sk_err *err)
{
    const char *dbs = sk_config_str(cfg, "SNAPKEEP_PG_DATABASES");
    int globals = sk_config_bool(cfg, "SNAPKEEP_PG_GLOBALS");
    if (!dbs && !globals)
        return SK_OK; /* one job, as it is */
    char *list = strdup(dbs ? dbs : "");
    if (!list)
        return sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "out of memory");
    sk_rc rc = SK_OK;
    size_t made = 0;
    for (char *save = NULL, *db = strtok_r(list, ",", &save); db && rc == SK_OK; db = strtok_r(NULL, ",", &save)) {
        while (*db == ' ' || *db == '\t')
            db++;
        for (size_t l = strlen(db); l > 0 && (db[l - 1] == ' ' || db[l - 1] == '\t'); l--)
            db[l - 1] = '\0';
        if (!*db)
            continue;
        const char *pairs[] = { "SNAPKEEP_PG_DATABASES", NULL, "SNAPKEEP_PG_GLOBALS", NULL, "SNAPKEEP_PG_DATABASE", db };
        sk_config *c = derive(cfg, pairs, 3, err);
        rc = c ? add(ud, c, db, err) : err->rc;
        made++;
        if (rc != SK_OK)
            sk_err_prefix(err, "SNAPKEEP_PG_DATABASES: '%s': ", db);
    }
    free(list);
    if (rc == SK_OK && !dbs) {
        /* the database the URL names, as a job of its own */
        const char *pairs[] = { "SNAPKEEP_PG_GLOBALS", NULL };
        sk_config *c = derive(cfg, pairs, 1, err);
        rc = c ? add(ud, c, "database", err) : err->rc;
        made++;
    }
    if (rc == SK_OK && dbs && made == 0)
        rc = sk_fail(err, SK_ERR_CONFIG, 0, "SNAPKEEP_PG_DATABASES holds no database name");
    if (rc == SK_OK && globals) {
        const char *pairs[] = { "SNAPKEEP_PG_DATABASES", NULL, "SNAPKEEP_PG_GLOBALS", NULL, "SNAPKEEP_PG_ARTIFACT",
                                "globals" };
        sk_config *c = derive(cfg, pairs, 3, err);
        rc = c ? add(ud, c, "globals", err) : err->rc;
    }
    return rc;
}
