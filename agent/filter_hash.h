/*
 * filter_hash.h: pass-through stages that hash what flows through them.
 *
 * A hash stage forwards every byte unchanged and keeps a digest and a byte count.
 *
 * A check stage also compares, in finish(), the digest and size with expected values and fails
 * with SK_ERR_INTEGRITY *before* finishing the next stage, so nothing downstream is committed for
 * bytes that do not match. It fails in write() as soon as more bytes arrive than the expected size,
 * so a tampered artifact never makes a restore write more than the manifest promised. When a downstream stage fails mid-stream (say, zstd rejects corrupt
 * data), a check stage keeps consuming and hashing its input without forwarding it, so that the
 * report can name the root cause: "MD5 mismatch" for a damaged download, the downstream error only
 * when the bytes were the ones that were checksummed.
 */
#ifndef SK_FILTER_HASH_H
#define SK_FILTER_HASH_H

#include <stdint.h>

#include "stream.h"

typedef enum sk_hash_alg { SK_HASH_MD5, SK_HASH_SHA256 } sk_hash_alg;

sk_writer *sk_hash_writer_new(sk_writer *next, sk_hash_alg alg, sk_err *err);

/* expected_hex: lowercase hex digest; expected_size: byte count, or UINT64_MAX to skip the check.
 * `what` names the checked thing in messages ("download of 'key'"). */
sk_writer *sk_check_writer_new(sk_writer *next, sk_hash_alg alg, const char *expected_hex,
                               uint64_t expected_size, const char *what, sk_err *err);

/* Lowercase hex digest of what passed so far (valid after finish); out needs 65 bytes. */
void sk_hash_writer_hex(const sk_writer *w, char out[65]);

/* Hex digest of a buffer (tests, small objects). */
void sk_hash_hex(sk_hash_alg alg, const void *buf, size_t len, char out[65]);

#endif
