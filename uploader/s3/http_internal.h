/*
 * http_internal.h: hooks into http.c for tests and the fuzz harnesses (tests/fuzz/).
 * Not part of the module's contract (http.h).
 */
#ifndef SK_HTTP_INTERNAL_H
#define SK_HTTP_INTERNAL_H

#include <stddef.h>

#include "http.h"

/* Take one received header line (as libcurl passes it: not NUL-terminated, usually ending in
 * CRLF) into resp: ETag, Last-Modified, x-amz-request-id, Content-Length; a status line
 * ("HTTP/...") starts a new response and forgets them. */
void sk_http_header_line(sk_http_response *resp, const char *line, size_t n);

#endif
