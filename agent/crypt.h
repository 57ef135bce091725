/*
 * crypt.h: a job's encryption settings (age v1), read from the configuration.
 *
 * Encrypting needs only public keys: SNAPKEEP_AGE_RECIPIENTS (or a recipients file through
 * SNAPKEEP_AGE_RECIPIENTS_FILE), or a passphrase (SNAPKEEP_AGE_PASSPHRASE, alone: the format
 * allows a passphrase only as the sole recipient). Restoring and verifying an encrypted backup
 * need the secret key (SNAPKEEP_AGE_IDENTITY_FILE, an age-keygen key file) or the passphrase.
 * Passphrase and identity are registered secrets: never printed, redacted from logs.
 */
#ifndef SK_CRYPT_H
#define SK_CRYPT_H

#include "age.h"
#include "config.h"

extern const sk_setting_def sk_age_settings[];

/* The recipients every backup is encrypted to; *out = NULL when encryption is not configured.
 * SK_ERR_CONFIG naming the setting on a bad key or a passphrase together with recipients. */
sk_rc sk_crypt_recipients(const sk_config *cfg, sk_age_keys **out, sk_err *err);

/* The identities (and passphrase) to decrypt the encrypted backup `key` with. SK_ERR_CONFIG,
 * naming the settings to set, when none is configured. */
sk_rc sk_crypt_identities(const sk_config *cfg, const char *key, sk_age_keys **out, sk_err *err);

#endif
