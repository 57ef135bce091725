/*
 * filter_zstd.h: zstd compression and decompression stages.
 *
 * The compressor writes one standard zstd frame with the content checksum flag set, so the stock
 * `zstd -d` (and `zstd -t`) accept and check it. Memory is bounded by zstd's window and, with
 * workers, by zstd's job buffers; input of any size streams through.
 *
 * The decompressor accepts one or more concatenated frames and fails in finish() when the input
 * ended inside a frame (a truncated artifact), so a short download can never look complete.
 */
#ifndef SK_FILTER_ZSTD_H
#define SK_FILTER_ZSTD_H

#include "stream.h"

typedef struct sk_zstd_opts {
    int level;     /* 1..22 */
    int workers;   /* 0: compress in the calling thread; N: N worker threads */
} sk_zstd_opts;

sk_writer *sk_zstd_writer_new(sk_writer *next, const sk_zstd_opts *opts, sk_err *err);
sk_writer *sk_unzstd_writer_new(sk_writer *next, sk_err *err);

#endif
