/*
 * signals.h: SIGINT/SIGTERM request a clean stop. The flag is the process's only mutable global;
 * code polls it through sk_runtime.cancelled (sk_signals_cancelled is that callback).
 */
#ifndef SK_SIGNALS_H
#define SK_SIGNALS_H

/* Install the handlers (SIGINT, SIGTERM set the flag; SIGPIPE is ignored so a closed pipe is a
 * write error, not a silent death). */
void sk_signals_install(void);
int sk_signals_cancelled(void *ud);
/* The signal that set the flag, 0 when none. */
int sk_signals_received(void);

#endif
