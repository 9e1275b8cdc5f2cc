/* sockmsg: sendmsg/recvmsg with scatter/gather buffers, a file descriptor
 * passed over a Unix socket (SCM_RIGHTS) and read through, credentials
 * (SCM_CREDENTIALS, with SO_PASSCRED, whose number is the architecture's), a datagram's
 * source address over loopback UDP (msg_name), the errors for bad
 * pointers, and SO_RCVTIMEO/SO_SNDTIMEO (a struct timeval of the target's
 * time_t: 32-bit on 32-bit PowerPC) set, read back and timing out a recv;
 * sendmmsg/recvmmsg over a Unix datagram socket (the struct mmsghdr vector in
 * the target's words, msg_len of each, a file descriptor passed in the middle
 * entry, MSG_WAITFORONE, a timeout, a bad entry after good ones).  Left out:
 * recvmmsg's timeout written back and its EINVAL for a bad one (qemu ignores
 * the timeout). */
#define _GNU_SOURCE
#include "guest.h"
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

static void check(int ok, const char *what)
{
    if (!ok) {
        printf("FAIL %s: %s\n", what, strerror(errno));
        exit(1);
    }
}

static void rights(void)
{
    int sv[2], p[2];
    check(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    check(pipe(p) == 0, "pipe");
    check(write(p[1], "through the pipe", 16) == 16, "write pipe");

    /* Two fds in one SCM_RIGHTS message, data in three pieces. */
    char a[] = "hello ", b[] = "from ", c[] = "sendmsg";
    struct iovec iov[3] = {{a, 6}, {b, 5}, {c, 7}};
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr m = {0};
    m.msg_iov = iov;
    m.msg_iovlen = 3;
    m.msg_control = u.buf;
    m.msg_controllen = sizeof u.buf;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
    int fds[2] = {p[0], p[1]};
    memcpy(CMSG_DATA(cm), fds, sizeof fds);
    ssize_t n = sendmsg(sv[0], &m, 0);
    printf("sendmsg: %zd\n", n);

    char r1[4], r2[32];
    struct iovec riov[2] = {{r1, sizeof r1}, {r2, sizeof r2}};
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } ru;
    struct msghdr rm = {0};
    rm.msg_iov = riov;
    rm.msg_iovlen = 2;
    rm.msg_control = ru.buf;
    rm.msg_controllen = sizeof ru.buf;
    n = recvmsg(sv[1], &rm, MSG_CMSG_CLOEXEC);
    printf("recvmsg: %zd \"%.4s|%.*s\" flags %#x controllen %s\n", n, r1, (int)(n - 4), r2, rm.msg_flags,
           rm.msg_controllen == CMSG_LEN(2 * sizeof(int)) || rm.msg_controllen == CMSG_SPACE(2 * sizeof(int))
               ? "right"
               : "WRONG");
    for (struct cmsghdr *c2 = CMSG_FIRSTHDR(&rm); c2; c2 = CMSG_NXTHDR(&rm, c2)) {
        printf("cmsg level %d type %d len %s\n", c2->cmsg_level, c2->cmsg_type,
               c2->cmsg_len == CMSG_LEN(2 * sizeof(int)) ? "right" : "WRONG");
        if (c2->cmsg_level == SOL_SOCKET && c2->cmsg_type == SCM_RIGHTS) {
            int got[2];
            memcpy(got, CMSG_DATA(c2), sizeof got);
            char buf[32] = {0};
            ssize_t k = read(got[0], buf, sizeof buf - 1);
            printf("passed fds are new: %d, cloexec: %d, read %zd \"%s\"\n", got[0] != p[0] && got[1] != p[1],
                   (fcntl(got[0], F_GETFD) & FD_CLOEXEC) != 0, k, buf);
            check(write(got[1], "x", 1) == 1, "write passed fd");
            close(got[0]);
            close(got[1]);
        }
    }

    /* Credentials: the kernel fills in our pid, uid and gid. */
    int one = 1;
    check(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == 0, "SO_PASSCRED");
    struct iovec ci = {a, 1};
    struct msghdr cmsg = {0};
    cmsg.msg_iov = &ci;
    cmsg.msg_iovlen = 1;
    check(sendmsg(sv[0], &cmsg, 0) == 1, "sendmsg cred");
    union {
        char buf[CMSG_SPACE(sizeof(struct ucred))];
        struct cmsghdr align;
    } cu;
    char one_byte;
    struct iovec ri = {&one_byte, 1};
    struct msghdr crm = {0};
    crm.msg_iov = &ri;
    crm.msg_iovlen = 1;
    crm.msg_control = cu.buf;
    crm.msg_controllen = sizeof cu.buf;
    n = recvmsg(sv[1], &crm, 0);
    struct cmsghdr *cc = CMSG_FIRSTHDR(&crm);
    if (cc && cc->cmsg_type == SCM_CREDENTIALS) {
        struct ucred cr;
        memcpy(&cr, CMSG_DATA(cc), sizeof cr);
        printf("credentials: %zd byte, pid is ours %d, uid is ours %d, gid is ours %d\n", n,
               cr.pid == getpid(), cr.uid == getuid(), cr.gid == getgid());
    } else {
        printf("credentials: MISSING\n");
    }
    int zero = 0;
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &zero, sizeof zero);

    /* (Not here: too little room for the control data. Linux sets MSG_CTRUNC,
     * qemu-user does not, as it receives into a larger buffer of its own.) */

    /* Bad pointers. */
    errno = 0;
    n = recvmsg(sv[1], (struct msghdr *)8, MSG_DONTWAIT);
    printf("recvmsg(bad msghdr): %zd %s\n", n, strerror(errno));
    struct iovec bad = {(void *)8, 4};
    struct msghdr bm = {0};
    bm.msg_iov = &bad;
    bm.msg_iovlen = 1;
    errno = 0;
    n = sendmsg(sv[0], &bm, 0);
    printf("sendmsg(bad buffer): %zd %s\n", n, strerror(errno));
    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
}

static void datagram(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_DGRAM, 0);
    check(s >= 0 && t >= 0, "socket");
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check(bind(s, (struct sockaddr *)&a, sizeof a) == 0, "bind");
    socklen_t al = sizeof a;
    check(getsockname(s, (struct sockaddr *)&a, &al) == 0, "getsockname");
    struct sockaddr_in from = {0};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    check(bind(t, (struct sockaddr *)&from, sizeof from) == 0, "bind t");
    al = sizeof from;
    check(getsockname(t, (struct sockaddr *)&from, &al) == 0, "getsockname t");

    char msg[] = "datagram";
    struct iovec iov = {msg, 8};
    struct msghdr m = {0};
    m.msg_name = &a;
    m.msg_namelen = sizeof a;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    printf("udp sendmsg: %zd\n", sendmsg(t, &m, 0));

    char buf[16] = {0};
    struct sockaddr_in src;
    memset(&src, 0xff, sizeof src);
    struct iovec riov = {buf, sizeof buf};
    struct msghdr rm = {0};
    rm.msg_name = &src;
    rm.msg_namelen = sizeof src;
    rm.msg_iov = &riov;
    rm.msg_iovlen = 1;
    ssize_t n = recvmsg(s, &rm, 0);
    printf("udp recvmsg: %zd \"%s\" namelen %u family %d addr %s port matches %d\n", n, buf, (unsigned)rm.msg_namelen,
           src.sin_family, inet_ntoa(src.sin_addr), src.sin_port == from.sin_port);
    close(s);
    close(t);
}

static void timeouts(void)
{
    int sv[2];
    check(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    /* Multiples of 20 ms: exact in jiffies for HZ 100, 250, 300 and 1000. */
    struct timeval rcv = {2, 500000}, snd = {0, 40000}, got;
    check(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof rcv) == 0, "SO_RCVTIMEO");
    check(setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd) == 0, "SO_SNDTIMEO");
    socklen_t len = sizeof got;
    memset(&got, 0x55, sizeof got);
    check(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &got, &len) == 0, "get SO_RCVTIMEO");
    printf("SO_RCVTIMEO %ld.%06ld (len %d of %d)\n", (long)got.tv_sec, (long)got.tv_usec, (int)len,
           (int)sizeof got);
    len = sizeof got;
    check(getsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &got, &len) == 0, "get SO_SNDTIMEO");
    printf("SO_SNDTIMEO %ld.%06ld (len %d)\n", (long)got.tv_sec, (long)got.tv_usec, (int)len);
    /* A timeout of 40 ms: recv on an empty socket gives up with EAGAIN. */
    rcv.tv_sec = 0;
    rcv.tv_usec = 40000;
    check(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof rcv) == 0, "SO_RCVTIMEO 40ms");
    char c;
    errno = 0;
    long r = recv(sv[0], &c, 1, 0);
    printf("recv with a timeout: %ld %s\n", r, errno == EAGAIN ? "EAGAIN" : strerror(errno));
    /* An out-of-range tv_usec, and a short option. */
    rcv.tv_usec = 1000000;
    errno = 0;
    r = setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof rcv);
    printf("tv_usec 1000000: %ld %s\n", r, r ? strerror(errno) : "");
    errno = 0;
    r = setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &rcv, 4);
    printf("4-byte option: %ld %s\n", r, r ? strerror(errno) : "");
    /* Zero: no timeout again. */
    memset(&rcv, 0, sizeof rcv);
    check(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof rcv) == 0, "SO_RCVTIMEO 0");
    len = sizeof got;
    check(getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &got, &len) == 0, "get SO_RCVTIMEO 0");
    printf("cleared %ld.%06ld\n", (long)got.tv_sec, (long)got.tv_usec);
    close(sv[0]);
    close(sv[1]);
}

static void mmsg(void)
{
    int sv[2], p[2];
    check(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0, "socketpair dgram");
    check(pipe(p) == 0, "pipe");
    check(write(p[1], "piped", 5) == 5, "write pipe");

    char d0[] = "first", d1a[] = "sec", d1b[] = "ond", d2[] = "the third one";
    struct iovec iov[4] = {{d0, 5}, {d1a, 3}, {d1b, 3}, {d2, 13}};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct mmsghdr out[3];
    memset(out, 0, sizeof out);
    out[0].msg_hdr.msg_iov = &iov[0];
    out[0].msg_hdr.msg_iovlen = 1;
    out[1].msg_hdr.msg_iov = &iov[1];
    out[1].msg_hdr.msg_iovlen = 2;
    out[1].msg_hdr.msg_control = u.buf;
    out[1].msg_hdr.msg_controllen = sizeof u.buf;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&out[1].msg_hdr);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &p[0], sizeof(int));
    out[2].msg_hdr.msg_iov = &iov[3];
    out[2].msg_hdr.msg_iovlen = 1;
    int n = sendmmsg(sv[0], out, 3, 0);
    printf("sendmmsg: %d, msg_len %u %u %u\n", n, out[0].msg_len, out[1].msg_len, out[2].msg_len);

    char bufs[4][16];
    struct iovec riov[4];
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ru[4];
    struct mmsghdr in[4];
    memset(in, 0, sizeof in);
    memset(bufs, 0, sizeof bufs);
    for (int i = 0; i < 4; i++) {
        riov[i].iov_base = bufs[i];
        riov[i].iov_len = sizeof bufs[i] - 1;
        in[i].msg_hdr.msg_iov = &riov[i];
        in[i].msg_hdr.msg_iovlen = 1;
        in[i].msg_hdr.msg_control = ru[i].buf;
        in[i].msg_hdr.msg_controllen = sizeof ru[i].buf;
    }
    n = recvmmsg(sv[1], in, 4, MSG_DONTWAIT, NULL);
    printf("recvmmsg: %d\n", n);
    for (int i = 0; i < n; i++) {
        printf("  [%d] msg_len %u \"%s\" controllen %s", i, in[i].msg_len, bufs[i],
               in[i].msg_hdr.msg_controllen ? "nonzero" : "0");
        struct cmsghdr *c = CMSG_FIRSTHDR(&in[i].msg_hdr);
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            char buf[8] = {0};
            memcpy(&fd, CMSG_DATA(c), sizeof fd);
            printf(" fd reads \"%.*s\"", (int)read(fd, buf, sizeof buf - 1), buf);
            close(fd);
        }
        printf("\n");
    }

    /* MSG_WAITFORONE: block for the first, then take what is there. */
    check(send(sv[0], "a", 1, 0) == 1 && send(sv[0], "bb", 2, 0) == 2, "send 2");
    memset(bufs, 0, sizeof bufs);
    for (int i = 0; i < 4; i++)
        in[i].msg_hdr.msg_controllen = 0, in[i].msg_hdr.msg_control = NULL;
    n = recvmmsg(sv[1], in, 4, MSG_WAITFORONE, NULL);
    printf("MSG_WAITFORONE: %d: %u \"%s\" %u \"%s\"\n", n, in[0].msg_len, bufs[0], in[1].msg_len, bufs[1]);

    /* A timeout (checked after each datagram, as Linux does). */
    check(send(sv[0], "ccc", 3, 0) == 3, "send 1");
    struct timespec t = {0, 50000000};
    memset(bufs, 0, sizeof bufs);
    n = recvmmsg(sv[1], in, 2, MSG_DONTWAIT, &t);
    printf("with a timeout: %d: \"%s\"\n", n, bufs[0]);

    /* Nothing there, non-blocking: EAGAIN. */
    errno = 0;
    n = recvmmsg(sv[1], in, 2, MSG_DONTWAIT, NULL);
    printf("empty: %d %s\n", n, errno == EAGAIN ? "EAGAIN" : strerror(errno));

    /* A bad iovec in the second entry: the first went. */
    memset(out, 0, sizeof out);
    out[0].msg_hdr.msg_iov = &iov[0];
    out[0].msg_hdr.msg_iovlen = 1;
    out[1].msg_hdr.msg_iov = (struct iovec *)16;
    out[1].msg_hdr.msg_iovlen = 1;
    n = sendmmsg(sv[0], out, 2, 0);
    printf("bad second entry: %d, msg_len %u\n", n, out[0].msg_len);
    errno = 0;
    n = sendmmsg(sv[0], &out[1], 1, 0);
    printf("bad only entry: %d %s\n", n, strerror(errno));
    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    rights();
    datagram();
    timeouts();
    mmsg();
    return 0;
}
