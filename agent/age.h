/*
 * age.h: the age v1 file format (age-encryption.org/v1, c2sp.org/age), as writer-chain stages.
 *
 * What is supported: X25519 recipients/identities (age1… / AGE-SECRET-KEY-1…, Bech32) and the
 * scrypt passphrase recipient; binary files only (no ASCII armor, no plugins, no post-quantum
 * types — stanzas of other types are ignored when decrypting, as the spec requires).
 *
 * Encryption (sk_age_encrypt_writer_new): the header (one stanza per recipient, or one scrypt
 * stanza, and the HMAC) is written before the first payload byte; the payload is STREAM:
 * ChaCha20-Poly1305 over 64 KiB chunks, the last one flagged final. A full chunk is held back
 * until the next byte arrives, so the final flag is always on the real last chunk.
 *
 * Decryption (sk_age_decrypt_writer_new): the header is parsed, unwrapped and its HMAC checked as
 * soon as it has arrived (a wrong identity fails early); each chunk's plaintext is forwarded only
 * after its tag checked; finish() fails unless a valid final chunk ended the input exactly, so a
 * truncated, extended, reordered or modified file never finishes the next stage. Plaintext of
 * earlier chunks may have been forwarded before a failure: the next stages must commit only in
 * finish() (the chain's contract).
 *
 * Rules of the spec enforced when reading: canonical unpadded base64 everywhere; stanza body
 * lines of exactly 64 columns except a shorter last one; X25519 stanzas of exactly 2 arguments, a
 * 32-byte share and a 32-byte body, all-zero shared secrets refused; scrypt stanzas of exactly 3
 * arguments, 16-byte salt, work factor ^[1-9][0-9]*$ and at most SK_AGE_SCRYPT_MAX_LOG_N, and
 * alone in the header; a final chunk may be empty only when it is the first.
 *
 * Memory: an encryptor holds one plaintext chunk (64 KiB) and one ciphertext chunk; a decryptor
 * holds at most SK_AGE_HEADER_MAX bytes of header plus one chunk of each. scrypt needs
 * 1 KiB * 2^work-factor while a key is wrapped or unwrapped (256 MiB at the default 18).
 *
 * Secrets (file keys, payload keys, X25519 secret keys, passphrases) are wiped when freed and are
 * never part of an error message.
 */
#ifndef SK_AGE_H
#define SK_AGE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "stream.h"

#define SK_AGE_CHUNK 65536
#define SK_AGE_HEADER_MAX (256 * 1024)
#define SK_AGE_SCRYPT_MAX_LOG_N 22
#define SK_AGE_SCRYPT_DEFAULT_LOG_N 18
#define SK_AGE_RECIPIENT_LEN 63 /* "age1" + 58 Bech32 characters, with the NUL */

/* Why a decryption failed (the kinds of the age test vectors). */
typedef enum sk_age_fail {
    SK_AGE_OK = 0,
    SK_AGE_FAIL_HEADER,   /* malformed header (or missing payload nonce) */
    SK_AGE_FAIL_NO_MATCH, /* well-formed, but no identity/passphrase unwraps a stanza */
    SK_AGE_FAIL_HMAC,     /* a file key was unwrapped but the header MAC does not match */
    SK_AGE_FAIL_PAYLOAD,  /* a chunk does not decrypt, or the stream ends without a final chunk */
    SK_AGE_FAIL_OTHER,    /* out of memory, library failure, or a downstream stage failed */
} sk_age_fail;

/* A set of keys: recipients (public keys) to encrypt to, or identities (secret keys) to decrypt
 * with, and/or a passphrase. Opaque; wiped by sk_age_keys_free(). */
typedef struct sk_age_keys sk_age_keys;

sk_age_keys *sk_age_keys_new(void);
void sk_age_keys_free(sk_age_keys *k); /* NULL is fine */

/* Add recipients from text: age1… keys separated by white space or commas; '#' starts a comment
 * to the end of the line (the format of `age -R` files). `what` names the source in errors. */
sk_rc sk_age_keys_add_recipients(sk_age_keys *k, const char *text, const char *what, sk_err *err);
/* Add identities from text in age-keygen's format: AGE-SECRET-KEY-1… lines, '#' comments and
 * blank lines. Errors name the line number, never its content. */
sk_rc sk_age_keys_add_identities(sk_age_keys *k, const char *text, const char *what, sk_err *err);
/* Passphrase (scrypt recipient/identity); log_n is the work factor used when encrypting. */
sk_rc sk_age_keys_set_passphrase(sk_age_keys *k, const char *pass, int log_n, sk_err *err);

size_t sk_age_keys_count(const sk_age_keys *k);      /* X25519 keys (recipients or identities) */
int sk_age_keys_has_passphrase(const sk_age_keys *k);
/* The age1… public key of key i (for an identity: its recipient). */
const char *sk_age_keys_recipient(const sk_age_keys *k, size_t i);

/* Key encodings (exposed for tests and tools). */
sk_rc sk_age_recipient_decode(const char *s, unsigned char pk[32], sk_err *err);
void sk_age_recipient_encode(const unsigned char pk[32], char out[SK_AGE_RECIPIENT_LEN]);

/* Encrypt what is written to the age format and forward it to `next`. `k` must hold at least one
 * recipient or a passphrase, not both (the spec allows a scrypt stanza only alone); it must
 * outlive the writer. */
sk_writer *sk_age_encrypt_writer_new(sk_writer *next, const sk_age_keys *k, sk_err *err);

/* Decrypt an age file written to it and forward the plaintext to `next`. `k` holds identities
 * and/or a passphrase and must outlive the writer. `what` names the file in messages. */
sk_writer *sk_age_decrypt_writer_new(sk_writer *next, const sk_age_keys *k, const char *what, sk_err *err);
/* The kind of the decryptor's failure (SK_AGE_OK while healthy). */
sk_age_fail sk_age_decrypt_failure(const sk_writer *w);

/* ---- header parser, exposed for the fuzzer and tests ------------------------------------- */

typedef struct sk_age_stanza {
    char **args;          /* args[0] is the type ("X25519", "scrypt", ...) */
    size_t nargs;
    unsigned char *body;
    size_t body_len;
} sk_age_stanza;

typedef struct sk_age_header {
    sk_age_stanza *v;
    size_t n;
    size_t mac_input_len; /* bytes covered by the MAC: the header through "---" */
    unsigned char mac[32];
    size_t len;           /* bytes of the whole header, MAC line included; 0: incomplete */
} sk_age_header;

/* Parse the header at the start of buf[0, len). SK_OK with h->len > 0: a complete header (free it
 * with sk_age_header_free). SK_OK with h->len == 0: buf is a valid prefix of a header and more
 * bytes are needed (only when !at_eof). SK_ERR_INTEGRITY: not a valid age v1 header (or longer
 * than SK_AGE_HEADER_MAX). Never reads past buf[len). */
sk_rc sk_age_header_parse(const void *buf, size_t len, int at_eof, sk_age_header *h, sk_err *err);
void sk_age_header_free(sk_age_header *h);

#endif
