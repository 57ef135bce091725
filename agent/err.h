/*
 * err.h: how every fallible snapkeep call reports failure.
 *
 * Contract: a fallible function returns an sk_rc and takes `sk_err *err` as its last argument.
 * On failure it fills *err (the first failure wins: sk_fail() does not overwrite an error that is
 * already set) and returns the same code. The message names what failed (the variable, the key,
 * the server's reply) and what to do about it. It never contains a secret.
 *
 * The codes double as process exit codes (see README "Exit codes"), so they are stable.
 */
#ifndef SK_ERR_H
#define SK_ERR_H

#include <stddef.h>

typedef enum sk_rc {
    SK_OK = 0,
    SK_ERR_INTERNAL = 1,    /* a bug or an unexpected library failure (out of memory, ...) */
    SK_ERR_USAGE = 2,       /* bad command line */
    SK_ERR_CONFIG = 3,      /* bad or missing configuration: fatal, never retried */
    SK_ERR_SOURCE = 4,      /* the database (engine) failed: unreachable, busy past the deadline, error */
    SK_ERR_DEST = 5,        /* the destination failed: write, list, get, delete */
    SK_ERR_INTEGRITY = 6,   /* checksum, size, decompression or database integrity check failed */
    SK_ERR_NOTFOUND = 7,    /* the named backup (or `latest`) does not exist at the destination */
    SK_ERR_BUSY = 8,        /* another run holds the job's lock, or a transient condition persisted */
    SK_ERR_SUSPECT = 9,     /* the backup was stored but the guards flagged it, and SNAPKEEP_GUARD_FAIL is on */
    SK_ERR_DRILL = 10,      /* a restore drill restored the backup, but what it restored disagrees with what
                               the manifest recorded at backup time (rows per table, records per collection) */
    SK_ERR_CANCELLED = 130, /* SIGINT/SIGTERM: stopped cleanly, nothing partial left */
} sk_rc;

typedef struct sk_err {
    sk_rc rc;
    long detail;     /* errno, SQLite extended code, CURLcode or HTTP status; 0 when none */
    int retryable;   /* transient (HTTP 5xx/429, timeouts, SQLITE_BUSY): the caller may retry */
    char msg[1024];
} sk_err;

/* Clear an error record before use. */
void sk_err_clear(sk_err *err);

/* Fill *err (unless it already holds an error) and return rc, so call sites read
 *     return sk_fail(err, SK_ERR_DEST, errno, "write '%s': %s", path, strerror(errno)); */
sk_rc sk_fail(sk_err *err, sk_rc rc, long detail, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefix the existing message with context ("restore 'key': " + old message). */
void sk_err_prefix(sk_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A short name for a code ("config", "destination", ...), used in logs and JSON. */
const char *sk_rc_name(sk_rc rc);

#endif
