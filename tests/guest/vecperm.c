/* vecperm: the PowerPC VMX/VSX permutes, merges, splats, selects and
 * element-wise shifts, one instruction at a time (inline asm) on fixed
 * operands, each result printed as its 16 bytes in memory order; lifted as
 * IR vector shuffles, table lookups and per-lane shifts, so every form and
 * immediate is checked against the reference; then VSCR[SAT] after saturating
 * adds, subtracts and sums. Other ISAs print a line. */
/* cflags-powerpc64: -mcpu=power8 */
#include "guest.h"

#if defined(__powerpc__) && defined(__ALTIVEC__) && defined(__VSX__)
#include <altivec.h>
typedef __vector unsigned char V;

static V A, B, C, S;

static void show(const char *name, V r)
{
    unsigned char b[16];
    memcpy(b, &r, 16);
    printf("%-12s", name);
    for (int i = 0; i < 16; i++) printf(" %02x", b[i]);
    printf("\n");
}

#define OP3(insn)                                                              \
    do {                                                                       \
        V r;                                                                   \
        __asm__(insn " %0,%1,%2" : "=v"(r) : "v"(A), "v"(B));                  \
        show(insn, r);                                                         \
    } while (0)
#define OP4(insn)                                                              \
    do {                                                                       \
        V r;                                                                   \
        __asm__(insn " %0,%1,%2,%3" : "=v"(r) : "v"(A), "v"(B), "v"(C));       \
        show(insn, r);                                                         \
    } while (0)
#define SHIFT(insn)                                                            \
    do {                                                                       \
        V r;                                                                   \
        __asm__(insn " %0,%1,%2" : "=v"(r) : "v"(A), "v"(S));                  \
        show(insn, r);                                                         \
    } while (0)
#define IMM3(insn, k)                                                          \
    do {                                                                       \
        V r;                                                                   \
        __asm__(insn " %0,%1,%2," #k : "=v"(r) : "v"(A), "v"(B));              \
        show(insn " " #k, r);                                                  \
    } while (0)
#define SPLAT(insn, k)                                                         \
    do {                                                                       \
        V r;                                                                   \
        __asm__(insn " %0,%1," #k : "=v"(r) : "v"(B));                         \
        show(insn " " #k, r);                                                  \
    } while (0)
/* VSX forms take VSR numbers: the VMX registers are VSR 32..63 (%x). */
#define XX3(insn)                                                              \
    do {                                                                       \
        V r;                                                                   \
        __asm__(insn " %x0,%x1,%x2" : "=wa"(r) : "wa"(A), "wa"(B));            \
        show(insn, r);                                                         \
    } while (0)
#define XX3I(insn, k)                                                          \
    do {                                                                       \
        V r;                                                                   \
        __asm__(insn " %x0,%x1,%x2," #k : "=wa"(r) : "wa"(A), "wa"(B));        \
        show(insn " " #k, r);                                                  \
    } while (0)
#define XXSPLT(k)                                                              \
    do {                                                                       \
        V r;                                                                   \
        __asm__("xxspltw %x0,%x1," #k : "=wa"(r) : "wa"(B));                   \
        show("xxspltw " #k, r);                                                \
    } while (0)

int main(void)
{
    unsigned char a[16], b[16], c[16], s[16];
    for (int i = 0; i < 16; i++) {
        a[i] = (unsigned char)(0xa0 + i * 3);
        b[i] = (unsigned char)(0x41 + i * 7);
        /* vperm controls: every pick from a and b, with high bits set on some */
        c[i] = (unsigned char)((i * 11 + 5) % 32 | (i & 3) << 6);
        /* shift amounts beyond the element widths too */
        s[i] = (unsigned char)(i * 13 + 1);
    }
    memcpy(&A, a, 16);
    memcpy(&B, b, 16);
    memcpy(&C, c, 16);
    memcpy(&S, s, 16);

    OP4("vperm");
    OP4("vsel");
    IMM3("vsldoi", 0);
    IMM3("vsldoi", 3);
    IMM3("vsldoi", 8);
    IMM3("vsldoi", 15);
    OP3("vmrghb");
    OP3("vmrghh");
    OP3("vmrghw");
    OP3("vmrglb");
    OP3("vmrglh");
    OP3("vmrglw");
    SPLAT("vspltb", 0);
    SPLAT("vspltb", 9);
    SPLAT("vspltb", 15);
    SPLAT("vsplth", 0);
    SPLAT("vsplth", 5);
    SPLAT("vspltw", 0);
    SPLAT("vspltw", 3);
    SHIFT("vslb");
    SHIFT("vslh");
    SHIFT("vslw");
    SHIFT("vsld");
    SHIFT("vsrb");
    SHIFT("vsrh");
    SHIFT("vsrw");
    SHIFT("vsrd");
    SHIFT("vsraw");
    SHIFT("vsrad");
    XX3I("xxpermdi", 0);
    XX3I("xxpermdi", 1);
    XX3I("xxpermdi", 2);
    XX3I("xxpermdi", 3);
    XX3I("xxsldwi", 0);
    XX3I("xxsldwi", 1);
    XX3I("xxsldwi", 2);
    XX3I("xxsldwi", 3);
    XX3("xxmrghw");
    XX3("xxmrglw");
    XXSPLT(0);
    XXSPLT(1);
    XXSPLT(2);
    XXSPLT(3);
    {
        V r;
        __asm__("xxsel %x0,%x1,%x2,%x3" : "=wa"(r) : "wa"(A), "wa"(B), "wa"(C));
        show("xxsel", r);
    }
    /* VSCR[SAT] is sticky: set by a saturating add, subtract or sum that clamps. */
    {
        V zero = vec_splat_u8(0), r, vscr;
#define SAT(insn, x, y)                                                        \
    do {                                                                       \
        __asm__ volatile("mtvscr %3\n\t" insn " %0,%1,%2\n\tmfvscr %0"        \
                         : "=&v"(vscr) : "v"(x), "v"(y), "v"(zero));           \
        show(insn " vscr", vscr);                                              \
    } while (0)
        SAT("vaddubs", A, B);
        SAT("vaddubs", A, zero);
        SAT("vaddsbs", A, B);
        SAT("vadduhs", A, B);
        SAT("vaddshs", B, B);
        SAT("vaddsws", B, B);
        SAT("vsububs", B, A);
        SAT("vsububs", A, B);
        SAT("vsubsws", A, B);
        SAT("vsumsws", B, B);
        SAT("vsumsws", zero, zero);
        (void)r;
    }
    return finish("vecperm");
}
#else
int main(void)
{
    printf("vecperm: PowerPC only\n");
    return finish("vecperm");
}
#endif
