/*
 * schedule.h: 5-field cron expressions evaluated in a named time zone.
 *
 * Syntax (Vixie/cronie compatible; `*\/n` below is `*` `/n`, escaped only inside this comment):
 *   minute hour day-of-month month day-of-week
 *     minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or jan..dec,
 *     day-of-week 0-7 or sun..sat (0 and 7 are both Sunday); names are case-insensitive.
 *   Each field is a comma list of items: `*`, `a`, `a-b`, `*\/n`, `a-b/n`, `a/n` (a to the field's
 *   maximum, step n; in day-of-week `*` and `a/n` end at 6, so "1/2" is Mon, Wed, Fri). A step
 *   must be 1 or more and at most the field's size; a range must not run backwards (`fri-mon` is
 *   rejected: write `5-7,1` or `fri,sat,sun,mon`).
 *   Not supported: a seconds or year field, and the L, W, # and ? extensions.
 *   Macros: @yearly = @annually = "0 0 1 1 *", @monthly = "0 0 1 * *", @weekly = "0 0 * * 0",
 *   @daily = @midnight = "0 0 * * *", @hourly = "0 * * * *". @reboot is not supported.
 *   Day matching (Vixie): if the day-of-month or the day-of-week field starts with `*` (this
 *   includes `*\/2`), a day must match both fields; if neither does, a day matches when EITHER
 *   matches ("0 0 13 * fri" fires on every 13th and on every Friday).
 *
 * Time zones. Zone names are IANA names ("Europe/Berlin") read from TZif files (RFC 8536) under
 * $TZDIR or /usr/share/zoneinfo (Debian package tzdata), including the POSIX TZ footer that
 * governs times past the file's table. NULL, "" and "UTC" mean UTC and need no file. A leading ':'
 * is ignored; a name that is not a file but parses as a POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3")
 * is used as such. Why our own reader rather than localtime_r under the process TZ: the zone is
 * a parameter (several jobs or tests can use different zones at once), nothing calls setenv("TZ")
 * or depends on hidden process state, and the code is thread-safe. Leap-second ("right/") files are
 * rejected.
 *
 * DST semantics. A schedule "follows the clock" when its HOUR field starts with `*` (`*`, `*\/2`,
 * e.g. "*\/15 * * * *", "0 * * * *"); otherwise it is a "fixed-time" schedule
 * ("0 0,6,9,12,15,18,21 * * *", "30 2 * * *", "*\/15 2 * * *"). Fire times are whole local minutes.
 *   - Follows the clock: it fires at every real instant whose local wall-clock time matches. A
 *     local time inside a spring-forward gap does not exist and does not fire; a local time that
 *     occurs twice at fall-back fires twice. So "*\/15 * * * *" fires every 15 real minutes and
 *     "0 * * * *" every real hour through both changes (for whole-hour DST shifts).
 *   - Fixed time: each matching local time fires exactly once per day it names. A time in a
 *     spring-forward gap fires at the first instant after the gap (the transition itself; in
 *     Europe/Berlin on 2026-03-29 "30 2 * * *" fires at 03:00 CEST = 01:00 UTC); several matching
 *     times in one gap, and a match exactly at the gap's end, fire once together. A time that
 *     occurs twice at fall-back fires only at its first occurrence (the daylight-time one).
 *   This is Vixie cron's intent (fixed jobs run once, wildcard jobs follow the clock); unlike
 *   Vixie, a `*` in the MINUTE field alone does not make a schedule follow the clock, so
 *   "*\/15 2 * * *" still runs once at 03:00 on a spring-forward day instead of not at all.
 *
 * Bounded search: sk_schedule_next looks at most SK_SCHEDULE_HORIZON_YEARS ahead (9: enough for
 * Feb 29 across a skipped century leap year, 2096 -> 2104); a schedule with no fire time in that
 * window ("0 0 30 2 *") fails with SK_ERR_CONFIG "... never fires". The search skips by month, day,
 * hour and minute fields and by time-zone offset periods (no minute-by-minute scan).
 *
 * The clock is the caller's: nothing here calls time(). Supported instants: years 1..9999 UTC.
 * No global state: a parsed sk_schedule and a loaded sk_tz are read-only and may be shared
 * between threads. The runtime image needs the tzdata package for any zone other than UTC.
 */
#ifndef SK_SCHEDULE_H
#define SK_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SK_SCHEDULE_HORIZON_YEARS 9

typedef struct sk_schedule sk_schedule;
typedef struct sk_tz sk_tz;

/* Parse a cron expression. `varname` names its source in error messages ("SNAPKEEP_SCHEDULE",
 * "jobs.db.schedule"; NULL means "schedule"), e.g.
 *   SNAPKEEP_SCHEDULE: hour field '25': value 25 out of range 0-23
 * Returns NULL and fills *err (SK_ERR_CONFIG; SK_ERR_INTERNAL on out of memory) on failure. */
sk_schedule *sk_schedule_parse(const char *expr, const char *varname, sk_err *err);
void sk_schedule_free(sk_schedule *s);

/* The normalised expression: macros expanded, names as numbers, 7 as 0, lists sorted with runs
 * written as ranges, a full `*`-field as "*". Fields starting with `*` keep their text so that
 * re-parsing gives the same schedule (the `*` matters for day matching and DST). */
const char *sk_schedule_normalized(const sk_schedule *s);

/* 1 when the schedule follows the clock across DST changes (hour field starts with `*`). */
int sk_schedule_follows_clock(const sk_schedule *s);

/* Next fire time strictly after `after` (unix seconds), evaluated in zone `tz` (see above).
 * Errors: SK_ERR_CONFIG for an unknown zone or a schedule that never fires; SK_ERR_USAGE for
 * `after` outside years 1..9999. Loads the zone on each call; use sk_schedule_next_in to reuse. */
sk_rc sk_schedule_next(const sk_schedule *s, const char *tz, int64_t after, int64_t *next,
                       sk_err *err);
sk_rc sk_schedule_next_in(const sk_schedule *s, const sk_tz *tz, int64_t after, int64_t *next,
                          sk_err *err);

/* Load a zone by name (see above). `varname` names the setting in messages (NULL means "TZ").
 * Returns NULL and fills *err (SK_ERR_CONFIG naming the zone and the directory) on failure. */
sk_tz *sk_tz_load(const char *name, const char *varname, sk_err *err);
void sk_tz_free(sk_tz *tz);
/* The name as given ("UTC" for NULL or ""). */
const char *sk_tz_name(const sk_tz *tz);
/* UTC offset in seconds east of Greenwich in effect at instant t. */
int32_t sk_tz_offset(const sk_tz *tz, int64_t t);

/* Format instant t as local time in tz: "2026-03-29T03:00:00+02:00 CEST" (the abbreviation is
 * left out when the zone has none). Returns SK_OK, or SK_ERR_USAGE if t is out of range or buf too
 * small (buf then holds a truncated string). 64 bytes always suffice. */
sk_rc sk_tz_format(const sk_tz *tz, int64_t t, char *buf, size_t len, sk_err *err);

/* Parse an ISO 8601 time "YYYY-MM-DD[(T| )HH:MM[:SS]][Z|(+|-)HH[:]MM]" into unix seconds. Without
 * a zone suffix it is local time in tz, resolved like a fixed-time schedule: a time in a
 * spring-forward gap means the first instant after the gap, a repeated time its first occurrence.
 * `what` names the input in messages ("--from"). Errors: SK_ERR_USAGE. */
sk_rc sk_tz_parse_time(const sk_tz *tz, const char *text, const char *what, int64_t *t,
                       sk_err *err);

#endif
