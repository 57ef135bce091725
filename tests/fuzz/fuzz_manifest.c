/*
 * fuzz_manifest: the manifest JSON reader (sk_manifest_parse), which reads what a bucket holds.
 * Property: a manifest that parses re-serialises (sk_manifest_to_json) to a text that parses to
 * the same values.
 */
#include "fuzz.h"

#include "../../agent/manifest.h"

static void same(const sk_manifest *a, const sk_manifest *b)
{
#define S(f) FUZZ_CHECK(strcmp(a->f, b->f) == 0, #f ": '%s' became '%s'", a->f, b->f)
#define I(f) FUZZ_CHECK(a->f == b->f, #f ": %lld became %lld", (long long)a->f, (long long)b->f)
    I(version);
    S(tool_version);
    S(engine);
    S(tag);
    S(database);
    S(service);
    S(environment);
    S(key);
    S(server_version);
    S(facts_json);
    I(started_at);
    I(finished_at);
    I(plain_size);
    S(plain_sha256);
    I(stored_size);
    S(stored_md5);
    S(compression);
    I(compression_level);
    I(rows);
    I(suspect);
    S(suspect_reasons);
    I(encrypted);
    I(age_passphrase);
    S(age_recipients);
#undef S
#undef I
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_manifest m, m2;
    sk_err err = { 0 };
    if (sk_manifest_parse((const char *)data, size, "manifest", &m, &err) != SK_OK) {
        FUZZ_CHECK(err.rc == SK_ERR_INTEGRITY && err.msg[0], "rc %d without a message", err.rc);
        return 0;
    }
    char *rows = sk_manifest_table_rows((const char *)data, size); /* written back as read */
    m.table_rows_json = rows;
    char *text = sk_manifest_to_json(&m, &err);
    FUZZ_CHECK(text != NULL, "an accepted manifest does not serialise: %s", err.msg);
    if (!m.facts_json[0]) /* no "source": read as "", written as {} */
        snprintf(m.facts_json, sizeof m.facts_json, "{}");
    sk_err e2 = { 0 };
    FUZZ_CHECK(sk_manifest_parse(text, strlen(text), "again", &m2, &e2) == SK_OK,
               "the re-serialised manifest does not parse: %s\n%s", e2.msg, text);
    same(&m, &m2);
    char *rows2 = sk_manifest_table_rows(text, strlen(text));
    FUZZ_CHECK((!rows && !rows2) || (rows && rows2 && !strcmp(rows, rows2)), "table_rows '%s' became '%s'",
               rows ? rows : "(none)", rows2 ? rows2 : "(none)");
    free(rows);
    free(rows2);
    free(text);
    return 0;
}
