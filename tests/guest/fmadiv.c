/* fmadiv: single-precision fused multiply-add rounded once (fmaf in every
 * rounding mode, on operands whose exact result lies just past a halfway point
 * of single precision, where rounding through double would round twice), and
 * on PowerPC64 the extended divides divde/divdeu/divwe/divweu with their
 * overflow (OV, SO) and record (CR0) forms, including the cases the ISA leaves
 * undefined (the reference decides those); and on PowerPC64 the upper word
 * of the 64-bit FPSCR, whose only field is DRN: mtfsfi and mtfsf with W=1,
 * mtfsf with L=1, read back by mffs.  Left out: DRN across a signal handler
 * (Linux restores the whole 64-bit FPSCR from the frame, qemu only its low
 * word). */
/* cflags-powerpc64: -mcpu=power8 */
#include "guest.h"
#include <fenv.h>
#include <math.h>

static float bits_f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static uint32_t f_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* volatile: computed at run time, in the current rounding mode. */
static volatile float va, vb, vc;

static float fma_rt(float a, float b, float c)
{
    va = a;
    vb = b;
    vc = c;
    return fmaf(va, vb, vc);
}

static void fma_tests(void)
{
    /* (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24: exactly halfway between two singles,
     * so a tiny addend decides the rounding. */
    const float x = bits_f(0x3f800800);
    const struct { const char *name; float a, b, c; } cases[] = {
        {"half+tiny", x, x, 0x1p-60f},
        {"half-tiny", x, x, -0x1p-60f},
        {"-half+tiny", -x, x, 0x1p-60f},
        {"-half-tiny", -x, x, -0x1p-60f},
        {"exact-half", x, x, 0.0f},
        {"big-cancel", 0x1.fffffep+127f, 2.0f, -0x1.fffffep+127f},
        {"subnormal", 0x1p-75f, 0x1.000002p-60f, 0x1p-149f},
    };
    const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
    const char *mname[] = {"near", "up", "down", "zero"};
    for (int m = 0; m < 4; m++) {
        fesetround(modes[m]);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            float r = fma_rt(cases[i].a, cases[i].b, cases[i].c);
            printf("fmaf %-4s %-11s %08x", mname[m], cases[i].name, (unsigned)f_bits(r));
            /* gcc makes this fnmsubs at -O2. The ISA negates the rounded
             * result; qemu rounds the negated one, which differs when
             * rounding up or down: compare the symmetric modes only. */
            if (modes[m] == FE_TONEAREST || modes[m] == FE_TOWARDZERO)
                printf("  neg %08x", (unsigned)f_bits(-fma_rt(cases[i].a, cases[i].b, -cases[i].c)));
            printf("\n");
        }
        /* Random operands with products near the addend's magnitude. */
        uint64_t h = 0xcbf29ce484222325ull;
        rng_seed(7 + m);
        for (int i = 0; i < 20000; i++) {
            uint64_t r = rng_next();
            float a = bits_f(0x3f000000 | (uint32_t)(r & 0x7fffff));
            float b = bits_f(0x3f000000 | (uint32_t)(r >> 23 & 0x7fffff));
            float c = bits_f((uint32_t)(r >> 46 & 1) << 31 | (0x30000000 + (uint32_t)(r >> 47 & 0x7ffffff)));
            uint32_t u = f_bits(fma_rt(a, b, c));
            h = fnv1a(&u, 4, h);
        }
        printf("fmaf %-4s random hash %016llx\n", mname[m], (unsigned long long)h);
    }
    fesetround(FE_TONEAREST);
}

#if defined(__powerpc64__)
#define XER_SO (1ul << 31)
#define XER_OV (1ul << 30)

/* Run `insn rt,ra,rb` with XER cleared; print rt, XER[SO,OV] and CR0. */
#define DIV(insn, a, b)                                                        \
    do {                                                                       \
        unsigned long rt, xer, cr;                                             \
        __asm__ volatile("li %0,0\n\tmtxer %0\n\t" insn " %0,%3,%4\n\t"        \
                         "mfxer %1\n\tmfcr %2"                                 \
                         : "=&r"(rt), "=&r"(xer), "=&r"(cr)                    \
                         : "r"(a), "r"(b)                                      \
                         : "xer", "cr0");                                      \
        printf("%-9s %016lx %016lx -> %016lx so%d ov%d cr0 %lx\n", insn,       \
               (unsigned long)(a), (unsigned long)(b), rt, !!(xer & XER_SO),   \
               !!(xer & XER_OV), cr >> 28);                                    \
    } while (0)

static void div_tests(void)
{
    /* Left out: quotients of divde in [2^63, 2^64), which do not fit in 64
     * signed bits, e.g. 1 / 2 and 0x40000000 / 0x80000000: the ISA sets OV
     * for them, qemu does not (it checks only |ra| >= |rb|). */
    const unsigned long v[][2] = {
        {1, 3},
        {3, 1},
        {0xfffffffffffffffd, 7},
        {0x12345678, 0x9abcdef0},
        {0x7fffffffffffffff, 0xffffffffffffffff},
        {5, 3},
        {0, 7},
        {3, 0},
        {0xffffffffffffffff, 2},
        {0xfffffffffffffffe, 0xffffffffffffffff},
        {0x8000000000000000, 0xffffffffffffffff},
        {0xffffffff, 0x7fffffff},
        {0x1, 0xfffffffe},
        {0x40000000, 0xc0000000},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        unsigned long a = v[i][0], b = v[i][1];
        DIV("divde", a, b);
        DIV("divdeu", a, b);
        DIV("divdeo.", a, b);
        DIV("divdeuo.", a, b);
        DIV("divwe", a, b);
        DIV("divweu", a, b);
        DIV("divweo.", a, b);
        DIV("divweuo.", a, b);
    }
}

static unsigned long read_fpscr(void)
{
    double d;
    unsigned long v;
    __asm__ volatile("mffs %0" : "=f"(d));
    memcpy(&v, &d, sizeof v);
    return v;
}

static void show_fpscr(const char *what)
{
    unsigned long v = read_fpscr();
    /* The upper word (DRN) and the rounding mode: the exception bits depend
     * on how each emulator tracks them. */
    printf("%-22s upper %08lx rn %lu\n", what, v >> 32, v & 3);
}

static void fpscr_tests(void)
{
    double d;
    unsigned long x;
    show_fpscr("start");
    __asm__ volatile("mtfsfi 7,5,1");
    show_fpscr("mtfsfi 7,5,1");
    __asm__ volatile("mtfsfi 6,15,1");
    show_fpscr("mtfsfi 6,15,1");
    __asm__ volatile("mtfsfi 7,1");
    show_fpscr("mtfsfi 7,1");
    x = 0x0000000e00000003ul;
    memcpy(&d, &x, sizeof d);
    __asm__ volatile("mtfsf 1,%0,0,1" : : "f"(d));
    show_fpscr("mtfsf 1,(e:3),0,1");
    __asm__ volatile("mtfsf 0xfe,%0,0,1" : : "f"(d));
    show_fpscr("mtfsf 0xfe,(e:3),0,1");
    x = 0x0000000300000002ul;
    memcpy(&d, &x, sizeof d);
    __asm__ volatile("mtfsf 0,%0,1,0" : : "f"(d));
    show_fpscr("mtfsf 0,(3:2),1,0");
    __asm__ volatile("mtfsfi 7,0,1\n\tmtfsfi 7,0");
    show_fpscr("cleared");
}
#else
static void div_tests(void) { printf("no extended divides on this target\n"); }
static void fpscr_tests(void) { printf("no 64-bit FPSCR on this target\n"); }
#endif

int main(void)
{
    fma_tests();
    div_tests();
    fpscr_tests();
    return 0;
}
