/*
 * fanout.h: a terminal writer stage that copies one stream to several sinks at the same time
 * (one dump, several destinations: the 3-2-1 copies).
 *
 * Overall design: each sink (branch) has its own thread and a queue of at most
 * SK_FANOUT_QUEUE chunks of at most SK_FANOUT_CHUNK bytes; write() copies the input into
 * reference-counted chunks and queues each on every live branch. A branch whose queue is full
 * makes write() wait: a slow destination slows the dump down (back-pressure), memory stays at
 * most branches x SK_FANOUT_QUEUE x SK_FANOUT_CHUNK, and nothing is buffered without limit.
 *
 * A branch that fails is aborted at once (its sink removes its partial object) and takes no more
 * data; the others go on. write() fails only when every branch has failed (its error is the first
 * branch's). finish() finishes every live branch concurrently (each commits on its own) and
 * succeeds when at least one committed; sk_fanout_branch() tells which. abort() aborts the
 * branches that have not committed; a committed object is the caller's to remove.
 * The stage owns its sinks (whole chains), and frees them in destroy().
 */
#ifndef SK_FANOUT_H
#define SK_FANOUT_H

#include "stream.h"

#define SK_FANOUT_CHUNK (256u * 1024u)
#define SK_FANOUT_QUEUE 4

/* A stage over `sinks[0..n)` (n >= 1); on failure the sinks are aborted and freed. */
sk_writer *sk_fanout_new(sk_writer *const *sinks, size_t n, sk_err *err);

/* After finish() or abort(): 1 when branch i committed; else 0 and, if `why` is given, its error
 * (SK_ERR_CANCELLED "aborted" for a branch stopped by abort()). */
int sk_fanout_branch(const sk_writer *w, size_t i, sk_err *why);

#endif
