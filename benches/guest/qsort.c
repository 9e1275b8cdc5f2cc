/* qsort: sort N pseudo-random 64-bit keys with libc qsort and a callback,
 * several rounds (argument: rounds, default 4 x 1M); prints a checksum of
 * the sorted data. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 4;
    size_t n = 1 << 20;
    uint64_t *v = malloc(n * sizeof *v), s = 0x9E3779B97F4A7C15ull, sum = 0;
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < n; i++) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; v[i] = s; }
        qsort(v, n, sizeof *v, cmp);
        for (size_t i = 0; i < n; i += 1000) sum = sum * 31 + v[i];
    }
    printf("%016llx\n", (unsigned long long)sum);
    return 0;
}
