/* ppcint: PowerPC fixed-point instructions one at a time (inline asm) on edge
 * operands in the register width (32 bits on 32-bit PowerPC, where CA, OV and
 * CR0 come from the 32-bit result; 64 bits on ppc64), with XER's SO/OV/CA and
 * CR0 recorded after each, starting from three XER values (clear, CA, SO|CA).
 * Each instruction prints one hash of its results and flags.  Then mfcr/mtcrf,
 * an lwarx/stwcx. loop and a CTR loop.  Other ISAs print a line. */
#include "guest.h"

#if defined(__powerpc__)
typedef unsigned long W;

static const W ops[] = {
    0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000ul, 0x80000001ul, 0xfffffffful,
    0xfffffffeul, 0x12345678, 0x87654321ul, 0x55555555, 0xaaaaaaaaul, 31, 32, 33, 63, 64,
#ifdef __powerpc64__
    0x100000000ul, 0x7ffffffffffffffful, 0x8000000000000000ul, 0xffffffffffffffffull, 0xffffffff00000000ul,
    0x123456789abcdef0ul,
#endif
};
#define NOPS (sizeof ops / sizeof ops[0])
static const W xers[] = {0, 0x20000000ul, 0xa0000000ul};

static uint64_t h;
static void mix(W r, W xer, W cr)
{
    W v[3] = {r, (xer >> 29) & 7, (cr >> 28) & 15};
    h = fnv1a(v, sizeof v, h);
}

/* Two register operands: r = insn(a, b), with XER preset. */
#define T2(NAME, INSN)                                                                                  \
    static void t_##NAME(W a, W b, W x)                                                                 \
    {                                                                                                   \
        W r, xer, cr;                                                                                   \
        __asm__ volatile("mtxer %5\n\tli %0,0\n\tmtcrf 0x80,%0\n\t" INSN " %0,%3,%4\n\tmfxer %1\n\tmfcr %2" \
                         : "=&r"(r), "=&r"(xer), "=&r"(cr)                                              \
                         : "r"(a), "r"(b), "r"(x)                                                       \
                         : "xer", "cr0");                                                               \
        mix(r, xer, cr);                                                                                \
    }
/* One register operand. */
#define T1(NAME, INSN)                                                                                  \
    static void t_##NAME(W a, W b, W x)                                                                 \
    {                                                                                                   \
        W r, xer, cr;                                                                                   \
        (void)b;                                                                                        \
        __asm__ volatile("mtxer %4\n\tli %0,0\n\tmtcrf 0x80,%0\n\t" INSN " %0,%3\n\tmfxer %1\n\tmfcr %2"    \
                         : "=&r"(r), "=&r"(xer), "=&r"(cr)                                              \
                         : "r"(a), "r"(x)                                                               \
                         : "xer", "cr0");                                                               \
        mix(r, xer, cr);                                                                                \
    }
/* Register and a fixed immediate (or shift/mask fields). */
#define TI(NAME, INSN, IMM)                                                                             \
    static void t_##NAME(W a, W b, W x)                                                                 \
    {                                                                                                   \
        W r, xer, cr;                                                                                   \
        (void)b;                                                                                        \
        __asm__ volatile("mtxer %4\n\tli %0,0\n\tmtcrf 0x80,%0\n\t" INSN " %0,%3," IMM                     \
                         "\n\tmfxer %1\n\tmfcr %2"                                                      \
                         : "=&r"(r), "=&r"(xer), "=&r"(cr)                                              \
                         : "r"(a), "r"(x)                                                               \
                         : "xer", "cr0");                                                               \
        mix(r, xer, cr);                                                                                \
    }
/* mulhw/mulhwu: in 64-bit mode the high word of the result and CR0's LT/GT/EQ
 * are undefined, so only the low word and SO are kept there. */
#ifdef __powerpc64__
#define HIGH_DEFINED 0
#else
#define HIGH_DEFINED 1
#endif
#define TH(NAME, INSN)                                                                                  \
    static void t_##NAME(W a, W b, W x)                                                                 \
    {                                                                                                   \
        W r, xer, cr;                                                                                   \
        __asm__ volatile("mtxer %5\n\tli %0,0\n\tmtcrf 0x80,%0\n\t" INSN " %0,%3,%4\n\tmfxer %1\n\tmfcr %2" \
                         : "=&r"(r), "=&r"(xer), "=&r"(cr)                                              \
                         : "r"(a), "r"(b), "r"(x)                                                       \
                         : "xer", "cr0");                                                               \
        if (HIGH_DEFINED)                                                                               \
            mix(r, xer, cr);                                                                            \
        else                                                                                            \
            mix((uint32_t)r, xer, cr & 0x10000000ul);                                                   \
    }
/* Compares into CR0. */
#define TC(NAME, INSN)                                                                                  \
    static void t_##NAME(W a, W b, W x)                                                                 \
    {                                                                                                   \
        W xer, cr;                                                                                      \
        __asm__ volatile("mtxer %4\n\tli %0,0\n\tmtcrf 0x80,%0\n\t" INSN "\n\tmfxer %0\n\tmfcr %1"          \
                         : "=&r"(xer), "=&r"(cr)                                                        \
                         : "r"(a), "r"(b), "r"(x)                                                       \
                         : "xer", "cr0");                                                               \
        mix(0, xer, cr);                                                                                \
    }

T2(add_, "add.") T2(addo_, "addo.") T2(addc, "addc") T2(addc_, "addc.") T2(addco_, "addco.") T2(adde, "adde")
T2(adde_, "adde.") T2(addeo_, "addeo.") T2(subf_, "subf.") T2(subfo_, "subfo.") T2(subfc, "subfc")
T2(subfc_, "subfc.") T2(subfco_, "subfco.") T2(subfe, "subfe") T2(subfe_, "subfe.") T2(subfeo_, "subfeo.")
T2(mullw_, "mullw.") T2(mullwo_, "mullwo.") TH(mulhw_, "mulhw.") TH(mulhwu_, "mulhwu.") T2(and_, "and.")
T2(andc_, "andc.") T2(or_, "or.") T2(orc_, "orc.") T2(xor_, "xor.") T2(nand_, "nand.") T2(nor_, "nor.")
T2(eqv_, "eqv.") T2(slw_, "slw.") T2(srw_, "srw.") T2(sraw, "sraw") T2(sraw_, "sraw.")
T1(neg_, "neg.") T1(nego_, "nego.") T1(addme_, "addme.") T1(addmeo_, "addmeo.") T1(addze_, "addze.")
T1(addzeo_, "addzeo.") T1(subfme_, "subfme.") T1(subfmeo_, "subfmeo.") T1(subfze_, "subfze.")
T1(subfzeo_, "subfzeo.") T1(cntlzw_, "cntlzw.") T1(extsb_, "extsb.") T1(extsh_, "extsh.")
TI(addic, "addic", "-1") TI(addic_, "addic.", "1") TI(subfic, "subfic", "5") TI(subfic0, "subfic", "0")
TI(mulli, "mulli", "-7") TI(srawi, "srawi", "4") TI(srawi_, "srawi.", "31") TI(srawi0, "srawi", "0")
TI(rlwinm_, "rlwinm.", "5,3,29") TI(rlwinmw, "rlwinm.", "27,28,3") TI(andi_, "andi.", "0x8001")
TI(andis_, "andis.", "0x8001")
TC(cmpw, "cmpw %2,%3") TC(cmplw, "cmplw %2,%3") TC(cmpwi, "cmpwi %2,-1") TC(cmplwi, "cmplwi %2,0x8000")

/* Divides: the quotient is undefined for x/0 and INT_MIN/-1, so only OV/SO are
 * kept there. */
#define TD(NAME, INSN, SIGNED)                                                                          \
    static void t_##NAME(W a, W b, W x)                                                                 \
    {                                                                                                   \
        W r, xer, cr;                                                                                   \
        __asm__ volatile("mtxer %5\n\tli %0,0\n\tmtcrf 0x80,%0\n\t" INSN " %0,%3,%4\n\tmfxer %1\n\tmfcr %2" \
                         : "=&r"(r), "=&r"(xer), "=&r"(cr)                                              \
                         : "r"(a), "r"(b), "r"(x)                                                       \
                         : "xer", "cr0");                                                               \
        int bad = (uint32_t)b == 0 || (SIGNED && (uint32_t)a == 0x80000000u && (uint32_t)b == 0xffffffffu); \
        if (bad)                                                                                        \
            mix(0, xer & 0xc0000000ul, 0);                                                              \
        else                                                                                            \
            mix(r, xer, cr);                                                                            \
    }
TD(divw_, "divw.", 1) TD(divwo_, "divwo.", 1) TD(divwu_, "divwu.", 0) TD(divwuo_, "divwuo.", 0)

#define ALLCR "cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7"

struct test { const char *name; void (*f)(W, W, W); };
#define E(n) {#n, t_##n}
static const struct test tests[] = {
    E(add_), E(addo_), E(addc), E(addc_), E(addco_), E(adde), E(adde_), E(addeo_), E(subf_), E(subfo_),
    E(subfc), E(subfc_), E(subfco_), E(subfe), E(subfe_), E(subfeo_), E(mullw_), E(mullwo_), E(mulhw_),
    E(mulhwu_), E(and_), E(andc_), E(or_), E(orc_), E(xor_), E(nand_), E(nor_), E(eqv_), E(slw_), E(srw_),
    E(sraw), E(sraw_), E(neg_), E(nego_), E(addme_), E(addmeo_), E(addze_), E(addzeo_), E(subfme_),
    E(subfmeo_), E(subfze_), E(subfzeo_), E(cntlzw_), E(extsb_), E(extsh_), E(addic), E(addic_),
    E(subfic), E(subfic0), E(mulli), E(srawi), E(srawi_), E(srawi0), E(rlwinm_), E(rlwinmw), E(andi_),
    E(andis_), E(cmpw), E(cmplw), E(cmpwi), E(cmplwi), E(divw_), E(divwo_), E(divwu_), E(divwuo_),
};

int main(void)
{
    printf("word size %d\n", (int)sizeof(W) * 8);
    uint64_t all = FNV_INIT;
    for (size_t t = 0; t < sizeof tests / sizeof tests[0]; t++) {
        h = FNV_INIT;
        for (size_t i = 0; i < NOPS; i++)
            for (size_t j = 0; j < NOPS; j++)
                for (size_t k = 0; k < 3; k++)
                    tests[t].f(ops[i], ops[j], xers[k]);
        printf("%-9s %016llx\n", tests[t].name, (unsigned long long)h);
        all = fnv1a(&h, sizeof h, all);
    }
    printf("all       %016llx\n", (unsigned long long)all);

    /* mtcrf/mfcr: one field, then all. */
    W cr;
    __asm__ volatile("li %0,0\n\tmtcrf 0xff,%0\n\tmtcrf 0x80,%1\n\tmfcr %0" : "=&r"(cr) : "r"((W)0x9abcdef1ul) : ALLCR);
    printf("mtcrf 0x80: %08lx\n", (unsigned long)cr);
    __asm__ volatile("mtcrf 0xff,%1\n\tmfcr %0" : "=r"(cr) : "r"((W)0x12345678) : ALLCR);
    printf("mtcrf 0xff: %08lx\n", (unsigned long)cr);
    __asm__ volatile("li %0,0\n\tmtcrf 0xff,%0\n\tcrset 3\n\tcrnot 5,3\n\tcror 31,3,5\n\tmfcr %0" : "=&r"(cr) : : ALLCR);
    printf("cr logic: %08lx\n", (unsigned long)cr);

    /* lwarx/stwcx.: an atomic add loop. */
    static uint32_t word = 40;
    uint32_t old;
    __asm__ volatile("1: lwarx %0,0,%2\n\taddi %0,%0,2\n\tstwcx. %0,0,%2\n\tbne- 1b"
                     : "=&r"(old), "+m"(word) : "r"(&word) : "cr0", "memory");
    printf("lwarx/stwcx. add: %u\n", word);

    /* A CTR loop (bdnz) and bdz. */
    W n = 0;
    __asm__ volatile("mtctr %1\n1: addi %0,%0,3\n\tbdnz 1b" : "+r"(n) : "r"((W)1000) : "ctr");
    printf("bdnz x1000: %lu\n", (unsigned long)n);
    return finish("ppcint");
}
#else
int main(void)
{
    printf("ppcint: PowerPC only\n");
    return 0;
}
#endif
