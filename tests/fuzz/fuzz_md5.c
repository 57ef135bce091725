/*
 * fuzz_md5: the `.md5` sidecar line parser (sk_md5_parse), which reads what a bucket holds.
 * Input: the expected base name, a NUL byte, then the sidecar's bytes.
 * Properties: an accepted digest is 32 lowercase hex digits; what sk_md5_line writes for it
 * parses back to the same digest.
 */
#include "fuzz.h"

#include "../../agent/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    if (!nul)
        return 0;
    char *base = fuzz_cstr(data, (size_t)(nul - data));
    const char *text = (const char *)nul + 1;
    size_t len = size - (size_t)(nul - data) - 1;
    char md5[65], again[65], line[1300];
    sk_err err = { 0 };
    if (sk_md5_parse(text, len, base, md5, &err) == SK_OK) {
        FUZZ_CHECK(strlen(md5) == 32 && strspn(md5, "0123456789abcdef") == 32, "digest '%s'", md5);
        int n = sk_md5_line(md5, base, line, sizeof line);
        if (n > 0) {
            sk_err e2 = { 0 };
            FUZZ_CHECK(sk_md5_parse(line, (size_t)n, base, again, &e2) == SK_OK, "re-parse: %s", e2.msg);
            FUZZ_CHECK(strcmp(md5, again) == 0, "digest %s became %s", md5, again);
        }
    } else {
        FUZZ_CHECK(err.rc == SK_ERR_INTEGRITY && err.msg[0], "rc %d without a message", err.rc);
    }
    free(base);
    return 0;
}
