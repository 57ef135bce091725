/* The writer chain's stages: hashes against published vectors, zstd round trips at awkward write
 * sizes, and the check stages' refusal to finish downstream on a mismatch. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../agent/filter_hash.h"
#include "../../agent/filter_zstd.h"
#include "../../agent/stream.h"

static void test_hash_vectors(void **state)
{
    (void)state;
    char hex[65];
    /* RFC 1321 and FIPS 180-2 test vectors */
    sk_hash_hex(SK_HASH_MD5, "abc", 3, hex);
    assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
    sk_hash_hex(SK_HASH_SHA256, "abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sk_hash_hex(SK_HASH_MD5, "", 0, hex);
    assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");

    sk_err err;
    sk_err_clear(&err);
    sk_writer *mem = sk_mem_writer_new(1 << 20, &err);
    sk_writer *h = sk_hash_writer_new(mem, SK_HASH_SHA256, &err);
    assert_non_null(h);
    /* "abc" in pieces hashes like "abc" at once, and passes through unchanged */
    assert_int_equal(sk_writer_write(h, "a", 1, &err), SK_OK);
    assert_int_equal(sk_writer_write(h, "bc", 2, &err), SK_OK);
    assert_int_equal(sk_writer_finish(h, &err), SK_OK);
    sk_hash_writer_hex(h, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    size_t len;
    assert_memory_equal(sk_mem_writer_data(mem, &len), "abc", 3);
    assert_int_equal(len, 3);
    assert_int_equal(h->bytes, 3);
    sk_writer_free_chain(h);
}

static unsigned char *test_data(size_t n)
{
    unsigned char *d = malloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        /* half compressible text, half noise */
        d[i] = (i / 4096) % 2 ? (unsigned char)(x >> 24) : (unsigned char)("snapkeep backup "[i % 16]);
    }
    return d;
}

/* compress with `step`-byte writes, decompress with `dstep`-byte writes; compare */
static void roundtrip(size_t n, size_t step, size_t dstep, int workers)
{
    sk_err err;
    sk_err_clear(&err);
    unsigned char *d = test_data(n);
    sk_writer *zmem = sk_mem_writer_new(n + 65536, &err);
    sk_zstd_opts o = { 3, workers };
    sk_writer *z = sk_zstd_writer_new(zmem, &o, &err);
    assert_non_null(z);
    for (size_t i = 0; i < n; i += step)
        assert_int_equal(sk_writer_write(z, d + i, i + step > n ? n - i : step, &err), SK_OK);
    assert_int_equal(sk_writer_finish(z, &err), SK_OK);
    size_t zlen;
    const char *zd = sk_mem_writer_data(zmem, &zlen);

    sk_writer *out = sk_mem_writer_new(n + 1, &err);
    sk_writer *u = sk_unzstd_writer_new(out, &err);
    for (size_t i = 0; i < zlen; i += dstep)
        assert_int_equal(sk_writer_write(u, zd + i, i + dstep > zlen ? zlen - i : dstep, &err), SK_OK);
    assert_int_equal(sk_writer_finish(u, &err), SK_OK);
    size_t olen;
    const char *od = sk_mem_writer_data(out, &olen);
    assert_int_equal(olen, n);
    assert_memory_equal(od, d, n);
    sk_writer_free_chain(u);
    sk_writer_free_chain(z);
    free(d);
}

static void test_zstd_roundtrips(void **state)
{
    (void)state;
    roundtrip(1, 1, 1, 0);
    roundtrip(1000, 1, 1, 0);
    roundtrip(300000, 7, 3, 0);
    roundtrip(3 << 20, 65536, 1 << 20, 2);
    roundtrip(3 << 20, 1 << 20, 13, 0);
}

static void test_unzstd_rejects_truncated_and_corrupt(void **state)
{
    (void)state;
    sk_err err;
    sk_err_clear(&err);
    size_t n = 200000;
    unsigned char *d = test_data(n);
    sk_writer *zmem = sk_mem_writer_new(n + 65536, &err);
    sk_zstd_opts o = { 3, 0 };
    sk_writer *z = sk_zstd_writer_new(zmem, &o, &err);
    assert_int_equal(sk_writer_write(z, d, n, &err), SK_OK);
    assert_int_equal(sk_writer_finish(z, &err), SK_OK);
    size_t zlen;
    const char *zd = sk_mem_writer_data(zmem, &zlen);

    /* truncated: all but the last 10 bytes */
    sk_writer *u = sk_unzstd_writer_new(sk_null_writer_new(&err), &err);
    assert_int_equal(sk_writer_write(u, zd, zlen - 10, &err), SK_OK);
    assert_int_equal(sk_writer_finish(u, &err), SK_ERR_INTEGRITY);
    assert_non_null(strstr(err.msg, "truncated"));
    sk_writer_free_chain(u);

    /* corrupt: a flipped byte in the middle (the frame checksum or the block decoder catches it) */
    char *bad = malloc(zlen);
    memcpy(bad, zd, zlen);
    bad[zlen / 2] ^= 0x5a;
    sk_err_clear(&err);
    u = sk_unzstd_writer_new(sk_null_writer_new(&err), &err);
    sk_rc rc = sk_writer_write(u, bad, zlen, &err);
    if (rc == SK_OK)
        rc = sk_writer_finish(u, &err);
    assert_int_equal(rc, SK_ERR_INTEGRITY);
    sk_writer_free_chain(u);

    /* empty input is not a backup */
    sk_err_clear(&err);
    u = sk_unzstd_writer_new(sk_null_writer_new(&err), &err);
    assert_int_equal(sk_writer_finish(u, &err), SK_ERR_INTEGRITY);
    sk_writer_free_chain(u);
    free(bad);
    sk_writer_free_chain(z);
    free(d);
}

static void test_check_writer(void **state)
{
    (void)state;
    sk_err err;
    sk_err_clear(&err);
    char md5_abc[] = "900150983cd24fb0d6963f7d28e17f72";

    /* match: passes through and finishes downstream */
    sk_writer *mem = sk_mem_writer_new(100, &err);
    sk_writer *c = sk_check_writer_new(mem, SK_HASH_MD5, md5_abc, 3, "test object", &err);
    assert_int_equal(sk_writer_write(c, "abc", 3, &err), SK_OK);
    assert_int_equal(sk_writer_finish(c, &err), SK_OK);
    assert_true(mem->finished);
    sk_writer_free_chain(c);

    /* mismatch: refused, and downstream is NOT finished (nothing gets committed) */
    mem = sk_mem_writer_new(100, &err);
    c = sk_check_writer_new(mem, SK_HASH_MD5, md5_abc, 3, "test object", &err);
    assert_int_equal(sk_writer_write(c, "abd", 3, &err), SK_OK);
    assert_int_equal(sk_writer_finish(c, &err), SK_ERR_INTEGRITY);
    assert_non_null(strstr(err.msg, "MD5 mismatch"));
    assert_non_null(strstr(err.msg, "test object"));
    assert_false(mem->finished);
    sk_writer_free_chain(c);

    /* right digest, wrong expected size */
    sk_err_clear(&err);
    mem = sk_mem_writer_new(100, &err);
    c = sk_check_writer_new(mem, SK_HASH_MD5, md5_abc, 4, "test object", &err);
    assert_int_equal(sk_writer_write(c, "abc", 3, &err), SK_OK);
    assert_int_equal(sk_writer_finish(c, &err), SK_ERR_INTEGRITY);
    assert_non_null(strstr(err.msg, "size mismatch"));
    assert_false(mem->finished);
    sk_writer_free_chain(c);

    /* downstream fails on garbage AND the checksum does not match: the report names the checksum */
    sk_err_clear(&err);
    sk_writer *u = sk_unzstd_writer_new(sk_null_writer_new(&err), &err);
    c = sk_check_writer_new(u, SK_HASH_MD5, md5_abc, 8, "download", &err);
    assert_int_equal(sk_writer_write(c, "garbage!", 8, &err), SK_OK); /* drained, not failed */
    assert_int_equal(sk_writer_finish(c, &err), SK_ERR_INTEGRITY);
    assert_non_null(strstr(err.msg, "MD5 mismatch"));
    sk_writer_free_chain(c);

    /* more bytes than expected: refused in write(), at once, before anything is forwarded */
    sk_err_clear(&err);
    mem = sk_mem_writer_new(100, &err);
    c = sk_check_writer_new(mem, SK_HASH_MD5, md5_abc, 3, "test object", &err);
    assert_int_equal(sk_writer_write(c, "ab", 2, &err), SK_OK);
    assert_int_equal(sk_writer_write(c, "cd", 2, &err), SK_ERR_INTEGRITY);
    assert_non_null(strstr(err.msg, "more than the 3 bytes"));
    assert_int_equal(mem->bytes, 2);
    assert_false(mem->finished);
    sk_writer_free_chain(c);
}

static void test_sticky_failure(void **state)
{
    (void)state;
    sk_err err;
    sk_err_clear(&err);
    sk_writer *mem = sk_mem_writer_new(4, &err);
    assert_int_equal(sk_writer_write(mem, "12345", 5, &err), SK_ERR_INTEGRITY);
    sk_err_clear(&err);
    assert_int_equal(sk_writer_write(mem, "1", 1, &err), SK_ERR_INTEGRITY);
    sk_err_clear(&err);
    assert_int_equal(sk_writer_finish(mem, &err), SK_ERR_INTEGRITY);
    sk_writer_free_chain(mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_vectors),
        cmocka_unit_test(test_zstd_roundtrips),
        cmocka_unit_test(test_unzstd_rejects_truncated_and_corrupt),
        cmocka_unit_test(test_check_writer),
        cmocka_unit_test(test_sticky_failure),
    };
    return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
