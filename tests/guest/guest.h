/* Shared helpers for the guest test corpus (the C files in tests/guest/).
 * Every program must print the same bytes on every run and every correct
 * emulator: no addresses, pids, times or scheduling-dependent output. */
#ifndef GUEST_H
#define GUEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deterministic pseudo-random numbers (xorshift64*). */
static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static inline void rng_seed(uint64_t s) { g_rng = s ? s : 1; }
static inline uint64_t rng_next(void)
{
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 0x2545F4914F6CDD1Dull;
}

/* FNV-1a, 64-bit. */
static inline uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001B3ull;
    }
    return h;
}
#define FNV_INIT 0xCBF29CE484222325ull

/* Checks: print "FAIL: ..." on stdout (so a mismatch shows where), count. */
static int g_failures;
#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);             \
            g_failures++;                                                      \
        }                                                                      \
    } while (0)

/* Exit status for main: 0 when all checks passed, else 1. */
static inline int finish(const char *name)
{
    printf("%s: %s (%d failures)\n", name, g_failures ? "FAILED" : "ok", g_failures);
    return g_failures ? 1 : 0;
}

static inline const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

#endif
