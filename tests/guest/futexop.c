/* futexop: FUTEX_WAKE_OP, whose operation the kernel applies to the second
 * futex word in memory (so the word's byte order matters): every operation,
 * with and without the shifted operand, and every comparison on the old value;
 * then a waiter on each word woken through it. FUTEX_WAKE_OP is called
 * directly, as glibc's condition variables no longer use it. */
#include "guest.h"
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

static long wake_op(uint32_t *f1, int n1, uint32_t *f2, int n2, uint32_t op)
{
    return syscall(SYS_futex, f1, FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG, n1, (void *)(long)n2, f2, op);
}

static uint32_t w1, w2;

static void *waiter(void *arg)
{
    uint32_t *w = arg;
    uint32_t seen = __atomic_load_n(w, __ATOMIC_SEQ_CST);
    while (seen == 0) {
        syscall(SYS_futex, w, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, NULL, NULL, 0);
        seen = __atomic_load_n(w, __ATOMIC_SEQ_CST);
    }
    return (void *)(long)seen;
}

int main(void)
{
    static const char *ops[] = {"set", "add", "or", "andn", "xor"};
    static const char *cmps[] = {"eq", "ne", "lt", "le", "gt", "ge"};
    for (int op = 0; op < 5; op++) {
        for (int shift = 0; shift < 2; shift++) {
            uint32_t a = 0, b = 0x12345670;
            uint32_t enc = FUTEX_OP(op | (shift ? FUTEX_OP_OPARG_SHIFT : 0), shift ? 9 : 0x7a5, FUTEX_OP_CMP_EQ, 0);
            long r = wake_op(&a, 1, &b, 1, enc);
            printf("%-4s%s: ret %ld word %#010x\n", ops[op], shift ? "<<" : "  ", r, (unsigned)b);
        }
    }
    /* Comparisons against the old value 0x70 (cmparg sign-extended from 12 bits). */
    for (int cmp = 0; cmp < 6; cmp++) {
        for (int arg = 0x6f; arg <= 0x71; arg++) {
            uint32_t a = 0, b = 0x70;
            long r = wake_op(&a, 0, &b, 0, FUTEX_OP(FUTEX_OP_ADD, 1, cmp, arg));
            printf("cmp %s %#x: ret %ld word %#x\n", cmps[cmp], arg, r, (unsigned)b);
        }
    }
    uint32_t a = 0, b = 0;
    errno = 0;
    long r = wake_op(&a, 1, (uint32_t *)8, 1, FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0));
    printf("bad second word: %ld %s\n", r, strerror(errno));
    r = wake_op(&a, 1, &b, 1, 0xf0000000u);
    printf("bad operation: %ld %s\n", r, r < 0 ? strerror(errno) : "");

    /* A waiter on each word: one call wakes the first always, the second if its
     * old value was 0 (it becomes 7). Repeat until both threads have seen it. */
    pthread_t t1, t2;
    pthread_create(&t1, NULL, waiter, &w1);
    pthread_create(&t2, NULL, waiter, &w2);
    usleep(10000);
    __atomic_store_n(&w1, 3, __ATOMIC_SEQ_CST);
    wake_op(&w1, 1, &w2, 1, FUTEX_OP(FUTEX_OP_SET, 7, FUTEX_OP_CMP_EQ, 0));
    void *v1, *v2;
    pthread_join(t1, &v1);
    pthread_join(t2, &v2);
    printf("waiters saw %ld and %ld\n", (long)v1, (long)v2);
    return 0;
}
