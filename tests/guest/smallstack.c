/* smallstack: system calls taking a struct timespec (of the target's time_t:
 * 32-bit on 32-bit PowerPC, which an emulator widens for a 64-bit host) made
 * from a context (makecontext/swapcontext) whose stack pointer is a few
 * hundred bytes above an inaccessible page: ppoll, clock_nanosleep, futex and rt_sigtimedwait with
 * short timeouts must work as on a roomy stack. */
#define _GNU_SOURCE
#include "guest.h"
#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static ucontext_t main_ctx, small_ctx;
static struct timespec ts = {0, 1000000}, rem = {7, 7};
static sigset_t set;
/* The small stack: on 32-bit PowerPC within 512 bytes of the inaccessible
 * page below it (where a copy put 512 bytes below the stack pointer would
 * fault); elsewhere, where frames are larger, 1 KiB. */
#if defined(__powerpc__) && !defined(__powerpc64__)
#define SMALL_STACK 448
#else
#define SMALL_STACK 1024
#endif
static long results[8];
static int errs[8];
static int futex_word;

/* Runs on the small stack: no printf (which needs far more); raw system
 * calls so that the C library's own time64 handling stays out of it. */
static void on_small_stack(void)
{
    errno = 0;
    results[0] = syscall(SYS_ppoll, NULL, 0, &ts, NULL, 8);
    errs[0] = errno;
    errno = 0;
    results[1] = syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, &rem);
    errs[1] = errno;
    errno = 0;
    results[2] = syscall(SYS_futex, &futex_word, 0 /* FUTEX_WAIT */, 0, &ts, NULL, 0);
    errs[2] = errno;
    errno = 0;
    results[3] = syscall(SYS_rt_sigtimedwait, &set, NULL, &ts, 8);
    errs[3] = errno;
}

int main(void)
{
    long page = sysconf(_SC_PAGESIZE);
    char *mem = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(mem != MAP_FAILED);
    /* The lower page inaccessible; the stack is the first bytes above it. */
    CHECK(mprotect(mem, page, PROT_NONE) == 0);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    CHECK(getcontext(&small_ctx) == 0);
    small_ctx.uc_stack.ss_sp = mem + page;
    small_ctx.uc_stack.ss_size = SMALL_STACK;
    small_ctx.uc_link = &main_ctx;
    makecontext(&small_ctx, on_small_stack, 0);
    CHECK(swapcontext(&main_ctx, &small_ctx) == 0);
    printf("ppoll: %ld %s\n", results[0], strerror(errs[0]));
    printf("clock_nanosleep: %ld %s\n", results[1], strerror(errs[1]));
    printf("futex wait: %ld %s\n", results[2], strerror(errs[2]));
    printf("rt_sigtimedwait: %ld %s\n", results[3], strerror(errs[3]));
    return finish("smallstack");
}
