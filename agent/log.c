#include "log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redact.h"
#include "runtime.h"

struct sk_log {
    FILE *out;
    int json;
    sk_level min;
    char job[128];
    sk_redactor *redact; /* guarded by flockfile(out): upload threads log while secrets are added */
    int withhold;        /* a secret could not be registered: print no message text at all */
};

double sk_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

sk_log *sk_log_new(FILE *out, int json)
{
    sk_log *log = calloc(1, sizeof *log);
    if (!log)
        return NULL;
    if (!(log->redact = sk_redactor_new())) {
        free(log);
        return NULL;
    }
    log->out = out;
    log->json = json;
    log->min = SK_LOG_INFO;
    return log;
}

void sk_log_free(sk_log *log)
{
    if (!log)
        return;
    sk_redactor_free(log->redact);
    free(log);
}

void sk_log_set_json(sk_log *log, int json) { log->json = json; }
void sk_log_set_level(sk_log *log, sk_level min) { log->min = min; }

void sk_log_set_job(sk_log *log, const char *job)
{
    snprintf(log->job, sizeof log->job, "%s", job ? job : "");
}

static void add(sk_log *log, const char *secret, int whole)
{
    if (!log || !secret)
        return;
    flockfile(log->out);
    if (sk_redactor_add(log->redact, secret, whole) != 0)
        log->withhold = 1;
    funlockfile(log->out);
}

void sk_log_add_secret(sk_log *log, const char *secret) { add(log, secret, 1); }
void sk_log_add_credentials(sk_log *log, const char *url) { add(log, url, 0); }

void sk_log_redact(const sk_log *log, const char *s, char *out, size_t outsz)
{
    if (log)
        flockfile(log->out); /* recursive: emit() holds it already */
    if (log && log->withhold)
        snprintf(out, outsz, "(message withheld: out of memory while registering a secret)");
    else
        sk_redactor_apply(log ? log->redact : NULL, s, out, outsz);
    if (log)
        funlockfile(log->out);
}

void sk_fmt_bytes(uint64_t n, char *out, size_t outsz)
{
    static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, outsz, "%llu B", (unsigned long long)n);
    else
        snprintf(out, outsz, "%.1f %s", v, units[u]);
}

static const char *level_name(sk_level l)
{
    switch (l) {
    case SK_LOG_DEBUG: return "debug";
    case SK_LOG_INFO: return "info";
    case SK_LOG_WARN: return "warn";
    case SK_LOG_ERROR: return "error";
    }
    return "info";
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 when the bytes there are not UTF-8. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (n == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
        (n == 4 && s[0] == 0xf0 && s[1] < 0x90) || (n == 4 && s[0] == 0xf4 && s[1] >= 0x90))
        return 0; /* overlong, surrogate or beyond U+10FFFF */
    return n;
}

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x80) {
            /* a key or a server reply may hold any bytes; a JSON line must stay valid UTF-8 */
            size_t n = utf8_len((const unsigned char *)s);
            if (n == 0) {
                fputs("\\ufffd", out);
            } else {
                fwrite(s, 1, n, out);
                s += n - 1;
            }
            continue;
        }
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* Text lines: control bytes (from a key, a .md5 sidecar, a server reply) are escaped, so one
 * event stays one line and cannot move the terminal's cursor or forge another line. */
static void text_str(FILE *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n')
            fputs("\\n", out);
        else if (c == '\r')
            fputs("\\r", out);
        else if ((c < 0x20 && c != '\t') || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
}

static void emit(sk_log *log, sk_level level, const char *stage, const uint64_t *bytes, const double *secs,
                 const char *msg, const sk_log_progress_fields *pf)
{
    char clean[4096];
    char ts[32];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    flockfile(log->out); /* upload threads log too: one line at a time */
    sk_log_redact(log, msg, clean, sizeof clean);
    if (log->json) {
        fprintf(log->out, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, level_name(level));
        if (log->job[0]) {
            fputs(",\"job\":", log->out);
            json_str(log->out, log->job);
        }
        if (stage) {
            fputs(",\"stage\":", log->out);
            json_str(log->out, stage);
        }
        if (bytes)
            fprintf(log->out, ",\"bytes\":%llu", (unsigned long long)*bytes);
        if (secs) {
            fprintf(log->out, ",\"duration_s\":%.3f", *secs);
            if (bytes)
                fprintf(log->out, ",\"rate_bps\":%.0f", *secs > 0 ? (double)*bytes / *secs : 0.0);
        }
        if (pf) {
            char item[512];
            fprintf(log->out, ",\"%s_bytes\":%llu", pf->own_label, (unsigned long long)pf->own);
            if (pf->peer_label)
                fprintf(log->out, ",\"%s_bytes\":%llu", pf->peer_label, (unsigned long long)pf->peer);
            if (pf->total)
                fprintf(log->out, ",\"total_bytes\":%llu", (unsigned long long)pf->total);
            if (pf->percent >= 0)
                fprintf(log->out, ",\"percent\":%.1f", pf->percent);
            if (pf->phase) {
                fputs(",\"phase\":", log->out);
                json_str(log->out, pf->phase);
            }
            if (pf->item) {
                sk_log_redact(log, pf->item, item, sizeof item);
                fputs(",\"item\":", log->out);
                json_str(log->out, item);
            }
        }
        fputs(",\"msg\":", log->out);
        json_str(log->out, clean);
        fputs("}\n", log->out);
    } else {
        fprintf(log->out, "%s %-5s ", ts, level_name(level));
        if (log->job[0]) {
            text_str(log->out, log->job);
            fputs(": ", log->out);
        }
        if (stage && bytes && secs) {
            char b[32], r[32];
            sk_fmt_bytes(*bytes, b, sizeof b);
            sk_fmt_bytes(*secs > 0 ? (uint64_t)((double)*bytes / *secs) : *bytes, r, sizeof r);
            fprintf(log->out, "[%s] %s (%llu bytes) in %.2f s, %s/s: ", stage, b, (unsigned long long)*bytes,
                    *secs, r);
        } else if (stage) {
            fprintf(log->out, "[%s] ", stage);
        }
        text_str(log->out, clean);
        fputc('\n', log->out);
    }
    fflush(log->out);
    funlockfile(log->out);
}

void sk_log_msg(sk_log *log, sk_level level, const char *fmt, ...)
{
    if (!log || level < log->min)
        return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(log, level, NULL, NULL, NULL, msg, NULL);
}

void sk_log_stage(sk_log *log, const char *stage, uint64_t bytes, double seconds, const char *fmt, ...)
{
    if (!log || SK_LOG_INFO < log->min)
        return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(log, SK_LOG_INFO, stage, &bytes, &seconds, msg, NULL);
}

void sk_log_progress(sk_log *log, const sk_log_progress_fields *f)
{
    if (!log || SK_LOG_INFO < log->min)
        return;
    char msg[1024], b[32];
    size_t n = 0;
    msg[0] = '\0';
#define ADD(...)                                                                                              \
    do {                                                                                                      \
        if (n < sizeof msg) {                                                                                 \
            int k_ = snprintf(msg + n, sizeof msg - n, __VA_ARGS__);                                          \
            n += k_ > 0 ? (size_t)k_ : 0;                                                                     \
        }                                                                                                     \
    } while (0)
    ADD("%s", f->own_label);
    if (f->peer_label) {
        sk_fmt_bytes(f->peer, b, sizeof b);
        ADD(", %s %s", f->peer_label, b);
    }
    if (f->percent >= 0) {
        ADD(", %.1f%%", f->percent);
        if (f->total && !f->phase) {
            sk_fmt_bytes(f->total, b, sizeof b);
            ADD(" of %s", b);
        }
    }
    if (f->phase)
        ADD(", %s", f->phase);
    if (f->item)
        ADD(", %s", f->item);
#undef ADD
    uint64_t own = f->own;
    double secs = f->seconds;
    emit(log, SK_LOG_INFO, "progress", &own, &secs, msg, f);
}
