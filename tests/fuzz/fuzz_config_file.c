/*
 * fuzz_config_file: a libconfig job file (SNAPKEEP_CONFIG) to the job list: snapkeep's own checks
 * of it (sk_config_file_load: top-level keys, job groups, names, unknown keys, values against their
 * declarations) and the expansion of a PostgreSQL job into one job per database
 * (sk_jobs_expand). libconfig's own parser is fuzzed by its project; here it only feeds ours.
 * Input: the file's text (written to a memfd and read by path, as in production).
 * Properties: an accepted file has at least one job, each with a non-empty distinct name and a
 * configuration; after expansion the job names are still distinct (two jobs never share a
 * name, and so never a lock or a state).
 */
#include "fuzz.h"

#include <sys/mman.h>
#include <unistd.h>

#include "../../agent/config_file.h"
#include "../../agent/jobs_internal.h"
#include "../../agent/registry.h"

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if ((fd = memfd_create("snapkeep-fuzz.conf", 0)) < 0)
        return 1;
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    sk_job_configs jc;
    sk_err err = { 0 };
    if (sk_config_file_load(path, sk_all_settings(), NULL, &jc, &err) != SK_OK) {
        FUZZ_CHECK((err.rc == SK_ERR_CONFIG || err.rc == SK_ERR_INTERNAL) && strstr(err.msg, "SNAPKEEP_CONFIG"),
                   "rc %d: %s", err.rc, err.msg);
        FUZZ_CHECK(jc.n == 0 && !jc.names && !jc.cfgs, "a failed load leaves jobs behind");
        return 0;
    }
    FUZZ_CHECK(jc.n > 0, "accepted without jobs");
    for (size_t i = 0; i < jc.n; i++) {
        FUZZ_CHECK(jc.names[i] && jc.names[i][0] && jc.cfgs[i], "job %zu has no name or configuration", i);
        for (size_t k = 0; k < i; k++)
            FUZZ_CHECK(strcmp(jc.names[i], jc.names[k]), "two jobs named '%s'", jc.names[i]);
    }
    sk_jobs j;
    memset(&j, 0, sizeof j);
    sk_rc rc = SK_OK;
    for (size_t i = 0; i < jc.n && rc == SK_OK; i++)
        rc = sk_jobs_expand(&j, jc.cfgs[i], jc.names[i], &err);
    if (rc == SK_OK) {
        for (size_t i = 0; i < j.nderived; i++)
            for (size_t k = 0; k < i; k++)
                FUZZ_CHECK(strcmp(j.derived_names[i], j.derived_names[k]), "two jobs named '%s' after expansion",
                           j.derived_names[i]);
    } else {
        FUZZ_CHECK(err.msg[0], "expansion failed without a message");
    }
    sk_jobs_free(&j);
    sk_job_configs_free(&jc);
    return 0;
}
