/*
 * fuzz_key: the object-key parser (sk_key_match), which reads the keys a bucket listing returns
 * and decides which are this job's backups and when they were taken.
 * Input: tag, db and extension separated by NUL bytes, then the key.
 * Property: a key that matches is the key sk_key_build writes for the same tag, db, time and
 * extension (in the key's own directory): nothing else is taken for a backup (years 1000 on).
 */
#include "fuzz.h"

#include <inttypes.h>

#include "../../agent/naming.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *all = fuzz_cstr(data, size);
    const char *f[4];
    const char *p = all, *end = all + size;
    for (int i = 0; i < 4; i++) {
        if (p > end) {
            free(all);
            return 0;
        }
        f[i] = p;
        p += strlen(p) + 1;
    }
    const char *tag = f[0], *db = f[1], *ext = f[2], *key = f[3];
    int64_t ts = 0;
    if (sk_key_match(key, tag, db, ext, &ts)) {
        const char *base = sk_key_base(key);
        char dir[1100], built[1400];
        size_t dl = (size_t)(base - key);
        /* before year 1000 strftime's %Y has fewer than 4 digits: sk_key_build writes such a key
         * differently, but no clock snapkeep runs under is there */
        if (dl < sizeof dir && ts >= INT64_C(-30610224000)) {
            memcpy(dir, key, dl);
            dir[dl] = '\0';
            if (sk_key_build(dir, tag, db, ts, ext, built, sizeof built) == 0)
                FUZZ_CHECK(strcmp(built, key) == 0, "'%s' matched (tag '%s', db '%s', ext '%s', time %" PRId64
                           ") but the key for that is '%s'", key, tag, db, ext, ts, built);
        }
    }
    free(all);
    return 0;
}
