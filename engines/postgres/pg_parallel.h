/*
 * pg_parallel.h: the rows of one large table read over several connections at once, emitted in
 * exactly the byte order a single `COPY table (cols) TO STDOUT` gives.
 *
 * The dump's transaction exports its snapshot (pg_export_snapshot()); each helper connection goes
 * to the same server and database as the dump's (PQconninfo of it, pinned to the host and address
 * it reached), takes the dump's session settings and client encoding, and opens a REPEATABLE READ
 * READ ONLY transaction on that snapshot (SET TRANSACTION SNAPSHOT): it sees exactly the rows the
 * dump sees and formats them alike.
 *
 * A table is cut into ranges of heap blocks read with TID range scans (PostgreSQL 14 and later):
 * `COPY (SELECT cols FROM ONLY t WHERE ctid >= '(a,0)' AND ctid < '(b,0)') TO STDOUT`. A sequential
 * scan returns the visible tuples in block and line-pointer order, and so does a TID range scan, so
 * the ranges' output concatenated in range order is the table's COPY output, byte for byte. The last
 * range has no upper bound. Helper i reads ranges i, i+n, i+2n, ... into its own queue of chunks;
 * the calling thread emits range 0, 1, 2, ... from the queues in turn. A helper whose queue is full
 * waits (the server then waits on its socket).
 *
 * Sizes: each range is one query, and 128-block ranges cost a fifth more server CPU than one scan
 * of pgbench_accounts, 512-block ones (4 MiB of heap) a twentieth. A helper's queue holds about a
 * range's text (4 MiB), so it finishes its range while the consumer drains another helper's; a
 * shorter queue stalls it and the COPYs run one after the other again.
 * Memory: n queues of PGP_QUEUE chunks of PGP_CHUNK bytes at most (a row larger than a chunk gets
 * a chunk of its own size while it is queued, as libpq holds such a row whole anyway).
 *
 * Locks: a helper takes ACCESS SHARE on the table with NOWAIT before reading it. Waiting could
 * deadlock unseen: a concurrent ALTER TABLE queued behind the dump's own lock would queue the
 * helper behind it while the dump waits for the helper. When the lock is not granted at once,
 * the table (and the rest of the dump) is read over the dump's own connection instead.
 */
#ifndef SK_PG_PARALLEL_H
#define SK_PG_PARALLEL_H

#include <stdint.h>

#include <libpq-fe.h>

#include "../../agent/err.h"
#include "../../agent/runtime.h"

#define PGP_CHUNK (256 * 1024)
#define PGP_QUEUE 16
#define PGP_RANGE_BLOCKS 512L /* heap blocks per range: 4 MiB of heap */

typedef struct pg_par pg_par;

/* The dump's session settings (pg_dump's) and client encoding `enc` on `conn`. */
sk_rc pg_session_setup(PGconn *conn, const char *enc, sk_err *err);

/* Open up to `n` helper connections like `conn`, in transactions on `snapshot`. NULL when not one
 * could be set up; the reason is logged at debug level (the dump goes on over its own connection). */
pg_par *pg_par_open(PGconn *conn, const char *snapshot, int n, const sk_runtime *rt);

/* Whether the helpers can still take a table (none failed to be set up or to lock a table). */
int pg_par_usable(const pg_par *p);

/* The rows of `qname` (`cols`: its non-empty COPY column list; `nblocks`: its size in heap blocks),
 * read in ranges of `range_blocks` (0: PGP_RANGE_BLOCKS), pushed through emit() in order; *rows counts them. *parallel is set to 0 with SK_OK when the
 * helpers could not lock the table (nothing was emitted: copy it over the dump's connection). */
sk_rc pg_par_copy(pg_par *p, const char *qname, const char *cols, long nblocks, long range_blocks,
                  sk_rc (*emit)(void *ud, const char *buf, size_t len), void *ud, const sk_runtime *rt,
                  uint64_t *rows, int *parallel, sk_err *err);

void pg_par_close(pg_par *p);

#endif
