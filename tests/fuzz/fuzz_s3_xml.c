/*
 * fuzz_s3_xml: the S3 reply parsers (uploader/s3/s3_xml: ListObjectsV2, InitiateMultipartUpload,
 * CompleteMultipartUpload, errors, DeleteObjects; sk_http_parse_error; LastModified times).
 * Input: the reply body, every parser is given it.
 * Properties: the contract of s3_xml.h: on success strings are NUL-terminated, within
 * SK_S3_XML_MAX_TEXT and owned by the result (freed without leaks); on failure SK_ERR_DEST or
 * SK_ERR_INTERNAL with a message and nothing to free. A list page written back as XML (keys
 * escaped) parses to the same keys, sizes, times, truncation flag and continuation token.
 */
#include "fuzz.h"

#include <inttypes.h>

#include "../../uploader/s3/http.h"
#include "../../uploader/s3/s3_xml.h"

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void add(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(b->p = realloc(b->p, cap)))
            abort();
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void adds(buf *b, const char *s) { add(b, s, strlen(s)); }

static void add_text(buf *b, const char *s)
{
    for (; *s; s++) {
        char ref[16];
        unsigned char c = (unsigned char)*s;
        if (c == '&' || c == '<' || c == '>' || c == '"' || c == '\'' || c < 0x20) {
            snprintf(ref, sizeof ref, "&#%u;", c);
            adds(b, ref);
        } else {
            add(b, s, 1);
        }
    }
}

static void text_ok(const char *s, const char *what)
{
    if (s)
        FUZZ_CHECK(strlen(s) <= SK_S3_XML_MAX_TEXT, "%s: %zu bytes", what, strlen(s));
}

static void failed(sk_rc rc, const sk_err *err, const char *what)
{
    FUZZ_CHECK((rc == SK_ERR_DEST || rc == SK_ERR_INTERNAL) && err->msg[0], "%s: rc %d '%s'", what, rc, err->msg);
}

static void list_roundtrip(const sk_s3_list_page *pg)
{
    buf b = { 0 };
    char num[64];
    adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    adds(&b, pg->truncated ? "<IsTruncated>true</IsTruncated>" : "<IsTruncated>false</IsTruncated>");
    if (pg->next_token) {
        adds(&b, "<NextContinuationToken>");
        add_text(&b, pg->next_token);
        adds(&b, "</NextContinuationToken>");
    }
    for (size_t i = 0; i < pg->n; i++) {
        adds(&b, "<Contents><Key>");
        add_text(&b, pg->entries[i].key);
        snprintf(num, sizeof num, "</Key><Size>%" PRIu64 "</Size>", pg->entries[i].size);
        adds(&b, num);
        if (pg->entries[i].mtime) {
            time_t t = (time_t)pg->entries[i].mtime;
            struct tm tm;
            if (gmtime_r(&t, &tm) && tm.tm_year >= -1900 + 1000 && tm.tm_year <= 9999 - 1900) {
                strftime(num, sizeof num, "<LastModified>%Y-%m-%dT%H:%M:%S.000Z</LastModified>", &tm);
                adds(&b, num);
            }
        }
        adds(&b, "</Contents>");
    }
    adds(&b, "</ListBucketResult>");
    sk_s3_list_page again;
    sk_err err = { 0 };
    sk_rc rc = sk_s3_xml_list(b.p, b.len, &again, &err);
    FUZZ_CHECK(rc == SK_OK, "written-back page does not parse: %s\n%s", err.msg, b.p);
    FUZZ_CHECK(again.n == pg->n && again.truncated == pg->truncated, "entries %zu -> %zu, truncated %d -> %d", pg->n,
               again.n, pg->truncated, again.truncated);
    FUZZ_CHECK((!pg->next_token && !again.next_token) ||
                   (pg->next_token && again.next_token && !strcmp(pg->next_token, again.next_token)) ||
                   (pg->next_token && !*pg->next_token && !again.next_token),
               "token '%s' -> '%s'", pg->next_token ? pg->next_token : "(none)",
               again.next_token ? again.next_token : "(none)");
    for (size_t i = 0; i < pg->n; i++) {
        FUZZ_CHECK(!strcmp(pg->entries[i].key, again.entries[i].key), "key '%s' -> '%s'", pg->entries[i].key,
                   again.entries[i].key);
        FUZZ_CHECK(pg->entries[i].size == again.entries[i].size, "size of '%s'", pg->entries[i].key);
        FUZZ_CHECK(pg->entries[i].mtime == again.entries[i].mtime || again.entries[i].mtime == 0,
                   "time %" PRId64 " -> %" PRId64, pg->entries[i].mtime, again.entries[i].mtime);
    }
    sk_s3_list_page_free(&again);
    free(b.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *x = (const char *)data;
    sk_err err = { 0 };
    sk_rc rc;

    sk_s3_list_page pg;
    if ((rc = sk_s3_xml_list(x, size, &pg, &err)) == SK_OK) {
        for (size_t i = 0; i < pg.n; i++) {
            FUZZ_CHECK(pg.entries[i].key, "entry %zu without a key", i);
            text_ok(pg.entries[i].key, "key");
        }
        text_ok(pg.next_token, "token");
        list_roundtrip(&pg);
    } else {
        failed(rc, &err, "list");
    }
    sk_s3_list_page_free(&pg);

    sk_s3_error_doc doc;
    memset(&err, 0, sizeof err);
    if ((rc = sk_s3_xml_error(x, size, &doc, &err)) == SK_OK) {
        FUZZ_CHECK(doc.is_error || (!doc.code && !doc.message), "not an error, but code/message set");
        text_ok(doc.code, "code");
        text_ok(doc.message, "message");
    } else {
        failed(rc, &err, "error");
    }
    sk_s3_error_doc_free(&doc);

    memset(&err, 0, sizeof err);
    if ((rc = sk_s3_xml_complete(x, size, &doc, &err)) == SK_OK) {
        text_ok(doc.code, "code");
        text_ok(doc.message, "message");
    } else {
        failed(rc, &err, "complete");
    }
    sk_s3_error_doc_free(&doc);

    char *upload_id = NULL;
    memset(&err, 0, sizeof err);
    if ((rc = sk_s3_xml_initiate(x, size, &upload_id, &err)) == SK_OK) {
        FUZZ_CHECK(upload_id && *upload_id, "initiate without an upload id");
        text_ok(upload_id, "upload id");
    } else {
        failed(rc, &err, "initiate");
    }
    free(upload_id);

    sk_s3_delete_result del;
    memset(&err, 0, sizeof err);
    if ((rc = sk_s3_xml_delete(x, size, &del, &err)) == SK_OK) {
        for (size_t i = 0; i < del.n; i++) {
            text_ok(del.errors[i].key, "key");
            text_ok(del.errors[i].code, "code");
            text_ok(del.errors[i].message, "message");
        }
    } else {
        failed(rc, &err, "delete");
    }
    sk_s3_delete_result_free(&del);

    char code[128], message[512];
    sk_http_parse_error(x, size, code, sizeof code, message, sizeof message);
    FUZZ_CHECK(memchr(code, 0, sizeof code) && memchr(message, 0, sizeof message), "code/message not terminated");

    char *s = fuzz_cstr(data, size < 64 ? size : 64);
    (void)sk_s3_parse_iso8601(s);
    free(s);
    return 0;
}
