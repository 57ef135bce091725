/*
 * naming.h: object keys.
 *
 *   <prefix>/<service>/<environment>/<tag>_<db>_<YYYYMMDD-HHMMSS>.<ext>.zst      the data
 *   ...<same>.zst.age                                  the data, encrypted (age v1); sidecars follow
 *   ...<same>.zst.md5                                                          md5sum sidecar
 *   ...<same>.zst.manifest.json                                                manifest (last)
 *
 * The time is UTC. <db> may itself contain '_' ("app_db"): a key is parsed from both ends.
 */
#ifndef SK_NAMING_H
#define SK_NAMING_H

#include <stddef.h>
#include <stdint.h>

#define SK_MD5_SUFFIX ".md5"
#define SK_MANIFEST_SUFFIX ".manifest.json"
#define SK_AGE_SUFFIX ".age"
/* Written before anything else of a backup (and before a deletion) and removed last: it marks the
 * objects of its key as snapkeep's own work in progress, the only ones orphan cleanup may delete. */
#define SK_PENDING_SUFFIX ".snapkeep-pending"

/* The longest service, environment or database name a job accepts (the manifest's field size):
 * longer ones are refused when the job opens, never cut. */
#define SK_NAME_MAX 127

/* "<prefix>/<service>/<environment>/" (no leading part when prefix is empty). 0 on success. */
int sk_key_dir(const char *prefix, const char *service, const char *environment, char *out, size_t outsz);

/* dir + "<tag>_<db>_<YYYYMMDD-HHMMSS>.<ext>.zst". 0 on success. */
int sk_key_build(const char *dir, const char *tag, const char *db, int64_t ts, const char *ext, char *out,
                 size_t outsz);

/* Is `key` (full key or base name) a data object of this tag/db/ext, encrypted (".zst.age") or
 * not? Fills *ts (UTC seconds). */
int sk_key_match(const char *key, const char *tag, const char *db, const char *ext, int64_t *ts);

/* Does the data key name an encrypted object (ends with ".zst.age")? */
int sk_key_encrypted(const char *key);
/* Is `key` directly in `dir` (a key_dir), not in a directory below it? Another job's directory can
 * sit below this one's (service "a" vs "a/b"-like prefixes), and its keys are not this job's. */
int sk_key_in_dir(const char *key, const char *dir);

/* The base name of a key (after the last '/'). */
const char *sk_key_base(const char *key);

/* "YYYY-MM-DDTHH:MM:SSZ" for a UTC time; out needs 21 bytes. */
void sk_iso8601(int64_t ts, char *out, size_t outsz);

#endif
