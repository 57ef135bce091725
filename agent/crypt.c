#include "crypt.h"

#include <stdio.h>
#include <string.h>

#include "manifest.h"

const sk_setting_def sk_age_settings[] = {
    { "SNAPKEEP_AGE_RECIPIENTS", SK_SET_STRING, NULL, 0, 0, NULL, 0,
      "encrypt every backup (age v1) to these age1... public keys (space or comma separated; with "
      "_FILE: a recipients file, one per line, # comments); the secret key is not needed to back up" },
    { "SNAPKEEP_AGE_PASSPHRASE", SK_SET_STRING, NULL, 0, 0, NULL, 1,
      "encrypt every backup with this passphrase (age scrypt) instead of recipients; also decrypts" },
    { "SNAPKEEP_AGE_SCRYPT_WORK_FACTOR", SK_SET_INT, "18", 10, SK_AGE_SCRYPT_MAX_LOG_N, NULL, 0,
      "log2 of scrypt's cost when encrypting with a passphrase (18 as age; needs 1 KiB * 2^N of memory)" },
    { "SNAPKEEP_AGE_IDENTITY", SK_SET_STRING, NULL, 0, 0, NULL, 1,
      "secret keys (AGE-SECRET-KEY-1... lines as age-keygen writes them) to restore/verify encrypted "
      "backups; give the key file as SNAPKEEP_AGE_IDENTITY_FILE" },
    { NULL, 0, NULL, 0, 0, NULL, 0, NULL },
};

static const char *src_name(const sk_config *cfg, const char *name, char *buf, size_t sz)
{
    if (!strcmp(sk_config_origin(cfg, name), "file"))
        snprintf(buf, sz, "%s_FILE", name);
    else
        snprintf(buf, sz, "%s", name);
    return buf;
}

sk_rc sk_crypt_recipients(const sk_config *cfg, sk_age_keys **out, sk_err *err)
{
    const char *rcpts = sk_config_str(cfg, "SNAPKEEP_AGE_RECIPIENTS");
    const char *pass = sk_config_str(cfg, "SNAPKEEP_AGE_PASSPHRASE");
    char what[64];
    *out = NULL;
    if (!rcpts && !pass)
        return SK_OK;
    if (rcpts && pass)
        return sk_fail(err, SK_ERR_CONFIG, 0,
                       "SNAPKEEP_AGE_RECIPIENTS and SNAPKEEP_AGE_PASSPHRASE are both set: choose one (the age "
                       "format allows a passphrase only as the sole recipient; public keys are recommended, as "
                       "the sidecar then holds nothing that decrypts the backups)");
    sk_age_keys *k = sk_age_keys_new();
    if (!k)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
    sk_rc rc = rcpts ? sk_age_keys_add_recipients(k, rcpts, src_name(cfg, "SNAPKEEP_AGE_RECIPIENTS", what, sizeof what), err)
                     : sk_age_keys_set_passphrase(k, pass, (int)sk_config_int(cfg, "SNAPKEEP_AGE_SCRYPT_WORK_FACTOR", 18),
                                                  err);
    if (rc == SK_OK && sk_age_keys_count(k) > SK_MANIFEST_RECIPIENTS_MAX)
        rc = sk_fail(err, SK_ERR_CONFIG, 0, "%s lists %zu recipients; at most %d are supported",
                     src_name(cfg, "SNAPKEEP_AGE_RECIPIENTS", what, sizeof what), sk_age_keys_count(k),
                     SK_MANIFEST_RECIPIENTS_MAX);
    if (rc != SK_OK) {
        sk_age_keys_free(k);
        return rc;
    }
    *out = k;
    return SK_OK;
}

sk_rc sk_crypt_identities(const sk_config *cfg, const char *key, sk_age_keys **out, sk_err *err)
{
    const char *ids = sk_config_str(cfg, "SNAPKEEP_AGE_IDENTITY");
    const char *pass = sk_config_str(cfg, "SNAPKEEP_AGE_PASSPHRASE");
    char what[64];
    *out = NULL;
    if (!ids && !pass)
        return sk_fail(err, SK_ERR_CONFIG, 0,
                       "'%s' is encrypted (age): set SNAPKEEP_AGE_IDENTITY_FILE to the secret key file made "
                       "with age-keygen (or SNAPKEEP_AGE_PASSPHRASE when it was encrypted with a passphrase)",
                       key);
    sk_age_keys *k = sk_age_keys_new();
    if (!k)
        return sk_fail(err, SK_ERR_INTERNAL, 0, "out of memory");
    sk_rc rc = SK_OK;
    if (ids)
        rc = sk_age_keys_add_identities(k, ids, src_name(cfg, "SNAPKEEP_AGE_IDENTITY", what, sizeof what), err);
    if (rc == SK_OK && pass)
        rc = sk_age_keys_set_passphrase(k, pass, (int)sk_config_int(cfg, "SNAPKEEP_AGE_SCRYPT_WORK_FACTOR", 18), err);
    if (rc != SK_OK) {
        sk_age_keys_free(k);
        return rc;
    }
    *out = k;
    return SK_OK;
}
