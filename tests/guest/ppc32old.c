/* ppc32old: older 32-bit PowerPC system calls that glibc no longer makes
 * but older programs do: socketcall, the multiplexed socket call (its
 * arguments in a block of longs: socketpair, send, recv, setsockopt,
 * getsockopt, sendmsg, recvmsg and shutdown through it, EINVAL for call
 * numbers out of range, EFAULT for a bad block); stat, lstat and fstat with
 * the 32-bit struct stat, checked against stat64; statfs and fstatfs with the
 * 32-bit struct statfs, checked against statfs64.  Other targets print one
 * line. */
#define _GNU_SOURCE
#include "guest.h"
#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#if defined(__powerpc__) && !defined(__powerpc64__)
#include <linux/net.h>

static long sc(int call, unsigned long *args)
{
    errno = 0;
    return syscall(SYS_socketcall, call, args);
}

/* The kernel's 32-bit struct stat (arch/powerpc/include/uapi/asm/stat.h). */
struct stat32 {
    unsigned int st_dev, st_ino, st_mode;
    unsigned short st_nlink;
    unsigned int st_uid, st_gid, st_rdev;
    int st_size;
    unsigned int st_blksize, st_blocks;
    int st_atime_, st_atime_nsec, st_mtime_, st_mtime_nsec, st_ctime_, st_ctime_nsec;
    unsigned int unused[2];
};

static void compare(const char *what, long r, const struct stat32 *s, const struct stat64 *w)
{
    printf("%s: %ld size %d mode %o nlink %u", what, r, s->st_size, s->st_mode, s->st_nlink);
    printf(" same as stat64: dev %d ino %d ids %d rdev %d blocks %d blksize %d times %d\n",
           s->st_dev == (unsigned int)w->st_dev, s->st_ino == (unsigned int)w->st_ino,
           s->st_uid == w->st_uid && s->st_gid == w->st_gid, s->st_rdev == (unsigned int)w->st_rdev,
           s->st_blocks == (unsigned int)w->st_blocks, s->st_blksize == (unsigned int)w->st_blksize,
           s->st_atime_ == (int)w->st_atim.tv_sec && s->st_atime_nsec == (int)w->st_atim.tv_nsec &&
               s->st_mtime_ == (int)w->st_mtim.tv_sec && s->st_mtime_nsec == (int)w->st_mtim.tv_nsec &&
               s->st_ctime_ == (int)w->st_ctim.tv_sec && s->st_ctime_nsec == (int)w->st_ctim.tv_nsec);
}

static void old_stat(void)
{
    _Static_assert(sizeof(struct stat32) == 72, "struct stat32");
    int fd = open("ppc32old-file", O_RDWR | O_CREAT | O_TRUNC, 0640);
    CHECK(fd >= 0);
    CHECK(write(fd, "twelve bytes", 12) == 12);
    CHECK(symlink("ppc32old-file", "ppc32old-link") == 0);
    struct stat32 s;
    struct stat64 w;
    memset(&s, 0x55, sizeof s);
    CHECK(stat64("ppc32old-file", &w) == 0);
    compare("stat", syscall(SYS_stat, "ppc32old-file", &s), &s, &w);
    memset(&s, 0x55, sizeof s);
    CHECK(fstat64(fd, &w) == 0);
    compare("fstat", syscall(SYS_fstat, fd, &s), &s, &w);
    memset(&s, 0x55, sizeof s);
    CHECK(lstat64("ppc32old-link", &w) == 0);
    compare("lstat", syscall(SYS_lstat, "ppc32old-link", &s), &s, &w);
    errno = 0;
    long r = syscall(SYS_stat, "ppc32old-missing", &s);
    printf("stat missing: %ld %s\n", r, strerror(errno));
    errno = 0;
    r = syscall(SYS_fstat, fd, (void *)16);
    printf("fstat to a bad buffer: %ld %s\n", r, strerror(errno));
    unlink("ppc32old-link");
    unlink("ppc32old-file");
    close(fd);
}

/* The kernel's 32-bit struct statfs. */
struct statfs32 {
    unsigned int f_type, f_bsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree;
    int f_fsid[2];
    unsigned int f_namelen, f_frsize, f_flags, f_spare[4];
};

static void old_statfs(void)
{
    _Static_assert(sizeof(struct statfs32) == 64, "struct statfs32");
    struct statfs32 s;
    struct statfs64 w;
    int fd = open(".", O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    for (int i = 0; i < 2; i++) {
        memset(&s, 0x55, sizeof s);
        long r = i ? syscall(SYS_fstatfs, fd, &s) : syscall(SYS_statfs, ".", &s);
        CHECK((i ? fstatfs64(fd, &w) : statfs64(".", &w)) == 0);
        /* The free counts can change between the calls: not compared. */
        printf("%s: %ld namelen %u same as statfs64: type %d bsize %d blocks %d files %d fsid %d frsize %d "
               "flags %d\n",
               i ? "fstatfs" : "statfs", r, s.f_namelen, s.f_type == (unsigned int)w.f_type,
               s.f_bsize == (unsigned int)w.f_bsize, s.f_blocks == (unsigned int)w.f_blocks,
               s.f_files == (unsigned int)w.f_files, memcmp(s.f_fsid, &w.f_fsid, 8) == 0,
               s.f_frsize == (unsigned int)w.f_frsize, s.f_flags == (unsigned int)w.f_flags);
    }
    errno = 0;
    long r = syscall(SYS_statfs, "ppc32old-missing", &s);
    printf("statfs missing: %ld %s\n", r, strerror(errno));
    errno = 0;
    r = syscall(SYS_fstatfs, fd, (void *)16);
    printf("fstatfs to a bad buffer: %ld %s\n", r, strerror(errno));
    close(fd);
}

int main(void)
{
    old_stat();
    old_statfs();
    int sv[2];
    unsigned long a[6];
    a[0] = AF_UNIX, a[1] = SOCK_STREAM, a[2] = 0, a[3] = (unsigned long)sv;
    printf("socketpair: %ld\n", sc(SYS_SOCKETPAIR, a));
    a[0] = sv[0], a[1] = (unsigned long)"hello", a[2] = 5, a[3] = 0;
    printf("send: %ld\n", sc(SYS_SEND, a));
    char buf[16] = {0};
    a[0] = sv[1], a[1] = (unsigned long)buf, a[2] = sizeof buf - 1, a[3] = 0;
    printf("recv: %ld \"%s\"\n", sc(SYS_RECV, a), buf);
    int v = 4096, got = 0;
    socklen_t len = sizeof got;
    a[0] = sv[0], a[1] = SOL_SOCKET, a[2] = SO_SNDBUF, a[3] = (unsigned long)&v, a[4] = sizeof v;
    printf("setsockopt SO_SNDBUF: %ld\n", sc(SYS_SETSOCKOPT, a));
    a[3] = (unsigned long)&got, a[4] = (unsigned long)&len;
    long r = sc(SYS_GETSOCKOPT, a);
    printf("getsockopt SO_SNDBUF: %ld, doubled %d, len %d\n", r, got == 2 * v, (int)len);
    struct iovec iov = {"msg", 3};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    a[0] = sv[1], a[1] = (unsigned long)&m, a[2] = 0;
    printf("sendmsg: %ld\n", sc(SYS_SENDMSG, a));
    memset(buf, 0, sizeof buf);
    struct iovec riov = {buf, sizeof buf - 1};
    struct msghdr rm = {0};
    rm.msg_iov = &riov;
    rm.msg_iovlen = 1;
    a[0] = sv[0], a[1] = (unsigned long)&rm, a[2] = 0;
    printf("recvmsg: %ld \"%s\"\n", sc(SYS_RECVMSG, a), buf);
    a[0] = sv[0], a[1] = SHUT_WR;
    printf("shutdown: %ld\n", sc(SYS_SHUTDOWN, a));
    a[0] = sv[1], a[1] = (unsigned long)buf, a[2] = 4, a[3] = 0;
    printf("recv after shutdown: %ld\n", sc(SYS_RECV, a));
    r = sc(0, a);
    printf("call 0: %ld %s\n", r, strerror(errno));
    r = sc(21, a);
    printf("call 21: %ld %s\n", r, strerror(errno));
    r = sc(SYS_SOCKETPAIR, (unsigned long *)16);
    printf("bad args: %ld %s\n", r, strerror(errno));
    return finish("ppc32old");
}
#else
int main(void)
{
    printf("ppc32old: only for 32-bit PowerPC\n");
    return 0;
}
#endif
