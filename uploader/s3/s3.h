/*
 * s3.h: the S3 / Cloudflare R2 destination (S3_* settings).
 *
 * Objects live at s3://S3_BUCKET/S3_PREFIX<key> (path-style URLs on S3_ENDPOINT, or on
 * https://<R2_ACCOUNT_ID>.r2.cloudflarestorage.com with region "auto").
 *
 * put(): a stream of unknown length is cut into parts of ONE fixed size (S3_PART_SIZE_MB, same
 *   for every part but the last, as R2 requires). A stream that fits in one part becomes a single
 *   PutObject; otherwise CreateMultipartUpload, then each part is hashed (hex SHA-256 as the payload
 *   hash, Content-MD5) and uploaded by S3_CONCURRENCY worker threads, so memory stays at most
 *   (S3_CONCURRENCY + 1) x part size. finish() completes the upload and checks the object's size
 *   with HEAD; abort() (or any failure) sends AbortMultipartUpload. More than 10,000 parts fails as
 *   soon as part 10,001 would start, naming S3_PART_SIZE_MB. An existing key is never replaced
 *   (checked with HEAD before the upload starts).
 * Every request is retried on its own (transport errors, 5xx, 429) up to S3_MAX_ATTEMPTS times with
 *   exponential backoff and jitter; other 4xx fail at once with the S3 error code and message.
 * get() streams the object into the writer and resumes with Range (and If-Match on the ETag) after
 *   a dropped connection. list() pages ListObjectsV2 with continuation tokens. remove() is
 *   DeleteObject; sk_s3_remove_many() batches DeleteObjects (<= 1000 keys, with Content-MD5).
 */
#ifndef SK_UPLOADER_S3_H
#define SK_UPLOADER_S3_H

#include "../../agent/dest.h"

extern const sk_dest_type sk_dest_s3;
extern const sk_setting_def sk_s3_settings[];

/* Delete many keys (relative to S3_PREFIX) with DeleteObjects, 1000 per request. Missing keys
 * are not errors; a key the server refused to delete is. `state` is from sk_dest_s3.open. */
sk_rc sk_s3_remove_many(void *state, const char *const *keys, size_t n, sk_err *err);

/* Tests only: lower the 10,000-part limit so the "too large" path can be exercised. */
void sk_s3_test_set_max_parts(void *state, int max_parts);

#endif
