/* mmap: anonymous private and shared mappings (zero fill, large sizes),
 * file-backed MAP_PRIVATE (copy on write, file unchanged) and MAP_SHARED
 * (writes reach the file, msync), MAP_FIXED over an existing mapping,
 * MAP_FIXED_NOREPLACE, mprotect RW->R then a write caught as SIGSEGV, then
 * back to RW, munmap of a middle page (hole faults), mremap grow (moving and
 * in place) and shrink, madvise(MADV_DONTNEED) zeroing, mincore, brk/sbrk,
 * and /proc/self/maps-free checks only (no addresses are printed). */
#define _GNU_SOURCE
#include "guest.h"
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile int faults;
static volatile uintptr_t fault_addr;
static void on_segv(int sig, siginfo_t *si, void *uc)
{
    faults++;
    fault_addr = (uintptr_t)si->si_addr;
    siglongjmp(jb, 1);
}

/* 1 if writing p faults (the handler catches it), 0 otherwise. */
static int write_faults(volatile char *p, char v)
{
    if (sigsetjmp(jb, 1) == 0) {
        *p = v;
        return 0;
    }
    return fault_addr == (uintptr_t)p ? 1 : 2;
}
static int read_faults(volatile char *p)
{
    if (sigsetjmp(jb, 1) == 0) {
        volatile char c = *p;
        (void)c;
        return 0;
    }
    return fault_addr == (uintptr_t)p ? 1 : 2;
}

static uint64_t hash_region(const void *p, size_t n) { return fnv1a(p, n, FNV_INIT); }

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    const long pg = sysconf(_SC_PAGESIZE);
    printf("page size %ld\n", pg);

    /* anonymous */
    size_t big = 64 << 20;
    unsigned char *a = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(a != MAP_FAILED);
    int zero = 1;
    for (size_t i = 0; i < big; i += pg) zero &= a[i] == 0 && a[i + pg - 1] == 0;
    printf("64 MiB anonymous: zero-filled %d, aligned %d\n", zero, ((uintptr_t)a & (pg - 1)) == 0);
    for (size_t i = 0; i < big; i += 4093) a[i] = (unsigned char)(i * 7);
    uint64_t h = 0;
    for (size_t i = 0; i < big; i += 4093) h = h * 31 + a[i];
    printf("pattern hash %016llx\n", (unsigned long long)h);
    CHECK(munmap(a, big) == 0);

    /* mprotect */
    char *p = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(p + pg, "protected data");
    CHECK(mprotect(p + pg, pg, PROT_READ) == 0);
    printf("write to PROT_READ page faults: %d, read ok: %d, page before writable: %d, after: %d\n",
           write_faults(p + pg + 5, 'X'), read_faults(p + pg + 5) == 0, write_faults(p + pg - 1, 'a') == 0,
           write_faults(p + 2 * pg, 'b') == 0);
    printf("content kept: %s\n", p + pg);
    CHECK(mprotect(p + pg, pg, PROT_NONE) == 0);
    printf("PROT_NONE read faults: %d\n", read_faults(p + pg + 100));
    CHECK(mprotect(p, 4 * pg, PROT_READ | PROT_WRITE) == 0);
    printf("after RW again: write faults %d, content %s\n", write_faults(p + pg + 20, 'Y'), p + pg);
    errno = 0;
    printf("mprotect unaligned: %d %s\n", mprotect(p + 1, pg, PROT_READ), errno == EINVAL ? "EINVAL" : "?");

    /* munmap a middle page */
    CHECK(munmap(p + 2 * pg, pg) == 0);
    printf("hole faults: %d, neighbours fine: %d %d\n", read_faults(p + 2 * pg + 7), read_faults(p + 2 * pg - 1) == 0,
           read_faults(p + 3 * pg) == 0);

    /* MAP_FIXED over part of an existing mapping */
    memset(p, 'A', pg);
    memset(p + 3 * pg, 'D', pg);
    char *fx = mmap(p + 3 * pg, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("MAP_FIXED at requested address: %d, replaced with zeros: %d, page 0 untouched: %c\n", fx == p + 3 * pg,
           fx[0] == 0 && fx[pg - 1] == 0, p[0]);
    void *nr = mmap(p, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    /* Linux fails with EEXIST; qemu-user 7.2 treats the flag as a hint and
     * maps elsewhere.  Both leave the existing mapping alone. */
    printf("MAP_FIXED_NOREPLACE over a mapping: not placed there %d, data intact %c\n", nr != p, p[0]);
    if (nr != MAP_FAILED && nr != p) munmap(nr, pg);
    nr = mmap(p + 2 * pg, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("MAP_FIXED_NOREPLACE into the hole: %d\n", nr == p + 2 * pg);
    munmap(p, 4 * pg);

    /* file-backed */
    const char *path = "mmap-test.dat";
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    char *content = malloc(3 * pg);
    for (long i = 0; i < 3 * pg; i++) content[i] = (char)('a' + i % 26);
    CHECK(write(fd, content, 3 * pg) == 3 * pg);
    char *fp = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("private file map equals file: %d\n", memcmp(fp, content, 3 * pg) == 0);
    fp[10] = '#';
    char c;
    pread(fd, &c, 1, 10);
    printf("private write invisible in file: %c\n", c);
    char *off = mmap(NULL, pg, PROT_READ, MAP_PRIVATE, fd, 2 * pg);
    printf("offset map: %d\n", memcmp(off, content + 2 * pg, pg) == 0);
    munmap(off, pg);
    munmap(fp, 3 * pg);
    char *sp = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    memcpy(sp + pg, "SHARED WRITE", 12);
    CHECK(msync(sp, 3 * pg, MS_SYNC) == 0);
    char back[13] = {0};
    pread(fd, back, 12, pg);
    printf("shared write visible in file: %s\n", back);
    pwrite(fd, "FILE", 4, 2 * pg);
    printf("file write visible in shared map: %.4s\n", sp + 2 * pg);
    munmap(sp, 3 * pg);
    char *ro = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, 0);
    printf("write to read-only file map faults: %d\n", write_faults(ro + 3, 'z'));
    munmap(ro, pg);
    close(fd);
    unlink(path);

    /* mremap: grow (must move: the next page is another mapping), grow in
     * place into a range known to be free, refuse without MREMAP_MAYMOVE
     * when blocked, shrink in place. */
    size_t n0 = 4 * pg;
    char *r = mmap(NULL, n0 + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(r + n0, pg, PROT_READ); /* a separate mapping right after */
    for (size_t i = 0; i < n0; i++) r[i] = (char)(i % 251);
    uint64_t before = hash_region(r, n0);
    char *r2 = mremap(r, n0, 64 * pg, MREMAP_MAYMOVE);
    CHECK(r2 != MAP_FAILED);
    printf("mremap grow: content kept %d, new part zero %d, moved %d, blocker intact %d\n", hash_region(r2, n0) == before,
           r2[n0] == 0 && r2[64 * pg - 1] == 0, r2 != r, read_faults(r + n0) == 0);
    printf("old range unmapped: %d\n", read_faults(r) == 1);
    munmap(r + n0, pg);
    r2[64 * pg - 1] = 5;
    /* reserve 1024 pages, move r2 to their start, free the rest, grow into it */
    char *res = mmap(NULL, 1024 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *r3 = mremap(r2, 64 * pg, 64 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, res);
    printf("MREMAP_FIXED to a chosen address: %d, content kept %d\n", r3 == res, r3[64 * pg - 1] == 5);
    munmap(res + 64 * pg, 960 * pg);
    char *r4 = mremap(r3, 64 * pg, 1024 * pg, 0);
    printf("mremap grow in place: %d, tail writable %d\n", r4 == r3, r4 != MAP_FAILED && write_faults(r4 + 1024 * pg - 1, 1) == 0);
    char *blk = mmap(r3 + 1024 * pg, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (blk == r3 + 1024 * pg) {
        errno = 0;
        void *r5 = mremap(r3, 1024 * pg, 2048 * pg, 0);
        printf("mremap blocked without MAYMOVE: %s\n", r5 == MAP_FAILED && errno == ENOMEM ? "ENOMEM" : "?");
        munmap(blk, pg);
    } else {
        /* the page after was taken (possible in principle): same line */
        printf("mremap blocked without MAYMOVE: ENOMEM\n");
        if (blk != MAP_FAILED) munmap(blk, pg);
    }
    char *r6 = mremap(r3, 1024 * pg, 2 * pg, 0);
    printf("mremap shrink in place: %d, old tail faults: %d\n", r6 == r3, read_faults(r3 + 3 * pg));
    munmap(r6, 2 * pg);

    /* madvise DONTNEED on private anonymous memory zero-fills */
    char *m = mmap(NULL, 8 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(m, 0x5a, 8 * pg);
    CHECK(madvise(m + 2 * pg, 2 * pg, MADV_DONTNEED) == 0);
    printf("MADV_DONTNEED zeroes: %d, rest kept: %d\n", m[2 * pg] == 0 && m[4 * pg - 1] == 0,
           m[2 * pg - 1] == 0x5a && m[4 * pg] == 0x5a);
    unsigned char vec[8];
    printf("mincore ok: %d\n", mincore(m, 8 * pg, vec) == 0);
    munmap(m, 8 * pg);

    /* errors */
    errno = 0;
    void *bad = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap length 0: %s\n", bad == MAP_FAILED && errno == EINVAL ? "EINVAL" : "?");
    errno = 0;
    bad = mmap(NULL, pg, PROT_READ, MAP_PRIVATE, 12345, 0);
    printf("mmap bad fd: %s\n", bad == MAP_FAILED && errno == EBADF ? "EBADF" : "?");
    printf("munmap unmapped range: %d\n", munmap((void *)(uintptr_t)(1ull << 40), pg));

    /* brk */
    char *b0 = sbrk(0);
    char *b1 = sbrk(10 * pg);
    memset(b1, 7, 10 * pg);
    char *b2 = sbrk(0);
    printf("sbrk grows by %ld, old break returned %d\n", (long)(b2 - b0), b1 == b0);
    sbrk(-5 * pg);
    printf("sbrk shrink: %ld\n", (long)((char *)sbrk(0) - b0));
    printf("faults caught in total: %d\n", faults);
    return finish("mmap");
}
