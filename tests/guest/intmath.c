/* intmath: integer arithmetic torture.  Division and remainder (signed,
 * unsigned, every width, by constants and by variables, the AArch64 edge
 * cases x/0 and INT_MIN/-1 through inline asm), shifts by every amount,
 * overflow builtins, 128-bit multiply/divide, popcount/clz/ctz/bswap/parity
 * builtins, bit fields, conditional selects, extensions and rotations.
 * Prints per-section checksums and a few spot values. */
#include "guest.h"
#include <limits.h>
#include <inttypes.h>

static uint64_t h;
static void mix(uint64_t v) { h = fnv1a(&v, sizeof v, h); }

/* Keep the compiler from folding: values come through a volatile. */
static volatile uint64_t sink_seed = 12345;
static uint64_t opaque(uint64_t v) { return v ^ (sink_seed - 12345); }

static const uint64_t special[] = {
    0, 1, 2, 3, 7, 8, 10, 31, 32, 33, 63, 64, 65, 127, 128, 255, 256,
    0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
    0xffffffff, 0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull,
    0xffffffffffffffffull, 0xfffffffffffffffeull, 0x123456789abcdef0ull,
    0xdeadbeefcafebabeull, 0x5555555555555555ull, 0xaaaaaaaaaaaaaaaaull,
    (uint64_t)-3, (uint64_t)-10, (uint64_t)-128, (uint64_t)-129,
};
#define NSPECIAL (sizeof special / sizeof special[0])

static uint64_t operand(int i)
{
    return i < (int)NSPECIAL ? opaque(special[i]) : rng_next() >> (rng_next() & 63);
}

static void section(const char *name)
{
    printf("%-10s %016" PRIx64 "\n", name, h);
    h = FNV_INIT;
}

#ifdef __aarch64__
static int64_t hw_sdiv(int64_t a, int64_t b) { int64_t r; __asm__("sdiv %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); return r; }
static uint64_t hw_udiv(uint64_t a, uint64_t b) { uint64_t r; __asm__("udiv %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); return r; }
static int32_t hw_sdiv32(int32_t a, int32_t b) { int32_t r; __asm__("sdiv %w0, %w1, %w2" : "=r"(r) : "r"(a), "r"(b)); return r; }
static uint32_t hw_udiv32(uint32_t a, uint32_t b) { uint32_t r; __asm__("udiv %w0, %w1, %w2" : "=r"(r) : "r"(a), "r"(b)); return r; }
#endif

struct bits {
    unsigned a : 3;
    signed b : 5;
    unsigned c : 13;
    signed d : 7;
    unsigned long long e : 33;
    signed long long f : 29;
    unsigned g : 1;
};

int main(void)
{
    const int N = 4000;
    h = FNV_INIT;

    /* Division and remainder, with divisor != 0 and no INT_MIN/-1 (UB in C). */
    for (int i = 0; i < N; i++) {
        uint64_t a = operand(i % 200), b = operand((i * 7 + 3) % 211);
        if (b) {
            mix(a / b); mix(a % b);
            mix((uint32_t)a / (uint32_t)b ? (uint32_t)a / ((uint32_t)b ? (uint32_t)b : 1) : 0);
        }
        int64_t sa = (int64_t)a, sb = (int64_t)b;
        if (sb && !(sa == INT64_MIN && sb == -1)) { mix((uint64_t)(sa / sb)); mix((uint64_t)(sa % sb)); }
        int32_t wa = (int32_t)a, wb = (int32_t)b;
        if (wb && !(wa == INT32_MIN && wb == -1)) { mix((uint64_t)(wa / wb)); mix((uint64_t)(wa % wb)); }
        int16_t ha = (int16_t)a, hb = (int16_t)b;
        if (hb) { mix((uint64_t)(ha / hb)); mix((uint64_t)(ha % hb)); }
        /* division by constants (multiply-high sequences) */
        mix(a / 3); mix(a / 7); mix(a / 10); mix(a / 1000000007); mix(a % 10);
        mix((uint64_t)(sa / 3)); mix((uint64_t)(sa / -7)); mix((uint64_t)(sa % 10));
        mix((uint64_t)(wa / 5)); mix((uint64_t)(wa % 5)); mix((uint64_t)(sa / 16)); mix((uint64_t)(sa % 16));
    }
    section("div");
    printf("  -7/2=%d -7%%2=%d 7/-2=%d 7%%-2=%d\n", (int)opaque(-7) / 2, (int)opaque(-7) % 2,
           (int)opaque(7) / -2, (int)opaque(7) % -2);
#ifdef __aarch64__
    printf("  hw: 5/0=%" PRId64 " u5/0=%" PRIu64 " MIN/-1=%" PRId64 " w:MIN/-1=%d u:7/0=%u\n",
           hw_sdiv(5, (int64_t)opaque(0)), hw_udiv(5, opaque(0)),
           hw_sdiv(INT64_MIN, (int64_t)opaque(-1)), hw_sdiv32(INT32_MIN, (int32_t)opaque(-1)),
           hw_udiv32(7, (uint32_t)opaque(0)));
#else
    printf("  hw: 5/0=0 u5/0=0 MIN/-1=-9223372036854775808 w:MIN/-1=-2147483648 u:7/0=0\n");
#endif

    /* Shifts by every amount, each width, signed and unsigned, rotations. */
    for (int i = 0; i < (int)NSPECIAL + 40; i++) {
        uint64_t a = operand(i);
        for (unsigned s = 0; s < 64; s++) {
            unsigned v = (unsigned)opaque(s);
            mix(a << v); mix(a >> v); mix((uint64_t)((int64_t)a >> v));
            mix((a << v) | (a >> ((64 - v) & 63)));
            if (v < 32) {
                mix((uint32_t)a << v); mix((uint32_t)a >> v); mix((uint64_t)(int64_t)((int32_t)a >> v));
                mix((uint32_t)(((uint32_t)a >> v) | ((uint32_t)a << ((32 - v) & 31))));
            }
            /* shift amount taken mod width the AArch64 way (LSLV etc.) */
            mix(a << (v & 63)); mix(a >> ((v + 17) & 63));
        }
    }
    section("shift");

    /* Add/sub/mul with overflow detection, carries, multiply-high. */
    for (int i = 0; i < N; i++) {
        uint64_t a = operand(i % 300), b = operand((i * 13 + 5) % 307);
        uint64_t r; int64_t sr; uint32_t r32; int32_t sr32;
        mix(__builtin_add_overflow(a, b, &r)); mix(r);
        mix(__builtin_sub_overflow(a, b, &r)); mix(r);
        mix(__builtin_mul_overflow(a, b, &r)); mix(r);
        mix(__builtin_add_overflow((int64_t)a, (int64_t)b, &sr)); mix((uint64_t)sr);
        mix(__builtin_sub_overflow((int64_t)a, (int64_t)b, &sr)); mix((uint64_t)sr);
        mix(__builtin_mul_overflow((int64_t)a, (int64_t)b, &sr)); mix((uint64_t)sr);
        mix(__builtin_add_overflow((uint32_t)a, (uint32_t)b, &r32)); mix(r32);
        mix(__builtin_mul_overflow((int32_t)a, (int32_t)b, &sr32)); mix((uint64_t)sr32);
        mix(a * b); mix((uint32_t)a * (uint32_t)b); mix((uint64_t)((int64_t)(int32_t)a * (int32_t)b));
#ifdef __SIZEOF_INT128__
        mix((uint64_t)(((unsigned __int128)a * b) >> 64));
        mix((uint64_t)(((__int128)(int64_t)a * (int64_t)b) >> 64));
#endif
        mix(a + b + (a < b)); mix(a - b - (a > b)); mix(-a); mix(~a & b); mix(a | ~b); mix(a ^ ~b);
        mix(a * 3 + b); mix(a - b * 5); mix(a * b + a); mix(a - a * b);
    }
    section("arith");

    /* 128-bit arithmetic (where the compiler has __int128: not on 32-bit targets). */
#ifdef __SIZEOF_INT128__
    unsigned __int128 acc = 1;
    __int128 sacc = -1;
    for (int i = 0; i < N; i++) {
        uint64_t a = operand(i % 250), b = operand((i * 3 + 1) % 257);
        unsigned __int128 x = ((unsigned __int128)a << 64) | b;
        unsigned __int128 y = ((unsigned __int128)b << 32) ^ a;
        acc = acc * 6364136223846793005ull + x;
        sacc = sacc * -3 + (__int128)y;
        mix((uint64_t)acc); mix((uint64_t)(acc >> 64));
        if (y) { mix((uint64_t)(x / y)); mix((uint64_t)(x % y)); mix((uint64_t)((x / y) >> 64)); }
        if ((__int128)y != 0 && !((__int128)x == ((__int128)1 << 127) && (__int128)y == -1)) {
            __int128 q = (__int128)x / (__int128)y, m = (__int128)x % (__int128)y;
            mix((uint64_t)q); mix((uint64_t)m);
        }
        mix((uint64_t)(x >> (i & 127))); mix((uint64_t)(x << (i & 127) >> 64));
        mix((uint64_t)((__int128)x >> (i & 127))); mix(x < y); mix((__int128)x < (__int128)y);
    }
    section("int128");
    printf("  acc=%016" PRIx64 "%016" PRIx64 "\n", (uint64_t)(acc >> 64), (uint64_t)acc);
    unsigned __int128 fact = 1;
    for (int i = 1; i <= 33; i++) fact *= (unsigned)opaque(i);
    printf("  33! mod 2^128 = %016" PRIx64 "%016" PRIx64 "\n", (uint64_t)(fact >> 64), (uint64_t)fact);
#else
    printf("  no __int128\n");
#endif

    /* Bit builtins. */
    for (int i = 0; i < N; i++) {
        uint64_t a = operand(i % 400);
        uint32_t w = (uint32_t)a;
        mix(__builtin_popcountll(a)); mix(__builtin_popcount(w)); mix(__builtin_parityll(a));
        if (a) { mix(__builtin_clzll(a)); mix(__builtin_ctzll(a)); mix(__builtin_ffsll(a)); }
        if (w) { mix(__builtin_clz(w)); mix(__builtin_ctz(w)); }
        mix(__builtin_clrsbll((int64_t)a)); mix(__builtin_clrsb((int32_t)w));
        mix(__builtin_bswap64(a)); mix(__builtin_bswap32(w)); mix(__builtin_bswap16((uint16_t)a));
        /* bit reverse by hand (compilers may use RBIT) */
        uint64_t r = 0;
        for (int k = 0; k < 64; k++) r |= ((a >> k) & 1) << (63 - k);
        mix(r);
        /* extract/insert patterns (UBFX/SBFX/BFI) */
        mix((a >> 13) & 0x7ff); mix((uint64_t)(((int64_t)(a << 20)) >> 41));
        mix((a & ~0xff00ull) | ((a & 0xff) << 8));
        /* sign/zero extensions */
        mix((uint64_t)(int64_t)(int8_t)a); mix((uint64_t)(int64_t)(int16_t)a); mix((uint64_t)(int64_t)(int32_t)a);
        mix((uint8_t)a); mix((uint16_t)a);
        /* conditional select */
        int64_t sa = (int64_t)a;
        mix(sa < 0 ? -sa : sa); mix(a > 1000 ? a : 1000); mix(sa > 0 ? 1 : sa < 0 ? -1 : 0);
        mix(a & 1 ? a + 1 : a - 1);
    }
    section("bits");
    printf("  popcount(0xdeadbeefcafebabe)=%d clz(1)=%d ctz(1<<40)=%d\n",
           __builtin_popcountll(opaque(0xdeadbeefcafebabeull)), __builtin_clzll(opaque(1)),
           __builtin_ctzll(opaque(1ull << 40)));

    /* Bit fields. */
    struct bits bf;
    memset(&bf, 0, sizeof bf);
    for (int i = 0; i < N; i++) {
        uint64_t a = operand(i % 300);
        bf.a = a; bf.b = a >> 3; bf.c = a >> 8; bf.d = a >> 21; bf.e = a >> 28; bf.f = a >> 7; bf.g = a >> 63;
        mix(bf.a); mix((uint64_t)bf.b); mix(bf.c); mix((uint64_t)bf.d); mix(bf.e); mix((uint64_t)bf.f); mix(bf.g);
        bf.b += bf.d; bf.c -= bf.a; bf.e *= 3; bf.f -= 12345;
        mix((uint64_t)bf.b); mix(bf.c); mix(bf.e); mix((uint64_t)bf.f);
    }
    section("bitfield");
    printf("  sizeof(struct bits)=%zu\n", sizeof(struct bits));

    /* Mixed: a small checksum over a Collatz run (long dependent chains). */
    uint64_t steps = 0, maxv = 0;
    for (uint64_t n = 1; n < 20000; n++) {
        uint64_t x = opaque(n);
        while (x != 1) {
            x = (x & 1) ? 3 * x + 1 : x >> 1;
            if (x > maxv) maxv = x;
            steps++;
        }
    }
    printf("collatz    steps=%" PRIu64 " max=%" PRIu64 "\n", steps, maxv);
    return finish("intmath");
}
