/* segv: synchronous faults caught by handlers.  Read of an unmapped address
 * (SEGV_MAPERR, si_addr exact), write to a read-only page and to .rodata
 * (SEGV_ACCERR), execute from a non-executable page and jump to unmapped
 * memory, a handler that repairs the context and returns (pc += 4), stack
 * overflow caught on an alternate stack, SIGBUS past the end of a file
 * mapping, SIGILL from UDF and SIGTRAP from BRK (AArch64), all left by
 * siglongjmp; finally an uncaught SIGSEGV: the process dies by signal 11. */
#define _GNU_SOURCE
#include "guest.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile int got_sig, got_code;
static volatile uintptr_t got_addr, got_pc;
static volatile int pc_matches_fault_addr;

static void on_fault(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    got_sig = sig;
    got_code = si->si_code;
    got_addr = (uintptr_t)si->si_addr;
#ifdef __aarch64__
    got_pc = uc->uc_mcontext.pc;
    pc_matches_fault_addr = uc->uc_mcontext.fault_address == (uintptr_t)si->si_addr;
#else
    (void)uc;
#endif
    siglongjmp(jb, 1);
}

static const char *code_name(int sig, int code)
{
    if (sig == SIGSEGV) return code == SEGV_MAPERR ? "SEGV_MAPERR" : code == SEGV_ACCERR ? "SEGV_ACCERR" : "other";
    if (sig == SIGBUS) return code == BUS_ADRERR ? "BUS_ADRERR" : code == BUS_ADRALN ? "BUS_ADRALN" : "other";
    /* Linux reports UDF as ILL_ILLOPC, qemu-user as ILL_ILLOPN: accept both. */
    if (sig == SIGILL) return code == ILL_ILLOPC || code == ILL_ILLOPN ? "ILL_ILLOPC/N" : "other";
    if (sig == SIGTRAP) return code == TRAP_BRKPT ? "TRAP_BRKPT" : "other";
    return "?";
}

#define TRY(label, expr_addr, body)                                                                        \
    do {                                                                                                   \
        got_sig = 0;                                                                                       \
        if (sigsetjmp(jb, 1) == 0) {                                                                       \
            body;                                                                                          \
            printf("%-28s no fault\n", label);                                                            \
        } else {                                                                                           \
            printf("%-28s sig=%d %s addr_ok=%d\n", label, got_sig, code_name(got_sig, got_code),          \
                   got_addr == (uintptr_t)(expr_addr));                                                   \
        }                                                                                                  \
    } while (0)

#ifdef __aarch64__
/* Loads from x0; the faulting pc is the function's address. */
__asm__(".text\n.global fault_load\n.type fault_load,%function\nfault_load:\n ldr x0, [x0]\n ret\n"
        ".global undef_insn\n.type undef_insn,%function\nundef_insn:\n udf #0x1234\n ret\n"
        ".global brk_insn\n.type brk_insn,%function\nbrk_insn:\n brk #0x77\n ret\n");
long fault_load(volatile long *p);
void undef_insn(void);
void brk_insn(void);

static void skip_insn(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    got_sig = sig;
    got_addr = (uintptr_t)si->si_addr;
    uc->uc_mcontext.pc += 4;
    uc->uc_mcontext.regs[0] = 4242; /* the "loaded" value */
}
#endif

static volatile int depth;
static int overflow(int n)
{
    volatile char buf[1024];
    buf[n % 1024] = (char)n;
    depth = n;
    if (n < 0)
        return 0;
    return overflow(n + 1) + buf[(n * 7) % 1024];
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    long pg = sysconf(_SC_PAGESIZE);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGTRAP, &sa, NULL);
    stack_t ss = {.ss_sp = malloc(256 * 1024), .ss_size = 256 * 1024, .ss_flags = 0};
    sigaltstack(&ss, NULL);

    volatile int *null = (volatile int *)(uintptr_t)(sizeof(int) * 0);
    TRY("read NULL", 0, (void)*null);
    volatile long *far = (volatile long *)(uintptr_t)0x10;
    TRY("write 0x10", 0x10, *far = 1);

    char *ro = mmap(NULL, 2 * pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    TRY("write PROT_READ page", ro + 123, ro[123] = 1);
    TRY("read PROT_READ page", 0, printf("%-28s %d\n", "(read of it is fine)", ro[5]));
    munmap(ro + pg, pg);
    TRY("read unmapped hole", ro + pg + 8, (void)*(volatile char *)(ro + pg + 8));
    /* right away, before a later mmap may reuse the hole */
    TRY("jump to unmapped", (uintptr_t)ro + pg, ((void (*)(void))(ro + pg))());
    char *none = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    TRY("read PROT_NONE page", none + 1, (void)*(volatile char *)(none + 1));
    static const char rodata[] = "constant";
    TRY("write .rodata", rodata + 2, ((volatile char *)rodata)[2] = 'X');

    /* executing a non-executable page: the fault address is the pc */
    unsigned char *rw = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(rw, 0, pg);
    TRY("execute RW page", rw, ((void (*)(void))rw)());
    printf("%-28s pc_ok=%d\n", "  (pc of exec fault)", got_pc == (uintptr_t)rw);

#ifdef __aarch64__
    TRY("ldr fault, exact pc", 0x1000, fault_load((volatile long *)0x1000));
    printf("%-28s pc_ok=%d fault_address_ok=%d\n", "  (pc of load fault)", got_pc == (uintptr_t)fault_load,
           pc_matches_fault_addr);
    TRY("udf", undef_insn, undef_insn());
    printf("%-28s pc_ok=%d\n", "  (pc of udf)", got_pc == (uintptr_t)undef_insn);
    TRY("brk", brk_insn, brk_insn());
    printf("%-28s pc_ok=%d\n", "  (pc of brk)", got_pc == (uintptr_t)brk_insn);

    /* a handler that repairs the context and returns */
    struct sigaction fix = sa;
    fix.sa_sigaction = skip_insn;
    sigaction(SIGSEGV, &fix, NULL);
    long v = fault_load((volatile long *)0x2000);
    printf("%-28s sig=%d value=%ld addr_ok=%d\n", "handler skips the load", got_sig, v, got_addr == 0x2000);
    sigaction(SIGSEGV, &sa, NULL);
#else
    printf("aarch64-only cases skipped\n");
#endif

    /* SIGBUS: touching a file mapping beyond the end of the file */
    char path[] = "segv-bus.tmp";
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK(write(fd, "0123456789", 10) == 10);
    char *fm = mmap(NULL, 2 * pg, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    unlink(path);
    printf("%-28s %c%c tail=%d\n", "file mapping", fm[0], fm[9], fm[pg - 1]);
    TRY("read past end of file", fm + pg + 1, (void)*(volatile char *)(fm + pg + 1));

    /* stack overflow, caught on the alternate stack */
    if (sigsetjmp(jb, 1) == 0) {
        overflow(0);
    } else {
        printf("%-28s sig=%d deep=%d\n", "stack overflow", got_sig, depth > 1000);
    }

    /* several faults in a row keep working */
    volatile int n = 0;
    for (volatile int i = 0; i < 100; i++)
        if (sigsetjmp(jb, 1) == 0) (void)*(volatile char *)(none + i);
        else n++;
    printf("%-28s %d\n", "100 faults in a loop", n);

    printf("now dying of an uncaught SIGSEGV\n");
    fprintf(stderr, "segv: about to fault\n");
    signal(SIGSEGV, SIG_DFL);
    *(volatile int *)none = 1;
    printf("not reached\n");
    return 3;
}
