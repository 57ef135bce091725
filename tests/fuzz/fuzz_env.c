/*
 * fuzz_env: the parsers of setting values (environment variables, *_FILE contents, config-file
 * values): every declared setting's check (sizes, durations and counts are bounded integers,
 * booleans, names, key prefixes, choices), the PocketBase URL check (pb_client_init), the S3
 * endpoint check (sk_http_new) and the PocketBase backup-name pattern (sk_pb_backup_name).
 * Input: one byte choosing the setting, one byte of flags, then the value.
 * Properties: the check and the loader agree; an accepted integer is within its bounds (or one of
 * its words); an accepted boolean reads as true exactly for true/1/yes/on; accepted names and
 * prefixes hold only the documented characters; an accepted URL or endpoint has the documented
 * shape; an accepted backup name matches PocketBase's ^[a-z0-9_-]+\.zip$ within 100 bytes.
 */
#include "fuzz.h"

#include <ctype.h>
#include <curl/curl.h>
#include <limits.h>
#include <strings.h>

#include "../../agent/config.h"
#include "../../agent/registry.h"
#include "../../engines/pocketbase/pb_http.h"
#include "../../engines/pocketbase/pocketbase.h"
#include "../../uploader/s3/http.h"

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
    free(v);
    return 0;
}
