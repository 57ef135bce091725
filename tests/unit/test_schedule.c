/*
 * Unit tests for agent/schedule.c: cron parsing, next-fire times in UTC and in DST zones,
 * the documented DST semantics, time-zone loading, formatting and local-time parsing.
 *
 * Expected fire times in the table were computed independently of this module: by a brute-force
 * minute-by-minute scan in Python 3 (zoneinfo over the same tzdata), then spot-checked by hand
 * with `TZ=... date -d @...`. They are written as UTC instants and converted with glibc timegm().
 * Needs tzdata (/usr/share/zoneinfo) for the named zones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "../../agent/err.h"
#include "../../agent/schedule.h"

/* "YYYY-MM-DDTHH:MM:SSZ" -> unix seconds, via the C library (independent of the module). */
static int64_t utc(const char *iso)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int n = sscanf(iso, "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                   &tm.tm_min, &tm.tm_sec);
    assert_int_equal(n, 6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

static void fmt_utc(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const struct next_case {
    const char *expr, *tz, *after, *expect;
} cases[] = {
    {"0 0,6,9,12,15,18,21 * * *", "UTC", "2026-05-10T05:59:59Z", "2026-05-10T06:00:00Z"}, /* 2026-05-10T06:00:00+00:00 UTC */
    {"0 0,6,9,12,15,18,21 * * *", "UTC", "2026-05-10T06:00:00Z", "2026-05-10T09:00:00Z"}, /* 2026-05-10T09:00:00+00:00 UTC */
    {"0 0,6,9,12,15,18,21 * * *", "UTC", "2026-05-10T21:00:00Z", "2026-05-11T00:00:00Z"}, /* 2026-05-11T00:00:00+00:00 UTC */
    {"0 0,6,9,12,15,18,21 * * *", "UTC", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z"}, /* 2027-01-01T00:00:00+00:00 UTC */
    {"*/15 * * * *", "UTC", "2026-01-01T00:07:00Z", "2026-01-01T00:15:00Z"}, /* 2026-01-01T00:15:00+00:00 UTC */
    {"*/15 * * * *", "UTC", "2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z"}, /* 2026-01-01T00:30:00+00:00 UTC */
    {"*/15 * * * *", "UTC", "2026-01-01T23:59:30Z", "2026-01-02T00:00:00Z"}, /* 2026-01-02T00:00:00+00:00 UTC */
    {"5-20/5 * * * *", "UTC", "2026-01-01T10:21:00Z", "2026-01-01T11:05:00Z"}, /* 2026-01-01T11:05:00+00:00 UTC */
    {"30/10 * * * *", "UTC", "2026-01-01T10:55:00Z", "2026-01-01T11:30:00Z"}, /* 2026-01-01T11:30:00+00:00 UTC */
    {"0 8-18/4 * * *", "UTC", "2026-01-01T16:00:00Z", "2026-01-02T08:00:00Z"}, /* 2026-01-02T08:00:00+00:00 UTC */
    {"0 0 13 * fri", "UTC", "2026-02-01T00:00:00Z", "2026-02-06T00:00:00Z"}, /* 2026-02-06T00:00:00+00:00 UTC */
    {"0 0 13 * fri", "UTC", "2026-02-13T00:00:00Z", "2026-02-20T00:00:00Z"}, /* 2026-02-20T00:00:00+00:00 UTC */
    {"0 0 13 * fri", "UTC", "2026-03-06T00:00:00Z", "2026-03-13T00:00:00Z"}, /* 2026-03-13T00:00:00+00:00 UTC */
    {"0 0 13 * fri", "UTC", "2026-03-12T00:00:00Z", "2026-03-13T00:00:00Z"}, /* 2026-03-13T00:00:00+00:00 UTC */
    {"0 9 * * mon-fri", "UTC", "2026-05-15T10:00:00Z", "2026-05-18T09:00:00Z"}, /* 2026-05-18T09:00:00+00:00 UTC */
    {"0 0 */2 * mon", "UTC", "2026-05-01T00:00:00Z", "2026-05-11T00:00:00Z"}, /* 2026-05-11T00:00:00+00:00 UTC */
    {"0 0 1 * */2", "UTC", "2026-05-01T00:00:00Z", "2026-08-01T00:00:00Z"}, /* 2026-08-01T00:00:00+00:00 UTC */
    {"0 0 1,15 * 3", "UTC", "2026-05-01T00:00:00Z", "2026-05-06T00:00:00Z"}, /* 2026-05-06T00:00:00+00:00 UTC */
    {"0 12 1 jan,JUL *", "UTC", "2026-02-01T00:00:00Z", "2026-07-01T12:00:00Z"}, /* 2026-07-01T12:00:00+00:00 UTC */
    {"0 8 * * SUN", "UTC", "2026-05-11T00:00:00Z", "2026-05-17T08:00:00Z"}, /* 2026-05-17T08:00:00+00:00 UTC */
    {"0 8 * * 7", "UTC", "2026-05-11T00:00:00Z", "2026-05-17T08:00:00Z"}, /* 2026-05-17T08:00:00+00:00 UTC */
    {"0 8 * * 0", "UTC", "2026-05-11T00:00:00Z", "2026-05-17T08:00:00Z"}, /* 2026-05-17T08:00:00+00:00 UTC */
    {"0 8 * * 5-7", "UTC", "2026-05-11T00:00:00Z", "2026-05-15T08:00:00Z"}, /* 2026-05-15T08:00:00+00:00 UTC */
    {"15 10 * Mar-May tue", "UTC", "2026-06-01T00:00:00Z", "2027-03-02T10:15:00Z"}, /* 2027-03-02T10:15:00+00:00 UTC */
    {"@yearly", "UTC", "2026-05-11T00:00:00Z", "2027-01-01T00:00:00Z"}, /* 2027-01-01T00:00:00+00:00 UTC */
    {"@annually", "UTC", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"}, /* 2027-01-01T00:00:00+00:00 UTC */
    {"@monthly", "UTC", "2026-05-11T00:00:00Z", "2026-06-01T00:00:00Z"}, /* 2026-06-01T00:00:00+00:00 UTC */
    {"@weekly", "UTC", "2026-05-11T00:00:00Z", "2026-05-17T00:00:00Z"}, /* 2026-05-17T00:00:00+00:00 UTC */
    {"@daily", "UTC", "2026-05-11T00:00:00Z", "2026-05-12T00:00:00Z"}, /* 2026-05-12T00:00:00+00:00 UTC */
    {"@midnight", "UTC", "2026-05-11T23:59:59Z", "2026-05-12T00:00:00Z"}, /* 2026-05-12T00:00:00+00:00 UTC */
    {"@hourly", "UTC", "2026-05-11T10:00:00Z", "2026-05-11T11:00:00Z"}, /* 2026-05-11T11:00:00+00:00 UTC */
    {"@HOURLY", "UTC", "2026-05-11T10:59:59Z", "2026-05-11T11:00:00Z"}, /* 2026-05-11T11:00:00+00:00 UTC */
    {"0 0 29 2 *", "UTC", "2028-02-28T12:00:00Z", "2028-02-29T00:00:00Z"}, /* 2028-02-29T00:00:00+00:00 UTC */
    {"0 0 29 2 *", "UTC", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}, /* 2032-02-29T00:00:00+00:00 UTC */
    {"0 0 31 * *", "UTC", "2026-04-01T00:00:00Z", "2026-05-31T00:00:00Z"}, /* 2026-05-31T00:00:00+00:00 UTC */
    {"59 23 31 12 *", "UTC", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"}, /* 2027-12-31T23:59:00+00:00 UTC */
    {"0 0 1 */3 *", "UTC", "2026-04-02T00:00:00Z", "2026-07-01T00:00:00Z"}, /* 2026-07-01T00:00:00+00:00 UTC */
    {"0 0 1 1 *", "UTC", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"}, /* 2027-01-01T00:00:00+00:00 UTC */
    {"* * * * *", "UTC", "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"}, /* 2026-01-01T00:01:00+00:00 UTC */
    {"* * * * *", "UTC", "2026-01-01T00:00:59Z", "2026-01-01T00:01:00Z"}, /* 2026-01-01T00:01:00+00:00 UTC */
    {"30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"}, /* 2026-03-29T03:00:00+02:00 CEST */
    {"30 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}, /* 2026-03-30T02:30:00+02:00 CEST */
    {"0 3 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"}, /* 2026-03-29T03:00:00+02:00 CEST */
    {"0,30 2,3 * * *", "Europe/Berlin", "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z"}, /* 2026-03-29T03:00:00+02:00 CEST */
    {"0,30 2,3 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"}, /* 2026-03-29T03:30:00+02:00 CEST */
    {"*/15 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"}, /* 2026-03-29T03:00:00+02:00 CEST */
    {"*/15 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"}, /* 2026-03-30T02:00:00+02:00 CEST */
    {"*/15 * * * *", "Europe/Berlin", "2026-03-29T00:45:00Z", "2026-03-29T01:00:00Z"}, /* 2026-03-29T03:00:00+02:00 CEST */
    {"0 * * * *", "Europe/Berlin", "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z"}, /* 2026-03-29T03:00:00+02:00 CEST */
    {"30 * * * *", "Europe/Berlin", "2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z"}, /* 2026-03-29T03:30:00+02:00 CEST */
    {"0 */2 * * *", "Europe/Berlin", "2026-03-29T00:00:00Z", "2026-03-29T02:00:00Z"}, /* 2026-03-29T04:00:00+02:00 CEST */
    {"0 0,6,9,12,15,18,21 * * *", "Europe/Berlin", "2026-03-28T21:00:00Z", "2026-03-28T23:00:00Z"}, /* 2026-03-29T00:00:00+01:00 CET */
    {"30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z"}, /* 2026-10-25T02:30:00+02:00 CEST */
    {"30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}, /* 2026-10-26T02:30:00+01:00 CET */
    {"30 2 * * *", "Europe/Berlin", "2026-10-25T01:10:00Z", "2026-10-26T01:30:00Z"}, /* 2026-10-26T02:30:00+01:00 CET */
    {"*/15 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-25T00:45:00Z"}, /* 2026-10-25T02:45:00+02:00 CEST */
    {"*/15 2 * * *", "Europe/Berlin", "2026-10-25T00:45:00Z", "2026-10-26T01:00:00Z"}, /* 2026-10-26T02:00:00+01:00 CET */
    {"*/15 * * * *", "Europe/Berlin", "2026-10-25T00:45:00Z", "2026-10-25T01:00:00Z"}, /* 2026-10-25T02:00:00+01:00 CET */
    {"*/15 * * * *", "Europe/Berlin", "2026-10-25T01:00:00Z", "2026-10-25T01:15:00Z"}, /* 2026-10-25T02:15:00+01:00 CET */
    {"0 * * * *", "Europe/Berlin", "2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z"}, /* 2026-10-25T02:00:00+01:00 CET */
    {"0 * * * *", "Europe/Berlin", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"}, /* 2026-10-25T03:00:00+01:00 CET */
    {"@daily", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-24T22:00:00Z"}, /* 2026-10-25T00:00:00+02:00 CEST */
    {"@daily", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-28T23:00:00Z"}, /* 2026-03-29T00:00:00+01:00 CET */
    {"0 0,6,9,12,15,18,21 * * *", "Europe/Berlin", "2026-10-24T22:00:00Z", "2026-10-25T05:00:00Z"}, /* 2026-10-25T06:00:00+01:00 CET */
    {"30 2 * * *", "Europe/Berlin", "2040-03-24T12:00:00Z", "2040-03-25T01:00:00Z"}, /* 2040-03-25T03:00:00+02:00 CEST */
    {"30 2 * * *", "Europe/Berlin", "2040-10-27T12:00:00Z", "2040-10-28T00:30:00Z"}, /* 2040-10-28T02:30:00+02:00 CEST */
    {"30 2 * * *", "Europe/Berlin", "2040-10-28T00:30:00Z", "2040-10-29T01:30:00Z"}, /* 2040-10-29T02:30:00+01:00 CET */
    {"*/15 * * * *", "Europe/Berlin", "2040-10-28T00:45:00Z", "2040-10-28T01:00:00Z"}, /* 2040-10-28T02:00:00+01:00 CET */
    {"30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z"}, /* 2026-03-08T03:00:00-04:00 EDT */
    {"30 2 * * *", "America/New_York", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}, /* 2026-03-09T02:30:00-04:00 EDT */
    {"0 0,6,9,12,15,18,21 * * *", "America/New_York", "2026-03-08T05:00:00Z", "2026-03-08T10:00:00Z"}, /* 2026-03-08T06:00:00-04:00 EDT */
    {"30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", "2026-11-01T05:30:00Z"}, /* 2026-11-01T01:30:00-04:00 EDT */
    {"30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}, /* 2026-11-02T01:30:00-05:00 EST */
    {"*/30 * * * *", "America/New_York", "2026-11-01T05:45:00Z", "2026-11-01T06:00:00Z"}, /* 2026-11-01T01:00:00-05:00 EST */
    {"*/30 * * * *", "America/New_York", "2026-11-01T06:00:00Z", "2026-11-01T06:30:00Z"}, /* 2026-11-01T01:30:00-05:00 EST */
    {"@daily", "America/New_York", "2026-07-04T00:00:00Z", "2026-07-04T04:00:00Z"}, /* 2026-07-04T00:00:00-04:00 EDT */
    {"0 9 * * mon-fri", "America/New_York", "2026-03-06T15:00:00Z", "2026-03-09T13:00:00Z"}, /* 2026-03-09T09:00:00-04:00 EDT */
    {"30 2 * * *", "America/New_York", "2045-03-11T12:00:00Z", "2045-03-12T07:00:00Z"}, /* 2045-03-12T03:00:00-04:00 EDT */
    {"0 0,6,9,12,15,18,21 * * *", "Australia/Sydney", "2026-10-03T12:00:00Z", "2026-10-03T14:00:00Z"}, /* 2026-10-04T00:00:00+10:00 AEST */
    {"30 2 * * *", "Australia/Sydney", "2026-10-03T12:00:00Z", "2026-10-03T16:00:00Z"}, /* 2026-10-04T03:00:00+11:00 AEDT */
    {"30 2 * * *", "Australia/Sydney", "2027-04-03T12:00:00Z", "2027-04-03T15:30:00Z"}, /* 2027-04-04T02:30:00+11:00 AEDT */
    {"30 2 * * *", "Australia/Sydney", "2027-04-03T15:30:00Z", "2027-04-04T16:30:00Z"}, /* 2027-04-05T02:30:00+10:00 AEST */
    {"0 * * * *", "Australia/Lord_Howe", "2026-10-03T14:00:00Z", "2026-10-03T14:30:00Z"}, /* 2026-10-04T01:00:00+10:30 +1030 */
    {"15 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00:00Z", "2026-10-03T15:30:00Z"}, /* 2026-10-04T02:30:00+11:00 +11 */
    {"0 * * * *", "Australia/Lord_Howe", "2026-10-03T14:30:00Z", "2026-10-03T16:00:00Z"}, /* 2026-10-04T03:00:00+11:00 +11 */
    {"30 2 * * *", "America/New_York", "2045-11-04T12:00:00Z", "2045-11-05T07:30:00Z"}, /* 2045-11-05T02:30:00-05:00 EST */
    /* Samoa skipped 2011-12-30; Santiago and Tehran change at midnight */
    {"0 12 * * *", "Pacific/Apia", "2011-12-29T23:00:00Z", "2011-12-30T10:00:00Z"}, /* 2011-12-31T00:00:00+14:00 +14 */
    {"0 12 * * *", "Pacific/Apia", "2011-12-30T10:00:00Z", "2011-12-30T22:00:00Z"}, /* 2011-12-31T12:00:00+14:00 +14 */
    {"0 * * * *", "Pacific/Apia", "2011-12-30T09:30:00Z", "2011-12-30T10:00:00Z"}, /* 2011-12-31T00:00:00+14:00 +14 */
    {"@daily", "America/Santiago", "2026-09-05T12:00:00Z", "2026-09-06T04:00:00Z"}, /* 2026-09-06T01:00:00-03:00 -03 */
    {"0 */6 * * *", "America/Santiago", "2026-09-06T02:00:00Z", "2026-09-06T09:00:00Z"}, /* 2026-09-06T06:00:00-03:00 -03 */
    {"@daily", "Asia/Tehran", "2022-03-21T12:00:00Z", "2022-03-21T20:30:00Z"}, /* 2022-03-22T01:00:00+04:30 +0430 */
    {"@daily", "Asia/Tehran", "2022-09-20T12:00:00Z", "2022-09-20T19:30:00Z"}, /* 2022-09-21T00:00:00+04:30 +0430 */
    /* Nuuk past the table: footer rule with negative change time (M3.5.0/-1) */
    {"30 23 * * *", "America/Nuuk", "2040-03-24T12:00:00Z", "2040-03-25T01:00:00Z"}, /* 2040-03-25T00:00:00-01:00 -01 */
    {"30 23 * * *", "America/Nuuk", "2040-10-27T12:00:00Z", "2040-10-28T00:30:00Z"}, /* 2040-10-27T23:30:00-01:00 -01 */
    {"30 23 * * *", "America/Nuuk", "2040-10-28T00:30:00Z", "2040-10-29T01:30:00Z"}, /* 2040-10-28T23:30:00-02:00 -02 */
    {"*/20 * * * *", "America/Nuuk", "2040-03-25T00:40:00Z", "2040-03-25T01:00:00Z"}, /* 2040-03-25T00:00:00-01:00 -01 */
    {"0 0 * * *", "America/Nuuk", "2040-03-24T12:00:00Z", "2040-03-25T01:00:00Z"}, /* 2040-03-25T00:00:00-01:00 -01 */
};

/* Every row: next fire strictly after `after` in `tz`. */
static void test_next_table(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct next_case *c = &cases[i];
        sk_err err;
        sk_err_clear(&err);
        sk_schedule *s = sk_schedule_parse(c->expr, "SNAPKEEP_SCHEDULE", &err);
        if (!s) {
            print_error("row %zu '%s': parse failed: %s\n", i, c->expr, err.msg);
            failed++;
            continue;
        }
        int64_t got = 0;
        sk_rc rc = sk_schedule_next(s, c->tz, utc(c->after), &got, &err);
        char g[32] = "-";
        if (rc == SK_OK)
            fmt_utc(got, g, sizeof g);
        if (rc != SK_OK || got != utc(c->expect)) {
            print_error("row %zu '%s' in %s after %s: expected %s, got %s (rc %d %s)\n", i,
                        c->expr, c->tz, c->after, c->expect, g, (int)rc, err.msg);
            failed++;
        }
        sk_schedule_free(s);
    }
    assert_int_equal(failed, 0);
}

/* Walk a schedule over [from, to), returning the number of fires; checks they increase. */
static int walk(const char *expr, const char *tz, int64_t from, int64_t to, int64_t *fires,
                int max)
{
    sk_err err;
    sk_err_clear(&err);
    sk_schedule *s = sk_schedule_parse(expr, "SNAPKEEP_SCHEDULE", &err);
    assert_non_null(s);
    sk_tz *z = sk_tz_load(tz, "TZ", &err);
    assert_non_null(z);
    int n = 0;
    int64_t t = from - 1, nx;
    for (;;) {
        assert_int_equal(sk_schedule_next_in(s, z, t, &nx, &err), SK_OK);
        assert_true(nx > t);
        if (nx >= to)
            break;
        if (n < max)
            fires[n] = nx;
        n++;
        t = nx;
    }
    sk_tz_free(z);
    sk_schedule_free(s);
    return n;
}

/* A clock-following schedule keeps firing every 15 real minutes through both 2026 changes. */
static void test_every_15_minutes_through_a_berlin_year(void **state)
{
    (void)state;
    static int64_t f[40000];
    /* local 2026-01-01 00:00 CET .. 2027-01-01 00:00 CET */
    int64_t from = utc("2025-12-31T23:00:00Z"), to = utc("2026-12-31T23:00:00Z");
    int n = walk("*/15 * * * *", "Europe/Berlin", from, to, f, 40000);
    assert_int_equal(n, 365 * 96);
    assert_int_equal(f[0], from);
    for (int i = 1; i < n; i++)
        if (f[i] - f[i - 1] != 900)
            fail_msg("gap of %lld s after fire %d", (long long)(f[i] - f[i - 1]), i - 1);
    n = walk("0 * * * *", "Europe/Berlin", from, to, f, 40000);
    assert_int_equal(n, 365 * 24);
    for (int i = 1; i < n; i++)
        assert_int_equal(f[i] - f[i - 1], 3600);
}

/* A fixed-time schedule fires exactly once per local day, including both DST days. */
static void test_fixed_time_once_per_day(void **state)
{
    (void)state;
    static int64_t f[400];
    int64_t from = utc("2025-12-31T23:00:00Z"), to = utc("2026-12-31T23:00:00Z");
    int n = walk("30 2 * * *", "Europe/Berlin", from, to, f, 400);
    assert_int_equal(n, 365);
    int spring = 0, fall = 0;
    for (int i = 0; i < n; i++) {
        if (f[i] == utc("2026-03-29T01:00:00Z")) /* gap: 03:00 CEST */
            spring++;
        if (f[i] == utc("2026-10-25T00:30:00Z")) /* first 02:30, CEST */
            fall++;
        assert_int_not_equal(f[i], utc("2026-10-25T01:30:00Z")); /* second 02:30, CET */
    }
    assert_int_equal(spring, 1);
    assert_int_equal(fall, 1);
}

/* The seed's production line: 7 runs on every local day through New York's DST changes. */
static void test_production_line_count(void **state)
{
    (void)state;
    static int64_t f[3000];
    int64_t from = utc("2026-01-01T05:00:00Z"), to = utc("2027-01-01T05:00:00Z");
    int n = walk("0 0,6,9,12,15,18,21 * * *", "America/New_York", from, to, f, 3000);
    assert_int_equal(n, 365 * 7);
    assert_int_equal(f[0], utc("2026-01-01T05:00:00Z"));        /* 00:00 EST */
    assert_int_equal(f[n - 1], utc("2027-01-01T02:00:00Z"));    /* 21:00 EST Dec 31 */
}

static void test_feb29_across_skipped_century_leap_year(void **state)
{
    (void)state;
    sk_err err;
    sk_err_clear(&err);
    sk_schedule *s = sk_schedule_parse("0 0 29 2 *", "SNAPKEEP_SCHEDULE", &err);
    assert_non_null(s);
    int64_t nx;
    /* 2100 is not a leap year: the next Feb 29 after 2096 is in 2104. */
    assert_int_equal(sk_schedule_next(s, "UTC", utc("2096-03-01T00:00:00Z"), &nx, &err), SK_OK);
    assert_int_equal(nx, utc("2104-02-29T00:00:00Z"));
    sk_schedule_free(s);
}

static void test_never_fires(void **state)
{
    (void)state;
    const char *never[] = {"0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 2 *", "59 23 30 feb *"};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
        sk_err err;
        sk_err_clear(&err);
        sk_schedule *s = sk_schedule_parse(never[i], "SNAPKEEP_SCHEDULE", &err);
        assert_non_null(s);
        int64_t nx = 0;
        clock_t c0 = clock();
        sk_rc rc = sk_schedule_next(s, "Europe/Berlin", utc("2026-01-01T00:00:00Z"), &nx, &err);
        double secs = (double)(clock() - c0) / CLOCKS_PER_SEC;
        assert_int_equal(rc, SK_ERR_CONFIG);
        assert_int_equal(err.rc, SK_ERR_CONFIG);
        assert_non_null(strstr(err.msg, "never fires"));
        assert_non_null(strstr(err.msg, "SNAPKEEP_SCHEDULE"));
        assert_true(secs < 1.0);
        sk_schedule_free(s);
    }
}

static const struct bad_case {
    const char *expr, *want;
} bad[] = {
    {"60 * * * *", "SNAPKEEP_SCHEDULE: minute field '60': value 60 out of range 0-59"},
    {"* 24 * * *", "SNAPKEEP_SCHEDULE: hour field '24': value 24 out of range 0-23"},
    {"0 1,25 * * *", "SNAPKEEP_SCHEDULE: hour field '1,25': value 25 out of range 0-23"},
    {"0 0 0 * *", "SNAPKEEP_SCHEDULE: day-of-month field '0': value 0 out of range 1-31"},
    {"0 0 32 * *", "SNAPKEEP_SCHEDULE: day-of-month field '32': value 32 out of range 1-31"},
    {"0 0 * 13 *", "SNAPKEEP_SCHEDULE: month field '13': value 13 out of range 1-12"},
    {"0 0 * 0 *", "SNAPKEEP_SCHEDULE: month field '0': value 0 out of range 1-12"},
    {"0 0 * * 8", "SNAPKEEP_SCHEDULE: day-of-week field '8': value 8 out of range 0-7"},
    {"*/0 * * * *", "SNAPKEEP_SCHEDULE: minute field '*/0': step 0 out of range 1-60"},
    {"0 1-5/0 * * *", "SNAPKEEP_SCHEDULE: hour field '1-5/0': step 0 out of range 1-24"},
    {"*/x * * * *", "SNAPKEEP_SCHEDULE: minute field '*/x': step 'x' is not a number"},
    {"*/ * * * *", "SNAPKEEP_SCHEDULE: minute field '*/': missing step"},
    {"0 0 * foo *", "SNAPKEEP_SCHEDULE: month field 'foo': unknown name 'foo'"},
    {"0 0 * * funday", "SNAPKEEP_SCHEDULE: day-of-week field 'funday': unknown name 'funday'"},
    {"0 0 * * sat-sun", "SNAPKEEP_SCHEDULE: day-of-week field 'sat-sun': range 'sat-sun' runs backwards"},
    {"jan 0 * * *", "SNAPKEEP_SCHEDULE: minute field 'jan': 'jan' is not a number"},
    {"0 mon * * *", "SNAPKEEP_SCHEDULE: hour field 'mon': 'mon' is not a number"},
    {"0 0 * * 7/2", "SNAPKEEP_SCHEDULE: day-of-week field '7/2': '7/2' selects nothing"},
    {"5-1 * * * *", "SNAPKEEP_SCHEDULE: minute field '5-1': range '5-1' runs backwards"},
    {"1,,2 * * * *", "SNAPKEEP_SCHEDULE: minute field '1,,2': empty list item"},
    {"0 0 1, * *", "SNAPKEEP_SCHEDULE: day-of-month field '1,': empty list item"},
    {"0 0 -1 * *", "SNAPKEEP_SCHEDULE: day-of-month field '-1': missing value"},
    {"1x * * * *", "SNAPKEEP_SCHEDULE: minute field '1x': '1x' is not a number"},
    {"* * * *", "SNAPKEEP_SCHEDULE: '* * * *': too few fields; expected 5 fields"},
    {"* * * * * *", "SNAPKEEP_SCHEDULE: '* * * * * *': too many fields; expected 5 fields"},
    {"", "SNAPKEEP_SCHEDULE: '': empty; expected 5 fields"},
    {"   \t ", "SNAPKEEP_SCHEDULE: '   \t ': empty; expected 5 fields"},
    {"@reboot", "SNAPKEEP_SCHEDULE: '@reboot': unknown macro"},
    {"@daily 5", "SNAPKEEP_SCHEDULE: '@daily 5': text after the macro"},
    {"@", "SNAPKEEP_SCHEDULE: '@': unknown macro"},
};

static void test_invalid_expressions(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sk_err err;
        sk_err_clear(&err);
        sk_schedule *s = sk_schedule_parse(bad[i].expr, "SNAPKEEP_SCHEDULE", &err);
        if (s || err.rc != SK_ERR_CONFIG || strncmp(err.msg, bad[i].want, strlen(bad[i].want))) {
            print_error("'%s': expected error starting '%s', got rc %d '%s'\n", bad[i].expr,
                        bad[i].want, (int)err.rc, err.msg);
            failed++;
        }
        sk_schedule_free(s);
    }
    assert_int_equal(failed, 0);
    /* NULL expression, and the default variable name. */
    sk_err err;
    sk_err_clear(&err);
    assert_null(sk_schedule_parse(NULL, NULL, &err));
    assert_int_equal(err.rc, SK_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "schedule: '': empty"));
}

static void test_normalized_form(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
        int follows;
    } n[] = {
        {"0 0,6,9,12,15,18,21 * * *", "0 0,6,9,12,15,18,21 * * *", 0},
        {"@weekly", "0 0 * * 0", 0},
        {"@yearly", "0 0 1 1 *", 0},
        {"@hourly", "0 * * * *", 1},
        {"*/15 9-17 * * MON-FRI", "*/15 9-17 * * 1-5", 0},
        {"  0   0 * *   7 ", "0 0 * * 0", 0},
        {"0 0 1,2,3,5 jan-mar *", "0 0 1-3,5 1-3 *", 0},
        {"5,6 */2 * * 0-7", "5,6 */2 * * 0-6", 1},
        {"*/1 * * * *", "* * * * *", 1},
        {"0 0 */2 * MON", "0 0 */2 * 1", 0},
        {"30/10 8-18/4 * * *", "30,40,50 8,12,16 * * *", 0},
        {"0 0 * * 1/2", "0 0 * * 1,3,5", 0},
        {"0 0 * * 0/3", "0 0 * * 0,3,6", 0},
        {"0 0 * * 1-7/2", "0 0 * * 0,1,3,5", 0},
        {"0 0 * * 5-7", "0 0 * * 0,5,6", 0},
    };
    for (size_t i = 0; i < sizeof n / sizeof n[0]; i++) {
        sk_err err;
        sk_err_clear(&err);
        sk_schedule *s = sk_schedule_parse(n[i].in, "X", &err);
        assert_non_null(s);
        assert_string_equal(sk_schedule_normalized(s), n[i].out);
        assert_int_equal(sk_schedule_follows_clock(s), n[i].follows);
        sk_schedule_free(s);
    }
    /* A normal form that would not fit is refused, not cut (found by tests/fuzz/fuzz_cron: the cut
     * form lost fields and did not parse back). */
    char longx[1200];
    size_t at = (size_t)snprintf(longx, sizeof longx, "*/2");
    for (int i = 0; i < 150; i++)
        at += (size_t)snprintf(longx + at, sizeof longx - at, ",1");
    at += (size_t)snprintf(longx + at, sizeof longx - at, " */3");
    for (int i = 0; i < 150; i++)
        at += (size_t)snprintf(longx + at, sizeof longx - at, ",2");
    snprintf(longx + at, sizeof longx - at, " * * *");
    sk_err err;
    sk_err_clear(&err);
    assert_null(sk_schedule_parse(longx, "X", &err));
    assert_int_equal(err.rc, SK_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "too long"));
}

/* DOM/DOW: either matches when both are restricted, both must when one starts with '*'. */
static void test_dom_dow_semantics(void **state)
{
    (void)state;
    sk_err err;
    sk_err_clear(&err);
    int64_t f[64];
    /* 2026: 13ths are Feb 13 (Fri), Mar 13 (Fri), Nov 13 (Fri); Fridays in Feb: 6,13,20,27 */
    int n = walk("0 0 13 * fri", "UTC", utc("2026-02-01T00:00:00Z"), utc("2026-03-01T00:00:00Z"),
                 f, 64);
    assert_int_equal(n, 4);
    n = walk("0 0 13 * *", "UTC", utc("2026-02-01T00:00:00Z"), utc("2026-03-01T00:00:00Z"), f, 64);
    assert_int_equal(n, 1);
    /* '*' step in DOW means AND (Vixie): the 1st of months that fall on Sun, Tue, Thu, Sat. */
    n = walk("0 0 1 * */2", "UTC", utc("2026-01-01T00:00:00Z"), utc("2027-01-01T00:00:00Z"), f, 64);
    /* 2026-01-01 Thu, 02-01 Sun, 03-01 Sun, 04-01 Wed, 05-01 Fri, 06-01 Mon, 07-01 Wed,
     * 08-01 Sat, 09-01 Tue, 10-01 Thu, 11-01 Sun, 12-01 Tue */
    assert_int_equal(n, 8);
}

static void test_time_zones(void **state)
{
    (void)state;
    sk_err err;
    sk_err_clear(&err);
    sk_tz *b = sk_tz_load("Europe/Berlin", "TZ", &err);
    assert_non_null(b);
    assert_string_equal(sk_tz_name(b), "Europe/Berlin");
    assert_int_equal(sk_tz_offset(b, utc("2026-03-29T00:59:59Z")), 3600);
    assert_int_equal(sk_tz_offset(b, utc("2026-03-29T01:00:00Z")), 7200);
    assert_int_equal(sk_tz_offset(b, utc("2026-10-25T00:59:59Z")), 7200);
    assert_int_equal(sk_tz_offset(b, utc("2026-10-25T01:00:00Z")), 3600);
    /* past the table (2037): the footer rule */
    assert_int_equal(sk_tz_offset(b, utc("2050-07-01T00:00:00Z")), 7200);
    assert_int_equal(sk_tz_offset(b, utc("2050-12-01T00:00:00Z")), 3600);
    char buf[64];
    assert_int_equal(sk_tz_format(b, utc("2026-03-29T01:00:00Z"), buf, sizeof buf, &err), SK_OK);
    assert_string_equal(buf, "2026-03-29T03:00:00+02:00 CEST");
    assert_int_equal(sk_tz_format(b, utc("2026-10-25T01:30:00Z"), buf, sizeof buf, &err), SK_OK);
    assert_string_equal(buf, "2026-10-25T02:30:00+01:00 CET");
    int64_t t;
    /* local times: gap -> first instant after it; repeated -> first occurrence */
    assert_int_equal(sk_tz_parse_time(b, "2026-03-29T02:30", "--from", &t, &err), SK_OK);
    assert_int_equal(t, utc("2026-03-29T01:00:00Z"));
    assert_int_equal(sk_tz_parse_time(b, "2026-10-25 02:30:00", "--from", &t, &err), SK_OK);
    assert_int_equal(t, utc("2026-10-25T00:30:00Z"));
    assert_int_equal(sk_tz_parse_time(b, "2026-07-01", "--from", &t, &err), SK_OK);
    assert_int_equal(t, utc("2026-06-30T22:00:00Z"));
    assert_int_equal(sk_tz_parse_time(b, "2026-07-01T12:00:00Z", "--from", &t, &err), SK_OK);
    assert_int_equal(t, utc("2026-07-01T12:00:00Z"));
    assert_int_equal(sk_tz_parse_time(b, "2026-07-01T12:00+05:30", "--from", &t, &err), SK_OK);
    assert_int_equal(t, utc("2026-07-01T06:30:00Z"));
    assert_int_equal(sk_tz_parse_time(b, "2026-02-30T12:00", "--from", &t, &err), SK_ERR_USAGE);
    assert_non_null(strstr(err.msg, "--from '2026-02-30T12:00': not a valid time"));
    sk_err_clear(&err);
    assert_int_equal(sk_tz_parse_time(b, "tomorrow", "--from", &t, &err), SK_ERR_USAGE);
    sk_tz_free(b);

    sk_tz *u = sk_tz_load(NULL, NULL, &err);
    assert_non_null(u);
    assert_string_equal(sk_tz_name(u), "UTC");
    assert_int_equal(sk_tz_offset(u, utc("2026-07-01T00:00:00Z")), 0);
    assert_int_equal(sk_tz_format(u, 0, buf, sizeof buf, &err), SK_OK);
    assert_string_equal(buf, "1970-01-01T00:00:00+00:00 UTC");
    sk_tz_free(u);

    /* What sk_tz_format writes parses back, also in a POSIX zone 24 hours off UTC (found by
     * tests/fuzz/fuzz_cron: "-24:00" was refused). */
    sk_tz *far = sk_tz_load("ISV24", NULL, &err);
    assert_non_null(far);
    assert_int_equal(sk_tz_format(far, utc("2026-07-01T12:00:00Z"), buf, sizeof buf, &err), SK_OK);
    assert_string_equal(buf, "2026-06-30T12:00:00-24:00 ISV");
    buf[strcspn(buf, " ")] = '\0';
    assert_int_equal(sk_tz_parse_time(far, buf, "--from", &t, &err), SK_OK);
    assert_int_equal(t, utc("2026-07-01T12:00:00Z"));
    sk_tz_free(far);

    /* Offsets with seconds (local mean time before 1893) are printed in full. */
    b = sk_tz_load(":Europe/Berlin", NULL, &err);
    assert_non_null(b);
    assert_int_equal(sk_tz_format(b, utc("1890-01-01T00:00:00Z"), buf, sizeof buf, &err), SK_OK);
    assert_string_equal(buf, "1890-01-01T00:53:28+00:53:28 LMT");
    sk_tz_free(b);

    static const char *const unknown[] = {"Europe/Berln", "../../etc/passwd", "Europe", "Mars/Base",
                                          "Europe//Berlin", "/nonexistent/zone"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        sk_err_clear(&err);
        assert_null(sk_tz_load(unknown[i], "TZ", &err));
        assert_int_equal(err.rc, SK_ERR_CONFIG);
        assert_true(strncmp(err.msg, "TZ: ", 4) == 0);
        assert_non_null(strstr(err.msg, unknown[i]));
    }
    /* the zone error also comes out of sk_schedule_next */
    sk_err_clear(&err);
    sk_schedule *s = sk_schedule_parse("@daily", "SNAPKEEP_SCHEDULE", &err);
    assert_non_null(s);
    assert_int_equal(sk_schedule_next(s, "Europe/Berln", 0, &t, &err), SK_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "unknown time zone 'Europe/Berln'"));
    sk_err_clear(&err);
    assert_int_equal(sk_schedule_next(s, "", utc("2026-05-11T10:00:00Z"), &t, &err), SK_OK);
    assert_int_equal(t, utc("2026-05-12T00:00:00Z"));
    assert_int_equal(sk_schedule_next(s, "UTC", INT64_C(253402300800), &t, &err), SK_ERR_USAGE);
    sk_schedule_free(s);
}

/* A POSIX TZ string gives the same results as the TZif file for the same rules. */
static void test_posix_tz_string(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *posix = NULL;
        if (strcmp(cases[i].tz, "Europe/Berlin") == 0)
            posix = "CET-1CEST,M3.5.0,M10.5.0/3";
        else if (strcmp(cases[i].tz, "America/New_York") == 0)
            posix = "EST5EDT,M3.2.0,M11.1.0";
        else if (strcmp(cases[i].tz, "Australia/Sydney") == 0)
            posix = "AEST-10AEDT,M10.1.0,M4.1.0/3";
        else if (strcmp(cases[i].tz, "America/Nuuk") == 0)
            posix = "<-02>2<-01>,M3.5.0/-1,M10.5.0/0";
        else if (strcmp(cases[i].tz, "Australia/Lord_Howe") == 0)
            posix = "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0";
        if (!posix)
            continue;
        sk_err err;
        sk_err_clear(&err);
        sk_schedule *s = sk_schedule_parse(cases[i].expr, "S", &err);
        assert_non_null(s);
        int64_t got = 0;
        sk_rc rc = sk_schedule_next(s, posix, utc(cases[i].after), &got, &err);
        if (rc != SK_OK || got != utc(cases[i].expect)) {
            print_error("row %zu '%s' in '%s': rc %d %s got %lld\n", i, cases[i].expr, posix,
                        (int)rc, err.msg, (long long)got);
            failed++;
        }
        sk_schedule_free(s);
    }
    assert_int_equal(failed, 0);
    sk_err err;
    sk_err_clear(&err);
    sk_tz *z = sk_tz_load("<-03>3", NULL, &err);
    assert_non_null(z);
    assert_int_equal(sk_tz_offset(z, 0), -3 * 3600);
    sk_tz_free(z);
    assert_null(sk_tz_load("CET-1CEST,M3.5.0", NULL, &err));
    assert_int_equal(err.rc, SK_ERR_CONFIG);

    /* Jn counts days without Feb 29: J60 is March 1 even in 2028. */
    z = sk_tz_load("AAA0BBB,J60/0,J300/0", NULL, &err);
    assert_non_null(z);
    assert_int_equal(sk_tz_offset(z, utc("2028-02-29T23:59:59Z")), 0);
    assert_int_equal(sk_tz_offset(z, utc("2028-03-01T00:00:00Z")), 3600);
    sk_tz_free(z);
    /* n counts from 0 with Feb 29: day 59 is Feb 29 in 2028, March 1 in 2027. */
    z = sk_tz_load("AAA0BBB,59/0,300/0", NULL, &err);
    assert_non_null(z);
    assert_int_equal(sk_tz_offset(z, utc("2028-02-28T23:59:59Z")), 0);
    assert_int_equal(sk_tz_offset(z, utc("2028-02-29T00:00:00Z")), 3600);
    assert_int_equal(sk_tz_offset(z, utc("2027-02-28T23:59:59Z")), 0);
    assert_int_equal(sk_tz_offset(z, utc("2027-03-01T00:00:00Z")), 3600);
    sk_tz_free(z);
    /* RFC 8536 3.3.1: DST all year ("0/0,J365/25"), including the instant the years meet. */
    z = sk_tz_load("EST5EDT,0/0,J365/25", NULL, &err);
    assert_non_null(z);
    assert_int_equal(sk_tz_offset(z, utc("2030-01-01T05:00:00Z")), -4 * 3600);
    assert_int_equal(sk_tz_offset(z, utc("2030-01-01T04:59:59Z")), -4 * 3600);
    assert_int_equal(sk_tz_offset(z, utc("2030-07-01T00:00:00Z")), -4 * 3600);
    sk_tz_free(z);
    sk_schedule *s = sk_schedule_parse("0 0 * * *", "S", &err);
    assert_non_null(s);
    int64_t t;
    assert_int_equal(sk_schedule_next(s, "EST5EDT,0/0,J365/25", utc("2029-12-31T12:00:00Z"), &t,
                                      &err), SK_OK);
    assert_int_equal(t, utc("2030-01-01T04:00:00Z"));
    sk_schedule_free(s);
}

/* A damaged zone file is refused with a reason (TZDIR points at a scratch directory). */
static void test_bad_zone_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_schedule_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    FILE *in = fopen("/usr/share/zoneinfo/Europe/Berlin", "rb");
    assert_non_null(in);
    unsigned char img[8192];
    size_t len = fread(img, 1, sizeof img, in);
    fclose(in);
    assert_true(len > 200);

    snprintf(path, sizeof path, "%s/Cut", dir);
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    fwrite(img, 1, 100, out);
    fclose(out);
    snprintf(path, sizeof path, "%s/Junk", dir);
    out = fopen(path, "wb");
    assert_non_null(out);
    fputs("this is not a zone file\n", out);
    fclose(out);

    const char *old = getenv("TZDIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("TZDIR", dir, 1); /* test process only; the module itself never sets TZ */
    sk_err err;
    sk_err_clear(&err);
    assert_null(sk_tz_load("Cut", "TZ", &err));
    assert_int_equal(err.rc, SK_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "truncated"));
    sk_err_clear(&err);
    assert_null(sk_tz_load("Junk", "TZ", &err));
    assert_non_null(strstr(err.msg, "not a TZif file"));
    sk_err_clear(&err);
    assert_null(sk_tz_load("Europe/Berlin", "TZ", &err)); /* not in the scratch TZDIR */
    if (saved) {
        setenv("TZDIR", saved, 1);
        free(saved);
    } else {
        unsetenv("TZDIR");
    }
    snprintf(path, sizeof path, "%s/Cut", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/Junk", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_table),
        cmocka_unit_test(test_every_15_minutes_through_a_berlin_year),
        cmocka_unit_test(test_fixed_time_once_per_day),
        cmocka_unit_test(test_production_line_count),
        cmocka_unit_test(test_feb29_across_skipped_century_leap_year),
        cmocka_unit_test(test_never_fires),
        cmocka_unit_test(test_invalid_expressions),
        cmocka_unit_test(test_normalized_form),
        cmocka_unit_test(test_dom_dow_semantics),
        cmocka_unit_test(test_time_zones),
        cmocka_unit_test(test_posix_tz_string),
        cmocka_unit_test(test_bad_zone_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
