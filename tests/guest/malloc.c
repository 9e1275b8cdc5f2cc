/* malloc: malloc/free/calloc/realloc stress with a deterministic pattern:
 * small blocks (brk heap, tcache and bins), blocks above the 128 KiB mmap
 * threshold, realloc growing and shrinking (in place and moving, across the
 * threshold), posix_memalign/aligned_alloc alignments, calloc zeroing of
 * reused memory, malloc_usable_size >= size, and content checks of every
 * block before it is freed. */
#include "guest.h"
#include <errno.h>
#include <malloc.h>
#include <stdint.h>

#define SLOTS 2048

static unsigned char *blk[SLOTS];
static size_t len[SLOTS];
static unsigned char tag[SLOTS];

static int check_block(int i)
{
    for (size_t k = 0; k < len[i]; k += (len[i] > 4096 ? 509 : 1))
        if (blk[i][k] != (unsigned char)(tag[i] + k)) return 0;
    return 1;
}
static void fill_block(int i)
{
    for (size_t k = 0; k < len[i]; k += (len[i] > 4096 ? 509 : 1)) blk[i][k] = (unsigned char)(tag[i] + k);
}

static size_t pick_size(void)
{
    uint64_t r = rng_next();
    switch (r % 16) {
    case 0: return 128 * 1024 + (r >> 8) % (2 << 20);   /* mmap'd */
    case 1: case 2: return 4096 + (r >> 8) % 60000;
    default: return 1 + (r >> 8) % 600;
    }
}

int main(void)
{
    rng_seed(5);
    long bad = 0, reallocs = 0, big = 0;
    for (int round = 0; round < 40000; round++) {
        int i = (int)(rng_next() % SLOTS);
        int op = (int)(rng_next() % 10);
        if (!blk[i]) {
            len[i] = pick_size();
            big += len[i] >= 128 * 1024;
            tag[i] = (unsigned char)round;
            if (op < 2) {
                blk[i] = calloc(1, len[i]);
                for (size_t k = 0; k < len[i]; k += 97) bad += blk[i][k] != 0;
            } else {
                blk[i] = malloc(len[i]);
            }
            bad += blk[i] == NULL || malloc_usable_size(blk[i]) < len[i] || ((uintptr_t)blk[i] & 15) != 0;
            fill_block(i);
        } else if (op < 4) {
            bad += !check_block(i);
            size_t old = len[i];
            size_t nl = (op == 0) ? old / 2 + 1 : (op == 1) ? old * 2 + 10 : pick_size();
            unsigned char *p = realloc(blk[i], nl);
            bad += p == NULL;
            blk[i] = p;
            /* the common prefix survived */
            size_t keep = old < nl ? old : nl;
            for (size_t k = 0; k < keep; k += (old > 4096 ? 509 : 1)) bad += p[k] != (unsigned char)(tag[i] + k);
            len[i] = nl;
            fill_block(i);
            reallocs++;
        } else {
            bad += !check_block(i);
            free(blk[i]);
            blk[i] = NULL;
        }
    }
    for (int i = 0; i < SLOTS; i++) if (blk[i]) { bad += !check_block(i); free(blk[i]); blk[i] = NULL; }
    CHECK(bad == 0);
    printf("random ops: bad=%ld reallocs=%ld big blocks=%ld\n", bad, reallocs, big);

    /* one block walked across the mmap threshold and back */
    size_t n = 16;
    unsigned char *p = malloc(n);
    memset(p, 0xAB, n);
    int ok = 1;
    for (int step = 0; step < 20; step++) {
        size_t nn = step < 10 ? n * 3 : n / 3 + 1;
        p = realloc(p, nn);
        for (size_t k = 0; k < (n < nn ? n : nn); k += 61) ok &= p[k] == 0xAB;
        if (nn > n) memset(p + n, 0xAB, nn - n);
        n = nn;
    }
    printf("threshold walk ok=%d final size=%zu\n", ok, n);
    free(p);

    /* alignment */
    size_t aligns[] = {16, 32, 64, 256, 4096, 65536};
    for (unsigned a = 0; a < sizeof aligns / sizeof aligns[0]; a++) {
        void *q = NULL;
        int r = posix_memalign(&q, aligns[a], 1000 + a * 100000);
        void *q2 = aligned_alloc(aligns[a], aligns[a] * 3);
        void *q3 = memalign(aligns[a], 77);
        printf("align %6zu: posix_memalign %d aligned %d, aligned_alloc %d, memalign %d\n", aligns[a], r,
               ((uintptr_t)q % aligns[a]) == 0, q2 && ((uintptr_t)q2 % aligns[a]) == 0, q3 && ((uintptr_t)q3 % aligns[a]) == 0);
        free(q); free(q2); free(q3);
    }

    /* a 256 MiB allocation, touched sparsely, then freed */
    size_t huge = 256u << 20;
    unsigned char *hp = malloc(huge);
    if (hp) {
        for (size_t k = 0; k < huge; k += 1 << 20) hp[k] = (unsigned char)(k >> 20);
        unsigned s = 0;
        for (size_t k = 0; k < huge; k += 1 << 20) s += hp[k];
        printf("256 MiB block: sum %u\n", s);
        free(hp);
    } else {
        printf("256 MiB block: allocation failed\n");
    }
    errno = 0;
    void *none = malloc(SIZE_MAX / 2);
    printf("absurd malloc fails: %d\n", none == NULL);
    return finish("malloc");
}
