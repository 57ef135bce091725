/*
 * stream.h: the push-model writer chain every backup and restore flows through.
 *
 *   engine.dump -> sha256(plain) -> zstd -> [age] -> md5(stored) -> destination writer
 *   dest.get    -> md5 check     -> [unage] -> unzstd -> sha256 check -> engine restore sink
 *
 * A stage embeds sk_writer as its FIRST member and forwards to `next`. The chain owns its stages:
 * sk_writer_free_chain() destroys head..tail.
 *
 * Contract of a stage:
 *  - write(): consume all `len` bytes (forwarding any output) or fail. After a failure the stage is
 *    poisoned: further writes and finish() return the same error.
 *  - finish(): flush own state, check whatever the stage checks, then finish `next`. Only a
 *    successful finish() of the terminal sink makes its result visible (object published, database
 *    renamed into place, transaction committed).
 *  - abort(): discard own state, then abort `next`; it removes every trace of a sink's work. Safe to
 *    call after a failed write or finish, and more than once.
 *  - destroy(): free own resources only (never `next`).
 */
#ifndef SK_STREAM_H
#define SK_STREAM_H

#include <stdint.h>
#include <stddef.h>

#include "err.h"

typedef struct sk_writer sk_writer;

typedef struct sk_writer_type {
    const char *name;
    sk_rc (*write)(sk_writer *w, const void *buf, size_t len, sk_err *err);
    sk_rc (*finish)(sk_writer *w, sk_err *err);
    void (*abort)(sk_writer *w);
    void (*destroy)(sk_writer *w);
} sk_writer_type;

struct sk_writer {
    const sk_writer_type *type;
    sk_writer *next;      /* downstream stage; NULL for a terminal sink */
    uint64_t bytes;       /* bytes accepted by this stage (maintained by sk_writer_write) */
    sk_rc failed;         /* sticky: SK_OK while healthy */
    int finished;         /* finish() succeeded */
};

/* Initialise the embedded base of a newly allocated stage. */
void sk_writer_init(sk_writer *w, const sk_writer_type *type, sk_writer *next);

sk_rc sk_writer_write(sk_writer *w, const void *buf, size_t len, sk_err *err);
sk_rc sk_writer_finish(sk_writer *w, sk_err *err);
void sk_writer_abort(sk_writer *w);
void sk_writer_free_chain(sk_writer *head);

/* A sink writing to an open file descriptor (does not close it; finish() fsyncs unless fd is a
 * pipe/tty). `label` names the file in error messages. */
sk_writer *sk_fd_writer_new(int fd, const char *label, sk_err *err);

/* Write all of buf to fd, retrying short writes and EINTR; on failure fail with `rc`, naming
 * `label`. */
sk_rc sk_write_all(int fd, const void *buf, size_t len, const char *label, sk_rc rc, sk_err *err);

/* A sink that only counts bytes. */
sk_writer *sk_null_writer_new(sk_err *err);

/* A sink collecting everything in memory, up to `limit` bytes (larger input fails). For small
 * objects only: manifests and .md5 sidecars. The buffer stays owned by the writer. */
sk_writer *sk_mem_writer_new(size_t limit, sk_err *err);
const char *sk_mem_writer_data(const sk_writer *w, size_t *len);

/* Push the whole content of `fd` into `w` (not finishing it), in chunks of `chunk` bytes.
 * `cancelled` (may be NULL) is polled between chunks. */
sk_rc sk_copy_fd(int fd, const char *label, sk_writer *w, size_t chunk,
                 int (*cancelled)(void *), void *cancel_ud, sk_err *err);

#endif
