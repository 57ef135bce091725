/*
 * fuzz_tzif: the TZif reader (RFC 8536 v1-v3 with its POSIX TZ footer), i.e. what sk_tz_load
 * reads from a zone file, and the offset lookup and next-fire search over what it built.
 * Properties: an accepted zone gives offsets within +-26 h at any instant, formats every instant
 * of years 1..9999, and the next fire time of a clock-following and of a fixed-time schedule is
 * later than the start (or the search says it never fires).
 */
#include "fuzz.h"

#include <inttypes.h>

#include "../../agent/schedule.h"
#include "../../agent/schedule_internal.h"

static sk_schedule *hourly, *nightly;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sk_err err = { 0 };
    hourly = sk_schedule_parse("*/15 * * * *", NULL, &err);
    nightly = sk_schedule_parse("30 2 * * *", NULL, &err);
    return hourly && nightly ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *why = NULL;
    sk_tz *tz = sk_tz_from_tzif(data, size, "Fuzz/Zone", &why);
    if (!tz) {
        FUZZ_CHECK(why && *why, "rejected without a reason");
        return 0;
    }
    static const int64_t probes[] = { INT64_C(-62135596800), -1, 0, 1, INT64_C(1774746000), INT64_C(1792890000),
                                      INT64_C(2147483647), INT64_C(4102444800), INT64_C(253402300799) };
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        int64_t t = probes[i];
        int32_t off = sk_tz_offset(tz, t);
        FUZZ_CHECK(off >= -26 * 3600 && off <= 26 * 3600, "offset %d at %" PRId64, off, t);
        char buf[64];
        sk_err err = { 0 };
        FUZZ_CHECK(sk_tz_format(tz, t, buf, sizeof buf, &err) == SK_OK, "format %" PRId64 ": %s", t, err.msg);
        if (t > INT64_C(253402300799) - 10 * 366 * 86400)
            continue;
        for (int k = 0; k < 2; k++) {
            int64_t next = 0;
            sk_err e2 = { 0 };
            sk_rc rc = sk_schedule_next_in(k ? nightly : hourly, tz, t, &next, &e2);
            FUZZ_CHECK(rc == SK_OK ? next > t : rc == SK_ERR_CONFIG, "next after %" PRId64 ": rc %d next %" PRId64
                       " %s", t, rc, next, e2.msg);
        }
    }
    sk_tz_free(tz);
    return 0;
}
