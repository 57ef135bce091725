/* pg_model.c: the object list, its (classid, objid) index, and the dependency-respecting order. */
#include "pg_model.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pg_model_init(pg_model *m)
{
    memset(m, 0, sizeof *m);
}

void pg_model_free(pg_model *m)
{
    for (size_t i = 0; i < m->n; i++) {
        pg_obj *o = &m->objs[i];
        free(o->schema);
        free(o->name);
        free(o->owner);
        free(o->create);
        free(o->drop);
        free(o->qname);
        free(o->columns);
        free(o->deps);
    }
    free(m->objs);
    free(m->map);
    memset(m, 0, sizeof *m);
}

static char *dup_or_null(const char *s, int *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = 1;
    return d;
}

static int section_of(pg_kind k)
{
    if (k < K_TABLE_DATA)
        return SEC_PRE;
    if (k <= K_LO_DATA)
        return SEC_DATA;
    return SEC_POST;
}

long pg_model_add(pg_model *m, pg_kind kind, unsigned classid, unsigned objid, const char *schema,
                  const char *name, const char *label, const char *owner)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        pg_obj *n = realloc(m->objs, cap * sizeof *n);
        if (!n)
            return -1;
        m->objs = n;
        m->cap = cap;
    }
    pg_obj *o = &m->objs[m->n];
    memset(o, 0, sizeof *o);
    int oom = 0;
    o->kind = kind;
    o->section = section_of(kind);
    o->classid = classid;
    o->objid = objid;
    o->schema = dup_or_null(schema, &oom);
    o->name = dup_or_null(name ? name : "", &oom);
    o->label = label;
    o->owner = dup_or_null(owner, &oom);
    o->table_obj = -1;
    o->fk_from = o->fk_to = o->shell = -1;
    if (oom) {
        free(o->schema);
        free(o->name);
        free(o->owner);
        return -1;
    }
    long idx = (long)m->n++;
    if (classid != PG_PSEUDO_NONE && pg_model_alias(m, classid, objid, idx) < 0)
        return -1;
    return idx;
}

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}

static int map_grow(pg_model *m)
{
    size_t cap = m->mapcap ? m->mapcap * 2 : 1024;
    pg_map_entry *n = calloc(cap, sizeof *n);
    if (!n)
        return -1;
    for (size_t i = 0; i < m->mapcap; i++) {
        if (!m->map[i].key)
            continue;
        size_t h = mix(m->map[i].key) & (cap - 1);
        while (n[h].key)
            h = (h + 1) & (cap - 1);
        n[h] = m->map[i];
    }
    free(m->map);
    m->map = n;
    m->mapcap = cap;
    return 0;
}

int pg_model_alias(pg_model *m, unsigned classid, unsigned objid, long idx)
{
    uint64_t key = (uint64_t)classid << 32 | objid;
    if (!key)
        return 0;
    if ((m->mapn + 1) * 2 > m->mapcap && map_grow(m) < 0)
        return -1;
    size_t h = mix(key) & (m->mapcap - 1);
    while (m->map[h].key) {
        if (m->map[h].key == key)
            return 0;
        h = (h + 1) & (m->mapcap - 1);
    }
    m->map[h].key = key;
    m->map[h].idx = idx;
    m->mapn++;
    return 0;
}

long pg_model_find(const pg_model *m, unsigned classid, unsigned objid)
{
    uint64_t key = (uint64_t)classid << 32 | objid;
    if (!m->mapcap || !key)
        return -1;
    size_t h = mix(key) & (m->mapcap - 1);
    while (m->map[h].key) {
        if (m->map[h].key == key)
            return m->map[h].idx;
        h = (h + 1) & (m->mapcap - 1);
    }
    return -1;
}

int pg_model_dep(pg_model *m, long from, long to)
{
    if (from < 0 || to < 0 || from == to)
        return 0;
    pg_obj *o = &m->objs[from];
    for (size_t i = 0; i < o->ndeps; i++)
        if (o->deps[i] == to)
            return 0;
    if (o->ndeps == o->capdeps) {
        size_t cap = o->capdeps ? o->capdeps * 2 : 4;
        long *n = realloc(o->deps, cap * sizeof *n);
        if (!n)
            return -1;
        o->deps = n;
        o->capdeps = cap;
    }
    o->deps[o->ndeps++] = to;
    return 0;
}

int pg_name_excluded(const char *const *patterns, const char *schema, const char *name)
{
    if (!patterns)
        return 0;
    char full[256 * 2 + 2];
    snprintf(full, sizeof full, "%s.%s", schema ? schema : "", name ? name : "");
    for (size_t i = 0; patterns[i]; i++) {
        if (fnmatch(patterns[i], full, 0) == 0)
            return 1;
        if (name && !strchr(patterns[i], '.') && fnmatch(patterns[i], name, 0) == 0)
            return 1;
    }
    return 0;
}

/* ---- ordering ---- */

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int cmp_rank(const void *pa, const void *pb, void *ud)
{
    const pg_model *m = ud;
    const pg_obj *a = &m->objs[*(const long *)pa], *b = &m->objs[*(const long *)pb];
    if (a->section != b->section)
        return a->section - b->section;
    if (a->kind != b->kind)
        return (int)a->kind - (int)b->kind;
    int c = cmp_str(a->schema, b->schema);
    if (c)
        return c;
    c = cmp_str(a->name, b->name);
    if (c)
        return c;
    /* same kind and name (operator classes of two access methods, a type and its shell): by what
     * they are and say, so that the order does not follow the catalogs' OIDs */
    c = cmp_str(a->label, b->label);
    if (c)
        return c;
    c = cmp_str(a->create, b->create);
    if (c)
        return c;
    return *(const long *)pa < *(const long *)pb ? -1 : 1;
}

/* A binary min-heap of object indices keyed by rank. */
typedef struct heap {
    long *v;
    size_t n;
} heap;

static void heap_push(heap *h, const pg_model *m, long x)
{
    size_t i = h->n++;
    h->v[i] = x;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (m->objs[h->v[p]].rank <= m->objs[h->v[i]].rank)
            break;
        long t = h->v[p];
        h->v[p] = h->v[i];
        h->v[i] = t;
        i = p;
    }
}

static long heap_pop(heap *h, const pg_model *m)
{
    long top = h->v[0];
    h->v[0] = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, s = i;
        if (l < h->n && m->objs[h->v[l]].rank < m->objs[h->v[s]].rank)
            s = l;
        if (r < h->n && m->objs[h->v[r]].rank < m->objs[h->v[s]].rank)
            s = r;
        if (s == i)
            break;
        long t = h->v[s];
        h->v[s] = h->v[i];
        h->v[i] = t;
        i = s;
    }
    return top;
}

sk_rc pg_sort(pg_model *m, long *order, sk_err *err)
{
    size_t n = m->n;
    sk_rc rc = SK_OK;
    long *byrank = malloc((n ? n : 1) * sizeof *byrank);
    size_t *indeg = calloc(n ? n : 1, sizeof *indeg);
    long **rev = calloc(n ? n : 1, sizeof *rev);     /* reverse edges: who waits for me */
    size_t *nrev = calloc(n ? n : 1, sizeof *nrev);
    char *done = calloc(n ? n : 1, 1);
    heap h = { malloc((n ? n : 1) * sizeof(long)), 0 };
    if (!byrank || !indeg || !rev || !nrev || !done || !h.v) {
        rc = sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory sorting %zu objects", n);
        goto out;
    }

    /* Pre-data objects that need post-data ones (a view grouping by a primary key) move after
     * them; repeat until nothing moves, since others may depend on the moved ones. */
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t i = 0; i < n; i++) {
            pg_obj *o = &m->objs[i];
            for (size_t k = 0; k < o->ndeps; k++) {
                int ts = m->objs[o->deps[k]].section;
                if (ts > o->section && o->movable) {
                    o->section = SEC_POST;
                    changed = 1;
                    break;
                }
            }
        }
    }

    for (size_t i = 0; i < n; i++)
        byrank[i] = (long)i;
    qsort_r(byrank, n, sizeof *byrank, cmp_rank, m);
    for (size_t i = 0; i < n; i++)
        m->objs[byrank[i]].rank = (long)i;

    /* Edges pointing to a later section cannot be honoured (the section order wins); drop them. */
    for (size_t i = 0; i < n; i++) {
        pg_obj *o = &m->objs[i];
        for (size_t k = 0; k < o->ndeps; k++) {
            long t = o->deps[k];
            if (m->objs[t].section > o->section) {
                m->warnings++;
                continue;
            }
            indeg[i]++;
            nrev[t]++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        rev[i] = malloc((nrev[i] ? nrev[i] : 1) * sizeof **rev);
        if (!rev[i]) {
            rc = sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory sorting %zu objects", n);
            goto out;
        }
        nrev[i] = 0;
    }
    for (size_t i = 0; i < n; i++) {
        pg_obj *o = &m->objs[i];
        for (size_t k = 0; k < o->ndeps; k++) {
            long t = o->deps[k];
            if (m->objs[t].section > o->section)
                continue;
            rev[t][nrev[t]++] = (long)i;
        }
    }

    /* Kahn's algorithm, always taking the lowest-ranked ready object. Sections are sorted one
     * after the other: an object is ready when its dependencies are done and it is in the current
     * section. A cycle is broken by taking the lowest-ranked pending object of the section. */
    size_t out_n = 0, next_rank = 0;
    for (int sec = SEC_PRE; sec <= SEC_POST; sec++) {
        h.n = 0;
        for (size_t i = 0; i < n; i++)
            if (m->objs[i].section == sec && indeg[i] == 0)
                heap_push(&h, m, (long)i);
        for (;;) {
            long x;
            if (h.n > 0) {
                x = heap_pop(&h, m);
            } else {
                x = -1;
                for (; next_rank < n; next_rank++) {
                    long c = byrank[next_rank];
                    if (!done[c] && m->objs[c].section == sec) {
                        x = c;
                        break;
                    }
                    if (m->objs[c].section > sec)
                        break;
                }
                if (x < 0)
                    break;
                m->warnings++; /* dependency loop */
            }
            if (done[x])
                continue;
            done[x] = 1;
            order[out_n++] = x;
            for (size_t k = 0; k < nrev[x]; k++) {
                long w = rev[x][k];
                if (indeg[w] > 0 && --indeg[w] == 0 && !done[w] && m->objs[w].section == sec)
                    heap_push(&h, m, w);
            }
        }
        /* objects of later sections whose in-section deps are all done get queued in their turn */
        next_rank = 0;
    }
    if (out_n != n)
        rc = sk_fail(err, SK_ERR_INTERNAL, 0, "ordering lost objects (%zu of %zu)", out_n, n);
out:
    if (rev)
        for (size_t i = 0; i < n; i++)
            free(rev[i]);
    free(rev);
    free(nrev);
    free(indeg);
    free(byrank);
    free(done);
    free(h.v);
    return rc;
}
