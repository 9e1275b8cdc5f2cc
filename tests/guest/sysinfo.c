/* sysinfo: deterministic checks of time and system calls: clock_gettime
 * (MONOTONIC differences non-negative, REALTIME after 2020, BOOTTIME,
 * PROCESS/THREAD_CPUTIME), clock_getres, gettimeofday vs time(), nanosleep
 * and clock_nanosleep sleeping at least the requested time, getrandom of
 * many lengths (and flags), /dev/urandom, uname (machine printed),
 * getpid/getppid/gettid relations, getuid family, sysconf values that an
 * emulator must pass through, getrlimit/prlimit, getcwd, isatty on a pipe,
 * terminal ioctls on a pipe (TIOCGWINSZ -> ENOTTY, FIONREAD, FIONBIO), open
 * flags whose values differ between ABIs (O_DIRECTORY, O_NOFOLLOW, read back
 * with F_GETFL), sched_getaffinity count > 0, times(), and getrusage. */
#define _GNU_SOURCE
#include "guest.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static double ts_diff(struct timespec a, struct timespec b) { return (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9; }

int main(void)
{
    struct timespec a, b, res;
    int mono_ok = 1;
    for (int i = 0; i < 10000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &a);
        clock_gettime(CLOCK_MONOTONIC, &b);
        mono_ok &= ts_diff(a, b) >= 0 && b.tv_nsec >= 0 && b.tv_nsec < 1000000000;
    }
    printf("monotonic non-decreasing: %s\n", mono_ok ? "ok" : "BAD");
    clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_MONOTONIC_RAW,
                          CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE};
    for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        int r1 = clock_gettime(clocks[i], &a);
        int r2 = clock_getres(clocks[i], &res);
        printf("clock %d: gettime %d getres %d res<=10ms %d\n", (int)clocks[i], r1, r2, res.tv_sec == 0 && res.tv_nsec <= 10000000);
    }
    clock_gettime(CLOCK_REALTIME, &a);
    printf("realtime after 2020: %d\n", a.tv_sec > 1577836800);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    time_t t = time(NULL);
    printf("gettimeofday ~ time(): %d usec range ok %d\n", labs((long)(t - tv.tv_sec)) <= 1, tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    errno = 0;
    printf("clock_gettime bad clock: %d %s\n", clock_gettime((clockid_t)12345, &a), errno == EINVAL ? "EINVAL" : "?");

    struct timespec req = {0, 20 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &a);
    nanosleep(&req, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("nanosleep 20ms slept >= 20ms: %d\n", ts_diff(a, b) >= 0.0199);
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct timespec until = a;
    until.tv_nsec += 15 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("clock_nanosleep absolute: %d\n", ts_diff(until, b) >= 0);
    usleep(1000);

    /* CPU time advances with work */
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    volatile double x = 0;
    for (int i = 0; i < 3000000; i++) x += i * 0.5;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    printf("process cputime advances: %d\n", ts_diff(a, b) > 0);

    unsigned char buf[4096];
    size_t lens[] = {0, 1, 7, 16, 32, 33, 256, 257, 4096};
    for (unsigned i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        memset(buf, 0, sizeof buf);
        ssize_t r = getrandom(buf, lens[i], 0);
        int nonzero = 0;
        for (size_t k = 0; k < lens[i]; k++) nonzero |= buf[k];
        printf("getrandom(%zu) = %zd%s\n", lens[i], r, lens[i] >= 16 && !nonzero ? " (all zero?!)" : "");
    }
    printf("getrandom GRND_NONBLOCK 64 = %zd\n", getrandom(buf, 64, GRND_NONBLOCK));
    int fd = open("/dev/urandom", O_RDONLY);
    printf("/dev/urandom read 100 = %zd\n", read(fd, buf, 100));
    close(fd);

    struct utsname u;
    uname(&u);
    printf("uname sysname=%s machine=%s release-nonempty=%d\n", u.sysname, u.machine, u.release[0] != 0);

    pid_t pid = getpid();
    printf("getpid>0 %d gettid==getpid %d getppid>0 %d getpgrp>0 %d getsid>0 %d\n", pid > 0,
           (pid_t)syscall(SYS_gettid) == pid, getppid() > 0, getpgrp() > 0, getsid(0) > 0);
    printf("uid==euid %d gid==egid %d\n", getuid() == geteuid(), getgid() == getegid());

    printf("sysconf: pagesize %ld clk_tck %ld nprocs>0 %d open_max>0 %d\n", sysconf(_SC_PAGESIZE),
           sysconf(_SC_CLK_TCK), sysconf(_SC_NPROCESSORS_ONLN) > 0, sysconf(_SC_OPEN_MAX) > 0);
    cpu_set_t set;
    CPU_ZERO(&set);
    printf("sched_getaffinity: %d count>0 %d\n", sched_getaffinity(0, sizeof set, &set), CPU_COUNT(&set) > 0);
    struct rlimit rl;
    printf("getrlimit NOFILE: %d cur<=max %d\n", getrlimit(RLIMIT_NOFILE, &rl), rl.rlim_cur <= rl.rlim_max);
    printf("getrlimit STACK: %d\n", getrlimit(RLIMIT_STACK, &rl));
    struct rlimit nl = {rl.rlim_cur, rl.rlim_max};
    printf("prlimit get/set STACK: %d\n", prlimit(0, RLIMIT_STACK, &nl, &rl));

    int pfd[2];
    pipe(pfd);
    errno = 0;
    printf("isatty(pipe) %d %s\n", isatty(pfd[0]), errno == ENOTTY ? "ENOTTY" : errno == EINVAL ? "EINVAL" : "?");
    struct winsize ws;
    errno = 0;
    printf("TIOCGWINSZ(pipe) %d %s\n", ioctl(pfd[0], TIOCGWINSZ, &ws), errno == ENOTTY ? "ENOTTY" : "?");
    int avail = -1, on = 1;
    printf("write(pipe) %d\n", (int)write(pfd[1], "abcde", 5));
    printf("FIONREAD(pipe) %d avail %d\n", ioctl(pfd[0], FIONREAD, &avail), avail);
    printf("FIONBIO(pipe) %d nonblock %d\n", ioctl(pfd[0], FIONBIO, &on), (fcntl(pfd[0], F_GETFL) & O_NONBLOCK) != 0);
    close(pfd[0]);
    close(pfd[1]);

    /* (O_LARGEFILE is left out: Linux sets it on every 64-bit open, qemu-user
     * does not report it.) */
    int dfd = open(".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    int fl = fcntl(dfd, F_GETFL);
    printf("F_GETFL(dir) O_DIRECTORY %d O_NOFOLLOW %d O_DIRECT %d\n", (fl & O_DIRECTORY) != 0, (fl & O_NOFOLLOW) != 0,
           (fl & O_DIRECT) != 0);
    close(dfd);
    int ffd = open("sysinfo-file", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    close(ffd);
    errno = 0;
    printf("open(file, O_DIRECTORY) %d %s\n", open("sysinfo-file", O_RDONLY | O_DIRECTORY), errno == ENOTDIR ? "ENOTDIR" : "?");
    symlink("sysinfo-file", "sysinfo-link");
    errno = 0;
    printf("open(symlink, O_NOFOLLOW) %d %s\n", open("sysinfo-link", O_RDONLY | O_NOFOLLOW), errno == ELOOP ? "ELOOP" : "?");
    unlink("sysinfo-link");
    unlink("sysinfo-file");
    struct tms tm;
    printf("times() ok %d\n", times(&tm) != (clock_t)-1);
    struct rusage ru;
    printf("getrusage %d maxrss>0 %d\n", getrusage(RUSAGE_SELF, &ru), ru.ru_maxrss > 0);
    char cwd[4096];
    printf("getcwd absolute %d\n", getcwd(cwd, sizeof cwd) && cwd[0] == '/');
    errno = 0;
    printf("getcwd small buffer: %s\n", getcwd(cwd, 1) == NULL && errno == ERANGE ? "ERANGE" : "?");
    struct tm gm;
    time_t fixed = 1234567890;
    gmtime_r(&fixed, &gm);
    char tb[64];
    strftime(tb, sizeof tb, "%Y-%m-%d %H:%M:%S %a %j", &gm);
    printf("gmtime %s\n", tb);
    return finish("sysinfo");
}
