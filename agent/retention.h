/*
 * retention.h: which backups to keep. Pure decisions, no I/O (the job applies them).
 *
 * A backup is kept when ANY rule keeps it:
 *   - it is one of the newest keep_min good backups (always, whatever its age); a suspect backup
 *     (guard.h) never counts towards keep_min, so it cannot push an older good one out;
 *   - days == 0 (no age limit), or it is younger than `days` days;
 *   - grandfather-father-son: it is the newest backup of one of the `daily` most recent UTC days
 *     that have a backup, of one of the `weekly` most recent ISO weeks, or of one of the `monthly`
 *     most recent months.
 * Everything else is deleted.
 */
#ifndef SK_RETENTION_H
#define SK_RETENTION_H

#include <stddef.h>
#include <stdint.h>

typedef struct sk_retention_policy {
    int days;      /* 0: no age-based deletion */
    int keep_min;
    int daily, weekly, monthly;
} sk_retention_policy;

typedef struct sk_retention_item {
    int64_t ts;           /* backup time (UTC seconds), from the key */
    int suspect;          /* flagged by the guards: not counted towards keep_min */
    int keep;             /* out */
    const char *reason;   /* out: the first rule that keeps it, or why it goes */
} sk_retention_item;

/* items must be sorted newest first. */
void sk_retention_decide(sk_retention_item *items, size_t n, const sk_retention_policy *p, int64_t now);

#endif
