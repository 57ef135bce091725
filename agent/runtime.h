/*
 * runtime.h: what a module may need from the process, passed explicitly (no globals).
 */
#ifndef SK_RUNTIME_H
#define SK_RUNTIME_H

#include <stdint.h>

#include "log.h"

typedef struct sk_runtime {
    sk_log *log;
    /* Polled between chunks, parts and steps; non-zero means stop and abort cleanly. */
    int (*cancelled)(void *ud);
    void *cancel_ud;
    /* Wall clock in milliseconds since the epoch (injectable for tests). */
    int64_t (*now_ms)(void *ud);
    void *clock_ud;
} sk_runtime;

static inline int sk_rt_cancelled(const sk_runtime *rt)
{
    return rt && rt->cancelled && rt->cancelled(rt->cancel_ud);
}

/* Monotonic seconds, for durations. */
double sk_monotonic(void);

#endif
