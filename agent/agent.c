#include "agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "drill.h"
#include "signals.h"

int sk_grace_cancelled(void *ud)
{
    sk_grace *g = ud;
    if (!sk_signals_received())
        return 0;
    double now = sk_monotonic();
    if (g->first_seen == 0) {
        g->first_seen = now;
        if (g->grace_s > 0)
            sk_log_msg(g->log, SK_LOG_WARN, "stop requested: letting the running backup finish (up to %.0f s, "
                       "SNAPKEEP_STOP_GRACE)", g->grace_s);
    }
    return now - g->first_seen >= g->grace_s;
}

sk_rc sk_agent_prepare(sk_agent_job *jobs, size_t n, sk_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const sk_config *cfg = sk_job_config(jobs[i].job);
        const char *expr = sk_config_str(cfg, "SNAPKEEP_SCHEDULE");
        char var[300];
        snprintf(var, sizeof var, n > 1 ? "SNAPKEEP_SCHEDULE (job '%s')" : "SNAPKEEP_SCHEDULE", jobs[i].name);
        if (!expr)
            return sk_fail(err, SK_ERR_CONFIG, 0,
                           "%s is not set: `snapkeep run` needs a schedule, e.g. '0 0 * * *' or @daily", var);
        if (!(jobs[i].schedule = sk_schedule_parse(expr, var, err)))
            return err->rc;
        const char *dexpr = sk_config_str(cfg, "SNAPKEEP_DRILL_SCHEDULE");
        snprintf(var, sizeof var, n > 1 ? "SNAPKEEP_DRILL_SCHEDULE (job '%s')" : "SNAPKEEP_DRILL_SCHEDULE",
                 jobs[i].name);
        if (dexpr && !(jobs[i].drill = sk_schedule_parse(dexpr, var, err)))
            return err->rc;
        jobs[i].run_at_start = sk_config_bool(cfg, "SNAPKEEP_RUN_AT_START");
        jobs[i].jitter_s = (int)sk_config_int(cfg, "SNAPKEEP_JITTER", 0);
    }
    return SK_OK;
}

static int64_t wall(const sk_runtime *rt)
{
    return rt->now_ms ? rt->now_ms(rt->clock_ud) / 1000 : (int64_t)time(NULL);
}

static sk_rc plan(sk_agent_job *j, const sk_tz *tz, int64_t after, const sk_runtime *rt, sk_err *err)
{
    if (sk_schedule_next_in(j->schedule, tz, after, &j->next, err) != SK_OK)
        return err->rc;
    if (j->jitter_s > 0) {
        unsigned r = 0;
        RAND_bytes((unsigned char *)&r, sizeof r);
        j->next += (int64_t)(r % (unsigned)(j->jitter_s + 1));
    }
    char when[64];
    sk_err ferr;
    sk_err_clear(&ferr);
    sk_tz_format(tz, j->next, when, sizeof when, &ferr);
    sk_log_msg(rt->log, SK_LOG_INFO, "%s: next backup at %s", sk_job_name(j->job), when);
    return SK_OK;
}

static sk_rc plan_drill(sk_agent_job *j, const sk_tz *tz, int64_t after, const sk_runtime *rt, sk_err *err)
{
    if (!j->drill)
        return SK_OK;
    if (sk_schedule_next_in(j->drill, tz, after, &j->next_drill, err) != SK_OK)
        return err->rc;
    char when[64];
    sk_err ferr;
    sk_err_clear(&ferr);
    sk_tz_format(tz, j->next_drill, when, sizeof when, &ferr);
    sk_log_msg(rt->log, SK_LOG_INFO, "%s: next restore drill at %s", sk_job_name(j->job), when);
    return SK_OK;
}

static void drill_one(sk_agent_job *j, const sk_runtime *rt)
{
    sk_drill_record rec;
    sk_err err;
    sk_err_clear(&err);
    sk_log_set_job(rt->log, sk_job_name(j->job));
    if (sk_drill_run(&j->runner, j->job, j->runner.notifier, rt, &rec, &err) != SK_OK)
        sk_log_msg(rt->log, SK_LOG_ERROR, "restore drill FAILED (%s, exit %d): %s", sk_rc_name(err.rc), (int)err.rc,
                   err.msg);
    else
        sk_log_msg(rt->log, SK_LOG_INFO, "restore drill passed: %s: %s (%.1f s)", rec.last_key, rec.last_summary,
                   rec.last_duration);
    sk_log_set_job(rt->log, NULL);
}

static void run_one(sk_agent_job *j, const sk_runtime *rt)
{
    sk_backup_result res;
    sk_err err;
    sk_err_clear(&err);
    sk_log_set_job(rt->log, sk_job_name(j->job));
    if (sk_runner_backup(&j->runner, j->job, rt, &res, &err) != SK_OK)
        sk_log_msg(rt->log, SK_LOG_ERROR, "backup failed (%s, exit %d): %s", sk_rc_name(err.rc), (int)err.rc, err.msg);
    else
        sk_log_msg(rt->log, SK_LOG_INFO, "backup done: %s (%llu bytes stored) in %.2f s", res.key,
                   (unsigned long long)res.stored_size, res.seconds);
    sk_log_set_job(rt->log, NULL);
}

sk_rc sk_agent_run(sk_agent_job *jobs, size_t n, const sk_runtime *rt, const sk_tz *tz, sk_err *err)
{
    int64_t now = wall(rt);
    for (size_t i = 0; i < n; i++) {
        sk_status st;
        sk_err serr;
        sk_err_clear(&serr);
        /* health counts from here until the first success */
        if (sk_status_read(jobs[i].runner.state_dir, jobs[i].runner.job_id, &st, &serr) == SK_OK) {
            st.agent_started = now;
            st.running = 0;
            sk_runner_seed_status(&jobs[i].runner, jobs[i].job, rt, &st);
            sk_status_write(jobs[i].runner.state_dir, jobs[i].runner.job_id, &st, &serr);
        }
        if (plan(&jobs[i], tz, now, rt, err) != SK_OK || plan_drill(&jobs[i], tz, now, rt, err) != SK_OK)
            return err->rc;
        if (jobs[i].drill) /* scratch targets a killed drill left (a killed earlier agent) */
            sk_drill_sweep(&jobs[i].runner, jobs[i].job, rt);
    }
    sk_log_msg(rt->log, SK_LOG_INFO, "agent started: %zu job(s), time zone %s", n, sk_tz_name(tz));
    int ran = 0;
    for (size_t i = 0; i < n && !sk_signals_received(); i++)
        if (jobs[i].run_at_start) {
            run_one(&jobs[i], rt);
            ran = 1;
        }
    /* fire times that passed during the start-up backups are skipped, as any missed ones */
    for (size_t i = 0; ran && i < n; i++)
        if ((jobs[i].next < wall(rt) && plan(&jobs[i], tz, wall(rt), rt, err) != SK_OK) ||
            (jobs[i].drill && jobs[i].next_drill < wall(rt) && plan_drill(&jobs[i], tz, wall(rt), rt, err) != SK_OK))
            return err->rc;

    while (!sk_signals_received()) {
        /* the earliest fire time of any job's backup or drill; a backup first when they tie */
        size_t k = 0;
        int drill = 0;
        for (size_t i = 0; i < n; i++) {
            if (jobs[i].next < (drill ? jobs[k].next_drill : jobs[k].next)) {
                k = i;
                drill = 0;
            }
            if (jobs[i].drill && jobs[i].next_drill < (drill ? jobs[k].next_drill : jobs[k].next)) {
                k = i;
                drill = 1;
            }
        }
        int64_t due = drill ? jobs[k].next_drill : jobs[k].next;
        struct timespec at = { (time_t)due, 0 };
        /* absolute wall-clock sleep: right across clock adjustments; a signal wakes it */
        int rc = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL);
        if (rc == EINTR || sk_signals_received())
            continue;
        now = wall(rt);
        if (now < due)
            continue;
        if (drill)
            drill_one(&jobs[k], rt);
        else
            run_one(&jobs[k], rt);
        /* fire times missed while backing up or drilling are skipped, not queued */
        if ((drill ? plan_drill(&jobs[k], tz, wall(rt), rt, err) : plan(&jobs[k], tz, wall(rt), rt, err)) != SK_OK)
            return err->rc;
    }
    sk_log_msg(rt->log, SK_LOG_INFO, "stop signal received: agent exiting");
    return SK_OK;
}
