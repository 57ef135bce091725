/*
 * notify.h: webhook notifications for backup start, success and failure.
 *
 * sk_notify() only queues: a worker thread POSTs the JSON body with retries (4 attempts, backoff
 * 1, 2, 4 s, 10 s timeout each), so a slow or dead receiver never delays or fails a backup.
 * sk_notifier_free() gives queued notifications up to `wait_s` seconds to go out, then drops them
 * with a warning. URLs are treated as secrets (they often carry tokens): logs name the event, never
 * the URL.
 */
#ifndef SK_NOTIFY_H
#define SK_NOTIFY_H

#include "config.h"
#include "err.h"
#include "log.h"

typedef struct sk_notifier sk_notifier;

/* From SNAPKEEP_WEBHOOK_URL (every event) and SNAPKEEP_WEBHOOK_{START,SUCCESS,FAILURE}_URL.
 * Returns NULL (not an error) when none is configured. */
sk_notifier *sk_notifier_new(const sk_config *cfg, sk_log *log, sk_err *err);
/* event: "start", "success" or "failure"; body: a JSON object (copied). */
void sk_notify(sk_notifier *n, const char *event, const char *body);
/* A restore drill's result (event "drill"): to SNAPKEEP_WEBHOOK_URL, and a failed one also to
 * SNAPKEEP_WEBHOOK_FAILURE_URL (it is an alert); never to the start/success URLs of backups. */
void sk_notify_drill(sk_notifier *n, int ok, const char *body);
void sk_notifier_free(sk_notifier *n, double wait_s);

#endif
