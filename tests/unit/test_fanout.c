/* The fan-out stage (agent/fanout.h): every branch gets the same bytes; a failing branch is aborted
 * and the others commit; only when all fail does the stream fail; abort leaves nothing committed;
 * a slow branch holds the producer back (the lag stays within the queue bound). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "../../agent/fanout.h"

/* A test sink: hashes what it gets (MD5), can fail after `fail_after` bytes, can sleep per write,
 * and records whether it was finished or aborted. */
typedef struct probe {
    sk_writer base;
    uint64_t got;
    uint64_t fail_after;           /* 0: never */
    long sleep_us;
    atomic_ullong *produced;       /* the producer's count, for the back-pressure check */
    uint64_t max_lag;
    int finished, aborted;
    unsigned char sum;             /* a cheap content check: sum of bytes mod 256 */
} probe;

static sk_rc probe_write(sk_writer *w, const void *buf, size_t len, sk_err *err)
{
    probe *p = (probe *)w;
    if (p->fail_after && p->got + len > p->fail_after)
        return sk_fail(err, SK_ERR_DEST, 0, "probe: injected failure");
    if (p->sleep_us) {
        struct timespec ts = { 0, p->sleep_us * 1000L };
        nanosleep(&ts, NULL);
    }
    for (size_t i = 0; i < len; i++)
        p->sum = (unsigned char)(p->sum + ((const unsigned char *)buf)[i]);
    p->got += len;
    if (p->produced) {
        uint64_t lag = atomic_load(p->produced) - p->got;
        if (lag > p->max_lag)
            p->max_lag = lag;
    }
    return SK_OK;
}
static sk_rc probe_finish(sk_writer *w, sk_err *err)
{
    (void)err;
    ((probe *)w)->finished = 1;
    return SK_OK;
}
static void probe_abort(sk_writer *w) { ((probe *)w)->aborted = 1; }
static void probe_destroy(sk_writer *w) { (void)w; } /* the test owns the probes */
static const sk_writer_type probe_type = { "probe", probe_write, probe_finish, probe_abort, probe_destroy };

static void probe_init(probe *p)
{
    memset(p, 0, sizeof *p);
    sk_writer_init(&p->base, &probe_type, NULL);
}

static void fill(unsigned char *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)((i * 31 + seed) & 0xff);
}

static void test_all_branches_get_the_stream(void **state)
{
    (void)state;
    probe p[3];
    sk_writer *sinks[3];
    for (int i = 0; i < 3; i++) {
        probe_init(&p[i]);
        sinks[i] = &p[i].base;
    }
    sk_err err;
    sk_err_clear(&err);
    sk_writer *f = sk_fanout_new(sinks, 3, &err);
    assert_non_null(f);
    static unsigned char buf[700000];
    fill(buf, sizeof buf, 7);
    unsigned char sum = 0;
    for (size_t i = 0; i < sizeof buf; i++)
        sum = (unsigned char)(sum + buf[i]);
    /* odd sizes: one write larger than a chunk, small ones */
    assert_int_equal(sk_writer_write(f, buf, 600001, &err), SK_OK);
    assert_int_equal(sk_writer_write(f, buf + 600001, 1, &err), SK_OK);
    assert_int_equal(sk_writer_write(f, buf + 600002, sizeof buf - 600002, &err), SK_OK);
    assert_int_equal(sk_writer_finish(f, &err), SK_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(p[i].got, sizeof buf);
        assert_int_equal(p[i].sum, sum);
        assert_true(p[i].finished);
        assert_false(p[i].aborted);
        assert_true(sk_fanout_branch(f, (size_t)i, NULL));
    }
    sk_writer_free_chain(f);
}

static void test_one_failing_branch_does_not_stop_the_others(void **state)
{
    (void)state;
    probe p[3];
    sk_writer *sinks[3];
    for (int i = 0; i < 3; i++) {
        probe_init(&p[i]);
        sinks[i] = &p[i].base;
    }
    p[1].fail_after = 300000;
    sk_err err;
    sk_err_clear(&err);
    sk_writer *f = sk_fanout_new(sinks, 3, &err);
    static unsigned char buf[65536];
    fill(buf, sizeof buf, 3);
    for (int i = 0; i < 32; i++)
        assert_int_equal(sk_writer_write(f, buf, sizeof buf, &err), SK_OK);
    assert_int_equal(sk_writer_finish(f, &err), SK_OK);
    assert_true(sk_fanout_branch(f, 0, NULL));
    assert_true(sk_fanout_branch(f, 2, NULL));
    sk_err why;
    sk_err_clear(&why);
    assert_false(sk_fanout_branch(f, 1, &why));
    assert_int_equal(why.rc, SK_ERR_DEST);
    assert_non_null(strstr(why.msg, "injected failure"));
    assert_true(p[1].aborted);  /* its partial object goes */
    assert_false(p[1].finished);
    assert_int_equal(p[0].got, 32 * sizeof buf);
    assert_int_equal(p[2].got, 32 * sizeof buf);
    sk_writer_free_chain(f);
}

static void test_all_failing_fails_the_stream(void **state)
{
    (void)state;
    probe p[2];
    sk_writer *sinks[2];
    for (int i = 0; i < 2; i++) {
        probe_init(&p[i]);
        p[i].fail_after = 1000;
        sinks[i] = &p[i].base;
    }
    sk_err err;
    sk_err_clear(&err);
    sk_writer *f = sk_fanout_new(sinks, 2, &err);
    static unsigned char buf[4096];
    sk_rc rc = SK_OK;
    for (int i = 0; i < 1000 && rc == SK_OK; i++)
        rc = sk_writer_write(f, buf, sizeof buf, &err);
    assert_int_equal(rc, SK_ERR_DEST); /* the dump stops early: nowhere left to write */
    sk_writer_abort(f);
    assert_true(p[0].aborted && p[1].aborted);
    assert_false(p[0].finished || p[1].finished);
    sk_writer_free_chain(f);
}

static void test_abort_commits_nothing(void **state)
{
    (void)state;
    probe p[2];
    sk_writer *sinks[2];
    for (int i = 0; i < 2; i++) {
        probe_init(&p[i]);
        sinks[i] = &p[i].base;
    }
    sk_err err;
    sk_err_clear(&err);
    sk_writer *f = sk_fanout_new(sinks, 2, &err);
    static unsigned char buf[100000];
    assert_int_equal(sk_writer_write(f, buf, sizeof buf, &err), SK_OK);
    sk_writer_abort(f);
    for (int i = 0; i < 2; i++) {
        assert_true(p[i].aborted);
        assert_false(p[i].finished);
        assert_false(sk_fanout_branch(f, (size_t)i, NULL));
    }
    sk_writer_free_chain(f);
}

static void test_slow_branch_holds_the_producer_back(void **state)
{
    (void)state;
    probe p[2];
    sk_writer *sinks[2];
    atomic_ullong produced = 0;
    for (int i = 0; i < 2; i++) {
        probe_init(&p[i]);
        p[i].produced = &produced;
        sinks[i] = &p[i].base;
    }
    p[1].sleep_us = 2000; /* the slow destination */
    sk_err err;
    sk_err_clear(&err);
    sk_writer *f = sk_fanout_new(sinks, 2, &err);
    static unsigned char buf[SK_FANOUT_CHUNK];
    for (int i = 0; i < 64; i++) { /* 16 MiB through a queue of SK_FANOUT_QUEUE chunks */
        assert_int_equal(sk_writer_write(f, buf, sizeof buf, &err), SK_OK);
        atomic_fetch_add(&produced, sizeof buf);
    }
    assert_int_equal(sk_writer_finish(f, &err), SK_OK);
    assert_int_equal(p[1].got, 64u * SK_FANOUT_CHUNK);
    /* never more in flight than the queue, the chunk being taken and the one being written */
    assert_true(p[1].max_lag <= (uint64_t)(SK_FANOUT_QUEUE + 2) * SK_FANOUT_CHUNK);
    sk_writer_free_chain(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_branches_get_the_stream),
        cmocka_unit_test(test_one_failing_branch_does_not_stop_the_others),
        cmocka_unit_test(test_all_failing_fails_the_stream),
        cmocka_unit_test(test_abort_commits_nothing),
        cmocka_unit_test(test_slow_branch_holds_the_producer_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
