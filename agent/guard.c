#include "guard.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

typedef struct reasons {
    char *buf;
    size_t sz, len;
    int n, cut;
} reasons;

static void add(reasons *r, const char *fmt, ...)
{
    char one[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(one, sizeof one, fmt, ap);
    va_end(ap);
    r->n++;
    if (r->cut)
        return;
    size_t need = strlen(one) + (r->len ? 2 : 0);
    if (r->len + need + 4 > r->sz) { /* room for "..." and the NUL */
        snprintf(r->buf + r->len, r->sz - r->len, "%s...", r->len ? "; " : "");
        r->cut = 1;
        return;
    }
    r->len += (size_t)snprintf(r->buf + r->len, r->sz - r->len, "%s%s", r->len ? "; " : "", one);
}

static json_t *load_tables(const char *tables)
{
    if (!tables)
        return NULL;
    json_t *t = json_loads(tables, 0, NULL);
    if (t && !json_is_object(t)) {
        json_decref(t);
        t = NULL;
    }
    return t;
}

static int64_t total(json_t *t)
{
    const char *name;
    json_t *v;
    int64_t sum = 0;
    json_object_foreach(t, name, v)
        if (json_is_integer(v))
            sum += json_integer_value(v);
    return sum;
}

int64_t sk_guard_total_rows(const char *tables)
{
    json_t *t = load_tables(tables);
    if (!t)
        return -1;
    int64_t sum = total(t);
    json_decref(t);
    return sum;
}

/* below (100 - pct)% of before */
static int dropped(uint64_t now, uint64_t before, int pct)
{
    return pct > 0 && before > 0 && (double)now < (double)before * (100 - pct) / 100.0;
}

int sk_guard_check(const sk_guard_facts *cur, const sk_guard_facts *prev, int max_drop_pct, char *out, size_t sz)
{
    reasons r = { out, sz, 0, 0, 0 };
    out[0] = '\0';
    json_t *ct = load_tables(cur->tables), *pt = prev ? load_tables(prev->tables) : NULL;
    if (ct) {
        if (json_object_size(ct) == 0)
            add(&r, "empty: no user tables");
        else if (total(ct) == 0)
            add(&r, "empty: no rows in any of its %zu table(s)", json_object_size(ct));
    }
    if (ct && pt) {
        const char *name;
        json_t *v;
        json_object_foreach(pt, name, v) {
            json_t *now = json_object_get(ct, name);
            if (!now)
                add(&r, "table %s disappeared (it had %lld rows)", name, (long long)json_integer_value(v));
            else if (json_integer_value(v) > 0 && json_integer_value(now) == 0)
                add(&r, "table %s was emptied (it had %lld rows)", name, (long long)json_integer_value(v));
        }
        int64_t a = total(ct), b = total(pt);
        if (a > 0 && dropped((uint64_t)a, (uint64_t)b, max_drop_pct))
            add(&r, "total rows dropped from %lld to %lld (more than SNAPKEEP_GUARD_MAX_DROP=%d%%)", (long long)b,
                (long long)a, max_drop_pct);
    }
    if (prev && dropped(cur->plain_size, prev->plain_size, max_drop_pct))
        add(&r, "plaintext size dropped from %llu to %llu bytes (more than SNAPKEEP_GUARD_MAX_DROP=%d%%)",
            (unsigned long long)prev->plain_size, (unsigned long long)cur->plain_size, max_drop_pct);
    json_decref(ct);
    json_decref(pt);
    return r.n > 0;
}
