/*
 * log.h: progress and diagnostics on stderr, as text lines or JSON lines.
 *
 * Every line passes through the redactor (redact.h): each registered secret (passwords, keys,
 * tokens), and its embedded or decoded parts, is replaced by "***" wherever it appears, and so are
 * credentials in URLs and connection strings (userinfo passwords, password=, query tokens), as a
 * last line of defence; code must still never format a secret. Text lines escape control bytes
 * (\n, \r, \xNN), so one message is one line. One sk_log belongs to one process/run; it holds no
 * global state; it may be used from several threads.
 */
#ifndef SK_LOG_H
#define SK_LOG_H

#include <stdint.h>
#include <stdio.h>

typedef enum sk_level { SK_LOG_DEBUG, SK_LOG_INFO, SK_LOG_WARN, SK_LOG_ERROR } sk_level;

typedef struct sk_log sk_log;

/* json: 0 for "2026-11-21T15:30:00Z INFO job: message" lines, 1 for one JSON object a line. */
sk_log *sk_log_new(FILE *out, int json);
void sk_log_free(sk_log *log);
void sk_log_set_json(sk_log *log, int json);
void sk_log_set_level(sk_log *log, sk_level min);
/* The job name printed with every line ("backend/production/sqlite"); NULL clears it. */
void sk_log_set_job(sk_log *log, const char *job);
/* Register a secret value to redact (values shorter than 4 bytes are ignored: they would redact
 * ordinary text), with the credentials embedded in it. The string is copied. */
void sk_log_add_secret(sk_log *log, const char *secret);
/* Register only the credentials embedded in a URL or connection string the user gave (restore
 * --to): its password is masked, its host and database stay readable. */
void sk_log_add_credentials(sk_log *log, const char *url);

void sk_log_msg(sk_log *log, sk_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* One line per pipeline stage: "stage=<stage> bytes=<n> duration=<s> rate=<MiB/s>" plus a message.
 * In JSON: {"stage":..,"bytes":..,"duration_s":..,"rate_bps":..,"msg":..}. */
void sk_log_stage(sk_log *log, const char *stage, uint64_t bytes, double seconds, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* One progress line (progress.h), stage "progress". Text: "[progress] <own> ... : <peer_label> <peer>,
 * <percent>% of <total>, <phase>, <item>"; JSON adds "stored_bytes" (named "<peer_label>_bytes"),
 * "total_bytes", "percent", "phase", "item" when known. percent < 0: unknown. */
typedef struct sk_log_progress_fields {
    const char *own_label, *peer_label, *item, *phase;
    uint64_t own, peer, total;
    double seconds, percent;
} sk_log_progress_fields;
void sk_log_progress(sk_log *log, const sk_log_progress_fields *f);

/* Redact `s` into `out` (always NUL-terminated): for text that leaves the process other than
 * through a log line (status files, webhook bodies). */
void sk_log_redact(const sk_log *log, const char *s, char *out, size_t outsz);

/* "12.3 MiB" style sizes, for messages. */
void sk_fmt_bytes(uint64_t n, char *out, size_t outsz);

#endif
