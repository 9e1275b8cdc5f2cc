/* signals: handlers installed with signal() and sigaction(); SIGUSR1 via
 * raise and kill; SA_SIGINFO reading si_signo/si_code/si_pid/si_value;
 * sigqueue; sigprocmask blocking then unblocking (pending signals delivered
 * on unblock, standard ones lowest first, real-time ones queued in order);
 * sa_mask deferral vs nesting, SA_NODEFER, SA_RESETHAND; SIG_IGN; SIGALRM
 * from alarm() with pause() and from setitimer() with sigsuspend(); SA_RESTART
 * vs EINTR on a blocking pipe read; siglongjmp out of a handler; sigaltstack;
 * sigtimedwait; FP/SIMD registers preserved across asynchronous handlers. */
#include "guest.h"
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

/* Handlers only append to this log; main prints it. */
static volatile sig_atomic_t logbuf[256];
static volatile sig_atomic_t nlog;
static void note(int v) { if (nlog < 256) logbuf[nlog++] = v; }
static void print_log(const char *what)
{
    printf("%s:", what);
    for (int i = 0; i < nlog; i++) printf(" %d", (int)logbuf[i]);
    printf("\n");
    nlog = 0;
}

static void sort_log(void)
{
    for (int i = 1; i < nlog; i++)
        for (int j = i; j > 0 && logbuf[j - 1] > logbuf[j]; j--) {
            int t = logbuf[j]; logbuf[j] = logbuf[j - 1]; logbuf[j - 1] = t;
        }
}

static void simple(int sig) { note(sig); }

static volatile int info_signo, info_code, info_pid_ok, info_value, info_uid_ok;
static void with_info(int sig, siginfo_t *si, void *uc)
{
    note(sig);
    info_signo = si->si_signo;
    info_code = si->si_code;
    info_pid_ok = si->si_pid == getpid();
    info_uid_ok = si->si_uid == getuid();
    info_value = si->si_value.sival_int;
    (void)uc;
}

static void nesting(int sig)
{
    note(100 + sig);
    if (sig == SIGUSR1) raise(SIGUSR2);
    note(200 + sig);
}

static sigjmp_buf jb;
static void jumper(int sig) { note(sig); siglongjmp(jb, sig); }

static char *alt_lo, *alt_hi;
static volatile int on_alt;
static void alt_handler(int sig)
{
    char here;
    on_alt = &here > alt_lo && &here < alt_hi;
    note(sig);
}

static int pipefd[2];
static void write_pipe(int sig) { note(sig); char c = 'x'; (void)!write(pipefd[1], &c, 1); }

static volatile double fp_sink;
static volatile unsigned ticks;
static void fp_clobber(int sig)
{
    /* Use many FP/SIMD registers in the handler. */
    double a = sig, b = 1.5, c = 2.5, d = 3.5, e = 4.5, f = 5.5, g = 6.5, h = 7.5;
    for (int i = 0; i < 50; i++) { a = a * 1.0001 + b; b += c * d; c -= e / f; d *= 0.999; e += g; f -= h; g *= 1.01; h += a; }
    fp_sink = a + b + c + d + e + f + g + h;
    ticks++;
}

static double __attribute__((noinline)) fp_work(long n, float *v)
{
    double acc = 0, x = 0.5;
    for (int k = 0; k < 64; k++) v[k] = k;
    for (long i = 0; i < n; i++) {
        acc += x * 1.000001;
        x = x * 0.9999999 + 0.0000001;
        if ((i & 1023) == 0)
            for (int k = 0; k < 64; k++) v[k] = v[k] * 0.75f + (float)x;
    }
    return acc;
}

static void install(int sig, void (*h)(int), int flags, const sigset_t *mask)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = flags;
    if (mask) sa.sa_mask = *mask; else sigemptyset(&sa.sa_mask);
    CHECK(sigaction(sig, &sa, NULL) == 0);
}

static void block(int sig, int how)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    CHECK(sigprocmask(how, &s, NULL) == 0);
}

static void set_timer(long first_us, long interval_us)
{
    struct itimerval it = {{0, interval_us}, {0, first_us}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* raise and kill with a plain handler */
    signal(SIGUSR1, simple);
    raise(SIGUSR1);
    kill(getpid(), SIGUSR1);
    print_log("raise+kill");

    /* SA_SIGINFO: si_code distinguishes kill, tgkill (raise) and sigqueue */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = with_info;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    kill(getpid(), SIGUSR1);
    printf("kill: signo=%d code=%s pid_ok=%d uid_ok=%d\n", info_signo,
           info_code == SI_USER ? "SI_USER" : "other", info_pid_ok, info_uid_ok);
    raise(SIGUSR1);
    printf("raise: signo=%d code=%s pid_ok=%d\n", info_signo, info_code == SI_TKILL ? "SI_TKILL" : "other", info_pid_ok);
    union sigval sv = {.sival_int = 4242};
    sigqueue(getpid(), SIGUSR1, sv);
    printf("sigqueue: signo=%d code=%s value=%d\n", info_signo, info_code == SI_QUEUE ? "SI_QUEUE" : "other", info_value);
    print_log("siginfo");

    /* query the installed action */
    struct sigaction old;
    sigaction(SIGUSR1, NULL, &old);
    printf("query: siginfo flag=%d handler matches=%d\n", !!(old.sa_flags & SA_SIGINFO), old.sa_sigaction == with_info);

    /* blocking: pending, delivered on unblock, order */
    install(SIGUSR1, simple, 0, NULL);
    install(SIGUSR2, simple, 0, NULL);
    install(SIGHUP, simple, 0, NULL);
    sigset_t all, pend;
    sigemptyset(&all);
    sigaddset(&all, SIGUSR1); sigaddset(&all, SIGUSR2); sigaddset(&all, SIGHUP);
    sigprocmask(SIG_BLOCK, &all, NULL);
    raise(SIGUSR2); raise(SIGUSR1); raise(SIGUSR1); raise(SIGHUP);
    sigpending(&pend);
    printf("pending: USR1=%d USR2=%d HUP=%d TERM=%d; delivered while blocked: %d\n", sigismember(&pend, SIGUSR1),
           sigismember(&pend, SIGUSR2), sigismember(&pend, SIGHUP), sigismember(&pend, SIGTERM), (int)nlog);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    /* Linux delivers the lowest-numbered pending signal first (each handler
     * returning before the next frame is set up); qemu-user sets up every
     * frame at once so they run highest first.  Compare the set. */
    sort_log();
    print_log("unblocked (standard signals merge; sorted)");

    /* real-time signals queue */
    install(SIGRTMIN + 1, simple, 0, NULL);
    install(SIGRTMIN + 3, simple, 0, NULL);
    block(SIGRTMIN + 1, SIG_BLOCK); block(SIGRTMIN + 3, SIG_BLOCK);
    raise(SIGRTMIN + 3); raise(SIGRTMIN + 1); raise(SIGRTMIN + 3); raise(SIGRTMIN + 1);
    block(SIGRTMIN + 3, SIG_UNBLOCK); block(SIGRTMIN + 1, SIG_UNBLOCK);
    for (int i = 0; i < nlog; i++) logbuf[i] -= SIGRTMIN;
    sort_log(); /* same qemu ordering quirk as above */
    print_log("realtime queued (as SIGRTMIN+n; sorted)");

    /* nesting vs sa_mask deferral vs SA_NODEFER */
    install(SIGUSR1, nesting, 0, NULL);
    install(SIGUSR2, nesting, 0, NULL);
    raise(SIGUSR1);
    print_log("nested");
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    install(SIGUSR1, nesting, 0, &m);
    raise(SIGUSR1);
    print_log("deferred by sa_mask");
    install(SIGUSR1, nesting, SA_NODEFER, NULL);
    install(SIGUSR2, simple, 0, NULL);
    raise(SIGUSR1);
    print_log("SA_NODEFER");

    /* SA_RESETHAND, SIG_IGN */
    install(SIGWINCH, simple, SA_RESETHAND, NULL);
    raise(SIGWINCH);
    raise(SIGWINCH); /* default action: ignore */
    sigaction(SIGWINCH, NULL, &old);
    printf("resethand: now default=%d\n", old.sa_handler == SIG_DFL);
    signal(SIGUSR2, SIG_IGN);
    raise(SIGUSR2);
    print_log("resethand+ignore");

    /* siglongjmp out of a handler restores the mask */
    install(SIGUSR2, jumper, 0, NULL);
    int v = sigsetjmp(jb, 1);
    if (v == 0) {
        raise(SIGUSR2);
        printf("not reached\n");
    }
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("siglongjmp from handler: %d, USR2 blocked after: %d\n", v, sigismember(&cur, SIGUSR2));
    print_log("jumper");

    /* sigaltstack */
    stack_t ss;
    ss.ss_size = 64 * 1024;
    ss.ss_sp = malloc(ss.ss_size);
    ss.ss_flags = 0;
    alt_lo = ss.ss_sp;
    alt_hi = alt_lo + ss.ss_size;
    CHECK(sigaltstack(&ss, NULL) == 0);
    install(SIGUSR1, alt_handler, SA_ONSTACK, NULL);
    raise(SIGUSR1);
    printf("on alternate stack: %d\n", (int)on_alt);
    install(SIGUSR1, alt_handler, 0, NULL);
    raise(SIGUSR1);
    printf("without SA_ONSTACK on alternate stack: %d\n", (int)on_alt);
    stack_t qs;
    sigaltstack(NULL, &qs);
    printf("sigaltstack query: size=%zu disabled=%d\n", qs.ss_size, !!(qs.ss_flags & SS_DISABLE));
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
    print_log("altstack");

    /* SIGALRM: alarm + pause */
    install(SIGALRM, simple, 0, NULL);
    alarm(1);
    int pr = pause();
    printf("pause returned %d errno=%s\n", pr, errno == EINTR ? "EINTR" : "other");
    print_log("alarm");

    /* SIGALRM: setitimer + sigsuspend, five ticks */
    block(SIGALRM, SIG_BLOCK);
    set_timer(10000, 10000);
    sigset_t waitmask;
    sigprocmask(SIG_BLOCK, NULL, &waitmask);
    sigdelset(&waitmask, SIGALRM);
    for (int i = 0; i < 5; i++) {
        int r = sigsuspend(&waitmask);
        CHECK(r == -1 && errno == EINTR);
    }
    set_timer(0, 0);
    block(SIGALRM, SIG_UNBLOCK);
    print_log("setitimer ticks");

    /* SA_RESTART vs EINTR on a blocking pipe read */
    CHECK(pipe(pipefd) == 0);
    for (int restart = 1; restart >= 0; restart--) {
        install(SIGALRM, write_pipe, restart ? SA_RESTART : 0, NULL);
        set_timer(30000, 0);
        char c = 0;
        errno = 0;
        ssize_t n = read(pipefd[0], &c, 1);
        int e = errno;
        if (n < 0) {
            printf("SA_RESTART=%d: read -> -1 %s", restart, e == EINTR ? "EINTR" : "other");
            n = read(pipefd[0], &c, 1);
            printf(", then %zd '%c'\n", n, c);
        } else {
            printf("SA_RESTART=%d: read -> %zd '%c'\n", restart, n, c);
        }
    }
    print_log("restart");

    /* sigtimedwait takes a blocked pending signal without a handler */
    block(SIGUSR1, SIG_BLOCK);
    sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 77});
    sigset_t w;
    sigemptyset(&w);
    sigaddset(&w, SIGUSR1);
    siginfo_t si;
    struct timespec ts = {1, 0};
    int got = sigtimedwait(&w, &si, &ts);
    printf("sigtimedwait: %d value=%d code=%s\n", got, si.si_value.sival_int, si.si_code == SI_QUEUE ? "SI_QUEUE" : "other");
    ts.tv_sec = 0; ts.tv_nsec = 1000000;
    got = sigtimedwait(&w, &si, &ts);
    printf("sigtimedwait with nothing pending: %d %s\n", got, errno == EAGAIN ? "EAGAIN" : "other");
    block(SIGUSR1, SIG_UNBLOCK);
    print_log("timedwait");

    /* FP/SIMD state survives asynchronous handlers: the same computation
     * with a 1 ms timer firing and without must agree bit for bit. */
    install(SIGALRM, fp_clobber, SA_RESTART, NULL);
    double with_sig = 0, without = 0;
    float fw[64], fo[64];
    for (int round = 0; round < 20 && ticks == 0; round++) {
        set_timer(500, 500);
        with_sig = fp_work(2000000, fw);
        set_timer(0, 0);
    }
    without = fp_work(2000000, fo);
    printf("fp across async handlers: ticks>0=%d equal=%d simd equal=%d\n", ticks > 0, with_sig == without,
           memcmp(fw, fo, sizeof fw) == 0);
    return finish("signals");
}
