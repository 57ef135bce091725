/*
 * guard.h: is a new backup suspect? Pure decisions on manifest facts, no I/O (the job gathers the
 * facts and records the verdict in the manifest).
 *
 * A backup is compared with the job's newest previous good (not suspect, not legacy) backup and is
 * suspect when any of these holds (each one adds a reason):
 *   - it is empty: the engine counted tables and found no user table, or no row in any of them;
 *   - a table of the previous backup is missing, or a table that had rows has none;
 *   - its plaintext size, or its total row count, is below (100 - max_drop_pct)% of the previous
 *     backup's (max_drop_pct 0 turns these two off).
 * Row checks need counts in both backups (`tables` NULL: the engine does not count, e.g. the
 * PocketBase engine, or an older manifest); the size check needs only the previous backup.
 */
#ifndef SK_GUARD_H
#define SK_GUARD_H

#include <stddef.h>
#include <stdint.h>

typedef struct sk_guard_facts {
    uint64_t plain_size;
    const char *tables;   /* JSON object {"table": rows, ...}, or NULL when not counted */
} sk_guard_facts;

/* Fill `reasons` ("; "-separated, never cut silently: a long list ends in "...") and return 1 when
 * `cur` is suspect; `prev` may be NULL (no previous good backup: only the empty check runs). */
int sk_guard_check(const sk_guard_facts *cur, const sk_guard_facts *prev, int max_drop_pct, char *reasons,
                   size_t sz);

/* Sum of the rows of a `tables` object; -1 when it is NULL or not such an object. */
int64_t sk_guard_total_rows(const char *tables);

#endif
