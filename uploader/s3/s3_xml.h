/*
 * s3_xml.h: parsers for the XML documents S3 answers with (internal to uploader/; expat).
 *
 * Contract, the same for every parser:
 *  - input: the reply body as received, `buf` of `len` bytes (not NUL-terminated; may be NULL
 *    when len is 0). Nothing is fetched: no DTD, no external entity; a document with a
 *    DOCTYPE is refused, so entity expansion cannot blow up.
 *  - SK_OK: *out is filled. Otherwise SK_ERR_DEST (malformed XML, an unexpected root element, a
 *    text longer than SK_S3_XML_MAX_TEXT, nesting deeper than SK_S3_XML_MAX_DEPTH) or
 *    SK_ERR_INTERNAL (out of memory), with a message naming the problem, and *out holds nothing
 *    to free. Either way *out is initialised first, and its free function accepts it.
 *  - element names are matched on their local part, so a namespace prefix does not matter.
 *  - strings in *out are NUL-terminated UTF-8 (XML cannot carry a NUL) and owned by *out.
 * Memory is bounded by the input: the list parser keeps one entry per <Contents>.
 */
#ifndef SK_UPLOADER_S3_XML_H
#define SK_UPLOADER_S3_XML_H

#include <stddef.h>
#include <stdint.h>

#include "../../agent/err.h"

#define SK_S3_XML_MAX_TEXT (64u * 1024u) /* the longest element text accepted (keys are <= 1 KiB) */
#define SK_S3_XML_MAX_DEPTH 16

/* <Error><Code/><Message/></Error>, the body of a failed request (or of a CompleteMultipartUpload
 * that failed after its 200). is_error = 0 (and both strings NULL) when the root is not <Error>. */
typedef struct sk_s3_error_doc {
    int is_error;
    char *code, *message;
} sk_s3_error_doc;
sk_rc sk_s3_xml_error(const char *buf, size_t len, sk_s3_error_doc *out, sk_err *err);
void sk_s3_error_doc_free(sk_s3_error_doc *doc);

/* <InitiateMultipartUploadResult>: its <UploadId>, malloc'd into *upload_id (the caller frees it).
 * A missing or empty UploadId is SK_ERR_DEST (*upload_id stays NULL). */
sk_rc sk_s3_xml_initiate(const char *buf, size_t len, char **upload_id, sk_err *err);

/* The 200 answer of CompleteMultipartUpload: either <CompleteMultipartUploadResult> (is_error 0)
 * or <Error> (is_error 1 with its code and message). Any other root is SK_ERR_DEST. */
sk_rc sk_s3_xml_complete(const char *buf, size_t len, sk_s3_error_doc *out, sk_err *err);

/* <ListBucketResult> of ListObjectsV2: one entry per <Contents> (with a <Key>; size and
 * LastModified are 0 when absent or unparsable), <IsTruncated> and <NextContinuationToken>. */
typedef struct sk_s3_list_entry {
    char *key;
    uint64_t size;
    int64_t mtime; /* seconds since the epoch, from LastModified (UTC) */
} sk_s3_list_entry;
typedef struct sk_s3_list_page {
    sk_s3_list_entry *entries;
    size_t n;
    int truncated;
    char *next_token;
} sk_s3_list_page;
sk_rc sk_s3_xml_list(const char *buf, size_t len, sk_s3_list_page *out, sk_err *err);
void sk_s3_list_page_free(sk_s3_list_page *page);

/* <DeleteResult> of DeleteObjects (quiet mode lists only failures): one entry per <Error>. */
typedef struct sk_s3_delete_error {
    char *key, *code, *message;
} sk_s3_delete_error;
typedef struct sk_s3_delete_result {
    sk_s3_delete_error *errors;
    size_t n;
} sk_s3_delete_result;
sk_rc sk_s3_xml_delete(const char *buf, size_t len, sk_s3_delete_result *out, sk_err *err);
void sk_s3_delete_result_free(sk_s3_delete_result *res);

/* "2026-11-21T15:30:00.000Z" -> seconds since the epoch (0 when unparsable). */
int64_t sk_s3_parse_iso8601(const char *s);

#endif
