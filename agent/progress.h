/*
 * progress.h: a pass-through stage that reports long work at a steady interval.
 *
 *   backup:  engine -> progress -> sha256 -> zstd -> md5 -> destination
 *   restore: dest.get -> progress -> md5 check -> unzstd -> sha256 check -> sink
 *
 * The stage forwards every byte unchanged. On a write or a note, once `interval` seconds have
 * passed since the start or the previous line, it logs one INFO line (stage "progress"): the bytes
 * through itself, the bytes counted by a `peer` stage further down (the stored bytes of a backup,
 * the restored plaintext of a restore), the average rate, the current item (a table) and a percent
 * when a total is known. Work shorter than the interval prints nothing. Time is read at most once a
 * write or note, with a coarse clock: the stage costs nothing measurable.
 *
 * Engines and jobs feed facts with the sk_progress_* calls below on the head of the chain they
 * were given; they walk down the chain to the progress stage and do nothing when there is none, so
 * an engine never needs to know whether progress is reported.
 */
#ifndef SK_PROGRESS_H
#define SK_PROGRESS_H

#include <stdint.h>

#include "log.h"
#include "stream.h"

/* `own_label`/`peer_label`: what the two byte counts are ("read", "stored"); `peer` may be NULL and
 * must outlive the stage (it is a later stage of the same chain). interval_s <= 0 disables lines
 * (the stage still forwards). */
sk_writer *sk_progress_writer_new(sk_writer *next, sk_log *log, double interval_s, const char *own_label,
                                  const sk_writer *peer, const char *peer_label, sk_err *err);

/* The current item ("table public.orders"); NULL clears it. The string is copied. */
void sk_progress_item(sk_writer *chain, const char *item);
/* The expected byte count through the stage (percent = bytes / total); 0: unknown. */
void sk_progress_total(sk_writer *chain, uint64_t total);
/* A phase measured in its own units before or besides the bytes (SQLite snapshot pages): while
 * set, the percent is done/total of the phase. NULL phase clears it. Also a chance to log. */
void sk_progress_step(sk_writer *chain, const char *phase, uint64_t done, uint64_t total);

#endif
