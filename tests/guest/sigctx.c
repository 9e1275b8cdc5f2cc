/* sigctx: the non-RT signal frame of 32-bit PowerPC, which handlers installed
 * without SA_SIGINFO get (Linux's handle_signal32: r3 = the signal, r4 =
 * &struct sigcontext, returning through sigreturn): the sigcontext's signal,
 * handler, oldmask and the mask's high word in _unused[3], regs pointing at the
 * saved mcontext after it; a handler changing the mask sigreturn restores; a
 * handler reading the saved nip and a GPR of a faulting load and changing both
 * (skipping the load, replacing its result); an SA_SIGINFO handler next to them
 * still getting the RT frame.  Other targets print one line. */
#include "guest.h"
#include <signal.h>
#include <unistd.h>

#if defined(__powerpc__) && !defined(__powerpc64__)
#include <asm/ptrace.h>

extern char fault_insn[];

/* r9 = 7, then a load from address 0 into r9: the SIGSEGV handler skips it and
 * sets the saved r9 instead. */
__attribute__((noinline)) static int probe(void)
{
    int out;
    __asm__ volatile("li 9, 7\n"
                     ".globl fault_insn\n"
                     "fault_insn:\n\t"
                     "lwz 9, 0(0)\n\t"
                     "mr %0, 9\n"
                     : "=r"(out)
                     :
                     : "r9", "memory");
    return out;
}

static volatile int h_sig, h_signal, h_handler_ok, h_regs_off, h_aligned, h_sp_ok, h_nip_ok;
static volatile unsigned long h_oldmask, h_maskhi;

static void old_handler(int sig, struct sigcontext *sc)
{
    h_sig = sig;
    h_signal = sc->signal;
    h_handler_ok = sc->handler == (unsigned long)old_handler;
    h_regs_off = (int)((char *)sc->regs - (char *)sc);
    h_aligned = ((unsigned long)sc & 15) == 0;
    /* The handler's own frame is below the 64-byte caller frame under sc. */
    h_sp_ok = (char *)sc - (char *)__builtin_frame_address(0) >= 64;
    /* The saved pc is the return of the kill system call. */
    h_nip_ok = sc->regs->nip != 0 && sc->regs->gpr[1] > (unsigned long)sc;
    h_oldmask = sc->oldmask;
    h_maskhi = sc->_unused[3];
    /* sigreturn restores this mask: block SIGINT too. */
    sc->oldmask |= 1ul << (SIGINT - 1);
}

static volatile int s_sig, s_nip_ok, s_r9, s_r3;
static void segv_handler(int sig, struct sigcontext *sc)
{
    s_sig = sig;
    s_nip_ok = sc->regs->nip == (unsigned long)fault_insn;
    s_r9 = (int)sc->regs->gpr[9];
    sc->regs->gpr[9] = 42;
    sc->regs->nip += 4;
}

static volatile int i_sig, i_code, i_ucok;
static void info_handler(int sig, siginfo_t *si, void *uc)
{
    i_sig = sig;
    i_code = si->si_signo == sig && si->si_code == SI_USER;
    i_ucok = uc != NULL && uc != (void *)si;
}

static void install(int sig, void (*h)(void), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = (void (*)(int))h;
    sa.sa_flags = flags;
    CHECK(sigaction(sig, &sa, NULL) == 0);
}

int main(void)
{
    sigset_t set, now;

    install(SIGUSR1, (void (*)(void))old_handler, 0);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGRTMIN + 2);
    CHECK(sigprocmask(SIG_SETMASK, &set, NULL) == 0);
    CHECK(kill(getpid(), SIGUSR1) == 0);
    printf("old frame: sig %d signal %d handler %d regs at +%d aligned %d sp %d nip %d\n", h_sig, h_signal,
           h_handler_ok, h_regs_off, h_aligned, h_sp_ok, h_nip_ok);
    printf("oldmask %#lx high word %#lx\n", h_oldmask, h_maskhi);
    CHECK(sigprocmask(SIG_SETMASK, NULL, &now) == 0);
    printf("after sigreturn: SIGINT blocked %d SIGUSR2 blocked %d SIGUSR1 blocked %d\n", sigismember(&now, SIGINT),
           sigismember(&now, SIGUSR2), sigismember(&now, SIGUSR1));
    sigemptyset(&set);
    CHECK(sigprocmask(SIG_SETMASK, &set, NULL) == 0);

    install(SIGSEGV, (void (*)(void))segv_handler, 0);
    int v = probe();
    printf("faulting load: sig %d nip at the load %d saved r9 %d result %d\n", s_sig, s_nip_ok, s_r9, v);
    v = probe();
    printf("again: result %d\n", v);

    install(SIGUSR2, (void (*)(void))info_handler, SA_SIGINFO);
    CHECK(kill(getpid(), SIGUSR2) == 0);
    printf("SA_SIGINFO next to them: sig %d code %d uc %d\n", i_sig, i_code, i_ucok);
    return finish("sigctx");
}
#else
int main(void)
{
    printf("sigctx: only 32-bit PowerPC has non-RT signal frames\n");
    return 0;
}
#endif
