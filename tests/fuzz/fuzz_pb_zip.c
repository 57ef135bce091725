/*
 * fuzz_pb_zip: the streaming check of a PocketBase backup zip's tail (pb_ziptail: end of central
 * directory, zip64 end record, central directory walk), which reads what a server sends.
 * Input: two bytes of size hint (the ring buffer's size: small hints make the ring wrap), one
 * byte choosing the chunk sizes, then the zip bytes.
 * Properties: the outcome and the listing do not depend on how the stream was cut; an accepted zip
 * has data.db (or could not be listed), counts within its entries.
 */
#include "fuzz.h"

#include "../../engines/pocketbase/pb_zip.h"

static sk_rc check(const uint8_t *data, size_t size, uint64_t hint, unsigned seed, pb_zipinfo *info,
                   char *msg, size_t msgsz)
{
    pb_ziptail t;
    sk_err err = { 0 };
    FUZZ_CHECK(pb_ziptail_init(&t, hint, &err) == SK_OK, "init: %s", err.msg);
    size_t off = 0;
    while (off < size) {
        size_t n = size - off;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            size_t k = 1 + (seed >> 16) % 97;
            n = n < k ? n : k;
        }
        pb_ziptail_feed(&t, data + off, n);
        off += n;
    }
    sk_rc rc = pb_ziptail_check(&t, info, &err);
    FUZZ_CHECK(rc == SK_OK || err.msg[0], "error %d without a message", rc);
    snprintf(msg, msgsz, "%s", rc ? err.msg : "");
    pb_ziptail_free(&t);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 1..65536: the ring is at most 64 KiB here (a zero hint would mean 8 MiB per run) */
    uint64_t hint = fuzz_take(&data, &size, 2) + 1;
    unsigned seed = (unsigned)fuzz_take(&data, &size, 1) | 1u;
    pb_zipinfo a, b;
    char ma[1024], mb[1024];
    sk_rc ra = check(data, size, hint, 0, &a, ma, sizeof ma);
    sk_rc rb = check(data, size, hint, seed, &b, mb, sizeof mb);
    FUZZ_CHECK(ra == rb && strcmp(ma, mb) == 0, "whole: %d '%s'; chunked: %d '%s'", ra, ma, rb, mb);
    pb_zipinfo chunked = b;
    check(data, size, 65536, 0, &b, mb, sizeof mb); /* a ring that holds the whole input: full walk */
    if (ra == SK_OK) {
        FUZZ_CHECK(memcmp(&a, &chunked, sizeof a) == 0, "listing depends on the chunking");
        FUZZ_CHECK(a.has_data_db != 0, "accepted without data.db");
        FUZZ_CHECK(a.has_data_db < 0 || a.storage_files < a.entries, "storage files %llu of %llu entries",
                   (unsigned long long)a.storage_files, (unsigned long long)a.entries);
    }
    return 0;
}
