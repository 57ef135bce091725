#include "filter_zstd.h"

#include <errno.h>
#include <stdlib.h>

#include <zstd.h>

#define SK_ZSTD_JOB_SIZE (1 << 20)
#define SK_ZSTD_SMALL_JOB_MAX_LEVEL 9

typedef struct zstd_writer {
    sk_writer base;
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    void *out;
    size_t cap;
    size_t pending; /* decompressor: last ZSTD_decompressStream hint; 0 at a frame boundary */
} zstd_writer;

static sk_rc forward(zstd_writer *z, ZSTD_outBuffer *out, sk_err *err)
{
    if (out->pos == 0)
        return SK_OK;
    return sk_writer_write(z->base.next, out->dst, out->pos, err);
}

static sk_rc compress_pump(zstd_writer *z, ZSTD_inBuffer *in, ZSTD_EndDirective op, sk_err *err)
{
    for (;;) {
        ZSTD_outBuffer out = { z->out, z->cap, 0 };
        size_t left = ZSTD_compressStream2(z->cctx, &out, in, op);
        if (ZSTD_isError(left))
            return sk_fail(err, SK_ERR_INTERNAL, 0, "zstd compression: %s", ZSTD_getErrorName(left));
        sk_rc rc = forward(z, &out, err);
        if (rc != SK_OK)
            return rc;
        if (op == ZSTD_e_continue ? in->pos == in->size : left == 0)
            return SK_OK;
    }
}

static sk_rc compress_write(sk_writer *w, const void *buf, size_t len, sk_err *err)
{
    ZSTD_inBuffer in = { buf, len, 0 };
    return compress_pump((zstd_writer *)w, &in, ZSTD_e_continue, err);
}

static sk_rc compress_finish(sk_writer *w, sk_err *err)
{
    ZSTD_inBuffer in = { NULL, 0, 0 };
    sk_rc rc = compress_pump((zstd_writer *)w, &in, ZSTD_e_end, err);
    return rc != SK_OK ? rc : sk_writer_finish(w->next, err);
}

static sk_rc decompress_write(sk_writer *w, const void *buf, size_t len, sk_err *err)
{
    zstd_writer *z = (zstd_writer *)w;
    ZSTD_inBuffer in = { buf, len, 0 };
    for (;;) {
        ZSTD_outBuffer out = { z->out, z->cap, 0 };
        size_t hint = ZSTD_decompressStream(z->dctx, &out, &in);
        if (ZSTD_isError(hint))
            return sk_fail(err, SK_ERR_INTEGRITY, 0, "zstd: the data is not a valid zstd stream (%s)",
                           ZSTD_getErrorName(hint));
        z->pending = hint;
        sk_rc rc = forward(z, &out, err);
        if (rc != SK_OK)
            return rc;
        /* done when all input is consumed and the decoder has nothing left to flush (output not
         * full), or a frame just ended (calling again would start reading the next frame) */
        if (in.pos == in.size && (out.pos < out.size || hint == 0))
            return SK_OK;
    }
}

static sk_rc decompress_finish(sk_writer *w, sk_err *err)
{
    zstd_writer *z = (zstd_writer *)w;
    if (w->bytes == 0)
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "zstd: the artifact is empty");
    if (z->pending != 0)
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "zstd: the artifact is truncated (it ends inside a frame)");
    return sk_writer_finish(w->next, err);
}

static void zstd_abort(sk_writer *w) { sk_writer_abort(w->next); }

static void zstd_destroy(sk_writer *w)
{
    zstd_writer *z = (zstd_writer *)w;
    ZSTD_freeCCtx(z->cctx);
    ZSTD_freeDCtx(z->dctx);
    free(z->out);
    free(z);
}

static const sk_writer_type compress_type = { "zstd", compress_write, compress_finish, zstd_abort, zstd_destroy };
static const sk_writer_type decompress_type = { "unzstd", decompress_write, decompress_finish, zstd_abort,
                                                zstd_destroy };

sk_writer *sk_zstd_writer_new(sk_writer *next, const sk_zstd_opts *opts, sk_err *err)
{
    zstd_writer *z = calloc(1, sizeof *z);
    if (!z)
        goto nomem;
    sk_writer_init(&z->base, &compress_type, next);
    z->cap = ZSTD_CStreamOutSize();
    if (!(z->out = malloc(z->cap)) || !(z->cctx = ZSTD_createCCtx()))
        goto nomem;
    size_t r = ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, opts->level);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 1);
    if (!ZSTD_isError(r) && opts->workers > 0)
        r = ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_nbWorkers, opts->workers);
    /* zstd's default job is 4 windows (8 MiB at level 3) and it keeps several jobs of input and
     * output buffered per worker: ~55 MiB peak RSS at level 3 with 2 workers. 1 MiB jobs (each
     * still sees the previous window through the overlap) measured 12 MiB, the same CPU time and a
     * file 0.1 % smaller on a 45 MiB SQLite database (`zstd -3 -T2 -B1M`, issue 13). At high
     * levels, whose window is larger, the library default is kept. */
    if (!ZSTD_isError(r) && opts->workers > 0 && opts->level <= SK_ZSTD_SMALL_JOB_MAX_LEVEL)
        r = ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_jobSize, SK_ZSTD_JOB_SIZE);
    if (ZSTD_isError(r)) {
        sk_fail(err, SK_ERR_CONFIG, 0, "zstd: cannot use level %d with %d workers: %s", opts->level,
                opts->workers, ZSTD_getErrorName(r));
        zstd_destroy(&z->base);
        return NULL;
    }
    return &z->base;
nomem:
    if (z)
        zstd_destroy(&z->base);
    sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "zstd: out of memory");
    return NULL;
}

sk_writer *sk_unzstd_writer_new(sk_writer *next, sk_err *err)
{
    zstd_writer *z = calloc(1, sizeof *z);
    if (!z)
        goto nomem;
    sk_writer_init(&z->base, &decompress_type, next);
    z->cap = ZSTD_DStreamOutSize();
    if (!(z->out = malloc(z->cap)) || !(z->dctx = ZSTD_createDCtx()))
        goto nomem;
    return &z->base;
nomem:
    if (z)
        zstd_destroy(&z->base);
    sk_fail(err, SK_ERR_INTERNAL, ENOMEM, "zstd: out of memory");
    return NULL;
}
