/* The age v1 format: key encodings, round trips at awkward sizes and write sizes, tampering
 * (modified, truncated, reordered chunks, swapped headers, wrong keys), and every X25519/scrypt
 * vector of the C2SP/CCTV age test suite (tests/fixtures/age), each against its expected outcome. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <cmocka.h>
#include <zlib.h>

#include "../../agent/age.h"
#include "../../agent/filter_hash.h"
#include "../../agent/stream.h"

/* id1/rc1: the example pair of the age spec; id2: the identity of CCTV's x25519 vector. */
static const char *id1 = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
static const char *rc1 = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";
static const char *id2 = "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";

static unsigned char *test_data(size_t n)
{
    unsigned char *d = malloc(n ? n : 1);
    uint32_t x = 777;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        d[i] = (unsigned char)(x >> 24);
    }
    return d;
}

static sk_age_keys *keys_rcpt(const char *text)
{
    sk_err err;
    sk_err_clear(&err);
    sk_age_keys *k = sk_age_keys_new();
    assert_int_equal(sk_age_keys_add_recipients(k, text, "test", &err), SK_OK);
    return k;
}

static sk_age_keys *keys_id(const char *text)
{
    sk_err err;
    sk_err_clear(&err);
    sk_age_keys *k = sk_age_keys_new();
    assert_int_equal(sk_age_keys_add_identities(k, text, "test", &err), SK_OK);
    return k;
}

/* Encrypt buf to k in writes of `step` bytes; returns the ciphertext (malloc'd) and its length. */
static unsigned char *encrypt(const sk_age_keys *k, const unsigned char *buf, size_t n, size_t step, size_t *out_len)
{
    sk_err err;
    sk_err_clear(&err);
    sk_writer *mem = sk_mem_writer_new(n + n / 1000 + 4096, &err);
    sk_writer *e = sk_age_encrypt_writer_new(mem, k, &err);
    assert_non_null(e);
    for (size_t i = 0; i < n; i += step)
        assert_int_equal(sk_writer_write(e, buf + i, n - i < step ? n - i : step, &err), SK_OK);
    assert_int_equal(sk_writer_finish(e, &err), SK_OK);
    const char *d = sk_mem_writer_data(mem, out_len);
    unsigned char *copy = malloc(*out_len);
    memcpy(copy, d, *out_len);
    sk_writer_free_chain(e);
    return copy;
}

typedef struct dec_result {
    sk_age_fail fail;
    char sha[65];    /* of the plaintext released (even on failure) */
    uint64_t released;
    char msg[1024];
} dec_result;

static void decrypt(const sk_age_keys *k, const unsigned char *buf, size_t n, size_t step, dec_result *r)
{
    sk_err err;
    sk_err_clear(&err);
    sk_writer *sink = sk_null_writer_new(&err);
    sk_writer *h = sk_hash_writer_new(sink, SK_HASH_SHA256, &err);
    sk_writer *d = sk_age_decrypt_writer_new(h, k, "test file", &err);
    assert_non_null(d);
    sk_rc rc = SK_OK;
    for (size_t i = 0; i < n && rc == SK_OK; i += step)
        rc = sk_writer_write(d, buf + i, n - i < step ? n - i : step, &err);
    if (rc == SK_OK)
        rc = sk_writer_finish(d, &err);
    r->fail = sk_age_decrypt_failure(d);
    snprintf(r->msg, sizeof r->msg, "%s", err.msg);
    if (rc != SK_OK) {
        assert_int_not_equal(r->fail, SK_AGE_OK);
        sk_err e2;
        sk_err_clear(&e2);
        assert_int_equal(sk_writer_finish(h, &e2), SK_OK); /* hash what was released */
    } else {
        assert_int_equal(r->fail, SK_AGE_OK);
    }
    sk_hash_writer_hex(h, r->sha);
    r->released = h->bytes;
    sk_writer_free_chain(d);
}

static void test_keys(void **state)
{
    (void)state;
    sk_err err;
    sk_err_clear(&err);
    /* the identity/recipient pair of the spec */
    sk_age_keys *k = keys_id("# created: 2026\n# public key: ...\n" "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX\n");
    assert_int_equal(sk_age_keys_count(k), 1);
    assert_string_equal(sk_age_keys_recipient(k, 0), rc1);
    sk_age_keys_free(k);
    unsigned char pk[32];
    char back[SK_AGE_RECIPIENT_LEN];
    assert_int_equal(sk_age_recipient_decode(rc1, pk, &err), SK_OK);
    sk_age_recipient_encode(pk, back);
    assert_string_equal(back, rc1);
    /* a changed character breaks the checksum; mixed case is refused; a secret key is not a recipient */
    char bad[80];
    snprintf(bad, sizeof bad, "%s", rc1);
    bad[10] = bad[10] == 'q' ? 'p' : 'q';
    sk_age_keys *r = sk_age_keys_new();
    assert_int_equal(sk_age_keys_add_recipients(r, bad, "SNAPKEEP_AGE_RECIPIENTS", &err), SK_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "SNAPKEEP_AGE_RECIPIENTS"));
    sk_err_clear(&err);
    snprintf(bad, sizeof bad, "%s", rc1);
    bad[5] = (char)(bad[5] - 32);
    assert_int_equal(sk_age_keys_add_recipients(r, bad, "x", &err), SK_ERR_CONFIG);
    sk_err_clear(&err);
    assert_int_equal(sk_age_keys_add_recipients(r, id1, "x", &err), SK_ERR_CONFIG);
    assert_null(strstr(err.msg, id1 + 16)); /* never echo a secret */
    sk_err_clear(&err);
    /* several recipients, comma or space separated, with comments */
    assert_int_equal(sk_age_keys_add_recipients(r, "# ops\nage1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj,"
                                                   "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj # dup\n",
                                                   "x", &err),
                     SK_OK);
    assert_int_equal(sk_age_keys_count(r), 2);
    sk_age_keys_free(r);
    /* a damaged identity line is named by number, not quoted */
    sk_age_keys *i = sk_age_keys_new();
    char dam[100];
    snprintf(dam, sizeof dam, "\n%s", id1);
    dam[30] = dam[30] == 'Q' ? 'P' : 'Q';
    assert_int_equal(sk_age_keys_add_identities(i, dam, "SNAPKEEP_AGE_IDENTITY_FILE", &err), SK_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "line 2"));
    assert_null(strstr(err.msg, "GFPYYSJZ"));
    sk_err_clear(&err);
    assert_int_equal(sk_age_keys_add_identities(i, "age-encryption.org/v1\n-> scrypt x 18\n", "K", &err), SK_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "itself an age-encrypted file"));
    sk_age_keys_free(i);
}

static void roundtrip(size_t n, size_t step, size_t dstep)
{
    sk_age_keys *r = keys_rcpt("age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj");
    sk_age_keys *id = keys_id(id1);
    unsigned char *plain = test_data(n);
    char want[65];
    sk_hash_hex(SK_HASH_SHA256, plain, n, want);
    size_t clen;
    unsigned char *ct = encrypt(r, plain, n, step, &clen);
    /* header + nonce + ceil(n / 64 KiB) chunks (at least one) with a 16-byte tag each */
    size_t chunks = n ? (n + SK_AGE_CHUNK - 1) / SK_AGE_CHUNK : 1;
    assert_true(clen > n + chunks * 16 + 16);
    dec_result res;
    decrypt(id, ct, clen, dstep, &res);
    assert_int_equal(res.fail, SK_AGE_OK);
    assert_string_equal(res.sha, want);
    assert_int_equal(res.released, n);
    free(ct);
    free(plain);
    sk_age_keys_free(r);
    sk_age_keys_free(id);
}

static void test_roundtrip(void **state)
{
    (void)state;
    size_t sizes[] = { 0, 1, 1000, SK_AGE_CHUNK - 1, SK_AGE_CHUNK, SK_AGE_CHUNK + 1, 3 * SK_AGE_CHUNK, 3 * SK_AGE_CHUNK + 17 };
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        roundtrip(sizes[i], 1 << 20, 1 << 20);
        roundtrip(sizes[i], 4093, 7);
    }
}

static void test_multi_and_passphrase(void **state)
{
    (void)state;
    sk_err err;
    sk_err_clear(&err);
    sk_age_keys *id_b = keys_id(id2);
    char both[200];
    snprintf(both, sizeof both, "%s %s", rc1, sk_age_keys_recipient(id_b, 0));
    sk_age_keys *r = keys_rcpt(both);
    unsigned char *plain = test_data(100000);
    char want[65];
    sk_hash_hex(SK_HASH_SHA256, plain, 100000, want);
    size_t clen;
    unsigned char *ct = encrypt(r, plain, 100000, 65536, &clen);
    dec_result res;
    /* either identity alone decrypts */
    sk_age_keys *id_a = keys_id(id1);
    decrypt(id_a, ct, clen, 1 << 20, &res);
    assert_string_equal(res.sha, want);
    decrypt(id_b, ct, clen, 1 << 20, &res);
    assert_string_equal(res.sha, want);
    sk_age_keys *ponly = sk_age_keys_new(); /* a passphrase cannot open an X25519 file: say what is needed */
    assert_int_equal(sk_age_keys_set_passphrase(ponly, "pw", 10, &err), SK_OK);
    decrypt(ponly, ct, clen, 1 << 20, &res);
    assert_int_equal(res.fail, SK_AGE_FAIL_NO_MATCH);
    assert_non_null(strstr(res.msg, "only a passphrase was given"));
    sk_age_keys_free(ponly);
    free(ct);
    sk_age_keys_free(r);

    /* passphrase: round trip, wrong passphrase, and never together with recipients */
    sk_age_keys *p = sk_age_keys_new();
    assert_int_equal(sk_age_keys_set_passphrase(p, "correct horse", 10, &err), SK_OK);
    ct = encrypt(p, plain, 100000, 333, &clen);
    assert_non_null(memmem(ct, 200, "-> scrypt ", 10));
    assert_null(memmem(ct, clen, "correct horse", 13));
    decrypt(p, ct, clen, 1 << 20, &res);
    assert_int_equal(res.fail, SK_AGE_OK);
    assert_string_equal(res.sha, want);
    sk_age_keys *wrong = sk_age_keys_new();
    assert_int_equal(sk_age_keys_set_passphrase(wrong, "wrong horse", 10, &err), SK_OK);
    decrypt(wrong, ct, clen, 1 << 20, &res);
    assert_int_equal(res.fail, SK_AGE_FAIL_NO_MATCH);
    assert_int_equal(res.released, 0);
    decrypt(id_a, ct, clen, 1 << 20, &res); /* an identity alone cannot open a passphrase file */
    assert_int_equal(res.fail, SK_AGE_FAIL_NO_MATCH);
    free(ct);
    assert_int_equal(sk_age_keys_add_recipients(p, rc1, "x", &err), SK_OK);
    assert_null(sk_age_encrypt_writer_new(NULL, p, &err));
    assert_non_null(strstr(err.msg, "passphrase cannot be combined"));
    sk_age_keys_free(p);
    sk_age_keys_free(wrong);
    sk_age_keys_free(id_a);
    sk_age_keys_free(id_b);
    free(plain);
}

/* Every tampering case is refused, and a refused file never reaches finish() downstream. */
static void test_tampering(void **state)
{
    (void)state;
    sk_age_keys *r = keys_rcpt(rc1);
    sk_age_keys *id = keys_id(id1);
    sk_age_keys *other = keys_id(id2);
    size_t n = 3 * SK_AGE_CHUNK + 500, clen, clen2;
    unsigned char *plain = test_data(n);
    unsigned char *ct = encrypt(r, plain, n, 1 << 20, &clen);
    unsigned char *ct2 = encrypt(r, plain, n, 1 << 20, &clen2);
    assert_int_equal(clen, clen2);
    size_t hlen = (size_t)((unsigned char *)memmem(ct, 400, "\n---", 4) - ct);
    hlen += (size_t)((unsigned char *)memchr(ct + hlen + 1, '\n', 100) - (ct + hlen)) + 1; /* through the MAC line */
    size_t pay = hlen + 16, c = SK_AGE_CHUNK + 16;
    unsigned char *t = malloc(clen);
    dec_result res;

    decrypt(other, ct, clen, 1 << 20, &res); /* wrong identity */
    assert_int_equal(res.fail, SK_AGE_FAIL_NO_MATCH);
    assert_non_null(strstr(res.msg, "none of the 1 identity"));
    assert_int_equal(res.released, 0);

    memcpy(t, ct, clen); /* modified byte in the second chunk */
    t[pay + c + 100] ^= 1;
    decrypt(id, t, clen, 1 << 20, &res);
    assert_int_equal(res.fail, SK_AGE_FAIL_PAYLOAD);
    assert_int_equal(res.released, SK_AGE_CHUNK);

    memcpy(t, ct, clen); /* chunks 1 and 2 swapped */
    memcpy(t + pay + c, ct + pay + 2 * c, c);
    memcpy(t + pay + 2 * c, ct + pay + c, c);
    decrypt(id, t, clen, 1 << 20, &res);
    assert_int_equal(res.fail, SK_AGE_FAIL_PAYLOAD);

    decrypt(id, ct, pay + 3 * c, 1 << 20, &res); /* truncated at a chunk boundary: no final chunk */
    assert_int_equal(res.fail, SK_AGE_FAIL_PAYLOAD);
    decrypt(id, ct, clen - 1, 1 << 20, &res); /* truncated by one byte */
    assert_int_equal(res.fail, SK_AGE_FAIL_PAYLOAD);
    decrypt(id, ct, hlen + 5, 1 << 20, &res); /* truncated in the nonce */
    assert_int_equal(res.fail, SK_AGE_FAIL_HEADER);
    decrypt(id, ct, hlen - 20, 1 << 20, &res); /* truncated in the header */
    assert_int_equal(res.fail, SK_AGE_FAIL_HEADER);

    unsigned char *ext = malloc(clen + 1); /* a byte appended */
    memcpy(ext, ct, clen);
    ext[clen] = 0;
    decrypt(id, ext, clen + 1, 1 << 20, &res);
    assert_int_equal(res.fail, SK_AGE_FAIL_PAYLOAD);
    free(ext);

    /* header (with nonce) of another file: its file key does not fit this payload */
    memcpy(t, ct2, pay);
    memcpy(t + pay, ct + pay, clen - pay);
    decrypt(id, t, clen, 1 << 20, &res);
    assert_int_equal(res.fail, SK_AGE_FAIL_PAYLOAD);
    assert_int_equal(res.released, 0);

    /* a stanza of another file under this file's MAC */
    memcpy(t, ct, clen);
    memcpy(t + 22, ct2 + 22, hlen - 22 - 48);
    decrypt(id, t, clen, 1 << 20, &res);
    assert_int_equal(res.fail, SK_AGE_FAIL_HMAC);

    free(t);
    free(ct);
    free(ct2);
    free(plain);
    sk_age_keys_free(r);
    sk_age_keys_free(id);
    sk_age_keys_free(other);
}

/* ---- C2SP/CCTV vectors ------------------------------------------------------------------- */

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    b[n] = 0;
    *len = (size_t)n;
    return b;
}

static unsigned char *inflate_all(const unsigned char *in, size_t n, size_t *out_len)
{
    size_t cap = 1 << 20;
    unsigned char *out = malloc(cap);
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(inflateInit(&z), Z_OK);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)n;
    int r;
    do {
        if (z.total_out == cap) {
            cap *= 2;
            out = realloc(out, cap);
        }
        z.next_out = out + z.total_out;
        z.avail_out = (uInt)(cap - z.total_out);
        r = inflate(&z, Z_NO_FLUSH);
        assert_true(r == Z_OK || r == Z_STREAM_END);
    } while (r != Z_STREAM_END);
    *out_len = z.total_out;
    inflateEnd(&z);
    return out;
}

static void test_cctv_vectors(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s", __FILE__);
    *strrchr(dir, '/') = '\0';
    strncat(dir, "/../fixtures/age", sizeof dir - strlen(dir) - 1);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int count = 0, failures = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !strcmp(de->d_name, "README.md"))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t len;
        unsigned char *f = read_file(path, &len);
        unsigned char *body = (unsigned char *)strstr((char *)f, "\n\n");
        assert_non_null(body);
        body += 2;
        char expect[32] = "", payload[65] = "";
        int compressed = 0;
        sk_err err;
        sk_err_clear(&err);
        sk_age_keys *k = sk_age_keys_new();
        for (char *line = (char *)f; line < (char *)body - 1;) {
            char *eol = strchr(line, '\n');
            *eol = '\0';
            if (!strncmp(line, "expect: ", 8))
                snprintf(expect, sizeof expect, "%s", line + 8);
            else if (!strncmp(line, "payload: ", 9))
                snprintf(payload, sizeof payload, "%s", line + 9);
            else if (!strncmp(line, "identity: ", 10))
                assert_int_equal(sk_age_keys_add_identities(k, line + 10, de->d_name, &err), SK_OK);
            else if (!strncmp(line, "passphrase: ", 12))
                assert_int_equal(sk_age_keys_set_passphrase(k, line + 12, 18, &err), SK_OK);
            else if (!strcmp(line, "compressed: zlib"))
                compressed = 1;
            else if (!strncmp(line, "armored: ", 9))
                fail_msg("%s: armored vectors are not in the set", de->d_name);
            line = eol + 1;
        }
        if (!sk_age_keys_count(k) && !sk_age_keys_has_passphrase(k)) /* "empty" names no key */
            assert_int_equal(sk_age_keys_add_identities(k, id1, "spec", &err), SK_OK);
        size_t n = len - (size_t)(body - f);
        unsigned char *data = body, *inflated = NULL;
        if (compressed)
            data = inflated = inflate_all(body, n, &n);
        sk_age_fail want = !strcmp(expect, "success")           ? SK_AGE_OK
                           : !strcmp(expect, "header failure")  ? SK_AGE_FAIL_HEADER
                           : !strcmp(expect, "no match")        ? SK_AGE_FAIL_NO_MATCH
                           : !strcmp(expect, "HMAC failure")    ? SK_AGE_FAIL_HMAC
                           : !strcmp(expect, "payload failure") ? SK_AGE_FAIL_PAYLOAD
                                                                : SK_AGE_FAIL_OTHER;
        if (want == SK_AGE_FAIL_OTHER)
            fail_msg("%s: unknown expectation '%s'", de->d_name, expect);
        /* whole file at once, and in 7-byte writes (the incremental parser) */
        size_t steps[2] = { n + 1, 7 };
        for (int s = 0; s < 2; s++) {
            if (s == 1 && n > (1 << 20))
                steps[1] = 65537; /* keep the big stream vectors quick */
            dec_result res;
            decrypt(k, data, n, steps[s], &res);
            int ok = res.fail == want && (want == SK_AGE_OK || want == SK_AGE_FAIL_PAYLOAD
                                              ? payload[0] && !strcmp(res.sha, payload)
                                              : 1);
            if (!ok) {
                print_message("# vector %s (step %zu): expected '%s', got kind %d, released %llu bytes, sha %s: %s\n",
                              de->d_name, steps[s], expect, res.fail, (unsigned long long)res.released, res.sha,
                              res.msg);
                failures++;
            }
        }
        count++;
        free(inflated);
        free(f);
        sk_age_keys_free(k);
    }
    closedir(d);
    print_message("# %d CCTV vectors checked, %d failures\n", count, failures);
    assert_int_equal(count, 92); /* every vector committed was found: none skipped silently */
    assert_int_equal(failures, 0);
}

/* The header parser on its own (what the fuzzer drives). */
static void test_header_parse(void **state)
{
    (void)state;
    sk_err err;
    sk_err_clear(&err);
    sk_age_header h;
    const char *hdr = "age-encryption.org/v1\n-> X25519 abc\n\n-> grease a b\nAAAA\n--- "
                      "HK2NmOBN9Dpq0Gw6xMCuhFcQlQLvZ/wQUi/2scLG75s\nPAYLOAD";
    size_t n = strlen(hdr);
    for (size_t i = 0; i < n - 7; i++) {
        assert_int_equal(sk_age_header_parse(hdr, i, 0, &h, &err), SK_OK);
        assert_int_equal(h.len, 0); /* every prefix: need more */
        assert_int_equal(sk_age_header_parse(hdr, i, 1, &h, &err), SK_ERR_INTEGRITY);
        sk_err_clear(&err);
    }
    assert_int_equal(sk_age_header_parse(hdr, n, 0, &h, &err), SK_OK);
    assert_int_equal(h.len, n - 7);
    assert_int_equal(h.n, 2);
    assert_string_equal(h.v[1].args[2], "b");
    assert_int_equal(h.v[1].body_len, 3);
    assert_int_equal(h.mac_input_len, n - 7 - 45);
    sk_age_header_free(&h);
    assert_int_equal(sk_age_header_parse("PK\3\4", 4, 0, &h, &err), SK_ERR_INTEGRITY);
    assert_non_null(strstr(err.msg, "not an age file"));
    /* mutated headers (bytes flipped, cut anywhere) parse or fail cleanly under ASan, never past len */
    uint32_t x = 99;
    for (int round = 0; round < 3000; round++) {
        char m[160];
        memcpy(m, hdr, n);
        for (int k = 0; k < 1 + round % 4; k++) {
            x = x * 1103515245u + 12345u;
            m[(x >> 8) % n] = (char)(x >> 24);
        }
        size_t cut = (x >> 4) % (n + 1);
        char *heap = malloc(cut ? cut : 1);
        memcpy(heap, m, cut);
        sk_err_clear(&err);
        if (sk_age_header_parse(heap, cut, round % 2, &h, &err) == SK_OK)
            sk_age_header_free(&h);
        free(heap);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_header_parse),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_multi_and_passphrase),
        cmocka_unit_test(test_tampering),
        cmocka_unit_test(test_cctv_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
