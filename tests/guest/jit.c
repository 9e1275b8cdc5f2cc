/* jit: code generated at run time.  AArch64 machine words are written into
 * an RW mapping, the mapping is made RX with mprotect, the instruction cache
 * is synchronised with __builtin___clear_cache, and the code is called; then
 * it is rewritten (different immediates, different instructions, a loop),
 * synchronised again and called again: the results must change.  Also a
 * double mapping is avoided on purpose; an RWX mapping is tested too (the
 * guest may write code and run it without mprotect), and a code page that
 * patches an instruction of itself. */
#include "guest.h"
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef __aarch64__
typedef long (*fn2)(long, long);

static uint32_t movz(int rd, unsigned imm16, int shift) { return 0xD2800000u | (shift / 16) << 21 | imm16 << 5 | rd; }
static uint32_t movk(int rd, unsigned imm16, int shift) { return 0xF2800000u | (shift / 16) << 21 | imm16 << 5 | rd; }
static uint32_t add_reg(int rd, int rn, int rm) { return 0x8B000000u | rm << 16 | rn << 5 | rd; }
static uint32_t sub_reg(int rd, int rn, int rm) { return 0xCB000000u | rm << 16 | rn << 5 | rd; }
static uint32_t mul_reg(int rd, int rn, int rm) { return 0x9B007C00u | rm << 16 | rn << 5 | rd; }
static uint32_t add_imm(int rd, int rn, unsigned imm12) { return 0x91000000u | imm12 << 10 | rn << 5 | rd; }
static uint32_t subs_imm(int rd, int rn, unsigned imm12) { return 0xF1000000u | imm12 << 10 | rn << 5 | rd; }
static uint32_t b_ne(int off_words) { return 0x54000001u | ((uint32_t)off_words & 0x7ffff) << 5; }
static const uint32_t RET = 0xD65F03C0u;

static long call(void *code, long a, long b)
{
    return ((fn2)code)(a, b);
}

static void sync_code(uint32_t *p, int n) { __builtin___clear_cache((char *)p, (char *)(p + n)); }
#endif

int main(void)
{
#ifdef __aarch64__
    long pg = sysconf(_SC_PAGESIZE);
    uint32_t *code = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(code != MAP_FAILED);

    /* 1: return a + b + 7 */
    int n = 0;
    code[n++] = add_reg(0, 0, 1);
    code[n++] = add_imm(0, 0, 7);
    code[n++] = RET;
    sync_code(code, n);
    CHECK(mprotect(code, pg, PROT_READ | PROT_EXEC) == 0);
    printf("v1 add: %ld\n", call(code, 100, 23));

    /* 2: rewrite in place: a * b - 5 (same length) */
    CHECK(mprotect(code, pg, PROT_READ | PROT_WRITE) == 0);
    code[0] = mul_reg(0, 0, 1);
    code[1] = 0xD1001400u; /* sub x0, x0, #5 */
    sync_code(code, 3);
    CHECK(mprotect(code, pg, PROT_READ | PROT_EXEC) == 0);
    printf("v2 mul: %ld\n", call(code, 100, 23));

    /* 3: only an immediate changes, many times (stale translations would show) */
    long sum = 0;
    for (unsigned k = 0; k < 50; k++) {
        mprotect(code, pg, PROT_READ | PROT_WRITE);
        code[0] = movz(0, k * 3, 0);
        code[1] = movk(0, k, 16);
        code[2] = RET;
        sync_code(code, 3);
        mprotect(code, pg, PROT_READ | PROT_EXEC);
        sum += call(code, 0, 0);
    }
    printf("v3 50 rewrites: sum %ld\n", sum);

    /* 4: a loop: sum of i*b for i=a..1 */
    mprotect(code, pg, PROT_READ | PROT_WRITE);
    n = 0;
    code[n++] = movz(2, 0, 0);           /* x2 = 0 */
    code[n++] = mul_reg(3, 0, 1);        /* loop: x3 = x0 * x1 */
    code[n++] = add_reg(2, 2, 3);        /* x2 += x3 */
    code[n++] = subs_imm(0, 0, 1);       /* x0 -= 1, flags */
    code[n++] = b_ne(-3);                /* bne loop */
    code[n++] = 0xAA0203E0u;             /* mov x0, x2 */
    code[n++] = RET;
    sync_code(code, n);
    mprotect(code, pg, PROT_READ | PROT_EXEC);
    long hot = 0;
    for (int i = 0; i < 1000; i++) hot += call(code, 100, i); /* make it hot */
    printf("v4 loop: %ld, hot total %ld\n", call(code, 1000, 3), hot);
    /* now change the loop body after it was hot: add becomes sub */
    mprotect(code, pg, PROT_READ | PROT_WRITE);
    code[2] = sub_reg(2, 2, 3);
    sync_code(code, n);
    mprotect(code, pg, PROT_READ | PROT_EXEC);
    printf("v5 loop patched after being hot: %ld\n", call(code, 1000, 3));

    /* 6: RWX mapping, code rewritten without mprotect */
    uint32_t *rwx = mmap(NULL, pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (rwx == MAP_FAILED) {
        printf("v6 rwx: unavailable\n");
    } else {
        long tot = 0;
        for (int k = 0; k < 200; k++) {
            rwx[0] = add_imm(0, 0, k);
            rwx[1] = (k & 1) ? add_reg(0, 0, 1) : sub_reg(0, 0, 1);
            rwx[2] = RET;
            sync_code(rwx, 3);
            tot += call(rwx, 1000, 7);
        }
        printf("v6 rwx 200 rewrites: %ld\n", tot);

        /* 7: code that patches its own next instruction, then runs it
         *   str w3, [x2]   (x2 = address of the slot, w3 = new instruction)
         *   dc cvau / dsb / ic ivau / dsb / isb
         *   slot: (movz x0,#1 replaced by movz x0,#2)
         *   ret                                                        */
        n = 0;
        rwx[n++] = 0xB9000043u;           /* str w3, [x2] */
        rwx[n++] = 0xD50B7B22u;           /* dc cvau, x2 */
        rwx[n++] = 0xD5033B9Fu;           /* dsb ish */
        rwx[n++] = 0xD50B7522u;           /* ic ivau, x2 */
        rwx[n++] = 0xD5033B9Fu;           /* dsb ish */
        rwx[n++] = 0xD5033FDFu;           /* isb */
        int slot = n;
        rwx[n++] = movz(0, 1, 0);
        rwx[n++] = RET;
        sync_code(rwx, n);
        typedef long (*fn4)(long, long, uint32_t *, uint32_t);
        long r1 = ((fn4)rwx)(0, 0, &rwx[slot], movz(0, 2, 0));
        long r2 = ((fn4)rwx)(0, 0, &rwx[slot], movz(0, 3, 0));
        printf("v7 self-patching: %ld then %ld\n", r1, r2);
    }
#else
    printf("jit: aarch64 only, skipped\n");
#endif
    return finish("jit");
}
