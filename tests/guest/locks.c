/* locks: fcntl record locks seen from another process: F_SETLK/F_GETLK with
 * the default struct flock (on 32-bit targets without _FILE_OFFSET_BITS=64,
 * the 32-bit one with a 32-bit l_start/l_len) and F_SETLK64/F_GETLK64 with
 * struct flock64: the conflicting lock reported (type, whence, start, len,
 * pid), EAGAIN/EACCES for a conflicting F_SETLK, F_UNLCK when there is none,
 * a lock beyond 2 GiB through flock64.  Left out: F_GETLK with the 32-bit
 * struct of that lock, which Linux fails with EOVERFLOW and qemu truncates. */
#define _GNU_SOURCE
#include "guest.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *type_name(int t)
{
    return t == F_RDLCK ? "F_RDLCK" : t == F_WRLCK ? "F_WRLCK" : t == F_UNLCK ? "F_UNLCK" : "?";
}

static void child(int fd, pid_t parent)
{
    struct flock q = {0};
    q.l_type = F_WRLCK;
    q.l_whence = SEEK_SET;
    q.l_start = 0;
    q.l_len = 100;
    int r = fcntl(fd, F_GETLK, &q);
    printf("child F_GETLK: %d %s whence %d start %ld len %ld pid is parent %d\n", r, type_name(q.l_type),
           q.l_whence, (long)q.l_start, (long)q.l_len, q.l_pid == parent);
    q.l_type = F_RDLCK;
    q.l_start = 15;
    q.l_len = 1;
    errno = 0;
    r = fcntl(fd, F_SETLK, &q);
    printf("child F_SETLK over it: %d %s\n", r, errno == EAGAIN || errno == EACCES ? "EAGAIN/EACCES" : strerror(errno));
    q.l_start = 40;
    q.l_len = 5;
    q.l_type = F_WRLCK;
    r = fcntl(fd, F_GETLK, &q);
    printf("child F_GETLK elsewhere: %d %s start %ld len %ld\n", r, type_name(q.l_type), (long)q.l_start,
           (long)q.l_len);

    struct flock64 q64 = {0};
    q64.l_type = F_WRLCK;
    q64.l_whence = SEEK_SET;
    q64.l_start = 0;
    q64.l_len = 0;
    r = fcntl(fd, F_GETLK64, &q64);
    printf("child F_GETLK64: %d %s start %lld len %lld pid is parent %d\n", r, type_name(q64.l_type),
           (long long)q64.l_start, (long long)q64.l_len, q64.l_pid == parent);
}

int main(void)
{
    char name[] = "locks-file";
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    unlink(name);
    struct flock l = {0};
    l.l_type = F_WRLCK;
    l.l_whence = SEEK_SET;
    l.l_start = 10;
    l.l_len = 20;
    printf("F_SETLK write [10, 30): %d\n", fcntl(fd, F_SETLK, &l));
    pid_t parent = getpid();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        child(fd, parent);
        fflush(stdout);
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
    l.l_type = F_UNLCK;
    printf("F_SETLK unlock: %d\n", fcntl(fd, F_SETLK, &l));
    struct flock64 big = {0};
    big.l_type = F_RDLCK;
    big.l_whence = SEEK_SET;
    big.l_start = 0x90000000ll;
    big.l_len = 16;
    printf("F_SETLK64 read at 0x90000000: %d\n", fcntl(fd, F_SETLK64, &big));
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        struct flock64 q64 = {0};
        q64.l_type = F_WRLCK;
        q64.l_whence = SEEK_SET;
        int r = fcntl(fd, F_GETLK64, &q64);
        printf("child F_GETLK64: %d %s start %#llx len %lld\n", r, type_name(q64.l_type), (long long)q64.l_start,
               (long long)q64.l_len);
        fflush(stdout);
        _exit(0);
    }
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
    return finish("locks");
}
