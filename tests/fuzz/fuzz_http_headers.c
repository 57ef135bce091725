/*
 * fuzz_http_headers: the HTTP header parsers: the S3 client's (sk_http_header_line: ETag,
 * Last-Modified, x-amz-request-id, Content-Length) and the PocketBase download's
 * (pb_stream_header_line, pb_parse_content_range: Content-Range, Content-Length).
 * Input: header lines separated by '\n' (each passed with its '\n', as libcurl does).
 * Properties: values stay NUL-terminated in their buffers; lengths are -1 or >= 0; an accepted
 * Content-Range has 0 <= start <= end < total (or total unknown, -1), and its canonical form
 * "bytes S-E/T" parses to the same numbers.
 */
#include "fuzz.h"

#include <inttypes.h>

#include "../../engines/pocketbase/pb_http_internal.h"
#include "../../uploader/s3/http_internal.h"

static void check_range(const char *v)
{
    int64_t s, e, t, s2, e2, t2;
    if (pb_parse_content_range(v, &s, &e, &t) != 0)
        return;
    FUZZ_CHECK(s >= 0 && e >= s && (t == -1 || t > e), "'%s' gave %" PRId64 "-%" PRId64 "/%" PRId64, v, s, e, t);
    char canon[96];
    if (t < 0)
        snprintf(canon, sizeof canon, "bytes %" PRId64 "-%" PRId64 "/*", s, e);
    else
        snprintf(canon, sizeof canon, "bytes %" PRId64 "-%" PRId64 "/%" PRId64, s, e, t);
    FUZZ_CHECK(pb_parse_content_range(canon, &s2, &e2, &t2) == 0 && s2 == s && e2 == e && t2 == t,
               "canonical '%s' of '%s' does not parse back", canon, v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_http_response r;
    memset(&r, 0, sizeof r);
    r.content_length = -1;
    pb_stream st;
    memset(&st, 0, sizeof st);
    st.range_start = st.total = st.content_length = -1;

    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        sk_http_header_line(&r, p, n);
        pb_stream_header_line(&st, p, n);
        char *line = fuzz_cstr((const uint8_t *)p, n);
        check_range(line);
        if (n > 14)
            check_range(line + 14);
        free(line);
        p += n;
    }
    FUZZ_CHECK(memchr(r.etag, 0, sizeof r.etag) && memchr(r.last_modified, 0, sizeof r.last_modified) &&
                   memchr(r.request_id, 0, sizeof r.request_id),
               "header value not terminated");
    FUZZ_CHECK(r.content_length >= -1, "S3 Content-Length %lld", (long long)r.content_length);
    FUZZ_CHECK(st.content_length >= -1, "PocketBase Content-Length %lld", (long long)st.content_length);
    FUZZ_CHECK(st.range_start >= -1 && st.total >= -1, "range %lld total %lld", (long long)st.range_start,
               (long long)st.total);
    return 0;
}
