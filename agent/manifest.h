/*
 * manifest.h: the per-backup manifest (JSON) and the md5sum-format sidecar.
 *
 * The manifest is written last: a backup without it is not a backup. It records what a restore
 * checks: the stored object's size and MD5, the plaintext's size and SHA-256. An encrypted backup's
 * manifest also says so ("encryption": format, the recipients' public keys, whether a passphrase
 * was used) — never a secret key or a passphrase.
 */
#ifndef SK_MANIFEST_H
#define SK_MANIFEST_H

#include <stdint.h>

#include "err.h"

#define SK_MANIFEST_VERSION 1
#define SK_MANIFEST_RECIPIENTS_MAX 32 /* age recipients a manifest records */

typedef struct sk_manifest {
    int version;
    char tool_version[32];
    char engine[32];
    char tag[32];
    char database[128];
    char service[128];
    char environment[128];
    char key[1024];
    char server_version[64];
    char facts_json[1024];     /* engine facts, a JSON object */
    int64_t started_at, finished_at;   /* UTC seconds */
    uint64_t plain_size;
    char plain_sha256[65];
    uint64_t stored_size;
    char stored_md5[65];
    char compression[16];      /* "zstd" */
    int compression_level;
    /* guards (guard.h); all optional in the JSON, so older manifests parse */
    const char *table_rows_json; /* writing only (borrowed): {"table": rows}, NULL when not counted */
    int64_t rows;              /* total rows counted; -1 when not counted */
    const char *collections_json; /* writing only (borrowed): PocketBase {"collection": records}, NULL when
                                  not counted (restore drills compare them, drill.h) */
    int suspect;               /* the guards flagged this backup */
    char suspect_reasons[1024];
    /* encryption (absent from manifests of unencrypted backups) */
    int encrypted;             /* the stored object is an age v1 file */
    int age_passphrase;        /* encrypted with a passphrase (scrypt) */
    char age_recipients[SK_MANIFEST_RECIPIENTS_MAX * 63]; /* age1... public keys, space-separated */
} sk_manifest;

/* Serialise to a malloc'd JSON text (caller frees). NULL on failure. */
char *sk_manifest_to_json(const sk_manifest *m, sk_err *err);
/* Parse; SK_ERR_INTEGRITY naming `what` when it is not a valid manifest. */
sk_rc sk_manifest_parse(const char *json, size_t len, const char *what, sk_manifest *m, sk_err *err);

/* The "table_rows" object of a manifest's JSON as compact JSON text (malloc'd), or NULL when it
 * has none. */
char *sk_manifest_table_rows(const char *json, size_t len);
/* Any object field of a manifest's JSON ("table_rows", "collections") as compact JSON text
 * (malloc'd), or NULL when it has none. */
char *sk_manifest_object(const char *json, size_t len, const char *field);

/* "<md5>  <base name>\n" as md5sum writes it. */
int sk_md5_line(const char *md5hex, const char *base, char *out, size_t outsz);
/* Parse an md5sum line; checks the named file is `base`. SK_ERR_INTEGRITY when malformed. */
sk_rc sk_md5_parse(const char *text, size_t len, const char *base, char md5hex[65], sk_err *err);

#endif
