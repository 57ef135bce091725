/*
 * fuzz_pb_collections: the PocketBase replies the record counts of a restore drill and of the
 * restore guard are read from: the collection list (GET /api/collections?perPage=500&fields=
 * name,system,type, pb_resp_collections: which collections to count), a records list's totalItems
 * (GET /api/collections/<name>/records?perPage=1&fields=id, pb_resp_total_items) and the records
 * path built from a listed name (pb_records_count_path).
 * Input: one flags byte (bit 0: a non-200 status, bit 1: the body was cut at 64 KiB, bit 2: skip
 * views, bit 3: the callback stops after `flags >> 4` names), then the reply body.
 * Properties: the names passed are exactly, in order, the "name" strings of the non-system items
 * (non-view ones when asked) of a plain reading of the JSON; -1 (nothing passed) exactly when the
 * reply is not a 200, cut, has no "items" array, says totalPages > 1 or holds an item without a
 * string name (or one with a NUL byte); a stop is -2 after exactly that many names. The count is
 * totalItems exactly when it is an integer >= 0 of a whole 200 reply, else -1. A path either fits
 * (and percent-decodes back to the name, only unreserved characters left bare) or is refused only
 * when its full length would not fit: never a cut name.
 */
#include "fuzz.h"

#include <ctype.h>
#include <jansson.h>

#include "fuzz_pb.h"

#define HEAD "/api/collections/"
#define TAIL "/records?perPage=1&fields=id"

typedef struct seen {
    json_t *names; /* the names passed, as a JSON array */
    int stop_after; /* -1: never stop */
} seen;

static int on_name(void *ud, const char *name)
{
    seen *s = ud;
    FUZZ_CHECK(name != NULL, "NULL name");
    if (s->stop_after >= 0 && json_array_size(s->names) == (size_t)s->stop_after)
        return 1;
    json_array_append_new(s->names, json_string_nocheck(name));
    return 0;
}

static size_t escaped_len(const char *name)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        n += isalnum(*p) || strchr("-_.~", *p) ? 1 : 3;
    return n;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void check_path(const char *name, size_t sz)
{
    char path[1100];
    FUZZ_CHECK(sz <= sizeof path, "size");
    size_t need = strlen(HEAD) + escaped_len(name) + strlen(TAIL) + 1;
    if (pb_records_count_path(name, path, sz) != 0) {
        FUZZ_CHECK(need > sz, "'%s' refused though %zu bytes fit in %zu", name, need, sz);
        FUZZ_CHECK(sz == 0 || path[0] == '\0', "a refused path is left as '%s'", path);
        return;
    }
    FUZZ_CHECK(need <= sz && strlen(path) + 1 == need, "path '%s' for '%s' (%zu bytes, %zu fit)", path, name, need, sz);
    FUZZ_CHECK(!strncmp(path, HEAD, strlen(HEAD)) && !strcmp(path + need - 1 - strlen(TAIL), TAIL), "path '%s'", path);
    const char *p = path + strlen(HEAD), *end = path + need - 1 - strlen(TAIL);
    const char *n = name;
    while (p < end) {
        int c;
        if (*p == '%') {
            FUZZ_CHECK(end - p >= 3 && hexval(p[1]) >= 0 && hexval(p[2]) >= 0, "bad escape in '%s'", path);
            c = hexval(p[1]) * 16 + hexval(p[2]);
            FUZZ_CHECK(!isalnum(c) && !strchr("-_.~", c), "'%c' escaped in '%s'", c, path);
            p += 3;
        } else {
            c = (unsigned char)*p++;
            FUZZ_CHECK(isalnum(c) || strchr("-_.~", c), "'%c' bare in '%s'", c, path);
        }
        FUZZ_CHECK(*n && (unsigned char)*n == c, "path '%s' does not decode to '%s'", path, name);
        n++;
    }
    FUZZ_CHECK(!*n, "path '%s' holds only a part of '%s'", path, name);
}

/* The names a plain reading passes, or NULL for "unreadable". */
static json_t *expected_names(json_t *j, int skip_views)
{
    json_t *items = json_object_get(j, "items"), *pages = json_object_get(j, "totalPages");
    if (!json_is_array(items) || (json_is_number(pages) && json_number_value(pages) > 1))
        return NULL;
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(items, i, v) {
        json_t *name = json_object_get(v, "name"), *type = json_object_get(v, "type");
        if (!json_is_string(name) || memchr(json_string_value(name), 0, json_string_length(name))) {
            json_decref(out);
            return NULL;
        }
        if (json_is_true(json_object_get(v, "system")) ||
            (skip_views && json_is_string(type) && !strcmp(json_string_value(type), "view")))
            continue;
        json_array_append(out, name);
    }
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pb_resp r; /* 64 KiB: not on the stack */
    unsigned flags = (unsigned)fuzz_take(&data, &size, 1);
    if (fuzz_pb_reply(&r, flags, data, size) != 0)
        return 0;
    int skip_views = (flags & 4) != 0;
    int stop_after = flags & 8 ? (int)(flags >> 4) : -1;

    json_t *j = r.status == 200 && r.len && !r.truncated ? json_loadb(r.body, r.len, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
    json_t *want = j ? expected_names(j, skip_views) : NULL;
    seen s = { json_array(), stop_after };
    int n = pb_resp_collections(&r, skip_views, on_name, &s);
    if (!want) {
        FUZZ_CHECK(n == -1 && json_array_size(s.names) == 0, "unreadable list, yet %d (%zu names)", n,
                   json_array_size(s.names));
    } else {
        size_t wn = json_array_size(want);
        int stopped = stop_after >= 0 && wn > (size_t)stop_after;
        size_t got = stopped ? (size_t)stop_after : wn;
        FUZZ_CHECK(n == (stopped ? -2 : (int)wn), "%d for %zu names (stop after %d)", n, wn, stop_after);
        FUZZ_CHECK(json_array_size(s.names) == got, "%zu names passed, %zu expected", json_array_size(s.names), got);
        for (size_t i = 0; i < got; i++) {
            const char *a = json_string_value(json_array_get(s.names, i));
            const char *b = json_string_value(json_array_get(want, i));
            FUZZ_CHECK(!strcmp(a, b), "name %zu: '%s', listed '%s'", i, a, b);
            check_path(a, 700); /* collection_counts' buffer */
            check_path(a, strlen(HEAD) + strlen(TAIL) + 1 + (flags >> 4) * 3);
        }
    }
    json_decref(want);
    json_decref(s.names);

    long long count = -12345;
    int t = pb_resp_total_items(&r, &count);
    json_t *ti = j ? json_object_get(j, "totalItems") : NULL;
    if (json_is_integer(ti) && json_integer_value(ti) >= 0)
        FUZZ_CHECK(t == 0 && count == (long long)json_integer_value(ti), "count %lld (%d), totalItems %lld", count,
                   t, (long long)json_integer_value(ti));
    else
        FUZZ_CHECK(t == -1 && count == -12345, "count %lld (%d) without a totalItems >= 0", count, t);
    json_decref(j);

    /* the path of a name taken whole from the input (any bytes but NUL) */
    char *name = fuzz_cstr(data, size < 1000 ? size : 1000);
    check_path(name, 700);
    check_path(name, sizeof "/api/collections//records?perPage=1&fields=id" + (flags >> 2));
    free(name);
    return 0;
}
