#include "retention.h"

#include <time.h>

/* Bucket ids for GFS: days since the epoch, ISO year*100+week, year*100+month. */
static long bucket(int64_t ts, int kind)
{
    time_t t = (time_t)ts;
    struct tm tm;
    gmtime_r(&t, &tm);
    if (kind == 0)
        return (long)(ts / 86400);
    if (kind == 2)
        return (tm.tm_year + 1900) * 100L + tm.tm_mon + 1;
    char buf[16];
    strftime(buf, sizeof buf, "%G%V", &tm);
    long v = 0;
    for (const char *p = buf; *p; p++)
        v = v * 10 + (*p - '0');
    return v;
}

static void keep_gfs(sk_retention_item *items, size_t n, int count, int kind, const char *reason)
{
    long last = -1;
    int seen = 0;
    for (size_t i = 0; i < n && seen < count; i++) {
        long b = bucket(items[i].ts, kind);
        if (b == last)
            continue;
        last = b; /* newest first: the first item of a bucket is its newest */
        seen++;
        if (!items[i].keep) {
            items[i].keep = 1;
            items[i].reason = reason;
        }
    }
}

void sk_retention_decide(sk_retention_item *items, size_t n, const sk_retention_policy *p, int64_t now)
{
    int64_t good = 0; /* good backups seen so far, newest first */
    for (size_t i = 0; i < n; i++) {
        items[i].keep = 0;
        items[i].reason = "older than the retention period";
        if (!items[i].suspect && good++ < p->keep_min) {
            items[i].keep = 1;
            items[i].reason = "among the newest SNAPKEEP_KEEP_MIN";
        } else if (p->days == 0) {
            items[i].keep = 1;
            items[i].reason = "no age limit (SNAPKEEP_RETENTION_DAYS=0)";
        } else if (now - items[i].ts < (int64_t)p->days * 86400) {
            items[i].keep = 1;
            items[i].reason = "within SNAPKEEP_RETENTION_DAYS";
        }
    }
    keep_gfs(items, n, p->daily, 0, "newest of its day (SNAPKEEP_KEEP_DAILY)");
    keep_gfs(items, n, p->weekly, 1, "newest of its week (SNAPKEEP_KEEP_WEEKLY)");
    keep_gfs(items, n, p->monthly, 2, "newest of its month (SNAPKEEP_KEEP_MONTHLY)");
}
