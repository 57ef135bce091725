/*
 * config.h: settings as data.
 *
 * Every setting snapkeep reads is declared once in an sk_setting_def table: the core's own table
 * (config.c), and one per engine and destination type (their `settings` member). The loader reads
 * each declared name from the environment, or from the file named by NAME_FILE (Docker secrets),
 * checks it against its declaration, and fails with a message naming the variable and what is
 * accepted. An environment variable with a prefix snapkeep owns (SNAPKEEP_, S3_, R2_, POCKETBASE_)
 * that is declared nowhere is an error naming the closest known name (a typo must not silently fall
 * back to a default), unless SNAPKEEP_IGNORE_VARS lists it. NAME_FILE must be a regular file (or a
 * link to one). An SK_SET_ENUM value is stored in the spelling of its declaration ("JSON" -> "json").
 * An SK_SET_ALIAS entry (a name from other tools, such as AWS_REGION) supplies its target setting
 * when that is not set; both set to different values is an error.
 *
 * A loaded sk_config is immutable and owns its strings.
 */
#ifndef SK_CONFIG_H
#define SK_CONFIG_H

#include <stdio.h>

#include "err.h"

typedef enum sk_setting_kind {
    SK_SET_STRING,  /* any non-empty string */
    SK_SET_NAME,    /* key component: [A-Za-z0-9._-]+, no leading dot */
    SK_SET_PREFIX,  /* key prefix: NAME components separated by '/', may be empty */
    SK_SET_PATH,    /* a filesystem path */
    SK_SET_INT,     /* decimal integer within [min, max] */
    SK_SET_ENUM,    /* one of `choices` ("text|json") */
    SK_SET_BOOL,    /* true/false/1/0/yes/no/on/off */
    SK_SET_LISTEN,  /* host:port, [v6]:port or :port, port 1..65535 */
    SK_SET_URL,     /* an absolute http:// or https:// URL with a host */
    SK_SET_ALIAS,   /* another name for the setting named by `def` (validated as that one) */
} sk_setting_kind;

typedef struct sk_setting_def {
    const char *name;     /* "SNAPKEEP_SQLITE_PATH" */
    sk_setting_kind kind;
    const char *def;      /* default value as text, NULL when none; SK_SET_ALIAS: the target's name */
    long min, max;        /* SK_SET_INT bounds */
    const char *choices;  /* SK_SET_ENUM: '|'-separated; SK_SET_INT: extra accepted words ("auto") */
    int secret;           /* never printed; registered for log redaction */
    const char *help;     /* one line for --help and the README */
} sk_setting_def;

typedef struct sk_config sk_config;

/* A lookup function for variables (getenv in production, a table in tests). */
typedef const char *(*sk_getenv_fn)(void *ud, const char *name);

/* The core's own settings (engine choice, naming, compression, logs, destination choice). */
extern const sk_setting_def sk_core_settings[];

/* Load every setting of `tables` (NULL-terminated list of NULL-name-terminated tables) from `env`.
 * `environ_names` (NULL-terminated, may be NULL) lists all variable names present, for the
 * unknown-SNAPKEEP_* check. Returns NULL and fills err (SK_ERR_CONFIG) on the first bad value. */
sk_config *sk_config_load(const sk_setting_def *const *tables, sk_getenv_fn env, void *ud,
                          char *const *environ_names, sk_err *err);
void sk_config_free(sk_config *cfg);

/* The value of a declared setting, its default when unset, NULL when neither. */
const char *sk_config_str(const sk_config *cfg, const char *name);
/* Integer value (after validation); `dflt` when unset. A word from `choices` returns `dflt`. */
long sk_config_int(const sk_config *cfg, const char *name, long dflt);
int sk_config_bool(const sk_config *cfg, const char *name);
/* Where the value came from: "env", "file", "default" or "unset". */
const char *sk_config_origin(const sk_config *cfg, const char *name);

/* Fail with SK_ERR_CONFIG naming `name` when it has no value. */
sk_rc sk_config_require(const sk_config *cfg, const char *name, const char *why, sk_err *err);

/* A copy of cfg in which the declared setting `name` has `value` (validated; NULL unsets it).
 * Used to derive jobs from one configuration (several databases of one server). */
sk_config *sk_config_override(const sk_config *cfg, const char *name, const char *value, sk_err *err);

/* Call fn for every secret value present (for log redaction). */
void sk_config_each_secret(const sk_config *cfg, void (*fn)(void *ud, const char *value), void *ud);

/* Print "NAME=value (origin)" for every setting with a value; secrets print as "***". */
void sk_config_print(const sk_config *cfg, FILE *out);

/* Levenshtein distance of two names (SIZE_MAX for names of 127+ bytes), for "did you mean". */
size_t sk_edit_distance(const char *a, const char *b);

/* Validate one value against its declaration (exposed for tests). */
sk_rc sk_setting_check(const sk_setting_def *d, const char *value, sk_err *err);

#endif
