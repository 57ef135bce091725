#include "manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "naming.h"

static int iso_to_ts(const char *s, int64_t *ts)
{
    struct tm tm = { 0 };
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                     &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *ts = (int64_t)timegm(&tm);
    return 0;
}

char *sk_manifest_to_json(const sk_manifest *m, sk_err *err)
{
    char started[32], finished[32];
    sk_iso8601(m->started_at, started, sizeof started);
    sk_iso8601(m->finished_at, finished, sizeof finished);
    json_error_t jerr;
    json_t *facts = json_loads(m->facts_json[0] ? m->facts_json : "{}", 0, &jerr);
    if (!facts) {
        sk_fail(err, SK_ERR_INTERNAL, 0, "manifest: engine facts are not JSON: %s", jerr.text);
        return NULL;
    }
    json_t *root = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, "
                             "s:{s:I, s:s}, s:{s:I, s:s, s:s, s:i}}",
                             "manifest_version", m->version, "tool", "snapkeep", "tool_version", m->tool_version,
                             "engine", m->engine, "tag", m->tag, "database", m->database, "service", m->service,
                             "environment", m->environment, "key", m->key, "source",
                             json_pack("{s:s, s:o}", "server_version", m->server_version, "facts", facts),
                             "started_at", started, "finished_at", finished, "plain", "size",
                             (json_int_t)m->plain_size, "sha256", m->plain_sha256, "stored", "size",
                             (json_int_t)m->stored_size, "md5", m->stored_md5, "compression", m->compression,
                             "compression_level", m->compression_level);
    if (!root) {
        sk_fail(err, SK_ERR_INTERNAL, 0, "manifest: cannot build JSON");
        return NULL;
    }
    json_t *rows = m->table_rows_json ? json_loads(m->table_rows_json, 0, &jerr) : NULL;
    if (rows && json_is_object(rows)) {
        json_object_set_new(root, "rows", json_integer((json_int_t)m->rows));
        json_object_set_new(root, "table_rows", rows);
    } else {
        json_decref(rows);
    }
    json_t *colls = m->collections_json ? json_loads(m->collections_json, 0, &jerr) : NULL;
    if (colls && json_is_object(colls))
        json_object_set_new(root, "collections", colls);
    else
        json_decref(colls);
    json_object_set_new(root, "suspect", json_boolean(m->suspect));
    if (m->suspect)
        json_object_set_new(root, "suspect_reasons", json_string(m->suspect_reasons));
    if (m->encrypted) {
        json_t *rcpts = json_array();
        for (const char *p = m->age_recipients; rcpts && *p;) {
            size_t n = strcspn(p, " ");
            if (n)
                json_array_append_new(rcpts, json_stringn(p, n));
            p += n + (p[n] == ' ');
        }
        if (!rcpts || json_object_set_new(root, "encryption",
                                          json_pack("{s:s, s:o, s:b}", "format", "age-encryption.org/v1",
                                                    "recipients", rcpts, "passphrase", m->age_passphrase))) {
            json_decref(root);
            sk_fail(err, SK_ERR_INTERNAL, 0, "manifest: cannot build JSON");
            return NULL;
        }
    }
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text)
        sk_fail(err, SK_ERR_INTERNAL, 0, "manifest: cannot serialise JSON");
    return text;
}

static int copy_str(json_t *obj, const char *name, char *out, size_t outsz, int required)
{
    json_t *v = json_object_get(obj, name);
    if (!v)
        return required ? -1 : 0;
    if (!json_is_string(v) || strlen(json_string_value(v)) >= outsz)
        return -1;
    memcpy(out, json_string_value(v), strlen(json_string_value(v)) + 1);
    return 0;
}

static int is_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

sk_rc sk_manifest_parse(const char *json, size_t len, const char *what, sk_manifest *m, sk_err *err)
{
    json_error_t jerr;
    memset(m, 0, sizeof *m);
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root || !json_is_object(root)) {
        if (root)
            json_decref(root);
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "%s is not a JSON object (%s at line %d)", what,
                       root ? "not an object" : jerr.text, jerr.line);
    }
    const char *bad = NULL;
    json_t *plain = json_object_get(root, "plain"), *stored = json_object_get(root, "stored");
    json_t *source = json_object_get(root, "source");
    json_t *ver = json_object_get(root, "manifest_version");
    char started[32] = "", finished[32] = "";
    if (!json_is_integer(ver) || json_integer_value(ver) < 1)
        bad = "manifest_version";
    else if (json_integer_value(ver) > SK_MANIFEST_VERSION)
        bad = "manifest_version (written by a newer snapkeep: upgrade to read it)";
    else if (copy_str(root, "engine", m->engine, sizeof m->engine, 1))
        bad = "engine";
    else if (copy_str(root, "tag", m->tag, sizeof m->tag, 1))
        bad = "tag";
    else if (copy_str(root, "database", m->database, sizeof m->database, 1))
        bad = "database";
    else if (copy_str(root, "key", m->key, sizeof m->key, 1))
        bad = "key";
    else if (copy_str(root, "tool_version", m->tool_version, sizeof m->tool_version, 0) ||
             copy_str(root, "service", m->service, sizeof m->service, 0) ||
             copy_str(root, "environment", m->environment, sizeof m->environment, 0))
        bad = "tool_version/service/environment";
    else if (copy_str(root, "started_at", started, sizeof started, 1) || iso_to_ts(started, &m->started_at))
        bad = "started_at";
    else if (copy_str(root, "finished_at", finished, sizeof finished, 1) || iso_to_ts(finished, &m->finished_at))
        bad = "finished_at";
    else if (!json_is_object(plain) || !json_is_integer(json_object_get(plain, "size")) ||
             copy_str(plain, "sha256", m->plain_sha256, sizeof m->plain_sha256, 1) || !is_hex(m->plain_sha256, 64))
        bad = "plain";
    else if (!json_is_object(stored) || !json_is_integer(json_object_get(stored, "size")) ||
             copy_str(stored, "md5", m->stored_md5, sizeof m->stored_md5, 1) || !is_hex(m->stored_md5, 32) ||
             copy_str(stored, "compression", m->compression, sizeof m->compression, 1))
        bad = "stored";
    if (!bad) {
        m->version = (int)json_integer_value(ver);
        m->plain_size = (uint64_t)json_integer_value(json_object_get(plain, "size"));
        m->stored_size = (uint64_t)json_integer_value(json_object_get(stored, "size"));
        m->compression_level = (int)json_integer_value(json_object_get(stored, "compression_level"));
        if (strcmp(m->compression, "zstd") != 0)
            bad = "stored.compression (only zstd is known)";
    }
    if (!bad) {
        json_t *rows = json_object_get(root, "rows");
        m->rows = json_is_integer(rows) ? (int64_t)json_integer_value(rows) : -1;
        m->suspect = json_is_true(json_object_get(root, "suspect"));
        copy_str(root, "suspect_reasons", m->suspect_reasons, sizeof m->suspect_reasons, 0);
    }
    json_t *enc = json_object_get(root, "encryption");
    if (!bad && enc) {
        json_t *rcpts = json_object_get(enc, "recipients");
        const char *fmt = json_string_value(json_object_get(enc, "format"));
        size_t i, used = 0;
        json_t *r;
        if (!fmt || strcmp(fmt, "age-encryption.org/v1") != 0 || !json_is_array(rcpts))
            bad = "encryption (only age-encryption.org/v1 is known)";
        json_array_foreach(rcpts, i, r) {
            const char *v = json_string_value(r);
            if (bad)
                break;
            if (!v || strchr(v, ' ') || used + strlen(v) + 2 > sizeof m->age_recipients)
                bad = "encryption.recipients";
            else
                used += (size_t)snprintf(m->age_recipients + used, sizeof m->age_recipients - used, "%s%s",
                                         used ? " " : "", v);
        }
        m->encrypted = 1;
        m->age_passphrase = json_is_true(json_object_get(enc, "passphrase"));
    }
    if (!bad && json_is_object(source)) {
        copy_str(source, "server_version", m->server_version, sizeof m->server_version, 0);
        json_t *facts = json_object_get(source, "facts");
        char *f = facts ? json_dumps(facts, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (f && strlen(f) >= sizeof m->facts_json)
            bad = "source.facts (longer than snapkeep writes)"; /* cut, it would not be JSON */
        else
            snprintf(m->facts_json, sizeof m->facts_json, "%s", f ? f : "{}");
        free(f);
    }
    json_decref(root);
    if (bad)
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "%s: missing or invalid field '%s'", what, bad);
    return SK_OK;
}

char *sk_manifest_table_rows(const char *json, size_t len) { return sk_manifest_object(json, len, "table_rows"); }

char *sk_manifest_object(const char *json, size_t len, const char *field)
{
    json_t *root = json_loadb(json, len, 0, NULL);
    json_t *t = root ? json_object_get(root, field) : NULL;
    char *text = json_is_object(t) ? json_dumps(t, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    return text;
}

int sk_md5_line(const char *md5hex, const char *base, char *out, size_t outsz)
{
    int n = snprintf(out, outsz, "%s  %s\n", md5hex, base);
    return n < 0 || (size_t)n >= outsz ? -1 : n;
}

sk_rc sk_md5_parse(const char *text, size_t len, const char *base, char md5hex[65], sk_err *err)
{
    char line[1200];
    if (len >= sizeof line)
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "the .md5 sidecar of '%s' is too long to be an md5sum line", base);
    memcpy(line, text, len);
    line[len] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    /* md5sum: 32 hex digits, a space, ' ' (text) or '*' (binary), the file name */
    if (strlen(line) < 35 || line[32] != ' ' || (line[33] != ' ' && line[33] != '*'))
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "the .md5 sidecar of '%s' is not in md5sum format", base);
    for (int i = 0; i < 32; i++) {
        char c = line[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return sk_fail(err, SK_ERR_INTEGRITY, 0, "the .md5 sidecar of '%s' has a malformed digest", base);
        md5hex[i] = c;
    }
    md5hex[32] = '\0';
    if (strcmp(line + 34, base) != 0)
        return sk_fail(err, SK_ERR_INTEGRITY, 0, "the .md5 sidecar of '%s' names another file ('%s')", base,
                       line + 34);
    return SK_OK;
}
