/*
 * schedule_internal.h: hooks into schedule.c for tests and the fuzz harnesses (tests/fuzz/).
 * Not part of the module's contract (schedule.h); production code does not call these.
 */
#ifndef SK_SCHEDULE_INTERNAL_H
#define SK_SCHEDULE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "schedule.h"

/* A zone from a TZif image in memory (what sk_tz_load reads from a file). NULL with *why set
 * when the image is rejected. */
sk_tz *sk_tz_from_tzif(const void *data, size_t len, const char *name, const char **why);

/* A zone from a POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3"); NULL when it does not parse. */
sk_tz *sk_tz_from_posix(const char *tzstring);

/* 1 when the local wall time `wall` (seconds on the naive local calendar, counted like unix
 * time) is a whole minute that the schedule matches, field by field. */
int sk_schedule_matches_wall(const sk_schedule *s, int64_t wall);

#endif
