/* forkexec: fork with children exiting with codes and dying by signals,
 * waitpid status decoding (WIFEXITED/WEXITSTATUS/WIFSIGNALED/WTERMSIG),
 * WNOHANG, wait for any child, a pipe between parent and child, a shared
 * anonymous mapping written by the child, copy-on-write private memory,
 * SIGCHLD delivery, vfork+_exit, getppid, and execve of /proc/self/exe
 * with an argument so this same binary runs its child mode (under an
 * emulator /proc/self/exe must be the guest program), with an environment
 * and a CLOEXEC descriptor checked across exec.
 *
 * If FORKEXEC_SIMULATE_EXEC is set, the child calls the child mode directly
 * instead of execve: a reference run on a host that cannot exec foreign
 * binaries (qemu-user without binfmt_misc) prints the same bytes. */
#define _GNU_SOURCE
#include "guest.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void describe(const char *what, int st)
{
    if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by signal %d\n", what, WTERMSIG(st));
    else printf("%s: other status %#x\n", what, st);
}

static int child_mode(int argc, char **argv, char **envp)
{
    /* runs after exec: print what we got, exit with a code derived from it */
    printf("child mode: argc=%d", argc);
    for (int i = 1; i < argc; i++) printf(" [%s]", argv[i]);
    const char *v = getenv("FORKEXEC_CHILD_VAR");
    printf(" env=%s", v ? v : "(unset)");
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) exe[n] = 0;
    printf(" exe=%s", n > 0 ? base_name(exe) : "(unreadable)");
    int cloexec_fd_open = fcntl(100, F_GETFD) != -1;
    int plain_fd_open = fcntl(101, F_GETFD) != -1;
    printf(" cloexec-fd-closed=%d plain-fd-open=%d\n", !cloexec_fd_open, plain_fd_open);
    fflush(stdout); /* stdio buffering differs between a real exec and the simulation */
    if (plain_fd_open) { write(101, "via inherited fd\n", 17); }
    return 40 + argc;
}

static volatile sig_atomic_t sigchld_seen;
static void on_chld(int s) { sigchld_seen++; }

int main(int argc, char **argv, char **envp)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return child_mode(argc, argv, envp);

    setvbuf(stdout, NULL, _IOLBF, 0);
    pid_t me = getpid();
    signal(SIGCHLD, on_chld);

    /* exit codes */
    int codes[] = {0, 1, 7, 42, 255};
    for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        pid_t c = fork();
        if (c == 0) _exit(codes[i]);
        int st;
        pid_t w = waitpid(c, &st, 0);
        char what[64];
        snprintf(what, sizeof what, "child exit(%d), waitpid matched %d", codes[i], w == c);
        describe(what, st);
    }
    /* killed by signals */
    int sigs[] = {SIGTERM, SIGKILL, SIGUSR1, SIGSEGV, SIGABRT};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        pid_t c = fork();
        if (c == 0) {
            if (sigs[i] == SIGSEGV) { signal(SIGSEGV, SIG_DFL); volatile int *volatile bad = (int *)8; *bad = 1; }
            if (sigs[i] == SIGABRT) abort();
            raise(sigs[i]);
            _exit(99);
        }
        int st;
        waitpid(c, &st, 0);
        describe("child raised signal", st);
    }
    /* the parent kills a paused child */
    pid_t c = fork();
    if (c == 0) { for (;;) pause(); }
    kill(c, SIGTERM);
    int st;
    waitpid(c, &st, 0);
    describe("parent sent SIGTERM", st);

    /* WNOHANG and wait for any child */
    int go[2];
    pipe(go);
    c = fork();
    if (c == 0) {
        char b;
        read(go[0], &b, 1);
        _exit(b);
    }
    printf("WNOHANG while running: %d\n", (int)waitpid(c, &st, WNOHANG));
    write(go[1], "\x05", 1);
    pid_t w = wait(&st);
    describe("wait() any", st);
    printf("wait returned that child: %d; no more children: %d %s\n", w == c, (int)wait(&st),
           errno == ECHILD ? "ECHILD" : "?");
    close(go[0]); close(go[1]);

    /* pipe from child, getppid, memory semantics */
    int pfd[2];
    pipe(pfd);
    int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int *priv = malloc(sizeof(int));
    *shared = 1;
    *priv = 1;
    c = fork();
    if (c == 0) {
        close(pfd[0]);
        *shared = 2;
        *priv = 2;
        char msg[64];
        int n = snprintf(msg, sizeof msg, "hello from child, ppid ok %d", getppid() == me);
        write(pfd[1], msg, n);
        _exit(0);
    }
    close(pfd[1]);
    char buf[128] = {0};
    int n = 0, r;
    while ((r = read(pfd[0], buf + n, sizeof buf - 1 - n)) > 0) n += r;
    close(pfd[0]);
    waitpid(c, &st, 0);
    printf("pipe: \"%s\"; shared sees child write %d, private unchanged %d\n", buf, *shared == 2, *priv == 1);

    /* vfork + _exit */
    volatile int vf = 0;
    c = vfork();
    if (c == 0) { _exit(33); }
    waitpid(c, &st, 0);
    describe("vfork child", st);
    (void)vf;

    /* fork + execve(/proc/self/exe, child ...) */
    fflush(stdout);
    int ce = open("/dev/null", O_RDONLY);
    dup2(ce, 100);
    fcntl(100, F_SETFD, FD_CLOEXEC);
    dup2(1, 101);
    close(ce);
    c = fork();
    if (c == 0) {
        char *cargv[] = {argv[0], "child", "arg one", "", "3", NULL};
        char *cenv[] = {"FORKEXEC_CHILD_VAR=passed", "PATH=/usr/bin:/bin", NULL};
        if (getenv("FORKEXEC_SIMULATE_EXEC")) {
            close(100);
            setenv("FORKEXEC_CHILD_VAR", "passed", 1);
            _exit(child_mode(5, cargv, cenv));
        }
        execve("/proc/self/exe", cargv, cenv);
        printf("execve failed: %s\n", strerror(errno));
        _exit(127);
    }
    waitpid(c, &st, 0);
    describe("exec'd child", st);

    /* execve failure in the child is reported */
    c = fork();
    if (c == 0) {
        char *a[] = {"nope", NULL};
        execve("/nonexistent/program", a, a + 1);
        _exit(errno == ENOENT ? 12 : 13);
    }
    waitpid(c, &st, 0);
    describe("exec of a missing file", st);
    printf("SIGCHLD seen: %d\n", sigchld_seen > 0);
    return finish("forkexec");
}
