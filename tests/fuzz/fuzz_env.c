/*
 * fuzz_env: the parsers of setting values (environment variables, *_FILE contents, config-file
 * values): every declared setting's check (sizes, durations and counts are bounded integers,
 * booleans, names, key prefixes, choices), the PocketBase URL check (pb_client_init), the S3
 * endpoint check (sk_http_new), the PocketBase backup-name pattern (sk_pb_backup_name) and the
 * destination slots (S3_2_* .. S3_4_*: sk_dest_setting_parse/_name, sk_dests_select, s3 open).
 * Input: one byte choosing the setting, one byte of flags, then the value.
 * Properties: the check and the loader agree; an accepted integer is within its bounds (or one of
 * its words); an accepted boolean reads as true exactly for true/1/yes/on; accepted names and
 * prefixes hold only the documented characters; an accepted URL or endpoint has the documented
 * shape; an accepted backup name matches PocketBase's ^[a-z0-9_-]+\.zip$ within 100 bytes.
 * Destinations: a slot setting's value set over an otherwise complete configuration of its slot
 * selects exactly that slot (or, for a slot > 1 setting without its bucket, is refused naming it);
 * opening the S3 destination fails only with a config error naming that slot's own variables
 * (S3_2_ENDPOINT, never S3_ENDPOINT) and never showing the secret key; a value taken as a slot
 * setting's name parses only in the form sk_dest_setting_name writes back.
 */
#include "fuzz.h"

#include <ctype.h>
#include <curl/curl.h>
#include <limits.h>
#include <strings.h>

#include "../../agent/config.h"
#include "../../agent/dest.h"
#include "../../agent/registry.h"
#include "../../engines/pocketbase/pb_http.h"
#include "../../engines/pocketbase/pocketbase.h"
#include "../../uploader/s3/http.h"
#include "../../uploader/s3/s3.h"

static const sk_setting_def *defs[512];
static size_t ndefs;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const sk_setting_def *const *tables = sk_all_settings();
    for (size_t t = 0; tables[t]; t++)
        for (const sk_setting_def *d = tables[t]; d->name && ndefs < 512; d++)
            defs[ndefs++] = d;
    return 0;
}

struct one { const char *name, *value; };
static const char *one_get(void *ud, const char *name)
{
    const struct one *o = ud;
    return strcmp(name, o->name) == 0 ? o->value : NULL;
}

/* Several variables at once: a complete destination slot plus the fuzzed one (which wins). */
struct many { const char *const *kv; size_t n; };
static const char *many_get(void *ud, const char *name)
{
    const struct many *m = ud;
    for (size_t i = m->n; i-- > 0;)
        if (!strcmp(name, m->kv[2 * i]))
            return m->kv[2 * i + 1];
    return NULL;
}

static int names_ok(const char *v, int slashes)
{
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-", *p) && !(slashes && *p == '/'))
            return 0;
    return 1;
}

static const sk_setting_def *by_name(const char *name)
{
    for (size_t i = 0; i < ndefs; i++)
        if (!strcmp(defs[i]->name, name))
            return defs[i];
    return NULL;
}

static void check_setting(const sk_setting_def *d, const char *v)
{
    sk_err err = { 0 }, lerr = { 0 };
    /* an alias (AWS_REGION) is checked as the setting it names, and sets that one */
    const sk_setting_def *t = d->kind == SK_SET_ALIAS ? by_name(d->def) : d;
    FUZZ_CHECK(t, "%s is an alias of the undeclared %s", d->name, d->def);
    sk_rc rc = sk_setting_check(t, v, &err);
    FUZZ_CHECK(rc == SK_OK || (rc == SK_ERR_CONFIG && strstr(err.msg, t->name)), "%s: rc %d '%s'", t->name, rc,
               err.msg);
    if (t->secret && rc != SK_OK && strlen(v) >= 8) {
        sk_err e0 = { 0 }; /* the message's own words, to tell them from the value */
        sk_setting_check(t, "\x01", &e0);
        if (!strstr(e0.msg, v))
            FUZZ_CHECK(!strstr(err.msg, v), "%s: message shows the secret: %s", t->name, err.msg);
    }
    struct one o = { d->name, v };
    sk_config *cfg = sk_config_load(sk_all_settings(), one_get, &o, NULL, &lerr);
    /* empty means unset (for an alias too: the target keeps its default) */
    int unset = !*v && (d->kind == SK_SET_ALIAS || (d->kind != SK_SET_PREFIX && !d->def));
    /* settings checked against each other (WARN_AFTER <= FAIL_AFTER) may fail with the other's default */
    int related = strstr(d->name, "HEALTH_") != NULL;
    FUZZ_CHECK((cfg != NULL) == (rc == SK_OK || unset) || (related && !cfg && rc == SK_OK),
               "%s='%s': check %d but load %s", d->name, v, rc, cfg ? "accepted" : lerr.msg);
    if (!cfg || unset || d->kind == SK_SET_ALIAS) {
        sk_config_free(cfg);
        return;
    }
    switch (d->kind) {
    case SK_SET_INT: {
        long n = sk_config_int(cfg, d->name, LONG_MIN);
        FUZZ_CHECK((n >= d->min && n <= d->max) || (n == LONG_MIN && d->choices),
                   "%s='%s' read as %ld, outside %ld..%ld", d->name, v, n, d->min, d->max);
        break;
    }
    case SK_SET_BOOL: {
        int want = !strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "on");
        FUZZ_CHECK(sk_config_bool(cfg, d->name) == want, "%s='%s' read as %d", d->name, v, !want);
        break;
    }
    case SK_SET_NAME:
        FUZZ_CHECK(*v && *v != '.' && names_ok(v, 0), "%s='%s' accepted as a name", d->name, v);
        break;
    case SK_SET_PREFIX:
        FUZZ_CHECK(names_ok(v, 1) && v[0] != '/' && v[0] != '.' && !strstr(v, "//") && !strstr(v, "/.") &&
                       (!*v || v[strlen(v) - 1] != '/'),
                   "%s='%s' accepted as a prefix", d->name, v);
        break;
    default:
        break;
    }
    sk_config_free(cfg);
}

static void check_urls(const char *v, int flags)
{
    static pb_client c; /* 7 KiB */
    sk_err err = { 0 };
    if (pb_client_init(&c, v, "SNAPKEEP_POCKETBASE_URL", NULL, NULL, &err) == SK_OK) {
        int https = !strncasecmp(c.base, "https://", 8);
        FUZZ_CHECK(https || !strncasecmp(c.base, "http://", 7), "base '%s'", c.base);
        const char *host = c.base + (https ? 8 : 7);
        size_t hl = strcspn(host, "/");
        FUZZ_CHECK(hl > 0 && !memchr(host, '@', hl), "base '%s' from '%s'", c.base, v);
        FUZZ_CHECK(!strpbrk(c.base, "?# \t\r\n") && c.base[strlen(c.base) - 1] != '/', "base '%s'", c.base);
    } else {
        FUZZ_CHECK(err.rc == SK_ERR_CONFIG && err.msg[0], "pb_client_init rc %d", err.rc);
    }
    sk_http_config hc = { .endpoint = v, .region = "auto", .access_key_id = "AKIDFUZZ",
                          .secret_access_key = "fuzz-secret-key", .allow_http = flags & 1 };
    sk_err herr = { 0 };
    sk_http *h = sk_http_new(&hc, &herr);
    if (h) {
        FUZZ_CHECK(!strncasecmp(v, "https://", 8) || ((flags & 1) && !strncasecmp(v, "http://", 7)),
                   "endpoint '%s' accepted", v);
        const char *rest = strstr(v, "://") + 3;
        size_t al = strcspn(rest, "/?#");
        FUZZ_CHECK(al > 0 && !memchr(rest, '@', al) && (!rest[al] || !strcmp(rest + al, "/")),
                   "endpoint '%s' accepted", v);
        sk_http_free(h);
    } else {
        FUZZ_CHECK(herr.rc == SK_ERR_CONFIG && (strstr(v, "fuzz-secret-key") || !strstr(herr.msg, "fuzz-secret-key")),
                   "sk_http_new: %s", herr.msg);
    }
}

static void check_backup_name(const char *v, int flags)
{
    static const long long times[] = { 0, 1764806400LL, 253402300799LL, -62135596800LL, 4102444800LL };
    char out[128];
    sk_err err = { 0 };
    if (sk_pb_backup_name(v, times[(flags >> 1) % 5], out, sizeof out, &err) == SK_OK) {
        size_t n = strlen(out);
        FUZZ_CHECK(n > 4 && n <= 100 && !strcmp(out + n - 4, ".zip") && strspn(out, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n - 4,
                   "backup name '%s' from '%s'", out, v);
    }
}

/* Does `msg` name a slot 1 setting of S3 as a word of its own (S3_ENDPOINT, not S3_2_ENDPOINT)? */
static const char *slot1_name_in(const char *msg)
{
    for (size_t k = 0; sk_dest_s3.slot_settings[k]; k++) {
        const char *n = sk_dest_s3.slot_settings[k];
        for (const char *p = strstr(msg, n); p; p = strstr(p + 1, n))
            if ((p == msg || (!isalnum((unsigned char)p[-1]) && p[-1] != '_')) && !isalnum((unsigned char)p[strlen(n)]))
                return n;
    }
    return NULL;
}

/* `d` is a setting of a destination slot (S3_BUCKET: s3 slot 1; S3_3_REGION: s3 slot 3): set it to
 * `v` over an otherwise complete S3 configuration of that slot, select and open. */
static void check_dest_slot(const sk_setting_def *d, const char *v, int flags)
{
    const sk_dest_type *type = NULL;
    int slot = 1;
    char base[128];
    if (!sk_dest_setting_parse(d->name, &type, &slot, base, sizeof base)) {
        for (size_t k = 0; sk_dest_s3.slot_settings[k]; k++)
            if (!strcmp(d->name, sk_dest_s3.slot_settings[k]))
                type = &sk_dest_s3;
        snprintf(base, sizeof base, "%s", d->name);
    }
    if (type != &sk_dest_s3)
        return;
    char names[5][64];
    const char *bases[5] = { "S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY",
                             flags & 8 ? "R2_ACCOUNT_ID" : "S3_ENDPOINT", "S3_ALLOW_HTTP" };
    const char *vals[5] = { "fuzz-bucket", "AKIDFUZZ", "fuzz-secret-key",
                            flags & 8 ? "0123abcd" : flags & 16 ? "http://127.0.0.1:9000" : "https://s3.example.test",
                            flags & 32 ? "true" : "false" };
    const char *kv[12];
    for (int i = 0; i < 5; i++) {
        FUZZ_CHECK(sk_dest_setting_name(type, bases[i], slot, names[i], sizeof names[i]) == 0, "%s slot %d",
                   bases[i], slot);
        kv[2 * i] = names[i];
        kv[2 * i + 1] = vals[i];
    }
    kv[10] = d->name;
    kv[11] = v;
    struct many m = { kv, 6 };
    sk_err err = { 0 };
    sk_config *cfg = sk_config_load(sk_all_settings(), many_get, &m, NULL, &err);
    if (!cfg)
        return; /* the value's own check, tested above */
    sk_dest_pick picks[SK_MAX_DESTS];
    size_t n = 0;
    int unsets_bucket = !*v && !strcmp(base, "S3_BUCKET");
    sk_rc rc = sk_dests_select(cfg, picks, &n, &err);
    if (unsets_bucket) {
        /* the slot is not selected; for slot > 1 its other settings are then an error naming one */
        FUZZ_CHECK(slot == 1 ? rc != SK_OK || n == 0 : rc == SK_ERR_CONFIG && strstr(err.msg, names[0]),
                   "%s='' over slot %d: rc %d, %zu picks: %s", d->name, slot, rc, n, err.msg);
        sk_config_free(cfg);
        return;
    }
    FUZZ_CHECK(rc == SK_OK && n == 1 && picks[0].type == type && picks[0].slot == slot,
               "%s='%s': rc %d, %zu destinations (%s)", d->name, v, rc, n, err.msg);
    void *state = NULL;
    sk_err oerr = { 0 };
    rc = type->open(cfg, slot, NULL, &state, &oerr);
    if (rc == SK_OK) {
        FUZZ_CHECK(strstr(type->describe(state), "fuzz-bucket") || !strcmp(base, "S3_BUCKET"), "%s",
                   type->describe(state));
        type->close(state);
    } else {
        FUZZ_CHECK(rc == SK_ERR_CONFIG && oerr.msg[0], "open rc %d", rc);
        FUZZ_CHECK(strstr(v, "fuzz-secret-key") || !strstr(oerr.msg, "fuzz-secret-key"), "secret shown: %s", oerr.msg);
        /* a further destination's message names its own variables (unless the value holds such a name) */
        const char *n1 = slot1_name_in(oerr.msg);
        FUZZ_CHECK(slot == 1 || !n1 || strstr(v, "S3_") || strstr(v, "R2_"), "slot %d: '%s' names %s", slot,
                   oerr.msg, n1);
    }
    sk_config_free(cfg);
}

/* The value as a variable name: a slot setting's name parses only in its canonical form. */
static void check_slot_name(const char *v)
{
    const sk_dest_type *type;
    int slot;
    char base[128], back[160];
    if (!sk_dest_setting_parse(v, &type, &slot, base, sizeof base))
        return;
    FUZZ_CHECK(slot >= 2 && slot <= 99, "'%s': slot %d", v, slot);
    FUZZ_CHECK(sk_dest_setting_name(type, base, slot, back, sizeof back) == 0 && !strcmp(back, v),
               "'%s' parsed as %s slot %d (%s), written back as '%s'", v, type->name, slot, base, back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const sk_setting_def *d = defs[data[0] % ndefs];
    int flags = data[1];
    char *v = fuzz_cstr(data + 2, size - 2);
    check_setting(d, v);
    check_urls(v, flags);
    check_backup_name(v, flags);
    check_dest_slot(d, v, flags);
    check_slot_name(v);
    free(v);
    return 0;
}
