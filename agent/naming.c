#include "naming.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int sk_key_dir(const char *prefix, const char *service, const char *environment, char *out, size_t outsz)
{
    int n = prefix && *prefix ? snprintf(out, outsz, "%s/%s/%s/", prefix, service, environment)
                              : snprintf(out, outsz, "%s/%s/", service, environment);
    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int sk_key_build(const char *dir, const char *tag, const char *db, int64_t ts, const char *ext, char *out,
                 size_t outsz)
{
    struct tm tm;
    time_t t = (time_t)ts;
    char stamp[32];
    if (!gmtime_r(&t, &tm))
        return -1;
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    int n = snprintf(out, outsz, "%s%s_%s_%s.%s.zst", dir, tag, db, stamp, ext);
    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int sk_key_in_dir(const char *key, const char *dir)
{
    size_t dl = strlen(dir);
    return strncmp(key, dir, dl) == 0 && !strchr(key + dl, '/');
}

const char *sk_key_base(const char *key)
{
    const char *slash = strrchr(key, '/');
    return slash ? slash + 1 : key;
}

static int digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int num(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int sk_key_match(const char *key, const char *tag, const char *db, const char *ext, int64_t *ts)
{
    const char *b = sk_key_base(key);
    size_t lt = strlen(tag), ld = strlen(db), le = strlen(ext), lb = strlen(b);
    /* tag _ db _ YYYYMMDD-HHMMSS . ext .zst [.age] */
    size_t la = sk_key_encrypted(b) ? strlen(SK_AGE_SUFFIX) : 0;
    lb -= la;
    if (lb != lt + 1 + ld + 1 + 15 + 1 + le + 4)
        return 0;
    if (strncmp(b, tag, lt) != 0 || b[lt] != '_' || strncmp(b + lt + 1, db, ld) != 0 || b[lt + 1 + ld] != '_')
        return 0;
    const char *s = b + lt + 1 + ld + 1;
    if (!digits(s, 8) || s[8] != '-' || !digits(s + 9, 6) || s[15] != '.')
        return 0;
    if (strncmp(s + 16, ext, le) != 0 || strncmp(s + 16 + le, ".zst", 4) != 0)
        return 0;
    struct tm tm = { 0 };
    tm.tm_year = num(s, 4) - 1900;
    tm.tm_mon = num(s + 4, 2) - 1;
    tm.tm_mday = num(s + 6, 2);
    tm.tm_hour = num(s + 9, 2);
    tm.tm_min = num(s + 11, 2);
    tm.tm_sec = num(s + 13, 2);
    if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return 0;
    if (ts)
        *ts = (int64_t)timegm(&tm);
    return 1;
}

int sk_key_encrypted(const char *key)
{
    size_t n = strlen(key);
    return n > 8 && strcmp(key + n - 8, ".zst" SK_AGE_SUFFIX) == 0;
}

void sk_iso8601(int64_t ts, char *out, size_t outsz)
{
    struct tm tm;
    time_t t = (time_t)ts;
    gmtime_r(&t, &tm);
    strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
