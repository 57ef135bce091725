/*
 * test_s3_xml.c: the S3 reply parsers (uploader/s3/s3_xml.h) on replies shaped like the examples of
 * the S3 API reference (ListObjectsV2, CreateMultipartUpload, CompleteMultipartUpload,
 * DeleteObjects, Error responses), and on documents they must refuse: malformed, cut short, the
 * wrong root, a DOCTYPE with entities, nesting or text past the limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../uploader/s3/http.h"
#include "../../uploader/s3/s3_xml.h"

#define S(lit) lit, sizeof(lit) - 1

static void list_page(void **state)
{
    (void)state;
    const char doc[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
                       "  <Name>bucket</Name><Prefix>snap/</Prefix><KeyCount>3</KeyCount>\n"
                       "  <MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>\n"
                       "  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>\n"
                       "  <Contents><Key>snap/a&amp;b_&lt;1&gt;.sql.zst</Key>"
                       "<LastModified>2026-11-21T15:30:00.000Z</LastModified><ETag>&quot;x&quot;</ETag>"
                       "<Size>434234</Size><Owner><ID>o</ID></Owner><StorageClass>STANDARD</StorageClass></Contents>\n"
                       "  <Contents><LastModified>2026-11-21T15:30:00.000Z</LastModified><Size>1</Size></Contents>\n"
                       "  <Contents><Key><![CDATA[snap/caf\xc3\xa9.db.zst]]></Key><Size>18446744073709551615</Size>"
                       "<LastModified>garbage</LastModified></Contents>\n"
                       "</ListBucketResult>";
    sk_s3_list_page pg;
    sk_err err;
    sk_err_clear(&err);
    assert_int_equal(sk_s3_xml_list(S(doc), &pg, &err), SK_OK);
    assert_int_equal(pg.n, 2); /* the entry without a Key is dropped */
    assert_string_equal(pg.entries[0].key, "snap/a&b_<1>.sql.zst");
    assert_int_equal(pg.entries[0].size, 434234);
    assert_int_equal(pg.entries[0].mtime, 1795275000); /* date -u -d 2026-11-21T15:30:00Z +%s */
    assert_string_equal(pg.entries[1].key, "snap/caf\xc3\xa9.db.zst");
    assert_true(pg.entries[1].size == UINT64_MAX);
    assert_int_equal(pg.entries[1].mtime, 0);
    assert_true(pg.truncated);
    assert_string_equal(pg.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    sk_s3_list_page_free(&pg);

    const char last[] = "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>";
    assert_int_equal(sk_s3_xml_list(S(last), &pg, &err), SK_OK);
    assert_int_equal(pg.n, 0);
    assert_false(pg.truncated);
    assert_null(pg.next_token);
    sk_s3_list_page_free(&pg);

    /* a prefixed namespace is the same element */
    const char pfx[] = "<s3:ListBucketResult xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                       "<s3:Contents><s3:Key>k</s3:Key><s3:Size>7</s3:Size></s3:Contents></s3:ListBucketResult>";
    assert_int_equal(sk_s3_xml_list(S(pfx), &pg, &err), SK_OK);
    assert_int_equal(pg.n, 1);
    assert_string_equal(pg.entries[0].key, "k");
    assert_int_equal(pg.entries[0].size, 7);
    sk_s3_list_page_free(&pg);
}

/* a Key nested deeper (inside Owner) is not the object's key */
static void list_key_only_at_its_place(void **state)
{
    (void)state;
    const char doc[] = "<ListBucketResult><Contents><Owner><Key>no</Key></Owner><Size>3</Size></Contents>"
                       "<Key>neither</Key></ListBucketResult>";
    sk_s3_list_page pg;
    sk_err err;
    sk_err_clear(&err);
    assert_int_equal(sk_s3_xml_list(S(doc), &pg, &err), SK_OK);
    assert_int_equal(pg.n, 0);
    sk_s3_list_page_free(&pg);
}

static void refused(void **state)
{
    (void)state;
    struct {
        const char *doc, *msg;
    } cases[] = {
        { "", "not well-formed" },
        { "<ListBucketResult><Contents><Key>a</Key>", "not well-formed" },           /* cut short */
        { "<ListBucketResult><Key>a</Kay></ListBucketResult>", "mismatched tag" },
        { "<Error><Code>AccessDenied</Code></Error>", "root element is <Error>, not <ListBucketResult>" },
        { "<html><body>502 Bad Gateway</body></html>", "root element is <html>" },
        { "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>"
          "<ListBucketResult><Name>&lol2;</Name></ListBucketResult>",
          "DOCTYPE" },
        { "<!DOCTYPE x SYSTEM \"http://127.0.0.1:1/x.dtd\"><ListBucketResult/>", "DOCTYPE" },
        { "<ListBucketResult>&undefined;</ListBucketResult>", "undefined entity" },
        { "<ListBucketResult><a><b><c><d><e><f><g><h><i><j><k><l><m><n><o><p><q>"
          "</q></p></o></n></m></l></k></j></i></h></g></f></e></d></c></b></a></ListBucketResult>",
          "deeper than 16" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sk_s3_list_page pg;
        sk_err err;
        sk_err_clear(&err);
        sk_rc rc = sk_s3_xml_list(cases[i].doc, strlen(cases[i].doc), &pg, &err);
        if (rc != SK_ERR_DEST || !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: rc %d, '%s' (wanted '%s')", i, rc, err.msg, cases[i].msg);
        assert_int_equal(pg.n, 0);
        assert_null(pg.entries);
        assert_true(strstr(err.msg, "ListObjectsV2") != NULL);
    }
    sk_s3_list_page pg;
    sk_err err;
    sk_err_clear(&err);
    assert_int_equal(sk_s3_xml_list(NULL, 0, &pg, &err), SK_ERR_DEST);
}

static void text_limit(void **state)
{
    (void)state;
    size_t n = SK_S3_XML_MAX_TEXT + 1;
    const char head[] = "<ListBucketResult><Contents><Key>", tail[] = "</Key></Contents></ListBucketResult>";
    char *doc = malloc(sizeof head + n + sizeof tail);
    assert_non_null(doc);
    memcpy(doc, head, sizeof head - 1);
    memset(doc + sizeof head - 1, 'k', n);
    memcpy(doc + sizeof head - 1 + n, tail, sizeof tail);
    sk_s3_list_page pg;
    sk_err err;
    sk_err_clear(&err);
    assert_int_equal(sk_s3_xml_list(doc, strlen(doc), &pg, &err), SK_ERR_DEST);
    assert_non_null(strstr(err.msg, "text of <Key> is longer than"));
    /* one byte less is accepted, whole */
    memmove(doc + sizeof head - 1 + n - 1, doc + sizeof head - 1 + n, sizeof tail);
    sk_err_clear(&err);
    assert_int_equal(sk_s3_xml_list(doc, strlen(doc), &pg, &err), SK_OK);
    assert_int_equal(pg.n, 1);
    assert_int_equal(strlen(pg.entries[0].key), SK_S3_XML_MAX_TEXT);
    sk_s3_list_page_free(&pg);
    free(doc);
}

static void initiate(void **state)
{
    (void)state;
    const char doc[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult "
                       "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>b</Bucket><Key>k</Key>"
                       "<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>"
                       "</InitiateMultipartUploadResult>";
    char *id = NULL;
    sk_err err;
    sk_err_clear(&err);
    assert_int_equal(sk_s3_xml_initiate(S(doc), &id, &err), SK_OK);
    assert_string_equal(id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
    free(id);
    const char none[] = "<InitiateMultipartUploadResult><Bucket>b</Bucket><UploadId></UploadId>"
                        "</InitiateMultipartUploadResult>";
    assert_int_equal(sk_s3_xml_initiate(S(none), &id, &err), SK_ERR_DEST);
    assert_null(id);
    assert_non_null(strstr(err.msg, "has no UploadId"));
    sk_err_clear(&err);
    const char wrong[] = "<Error><UploadId>x</UploadId></Error>";
    assert_int_equal(sk_s3_xml_initiate(S(wrong), &id, &err), SK_ERR_DEST);
    assert_null(id);
}

static void complete_and_error(void **state)
{
    (void)state;
    sk_s3_error_doc d;
    sk_err err;
    sk_err_clear(&err);
    const char ok[] = "<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                      "<Location>http://b.s3.amazonaws.com/k</Location><Bucket>b</Bucket><Key>k</Key>"
                      "<ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag></CompleteMultipartUploadResult>";
    assert_int_equal(sk_s3_xml_complete(S(ok), &d, &err), SK_OK);
    assert_false(d.is_error);
    sk_s3_error_doc_free(&d);
    const char bad[] = "<Error><Code>InternalError</Code><Message>We encountered an internal error. "
                       "Please try again.</Message><RequestId>656c76696e6727732072657175657374</RequestId>"
                       "<HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId></Error>";
    assert_int_equal(sk_s3_xml_complete(S(bad), &d, &err), SK_OK);
    assert_true(d.is_error);
    assert_string_equal(d.code, "InternalError");
    assert_string_equal(d.message, "We encountered an internal error. Please try again.");
    sk_s3_error_doc_free(&d);
    const char other[] = "<ListBucketResult/>";
    assert_int_equal(sk_s3_xml_complete(S(other), &d, &err), SK_ERR_DEST);
    assert_false(d.is_error);

    /* the error parser takes any root; only <Error> counts */
    sk_err_clear(&err);
    assert_int_equal(sk_s3_xml_error(S(other), &d, &err), SK_OK);
    assert_false(d.is_error);
    assert_null(d.code);
    sk_s3_error_doc_free(&d);

    /* sk_http_parse_error: bounded copies, "" for bodies that are not S3 errors */
    char code[8], msg[16];
    sk_http_parse_error(S(bad), code, sizeof code, msg, sizeof msg);
    assert_string_equal(code, "Interna");
    assert_string_equal(msg, "We encountered ");
    sk_http_parse_error(S("<html>Bad Gateway</html>"), code, sizeof code, msg, sizeof msg);
    assert_string_equal(code, "");
    assert_string_equal(msg, "");
    sk_http_parse_error(NULL, 0, code, sizeof code, msg, sizeof msg);
    assert_string_equal(code, "");
}

static void delete_result(void **state)
{
    (void)state;
    const char doc[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteResult "
                       "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                       "<Deleted><Key>sample1.txt</Key></Deleted>"
                       "<Error><Key>sample2.txt</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
                       "<Error><Key>gone.txt</Key><Code>NoSuchKey</Code></Error></DeleteResult>";
    sk_s3_delete_result r;
    sk_err err;
    sk_err_clear(&err);
    assert_int_equal(sk_s3_xml_delete(S(doc), &r, &err), SK_OK);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.errors[0].key, "sample2.txt");
    assert_string_equal(r.errors[0].code, "AccessDenied");
    assert_string_equal(r.errors[0].message, "Access Denied");
    assert_string_equal(r.errors[1].key, "gone.txt");
    assert_string_equal(r.errors[1].code, "NoSuchKey");
    assert_null(r.errors[1].message);
    sk_s3_delete_result_free(&r);
    const char quiet[] = "<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"></DeleteResult>";
    assert_int_equal(sk_s3_xml_delete(S(quiet), &r, &err), SK_OK);
    assert_int_equal(r.n, 0);
    sk_s3_delete_result_free(&r);
    assert_int_equal(sk_s3_xml_delete(S("<DeleteResult><Error><Key>x</Key>"), &r, &err), SK_ERR_DEST);
    assert_int_equal(r.n, 0);
    assert_null(r.errors);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(list_page),        cmocka_unit_test(list_key_only_at_its_place),
        cmocka_unit_test(refused),          cmocka_unit_test(text_limit),
        cmocka_unit_test(initiate),         cmocka_unit_test(complete_and_error),
        cmocka_unit_test(delete_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
