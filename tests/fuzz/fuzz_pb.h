/*
 * fuzz_pb.h: the PocketBase reply the pb_* harnesses hand to the pb_http.h readers.
 */
#ifndef SK_FUZZ_PB_H
#define SK_FUZZ_PB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../engines/pocketbase/pb_http.h"

/* Fill `r` as pb_request would: the body is the input, flag bit 0 makes the status 404 (else 200),
 * bit 1 marks the body as cut at 64 KiB. -1 (r untouched) when the input is longer than a reply. */
static inline int fuzz_pb_reply(pb_resp *r, unsigned flags, const uint8_t *data, size_t size)
{
    if (size > PB_BODY_MAX)
        return -1;
    memset(r, 0, offsetof(pb_resp, body));
    r->status = flags & 1 ? 404 : 200;
    r->truncated = (flags & 2) != 0;
    memcpy(r->body, data, size);
    r->body[size] = '\0';
    r->len = size;
    return 0;
}

#endif
