#include "log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime.h"

#define MAX_SECRETS 32

struct sk_log {
    FILE *out;
    int json;
    sk_level min;
    char job[128];
    char *secrets[MAX_SECRETS];
    int nsecrets;
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
    log->out = out;
    log->json = json;
    log->min = SK_LOG_INFO;
    return log;
}

void sk_log_free(sk_log *log)
{
    if (!log)
        return;
    for (int i = 0; i < log->nsecrets; i++) {
        /* scrub the copies we kept for redaction */
        memset(log->secrets[i], 0, strlen(log->secrets[i]));
        free(log->secrets[i]);
    }
    free(log);
}

void sk_log_set_json(sk_log *log, int json) { log->json = json; }
void sk_log_set_level(sk_log *log, sk_level min) { log->min = min; }

void sk_log_set_job(sk_log *log, const char *job)
{
    snprintf(log->job, sizeof log->job, "%s", job ? job : "");
}

void sk_log_add_secret(sk_log *log, const char *secret)
{
    if (!log || !secret || strlen(secret) < 4 || log->nsecrets >= MAX_SECRETS)
        return;
    for (int i = 0; i < log->nsecrets; i++)
        if (strcmp(log->secrets[i], secret) == 0)
            return;
    char *copy = strdup(secret);
    if (copy)
        log->secrets[log->nsecrets++] = copy;
}

void sk_log_redact(const sk_log *log, const char *s, char *out, size_t outsz)
{
    size_t o = 0;
    if (outsz == 0)
        return;
    while (*s && o + 1 < outsz) {
        int hit = 0;
        for (int i = 0; log && i < log->nsecrets; i++) {
            size_t n = strlen(log->secrets[i]);
            if (strncmp(s, log->secrets[i], n) == 0) {
                for (const char *r = "***"; *r && o + 1 < outsz; r++)
                    out[o++] = *r;
                s += n;
                hit = 1;
                break;
            }
        }
        if (!hit)
            out[o++] = *s++;
    }
    out[o] = '\0';
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

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
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

static void emit(sk_log *log, sk_level level, const char *stage, const uint64_t *bytes, const double *secs,
                 const char *msg)
{
    char clean[4096];
    char ts[32];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    sk_log_redact(log, msg, clean, sizeof clean);
    flockfile(log->out); /* upload threads log too: one line at a time */
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
        fputs(",\"msg\":", log->out);
        json_str(log->out, clean);
        fputs("}\n", log->out);
    } else {
        fprintf(log->out, "%s %-5s %s%s", ts, level_name(level), log->job[0] ? log->job : "",
                log->job[0] ? ": " : "");
        if (stage && bytes && secs) {
            char b[32], r[32];
            sk_fmt_bytes(*bytes, b, sizeof b);
            sk_fmt_bytes(*secs > 0 ? (uint64_t)((double)*bytes / *secs) : *bytes, r, sizeof r);
            fprintf(log->out, "[%s] %s (%llu bytes) in %.2f s, %s/s: ", stage, b, (unsigned long long)*bytes,
                    *secs, r);
        } else if (stage) {
            fprintf(log->out, "[%s] ", stage);
        }
        fprintf(log->out, "%s\n", clean);
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
    emit(log, level, NULL, NULL, NULL, msg);
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
    emit(log, SK_LOG_INFO, stage, &bytes, &seconds, msg);
}
