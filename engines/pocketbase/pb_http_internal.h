/*
 * pb_http_internal.h: hooks into pb_http.c for tests and the fuzz harnesses (tests/fuzz/).
 * Not part of the module's contract (pb_http.h).
 */
#ifndef SK_PB_HTTP_INTERNAL_H
#define SK_PB_HTTP_INTERNAL_H

#include <stddef.h>

#include "pb_http.h"

/* Take one header line of a streaming reply (as libcurl passes it: not NUL-terminated) into st:
 * Content-Range, Content-Length; a status line ("HTTP/...") resets them. */
void pb_stream_header_line(pb_stream *st, const char *line, size_t n);

#endif
