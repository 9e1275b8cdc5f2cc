/* fileio: in a fixed-name directory under the working directory: open/
 * openat/creat flags (O_EXCL, O_APPEND, O_TRUNC), read/write/readv/writev,
 * lseek (SEEK_SET/CUR/END, a sparse file beyond 4 GiB), pread/pwrite,
 * ftruncate, fstat/stat/lstat (size, mode, nlink), utimensat with fixed
 * times, readdir (sorted), rename, link, symlink/readlink, unlink,
 * mkdir/rmdir, chdir/getcwd, access, chmod/umask, dup/dup2/dup3, pipes
 * with poll, fcntl (F_GETFL/F_SETFL O_NONBLOCK -> EAGAIN, F_DUPFD,
 * FD_CLOEXEC), errno values, and stdio (fopen/fprintf/fgets/fseek/ftell). */
#define _GNU_SOURCE
#include "guest.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define D "fileio.d"

static const char *errname(int e)
{
    switch (e) {
    case 0: return "0";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EACCES: return "EACCES";
    case EINVAL: return "EINVAL";
    case ESPIPE: return "ESPIPE";
    case EPIPE: return "EPIPE";
    }
    return "E?";
}
#define SHOW(label, expr)                                                     \
    do {                                                                      \
        errno = 0;                                                            \
        long r_ = (long)(expr);                                               \
        printf("%-34s = %ld %s\n", label, r_, r_ < 0 ? errname(errno) : ""); \
    } while (0)

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        char sub[512];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                rm_rf(sub);
            }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d) { printf("opendir %s failed\n", path); return; }
    char *names[512];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 512) names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    printf("ls %s (%d):", path, n);
    uint64_t h = FNV_INIT;
    for (int i = 0; i < n; i++) h = fnv1a(names[i], strlen(names[i]) + 1, h);
    if (n > 20) printf(" first=%s last=%s names-hash=%016llx", names[2], names[n - 1], (unsigned long long)h);
    for (int i = 0; i < n; i++) {
        char p[512];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", path, names[i]);
        lstat(p, &st);
        if (n <= 20)
            printf(" %s[%c%lld]", names[i], S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : '-',
                   S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size);
        free(names[i]);
    }
    printf("\n");
}

static void show_stat(const char *label, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) { printf("%-34s stat failed %s\n", label, errname(errno)); return; }
    printf("%-34s size=%lld mode=%04o type=%s nlink=%lu blksize>0=%d\n", label, (long long)st.st_size,
           st.st_mode & 07777, S_ISREG(st.st_mode) ? "reg" : S_ISDIR(st.st_mode) ? "dir" : "other",
           (unsigned long)st.st_nlink, st.st_blksize > 0);
}

int main(void)
{
    umask(022);
    rm_rf(D);
    SHOW("mkdir " D, mkdir(D, 0755));
    SHOW("mkdir again", mkdir(D, 0755));
    SHOW("chdir", chdir(D));
    char cwd[4096];
    printf("getcwd basename %s\n", getcwd(cwd, sizeof cwd) ? base_name(cwd) : "(null)");

    /* create, write, read back */
    int fd = open("a.txt", O_RDWR | O_CREAT | O_EXCL, 0644);
    CHECK(fd >= 0);
    SHOW("open O_EXCL existing", open("a.txt", O_RDWR | O_CREAT | O_EXCL, 0644));
    SHOW("open missing", open("missing", O_RDONLY));
    const char *text = "The quick brown fox jumps over the lazy dog.\n";
    SHOW("write", write(fd, text, strlen(text)));
    SHOW("lseek SEEK_CUR 0", lseek(fd, 0, SEEK_CUR));
    SHOW("lseek SEEK_SET 4", lseek(fd, 4, SEEK_SET));
    char buf[256] = {0};
    SHOW("read 5", read(fd, buf, 5));
    printf("  -> \"%s\"\n", buf);
    SHOW("lseek SEEK_END -5", lseek(fd, -5, SEEK_END));
    memset(buf, 0, sizeof buf);
    SHOW("read to end", read(fd, buf, sizeof buf));
    printf("  -> \"%.4s\"\n", buf);
    SHOW("read at EOF", read(fd, buf, sizeof buf));
    SHOW("pwrite at 10", pwrite(fd, "BROWN", 5, 10));
    memset(buf, 0, sizeof buf);
    SHOW("pread 15 at 4", pread(fd, buf, 15, 4));
    printf("  -> \"%s\" (offset unchanged: %ld)\n", buf, (long)lseek(fd, 0, SEEK_CUR));
    struct iovec iov[3] = {{"one ", 4}, {"two ", 4}, {"three\n", 6}};
    SHOW("writev", writev(fd, iov, 3));
    char r1[5] = {0}, r2[9] = {0};
    struct iovec riov[2] = {{r1, 4}, {r2, 8}};
    lseek(fd, -14, SEEK_END);
    SHOW("readv", readv(fd, riov, 2));
    printf("  -> \"%s\" \"%s\"\n", r1, r2);
    SHOW("ftruncate 20", ftruncate(fd, 20));
    struct stat st;
    fstat(fd, &st);
    printf("fstat size=%lld mode=%04o\n", (long long)st.st_size, st.st_mode & 07777);
    SHOW("ftruncate 100 (extend)", ftruncate(fd, 100));
    memset(buf, 'x', sizeof buf);
    pread(fd, buf, 10, 50);
    printf("extended bytes are zero: %d\n", buf[0] == 0 && buf[9] == 0);
    close(fd);
    SHOW("read closed fd", read(fd, buf, 1));

    /* O_APPEND and O_TRUNC */
    fd = open("a.txt", O_WRONLY | O_APPEND);
    lseek(fd, 0, SEEK_SET);
    SHOW("append write", write(fd, "END", 3));
    close(fd);
    show_stat("stat a.txt", "a.txt");
    fd = open("a.txt", O_WRONLY | O_TRUNC);
    close(fd);
    show_stat("after O_TRUNC", "a.txt");

    /* sparse file beyond 4 GiB */
    fd = open("sparse", O_RDWR | O_CREAT, 0600);
    SHOW("lseek 5 GiB", lseek(fd, 5LL << 30, SEEK_SET));
    SHOW("write 1 byte there", write(fd, "Z", 1));
    fstat(fd, &st);
    printf("sparse size=%lld\n", (long long)st.st_size);
    SHOW("pread at 5 GiB", pread(fd, buf, 4, 5LL << 30));
    close(fd);
    unlink("sparse");

    /* modes, chmod, access */
    fd = creat("mode.txt", 0666);
    close(fd);
    show_stat("creat 0666 under umask 022", "mode.txt");
    chmod("mode.txt", 0600);
    show_stat("chmod 0600", "mode.txt");
    SHOW("access F_OK", access("mode.txt", F_OK));
    SHOW("access missing", access("nope", F_OK));

    /* fixed times */
    struct timespec times[2] = {{1000000000, 0}, {1234567890, 500}};
    SHOW("utimensat", utimensat(AT_FDCWD, "mode.txt", times, 0));
    stat("mode.txt", &st);
    printf("atime=%lld mtime=%lld.%09ld\n", (long long)st.st_atime, (long long)st.st_mtime, st.st_mtim.tv_nsec);

    /* links, rename, unlink */
    SHOW("link", link("mode.txt", "hard"));
    show_stat("after link", "mode.txt");
    SHOW("symlink", symlink("mode.txt", "soft"));
    char lbuf[64] = {0};
    SHOW("readlink", readlink("soft", lbuf, sizeof lbuf));
    printf("  -> \"%s\"\n", lbuf);
    struct stat lst;
    lstat("soft", &lst);
    printf("lstat is link: %d, stat follows: %d\n", S_ISLNK(lst.st_mode), stat("soft", &st) == 0 && S_ISREG(st.st_mode));
    SHOW("rename", rename("hard", "renamed"));
    SHOW("rename missing", rename("hard", "x"));
    SHOW("mkdir sub", mkdir("sub", 0700));
    SHOW("mkdir sub/deeper", mkdir("sub/deeper", 0700));
    SHOW("rmdir non-empty", rmdir("sub"));
    SHOW("unlink a dir", unlink("sub"));
    SHOW("open file as dir", open("mode.txt/x", O_RDONLY));
    int dfd = open("sub", O_RDONLY | O_DIRECTORY);
    SHOW("openat in dir", fd = openat(dfd, "inner.txt", O_WRONLY | O_CREAT, 0640));
    write(fd, "inner", 5);
    close(fd);
    struct stat ist;
    SHOW("fstatat", fstatat(dfd, "inner.txt", &ist, 0));
    printf("  inner size=%lld mode=%04o\n", (long long)ist.st_size, ist.st_mode & 07777);
    close(dfd);
    list_dir(".");
    list_dir("sub");
    SHOW("unlink sub/inner.txt", unlink("sub/inner.txt"));
    SHOW("rmdir sub/deeper", rmdir("sub/deeper"));
    SHOW("rmdir sub", rmdir("sub"));

    /* many files: getdents over several buffers */
    mkdir("many", 0755);
    for (int i = 0; i < 300; i++) {
        char p[64];
        snprintf(p, sizeof p, "many/file-%03d-%s", i, i % 2 ? "odd" : "even");
        close(open(p, O_WRONLY | O_CREAT, 0644));
    }
    list_dir("many");

    /* dup, dup2, dup3, fcntl */
    fd = open("dup.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    int fd2 = dup(fd);
    write(fd, "abc", 3);
    printf("dup shares offset: %ld\n", (long)lseek(fd2, 0, SEEK_CUR));
    SHOW("dup2 to 42", dup2(fd, 42));
    SHOW("fcntl F_GETFD 42", fcntl(42, F_GETFD));
    SHOW("dup3 O_CLOEXEC to 43", dup3(fd, 43, O_CLOEXEC));
    SHOW("fcntl F_GETFD 43", fcntl(43, F_GETFD));
    SHOW("fcntl F_DUPFD >= 50", fcntl(fd, F_DUPFD, 50));
    SHOW("fcntl F_GETFL & O_ACCMODE", fcntl(fd, F_GETFL) & O_ACCMODE);
    SHOW("dup2 bad fd", dup2(999, 44));
    close(42); close(43); close(50); close(fd2); close(fd);

    /* pipes, poll, non-blocking */
    int pfd[2];
    SHOW("pipe", pipe(pfd));
    struct pollfd pl[2] = {{pfd[0], POLLIN, 0}, {pfd[1], POLLOUT, 0}};
    SHOW("poll (only writable)", poll(pl, 2, 0));
    printf("  revents %x %x\n", pl[0].revents, pl[1].revents);
    write(pfd[1], "ping", 4);
    SHOW("poll (both)", poll(pl, 2, 100));
    printf("  revents %x %x\n", pl[0].revents, pl[1].revents);
    memset(buf, 0, sizeof buf);
    SHOW("read pipe", read(pfd[0], buf, sizeof buf));
    printf("  -> \"%s\"\n", buf);
    int fl = fcntl(pfd[0], F_GETFL);
    SHOW("F_SETFL O_NONBLOCK", fcntl(pfd[0], F_SETFL, fl | O_NONBLOCK));
    SHOW("read empty nonblocking pipe", read(pfd[0], buf, 1));
    SHOW("lseek on pipe", lseek(pfd[0], 0, SEEK_SET));
    /* fill the pipe to learn its capacity without blocking */
    fcntl(pfd[1], F_SETFL, O_NONBLOCK);
    long cap = 0;
    for (;;) {
        ssize_t n = write(pfd[1], buf, sizeof buf);
        if (n < 0) break;
        cap += n;
    }
    printf("pipe capacity %ld, then %s\n", cap, errname(errno));
    close(pfd[0]);
    signal(SIGPIPE, SIG_IGN);
    SHOW("write to pipe without reader", write(pfd[1], "x", 1));
    close(pfd[1]);

    /* stdio */
    FILE *f = fopen("stdio.txt", "w+");
    for (int i = 0; i < 1000; i++) fprintf(f, "line %d %s\n", i, i % 3 ? "x" : "fizz");
    printf("ftell %ld\n", ftell(f));
    fseek(f, 0, SEEK_SET);
    char line[64];
    int lines = 0;
    uint64_t h = FNV_INIT;
    while (fgets(line, sizeof line, f)) { lines++; h = fnv1a(line, strlen(line), h); }
    printf("fgets lines=%d hash=%016llx\n", lines, (unsigned long long)h);
    fseek(f, -9, SEEK_END);
    printf("tail \"%s\"", fgets(line, sizeof line, f));
    fclose(f);
    show_stat("stdio.txt", "stdio.txt");

    chdir("..");
    rm_rf(D);
    SHOW("cleaned up", access(D, F_OK));
    return finish("fileio");
}
