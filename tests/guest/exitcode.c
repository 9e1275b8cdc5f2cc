/* exitcode: the ways a process ends, selected by argv[1]:
 *   exit N        exit(N) after atexit handlers (run in reverse order) and
 *                 a stdio flush of unterminated output
 *   _exit N       _exit(N): buffered stdout is lost
 *   return N      return from main
 *   abort         abort(): killed by SIGABRT (stderr message first)
 *   signal N      raise(N) with the default action
 *   thread N      exit(N) called from a second thread while main waits
 *   main-exit     pthread_exit in main while a thread finishes and exits 9 */
#include "guest.h"
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

static void at1(void) { printf("atexit 1\n"); }
static void at2(void) { printf("atexit 2\n"); }

static void *exiter(void *arg)
{
    usleep(10000);
    printf("thread calls exit(%d)\n", (int)(long)arg);
    exit((int)(long)arg);
}

static void *late(void *arg)
{
    usleep(20000);
    printf("last thread exits the process\n");
    fflush(stdout);
    exit(9);
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: exitcode MODE [N]\n"); return 64; }
    int n = argc > 2 ? atoi(argv[2]) : 0;
    atexit(at1);
    atexit(at2);
    printf("mode %s %d", argv[1], n); /* no newline: flushed by exit only */
    if (!strcmp(argv[1], "exit")) exit(n);
    if (!strcmp(argv[1], "_exit")) _exit(n);
    if (!strcmp(argv[1], "return")) return n;
    if (!strcmp(argv[1], "abort")) { printf("\n"); fflush(stdout); fprintf(stderr, "exitcode: aborting\n"); abort(); }
    if (!strcmp(argv[1], "signal")) { printf("\n"); fflush(stdout); raise(n); printf("survived signal %d\n", n); return 0; }
    if (!strcmp(argv[1], "thread")) {
        printf("\n");
        pthread_t t;
        pthread_create(&t, NULL, exiter, (void *)(long)n);
        for (;;) pause();
    }
    if (!strcmp(argv[1], "main-exit")) {
        printf("\n");
        fflush(stdout);
        pthread_t t;
        pthread_create(&t, NULL, late, NULL);
        pthread_exit(NULL);
    }
    fprintf(stderr, "\nunknown mode\n");
    return 64;
}
