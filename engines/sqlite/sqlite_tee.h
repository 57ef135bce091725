/*
 * sqlite_tee.h: two VFSes that stream a snapshot into the writer chain while the online backup API
 * copies it into the spool file, so compression runs during the copy instead of after it (issue 13).
 *
 * Every call passes through to the default VFS.
 *  - src: the source connection's reads of page 1 (from the database file, or from a WAL frame
 *    whose header names page 1) are remembered: once the read snapshot is pinned, the last one is
 *    the snapshot's page 1. sk_sqlite_tee_begin() streams it first, with the page count in the
 *    header as the backup API writes it. The destination holds page 1 until its commit, so it
 *    cannot come from there.
 *  - dst: each write to the spool's main file that extends it in order (offset == bytes streamed)
 *    is also pushed into `out`, from the thread that runs sqlite3_backup_step(). The backup API
 *    writes a fresh destination's pages in ascending order (2, 3, ... as its cache spills them,
 *    then page 1 and the rest at commit, sorted), so the stream is the snapshot in file order.
 *    Page 1 written at commit must differ from the streamed one only in the header fields the
 *    backup API updates (change counter, page count, schema cookie, version-valid-for, library
 *    version); the page holding the lock byte (at 1 GiB), which SQLite never writes, is streamed
 *    as zeros, as the spool reads there. Anything else (another rewrite, a gap) fails the write
 *    and the tee: what is streamed never silently differs from the spool that is checked.
 * A failure of `out` fails the write too; the tee keeps the first failure with its own message.
 * Memory: two pages and a 256 KiB batch (pages are pushed down the chain 256 KiB at a time).
 */
#ifndef SK_SQLITE_TEE_H
#define SK_SQLITE_TEE_H

#include <stdint.h>

#include "../../agent/stream.h"

typedef struct sk_sqlite_tee sk_sqlite_tee;

/* Register the two VFSes, of names unique to this tee; NULL on failure (err set). */
sk_sqlite_tee *sk_sqlite_tee_new(sk_writer *out, sk_err *err);
/* The VFS names to pass to sqlite3_open_v2() for the source and for the spool. */
const char *sk_sqlite_tee_src_vfs(const sk_sqlite_tee *t);
const char *sk_sqlite_tee_dst_vfs(const sk_sqlite_tee *t);
/* With the source's read snapshot pinned (page 1 read), before the first backup step: stream page
 * 1 with `page_count` in its header. Does nothing once bytes were streamed. */
sk_rc sk_sqlite_tee_begin(sk_sqlite_tee *t, uint32_t page_count, sk_err *err);
/* Spool files opened from now on are not written: their pages are only streamed (and the file's
 * size kept, as SQLite asks for it). For a snapshot checked elsewhere (on the source), which
 * nothing reads back: the backup API never reads a page it wrote, except page 1, which is kept. */
void sk_sqlite_tee_discard(sk_sqlite_tee *t);
/* Bytes pushed into `out` so far. */
uint64_t sk_sqlite_tee_bytes(const sk_sqlite_tee *t);
/* After the copy: SK_OK when exactly `expected` bytes were streamed without a failure; otherwise the
 * first failure (err set). */
sk_rc sk_sqlite_tee_end(sk_sqlite_tee *t, uint64_t expected, sk_err *err);
/* The first failure, if any (rc != SK_OK): for an error raised by SQLite because a write failed. */
sk_rc sk_sqlite_tee_failure(const sk_sqlite_tee *t, sk_err *err);
/* Unregister and free; accepts NULL. No connection may still use the VFS. */
void sk_sqlite_tee_free(sk_sqlite_tee *t);

#endif
