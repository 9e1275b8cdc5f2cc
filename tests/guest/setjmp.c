/* setjmp: setjmp/longjmp across frames and through recursion, values
 * returned by longjmp (including 0 -> 1), volatile locals preserved,
 * sigsetjmp/siglongjmp restoring (or not) the signal mask, and callee-saved
 * integer and FP registers surviving a longjmp. */
#include "guest.h"
#include <setjmp.h>
#include <signal.h>

static jmp_buf env;
static sigjmp_buf senv;
static int depth_reached;

static void recurse(int depth, int target)
{
    volatile char pad[64];
    pad[depth % 64] = (char)depth;
    depth_reached = depth;
    if (depth > 100000)
        return;
    if (depth == target)
        longjmp(env, depth * 10 + pad[depth % 64] % 2);
    recurse(depth + 1, target);
    pad[0]++; /* not a tail call */
}

static double fp_work(double x)
{
    double a = x * 1.5, b = x + 2.25, c = x - 0.125, d = x / 3;
    for (int i = 0; i < 10; i++) { a += b * c; b -= d; c *= 1.01; d += 0.5; }
    if (x > 0) longjmp(env, 7);
    return a + b + c + d;
}

static int blocked(int sig)
{
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, sig);
}

int main(void)
{
    /* 1. basic, and the value 0 becoming 1 */
    volatile int count = 0;
    int r = setjmp(env);
    printf("setjmp returned %d (count=%d)\n", r, count);
    if (count++ < 3)
        longjmp(env, count == 2 ? 0 : count * 100);

    /* 2. unwinding deep recursion */
    for (volatile int target = 1; target <= 200; target *= 3) {
        int v = setjmp(env);
        if (v == 0)
            recurse(0, target);
        printf("recursion to %d: longjmp value %d, depth %d\n", target, v, depth_reached);
    }

    /* 3. callee-saved registers (locals live in x19-x28 / d8-d15 at -O2) */
    volatile long a1 = 11, a2 = 22, a3 = 33, a4 = 44, a5 = 55;
    volatile double f1 = 1.25, f2 = 2.5, f3 = 3.75;
    if (setjmp(env) == 0) {
        a1 = 111; f1 = 11.25;
        printf("fp_work %g\n", fp_work(1.0));
    }
    printf("after fp longjmp: %ld %ld %ld %ld %ld %g %g %g\n", a1, a2, a3, a4, a5, f1, f2, f3);

    /* 4. sigsetjmp with savemask=1 restores the mask, savemask=0 does not */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    for (volatile int save = 0; save <= 1; save++) {
        sigprocmask(SIG_UNBLOCK, &s, NULL);
        if (sigsetjmp(senv, save) == 0) {
            sigprocmask(SIG_BLOCK, &s, NULL);
            printf("savemask=%d: blocked before siglongjmp: %d\n", save, blocked(SIGUSR2));
            siglongjmp(senv, 1);
        }
        printf("savemask=%d: blocked after siglongjmp: %d\n", save, blocked(SIGUSR2));
    }
    sigprocmask(SIG_UNBLOCK, &s, NULL);

    /* 5. a jmp_buf reused many times in a loop */
    volatile long total = 0;
    for (volatile int i = 0; i < 10000; i++) {
        int v = setjmp(env);
        if (v == 0)
            longjmp(env, (i % 7) + 1);
        total += v;
    }
    printf("loop total %ld\n", total);
    return finish("setjmp");
}
