/*
 * redact.h: the one place that decides what of a printed text is a credential.
 *
 * Every connection string, URL or library message that snapkeep prints (logs, status files,
 * webhook bodies, `config check`) passes through here. Two layers, applied in this order:
 *
 *  1. Registered secrets (sk_redactor_add): each occurrence of a secret's value is replaced by
 *     "***", longest secret first. Registering a secret also registers the credentials embedded in
 *     it (a URL's password, a conninfo `password=` value, a query-string token), each raw and
 *     percent-decoded, so a library message that quotes only a fragment ("invalid percent-encoded
 *     token: \"Pa%ss...\"") is masked too. A secret cut off at the very end of the text (a
 *     truncated message) is masked from where it starts.
 *  2. Patterns, which need no registration (sk_redact):
 *       - URI userinfo: scheme://user:PASSWORD@host -> scheme://user:***@host (for http and https URLs a
 *         user name alone is a token too and is masked);
 *       - key=value pairs whose key names a credential (password, sslpassword, secret, token,
 *         signature, credential, apikey, sig, key, X-Amz-Signature, X-Amz-Credential, ...), in a
 *         query string (value ends at '&', '#', a quote or blank) or in a libpq conninfo (value
 *         ends at a blank, or is a quoted '...' with backslash escapes);
 *       - "Bearer <token>".
 *     Patterns over-mask rather than under-mask: a value is masked to its end even if that eats
 *     a following character.
 *
 * Output functions follow snprintf: `out` (outsz bytes) is always NUL-terminated when outsz > 0,
 * and the return value is the length the full result would have; masking happens before any
 * truncation, so a cut never exposes a secret. Input is any NUL-terminated byte string.
 * A redactor is not thread-safe: the caller serialises sk_redactor_add() with applies.
 */
#ifndef SK_REDACT_H
#define SK_REDACT_H

#include <stddef.h>

/* Secrets shorter than this are not registered: masking them would mangle ordinary words. */
#define SK_REDACT_MIN 4

typedef struct sk_redactor sk_redactor;

sk_redactor *sk_redactor_new(void);
void sk_redactor_free(sk_redactor *r); /* scrubs the copies; NULL is fine */

/* Register `secret`: with whole != 0 the value itself and its embedded credentials; with whole == 0
 * only the embedded credentials (for a URL the user typed, such as `restore --to`, whose host and
 * database may be shown). Returns 0, or -1 when out of memory. */
int sk_redactor_add(sk_redactor *r, const char *secret, int whole);

/* Layer 1 with r's secrets (r may be NULL), then layer 2. */
size_t sk_redactor_apply(const sk_redactor *r, const char *in, char *out, size_t outsz);

/* Layer 2 only: the pattern rules. Buffer in, buffer out (snprintf-style return). */
size_t sk_redact(const char *in, char *out, size_t outsz);

/* For messages known to quote fragments of a connection string (libpq's conninfo parse errors):
 * layer 2, and every "double-quoted" part replaced by "***". */
size_t sk_redact_quoted(const char *in, char *out, size_t outsz);

#endif
