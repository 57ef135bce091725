/*
 * fuzz_pb_backups: the PocketBase replies the engine decides on before a download: the backup list
 * (GET /api/backups, pb_resp_find_backup: is our backup there, its size and time) and the health
 * reply (GET /api/health, pb_resp_can_backup: is the backup lock free).
 * Input: one flags byte (bit 0: a non-200 status, bit 1: the body was cut at 64 KiB), the backup
 * name up to the first newline, then the reply body.
 * Properties: the list lookup agrees with a plain reading of the JSON (found exactly when an
 * entry's key equals the name byte for byte, with that entry's positive size or 0 and its modified
 * text cut to the buffer, "?" without one; -1 exactly when the body is no JSON array or was cut);
 * a short buffer gets a prefix of the modified text; health says 1/0 only for a 200 reply whose
 * data.canBackup is a boolean, and that boolean.
 */
#include "fuzz.h"

#include <jansson.h>

#include "fuzz_pb.h"

/* The entry a plain reading finds: the first object whose "key" string is `name`, NUL bytes and all. */
static json_t *expected_entry(json_t *list, const char *name, size_t nlen)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        json_t *k = json_object_get(v, "key");
        if (json_is_string(k) && json_string_length(k) == nlen && memcmp(json_string_value(k), name, nlen) == 0)
            return v;
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pb_resp r; /* 64 KiB: not on the stack */
    unsigned flags = (unsigned)fuzz_take(&data, &size, 1);
    const uint8_t *nl = memchr(data, '\n', size);
    size_t nlen = nl ? (size_t)(nl - data) : 0;
    if (!nl || memchr(data, 0, nlen)) /* names are C strings */
        return 0;
    char *name = fuzz_cstr(data, nlen);
    data += nlen + 1;
    size -= nlen + 1;
    if (fuzz_pb_reply(&r, flags, data, size) != 0) {
        free(name);
        return 0;
    }

    json_t *j = r.len && !r.truncated ? json_loadb(r.body, r.len, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
    uint64_t got_size = 12345;
    char mod[64], small[6];
    int f = pb_resp_find_backup(&r, name, &got_size, mod, sizeof mod);
    if (!json_is_array(j)) {
        FUZZ_CHECK(f == -1, "not a list (or cut), yet %d", f);
    } else {
        json_t *e = expected_entry(j, name, nlen);
        FUZZ_CHECK(f == (e != NULL), "backup '%s': %d, but the list %s it", name, f, e ? "has" : "lacks");
        if (e) {
            json_t *s = json_object_get(e, "size");
            uint64_t want = json_is_integer(s) && json_integer_value(s) > 0 ? (uint64_t)json_integer_value(s) : 0;
            FUZZ_CHECK(got_size == want, "size %llu, listed %llu", (unsigned long long)got_size,
                       (unsigned long long)want);
            json_t *m = json_object_get(e, "modified");
            const char *mt = json_is_string(m) ? json_string_value(m) : "?";
            size_t ml = strlen(mt) < sizeof mod - 1 ? strlen(mt) : sizeof mod - 1;
            FUZZ_CHECK(strlen(mod) == ml && memcmp(mod, mt, ml) == 0, "modified '%s' for '%s'", mod, mt);
            FUZZ_CHECK(pb_resp_find_backup(&r, name, &got_size, small, sizeof small) == 1, "found once only");
            FUZZ_CHECK(strlen(small) < sizeof small && strncmp(mod, small, strlen(small)) == 0,
                       "a short buffer gets '%s', not a prefix of '%s'", small, mod);
        } else {
            FUZZ_CHECK(got_size == 12345, "size written for an absent backup");
        }
    }
    json_decref(j);

    int cb = pb_resp_can_backup(&r);
    j = r.status == 200 ? json_loadb(r.body, r.len, JSON_DISABLE_EOF_CHECK, NULL) : NULL;
    json_t *v = j ? json_object_get(json_object_get(j, "data"), "canBackup") : NULL;
    FUZZ_CHECK(cb == (json_is_boolean(v) ? json_is_true(v) : -1), "health says %d (status %ld)", cb, r.status);
    json_decref(j);
    free(name);
    return 0;
}
