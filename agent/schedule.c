/*
 * schedule.c: cron parsing, time-zone reading (TZif + POSIX TZ strings) and next-fire search.
 * The contract and the DST semantics are in schedule.h.
 */
#include "schedule.h"
#include "schedule_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------------------------ */
/* Calendar arithmetic on the proleptic Gregorian calendar (days since 1970-01-01).          */

#define DAY 86400
/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z */
#define T_MIN INT64_C(-62135596800)
#define T_MAX INT64_C(253402300799)

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static unsigned weekday(int64_t days)
{
    return (unsigned)(days - floor_div(days + 4, 7) * 7 + 4) % 7;
}

static int64_t year_of(int64_t t)
{
    int64_t y;
    unsigned m, d;
    civil_from_days(floor_div(t, DAY), &y, &m, &d);
    return y;
}

/* ------------------------------------------------------------------------------------------ */
/* Cron expressions.                                                                          */

enum { F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_N };

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const struct field_def {
    const char *name;
    int lo, hi;
    const char *const *names; /* names[i] means value i + name_base */
    int name_base;
} fields[F_N] = {
    {"minute", 0, 59, NULL, 0},
    {"hour", 0, 23, NULL, 0},
    {"day-of-month", 1, 31, NULL, 0},
    {"month", 1, 12, month_names, 1},
    {"day-of-week", 0, 7, dow_names, 0},
};

struct sk_schedule {
    uint64_t bits[F_N]; /* bit v set: value v matches (day-of-week 7 folded into 0) */
    int star[F_N];      /* the field's text starts with '*' (Vixie: day matching, DST mode) */
    char varname[96];
    char norm[512];
};

static const struct {
    const char *name;
    const char *expr;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* Parse one value (number or name) of field f from [p, p+len). */
static int parse_value(int f, const char *p, size_t len, int *out, char *why, size_t wlen)
{
    const struct field_def *fd = &fields[f];
    if (len == 0) {
        snprintf(why, wlen, "missing value");
        return -1;
    }
    if (isdigit((unsigned char)p[0])) {
        long v = 0;
        for (size_t i = 0; i < len; i++) {
            if (!isdigit((unsigned char)p[i])) {
                snprintf(why, wlen, "'%.*s' is not a number", (int)len, p);
                return -1;
            }
            if (v < 100000)
                v = v * 10 + (p[i] - '0');
        }
        if (v < fd->lo || v > fd->hi) {
            snprintf(why, wlen, "value %.*s out of range %d-%d", (int)len, p, fd->lo, fd->hi);
            return -1;
        }
        *out = (int)v;
        return 0;
    }
    if (!fd->names) {
        snprintf(why, wlen, "'%.*s' is not a number", (int)len, p);
        return -1;
    }
    for (int i = 0; fd->names[i]; i++) {
        if (len == 3 && strncasecmp(p, fd->names[i], 3) == 0) {
            *out = i + fd->name_base;
            return 0;
        }
    }
    snprintf(why, wlen, "unknown name '%.*s' (use %s)", (int)len, p,
             f == F_MON ? "jan..dec or 1-12" : "sun..sat or 0-7");
    return -1;
}

/* Parse a step "/n" value. */
static int parse_step(int f, const char *p, size_t len, int *out, char *why, size_t wlen)
{
    const struct field_def *fd = &fields[f];
    int span = f == F_DOW ? 7 : fd->hi - fd->lo + 1;
    long v = 0;
    if (len == 0) {
        snprintf(why, wlen, "missing step after '/'");
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)p[i])) {
            snprintf(why, wlen, "step '%.*s' is not a number", (int)len, p);
            return -1;
        }
        if (v < 100000)
            v = v * 10 + (p[i] - '0');
    }
    if (v < 1 || v > span) {
        snprintf(why, wlen, "step %.*s out of range 1-%d", (int)len, p, span);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Parse one comma item into *bits. */
static int parse_item(int f, const char *p, size_t len, uint64_t *bits, char *why, size_t wlen)
{
    const struct field_def *fd = &fields[f];
    int a, b, step = 1;
    const char *slash = memchr(p, '/', len);
    size_t rlen = slash ? (size_t)(slash - p) : len;

    if (len == 0) {
        snprintf(why, wlen, "empty list item");
        return -1;
    }
    if (slash && parse_step(f, slash + 1, len - rlen - 1, &step, why, wlen) < 0)
        return -1;
    /* In day-of-week, "*" and "a/n" end on Saturday; only an explicit "a-7" reaches 7 (Sunday). */
    int end = f == F_DOW ? 6 : fd->hi;
    if (rlen == 1 && p[0] == '*') {
        a = fd->lo;
        b = end;
    } else {
        const char *dash = memchr(p, '-', rlen);
        if (dash) {
            if (parse_value(f, p, (size_t)(dash - p), &a, why, wlen) < 0 ||
                parse_value(f, dash + 1, rlen - (size_t)(dash - p) - 1, &b, why, wlen) < 0)
                return -1;
            if (a > b) {
                snprintf(why, wlen, "range '%.*s' runs backwards (write it as two items)",
                         (int)rlen, p);
                return -1;
            }
        } else {
            if (parse_value(f, p, rlen, &a, why, wlen) < 0)
                return -1;
            b = slash ? end : a; /* "a/n" runs from a to the field's end */
            if (a > b) {
                snprintf(why, wlen, "'%.*s' selects nothing (write 0/n)", (int)len, p);
                return -1;
            }
        }
    }
    for (int v = a; v <= b; v += step)
        *bits |= (uint64_t)1 << (f == F_DOW && v == 7 ? 0 : v);
    return 0;
}

/* Append the normalised form of field f to buf. */
static void norm_field(const sk_schedule *s, int f, const char *text, size_t tlen, char *buf,
                       size_t len)
{
    const struct field_def *fd = &fields[f];
    int hi = f == F_DOW ? 6 : fd->hi;
    size_t at = strlen(buf);
    uint64_t full = 0;
    for (int v = fd->lo; v <= hi; v++)
        full |= (uint64_t)1 << v;
    if (at)
        snprintf(buf + at, len - at, " "), at = strlen(buf);
    if (s->star[f]) {
        if (s->bits[f] == full)
            snprintf(buf + at, len - at, "*");
        else
            for (size_t i = 0; i < tlen && at + 1 < len; i++)
                buf[at++] = (char)tolower((unsigned char)text[i]), buf[at] = '\0';
        return;
    }
    int first = 1;
    for (int v = fd->lo; v <= hi; v++) {
        if (!(s->bits[f] >> v & 1))
            continue;
        int e = v;
        while (e + 1 <= hi && (s->bits[f] >> (e + 1) & 1))
            e++;
        at = strlen(buf);
        if (e - v >= 2)
            snprintf(buf + at, len - at, "%s%d-%d", first ? "" : ",", v, e);
        else if (e == v + 1)
            snprintf(buf + at, len - at, "%s%d,%d", first ? "" : ",", v, e);
        else
            snprintf(buf + at, len - at, "%s%d", first ? "" : ",", v);
        first = 0;
        v = e;
    }
}

sk_schedule *sk_schedule_parse(const char *expr, const char *varname, sk_err *err)
{
    const char *var = varname && *varname ? varname : "schedule";
    const char *p, *text = expr ? expr : "";
    const char *fstart[F_N];
    size_t flen[F_N];
    int nf = 0;
    char why[256];

    while (isspace((unsigned char)*text))
        text++;
    if (*text == '@') {
        size_t n = 0;
        while (text[n] && !isspace((unsigned char)text[n]))
            n++;
        for (p = text + n; isspace((unsigned char)*p); p++)
            ;
        const char *exp = NULL;
        for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
            if (strlen(macros[i].name) == n && strncasecmp(text, macros[i].name, n) == 0)
                exp = macros[i].expr;
        if (!exp || *p) {
            sk_fail(err, SK_ERR_CONFIG, 0,
                    "%s: '%.100s': %s (use 5 fields or @yearly, @annually, @monthly, @weekly, "
                    "@daily, @midnight, @hourly)",
                    var, text, *p && exp ? "text after the macro" : "unknown macro");
            return NULL;
        }
        text = exp;
    }
    for (p = text; *p;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *b = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (nf < F_N) {
            fstart[nf] = b;
            flen[nf] = (size_t)(p - b);
        }
        nf++;
    }
    if (nf != F_N) {
        sk_fail(err, SK_ERR_CONFIG, 0,
                "%s: '%.100s': %s; expected 5 fields (minute hour day-of-month month "
                "day-of-week, e.g. '0 3 * * *') or a macro such as @daily",
                var, expr ? expr : "", nf == 0 ? "empty" : nf < F_N ? "too few fields" : "too many fields");
        return NULL;
    }

    sk_schedule *s = calloc(1, sizeof *s);
    if (!s) {
        sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "%s: out of memory", var);
        return NULL;
    }
    snprintf(s->varname, sizeof s->varname, "%s", var);
    for (int f = 0; f < F_N; f++) {
        const char *q = fstart[f], *end = fstart[f] + flen[f];
        s->star[f] = *q == '*';
        while (q <= end) {
            const char *c = memchr(q, ',', (size_t)(end - q));
            if (!c)
                c = end;
            if (parse_item(f, q, (size_t)(c - q), &s->bits[f], why, sizeof why) < 0) {
                sk_fail(err, SK_ERR_CONFIG, 0, "%s: %s field '%.*s': %s", var, fields[f].name,
                        (int)(flen[f] > 100 ? 100 : flen[f]), fstart[f], why);
                free(s);
                return NULL;
            }
            q = c + 1;
        }
    }
    for (int f = 0; f < F_N; f++)
        norm_field(s, f, fstart[f], flen[f], s->norm, sizeof s->norm);
    if (strlen(s->norm) + 1 >= sizeof s->norm) { /* maybe cut: a cut form would lose fields */
        sk_fail(err, SK_ERR_CONFIG, 0, "%s: '%.60s...' is too long (its normal form exceeds %zu bytes)", var,
                expr ? expr : "", sizeof s->norm - 2);
        free(s);
        return NULL;
    }
    return s;
}

void sk_schedule_free(sk_schedule *s)
{
    free(s);
}

const char *sk_schedule_normalized(const sk_schedule *s)
{
    return s->norm;
}

int sk_schedule_follows_clock(const sk_schedule *s)
{
    return s->star[F_HOUR];
}

/* Lowest set bit of `bits` at or above `from` and at most `hi`, or -1. */
static int next_bit(uint64_t bits, int from, int hi)
{
    for (int v = from; v <= hi; v++)
        if (bits >> v & 1)
            return v;
    return -1;
}

static int day_matches(const sk_schedule *s, unsigned d, int64_t days)
{
    int dom = (int)(s->bits[F_DOM] >> d & 1);
    int dow = (int)(s->bits[F_DOW] >> weekday(days) & 1);
    return s->star[F_DOM] || s->star[F_DOW] ? dom && dow : dom || dow;
}

/* First local (wall-clock) minute W with lo <= W < hi that the schedule matches. Wall times are
 * seconds on the naive local calendar, counted like unix time. Skips by field, not by minute. */
static int sched_find(const void *ctx, int64_t lo, int64_t hi, int64_t *out)
{
    const sk_schedule *s = ctx;
    int64_t w = -floor_div(-lo, 60) * 60; /* round up to a whole minute */
    if (w >= hi)
        return 0;
    int64_t days = floor_div(w, DAY), y;
    int sod = (int)(w - days * DAY);
    int h = sod / 3600, mi = sod % 3600 / 60;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    for (;;) {
        int64_t dn = days_from_civil(y, m, d);
        if (dn * DAY + h * 3600 + mi * 60 >= hi)
            return 0;
        if (!(s->bits[F_MON] >> m & 1) || d > days_in_month(y, m)) {
            int nm = next_bit(s->bits[F_MON], (int)m + 1, 12);
            if (nm < 0) {
                y++;
                nm = next_bit(s->bits[F_MON], 1, 12);
            }
            m = (unsigned)nm, d = 1, h = 0, mi = 0;
            continue;
        }
        if (!day_matches(s, d, dn)) {
            d++, h = 0, mi = 0;
            continue;
        }
        int nh = next_bit(s->bits[F_HOUR], h, 23);
        if (nh < 0) {
            d++, h = 0, mi = 0;
            continue;
        }
        if (nh != h)
            h = nh, mi = 0;
        int nmi = next_bit(s->bits[F_MIN], mi, 59);
        if (nmi < 0) {
            h++, mi = 0;
            if (h > 23)
                d++, h = 0;
            continue;
        }
        *out = dn * DAY + h * 3600 + nmi * 60;
        return *out < hi;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Time zones.                                                                                */

enum { RD_JULIAN1 /* Jn */, RD_ZERO /* n */, RD_MONTH /* Mm.w.d */ };

struct tz_ruledate {
    int kind, n, m, w, d;
    int32_t secs; /* local time of day of the change, may be negative or past 24h */
};

struct tz_rule { /* a POSIX TZ string */
    int32_t std_off, dst_off; /* seconds east of UTC */
    int has_dst;
    char std_abbr[16], dst_abbr[16];
    struct tz_ruledate start, end;
};

struct sk_tz {
    char name[128];
    size_t n;          /* transitions */
    int64_t *at;       /* transition instants, strictly ascending */
    uint8_t *idx;      /* time type from at[i] on */
    size_t ntypes;
    int32_t *toff;     /* per type: UTC offset */
    uint32_t *tabbr;   /* per type: index into chars */
    char *chars;
    int has_rule;      /* rule governs times from at[n-1] on (all times when n == 0) */
    struct tz_rule rule;
};

static const char *ps_name(const char *p, char *out, size_t outlen)
{
    const char *b;
    size_t len;
    if (*p == '<') {
        b = ++p;
        while (isalnum((unsigned char)*p) || *p == '+' || *p == '-')
            p++;
        if (*p != '>')
            return NULL;
        len = (size_t)(p++ - b);
    } else {
        b = p;
        while (isalpha((unsigned char)*p))
            p++;
        len = (size_t)(p - b);
    }
    if (len < 3)
        return NULL;
    snprintf(out, outlen, "%.*s", (int)len, b);
    return p;
}

/* [+-]hh[:mm[:ss]] with hh <= maxh. */
static const char *ps_hms(const char *p, int maxh, int32_t *out)
{
    int neg = 0, parts[3] = {0, 0, 0};
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    for (int i = 0; i < 3; i++) {
        if (i && *p != ':')
            break;
        if (i)
            p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        int v = 0, nd = 0;
        while (isdigit((unsigned char)*p) && nd < 3)
            v = v * 10 + (*p++ - '0'), nd++;
        if (isdigit((unsigned char)*p) || (i == 0 ? v > maxh : v > 59))
            return NULL;
        parts[i] = v;
    }
    int32_t v = parts[0] * 3600 + parts[1] * 60 + parts[2];
    *out = neg ? -v : v;
    return p;
}

static const char *ps_num(const char *p, int lo, int hi, int *out)
{
    int v = 0, nd = 0;
    while (isdigit((unsigned char)*p) && nd < 4)
        v = v * 10 + (*p++ - '0'), nd++;
    if (nd == 0 || isdigit((unsigned char)*p) || v < lo || v > hi)
        return NULL;
    *out = v;
    return p;
}

static const char *ps_date(const char *p, struct tz_ruledate *r)
{
    memset(r, 0, sizeof *r);
    if (*p == 'J') {
        r->kind = RD_JULIAN1;
        p = ps_num(p + 1, 1, 365, &r->n);
    } else if (*p == 'M') {
        r->kind = RD_MONTH;
        if (!(p = ps_num(p + 1, 1, 12, &r->m)) || *p != '.' || !(p = ps_num(p + 1, 1, 5, &r->w)) ||
            *p != '.' || !(p = ps_num(p + 1, 0, 6, &r->d)))
            return NULL;
    } else {
        r->kind = RD_ZERO;
        p = ps_num(p, 0, 365, &r->n);
    }
    if (!p)
        return NULL;
    r->secs = 7200; /* POSIX default 02:00 */
    if (*p == '/')
        p = ps_hms(p + 1, 167, &r->secs); /* RFC 8536 extension: -167..167 hours */
    return p;
}

/* Parse a whole POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3"). 0 on success. */
static int parse_posix_tz(const char *p, struct tz_rule *r)
{
    int32_t off;
    memset(r, 0, sizeof *r);
    if (!(p = ps_name(p, r->std_abbr, sizeof r->std_abbr)) || !(p = ps_hms(p, 24, &off)))
        return -1;
    r->std_off = -off; /* POSIX offsets count hours west */
    if (!*p)
        return 0;
    if (!(p = ps_name(p, r->dst_abbr, sizeof r->dst_abbr)))
        return -1;
    r->has_dst = 1;
    r->dst_off = r->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = ps_hms(p, 24, &off)))
            return -1;
        r->dst_off = -off;
    }
    if (!*p) { /* no rule given: glibc's default, the US rule */
        r->start = (struct tz_ruledate){RD_MONTH, 0, 3, 2, 0, 7200};
        r->end = (struct tz_ruledate){RD_MONTH, 0, 11, 1, 0, 7200};
        return 0;
    }
    if (*p != ',' || !(p = ps_date(p + 1, &r->start)) || *p != ',' ||
        !(p = ps_date(p + 1, &r->end)) || *p)
        return -1;
    return 0;
}

static int64_t rule_day(const struct tz_ruledate *r, int64_t y)
{
    int64_t jan1 = days_from_civil(y, 1, 1);
    switch (r->kind) {
    case RD_JULIAN1:
        return jan1 + r->n - 1 + (is_leap(y) && r->n >= 60);
    case RD_ZERO:
        return jan1 + r->n;
    default: {
        int64_t first = days_from_civil(y, (unsigned)r->m, 1);
        int day = (r->d - (int)weekday(first) + 7) % 7 + 7 * (r->w - 1);
        while (day >= (int)days_in_month(y, (unsigned)r->m))
            day -= 7;
        return first + day;
    }
    }
}

/* The rule's two changes in year y: [0] = DST ends (to std), [1] = DST starts (to dst); listed
 * in this order so that at equal instants DST wins (RFC 8536 3.3.1: DST all year). */
static void rule_changes(const struct tz_rule *r, int64_t y, int64_t ch[2])
{
    ch[0] = rule_day(&r->end, y) * DAY + r->end.secs - r->dst_off;
    ch[1] = rule_day(&r->start, y) * DAY + r->start.secs - r->std_off;
}

static int32_t rule_offset(const struct tz_rule *r, int64_t t, const char **abbr)
{
    int64_t best = INT64_MIN, y0 = year_of(t);
    int dst = 0;
    if (r->has_dst) {
        for (int64_t y = y0 - 2; y <= y0 + 1; y++) {
            int64_t ch[2];
            rule_changes(r, y, ch);
            for (int k = 0; k < 2; k++)
                if (ch[k] <= t && ch[k] >= best)
                    best = ch[k], dst = k;
        }
    }
    if (abbr)
        *abbr = dst ? r->dst_abbr : r->std_abbr;
    return dst ? r->dst_off : r->std_off;
}

static int64_t clamp_t(int64_t t)
{
    const int64_t lo = T_MIN - 40 * 366 * (int64_t)DAY, hi = T_MAX + 40 * 366 * (int64_t)DAY;
    return t < lo ? lo : t > hi ? hi : t;
}

static int32_t tz_off(const sk_tz *tz, int64_t t, const char **abbr)
{
    size_t ty;
    t = clamp_t(t);
    if (tz->has_rule && (tz->n == 0 || t >= tz->at[tz->n - 1]))
        return rule_offset(&tz->rule, t, abbr);
    if (tz->n == 0 || t < tz->at[0]) {
        ty = 0;
    } else {
        size_t lo = 0, hi = tz->n; /* last i with at[i] <= t */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (tz->at[mid] <= t)
                lo = mid;
            else
                hi = mid;
        }
        ty = tz->idx[lo];
    }
    if (abbr)
        *abbr = tz->chars + tz->tabbr[ty];
    return tz->toff[ty];
}

/* Smallest instant > t at which a recorded change happens (offset may stay the same). */
static int cand_next(const sk_tz *tz, int64_t t, int64_t *u)
{
    int found = 0;
    int64_t best = INT64_MAX;
    size_t lo = 0, hi = tz->n; /* first i with at[i] > t */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->at[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < tz->n)
        best = tz->at[lo], found = 1;
    if (tz->has_rule && tz->rule.has_dst) {
        int64_t floor_t = tz->n && tz->at[tz->n - 1] > t ? tz->at[tz->n - 1] : t;
        int64_t y0 = year_of(floor_t);
        for (int64_t y = y0 - 1; y <= y0 + 2; y++) {
            int64_t ch[2];
            rule_changes(&tz->rule, y, ch);
            for (int k = 0; k < 2; k++)
                if (ch[k] > floor_t && ch[k] < best)
                    best = ch[k], found = 1;
        }
    }
    *u = best;
    return found;
}

/* Largest instant <= t at which a recorded change happens. */
static int cand_prev(const sk_tz *tz, int64_t t, int64_t *u)
{
    if (tz->has_rule && tz->rule.has_dst && (tz->n == 0 || t > tz->at[tz->n - 1])) {
        int64_t best = INT64_MIN, last = tz->n ? tz->at[tz->n - 1] : INT64_MIN, y0 = year_of(t);
        for (int64_t y = y0 - 2; y <= y0 + 1; y++) {
            int64_t ch[2];
            rule_changes(&tz->rule, y, ch);
            for (int k = 0; k < 2; k++)
                if (ch[k] <= t && ch[k] > last && ch[k] > best)
                    best = ch[k];
        }
        if (best != INT64_MIN) {
            *u = best;
            return 1;
        }
    }
    size_t lo = 0, hi = tz->n; /* first i with at[i] > t */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->at[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return 0;
    *u = tz->at[lo - 1];
    return 1;
}

/* The stretch of real time around t with one UTC offset. start is INT64_MIN (and prev_off ==
 * off) when the offset has not changed in the 3 days before t: only recent changes matter to the
 * search. end is INT64_MAX when it does not change before `horizon`. */
struct period {
    int64_t start, end;
    int32_t off, prev_off;
};

static void period_at(const sk_tz *tz, int64_t t, int64_t horizon, struct period *p)
{
    int64_t u = t, c;
    p->off = tz_off(tz, t, NULL);
    p->end = INT64_MAX;
    while (cand_next(tz, u, &c) && c <= horizon) {
        if (tz_off(tz, c, NULL) != p->off) {
            p->end = c;
            break;
        }
        u = c;
    }
    p->start = INT64_MIN;
    p->prev_off = p->off;
    u = t;
    while (cand_prev(tz, u, &c) && c >= t - 3 * DAY) {
        int32_t before = tz_off(tz, c - 1, NULL);
        if (before != p->off) {
            p->start = c;
            p->prev_off = before;
            break;
        }
        u = c - 1;
    }
}

/* Finds the first wall time in [lo, hi) that matches, as sched_find. */
typedef int (*wall_finder)(const void *ctx, int64_t lo, int64_t hi, int64_t *wall);

/* The first real instant >= lo (and <= limit) at which a matching wall time happens, walking
 * offset periods. fixed = 1 applies the fixed-time DST rules of schedule.h (gap -> the
 * transition instant, repeated times -> first occurrence); fixed = 0 follows the clock. */
static int search(const sk_tz *tz, wall_finder find, const void *ctx, int fixed, int64_t lo,
                  int64_t limit, int64_t *out)
{
    while (lo <= limit) {
        struct period p;
        int64_t w;
        period_at(tz, lo, limit + 3 * DAY, &p);
        int64_t wall_lo = lo + p.off;
        int64_t end = p.end < limit + 1 ? p.end : limit + 1;
        if (fixed && p.prev_off > p.off && p.start + p.prev_off > wall_lo) {
            wall_lo = p.start + p.prev_off; /* these wall times already happened before start */
        } else if (fixed && p.prev_off < p.off && p.start >= lo &&
                   find(ctx, p.start + p.prev_off, p.start + p.off, &w)) {
            *out = p.start; /* a wall time in the gap: fire when the gap ends */
            return 1;
        }
        if (find(ctx, wall_lo, end + p.off, &w)) {
            *out = w - p.off;
            return 1;
        }
        if (p.end > limit)
            return 0;
        lo = p.end;
    }
    return 0;
}

sk_rc sk_schedule_next_in(const sk_schedule *s, const sk_tz *tz, int64_t after, int64_t *next,
                          sk_err *err)
{
    if (after < T_MIN || after > T_MAX)
        return sk_fail(err, SK_ERR_USAGE, 0, "%s: start time %lld is outside years 1..9999",
                       s->varname, (long long)after);
    int64_t limit = after + (int64_t)SK_SCHEDULE_HORIZON_YEARS * 366 * DAY;
    if (search(tz, sched_find, s, !s->star[F_HOUR], after + 1, limit, next))
        return SK_OK;
    return sk_fail(err, SK_ERR_CONFIG, 0,
                   "%s: '%s' never fires (no matching time within %d years; check the "
                   "day-of-month and month fields, e.g. Feb 30 does not exist)",
                   s->varname, s->norm, SK_SCHEDULE_HORIZON_YEARS);
}

sk_rc sk_schedule_next(const sk_schedule *s, const char *tzname, int64_t after, int64_t *next,
                       sk_err *err)
{
    sk_tz *tz = sk_tz_load(tzname, NULL, err);
    if (!tz)
        return err ? err->rc : SK_ERR_CONFIG;
    sk_rc rc = sk_schedule_next_in(s, tz, after, next, err);
    sk_tz_free(tz);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Loading zones.                                                                             */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_hdr {
    int version;
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static int tzif_hdr(const unsigned char *b, size_t len, size_t pos, struct tzif_hdr *h)
{
    if (len < pos || len - pos < 44 || memcmp(b + pos, "TZif", 4) != 0)
        return -1;
    h->version = b[pos + 4];
    h->isutcnt = be32(b + pos + 20);
    h->isstdcnt = be32(b + pos + 24);
    h->leapcnt = be32(b + pos + 28);
    h->timecnt = be32(b + pos + 32);
    h->typecnt = be32(b + pos + 36);
    h->charcnt = be32(b + pos + 40);
    if (h->typecnt == 0 || h->typecnt > 256 || h->charcnt == 0 || h->timecnt > 100000 ||
        h->charcnt > 100000 || h->leapcnt > 100000 ||
        (h->isutcnt && h->isutcnt != h->typecnt) || (h->isstdcnt && h->isstdcnt != h->typecnt))
        return -1;
    return 0;
}

static size_t tzif_block_len(const struct tzif_hdr *h, size_t tsize)
{
    return h->timecnt * tsize + h->timecnt + h->typecnt * 6 + h->charcnt +
           h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/* Fill tz from a TZif image. Returns NULL or a reason. */
static const char *tzif_parse(sk_tz *tz, const unsigned char *b, size_t len)
{
    struct tzif_hdr h;
    size_t pos = 0, tsize = 4;
    if (tzif_hdr(b, len, 0, &h) < 0)
        return "not a TZif file";
    if (h.version >= '2') {
        pos = 44 + tzif_block_len(&h, 4);
        if (len < pos || len - pos < 44)
            return "TZif file is truncated";
        if (tzif_hdr(b, len, pos, &h) < 0)
            return "bad second TZif header";
        tsize = 8;
    }
    pos += 44;
    if (len - pos < tzif_block_len(&h, tsize))
        return "TZif file is truncated";
    if (h.leapcnt)
        return "leap-second zone files (right/...) are not supported";
    tz->n = h.timecnt;
    tz->ntypes = h.typecnt;
    tz->at = calloc(h.timecnt ? h.timecnt : 1, sizeof *tz->at);
    tz->idx = calloc(h.timecnt ? h.timecnt : 1, 1);
    tz->toff = calloc(h.typecnt, sizeof *tz->toff);
    tz->tabbr = calloc(h.typecnt, sizeof *tz->tabbr);
    tz->chars = calloc(h.charcnt + 1, 1);
    if (!tz->at || !tz->idx || !tz->toff || !tz->tabbr || !tz->chars)
        return "out of memory";
    for (size_t i = 0; i < h.timecnt; i++, pos += tsize) {
        tz->at[i] = tsize == 8 ? be64(b + pos) : (int64_t)(int32_t)be32(b + pos);
        if (i && tz->at[i] <= tz->at[i - 1])
            return "transition times are not ascending";
    }
    for (size_t i = 0; i < h.timecnt; i++, pos++) {
        tz->idx[i] = b[pos];
        if (b[pos] >= h.typecnt)
            return "bad time type index";
    }
    for (size_t i = 0; i < h.typecnt; i++, pos += 6) {
        int32_t off = (int32_t)be32(b + pos);
        if (off == INT32_MIN || off < -26 * 3600 || off > 26 * 3600 || b[pos + 4] > 1 ||
            b[pos + 5] >= h.charcnt)
            return "bad time type";
        tz->toff[i] = off;
        tz->tabbr[i] = b[pos + 5];
    }
    memcpy(tz->chars, b + pos, h.charcnt);
    pos += h.charcnt + h.isstdcnt + h.isutcnt;
    if (tsize == 8) {
        const unsigned char *nl;
        if (pos >= len || b[pos] != '\n' || !(nl = memchr(b + pos + 1, '\n', len - pos - 1)))
            return "missing TZ string footer";
        size_t flen = (size_t)(nl - (b + pos + 1));
        if (flen > 0) {
            char footer[128];
            if (flen >= sizeof footer)
                return "TZ string footer too long";
            memcpy(footer, b + pos + 1, flen);
            footer[flen] = '\0';
            if (parse_posix_tz(footer, &tz->rule) < 0)
                return "bad TZ string footer";
            tz->has_rule = 1;
        }
    }
    return NULL;
}

static int name_ok(const char *n)
{
    /* IANA names: letters, digits, "_+-." and '/', no empty, "." or ".." component */
    const char *c = n;
    if (!*n)
        return 0;
    for (; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("_+-./", *c))
            return 0;
    for (c = n;;) {
        size_t l = strcspn(c, "/");
        if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        if (!c[l])
            return 1;
        c += l + 1;
    }
}

static sk_tz *tz_utc(const char *name)
{
    sk_tz *tz = calloc(1, sizeof *tz);
    if (!tz)
        return NULL;
    snprintf(tz->name, sizeof tz->name, "%s", name);
    tz->has_rule = 1;
    snprintf(tz->rule.std_abbr, sizeof tz->rule.std_abbr, "UTC");
    return tz;
}

sk_tz *sk_tz_load(const char *name, const char *varname, sk_err *err)
{
    const char *var = varname && *varname ? varname : "TZ";
    const char *n = name ? name : "";
    char path[4096];
    unsigned char *buf = NULL;
    size_t len = 0;
    const char *why = NULL;
    FILE *f = NULL;
    sk_tz *tz = NULL;

    if (*n == ':')
        n++;
    if (!*n || strcmp(n, "UTC") == 0) {
        if (!(tz = tz_utc("UTC")))
            sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "%s: out of memory", var);
        return tz;
    }
    if (strlen(n) >= sizeof tz->name) {
        sk_fail(err, SK_ERR_CONFIG, 0, "%s: time zone name '%.60s...' is too long", var, n);
        return NULL;
    }
    if (!(tz = calloc(1, sizeof *tz))) {
        sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "%s: out of memory", var);
        return NULL;
    }
    snprintf(tz->name, sizeof tz->name, "%s", n);

    const char *dir = getenv("TZDIR");
    if (!dir || !*dir)
        dir = "/usr/share/zoneinfo";
    if (n[0] == '/')
        snprintf(path, sizeof path, "%s", n);
    else
        snprintf(path, sizeof path, "%s/%s", dir, n);
    errno = 0;
    if (n[0] == '/' || name_ok(n))
        f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (parse_posix_tz(n, &tz->rule) == 0) { /* "CET-1CEST,M3.5.0,M10.5.0/3", "EST5" */
            tz->has_rule = 1;
            return tz;
        }
        sk_fail(err, SK_ERR_CONFIG, e,
                "%s: unknown time zone '%s' (no file %s%s%s); use an IANA name such as "
                "Europe/Berlin or America/New_York (Debian package tzdata), or UTC",
                var, n, path, e && e != ENOENT ? ": " : "", e && e != ENOENT ? strerror(e) : "");
        goto fail;
    }
    /* TZif files are a few KiB; cap the read to reject anything odd. */
    const size_t cap = 1 << 20;
    if (!(buf = malloc(cap))) {
        sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "%s: out of memory", var);
        goto fail;
    }
    len = fread(buf, 1, cap, f);
    if (ferror(f)) {
        sk_fail(err, SK_ERR_CONFIG, errno, "%s: time zone '%s': cannot read %s: %s", var, n,
                path, strerror(errno));
        goto fail;
    }
    if ((why = tzif_parse(tz, buf, len))) {
        sk_fail(err, strcmp(why, "out of memory") ? SK_ERR_CONFIG : SK_ERR_INTERNAL, 0,
                "%s: time zone '%s': %s: %s", var, n, path, why);
        goto fail;
    }
    free(buf);
    fclose(f);
    return tz;
fail:
    free(buf);
    if (f)
        fclose(f);
    sk_tz_free(tz);
    return NULL;
}

void sk_tz_free(sk_tz *tz)
{
    if (!tz)
        return;
    free(tz->at);
    free(tz->idx);
    free(tz->toff);
    free(tz->tabbr);
    free(tz->chars);
    free(tz);
}

const char *sk_tz_name(const sk_tz *tz)
{
    return tz->name;
}

int32_t sk_tz_offset(const sk_tz *tz, int64_t t)
{
    return tz_off(tz, t, NULL);
}

sk_rc sk_tz_format(const sk_tz *tz, int64_t t, char *buf, size_t len, sk_err *err)
{
    const char *abbr = "";
    if (t < T_MIN || t > T_MAX)
        return sk_fail(err, SK_ERR_USAGE, 0, "time %lld is outside years 1..9999", (long long)t);
    int32_t off = tz_off(tz, t, &abbr);
    int64_t wall = t + off, days = floor_div(wall, DAY), y;
    int sod = (int)(wall - days * DAY);
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int32_t a = off < 0 ? -off : off;
    char zone[32];
    if (a % 60)
        snprintf(zone, sizeof zone, "%c%02d:%02d:%02d", off < 0 ? '-' : '+', (int)(a / 3600),
                 (int)(a % 3600 / 60), (int)(a % 60));
    else
        snprintf(zone, sizeof zone, "%c%02d:%02d", off < 0 ? '-' : '+', (int)(a / 3600),
                 (int)(a % 3600 / 60));
    int r = snprintf(buf, len, "%04lld-%02u-%02uT%02d:%02d:%02d%s%s%.15s", (long long)y, m, d,
                     sod / 3600, sod % 3600 / 60, sod % 60, zone, *abbr ? " " : "", abbr);
    if (r < 0 || (size_t)r >= len)
        return sk_fail(err, SK_ERR_USAGE, 0, "time buffer too small");
    return SK_OK;
}

/* Wall-time finder for exactly one wall time (resolving a local time like a fixed schedule). */
static int one_find(const void *ctx, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t w = *(const int64_t *)ctx;
    *out = w;
    return w >= lo && w < hi;
}

static const char *digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, p++) {
        if (!isdigit((unsigned char)*p))
            return NULL;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return p;
}

sk_rc sk_tz_parse_time(const sk_tz *tz, const char *text, const char *what, int64_t *t,
                       sk_err *err)
{
    const char *w = what && *what ? what : "time";
    const char *p = text ? text : "";
    int y, mo, d, h = 0, mi = 0, s = 0, zh, zm;
    int has_zone = 0;
    int32_t zoff = 0;

    if (!(p = digits(p, 4, &y)) || *p++ != '-' || !(p = digits(p, 2, &mo)) || *p++ != '-' ||
        !(p = digits(p, 2, &d)))
        goto bad;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!(p = digits(p, 2, &h)) || *p++ != ':' || !(p = digits(p, 2, &mi)))
            goto bad;
        if (*p == ':' && !(p = digits(p + 1, 2, &s)))
            goto bad;
    }
    if (*p == 'Z' || *p == 'z') {
        has_zone = 1;
        p++;
    } else if (*p == '+' || *p == '-') {
        int neg = *p++ == '-';
        if (!(p = digits(p, 2, &zh)))
            goto bad;
        if (*p == ':')
            p++;
        /* up to 25:59, as zones may be (tzif_parse): what sk_tz_format writes must parse back */
        if (!(p = digits(p, 2, &zm)) || zh > 25 || zm > 59)
            goto bad;
        has_zone = 1;
        zoff = (zh * 3600 + zm * 60) * (neg ? -1 : 1);
    }
    if (*p || y < 1 || mo < 1 || mo > 12 || d < 1 || d > (int)days_in_month(y, (unsigned)mo) ||
        h > 23 || mi > 59 || s > 59)
        goto bad;
    int64_t wall = days_from_civil(y, (unsigned)mo, (unsigned)d) * DAY + h * 3600 + mi * 60 + s;
    if (has_zone) {
        *t = wall - zoff;
        return SK_OK;
    }
    /* Search from well before the wall time; offsets stay within +-26 h. */
    if (search(tz, one_find, &wall, 1, wall - 3 * DAY, wall + 3 * DAY, t))
        return SK_OK;
    return sk_fail(err, SK_ERR_INTERNAL, 0, "%s '%s': cannot resolve local time in zone '%s'", w,
                   text, tz->name);
bad:
    return sk_fail(err, SK_ERR_USAGE, 0,
                   "%s '%s': not a valid time; use YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (local time "
                   "in %s) or add Z or +HH:MM",
                   w, text ? text : "", tz->name);
}

/* ------------------------------------------------------------------------------------------ */
/* Hooks for tests and fuzzing (schedule_internal.h).                                        */

sk_tz *sk_tz_from_tzif(const void *data, size_t len, const char *name, const char **why)
{
    sk_tz *tz = calloc(1, sizeof *tz);
    if (!tz) {
        *why = "out of memory";
        return NULL;
    }
    snprintf(tz->name, sizeof tz->name, "%s", name ? name : "");
    if ((*why = tzif_parse(tz, data, len))) {
        sk_tz_free(tz);
        return NULL;
    }
    return tz;
}

sk_tz *sk_tz_from_posix(const char *tzstring)
{
    sk_tz *tz = calloc(1, sizeof *tz);
    if (!tz)
        return NULL;
    snprintf(tz->name, sizeof tz->name, "%s", tzstring);
    if (parse_posix_tz(tzstring, &tz->rule) < 0) {
        free(tz);
        return NULL;
    }
    tz->has_rule = 1;
    return tz;
}

int sk_schedule_matches_wall(const sk_schedule *s, int64_t wall)
{
    int64_t days = floor_div(wall, DAY), y;
    int64_t sod = wall - days * DAY;
    unsigned m, d;
    if (sod % 60)
        return 0;
    civil_from_days(days, &y, &m, &d);
    return (s->bits[F_MIN] >> (sod % 3600 / 60) & 1) && (s->bits[F_HOUR] >> (sod / 3600) & 1) &&
           (s->bits[F_MON] >> m & 1) && day_matches(s, d, days);
}
