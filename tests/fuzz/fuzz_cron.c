/*
 * fuzz_cron: the cron expression parser (sk_schedule_parse), the next-fire search
 * (sk_schedule_next_in) in a time zone, the POSIX TZ string parser and local-time parsing
 * (sk_tz_parse_time) / formatting (sk_tz_format).
 * Input: a zone byte (a real zone from tzdata, or the POSIX TZ string on line 2), a flags byte,
 * 8 bytes of start time, then lines: cron expression, POSIX TZ string, local time text.
 * Properties:
 *  - the normalised expression parses to the same normalised expression and DST mode;
 *  - the next fire time is after the start, within the search horizon, and its local wall time
 *    matches the expression, or (fixed-time schedules) it is the end of a spring-forward gap
 *    holding a matching wall time;
 *  - no matching time was skipped: a minute-by-minute scan of up to two days after the start
 *    finds no earlier fire time (fixed-time schedules: only where the offset does not change from
 *    two days before the start to the end of the scan);
 *  - a parsed local time formats and parses back to the same instant.
 */
#include "fuzz.h"

#include <inttypes.h>

#include "../../agent/schedule.h"
#include "../../agent/schedule_internal.h"

#define T_MIN INT64_C(-62135596800)
#define T_MAX INT64_C(253402300799)
#define DAY 86400

static const char *const zone_names[] = {
    "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
    "Pacific/Chatham", "America/St_Johns", "Africa/Casablanca", "Europe/Dublin", "Antarctica/Troll",
    "Pacific/Apia", "America/Sao_Paulo", "Asia/Tehran", "Europe/London", "Pacific/Kiritimati",
};
#define NZONES (sizeof zone_names / sizeof zone_names[0])
static sk_tz *zones[NZONES];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < NZONES; i++) {
        sk_err err = { 0 };
        if (!(zones[i] = sk_tz_load(zone_names[i], NULL, &err))) {
            fprintf(stderr, "fuzz_cron: %s (install tzdata)\n", err.msg);
            exit(1);
        }
    }
    return 0;
}

/* Next line of [*p, end) as a C string (malloc'd), or "" when the input ran out. */
static char *next_line(const char **p, const char *end)
{
    const char *nl = *p < end ? memchr(*p, '\n', (size_t)(end - *p)) : NULL;
    size_t n = *p < end ? (nl ? (size_t)(nl - *p) : (size_t)(end - *p)) : 0;
    char *s = fuzz_cstr((const uint8_t *)*p, n);
    *p = nl ? nl + 1 : end;
    return s;
}

/* A matching wall minute in [lo, hi)? (hi - lo is at most a day or two) */
static int matches_between(const sk_schedule *s, int64_t lo, int64_t hi)
{
    int64_t w = lo % 60 ? lo + (60 - ((lo % 60) + 60) % 60) % 60 : lo;
    for (; w < hi; w += 60)
        if (sk_schedule_matches_wall(s, w))
            return 1;
    return 0;
}

static void check_next(const sk_schedule *s, const sk_tz *tz, int64_t after)
{
    int64_t next = 0;
    sk_err err = { 0 };
    sk_rc rc = sk_schedule_next_in(s, tz, after, &next, &err);
    int fixed = !sk_schedule_follows_clock(s);
    if (rc != SK_OK) {
        FUZZ_CHECK((rc == SK_ERR_CONFIG && strstr(err.msg, "never fires")) || (rc == SK_ERR_USAGE),
                   "next: rc %d %s", rc, err.msg);
        return;
    }
    FUZZ_CHECK(next > after, "'%s' in %s after %" PRId64 ": next %" PRId64 " is not later",
               sk_schedule_normalized(s), sk_tz_name(tz), after, next);
    FUZZ_CHECK(next <= after + (int64_t)SK_SCHEDULE_HORIZON_YEARS * 366 * DAY, "next %" PRId64 " beyond the horizon",
               next);
    int32_t off = sk_tz_offset(tz, next), before = sk_tz_offset(tz, next - 1);
    int ok = sk_schedule_matches_wall(s, next + off);
    if (!ok && fixed && before < off) /* the end of a gap: a wall time inside it fires here */
        ok = matches_between(s, next + before, next + off + 1);
    FUZZ_CHECK(ok, "'%s' in %s after %" PRId64 ": next %" PRId64 " (offset %d) does not match",
               sk_schedule_normalized(s), sk_tz_name(tz), after, next, off);

    /* nothing earlier was skipped: walk real instants whose wall time is a whole minute */
    int64_t t = after + 1, stop = next < after + 2 * DAY ? next : after + 2 * DAY;
    int32_t first_off = sk_tz_offset(tz, t);
    /* fixed-time schedules skip wall times repeated after a fall-back shortly before the start */
    for (int h = 1; fixed && h <= 48; h++)
        if (sk_tz_offset(tz, after - h * 3600) != first_off)
            return;
    while (t < stop) {
        int32_t o = sk_tz_offset(tz, t);
        if (fixed && o != first_off)
            return; /* fixed-time rules at DST changes: checked above only */
        int64_t w = t + o, r = ((w % 60) + 60) % 60;
        if (r) {
            t += 60 - r;
            continue;
        }
        FUZZ_CHECK(!sk_schedule_matches_wall(s, w),
                   "'%s' in %s after %" PRId64 ": %" PRId64 " matches but next is %" PRId64,
                   sk_schedule_normalized(s), sk_tz_name(tz), after, t, next);
        t += 60;
    }
}

static void check_local_time(const sk_tz *tz, const char *text)
{
    int64_t t, back;
    sk_err err = { 0 };
    if (sk_tz_parse_time(tz, text, "--from", &t, &err) != SK_OK) {
        FUZZ_CHECK(err.msg[0], "parse_time: no message");
        return;
    }
    char buf[64];
    /* within two days of the ends of years 1..9999 the local date may be in year 0 or 10000,
     * which sk_tz_parse_time does not read (by design: the supported range is years 1..9999) */
    if (t < T_MIN + 2 * DAY || t > T_MAX - 2 * DAY)
        return;
    FUZZ_CHECK(sk_tz_format(tz, t, buf, sizeof buf, &err) == SK_OK, "format %" PRId64 ": %s", t, err.msg);
    char *sp = strchr(buf, ' ');
    if (sp)
        *sp = '\0'; /* drop the abbreviation */
    if (strlen(buf) != 25) /* an offset with seconds is not ISO 8601 input */
        return;
    FUZZ_CHECK(sk_tz_parse_time(tz, buf, "again", &back, &err) == SK_OK && back == t,
               "'%s' -> %" PRId64 " -> '%s' -> %" PRId64 " (%s)", text, t, buf, back, err.msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned zone = (unsigned)fuzz_take(&data, &size, 1);
    unsigned flags = (unsigned)fuzz_take(&data, &size, 1);
    uint64_t raw = fuzz_take(&data, &size, 8);
    int64_t after = flags & 1 ? T_MIN + (int64_t)(raw % (uint64_t)(T_MAX - T_MIN + 1))
                              : INT64_C(1767225600) + (int64_t)(int32_t)raw; /* 2026 +- 68 years */
    if (flags & 2)
        after -= after % 60; /* on a whole minute, where off-by-one errors live */
    const char *p = (const char *)data, *end = p + size;
    char *expr = next_line(&p, end), *posix = next_line(&p, end), *when = next_line(&p, end);

    sk_tz *own = NULL;
    const sk_tz *tz;
    if (zone % (NZONES + 1) == NZONES) {
        if (!(own = sk_tz_from_posix(posix)))
            goto out;
        tz = own;
    } else {
        tz = zones[zone % (NZONES + 1)];
    }

    sk_err err = { 0 };
    sk_schedule *s = sk_schedule_parse(expr, "SNAPKEEP_SCHEDULE", &err);
    if (!s) {
        FUZZ_CHECK(err.rc == SK_ERR_CONFIG && strncmp(err.msg, "SNAPKEEP_SCHEDULE: ", 19) == 0, "parse: rc %d %s",
                   err.rc, err.msg);
    } else {
        sk_err e2 = { 0 };
        sk_schedule *again = sk_schedule_parse(sk_schedule_normalized(s), NULL, &e2);
        FUZZ_CHECK(again, "normalised '%s' of '%s' does not parse: %s", sk_schedule_normalized(s), expr, e2.msg);
        FUZZ_CHECK(strcmp(sk_schedule_normalized(s), sk_schedule_normalized(again)) == 0 &&
                       sk_schedule_follows_clock(s) == sk_schedule_follows_clock(again),
                   "'%s' normalises to '%s', which normalises to '%s'", expr, sk_schedule_normalized(s),
                   sk_schedule_normalized(again));
        sk_schedule_free(again);
        check_next(s, tz, after);
        sk_schedule_free(s);
    }
    check_local_time(tz, when);
out:
    sk_tz_free(own);
    free(expr);
    free(posix);
    free(when);
    return 0;
}
