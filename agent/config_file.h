/*
 * config_file.h: several jobs from one libconfig file (SNAPKEEP_CONFIG, e.g. /etc/snapkeep.conf).
 *
 *   defaults = { dest_dir = "/backups"; retention_days = 30; };
 *   jobs = (
 *     { name = "app"; engine = "sqlite"; sqlite_path = "/data/app.db"; schedule = "0 * * * *"; },
 *     { name = "pb";  engine = "pocketbase"; pocketbase_url = "http://pb:8090"; ... }
 *   );
 *
 * A setting's key is its variable name in lower case, without the SNAPKEEP_ prefix
 * (SNAPKEEP_SQLITE_PATH -> sqlite_path, S3_BUCKET -> s3_bucket); `<key>_file` reads the value from
 * a file, as X_FILE does. A job's value comes from its group, else from `defaults`, else from the
 * environment (so secrets can stay in the environment or in *_FILE). `service` defaults to the
 * job's name. Unknown keys are errors naming the file, the job and the key.
 *
 * Several destinations of a job (in a job or in `defaults`; the job's list replaces the defaults'):
 *   destinations = ( { type = "local"; dest_dir = "/backups"; },
 *                    { type = "s3"; s3_endpoint = "https://..."; s3_bucket = "a"; s3_access_key_id = "...";
 *                      s3_secret_access_key_file = "/run/secrets/a"; },
 *                    { type = "s3"; r2_account_id = "..."; s3_bucket = "b"; ... } );
 * Each element holds its type's own settings under their slot 1 keys; the n-th element of a type is
 * its slot n (the second s3 one reads as S3_2_*). With a list, destination settings come from it
 * only: a flat destination key beside it is an error, and the environment supplies none of them.
 */
#ifndef SK_CONFIG_FILE_H
#define SK_CONFIG_FILE_H

#include "config.h"

typedef struct sk_job_configs {
    char **names;          /* job names */
    sk_config **cfgs;
    size_t n;
} sk_job_configs;

/* Load every job of `path`. environ_names: for the unknown SNAPKEEP_* environment check. */
sk_rc sk_config_file_load(const char *path, const sk_setting_def *const *tables, char *const *environ_names,
                          sk_job_configs *out, sk_err *err);
void sk_job_configs_free(sk_job_configs *j);

#endif
