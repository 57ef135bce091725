/*
 * fuzz.h: shared by the libFuzzer harnesses of tests/fuzz/ (see README.md there).
 *
 * A harness calls one parser directly with the input and checks properties of what comes out.
 * A broken property is a finding like a crash: FUZZ_CHECK prints it and aborts, so libFuzzer
 * saves the input.
 */
#ifndef SK_FUZZ_H
#define SK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond, ...)                                                                    \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "fuzz property failed at %s:%d: %s\n  ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                                         \
            fputc('\n', stderr);                                                                  \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

/* The input as a NUL-terminated string (malloc'd; the caller frees). Embedded NULs stay: C-string
 * parsers then see a prefix, as they would from getenv or a file read with fgets. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Take a little-endian integer of `n` bytes off the front of the input (0 when it ran out). */
static inline uint64_t fuzz_take(const uint8_t **data, size_t *size, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && *size > 0; i++, (*data)++, (*size)--)
        v |= (uint64_t)**data << (8 * i);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
