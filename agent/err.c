#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void sk_err_clear(sk_err *err)
{
    if (!err)
        return;
    err->rc = SK_OK;
    err->detail = 0;
    err->retryable = 0;
    err->msg[0] = '\0';
}

sk_rc sk_fail(sk_err *err, sk_rc rc, long detail, const char *fmt, ...)
{
    if (!err || err->rc != SK_OK)
        return err && err->rc != SK_OK ? err->rc : rc;
    err->rc = rc;
    err->detail = detail;
    err->retryable = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return rc;
}

void sk_err_prefix(sk_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char head[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s%s", head, old);
}

const char *sk_rc_name(sk_rc rc)
{
    switch (rc) {
    case SK_OK: return "ok";
    case SK_ERR_INTERNAL: return "internal";
    case SK_ERR_USAGE: return "usage";
    case SK_ERR_CONFIG: return "config";
    case SK_ERR_SOURCE: return "source";
    case SK_ERR_DEST: return "destination";
    case SK_ERR_INTEGRITY: return "integrity";
    case SK_ERR_NOTFOUND: return "not-found";
    case SK_ERR_BUSY: return "busy";
    case SK_ERR_SUSPECT: return "suspect";
    case SK_ERR_DRILL: return "drill";
    case SK_ERR_CANCELLED: return "cancelled";
    }
    return "unknown";
}
